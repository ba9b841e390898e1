//! SF2095 end to end across the three real programs over loopback mTLS: a jobcenter's status
//! update reaches KSD through the platform, and KSD's business receipt comes back to the right
//! vendor with the same TransaktionIdentifikator (SP-1, SP-2, SP-3, KSD-1, KSD-2, KSD-7, JC-1).

mod common;

use std::time::Duration;

use common::*;
use serde_json::json;
use sim_jobcenter::{UpdateSpec, UpdateStatus};
use sim_wire::{Operation, TransportValideringsKode};

const WAIT: Duration = Duration::from_secs(30);

/// rules SP-1, KSD-2, JC-4: every vendor's update is accepted and its business receipt
/// arrives at that vendor with the same TransaktionIdentifikator.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn happy_path_for_every_vendor() {
    let eco = Eco::start().await;
    let jc = eco.running.jobcenter();
    assert!(eco.refdata.vendors.len() >= 3);
    for v in &eco.refdata.vendors {
        let sent = jc
            .send_update(UpdateSpec {
                instance: Some(v.instance.clone()),
                ..UpdateSpec::default()
            })
            .await
            .unwrap();
        assert_eq!(
            sent.status,
            UpdateStatus::Accepted,
            "{}: {sent:?}",
            v.instance
        );
        assert_eq!(sent.transport_code.as_deref(), Some("OK"));
        let receipt = jc
            .wait_for_receipt(&sent.transaktion_id, WAIT)
            .await
            .unwrap_or_else(|| panic!("no receipt for {}", v.instance));
        assert_eq!(
            receipt.instance, v.instance,
            "rule SP-2: the receipt goes to the sender's vendor"
        );
        assert_eq!(receipt.transaktion_id, sent.transaktion_id, "rule KSD-2");
        assert_eq!(receipt.code, "ACCEPTERET");
        assert_eq!(receipt.municipality, sent.municipality);
    }
    // KSD keeps the case it learned about, ended with the update's cause.
    let cases = eco
        .get(format!("{}/cases", eco.running.endpoints.ksd_admin))
        .await;
    assert_eq!(
        cases.as_array().unwrap().len(),
        eco.refdata.vendors.len(),
        "{cases}"
    );
    eco.running.stop().await.unwrap();
}

/// rule SP-3: after a routing change at run time, receipts for that municipality go to the
/// new vendor.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_routing_change_at_run_time_moves_the_receipts() {
    let eco = Eco::start().await;
    let e = eco.running.endpoints.clone();
    let jc = eco.running.jobcenter();
    let m = eco.municipality_of("kmd-jc");

    let before = jc
        .send_update(UpdateSpec {
            instance: Some("kmd-jc".into()),
            municipality: Some(m.to_string()),
            ..UpdateSpec::default()
        })
        .await
        .unwrap();
    assert_eq!(
        jc.wait_for_receipt(&before.transaktion_id, WAIT)
            .await
            .unwrap()
            .instance,
        "kmd-jc"
    );

    // The municipality moves to schultz-jc: the platform routes it there, schultz-jc serves it.
    let (status, v) = eco
        .admin
        .put(
            &format!("{}/routing/{m}", e.sp_admin),
            &json!({ "instance": "schultz-jc" }),
        )
        .await
        .unwrap();
    assert_eq!(status, 200, "{v}");
    let (status, v) = eco
        .admin
        .put(
            &format!(
                "{}/vendors/schultz-jc/municipalities/{m}",
                e.jobcenter_admin
            ),
            &json!({}),
        )
        .await
        .unwrap();
    assert_eq!(status, 200, "{v}");

    // kmd-jc still holds the agreement and sends; the receipt now goes to schultz-jc.
    let after = jc
        .send_update(UpdateSpec {
            instance: Some("kmd-jc".into()),
            municipality: Some(m.to_string()),
            ..UpdateSpec::default()
        })
        .await
        .unwrap();
    assert_eq!(after.status, UpdateStatus::Accepted, "{after:?}");
    let receipt = jc
        .wait_for_receipt(&after.transaktion_id, WAIT)
        .await
        .unwrap();
    assert_eq!(receipt.instance, "schultz-jc");
    let routing = eco.get(format!("{}/routing", e.sp_admin)).await;
    assert_eq!(routing[m.to_string()], "schultz-jc");
    eco.running.stop().await.unwrap();
}

/// rule KSD-7: the same TransaktionIdentifikator twice → one case change, the same receipt again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_duplicate_update_changes_the_case_once_and_gets_the_same_receipt() {
    let eco = Eco::start().await;
    let e = eco.running.endpoints.clone();
    let op = Operation::SendOpdateringFravaer;
    let m = eco.municipality_of("netcompany-jc");
    let tid = fresh_uuid(71);
    let body = xml(&request(op, m, tid));
    let client = eco.client_as("netcompany-jc");
    let first = client
        .call(&e.sp_ksd_exposure, &op.soap_action(), body.clone())
        .await
        .unwrap();
    let second = client
        .call(&e.sp_ksd_exposure, &op.soap_action(), body)
        .await
        .unwrap();
    assert_eq!(
        first.transport_kvittering().map(|k| k.kode),
        Some(TransportValideringsKode::Ok),
        "{}",
        first.body
    );
    assert_eq!(first.body, second.body, "the same receipt again");

    let update = eco.get(format!("{}/updates/{tid}", e.ksd_admin)).await;
    let sag = update["sag_identifikator"]
        .as_str()
        .or_else(|| update["sag_id"].as_str())
        .unwrap_or_else(|| panic!("{update}"))
        .to_string();
    let case = eco.get(format!("{}/cases/{sag}", e.ksd_admin)).await;
    assert_eq!(
        case["history"].as_array().unwrap().len(),
        1,
        "one case change: {case}"
    );
    // One business receipt reaches the vendor, once.
    let receipt = eco
        .running
        .jobcenter()
        .wait_for_receipt(&tid.to_string(), WAIT)
        .await
        .unwrap_or_else(|| panic!("no receipt"));
    assert_eq!(receipt.instance, "netcompany-jc");
    // KSD journals its send once the platform has answered it, which may be just after the
    // platform already delivered to the vendor: wait (bounded) for that row.
    let url = format!(
        "{}/journal?transaktion_id={tid}&direction=out&operation=JC/SendForretningsSvar",
        e.ksd_admin
    );
    let ok_sends = eco
        .eventually("KSD's journal row for its business receipt", || {
            let (a, url) = (eco.admin.clone(), url.clone());
            async move {
                let (_, v) = a.get(&url).await.ok()?;
                let n = v
                    .as_array()?
                    .iter()
                    .filter(|r| r["outcome"] == "OK")
                    .count();
                (n > 0).then_some(n)
            }
        })
        .await;
    assert_eq!(
        ok_sends, 1,
        "one business receipt for the duplicated update"
    );
    eco.running.stop().await.unwrap();
}

/// rules KSD-1, KSD-5: OphoersAarsag 60 from a jobcenter → FEJL naming KSD-5, passed back
/// unchanged by the platform, nothing persisted at KSD, no business receipt.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_update_gets_fejl_with_the_rule_and_nothing_is_persisted() {
    let eco = Eco::start().await;
    let e = eco.running.endpoints.clone();
    let sent = eco
        .running
        .jobcenter()
        .send_update(UpdateSpec {
            instance: Some("kmd-jc".into()),
            ophoers_aarsag: Some(60),
            ..UpdateSpec::default()
        })
        .await
        .unwrap();
    assert_eq!(sent.status, UpdateStatus::Rejected, "{sent:?}");
    assert_eq!(sent.transport_code.as_deref(), Some("FEJL"));
    let response = sent.response_xml.clone().unwrap();
    let reply = sim_wire::read(response.as_bytes(), None).unwrap();
    let Some(sim_wire::Message::Response(r)) = reply.message else {
        panic!("{response}")
    };
    let sim_wire::ResponseBody::TransportKvittering(k) = r.body else {
        panic!("{response}")
    };
    assert!(
        k.fejl_liste
            .iter()
            .any(|f| f.fejl_kode.starts_with("KSD-5")),
        "{k:?}"
    );
    assert_eq!(
        r.operation,
        Operation::SendOpdateringFravaer,
        "SP-1: answered as the caller's operation"
    );

    let (status, _) = eco
        .admin
        .get(&format!("{}/updates/{}", e.ksd_admin, sent.transaktion_id))
        .await
        .unwrap();
    assert_eq!(status, 404, "nothing persisted at KSD");
    let cases = eco.get(format!("{}/cases", e.ksd_admin)).await;
    assert!(cases.as_array().unwrap().is_empty(), "{cases}");
    assert!(eco
        .running
        .jobcenter()
        .wait_for_receipt(&sent.transaktion_id, Duration::from_millis(500))
        .await
        .is_none());
    eco.running.stop().await.unwrap();
}
