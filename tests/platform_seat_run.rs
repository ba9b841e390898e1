//! An outside platform in the platform's seat during `sim run` (issue 10): our own `sim-sp`
//! binary started as a separate process, configured as an operator would (routing,
//! agreements, where KSD and the vendors are), between the simulated vendors and KSD. The run
//! drives it and grades it from what the vendors and KSD saw of it; a platform that routes a
//! municipality to the wrong vendor loses its receipts (SP-4) and fails the run.

mod outside;

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use outside::{finished, free_port, seat_status, simulator_certs, Killed};
use sim::ecosystem::wiring::{derive, Addrs};
use sim::ecosystem::{EcosystemConfig, Ports};

/// København (kmd-jc) only, in real time.
const SCENARIO: &str = "
name: platform-seat
seed: 3
clock: {start: 2026-03-04T10:00:00+01:00, duration: 8s, speed: 1}
municipalities: [101]
volume: {total: 5}
receipt_delay: 100ms
faults: []
expectations: {liveness_deadline: 6s}
";

/// A base port with the ten after it free (the simulated programs' fixed ports).
fn free_base() -> u16 {
    loop {
        let base = free_port();
        if base < 60_000
            && (base..base + 10).all(|p| std::net::TcpListener::bind(("127.0.0.1", p)).is_ok())
        {
            return base;
        }
    }
}

/// Starts the outside platform for simulated programs on ports from `base`, with `reroute`
/// moving municipalities to other instances; returns its guard and base URL.
fn outside_platform(
    dir: &Path,
    certs: &Path,
    base: u16,
    reroute: &[(&str, &str)],
) -> (Killed, String) {
    simulator_certs(certs);
    let refdata = sim::refdata::RefData::embedded().unwrap();
    let spec = sim_certs::PkiSpec::standard(&refdata.vendors, false);
    let mut cfg = EcosystemConfig::new(&dir.join("outside-sp"), refdata.clone());
    cfg.certs_dir = certs.to_path_buf();
    let ports = Ports::from_base(&refdata, base);
    let at = |p: u16| SocketAddr::from(([127, 0, 0, 1], p));
    let (data, admin) = (free_port(), free_port());
    let addrs = Addrs {
        sp: (at(data), at(admin)),
        ksd: Some((at(ports.ksd), at(ports.ksd_admin))),
        vendors: ports
            .vendors
            .iter()
            .map(|(k, p)| (k.clone(), at(*p)))
            .collect(),
        jobcenter_admin: at(ports.jobcenter_admin),
    };
    let mut sp = derive(&cfg, &spec, &addrs).unwrap().sp;
    sp.state_dir = dir.join("outside-sp");
    for (cvr, instance) in reroute {
        sp.routing.insert(cvr.to_string(), instance.to_string());
    }
    let file = dir.join("outside-sp.yaml");
    std::fs::write(&file, serde_json::to_string_pretty(&sp).unwrap()).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_sim").replace("/sim", "/sim-sp"))
        .arg("--config")
        .arg(&file)
        .args(["--listen", &format!("127.0.0.1:{data}")])
        .args(["--admin", &format!("127.0.0.1:{admin}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the sim-sp binary (built by the workspace's tests)");
    let up = (0..100).any(|_| {
        std::thread::sleep(Duration::from_millis(100));
        std::net::TcpStream::connect(at(admin)).is_ok()
    });
    assert!(up, "the outside platform did not start");
    (Killed(child), format!("https://127.0.0.1:{data}"))
}

fn run(reroute: &[(&str, &str)]) -> (Option<i32>, serde_json::Value, String) {
    let dir = tempfile::tempdir().unwrap();
    let certs = dir.path().join("certs");
    let base = free_base();
    let (_platform, url) = outside_platform(dir.path(), &certs, base, reroute);
    std::fs::write(dir.path().join("s.yaml"), SCENARIO).unwrap();
    let json = dir.path().join("run.json");
    let out = Command::new(env!("CARGO_BIN_EXE_sim"))
        .arg("run")
        .arg(dir.path().join("s.yaml"))
        .args(["--progress", "plain", "--state-dir"])
        .arg(dir.path().join("state"))
        .arg("--certs")
        .arg(&certs)
        .args(["--port-base", &base.to_string()])
        .arg("--seat")
        .arg(format!("platform={url}"))
        .arg("--json")
        .arg(&json)
        .output()
        .unwrap();
    finished(out, &json)
}

#[test]
fn a_separately_started_platform_is_driven_and_passes() {
    let (code, report, text) = run(&[]);
    for rule in ["SP-1", "SP-2", "SP-4", "SP-7", "SP-8"] {
        assert_eq!(
            seat_status(&report, "platform", rule),
            "pass",
            "{rule}: {text}"
        );
    }
    assert_eq!(code, Some(0), "{text}");
}

#[test]
fn a_platform_routing_to_the_wrong_vendor_loses_the_receipts_sp4() {
    // København (CVR 64942212) is kmd-jc's; this platform sends its receipts to schultz-jc,
    // which refuses them (JC-3), so they never reach a vendor.
    let (code, report, text) = run(&[("64942212", "schultz-jc")]);
    assert_eq!(seat_status(&report, "platform", "SP-4"), "fail", "{text}");
    assert_eq!(code, Some(1), "{text}");
}
