//! SF1612's Beskedfordeler contract (seed 004 §3.1, §3.2; wire.md §4;
//! `docs/spec/beskedfordeler.md`): the `Haendelsesbesked` the platform publishes for every STAR
//! sick-leave status (SP-11) and the SOAP services around the broker — the push call a
//! subscriber answers (`ModtagBesked`), the value-list service a subscriber keeps its
//! `@PersonkredsSygemeldingsstatus` with (`VaerdilisteTilfoej`, `VaerdilisteFjern`, BF-1), and
//! the embedded broker's pull service (`HentBeskeder`, `BekraeftBeskeder`, BF-2).
//!
//! Pure like the rest of the crate: no IO, no clock, no randomness. Every id and time is a
//! parameter; [`Haendelsesbesked::sygemeldingsstatus`] fills SP-11's fields from the STAR event's
//! values and the simulated CPR register ([`crate::municipalities::residence_of`]).
//!
//! A publisher builds a [`Haendelsesbesked`] and stores [`write_haendelsesbesked`]'s document
//! (the body of an AMQP message, too); a subscriber reads it back with
//! [`read_haendelsesbesked`] and the STAR event with [`Beskeddata::text`]. The SOAP services
//! are [`BfRequest`]/[`BfResponse`] written by [`write_request`]/[`write_response`] and read by
//! [`read()`], each operation's SOAPAction from [`BfOperation::soap_action`].
//!
//! # Layout
//! - [`model`]: the envelope (`Haendelsesbesked` and its parts) and the services' messages.
//! - [`mod@base64`]: RFC 4648 base64 and ISO-8859-1, the encodings of `Beskeddata`.
//! - [`mod@write`]: typed values → the bare `Haendelsesbesked` document, SOAP requests and
//!   responses.
//! - [`mod@read`]: bytes → typed values, or every problem found (WIRE-1, WIRE-3).
//! - [`validate`]: SP-11 over a typed `Haendelsesbesked` (for checkers and tests).
//! - [`examples`]: one valid message per operation, with æøå in the STAR event.

pub mod base64;
pub mod examples;
pub mod model;
pub mod read;
pub mod validate;
pub mod write;

#[cfg(test)]
mod contract_tests;

pub use model::*;
pub use read::{read, read_haendelsesbesked, BeskedError};
pub use validate::validate_sp11;
pub use write::{write_fault, write_haendelsesbesked, write_request, write_response};

/// The envelope's namespace (`Haendelsesbesked`, `Beskedkuvert`, ...) [public, wire.md §4].
pub const NS_KUVERT: &str = "urn:oio:besked:kuvert:1.0";
/// Sagdok's basic types: the identifiers inside the envelope (`UUIDIdentifikator`,
/// `URNIdentifikator`) and the time stamp (`TidsstempelDatoTid`) [public, wire.md §4].
pub const NS_SAGDOK: &str = "urn:oio:sagdok:3.0.0";
/// The namespace of `Beskeddata/Base64` [public, wire.md §4].
pub const NS_BASE64: &str = "urn:besked:kuvert:1.0";
/// The operation elements of the Beskedfordeler's SOAP services and of the push call
/// [defined here].
pub const NS_BF: &str = "http://serviceplatformen.dk/xml/wsdl/soap11/Beskedfordeler/1/";

/// The message type "STAR_SygemeldingsStatus" [seed 004 §3.1.3.1].
pub const BESKEDTYPE_SYGEMELDINGSSTATUS: &str = "52a7a570-9dbc-4a4c-a9cb-b53b2925f2c6";
/// The business object type "Person" of `RelateretObjekt[0]` [seed 004 §3.1.3.1].
pub const OBJEKTTYPE_PERSON: &str = "ce7fcf97-a8a2-447a-8690-d38aa0f6e23c";
/// The value list of seed 004's subscription expression (`@PersonkredsSygemeldingsstatus`).
pub const VAERDILISTE_SYGEMELDINGSSTATUS: &str = "PersonkredsSygemeldingsstatus";
/// `Sikkerhedsklassificering` of a sick-leave status [seed 004 TS103].
pub const SIKKERHEDSKLASSIFICERING: &str = "Fortrolige personoplysninger";
/// `BeskedVersion` of the envelope written here.
pub const BESKED_VERSION: &str = "1.0";

/// `StandardRetur/StatusKode` for success: the only answer that ends a push delivery (BF-2)
/// [public, wire.md §4].
pub const STATUSKODE_OK: u16 = 20;
/// `StatusKode` of a request the receiver cannot use (it would refuse it again) [defined here].
pub const STATUSKODE_UGYLDIG: u16 = 40;
/// `StatusKode` of a receiver that failed (worth trying again) [defined here].
pub const STATUSKODE_FEJL: u16 = 50;

/// The platform's Beskedfordeler endpoint (value lists and the embedded broker's pull), on its
/// mTLS data listener [defined here].
pub const PLATFORM_PATH: &str = "/service/Beskedfordeler/1";
/// The most messages one `HentBeskeder` hands out [defined here].
pub const MAKS_ANTAL_GRAENSE: u32 = 100;
/// The most CPR numbers one value-list change carries [defined here].
pub const VAERDIER_GRAENSE: usize = 1000;

/// What the Beskedfordeler does, as the journal names it: the four SOAP operations of its
/// services, the push call, and two that are no SOAP call — publishing (seed 004 §3.2's
/// `AfsendBesked`, done in-process or over AMQP) and creating a subscription (the admin API,
/// seed 004 TS105).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BfOperation {
    /// The platform publishes a Haendelsesbesked (SP-11) [seed 004 §3.2.3].
    AfsendBesked,
    /// Push delivery: the Beskedfordeler POSTs a message to a subscriber (BF-2).
    ModtagBesked,
    /// A subscriber adds CPR numbers to one of its value lists (BF-1).
    VaerdilisteTilfoej,
    /// A subscriber removes CPR numbers from one of its value lists (BF-1).
    VaerdilisteFjern,
    /// A subscriber fetches messages of a pull subscription (BF-2) [seed 004's EP_KSD name].
    HentBeskeder,
    /// A subscriber acknowledges fetched messages (BF-2).
    BekraeftBeskeder,
    /// A subscription is created (TS105: it needs an approved agreement, TS103/TS104).
    OpretAbonnement,
}

impl BfOperation {
    /// Every operation.
    pub const ALL: [BfOperation; 7] = [
        BfOperation::AfsendBesked,
        BfOperation::ModtagBesked,
        BfOperation::VaerdilisteTilfoej,
        BfOperation::VaerdilisteFjern,
        BfOperation::HentBeskeder,
        BfOperation::BekraeftBeskeder,
        BfOperation::OpretAbonnement,
    ];

    /// The SOAP operations (the others are no SOAP call).
    pub const SOAP: [BfOperation; 5] = [
        BfOperation::ModtagBesked,
        BfOperation::VaerdilisteTilfoej,
        BfOperation::VaerdilisteFjern,
        BfOperation::HentBeskeder,
        BfOperation::BekraeftBeskeder,
    ];

    /// The name, e.g. `HentBeskeder`.
    pub fn name(self) -> &'static str {
        match self {
            BfOperation::AfsendBesked => "AfsendBesked",
            BfOperation::ModtagBesked => "ModtagBesked",
            BfOperation::VaerdilisteTilfoej => "VaerdilisteTilfoej",
            BfOperation::VaerdilisteFjern => "VaerdilisteFjern",
            BfOperation::HentBeskeder => "HentBeskeder",
            BfOperation::BekraeftBeskeder => "BekraeftBeskeder",
            BfOperation::OpretAbonnement => "OpretAbonnement",
        }
    }

    /// Whether it is a SOAP operation of [`NS_BF`].
    pub fn is_soap(self) -> bool {
        BfOperation::SOAP.contains(&self)
    }

    /// `SOAPAction`: the namespace followed by the name.
    pub fn soap_action(self) -> String {
        format!("{NS_BF}{}", self.name())
    }

    /// The request element, `<Name>Input`.
    pub fn input_element(self) -> String {
        format!("{}Input", self.name())
    }

    /// The response element, `<Name>Output`.
    pub fn output_element(self) -> String {
        format!("{}Output", self.name())
    }

    /// The journal's operation label, `BF/<Name>`.
    pub fn label(self) -> String {
        format!("BF/{}", self.name())
    }

    /// The operation a journal label names.
    pub fn from_label(label: &str) -> Option<BfOperation> {
        let name = label.strip_prefix("BF/")?;
        BfOperation::ALL.into_iter().find(|o| o.name() == name)
    }

    /// The SOAP operation a `SOAPAction` names (quotes and whitespace ignored).
    pub fn from_soap_action(action: &str) -> Option<BfOperation> {
        let name = action.trim().trim_matches('"').strip_prefix(NS_BF)?;
        BfOperation::SOAP.into_iter().find(|o| o.name() == name)
    }

    /// The SOAP operation whose request or response element is `local`, and which of them.
    pub fn from_element(local: &str) -> Option<(BfOperation, crate::read::MessageKind)> {
        use crate::read::MessageKind;
        let (name, kind) = if let Some(n) = local.strip_suffix("Input") {
            (n, MessageKind::Request)
        } else if let Some(n) = local.strip_suffix("Output") {
            (n, MessageKind::Response)
        } else {
            return None;
        };
        let op = BfOperation::SOAP.into_iter().find(|o| o.name() == name)?;
        Some((op, kind))
    }
}

impl std::fmt::Display for BfOperation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_labels_and_actions_round_trip() {
        for op in BfOperation::ALL {
            assert_eq!(BfOperation::from_label(&op.label()), Some(op));
            if op.is_soap() {
                assert_eq!(BfOperation::from_soap_action(&op.soap_action()), Some(op));
                assert_eq!(
                    BfOperation::from_element(&op.output_element()).map(|x| x.0),
                    Some(op)
                );
            } else {
                assert_eq!(BfOperation::from_soap_action(&op.soap_action()), None);
            }
        }
        assert_eq!(BfOperation::HentBeskeder.label(), "BF/HentBeskeder");
        assert_eq!(BfOperation::from_label("KSD/HentSag"), None);
    }
}
