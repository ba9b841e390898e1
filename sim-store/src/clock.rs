//! The one clock of the project: the only place that reads the system time.
//!
//! Every timestamp a program writes (journal, outbox, messages) and every wait it makes goes
//! through a [`Clock`], so a whole simulation can run on wall time, on compressed time (a day
//! of sick leave in seconds) or on a manual clock that a test moves by hand.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;
use tokio::sync::watch;

/// A source of virtual time. Cheap to clone; clones share the same time line.
#[derive(Clone)]
pub struct Clock {
    /// Which time line this is; shared so clones of a manual clock advance together.
    kind: Kind,
}

#[derive(Clone)]
enum Kind {
    /// Wall time.
    Real,
    /// `virtual = virtual_start + (tokio now - real_start) * factor`.
    Compressed {
        /// The virtual instant that corresponds to `real_start`.
        virtual_start: OffsetDateTime,
        /// Taken from tokio's clock, so tests on tokio's paused clock are exact.
        real_start: tokio::time::Instant,
        /// Virtual seconds per real second; finite and positive.
        factor: f64,
    },
    /// Time moves only by [`Clock::advance`]. The watch channel is both the current time and
    /// the wake-up signal for sleepers: every advance notifies every receiver, and each
    /// sleeper re-checks its own deadline.
    Manual(Arc<watch::Sender<OffsetDateTime>>),
}

impl Clock {
    /// Wall time, from `OffsetDateTime::now_utc`.
    pub fn real() -> Clock {
        Clock { kind: Kind::Real }
    }

    /// Virtual time that starts at `virtual_start` now and runs `factor` times faster than
    /// real time (measured on tokio's clock).
    ///
    /// A factor that is not a finite positive number would make time stand still or run
    /// backwards; it is replaced by 1.0 (with a warning) rather than panicking.
    pub fn compressed(virtual_start: OffsetDateTime, factor: f64) -> Clock {
        let factor = if factor.is_finite() && factor > 0.0 {
            factor
        } else {
            tracing::warn!(
                factor,
                "compressed clock: factor must be finite and > 0; using 1.0"
            );
            1.0
        };
        Clock {
            kind: Kind::Compressed {
                virtual_start: virtual_start.to_offset(time::UtcOffset::UTC),
                real_start: tokio::time::Instant::now(),
                factor,
            },
        }
    }

    /// Compressed time shared by parameters instead of memory: `virtual = virtual_start +
    /// (wall now − epoch) × factor`, read against the wall clock once, here, and then kept
    /// on tokio's clock. Processes (or containers) given the same three numbers agree on the
    /// time to within their wall clocks' skew × `factor`, whenever each of them started.
    /// Before `epoch` the time stands at `virtual_start`.
    pub fn compressed_from(
        virtual_start: OffsetDateTime,
        epoch: OffsetDateTime,
        factor: f64,
    ) -> Clock {
        let mut clock = Clock::compressed(virtual_start, factor);
        if let Kind::Compressed { real_start, .. } = &mut clock.kind {
            let since = OffsetDateTime::now_utc() - epoch;
            let shifted = match positive(since) {
                // Started after the epoch: the epoch lies that far back on tokio's clock.
                Some(ago) => real_start.checked_sub(ago),
                // Before it: time starts running only at the epoch.
                None => positive(-since).and_then(|ahead| real_start.checked_add(ahead)),
            };
            if let Some(at) = shifted {
                *real_start = at;
            }
        }
        clock
    }

    /// Virtual time that stands still at `start` until [`Clock::advance`] moves it.
    pub fn manual(start: OffsetDateTime) -> Clock {
        let (tx, _) = watch::channel(start.to_offset(time::UtcOffset::UTC));
        Clock {
            kind: Kind::Manual(Arc::new(tx)),
        }
    }

    /// Moves a manual clock forward by `by` and wakes every sleeper whose deadline has passed.
    ///
    /// On a real or compressed clock time cannot be moved, so this does nothing (and logs).
    pub fn advance(&self, by: Duration) {
        match &self.kind {
            Kind::Manual(tx) => tx.send_modify(|now| *now = add(*now, by)),
            Kind::Real | Kind::Compressed { .. } => {
                tracing::debug!(?by, "Clock::advance ignored: not a manual clock")
            }
        }
    }

    /// The current virtual time, in UTC.
    pub fn now(&self) -> OffsetDateTime {
        match &self.kind {
            Kind::Real => OffsetDateTime::now_utc(),
            Kind::Compressed {
                virtual_start,
                real_start,
                factor,
            } => {
                let real = real_start.elapsed();
                add(*virtual_start, scale(real, *factor))
            }
            Kind::Manual(tx) => *tx.borrow(),
        }
    }

    /// Virtual seconds per real second: 1.0 for real time, the factor for compressed time,
    /// and infinity for a manual clock (no real time passes between two virtual instants).
    pub fn factor(&self) -> f64 {
        match &self.kind {
            Kind::Real => 1.0,
            Kind::Compressed { factor, .. } => *factor,
            Kind::Manual(_) => f64::INFINITY,
        }
    }

    /// Waits `virtual_duration` of virtual time.
    ///
    /// The deadline is fixed when this is called, not when the future is first polled (as
    /// with `tokio::time::sleep`), and the future borrows nothing, so it can be spawned.
    pub fn sleep(&self, virtual_duration: Duration) -> impl Future<Output = ()> + Send + 'static {
        self.sleep_until(add(self.now(), virtual_duration))
    }

    /// Waits until the virtual time is at or past `t`; returns at once if it already is.
    pub fn sleep_until(&self, t: OffsetDateTime) -> impl Future<Output = ()> + Send + 'static {
        // Computed now, so a late first poll does not shift a real-time deadline.
        let deadline = match &self.kind {
            Kind::Real => match positive(t - OffsetDateTime::now_utc()) {
                None => Deadline::Passed,
                Some(d) => Deadline::real(tokio::time::Instant::now(), d),
            },
            Kind::Compressed {
                virtual_start,
                real_start,
                factor,
            } => match positive(t - *virtual_start) {
                None => Deadline::Passed,
                Some(d) => Deadline::real(*real_start, scale(d, 1.0 / factor)),
            },
            Kind::Manual(tx) => Deadline::Manual(Arc::clone(tx)),
        };
        async move {
            match deadline {
                Deadline::Passed => {}
                Deadline::At(at) => tokio::time::sleep_until(at).await,
                Deadline::Never => std::future::pending::<()>().await,
                Deadline::Manual(tx) => {
                    let mut rx = tx.subscribe();
                    // The sender is held by this future, so `wait_for` cannot see a closed
                    // channel; if it ever did, returning is the harmless answer.
                    let _ = rx.wait_for(|now| *now >= t).await;
                }
            }
        }
    }
}

/// When a sleep ends, decided when the sleep is created.
enum Deadline {
    /// The virtual deadline is already reached.
    Passed,
    /// At this instant of tokio's clock.
    At(tokio::time::Instant),
    /// Too far ahead to represent as an instant: in practice never.
    Never,
    /// When the manual clock has been advanced to the deadline.
    Manual(Arc<watch::Sender<OffsetDateTime>>),
}

impl Deadline {
    fn real(base: tokio::time::Instant, after: Duration) -> Deadline {
        base.checked_add(after)
            .map_or(Deadline::Never, Deadline::At)
    }
}

impl fmt::Debug for Clock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::Real => f.write_str("Clock::Real"),
            Kind::Compressed {
                virtual_start,
                factor,
                ..
            } => f
                .debug_struct("Clock::Compressed")
                .field("virtual_start", virtual_start)
                .field("factor", factor)
                .finish(),
            Kind::Manual(tx) => f
                .debug_struct("Clock::Manual")
                .field("now", &*tx.borrow())
                .finish(),
        }
    }
}

/// `t + by`, saturating at the largest representable time instead of panicking.
fn add(t: OffsetDateTime, by: Duration) -> OffsetDateTime {
    time::Duration::try_from(by)
        .ok()
        .and_then(|d| t.checked_add(d))
        .unwrap_or_else(|| time::PrimitiveDateTime::MAX.assume_utc())
}

/// `d * factor` without the panics of `Duration::mul_f64` (saturates at `Duration::MAX`).
fn scale(d: Duration, factor: f64) -> Duration {
    Duration::try_from_secs_f64(d.as_secs_f64() * factor).unwrap_or(Duration::MAX)
}

/// A positive `time::Duration` as `std::time::Duration`; `None` if zero or negative.
fn positive(d: time::Duration) -> Option<Duration> {
    if d.is_positive() {
        Duration::try_from(d).ok()
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn start() -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_772_438_400).expect("a valid instant")
    }

    #[tokio::test]
    async fn clocks_given_the_same_parameters_agree_whenever_they_were_made() {
        let epoch = OffsetDateTime::now_utc() - time::Duration::seconds(10);
        let a = Clock::compressed_from(start(), epoch, 60.0);
        tokio::time::sleep(Duration::from_millis(20)).await;
        let b = Clock::compressed_from(start(), epoch, 60.0);
        let (ta, tb) = (a.now(), b.now());
        // Ten real seconds since the epoch at 60x are ten virtual minutes.
        let off = ta - start() - time::Duration::minutes(10);
        assert!(off.abs() < time::Duration::seconds(60), "{ta}");
        assert!((ta - tb).abs() < time::Duration::seconds(5), "{ta} vs {tb}");
    }

    #[tokio::test]
    async fn before_its_epoch_a_shared_clock_stands_at_the_start() {
        let epoch = OffsetDateTime::now_utc() + time::Duration::hours(1);
        let c = Clock::compressed_from(start(), epoch, 600.0);
        assert_eq!(c.now(), start());
    }
}
