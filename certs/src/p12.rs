//! PKCS#12 (`.p12`) export: the format Windows, Java and many vendors' tools import.
//!
//! Written with PBES2 (AES-256-CBC, PBKDF2-HMAC-SHA256) and an HMAC-SHA256 MAC: what OpenSSL 3
//! itself writes by default, so `openssl pkcs12 -info` opens it without `-legacy`.

use p12_keystore::{Certificate, KeyStore, KeyStoreEntry, PrivateKey, PrivateKeyChain};

/// PKCS#12 export failed.
#[derive(Debug, thiserror::Error)]
#[error("PKCS#12 export failed: {0}")]
pub struct P12Error(String);

/// Encodes a PKCS#8 key and its chain (certificate first) as PKCS#12 protected by
/// `password`, with `alias` as the entry's friendly name.
pub fn to_pkcs12(
    key_der: &[u8],
    chain_der: &[Vec<u8>],
    alias: &str,
    password: &str,
) -> Result<Vec<u8>, P12Error> {
    let err = |e: p12_keystore::error::Error| P12Error(e.to_string());
    let key = PrivateKey::from_der(key_der).map_err(err)?;
    let leaf = chain_der
        .first()
        .ok_or_else(|| P12Error("empty chain".into()))?;
    let certs = chain_der
        .iter()
        .map(|der| Certificate::from_der(der))
        .collect::<Result<Vec<_>, _>>()
        .map_err(err)?;
    // The local key id ties the key bag to its certificate bag; the certificate's SHA-256
    // fingerprint is unique and stable.
    let local_key_id = crate::subject::sha256(leaf).to_vec();
    let mut store = KeyStore::new();
    store.add_entry(
        alias,
        KeyStoreEntry::PrivateKeyChain(PrivateKeyChain::new(local_key_id, key, certs)),
    );
    store.writer(password).write().map_err(err)
}
