//! How an organisation's system is named inside a certificate: the OCES3 and FOCES subject
//! shapes, and the deterministic identifiers (UUID, FID) that go into them.

use rcgen::{DistinguishedName, DnType, DnValue};

use crate::cvr::Cvr;

/// X.520 `organizationIdentifier` (2.5.4.97): OCES3 puts `NTRDK-<CVR>` here.
pub const OID_ORGANIZATION_IDENTIFIER: &[u64] = &[2, 5, 4, 97];
/// X.520 `serialNumber` (2.5.4.5): OCES3 puts `UI:DK-O:G:<uuid>` here, FOCES `CVR:<cvr>-FID:<n>`.
pub const OID_SERIAL_NUMBER: &[u64] = &[2, 5, 4, 5];
/// The prefix of an OCES3 `organizationIdentifier`: a national trade register (NTR) number
/// from Denmark (DK), i.e. a CVR number.
pub const ORGANIZATION_IDENTIFIER_PREFIX: &str = "NTRDK-";
/// The prefix of an OCES3 system certificate's `serialNumber`, followed by the system's UUID.
pub const OCES3_SERIAL_PREFIX: &str = "UI:DK-O:G:";

/// Which of the two real Danish organisation-certificate subject layouts to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SubjectShape {
    /// Today's shape (MitID Erhverv / OCES3): CVR in `organizationIdentifier`, a UUID in
    /// `serialNumber`.
    Oces3,
    /// The older FOCES/VOCES shape: CVR and a numeric FID together in `serialNumber`. Still
    /// met in the wild, so the identity code must keep accepting it.
    Foces,
}

/// The subject of one organisation's system certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgSubject {
    /// The organisation's legal name (`O`).
    pub organisation: String,
    /// The organisation's CVR: what every authorisation decision is based on.
    pub cvr: Cvr,
    /// The IT system's name (`CN`): what a human reads in logs.
    pub system_name: String,
    /// OCES3 or FOCES layout.
    pub shape: SubjectShape,
}

impl OrgSubject {
    /// A subject in the OCES3 shape.
    pub fn oces3(organisation: &str, cvr: Cvr, system_name: &str) -> Self {
        OrgSubject {
            organisation: organisation.to_owned(),
            cvr,
            system_name: system_name.to_owned(),
            shape: SubjectShape::Oces3,
        }
    }

    /// The system's UUID: derived from CVR and system name, so that regenerating the PKI
    /// gives every system the same identity again (journals and allow-lists stay valid).
    pub fn uuid(&self) -> String {
        deterministic_uuid(&format!("{}|{}", self.cvr, self.system_name))
    }

    /// The system's FID (FOCES "functional identifier"): 8 digits, derived like [`Self::uuid`].
    pub fn fid(&self) -> String {
        let digest = sha256(format!("fid|{}|{}", self.cvr, self.system_name).as_bytes());
        let n = u64::from_be_bytes(digest[..8].try_into().expect("8 bytes"));
        format!("{:08}", n % 100_000_000)
    }

    /// The `serialNumber` attribute value this shape carries.
    pub fn serial_number(&self) -> String {
        match self.shape {
            SubjectShape::Oces3 => format!("{OCES3_SERIAL_PREFIX}{}", self.uuid()),
            SubjectShape::Foces => format!("CVR:{}-FID:{}", self.cvr, self.fid()),
        }
    }

    /// The `O` attribute: FOCES certificates append ` // CVR:<cvr>` to the name, as the real
    /// ones do; OCES3 keeps the plain name.
    pub fn organisation_attribute(&self) -> String {
        match self.shape {
            SubjectShape::Oces3 => self.organisation.clone(),
            SubjectShape::Foces => format!("{} // CVR:{}", self.organisation, self.cvr),
        }
    }

    /// The attributes in the order they are written, as (OID, value) pairs; used both to
    /// build the certificate and to check that a kept certificate still names the same system.
    pub fn attributes(&self) -> Vec<(&'static [u64], String)> {
        let mut attrs: Vec<(&'static [u64], String)> = vec![
            (OID_COUNTRY, "DK".to_owned()),
            (OID_ORGANISATION, self.organisation_attribute()),
        ];
        if self.shape == SubjectShape::Oces3 {
            attrs.push((
                OID_ORGANIZATION_IDENTIFIER,
                format!("{ORGANIZATION_IDENTIFIER_PREFIX}{}", self.cvr),
            ));
        }
        attrs.push((OID_COMMON_NAME, self.system_name.clone()));
        attrs.push((OID_SERIAL_NUMBER, self.serial_number()));
        attrs
    }
}

/// X.520 countryName.
pub(crate) const OID_COUNTRY: &[u64] = &[2, 5, 4, 6];
/// X.520 organizationName.
pub(crate) const OID_ORGANISATION: &[u64] = &[2, 5, 4, 10];
/// X.520 commonName.
pub(crate) const OID_COMMON_NAME: &[u64] = &[2, 5, 4, 3];

/// Builds an rcgen distinguished name from (OID, value) pairs. `serialNumber` and
/// `countryName` are PrintableString as X.520 requires; everything else is UTF8String.
pub(crate) fn distinguished_name(attrs: &[(&'static [u64], String)]) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    for (oid, value) in attrs {
        let ty = DnType::from_oid(oid);
        let printable = (*oid == OID_SERIAL_NUMBER || *oid == OID_COUNTRY)
            .then(|| rcgen::string::PrintableString::try_from(value.as_str()).ok())
            .flatten();
        match printable {
            Some(p) => dn.push(ty, DnValue::PrintableString(p)),
            None => dn.push(ty, DnValue::Utf8String(value.clone())),
        }
    }
    dn
}

/// A UUID (RFC 9562 version 8, "custom") whose free bits are the first bytes of
/// SHA-256(`seed`). Version 8 says honestly that it is not random; determinism is the point.
pub fn deterministic_uuid(seed: &str) -> String {
    let digest = sha256(format!("sim-certs uuid|{seed}").as_bytes());
    let mut b: [u8; 16] = digest[..16].try_into().expect("16 bytes");
    b[6] = (b[6] & 0x0f) | 0x80; // version 8
    b[8] = (b[8] & 0x3f) | 0x80; // RFC 9562 variant
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// SHA-256 of `data`.
pub(crate) fn sha256(data: &[u8]) -> [u8; 32] {
    ring::digest::digest(&ring::digest::SHA256, data)
        .as_ref()
        .try_into()
        .expect("SHA-256 is 32 bytes")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_is_deterministic_well_formed_and_name_dependent() {
        let a = deterministic_uuid("19435075|KSD");
        assert_eq!(a, deterministic_uuid("19435075|KSD"));
        assert_ne!(a, deterministic_uuid("19435075|Serviceplatformen"));
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "8", "version nibble");
        assert!(matches!(&a[19..20], "8" | "9" | "a" | "b"), "variant bits");
    }

    #[test]
    fn shapes_put_the_cvr_where_real_certificates_do() {
        let cvr = Cvr::new("12345678").unwrap();
        let oces = OrgSubject::oces3("Org A/S", cvr.clone(), "System");
        let attrs = oces.attributes();
        assert!(attrs.contains(&(OID_ORGANIZATION_IDENTIFIER, "NTRDK-12345678".into())));
        assert!(oces.serial_number().starts_with("UI:DK-O:G:"));

        let foces = OrgSubject {
            shape: SubjectShape::Foces,
            ..oces
        };
        assert!(!foces
            .attributes()
            .iter()
            .any(|(oid, _)| *oid == OID_ORGANIZATION_IDENTIFIER));
        let serial = foces.serial_number();
        assert!(serial.starts_with("CVR:12345678-FID:"), "{serial}");
        assert_eq!(serial.len(), "CVR:12345678-FID:".len() + 8);
    }
}
