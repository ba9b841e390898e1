//! An outside KSD in KSD's seat during `sim run`, driven by the scenario's traffic and graded
//! rule by rule (issue 10). Two outside systems: our own `sim-ksd` binary started as a separate
//! process with its own CA for its server and client certificates (it keeps its own journal,
//! which the run does not read), and a Python `ssl` KSD that answers OK to everything and
//! never sends a business receipt.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

mod outside;

use outside::{
    finished, free_port, receipt, seat_status, simulator_certs, start_program, Killed, OwnPki,
    ANSWERING_SERVER,
};
use sim_wire::{Operation, TransportValideringsKode};

/// Speed 1 (an outside system keeps its own clock); a forbidden code now and then, which a
/// KSD must refuse (KSD-5).
const SCENARIO: &str = "
name: ksd-seat
seed: 5
clock: {start: 2026-03-04T10:00:00+01:00, duration: 8s, speed: 1}
municipalities: all
volume: {total: 6}
receipt_delay: 100ms
faults:
  - {kind: forbidden_code, probability: 0.4}
expectations: {liveness_deadline: 8s}
";

fn sim_run(
    dir: &Path,
    certs: &Path,
    seat: &str,
    identity: &str,
    trust: &Path,
    port: u16,
) -> (Option<i32>, serde_json::Value, String) {
    std::fs::write(dir.join("scenario.yaml"), SCENARIO).unwrap();
    let json = dir.join("run.json");
    let out = Command::new(env!("CARGO_BIN_EXE_sim"))
        .arg("run")
        .arg(dir.join("scenario.yaml"))
        .args(["--progress", "plain", "--state-dir"])
        .arg(dir.join("state"))
        .arg("--certs")
        .arg(certs)
        .arg("--seat")
        .arg(format!("ksd={seat}"))
        .arg("--seat-identity")
        .arg(format!("ksd={identity}"))
        .arg("--trust")
        .arg(trust)
        .args(["--platform-port", &port.to_string(), "--json"])
        .arg(&json)
        .output()
        .unwrap();
    finished(out, &json)
}

#[test]
fn a_separately_started_ksd_with_its_own_ca_is_driven_and_passes() {
    let dir = tempfile::tempdir().unwrap();
    let certs = dir.path().join("certs");
    let kombit_uuid = simulator_certs(&certs);
    let own = OwnPki::new(dir.path(), "outside-ksd");
    let (platform, data, admin) = (free_port(), free_port(), free_port());
    let root = sim_certs::store::layout::root_ca(&certs);
    let config = serde_json::json!({
        "state_dir": dir.path().join("outside-ksd-state"),
        "server": {"cert": own.server_chain, "key": own.server_key},
        "client_trust": [root],
        "identity": {"cert": own.client_chain, "key": own.client_key},
        "server_trust": [root],
        "platform": {"url": format!("https://127.0.0.1:{platform}/service/JC/Sygefravaer/2")},
        "platform_system": {"cvr": "19435075", "uuid": kombit_uuid},
        "ksd_system_uuid": own.uuid,
        "receipt_delay_ms": 100,
    });
    let file = dir.path().join("outside-ksd.yaml");
    std::fs::write(&file, serde_json::to_string_pretty(&config).unwrap()).unwrap();
    let _ksd = start_program("sim-ksd", &file, data, admin);

    let seat = format!("https://127.0.0.1:{data}/ksd/Sygefravaer/2");
    let (code, report, text) = sim_run(
        dir.path(),
        &certs,
        &seat,
        &format!("12345678:{}", own.uuid),
        &own.root,
        platform,
    );
    for rule in ["KSD-1", "WIRE-2", "KSD-2", "SP-8"] {
        assert_eq!(seat_status(&report, "ksd", rule), "pass", "{rule}: {text}");
    }
    assert_ne!(seat_status(&report, "ksd", "KSD-5"), "fail", "{text}");
    let once = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "processed-exactly-once")
        .unwrap();
    assert!(once["not_judged"].is_string(), "{once}");
    assert_eq!(code, Some(0), "{text}");
}

#[test]
fn a_ksd_that_never_sends_receipts_and_accepts_forbidden_codes_fails_ksd_2_and_ksd_5() {
    let dir = tempfile::tempdir().unwrap();
    let certs = dir.path().join("certs");
    simulator_certs(&certs);
    let own = OwnPki::new(dir.path(), "outside-ksd");
    let ok = receipt(
        Operation::ModtagOpdateringFravaer,
        TransportValideringsKode::Ok,
    );
    std::fs::write(dir.path().join("ok.xml"), ok).unwrap();
    let mut child = Command::new("python3")
        .arg("-c")
        .arg(ANSWERING_SERVER)
        .arg(&own.server_chain)
        .arg(&own.server_key)
        .arg(sim_certs::store::layout::root_ca(&certs))
        .arg(dir.path().join("ok.xml"))
        .arg(dir.path().join("calls.jsonl"))
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 is required (the outside KSD)");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let _ksd = Killed(child);
    let seat = format!("https://127.0.0.1:{}/ksd", line.trim());
    let (code, report, text) = sim_run(
        dir.path(),
        &certs,
        &seat,
        &format!("12345678:{}", own.uuid),
        &own.root,
        free_port(),
    );
    assert_eq!(code, Some(1), "{text}");
    assert_eq!(seat_status(&report, "ksd", "KSD-2"), "fail", "{text}");
    assert_eq!(seat_status(&report, "ksd", "KSD-5"), "fail", "{text}");
    assert_eq!(seat_status(&report, "ksd", "KSD-1"), "pass", "{text}");
}
