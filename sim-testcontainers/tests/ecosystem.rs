//! The ecosystem in containers from the local image, used as a test in another project would
//! use it: all four programs started, one SF2095 update sent by a simulated vendor (the
//! jobcenter's admin API, `POST /send`) through the platform to KSD, and its business receipt
//! back at the vendor (`GET /updates/{tid}/wait`), everything through the ports Docker
//! published on the host; then the certificates handed back are the ones the data planes
//! present, and every container is gone after `stop`.
//!
//! Needs the image `sim-ecosystem:local`: build it first with `docker/build-image.sh debug`
//! (CI does, from the debug build). Without it this test fails and says so.

use serde_json::json;
use sim_testcontainers::{Ecosystem, Program};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_update_and_its_business_receipt_through_the_ecosystem_in_containers() {
    let eco = Ecosystem::builder()
        .start()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let ends = eco.endpoints();
    let client = eco.client();
    assert_eq!(
        ends.programs.keys().copied().collect::<Vec<_>>(),
        Program::ALL.to_vec()
    );

    // Every program answers on its control API too (`sim serve`'s), hosting its program.
    for (program, e) in &ends.programs {
        let (status, health) = client.get(&format!("{}/health", e.control)).await.unwrap();
        assert_eq!(status, 200, "{}: {health}", program.name());
        assert_eq!(
            health["program"],
            format!("sim-{}", program.name()),
            "{health}"
        );
        assert_eq!(health["hosting"], true, "{health}");
    }

    // One update from kmd-jc, answered by KSD through the platform (TransportKvittering) …
    let jc = ends.admin(Program::Jobcenter).unwrap();
    let (status, sent) = client
        .post(&format!("{jc}/send"), &json!({"instance": "kmd-jc"}))
        .await
        .unwrap();
    assert_eq!(status, 200, "POST /send: {sent}");
    assert_eq!(sent["transport_code"], "OK", "{sent}");
    let tid = sent["transaktion_id"]
        .as_str()
        .expect("a TransaktionIdentifikator");

    // … and KSD's business receipt back at the vendor, through the platform's JC exposure.
    let url = format!("{jc}/updates/{tid}/wait?timeout_ms=20000");
    let (status, update) = client.get(&url).await.unwrap();
    if status != 200 {
        panic!(
            "no business receipt for {tid}: {status} {update}\n--- sp ---\n{}\n--- ksd ---\n{}",
            eco.logs(Program::Sp).await,
            eco.logs(Program::Ksd).await
        );
    }
    assert_eq!(update["status"], "accepted", "{update}");
    assert_eq!(update["receipt"]["transaktion_id"], tid, "{update}");

    // KSD has the update, as its admin API tells the host.
    let ksd = ends.admin(Program::Ksd).unwrap();
    let (status, at_ksd) = client.get(&format!("{ksd}/updates/{tid}")).await.unwrap();
    assert_eq!(status, 200, "KSD's /updates/{tid}: {at_ksd}");

    // The PKI handed back is the one the programs use (its root CA is there), and each
    // program keeps its state under the state root.
    let certs = eco.certs_dir();
    assert!(
        certs.join("ca/root.cert.pem").is_file(),
        "{}",
        certs.display()
    );
    for program in Program::ALL {
        let dir = eco.state_dir().join(program.name());
        assert!(dir.is_dir(), "no state at {}", dir.display());
    }
    let state = eco.state_dir().to_path_buf();

    eco.stop().await.unwrap();
    assert!(
        !state.exists(),
        "the state directory outlived the ecosystem"
    );
}
