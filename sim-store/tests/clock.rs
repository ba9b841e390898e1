//! The clock: manual time moves only by `advance`; compressed time maps durations by its
//! factor (checked on tokio's paused clock, so nothing depends on real elapsed time).

use std::time::Duration;

use sim_store::Clock;
use time::macros::datetime;
use time::OffsetDateTime;

const T0: OffsetDateTime = datetime!(2025-03-01 08:00:00 UTC);

/// Lets every other task on the current-thread runtime run until it waits again.
async fn settle() {
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
}

#[tokio::test]
async fn manual_sleep_wakes_only_after_advance_past_its_deadline() {
    let clock = Clock::manual(T0);
    let sleeper = tokio::spawn(clock.sleep(Duration::from_secs(10)));
    settle().await;
    assert!(!sleeper.is_finished(), "asleep before any advance");

    clock.advance(Duration::from_secs(9));
    settle().await;
    assert!(!sleeper.is_finished(), "9 s of 10 s: still asleep");
    assert_eq!(clock.now(), T0 + Duration::from_secs(9));

    clock.advance(Duration::from_secs(1));
    sleeper.await.expect("sleeper ends");
    assert_eq!(clock.now(), T0 + Duration::from_secs(10));
}

#[tokio::test]
async fn manual_deadline_is_fixed_when_sleep_is_called() {
    let clock = Clock::manual(T0);
    let sleep = clock.sleep(Duration::from_secs(5));
    // Time passes before the future is first polled; it must not sleep 5 s more.
    clock.advance(Duration::from_secs(5));
    sleep.await;
}

#[tokio::test]
async fn manual_clones_share_one_time_line_and_past_deadlines_return_at_once() {
    let clock = Clock::manual(T0);
    let other = clock.clone();
    let sleeper = tokio::spawn(other.sleep_until(T0 + Duration::from_secs(60)));
    clock.advance(Duration::from_secs(61));
    sleeper.await.expect("woken through the clone");
    assert_eq!(other.now(), T0 + Duration::from_secs(61));

    clock.sleep_until(T0).await;
    clock.sleep(Duration::ZERO).await;
    assert_eq!(clock.factor(), f64::INFINITY);
}

#[tokio::test(start_paused = true)]
async fn compressed_time_runs_factor_times_faster() {
    let clock = Clock::compressed(T0, 60.0);
    assert_eq!(clock.factor(), 60.0);
    assert_eq!(clock.now(), T0);

    // 10 real seconds are 10 virtual minutes.
    tokio::time::sleep(Duration::from_secs(10)).await;
    assert_eq!(clock.now(), T0 + Duration::from_secs(600));

    // One virtual hour takes one real minute.
    let real_before = tokio::time::Instant::now();
    clock.sleep(Duration::from_secs(3600)).await;
    assert_eq!(real_before.elapsed(), Duration::from_secs(60));
    assert_eq!(clock.now(), T0 + Duration::from_secs(600 + 3600));

    // sleep_until aims at the absolute virtual instant.
    clock.sleep_until(T0 + Duration::from_secs(7200)).await;
    assert_eq!(clock.now(), T0 + Duration::from_secs(7200));
    // A past instant returns without waiting.
    let real_before = tokio::time::Instant::now();
    clock.sleep_until(T0).await;
    assert_eq!(real_before.elapsed(), Duration::ZERO);
}

#[tokio::test(start_paused = true)]
async fn nonsense_factors_fall_back_to_real_speed_and_advance_is_ignored() {
    for factor in [0.0, -3.0, f64::NAN, f64::INFINITY] {
        let clock = Clock::compressed(T0, factor);
        assert_eq!(clock.factor(), 1.0, "factor {factor}");
        clock.advance(Duration::from_secs(100));
        assert_eq!(clock.now(), T0, "advance must not move a compressed clock");
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert_eq!(clock.now(), T0 + Duration::from_secs(2));
    }
    // Absurd durations saturate instead of panicking.
    let clock = Clock::manual(T0);
    clock.advance(Duration::MAX);
    assert!(clock.now() > T0);
}

#[tokio::test]
async fn real_clock_is_wall_time_in_utc() {
    let clock = Clock::real();
    assert_eq!(clock.factor(), 1.0);
    let now = clock.now();
    assert!(now.offset().is_utc());
    assert!(now > T0);
    clock.sleep_until(T0).await; // in the past: returns at once
    clock.advance(Duration::from_secs(1)); // ignored, must not panic
}
