//! What the end-to-end tests share: the whole ecosystem on `127.0.0.1:0` in a temporary
//! state directory, SOAP clients holding any system's certificate, and admin-API helpers.
#![allow(dead_code)]

use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;
use sim::admin_client::AdminClient;
use sim::ecosystem::{self, EcosystemConfig, Ports, Running};
use sim::refdata::RefData;
use sim_kit::config::IdentityFiles;
use sim_kit::soap::SoapClient;
use sim_wire::{Cvr, Message, Operation, Request, Uuid};

/// A running ecosystem and where its state lives.
pub struct Eco {
    pub running: Running,
    pub dir: tempfile::TempDir,
    pub refdata: RefData,
    pub admin: AdminClient,
}

impl Eco {
    pub async fn start() -> Eco {
        Eco::start_with(|_| {}).await
    }

    pub async fn start_with(tweak: impl FnOnce(&mut EcosystemConfig)) -> Eco {
        let dir = tempfile::tempdir().unwrap();
        let refdata = RefData::embedded().unwrap();
        let mut cfg = EcosystemConfig::new(dir.path(), refdata.clone());
        cfg.ports = Ports::ephemeral();
        tweak(&mut cfg);
        let running = ecosystem::start(cfg).await.unwrap();
        Eco {
            running,
            dir,
            refdata,
            admin: AdminClient::new(Duration::from_secs(60)),
        }
    }

    pub fn certs(&self) -> PathBuf {
        self.running.endpoints.certs_dir.clone()
    }

    /// A SOAP client presenting the system certificate `systems/<stem>`.
    pub fn client_as(&self, stem: &str) -> SoapClient {
        let dir = self.certs();
        let id = IdentityFiles {
            cert: dir.join(format!("systems/{stem}.chain.pem")),
            key: dir.join(format!("systems/{stem}.key.pem")),
        };
        let http = sim_kit::config::client(
            &id,
            &[dir.join("ca/root.cert.pem")],
            Duration::from_secs(20),
        )
        .unwrap();
        SoapClient::new(http)
    }

    /// The first municipality an instance serves.
    pub fn municipality_of(&self, instance: &str) -> Cvr {
        self.refdata.municipalities_of(instance)[0]
    }

    pub async fn get(&self, url: String) -> Value {
        let (status, v) = self.admin.get(&url).await.unwrap();
        assert_eq!(status, 200, "GET {url}: {v}");
        v
    }

    /// The platform's journal rows for a CallUUID.
    pub async fn sp_journal_by_call(&self, call_uuid: &Uuid) -> Vec<Value> {
        let v = self
            .get(format!(
                "{}/journal?call_uuid={call_uuid}",
                self.running.endpoints.sp_admin
            ))
            .await;
        v.as_array().unwrap().clone()
    }

    /// Polls `check` (bounded: up to ~30 s) until it returns Some.
    pub async fn eventually<T, F, Fut>(&self, what: &str, mut check: F) -> T
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Option<T>>,
    {
        for _ in 0..300 {
            if let Some(t) = check().await {
                return t;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("gave up waiting for: {what}");
    }
}

/// A fresh TransaktionIdentifikator (tests need unique ones; determinism is not the point here).
pub fn fresh_uuid(n: u64) -> Uuid {
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&n.to_be_bytes());
    b[8..].copy_from_slice(&std::process::id().to_be_bytes().repeat(2));
    Uuid::from_bytes(b)
}

/// The example request of `op`, for `municipality` in both the security context and the
/// header, with a fresh TransaktionIdentifikator.
pub fn request(op: Operation, municipality: Cvr, tid: Uuid) -> Request {
    let mut r = sim_wire::examples::request(op);
    r.authority_context = Some(sim_wire::AuthorityContext {
        municipality_cvr: municipality,
    });
    set_header(&mut r, |h| {
        h.myndighed = municipality;
        h.transaktion_identifikator = tid;
    });
    r
}

pub fn set_header(r: &mut Request, f: impl FnOnce(&mut sim_wire::Header)) {
    match &mut r.payload {
        sim_wire::Payload::OpdateringFravaer(p) => f(&mut p.header),
        sim_wire::Payload::ForretningsSvar(p) => f(&mut p.header),
        other => panic!("no header in {other:?}"),
    }
}

pub fn xml(r: &Request) -> String {
    sim_wire::write(&Message::Request(r.clone()))
}

/// Python's `ssl` + `http.client`: POST the file `body` with SOAPAction `action` to `url`,
/// presenting `cert`/`key`, trusting `ca`; prints the status and the body.
const PYTHON_CALLER: &str = r#"
import http.client, ssl, sys, urllib.parse
url, action, cert, key, ca, body = sys.argv[1:7]
u = urllib.parse.urlparse(url)
ctx = ssl.create_default_context(cafile=ca)
ctx.check_hostname = False
ctx.load_cert_chain(cert, key)
c = http.client.HTTPSConnection(u.hostname, u.port, context=ctx, timeout=30)
c.request("POST", u.path, body=open(body, 'rb').read(),
          headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '"' + action + '"'})
r = c.getresponse()
print(r.status)
sys.stdout.write(r.read().decode("utf-8"))
"#;

impl Eco {
    /// A caller we did not write: Python's TLS stack POSTs the file `body` to `url` with
    /// SOAPAction `action`, presenting the system certificate `systems/<stem>` and trusting
    /// the ecosystem's root; the HTTP status and the answer's body.
    pub fn python_post(
        &self,
        stem: &str,
        url: &str,
        action: &str,
        body: &std::path::Path,
    ) -> (String, String) {
        let certs = self.certs();
        let out = std::process::Command::new("python3")
            .arg("-c")
            .arg(PYTHON_CALLER)
            .arg(url)
            .arg(action)
            .arg(certs.join(format!("systems/{stem}.chain.pem")))
            .arg(certs.join(format!("systems/{stem}.key.pem")))
            .arg(certs.join("ca/root.cert.pem"))
            .arg(body)
            .output()
            .expect("python3 is required (the outside caller)");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8(out.stdout).unwrap();
        let (status, answer) = text.split_once('\n').unwrap();
        (status.to_string(), answer.to_string())
    }
}
