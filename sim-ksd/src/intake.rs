//! Where KSD's cases come from besides a jobcenter's update, and the ends KSD sets itself.
//!
//! In the real ecosystem a sick-leave case is created in KSD from the employer's notification
//! through NemRefusion, from STAR's statuses (SF1612) or by a caseworker by hand; KSD itself
//! ends cases for reasons only it knows (10 moved, 50–52, death ...). The simulator has no
//! NemRefusion, so *defined here* (SF1612's DFDG reports open cases too, `flows::sf1612`): a case is created through the admin API
//! (`POST /cases`) — by a scenario's intake stream or by hand — and ended by KSD through
//! `POST /cases/{sag_id}/end`. Both are changes the jobcenter did not cause, so each is told
//! to it as an SF2090 event (OPRETTET, AFSLUTTET; KSD-10) in the same commit. A case a
//! jobcenter's update names before KSD knew it is still created on the fly (KSD-9).

use serde::Deserialize;
use sim_store::unix_millis;
use sim_wire::{Cpr, Cvr, Dato, HaendelseType, OphoersAarsag, PNummer, Status, Uuid, VarighedKode};

use crate::cases::{self, CaseView};
use crate::flows::sf2090;
use crate::lifecycle;
use crate::state::Ksd;

/// A case to create, as the admin API takes it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewCase {
    /// The person (10 digits, a real birth date).
    pub cpr: String,
    /// The municipality (CVR of one of the 98).
    pub municipality: String,
    /// The notifier: employer, unemployment fund or self-employed (CVR).
    pub arbejdsgiver: String,
    /// First day of absence (`YYYY-MM-DD`); may lie in the past, so a run can start with
    /// cases close to their limit.
    pub foerste_fravaersdag: String,
    /// A pensioner's case (61; its own limit, and 17/25 belong to it).
    #[serde(default)]
    pub pensioner: bool,
    /// Production unit, for employment.
    #[serde(default)]
    pub p_nummer: Option<String>,
    /// NemRefusion's id of the notification.
    #[serde(default)]
    pub nem_refusion_id: Option<String>,
}

/// An end KSD sets itself.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct End {
    /// The reason, as KSD keeps it (50–52 go out as 2, KSD-6).
    pub ophoers_aarsag: u8,
    /// End of follow-up (`YYYY-MM-DD`).
    pub ophoers_start: String,
}

/// Why a case could not be created or ended.
#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    /// The request names an invalid value.
    #[error("{0}")]
    Invalid(String),
    /// No such case.
    #[error("no case {0}")]
    NotFound(String),
    /// The case has ended already.
    #[error("case {0} has ended already")]
    Ended(String),
    /// A case of this person, municipality and first day exists already.
    #[error("case {0} exists already for this person, municipality and first day of absence")]
    Exists(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] sim_store::StoreError),
}

fn field<T: std::str::FromStr>(name: &str, v: &str) -> Result<T, IntakeError>
where
    T::Err: std::fmt::Display,
{
    v.parse::<T>()
        .map_err(|e| IntakeError::Invalid(format!("{name}: {e}")))
}

/// Creates a case with 60 (61 for a pensioner), its limit, a history row and the OPRETTET
/// event, in one commit.
pub async fn create(k: &Ksd, new: NewCase) -> Result<CaseView, IntakeError> {
    let cpr: Cpr = field("cpr", &new.cpr)?;
    let municipality: Cvr = field("municipality", &new.municipality)?;
    if sim_wire::municipalities::by_cvr(municipality).is_none() {
        return Err(IntakeError::Invalid(format!(
            "municipality: {municipality} is not one of the 98 municipalities"
        )));
    }
    let arbejdsgiver: Cvr = field("arbejdsgiver", &new.arbejdsgiver)?;
    let first: Dato = field("foerste_fravaersdag", &new.foerste_fravaersdag)?;
    let p: Option<PNummer> = new
        .p_nummer
        .as_deref()
        .map(|v| field("p_nummer", v))
        .transpose()?;
    let nr: Option<Uuid> = new
        .nem_refusion_id
        .as_deref()
        .map(|v| field("nem_refusion_id", v))
        .transpose()?;
    let now = k.now();
    let sag_id = k.case_ids.next_uuid().to_string();
    let tid = k.message_ids.next_uuid();
    let (ksd_system, rule) = (k.ksd_system, k.duration);
    let case = Opening {
        sag_id: sag_id.clone(),
        cpr,
        municipality,
        arbejdsgiver,
        p_nummer: p,
        nem_refusion_id: nr,
        first,
        pensioner: new.pensioner,
        note: "case created in KSD (KSD-9)",
    };
    let created =
        k.db.write(move |tx| create_in(tx, &case, tid, ksd_system, &rule, now));
    created.await??;
    k.outbox.notify();
    k.lifecycle.notify_one();
    found(k, &sag_id).await
}

/// A case KSD opens: from the intake (NemRefusion, by hand) or from a DFDG sick-leave report
/// (SF1612), which names no employer.
#[derive(Debug, Clone)]
pub struct Opening {
    /// The new case's id.
    pub sag_id: String,
    /// The person.
    pub cpr: Cpr,
    /// The municipality the case belongs to.
    pub municipality: Cvr,
    /// The notifier: the employer (NemRefusion), or for a DFDG report, which names none, the
    /// organisation that registered it (see `flows::sf1612`).
    pub arbejdsgiver: Cvr,
    /// Production unit, for employment.
    pub p_nummer: Option<PNummer>,
    /// NemRefusion's id of the notification.
    pub nem_refusion_id: Option<Uuid>,
    /// First day of absence.
    pub first: Dato,
    /// A pensioner's case (61).
    pub pensioner: bool,
    /// The history row's note.
    pub note: &'static str,
}

/// Opens `case` within `tx`: the row with 60 (61 for a pensioner), its limit (KSD-9), a history
/// row and the OPRETTET event (KSD-10) — or `Exists` when the person, municipality and first day have a case already (the key an update
/// finds it by: the same notification twice is one case).
pub fn create_in(
    tx: &rusqlite::Transaction<'_>,
    case: &Opening,
    tid: Uuid,
    ksd_system: Uuid,
    rule: &lifecycle::DurationRule,
    now: time::OffsetDateTime,
) -> rusqlite::Result<Result<(), IntakeError>> {
    let existing: Option<String> = rusqlite::OptionalExtension::optional(
        tx.prepare_cached(
            "SELECT sag_id FROM ksd_cases
             WHERE cpr = ?1 AND municipality = ?2 AND foerste_fravaersdag = ?3 LIMIT 1",
        )?
        .query_row(
            (
                case.cpr.to_string(),
                case.municipality.to_string(),
                case.first.to_string(),
            ),
            |r| r.get(0),
        ),
    )?;
    if let Some(existing) = existing {
        return Ok(Err(IntakeError::Exists(existing)));
    }
    let kode = if case.pensioner {
        VarighedKode::Pensionist61
    } else {
        VarighedKode::Oprettet60
    };
    tx.prepare_cached(
        "INSERT INTO ksd_cases (sag_id, municipality, cpr, arbejdsgiver, p_nummer,
             nem_refusion_id, foerste_fravaersdag, status, varighed_kode, created_at,
             updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10)",
    )?
    .execute(rusqlite::params![
        case.sag_id,
        case.municipality.to_string(),
        case.cpr.to_string(),
        case.arbejdsgiver.to_string(),
        case.p_nummer.map(|p| p.to_string()),
        case.nem_refusion_id.map(|n| n.to_string()),
        case.first.to_string(),
        Status::Aktiv.as_str(),
        kode.as_str(),
        unix_millis(now),
    ])?;
    lifecycle::start_in(tx, &case.sag_id, case.first, case.pensioner, rule)?;
    cases::own_change_in(tx, &case.sag_id, now, &tid.to_string(), case.note)?;
    sf2090::event_in(
        tx,
        &case.sag_id,
        HaendelseType::Oprettet,
        tid,
        ksd_system,
        rule,
        now,
    )?;
    Ok(Ok(()))
}

/// Ends an open case for a reason KSD sets, with its history row and the AFSLUTTET event.
pub async fn end(k: &Ksd, sag_id: &str, end: End) -> Result<CaseView, IntakeError> {
    let aarsag = OphoersAarsag::new(end.ophoers_aarsag).ok_or_else(|| {
        IntakeError::Invalid(format!(
            "ophoers_aarsag: {} is not in the value list",
            end.ophoers_aarsag
        ))
    })?;
    if aarsag.is_approved_holiday() {
        return Err(IntakeError::Invalid(
            "ophoers_aarsag: 24 (approved holiday) does not end a case (KSD-14)".into(),
        ));
    }
    if (60..=64).contains(&aarsag.code()) {
        return Err(IntakeError::Invalid(format!(
            "ophoers_aarsag: {aarsag} is a duration code (KSD-9), not a reason to end a case"
        )));
    }
    let start: Dato = field("ophoers_start", &end.ophoers_start)?;
    let now = k.now();
    let tid = k.message_ids.next_uuid();
    let (ksd_system, rule) = (k.ksd_system, k.duration);
    let id = sag_id.to_string();
    let note = format!("ended in KSD with {aarsag} (KSD-10)");
    let r =
        k.db.write(move |tx| {
            let ending = Ending {
                sag_id: &id,
                aarsag,
                start,
                note: &note,
            };
            end_in(tx, &ending, tid, ksd_system, &rule, now)
        })
        .await?;
    r?;
    k.outbox.notify();
    found(k, sag_id).await
}

/// An end of a case KSD sets: by hand, or from a DFDG report that the sick leave ended
/// (SF1612).
pub struct Ending<'a> {
    /// The case.
    pub sag_id: &'a str,
    /// Why it ends (not 24 nor a duration code: the callers check).
    pub aarsag: OphoersAarsag,
    /// End of follow-up.
    pub start: Dato,
    /// The history row's note.
    pub note: &'a str,
}

/// Ends an open case within `tx`: status OPHOERT, the limit closed (KSD-9), a history row and
/// the AFSLUTTET event (KSD-10); `NotFound`/`Ended` otherwise.
pub fn end_in(
    tx: &rusqlite::Transaction<'_>,
    e: &Ending<'_>,
    tid: Uuid,
    ksd_system: Uuid,
    rule: &lifecycle::DurationRule,
    now: time::OffsetDateTime,
) -> rusqlite::Result<Result<(), IntakeError>> {
    let status: Option<String> = rusqlite::OptionalExtension::optional(
        tx.prepare_cached("SELECT status FROM ksd_cases WHERE sag_id = ?1")?
            .query_row([e.sag_id], |r| r.get(0)),
    )?;
    match status.as_deref() {
        None => return Ok(Err(IntakeError::NotFound(e.sag_id.to_string()))),
        Some(s) if s != Status::Aktiv.as_str() => {
            return Ok(Err(IntakeError::Ended(e.sag_id.to_string())))
        }
        Some(_) => {}
    }
    tx.prepare_cached(
        "UPDATE ksd_cases SET status = ?2, ophoers_aarsag = ?3, ophoers_start = ?4,
             updated_at = ?5
         WHERE sag_id = ?1",
    )?
    .execute(rusqlite::params![
        e.sag_id,
        Status::Ophoert.as_str(),
        e.aarsag.code(),
        e.start.to_string(),
        unix_millis(now)
    ])?;
    lifecycle::close_in(tx, e.sag_id)?;
    cases::own_change_in(tx, e.sag_id, now, &tid.to_string(), e.note)?;
    sf2090::event_in(
        tx,
        e.sag_id,
        HaendelseType::Afsluttet,
        tid,
        ksd_system,
        rule,
        now,
    )?;
    Ok(Ok(()))
}

async fn found(k: &Ksd, sag_id: &str) -> Result<CaseView, IntakeError> {
    let id = sag_id.to_string();
    k.db.read(move |c| cases::case(c, &id))
        .await?
        .map(|c| c.case)
        .ok_or_else(|| IntakeError::NotFound(sag_id.to_string()))
}
