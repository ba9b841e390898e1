//! The STAR contract's codec: every example survives write → read, the SP-12 check, the
//! ISO-8859-1 event document, and each way a document is refused.

use super::*;
use crate::rules::{code, Rule};
use crate::values::DatoTid;

#[test]
fn every_example_request_survives_write_and_read_and_keeps_sp12() {
    for (name, call) in examples::requests() {
        let xml = write_request(&call).unwrap();
        let op = call.operation();
        let back = read_request(xml.as_bytes(), Some(&op.soap_action()))
            .unwrap_or_else(|e| panic!("{name}: {e}\n{xml}"));
        assert_eq!(back, call, "{name}");
        assert_eq!(read_request(xml.as_bytes(), None).unwrap(), call, "{name}");
        assert!(check_headers(op, &back.headers).is_empty(), "{name}");
    }
}

#[test]
fn every_example_response_survives_write_and_read() {
    for (name, response) in examples::responses() {
        let xml = write_response(&response).unwrap();
        let back = read_response(xml.as_bytes()).unwrap_or_else(|e| panic!("{name}: {e}\n{xml}"));
        assert_eq!(back, StarReply::Response(response), "{name}");
    }
}

/// The pieces a server streams make exactly the document `write_response` writes.
#[test]
fn a_fetch_answer_is_its_head_its_fragments_and_its_tail() {
    let events = vec![examples::registration(), examples::ended_registration()];
    let whole = write_response(&StarResponse::GetIllnessUpdated(events.clone())).unwrap();
    let parts = fetch_response_parts();
    let mut streamed = parts.head.clone();
    for e in &events {
        streamed.push_str(&registration_fragment(e).unwrap());
    }
    streamed.push_str(&parts.tail);
    assert_eq!(streamed, whole);
    // Cut after the first event, the answer is unreadable (truncated), not a shorter list.
    let cut = format!(
        "{}{}",
        parts.head,
        registration_fragment(&events[0]).unwrap()
    );
    let e = read_response(cut.as_bytes()).unwrap_err();
    assert!(
        matches!(
            e,
            StarReadError::Unusable(crate::WireError::Truncated { .. })
        ),
        "{e}"
    );
    assert_eq!(e.rule(), Rule::Wire1);
    let empty = write_response(&StarResponse::GetIllnessUpdated(vec![])).unwrap();
    assert_eq!(
        read_response(empty.as_bytes()).unwrap(),
        StarReply::Response(StarResponse::GetIllnessUpdated(vec![]))
    );
}

/// Seed 004 §3.1.3.2.2: one event, ISO-8859-1 declared and encoded, æøå one byte each, and
/// back unchanged.
#[test]
fn the_event_document_is_iso_8859_1_and_round_trips_danish_letters() {
    for r in [examples::registration(), examples::ended_registration()] {
        let bytes = event_document(&r).unwrap();
        assert!(bytes.starts_with(b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n<ns0:GetIllnessUpdatedResponse xmlns:ns0=\"http://kmd.dk/ksd/erp/stardfdg-modtagsygmeldingstatus\">\n  <IllnessUpdateRegistration>\n"));
        assert!(std::str::from_utf8(&bytes).is_err(), "not UTF-8: Latin-1");
        assert_eq!(read_event_document(&bytes).unwrap(), r);
    }
    let bytes = event_document(&examples::registration()).unwrap();
    // "Bækgård": æ = 0xE6, å = 0xE5, one byte each.
    let needle = b"<CaseWorkerSurname>B\xE6kg\xE5rd</CaseWorkerSurname>";
    assert!(bytes.windows(needle.len()).any(|w| w == needle));
    let ended = event_document(&examples::ended_registration()).unwrap();
    let needle = b"<AuthorityName>Jobcenter \xC6r\xF8</AuthorityName>";
    assert!(ended.windows(needle.len()).any(|w| w == needle));
}

#[test]
fn characters_latin_1_cannot_carry_are_refused_not_mangled() {
    let mut r = examples::registration();
    r.request_metadata.authority.authority_name = "Jobcenter €uro".into();
    let e = event_document(&r).unwrap_err();
    assert_eq!(
        e,
        StarWriteError::NotLatin1 {
            path: "ns0:GetIllnessUpdatedResponse/IllnessUpdateRegistration/RequestMetadata/AuthorityStructure/AuthorityName".into(),
            character: '€',
        }
    );
    // SOAP is UTF-8: the same event can be fetched, only not published as Latin-1.
    assert!(registration_fragment(&r).is_ok());
    r.request_metadata.case_worker.given_name = "A\u{1}".into();
    assert!(matches!(
        registration_fragment(&r),
        Err(StarWriteError::NotXmlChar {
            character: '\u{1}',
            ..
        })
    ));
}

/// Seed 004's own example declares UTF-8; other spellings of Latin-1 and no declaration at all
/// (the encoding Beskeddata names) are read too; other encodings are refused.
#[test]
fn event_documents_in_each_declared_encoding() {
    let latin1 = event_document(&examples::registration()).unwrap();
    let text: String = latin1.iter().map(|b| char::from(*b)).collect();
    let utf8 = text.replace("ISO-8859-1", "UTF-8");
    assert_eq!(
        read_event_document(utf8.as_bytes()).unwrap(),
        examples::registration()
    );
    let undeclared = &latin1[latin1.iter().position(|b| *b == b'\n').unwrap() + 1..];
    assert_eq!(
        read_event_document(undeclared).unwrap(),
        examples::registration()
    );
    let latin1_alias = text.replace("ISO-8859-1", "latin1");
    let alias: Vec<u8> = latin1_alias.chars().map(|c| c as u8).collect();
    assert!(read_event_document(&alias).is_ok());
    let other = text.replace("ISO-8859-1", "UTF-16");
    let e = read_event_document(other.as_bytes()).unwrap_err();
    assert!(matches!(e, StarReadError::Encoding { .. }), "{e}");
    // A document declared UTF-8 holding Latin-1 bytes is not UTF-8: refused, not guessed.
    let lying: Vec<u8> = utf8.chars().map(|c| c as u8).collect();
    assert!(matches!(
        read_event_document(&lying),
        Err(StarReadError::Unusable(_))
    ));
}

#[test]
fn an_event_document_holds_exactly_one_registration() {
    let two = write_response(&StarResponse::GetIllnessUpdated(vec![
        examples::registration(),
        examples::ended_registration(),
    ]))
    .unwrap();
    // The SOAP answer is not an event document (its root is the Envelope).
    assert!(matches!(
        read_event_document(two.as_bytes()),
        Err(StarReadError::UnknownOperation { .. })
    ));
    let doc = String::from_utf8(
        event_document(&examples::registration())
            .unwrap()
            .iter()
            .map(|b| char::from(*b))
            .collect::<String>()
            .into_bytes(),
    )
    .unwrap();
    let start = doc.find("  <IllnessUpdateRegistration>").unwrap();
    let end = doc.find("</ns0:GetIllnessUpdatedResponse>").unwrap();
    let doubled = format!("{}{}{}", &doc[..end], &doc[start..end], &doc[end..]);
    assert_eq!(
        read_event_document(doubled.replace("ISO-8859-1", "UTF-8").as_bytes()),
        Err(StarReadError::EventCount { found: 2 })
    );
}

/// SP-12: each missing or wrong constant header is a problem naming SP-12 and the element.
#[test]
fn sp12_names_every_missing_or_wrong_header() {
    let at: DatoTid = examples::CALLED_AT.parse().unwrap();
    let ok = StarHeaders::ksd(at);
    assert!(check_headers(StarOperation::CreateSequence, &ok).is_empty());
    // The fetch also needs its sequence.
    let p = check_headers(StarOperation::GetIllnessUpdatedVersion6, &ok);
    assert_eq!(p.len(), 1);
    assert_eq!((p[0].rule, p[0].code), (Rule::Sp12, code::MANGLER));
    assert_eq!(p[0].path, "SequenceRequest");

    let none = StarHeaders::default();
    let p = check_headers(StarOperation::TerminateSequence, &none);
    let paths: Vec<_> = p.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(
        paths,
        ["ActiveOrganisationHeader", "RequestUserMetadataHeader"]
    );
    assert!(p.iter().all(|p| p.rule == Rule::Sp12));

    let mut wrong = ok.clone();
    if let Some(a) = wrong.active_organisation.as_mut() {
        a.organisation_code = "101".into();
    }
    if let Some(m) = wrong.request_user_metadata.as_mut() {
        m.request_user.user_identifier = "ksd system".into();
        m.registration_date_time = "2026-03-02T10:00:00".into();
        m.request_organisation.organisation_type_identifier.clear();
    }
    wrong.sequence_request = Some("not-a-uuid".into());
    let p = check_headers(StarOperation::GetIllnessUpdatedVersion6, &wrong);
    let got: Vec<_> = p.iter().map(|p| (p.path.as_str(), p.code)).collect();
    assert_eq!(
        got,
        [
            ("ActiveOrganisationHeader/OrganisationCode", code::VAERDI),
            (
                "RequestUserMetadataHeader/RequestUserStructure/UserIdentifier",
                code::VAERDI
            ),
            (
                "RequestUserMetadataHeader/RequestOrganisationStructure/OrganisationTypeIdentifier",
                code::MANGLER
            ),
            (
                "RequestUserMetadataHeader/RegistrationDateTime",
                code::FORMAT
            ),
            ("SequenceRequest/Identifier", code::FORMAT),
        ]
    );
    assert!(p[0].text.contains("'999'"), "{}", p[0].text);
}

/// Headers missing on the wire are read as absent, so the check (not the reader) names them.
#[test]
fn a_call_without_headers_is_read_and_then_refused_by_sp12() {
    let call = StarCall {
        headers: StarHeaders::default(),
        request: StarRequest::CreateSequence(CreateSequenceRequest::ksd()),
    };
    let xml = write_request(&call).unwrap();
    assert!(xml.contains("<soap:Header>\n  </soap:Header>"), "{xml}");
    let back = read_request(xml.as_bytes(), None).unwrap();
    assert_eq!(back.headers, StarHeaders::default());
    assert_eq!(check_headers(back.operation(), &back.headers).len(), 2);
    let bare = xml.replace("  <soap:Header>\n  </soap:Header>\n", "");
    assert_eq!(read_request(bare.as_bytes(), None).unwrap(), back);
}

#[test]
fn unusable_and_misshapen_requests_are_refused_with_their_rule() {
    let (_, create) = &examples::requests()[0];
    let xml = write_request(create).unwrap();
    let check = |doc: &str, action: Option<&str>, rule: Rule, kind: &str| {
        let e = read_request(doc.as_bytes(), action).unwrap_err();
        assert_eq!((e.rule(), e.kind()), (rule, kind), "{e}");
    };
    check("not xml", None, Rule::Wire1, "not-xml");
    check(&xml[..xml.len() / 2], None, Rule::Wire1, "truncated");
    let action = StarOperation::CloseSequence.soap_action();
    check(&xml, Some(&action), Rule::Wire1, "soap-action");
    check(&xml, Some("urn:nothing"), Rule::Wire1, "soap-action");
    check(
        &xml.replace("<wsrm:SubQueueIdentifier>6</wsrm:SubQueueIdentifier>", ""),
        None,
        Rule::Wire3,
        "missing",
    );
    check(&xml.replace(">6<", ">six<"), None, Rule::Wire3, "format");
    check(
        &xml.replace("CreateSequenceRequestType", "CreateSequenceResponseType"),
        None,
        Rule::Wire1,
        "unknown-operation",
    );
    // Another sub-queue is read as it is: refusing it is STAR's business (SP-10).
    let seven = read_request(xml.replace(">6<", ">7<").as_bytes(), None).unwrap();
    assert_eq!(
        seven.request,
        StarRequest::CreateSequence(CreateSequenceRequest {
            sub_queue_identifier: 7
        })
    );
}

/// STAR's real namespaces are not public: elements are matched by local name, so a document
/// in other namespaces (or none) reads the same.
#[test]
fn readers_match_star_elements_by_local_name() {
    let (_, call) = &examples::requests()[1];
    let xml = write_request(call).unwrap();
    let foreign = xml
        .replace(ns::WSRM, "urn:other:wsrm")
        .replace(ns::STAR_SECURITY, "urn:other:security")
        .replace(ns::ILLNESS, "urn:other:illness");
    assert_eq!(&read_request(foreign.as_bytes(), None).unwrap(), call);
}

#[test]
fn faults_are_read_as_replies_with_their_rule() {
    let fault = crate::SoapFault::serviceplatform(
        true,
        Rule::Sp12,
        "SP-12: the SOAP header ActiveOrganisationHeader is missing",
        "5d1f0c7a-3b2e-4c9d-8a61-2f4e6b8d0c13".parse().unwrap(),
        examples::CALLED_AT.parse().unwrap(),
    );
    let xml = write_fault(&fault);
    match read_response(xml.as_bytes()).unwrap() {
        StarReply::Fault(f) => {
            assert_eq!(f.rule(), Some(Rule::Sp12));
            assert_eq!(f, fault);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_bad_value_in_an_event_names_its_path() {
    let xml = write_response(&StarResponse::GetIllnessUpdated(vec![
        examples::registration(),
        examples::ended_registration(),
    ]))
    .unwrap();
    let bad = xml.replacen(
        "<IsIllnessEnded>true</IsIllnessEnded>",
        "<IsIllnessEnded>yes</IsIllnessEnded>",
        1,
    );
    assert_eq!(
        read_response(bad.as_bytes()).unwrap_err(),
        StarReadError::Format {
            path: "GetIllnessUpdatedResponse/IllnessUpdateRegistration[2]/IsIllnessEnded".into(),
            detail: "'yes' is not a boolean: true, false, 1 or 0 expected".into(),
        }
    );
}
