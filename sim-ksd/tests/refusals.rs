//! Calls KSD refuses with a SOAP fault naming the rule: the wrong caller (SP-7), an unusable
//! document (WIRE-1).

mod common;

use common::{update, FakePlatform, Pki};
use sim_wire::Rule;

// rule SP-7: only the platform, calling with KOMBIT's certificate, reaches KSD. A vendor's
// certificate is refused, and so is KSD's own (same CVR as KOMBIT, other system).
#[tokio::test]
async fn a_caller_other_than_the_platform_gets_a_fault_rule_sp7() {
    let pki = Pki::new();
    let state = tempfile::tempdir().unwrap();
    let platform = FakePlatform::bind(&pki).await;
    let ksd = common::start_ksd(common::config(&pki, state.path(), &platform.url())).await;
    let tid = "8c9d0e1f-2a3b-4c4d-9e5f-7a8b9c0d1e2f";

    for stem in ["acme-jc", "ksd"] {
        let reply = ksd
            .send(&pki.client(stem), sim_wire::write_request(&update(tid, 20)))
            .await;
        assert_eq!(reply.status, 500, "{stem}: {}", reply.body);
        let fault = reply.fault().expect("a SOAP fault");
        assert_eq!(fault.fault_code, "soap:Client");
        assert_eq!(fault.rule(), Some(Rule::Sp7), "{stem}: {fault:?}");
        assert!(
            fault.fault_string.starts_with("SP-7"),
            "{}",
            fault.fault_string
        );
    }
    let (status, _) = ksd.get(&format!("/updates/{tid}")).await;
    assert_eq!(status, 404, "nothing processed");
    let faults = ksd.journal("outcome=FAULT:SP-7&direction=in").await;
    assert_eq!(faults.len(), 2, "{faults:?}");
    ksd.stop().await;
    platform.stop().await;
}

// rule WIRE-1: a document that is not a SOAP 1.1 message is refused with a fault that says why.
#[tokio::test]
async fn an_unusable_document_gets_a_fault_rule_wire1() {
    let pki = Pki::new();
    let state = tempfile::tempdir().unwrap();
    let platform = FakePlatform::bind(&pki).await;
    let ksd = common::start_ksd(common::config(&pki, state.path(), &platform.url())).await;

    let reply = ksd
        .send(&pki.client("kombit"), "<not-soap/>".to_string())
        .await;
    assert_eq!(reply.status, 500);
    let fault = reply.fault().expect("a SOAP fault");
    assert_eq!(fault.rule(), Some(Rule::Wire1));
    assert!(
        fault.fault_string.contains("WIRE-1"),
        "{}",
        fault.fault_string
    );
    assert!(
        fault.fault_string.contains("Envelope"),
        "{}",
        fault.fault_string
    );
    assert_eq!(ksd.journal("outcome=FAULT:WIRE-1").await.len(), 2);
    ksd.stop().await;
    platform.stop().await;
}
