//! Test harness: a PKI in a temp dir, KSD on 127.0.0.1:0, a fake platform that records the
//! business receipts it gets, a client that calls KSD as the platform does, and admin queries.
#![allow(dead_code)] // each test file uses a different subset

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::response::Response;
use axum::routing::post;
use axum::Router;
use serde_json::Value;
use sim_certs::store::{ensure, layout};
use sim_certs::{parse_vendors_csv, PkiSpec, SystemIdentity};
use sim_kit::soap::{ok_response, SoapCall, SoapClient, SoapReply};
use sim_ksd::{Config, Endpoint, IdentityFiles, KsdError, Listeners, SystemRef, KSD_PATH};
use sim_store::Clock;
use sim_wire::{
    examples, ForretningsSvar, Message, Operation, OphoersAarsag, Payload, Port, Request,
    ResponseBody, TransportKvittering, TransportValideringsKode,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The municipality of sim-wire's examples (Viborg).
pub const MUNICIPALITY: &str = examples::MYNDIGHED;
/// The citizen of sim-wire's examples.
pub const CPR: &str = "0101701234";

/// A whole test PKI: CA, servers `sp`/`ksd`, systems `kombit`, `ksd`, and vendor `acme-jc`.
pub struct Pki {
    dir: tempfile::TempDir,
}

impl Pki {
    pub fn new() -> Pki {
        sim_kit::install_crypto_provider();
        let dir = tempfile::tempdir().unwrap();
        let vendors = parse_vendors_csv(
            "instance,vendor,cvr,name\nacme-jc,Acme,99000077,Acme Jobcenter (simulated)\n",
        )
        .unwrap();
        ensure(
            dir.path(),
            &PkiSpec::standard(&vendors, false),
            Clock::real().now(),
            false,
        )
        .unwrap();
        Pki { dir }
    }

    pub fn root(&self) -> PathBuf {
        layout::root_ca(self.dir.path())
    }

    pub fn system(&self, stem: &str) -> IdentityFiles {
        let f = layout::system(self.dir.path(), stem);
        IdentityFiles {
            cert: f.chain,
            key: f.key,
        }
    }

    pub fn server(&self, service: &str) -> IdentityFiles {
        let f = layout::server(self.dir.path(), service);
        IdentityFiles {
            cert: f.chain,
            key: f.key,
        }
    }

    /// Who a system certificate says it is.
    pub fn identity(&self, stem: &str) -> SystemIdentity {
        let text = std::fs::read_to_string(self.system(stem).cert).unwrap();
        let der = sim_certs::pem::first_certificate(&text).unwrap();
        sim_certs::identify(&der).unwrap()
    }

    pub fn system_ref(&self, stem: &str) -> SystemRef {
        let id = self.identity(stem);
        SystemRef {
            cvr: id.cvr.as_str().to_string(),
            uuid: id.uuid().map(str::to_string),
        }
    }

    /// A SOAP client presenting a system certificate (`kombit` is how the platform calls).
    pub fn client(&self, stem: &str) -> SoapClient {
        SoapClient::new(
            sim_kit::config::client(&self.system(stem), &[self.root()], Duration::from_secs(10))
                .unwrap(),
        )
    }
}

/// KSD running in the test's runtime.
pub struct RunningKsd {
    pub data: SocketAddr,
    pub admin: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    handle: JoinHandle<Result<(), KsdError>>,
}

/// KSD's configuration for a test: the platform (KOMBIT's certificate) as the only caller,
/// no receipt delay, the real clock.
pub fn config(pki: &Pki, state_dir: &Path, platform_url: &str) -> Config {
    Config {
        state_dir: state_dir.to_path_buf(),
        server: pki.server("ksd"),
        client_trust: vec![pki.root()],
        identity: pki.system("ksd"),
        server_trust: vec![pki.root()],
        platform: Endpoint {
            url: platform_url.to_string(),
        },
        platform_system: pki.system_ref("kombit"),
        ksd_system_uuid: pki.system_ref("ksd").uuid.unwrap(),
        receipt_delay_ms: 0,
        duration: Default::default(),
        call_timeout_ms: 5_000,
        seed: 7,
        admin_token: None,
        journal_retention: Default::default(),
        sf1612: None,
        clock: Clock::real(),
        faults: sim_kit::faults::Faults::none(),
    }
}

pub async fn start_ksd(config: Config) -> RunningKsd {
    let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let listeners = Listeners::bind(any, any).await.unwrap();
    let (data, admin) = listeners.addrs().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let handle = tokio::spawn(async move {
        let r = sim_ksd::run(listeners, config, async {
            let _ = stopped.await;
        })
        .await;
        if let Err(e) = &r {
            // Shown with the failing test's output: why KSD stopped under it.
            eprintln!("KSD stopped with an error: {e}");
        }
        r
    });
    RunningKsd {
        data,
        admin,
        stop: Some(stop),
        handle,
    }
}

impl RunningKsd {
    /// KSD's receiver port; `localhost` is in the server certificate.
    pub fn url(&self) -> String {
        format!("https://localhost:{}{KSD_PATH}", self.data.port())
    }

    /// Stops KSD and waits until `run` returned.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.handle.await.unwrap().unwrap();
    }

    /// GET on the admin API: status and JSON body.
    pub async fn get(&self, path: &str) -> (u16, Value) {
        self.admin_call(&format!("GET {path} HTTP/1.1\r\n"), "")
            .await
    }

    /// POST of a JSON body on the admin API: status and JSON body.
    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let body = body.to_string();
        let head = format!(
            "POST {path} HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
            body.len()
        );
        self.admin_call(&head, &body).await
    }

    /// One HTTP/1.1 exchange with the admin API (request line and headers in `head`).
    async fn admin_call(&self, head: &str, body: &str) -> (u16, Value) {
        let mut s = tokio::net::TcpStream::connect(self.admin).await.unwrap();
        let request = format!("{head}Host: localhost\r\nConnection: close\r\n\r\n{body}");
        s.write_all(request.as_bytes()).await.unwrap();
        let mut buf = Vec::new();
        s.read_to_end(&mut buf).await.unwrap();
        let text = String::from_utf8(buf).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
        (status, serde_json::from_str(body).unwrap_or(Value::Null))
    }

    /// Calls KSD's receiver port with `op` and `xml` as the platform does.
    pub async fn call(&self, client: &SoapClient, op: Operation, xml: String) -> SoapReply {
        client
            .call(&self.url(), &op.soap_action(), xml)
            .await
            .unwrap()
    }

    /// Undelivered business receipts.
    pub async fn outbox_pending(&self) -> u64 {
        self.get("/counters").await.1["outbox_pending"]
            .as_u64()
            .unwrap()
    }

    /// Journal rows matching a query string such as `operation=JC/SendForretningsSvar`.
    pub async fn journal(&self, query: &str) -> Vec<Value> {
        let (status, v) = self.get(&format!("/journal?{query}")).await;
        assert_eq!(status, 200, "{v}");
        v.as_array().unwrap().clone()
    }

    /// Calls KSD's `ModtagOpdateringFravaer` with `client`.
    pub async fn send(&self, client: &SoapClient, xml: String) -> SoapReply {
        client
            .call(
                &self.url(),
                &Operation::ModtagOpdateringFravaer.soap_action(),
                xml,
            )
            .await
            .unwrap()
    }
}

/// An SF2095 update as the platform forwards it: sim-wire's example, with a chosen
/// TransaktionIdentifikator and Ophørsårsag.
pub fn update(tid: &str, aarsag: u8) -> Request {
    let mut r = examples::request(Operation::ModtagOpdateringFravaer);
    let Payload::OpdateringFravaer(u) = &mut r.payload else {
        unreachable!("the example of ModtagOpdateringFravaer carries an OpdateringFravaer")
    };
    u.header.transaktion_identifikator = tid.parse().unwrap();
    u.ophoers_aarsag = OphoersAarsag::new(aarsag).unwrap();
    r
}

/// The transport receipt of a reply (panics if it has none).
pub fn kvittering(reply: &SoapReply) -> TransportKvittering {
    reply
        .transport_kvittering()
        .unwrap_or_else(|| panic!("no TransportKvittering: {} {}", reply.status, reply.body))
        .clone()
}

/// Polls `check` every 50 ms until it returns `Some`, for at most 30 s: a bound, not a timing
/// assertion (a loaded machine only makes the test slower).
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    for _ in 0..600 {
        if let Some(v) = check().await {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("gave up waiting for: {what}");
}

/// One `SendForretningsSvar` the fake platform received.
#[derive(Debug, Clone)]
pub struct Received {
    /// Who called (must be KSD's system certificate).
    pub peer: Option<SystemIdentity>,
    /// The security context's municipality.
    pub context: Option<String>,
    /// The payload, when it is a business receipt.
    pub svar: Option<ForretningsSvar>,
    /// The whole request, whatever its operation (SF2090 events, SF2093 requests).
    pub request: Option<Request>,
}

/// A fake platform JC exposure: records every SendForretningsSvar and answers OK.
pub struct FakePlatform {
    pub addr: SocketAddr,
    pub received: Arc<Mutex<Vec<Received>>>,
    /// When set, every call is answered TransportKvittering FEJL (a jobcenter refusing the
    /// message, passed through by the platform, SP-13).
    pub fejl: Arc<std::sync::atomic::AtomicBool>,
    stop: Option<oneshot::Sender<()>>,
    handle: JoinHandle<Result<(), sim_kit::TransportError>>,
}

type FakeState = (
    Arc<Mutex<Vec<Received>>>,
    Arc<std::sync::atomic::AtomicBool>,
);

async fn record(State((seen, fejl)): State<FakeState>, call: SoapCall) -> Response {
    let decoded = call.read().ok();
    let request = decoded.as_ref().and_then(|d| d.request().cloned());
    let svar = match request.as_ref().map(|r| &r.payload) {
        Some(Payload::ForretningsSvar(f)) => Some(f.clone()),
        _ => None,
    };
    seen.lock().unwrap().push(Received {
        peer: call.peer.clone(),
        context: request
            .as_ref()
            .and_then(|r| r.authority_context.as_ref())
            .map(|a| a.municipality_cvr.to_string()),
        svar,
        request: request.clone(),
    });
    let operation = request
        .as_ref()
        .map_or(Operation::SendForretningsSvarJc, |r| r.operation);
    ok_response(sim_wire::write(&Message::Response(sim_wire::Response {
        operation,
        body: ResponseBody::TransportKvittering(
            if fejl.load(std::sync::atomic::Ordering::SeqCst) {
                TransportKvittering {
                    kode: TransportValideringsKode::Fejl,
                    begrundelse: Some("refused by the test's jobcenter".into()),
                    fejl_liste: vec![sim_wire::Fejl {
                        fejl_kode: "JC-3.MYNDIGHED".into(),
                        fejl_tekst: "refused by the test's jobcenter".into(),
                    }],
                }
            } else {
                TransportKvittering {
                    kode: TransportValideringsKode::Ok,
                    begrundelse: None,
                    fejl_liste: vec![],
                }
            },
        ),
    })))
}

impl FakePlatform {
    /// Serves the platform's server certificate on `listener`.
    pub async fn start(pki: &Pki, listener: TcpListener) -> FakePlatform {
        let addr = listener.local_addr().unwrap();
        let received = Arc::new(Mutex::new(Vec::new()));
        let fejl = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let tls = sim_kit::config::server_tls(&pki.server("sp"), &[pki.root()]).unwrap();
        let router = Router::new()
            .route(Port::Jc.platform_path(), post(record))
            .with_state((received.clone(), fejl.clone()));
        let (stop, stopped) = oneshot::channel::<()>();
        let handle = tokio::spawn(sim_kit::serve(listener, tls, router, async {
            let _ = stopped.await;
        }));
        FakePlatform {
            addr,
            received,
            fejl,
            stop: Some(stop),
            handle,
        }
    }

    pub async fn bind(pki: &Pki) -> FakePlatform {
        FakePlatform::start(pki, TcpListener::bind("127.0.0.1:0").await.unwrap()).await
    }

    pub fn url(&self) -> String {
        platform_url(self.addr)
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.handle.await.unwrap().unwrap();
    }
}

/// The JC exposure URL of a platform at `addr`.
pub fn platform_url(addr: SocketAddr) -> String {
    format!(
        "https://localhost:{}{}",
        addr.port(),
        Port::Jc.platform_path()
    )
}
