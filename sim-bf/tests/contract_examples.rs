//! The Beskedfordeler's published examples (`contracts/examples/bf-*.xml`) are what the codec
//! writes: every SOAP operation's request and response, the bare Haendelsesbesked, a BF-1
//! fault. `sim-wire/tests/contract_xsd.rs` validates them against the published schemas with
//! xmllint; here each is compared with the codec's output and read back to its value. Run with
//! `UPDATE_EXPECT=1` to rewrite them after a deliberate change.

use std::path::PathBuf;

use sim_wire::besked::{self, examples, BfMessage, BfOperation};
use sim_wire::{Rule, SoapFault};

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../contracts/examples")
}

fn fault() -> SoapFault {
    SoapFault::serviceplatform(
        true,
        Rule::Bf1,
        "Subscription 7d2e3f40-5162-4c73-9d84-9eafb0c1d2e3 is not one of CVR 99000077's subscriptions.",
        "0a1b2c3d-4e5f-4a6b-8c7d-8e9fa0b1c2d3".parse().unwrap(),
        "2026-11-23T09:15:02+01:00".parse().unwrap(),
    )
}

fn all() -> Vec<(String, String, Option<BfMessage>)> {
    let mut out = Vec::new();
    for op in BfOperation::SOAP {
        let req = examples::request(op).unwrap();
        out.push((
            format!("bf-{op}-request.xml"),
            besked::write_request(&req),
            Some(BfMessage::Request(req)),
        ));
        let resp = examples::response(op).unwrap();
        out.push((
            format!("bf-{op}-response.xml"),
            besked::write_response(&resp),
            Some(BfMessage::Response(resp)),
        ));
    }
    out.push((
        "bf-HentBeskeder-fault.xml".into(),
        besked::write_fault(&fault()),
        Some(BfMessage::Fault(fault())),
    ));
    out.push((
        "bf-Haendelsesbesked.xml".into(),
        besked::write_haendelsesbesked(&examples::haendelsesbesked()),
        None,
    ));
    out
}

#[test]
fn every_beskedfordeler_example_is_published_and_reads_back() {
    let update = std::env::var_os("UPDATE_EXPECT").is_some();
    let mut stale = Vec::new();
    for (name, xml, value) in all() {
        let path = dir().join(&name);
        if update {
            std::fs::write(&path, &xml).unwrap();
        }
        match std::fs::read_to_string(&path) {
            Ok(published) if published == xml => {}
            _ => stale.push(name.clone()),
        }
        match value {
            Some(v) => assert_eq!(besked::read(xml.as_bytes(), None).unwrap(), v, "{name}"),
            None => assert_eq!(
                besked::read_haendelsesbesked(xml.as_bytes()).unwrap(),
                examples::haendelsesbesked()
            ),
        }
    }
    assert!(
        stale.is_empty(),
        "contracts/examples differ from the codec (UPDATE_EXPECT=1 rewrites them): {stale:?}"
    );
}
