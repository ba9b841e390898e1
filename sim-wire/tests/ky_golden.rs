//! SF1690 golden files: every KY example (each operation and sub-action, requests and
//! receipts) written by the codec and checked in under `tests/data/KY-*.xml`, where
//! `contract_xsd.rs` validates them against the published schemas; and the published
//! `contracts/examples/KY-*.xml` read by `sim_wire::ky` without a problem. Run with
//! `UPDATE_EXPECT=1` to rewrite the golden files after a deliberate change.

use std::path::PathBuf;

use sim_wire::ky::{self, examples, KyMessage, KyOperation};

fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

/// Every golden message with its file name.
fn all() -> Vec<(String, KyMessage)> {
    let mut out: Vec<(String, KyMessage)> = examples::requests()
        .into_iter()
        .map(|(name, r)| (format!("KY-{name}-request.xml"), KyMessage::Request(r)))
        .collect();
    for op in KyOperation::ALL {
        out.push((
            format!("KY-{}-response.xml", op.name()),
            KyMessage::Response(examples::response_ok(op)),
        ));
    }
    out.push((
        "KY-SendAktivitet-response-FEJL.xml".into(),
        KyMessage::Response(examples::response_fejl()),
    ));
    out
}

#[test]
fn every_ky_example_has_a_golden_file_the_codec_writes_and_reads_back() {
    let update = std::env::var_os("UPDATE_EXPECT").is_some();
    let all = all();
    assert_eq!(
        all.len(),
        16 + 8 + 1,
        "16 sub-actions, 8 receipts, one FEJL"
    );
    let mut mismatches = Vec::new();
    for (name, message) in &all {
        let written = ky::write(message);
        let path = data_dir().join(name);
        if update {
            std::fs::write(&path, &written).unwrap();
        }
        let golden = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (run with UPDATE_EXPECT=1)", path.display()));
        if golden != written {
            mismatches.push(name.clone());
        }
        let d = ky::read(golden.as_bytes(), None).unwrap();
        assert!(d.problems.is_empty(), "{name}: {:#?}", d.problems);
        assert_eq!(d.message.as_ref(), Some(message), "{name}");
    }
    assert!(
        mismatches.is_empty(),
        "golden files differ from the codec's output: {mismatches:?} (UPDATE_EXPECT=1 to accept)"
    );
}

/// The published KY examples are read by the codec without a problem (rule KY-1: every
/// operation has a request and a receipt there).
#[test]
fn the_published_ky_examples_decode_cleanly() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../contracts/examples");
    let mut seen = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !name.starts_with("KY-") || !name.ends_with(".xml") {
            continue;
        }
        let d = ky::read(&std::fs::read(&path).unwrap(), None)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(
            d.message.is_some() && d.problems.is_empty(),
            "{name}: {:#?}",
            d.problems
        );
        seen.push((d.operation, d.kind));
    }
    for op in KyOperation::ALL {
        for kind in [
            sim_wire::MessageKind::Request,
            sim_wire::MessageKind::Response,
        ] {
            assert!(seen.contains(&(Some(op), kind)), "{op} {kind:?}");
        }
    }
}
