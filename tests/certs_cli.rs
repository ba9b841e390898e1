//! `sim certs` as a user runs it: idempotent generation and `issue`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A scratch directory under the system temp dir, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("sim-certs-cli-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn sim(args: &[&str], cwd: &Path) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_sim"))
        .args(args)
        .current_dir(cwd)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "sim {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Every file under `dir` with its bytes, sorted.
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                files.push((path.clone(), std::fs::read(&path).unwrap()));
            }
        }
    }
    files.sort();
    files
}

#[test]
fn a_second_run_keeps_every_file_and_force_replaces_them() {
    let scratch = Scratch::new("idempotent");
    let first = sim(&["certs", "--state-dir", "state", "--legacy"], &scratch.0);
    let first = String::from_utf8_lossy(&first.stdout);
    assert!(first.contains("created  ca/root"), "{first}");
    assert!(
        first.contains("created  systems/kmd-jc"),
        "vendors.csv is used: {first}"
    );
    assert!(first.contains("created  legacy/ksd"), "{first}");
    assert!(first.contains("created  bad/no-cvr"), "{first}");
    let certs = scratch.0.join("state/certs");
    for file in [
        "ca/root.cert.pem",
        "servers/sp.chain.pem",
        "manifest.json",
        "README.txt",
    ] {
        assert!(certs.join(file).is_file(), "{file} missing");
    }
    let before = snapshot(&certs);

    let second = sim(&["certs", "--state-dir", "state"], &scratch.0);
    let second = String::from_utf8_lossy(&second.stdout);
    assert!(
        !second.contains("created") && !second.contains("renewed"),
        "{second}"
    );
    assert!(
        second.contains("kept     legacy/ksd"),
        "legacy stays maintained: {second}"
    );
    assert_eq!(
        snapshot(&certs),
        before,
        "a second run must leave every byte alone"
    );

    let forced = sim(&["certs", "--state-dir", "state", "--force"], &scratch.0);
    let forced = String::from_utf8_lossy(&forced.stdout);
    assert!(!forced.contains("kept"), "{forced}");
    assert!(forced.contains("renewed  ca/root (--force)"), "{forced}");
    assert_ne!(
        std::fs::read(certs.join("ca/root.cert.pem")).unwrap(),
        before
            .iter()
            .find(|(p, _)| p.ends_with("ca/root.cert.pem"))
            .unwrap()
            .1
    );
}

#[test]
fn out_overrides_the_directory_and_issue_writes_a_vendor_kit() {
    let scratch = Scratch::new("issue");
    sim(&["certs", "--out", "pki"], &scratch.0);
    assert!(scratch.0.join("pki/ca/root.cert.pem").is_file());

    let issued = sim(
        &[
            "certs", "issue", "--cvr", "12345678", "--name", "Acme JC", "--pki", "pki", "--out",
            "kit",
        ],
        &scratch.0,
    );
    let stdout = String::from_utf8_lossy(&issued.stdout);
    assert!(
        stdout.contains("identity:    CVR 12345678 UUID "),
        "{stdout}"
    );
    for file in [
        "acme-jc.cert.pem",
        "acme-jc.chain.pem",
        "acme-jc.key.pem",
        "acme-jc.p12",
        "root-ca.cert.pem",
        "manifest.json",
        "README.txt",
    ] {
        assert!(scratch.0.join("kit").join(file).is_file(), "{file} missing");
    }
    assert_eq!(
        std::fs::read(scratch.0.join("kit/root-ca.cert.pem")).unwrap(),
        std::fs::read(scratch.0.join("pki/ca/root.cert.pem")).unwrap(),
        "the kit's trust anchor is the PKI's root"
    );
    // The manifest says what the certificate is for: a caller identity, no host names.
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(scratch.0.join("kit/manifest.json")).unwrap())
            .unwrap();
    let entry = &manifest["entries"][1];
    assert_eq!(entry["id"], "acme-jc");
    assert_eq!(
        entry["extended_key_usage"],
        serde_json::json!(["clientAuth"])
    );
    assert!(entry.get("subject_alt_names").is_none(), "{entry}");
    // Issuing again keeps the certificate.
    let again = sim(
        &[
            "certs", "issue", "--cvr", "12345678", "--name", "Acme JC", "--pki", "pki", "--out",
            "kit",
        ],
        &scratch.0,
    );
    assert!(String::from_utf8_lossy(&again.stdout).contains("kept     acme-jc"));

    // The global --state-dir works before and after `issue`; the default kit location is
    // <state-dir>/certs/issued/<name as file stem>.
    sim(
        &[
            "certs",
            "--state-dir",
            "st1",
            "issue",
            "--cvr",
            "12345678",
            "--name",
            "Y Y",
        ],
        &scratch.0,
    );
    sim(
        &[
            "certs",
            "issue",
            "--state-dir",
            "st2",
            "--cvr",
            "12345678",
            "--name",
            "Y Y",
        ],
        &scratch.0,
    );
    for st in ["st1", "st2"] {
        assert!(
            scratch
                .0
                .join(st)
                .join("certs/issued/y-y/y-y.p12")
                .is_file(),
            "{st}"
        );
    }

    let bad = Command::new(env!("CARGO_BIN_EXE_sim"))
        .args([
            "certs", "issue", "--cvr", "1234", "--name", "x", "--pki", "pki",
        ])
        .current_dir(&scratch.0)
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("8 digits"));
}
