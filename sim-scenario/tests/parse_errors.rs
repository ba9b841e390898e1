//! Every refusal names the line and column of the offending node: YAML syntax, unknown
//! fields, and values that parse as YAML but make no sense.

use sim_scenario::parse;

/// Parses `text`, expects an error at `line:column` whose message contains `needle`.
#[track_caller]
fn check(text: &str, line: u64, column: u64, needle: &str) {
    let e = parse(text).expect_err("should be refused");
    assert_eq!(
        (e.line, e.column),
        (line, column),
        "position of: {e}\n--- text ---\n{text}"
    );
    assert!(
        e.message.contains(needle),
        "message '{}' should contain '{needle}'",
        e.message
    );
    assert!(
        !e.message.contains("at line"),
        "position only in the fields: {}",
        e.message
    );
}

#[test]
fn bad_yaml_syntax() {
    check("name: \"x\n", 1, 7, "unclosed quote");
    check("name: x\nclock: {start: a\n", 2, 8, "unclosed bracket");
    check("faults:\n  - kind: a\n   - b\n", 3, 4, "");
    check("name: x\nname: y\n", 2, 1, "duplicate");
}

#[test]
fn unknown_fields_are_errors_not_ignored() {
    check("name: x\nsede: 1\n", 2, 1, "unknown field `sede`");
    check(
        "clock:\n  start: 2026-03-02T00:00:00+01:00\n  durration: 2h\n",
        3,
        3,
        "durration",
    );
    check(
        "faults:\n  - kind: timeout\n    target: ksd\n    probabilty: 0.1\n",
        4,
        5,
        "probabilty",
    );
    check("expectations:\n  max_lots: 0\n", 2, 3, "max_lots");
}

#[test]
fn wrong_types() {
    check("seed: -1\n", 1, 7, "u64");
    check("seed: many\n", 1, 7, "");
}

#[test]
fn unknown_fault_kind() {
    check(
        "faults:\n  - kind: slow_ksd\n    delay: 1s\n  - kind: meteor_strike\n",
        4,
        11,
        "unknown fault kind `meteor_strike`",
    );
}

#[test]
fn bad_municipality_cvr() {
    // Seven digits: neither CVR nor kommunekode.
    check(
        "municipalities:\n  - 101\n  - \"2918984\"\n",
        3,
        5,
        "not a municipality",
    );
    // Eight digits failing the modulus-11 check.
    check(
        "municipalities: [64942212, 64942213]\n",
        1,
        28,
        "modulus-11",
    );
    // A valid CVR that is no municipality (KOMBIT's).
    check("municipalities: [19435075]\n", 1, 18, "not one of the 98");
    check("municipalities: [999]\n", 1, 18, "not a kommunekode");
    check("municipalities: [101, 64942212]\n", 1, 23, "listed twice");
    check("municipalities: some\n", 1, 17, "`all` or a list");
}

#[test]
fn bad_durations() {
    check("clock:\n  duration: 30\n", 2, 13, "not a duration");
    check("clock:\n  duration: 2 hours\n", 2, 13, "not a duration");
    check("clock:\n  duration: 0s\n", 2, 13, "longer than 0s");
    check(
        "expectations:\n  p99_roundtrip: fast\n",
        2,
        18,
        "not a duration",
    );
    check("receipt_delay: soon\n", 1, 16, "not a duration");
}

#[test]
fn bad_clock_values() {
    check("clock:\n  start: 2026-03-02T00:00:00\n", 2, 10, "RFC 3339");
    check("clock:\n  speed: warp\n", 2, 10, "not a speed");
    check("clock:\n  speed: 0\n", 2, 10, "not a speed");
}

#[test]
fn fault_fields_must_fit_the_kind() {
    check(
        "faults:\n  - kind: crash\n    target: sp\n    at: +1m\n    downtime: 10s\n    probability: 0.5\n",
        6,
        18,
        "`probability` does not apply to fault kind `crash`",
    );
    check("faults:\n  - kind: slow_ksd\n", 2, 11, "needs a `delay`");
    check("faults:\n  - kind: timeout\n", 2, 11, "needs a `target`");
    check(
        "faults:\n  - kind: slow_platform\n    target: ksd\n    delay: 1s\n",
        3,
        13,
        "cannot target 'ksd'",
    );
    check(
        "vendors: [kmd-jc]\nfaults:\n  - kind: slow_vendor\n    target: schultz-jc\n    delay: 1s\n",
        4,
        13,
        "not among the scenario's vendors",
    );
    check(
        "faults:\n  - kind: soap_fault\n    target: sp\n    probability: 1.5\n",
        4,
        18,
        "between 0 and 1",
    );
    check(
        "faults:\n  - kind: soap_fault\n    target: sp\n    window: {from: +2h, to: +1h}\n",
        4,
        29,
        "after `from`",
    );
    check(
        "faults:\n  - kind: forbidden_code\n    codes: [10, 24]\n",
        3,
        17,
        "KSD-5",
    );
    check(
        "faults:\n  - kind: slow_ksd\n    delay: {distribution: gamma, mean: 1s}\n",
        3,
        27,
        "unknown distribution",
    );
    check(
        "faults:\n  - kind: slow_ksd\n    delay: {distribution: fixed, value: 1s, p99: 2s}\n",
        3,
        50,
        "`p99` does not apply",
    );
    check(
        "faults:\n  - kind: service_window\n    weekly: {weekday: someday}\n",
        3,
        23,
        "not a weekday",
    );
    check(
        "faults:\n  - kind: service_window\n    monthly: {from: \"3am\"}\n",
        3,
        21,
        "time of day",
    );
    check(
        "faults:\n  - kind: soap_fault\n    name: a\n    target: sp\n  - kind: timeout\n    name: a\n    target: ksd\n",
        6,
        11,
        "two faults are named 'a'",
    );
}

#[test]
fn bad_profile_and_volume() {
    check("profile:\n  hourly: [1, 2, 3]\n", 2, 11, "24 weights");
    check("profile:\n  weekend_factor: -1\n", 2, 19, "≥ 0");
    check("volume: {per_month: 10, total: 5}\n", 1, 32, "not both");
}

#[test]
fn no_panic_on_odd_input() {
    for text in [
        "[]",
        "42",
        "~",
        "---\n---\n",
        "\u{0}",
        "faults: 3",
        "municipalities: [[1]]",
        "clock: {start: 9999-12-31T23:59:59Z, duration: 3650d}",
        "a: &x [*x]",
        "faults: [{}]",
        "receipt_delay: {distribution: lognormal, median: 2s, p99: 1s}",
    ] {
        let _ = parse(text);
    }
}

// rules KSD-10, KSD-11: `vendor_policies:` is checked as the jobcenter checks its policy —
// each value where it stands, the layered policy of an entry as a whole at the entry.
#[test]
fn vendor_policies_are_checked_where_they_stand() {
    check(
        "vendor_policies:\n  all:\n    sf2090: {never_acknowledged: 1.5}\n",
        3,
        34,
        "vendor_policies.all.sf2090.never_acknowledged must be a share between 0 and 1",
    );
    check(
        "vendor_policies:\n  kmd-jc:\n    sf2093: {rejected: -1}\n",
        3,
        24,
        "vendor_policies.kmd-jc.sf2093.rejected must be a finite weight of at least 0",
    );
    check(
        "vendor_policies:\n  kmd-jc:\n    sf2093: {late_share: 2}\n",
        3,
        26,
        "sf2093.late_share must be a share between 0 and 1",
    );
    check(
        "vendor_policies:\n  kmd-jc:\n    sf2093: {extension_weeks: 0}\n",
        3,
        31,
        "extension_weeks must be 1 to 104 weeks",
    );
    check(
        "vendor_policies:\n  kmd-jc:\n    sf2093: {answer_delay_min: 5}\n",
        3,
        32,
        "not a duration",
    );
    // The shortest delay above the default longest (3 days): named at the field given.
    check(
        "vendor_policies:\n  kmd-jc:\n    sf2093:\n      answer_delay_min: 4d\n",
        4,
        25,
        "vendor_policies.kmd-jc.sf2093: answer_delay_min (4d) is above answer_delay_max (3d)",
    );
    // No answer left to draw: named at the entry's sf2093.
    check(
        "vendor_policies:\n  all:\n    sf2093: {time_limited: 0, unlimited: 0, rejected: 0, never_answered: 0}\n",
        3,
        13,
        "vendor_policies.all.sf2093: at least one of time_limited",
    );
    // An instance's entry is laid over `all`: together they leave nothing to draw.
    check(
        "vendor_policies:\n  all:\n    sf2093: {time_limited: 0, unlimited: 0, rejected: 0}\n  netcompany-jc:\n    sf2093: {never_answered: 0}\n",
        5,
        13,
        "vendor_policies.netcompany-jc.sf2093: at least one",
    );
    check(
        "vendor_policies:\n  kmd-jc:\n    sf2093: {lat_share: 0.1}\n",
        3,
        14,
        "unknown field `lat_share`",
    );
    check(
        "vendor_policies:\n  kmd-jc:\n    sf2094: {}\n",
        3,
        5,
        "unknown field `sf2094`",
    );
    check(
        "vendors: [kmd-jc]\nvendor_policies:\n  schultz-jc: {}\n",
        3,
        15,
        "vendor 'schultz-jc' is not among the scenario's vendors",
    );
    check(
        "vendor_policies:\n  ksd: {}\n",
        2,
        8,
        "'ksd' is a program, not a vendor instance",
    );
    check(
        "vendor_policies:\n  KMD: {}\n",
        2,
        8,
        "'KMD' is neither `all` nor a vendor instance name",
    );
}

// rules KSD-10, KSD-11: the vendor-side fault kinds take a window, a probability and a
// jobcenter target, nothing else.
#[test]
fn vendor_fault_kinds_take_a_jobcenter_target_and_no_parameters() {
    check(
        "faults:\n  - kind: late_extension_answer\n    delay: 3d\n",
        3,
        12,
        "`delay` does not apply to fault kind `late_extension_answer` (it takes probability, window, target)",
    );
    check(
        "faults:\n  - kind: event_ack_twice\n    target: ksd\n",
        3,
        13,
        "fault kind `event_ack_twice` cannot target 'ksd' (it targets jobcenter, a vendor instance)",
    );
    check(
        "faults:\n  - kind: unacknowledged_event\n    target: sp\n",
        3,
        13,
        "cannot target 'sp'",
    );
    check(
        "vendors: [kmd-jc]\nfaults:\n  - kind: unacknowledged_event\n    target: schultz-jc\n",
        4,
        13,
        "not among the scenario's vendors",
    );
}

// rule KSD-9: the newest first day a case may have is not above the oldest.
#[test]
fn case_ages_must_be_a_range() {
    check(
        "cases: {total: 5, min_age_weeks: 22, max_age_weeks: 21}\n",
        1,
        34,
        "min_age_weeks (22) is above max_age_weeks (21)",
    );
    check(
        "cases: {total: 5, min_age_weeks: 30}\n",
        1,
        34,
        "min_age_weeks (30) is above max_age_weeks (21)",
    );
}

/// `ky:` (SF1690) is checked like `lookups:`: a rate, given once, and a share in [0, 1].
#[test]
fn ky_needs_one_rate_and_a_share_in_range() {
    check(
        "ky: {allowance_share: 0.2}\n",
        1,
        5,
        "ky: give per_month or total",
    );
    check(
        "ky: {per_month: 10, total: 5}\n",
        1,
        28,
        "either per_month or total",
    );
    check(
        "ky:\n  total: 5\n  allowance_share: 1.5\n",
        3,
        20,
        "between 0 and 1",
    );
    check("ky: {total: 5, share: 1}\n", 1, 16, "unknown field `share`");
}

/// `star:` (SF1612): one rate at most, a positive job period (SP-10), a share in [0, 1], a
/// known delivery (BF-2).
#[test]
fn star_is_checked_field_by_field() {
    check(
        "star: {per_month: 10, total: 5}\n",
        1,
        30,
        "either per_month or total",
    );
    check("star: {job_every: 0s}\n", 1, 19, "job_every must be longer");
    check("star: {known_share: 2}\n", 1, 21, "between 0 and 1");
    check("star: {population: 0}\n", 1, 20, "at least 1");
    check("star: {delivery: mail}\n", 1, 18, "`pull` or `push`");
}
