//! The JUnit XML: parsed back with quick-xml to check its structure, and given to xmllint to
//! check it is well-formed.

mod fixture;
mod xmllint;

use std::collections::BTreeMap;

use quick_xml::events::{BytesStart, Event};
use quick_xml::{Reader, XmlVersion};
use sim_report::junit;

/// What CI readers take from the document.
#[derive(Debug, Default)]
struct Parsed {
    /// Attributes of the root and of each `<testsuite>`.
    root: BTreeMap<String, String>,
    suites: Vec<BTreeMap<String, String>>,
    /// Per suite.
    properties: Vec<BTreeMap<String, String>>,
    cases: Vec<Case>,
}

#[derive(Debug, Default)]
struct Case {
    /// Index of its suite.
    suite: usize,
    name: String,
    classname: String,
    /// (message, type, text) of the failure.
    failure: Option<(String, String, String)>,
    system_out: Option<String>,
    /// The message of `<skipped>`.
    skipped: Option<String>,
}

fn attributes(e: &BytesStart<'_>) -> BTreeMap<String, String> {
    e.attributes()
        .map(|a| {
            let a = a.expect("well-formed attribute");
            (
                a.key.as_ref().to_owned(),
                a.normalized_value(XmlVersion::Explicit1_0)
                    .expect("valid escapes")
                    .into_owned(),
            )
        })
        .collect()
}

fn parse(xml: &str) -> Parsed {
    let mut reader = Reader::from_str(xml);
    reader.config_mut().check_end_names = true;
    let mut parsed = Parsed::default();
    let mut path: Vec<String> = Vec::new();
    let mut text = String::new();
    loop {
        let event = reader.read_event().expect("well-formed XML");
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let name = e.name().as_ref().to_owned();
                let attrs = attributes(e);
                match (path.last().map(String::as_str), name.as_str()) {
                    (None, _) => parsed.root = attrs.clone(),
                    (Some("testsuites"), "testsuite") => {
                        parsed.suites.push(attrs.clone());
                        parsed.properties.push(BTreeMap::new());
                    }
                    (Some("properties"), "property") => {
                        parsed
                            .properties
                            .last_mut()
                            .unwrap()
                            .insert(attrs["name"].clone(), attrs["value"].clone());
                    }
                    (Some("testsuite"), "testcase") => parsed.cases.push(Case {
                        suite: parsed.suites.len() - 1,
                        name: attrs["name"].clone(),
                        classname: attrs["classname"].clone(),
                        ..Case::default()
                    }),
                    (Some("testcase"), "failure") => {
                        parsed.cases.last_mut().unwrap().failure = Some((
                            attrs["message"].clone(),
                            attrs["type"].clone(),
                            String::new(),
                        ))
                    }
                    (Some("testcase"), "skipped") => {
                        parsed.cases.last_mut().unwrap().skipped = Some(attrs["message"].clone())
                    }
                    _ => {}
                }
                text.clear();
                if matches!(event, Event::Start(_)) {
                    path.push(name);
                }
            }
            Event::Text(t) => text.push_str(&t.xml10_content()),
            Event::GeneralRef(r) => {
                let name = r.xml10_content();
                let c = match name.as_ref() {
                    "lt" => "<".to_owned(),
                    "gt" => ">".to_owned(),
                    "amp" => "&".to_owned(),
                    "quot" => "\"".to_owned(),
                    "apos" => "'".to_owned(),
                    other => r
                        .resolve_char_ref()
                        .expect("valid character reference")
                        .unwrap_or_else(|| panic!("unknown entity {other}"))
                        .to_string(),
                };
                text.push_str(&c);
            }
            Event::End(e) => {
                let name = path.pop().expect("balanced");
                assert_eq!(name, e.name().as_ref());
                let case = parsed.cases.last_mut();
                match (name.as_str(), case) {
                    ("failure", Some(case)) => case.failure.as_mut().unwrap().2 = text.clone(),
                    ("system-out", Some(case)) => case.system_out = Some(text.clone()),
                    _ => {}
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    assert!(path.is_empty(), "unclosed elements: {path:?}");
    parsed
}

#[test]
fn one_suite_with_one_case_per_check() {
    let report = fixture::report();
    let parsed = parse(&junit::render(&report));

    assert_eq!(parsed.root["tests"], "4");
    assert_eq!(parsed.root["failures"], "2");
    assert_eq!(parsed.suites.len(), 1);
    let suite = &parsed.suites[0];
    assert_eq!(suite["name"], "sim run sf2095-faults");
    assert_eq!(suite["tests"], "4");
    assert_eq!(suite["failures"], "2");
    assert_eq!(suite["errors"], "0");
    assert_eq!(suite["time"], "120.500");

    for (key, value) in [
        ("seed", "42"),
        ("scenario_hash", "sha256:9f86d081884c7d65"),
        ("git_commit", "e2923b7"),
        ("speed", "60"),
        ("scenario_file", "scenarios/sf2095-faults.yaml"),
    ] {
        assert_eq!(
            parsed.properties[0].get(key).map(String::as_str),
            Some(value),
            "{key}"
        );
    }

    let cases: Vec<(&str, &str, bool)> = parsed
        .cases
        .iter()
        .map(|c| (c.name.as_str(), c.classname.as_str(), c.failure.is_some()))
        .collect();
    assert_eq!(
        cases,
        [
            ("never-misrouted", "safety", false),
            ("backlog-drains", "liveness", true),
            ("sp8-response-time", "sla", false),
            ("max_lost", "expectation", true),
        ]
    );
}

#[test]
fn failures_carry_summary_type_and_every_example() {
    let parsed = parse(&junit::render(&fixture::report()));

    let (message, kind, body) = parsed.cases[1].failure.clone().unwrap();
    assert_eq!(
        message,
        "3 updates still undelivered 10 min after the last fault healed; measured 3 (limit 0)"
    );
    // No rule: the type is the kind.
    assert_eq!(kind, "liveness");
    // Escaped on the way out, the same text on the way in; the forbidden control character
    // became U+FFFD and the line break survived.
    assert!(body.contains("\n  tid <7> & \"quoted\""), "{body}");
    assert!(
        body.contains("\n  tid-8\u{FFFD}with-a-control-char"),
        "{body}"
    );
    assert!(body.contains("\n  tid-9\nsecond line"), "{body}");

    let (_, kind, body) = parsed.cases[3].failure.clone().unwrap();
    assert_eq!(kind, "expectation");
    // All eight examples, not just the first few.
    assert!(body.contains("urn:uuid:0000-8"), "{body}");

    // Passing checks say what was checked.
    assert_eq!(
        parsed.cases[2].system_out.as_deref(),
        Some("p99 transport receipt within the class limit; measured 0.3 (limit 2)")
    );
}

#[test]
fn a_rule_becomes_the_failure_type() {
    let mut report = fixture::report();
    report.checks[0].passed = false;
    let parsed = parse(&junit::render(&report));
    assert_eq!(parsed.cases[0].failure.as_ref().unwrap().1, "SP-4");
    assert_eq!(parsed.suites[0]["failures"], "3");
}

#[test]
fn an_empty_run_is_an_empty_suite() {
    let parsed = parse(&junit::render(&fixture::empty()));
    assert_eq!(parsed.suites[0]["tests"], "0");
    assert_eq!(parsed.suites[0]["time"], "0.000");
    // No commit known: no property rather than an empty one.
    assert!(!parsed.properties[0].contains_key("git_commit"));
    assert!(parsed.cases.is_empty());
}

#[test]
fn xmllint_finds_it_well_formed() {
    for report in [fixture::report(), fixture::empty(), fixture::with_seat()] {
        let out = xmllint::xmllint(&["--noout"], &junit::render(&report));
        assert!(
            out.status.success(),
            "xmllint: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            out.stderr.is_empty(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn a_seat_is_a_suite_with_one_case_per_rule() {
    let parsed = parse(&junit::render(&fixture::with_seat()));

    // The root counts the cases of both suites.
    assert_eq!(parsed.root["tests"], "7");
    assert_eq!(parsed.root["failures"], "3");
    assert_eq!(parsed.suites.len(), 2);
    assert_eq!(parsed.suites[0]["tests"], "4");
    let seat = &parsed.suites[1];
    assert_eq!(seat["name"], "conformance:kmd-jc");
    assert_eq!(seat["tests"], "3");
    assert_eq!(seat["failures"], "1");
    assert_eq!(seat["skipped"], "1");
    assert_eq!(seat["errors"], "0");
    for (key, value) in [
        ("seat", "kmd-jc"),
        ("party", "jobcenter"),
        ("url", "https://jc.vendor.example/ws?a=1&b=2"),
        ("coverage", "2/3"),
    ] {
        assert_eq!(parsed.properties[1][key], value, "{key}");
    }

    let rules: Vec<(&str, &str, &str)> = parsed
        .cases
        .iter()
        .filter(|c| c.suite == 1)
        .map(|c| {
            let status = match (&c.failure, &c.skipped) {
                (Some(_), None) => "failure",
                (None, Some(_)) => "skipped",
                (None, None) => "passed",
                (Some(_), Some(_)) => "both",
            };
            (c.name.as_str(), c.classname.as_str(), status)
        })
        .collect();
    assert_eq!(
        rules,
        [
            (
                "JC-2 receipts are answered with a transport receipt",
                "conformance.kmd-jc",
                "passed"
            ),
            (
                "WIRE-2 a valid delivery is answered with HTTP 200",
                "conformance.kmd-jc",
                "failure"
            ),
            (
                "KSD-7 a repeated TransaktionIdentifikator is answered as before",
                "conformance.kmd-jc",
                "skipped"
            ),
        ]
    );
    let cases: Vec<&Case> = parsed.cases.iter().filter(|c| c.suite == 1).collect();
    assert_eq!(
        cases[0].system_out.as_deref(),
        Some("40 receipts delivered, all as the rule demands")
    );
    assert_eq!(
        cases[2].skipped.as_deref(),
        Some("the scenario injected no duplicate_update fault")
    );
}

#[test]
fn a_broken_rule_carries_every_counterexample_with_its_raw_exchange() {
    let parsed = parse(&junit::render(&fixture::with_seat()));
    let case = parsed
        .cases
        .iter()
        .find(|c| c.name.starts_with("WIRE-2"))
        .unwrap();
    let (message, kind, body) = case.failure.clone().unwrap();
    assert_eq!(message, "5 of 40 deliveries answered broke it");
    assert_eq!(kind, "WIRE-2");
    assert!(
        body.starts_with("5 of 40 deliveries answered broke it\n\n"),
        "{body}"
    );
    assert!(
        body.contains(
            "counterexample 1: tid=T-<1> call=urn:uuid:c-1 — answered HTTP 500 to a valid delivery"
        ),
        "{body}"
    );
    // The raw messages come back as they were, except the control character XML forbids
    // (U+0007), which became U+FFFD; the CDATA end and the markup were escaped, not cut.
    let request = fixture::RAW_REQUEST.replace('\u{7}', "\u{FFFD}");
    assert!(
        body.contains(&format!("--- request ---\n{request}")),
        "{body}"
    );
    assert!(
        body.contains(&format!("--- response ---\n{}", fixture::RAW_RESPONSE)),
        "{body}"
    );
    // Every counterexample kept, not just the first few.
    assert!(
        body.contains("counterexample 5: call=urn:uuid:c-5 — answered HTTP 500"),
        "{body}"
    );
}

#[test]
fn a_run_without_seats_has_one_suite() {
    let parsed = parse(&junit::render(&fixture::report()));
    assert_eq!(parsed.suites.len(), 1);
    assert!(parsed.cases.iter().all(|c| c.skipped.is_none()));
}
