//! The PKI on disk: where each file goes, keeping what is still fit, and the
//! `manifest.json` / `README.txt` that say what every file is.
//!
//! Idempotency rule: a file set is kept when it parses, its key matches, it names the
//! expected subject, it is signed by the current issuing CA (or, for the bad set, shaped the
//! intended bad way) and its validity still fits its purpose at `now`. Anything else is
//! re-issued, and the reason is reported. `force` re-issues everything, CAs included.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use rcgen::KeyPair;
use serde::Serialize;
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

use crate::identity::{hex, identify, Holder};
use crate::inspect::{alt_names_of, facts, key_matches_certificate, signed_by, subject_is};
use crate::issue::{BadKind, Ca, PkiError, ServerSpec, TestPki};
use crate::p12::{to_pkcs12, P12Error};
use crate::pem;
use crate::spec::{PkiSpec, SystemEntry};
use crate::subject::{sha256, OrgSubject};

/// A kept certificate must stay valid at least this long, or it is renewed now rather than
/// expiring in the middle of a long simulation run.
pub const RENEW_MARGIN: Duration = Duration::days(30);

/// Default password of written PKCS#12 files (test material only; say so in the README).
pub const DEFAULT_P12_PASSWORD: &str = "simulated";

/// The three files of one certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Files {
    /// `<stem>.cert.pem`: the certificate alone.
    pub cert: PathBuf,
    /// `<stem>.key.pem`: its PKCS#8 private key (mode 0600 on Unix).
    pub key: PathBuf,
    /// `<stem>.chain.pem`: certificate then issuing CA: what to present in TLS.
    pub chain: PathBuf,
}

/// Where things live inside a certificate directory. Programs use these to find their files
/// instead of repeating path strings.
pub mod layout {
    use super::Files;
    use std::path::{Path, PathBuf};

    /// The trust anchor: the only file a peer needs to trust this PKI.
    pub fn root_ca(dir: &Path) -> PathBuf {
        dir.join("ca/root.cert.pem")
    }
    /// The issuing CA certificate (peers send it in their chains).
    pub fn issuing_ca(dir: &Path) -> PathBuf {
        dir.join("ca/issuing.cert.pem")
    }
    /// A system (client) certificate, e.g. `system(dir, "ksd")`.
    pub fn system(dir: &Path, stem: &str) -> Files {
        files(dir, "systems", stem)
    }
    /// A legacy FOCES-shaped system certificate.
    pub fn legacy(dir: &Path, stem: &str) -> Files {
        files(dir, "legacy", stem)
    }
    /// A program's TLS server certificate (`sp`, `ksd`, `jobcenter`).
    pub fn server(dir: &Path, service: &str) -> Files {
        files(dir, "servers", service)
    }
    /// A certificate of the bad set, by [`crate::BadKind::stem`].
    pub fn bad(dir: &Path, stem: &str) -> Files {
        files(dir, "bad", stem)
    }
    pub(super) fn ca_files(dir: &Path, stem: &str) -> (PathBuf, PathBuf) {
        let f = files(dir, "ca", stem);
        (f.cert, f.key)
    }
    pub(super) fn files(dir: &Path, sub: &str, stem: &str) -> Files {
        let base = if sub.is_empty() {
            dir.to_path_buf()
        } else {
            dir.join(sub)
        };
        Files {
            cert: base.join(format!("{stem}.cert.pem")),
            key: base.join(format!("{stem}.key.pem")),
            chain: base.join(format!("{stem}.chain.pem")),
        }
    }
}

/// What happened to one file set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// The existing files were fit and left untouched.
    Kept,
    /// There were no files; new ones were written.
    Created,
    /// Files existed but were not fit (or `force`); new ones were written.
    Replaced {
        /// Why the old ones were not kept.
        reason: String,
    },
}

/// One line of a run's report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportLine {
    /// Which file set (`ca/root`, `systems/ksd`, `bad/expired` …).
    pub id: String,
    /// What was done.
    pub action: Action,
}

/// What a run did, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// One line per file set.
    pub lines: Vec<ReportLine>,
}

impl Report {
    /// Whether nothing had to be (re)written.
    pub fn all_kept(&self) -> bool {
        self.lines.iter().all(|l| l.action == Action::Kept)
    }
}

/// Errors while storing the PKI.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// Which file.
        path: PathBuf,
        /// The IO error.
        source: std::io::Error,
    },
    /// Certificate generation failed.
    #[error(transparent)]
    Pki(#[from] PkiError),
    /// PKCS#12 export failed.
    #[error(transparent)]
    P12(#[from] P12Error),
    /// The CA files are missing or unusable (for operations that must not create a CA).
    #[error("no usable test CA in {dir}: {reason} (run `sim certs` first)")]
    NoCa {
        /// The directory.
        dir: PathBuf,
        /// Why.
        reason: String,
    },
}

/// Makes sure `dir` holds the whole PKI described by `spec`, valid at `now`.
pub fn ensure(
    dir: &Path,
    spec: &PkiSpec,
    now: OffsetDateTime,
    force: bool,
) -> Result<Report, StoreError> {
    let mut report = Report::default();
    let pki = ensure_ca(dir, now, force, &mut report)?;

    let mut items = Vec::new();
    for s in &spec.servers {
        items.push(Item::server(
            format!("servers/{}", s.service),
            layout::server(dir, &s.service),
            s,
            format!(
                "TLS server certificate (serverAuth) of program `{}`, valid for {}",
                s.service,
                s.names.join(", ")
            ),
        ));
    }
    for e in &spec.systems {
        items.push(Item::system(layout::system(dir, &e.stem), "systems", e));
    }
    if spec.legacy {
        for e in &spec.systems {
            let legacy = PkiSpec::legacy_of(e);
            items.push(Item::system(
                layout::legacy(dir, &e.stem),
                "legacy",
                &legacy,
            ));
        }
    }
    for kind in BadKind::ALL {
        items.push(Item::bad(dir, kind));
    }

    let mut entries = vec![
        ManifestEntry::ca(
            dir,
            "ca/root",
            "trust anchor: the only file a peer must trust",
            &pki.root.cert_der,
        ),
        ManifestEntry::ca(
            dir,
            "ca/issuing",
            "issuing CA: signs every certificate below; peers send it in their chain",
            &pki.issuing.cert_der,
        ),
    ];
    for item in &items {
        let (der, action) = item.ensure(&pki, now, force)?;
        report.lines.push(ReportLine {
            id: item.id.clone(),
            action,
        });
        entries.push(ManifestEntry::leaf(dir, item, &der, None));
    }
    write_descriptions(dir, &entries)?;
    Ok(report)
}

/// Loads the CA pair from `dir` without creating anything; fails unless it is fit at `now`.
pub fn load_ca(dir: &Path, now: OffsetDateTime) -> Result<TestPki, StoreError> {
    load_fit_ca(dir, now).map_err(|reason| StoreError::NoCa {
        dir: dir.to_path_buf(),
        reason,
    })
}

/// Issues (or keeps, when still fit) the system certificate `entry` into `out`, with a copy
/// of the trust anchor, a PKCS#12 (`<stem>.p12`, protected by `p12_password`) and a manifest:
/// everything a vendor needs to run its own system against the simulator.
pub fn issue_into(
    pki: &TestPki,
    out: &Path,
    entry: &SystemEntry,
    now: OffsetDateTime,
    force: bool,
    p12_password: &str,
) -> Result<Report, StoreError> {
    let item = Item::system(layout::files(out, "", &entry.stem), "", entry);
    write_kit(pki, out, &item, now, force, p12_password)
}

/// Issues (or keeps, when still fit) the TLS server certificate `spec` into `out`, as
/// [`issue_into`] does a system certificate: PEM (certificate, chain, key), PKCS#12, the
/// trust anchor and a manifest. For an outside system that takes a seat: the platform calls
/// its HTTPS endpoint and checks this certificate against the simulator's root and the URL's
/// host. It is kept only while it is still valid for exactly `spec.names`.
pub fn issue_server_into(
    pki: &TestPki,
    out: &Path,
    spec: &ServerSpec,
    now: OffsetDateTime,
    force: bool,
    p12_password: &str,
) -> Result<Report, StoreError> {
    let item = Item::server(
        spec.service.clone(),
        layout::files(out, "", &spec.service),
        spec,
        format!(
            "TLS server certificate (serverAuth only, not a caller identity) of your system's \
             HTTPS endpoint `{}`",
            spec.common_name,
        ),
    );
    write_kit(pki, out, &item, now, force, p12_password)
}

/// The kit of [`issue_into`] and [`issue_server_into`]: the item's three PEM files, a PKCS#12
/// named after its file stem, `root-ca.cert.pem`, `manifest.json` and `README.txt`.
fn write_kit(
    pki: &TestPki,
    out: &Path,
    item: &Item,
    now: OffsetDateTime,
    force: bool,
    p12_password: &str,
) -> Result<Report, StoreError> {
    let (der, action) = item.ensure(pki, now, force)?;
    let stem = item.id.as_str();
    let p12_path = out.join(format!("{stem}.p12"));
    if action != Action::Kept || !p12_path.exists() {
        let key_der = KeyPair::from_pem(&read(&item.files.key)?)
            .map_err(PkiError::from)?
            .serialize_der();
        let chain = pem::certificates(&read(&item.files.chain)?);
        write_file(
            &p12_path,
            &to_pkcs12(&key_der, &chain, stem, p12_password)?,
            true,
        )?;
    }
    write_if_changed(
        &out.join("root-ca.cert.pem"),
        pki.root.cert_pem.as_bytes(),
        false,
    )?;
    let entries = vec![
        ManifestEntry::ca(
            out,
            "root-ca",
            "trust anchor: trust this to accept the simulator's servers, and the platform's \
             client certificate when it calls your endpoint",
            &pki.root.cert_der,
        ),
        ManifestEntry::leaf(out, item, &der, Some(p12_path)),
    ];
    write_descriptions(out, &entries)?;
    Ok(Report {
        lines: vec![ReportLine {
            id: item.id.clone(),
            action,
        }],
    })
}

fn ensure_ca(
    dir: &Path,
    now: OffsetDateTime,
    force: bool,
    report: &mut Report,
) -> Result<TestPki, StoreError> {
    let (root_cert, _) = layout::ca_files(dir, "root");
    let existed = root_cert.exists();
    let reason = if force {
        "--force".to_owned()
    } else {
        match load_fit_ca(dir, now) {
            Ok(pki) => {
                for id in ["ca/root", "ca/issuing"] {
                    report.lines.push(ReportLine {
                        id: id.into(),
                        action: Action::Kept,
                    });
                }
                return Ok(pki);
            }
            Err(reason) => reason,
        }
    };
    let pki = TestPki::generate(now)?;
    for (stem, ca) in [("root", &pki.root), ("issuing", &pki.issuing)] {
        let (cert, key) = layout::ca_files(dir, stem);
        write_file(&key, ca.key_pem.as_bytes(), true)?;
        write_file(&cert, ca.cert_pem.as_bytes(), false)?;
        report.lines.push(ReportLine {
            id: format!("ca/{stem}"),
            action: if existed {
                Action::Replaced {
                    reason: reason.clone(),
                }
            } else {
                Action::Created
            },
        });
    }
    Ok(pki)
}

fn load_fit_ca(dir: &Path, now: OffsetDateTime) -> Result<TestPki, String> {
    let load = |stem: &'static str| -> Result<Ca, String> {
        let (cert, key) = layout::ca_files(dir, stem);
        let cert_pem = fs::read_to_string(&cert).map_err(|_| format!("{stem} CA missing"))?;
        let key_pem = fs::read_to_string(&key).map_err(|_| format!("{stem} CA key missing"))?;
        let ca = Ca::from_pem(stem, &cert_pem, &key_pem).map_err(|e| e.to_string())?;
        let f = facts(&ca.cert_der).ok_or(format!("{stem} CA unparsable"))?;
        fits_now(&f, now).map_err(|r| format!("{stem} CA {r}"))?;
        Ok(ca)
    };
    let root = load("root")?;
    let issuing = load("issuing")?;
    if !signed_by(&root.cert_der, &root.cert_der) {
        return Err("root CA is not self-signed".into());
    }
    if !signed_by(&issuing.cert_der, &root.cert_der) {
        return Err("issuing CA is not signed by the root CA".into());
    }
    Ok(TestPki { root, issuing })
}

/// A good certificate is fit when it is valid now and for [`RENEW_MARGIN`] longer.
fn fits_now(f: &crate::inspect::CertFacts, now: OffsetDateTime) -> Result<(), String> {
    if f.not_before > now {
        Err("not yet valid".into())
    } else if f.not_after <= now + RENEW_MARGIN {
        Err(format!("expires within {} days", RENEW_MARGIN.whole_days()))
    } else {
        Ok(())
    }
}

/// What kind of certificate an item holds.
#[derive(Debug, Clone)]
enum ItemKind {
    System(OrgSubject),
    Server(ServerSpec),
    Bad(BadKind),
}

/// One file set that should exist.
#[derive(Debug, Clone)]
struct Item {
    id: String,
    files: Files,
    kind: ItemKind,
    purpose: String,
}

impl Item {
    fn system(files: Files, sub: &str, e: &SystemEntry) -> Self {
        Item {
            id: if sub.is_empty() {
                e.stem.clone()
            } else {
                format!("{sub}/{}", e.stem)
            },
            files,
            kind: ItemKind::System(e.subject.clone()),
            purpose: format!("system certificate (client, clientAuth): {}", e.role),
        }
    }

    fn server(id: String, files: Files, s: &ServerSpec, purpose: String) -> Self {
        Item {
            id,
            files,
            kind: ItemKind::Server(s.clone()),
            purpose,
        }
    }

    fn bad(dir: &Path, kind: BadKind) -> Self {
        Item {
            id: format!("bad/{}", kind.stem()),
            files: layout::bad(dir, kind.stem()),
            kind: ItemKind::Bad(kind),
            purpose: format!(
                "deliberately bad client certificate; {}",
                kind.expected_refusal()
            ),
        }
    }

    fn expected_attributes(&self) -> Vec<(&'static [u64], String)> {
        match &self.kind {
            ItemKind::System(s) => s.attributes(),
            ItemKind::Server(s) => s.attributes(),
            ItemKind::Bad(k) => k.subject_attributes(),
        }
    }

    /// Keeps or (re)writes the files; returns the certificate DER now on disk.
    fn ensure(
        &self,
        pki: &TestPki,
        now: OffsetDateTime,
        force: bool,
    ) -> Result<(Vec<u8>, Action), StoreError> {
        let existed = self.files.cert.exists();
        let reason = if force {
            "--force".to_owned()
        } else {
            match self.check(pki, now) {
                Ok(der) => return Ok((der, Action::Kept)),
                Err(reason) => reason,
            }
        };
        let issued = match &self.kind {
            ItemKind::System(s) => pki.issue_system(s, now)?,
            ItemKind::Server(s) => pki.issue_server(s, now)?,
            ItemKind::Bad(k) => pki.issue_bad(*k, now)?,
        };
        write_file(&self.files.key, issued.key_pem.as_bytes(), true)?;
        write_file(&self.files.cert, issued.cert_pem.as_bytes(), false)?;
        write_file(&self.files.chain, issued.chain_pem.as_bytes(), false)?;
        let action = if existed {
            Action::Replaced { reason }
        } else {
            Action::Created
        };
        Ok((issued.cert_der, action))
    }

    /// Whether the files on disk are what this item should hold; `Err(reason)` if not.
    fn check(&self, pki: &TestPki, now: OffsetDateTime) -> Result<Vec<u8>, String> {
        let read = |p: &Path| fs::read_to_string(p).map_err(|_| format!("{} missing", p.display()));
        let cert_pem = read(&self.files.cert)?;
        let key_pem = read(&self.files.key)?;
        let chain = pem::certificates(&read(&self.files.chain)?);
        let der =
            pem::first_certificate(&cert_pem).ok_or("certificate file holds no certificate")?;
        if chain.first() != Some(&der) {
            return Err("chain file does not start with the certificate".into());
        }
        let key = KeyPair::from_pem(&key_pem).map_err(|_| "key file unreadable".to_owned())?;
        if !key_matches_certificate(&key, &der) {
            return Err("key does not match certificate".into());
        }
        let f = facts(&der).ok_or("certificate unparsable")?;
        if !subject_is(&f, &self.expected_attributes()) {
            return Err("subject differs from the wanted one".into());
        }
        let by_issuing = || {
            if signed_by(&der, &pki.issuing.cert_der) && chain.get(1) == Some(&pki.issuing.cert_der)
            {
                Ok(())
            } else {
                Err("not issued by the current issuing CA".to_owned())
            }
        };
        match &self.kind {
            ItemKind::System(_) => {
                if !f.client_auth() {
                    return Err("extended key usage lacks clientAuth".into());
                }
                fits_now(&f, now)?;
                by_issuing()?;
            }
            ItemKind::Server(s) => {
                // Same subject, other host names (`sim certs issue --server` run again with
                // other --dns/--ip): the old certificate would fail the new hosts' handshakes.
                let (mut have, mut want) = (f.alt_names.clone(), alt_names_of(&s.names));
                have.sort();
                want.sort();
                if have != want {
                    return Err(format!(
                        "valid for {} instead of {}",
                        f.alt_names.join(", "),
                        alt_names_of(&s.names).join(", ")
                    ));
                }
                if !f.server_auth() {
                    return Err("extended key usage lacks serverAuth".into());
                }
                fits_now(&f, now)?;
                by_issuing()?;
            }
            ItemKind::Bad(kind) => match kind {
                BadKind::Expired if f.not_after >= now => return Err("no longer expired".into()),
                BadKind::NotYetValid if f.not_before <= now => return Err("already valid".into()),
                BadKind::Expired | BadKind::NotYetValid => by_issuing()?,
                BadKind::SelfSigned => {
                    fits_now(&f, now)?;
                    if !signed_by(&der, &der) {
                        return Err("not self-signed".into());
                    }
                }
                BadKind::UnknownCa => {
                    fits_now(&f, now)?;
                    let unknown = chain.get(1).ok_or("chain lacks the unknown CA")?;
                    if !signed_by(&der, unknown)
                        || *unknown == pki.root.cert_der
                        || *unknown == pki.issuing.cert_der
                    {
                        return Err("not signed by an unknown CA".into());
                    }
                }
                BadKind::NoCvr | BadKind::OtherOrganisation | BadKind::NoClientAuthEku => {
                    fits_now(&f, now)?;
                    by_issuing()?;
                }
            },
        }
        Ok(der)
    }
}

/// One entry of `manifest.json`.
#[derive(Debug, Serialize)]
struct ManifestEntry {
    id: String,
    purpose: String,
    cert: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    chain: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pkcs12: Option<String>,
    subject: String,
    issuer: String,
    /// What a TLS peer matches the URL's host against; empty (and left out) for system
    /// certificates, which name an organisation's system, not a host.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    subject_alt_names: Vec<String>,
    /// `serverAuth` and/or `clientAuth`; left out for the CAs.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    extended_key_usage: Vec<&'static str>,
    cvr: Option<String>,
    uuid: Option<String>,
    fid: Option<String>,
    not_before: String,
    not_after: String,
    sha256: String,
}

impl ManifestEntry {
    fn ca(dir: &Path, id: &str, purpose: &str, der: &[u8]) -> Self {
        let cert = if id == "root-ca" {
            dir.join("root-ca.cert.pem")
        } else {
            layout::ca_files(dir, id.trim_start_matches("ca/")).0
        };
        Self::build(dir, id, purpose, der, cert, None, None, None)
    }

    fn leaf(dir: &Path, item: &Item, der: &[u8], pkcs12: Option<PathBuf>) -> Self {
        Self::build(
            dir,
            &item.id,
            &item.purpose,
            der,
            item.files.cert.clone(),
            Some(item.files.key.clone()),
            Some(item.files.chain.clone()),
            pkcs12,
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn build(
        dir: &Path,
        id: &str,
        purpose: &str,
        der: &[u8],
        cert: PathBuf,
        key: Option<PathBuf>,
        chain: Option<PathBuf>,
        pkcs12: Option<PathBuf>,
    ) -> Self {
        let rel = |p: &Path| {
            p.strip_prefix(dir)
                .unwrap_or(p)
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/")
        };
        let f = facts(der);
        let identity = identify(der).ok();
        let date = |d: OffsetDateTime| d.format(&Rfc3339).unwrap_or_default();
        ManifestEntry {
            id: id.to_owned(),
            purpose: purpose.to_owned(),
            cert: rel(&cert),
            key: key.as_deref().map(rel),
            chain: chain.as_deref().map(rel),
            pkcs12: pkcs12.as_deref().map(rel),
            subject: f.as_ref().map(|f| f.subject.clone()).unwrap_or_default(),
            issuer: f.as_ref().map(|f| f.issuer.clone()).unwrap_or_default(),
            subject_alt_names: f.as_ref().map(|f| f.alt_names.clone()).unwrap_or_default(),
            extended_key_usage: f
                .as_ref()
                .map(|f| f.extended_key_usage.clone())
                .unwrap_or_default(),
            cvr: identity.as_ref().map(|i| i.cvr.to_string()),
            uuid: identity.as_ref().and_then(|i| i.uuid().map(str::to_owned)),
            fid: identity.as_ref().and_then(|i| match &i.holder {
                Holder::Fid(n) => Some(n.clone()),
                _ => None,
            }),
            not_before: f.as_ref().map(|f| date(f.not_before)).unwrap_or_default(),
            not_after: f.as_ref().map(|f| date(f.not_after)).unwrap_or_default(),
            sha256: hex(&sha256(der)),
        }
    }
}

#[derive(Serialize)]
struct Manifest<'a> {
    warning: &'static str,
    trust_anchor: &'a str,
    entries: &'a [ManifestEntry],
}

const WARNING: &str = "SIMULATED TEST ONLY: certificates of the Sygefravaer simulator's own \
test PKI. Not issued by any real certificate authority; never trust this CA outside tests.";

fn write_descriptions(dir: &Path, entries: &[ManifestEntry]) -> Result<(), StoreError> {
    let manifest = Manifest {
        warning: WARNING,
        trust_anchor: &entries[0].cert,
        entries,
    };
    let mut json = serde_json::to_string_pretty(&manifest).expect("plain data serialises");
    json.push('\n');
    write_if_changed(&dir.join("manifest.json"), json.as_bytes(), false)?;
    write_if_changed(&dir.join("README.txt"), readme(entries).as_bytes(), false)
}

fn readme(entries: &[ManifestEntry]) -> String {
    let mut s = String::new();
    s.push_str("SIMULATED TEST ONLY - certificates of the Sygefravaer simulator\n");
    s.push_str("================================================================\n\n");
    s.push_str(WARNING);
    s.push_str("\n\n");
    s.push_str(&format!(
        "To trust this PKI, add {} as a trust anchor (e.g. curl --cacert, a Java truststore,\n\
         the CA file of your HTTPS server). Present a *.chain.pem (certificate followed by the\n\
         issuing CA) with its *.key.pem (or the *.p12, which holds both): a system certificate\n\
         (clientAuth) as client certificate when you call; a server certificate (serverAuth,\n\
         valid for the names listed) on your HTTPS endpoint when you are called. A system that\n\
         does both uses one of each. manifest.json holds the same facts as this file, for\n\
         programs.\n\n",
        entries[0].cert
    ));
    for e in entries {
        s.push_str(&format!("{}\n", e.id));
        s.push_str(&format!("  purpose:   {}\n", e.purpose));
        s.push_str(&format!("  subject:   {}\n", e.subject));
        s.push_str(&format!("  issuer:    {}\n", e.issuer));
        if !e.extended_key_usage.is_empty() {
            s.push_str(&format!(
                "  usage:     {}\n",
                e.extended_key_usage.join(", ")
            ));
        }
        if !e.subject_alt_names.is_empty() {
            s.push_str(&format!(
                "  valid for: {}\n",
                e.subject_alt_names.join(", ")
            ));
        }
        if let Some(cvr) = &e.cvr {
            s.push_str(&format!("  CVR:       {cvr}\n"));
        }
        if let Some(uuid) = &e.uuid {
            s.push_str(&format!("  UUID:      {uuid}\n"));
        }
        if let Some(fid) = &e.fid {
            s.push_str(&format!("  FID:       {fid}\n"));
        }
        s.push_str(&format!(
            "  valid:     {} .. {}\n",
            e.not_before, e.not_after
        ));
        s.push_str(&format!("  sha256:    {}\n", e.sha256));
        s.push_str(&format!("  files:     {}", e.cert));
        for f in [&e.key, &e.chain, &e.pkcs12].into_iter().flatten() {
            s.push_str(&format!(", {f}"));
        }
        s.push_str("\n\n");
    }
    s
}

fn read(path: &Path) -> Result<String, StoreError> {
    fs::read_to_string(path).map_err(|source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    })
}

fn write_if_changed(path: &Path, bytes: &[u8], private: bool) -> Result<(), StoreError> {
    if fs::read(path).ok().as_deref() == Some(bytes) {
        return Ok(());
    }
    write_file(path, bytes, private)
}

/// Writes via a temporary file and rename, so a crash never leaves half a key; private
/// files (keys) are created with mode 0600 on Unix.
fn write_file(path: &Path, bytes: &[u8], private: bool) -> Result<(), StoreError> {
    let io = |source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    };
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(io)?;
    }
    let tmp = path.with_extension("tmp");
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(if private { 0o600 } else { 0o644 });
    }
    #[cfg(not(unix))]
    let _ = private;
    let mut file = options.open(&tmp).map_err(io)?;
    file.write_all(bytes).map_err(io)?;
    file.sync_all().map_err(io)?;
    fs::rename(&tmp, path).map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{parse_vendors_csv, VendorInstance};
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-03-01 12:00 UTC);

    fn vendors() -> Vec<VendorInstance> {
        parse_vendors_csv("i,v,c,n\nacme-jc,Acme,99000077,Acme Jobcenter (simulated)\n").unwrap()
    }

    fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
        let mut out = Vec::new();
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            for e in fs::read_dir(&d).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    stack.push(p);
                } else {
                    out.push((p.clone(), fs::read(&p).unwrap()));
                }
            }
        }
        out.sort();
        out
    }

    #[test]
    fn second_run_keeps_everything_and_force_replaces_everything() {
        let tmp = tempfile::tempdir().unwrap();
        let spec = PkiSpec::standard(&vendors(), true);
        let first = ensure(tmp.path(), &spec, NOW, false).unwrap();
        assert!(
            first.lines.iter().all(|l| l.action == Action::Created),
            "{first:?}"
        );
        let before = snapshot(tmp.path());

        let second = ensure(tmp.path(), &spec, NOW + Duration::days(1), false).unwrap();
        assert!(second.all_kept(), "{second:?}");
        assert_eq!(
            snapshot(tmp.path()),
            before,
            "a second run must not rewrite files"
        );

        let forced = ensure(tmp.path(), &spec, NOW, true).unwrap();
        assert!(forced
            .lines
            .iter()
            .all(|l| matches!(l.action, Action::Replaced { .. })));
    }

    #[test]
    fn renews_what_no_longer_fits_and_only_that() {
        let tmp = tempfile::tempdir().unwrap();
        let spec = PkiSpec::standard(&vendors(), false);
        ensure(tmp.path(), &spec, NOW, false).unwrap();

        // A new vendor appears: only its certificate is issued.
        let mut more = vendors();
        more.push(VendorInstance {
            instance: "new-jc".into(),
            vendor: "New".into(),
            cvr: crate::Cvr::new("99000088").unwrap(),
            name: "New JC".into(),
        });
        let report = ensure(tmp.path(), &PkiSpec::standard(&more, false), NOW, false).unwrap();
        let changed: Vec<_> = report
            .lines
            .iter()
            .filter(|l| l.action != Action::Kept)
            .collect();
        assert_eq!(changed.len(), 1, "{report:?}");
        assert_eq!(changed[0].id, "systems/new-jc");

        // A damaged key is replaced, with the reason.
        fs::write(layout::system(tmp.path(), "ksd").key, "garbage").unwrap();
        let report = ensure(tmp.path(), &spec, NOW, false).unwrap();
        let line = report.lines.iter().find(|l| l.id == "systems/ksd").unwrap();
        assert_eq!(
            line.action,
            Action::Replaced {
                reason: "key file unreadable".into()
            }
        );

        // Two years later, the good certificates are due; the expired one stays expired.
        let later = NOW + Duration::days(2 * 365 - 10);
        let report = ensure(tmp.path(), &spec, later, false).unwrap();
        let action = |id: &str| {
            report
                .lines
                .iter()
                .find(|l| l.id == id)
                .unwrap()
                .action
                .clone()
        };
        assert!(matches!(action("systems/kombit"), Action::Replaced { .. }));
        assert_eq!(action("bad/expired"), Action::Kept);
        assert_eq!(action("ca/root"), Action::Kept);
    }

    #[test]
    fn manifest_names_identities() {
        let tmp = tempfile::tempdir().unwrap();
        ensure(tmp.path(), &PkiSpec::standard(&vendors(), true), NOW, false).unwrap();
        let manifest: serde_json::Value =
            serde_json::from_slice(&fs::read(tmp.path().join("manifest.json")).unwrap()).unwrap();
        let entries = manifest["entries"].as_array().unwrap();
        let find = |id: &str| entries.iter().find(|e| e["id"] == id).unwrap();
        assert_eq!(manifest["trust_anchor"], "ca/root.cert.pem");
        assert_eq!(find("systems/acme-jc")["cvr"], "99000077");
        assert!(find("systems/acme-jc")["uuid"].as_str().unwrap().len() == 36);
        assert!(find("legacy/acme-jc")["fid"].as_str().is_some());
        assert!(find("bad/no-cvr")["cvr"].is_null());
        assert_eq!(find("servers/sp")["chain"], "servers/sp.chain.pem");
        let readme = fs::read_to_string(tmp.path().join("README.txt")).unwrap();
        assert!(readme.contains("SIMULATED TEST ONLY"));
        assert!(readme.contains("99000077"));
    }

    #[test]
    fn a_server_kit_is_kept_until_its_names_change() {
        let tmp = tempfile::tempdir().unwrap();
        let pki_dir = tmp.path().join("pki");
        ensure(&pki_dir, &PkiSpec::standard(&[], false), NOW, false).unwrap();
        let pki = load_ca(&pki_dir, NOW).unwrap();
        let out = tmp.path().join("kit");
        let spec = |dns: &str| {
            ServerSpec::for_hosts(
                "Acme Receiver",
                &[dns.into()],
                &["127.0.0.1".parse().unwrap()],
            )
            .unwrap()
        };
        let first = issue_server_into(&pki, &out, &spec("rx.acme.test"), NOW, false, "pw").unwrap();
        assert_eq!(first.lines[0].action, Action::Created);
        for file in [
            "acme-receiver.cert.pem",
            "acme-receiver.chain.pem",
            "acme-receiver.key.pem",
            "acme-receiver.p12",
            "root-ca.cert.pem",
        ] {
            assert!(out.join(file).is_file(), "{file}");
        }
        let before = snapshot(&out);
        let again = issue_server_into(&pki, &out, &spec("rx.acme.test"), NOW, false, "pw").unwrap();
        assert!(again.all_kept(), "{again:?}");
        assert_eq!(snapshot(&out), before);

        let manifest: serde_json::Value =
            serde_json::from_slice(&fs::read(out.join("manifest.json")).unwrap()).unwrap();
        let entry = &manifest["entries"][1];
        assert_eq!(entry["id"], "acme-receiver");
        assert_eq!(
            entry["subject_alt_names"],
            serde_json::json!(["DNS:rx.acme.test", "IP:127.0.0.1"])
        );
        assert_eq!(
            entry["extended_key_usage"],
            serde_json::json!(["serverAuth"])
        );
        assert_eq!(entry["pkcs12"], "acme-receiver.p12");
        assert!(entry["cvr"].is_null());
        let readme = fs::read_to_string(out.join("README.txt")).unwrap();
        assert!(
            readme.contains("valid for: DNS:rx.acme.test, IP:127.0.0.1"),
            "{readme}"
        );
        assert!(readme.contains("usage:     serverAuth\n"), "{readme}");

        // Other host names: the old certificate would fail their handshakes, so it is renewed.
        let renamed =
            issue_server_into(&pki, &out, &spec("rx2.acme.test"), NOW, false, "pw").unwrap();
        assert_eq!(
            renamed.lines[0].action,
            Action::Replaced {
                reason: "valid for DNS:rx.acme.test, IP:127.0.0.1 instead of DNS:rx2.acme.test, IP:127.0.0.1".into()
            }
        );
        assert_ne!(
            fs::read(out.join("acme-receiver.p12")).unwrap(),
            before
                .iter()
                .find(|(p, _)| p.ends_with("acme-receiver.p12"))
                .unwrap()
                .1,
            "the PKCS#12 follows the certificate"
        );
    }

    #[test]
    fn a_client_kit_in_the_same_place_is_replaced_by_a_server_kit() {
        let tmp = tempfile::tempdir().unwrap();
        let pki_dir = tmp.path().join("pki");
        ensure(&pki_dir, &PkiSpec::standard(&[], false), NOW, false).unwrap();
        let pki = load_ca(&pki_dir, NOW).unwrap();
        let out = tmp.path().join("kit");
        let entry = SystemEntry {
            stem: "acme-receiver".into(),
            role: "test".into(),
            subject: OrgSubject::oces3(
                "Acme",
                crate::Cvr::new("12345678").unwrap(),
                "Acme Receiver",
            ),
        };
        issue_into(&pki, &out, &entry, NOW, false, "pw").unwrap();
        let server = ServerSpec::for_hosts("Acme Receiver", &["rx.test".into()], &[]).unwrap();
        let report = issue_server_into(&pki, &out, &server, NOW, false, "pw").unwrap();
        assert!(
            matches!(report.lines[0].action, Action::Replaced { .. }),
            "{report:?}"
        );
        let f = facts(
            &pem::first_certificate(
                &fs::read_to_string(out.join("acme-receiver.cert.pem")).unwrap(),
            )
            .unwrap(),
        )
        .unwrap();
        assert!(f.server_auth() && !f.client_auth());
    }

    #[cfg(unix)]
    #[test]
    fn keys_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        ensure(tmp.path(), &PkiSpec::standard(&[], false), NOW, false).unwrap();
        let mode = fs::metadata(layout::system(tmp.path(), "ksd").key)
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "key readable by others: {mode:o}");
    }
}
