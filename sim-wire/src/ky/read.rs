//! Reading SF1690 documents: bytes → the KY operation, the typed message and every problem,
//! with the same parser, envelope checks and forgiveness as Sygefravaer's reader (prefixes,
//! order and foreign namespaces accepted with a warning; every missing or malformed field an
//! error naming its rule and path).

use std::str::FromStr;

use super::model::*;
use super::operation::{Handling, KyOperation};
use super::validate as check;
use crate::dom::{self, Element, Ns};
use crate::error::WireError;
use crate::model::{AuthorityContext, CallContext};
use crate::ns::KnownNs::{self, Ac, Cc, Kvit, Ky, Kyt, Soap11, Soap12};
use crate::read::{envelope_shape, join, Ctx, MessageKind};
use crate::rules::{code, Problem, Rule};
use crate::values::{Cpr, Cvr, Dato, DatoTid, Uuid, ValueError};

/// A usable SF1690 document, read.
#[derive(Debug, Clone)]
pub struct KyDecoded {
    /// The operation (for a fault: the one SOAPAction names, if any).
    pub operation: Option<KyOperation>,
    /// Request, response or fault.
    pub kind: MessageKind,
    /// The typed message whenever every mandatory field could be read, even if a rule is
    /// broken — so KY can still answer and journal it.
    pub message: Option<KyMessage>,
    /// Every problem found.
    pub problems: Vec<Problem>,
    /// The security context's municipality, when readable: the platform checks agreements by
    /// it (SP-5) even when the payload cannot be read.
    pub authority_context: Option<AuthorityContext>,
    /// The header's TransaktionIdentifikator, when readable (journals, KY-10).
    pub transaktion_id: Option<Uuid>,
    /// The header's Myndighed, when readable (KY-5).
    pub myndighed: Option<Cvr>,
    /// The header's PersonCPR, when readable (journals).
    pub person_cpr: Option<Cpr>,
}

impl KyDecoded {
    /// A message and no error-severity problem.
    pub fn is_valid(&self) -> bool {
        self.message.is_some() && !self.problems.iter().any(Problem::is_error)
    }

    /// The request, when this is one that could be read.
    pub fn request(&self) -> Option<&KyRequest> {
        match &self.message {
            Some(KyMessage::Request(r)) => Some(r),
            _ => None,
        }
    }

    /// The receipt, when this is a response that could be read.
    pub fn response(&self) -> Option<&KyResponse> {
        match &self.message {
            Some(KyMessage::Response(r)) => Some(r),
            _ => None,
        }
    }

    /// The fault, when this is one.
    pub fn fault(&self) -> Option<&crate::model::SoapFault> {
        match &self.message {
            Some(KyMessage::Fault(f)) => Some(f),
            _ => None,
        }
    }
}

/// `Paragraf`: a small number read as a value (KY-4 checks which).
struct Num(u8);

impl FromStr for Num {
    type Err = ValueError;

    fn from_str(s: &str) -> Result<Num, ValueError> {
        s.trim()
            .parse()
            .map(Num)
            .map_err(|_| ValueError(format!("'{s}' is not a section number (e.g. 82)")))
    }
}

/// Reads one SF1690 document. `soap_action` is the HTTP `SOAPAction`, if known; when it
/// disagrees with the Body, the Body decides and the disagreement is an error (WIRE-1).
pub fn read(xml: &[u8], soap_action: Option<&str>) -> Result<KyDecoded, WireError> {
    let root = dom::parse(xml)?;
    if &*root.name == "Envelope" && root.ns == Ns::Known(Soap12) {
        return Err(WireError::Soap12);
    }
    if !root.is(Soap11, "Envelope") {
        return Err(WireError::NotEnvelope {
            found: root.clark(),
        });
    }
    let Some(body) = root.children.iter().find(|c| c.is(Soap11, "Body")) else {
        return Err(WireError::NoBody);
    };
    envelope_shape(&root)?;
    let first = body.children.first().ok_or(WireError::EmptyBody)?;
    let mut r = Reader::default();
    if body.children.len() > 1 {
        r.ctx.problems.push(Problem::error(
            Rule::Wire1,
            code::UKENDT,
            "Body",
            format!(
                "the Body holds {} elements; document/literal allows exactly one",
                body.children.len()
            ),
        ));
    }
    let action = soap_action
        .map(|a| a.trim().trim_matches('"'))
        .filter(|a| !a.is_empty());
    let action_op = action.and_then(KyOperation::from_soap_action);
    if let (Some(a), None) = (action, action_op) {
        r.ctx.problems.push(Problem::error(
            Rule::Wire1,
            code::OPERATION,
            "SOAPAction",
            format!("SOAPAction '{a}' names no operation of KontanthjaelpServiceKY; expected {}<Operation>", crate::ns::KY),
        ));
    }
    if first.is(Soap11, "Fault") {
        let fault = r.ctx.fault(first).map(KyMessage::Fault);
        return Ok(r.finish(action_op, MessageKind::Fault, fault));
    }
    let (base, kind) = if let Some(b) = first.name.strip_suffix("Request") {
        (b, MessageKind::Request)
    } else if let Some(b) = first.name.strip_suffix("Response") {
        (b, MessageKind::Response)
    } else {
        (&*first.name, MessageKind::Request)
    };
    let Some(op) = KyOperation::from_name(base) else {
        return Err(WireError::UnknownOperation {
            detail: format!(
                "the Body holds {}; KontanthjaelpServiceKY's elements are <Operation>Request and <Operation>Response of {}",
                first.clark(),
                KyOperation::ALL.map(KyOperation::name).join(", ")
            ),
        });
    };
    r.ctx.note_ns(first, Some(Ky), "");
    if let Some(a) = action_op.filter(|a| *a != op) {
        r.ctx.problems.push(Problem::error(
            Rule::Wire1,
            code::OPERATION,
            "SOAPAction",
            format!(
                "SOAPAction names {} but the Body holds {}; the Body decides",
                a.name(),
                first.name
            ),
        ));
    }
    let message = match kind {
        MessageKind::Request => r.request(op, first).map(KyMessage::Request),
        _ => r.response(op, first).map(KyMessage::Response),
    };
    Ok(r.finish(Some(op), kind, message))
}

#[derive(Default)]
struct Reader {
    ctx: Ctx,
    authority_context: Option<AuthorityContext>,
    transaktion_id: Option<Uuid>,
    myndighed: Option<Cvr>,
    person_cpr: Option<Cpr>,
}

/// The three elements every payload starts with.
const COMMON: [(&str, Option<KnownNs>); 3] = [
    ("Header", Some(Kyt)),
    ("Handling", Some(Kyt)),
    ("KontaktforloebID", Some(Kyt)),
];

/// `COMMON` followed by an operation's own elements.
const fn spec<const N: usize>(own: [&'static str; N]) -> [(&'static str, Option<KnownNs>); 12] {
    let mut out = [("", Some(Kyt)); 12];
    let mut i = 0;
    while i < 3 {
        out[i] = COMMON[i];
        i += 1;
    }
    let mut j = 0;
    while j < N {
        out[3 + j] = (own[j], Some(Kyt));
        j += 1;
    }
    out
}

impl Reader {
    fn finish(
        mut self,
        operation: Option<KyOperation>,
        kind: MessageKind,
        message: Option<KyMessage>,
    ) -> KyDecoded {
        self.ctx.report_foreign();
        KyDecoded {
            operation,
            kind,
            message,
            problems: std::mem::take(&mut self.ctx.problems),
            authority_context: self.authority_context,
            transaktion_id: self.transaktion_id,
            myndighed: self.myndighed,
            person_cpr: self.person_cpr,
        }
    }

    fn response(&mut self, op: KyOperation, el: &Element<'_>) -> Option<KyResponse> {
        let f = self
            .ctx
            .fields(el, "", &[("TransportKvittering", Some(Kvit))]);
        let Some(k) = f[0] else {
            self.ctx.missing(Rule::Ky1, "", "TransportKvittering");
            return None;
        };
        let kvittering = self.ctx.transport_kvittering(k, "TransportKvittering")?;
        Some(KyResponse {
            operation: op,
            kvittering,
        })
    }

    fn request(&mut self, op: KyOperation, el: &Element<'_>) -> Option<KyRequest> {
        let f = self.ctx.fields(
            el,
            "",
            &[
                ("CallContext", Some(Cc)),
                ("AuthorityContext", Some(Ac)),
                (op.payload_element(), Some(Kyt)),
            ],
        );
        let call_context = f[0].map(|cc| self.call_context(cc));
        let present = f[1].is_some();
        if let Some(ac) = f[1] {
            let p = "AuthorityContext";
            let g = self.ctx.fields(ac, p, &[("MunicipalityCVR", Some(Ac))]);
            self.authority_context = self
                .ctx
                .req::<Cvr>(g[0], Rule::Sp5, p, "MunicipalityCVR")
                .map(|municipality_cvr| AuthorityContext { municipality_cvr });
        }
        let payload = match f[2] {
            Some(pel) => self.payload(op, pel),
            None => {
                self.ctx.missing(Rule::Ky2, "", op.payload_element());
                None
            }
        };
        check::context(
            op,
            present,
            self.authority_context.as_ref(),
            self.myndighed,
            &mut self.ctx.problems,
        );
        Some(KyRequest {
            call_context,
            authority_context: self.authority_context.clone(),
            payload: payload?,
        })
    }

    fn call_context(&mut self, cc: &Element<'_>) -> CallContext {
        let p = "CallContext";
        let names = [
            "OnBehalfOfUser",
            "CallersServiceCallIdentifier",
            "AccountingInfo",
        ];
        let f = self.ctx.fields(cc, p, &names.map(|n| (n, Some(Cc))));
        let vals: Vec<Option<String>> = f.iter().map(|e| self.ctx.opt_text(*e)).collect();
        for (v, n) in vals.iter().zip(names) {
            crate::validate::call_context_field(v.as_deref(), &join(p, n), &mut self.ctx.problems);
        }
        let mut it = vals.into_iter();
        CallContext {
            on_behalf_of_user: it.next().flatten(),
            callers_service_call_identifier: it.next().flatten(),
            accounting_info: it.next().flatten(),
        }
    }

    fn header(&mut self, el: Option<&Element<'_>>, parent: &str) -> Option<KyHeader> {
        let Some(el) = el else {
            self.ctx.missing(Rule::Ky2, parent, "Header");
            return None;
        };
        let p = &join(parent, "Header");
        let names = [
            "TransaktionIdentifikator",
            "BeskedForsendelsesDatoTid",
            "RegistreringITsystem",
            "Myndighed",
            "PersonCPR",
            "JobcenterSagID",
        ];
        let f = self.ctx.fields(el, p, &names.map(|n| (n, Some(Kyt))));
        let tid = self.ctx.req::<Uuid>(f[0], Rule::Ky2, p, names[0]);
        let sent = self.ctx.req::<DatoTid>(f[1], Rule::Ky2, p, names[1]);
        let system = self.ctx.req::<Uuid>(f[2], Rule::Ky2, p, names[2]);
        let myndighed = self.ctx.req::<Cvr>(f[3], Rule::Ky2, p, names[3]);
        let cpr = self.ctx.req::<Cpr>(f[4], Rule::Ky2, p, names[4]);
        let sag = self.ctx.opt_text(f[5]);
        self.transaktion_id = tid;
        self.myndighed = myndighed;
        self.person_cpr = cpr;
        Some(KyHeader {
            transaktion_identifikator: tid?,
            besked_forsendelses_dato_tid: sent?,
            registrering_it_system: system?,
            myndighed: myndighed?,
            person_cpr: cpr?,
            jobcenter_sag_id: sag,
        })
    }

    fn req<T: FromStr<Err = ValueError>>(
        &mut self,
        el: Option<&Element<'_>>,
        p: &str,
        name: &str,
    ) -> Option<T> {
        self.ctx.req(el, Rule::Ky2, p, name)
    }

    fn opt<T: FromStr<Err = ValueError>>(
        &mut self,
        el: Option<&Element<'_>>,
        p: &str,
        name: &str,
    ) -> Option<T> {
        self.ctx.opt(el, Rule::Ky2, p, name)
    }

    fn text(&mut self, el: Option<&Element<'_>>, p: &str, name: &str) -> Option<String> {
        self.ctx.req_text(el, Rule::Ky2, p, name)
    }

    fn linje(&mut self, f: &[Option<&Element<'_>>], p: &str) -> Option<GodtgoerelseLinje> {
        let id = self.req::<Uuid>(f[0], p, "GodtgoerelseID");
        let paragraf = self.req::<Num>(f[1], p, "Paragraf");
        let beloeb = self.req::<Beloeb>(f[2], p, "Beloeb");
        let dato = self.req::<Dato>(f[3], p, "Dato");
        Some(GodtgoerelseLinje {
            godtgoerelse_id: id?,
            paragraf: paragraf?.0,
            beloeb: beloeb?,
            dato: dato?,
        })
    }

    fn payload(&mut self, op: KyOperation, el: &Element<'_>) -> Option<KyPayload> {
        let p = op.payload_element();
        // Aktivitet repeats Godtgoerelse: those are read one by one, the rest as fields.
        let (fields_of, lines): (std::borrow::Cow<'_, Element<'_>>, Vec<&Element<'_>>) =
            if op == KyOperation::Aktivitet {
                let mut rest = el.clone();
                rest.children.retain(|c| &*c.name != "Godtgoerelse");
                let lines = el
                    .children
                    .iter()
                    .filter(|c| &*c.name == "Godtgoerelse")
                    .collect();
                (std::borrow::Cow::Owned(rest), lines)
            } else {
                (std::borrow::Cow::Borrowed(el), Vec::new())
            };
        let spec = match op {
            KyOperation::Kontaktforloeb => spec(["Maalgruppe", "StartDato", "SlutDato"]),
            KyOperation::Visitationsgruppe => spec(["VisitationsgruppeKode", "GyldigFraDato"]),
            KyOperation::Tilkendegivelse => {
                spec(["TilkendegivelseID", "TilkendegivelseKode", "Dato"])
            }
            KyOperation::Aktivitet => spec(["AktivitetID", "Tilbudstype", "StartDato", "SlutDato"]),
            KyOperation::Godtgoerelse => spec([
                "AktivitetID",
                "GodtgoerelseID",
                "Paragraf",
                "Beloeb",
                "Dato",
            ]),
            KyOperation::Fravaer => spec([
                "FravaerID",
                "AktivitetID",
                "FraDato",
                "TilDato",
                "Uberettiget",
            ]),
            KyOperation::Sanktionsanmodning => {
                spec(["SanktionID", "SanktionAarsag", "HaendelseDato"])
            }
            KyOperation::Maalgruppeskift => spec(["Maalgruppe", "SkiftDato"]),
        };
        let f = self.ctx.fields(&fields_of, p, &spec);
        let header = self.header(f[0], p);
        let handling = self.req::<Handling>(f[1], p, "Handling");
        let kontaktforloeb_id = self.req::<Uuid>(f[2], p, "KontaktforloebID");
        let body = match op {
            KyOperation::Kontaktforloeb => {
                let maalgruppe = self.ctx.opt_text(f[3]);
                let start_dato = self.opt(f[4], p, "StartDato");
                let slut_dato = self.opt(f[5], p, "SlutDato");
                Some(KyBody::Kontaktforloeb(Kontaktforloeb {
                    maalgruppe,
                    start_dato,
                    slut_dato,
                }))
            }
            KyOperation::Visitationsgruppe => {
                let kode = self.text(f[3], p, "VisitationsgruppeKode");
                let fra = self.req(f[4], p, "GyldigFraDato");
                Some(KyBody::Visitationsgruppe(Visitationsgruppe {
                    visitationsgruppe_kode: kode?,
                    gyldig_fra_dato: fra?,
                }))
            }
            KyOperation::Tilkendegivelse => {
                let id = self.req(f[3], p, "TilkendegivelseID");
                let kode = self.text(f[4], p, "TilkendegivelseKode");
                let dato = self.req(f[5], p, "Dato");
                Some(KyBody::Tilkendegivelse(Tilkendegivelse {
                    tilkendegivelse_id: id?,
                    tilkendegivelse_kode: kode?,
                    dato: dato?,
                }))
            }
            KyOperation::Aktivitet => {
                let id = self.req(f[3], p, "AktivitetID");
                let tilbudstype = self.ctx.opt_text(f[4]);
                let start_dato = self.opt(f[5], p, "StartDato");
                let slut_dato = self.opt(f[6], p, "SlutDato");
                let mut godtgoerelser = Vec::new();
                let mut complete = true;
                for (i, l) in lines.iter().enumerate() {
                    self.ctx.note_ns(l, Some(Kyt), p);
                    let lp = &format!("{}[{i}]", join(p, "Godtgoerelse"));
                    let names = ["GodtgoerelseID", "Paragraf", "Beloeb", "Dato"];
                    let g = self.ctx.fields(l, lp, &names.map(|n| (n, Some(Kyt))));
                    match self.linje(&g, lp) {
                        Some(l) => godtgoerelser.push(l),
                        None => complete = false,
                    }
                }
                complete.then_some(())?;
                Some(KyBody::Aktivitet(Aktivitet {
                    aktivitet_id: id?,
                    tilbudstype,
                    start_dato,
                    slut_dato,
                    godtgoerelser,
                }))
            }
            KyOperation::Godtgoerelse => {
                let aktivitet_id = self.opt(f[3], p, "AktivitetID");
                let linje = self.linje(&f[4..8], p);
                Some(KyBody::Godtgoerelse(Godtgoerelse {
                    aktivitet_id,
                    linje: linje?,
                }))
            }
            KyOperation::Fravaer => {
                let id = self.req(f[3], p, "FravaerID");
                let aktivitet_id = self.opt(f[4], p, "AktivitetID");
                let fra = self.req(f[5], p, "FraDato");
                let til = self.req(f[6], p, "TilDato");
                let uberettiget = self.req::<Flag>(f[7], p, "Uberettiget");
                Some(KyBody::Fravaer(Fravaer {
                    fravaer_id: id?,
                    aktivitet_id,
                    fra_dato: fra?,
                    til_dato: til?,
                    uberettiget: uberettiget?.0,
                }))
            }
            KyOperation::Sanktionsanmodning => {
                let id = self.req(f[3], p, "SanktionID");
                let aarsag = self.text(f[4], p, "SanktionAarsag");
                let dato = self.req(f[5], p, "HaendelseDato");
                Some(KyBody::Sanktionsanmodning(Sanktionsanmodning {
                    sanktion_id: id?,
                    sanktion_aarsag: aarsag?,
                    haendelse_dato: dato?,
                }))
            }
            KyOperation::Maalgruppeskift => {
                let m = self.text(f[3], p, "Maalgruppe");
                let dato = self.req(f[4], p, "SkiftDato");
                Some(KyBody::Maalgruppeskift(Maalgruppeskift {
                    maalgruppe: m?,
                    skift_dato: dato?,
                }))
            }
        };
        let payload = KyPayload {
            header: header?,
            handling: handling?,
            kontaktforloeb_id: kontaktforloeb_id?,
            body: body?,
        };
        check::payload(&payload, p, &mut self.ctx.problems);
        Some(payload)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ky::{examples, write, write_request};

    #[test]
    fn every_example_reads_back_equal_and_valid() {
        for (name, r) in examples::requests() {
            let xml = write_request(&r);
            let d = read(xml.as_bytes(), Some(&r.operation().soap_action())).unwrap();
            assert!(d.is_valid(), "{name}: {:?}", d.problems);
            assert_eq!(d.request(), Some(&r), "{name}");
            assert_eq!(
                d.transaktion_id,
                Some(r.payload.header.transaktion_identifikator)
            );
        }
        for m in [
            KyMessage::Response(examples::response_ok(KyOperation::Fravaer)),
            KyMessage::Response(examples::response_fejl()),
        ] {
            let d = read(write(&m).as_bytes(), None).unwrap();
            assert_eq!(d.message.as_ref(), Some(&m));
            assert_eq!(d.kind, MessageKind::Response);
        }
    }

    #[test]
    fn missing_and_malformed_fields_name_ky2() {
        let xml = write_request(&examples::request(KyOperation::Fravaer))
            .replace("<kyt:PersonCPR>0101701234</kyt:PersonCPR>", "")
            .replace(
                "<kyt:Uberettiget>true</kyt:Uberettiget>",
                "<kyt:Uberettiget>ja</kyt:Uberettiget>",
            );
        let d = read(xml.as_bytes(), None).unwrap();
        let codes: Vec<String> = d
            .problems
            .iter()
            .filter(|p| p.is_error())
            .map(Problem::fejl_kode)
            .collect();
        assert_eq!(codes, ["KY-2.MANGLER", "KY-2.FORMAT"]);
        assert!(d.message.is_none());
        assert!(
            d.transaktion_id.is_some(),
            "the header's id is kept for the journal"
        );
    }

    #[test]
    fn soap_action_must_name_the_body() {
        let r = examples::request(KyOperation::Aktivitet);
        let xml = write_request(&r);
        let d = read(xml.as_bytes(), Some(&KyOperation::Fravaer.soap_action())).unwrap();
        assert_eq!(d.operation, Some(KyOperation::Aktivitet));
        assert!(d
            .problems
            .iter()
            .any(|p| p.is_error() && p.rule == Rule::Wire1 && p.path == "SOAPAction"));
        let d = read(xml.as_bytes(), Some("urn:other")).unwrap();
        assert!(d
            .problems
            .iter()
            .any(|p| p.is_error() && p.rule == Rule::Wire1));
    }

    #[test]
    fn a_sygefravaer_message_is_no_ky_operation() {
        let xml = crate::write_request(&crate::examples::request(
            crate::Operation::SendOpdateringFravaer,
        ));
        assert!(matches!(
            read(xml.as_bytes(), None),
            Err(WireError::UnknownOperation { .. })
        ));
    }

    #[test]
    fn foreign_prefixes_and_namespaces() {
        let xml = write_request(&examples::request(KyOperation::Maalgruppeskift))
            .replace("xmlns:kyt=", "xmlns:k2=")
            .replace("kyt:", "k2:");
        let d = read(xml.as_bytes(), None).unwrap();
        assert!(d.is_valid(), "a prefix is only a prefix: {:?}", d.problems);
        let xml = write_request(&examples::request(KyOperation::Maalgruppeskift))
            .replace(crate::ns::KYT, "urn:elsewhere");
        let d = read(xml.as_bytes(), None).unwrap();
        assert!(d.is_valid());
        assert!(d
            .problems
            .iter()
            .any(|p| p.rule == Rule::Wire3 && !p.is_error()));
    }

    #[test]
    fn a_fault_reads_as_a_fault() {
        let f = crate::SoapFault::serviceplatform(
            true,
            Rule::Sp5,
            "no agreement",
            "9d3c5e7a-1b2f-4c6d-8e0a-000000000001".parse().unwrap(),
            "2026-11-23T10:02:11+01:00".parse().unwrap(),
        );
        let d = read(crate::write_fault(&f).as_bytes(), None).unwrap();
        assert_eq!(d.fault(), Some(&f));
    }
}
