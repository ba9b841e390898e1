//! One self-contained HTML page per run: what a person opens from a CI artifact or attaches to
//! an issue. Inline CSS, inline SVG, no JavaScript and no external resources, so it renders the
//! same offline, in a mail client's preview and years later.
//!
//! With outside systems in seats, a "Conformance" section follows the checks: per seat its
//! coverage and a table of the rules that apply (status, rule, what it demands, what was found),
//! then per broken rule a `<details>` with every counterexample kept and its raw request and
//! response in `<pre>`. The only links are to those, on the page.
//!
//! The page is also well-formed XML (void elements self-closed, CSS without `<` or `&`), so
//! tests can parse it with quick-xml as well as with `xmllint --html`.

use std::fmt::Write as _;

use crate::model::{CheckResult, RuleStatus, RuleVerdict, RunReport, SeatReport};
use crate::{plots, text};

/// The style sheet: readable tables, a verdict badge, plots that shrink on narrow screens.
/// Deliberately free of `<` and `&` so the page stays well-formed XML.
const CSS: &str = "
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 960px; color: #222; padding: 0 1em; }
h1 { margin-bottom: 0.2em; }
h2 { margin-top: 1.8em; border-bottom: 1px solid #ddd; }
dl.run { display: grid; grid-template-columns: max-content auto; gap: 0.2em 1em; }
dl.run dt { font-weight: bold; }
dl.run dd { margin: 0; font-family: ui-monospace, monospace; }
.verdict { display: inline-block; padding: 0.2em 0.8em; border-radius: 4px; color: white; font-weight: bold; }
.pass { background: #1a7f37; }
.fail { background: #cf222e; }
table { border-collapse: collapse; width: 100%; margin: 0.5em 0; }
th, td { border: 1px solid #ddd; padding: 0.3em 0.5em; text-align: left; vertical-align: top; }
th { background: #f6f8fa; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.failed td { background: #fff1f0; }
td.status { font-weight: bold; }
ul.examples { margin: 0.3em 0 0 0; padding-left: 1.2em; font-family: ui-monospace, monospace; font-size: 0.9em; }
tr.not-exercised td { color: #57606a; }
ol.evidence { font-size: 0.9em; }
ol.evidence p { margin: 0.4em 0 0.1em 0; font-family: ui-monospace, monospace; }
pre { white-space: pre-wrap; overflow-wrap: anywhere; max-height: 24em; overflow: auto; background: #f6f8fa; padding: 0.4em; margin: 0; }
div.plot { margin: 1em 0; }
div.plot svg { max-width: 100%; height: auto; }
";

/// The whole page.
pub fn render(report: &RunReport) -> String {
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = write_page(&mut out, report);
    out
}

fn write_page(out: &mut String, r: &RunReport) -> std::fmt::Result {
    let s = &r.scenario;
    let name = text::xml(&s.name);
    let (verdict, class) = if r.passed() {
        ("PASS", "pass")
    } else {
        ("FAIL", "fail")
    };
    writeln!(out, "<!DOCTYPE html>")?;
    writeln!(out, r#"<html lang="en">"#)?;
    writeln!(out, "<head>")?;
    writeln!(out, r#"<meta charset="utf-8"/>"#)?;
    writeln!(
        out,
        r#"<meta name="viewport" content="width=device-width, initial-scale=1"/>"#
    )?;
    writeln!(out, "<title>sim run {name}: {verdict}</title>")?;
    writeln!(out, "<style>{CSS}</style>")?;
    writeln!(out, "</head>")?;
    writeln!(out, "<body>")?;

    // Header: which run, and its verdict.
    writeln!(
        out,
        "<h1>sim run {name} <span class=\"verdict {class}\">{verdict}</span></h1>"
    )?;
    let failed = r.failed_checks().count();
    write!(
        out,
        "<p>{} of {} checks held.",
        r.checks.len() - failed,
        r.checks.len()
    )?;
    if !r.conformance.is_empty() {
        let (exercised, applicable) = r.conformance_coverage();
        write!(
            out,
            " {} in seats: {} failed, {exercised} of {applicable} rules exercised.",
            text::count(r.conformance.len(), "outside system"),
            text::count(r.failed_rules().count(), "conformance rule"),
        )?;
    }
    writeln!(out, "</p>")?;
    writeln!(out, r#"<dl class="run">"#)?;
    let rows = [
        ("scenario file", s.file.clone()),
        ("seed", s.seed.to_string()),
        ("scenario hash", s.hash.clone()),
        (
            "git commit",
            s.git_commit.clone().unwrap_or_else(|| "unknown".to_owned()),
        ),
        ("speed", s.speed.clone()),
        (
            "virtual time",
            format!(
                "{} .. {} ({})",
                text::timestamp(s.virtual_start),
                text::timestamp(s.virtual_end),
                text::duration(s.virtual_seconds())
            ),
        ),
        ("wall time", text::duration(r.wall_seconds)),
    ];
    for (key, value) in rows {
        writeln!(out, "<dt>{key}</dt><dd>{}</dd>", text::xml(&value))?;
    }
    writeln!(out, "</dl>")?;

    write_checks(out, r)?;
    write_conformance(out, r)?;
    write_totals(out, r)?;

    writeln!(out, "<h2>Traffic</h2>")?;
    writeln!(out, "<div class=\"plot\">{}</div>", plots::traffic(r))?;
    write_flows(out, r)?;
    writeln!(out, "<h2>Latency</h2>")?;
    writeln!(
        out,
        "<p>Round trip: the update's intended send time until its business receipt is stored at the vendor.</p>"
    )?;
    writeln!(out, "<div class=\"plot\">{}</div>", plots::latency(r))?;
    writeln!(out, "<h2>Faults</h2>")?;
    writeln!(out, "<div class=\"plot\">{}</div>", plots::faults(r))?;
    write_fault_table(out, r)?;
    write_programs(out, r)?;

    writeln!(out, "</body>")?;
    writeln!(out, "</html>")
}

fn write_checks(out: &mut String, r: &RunReport) -> std::fmt::Result {
    writeln!(out, "<h2>Checks</h2>")?;
    if r.checks.is_empty() {
        return writeln!(out, "<p>No checks ran: nothing was judged.</p>");
    }
    writeln!(out, "<table>")?;
    writeln!(
        out,
        "<tr><th>result</th><th>kind</th><th>check</th><th>rule</th><th>what was found</th></tr>"
    )?;
    for c in &r.checks {
        write_check(out, c)?;
    }
    writeln!(out, "</table>")
}

fn write_check(out: &mut String, c: &CheckResult) -> std::fmt::Result {
    let (status, class) = if c.not_judged.is_some() {
        ("NOT JUDGED", "not-exercised")
    } else if c.passed {
        ("PASS", "passed")
    } else {
        ("FAIL", "failed")
    };
    write!(
        out,
        "<tr class=\"{class}\"><td class=\"status\">{status}</td><td>{}</td><td>{}</td><td>{}</td><td>{}",
        c.kind.as_str(),
        text::xml(&c.name),
        text::xml(c.rule.as_deref().unwrap_or("")),
        text::xml(&c.summary)
    )?;
    let measured = text::measured(c.measured, c.limit);
    if !measured.is_empty() {
        write!(out, "<br/>{}", text::xml(&measured))?;
    }
    if !c.examples.is_empty() {
        write!(out, "<ul class=\"examples\">")?;
        for e in &c.examples {
            write!(out, "<li>{}</li>", text::xml(e))?;
        }
        write!(out, "</ul>")?;
    }
    writeln!(out, "</td></tr>")
}

/// Every outside system in a seat: a table of the rules that apply to it, then, per broken
/// rule, its counterexamples with the raw exchanges (collapsed: they can be long). Nothing when
/// everything was simulated.
fn write_conformance(out: &mut String, r: &RunReport) -> std::fmt::Result {
    if r.conformance.is_empty() {
        return Ok(());
    }
    writeln!(out, "<h2>Conformance</h2>")?;
    writeln!(
        out,
        "<p>Outside systems in seats, graded rule by rule: PASS when every exchange kept the rule, FAIL with counterexamples, NOT EXERCISED when the run gave no occasion to show it.</p>"
    )?;
    for (si, seat) in r.conformance.iter().enumerate() {
        write_seat(out, si, seat)?;
    }
    Ok(())
}

fn write_seat(out: &mut String, si: usize, seat: &SeatReport) -> std::fmt::Result {
    let (verdict, class) = if seat.passed() {
        ("PASS", "pass")
    } else {
        ("FAIL", "fail")
    };
    writeln!(
        out,
        "<h3>{} ({}) <span class=\"verdict {class}\">{verdict}</span></h3>",
        text::xml(&seat.seat),
        text::xml(&seat.party)
    )?;
    let (exercised, applicable) = seat.coverage();
    writeln!(
        out,
        "<p>At <code>{}</code>: coverage {exercised}/{applicable} rules exercised, {} failed.</p>",
        text::xml(&seat.url),
        text::count(seat.failed_rules().count(), "rule")
    )?;
    if seat.rules.is_empty() {
        return writeln!(out, "<p>No rule applies to this seat.</p>");
    }
    writeln!(out, "<table>")?;
    writeln!(
        out,
        "<tr><th>result</th><th>rule</th><th>what it demands</th><th>what was found</th></tr>"
    )?;
    for (ri, v) in seat.rules.iter().enumerate() {
        let class = match v.status {
            RuleStatus::Pass => "passed",
            RuleStatus::Fail => "failed",
            RuleStatus::NotExercised => "not-exercised",
        };
        write!(
            out,
            "<tr class=\"{class}\"><td class=\"status\">{}</td><td>{}</td><td>{}</td><td>{}",
            v.status.label(),
            text::xml(&v.rule),
            text::xml(&v.title),
            text::xml(&v.summary)
        )?;
        if v.status == RuleStatus::Fail && !v.evidence.is_empty() {
            write!(
                out,
                "<br/><a href=\"#{}\">{} below</a>",
                evidence_id(si, ri),
                text::count(v.evidence.len(), "counterexample")
            )?;
        }
        writeln!(out, "</td></tr>")?;
    }
    writeln!(out, "</table>")?;
    for (ri, v) in seat.rules.iter().enumerate() {
        if v.status == RuleStatus::Fail && !v.evidence.is_empty() {
            write_evidence(out, &evidence_id(si, ri), v)?;
        }
    }
    Ok(())
}

/// The anchor of a broken rule's counterexamples: from positions, so that any seat name or rule
/// ID gives a valid, unique ID.
fn evidence_id(seat: usize, rule: usize) -> String {
    format!("evidence-{seat}-{rule}")
}

fn write_evidence(out: &mut String, id: &str, v: &RuleVerdict) -> std::fmt::Result {
    writeln!(
        out,
        "<details id=\"{id}\"><summary>{} {}: {}</summary>",
        text::xml(&v.rule),
        text::xml(&v.title),
        text::count(v.evidence.len(), "counterexample")
    )?;
    writeln!(out, "<ol class=\"evidence\">")?;
    for e in &v.evidence {
        write!(out, "<li><p>{}</p>", text::xml(&text::evidence(e)))?;
        for (label, raw) in [("request", &e.request), ("response", &e.response)] {
            if let Some(raw) = raw {
                write!(out, "<p>{label}</p><pre>{}</pre>", text::xml(raw))?;
            }
        }
        writeln!(out, "</li>")?;
    }
    writeln!(out, "</ol>")?;
    writeln!(out, "</details>")
}

fn write_totals(out: &mut String, r: &RunReport) -> std::fmt::Result {
    let t = &r.totals;
    writeln!(out, "<h2>Totals</h2>")?;
    writeln!(out, "<table>")?;
    let rows = [
        (
            "arrivals",
            t.arrivals.to_string(),
            "arrivals the load model produced",
        ),
        (
            "sent",
            t.sent.to_string(),
            "updates sent by the vendors (first attempts)",
        ),
        (
            "accepted",
            t.accepted.to_string(),
            "answered OK or ADVARSEL",
        ),
        ("rejected", t.rejected.to_string(), "answered FEJL"),
        (
            "undelivered",
            t.undelivered.to_string(),
            "never answered with a transport receipt",
        ),
        (
            "receipts",
            t.receipts.to_string(),
            "business receipts stored at the vendors",
        ),
        (
            "faults injected",
            t.faults_injected.to_string(),
            "all kinds",
        ),
        (
            "exchanges/s",
            r.exchanges_per_second()
                .map(|x| format!("{x:.1}"))
                .unwrap_or_else(|| "n/a".to_owned()),
            "updates sent per second of wall time",
        ),
    ];
    for (key, value, meaning) in rows {
        writeln!(
            out,
            "<tr><th>{key}</th><td class=\"num\">{value}</td><td>{meaning}</td></tr>"
        )?;
    }
    writeln!(out, "</table>")
}

/// Per integration that had traffic through the platform: its figures in a table, a plot of
/// its calls over virtual time, and one plot of every flow's response times. Nothing for a run
/// without any (no empty charts); a report written before the per-flow series has the table
/// only.
fn write_flows(out: &mut String, r: &RunReport) -> std::fmt::Result {
    let flows = &r.totals.flows;
    if flows.is_empty() {
        return Ok(());
    }
    writeln!(out, "<h2>Flows</h2>")?;
    writeln!(
        out,
        "<p>Per integration, from the platform's journal: the calls it took on the integration's exposed legs and answered (first sights and resends), the distinct TransaktionIdentifikatorer among them, and its response times in virtual time.</p>"
    )?;
    writeln!(out, "<table>")?;
    writeln!(
        out,
        "<tr><th>integration</th><th>legs</th><th>calls</th><th>messages</th><th>response p50</th><th>response p99</th></tr>"
    )?;
    for f in flows {
        writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            text::xml(&f.integration),
            text::xml(&f.legs.join(", ")),
            f.calls,
            f.messages,
            text::millis(f.p50_ms as f64),
            text::millis(f.p99_ms as f64),
        )?;
    }
    writeln!(out, "</table>")?;
    let mut plotted = 0;
    for (f, color) in plots::plotted_flows(r) {
        writeln!(
            out,
            "<div class=\"plot\">{}</div>",
            plots::flow_traffic(r, f, color)
        )?;
        plotted += 1;
    }
    if plotted > 0 {
        writeln!(
            out,
            "<p>Platform response time: from the request's arrival to the platform's answer, per bucket of the calls above (SP-8 judges them in the checks).</p>"
        )?;
        writeln!(
            out,
            "<div class=\"plot\">{}</div>",
            plots::flow_response_times(r)
        )?;
    }
    Ok(())
}

fn write_fault_table(out: &mut String, r: &RunReport) -> std::fmt::Result {
    if r.faults.is_empty() {
        return Ok(());
    }
    writeln!(out, "<table>")?;
    writeln!(
        out,
        "<tr><th>kind</th><th>target</th><th>start</th><th>end</th><th>messages</th><th>note</th></tr>"
    )?;
    for f in &r.faults {
        writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
            text::xml(&f.kind),
            text::xml(f.target.as_deref().unwrap_or("all")),
            text::xml(&text::timestamp(f.start)),
            f.end
                .map(|e| text::xml(&text::timestamp(e)).into_owned())
                .unwrap_or_else(|| "(instant)".to_owned()),
            f.count,
            text::xml(&f.note)
        )?;
    }
    writeln!(out, "</table>")
}

fn write_programs(out: &mut String, r: &RunReport) -> std::fmt::Result {
    if r.programs.is_empty() {
        return Ok(());
    }
    writeln!(out, "<h2>Programs</h2>")?;
    writeln!(out, "<table>")?;
    writeln!(
        out,
        "<tr><th>program</th><th>peak memory</th><th>messages journaled</th></tr>"
    )?;
    for p in &r.programs {
        let rss = p
            .peak_rss_bytes
            .map(|b| format!("{:.1} MiB", b as f64 / (1024.0 * 1024.0)))
            .unwrap_or_else(|| "not measured".to_owned());
        writeln!(
            out,
            "<tr><td>{}</td><td class=\"num\">{rss}</td><td class=\"num\">{}</td></tr>",
            text::xml(&p.name),
            p.messages_journaled
        )?;
    }
    writeln!(out, "</table>")
}
