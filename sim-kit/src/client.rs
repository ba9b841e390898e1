//! The mutual-TLS HTTPS client: presents one identity, trusts chosen anchors, keeps
//! connections alive, and bounds every call in time.
//!
//! hyper-util's pooled client does the HTTP/1.1 and keep-alive work; the connector below
//! adds TLS with tokio-rustls on top of its TCP connector. The API is deliberately the one a
//! SOAP caller needs: `post(url, headers, body)` → status, headers, body.

use std::error::Error as StdError;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, Request, StatusCode, Uri};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::{Connected, Connection, HttpConnector};
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use rustls::pki_types::ServerName;
use rustls::ClientConfig;
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

use crate::tls::{Identity, TransportError, TrustAnchors};

/// Default [`ClientTlsConfig::connect_timeout`].
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Default [`ClientTlsConfig::request_timeout`]: the platform's own synchronous calls are
/// expected back within seconds; longer means the peer is in trouble.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Default [`ClientTlsConfig::pool_idle_timeout`]: below the servers' idle limit (their
/// header-read timeout, [`crate::server::DEFAULT_REQUEST_TIMEOUT`], 10 s), which closes an idle
/// keep-alive connection. Kept longer, a pooled connection the server had closed was taken for
/// the next call and failed it ("peer closed connection"): seen on the platform's STAR job,
/// whose calls are minutes apart.
pub const DEFAULT_POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(5);

/// What a program decides about its outgoing calls.
#[derive(Debug, Clone)]
pub struct ClientTlsConfig {
    /// The certificate chain and key to present; `None` sends no client certificate (only
    /// useful to test that servers refuse such callers).
    pub identity: Option<Identity>,
    /// CAs the server's certificate must chain to.
    pub server_trust: TrustAnchors,
    /// Limit on TCP connect (the TLS handshake counts against the request timeout).
    pub connect_timeout: Duration,
    /// Limit on one whole call: connect, handshake, request and reading the response body.
    pub request_timeout: Duration,
    /// How long an idle pooled connection is kept for reuse.
    pub pool_idle_timeout: Duration,
}

impl ClientTlsConfig {
    /// A config with default timeouts.
    pub fn new(identity: Option<Identity>, server_trust: TrustAnchors) -> Self {
        ClientTlsConfig {
            identity,
            server_trust,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            pool_idle_timeout: DEFAULT_POOL_IDLE_TIMEOUT,
        }
    }
}

/// A response, fully read.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    /// HTTP status.
    pub status: StatusCode,
    /// Response headers.
    pub headers: HeaderMap,
    /// The whole body.
    pub body: Bytes,
}

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The URL is not an `https://` URL with a host.
    #[error("bad URL {url:?}: {reason}")]
    Url {
        /// The URL.
        url: String,
        /// Why.
        reason: String,
    },
    /// A header name or value is not valid HTTP.
    #[error("bad header {0:?}")]
    Header(String),
    /// The call did not finish within the request timeout.
    #[error("no complete response within {0:?}")]
    Timeout(Duration),
    /// Connecting, TLS, or HTTP failed; the text holds the whole cause chain (e.g. the TLS
    /// alert the server sent).
    #[error("{0}")]
    Transport(String),
}

/// A pooled mutual-TLS HTTPS client. Cheap to clone; clones share the pool.
#[derive(Clone)]
pub struct HttpsClient {
    client: Client<TlsConnector, Full<Bytes>>,
    request_timeout: Duration,
}

impl std::fmt::Debug for HttpsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpsClient").finish_non_exhaustive()
    }
}

impl HttpsClient {
    /// Builds the client (TLS 1.2/1.3, `ring`, ALPN `http/1.1`).
    pub fn new(config: ClientTlsConfig) -> Result<Self, TransportError> {
        let builder = ClientConfig::builder_with_provider(crate::provider())
            .with_protocol_versions(rustls::ALL_VERSIONS)?
            .with_root_certificates(config.server_trust.store.clone());
        let mut tls = match config.identity {
            Some(id) => builder.with_client_auth_cert(id.chain, id.key)?,
            None => builder.with_no_client_auth(),
        };
        tls.alpn_protocols = vec![b"http/1.1".to_vec()];

        let mut tcp = HttpConnector::new();
        tcp.enforce_http(false);
        tcp.set_nodelay(true);
        tcp.set_connect_timeout(Some(config.connect_timeout));
        let connector = TlsConnector {
            tcp,
            tls: tokio_rustls::TlsConnector::from(Arc::new(tls)),
        };
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(config.pool_idle_timeout)
            .pool_timer(TokioTimer::new())
            .build(connector);
        Ok(HttpsClient {
            client,
            request_timeout: config.request_timeout,
        })
    }

    /// POSTs `body` to `url` with `headers` and reads the whole response.
    pub async fn post(
        &self,
        url: &str,
        headers: &[(&str, &str)],
        body: impl Into<Bytes>,
    ) -> Result<HttpResponse, ClientError> {
        self.send(Method::POST, url, headers, body.into()).await
    }

    /// GETs `url` (for health checks and admin calls).
    pub async fn get(
        &self,
        url: &str,
        headers: &[(&str, &str)],
    ) -> Result<HttpResponse, ClientError> {
        self.send(Method::GET, url, headers, Bytes::new()).await
    }

    async fn send(
        &self,
        method: Method,
        url: &str,
        headers: &[(&str, &str)],
        body: Bytes,
    ) -> Result<HttpResponse, ClientError> {
        let bad_url = |reason: &str| ClientError::Url {
            url: url.to_owned(),
            reason: reason.to_owned(),
        };
        let uri: Uri = url
            .parse()
            .map_err(|e: axum::http::uri::InvalidUri| bad_url(&e.to_string()))?;
        if uri.scheme_str() != Some("https") || uri.host().is_none() {
            return Err(bad_url("must be https://host[:port]/path"));
        }
        let mut request = Request::builder().method(method).uri(uri);
        for (name, value) in headers {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| ClientError::Header((*name).to_owned()))?;
            let value = HeaderValue::from_str(value)
                .map_err(|_| ClientError::Header((*value).to_owned()))?;
            request = request.header(name, value);
        }
        let request = request
            .body(Full::new(body))
            .map_err(|e| ClientError::Transport(e.to_string()))?;

        let call = async {
            let response = self
                .client
                .request(request)
                .await
                .map_err(|e| ClientError::Transport(cause_chain(&e)))?;
            let (parts, body) = response.into_parts();
            let body = body
                .collect()
                .await
                .map_err(|e| ClientError::Transport(cause_chain(&e)))?
                .to_bytes();
            Ok(HttpResponse {
                status: parts.status,
                headers: parts.headers,
                body,
            })
        };
        let action = headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("soapaction"))
            .map(|(_, v)| *v);
        let timer = crate::metrics::Timer::start();
        let result = tokio::time::timeout(self.request_timeout, call)
            .await
            .map_err(|_| ClientError::Timeout(self.request_timeout))
            .and_then(|r| r);
        crate::metrics::client_call(timer, action, call_status(&result));
        result
    }
}

/// The `status` label of a call's latency: the HTTP status, or what kind of failure.
fn call_status(result: &Result<HttpResponse, ClientError>) -> String {
    match result {
        Ok(r) => r.status.as_u16().to_string(),
        Err(ClientError::Timeout(_)) => "timeout".into(),
        Err(ClientError::Transport(_)) => "transport".into(),
        Err(ClientError::Url { .. }) => "url".into(),
        Err(ClientError::Header(_)) => "header".into(),
    }
}

/// "outer: inner: innermost" — hyper's top-level errors alone say little ("client error").
fn cause_chain(err: &dyn StdError) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// TCP (hyper-util's connector, for its timeout and DNS handling) then TLS.
#[derive(Clone)]
struct TlsConnector {
    tcp: HttpConnector,
    tls: tokio_rustls::TlsConnector,
}

type BoxError = Box<dyn StdError + Send + Sync>;

impl tower_service::Service<Uri> for TlsConnector {
    type Response = TlsIo;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<TlsIo, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.tcp.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let tls = self.tls.clone();
        let host = uri
            .host()
            .unwrap_or_default()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let connecting = self.tcp.call(uri);
        Box::pin(async move {
            let server_name = ServerName::try_from(host)?;
            let tcp = connecting.await?.into_inner();
            let stream = tls.connect(server_name, tcp).await?;
            Ok(TlsIo(TokioIo::new(stream)))
        })
    }
}

/// A TLS connection as hyper wants it (hyper's IO traits plus `Connection`).
struct TlsIo(TokioIo<TlsStream<TcpStream>>);

impl Connection for TlsIo {
    fn connected(&self) -> Connected {
        Connected::new()
    }
}

impl hyper::rt::Read for TlsIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_read(cx, buf)
    }
}

impl hyper::rt::Write for TlsIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().0).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_shutdown(cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.0.is_write_vectored()
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().0).poll_write_vectored(cx, bufs)
    }
}
