//! The namespaces of STAR's side of SF1612 (wire.md §4.1), kept with the STAR contract rather
//! than in the crate's shared `ns` module: STAR is another party's service with its own
//! vocabulary, and nothing else of the contract uses these URIs.
//!
//! Seed 004 prints its SOAP examples "with the namespaces removed", so only the event's own
//! namespace is the seed's; the others are *defined here*, named after the WCF services and
//! versions seed 004 cites (`PjakTassWCFServices\3` holds `WsrmService.wsdl`, `...\10`
//! `WsrmMessageService.wsdl`). Readers compare URIs, never prefixes; the prefixes are only
//! what the writers use.

/// `WsrmService` v3 [defined here]: `CreateSequence`, `TerminateSequence`, `CloseSequence`
/// (their `...RequestType`/`...ResponseType` elements and every child, qualified), and the
/// `SequenceRequest` SOAP header of `GetIllnessUpdatedVersion6`.
pub const WSRM: &str = "http://star.dk/dfdg/WsrmService/3/";

/// `WsrmMessageService` v10 [defined here]: the WSDL target namespace and the SOAPAction
/// prefix of `GetIllnessUpdatedVersion6`. Its messages are in [`ILLNESS`].
pub const WSRM_MESSAGE: &str = "http://star.dk/dfdg/WsrmMessageService/10/";

/// STAR's caller metadata headers [defined here]: `ActiveOrganisationHeader` and
/// `RequestUserMetadataHeader` with their children (qualified), seed 004 §3.3.3.
pub const STAR_SECURITY: &str = "http://star.dk/dfdg/Security/1/";

/// The sick-leave event [seed 004 §3.1.3.2.2]: `GetIllnessUpdatedResponse` (and, defined here,
/// `GetIllnessUpdatedRequest`) are in this namespace; everything inside them is *unqualified*,
/// exactly as the seed's example writes `IllnessUpdateRegistration` without a prefix.
pub const ILLNESS: &str = "http://kmd.dk/ksd/erp/stardfdg-modtagsygmeldingstatus";

/// Prefix written for [`WSRM`].
pub const WSRM_PREFIX: &str = "wsrm";
/// Prefix written for [`STAR_SECURITY`].
pub const STAR_SECURITY_PREFIX: &str = "sts";
/// Prefix written for [`ILLNESS`]: `ns0`, as in seed 004's example.
pub const ILLNESS_PREFIX: &str = "ns0";
