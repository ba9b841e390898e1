//! `sim run` with the vendor-side fault kinds and `vendor_policies:`, end to end through the
//! real programs (on `127.0.0.1:0`, as `sim run` starts them): eighteen virtual days of cases
//! near their duration limit, in which
//! - schultz-jc answers every extension request after its SvarFrist (`late_extension_answer`):
//!   KSD sets 63 at the limit and then applies the late answer, reporting it late (KSD-9,
//!   KSD-11);
//! - kmd-jc acknowledges half its events twice (`event_ack_twice`): KSD counts the repeats and
//!   records each acknowledgement once (KSD-10);
//! - netcompany-jc leaves half its events of the first nine days unacknowledged
//!   (`unacknowledged_event`): KSD delivers them again after its acknowledgement timeout and
//!   the redelivery is acknowledged (KSD-10);
//!
//! and the checkers `duration-codes-follow-the-dialogue` and `events-acknowledged` pass.
//! Nothing is timed: every assertion is about what the stores and the report say after the run.

use std::process::Command;

use serde_json::Value;
use sim_store::rusqlite::Connection;

/// Cases created 20 to 21 weeks after their first day reach the 22-week limit one to two
/// weeks later, inside the run; every vendor answers every request (no `never_answered`), so
/// a 63 comes from a rejection or from lateness; schultz-jc, the late one, answers half a day
/// to a day after the limit, after KSD's pass at the limit. A day of virtual time per real
/// second keeps the run short and the lifecycle's passes (every 200 ms) hours apart.
const SCENARIO: &str = "\
name: vendor-faults
seed: 11
clock: {start: 2026-03-02T08:00:00+01:00, duration: 18d, speed: 86400}
volume: {total: 100}
receipt_delay: 50ms
cases: {total: 120, min_age_weeks: 20, max_age_weeks: 21}
vendor_policies:
  all:
    sf2093: {never_answered: 0}
  schultz-jc:
    sf2093: {rejected: 0, answer_delay_min: 12h, answer_delay_max: 24h}
faults:
  - kind: late_extension_answer
    target: schultz-jc
  - kind: event_ack_twice
    target: kmd-jc
    probability: 0.5
  - kind: unacknowledged_event
    target: netcompany-jc
    probability: 0.5
    window: {to: +9d}
expectations:
  max_lost: 0
  liveness_deadline: 3d
";

fn count(db: &Connection, sql: &str) -> i64 {
    db.query_row(sql, [], |r| r.get(0))
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// The municipalities (CVRs) a vendor instance received extension requests for, quoted for
/// an SQL `IN` list.
fn municipalities_of(jc: &Connection, instance: &str) -> String {
    let mut st = jc
        .prepare(
            "SELECT DISTINCT municipality FROM jc_extension_requests WHERE instance = ?1
             UNION SELECT DISTINCT municipality FROM jc_events WHERE instance = ?1",
        )
        .unwrap();
    let ms: Vec<String> = st
        .query_map([instance], |r| r.get::<_, String>(0))
        .unwrap()
        .map(|m| format!("'{}'", m.unwrap()))
        .collect();
    assert!(!ms.is_empty(), "{instance} received nothing");
    ms.join(", ")
}

#[test]
fn late_answers_become_63_then_apply_and_repeated_or_missing_acks_are_absorbed_ksd9_ksd10_ksd11() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("vendor-faults.yaml");
    std::fs::write(&scenario, SCENARIO).unwrap();
    let (state, json) = (dir.path().join("state"), dir.path().join("run.json"));
    let out = Command::new(env!("CARGO_BIN_EXE_sim"))
        .args(["run", scenario.to_str().unwrap(), "--progress", "plain"])
        .args(["--state-dir", state.to_str().unwrap()])
        .args(["--json", json.to_str().unwrap()])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("verdict: PASS"), "{stdout}");
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    for name in ["duration-codes-follow-the-dialogue", "events-acknowledged"] {
        let check = report["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .unwrap_or_else(|| panic!("no check {name}"));
        assert_eq!(check["passed"], true, "{check}");
        assert!(check["not_judged"].is_null(), "{check}");
    }
    let injected = |kind: &str, target: &str| -> u64 {
        report["faults"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["kind"] == kind && f["target"] == target)
            .map(|f| f["count"].as_u64().unwrap())
            .sum()
    };
    assert!(
        injected("late_extension_answer", "schultz-jc") > 0,
        "{report}"
    );
    assert!(injected("event_ack_twice", "kmd-jc") > 0, "{report}");
    assert!(
        injected("unacknowledged_event", "netcompany-jc") > 0,
        "{report}"
    );

    let jc = Connection::open(state.join("jobcenter/jobcenter.sqlite")).unwrap();
    let ksd = Connection::open(state.join("ksd/ksd.sqlite")).unwrap();

    // The vendor side (KSD-11): schultz-jc decided every request late, nobody else any.
    let schultz = count(
        &jc,
        "SELECT COUNT(*) FROM jc_extension_requests WHERE instance = 'schultz-jc'",
    );
    assert!(schultz > 0, "schultz-jc got extension requests");
    assert_eq!(
        count(
            &jc,
            "SELECT COUNT(*) FROM jc_extension_requests WHERE instance = 'schultz-jc' AND late"
        ),
        schultz
    );
    assert_eq!(
        count(
            &jc,
            "SELECT COUNT(*) FROM jc_extension_requests WHERE instance <> 'schultz-jc' AND late"
        ),
        0
    );

    // KSD's side (KSD-9, KSD-11): every answer from schultz-jc's municipalities was late,
    // applied all the same and answered ADVARSEL KSD-11.SEN ...
    let in_schultz = format!("municipality IN ({})", municipalities_of(&jc, "schultz-jc"));
    let answered = count(
        &ksd,
        &format!(
            "SELECT COUNT(*) FROM ksd_extension_requests WHERE {in_schultz} AND answer IS NOT NULL"
        ),
    );
    assert!(answered > 0, "some late answers reached KSD within the run");
    assert_eq!(
        count(
            &ksd,
            &format!(
                "SELECT COUNT(*) FROM ksd_extension_requests
                 WHERE {in_schultz} AND answer IS NOT NULL AND late AND applied"
            ),
        ),
        answered,
        "KSD reports each late and applies it"
    );
    assert!(
        count(
            &ksd,
            "SELECT COUNT(*) FROM journal
             WHERE operation = 'KSD/ModtagForretningsSvarForlaengelse#response'
               AND direction = 'out' AND outcome = 'ADVARSEL' AND raw LIKE '%KSD-11.SEN%'",
        ) >= answered,
        "each late answer is answered ADVARSEL KSD-11.SEN"
    );
    // ... and the case reached its limit first: 63, then the late answer's 62 or 64.
    let through_63 = count(
        &ksd,
        &format!(
            "SELECT COUNT(DISTINCT r.sag_id) FROM ksd_extension_requests r
             JOIN ksd_case_history h63 ON h63.sag_id = r.sag_id AND h63.varighed_kode = '63'
             JOIN ksd_case_history h ON h.sag_id = r.sag_id AND h.id > h63.id
                                     AND h.varighed_kode IN ('62', '64')
             WHERE r.{in_schultz} AND r.late AND r.applied"
        ),
    );
    assert!(
        through_63 > 0,
        "a late answer came after KSD set 63 at the limit"
    );

    // KSD-10: kmd-jc's doubled acknowledgements were counted, not recorded again; every event
    // netcompany-jc left unacknowledged was delivered again and then acknowledged.
    let in_kmd = format!("municipality IN ({})", municipalities_of(&jc, "kmd-jc"));
    assert!(
        count(
            &ksd,
            &format!("SELECT COUNT(*) FROM ksd_events WHERE {in_kmd} AND acks > sends")
        ) > 0
    );
    let in_netcompany = format!(
        "municipality IN ({})",
        municipalities_of(&jc, "netcompany-jc")
    );
    let redelivered = count(
        &ksd,
        &format!("SELECT COUNT(*) FROM ksd_events WHERE {in_netcompany} AND sends > 1"),
    );
    assert!(redelivered > 0, "KSD delivered withheld events again");
    assert_eq!(
        count(
            &ksd,
            &format!(
                "SELECT COUNT(*) FROM ksd_events
                 WHERE {in_netcompany} AND sends > 1 AND acked_at IS NOT NULL"
            ),
        ),
        redelivered,
        "each redelivered event is acknowledged"
    );
    assert_eq!(
        count(
            &jc,
            "SELECT COUNT(*) FROM jc_events WHERE instance = 'netcompany-jc'
             AND answer_state = 'pending' AND answer_due_at IS NULL"
        ),
        0,
        "no acknowledgement is still withheld"
    );
}
