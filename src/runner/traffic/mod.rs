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

use anyhow::Context;
use sim_jobcenter::{
    JobcenterError, KyOutcome, Lookup, LookupOutcome, SendOutcome, UpdateSpec, UpdateStatus,
};
use sim_wire::ky::KyRequest;

use crate::ecosystem::{Crashed, JobcenterSlot};
use crate::jobcenter_remote::{RemoteError, RemoteJobcenter};
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

/// The simulated jobcenter as the runner reaches it: in this process, through the slot that
/// follows its crashes, or in another process or container, through its admin API. Either
/// way a call is `Err(Crashed)` when the jobcenter died under it or cannot be reached (the
/// caller waits and follows the update, JC-1), and `Ok(Err(_))` when the jobcenter refused
/// it.
#[derive(Clone)]
pub(crate) enum Jc {
    /// In this process (`sim run`).
    Local(JobcenterSlot),
    /// In another process (`sim run --processes`, `--ecosystem`).
    Remote(Arc<RemoteJobcenter>),
}

/// One call's result, as both kinds of jobcenter give it.
pub(crate) type JcResult<T> = Result<Result<T, String>, Crashed>;

/// A remote call's result: unreachable counts as crashed, after a short pause so that a
/// caller's loop does not spin while the process restarts.
async fn remote<T>(r: Result<T, RemoteError>) -> JcResult<T> {
    match r {
        Ok(v) => Ok(Ok(v)),
        Err(RemoteError::Refused(e)) => Ok(Err(e)),
        Err(RemoteError::Unreachable(_)) => {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            Err(Crashed)
        }
    }
}

impl Jc {
    pub(crate) async fn send_update(&self, spec: UpdateSpec) -> JcResult<SendOutcome> {
        match self {
            Jc::Local(slot) => local(
                slot.run(move |jc| async move { jc.send_update(spec).await })
                    .await,
            ),
            Jc::Remote(r) => remote(r.send_update(&spec).await).await,
        }
    }

    pub(crate) async fn resend(&self, tid: &str) -> JcResult<SendOutcome> {
        let t = tid.to_string();
        match self {
            Jc::Local(slot) => local(slot.run(move |jc| async move { jc.resend(&t).await }).await),
            Jc::Remote(r) => remote(r.resend(&t).await).await,
        }
    }

    pub(crate) async fn wait_for_transport(
        &self,
        tid: &str,
        wait: std::time::Duration,
    ) -> JcResult<Option<UpdateStatus>> {
        let t = tid.to_string();
        match self {
            Jc::Local(slot) => local(
                slot.run(move |jc| async move { jc.wait_for_transport(&t, wait).await })
                    .await,
            ),
            Jc::Remote(r) => remote(r.wait_for_transport(&t, wait).await).await,
        }
    }

    pub(crate) async fn lookup(
        &self,
        instance: String,
        m: Cvr,
        query: Lookup,
    ) -> JcResult<LookupOutcome> {
        match self {
            Jc::Local(slot) => local(
                slot.run(move |jc| async move { jc.lookup(&instance, Some(m), query).await })
                    .await,
            ),
            Jc::Remote(r) => remote(r.lookup(&instance, Some(m), &query).await).await,
        }
    }

    pub(crate) async fn send_ky(
        &self,
        instance: String,
        m: Cvr,
        request: KyRequest,
    ) -> JcResult<KyOutcome> {
        match self {
            Jc::Local(slot) => local(
                slot.run(move |jc| async move { jc.send_ky(&instance, Some(m), request).await })
                    .await,
            ),
            Jc::Remote(r) => remote(r.send_ky(&instance, Some(m), &request).await).await,
        }
    }

    pub(crate) async fn wait_for_ky(
        &self,
        tid: &str,
        wait: std::time::Duration,
    ) -> JcResult<Option<KyOutcome>> {
        let t = tid.to_string();
        match self {
            Jc::Local(slot) => local(
                slot.run(move |jc| async move { jc.wait_for_ky(&t, wait).await })
                    .await,
            ),
            Jc::Remote(r) => remote(r.wait_for_ky(&t, wait).await).await,
        }
    }

    /// Whether the jobcenter has stopped for good (only ever true in this process: a remote
    /// one that cannot be reached may be restarting).
    pub(crate) fn is_gone(&self) -> bool {
        match self {
            Jc::Local(slot) => slot.is_gone(),
            Jc::Remote(_) => false,
        }
    }

    /// The stored receipts so far; `None` while the jobcenter is down.
    pub(crate) async fn receipt_count(&self) -> Option<u64> {
        match self {
            Jc::Local(slot) => slot.current()?.receipt_count().await.ok(),
            Jc::Remote(r) => r.receipt_count().await.ok(),
        }
    }

    /// Every stored receipt's TransaktionIdentifikator and arrival (virtual).
    pub(crate) async fn receipt_times(&self) -> anyhow::Result<Vec<(String, OffsetDateTime)>> {
        match self {
            Jc::Local(slot) => Ok(slot
                .current()
                .context("the jobcenter is down at the end of the run")?
                .receipt_times()
                .await?),
            Jc::Remote(r) => Ok(r.receipt_times().await?),
        }
    }
}

/// An in-process call's result with the jobcenter's error as text.
fn local<T>(r: Result<Result<T, JobcenterError>, Crashed>) -> JcResult<T> {
    r.map(|inner| inner.map_err(|e| e.to_string()))
}

/// Everything one arrival's task needs.
#[derive(Clone)]
pub(crate) struct Ctx {
    /// The jobcenter as it is now: it may crash and restart during the run.
    pub(crate) jc: Jc,
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
