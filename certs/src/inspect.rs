//! Looking at an existing certificate: is it still the one we would issue today?
//!
//! Used by the store to keep files across runs (idempotency) and to describe them in the
//! manifest. Pure functions over DER; the caller supplies `now`.

use std::net::IpAddr;

use rcgen::{KeyPair, PublicKeyData};
use time::OffsetDateTime;
use x509_parser::prelude::{FromDer, GeneralName, X509Certificate};

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
    /// The subjectAltName entries a TLS client matches a URL's host against, as OpenSSL
    /// prints them (`DNS:localhost`, `IP:127.0.0.1`), in certificate order.
    pub alt_names: Vec<String>,
    /// The extended key usages we issue (`serverAuth`, `clientAuth`), in that order; others
    /// are left out.
    pub extended_key_usage: Vec<&'static str>,
}

impl CertFacts {
    /// Whether the certificate may identify a TLS server.
    pub fn server_auth(&self) -> bool {
        self.extended_key_usage.contains(&"serverAuth")
    }

    /// Whether the certificate may identify a TLS client.
    pub fn client_auth(&self) -> bool {
        self.extended_key_usage.contains(&"clientAuth")
    }
}

/// `names` (DNS names and IP address texts, as [`crate::ServerSpec::names`] holds them) in
/// the form [`CertFacts::alt_names`] uses, to compare the two.
pub fn alt_names_of(names: &[String]) -> Vec<String> {
    names
        .iter()
        .map(|n| match n.parse::<IpAddr>() {
            Ok(ip) => format!("IP:{ip}"),
            Err(_) => format!("DNS:{n}"),
        })
        .collect()
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
    let alt_names = match cert.subject_alternative_name() {
        Ok(Some(san)) => san
            .value
            .general_names
            .iter()
            .filter_map(|name| match name {
                GeneralName::DNSName(dns) => Some(format!("DNS:{dns}")),
                GeneralName::IPAddress(bytes) => ip_from_bytes(bytes).map(|ip| format!("IP:{ip}")),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    let extended_key_usage = match cert.extended_key_usage() {
        Ok(Some(eku)) => [
            (eku.value.server_auth, "serverAuth"),
            (eku.value.client_auth, "clientAuth"),
        ]
        .into_iter()
        .filter_map(|(set, name)| set.then_some(name))
        .collect(),
        _ => Vec::new(),
    };
    Some(CertFacts {
        attributes,
        not_before: cert.validity().not_before.to_datetime(),
        not_after: cert.validity().not_after.to_datetime(),
        subject: crate::identity::subject_text(cert.subject()),
        issuer: crate::identity::subject_text(cert.issuer()),
        alt_names,
        extended_key_usage,
    })
}

/// An iPAddress entry: 4 bytes for IPv4, 16 for IPv6 (RFC 5280 4.2.1.6).
fn ip_from_bytes(bytes: &[u8]) -> Option<IpAddr> {
    match bytes.len() {
        4 => <[u8; 4]>::try_from(bytes).ok().map(IpAddr::from),
        16 => <[u8; 16]>::try_from(bytes).ok().map(IpAddr::from),
        _ => None,
    }
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
