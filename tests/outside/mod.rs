//! What the tests that put an outside system in a seat share: the outside system's own PKI
//! (nothing shared with the simulator's), a guard that kills its process, a free port, and a
//! receipt document it answers with.
#![allow(dead_code)] // each test file uses a different subset

use std::path::{Path, PathBuf};
use std::process::Child;

use sim_wire::{
    Message, Operation, Response, ResponseBody, TransportKvittering, TransportValideringsKode,
};

/// Kills the outside system's process when the test ends, however it ends.
pub struct Killed(pub Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts an outside system that prints the port it serves on as its first line (every
/// Python server here does), and returns the guard that kills it and that port.
pub fn serving(command: &mut std::process::Command, what: &str) -> (Killed, u16) {
    use std::io::BufRead;
    let mut child = command
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{what} could not start (python3 is required): {e}"));
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port = line
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("{what} printed no port: {line:?}"));
    (Killed(child), port)
}

/// Starts [`ANSWERING_SERVER`] with the certificates of `own`, trusting the simulator's CA
/// in `certs`, answering every call with the file `answer` and logging each call to `log`;
/// the guard that kills it and its port.
pub fn answering(
    own: &OwnPki,
    certs: &Path,
    answer: &Path,
    log: &Path,
    what: &str,
) -> (Killed, u16) {
    serving(
        std::process::Command::new("python3")
            .arg("-c")
            .arg(ANSWERING_SERVER)
            .arg(&own.server_chain)
            .arg(&own.server_key)
            .arg(sim_certs::store::layout::root_ca(certs))
            .arg(answer)
            .arg(log),
        what,
    )
}

/// `sim run` of `scenario` (written into `dir`) with an outside system in seat `name` at
/// `url`, its CA `trust`, its identity if it calls the platform, the platform on `port`:
/// exit code, JSON report, console text.
pub fn run_seated(
    dir: &Path,
    scenario: &str,
    certs: &Path,
    (name, url): (&str, &str),
    identity: Option<&str>,
    trust: &Path,
    port: u16,
) -> (Option<i32>, serde_json::Value, String) {
    std::fs::write(dir.join("scenario.yaml"), scenario).unwrap();
    let json = dir.join("run.json");
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_sim"));
    cmd.arg("run")
        .arg(dir.join("scenario.yaml"))
        .args(["--progress", "plain", "--state-dir"])
        .arg(dir.join("state"))
        .arg("--certs")
        .arg(certs)
        .arg("--seat")
        .arg(format!("{name}={url}"));
    if let Some(id) = identity {
        cmd.arg("--seat-identity").arg(format!("{name}={id}"));
    }
    let out = cmd
        .arg("--trust")
        .arg(trust)
        .args(["--platform-port", &port.to_string(), "--json"])
        .arg(&json)
        .output()
        .unwrap();
    finished(out, &json)
}

/// A port nobody listens on now (for a program the test must configure before it starts).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// An outside system's own PKI, written into a directory: its CA, a server certificate for
/// 127.0.0.1 and a system (client) certificate for CVR 12345678.
pub struct OwnPki {
    /// Its root CA (what the simulator is told to trust).
    pub root: PathBuf,
    /// Server certificate chain and key.
    pub server_chain: PathBuf,
    pub server_key: PathBuf,
    /// System certificate chain and key (CVR 12345678).
    pub client_chain: PathBuf,
    pub client_key: PathBuf,
    /// The system certificate's UUID.
    pub uuid: String,
}

impl OwnPki {
    /// Makes it in `dir`; `name` names the server certificate.
    pub fn new(dir: &Path, name: &str) -> OwnPki {
        let now = sim_store::Clock::real().now();
        let pki = sim_certs::TestPki::generate(now).unwrap();
        let server = pki
            .issue_server(&sim_certs::ServerSpec::for_service(name, name), now)
            .unwrap();
        let subject = sim_certs::OrgSubject::oces3(
            "Outside A/S",
            "12345678".parse().unwrap(),
            &format!("{name} system"),
        );
        let client = pki.issue_system(&subject, now).unwrap();
        let p = |n: &str| dir.join(format!("{name}.{n}"));
        let files = [
            ("root.pem", &pki.root.cert_pem),
            ("server.chain.pem", &server.chain_pem),
            ("server.key.pem", &server.key_pem),
            ("client.chain.pem", &client.chain_pem),
            ("client.key.pem", &client.key_pem),
        ];
        for (n, pem) in files {
            std::fs::write(p(n), pem).unwrap();
        }
        OwnPki {
            root: p("root.pem"),
            server_chain: p("server.chain.pem"),
            server_key: p("server.key.pem"),
            client_chain: p("client.chain.pem"),
            client_key: p("client.key.pem"),
            uuid: subject.uuid(),
        }
    }
}

/// A TransportKvittering answering `op` with `kode`.
pub fn receipt(op: Operation, kode: TransportValideringsKode) -> String {
    sim_wire::write(&Message::Response(Response {
        operation: op,
        body: ResponseBody::TransportKvittering(TransportKvittering {
            kode,
            begrundelse: (kode == TransportValideringsKode::Fejl).then(|| "refused".to_string()),
            fejl_liste: vec![],
        }),
    }))
}

/// What a `sim run` printed and reported: its exit code, the JSON report at `json`, and its
/// output (stdout, stderr) for assertion messages.
pub fn finished(
    out: std::process::Output,
    json: &Path,
) -> (Option<i32>, serde_json::Value, String) {
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let report = match std::fs::read_to_string(json) {
        Ok(t) => serde_json::from_str(&t).unwrap(),
        Err(e) => panic!("no report ({e}):\n{text}"),
    };
    (out.status.code(), report, text)
}

/// The verdict on `rule` for the report's first seat, which must be `seat`.
fn verdict<'a>(report: &'a serde_json::Value, seat: &str, rule: &str) -> &'a serde_json::Value {
    let s = &report["conformance"][0];
    assert_eq!(s["seat"], seat, "{report}");
    s["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["rule"] == rule)
        .unwrap_or_else(|| panic!("no verdict for {rule}"))
}

/// `pass`, `fail` or `not_exercised`: how `seat` did on `rule`.
pub fn seat_status(report: &serde_json::Value, seat: &str, rule: &str) -> String {
    verdict(report, seat, rule)["status"]
        .as_str()
        .unwrap()
        .to_string()
}

/// The counterexamples of `seat` on `rule`.
pub fn seat_evidence(report: &serde_json::Value, seat: &str, rule: &str) -> Vec<serde_json::Value> {
    verdict(report, seat, rule)["evidence"]
        .as_array()
        .unwrap()
        .clone()
}

/// The end every Python server here shares: handler `H` served by a threading HTTP server
/// on a free port behind TLS that requires a client certificate from `client_ca` (variables
/// `chain`, `key`, `client_ca` set by the script), printing its port.
macro_rules! mtls_serve {
    () => {
        r#"ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(chain, key)
ctx.load_verify_locations(client_ca)
ctx.verify_mode = ssl.CERT_REQUIRED
srv = ThreadingHTTPServer(('127.0.0.1', 0), H)
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
print(srv.server_address[1], flush=True)
srv.serve_forever()
"#
    };
}

/// An outside receiver in Python's `ssl` + `http.server`: requires a client certificate
/// chaining to the simulator's root (it trusts KOMBIT only through that CA), appends one JSON
/// line per call to a log, and answers every call with the same document.
/// Arguments: chain, key, client CA, answer file, log file; prints its port.
pub const ANSWERING_SERVER: &str = concat!(
    r#"
import json, ssl, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
chain, key, client_ca, answer_file, log = sys.argv[1:6]
answer = open(answer_file, 'rb').read()
class H(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers['Content-Length'])).decode('utf-8')
        subject = ' '.join(v for rdn in self.connection.getpeercert()['subject'] for (_, v) in rdn)
        with open(log, 'a') as f:
            f.write(json.dumps({'path': self.path, 'action': self.headers.get('SOAPAction', ''),
                                'caller': subject, 'body': body}) + '\n')
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

/// The simulator's certificates, made in `dir` before the run so an outside system can trust
/// its CA; returns KOMBIT's system UUID.
pub fn simulator_certs(dir: &Path) -> String {
    let refdata = sim::refdata::RefData::embedded().unwrap();
    let spec = sim_certs::PkiSpec::standard(&refdata.vendors, false);
    let now = sim_store::Clock::real().now();
    sim_certs::store::ensure(
        dir,
        &spec,
        sim_certs::OffsetDateTime::from_unix_timestamp(now.unix_timestamp()).unwrap(),
        false,
    )
    .unwrap();
    spec.systems
        .iter()
        .find(|s| s.stem == "kombit")
        .unwrap()
        .subject
        .uuid()
}

/// Starts one of our program binaries (`sim-sp`, `sim-ksd`) as a separate process with the
/// configuration `config` (JSON is YAML), its data plane on `data` and admin API on `admin`
/// (127.0.0.1), and waits until the admin port answers.
pub fn start_program(binary: &str, config: &Path, data: u16, admin: u16) -> Killed {
    let child = std::process::Command::new(
        env!("CARGO_BIN_EXE_sim").replace("/sim", &format!("/{binary}")),
    )
    .arg("--config")
    .arg(config)
    .args(["--listen", &format!("127.0.0.1:{data}")])
    .args(["--admin", &format!("127.0.0.1:{admin}")])
    .stdout(std::process::Stdio::null())
    .stderr(std::process::Stdio::null())
    .spawn()
    .unwrap_or_else(|e| panic!("the {binary} binary (built by the workspace's tests): {e}"));
    let guard = Killed(child);
    let up = (0..100).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(100));
        std::net::TcpStream::connect(("127.0.0.1", admin)).is_ok()
    });
    assert!(up, "{binary} did not start");
    guard
}

/// A platform in Python's `ssl` + `http.server`, as a pass-through: a jobcenter's update is
/// renamed to `ModtagOpdateringFravaer` and forwarded to KSD, a business receipt to the vendor
/// its security context's municipality is routed to, both with KOMBIT's certificate, and the
/// receiver's answer goes back unchanged but for the element's name.
/// Arguments: server chain, key, client CA, KOMBIT chain, KOMBIT key, CA for the receivers,
/// KSD's URL, a JSON file `{cvr: receiver URL}`; prints its port.
pub const PYTHON_PLATFORM: &str = concat!(
    r#"
import json, re, ssl, sys, urllib.request, urllib.error
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
chain, key, client_ca, k_chain, k_key, ca, ksd, routes = sys.argv[1:9]
routes = json.load(open(routes))
out = ssl.create_default_context(cafile=ca)
out.load_cert_chain(k_chain, k_key)
def forward(url, action, body):
    req = urllib.request.Request(url, data=body, method='POST', headers={
        'Content-Type': 'text/xml; charset=utf-8', 'SOAPAction': '"%s"' % action})
    try:
        r = urllib.request.urlopen(req, context=out, timeout=10)
        return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
def rename(body, a, b):
    return re.sub(rb'(</?(?:[A-Za-z0-9_]+:)?)' + a, rb'\1' + b, body)
class H(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    def do_POST(self):
        body = self.rfile.read(int(self.headers['Content-Length']))
        action = self.headers.get('SOAPAction', '').strip('"')
        if self.path.endswith('/service/KSD/Sygefravaer/2'):
            url, send, recv = ksd, b'SendOpdateringFravaer', b'ModtagOpdateringFravaer'
        else:
            m = re.search(rb'MunicipalityCVR>(\d{8})<', body).group(1).decode()
            url, send, recv = routes[m], b'SendForretningsSvar', b'ModtagForretningsSvar'
        status, answer = forward(url, action.replace(send.decode(), recv.decode()),
                                 rename(body, send + b'Request', recv + b'Request'))
        answer = rename(answer, recv + b'Response', send + b'Response')
        self.send_response(status)
        self.send_header('Content-Type', 'text/xml; charset=utf-8')
        self.send_header('Content-Length', str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)
    def log_message(self, *a):
        pass
"#,
    mtls_serve!()
);
