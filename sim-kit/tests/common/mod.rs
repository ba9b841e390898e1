//! Shared test harness: a PKI in a temp dir, a server on 127.0.0.1:0, and captured logs.
#![allow(dead_code)] // each test file uses a different subset

use std::collections::BTreeSet;
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::routing::{get, post};
use axum::{Extension, Router};
use sim_certs::store::{ensure, layout};
use sim_certs::{parse_vendors_csv, Holder, PkiSpec, SystemIdentity};
use sim_kit::{
    install_crypto_provider, serve, ClientTlsConfig, ConnectionInfo, Cvr, HttpsClient, Identity,
    ServerTls, ServerTlsConfig, TransportError, TrustAnchors,
};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The vendor the tests use: a CVR outside the standard KOMBIT one.
pub const VENDOR_CVR: &str = "99000077";
pub const VENDOR_NAME: &str = "Acme Jobcenter (simulated)";

/// A whole test PKI written by `sim_certs::store::ensure` into a temp dir.
pub struct Pki {
    dir: tempfile::TempDir,
}

impl Pki {
    pub fn new() -> Self {
        install_crypto_provider();
        let dir = tempfile::tempdir().unwrap();
        let vendors = parse_vendors_csv(&format!(
            "instance,vendor,cvr,name\nacme-jc,Acme,{VENDOR_CVR},{VENDOR_NAME}\n"
        ))
        .unwrap();
        ensure(
            dir.path(),
            &PkiSpec::standard(&vendors, true),
            time::OffsetDateTime::now_utc(),
            false,
        )
        .unwrap();
        Pki { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn root(&self) -> PathBuf {
        layout::root_ca(self.path())
    }

    pub fn anchors(&self) -> TrustAnchors {
        TrustAnchors::from_pem_files(&[self.root()]).unwrap()
    }

    /// The platform's server certificate with the test root as client trust.
    pub fn server_config(&self) -> ServerTlsConfig {
        let f = layout::server(self.path(), "sp");
        ServerTlsConfig::new(
            Identity::from_pem_files(&f.chain, &f.key).unwrap(),
            self.anchors(),
        )
    }

    pub fn server_tls(&self, allowed: Option<&[&str]>) -> ServerTls {
        let mut config = self.server_config();
        config.allowed_cvrs = allowed.map(|list| {
            list.iter()
                .map(|c| Cvr::new(c).unwrap())
                .collect::<BTreeSet<_>>()
        });
        ServerTls::new(config).unwrap()
    }

    pub fn identity(&self, files: &sim_certs::store::Files) -> Identity {
        Identity::from_pem_files(&files.chain, &files.key).unwrap()
    }

    pub fn system(&self, stem: &str) -> Identity {
        self.identity(&layout::system(self.path(), stem))
    }

    pub fn bad(&self, stem: &str) -> Identity {
        self.identity(&layout::bad(self.path(), stem))
    }

    pub fn client(&self, identity: Option<Identity>) -> HttpsClient {
        HttpsClient::new(ClientTlsConfig::new(identity, self.anchors())).unwrap()
    }
}

/// A server running in the test's runtime.
pub struct Running {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    handle: JoinHandle<Result<(), TransportError>>,
}

pub async fn start(tls: ServerTls, router: Router) -> Running {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let handle = tokio::spawn(serve(listener, tls, router, async {
        let _ = stopped.await;
    }));
    Running {
        addr,
        stop: Some(stop),
        handle,
    }
}

impl Running {
    /// `https://localhost:<port><path>`: the server certificate's SAN `localhost` is checked.
    pub fn url(&self, path: &str) -> String {
        format!("https://localhost:{}{path}", self.addr.port())
    }

    /// Signals shutdown without waiting.
    pub fn signal_stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }

    /// Signals shutdown and waits until `serve` returned.
    pub async fn stop(mut self) {
        self.signal_stop();
        self.handle.await.unwrap().unwrap();
    }

    pub async fn join(self) -> Result<(), TransportError> {
        self.handle.await.unwrap()
    }
}

/// `/whoami` (GET and POST) answers with what the server knows about the caller.
pub fn echo_router() -> Router {
    Router::new().route("/whoami", get(whoami).post(whoami))
}

async fn whoami(
    Extension(id): Extension<SystemIdentity>,
    Extension(conn): Extension<ConnectionInfo>,
) -> String {
    let holder = match &id.holder {
        Holder::Uuid(u) => format!("uuid={u}"),
        Holder::Fid(f) => format!("fid={f}"),
        other => format!("holder={other}"),
    };
    format!("cvr={};{holder};conn={}", id.cvr, conn.connection_id)
}

/// Routes on the same router: `/slow` waits until the test releases it.
pub fn with_slow_route(
    router: Router,
) -> (
    Router,
    tokio::sync::mpsc::Receiver<()>,
    Arc<tokio::sync::Notify>,
) {
    let (entered_tx, entered_rx) = tokio::sync::mpsc::channel::<()>(8);
    let release = Arc::new(tokio::sync::Notify::new());
    let r = release.clone();
    let router = router.route(
        "/slow",
        post(move || {
            let entered = entered_tx.clone();
            let release = r.clone();
            async move {
                entered.send(()).await.unwrap();
                release.notified().await;
                "finished"
            }
        }),
    );
    (router, entered_rx, release)
}

/// Log lines of everything on this thread (tests use the current-thread runtime, so the
/// server's tasks log here too).
pub struct Logs {
    buf: Arc<Mutex<Vec<u8>>>,
    _guard: tracing::subscriber::DefaultGuard,
}

#[derive(Clone)]
struct BufWriter(Arc<Mutex<Vec<u8>>>);

impl Write for BufWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(data);
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

pub fn capture_logs() -> Logs {
    let buf = Arc::new(Mutex::new(Vec::new()));
    let writer = BufWriter(buf.clone());
    let subscriber = tracing_subscriber::fmt()
        .with_ansi(false)
        .with_max_level(tracing::Level::DEBUG)
        .with_writer(move || writer.clone())
        .finish();
    Logs {
        buf,
        _guard: tracing::subscriber::set_default(subscriber),
    }
}

impl Logs {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.buf.lock().unwrap()).into_owned()
    }

    pub fn clear(&self) {
        self.buf.lock().unwrap().clear();
    }

    /// Waits (yielding to the server) until a line contains every needle; panics with the
    /// log after 10 s. An upper bound for a hung test, not a timing assertion.
    pub async fn wait_for(&self, needles: &[&str]) -> String {
        for _ in 0..1000 {
            let text = self.text();
            if let Some(line) = text.lines().find(|l| needles.iter().all(|n| l.contains(n))) {
                return line.to_owned();
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!(
            "no log line contains {needles:?}; log was:\n{}",
            self.text()
        );
    }
}
