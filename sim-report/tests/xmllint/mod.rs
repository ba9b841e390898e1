//! Runs xmllint (Debian package libxml2-utils) on a document given on stdin. A missing xmllint
//! fails the test; it is never skipped (CI installs it, see `.ci/run`).

use std::io::Write;
use std::process::{Command, Output, Stdio};

const INSTALL_HINT: &str =
    "xmllint is required: install libxml2-utils (apt-get install -y libxml2-utils)";

/// `xmllint <args> -` with `document` on stdin; never fetches anything (`--nonet`).
pub fn xmllint(args: &[&str], document: &str) -> Output {
    let mut child = match Command::new("xmllint")
        .args(["--nonet"])
        .args(args)
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(child) => child,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            panic!("{INSTALL_HINT} (xmllint not found on PATH)")
        }
        Err(e) => panic!("{INSTALL_HINT} (running xmllint failed: {e})"),
    };
    // Written from a thread: xmllint may fill its stderr pipe before it has read all of stdin.
    let mut stdin = child.stdin.take().expect("stdin is piped");
    let document = document.to_owned();
    let writer = std::thread::spawn(move || stdin.write_all(document.as_bytes()));
    let output = child.wait_with_output().expect("xmllint finishes");
    writer
        .join()
        .expect("the writer thread does not panic")
        .expect("xmllint reads its stdin");
    output
}
