//! JC-1 for real: a vendor never gives an update up. The platform is down for five minutes of
//! virtual time (the clock runs 100× fast); the update sent meanwhile is not given up after
//! its quick attempts but resent in the background until the platform is back, accepted,
//! and answered with its business receipt.

mod common;

use std::time::Duration;

use common::*;
use sim::ecosystem::Program;
use sim_jobcenter::{UpdateSpec, UpdateStatus};
use sim_store::Clock;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_update_survives_a_five_minute_platform_outage() {
    let start = time::macros::datetime!(2026-04-07 09:00 UTC);
    let clock = Clock::compressed(start, 100.0);
    let eco = Eco::start_with(|c| c.clock = clock.clone()).await;
    let control = eco.running.control();
    control.crash(Program::Sp).await;
    let down_at = clock.now();

    let jc = eco.running.jobcenter();
    let m = eco.municipality_of("kmd-jc");
    let out = jc
        .send_update(UpdateSpec {
            instance: Some("kmd-jc".into()),
            municipality: Some(m.to_string()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        out.status,
        UpdateStatus::Sent,
        "owned, not given up: {out:?}"
    );
    let tid = out.transaktion_id.clone();

    // Five virtual minutes of outage (3 s real), during which the resender keeps trying.
    while clock.now() - down_at < time::Duration::minutes(5) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let during = jc.update(&tid).await.unwrap().unwrap();
    assert_eq!(during.status, UpdateStatus::Sent);
    assert!(
        during.attempts > out.attempts,
        "resent in the background during the outage: {} attempts",
        during.attempts
    );
    control.restart(Program::Sp).await.unwrap();

    // Back: within the resender's longest wait (5 virtual minutes, 3 s real) it is accepted,
    // and KSD's business receipt arrives.
    let receipt = jc.wait_for_receipt(&tid, Duration::from_secs(60)).await;
    assert!(receipt.is_some(), "the business receipt after the outage");
    // The receipt can overtake the commit of the attempt that got the TransportKvittering
    // (KSD sends it at once): wait for that commit.
    let status = jc
        .wait_for_transport(&tid, Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(status, Some(UpdateStatus::Accepted));
    let u = jc.update(&tid).await.unwrap().unwrap();
    let owned = clock.now() - u.created_at;
    assert!(
        owned >= time::Duration::minutes(5),
        "owned across the whole outage: {owned}"
    );
}
