//! SF1612, STAR's side (wire.md §4.1, seed 004 §3.3): the WS-ReliableMessaging-style sequence
//! the platform's job uses to fetch sick-leave status changes from STAR's DFDG, and the event
//! itself as the Beskedfordeler carries it.
//!
//! Four operations on two services ([`StarOperation`]): `WsrmService`'s `CreateSequence`
//! (sub-queue 6), `TerminateSequence` and `CloseSequence`, and `WsrmMessageService`'s
//! `GetIllnessUpdatedVersion6`, which returns every `IllnessUpdateRegistration` of the
//! sequence. Every call carries the constant headers of rule SP-12; the fetch also names its
//! sequence in a `SequenceRequest` header.
//!
//! A client (the platform's job) builds a [`StarCall`] — [`StarHeaders::ksd`] with the time of
//! the call, [`StarHeaders::with_sequence`] for the fetch — sends [`write_request`]'s document
//! with [`StarOperation::soap_action`], and reads the answer with [`read_response`]. A server
//! (the simulated STAR) reads with [`read_request`], checks [`check_headers`] (SP-12) and
//! answers with [`write_response`] (or streams [`fetch_response_parts`] and
//! [`registration_fragment`]s). The platform publishes each event as [`event_document`]'s
//! ISO-8859-1 bytes; KSD reads them back with [`read_event_document`].
//!
//! Like the rest of the crate, this module does no IO, reads no clock and draws no random
//! numbers: the time of a call is a parameter.
//!
//! # Layout
//! - [`ns`]: STAR's namespace URIs (defined here, but the event's, which is seed 004's).
//! - [`operation`]: the operations, services, SOAPActions, element names, journal labels.
//! - [`model`]: headers (with the SP-12 constants), requests, responses, the event.
//! - [`mod@write`]: typed message → SOAP 1.1 document; the streamable pieces of a fetch.
//! - [`mod@read`]: document → typed message, or one [`StarReadError`].
//! - [`validate`]: SP-12 as [`check_headers`].
//! - [`event`]: the ISO-8859-1 event document and its reader.
//! - [`examples`]: one message per operation and direction; two events with æøå.

pub mod event;
pub mod examples;
pub mod model;
pub mod ns;
pub mod operation;
pub mod read;
pub mod validate;
pub mod write;

pub use event::{event_document, read_event_document, EVENT_ENCODING};
pub use model::*;
pub use operation::{StarOperation, StarService, GET_ILLNESS_UPDATED_SERVICE_NAME, KSD_SUB_QUEUE};
pub use read::{read_request, read_response, StarReadError};
pub use validate::check_headers;
pub use write::{
    fetch_response_parts, registration_fragment, write_fault, write_request, write_response,
    FetchResponseParts, StarWriteError,
};

#[cfg(test)]
mod tests;
