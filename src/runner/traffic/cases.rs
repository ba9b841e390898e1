//! KSD's case intake (`cases:`, KSD-9): the cases KSD learns of during the run — from
//! NemRefusion or by hand, until SF1612 brings STAR's — created through KSD's admin API
//! (`POST /cases`) at their arrival times. KSD then tells each one's jobcenter (SF2090) and,
//! when its limit falls in the run, asks for an extension (SF2093); the checkers judge both.
//!
//! The intake has its own arrival stream (`case-arrivals`) and data stream (`case-data`), keyed
//! by the intake's sequence number, so adding it changes no update of a scenario. It is
//! skipped when KSD is an outside system (its admin API is not ours).

use std::sync::{Arc, Mutex};

use serde_json::json;
use sim_scenario::{Arrivals, CaseData, Scenario};
use sim_store::Clock;
use sim_wire::Cvr;

use crate::admin_client::AdminClient;

/// What the intake did.
#[derive(Debug, Default, Clone)]
pub(crate) struct IntakeTally {
    /// Cases KSD created.
    pub(crate) created: u64,
    /// Creations KSD refused or that failed, with why (the first few).
    pub(crate) failed: Vec<String>,
}

/// Creates every case of the scenario's intake at its time (virtual), in order; returns when
/// the last one is made. At speed `max` the runner moves the clock; this only waits for it.
pub(crate) async fn drive_intake(
    scenario: Scenario,
    assignments: Vec<(Cvr, String)>,
    clock: Clock,
    admin: AdminClient,
    ksd_admin: String,
    tally: Arc<Mutex<IntakeTally>>,
    known: Arc<Mutex<super::lookups::Known>>,
) {
    let Some(intake) = scenario.cases else {
        return;
    };
    let url = format!("{ksd_admin}/cases");
    for a in Arrivals::of_cases(&scenario, &assignments) {
        clock.sleep_until(a.intended_at).await;
        let today = sim_scenario::calendar::to_copenhagen(a.intended_at).date();
        let mut d = CaseData::for_seq(scenario.seed, a.seq, today, &intake);
        if let Some(cpr) = star_person_of(&scenario, a.seq, d.pensioner) {
            d.cpr = cpr;
        }
        let body = json!({
            "cpr": d.cpr.to_string(),
            "municipality": a.municipality.to_string(),
            "arbejdsgiver": d.arbejdsgiver.to_string(),
            "foerste_fravaersdag": d.foerste_fravaersdag.to_string(),
            "pensioner": d.pensioner,
            "p_nummer": d.produktionsenhed.map(|p| p.to_string()),
            "nem_refusion_id": d.nem_refusion_id.map(|n| n.to_string()),
        });
        let outcome = admin.post(&url, &body).await;
        let mut t = tally.lock().expect("intake tally lock");
        match outcome {
            Ok((201, v)) => {
                t.created += 1;
                // The case's keys, for the look-ups (SF2096) to aim at.
                let sag = v["sag_id"].as_str().and_then(|s| s.parse().ok());
                let nr = v["nem_refusion_id"].as_str().and_then(|s| s.parse().ok());
                if let Some(sag) = sag {
                    known
                        .lock()
                        .expect("known keys lock")
                        .case(a.municipality, sag, nr, d.cpr);
                }
            }
            Ok((status, v)) => {
                if t.failed.len() < 20 {
                    t.failed.push(format!("case {}: HTTP {status} {v}", a.seq));
                }
            }
            Err(e) => {
                if t.failed.len() < 20 {
                    t.failed.push(format!("case {}: {e}", a.seq));
                }
            }
        }
    }
}

/// SF1612: `known_share` of the intake's cases (not pensioners': STAR's persons are of working
/// age) are about one of STAR's persons, so that KSD puts them on its value list (BF-1) and
/// STAR's events about them reach it. Drawn per case from `cases/star-person`.
fn star_person_of(scenario: &Scenario, seq: u64, pensioner: bool) -> Option<sim_wire::Cpr> {
    let star = scenario.star.as_ref()?;
    if pensioner {
        return None;
    }
    let mut rng = sim_seed::Rng::keyed(scenario.seed, "cases/star-person", seq);
    (rng.f64() < star.known_share).then(|| {
        let k = rng.range(0, star.population);
        sim_scenario::star::star_person(scenario.seed, k)
    })
}
