//! SF2090, case events (KSD-10): KSD tells the municipality's jobcenter that a case was
//! created, changed or ended (`SendHaendelse` on the platform's JC exposure, a pass-through to
//! the jobcenter's `ModtagHaendelse`), and the jobcenter acknowledges it with
//! `SendForretningsSvar` (same TransaktionIdentifikator, code MODTAGET) on the KSD exposure,
//! which the platform forwards here as `ModtagForretningsSvar`.
//!
//! Which changes are events, *defined here*: what the jobcenter did not cause itself — a case
//! created from NemRefusion or by hand (admin `POST /cases`), KSD's duration codes (62, 64 from
//! its extension answers, 63 at the limit; KSD-9), an end set in KSD (admin
//! `POST /cases/{id}/end`). The outcome of a jobcenter's own SF2095 update comes back as that
//! update's business receipt (KSD-2), not as an event.
//!
//! At least once: an event is written with the case change, in one commit, into the outbox
//! ([`crate::send`]); one the jobcenter has not acknowledged within the rule's timeout
//! ([`crate::lifecycle::DurationRule::ack_timeout`]) is sent again, same bytes; an
//! acknowledgement is recorded once, a repeat is answered OK and counted.

use rusqlite::{OptionalExtension, Transaction};
use serde::Serialize;
use sim_kit::soap::{ok_response, SoapCall};
use sim_store::{from_unix_millis, unix_millis, Direction, Journal, Outcome, Part};
use sim_wire::{
    AuthorityContext, DatoTid, Decoded, Fejl, ForretningsValideringsKode, Haendelse, HaendelseType,
    Header, Operation, Payload, Request, ResponseBody, Rule, TransportKvittering,
    TransportValideringsKode, Uuid,
};
use time::OffsetDateTime;

use crate::cases;
use crate::lifecycle::DurationRule;
use crate::send::{self, Meta};
use crate::state::{Ksd, Seen};

/// KSD's record of the events it sent.
pub const MIGRATION: &str = "
CREATE TABLE IF NOT EXISTS ksd_events (
    transaktion_id TEXT PRIMARY KEY,
    sag_id         TEXT NOT NULL,
    municipality   TEXT NOT NULL,
    cpr            TEXT NOT NULL,
    haendelse_type TEXT NOT NULL,
    varighed_kode  TEXT NOT NULL,
    created_at     INTEGER NOT NULL,
    sends          INTEGER NOT NULL DEFAULT 1,
    ack_due        INTEGER NOT NULL,
    transport      TEXT,
    acked_at       INTEGER,
    acks           INTEGER NOT NULL DEFAULT 0,
    raw            TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS ksd_events_unacked ON ksd_events (ack_due) WHERE acked_at IS NULL;
CREATE INDEX IF NOT EXISTS ksd_events_sag ON ksd_events (sag_id);
";

/// The header of a message KSD writes about a case (SF2090, SF2093): a new
/// TransaktionIdentifikator, KSD as registering system, the case's parties and dates.
pub fn header_for(sag: &sim_wire::Sag, tid: Uuid, ksd_system: Uuid, now: OffsetDateTime) -> Header {
    Header {
        transaktion_identifikator: tid,
        besked_forsendelses_dato_tid: DatoTid(now),
        registrering_fra_dato_tid: DatoTid(now),
        registrering_it_system: ksd_system,
        registrering_bruger: None,
        udgiver_type_kode: None,
        myndighed: sag.myndighed,
        sygemeldte_part: sag.sygemeldte_part,
        arbejdsgiver_part: sag.arbejdsgiver_part,
        arbejdsgiver_produktionsenhed: sag.arbejdsgiver_produktionsenhed,
        nem_refusion_identifier: sag.nem_refusion_identifier,
        sag_identifikator: Some(sag.sag_identifikator),
        jobcenter_sag_id: None,
        kmd_sag_identifikator: None,
        kmd_delsag_identifikator: None,
        forretning_haendelse_dato_tid: DatoTid(now),
        foerste_fravaersdag: sag.foerste_fravaersdag,
    }
}

/// Writes the event `kind` about case `sag_id` as it is now (inside the transaction that
/// changed it) into KSD's record and the outbox.
pub fn event_in(
    tx: &Transaction<'_>,
    sag_id: &str,
    kind: HaendelseType,
    tid: Uuid,
    ksd_system: Uuid,
    rule: &DurationRule,
    now: OffsetDateTime,
) -> rusqlite::Result<()> {
    let Some(sag) = cases::sag(tx, sag_id)? else {
        return Ok(());
    };
    let request = Request {
        operation: Operation::SendHaendelse,
        call_context: None,
        authority_context: Some(AuthorityContext {
            municipality_cvr: sag.myndighed,
        }),
        payload: Payload::Haendelse(Haendelse {
            header: header_for(&sag, tid, ksd_system, now),
            haendelse_type: kind,
            sag: sag.clone(),
        }),
    };
    let raw = sim_wire::write_request(&request);
    tx.prepare_cached(
        "INSERT INTO ksd_events (transaktion_id, sag_id, municipality, cpr, haendelse_type,
             varighed_kode, created_at, ack_due, raw)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(rusqlite::params![
        tid.to_string(),
        sag_id,
        sag.myndighed.to_string(),
        sag.sygemeldte_part.to_string(),
        kind.as_str(),
        sag.varighed_kode.as_str(),
        unix_millis(now),
        unix_millis(now + rule.ack_timeout(1)),
        raw,
    ])?;
    let meta = Meta {
        operation: Operation::SendHaendelse.label(),
        municipality: sag.myndighed.to_string(),
        cpr: sag.sygemeldte_part.to_string(),
        call_id: tid.to_string(),
    };
    send::enqueue_in(tx, &request, &meta, now, now)
}

/// Records how the jobcenter answered the event's delivery (its TransportKvittering code).
pub async fn delivered(k: &Ksd, key: &str, kode: TransportValideringsKode) {
    let key = key.to_string();
    let r =
        k.db.write(move |tx| {
            tx.prepare_cached("UPDATE ksd_events SET transport = ?2 WHERE transaktion_id = ?1")?
                .execute((key, kode.as_str()))
        })
        .await;
    if let Err(e) = r {
        tracing::warn!(error = %e, "could not record an event's delivery");
    }
}

/// Sends again, same bytes, every event not acknowledged in time and not waiting in the
/// outbox already — but not one the jobcenter refused (FEJL: refused content is not sent
/// again, `crate::send`); returns how many.
pub async fn resend_unacknowledged(
    k: &Ksd,
    now: OffsetDateTime,
    batch: i64,
) -> Result<usize, sim_store::StoreError> {
    let rule = k.duration;
    // Most passes have nothing due: find out on a read connection, not the writer.
    let at = unix_millis(now);
    let any =
        k.db.read(move |c| {
            c.prepare_cached(
                "SELECT 1 FROM ksd_events WHERE acked_at IS NULL AND ack_due <= ?1
                   AND (transport IS NULL OR transport <> 'FEJL') LIMIT 1",
            )?
            .exists([at])
        })
        .await?;
    if !any {
        return Ok(0);
    }
    k.db.write(move |tx| {
        let due: Vec<(String, String, String, u32, String)> = tx
            .prepare_cached(
                "SELECT transaktion_id, municipality, cpr, sends, raw FROM ksd_events
                 WHERE acked_at IS NULL AND ack_due <= ?1
                   AND (transport IS NULL OR transport <> 'FEJL')
                 ORDER BY ack_due LIMIT ?2",
            )?
            .query_map((unix_millis(now), batch), |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })?
            .collect::<rusqlite::Result<_>>()?;
        let n = due.len();
        for (tid, municipality, cpr, sends, raw) in due {
            let sends = sends.saturating_add(1);
            tx.prepare_cached(
                "UPDATE ksd_events SET sends = ?2, ack_due = ?3 WHERE transaktion_id = ?1",
            )?
            .execute((&tid, sends, unix_millis(now + rule.ack_timeout(sends))))?;
            let waiting: Option<i64> = tx
                .prepare_cached("SELECT id FROM outbox WHERE key = ?1 LIMIT 1")?
                .query_row([&tid], |r| r.get(0))
                .optional()?;
            if waiting.is_some() {
                continue;
            }
            let meta = Meta {
                operation: Operation::SendHaendelse.label(),
                municipality,
                cpr,
                call_id: tid.clone(),
            };
            send::enqueue_raw_in(tx, tid, raw, &meta, now, now)?;
        }
        Ok(n)
    })
    .await
}

/// Handles `ModtagForretningsSvar` (the jobcenter's acknowledgement of an event, KSD-10):
/// FEJL for a message that breaks a rule, names no event KSD sent, or comes from another
/// municipality than the event's (JC-3); else the first acknowledgement is recorded and
/// answered OK, a repeat answered OK and counted (an event is acknowledged once).
pub async fn receive_ack(k: &Ksd, call: &SoapCall, decoded: Decoded, seen: &Seen) -> Response {
    let raw = call.text();
    let op = Operation::ModtagForretningsSvarKsd;
    let read = readable(&decoded, "ForretningsSvar", |p| match p {
        Payload::ForretningsSvar(f) => Some(f.clone()),
        _ => None,
    });
    let (ack, context) = match read {
        Ok(r) => r,
        Err(kv) => return answer(k, seen, op, raw, kv, Outcome::Fejl, None).await,
    };
    let tid = ack.header.transaktion_identifikator.to_string();
    let code = ack.kvittering.kode;
    let now = k.now();
    // KSD-10 wants MODTAGET: another code is recorded all the same (the jobcenter did answer)
    // and answered ADVARSEL, so the sender sees it.
    let kv = if code == ForretningsValideringsKode::Modtaget {
        ok()
    } else {
        let text = format!("an event is acknowledged with MODTAGET, not {code}; recorded");
        TransportKvittering {
            kode: TransportValideringsKode::Advarsel,
            begrundelse: Some(text.clone()),
            fejl_liste: vec![Fejl {
                fejl_kode: format!("{}.KODE", Rule::Ksd10.id()),
                fejl_tekst: text,
            }],
        }
    };
    let response = kvittering_xml(op, kv.clone());
    let (seen_, raw_) = (seen.clone(), raw.clone());
    // First or repeat is decided in the write that records it: two copies racing cannot both
    // be the first.
    let decided =
        k.db.write(move |tx| {
            let found: Option<(String, u32)> = tx
                .prepare_cached(
                    "SELECT municipality, acks FROM ksd_events WHERE transaktion_id = ?1",
                )?
                .query_row([&tid], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?;
            let Some((municipality, acks)) = found else {
                return Ok(AckDecision::Unknown(tid));
            };
            if municipality != context.to_string() {
                return Ok(AckDecision::OtherMunicipality(municipality));
            }
            tx.prepare_cached(
                "UPDATE ksd_events SET acks = acks + 1, acked_at = COALESCE(acked_at, ?2)
                 WHERE transaktion_id = ?1",
            )?
            .execute((&tid, unix_millis(now)))?;
            let (outcome, detail) = if acks == 0 {
                let outcome = Outcome::from(kv.kode);
                (
                    outcome,
                    format!("{}: event acknowledged ({code})", Rule::Ksd10),
                )
            } else {
                let text = format!(
                    "{}: acknowledged before; counted, not recorded again",
                    Rule::Ksd10
                );
                (Outcome::Duplicate, text)
            };
            for r in rows(&seen_, now, raw_, outcome, Some(detail), response.clone()) {
                Journal::record_in(tx, &r)?;
            }
            Ok(AckDecision::Recorded(response))
        })
        .await;
    match decided {
        Ok(AckDecision::Recorded(response)) => ok_response(response),
        Ok(AckDecision::Unknown(tid)) => {
            let text = format!("TransaktionIdentifikator {tid} names no event KSD sent");
            let kv = fejl(Rule::Ksd10, "UKENDT", &text);
            answer(k, seen, op, raw, kv, Outcome::Fejl, Some(text)).await
        }
        Ok(AckDecision::OtherMunicipality(m)) => {
            let text = format!(
                "the event went to municipality {m}; an acknowledgement for it from {context} is refused"
            );
            let kv = fejl(Rule::Jc3, "MYNDIGHED", &text);
            answer(k, seen, op, raw, kv, Outcome::Fejl, Some(text)).await
        }
        Err(e) => {
            let text = format!("KSD could not record the acknowledgement; resend: {e}");
            k.refuse(seen, raw, false, Rule::Ksd10, text).await
        }
    }
}

/// What the acknowledgement's transaction decided.
enum AckDecision {
    /// Recorded (first or repeat) and journaled; the answer.
    Recorded(String),
    /// No event of KSD has this TransaktionIdentifikator.
    Unknown(String),
    /// The event went to another municipality (JC-3).
    OtherMunicipality(String),
}

/// A TransportKvittering OK.
pub fn ok() -> TransportKvittering {
    TransportKvittering {
        kode: TransportValideringsKode::Ok,
        begrundelse: None,
        fejl_liste: Vec::new(),
    }
}

/// The payload `pick` takes from a request KSD received, with its security context's
/// municipality; or the FEJL receipt naming every rule it breaks (WIRE-3 when the payload or
/// the context could not be read at all). Shared by the answers KSD receives (SF2090,
/// SF2093).
pub fn readable<T>(
    decoded: &Decoded,
    what: &str,
    pick: impl Fn(&Payload) -> Option<T>,
) -> Result<(T, sim_wire::Cvr), TransportKvittering> {
    let mut problems = decoded.problems.clone();
    let got = match decoded.request() {
        Some(Request {
            payload,
            authority_context: Some(ac),
            ..
        }) => pick(payload).map(|t| (t, ac.municipality_cvr)),
        _ => None,
    };
    if got.is_none() && !problems.iter().any(sim_wire::Problem::is_error) {
        problems.push(sim_wire::Problem::error(
            Rule::Wire3,
            sim_wire::rules::code::MANGLER,
            what,
            "the payload or its security context could not be read",
        ));
    }
    match got {
        Some(g) if !problems.iter().any(sim_wire::Problem::is_error) => Ok(g),
        _ => Err(sim_wire::transport_kvittering_for(&problems)),
    }
}

use axum::response::Response;

/// A FEJL receipt with one error `<rule>.<what>`.
pub fn fejl(rule: Rule, what: &str, text: &str) -> TransportKvittering {
    TransportKvittering {
        kode: TransportValideringsKode::Fejl,
        begrundelse: Some(text.to_string()),
        fejl_liste: vec![Fejl {
            fejl_kode: format!("{}.{what}", rule.id()),
            fejl_tekst: text.to_string(),
        }],
    }
}

/// The response document carrying `k`.
pub fn kvittering_xml(op: Operation, k: TransportKvittering) -> String {
    sim_wire::write_response(&sim_wire::Response {
        operation: op,
        body: ResponseBody::TransportKvittering(k),
    })
}

/// The request and response rows of a call answered with `response`.
pub fn rows(
    seen: &Seen,
    at: OffsetDateTime,
    raw: String,
    outcome: Outcome,
    detail: Option<String>,
    response: String,
) -> Vec<sim_store::JournalEntry> {
    let x = &seen.exchange;
    vec![
        x.entry(
            at,
            Direction::In,
            Part::Request,
            outcome.clone(),
            detail,
            raw,
        ),
        x.entry(at, Direction::Out, Part::Response, outcome, None, response),
    ]
}

/// Answers with `k` (journaled; nothing else stored).
pub async fn answer(
    k: &Ksd,
    seen: &Seen,
    op: Operation,
    raw: String,
    kv: TransportKvittering,
    outcome: Outcome,
    detail: Option<String>,
) -> Response {
    let response = kvittering_xml(op, kv);
    let rows = rows(seen, k.now(), raw, outcome, detail, response.clone());
    k.journal.record_all(rows).await;
    ok_response(response)
}

/// An event as the admin API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct EventView {
    /// Its TransaktionIdentifikator.
    pub transaktion_id: String,
    /// The case.
    pub sag_id: String,
    /// The municipality it went to.
    pub municipality: String,
    /// OPRETTET, AENDRET or AFSLUTTET.
    pub haendelse_type: String,
    /// The case's VarighedKode it carried.
    pub varighed_kode: String,
    /// When KSD wrote it (virtual time).
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// How often it was sent (1 + resends for lack of acknowledgement).
    pub sends: u32,
    /// The jobcenter's TransportKvittering code for its last delivery, if delivered.
    pub transport: Option<String>,
    /// When it was first acknowledged.
    #[serde(with = "time::serde::rfc3339::option")]
    pub acked_at: Option<OffsetDateTime>,
    /// How many acknowledgements came (1 when all is well).
    pub acks: u32,
}

/// Events, newest first, optionally of one case.
pub fn list(
    c: &rusqlite::Connection,
    sag_id: Option<&str>,
    page: sim_kit::admin::Page,
) -> rusqlite::Result<Vec<EventView>> {
    let offset = i64::try_from(page.offset()).unwrap_or(i64::MAX);
    c.prepare_cached(
        "SELECT transaktion_id, sag_id, municipality, haendelse_type, varighed_kode, created_at,
             sends, transport, acked_at, acks
         FROM ksd_events WHERE (?1 IS NULL OR sag_id = ?1)
         ORDER BY created_at DESC, transaktion_id LIMIT ?2 OFFSET ?3",
    )?
    .query_map((sag_id, page.limit(), offset), |r| {
        Ok(EventView {
            transaktion_id: r.get(0)?,
            sag_id: r.get(1)?,
            municipality: r.get(2)?,
            haendelse_type: r.get(3)?,
            varighed_kode: r.get(4)?,
            created_at: from_unix_millis(r.get(5)?)?,
            sends: r.get(6)?,
            transport: r.get(7)?,
            acked_at: r
                .get::<_, Option<i64>>(8)?
                .map(from_unix_millis)
                .transpose()?,
            acks: r.get(9)?,
        })
    })?
    .collect()
}
