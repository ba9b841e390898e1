//! Danish holidays, working days and the SP-9 service windows in Copenhagen time.

use sim_scenario::calendar::{
    day_kind, holidays, is_working_day, service_windows, DayKind, HalfDay, Holiday,
    RecurringWindow, ServiceWindowSpec, WeekOfMonth,
};
use time::macros::{date, datetime, time};
use time::{Date, Weekday};

fn holiday_dates(year: i32) -> Vec<(Date, &'static str)> {
    holidays(year)
        .into_iter()
        .map(|(d, h)| (d, h.name()))
        .collect()
}

#[test]
fn danish_holidays_2025() {
    assert_eq!(
        holiday_dates(2025),
        vec![
            (date!(2025 - 01 - 01), "Nytårsdag"),
            (date!(2025 - 04 - 17), "Skærtorsdag"),
            (date!(2025 - 04 - 18), "Langfredag"),
            (date!(2025 - 04 - 20), "Påskedag"),
            (date!(2025 - 04 - 21), "2. påskedag"),
            (date!(2025 - 05 - 29), "Kristi himmelfartsdag"),
            (date!(2025 - 06 - 08), "Pinsedag"),
            (date!(2025 - 06 - 09), "2. pinsedag"),
            (date!(2025 - 12 - 25), "Juledag"),
            (date!(2025 - 12 - 26), "2. juledag"),
        ]
    );
}

#[test]
fn danish_holidays_2026() {
    assert_eq!(
        holiday_dates(2026),
        vec![
            (date!(2026 - 01 - 01), "Nytårsdag"),
            (date!(2026 - 04 - 02), "Skærtorsdag"),
            (date!(2026 - 04 - 03), "Langfredag"),
            (date!(2026 - 04 - 05), "Påskedag"),
            (date!(2026 - 04 - 06), "2. påskedag"),
            (date!(2026 - 05 - 14), "Kristi himmelfartsdag"),
            (date!(2026 - 05 - 24), "Pinsedag"),
            (date!(2026 - 05 - 25), "2. pinsedag"),
            (date!(2026 - 12 - 25), "Juledag"),
            (date!(2026 - 12 - 26), "2. juledag"),
        ]
    );
}

#[test]
fn store_bededag_until_2023_only() {
    assert_eq!(
        day_kind(date!(2023 - 05 - 05)),
        DayKind::Holiday(Holiday::StoreBededag)
    );
    assert!(!is_working_day(date!(2023 - 05 - 05)));
    // Abolished from 2024: the fourth Friday after Easter is an ordinary working day.
    assert!(is_working_day(date!(2024 - 04 - 26)));
    assert!(is_working_day(date!(2025 - 05 - 16)));
    for year in 2024..2040 {
        assert!(holidays(year)
            .iter()
            .all(|(_, h)| *h != Holiday::StoreBededag));
    }
}

#[test]
fn working_days_weekends_and_half_days_sp8() {
    assert!(is_working_day(date!(2026 - 03 - 03))); // Tuesday
    assert_eq!(day_kind(date!(2026 - 03 - 07)), DayKind::Weekend);
    assert_eq!(
        day_kind(date!(2026 - 06 - 05)),
        DayKind::HalfDay(HalfDay::Grundlovsdag)
    );
    assert_eq!(
        day_kind(date!(2025 - 12 - 24)),
        DayKind::HalfDay(HalfDay::Juleaften)
    );
    assert_eq!(
        day_kind(date!(2025 - 12 - 31)),
        DayKind::HalfDay(HalfDay::Nytaarsaften)
    );
    // A holiday on a Sunday is a holiday, not a weekend.
    assert_eq!(
        day_kind(date!(2026 - 04 - 05)),
        DayKind::Holiday(Holiday::Paaskedag)
    );
    assert!(!is_working_day(date!(2026 - 06 - 05)));
}

#[test]
fn weekly_window_follows_dst_sp9() {
    // SP-9: the weekly window is 05:00-06:00 local. Default weekday Tuesday.
    // 24 March 2026 is CET (UTC+1), 31 March CEST (UTC+2): the UTC hour moves.
    let spec = ServiceWindowSpec {
        monthly: None,
        quarterly: None,
        ..ServiceWindowSpec::default()
    };
    let w = service_windows(
        datetime!(2026-03-20 00:00 UTC),
        datetime!(2026-04-04 00:00 UTC),
        &spec,
    );
    assert_eq!(
        w,
        vec![
            (
                datetime!(2026-03-24 04:00 UTC),
                datetime!(2026-03-24 05:00 UTC)
            ),
            (
                datetime!(2026-03-31 03:00 UTC),
                datetime!(2026-03-31 04:00 UTC)
            ),
        ]
    );
    // And back in October: 20 Oct CEST, 27 Oct CET (the switch is 25 Oct 01:00 UTC).
    let w = service_windows(
        datetime!(2026-10-19 00:00 UTC),
        datetime!(2026-10-28 00:00 UTC),
        &spec,
    );
    assert_eq!(
        w,
        vec![
            (
                datetime!(2026-10-20 03:00 UTC),
                datetime!(2026-10-20 04:00 UTC)
            ),
            (
                datetime!(2026-10-27 04:00 UTC),
                datetime!(2026-10-27 05:00 UTC)
            ),
        ]
    );
}

#[test]
fn monthly_and_quarterly_windows_sp9() {
    let spec = ServiceWindowSpec {
        weekly: None,
        ..ServiceWindowSpec::default()
    };
    // Q2 2026: first Sunday of April is 5 April (CEST): Sunday 22:00 - Monday 06:00 local,
    // containing the monthly window of Monday 6 April 03:00-06:00 (merged into one).
    // First Monday of May is 4 May, of June 1 June: 03:00-06:00 CEST = 01:00-04:00 UTC.
    let w = service_windows(
        datetime!(2026-04-01 00:00 +02:00),
        datetime!(2026-07-01 00:00 +02:00),
        &spec,
    );
    assert_eq!(
        w,
        vec![
            (
                datetime!(2026-04-05 20:00 UTC),
                datetime!(2026-04-06 04:00 UTC)
            ),
            (
                datetime!(2026-05-04 01:00 UTC),
                datetime!(2026-05-04 04:00 UTC)
            ),
            (
                datetime!(2026-06-01 01:00 UTC),
                datetime!(2026-06-01 04:00 UTC)
            ),
        ]
    );
    for (s, e) in &w {
        assert!(*e - *s <= time::Duration::hours(8), "SP-9: at most 8 hours");
    }
}

#[test]
fn windows_are_clipped_to_the_range() {
    let spec = ServiceWindowSpec {
        monthly: None,
        quarterly: None,
        ..ServiceWindowSpec::default()
    };
    let w = service_windows(
        datetime!(2026-03-03 05:30 +01:00),
        datetime!(2026-03-03 12:00 +01:00),
        &spec,
    );
    assert_eq!(
        w,
        vec![(
            datetime!(2026-03-03 05:30 +01:00),
            datetime!(2026-03-03 06:00 +01:00)
        )]
    );
    assert!(service_windows(
        datetime!(2026-03-03 12:00 +01:00),
        datetime!(2026-03-03 12:00 +01:00),
        &spec
    )
    .is_empty());
}

#[test]
fn configurable_last_weekday_window() {
    let spec = ServiceWindowSpec {
        weekly: None,
        monthly: Some(RecurringWindow {
            weekday: Weekday::Monday,
            week: WeekOfMonth::Last,
            months: (1..=12).collect(),
            from: time!(03:00),
            to: time!(06:00),
        }),
        quarterly: None,
    };
    let w = service_windows(
        datetime!(2026-03-01 00:00 +01:00),
        datetime!(2026-04-01 00:00 +02:00),
        &spec,
    );
    // Last Monday of March 2026 is the 30th, after the DST switch: CEST.
    assert_eq!(
        w,
        vec![(
            datetime!(2026-03-30 01:00 UTC),
            datetime!(2026-03-30 04:00 UTC)
        )]
    );
}
