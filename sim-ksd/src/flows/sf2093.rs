//! SF2093, extension requests (KSD-11): before a case's duration limit KSD asks the
//! municipality's jobcenter whether the case is extended (`SendAnmodningForlaengelse` on the
//! platform's JC exposure, a pass-through to the jobcenter's `ModtagAnmodningForlaengelse`);
//! the jobcenter answers with `SendForretningsSvarForlaengelse` (same TransaktionIdentifikator)
//! on the KSD exposure, forwarded here as `ModtagForretningsSvarForlaengelse`.
//!
//! What the answer does (KSD-9): a time-limited extension makes the case 62 with its end date
//! as the new limit (and a new request before it), an unlimited one 64; either is told to the
//! jobcenter as an SF2090 event (AENDRET). A rejection leaves the code as it is, *defined
//! here*: the jobcenter is expected to end follow-up with an SF2095 update; a case still open
//! at its limit becomes 63 like one never answered ([`crate::lifecycle`]).
//!
//! A late answer (after SvarFrist, or after the case became 63) is still applied — the
//! jobcenter's decision replaces the technical extension — and answered ADVARSEL
//! `KSD-11.SEN`, so the lateness is on record; an answer for an ended case is answered
//! ADVARSEL and changes nothing. An answer from another municipality than the case's is FEJL
//! (JC-3); a repeated answer is answered OK again and changes nothing.

use axum::response::Response;
use rusqlite::OptionalExtension;
use serde::Serialize;
use sim_kit::soap::{ok_response, SoapCall};
use sim_store::{from_unix_millis, unix_millis, Journal, Outcome};
use sim_wire::{
    AnmodningForlaengelse, AuthorityContext, Dato, Decoded, Fejl, ForlaengelseType, HaendelseType,
    Operation, Payload, Request, Rule, Status, SvarForlaengelse, TransportKvittering,
    TransportValideringsKode, VarighedKode,
};
use time::OffsetDateTime;

use super::sf2090::{self, answer, fejl, kvittering_xml, ok, readable, rows};
use crate::cases;
use crate::lifecycle;
use crate::send::{self, Meta};
use crate::state::{Ksd, Seen};

/// KSD's record of its extension requests and the answers they got.
pub const MIGRATION: &str = "
CREATE TABLE IF NOT EXISTS ksd_extension_requests (
    transaktion_id TEXT PRIMARY KEY,
    sag_id         TEXT NOT NULL,
    municipality   TEXT NOT NULL,
    sent_at        INTEGER NOT NULL,
    graense        TEXT NOT NULL,
    svar_frist     TEXT NOT NULL,
    transport      TEXT,
    answer         TEXT,
    slut_dato      TEXT,
    begrundelse    TEXT,
    answered_at    INTEGER,
    late           INTEGER NOT NULL DEFAULT 0,
    applied        INTEGER NOT NULL DEFAULT 0,
    answers        INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS ksd_extension_requests_sag ON ksd_extension_requests (sag_id);
";

/// Sends the extension request for case `sag_id`, due now: recorded, the case's next request
/// cleared, and the message in the outbox, in one commit.
pub async fn request(
    k: &Ksd,
    sag_id: &str,
    now: OffsetDateTime,
) -> Result<(), sim_store::StoreError> {
    let sag_id = sag_id.to_string();
    let tid = k.message_ids.next_uuid();
    let (ksd_system, rule) = (k.ksd_system, k.duration);
    k.db.write(move |tx| {
        let Some(limit) = lifecycle::limit(tx, &sag_id)? else {
            return Ok(());
        };
        tx.prepare_cached("UPDATE ksd_limits SET request_on = NULL WHERE sag_id = ?1")?
            .execute([&sag_id])?;
        let Some(sag) = cases::sag(tx, &sag_id)? else {
            return Ok(());
        };
        if !limit.open || sag.status != Status::Aktiv {
            return Ok(());
        }
        let graense: Dato = limit.graense.parse().map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
        })?;
        if graense <= Dato(now.date()) {
            // The limit is reached already (a case KSD learnt of late): no request can be
            // answered in time; the lifecycle sets 63 (KSD-9).
            return Ok(());
        }
        let svar_frist = rule.svar_frist(graense);
        let request = Request {
            operation: Operation::SendAnmodningForlaengelse,
            call_context: None,
            authority_context: Some(AuthorityContext {
                municipality_cvr: sag.myndighed,
            }),
            payload: Payload::AnmodningForlaengelse(AnmodningForlaengelse {
                header: sf2090::header_for(&sag, tid, ksd_system, now),
                sag: sag.clone(),
                varighedsgraense_dato: graense,
                svar_frist,
            }),
        };
        tx.prepare_cached(
            "INSERT INTO ksd_extension_requests (transaktion_id, sag_id, municipality, sent_at,
                 graense, svar_frist)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?
        .execute((
            tid.to_string(),
            &sag_id,
            sag.myndighed.to_string(),
            unix_millis(now),
            graense.to_string(),
            svar_frist.to_string(),
        ))?;
        let meta = Meta {
            operation: Operation::SendAnmodningForlaengelse.label(),
            municipality: sag.myndighed.to_string(),
            cpr: sag.sygemeldte_part.to_string(),
            call_id: tid.to_string(),
        };
        send::enqueue_in(tx, &request, &meta, now, now)
    })
    .await
}

/// Records how the jobcenter answered the request's delivery (its TransportKvittering code).
pub async fn delivered(k: &Ksd, key: &str, kode: TransportValideringsKode) {
    let key = key.to_string();
    let r =
        k.db.write(move |tx| {
            tx.prepare_cached(
                "UPDATE ksd_extension_requests SET transport = ?2 WHERE transaktion_id = ?1",
            )?
            .execute((key, kode.as_str()))
        })
        .await;
    if let Err(e) = r {
        tracing::warn!(error = %e, "could not record a request's delivery");
    }
}

/// What the answer's transaction decided.
enum Applied {
    /// Recorded and applied (or a rejection recorded), journaled; the answer to send.
    Done(String),
    /// Answered before with the same answer: counted and journaled; the answer to send.
    Repeat(String),
    /// No request of KSD has this TransaktionIdentifikator.
    Unknown,
    /// The request went to another municipality (JC-3).
    OtherMunicipality(String),
    /// Answered before with another answer (KSD-7: the TransaktionIdentifikator is reused).
    Reused(String),
    /// The answer cannot be applied as given (why).
    Invalid(String),
}

impl Applied {
    /// The FEJL receipt of a refused answer: rule, FejlKode suffix, text; `None` when the
    /// answer was taken.
    fn refusal(&self, tid: &str, context: &str) -> Option<(Rule, &'static str, String)> {
        Some(match self {
            Applied::Done(_) | Applied::Repeat(_) => return None,
            Applied::Unknown => (
                Rule::Ksd11,
                "UKENDT",
                format!("TransaktionIdentifikator {tid} names no extension request KSD sent"),
            ),
            Applied::OtherMunicipality(m) => (
                Rule::Jc3,
                "MYNDIGHED",
                format!("the request went to municipality {m}; an answer for it from {context} is refused"),
            ),
            Applied::Reused(before) => (
                Rule::Ksd7,
                "reused",
                format!("this request was answered {before} before; another answer under the same TransaktionIdentifikator is not processed"),
            ),
            Applied::Invalid(text) => (Rule::Ksd11, "SLUTDATO", text.clone()),
        })
    }
}

/// A request as recorded, when its answer comes.
struct Asked {
    sag_id: String,
    municipality: String,
    svar_frist: String,
    graense: String,
    /// The answer recorded before, if any (its kind), and its end date.
    answered: Option<String>,
    answered_slut: Option<String>,
}

/// An answer as KSD records it: its kind, a time-limited extension's end, a rejection's
/// reason.
fn recorded_form(svar: &SvarForlaengelse) -> (&'static str, Option<String>, Option<String>) {
    match svar {
        SvarForlaengelse::Forlaengelse {
            forlaengelse_type,
            forlaengelse_slut_dato,
        } => (
            forlaengelse_type.as_str(),
            forlaengelse_slut_dato.map(|d| d.to_string()),
            None,
        ),
        SvarForlaengelse::Afvisning { begrundelse } => {
            ("AFVISNING", None, Some(begrundelse.clone()))
        }
    }
}

/// Handles `ModtagForretningsSvarForlaengelse`: the jobcenter's answer to a request. Read,
/// then decided and recorded in one transaction ([`decide`]), then answered.
pub async fn receive_answer(k: &Ksd, call: &SoapCall, decoded: Decoded, seen: &Seen) -> Response {
    let raw = call.text();
    let op = Operation::ModtagForretningsSvarForlaengelse;
    let read = readable(&decoded, "ForretningsSvarForlaengelse", |p| match p {
        Payload::ForretningsSvarForlaengelse(f) => Some(f.clone()),
        _ => None,
    });
    let (svar, context) = match read {
        Ok(r) => r,
        Err(kv) => return answer(k, seen, op, raw, kv, Outcome::Fejl, None).await,
    };
    let tid = svar.header.transaktion_identifikator.to_string();
    let d = Deciding {
        svar,
        context: context.to_string(),
        now: k.now(),
        rule: k.duration,
        ksd_system: k.ksd_system,
        event_tid: k.message_ids.next_uuid(),
        seen: seen.clone(),
        raw: raw.clone(),
    };
    let decided = k.db.write(move |tx| decide(tx, d)).await;
    match decided {
        Ok(Applied::Done(response)) => {
            k.outbox.notify();
            ok_response(response)
        }
        Ok(Applied::Repeat(response)) => ok_response(response),
        Ok(refused) => {
            let (rule, what, text) = refused
                .refusal(&tid, &context.to_string())
                .expect("taken answers are matched above");
            let kv = fejl(rule, what, &text);
            answer(k, seen, op, raw, kv, Outcome::Fejl, Some(text)).await
        }
        Err(e) => {
            let text = format!("KSD could not record the answer; resend: {e}");
            k.refuse(seen, raw, false, Rule::Ksd11, text).await
        }
    }
}

/// Everything the answer's transaction needs (it runs on the store's writer thread).
struct Deciding {
    svar: sim_wire::ForretningsSvarForlaengelse,
    /// The security context's municipality.
    context: String,
    now: OffsetDateTime,
    rule: lifecycle::DurationRule,
    ksd_system: sim_wire::Uuid,
    /// The TransaktionIdentifikator of the AENDRET event an applied extension causes.
    event_tid: sim_wire::Uuid,
    seen: Seen,
    raw: String,
}

/// Decides an answer against its request and records the outcome: a refusal is returned
/// (and journaled by the caller); a repeat is counted; anything else is applied to the case
/// and recorded with its journal rows.
fn decide(tx: &rusqlite::Transaction<'_>, d: Deciding) -> rusqlite::Result<Applied> {
    let op = Operation::ModtagForretningsSvarForlaengelse;
    let tid = d.svar.header.transaktion_identifikator.to_string();
    let found = tx
        .prepare_cached(
            "SELECT sag_id, municipality, svar_frist, graense, answer, slut_dato
             FROM ksd_extension_requests WHERE transaktion_id = ?1",
        )?
        .query_row([&tid], |r| {
            Ok(Asked {
                sag_id: r.get(0)?,
                municipality: r.get(1)?,
                svar_frist: r.get(2)?,
                graense: r.get(3)?,
                answered: r.get(4)?,
                answered_slut: r.get(5)?,
            })
        })
        .optional()?;
    let Some(asked) = found else {
        return Ok(Applied::Unknown);
    };
    if asked.municipality != d.context {
        return Ok(Applied::OtherMunicipality(asked.municipality));
    }
    let (kind, slut, begrundelse) = recorded_form(&d.svar.svar);
    if let Some(before) = &asked.answered {
        if before != kind || asked.answered_slut != slut {
            // KSD-7: a TransaktionIdentifikator names one message; another answer under it
            // is not a repeat.
            return Ok(Applied::Reused(before.clone()));
        }
        tx.prepare_cached(
            "UPDATE ksd_extension_requests SET answers = answers + 1 WHERE transaktion_id = ?1",
        )?
        .execute([&tid])?;
        let response = kvittering_xml(op, ok());
        let detail = format!("{}: answered before; nothing changes", Rule::Ksd11);
        for r in rows(
            &d.seen,
            d.now,
            d.raw,
            Outcome::Duplicate,
            Some(detail),
            response.clone(),
        ) {
            Journal::record_in(tx, &r)?;
        }
        return Ok(Applied::Repeat(response));
    }
    if let Some(end) = slut.as_deref().filter(|end| *end <= asked.graense.as_str()) {
        return Ok(Applied::Invalid(format!(
            "ForlaengelseSlutDato {end} does not extend the limit {}",
            asked.graense
        )));
    }
    let done = apply(tx, &asked, &d)?;
    tx.prepare_cached(
        "UPDATE ksd_extension_requests SET answer = ?2, slut_dato = ?3, begrundelse = ?4,
             answered_at = ?5, late = ?6, applied = ?7, answers = answers + 1
         WHERE transaktion_id = ?1",
    )?
    .execute(rusqlite::params![
        tid,
        kind,
        slut,
        begrundelse,
        unix_millis(d.now),
        done.late,
        done.applied,
    ])?;
    let kv = if done.warnings.is_empty() {
        ok()
    } else {
        let text: Vec<String> = done.warnings.iter().map(|f| f.fejl_tekst.clone()).collect();
        TransportKvittering {
            kode: TransportValideringsKode::Advarsel,
            begrundelse: Some(text.join("; ")),
            fejl_liste: done.warnings,
        }
    };
    let outcome = Outcome::from(kv.kode);
    let response = kvittering_xml(op, kv);
    let detail = Some(format!("{}: {kind} for case {}", Rule::Ksd11, asked.sag_id));
    for r in rows(&d.seen, d.now, d.raw, outcome, detail, response.clone()) {
        Journal::record_in(tx, &r)?;
    }
    Ok(Applied::Done(response))
}

/// What applying an answer did: the receipt's warnings, whether it came late, and whether it
/// changed the case (not for an ended one).
struct Done {
    warnings: Vec<Fejl>,
    late: bool,
    applied: bool,
}

/// Applies an answer to its case (KSD-9): 62 with the new limit (63 at once when that has
/// passed too), 64, or — for a rejection — no change; an AENDRET event for a changed code.
fn apply(tx: &rusqlite::Transaction<'_>, asked: &Asked, d: &Deciding) -> rusqlite::Result<Done> {
    let mut done = Done {
        warnings: Vec::new(),
        late: false,
        applied: true,
    };
    let sag_id = asked.sag_id.as_str();
    let Some(sag) = cases::sag(tx, sag_id)? else {
        done.applied = false;
        return Ok(done);
    };
    let today = Dato(d.now.date()).to_string();
    if sag.status != Status::Aktiv {
        done.applied = false;
        done.warnings.push(Fejl {
            fejl_kode: format!("{}.AFSLUTTET", Rule::Ksd11.id()),
            fejl_tekst: format!("case {sag_id} has ended; the answer changes nothing"),
        });
        return Ok(done);
    }
    if today > asked.svar_frist || sag.varighed_kode == VarighedKode::Udloebet63 {
        done.late = true;
        done.warnings.push(Fejl {
            fejl_kode: format!("{}.SEN", Rule::Ksd11.id()),
            fejl_tekst: format!(
                "answered after SvarFrist {}; applied all the same",
                asked.svar_frist
            ),
        });
    }
    let tid = d.event_tid.to_string();
    let (kode, limit, note) = match &d.svar.svar {
        SvarForlaengelse::Forlaengelse {
            forlaengelse_type: ForlaengelseType::Tidsbegraenset,
            forlaengelse_slut_dato: Some(slut),
        } => (
            VarighedKode::Tidsbegraenset62,
            Some((*slut, &d.rule)),
            format!("time-limited extension to {slut}: 62 (KSD-9, KSD-11)"),
        ),
        SvarForlaengelse::Forlaengelse { .. } => (
            VarighedKode::Tidsubegraenset64,
            None,
            "unlimited extension: 64 (KSD-9, KSD-11)".to_string(),
        ),
        SvarForlaengelse::Afvisning { .. } => return Ok(done),
    };
    lifecycle::set_code_in(tx, sag_id, kode, limit, d.now, &tid, &note)?;
    if let Some((slut, _)) = limit.filter(|(slut, _)| slut.to_string() <= today) {
        // An extension that has ended already (answered late, or for a case long past its
        // first limit): its limit is reached as it is applied (KSD-9).
        let note = format!("the extension to {slut} has ended already: 63 (KSD-9)");
        lifecycle::set_code_in(
            tx,
            sag_id,
            VarighedKode::Udloebet63,
            None,
            d.now,
            &tid,
            &note,
        )?;
    }
    sf2090::event_in(
        tx,
        sag_id,
        HaendelseType::Aendret,
        d.event_tid,
        d.ksd_system,
        &d.rule,
        d.now,
    )?;
    Ok(done)
}

/// An extension request as the admin API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct RequestView {
    /// Its TransaktionIdentifikator.
    pub transaktion_id: String,
    /// The case.
    pub sag_id: String,
    /// The municipality asked.
    pub municipality: String,
    /// When KSD wrote it (virtual time).
    #[serde(with = "time::serde::rfc3339")]
    pub sent_at: OffsetDateTime,
    /// VarighedsgraenseDato.
    pub graense: String,
    /// SvarFrist.
    pub svar_frist: String,
    /// The jobcenter's TransportKvittering code, once delivered.
    pub transport: Option<String>,
    /// TIDSBEGRAENSET, TIDSUBEGRAENSET or AFVISNING, once answered.
    pub answer: Option<String>,
    /// The time-limited extension's end.
    pub slut_dato: Option<String>,
    /// A rejection's reason.
    pub begrundelse: Option<String>,
    /// When answered (virtual time).
    #[serde(with = "time::serde::rfc3339::option")]
    pub answered_at: Option<OffsetDateTime>,
    /// Answered after SvarFrist (or after the case became 63).
    pub late: bool,
    /// Whether it was applied to the case (not for an ended case).
    pub applied: bool,
    /// How many answers came (1 when all is well).
    pub answers: u32,
}

/// Extension requests, newest first, optionally of one case.
pub fn list(
    c: &rusqlite::Connection,
    sag_id: Option<&str>,
    page: sim_kit::admin::Page,
) -> rusqlite::Result<Vec<RequestView>> {
    let offset = i64::try_from(page.offset()).unwrap_or(i64::MAX);
    c.prepare_cached(
        "SELECT transaktion_id, sag_id, municipality, sent_at, graense, svar_frist, transport,
             answer, slut_dato, begrundelse, answered_at, late, applied, answers
         FROM ksd_extension_requests WHERE (?1 IS NULL OR sag_id = ?1)
         ORDER BY sent_at DESC, transaktion_id LIMIT ?2 OFFSET ?3",
    )?
    .query_map((sag_id, page.limit(), offset), |r| {
        Ok(RequestView {
            transaktion_id: r.get(0)?,
            sag_id: r.get(1)?,
            municipality: r.get(2)?,
            sent_at: from_unix_millis(r.get(3)?)?,
            graense: r.get(4)?,
            svar_frist: r.get(5)?,
            transport: r.get(6)?,
            answer: r.get(7)?,
            slut_dato: r.get(8)?,
            begrundelse: r.get(9)?,
            answered_at: r
                .get::<_, Option<i64>>(10)?
                .map(from_unix_millis)
                .transpose()?,
            late: r.get(11)?,
            applied: r.get(12)?,
            answers: r.get(13)?,
        })
    })?
    .collect()
}
