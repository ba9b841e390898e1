//! The `sim-sp` binary on its own: a YAML configuration naming certificate files, peers,
//! routing and agreements; it serves its admin API and refuses a bad configuration clearly.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn http_get(port: u16, path: &str) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    Some(out)
}

struct Kill(Child);
impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn yaml(certs: &Path, state: &Path) -> String {
    let c = |p: &str| certs.join(p).display().to_string();
    format!(
        "state_dir: {state}
server: {{ cert: {sp_chain}, key: {sp_key} }}
client_trust: [{root}]
kombit: {{ cert: {k_chain}, key: {k_key} }}
server_trust: [{root}]
ksd: {{ url: https://127.0.0.1:9/ksd/Sygefravaer/2 }}
ksd_system: {{ cvr: \"19435075\" }}
instances:
  kmd-jc: {{ url: https://127.0.0.1:9/jobcenter/Sygefravaer/2 }}
routing:
  \"29189846\": kmd-jc
agreements:
  - system: {{ cvr: \"99000011\" }}
    municipality: \"29189846\"
",
        state = state.display(),
        sp_chain = c("servers/sp.chain.pem"),
        sp_key = c("servers/sp.key.pem"),
        root = c("ca/root.cert.pem"),
        k_chain = c("systems/kombit.chain.pem"),
        k_key = c("systems/kombit.key.pem"),
    )
}

#[test]
fn the_binary_runs_from_a_yaml_config_and_serves_its_admin_api() {
    let dir = tempfile::tempdir().unwrap();
    let certs = dir.path().join("certs");
    let vendors =
        sim_certs::parse_vendors_csv("instance,vendor,cvr,name\nkmd-jc,KMD,99000011,KMD test\n")
            .unwrap();
    let now = sim_certs::OffsetDateTime::from_unix_timestamp(1_790_000_000).unwrap();
    sim_certs::store::ensure(
        &certs,
        &sim_certs::PkiSpec::standard(&vendors, false),
        now,
        false,
    )
    .unwrap();
    let config = dir.path().join("sp.yaml");
    std::fs::write(&config, yaml(&certs, &dir.path().join("state"))).unwrap();
    let (data, admin) = (free_port(), free_port());
    let child = Command::new(env!("CARGO_BIN_EXE_sim-sp"))
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
    let mut health = None;
    for _ in 0..100 {
        health = http_get(admin, "/health");
        if health
            .as_deref()
            .is_some_and(|h| h.contains("\"status\":\"ok\""))
        {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(health.unwrap_or_default().contains("sim-sp"));
    // rule SP-3: the routing table came from the YAML.
    let routing = http_get(admin, "/routing").unwrap();
    assert!(routing.contains("\"29189846\":\"kmd-jc\""), "{routing}");
}

#[test]
fn a_bad_configuration_is_refused_with_its_position() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("sp.yaml");
    std::fs::write(&config, "state_dir: x\nserver: [not, a, map]\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_sim-sp"))
        .args(["--config", config.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("sp.yaml") && err.contains("line 2"), "{err}");
}
