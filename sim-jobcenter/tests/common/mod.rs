//! Test harness: a PKI in a temp dir, a fake platform speaking real mTLS, the jobcenter
//! process on 127.0.0.1:0, and a KOMBIT-like client for its receiver ports (the platform's
//! side of every call KSD makes to a jobcenter: receipts, events, extension requests).
#![allow(dead_code)] // each test file uses a different subset

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::response::Response;
use axum::routing::post;
use axum::Router;
use sim_certs::store::{ensure, layout};
use sim_certs::{parse_vendors_csv, PkiSpec, SystemIdentity};
use sim_jobcenter::{
    system_uuid_of, Config, Endpoint, IdentityFiles, Jobcenter, Listeners, Serving, SystemRef,
    VendorConfig, VendorPolicy, JOBCENTER_PATH,
};
use sim_kit::soap::{fault_response, ok_response, SoapCall, SoapClient, SoapReply};
use sim_kit::{ClientTlsConfig, HttpsClient, Identity, TrustAnchors};
use sim_wire::{
    AuthorityContext, Fejl, ForretningsSvar, ForretningsValideringsKode, Forretningskvittering,
    Operation, Payload, Port, Request, Rule, SoapFault, TransportKvittering,
    TransportValideringsKode,
};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// KOMBIT's CVR (the only caller a jobcenter accepts, JC-2).
pub const KOMBIT_CVR: &str = "19435075";
/// Municipalities per instance in these tests (JC-3): kmd-jc serves two.
pub const KMD_MUNICIPALITIES: [&str; 2] = ["64942212", "11259979"];
/// Viborg, served by schultz-jc.
pub const SCHULTZ_MUNICIPALITY: &str = "29189846";
/// Served by netcompany-jc.
pub const NETCOMPANY_MUNICIPALITY: &str = "58271713";

/// The PKI of `sim certs`, for the three vendor instances of scenarios/vendors.csv.
pub struct Pki {
    dir: tempfile::TempDir,
}

impl Pki {
    pub fn new() -> Pki {
        sim_kit::install_crypto_provider();
        let dir = tempfile::tempdir().unwrap();
        let vendors = parse_vendors_csv(include_str!("../../../scenarios/vendors.csv")).unwrap();
        ensure(
            dir.path(),
            &PkiSpec::standard(&vendors, false),
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

    pub fn system_files(&self, stem: &str) -> IdentityFiles {
        let f = layout::system(self.path(), stem);
        IdentityFiles {
            cert: f.chain,
            key: f.key,
        }
    }

    pub fn server_files(&self, service: &str) -> IdentityFiles {
        let f = layout::server(self.path(), service);
        IdentityFiles {
            cert: f.chain,
            key: f.key,
        }
    }

    /// The OCES3 UUID of a system certificate.
    pub fn uuid(&self, stem: &str) -> String {
        system_uuid_of(&layout::system(self.path(), stem).cert).unwrap()
    }

    /// A SOAP client presenting the system certificate `stem` (e.g. `kombit`).
    pub fn soap_client(&self, stem: &str) -> SoapClient {
        let f = layout::system(self.path(), stem);
        let id = Identity::from_pem_files(&f.chain, &f.key).unwrap();
        let anchors = TrustAnchors::from_pem_files(&[self.root()]).unwrap();
        SoapClient::new(HttpsClient::new(ClientTlsConfig::new(Some(id), anchors)).unwrap())
    }
}

/// How the fake platform answers the next call (an update or a business answer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// TransportKvittering OK.
    Ok,
    /// TransportKvittering FEJL (KSD-5, as if KSD refused the code).
    Fejl,
    /// A platform SOAP fault (SP-4: KSD unreachable).
    Fault,
}

/// One request the fake platform received.
#[derive(Debug, Clone)]
pub struct Seen {
    pub peer: Option<SystemIdentity>,
    pub soap_action: Option<String>,
    pub body: String,
}

#[derive(Default)]
struct FakeState {
    seen: Mutex<Vec<Seen>>,
    script: Mutex<VecDeque<Answer>>,
}

/// A stand-in for the platform's KSD exposure: records every request and answers from a
/// script (OK once the script is empty).
pub struct FakePlatform {
    state: Arc<FakeState>,
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
}

impl FakePlatform {
    pub async fn start(pki: &Pki) -> FakePlatform {
        FakePlatform::start_on(pki, 0).await
    }

    /// A fake platform on `port` (0: any free one), e.g. one a jobcenter found refused
    /// until now.
    pub async fn start_on(pki: &Pki, port: u16) -> FakePlatform {
        let state = Arc::new(FakeState::default());
        let router = Router::new()
            .route(Port::Ksd.platform_path(), post(fake_handle))
            // SF1690: the KY exposure on the same host, answering from the same script.
            .route(sim_wire::ky::PLATFORM_PATH, post(fake_ky))
            .with_state(state.clone());
        let f = pki.server_files("sp");
        let tls = sim_kit::config::server_tls(&f, &[pki.root()]).unwrap();
        let listener = TcpListener::bind(("127.0.0.1", port)).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(sim_kit::serve(listener, tls, router, async {
            let _ = stopped.await;
        }));
        FakePlatform {
            state,
            addr,
            stop: Some(stop),
        }
    }

    pub fn url(&self) -> String {
        format!(
            "https://localhost:{}{}",
            self.addr.port(),
            Port::Ksd.platform_path()
        )
    }

    pub fn script(&self, answers: &[Answer]) {
        self.state.script.lock().unwrap().extend(answers);
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.state.seen.lock().unwrap().clone()
    }

    /// The requests of operation `op` received so far.
    pub fn seen_of(&self, op: Operation) -> Vec<Seen> {
        let action = op.soap_action();
        self.seen()
            .into_iter()
            .filter(|s| s.soap_action.as_deref() == Some(action.as_str()))
            .collect()
    }
}

impl Drop for FakePlatform {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

async fn fake_handle(State(s): State<Arc<FakeState>>, call: SoapCall) -> Response {
    s.seen.lock().unwrap().push(Seen {
        peer: call.peer.clone(),
        soap_action: call.soap_action.clone(),
        body: call.text(),
    });
    let answer = s.script.lock().unwrap().pop_front().unwrap_or(Answer::Ok);
    // The response of the operation called (the SOAPAction names it), as the platform's.
    let operation = call
        .soap_action
        .as_deref()
        .and_then(Operation::from_soap_action)
        .unwrap_or(Operation::SendOpdateringFravaer);
    let kvittering = |kode, fejl_liste: Vec<Fejl>| {
        ok_response(sim_wire::write_response(&sim_wire::Response {
            operation,
            body: sim_wire::ResponseBody::TransportKvittering(TransportKvittering {
                kode,
                begrundelse: None,
                fejl_liste,
            }),
        }))
    };
    match answer {
        Answer::Ok => kvittering(TransportValideringsKode::Ok, vec![]),
        Answer::Fejl => kvittering(
            TransportValideringsKode::Fejl,
            vec![Fejl {
                fejl_kode: "KSD-5.VAERDI".into(),
                fejl_tekst: "OpdateringFravaer/OphoersAarsag: not accepted".into(),
            }],
        ),
        Answer::Fault => fault_response(&SoapFault::serviceplatform(
            false,
            Rule::Sp4,
            "The receiver KSD could not be reached.",
            "7d3e2f1a-0b9c-4d8e-a7f6-5e4d3c2b1a09".parse().unwrap(),
            "2026-11-23T09:15:02+01:00".parse().unwrap(),
        )),
    }
}

/// The KY exposure's answer (SF1690): KY's receipt for the operation the SOAPAction names
/// — OK, or FEJL naming KY-6 (no such contact course) — or the platform's SP-4 fault.
async fn fake_ky(State(s): State<Arc<FakeState>>, call: SoapCall) -> Response {
    use sim_wire::ky::{self, KyOperation};
    s.seen.lock().unwrap().push(Seen {
        peer: call.peer.clone(),
        soap_action: call.soap_action.clone(),
        body: call.text(),
    });
    let answer = s.script.lock().unwrap().pop_front().unwrap_or(Answer::Ok);
    let op = call
        .soap_action
        .as_deref()
        .and_then(KyOperation::from_soap_action)
        .unwrap_or(KyOperation::Kontaktforloeb);
    match answer {
        Answer::Ok => ok_response(ky::write_response(&ky::examples::response_ok(op))),
        Answer::Fejl => {
            let mut r = ky::examples::response_fejl();
            r.operation = op;
            ok_response(ky::write_response(&r))
        }
        Answer::Fault => fault_response(&SoapFault::serviceplatform(
            false,
            Rule::Sp4,
            "KY could not be reached.",
            "7d3e2f1a-0b9c-4d8e-a7f6-5e4d3c2b1a09".parse().unwrap(),
            "2026-11-23T09:15:02+01:00".parse().unwrap(),
        )),
    }
}

/// The jobcenter process under test, with its fake platform.
pub struct Harness {
    pub pki: Pki,
    pub platform: FakePlatform,
    pub jc: Jobcenter,
    pub vendors: BTreeMap<String, SocketAddr>,
    pub admin: SocketAddr,
    pub state_dir: tempfile::TempDir,
    stop: Option<oneshot::Sender<()>>,
    serving: Option<Serving>,
}

impl Harness {
    pub async fn start() -> Harness {
        Harness::start_with(0).await
    }

    pub async fn start_with(seed: u64) -> Harness {
        let pki = Pki::new();
        let platform = FakePlatform::start(&pki).await;
        let state_dir = tempfile::tempdir().unwrap();
        let config = config(&pki, &platform.url(), state_dir.path(), seed);
        Harness::launch(pki, platform, state_dir, config).await
    }

    /// Starts the process with `config` (made with [`config`] and changed as a test needs,
    /// e.g. a vendor's SF2090/SF2093 policy with [`set_policy`]).
    pub async fn launch(
        pki: Pki,
        platform: FakePlatform,
        state_dir: tempfile::TempDir,
        config: Config,
    ) -> Harness {
        let mut listeners = BTreeMap::new();
        for v in &config.vendors {
            listeners.insert(
                v.instance.clone(),
                TcpListener::bind("127.0.0.1:0").await.unwrap(),
            );
        }
        let listeners = Listeners {
            vendors: listeners,
            admin: TcpListener::bind("127.0.0.1:0").await.unwrap(),
        };
        let (vendors, admin) = listeners.addrs().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let (jc, serving) = sim_jobcenter::start(listeners, config, async {
            let _ = stopped.await;
        })
        .await
        .unwrap();
        Harness {
            pki,
            platform,
            jc,
            vendors,
            admin,
            state_dir,
            stop: Some(stop),
            serving: Some(serving),
        }
    }

    /// Stops the process and hands back what a restart on the same state needs.
    pub async fn stop_keep(mut self) -> (Pki, FakePlatform, tempfile::TempDir) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(h) = self.serving.take() {
            h.await.unwrap().unwrap();
        }
        (self.pki, self.platform, self.state_dir)
    }

    /// The receiver port URL of an instance.
    pub fn url(&self, instance: &str) -> String {
        format!(
            "https://localhost:{}{JOBCENTER_PATH}",
            self.vendors[instance].port()
        )
    }

    /// Delivers a business receipt to `instance` as `caller` (a system certificate stem),
    /// in municipality `municipality`, for `tid`.
    pub async fn deliver_receipt(
        &self,
        caller: &str,
        instance: &str,
        municipality: &str,
        tid: &str,
    ) -> SoapReply {
        let op = Operation::ModtagForretningsSvarJc;
        let xml = forretnings_svar(municipality, tid);
        self.pki
            .soap_client(caller)
            .call(&self.url(instance), &op.soap_action(), xml)
            .await
            .unwrap()
    }

    /// Calls operation `op` of `instance`'s receiver port with `xml`, as the platform does
    /// (KOMBIT's certificate, JC-2).
    pub async fn deliver(&self, instance: &str, op: Operation, xml: String) -> SoapReply {
        self.pki
            .soap_client("kombit")
            .call(&self.url(instance), &op.soap_action(), xml)
            .await
            .unwrap()
    }

    /// Stops the process and waits for it.
    pub async fn stop(self) {
        self.stop_keep().await;
    }
}

/// KSD's `op` (`ModtagHaendelse` or `ModtagAnmodningForlaengelse`) as the platform forwards
/// it: the example message with TransaktionIdentifikator `tid`, about case `sag_id`, whose
/// AuthorityContext, header Myndighed and case Myndighed all name `municipality`.
pub fn ksd_request(op: Operation, municipality: &str, tid: &str, sag_id: &str) -> String {
    sim_wire::write_request(&ksd_call(op, municipality, tid, sag_id))
}

/// [`ksd_request`] before it is written, for a test to change.
pub fn ksd_call(op: Operation, municipality: &str, tid: &str, sag_id: &str) -> Request {
    let m = municipality.parse().unwrap();
    let mut r = sim_wire::examples::request(op);
    r.authority_context = Some(AuthorityContext {
        municipality_cvr: m,
    });
    let (header, sag) = match &mut r.payload {
        Payload::Haendelse(h) => (&mut h.header, &mut h.sag),
        Payload::AnmodningForlaengelse(a) => (&mut a.header, &mut a.sag),
        _ => panic!("{op} is not a call KSD makes about a case"),
    };
    header.transaktion_identifikator = tid.parse().unwrap();
    header.myndighed = m;
    header.sag_identifikator = Some(sag_id.parse().unwrap());
    sag.myndighed = m;
    sag.sag_identifikator = sag_id.parse().unwrap();
    r
}

/// The request in a document the fake platform received, and whether it is valid.
pub fn request_in(body: &str) -> (bool, Request) {
    let d = sim_wire::read(body.as_bytes(), None).unwrap();
    let valid = d.is_valid();
    match d.message {
        Some(sim_wire::Message::Request(r)) => (valid, r),
        other => panic!("not a request: {other:?}"),
    }
}

/// Asks `probe` until it gives something, for at most [`PATIENCE`] three times over: a
/// bound for a hung test on a slow machine, not a timing check.
pub async fn eventually<T, F, Fut>(what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + PATIENCE * 3;
    loop {
        if let Some(t) = probe().await {
            return t;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "gave up waiting: {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The process's configuration for the three vendors of scenarios/vendors.csv.
pub fn config(pki: &Pki, platform_url: &str, state_dir: &Path, seed: u64) -> Config {
    let vendor = |instance: &str, name: &str, ms: &[&str]| VendorConfig {
        instance: instance.into(),
        vendor: name.into(),
        identity: pki.system_files(instance),
        system_uuid: pki.uuid(instance),
        municipalities: ms.iter().map(|m| m.to_string()).collect(),
        policy: VendorPolicy::default(),
    };
    Config {
        state_dir: state_dir.to_path_buf(),
        server: pki.server_files("jobcenter"),
        client_trust: vec![pki.root()],
        server_trust: vec![pki.root()],
        platform: Endpoint {
            url: platform_url.into(),
        },
        ky_platform: None,
        kombit_system: SystemRef {
            cvr: KOMBIT_CVR.into(),
            uuid: Some(pki.uuid("kombit")),
        },
        vendors: vec![
            vendor("kmd-jc", "KMD", &KMD_MUNICIPALITIES),
            vendor("schultz-jc", "Schultz", &[SCHULTZ_MUNICIPALITY]),
            vendor("netcompany-jc", "Netcompany", &[NETCOMPANY_MUNICIPALITY]),
        ],
        call_timeout_ms: 5_000,
        max_send_attempts: 5,
        resend_max_backoff_ms: 300_000,
        seed,
        admin_token: None,
        journal_retention: Default::default(),
        clock: sim_store::Clock::real(),
        faults: sim_kit::faults::Faults::none(),
        vendor_faults: Default::default(),
    }
}

/// Gives `instance` of `config` the SF2090/SF2093 `policy` (its [`VendorConfig::policy`]).
pub fn set_policy(config: &mut Config, instance: &str, policy: VendorPolicy) {
    let v = config
        .vendors
        .iter_mut()
        .find(|v| v.instance == instance)
        .unwrap_or_else(|| panic!("no vendor instance '{instance}' in the config"));
    v.policy = policy;
}

/// KSD's business receipt (ACCEPTERET) for `tid`, as the platform forwards it: the
/// AuthorityContext and the header's Myndighed both name `municipality`.
pub fn forretnings_svar(municipality: &str, tid: &str) -> String {
    let mut header = sim_wire::examples::header();
    header.transaktion_identifikator = tid.parse().unwrap();
    header.myndighed = municipality.parse().unwrap();
    sim_wire::write_request(&Request {
        operation: Operation::ModtagForretningsSvarJc,
        call_context: None,
        authority_context: Some(AuthorityContext {
            municipality_cvr: municipality.parse().unwrap(),
        }),
        payload: Payload::ForretningsSvar(ForretningsSvar {
            header,
            kvittering: Forretningskvittering {
                kode: ForretningsValideringsKode::Accepteret,
                begrundelse: None,
                fejl_liste: vec![],
            },
        }),
    })
}

/// An upper bound for waits that should end at once: for a hung test, not a timing check.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// Minimal plain-HTTP JSON client for the admin API.
pub async fn admin(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: Option<serde_json::Value>,
) -> (u16, serde_json::Value) {
    use http_body_util::{BodyExt, Full};
    use hyper_util::client::legacy::Client;
    use hyper_util::rt::TokioExecutor;
    let client: Client<_, Full<axum::body::Bytes>> =
        Client::builder(TokioExecutor::new()).build_http();
    let req = hyper::Request::builder()
        .method(method)
        .uri(format!("http://{addr}{path}"))
        .header("content-type", "application/json")
        .body(Full::new(axum::body::Bytes::from(
            body.map(|b| b.to_string()).unwrap_or_default(),
        )))
        .unwrap();
    let resp = client.request(req).await.unwrap();
    let status = resp.status().as_u16();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    let json = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
    (status, json)
}
