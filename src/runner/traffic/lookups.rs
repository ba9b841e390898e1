//! The jobcenters' SF2096 look-ups (`lookups:`, KSD-12): at their arrival times each asks
//! KSD, through the platform, about a case — in its own municipality's security context,
//! with its own certificate ([`sim_jobcenter::Jobcenter::lookup`]).
//!
//! An honest look-up names a key of its own municipality that the run has seen; an
//! adversarial one (the scenario's `adversarial` share) names another municipality's: a real
//! SagIdentifikator or NemRefusionIdentifier from KSD's intake or the updates, a real CPR
//! (`HentSagsListe`), or a guessed key. KSD must answer those exactly like keys nobody has;
//! the checker `no-cross-municipality-read` judges every answer, and this module counts what
//! came back.
//!
//! Randomness is the scenario's (stream `lookups`, keyed by the look-up's sequence number);
//! the pool of known keys is what the run has produced by the look-up's time. Look-ups of
//! an instance whose seat an outside system takes are not made (it is not ours to drive).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use sim_jobcenter::{Lookup, LookupOutcome};
use sim_scenario::{Arrivals, Scenario};
use sim_seed::Rng;
use sim_store::{Clock, Outcome};
use sim_wire::{Cpr, Cvr, Dato, HentSag, HentSagsListe, Uuid};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::Jc;

/// At most this many keys of each kind are kept per municipality (a month's updates would
/// otherwise keep hundreds of thousands of CPRs for no better aim).
const KEEP: usize = 2_000;

/// How many look-ups may be in flight at once (each is one synchronous round trip).
const IN_FLIGHT: usize = 32;

/// Keys of one municipality's cases the run has seen.
#[derive(Default)]
struct Keys {
    cases: Pool<Uuid>,
    nem_refusion: Pool<Uuid>,
    cprs: Pool<Cpr>,
}

/// Keys of one kind, in the order first seen, each once, at most [`KEEP`].
struct Pool<T> {
    items: Vec<T>,
    seen: std::collections::HashSet<T>,
}

impl<T> Default for Pool<T> {
    fn default() -> Self {
        Pool {
            items: Vec::new(),
            seen: std::collections::HashSet::new(),
        }
    }
}

impl<T: Copy + Eq + std::hash::Hash> Pool<T> {
    fn push(&mut self, x: T) {
        if self.items.len() < KEEP && self.seen.insert(x) {
            self.items.push(x);
        }
    }
}

/// Every key the run has seen, by municipality: fed by the intake (case ids from KSD's
/// answers) and the updates (CPRs and NemRefusion ids of the cases they create or name).
#[derive(Default)]
pub(crate) struct Known {
    by_municipality: BTreeMap<Cvr, Keys>,
}

impl Known {
    fn keys(&mut self, m: Cvr) -> &mut Keys {
        self.by_municipality.entry(m).or_default()
    }

    /// A case KSD created for `m`.
    pub(crate) fn case(&mut self, m: Cvr, sag: Uuid, nem_refusion: Option<Uuid>, cpr: Cpr) {
        let k = self.keys(m);
        k.cases.push(sag);
        if let Some(n) = nem_refusion {
            k.nem_refusion.push(n);
        }
        k.cprs.push(cpr);
    }

    /// A person (and NemRefusion id) an update of `m` named.
    pub(crate) fn person(&mut self, m: Cvr, cpr: Cpr, nem_refusion: Option<Uuid>) {
        let k = self.keys(m);
        k.cprs.push(cpr);
        if let Some(n) = nem_refusion {
            k.nem_refusion.push(n);
        }
    }
}

/// What a look-up was aimed at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Aim {
    /// A SagIdentifikator the run has seen.
    Case,
    /// A NemRefusionIdentifier the run has seen.
    NemRefusion,
    /// A CPR the run has seen (`HentSagsListe`).
    Person,
    /// A key made up (a typo, a guess).
    Guess,
}

/// What the look-ups got back.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct LookupTally {
    /// Look-ups made.
    pub(crate) sent: u64,
    /// Of them, aimed at other municipalities' keys.
    pub(crate) adversarial: u64,
    /// Answered with at least one case.
    pub(crate) found: u64,
    /// Answered "no such case" (FEJL `KSD-12.UKENDT`) or an empty list.
    pub(crate) none: u64,
    /// Answers holding another municipality's case (KSD-12: must stay 0).
    pub(crate) leaked: u64,
    /// No answer (a fault, the platform unreachable) or a refusal (another FEJL).
    pub(crate) failed: u64,
    /// Adversarial look-ups by aim: a real case id, NemRefusion id or CPR of another
    /// municipality, or a guess.
    pub(crate) aimed: [u64; 4],
    /// Real (wall-clock) round trips of the answered look-ups, milliseconds.
    pub(crate) round_trips: super::RoundTrips,
}

impl LookupTally {
    /// The report's totals.
    pub(crate) fn totals(&self) -> sim_report::LookupTotals {
        sim_report::LookupTotals {
            sent: self.sent,
            adversarial: self.adversarial,
            found: self.found,
            none: self.none,
            leaked: self.leaked,
            failed: self.failed,
            aimed_at_cases: self.aimed[Aim::Case as usize],
            aimed_at_nem_refusion: self.aimed[Aim::NemRefusion as usize],
            aimed_at_persons: self.aimed[Aim::Person as usize],
            guessed: self.aimed[Aim::Guess as usize],
            p50_ms: self.round_trips.quantile_ms(0.5),
            p99_ms: self.round_trips.quantile_ms(0.99),
        }
    }
}

impl LookupTally {
    fn count(&mut self, adversarial: Option<Aim>, o: &LookupOutcome) {
        self.sent += 1;
        if let Some(aim) = adversarial {
            self.adversarial += 1;
            self.aimed[aim as usize] += 1;
        }
        if o.foreign() > 0 {
            self.leaked += 1;
        }
        let unknown = o.fejl_koder.iter().any(|k| k == "KSD-12.UKENDT");
        match &o.outcome {
            Outcome::Ok if !o.cases.is_empty() => self.found += 1,
            Outcome::Ok => self.none += 1,
            // "No such case of yours" is an answer; another FEJL is a refusal.
            Outcome::Fejl if unknown => self.none += 1,
            _ => self.failed += 1,
        }
    }
}

/// Everything the driver needs.
pub(crate) struct Driver {
    pub(crate) scenario: Scenario,
    pub(crate) assignments: Vec<(Cvr, String)>,
    pub(crate) clock: Clock,
    pub(crate) jc: Jc,
    pub(crate) known: Arc<Mutex<Known>>,
    pub(crate) tally: Arc<Mutex<LookupTally>>,
    /// Instances an outside system takes the seat of.
    pub(crate) seated: Vec<String>,
}

/// Makes every look-up of the scenario at its time (virtual), at most [`IN_FLIGHT`] at once;
/// returns when the last one has been answered.
pub(crate) async fn drive(d: Driver) {
    let Some(spec) = d.scenario.lookups else {
        return;
    };
    let permits = Arc::new(Semaphore::new(IN_FLIGHT));
    let mut tasks = JoinSet::new();
    for a in Arrivals::of_lookups(&d.scenario, &d.assignments) {
        if d.seated.contains(&a.instance) {
            continue;
        }
        d.clock.sleep_until(a.intended_at).await;
        let mut rng = Rng::keyed(d.scenario.seed, "lookups", a.seq);
        let adversarial = rng.chance(spec.adversarial);
        let list = rng.chance(spec.list_share);
        let today = sim_scenario::calendar::to_copenhagen(a.intended_at).date();
        let (query, aimed) = {
            let mut known = d.known.lock().expect("known keys lock");
            aim(
                &mut known,
                &mut rng,
                a.municipality,
                adversarial,
                list,
                today,
            )
        };
        let adversarial = adversarial.then_some(aimed);
        let Ok(permit) = permits.clone().acquire_owned().await else {
            return;
        };
        let (jc, tally, instance, m) = (d.jc.clone(), d.tally.clone(), a.instance, a.municipality);
        tasks.spawn(async move {
            let began = std::time::Instant::now();
            let outcome = jc.lookup(instance, m, query).await;
            let took = began.elapsed().as_millis() as u64;
            let mut t = tally.lock().expect("lookup tally lock");
            match outcome {
                Ok(Ok(o)) => {
                    // A round trip is an answer's: a case, a list or a receipt.
                    if matches!(o.outcome, Outcome::Ok | Outcome::Fejl) {
                        t.round_trips.push(took);
                    }
                    t.count(adversarial, &o)
                }
                // A crashed jobcenter or a refused request: made, not answered.
                _ => {
                    let o = LookupOutcome {
                        outcome: Outcome::Unreachable,
                        cases: Vec::new(),
                        municipality: String::new(),
                        fault: Some("not made".into()),
                        fejl_koder: Vec::new(),
                    };
                    t.count(adversarial, &o);
                }
            }
            drop(permit);
        });
        while tasks.try_join_next().is_some() {}
    }
    while tasks.join_next().await.is_some() {}
}

/// The look-up to make: a key of `own` (honest) or of another municipality (adversarial),
/// real when the run has seen one, else guessed.
fn aim(
    known: &mut Known,
    rng: &mut Rng,
    own: Cvr,
    adversarial: bool,
    list: bool,
    today: time::Date,
) -> (Lookup, Aim) {
    let whose = if adversarial {
        let others: Vec<Cvr> = known
            .by_municipality
            .keys()
            .copied()
            .filter(|m| *m != own)
            .collect();
        // One in ten adversarial look-ups guesses; the rest aim at a real key elsewhere.
        if rng.chance(0.1) || others.is_empty() {
            None
        } else {
            rng.choose(&others).copied()
        }
    } else {
        Some(own).filter(|m| known.by_municipality.contains_key(m))
    };
    let keys = whose.and_then(|m| known.by_municipality.get(&m));
    if list {
        let real = keys.and_then(|k| rng.choose(&k.cprs.items).copied());
        let aim = if real.is_some() {
            Aim::Person
        } else {
            Aim::Guess
        };
        let cpr = real.unwrap_or_else(|| guessed_cpr(rng));
        let q = Lookup::Liste(HentSagsListe {
            sygemeldte_part: Some(cpr),
            periode_fra: None,
            periode_til: Some(Dato(today)),
        });
        return (q, aim);
    }
    let by_nr = rng.chance(0.3);
    let key = keys.and_then(|k| {
        if by_nr {
            rng.choose(&k.nem_refusion.items)
                .map(|n| HentSag::NemRefusionIdentifier(*n))
        } else {
            rng.choose(&k.cases.items)
                .map(|s| HentSag::SagIdentifikator(*s))
        }
    });
    let aim = match key {
        Some(HentSag::SagIdentifikator(_)) => Aim::Case,
        Some(HentSag::NemRefusionIdentifier(_)) => Aim::NemRefusion,
        None => Aim::Guess,
    };
    let q = Lookup::Sag(key.unwrap_or_else(|| {
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&rng.u64().to_be_bytes());
        b[8..].copy_from_slice(&rng.u64().to_be_bytes());
        let guess = Uuid::from_bytes(b);
        if by_nr {
            HentSag::NemRefusionIdentifier(guess)
        } else {
            HentSag::SagIdentifikator(guess)
        }
    }));
    (q, aim)
}

/// A CPR-shaped guess (a valid date part, any sequence number).
fn guessed_cpr(rng: &mut Rng) -> Cpr {
    let day = rng.range_inclusive(1, 28);
    let month = rng.range_inclusive(1, 12);
    let year = rng.range(0, 100);
    let seq = rng.range(0, 10_000);
    format!("{day:02}{month:02}{year:02}{seq:04}")
        .parse()
        .expect("ten digits make a CPR")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cvr(s: &str) -> Cvr {
        s.parse().unwrap()
    }

    /// KSD-12: an adversarial look-up aims at another municipality's real keys (or guesses),
    /// never at the asker's own; an honest one at its own.
    #[test]
    fn adversarial_lookups_aim_elsewhere_honest_ones_at_home_ksd12() {
        let (own, other) = (cvr("29189846"), cvr("55133018"));
        let mut known = Known::default();
        let own_case: Uuid = "d1a2b3c4-e5f6-4789-8abc-def012345678".parse().unwrap();
        let other_case: Uuid = "a7b6c5d4-e3f2-4a1b-8c9d-0e1f2a3b4c5d".parse().unwrap();
        let own_cpr: Cpr = "0101701234".parse().unwrap();
        let other_cpr: Cpr = "0202802345".parse().unwrap();
        known.case(own, own_case, None, own_cpr);
        known.case(other, other_case, None, other_cpr);
        let today = time::macros::date!(2026 - 03 - 02);
        let (mut real_elsewhere, mut guessed) = (0, 0);
        for seq in 0..400 {
            let mut rng = Rng::keyed(1, "lookups", seq);
            let list = seq % 2 == 0;
            match aim(&mut known, &mut rng, own, true, list, today).0 {
                Lookup::Sag(HentSag::SagIdentifikator(s)) => {
                    assert_ne!(s, own_case);
                    if s == other_case {
                        real_elsewhere += 1
                    } else {
                        guessed += 1
                    }
                }
                Lookup::Sag(HentSag::NemRefusionIdentifier(_)) => guessed += 1,
                Lookup::Liste(l) => {
                    let p = l.sygemeldte_part.unwrap();
                    assert_ne!(p, own_cpr);
                    if p == other_cpr {
                        real_elsewhere += 1
                    } else {
                        guessed += 1
                    }
                }
            }
            let mut rng = Rng::keyed(1, "lookups", seq);
            match aim(&mut known, &mut rng, own, false, list, today).0 {
                Lookup::Sag(HentSag::SagIdentifikator(s)) => assert_eq!(s, own_case),
                Lookup::Liste(l) => assert_eq!(l.sygemeldte_part, Some(own_cpr)),
                // No NemRefusion id known at home: a guess.
                Lookup::Sag(HentSag::NemRefusionIdentifier(_)) => {}
            }
        }
        assert!(
            real_elsewhere > 200,
            "mostly real keys of others: {real_elsewhere}"
        );
        assert!(guessed > 20, "some guesses: {guessed}");
    }

    #[test]
    fn the_tally_counts_leaks_nones_and_failures() {
        let mut t = LookupTally::default();
        let o = |outcome: Outcome, cases: &[(&str, &str)]| LookupOutcome {
            fejl_koder: if outcome == Outcome::Fejl {
                vec!["KSD-12.UKENDT".into()]
            } else {
                Vec::new()
            },
            outcome,
            cases: cases
                .iter()
                .map(|(s, m)| (s.to_string(), m.to_string()))
                .collect(),
            municipality: "29189846".into(),
            fault: None,
        };
        t.count(None, &o(Outcome::Ok, &[("a", "29189846")]));
        t.count(Some(Aim::Guess), &o(Outcome::Fejl, &[]));
        t.count(Some(Aim::Case), &o(Outcome::Ok, &[("b", "55133018")]));
        t.count(None, &o(Outcome::Unreachable, &[]));
        assert_eq!(
            t,
            LookupTally {
                sent: 4,
                adversarial: 2,
                found: 2,
                none: 1,
                leaked: 1,
                failed: 1,
                aimed: [1, 0, 0, 1],
                round_trips: Default::default(),
            }
        );
    }
}
