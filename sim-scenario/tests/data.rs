//! Update content: valid, realistic, and a function of (seed, seq) alone.

use std::collections::HashMap;

use sim_scenario::calendar::to_copenhagen;
use sim_scenario::data::{Notifier, FERIE};
use sim_scenario::refdata::{cvr_check_digit_ok, municipalities};
use sim_scenario::{parse, Arrival, Arrivals, UpdateData};
use sim_wire::Cvr;

fn arrivals(seed: u64, n: u64) -> Vec<Arrival> {
    let s = parse(&format!(
        "seed: {seed}\nvolume: {{total: {n}}}\nclock: {{start: 2026-03-02T00:00:00+01:00, duration: 7d}}\n"
    ))
    .unwrap();
    let routing: Vec<(Cvr, String)> = municipalities()
        .iter()
        .map(|m| (m.cvr, "kmd-jc".to_string()))
        .collect();
    Arrivals::new(&s, &routing).collect()
}

#[test]
fn data_is_valid_and_realistic_ksd4_ksd5() {
    let all = arrivals(5, 5000);
    let mut codes: HashMap<u8, usize> = HashMap::new();
    let mut employers = 0;
    for a in &all {
        let d = UpdateData::generate(5, a);
        let today = to_copenhagen(a.intended_at).date();
        // CPR: a real birth date, age 18-70 on the arrival date.
        let birth = d.cpr.birth_date();
        let age = today.year()
            - birth.year()
            - i32::from((today.month(), today.day()) < (birth.month(), birth.day()));
        assert!((18..=70).contains(&age), "{} aged {age} on {today}", d.cpr);
        // Century digit consistent: parsing the text again gives the same date.
        assert_eq!(
            d.cpr
                .to_string()
                .parse::<sim_wire::Cpr>()
                .unwrap()
                .birth_date(),
            birth
        );
        assert!(cvr_check_digit_ok(d.arbejdsgiver), "{}", d.arbejdsgiver);
        match d.notifier {
            Notifier::Employer => {
                employers += 1;
                let p = d.produktionsenhed.expect("employers have a P-number");
                assert!(p.to_string().starts_with('1'));
            }
            _ => assert!(d.produktionsenhed.is_none()),
        }
        // KSD-5: never 10 nor 60-64 from a jobcenter.
        assert!(d.ophoers_aarsag.outsider_may_send(), "{}", d.ophoers_aarsag);
        *codes.entry(d.ophoers_aarsag.code()).or_default() += 1;
        // KSD-4: dates in order; an end date only for holiday.
        assert!(d.ophoers_start_dato.0 >= d.foerste_fravaersdag.0);
        assert!(d.foerste_fravaersdag.0 < today);
        match d.ophoers_slut_dato {
            Some(slut) => {
                assert_eq!(d.ophoers_aarsag.code(), FERIE);
                assert!(slut.0 >= d.ophoers_start_dato.0);
            }
            None => {
                assert_ne!(d.ophoers_aarsag.code(), FERIE);
                assert!(d.ophoers_start_dato.0 <= today);
            }
        }
        assert!(d.jobcenter_sag_id.starts_with("JC"));
        // A version-7 UUID carrying the registration's virtual time (milliseconds).
        let tid = d.transaktion_id.to_string();
        assert_eq!(tid.as_bytes()[14], b'7', "{tid}");
        let ms = u64::from_str_radix(&tid.replace('-', "")[..12], 16).unwrap();
        assert_eq!(
            i128::from(ms),
            a.intended_at.unix_timestamp_nanos() / 1_000_000,
            "{tid}"
        );
    }
    // Time-ordered like the arrivals, so indexes on it grow at their end.
    let tids: Vec<String> = all
        .iter()
        .map(|a| UpdateData::generate(5, a).transaktion_id.to_string()[..13].to_string())
        .collect();
    assert!(tids.windows(2).all(|w| w[0] <= w[1]));
    let n = all.len() as f64;
    assert!(f64::from(employers) / n > 0.8);
    // The mix: recovery (1) most common, holiday (24) common.
    let share = |c: u8| *codes.get(&c).unwrap_or(&0) as f64 / n;
    assert!((share(1) - 0.30).abs() < 0.03, "{}", share(1));
    assert!((share(24) - 0.15).abs() < 0.03, "{}", share(24));
}

#[test]
fn same_seed_same_data_in_any_order() {
    let all = arrivals(9, 300);
    let forward: Vec<UpdateData> = all.iter().map(|a| UpdateData::generate(9, a)).collect();
    let mut backward: Vec<UpdateData> = all
        .iter()
        .rev()
        .map(|a| UpdateData::generate(9, a))
        .collect();
    backward.reverse();
    assert_eq!(forward, backward);
    // One alone is the same as in the batch.
    assert_eq!(UpdateData::generate(9, &all[123]), forward[123]);
    // Another seed: other content; transaction ids all distinct.
    assert_ne!(UpdateData::generate(10, &all[0]), forward[0]);
    let mut ids: Vec<String> = forward
        .iter()
        .map(|d| d.transaktion_id.to_string())
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), forward.len());
}
