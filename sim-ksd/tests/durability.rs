//! Persist before acknowledging: a business receipt that could not be delivered before KSD
//! stopped is delivered by the next KSD on the same state directory (KSD-2 at least once).

mod common;

use common::{eventually, kvittering, platform_url, update, FakePlatform, Pki};
use sim_wire::TransportValideringsKode;
use tokio::net::TcpListener;

// rule KSD-2 (the receipt is sent, at least once) across a restart, with the platform down
// until after the restart.
#[tokio::test]
async fn an_undelivered_receipt_is_delivered_after_a_restart_rule_ksd2() {
    let pki = Pki::new();
    let state = tempfile::tempdir().unwrap();
    // Reserve a port for the platform, then free it: the platform is down.
    let addr = {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        l.local_addr().unwrap()
    };
    let config = common::config(&pki, state.path(), &platform_url(addr));
    let tid = "9d0e1f2a-3b4c-4d5e-8f6a-8b9c0d1e2f3a";

    let ksd = common::start_ksd(config.clone()).await;
    let reply = ksd
        .send(
            &pki.client("kombit"),
            sim_wire::write_request(&update(tid, 20)),
        )
        .await;
    assert_eq!(kvittering(&reply).kode, TransportValideringsKode::Ok);
    // At least one attempt failed against the missing platform, and was journaled.
    eventually("a failed delivery attempt", || async {
        let attempts = ksd
            .journal("operation=JC/SendForretningsSvar&outcome=UNREACHABLE")
            .await;
        (!attempts.is_empty()).then_some(())
    })
    .await;
    assert_eq!(ksd.outbox_pending().await, 1);
    ksd.stop().await;

    // Restart on the same state directory, then bring the platform up.
    let ksd = common::start_ksd(config).await;
    let platform = FakePlatform::start(&pki, TcpListener::bind(addr).await.unwrap()).await;
    let got = eventually("the receipt after the restart", || async {
        let got = platform.received();
        (!got.is_empty() && ksd.outbox_pending().await == 0).then_some(got)
    })
    .await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(
        got[0]
            .svar
            .as_ref()
            .unwrap()
            .header
            .transaktion_identifikator
            .to_string(),
        tid
    );
    // The case and the update survived too.
    let (status, u) = ksd.get(&format!("/updates/{tid}")).await;
    assert_eq!(status, 200);
    assert_eq!(u["verdict"], "ACCEPTERET");
    ksd.stop().await;
    platform.stop().await;
}
