//! Rule IDs (`../shared/spec/rules.md` in the source tree; copied here as IDs only) and the
//! [`Problem`] every check reports.
//!
//! The `WIRE-n` IDs are ours: they name violations of the wire contract itself (wire.md), which
//! the rule list does not number: WIRE-1 envelope and transport, WIRE-2 receipts, WIRE-3 the
//! shape of operations and payloads.

use std::fmt;

macro_rules! rules {
    ($($variant:ident = $id:literal, $summary:literal;)*) => {
        /// A rule of the ecosystem, by its ID.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Rule {
            $(
                #[doc = $summary]
                $variant,
            )*
        }

        impl Rule {
            /// Every rule, in the order of the rule list.
            pub const ALL: &'static [Rule] = &[$(Rule::$variant),*];

            /// The ID as written in the rule list, e.g. `KSD-5`.
            pub fn id(self) -> &'static str {
                match self { $(Rule::$variant => $id,)* }
            }

            /// A one-line summary in our own words.
            pub fn summary(self) -> &'static str {
                match self { $(Rule::$variant => $summary,)* }
            }

            /// Looks an ID up (`"KSD-5"`); `None` when unknown.
            pub fn from_id(id: &str) -> Option<Rule> {
                match id { $($id => Some(Rule::$variant),)* _ => None }
            }
        }
    };
}

rules! {
    Sp1 = "SP-1", "SendOpdateringFravaer is forwarded to KSD and KSD's transport receipt is passed back unchanged.";
    Sp2 = "SP-2", "KSD's business receipt is routed by the security context's municipality CVR.";
    Sp3 = "SP-3", "One routing table maps municipality CVR to jobcenter solution; changeable at run time.";
    Sp4 = "SP-4", "No route or an unreachable receiver gives a SOAP fault with a CallUUID.";
    Sp5 = "SP-5", "A jobcenter call needs a known certificate, an AuthorityContext and a service agreement.";
    Sp6 = "SP-6", "Each jobcenter instance has its own certificate.";
    Sp7 = "SP-7", "The platform calls receivers with KOMBIT's certificate and an AuthorityContext.";
    Sp8 = "SP-8", "Response-time SLA by complexity class.";
    Sp9 = "SP-9", "Service windows: the platform answers with a fault.";
    Sp10 = "SP-10", "The STAR job fetches and persists every event before publishing.";
    Sp11 = "SP-11", "Each STAR event becomes one Haendelsesbesked.";
    Sp12 = "SP-12", "STAR calls carry the fixed organisation and user headers.";
    Sp13 = "SP-13", "KSD-to-jobcenter legs, look-ups and KY calls are pass-throughs: forwarded synchronously, nothing persisted but the journal.";
    Bf1 = "BF-1", "A subscriber only gets messages matching its subscription.";
    Bf2 = "BF-2", "Beskedfordeler delivery is at least once.";
    Ksd1 = "KSD-1", "ModtagOpdateringFravaer answers with a transport receipt; FEJL carries a FejlListe.";
    Ksd2 = "KSD-2", "The business receipt keeps the TransaktionIdentifikator; FejlListe only with FEJLET.";
    Ksd3 = "KSD-3", "Header fields present and well-formed.";
    Ksd4 = "KSD-4", "OphoersAarsag and OphoersStartDato present; OphoersSlutDato not before the start.";
    Ksd5 = "KSD-5", "Ophoersaarsag from the value list; never 10 nor 60-64 from outside.";
    Ksd6 = "KSD-6", "Outward, KSD maps Ophoersaarsag 50, 51 and 52 to 2.";
    Ksd7 = "KSD-7", "A repeated TransaktionIdentifikator is processed once and answered again.";
    Ksd8 = "KSD-8", "Security-context CVR and header Myndighed agree.";
    Ksd9 = "KSD-9", "KSD owns the case and its VarighedKode.";
    Ksd10 = "KSD-10", "Case changes are sent to the jobcenter as a Haendelse (SF2090).";
    Ksd11 = "KSD-11", "Extension requests are answered with an extension or a rejection (SF2093).";
    Ksd12 = "KSD-12", "Case look-ups only return the calling municipality's cases (SF2096).";
    Ksd13 = "KSD-13", "Volume: up to 200,000 status changes a month.";
    Ksd14 = "KSD-14", "Ophoersaarsag semantics: 24 is a holiday with its last day and keeps the case open; 18 from a jobcenter is suspended.";
    Ksd15 = "KSD-15", "A TransportKvittering carries a FejlListe only with ADVARSEL or FEJL.";
    Jc1 = "JC-1", "A jobcenter resends until the transport receipt is not FEJL.";
    Jc2 = "JC-2", "A jobcenter accepts only KOMBIT's certificate and its own municipalities.";
    Jc3 = "JC-3", "A multi-municipality solution works only in the municipality in context.";
    Jc4 = "JC-4", "Several vendors exist.";
    Ky1 = "KY-1", "KY has eight synchronous operations, each answered with a receipt.";
    Ky2 = "KY-2", "KY header and body fields present and well-formed.";
    Ky3 = "KY-3", "A KY message's Handling is one its operation has, with the fields that Handling needs.";
    Ky4 = "KY-4", "KY values from their value lists; end dates not before start dates; amounts positive.";
    Ky5 = "KY-5", "Security-context CVR and the KY header's Myndighed agree.";
    Ky6 = "KY-6", "Every KY message but a new Kontaktforloeb names an existing one of the person and municipality.";
    Ky7 = "KY-7", "KY refuses to create what already exists.";
    Ky8 = "KY-8", "KY refuses to change, stop, delete or refer to an object it does not know.";
    Ky9 = "KY-9", "KY changes nothing stopped and resumes only what is stopped.";
    Ky10 = "KY-10", "A repeated TransaktionIdentifikator is answered the same; reused with other content it is refused.";
    Wire1 = "WIRE-1", "Envelope and transport: well-formed SOAP 1.1, no DTD, SOAPAction and Body agree.";
    Wire2 = "WIRE-2", "Receipts have the shape and codes of the contract.";
    Wire3 = "WIRE-3", "Operations and payloads have the elements, order and namespaces of the contract.";
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

impl serde::Serialize for Rule {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.id())
    }
}

/// Whether a problem stops the message (error) or is only reported (warning).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The message breaks a rule: a receiver must not process it.
    Error,
    /// The message is understood, but differs from the contract (e.g. a foreign namespace).
    Warning,
}

/// Short codes that, with the rule ID, make a `FejlKode` (`KSD-3.MANGLER`).
pub mod code {
    /// A mandatory element is absent.
    pub const MANGLER: &str = "MANGLER";
    /// An element's text is not of its type (UUID, CVR, date ...).
    pub const FORMAT: &str = "FORMAT";
    /// A value outside its value list, or not allowed here.
    pub const VAERDI: &str = "VAERDI";
    /// Two values that must agree do not (dates, CVRs).
    pub const UOVERENSSTEMMELSE: &str = "UOVERENSSTEMMELSE";
    /// An element the contract does not have here.
    pub const UKENDT: &str = "UKENDT";
    /// An element that may appear once appears again.
    pub const GENTAGET: &str = "GENTAGET";
    /// Elements out of the contract's order.
    pub const RAEKKEFOELGE: &str = "RAEKKEFOELGE";
    /// An element in another namespace than the contract's.
    pub const NAVNERUM: &str = "NAVNERUM";
    /// The document or envelope is unusable.
    pub const DOKUMENT: &str = "DOKUMENT";
    /// SOAPAction and Body disagree, or the operation is unknown.
    pub const OPERATION: &str = "OPERATION";
    /// Read and understood, and thrown away by rule: nothing is processed (KSD-14, code 10).
    pub const KASSERET: &str = "KASSERET";
}

/// One finding about a message: which rule, where, what.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Problem {
    /// The rule broken; the conformance report groups by it.
    pub rule: Rule,
    /// A short code (see [`code`]) so that `FejlKode` is stable and machine-readable.
    #[serde(skip)]
    pub code: &'static str,
    /// Element path from the payload root, e.g. `OpdateringFravaer/Header/Myndighed`.
    pub path: String,
    /// A plain explanation for a person.
    pub text: String,
    /// Error or warning.
    pub severity: Severity,
}

impl Problem {
    /// An error-severity problem.
    pub fn error(
        rule: Rule,
        code: &'static str,
        path: impl Into<String>,
        text: impl Into<String>,
    ) -> Self {
        Problem {
            rule,
            code,
            path: path.into(),
            text: text.into(),
            severity: Severity::Error,
        }
    }

    /// A warning-severity problem.
    pub fn warning(
        rule: Rule,
        code: &'static str,
        path: impl Into<String>,
        text: impl Into<String>,
    ) -> Self {
        Problem {
            rule,
            code,
            path: path.into(),
            text: text.into(),
            severity: Severity::Warning,
        }
    }

    /// Whether this problem stops the message.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// The `FejlKode` of a receipt: rule ID + short code, e.g. `KSD-5.VAERDI`.
    pub fn fejl_kode(&self) -> String {
        format!("{}.{}", self.rule.id(), self.code)
    }

    /// The `FejlTekst` of a receipt: path and explanation.
    pub fn fejl_tekst(&self) -> String {
        if self.path.is_empty() {
            self.text.clone()
        } else {
            format!("{}: {}", self.path, self.text)
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sev = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{sev} {} {} — {}", self.rule, self.path, self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip() {
        for r in Rule::ALL {
            assert_eq!(Rule::from_id(r.id()), Some(*r));
        }
        assert_eq!(Rule::Ksd5.id(), "KSD-5");
    }

    #[test]
    fn fejl_kode_joins_rule_and_code() {
        let p = Problem::error(
            Rule::Ksd3,
            code::MANGLER,
            "OpdateringFravaer/Header/Myndighed",
            "missing",
        );
        assert_eq!(p.fejl_kode(), "KSD-3.MANGLER");
        assert_eq!(
            p.fejl_tekst(),
            "OpdateringFravaer/Header/Myndighed: missing"
        );
    }
}
