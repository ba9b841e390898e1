//! Overload sheds fast (issue 15): past its in-flight limits the platform answers at once
//! with a journaled SP-4 fault instead of making callers wait for a slot, and one flooding
//! caller cannot starve another on the same port. KSD here is a black hole (it accepts TCP
//! and never answers), so every admitted call stays in flight until the platform's call
//! timeout: the limits, not the speed of the machine, decide who is served.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;
use sim_wire::Operation;

/// Another stack as the shed caller: Python's `ssl` + `http.client` posts the document on
/// stdin with a vendor's certificate and prints the HTTP status and the body.
const PYTHON_CALLER: &str = r#"
import http.client, ssl, sys
host, port, path, action, chain, key, ca = sys.argv[1:8]
ctx = ssl.create_default_context(cafile=ca)
ctx.load_cert_chain(chain, key)
ctx.check_hostname = False
c = http.client.HTTPSConnection(host, int(port), context=ctx, timeout=30)
c.request('POST', path, body=sys.stdin.buffer.read(),
          headers={'Content-Type': 'text/xml; charset=utf-8', 'SOAPAction': '"%s"' % action})
r = c.getresponse()
print(r.status)
print(r.read().decode())
"#;

/// A listener that accepts connections and never says a word.
fn black_hole() -> (std::net::TcpListener, String) {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "https://localhost:{}/service/KSD/Sygefravaer/2",
        l.local_addr().unwrap().port()
    );
    (l, url)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_in_flight_limits_calls_are_shed_with_sp4_faults_and_no_caller_starves() {
    let (hole, ksd_url) = black_hole();
    let eco = Eco::start_with(|c| {
        c.ksd_url = Some(ksd_url.clone());
        c.call_timeout_ms = 4_000;
        c.max_in_flight = 6;
        c.max_in_flight_per_caller = 3;
    })
    .await;
    let url = eco.running.endpoints.sp_ksd_exposure.clone();
    let op = Operation::SendOpdateringFravaer;
    // The contract's example update, for a municipality the sending vendor serves (SP-5).
    let doc_for = |instance: &str| {
        let mut r = sim_wire::examples::request(Operation::SendOpdateringFravaer);
        r.authority_context = Some(sim_wire::AuthorityContext {
            municipality_cvr: eco.municipality_of(instance),
        });
        sim_wire::write_request(&r)
    };

    // kmd-jc floods with 30 calls at once; schultz-jc sends 3 while the flood holds.
    let kmd = eco.client_as("kmd-jc");
    let schultz = eco.client_as("schultz-jc");
    let mut flood = tokio::task::JoinSet::new();
    let doc = doc_for("kmd-jc");
    for _ in 0..30 {
        let (c, u, d) = (kmd.clone(), url.clone(), doc.clone());
        flood.spawn(async move { c.call(&u, &op.soap_action(), d).await });
    }
    tokio::time::sleep(Duration::from_millis(300)).await;

    // While kmd-jc's three calls are in flight, a caller in another stack with kmd-jc's
    // certificate is shed at once with a SOAP 1.1 fault (HTTP 500) naming SP-4.
    let e = &eco.running.endpoints;
    let (host_port, path) = url.trim_start_matches("https://").split_once('/').unwrap();
    let (host, port) = host_port.split_once(':').unwrap();
    let kit = sim_certs::store::layout::system(&e.certs_dir, "kmd-jc");
    let mut py = Command::new("python3")
        .arg("-c")
        .arg(PYTHON_CALLER)
        .args([host, port, &format!("/{path}"), &op.soap_action()])
        .arg(&kit.chain)
        .arg(&kit.key)
        .arg(&e.root_ca)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 is required (test.sh installs it)");
    py.stdin.take().unwrap().write_all(doc.as_bytes()).unwrap();
    let out = py.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("500"), "{text}");
    assert!(
        text.contains("Fault") && text.contains("SP-4") && text.contains("overloaded"),
        "{text}"
    );
    let mut other = tokio::task::JoinSet::new();
    let doc = doc_for("schultz-jc");
    for _ in 0..3 {
        let (c, u, d) = (schultz.clone(), url.clone(), doc.clone());
        other.spawn(async move { c.call(&u, &op.soap_action(), d).await });
    }

    let classify = |r: Result<sim_kit::soap::SoapReply, sim_kit::client::ClientError>| {
        let reply = r.expect("every call is answered (no connect timeout, no reset)");
        let fault = reply
            .fault()
            .expect("a SOAP fault, never a TransportKvittering here");
        assert_eq!(
            fault.rule(),
            Some(sim_wire::Rule::Sp4),
            "{}",
            fault.fault_string
        );
        fault.fault_string.contains("overloaded")
    };
    let (mut shed, mut served) = (0, 0);
    while let Some(r) = flood.join_next().await {
        if classify(r.unwrap()) {
            shed += 1;
        } else {
            served += 1;
        }
    }
    let mut other_served = 0;
    while let Some(r) = other.join_next().await {
        if !classify(r.unwrap()) {
            other_served += 1;
        }
    }
    // kmd-jc's three in-flight calls waited for the black hole (SP-4: unreachable); the
    // other 27 were shed at once. schultz-jc was not starved by the flood: all three of its
    // calls were admitted (its own per-caller budget, the overall one has room).
    assert_eq!(served, 3, "kmd-jc calls admitted");
    assert_eq!(shed, 27, "kmd-jc calls shed");
    assert_eq!(
        other_served, 3,
        "schultz-jc calls admitted despite the flood"
    );

    // Every shed call is in the platform's journal: its request and its fault, under one
    // CallUUID (nothing dropped silently).
    let rows = eco
        .get(format!(
            "{}/journal?outcome=FAULT:SP-4&limit=1000",
            eco.running.endpoints.sp_admin
        ))
        .await;
    let shed_rows: Vec<_> = rows
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["detail"].as_str().unwrap_or("").contains("overloaded"))
        .collect();
    assert!(
        shed_rows.len() >= 27,
        "{} journaled shed rows: {:?}",
        shed_rows.len(),
        rows.as_array().unwrap().first()
    );
    assert!(shed_rows.iter().all(|r| r["call_uuid"].is_string()));
    drop(hole);
}
