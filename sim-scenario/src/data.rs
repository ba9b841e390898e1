//! What each update says: realistic SF2095 content from the seed and the arrival's `seq`.
//!
//! Every field is drawn from the stream `data` keyed by `seq` ([`Rng::keyed`]), so the data of
//! arrival 17 is the same whether it is generated first, last or alone, and a replay with the
//! same seed sends byte-identical content.
//!
//! **Who notifies.** 85 % employers (with a P-number for the production unit), 7 %
//! self-employed and 8 % unemployment funds (no P-number: there is no production unit). A
//! NemRefusion id is present for 85 % of employer and self-employed notifications and half of
//! the fund ones.
//!
//! **Why follow-up ends** ([`AARSAG_WEIGHTS`], rule KSD-5): only codes an outsider may send —
//! never 10 nor 60–64; those come only from a `forbidden_code` fault. Recovery dominates (1 and
//! 2: 48 %), approved holiday (24) is common (15 %), transitions to other schemes (31, 37, 40:
//! 16 %) follow, the rest is rare.
//!
//! **Dates.** The first day of absence lies 1–730 days before the arrival's local date
//! (log-normal, median 35 days); follow-up ends between that day and the arrival date. For
//! holiday (24) the start is the first approved holiday day, 1–60 days ahead, and
//! `ophoers_slut_dato` the last, 0–20 days after it; no other code has an end date (KSD-4).

use sim_wire::{Cpr, Cvr, Dato, OphoersAarsag, PNummer, Uuid};
use time::{Date, Duration, Month};

use crate::arrivals::Arrival;
use crate::calendar::to_copenhagen;
use crate::refdata;
use sim_seed::Rng;

/// Ophørsårsag codes a jobcenter may send (rule KSD-5) and their relative weights (percent).
pub const AARSAG_WEIGHTS: [(u8, f64); 17] = [
    (1, 30.0),  // raskmelding fra borger
    (2, 18.0),  // raskmeldt af forvaltningen
    (4, 1.0),   // død
    (12, 3.0),  // tilkendt pension
    (17, 2.0),  // varighed pensionister
    (18, 4.0),  // anmodning/lægeerklæring ikke afleveret
    (20, 1.0),  // forhaler helbredelsen
    (24, 15.0), // ferie (with an end date)
    (25, 2.0),  // ophør efter forlængelse
    (27, 2.0),  // revalideringsydelse
    (31, 5.0),  // overgår til fleksjob
    (35, 3.0),  // manglende medvirken
    (37, 4.0),  // overgået til ressourceforløb
    (40, 7.0),  // overgår til jobafklaringsforløb
    (50, 1.0),  // frihedsberøvet
    (51, 1.0),  // udvandret uden for EU/EØS
    (52, 1.0),  // nyt cpr-nummer
];

/// The holiday code: the only one with an `OphoersSlutDato`.
pub const FERIE: u8 = 24;

/// Who sent the sick-leave notification the case is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Notifier {
    /// An employer; the update names its production unit.
    Employer,
    /// A self-employed person (their own CVR, no production unit).
    SelfEmployed,
    /// An unemployment fund (a-kasse) for an unemployed member.
    UnemploymentFund,
}

/// The business content of one SF2095 `OpdateringFravaer` (everything but the header's
/// transport fields, which the sender fills at sending time).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateData {
    /// The update's TransaktionIdentifikator; a resend repeats it (KSD-7).
    pub transaktion_id: Uuid,
    /// The person on sick leave: a real birth date, 18–70 years old on the arrival's date,
    /// the 7th digit consistent with the birth century.
    pub cpr: Cpr,
    /// Who notified (decides the next two fields).
    pub notifier: Notifier,
    /// The notifier's CVR (employer, own company or fund), with valid modulus-11 digits.
    pub arbejdsgiver: Cvr,
    /// The employer's production unit; `None` for self-employed and fund notifications.
    pub produktionsenhed: Option<PNummer>,
    /// NemRefusion's id of the notification, when it came through NemRefusion.
    pub nem_refusion_id: Option<Uuid>,
    /// The jobcenter's own case id: `JC<kommunekode>-<year>-<6 digits>`.
    pub jobcenter_sag_id: String,
    /// Why follow-up ends (KSD-5: one an outsider may send).
    pub ophoers_aarsag: OphoersAarsag,
    /// First day of absence.
    pub foerste_fravaersdag: Dato,
    /// End of follow-up, or the first approved holiday day; not before the first day.
    pub ophoers_start_dato: Dato,
    /// Last approved holiday day (code 24 only); not before the start (KSD-4).
    pub ophoers_slut_dato: Option<Dato>,
}

impl UpdateData {
    /// The data of `arrival` under `seed`.
    ///
    /// Its TransaktionIdentifikator is a version-7 UUID: the registration's virtual time in
    /// its first 48 bits, seeded random bits in the rest. Like the time-ordered ids many
    /// case systems issue, and, because arrivals come in time order, every program's
    /// indexes on it grow at their end instead of at random places: random v4 keys made
    /// each journaled message dirty a different index page (measured: a twentieth of the
    /// month run's disk writes per index).
    pub fn generate(seed: u64, arrival: &Arrival) -> UpdateData {
        let today = to_copenhagen(arrival.intended_at).date();
        let mut d = UpdateData::for_seq(seed, arrival.seq, today, arrival.municipality);
        d.transaktion_id = uuid_v7(arrival.intended_at, d.transaktion_id);
        d
    }

    /// The data of update `seq`, sent on local date `today` for `municipality`.
    pub fn for_seq(seed: u64, seq: u64, today: Date, municipality: Cvr) -> UpdateData {
        let mut rng = Rng::keyed(seed, "data", seq);
        let transaktion_id = uuid(&mut rng);
        let cpr = cpr(&mut rng, today);
        let notifier = match rng.choose_weighted(&[85.0, 7.0, 8.0]) {
            Some(1) => Notifier::SelfEmployed,
            Some(2) => Notifier::UnemploymentFund,
            _ => Notifier::Employer,
        };
        let arbejdsgiver = cvr(&mut rng);
        let produktionsenhed = match notifier {
            Notifier::Employer => PNummer::try_from(rng.range(1_000_000_000, 2_000_000_000)).ok(),
            _ => None,
        };
        let nem_p = if notifier == Notifier::UnemploymentFund {
            0.5
        } else {
            0.85
        };
        let nem_refusion_id = if rng.chance(nem_p) {
            Some(uuid(&mut rng))
        } else {
            None
        };
        let kode = refdata::by_cvr(municipality).map(|m| m.kode).unwrap_or(0);
        let jobcenter_sag_id = format!(
            "JC{kode:03}-{}-{:06}",
            today.year(),
            rng.range(0, 1_000_000)
        );
        let weights: Vec<f64> = AARSAG_WEIGHTS.iter().map(|(_, w)| *w).collect();
        let code = rng
            .choose_weighted(&weights)
            .map(|i| AARSAG_WEIGHTS[i].0)
            .unwrap_or(1);
        let ophoers_aarsag = OphoersAarsag::new(code).unwrap_or_else(|| {
            // Every code of the table is on the list (a test checks it); 1 is the fallback.
            OphoersAarsag::new(1).expect("1 is on the value list")
        });

        let back = rng.lognormal(35f64.ln(), 0.7).clamp(1.0, 730.0) as i64;
        let foerste = days(today, -back);
        let (start, slut) = if code == FERIE {
            let start = days(today, rng.range(1, 61) as i64);
            (start, Some(days(start, rng.range(0, 21) as i64)))
        } else {
            let span = (today - foerste).whole_days().max(0) as u64;
            (days(foerste, rng.range(0, span + 1) as i64), None)
        };
        UpdateData {
            transaktion_id,
            cpr,
            notifier,
            arbejdsgiver,
            produktionsenhed,
            nem_refusion_id,
            jobcenter_sag_id,
            ophoers_aarsag,
            foerste_fravaersdag: Dato(foerste),
            ophoers_start_dato: Dato(start),
            ophoers_slut_dato: slut.map(Dato),
        }
    }
}

/// A case KSD learns of (`cases:` intake, KSD-9): the person, the notifier and the first day
/// of absence, drawn from the scenario's seed by the intake arrival's sequence number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseData {
    /// The person (a real birth date; a pensioner's case has a person of 67 or more).
    pub cpr: Cpr,
    /// The notifier's CVR.
    pub arbejdsgiver: Cvr,
    /// The employer's production unit, for an employer's notification.
    pub produktionsenhed: Option<PNummer>,
    /// NemRefusion's id of the notification.
    pub nem_refusion_id: Option<Uuid>,
    /// First day of absence: uniformly `min_age_weeks` to `max_age_weeks` before `today`.
    pub foerste_fravaersdag: Dato,
    /// A pensioner's case (61).
    pub pensioner: bool,
}

impl CaseData {
    /// The data of intake arrival `seq` on local date `today`.
    pub fn for_seq(seed: u64, seq: u64, today: Date, intake: &crate::CaseIntake) -> CaseData {
        let mut rng = Rng::keyed(seed, "case-data", seq);
        let pensioner = rng.chance(intake.pensioner_share);
        let cpr = if pensioner {
            // 67 to 70 years old: cpr() draws 18-70, so draw from a date 49 years later.
            cpr(&mut rng, days(today, -49 * 365))
        } else {
            cpr(&mut rng, today)
        };
        let arbejdsgiver = cvr(&mut rng);
        let produktionsenhed = PNummer::try_from(rng.range(1_000_000_000, 2_000_000_000)).ok();
        let nem_refusion_id = Some(uuid(&mut rng));
        // From 0 (no `min_age_weeks`) this is the draw it always was: adding the field moved
        // no first day of an existing scenario.
        let back = rng.range(
            u64::from(intake.min_age_weeks) * 7,
            u64::from(intake.max_age_weeks) * 7 + 1,
        ) as i64;
        CaseData {
            cpr,
            arbejdsgiver,
            produktionsenhed,
            nem_refusion_id,
            foerste_fravaersdag: Dato(days(today, -back)),
            pensioner,
        }
    }
}

fn days(d: Date, n: i64) -> Date {
    d.checked_add(Duration::days(n)).unwrap_or(d)
}

/// `random`'s bits under a version-7 layout: `at` in Unix milliseconds in the first 48 bits.
fn uuid_v7(at: time::OffsetDateTime, random: Uuid) -> Uuid {
    let ms = u64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(0);
    let mut bytes = *random.as_uuid().as_bytes();
    bytes[..6].copy_from_slice(&ms.to_be_bytes()[2..]);
    bytes[6] = (bytes[6] & 0x0f) | 0x70;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    Uuid::from_bytes_exact(bytes)
}

/// A random UUID in the version-4 layout.
fn uuid(rng: &mut Rng) -> Uuid {
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&rng.u64().to_be_bytes());
    bytes[8..].copy_from_slice(&rng.u64().to_be_bytes());
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    Uuid::from_bytes(bytes)
}

/// `d` moved `years` back, 29 February becoming 28 February.
fn years_before(d: Date, years: i32) -> Date {
    let y = d.year() - years;
    Date::from_calendar_date(y, d.month(), d.day())
        .or_else(|_| Date::from_calendar_date(y, Month::February, 28))
        .unwrap_or(d)
}

/// A CPR of someone aged 18–70 on `today`: born after `today − 71 years` and no later than
/// `today − 18 years`; the 7th digit encodes the century as the CPR office's table does
/// (0–3: 1900s; 4 and 9: 2000–2036, or 1937–1999; 5–8: 2000–2057, or 1858–1899).
fn cpr(rng: &mut Rng, today: Date) -> Cpr {
    let latest = years_before(today, 18);
    let earliest = years_before(today, 71).next_day().unwrap_or(latest);
    let (lo, hi) = (earliest.to_julian_day(), latest.to_julian_day());
    let jd = lo + rng.range(0, (hi - lo).max(0) as u64 + 1) as i32;
    let birth = Date::from_julian_day(jd).unwrap_or(latest);
    let yy = birth.year().rem_euclid(100);
    let seventh: u64 = if birth.year() < 2000 {
        if yy >= 37 && rng.chance(0.1) {
            [4, 9][rng.range(0, 2) as usize]
        } else {
            rng.range(0, 4)
        }
    } else if yy <= 36 {
        [4, 5, 6, 7, 8, 9][rng.range(0, 6) as usize]
    } else {
        rng.range(5, 9)
    };
    let text = format!(
        "{:02}{:02}{:02}{}{:03}",
        birth.day(),
        u8::from(birth.month()),
        yy,
        seventh,
        rng.range(0, 1000)
    );
    text.parse().unwrap_or_else(|_| {
        // Unreachable for dates `time` accepts; a fixed valid CPR keeps this total.
        "0101800000".parse().expect("a valid CPR literal")
    })
}

/// A CVR number with a valid modulus-11 check digit (weights 2 7 6 5 4 3 2 1).
fn cvr(rng: &mut Rng) -> Cvr {
    const W: [u64; 7] = [2, 7, 6, 5, 4, 3, 2];
    for _ in 0..64 {
        let body = rng.range(1_000_000, 10_000_000);
        let digits: Vec<u64> = body
            .to_string()
            .bytes()
            .map(|b| u64::from(b - b'0'))
            .collect();
        let sum: u64 = digits.iter().zip(W).map(|(d, w)| d * w).sum();
        let check = (11 - sum % 11) % 11;
        if check < 10 {
            if let Ok(c) = Cvr::try_from((body * 10 + check) as u32) {
                return c;
            }
        }
    }
    // 1 in 11 bodies has no digit; 64 misses in a row does not happen. A valid fallback.
    Cvr::try_from(10_000_009).expect("a valid CVR literal")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aarsag_table_only_codes_an_outsider_may_send_ksd5() {
        for (code, _) in AARSAG_WEIGHTS {
            let a = OphoersAarsag::new(code).expect("on the list");
            assert!(a.outsider_may_send(), "{code}");
        }
        let total: f64 = AARSAG_WEIGHTS.iter().map(|(_, w)| w).sum();
        assert_eq!(total, 100.0);
    }

    #[test]
    fn fallback_literals_are_valid() {
        assert!("0101800000".parse::<Cpr>().is_ok());
        assert!(refdata::cvr_check_digit_ok(
            Cvr::try_from(10_000_009).unwrap()
        ));
    }
}
