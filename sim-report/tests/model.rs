//! The model's verdicts: a seat that broke a rule fails the run; not exercising a rule does not.

mod fixture;

use sim_report::*;

#[test]
fn a_broken_rule_fails_the_seat_and_the_run() {
    let report = fixture::only_the_seat_fails();
    assert!(report.failed_checks().next().is_none());
    assert!(!report.conformance[0].passed());
    assert!(!report.passed());
    let failed: Vec<(&str, &str)> = report
        .failed_rules()
        .map(|(seat, rule)| (seat.seat.as_str(), rule.rule.as_str()))
        .collect();
    assert_eq!(failed, [("kmd-jc", "WIRE-2")]);
}

#[test]
fn a_rule_not_exercised_neither_fails_nor_counts_as_covered() {
    let mut report = fixture::only_the_seat_fails();
    report.conformance[0].rules[1].status = RuleStatus::NotExercised;
    assert!(report.conformance[0].passed());
    assert!(report.passed());
    assert_eq!(report.conformance[0].coverage(), (1, 3));
    assert_eq!(report.failed_rules().count(), 0);
}

#[test]
fn coverage_adds_up_over_seats() {
    let mut report = fixture::with_seat();
    assert_eq!(report.conformance_coverage(), (2, 3));
    let mut ksd = report.conformance[0].clone();
    ksd.seat = "ksd".into();
    ksd.rules.truncate(1);
    report.conformance.push(ksd);
    assert_eq!(report.conformance_coverage(), (3, 4));
    assert_eq!(fixture::report().conformance_coverage(), (0, 0));
}

#[test]
fn labels() {
    assert_eq!(RuleStatus::Pass.label(), "PASS");
    assert_eq!(RuleStatus::Fail.label(), "FAIL");
    assert_eq!(RuleStatus::NotExercised.label(), "NOT EXERCISED");
}

#[test]
fn raw_messages_are_cut_on_a_character_boundary() {
    let short = "<a/>";
    assert_eq!(truncate_raw(short), short);
    // 4095 ASCII bytes, then 'ø' (2 bytes) straddling the 4 KiB mark.
    let long = format!("{}ø{}", "x".repeat(4095), "y".repeat(100));
    let cut = truncate_raw(&long);
    assert!(cut.starts_with(&"x".repeat(4095)), "{cut}");
    assert!(cut.ends_with("… (102 bytes more)"), "{cut}");
}
