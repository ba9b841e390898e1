//! Every refusal is a SOAP fault naming its rule, and journaled: a caller STAR does not know
//! (SP-7), missing or wrong constant headers (SP-12), another sub-queue (SP-10), an operation
//! posted to the other service, an unreadable or misshapen call (WIRE-1, WIRE-3).

mod common;

use common::*;
use sim_store::Clock;
use sim_wire::star::{
    self, CreateSequenceRequest, StarCall, StarHeaders, StarOperation, StarRequest,
};
use sim_wire::Rule;

fn create_call(headers: StarHeaders, sub_queue: u32) -> StarCall {
    StarCall {
        headers,
        request: StarRequest::CreateSequence(CreateSequenceRequest {
            sub_queue_identifier: sub_queue,
        }),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_name_their_rule_and_are_journaled() {
    let pki = Pki::new();
    let dir = tempfile::tempdir().unwrap();
    let clock = Clock::manual(t0());
    let (l, data) = listeners().await;
    let s = start(l, config(&pki, dir.path(), data, clock.clone(), stream(10))).await;
    let kombit = pki.client("kombit");
    let now = clock.now();

    // SP-7: a jobcenter vendor's certificate is no caller of STAR's.
    let vendor = pki.client("acme-jc");
    let r = s
        .send(&vendor, &create_call(headers(now), 6))
        .await
        .unwrap();
    assert_eq!(r.fault_rule(), Rule::Sp7);
    assert!(r.body.contains("99000077"), "{}", r.body);

    // SP-12: no headers at all; a wrong constant; the fetch without its SequenceRequest.
    let r = s
        .send(&kombit, &create_call(StarHeaders::default(), 6))
        .await
        .unwrap();
    assert_eq!(r.fault_rule(), Rule::Sp12);
    assert!(r.body.contains("ActiveOrganisationHeader"), "{}", r.body);
    let mut wrong = headers(now);
    if let Some(a) = wrong.active_organisation.as_mut() {
        a.organisation_code = "751".into();
    }
    let r = s.send(&kombit, &create_call(wrong, 6)).await.unwrap();
    assert_eq!(r.fault_rule(), Rule::Sp12);
    assert!(r.body.contains("'999'"), "{}", r.body);
    let fetch = StarCall {
        headers: headers(now),
        request: StarRequest::GetIllnessUpdated,
    };
    assert_eq!(
        s.send(&kombit, &fetch).await.unwrap().fault_rule(),
        Rule::Sp12
    );

    // SP-10: only sub-queue 6 is KSD's.
    let r = s
        .send(&kombit, &create_call(headers(now), 7))
        .await
        .unwrap();
    assert_eq!(r.fault_rule(), Rule::Sp10);

    // WIRE-1: the fetch posted to WsrmService; not XML; a SOAPAction of another operation.
    let xml = star::write_request(&fetch.clone()).unwrap();
    let url = s.url(sim_star::WSRM_SERVICE_PATH);
    let action = StarOperation::GetIllnessUpdatedVersion6.soap_action();
    let r = kombit.call(&url, &action, xml).await.unwrap();
    assert_eq!(r.status, 500);
    assert!(
        r.body.contains("WIRE-1") && r.body.contains("WsrmMessageService"),
        "{}",
        r.body
    );
    let r = s
        .post(&kombit, StarOperation::CreateSequence, "not xml".into())
        .await
        .unwrap();
    assert_eq!(r.fault_rule(), Rule::Wire1);
    let create = star::write_request(&create_call(headers(now), 6)).unwrap();
    let r = kombit
        .call(
            &url,
            &StarOperation::CloseSequence.soap_action(),
            create.clone(),
        )
        .await
        .unwrap();
    assert_eq!(
        (r.status, r.body.contains("WIRE-1")),
        (500, true),
        "{}",
        r.body
    );
    // WIRE-3: a CreateSequence without its SubQueueIdentifier.
    let bare = create.replace("<wsrm:SubQueueIdentifier>6</wsrm:SubQueueIdentifier>", "");
    let r = s
        .post(&kombit, StarOperation::CreateSequence, bare)
        .await
        .unwrap();
    assert_eq!(r.fault_rule(), Rule::Wire3);
    // A path STAR does not serve.
    let r = kombit
        .call(
            &s.url("/star/Nothing"),
            &StarOperation::CreateSequence.soap_action(),
            create,
        )
        .await
        .unwrap();
    assert_eq!(r.status, 500);

    // Nothing was handed out, and every refusal is in the journal with its rule.
    let q = s.queue().await;
    assert!(q["sequences"].as_object().unwrap().is_empty(), "{q}");
    for (rule, n) in [("SP-7", 1), ("SP-12", 3), ("SP-10", 1), ("WIRE-3", 1)] {
        let rows = s
            .journal(&format!("outcome=FAULT:{rule}&direction=in"))
            .await;
        assert_eq!(rows.len(), n, "{rule}: {rows:?}");
    }
    let rows = s.journal("outcome=FAULT:WIRE-1&direction=in").await;
    assert_eq!(rows.len(), 4, "{rows:?}");
    s.stop().await;
}
