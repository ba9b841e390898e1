//! KSD's integrations, one module each, and the places the generic machinery hands over to
//! them: [`answer`] for a request the receiver port admitted, [`delivered`] for the
//! jobcenter's TransportKvittering on something KSD sent ([`crate::send`]).
//!
//! A new integration is its module here plus its lines in those functions.
//!
//! - [`sf2095`]: sick-leave status updates and their business receipts.
//! - [`sf2090`]: case events and their acknowledgements (KSD-10).
//! - [`sf2093`]: extension requests and their answers (KSD-11).
//! - [`sf2096`]: case look-ups, delimited to the calling municipality (KSD-12).

pub mod sf1612;
pub mod sf2090;
pub mod sf2093;
pub mod sf2095;
pub mod sf2096;

use axum::response::Response;
use sim_kit::soap::SoapCall;
use sim_wire::{Decoded, Operation, TransportValideringsKode};

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
    Some(match op {
        Operation::ModtagOpdateringFravaer => sf2095::update::handle(k, call, decoded, seen).await,
        Operation::ModtagForretningsSvarKsd => sf2090::receive_ack(k, call, decoded, seen).await,
        Operation::ModtagForretningsSvarForlaengelse => {
            sf2093::receive_answer(k, call, decoded, seen).await
        }
        Operation::HentSag => sf2096::hent_sag(k, call, decoded, seen).await,
        Operation::HentSagsListe => sf2096::hent_sags_liste(k, call, decoded, seen).await,
        _ => return None,
    })
}

/// Hands the jobcenter's TransportKvittering for something KSD sent (`op`, keyed by its
/// TransaktionIdentifikator) to the integration that sent it.
pub async fn delivered(k: &Ksd, op: Operation, key: &str, kode: TransportValideringsKode) {
    match op {
        Operation::SendHaendelse => sf2090::delivered(k, key, kode).await,
        Operation::SendAnmodningForlaengelse => sf2093::delivered(k, key, kode).await,
        // A business receipt's delivery is in the journal; nothing else keeps it.
        _ => {}
    }
}
