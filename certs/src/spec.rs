//! What the test PKI contains: the standard systems of the ecosystem, the vendor instances
//! handed in by the caller, and the per-program server certificates.
//!
//! Server certificates are separate from system certificates on purpose: real OCES system
//! certificates identify a *client*; a program's HTTPS endpoint has a host-name certificate.
//! Keeping the roles apart also lets the bad set prove that a server-only certificate
//! (no clientAuth) cannot be used as a caller identity.

use crate::cvr::{Cvr, CvrError};
use crate::issue::ServerSpec;
use crate::subject::{OrgSubject, SubjectShape};

/// KOMBIT's CVR: KOMBIT runs the platform and KSD, so all three share it.
pub const KOMBIT_CVR: &str = "19435075";

/// One jobcenter vendor solution instance (a row of the scenario's vendor list).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VendorInstance {
    /// Short, file-name-safe id (`kmd-jc`): also the certificate's file stem.
    pub instance: String,
    /// The vendor organisation (`O`).
    pub vendor: String,
    /// The vendor's CVR.
    pub cvr: Cvr,
    /// The system's display name (`CN`).
    pub name: String,
}

/// A malformed vendor list.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    /// A row does not have the four columns.
    #[error("vendor list line {line}: expected 4 columns instance,vendor,cvr,name, got {got:?}")]
    Columns {
        /// 1-based line number.
        line: usize,
        /// The line.
        got: String,
    },
    /// The CVR column is not 8 digits.
    #[error("vendor list line {line}: {source}")]
    Cvr {
        /// 1-based line number.
        line: usize,
        /// The CVR error.
        source: CvrError,
    },
    /// The instance id would not be a safe file name.
    #[error(
        "vendor list line {line}: instance {instance:?} must be lower-case letters, digits and '-'"
    )]
    Instance {
        /// 1-based line number.
        line: usize,
        /// The id.
        instance: String,
    },
}

/// Parses the vendor list text (`instance,vendor,cvr,name` with a header line). Takes text,
/// not a path: the caller decides where the list comes from (embedded, a scenario file).
pub fn parse_vendors_csv(text: &str) -> Result<Vec<VendorInstance>, SpecError> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate().skip(1) {
        let line = i + 1;
        if raw.trim().is_empty() {
            continue;
        }
        let cols: Vec<&str> = raw.splitn(4, ',').map(str::trim).collect();
        let [instance, vendor, cvr, name] = cols[..] else {
            return Err(SpecError::Columns {
                line,
                got: raw.to_owned(),
            });
        };
        if !is_stem(instance) {
            return Err(SpecError::Instance {
                line,
                instance: instance.to_owned(),
            });
        }
        let cvr = Cvr::new(cvr).map_err(|source| SpecError::Cvr { line, source })?;
        out.push(VendorInstance {
            instance: instance.to_owned(),
            vendor: vendor.to_owned(),
            cvr,
            name: name.to_owned(),
        });
    }
    Ok(out)
}

/// Whether `s` is a safe file stem: non-empty, `[a-z0-9-]`.
pub fn is_stem(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// Turns a display name into a file stem (`"Acme Jobcenter 2"` → `acme-jobcenter-2`).
pub fn slug(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    let trimmed = out.trim_end_matches('-').to_owned();
    if trimmed.is_empty() {
        "system".to_owned()
    } else {
        trimmed
    }
}

/// One organisation system certificate to hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SystemEntry {
    /// File stem.
    pub stem: String,
    /// What the system is, for the manifest ("the platform", "jobcenter vendor instance").
    pub role: String,
    /// The subject.
    pub subject: OrgSubject,
}

/// Everything `sim certs` generates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PkiSpec {
    /// Organisation system (client) certificates, OCES3 shape.
    pub systems: Vec<SystemEntry>,
    /// Whether to also issue each system in the legacy FOCES shape (under `legacy/`).
    pub legacy: bool,
    /// Per-program TLS server certificates.
    pub servers: Vec<ServerSpec>,
}

impl PkiSpec {
    /// The ecosystem's standard set: KOMBIT, the platform, KSD, one per vendor instance, and
    /// server certificates for the programs (`sp`, `ksd`, `jobcenter`, `star`).
    pub fn standard(vendors: &[VendorInstance], legacy: bool) -> Self {
        let kombit = Cvr::new(KOMBIT_CVR).expect("valid constant");
        let mut systems = vec![
            SystemEntry {
                stem: "kombit".into(),
                role: "KOMBIT: the organisation behind the platform and KSD".into(),
                subject: OrgSubject::oces3("KOMBIT A/S", kombit.clone(), "KOMBIT (simulated)"),
            },
            SystemEntry {
                stem: "serviceplatformen".into(),
                role: "the platform (Serviceplatformen) calling KSD and the jobcenters".into(),
                subject: OrgSubject::oces3(
                    "KOMBIT A/S",
                    kombit.clone(),
                    "Serviceplatformen (simulated)",
                ),
            },
            SystemEntry {
                stem: "ksd".into(),
                role: "KSD calling the platform".into(),
                subject: OrgSubject::oces3(
                    "KOMBIT A/S",
                    kombit,
                    "KSD Sygedagpengesystem (simulated)",
                ),
            },
        ];
        for v in vendors {
            systems.push(SystemEntry {
                stem: v.instance.clone(),
                role: format!(
                    "jobcenter solution of vendor {} calling the platform",
                    v.vendor
                ),
                subject: OrgSubject::oces3(&v.vendor, v.cvr.clone(), &v.name),
            });
        }
        let servers = vec![
            ServerSpec::for_service("sp", "sp - Serviceplatformen (simulated) HTTPS"),
            ServerSpec::for_service("ksd", "ksd - KSD (simulated) HTTPS"),
            ServerSpec::for_service(
                "jobcenter",
                "jobcenter - vendor solutions (simulated) HTTPS",
            ),
            // SF1612: the platform's job calls STAR (DFDG); STAR is seat-able like the others,
            // so it has its own server certificate.
            ServerSpec::for_service("star", "star - STAR DFDG (simulated) HTTPS"),
        ];
        PkiSpec {
            systems,
            legacy,
            servers,
        }
    }

    /// The FOCES twin of a system entry.
    pub fn legacy_of(entry: &SystemEntry) -> SystemEntry {
        SystemEntry {
            stem: entry.stem.clone(),
            role: format!("{} (legacy FOCES subject)", entry.role),
            subject: OrgSubject {
                shape: SubjectShape::Foces,
                ..entry.subject.clone()
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_vendor_list() {
        let text = "instance,vendor,cvr,name\nkmd-jc,KMD,99000011,KMD Momentum, simulated\n\n";
        let v = parse_vendors_csv(text).unwrap();
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].instance, "kmd-jc");
        assert_eq!(v[0].cvr.as_str(), "99000011");
        assert_eq!(v[0].name, "KMD Momentum, simulated");
        assert!(parse_vendors_csv("h\nx,y,123,z").is_err());
        assert!(parse_vendors_csv("h\nBad Id,y,12345678,z").is_err());
        assert!(parse_vendors_csv("h\nonly,two").is_err());
    }

    #[test]
    fn slugs() {
        assert_eq!(slug("Acme Jobcenter 2"), "acme-jobcenter-2");
        assert_eq!(slug("  --Æble A/S-- "), "ble-a-s");
        assert_eq!(slug("!!!"), "system");
    }
}
