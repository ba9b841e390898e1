//! `sim up` and `sim send` as a user runs them: two processes, the second finding the first
//! through `<state>/ecosystem.json`, the whole SF2095 exchange printed (SP-1, KSD-2); and the
//! seed each start of `sim up` prints and records.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

struct Up(Child);
impl Drop for Up {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn sim_up_then_sim_send_prints_the_whole_exchange() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let up = Command::new(env!("CARGO_BIN_EXE_sim"))
        .args([
            "up",
            "--ephemeral-ports",
            "--state-dir",
            state.to_str().unwrap(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _up = Up(up);
    let ready = state.join("ecosystem.json");
    for _ in 0..300 {
        if ready.exists() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(ready.exists(), "sim up did not start");

    let out = Command::new(env!("CARGO_BIN_EXE_sim"))
        .args([
            "send",
            "--state-dir",
            state.to_str().unwrap(),
            "--vendor",
            "schultz-jc",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("schultz-jc sends SendOpdateringFravaer"),
        "{text}"
    );
    assert!(
        text.contains("<kvit:TransportValideringsKode>OK</kvit:TransportValideringsKode>"),
        "{text}"
    );
    assert!(
        text.contains("Forretningskvittering received by schultz-jc: ACCEPTERET"),
        "{text}"
    );

    // rule KSD-5: a forbidden code is refused, and sim send says so with exit code 1.
    let out = Command::new(env!("CARGO_BIN_EXE_sim"))
        .args([
            "send",
            "--state-dir",
            state.to_str().unwrap(),
            "--aarsag",
            "64",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("KSD-5.VAERDI"), "{text}");
}

/// Starts `sim up` on fresh ephemeral ports in `state` and waits (bounded) for the printout's
/// seed line; returns the printed seed and the one in `ecosystem.json`, then stops it.
fn seed_of_one_start(state: &Path, extra: &[&str]) -> (String, serde_json::Value) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sim"))
        .args(["up", "--ephemeral-ports", "--state-dir"])
        .arg(state)
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let _up = Up(child);
    // A reader thread, so that the wait below has a deadline even if `sim up` hangs.
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let line = loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) if line.starts_with("seed: ") => break line,
            Ok(_) => continue,
            Err(e) => panic!("sim up printed no seed line within 60 s: {e}"),
        }
    };
    let printed = line["seed: ".len()..]
        .split(' ')
        .next()
        .unwrap()
        .to_string();
    assert_eq!(
        line,
        format!("seed: {printed} (pass --seed {printed} to reproduce)")
    );
    // Written before the printout.
    let eco: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(state.join("ecosystem.json")).unwrap())
            .unwrap();
    assert!(
        eco["sp_ksd_exposure"].is_string(),
        "the endpoints are still there: {eco}"
    );
    (printed, eco["seed"].clone())
}

#[test]
fn every_fresh_sim_up_takes_a_new_seed_unless_one_is_given() {
    let dir = tempfile::tempdir().unwrap();
    let (first, first_json) = seed_of_one_start(&dir.path().join("a"), &[]);
    let (second, second_json) = seed_of_one_start(&dir.path().join("b"), &[]);
    assert_eq!(
        first_json.to_string(),
        first,
        "ecosystem.json holds the printed seed"
    );
    assert_eq!(second_json.to_string(), second);
    assert!(first_json.is_u64(), "{first_json}");
    assert_ne!(
        first, second,
        "two fresh ecosystems must not draw the same TransaktionIdentifikatorer"
    );

    let (given, given_json) = seed_of_one_start(&dir.path().join("c"), &["--seed", "42"]);
    assert_eq!(given, "42");
    assert_eq!(given_json, 42);
}
