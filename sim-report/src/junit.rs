//! JUnit XML, so that CI systems (GitLab, Jenkins, GitHub test reporters) show each check of a
//! run as a test: a failed safety check appears next to failed unit tests, with its
//! counterexamples.
//!
//! Shape: a `<testsuites>` root holding exactly one `<testsuite name="sim run <scenario>">`
//! (some readers want the wrapper, none refuse it), `<properties>` with what reproduces the run,
//! then one `<testcase>` per check with `classname` = its kind. A failed check carries
//! `<failure message="<summary>" type="<rule, or the kind>">` with all its examples as text; a
//! passing one its summary in `<system-out>`, so the report says what was checked either way.
//!
//! Every outside system in a seat adds a suite `<testsuite name="conformance:<seat>">`
//! (properties: seat, party, url, coverage) with one test case per rule that applies to it,
//! `<testcase classname="conformance.<seat>" name="<rule> <title>">`. A broken rule carries
//! `<failure message="<summary>" type="<rule>">` with every counterexample (IDs and the raw
//! exchange) as text, a rule the run did not exercise `<skipped message="<why not>"/>`, a kept
//! one its summary in `<system-out>`.
//! The root's `tests` and `failures` count the test cases of all suites.
//!
//! The XML is written by hand: the shape is fixed and small, and every piece of text goes
//! through one escaping function (quick-xml's escape plus removal of characters XML forbids).

use std::fmt::Write as _;

use crate::model::{CheckResult, RuleStatus, RuleVerdict, RunReport, SeatReport};
use crate::text;

/// The whole JUnit document, UTF-8, with an XML declaration.
pub fn render(report: &RunReport) -> String {
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = write_document(&mut out, report);
    out
}

/// The suite's name: CI systems group results by it, so it names the scenario (not the seed,
/// so that runs of one scenario with different seeds line up in history views).
pub fn suite_name(report: &RunReport) -> String {
    format!("sim run {}", report.scenario.name)
}

fn write_document(out: &mut String, r: &RunReport) -> std::fmt::Result {
    let tests = r.checks.len();
    let failures = r.failed_checks().count();
    let skipped = r.checks.iter().filter(|c| c.not_judged.is_some()).count();
    let time = seconds(r.wall_seconds);
    let name = text::xml(&suite_name(r)).into_owned();
    // The root counts every test case of every suite: the checks and every seat's rules.
    let all_tests = tests + r.conformance.iter().map(|s| s.rules.len()).sum::<usize>();
    let all_failures = failures + r.failed_rules().count();
    writeln!(out, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
    writeln!(
        out,
        r#"<testsuites name="{name}" tests="{all_tests}" failures="{all_failures}" errors="0" time="{time}">"#
    )?;
    writeln!(
        out,
        r#"  <testsuite name="{name}" tests="{tests}" failures="{failures}" errors="0" skipped="{skipped}" time="{time}">"#
    )?;

    let s = &r.scenario;
    let mut properties = vec![
        ("seed", s.seed.to_string()),
        ("scenario", s.name.clone()),
        ("scenario_file", s.file.clone()),
        ("scenario_hash", s.hash.clone()),
        ("speed", s.speed.clone()),
        ("virtual_start", text::timestamp(s.virtual_start)),
        ("virtual_end", text::timestamp(s.virtual_end)),
    ];
    if let Some(commit) = &s.git_commit {
        properties.insert(3, ("git_commit", commit.clone()));
    }
    write_properties(out, &properties)?;

    for c in &r.checks {
        write_case(out, c)?;
    }
    writeln!(out, "  </testsuite>")?;
    for seat in &r.conformance {
        write_seat(out, seat)?;
    }
    writeln!(out, "</testsuites>")
}

fn write_properties(out: &mut String, properties: &[(&str, String)]) -> std::fmt::Result {
    writeln!(out, "    <properties>")?;
    for (key, value) in properties {
        writeln!(
            out,
            r#"      <property name="{key}" value="{}"/>"#,
            text::xml(value)
        )?;
    }
    writeln!(out, "    </properties>")
}

/// One outside system in a seat: a suite `conformance:<seat>` with one test case per rule that
/// applies to it. A broken rule fails with its counterexamples (raw exchanges included), a rule
/// the run did not exercise is skipped with the reason, a kept one says what was checked.
fn write_seat(out: &mut String, seat: &SeatReport) -> std::fmt::Result {
    let name = text::xml(&format!("conformance:{}", seat.seat)).into_owned();
    let classname = text::xml(&format!("conformance.{}", seat.seat)).into_owned();
    let tests = seat.rules.len();
    let failures = seat.failed_rules().count();
    let (exercised, applicable) = seat.coverage();
    let skipped = applicable - exercised;
    writeln!(
        out,
        r#"  <testsuite name="{name}" tests="{tests}" failures="{failures}" errors="0" skipped="{skipped}" time="0.000">"#
    )?;
    write_properties(
        out,
        &[
            ("seat", seat.seat.clone()),
            ("party", seat.party.clone()),
            ("url", seat.url.clone()),
            ("coverage", format!("{exercised}/{applicable}")),
        ],
    )?;
    for v in &seat.rules {
        writeln!(
            out,
            r#"    <testcase name="{}" classname="{classname}">"#,
            text::xml(&format!("{} {}", v.rule, v.title))
        )?;
        match v.status {
            RuleStatus::Pass => writeln!(
                out,
                "      <system-out>{}</system-out>",
                text::xml(&v.summary)
            )?,
            RuleStatus::NotExercised => writeln!(
                out,
                r#"      <skipped message="{}"/>"#,
                text::xml(&v.summary)
            )?,
            RuleStatus::Fail => writeln!(
                out,
                r#"      <failure message="{}" type="{}">{}</failure>"#,
                text::xml(&v.summary),
                text::xml(&v.rule),
                text::xml(&failure_body(v))
            )?,
        }
        writeln!(out, "    </testcase>")?;
    }
    writeln!(out, "  </testsuite>")
}

/// The text of a broken rule's `<failure>`: the summary, then every counterexample kept, each
/// with its IDs and the raw request and response as they were exchanged (cut to 4 KiB).
fn failure_body(v: &RuleVerdict) -> String {
    let mut body = v.summary.clone();
    for (i, e) in v.evidence.iter().enumerate() {
        body.push_str(&format!(
            "\n\ncounterexample {}: {}",
            i + 1,
            text::evidence(e)
        ));
        for (label, raw) in [("request", &e.request), ("response", &e.response)] {
            if let Some(raw) = raw {
                body.push_str(&format!("\n--- {label} ---\n{raw}"));
            }
        }
    }
    body
}

fn write_case(out: &mut String, c: &CheckResult) -> std::fmt::Result {
    write!(
        out,
        r#"    <testcase name="{}" classname="{}""#,
        text::xml(&c.name),
        c.kind.as_str()
    )?;
    let mut summary = c.summary.clone();
    let measured = text::measured(c.measured, c.limit);
    if !measured.is_empty() {
        summary.push_str("; ");
        summary.push_str(&measured);
    }
    if let Some(why) = &c.not_judged {
        writeln!(out, ">")?;
        writeln!(out, r#"      <skipped message="{}"/>"#, text::xml(why))?;
    } else if c.passed {
        writeln!(out, ">")?;
        writeln!(
            out,
            "      <system-out>{}</system-out>",
            text::xml(&summary)
        )?;
    } else {
        writeln!(out, ">")?;
        let kind = c.rule.as_deref().unwrap_or(c.kind.as_str());
        write!(
            out,
            r#"      <failure message="{}" type="{}">"#,
            text::xml(&summary),
            text::xml(kind)
        )?;
        // The body is for people: the summary again, then every example on its own line.
        write!(out, "{}", text::xml(&summary))?;
        if !c.examples.is_empty() {
            write!(out, "&#10;examples:")?;
            for e in &c.examples {
                write!(out, "&#10;  {}", text::xml(e))?;
            }
        }
        writeln!(out, "</failure>")?;
    }
    writeln!(out, "    </testcase>")
}

/// Seconds as JUnit readers expect them: a plain decimal, never `NaN` or an exponent.
fn seconds(s: f64) -> String {
    if s.is_finite() && s >= 0.0 {
        format!("{s:.3}")
    } else {
        "0".to_owned()
    }
}
