//! Writing the Beskedfordeler's documents: the bare `Haendelsesbesked` (what the broker stores
//! and queues) and the SOAP 1.1 requests and answers of its services, indented by two spaces
//! like every document of the contract. Prefixes: `besked` ([`NS_KUVERT`]), `sd`
//! ([`NS_SAGDOK`]), `b64` ([`NS_BASE64`]), `bf` ([`NS_BF`]).

use std::fmt::Write;

use quick_xml::escape::{escape, partial_escape};

use super::model::*;
use super::{base64, NS_BASE64, NS_BF, NS_KUVERT, NS_SAGDOK};
use crate::ns::SOAP11;

/// Free text as XML can carry it: characters XML 1.0 does not allow become U+FFFD, so the
/// document stays readable whatever a caller put in a text field (WIRE-1).
fn clean(text: &str) -> std::borrow::Cow<'_, str> {
    if text.chars().all(crate::is_xml_char) {
        std::borrow::Cow::Borrowed(text)
    } else {
        text.chars()
            .map(|c| if crate::is_xml_char(c) { c } else { '\u{FFFD}' })
            .collect::<String>()
            .into()
    }
}

/// A small indenting writer (the crate's own cannot write attributes on leaves).
struct W {
    buf: String,
    depth: usize,
}

impl W {
    fn new() -> W {
        let mut buf = String::with_capacity(16 * 1024);
        buf.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        W { buf, depth: 0 }
    }

    fn indent(&mut self) {
        for _ in 0..self.depth {
            self.buf.push_str("  ");
        }
    }

    /// `<q attrs>` and one level deeper.
    fn open_with(&mut self, q: &str, attrs: &str) {
        self.indent();
        let _ = writeln!(self.buf, "<{q}{attrs}>");
        self.depth += 1;
    }

    fn open(&mut self, q: &str) {
        self.open_with(q, "");
    }

    fn close(&mut self, q: &str) {
        self.depth = self.depth.saturating_sub(1);
        self.indent();
        let _ = writeln!(self.buf, "</{q}>");
    }

    /// A leaf with a value type's canonical text (needs no escaping).
    fn val(&mut self, q: &str, v: impl std::fmt::Display) {
        self.indent();
        let _ = writeln!(self.buf, "<{q}>{v}</{q}>");
    }

    /// A leaf with free text, escaped.
    fn text(&mut self, q: &str, v: &str) {
        self.indent();
        let _ = writeln!(self.buf, "<{q}>{}</{q}>", partial_escape(clean(v).as_ref()));
    }

    /// `<outer><inner>v</inner></outer>` on one line: sagdok's wrapped identifiers.
    fn wrapped(&mut self, outer: &str, inner: &str, v: impl std::fmt::Display) {
        self.indent();
        let _ = writeln!(self.buf, "<{outer}><{inner}>{v}</{inner}></{outer}>");
    }

    fn finish(self) -> String {
        self.buf
    }
}

/// The namespace declarations of a bare `Haendelsesbesked`.
fn besked_decls() -> String {
    format!(" xmlns:besked=\"{NS_KUVERT}\" xmlns:sd=\"{NS_SAGDOK}\" xmlns:b64=\"{NS_BASE64}\"")
}

/// Writes one `Haendelsesbesked` as a document of its own: what the broker stores, queues
/// (the body of an AMQP message) and hands out.
pub fn write_haendelsesbesked(b: &Haendelsesbesked) -> String {
    let mut w = W::new();
    haendelsesbesked(&mut w, b, &besked_decls());
    w.finish()
}

fn haendelsesbesked(w: &mut W, b: &Haendelsesbesked, decls: &str) {
    w.open_with("besked:Haendelsesbesked", decls);
    w.wrapped("besked:BeskedId", "sd:UUIDIdentifikator", b.besked_id);
    w.text("besked:BeskedVersion", &b.besked_version);
    w.open("besked:Beskedkuvert");
    let f = &b.filtreringsdata;
    w.open("besked:Filtreringsdata");
    w.wrapped("besked:Beskedtype", "sd:UUIDIdentifikator", f.beskedtype);
    for m in &f.tilladte_modtagere {
        w.wrapped(
            "besked:TilladtModtager",
            "sd:URNIdentifikator",
            format_args!("{URN_CVR_NR}{m}"),
        );
    }
    for o in &f.relaterede_objekter {
        w.open("besked:RelateretObjekt");
        w.wrapped(
            "besked:ObjektId",
            "sd:URNIdentifikator",
            partial_escape(clean(&o.objekt_id).as_ref()),
        );
        w.wrapped("besked:ObjektType", "sd:UUIDIdentifikator", o.objekt_type);
        w.close("besked:RelateretObjekt");
    }
    let r = &f.objekt_registrering;
    w.open("besked:ObjektRegistrering");
    w.wrapped(
        "besked:ObjektRegistreringId",
        "sd:UUIDIdentifikator",
        r.objekt_registrering_id,
    );
    w.wrapped(
        "besked:ObjektAnsvarligMyndighed",
        "sd:URNIdentifikator",
        format_args!("{URN_CVR}{}", r.objekt_ansvarlig_myndighed),
    );
    w.wrapped("besked:ObjektId", "sd:UUIDIdentifikator", r.objekt_id);
    w.close("besked:ObjektRegistrering");
    w.close("besked:Filtreringsdata");
    let l = &b.leveranceinformation;
    w.open("besked:Leveranceinformation");
    w.wrapped(
        "besked:Dannelsestidspunkt",
        "sd:TidsstempelDatoTid",
        l.dannelsestidspunkt,
    );
    w.text(
        "besked:Sikkerhedsklassificering",
        &l.sikkerhedsklassificering,
    );
    w.close("besked:Leveranceinformation");
    w.close("besked:Beskedkuvert");
    w.open("besked:Beskeddata");
    let d = &b.beskeddata;
    w.indent();
    let _ = writeln!(
        w.buf,
        "<b64:Base64 content-type=\"{}\" encoding=\"{}\" file-type=\"{}\">{}</b64:Base64>",
        escape(clean(&d.content_type).as_ref()),
        escape(clean(&d.encoding).as_ref()),
        escape(clean(&d.file_type).as_ref()),
        base64::encode(&d.data)
    );
    w.close("besked:Beskeddata");
    w.close("besked:Haendelsesbesked");
}

/// The envelope with every prefix declared once, the Body open.
fn envelope() -> W {
    let mut w = W::new();
    w.open_with(
        "soap:Envelope",
        &format!(
            " xmlns:soap=\"{SOAP11}\" xmlns:bf=\"{NS_BF}\"{}",
            besked_decls()
        ),
    );
    w.open("soap:Body");
    w
}

fn finish(mut w: W) -> String {
    w.close("soap:Body");
    w.close("soap:Envelope");
    w.finish()
}

/// Writes a request: `bf:<Operation>Input`.
pub fn write_request(r: &BfRequest) -> String {
    let mut w = envelope();
    let el = format!("bf:{}", r.operation().input_element());
    w.open(&el);
    match r {
        BfRequest::ModtagBesked(b) => haendelsesbesked(&mut w, b, ""),
        BfRequest::VaerdilisteTilfoej(a) | BfRequest::VaerdilisteFjern(a) => {
            w.text("bf:VaerdilisteNavn", &a.vaerdiliste_navn);
            for cpr in &a.personer {
                w.val("bf:Vaerdi", format_args!("{URN_CPR}{cpr}"));
            }
        }
        BfRequest::HentBeskeder(h) => {
            w.val("bf:AbonnementId", h.abonnement_id);
            w.val("bf:MaksAntal", h.maks_antal);
        }
        BfRequest::BekraeftBeskeder(b) => {
            w.val("bf:AbonnementId", b.abonnement_id);
            for id in &b.levering_ider {
                w.val("bf:LeveringId", id);
            }
        }
    }
    w.close(&el);
    finish(w)
}

fn standard_retur(w: &mut W, s: &StandardRetur) {
    w.open("bf:StandardRetur");
    w.val("bf:StatusKode", s.status_kode);
    if let Some(t) = &s.fejlbesked_tekst {
        w.text("bf:FejlbeskedTekst", t);
    }
    w.close("bf:StandardRetur");
}

/// Writes an answer: `bf:<Operation>Output`, `StandardRetur` first.
pub fn write_response(r: &BfResponse) -> String {
    let mut w = envelope();
    let el = format!("bf:{}", r.operation().output_element());
    w.open(&el);
    standard_retur(&mut w, r.standard_retur());
    match r {
        BfResponse::ModtagBesked(_) => {}
        BfResponse::VaerdilisteTilfoej(s) | BfResponse::VaerdilisteFjern(s) => {
            w.val("bf:AntalAendret", s.antal_aendret);
        }
        BfResponse::HentBeskeder(h) => {
            for l in &h.leveringer {
                w.open("bf:Levering");
                w.val("bf:LeveringId", l.levering_id);
                w.val("bf:Forsoeg", l.forsoeg);
                haendelsesbesked(&mut w, &l.haendelsesbesked, "");
                w.close("bf:Levering");
            }
        }
        BfResponse::BekraeftBeskeder(b) => w.val("bf:AntalBekraeftet", b.antal_bekraeftet),
    }
    w.close(&el);
    finish(w)
}

/// Writes a SOAP fault: the contract's own (`ServiceplatformFault` detail), as every refusal.
pub fn write_fault(f: &crate::model::SoapFault) -> String {
    crate::write::write_fault(f)
}

/// Writes any document of the services.
pub fn write(m: &BfMessage) -> String {
    match m {
        BfMessage::Request(r) => write_request(r),
        BfMessage::Response(r) => write_response(r),
        BfMessage::Fault(f) => write_fault(f),
    }
}
