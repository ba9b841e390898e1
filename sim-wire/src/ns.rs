//! Every namespace URI of the contract, in one place (wire.md §1–§3).
//!
//! Parsing compares URIs, never prefixes; the prefixes here are only what *we* write.

/// SOAP 1.1 envelope — the only envelope version the platform speaks.
pub const SOAP11: &str = "http://schemas.xmlsoap.org/soap/envelope/";
/// SOAP 1.2 envelope — recognised only to refuse it with a precise error.
pub const SOAP12: &str = "http://www.w3.org/2003/05/soap-envelope";
/// Operation elements of the KSD exposure and of KSD's own receiver port.
pub const SF_KSD: &str = "http://serviceplatformen.dk/xml/wsdl/soap11/KSD/Sygefravaer/2/";
/// Operation elements of the JC exposure and of every jobcenter's receiver port.
pub const SF_JC: &str = "http://serviceplatformen.dk/xml/wsdl/soap11/JC/Sygefravaer/2/";
/// Payload types: Header, OpdateringFravaer, Sag, ...
pub const SFT: &str = "http://serviceplatformen.dk/xml/schemas/Sygefravaer/2/";
/// Operation elements of the KY exposure and of KY's own receiver port (SF1690, wire.md §5).
pub const KY: &str = "http://serviceplatformen.dk/xml/wsdl/soap11/KY/Kontanthjaelp/2/";
/// SF1690's payload types: the KY header and the eight operations' bodies (wire.md §5).
pub const KYT: &str = "http://serviceplatformen.dk/xml/schemas/Kontanthjaelp/2/";
/// Transport and business receipts.
pub const KVIT: &str = "http://serviceplatformen.dk/xml/schemas/kvittering/1/";
/// The security context's municipality.
pub const AUTHORITY_CONTEXT: &str = "http://serviceplatformen.dk/xml/schemas/AuthorityContext/1/";
/// Optional caller bookkeeping.
pub const CALL_CONTEXT: &str = "http://serviceplatformen.dk/xml/schemas/CallContext/1/";
/// The detail of every platform fault.
pub const SERVICEPLATFORM_FAULT: &str =
    "http://serviceplatformen.dk/xml/schemas/ServiceplatformFault/1/";

/// The namespaces the reader knows, as a cheap tag instead of a string compare per element.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KnownNs {
    /// [`SOAP11`]
    Soap11,
    /// [`SOAP12`]
    Soap12,
    /// [`SF_KSD`]
    SfKsd,
    /// [`SF_JC`]
    SfJc,
    /// [`SFT`]
    Sft,
    /// [`KY`]
    Ky,
    /// [`KYT`]
    Kyt,
    /// [`KVIT`]
    Kvit,
    /// [`AUTHORITY_CONTEXT`]
    Ac,
    /// [`CALL_CONTEXT`]
    Cc,
    /// [`SERVICEPLATFORM_FAULT`]
    Spf,
}

impl KnownNs {
    /// Looks a namespace URI up; `None` for anything we do not define.
    pub fn from_uri(uri: &str) -> Option<KnownNs> {
        Some(match uri {
            u if u == SOAP11 => KnownNs::Soap11,
            u if u == SOAP12 => KnownNs::Soap12,
            u if u == SF_KSD => KnownNs::SfKsd,
            u if u == SF_JC => KnownNs::SfJc,
            u if u == SFT => KnownNs::Sft,
            u if u == KY => KnownNs::Ky,
            u if u == KYT => KnownNs::Kyt,
            u if u == KVIT => KnownNs::Kvit,
            u if u == AUTHORITY_CONTEXT => KnownNs::Ac,
            u if u == CALL_CONTEXT => KnownNs::Cc,
            u if u == SERVICEPLATFORM_FAULT => KnownNs::Spf,
            _ => return None,
        })
    }

    /// The URI of this namespace.
    pub fn uri(self) -> &'static str {
        match self {
            KnownNs::Soap11 => SOAP11,
            KnownNs::Soap12 => SOAP12,
            KnownNs::SfKsd => SF_KSD,
            KnownNs::SfJc => SF_JC,
            KnownNs::Sft => SFT,
            KnownNs::Ky => KY,
            KnownNs::Kyt => KYT,
            KnownNs::Kvit => KVIT,
            KnownNs::Ac => AUTHORITY_CONTEXT,
            KnownNs::Cc => CALL_CONTEXT,
            KnownNs::Spf => SERVICEPLATFORM_FAULT,
        }
    }

    /// The prefix the writer uses for this namespace.
    pub fn prefix(self) -> &'static str {
        match self {
            KnownNs::Soap11 => "soap",
            KnownNs::Soap12 => "soap12",
            KnownNs::SfKsd | KnownNs::SfJc => "sf",
            KnownNs::Sft => "sft",
            KnownNs::Ky => "ky",
            KnownNs::Kyt => "kyt",
            KnownNs::Kvit => "kvit",
            KnownNs::Ac => "ac",
            KnownNs::Cc => "cc",
            KnownNs::Spf => "spf",
        }
    }
}
