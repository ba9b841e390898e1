//! SF1690 "Jobcenter - Kontanthjælp Modtag jobcentersag": the `KontanthjaelpServiceKY` v2
//! contract (wire.md §5, seed 003) — a jobcenter's eight kinds of case information sent
//! through the platform to KY (Kommunernes Ydelsessystem), each answered synchronously with a
//! TransportKvittering.
//!
//! Seed 003 names only the operations and their sub-actions; the message shapes are *defined
//! here*, reusing the Sygefravaer vocabulary (header fields, `kvit:` receipts, the security
//! context) where it fits. The contract is its own module rather than more variants of
//! [`crate::Operation`]: KY is another service with another receiver, and every program that
//! speaks Sygefravaer keeps its exhaustive matches.
//!
//! A client builds a [`KyPayload`] (or starts from [`examples`]), wraps it with
//! [`KyRequest::new`] and sends [`write_request`]'s document with
//! [`KyOperation::soap_action`] to the platform's [`PLATFORM_PATH`]; [`read`] reads the
//! answer.
//!
//! # Layout
//! - [`operation`]: the eight operations, their sub-actions ([`Handling`]), names, SOAPActions.
//! - [`model`]: header, payloads, request, receipt.
//! - [`mod@read`]: bytes → [`KyDecoded`] with every problem (KY-2, WIRE-1/3, SP-5).
//! - [`mod@write`]: typed message → SOAP 1.1 document.
//! - [`validate`]: KY-2..KY-5 as pure functions, shared by the reader and [`validate()`].
//! - [`examples`]: every operation and sub-action, in an order KY accepts.

pub mod examples;
pub mod model;
pub mod operation;
pub mod read;
pub mod validate;
pub mod write;

pub use model::*;
pub use operation::{Handling, KyOperation, PLATFORM_PATH, SERVICE};
pub use read::{read, KyDecoded};
pub use validate::{ky_code, validate};
pub use write::{write, write_request, write_response};
