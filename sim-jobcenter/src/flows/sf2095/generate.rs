//! An [`UpdateSpec`] and the virtual now → a realistic, valid `SendOpdateringFravaerRequest`.
//!
//! Everything not given is drawn from the instance's seeded streams: a CPR with a real
//! birth date, an employer CVR and P-number, a first day of absence some days back, an end
//! of follow-up after it and not in the future, and an Ophoersaarsag an outsider may send
//! (KSD-5). The municipality is both the AuthorityContext and the header's Myndighed unless
//! the spec asks for a mismatch.

use std::str::FromStr;

use sim_wire::{
    AuthorityContext, Cpr, Cvr, Dato, DatoTid, Header, OpdateringFravaer, Operation, OphoersAarsag,
    PNummer, Payload, Request, Uuid, OPHOERS_AARSAG_LIST,
};
use time::{Date, Duration, OffsetDateTime};

use crate::model::UpdateSpec;
use crate::state::Vendor;
use crate::JobcenterError;
use sim_seed::Rng;

/// A built update, ready to persist and send.
pub struct Draft {
    /// Its TransaktionIdentifikator.
    pub transaktion_id: String,
    /// The security context's municipality.
    pub municipality: Cvr,
    /// The person, for journals.
    pub cpr: Cpr,
    /// The document.
    pub xml: String,
}

fn parse<T: FromStr>(what: &str, v: &str) -> Result<T, JobcenterError>
where
    T::Err: std::fmt::Display,
{
    v.parse()
        .map_err(|e| JobcenterError::Spec(format!("{what}: {e}")))
}

/// Builds the request for `spec` sent by `v` at `now`.
pub fn build(v: &Vendor, spec: &UpdateSpec, now: OffsetDateTime) -> Result<Draft, JobcenterError> {
    let (municipality, myndighed) = context(v, spec)?;
    // Millisecond precision, as real systems write it; nanoseconds would only be noise.
    let now = now
        .to_offset(time::UtcOffset::UTC)
        .replace_nanosecond(now.nanosecond() / 1_000_000 * 1_000_000)
        .unwrap_or(now);
    let drawn = draw(v, spec, now.date())?;
    let tid = match &spec.transaktion_id {
        Some(t) => t
            .parse()
            .map_err(|e| JobcenterError::Spec(format!("transaktion_id: {e}")))?,
        None => v.tids.next_uuid(),
    };
    let request = Request {
        operation: Operation::SendOpdateringFravaer,
        call_context: None,
        authority_context: Some(AuthorityContext {
            municipality_cvr: municipality,
        }),
        payload: Payload::OpdateringFravaer(opdatering(v, myndighed, tid, DatoTid(now), &drawn)),
    };
    Ok(Draft {
        transaktion_id: tid.to_string(),
        municipality,
        cpr: drawn.cpr,
        xml: sim_wire::write_request(&request),
    })
}

/// The security context's municipality (one `v` serves, JC-3) and the header's Myndighed.
fn context(v: &Vendor, spec: &UpdateSpec) -> Result<(Cvr, Cvr), JobcenterError> {
    let municipality = match &spec.municipality {
        Some(m) => parse::<Cvr>("municipality", m)?,
        None => *v.municipalities().first().ok_or_else(|| {
            JobcenterError::Spec(format!(
                "instance '{}' serves no municipality now: name one it serves, or give it one",
                v.instance
            ))
        })?,
    };
    // JC-3: a solution acts only for municipalities it serves.
    if !v.serves(&municipality) {
        return Err(JobcenterError::NotServed {
            instance: v.instance.clone(),
            municipality: municipality.to_string(),
        });
    }
    let myndighed = match &spec.myndighed {
        Some(m) => parse::<Cvr>("myndighed", m)?,
        None => municipality,
    };
    Ok((municipality, myndighed))
}

/// The update's data: the spec's overrides, the rest drawn from the instance's stream.
struct Drawn {
    cpr: Cpr,
    arbejdsgiver: Cvr,
    p_nummer: PNummer,
    foerste: Dato,
    ophoers_start: Dato,
    ophoers_slut: Option<Dato>,
    aarsag: OphoersAarsag,
    sag_id: String,
}

/// Fills in what `spec` leaves out. The draws happen in one fixed order (and only for what
/// is left out), so the same seed and specs give byte-identical messages.
fn draw(v: &Vendor, spec: &UpdateSpec, today: Date) -> Result<Drawn, JobcenterError> {
    let mut guard = v
        .data
        .lock()
        .map_err(|_| JobcenterError::Task("data stream lock poisoned".into()))?;
    let rng: &mut Rng = &mut guard;
    let cpr = match &spec.cpr {
        Some(c) => parse::<Cpr>("cpr", c)?,
        None => cpr(rng, today)?,
    };
    let arbejdsgiver = match &spec.arbejdsgiver {
        Some(c) => parse::<Cvr>("arbejdsgiver", c)?,
        None => parse(
            "generated CVR",
            &rng.range_inclusive(10_000_000, 99_999_999).to_string(),
        )?,
    };
    // Real P-numbers are 10 digits starting with 1.
    let p_nummer = match &spec.produktionsenhed {
        Some(p) => parse::<PNummer>("produktionsenhed", p)?,
        None => parse(
            "generated P-number",
            &rng.range_inclusive(1_000_000_000, 1_999_999_999)
                .to_string(),
        )?,
    };
    let foerste = match &spec.foerste_fravaersdag {
        Some(d) => parse::<Dato>("foerste_fravaersdag", d)?,
        None => Dato(days_before(today, rng.range_inclusive(7, 120))),
    };
    let ophoers_start = match &spec.ophoers_start_dato {
        Some(d) => parse::<Dato>("ophoers_start_dato", d)?,
        None => {
            let span = (today - foerste.0).whole_days().max(1) as u64;
            Dato(days_after(foerste.0, rng.range_inclusive(1, span)).min(today.max(foerste.0)))
        }
    };
    let ophoers_slut = spec
        .ophoers_slut_dato
        .as_deref()
        .map(|d| parse::<Dato>("ophoers_slut_dato", d))
        .transpose()?;
    let aarsag = aarsag(rng, spec.ophoers_aarsag)?;
    // KSD-14: an approved holiday (24) carries its last day; the case stays open.
    let ophoers_slut = match ophoers_slut {
        None if aarsag.is_approved_holiday() => Some(Dato(days_after(
            ophoers_start.0,
            rng.range_inclusive(0, 20),
        ))),
        given => given,
    };
    let sag_id = match &spec.jobcenter_sag_id {
        // Free text goes into the document as it is: only what XML 1.0 allows (WIRE-1).
        Some(s) if s.chars().any(|c| !sim_wire::is_xml_char(c)) => {
            return Err(JobcenterError::Spec(
                "jobcenter_sag_id holds a character XML 1.0 does not allow (WIRE-1)".into(),
            ))
        }
        Some(s) => s.clone(),
        None => format!(
            "{}-{}-{:06}",
            v.vendor.to_uppercase(),
            today.year(),
            rng.range_inclusive(0, 999_999)
        ),
    };
    Ok(Drawn {
        cpr,
        arbejdsgiver,
        p_nummer,
        foerste,
        ophoers_start,
        ophoers_slut,
        aarsag,
        sag_id,
    })
}

/// The given Ophoersaarsag (any code of the value list, so a scenario can provoke KSD-5), or
/// a drawn one an outsider may send.
fn aarsag(rng: &mut Rng, given: Option<u8>) -> Result<OphoersAarsag, JobcenterError> {
    match given {
        Some(code) => OphoersAarsag::new(code).ok_or_else(|| {
            JobcenterError::Spec(format!(
                "ophoers_aarsag: {code} is not in the value list {OPHOERS_AARSAG_LIST:?}"
            ))
        }),
        None => {
            let allowed: Vec<OphoersAarsag> = OPHOERS_AARSAG_LIST
                .iter()
                .filter_map(|c| OphoersAarsag::new(*c))
                .filter(|a| a.jobcenter_sends())
                .collect();
            rng.choose(&allowed)
                .copied()
                .ok_or_else(|| JobcenterError::Task("no Ophoersaarsag may be sent".into()))
        }
    }
}

/// The payload: every time stamp is `stamp`, the NemRefusionIdentifier the instance's next.
fn opdatering(
    v: &Vendor,
    myndighed: Cvr,
    tid: Uuid,
    stamp: DatoTid,
    d: &Drawn,
) -> OpdateringFravaer {
    OpdateringFravaer {
        header: Header {
            transaktion_identifikator: tid,
            besked_forsendelses_dato_tid: stamp,
            registrering_fra_dato_tid: stamp,
            registrering_it_system: v.system_uuid,
            registrering_bruger: None,
            udgiver_type_kode: None,
            myndighed,
            sygemeldte_part: d.cpr,
            arbejdsgiver_part: d.arbejdsgiver,
            arbejdsgiver_produktionsenhed: Some(d.p_nummer),
            nem_refusion_identifier: Some(v.ids.next_uuid()),
            sag_identifikator: None,
            jobcenter_sag_id: Some(d.sag_id.clone()),
            kmd_sag_identifikator: None,
            kmd_delsag_identifikator: None,
            forretning_haendelse_dato_tid: stamp,
            foerste_fravaersdag: d.foerste,
        },
        ophoers_aarsag: d.aarsag,
        ophoers_start_dato: d.ophoers_start,
        ophoers_slut_dato: d.ophoers_slut,
    }
}

fn days_before(d: Date, n: u64) -> Date {
    d.checked_sub(Duration::days(n as i64)).unwrap_or(d)
}

fn days_after(d: Date, n: u64) -> Date {
    d.checked_add(Duration::days(n as i64)).unwrap_or(d)
}

/// A CPR of someone aged 18-67 today: DDMMYY, the 7th digit consistent with the century
/// (0-3 for 1900-1999, 4 for 2000-2036), three more digits.
fn cpr(rng: &mut Rng, today: Date) -> Result<Cpr, JobcenterError> {
    let year = today.year() as u64 - rng.range_inclusive(18, 67);
    let month = rng.range_inclusive(1, 12);
    let day = rng.range_inclusive(1, 28);
    let seventh = if year >= 2000 {
        4
    } else {
        rng.range_inclusive(0, 3)
    };
    let text = format!(
        "{day:02}{month:02}{:02}{seventh}{:03}",
        year % 100,
        rng.range_inclusive(0, 999)
    );
    parse("generated CPR", &text)
}
