//! The checks of SF1612 (STAR's sick-leave statuses → the platform's job → the Beskedfordeler
//! → KSD).
//!
//! | leg | where it is read | what counts |
//! | --- | --- | --- |
//! | STAR's queue | `star.sqlite` `star_events` | an event handed out for good (`gone`: its sequence was terminated), or still at STAR |
//! | the platform's job | `sp.sqlite` `sp_star_events` | fetched and persisted before publishing (SP-10) |
//! | the Beskedfordeler | `bf.sqlite` `bf_messages`, `bf_deliveries`, `bf_value_list_log` | published once per MessageIdentifier; given to the subscriptions whose value list held the person (BF-1) |
//! | KSD | `ksd.sqlite` `ksd_star_events` | handled once per MessageIdentifier, repeats counted (BF-2) |
//!
//! - Safety `star-events-published-once` (SP-10, SP-11): every event STAR let go of was
//!   published, exactly once (a rollback and refetch publishes nothing twice), only after the
//!   platform persisted it, and each published message is SP-11's Haendelsesbesked. An event
//!   still queued or in an open sequence when the history ends is not judged: STAR still has it.
//! - Safety `bf-delivers-by-value-list` (BF-1): a message went to exactly the subscriptions
//!   whose value list held its person when it was published (the value-list log replayed up to
//!   the message), and KSD handled nothing that was not given to its subscription.
//! - Liveness `bf-delivered-at-least-once` (BF-2): every message given to a subscription the
//!   simulated KSD holds was handled by KSD — through faults, crashes and redeliveries — unless
//!   it was published within the liveness deadline before the history ends (pending).
//!
//! Run only when the run had STAR (`star.sqlite` or `bf.sqlite` exists). Tables are read
//! directly: the journals say what was said, these tables say what each party kept.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

use sim_report::{CheckKind, CheckResult};
use sim_store::rusqlite::{Connection, OpenFlags};

use crate::verdict::{n, Examples, Verdict};
use crate::{CheckError, CheckInput};

/// The check names.
pub const PUBLISHED_ONCE: &str = "star-events-published-once";
/// See the module docs.
pub const BY_VALUE_LIST: &str = "bf-delivers-by-value-list";
/// See the module docs.
pub const DELIVERED: &str = "bf-delivered-at-least-once";

/// How many published messages are checked against SP-11 field by field (the rest by their
/// keys only): parsing a month's 90,000 envelopes of 98 recipients each would dominate judging.
const SP11_SAMPLE: usize = 2_000;

/// Every SF1612 check; none when the run had no STAR.
pub(crate) fn check(input: &CheckInput) -> Result<Vec<CheckResult>, CheckError> {
    if !input.bf_db.is_file() {
        return Ok(Vec::new());
    }
    let star = match input.star_db.is_file() {
        true => Some(open("sim-star", &input.star_db)?),
        false => None,
    };
    let bf = open("sim-bf", &input.bf_db)?;
    let sp = open("sim-sp", &input.sp_db)?;
    let ksd = match (input.ksd_is_outside(), input.ksd_db.is_file()) {
        (false, true) => Some(open("sim-ksd", &input.ksd_db)?),
        _ => None,
    };
    let d = Data::load(star.as_ref(), &sp, &bf, ksd.as_ref())?;
    // The platform always has its Beskedfordeler; a run without STAR (no STAR file, nothing
    // published) has no SF1612 to judge.
    if d.star.is_none() && d.messages.is_empty() {
        return Ok(Vec::new());
    }
    let horizon = sim_store::unix_millis(input.run_end);
    let deadline = i64::try_from(input.sf1612_deadline.as_millis()).unwrap_or(i64::MAX);
    Ok(vec![
        published_once(&d, horizon, deadline),
        by_value_list(&d),
        delivered(&d, horizon, deadline),
    ])
}

fn open<'a>(program: &'static str, path: &'a Path) -> Result<Conn<'a>, CheckError> {
    if !path.is_file() {
        return Err(CheckError::Missing {
            program,
            path: path.to_path_buf(),
        });
    }
    let c = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|source| CheckError::Sqlite {
        program,
        path: path.to_path_buf(),
        source,
    })?;
    Ok(Conn { program, path, c })
}

/// A read-only file and what to call it in errors.
struct Conn<'a> {
    program: &'static str,
    path: &'a Path,
    c: Connection,
}

impl Conn<'_> {
    fn err(&self) -> impl Fn(sim_store::rusqlite::Error) -> CheckError + '_ {
        move |source| CheckError::Sqlite {
            program: self.program,
            path: self.path.to_path_buf(),
            source,
        }
    }

    /// Whether the file has table `t` (a run from before a table existed has none).
    fn has(&self, t: &str) -> Result<bool, CheckError> {
        self.c
            .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1")
            .and_then(|mut s| s.exists([t]))
            .map_err(self.err())
    }
}

/// One published message.
struct Message {
    seq: i64,
    cpr: Option<String>,
    published_at: i64,
    confirmed: bool,
    xml: Option<String>,
}

/// Everything the checks need, loaded once.
#[derive(Default)]
struct Data {
    /// STAR's events by MessageIdentifier → (state: `queued`, `in_sequence`, `gone`; how
    /// often handed out in a sequence; when it reached STAR's queue, virtual ms); `None` when
    /// STAR's file is not ours (an outside STAR).
    star: Option<BTreeMap<String, (String, i64, i64)>>,
    /// The platform's persisted events: MessageIdentifier → (fetched_at, published_at, fetches).
    persisted: HashMap<String, (i64, Option<i64>, i64)>,
    /// The Beskedfordeler's messages by ObjektRegistreringId.
    messages: BTreeMap<String, Message>,
    /// Subscriptions: id → (subscriber CVR, value list).
    subscriptions: BTreeMap<String, (String, String)>,
    /// Deliveries: (subscription, message seq).
    deliveries: HashSet<(String, i64)>,
    /// Value-list changes in order: (cvr, list, cpr, added, after_seq).
    log: Vec<(String, String, String, bool, i64)>,
    /// KSD's handled messages: MessageIdentifier → repeats; `None` with an outside KSD.
    ksd: Option<HashMap<String, i64>>,
}

impl Data {
    fn load(
        star: Option<&Conn<'_>>,
        sp: &Conn<'_>,
        bf: &Conn<'_>,
        ksd: Option<&Conn<'_>>,
    ) -> Result<Data, CheckError> {
        let mut d = Data::default();
        if let Some(s) = star {
            let mut events = BTreeMap::new();
            let mut st =
                s.c.prepare("SELECT message_id, state, handed_out, at FROM star_events")
                    .map_err(s.err())?;
            let rows = st
                .query_map([], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        (r.get::<_, String>(1)?, r.get(2)?, r.get(3)?),
                    ))
                })
                .map_err(s.err())?;
            for row in rows {
                let (id, v) = row.map_err(s.err())?;
                events.insert(id, v);
            }
            d.star = Some(events);
        }
        if sp.has("sp_star_events")? {
            let mut st =
                sp.c.prepare(
                    "SELECT message_identifier, fetched_at, published_at, fetch_count
                     FROM sp_star_events",
                )
                .map_err(sp.err())?;
            let rows = st
                .query_map([], |r| Ok((r.get(0)?, (r.get(1)?, r.get(2)?, r.get(3)?))))
                .map_err(sp.err())?;
            for row in rows {
                let (id, v): (String, _) = row.map_err(sp.err())?;
                d.persisted.insert(id, v);
            }
        }
        {
            let mut st =
                bf.c.prepare(
                    "SELECT seq, registrering_id, cpr, published_at, confirmed, xml
                     FROM bf_messages ORDER BY seq",
                )
                .map_err(bf.err())?;
            let rows = st
                .query_map([], |r| {
                    Ok((
                        r.get::<_, String>(1)?,
                        Message {
                            seq: r.get(0)?,
                            cpr: r.get(2)?,
                            published_at: r.get(3)?,
                            confirmed: r.get::<_, i64>(4)? != 0,
                            xml: Some(r.get(5)?),
                        },
                    ))
                })
                .map_err(bf.err())?;
            for (i, row) in rows.enumerate() {
                let (id, mut m) = row.map_err(bf.err())?;
                if i >= SP11_SAMPLE {
                    m.xml = None;
                }
                d.messages.insert(id, m);
            }
            let mut st =
                bf.c.prepare("SELECT id, subscriber_cvr, value_list FROM bf_subscriptions")
                    .map_err(bf.err())?;
            let rows = st
                .query_map([], |r| Ok((r.get(0)?, (r.get(1)?, r.get(2)?))))
                .map_err(bf.err())?;
            for row in rows {
                let (id, v): (String, _) = row.map_err(bf.err())?;
                d.subscriptions.insert(id, v);
            }
            let mut st =
                bf.c.prepare("SELECT subscription_id, message_seq FROM bf_deliveries")
                    .map_err(bf.err())?;
            let rows = st
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                .map_err(bf.err())?;
            for row in rows {
                d.deliveries.insert(row.map_err(bf.err())?);
            }
            let mut st =
                bf.c.prepare(
                    "SELECT subscriber_cvr, name, cpr, added, after_seq
                     FROM bf_value_list_log ORDER BY id",
                )
                .map_err(bf.err())?;
            let rows = st
                .query_map([], |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get::<_, i64>(3)? != 0,
                        r.get(4)?,
                    ))
                })
                .map_err(bf.err())?;
            for row in rows {
                d.log.push(row.map_err(bf.err())?);
            }
        }
        if let Some(k) = ksd {
            let mut handled = HashMap::new();
            if k.has("ksd_star_events")? {
                let mut st =
                    k.c.prepare("SELECT message_identifier, repeats FROM ksd_star_events")
                        .map_err(k.err())?;
                let rows = st
                    .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                    .map_err(k.err())?;
                for row in rows {
                    let (id, repeats): (String, i64) = row.map_err(k.err())?;
                    handled.insert(id, repeats);
                }
            }
            d.ksd = Some(handled);
        }
        Ok(d)
    }

    /// Whether subscription `sub` was to be given message `m` (BF-1): its value list held the
    /// message's person after every list change stored before the message.
    fn expected(&self, sub: &str, m: &Message, lists: &Lists) -> bool {
        let Some((cvr, list)) = self.subscriptions.get(sub) else {
            return false;
        };
        let Some(cpr) = &m.cpr else {
            return false;
        };
        lists.on_list(cvr, list, cpr, m.seq)
    }
}

/// The value lists' history: per (cvr, list, cpr), the changes as (after_seq, added) in order.
struct Lists(HashMap<(String, String, String), Vec<(i64, bool)>>);

impl Lists {
    fn of(d: &Data) -> Lists {
        let mut m: HashMap<(String, String, String), Vec<(i64, bool)>> = HashMap::new();
        for (cvr, list, cpr, added, after) in &d.log {
            m.entry((cvr.clone(), list.clone(), cpr.clone()))
                .or_default()
                .push((*after, *added));
        }
        Lists(m)
    }

    /// Whether `cpr` was on the list when message `seq` was stored.
    fn on_list(&self, cvr: &str, list: &str, cpr: &str, seq: i64) -> bool {
        self.0
            .get(&(cvr.to_string(), list.to_string(), cpr.to_string()))
            .and_then(|changes| changes.iter().rev().find(|(after, _)| *after < seq))
            .is_some_and(|(_, added)| *added)
    }
}

fn published_once(d: &Data, horizon: i64, deadline: i64) -> CheckResult {
    let mut bad = Examples::default();
    let (mut lost, mut invented, mut unpersisted, mut unconfirmed, mut malformed) =
        (0u64, 0u64, 0u64, 0u64, 0u64);
    let (mut gone, mut queued, mut open, mut stuck) = (0u64, 0u64, 0u64, 0u64);
    if let Some(star) = &d.star {
        for (id, (state, _, at)) in star {
            // Still at STAR (queued, or in a sequence the job never ended) longer than the
            // deadline before the history ends: the job did not get it out — lost (SP-10).
            if state != "gone" && at.saturating_add(deadline) <= horizon {
                stuck += 1;
                bad.push(id.clone());
                continue;
            }
            match state.as_str() {
                "gone" => {
                    gone += 1;
                    match d.messages.get(id) {
                        Some(m) if m.confirmed => {}
                        Some(_) => {
                            unconfirmed += 1;
                            bad.push(id.clone());
                        }
                        None => {
                            lost += 1;
                            bad.push(id.clone());
                        }
                    }
                }
                "queued" => queued += 1,
                _ => open += 1,
            }
        }
    }
    for (id, m) in &d.messages {
        if d.star.as_ref().is_some_and(|s| !s.contains_key(id)) {
            invented += 1;
            bad.push(id.clone());
        }
        match d.persisted.get(id) {
            Some((fetched, _, _)) if *fetched <= m.published_at => {}
            _ => {
                unpersisted += 1;
                bad.push(id.clone());
            }
        }
        if let Some(xml) = &m.xml {
            let ok = sim_wire::besked::read_haendelsesbesked(xml.as_bytes())
                .map(|b| {
                    !sim_wire::besked::validate_sp11(&b)
                        .iter()
                        .any(sim_wire::Problem::is_error)
                })
                .unwrap_or(false);
            if !ok {
                malformed += 1;
                bad.push(id.clone());
            }
        }
    }
    // Handed out again after a rollback (CloseSequence or an expired sequence): STAR counts
    // every sequence an event was in; the platform, every fetch it persisted.
    let refetched = match &d.star {
        Some(star) => star.values().filter(|(_, handed, _)| *handed > 1).count(),
        None => d.persisted.values().filter(|v| v.2 > 1).count(),
    };
    let sampled = d.messages.len().min(SP11_SAMPLE);
    let summary = format!(
        "{} published by the Beskedfordeler; STAR let go of {gone} (terminated): {lost} never published, {unconfirmed} never confirmed by the broker; {stuck} still at STAR longer than the deadline ({} s); {invented} published that STAR never had; {unpersisted} published before the platform persisted them (SP-10); {malformed} of {sampled} checked not SP-11's Haendelsesbesked; {refetched} fetched again after a rollback, published once each; still at STAR within the deadline when the history ends, not judged: {queued} queued, {open} in an open sequence",
        n(d.messages.len() as u64, "message"),
        deadline / 1000,
    );
    Verdict::new(
        PUBLISHED_ONCE,
        CheckKind::Safety,
        "SP-10, SP-11",
        summary,
        bad,
    )
    .measured((lost + unconfirmed + stuck) as f64, None)
    .into_result()
}

fn by_value_list(d: &Data) -> CheckResult {
    let lists = Lists::of(d);
    let mut bad = Examples::default();
    let (mut expected, mut missing, mut extra) = (0u64, 0u64, 0u64);
    for (id, m) in &d.messages {
        for sub in d.subscriptions.keys() {
            let should = d.expected(sub, m, &lists);
            let given = d.deliveries.contains(&(sub.clone(), m.seq));
            expected += u64::from(should);
            if should && !given {
                missing += 1;
                bad.push(id.clone());
            } else if given && !should {
                extra += 1;
                bad.push(id.clone());
            }
        }
    }
    // KSD handled only what was given to it.
    let given_ids: HashSet<&str> = d
        .messages
        .iter()
        .filter(|(_, m)| {
            d.subscriptions
                .keys()
                .any(|s| d.deliveries.contains(&(s.clone(), m.seq)))
        })
        .map(|(id, _)| id.as_str())
        .collect();
    let mut unasked = 0u64;
    if let Some(ksd) = &d.ksd {
        for id in ksd.keys() {
            if !given_ids.contains(id.as_str()) {
                unasked += 1;
                bad.push(id.clone());
            }
        }
    }
    let not_on = d.messages.len() as u64 * d.subscriptions.len() as u64 - expected;
    let summary = format!(
        "{} to {}: {expected} deliveries due by the value lists at publishing, {not_on} not (person not on the list); {missing} due and not given, {extra} given and not due; {unasked} handled by KSD without being given to it",
        n(d.messages.len() as u64, "message"),
        n(d.subscriptions.len() as u64, "subscription"),
    );
    Verdict::new(BY_VALUE_LIST, CheckKind::Safety, "BF-1", summary, bad)
        .measured((missing + extra + unasked) as f64, None)
        .into_result()
}

fn delivered(d: &Data, horizon: i64, deadline: i64) -> CheckResult {
    let mut bad = Examples::default();
    let Some(ksd) = &d.ksd else {
        let mut r = Verdict::new(
            DELIVERED,
            CheckKind::Liveness,
            "BF-2",
            "KSD's seat is taken by an outside system: what it handled is its own".into(),
            bad,
        )
        .into_result();
        r.not_judged = Some("an outside KSD keeps no table of ours".into());
        return r;
    };
    let (mut due, mut handled, mut pending, mut lost) = (0u64, 0u64, 0u64, 0u64);
    for (id, m) in &d.messages {
        let to_ksd = d
            .subscriptions
            .keys()
            .any(|s| d.deliveries.contains(&(s.clone(), m.seq)));
        if !to_ksd {
            continue;
        }
        due += 1;
        if ksd.contains_key(id) {
            handled += 1;
        } else if m.published_at.saturating_add(deadline) > horizon {
            pending += 1;
        } else {
            lost += 1;
            bad.push(id.clone());
        }
    }
    let repeats: i64 = ksd.values().sum();
    let summary = format!(
        "{due} messages given to KSD's subscription: {handled} handled once by KSD ({repeats} repeated deliveries absorbed), {lost} never handled, {pending} published within the deadline ({} s) before the history ends, not judged",
        deadline / 1000
    );
    Verdict::new(DELIVERED, CheckKind::Liveness, "BF-2", summary, bad)
        .measured(lost as f64, Some(0.0))
        .into_result()
}
