//! The integrations a jobcenter solution takes part in, one module each, and the tables
//! through which the generic machinery reaches them: the tables they bring to the store
//! ([`MIGRATIONS`]), the operations of the receiver port they handle ([`receiving`]) and
//! the items of the resender's queue they deliver ([`deliver`]).
//!
//! A new integration is a new module here plus its lines in those tables: the receiver port
//! (admission, decoding, JC-3, refusals), the resender and the process state stay as they
//! are. What the flows share: `heard` (reading the platform's reply to a call) and `answer`
//! (a business answer owed to KSD, from decision to TransportKvittering, JC-1).

use std::future::Future;
use std::pin::Pin;

use axum::response::Response;
use sim_store::OutboxItem;
use sim_wire::Operation;

use crate::receiver::Inbound;
use crate::state::Jobcenter;

pub(crate) mod answer;
pub(crate) mod heard;
pub(crate) mod sf1690;
pub(crate) mod sf2090;
pub(crate) mod sf2093;
pub(crate) mod sf2095;
pub(crate) mod sf2096;

/// The tables of every integration, run after the journal's and the process's own at every
/// open (each batch is idempotent).
pub(crate) const MIGRATIONS: &[&str] = &[
    sf2095::store::MIGRATION,
    sf2090::store::MIGRATION,
    sf2093::store::MIGRATION,
    sf1690::MIGRATION,
];

/// A flow's handling of one received call that passed the port's generic checks.
pub(crate) type Handler = fn(Inbound) -> Pin<Box<dyn Future<Output = Response> + Send>>;

/// Every operation of the jobcenter's receiver port (JC-2), and the flow that handles it.
const RECEIVING: &[(Operation, Handler)] = &[
    (Operation::ModtagForretningsSvarJc, |i| {
        answer_of(sf2095::receipt::receive(i))
    }),
    // KSD-10: case events, acknowledged with SendForretningsSvar.
    (Operation::ModtagHaendelse, |i| {
        answer_of(sf2090::receive::receive(i))
    }),
    // KSD-11: extension requests, answered with SendForretningsSvarForlaengelse.
    (Operation::ModtagAnmodningForlaengelse, |i| {
        answer_of(sf2093::receive::receive(i))
    }),
];

/// A flow's handling as a [`Handler`]: the refusal its checks answered with (`Err`) is the
/// call's answer as much as its OK.
fn answer_of(
    handling: impl Future<Output = Result<Response, Response>> + Send + 'static,
) -> Pin<Box<dyn Future<Output = Response> + Send>> {
    Box::pin(async move { handling.await.unwrap_or_else(|refused| refused) })
}

/// The flow handling `op` on the receiver port; `None` when it is no operation of the port.
pub(crate) fn receiving(op: Operation) -> Option<Handler> {
    RECEIVING
        .iter()
        .find(|(o, _)| *o == op)
        .map(|(_, handler)| *handler)
}

/// The business answers a vendor owes KSD, each kept and sent by [`answer::Answering`].
const ANSWERS: &[&answer::Answering] = &[&sf2090::ACKNOWLEDGEMENT, &sf2093::ANSWER];

/// One delivery of an item of the vendor's durable queue (JC-1). A store has one queue (a
/// `sim_store::Outbox` is its table), so one resender serves every flow: an item's `meta`
/// names the flow that delivers it — empty for SF2095's updates, which came first, else an
/// answer's [`answer::Answering::queue`].
pub(crate) async fn deliver(jc: Jobcenter, item: OutboxItem) -> Result<(), String> {
    if item.meta.is_empty() {
        return jc.resend_in_background(item).await;
    }
    // SF1690: KY messages, owned until KY's TransportKvittering like the updates (JC-1).
    if item.meta == sf1690::QUEUE {
        return jc.deliver_ky(item).await;
    }
    match ANSWERS.iter().find(|a| a.queue == item.meta) {
        Some(a) => a.deliver(&jc, item).await,
        None => {
            // Never dropped: a later version of the vendor may know it.
            tracing::error!(meta = %item.meta, key = %item.key, "a queue item of no known flow");
            Err(format!(
                "no flow delivers queue items of kind {:?}",
                item.meta
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sim_wire::flows::{flow_of, Party};
    use sim_wire::{Caller, Port};

    #[test]
    fn the_receiver_table_holds_exactly_the_legs_the_platform_delivers_to_a_jobcenter() {
        for op in Operation::ALL {
            let delivered = flow_of(*op).receiver == Party::Jobcenter;
            assert_eq!(receiving(*op).is_some(), delivered, "{op}");
            if delivered {
                assert!(
                    op.port() == Port::Jc && op.caller() == Caller::Platform,
                    "{op}"
                );
            }
        }
    }

    // rules KSD-10, KSD-11: every answer goes to the platform's KSD exposure with an
    // operation a jobcenter calls, and each flow has a queue of its own.
    #[test]
    fn every_answer_is_a_jobcenter_call_on_the_ksd_exposure_with_its_own_queue() {
        for a in ANSWERS {
            assert_eq!(a.op.port(), Port::Ksd, "{}", a.op);
            assert_eq!(a.op.caller(), Caller::Jobcenter, "{}", a.op);
            assert!(!a.queue.is_empty() && !a.queue.contains(':'));
            assert_eq!(ANSWERS.iter().filter(|b| b.queue == a.queue).count(), 1);
        }
        assert!(MIGRATIONS.iter().all(|m| !m.is_empty()));
    }
}
