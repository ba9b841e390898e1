//! Who is calling: turning a peer's (already verified) certificate into a [`SystemIdentity`].
//!
//! Denmark's certificate model identifies the calling *IT system* by its certificate, and the
//! organisation behind it by the CVR number in the subject. Two real subject layouts exist and
//! both are accepted (see [`crate::subject`]). A certificate without a CVR identifies nobody
//! the platform could hold an agreement with, so it is refused with a typed error.

use std::fmt;

use x509_parser::prelude::{FromDer, X509Certificate};

use crate::cvr::Cvr;
use crate::subject::{
    sha256, OCES3_SERIAL_PREFIX, OID_COMMON_NAME, OID_ORGANISATION, OID_ORGANIZATION_IDENTIFIER,
    OID_SERIAL_NUMBER, ORGANIZATION_IDENTIFIER_PREFIX,
};

/// The organisation and system behind a certificate, as the platform's rules need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SystemIdentity {
    /// The organisation's CVR: the key of service agreements and routing.
    pub cvr: Cvr,
    /// Which system of that organisation (OCES3 UUID, FOCES FID or UID); journaled so two
    /// systems of one organisation can be told apart.
    pub holder: Holder,
    /// The whole subject, for logs and refusals that a human has to read.
    pub subject: String,
    /// The `O` attribute, if present.
    pub organisation: Option<String>,
    /// The `CN` attribute, if present.
    pub common_name: Option<String>,
    /// Lower-case hex SHA-256 of the certificate DER: pins the exact certificate in journals
    /// (the same system may hold several certificates over time).
    pub fingerprint_sha256: String,
}

/// The system-level identifier found next to the CVR.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Holder {
    /// OCES3 `serialNumber=UI:DK-O:G:<uuid>`.
    Uuid(String),
    /// FOCES `serialNumber=CVR:<cvr>-FID:<digits>`.
    Fid(String),
    /// VOCES-style `serialNumber=CVR:<cvr>-UID:<id>`.
    Uid(String),
    /// The CVR was present but no system identifier: still an organisation certificate.
    Unspecified,
}

impl fmt::Display for Holder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Holder::Uuid(u) => write!(f, "UUID:{u}"),
            Holder::Fid(n) => write!(f, "FID:{n}"),
            Holder::Uid(n) => write!(f, "UID:{n}"),
            Holder::Unspecified => f.write_str("unspecified"),
        }
    }
}

impl SystemIdentity {
    /// The UUID if this is an OCES3 identity.
    pub fn uuid(&self) -> Option<&str> {
        match &self.holder {
            Holder::Uuid(u) => Some(u),
            _ => None,
        }
    }
}

/// Why a certificate does not identify an organisation's system.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    /// Not a parsable X.509 certificate.
    #[error("not a parsable X.509 certificate: {0}")]
    Unparsable(String),
    /// Neither `organizationIdentifier=NTRDK-…` nor `serialNumber=CVR:…` is present.
    #[error("certificate carries no CVR (no organizationIdentifier NTRDK-<CVR>, no serialNumber CVR:<CVR>-FID:/UID:); subject: {subject}")]
    NoCvr {
        /// The subject, for the log line.
        subject: String,
    },
    /// A CVR-bearing attribute is present but malformed (e.g. `NTRDK-1234`).
    #[error("malformed {attribute} {value:?} in certificate subject")]
    Malformed {
        /// Which attribute.
        attribute: &'static str,
        /// Its value.
        value: String,
    },
    /// The two places disagree about the CVR: such a certificate cannot be attributed.
    #[error("organizationIdentifier says CVR {organization_identifier} but serialNumber says CVR {serial_number}")]
    ConflictingCvr {
        /// From `organizationIdentifier`.
        organization_identifier: Cvr,
        /// From `serialNumber`.
        serial_number: Cvr,
    },
}

/// Reads the [`SystemIdentity`] from a DER certificate.
///
/// This does **not** verify the certificate (chain, validity, key usage): callers pass a
/// certificate that their TLS stack already verified. Keeping the two apart lets the same
/// function serve the mTLS server, the CLI's manifest and tests.
pub fn identify(der: &[u8]) -> Result<SystemIdentity, IdentityError> {
    let (_, cert) =
        X509Certificate::from_der(der).map_err(|e| IdentityError::Unparsable(e.to_string()))?;
    let subject_name = cert.subject();
    let subject = subject_text(subject_name);

    let mut organisation = None;
    let mut common_name = None;
    let mut cvr_from_org_id: Option<Cvr> = None;
    let mut from_serial: Option<(Option<Cvr>, Holder)> = None;

    for attr in subject_name.iter_attributes() {
        let oid = attr.attr_type().to_id_string();
        let Ok(value) = attr.as_str() else { continue };
        if oid == oid_text(OID_ORGANISATION) {
            organisation = Some(value.to_owned());
        } else if oid == oid_text(OID_COMMON_NAME) {
            common_name = Some(value.to_owned());
        } else if oid == oid_text(OID_ORGANIZATION_IDENTIFIER) {
            if let Some(rest) = value.strip_prefix(ORGANIZATION_IDENTIFIER_PREFIX) {
                cvr_from_org_id = Some(Cvr::new(rest).map_err(|_| IdentityError::Malformed {
                    attribute: "organizationIdentifier",
                    value: value.to_owned(),
                })?);
            }
            // Another country's register (NTRSE-…) is not a CVR; ignore it.
        } else if oid == oid_text(OID_SERIAL_NUMBER) {
            if let Some(parsed) = parse_serial_number(value)? {
                from_serial = Some(parsed);
            }
        }
    }

    let (serial_cvr, holder) = from_serial.unwrap_or((None, Holder::Unspecified));
    let cvr = match (cvr_from_org_id, serial_cvr) {
        (Some(a), Some(b)) if a != b => {
            return Err(IdentityError::ConflictingCvr {
                organization_identifier: a,
                serial_number: b,
            })
        }
        (Some(a), _) => a,
        (None, Some(b)) => b,
        (None, None) => return Err(IdentityError::NoCvr { subject }),
    };

    Ok(SystemIdentity {
        cvr,
        holder,
        subject,
        organisation,
        common_name,
        fingerprint_sha256: hex(&sha256(der)),
    })
}

/// Parses a `serialNumber` value: `UI:DK-O:G:<uuid>` gives a UUID (no CVR), `CVR:<cvr>-FID:<n>`
/// or `CVR:<cvr>-UID:<id>` give CVR and holder. Other values (a person's serial, say) are
/// not ours to interpret and give `None`.
fn parse_serial_number(value: &str) -> Result<Option<(Option<Cvr>, Holder)>, IdentityError> {
    let malformed = || IdentityError::Malformed {
        attribute: "serialNumber",
        value: value.to_owned(),
    };
    if let Some(uuid) = value.strip_prefix(OCES3_SERIAL_PREFIX) {
        if !is_uuid(uuid) {
            return Err(malformed());
        }
        return Ok(Some((None, Holder::Uuid(uuid.to_ascii_lowercase()))));
    }
    if let Some(rest) = value.strip_prefix("CVR:") {
        let (cvr, tail) = rest.split_once('-').ok_or_else(malformed)?;
        let cvr = Cvr::new(cvr).map_err(|_| malformed())?;
        let holder = if let Some(fid) = tail.strip_prefix("FID:") {
            if fid.is_empty() || !fid.bytes().all(|b| b.is_ascii_digit()) {
                return Err(malformed());
            }
            Holder::Fid(fid.to_owned())
        } else if let Some(uid) = tail.strip_prefix("UID:") {
            if uid.is_empty() {
                return Err(malformed());
            }
            Holder::Uid(uid.to_owned())
        } else {
            return Err(malformed());
        };
        return Ok(Some((Some(cvr), holder)));
    }
    Ok(None)
}

/// `8-4-4-4-12` hex digits.
fn is_uuid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The subject as RFC 4514-like text, with `organizationIdentifier` named (x509-parser
/// prints unknown attribute types as `OID(2.5.4.97)`, which nobody recognises in a log).
pub fn subject_text(name: &x509_parser::x509::X509Name<'_>) -> String {
    name.to_string()
        .replace("OID(2.5.4.97)=", "organizationIdentifier=")
}

/// Dotted text of an OID, as x509-parser prints it.
fn oid_text(oid: &[u64]) -> String {
    oid.iter().map(u64::to_string).collect::<Vec<_>>().join(".")
}

/// Lower-case hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::issue::{BadKind, TestPki};
    use crate::subject::{OrgSubject, SubjectShape};
    use time::macros::datetime;

    fn pki() -> TestPki {
        TestPki::generate(datetime!(2026-03-01 12:00 UTC)).unwrap()
    }

    fn check_serial(value: &str, expected: Result<Option<(Option<&str>, Holder)>, ()>) {
        let got = parse_serial_number(value)
            .map(|o| o.map(|(c, h)| (c.map(|c| c.as_str().to_owned()), h)))
            .map_err(|_| ());
        let expected = expected.map(|o| o.map(|(c, h)| (c.map(str::to_owned), h)));
        assert_eq!(got, expected, "serialNumber {value:?}");
    }

    #[test]
    fn serial_number_forms() {
        let u = "0b6e4f7c-1a2b-8c3d-9e4f-001122334455";
        check_serial(
            &format!("UI:DK-O:G:{u}"),
            Ok(Some((None, Holder::Uuid(u.into())))),
        );
        check_serial(
            "CVR:12345678-FID:87654321",
            Ok(Some((Some("12345678"), Holder::Fid("87654321".into())))),
        );
        check_serial(
            "CVR:12345678-UID:abc-1",
            Ok(Some((Some("12345678"), Holder::Uid("abc-1".into())))),
        );
        check_serial("PID:9208-2002-2-123", Ok(None));
        check_serial("UI:DK-O:G:not-a-uuid", Err(()));
        check_serial("CVR:1234567-FID:1", Err(()));
        check_serial("CVR:12345678-FID:12a", Err(()));
        check_serial("CVR:12345678", Err(()));
    }

    #[test]
    fn identifies_an_oces3_system_certificate() {
        let pki = pki();
        let subject = OrgSubject::oces3(
            "KOMBIT A/S",
            Cvr::new("19435075").unwrap(),
            "KSD (simulated)",
        );
        let issued = pki
            .issue_system(&subject, datetime!(2026-03-01 12:00 UTC))
            .unwrap();
        let id = identify(&issued.cert_der).unwrap();
        assert_eq!(id.cvr.as_str(), "19435075");
        assert_eq!(id.holder, Holder::Uuid(subject.uuid()));
        assert_eq!(id.uuid(), Some(subject.uuid().as_str()));
        assert_eq!(id.organisation.as_deref(), Some("KOMBIT A/S"));
        assert_eq!(id.common_name.as_deref(), Some("KSD (simulated)"));
        assert_eq!(id.fingerprint_sha256, hex(&sha256(&issued.cert_der)));
        assert_eq!(id.fingerprint_sha256.len(), 64);
    }

    #[test]
    fn identifies_a_legacy_foces_certificate() {
        let pki = pki();
        let subject = OrgSubject {
            shape: SubjectShape::Foces,
            ..OrgSubject::oces3("Vendor ApS", Cvr::new("99000011").unwrap(), "JC system")
        };
        let issued = pki
            .issue_system(&subject, datetime!(2026-03-01 12:00 UTC))
            .unwrap();
        let id = identify(&issued.cert_der).unwrap();
        assert_eq!(id.cvr.as_str(), "99000011");
        assert_eq!(id.holder, Holder::Fid(subject.fid()));
        assert_eq!(
            id.organisation.as_deref(),
            Some("Vendor ApS // CVR:99000011")
        );
    }

    #[test]
    fn refuses_a_certificate_without_cvr() {
        let pki = pki();
        let issued = pki
            .issue_bad(BadKind::NoCvr, datetime!(2026-03-01 12:00 UTC))
            .unwrap();
        match identify(&issued.cert_der) {
            Err(IdentityError::NoCvr { subject }) => {
                assert!(subject.contains("No CVR"), "{subject}")
            }
            other => panic!("expected NoCvr, got {other:?}"),
        }
    }

    #[test]
    fn odd_subjects() {
        use crate::subject::{OID_COMMON_NAME, OID_ORGANIZATION_IDENTIFIER, OID_SERIAL_NUMBER};
        let pki = pki();
        let now = datetime!(2026-03-01 12:00 UTC);
        let check = |attrs: &[(&'static [u64], &str)]| {
            let attrs: Vec<_> = attrs.iter().map(|(o, v)| (*o, v.to_string())).collect();
            identify(&pki.issue_client_with(&attrs, now).unwrap().cert_der)
        };
        let cn = (OID_COMMON_NAME, "x");

        // organizationIdentifier alone is enough for a CVR.
        let id = check(&[cn, (OID_ORGANIZATION_IDENTIFIER, "NTRDK-11111111")]).unwrap();
        assert_eq!(
            (id.cvr.as_str(), id.holder),
            ("11111111", Holder::Unspecified)
        );
        assert!(
            id.subject.contains("organizationIdentifier=NTRDK-11111111"),
            "{}",
            id.subject
        );
        // VOCES-style UID.
        let id = check(&[cn, (OID_SERIAL_NUMBER, "CVR:22222222-UID:abc")]).unwrap();
        assert_eq!(id.holder, Holder::Uid("abc".into()));
        // Both places, agreeing.
        assert!(check(&[
            (OID_ORGANIZATION_IDENTIFIER, "NTRDK-22222222"),
            (OID_SERIAL_NUMBER, "CVR:22222222-FID:1")
        ])
        .is_ok());
        // Both places, disagreeing.
        assert!(matches!(
            check(&[
                (OID_ORGANIZATION_IDENTIFIER, "NTRDK-11111111"),
                (OID_SERIAL_NUMBER, "CVR:22222222-FID:1")
            ]),
            Err(IdentityError::ConflictingCvr { .. })
        ));
        // A Danish register prefix with a broken number.
        assert!(matches!(
            check(&[cn, (OID_ORGANIZATION_IDENTIFIER, "NTRDK-1234")]),
            Err(IdentityError::Malformed {
                attribute: "organizationIdentifier",
                ..
            })
        ));
        // Another country's register is not a CVR.
        assert!(matches!(
            check(&[cn, (OID_ORGANIZATION_IDENTIFIER, "NTRSE-5560000000")]),
            Err(IdentityError::NoCvr { .. })
        ));
    }

    #[test]
    fn refuses_garbage() {
        assert!(matches!(
            identify(b"not a certificate"),
            Err(IdentityError::Unparsable(_))
        ));
    }
}
