//! An outside platform in the platform's seat during `sim run` (issue 10): our own `sim-sp`
//! binary started as a separate process, configured as an operator would (routing,
//! agreements, where KSD and the vendors are), between the simulated vendors and KSD. The run
//! drives it and grades it from what the vendors and KSD saw of it; a platform that routes a
//! municipality to the wrong vendor loses its receipts (SP-2) and fails the run.

mod outside;

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};

use outside::{
    finished, free_port, seat_status, simulator_certs, start_program, Killed, PYTHON_PLATFORM,
};
use sim::ecosystem::wiring::{derive, Addrs};
use sim::ecosystem::{EcosystemConfig, Ports};
use sim_certs::store::layout;

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
        star: None,
    };
    let mut sp = derive(&cfg, &spec, &addrs).unwrap().sp;
    sp.state_dir = dir.join("outside-sp");
    for (cvr, instance) in reroute {
        sp.routing.insert(cvr.to_string(), instance.to_string());
    }
    let file = dir.join("outside-sp.yaml");
    std::fs::write(&file, serde_json::to_string_pretty(&sp).unwrap()).unwrap();
    let guard = start_program("sim-sp", &file, data, admin);
    (guard, format!("https://127.0.0.1:{data}"))
}

/// The Python pass-through platform ([`PYTHON_PLATFORM`]) for the simulated programs on ports
/// from `base`, routing as `scenarios/routing.csv`, with the simulator's platform server
/// certificate; returns its guard and base URL.
fn python_platform(dir: &Path, certs: &Path, base: u16) -> (Killed, String) {
    simulator_certs(certs);
    let refdata = sim::refdata::RefData::embedded().unwrap();
    let ports = Ports::from_base(&refdata, base);
    let receiver = |p: u16| format!("https://127.0.0.1:{p}/jobcenter/Sygefravaer/2");
    let routes: serde_json::Map<String, serde_json::Value> = refdata
        .routing
        .iter()
        .map(|(cvr, i)| (cvr.to_string(), receiver(ports.vendors[i]).into()))
        .collect();
    std::fs::write(
        dir.join("routes.json"),
        serde_json::to_string(&routes).unwrap(),
    )
    .unwrap();
    let (server, kombit) = (layout::server(certs, "sp"), layout::system(certs, "kombit"));
    let root = layout::root_ca(certs);
    let mut child = Command::new("python3")
        .arg("-c")
        .arg(PYTHON_PLATFORM)
        .args([
            &server.chain,
            &server.key,
            &root,
            &kombit.chain,
            &kombit.key,
            &root,
        ])
        .arg(format!("https://127.0.0.1:{}/ksd/Sygefravaer/2", ports.ksd))
        .arg(dir.join("routes.json"))
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 is required (the outside platform)");
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    (Killed(child), format!("https://127.0.0.1:{}", line.trim()))
}

fn run(reroute: &[(&str, &str)]) -> (Option<i32>, serde_json::Value, String) {
    run_against(|dir, certs, base| outside_platform(dir, certs, base, reroute))
}

/// Runs the scenario with the platform `start` makes in the seat.
fn run_against(
    start: impl FnOnce(&Path, &Path, u16) -> (Killed, String),
) -> (Option<i32>, serde_json::Value, String) {
    let dir = tempfile::tempdir().unwrap();
    let certs = dir.path().join("certs");
    let base = free_base();
    let (_platform, url) = start(dir.path(), &certs, base);
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
fn a_platform_routing_to_the_wrong_vendor_loses_the_receipts_sp2() {
    // København (CVR 64942212) is kmd-jc's; this platform sends its receipts to schultz-jc,
    // which refuses them (JC-3); the pass-through hands KSD that FEJL (SP-13), so they never
    // reach a vendor: graded as the platform's misrouting.
    let (code, report, text) = run(&[("64942212", "schultz-jc")]);
    assert_eq!(seat_status(&report, "platform", "SP-2"), "fail", "{text}");
    assert_eq!(code, Some(1), "{text}");
}

/// The platform's seat taken by another stack: a Python `ssl` + `http.server` pass-through.
#[test]
fn a_python_platform_in_the_seat_is_driven_and_passes() {
    let (code, report, text) = run_against(python_platform);
    for rule in ["SP-1", "SP-2", "SP-4", "SP-7"] {
        assert_eq!(
            seat_status(&report, "platform", rule),
            "pass",
            "{rule}: {text}"
        );
    }
    assert_eq!(code, Some(0), "{text}");
}
