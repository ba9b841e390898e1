//! Traffic: what the runner sends on the simulated parties' behalf, one module per
//! integration, and the ledger of what it sent.

pub(crate) mod sf2095;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use sim_scenario::FaultPlan;
use sim_store::Clock;
use sim_wire::Cvr;
use time::OffsetDateTime;

use crate::ecosystem::JobcenterSlot;
use crate::runner::hook::Tally;

/// What the runner keeps about each update it sent.
#[derive(Default)]
pub(crate) struct Ledger {
    /// TransaktionIdentifikator → intended send time (virtual).
    pub(crate) intended: BTreeMap<String, OffsetDateTime>,
    /// TransaktionIdentifikator → when it was dispatched (real time; speed `max`).
    pub(crate) dispatched: BTreeMap<String, Instant>,
    /// Deliberately broken messages: (TransaktionIdentifikator, kind).
    pub(crate) injected: Vec<(String, String)>,
    pub(crate) sent: u64,
    pub(crate) accepted: u64,
    /// Per traffic bucket: (sent, accepted).
    pub(crate) buckets: BTreeMap<usize, (u64, u64)>,
    pub(crate) errors: Vec<String>,
}

/// Everything one arrival's task needs.
#[derive(Clone)]
pub(crate) struct Ctx {
    /// The jobcenter as it is now: it may crash and restart during the run.
    pub(crate) jc: JobcenterSlot,
    pub(crate) plan: Arc<FaultPlan>,
    pub(crate) clients: Arc<BTreeMap<String, sim_kit::soap::SoapClient>>,
    pub(crate) sp_url: String,
    pub(crate) seed: u64,
    pub(crate) ledger: Arc<Mutex<Ledger>>,
    pub(crate) tally: Arc<Tally>,
    pub(crate) clock: Clock,
    pub(crate) others: Arc<Vec<(Cvr, String)>>,
    pub(crate) bucket: Arc<dyn Fn(OffsetDateTime) -> usize + Send + Sync>,
}
