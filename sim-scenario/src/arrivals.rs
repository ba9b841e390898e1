//! When updates happen: an open-model, non-homogeneous Poisson process.
//!
//! *Open model*: arrivals are scheduled by the calendar, not by answers — a slow KSD does not
//! slow the jobcenters down, it builds a backlog, as in production. Each arrival has an
//! `intended_at`; the runner sends it then (or records how late it managed to), so
//! coordinated omission is visible.
//!
//! **Rate.** For every municipality the rate at instant `t` is `c · w(t)`, where `w(t)` is the
//! profile weight of `t`'s local Copenhagen hour: `hourly[hour] × day factor` (1 on working
//! days, `weekend_factor` on weekends and half days, `holiday_factor` on public holidays).
//! Offsets are whole hours, so the weight is constant on every UTC hour and its integral is a
//! sum.
//!
//! **Normalisation (rule KSD-13).** With `volume: { per_month: N }` (national, default
//! 200,000) each municipality carries `N / 98` per 30-day month, and `c` is chosen so that the
//! expected count over the *reference period* `[start, start + max(duration, 30 d))` is
//! `N / 98 × max(duration, 30 d) / 30 d`. So a 30-day run of all 98 municipalities expects
//! exactly N, a longer one N per 30 days, and a shorter one the share of the 30 days from its
//! start that its hours carry under the profile (an afternoon on a working day gets more than
//! a Sunday night). With `volume: { total: N }` the run's own weight is the reference: exactly
//! N expected over the run, shared equally by the municipalities given.
//!
//! **Sampling.** Lewis–Shedler thinning per municipality: candidates from a homogeneous
//! process at the run's peak rate, each kept with probability `rate(t) / peak`. Each
//! municipality draws from its own stream (`arrivals` keyed by its CVR), so adding a vendor or a
//! municipality, or moving a municipality to another vendor (rule SP-3), leaves the arrival
//! times of every other municipality unchanged. The streams are merged in time order (ties by
//! CVR) and numbered: `seq` 0, 1, 2 ...

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use sim_wire::Cvr;
use time::{Duration, OffsetDateTime, UtcOffset};

use crate::calendar::{day_kind, to_copenhagen, DayKind};
use crate::refdata::MUNICIPALITY_COUNT;
use crate::schema::{Profile, Scenario, Volume, MONTH};
use sim_seed::{sub_seed, Rng};

/// One scheduled SF2095 update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arrival {
    /// Position in the run's time order, from 0: the key of the update's data and of every
    /// fault decision about it.
    pub seq: u64,
    /// When the jobcenter should send it (virtual time, UTC, microsecond precision).
    pub intended_at: OffsetDateTime,
    /// The municipality whose case changed (the AuthorityContext's CVR).
    pub municipality: Cvr,
    /// The vendor instance serving that municipality.
    pub instance: String,
}

/// Profile weights of consecutive UTC hours, from the hour containing some instant.
struct HourTable {
    /// The UTC hour boundary at or before the first instant.
    origin: OffsetDateTime,
    /// Weight of hour `i` = `[origin + i h, origin + (i+1) h)`.
    weights: Vec<f64>,
}

impl HourTable {
    fn new(profile: &Profile, from: OffsetDateTime, to: OffsetDateTime) -> HourTable {
        let utc = from.to_offset(UtcOffset::UTC);
        let origin = utc
            .replace_minute(0)
            .and_then(|t| t.replace_second(0))
            .and_then(|t| t.replace_nanosecond(0))
            .unwrap_or(utc);
        let hours = ((to - origin).whole_seconds().max(0) as u64).div_ceil(3600);
        let weights = (0..hours)
            .map(|i| weight(profile, origin + Duration::hours(i as i64)))
            .collect();
        HourTable { origin, weights }
    }

    /// ∫ w over `[from, to)` in weight-seconds.
    fn integral(&self, from: OffsetDateTime, to: OffsetDateTime) -> f64 {
        let mut sum = 0.0;
        for (i, w) in self.weights.iter().enumerate() {
            let hs = self.origin + Duration::hours(i as i64);
            let he = hs + Duration::HOUR;
            let (s, e) = (hs.max(from), he.min(to));
            if s < e {
                sum += w * (e - s).as_seconds_f64();
            }
        }
        sum
    }
}

/// The profile weight of the local hour containing `t` (SP-8: working days 06–18 carry the
/// peak).
pub fn weight(profile: &Profile, t: OffsetDateTime) -> f64 {
    let local = to_copenhagen(t);
    let day = match day_kind(local.date()) {
        DayKind::Working => 1.0,
        DayKind::Weekend | DayKind::HalfDay(_) => profile.weekend_factor,
        DayKind::Holiday(_) => profile.holiday_factor,
    };
    day * profile.hourly[usize::from(local.hour())]
}

/// One municipality's thinning stream.
struct Stream {
    municipality: Cvr,
    instance: String,
    rng: Rng,
    /// Seconds since the run's start of the last candidate.
    t: f64,
}

/// The arrivals of a run, in time order (an iterator; a month at 200,000 is generated in
/// well under a second).
pub struct Arrivals {
    start: OffsetDateTime,
    /// Run length in seconds.
    length: f64,
    /// Seconds from the table's origin to the run's start.
    phase: f64,
    table: HourTable,
    /// Arrivals per second per unit weight, per municipality.
    c: f64,
    /// Candidate rate per municipality: `c × max weight in the run`.
    peak: f64,
    streams: Vec<Stream>,
    /// (next arrival in µs since start, CVR, stream index).
    heap: BinaryHeap<Reverse<(i64, u32, usize)>>,
    next_seq: u64,
    expected: f64,
}

impl Arrivals {
    /// The arrivals of `scenario` for `municipalities` (CVR, vendor instance) — typically
    /// [`Scenario::assignments`] of the routing. A CVR given twice counts once.
    pub fn new(scenario: &Scenario, municipalities: &[(Cvr, String)]) -> Arrivals {
        Arrivals::with(scenario, scenario.volume, "arrivals", municipalities)
    }

    /// The arrivals of KSD's case intake (`cases:`), with the run's profile, from their own
    /// stream; none when the scenario has no intake.
    pub fn of_cases(scenario: &Scenario, municipalities: &[(Cvr, String)]) -> Arrivals {
        let volume = scenario.cases.map_or(Volume::Total(0), |c| c.volume);
        Arrivals::with(scenario, volume, "case-arrivals", municipalities)
    }

    /// The arrivals of the jobcenters' look-ups (`lookups:`), with the run's profile, from
    /// their own stream; none when the scenario has none.
    pub fn of_lookups(scenario: &Scenario, municipalities: &[(Cvr, String)]) -> Arrivals {
        let volume = scenario.lookups.map_or(Volume::Total(0), |l| l.volume);
        Arrivals::with(scenario, volume, "lookup-arrivals", municipalities)
    }

    /// The arrivals of the jobcenters' KY messages (`ky:`, SF1690), with the run's profile,
    /// from their own stream; none when the scenario has none.
    pub fn of_ky(scenario: &Scenario, municipalities: &[(Cvr, String)]) -> Arrivals {
        let volume = scenario.ky.map_or(Volume::Total(0), |k| k.volume);
        Arrivals::with(scenario, volume, "ky-arrivals", municipalities)
    }

    fn with(
        scenario: &Scenario,
        volume: Volume,
        stream: &str,
        municipalities: &[(Cvr, String)],
    ) -> Arrivals {
        let start = scenario.clock.start;
        let end = scenario.clock.end();
        let profile = &scenario.profile;
        let mut unique: Vec<(Cvr, String)> = Vec::with_capacity(municipalities.len());
        for (cvr, inst) in municipalities {
            if !unique.iter().any(|(c, _)| c == cvr) {
                unique.push((*cvr, inst.clone()));
            }
        }

        let run_table = HourTable::new(profile, start, end);
        let run_weight = run_table.integral(start, end);
        let c = match volume {
            Volume::PerMonth(n) => {
                let reference = scenario.clock.duration.max(MONTH);
                let ref_end = start.saturating_add(reference);
                let ref_weight = if reference == scenario.clock.duration {
                    run_weight
                } else {
                    HourTable::new(profile, start, ref_end).integral(start, ref_end)
                };
                let per_municipality = n as f64 / MUNICIPALITY_COUNT as f64 * (reference / MONTH);
                if ref_weight > 0.0 {
                    per_municipality / ref_weight
                } else {
                    0.0
                }
            }
            Volume::Total(n) => {
                if run_weight > 0.0 && !unique.is_empty() {
                    n as f64 / unique.len() as f64 / run_weight
                } else {
                    0.0
                }
            }
        };
        let max_w = run_table.weights.iter().copied().fold(0.0, f64::max);
        let peak = c * max_w;
        let expected = c * run_weight * unique.len() as f64;
        let phase = (start - run_table.origin).as_seconds_f64();
        let mut arrivals = Arrivals {
            start,
            length: scenario.clock.duration.as_seconds_f64(),
            phase,
            table: run_table,
            c,
            peak,
            streams: Vec::with_capacity(unique.len()),
            heap: BinaryHeap::with_capacity(unique.len()),
            next_seq: 0,
            expected,
        };
        for (i, (cvr, instance)) in unique.into_iter().enumerate() {
            arrivals.streams.push(Stream {
                municipality: cvr,
                instance,
                rng: Rng::from_sub_seed(sub_seed(scenario.seed, stream), u64::from(cvr.value())),
                t: 0.0,
            });
            if let Some(us) = arrivals.advance(i) {
                arrivals.heap.push(Reverse((us, cvr.value(), i)));
            }
        }
        arrivals
    }

    /// The expected number of arrivals over the run (the Poisson mean).
    pub fn expected_total(&self) -> f64 {
        self.expected
    }

    /// The rate (arrivals per second, all given municipalities together) at `t`.
    pub fn rate_at(&self, t: OffsetDateTime) -> f64 {
        let secs = (t - self.start).as_seconds_f64();
        self.c * self.weight_at(secs) * self.streams.len() as f64
    }

    fn weight_at(&self, secs: f64) -> f64 {
        if secs < 0.0 || secs >= self.length {
            return 0.0;
        }
        let i = ((secs + self.phase) / 3600.0).floor() as usize;
        self.table.weights.get(i).copied().unwrap_or(0.0)
    }

    /// Moves stream `i` to its next accepted arrival; µs since start, or `None` at the end.
    fn advance(&mut self, i: usize) -> Option<i64> {
        if self.peak <= 0.0 {
            return None;
        }
        loop {
            let gap = self.streams[i].rng.exp(self.peak);
            let t = self.streams[i].t + gap;
            self.streams[i].t = t;
            if !t.is_finite() || t >= self.length {
                return None;
            }
            let keep = self.c * self.weight_at(t);
            if self.streams[i].rng.f64() * self.peak < keep {
                return Some((t * 1e6).floor() as i64);
            }
        }
    }
}

impl Iterator for Arrivals {
    type Item = Arrival;

    fn next(&mut self) -> Option<Arrival> {
        let Reverse((us, _, i)) = self.heap.pop()?;
        let arrival = Arrival {
            seq: self.next_seq,
            intended_at: self.start.to_offset(UtcOffset::UTC) + Duration::microseconds(us),
            municipality: self.streams[i].municipality,
            instance: self.streams[i].instance.clone(),
        };
        self.next_seq += 1;
        if let Some(next) = self.advance(i) {
            self.heap
                .push(Reverse((next, arrival.municipality.value(), i)));
        }
        Some(arrival)
    }
}
