//! SF2096: a jobcenter looks up KSD's cases synchronously (`HentSag`, `HentSagsListe`),
//! through the platform's pass-through (SP-13).
//!
//! Data delimitation (KSD-12): only cases whose Myndighed is the calling municipality — the
//! security context's MunicipalityCVR, the only municipality a look-up names — are ever
//! returned. Another municipality's case must look exactly like one that does not exist, so
//! the municipality is part of every query (one probe of an index holding key and
//! municipality, whether the key is unknown or someone else's) and a miss is one answer with one text for both: nothing in it, nor in its
//! timing class, says the key exists elsewhere.
//!
//! Cases are as seen from outside: OphoersAarsag 50–52 go out as 2 (KSD-6), as in SF2090's
//! events; each carries its `StatusHistorik` (defined here): every change KSD made to it,
//! oldest first — the accepted updates and KSD's own changes (duration codes, ends), not
//! the rejected updates, which changed nothing.
//!
//! *Defined here* (the seed gives only the operations' purpose):
//! - `HentSag` by SagIdentifikator or NemRefusionIdentifier answers the `Sag`, or a
//!   TransportKvittering FEJL `KSD-12.UKENDT` when the caller has no such case.
//! - `HentSagsListe` answers the caller's cases, newest first by FoersteFravaersdag, of the
//!   person named (SygemeldtePart) and/or overlapping the period (PeriodeFra..PeriodeTil; a
//!   case lasts from its first day to its OphoersStartDato, or is open). It needs
//!   SygemeldtePart or both period dates, and answers at most [`MAX_LIST`] cases; a broader
//!   query is refused with a SOAP fault naming KSD-12 (the response has no room for a
//!   receipt), so a list is never silently cut short.
//! - SLA classes (SP-8): `HentSag` medium (1.5 s), `HentSagsListe` complex (4 s), as
//!   `sim-check`'s flow table assigns them: one case assembled from its row versus a
//!   filtered range.
//!
//! Nothing is stored for a look-up but its journal rows (request in, response out, outcome OK
//! or FEJL), which is what the `no-cross-municipality-read` checker reads.

use axum::response::Response;
use rusqlite::{Connection, OptionalExtension};
use sim_kit::soap::{ok_response, SoapCall};
use sim_store::Outcome;
use sim_wire::{
    Cvr, DatoTid, Decoded, HentSag, HentSagsListe, Operation, OphoersAarsag, Payload, ResponseBody,
    Rule, Sag, StatusAendring,
};

use super::sf2090::{answer, fejl, readable, rows};
use crate::cases;
use crate::state::{Ksd, Seen};

/// The most cases one `HentSagsListe` answers; a query that matches more is refused.
pub const MAX_LIST: usize = 500;

/// Indexes the look-ups use; the municipality is in each, so a miss costs the same whether
/// the key is unknown or another municipality's.
pub const MIGRATION: &str = "
CREATE INDEX IF NOT EXISTS ksd_cases_nem_refusion ON ksd_cases (nem_refusion_id, municipality);
CREATE INDEX IF NOT EXISTS ksd_cases_municipality ON ksd_cases (municipality, foerste_fravaersdag);
CREATE INDEX IF NOT EXISTS ksd_cases_key ON ksd_cases (sag_id, municipality);
";

/// The one text of a miss, whatever the reason (KSD-12).
const NOT_FOUND: &str = "the calling municipality has no case with this key";

/// Handles `HentSag`.
pub async fn hent_sag(k: &Ksd, call: &SoapCall, decoded: Decoded, seen: &Seen) -> Response {
    let raw = call.text();
    let op = Operation::HentSag;
    let (key, municipality) = match readable(&decoded, "HentSag", |p| match p {
        Payload::HentSag(h) => Some(*h),
        _ => None,
    }) {
        Ok(r) => r,
        Err(kv) => return answer(k, seen, op, raw, kv, Outcome::Fejl, None).await,
    };
    match k.db.read(move |c| find(c, key, municipality)).await {
        Ok(Some(sag)) => {
            let detail = format!(
                "{}: case {} of {municipality}",
                Rule::Ksd12,
                sag.sag_identifikator
            );
            respond(k, seen, op, raw, ResponseBody::Sag(Box::new(sag)), detail).await
        }
        Ok(None) => {
            let kv = fejl(Rule::Ksd12, "UKENDT", NOT_FOUND);
            let detail = format!("{}: {NOT_FOUND}", Rule::Ksd12);
            answer(k, seen, op, raw, kv, Outcome::Fejl, Some(detail)).await
        }
        Err(e) => {
            let text = format!("KSD could not read its cases; ask again: {e}");
            k.refuse(seen, raw, false, Rule::Ksd12, text).await
        }
    }
}

/// Handles `HentSagsListe`.
pub async fn hent_sags_liste(k: &Ksd, call: &SoapCall, decoded: Decoded, seen: &Seen) -> Response {
    let raw = call.text();
    let op = Operation::HentSagsListe;
    let (query, municipality) = match readable(&decoded, "HentSagsListe", |p| match p {
        Payload::HentSagsListe(h) => Some(*h),
        _ => None,
    }) {
        Ok(r) => r,
        Err(kv) => return answer(k, seen, op, raw, kv, Outcome::Fejl, None).await,
    };
    let bounded = query.periode_fra.is_some() && query.periode_til.is_some();
    if query.sygemeldte_part.is_none() && !bounded {
        let text =
            "HentSagsListe needs SygemeldtePart or both PeriodeFra and PeriodeTil".to_string();
        return k.refuse(seen, raw, true, Rule::Ksd12, text).await;
    }
    match k.db.read(move |c| list(c, &query, municipality)).await {
        Ok(None) => {
            let text = format!(
                "more than {MAX_LIST} cases match; name SygemeldtePart or narrow the period"
            );
            k.refuse(seen, raw, true, Rule::Ksd12, text).await
        }
        Ok(Some(cases)) => {
            let detail = format!("{}: {} case(s) of {municipality}", Rule::Ksd12, cases.len());
            respond(k, seen, op, raw, ResponseBody::SagsListe(cases), detail).await
        }
        Err(e) => {
            let text = format!("KSD could not read its cases; ask again: {e}");
            k.refuse(seen, raw, false, Rule::Ksd12, text).await
        }
    }
}

/// Answers a found case or list, journaled OK.
async fn respond(
    k: &Ksd,
    seen: &Seen,
    op: Operation,
    raw: String,
    body: ResponseBody,
    detail: String,
) -> Response {
    let response = sim_wire::write_response(&sim_wire::Response {
        operation: op,
        body,
    });
    let rows = rows(
        seen,
        k.now(),
        raw,
        Outcome::Ok,
        Some(detail),
        response.clone(),
    );
    k.journal.record_all(rows).await;
    ok_response(response)
}

/// The caller's case with this key, as seen from outside; `None` for a key that is unknown
/// or another municipality's (KSD-12).
pub fn find(c: &Connection, key: HentSag, municipality: Cvr) -> rusqlite::Result<Option<Sag>> {
    let (column, value) = match key {
        HentSag::SagIdentifikator(id) => ("sag_id", id.to_string()),
        HentSag::NemRefusionIdentifier(id) => ("nem_refusion_id", id.to_string()),
    };
    let sql =
        format!("SELECT sag_id FROM ksd_cases WHERE {column} = ?1 AND municipality = ?2 LIMIT 1");
    let found: Option<String> = c
        .prepare_cached(&sql)?
        .query_row((value, municipality.to_string()), |r| r.get(0))
        .optional()?;
    match found {
        Some(id) => with_history(c, &id),
        None => Ok(None),
    }
}

/// The case as seen from outside, with its history.
fn with_history(c: &Connection, sag_id: &str) -> rusqlite::Result<Option<Sag>> {
    let Some(mut sag) = cases::sag(c, sag_id)? else {
        return Ok(None);
    };
    sag.historik = historik(c, sag_id)?;
    Ok(Some(sag))
}

/// Every change KSD made to a case, oldest first, with outward codes (KSD-6).
fn historik(c: &Connection, sag_id: &str) -> rusqlite::Result<Vec<StatusAendring>> {
    fn parse<T: std::str::FromStr>(i: usize, s: &str) -> rusqlite::Result<T>
    where
        T::Err: std::error::Error + Send + Sync + 'static,
    {
        s.parse::<T>().map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, Box::new(e))
        })
    }
    let mut st = c.prepare_cached(
        "SELECT at, status, ophoers_aarsag, ophoers_start, ophoers_slut, varighed_kode
         FROM ksd_case_history WHERE sag_id = ?1 AND verdict = 'ACCEPTERET' ORDER BY id",
    )?;
    let rows = st.query_map([sag_id], |r| {
        let at: i64 = r.get(0)?;
        let status: String = r.get(1)?;
        let aarsag: Option<u8> = r.get(2)?;
        let start: Option<String> = r.get(3)?;
        let slut: Option<String> = r.get(4)?;
        let kode: String = r.get(5)?;
        Ok(StatusAendring {
            registrering_dato_tid: DatoTid(sim_store::from_unix_millis(at)?),
            status: parse(1, &status)?,
            ophoers_aarsag: aarsag
                .and_then(OphoersAarsag::new)
                .map(OphoersAarsag::outward),
            ophoers_start_dato: start.as_deref().map(|d| parse(3, d)).transpose()?,
            ophoers_slut_dato: slut.as_deref().map(|d| parse(4, d)).transpose()?,
            varighed_kode: parse(5, &kode)?,
        })
    })?;
    rows.collect()
}

/// The caller's cases matching `q`, newest first, each with its history; `None` when more
/// than [`MAX_LIST`] match (told from the ids alone: no case is assembled for a refusal).
pub fn list(
    c: &Connection,
    q: &HentSagsListe,
    municipality: Cvr,
) -> rusqlite::Result<Option<Vec<Sag>>> {
    // One statement per shape, so SQLite uses the person's index (cpr, municipality, ...) when
    // a person is named and the municipality's otherwise; both hold the municipality.
    let by_person = "SELECT sag_id FROM ksd_cases
         WHERE cpr = ?2 AND municipality = ?1
           AND (?3 IS NULL OR foerste_fravaersdag <= ?3)
           AND (?4 IS NULL OR status <> 'OPHOERT' OR ophoers_start IS NULL OR ophoers_start >= ?4)
         ORDER BY foerste_fravaersdag DESC, sag_id
         LIMIT ?5";
    let by_period = "SELECT sag_id FROM ksd_cases
         WHERE municipality = ?1 AND ?2 IS NULL
           AND (?3 IS NULL OR foerste_fravaersdag <= ?3)
           AND (?4 IS NULL OR status <> 'OPHOERT' OR ophoers_start IS NULL OR ophoers_start >= ?4)
         ORDER BY foerste_fravaersdag DESC, sag_id
         LIMIT ?5";
    let sql = if q.sygemeldte_part.is_some() {
        by_person
    } else {
        by_period
    };
    let mut st = c.prepare_cached(sql)?;
    let ids = st
        .query_map(
            (
                municipality.to_string(),
                q.sygemeldte_part.map(|p| p.to_string()),
                q.periode_til.map(|d| d.to_string()),
                q.periode_fra.map(|d| d.to_string()),
                i64::try_from(MAX_LIST + 1).unwrap_or(i64::MAX),
            ),
            |r| r.get::<_, String>(0),
        )?
        .collect::<Result<Vec<_>, _>>()?;
    if ids.len() > MAX_LIST {
        return Ok(None);
    }
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(s) = with_history(c, &id)? {
            out.push(s);
        }
    }
    Ok(Some(out))
}
