//! A jobcenter system in a vendor's seat receiving KSD's case events (SF2090), graded on
//! KSD-10 (issue 11): the outside system is Python's `ssl` + `http.server`. It answers every
//! delivery with a TransportKvittering (FEJL for a municipality it does not serve, JC-3; only
//! KOMBIT may call, JC-2) and — in mode `acks` — acknowledges each event as a real jobcenter
//! does: `SendForretningsSvar` with ForretningsValideringsKode MODTAGET and the event's header,
//! posted to the platform's KSD exposure with its own client certificate. In mode `silent` it
//! accepts the events and never acknowledges them: the report names KSD-10 with the evidence.

use std::path::Path;
use std::process::Command;

#[macro_use]
mod outside;

use outside::{free_port, receipt, seat_evidence, seat_status, serving, simulator_certs, OwnPki};
use sim_wire::{
    examples, ForretningsValideringsKode, Operation, Payload, TransportValideringsKode,
};

/// The outside jobcenter. Arguments: server chain, key, client CA, the directory of its
/// answers (one file per operation), the acknowledgement template, the platform's KSD
/// exposure, its own client chain and key, the SOAPAction of SendForretningsSvar, its
/// municipalities, the mode.
const SEAT: &str = concat!(
    r#"
import re, ssl, sys, threading, urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
chain, key, client_ca, answers, template_file, platform, my_chain, my_key, action, mine, mode = sys.argv[1:12]
template = open(template_file).read()
mine = set(mine.split(','))
def acknowledge(body):
    header = re.search(r'<sft:Header>.*?</sft:Header>', body, re.S).group(0)
    m = re.search(r'MunicipalityCVR>(\d{8})<', body).group(1)
    doc = re.sub(r'<sft:Header>.*?</sft:Header>', lambda _: header, template, flags=re.S)
    doc = re.sub(r'MunicipalityCVR>\d{8}<', 'MunicipalityCVR>%s<' % m, doc)
    ctx = ssl.create_default_context(cafile=client_ca)
    ctx.load_cert_chain(my_chain, my_key)
    req = urllib.request.Request(platform, data=doc.encode('utf-8'), method='POST',
        headers={'Content-Type': 'text/xml; charset=utf-8', 'SOAPAction': '"%s"' % action})
    urllib.request.urlopen(req, context=ctx, timeout=10).read()
class H(BaseHTTPRequestHandler):
    def answer(self, status, body, ctype='text/xml; charset=utf-8'):
        self.send_response(status)
        self.send_header('Content-Type', ctype)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def do_POST(self):
        body = self.rfile.read(int(self.headers['Content-Length'])).decode('utf-8')
        subject = ' '.join(v for rdn in self.connection.getpeercert()['subject'] for (_, v) in rdn)
        if '19435075' not in subject:
            return self.answer(403, b'only KOMBIT may call', 'text/plain')
        op = re.search(r'<\w+:(Modtag\w+)Request', body).group(1)
        m = re.search(r'MunicipalityCVR>(\d{8})<', body)
        verdict = 'ok' if m is not None and m.group(1) in mine else 'fejl'
        self.answer(200, open('%s/%s-%s.xml' % (answers, op, verdict), 'rb').read())
        if verdict == 'ok' and op == 'ModtagHaendelse' and mode == 'acks':
            threading.Thread(target=acknowledge, args=(body,)).start()
    def log_message(self, *a):
        pass
"#,
    mtls_serve!()
);

/// A short working-day run at speed 1 for kmd-jc's municipalities: a few updates and three
/// cases, whose OPRETTET events go to the seat; an acknowledgement is due within 2 s, so the
/// events of the first eight seconds are judged.
const SCENARIO: &str = "
name: vendor-seat-events
seed: 5
clock: {start: 2026-03-04T10:00:00+01:00, duration: 10s, speed: 1}
vendors: [kmd-jc]
municipalities: all
volume: {total: 2}
cases: {total: 3, max_age_weeks: 4}
receipt_delay: 100ms
faults: []
expectations: {liveness_deadline: 2s}
";

fn run(mode: &str) -> (Option<i32>, serde_json::Value, String) {
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n);
    let certs = p("certs");
    simulator_certs(&certs);
    let certs_arg = certs.to_str().unwrap();
    let issued = Command::new(env!("CARGO_BIN_EXE_sim"))
        .args(["certs", "issue", "--pki", certs_arg, "--cvr", "12345678"])
        .args(["--name", "outside-jc"])
        .output()
        .unwrap();
    assert!(issued.status.success(), "{issued:?}");
    let own_pki = OwnPki::new(dir.path(), "outside-jc");
    let answers = p("answers");
    std::fs::create_dir_all(&answers).unwrap();
    for op in [
        Operation::ModtagForretningsSvarJc,
        Operation::ModtagHaendelse,
        Operation::ModtagAnmodningForlaengelse,
    ] {
        for (verdict, kode) in [
            ("ok", TransportValideringsKode::Ok),
            ("fejl", TransportValideringsKode::Fejl),
        ] {
            let file = answers.join(format!("{}-{verdict}.xml", op.name()));
            std::fs::write(file, receipt(op, kode)).unwrap();
        }
    }
    // The acknowledgement's shape: sim-wire's example, MODTAGET, no CallContext; the seat
    // puts the event's header and municipality in.
    let mut ack = examples::request(Operation::SendForretningsSvarKsd);
    ack.call_context = None;
    if let Payload::ForretningsSvar(f) = &mut ack.payload {
        f.kvittering.kode = ForretningsValideringsKode::Modtaget;
    }
    std::fs::write(p("ack.xml"), sim_wire::write_request(&ack)).unwrap();
    std::fs::write(p("scenario.yaml"), SCENARIO).unwrap();

    let refdata = sim::refdata::RefData::embedded().unwrap();
    let mine: Vec<String> = refdata
        .municipalities_of("kmd-jc")
        .iter()
        .map(|c| c.to_string())
        .collect();
    let platform = free_port();
    let kit = certs.join("issued").join("outside-jc");
    let arg = |path: &Path| path.to_str().unwrap().to_string();
    let (_guard, port) = serving(
        Command::new("python3").arg("-c").arg(SEAT).args([
            arg(&own_pki.server_chain),
            arg(&own_pki.server_key),
            arg(&sim_certs::store::layout::root_ca(&certs)),
            arg(&answers),
            arg(&p("ack.xml")),
            format!("https://127.0.0.1:{platform}/service/KSD/Sygefravaer/2"),
            arg(&kit.join("outside-jc.chain.pem")),
            arg(&kit.join("outside-jc.key.pem")),
            Operation::SendForretningsSvarKsd.soap_action(),
            mine.join(","),
            mode.to_string(),
        ]),
        "the outside jobcenter",
    );
    let url = format!("https://127.0.0.1:{port}/outside/jc");
    let json = p("run.json");
    let out = Command::new(env!("CARGO_BIN_EXE_sim"))
        .arg("run")
        .arg(p("scenario.yaml"))
        .args(["--progress", "plain", "--state-dir"])
        .arg(p("state"))
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
        .output()
        .unwrap();
    outside::finished(out, &json)
}

#[test]
fn a_jobcenter_that_acknowledges_every_event_passes_ksd_10() {
    let (code, report, text) = run("acks");
    for rule in ["KSD-10", "JC-2", "JC-3", "WIRE-2"] {
        assert_eq!(
            seat_status(&report, "kmd-jc", rule),
            "pass",
            "{rule}: {text}"
        );
    }
    assert_eq!(code, Some(0), "{text}");
}

#[test]
fn a_jobcenter_that_never_acknowledges_breaks_ksd_10_with_the_event_as_evidence() {
    let (code, report, text) = run("silent");
    assert_eq!(seat_status(&report, "kmd-jc", "KSD-10"), "fail", "{text}");
    let evidence = seat_evidence(&report, "kmd-jc", "KSD-10");
    assert!(
        evidence.iter().any(|e| e["request"]
            .as_str()
            .is_some_and(|r| r.contains("ModtagHaendelseRequest"))),
        "the undelivered acknowledgement's event is shown: {evidence:?}"
    );
    assert_eq!(code, Some(1), "{text}");
}
