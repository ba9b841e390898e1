//! What a run shows while it runs: a live bar in a terminal, plain lines in CI.
//!
//! `indicatif` hides itself when stderr is not a terminal, which would leave a CI log silent
//! for the whole run and make a hung run look like a slow one. So there are two modes behind
//! one API: the bar (virtual time covered, counters, exchanges/s) when interactive, and plain
//! progress lines — at most one per interval of wall time — otherwise.
//!
//! Progress never fails a run: write errors on the plain output (a closed pipe) are ignored.
//! Methods take `&self` so a runner can share one `Progress` between its tasks (it is
//! `Send + Sync`).

use std::io::{IsTerminal as _, Write};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::text;

/// How often plain mode writes a line by default: a heartbeat a CI log reader can follow
/// without the log drowning (6 lines a minute, 360 an hour).
pub const DEFAULT_PLAIN_INTERVAL: Duration = Duration::from_secs(10);

/// How often the bar redraws on its own, so elapsed time and the spinner move even when no
/// update arrives (a stalled run then looks stalled, not frozen).
const TICK: Duration = Duration::from_millis(250);

/// Where a run is: what the runner passes to [`Progress::update`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// Virtual seconds covered since the run's virtual start.
    pub virtual_seconds: u64,
    /// Updates sent so far (first attempts): the exchanges the rate counts.
    pub sent: u64,
    /// Updates answered OK or ADVARSEL so far.
    pub accepted: u64,
    /// Business receipts stored at the vendors so far.
    pub receipts: u64,
    /// Faults injected so far.
    pub faults: u64,
}

/// The progress display of one run. See the module docs for the two modes.
pub struct Progress {
    /// Behind a mutex so that `&self` methods can be called from several tasks.
    state: Mutex<State>,
}

struct State {
    /// Virtual seconds the run will cover: 100% of the bar.
    total: u64,
    /// Wall-clock start, for exchanges/s.
    started: Instant,
    /// The latest snapshot, for the final line.
    last: Snapshot,
    /// After `finish`, updates are ignored.
    finished: bool,
    mode: Mode,
}

enum Mode {
    Bar(ProgressBar),
    Plain(Plain),
}

struct Plain {
    /// stderr in a run, a buffer in tests.
    out: Box<dyn Write + Send>,
    /// At most one progress line per this much wall time.
    every: Duration,
    /// When the last progress line was written; `None` until the first.
    last_line: Option<Instant>,
}

impl Progress {
    /// The display for a run covering `total_virtual_seconds`. `interactive`: `Some(true)` for
    /// the bar, `Some(false)` for plain lines on stderr, `None` to decide by whether stderr is a
    /// terminal. Plain lines come at most every [`DEFAULT_PLAIN_INTERVAL`]; see
    /// [`Progress::with_interval`].
    pub fn new(total_virtual_seconds: u64, interactive: Option<bool>) -> Self {
        let interactive = interactive.unwrap_or_else(|| std::io::stderr().is_terminal());
        if !interactive {
            return Self::plain(
                total_virtual_seconds,
                Box::new(std::io::stderr()),
                DEFAULT_PLAIN_INTERVAL,
                Instant::now(),
            );
        }
        let bar = ProgressBar::with_draw_target(
            Some(total_virtual_seconds),
            ProgressDrawTarget::stderr(),
        );
        // The template is a constant; should it ever be refused, the default style still works.
        if let Ok(style) =
            ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:30.cyan/blue} {msg}")
        {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.enable_steady_tick(TICK);
        Self::with_mode(total_virtual_seconds, Instant::now(), Mode::Bar(bar))
    }

    /// Plain lines only, written to `out`, at most one per `every` of wall time measured from
    /// `start`. What CI gets through [`Progress::new`], and what tests inject a buffer into.
    pub fn plain(
        total_virtual_seconds: u64,
        out: Box<dyn Write + Send>,
        every: Duration,
        start: Instant,
    ) -> Self {
        let plain = Plain {
            out,
            every,
            last_line: None,
        };
        Self::with_mode(total_virtual_seconds, start, Mode::Plain(plain))
    }

    fn with_mode(total: u64, started: Instant, mode: Mode) -> Self {
        Self {
            state: Mutex::new(State {
                total,
                started,
                last: Snapshot::default(),
                finished: false,
                mode,
            }),
        }
    }

    /// Sets how often plain lines may be written (the bar is not affected).
    pub fn with_interval(self, every: Duration) -> Self {
        if let Mode::Plain(plain) = &mut self.lock().mode {
            plain.every = every;
        }
        self
    }

    /// Whether this shows the live bar (rather than plain lines).
    pub fn is_interactive(&self) -> bool {
        matches!(self.lock().mode, Mode::Bar(_))
    }

    /// Shows where the run is now.
    pub fn update(&self, snapshot: &Snapshot) {
        self.update_at(snapshot, Instant::now());
    }

    /// Shows where the run is at wall time `now`: the clock is a parameter so that rate
    /// limiting and exchanges/s can be tested without sleeping.
    pub fn update_at(&self, snapshot: &Snapshot, now: Instant) {
        let mut state = self.lock();
        if state.finished {
            return;
        }
        state.last = *snapshot;
        let line = state.line(now);
        let total = state.total;
        match &mut state.mode {
            Mode::Bar(bar) => {
                bar.set_position(snapshot.virtual_seconds.min(total));
                bar.set_message(line);
            }
            Mode::Plain(plain) => {
                let due = plain
                    .last_line
                    .is_none_or(|last| now.saturating_duration_since(last) >= plain.every);
                if due {
                    plain.last_line = Some(now);
                    let _ = writeln!(plain.out, "progress: {line}");
                }
            }
        }
    }

    /// Prints a message (a fault starting, a phase changing) above the bar, or as its own line
    /// in plain mode; never rate-limited.
    pub fn println(&self, msg: impl AsRef<str>) {
        let mut state = self.lock();
        match &mut state.mode {
            Mode::Bar(bar) => bar.suspend(|| eprintln!("{}", msg.as_ref())),
            Mode::Plain(plain) => {
                let _ = writeln!(plain.out, "{}", msg.as_ref());
            }
        }
    }

    /// Ends the display: the bar stays on screen in its final state; plain mode writes a last
    /// `done:` line whatever the rate limit. Later updates are ignored.
    pub fn finish(&self) {
        self.finish_at(Instant::now());
    }

    /// [`Progress::finish`] at wall time `now`.
    pub fn finish_at(&self, now: Instant) {
        let mut state = self.lock();
        if state.finished {
            return;
        }
        state.finished = true;
        let line = state.line(now);
        match &mut state.mode {
            Mode::Bar(bar) => bar.finish_with_message(line),
            Mode::Plain(plain) => {
                let _ = writeln!(plain.out, "done: {line}");
                let _ = plain.out.flush();
            }
        }
    }

    /// A poisoned lock only means another task panicked mid-update; the display is still fine.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl State {
    /// `virtual 0:30:00/2:00:00 (25%)  sent 1200  accepted 1190  receipts 1100  faults 3  40.0 exchanges/s`
    fn line(&self, now: Instant) -> String {
        let s = &self.last;
        let percent = (s.virtual_seconds.min(self.total) * 100)
            .checked_div(self.total)
            .unwrap_or(100);
        let wall = now.saturating_duration_since(self.started).as_secs_f64();
        let rate = if wall > 0.0 {
            format!("{:.1} exchanges/s", s.sent as f64 / wall)
        } else {
            "- exchanges/s".to_owned()
        };
        format!(
            "virtual {}/{} ({percent}%)  sent {}  accepted {}  receipts {}  faults {}  {rate}",
            text::hms(s.virtual_seconds),
            text::hms(self.total),
            s.sent,
            s.accepted,
            s.receipts,
            s.faults
        )
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    /// A `Write` whose bytes the test can read afterwards.
    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Buffer {
        fn lines(&self) -> Vec<String> {
            String::from_utf8(self.0.lock().unwrap().clone())
                .unwrap()
                .lines()
                .map(str::to_owned)
                .collect()
        }
    }

    fn at(virtual_seconds: u64, sent: u64) -> Snapshot {
        Snapshot {
            virtual_seconds,
            sent,
            accepted: sent,
            receipts: sent / 2,
            faults: 1,
        }
    }

    #[test]
    fn plain_mode_writes_lines_at_most_once_per_interval() {
        let buffer = Buffer::default();
        let start = Instant::now();
        let secs = |s: u64| start + Duration::from_secs(s);
        let progress = Progress::plain(
            7200,
            Box::new(buffer.clone()),
            Duration::from_secs(10),
            start,
        );
        assert!(!progress.is_interactive());

        progress.update_at(&at(0, 0), secs(0)); // the first is always written
        progress.update_at(&at(60, 10), secs(3)); // too soon
        progress.update_at(&at(120, 20), secs(9)); // too soon
        progress.update_at(&at(1800, 100), secs(10)); // due
        progress.update_at(&at(1900, 110), secs(19)); // too soon after the last line
        progress.println("fault: crash sim-sp"); // messages are never held back
        progress.update_at(&at(2400, 150), secs(20)); // due
        progress.finish_at(secs(25)); // always written
        progress.update_at(&at(7200, 500), secs(40)); // after finish: ignored
        progress.finish_at(secs(41)); // once only

        assert_eq!(
            buffer.lines(),
            [
                "progress: virtual 0:00:00/2:00:00 (0%)  sent 0  accepted 0  receipts 0  faults 1  - exchanges/s",
                "progress: virtual 0:30:00/2:00:00 (25%)  sent 100  accepted 100  receipts 50  faults 1  10.0 exchanges/s",
                "fault: crash sim-sp",
                "progress: virtual 0:40:00/2:00:00 (33%)  sent 150  accepted 150  receipts 75  faults 1  7.5 exchanges/s",
                "done: virtual 0:40:00/2:00:00 (33%)  sent 150  accepted 150  receipts 75  faults 1  6.0 exchanges/s",
            ]
        );
    }

    #[test]
    fn interval_is_configurable_and_zero_total_does_not_divide_by_zero() {
        let buffer = Buffer::default();
        let start = Instant::now();
        let progress = Progress::plain(0, Box::new(buffer.clone()), DEFAULT_PLAIN_INTERVAL, start)
            .with_interval(Duration::from_secs(1));
        for s in 0..5 {
            progress.update_at(&at(0, s), start + Duration::from_millis(500 * s));
        }
        let lines = buffer.lines();
        // At 0, 1.0 and 2.0 seconds; not at 0.5 or 1.5.
        assert_eq!(lines.len(), 3, "{lines:#?}");
        assert!(lines[0].contains("(100%)"), "{}", lines[0]);
    }

    #[test]
    fn forced_bar_mode_accepts_the_whole_api() {
        // Not a terminal here, so indicatif draws nothing; this checks the calls, not the look.
        let progress = Progress::new(60, Some(true));
        assert!(progress.is_interactive());
        progress.update(&at(30, 5));
        progress.println("hello");
        progress.update(&at(90, 9)); // beyond the total: clamped
        progress.finish();
    }
}
