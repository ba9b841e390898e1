//! Value types that can only hold valid values (wire.md §3.1, rules KSD-3, KSD-5).
//!
//! Each type parses from the exact text the contract allows and displays back to the
//! canonical text the writer emits, so `parse(display(x)) == x` for every value.

use std::fmt;
use std::str::FromStr;

use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

/// Why a text is not a value of its type; the reader turns it into a `FORMAT` problem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ValueError(pub String);

fn err<T>(text: impl Into<String>) -> Result<T, ValueError> {
    Err(ValueError(text.into()))
}

fn all_digits(s: &str, n: usize) -> bool {
    s.len() == n && s.bytes().all(|b| b.is_ascii_digit())
}

macro_rules! digits_newtype {
    ($(#[$doc:meta])* $name:ident, $repr:ty, $n:literal, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name($repr);

        impl $name {
            /// The number as an integer (leading zeros are implied by the fixed width).
            pub fn value(self) -> $repr {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{:0width$}", self.0, width = $n)
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }

        impl TryFrom<$repr> for $name {
            type Error = ValueError;
            fn try_from(v: $repr) -> Result<Self, ValueError> {
                format!("{:0width$}", v, width = $n).parse()
            }
        }
    };
}

digits_newtype!(
    /// A CVR number: exactly 8 digits (municipalities, employers, KOMBIT).
    Cvr, u32, 8, "CVR"
);
digits_newtype!(
    /// A CPR number: 10 digits whose first six are a real date DDMMYY (century from the 7th digit).
    Cpr, u64, 10, "CPR"
);
digits_newtype!(
    /// A P-number (production unit): exactly 10 digits.
    PNummer, u64, 10, "P-number"
);

impl FromStr for Cvr {
    type Err = ValueError;
    fn from_str(s: &str) -> Result<Self, ValueError> {
        if !all_digits(s, 8) {
            return err(format!(
                "'{s}' is not a CVR number: exactly 8 digits expected"
            ));
        }
        Ok(Cvr(s.parse().expect("8 digits fit u32")))
    }
}

impl FromStr for PNummer {
    type Err = ValueError;
    fn from_str(s: &str) -> Result<Self, ValueError> {
        if !all_digits(s, 10) {
            return err(format!(
                "'{s}' is not a P-number: exactly 10 digits expected"
            ));
        }
        Ok(PNummer(s.parse().expect("10 digits fit u64")))
    }
}

impl Cpr {
    /// The birth date encoded in the first six digits, with the century from the 7th digit
    /// (the CPR office's table).
    pub fn birth_date(self) -> Date {
        cpr_date(&self.to_string()).expect("a Cpr always holds a real date")
    }
}

fn cpr_date(s: &str) -> Option<Date> {
    let b = s.as_bytes();
    let n = |i: usize| (b[i] - b'0') as i32;
    let day = n(0) * 10 + n(1);
    let month = n(2) * 10 + n(3);
    let yy = n(4) * 10 + n(5);
    let seventh = n(6);
    let century = match seventh {
        0..=3 => 1900,
        4 | 9 => {
            if yy <= 36 {
                2000
            } else {
                1900
            }
        }
        _ => {
            if yy <= 57 {
                2000
            } else {
                1800
            }
        }
    };
    let month = Month::try_from(u8::try_from(month).ok()?).ok()?;
    Date::from_calendar_date(century + yy, month, u8::try_from(day).ok()?).ok()
}

impl FromStr for Cpr {
    type Err = ValueError;
    fn from_str(s: &str) -> Result<Self, ValueError> {
        if !all_digits(s, 10) {
            return err(format!(
                "'{s}' is not a CPR number: exactly 10 digits expected"
            ));
        }
        if cpr_date(s).is_none() {
            return err(format!(
                "'{s}' is not a CPR number: the first six digits are not a real date DDMMYY"
            ));
        }
        Ok(Cpr(s.parse().expect("10 digits fit u64")))
    }
}

/// A UUID in the hyphenated 8-4-4-4-12 form (either case on input, lower case on output).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Uuid(uuid::Uuid);

impl Uuid {
    /// Wraps 16 bytes (the generators draw them from a seeded stream).
    pub fn from_bytes(bytes: [u8; 16]) -> Uuid {
        Uuid(uuid::Builder::from_random_bytes(bytes).into_uuid())
    }

    /// Wraps 16 bytes as they are: the caller has set version and variant (a version-7
    /// id from a time and seeded bits, say).
    pub fn from_bytes_exact(bytes: [u8; 16]) -> Uuid {
        Uuid(uuid::Uuid::from_bytes(bytes))
    }

    /// Wraps a `uuid::Uuid`.
    pub fn from_uuid(u: uuid::Uuid) -> Uuid {
        Uuid(u)
    }

    /// The inner `uuid::Uuid`.
    pub fn as_uuid(&self) -> &uuid::Uuid {
        &self.0
    }
}

impl FromStr for Uuid {
    type Err = ValueError;
    fn from_str(s: &str) -> Result<Self, ValueError> {
        let b = s.as_bytes();
        let shape_ok = b.len() == 36
            && b.iter().enumerate().all(|(i, c)| match i {
                8 | 13 | 18 | 23 => *c == b'-',
                _ => c.is_ascii_hexdigit(),
            });
        if !shape_ok {
            return err(format!(
                "'{s}' is not a UUID: the hyphenated form 8-4-4-4-12 of hex digits is expected"
            ));
        }
        uuid::Uuid::try_parse(s)
            .map(Uuid)
            .or_else(|e| err(format!("'{s}' is not a UUID: {e}")))
    }
}

impl fmt::Display for Uuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0.hyphenated(), f)
    }
}

impl serde::Serialize for Uuid {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Uuid {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

fn two(b: &[u8], i: usize) -> Option<u8> {
    let (h, l) = (*b.get(i)?, *b.get(i + 1)?);
    (h.is_ascii_digit() && l.is_ascii_digit()).then(|| (h - b'0') * 10 + (l - b'0'))
}

fn parse_ymd(b: &[u8]) -> Option<Date> {
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' || !b[..4].iter().all(u8::is_ascii_digit) {
        return None;
    }
    let year = b[..4]
        .iter()
        .fold(0i32, |a, d| a * 10 + i32::from(d - b'0'));
    let month = Month::try_from(two(b, 5)?).ok()?;
    Date::from_calendar_date(year, month, two(b, 8)?).ok()
}

/// Parses `Z` or `±hh:mm`; `None` for anything else.
fn parse_offset(b: &[u8]) -> Option<UtcOffset> {
    match b {
        b"Z" => Some(UtcOffset::UTC),
        [sign @ (b'+' | b'-'), _, _, b':', _, _] => {
            let (h, m) = (two(b, 1)?, two(b, 4)?);
            if h > 14 || m > 59 {
                return None;
            }
            let k = if *sign == b'-' { -1 } else { 1 };
            UtcOffset::from_hms(k * h as i8, k * m as i8, 0).ok()
        }
        _ => None,
    }
}

fn write_offset(f: &mut fmt::Formatter<'_>, o: UtcOffset) -> fmt::Result {
    if o.is_utc() {
        return f.write_str("Z");
    }
    let (h, m, _) = o.as_hms();
    let sign = if o.is_negative() { '-' } else { '+' };
    write!(f, "{sign}{:02}:{:02}", h.unsigned_abs(), m.unsigned_abs())
}

/// An `xs:date` (a calendar day). A time-zone suffix on input is accepted and dropped: a
/// day in this domain is a Danish calendar day whatever the sender's zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Dato(pub Date);

impl FromStr for Dato {
    type Err = ValueError;
    fn from_str(s: &str) -> Result<Self, ValueError> {
        let b = s.as_bytes();
        let date = parse_ymd(b).filter(|_| b.len() == 10 || parse_offset(&b[10..]).is_some());
        match date {
            Some(d) => Ok(Dato(d)),
            None => err(format!("'{s}' is not a date: YYYY-MM-DD expected")),
        }
    }
}

impl fmt::Display for Dato {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.0;
        write!(f, "{:04}-{:02}-{:02}", d.year(), d.month() as u8, d.day())
    }
}

/// An `xs:dateTime` with a mandatory offset (`Z` or `±hh:mm`): a time without one is
/// ambiguous, and the contract requires every timestamp to be a point in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DatoTid(pub OffsetDateTime);

impl DatoTid {
    /// The Unix time in milliseconds.
    pub fn unix_millis(self) -> i64 {
        (self.0.unix_timestamp_nanos() / 1_000_000) as i64
    }
}

impl FromStr for DatoTid {
    type Err = ValueError;
    fn from_str(s: &str) -> Result<Self, ValueError> {
        parse_date_time(s.as_bytes()).map(DatoTid).ok_or_else(|| {
            ValueError(format!(
                "'{s}' is not a dateTime with offset: YYYY-MM-DDThh:mm:ss[.fff](Z|±hh:mm) expected"
            ))
        })
    }
}

fn parse_date_time(b: &[u8]) -> Option<OffsetDateTime> {
    let date = parse_ymd(b)?;
    if b.get(10) != Some(&b'T') || b.get(13) != Some(&b':') || b.get(16) != Some(&b':') {
        return None;
    }
    let (h, m, sec) = (two(b, 11)?, two(b, 14)?, two(b, 17)?);
    let mut i = 19;
    let mut nanos = 0u32;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            if i - start < 9 {
                nanos = nanos * 10 + u32::from(b[i] - b'0');
            }
            i += 1;
        }
        let digits = i - start;
        if digits == 0 {
            return None;
        }
        nanos *= 10u32.pow(9u32.saturating_sub(digits as u32));
    }
    let offset = parse_offset(&b[i..])?;
    let time = Time::from_hms_nano(h, m, sec, nanos).ok()?;
    Some(PrimitiveDateTime::new(date, time).assume_offset(offset))
}

impl fmt::Display for DatoTid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = self.0;
        write!(
            f,
            "{}T{:02}:{:02}:{:02}",
            Dato(t.date()),
            t.hour(),
            t.minute(),
            t.second()
        )?;
        let nanos = t.nanosecond();
        if nanos != 0 {
            let mut frac = format!("{nanos:09}");
            while frac.ends_with('0') {
                frac.pop();
            }
            write!(f, ".{frac}")?;
        }
        write_offset(f, t.offset())
    }
}

impl serde::Serialize for DatoTid {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// `UdgiverTypeKode`: exactly two digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UdgiverTypeKode(u8);

impl UdgiverTypeKode {
    /// Makes a code from 0..=99.
    pub fn new(v: u8) -> Option<UdgiverTypeKode> {
        (v < 100).then_some(UdgiverTypeKode(v))
    }
}

impl FromStr for UdgiverTypeKode {
    type Err = ValueError;
    fn from_str(s: &str) -> Result<Self, ValueError> {
        match two(s.as_bytes(), 0) {
            Some(v) if s.len() == 2 => Ok(UdgiverTypeKode(v)),
            _ => err(format!(
                "'{s}' is not an UdgiverTypeKode: exactly 2 digits expected"
            )),
        }
    }
}

impl fmt::Display for UdgiverTypeKode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}", self.0)
    }
}

/// The Ophørsårsag value list (rule KSD-5), in list order.
pub const OPHOERS_AARSAG_LIST: [u8; 23] = [
    1, 2, 4, 10, 12, 17, 18, 20, 24, 25, 27, 31, 35, 37, 40, 50, 51, 52, 60, 61, 62, 63, 64,
];

/// A code from the Ophørsårsag value list (rule KSD-5). Which codes an outsider may send
/// is a question of who sends, answered by [`OphoersAarsag::outsider_may_send`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OphoersAarsag(u8);

impl OphoersAarsag {
    /// A code from the list; `None` for anything else.
    pub fn new(code: u8) -> Option<OphoersAarsag> {
        OPHOERS_AARSAG_LIST
            .contains(&code)
            .then_some(OphoersAarsag(code))
    }

    /// The numeric code.
    pub fn code(self) -> u8 {
        self.0
    }

    /// Rule KSD-5: a jobcenter (any outsider) may not send 10 (KSD discards it) nor 60–64
    /// (KSD-internal codes).
    pub fn outsider_may_send(self) -> bool {
        !matches!(self.0, 10 | 60..=64)
    }

    /// Rule KSD-14: 10 (moved) is set only by KSD; received from outside, the update carrying
    /// it is discarded — answered ADVARSEL, not processed, no business receipt.
    pub fn discarded_from_outside(self) -> bool {
        self.0 == 10
    }

    /// Rule KSD-14: 18 sent by a jobcenter is currently suspended (accepted with a warning).
    pub fn suspended_from_jobcenters(self) -> bool {
        self.0 == 18
    }

    /// Rule KSD-14: 17 and 25 concern pensioner cases (61): the duration of a pensioner's
    /// case, and its end after an extension.
    pub fn is_pensioners(self) -> bool {
        matches!(self.0, 17 | 25)
    }

    /// Rule KSD-14: 24 is an approved holiday (OphoersStartDato and OphoersSlutDato are its
    /// first and last day): it does not end the case.
    pub fn is_approved_holiday(self) -> bool {
        self.0 == 24
    }

    /// What a well-behaved jobcenter sends: allowed from outside (KSD-5) and not suspended
    /// (KSD-14). 50–52 may come from a jobcenter: the value list only says KSD writes them
    /// as 2 towards others (KSD-6).
    pub fn jobcenter_sends(self) -> bool {
        self.outsider_may_send() && !self.suspended_from_jobcenters()
    }

    /// Rule KSD-6: what KSD writes when it communicates outward: 50, 51 and 52 become 2.
    pub fn outward(self) -> OphoersAarsag {
        match self.0 {
            50..=52 => OphoersAarsag(2),
            _ => self,
        }
    }
}

impl FromStr for OphoersAarsag {
    type Err = ValueError;
    fn from_str(s: &str) -> Result<Self, ValueError> {
        let n: Option<u8> =
            if !s.is_empty() && s.len() <= 3 && s.bytes().all(|b| b.is_ascii_digit()) {
                s.parse().ok()
            } else {
                None
            };
        match n {
            Some(n) => OphoersAarsag::new(n)
                .ok_or_else(|| ValueError(format!("'{s}' is not in the Ophoersaarsag value list"))),
            None => err(format!(
                "'{s}' is not an Ophoersaarsag code: a number from the value list expected"
            )),
        }
    }
}

impl fmt::Display for OphoersAarsag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

macro_rules! code_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $text:literal),* $(,)? } $what:literal, $ci:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($(#[$vdoc])* $variant),* }

        impl $name {
            /// Every value, in contract order.
            pub const ALL: &'static [$name] = &[$($name::$variant),*];

            /// The text the writer emits.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),* }
            }
        }

        impl FromStr for $name {
            type Err = ValueError;
            fn from_str(s: &str) -> Result<Self, ValueError> {
                $(
                    if s == $text || ($ci && s.eq_ignore_ascii_case($text)) {
                        return Ok($name::$variant);
                    }
                )*
                err(format!(concat!("'{}' is not a ", $what, ": one of {} expected"), s, [$($text),*].join(", ")))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
    };
}

code_enum!(
    /// The case's duration code (rule KSD-9).
    VarighedKode {
        /// Created.
        Oprettet60 = "60",
        /// Created for a pensioner.
        Pensionist61 = "61",
        /// Time-limited extension.
        Tidsbegraenset62 = "62",
        /// Duration limit reached without extension.
        Udloebet63 = "63",
        /// Unlimited extension.
        Tidsubegraenset64 = "64",
    } "VarighedKode", false
);

code_enum!(
    /// A case's status.
    Status {
        /// Ongoing.
        Aktiv = "AKTIV",
        /// Ended.
        Ophoert = "OPHOERT",
    } "Status", false
);

code_enum!(
    /// What happened to a case (SF2090).
    HaendelseType {
        /// Created.
        Oprettet = "OPRETTET",
        /// Changed.
        Aendret = "AENDRET",
        /// Ended.
        Afsluttet = "AFSLUTTET",
    } "HaendelseType", false
);

code_enum!(
    /// The kind of extension (SF2093).
    ForlaengelseType {
        /// Extended to a date.
        Tidsbegraenset = "TIDSBEGRAENSET",
        /// Extended without limit.
        Tidsubegraenset = "TIDSUBEGRAENSET",
    } "ForlaengelseType", false
);

code_enum!(
    /// The transport receipt's verdict; read case-insensitively (the seeds mix case).
    TransportValideringsKode {
        /// Accepted.
        Ok = "OK",
        /// Accepted with remarks.
        Advarsel = "ADVARSEL",
        /// Not processed: fix and resend.
        Fejl = "FEJL",
    } "TransportValideringsKode", true
);

code_enum!(
    /// The business receipt's verdict; read case-insensitively.
    ForretningsValideringsKode {
        /// Received.
        Modtaget = "MODTAGET",
        /// Delivered.
        Afleveret = "AFLEVERET",
        /// Accepted.
        Accepteret = "ACCEPTERET",
        /// Rejected.
        Afvist = "AFVIST",
        /// Failed; only this code carries a FejlListe (rule KSD-2).
        Fejlet = "FEJLET",
    } "ForretningsValideringsKode", true
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cvr_is_exactly_eight_digits() {
        assert_eq!("29189846".parse::<Cvr>().unwrap().to_string(), "29189846");
        assert_eq!("01234567".parse::<Cvr>().unwrap().to_string(), "01234567");
        for bad in ["1234567", "123456789", "1234567a", "", " 12345678"] {
            assert!(bad.parse::<Cvr>().is_err(), "{bad}");
        }
    }

    #[test]
    fn cpr_needs_a_real_birth_date() {
        let c: Cpr = "0101701234".parse().unwrap();
        assert_eq!(c.birth_date(), time::macros::date!(1970 - 01 - 01));
        assert_eq!(
            "2902004000".parse::<Cpr>().unwrap().birth_date().year(),
            2000
        );
        assert!("2902014000".parse::<Cpr>().is_err(), "2001 is no leap year");
        assert!("3213701234".parse::<Cpr>().is_err());
        assert!("0101701234 ".parse::<Cpr>().is_err());
    }

    #[test]
    fn date_time_needs_an_offset_and_round_trips() {
        for s in [
            "2026-11-23T08:15:00+01:00",
            "2026-11-23T08:15:00.123Z",
            "2026-06-01T00:00:00-02:30",
        ] {
            let d: DatoTid = s.parse().unwrap();
            assert_eq!(d.to_string(), s);
        }
        assert!("2026-11-23T08:15:00".parse::<DatoTid>().is_err());
        assert!("2026-02-30T08:15:00Z".parse::<DatoTid>().is_err());
        assert!("2026-11-23T25:15:00Z".parse::<DatoTid>().is_err());
        assert!("2026-11-23T08:15:00.Z".parse::<DatoTid>().is_err());
    }

    #[test]
    fn dates_accept_and_drop_a_zone() {
        assert_eq!(
            "2026-11-23".parse::<Dato>().unwrap().to_string(),
            "2026-11-23"
        );
        assert_eq!(
            "2026-11-23+01:00".parse::<Dato>().unwrap().to_string(),
            "2026-11-23"
        );
        assert!("2026-13-01".parse::<Dato>().is_err());
        assert!("23-11-2026".parse::<Dato>().is_err());
    }

    #[test]
    fn uuid_must_be_hyphenated() {
        let u: Uuid = "6F9619FF-8B86-D011-B42D-00C04FC964FF".parse().unwrap();
        assert_eq!(u.to_string(), "6f9619ff-8b86-d011-b42d-00c04fc964ff");
        assert!("6f9619ff8b86d011b42d00c04fc964ff".parse::<Uuid>().is_err());
        assert!("{6f9619ff-8b86-d011-b42d-00c04fc964ff}"
            .parse::<Uuid>()
            .is_err());
    }

    #[test]
    fn ophoersaarsag_value_list_rule_ksd5_and_outward_ksd6() {
        assert!("99".parse::<OphoersAarsag>().is_err());
        assert!("x".parse::<OphoersAarsag>().is_err());
        let c = |n| OphoersAarsag::new(n).unwrap();
        assert!(!c(10).outsider_may_send());
        for n in 60..=64 {
            assert!(!c(n).outsider_may_send());
        }
        assert!(c(1).outsider_may_send() && c(52).outsider_may_send());
        assert_eq!(c(51).outward(), c(2));
        assert_eq!(c(40).outward(), c(40));
    }

    #[test]
    fn receipt_codes_are_read_case_insensitively() {
        assert_eq!(
            "Advarsel".parse::<TransportValideringsKode>().unwrap(),
            TransportValideringsKode::Advarsel
        );
        assert_eq!(
            "modtaget"
                .parse::<ForretningsValideringsKode>()
                .unwrap()
                .to_string(),
            "MODTAGET"
        );
        assert!("aktiv".parse::<Status>().is_err());
    }
}
