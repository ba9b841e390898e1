//! The invalid-input table: each row mutates a valid golden message and names the exact rule
//! (and severity) the reader must report, or the document-level error it must give.

use sim_wire::{examples, read, write, Message, Operation, Severity};

#[derive(Clone, Copy)]
enum Base {
    /// `SendOpdateringFravaerRequest` (SF2095), the message vendors send most.
    Opdatering,
    /// Any other operation's example request.
    Req(Operation),
    /// Any other operation's example response.
    Resp(Operation),
}

#[derive(Debug, Clone, Copy)]
enum Expect {
    /// Readable, no error (warnings allowed).
    Valid,
    /// Readable, with an error of this rule.
    Error(&'static str),
    /// Readable and valid, with a warning of this rule.
    Warning(&'static str),
    /// Unusable document of this kind (`WireError::kind`).
    Unusable(&'static str),
}
use Expect::*;

enum Mutation {
    Unchanged,
    /// Drop the line holding `<prefix:Name>` (one element per line in golden files).
    Remove(&'static str),
    /// Set an element's text.
    Set(&'static str, &'static str),
    /// Replace text, everywhere.
    Replace(&'static str, &'static str),
    /// Anything else.
    With(fn(String) -> String),
}
use Mutation::*;

struct Case {
    name: &'static str,
    base: Base,
    mutation: Mutation,
    soap_action: Option<&'static str>,
    expect: Expect,
}

fn case(name: &'static str, mutation: Mutation, expect: Expect) -> Case {
    Case {
        name,
        base: Base::Opdatering,
        mutation,
        soap_action: None,
        expect,
    }
}

fn on(base: Base, name: &'static str, mutation: Mutation, expect: Expect) -> Case {
    Case {
        name,
        base,
        mutation,
        soap_action: None,
        expect,
    }
}

fn remove_line(xml: &str, open: &str) -> String {
    let mut found = false;
    let out: Vec<&str> = xml
        .lines()
        .filter(|l| {
            let hit = !found && l.trim_start().starts_with(&format!("<{open}>"));
            found |= hit;
            !hit
        })
        .collect();
    assert!(found, "no <{open}> line");
    out.join("\n") + "\n"
}

fn remove_block(xml: &str, q: &str) -> String {
    let (s, e) = (
        xml.find(&format!("<{q}>")).unwrap(),
        xml.find(&format!("</{q}>")).unwrap(),
    );
    format!("{}{}", &xml[..s], &xml[e + q.len() + 3..])
}

fn set(xml: &str, q: &str, v: &str) -> String {
    let open = format!("<{q}>");
    let s = xml.find(&open).unwrap_or_else(|| panic!("no {open}")) + open.len();
    let e = s + xml[s..].find('<').unwrap();
    format!("{}{v}{}", &xml[..s], &xml[e..])
}

fn cases() -> Vec<Case> {
    use Base::*;
    use Operation as O;
    let mut v = vec![
        // Every mandatory field missing (KSD-3 header, KSD-4 body, SP-5 security context).
        case("missing TransaktionIdentifikator", Remove("sft:TransaktionIdentifikator"), Error("KSD-3")),
        case("missing BeskedForsendelsesDatoTid", Remove("sft:BeskedForsendelsesDatoTid"), Error("KSD-3")),
        case("missing RegistreringFraDatoTid", Remove("sft:RegistreringFraDatoTid"), Error("KSD-3")),
        case("missing RegistreringITsystem", Remove("sft:RegistreringITsystem"), Error("KSD-3")),
        case("missing Myndighed", Remove("sft:Myndighed"), Error("KSD-3")),
        case("missing SygemeldtePart", Remove("sft:SygemeldtePart"), Error("KSD-3")),
        case("missing ArbejdsgiverPart", Remove("sft:ArbejdsgiverPart"), Error("KSD-3")),
        case("missing ForretningHaendelseDatoTid", Remove("sft:ForretningHaendelseDatoTid"), Error("KSD-3")),
        case("missing FoersteFravaersdag", Remove("sft:FoersteFravaersdag"), Error("KSD-3")),
        case("missing Header", With(|x| remove_block(&x, "sft:Header")), Error("KSD-3")),
        case("missing OphoersAarsag", Remove("sft:OphoersAarsag"), Error("KSD-4")),
        case("missing OphoersStartDato", Remove("sft:OphoersStartDato"), Error("KSD-4")),
        case("missing AuthorityContext", With(|x| remove_block(&x, "ac:AuthorityContext")), Error("SP-5")),
        case("missing MunicipalityCVR", Remove("ac:MunicipalityCVR"), Error("SP-5")),
        case("missing OpdateringFravaer payload", With(|x| remove_block(&x, "sft:OpdateringFravaer")), Error("WIRE-3")),
        case("empty mandatory Myndighed", Replace("<sft:Myndighed>29189846</sft:Myndighed>", "<sft:Myndighed/>"), Error("KSD-3")),
        // Optional fields may be absent.
        case("optional fields absent", With(|x| ["sft:RegistreringBruger", "sft:UdgiverTypeKode", "sft:ArbejdsgiverProduktionsenhed", "sft:NemRefusionIdentifier", "sft:SagIdentifikator", "sft:JobcenterSagID"].iter().fold(x, |x, t| remove_line(&x, t))), Valid),
        case("CallContext absent", With(|x| remove_block(&x, "cc:CallContext")), Valid),
        // Each malformed format.
        case("TransaktionIdentifikator not a UUID", Set("sft:TransaktionIdentifikator", "not-a-uuid"), Error("KSD-3")),
        case("TransaktionIdentifikator without hyphens", Set("sft:TransaktionIdentifikator", "3f2b8c1e6a4d4e8f9b1a2c7d5e9f0a13"), Error("KSD-3")),
        case("BeskedForsendelsesDatoTid without offset", Set("sft:BeskedForsendelsesDatoTid", "2026-11-23T09:15:02"), Error("KSD-3")),
        case("RegistreringFraDatoTid impossible day", Set("sft:RegistreringFraDatoTid", "2026-02-30T09:14:58+01:00"), Error("KSD-3")),
        case("ForretningHaendelseDatoTid is a date", Set("sft:ForretningHaendelseDatoTid", "2026-11-23"), Error("KSD-3")),
        case("RegistreringITsystem braced", Set("sft:RegistreringITsystem", "{0e4a7c2b-91d3-4f6a-8b5e-d2c1a9f37b60}"), Error("KSD-3")),
        case("RegistreringBruger not a UUID", Set("sft:RegistreringBruger", "bruger-17"), Error("KSD-3")),
        case("UdgiverTypeKode one digit", Set("sft:UdgiverTypeKode", "1"), Error("KSD-3")),
        case("UdgiverTypeKode three digits", Set("sft:UdgiverTypeKode", "123"), Error("KSD-3")),
        case("UdgiverTypeKode letters", Set("sft:UdgiverTypeKode", "ab"), Error("KSD-3")),
        case("Myndighed seven digits", Set("sft:Myndighed", "2918984"), Error("KSD-3")),
        case("Myndighed nine digits", Set("sft:Myndighed", "291898460"), Error("KSD-3")),
        case("Myndighed with letters", Set("sft:Myndighed", "2918984X"), Error("KSD-3")),
        case("SygemeldtePart nine digits", Set("sft:SygemeldtePart", "010170123"), Error("KSD-3")),
        case("SygemeldtePart impossible birth date", Set("sft:SygemeldtePart", "3213701234"), Error("KSD-3")),
        case("SygemeldtePart with hyphen", Set("sft:SygemeldtePart", "010170-1234"), Error("KSD-3")),
        case("ArbejdsgiverPart short", Set("sft:ArbejdsgiverPart", "3124587"), Error("KSD-3")),
        case("ArbejdsgiverProduktionsenhed nine digits", Set("sft:ArbejdsgiverProduktionsenhed", "100345678"), Error("KSD-3")),
        case("NemRefusionIdentifier not a UUID", Set("sft:NemRefusionIdentifier", "NR-123"), Error("KSD-3")),
        case("SagIdentifikator too short", Set("sft:SagIdentifikator", "d1a2b3c4-e5f6-4789-8abc-def01234567"), Error("KSD-3")),
        case("FoersteFravaersdag month 13", Set("sft:FoersteFravaersdag", "2026-13-01"), Error("KSD-3")),
        case("OphoersStartDato in Danish order", Set("sft:OphoersStartDato", "23-11-2026"), Error("KSD-4")),
        case("OphoersSlutDato malformed", Replace("</sft:OphoersStartDato>", "</sft:OphoersStartDato><sft:OphoersSlutDato>2026-11-31</sft:OphoersSlutDato>"), Error("KSD-4")),
        case("MunicipalityCVR seven digits", Set("ac:MunicipalityCVR", "2918984"), Error("SP-5")),
        // Value-list edges (KSD-5).
        // 10 is discarded, not refused (KSD-14): a warning, so the receipt is ADVARSEL.
        case("OphoersAarsag 10 from outside", Set("sft:OphoersAarsag", "10"), Warning("KSD-14")),
        case("OphoersAarsag 60 from outside", Set("sft:OphoersAarsag", "60"), Error("KSD-5")),
        case("OphoersAarsag 61 from outside", Set("sft:OphoersAarsag", "61"), Error("KSD-5")),
        case("OphoersAarsag 62 from outside", Set("sft:OphoersAarsag", "62"), Error("KSD-5")),
        case("OphoersAarsag 63 from outside", Set("sft:OphoersAarsag", "63"), Error("KSD-5")),
        case("OphoersAarsag 64 from outside", Set("sft:OphoersAarsag", "64"), Error("KSD-5")),
        case("OphoersAarsag unknown 99", Set("sft:OphoersAarsag", "99"), Error("KSD-5")),
        case("OphoersAarsag unknown 3", Set("sft:OphoersAarsag", "3"), Error("KSD-5")),
        case("OphoersAarsag unknown 0", Set("sft:OphoersAarsag", "0"), Error("KSD-5")),
        case("OphoersAarsag not a number", Set("sft:OphoersAarsag", "ferie"), Error("KSD-5")),
        case("OphoersAarsag 1 allowed", Set("sft:OphoersAarsag", "1"), Valid),
        case("OphoersAarsag 52 allowed", Set("sft:OphoersAarsag", "52"), Valid),
        case("OphoersAarsag 40 allowed", Set("sft:OphoersAarsag", "40"), Valid),
        // KSD-4 order and KSD-8 context.
        case("OphoersSlutDato before OphoersStartDato", Replace("</sft:OphoersStartDato>", "</sft:OphoersStartDato><sft:OphoersSlutDato>2026-11-22</sft:OphoersSlutDato>"), Error("KSD-4")),
        case("OphoersSlutDato equal to OphoersStartDato", Replace("</sft:OphoersStartDato>", "</sft:OphoersStartDato><sft:OphoersSlutDato>2026-11-23</sft:OphoersSlutDato>"), Valid),
        case("security context CVR differs from Myndighed", Set("ac:MunicipalityCVR", "55133018"), Error("KSD-8")),
        // Form: prefixes, default namespaces, BOM, whitespace, order, foreign namespaces.
        case("prefixes nobody uses", With(|x| x.replace("sft:", "q1:").replace("xmlns:sft=", "xmlns:q1=").replace("soap:", "S:").replace("xmlns:soap=", "xmlns:S=").replace("sf:", "ns7:").replace("xmlns:sf=", "xmlns:ns7=")), Valid),
        case("default namespaces", With(|x| {
            let x = x.replace("<sft:OpdateringFravaer>", "<OpdateringFravaer xmlns=\"http://serviceplatformen.dk/xml/schemas/Sygefravaer/2/\">");
            x.replace("</sft:OpdateringFravaer>", "</OpdateringFravaer>").replace("<sft:", "<").replace("</sft:", "</")
        }), Valid),
        case("UTF-8 BOM", With(|x| format!("\u{feff}{x}")), Valid),
        case("no XML declaration and no whitespace", With(|x| x.lines().skip(1).map(str::trim).collect::<String>()), Valid),
        case("whitespace around values", Set("sft:Myndighed", "\n   29189846  \n"), Valid),
        case("payload in a foreign namespace", Replace("xmlns:sft=\"http://serviceplatformen.dk/xml/schemas/Sygefravaer/2/\"", "xmlns:sft=\"urn:vendor:sygefravaer\""), Warning("WIRE-3")),
        case("operation element in a foreign namespace", Replace("xmlns:sf=\"http://serviceplatformen.dk/xml/wsdl/soap11/KSD/Sygefravaer/2/\"", "xmlns:sf=\"urn:vendor:wsdl\""), Warning("WIRE-3")),
        case("header children without namespace", With(|x| {
            let s = x.find("<sft:Header>").unwrap();
            let e = x.find("</sft:Header>").unwrap();
            let inner = x[s + 12..e].replace("<sft:", "<").replace("</sft:", "</");
            format!("{}{}{}", &x[..s + 12], inner, &x[e..])
        }), Warning("WIRE-3")),
        case("elements out of order", With(|x| {
            let line = x.lines().find(|l| l.contains("<sft:Myndighed>")).unwrap().to_string();
            remove_line(&x, "sft:Myndighed").replace("        </sft:Header>", &format!("{line}\n        </sft:Header>"))
        }), Warning("WIRE-3")),
        case("unknown element", Replace("</sft:OphoersStartDato>", "</sft:OphoersStartDato><sft:Bemaerkning>x</sft:Bemaerkning>"), Warning("WIRE-3")),
        case("empty optional element", Set("sft:JobcenterSagID", ""), Valid),
        case("repeated Myndighed", Replace("<sft:Myndighed>29189846</sft:Myndighed>", "<sft:Myndighed>29189846</sft:Myndighed><sft:Myndighed>29189846</sft:Myndighed>"), Error("WIRE-3")),
        case("CallContext field over 255 characters", With(|x| set(&x, "cc:OnBehalfOfUser", &"x".repeat(256))), Error("WIRE-1")),
        case("two elements in the Body", Replace("</sf:SendOpdateringFravaerRequest>", "</sf:SendOpdateringFravaerRequest><sf:Extra/>"), Error("WIRE-1")),
        // Unusable documents, each with its own error.
        case("SOAP 1.2 envelope", Replace("http://schemas.xmlsoap.org/soap/envelope/", "http://www.w3.org/2003/05/soap-envelope"), Unusable("soap12")),
        case("DOCTYPE with entity", With(|x| x.replacen("<soap:Envelope", "<!DOCTYPE soap:Envelope [<!ENTITY boom \"boom\">]>\n<soap:Envelope", 1)), Unusable("doctype")),
        case("undefined entity", Set("sft:JobcenterSagID", "&boom;"), Unusable("undefined-entity")),
        case("truncated in the middle", With(|x| x[..x.len() / 2].to_string()), Unusable("truncated")),
        case("truncated inside a tag", With(|x| x[..x.find("<sft:Myndighed").unwrap() + 8].to_string()), Unusable("truncated")),
        case("JSON instead of XML", With(|_| "{\"OpdateringFravaer\": {}}".to_string()), Unusable("not-xml")),
        case("mismatched end tag", Replace("</sft:Myndighed>", "</sft:Myndighedx>"), Unusable("not-xml")),
        case("empty document", With(|_| String::new()), Unusable("not-xml")),
        case("not an envelope", With(|x| x.replace("soap:Envelope", "soap:Brev")), Unusable("not-envelope")),
        case("no Body", With(|x| x.replace("soap:Body", "soap:Header")), Unusable("no-body")),
        case("empty Body", With(|x| {
            let s = x.find("<sf:SendOpdateringFravaerRequest>").unwrap();
            let e = x.find("</sf:SendOpdateringFravaerRequest>").unwrap() + "</sf:SendOpdateringFravaerRequest>".len();
            format!("{}{}", &x[..s], &x[e..])
        }), Unusable("empty-body")),
        case("unknown operation", Replace("SendOpdateringFravaerRequest", "SendSygemeldingRequest"), Unusable("unknown-operation")),
        case("operation element without Request suffix", Replace("SendOpdateringFravaerRequest", "SendOpdateringFravaer"), Unusable("unknown-operation")),
        Case { name: "SOAPAction names another operation", base: Opdatering, mutation: Unchanged, soap_action: Some("http://serviceplatformen.dk/xml/wsdl/soap11/KSD/Sygefravaer/2/HentSag"), expect: Error("WIRE-1") },
        Case { name: "SOAPAction names no operation", base: Opdatering, mutation: Unchanged, soap_action: Some("urn:SendOpdateringFravaer"), expect: Error("WIRE-1") },
        Case { name: "SOAPAction quoted and right", base: Opdatering, mutation: Unchanged, soap_action: Some("\"http://serviceplatformen.dk/xml/wsdl/soap11/KSD/Sygefravaer/2/SendOpdateringFravaer\""), expect: Valid },
        // Other operations' rules.
        on(Req(O::SendForretningsSvarJc), "KSD receipt without security context", With(|x| remove_block(&x, "ac:AuthorityContext")), Error("SP-2")),
        on(Req(O::ModtagForretningsSvarJc), "platform call to a jobcenter without AuthorityContext", With(|x| remove_block(&x, "ac:AuthorityContext")), Error("SP-7")),
        on(Req(O::SendForretningsSvarJc), "KSD receipt whose context and Myndighed differ", Set("ac:MunicipalityCVR", "55133018"), Error("KSD-8")),
        on(Req(O::SendForretningsSvarJc), "FejlListe on an ACCEPTERET business receipt", Replace("</kvit:ForretningsValideringsKode>", "</kvit:ForretningsValideringsKode><kvit:FejlListe><kvit:Fejl><kvit:FejlKode>X</kvit:FejlKode><kvit:FejlTekst>y</kvit:FejlTekst></kvit:Fejl></kvit:FejlListe>"), Error("KSD-2")),
        on(Req(O::SendForretningsSvarJc), "business receipt code in mixed case", Set("kvit:ForretningsValideringsKode", "Accepteret"), Valid),
        on(Req(O::SendForretningsSvarJc), "unknown business receipt code", Set("kvit:ForretningsValideringsKode", "GODKENDT"), Error("WIRE-2")),
        on(Resp(O::SendOpdateringFravaer), "FEJL transport receipt without FejlListe", Set("kvit:TransportValideringsKode", "Fejl"), Error("KSD-1")),
        on(Resp(O::SendOpdateringFravaer), "transport receipt code in mixed case", Set("kvit:TransportValideringsKode", "Advarsel"), Valid),
        // The seed's own spellings and shapes (000's header and receipt tables): read, with a
        // warning naming the contract's form (WIRE-2, WIRE-3); KSD-15 flags OK with a FejlListe.
        case("RegsitreringFraDatoTid, the seed's spelling", Replace("RegistreringFraDatoTid", "RegsitreringFraDatoTid"), Warning("WIRE-3")),
        case("RegistreringFraDatoTid under both spellings", Replace("</sft:RegistreringFraDatoTid>", "</sft:RegistreringFraDatoTid><sft:RegsitreringFraDatoTid>2026-11-23T09:00:00+01:00</sft:RegsitreringFraDatoTid>"), Error("WIRE-3")),
        on(Resp(O::SendOpdateringFravaer), "TransportValideringKode, the seed's spelling", Replace("TransportValideringsKode", "TransportValideringKode"), Warning("WIRE-2")),
        on(Resp(O::SendOpdateringFravaer), "FejlKode/FejlTekst directly in FejlListe", Replace(">OK</kvit:TransportValideringsKode>", ">ADVARSEL</kvit:TransportValideringsKode><kvit:FejlListe><kvit:FejlKode>KSD-14.VAERDI</kvit:FejlKode><kvit:FejlTekst>suspended</kvit:FejlTekst></kvit:FejlListe>"), Warning("WIRE-2")),
        on(Resp(O::SendOpdateringFravaer), "a bare FejlKode without its FejlTekst", Replace(">OK</kvit:TransportValideringsKode>", ">FEJL</kvit:TransportValideringsKode><kvit:FejlListe><kvit:FejlKode>KSD-4.X</kvit:FejlKode></kvit:FejlListe>"), Error("WIRE-2")),
        on(Resp(O::SendOpdateringFravaer), "OK with a FejlListe", Replace(">OK</kvit:TransportValideringsKode>", ">OK</kvit:TransportValideringsKode><kvit:FejlListe><kvit:Fejl><kvit:FejlKode>X.Y</kvit:FejlKode><kvit:FejlTekst>t</kvit:FejlTekst></kvit:Fejl></kvit:FejlListe>"), Warning("KSD-15")),
        on(Resp(O::SendOpdateringFravaer), "empty FejlListe", Replace("</kvit:TransportValideringsKode>", "</kvit:TransportValideringsKode><kvit:FejlListe/>"), Error("WIRE-2")),
        on(Req(O::SendHaendelse), "KSD sends OphoersAarsag 51 outward", With(|x| x.replace("<sft:Status>AKTIV</sft:Status>", "<sft:Status>OPHOERT</sft:Status><sft:OphoersAarsag>51</sft:OphoersAarsag><sft:OphoersStartDato>2026-11-23</sft:OphoersStartDato>")), Error("KSD-6")),
        on(Req(O::SendHaendelse), "ended case without a reason", Set("sft:Status", "OPHOERT"), Error("WIRE-3")),
        on(Req(O::SendHaendelse), "VarighedKode outside 60-64", Set("sft:VarighedKode", "65"), Error("KSD-9")),
        on(Req(O::SendForretningsSvarForlaengelse), "time-limited extension without end date", Remove("sft:ForlaengelseSlutDato"), Error("KSD-11")),
        on(Req(O::HentSag), "HentSag with both keys", Replace("</sft:SagIdentifikator>", "</sft:SagIdentifikator><sft:NemRefusionIdentifier>8c6e2a4f-0b1d-4c3e-a5f7-9d8b6c4e2a10</sft:NemRefusionIdentifier>"), Error("WIRE-3")),
        on(Req(O::SendForretningsSvarForlaengelse), "extension and rejection together", Replace("</sft:Forlaengelse>", "</sft:Forlaengelse><sft:Afvisning><sft:Begrundelse>nej</sft:Begrundelse></sft:Afvisning>"), Error("KSD-11")),
        on(Req(O::SendForretningsSvarForlaengelse), "neither extension nor rejection", With(|x| remove_block(&x, "sft:Forlaengelse")), Error("KSD-11")),
        on(Resp(O::HentSag), "HentSag response without Sag or receipt", With(|x| remove_block(&x, "sft:Sag")), Error("WIRE-3")),
        on(Req(O::HentSagsListe), "period ends before it starts", Set("sft:PeriodeTil", "2025-12-31"), Error("WIRE-3")),
        on(Req(O::HentSag), "HentSag without AuthorityContext", With(|x| remove_block(&x, "ac:AuthorityContext")), Error("SP-5")),
    ];
    v.retain(|c| !c.name.is_empty());
    v
}

fn base_xml(b: Base) -> String {
    match b {
        Base::Opdatering => write(&examples::opdatering_fravaer_request()),
        Base::Req(op) => write(&Message::Request(examples::request(op))),
        Base::Resp(op) => write(&Message::Response(examples::response(op))),
    }
}

#[test]
fn every_invalid_input_names_its_rule() {
    let cases = cases();
    assert!(cases.len() >= 60, "{} cases", cases.len());
    let mut failures = Vec::new();
    for c in &cases {
        let base = base_xml(c.base);
        let xml = match &c.mutation {
            Unchanged => base.clone(),
            Remove(t) => remove_line(&base, t),
            Set(t, v) => set(&base, t, v),
            Replace(a, b) => {
                assert!(base.contains(a), "{}: '{a}' not in base", c.name);
                base.replace(a, b)
            }
            With(f) => f(base.clone()),
        };
        assert_ne!(
            xml == base,
            c.soap_action.is_none() && !matches!(c.mutation, Unchanged),
            "{}: mutation changed nothing",
            c.name
        );
        let got = read(xml.as_bytes(), c.soap_action);
        let ok = match (&c.expect, &got) {
            (Unusable(kind), Err(e)) => e.kind() == *kind,
            (Valid, Ok(d)) => d.is_valid(),
            (Error(rule), Ok(d)) => {
                !d.is_valid()
                    && d.problems
                        .iter()
                        .any(|p| p.rule.id() == *rule && p.severity == Severity::Error)
            }
            (Warning(rule), Ok(d)) => {
                d.is_valid()
                    && d.problems
                        .iter()
                        .any(|p| p.rule.id() == *rule && p.severity == Severity::Warning)
            }
            _ => false,
        };
        if !ok {
            let got = match &got {
                Ok(d) => format!("valid={} {:#?}", d.is_valid(), d.problems),
                Err(e) => format!("{} ({e})", e.kind()),
            };
            failures.push(format!("{}: expected {:?}, got {got}", c.name, c.expect));
        }
        // Every error names a path and a text a person can act on.
        if let Ok(d) = &got {
            for p in &d.problems {
                assert!(!p.text.is_empty(), "{}: empty text", c.name);
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
