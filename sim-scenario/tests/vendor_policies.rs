//! `vendor_policies:` (how the simulated vendors answer KSD's events and extension requests,
//! KSD-10, KSD-11), the vendor-side fault kinds, and `cases.min_age_weeks` (KSD-9): what a
//! scenario says, what it means when it says little, and that its expansion says the same.

use sim_scenario::{
    parse, CaseData, ExtensionPolicy, FaultKind, FaultPlan, Target, VendorPolicies, VendorPolicy,
};
use time::macros::{date, datetime};
use time::Duration;

#[test]
fn without_the_section_every_vendor_has_the_default_policy() {
    let s = parse("name: x\n").unwrap();
    assert_eq!(s.vendor_policies, VendorPolicies::default());
    let p = s.vendor_policies.of("kmd-jc");
    assert_eq!(*p, VendorPolicy::default());
    assert_eq!(p.sf2090.never_acknowledged, 0.0);
    let e = &p.sf2093;
    assert_eq!(
        (e.time_limited, e.unlimited, e.rejected, e.never_answered),
        (0.60, 0.25, 0.10, 0.05)
    );
    assert_eq!(e.extension_weeks, 8);
    assert_eq!(
        (e.answer_delay_min, e.answer_delay_max),
        (Duration::hours(1), Duration::hours(72))
    );
    assert_eq!(e.late_share, 0.0);
}

// rules KSD-10, KSD-11: the defaults, then `all:`, then the instance's own entry, field by
// field; an instance without an entry follows `all:`.
#[test]
fn entries_are_laid_over_all_and_all_over_the_defaults() {
    let s = parse(
        "vendor_policies:
  all:
    sf2090: {never_acknowledged: 0.1}
    sf2093: {late_share: 0.2, answer_delay_max: 1d}
  netcompany-jc:
    sf2093: {time_limited: 0, unlimited: 1, answer_delay_min: 30m, extension_weeks: 4}
",
    )
    .unwrap();
    let all = s.vendor_policies.of("kmd-jc");
    assert_eq!(all, &s.vendor_policies.all);
    assert_eq!(all.sf2090.never_acknowledged, 0.1);
    assert_eq!(all.sf2093.late_share, 0.2);
    assert_eq!(all.sf2093.answer_delay_max, Duration::days(1));
    assert_eq!(
        all.sf2093.time_limited, 0.60,
        "a default where `all` is silent"
    );
    let n = s.vendor_policies.of("netcompany-jc");
    assert_eq!(n.sf2090.never_acknowledged, 0.1, "from all");
    assert_eq!(
        n.sf2093,
        ExtensionPolicy {
            time_limited: 0.0,
            unlimited: 1.0,
            rejected: 0.10,
            never_answered: 0.05,
            extension_weeks: 4,
            answer_delay_min: Duration::minutes(30),
            answer_delay_max: Duration::days(1),
            late_share: 0.2,
        }
    );
}

#[test]
fn the_expansion_names_every_policy_and_parses_back_to_the_same() {
    let s = parse(
        "vendors: [kmd-jc, schultz-jc]
vendor_policies:
  schultz-jc: {sf2093: {rejected: 1, answer_delay_min: 90m, answer_delay_max: 2h}}
faults:
  - kind: late_extension_answer
    target: schultz-jc
    window: {to: +30m}
  - kind: event_ack_twice
    probability: 0.25
  - kind: unacknowledged_event
    target: kmd-jc
cases: {total: 10, min_age_weeks: 19}
",
    )
    .unwrap();
    let yaml = s.to_yaml();
    assert!(yaml.contains("vendor_policies:\n  all: {sf2090: {never_acknowledged: 0.0}, sf2093: {time_limited: 0.6,"), "{yaml}");
    assert!(
        yaml.contains("\"schultz-jc\": {sf2090: {never_acknowledged: 0.0}, sf2093: {time_limited: 0.6, unlimited: 0.25, rejected: 1.0, never_answered: 0.05, extension_weeks: 8, answer_delay_min: 1h30m, answer_delay_max: 2h, late_share: 0.0}}"),
        "{yaml}"
    );
    assert!(
        yaml.contains("min_age_weeks: 19, max_age_weeks: 21"),
        "{yaml}"
    );
    assert!(
        yaml.contains("kind: event_ack_twice\n    target: \"jobcenter\""),
        "{yaml}"
    );
    let back = parse(&yaml).unwrap_or_else(|e| panic!("{e}\n{yaml}"));
    assert_eq!(back, s);
    assert_eq!(back.to_yaml(), yaml);
}

// rules KSD-10, KSD-11: the vendor-side kinds hit the instance they target (any instance
// for `jobcenter`), inside their window, per message.
#[test]
fn vendor_fault_kinds_are_planned_per_instance_and_window() {
    let s = parse(
        "seed: 3
clock: {start: 2026-03-03T09:00:00+01:00, duration: 2h}
faults:
  - kind: late_extension_answer
    target: netcompany-jc
    window: {from: +10m, to: +20m}
  - kind: unacknowledged_event
    probability: 0.5
",
    )
    .unwrap();
    let p = FaultPlan::new(&s);
    let netcompany = Target::Vendor("netcompany-jc".into());
    let kmd = Target::Vendor("kmd-jc".into());
    let inside = datetime!(2026-03-03 09:15 +01:00);
    let after = datetime!(2026-03-03 09:20 +01:00);
    let late = FaultKind::LateExtensionAnswer;
    assert!(p.decide(late, &netcompany, inside, 1).is_some());
    assert!(p.decide(late, &kmd, inside, 1).is_none(), "another vendor");
    assert!(
        p.decide(late, &netcompany, after, 1).is_none(),
        "[from, to)"
    );
    let withheld = (0..1000)
        .filter(|seq| {
            p.decide(FaultKind::UnacknowledgedEvent, &kmd, inside, *seq)
                .is_some()
        })
        .count();
    assert!((400..=600).contains(&withheld), "{withheld} of 1000 at 0.5");
    assert_eq!(
        p.decide(FaultKind::UnacknowledgedEvent, &kmd, inside, 7)
            .is_some(),
        p.decide(FaultKind::UnacknowledgedEvent, &kmd, after, 7)
            .is_some(),
        "the same message meets the same fate while the rule is active"
    );
}

// rule KSD-9: `min_age_weeks` keeps the newest first days out; without it the draw is the one
// every existing scenario made.
#[test]
fn case_first_days_fall_between_min_and_max_age() {
    let today = date!(2026 - 03 - 03);
    let with = parse("cases: {total: 10, min_age_weeks: 20, max_age_weeks: 21}\n")
        .unwrap()
        .cases
        .unwrap();
    let without = parse("cases: {total: 10, max_age_weeks: 21}\n")
        .unwrap()
        .cases
        .unwrap();
    assert_eq!(without.min_age_weeks, 0);
    for seq in 0..500 {
        let d = CaseData::for_seq(9, seq, today, &with)
            .foerste_fravaersdag
            .0;
        assert!(
            d <= today - Duration::weeks(20) && d >= today - Duration::weeks(21),
            "{d}"
        );
        let zero = sim_scenario::CaseIntake {
            min_age_weeks: 0,
            ..with
        };
        assert_eq!(
            CaseData::for_seq(9, seq, today, &zero),
            CaseData::for_seq(9, seq, today, &without),
            "min_age_weeks 0 draws as before"
        );
    }
}
