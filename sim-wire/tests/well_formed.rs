//! Strict well-formedness (issue 15, WIRE-1): what a receiver could not parse, or would echo
//! into an answer that is not XML, is never read as a message: two Bodies or Headers, a
//! duplicate attribute, and characters XML 1.0 does not allow (NUL, U+0001, U+FFFE), written
//! or referenced.

use sim_wire::{examples, write, Rule, WireError};

fn valid() -> String {
    write(&examples::opdatering_fravaer_request())
}

#[track_caller]
fn refused(xml: &str, kind: &str, needle: &str) {
    let e = sim_wire::read(xml.as_bytes(), None).expect_err("must be refused");
    assert_eq!(e.rule(), Rule::Wire1, "{e}");
    assert_eq!(e.kind(), kind, "{e}");
    assert!(e.to_string().contains(needle), "{e}");
}

#[test]
fn the_valid_example_reads() {
    assert!(sim_wire::read(valid().as_bytes(), None).unwrap().is_valid());
}

#[test]
fn two_bodies_or_two_headers_are_refused() {
    let v = valid();
    let body_start = v.find("<soap:Body>").unwrap();
    let body_end = v.find("</soap:Body>").unwrap() + "</soap:Body>".len();
    let body = &v[body_start..body_end];
    let two = v.replacen(body, &format!("{body}{body}"), 1);
    refused(&two, "envelope-shape", "more than one Body");
    let headers = v.replacen("<soap:Body>", "<soap:Header/><soap:Header/><soap:Body>", 1);
    refused(&headers, "envelope-shape", "more than one Header");
    let late = v.replacen("</soap:Body>", "</soap:Body><soap:Header/>", 1);
    refused(&late, "envelope-shape", "after the Body");
}

#[test]
fn a_duplicate_attribute_is_refused() {
    let v = valid().replacen("<soap:Body>", "<soap:Body a=\"1\" a=\"2\">", 1);
    refused(&v, "not-xml", "attribute");
}

#[test]
fn characters_xml_does_not_allow_are_refused_in_text_attributes_and_references() {
    let v = valid();
    let at = v
        .find("</sft:JobcenterSagID>")
        .expect("the example has a JobcenterSagID");
    for bad in ["\u{0}", "\u{1}", "\u{FFFE}"] {
        let mut x = v.clone();
        x.insert_str(at, bad);
        refused(&x, "not-xml", "is not allowed in XML 1.0");
    }
    let mut x = v.clone();
    x.insert_str(at, "&#1;");
    refused(&x, "not-xml", "does not allow");
    let attr = v.replacen("<soap:Body>", "<soap:Body a=\"x\u{1}\">", 1);
    refused(&attr, "not-xml", "is not allowed in XML 1.0");
    // Tabs, newlines and characters beyond the BMP are fine.
    let mut ok = v.clone();
    ok.insert_str(at, "\t\u{1F600}");
    assert!(sim_wire::read(ok.as_bytes(), None).is_ok());
    let _ = WireError::NoBody;
}
