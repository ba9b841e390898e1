//! Writing: a typed message → a SOAP 1.1 document with the namespaces of wire.md.
//!
//! Output is indented (two spaces) so golden files and journals are readable; all prefixes
//! are declared once on the Envelope. Free text is escaped; value types never need it.

use std::fmt::{Display, Write};

use quick_xml::escape::partial_escape;

use crate::model::*;
use crate::ns::{self, KnownNs};
use crate::operation::Operation;
use crate::read::payload_element;

pub(crate) struct Out {
    buf: String,
    depth: usize,
}

impl Out {
    pub(crate) fn new() -> Out {
        let mut buf = String::with_capacity(4096);
        buf.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        Out { buf, depth: 0 }
    }

    fn indent(&mut self) {
        for _ in 0..self.depth {
            self.buf.push_str("  ");
        }
    }

    pub(crate) fn open(&mut self, q: &str) {
        self.indent();
        let _ = writeln!(self.buf, "<{q}>");
        self.depth += 1;
    }

    pub(crate) fn close(&mut self, q: &str) {
        self.depth -= 1;
        self.indent();
        let _ = writeln!(self.buf, "</{q}>");
    }

    /// A leaf with a value type's canonical text (no escaping needed).
    pub(crate) fn val(&mut self, q: &str, v: impl Display) {
        self.indent();
        let _ = writeln!(self.buf, "<{q}>{v}</{q}>");
    }

    pub(crate) fn opt_val(&mut self, q: &str, v: Option<impl Display>) {
        if let Some(v) = v {
            self.val(q, v);
        }
    }

    /// A leaf with free text, escaped.
    pub(crate) fn text(&mut self, q: &str, v: &str) {
        self.indent();
        let _ = writeln!(self.buf, "<{q}>{}</{q}>", partial_escape(v));
    }

    pub(crate) fn opt_text(&mut self, q: &str, v: Option<&str>) {
        if let Some(v) = v {
            self.text(q, v);
        }
    }

    pub(crate) fn envelope(&mut self, decls: &[KnownNs]) {
        self.buf.push_str("<soap:Envelope");
        for k in decls {
            let _ = write!(self.buf, " xmlns:{}=\"{}\"", k.prefix(), k.uri());
        }
        self.buf.push_str(">\n");
        self.depth = 1;
        self.open("soap:Body");
    }

    pub(crate) fn finish(mut self) -> String {
        self.close("soap:Body");
        self.buf.push_str("</soap:Envelope>\n");
        self.buf
    }
}

fn start(op: Operation) -> Out {
    let mut o = Out::new();
    o.envelope(&[
        KnownNs::Soap11,
        op.port().known_ns(),
        KnownNs::Sft,
        KnownNs::Kvit,
        KnownNs::Ac,
        KnownNs::Cc,
    ]);
    o
}

/// Writes any message.
pub fn write(message: &Message) -> String {
    match message {
        Message::Request(r) => write_request(r),
        Message::Response(r) => write_response(r),
        Message::Fault(f) => write_fault(f),
    }
}

/// Writes a request: `sf:<Operation>Request` with the security context first.
pub fn write_request(r: &Request) -> String {
    let mut o = start(r.operation);
    let el = format!("sf:{}", r.operation.request_element());
    o.open(&el);
    if let Some(cc) = &r.call_context {
        o.open("cc:CallContext");
        o.opt_text("cc:OnBehalfOfUser", cc.on_behalf_of_user.as_deref());
        o.opt_text(
            "cc:CallersServiceCallIdentifier",
            cc.callers_service_call_identifier.as_deref(),
        );
        o.opt_text("cc:AccountingInfo", cc.accounting_info.as_deref());
        o.close("cc:CallContext");
    }
    if let Some(ac) = &r.authority_context {
        o.open("ac:AuthorityContext");
        o.val("ac:MunicipalityCVR", ac.municipality_cvr);
        o.close("ac:AuthorityContext");
    }
    match &r.payload {
        Payload::OpdateringFravaer(p) => {
            o.open("sft:OpdateringFravaer");
            header(&mut o, &p.header);
            o.val("sft:OphoersAarsag", p.ophoers_aarsag);
            o.val("sft:OphoersStartDato", p.ophoers_start_dato);
            o.opt_val("sft:OphoersSlutDato", p.ophoers_slut_dato);
            o.close("sft:OpdateringFravaer");
        }
        Payload::ForretningsSvar(p) => {
            o.open("sft:ForretningsSvar");
            header(&mut o, &p.header);
            o.open("kvit:Forretningskvittering");
            o.val("kvit:ForretningsValideringsKode", p.kvittering.kode);
            o.opt_text("kvit:Begrundelse", p.kvittering.begrundelse.as_deref());
            fejl_liste(&mut o, &p.kvittering.fejl_liste);
            o.close("kvit:Forretningskvittering");
            o.close("sft:ForretningsSvar");
        }
        Payload::Haendelse(p) => {
            o.open("sft:Haendelse");
            header(&mut o, &p.header);
            o.val("sft:HaendelseType", p.haendelse_type);
            sag(&mut o, &p.sag);
            o.close("sft:Haendelse");
        }
        Payload::AnmodningForlaengelse(p) => {
            o.open("sft:AnmodningForlaengelse");
            header(&mut o, &p.header);
            sag(&mut o, &p.sag);
            o.val("sft:VarighedsgraenseDato", p.varighedsgraense_dato);
            o.val("sft:SvarFrist", p.svar_frist);
            o.close("sft:AnmodningForlaengelse");
        }
        Payload::ForretningsSvarForlaengelse(p) => {
            o.open("sft:ForretningsSvarForlaengelse");
            header(&mut o, &p.header);
            match &p.svar {
                SvarForlaengelse::Forlaengelse {
                    forlaengelse_type,
                    forlaengelse_slut_dato,
                } => {
                    o.open("sft:Forlaengelse");
                    o.val("sft:ForlaengelseType", forlaengelse_type);
                    o.opt_val("sft:ForlaengelseSlutDato", *forlaengelse_slut_dato);
                    o.close("sft:Forlaengelse");
                }
                SvarForlaengelse::Afvisning { begrundelse } => {
                    o.open("sft:Afvisning");
                    o.text("sft:Begrundelse", begrundelse);
                    o.close("sft:Afvisning");
                }
            }
            o.close("sft:ForretningsSvarForlaengelse");
        }
        Payload::HentSag(HentSag::SagIdentifikator(id)) => o.val("sft:SagIdentifikator", id),
        Payload::HentSag(HentSag::NemRefusionIdentifier(id)) => {
            o.val("sft:NemRefusionIdentifier", id)
        }
        Payload::HentSagsListe(h) => {
            o.opt_val("sft:SygemeldtePart", h.sygemeldte_part);
            o.opt_val("sft:PeriodeFra", h.periode_fra);
            o.opt_val("sft:PeriodeTil", h.periode_til);
        }
    }
    debug_assert!(!payload_element(r.operation.payload_kind()).is_empty());
    o.close(&el);
    o.finish()
}

/// Writes a response: `sf:<Operation>Response`.
pub fn write_response(r: &Response) -> String {
    let mut o = start(r.operation);
    let el = format!("sf:{}", r.operation.response_element());
    o.open(&el);
    match &r.body {
        ResponseBody::TransportKvittering(k) => transport_kvittering(&mut o, k),
        ResponseBody::Sag(s) => sag(&mut o, s),
        ResponseBody::SagsListe(l) => l.iter().for_each(|s| sag(&mut o, s)),
    }
    o.close(&el);
    o.finish()
}

/// Writes a SOAP 1.1 fault (HTTP 500) with an optional ServiceplatformFault detail.
pub fn write_fault(f: &SoapFault) -> String {
    let mut o = Out::new();
    o.envelope(&[KnownNs::Soap11, KnownNs::Spf]);
    o.open("soap:Fault");
    o.text("faultcode", &f.fault_code);
    o.text("faultstring", &f.fault_string);
    o.opt_text("faultactor", f.fault_actor.as_deref());
    if let Some(spf) = &f.serviceplatform_fault {
        o.open("detail");
        o.open("spf:ServiceplatformFault");
        o.open("spf:ErrorList");
        for e in &spf.errors {
            o.open("spf:Error");
            o.text("spf:ErrorCode", &e.error_code);
            o.text("spf:ErrorText", &e.error_text);
            o.close("spf:Error");
        }
        o.close("spf:ErrorList");
        o.close("spf:ServiceplatformFault");
        o.close("detail");
    }
    o.close("soap:Fault");
    let _ = ns::SOAP11;
    o.finish()
}

pub(crate) fn transport_kvittering(o: &mut Out, k: &TransportKvittering) {
    o.open("kvit:TransportKvittering");
    o.val("kvit:TransportValideringsKode", k.kode);
    o.opt_text("kvit:Begrundelse", k.begrundelse.as_deref());
    fejl_liste(o, &k.fejl_liste);
    o.close("kvit:TransportKvittering");
}

fn fejl_liste(o: &mut Out, l: &[Fejl]) {
    if l.is_empty() {
        return;
    }
    o.open("kvit:FejlListe");
    for f in l {
        o.open("kvit:Fejl");
        o.text("kvit:FejlKode", &f.fejl_kode);
        o.text("kvit:FejlTekst", &f.fejl_tekst);
        o.close("kvit:Fejl");
    }
    o.close("kvit:FejlListe");
}

fn header(o: &mut Out, h: &Header) {
    o.open("sft:Header");
    o.val("sft:TransaktionIdentifikator", h.transaktion_identifikator);
    o.val(
        "sft:BeskedForsendelsesDatoTid",
        h.besked_forsendelses_dato_tid,
    );
    o.val("sft:RegistreringFraDatoTid", h.registrering_fra_dato_tid);
    o.val("sft:RegistreringITsystem", h.registrering_it_system);
    o.opt_val("sft:RegistreringBruger", h.registrering_bruger);
    o.opt_val("sft:UdgiverTypeKode", h.udgiver_type_kode);
    o.val("sft:Myndighed", h.myndighed);
    o.val("sft:SygemeldtePart", h.sygemeldte_part);
    o.val("sft:ArbejdsgiverPart", h.arbejdsgiver_part);
    o.opt_val(
        "sft:ArbejdsgiverProduktionsenhed",
        h.arbejdsgiver_produktionsenhed,
    );
    o.opt_val("sft:NemRefusionIdentifier", h.nem_refusion_identifier);
    o.opt_val("sft:SagIdentifikator", h.sag_identifikator);
    o.opt_text("sft:JobcenterSagID", h.jobcenter_sag_id.as_deref());
    o.opt_text(
        "sft:KMDSagIdentifikator",
        h.kmd_sag_identifikator.as_deref(),
    );
    o.opt_text(
        "sft:KMDDelsagIdentifikator",
        h.kmd_delsag_identifikator.as_deref(),
    );
    o.val(
        "sft:ForretningHaendelseDatoTid",
        h.forretning_haendelse_dato_tid,
    );
    o.val("sft:FoersteFravaersdag", h.foerste_fravaersdag);
    o.close("sft:Header");
}

fn sag(o: &mut Out, s: &Sag) {
    o.open("sft:Sag");
    o.val("sft:SagIdentifikator", s.sag_identifikator);
    o.opt_val("sft:NemRefusionIdentifier", s.nem_refusion_identifier);
    o.val("sft:SygemeldtePart", s.sygemeldte_part);
    o.val("sft:Myndighed", s.myndighed);
    o.val("sft:ArbejdsgiverPart", s.arbejdsgiver_part);
    o.opt_val(
        "sft:ArbejdsgiverProduktionsenhed",
        s.arbejdsgiver_produktionsenhed,
    );
    o.val("sft:FoersteFravaersdag", s.foerste_fravaersdag);
    o.val("sft:Status", s.status);
    o.opt_val("sft:OphoersAarsag", s.ophoers_aarsag);
    o.opt_val("sft:OphoersStartDato", s.ophoers_start_dato);
    o.opt_val("sft:OphoersSlutDato", s.ophoers_slut_dato);
    o.val("sft:VarighedKode", s.varighed_kode);
    if !s.historik.is_empty() {
        o.open("sft:StatusHistorik");
        for a in &s.historik {
            o.open("sft:StatusAendring");
            o.val("sft:RegistreringDatoTid", a.registrering_dato_tid);
            o.val("sft:Status", a.status);
            o.opt_val("sft:OphoersAarsag", a.ophoers_aarsag);
            o.opt_val("sft:OphoersStartDato", a.ophoers_start_dato);
            o.opt_val("sft:OphoersSlutDato", a.ophoers_slut_dato);
            o.val("sft:VarighedKode", a.varighed_kode);
            o.close("sft:StatusAendring");
        }
        o.close("sft:StatusHistorik");
    }
    o.close("sft:Sag");
}
