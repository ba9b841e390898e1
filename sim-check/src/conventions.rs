//! The journal conventions the checkers rely on, in one place, so that a program changing how it
//! journals breaks one file here (and the fixtures in `tests/fixtures`), not every checker.
//!
//! Every program writes one `journal` row per message it sent (`out`) or received (`in`);
//! answers add `#response` (a TransportKvittering or a synchronous answer) or `#fault` (a SOAP
//! fault) to the request's operation label. The rows used here:
//!
//! | program | direction | operation | outcome | peer | municipality | call_uuid |
//! | --- | --- | --- | --- | --- | --- | --- |
//! | vendor | out | [`UPDATE_SEND`] (each attempt) | `OK`/`ADVARSEL`/`FEJL`/`FAULT:<rule>`/`UNREACHABLE`/`HTTP <n>` | platform URL | context | — |
//! | platform | in | [`UPDATE_SEND`] | `RECEIVED`, or `FAULT:<rule>` when refused | caller identity | context | platform's |
//! | platform | out | [`UPDATE_SEND`]`#response` / `#fault` | KSD's code / `FAULT:<rule>` | caller identity | context | platform's |
//! | KSD | in | [`UPDATE_RECEIVE`] | `OK`/`ADVARSEL` (processed), `FEJL`, `DUPLICATE`, `FAULT:<rule>` | platform identity | context (else header) | KSD's own |
//! | KSD | out | [`RECEIPT_SEND`] (each attempt) | the platform's code / `UNREACHABLE` | platform URL | context | KSD's own, of the update |
//! | platform | in | [`RECEIPT_SEND`] | `OK`/`ADVARSEL` (accepted and queued), `FAULT:<rule>` | KSD identity | context | platform's |
//! | platform | out | [`RECEIPT_RECEIVE`] (each delivery attempt) | the vendor's code / `UNREACHABLE` | **instance name** | context | that of KSD's call |
//! | vendor | in | [`RECEIPT_RECEIVE`] | `OK`/`ADVARSEL` (stored), `FEJL` (e.g. JC-3), `FAULT:<rule>` | KOMBIT identity | context | — |
//!
//! TransaktionIdentifikatorer and CallUUIDs are compared lowercased.

/// A vendor sends an update to the platform's KSD exposure; the platform receives it.
pub const UPDATE_SEND: &str = "KSD/SendOpdateringFravaer";
/// The platform forwards an update to KSD; KSD receives (and processes) it.
pub const UPDATE_RECEIVE: &str = "KSD/ModtagOpdateringFravaer";
/// KSD sends a business receipt to the platform's JC exposure; the platform receives it.
pub const RECEIPT_SEND: &str = "JC/SendForretningsSvar";
/// The platform delivers a business receipt to a vendor instance, which stores it.
pub const RECEIPT_RECEIVE: &str = "JC/ModtagForretningsSvar";
/// Appended to a request's label for the answer's row.
pub const RESPONSE_SUFFIX: &str = "#response";
/// Appended to a request's label for a SOAP fault answering it.
pub const FAULT_SUFFIX: &str = "#fault";
/// KSD's outcome for a repeated TransaktionIdentifikator answered from the store (KSD-7).
pub const DUPLICATE: &str = "DUPLICATE";
/// A TransportKvittering refusing the content: not processed (KSD-1).
pub const FEJL: &str = "FEJL";

/// Rules a fault may name that say nothing about the message itself (an unreachable receiver,
/// a service window, a store that failed): such a fault is no *refusal*, the same bytes may be
/// accepted when resent.
pub const TRANSIENT_FAULT_RULES: &[&str] = &["SP-4", "SP-9", "KSD-1", "KSD-7"];

/// Whether an outcome is a TransportKvittering that accepted the message (OK or ADVARSEL).
pub fn is_accepting(outcome: &str) -> bool {
    outcome == "OK" || outcome == "ADVARSEL"
}

/// The rule a `FAULT:<rule>` outcome names.
pub fn fault_rule(outcome: &str) -> Option<&str> {
    outcome.strip_prefix("FAULT:")
}

/// Whether an outcome refuses the message for what it is: FEJL, or a fault naming a rule that
/// is not in [`TRANSIENT_FAULT_RULES`].
pub fn is_refusal(outcome: &str) -> bool {
    outcome == FEJL || fault_rule(outcome).is_some_and(|r| !TRANSIENT_FAULT_RULES.contains(&r))
}

/// Whether an operation label is an answer (`#response` or `#fault`) rather than a request.
pub fn is_answer(operation: &str) -> bool {
    operation.ends_with(RESPONSE_SUFFIX) || operation.ends_with(FAULT_SUFFIX)
}
