//! The jobcenters' SF1690 messages to KY (`ky:`, KY-1..KY-10): at their arrival times a
//! simulated vendor sends the next step of one citizen's contact course through the
//! platform's KY exposure, in its own municipality's security context, with its own
//! certificate ([`sim_jobcenter::Jobcenter::send_ky`], which owns the message until KY's
//! TransportKvittering, JC-1).
//!
//! Each arrival is one *message*: it goes to a course of its municipality that is waiting for
//! its next step, or opens a new course (one arrival in [`NEW_COURSE_ONE_IN`], or when none
//! waits). A course's steps are drawn once when it opens ([`plan`]) in the order KY accepts —
//! the course created first, then its assessment group, statement and activity, then what
//! hangs off them, then changes, stops and resumes — and a course sends its next step only
//! once KY has answered the last: KY keeps state per course (KY-6..KY-9), so a step sent
//! before the one it builds on would be refused for a reason of ours. Sent this way, every
//! message is one KY must accept; a FEJL in a run whose faults refuse no KY message is a
//! finding (checker `ky-receipts`).
//!
//! Randomness is the scenario's: the message's TransaktionIdentifikator and the choice of
//! course from stream `ky` keyed by the arrival's sequence number, a course's plan, ids, person
//! and dates from `ky/course` keyed by the course's number. Which courses are waiting depends
//! on the run's progress (how fast KY answered), as the look-ups' targets do.
//!
//! Not driven: instances an outside system takes the seat of (not ours to drive), and all of
//! it when an outside KSD takes KSD's seat — KY lives in the simulated KSD program, so the
//! platform has no route to KY then and would answer every message SP-4 (the runner decides
//! this, `runner::send_arrivals`).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sim_jobcenter::{KyOutcome, KyStatus};
use sim_scenario::{Arrivals, Scenario};
use sim_seed::Rng;
use sim_store::Clock;
use sim_wire::ky::{
    Aktivitet, Fravaer, Godtgoerelse, GodtgoerelseLinje, Handling, Kontaktforloeb, KyBody,
    KyHeader, KyOperation, KyPayload, KyRequest, Maalgruppeskift, Sanktionsanmodning,
    Tilkendegivelse, Visitationsgruppe,
};
use sim_wire::{Cpr, Cvr, Dato, DatoTid, Uuid};
use time::OffsetDateTime;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::Jc;

/// One arrival in this many opens a new course even when others wait: a course has about
/// eight steps on average ([`plan`]), so about as many courses open as run to their end.
const NEW_COURSE_ONE_IN: u64 = 8;

/// How many KY messages may be in flight at once (each is one synchronous round trip, or a
/// wait for the resender while faults last).
const IN_FLIGHT: usize = 32;

/// How long one wait for a pending message's receipt lasts before the driver looks at the
/// clock again (real time).
const WAIT_SLICE: Duration = Duration::from_secs(1);

/// What the KY messages got back.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct KyTally {
    /// Messages sent.
    pub(crate) sent: u64,
    /// Courses opened.
    pub(crate) conversations: u64,
    /// Answered OK or ADVARSEL.
    pub(crate) accepted: u64,
    /// Answered FEJL.
    pub(crate) refused: u64,
    /// FEJLs by the rule their FejlKoder name (`KY-6`).
    pub(crate) refused_by_rule: BTreeMap<String, u64>,
    /// Real round trips of the messages answered at their first attempt, milliseconds.
    pub(crate) round_trips: super::RoundTrips,
}

impl KyTally {
    /// The `q` quantile of the real round trips (0 when none).
    pub(crate) fn quantile_ms(&self, q: f64) -> u64 {
        self.round_trips.quantile_ms(q)
    }

    /// A message was made (stored by its vendor, or at least handed to it).
    fn made(&mut self) {
        self.sent += 1;
    }

    /// What became of a message made: accepted, refused (by the rules its FejlKoder name),
    /// or nothing yet (it stays unanswered).
    fn settled(&mut self, o: Option<&KyOutcome>) {
        match o.map(|o| o.status) {
            Some(KyStatus::Accepted) => self.accepted += 1,
            Some(KyStatus::Refused) => {
                self.refused += 1;
                let mut rules: Vec<String> = o
                    .into_iter()
                    .flat_map(|o| &o.fejl_koder)
                    .map(|k| k.split('.').next().unwrap_or(k).to_string())
                    .collect();
                rules.sort();
                rules.dedup();
                for r in rules {
                    *self.refused_by_rule.entry(r).or_default() += 1;
                }
            }
            _ => {}
        }
    }

    /// Made but neither accepted nor refused: no receipt when the run stopped waiting.
    pub(crate) fn unanswered(&self) -> u64 {
        self.sent.saturating_sub(self.accepted + self.refused)
    }

    /// The report's totals.
    pub(crate) fn totals(&self) -> sim_report::KyTotals {
        sim_report::KyTotals {
            sent: self.sent,
            conversations: self.conversations,
            accepted: self.accepted,
            refused: self.refused,
            refused_by_rule: self.refused_by_rule.clone(),
            unanswered: self.unanswered(),
            p50_ms: self.quantile_ms(0.5),
            p99_ms: self.quantile_ms(0.99),
        }
    }
}

/// One step of a course: an operation and its sub-action.
type Step = (KyOperation, Handling);

/// One citizen's contact course as the jobcenter keeps it.
struct Course {
    municipality: Cvr,
    cpr: Cpr,
    id: Uuid,
    /// The statement's and the activity's ids (what AENDR/STOP/SLET name, KY-8).
    tilkendegivelse: Uuid,
    aktivitet: Uuid,
    /// Fresh ids for what is registered (allowances, absences, sanction requests).
    ids: Rng,
    start: time::Date,
    allowances: bool,
    uberettiget: bool,
    steps: Vec<Step>,
    /// The next step to send.
    next: usize,
    /// A step is on its way: wait for its receipt before the next.
    busy: bool,
}

/// The steps of course number `n`, in an order KY accepts: the course, its assessment group
/// and activity always; the rest each with its own chance (about eight steps on average).
/// Only what exists is changed or named: a statement's change only after the statement, the
/// activity's deletion only after its stop, a resume only after the course's stop, which
/// comes last but for it (KY-6..KY-9).
fn plan(rng: &mut Rng) -> Vec<Step> {
    use Handling::*;
    use KyOperation as O;
    let mut s = vec![(O::Kontaktforloeb, Opret), (O::Visitationsgruppe, Opret)];
    let statement = rng.chance(0.8);
    if statement {
        s.push((O::Tilkendegivelse, Opret));
    }
    s.push((O::Aktivitet, Opret));
    for (op, p) in [
        (O::Godtgoerelse, 0.5),
        (O::Fravaer, 0.5),
        (O::Sanktionsanmodning, 0.25),
        (O::Maalgruppeskift, 0.2),
    ] {
        if rng.chance(p) {
            s.push((op, Opret));
        }
    }
    if rng.chance(0.4) {
        s.push((O::Visitationsgruppe, Aendr));
    }
    if statement && rng.chance(0.3) {
        s.push((O::Tilkendegivelse, Aendr));
    }
    if rng.chance(0.3) {
        s.push((O::Aktivitet, Aendr));
    }
    if rng.chance(0.6) {
        s.push((O::Aktivitet, Stop));
        if rng.chance(0.25) {
            s.push((O::Aktivitet, Slet));
        }
    }
    if rng.chance(0.3) {
        s.push((O::Kontaktforloeb, Aendr));
    }
    if rng.chance(0.5) {
        s.push((O::Kontaktforloeb, Stop));
        if rng.chance(0.3) {
            s.push((O::Kontaktforloeb, Genoptag));
        }
    }
    s
}

fn uuid(rng: &mut Rng) -> Uuid {
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&rng.u64().to_be_bytes());
    b[8..].copy_from_slice(&rng.u64().to_be_bytes());
    // Version 4, variant 1: an ordinary random UUID.
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    Uuid::from_bytes(b)
}

/// A CPR with a valid birth date.
fn cpr(rng: &mut Rng) -> Cpr {
    let day = rng.range_inclusive(1, 28);
    let month = rng.range_inclusive(1, 12);
    let year = rng.range(0, 100);
    let seq = rng.range(0, 10_000);
    format!("{day:02}{month:02}{year:02}{seq:04}")
        .parse()
        .expect("ten digits with a valid date make a CPR")
}

impl Course {
    /// Course number `n` of `m`, opened on `start`.
    fn open(seed: u64, n: u64, m: Cvr, start: time::Date, allowance_share: f64) -> Course {
        let mut rng = Rng::keyed(seed, "ky/course", n);
        let steps = plan(&mut rng);
        Course {
            municipality: m,
            cpr: cpr(&mut rng),
            id: uuid(&mut rng),
            tilkendegivelse: uuid(&mut rng),
            aktivitet: uuid(&mut rng),
            allowances: rng.chance(allowance_share),
            uberettiget: rng.chance(0.3),
            ids: rng,
            start,
            steps,
            next: 0,
            busy: false,
        }
    }

    fn waiting(&self) -> bool {
        !self.busy && self.next < self.steps.len()
    }

    fn day(&self, days: i64) -> Dato {
        Dato(self.start + time::Duration::days(days))
    }

    /// The message of the next step, with TransaktionIdentifikator `tid`, sent at `now` (the
    /// vendor sets RegistreringITsystem and the send time itself).
    fn message(&mut self, tid: Uuid, now: OffsetDateTime) -> KyRequest {
        use Handling::*;
        let (op, h) = self.steps[self.next];
        let maalgruppe = if self.steps[..self.next]
            .iter()
            .any(|s| s.0 == KyOperation::Maalgruppeskift)
        {
            "2.3"
        } else {
            "2.2"
        };
        let linje = |ids: &mut Rng, paragraf: u8, kroner: i64, dato: Dato| GodtgoerelseLinje {
            godtgoerelse_id: uuid(ids),
            paragraf,
            beloeb: sim_wire::ky::Beloeb(kroner * 100),
            dato,
        };
        let body = match op {
            KyOperation::Kontaktforloeb => KyBody::Kontaktforloeb(Kontaktforloeb {
                maalgruppe: matches!(h, Opret | Aendr).then(|| maalgruppe.to_string()),
                start_dato: matches!(h, Opret | Aendr).then(|| self.day(0)),
                slut_dato: (h == Stop).then(|| self.day(120)),
            }),
            KyOperation::Visitationsgruppe => KyBody::Visitationsgruppe(Visitationsgruppe {
                visitationsgruppe_kode: if h == Opret {
                    "AKTIVITETSPARAT"
                } else {
                    "JOBPARAT"
                }
                .into(),
                gyldig_fra_dato: self.day(if h == Opret { 0 } else { 30 }),
            }),
            KyOperation::Tilkendegivelse => KyBody::Tilkendegivelse(Tilkendegivelse {
                tilkendegivelse_id: self.tilkendegivelse,
                tilkendegivelse_kode: if h == Opret {
                    "RAADIGHED"
                } else {
                    "RAADIGHED_AENDRET"
                }
                .into(),
                dato: self.day(3),
            }),
            KyOperation::Aktivitet => KyBody::Aktivitet(Aktivitet {
                aktivitet_id: self.aktivitet,
                tilbudstype: matches!(h, Opret | Aendr)
                    .then(|| "OPKVALIFICERING_VED_ANSAETTELSE".to_string()),
                start_dato: matches!(h, Opret | Aendr).then(|| self.day(7)),
                slut_dato: match h {
                    Opret | Aendr => Some(self.day(97)),
                    Stop => Some(self.day(60)),
                    _ => None,
                },
                godtgoerelser: if h == Opret && self.allowances {
                    let d = self.day(7);
                    vec![linje(&mut self.ids, 82, 150, d)]
                } else {
                    Vec::new()
                },
            }),
            KyOperation::Godtgoerelse => KyBody::Godtgoerelse(Godtgoerelse {
                aktivitet_id: Some(self.aktivitet),
                linje: {
                    let d = self.day(10);
                    linje(&mut self.ids, 83, 1250, d)
                },
            }),
            KyOperation::Fravaer => KyBody::Fravaer(Fravaer {
                fravaer_id: uuid(&mut self.ids),
                aktivitet_id: Some(self.aktivitet),
                fra_dato: self.day(14),
                til_dato: self.day(15),
                uberettiget: self.uberettiget,
            }),
            KyOperation::Sanktionsanmodning => KyBody::Sanktionsanmodning(Sanktionsanmodning {
                sanktion_id: uuid(&mut self.ids),
                sanktion_aarsag: "UDEBLIVELSE_SAMTALE".into(),
                haendelse_dato: self.day(16),
            }),
            KyOperation::Maalgruppeskift => KyBody::Maalgruppeskift(Maalgruppeskift {
                maalgruppe: "2.3".into(),
                skift_dato: self.day(45),
            }),
        };
        KyRequest::new(KyPayload {
            header: KyHeader {
                transaktion_identifikator: tid,
                besked_forsendelses_dato_tid: DatoTid(now),
                // The vendor puts its own system here (`send_ky`).
                registrering_it_system: tid,
                myndighed: self.municipality,
                person_cpr: self.cpr,
                jobcenter_sag_id: None,
            },
            handling: h,
            kontaktforloeb_id: self.id,
            body,
        })
    }
}

/// Everything the driver needs.
pub(crate) struct Driver {
    pub(crate) scenario: Scenario,
    pub(crate) assignments: Vec<(Cvr, String)>,
    pub(crate) clock: Clock,
    pub(crate) jc: Jc,
    pub(crate) tally: Arc<Mutex<KyTally>>,
    /// Instances an outside system takes the seat of.
    pub(crate) seated: Vec<String>,
    /// When to stop waiting for a pending message's receipt (virtual): at a speed factor the
    /// runner's senders' deadline (after the faults and the liveness allowance), when it stops
    /// every sender; `None` at speed `max`, where the runner waits for every sender and moves
    /// the clock on meanwhile, so the vendor's resender gets its turn.
    pub(crate) give_up_at: Option<OffsetDateTime>,
}

/// Sends every KY message of the scenario at its time (virtual), at most [`IN_FLIGHT`] at
/// once; returns when the last one has its receipt or was given up.
pub(crate) async fn drive(d: Driver) {
    let Some(spec) = d.scenario.ky else {
        return;
    };
    let permits = Arc::new(Semaphore::new(IN_FLIGHT));
    let mut tasks = JoinSet::new();
    let mut courses: HashMap<Cvr, Vec<Arc<Mutex<Course>>>> = HashMap::new();
    let mut opened = 0u64;
    for a in Arrivals::of_ky(&d.scenario, &d.assignments) {
        if d.seated.contains(&a.instance) {
            continue;
        }
        d.clock.sleep_until(a.intended_at).await;
        let Ok(permit) = permits.clone().acquire_owned().await else {
            return;
        };
        let mut rng = Rng::keyed(d.scenario.seed, "ky", a.seq);
        let tid = uuid(&mut rng);
        let pool = courses.entry(a.municipality).or_default();
        // Finished courses are forgotten: nothing more is sent for them.
        pool.retain(|c| {
            let c = c.lock().expect("course lock");
            c.busy || c.next < c.steps.len()
        });
        let waiting: Vec<&Arc<Mutex<Course>>> = pool
            .iter()
            .filter(|c| c.lock().expect("course lock").waiting())
            .collect();
        let course = if waiting.is_empty() || rng.range(0, NEW_COURSE_ONE_IN) == 0 {
            let today = sim_scenario::calendar::to_copenhagen(a.intended_at).date();
            let c = Arc::new(Mutex::new(Course::open(
                d.scenario.seed,
                opened,
                a.municipality,
                today,
                spec.allowance_share,
            )));
            opened += 1;
            d.tally.lock().expect("ky tally lock").conversations += 1;
            pool.push(c.clone());
            c
        } else {
            (*rng.choose(&waiting).expect("one waits")).clone()
        };
        let request = {
            let mut c = course.lock().expect("course lock");
            c.busy = true;
            c.message(tid, d.clock.now())
        };
        let (jc, tally, clock, instance, m, give_up_at) = (
            d.jc.clone(),
            d.tally.clone(),
            d.clock.clone(),
            a.instance,
            a.municipality,
            d.give_up_at,
        );
        tasks.spawn(async move {
            let began = std::time::Instant::now();
            let sent = jc.send_ky(instance, m, request).await;
            let took = began.elapsed().as_millis() as u64;
            let tid = tid.to_string();
            // Counted now (a message the vendor took, or may have taken before it crashed): the
            // runner may stop this task at its deadline while it waits.
            if !matches!(sent, Ok(Err(_))) {
                tally.lock().expect("ky tally lock").made();
            }
            // `pending`: the vendor may own it without a receipt yet (JC-1).
            let (mut outcome, mut pending) = match sent {
                Ok(Ok(o)) => {
                    if o.status != KyStatus::Pending && o.attempts == 1 {
                        tally.lock().expect("ky tally lock").round_trips.push(took);
                    }
                    let pending = o.status == KyStatus::Pending;
                    (Some(o), pending)
                }
                Ok(Err(e)) => {
                    tracing::warn!(%tid, error = %e, "KY message not made");
                    (None, false)
                }
                // Crashed while sending: the message may be stored (then it is resent).
                Err(_) => (None, true),
            };
            // The course waits for the receipt: its next step builds on this one.
            while pending && give_up_at.is_none_or(|t| clock.now() < t) {
                match jc.wait_for_ky(&tid, WAIT_SLICE).await {
                    Ok(Ok(found)) => {
                        pending = found
                            .as_ref()
                            .is_some_and(|o| o.status == KyStatus::Pending);
                        outcome = found;
                    }
                    _ => tokio::time::sleep(Duration::from_millis(50)).await,
                }
            }
            {
                let mut c = course.lock().expect("course lock");
                c.busy = false;
                match outcome.as_ref().map(|o| o.status) {
                    Some(KyStatus::Accepted) => c.next += 1,
                    // Refused, unanswered or not made: KY's state for it is not what the
                    // plan assumes, so the course sends nothing more.
                    _ => c.next = c.steps.len(),
                }
            }
            tally
                .lock()
                .expect("ky tally lock")
                .settled(outcome.as_ref());
            drop(permit);
        });
        while tasks.try_join_next().is_some() {}
    }
    while tasks.join_next().await.is_some() {}
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cvr(s: &str) -> Cvr {
        s.parse().unwrap()
    }

    // rules KY-2..KY-5: every message a course sends is one sim_wire::ky finds valid.
    // rules KY-6..KY-9: in the order KY accepts — the course first, nothing changed, stopped,
    // deleted or named before it was created, nothing after the course's stop but its resume.
    #[test]
    fn every_course_is_valid_and_in_an_order_ky_accepts_ky2_to_ky9() {
        use Handling::*;
        use KyOperation as O;
        let now = time::macros::datetime!(2026-04-01 09:00 +2);
        let (mut total, mut longest) = (0usize, 0usize);
        for n in 0..500 {
            let mut c = Course::open(7, n, cvr("29189846"), now.date(), 0.5);
            assert_eq!(c.steps[0], (O::Kontaktforloeb, Opret), "course {n}");
            let mut done: Vec<Step> = Vec::new();
            let mut tids = Rng::keyed(7, "test", n);
            while c.next < c.steps.len() {
                let step = c.steps[c.next];
                let r = c.message(uuid(&mut tids), now);
                let problems = sim_wire::ky::validate(&sim_wire::ky::KyMessage::Request(r));
                assert!(
                    problems.iter().all(|p| !p.is_error()),
                    "course {n} step {step:?}: {problems:?}"
                );
                let has = |s: Step| done.contains(&s);
                match step {
                    (O::Kontaktforloeb, Opret) => assert!(done.is_empty()),
                    (O::Kontaktforloeb, Genoptag) => assert!(has((O::Kontaktforloeb, Stop))),
                    (O::Tilkendegivelse, Aendr) => assert!(has((O::Tilkendegivelse, Opret))),
                    (O::Visitationsgruppe, Aendr) => assert!(has((O::Visitationsgruppe, Opret))),
                    (O::Aktivitet, Slet) => assert!(has((O::Aktivitet, Stop))),
                    (O::Aktivitet, _) | (O::Godtgoerelse, _) | (O::Fravaer, _)
                        if step != (O::Aktivitet, Opret) =>
                    {
                        assert!(has((O::Aktivitet, Opret)));
                        assert!(!has((O::Aktivitet, Slet)));
                    }
                    _ => {}
                }
                if has((O::Kontaktforloeb, Stop)) {
                    assert_eq!(step, (O::Kontaktforloeb, Genoptag), "course {n}");
                }
                assert!(!has(step), "course {n}: {step:?} twice");
                done.push(step);
                c.next += 1;
            }
            total += c.steps.len();
            longest = longest.max(c.steps.len());
        }
        // About eight steps a course, as NEW_COURSE_ONE_IN assumes.
        let mean = total as f64 / 500.0;
        assert!((6.5..=9.5).contains(&mean), "mean steps {mean}");
        assert!(longest <= 16);
    }

    #[test]
    fn a_course_is_its_seed_and_number() {
        let d = time::macros::date!(2026 - 04 - 01);
        let a = Course::open(3, 11, cvr("29189846"), d, 0.3);
        let b = Course::open(3, 11, cvr("29189846"), d, 0.3);
        assert_eq!(
            (a.id, a.cpr, a.steps.clone()),
            (b.id, b.cpr, b.steps.clone())
        );
        assert_ne!(a.id, Course::open(3, 12, cvr("29189846"), d, 0.3).id);
    }

    #[test]
    fn the_tally_counts_refusals_by_rule_ky1() {
        let mut t = KyTally::default();
        let mut o = KyOutcome {
            transaktion_id: "x".into(),
            instance: "kmd-jc".into(),
            municipality: "29189846".into(),
            operation: KyOperation::Fravaer,
            handling: Handling::Opret,
            status: KyStatus::Pending,
            transport_code: None,
            fejl_koder: Vec::new(),
            fault: None,
            attempts: 1,
            response_xml: None,
        };
        for _ in 0..4 {
            t.made();
        }
        t.settled(Some(&o));
        o.status = KyStatus::Accepted;
        t.settled(Some(&o));
        o.status = KyStatus::Refused;
        o.fejl_koder = vec!["KY-6.UKENDT".into(), "KY-6.UKENDT".into()];
        t.settled(Some(&o));
        t.settled(None);
        assert_eq!(
            (t.sent, t.accepted, t.refused, t.unanswered()),
            (4, 1, 1, 2)
        );
        assert_eq!(t.refused_by_rule.get("KY-6"), Some(&1));
    }
}
