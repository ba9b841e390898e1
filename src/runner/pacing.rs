//! Pacing at speed `max`: how the runner moves a manual clock while every sender is busy.

use std::time::Duration as StdDuration;

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
}
