//! The JSON form round-trips exactly: a saved run re-renders to the same pages.

mod fixture;

use sim_report::json;

#[test]
fn round_trip_is_exact() {
    for report in [fixture::report(), fixture::empty(), fixture::with_seat()] {
        let text = json::render(&report);
        let back = json::parse(&text).expect("our own JSON parses");
        assert_eq!(back, report);
        // And rendering again gives the same bytes.
        assert_eq!(json::render(&back), text);
    }
}

#[test]
fn floats_that_are_hard_to_print_survive() {
    let mut report = fixture::report();
    let awkward = [
        0.1 + 0.2,
        1.0 / 3.0,
        f64::MIN_POSITIVE,
        5e-324,
        1.7976931348623157e308,
        123_456_789.123_456_78,
    ];
    report.latency.buckets = awkward.iter().map(|&x| (x, 1)).collect();
    report.wall_seconds = 2.0_f64.sqrt();
    let back = json::parse(&json::render(&report)).unwrap();
    for (got, want) in back.latency.buckets.iter().zip(awkward) {
        assert_eq!(got.0.to_bits(), want.to_bits(), "{want:e}");
    }
    assert_eq!(back, report);
}

#[test]
fn many_pseudo_random_floats_survive_bit_for_bit() {
    // xorshift64: deterministic, so a failure names the same values every time.
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut report = fixture::empty();
    // Half arbitrary bit patterns (any exponent), half decimal-looking ratios.
    for _ in 0..5000 {
        let bits = f64::from_bits(next());
        if bits.is_finite() {
            report.latency.buckets.push((bits, 1));
        }
        let ratio = (next() % 1_000_000_007) as f64 / 997.0;
        report.latency.buckets.push((ratio, 2));
    }
    let back = json::parse(&json::render(&report)).unwrap();
    for (got, want) in back.latency.buckets.iter().zip(&report.latency.buckets) {
        assert_eq!(got.0.to_bits(), want.0.to_bits(), "{:e}", want.0);
    }
}

#[test]
fn is_pretty_with_the_model_field_names() {
    let text = json::render(&fixture::report());
    assert!(text.starts_with("{\n  \"scenario\": {\n"), "{text}");
    assert!(text.ends_with("}\n"));
    for field in [
        "\"seed\": 42",
        "\"git_commit\": \"e2923b7\"",
        "\"virtual_start\": \"2025-03-03T08:00:00+01:00\"",
        "\"kind\": \"liveness\"",
        "\"end\": null",
    ] {
        assert!(text.contains(field), "{field} missing");
    }
}

#[test]
fn non_finite_measurements_read_back_as_absent() {
    let mut report = fixture::report();
    report.checks[0].measured = Some(f64::NAN);
    let back = json::parse(&json::render(&report)).unwrap();
    assert_eq!(back.checks[0].measured, None);
}

#[test]
fn errors_name_line_and_column() {
    let err = json::parse("{\n  \"scenario\": 3\n}").unwrap_err();
    assert_eq!((err.line(), err.column()), (2, 15), "{err}");
}

#[test]
fn a_seat_is_saved_with_its_rules_and_raw_exchanges() {
    let report = fixture::with_seat();
    let text = json::render(&report);
    for field in [
        "\"conformance\": [",
        "\"seat\": \"kmd-jc\"",
        "\"party\": \"jobcenter\"",
        "\"status\": \"pass\"",
        "\"status\": \"fail\"",
        "\"status\": \"not_exercised\"",
        "\"transaktion_id\": \"T-<1>\"",
        "\"call_uuid\": \"urn:uuid:c-1\"",
        "\"transaktion_id\": null",
    ] {
        assert!(text.contains(field), "{field} missing");
    }
    let back = json::parse(&text).unwrap();
    // The raw messages exactly, control characters included (JSON escapes them).
    let evidence = &back.conformance[0].rules[1].evidence[0];
    assert_eq!(evidence.request.as_deref(), Some(fixture::RAW_REQUEST));
    assert_eq!(evidence.response.as_deref(), Some(fixture::RAW_RESPONSE));
    assert!(!back.passed());
    assert_eq!(back.conformance[0].coverage(), (2, 3));
}

#[test]
fn a_report_written_before_seats_existed_still_reads() {
    // The JSON of a run as it was saved before `conformance` was added to the model.
    let mut old: serde_json::Value =
        serde_json::from_str(&json::render(&fixture::report())).unwrap();
    assert!(old.as_object_mut().unwrap().remove("conformance").is_some());
    let old = serde_json::to_string_pretty(&old).unwrap();
    assert!(!old.contains("conformance"));

    let back = json::parse(&old).expect("an old report reads");
    assert!(back.conformance.is_empty());
    assert_eq!(back, fixture::report());
}

#[test]
fn a_report_from_before_the_flow_series_still_parses() {
    // `flows` as written before `legs`, `bucket_seconds` and `series` existed.
    let mut value: serde_json::Value =
        serde_json::from_str(&json::render(&fixture::report())).unwrap();
    let flow = &mut value["totals"]["flows"][0];
    // A point without `per_leg`, as written before it.
    let point = flow["series"][0].as_object_mut().unwrap();
    point.remove("per_leg").expect("per_leg");
    let back = json::parse(&value.to_string()).expect("a point without per_leg parses");
    assert!(back.totals.flows[0].series[0].per_leg.is_empty());
    let flow = &mut value["totals"]["flows"][0];
    for key in ["legs", "bucket_seconds", "series"] {
        flow.as_object_mut().unwrap().remove(key).expect(key);
    }
    let back = json::parse(&value.to_string()).expect("an older report parses");
    let f = &back.totals.flows[0];
    assert_eq!(
        (f.integration.as_str(), f.calls, f.p99_ms),
        ("SF2090", 84, 900)
    );
    assert!(f.series.is_empty() && f.legs.is_empty() && f.bucket_seconds == 0);
}

#[test]
fn a_report_from_before_ky_totals_still_parses_ky1() {
    // `totals` as written before SF1690's `ky` existed.
    let mut value: serde_json::Value =
        serde_json::from_str(&json::render(&fixture::report())).unwrap();
    let totals = value["totals"].as_object_mut().unwrap();
    totals.remove("ky").expect("ky");
    let back = json::parse(&value.to_string()).expect("an older report parses");
    assert_eq!(back.totals.ky, sim_report::KyTotals::default());
}
