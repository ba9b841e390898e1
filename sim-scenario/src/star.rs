//! STAR's event stream (SF1612): when sick-leave status changes reach STAR's queue, and what
//! each one says — the events the simulated STAR serves to the platform's job (SP-10).
//!
//! **When (rule KSD-13).** 90,000 events per 30-day month by default, shaped by the run's
//! working-day profile with the same machinery as the SF2095 updates ([`crate::arrivals`]:
//! thinning per municipality stream, merged in time order), from streams of their own
//! (`star/arrivals`). A stream without an end (a standalone STAR) is generated month after
//! month: 30-day windows from its start, each from its own keyed sub-stream, so the first
//! month is the same whether the stream ends after it or not. `Volume::Total(n)` spreads `n`
//! over the stream's span (30 days when it has no end).
//!
//! **What.** Each event is about one person of a population of `population` persons
//! ([`star_person`]: person `k`'s CPR is a pure function of `(seed, k)`, so KSD's case intake
//! can draw the same persons), chosen uniformly. A person's successive events tell one
//! coherent story: a sick leave starts (its first day up to two weeks before the report),
//! may have its first day corrected (`IsStartDateUpdated`) or be reported again, ends
//! (`IsIllnessEnded`, with its last day), may have that last day corrected
//! (`IsEndDateUpdated`), and a later event starts the next sick leave after it. Never a day in
//! the future of the event, never a start after the end. Each event's draws come from the
//! stream `star/event` keyed by its `seq`; the story is carried from one event of the person to
//! the next, so the stream is generated in order from its start (like [`crate::Arrivals`]) and
//! replays identically for the same seed.
//!
//! **Who registered it.** The authority is the jobcenter of the person's residence
//! municipality in the simulated CPR register ([`sim_wire::municipalities::residence_of`]:
//! `AuthorityCode` = kommunekode, `AuthorityName` = the municipality's name); a person with no
//! known residence gets [`NON_MUNICIPAL_AUTHORITY`]. Case workers have Danish names, often
//! with æ, ø or å (the event travels ISO-8859-1); one in ten events comes from STAR's batch job,
//! as in seed 004's example.
//!
//! **Ids.** `MessageIdentifier` is a version-7-layout UUID: the event's time in its first 48
//! bits, seeded bits after, so ids grow with time like the update ids (see `data`).
//! `NemRefusionIdentifier` is drawn once per sick leave (85 % have one) and kept by every
//! event of it.
//!
//! Pure: no IO, no clock; every time is a parameter or derived from the stream's start.

use std::collections::HashMap;

use sim_seed::{key_seed, sub_seed, Rng};
use sim_wire::star::{
    AuthorityStructure, CaseWorkerStructure, Illness, IllnessUpdateRegistration, RequestMetadata,
};
use sim_wire::{Cpr, Cvr, Dato, DatoTid, Uuid};
use time::{Date, Duration, Month, OffsetDateTime, UtcOffset};

use crate::arrivals::Arrivals;
use crate::calendar::to_copenhagen;
use crate::schema::{Profile, Scenario, Volume, MONTH};

/// KSD-13: STAR's sick-leave statuses per 30-day month.
pub const DEFAULT_PER_MONTH: u64 = 90_000;

/// How many persons the events are about unless told otherwise (the scenario's default too).
pub const DEFAULT_POPULATION: u64 = 10_000;

/// The authority of an event about a person with no known residence municipality (defined
/// here; STAR's own code list is not public): code 0, STAR itself.
pub const NON_MUNICIPAL_AUTHORITY: (u32, &str, &str) =
    (0, "Styrelsen for Arbejdsmarked og Rekruttering", "Styrelse");

/// Everything STAR's stream follows from.
#[derive(Debug, Clone, PartialEq)]
pub struct StarStream {
    /// The run's seed; the stream's sub-streams are `star/arrivals`, `star/event` and
    /// `star/person`.
    pub seed: u64,
    /// The first instant an event may happen.
    pub start: OffsetDateTime,
    /// The instant no event reaches (exclusive); `None`: month after month without end.
    pub end: Option<OffsetDateTime>,
    /// How many events: per 30-day month (KSD-13: 90,000) or in total.
    pub volume: Volume,
    /// How many persons they are about (at least 1).
    pub population: u64,
    /// When in the week and the day they happen.
    pub profile: Profile,
}

impl StarStream {
    /// 90,000 a month about 10,000 persons from `start`, without end, on the default profile.
    pub fn new(seed: u64, start: OffsetDateTime) -> StarStream {
        StarStream {
            seed,
            start,
            end: None,
            volume: Volume::PerMonth(DEFAULT_PER_MONTH),
            population: DEFAULT_POPULATION,
            profile: Profile::default(),
        }
    }

    /// The stream of a scenario's `star:` section over the run's time; `None` without one.
    pub fn of_scenario(scenario: &Scenario) -> Option<StarStream> {
        let star = scenario.star?;
        Some(StarStream {
            seed: scenario.seed,
            start: scenario.clock.start,
            end: Some(scenario.clock.end()),
            volume: star.volume,
            population: star.population,
            profile: scenario.profile.clone(),
        })
    }

    /// The events, in time order, numbered from 0.
    pub fn events(&self) -> StarEvents {
        StarEvents {
            stream: self.clone(),
            window: 0,
            arrivals: None,
            next_seq: 0,
            persons: HashMap::new(),
            event_seed: sub_seed(self.seed, "star/event"),
            done: false,
        }
    }
}

/// One event of STAR's stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StarEvent {
    /// Position in the stream, from 0.
    pub seq: u64,
    /// When it reaches STAR's queue (virtual time, UTC): not before may it be handed out.
    pub at: OffsetDateTime,
    /// Index of the person in the population (`star_person(seed, person)` is its CPR).
    pub person: u64,
    /// What STAR serves.
    pub registration: IllnessUpdateRegistration,
}

/// The CPR number of person `k` (0-based) of STAR's population under `seed`: a pure function,
/// so KSD's case intake can draw persons STAR reports on (`star_person(seed, rng.range(0,
/// population))`). Distinct persons have distinct numbers (for `k` below 57 million): born
/// 1961–1999 (so 27–65 years old in 2026), the 7th digit 0–3 as the CPR office's table has it
/// for the 1900s.
pub fn star_person(seed: u64, k: u64) -> Cpr {
    /// Days from 1961-01-01 to 1999-12-31.
    const DAYS: u64 = 14_245;
    /// Serials per day with a 7th digit of 0–3.
    const SERIALS: u64 = 4_000;
    let s = sub_seed(seed, "star/person");
    // Two permutations (multipliers coprime with their moduli): consecutive persons spread
    // over the birth dates, each day's persons over the serials.
    let day = (k % DAYS * 7_919 + s % DAYS) % DAYS;
    let serial = ((k / DAYS) % SERIALS * 1_237 + (s >> 32) % SERIALS) % SERIALS;
    let first = Date::from_calendar_date(1961, Month::January, 1).unwrap_or(Date::MIN);
    let birth = first
        .checked_add(Duration::days(day as i64))
        .unwrap_or(first);
    let text = format!(
        "{:02}{:02}{:02}{:04}",
        birth.day(),
        u8::from(birth.month()),
        birth.year().rem_euclid(100),
        serial
    );
    text.parse().unwrap_or_else(|_| {
        // Unreachable: the date is real and 1900s births take 7th digits 0–3.
        "0101610000".parse().expect("a valid CPR literal")
    })
}

/// Where a person's sick leave stands, carried from one of their events to the next.
#[derive(Debug, Clone)]
struct SickLeave {
    /// The earliest first day it may have: the day after the person's previous sick leave.
    earliest: Option<Date>,
    start: Date,
    end: Option<Date>,
    nem_refusion: Option<Uuid>,
    absence_cause: u32,
    contact_group: u32,
}

/// The events of a [`StarStream`], in time order (an iterator).
pub struct StarEvents {
    stream: StarStream,
    /// The 30-day window being generated.
    window: u64,
    /// Its arrivals, once started.
    arrivals: Option<Arrivals>,
    next_seq: u64,
    /// Each person's latest sick leave.
    persons: HashMap<u64, SickLeave>,
    event_seed: u64,
    done: bool,
}

impl Iterator for StarEvents {
    type Item = StarEvent;

    fn next(&mut self) -> Option<StarEvent> {
        loop {
            if self.done {
                return None;
            }
            if let Some(a) = self.arrivals.as_mut().and_then(Iterator::next) {
                let seq = self.next_seq;
                self.next_seq += 1;
                return Some(self.event(seq, a.intended_at));
            }
            match self.window_arrivals(self.window) {
                Some(a) => {
                    self.arrivals = Some(a);
                    self.window += 1;
                }
                None => self.done = true,
            }
        }
    }
}

impl StarEvents {
    /// The arrivals of window `w`: `[start + w·30 d, start + (w+1)·30 d)` cut at the end, or
    /// `None` past the end (or when no event can ever come).
    fn window_arrivals(&self, w: u64) -> Option<Arrivals> {
        let s = &self.stream;
        let (volume, length) = match (s.volume, s.end) {
            (Volume::PerMonth(0), _) | (Volume::Total(0), _) => return None,
            (Volume::PerMonth(_), _) => (s.volume, MONTH),
            // A total is spread over the whole span: one window.
            (Volume::Total(_), end) if w == 0 => (
                s.volume,
                end.map_or(MONTH, |e| (e - s.start).max(Duration::ZERO)),
            ),
            (Volume::Total(_), _) => return None,
        };
        let from = s
            .start
            .checked_add(length.checked_mul(i32::try_from(w).ok()?)?)?;
        let mut to = from.checked_add(length)?;
        if let Some(end) = s.end {
            to = to.min(end);
        }
        if to <= from {
            return None;
        }
        let mut scenario = template();
        scenario.seed = key_seed(sub_seed(s.seed, "star/arrivals"), w);
        scenario.clock.start = from;
        scenario.clock.duration = to - from;
        scenario.volume = volume;
        scenario.profile = s.profile.clone();
        let all: Vec<(Cvr, String)> = sim_wire::municipalities::municipalities()
            .iter()
            .map(|m| (m.cvr, "star".to_string()))
            .collect();
        Some(Arrivals::new(&scenario, &all))
    }

    /// Event `seq` at `at`: the next step of a person's story.
    fn event(&mut self, seq: u64, at: OffsetDateTime) -> StarEvent {
        let mut rng = Rng::from_sub_seed(self.event_seed, seq);
        let person = rng.range(0, self.stream.population.max(1));
        let cpr = star_person(self.stream.seed, person);
        let at = at.to_offset(UtcOffset::UTC);
        let at = at.replace_nanosecond(0).unwrap_or(at);
        let today = to_copenhagen(at).date();
        let previous = self.persons.get(&person).cloned();
        let step = next_step(&mut rng, previous, today);
        self.persons.insert(person, step.leave.clone());
        let registration = IllnessUpdateRegistration {
            request_metadata: RequestMetadata {
                event_date: DatoTid(at),
                case_worker: case_worker(&mut rng, &cpr),
                authority: authority(&cpr),
            },
            person_civil_registration_identifier: cpr,
            is_illness_ended: step.leave.end.is_some(),
            is_start_date_updated: step.start_updated,
            is_end_date_updated: step.end_updated,
            contact_group_type_identifier: step.leave.contact_group,
            illness: Illness {
                illness_start_date: Dato(step.leave.start),
                illness_end_date: step.leave.end.map(Dato),
                absence_cause_type_identifier: step.leave.absence_cause,
                message_identifier: uuid_v7(at, &mut rng),
                nem_refusion_identifier: step.leave.nem_refusion,
                notification_date: Dato(today),
            },
        };
        StarEvent {
            seq,
            at,
            person,
            registration,
        }
    }
}

/// A scenario of defaults to drive [`Arrivals`] with: only its seed, clock, volume and profile
/// are used.
fn template() -> Scenario {
    crate::schema::parse("").expect("an empty scenario is a scenario of defaults")
}

/// What one event does to a person's sick leave.
struct Step {
    leave: SickLeave,
    start_updated: bool,
    end_updated: bool,
}

/// The next step of a person's story on `today`, after `previous` (their latest sick leave).
fn next_step(rng: &mut Rng, previous: Option<SickLeave>, today: Date) -> Step {
    match previous {
        // Ongoing: it ends (more likely the longer it lasted), its first day is corrected,
        // or it is reported again unchanged.
        Some(mut leave) if leave.end.is_none() => {
            let age = (today - leave.start).whole_days().max(0) as f64;
            let p_end = (0.3 + age / 60.0).min(0.85);
            let x = rng.f64();
            if x < p_end {
                let back = rng.range(0, 8) as i64;
                leave.end = Some(days(today, -back).max(leave.start));
                Step {
                    leave,
                    start_updated: false,
                    end_updated: false,
                }
            } else if x < p_end + 0.15 {
                let shift = rng.range(1, 6) as i64;
                let moved = if rng.chance(0.5) {
                    let back = days(leave.start, -shift);
                    leave.earliest.map_or(back, |e| back.max(e))
                } else {
                    days(leave.start, shift).min(today)
                };
                let start_updated = moved != leave.start;
                leave.start = moved;
                Step {
                    leave,
                    start_updated,
                    end_updated: false,
                }
            } else {
                Step {
                    leave,
                    start_updated: false,
                    end_updated: false,
                }
            }
        }
        // Ended: now and then its last day is corrected; otherwise a new sick leave begins.
        Some(mut leave) if rng.chance(0.12) => {
            let end = leave.end.unwrap_or(leave.start);
            let shift = rng.range(1, 4) as i64;
            let moved = if rng.chance(0.5) {
                days(end, -shift).max(leave.start)
            } else {
                days(end, shift).min(today)
            };
            let end_updated = moved != end;
            leave.end = Some(moved);
            Step {
                leave,
                start_updated: false,
                end_updated,
            }
        }
        // Ended today: too soon for the next sick leave; the end is reported again.
        Some(leave) if leave.end.is_some_and(|e| e >= today) => Step {
            leave,
            start_updated: false,
            end_updated: false,
        },
        previous => {
            let after = previous.and_then(|p| p.end).map(|e| days(e, 1));
            let lag = (rng.lognormal(1.0, 0.9).floor() as i64).clamp(0, 14);
            let mut start = days(today, -lag);
            if let Some(a) = after {
                start = start.max(a);
            }
            Step {
                leave: SickLeave {
                    earliest: after,
                    start,
                    end: None,
                    nem_refusion: rng.chance(0.85).then(|| uuid_v4(rng)),
                    absence_cause: pick(rng, &[(1, 80.0), (2, 10.0), (3, 6.0), (4, 4.0)]),
                    contact_group: pick(
                        rng,
                        &[
                            (24, 40.0),
                            (1, 20.0),
                            (2, 15.0),
                            (3, 10.0),
                            (25, 10.0),
                            (26, 5.0),
                        ],
                    ),
                },
                start_updated: false,
                end_updated: false,
            }
        }
    }
}

fn days(d: Date, n: i64) -> Date {
    d.checked_add(Duration::days(n)).unwrap_or(d)
}

fn pick(rng: &mut Rng, weighted: &[(u32, f64)]) -> u32 {
    let weights: Vec<f64> = weighted.iter().map(|(_, w)| *w).collect();
    rng.choose_weighted(&weights)
        .and_then(|i| weighted.get(i))
        .map_or(weighted[0].0, |(v, _)| *v)
}

/// Given names, many with the letters ISO-8859-1 must carry.
const GIVEN: &[&str] = &[
    "Anne", "Søren", "Mette", "Jørgen", "Åse", "Bjørn", "Lærke", "Ærtur", "Karen", "Mads",
    "Sørine", "Øjvind", "Helle", "Jens", "Birthe", "Frederik",
];
const MIDDLE: &[&str] = &["Ørum", "Dam", "Skovgård", "Holm", "Bæk", "Lund"];
const SURNAMES: &[&str] = &[
    "Jensen",
    "Nielsen",
    "Hansen",
    "Pedersen",
    "Sørensen",
    "Møller",
    "Kjærgaard",
    "Bækgård",
    "Østergaard",
    "Aagaard",
    "Grøn",
    "Thomsen",
    "Rasmussen",
    "Løvgreen",
];

/// Who registered the change: a case worker of the person's jobcenter, or (one in ten) STAR's
/// batch job as in seed 004's example.
fn case_worker(rng: &mut Rng, cpr: &Cpr) -> CaseWorkerStructure {
    let cvr = sim_wire::municipalities::residence_of(cpr)
        .map_or_else(|| "12345678".to_string(), |m| m.cvr.to_string());
    if rng.chance(0.1) {
        return CaseWorkerStructure {
            given_name: "TASS".into(),
            middle_name: Some("Batch".into()),
            surname: "Job".into(),
            rid: format!("CVR:{cvr}-RID:0000000000001"),
        };
    }
    let given_name = of(rng, GIVEN).to_string();
    let middle_name = rng.chance(0.4).then(|| of(rng, MIDDLE).to_string());
    let surname = of(rng, SURNAMES).to_string();
    CaseWorkerStructure {
        given_name,
        middle_name,
        surname,
        rid: format!("CVR:{cvr}-RID:{:013}", rng.range(1, 10_000_000_000_000)),
    }
}

/// One of `list`, uniformly.
fn of(rng: &mut Rng, list: &[&'static str]) -> &'static str {
    list.get(rng.range(0, list.len() as u64) as usize)
        .copied()
        .unwrap_or_default()
}

/// The jobcenter of the person's residence municipality; STAR for someone without one.
fn authority(cpr: &Cpr) -> AuthorityStructure {
    match sim_wire::municipalities::residence_of(cpr) {
        Some(m) => AuthorityStructure {
            authority_code: u32::from(m.kode),
            authority_name: m.navn.clone(),
            authority_type: "Jobcenter".into(),
        },
        None => {
            let (code, name, kind) = NON_MUNICIPAL_AUTHORITY;
            AuthorityStructure {
                authority_code: code,
                authority_name: name.into(),
                authority_type: kind.into(),
            }
        }
    }
}

fn uuid_v4(rng: &mut Rng) -> Uuid {
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&rng.u64().to_be_bytes());
    bytes[8..].copy_from_slice(&rng.u64().to_be_bytes());
    Uuid::from_bytes(bytes)
}

/// A version-7-layout UUID: `at`'s Unix milliseconds in the first 48 bits, seeded bits after.
fn uuid_v7(at: OffsetDateTime, rng: &mut Rng) -> Uuid {
    let ms = u64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(0);
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&rng.u64().to_be_bytes());
    bytes[8..].copy_from_slice(&rng.u64().to_be_bytes());
    bytes[..6].copy_from_slice(&ms.to_be_bytes()[2..]);
    bytes[6] = (bytes[6] & 0x0f) | 0x70;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    Uuid::from_bytes_exact(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn start() -> OffsetDateTime {
        time::macros::datetime!(2026-03-02 00:00 +01:00)
    }

    fn week(seed: u64) -> StarStream {
        StarStream {
            end: Some(start() + Duration::days(7)),
            ..StarStream::new(seed, start())
        }
    }

    #[test]
    fn persons_are_distinct_valid_and_a_function_of_seed_and_index() {
        let a: Vec<Cpr> = (0..50_000).map(|k| star_person(7, k)).collect();
        let distinct: HashSet<_> = a.iter().collect();
        assert_eq!(distinct.len(), a.len(), "no two persons share a CPR");
        assert_eq!(star_person(7, 123), a[123]);
        assert_ne!(star_person(8, 123), a[123], "another seed, other persons");
        for c in &a[..1000] {
            let y = c.birth_date().year();
            assert!((1961..=1999).contains(&y), "{c}: {y}");
        }
    }

    /// KSD-13: a 30-day month carries 90,000 events in expectation; a week its share, most of
    /// it on working days.
    #[test]
    fn a_month_carries_the_monthly_volume_ksd13() {
        let month = StarStream {
            end: Some(start() + MONTH),
            ..StarStream::new(1, start())
        };
        let n = month.events().count() as f64;
        assert!((n - 90_000.0).abs() < 1_500.0, "{n}");
        let events: Vec<_> = week(1).events().collect();
        assert!(events
            .windows(2)
            .all(|w| w[0].at <= w[1].at && w[0].seq + 1 == w[1].seq));
        let weekend = events
            .iter()
            .filter(|e| to_copenhagen(e.at).weekday().number_from_monday() >= 6)
            .count();
        assert!(weekend * 10 < events.len(), "{weekend} of {}", events.len());
        assert!(events
            .iter()
            .all(|e| e.at >= start() && e.at < start() + Duration::days(7)));
    }

    #[test]
    fn the_same_seed_gives_the_same_events_and_another_seed_others() {
        let a: Vec<_> = week(5).events().take(500).collect();
        let b: Vec<_> = week(5).events().take(500).collect();
        assert_eq!(a, b);
        let c: Vec<_> = week(6).events().take(500).collect();
        assert_ne!(a[0].registration, c[0].registration);
        // An unbounded stream's first month is the bounded one's.
        let unbounded: Vec<_> = StarStream::new(5, start()).events().take(500).collect();
        assert_eq!(a, unbounded);
        let ids: HashSet<_> = a
            .iter()
            .map(|e| e.registration.illness.message_identifier)
            .collect();
        assert_eq!(ids.len(), a.len(), "MessageIdentifier is unique");
    }

    /// A person's events tell one story: days never in the future of the event, never an end
    /// before the start, a new sick leave only after the last one ended, and a NemRefusion id
    /// kept within a sick leave.
    #[test]
    fn a_persons_successive_events_are_coherent() {
        let stream = StarStream {
            population: 300,
            end: Some(start() + MONTH),
            ..StarStream::new(3, start())
        };
        let mut last: HashMap<u64, IllnessUpdateRegistration> = HashMap::new();
        let (mut starts, mut ends, mut start_updates, mut end_updates) = (0, 0, 0, 0);
        for e in stream.events().take(20_000) {
            let r = &e.registration;
            let today = to_copenhagen(e.at).date();
            let i = &r.illness;
            assert!(i.illness_start_date.0 <= today, "{e:?}");
            assert_eq!(r.is_illness_ended, i.illness_end_date.is_some());
            if let Some(end) = i.illness_end_date {
                assert!(end.0 >= i.illness_start_date.0 && end.0 <= today, "{e:?}");
            }
            assert_eq!(i.notification_date.0, today);
            match last.get(&e.person) {
                None => starts += 1,
                Some(p) => {
                    let same_leave = p.illness.nem_refusion_identifier == i.nem_refusion_identifier
                        && p.illness.absence_cause_type_identifier
                            == i.absence_cause_type_identifier
                        && (p.illness.illness_start_date == i.illness_start_date
                            || r.is_start_date_updated);
                    match (p.is_illness_ended, r.is_illness_ended) {
                        // Ongoing stays ongoing or ends: the same sick leave.
                        (false, _) => assert!(same_leave, "{p:?}\n{r:?}"),
                        // Ended stays ended: its last day corrected, or reported again.
                        (true, true) => {
                            assert!(same_leave, "{p:?}\n{r:?}");
                            if r.is_end_date_updated {
                                end_updates += 1;
                            } else {
                                assert_eq!(p.illness.illness_end_date, i.illness_end_date);
                            }
                        }
                        // A new one begins after the last ended.
                        (true, false) => {
                            let prev_end = p.illness.illness_end_date.unwrap();
                            assert!(i.illness_start_date > prev_end, "{p:?}\n{r:?}");
                            starts += 1;
                        }
                    }
                    if !p.is_illness_ended && r.is_illness_ended {
                        ends += 1;
                    }
                    if r.is_start_date_updated {
                        start_updates += 1;
                    }
                }
            }
            assert_eq!(
                r.person_civil_registration_identifier,
                star_person(3, e.person)
            );
            last.insert(e.person, r.clone());
        }
        for (what, n) in [
            ("starts", starts),
            ("ends", ends),
            ("start updates", start_updates),
            ("end updates", end_updates),
        ] {
            assert!(n > 100, "{what}: {n}");
        }
    }

    /// The authority is the residence municipality's jobcenter (SP-11's register); names need
    /// ISO-8859-1 now and then and always fit it.
    #[test]
    fn authorities_follow_the_cpr_register_and_names_fit_latin_1() {
        let events: Vec<_> = week(9).events().take(3_000).collect();
        let mut danish = 0;
        for e in &events {
            let r = &e.registration;
            let a = &r.request_metadata.authority;
            match sim_wire::municipalities::residence_of(&r.person_civil_registration_identifier) {
                Some(m) => assert_eq!(
                    (a.authority_code, &a.authority_name),
                    (u32::from(m.kode), &m.navn)
                ),
                None => assert_eq!(a.authority_code, NON_MUNICIPAL_AUTHORITY.0),
            }
            let cw = &r.request_metadata.case_worker;
            let text = format!(
                "{}{:?}{}{}",
                cw.given_name, cw.middle_name, cw.surname, a.authority_name
            );
            if text.chars().any(|c| "æøåÆØÅ".contains(c)) {
                danish += 1;
            }
            let doc = sim_wire::star::event_document(r).unwrap();
            assert_eq!(&sim_wire::star::read_event_document(&doc).unwrap(), r);
        }
        assert!(danish > 300, "{danish}");
    }

    #[test]
    fn a_total_is_spread_over_the_span_and_nothing_comes_without_volume() {
        let total = StarStream {
            volume: Volume::Total(500),
            ..week(2)
        };
        let n = total.events().count();
        assert!((400..600).contains(&n), "{n}");
        let none = StarStream {
            volume: Volume::PerMonth(0),
            end: None,
            ..week(2)
        };
        assert_eq!(none.events().count(), 0);
    }
}
