//! SF2090, case events (KSD-10): when KSD creates, changes or ends a sick-leave case it sends
//! a `Haendelse` through the platform, which calls the vendor's `ModtagHaendelse`; the vendor
//! acknowledges it with a business answer, `SendForretningsSvar` MODTAGET on the platform's
//! KSD exposure.
//!
//! Receiving: once the receiver port has admitted the call (JC-2, JC-3), the event must be
//! valid and about a case of the municipality in context (JC-3), or it is answered FEJL and
//! nothing is stored. A valid event is stored with the case state it tells (case id, person,
//! status, VarighedKode) and its acknowledgement, journaled, and only then answered
//! TransportKvittering OK. A repeated event (same TransaktionIdentifikator) is answered OK
//! again and only counted; its acknowledgement, if it already went, is sent once more, the
//! identical document.
//!
//! Acknowledging (JC-1): the acknowledgement is the event's header — same
//! TransaktionIdentifikator — sent now by the instance (BeskedForsendelsesDatoTid,
//! RegistreringITsystem) with Forretningskvittering MODTAGET, in the event's security
//! context. It is owned and resent like any answer (`flows::answer`). The vendor's policy may
//! leave a share of events unacknowledged on purpose (`AckPolicy::never_acknowledged`).
//!
//! Injected faults (`crate::faults`, scenario runs): `unacknowledged_event` keeps an event
//! with its acknowledgement withheld — pending, outside the queue — until KSD delivers it
//! again outside the fault, which sends it (KSD redelivers after its acknowledgement
//! timeout); `event_ack_twice` sends an acknowledgement the platform took once more.
//!
//! - `receive`: the receiver table's handler of `ModtagHaendelse`.
//! - `ack`: the acknowledgement and the policy that may suppress it.
//! - `store`: the table `jc_events`, its writes and queries.

use sim_wire::Operation;

use super::answer::Answering;

pub(crate) mod ack;
pub(crate) mod receive;
pub(crate) mod store;

/// Where acknowledgements are kept and how they are sent.
pub(crate) const ACKNOWLEDGEMENT: Answering = Answering {
    table: "jc_events",
    op: Operation::SendForretningsSvarKsd,
    queue: "sf2090",
    may_go_twice: true,
};
