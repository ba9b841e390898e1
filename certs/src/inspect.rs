//! Looking at an existing certificate: is it still the one we would issue today?
//!
//! Used by the store to keep files across runs (idempotency) and to describe them in the
//! manifest. Pure functions over DER; the caller supplies `now`.

use rcgen::{KeyPair, PublicKeyData};
use time::OffsetDateTime;
use x509_parser::prelude::{FromDer, X509Certificate};

/// What the store needs to know about a certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertFacts {
    /// Subject attributes in order, as (dotted OID, value).
    pub attributes: Vec<(String, String)>,
    /// Start of validity.
    pub not_before: OffsetDateTime,
    /// End of validity.
    pub not_after: OffsetDateTime,
    /// Subject as text.
    pub subject: String,
    /// Issuer as text.
    pub issuer: String,
}

/// Reads the facts of a DER certificate; `None` if it does not parse.
pub fn facts(der: &[u8]) -> Option<CertFacts> {
    let (_, cert) = X509Certificate::from_der(der).ok()?;
    let attributes = cert
        .subject()
        .iter_attributes()
        .map(|a| {
            (
                a.attr_type().to_id_string(),
                a.as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    Some(CertFacts {
        attributes,
        not_before: cert.validity().not_before.to_datetime(),
        not_after: cert.validity().not_after.to_datetime(),
        subject: crate::identity::subject_text(cert.subject()),
        issuer: crate::identity::subject_text(cert.issuer()),
    })
}

/// Whether `attrs` (as the issuing code writes them) equal the certificate's subject.
pub fn subject_is(facts: &CertFacts, attrs: &[(&'static [u64], String)]) -> bool {
    facts.attributes.len() == attrs.len()
        && facts
            .attributes
            .iter()
            .zip(attrs)
            .all(|((oid, value), (want_oid, want_value))| {
                *oid == dotted(want_oid) && value == want_value
            })
}

/// Whether `key` is the private half of the certificate's public key.
pub fn key_matches_certificate(key: &KeyPair, cert_der: &[u8]) -> bool {
    match X509Certificate::from_der(cert_der) {
        Ok((_, cert)) => cert.public_key().raw == key.subject_public_key_info().as_slice(),
        Err(_) => false,
    }
}

/// Whether `cert_der` carries a valid signature by the key in `issuer_der`.
pub fn signed_by(cert_der: &[u8], issuer_der: &[u8]) -> bool {
    let (Ok((_, cert)), Ok((_, issuer))) = (
        X509Certificate::from_der(cert_der),
        X509Certificate::from_der(issuer_der),
    ) else {
        return false;
    };
    cert.issuer() == issuer.subject() && cert.verify_signature(Some(issuer.public_key())).is_ok()
}

fn dotted(oid: &[u64]) -> String {
    oid.iter().map(u64::to_string).collect::<Vec<_>>().join(".")
}
