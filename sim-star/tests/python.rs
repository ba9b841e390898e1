//! STAR against a client we did not write: Python's `ssl` + `http.client`, presenting
//! KOMBIT's certificate, posting the *published* example requests (`contracts/examples`) —
//! the answers parse with `sim_wire::star` — and reading a fetch a fault cuts after k events off
//! the wire: the bytes stop after k registrations, and Python sees an incomplete answer.

mod common;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use common::*;
use sim_star::{StarFaultHook, StarFaults};
use sim_store::Clock;
use sim_wire::star::{self, StarOperation, StarReply, StarResponse};
use sim_wire::{Rule, Uuid};

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
try:
    data = r.read()
    print(r.status)
except http.client.IncompleteRead as e:
    data = e.partial
    print("INCOMPLETE")
sys.stdout.write(data.decode("utf-8"))
"#;

/// Posts the file `body` to `url` with Python, as `systems/<stem>`: the first line (status or
/// `INCOMPLETE`) and the body.
fn python_post(pki: &Pki, stem: &str, url: &str, action: &str, body: &Path) -> (String, String) {
    let files = pki.system(stem);
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(PYTHON_CALLER)
        .arg(url)
        .arg(action)
        .arg(&files.cert)
        .arg(&files.key)
        .arg(pki.root())
        .arg(body)
        .output()
        .expect("python3 is required (the outside caller)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let (first, rest) = text.split_once('\n').unwrap();
    (first.to_string(), rest.to_string())
}

fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../contracts/examples")
        .join(name)
}

/// rules SP-10, SP-12 with Python's TLS stack and the published examples: CreateSequence is
/// answered and parses; the example fetch names a sequence STAR never made (SP-10 fault,
/// which parses too); terminating the real sequence works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_python_client_posts_the_published_examples() {
    let pki = Pki::new();
    let dir = tempfile::tempdir().unwrap();
    let clock = Clock::manual(t0());
    let (l, data) = listeners().await;
    let s = start(l, config(&pki, dir.path(), data, clock.clone(), stream(15))).await;
    clock.advance(std::time::Duration::from_secs(2 * 60 * 60));
    let wsrm = s.url(sim_star::WSRM_SERVICE_PATH);
    let message = s.url(sim_star::WSRM_MESSAGE_SERVICE_PATH);

    let (status, body) = python_post(
        &pki,
        "kombit",
        &wsrm,
        &StarOperation::CreateSequence.soap_action(),
        &example("STAR-CreateSequence-request.xml"),
    );
    assert_eq!(status, "200", "{body}");
    let created = match star::read_response(body.as_bytes()).unwrap() {
        StarReply::Response(StarResponse::CreateSequence(c)) => c,
        other => panic!("{other:?}"),
    };
    assert_eq!(created.services[0].service_endpoint, message);
    assert!(created.services[0].message_count > 0);

    let (status, body) = python_post(
        &pki,
        "kombit",
        &message,
        &StarOperation::GetIllnessUpdatedVersion6.soap_action(),
        &example("STAR-GetIllnessUpdatedVersion6-request.xml"),
    );
    assert_eq!(status, "500", "{body}");
    match star::read_response(body.as_bytes()).unwrap() {
        StarReply::Fault(f) => assert_eq!(f.rule(), Some(Rule::Sp10)),
        other => panic!("{other:?}"),
    }

    // The real sequence, terminated from Python with the example's shape.
    let terminate = dir.path().join("terminate.xml");
    let text = std::fs::read_to_string(example("STAR-TerminateSequence-request.xml"))
        .unwrap()
        .replace(star::examples::SEQUENCE, &created.identifier.to_string());
    std::fs::write(&terminate, text).unwrap();
    let (status, body) = python_post(
        &pki,
        "kombit",
        &wsrm,
        &StarOperation::TerminateSequence.soap_action(),
        &terminate,
    );
    assert_eq!(status, "200", "{body}");
    assert_eq!(
        star::read_response(body.as_bytes()).unwrap(),
        StarReply::Response(StarResponse::TerminateSequence)
    );
    assert_eq!(
        s.queue().await["gone"].as_u64(),
        Some(created.services[0].message_count)
    );
    s.stop().await;
}

struct CutAfterOne(AtomicBool);

impl StarFaults for CutAfterOne {
    fn cut_fetch_after(&self, _sequence: Uuid, count: u64) -> Option<u64> {
        (count >= 2 && !self.0.swap(true, Ordering::SeqCst)).then_some(1)
    }
}

/// The cut is on the wire: Python reads the head and exactly one registration, then the
/// connection ends without the rest of the answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_fetch_reaches_python_truncated_after_k_events() {
    let pki = Pki::new();
    let dir = tempfile::tempdir().unwrap();
    let clock = Clock::manual(t0());
    let (l, data) = listeners().await;
    let mut c = config(&pki, dir.path(), data, clock.clone(), stream(15));
    c.star_faults = StarFaultHook::with(Arc::new(CutAfterOne(AtomicBool::new(false))));
    let s = start(l, c).await;
    clock.advance(std::time::Duration::from_secs(2 * 60 * 60));
    let kombit = pki.client("kombit");
    let seq = s.create(&kombit, clock.now()).await;
    assert!(seq.services[0].message_count >= 2);

    let fetch = dir.path().join("fetch.xml");
    let text = std::fs::read_to_string(example("STAR-GetIllnessUpdatedVersion6-request.xml"))
        .unwrap()
        .replace(star::examples::SEQUENCE, &seq.identifier.to_string());
    std::fs::write(&fetch, text).unwrap();
    let action = StarOperation::GetIllnessUpdatedVersion6.soap_action();
    let url = s.url(sim_star::WSRM_MESSAGE_SERVICE_PATH);
    let (status, partial) = python_post(&pki, "kombit", &url, &action, &fetch);
    assert_eq!(status, "INCOMPLETE", "{partial}");
    assert_eq!(partial.matches("<IllnessUpdateRegistration>").count(), 1);
    assert!(
        partial.ends_with("</IllnessUpdateRegistration>\n"),
        "{partial}"
    );
    assert!(star::read_response(partial.as_bytes()).is_err());

    // Asked again (no more cuts), the whole answer comes.
    let (status, whole) = python_post(&pki, "kombit", &url, &action, &fetch);
    assert_eq!(status, "200");
    match star::read_response(whole.as_bytes()).unwrap() {
        StarReply::Response(StarResponse::GetIllnessUpdated(e)) => {
            assert_eq!(e.len() as u64, seq.services[0].message_count)
        }
        other => panic!("{other:?}"),
    }
    s.stop().await;
}
