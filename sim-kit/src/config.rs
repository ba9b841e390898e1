//! Configuration pieces every program shares: identity files, who a system is, endpoints,
//! and the pair of listeners (data plane, admin) each program serves on.

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::{
    ClientTlsConfig, HttpsClient, Identity, ServerTls, ServerTlsConfig, TransportError,
    TrustAnchors,
};

/// A certificate chain and its key, as PEM files.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IdentityFiles {
    /// PEM chain (leaf first).
    pub cert: PathBuf,
    /// PEM private key.
    pub key: PathBuf,
}

/// Who a system is, as its certificate says (SP-6: each instance has its own certificate).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SystemRef {
    /// The holder's CVR.
    pub cvr: String,
    /// The OCES3 UUID (or FOCES FID) of the certificate; `None` matches any system of the CVR.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uuid: Option<String>,
}

impl SystemRef {
    /// Whether a verified identity is this system.
    pub fn matches(&self, id: &sim_certs::SystemIdentity) -> bool {
        if id.cvr.as_str() != self.cvr {
            return false;
        }
        match &self.uuid {
            None => true,
            Some(u) => match &id.holder {
                sim_certs::Holder::Uuid(x)
                | sim_certs::Holder::Fid(x)
                | sim_certs::Holder::Uid(x) => x.eq_ignore_ascii_case(u),
                sim_certs::Holder::Unspecified => false,
            },
        }
    }
}

/// A receiver a program calls.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Endpoint {
    /// Full HTTPS URL of the receiver port.
    pub url: String,
}

/// The sockets a program serves on: data plane (mTLS) and admin (plain HTTP, JSON).
#[derive(Debug)]
pub struct Listeners {
    /// mutual-TLS SOAP endpoints.
    pub data: tokio::net::TcpListener,
    /// Admin API (never on the data plane's port).
    pub admin: tokio::net::TcpListener,
}

impl Listeners {
    /// Binds both on the given addresses (`127.0.0.1:0` for tests).
    pub async fn bind(data: SocketAddr, admin: SocketAddr) -> std::io::Result<Listeners> {
        Ok(Listeners {
            data: tokio::net::TcpListener::bind(data).await?,
            admin: tokio::net::TcpListener::bind(admin).await?,
        })
    }

    /// The bound addresses, for printing and tests.
    pub fn addrs(&self) -> std::io::Result<(SocketAddr, SocketAddr)> {
        Ok((self.data.local_addr()?, self.admin.local_addr()?))
    }
}

/// The server side of a program's TLS: its server certificate, and the CAs callers must
/// chain to.
pub fn server_tls(
    server: &IdentityFiles,
    client_trust: &[PathBuf],
) -> Result<ServerTls, TransportError> {
    ServerTls::new(ServerTlsConfig::new(
        Identity::from_pem_files(&server.cert, &server.key)?,
        TrustAnchors::from_pem_files(client_trust)?,
    ))
}

/// An outgoing client presenting `identity`, trusting `server_trust`, with a whole-call timeout.
pub fn client(
    identity: &IdentityFiles,
    server_trust: &[PathBuf],
    timeout: std::time::Duration,
) -> Result<HttpsClient, TransportError> {
    let mut cfg = ClientTlsConfig::new(
        Some(Identity::from_pem_files(&identity.cert, &identity.key)?),
        TrustAnchors::from_pem_files(server_trust)?,
    );
    cfg.request_timeout = timeout;
    HttpsClient::new(cfg)
}

/// How long a call to a peer may take unless a configuration says otherwise (milliseconds).
pub const DEFAULT_CALL_TIMEOUT_MS: u64 = 10_000;

/// Serde's default for every program's `call_timeout_ms`.
pub fn default_call_timeout_ms() -> u64 {
    DEFAULT_CALL_TIMEOUT_MS
}

/// A SOAP client presenting `identity`, trusting `server_trust`, giving up on a call after
/// `timeout_ms` milliseconds: what every program calls its peers with.
pub fn soap_client(
    identity: &IdentityFiles,
    server_trust: &[PathBuf],
    timeout_ms: u64,
) -> Result<crate::soap::SoapClient, TransportError> {
    let timeout = std::time::Duration::from_millis(timeout_ms);
    Ok(crate::soap::SoapClient::new(client(
        identity,
        server_trust,
        timeout,
    )?))
}

/// A verified caller as journals show it: `CVR 19435075 UUID:...`.
pub fn peer_text(id: &sim_certs::SystemIdentity) -> String {
    format!("CVR {} {}", id.cvr.as_str(), id.holder)
}
