//! The checks of SF2093 (KSD's extension requests, the jobcenters' answers) and the case
//! lifecycle they drive.
//!
//! Safety `duration-codes-follow-the-dialogue` (KSD-9, KSD-11, JC-3): every case's
//! VarighedKode is what its extension dialogue decided —
//! - 62 only with a time-limited extension answered for it, whose end date is the case's limit;
//! - 64 only with an unlimited extension answered for it;
//! - 63 only where no extension was answered that outlasts the limit (no unlimited one, no
//!   time-limited one ending after it), and only once the limit's date has come;
//! - an open case still 60, 61 or 62 has a limit that has not passed (by the end of the run,
//!   with a day's grace: KSD's lifecycle acts in passes). A case created already past its
//!   limit (an SF2095 update naming a first day more than 22 weeks back) has the same day's
//!   grace from its creation: the next pass gives it 63.
//! - and no answer was taken from another municipality than the request's (JC-3).
//!
//! KSD's tables are read (`ksd_cases`, `ksd_limits` of `sim-ksd/src/lifecycle.rs`,
//! `ksd_extension_requests` of `sim-ksd/src/flows/sf2093.rs`); the JC-3 side from KSD's journal
//! (`ModtagForretningsSvarForlaengelse` in, accepted).

use std::collections::HashMap;

use sim_report::{CheckKind, CheckResult};
use sim_wire::Operation;

use crate::history::{date_of, sqlite_error, History};
use crate::verdict::{n, Examples, Verdict};
use crate::{CheckError, CheckInput};

/// The check's stable name.
pub const NAME: &str = "duration-codes-follow-the-dialogue";

const RULES: &str = "KSD-9, KSD-11, JC-3";

/// A case in the lifecycle.
struct Case {
    sag_id: String,
    aktiv: bool,
    kode: String,
    graense: String,
    open: bool,
    /// When KSD created the case (Unix ms).
    created_at: i64,
}

/// An answered request.
struct Answer {
    sag_id: String,
    kind: String,
    slut: Option<String>,
    late: bool,
}

/// Every SF2093 check.
pub(crate) fn check(h: &History, input: &CheckInput) -> Result<Vec<CheckResult>, CheckError> {
    Ok(vec![dialogue(h, input)?])
}

fn not_judged(why: &str) -> CheckResult {
    let mut r = Verdict::new(
        NAME,
        CheckKind::Safety,
        RULES,
        format!("not judged: {why}"),
        Examples::default(),
    )
    .into_result();
    r.not_judged = Some(why.to_string());
    r
}

fn dialogue(h: &History, input: &CheckInput) -> Result<CheckResult, CheckError> {
    if input.ksd_is_outside() {
        return Ok(not_judged(
            "KSD is an outside system: its cases are in its own store",
        ));
    }
    if !(h.ksd.has_table("ksd_limits")? && h.ksd.has_table("ksd_extension_requests")?) {
        return Ok(not_judged("KSD's store keeps no duration limits"));
    }
    let (cases, answers, requests) = load(h)?;
    // The last date the run reached. KSD's lifecycle acts in passes (every 200 ms of real
    // time, which at speed `max` can be hours of virtual time): a limit counts as passed
    // without 63 only a day after it.
    let horizon = h.horizon(input);
    let today = date_of(horizon);
    let yesterday = date_of(horizon - 86_400_000);
    let mut by_case: HashMap<&str, Vec<&Answer>> = HashMap::new();
    for a in &answers {
        by_case.entry(a.sag_id.as_str()).or_default().push(a);
    }
    let mut bad = Examples::default();
    let mut codes: HashMap<&str, u64> = HashMap::new();
    for c in &cases {
        *codes.entry(c.kode.as_str()).or_default() += 1;
        let answered = by_case.get(c.sag_id.as_str()).map_or(&[][..], |v| v);
        let limited_to = |d: &str| {
            answered
                .iter()
                .any(|a| a.kind == "TIDSBEGRAENSET" && a.slut.as_deref() == Some(d))
        };
        let unlimited = answered.iter().any(|a| a.kind == "TIDSUBEGRAENSET");
        let outlasting = answered.iter().any(|a| {
            a.kind == "TIDSBEGRAENSET" && a.slut.as_deref().is_some_and(|s| s > c.graense.as_str())
        });
        let right = match c.kode.as_str() {
            "62" => limited_to(&c.graense),
            "64" => unlimited,
            "63" => !unlimited && !outlasting && c.graense.as_str() <= today.as_str(),
            // 60, 61 (and 62 above): an open case's limit has not passed.
            _ => true,
        } && !(c.aktiv
            && c.open
            && ["60", "61", "62"].contains(&c.kode.as_str())
            && c.graense.as_str() < yesterday.as_str()
            && c.created_at < horizon - 86_400_000);
        if !right {
            bad.push(c.sag_id.clone());
        }
    }
    let mut foreign = 0u64;
    for r in &h.ksd.rows {
        if !(r.is(true, Operation::ModtagForretningsSvarForlaengelse) && r.outcome.is_accepting()) {
            continue;
        }
        let (Some(tid), Some(m)) = (r.tid.as_deref(), r.municipality.as_deref()) else {
            continue;
        };
        if requests.get(tid).is_some_and(|rm| rm != m) {
            foreign += 1;
            bad.push(tid.to_string());
        }
    }
    let count = |k: &str| answers.iter().filter(|a| a.kind == k).count();
    let code = |k: &str| codes.get(k).copied().unwrap_or(0);
    let summary = format!(
        "{} in the lifecycle (60: {}, 61: {}, 62: {}, 63: {}, 64: {}); {} sent, {} answered (time-limited {}, unlimited {}, rejected {}; {} late); {} not what the dialogue decided; {foreign} answers taken from another municipality",
        n(cases.len() as u64, "case"),
        code("60"),
        code("61"),
        code("62"),
        code("63"),
        code("64"),
        n(requests.len() as u64, "extension request"),
        answers.len(),
        count("TIDSBEGRAENSET"),
        count("TIDSUBEGRAENSET"),
        count("AFVISNING"),
        answers.iter().filter(|a| a.late).count(),
        n(bad.count.saturating_sub(foreign), "case"),
    );
    Ok(Verdict::new(NAME, CheckKind::Safety, RULES, summary, bad).into_result())
}

type Loaded = (Vec<Case>, Vec<Answer>, HashMap<String, String>);

fn load(h: &History) -> Result<Loaded, CheckError> {
    let c = &h.ksd.conn;
    let read = || -> sim_store::rusqlite::Result<Loaded> {
        let mut st = c.prepare(
            "SELECT c.sag_id, c.status = 'AKTIV', c.varighed_kode, l.graense, l.open, c.created_at
             FROM ksd_cases c JOIN ksd_limits l ON l.sag_id = c.sag_id ORDER BY c.sag_id",
        )?;
        let cases = st
            .query_map([], |r| {
                Ok(Case {
                    sag_id: r.get(0)?,
                    aktiv: r.get(1)?,
                    kode: r.get(2)?,
                    graense: r.get(3)?,
                    open: r.get(4)?,
                    created_at: r.get(5)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        let mut st = c.prepare(
            "SELECT transaktion_id, sag_id, municipality, answer, slut_dato, late, applied
             FROM ksd_extension_requests",
        )?;
        let mut answers = Vec::new();
        let mut requests = HashMap::new();
        let rows = st.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?.to_ascii_lowercase(),
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, Option<String>>(3)?,
                r.get::<_, Option<String>>(4)?,
                r.get::<_, bool>(5)?,
                r.get::<_, bool>(6)?,
            ))
        })?;
        for row in rows {
            let (tid, sag_id, municipality, answer, slut, late, applied) = row?;
            requests.insert(tid, municipality);
            // Only answers KSD applied decide a code (one for an ended case changed nothing).
            if let Some(kind) = answer.filter(|_| applied) {
                answers.push(Answer {
                    sag_id,
                    kind,
                    slut,
                    late,
                });
            }
        }
        Ok((cases, answers, requests))
    };
    read().map_err(sqlite_error(h.ksd.name, &h.ksd.path))
}
