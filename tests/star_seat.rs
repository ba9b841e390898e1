//! An outside STAR in STAR's seat (SF1612): a STAR written in Python's `ssl` + `http.server`
//! with its own CA, serving the published example answers, and the platform's job calling it
//! with KOMBIT's certificate — what a team testing a real DFDG endpoint, or the platform's
//! job against one, sees. It proves the job speaks the contract another stack reads (SP-12's
//! headers, sub-queue 6, the sequence in `SequenceRequest`), uses the `ServiceEndpoint` STAR
//! answers, and publishes an event STAR hands out again (the same MessageIdentifier in every
//! sequence) once (SP-10), with its æøå intact through ISO-8859-1 and Base64 (SP-11).

use std::path::Path;
use std::time::{Duration, Instant};

#[macro_use]
mod outside;
mod common;

use outside::{serving, simulator_certs, OwnPki};
use sim_store::rusqlite::Connection;

/// A STAR in Python: answers by SOAPAction with the published examples (the `ServiceEndpoint`
/// pointing back at itself), logs every call as a JSON line. Arguments: server chain, key,
/// client CA, the examples directory, the log file; prints its port.
const PYTHON_STAR: &str = concat!(
    r#"
import json, ssl, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
chain, key, client_ca, examples, log = sys.argv[1:6]
def example(name):
    return open(examples + '/STAR-' + name + '-response.xml', 'rb').read()
class H(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers['Content-Length'])).decode('utf-8')
        action = self.headers.get('SOAPAction', '').strip('"')
        op = action.rsplit('/', 1)[-1]
        subject = ' '.join(v for rdn in self.connection.getpeercert()['subject'] for (_, v) in rdn)
        with open(log, 'a') as f:
            f.write(json.dumps({'path': self.path, 'op': op, 'caller': subject, 'body': body}) + '\n')
        answer = example(op)
        if op == 'CreateSequence':
            here = 'https://127.0.0.1:%d/star/WsrmMessageService' % self.server.server_address[1]
            answer = answer.replace(b'https://localhost:8446/star/WsrmMessageService', here.encode())
        self.send_response(200)
        self.send_header('Content-Type', 'text/xml; charset=utf-8')
        self.send_header('Content-Length', str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)
    def log_message(self, *a):
        pass
"#,
    mtls_serve!()
);

/// A count from the platform's database; 0 while the platform has not made its tables yet
/// (the ecosystem's start returns once the programs are spawned, not once they have opened
/// their stores).
fn count(db: &Path, sql: &str) -> i64 {
    Connection::open(db)
        .and_then(|c| c.query_row(sql, [], |r| r.get(0)))
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_platform_job_fetches_from_a_python_star_and_publishes_each_event_once_sp10_sp12() {
    let dir = tempfile::tempdir().unwrap();
    let certs = dir.path().join("certs");
    simulator_certs(&certs);
    let own = OwnPki::new(dir.path(), "star");
    let log = dir.path().join("star.log");
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("contracts/examples");
    let (_star, port) = serving(
        std::process::Command::new("python3")
            .arg("-c")
            .arg(PYTHON_STAR)
            .arg(&own.server_chain)
            .arg(&own.server_key)
            .arg(sim_certs::store::layout::root_ca(&certs))
            .arg(&examples)
            .arg(&log),
        "the Python STAR",
    );
    let url = format!("https://127.0.0.1:{port}/star/WsrmService");
    let eco = common::Eco::start_with(|cfg| {
        cfg.certs_dir = certs.clone();
        cfg.star_url = Some(url.clone());
        // Real time: a run every 300 ms, so several sequences hand the same events out.
        cfg.star_job_every_ms = 300;
        cfg.extra_server_trust = vec![own.root.clone()];
    })
    .await;
    assert_eq!(eco.running.endpoints.star, url);
    assert_eq!(
        eco.running.endpoints.seats.get("star").map(String::as_str),
        Some(url.as_str())
    );
    let sp = eco.dir.path().join("sp/sp.sqlite");
    let started = Instant::now();
    while count(
        &sp,
        "SELECT COUNT(*) FROM sp_star_runs WHERE outcome = 'terminated'",
    ) < 3
    {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "three terminated runs expected; runs: {}",
            count(&sp, "SELECT COUNT(*) FROM sp_star_runs")
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // SP-10: every sequence handed out the same two events; each was published once.
    let bf = eco.dir.path().join("sp/bf.sqlite");
    assert_eq!(count(&bf, "SELECT COUNT(*) FROM bf_messages"), 2);
    assert_eq!(
        count(
            &sp,
            "SELECT COUNT(*) FROM sp_star_events WHERE fetch_count >= 2 AND published_at IS NOT NULL"
        ),
        2
    );
    // SP-11: the Haendelsesbesked carries the event as STAR sent it, æøå included.
    let xml: String = Connection::open(&bf)
        .unwrap()
        .query_row(
            "SELECT xml FROM bf_messages ORDER BY seq LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let besked = sim_wire::besked::read_haendelsesbesked(xml.as_bytes()).unwrap();
    assert!(sim_wire::besked::validate_sp11(&besked).is_empty());
    let event = sim_wire::star::read_event_document(&besked.beskeddata.data).unwrap();
    assert_eq!(event.request_metadata.case_worker.surname, "Bækgård");

    // What the Python STAR saw: KOMBIT's certificate, SP-12's constant headers, sub-queue 6,
    // the fetch at the endpoint it named with the sequence in SequenceRequest, then terminate.
    let calls: Vec<serde_json::Value> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let ops: Vec<&str> = calls.iter().map(|c| c["op"].as_str().unwrap()).collect();
    assert_eq!(
        &ops[..3],
        [
            "CreateSequence",
            "GetIllnessUpdatedVersion6",
            "TerminateSequence"
        ]
    );
    for c in &calls {
        let body = c["body"].as_str().unwrap();
        assert!(c["caller"].as_str().unwrap().contains("19435075"), "{c}");
        for header in [
            ">7</",
            ">999</",
            ">KSD</",
            ">3</",
            ">KSD System</",
            "RegistrationDateTime>",
        ] {
            assert!(body.contains(header), "SP-12 {header} missing: {body}");
        }
    }
    assert!(calls[0]["body"]
        .as_str()
        .unwrap()
        .contains("SubQueueIdentifier>6<"));
    assert_eq!(calls[1]["path"], "/star/WsrmMessageService");
    assert!(calls[1]["body"]
        .as_str()
        .unwrap()
        .contains("5d1f0c7a-3b2e-4c9d-8a61-2f4e6b8d0c13"));
    eco.running.stop().await.unwrap();
}
