//! The checkers of SF2095 (jobcenter → KSD sick-leave updates, KSD's business receipts back):
//! one module per check, each judging the integration's four legs as the three programs
//! journal them.
//!
//! The legs are `sim_wire::flows`' rows of [`Integration::Sf2095`], named here by their
//! contract [`Operation`]; every program writes one `journal` row per message it sent (`out`)
//! or received (`in`), the request's [`Part::Request`](sim_store::Part) and its answer's
//! `Response` (a TransportKvittering) or `Fault` part under the same operation. The rows the
//! checks rely on, with their [`Outcome`](sim_store::Outcome)s:
//!
//! | program | direction | leg | outcome | peer | municipality | call_uuid |
//! | --- | --- | --- | --- | --- | --- | --- |
//! | vendor | out | `SendOpdateringFravaer` (each attempt) | `Ok`/`Advarsel`/`Fejl`/`Fault(rule)`/`Unreachable`/`Http(n)` | platform URL | context | — |
//! | platform | in | `SendOpdateringFravaer` | `Received`, or `Fault(rule)` when refused | caller identity | context | platform's |
//! | platform | out | `SendOpdateringFravaer` response / fault | KSD's code / `Fault(rule)` | caller identity | context | platform's |
//! | KSD | in | `ModtagOpdateringFravaer` | `Ok`/`Advarsel` (processed), `Fejl`, `Duplicate`, `Fault(rule)` | platform identity | context (else header) | KSD's own |
//! | KSD | out | `SendForretningsSvarJc` (each attempt) | the platform's code / `Unreachable` | platform URL | context | KSD's own, of the update |
//! | platform | in | `SendForretningsSvarJc` | `Ok`/`Advarsel` (accepted and queued), `Fault(rule)` | KSD identity | context | platform's |
//! | platform | out | `ModtagForretningsSvarJc` (each delivery attempt) | the vendor's code / `Unreachable` | **instance name** | context | that of KSD's call |
//! | vendor | in | `ModtagForretningsSvarJc` | `Ok`/`Advarsel` (stored), `Fejl` (e.g. JC-3), `Fault(rule)` | KOMBIT identity | context | — |
//!
//! TransaktionIdentifikatorer and CallUUIDs are compared lowercased.
//!
//! # Layout
//! - [`misrouting`] (`no-misrouting`), [`exactly_once`] (`processed-exactly-once`),
//!   [`refused`] (`refused-what-must-be-refused`), [`receipts`] (`no-receipt-without-update`),
//!   [`backlog`] (`backlog-drains`): one check each, run by `check` in that order.

pub mod backlog;
pub mod exactly_once;
pub mod misrouting;
pub mod receipts;
pub mod refused;

use sim_report::CheckResult;
#[cfg(doc)]
use sim_wire::{flows::Integration, Operation};

use crate::history::History;
use crate::{CheckError, CheckInput};

/// Every SF2095 check over one load of the files: safety first, then liveness.
pub(crate) fn check(h: &History, input: &CheckInput) -> Result<Vec<CheckResult>, CheckError> {
    Ok(vec![
        misrouting::check(h, input),
        if input.ksd_is_outside() {
            exactly_once::not_judged()
        } else {
            exactly_once::check(h)
        },
        if input.platform_is_outside() {
            refused::not_judged()
        } else {
            refused::check(h, input)?
        },
        receipts::check(h),
        backlog::check(h, input),
    ])
}

#[cfg(test)]
mod tests {
    use sim_wire::flows::Integration;
    use sim_wire::Operation;

    #[test]
    fn the_checks_judge_the_legs_of_the_flow_table() {
        let legs: Vec<_> = Integration::Sf2095.flows().map(|f| f.operation).collect();
        assert_eq!(
            legs,
            [
                Some(Operation::SendOpdateringFravaer),
                Some(Operation::ModtagOpdateringFravaer),
                Some(Operation::SendForretningsSvarJc),
                Some(Operation::ModtagForretningsSvarJc),
            ]
        );
    }
}
