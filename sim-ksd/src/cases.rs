//! The tables KSD owns: sick-leave cases (KSD-9), each case's status history, and every
//! accepted update with the exact answer it got (KSD-7).
//!
//! Functions here are plain SQL on a transaction or a read connection, so the caller decides
//! what shares one commit: an update, its case change, its journal entries and its business
//! receipt always do.

use rusqlite::{Connection, OptionalExtension, Row, Transaction};
use serde::Serialize;
use sim_kit::ids::IdStream;
use sim_store::{from_unix_millis, unix_millis};
use sim_wire::{Cvr, OpdateringFravaer, OphoersAarsag, Status, Uuid, VarighedKode};
use time::OffsetDateTime;

/// KSD's tables. Dates are `YYYY-MM-DD` text (sorts as dates), times Unix milliseconds of
/// virtual time, codes their wire text.
///
/// `ksd_updates.transaktion_id` is the primary key: a TransaktionIdentifikator is processed
/// once (KSD-7), enforced by the database even if two copies race.
pub const KSD_MIGRATION: &str = "
CREATE TABLE IF NOT EXISTS ksd_cases (
    sag_id              TEXT PRIMARY KEY,
    municipality        TEXT NOT NULL,
    cpr                 TEXT NOT NULL,
    arbejdsgiver        TEXT NOT NULL,
    p_nummer            TEXT,
    nem_refusion_id     TEXT,
    foerste_fravaersdag TEXT NOT NULL,
    status              TEXT NOT NULL,
    ophoers_aarsag      INTEGER,
    ophoers_start       TEXT,
    ophoers_slut        TEXT,
    varighed_kode       TEXT NOT NULL,
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS ksd_cases_person
    ON ksd_cases (cpr, municipality, foerste_fravaersdag);
CREATE TABLE IF NOT EXISTS ksd_case_history (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    sag_id         TEXT NOT NULL REFERENCES ksd_cases (sag_id),
    at             INTEGER NOT NULL,
    transaktion_id TEXT NOT NULL,
    verdict        TEXT NOT NULL,
    status         TEXT NOT NULL,
    ophoers_aarsag INTEGER,
    ophoers_start  TEXT,
    ophoers_slut   TEXT,
    varighed_kode  TEXT NOT NULL,
    note           TEXT
);
CREATE INDEX IF NOT EXISTS ksd_case_history_sag ON ksd_case_history (sag_id, id);
CREATE TABLE IF NOT EXISTS ksd_updates (
    transaktion_id      TEXT PRIMARY KEY,
    received_at         INTEGER NOT NULL,
    municipality        TEXT NOT NULL,
    cpr                 TEXT NOT NULL,
    sag_id              TEXT NOT NULL REFERENCES ksd_cases (sag_id),
    foerste_fravaersdag TEXT NOT NULL,
    ophoers_aarsag      INTEGER NOT NULL,
    ophoers_start       TEXT NOT NULL,
    ophoers_slut        TEXT,
    verdict             TEXT NOT NULL,
    begrundelse         TEXT,
    raw                 TEXT NOT NULL,
    response            TEXT NOT NULL
);
";

/// KSD's business verdict on an update it accepted for processing (KSD-2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Applied to the case.
    Accepteret,
    /// Not applied, for the reason given (a business rule, not a format error).
    Afvist(String),
}

impl Verdict {
    /// The ForretningsValideringsKode text.
    pub fn code(&self) -> &'static str {
        match self {
            Verdict::Accepteret => "ACCEPTERET",
            Verdict::Afvist(_) => "AFVIST",
        }
    }

    /// The Begrundelse, if any.
    pub fn begrundelse(&self) -> Option<&str> {
        match self {
            Verdict::Accepteret => None,
            Verdict::Afvist(b) => Some(b),
        }
    }
}

/// The business rules KSD applies to a well-formed update. Ending follow-up before the
/// absence began cannot describe a real case, so such an update is rejected (AFVIST), not
/// failed: the message was fine, the request was not.
pub fn verdict(u: &OpdateringFravaer) -> Verdict {
    let first = u.header.foerste_fravaersdag;
    if u.ophoers_start_dato < first {
        return Verdict::Afvist(format!(
            "OphoersStartDato {} is before FoersteFravaersdag {first}: follow-up cannot end before the absence began",
            u.ophoers_start_dato
        ));
    }
    Verdict::Accepteret
}

/// The answer already given to a TransaktionIdentifikator, if it was accepted before (KSD-7).
pub fn stored_response(c: &Connection, transaktion_id: &str) -> rusqlite::Result<Option<String>> {
    c.prepare_cached("SELECT response FROM ksd_updates WHERE transaktion_id = ?1")?
        .query_row([transaktion_id], |r| r.get(0))
        .optional()
}

/// The request and the answer of a TransaktionIdentifikator accepted before (KSD-7): what a
/// repeat is compared with and answered with.
pub fn stored_update(
    c: &Connection,
    transaktion_id: &str,
) -> rusqlite::Result<Option<(String, String)>> {
    c.prepare_cached("SELECT raw, response FROM ksd_updates WHERE transaktion_id = ?1")?
        .query_row([transaktion_id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()
}

/// The case an update is about, and whether it was created now (KSD-9).
///
/// Found by the header's SagIdentifikator when it names a case of the same person in the
/// same municipality; else by (person, municipality, first day of absence); else a new case
/// with an id from `ids`, VarighedKode 60 — 61 when the update's code is one of a pensioner's
/// case (17, 25; KSD-14) — and its duration limit (KSD-9). A SagIdentifikator of another
/// municipality's case is never followed: a jobcenter only works in its own municipality
/// (KSD-12, JC-3).
pub fn find_or_create(
    tx: &Transaction<'_>,
    u: &OpdateringFravaer,
    municipality: Cvr,
    at: OffsetDateTime,
    ids: &IdStream,
    rule: &crate::lifecycle::DurationRule,
) -> rusqlite::Result<(Uuid, bool)> {
    let h = &u.header;
    let (m, cpr, first) = (
        municipality.to_string(),
        h.sygemeldte_part.to_string(),
        h.foerste_fravaersdag.to_string(),
    );
    if let Some(given) = h.sag_identifikator {
        let found: Option<String> = tx
            .prepare_cached(
                "SELECT sag_id FROM ksd_cases WHERE sag_id = ?1 AND municipality = ?2 AND cpr = ?3",
            )?
            .query_row((given.to_string(), &m, &cpr), |r| r.get(0))
            .optional()?;
        if found.is_some() {
            return Ok((given, false));
        }
    }
    let found: Option<String> = tx
        .prepare_cached(
            "SELECT sag_id FROM ksd_cases
             WHERE cpr = ?1 AND municipality = ?2 AND foerste_fravaersdag = ?3
             ORDER BY created_at LIMIT 1",
        )?
        .query_row((&cpr, &m, &first), |r| r.get(0))
        .optional()?;
    if let Some(id) = found {
        let id = id.parse::<Uuid>().map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
        })?;
        return Ok((id, false));
    }
    let id = ids.next_uuid();
    let now = unix_millis(at);
    let pensioner = u.ophoers_aarsag.is_pensioners();
    let kode = if pensioner {
        VarighedKode::Pensionist61
    } else {
        VarighedKode::Oprettet60
    };
    tx.prepare_cached(
        "INSERT INTO ksd_cases (sag_id, municipality, cpr, arbejdsgiver, p_nummer, nem_refusion_id,
             foerste_fravaersdag, status, varighed_kode, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10)",
    )?
    .execute(rusqlite::params![
        id.to_string(),
        m,
        cpr,
        h.arbejdsgiver_part.to_string(),
        h.arbejdsgiver_produktionsenhed.map(|p| p.to_string()),
        h.nem_refusion_identifier.map(|n| n.to_string()),
        first,
        Status::Aktiv.as_str(),
        kode.as_str(),
        now,
    ])?;
    crate::lifecycle::start_in(tx, &id.to_string(), h.foerste_fravaersdag, pensioner, rule)?;
    Ok((id, true))
}

/// An accepted update as it is recorded.
pub struct Recorded<'a> {
    /// The case it applies to.
    pub sag_id: &'a str,
    /// The update.
    pub update: &'a OpdateringFravaer,
    /// The security context's municipality.
    pub municipality: Cvr,
    /// The business verdict.
    pub verdict: &'a Verdict,
    /// Virtual time of receipt.
    pub at: OffsetDateTime,
    /// The request as received.
    pub raw: &'a str,
    /// The transport receipt as answered: what a repeat gets again (KSD-7).
    pub response: &'a str,
    /// Why the case was chosen or made, for the history (e.g. an unknown SagIdentifikator).
    pub note: Option<String>,
}

/// Applies an accepted update: ends the case when the verdict is ACCEPTERET (Status
/// OPHOERT with the update's reason and dates) — except for an approved holiday (24, KSD-14),
/// which keeps the case open and is only written to its history — appends a history row
/// either way, and stores the update with its answer.
pub fn record(tx: &Transaction<'_>, r: &Recorded<'_>) -> rusqlite::Result<()> {
    let u = r.update;
    let at = unix_millis(r.at);
    let tid = u.header.transaktion_identifikator.to_string();
    let (aarsag, start, slut) = (
        u.ophoers_aarsag.code(),
        u.ophoers_start_dato.to_string(),
        u.ophoers_slut_dato.map(|d| d.to_string()),
    );
    let holiday = u.ophoers_aarsag.is_approved_holiday();
    if *r.verdict == Verdict::Accepteret && !holiday {
        tx.prepare_cached(
            "UPDATE ksd_cases SET status = ?2, ophoers_aarsag = ?3, ophoers_start = ?4,
                 ophoers_slut = ?5, updated_at = ?6
             WHERE sag_id = ?1",
        )?
        .execute(rusqlite::params![
            r.sag_id,
            Status::Ophoert.as_str(),
            aarsag,
            start,
            slut,
            at
        ])?;
        crate::lifecycle::close_in(tx, r.sag_id)?;
    }
    let mut note = match (&r.note, r.verdict.begrundelse()) {
        (Some(n), Some(b)) => Some(format!("{n}; {b}")),
        (n, b) => n.clone().or_else(|| b.map(str::to_string)),
    };
    if holiday && *r.verdict == Verdict::Accepteret {
        let text = format!(
            "approved holiday {start}..{}: the case stays open (KSD-14)",
            slut.as_deref().unwrap_or("?")
        );
        note = Some(note.map_or(text.clone(), |n| format!("{n}; {text}")));
    }
    tx.prepare_cached(
        "INSERT INTO ksd_case_history (sag_id, at, transaktion_id, verdict, status,
             ophoers_aarsag, ophoers_start, ophoers_slut, varighed_kode, note)
         SELECT sag_id, ?2, ?3, ?4, status, ophoers_aarsag, ophoers_start, ophoers_slut,
             varighed_kode, ?5
         FROM ksd_cases WHERE sag_id = ?1",
    )?
    .execute(rusqlite::params![r.sag_id, at, tid, r.verdict.code(), note])?;
    tx.prepare_cached(
        "INSERT INTO ksd_updates (transaktion_id, received_at, municipality, cpr, sag_id,
             foerste_fravaersdag, ophoers_aarsag, ophoers_start, ophoers_slut, verdict,
             begrundelse, raw, response)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
    )?
    .execute(rusqlite::params![
        tid,
        at,
        r.municipality.to_string(),
        u.header.sygemeldte_part.to_string(),
        r.sag_id,
        u.header.foerste_fravaersdag.to_string(),
        aarsag,
        start,
        slut,
        r.verdict.code(),
        r.verdict.begrundelse(),
        r.raw,
        r.response,
    ])?;
    Ok(())
}

/// A history row for a change KSD made itself (its duration codes, a case created or ended in
/// KSD): the case as it is now, ACCEPTERET, under `transaktion_id` (the event that told the
/// jobcenter), with `note`.
pub fn own_change_in(
    tx: &Transaction<'_>,
    sag_id: &str,
    at: OffsetDateTime,
    transaktion_id: &str,
    note: &str,
) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT INTO ksd_case_history (sag_id, at, transaktion_id, verdict, status,
             ophoers_aarsag, ophoers_start, ophoers_slut, varighed_kode, note)
         SELECT sag_id, ?2, ?3, 'ACCEPTERET', status, ophoers_aarsag, ophoers_start,
             ophoers_slut, varighed_kode, ?4
         FROM ksd_cases WHERE sag_id = ?1",
    )?
    .execute((sag_id, unix_millis(at), transaktion_id, note))?;
    Ok(())
}

/// A case as the admin API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct CaseView {
    /// SagIdentifikator.
    pub sag_id: String,
    /// Municipality CVR (the security context of the updates).
    pub municipality: String,
    /// The person.
    pub cpr: String,
    /// The notifier.
    pub arbejdsgiver: String,
    /// Production unit, if any.
    pub p_nummer: Option<String>,
    /// NemRefusion's id, if any.
    pub nem_refusion_id: Option<String>,
    /// First day of absence.
    pub foerste_fravaersdag: String,
    /// AKTIV or OPHOERT.
    pub status: String,
    /// Why it ended, as KSD keeps it internally.
    pub ophoers_aarsag: Option<u8>,
    /// The same as KSD writes it outward (KSD-6: 50, 51, 52 become 2).
    pub ophoers_aarsag_outward: Option<u8>,
    /// When follow-up ended.
    pub ophoers_start: Option<String>,
    /// Last approved holiday day.
    pub ophoers_slut: Option<String>,
    /// VarighedKode (KSD-9).
    pub varighed_kode: String,
    /// Created (virtual time).
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Last changed (virtual time).
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// One row of a case's history.
#[derive(Debug, Clone, Serialize)]
pub struct HistoryView {
    /// When (virtual time).
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// The update that caused it.
    pub transaktion_id: String,
    /// ACCEPTERET (applied) or AFVIST (case unchanged).
    pub verdict: String,
    /// Status after the update.
    pub status: String,
    /// OphoersAarsag after the update.
    pub ophoers_aarsag: Option<u8>,
    /// OphoersStartDato after the update.
    pub ophoers_start: Option<String>,
    /// OphoersSlutDato after the update.
    pub ophoers_slut: Option<String>,
    /// VarighedKode after the update.
    pub varighed_kode: String,
    /// Why, when there is something to say.
    pub note: Option<String>,
}

/// A case with its history, oldest first.
#[derive(Debug, Clone, Serialize)]
pub struct CaseWithHistory {
    /// The case.
    #[serde(flatten)]
    pub case: CaseView,
    /// Its history.
    pub history: Vec<HistoryView>,
}

/// An accepted update as the admin API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct UpdateView {
    /// TransaktionIdentifikator.
    pub transaktion_id: String,
    /// Received (virtual time).
    #[serde(with = "time::serde::rfc3339")]
    pub received_at: OffsetDateTime,
    /// Security context's municipality.
    pub municipality: String,
    /// The person.
    pub cpr: String,
    /// The case it applied to.
    pub sag_id: String,
    /// The header's first day of absence.
    pub foerste_fravaersdag: String,
    /// OphoersAarsag as received.
    pub ophoers_aarsag: u8,
    /// OphoersStartDato.
    pub ophoers_start: String,
    /// OphoersSlutDato.
    pub ophoers_slut: Option<String>,
    /// The business verdict sent in the receipt.
    pub verdict: String,
    /// Its Begrundelse.
    pub begrundelse: Option<String>,
    /// The request as received.
    pub raw: String,
    /// The transport receipt answered (and answered again to repeats).
    pub response: String,
}

const CASE_COLUMNS: &str = "sag_id, municipality, cpr, arbejdsgiver, p_nummer, nem_refusion_id,
    foerste_fravaersdag, status, ophoers_aarsag, ophoers_start, ophoers_slut, varighed_kode,
    created_at, updated_at";

fn case_row(r: &Row<'_>) -> rusqlite::Result<CaseView> {
    let aarsag: Option<u8> = r.get(8)?;
    Ok(CaseView {
        sag_id: r.get(0)?,
        municipality: r.get(1)?,
        cpr: r.get(2)?,
        arbejdsgiver: r.get(3)?,
        p_nummer: r.get(4)?,
        nem_refusion_id: r.get(5)?,
        foerste_fravaersdag: r.get(6)?,
        status: r.get(7)?,
        ophoers_aarsag: aarsag,
        ophoers_aarsag_outward: aarsag
            .map(|a| OphoersAarsag::new(a).map_or(a, |c| c.outward().code())),
        ophoers_start: r.get(9)?,
        ophoers_slut: r.get(10)?,
        varighed_kode: r.get(11)?,
        created_at: from_unix_millis(r.get(12)?)?,
        updated_at: from_unix_millis(r.get(13)?)?,
    })
}

/// Cases, filtered by person and/or municipality, newest first, one `page` of them.
pub fn list_cases(
    c: &Connection,
    cpr: Option<&str>,
    municipality: Option<&str>,
    page: sim_kit::admin::Page,
) -> rusqlite::Result<Vec<CaseView>> {
    let sql = format!(
        "SELECT {CASE_COLUMNS} FROM ksd_cases
         WHERE (?1 IS NULL OR cpr = ?1) AND (?2 IS NULL OR municipality = ?2)
         ORDER BY created_at DESC, sag_id LIMIT ?3 OFFSET ?4"
    );
    let mut st = c.prepare_cached(&sql)?;
    let offset = i64::try_from(page.offset()).unwrap_or(i64::MAX);
    let rows = st.query_map((cpr, municipality, page.limit(), offset), case_row)?;
    rows.collect()
}

/// One case with its history.
pub fn case(c: &Connection, sag_id: &str) -> rusqlite::Result<Option<CaseWithHistory>> {
    let sql = format!("SELECT {CASE_COLUMNS} FROM ksd_cases WHERE sag_id = ?1");
    let Some(case) = c
        .prepare_cached(&sql)?
        .query_row([sag_id], case_row)
        .optional()?
    else {
        return Ok(None);
    };
    let mut st = c.prepare_cached(
        "SELECT at, transaktion_id, verdict, status, ophoers_aarsag, ophoers_start, ophoers_slut,
             varighed_kode, note
         FROM ksd_case_history WHERE sag_id = ?1 ORDER BY id",
    )?;
    let history = st
        .query_map([sag_id], |r| {
            Ok(HistoryView {
                at: from_unix_millis(r.get(0)?)?,
                transaktion_id: r.get(1)?,
                verdict: r.get(2)?,
                status: r.get(3)?,
                ophoers_aarsag: r.get(4)?,
                ophoers_start: r.get(5)?,
                ophoers_slut: r.get(6)?,
                varighed_kode: r.get(7)?,
                note: r.get(8)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(Some(CaseWithHistory { case, history }))
}

/// One accepted update.
pub fn update(c: &Connection, transaktion_id: &str) -> rusqlite::Result<Option<UpdateView>> {
    c.prepare_cached(
        "SELECT transaktion_id, received_at, municipality, cpr, sag_id, foerste_fravaersdag,
             ophoers_aarsag, ophoers_start, ophoers_slut, verdict, begrundelse, raw, response
         FROM ksd_updates WHERE transaktion_id = ?1",
    )?
    .query_row([transaktion_id], |r| {
        Ok(UpdateView {
            transaktion_id: r.get(0)?,
            received_at: from_unix_millis(r.get(1)?)?,
            municipality: r.get(2)?,
            cpr: r.get(3)?,
            sag_id: r.get(4)?,
            foerste_fravaersdag: r.get(5)?,
            ophoers_aarsag: r.get(6)?,
            ophoers_start: r.get(7)?,
            ophoers_slut: r.get(8)?,
            verdict: r.get(9)?,
            begrundelse: r.get(10)?,
            raw: r.get(11)?,
            response: r.get(12)?,
        })
    })
    .optional()
}

/// Counts for `/counters`: cases by status and updates by verdict.
pub fn counts(c: &Connection) -> rusqlite::Result<Vec<(String, String, u64)>> {
    let mut out = Vec::new();
    let mut st = c.prepare_cached("SELECT status, COUNT(*) FROM ksd_cases GROUP BY status")?;
    for row in st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))? {
        let (k, n) = row?;
        out.push(("cases".into(), k, u64::try_from(n).unwrap_or(0)));
    }
    let mut st = c.prepare_cached("SELECT verdict, COUNT(*) FROM ksd_updates GROUP BY verdict")?;
    for row in st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))? {
        let (k, n) = row?;
        out.push(("updates".into(), k, u64::try_from(n).unwrap_or(0)));
    }
    Ok(out)
}

/// A case as KSD writes it outward (`sft:Sag`, KSD-6: 50–52 go out as 2), with the header
/// fields its messages repeat; `None` when there is no such case.
pub fn sag(c: &Connection, sag_id: &str) -> rusqlite::Result<Option<sim_wire::Sag>> {
    let sql = format!("SELECT {CASE_COLUMNS} FROM ksd_cases WHERE sag_id = ?1");
    let Some(v) = c
        .prepare_cached(&sql)?
        .query_row([sag_id], case_row)
        .optional()?
    else {
        return Ok(None);
    };
    Ok(Some(sag_of(&v)?))
}

/// The wire form of a stored case: every column was written from a valid wire value.
fn sag_of(v: &CaseView) -> rusqlite::Result<sim_wire::Sag> {
    fn parse<T: std::str::FromStr>(s: &str) -> rusqlite::Result<T>
    where
        T::Err: std::error::Error + Send + Sync + 'static,
    {
        s.parse::<T>().map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
        })
    }
    fn opt<T: std::str::FromStr>(s: &Option<String>) -> rusqlite::Result<Option<T>>
    where
        T::Err: std::error::Error + Send + Sync + 'static,
    {
        s.as_deref().map(parse).transpose()
    }
    Ok(sim_wire::Sag {
        sag_identifikator: parse(&v.sag_id)?,
        nem_refusion_identifier: opt(&v.nem_refusion_id)?,
        sygemeldte_part: parse(&v.cpr)?,
        myndighed: parse(&v.municipality)?,
        arbejdsgiver_part: parse(&v.arbejdsgiver)?,
        arbejdsgiver_produktionsenhed: opt(&v.p_nummer)?,
        foerste_fravaersdag: parse(&v.foerste_fravaersdag)?,
        status: parse(&v.status)?,
        ophoers_aarsag: v.ophoers_aarsag_outward.and_then(OphoersAarsag::new),
        ophoers_start_dato: opt(&v.ophoers_start)?,
        ophoers_slut_dato: opt(&v.ophoers_slut)?,
        varighed_kode: parse(&v.varighed_kode)?,
        // Only SF2096's answers carry the history (flows::sf2096).
        historik: Vec::new(),
    })
}
