//! SF1612 at KSD: STAR's sick-leave statuses, delivered by the Beskedfordeler, become case
//! changes; and the value list that decides which persons KSD hears about.
//!
//! **Processing** (`process`): each Haendelsesbesked is handled once by its
//! `ObjektRegistreringId` (STAR's MessageIdentifier): a delivery that comes again (BF-2 is at
//! least once) is recorded as a repeat and changes nothing. The STAR event in `Beskeddata` is
//! read back from its ISO-8859-1 bytes, and — *defined here*, the seed says only that KSD gets
//! the statuses — applied to the person's case that carries the same NemRefusionIdentifier:
//! - the case does not exist and the sick leave has not ended: a DFDG sick-leave report opens
//!   one (KSD-9: 60, the 22-week limit from IllnessStartDate), for the person's residence
//!   municipality from the CPR register; the report names no employer, so the case's
//!   ArbejdsgiverPart is the organisation that registered it (the CVR in `CaseWorkerRID`), or
//!   the municipality when that names none — until NemRefusion's notification says more;
//! - `IsIllnessEnded`: the case ends with OphoersAarsag 1 (the citizen reported fit) on
//!   IllnessEndDate;
//! - a moved first or last day: a history row and an AENDRET event;
//!
//! each change with its SF2090 event in the same commit as the record of the message, before
//! the delivery is acknowledged (KSD acknowledges nothing it has not persisted).
//!
//! **The value list** (BF-1, `@PersonkredsSygemeldingsstatus`): the persons with an open case.
//! `ksd_value_list` is what the Beskedfordeler has been told; the sync worker compares it with
//! the open cases (a whole comparison each pass) and sends the additions and
//! removals through the platform's value-list service, recording each batch once it was
//! answered OK. A failed batch stays to do, so the list converges after any outage.

use rusqlite::{OptionalExtension, Transaction};
use sim_store::{unix_millis, Direction, Exchange, Label, Outcome, Part};
use sim_wire::besked::Haendelsesbesked;
use sim_wire::star::IllnessUpdateRegistration;
use sim_wire::{Cpr, HaendelseType, OphoersAarsag, Status, Uuid};

use crate::intake::{self, Ending, IntakeError, Opening};
use crate::state::Ksd;

/// The journal label of a delivery KSD received (`sim_wire::flows`' leg of SF1612).
pub const DELIVERY_LABEL: &str = "BF/Haendelsesbesked";

/// KSD's SF1612 tables: every message handled (once), and the value list as told.
pub const MIGRATION: &str = "
CREATE TABLE IF NOT EXISTS ksd_star_events (
    message_identifier TEXT PRIMARY KEY,
    besked_id          TEXT NOT NULL,
    received_at        INTEGER NOT NULL,
    cpr                TEXT NOT NULL,
    sag_id             TEXT,
    outcome            TEXT NOT NULL,
    repeats            INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS ksd_value_list (
    cpr      TEXT PRIMARY KEY,
    added_at INTEGER NOT NULL
);
";

/// What became of one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Handled {
    /// A case was opened from the DFDG report.
    Opened(String),
    /// The case ended.
    Ended(String),
    /// The case changed (a moved first or last day).
    Changed(String),
    /// Nothing to change: why (an end of a case KSD does not have, no residence ...).
    Nothing(String),
    /// Handled before (BF-2 delivers at least once); nothing changed now.
    Repeat,
    /// The message or its event could not be read; recorded, never applied.
    Unreadable(String),
}

impl Handled {
    /// The `ksd_star_events.outcome` text.
    pub fn as_str(&self) -> &'static str {
        match self {
            Handled::Opened(_) => "opened",
            Handled::Ended(_) => "ended",
            Handled::Changed(_) => "changed",
            Handled::Nothing(_) => "nothing",
            Handled::Repeat => "repeat",
            Handled::Unreadable(_) => "unreadable",
        }
    }

    fn sag_id(&self) -> Option<&str> {
        match self {
            Handled::Opened(s) | Handled::Ended(s) | Handled::Changed(s) => Some(s),
            _ => None,
        }
    }
}

/// Handles one delivered message (`besked`, or why it could not be read; `raw` its document,
/// from `peer`): applied once, recorded and journaled in one commit. `Err` only when the store
/// failed: then nothing was recorded and the delivery must not be acknowledged.
pub async fn process(
    k: &Ksd,
    besked: Result<Haendelsesbesked, String>,
    raw: String,
    peer: &str,
) -> Result<Handled, sim_store::StoreError> {
    let now = k.now();
    let besked = match besked {
        Ok(b) => b,
        Err(why) => {
            let h = Handled::Unreadable(why);
            journal(k, None, None, &h, raw, peer, now).await;
            return Ok(h);
        }
    };
    let mid = besked.registrering_id();
    let cpr = besked.person_cpr();
    let event = match sim_wire::star::read_event_document(&besked.beskeddata.data) {
        Ok(e) => e,
        Err(why) => {
            // Recorded like any message (once, repeats counted), so that it counts as handled:
            // KSD can never use it, and it must not come again and again.
            let h = Handled::Unreadable(format!("the STAR event in Beskeddata: {why}"));
            let (outcome, detail) = journal_outcome(&h);
            let entry = exchange(Some(mid), cpr.as_ref(), peer).entry(
                now,
                Direction::In,
                Part::Request,
                outcome,
                detail,
                raw,
            );
            let (besked_id, person) = (
                besked.besked_id.to_string(),
                cpr.map(|c| c.to_string()).unwrap_or_default(),
            );
            let recorded = h.clone();
            k.db.write(move |tx| {
                record_in(tx, &mid.to_string(), &besked_id, now, &person, &recorded)?;
                sim_store::Journal::record_in(tx, &entry)?;
                Ok(())
            })
            .await?;
            return Ok(h);
        }
    };
    let tid = k.message_ids.next_uuid();
    let (ksd_system, rule, case_ids) = (k.ksd_system, k.duration, k.case_ids.clone());
    let besked_id = besked.besked_id.to_string();
    let exchange = exchange(Some(mid), cpr.as_ref(), peer);
    let handled = k
        .db
        .write(move |tx| {
            let seen: bool = tx
                .prepare_cached("SELECT 1 FROM ksd_star_events WHERE message_identifier = ?1")?
                .exists([mid.to_string()])?;
            let h = if seen {
                tx.prepare_cached(
                    "UPDATE ksd_star_events SET repeats = repeats + 1 WHERE message_identifier = ?1",
                )?
                .execute([mid.to_string()])?;
                Handled::Repeat
            } else {
                let h = apply_in(tx, &event, &case_ids, tid, ksd_system, &rule, now)?;
                let person = event.person_civil_registration_identifier.to_string();
                record_in(tx, &mid.to_string(), &besked_id, now, &person, &h)?;
                h
            };
            let (outcome, detail) = journal_outcome(&h);
            sim_store::Journal::record_in(
                tx,
                &exchange.entry(now, Direction::In, Part::Request, outcome, detail, raw),
            )?;
            Ok(h)
        })
        .await?;
    if handled.sag_id().is_some() {
        k.outbox.notify();
        k.lifecycle.notify_one();
    }
    Ok(handled)
}

/// KSD's push endpoint ([`crate::BF_PUSH_PATH`]): only the platform (KOMBIT's certificate,
/// SP-7) may push; a `ModtagBesked` is handled ([`process`]) and answered StatusKode 20 — also
/// for a repeat or a message KSD cannot use (it would never be able to), 50 when KSD's store
/// failed (worth delivering again, BF-2). Anything else is refused with a fault.
pub async fn push(
    axum::extract::State(k): axum::extract::State<std::sync::Arc<Ksd>>,
    call: sim_kit::soap::SoapCall,
) -> axum::response::Response {
    use sim_wire::besked::{BfMessage, BfRequest, BfResponse, StandardRetur, STATUSKODE_FEJL};
    let peer = call
        .peer
        .as_ref()
        .map(sim_kit::config::peer_text)
        .unwrap_or_else(|| "an unidentified caller".into());
    let seen = crate::state::Seen::new(
        k.call_ids.next_uuid(),
        Label::flow(DELIVERY_LABEL, Part::Request),
        Some(peer.clone()),
    );
    if !call
        .peer
        .as_ref()
        .is_some_and(|p| k.platform_system.matches(p))
    {
        let text = format!(
            "{peer} may not push to KSD: only the platform, with KOMBIT's certificate (CVR {}), does.",
            k.platform_system.cvr
        );
        return k
            .refuse(&seen, call.text(), true, sim_wire::Rule::Sp7, text)
            .await;
    }
    if let Some(why) = &call.unreadable {
        let text = format!("the push could not be read: {why}");
        return k
            .refuse(&seen, call.text(), true, sim_wire::Rule::Wire1, text)
            .await;
    }
    let body = call.text();
    let besked = match sim_wire::besked::read(body.as_bytes(), call.soap_action.as_deref()) {
        Ok(BfMessage::Request(BfRequest::ModtagBesked(b))) => Ok(b),
        Ok(other) => {
            let text = format!(
                "KSD's push endpoint takes ModtagBesked, not {}",
                match other {
                    BfMessage::Request(r) => r.operation().name().to_string(),
                    BfMessage::Response(r) => format!("a response of {}", r.operation().name()),
                    BfMessage::Fault(_) => "a fault".into(),
                }
            );
            return k
                .refuse(&seen, body, true, sim_wire::Rule::Wire1, text)
                .await;
        }
        Err(e) => Err(e.to_string()),
    };
    let retur = match process(&k, besked, body, &peer).await {
        Ok(_) => StandardRetur::ok(),
        Err(e) => {
            tracing::warn!(error = %e, "SF1612 delivery not recorded; answering 50 (BF-2 redelivers)");
            StandardRetur::fejl(STATUSKODE_FEJL, format!("KSD could not record it: {e}"))
        }
    };
    sim_kit::soap::ok_response(sim_wire::besked::write_response(&BfResponse::ModtagBesked(
        retur,
    )))
}

/// Records a message as handled (`ksd_star_events`), once: a row that exists counts a repeat.
fn record_in(
    tx: &Transaction<'_>,
    mid: &str,
    besked_id: &str,
    now: time::OffsetDateTime,
    cpr: &str,
    h: &Handled,
) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT INTO ksd_star_events (message_identifier, besked_id, received_at, cpr, sag_id,
             outcome)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (message_identifier) DO UPDATE SET repeats = repeats + 1",
    )?
    .execute(rusqlite::params![
        mid,
        besked_id,
        unix_millis(now),
        cpr,
        h.sag_id(),
        h.as_str()
    ])?;
    Ok(())
}

/// The journal's view of a delivery.
fn exchange(mid: Option<Uuid>, cpr: Option<&Cpr>, peer: &str) -> Exchange {
    Exchange {
        label: Label::flow(DELIVERY_LABEL, Part::Request),
        transaktion_id: mid.map(|m| m.to_string()),
        call_uuid: None,
        peer: Some(peer.to_string()),
        municipality: None,
        cpr: cpr.map(ToString::to_string),
    }
}

fn journal_outcome(h: &Handled) -> (Outcome, Option<String>) {
    match h {
        Handled::Repeat => (Outcome::Duplicate, None),
        Handled::Unreadable(why) => (Outcome::Unreadable("besked".into()), Some(why.clone())),
        Handled::Nothing(why) => (Outcome::Ok, Some(why.clone())),
        other => (Outcome::Ok, Some(other.as_str().to_string())),
    }
}

/// Journals a message that could not be applied (outside a commit of its own: nothing else
/// is written for it).
async fn journal(
    k: &Ksd,
    mid: Option<Uuid>,
    cpr: Option<Cpr>,
    h: &Handled,
    raw: String,
    peer: &str,
    now: time::OffsetDateTime,
) {
    let (outcome, detail) = journal_outcome(h);
    let e = exchange(mid, cpr.as_ref(), peer).entry(
        now,
        Direction::In,
        Part::Request,
        outcome,
        detail,
        raw,
    );
    k.journal.record_all(vec![e]).await;
}

/// The CVR of the organisation that registered a STAR event: `CaseWorkerRID` reads
/// `CVR:<cvr>-RID:<digits>`.
fn registrant(e: &IllnessUpdateRegistration) -> Option<sim_wire::Cvr> {
    let rid = &e.request_metadata.case_worker.rid;
    rid.strip_prefix("CVR:")?.split('-').next()?.parse().ok()
}

/// The change one STAR event makes (see the module docs), within `tx`.
fn apply_in(
    tx: &Transaction<'_>,
    e: &IllnessUpdateRegistration,
    case_ids: &sim_kit::ids::IdStream,
    tid: Uuid,
    ksd_system: Uuid,
    rule: &crate::lifecycle::DurationRule,
    now: time::OffsetDateTime,
) -> rusqlite::Result<Handled> {
    let cpr = e.person_civil_registration_identifier;
    let nr = e.illness.nem_refusion_identifier;
    // The person's case for this notification: by NemRefusionIdentifier, else (a report
    // without one) the open case with the same first day.
    let case: Option<(String, String)> = tx
        .prepare_cached(
            "SELECT sag_id, status FROM ksd_cases
             WHERE cpr = ?1 AND (nem_refusion_id = ?2 OR (?2 IS NULL AND foerste_fravaersdag = ?3))
             ORDER BY created_at DESC LIMIT 1",
        )?
        .query_row(
            rusqlite::params![
                cpr.to_string(),
                nr.map(|n| n.to_string()),
                e.illness.illness_start_date.to_string()
            ],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let open = case
        .as_ref()
        .filter(|(_, status)| status == Status::Aktiv.as_str());
    match (open, e.is_illness_ended) {
        (Some((sag_id, _)), true) => {
            let aarsag = OphoersAarsag::new(1).expect("1 is on the value list");
            let start = e
                .illness
                .illness_end_date
                .unwrap_or(e.illness.illness_start_date);
            let ending = Ending {
                sag_id,
                aarsag,
                start,
                note: "ended by STAR's DFDG status: reported fit (SF1612)",
            };
            Ok(
                match intake::end_in(tx, &ending, tid, ksd_system, rule, now)? {
                    Ok(()) => Handled::Ended(sag_id.clone()),
                    Err(why) => Handled::Nothing(why.to_string()),
                },
            )
        }
        (Some((sag_id, _)), false) => {
            let note = match (e.is_start_date_updated, e.is_end_date_updated) {
                (true, true) => "first and last day moved by STAR's DFDG status (SF1612)",
                (true, false) => "first day moved by STAR's DFDG status (SF1612)",
                (false, true) => "last day moved by STAR's DFDG status (SF1612)",
                (false, false) => "sick leave confirmed by STAR's DFDG status (SF1612)",
            };
            // TODO(rule KSD-9): a moved first day would move the duration limit; the limit
            // stays as it was set when the case opened.
            crate::cases::own_change_in(tx, sag_id, now, &tid.to_string(), note)?;
            crate::flows::sf2090::event_in(
                tx,
                sag_id,
                HaendelseType::Aendret,
                tid,
                ksd_system,
                rule,
                now,
            )?;
            Ok(Handled::Changed(sag_id.clone()))
        }
        (None, true) => Ok(Handled::Nothing(match case {
            Some((sag_id, _)) => format!("case {sag_id} has ended already"),
            None => "an end of a sick leave KSD has no case for".into(),
        })),
        (None, false) => {
            if let Some((sag_id, _)) = case {
                return Ok(Handled::Nothing(format!(
                    "case {sag_id} of this notification has ended"
                )));
            }
            let Some(m) = sim_wire::municipalities::residence_of(&cpr) else {
                return Ok(Handled::Nothing(
                    "no residence municipality in the CPR register: no case".into(),
                ));
            };
            let sag_id = case_ids.next_uuid().to_string();
            let opening = Opening {
                sag_id: sag_id.clone(),
                cpr,
                municipality: m.cvr,
                arbejdsgiver: registrant(e).unwrap_or(m.cvr),
                p_nummer: None,
                nem_refusion_id: nr,
                first: e.illness.illness_start_date,
                pensioner: false,
                note: "case opened from STAR's DFDG sick-leave report (SF1612, KSD-9)",
            };
            Ok(
                match intake::create_in(tx, &opening, tid, ksd_system, rule, now)? {
                    Ok(()) => Handled::Opened(sag_id),
                    Err(IntakeError::Exists(s)) => {
                        Handled::Nothing(format!("case {s} exists for this first day"))
                    }
                    Err(why) => Handled::Nothing(why.to_string()),
                },
            )
        }
    }
}

/// KSD's SF1612 settings: its subscription at the Beskedfordeler (the `sf1612:` section of
/// its configuration). Without it KSD takes no STAR statuses and keeps no value list.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sf1612Config {
    /// The platform's Beskedfordeler service (`https://host:port/service/Beskedfordeler/1`):
    /// the value list, and the embedded broker's pull.
    pub beskedfordeler: sim_kit::config::Endpoint,
    /// KSD's subscription (`AbonnementId`): what it pulls, and the queue's name in RabbitMQ.
    pub abonnement_id: String,
    /// `pull` (KSD fetches and acknowledges) or `push` (the platform posts to
    /// [`crate::BF_PUSH_PATH`]); pull by default.
    #[serde(default)]
    pub delivery: Delivery,
    /// Pull straight from RabbitMQ at this URL (`amqp://…/BF`) when the platform's broker is
    /// RabbitMQ, as the real Beskedfordeler's subscribers do; none: through the platform.
    #[serde(default)]
    pub amqp: Option<String>,
    /// The value list the subscription's filter names.
    #[serde(default = "default_list")]
    pub vaerdiliste: String,
    /// Real milliseconds between pulls when nothing came (value-list passes: five times this).
    #[serde(default = "default_poll_ms")]
    pub poll_ms: u64,
}

/// How KSD takes its deliveries (BF-2).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Delivery {
    /// KSD fetches and acknowledges.
    #[default]
    Pull,
    /// The Beskedfordeler posts to KSD's push endpoint.
    Push,
}

fn default_list() -> String {
    sim_wire::besked::VAERDILISTE_SYGEMELDINGSSTATUS.to_string()
}

fn default_poll_ms() -> u64 {
    200
}

/// How long a pulled delivery may stay unacknowledged before the AMQP puller requeues it
/// (virtual time; the embedded broker has its own lease on the platform).
const AMQP_LEASE: std::time::Duration = std::time::Duration::from_secs(300);

/// The journal peer of pulled deliveries.
const PULLED_FROM: &str = "Beskedfordeler (pull)";

/// KSD's SF1612 workers: the value-list sync always, the puller when KSD pulls.
pub fn workers(
    k: std::sync::Arc<Ksd>,
    config: &Sf1612Config,
    client: sim_kit::HttpsClient,
    stop: &sim_kit::shutdown::Shutdown,
) -> Vec<sim_kit::program::Worker> {
    let bf = sim_bf::client::BfClient::new(client, config.beskedfordeler.url.clone());
    let mut out: Vec<sim_kit::program::Worker> = vec![Box::pin(sync_value_list(
        k.clone(),
        bf.clone(),
        config.clone(),
        stop.wait(),
    ))];
    if config.delivery == Delivery::Pull {
        out.push(Box::pin(pull(k, bf, config.clone(), stop.wait())));
    }
    out
}

/// Fetches, handles and acknowledges deliveries until `stop` (BF-2): a message is acknowledged
/// only once its handling committed, so a crash in between means it comes again (and is then
/// a repeat). A failed fetch or ack waits and tries again; the puller is made anew after a
/// failure (RabbitMQ requeues what the old connection held).
async fn pull(
    k: std::sync::Arc<Ksd>,
    bf: sim_bf::client::BfClient,
    config: Sf1612Config,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) {
    use sim_bf::client::{EmbeddedPuller, Puller};
    tokio::pin!(stop);
    let idle = std::time::Duration::from_millis(config.poll_ms.max(1));
    let Ok(abonnement) = config.abonnement_id.parse::<Uuid>() else {
        tracing::error!(id = %config.abonnement_id, "sf1612.abonnement_id is no UUID: KSD pulls nothing");
        return;
    };
    let mut puller: Option<Box<dyn Puller>> = None;
    loop {
        if puller.is_none() {
            puller = match &config.amqp {
                None => Some(Box::new(EmbeddedPuller::new(bf.clone(), abonnement))),
                Some(url) => {
                    match sim_bf::client::AmqpPuller::connect(
                        url,
                        abonnement,
                        k.clock.clone(),
                        AMQP_LEASE,
                    )
                    .await
                    {
                        Ok(p) => Some(Box::new(p)),
                        Err(e) => {
                            tracing::warn!(error = %e, "SF1612: RabbitMQ not reachable; trying again");
                            None
                        }
                    }
                }
            };
        }
        let fetched = match puller.as_mut() {
            Some(p) => tokio::select! {
                () = &mut stop => return,
                r = p.fetch(sim_wire::besked::MAKS_ANTAL_GRAENSE) => r,
            },
            None => Err(sim_bf::client::ClientError::Broker("no connection".into())),
        };
        let batch = match fetched {
            Ok(b) => b,
            Err(e) => {
                tracing::debug!(error = %e, "SF1612: fetch failed; trying again");
                if let Some(p) = puller.take() {
                    p.close().await;
                }
                tokio::select! {
                    () = &mut stop => return,
                    () = tokio::time::sleep(idle * 5) => continue,
                }
            }
        };
        if batch.is_empty() {
            tokio::select! {
                () = &mut stop => return,
                () = tokio::time::sleep(idle) => continue,
            }
        }
        let mut done = Vec::with_capacity(batch.len());
        for d in batch {
            let raw = match &d.besked {
                Ok(b) => sim_wire::besked::write_haendelsesbesked(b),
                Err(e) => format!("<!-- unreadable delivery: {e} -->"),
            };
            let besked = d.besked.map_err(|e| e.to_string());
            match process(&k, besked, raw, PULLED_FROM).await {
                Ok(_) => done.push(d.tag),
                // Not recorded: not acknowledged, so it comes again.
                Err(e) => tracing::warn!(error = %e, "SF1612: delivery not recorded"),
            }
        }
        if let Some(p) = puller.as_mut() {
            if let Err(e) = p.ack(done).await {
                // Handled but not acknowledged: it comes again and is recognised as a repeat.
                tracing::debug!(error = %e, "SF1612: ack failed");
                if let Some(p) = puller.take() {
                    p.close().await;
                }
            }
        }
    }
}

/// Keeps the value list (BF-1) in step with the open cases: every pass compares the persons
/// with an open case with what the Beskedfordeler was told (`ksd_value_list`) and sends the
/// additions and removals, recorded once answered OK. A whole comparison, not the changes since
/// a watermark: a change's time is taken before its commit is queued, and at speed `max` the
/// clock can jump hours between the two, so a watermark could pass a change not yet committed.
/// A failed pass is simply made again.
async fn sync_value_list(
    k: std::sync::Arc<Ksd>,
    bf: sim_bf::client::BfClient,
    config: Sf1612Config,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) {
    tokio::pin!(stop);
    // Five pulls' worth: a whole comparison costs more than a pull that finds nothing.
    let idle = std::time::Duration::from_millis(config.poll_ms.max(1) * 5);
    loop {
        match sync_once(&k, &bf, &config.vaerdiliste).await {
            Ok(_) => {}
            Err(e) => tracing::debug!(error = %e, "SF1612: value-list sync failed; trying again"),
        }
        tokio::select! {
            () = &mut stop => return,
            () = tokio::time::sleep(idle) => {}
        }
    }
}

/// One pass of [`sync_value_list`]; how many persons were added and removed.
pub async fn sync_once(
    k: &Ksd,
    bf: &sim_bf::client::BfClient,
    list: &str,
) -> Result<(usize, usize), String> {
    let (adds, removes) =
        k.db.read(|c| {
            let aktiv = Status::Aktiv.as_str();
            let adds: Vec<String> = c
                .prepare_cached(
                    "SELECT DISTINCT c.cpr FROM ksd_cases c
                     WHERE c.status = ?1
                       AND NOT EXISTS (SELECT 1 FROM ksd_value_list v WHERE v.cpr = c.cpr)",
                )?
                .query_map([aktiv], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            let removes: Vec<String> = c
                .prepare_cached(
                    "SELECT v.cpr FROM ksd_value_list v
                     WHERE NOT EXISTS (
                         SELECT 1 FROM ksd_cases c WHERE c.cpr = v.cpr AND c.status = ?1)",
                )?
                .query_map([aktiv], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            Ok((adds, removes))
        })
        .await
        .map_err(|e| e.to_string())?;
    let parse = |v: &[String]| -> Vec<Cpr> { v.iter().filter_map(|c| c.parse().ok()).collect() };
    if !adds.is_empty() {
        bf.vaerdiliste_tilfoej(list, &parse(&adds))
            .await
            .map_err(|e| e.to_string())?;
    }
    if !removes.is_empty() {
        bf.vaerdiliste_fjern(list, &parse(&removes))
            .await
            .map_err(|e| e.to_string())?;
    }
    let now = unix_millis(k.now());
    let (n_add, n_remove) = (adds.len(), removes.len());
    k.db.write(move |tx| {
        for cpr in &adds {
            tx.prepare_cached(
                "INSERT OR IGNORE INTO ksd_value_list (cpr, added_at) VALUES (?1, ?2)",
            )?
            .execute(rusqlite::params![cpr, now])?;
        }
        for cpr in &removes {
            tx.prepare_cached("DELETE FROM ksd_value_list WHERE cpr = ?1")?
                .execute([cpr])?;
        }
        Ok(())
    })
    .await
    .map_err(|e| e.to_string())?;
    Ok((n_add, n_remove))
}
