//! Why a caller was turned away, in words an operator can act on.
//!
//! rustls reports a refused client certificate as an error deep inside an `io::Error`; this
//! module digs it out and names it, so that every refusal is logged with one stable `reason`
//! code (for tests and log searches) and a human-readable detail.

use std::fmt;
use std::io;

use rustls::{CertificateError, Error as TlsError};
use sim_certs::{Cvr, IdentityError};

/// Why a connection or request was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The TLS handshake did not finish within the configured time.
    HandshakeTimeout,
    /// The client sent nothing (not even a TLS ClientHello) in time: dropped before it took
    /// a connection slot.
    Silent,
    /// The client sent no certificate.
    NoClientCertificate,
    /// The chain does not lead to a configured trust anchor (includes self-signed).
    UnknownCa,
    /// The certificate (or a CA in its chain) has expired.
    Expired,
    /// The certificate (or a CA in its chain) is not valid yet.
    NotYetValid,
    /// The certificate may not be used for TLS client authentication (EKU lacks clientAuth).
    MissingClientAuthEku,
    /// A signature in the chain does not verify.
    BadSignature,
    /// The certificate verifies but names no organisation (no CVR).
    NoCvr(String),
    /// The caller's CVR is not on this server's allow-list (answered with HTTP 403).
    CvrNotAllowed(Cvr),
    /// Another certificate problem.
    OtherCertificate(String),
    /// The handshake failed for a reason unrelated to the certificate (protocol, plain HTTP…).
    Handshake(String),
    /// The peer's address already holds as many connections as one address may
    /// (`ServerTlsConfig::max_connections_per_address`): closed at once, so one address cannot
    /// take the budget every caller shares.
    PerAddressLimit(std::net::IpAddr),
}

impl Refusal {
    /// A stable short code, logged as `reason=<code>`.
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::HandshakeTimeout => "handshake_timeout",
            Refusal::Silent => "silent",
            Refusal::NoClientCertificate => "no_client_certificate",
            Refusal::UnknownCa => "unknown_ca",
            Refusal::Expired => "expired",
            Refusal::NotYetValid => "not_yet_valid",
            Refusal::MissingClientAuthEku => "missing_client_auth_eku",
            Refusal::BadSignature => "bad_signature",
            Refusal::NoCvr(_) => "no_cvr",
            Refusal::CvrNotAllowed(_) => "cvr_not_allowed",
            Refusal::OtherCertificate(_) => "bad_certificate",
            Refusal::Handshake(_) => "handshake_failed",
            Refusal::PerAddressLimit(_) => "per_address_limit",
        }
    }

    /// Classifies the error of a failed TLS accept.
    pub fn from_handshake_error(err: &io::Error) -> Refusal {
        match err.get_ref().and_then(|e| e.downcast_ref::<TlsError>()) {
            Some(tls) => Refusal::from_tls_error(tls),
            None => Refusal::Handshake(err.to_string()),
        }
    }

    /// Classifies a rustls error.
    pub fn from_tls_error(err: &TlsError) -> Refusal {
        match err {
            TlsError::NoCertificatesPresented => Refusal::NoClientCertificate,
            TlsError::InvalidCertificate(cert) => match cert {
                CertificateError::UnknownIssuer => Refusal::UnknownCa,
                CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                    Refusal::Expired
                }
                CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                    Refusal::NotYetValid
                }
                CertificateError::InvalidPurpose
                | CertificateError::InvalidPurposeContext { .. } => Refusal::MissingClientAuthEku,
                CertificateError::BadSignature => Refusal::BadSignature,
                CertificateError::Other(other) => match other.0.downcast_ref::<IdentityError>() {
                    Some(id) => Refusal::NoCvr(id.to_string()),
                    None => Refusal::OtherCertificate(other.to_string()),
                },
                other => Refusal::OtherCertificate(format!("{other:?}")),
            },
            other => Refusal::Handshake(other.to_string()),
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::HandshakeTimeout => f.write_str("TLS handshake timed out"),
            Refusal::Silent => {
                f.write_str("the client sent nothing before the first-byte deadline")
            }
            Refusal::NoClientCertificate => f.write_str("no client certificate presented"),
            Refusal::UnknownCa => f.write_str("client certificate not issued by a trusted CA"),
            Refusal::Expired => f.write_str("client certificate expired"),
            Refusal::NotYetValid => f.write_str("client certificate not yet valid"),
            Refusal::MissingClientAuthEku => {
                f.write_str("client certificate lacks the clientAuth extended key usage")
            }
            Refusal::BadSignature => f.write_str("bad signature in client certificate chain"),
            Refusal::NoCvr(detail) => {
                write!(f, "client certificate names no organisation: {detail}")
            }
            Refusal::CvrNotAllowed(cvr) => {
                write!(f, "CVR {cvr} has no service agreement with this endpoint")
            }
            Refusal::OtherCertificate(d) => write!(f, "client certificate refused: {d}"),
            Refusal::Handshake(d) => write!(f, "TLS handshake failed: {d}"),
            Refusal::PerAddressLimit(ip) => {
                write!(
                    f,
                    "{ip} already holds as many connections as one address may"
                )
            }
        }
    }
}
