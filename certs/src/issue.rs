//! Making certificates: the two-level test CA and everything it issues, in memory.
//!
//! Nothing here touches files or the clock: `now` is a parameter, so tests can issue an
//! "expired" certificate deterministically and the store can decide what is still fit.

use std::net::IpAddr;

use rcgen::{
    BasicConstraints, CertificateParams, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use time::{Duration, OffsetDateTime};

use crate::cvr::Cvr;
use crate::subject::{
    distinguished_name, OrgSubject, OID_COMMON_NAME, OID_COUNTRY, OID_ORGANISATION,
};

/// Certificates start this long before `now`, so a peer whose clock is a little behind
/// (another container, a VM) does not see a brand-new certificate as "not yet valid".
pub const BACKDATE: Duration = Duration::hours(1);
/// Root CA lifetime: long enough that nobody regenerates the trust anchor by accident.
pub const ROOT_LIFETIME: Duration = Duration::days(10 * 365);
/// Issuing CA lifetime: shorter than the root, as in real hierarchies.
pub const ISSUING_LIFETIME: Duration = Duration::days(5 * 365);
/// System and server certificate lifetime (OCES3 system certificates live a few years).
pub const LEAF_LIFETIME: Duration = Duration::days(2 * 365);

/// Name of the test root CA: impossible to mistake for a real OCES root.
pub const ROOT_CA_NAME: &str = "SIMULATED TEST ONLY Root CA";
/// Name of the test issuing CA.
pub const ISSUING_CA_NAME: &str = "SIMULATED TEST ONLY Issuing CA 1";
/// Name of the CA behind the "unknown CA" bad certificate: a CA nobody trusts.
pub const UNKNOWN_CA_NAME: &str = "SIMULATED TEST ONLY Unknown Root CA (trusted by nobody)";
/// `O` of the test CAs.
pub const PKI_ORGANISATION: &str = "SIMULATED TEST ONLY PKI - not a real certificate authority";

/// Errors while making or loading certificates.
#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    /// rcgen refused the parameters or could not sign.
    #[error("certificate generation failed: {0}")]
    Rcgen(#[from] rcgen::Error),
    /// A CA given as PEM does not parse or its key does not match.
    #[error("cannot use the CA in {what}: {reason}")]
    BadCa {
        /// Which CA.
        what: &'static str,
        /// Why.
        reason: String,
    },
}

/// A CA that can sign: its certificate and its key.
pub struct Ca {
    /// The CA certificate in PEM.
    pub cert_pem: String,
    /// The CA certificate in DER.
    pub cert_der: Vec<u8>,
    /// The CA key in PKCS#8 PEM: stored so later runs can keep issuing under the same CA.
    pub key_pem: String,
    /// rcgen's signer: subject name, key identifier and key.
    issuer: Issuer<'static, KeyPair>,
}

impl std::fmt::Debug for Ca {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ca").finish_non_exhaustive()
    }
}

impl Ca {
    /// Loads a CA from its PEM certificate and PEM key, checking that they belong together.
    pub fn from_pem(what: &'static str, cert_pem: &str, key_pem: &str) -> Result<Self, PkiError> {
        let bad = |reason: String| PkiError::BadCa { what, reason };
        let key = KeyPair::from_pem(key_pem).map_err(|e| bad(format!("key: {e}")))?;
        let cert_der = crate::pem::first_certificate(cert_pem)
            .ok_or_else(|| bad("no CERTIFICATE block".into()))?;
        if !crate::inspect::key_matches_certificate(&key, &cert_der) {
            return Err(bad("key does not match certificate".into()));
        }
        let issuer = Issuer::from_ca_cert_pem(cert_pem, key)
            .map_err(|e| bad(format!("certificate: {e}")))?;
        let key_pem = issuer.key().serialize_pem();
        Ok(Ca {
            cert_pem: cert_pem.to_owned(),
            cert_der,
            key_pem,
            issuer,
        })
    }

    fn self_signed(params: CertificateParams) -> Result<Self, PkiError> {
        let key = KeyPair::generate()?;
        let cert = params.self_signed(&key)?;
        Ok(Self::assemble(cert, params, key))
    }

    fn signed_by(params: CertificateParams, parent: &Ca) -> Result<Self, PkiError> {
        let key = KeyPair::generate()?;
        let cert = params.signed_by(&key, &parent.issuer)?;
        Ok(Self::assemble(cert, params, key))
    }

    fn assemble(cert: rcgen::Certificate, params: CertificateParams, key: KeyPair) -> Self {
        Ca {
            cert_pem: cert.pem(),
            cert_der: cert.der().to_vec(),
            key_pem: key.serialize_pem(),
            issuer: Issuer::new(params, key),
        }
    }
}

/// One issued end-entity certificate with everything a program needs to present it.
#[derive(Debug, Clone)]
pub struct Issued {
    /// The certificate alone, PEM.
    pub cert_pem: String,
    /// The private key, PKCS#8 PEM.
    pub key_pem: String,
    /// The certificate followed by its intermediate CA(s), PEM: what a TLS peer must send.
    /// The root is left out on purpose: the verifier has it as its trust anchor.
    pub chain_pem: String,
    /// The certificate, DER.
    pub cert_der: Vec<u8>,
    /// The chain (certificate first), DER.
    pub chain_der: Vec<Vec<u8>>,
    /// The private key, PKCS#8 DER.
    pub key_der: Vec<u8>,
    /// Start of validity.
    pub not_before: OffsetDateTime,
    /// End of validity.
    pub not_after: OffsetDateTime,
}

/// The deliberately broken certificates: each is refused for exactly one reason.
///
/// Except where the defect is the CVR itself, each carries a CVR that *is* allowed
/// (the platform's, 19435075), so that only its defect can explain a refusal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BadKind {
    /// Validity ended 30 days before `now`.
    Expired,
    /// Validity starts a year after `now`.
    NotYetValid,
    /// Signed by a CA that no verifier trusts.
    UnknownCa,
    /// Signed by its own key.
    SelfSigned,
    /// A valid chain, but the subject has no CVR anywhere.
    NoCvr,
    /// A valid chain and a well-formed CVR, of an organisation nobody has an agreement with.
    OtherOrganisation,
    /// A valid chain, but the extended key usage allows only serverAuth, not clientAuth.
    NoClientAuthEku,
}

/// The CVR carried by [`BadKind::OtherOrganisation`]: well-formed, allowed by no agreement.
pub const OTHER_ORGANISATION_CVR: &str = "99000099";
/// The CVR carried by the other bad certificates: one that *is* allowed, see [`BadKind`].
pub const BAD_SET_ALLOWED_CVR: &str = "19435075";

impl BadKind {
    /// Every kind, in a stable order.
    pub const ALL: [BadKind; 7] = [
        BadKind::Expired,
        BadKind::NotYetValid,
        BadKind::UnknownCa,
        BadKind::SelfSigned,
        BadKind::NoCvr,
        BadKind::OtherOrganisation,
        BadKind::NoClientAuthEku,
    ];

    /// File stem under `bad/`.
    pub fn stem(self) -> &'static str {
        match self {
            BadKind::Expired => "expired",
            BadKind::NotYetValid => "not-yet-valid",
            BadKind::UnknownCa => "unknown-ca",
            BadKind::SelfSigned => "self-signed",
            BadKind::NoCvr => "no-cvr",
            BadKind::OtherOrganisation => "other-organisation",
            BadKind::NoClientAuthEku => "no-client-auth-eku",
        }
    }

    /// What a correct server does with it, for the manifest and README.
    pub fn expected_refusal(self) -> &'static str {
        match self {
            BadKind::Expired => "refused at the TLS handshake: certificate expired",
            BadKind::NotYetValid => "refused at the TLS handshake: certificate not yet valid",
            BadKind::UnknownCa => "refused at the TLS handshake: issuer not a trusted CA",
            BadKind::SelfSigned => "refused at the TLS handshake: self-signed, issuer unknown",
            BadKind::NoCvr => "refused at the TLS handshake: subject carries no CVR",
            BadKind::OtherOrganisation => {
                "accepted by TLS, refused by authorisation (HTTP 403): CVR has no agreement"
            }
            BadKind::NoClientAuthEku => {
                "refused at the TLS handshake: extended key usage lacks clientAuth"
            }
        }
    }

    /// The subject this bad certificate carries.
    pub fn subject_attributes(self) -> Vec<(&'static [u64], String)> {
        let system = format!("SIMULATED bad certificate: {}", self.stem());
        match self {
            BadKind::NoCvr => vec![
                (OID_COUNTRY, "DK".into()),
                (OID_ORGANISATION, "No CVR Organisation (simulated)".into()),
                (OID_COMMON_NAME, "No CVR system (simulated)".into()),
            ],
            BadKind::OtherOrganisation => OrgSubject::oces3(
                "Uvedkommende ApS (simulated)",
                Cvr::new(OTHER_ORGANISATION_CVR).expect("valid constant"),
                &system,
            )
            .attributes(),
            _ => OrgSubject::oces3(
                "KOMBIT A/S (simulated bad set)",
                Cvr::new(BAD_SET_ALLOWED_CVR).expect("valid constant"),
                &system,
            )
            .attributes(),
        }
    }

    /// The validity window this kind needs at `now`.
    pub fn validity(self, now: OffsetDateTime) -> (OffsetDateTime, OffsetDateTime) {
        match self {
            BadKind::Expired => (now - Duration::days(400), now - Duration::days(30)),
            BadKind::NotYetValid => (now + Duration::days(365), now + Duration::days(730)),
            _ => (now - BACKDATE, now + LEAF_LIFETIME),
        }
    }
}

/// What a server certificate is for: one per program that listens for HTTPS, and one per
/// outside system that takes a seat ([`ServerSpec::for_hosts`]).
///
/// Server certificates carry serverAuth only, never clientAuth: a system that both receives
/// and calls presents its system certificate (with the CVR the platform authorises) when it
/// calls, and this one when it is called. Keeping the two roles apart is what lets the bad
/// set prove that a server-only certificate cannot pass as a caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerSpec {
    /// File stem: the compose service name for the programs' own (`sp`, `ksd`,
    /// `jobcenter`), the slug of the system name for an outside system's.
    pub service: String,
    /// The `CN` and `O` written into it.
    pub common_name: String,
    /// DNS names and IP addresses the certificate is valid for.
    pub names: Vec<String>,
}

impl ServerSpec {
    /// A server certificate for compose service `service`, valid for that name and for
    /// `localhost`, `127.0.0.1` and `::1` (tests and `sim up` on one machine).
    pub fn for_service(service: &str, common_name: &str) -> Self {
        ServerSpec {
            service: service.to_owned(),
            common_name: common_name.to_owned(),
            names: vec![
                "localhost".into(),
                "127.0.0.1".into(),
                "::1".into(),
                service.to_owned(),
            ],
        }
    }

    /// A server certificate for an outside system's HTTPS endpoint (`sim certs issue
    /// --server`): `CN` is `common_name`, the file stem its [`crate::spec::slug`], and it is
    /// valid for exactly the DNS names and IP addresses given, in that order, duplicates
    /// dropped.
    ///
    /// At least one name is required: a server certificate without a subjectAltName matches
    /// no URL (TLS clients ignore the `CN` for host names), so it would be refused at every
    /// handshake. A DNS name must be a host name (letters, digits, `-`, dot-separated labels;
    /// `*` only as the whole leftmost label); an IP address given as a DNS name is refused
    /// instead of being silently turned into an IP entry.
    pub fn for_hosts(
        common_name: &str,
        dns_names: &[String],
        ip_addresses: &[IpAddr],
    ) -> Result<Self, ServerNameError> {
        if dns_names.is_empty() && ip_addresses.is_empty() {
            return Err(ServerNameError::NoNames);
        }
        let mut names: Vec<String> = Vec::new();
        for dns in dns_names {
            if dns.parse::<IpAddr>().is_ok() {
                return Err(ServerNameError::IpAsDns(dns.clone()));
            }
            if !is_dns_name(dns) {
                return Err(ServerNameError::BadDns(dns.clone()));
            }
            names.push(dns.to_ascii_lowercase());
        }
        names.extend(ip_addresses.iter().map(IpAddr::to_string));
        let mut seen = std::collections::HashSet::new();
        names.retain(|n| seen.insert(n.clone()));
        Ok(ServerSpec {
            service: crate::spec::slug(common_name),
            common_name: common_name.to_owned(),
            names,
        })
    }

    /// The subject attributes.
    pub fn attributes(&self) -> Vec<(&'static [u64], String)> {
        vec![
            (OID_COUNTRY, "DK".into()),
            (OID_ORGANISATION, "SIMULATED TEST ONLY servers".into()),
            (OID_COMMON_NAME, self.common_name.clone()),
        ]
    }
}

/// Why [`ServerSpec::for_hosts`] refused the names of a server certificate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ServerNameError {
    /// Neither a DNS name nor an IP address.
    #[error("a server certificate needs at least one DNS name or IP address (--dns NAME, --ip ADDR): TLS clients match the URL's host against these, never against the CN")]
    NoNames,
    /// An IP address given where a DNS name was expected.
    #[error("{0:?} is an IP address: give it with --ip, not --dns")]
    IpAsDns(String),
    /// Not a valid host name.
    #[error("{0:?} is not a DNS host name (dot-separated labels of letters, digits and '-', at most 63 characters each; '*' only as the whole leftmost label)")]
    BadDns(String),
}

/// Whether `name` is a host name a TLS client can match: 1 to 253 characters of
/// dot-separated labels, each 1 to 63 letters, digits or inner `-`, the leftmost possibly `*`
/// (a wildcard, which rustls and browsers accept there only).
fn is_dns_name(name: &str) -> bool {
    let label_ok = |(i, label): (usize, &str)| {
        (i == 0 && label == "*")
            || (!label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-'))
    };
    name.len() <= 253 && name != "*" && name.split('.').enumerate().all(label_ok)
}

/// Which extended key usages an end-entity certificate gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Usage {
    /// A system certificate: identifies a client.
    Client,
    /// A TLS server certificate.
    Server,
}

/// The test root CA and the issuing CA under it (real OCES has the same two levels, and a
/// two-level chain makes peers prove that they send their intermediate).
#[derive(Debug)]
pub struct TestPki {
    /// The trust anchor everybody configures.
    pub root: Ca,
    /// The CA that signs every end-entity certificate.
    pub issuing: Ca,
}

impl TestPki {
    /// Generates a fresh root and issuing CA valid from `now`.
    pub fn generate(now: OffsetDateTime) -> Result<Self, PkiError> {
        let root = Ca::self_signed(ca_params(
            ROOT_CA_NAME,
            now - BACKDATE,
            now + ROOT_LIFETIME,
            None,
        ))?;
        let issuing = Ca::signed_by(
            ca_params(
                ISSUING_CA_NAME,
                now - BACKDATE,
                now + ISSUING_LIFETIME,
                Some(0),
            ),
            &root,
        )?;
        Ok(TestPki { root, issuing })
    }

    /// Issues a system (client) certificate for `subject`, valid from `now`.
    pub fn issue_system(
        &self,
        subject: &OrgSubject,
        now: OffsetDateTime,
    ) -> Result<Issued, PkiError> {
        self.issue_leaf(
            &subject.attributes(),
            &[],
            Usage::Client,
            (now - BACKDATE, now + LEAF_LIFETIME),
        )
    }

    /// Issues a TLS server certificate, valid from `now`.
    pub fn issue_server(&self, spec: &ServerSpec, now: OffsetDateTime) -> Result<Issued, PkiError> {
        self.issue_leaf(
            &spec.attributes(),
            &spec.names,
            Usage::Server,
            (now - BACKDATE, now + LEAF_LIFETIME),
        )
    }

    /// Issues one certificate of the bad set, shaped for `now`.
    pub fn issue_bad(&self, kind: BadKind, now: OffsetDateTime) -> Result<Issued, PkiError> {
        let attrs = kind.subject_attributes();
        let validity = kind.validity(now);
        match kind {
            BadKind::UnknownCa => {
                let unknown = TestPki::generate_unknown_root(now)?;
                let mut issued = issue_leaf_under(&unknown, &attrs, &[], Usage::Client, validity)?;
                // Send the unknown root along: the refusal must come from not trusting it,
                // not from a missing chain.
                issued.chain_pem.push_str(&unknown.cert_pem);
                issued.chain_der.push(unknown.cert_der.clone());
                Ok(issued)
            }
            BadKind::SelfSigned => {
                let key = KeyPair::generate()?;
                let params = leaf_params(&attrs, &[], Usage::Client, validity)?;
                let cert = params.self_signed(&key)?;
                Ok(assemble_leaf(cert, &key, &[], validity))
            }
            BadKind::NoClientAuthEku => self.issue_leaf(&attrs, &[], Usage::Server, validity),
            _ => self.issue_leaf(&attrs, &[], Usage::Client, validity),
        }
    }

    /// Issues a client certificate with arbitrary subject attributes (tests of odd subjects).
    #[cfg(test)]
    pub(crate) fn issue_client_with(
        &self,
        attrs: &[(&'static [u64], String)],
        now: OffsetDateTime,
    ) -> Result<Issued, PkiError> {
        self.issue_leaf(
            attrs,
            &[],
            Usage::Client,
            (now - BACKDATE, now + LEAF_LIFETIME),
        )
    }

    /// A CA that no verifier is configured with.
    fn generate_unknown_root(now: OffsetDateTime) -> Result<Ca, PkiError> {
        Ca::self_signed(ca_params(
            UNKNOWN_CA_NAME,
            now - BACKDATE,
            now + ISSUING_LIFETIME,
            None,
        ))
    }

    fn issue_leaf(
        &self,
        attrs: &[(&'static [u64], String)],
        names: &[String],
        usage: Usage,
        validity: (OffsetDateTime, OffsetDateTime),
    ) -> Result<Issued, PkiError> {
        issue_leaf_under(&self.issuing, attrs, names, usage, validity)
    }
}

fn issue_leaf_under(
    ca: &Ca,
    attrs: &[(&'static [u64], String)],
    names: &[String],
    usage: Usage,
    validity: (OffsetDateTime, OffsetDateTime),
) -> Result<Issued, PkiError> {
    let key = KeyPair::generate()?;
    let params = leaf_params(attrs, names, usage, validity)?;
    let cert = params.signed_by(&key, &ca.issuer)?;
    Ok(assemble_leaf(cert, &key, &[ca], validity))
}

fn assemble_leaf(
    cert: rcgen::Certificate,
    key: &KeyPair,
    intermediates: &[&Ca],
    (not_before, not_after): (OffsetDateTime, OffsetDateTime),
) -> Issued {
    let mut chain_pem = cert.pem();
    let mut chain_der = vec![cert.der().to_vec()];
    for ca in intermediates {
        chain_pem.push_str(&ca.cert_pem);
        chain_der.push(ca.cert_der.clone());
    }
    Issued {
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
        chain_pem,
        cert_der: cert.der().to_vec(),
        chain_der,
        key_der: key.serialize_der(),
        not_before,
        not_after,
    }
}

/// Parameters of a CA certificate; `path_len` `None` for the root, `Some(0)` for the issuing
/// CA (it may sign only end entities).
fn ca_params(
    name: &str,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
    path_len: Option<u8>,
) -> CertificateParams {
    let mut params = CertificateParams::default();
    params.distinguished_name = distinguished_name(&[
        (OID_COUNTRY, "DK".into()),
        (OID_ORGANISATION, PKI_ORGANISATION.into()),
        (OID_COMMON_NAME, name.into()),
    ]);
    params.is_ca = IsCa::Ca(match path_len {
        None => BasicConstraints::Unconstrained,
        Some(n) => BasicConstraints::Constrained(n),
    });
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params.not_before = not_before;
    params.not_after = not_after;
    params.use_authority_key_identifier_extension = path_len.is_some();
    params
}

fn leaf_params(
    attrs: &[(&'static [u64], String)],
    names: &[String],
    usage: Usage,
    (not_before, not_after): (OffsetDateTime, OffsetDateTime),
) -> Result<CertificateParams, PkiError> {
    let mut params = CertificateParams::new(names.to_vec())?;
    params.distinguished_name = distinguished_name(attrs);
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![match usage {
        Usage::Client => ExtendedKeyUsagePurpose::ClientAuth,
        Usage::Server => ExtendedKeyUsagePurpose::ServerAuth,
    }];
    params.not_before = not_before;
    params.not_after = not_after;
    params.use_authority_key_identifier_extension = true;
    Ok(params)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;
    use x509_parser::prelude::{FromDer, X509Certificate};

    const NOW: OffsetDateTime = datetime!(2026-03-01 12:00 UTC);

    #[test]
    fn chain_is_leaf_then_issuing_ca_and_signatures_verify() {
        let pki = TestPki::generate(NOW).unwrap();
        let subject = OrgSubject::oces3("A", Cvr::new("12345678").unwrap(), "S");
        let issued = pki.issue_system(&subject, NOW).unwrap();
        assert_eq!(issued.chain_der.len(), 2);
        assert_eq!(issued.chain_der[1], pki.issuing.cert_der);
        let (_, leaf) = X509Certificate::from_der(&issued.cert_der).unwrap();
        let (_, issuing) = X509Certificate::from_der(&pki.issuing.cert_der).unwrap();
        let (_, root) = X509Certificate::from_der(&pki.root.cert_der).unwrap();
        leaf.verify_signature(Some(issuing.public_key())).unwrap();
        issuing.verify_signature(Some(root.public_key())).unwrap();
        assert!(issuing.is_ca() && root.is_ca() && !leaf.is_ca());
    }

    #[test]
    fn an_outside_server_certificate_is_server_auth_only_with_the_names_given() {
        let pki = TestPki::generate(NOW).unwrap();
        let spec = ServerSpec::for_hosts(
            "Acme Receiver",
            &["Receiver.Acme.test".into(), "*.acme.test".into()],
            &["127.0.0.1".parse().unwrap(), "::1".parse().unwrap()],
        )
        .unwrap();
        assert_eq!(spec.service, "acme-receiver");
        let issued = pki.issue_server(&spec, NOW).unwrap();
        let f = crate::inspect::facts(&issued.cert_der).unwrap();
        assert_eq!(
            f.alt_names,
            [
                "DNS:receiver.acme.test",
                "DNS:*.acme.test",
                "IP:127.0.0.1",
                "IP:::1"
            ]
        );
        assert_eq!(f.extended_key_usage, ["serverAuth"]);
        assert_eq!(issued.chain_der[1], pki.issuing.cert_der);
    }

    #[test]
    fn server_names_are_checked() {
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let spec = |dns: &[&str], ips: &[IpAddr]| {
            let dns: Vec<String> = dns.iter().map(|d| d.to_string()).collect();
            ServerSpec::for_hosts("x", &dns, ips)
        };
        assert_eq!(spec(&[], &[]), Err(ServerNameError::NoNames));
        assert_eq!(spec(&[], &[ip, ip]).unwrap().names, ["10.0.0.1"]);
        assert_eq!(
            spec(&["10.0.0.1"], &[]),
            Err(ServerNameError::IpAsDns("10.0.0.1".into()))
        );
        for bad in [
            "",
            "*",
            "a..b",
            "-a.b",
            "a-.b",
            "a_b.c",
            "a.*.c",
            "ä.dk",
            &"x".repeat(64),
        ] {
            assert_eq!(
                spec(&[bad], &[]),
                Err(ServerNameError::BadDns(bad.into())),
                "{bad:?}"
            );
        }
        for good in ["localhost", "a-b.c", "*.example.test", "x1.y2"] {
            assert!(spec(&[good], &[]).is_ok(), "{good:?}");
        }
    }

    #[test]
    fn bad_validity_windows_are_relative_to_now() {
        let (nb, na) = BadKind::Expired.validity(NOW);
        assert!(nb < na && na < NOW);
        let (nb, _) = BadKind::NotYetValid.validity(NOW);
        assert!(nb > NOW);
    }

    #[test]
    fn ca_round_trips_through_pem() {
        let pki = TestPki::generate(NOW).unwrap();
        let loaded = Ca::from_pem("issuing", &pki.issuing.cert_pem, &pki.issuing.key_pem).unwrap();
        let root = Ca::from_pem("root", &pki.root.cert_pem, &pki.root.key_pem).unwrap();
        let again = TestPki {
            root,
            issuing: loaded,
        };
        let subject = OrgSubject::oces3("A", Cvr::new("12345678").unwrap(), "S");
        let issued = again.issue_system(&subject, NOW).unwrap();
        let (_, leaf) = X509Certificate::from_der(&issued.cert_der).unwrap();
        let (_, issuing) = X509Certificate::from_der(&pki.issuing.cert_der).unwrap();
        leaf.verify_signature(Some(issuing.public_key())).unwrap();
        // A mismatched pair is refused.
        assert!(Ca::from_pem("x", &pki.root.cert_pem, &pki.issuing.key_pem).is_err());
    }
}
