//! The fault hook and its tally: receiving-side faults of a scenario, decided inside the
//! programs' fault layers from the seeded plan, KSD's per-update receipt delay (KSD-2), and
//! the vendors' misbehaviour towards KSD's events and extension requests, decided inside
//! their SF2090 and SF2093 flows (`late_extension_answer`, `event_ack_twice`,
//! `unacknowledged_event`; KSD-10, KSD-11).

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

    /// Every (kind, target) with its first and last hit (Unix ms) and count: what a program in
    /// its own process reports through `sim serve`'s control API.
    pub(crate) fn rows(&self) -> Vec<TallyRow> {
        let by = self.by.lock().expect("tally lock");
        by.iter()
            .map(|((kind, target), (first, last, n))| TallyRow {
                kind: kind.clone(),
                target: target.clone(),
                first_unix_ms: (first.unix_timestamp_nanos() / 1_000_000) as i64,
                last_unix_ms: (last.unix_timestamp_nanos() / 1_000_000) as i64,
                count: *n,
            })
            .collect()
    }

    /// Adds another process's hits.
    pub(crate) fn merge(&self, rows: &[TallyRow]) {
        let mut by = self.by.lock().expect("tally lock");
        for r in rows {
            let at = |ms: i64| {
                OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
                    .unwrap_or(OffsetDateTime::UNIX_EPOCH)
            };
            let (first, last) = (at(r.first_unix_ms), at(r.last_unix_ms));
            let e = by
                .entry((r.kind.clone(), r.target.clone()))
                .or_insert((first, last, 0));
            e.0 = e.0.min(first);
            e.1 = e.1.max(last);
            e.2 += r.count;
        }
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

/// One (kind, target) of a tally, as JSON between processes.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct TallyRow {
    /// The fault kind.
    pub kind: String,
    /// Where it hit.
    pub target: String,
    /// First hit, Unix milliseconds (virtual time).
    pub first_unix_ms: i64,
    /// Last hit.
    pub last_unix_ms: i64,
    /// How often.
    pub count: u64,
}

/// The receiving-side faults of a scenario, decided inside the programs' fault layers, KSD's
/// per-update receipt delay, and the vendors' injected misbehaviour towards KSD.
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
    /// Whether the vendor-side fault `kind` hits message `tid` (a TransaktionIdentifikator of
    /// KSD's) at vendor `instance` now, counted when it does. Drawn per message, so every
    /// delivery of one event or request inside a rule's window meets the same fate, and one
    /// outside it none.
    fn vendor_fault(&self, kind: FaultKind, instance: &str, tid: &str) -> bool {
        let now = self.clock.now();
        let seq = sim_seed::hash(tid.as_bytes());
        let target = Target::Vendor(instance.to_string());
        let hit = self.plan.decide(kind, &target, now, seq).is_some();
        if hit {
            self.tally.hit(kind, instance, now);
        }
        hit
    }

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
        "star" => Target::Star,
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
        // SF1612: KSD's push endpoint refuses a delivery (BF-2: it comes again).
        if target == Target::Ksd
            && r.path == sim_ksd::BF_PUSH_PATH
            && hit(FaultKind::PushRefused).is_some()
        {
            self.tally.hit(FaultKind::PushRefused, r.program, now);
            return FaultAction::SoapFault {
                rule: Rule::Bf2,
                text: "injected: KSD's push endpoint refuses the delivery".into(),
            };
        }
        // SF1612: the Beskedfordeler's services are down with it.
        if target == Target::Sp
            && r.path == sim_wire::besked::PLATFORM_PATH
            && self.unavailable("bf")
        {
            return FaultAction::SoapFault {
                rule: Rule::Sp4,
                text: "injected: the Beskedfordeler is down".into(),
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
            Target::Star => FaultKind::SlowStar,
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

    fn unavailable(&self, component: &str) -> bool {
        if component != "bf" {
            return false;
        }
        let now = self.clock.now();
        let down = self
            .plan
            .decide(FaultKind::BrokerDown, &Target::Sp, now, 0)
            .is_some();
        if down {
            self.tally.hit(FaultKind::BrokerDown, "sp", now);
        }
        down
    }

    fn duplicate_delivery(&self, program: &str, key: &str) -> bool {
        let now = self.clock.now();
        let seq = sim_seed::hash(key.as_bytes());
        // SF1612: the Beskedfordeler (`bf`) delivers a message once more; KSD processes it once.
        if program == "bf" {
            let dup = self
                .plan
                .decide(FaultKind::DuplicateDelivery, &Target::Sp, now, seq)
                .is_some();
            if dup {
                self.tally.hit(FaultKind::DuplicateDelivery, "sp", now);
            }
            return dup;
        }
        // The platform (`sp`: it delivers a call to a jobcenter twice) or KSD (`ksd`: it sends
        // what it delivered once more).
        let target = match program {
            "sp" => Target::Sp,
            "ksd" => Target::Ksd,
            _ => return false,
        };
        let dup = self
            .plan
            .decide(FaultKind::DuplicateReceipt, &target, now, seq)
            .is_some();
        if dup {
            self.tally.hit(FaultKind::DuplicateReceipt, program, now);
        }
        dup
    }
}

/// What a simulated vendor does wrong towards KSD (scenario faults; the checkers judge KSD's
/// handling: 63 at the limit and the late answer applied with ADVARSEL KSD-11.SEN, a repeated
/// acknowledgement counted once, an unacknowledged event delivered again).
impl sim_jobcenter::VendorFaultHook for PlanHook {
    fn late_extension_answer(&self, instance: &str, tid: &str) -> bool {
        self.vendor_fault(FaultKind::LateExtensionAnswer, instance, tid)
    }

    fn withhold_acknowledgement(&self, instance: &str, tid: &str) -> bool {
        self.vendor_fault(FaultKind::UnacknowledgedEvent, instance, tid)
    }

    fn acknowledge_twice(&self, instance: &str, tid: &str) -> bool {
        self.vendor_fault(FaultKind::EventAckTwice, instance, tid)
    }
}

/// STAR's own faults (SF1612): `star_cut_sequence` cuts a fetch after k of its n events, k
/// drawn per sequence from the rule's stream, so the platform's job reads a truncated answer
/// and must close the sequence (SP-10).
impl sim_star::StarFaults for PlanHook {
    fn cut_fetch_after(&self, sequence: sim_wire::Uuid, count: u64) -> Option<u64> {
        let now = self.clock.now();
        let seq = sim_seed::hash(sequence.to_string().as_bytes());
        let rule = self
            .plan
            .decide(FaultKind::StarCutSequence, &Target::Star, now, seq)?;
        self.tally.hit(FaultKind::StarCutSequence, "star", now);
        let mut rng = sim_seed::Rng::keyed(self.seed, &format!("faults/{}/cut", rule.name), seq);
        Some(rng.range(0, count.max(1)))
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

    // rules KSD-10, KSD-11: a vendor-side fault hits the instance it targets while its window
    // is open, the same way for every delivery of one message, and is counted per hit.
    #[test]
    fn vendor_faults_hit_their_instance_in_their_window_and_are_tallied_ksd10_ksd11() {
        use sim_jobcenter::VendorFaultHook;
        let scenario = sim_scenario::parse(
            "seed: 2
clock: { start: 2026-03-03T09:00:00+01:00, duration: 1h }
faults:
  - kind: late_extension_answer
    target: schultz-jc
    window: {to: +30m}
  - kind: event_ack_twice
  - kind: unacknowledged_event
    target: kmd-jc
    probability: 0.5
",
        )
        .unwrap();
        let clock = Clock::manual(time::macros::datetime!(2026-03-03 09:10 +01:00));
        let tally = Arc::new(Tally::default());
        let hook = PlanHook {
            seed: 2,
            receipt_delay: scenario.receipt_delay,
            plan: Arc::new(FaultPlan::new(&scenario)),
            clock: clock.clone(),
            factor: f64::INFINITY,
            seq: AtomicU64::new(0),
            tally: tally.clone(),
        };
        assert!(hook.late_extension_answer("schultz-jc", "t-1"));
        assert!(
            !hook.late_extension_answer("kmd-jc", "t-1"),
            "another vendor"
        );
        assert!(
            hook.acknowledge_twice("netcompany-jc", "t-2"),
            "`jobcenter`: any"
        );
        let withheld: Vec<bool> = (0..200)
            .map(|i| hook.withhold_acknowledgement("kmd-jc", &format!("e-{i}")))
            .collect();
        let again: Vec<bool> = (0..200)
            .map(|i| hook.withhold_acknowledgement("kmd-jc", &format!("e-{i}")))
            .collect();
        assert_eq!(withheld, again, "every delivery of an event meets its fate");
        let n = withheld.iter().filter(|w| **w).count();
        assert!((60..=140).contains(&n), "{n} of 200 at 0.5");
        clock.advance(StdDuration::from_secs(30 * 60));
        assert!(
            !hook.late_extension_answer("schultz-jc", "t-1"),
            "window over"
        );
        let by = tally.by.lock().unwrap();
        let hits = |k: FaultKind, t: &str| by.get(&(k.as_str().into(), t.into())).map(|h| h.2);
        assert_eq!(hits(FaultKind::LateExtensionAnswer, "schultz-jc"), Some(1));
        assert_eq!(hits(FaultKind::EventAckTwice, "netcompany-jc"), Some(1));
        assert_eq!(
            hits(FaultKind::UnacknowledgedEvent, "kmd-jc"),
            Some(2 * n as u64)
        );
    }
}
