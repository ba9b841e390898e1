//! KSD's integrations, one module each, and the two places the generic machinery hands over
//! to them: [`answer`] for a request the receiver port admitted, [`deliver_outbox`] for what
//! KSD sends.
//!
//! A new integration is its module here plus its lines in those two functions.
//!
//! - [`sf2095`]: sick-leave status updates and their business receipts.
//! - SF2090 (events, KSD-10), SF2093 (extensions, KSD-11) and SF2096 (case look-ups,
//!   KSD-12) are not built: their requests are refused with a fault naming their rule.

pub mod sf2095;

use std::future::Future;
use std::sync::Arc;

use axum::response::Response;
use sim_kit::soap::SoapCall;
use sim_wire::{Decoded, Operation, Rule};

use crate::state::{Ksd, Seen};

/// Answers an admitted request (the platform called; the message is a request) of `op` by the
/// integration that owns it; `None` when KSD's receiver port takes no such operation.
pub async fn answer(
    k: &Ksd,
    op: Operation,
    call: &SoapCall,
    decoded: Decoded,
    seen: &Seen,
) -> Option<Response> {
    let not_built = |rule| not_built(k, op, rule, call, seen);
    Some(match op {
        Operation::ModtagOpdateringFravaer => sf2095::update::handle(k, call, decoded, seen).await,
        // TODO(rule KSD-10): SF2090 — send a Haendelse on case changes and take the
        // jobcenter's acknowledgement (ModtagForretningsSvar).
        Operation::ModtagForretningsSvarKsd => not_built(Rule::Ksd10).await,
        // TODO(rule KSD-11): SF2093 — ask for extensions and take the answer
        // (ModtagForretningsSvarForlaengelse), setting VarighedKode 62/64, else 63.
        Operation::ModtagForretningsSvarForlaengelse => not_built(Rule::Ksd11).await,
        // TODO(rule KSD-12): SF2096 — HentSag/HentSagsListe returning only the calling
        // municipality's cases.
        Operation::HentSag | Operation::HentSagsListe => not_built(Rule::Ksd12).await,
        _ => return None,
    })
}

/// Refuses a request of an integration this simulator does not build yet with a fault naming
/// the rule that would cover it (`soap:Server`: KSD's shortcoming, not the caller's).
async fn not_built(k: &Ksd, op: Operation, rule: Rule, call: &SoapCall, seen: &Seen) -> Response {
    let text = format!("{} is not supported by this simulator yet.", op.name());
    k.refuse(seen, call.text(), false, rule, text).await
}

/// Delivers KSD's outbox until `stop` completes. It holds SF2095's business receipts only;
/// an integration that makes KSD send (SF2090's events, SF2093's requests) delivers here too.
pub async fn deliver_outbox(k: Arc<Ksd>, stop: impl Future<Output = ()> + Send) {
    sf2095::receipt::deliver_forever(k, stop).await;
}
