//! Loading certificates, keys and trust anchors from PEM into rustls types.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::RootCertStore;

/// Configuration errors of the transport (bad files, bad certificates, bad TLS settings).
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// A PEM file could not be read or parsed.
    #[error("{path}: {detail}")]
    Pem {
        /// The file (or `<memory>`).
        path: PathBuf,
        /// What was wrong.
        detail: String,
    },
    /// No trust anchor was configured: such a server would refuse everybody.
    #[error("no trust anchors configured")]
    NoTrustAnchors,
    /// rustls refused the configuration (e.g. key does not match certificate).
    #[error("TLS configuration: {0}")]
    Tls(#[from] rustls::Error),
    /// The client certificate verifier could not be built.
    #[error("client certificate verifier: {0}")]
    Verifier(String),
}

/// A certificate chain (end entity first) and its private key: what a program presents.
#[derive(Debug)]
pub struct Identity {
    /// End-entity certificate followed by intermediates.
    pub chain: Vec<CertificateDer<'static>>,
    /// The private key of the end-entity certificate.
    pub key: PrivateKeyDer<'static>,
}

impl Clone for Identity {
    fn clone(&self) -> Self {
        Identity {
            chain: self.chain.clone(),
            key: self.key.clone_key(),
        }
    }
}

impl Identity {
    /// Reads a chain file (`*.chain.pem`) and a key file (`*.key.pem`).
    pub fn from_pem_files(chain: &Path, key: &Path) -> Result<Self, TransportError> {
        let chain_text = read(chain)?;
        let key_text = read(key)?;
        Self::parse(&chain_text, &key_text, chain, key)
    }

    /// Parses a chain and a key from PEM text.
    pub fn from_pem(chain: &str, key: &str) -> Result<Self, TransportError> {
        let mem = Path::new("<memory>");
        Self::parse(chain, key, mem, mem)
    }

    fn parse(
        chain: &str,
        key: &str,
        chain_path: &Path,
        key_path: &Path,
    ) -> Result<Self, TransportError> {
        let chain = certificates(chain, chain_path)?;
        let key =
            PrivateKeyDer::from_pem_slice(key.as_bytes()).map_err(|e| TransportError::Pem {
                path: key_path.to_path_buf(),
                detail: format!("no usable private key: {e}"),
            })?;
        Ok(Identity { chain, key })
    }
}

/// The CA certificates a peer's chain must lead to. Several files can be combined, so a
/// vendor's real test CA can be trusted next to the simulator's own.
#[derive(Debug, Clone)]
pub struct TrustAnchors {
    /// The anchors, shared by every config built from them.
    pub(crate) store: Arc<RootCertStore>,
}

impl TrustAnchors {
    /// Reads every certificate of every file as a trust anchor.
    pub fn from_pem_files<P: AsRef<Path>>(paths: &[P]) -> Result<Self, TransportError> {
        let mut ders = Vec::new();
        for p in paths {
            let p = p.as_ref();
            ders.extend(certificates(&read(p)?, p)?);
        }
        Self::from_der(ders)
    }

    /// Parses trust anchors from PEM texts.
    pub fn from_pem(texts: &[&str]) -> Result<Self, TransportError> {
        let mut ders = Vec::new();
        for t in texts {
            ders.extend(certificates(t, Path::new("<memory>"))?);
        }
        Self::from_der(ders)
    }

    /// Uses DER certificates as trust anchors.
    pub fn from_der(ders: Vec<CertificateDer<'static>>) -> Result<Self, TransportError> {
        let mut store = RootCertStore::empty();
        for der in ders {
            store.add(der)?;
        }
        if store.is_empty() {
            return Err(TransportError::NoTrustAnchors);
        }
        Ok(TrustAnchors {
            store: Arc::new(store),
        })
    }

    /// How many anchors.
    pub fn len(&self) -> usize {
        self.store.len()
    }

    /// Never true for a constructed value (construction refuses an empty set).
    pub fn is_empty(&self) -> bool {
        self.store.is_empty()
    }
}

fn read(path: &Path) -> Result<String, TransportError> {
    std::fs::read_to_string(path).map_err(|e| TransportError::Pem {
        path: path.to_path_buf(),
        detail: e.to_string(),
    })
}

fn certificates(text: &str, path: &Path) -> Result<Vec<CertificateDer<'static>>, TransportError> {
    let certs = CertificateDer::pem_slice_iter(text.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TransportError::Pem {
            path: path.to_path_buf(),
            detail: e.to_string(),
        })?;
    if certs.is_empty() {
        return Err(TransportError::Pem {
            path: path.to_path_buf(),
            detail: "no CERTIFICATE block".into(),
        });
    }
    Ok(certs)
}
