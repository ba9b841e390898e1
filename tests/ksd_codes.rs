//! KSD-14, what the value list says about Ophørsårsag codes, end to end through the platform:
//! an approved holiday (24) with its first and last day is accepted and keeps the case open
//! (24 without its last day is FEJL: `sim-wire`'s validate tests); 18 from a jobcenter
//! (suspended) is accepted with ADVARSEL naming KSD-14; 60–64 stay FEJL (KSD-5).

mod common;

use std::time::Duration;

use common::*;
use sim_jobcenter::{UpdateSpec, UpdateStatus};

async fn send(eco: &Eco, aarsag: u8, slut: Option<&str>) -> sim_jobcenter::SendOutcome {
    eco.running
        .jobcenter()
        .send_update(UpdateSpec {
            instance: Some("kmd-jc".into()),
            municipality: Some(eco.municipality_of("kmd-jc").to_string()),
            ophoers_aarsag: Some(aarsag),
            ophoers_start_dato: Some("2026-11-02".into()),
            ophoers_slut_dato: slut.map(str::to_string),
            foerste_fravaersdag: Some("2026-10-01".into()),
            ..Default::default()
        })
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ksd14_holiday_keeps_the_case_open_and_18_is_a_warning() {
    let eco = Eco::start().await;
    let e = eco.running.endpoints.clone();

    // 24 with its last holiday day: accepted, the case stays AKTIV, the history says why.
    let holiday = send(&eco, 24, Some("2026-11-13")).await;
    assert_eq!(holiday.status, UpdateStatus::Accepted, "{holiday:?}");
    assert!(eco
        .running
        .jobcenter()
        .wait_for_receipt(&holiday.transaktion_id, Duration::from_secs(30))
        .await
        .is_some());
    let update = eco
        .get(format!(
            "{}/updates/{}",
            e.ksd_admin, holiday.transaktion_id
        ))
        .await;
    let sag = update["sag_id"]
        .as_str()
        .unwrap_or_else(|| panic!("{update}"));
    let case = eco.get(format!("{}/cases/{sag}", e.ksd_admin)).await;
    assert_eq!(case["status"], "AKTIV", "a holiday ends nothing: {case}");
    let note = case["history"][0]["note"].as_str().unwrap_or("");
    assert!(
        note.contains("holiday") && note.contains("KSD-14"),
        "{case}"
    );

    // A vendor left to itself gives a holiday its last day (the simulated jobcenters do).
    let drawn = send(&eco, 24, None).await;
    assert_eq!(drawn.status, UpdateStatus::Accepted, "{drawn:?}");
    assert!(drawn.request_xml.contains("OphoersSlutDato"));

    // 18 from a jobcenter is suspended: accepted with ADVARSEL and a FejlListe (KSD-15).
    let suspended = send(&eco, 18, None).await;
    assert_eq!(suspended.status, UpdateStatus::Accepted, "{suspended:?}");
    assert_eq!(suspended.transport_code.as_deref(), Some("ADVARSEL"));
    let answer = suspended.response_xml.unwrap_or_default();
    assert!(answer.contains("KSD-14.VAERDI"), "{answer}");

    // 62 stays KSD's own (KSD-5).
    let internal = send(&eco, 62, None).await;
    assert_eq!(internal.status, UpdateStatus::Rejected, "{internal:?}");
}
