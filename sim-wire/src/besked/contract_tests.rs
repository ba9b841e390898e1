//! The Beskedfordeler contract: every example survives write → read, SP-11's message is what
//! the rule says, æøå survive ISO-8859-1 + base64, and every malformed document is refused
//! naming its rule and path.

use super::base64::{iso_8859_1_decode, iso_8859_1_encode};
use super::*;
use crate::rules::Rule;

fn problems(e: BeskedError) -> Vec<crate::Problem> {
    match e {
        BeskedError::Invalid { problems, .. } => problems,
        other => panic!("expected problems, got {other}"),
    }
}

#[test]
fn every_example_round_trips() {
    for op in BfOperation::SOAP {
        let req = examples::request(op).unwrap();
        let xml = write_request(&req);
        let back = read(xml.as_bytes(), Some(&op.soap_action())).unwrap();
        assert_eq!(back, BfMessage::Request(req), "{op}");
        let resp = examples::response(op).unwrap();
        let xml = write_response(&resp);
        assert_eq!(
            read(xml.as_bytes(), None).unwrap(),
            BfMessage::Response(resp),
            "{op}"
        );
    }
    let b = examples::haendelsesbesked();
    let xml = write_haendelsesbesked(&b);
    assert_eq!(read_haendelsesbesked(xml.as_bytes()).unwrap(), b);
}

/// SP-11: type, 98 recipients as `urn:oio:cvr-nr:`, the person first, the registration ids,
/// the residence municipality from the CPR register, Beskeddata's attributes.
#[test]
fn sp11_fills_every_field_from_the_star_event() {
    let b = examples::haendelsesbesked();
    assert!(validate_sp11(&b).is_empty(), "{:?}", validate_sp11(&b));
    let f = &b.filtreringsdata;
    assert_eq!(f.tilladte_modtagere.len(), 98);
    assert_eq!(b.person_cpr().unwrap().to_string(), examples::CPR);
    assert_eq!(
        b.registrering_id().to_string(),
        examples::MESSAGE_IDENTIFIER
    );
    assert_eq!(
        f.objekt_registrering.objekt_id.to_string(),
        examples::NEM_REFUSION_IDENTIFIER
    );
    let xml = write_haendelsesbesked(&b);
    assert_eq!(xml.matches("urn:oio:cvr-nr:").count(), 98);
    assert!(xml.contains(&format!(
        "<sd:URNIdentifikator>urn:oio:cpr:{}</sd:URNIdentifikator>",
        examples::CPR
    )));
    assert!(xml.contains(r#"content-type="text/plain" encoding="ISO-8859-1" file-type=".xml""#));
    assert!(xml.contains(BESKEDTYPE_SYGEMELDINGSSTATUS) && xml.contains(OBJEKTTYPE_PERSON));
    // Someone the CPR register does not place gets KOMBIT as the responsible authority.
    let unplaced = (0..5000u32)
        .map(|i| {
            format!("0101{:02}{:04}", 50 + i % 40, i)
                .parse::<crate::Cpr>()
                .unwrap()
        })
        .find(|c| crate::municipalities::residence_of(c).is_none())
        .unwrap();
    let mut s = model::Sygemeldingsstatus {
        besked_id: b.besked_id,
        cpr: unplaced,
        message_identifier: b.registrering_id(),
        nem_refusion_identifier: f.objekt_registrering.objekt_id,
        dannelsestidspunkt: b.leveranceinformation.dannelsestidspunkt,
        event: vec![],
    };
    let k = Haendelsesbesked::sygemeldingsstatus(s.clone());
    assert_eq!(
        k.filtreringsdata
            .objekt_registrering
            .objekt_ansvarlig_myndighed
            .to_string(),
        crate::municipalities::KOMBIT_CVR
    );
    assert!(validate_sp11(&k).is_empty());
    s.cpr = examples::CPR.parse().unwrap();
    let mut wrong = Haendelsesbesked::sygemeldingsstatus(s);
    wrong.filtreringsdata.tilladte_modtagere.pop();
    wrong
        .filtreringsdata
        .objekt_registrering
        .objekt_ansvarlig_myndighed = "12345678".parse().unwrap();
    let p = validate_sp11(&wrong);
    assert_eq!(p.len(), 2, "{p:?}");
    assert!(p.iter().all(|p| p.rule == Rule::Sp11));
}

/// SP-11: the STAR event's æøå survive ISO-8859-1 + base64 through the writer and reader,
/// byte for byte.
#[test]
fn danish_letters_survive_base64_iso_8859_1() {
    let b = examples::haendelsesbesked();
    let text = b.beskeddata.text().unwrap();
    assert!(
        text.contains("Søren") && text.contains("Ærøskøbing-Åberg"),
        "{text}"
    );
    assert!(b.beskeddata.data.contains(&0xF8), "ø is one Latin-1 byte");
    assert!(
        std::str::from_utf8(&b.beskeddata.data).is_err(),
        "not UTF-8"
    );
    let xml = write_haendelsesbesked(&b);
    assert!(!xml.contains("Søren"), "the event travels as base64 only");
    let back = read_haendelsesbesked(xml.as_bytes()).unwrap();
    assert_eq!(back.beskeddata.data, b.beskeddata.data);
    assert_eq!(back.beskeddata.text().unwrap(), text);
    assert_eq!(
        iso_8859_1_decode(&iso_8859_1_encode("æøåÆØÅ").unwrap()),
        "æøåÆØÅ"
    );
}

#[test]
fn a_cvr_urn_without_nr_is_accepted_and_extra_elements_ignored() {
    let xml = write_haendelsesbesked(&examples::haendelsesbesked())
        .replacen("urn:oio:cvr-nr:", "urn:oio:cvr:", 1)
        .replace(
            "<besked:Leveranceinformation>",
            "<besked:Leveranceinformation>\n<besked:Kildesystem>STAR</besked:Kildesystem>",
        );
    let b = read_haendelsesbesked(xml.as_bytes()).unwrap();
    assert_eq!(b, examples::haendelsesbesked());
}

#[test]
fn malformed_documents_name_their_rule_and_path() {
    let good = write_haendelsesbesked(&examples::haendelsesbesked());
    let check = |xml: String, rule: Rule, path: &str| {
        let p = problems(read_haendelsesbesked(xml.as_bytes()).unwrap_err());
        assert!(
            p.iter().any(|p| p.rule == rule && p.path.contains(path)),
            "{path}: {p:?}"
        );
    };
    check(
        good.replace("<besked:BeskedVersion>1.0</besked:BeskedVersion>", ""),
        Rule::Wire3,
        "BeskedVersion",
    );
    check(
        good.replace("encoding=\"ISO-8859-1\" ", ""),
        Rule::Wire3,
        "@encoding",
    );
    check(
        good.replace("</b64:Base64>", "!!</b64:Base64>"),
        Rule::Wire3,
        "Beskeddata/Base64",
    );
    check(
        good.replacen("urn:oio:cvr-nr:", "urn:x:", 1),
        Rule::Wire3,
        "TilladtModtager[0]",
    );
    // Another object than a person reads (a broker carries any), but is no SP-11 message.
    let other =
        read_haendelsesbesked(good.replace("urn:oio:cpr:", "urn:oio:cpr:99").as_bytes()).unwrap();
    assert_eq!(other.person_cpr(), None);
    assert_eq!(
        validate_sp11(&other)[0].path,
        "Filtreringsdata/RelateretObjekt[0]"
    );
    assert!(matches!(
        read_haendelsesbesked(b"<a/>"),
        Err(BeskedError::Wire(crate::WireError::UnknownOperation { .. }))
    ));
    assert!(matches!(
        read_haendelsesbesked(b"<a"),
        Err(BeskedError::Wire(_))
    ));
}

#[test]
fn requests_are_checked_against_the_soap_action_and_their_limits() {
    let hent = write_request(&examples::request(BfOperation::HentBeskeder).unwrap());
    let e = read(
        hent.as_bytes(),
        Some(&BfOperation::BekraeftBeskeder.soap_action()),
    )
    .unwrap_err();
    assert_eq!(e.rule(), Rule::Wire1);
    let too_many = hent.replace("<bf:MaksAntal>10<", "<bf:MaksAntal>1000<");
    let p = problems(read(too_many.as_bytes(), None).unwrap_err());
    assert!(p[0].path.ends_with("MaksAntal"), "{p:?}");
    let none = write_request(&examples::request(BfOperation::BekraeftBeskeder).unwrap())
        .lines()
        .filter(|l| !l.contains("LeveringId"))
        .collect::<Vec<_>>()
        .join("\n");
    assert_eq!(read(none.as_bytes(), None).unwrap_err().rule(), Rule::Wire3);
    let bad_cpr = write_request(&examples::request(BfOperation::VaerdilisteTilfoej).unwrap())
        .replace("urn:oio:cpr:0101701234", "0101701234");
    let p = problems(read(bad_cpr.as_bytes(), None).unwrap_err());
    assert!(p[0].path.contains("Vaerdi[0]"), "{p:?}");
    // Another service's operation is no operation of this one.
    let other = crate::write(&crate::examples::opdatering_fravaer_request());
    assert!(matches!(
        read(other.as_bytes(), None),
        Err(BeskedError::Wire(crate::WireError::UnknownOperation { .. }))
    ));
}

#[test]
fn a_platform_fault_reads_back() {
    let f = crate::SoapFault::serviceplatform(
        true,
        Rule::Bf1,
        "No subscription.",
        "7d3e2f1a-0b9c-4d8e-a7f6-5e4d3c2b1a09".parse().unwrap(),
        "2026-11-23T09:15:02+01:00".parse().unwrap(),
    );
    let back = read(write_fault(&f).as_bytes(), None).unwrap();
    assert_eq!(back, BfMessage::Fault(f));
}

#[test]
fn free_text_that_xml_cannot_hold_is_replaced_not_written() {
    let r = BfResponse::ModtagBesked(StandardRetur::fejl(50, "bad \u{0} <byte> & more"));
    let xml = write_response(&r);
    let BfMessage::Response(BfResponse::ModtagBesked(s)) = read(xml.as_bytes(), None).unwrap()
    else {
        panic!("{xml}")
    };
    assert_eq!(
        s.fejlbesked_tekst.as_deref(),
        Some("bad \u{FFFD} <byte> & more")
    );
}
