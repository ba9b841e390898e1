//! BF-2 against a stack we did not write: a Python `ssl` + `http.server` push endpoint with
//! KSD's server certificate, requiring a client certificate from the test CA, receives the
//! Beskedfordeler's `ModtagBeskedInput` (KOMBIT's certificate, SP-7) and answers StatusKode 20
//! — the delivery is then done, and journaled so.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use common::*;
use sim_bf::NewSubscription;
use sim_wire::besked::VAERDILISTE_SYGEMELDINGSSTATUS as LIST;

/// argv: server chain, key, client CA, log file. Prints its port, then logs each POST as a
/// JSON line (path, SOAPAction, the caller's subject, the body) and answers StatusKode 20.
const PUSH_ENDPOINT: &str = r#"
import http.server, json, ssl, sys
chain, key, ca, log = sys.argv[1:5]
ANSWER = ('<?xml version="1.0" encoding="UTF-8"?>'
  '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>'
  '<o:ModtagBeskedOutput xmlns:o="http://serviceplatformen.dk/xml/wsdl/soap11/Beskedfordeler/1/">'
  '<o:StandardRetur><o:StatusKode>20</o:StatusKode></o:StandardRetur>'
  '</o:ModtagBeskedOutput></s:Body></s:Envelope>').encode()
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        cert = self.connection.getpeercert()
        subject = " ".join("%s=%s" % kv for rdn in cert.get("subject", ()) for kv in rdn)
        with open(log, "a") as f:
            f.write(json.dumps({"path": self.path, "action": self.headers.get("SOAPAction", ""),
                                "caller": subject, "body": body.decode("utf-8")}) + "\n")
        self.send_response(200)
        self.send_header("Content-Type", "text/xml; charset=utf-8")
        self.send_header("Content-Length", str(len(ANSWER)))
        self.end_headers()
        self.wfile.write(ANSWER)
    def log_message(self, *a):
        pass
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(chain, key)
ctx.load_verify_locations(ca)
ctx.verify_mode = ssl.CERT_REQUIRED
srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
print(srv.server_address[1], flush=True)
srv.serve_forever()
"#;

/// Kills the Python server when the test ends, however it ends.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_python_push_endpoint_receives_and_answers_statuskode_20() {
    let pki = Pki::new();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("pushes.jsonl");
    let server = pki.server("ksd");
    let mut child = Command::new("python3")
        .arg("-c")
        .arg(PUSH_ENDPOINT)
        .arg(&server.cert)
        .arg(&server.key)
        .arg(pki.root())
        .arg(&log)
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 is required (the push endpoint of another stack)");
    let mut port = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut port)
        .unwrap();
    let _guard = Killed(child);
    let url = format!("https://localhost:{}/ksd/Beskedfordeler/1", port.trim());

    let p = Platform::start(
        &pki,
        &dir.path().join("state"),
        manual_clock(),
        Backend::Embedded,
    )
    .await;
    p.bf.create_subscription(NewSubscription {
        subscriber_cvr: KSD_CVR.into(),
        beskedtype: None,
        value_list: None,
        push_url: Some(url),
        id: None,
    })
    .await
    .unwrap();
    let person = cpr(8);
    p.client(&pki, "ksd")
        .vaerdiliste_tilfoej(LIST, &[person])
        .await
        .unwrap();
    let b = besked_for(person, &p.clock);
    p.bf.publish(&b).await.unwrap();

    let ok = eventually("the push journaled as accepted", || async {
        let rows = p.journal("BF/ModtagBesked#response").await;
        rows.into_iter()
            .find(|r| r.entry.outcome.to_string() == "OK")
    })
    .await;
    assert_eq!(
        ok.entry.transaktion_id,
        Some(b.registrering_id().to_string())
    );
    let calls: Vec<serde_json::Value> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(calls.len(), 1, "delivered once: {calls:?}");
    let call = &calls[0];
    assert_eq!(call["path"], "/ksd/Beskedfordeler/1");
    assert_eq!(
        call["action"].as_str().unwrap().trim_matches('"'),
        sim_wire::besked::BfOperation::ModtagBesked.soap_action()
    );
    assert!(
        call["caller"].as_str().unwrap().contains("19435075"),
        "{call}"
    );
    let pushed =
        sim_bf::client::read_push(call["body"].as_str().unwrap().as_bytes(), None).unwrap();
    assert_eq!(pushed, b);
    p.stop().await;
}
