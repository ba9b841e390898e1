//! The integrations a jobcenter solution takes part in, one module each, and the two tables
//! through which the generic machinery reaches them: the tables they bring to the store
//! ([`MIGRATIONS`]) and the operations of the receiver port they handle ([`receiving`]).
//!
//! A new integration is a new module here plus its lines in those tables: the receiver port
//! (admission, decoding, JC-3, refusals) and the process state stay as they are.

use std::future::Future;
use std::pin::Pin;

use axum::response::Response;
use sim_wire::{Operation, Rule};

use crate::receiver::Inbound;

pub(crate) mod sf2095;

/// The tables of every integration, run after the journal's and the process's own at every
/// open (each batch is idempotent).
pub(crate) const MIGRATIONS: &[&str] = &[sf2095::store::MIGRATION];

/// A flow's handling of one received call that passed the port's generic checks.
pub(crate) type Handler = fn(Inbound) -> Pin<Box<dyn Future<Output = Response> + Send>>;

/// What the receiver port does with an operation the platform calls on it.
#[derive(Clone, Copy)]
pub(crate) enum Receiving {
    /// An integration handles it.
    Flow(Handler),
    /// Its integration is not simulated yet: refused with a fault naming the rule the
    /// jobcenter would have to follow, so a scenario sees the gap instead of a silent OK.
    NotYet(Rule),
}

/// Every operation of the jobcenter's receiver port, and who handles it.
const RECEIVING: &[(Operation, Receiving)] = &[
    (
        Operation::ModtagForretningsSvarJc,
        Receiving::Flow(sf2095::receipt::receive),
    ),
    // TODO(rule KSD-10): accept SF2090 events, keep the case state, acknowledge with
    // SendForretningsSvar through the platform.
    (Operation::ModtagHaendelse, Receiving::NotYet(Rule::Ksd10)),
    // TODO(rule KSD-11): answer extension requests with SendForretningsSvarForlaengelse.
    (
        Operation::ModtagAnmodningForlaengelse,
        Receiving::NotYet(Rule::Ksd11),
    ),
];

/// How the receiver port handles `op`; `None` when it is no operation of the port.
pub(crate) fn receiving(op: Operation) -> Option<Receiving> {
    RECEIVING
        .iter()
        .find(|(o, _)| *o == op)
        .map(|(_, handling)| *handling)
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
}
