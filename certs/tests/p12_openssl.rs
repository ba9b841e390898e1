//! The PKCS#12 written for a vendor opens with OpenSSL (Debian package `openssl`), the
//! tool most vendors will reach for first.

use std::process::Command;

use sim_certs::store::{ensure, issue_into, load_ca};
use sim_certs::{Cvr, OffsetDateTime, OrgSubject, PkiSpec, SystemEntry};

#[test]
fn openssl_opens_the_pkcs12_with_key_certificate_and_chain() {
    let tmp = tempfile::tempdir().unwrap();
    let now = OffsetDateTime::now_utc();
    let pki_dir = tmp.path().join("pki");
    ensure(&pki_dir, &PkiSpec::standard(&[], false), now, false).unwrap();
    let ca = load_ca(&pki_dir, now).unwrap();
    let entry = SystemEntry {
        stem: "acme".into(),
        role: "test".into(),
        subject: OrgSubject::oces3("Acme A/S", Cvr::new("12345678").unwrap(), "Acme JC"),
    };
    let out = tmp.path().join("out");
    issue_into(&ca, &out, &entry, now, false, "s3cret").unwrap();

    let p12 = out.join("acme.p12");
    let output = Command::new("openssl")
        .args(["pkcs12", "-in"])
        .arg(&p12)
        .args(["-passin", "pass:s3cret", "-nodes", "-info"])
        .output()
        .expect("run openssl (install the `openssl` package)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "openssl failed: {stderr}");
    assert!(stdout.contains("-----BEGIN PRIVATE KEY-----"), "{stdout}");
    assert_eq!(
        stdout.matches("-----BEGIN CERTIFICATE-----").count(),
        2,
        "leaf + issuing CA"
    );
    assert!(stdout.contains("NTRDK-12345678"), "{stdout}");
    assert!(
        stdout.contains("SIMULATED TEST ONLY Issuing CA 1"),
        "{stdout}"
    );
    assert!(
        stderr.contains("PBES2") && stderr.contains("sha256"),
        "modern algorithms: {stderr}"
    );

    // The wrong password is refused (the MAC is checked).
    let wrong = Command::new("openssl")
        .args(["pkcs12", "-in"])
        .arg(&p12)
        .args(["-passin", "pass:wrong", "-nodes"])
        .output()
        .unwrap();
    assert!(!wrong.status.success());
}
