//! What the three simulated programs (platform, KSD, jobcenter vendors) share at run time:
//! HTTPS with mutual TLS where the server *knows who is calling*.
//!
//! In the certificate model of Denmark's Serviceplatformen the client certificate is the
//! caller's identity: the CVR in it decides agreements and routing. So the server here does
//! its own accept loop, verifies the client certificate (chain, validity, clientAuth, CVR),
//! and hands every request to an axum `Router` with the caller's
//! [`SystemIdentity`] in its extensions. The client presents a
//! chosen identity and keeps connections alive.
//!
//! **Invariants**: only the `ring` rustls provider is used ([`install_crypto_provider`] at
//! every start, [`provider`] in every config). No plaintext HTTP: URLs must be `https://`,
//! servers require a client certificate. Every refusal is logged at WARN with a stable
//! `reason=<code>` ([`Refusal::code`]). The library reads no files except those a caller
//! names, and no environment.
//!
//! # Layout
//! - [`admin`]: what every admin API answers the same way (JSON errors, the journal query).
//! - [`crypto`]: installing and handing out the `ring` provider.
//! - [`tls`]: PEM files → [`Identity`] (chain + key) and [`TrustAnchors`]; [`TransportError`].
//! - `verifier` (private): webpki client verification plus "names an organisation".
//! - [`refusal`]: [`Refusal`], naming why a caller was turned away.
//! - [`server`]: [`serve`] — the mTLS accept loop for an axum `Router`, [`ServerTls`].
//! - [`client`]: [`HttpsClient`] — pooled mTLS client with `post(url, headers, body)`.
//! - [`soap`]: SOAP 1.1 on top: the [`soap::SoapCall`] a handler receives, fault/OK
//!   responses, and [`soap::SoapClient`] that sends a document and reads the reply with sim-wire.
//! - [`config`]: configuration pieces all programs share (identity files, system references,
//!   endpoints, listeners) and builders for server TLS and clients from them.
//! - [`ids`]: deterministic UUID streams (seed, stream name, start epoch).
//! - [`shutdown`]: one shutdown signal, many waiters.
//! - [`faults`]: the fault layer every program puts in front of its handlers, driven by a
//!   [`faults::FaultHook`] from the scenario runner.
//! - [`metrics`]: the process's Prometheus registry (every series labelled with its `program`),
//!   served at `GET /metrics` on every admin port.

pub mod admin;
pub mod client;
pub mod config;
pub mod crypto;
pub mod faults;
pub mod ids;
pub mod limits;
pub mod metrics;
pub mod program;
pub mod refusal;
pub mod server;
pub mod shutdown;
pub mod soap;
pub mod tls;
mod verifier;

pub use client::{ClientError, ClientTlsConfig, HttpResponse, HttpsClient};
pub use crypto::{install_crypto_provider, provider};
pub use refusal::Refusal;
pub use server::{serve, ConnectionInfo, ServerTls, ServerTlsConfig};
pub use sim_certs::{Cvr, SystemIdentity};
pub use tls::{Identity, TransportError, TrustAnchors};
