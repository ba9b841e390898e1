//! Why a document is unusable: the errors that stop reading before any field is looked at.

use crate::rules::Rule;

/// A document that cannot be read as a message of the contract. Each variant is a distinct
/// case a sender can fix; all of them break rule WIRE-1 (envelope and transport).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// Not well-formed XML (or not XML at all).
    #[error("not well-formed XML at line {line}, column {column}: {detail}")]
    NotXml {
        /// What the parser saw.
        detail: String,
        /// 1-based line.
        line: usize,
        /// 1-based column (bytes).
        column: usize,
    },
    /// The document stops before its elements are closed.
    #[error("truncated document: {detail}")]
    Truncated {
        /// Where it stopped.
        detail: String,
    },
    /// A DOCTYPE: refused, so no entity is ever expanded.
    #[error("DOCTYPE declarations are refused: no DTDs and no entity expansion")]
    Doctype,
    /// An entity reference that XML does not predefine (there can be no DTD to define it).
    #[error("undefined entity reference '&{0};': only the five predefined entities and character references are allowed")]
    UndefinedEntity(String),
    /// A SOAP 1.2 envelope.
    #[error("SOAP 1.2 envelope (http://www.w3.org/2003/05/soap-envelope): the platform speaks SOAP 1.1 only (http://schemas.xmlsoap.org/soap/envelope/)")]
    Soap12,
    /// The root is not a SOAP Envelope.
    #[error("the root element is {found}, not a SOAP 1.1 Envelope")]
    NotEnvelope {
        /// The root in `{namespace}local` form.
        found: String,
    },
    /// No `soap:Body`.
    #[error("the SOAP envelope has no Body")]
    NoBody,
    /// An envelope of the wrong shape: more than one Body or Header, a Header after the Body,
    /// or an element that is neither.
    #[error("SOAP envelope: {detail}")]
    EnvelopeShape {
        /// What is wrong with it.
        detail: String,
    },
    /// The HTTP request body could not be read: larger than the limit, or broken framing.
    #[error("the request body could not be read: {detail}")]
    UnreadableBody {
        /// Why (the limit, the framing error).
        detail: String,
    },
    /// A `soap:Body` without an element.
    #[error("the SOAP Body is empty")]
    EmptyBody,
    /// The Body's element names no operation of the contract.
    #[error("unknown operation: {detail}")]
    UnknownOperation {
        /// What was found and what would have been expected.
        detail: String,
    },
}

impl WireError {
    /// The rule every document-level error breaks.
    pub fn rule(&self) -> Rule {
        Rule::Wire1
    }

    /// A stable short kind for JSON output and journals.
    pub fn kind(&self) -> &'static str {
        match self {
            WireError::NotXml { .. } => "not-xml",
            WireError::Truncated { .. } => "truncated",
            WireError::Doctype => "doctype",
            WireError::UndefinedEntity(_) => "undefined-entity",
            WireError::Soap12 => "soap12",
            WireError::NotEnvelope { .. } => "not-envelope",
            WireError::NoBody => "no-body",
            WireError::EnvelopeShape { .. } => "envelope-shape",
            WireError::UnreadableBody { .. } => "unreadable-body",
            WireError::EmptyBody => "empty-body",
            WireError::UnknownOperation { .. } => "unknown-operation",
        }
    }
}
