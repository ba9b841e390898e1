//! `sim-report`: what a scenario run found, and how it is shown to people and to CI.
//!
//! The runner and the checkers fill one [`RunReport`]; every rendering is a pure function of
//! it (`&RunReport -> String`), so a saved JSON report can be rendered again at any time and
//! every rendering is tested without running anything.
//!
//! # Layout
//! - [`model`]: [`RunReport`] and its parts ([`CheckResult`] is what every checker returns;
//!   [`SeatReport`] grades an outside system in a seat rule by rule).
//! - [`console`]: the compact text summary `sim run` prints last, ending in a verdict line.
//! - [`junit`]: JUnit XML, one test case per check and one suite per seat with a test case per
//!   rule, so CI lists failed checks and broken rules like failed tests.
//! - [`json`]: the report as JSON and back, exactly; the form a run is saved in.
//! - [`html`]: one self-contained page (inline CSS and SVG, no JavaScript) with the checks, the
//!   seats' conformance (with the raw exchanges that broke a rule), the totals and the plots
//!   drawn by `plots`: traffic, latency histogram, fault timeline, and per integration with
//!   traffic its calls per leg over virtual time and the platform's response times.
//! - [`progress`]: the display while a run runs: an `indicatif` bar in a terminal, rate-limited
//!   plain lines otherwise (CI).
//!
//! **Invariant:** renderers do no IO and read no clock; only [`progress`] writes (to stderr, or
//! to a writer the caller passes).

pub mod console;
pub mod html;
pub mod json;
pub mod junit;
pub mod model;
mod plots;
pub mod progress;
mod text;

pub use model::*;
pub use progress::{Progress, Snapshot};
