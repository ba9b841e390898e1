//! SF1690 in `sim run`: the simulated jobcenters' consistent KY conversations go through the
//! platform's KY exposure to the simulated KY, through every kind of fault the platform can
//! have (slow, timeout, connection reset, SOAP fault, service window), a FEJL injected at KSD's
//! program (which KY's port answers without a receipt: the platform's SP-4, not a KY refusal)
//! and crashes of KSD (KY unreachable) and of the jobcenter (its quick attempts cut off): every
//! message is resent until KY's TransportKvittering (JC-1), none is refused (KY-1..KY-10), and
//! `ky-receipts` passes.

use std::path::Path;
use std::process::Command;

/// At speed 120 (twenty virtual minutes in ten seconds): virtual time keeps pace with the calls,
/// so the faults' windows hold the KY traffic they are meant for (at `max` the clock may race
/// past a window while calls are still on their way).
const SCENARIO: &str = "
name: ky-through-faults
seed: 31
clock: {start: 2026-03-03T04:55:00+01:00, duration: 20m, speed: 120}
municipalities: all
vendors: all
volume: {total: 60}
receipt_delay: 50ms
profile:
  hourly: [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]
ky: {total: 120, allowance_share: 0.5}
faults:
  - kind: service_window
    weekly: { weekday: tuesday, from: '05:00', to: '05:05' }
  - {kind: slow_platform, probability: 0.2, delay: 800ms, window: {to: +15m}}
  - {kind: timeout, target: sp, probability: 0.05, window: {to: +15m}}
  - {kind: connection_reset, target: sp, probability: 0.05, window: {to: +15m}}
  - {kind: soap_fault, target: sp, probability: 0.1, window: {to: +15m}}
  - {kind: fejl_receipt, target: ksd, probability: 0.1, window: {to: +15m}}
  - {kind: crash, target: ksd, at: +7m, downtime: 30s}
  - {kind: crash, target: jobcenter, at: +11m, downtime: 30s}
expectations: {max_lost: 0, liveness_deadline: 10m}
";

fn run(dir: &Path) -> (Option<i32>, serde_json::Value, String) {
    std::fs::write(dir.join("scenario.yaml"), SCENARIO).unwrap();
    let json = dir.join("run.json");
    let out = Command::new(env!("CARGO_BIN_EXE_sim"))
        .arg("run")
        .arg(dir.join("scenario.yaml"))
        .args(["--progress", "plain", "--state-dir"])
        .arg(dir.join("state"))
        .arg("--json")
        .arg(&json)
        .output()
        .unwrap();
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let report = std::fs::read_to_string(&json)
        .map(|s| serde_json::from_str(&s).unwrap())
        .unwrap_or_else(|e| panic!("no report ({e}):\n{text}"));
    (out.status.code(), report, text)
}

// rules KY-1, JC-1, SP-4, SP-9, KY-10
#[test]
fn ky_conversations_are_accepted_through_every_fault_and_ky_receipts_passes() {
    let dir = tempfile::tempdir().unwrap();
    let (code, report, text) = run(dir.path());
    let ky = &report["totals"]["ky"];
    let n = |k: &str| ky[k].as_u64().unwrap();
    assert!(n("sent") >= 80, "{ky}");
    assert!(n("conversations") >= 10, "{ky}");
    assert_eq!(n("accepted"), n("sent"), "{ky}\n{text}");
    assert_eq!((n("refused"), n("unanswered")), (0, 0), "{ky}");
    assert!(n("p99_ms") >= n("p50_ms"), "{ky}");
    let check = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "ky-receipts")
        .unwrap();
    assert_eq!(check["passed"], true, "{check}");
    assert!(
        check["summary"].as_str().unwrap().starts_with(&format!(
            "{} KY messages sent by the simulated vendors: {} accepted, 0 refused",
            n("sent"),
            n("sent")
        )),
        "{check}"
    );
    assert!(text.contains("KY messages (SF1690, KY-1)"), "{text}");
    assert_eq!(code, Some(0), "{text}");

    // The faults reached the KY calls, and each was sent again until KY's receipt.
    let jc =
        sim_store::rusqlite::Connection::open(dir.path().join("state/jobcenter/jobcenter.sqlite"))
            .unwrap();
    let count = |outcome: &str| -> i64 {
        jc.query_row(
            "SELECT COUNT(*) FROM journal WHERE operation LIKE 'KY/%' AND direction = 'out'
             AND outcome LIKE ?1",
            [outcome],
            |r| r.get(0),
        )
        .unwrap()
    };
    assert!(count("FAULT:SP-9") > 0, "the service window");
    assert!(
        count("FAULT:SP-4") > 0,
        "SOAP faults, KSD's FEJL, KY unreachable"
    );
    assert!(count("UNREACHABLE") > 0, "resets and timeouts");
    assert_eq!(count("OK"), n("sent") as i64, "one receipt per message");
    assert_eq!(count("FEJL"), 0);
}
