//! An outside KSD in KSD's seat during `sim run`, driven by the scenario's traffic and graded
//! rule by rule (issue 10). Two outside systems: our own `sim-ksd` binary started as a separate
//! process with its own CA for its server and client certificates (it keeps its own journal,
//! which the run does not read), and a Python `ssl` KSD that answers OK to everything and
//! never sends a business receipt.

use std::path::Path;

mod outside;

use outside::{
    answering, free_port, receipt, run_seated, seat_evidence, seat_status, simulator_certs,
    start_program, OwnPki,
};
use sim_wire::{Operation, TransportValideringsKode};

/// Speed 1 (an outside system keeps its own clock); a forbidden code now and then, which a
/// KSD must refuse (60-64, KSD-5) or discard (10, KSD-14).
const SCENARIO: &str = "
name: ksd-seat
seed: 5
clock: {start: 2026-03-04T10:00:00+01:00, duration: 8s, speed: 1}
municipalities: all
volume: {total: 12}
receipt_delay: 100ms
faults:
  - {kind: forbidden_code, probability: 0.25, codes: [60, 61, 62, 63, 64]}
  - {kind: forbidden_code, probability: 0.25, codes: [10]}
lookups: {total: 12, adversarial: 0.5}
ky: {total: 12}
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
    run_seated(
        dir,
        SCENARIO,
        certs,
        ("ksd", seat),
        Some(identity),
        trust,
        port,
    )
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
    assert_eq!(seat_status(&report, "ksd", "KSD-5"), "pass", "{text}");
    assert_eq!(seat_status(&report, "ksd", "KSD-14"), "pass", "{text}");
    assert_eq!(seat_status(&report, "ksd", "KSD-12"), "pass", "{text}");
    let once = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "processed-exactly-once")
        .unwrap();
    assert!(once["not_judged"].is_string(), "{once}");
    // SF1690: KY lives in the simulated KSD program, so with an outside KSD the platform has
    // no route to KY (SP-4): the runner sends no KY traffic rather than count those as KY's.
    assert_eq!(report["totals"]["ky"]["sent"], 0, "{text}");
    assert!(!text.contains("KY messages (SF1690"), "{text}");
    assert_eq!(code, Some(0), "{text}");
}

/// An outside KSD that answers every update with `kode` (a Python `http.server` behind
/// `ssl`, its own CA), run through the scenario: exit code, report, console text.
fn python_ksd_answering(
    kode: TransportValideringsKode,
) -> (Option<i32>, serde_json::Value, String) {
    python_ksd(receipt(Operation::ModtagOpdateringFravaer, kode))
}

/// An outside KSD that answers every call with `answer`.
fn python_ksd(answer: String) -> (Option<i32>, serde_json::Value, String) {
    let dir = tempfile::tempdir().unwrap();
    let certs = dir.path().join("certs");
    simulator_certs(&certs);
    let own = OwnPki::new(dir.path(), "outside-ksd");
    let (file, log) = (
        dir.path().join("answer.xml"),
        dir.path().join("calls.jsonl"),
    );
    std::fs::write(&file, answer).unwrap();
    let (_ksd, port) = answering(&own, &certs, &file, &log, "the outside KSD");
    let seat = format!("https://127.0.0.1:{port}/ksd");
    sim_run(
        dir.path(),
        &certs,
        &seat,
        &format!("12345678:{}", own.uuid),
        &own.root,
        free_port(),
    )
}

/// Answering OK to everything and sending no receipt: 60-64 accepted (KSD-5), accepted
/// updates never receipted (KSD-2); code 10 answered OK and not processed is a discard as
/// seen from outside (KSD-14 holds).
#[test]
fn a_ksd_that_never_sends_receipts_and_accepts_forbidden_codes_fails_ksd_2_and_ksd_5() {
    let (code, report, text) = python_ksd_answering(TransportValideringsKode::Ok);
    assert_eq!(code, Some(1), "{text}");
    assert_eq!(seat_status(&report, "ksd", "KSD-2"), "fail", "{text}");
    assert_eq!(seat_status(&report, "ksd", "KSD-5"), "fail", "{text}");
    assert_eq!(seat_status(&report, "ksd", "KSD-14"), "pass", "{text}");
    assert_eq!(seat_status(&report, "ksd", "KSD-1"), "pass", "{text}");
}

/// Answering FEJL to everything: 60-64 refused as they must be (KSD-5), but code 10 refused
/// instead of discarded, so the jobcenter would own it and send it again (KSD-14 fails).
#[test]
fn a_ksd_that_refuses_code_10_instead_of_discarding_it_fails_ksd_14() {
    let (code, report, text) = python_ksd_answering(TransportValideringsKode::Fejl);
    assert_eq!(code, Some(1), "{text}");
    assert_eq!(seat_status(&report, "ksd", "KSD-14"), "fail", "{text}");
    assert_eq!(seat_status(&report, "ksd", "KSD-5"), "pass", "{text}");
    assert_eq!(seat_status(&report, "ksd", "KSD-1"), "pass", "{text}");
}

/// A KSD that answers every look-up with a case of another municipality (here: one whose
/// Myndighed is KOMBIT's CVR, nobody's municipality) leaks: the seat fails KSD-12 with the
/// evidence, and the run's no-cross-municipality-read check fails.
#[test]
fn a_ksd_whose_lookups_return_another_municipalitys_case_fails_ksd_12() {
    let mut r = sim_wire::examples::response(Operation::HentSag);
    if let sim_wire::ResponseBody::Sag(s) = &mut r.body {
        s.myndighed = "19435075".parse().unwrap();
    }
    let (code, report, text) = python_ksd(sim_wire::write_response(&r));
    assert_eq!(code, Some(1), "{text}");
    assert_eq!(seat_status(&report, "ksd", "KSD-12"), "fail", "{text}");
    let evidence = seat_evidence(&report, "ksd", "KSD-12");
    assert!(
        evidence[0]["what"]
            .as_str()
            .unwrap()
            .contains("of 19435075"),
        "{evidence:?}"
    );
    let check = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "no-cross-municipality-read")
        .unwrap();
    assert_eq!(check["passed"], false, "{check}");
}
