//! Danish days and Copenhagen time: public holidays, working days, CET/CEST, and the
//! platform's service windows (rule SP-9).
//!
//! Working days matter twice: the platform's peak and its stricter availability target are
//! 06–18 on working days (rule SP-8), so the default traffic profile follows them; and the
//! service windows are defined in local time, so they move by an hour against UTC twice a
//! year.
//!
//! **Holidays.** Nytårsdag, Skærtorsdag, Langfredag, Påskedag, 2. påskedag, Store bededag
//! (only until 2023: abolished from 2024), Kristi himmelfartsdag, Pinsedag, 2. pinsedag,
//! Juledag and 2. juledag. **Half days.** Grundlovsdag (5 June), Juleaften (24 December) and
//! Nytårsaften (31 December) are not public holidays, but public offices and most jobcenters
//! close, so this crate treats them like a weekend day: not a working day, and the profile's
//! `weekend_factor` applies.
//!
//! **Time zone.** Europe/Copenhagen is CET (UTC+1) and CEST (UTC+2) from the last Sunday of
//! March 01:00 UTC to the last Sunday of October 01:00 UTC (the EU rule since 1996). That is
//! all the zone needs for the years a simulation uses, so there is no tz database here.

use time::{Date, Duration, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset, Weekday};

/// A Danish public holiday (helligdag).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Holiday {
    /// 1 January.
    Nytaarsdag,
    /// Thursday before Easter.
    Skaertorsdag,
    /// Good Friday.
    Langfredag,
    /// Easter Sunday.
    Paaskedag,
    /// Easter Monday.
    AndenPaaskedag,
    /// Fourth Friday after Easter; a holiday until 2023, abolished from 2024.
    StoreBededag,
    /// Ascension, 39 days after Easter.
    KristiHimmelfartsdag,
    /// Whit Sunday, 49 days after Easter.
    Pinsedag,
    /// Whit Monday.
    AndenPinsedag,
    /// 25 December.
    Juledag,
    /// 26 December.
    AndenJuledag,
}

impl Holiday {
    /// The Danish name.
    pub fn name(self) -> &'static str {
        match self {
            Holiday::Nytaarsdag => "Nytårsdag",
            Holiday::Skaertorsdag => "Skærtorsdag",
            Holiday::Langfredag => "Langfredag",
            Holiday::Paaskedag => "Påskedag",
            Holiday::AndenPaaskedag => "2. påskedag",
            Holiday::StoreBededag => "Store bededag",
            Holiday::KristiHimmelfartsdag => "Kristi himmelfartsdag",
            Holiday::Pinsedag => "Pinsedag",
            Holiday::AndenPinsedag => "2. pinsedag",
            Holiday::Juledag => "Juledag",
            Holiday::AndenJuledag => "2. juledag",
        }
    }
}

/// A day on which offices close although it is no public holiday (treated as a weekend day).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HalfDay {
    /// 5 June, Constitution Day.
    Grundlovsdag,
    /// 24 December.
    Juleaften,
    /// 31 December.
    Nytaarsaften,
}

/// What kind of day a date is, for the traffic profile and the SLA (rule SP-8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DayKind {
    /// Monday–Friday, no holiday, no half day.
    Working,
    /// Saturday or Sunday (that is not a holiday).
    Weekend,
    /// A public holiday (also when it falls on a weekend).
    Holiday(Holiday),
    /// Grundlovsdag, Juleaften, Nytårsaften on a weekday.
    HalfDay(HalfDay),
}

/// Easter Sunday of `year` (Gregorian computus, the anonymous algorithm); `None` outside the
/// years `time` can represent.
pub fn easter_sunday(year: i32) -> Option<Date> {
    let a = year.rem_euclid(19);
    let b = year.div_euclid(100);
    let c = year.rem_euclid(100);
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15).rem_euclid(30);
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k).rem_euclid(7);
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    let month = Month::try_from(u8::try_from(month).ok()?).ok()?;
    Date::from_calendar_date(year, month, u8::try_from(day).ok()?).ok()
}

/// The public holidays of `year`, in date order.
pub fn holidays(year: i32) -> Vec<(Date, Holiday)> {
    let mut out = Vec::with_capacity(11);
    let fixed = |m: Month, d: u8| Date::from_calendar_date(year, m, d).ok();
    if let Some(d) = fixed(Month::January, 1) {
        out.push((d, Holiday::Nytaarsdag));
    }
    if let Some(easter) = easter_sunday(year) {
        let rel = |n: i64| easter.checked_add(Duration::days(n));
        let mut movable = vec![
            (rel(-3), Holiday::Skaertorsdag),
            (rel(-2), Holiday::Langfredag),
            (rel(0), Holiday::Paaskedag),
            (rel(1), Holiday::AndenPaaskedag),
        ];
        // Store bededag was abolished by law from 2024.
        if year <= 2023 {
            movable.push((rel(26), Holiday::StoreBededag));
        }
        movable.extend([
            (rel(39), Holiday::KristiHimmelfartsdag),
            (rel(49), Holiday::Pinsedag),
            (rel(50), Holiday::AndenPinsedag),
        ]);
        out.extend(movable.into_iter().filter_map(|(d, h)| d.map(|d| (d, h))));
    }
    if let Some(d) = fixed(Month::December, 25) {
        out.push((d, Holiday::Juledag));
    }
    if let Some(d) = fixed(Month::December, 26) {
        out.push((d, Holiday::AndenJuledag));
    }
    out
}

/// The public holiday on `date`, if any.
pub fn holiday(date: Date) -> Option<Holiday> {
    holidays(date.year())
        .into_iter()
        .find(|(d, _)| *d == date)
        .map(|(_, h)| h)
}

/// The half day on `date`, if any.
pub fn half_day(date: Date) -> Option<HalfDay> {
    match (date.month(), date.day()) {
        (Month::June, 5) => Some(HalfDay::Grundlovsdag),
        (Month::December, 24) => Some(HalfDay::Juleaften),
        (Month::December, 31) => Some(HalfDay::Nytaarsaften),
        _ => None,
    }
}

/// What kind of day `date` is: a holiday wins over a weekend, a weekend over a half day.
pub fn day_kind(date: Date) -> DayKind {
    if let Some(h) = holiday(date) {
        return DayKind::Holiday(h);
    }
    if matches!(date.weekday(), Weekday::Saturday | Weekday::Sunday) {
        return DayKind::Weekend;
    }
    match half_day(date) {
        Some(h) => DayKind::HalfDay(h),
        None => DayKind::Working,
    }
}

/// Whether `date` is a working day (rule SP-8's "arbejdsdage"): Monday–Friday, no public
/// holiday, no half day.
pub fn is_working_day(date: Date) -> bool {
    day_kind(date) == DayKind::Working
}

/// Central European Time.
pub const CET: UtcOffset = match UtcOffset::from_hms(1, 0, 0) {
    Ok(o) => o,
    Err(_) => UtcOffset::UTC,
};
/// Central European Summer Time.
pub const CEST: UtcOffset = match UtcOffset::from_hms(2, 0, 0) {
    Ok(o) => o,
    Err(_) => UtcOffset::UTC,
};

fn last_sunday(year: i32, month: Month) -> Option<Date> {
    let mut d = Date::from_calendar_date(year, month, month.length(year)).ok()?;
    while d.weekday() != Weekday::Sunday {
        d = d.previous_day()?;
    }
    Some(d)
}

/// When summer time starts and ends in `year`, as UTC instants (01:00 UTC on the last Sunday
/// of March and of October).
pub fn dst_bounds(year: i32) -> Option<(OffsetDateTime, OffsetDateTime)> {
    let one = Time::from_hms(1, 0, 0).ok()?;
    let start = PrimitiveDateTime::new(last_sunday(year, Month::March)?, one).assume_utc();
    let end = PrimitiveDateTime::new(last_sunday(year, Month::October)?, one).assume_utc();
    Some((start, end))
}

/// Copenhagen's offset from UTC at instant `t`.
pub fn copenhagen_offset(t: OffsetDateTime) -> UtcOffset {
    let utc = t.to_offset(UtcOffset::UTC);
    match dst_bounds(utc.year()) {
        Some((start, end)) if utc >= start && utc < end => CEST,
        _ => CET,
    }
}

/// `t` in Copenhagen local time.
pub fn to_copenhagen(t: OffsetDateTime) -> OffsetDateTime {
    t.to_offset(copenhagen_offset(t))
}

/// The instant of local Copenhagen wall time `date time`. In the autumn overlap (02:00–03:00
/// happens twice) the first, summer-time occurrence; in the spring gap (02:00–03:00 does not
/// exist) the wall time read as winter time, i.e. the moment an hour later on the new clock.
pub fn copenhagen(date: Date, time: Time) -> OffsetDateTime {
    let wall = PrimitiveDateTime::new(date, time);
    let summer = wall.assume_offset(CEST);
    if copenhagen_offset(summer) == CEST {
        return summer;
    }
    wall.assume_offset(CET)
}

/// Which occurrence of the weekday in a month a recurring window uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WeekOfMonth {
    /// Every week (the weekly window).
    Every,
    /// The n-th such weekday of the month (1–5; a month without a fifth has no window).
    Nth(u8),
    /// The last such weekday of the month.
    Last,
}

/// One recurring service window in local time: on `weekday` (in `week` of the month, in
/// `months`) from `from` to `to`; a `to` not after `from` ends on the next day (the quarterly
/// Sunday 22:00 – Monday 06:00).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RecurringWindow {
    /// The local day the window starts on.
    pub weekday: Weekday,
    /// Which of those days in the month.
    pub week: WeekOfMonth,
    /// The months (1–12) with a window: all for weekly and monthly, one per quarter for the
    /// quarterly window.
    pub months: Vec<u8>,
    /// Local start time.
    pub from: Time,
    /// Local end time (next day if not after `from`).
    pub to: Time,
}

impl RecurringWindow {
    /// Whether a window starts on local date `date`.
    pub fn starts_on(&self, date: Date) -> bool {
        if date.weekday() != self.weekday || !self.months.contains(&u8::from(date.month())) {
            return false;
        }
        let nth = (date.day() - 1) / 7 + 1;
        match self.week {
            WeekOfMonth::Every => true,
            WeekOfMonth::Nth(n) => nth == n,
            WeekOfMonth::Last => date.day() + 7 > date.month().length(date.year()),
        }
    }

    /// The window starting on local `date` (assumed to be a start day), as instants.
    pub fn on(&self, date: Date) -> Option<(OffsetDateTime, OffsetDateTime)> {
        let end_date = if self.to <= self.from {
            date.next_day()?
        } else {
            date
        };
        Some((copenhagen(date, self.from), copenhagen(end_date, self.to)))
    }
}

/// The platform's service-window calendar (rule SP-9). Seed 000 §1.3.1 gives the length and
/// the local time of each kind but neither the weekday of the weekly window nor the week of
/// the monthly and quarterly ones (its "1 uge"/"1 måned" are notice periods), so those are
/// configurable with defaults chosen here: weekly Tuesday 05:00–06:00, monthly the first
/// Monday 03:00–06:00, quarterly from the first Sunday of January, April, July and October
/// 22:00 to Monday 06:00.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ServiceWindowSpec {
    /// Minor updates: once a week, at most one hour.
    pub weekly: Option<RecurringWindow>,
    /// Larger and critical updates: up to once a month, Monday 03:00–06:00, at most 3 hours.
    pub monthly: Option<RecurringWindow>,
    /// Changes of environments, architecture and services: once a quarter, Sunday 22:00 to
    /// Monday 06:00, at most 8 hours.
    pub quarterly: Option<RecurringWindow>,
}

impl ServiceWindowSpec {
    /// SP-9's default weekly window.
    pub fn default_weekly() -> RecurringWindow {
        RecurringWindow {
            weekday: Weekday::Tuesday,
            week: WeekOfMonth::Every,
            months: (1..=12).collect(),
            from: hm(5, 0),
            to: hm(6, 0),
        }
    }

    /// SP-9's default monthly window.
    pub fn default_monthly() -> RecurringWindow {
        RecurringWindow {
            weekday: Weekday::Monday,
            week: WeekOfMonth::Nth(1),
            months: (1..=12).collect(),
            from: hm(3, 0),
            to: hm(6, 0),
        }
    }

    /// SP-9's default quarterly window.
    pub fn default_quarterly() -> RecurringWindow {
        RecurringWindow {
            weekday: Weekday::Sunday,
            week: WeekOfMonth::Nth(1),
            months: vec![1, 4, 7, 10],
            from: hm(22, 0),
            to: hm(6, 0),
        }
    }

    fn all(&self) -> impl Iterator<Item = &RecurringWindow> {
        [&self.weekly, &self.monthly, &self.quarterly]
            .into_iter()
            .flatten()
    }
}

impl Default for ServiceWindowSpec {
    fn default() -> Self {
        ServiceWindowSpec {
            weekly: Some(Self::default_weekly()),
            monthly: Some(Self::default_monthly()),
            quarterly: Some(Self::default_quarterly()),
        }
    }
}

fn hm(h: u8, m: u8) -> Time {
    Time::from_hms(h, m, 0).unwrap_or(Time::MIDNIGHT)
}

/// The service windows (rule SP-9) that overlap `[from, to)`, clipped to it, sorted and with
/// overlapping windows merged (a monthly window inside a quarterly one is one outage).
pub fn service_windows(
    from: OffsetDateTime,
    to: OffsetDateTime,
    spec: &ServiceWindowSpec,
) -> Vec<(OffsetDateTime, OffsetDateTime)> {
    let mut raw = Vec::new();
    if to <= from {
        return raw;
    }
    // A window starting the local day before `from` may still be open (22:00 → 06:00).
    let first = to_copenhagen(from).date().previous_day();
    let last = to_copenhagen(to).date();
    let mut day = first.unwrap_or(last);
    loop {
        for w in spec.all() {
            if w.starts_on(day) {
                if let Some((s, e)) = w.on(day) {
                    let (s, e) = (s.max(from), e.min(to));
                    if s < e {
                        raw.push((s, e));
                    }
                }
            }
        }
        match day.next_day() {
            Some(d) if d <= last => day = d,
            _ => break,
        }
    }
    merge(raw)
}

/// Sorts intervals and merges those that overlap or touch.
pub(crate) fn merge(
    mut v: Vec<(OffsetDateTime, OffsetDateTime)>,
) -> Vec<(OffsetDateTime, OffsetDateTime)> {
    v.sort();
    let mut out: Vec<(OffsetDateTime, OffsetDateTime)> = Vec::with_capacity(v.len());
    for (s, e) in v {
        match out.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => out.push((s, e)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime, time};

    #[test]
    fn easter_known_years() {
        assert_eq!(easter_sunday(2024), Some(date!(2024 - 03 - 31)));
        assert_eq!(easter_sunday(2025), Some(date!(2025 - 04 - 20)));
        assert_eq!(easter_sunday(2026), Some(date!(2026 - 04 - 05)));
        assert_eq!(easter_sunday(2027), Some(date!(2027 - 03 - 28)));
        assert_eq!(easter_sunday(2038), Some(date!(2038 - 04 - 25)));
    }

    #[test]
    fn dst_switches_on_the_last_sundays() {
        assert_eq!(
            dst_bounds(2026),
            Some((
                datetime!(2026-03-29 01:00 UTC),
                datetime!(2026-10-25 01:00 UTC)
            ))
        );
        assert_eq!(copenhagen_offset(datetime!(2026-03-29 00:59 UTC)), CET);
        assert_eq!(copenhagen_offset(datetime!(2026-03-29 01:00 UTC)), CEST);
        assert_eq!(copenhagen_offset(datetime!(2026-10-25 00:59 UTC)), CEST);
        assert_eq!(copenhagen_offset(datetime!(2026-10-25 01:00 UTC)), CET);
    }

    #[test]
    fn local_wall_time_in_gap_and_overlap() {
        // Spring gap: 02:30 does not exist; read as CET = 01:30 UTC = 03:30 CEST.
        assert_eq!(
            copenhagen(date!(2026 - 03 - 29), time!(02:30)),
            datetime!(2026-03-29 01:30 UTC)
        );
        // Autumn overlap: 02:30 happens twice; the first (CEST) one.
        assert_eq!(
            copenhagen(date!(2026 - 10 - 25), time!(02:30)),
            datetime!(2026-10-25 00:30 UTC)
        );
        assert_eq!(
            copenhagen(date!(2026 - 07 - 01), time!(12:00)),
            datetime!(2026-07-01 10:00 UTC)
        );
    }

    #[test]
    fn last_and_nth_weekday() {
        let w = RecurringWindow {
            weekday: Weekday::Monday,
            week: WeekOfMonth::Last,
            months: (1..=12).collect(),
            from: time!(03:00),
            to: time!(06:00),
        };
        assert!(w.starts_on(date!(2026 - 03 - 30)));
        assert!(!w.starts_on(date!(2026 - 03 - 23)));
        let first = RecurringWindow {
            week: WeekOfMonth::Nth(1),
            ..w
        };
        assert!(first.starts_on(date!(2026 - 03 - 02)));
        assert!(!first.starts_on(date!(2026 - 03 - 09)));
    }
}
