//! The `sim-ksd` binary on its own: a YAML configuration naming certificate files and the
//! platform; it answers the platform over mTLS, serves its admin API, and refuses a bad
//! configuration clearly.

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};

use common::{eventually, kvittering, update, Pki};
use sim_wire::{Operation, TransportValideringsKode};
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

fn yaml(pki: &Pki, state: &Path, ksd_system_uuid: &str) -> String {
    let kombit = pki.system_ref("kombit");
    format!(
        "state_dir: {state}
server: {{ cert: {s_cert}, key: {s_key} }}
client_trust: [{root}]
identity: {{ cert: {i_cert}, key: {i_key} }}
server_trust: [{root}]
platform: {{ url: \"https://localhost:9/service/JC/Sygefravaer/2\" }}
platform_system: {{ cvr: \"{cvr}\", uuid: \"{uuid}\" }}
ksd_system_uuid: \"{ksd_system_uuid}\"
receipt_delay_ms: 1000
",
        state = state.display(),
        s_cert = pki.server("ksd").cert.display(),
        s_key = pki.server("ksd").key.display(),
        root = pki.root().display(),
        i_cert = pki.system("ksd").cert.display(),
        i_key = pki.system("ksd").key.display(),
        cvr = kombit.cvr,
        uuid = kombit.uuid.unwrap(),
    )
}

// rule KSD-1 through the binary: the platform's call is answered with a TransportKvittering.
#[tokio::test]
async fn the_binary_runs_from_a_yaml_config_and_answers_the_platform() {
    let pki = Pki::new();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("ksd.yaml");
    let ksd_uuid = pki.system_ref("ksd").uuid.unwrap();
    std::fs::write(&config, yaml(&pki, &dir.path().join("state"), &ksd_uuid)).unwrap();
    let (data, admin) = (free_port(), free_port());
    let child = Command::new(env!("CARGO_BIN_EXE_sim-ksd"))
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
    let url = format!("https://localhost:{data}{}", sim_ksd::KSD_PATH);
    let xml = sim_wire::write_request(&update("3b4c5d6e-7f8a-4b9c-8d0e-2f3a4b5c6d7e", 20));
    let reply = eventually("the binary to answer", || {
        let (client, url, xml) = (client.clone(), url.clone(), xml.clone());
        async move {
            client
                .call(&url, &Operation::ModtagOpdateringFravaer.soap_action(), xml)
                .await
                .ok()
        }
    })
    .await;
    assert_eq!(kvittering(&reply).kode, TransportValideringsKode::Ok);

    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", admin))
        .await
        .unwrap();
    s.write_all(b"GET /health HTTP/1.0\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    let mut health = String::new();
    s.read_to_string(&mut health).await.unwrap();
    assert!(health.contains("\"component\":\"sim-ksd\""), "{health}");
    // The receipt waits for its delay (and the platform URL goes nowhere): still pending.
    assert!(health.contains("\"outbox_pending\":1"), "{health}");
}

#[test]
fn a_bad_configuration_is_refused_with_a_reason() {
    let pki = Pki::new();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("ksd.yaml");
    std::fs::write(&config, yaml(&pki, &dir.path().join("state"), "not-a-uuid")).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_sim-ksd"))
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
    assert!(err.contains("ksd_system_uuid"), "{err}");

    std::fs::write(&config, "state_dir: x\nserver: [not, a, map]\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_sim-ksd"))
        .args(["--config", config.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("ksd.yaml"), "{err}");
}
