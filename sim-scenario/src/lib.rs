//! The scenario file and everything deterministic that follows from it.
//!
//! A scenario run is a seed plus a YAML file: which municipalities and vendors, how much
//! SF2095 traffic over how much virtual time, shaped by the Danish calendar and the
//! platform's peak hours (rule SP-8), which faults (among them the platform's service
//! windows, rule SP-9), and what the run must achieve. This crate turns that file into the
//! exact list of arrivals, their message contents and every fault decision — the same for
//! the same seed, on every machine, in any order of asking.
//!
//! **Architecture invariant:** no network or file IO and no clock: time is always a
//! parameter (the scenario's own start), text is given to [`parse`]. The municipality table is
//! compiled in from `scenarios/municipalities.csv`.
//!
//! # Layout
//!
//! - [`schema`]: the [`Scenario`] model, [`parse`] with line/column errors ([`ScenarioError`]),
//!   defaults, `--seed`/`--speed` overrides and a text [`hash`] for reports.
//! - [`calendar`]: Danish public holidays, working days, Copenhagen time (CET/CEST) and the
//!   SP-9 service-window calendar.
//! - Randomness: every draw comes from [`Rng`] (the `sim-seed` crate: one sub-seed per named
//!   stream, rand_distr's distributions).
//! - [`arrivals`]: when updates happen — a non-homogeneous Poisson process by thinning, one
//!   stream per municipality, normalised to `volume` (rule KSD-13).
//! - [`data`]: what each update says — CPR, employer, dates, Ophørsårsag (rule KSD-5) —
//!   from `(seed, seq)` alone.
//! - [`faults`]: the [`FaultPlan`]: per-message decisions, crashes, windows, and when the last
//!   fault is over (for liveness).
//! - [`policy`]: `vendor_policies:`, how the simulated vendors answer KSD's SF2090 events and
//!   SF2093 extension requests (KSD-10, KSD-11), per instance.
//! - [`expand`]: the canonical YAML of a validated scenario, printed at the start of a run.
//! - [`refdata`]: the 98 municipalities (kommunekode ↔ CVR).
//! - [`units`]: text forms of durations, instants and times of day.

#![warn(missing_docs)]

pub mod arrivals;
pub mod calendar;
pub mod data;
mod error;
pub mod expand;
pub mod faults;
pub mod policy;
mod raw;
/// The 98 municipalities live with the contract (`sim_wire::municipalities`); re-exported
/// under the name the scenario code has always used.
pub use sim_wire::municipalities as refdata;
pub mod schema;
pub mod star;
pub mod units;

pub use arrivals::{Arrival, Arrivals};
pub use data::{CaseData, UpdateData};
pub use error::{Pos, ScenarioError};
pub use faults::{Crash, FaultPlan};
pub use policy::{AckPolicy, ExtensionPolicy, VendorPolicies, VendorPolicy};
pub use schema::{
    hash, parse, seat_speed_problem, CaseIntake, Clock, Delivery, Distribution, Expectations,
    FaultKind, FaultParams, FaultRule, Ky, Lookups, Profile, Scenario, Seat, Selection, SlaClass,
    Speed, Star, Target, Volume, Window,
};
/// The seeded stream every draw of a scenario comes from (re-exported from `sim-seed`).
pub use sim_seed::Rng;
