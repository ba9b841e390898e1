//! Reading: a document → the operation it carries, the typed message, and every problem.
//!
//! Forgiving about form (prefixes, default namespaces, a BOM, whitespace, element order and
//! foreign namespaces are accepted, the last two with a warning) and exact about meaning
//! (every missing or malformed field is an error naming its rule and path).

use crate::dom::{self, Element, Ns};
use crate::error::WireError;
use crate::model::*;
use crate::ns::KnownNs::{self, *};
use crate::operation::{Operation, PayloadKind, Port};
use crate::rules::{code, Problem, Rule};
use crate::validate as check;
use crate::values::*;
use std::str::FromStr;

/// Whether a document carries a request, a response or a fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MessageKind {
    /// `<Operation>Request`.
    Request,
    /// `<Operation>Response`.
    Response,
    /// `soap:Fault`.
    Fault,
}

/// The result of reading a usable document.
#[derive(Debug, Clone)]
pub struct Decoded {
    /// The operation (for a fault: the one SOAPAction names, if any).
    pub operation: Option<Operation>,
    /// Request, response or fault.
    pub kind: MessageKind,
    /// The typed message, present whenever every mandatory field could be read — even if a
    /// rule is broken, so a receiver can still route or report it.
    pub message: Option<Message>,
    /// Every problem found, errors and warnings.
    pub problems: Vec<Problem>,
    /// The security context's municipality, when it could be read — even if the payload
    /// could not: the platform routes and journals by it.
    pub authority_context: Option<AuthorityContext>,
    /// The payload header's TransaktionIdentifikator, when it could be read.
    pub transaktion_id: Option<Uuid>,
    /// The payload header's Myndighed, when it could be read (rule KSD-8 compares it).
    pub myndighed: Option<Cvr>,
    /// The payload header's SygemeldtePart, when it could be read (for journals).
    pub sygemeldte_part: Option<Cpr>,
}

impl Decoded {
    /// No error-severity problem (warnings allowed).
    pub fn is_valid(&self) -> bool {
        self.message.is_some() && !self.problems.iter().any(Problem::is_error)
    }

    /// The errors only.
    pub fn errors(&self) -> impl Iterator<Item = &Problem> {
        self.problems.iter().filter(|p| p.is_error())
    }

    /// The request, if this is one that could be read.
    pub fn request(&self) -> Option<&Request> {
        match &self.message {
            Some(Message::Request(r)) => Some(r),
            _ => None,
        }
    }
}

/// SOAP 1.1's envelope: an optional Header, then exactly one Body, and nothing else.
pub(crate) fn envelope_shape(root: &Element<'_>) -> Result<(), WireError> {
    let mut seen_header = false;
    let mut seen_body = false;
    for c in &root.children {
        let detail = if c.is(Soap11, "Header") {
            if seen_header {
                "more than one Header"
            } else if seen_body {
                "the Header comes after the Body"
            } else {
                seen_header = true;
                continue;
            }
        } else if c.is(Soap11, "Body") {
            if seen_body {
                "more than one Body: which one would be the message?"
            } else {
                seen_body = true;
                continue;
            }
        } else {
            "an element that is neither Header nor Body"
        };
        return Err(WireError::EnvelopeShape {
            detail: format!("{detail} ({})", c.clark()),
        });
    }
    Ok(())
}

/// Reads one SOAP document. `soap_action` is the HTTP `SOAPAction` header, if known; when it
/// disagrees with the Body, the Body decides and the disagreement is reported (WIRE-1).
pub fn read(xml: &[u8], soap_action: Option<&str>) -> Result<Decoded, WireError> {
    let root = dom::parse(xml)?;
    if &*root.name == "Envelope" && root.ns == Ns::Known(Soap12) {
        return Err(WireError::Soap12);
    }
    if !root.is(Soap11, "Envelope") {
        return Err(WireError::NotEnvelope {
            found: root.clark(),
        });
    }
    let body = root.children.iter().find(|c| c.is(Soap11, "Body"));
    let Some(body) = body else {
        if root.children.iter().any(|c| &*c.name == "Body") {
            return Err(WireError::NotEnvelope {
                found: "an Envelope whose Body is not in the SOAP 1.1 namespace".into(),
            });
        }
        return Err(WireError::NoBody);
    };
    envelope_shape(&root)?;
    let first = body.children.first().ok_or(WireError::EmptyBody)?;
    let mut ctx = Ctx::default();
    if body.children.len() > 1 {
        ctx.problems.push(Problem::error(
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
    let action_op = action.and_then(Operation::from_soap_action);
    if let (Some(a), None) = (action, action_op) {
        ctx.problems.push(Problem::error(
            Rule::Wire1,
            code::OPERATION,
            "SOAPAction",
            format!("SOAPAction '{a}' names no operation of the contract; expected <port namespace><Operation>"),
        ));
    }

    if first.is(Soap11, "Fault") {
        let fault = ctx.fault(first);
        return Ok(ctx.finish(action_op, MessageKind::Fault, fault.map(Message::Fault)));
    }

    let (operation, kind) = detect(first, action_op, &mut ctx)?;
    if let Some(a) = action_op.filter(|a| *a != operation) {
        ctx.problems.push(Problem::error(
            Rule::Wire1,
            code::OPERATION,
            "SOAPAction",
            format!(
                "SOAPAction names {} but the Body holds {}{}; the Body decides",
                a.label(),
                first.name,
                if first.ns == Ns::Known(operation.port().known_ns()) {
                    ""
                } else {
                    " (foreign namespace)"
                }
            ),
        ));
    }
    let message = match kind {
        MessageKind::Request => ctx.request(operation, first).map(Message::Request),
        _ => ctx.response(operation, first).map(Message::Response),
    };
    Ok(ctx.finish(Some(operation), kind, message))
}

/// Which operation the Body's element names, and whether it is a request or a response.
fn detect(
    el: &Element<'_>,
    action: Option<Operation>,
    ctx: &mut Ctx,
) -> Result<(Operation, MessageKind), WireError> {
    let (base, kind) = if let Some(b) = el.name.strip_suffix("Request") {
        (b, MessageKind::Request)
    } else if let Some(b) = el.name.strip_suffix("Response") {
        (b, MessageKind::Response)
    } else {
        return Err(WireError::UnknownOperation {
            detail: format!(
                "the Body holds {}; an operation element is named <Operation>Request or <Operation>Response{}",
                el.clark(),
                hint(action)
            ),
        });
    };
    let port = match el.ns {
        Ns::Known(SfKsd) => Some(Port::Ksd),
        Ns::Known(SfJc) => Some(Port::Jc),
        _ => None,
    };
    if let Some(port) = port {
        return Operation::find(port, base)
            .map(|op| (op, kind))
            .ok_or_else(|| WireError::UnknownOperation {
                detail: format!(
                    "{} is not an operation of the {port:?} port{}",
                    el.clark(),
                    hint(action)
                ),
            });
    }
    // A foreign namespace: accept the element by local name, with a warning.
    let candidates: Vec<Operation> = Operation::by_name(base).collect();
    let op = match (candidates.as_slice(), action) {
        ([], _) => None,
        ([one], _) => Some(*one),
        (_, Some(a)) if candidates.contains(&a) => Some(a),
        _ => {
            return Err(WireError::UnknownOperation {
                detail: format!(
                    "{} is in a foreign namespace and '{base}' exists on both ports; send a SOAPAction or use the port's namespace",
                    el.clark()
                ),
            })
        }
    };
    let op = op.ok_or_else(|| WireError::UnknownOperation {
        detail: format!(
            "{} names no operation of the contract{}",
            el.clark(),
            hint(action)
        ),
    })?;
    ctx.problems.push(Problem::warning(
        Rule::Wire3,
        code::NAVNERUM,
        &*el.name,
        format!(
            "the operation element is in namespace '{}' where the contract has '{}'; accepted by its local name",
            el.ns.uri(),
            op.port().namespace()
        ),
    ));
    Ok((op, kind))
}

fn hint(action: Option<Operation>) -> String {
    action
        .map(|a| format!(" (SOAPAction names {})", a.label()))
        .unwrap_or_default()
}

/// Expected children of an element: local name and namespace (`None`: unqualified).
pub(crate) type Spec<const N: usize> = [(&'static str, Option<KnownNs>); N];

/// Which of two alternative elements a message holds.
enum Choice<'e, 'x> {
    First(&'e Element<'x>),
    Second(&'e Element<'x>),
}

#[derive(Default)]
pub(crate) struct Ctx {
    pub(crate) problems: Vec<Problem>,
    authority_context: Option<AuthorityContext>,
    transaktion_id: Option<Uuid>,
    myndighed: Option<Cvr>,
    sygemeldte_part: Option<Cpr>,
    /// (found namespace, expected namespace, first path) — one warning each, at the end.
    foreign: Vec<(String, &'static str, String)>,
}

pub(crate) fn join(parent: &str, name: &str) -> String {
    if parent.is_empty() {
        name.to_string()
    } else {
        format!("{parent}/{name}")
    }
}

impl Ctx {
    fn finish(
        mut self,
        operation: Option<Operation>,
        kind: MessageKind,
        message: Option<Message>,
    ) -> Decoded {
        self.report_foreign();
        Decoded {
            operation,
            kind,
            message,
            problems: self.problems,
            authority_context: self.authority_context,
            transaktion_id: self.transaktion_id,
            myndighed: self.myndighed,
            sygemeldte_part: self.sygemeldte_part,
        }
    }

    /// Turns the foreign namespaces noted while reading into one warning each (WIRE-3).
    pub(crate) fn report_foreign(&mut self) {
        for (found, expected, path) in std::mem::take(&mut self.foreign) {
            let found = if found.is_empty() {
                "no namespace".to_string()
            } else {
                format!("namespace '{found}'")
            };
            self.problems.push(Problem::warning(
                Rule::Wire3,
                code::NAVNERUM,
                path,
                format!("element in {found} where the contract has '{expected}'; accepted by its local name"),
            ));
        }
    }

    pub(crate) fn note_ns(&mut self, el: &Element<'_>, expected: Option<KnownNs>, path: &str) {
        let ok = match expected {
            Some(k) => el.ns == Ns::Known(k),
            None => el.ns == Ns::None,
        };
        if !ok {
            let found = el.ns.uri();
            let exp = expected.map_or("", KnownNs::uri);
            if !self.foreign.iter().any(|(f, e, _)| f == found && *e == exp) {
                self.foreign
                    .push((found.to_string(), exp, join(path, &el.name)));
            }
        }
    }

    /// Maps an element's children onto the expected ones; reports unknown, repeated and
    /// out-of-order children and foreign namespaces.
    pub(crate) fn fields<'e, 'x, const N: usize>(
        &mut self,
        parent: &'e Element<'x>,
        path: &str,
        spec: &Spec<N>,
    ) -> [Option<&'e Element<'x>>; N] {
        let mut found: [Option<&'e Element<'x>>; N] = [None; N];
        let mut last = 0usize;
        let mut order_reported = false;
        for child in &parent.children {
            let Some(i) = spec.iter().position(|(n, _)| *n == &*child.name) else {
                self.problems.push(Problem::warning(
                    Rule::Wire3,
                    code::UKENDT,
                    join(path, &child.name),
                    format!(
                        "element '{}' is not part of {}; ignored",
                        child.name, parent.name
                    ),
                ));
                continue;
            };
            self.note_ns(child, spec[i].1, path);
            if found[i].is_some() {
                self.problems.push(Problem::error(
                    Rule::Wire3,
                    code::GENTAGET,
                    join(path, &child.name),
                    format!("'{}' appears more than once", child.name),
                ));
                continue;
            }
            if i < last && !order_reported {
                order_reported = true;
                self.problems.push(Problem::warning(
                    Rule::Wire3,
                    code::RAEKKEFOELGE,
                    join(path, &child.name),
                    format!(
                        "'{}' comes after '{}' but the contract orders it before",
                        child.name, spec[last].0
                    ),
                ));
            }
            last = last.max(i);
            found[i] = Some(child);
        }
        found
    }

    /// An element the contract names `names.0`, also read under the seed's spelling
    /// `names.1` (a warning of `rule`); both is an error, as any repeated element.
    fn alias<'e, 'x>(
        &mut self,
        canonical: Option<&'e Element<'x>>,
        seed: Option<&'e Element<'x>>,
        path: &str,
        names: (&str, &str),
        rule: Rule,
    ) -> Option<&'e Element<'x>> {
        match (canonical, seed) {
            (Some(_), Some(_)) => {
                self.problems.push(Problem::error(
                    rule,
                    code::GENTAGET,
                    join(path, names.1),
                    format!(
                        "{} and {} are the same element, given twice",
                        names.0, names.1
                    ),
                ));
                canonical
            }
            (None, Some(e)) => {
                self.problems.push(Problem::warning(
                    rule,
                    code::UKENDT,
                    join(path, names.1),
                    format!(
                        "'{}' is the seed's spelling; the contract's element is '{}' (read as it)",
                        names.1, names.0
                    ),
                ));
                Some(e)
            }
            (c, None) => c,
        }
    }

    /// A choice of exactly one of two elements (`names`); neither or both is an error of
    /// `rule` at `path`.
    fn one_of<'e, 'x>(
        &mut self,
        first: Option<&'e Element<'x>>,
        second: Option<&'e Element<'x>>,
        rule: Rule,
        path: &str,
        names: (&str, &str),
    ) -> Option<Choice<'e, 'x>> {
        match (first, second) {
            (Some(a), None) => Some(Choice::First(a)),
            (None, Some(b)) => Some(Choice::Second(b)),
            (None, None) => {
                self.problems.push(Problem::error(
                    rule,
                    code::MANGLER,
                    join(path, names.0),
                    format!("either {} or {} is mandatory", names.0, names.1),
                ));
                None
            }
            (Some(_), Some(_)) => {
                self.problems.push(Problem::error(
                    rule,
                    code::UOVERENSSTEMMELSE,
                    join(path, names.1),
                    format!("{} and {} exclude each other", names.0, names.1),
                ));
                None
            }
        }
    }

    /// The security context of a request whose payload has no header (SF2096 look-ups):
    /// read it and check it is there (SP-5).
    fn context_only(
        &mut self,
        cc: Option<&Element<'_>>,
        ac: Option<&Element<'_>>,
        op: Operation,
    ) -> (Option<CallContext>, Option<AuthorityContext>) {
        let (call_context, authority_context, present) = self.context(cc, ac, op, "");
        check::authority_context(
            op,
            present,
            authority_context.as_ref(),
            None,
            &mut self.problems,
        );
        (call_context, authority_context)
    }

    pub(crate) fn missing(&mut self, rule: Rule, path: &str, name: &str) {
        self.problems.push(Problem::error(
            rule,
            code::MANGLER,
            join(path, name),
            format!("mandatory element '{name}' is missing"),
        ));
    }

    pub(crate) fn req<T: FromStr<Err = ValueError>>(
        &mut self,
        el: Option<&Element<'_>>,
        rule: Rule,
        path: &str,
        name: &str,
    ) -> Option<T> {
        let Some(el) = el else {
            self.missing(rule, path, name);
            return None;
        };
        self.parse(el, rule, path, name)
    }

    pub(crate) fn opt<T: FromStr<Err = ValueError>>(
        &mut self,
        el: Option<&Element<'_>>,
        rule: Rule,
        path: &str,
        name: &str,
    ) -> Option<T> {
        let el = el?;
        if el.text.trim().is_empty() && el.children.is_empty() {
            self.problems.push(Problem::warning(
                Rule::Wire3,
                code::FORMAT,
                join(path, name),
                format!("optional element '{name}' is empty; treated as absent"),
            ));
            return None;
        }
        self.parse(el, rule, path, name)
    }

    fn parse<T: FromStr<Err = ValueError>>(
        &mut self,
        el: &Element<'_>,
        rule: Rule,
        path: &str,
        name: &str,
    ) -> Option<T> {
        let text = el.text.trim();
        match text.parse::<T>() {
            Ok(v) => Some(v),
            Err(e) => {
                let (code, text) = if text.is_empty() {
                    (
                        code::MANGLER,
                        format!("mandatory element '{name}' is empty"),
                    )
                } else {
                    (code::FORMAT, e.0)
                };
                self.problems
                    .push(Problem::error(rule, code, join(path, name), text));
                None
            }
        }
    }

    pub(crate) fn req_text(
        &mut self,
        el: Option<&Element<'_>>,
        rule: Rule,
        path: &str,
        name: &str,
    ) -> Option<String> {
        match el {
            None => {
                self.missing(rule, path, name);
                None
            }
            Some(e) => Some(e.text.trim().to_string()),
        }
    }

    pub(crate) fn opt_text(&mut self, el: Option<&Element<'_>>) -> Option<String> {
        el.map(|e| e.text.trim().to_string())
            .filter(|t| !t.is_empty())
    }

    fn header(&mut self, el: Option<&Element<'_>>, parent: &str) -> Option<Header> {
        const SPEC: Spec<18> = [
            ("TransaktionIdentifikator", Some(Sft)),
            ("BeskedForsendelsesDatoTid", Some(Sft)),
            ("RegistreringFraDatoTid", Some(Sft)),
            // The seed's spelling in its header table, read with a warning.
            ("RegsitreringFraDatoTid", Some(Sft)),
            ("RegistreringITsystem", Some(Sft)),
            ("RegistreringBruger", Some(Sft)),
            ("UdgiverTypeKode", Some(Sft)),
            ("Myndighed", Some(Sft)),
            ("SygemeldtePart", Some(Sft)),
            ("ArbejdsgiverPart", Some(Sft)),
            ("ArbejdsgiverProduktionsenhed", Some(Sft)),
            ("NemRefusionIdentifier", Some(Sft)),
            ("SagIdentifikator", Some(Sft)),
            ("JobcenterSagID", Some(Sft)),
            ("KMDSagIdentifikator", Some(Sft)),
            ("KMDDelsagIdentifikator", Some(Sft)),
            ("ForretningHaendelseDatoTid", Some(Sft)),
            ("FoersteFravaersdag", Some(Sft)),
        ];
        let Some(el) = el else {
            self.missing(Rule::Ksd3, parent, "Header");
            return None;
        };
        let p = &join(parent, "Header");
        let f = self.fields(el, p, &SPEC);
        let r = Rule::Ksd3;
        let transaktion_identifikator = self.req(f[0], r, p, SPEC[0].0);
        let besked_forsendelses_dato_tid = self.req(f[1], r, p, SPEC[1].0);
        let fra = self.alias(f[2], f[3], p, (SPEC[2].0, SPEC[3].0), Rule::Wire3);
        let registrering_fra_dato_tid = self.req(fra, r, p, SPEC[2].0);
        let registrering_it_system = self.req(f[4], r, p, SPEC[4].0);
        let registrering_bruger = self.opt(f[5], r, p, SPEC[5].0);
        let udgiver_type_kode = self.opt(f[6], r, p, SPEC[6].0);
        let myndighed = self.req(f[7], r, p, SPEC[7].0);
        let sygemeldte_part = self.req(f[8], r, p, SPEC[8].0);
        let arbejdsgiver_part = self.req(f[9], r, p, SPEC[9].0);
        let arbejdsgiver_produktionsenhed = self.opt(f[10], r, p, SPEC[10].0);
        let nem_refusion_identifier = self.opt(f[11], r, p, SPEC[11].0);
        let sag_identifikator = self.opt(f[12], r, p, SPEC[12].0);
        let jobcenter_sag_id = self.opt_text(f[13]);
        let kmd_sag_identifikator = self.opt_text(f[14]);
        let kmd_delsag_identifikator = self.opt_text(f[15]);
        let forretning_haendelse_dato_tid = self.req(f[16], r, p, SPEC[16].0);
        if self.transaktion_id.is_none() {
            self.transaktion_id = transaktion_identifikator;
            self.myndighed = myndighed;
            self.sygemeldte_part = sygemeldte_part;
        }
        let foerste_fravaersdag = self.req(f[17], r, p, SPEC[17].0);
        Some(Header {
            transaktion_identifikator: transaktion_identifikator?,
            besked_forsendelses_dato_tid: besked_forsendelses_dato_tid?,
            registrering_fra_dato_tid: registrering_fra_dato_tid?,
            registrering_it_system: registrering_it_system?,
            registrering_bruger,
            udgiver_type_kode,
            myndighed: myndighed?,
            sygemeldte_part: sygemeldte_part?,
            arbejdsgiver_part: arbejdsgiver_part?,
            arbejdsgiver_produktionsenhed,
            nem_refusion_identifier,
            sag_identifikator,
            jobcenter_sag_id,
            kmd_sag_identifikator,
            kmd_delsag_identifikator,
            forretning_haendelse_dato_tid: forretning_haendelse_dato_tid?,
            foerste_fravaersdag: foerste_fravaersdag?,
        })
    }

    fn opdatering_fravaer(
        &mut self,
        el: &Element<'_>,
        p: &str,
        from_outside: bool,
    ) -> Option<OpdateringFravaer> {
        const SPEC: Spec<4> = [
            ("Header", Some(Sft)),
            ("OphoersAarsag", Some(Sft)),
            ("OphoersStartDato", Some(Sft)),
            ("OphoersSlutDato", Some(Sft)),
        ];
        let f = self.fields(el, p, &SPEC);
        let header = self.header(f[0], p);
        let aarsag = match f[1] {
            None => {
                self.missing(Rule::Ksd4, p, SPEC[1].0);
                None
            }
            Some(e) => self.parse(e, Rule::Ksd5, p, SPEC[1].0),
        };
        let start = self.req(f[2], Rule::Ksd4, p, SPEC[2].0);
        let slut = self.opt(f[3], Rule::Ksd4, p, SPEC[3].0);
        check::ophoer(aarsag, start, slut, from_outside, p, &mut self.problems);
        Some(OpdateringFravaer {
            header: header?,
            ophoers_aarsag: aarsag?,
            ophoers_start_dato: start?,
            ophoers_slut_dato: slut,
        })
    }

    /// A FejlListe: `Fejl` elements each holding FejlKode and FejlTekst (the contract, and the
    /// public schema), or — as the seed's receipt tables draw it — FejlKode and FejlTekst
    /// directly in the list, pair after pair, read with a WIRE-2 warning.
    fn fejl_liste(&mut self, el: Option<&Element<'_>>, p: &str) -> Vec<Fejl> {
        let Some(el) = el else { return Vec::new() };
        let p = &join(p, "FejlListe");
        let mut out = Vec::new();
        let mut bare_kode: Option<String> = None;
        let mut bare_warned = false;
        for child in &el.children {
            match &*child.name {
                "Fejl" => {
                    // A bare FejlKode must be followed by its FejlTekst, not by a Fejl.
                    if bare_kode.take().is_some() {
                        self.problems.push(Problem::error(
                            Rule::Wire2,
                            code::RAEKKEFOELGE,
                            join(p, "FejlKode"),
                            "a FejlKode is followed by its FejlTekst, not by a Fejl",
                        ));
                    }
                }
                name @ ("FejlKode" | "FejlTekst") => {
                    self.note_ns(child, Some(Kvit), p);
                    if !bare_warned {
                        bare_warned = true;
                        self.problems.push(Problem::warning(
                            Rule::Wire2,
                            code::UKENDT,
                            join(p, name),
                            "FejlKode and FejlTekst directly in FejlListe (the seed's table); the contract wraps each pair in Fejl (read as that)",
                        ));
                    }
                    let text = child.text.trim().to_string();
                    match (name, bare_kode.take()) {
                        ("FejlKode", None) if !text.is_empty() => bare_kode = Some(text),
                        ("FejlTekst", Some(fejl_kode)) if !text.is_empty() => out.push(Fejl {
                            fejl_kode,
                            fejl_tekst: text,
                        }),
                        _ => self.problems.push(Problem::error(
                            Rule::Wire2,
                            code::RAEKKEFOELGE,
                            join(p, name),
                            "each FejlKode is followed by its FejlTekst, neither empty",
                        )),
                    }
                    continue;
                }
                _ => {
                    self.problems.push(Problem::warning(
                        Rule::Wire2,
                        code::UKENDT,
                        join(p, &child.name),
                        "only Fejl elements belong in a FejlListe; ignored",
                    ));
                    continue;
                }
            }
            self.note_ns(child, Some(Kvit), p);
            let fp = &join(p, "Fejl");
            let f = self.fields(
                child,
                fp,
                &[("FejlKode", Some(Kvit)), ("FejlTekst", Some(Kvit))],
            );
            let kode = self.req_text(f[0], Rule::Wire2, fp, "FejlKode");
            let tekst = self.req_text(f[1], Rule::Wire2, fp, "FejlTekst");
            if let (Some(fejl_kode), Some(fejl_tekst)) = (kode, tekst) {
                out.push(Fejl {
                    fejl_kode,
                    fejl_tekst,
                });
            }
        }
        if bare_kode.is_some() {
            self.problems.push(Problem::error(
                Rule::Wire2,
                code::MANGLER,
                join(p, "FejlTekst"),
                "the last FejlKode has no FejlTekst",
            ));
        }
        if out.is_empty() && el.children.is_empty() {
            self.problems.push(Problem::error(
                Rule::Wire2,
                code::MANGLER,
                join(p, "Fejl"),
                "a FejlListe holds at least one Fejl",
            ));
        }
        out
    }

    pub(crate) fn transport_kvittering(
        &mut self,
        el: &Element<'_>,
        p: &str,
    ) -> Option<TransportKvittering> {
        const SPEC: Spec<4> = [
            ("TransportValideringsKode", Some(Kvit)),
            // The seed's table spells it without the s; read with a warning.
            ("TransportValideringKode", Some(Kvit)),
            ("Begrundelse", Some(Kvit)),
            ("FejlListe", Some(Kvit)),
        ];
        let f = self.fields(el, p, &SPEC);
        let kode_el = self.alias(f[0], f[1], p, (SPEC[0].0, SPEC[1].0), Rule::Wire2);
        let kode = self.req(kode_el, Rule::Wire2, p, SPEC[0].0);
        let begrundelse = self.opt_text(f[2]);
        let fejl_liste = self.fejl_liste(f[3], p);
        check::transport_kvittering(kode, !fejl_liste.is_empty(), p, &mut self.problems);
        Some(TransportKvittering {
            kode: kode?,
            begrundelse,
            fejl_liste,
        })
    }

    fn forretningskvittering(
        &mut self,
        el: Option<&Element<'_>>,
        parent: &str,
    ) -> Option<Forretningskvittering> {
        const SPEC: Spec<3> = [
            ("ForretningsValideringsKode", Some(Kvit)),
            ("Begrundelse", Some(Kvit)),
            ("FejlListe", Some(Kvit)),
        ];
        let Some(el) = el else {
            self.missing(Rule::Ksd2, parent, "Forretningskvittering");
            return None;
        };
        let p = &join(parent, "Forretningskvittering");
        let f = self.fields(el, p, &SPEC);
        let kode = self.req(f[0], Rule::Wire2, p, SPEC[0].0);
        let begrundelse = self.opt_text(f[1]);
        let fejl_liste = self.fejl_liste(f[2], p);
        check::forretningskvittering(kode, !fejl_liste.is_empty(), p, &mut self.problems);
        Some(Forretningskvittering {
            kode: kode?,
            begrundelse,
            fejl_liste,
        })
    }

    fn sag(&mut self, el: Option<&Element<'_>>, parent: &str, from_ksd: bool) -> Option<Sag> {
        const SPEC: Spec<13> = [
            ("SagIdentifikator", Some(Sft)),
            ("NemRefusionIdentifier", Some(Sft)),
            ("SygemeldtePart", Some(Sft)),
            ("Myndighed", Some(Sft)),
            ("ArbejdsgiverPart", Some(Sft)),
            ("ArbejdsgiverProduktionsenhed", Some(Sft)),
            ("FoersteFravaersdag", Some(Sft)),
            ("Status", Some(Sft)),
            ("OphoersAarsag", Some(Sft)),
            ("OphoersStartDato", Some(Sft)),
            ("OphoersSlutDato", Some(Sft)),
            ("VarighedKode", Some(Sft)),
            ("StatusHistorik", Some(Sft)),
        ];
        let Some(el) = el else {
            self.missing(Rule::Wire3, parent, "Sag");
            return None;
        };
        let p = &join(parent, "Sag");
        let f = self.fields(el, p, &SPEC);
        let r = Rule::Wire3;
        let sag_identifikator = self.req(f[0], r, p, SPEC[0].0);
        let nem_refusion_identifier = self.opt(f[1], r, p, SPEC[1].0);
        let sygemeldte_part = self.req(f[2], r, p, SPEC[2].0);
        let myndighed = self.req(f[3], r, p, SPEC[3].0);
        let arbejdsgiver_part = self.req(f[4], r, p, SPEC[4].0);
        let arbejdsgiver_produktionsenhed = self.opt(f[5], r, p, SPEC[5].0);
        let foerste_fravaersdag = self.req(f[6], r, p, SPEC[6].0);
        let status = self.req(f[7], r, p, SPEC[7].0);
        let ophoers_aarsag = self.opt(f[8], Rule::Ksd5, p, SPEC[8].0);
        let ophoers_start_dato = self.opt(f[9], r, p, SPEC[9].0);
        let ophoers_slut_dato = self.opt(f[10], r, p, SPEC[10].0);
        let varighed_kode = self.req(f[11], Rule::Ksd9, p, SPEC[11].0);
        let historik = self.historik(f[12], p, from_ksd);
        check::sag(
            status,
            ophoers_aarsag,
            ophoers_start_dato,
            ophoers_slut_dato,
            from_ksd,
            p,
            &mut self.problems,
        );
        Some(Sag {
            sag_identifikator: sag_identifikator?,
            nem_refusion_identifier,
            sygemeldte_part: sygemeldte_part?,
            myndighed: myndighed?,
            arbejdsgiver_part: arbejdsgiver_part?,
            arbejdsgiver_produktionsenhed,
            foerste_fravaersdag: foerste_fravaersdag?,
            status: status?,
            ophoers_aarsag,
            ophoers_start_dato,
            ophoers_slut_dato,
            varighed_kode: varighed_kode?,
            historik,
        })
    }

    /// A case's `StatusHistorik`: its `StatusAendring` elements, each read like the case's
    /// own status fields (a change that does not read is reported and left out).
    fn historik(
        &mut self,
        el: Option<&Element<'_>>,
        parent: &str,
        from_ksd: bool,
    ) -> Vec<StatusAendring> {
        const SPEC: Spec<6> = [
            ("RegistreringDatoTid", Some(Sft)),
            ("Status", Some(Sft)),
            ("OphoersAarsag", Some(Sft)),
            ("OphoersStartDato", Some(Sft)),
            ("OphoersSlutDato", Some(Sft)),
            ("VarighedKode", Some(Sft)),
        ];
        let Some(el) = el else { return Vec::new() };
        let p = &join(parent, "StatusHistorik");
        let mut out = Vec::new();
        for child in &el.children {
            if &*child.name != "StatusAendring" {
                self.problems.push(Problem::warning(
                    Rule::Wire3,
                    code::UKENDT,
                    join(p, &child.name),
                    "only StatusAendring elements belong in a StatusHistorik; ignored",
                ));
                continue;
            }
            self.note_ns(child, Some(Sft), p);
            let cp = &join(p, "StatusAendring");
            let f = self.fields(child, cp, &SPEC);
            let r = Rule::Wire3;
            let at = self.req(f[0], r, cp, SPEC[0].0);
            let status = self.req(f[1], r, cp, SPEC[1].0);
            let aarsag = self.opt(f[2], Rule::Ksd5, cp, SPEC[2].0);
            let start = self.opt(f[3], r, cp, SPEC[3].0);
            let slut = self.opt(f[4], r, cp, SPEC[4].0);
            let kode = self.req(f[5], Rule::Ksd9, cp, SPEC[5].0);
            check::sag(
                status,
                aarsag,
                start,
                slut,
                from_ksd,
                cp,
                &mut self.problems,
            );
            if let (Some(registrering_dato_tid), Some(status), Some(varighed_kode)) =
                (at, status, kode)
            {
                out.push(StatusAendring {
                    registrering_dato_tid,
                    status,
                    ophoers_aarsag: aarsag,
                    ophoers_start_dato: start,
                    ophoers_slut_dato: slut,
                    varighed_kode,
                });
            }
        }
        if el.children.is_empty() {
            self.problems.push(Problem::error(
                Rule::Wire3,
                code::MANGLER,
                join(p, "StatusAendring"),
                "a StatusHistorik holds at least one StatusAendring",
            ));
        }
        out
    }

    /// The payload element of an asynchronous request, with the header's Myndighed.
    fn payload(
        &mut self,
        kind: PayloadKind,
        el: &Element<'_>,
        op: Operation,
    ) -> Option<(Payload, Option<Cvr>)> {
        let p = &*el.name;
        let from_ksd = op.port() == Port::Jc;
        match kind {
            PayloadKind::OpdateringFravaer => {
                let v = self.opdatering_fravaer(el, p, true)?;
                let m = v.header.myndighed;
                Some((Payload::OpdateringFravaer(v), Some(m)))
            }
            PayloadKind::ForretningsSvar => self.forretnings_svar_payload(el, p),
            PayloadKind::Haendelse => self.haendelse_payload(el, p, from_ksd),
            PayloadKind::AnmodningForlaengelse => self.anmodning_payload(el, p, from_ksd),
            PayloadKind::ForretningsSvarForlaengelse => self.svar_forlaengelse_payload(el, p),
            PayloadKind::HentSag | PayloadKind::HentSagsListe => {
                unreachable!("criteria are read from the request element")
            }
        }
    }

    /// `sft:ForretningsSvar` (SF2095's business receipt, SF2090's acknowledgement).
    fn forretnings_svar_payload(
        &mut self,
        el: &Element<'_>,
        p: &str,
    ) -> Option<(Payload, Option<Cvr>)> {
        let f = self.fields(
            el,
            p,
            &[("Header", Some(Sft)), ("Forretningskvittering", Some(Kvit))],
        );
        let header = self.header(f[0], p);
        let kvittering = self.forretningskvittering(f[1], p);
        let header = header?;
        let m = header.myndighed;
        Some((
            Payload::ForretningsSvar(ForretningsSvar {
                header,
                kvittering: kvittering?,
            }),
            Some(m),
        ))
    }

    /// `sft:Haendelse` (SF2090).
    fn haendelse_payload(
        &mut self,
        el: &Element<'_>,
        p: &str,
        from_ksd: bool,
    ) -> Option<(Payload, Option<Cvr>)> {
        let f = self.fields(
            el,
            p,
            &[
                ("Header", Some(Sft)),
                ("HaendelseType", Some(Sft)),
                ("Sag", Some(Sft)),
            ],
        );
        let header = self.header(f[0], p);
        let haendelse_type = self.req(f[1], Rule::Wire3, p, "HaendelseType");
        let sag = self.sag(f[2], p, from_ksd);
        let header = header?;
        let m = header.myndighed;
        Some((
            Payload::Haendelse(Haendelse {
                header,
                haendelse_type: haendelse_type?,
                sag: sag?,
            }),
            Some(m),
        ))
    }

    /// `sft:AnmodningForlaengelse` (SF2093).
    fn anmodning_payload(
        &mut self,
        el: &Element<'_>,
        p: &str,
        from_ksd: bool,
    ) -> Option<(Payload, Option<Cvr>)> {
        let f = self.fields(
            el,
            p,
            &[
                ("Header", Some(Sft)),
                ("Sag", Some(Sft)),
                ("VarighedsgraenseDato", Some(Sft)),
                ("SvarFrist", Some(Sft)),
            ],
        );
        let header = self.header(f[0], p);
        let sag = self.sag(f[1], p, from_ksd);
        let graense = self.req(f[2], Rule::Ksd11, p, "VarighedsgraenseDato");
        let frist = self.req(f[3], Rule::Ksd11, p, "SvarFrist");
        let header = header?;
        let m = header.myndighed;
        let v = AnmodningForlaengelse {
            header,
            sag: sag?,
            varighedsgraense_dato: graense?,
            svar_frist: frist?,
        };
        Some((Payload::AnmodningForlaengelse(v), Some(m)))
    }

    /// `sft:ForretningsSvarForlaengelse` (SF2093's answer).
    fn svar_forlaengelse_payload(
        &mut self,
        el: &Element<'_>,
        p: &str,
    ) -> Option<(Payload, Option<Cvr>)> {
        let f = self.fields(
            el,
            p,
            &[
                ("Header", Some(Sft)),
                ("Forlaengelse", Some(Sft)),
                ("Afvisning", Some(Sft)),
            ],
        );
        let header = self.header(f[0], p);
        let svar = self.svar_forlaengelse(f[1], f[2], p);
        let header = header?;
        let m = header.myndighed;
        Some((
            Payload::ForretningsSvarForlaengelse(ForretningsSvarForlaengelse {
                header,
                svar: svar?,
            }),
            Some(m),
        ))
    }

    /// Exactly one of `Forlaengelse` (type, optional end date) and `Afvisning` (a reason).
    fn svar_forlaengelse(
        &mut self,
        forlaengelse: Option<&Element<'_>>,
        afvisning: Option<&Element<'_>>,
        p: &str,
    ) -> Option<SvarForlaengelse> {
        match self.one_of(
            forlaengelse,
            afvisning,
            Rule::Ksd11,
            p,
            ("Forlaengelse", "Afvisning"),
        ) {
            Some(Choice::First(fl)) => {
                let fp = &join(p, "Forlaengelse");
                let g = self.fields(
                    fl,
                    fp,
                    &[
                        ("ForlaengelseType", Some(Sft)),
                        ("ForlaengelseSlutDato", Some(Sft)),
                    ],
                );
                let t = self.req(g[0], Rule::Ksd11, fp, "ForlaengelseType");
                let d = self.opt(g[1], Rule::Ksd11, fp, "ForlaengelseSlutDato");
                check::forlaengelse(t, d, fp, &mut self.problems);
                t.map(|forlaengelse_type| SvarForlaengelse::Forlaengelse {
                    forlaengelse_type,
                    forlaengelse_slut_dato: d,
                })
            }
            Some(Choice::Second(af)) => {
                let ap = &join(p, "Afvisning");
                let g = self.fields(af, ap, &[("Begrundelse", Some(Sft))]);
                self.req_text(g[0], Rule::Ksd11, ap, "Begrundelse")
                    .map(|begrundelse| SvarForlaengelse::Afvisning { begrundelse })
            }
            None => None,
        }
    }

    fn context(
        &mut self,
        cc: Option<&Element<'_>>,
        ac: Option<&Element<'_>>,
        op: Operation,
        path: &str,
    ) -> (Option<CallContext>, Option<AuthorityContext>, bool) {
        let call_context = cc.map(|cc| {
            let p = &join(path, "CallContext");
            let f = self.fields(
                cc,
                p,
                &[
                    ("OnBehalfOfUser", Some(Cc)),
                    ("CallersServiceCallIdentifier", Some(Cc)),
                    ("AccountingInfo", Some(Cc)),
                ],
            );
            let names = [
                "OnBehalfOfUser",
                "CallersServiceCallIdentifier",
                "AccountingInfo",
            ];
            let vals: Vec<Option<String>> = f.iter().map(|e| self.opt_text(*e)).collect();
            for (v, n) in vals.iter().zip(names) {
                check::call_context_field(v.as_deref(), &join(p, n), &mut self.problems);
            }
            let mut it = vals.into_iter();
            CallContext {
                on_behalf_of_user: it.next().flatten(),
                callers_service_call_identifier: it.next().flatten(),
                accounting_info: it.next().flatten(),
            }
        });
        let rule = check::context_rule(op);
        let mut present = false;
        let authority_context = match ac {
            None => None,
            Some(ac) => {
                present = true;
                let p = &join(path, "AuthorityContext");
                let f = self.fields(ac, p, &[("MunicipalityCVR", Some(Ac))]);
                self.req::<Cvr>(f[0], rule, p, "MunicipalityCVR")
                    .map(|municipality_cvr| AuthorityContext { municipality_cvr })
            }
        };
        self.authority_context.clone_from(&authority_context);
        (call_context, authority_context, present)
    }

    fn request(&mut self, op: Operation, el: &Element<'_>) -> Option<Request> {
        match op.payload_kind() {
            PayloadKind::HentSag => self.hent_sag_request(op, el),
            PayloadKind::HentSagsListe => self.hent_sags_liste_request(op, el),
            kind => self.payload_request(op, kind, el),
        }
    }

    /// `HentSag` (SF2096): by SagIdentifikator or NemRefusionIdentifier, exactly one.
    fn hent_sag_request(&mut self, op: Operation, el: &Element<'_>) -> Option<Request> {
        let path = "";
        let rp = &*el.name;
        let f = self.fields(
            el,
            path,
            &[
                ("CallContext", Some(Cc)),
                ("AuthorityContext", Some(Ac)),
                ("SagIdentifikator", Some(Sft)),
                ("NemRefusionIdentifier", Some(Sft)),
            ],
        );
        let (call_context, authority_context) = self.context_only(f[0], f[1], op);
        let names = ("SagIdentifikator", "NemRefusionIdentifier");
        let crit = match self.one_of(f[2], f[3], Rule::Wire3, rp, names) {
            Some(Choice::First(e)) => self
                .parse(e, Rule::Wire3, rp, names.0)
                .map(HentSag::SagIdentifikator),
            Some(Choice::Second(e)) => self
                .parse(e, Rule::Wire3, rp, names.1)
                .map(HentSag::NemRefusionIdentifier),
            None => None,
        };
        Some(Request {
            operation: op,
            call_context,
            authority_context,
            payload: Payload::HentSag(crit?),
        })
    }

    /// `HentSagsListe` (SF2096): by CPR and period, each optional.
    fn hent_sags_liste_request(&mut self, op: Operation, el: &Element<'_>) -> Option<Request> {
        let path = "";
        let rp = &*el.name;
        let f = self.fields(
            el,
            path,
            &[
                ("CallContext", Some(Cc)),
                ("AuthorityContext", Some(Ac)),
                ("SygemeldtePart", Some(Sft)),
                ("PeriodeFra", Some(Sft)),
                ("PeriodeTil", Some(Sft)),
            ],
        );
        let (call_context, authority_context) = self.context_only(f[0], f[1], op);
        let sygemeldte_part = self.opt(f[2], Rule::Wire3, rp, "SygemeldtePart");
        let periode_fra = self.opt(f[3], Rule::Wire3, rp, "PeriodeFra");
        let periode_til = self.opt(f[4], Rule::Wire3, rp, "PeriodeTil");
        check::periode(periode_fra, periode_til, rp, &mut self.problems);
        let crit = HentSagsListe {
            sygemeldte_part,
            periode_fra,
            periode_til,
        };
        Some(Request {
            operation: op,
            call_context,
            authority_context,
            payload: Payload::HentSagsListe(crit),
        })
    }

    /// An asynchronous request: contexts and one payload element, the AuthorityContext checked
    /// against the payload's Myndighed.
    fn payload_request(
        &mut self,
        op: Operation,
        kind: PayloadKind,
        el: &Element<'_>,
    ) -> Option<Request> {
        let path = "";
        let name = payload_element(kind);
        let f = self.fields(
            el,
            path,
            &[
                ("CallContext", Some(Cc)),
                ("AuthorityContext", Some(Ac)),
                (name, Some(Sft)),
            ],
        );
        let (call_context, authority_context, present) = self.context(f[0], f[1], op, path);
        let Some(pe) = f[2] else {
            check::authority_context(
                op,
                present,
                authority_context.as_ref(),
                None,
                &mut self.problems,
            );
            self.missing(Rule::Wire3, &el.name, name);
            return None;
        };
        let payload = self.payload(kind, pe, op);
        let myndighed = payload.as_ref().and_then(|(_, m)| *m);
        check::authority_context(
            op,
            present,
            authority_context.as_ref(),
            myndighed,
            &mut self.problems,
        );
        Some(Request {
            operation: op,
            call_context,
            authority_context,
            payload: payload?.0,
        })
    }

    fn response(&mut self, op: Operation, el: &Element<'_>) -> Option<Response> {
        let path = "";
        let body = match op.payload_kind() {
            PayloadKind::HentSagsListe => {
                let mut sager = Vec::new();
                let mut ok = true;
                for (i, child) in el.children.iter().enumerate() {
                    if &*child.name != "Sag" {
                        self.problems.push(Problem::warning(
                            Rule::Wire3,
                            code::UKENDT,
                            child.name.to_string(),
                            "only Sag elements belong in a HentSagsListeResponse; ignored",
                        ));
                        continue;
                    }
                    self.note_ns(child, Some(Sft), path);
                    match self.sag(Some(child), &format!("[{i}]"), true) {
                        Some(s) => sager.push(s),
                        None => ok = false,
                    }
                }
                ok.then_some(ResponseBody::SagsListe(sager))
            }
            PayloadKind::HentSag => {
                let f = self.fields(
                    el,
                    path,
                    &[("Sag", Some(Sft)), ("TransportKvittering", Some(Kvit))],
                );
                match self.one_of(
                    f[0],
                    f[1],
                    Rule::Wire3,
                    path,
                    ("Sag", "TransportKvittering"),
                ) {
                    Some(Choice::First(e)) => self
                        .sag(Some(e), path, true)
                        .map(|s| ResponseBody::Sag(Box::new(s))),
                    Some(Choice::Second(k)) => self
                        .transport_kvittering(k, "TransportKvittering")
                        .map(ResponseBody::TransportKvittering),
                    None => None,
                }
            }
            _ => {
                let f = self.fields(el, path, &[("TransportKvittering", Some(Kvit))]);
                match f[0] {
                    Some(k) => self
                        .transport_kvittering(k, "TransportKvittering")
                        .map(ResponseBody::TransportKvittering),
                    None => {
                        self.missing(Rule::Ksd1, path, "TransportKvittering");
                        None
                    }
                }
            }
        };
        Some(Response {
            operation: op,
            body: body?,
        })
    }

    pub(crate) fn fault(&mut self, el: &Element<'_>) -> Option<SoapFault> {
        let p = "Fault";
        let f = self.fields(
            el,
            p,
            &[
                ("faultcode", None),
                ("faultstring", None),
                ("faultactor", None),
                ("detail", None),
            ],
        );
        let fault_code = self.req_text(f[0], Rule::Wire1, p, "faultcode");
        let fault_string = self.req_text(f[1], Rule::Wire1, p, "faultstring");
        let fault_actor = self.opt_text(f[2]);
        let serviceplatform_fault = f[3].and_then(|d| {
            let spf = d
                .children
                .iter()
                .find(|c| &*c.name == "ServiceplatformFault")?;
            let dp = "Fault/detail/ServiceplatformFault";
            self.note_ns(spf, Some(Spf), "Fault/detail");
            let g = self.fields(spf, dp, &[("ErrorList", Some(Spf))]);
            let Some(list) = g[0] else {
                self.missing(Rule::Wire1, dp, "ErrorList");
                return None;
            };
            let lp = &join(dp, "ErrorList");
            let mut errors = Vec::new();
            for e in list.children.iter().filter(|c| &*c.name == "Error") {
                self.note_ns(e, Some(Spf), lp);
                let ep = &join(lp, "Error");
                let h = self.fields(e, ep, &[("ErrorCode", Some(Spf)), ("ErrorText", Some(Spf))]);
                let error_code = self.req_text(h[0], Rule::Wire1, ep, "ErrorCode");
                let error_text = self.req_text(h[1], Rule::Wire1, ep, "ErrorText");
                if let (Some(error_code), Some(error_text)) = (error_code, error_text) {
                    errors.push(ServiceplatformError {
                        error_code,
                        error_text,
                    });
                }
            }
            if errors.is_empty() {
                self.missing(Rule::Wire1, lp, "Error");
                return None;
            }
            Some(ServiceplatformFault { errors })
        });
        Some(SoapFault {
            fault_code: fault_code?,
            fault_string: fault_string?,
            fault_actor,
            serviceplatform_fault,
        })
    }
}

/// The payload element's local name for a payload kind.
pub(crate) fn payload_element(kind: PayloadKind) -> &'static str {
    match kind {
        PayloadKind::OpdateringFravaer => "OpdateringFravaer",
        PayloadKind::ForretningsSvar => "ForretningsSvar",
        PayloadKind::ForretningsSvarForlaengelse => "ForretningsSvarForlaengelse",
        PayloadKind::Haendelse => "Haendelse",
        PayloadKind::AnmodningForlaengelse => "AnmodningForlaengelse",
        PayloadKind::HentSag => "HentSag",
        PayloadKind::HentSagsListe => "HentSagsListe",
    }
}
