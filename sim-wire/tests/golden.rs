//! Golden files: one example per operation (request and response) and a fault, written by
//! the codec and checked in under `tests/data/`. Run with `UPDATE_EXPECT=1` to rewrite them
//! after a deliberate change; the diff is then reviewed like code.

use std::path::PathBuf;

use sim_wire::{examples, read, write, Message};

fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

fn soap_action(m: &Message) -> Option<String> {
    match m {
        Message::Request(r) => Some(r.operation.soap_action()),
        Message::Response(r) => Some(r.operation.soap_action()),
        Message::Fault(_) => None,
    }
}

#[test]
fn every_operation_has_a_golden_file_that_the_codec_writes_and_reads_back() {
    let update = std::env::var_os("UPDATE_EXPECT").is_some();
    let all = examples::all();
    assert_eq!(all.len(), 29, "14 operations x (request, response) + fault");
    let mut mismatches = Vec::new();
    for (name, message) in &all {
        let written = write(message);
        let path = data_dir().join(name);
        if update {
            std::fs::create_dir_all(data_dir()).unwrap();
            std::fs::write(&path, &written).unwrap();
        }
        let golden = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (run with UPDATE_EXPECT=1)", path.display()));
        if golden != written {
            mismatches.push(name.clone());
        }
        let decoded = read(golden.as_bytes(), soap_action(message).as_deref()).unwrap();
        assert!(
            decoded.problems.is_empty(),
            "{name}: {:#?}",
            decoded.problems
        );
        assert_eq!(decoded.message.as_ref(), Some(message), "{name}");
    }
    assert!(
        mismatches.is_empty(),
        "golden files differ from the codec's output: {mismatches:?} (UPDATE_EXPECT=1 to accept)"
    );
}

/// The hand-written examples of the published contract (contracts/examples) are read by the
/// codec without any problem: the schema and the codec describe the same messages.
#[test]
fn the_published_contract_examples_decode_cleanly() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../contracts/examples");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "xml") {
            continue;
        }
        // SF1690's, STAR's and the Beskedfordeler's examples are other services', read by
        // `sim_wire::ky` (ky_golden.rs), `sim_wire::star` (star_golden.rs) and
        // `sim_wire::besked` (sim-bf/tests/contract_examples.rs).
        if path.file_name().is_some_and(|n| {
            let n = n.to_string_lossy();
            n.starts_with("KY-") || n.starts_with("STAR-") || n.starts_with("bf-")
        }) {
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        let decoded = read(&bytes, None).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(
            decoded.is_valid() && decoded.problems.is_empty(),
            "{}: {:#?}",
            path.display(),
            decoded.problems
        );
        n += 1;
    }
    assert!(n >= 20, "only {n} contract examples found");
}

/// The platform routes and journals even a message whose payload is broken: the security
/// context and the header's ids are read on their own (rules SP-2, SP-4).
#[test]
fn security_context_and_ids_survive_a_broken_payload() {
    let xml = write(&examples::opdatering_fravaer_request()).replace(
        "<sft:OphoersStartDato>2026-11-23</sft:OphoersStartDato>",
        "",
    );
    let d = read(xml.as_bytes(), None).unwrap();
    assert!(d.message.is_none());
    assert_eq!(
        d.authority_context.unwrap().municipality_cvr.to_string(),
        "29189846"
    );
    assert_eq!(
        d.transaktion_id.unwrap().to_string(),
        "3f2b8c1e-6a4d-4e8f-9b1a-2c7d5e9f0a13"
    );
    assert_eq!(d.myndighed.unwrap().to_string(), "29189846");
    assert_eq!(d.sygemeldte_part.unwrap().to_string(), "0101701234");
}
