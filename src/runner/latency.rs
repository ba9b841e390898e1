//! Latency in real milliseconds and the traffic over virtual time, from what the runner recorded
//! and the receipts the vendors stored.

use std::time::Instant;

use hdrhistogram::Histogram;
use sim_report::{LatencySummary, TrafficPoint};
use sim_scenario::Speed;
use time::OffsetDateTime;

use super::expectations::ms;
use super::traffic::Ledger;

/// What [`summarize`] reads.
pub(crate) struct Inputs<'a> {
    pub(crate) speed: Speed,
    pub(crate) ledger: &'a Ledger,
    /// Speed `max`: (virtual time reached, real instant) at every advance of the manual clock.
    pub(crate) timeline: &'a [(OffsetDateTime, Instant)],
    /// (TransaktionIdentifikator, when the vendor stored its receipt).
    pub(crate) receipts: &'a [(String, OffsetDateTime)],
    pub(crate) start: OffsetDateTime,
    pub(crate) bucket_len: time::Duration,
    pub(crate) n_buckets: usize,
    pub(crate) bucket: &'a (dyn Fn(OffsetDateTime) -> usize + Send + Sync),
}

/// The latency summary and the traffic points of the report.
pub(crate) fn summarize(inp: &Inputs<'_>) -> anyhow::Result<(LatencySummary, Vec<TrafficPoint>)> {
    // Latency in real milliseconds: at a factor, from the intended send time (the virtual
    // difference divided by the factor: no coordinated omission); at `max`, from dispatch to
    // the first clock advance after the receipt was stored (an upper bound, off by at most one
    // advance, i.e. milliseconds).
    let drained = Instant::now();
    let real_ms = |tid: &str, received: OffsetDateTime| -> Option<f64> {
        match inp.speed {
            Speed::Factor(f) => inp
                .ledger
                .intended
                .get(tid)
                .map(|t0| ms(received - *t0) / f),
            Speed::Max => {
                let sent = inp.ledger.dispatched.get(tid)?;
                let i = inp.timeline.partition_point(|(v, _)| *v <= received);
                let at = inp.timeline.get(i).map_or(drained, |(_, w)| *w);
                Some(at.saturating_duration_since(*sent).as_secs_f64() * 1000.0)
            }
        }
    };
    let mut h = Histogram::<u64>::new(3)?;
    let mut traffic: Vec<TrafficPoint> = (0..inp.n_buckets)
        .map(|b| TrafficPoint {
            at: inp.start + inp.bucket_len * b as i32,
            sent: 0,
            accepted: 0,
            receipts: 0,
            faults: 0,
        })
        .collect();
    for (tid, received_at) in inp.receipts {
        if let Some(x) = real_ms(tid, *received_at) {
            h.record(x.max(0.0).round() as u64)?;
            traffic[(inp.bucket)(*received_at)].receipts += 1;
        }
    }
    for (b, (s, a)) in &inp.ledger.buckets {
        traffic[*b].sent = *s;
        traffic[*b].accepted = *a;
    }
    let quantile = |q: f64| {
        if h.is_empty() {
            0.0
        } else {
            h.value_at_quantile(q) as f64
        }
    };
    let latency = LatencySummary {
        count: h.len(),
        p50_ms: quantile(0.5),
        p90_ms: quantile(0.9),
        p99_ms: quantile(0.99),
        max_ms: if h.is_empty() { 0.0 } else { h.max() as f64 },
        buckets: if h.is_empty() {
            vec![]
        } else {
            h.iter_log(1, 2.0)
                .map(|v| (v.value_iterated_to() as f64, v.count_since_last_iteration()))
                .collect()
        },
    };

    Ok((latency, traffic))
}
