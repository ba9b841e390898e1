//! What a scenario means when it says little, and what flags override.

use sim_scenario::schema::{DEFAULT_HOURLY, DEFAULT_RECEIPT_DELAY, DEFAULT_START};
use sim_scenario::{hash, parse, Expectations, Selection, SlaClass, Speed, Volume};
use time::Duration;

#[test]
fn empty_file_is_all_defaults() {
    for text in ["", "# nothing\n", "{}"] {
        let s = parse(text).unwrap();
        assert_eq!(s.name, "unnamed");
        assert_eq!(s.seed, 0);
        assert_eq!(s.clock.start, DEFAULT_START);
        assert_eq!(s.clock.duration, Duration::hours(1));
        assert_eq!(s.clock.speed, Speed::Max);
        assert_eq!(s.municipalities, Selection::All);
        assert_eq!(s.vendors, Selection::All);
        // KSD-13: 200,000 SF2095 status changes a month.
        assert_eq!(s.volume, Volume::PerMonth(200_000));
        assert_eq!(s.profile.hourly, DEFAULT_HOURLY);
        assert_eq!(s.receipt_delay, DEFAULT_RECEIPT_DELAY);
        assert!(s.faults.is_empty());
        assert_eq!(s.expectations, Expectations::default());
    }
}

#[test]
fn safety_expectations_default_to_zero_others_unchecked() {
    let e = parse("expectations: {p99_roundtrip: 2s}")
        .unwrap()
        .expectations;
    assert_eq!(
        (e.max_lost, e.max_misrouted, e.max_processed_twice),
        (0, 0, 0)
    );
    assert_eq!(e.p99_roundtrip, Some(Duration::seconds(2)));
    assert_eq!(e.p50_roundtrip, None);
    assert_eq!(e.min_accepted_ratio, None);
    // SP-8: the simple class, 1 s.
    assert_eq!(e.sla_class, SlaClass::Simple);
    assert_eq!(e.sla_class.limit(), Duration::seconds(1));
}

#[test]
fn default_profile_peaks_in_sp8_hours() {
    // SP-8: the peak is 06-18 on working days; the default curve puts most weight there.
    let day: f64 = DEFAULT_HOURLY.iter().sum();
    let peak: f64 = DEFAULT_HOURLY[6..18].iter().sum();
    assert!(peak / day > 0.85, "{}", peak / day);
    let max = DEFAULT_HOURLY.iter().copied().fold(0.0, f64::max);
    let at = DEFAULT_HOURLY.iter().position(|w| *w == max).unwrap();
    assert!((6..18).contains(&at));
}

#[test]
fn partial_sections_keep_other_defaults() {
    let s = parse("clock: {duration: 2d}\nprofile: {weekend_factor: 0.5}\n").unwrap();
    assert_eq!(s.clock.start, DEFAULT_START);
    assert_eq!(s.clock.duration, Duration::days(2));
    assert_eq!(s.profile.weekend_factor, 0.5);
    assert_eq!(s.profile.holiday_factor, 0.1);
}

#[test]
fn kommunekoder_resolve_to_cvrs() {
    let s = parse("municipalities: [101, \"29189846\", 147]").unwrap();
    let cvrs: Vec<String> = match s.municipalities {
        Selection::Only(v) => v.iter().map(|c| c.to_string()).collect(),
        Selection::All => panic!("a list"),
    };
    assert_eq!(cvrs, ["64942212", "29189846", "11259979"]);
}

#[test]
fn flags_override_the_file() {
    let s = parse("seed: 5\nclock: {speed: 10}").unwrap();
    assert_eq!(s.clock.speed, Speed::Factor(10.0));
    let same = s.clone().with_overrides(None, None);
    assert_eq!(same, s);
    let o = s.with_overrides(Some(99), Some(Speed::Max));
    assert_eq!((o.seed, o.clock.speed), (99, Speed::Max));
    assert_eq!("max".parse::<Speed>(), Ok(Speed::Max));
    assert_eq!("2.5".parse::<Speed>(), Ok(Speed::Factor(2.5)));
    assert!("-1".parse::<Speed>().is_err());
}

#[test]
fn hash_is_stable_hex() {
    let h = hash("name: smoke\n");
    assert_eq!(h.len(), 16);
    assert!(h.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(h, hash("name: smoke\n"));
    assert_ne!(h, hash("name: smoke \n"));
    // FNV-1a 64 of the empty text is its offset basis: the function is the documented one.
    assert_eq!(hash(""), "cbf29ce484222325");
}

#[test]
fn assignments_filter_routing_by_selection() {
    let s = parse("vendors: [schultz-jc]\nmunicipalities: [101, 147, 157]").unwrap();
    let cvr = |t: &str| t.parse().unwrap();
    let routing = vec![
        (cvr("64942212"), "schultz-jc".to_string()),
        (cvr("11259979"), "kmd-jc".to_string()),
        (cvr("19583718"), "schultz-jc".to_string()),
    ];
    let got = s.assignments(&routing);
    assert_eq!(got, vec![(cvr("64942212"), "schultz-jc".to_string())]);
}

/// KSD-13: STAR's 90,000 statuses a month by default; SP-10's job every 10 minutes; pull.
#[test]
fn star_defaults_follow_the_seed() {
    let s = parse("star: {}").unwrap().star.unwrap();
    assert_eq!(s.volume, Volume::PerMonth(90_000));
    assert_eq!(s.job_every, Duration::minutes(10));
    assert_eq!(s.delivery, sim_scenario::Delivery::Pull);
    assert!(parse("{}").unwrap().star.is_none());
    // The canonical form keeps it, so the hash changes with it.
    let a = parse("star: {total: 5}").unwrap();
    let b = parse("star: {total: 6}").unwrap();
    assert_ne!(hash(&a.to_yaml()), hash(&b.to_yaml()));
    assert_eq!(parse(&a.to_yaml()).unwrap(), a);
}
