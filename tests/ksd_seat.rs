//! A foreign KSD in KSD's seat (issue 9): a Python `ssl` + `http.server` receiver with a
//! certificate from its own CA — another stack than ours. With `ksd_url` set the platform must
//! forward `ModtagOpdateringFravaer` to it with KOMBIT's certificate (SP-7) and pass its
//! TransportKvittering back to the vendor unchanged (SP-1); the simulated KSD is not started.

mod common;
mod outside;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use common::*;
use outside::{Killed, OwnPki, ANSWERING_SERVER};
use sim_jobcenter::{UpdateSpec, UpdateStatus};
use sim_wire::{
    Message, Operation, Response, ResponseBody, TransportKvittering, TransportValideringsKode,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_platform_calls_a_foreign_ksd_in_the_seat_sp1_sp7() {
    sim_kit::install_crypto_provider();
    let foreign = tempfile::tempdir().unwrap();
    let now = sim_store::Clock::real().now();
    // The foreign KSD's own PKI: nothing shared with the simulator's.
    let own = OwnPki::new(foreign.path(), "foreign-ksd");
    let p = |n: &str| foreign.path().join(n);
    let answer = Response {
        operation: Operation::ModtagOpdateringFravaer,
        body: ResponseBody::TransportKvittering(TransportKvittering {
            kode: TransportValideringsKode::Ok,
            begrundelse: None,
            fejl_liste: vec![],
        }),
    };
    std::fs::write(p("answer.xml"), sim_wire::write(&Message::Response(answer))).unwrap();

    // The simulator's certificates first (the foreign KSD trusts their root for its callers).
    let certs = tempfile::tempdir().unwrap();
    let refdata = sim::refdata::RefData::embedded().unwrap();
    let spec = sim_certs::PkiSpec::standard(&refdata.vendors, false);
    sim_certs::store::ensure(
        certs.path(),
        &spec,
        sim_certs::OffsetDateTime::from_unix_timestamp(now.unix_timestamp()).unwrap(),
        false,
    )
    .unwrap();
    let mut child = Command::new("python3")
        .arg("-c")
        .arg(ANSWERING_SERVER)
        .arg(&own.server_chain)
        .arg(&own.server_key)
        .arg(sim_certs::store::layout::root_ca(certs.path()))
        .arg(p("answer.xml"))
        .arg(p("calls.jsonl"))
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 is required (the foreign KSD)");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let _guard = Killed(child);
    let url = format!("https://127.0.0.1:{}/real-ksd/ws", line.trim());

    let (u, root, certs_dir) = (url.clone(), own.root.clone(), certs.path().to_path_buf());
    let eco = Eco::start_with(move |c| {
        c.certs_dir = certs_dir;
        c.ksd_url = Some(u);
        c.extra_server_trust.push(root);
    })
    .await;
    assert_eq!(eco.running.endpoints.ksd, url);
    assert_eq!(eco.running.endpoints.seats.get("ksd"), Some(&url));
    assert!(
        eco.running.endpoints.ksd_admin.is_empty(),
        "the simulated KSD is not started"
    );
    let written: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(eco.dir.path().join("ecosystem.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(written["seats"]["ksd"], url.as_str());

    let m = eco.refdata.municipalities_of("kmd-jc")[0].to_string();
    let sent = eco
        .running
        .jobcenter()
        .send_update(UpdateSpec {
            instance: Some("kmd-jc".into()),
            municipality: Some(m),
            ..UpdateSpec::default()
        })
        .await
        .unwrap();
    assert_eq!(
        sent.status,
        UpdateStatus::Accepted,
        "the foreign KSD's OK came back: {sent:?}"
    );
    let calls: Vec<serde_json::Value> = std::fs::read_to_string(p("calls.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(calls.len(), 1, "{calls:?}");
    let call = &calls[0];
    assert_eq!(call["path"], "/real-ksd/ws");
    assert_eq!(
        call["action"].as_str().unwrap().trim_matches('"'),
        Operation::ModtagOpdateringFravaer.soap_action()
    );
    // SP-7: KOMBIT's certificate (CVR 19435075) calls the seat.
    assert!(
        call["caller"].as_str().unwrap().contains("19435075"),
        "{call}"
    );
    assert!(
        call["body"]
            .as_str()
            .unwrap()
            .contains(&sent.transaktion_id.to_string()),
        "the update itself was forwarded"
    );
}
