//! Traffic: what the runner sends on the simulated parties' behalf, one module per
//! integration, and the ledger of what it sent.

pub(crate) mod cases;
pub(crate) mod ky;
pub(crate) mod lookups;
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

/// Real (wall-clock) round trips of calls the runner had a simulated party make,
/// milliseconds, for the report's p50/p99 (look-ups, KY messages).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct RoundTrips(Vec<u64>);

impl RoundTrips {
    /// One round trip.
    pub(crate) fn push(&mut self, ms: u64) {
        self.0.push(ms);
    }

    /// The `q` quantile (nearest rank; 0 when there are none).
    pub(crate) fn quantile_ms(&self, q: f64) -> u64 {
        let mut v = self.0.clone();
        v.sort_unstable();
        match v.len() {
            0 => 0,
            n => v[((n as f64 * q).ceil() as usize).clamp(1, n) - 1],
        }
    }
}

/// What the traffic beside the updates did: KSD's intake, the look-ups, the KY messages.
#[derive(Default)]
pub(crate) struct SideTallies {
    pub(crate) intake: Arc<Mutex<cases::IntakeTally>>,
    pub(crate) lookups: Arc<Mutex<lookups::LookupTally>>,
    pub(crate) ky: Arc<Mutex<ky::KyTally>>,
}

impl SideTallies {
    /// Writes what the traffic beside the updates did into the report's totals.
    pub(crate) fn fill(&self, totals: &mut sim_report::Totals) {
        let intake = self.intake.lock().expect("intake tally lock").clone();
        totals.cases_created = intake.created;
        if !intake.failed.is_empty() {
            tracing::warn!(failed = ?intake.failed, "KSD refused cases of the intake");
        }
        totals.lookups = self.lookups.lock().expect("lookup tally lock").totals();
        totals.ky = self.ky.lock().expect("ky tally lock").totals();
    }
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
    /// Keys the run has seen, for the look-ups (SF2096) to aim at.
    pub(crate) known: Arc<Mutex<lookups::Known>>,
}
