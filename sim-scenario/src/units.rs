//! Text forms of the scenario's quantities: durations (`30d`, `1h30m`, `500ms`), instants
//! (RFC 3339 with offset, or `+2d` after the start), local times of day (`05:00`).
//!
//! Each parser has a formatter that writes the canonical text back, so an expanded scenario
//! ([`crate::Scenario::to_yaml`]) parses to the same value.

use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime, Time};

/// Nanoseconds per unit, longest first (the formatter's order).
const UNITS: [(&str, i128); 8] = [
    ("w", 7 * 86_400_000_000_000),
    ("d", 86_400_000_000_000),
    ("h", 3_600_000_000_000),
    ("m", 60_000_000_000),
    ("s", 1_000_000_000),
    ("ms", 1_000_000),
    ("us", 1_000),
    ("ns", 1),
];

/// The longest span a scenario may describe (ten years of virtual time): far beyond any run,
/// small enough that no arithmetic on instants overflows.
pub const MAX_SPAN: Duration = Duration::days(3653);

/// Parses a non-negative duration: one or more `<number><unit>` terms, units `w d h m s ms
/// us ns`, decimals allowed (`1.5s`), e.g. `30d`, `2h`, `90s`, `1h30m`, `250ms`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let s = text.trim();
    let bad = || {
        format!(
            "'{text}' is not a duration: a number with a unit (w, d, h, m, s, ms, us, ns) expected, e.g. 30d, 2h, 90s, 500ms"
        )
    };
    if s.is_empty() {
        return Err(bad());
    }
    let b = s.as_bytes();
    let mut i = 0;
    let mut total: i128 = 0;
    while i < b.len() {
        let start = i;
        while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'.') {
            i += 1;
        }
        let number = &s[start..i];
        let ustart = i;
        while i < b.len() && b[i].is_ascii_alphabetic() {
            i += 1;
        }
        let unit = &s[ustart..i];
        if number.is_empty() || unit.is_empty() {
            return Err(bad());
        }
        let per = UNITS
            .iter()
            .find(|(u, _)| *u == unit)
            .map(|(_, n)| *n)
            .ok_or_else(bad)?;
        total = total
            .checked_add(scaled(number, per).ok_or_else(bad)?)
            .ok_or_else(bad)?;
        if total > MAX_SPAN.whole_nanoseconds() {
            return Err(format!("'{text}' is longer than ten years"));
        }
    }
    i64::try_from(total)
        .map(Duration::nanoseconds)
        .map_err(|_| bad())
}

/// `number` (digits, at most one dot) times `per` nanoseconds, exactly.
fn scaled(number: &str, per: i128) -> Option<i128> {
    let (whole, frac) = match number.split_once('.') {
        Some((w, f)) => (w, f),
        None => (number, ""),
    };
    if frac.contains('.') || (whole.is_empty() && frac.is_empty()) || frac.len() > 9 {
        return None;
    }
    let w: i128 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let mut v = w.checked_mul(per)?;
    if !frac.is_empty() {
        let f: i128 = frac.parse().ok()?;
        let scale = 10i128.pow(frac.len() as u32);
        v = v.checked_add(f.checked_mul(per)? / scale)?;
    }
    Some(v)
}

/// The canonical text of a duration: the largest units first, e.g. `1d2h`, `1m30s`, `500ms`,
/// `0s`; exact down to the nanosecond.
pub fn format_duration(d: Duration) -> String {
    let mut n = d.whole_nanoseconds().max(0);
    if n == 0 {
        return "0s".into();
    }
    let mut out = String::new();
    for (unit, per) in UNITS {
        // Weeks are only written when they are whole: `14d` reads better than `2w`.
        if unit == "w" {
            continue;
        }
        let k = n / per;
        if k > 0 {
            out.push_str(&format!("{k}{unit}"));
            n -= k * per;
        }
    }
    out
}

/// RFC 3339 with an explicit offset, e.g. `2026-03-02T06:00:00+01:00`.
pub fn parse_datetime(text: &str) -> Result<OffsetDateTime, String> {
    OffsetDateTime::parse(text.trim(), &Rfc3339).map_err(|e| {
        format!("'{text}' is not an RFC 3339 date-time with offset (e.g. 2026-03-02T06:00:00+01:00): {e}")
    })
}

/// The RFC 3339 text of an instant (in its own offset).
pub fn format_datetime(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_else(|_| t.to_string())
}

/// An instant: `+<duration>` after `start`, or an RFC 3339 date-time.
pub fn parse_instant(text: &str, start: OffsetDateTime) -> Result<OffsetDateTime, String> {
    let s = text.trim();
    match s.strip_prefix('+') {
        Some(rest) => {
            let d = parse_duration(rest)
                .map_err(|e| format!("'{text}': after '+' a duration is expected ({e})"))?;
            start
                .checked_add(d)
                .ok_or_else(|| format!("'{text}' is out of range"))
        }
        None => {
            parse_datetime(s).map_err(|e| format!("{e}; or +<duration> after the start, e.g. +2d"))
        }
    }
}

/// A local time of day `HH:MM` (00:00 ... 23:59).
pub fn parse_time_of_day(text: &str) -> Result<Time, String> {
    let bad = || format!("'{text}' is not a time of day: HH:MM expected, e.g. 05:00");
    let (h, m) = text.trim().split_once(':').ok_or_else(bad)?;
    if h.len() != 2 || m.len() != 2 {
        return Err(bad());
    }
    let h: u8 = h.parse().map_err(|_| bad())?;
    let m: u8 = m.parse().map_err(|_| bad())?;
    Time::from_hms(h, m, 0).map_err(|_| bad())
}

/// `HH:MM`.
pub fn format_time_of_day(t: Time) -> String {
    format!("{:02}:{:02}", t.hour(), t.minute())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_and_format_canonically() {
        for (text, nanos, canon) in [
            ("30d", 30 * 86_400_000_000_000i128, "30d"),
            ("2h", 7_200_000_000_000, "2h"),
            ("90s", 90_000_000_000, "1m30s"),
            ("1h30m", 5_400_000_000_000, "1h30m"),
            ("500ms", 500_000_000, "500ms"),
            ("1.5s", 1_500_000_000, "1s500ms"),
            ("1w", 7 * 86_400_000_000_000, "7d"),
            ("0s", 0, "0s"),
        ] {
            let d = parse_duration(text).unwrap();
            assert_eq!(d.whole_nanoseconds(), nanos, "{text}");
            assert_eq!(format_duration(d), canon, "{text}");
            assert_eq!(parse_duration(canon).unwrap(), d);
        }
    }

    #[test]
    fn bad_durations_are_refused() {
        for text in [
            "",
            "30",
            "d",
            "5 parsecs",
            "1x",
            "-1s",
            "1..5s",
            "99999999999d",
            "1.0000000001s",
        ] {
            assert!(parse_duration(text).is_err(), "{text}");
        }
    }

    #[test]
    fn instants_relative_or_absolute() {
        let start = parse_datetime("2026-03-02T06:00:00+01:00").unwrap();
        assert_eq!(
            parse_instant("+2d", start).unwrap(),
            parse_datetime("2026-03-04T06:00:00+01:00").unwrap()
        );
        assert_eq!(
            parse_instant("2026-03-02T05:00:00Z", start).unwrap(),
            parse_datetime("2026-03-02T06:00:00+01:00").unwrap()
        );
        assert!(
            parse_instant("2026-03-02T05:00:00", start).is_err(),
            "offset required"
        );
        assert!(parse_instant("+tomorrow", start).is_err());
    }

    #[test]
    fn times_of_day() {
        assert_eq!(
            parse_time_of_day("05:00").unwrap(),
            Time::from_hms(5, 0, 0).unwrap()
        );
        assert_eq!(
            format_time_of_day(parse_time_of_day("22:30").unwrap()),
            "22:30"
        );
        for bad in ["5:00", "24:00", "12:60", "noon"] {
            assert!(parse_time_of_day(bad).is_err(), "{bad}");
        }
    }
}
