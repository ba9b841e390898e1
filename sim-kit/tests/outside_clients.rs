//! Non-Rust TLS stacks (curl and `openssl s_client`, both OpenSSL-based) against our server
//! and certificates: proof that the PKI and the server are not only self-consistent.
//!
//! Needs the `curl` and `openssl` command-line tools (Debian packages `curl`, `openssl`).

mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use common::{capture_logs, echo_router, start, Pki, VENDOR_CVR};
use sim_certs::store::layout;

/// Runs a command off the runtime thread (the server keeps running on it meanwhile).
async fn run(program: &'static str, args: Vec<String>, stdin: &'static [u8]) -> Output {
    tokio::task::spawn_blocking(move || {
        let mut child = Command::new(program)
            .args(&args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {program} (install it): {e}"));
        child.stdin.take().unwrap().write_all(stdin).unwrap();
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap()
}

fn p(path: &Path) -> String {
    path.to_str().unwrap().to_owned()
}

fn curl_args(pki: &Pki, url: &str, client: Option<&sim_certs::store::Files>) -> Vec<String> {
    let mut args = vec![
        "-sS".into(),
        "--max-time".into(),
        "20".into(),
        "--cacert".into(),
        p(&pki.root()),
        "-X".into(),
        "POST".into(),
        "-H".into(),
        "Content-Type: text/xml; charset=utf-8".into(),
        "--data".into(),
        "<x/>".into(),
    ];
    if let Some(files) = client {
        args.extend([
            "--cert".into(),
            p(&files.chain),
            "--key".into(),
            p(&files.key),
        ]);
    }
    args.push(url.into());
    args
}

#[tokio::test]
async fn curl_with_a_system_certificate_reaches_the_handler() {
    let _logs = capture_logs();
    let pki = Pki::new();
    let server = start(pki.server_tls(None), echo_router()).await;
    let files = layout::system(pki.path(), "acme-jc");
    // By host name and by IP address: both are SANs of the server certificate.
    for url in [
        server.url("/whoami"),
        format!("https://127.0.0.1:{}/whoami", server.addr.port()),
    ] {
        let out = run("curl", curl_args(&pki, &url, Some(&files)), b"").await;
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "curl failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            stdout.starts_with(&format!("cvr={VENDOR_CVR};uuid=")),
            "{stdout}"
        );
    }
    server.stop().await;
}

#[tokio::test]
async fn curl_with_bad_or_no_certificate_is_refused_and_logged() {
    let logs = capture_logs();
    let pki = Pki::new();
    let server = start(pki.server_tls(None), echo_router()).await;
    let url = server.url("/whoami");
    for (stem, reason) in [
        (Some("expired"), "expired"),
        (Some("unknown-ca"), "unknown_ca"),
        (Some("no-client-auth-eku"), "missing_client_auth_eku"),
        (Some("no-cvr"), "no_cvr"),
        (None, "no_client_certificate"),
    ] {
        logs.clear();
        let files = stem.map(|s| layout::bad(pki.path(), s));
        let out = run("curl", curl_args(&pki, &url, files.as_ref()), b"").await;
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(!out.status.success(), "{stem:?}: curl succeeded: {stdout}");
        assert!(!stdout.contains("cvr="), "{stem:?} reached the handler");
        logs.wait_for(&["refused connection", &format!("reason={reason}")])
            .await;
    }
    server.stop().await;
}

fn s_client_args(pki: &Pki, port: u16, files: &sim_certs::store::Files) -> Vec<String> {
    vec![
        "s_client".into(),
        "-connect".into(),
        format!("127.0.0.1:{port}"),
        "-servername".into(),
        "localhost".into(),
        "-verify_hostname".into(),
        "localhost".into(),
        "-verify_return_error".into(),
        "-CAfile".into(),
        p(&pki.root()),
        "-cert".into(),
        p(&files.cert),
        "-cert_chain".into(),
        p(&files.chain),
        "-key".into(),
        p(&files.key),
        "-quiet".into(),
    ]
}

const REQUEST: &[u8] = b"GET /whoami HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";

#[tokio::test]
async fn openssl_s_client_verifies_our_server_and_is_identified() {
    let _logs = capture_logs();
    let pki = Pki::new();
    let server = start(pki.server_tls(None), echo_router()).await;
    let files = layout::system(pki.path(), "ksd");
    let out = run(
        "openssl",
        s_client_args(&pki, server.addr.port(), &files),
        REQUEST,
    )
    .await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.starts_with("HTTP/1.1 200 OK"),
        "stdout: {stdout}\nstderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("cvr=19435075;uuid="), "{stdout}");
    server.stop().await;
}

#[tokio::test]
async fn openssl_s_client_with_a_not_yet_valid_certificate_is_refused() {
    let logs = capture_logs();
    let pki = Pki::new();
    let server = start(pki.server_tls(None), echo_router()).await;
    let files = layout::bad(pki.path(), "not-yet-valid");
    let out = run(
        "openssl",
        s_client_args(&pki, server.addr.port(), &files),
        REQUEST,
    )
    .await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!stdout.contains("200 OK"), "{stdout}");
    logs.wait_for(&["refused connection", "reason=not_yet_valid"])
        .await;
    server.stop().await;
}
