//! The arrival process: volume normalisation (KSD-13), the SP-8 peak, reproducibility and
//! stream independence.

use sim_scenario::calendar::{is_working_day, to_copenhagen};
use sim_scenario::refdata::municipalities;
use sim_scenario::{parse, Arrival, Arrivals, Scenario};
use sim_wire::Cvr;

/// All 98 municipalities, spread over three vendors round-robin.
fn routing() -> Vec<(Cvr, String)> {
    let vendors = ["kmd-jc", "schultz-jc", "netcompany-jc"];
    municipalities()
        .iter()
        .enumerate()
        .map(|(i, m)| (m.cvr, vendors[i % 3].to_string()))
        .collect()
}

fn scenario(yaml: &str) -> Scenario {
    parse(yaml).unwrap()
}

#[test]
fn a_month_gives_200000_ksd13() {
    // KSD-13: 200,000 status changes a month. April 2026 is 30 days with Easter in it.
    let s = scenario("seed: 11\nclock: {start: 2026-04-01T00:00:00+02:00, duration: 30d}\n");
    let arrivals = Arrivals::new(&s, &routing());
    assert!((arrivals.expected_total() - 200_000.0).abs() < 1e-6);
    let all: Vec<Arrival> = arrivals.collect();
    let n = all.len() as f64;
    assert!((n - 200_000.0).abs() < 2_000.0, "{n} is not 200,000 ± 1%");

    // In time order, numbered, inside the run.
    assert!(all.windows(2).all(|w| w[0].intended_at <= w[1].intended_at));
    assert!(all.iter().enumerate().all(|(i, a)| a.seq == i as u64));
    assert!(all.first().unwrap().intended_at >= s.clock.start);
    assert!(all.last().unwrap().intended_at < s.clock.end());

    // SP-8: working days 06-18 (local) carry most of the traffic.
    let peak = all
        .iter()
        .filter(|a| {
            let local = to_copenhagen(a.intended_at);
            is_working_day(local.date()) && (6..18).contains(&local.hour())
        })
        .count() as f64;
    assert!(peak / n > 0.75, "peak share {}", peak / n);

    // Holidays are quiet: Påskedag 2026-04-05 against the Tuesday after Easter.
    let on = |d: time::Date| {
        all.iter()
            .filter(|a| to_copenhagen(a.intended_at).date() == d)
            .count()
    };
    let easter = on(time::macros::date!(2026 - 04 - 05));
    let tuesday = on(time::macros::date!(2026 - 04 - 07));
    assert!(easter * 5 < tuesday, "easter {easter} tuesday {tuesday}");

    // Every municipality gets about its 1/98.
    let kbh = all
        .iter()
        .filter(|a| a.municipality == routing()[0].0)
        .count() as f64;
    assert!((kbh - 200_000.0 / 98.0).abs() < 200.0, "{kbh}");
}

#[test]
fn per_month_scales_with_duration_and_selection() {
    // 60 days: twice a month.
    let s = scenario("clock: {start: 2026-04-01T00:00:00+02:00, duration: 60d}\n");
    let a = Arrivals::new(&s, &routing());
    assert!((a.expected_total() - 400_000.0).abs() < 1e-3);
    // 10 municipalities of 98: their national share.
    let s = scenario("clock: {start: 2026-04-01T00:00:00+02:00, duration: 30d}\n");
    let a = Arrivals::new(&s, &routing()[..10]);
    assert!((a.expected_total() - 200_000.0 * 10.0 / 98.0).abs() < 1e-3);
    // A short run gets the share its hours carry in the 30 days from its start: a working-day
    // hour at 10 gets far more than a Sunday night hour.
    let day = scenario("clock: {start: 2026-04-07T10:00:00+02:00, duration: 1h}\n");
    let night = scenario("clock: {start: 2026-04-12T03:00:00+02:00, duration: 1h}\n");
    let d = Arrivals::new(&day, &routing()).expected_total();
    let n = Arrivals::new(&night, &routing()).expected_total();
    assert!(d > 200_000.0 / 720.0 && d > 50.0 * n, "day {d} night {n}");
}

#[test]
fn total_gives_exactly_that_many_expected() {
    let s = scenario("volume: {total: 300}\nclock: {duration: 10m}\n");
    let a = Arrivals::new(&s, &routing());
    assert!((a.expected_total() - 300.0).abs() < 1e-9);
    let n = a.count();
    assert!((200..=400).contains(&n), "{n}");
}

#[test]
fn same_seed_same_arrivals_other_seed_other_arrivals() {
    let yaml = "seed: 3\nvolume: {total: 2000}\nclock: {duration: 1d}\n";
    let a: Vec<Arrival> = Arrivals::new(&scenario(yaml), &routing()).collect();
    let b: Vec<Arrival> = Arrivals::new(&scenario(yaml), &routing()).collect();
    assert_eq!(a, b);
    let c: Vec<Arrival> =
        Arrivals::new(&scenario(yaml).with_overrides(Some(4), None), &routing()).collect();
    assert_ne!(a, c);
}

/// The (time, municipality, instance) of one vendor's arrivals.
fn of_vendor(all: &[Arrival], instance: &str) -> Vec<(time::OffsetDateTime, Cvr)> {
    all.iter()
        .filter(|a| a.instance == instance)
        .map(|a| (a.intended_at, a.municipality))
        .collect()
}

#[test]
fn adding_a_vendor_does_not_change_another_vendors_stream() {
    let s = scenario("seed: 8\nclock: {duration: 2d}\n");
    let routing = routing();
    let without: Vec<(Cvr, String)> = routing
        .iter()
        .filter(|(_, v)| v != "netcompany-jc")
        .cloned()
        .collect();
    let before: Vec<Arrival> = Arrivals::new(&s, &without).collect();
    let after: Vec<Arrival> = Arrivals::new(&s, &routing).collect();
    assert!(after.len() > before.len());
    for vendor in ["kmd-jc", "schultz-jc"] {
        let b = of_vendor(&before, vendor);
        assert!(!b.is_empty());
        assert_eq!(b, of_vendor(&after, vendor), "{vendor} changed");
    }
}

#[test]
fn moving_a_municipality_keeps_its_arrival_times_sp3() {
    // SP-3: a municipality changes vendor; its traffic stays what it was.
    let s = scenario("seed: 8\nclock: {duration: 2d}\n");
    let mut moved = routing();
    moved[0].1 = "netcompany-jc".into();
    let cvr = moved[0].0;
    let times = |r: &[(Cvr, String)]| -> Vec<time::OffsetDateTime> {
        Arrivals::new(&s, r)
            .filter(|a| a.municipality == cvr)
            .map(|a| a.intended_at)
            .collect()
    };
    assert_eq!(times(&routing()), times(&moved));
}

#[test]
fn no_municipalities_or_no_weight_means_no_arrivals() {
    let s = scenario("clock: {duration: 1d}\n");
    assert_eq!(Arrivals::new(&s, &[]).count(), 0);
    let zero = scenario("volume: {per_month: 0}\n");
    assert_eq!(Arrivals::new(&zero, &routing()).count(), 0);
    // Weight only at 03:00, run at 10:00-11:00 (total: shared over no weight → none).
    let mut hourly = vec!["0"; 24];
    hourly[3] = "1";
    let yaml = format!(
        "volume: {{total: 100}}\nclock: {{start: 2026-03-03T10:00:00+01:00, duration: 1h}}\nprofile: {{hourly: [{}]}}\n",
        hourly.join(", ")
    );
    assert_eq!(Arrivals::new(&scenario(&yaml), &routing()).count(), 0);
}

/// SF1690 (KY-1): `ky:` is messages at the volume's rate on a stream of their own — adding it
/// changes no update's arrival — and reads back from the expanded scenario; the month's
/// 50,000 are 50,000 expected.
#[test]
fn ky_messages_have_their_own_stream_and_rate_ky1() {
    let base = "seed: 5\nvolume: {total: 500}\nclock: {duration: 1h}\n";
    let with = format!("{base}ky: {{total: 200, allowance_share: 0.5}}\n");
    let (a, b) = (scenario(base), scenario(&with));
    assert_eq!(b.ky.unwrap().allowance_share, 0.5);
    let updates: Vec<Arrival> = Arrivals::new(&a, &routing()).collect();
    assert_eq!(updates, Arrivals::new(&b, &routing()).collect::<Vec<_>>());
    assert_eq!(Arrivals::of_ky(&a, &routing()).count(), 0);
    let ky = Arrivals::of_ky(&b, &routing());
    assert!((ky.expected_total() - 200.0).abs() < 1e-9);
    assert_ne!(
        ky.map(|x| x.intended_at).collect::<Vec<_>>(),
        updates
            .iter()
            .take(200)
            .map(|x| x.intended_at)
            .collect::<Vec<_>>()
    );
    let again = scenario(&b.to_yaml());
    assert_eq!(again.ky, b.ky);
    let month = scenario(
        "clock: {start: 2026-04-01T00:00:00+02:00, duration: 30d}\nky: {per_month: 50000}\n",
    );
    assert_eq!(month.ky.unwrap().allowance_share, 0.3);
    assert!((Arrivals::of_ky(&month, &routing()).expected_total() - 50_000.0).abs() < 1e-6);
}
