//! The `sim-star` binary on its own: a YAML configuration naming certificate files and the
//! event stream; it serves the platform's job over mTLS, its admin API, and refuses a bad
//! configuration clearly.

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};

use common::{headers, Pki};
use sim_store::Clock;
use sim_wire::star::StarOperation;
use sim_wire::star::{self, CreateSequenceRequest, StarCall, StarReply, StarRequest, StarResponse};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Kills the child when the test ends, however it ends.
struct Kill(Child);
impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn yaml(pki: &Pki, state: &Path, data: u16, events: &str) -> String {
    format!(
        "state_dir: {state}
server: {{ cert: {cert}, key: {key} }}
client_trust: [{root}]
public_url: \"https://localhost:{data}\"
events: {events}
",
        state = state.display(),
        cert = pki.server("star").cert.display(),
        key = pki.server("star").key.display(),
        root = pki.root().display(),
    )
}

/// rule SP-10 through the binary: twenty events that happened an hour ago are handed out in
/// one sequence, at the ServiceEndpoint the config's public URL names.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_runs_from_a_yaml_config_and_serves_a_sequence() {
    let pki = Pki::new();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("star.yaml");
    let now = Clock::real().now();
    let fmt = |t: time::OffsetDateTime| {
        t.format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    };
    let events = format!(
        "{{ seed: 4, total: 20, population: 10, start: \"{}\", end: \"{}\" }}",
        fmt(now - time::Duration::hours(2)),
        fmt(now - time::Duration::hours(1))
    );
    let (data, admin) = (free_port(), free_port());
    std::fs::write(
        &config,
        yaml(&pki, &dir.path().join("state"), data, &events),
    )
    .unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_sim-star"))
        .args([
            "--config",
            config.to_str().unwrap(),
            "--listen",
            &format!("127.0.0.1:{data}"),
            "--admin",
            &format!("127.0.0.1:{admin}"),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _guard = Kill(child);

    let client = pki.client("kombit");
    let url = format!("https://localhost:{data}{}", sim_star::WSRM_SERVICE_PATH);
    let call = StarCall {
        headers: headers(Clock::real().now()),
        request: StarRequest::CreateSequence(CreateSequenceRequest::ksd()),
    };
    let xml = star::write_request(&call).unwrap();
    let mut reply = None;
    // A bound while the binary starts, not a timing assertion.
    for _ in 0..600 {
        match client
            .call(
                &url,
                &StarOperation::CreateSequence.soap_action(),
                xml.clone(),
            )
            .await
        {
            Ok(r) => {
                reply = Some(r);
                break;
            }
            Err(_) => tokio::time::sleep(std::time::Duration::from_millis(50)).await,
        }
    }
    let reply = reply.expect("the binary answers");
    match star::read_response(reply.body.as_bytes()).unwrap() {
        StarReply::Response(StarResponse::CreateSequence(c)) => {
            let item = &c.services[0];
            assert_eq!(item.message_count, sim_scenario_total(&events));
            assert_eq!(
                item.service_endpoint,
                format!(
                    "https://localhost:{data}{}",
                    sim_star::WSRM_MESSAGE_SERVICE_PATH
                )
            );
        }
        other => panic!("{other:?}"),
    }

    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", admin))
        .await
        .unwrap();
    s.write_all(b"GET /health HTTP/1.0\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    let mut health = String::new();
    s.read_to_string(&mut health).await.unwrap();
    assert!(health.contains("\"component\":\"sim-star\""), "{health}");
}

/// The stream the YAML describes, generated here as STAR does: how many events it holds.
fn sim_scenario_total(events: &str) -> u64 {
    let c: sim_star::EventsConfig = serde_saphyr::from_str(events).unwrap();
    let stream = c.stream(time::OffsetDateTime::UNIX_EPOCH).unwrap();
    stream.events().count() as u64
}

#[test]
fn a_bad_configuration_is_refused_with_a_reason() {
    let pki = Pki::new();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("star.yaml");
    let bad = yaml(
        &pki,
        &dir.path().join("state"),
        1,
        "{ per_month: 5, total: 5 }",
    );
    std::fs::write(&config, bad).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_sim-star"))
        .args([
            "--config",
            config.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
            "--admin",
            "127.0.0.1:0",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("per_month or total"), "{err}");

    std::fs::write(&config, "state_dir: x\nserver: [not, a, map]\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_sim-star"))
        .args(["--config", config.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("star.yaml"), "{err}");
}
