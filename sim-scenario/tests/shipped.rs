//! Every shipped scenario parses, expands to YAML that parses back to the same scenario, and
//! has the shape its comments promise.

use sim_scenario::{parse, FaultKind, FaultPlan, Scenario, Selection, Speed, Target, Volume};

const SHIPPED: [(&str, &str); 6] = [
    ("smoke", include_str!("../../scenarios/smoke.yaml")),
    ("kill-each", include_str!("../../scenarios/kill-each.yaml")),
    (
        "chaos-compose",
        include_str!("../../scenarios/chaos-compose.yaml"),
    ),
    ("month", include_str!("../../scenarios/month.yaml")),
    ("chaos", include_str!("../../scenarios/chaos.yaml")),
    (
        "vendor-pretest",
        include_str!("../../scenarios/vendor-pretest.yaml"),
    ),
];

fn load(name: &str) -> Scenario {
    let (_, text) = SHIPPED.iter().find(|(n, _)| *n == name).expect("shipped");
    parse(text).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn every_shipped_scenario_parses_and_round_trips() {
    for (name, text) in SHIPPED {
        let s = parse(text).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(s.name, name);
        let yaml = s.to_yaml();
        let back = parse(&yaml).unwrap_or_else(|e| panic!("{name} expanded: {e}\n{yaml}"));
        assert_eq!(
            back, s,
            "{name}: expanded YAML parses to the same scenario\n{yaml}"
        );
        assert_eq!(back.to_yaml(), yaml, "{name}: expansion is a fixed point");
    }
}

#[test]
fn smoke_is_short_fast_and_fault_free() {
    let s = load("smoke");
    assert_eq!(s.clock.speed, Speed::Max);
    assert!(s.clock.duration <= time::Duration::hours(1));
    assert!(matches!(s.volume, Volume::Total(n) if (100..=1000).contains(&n)));
    assert!(s.faults.is_empty());
    assert_eq!(s.expectations.max_lost, 0);
    assert_eq!(s.expectations.max_sla_violations, Some(0));
}

#[test]
fn month_is_thirty_days_at_the_ksd13_volume() {
    let s = load("month");
    assert_eq!(s.clock.duration, time::Duration::days(30));
    assert_eq!(s.volume, Volume::PerMonth(200_000));
    assert_eq!(s.municipalities, Selection::All);
}

#[test]
fn chaos_has_every_fault_kind_and_crashes_each_program() {
    let s = load("chaos");
    // Every kind one process can make: pause and partition need processes or containers
    // (kill-each.yaml and chaos-compose.yaml have them).
    for kind in FaultKind::ALL
        .into_iter()
        .filter(|k| !matches!(k, FaultKind::Pause | FaultKind::Partition))
    {
        assert!(
            s.faults.iter().any(|f| f.kind == kind),
            "chaos lacks {kind}"
        );
    }
    let plan = FaultPlan::new(&s);
    let crashed: Vec<Target> = plan.crashes().into_iter().map(|c| c.target).collect();
    assert_eq!(
        crashed,
        [Target::Sp, Target::Ksd, Target::Jobcenter, Target::Star]
    );
    // Faults stop before the run ends, leaving time to judge liveness.
    let end = plan.faults_end().expect("faults");
    assert!(end < s.clock.end());
    assert!(s.expectations.liveness_deadline.is_some());
    // SP-9: the weekly window falls inside the run.
    assert!(!plan.windows(FaultKind::ServiceWindow).is_empty());
}

#[test]
fn the_scenarios_across_processes_take_a_factor_and_real_outages() {
    for name in ["kill-each", "chaos-compose"] {
        let s = load(name);
        assert!(
            matches!(s.clock.speed, Speed::Factor(_)),
            "{name}: no max across processes"
        );
        let kinds: Vec<FaultKind> = FaultPlan::new(&s)
            .crashes()
            .iter()
            .map(|c| c.kind)
            .collect();
        assert!(kinds.contains(&FaultKind::Pause), "{name}: {kinds:?}");
    }
    let plan = FaultPlan::new(&load("kill-each"));
    let crashed: Vec<Target> = plan
        .crashes()
        .into_iter()
        .filter(|c| c.kind == FaultKind::Crash)
        .map(|c| c.target)
        .collect();
    assert_eq!(
        crashed,
        [Target::Jobcenter, Target::Ksd, Target::Sp, Target::Star]
    );
    assert!(FaultPlan::new(&load("chaos-compose"))
        .crashes()
        .iter()
        .any(|c| c.kind == FaultKind::Partition));
}

#[test]
fn vendor_pretest_names_one_seat_and_its_municipalities() {
    let s = load("vendor-pretest");
    assert_eq!(s.vendors, Selection::Only(vec!["kmd-jc".to_string()]));
    assert!(matches!(s.municipalities, Selection::Only(ref v) if v.len() == 2));
    assert_eq!(s.clock.speed, Speed::Factor(1.0));
}
