//! Reading the Beskedfordeler's documents: bytes → typed values, or every problem found.
//!
//! Elements are matched by namespace URI and local name; elements the contract does not have
//! are ignored, so a real Beskedfordeler's richer envelope (more Filtreringsdata, more
//! Leveranceinformation) still reads. A missing or malformed field is an error naming WIRE-3
//! and its path; a SOAPAction that names another operation than the Body is WIRE-1, as in the
//! rest of the contract.

use std::collections::HashMap;
use std::str::FromStr;

use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use quick_xml::NsReader;

use super::model::*;
use super::{base64, BfOperation, MAKS_ANTAL_GRAENSE, NS_BASE64, NS_BF, NS_KUVERT, NS_SAGDOK};
use crate::dom::{self, Element, Ns};
use crate::error::WireError;
use crate::ns::KnownNs::{Soap11, Soap12};
use crate::read::{envelope_shape, join, MessageKind};
use crate::rules::{code, Problem, Rule};
use crate::values::{Cpr, Cvr, DatoTid, Uuid, ValueError};

/// Why a document is not a usable message of the Beskedfordeler's contract.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BeskedError {
    /// Not a usable document at all (WIRE-1): not XML, not SOAP 1.1, an unknown operation.
    #[error(transparent)]
    Wire(#[from] WireError),
    /// A document of the contract with fields missing or malformed: every problem found.
    #[error("{} problem(s), first: {}", problems.len(), problems.first().map(|p| p.to_string()).unwrap_or_default())]
    Invalid {
        /// The operation the Body names, when it names one.
        operation: Option<BfOperation>,
        /// Every problem, errors first as found.
        problems: Vec<Problem>,
    },
}

impl BeskedError {
    /// The rule a refusal of this document names: WIRE-1 for an unusable document, else the
    /// first problem's (WIRE-1 for a SOAPAction mismatch, WIRE-3 for a field).
    pub fn rule(&self) -> Rule {
        match self {
            BeskedError::Wire(e) => e.rule(),
            BeskedError::Invalid { problems, .. } => {
                problems.first().map_or(Rule::Wire3, |p| p.rule)
            }
        }
    }

    /// The operation, when the Body named one.
    pub fn operation(&self) -> Option<BfOperation> {
        match self {
            BeskedError::Wire(_) => None,
            BeskedError::Invalid { operation, .. } => *operation,
        }
    }
}

/// Reads one document of the services (request, answer or fault). `soap_action` is the HTTP
/// `SOAPAction`, if known; when it names another operation than the Body holds, that is a
/// WIRE-1 problem.
pub fn read(xml: &[u8], soap_action: Option<&str>) -> Result<BfMessage, BeskedError> {
    let root = dom::parse(xml)?;
    if &*root.name == "Envelope" && root.ns == Ns::Known(Soap12) {
        return Err(WireError::Soap12.into());
    }
    if !root.is(Soap11, "Envelope") {
        return Err(WireError::NotEnvelope {
            found: root.clark(),
        }
        .into());
    }
    let Some(body) = root.children.iter().find(|c| c.is(Soap11, "Body")) else {
        return Err(WireError::NoBody.into());
    };
    envelope_shape(&root)?;
    let first = body.children.first().ok_or(WireError::EmptyBody)?;
    if first.is(Soap11, "Fault") {
        let mut ctx = crate::read::Ctx::default();
        return match ctx.fault(first) {
            Some(f) => Ok(BfMessage::Fault(f)),
            None => Err(BeskedError::Invalid {
                operation: None,
                problems: ctx.problems,
            }),
        };
    }
    let Some((op, kind)) = BfOperation::from_element(&first.name).filter(|_| is_bf(first)) else {
        return Err(WireError::UnknownOperation {
            detail: format!(
                "the Body holds {}; the Beskedfordeler's elements are <Operation>Input and <Operation>Output in {NS_BF} for {}",
                first.clark(),
                BfOperation::SOAP.map(BfOperation::name).join(", ")
            ),
        }
        .into());
    };
    let mut r = Reader::new(xml, &root);
    if body.children.len() > 1 {
        r.error(
            Rule::Wire1,
            code::UKENDT,
            "Body",
            format!(
                "the Body holds {} elements; document/literal allows exactly one",
                body.children.len()
            ),
        );
    }
    if let Some(action) = soap_action
        .map(|a| a.trim().trim_matches('"'))
        .filter(|a| !a.is_empty())
    {
        if BfOperation::from_soap_action(action) != Some(op) {
            r.error(
                Rule::Wire1,
                code::OPERATION,
                "SOAPAction",
                format!(
                    "SOAPAction '{action}' does not name the Body's operation {op} ({}); the Body decides",
                    op.soap_action()
                ),
            );
        }
    }
    let path = first.name.to_string();
    let message = match kind {
        MessageKind::Request => r.request(op, first, &path).map(BfMessage::Request),
        _ => r.response(op, first, &path).map(BfMessage::Response),
    };
    r.finish(Some(op), message)
}

/// Reads a bare `Haendelsesbesked` document (what the broker stores and queues).
pub fn read_haendelsesbesked(xml: &[u8]) -> Result<Haendelsesbesked, BeskedError> {
    let root = dom::parse(xml)?;
    if !(root.ns.uri() == NS_KUVERT && root.name == "Haendelsesbesked") {
        return Err(WireError::UnknownOperation {
            detail: format!(
                "the root is {}, not {{{NS_KUVERT}}}Haendelsesbesked",
                root.clark()
            ),
        }
        .into());
    }
    let mut r = Reader::new(xml, &root);
    let b = r.haendelsesbesked(&root, "Haendelsesbesked");
    r.finish(None, b)
}

fn is_bf(el: &Element<'_>) -> bool {
    el.ns.uri() == NS_BF
}

/// The attributes `Beskeddata/Base64` needs (`dom`'s tree keeps no attributes).
#[derive(Debug, Clone, Default)]
struct Base64Attrs {
    content_type: Option<String>,
    encoding: Option<String>,
    file_type: Option<String>,
}

/// The attributes of every `{NS_BASE64}Base64` start tag, in document order.
// TODO(rule WIRE-3): a second pass only because `dom::Element` keeps no attributes; once it
// does, this goes. The document has already been parsed (and refused if unsafe) by `dom`.
fn base64_attributes(xml: &[u8]) -> Vec<Base64Attrs> {
    let mut reader = NsReader::from_reader(xml);
    let mut out = Vec::new();
    loop {
        match reader.read_resolved_event() {
            Ok((ResolveResult::Bound(ns), Event::Start(e) | Event::Empty(e)))
                if ns.as_ref() == NS_BASE64 && e.local_name().as_ref() == "Base64" =>
            {
                let mut a = Base64Attrs::default();
                for attr in e.attributes().flatten() {
                    let value = attr
                        .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                        .map(|v| v.into_owned())
                        .unwrap_or_default();
                    match attr.key.as_ref() {
                        "content-type" => a.content_type = Some(value),
                        "encoding" => a.encoding = Some(value),
                        "file-type" => a.file_type = Some(value),
                        _ => {}
                    }
                }
                out.push(a);
            }
            Ok((_, Event::Eof)) | Err(_) => return out,
            Ok(_) => {}
        }
    }
}

/// Reading state: the problems found and the Base64 attributes by element.
struct Reader {
    problems: Vec<Problem>,
    /// Each `b64:Base64` element of the tree (by address) → its attributes.
    attrs: HashMap<usize, Base64Attrs>,
}

/// Every `{NS_BASE64}Base64` element of the tree, in pre-order (= document order).
fn base64_elements<'e, 'x>(el: &'e Element<'x>, out: &mut Vec<&'e Element<'x>>) {
    if el.ns.uri() == NS_BASE64 && el.name == "Base64" {
        out.push(el);
    }
    for c in &el.children {
        base64_elements(c, out);
    }
}

impl Reader {
    fn new(xml: &[u8], root: &Element<'_>) -> Reader {
        let mut els = Vec::new();
        base64_elements(root, &mut els);
        let attrs = if els.is_empty() {
            HashMap::new()
        } else {
            els.into_iter()
                .map(|e| e as *const Element<'_> as usize)
                .zip(base64_attributes(xml))
                .collect()
        };
        Reader {
            problems: Vec::new(),
            attrs,
        }
    }

    fn finish<T>(self, operation: Option<BfOperation>, value: Option<T>) -> Result<T, BeskedError> {
        match value {
            Some(v) if self.problems.is_empty() => Ok(v),
            _ => Err(BeskedError::Invalid {
                operation,
                problems: if self.problems.is_empty() {
                    vec![Problem::error(
                        Rule::Wire3,
                        code::DOKUMENT,
                        "",
                        "the document could not be read",
                    )]
                } else {
                    self.problems
                },
            }),
        }
    }

    fn error(&mut self, rule: Rule, code: &'static str, path: &str, text: String) {
        self.problems.push(Problem::error(rule, code, path, text));
    }

    /// The first child `{ns}name`; a WIRE-3 MANGLER problem when absent.
    fn req<'e, 'x>(
        &mut self,
        parent: &'e Element<'x>,
        ns: &str,
        name: &str,
        path: &str,
    ) -> Option<&'e Element<'x>> {
        let found = child(parent, ns, name);
        if found.is_none() {
            self.error(
                Rule::Wire3,
                code::MANGLER,
                &join(path, name),
                format!("{{{ns}}}{name} is missing"),
            );
        }
        found
    }

    /// An element's text as a value; a WIRE-3 FORMAT problem when it is not one.
    fn value<T: FromStr<Err = ValueError>>(&mut self, el: &Element<'_>, path: &str) -> Option<T> {
        match el.text.trim().parse() {
            Ok(v) => Some(v),
            Err(ValueError(text)) => {
                self.error(Rule::Wire3, code::FORMAT, path, text);
                None
            }
        }
    }

    fn req_val<T: FromStr<Err = ValueError>>(
        &mut self,
        parent: &Element<'_>,
        ns: &str,
        name: &str,
        path: &str,
    ) -> Option<T> {
        let el = self.req(parent, ns, name, path)?;
        self.value(el, &join(path, name))
    }

    fn req_text(
        &mut self,
        parent: &Element<'_>,
        ns: &str,
        name: &str,
        path: &str,
    ) -> Option<String> {
        self.req(parent, ns, name, path)
            .map(|e| e.text.trim().to_string())
    }

    /// `besked:<outer>/sd:<inner>`: sagdok's wrapped identifiers, as text.
    fn wrapped_text(
        &mut self,
        parent: &Element<'_>,
        outer: &str,
        inner: &str,
        path: &str,
    ) -> Option<String> {
        let o = self.req(parent, NS_KUVERT, outer, path)?;
        self.req_text(o, NS_SAGDOK, inner, &join(path, outer))
    }

    fn wrapped_uuid(&mut self, parent: &Element<'_>, outer: &str, path: &str) -> Option<Uuid> {
        let o = self.req(parent, NS_KUVERT, outer, path)?;
        self.req_val(o, NS_SAGDOK, "UUIDIdentifikator", &join(path, outer))
    }

    fn urn_cvr(&mut self, urn: &str, path: &str) -> Option<Cvr> {
        let cvr = cvr_from_urn(urn);
        if cvr.is_none() {
            self.error(
                Rule::Wire3,
                code::FORMAT,
                path,
                format!("'{urn}' is not a CVR URN (urn:oio:cvr-nr:<8 digits> or urn:oio:cvr:<8 digits>)"),
            );
        }
        cvr
    }

    fn urn_cpr(&mut self, urn: &str, path: &str) -> Option<Cpr> {
        let cpr = cpr_from_urn(urn);
        if cpr.is_none() {
            self.error(
                Rule::Wire3,
                code::FORMAT,
                path,
                format!("'{urn}' is not a CPR URN (urn:oio:cpr:<10 digits, a real birth date>)"),
            );
        }
        cpr
    }

    fn haendelsesbesked(&mut self, el: &Element<'_>, path: &str) -> Option<Haendelsesbesked> {
        let besked_id = self.wrapped_uuid(el, "BeskedId", path);
        let besked_version = self.req_text(el, NS_KUVERT, "BeskedVersion", path);
        let kuvert = self.req(el, NS_KUVERT, "Beskedkuvert", path);
        let kp = join(path, "Beskedkuvert");
        let (filtreringsdata, leveranceinformation) = match kuvert {
            Some(k) => (
                self.filtreringsdata(k, &kp),
                self.leveranceinformation(k, &kp),
            ),
            None => (None, None),
        };
        let data = self.req(el, NS_KUVERT, "Beskeddata", path);
        let beskeddata = data.and_then(|d| self.beskeddata(d, &join(path, "Beskeddata")));
        Some(Haendelsesbesked {
            besked_id: besked_id?,
            besked_version: besked_version?,
            filtreringsdata: filtreringsdata?,
            leveranceinformation: leveranceinformation?,
            beskeddata: beskeddata?,
        })
    }

    fn filtreringsdata(&mut self, kuvert: &Element<'_>, path: &str) -> Option<Filtreringsdata> {
        let f = self.req(kuvert, NS_KUVERT, "Filtreringsdata", path)?;
        let p = join(path, "Filtreringsdata");
        let beskedtype = self.wrapped_uuid(f, "Beskedtype", &p);
        let mut tilladte_modtagere = Vec::new();
        let mut ok = true;
        for (i, m) in children(f, NS_KUVERT, "TilladtModtager").enumerate() {
            let mp = format!("{p}/TilladtModtager[{i}]");
            let urn = self.req_text(m, NS_SAGDOK, "URNIdentifikator", &mp);
            match urn.and_then(|u| self.urn_cvr(&u, &mp)) {
                Some(c) => tilladte_modtagere.push(c),
                None => ok = false,
            }
        }
        let mut relaterede_objekter = Vec::new();
        for (i, o) in children(f, NS_KUVERT, "RelateretObjekt").enumerate() {
            let op = format!("{p}/RelateretObjekt[{i}]");
            let objekt_id = self.wrapped_text(o, "ObjektId", "URNIdentifikator", &op);
            let objekt_type = self.wrapped_uuid(o, "ObjektType", &op);
            match (objekt_id, objekt_type) {
                (Some(objekt_id), Some(objekt_type)) => relaterede_objekter.push(RelateretObjekt {
                    objekt_id,
                    objekt_type,
                }),
                _ => ok = false,
            }
        }
        let objekt_registrering = self
            .req(f, NS_KUVERT, "ObjektRegistrering", &p)
            .and_then(|r| {
                let rp = join(&p, "ObjektRegistrering");
                let id = self.wrapped_uuid(r, "ObjektRegistreringId", &rp);
                let myndighed = self
                    .wrapped_text(r, "ObjektAnsvarligMyndighed", "URNIdentifikator", &rp)
                    .and_then(|u| self.urn_cvr(&u, &join(&rp, "ObjektAnsvarligMyndighed")));
                let objekt_id = self.wrapped_uuid(r, "ObjektId", &rp);
                Some(ObjektRegistrering {
                    objekt_registrering_id: id?,
                    objekt_ansvarlig_myndighed: myndighed?,
                    objekt_id: objekt_id?,
                })
            });
        if !ok {
            return None;
        }
        Some(Filtreringsdata {
            beskedtype: beskedtype?,
            tilladte_modtagere,
            relaterede_objekter,
            objekt_registrering: objekt_registrering?,
        })
    }

    fn leveranceinformation(
        &mut self,
        kuvert: &Element<'_>,
        path: &str,
    ) -> Option<Leveranceinformation> {
        let l = self.req(kuvert, NS_KUVERT, "Leveranceinformation", path)?;
        let p = join(path, "Leveranceinformation");
        let tid = self
            .req(l, NS_KUVERT, "Dannelsestidspunkt", &p)
            .and_then(|d| {
                self.req_val::<DatoTid>(
                    d,
                    NS_SAGDOK,
                    "TidsstempelDatoTid",
                    &join(&p, "Dannelsestidspunkt"),
                )
            });
        let klasse = self.req_text(l, NS_KUVERT, "Sikkerhedsklassificering", &p);
        Some(Leveranceinformation {
            dannelsestidspunkt: tid?,
            sikkerhedsklassificering: klasse?,
        })
    }

    fn beskeddata(&mut self, d: &Element<'_>, path: &str) -> Option<Beskeddata> {
        let b = self.req(d, NS_BASE64, "Base64", path)?;
        let p = join(path, "Base64");
        let attrs = self
            .attrs
            .get(&(b as *const Element<'_> as usize))
            .cloned()
            .unwrap_or_default();
        let mut attr = |value: Option<String>, name: &str| {
            if value.is_none() {
                self.error(
                    Rule::Wire3,
                    code::MANGLER,
                    &format!("{p}/@{name}"),
                    format!("the attribute {name} is missing"),
                );
            }
            value
        };
        let content_type = attr(attrs.content_type, "content-type");
        let encoding = attr(attrs.encoding, "encoding");
        let file_type = attr(attrs.file_type, "file-type");
        let data = match base64::decode(&b.text) {
            Ok(d) => Some(d),
            Err(e) => {
                self.error(Rule::Wire3, code::FORMAT, &p, e.to_string());
                None
            }
        };
        Some(Beskeddata {
            content_type: content_type?,
            encoding: encoding?,
            file_type: file_type?,
            data: data?,
        })
    }

    fn vaerdiliste(&mut self, el: &Element<'_>, path: &str) -> Option<VaerdilisteAendring> {
        let navn = self.req_text(el, NS_BF, "VaerdilisteNavn", path);
        if navn.as_deref() == Some("") {
            self.error(
                Rule::Wire3,
                code::MANGLER,
                &join(path, "VaerdilisteNavn"),
                "the value list has no name".into(),
            );
        }
        let mut personer = Vec::new();
        let mut ok = true;
        for (i, v) in children(el, NS_BF, "Vaerdi").enumerate() {
            match self.urn_cpr(v.text.trim(), &format!("{path}/Vaerdi[{i}]")) {
                Some(c) => personer.push(c),
                None => ok = false,
            }
        }
        if personer.len() > super::VAERDIER_GRAENSE {
            self.error(
                Rule::Wire3,
                code::VAERDI,
                &join(path, "Vaerdi"),
                format!(
                    "{} values; at most {} per call",
                    personer.len(),
                    super::VAERDIER_GRAENSE
                ),
            );
        }
        if !ok {
            return None;
        }
        Some(VaerdilisteAendring {
            vaerdiliste_navn: navn.filter(|n| !n.is_empty())?,
            personer,
        })
    }

    fn request(&mut self, op: BfOperation, el: &Element<'_>, path: &str) -> Option<BfRequest> {
        Some(match op {
            BfOperation::ModtagBesked => {
                let b = self.req(el, NS_KUVERT, "Haendelsesbesked", path)?;
                BfRequest::ModtagBesked(self.haendelsesbesked(b, &join(path, "Haendelsesbesked"))?)
            }
            BfOperation::VaerdilisteTilfoej => {
                BfRequest::VaerdilisteTilfoej(self.vaerdiliste(el, path)?)
            }
            BfOperation::VaerdilisteFjern => {
                BfRequest::VaerdilisteFjern(self.vaerdiliste(el, path)?)
            }
            BfOperation::HentBeskeder => {
                let abonnement_id = self.req_val(el, NS_BF, "AbonnementId", path);
                let maks_antal = self.count(el, "MaksAntal", path);
                if let Some(n) = maks_antal.filter(|n| !(1..=MAKS_ANTAL_GRAENSE).contains(n)) {
                    self.error(
                        Rule::Wire3,
                        code::VAERDI,
                        &join(path, "MaksAntal"),
                        format!("{n} is not within 1..={MAKS_ANTAL_GRAENSE}"),
                    );
                }
                BfRequest::HentBeskeder(HentBeskeder {
                    abonnement_id: abonnement_id?,
                    maks_antal: maks_antal?,
                })
            }
            BfOperation::BekraeftBeskeder => {
                let abonnement_id = self.req_val(el, NS_BF, "AbonnementId", path);
                let mut ids = Vec::new();
                let mut ok = true;
                for (i, c) in children(el, NS_BF, "LeveringId").enumerate() {
                    match self.value(c, &format!("{path}/LeveringId[{i}]")) {
                        Some(id) => ids.push(id),
                        None => ok = false,
                    }
                }
                if ids.is_empty() && ok {
                    self.error(
                        Rule::Wire3,
                        code::MANGLER,
                        &join(path, "LeveringId"),
                        "at least one LeveringId is needed".into(),
                    );
                    return None;
                }
                if !ok {
                    return None;
                }
                BfRequest::BekraeftBeskeder(BekraeftBeskeder {
                    abonnement_id: abonnement_id?,
                    levering_ider: ids,
                })
            }
            BfOperation::AfsendBesked | BfOperation::OpretAbonnement => return None,
        })
    }

    fn standard_retur(&mut self, el: &Element<'_>, path: &str) -> Option<StandardRetur> {
        let s = self.req(el, NS_BF, "StandardRetur", path)?;
        let p = join(path, "StandardRetur");
        let status_kode = self.req(s, NS_BF, "StatusKode", &p).and_then(|k| {
            let parsed = k.text.trim().parse::<u16>();
            if parsed.is_err() {
                self.error(
                    Rule::Wire3,
                    code::FORMAT,
                    &join(&p, "StatusKode"),
                    format!("'{}' is not a status code (a whole number)", k.text.trim()),
                );
            }
            parsed.ok()
        });
        let fejlbesked_tekst =
            child(s, NS_BF, "FejlbeskedTekst").map(|t| t.text.trim().to_string());
        Some(StandardRetur {
            status_kode: status_kode?,
            fejlbesked_tekst,
        })
    }

    fn count(&mut self, el: &Element<'_>, name: &str, path: &str) -> Option<u32> {
        let c = self.req(el, NS_BF, name, path)?;
        match c.text.trim().parse() {
            Ok(n) => Some(n),
            Err(_) => {
                self.error(
                    Rule::Wire3,
                    code::FORMAT,
                    &join(path, name),
                    format!("'{}' is not a count", c.text.trim()),
                );
                None
            }
        }
    }

    fn response(&mut self, op: BfOperation, el: &Element<'_>, path: &str) -> Option<BfResponse> {
        let standard_retur = self.standard_retur(el, path);
        Some(match op {
            BfOperation::ModtagBesked => BfResponse::ModtagBesked(standard_retur?),
            BfOperation::VaerdilisteTilfoej | BfOperation::VaerdilisteFjern => {
                let antal_aendret = self.count(el, "AntalAendret", path);
                let s = VaerdilisteSvar {
                    standard_retur: standard_retur?,
                    antal_aendret: antal_aendret?,
                };
                if op == BfOperation::VaerdilisteTilfoej {
                    BfResponse::VaerdilisteTilfoej(s)
                } else {
                    BfResponse::VaerdilisteFjern(s)
                }
            }
            BfOperation::HentBeskeder => {
                let mut leveringer = Vec::new();
                let mut ok = true;
                for (i, l) in children(el, NS_BF, "Levering").enumerate() {
                    let lp = format!("{path}/Levering[{i}]");
                    let levering_id = self.req_val(l, NS_BF, "LeveringId", &lp);
                    let forsoeg = self.count(l, "Forsoeg", &lp);
                    let besked = self
                        .req(l, NS_KUVERT, "Haendelsesbesked", &lp)
                        .and_then(|b| self.haendelsesbesked(b, &join(&lp, "Haendelsesbesked")));
                    match (levering_id, forsoeg, besked) {
                        (Some(levering_id), Some(forsoeg), Some(haendelsesbesked)) => leveringer
                            .push(Levering {
                                levering_id,
                                forsoeg,
                                haendelsesbesked,
                            }),
                        _ => ok = false,
                    }
                }
                if !ok {
                    return None;
                }
                BfResponse::HentBeskeder(HentBeskederSvar {
                    standard_retur: standard_retur?,
                    leveringer,
                })
            }
            BfOperation::BekraeftBeskeder => {
                let antal = self.count(el, "AntalBekraeftet", path);
                BfResponse::BekraeftBeskeder(BekraeftBeskederSvar {
                    standard_retur: standard_retur?,
                    antal_bekraeftet: antal?,
                })
            }
            BfOperation::AfsendBesked | BfOperation::OpretAbonnement => return None,
        })
    }
}

fn child<'e, 'x>(parent: &'e Element<'x>, ns: &str, name: &str) -> Option<&'e Element<'x>> {
    children(parent, ns, name).next()
}

fn children<'e, 'x, 'q>(
    parent: &'e Element<'x>,
    ns: &'q str,
    name: &'q str,
) -> impl Iterator<Item = &'e Element<'x>> + 'q
where
    'e: 'q,
{
    parent
        .children
        .iter()
        .filter(move |c| c.ns.uri() == ns && c.name == name)
}
