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
//! The XML is written by hand: the shape is fixed and small, and every piece of text goes
//! through one escaping function (quick-xml's escape plus removal of characters XML forbids).

use std::fmt::Write as _;

use crate::model::{CheckResult, RunReport};
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
    let time = seconds(r.wall_seconds);
    let name = text::xml(&suite_name(r)).into_owned();
    writeln!(out, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
    writeln!(
        out,
        r#"<testsuites name="{name}" tests="{tests}" failures="{failures}" errors="0" time="{time}">"#
    )?;
    writeln!(
        out,
        r#"  <testsuite name="{name}" tests="{tests}" failures="{failures}" errors="0" skipped="0" time="{time}">"#
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
    writeln!(out, "    <properties>")?;
    for (key, value) in properties {
        writeln!(
            out,
            r#"      <property name="{key}" value="{}"/>"#,
            text::xml(&value)
        )?;
    }
    writeln!(out, "    </properties>")?;

    for c in &r.checks {
        write_case(out, c)?;
    }
    writeln!(out, "  </testsuite>")?;
    writeln!(out, "</testsuites>")
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
    if c.passed {
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
