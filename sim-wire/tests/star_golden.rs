//! SF1612, STAR's side: every example of `sim_wire::star` (each operation's request and
//! response, an SP-12 fault, the ISO-8859-1 event document) written by the codec and checked in
//! twice — as golden files under `tests/data/STAR-*.xml` and as the published examples
//! `contracts/examples/STAR-*.xml` — where `contract_xsd.rs` validates them against the
//! published schemas; and every one read back to the value it was written from. Run with
//! `UPDATE_EXPECT=1` to rewrite both after a deliberate change.

use std::path::PathBuf;

use sim_wire::star::{self, examples, StarReply};
use sim_wire::{Rule, SoapFault};

fn dirs() -> [PathBuf; 2] {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    [here.join("tests/data"), here.join("../contracts/examples")]
}

/// The fault STAR answers a call without SP-12's headers with.
fn sp12_fault() -> SoapFault {
    SoapFault::serviceplatform(
        true,
        Rule::Sp12,
        "SP-12: the call lacks STAR's constant SOAP headers: the SOAP header ActiveOrganisationHeader is missing (SP-12)",
        "3e9a1c55-8b2d-4f70-9c13-6a4d2e8f0b71".parse().unwrap(),
        examples::CALLED_AT.parse().unwrap(),
    )
}

/// Every golden document: file name and bytes.
fn all() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for (name, call) in examples::requests() {
        out.push((
            format!("STAR-{name}.xml"),
            star::write_request(&call).unwrap().into_bytes(),
        ));
    }
    for (name, response) in examples::responses() {
        out.push((
            format!("STAR-{name}.xml"),
            star::write_response(&response).unwrap().into_bytes(),
        ));
    }
    out.push((
        "STAR-CreateSequence-fault.xml".into(),
        star::write_fault(&sp12_fault()).into_bytes(),
    ));
    out.push((
        "STAR-event-ISO-8859-1.xml".into(),
        star::event_document(&examples::registration()).unwrap(),
    ));
    out
}

#[test]
fn every_star_example_is_published_and_golden_and_reads_back() {
    let update = std::env::var_os("UPDATE_EXPECT").is_some();
    let all = all();
    assert_eq!(all.len(), 4 + 4 + 2);
    let mut mismatches = Vec::new();
    for dir in dirs() {
        for (name, written) in &all {
            let path = dir.join(name);
            if update {
                std::fs::write(&path, written).unwrap();
            }
            let golden = std::fs::read(&path)
                .unwrap_or_else(|e| panic!("{}: {e} (run with UPDATE_EXPECT=1)", path.display()));
            if &golden != written {
                mismatches.push(path.display().to_string());
            }
        }
    }
    assert!(
        mismatches.is_empty(),
        "golden files differ from the codec's output: {mismatches:?} (UPDATE_EXPECT=1 to accept)"
    );

    // Each reads back to what it was written from.
    let read =
        |name: &str| std::fs::read(dirs()[1].join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    for (name, call) in examples::requests() {
        let bytes = read(&format!("STAR-{name}.xml"));
        let back = star::read_request(&bytes, Some(&call.operation().soap_action())).unwrap();
        assert_eq!(back, call, "{name}");
        assert!(star::check_headers(back.operation(), &back.headers).is_empty());
    }
    for (name, response) in examples::responses() {
        let bytes = read(&format!("STAR-{name}.xml"));
        assert_eq!(
            star::read_response(&bytes).unwrap(),
            StarReply::Response(response),
            "{name}"
        );
    }
    match star::read_response(&read("STAR-CreateSequence-fault.xml")).unwrap() {
        StarReply::Fault(f) => assert_eq!(f.rule(), Some(Rule::Sp12)),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        star::read_event_document(&read("STAR-event-ISO-8859-1.xml")).unwrap(),
        examples::registration()
    );
}
