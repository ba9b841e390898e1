//! `sim-report`: what a scenario run found, and how it is shown to people and to CI.
//!
//! # Layout
//! - [`model`]: [`RunReport`] and its parts ([`CheckResult`] is what every checker returns).

pub mod model;

pub use model::*;
