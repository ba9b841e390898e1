//! The one cryptography provider: rustls' `ring` backend.
//!
//! rustls refuses to guess when more than one provider is compiled in, and a transitive
//! dependency could one day pull in another. Installing `ring` explicitly at start, and
//! building every config with [`provider`], makes the choice once and visibly.

use std::sync::Arc;

use rustls::crypto::CryptoProvider;

/// Installs `ring` as the process-wide default rustls provider. Call it at the start of every
/// binary and test; calling it again (or after someone else installed a provider) is harmless.
pub fn install_crypto_provider() {
    // `Err` only means a default is already installed, which is what we want either way.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The `ring` provider, for configs built here (independent of the process default).
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}
