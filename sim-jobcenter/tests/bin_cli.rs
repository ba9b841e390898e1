//! The `sim-jobcenter` binary: reads a YAML config, listens per instance, serves the admin
//! API, and refuses a `--listen` for an instance the config does not have.

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;

fn free_port() -> u16 {
    // Bound and released at once; another process could take it in between, which on a
    // test machine is rare enough.
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn write_config(pki: &Pki, state: &std::path::Path) -> std::path::PathBuf {
    let cfg = config(
        pki,
        "https://localhost:1/service/KSD/Sygefravaer/2",
        state,
        1,
    );
    // JSON is YAML: the serde form of the same Config the library takes.
    let path = state.join("jobcenter.yaml");
    std::fs::write(&path, serde_json::to_string_pretty(&cfg).unwrap()).unwrap();
    path
}

#[tokio::test]
async fn binary_serves_every_instance_and_the_admin_api() {
    let pki = Pki::new();
    let state = tempfile::tempdir().unwrap();
    let path = write_config(&pki, state.path());
    let admin_port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_sim-jobcenter"))
        .arg("--config")
        .arg(&path)
        .args(["--admin", &format!("127.0.0.1:{admin_port}")])
        .args(["--listen", &format!("kmd-jc=127.0.0.1:{}", free_port())])
        .args(["--listen", &format!("schultz-jc=127.0.0.1:{}", free_port())])
        .args([
            "--listen",
            &format!("netcompany-jc=127.0.0.1:{}", free_port()),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let addr = format!("127.0.0.1:{admin_port}").parse().unwrap();
    let mut health = None;
    for _ in 0..500 {
        if tokio::net::TcpStream::connect(addr).await.is_ok() {
            health = Some(admin(addr, "GET", "/health", None).await);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    let (status, body) = health.expect("admin API came up");
    assert_eq!(status, 200);
    let instances = body["instances"].as_object().unwrap();
    assert_eq!(instances.len(), 3, "{body}");
    assert_eq!(
        instances["schultz-jc"]["municipalities"][0],
        SCHULTZ_MUNICIPALITY
    );
}

#[test]
fn binary_refuses_a_listen_for_an_unknown_instance() {
    let pki = Pki::new();
    let state = tempfile::tempdir().unwrap();
    let path = write_config(&pki, state.path());
    let out = Command::new(env!("CARGO_BIN_EXE_sim-jobcenter"))
        .arg("--config")
        .arg(&path)
        .args(["--admin", "127.0.0.1:0"])
        .args(["--listen", "kmd-jc=127.0.0.1:0"])
        .args(["--listen", "schultz-jc=127.0.0.1:0"])
        .args(["--listen", "netcompany-jc=127.0.0.1:0"])
        .args(["--listen", "acme-jc=127.0.0.1:0"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("acme-jc"), "{err}");
}

// rules KSD-10, KSD-11: a vendor's `policy:` in the configuration file is read, and one that
// cannot be drawn from stops the program before it serves.
#[test]
fn binary_refuses_a_vendor_policy_that_cannot_be_drawn_from() {
    let pki = Pki::new();
    let state = tempfile::tempdir().unwrap();
    let path = write_config(&pki, state.path());
    let mut cfg: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    cfg["vendors"][1]["policy"] = serde_json::json!({ "sf2093": { "late_share": 2.0 } });
    std::fs::write(&path, cfg.to_string()).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_sim-jobcenter"))
        .arg("--config")
        .arg(&path)
        .args(["--admin", "127.0.0.1:0"])
        .args(["--listen", "kmd-jc=127.0.0.1:0"])
        .args(["--listen", "schultz-jc=127.0.0.1:0"])
        .args(["--listen", "netcompany-jc=127.0.0.1:0"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("schultz-jc") && err.contains("late_share"),
        "{err}"
    );
}
