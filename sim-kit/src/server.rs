//! The mutual-TLS HTTPS server: our own accept loop around an axum `Router`.
//!
//! axum's own `serve` never shows handlers the client certificate, and in this ecosystem the
//! certificate *is* the caller's identity. So: `TcpListener` → TLS handshake (with a
//! timeout, client certificate mandatory and verified) → [`SystemIdentity`] from the peer
//! certificate → optional CVR allow-list → hyper serves HTTP/1.1 on the connection with the
//! identity inserted into every request's extensions (`Extension<SystemIdentity>` in a
//! handler). Every refusal is logged at WARN with `reason=<code>`.

use std::collections::BTreeSet;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{header, Request, Response, StatusCode};
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use rustls::ServerConfig;
use sim_certs::{identify, Cvr, SystemIdentity};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tower_service::Service;
use tracing::{debug, info, warn};

use crate::limits::{AddressSlot, InFlight, PerAddress, Shed};
use crate::refusal::Refusal;
use crate::tls::{Identity, TransportError, TrustAnchors};
use crate::verifier::OrganisationCertVerifier;

/// Default [`ServerTlsConfig::handshake_timeout`]: generous for a slow peer, short enough
/// that a silent TCP connection cannot hold a connection slot for long.
pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Default [`ServerTlsConfig::request_timeout`]: a real message (a few KiB) arrives in
/// milliseconds; a client that sends its headers and then a trickle of body (or nothing)
/// must not keep its connection slot, and a connection cap then locks everyone else out.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a new TCP connection may stay silent: in TLS the client speaks first, and a real
/// client sends its ClientHello at once. A connection that has said nothing by then is
/// dropped before it takes one of the [`ServerTlsConfig::max_connections`] slots, so a flood
/// of silent TCP connections cannot make valid callers wait for the handshake timeout.
pub const FIRST_BYTE_TIMEOUT: Duration = Duration::from_secs(2);
/// How many connections may wait for their first byte at once, as a multiple of the
/// connection cap: bounds what a flood of silent connections costs.
const PENDING_FACTOR: usize = 4;
/// Default [`ServerTlsConfig::max_connections`].
pub const DEFAULT_MAX_CONNECTIONS: usize = 512;

/// What a program decides about its HTTPS endpoint.
#[derive(Debug, Clone)]
pub struct ServerTlsConfig {
    /// The server's own certificate chain and key.
    pub identity: Identity,
    /// CAs a client certificate must chain to (the test root, plus any real test CA).
    pub client_trust: TrustAnchors,
    /// How long a TLS handshake may take before the connection is dropped.
    pub handshake_timeout: Duration,
    /// How long a request's headers, and then its whole body, may take to arrive. A body
    /// that does not make it is refused (the program answers its WIRE-1 fault) and the
    /// connection is closed.
    pub request_timeout: Duration,
    /// How many connections are served at once; further ones wait in the listen backlog
    /// (or, on a shedding server, a quarter more are served with a fault and closed).
    pub max_connections: usize,
    /// How many connections one peer address may hold at once (waiting for its first byte,
    /// handshaking or served); further ones are closed at once, so one address cannot take
    /// the pending budget (4 × `max_connections`) every caller shares.
    pub max_connections_per_address: usize,
    /// Shed load instead of queueing it (the platform): past these in-flight limits, and for
    /// connections past `max_connections`, requests carry a [`crate::limits::Shed`] mark and
    /// the program answers them at once with a fault. `None`: callers wait.
    pub shedding: Option<crate::limits::Shedding>,
    /// If set, only callers whose certificate CVR is listed get through; others receive
    /// HTTP 403 with the reason. `None` lets every verified organisation through (routing
    /// and agreements then decide).
    pub allowed_cvrs: Option<BTreeSet<Cvr>>,
}

impl ServerTlsConfig {
    /// A config with default timeout and cap and no allow-list.
    pub fn new(identity: Identity, client_trust: TrustAnchors) -> Self {
        ServerTlsConfig {
            identity,
            client_trust,
            handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            // Half the pending budget: one address (a flood) cannot take it all, and callers
            // sharing an address with it (on loopback, everyone) still find room.
            max_connections_per_address: DEFAULT_MAX_CONNECTIONS * PENDING_FACTOR / 2,
            shedding: None,
            allowed_cvrs: None,
        }
    }
}

/// A ready-to-serve TLS setup (the rustls config is built once, here, so that configuration
/// mistakes surface before the listener is used).
#[derive(Clone)]
pub struct ServerTls {
    acceptor: TlsAcceptor,
    handshake_timeout: Duration,
    request_timeout: Duration,
    max_connections: usize,
    max_connections_per_address: usize,
    shedding: Option<crate::limits::Shedding>,
    allowed_cvrs: Option<Arc<BTreeSet<Cvr>>>,
}

impl std::fmt::Debug for ServerTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerTls")
            .field("handshake_timeout", &self.handshake_timeout)
            .field("max_connections", &self.max_connections)
            .field(
                "max_connections_per_address",
                &self.max_connections_per_address,
            )
            .field("shedding", &self.shedding)
            .field("allowed_cvrs", &self.allowed_cvrs)
            .finish_non_exhaustive()
    }
}

impl ServerTls {
    /// Builds the rustls server config: TLS 1.2 and 1.3 with the `ring` provider, client
    /// certificate mandatory and verified by webpki plus a CVR check (the private `verifier` module), ALPN `http/1.1`.
    pub fn new(config: ServerTlsConfig) -> Result<Self, TransportError> {
        let verifier = OrganisationCertVerifier::new(&config.client_trust)?;
        let mut tls = ServerConfig::builder_with_provider(crate::provider())
            .with_protocol_versions(rustls::ALL_VERSIONS)?
            .with_client_cert_verifier(Arc::new(verifier))
            .with_single_cert(config.identity.chain, config.identity.key)?;
        tls.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(ServerTls {
            acceptor: TlsAcceptor::from(Arc::new(tls)),
            handshake_timeout: config.handshake_timeout,
            request_timeout: config.request_timeout,
            max_connections: config.max_connections.max(1),
            max_connections_per_address: config.max_connections_per_address.max(1),
            shedding: config.shedding,
            allowed_cvrs: config.allowed_cvrs.map(Arc::new),
        })
    }

    /// The same setup, shedding load past `limits` (see [`ServerTlsConfig::shedding`]).
    pub fn with_shedding(mut self, limits: crate::limits::Shedding) -> ServerTls {
        self.shedding = Some(limits);
        self
    }
}

/// Facts about the connection a request arrived on, in each request's extensions next to
/// the [`SystemIdentity`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionInfo {
    /// The peer's address.
    pub remote_addr: SocketAddr,
    /// Sequence number of the connection on this server (1, 2, …): lets journals and tests
    /// see keep-alive reuse.
    pub connection_id: u64,
}

/// Serves `router` over mutual TLS on `listener` until `shutdown` completes; then stops
/// accepting, lets in-flight requests finish (idle keep-alive connections close at once)
/// and returns when every connection is done.
pub async fn serve(
    listener: TcpListener,
    tls: ServerTls,
    router: Router,
    shutdown: impl Future<Output = ()>,
) -> Result<(), TransportError> {
    let limit = Arc::new(Semaphore::new(tls.max_connections));
    let pending = Arc::new(Semaphore::new(tls.max_connections * PENDING_FACTOR));
    let per_address = PerAddress::new(tls.max_connections_per_address);
    let in_flight = tls.shedding.map(InFlight::new);
    // Connections served (with a fault) past the cap on a shedding server.
    let shed_slots = Arc::new(Semaphore::new((tls.max_connections / 4).max(1)));
    // `true` is sent once, at shutdown; connections watch it to start a graceful close.
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut connections = JoinSet::new();
    let mut next_id = 0u64;
    tokio::pin!(shutdown);

    if let Ok(addr) = listener.local_addr() {
        info!(%addr, "mTLS server listening");
    }
    loop {
        let permit = tokio::select! {
            biased;
            () = &mut shutdown => break,
            permit = pending.clone().acquire_owned() => permit.expect("the semaphore is never closed"),
        };
        let (tcp, remote_addr) = tokio::select! {
            biased;
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(error) => {
                    // Typically out of file descriptors: wait a little instead of spinning.
                    warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let Some(address) = per_address.take(remote_addr.ip()) else {
            refuse(remote_addr, &Refusal::PerAddressLimit(remote_addr.ip()));
            continue;
        };
        next_id += 1;
        let conn = Connection {
            info: ConnectionInfo {
                remote_addr,
                connection_id: next_id,
            },
            tls: tls.clone(),
            router: router.clone(),
            stop: stop_rx.clone(),
            limit: limit.clone(),
            shed_slots: shed_slots.clone(),
            in_flight: in_flight.clone(),
            _pending: permit,
            _address: address,
        };
        connections.spawn(conn.run(tcp));
        // Reap finished connections so the set does not grow with the server's lifetime.
        while connections.try_join_next().is_some() {}
    }

    drop(listener);
    let _ = stop_tx.send(true);
    info!(in_flight = connections.len(), "mTLS server shutting down");
    while connections.join_next().await.is_some() {}
    Ok(())
}

/// One accepted TCP connection.
struct Connection {
    info: ConnectionInfo,
    tls: ServerTls,
    router: Router,
    stop: watch::Receiver<bool>,
    /// The connection cap: a slot is taken once the client has spoken, and held for the
    /// connection's lifetime.
    limit: Arc<Semaphore>,
    /// Connections a shedding server serves past the cap, each only to answer a fault.
    shed_slots: Arc<Semaphore>,
    /// The in-flight counters of a shedding server.
    in_flight: Option<InFlight>,
    /// Held for the connection's lifetime: bounds the connections not yet served too.
    _pending: OwnedSemaphorePermit,
    /// Counts the connection against its peer's address.
    _address: AddressSlot,
}

impl Connection {
    async fn run(mut self, tcp: TcpStream) {
        let peer = self.info.remote_addr;
        let mut first = [0u8; 1];
        let first_byte = FIRST_BYTE_TIMEOUT.min(self.tls.handshake_timeout);
        match tokio::time::timeout(first_byte, tcp.peek(&mut first)).await {
            Ok(Ok(n)) if n > 0 => {}
            _ => return refuse(peer, &Refusal::Silent),
        }
        let Some((_slot, shed_all)) = self.take_slot().await else {
            return;
        };
        let _open = crate::metrics::OpenConnection::enter();
        let handshake =
            tokio::time::timeout(self.tls.handshake_timeout, self.tls.acceptor.accept(tcp));
        let stream = tokio::select! {
            result = handshake => match result {
                Err(_) => return refuse(peer, &Refusal::HandshakeTimeout),
                Ok(Err(error)) => return refuse(peer, &Refusal::from_handshake_error(&error)),
                Ok(Ok(stream)) => stream,
            },
            _ = self.stop.changed() => return,
        };

        let Some((identity, denial)) = self.caller(&stream) else {
            return;
        };

        let info = self.info;
        let router = self.router.clone();
        let deadline = BodyDeadline(self.tls.request_timeout);
        let in_flight = self.in_flight.clone();
        let caller = format!("{}/{}", identity.cvr, identity.holder);
        let max_connections = self.tls.max_connections;
        let service = hyper::service::service_fn(move |mut req: Request<Incoming>| {
            let mut router = router.clone();
            let identity = identity.clone();
            let denial = denial.clone();
            let in_flight = in_flight.clone();
            let caller = caller.clone();
            async move {
                if let Some(refusal) = denial {
                    return Ok::<_, InjectedReset>(forbidden(&refusal));
                }
                let _entered = count_in(
                    in_flight.as_ref(),
                    shed_all,
                    max_connections,
                    &caller,
                    &mut req,
                );
                req.extensions_mut().insert(identity);
                req.extensions_mut().insert(info);
                req.extensions_mut().insert(deadline);
                let action = req
                    .headers()
                    .get("soapaction")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned);
                let timer = crate::metrics::Timer::start();
                let mut response = match router.call(req).await {
                    Ok(r) => r,
                    Err(never) => match never {},
                };
                crate::metrics::server_request(
                    timer,
                    action.as_deref(),
                    response.status().as_u16(),
                );
                if shed_all {
                    // Free the connection for a caller the server can serve.
                    response.headers_mut().insert(
                        hyper::header::CONNECTION,
                        hyper::header::HeaderValue::from_static("close"),
                    );
                }
                // An injected connection reset: failing the service makes hyper drop the
                // connection without writing a response.
                if response
                    .extensions()
                    .get::<crate::faults::ResetConnection>()
                    .is_some()
                {
                    return Err(InjectedReset);
                }
                Ok(response)
            }
        });

        self.serve_http(stream, service).await;
    }

    /// Serves HTTP/1.1 on the established connection until it ends or the server stops
    /// (then gracefully: an in-flight request finishes).
    async fn serve_http<S>(mut self, stream: tokio_rustls::server::TlsStream<TcpStream>, service: S)
    where
        S: hyper::service::Service<
            Request<Incoming>,
            Response = Response<Body>,
            Error = InjectedReset,
        >,
        S::Future: Send + 'static,
    {
        let peer = self.info.remote_addr;
        let mut http = hyper::server::conn::http1::Builder::new();
        // The timer enables hyper's header-read timeout, so an idle or stalled client cannot
        // keep its connection slot forever.
        http.timer(TokioTimer::new());
        http.header_read_timeout(self.tls.request_timeout);
        let conn = http.serve_connection(TokioIo::new(stream), service);
        tokio::pin!(conn);
        let result = tokio::select! {
            result = conn.as_mut() => result,
            _ = self.stop.changed() => {
                conn.as_mut().graceful_shutdown();
                conn.await
            }
        };
        if let Err(error) = result {
            debug!(%peer, %error, "connection ended with an error");
        }
    }
}

impl Connection {
    /// A connection slot, or `None` when the server stops first. A shedding server does not
    /// make a caller wait: past the cap it serves a quarter more connections (`true`: each
    /// request answered with a fault at once, then closed); beyond those, callers wait.
    async fn take_slot(&mut self) -> Option<(OwnedSemaphorePermit, bool)> {
        if self.in_flight.is_some() {
            if let Ok(slot) = self.limit.clone().try_acquire_owned() {
                return Some((slot, false));
            }
            if let Ok(slot) = self.shed_slots.clone().try_acquire_owned() {
                return Some((slot, true));
            }
        }
        tokio::select! {
            permit = self.limit.clone().acquire_owned() => Some((permit.expect("the semaphore is never closed"), false)),
            _ = self.stop.changed() => None,
        }
    }

    /// The caller's identity from its verified certificate (the verifier has already
    /// checked chain, validity, EKU and CVR), and the refusal its requests get if its CVR is
    /// not on the allow-list; `None` (refused and logged) without a usable certificate.
    fn caller(
        &self,
        stream: &tokio_rustls::server::TlsStream<TcpStream>,
    ) -> Option<(SystemIdentity, Option<Refusal>)> {
        let peer = self.info.remote_addr;
        let identity = match stream
            .get_ref()
            .1
            .peer_certificates()
            .and_then(|c| c.first())
        {
            None => {
                refuse(peer, &Refusal::NoClientCertificate);
                return None;
            }
            Some(leaf) => match identify(leaf) {
                Ok(identity) => identity,
                Err(e) => {
                    refuse(peer, &Refusal::NoCvr(e.to_string()));
                    return None;
                }
            },
        };
        let denial = match &self.tls.allowed_cvrs {
            Some(allowed) if !allowed.contains(&identity.cvr) => {
                let refusal = Refusal::CvrNotAllowed(identity.cvr.clone());
                refuse_identified(peer, &identity, &refusal);
                Some(refusal)
            }
            _ => None,
        };
        if denial.is_none() {
            debug!(%peer, cvr = %identity.cvr, holder = %identity.holder, "caller identified");
        }
        Some((identity, denial))
    }
}

/// Counts a request in flight on a shedding server (held until its response is made), or
/// marks it [`Shed`] for the program to refuse: past the in-flight limits, or on a
/// connection served past the cap (`shed_all`).
fn count_in(
    in_flight: Option<&InFlight>,
    shed_all: bool,
    max_connections: usize,
    caller: &str,
    req: &mut Request<Incoming>,
) -> Option<crate::limits::Entered> {
    let f = in_flight?;
    let entered = if shed_all {
        crate::metrics::shed("connections");
        Err(Shed(format!(
            "{max_connections} connections are served, the most this endpoint serves at once"
        )))
    } else {
        f.enter(caller, req.uri().path())
    };
    match entered {
        Ok(e) => Some(e),
        Err(shed) => {
            req.extensions_mut().insert(shed);
            None
        }
    }
}

/// How long a request's body may take to arrive, in each request's extensions (the SOAP
/// extractor reads the body under it).
#[derive(Debug, Clone, Copy)]
pub struct BodyDeadline(pub Duration);

/// The error that makes hyper drop a connection unanswered (fault injection).
#[derive(Debug)]
struct InjectedReset;

impl std::fmt::Display for InjectedReset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection reset by fault injection")
    }
}

impl std::error::Error for InjectedReset {}

fn refuse(peer: SocketAddr, refusal: &Refusal) {
    crate::metrics::refusal("connection", refusal.code());
    warn!(%peer, reason = %refusal.code(), detail = %refusal, "refused connection");
}

fn refuse_identified(peer: SocketAddr, identity: &SystemIdentity, refusal: &Refusal) {
    crate::metrics::refusal("connection", refusal.code());
    warn!(
        %peer,
        reason = %refusal.code(),
        detail = %refusal,
        cvr = %identity.cvr,
        subject = %identity.subject,
        "refused request (HTTP 403)"
    );
}

fn forbidden(refusal: &Refusal) -> Response<Body> {
    let mut response = Response::new(Body::from(format!("{refusal}\n")));
    *response.status_mut() = StatusCode::FORBIDDEN;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}
