//! SF2093, extension requests (KSD-11): before a sick-leave case reaches its duration limit
//! KSD asks the municipality's jobcenter, through the platform, whether the case is extended
//! (`ModtagAnmodningForlaengelse`); the vendor answers with `SendForretningsSvarForlaengelse`
//! on the platform's KSD exposure: a time-limited extension with an end date, an unlimited
//! one, or a rejection with a reason. From the answer KSD sets the case's VarighedKode (62,
//! 64; 63 when none came in time, KSD-9).
//!
//! Receiving: once the receiver port has admitted the call (JC-2, JC-3), the request must be
//! valid and about a case of the municipality in context (JC-3), or it is answered FEJL and
//! nothing is stored. The vendor's policy decides the answer and when it goes; request,
//! decision, answer document and due time are stored and journaled in one commit, and only
//! then is the request answered TransportKvittering OK. A repeated request (same
//! TransaktionIdentifikator) is answered OK again and not decided again; an answer that
//! already went is sent once more, the identical document.
//!
//! Answering (JC-1): a case worker takes a while, so the answer is due a drawn delay after
//! the request (virtual time) — a share of them after SvarFrist on purpose, for fault
//! scenarios (the policy's `late_share`, or every request an injected `late_extension_answer`
//! hits, `crate::faults`) — and some requests are never answered. Until it is due the answer waits in the
//! resender's queue, so a decided answer survives a restart; from then on it is owned and
//! resent like any answer (`flows::answer`).
//!
//! - `receive`: the receiver table's handler of `ModtagAnmodningForlaengelse`.
//! - `policy`: the decision, a pure function of (policy, seed, instance, request, now).
//! - `svar`: the answer's document.
//! - `store`: the table `jc_extension_requests`, its writes and queries.

use sim_wire::Operation;

use super::answer::Answering;

pub(crate) mod policy;
pub(crate) mod receive;
pub(crate) mod store;
pub(crate) mod svar;

/// Where answers are kept and how they are sent.
pub(crate) const ANSWER: Answering = Answering {
    table: "jc_extension_requests",
    op: Operation::SendForretningsSvarForlaengelse,
    queue: "sf2093",
    may_go_twice: false,
};
