//! `sim-wire`: the Sygefravaer wire contract as pure Rust — types, codec and validation.
//!
//! Everything the three simulated programs (and any vendor's test harness) say to each
//! other passes through here. **This crate does no IO, reads no clock and draws no random
//! numbers**: every function is pure, so it can be fuzzed, benchmarked and reused anywhere.
//!
//! ```
//! let xml = sim_wire::write(&sim_wire::examples::opdatering_fravaer_request());
//! let decoded = sim_wire::read(xml.as_bytes(), None).unwrap();
//! assert!(decoded.is_valid(), "{:?}", decoded.problems);
//! ```
//!
//! # Layout
//! - [`ns`]: every namespace URI, in one place.
//! - [`rules`]: rule IDs (SP-1, KSD-5, ..., and our WIRE-1..3) and the [`Problem`] a check reports.
//! - [`values`]: value types that can only hold valid values (`Cvr`, `Cpr`, `Uuid`, dates ...).
//! - [`model`]: the messages as plain values: envelope bodies, contexts, receipts, payloads.
//! - [`operation`]: the 14 operations, their ports, SOAPActions and forwarding.
//! - [`flows`]: every leg of the six integrations — caller, receiver, exposure, SP-8 class,
//!   journal label — in one table.
//! - `dom`: XML bytes → a small namespace-resolved tree (the only quick-xml reader user).
//! - [`read`]: tree → typed message + every problem; operation detection.
//! - [`mod@write`]: typed message → SOAP 1.1 document.
//! - [`validate`]: cross-field and sender-dependent rules as pure functions.
//! - [`examples`]: one realistic, valid message per operation (golden files, docs, tests).
//! - [`ky`]: SF1690, `KontanthjaelpServiceKY` (wire.md §5): its own operations, reader,
//!   writer, rules and examples.

pub mod besked;
mod dom;
pub mod error;
pub mod examples;
pub mod flows;
pub mod ky;
pub mod model;
pub mod municipalities;
pub mod ns;
pub mod operation;
pub mod read;
pub mod rules;
pub mod star;
pub mod validate;
pub mod values;
pub mod write;

pub use dom::is_xml_char;
pub use error::WireError;
pub use flows::{Flow, Integration, Party, SlaClass, FLOWS};
pub use model::*;
pub use operation::{Caller, Operation, PayloadKind, Port};
pub use read::{read, Decoded, MessageKind};
pub use rules::{Problem, Rule, Severity};
pub use validate::{transport_kvittering_for, validate};
pub use values::*;
pub use write::{write, write_fault, write_request, write_response};
