//! A jobcenter system in a vendor's seat during `sim run`, graded rule by rule (issue 10).
//!
//! The outside system is written in another stack than ours: Python's `ssl` + `http.server`,
//! with a server certificate from its own CA. It requires a client certificate from the
//! simulator's CA and, when it behaves, accepts only KOMBIT's (JC-2), only receipts for its own
//! municipalities (JC-3), answers every receipt with a TransportKvittering OK (WIRE-2, KSD-2),
//! the same again for a repeat (KSD-7), and at once (SP-8). Each misbehaviour makes `sim run`
//! exit 1 with the report naming the rule it breaks, with evidence; the well-behaved one
//! passes every rule the run exercised and exits 0.

use std::path::Path;
use std::process::Command;

mod outside;

use outside::{free_port, receipt, seat_evidence, seat_status, serving, Killed, OwnPki};
use sim_wire::{Message, Operation, TransportValideringsKode};

/// The outside receiver. Binds first and prints its port (the seat's URL must be known before
/// `sim run` starts), then waits for the simulator's root CA to appear in the run's state
/// directory (the run makes its certificates when it starts) before serving TLS.
/// `mode`: `good`, `http500`, `malformed`, `fejl`, `slow`, `any_cert`, `dup_fejl`.
const RECEIVER: &str = r#"
import os, re, socket, ssl, sys, time, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
chain, key, client_ca, ok_file, fejl_file, mode, mine = sys.argv[1:8]
mine = set(mine.split(','))
ok = open(ok_file, 'rb').read()
fejl = open(fejl_file, 'rb').read()
seen = set()
lock = threading.Lock()
class H(BaseHTTPRequestHandler):
    def answer(self, status, body, ctype='text/xml; charset=utf-8'):
        self.send_response(status)
        self.send_header('Content-Type', ctype)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def do_POST(self):
        body = self.rfile.read(int(self.headers['Content-Length'])).decode('utf-8')
        cert = self.connection.getpeercert()
        subject = ' '.join(v for rdn in cert['subject'] for (_, v) in rdn)
        if mode != 'any_cert' and '19435075' not in subject:
            return self.answer(403, b'only KOMBIT may call', 'text/plain')
        if mode == 'http500':
            return self.answer(500, b'internal error', 'text/plain')
        if mode == 'malformed':
            return self.answer(200, b'<kvit:TransportKvittering><oops')
        if mode == 'fejl':
            return self.answer(200, fejl)
        if mode == 'slow':
            time.sleep(1.5)
        m = re.search(r'MunicipalityCVR>(\d{8})<', body)
        if m is None or m.group(1) not in mine:
            return self.answer(200, fejl)
        tid = re.search(r'TransaktionIdentifikator>([^<]+)<', body).group(1)
        with lock:
            again = tid in seen
            seen.add(tid)
        if again and mode == 'dup_fejl':
            return self.answer(200, fejl)
        self.answer(200, ok)
    def log_message(self, *a):
        pass
srv = ThreadingHTTPServer(('127.0.0.1', 0), H)
print(srv.server_address[1], flush=True)
deadline = time.time() + 120
while not os.path.exists(client_ca) and time.time() < deadline:
    time.sleep(0.05)
time.sleep(0.2)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(chain, key)
ctx.load_verify_locations(client_ca)
ctx.verify_mode = ssl.CERT_REQUIRED
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
srv.serve_forever()
"#;

/// A short working-day run at speed 1 for kmd-jc's municipalities only: a few receipts.
const SCENARIO: &str = "
name: vendor-seat
seed: 11
clock: {start: 2026-03-04T10:00:00+01:00, duration: 8s, speed: 1}
vendors: [kmd-jc]
municipalities: all
volume: {total: 4}
receipt_delay: 100ms
faults: []
expectations: {liveness_deadline: 6s}
";

/// The outside system sending updates (and look-ups) by itself: waits until the platform
/// answers on `port`, then posts each file given with its own client certificate, under the
/// SOAPAction of the operation its Body names, and exits.
const SENDER: &str = r#"
import re, socket, ssl, sys, time, urllib.request
port, chain, key, ca = sys.argv[1:5]
files = sys.argv[5:]
deadline = time.time() + 60
while time.time() < deadline:
    try:
        socket.create_connection(('127.0.0.1', int(port)), timeout=1).close()
        break
    except OSError:
        time.sleep(0.1)
time.sleep(1)
ctx = ssl.create_default_context(cafile=ca)
ctx.load_cert_chain(chain, key)
for f in files:
    body = open(f, 'rb').read()
    op = re.search(rb'<(?:\w+:)?(\w+)Request[\s>]', body).group(1).decode()
    action = 'http://serviceplatformen.dk/xml/wsdl/soap11/KSD/Sygefravaer/2/' + op
    req = urllib.request.Request('https://127.0.0.1:%s/service/KSD/Sygefravaer/2' % port,
        data=body, method='POST',
        headers={'Content-Type': 'text/xml; charset=utf-8', 'SOAPAction': '"%s"' % action})
    try:
        urllib.request.urlopen(req, context=ctx, timeout=10).read()
    except Exception as e:
        print('sent', f, e, file=sys.stderr)
"#;

/// Updates the outside system sends by itself: `(file name, Ophørsårsag)` for a municipality
/// it serves.
fn own_updates(dir: &Path, municipality: sim_wire::Cvr, codes: &[u8]) -> Vec<std::path::PathBuf> {
    codes
        .iter()
        .enumerate()
        .map(|(i, code)| {
            let Message::Request(mut req) = sim_wire::examples::opdatering_fravaer_request() else {
                unreachable!("an example request")
            };
            req.authority_context = Some(sim_wire::AuthorityContext {
                municipality_cvr: municipality,
            });
            let sim_wire::Payload::OpdateringFravaer(u) = &mut req.payload else {
                unreachable!("an update")
            };
            u.header.myndighed = municipality;
            u.header.transaktion_identifikator = format!("0f3c2a1e-1111-4222-8333-44445555666{i}")
                .parse()
                .unwrap();
            u.ophoers_aarsag = sim_wire::OphoersAarsag::new(*code).unwrap();
            let path = dir.join(format!("own-{i}.xml"));
            std::fs::write(&path, sim_wire::write_request(&req)).unwrap();
            path
        })
        .collect()
}

/// Look-ups the outside system sends by itself (SF2096): one in a municipality it serves (it
/// finds nothing: no breach) and one in another municipality's context, which it has no
/// agreement for (SP-5).
fn own_lookups(dir: &Path, mine: sim_wire::Cvr, other: sim_wire::Cvr) -> Vec<std::path::PathBuf> {
    [mine, other]
        .into_iter()
        .enumerate()
        .map(|(i, m)| {
            let mut req = sim_wire::examples::request(Operation::HentSag);
            req.authority_context = Some(sim_wire::AuthorityContext {
                municipality_cvr: m,
            });
            let path = dir.join(format!("lookup-{i}.xml"));
            std::fs::write(&path, sim_wire::write_request(&req)).unwrap();
            path
        })
        .collect()
}

/// Runs the scenario with a receiver in `mode` in kmd-jc's seat; returns the exit code and
/// the JSON report.
fn run_with(mode: &str) -> (Option<i32>, serde_json::Value, String) {
    run_seat(mode, &[])
}

/// [`run_with`], the outside system also sending one update of its own for each Ophørsårsag
/// in `own` (as CVR 12345678, with a system certificate from the simulator's CA).
fn run_seat(mode: &str, own: &[u8]) -> (Option<i32>, serde_json::Value, String) {
    run_seat_with(mode, own, false)
}

/// [`run_seat`], the outside system also sending [`own_lookups`] when `lookups`.
fn run_seat_with(
    mode: &str,
    own: &[u8],
    lookups: bool,
) -> (Option<i32>, serde_json::Value, String) {
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n);
    // The receiver's own PKI: nothing shared with the simulator's.
    let own_pki = OwnPki::new(dir.path(), "outside-jc");
    let op = Operation::ModtagForretningsSvarJc;
    std::fs::write(p("ok.xml"), receipt(op, TransportValideringsKode::Ok)).unwrap();
    std::fs::write(p("fejl.xml"), receipt(op, TransportValideringsKode::Fejl)).unwrap();
    std::fs::write(p("scenario.yaml"), SCENARIO).unwrap();
    let refdata = sim::refdata::RefData::embedded().unwrap();
    let mine: Vec<String> = refdata
        .municipalities_of("kmd-jc")
        .iter()
        .map(|c| c.to_string())
        .collect();
    let state = p("state");
    let certs = p("certs");
    let root_ca = sim_certs::store::layout::root_ca(&certs);
    let sim = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_sim"))
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let certs_arg = certs.to_str().unwrap();
    sim(&["certs", "--out", certs_arg]);
    sim(&[
        "certs",
        "issue",
        "--pki",
        certs_arg,
        "--cvr",
        "12345678",
        "--name",
        "outside-jc",
    ]);
    let (_guard, port) = serving(
        Command::new("python3")
            .arg("-c")
            .arg(RECEIVER)
            .args([
                own_pki.server_chain.clone(),
                own_pki.server_key.clone(),
                root_ca.clone(),
                p("ok.xml"),
                p("fejl.xml"),
            ])
            .arg(mode)
            .arg(mine.join(",")),
        "the outside receiver",
    );
    let url = format!("https://127.0.0.1:{port}/outside/jc");
    let json = p("run.json");
    let junit = p("junit.xml");
    let platform = free_port();
    let _sender = (!own.is_empty() || lookups).then(|| {
        let kit = certs.join("issued").join("outside-jc");
        let home = refdata.municipalities_of("kmd-jc")[0];
        let mut files = own_updates(dir.path(), home, own);
        if lookups {
            let other = refdata.municipalities_of("schultz-jc")[0];
            files.extend(own_lookups(dir.path(), home, other));
        }
        Killed(
            Command::new("python3")
                .arg("-c")
                .arg(SENDER)
                .arg(platform.to_string())
                .args([
                    kit.join("outside-jc.chain.pem"),
                    kit.join("outside-jc.key.pem"),
                ])
                .arg(&root_ca)
                .args(files)
                .spawn()
                .unwrap(),
        )
    });
    let out = Command::new(env!("CARGO_BIN_EXE_sim"))
        .arg("run")
        .arg(p("scenario.yaml"))
        .args(["--progress", "plain", "--state-dir"])
        .arg(&state)
        .arg("--certs")
        .arg(&certs)
        .args(["--platform-port", &platform.to_string()])
        .args(["--seat-identity", "kmd-jc=12345678"])
        .arg("--seat")
        .arg(format!("kmd-jc={url}"))
        .arg("--trust")
        .arg(&own_pki.root)
        .arg("--json")
        .arg(&json)
        .arg("--junit")
        .arg(&junit)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let report: serde_json::Value = match std::fs::read_to_string(&json) {
        Ok(t) => serde_json::from_str(&t).unwrap(),
        Err(e) => panic!(
            "{mode}: no report ({e}):\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        ),
    };
    let junit = std::fs::read_to_string(&junit).unwrap_or_default();
    (out.status.code(), report, stdout + &junit)
}

#[test]
fn a_well_behaved_receiver_passes_every_exercised_rule_and_the_run_exits_0() {
    let (code, report, text) = run_with("good");
    for rule in ["WIRE-2", "JC-2", "JC-3", "KSD-2", "KSD-7", "SP-8"] {
        assert_eq!(
            seat_status(&report, "kmd-jc", rule),
            "pass",
            "{rule}: {text}"
        );
    }
    assert_eq!(
        seat_status(&report, "kmd-jc", "KSD-5"),
        "not_exercised",
        "it sent nothing of its own"
    );
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains("conformance.kmd-jc"),
        "JUnit per rule: {text}"
    );
}

#[test]
fn http_500_and_malformed_answers_break_wire_2() {
    for mode in ["http500", "malformed"] {
        let (code, report, text) = run_with(mode);
        assert_eq!(code, Some(1), "{mode}: {text}");
        assert_eq!(
            seat_status(&report, "kmd-jc", "WIRE-2"),
            "fail",
            "{mode}: {text}"
        );
        let e = seat_evidence(&report, "kmd-jc", "WIRE-2");
        assert!(
            e[0]["transaktion_id"].is_string() && e[0]["call_uuid"].is_string(),
            "{e:?}"
        );
        assert!(e[0]["request"]
            .as_str()
            .unwrap()
            .contains("ModtagForretningsSvar"));
    }
}

#[test]
fn fejl_to_valid_receipts_loses_them_ksd_2() {
    let (code, report, text) = run_with("fejl");
    assert_eq!(code, Some(1), "{text}");
    assert_eq!(seat_status(&report, "kmd-jc", "KSD-2"), "fail", "{text}");
    let e = seat_evidence(&report, "kmd-jc", "KSD-2");
    assert!(e[0]["response"].as_str().unwrap().contains("FEJL"), "{e:?}");
}

#[test]
fn a_slow_receiver_breaks_sp_8_and_one_accepting_any_certificate_breaks_jc_2() {
    let (code, report, text) = run_with("slow");
    assert_eq!(code, Some(1), "{text}");
    assert_eq!(seat_status(&report, "kmd-jc", "SP-8"), "fail", "{text}");
    let (code, report, text) = run_with("any_cert");
    assert_eq!(code, Some(1), "{text}");
    assert_eq!(seat_status(&report, "kmd-jc", "JC-2"), "fail", "{text}");
    assert_eq!(seat_status(&report, "kmd-jc", "WIRE-2"), "pass", "{text}");
}

#[test]
fn a_duplicate_answered_differently_breaks_ksd_7() {
    let (code, report, text) = run_with("dup_fejl");
    assert_eq!(code, Some(1), "{text}");
    assert_eq!(seat_status(&report, "kmd-jc", "KSD-7"), "fail", "{text}");
}

#[test]
fn a_seat_refuses_speed_max_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("s.yaml");
    std::fs::write(&file, SCENARIO).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_sim"))
        .arg("run")
        .arg(&file)
        .args(["--speed", "max", "--seat", "kmd-jc=https://127.0.0.1:9/x"])
        .arg("--state-dir")
        .arg(dir.path().join("state"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("keeps its own clock"), "{err}");
    let _ = Path::new("");
}

#[test]
fn the_updates_it_sends_by_itself_are_graded_by_the_rules_their_refusals_name() {
    // One valid update (code 1) and one with a code only KSD may set (60, KSD-5).
    let (code, report, text) = run_seat("good", &[1, 60]);
    assert_eq!(seat_status(&report, "kmd-jc", "KSD-5"), "fail", "{text}");
    let e = seat_evidence(&report, "kmd-jc", "KSD-5");
    assert!(
        e[0]["request"]
            .as_str()
            .unwrap()
            .contains("OphoersAarsag>60<"),
        "{e:?}"
    );
    assert_eq!(
        seat_status(&report, "kmd-jc", "SP-5"),
        "pass",
        "the run gave it an agreement: {text}"
    );
    assert_eq!(seat_status(&report, "kmd-jc", "KSD-4"), "pass", "{text}");
    assert_eq!(code, Some(1), "{text}");
}

/// SF2096 from an outside jobcenter (Python's urllib over ssl, its own certificate): its own
/// look-ups are graded like its updates — the one in another municipality's context is refused
/// by the platform and fails SP-5 with the look-up as evidence; the one that finds nothing in
/// its own municipality breaks no rule; header and code rules are not exercised by look-ups.
#[test]
fn the_lookups_it_sends_by_itself_are_graded_sp5() {
    let (_, report, text) = run_seat_with("good", &[], true);
    assert_eq!(seat_status(&report, "kmd-jc", "SP-5"), "fail", "{text}");
    let e = seat_evidence(&report, "kmd-jc", "SP-5");
    assert_eq!(e.len(), 1, "only the foreign one: {e:?}");
    assert!(
        e[0]["request"].as_str().unwrap().contains("HentSagRequest"),
        "{e:?}"
    );
    assert_ne!(seat_status(&report, "kmd-jc", "WIRE-3"), "fail", "{text}");
    assert_eq!(
        seat_status(&report, "kmd-jc", "KSD-4"),
        "not_exercised",
        "{text}"
    );
}
