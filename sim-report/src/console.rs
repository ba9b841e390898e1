//! The summary printed at the end of `sim run`: what a person reads first in a terminal or a CI
//! log, so it fits on one screen and ends with the verdict (the last line is what a log viewer
//! shows when collapsed).

use std::fmt::Write as _;

use crate::model::{CheckResult, RuleStatus, RunReport, SeatReport};
use crate::text;

/// A compact, plain-text summary (no colours: it is also pasted into issues and CI logs).
/// Control characters in names, summaries and examples are shown as escapes, so a broken
/// message's bytes can neither break the layout nor drive the terminal.
///
/// Order: which run (scenario, seed, hash, commit — enough to reproduce it), how long, what
/// happened (totals, rate, latency), then every check (failures with their first
/// counterexamples), then every outside system in a seat rule by rule (failed rules with their
/// first counterexamples; the raw exchanges are left to the JSON and HTML reports), and a last
/// `verdict:` line, which fails when a check failed or a seat broke a rule.
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
    let o = &t.ownership;
    if o.resent > 0 || o.still_owned > 0 {
        writeln!(
            out,
            "ownership (JC-1, virtual): {} answered, {} resent, p50 {}, p99 {}, max {}; {} still owned (longest {})",
            o.answered,
            o.resent,
            text::duration(o.p50_ms as f64 / 1000.0),
            text::duration(o.p99_ms as f64 / 1000.0),
            text::duration(o.max_ms as f64 / 1000.0),
            o.still_owned,
            text::duration(o.still_owned_max_ms as f64 / 1000.0),
        )?;
    }
    if t.cases_created > 0 {
        writeln!(
            out,
            "cases created in KSD (intake, KSD-9): {}",
            t.cases_created
        )?;
    }
    let l = &t.lookups;
    if l.sent > 0 {
        writeln!(
            out,
            "look-ups (SF2096, KSD-12): {} made, {} aimed at other municipalities (real case ids {}, NemRefusion ids {}, CPRs {}, guessed {}): {} found a case, {} answered none, {} leaked another municipality's case, {} unanswered; round trip p50 {} ms, p99 {} ms (real)",
            l.sent,
            l.adversarial,
            l.aimed_at_cases,
            l.aimed_at_nem_refusion,
            l.aimed_at_persons,
            l.guessed,
            l.found,
            l.none,
            l.leaked,
            l.failed,
            l.p50_ms,
            l.p99_ms
        )?;
    }
    let k = &t.ky;
    if k.sent > 0 {
        let by_rule: Vec<String> = k
            .refused_by_rule
            .iter()
            .map(|(r, n)| format!("{r} {n}"))
            .collect();
        writeln!(
            out,
            "KY messages (SF1690, KY-1): {} sent in {} contact courses: {} accepted, {} refused{}, {} unanswered; round trip p50 {} ms, p99 {} ms (real)",
            k.sent,
            k.conversations,
            k.accepted,
            k.refused,
            if by_rule.is_empty() {
                String::new()
            } else {
                format!(" ({})", by_rule.join(", "))
            },
            k.unanswered,
            k.p50_ms,
            k.p99_ms
        )?;
    }
    for f in &t.flows {
        writeln!(
            out,
            "flow {}: {} calls to the platform ({} messages), platform response p50 {}, p99 {} (virtual)",
            f.integration,
            f.calls,
            f.messages,
            text::duration(f.p50_ms as f64 / 1000.0),
            text::duration(f.p99_ms as f64 / 1000.0),
        )?;
    }
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
            let cpu = p
                .cpu_seconds
                .map(|c| format!("  cpu {c:.1} s"))
                .unwrap_or_default();
            writeln!(
                out,
                "memory: peak {:.0} MiB{cpu}  {}",
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

    for seat in &r.conformance {
        write_seat(out, seat)?;
    }

    writeln!(out, "{}", verdict(r))
}

/// The last line. Without seats it speaks of checks only; with seats it adds the conformance
/// rules, and fails when a seat broke one even if every check held.
fn verdict(r: &RunReport) -> String {
    let failed = r.failed_checks().count();
    if r.conformance.is_empty() {
        return if r.checks.is_empty() {
            "verdict: PASS (no checks ran: nothing was judged)".to_owned()
        } else if failed == 0 {
            format!("verdict: PASS (all {} checks held)", r.checks.len())
        } else {
            format!(
                "verdict: FAIL ({failed} of {} checks failed)",
                r.checks.len()
            )
        };
    }
    let checks = if r.checks.is_empty() {
        "no checks ran".to_owned()
    } else if failed == 0 {
        format!("all {} checks held", r.checks.len())
    } else {
        format!("{failed} of {} checks failed", r.checks.len())
    };
    let (exercised, applicable) = r.conformance_coverage();
    let failed_rules = r.failed_rules().count();
    let rules = if failed_rules == 0 {
        format!("no seat broke a rule, {exercised} of {applicable} rules exercised")
    } else {
        let seats: Vec<_> = r
            .conformance
            .iter()
            .filter(|s| !s.passed())
            .map(|s| text::one_line(&s.seat))
            .collect();
        format!(
            "{failed_rules} of {exercised} exercised conformance rules failed, at {}",
            seats.join(", ")
        )
    };
    let word = if failed == 0 && failed_rules == 0 {
        "PASS"
    } else {
        "FAIL"
    };
    format!("verdict: {word} ({checks}; {rules})")
}

/// One outside system in a seat: its coverage, then every rule that applies with its status,
/// a failed rule's first counterexamples under it.
fn write_seat(out: &mut String, seat: &SeatReport) -> std::fmt::Result {
    let line = text::one_line;
    let (exercised, applicable) = seat.coverage();
    writeln!(
        out,
        "conformance: {} ({}) at {} — coverage {exercised}/{applicable} rules exercised",
        line(&seat.seat),
        line(&seat.party),
        line(&seat.url)
    )?;
    if seat.rules.is_empty() {
        return writeln!(out, "  (no rule applies to this seat)");
    }
    let status_width = seat
        .rules
        .iter()
        .map(|v| v.status.label().len())
        .max()
        .unwrap_or(0);
    let rule_width = seat
        .rules
        .iter()
        .map(|v| line(&v.rule).chars().count())
        .max()
        .unwrap_or(0);
    let indent = " ".repeat(2 + status_width + 2);
    for v in &seat.rules {
        writeln!(
            out,
            "  {:<status_width$}  {:<rule_width$}  {}: {}",
            v.status.label(),
            line(&v.rule),
            line(&v.title),
            line(&v.summary)
        )?;
        if v.status != RuleStatus::Fail || v.evidence.is_empty() {
            continue;
        }
        for e in v.evidence.iter().take(text::SHOWN_EVIDENCE) {
            writeln!(out, "{indent}{}", line(&text::evidence(e)))?;
        }
        let more = v.evidence.len().saturating_sub(text::SHOWN_EVIDENCE);
        if more > 0 {
            write!(out, "{indent}… {more} more; ")?;
        } else {
            write!(out, "{indent}")?;
        }
        writeln!(out, "the raw exchanges are in the JSON and HTML reports")?;
    }
    Ok(())
}

/// `name [rule]`: what a check is called and which rule it guards, padded as one column.
fn label(c: &CheckResult) -> String {
    match &c.rule {
        Some(rule) => format!("{} [{}]", text::one_line(&c.name), text::one_line(rule)),
        None => text::one_line(&c.name).into_owned(),
    }
}

fn write_check(out: &mut String, c: &CheckResult, label_width: usize) -> std::fmt::Result {
    let status = c.status_label();
    write!(
        out,
        "  {status:<4} {:<11} {:<label_width$}  {}",
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
