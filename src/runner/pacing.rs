//! Pacing: when each arrival is sent, how the runner moves a manual clock at speed `max` while
//! every sender is busy, how the last senders are waited for, and the drain.

use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant};

use sim_scenario::Speed;
use sim_store::Clock;
use time::OffsetDateTime;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;

/// The run's time line: the clock, its speed, and (at `max`) every advance of the manual
/// clock with the real instant it happened, to map a receipt's virtual time back to real time.
pub(crate) struct Pace {
    pub(crate) clock: Clock,
    pub(crate) speed: Speed,
    /// (virtual time reached, real instant) at every advance of the manual clock.
    pub(crate) timeline: Vec<(OffsetDateTime, Instant)>,
}

impl Pace {
    /// A time line starting now.
    pub(crate) fn new(clock: Clock, speed: Speed, wall: Instant) -> Pace {
        let timeline = vec![(clock.now(), wall)];
        Pace {
            clock,
            speed,
            timeline,
        }
    }

    /// Moves the manual clock by `step` and records it.
    fn advance(&mut self, step: StdDuration) {
        self.clock.advance(step);
        self.timeline.push((self.clock.now(), Instant::now()));
    }

    /// Waits until the arrival at `at` may be sent and a sender is free: at a factor, the
    /// clock's own pace; at `max`, moves the clock (to the arrival, or onwards while every
    /// sender sleeps on the virtual clock).
    pub(crate) async fn slot_for(
        &mut self,
        at: OffsetDateTime,
        permits: &Arc<Semaphore>,
    ) -> anyhow::Result<OwnedSemaphorePermit> {
        if let Speed::Factor(_) = self.speed {
            self.clock.sleep_until(at).await;
            return Ok(permits.clone().acquire_owned().await?);
        }
        // Every permit may be held by a sender sleeping on the virtual clock (a resend backing
        // off through a service window); only moving time frees them.
        let mut stall = Stall::default();
        let p = loop {
            let wait = permits.clone().acquire_owned();
            match tokio::time::timeout(StdDuration::from_millis(5), wait).await {
                Ok(p) => break p?,
                Err(_) => {
                    // Up to the next arrival, faster and faster (nothing can happen before it
                    // but sleepers waking); past it, a second at a time.
                    let now = self.clock.now();
                    let step = if at > now {
                        let ahead = (at - now).unsigned_abs();
                        stall.next_step().min(ahead).max(StdDuration::from_secs(1))
                    } else {
                        StdDuration::from_secs(1)
                    };
                    self.advance(step);
                    tracing::debug!(virtual_now = %self.clock.now(), "all senders busy: moved the clock");
                }
            }
        };
        let now = self.clock.now();
        if at > now {
            self.advance((at - now).unsigned_abs());
        }
        Ok(p)
    }

    /// Waits for every sender task to end. At a factor, not past `deadline` (virtual): a sender
    /// still resending then (its receiver unreachable for good, JC-1 keeps it trying, for hours
    /// of backoff at speed 1) is stopped, and its update counts as undelivered. At `max` the
    /// runner itself moves the clock, a second at a time while the last senders back off (the
    /// liveness deadline runs on it), so every sender ends.
    pub(crate) async fn join_senders(&mut self, tasks: &mut JoinSet<()>, deadline: OffsetDateTime) {
        loop {
            if self.speed != Speed::Max && self.clock.now() >= deadline {
                if !tasks.is_empty() {
                    tracing::warn!(
                        senders = tasks.len(),
                        "senders still resending at the liveness deadline: stopped"
                    );
                }
                tasks.abort_all();
                while tasks.join_next().await.is_some() {}
                break;
            }
            match tokio::time::timeout(StdDuration::from_millis(5), tasks.join_next()).await {
                Ok(None) => break,
                Ok(Some(_)) => {}
                Err(_) => {
                    if self.speed == Speed::Max {
                        self.advance(StdDuration::from_secs(1));
                    }
                }
            }
        }
    }

    /// The drain: polls `receipts` (with the clock moving at `max`) until it reaches
    /// `accepted` and the flows that are not the runner's own traffic (SF1612: STAR's
    /// statuses) have settled, the virtual `deadline` passes, or the real `cap` is reached.
    /// `progress` sees every count.
    ///
    /// At `max` the virtual deadline alone would end the drain too early: the clock moves
    /// 100 virtual seconds per real second whatever the programs manage, so a one-minute
    /// liveness deadline lasts 0.6 s of real time, and on a loaded machine (CI running test
    /// binaries side by side, round trips of seconds) receipts still in flight were cut off
    /// and counted lost. There, past the virtual deadline, the drain also waits until no new
    /// receipt has come for [`QUIET_AT_MAX`] of real time. At `max` liveness judges loss only
    /// (the run's whole length is its deadline), so waiting longer cannot make a receipt late.
    pub(crate) async fn drain<F, Fut>(
        &mut self,
        accepted: u64,
        deadline: OffsetDateTime,
        cap: Instant,
        mut receipts: F,
        mut progress: impl FnMut(OffsetDateTime, u64),
    ) where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = (u64, u64, bool)>,
    {
        let (mut last, mut last_change) = (None, Instant::now());
        loop {
            // Receipts, other progress (SF1612's handled messages), and whether the flows
            // that are not the runner's own traffic have settled.
            let (n, other, settled) = receipts().await;
            progress(self.clock.now(), n);
            if last != Some((n, other)) {
                (last, last_change) = (Some((n, other)), Instant::now());
            }
            // At `max`, past the virtual deadline the drain also waits for the flows that are
            // not the runner's traffic to settle (the STAR job runs only when the clock passes
            // its period): bounded by the real cap.
            let past_deadline = self.clock.now() >= deadline
                && (self.speed != Speed::Max || (last_change.elapsed() >= QUIET_AT_MAX && settled));
            if (n >= accepted && settled) || past_deadline || Instant::now() >= cap {
                return;
            }
            match self.speed {
                Speed::Max => {
                    self.advance(StdDuration::from_millis(500));
                    tokio::time::sleep(StdDuration::from_millis(5)).await;
                }
                Speed::Factor(_) => tokio::time::sleep(StdDuration::from_millis(50)).await,
            }
        }
    }
}

/// At speed `max`, how long (real time) the drain goes on past the virtual deadline while
/// receipts keep coming: see [`Pace::drain`].
pub(crate) const QUIET_AT_MAX: StdDuration = StdDuration::from_secs(5);

/// How far the runner moves a manual clock towards the next arrival while every sender is
/// busy and nothing can happen before that arrival but sleepers waking: 1 s first, doubling
/// while the stall lasts, at most 30 s, never past the arrival. Every sender backing off
/// through an eight-hour service window (SP-9) at 1 s per 5 ms took two and a half minutes of
/// a month run; doubling crosses it in a few seconds. A sleeper wakes at most 30 virtual
/// seconds late, which at speed `max` (virtual time jumps from arrival to arrival) changes
/// nothing that is judged; past the arrival's time the runner goes back to 1 s steps, so the
/// virtual time line never races ahead of the traffic.
#[derive(Default)]
pub(crate) struct Stall {
    pub(crate) steps: u32,
}

impl Stall {
    pub(crate) fn next_step(&mut self) -> StdDuration {
        let secs = 1u64 << self.steps.min(5);
        self.steps = self.steps.saturating_add(1);
        StdDuration::from_secs(secs.min(30))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stall_moves_the_clock_in_doubling_steps_up_to_thirty_seconds() {
        let mut s = Stall::default();
        let steps: Vec<u64> = (0..8).map(|_| s.next_step().as_secs()).collect();
        assert_eq!(steps, [1, 2, 4, 8, 16, 30, 30, 30]);
    }

    /// At `max`, receipts still coming in when the virtual deadline passes are waited for
    /// (SP-2, KSD-2: the backlog drains), and the drain ends once they stop. Counted in polls,
    /// not timed: the deadline passes after 120 polls, receipts come on the first 400.
    #[tokio::test]
    async fn at_max_the_drain_outlasts_the_virtual_deadline_while_receipts_come() {
        let start = OffsetDateTime::UNIX_EPOCH;
        let clock = Clock::manual(start);
        let mut pace = Pace::new(clock.clone(), Speed::Max, Instant::now());
        let polls = std::sync::atomic::AtomicU64::new(0);
        let deadline = start + time::Duration::minutes(1);
        let cap = Instant::now() + StdDuration::from_secs(120);
        let mut seen = 0;
        pace.drain(
            10_000,
            deadline,
            cap,
            || {
                let p = polls.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                async move { (p.min(400), 0, true) }
            },
            |_, n| seen = n,
        )
        .await;
        assert_eq!(seen, 400, "every receipt that came was waited for");
        assert!(clock.now() > deadline);
        assert!(
            Instant::now() < cap,
            "ended by the quiet period, not the cap"
        );
    }
}
