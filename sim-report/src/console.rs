//! The summary printed at the end of `sim run`: what a person reads first in a terminal or a CI
//! log, so it fits on one screen and ends with the verdict (the last line is what a log viewer
//! shows when collapsed).

use std::fmt::Write as _;

use crate::model::{CheckResult, RunReport};
use crate::text;

/// A compact, plain-text summary (no colours: it is also pasted into issues and CI logs).
/// Control characters in names, summaries and examples are shown as escapes, so a broken
/// message's bytes can neither break the layout nor drive the terminal.
///
/// Order: which run (scenario, seed, hash, commit — enough to reproduce it), how long, what
/// happened (totals, rate, latency), then every check — failures with their first
/// counterexamples — and a last `verdict:` line.
pub fn summary(report: &RunReport) -> String {
    let mut out = String::new();
    // Writing to a String cannot fail; the `let _` keeps that visible instead of unwrapping.
    let _ = write_summary(&mut out, report);
    out
}

fn write_summary(out: &mut String, r: &RunReport) -> std::fmt::Result {
    let s = &r.scenario;
    let line = text::one_line;
    writeln!(out, "sim run: {} ({})", line(&s.name), line(&s.file))?;
    writeln!(
        out,
        "  seed {}  scenario hash {}  commit {}  speed {}",
        s.seed,
        line(&s.hash),
        line(s.git_commit.as_deref().unwrap_or("unknown")),
        line(&s.speed)
    )?;
    writeln!(
        out,
        "  virtual {} .. {} ({}) in {} wall",
        text::timestamp(s.virtual_start),
        text::timestamp(s.virtual_end),
        text::duration(s.virtual_seconds()),
        text::duration(r.wall_seconds)
    )?;

    let t = &r.totals;
    writeln!(
        out,
        "totals: arrivals {}, sent {}, accepted {}, rejected {}, undelivered {}, receipts {}, faults {}",
        t.arrivals, t.sent, t.accepted, t.rejected, t.undelivered, t.receipts, t.faults_injected
    )?;
    match r.exchanges_per_second() {
        Some(rate) => writeln!(
            out,
            "rate: {rate:.1} exchanges/s (updates sent per wall second)"
        )?,
        None => writeln!(out, "rate: n/a (no wall time measured)")?,
    }
    let l = &r.latency;
    if l.count == 0 {
        writeln!(out, "latency: no round trips completed")?;
    } else {
        writeln!(
            out,
            "latency (n={}): p50 {}  p90 {}  p99 {}  max {}",
            l.count,
            text::millis(l.p50_ms),
            text::millis(l.p90_ms),
            text::millis(l.p99_ms),
            text::millis(l.max_ms)
        )?;
    }

    for p in &r.programs {
        if let Some(b) = p.peak_rss_bytes {
            writeln!(
                out,
                "memory: peak {:.0} MiB  {}",
                b as f64 / (1024.0 * 1024.0),
                p.name
            )?;
        }
    }

    let failed = r.failed_checks().count();
    writeln!(
        out,
        "checks: {} passed, {} failed",
        r.checks.len() - failed,
        failed
    )?;
    let label_width = r
        .checks
        .iter()
        .map(|c| label(c).chars().count())
        .max()
        .unwrap_or(0);
    for c in &r.checks {
        write_check(out, c, label_width)?;
    }

    let verdict = if r.checks.is_empty() {
        "verdict: PASS (no checks ran: nothing was judged)".to_owned()
    } else if failed == 0 {
        format!("verdict: PASS (all {} checks held)", r.checks.len())
    } else {
        format!(
            "verdict: FAIL ({failed} of {} checks failed)",
            r.checks.len()
        )
    };
    writeln!(out, "{verdict}")
}

/// `name [rule]`: what a check is called and which rule it guards, padded as one column.
fn label(c: &CheckResult) -> String {
    match &c.rule {
        Some(rule) => format!("{} [{}]", text::one_line(&c.name), text::one_line(rule)),
        None => text::one_line(&c.name).into_owned(),
    }
}

fn write_check(out: &mut String, c: &CheckResult, label_width: usize) -> std::fmt::Result {
    let status = if c.passed { "PASS" } else { "FAIL" };
    write!(
        out,
        "  {status} {:<11} {:<label_width$}  {}",
        c.kind.as_str(),
        label(c),
        text::one_line(&c.summary)
    )?;
    let measured = text::measured(c.measured, c.limit);
    if !measured.is_empty() {
        write!(out, "; {measured}")?;
    }
    writeln!(out)?;
    if !c.passed && !c.examples.is_empty() {
        let examples = text::examples(&c.examples);
        writeln!(out, "       e.g. {}", text::one_line(&examples))?;
    }
    Ok(())
}
