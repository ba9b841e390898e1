//! The Beskedfordeler's test harness: a test PKI, the Beskedfordeler behind a real mTLS server
//! on 127.0.0.1:0 (the platform's certificate), a subscriber's clients presenting KSD's
//! certificate, a push endpoint of our own stack, a manual clock, and the backend matrix that
//! runs every scenario against the embedded broker and against RabbitMQ.
//!
//! **How the RabbitMQ runs find their broker**: `SIM_TEST_AMQP_URL` (e.g.
//! `amqp://guest:guest@127.0.0.1:25672/BF`), set by `.ci/run`, which starts a private
//! `rabbitmq-server` for the test run and stops it by its PID afterwards. Without it every
//! RabbitMQ run fails and says so — it never passes silently.
#![allow(dead_code)] // each test file uses a different subset

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use sim_bf::client::{AmqpPuller, BfClient, EmbeddedPuller, Puller};
use sim_bf::{Agreements, Beskedfordeler, BfConfig, Broker, NewSubscription, Subscription};
use sim_certs::store::{ensure, layout};
use sim_certs::{parse_vendors_csv, PkiSpec};
use sim_kit::config::IdentityFiles;
use sim_kit::shutdown::{Shutdown, Trigger};
use sim_kit::soap::SoapCall;
use sim_store::Clock;
use sim_wire::besked::{self, Haendelsesbesked, StandardRetur, Sygemeldingsstatus};
use sim_wire::{Cpr, Cvr, Uuid};
use tokio::net::TcpListener;

/// The env var naming the RabbitMQ the tests use (see the module docs).
pub const AMQP_ENV: &str = "SIM_TEST_AMQP_URL";
/// KSD's organisation (KOMBIT's CVR: the test PKI's `ksd` system).
pub const KSD_CVR: &str = "19435075";
/// Another organisation (the test PKI's `acme-jc` vendor).
pub const ACME_CVR: &str = "99000077";

/// Which broker a run uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Embedded,
    Amqp,
}

/// The RabbitMQ URL, or a failure that says how to get one.
pub fn amqp_url() -> String {
    match std::env::var(AMQP_ENV) {
        Ok(u) if !u.is_empty() => u,
        _ => panic!(
            "{AMQP_ENV} is not set: the Beskedfordeler's RabbitMQ tests need a broker. `.ci/run` starts \
             one (Debian's rabbitmq-server, vhost BF) and sets it; by hand: start rabbitmq-server, \
             `rabbitmqctl add_vhost BF`, `rabbitmqctl set_permissions -p BF guest '.*' '.*' '.*'`, then \
             {AMQP_ENV}=amqp://guest:guest@127.0.0.1:5672/BF cargo test -p sim-bf"
        ),
    }
}

/// Runs `scenario` once per backend, the embedded broker first; a RabbitMQ run without a broker
/// fails (see [`amqp_url`]).
pub async fn each_backend<F, Fut>(scenario: F)
where
    F: Fn(Backend) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    for b in [Backend::Embedded, Backend::Amqp] {
        eprintln!("--- backend {b:?}");
        scenario(b).await;
    }
}

/// A whole test PKI: CA, servers `sp` and `ksd`, systems `kombit`, `ksd` and vendor `acme-jc`.
pub struct Pki {
    pub dir: tempfile::TempDir,
}

impl Pki {
    pub fn new() -> Pki {
        sim_kit::install_crypto_provider();
        let dir = tempfile::tempdir().unwrap();
        let vendors = parse_vendors_csv(&format!(
            "instance,vendor,cvr,name\nacme-jc,Acme,{ACME_CVR},Acme Jobcenter (simulated)\n"
        ))
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

    /// An HTTPS client presenting system `stem`'s certificate.
    pub fn https(&self, stem: &str) -> sim_kit::HttpsClient {
        sim_kit::config::client(&self.system(stem), &[self.root()], Duration::from_secs(10))
            .unwrap()
    }
}

/// A manual clock at a fixed start: leases and backoff move only when a test says.
pub fn manual_clock() -> Clock {
    Clock::manual(time::macros::datetime!(2026-11-23 08:00 UTC))
}

/// The Beskedfordeler running behind the platform's mTLS server.
pub struct Platform {
    pub bf: Beskedfordeler,
    pub addr: SocketAddr,
    pub state: PathBuf,
    pub clock: Clock,
    pub backend: Backend,
    stop: Option<Trigger>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

/// Agreements for KSD and Acme, none for anyone else.
pub fn agreements() -> Agreements {
    Arc::new(|cvr: &Cvr| [KSD_CVR, ACME_CVR].contains(&cvr.to_string().as_str()))
}

/// The configuration of a test's Beskedfordeler: the platform's push identity (KOMBIT's
/// certificate), quick backoff, a seed from the state directory so RabbitMQ queue names never
/// repeat between runs.
pub fn config(pki: &Pki, state: &Path, backend: Backend) -> BfConfig {
    let mut c = BfConfig::embedded(state);
    c.broker = match backend {
        Backend::Embedded => Broker::Embedded,
        Backend::Amqp => Broker::Amqp { url: amqp_url() },
    };
    c.push_client = Some(pki.https("kombit"));
    c.backoff = sim_store::Backoff {
        initial: Duration::from_secs(1),
        factor: 2.0,
        max: Duration::from_secs(60),
        jitter: 0.0,
    };
    c.seed = sim_seed_of(state);
    c
}

fn sim_seed_of(p: &Path) -> u64 {
    // FNV-1a of the (random) temporary directory's path.
    p.to_string_lossy()
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
        })
}

impl Platform {
    /// Opens the Beskedfordeler on `state` and serves its data router with the platform's
    /// server certificate, its workers running.
    pub async fn start(pki: &Pki, state: &Path, clock: Clock, backend: Backend) -> Platform {
        Platform::start_with(config(pki, state, backend), pki, clock, backend).await
    }

    pub async fn start_with(cfg: BfConfig, pki: &Pki, clock: Clock, backend: Backend) -> Platform {
        let state = cfg.state_dir.clone();
        let bf = Beskedfordeler::open(cfg, clock.clone(), agreements())
            .await
            .unwrap();
        let (trigger, stop) = Shutdown::new();
        let tls = sim_kit::config::server_tls(&pki.server("sp"), &[pki.root()]).unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut tasks = vec![tokio::spawn({
            let (router, wait) = (bf.data_router(), stop.wait());
            async move {
                let _ = sim_kit::serve(listener, tls, router, wait).await;
            }
        })];
        for w in bf.workers(&stop) {
            tasks.push(tokio::spawn(w));
        }
        Platform {
            bf,
            addr,
            state,
            clock,
            backend,
            stop: Some(trigger),
            tasks,
        }
    }

    /// Stops the server and the workers and drops the Beskedfordeler, waiting until its
    /// SQLite writer has finished (what a restarted platform waits for).
    pub async fn stop(mut self) -> (PathBuf, Clock, Backend) {
        if let Some(t) = self.stop.take() {
            t.fire();
        }
        for t in std::mem::take(&mut self.tasks) {
            let _ = t.await;
        }
        let (state, clock, backend) = (self.state.clone(), self.clock.clone(), self.backend);
        drop(self);
        for _ in 0..600 {
            if sim_store::writers_open_under(&state) == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        (state, clock, backend)
    }

    /// The Beskedfordeler endpoint's URL.
    pub fn url(&self) -> String {
        format!(
            "https://localhost:{}{}",
            self.addr.port(),
            besked::PLATFORM_PATH
        )
    }

    /// The SOAP services as system `stem` calls them.
    pub fn client(&self, pki: &Pki, stem: &str) -> BfClient {
        BfClient::new(pki.https(stem), self.url())
    }

    /// A pull subscription of KSD on `PersonkredsSygemeldingsstatus`.
    pub async fn pull_subscription(&self) -> Subscription {
        self.bf
            .create_subscription(NewSubscription {
                subscriber_cvr: KSD_CVR.into(),
                beskedtype: None,
                value_list: None,
                push_url: None,
                id: None,
            })
            .await
            .unwrap()
    }

    /// A puller for `sub` of this platform's backend, as KSD pulls.
    pub async fn puller(&self, pki: &Pki, sub: &Subscription) -> Box<dyn Puller> {
        self.puller_as(pki, sub, "ksd").await
    }

    /// A puller for `sub` as system `stem` pulls (its certificate, for the embedded broker).
    pub async fn puller_as(&self, pki: &Pki, sub: &Subscription, stem: &str) -> Box<dyn Puller> {
        let id: Uuid = sub.id.parse().unwrap();
        match self.backend {
            Backend::Embedded => Box::new(EmbeddedPuller::new(self.client(pki, stem), id)),
            Backend::Amqp => Box::new(
                AmqpPuller::connect(
                    &amqp_url(),
                    id,
                    self.clock.clone(),
                    sim_bf::config::DEFAULT_LEASE,
                )
                .await
                .unwrap(),
            ),
        }
    }

    /// Journal rows of an operation label (e.g. `BF/ModtagBesked#response`).
    pub async fn journal(&self, operation: &str) -> Vec<sim_store::JournalRow> {
        self.bf
            .journal()
            .query(sim_store::JournalFilter {
                operation: Some(operation.into()),
                limit: Some(10_000),
                ..Default::default()
            })
            .await
            .unwrap()
    }
}

/// A CPR number of the tests: `n`-th person born 1 Jan 1970 + n days.
pub fn cpr(n: u32) -> Cpr {
    let d = time::macros::date!(1970 - 01 - 01) + time::Duration::days(i64::from(n % 10_000));
    format!(
        "{:02}{:02}{:02}{:04}",
        d.day(),
        u8::from(d.month()),
        d.year() % 100,
        1000 + n % 9000
    )
    .parse()
    .unwrap()
}

/// A fresh UUID for the tests (v4: tests may draw, programs may not).
pub fn uuid() -> Uuid {
    Uuid::from_uuid(uuid::Uuid::new_v4())
}

/// A sick-leave status message for `person` as the platform's STAR job makes it (SP-11),
/// with æøå in the event.
pub fn besked_for(person: Cpr, clock: &Clock) -> Haendelsesbesked {
    let (mid, nrid) = (uuid(), uuid());
    let event =
        besked::examples::star_event_text(&person.to_string(), &mid.to_string(), &nrid.to_string());
    Haendelsesbesked::sygemeldingsstatus(Sygemeldingsstatus {
        besked_id: uuid(),
        cpr: person,
        message_identifier: mid,
        nem_refusion_identifier: nrid,
        dannelsestidspunkt: sim_wire::DatoTid(clock.now()),
        event: besked::base64::iso_8859_1_encode(&event).unwrap(),
    })
}

/// Polls `check` every 50 ms for at most 60 s: a bound, not a timing assertion.
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    for _ in 0..1200 {
        if let Some(v) = check().await {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("gave up waiting for: {what}");
}

/// Fetches until `n` messages came or a fetch finds nothing more (RabbitMQ may need a moment
/// to make a requeued message available again).
pub async fn fetch_n(p: &mut Box<dyn Puller>, n: usize) -> Vec<sim_bf::client::Pulled> {
    let mut got = Vec::new();
    for _ in 0..200 {
        got.extend(p.fetch(100).await.unwrap());
        if got.len() >= n {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    got
}

/// What the test's push endpoint answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Answer {
    /// StatusKode 20.
    Accept = 0,
    /// StatusKode 50.
    Refuse = 1,
    /// HTTP 500, no SOAP.
    Http500 = 2,
}

/// A subscriber's push endpoint of our own stack (KSD's server certificate, mTLS).
pub struct PushEndpoint {
    pub port: u16,
    pub answer: Arc<AtomicU8>,
    /// BeskedIds accepted (answered 20), in order; and every call's caller CVR.
    pub accepted: Arc<Mutex<Vec<String>>>,
    pub callers: Arc<Mutex<Vec<String>>>,
    stop: Option<Trigger>,
    task: Option<tokio::task::JoinHandle<()>>,
}

type PushState = (
    Arc<AtomicU8>,
    Arc<Mutex<Vec<String>>>,
    Arc<Mutex<Vec<String>>>,
);

async fn receive(State((answer, accepted, callers)): State<PushState>, call: SoapCall) -> Response {
    if let Some(p) = &call.peer {
        callers.lock().unwrap().push(p.cvr.as_str().to_string());
    }
    let b = match sim_bf::client::read_push(&call.body, call.soap_action.as_deref()) {
        Ok(b) => b,
        Err(e) => {
            return sim_kit::soap::ok_response(sim_bf::client::modtag_besked_answer(
                StandardRetur::fejl(besked::STATUSKODE_UGYLDIG, e.to_string()),
            ))
        }
    };
    match answer.load(Ordering::SeqCst) {
        0 => {
            accepted.lock().unwrap().push(b.besked_id.to_string());
            sim_kit::soap::ok_response(sim_bf::client::modtag_besked_answer(StandardRetur::ok()))
        }
        1 => sim_kit::soap::ok_response(sim_bf::client::modtag_besked_answer(StandardRetur::fejl(
            besked::STATUSKODE_FEJL,
            "the test's subscriber is busy",
        ))),
        _ => (
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            "down for a moment",
        )
            .into_response(),
    }
}

impl PushEndpoint {
    pub async fn start(pki: &Pki, port: u16) -> PushEndpoint {
        let mut e = PushEndpoint {
            port,
            answer: Arc::new(AtomicU8::new(0)),
            accepted: Arc::default(),
            callers: Arc::default(),
            stop: None,
            task: None,
        };
        e.up(pki).await;
        e
    }

    /// Serves (again) on its port.
    pub async fn up(&mut self, pki: &Pki) {
        let listener = TcpListener::bind(("127.0.0.1", self.port)).await.unwrap();
        self.port = listener.local_addr().unwrap().port();
        let tls = sim_kit::config::server_tls(&pki.server("ksd"), &[pki.root()]).unwrap();
        let router = Router::new()
            .route("/ksd/Beskedfordeler/1", post(receive))
            .with_state((
                self.answer.clone(),
                self.accepted.clone(),
                self.callers.clone(),
            ));
        let (trigger, stop) = Shutdown::new();
        self.stop = Some(trigger);
        self.task = Some(tokio::spawn(async move {
            let _ = sim_kit::serve(listener, tls, router, stop.wait()).await;
        }));
    }

    /// Stops serving: calls are refused at TCP.
    pub async fn down(&mut self) {
        if let Some(t) = self.stop.take() {
            t.fire();
        }
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
    }

    pub fn set(&self, a: Answer) {
        self.answer.store(a as u8, Ordering::SeqCst);
    }

    pub fn url(&self) -> String {
        format!("https://localhost:{}/ksd/Beskedfordeler/1", self.port)
    }

    pub fn accepted(&self) -> Vec<String> {
        self.accepted.lock().unwrap().clone()
    }
}
