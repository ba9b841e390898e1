//! Test harness: a PKI in a temp dir, STAR on 127.0.0.1:0 with a manual clock, a client that
//! calls STAR as the platform's job does (KOMBIT's certificate, SP-12's headers), and admin
//! queries.
#![allow(dead_code)] // each test file uses a different subset

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;
use sim_certs::store::{ensure, layout};
use sim_certs::{parse_vendors_csv, PkiSpec};
use sim_kit::soap::SoapClient;
use sim_scenario::star::StarStream;
use sim_scenario::Volume;
use sim_star::{Config, IdentityFiles, Listeners, StarError};
use sim_store::Clock;
use sim_wire::star::{
    self, CreateSequenceRequest, CreateSequenceResponse, IllnessUpdateRegistration, StarCall,
    StarHeaders, StarOperation, StarReply, StarRequest, StarResponse,
};
use sim_wire::{DatoTid, Rule, Uuid};
use time::OffsetDateTime;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The first virtual instant of every test: a Monday morning.
pub fn t0() -> OffsetDateTime {
    time::macros::datetime!(2026-03-02 08:00 +01:00)
}

/// A whole test PKI: CA, the `star` server, systems `kombit` (the platform's job) and a vendor
/// `acme-jc` (a caller STAR does not know).
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

    pub fn dir(&self) -> &Path {
        self.dir.path()
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

    /// A SOAP client presenting a system certificate (`kombit` is how the platform calls).
    pub fn client(&self, stem: &str) -> SoapClient {
        SoapClient::new(
            sim_kit::config::client(&self.system(stem), &[self.root()], Duration::from_secs(20))
                .unwrap(),
        )
    }
}

/// `total` events over the first hour from [`t0`], about 40 persons.
pub fn stream(total: u64) -> StarStream {
    StarStream {
        end: Some(t0() + time::Duration::hours(1)),
        volume: Volume::Total(total),
        population: 40,
        ..StarStream::new(11, t0())
    }
}

/// STAR's configuration for a test: KOMBIT as the only caller, `stream`, the manual `clock`.
pub fn config(
    pki: &Pki,
    state_dir: &Path,
    data: SocketAddr,
    clock: Clock,
    s: StarStream,
) -> Config {
    let events = sim_star::EventsConfig {
        stream: Some(s),
        ..Default::default()
    };
    Config {
        state_dir: state_dir.to_path_buf(),
        server: pki.server("star"),
        client_trust: vec![pki.root()],
        allowed_caller_cvrs: vec![sim_wire::municipalities::KOMBIT_CVR.to_string()],
        public_url: format!("https://localhost:{}", data.port()),
        events,
        sequence_timeout_ms: sim_star::config::DEFAULT_SEQUENCE_TIMEOUT_MS,
        max_events_per_sequence: None,
        journal_retention: Default::default(),
        admin_token: None,
        clock,
        faults: sim_kit::faults::Faults::none(),
        star_faults: Default::default(),
    }
}

/// STAR running in the test's runtime.
pub struct RunningStar {
    pub data: SocketAddr,
    pub admin: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    handle: JoinHandle<Result<(), StarError>>,
}

/// Binds the two listeners first, so the config can name STAR's own URL.
pub async fn listeners() -> (Listeners, SocketAddr) {
    let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let l = Listeners::bind(any, any).await.unwrap();
    let data = l.addrs().unwrap().0;
    (l, data)
}

pub async fn start(listeners: Listeners, config: Config) -> RunningStar {
    let (data, admin) = listeners.addrs().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let handle = tokio::spawn(async move {
        let r = sim_star::run(listeners, config, async {
            let _ = stopped.await;
        })
        .await;
        if let Err(e) = &r {
            eprintln!("STAR stopped with an error: {e}");
        }
        r
    });
    RunningStar {
        data,
        admin,
        stop: Some(stop),
        handle,
    }
}

/// The reply to a call: status and body.
pub struct Reply {
    pub status: u16,
    pub body: String,
}

impl Reply {
    pub fn read(&self) -> StarReply {
        star::read_response(self.body.as_bytes())
            .unwrap_or_else(|e| panic!("unreadable answer ({e}): {}", self.body))
    }

    pub fn response(&self) -> StarResponse {
        assert_eq!(self.status, 200, "{}", self.body);
        match self.read() {
            StarReply::Response(r) => r,
            StarReply::Fault(f) => panic!("a fault: {f:?}"),
        }
    }

    /// The rule a fault names (panics on anything but a fault).
    pub fn fault_rule(&self) -> Rule {
        assert_eq!(self.status, 500, "{}", self.body);
        match self.read() {
            StarReply::Fault(f) => f.rule().unwrap_or_else(|| panic!("no rule: {f:?}")),
            other => panic!("not a fault: {other:?}"),
        }
    }
}

impl RunningStar {
    pub fn url(&self, path: &str) -> String {
        format!("https://localhost:{}{path}", self.data.port())
    }

    /// Stops STAR and waits until `run` returned.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.handle.await.unwrap().unwrap();
    }

    /// Sends `call` as `client` to the service of its operation, with its SOAPAction.
    pub async fn send(&self, client: &SoapClient, call: &StarCall) -> Result<Reply, String> {
        let op = call.operation();
        self.post(client, op, star::write_request(call).unwrap())
            .await
    }

    /// Posts `xml` as a call of `op` to `op`'s service.
    pub async fn post(
        &self,
        client: &SoapClient,
        op: StarOperation,
        xml: String,
    ) -> Result<Reply, String> {
        let path = match op {
            StarOperation::GetIllnessUpdatedVersion6 => sim_star::WSRM_MESSAGE_SERVICE_PATH,
            _ => sim_star::WSRM_SERVICE_PATH,
        };
        client
            .call(&self.url(path), &op.soap_action(), xml)
            .await
            .map(|r| Reply {
                status: r.status,
                body: r.body,
            })
            .map_err(|e| e.to_string())
    }

    /// CreateSequence as the platform's job sends it: the sequence and its MessageCount.
    pub async fn create(&self, client: &SoapClient, now: OffsetDateTime) -> CreateSequenceResponse {
        let call = StarCall {
            headers: headers(now),
            request: StarRequest::CreateSequence(CreateSequenceRequest::ksd()),
        };
        match self.send(client, &call).await.unwrap().response() {
            StarResponse::CreateSequence(c) => c,
            other => panic!("{other:?}"),
        }
    }

    /// GetIllnessUpdatedVersion6 of `sequence`: the raw reply (or the transport error).
    pub async fn fetch(
        &self,
        client: &SoapClient,
        now: OffsetDateTime,
        sequence: Uuid,
    ) -> Result<Reply, String> {
        let call = StarCall {
            headers: headers(now).with_sequence(sequence),
            request: StarRequest::GetIllnessUpdated,
        };
        self.send(client, &call).await
    }

    /// The events of `sequence` (panics on anything else).
    pub async fn events(
        &self,
        client: &SoapClient,
        now: OffsetDateTime,
        sequence: Uuid,
    ) -> Vec<IllnessUpdateRegistration> {
        match self.fetch(client, now, sequence).await.unwrap().response() {
            StarResponse::GetIllnessUpdated(e) => e,
            other => panic!("{other:?}"),
        }
    }

    /// TerminateSequence (`terminate`) or CloseSequence of `sequence`.
    pub async fn end(
        &self,
        client: &SoapClient,
        now: OffsetDateTime,
        sequence: Uuid,
        terminate: bool,
    ) -> Reply {
        let id = star::SequenceIdentifier {
            identifier: sequence,
        };
        let request = if terminate {
            StarRequest::TerminateSequence(id)
        } else {
            StarRequest::CloseSequence(id)
        };
        let call = StarCall {
            headers: headers(now),
            request,
        };
        self.send(client, &call).await.unwrap()
    }

    /// GET on the admin API: status and JSON body.
    pub async fn get(&self, path: &str) -> (u16, Value) {
        let mut s = tokio::net::TcpStream::connect(self.admin).await.unwrap();
        let request =
            format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
        s.write_all(request.as_bytes()).await.unwrap();
        let mut buf = Vec::new();
        s.read_to_end(&mut buf).await.unwrap();
        let text = String::from_utf8(buf).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
        (status, serde_json::from_str(body).unwrap_or(Value::Null))
    }

    /// The queue's counts (`GET /queue`).
    pub async fn queue(&self) -> Value {
        let (status, v) = self.get("/queue").await;
        assert_eq!(status, 200, "{v}");
        v
    }

    /// Journal rows matching a query string such as `operation=STAR/CreateSequence`.
    pub async fn journal(&self, query: &str) -> Vec<Value> {
        let (status, v) = self.get(&format!("/journal?{query}")).await;
        assert_eq!(status, 200, "{v}");
        v.as_array().unwrap().clone()
    }
}

/// SP-12's headers at `now`.
pub fn headers(now: OffsetDateTime) -> StarHeaders {
    StarHeaders::ksd(DatoTid(now))
}

/// The MessageIdentifiers of `events`, in order.
pub fn ids(events: &[IllnessUpdateRegistration]) -> Vec<Uuid> {
    events
        .iter()
        .map(|e| e.illness.message_identifier)
        .collect()
}
