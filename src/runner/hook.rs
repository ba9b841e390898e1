//! The fault hook and its tally: receiving-side faults of a scenario, decided inside the
//! programs' fault layers from the seeded plan, and KSD's per-update receipt delay (KSD-2).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

use sim_kit::faults::{FaultAction, FaultHook, RequestInfo};
use sim_scenario::{FaultKind, FaultPlan, Target};
use sim_store::Clock;
use sim_wire::Rule;
use time::OffsetDateTime;

use crate::runner::CALL_TIMEOUT;

/// First and last time a fault hit, and how often.
pub(crate) type Hits = (OffsetDateTime, OffsetDateTime, u64);

/// Counts of what the fault layer did, per (kind, target).
#[derive(Default)]
pub(crate) struct Tally {
    pub(crate) by: Mutex<BTreeMap<(String, String), Hits>>,
}

impl Tally {
    pub(crate) fn hit(&self, kind: FaultKind, target: &str, at: OffsetDateTime) {
        let mut by = self.by.lock().expect("tally lock");
        let e = by
            .entry((kind.as_str().to_string(), target.to_string()))
            .or_insert((at, at, 0));
        e.0 = e.0.min(at);
        e.1 = e.1.max(at);
        e.2 += 1;
    }

    pub(crate) fn total(&self) -> u64 {
        self.by
            .lock()
            .expect("tally lock")
            .values()
            .map(|v| v.2)
            .sum()
    }
}

/// The receiving-side faults of a scenario, decided inside the programs' fault layers, and
/// KSD's per-update receipt delay.
pub struct PlanHook {
    pub(crate) seed: u64,
    pub(crate) receipt_delay: sim_scenario::Distribution,
    pub(crate) plan: Arc<FaultPlan>,
    pub(crate) clock: Clock,
    pub(crate) factor: f64,
    pub(crate) seq: AtomicU64,
    pub(crate) tally: Arc<Tally>,
}

impl PlanHook {
    pub(crate) fn real(&self, virtual_delay: time::Duration) -> StdDuration {
        let secs = virtual_delay.as_seconds_f64().max(0.0);
        let real = if self.factor.is_finite() {
            secs / self.factor
        } else {
            secs.min(0.2)
        };
        StdDuration::from_secs_f64(real.min(30.0))
    }
}

pub(crate) fn target_of(program: &str) -> Target {
    match program {
        "sp" => Target::Sp,
        "ksd" => Target::Ksd,
        v => Target::Vendor(v.to_string()),
    }
}

impl FaultHook for PlanHook {
    fn on_request(&self, r: &RequestInfo<'_>) -> FaultAction {
        let now = self.clock.now();
        let seq = self.seq.fetch_add(1, Ordering::Relaxed);
        let target = target_of(r.program);
        let hit = |kind: FaultKind| self.plan.decide(kind, &target, now, seq);
        if target == Target::Sp && hit(FaultKind::ServiceWindow).is_some() {
            self.tally.hit(FaultKind::ServiceWindow, r.program, now);
            return FaultAction::SoapFault {
                rule: Rule::Sp9,
                text: "The platform is in a service window; try again later.".into(),
            };
        }
        if hit(FaultKind::ConnectionReset).is_some() {
            self.tally.hit(FaultKind::ConnectionReset, r.program, now);
            return FaultAction::Reset;
        }
        if hit(FaultKind::SoapFault).is_some() {
            self.tally.hit(FaultKind::SoapFault, r.program, now);
            return FaultAction::SoapFault {
                rule: Rule::Sp4,
                text: format!("injected fault at {}", r.program),
            };
        }
        // FEJL is injected only at KSD: a vendor's FEJL would end the receipt's delivery (FEJL
        // means "fix and resend"), which is a refusal, not a transient fault.
        if target == Target::Ksd && hit(FaultKind::FejlReceipt).is_some() {
            self.tally.hit(FaultKind::FejlReceipt, r.program, now);
            return FaultAction::Fejl {
                rule: Rule::Ksd1,
                text: "injected FEJL".into(),
            };
        }
        if hit(FaultKind::Timeout).is_some() {
            self.tally.hit(FaultKind::Timeout, r.program, now);
            return FaultAction::Delay(CALL_TIMEOUT + StdDuration::from_millis(300));
        }
        let slow = match target {
            Target::Sp => FaultKind::SlowPlatform,
            Target::Ksd => FaultKind::SlowKsd,
            _ => FaultKind::SlowVendor,
        };
        if let Some(rule) = hit(slow) {
            self.tally.hit(slow, r.program, now);
            let d = self.plan.delay(rule, seq).unwrap_or(time::Duration::ZERO);
            return FaultAction::Delay(self.real(d));
        }
        FaultAction::Pass
    }

    fn now(&self) -> Option<OffsetDateTime> {
        Some(self.clock.now())
    }

    fn receipt_delay(&self, key: &str) -> Option<StdDuration> {
        // Drawn per update from the scenario's distribution, keyed by its
        // TransaktionIdentifikator: the same seed gives the same delays in any order.
        let mut rng = sim_seed::Rng::keyed(
            self.seed,
            "ksd/receipt_delay",
            sim_seed::hash(key.as_bytes()),
        );
        let d = self.receipt_delay.sample(&mut rng);
        Some(d.unsigned_abs())
    }

    fn duplicate_delivery(&self, program: &str, key: &str) -> bool {
        let now = self.clock.now();
        let seq = sim_seed::hash(key.as_bytes());
        let dup = program == "sp"
            && self
                .plan
                .decide(FaultKind::DuplicateReceipt, &Target::Sp, now, seq)
                .is_some();
        if dup {
            self.tally.hit(FaultKind::DuplicateReceipt, program, now);
        }
        dup
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn receipt_delays_are_drawn_per_update_and_reproducible_ksd2() {
        let hook = |seed| {
            PlanHook {
            seed,
            receipt_delay: sim_scenario::Distribution::Uniform {
                min: time::Duration::milliseconds(100),
                max: time::Duration::seconds(10),
            },
            plan: Arc::new(FaultPlan::new(
                &sim_scenario::parse(
                    "name: t\nseed: 1\nclock: { start: 2026-03-03T09:00:00+01:00, duration: 1m, speed: max }\nvolume: { total: 1 }\n",
                )
                .unwrap(),
            )),
            clock: Clock::manual(time::macros::datetime!(2026-03-03 08:00 UTC)),
            factor: f64::INFINITY,
            seq: AtomicU64::new(0),
            tally: Arc::new(Tally::default()),
        }
        };
        let (a, b) = (hook(7), hook(7));
        let d = |h: &PlanHook, k: &str| h.receipt_delay(k).unwrap();
        assert_eq!(d(&a, "x"), d(&b, "x"), "same seed, same delay");
        let many: std::collections::BTreeSet<_> =
            (0..50).map(|i| d(&a, &format!("tid-{i}"))).collect();
        assert!(many.len() > 40, "drawn per update, not one fixed delay");
        assert!(many
            .iter()
            .all(|x| *x >= StdDuration::from_millis(100) && *x <= StdDuration::from_secs(10)));
    }
}
