//! `sim certs issue --server` as an outside system uses it: the server certificate for the
//! HTTPS endpoint that takes a seat. Checked with tools we did not write: OpenSSL reads its
//! extensions and verifies it for a host name, Python's `ssl` serves with it, and our own
//! `sim_kit` client (what the platform calls seats with) completes the handshake for the names
//! it was issued for and refuses it for any other.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use sim_kit::{ClientTlsConfig, HttpsClient, Identity, TrustAnchors};

fn sim(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sim"))
        .args(args)
        .current_dir(cwd)
        .output()
        .unwrap()
}

fn ok(out: Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn openssl(args: &[&str], cwd: &Path) -> Output {
    Command::new("openssl")
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("run openssl (install the `openssl` package)")
}

/// An HTTPS server in Python's `ssl`: the issued chain and key, and like a real seat it
/// requires a client certificate chaining to the simulator's root. Answers every GET with 200.
const PYTHON_SERVER: &str = r#"
import ssl, sys
from http.server import BaseHTTPRequestHandler, HTTPServer
chain, key, client_ca = sys.argv[1:4]
class H(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header('Content-Length', '2')
        self.end_headers()
        self.wfile.write(b'ok')
    def log_message(self, *a):
        pass
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(chain, key)
ctx.load_verify_locations(client_ca)
ctx.verify_mode = ssl.CERT_REQUIRED
srv = HTTPServer(('127.0.0.1', 0), H)
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
print(srv.server_address[1], flush=True)
srv.serve_forever()
"#;

/// The Python server, killed on drop.
struct Served {
    child: Child,
    port: u16,
}

impl Served {
    fn start(kit: &Path, stem: &str) -> Served {
        let mut child = Command::new("python3")
            .arg("-c")
            .arg(PYTHON_SERVER)
            .arg(kit.join(format!("{stem}.chain.pem")))
            .arg(kit.join(format!("{stem}.key.pem")))
            .arg(kit.join("root-ca.cert.pem"))
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 is required (the HTTPS server under test)");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line.trim().parse();
        let served = Served {
            child,
            port: *port.as_ref().unwrap_or(&0),
        };
        assert!(
            port.is_ok(),
            "the Python server did not start (printed {line:?})"
        );
        served
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A GET with our own client: KOMBIT's system certificate (what the platform presents when it
/// calls a seat), trusting only the kit's root. Bounded by the client's timeouts.
async fn get(pki: &Path, kit: &Path, url: &str) -> Result<u16, String> {
    let kombit = sim_certs::store::layout::system(pki, "kombit");
    let identity = Identity::from_pem_files(&kombit.chain, &kombit.key).unwrap();
    let trust = TrustAnchors::from_pem_files(&[kit.join("root-ca.cert.pem")]).unwrap();
    let mut config = ClientTlsConfig::new(Some(identity), trust);
    config.connect_timeout = Duration::from_secs(5);
    config.request_timeout = Duration::from_secs(10);
    let client = HttpsClient::new(config).unwrap();
    client
        .get(url, &[])
        .await
        .map(|r| r.status.as_u16())
        .map_err(|e| e.to_string())
}

fn issue(dir: &Path, out: &str, names: &[&str]) -> (PathBuf, String) {
    let mut args = vec![
        "certs",
        "issue",
        "--server",
        "--name",
        "Acme Receiver",
        "--pki",
        "pki",
        "--out",
        out,
    ];
    args.extend_from_slice(names);
    let stdout = ok(sim(&args, dir));
    (dir.join(out), stdout)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_certificate_serves_its_names_and_no_other() {
    sim_kit::install_crypto_provider();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let pki = dir.join("pki");

    // At least one name: a certificate without subjectAltName matches no URL.
    let none = sim(
        &["certs", "issue", "--server", "--name", "x", "--pki", "pki"],
        dir,
    );
    assert_eq!(none.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&none.stderr).contains("at least one DNS name or IP address"));

    let (by_name, stdout) = issue(dir, "by-name", &["--dns", "localhost", "--dns", "rx.test"]);
    assert!(
        stdout.contains("valid for:   DNS:localhost, DNS:rx.test (serverAuth only)"),
        "{stdout}"
    );
    let (by_ip, _) = issue(dir, "by-ip", &["--ip", "127.0.0.1"]);
    for kit in [&by_name, &by_ip] {
        for file in [
            "acme-receiver.cert.pem",
            "acme-receiver.chain.pem",
            "acme-receiver.key.pem",
            "acme-receiver.p12",
            "root-ca.cert.pem",
            "manifest.json",
            "README.txt",
        ] {
            assert!(kit.join(file).is_file(), "{file} missing in {kit:?}");
        }
    }

    // OpenSSL reads serverAuth (and no clientAuth) and the names.
    let ext = |kit: &Path| {
        let out = openssl(
            &[
                "x509",
                "-noout",
                "-ext",
                "extendedKeyUsage,subjectAltName",
                "-in",
                "acme-receiver.cert.pem",
            ],
            kit,
        );
        ok(out)
    };
    let text = ext(&by_name);
    assert!(text.contains("TLS Web Server Authentication"), "{text}");
    assert!(!text.contains("Client Authentication"), "{text}");
    assert!(text.contains("DNS:localhost, DNS:rx.test"), "{text}");
    let text = ext(&by_ip);
    assert!(text.contains("IP Address:127.0.0.1"), "{text}");
    assert!(!text.contains("DNS:"), "{text}");

    // OpenSSL verifies it as a TLS server certificate for its name, through the chain, to the
    // root; not for another name.
    let verify = |host: &str| {
        openssl(
            &[
                "verify",
                "-CAfile",
                "root-ca.cert.pem",
                "-untrusted",
                "acme-receiver.chain.pem",
                "-purpose",
                "sslserver",
                "-verify_hostname",
                host,
                "acme-receiver.cert.pem",
            ],
            &by_name,
        )
    };
    let good = verify("rx.test");
    assert!(
        good.status.success(),
        "{}",
        String::from_utf8_lossy(&good.stdout)
    );
    assert!(!verify("other.test").status.success());

    // The PKCS#12 holds the key and both certificates.
    let p12 = ok(openssl(
        &[
            "pkcs12",
            "-in",
            "acme-receiver.p12",
            "-passin",
            "pass:simulated",
            "-nodes",
        ],
        &by_name,
    ));
    assert!(p12.contains("-----BEGIN PRIVATE KEY-----"), "{p12}");
    assert_eq!(p12.matches("-----BEGIN CERTIFICATE-----").count(), 2);

    // A real handshake: Python serves, our client connects by the names issued, and is refused
    // by any other (both servers listen on 127.0.0.1; only the URL's host differs).
    let served = Served::start(&by_name, "acme-receiver");
    let url = |host: &str| format!("https://{host}:{}/ws", served.port);
    assert_eq!(get(&pki, &by_name, &url("localhost")).await, Ok(200));
    let refused = get(&pki, &by_name, &url("127.0.0.1")).await.unwrap_err();
    assert!(refused.contains("not valid for name"), "{refused}");
    drop(served);

    let served = Served::start(&by_ip, "acme-receiver");
    let url = |host: &str| format!("https://{host}:{}/ws", served.port);
    assert_eq!(get(&pki, &by_ip, &url("127.0.0.1")).await, Ok(200));
    let refused = get(&pki, &by_ip, &url("localhost")).await.unwrap_err();
    assert!(refused.contains("not valid for name"), "{refused}");
}
