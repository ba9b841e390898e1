//! The console summary, as a person reads it at the end of `sim run`.

mod fixture;

use expect_test::expect;
use sim_report::console;

#[test]
fn summary_of_a_failing_run() {
    let summary = console::summary(&fixture::report());
    expect![[r#"
        sim run: sf2095-faults (scenarios/sf2095-faults.yaml)
          seed 42  scenario hash sha256:9f86d081884c7d65  commit e2923b7  speed 60
          virtual 2025-03-03T08:00:00+01:00 .. 2025-03-03T10:00:00+01:00 (2h 00m) in 2m 01s wall
        totals: arrivals 2900, sent 2892, accepted 2750, rejected 12, undelivered 3, receipts 2600, faults 14
        cases created in KSD (intake, KSD-9): 40
        flow SF2090: 84 calls to the platform (40 messages), platform response p50 120 ms, p99 900 ms (virtual)
        rate: 24.0 exchanges/s (updates sent per wall second)
        latency (n=2600): p50 180 ms  p90 420 ms  p99 1.25 s  max 4.01 s
        memory: peak 48 MiB  sim-sp
        checks: 2 passed, 2 failed
          PASS safety      never-misrouted [SP-4]    2600 business receipts, each to the vendor serving its municipality
          FAIL liveness    backlog-drains            3 updates still undelivered 10 min after the last fault healed; measured 3 (limit 0)
               e.g. tid <7> & "quoted", tid-8\u{1}with-a-control-char, tid-9\nsecond line
          PASS sla         sp8-response-time [SP-8]  p99 transport receipt within the class limit; measured 0.3 (limit 2)
          FAIL expectation max_lost                  8 updates lost, expected at most 0; measured 8 (limit 0)
               e.g. urn:uuid:0000-1, urn:uuid:0000-2, urn:uuid:0000-3, urn:uuid:0000-4, urn:uuid:0000-5 (+3 more)
        verdict: FAIL (2 of 4 checks failed)
    "#]]
    .assert_eq(&summary);
}

#[test]
fn summary_of_an_empty_run_says_nothing_was_judged() {
    let summary = console::summary(&fixture::empty());
    assert!(
        summary.contains("latency: no round trips completed"),
        "{summary}"
    );
    assert!(summary.contains("rate: n/a"), "{summary}");
    assert_eq!(
        summary.lines().last(),
        Some("verdict: PASS (no checks ran: nothing was judged)")
    );
}

#[test]
fn a_seat_is_graded_rule_by_rule_before_the_verdict() {
    let summary = console::summary(&fixture::with_seat());
    let from_conformance = &summary[summary.find("conformance:").expect("a seat block")..];
    expect![[r#"
        conformance: kmd-jc (jobcenter) at https://jc.vendor.example/ws?a=1&b=2 — coverage 2/3 rules exercised
          PASS           JC-2    receipts are answered with a transport receipt: 40 receipts delivered, all as the rule demands
          FAIL           WIRE-2  a valid delivery is answered with HTTP 200: 5 of 40 deliveries answered broke it
                         tid=T-<1> call=urn:uuid:c-1 — answered HTTP 500 to a valid delivery
                         call=urn:uuid:c-2 — answered HTTP 500 to a valid delivery
                         call=urn:uuid:c-3 — answered HTTP 500 to a valid delivery
                         … 2 more; the raw exchanges are in the JSON and HTML reports
          NOT EXERCISED  KSD-7   a repeated TransaktionIdentifikator is answered as before: the scenario injected no duplicate_update fault
        verdict: FAIL (2 of 4 checks failed; 1 of 2 exercised conformance rules failed, at kmd-jc)
    "#]]
    .assert_eq(from_conformance);
}

#[test]
fn a_broken_rule_fails_the_run_even_when_every_check_held() {
    let summary = console::summary(&fixture::only_the_seat_fails());
    assert!(summary.contains("checks: 4 passed, 0 failed"), "{summary}");
    assert_eq!(
        summary.lines().last(),
        Some("verdict: FAIL (all 4 checks held; 1 of 2 exercised conformance rules failed, at kmd-jc)")
    );
}

#[test]
fn a_seat_that_kept_every_rule_passes_and_says_how_much_was_exercised() {
    let mut report = fixture::only_the_seat_fails();
    report.conformance[0].rules.remove(1);
    let summary = console::summary(&report);
    assert!(
        summary.contains("conformance: kmd-jc (jobcenter) at https://jc.vendor.example/ws?a=1&b=2 — coverage 1/2 rules exercised"),
        "{summary}"
    );
    assert_eq!(
        summary.lines().last(),
        Some("verdict: PASS (all 4 checks held; no seat broke a rule, 1 of 2 rules exercised)")
    );
}

#[test]
fn ky_messages_get_their_line_with_refusals_by_rule_ky1() {
    let mut r = fixture::report();
    r.totals.ky = sim_report::KyTotals {
        sent: 160,
        conversations: 21,
        accepted: 157,
        refused: 2,
        refused_by_rule: [("KY-6".to_string(), 2)].into_iter().collect(),
        unanswered: 1,
        p50_ms: 12,
        p99_ms: 80,
    };
    let summary = console::summary(&r);
    assert!(
        summary.contains(
            "KY messages (SF1690, KY-1): 160 sent in 21 contact courses: 157 accepted, 2 refused (KY-6 2), 1 unanswered; round trip p50 12 ms, p99 80 ms (real)\n"
        ),
        "{summary}"
    );
    assert!(!console::summary(&fixture::report()).contains("KY messages"));
}
