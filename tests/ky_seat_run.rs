//! An outside KY in KY's seat during `sim run` (SF1690): the platform's KY exposure forwards
//! the simulated vendors' KY messages to it, and it is graded rule by rule from the platform's
//! journal. The outside system is Python's `ssl` + `http.server` with its own CA, answering
//! every message with one fixed document; every call it got is logged.

mod outside;

use outside::{answering, free_port, run_seated, seat_status, simulator_certs, OwnPki};
use sim_wire::ky::KyOperation;

/// Speed 1 (an outside system keeps its own clock); a few consistent KY conversations.
const SCENARIO: &str = "
name: ky-seat
seed: 3
clock: {start: 2026-03-04T10:00:00+01:00, duration: 8s, speed: 1}
municipalities: all
volume: {total: 2}
ky: {total: 8}
expectations: {liveness_deadline: 8s}
";

/// Runs the scenario with a Python KY answering every call with `answer`: exit code, report,
/// console text, and the calls the outside KY logged.
fn run_with_python_ky(answer: &str) -> (Option<i32>, serde_json::Value, String, Vec<String>) {
    let dir = tempfile::tempdir().unwrap();
    let certs = dir.path().join("certs");
    simulator_certs(&certs);
    let own = OwnPki::new(dir.path(), "outside-ky");
    let (file, log) = (
        dir.path().join("answer.xml"),
        dir.path().join("calls.jsonl"),
    );
    std::fs::write(&file, answer).unwrap();
    let (_ky, port) = answering(&own, &certs, &file, &log, "the outside KY");
    let seat = format!("https://127.0.0.1:{port}/ky");
    let (code, report, text) = run_seated(
        dir.path(),
        SCENARIO,
        &certs,
        ("ky", &seat),
        None,
        &own.root,
        free_port(),
    );
    let calls = std::fs::read_to_string(&log)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect();
    (code, report, text, calls)
}

/// rules KY-1, WIRE-2, SP-13: a KY that answers every message with a TransportKvittering OK
/// gets the vendors' messages through the platform (with KOMBIT's certificate) and passes;
/// the vendors' `ky-receipts` check holds.
#[test]
fn an_outside_ky_answering_receipts_is_driven_and_passes_ky1() {
    let ok = sim_wire::ky::write::write_response(&sim_wire::ky::examples::response_ok(
        KyOperation::Kontaktforloeb,
    ));
    let (_, report, text, calls) = run_with_python_ky(&ok);
    assert!(!calls.is_empty(), "the seat got KY messages: {text}");
    assert!(
        calls
            .iter()
            .all(|c| c.contains("/ky") && c.contains("Kontanthjaelp")),
        "{calls:?}"
    );
    assert_eq!(seat_status(&report, "ky", "KY-1"), "pass", "{text}");
    assert_eq!(seat_status(&report, "ky", "WIRE-2"), "pass", "{text}");
    let check = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "ky-receipts")
        .unwrap();
    assert_eq!(check["passed"], true, "{check}");
}

/// rules KY-1, WIRE-2: a KY that answers with something that is no receipt fails WIRE-2 with
/// the evidence; the vendors never get a receipt (`ky-receipts` fails).
#[test]
fn an_outside_ky_answering_no_receipt_fails_wire2() {
    let (code, report, text, calls) = run_with_python_ky("<not-a-receipt/>");
    assert!(!calls.is_empty(), "{text}");
    assert_eq!(code, Some(1), "{text}");
    assert_eq!(seat_status(&report, "ky", "WIRE-2"), "fail", "{text}");
    let check = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "ky-receipts")
        .unwrap();
    assert_eq!(check["passed"], false, "{check}");
}
