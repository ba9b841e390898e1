//! Scenario runs across processes (`sim run --processes`): every program a `sim serve`
//! process of its own, sharing the clock by parameters and deciding its own receiving-side
//! faults from the scenario and seed; outages are real signals to real processes.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// One run across processes at a time: four programs and a runner on two cores keep up with a
/// compressed clock, two such runs beside each other may not (the liveness deadlines are
/// virtual, and virtual time does not wait for a loaded machine).
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn sim_run(scenario: &Path, state: &Path, extra: &[&str]) -> Output {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    Command::new(env!("CARGO_BIN_EXE_sim"))
        .args([
            "run",
            scenario.to_str().unwrap(),
            "--progress",
            "plain",
            "--state-dir",
            state.to_str().unwrap(),
        ])
        .args(extra)
        .output()
        .unwrap()
}

fn shipped(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios")
        .join(name)
}

fn passed(out: &Output) {
    assert_eq!(
        out.status.code(),
        Some(0),
        "stdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Every update the vendors generated: TransaktionIdentifikator, person, municipality.
fn generated(state: &Path) -> Vec<(String, String, String)> {
    let db =
        sim_store::rusqlite::Connection::open(state.join("jobcenter/jobcenter.sqlite")).unwrap();
    let mut st = db
        .prepare("SELECT transaktion_id, cpr, municipality FROM jc_updates ORDER BY transaktion_id")
        .unwrap();
    st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// The smoke scenario across four separately started processes passes every checker
/// (SP-2, SP-3, KSD-2, KSD-7, KSD-12, KY-1, SP-10, BF-1, BF-2), each process reports its own
/// memory and CPU, and the same seed gives the very messages an in-process run gives.
#[test]
fn a_scenario_across_processes_passes_and_its_seed_repeats_its_messages() {
    let dir = tempfile::tempdir().unwrap();
    let (across, inside) = (dir.path().join("across"), dir.path().join("inside"));
    let json = dir.path().join("report.json");
    let out = sim_run(
        &shipped("smoke.yaml"),
        &across,
        &[
            "--processes",
            "--speed",
            "30",
            "--seed",
            "11",
            "--json",
            json.to_str().unwrap(),
        ],
    );
    passed(&out);
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    for program in ["sim-sp", "sim-ksd", "sim-jobcenter", "sim-star"] {
        let p = report["programs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| {
                p["name"]
                    .as_str()
                    .unwrap()
                    .starts_with(&format!("{program} (its own process"))
            })
            .unwrap_or_else(|| panic!("{program} in {}", report["programs"]));
        assert!(p["peak_rss_bytes"].as_u64().unwrap() > 1 << 20, "{p}");
        assert!(p["cpu_seconds"].as_f64().is_some(), "{p}");
    }
    // Each program ran in its own process: its own log, its own pid.
    for log in ["sim-sp", "sim-ksd", "sim-jobcenter", "sim-star"] {
        let text = std::fs::read_to_string(across.join("logs").join(format!("{log}.log"))).unwrap();
        assert!(text.contains(&format!("sim serve: {log} is up")), "{text}");
    }
    passed(&sim_run(&shipped("smoke.yaml"), &inside, &["--seed", "11"]));
    let (a, b) = (generated(&across), generated(&inside));
    assert!(a.len() >= 250, "{}", a.len());
    assert_eq!(
        a, b,
        "the same seed across processes and in one: the same messages"
    );
}

/// Each of the four processes killed with SIGKILL mid-run and started again (resuming the
/// run from its files), and KSD frozen with SIGSTOP: nothing lost (KSD-2, JC-1, SP-10,
/// BF-2), nothing misrouted (SP-3) or processed twice (KSD-7).
#[test]
fn kill_9_of_each_process_mid_run_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let json = dir.path().join("report.json");
    let out = sim_run(
        &shipped("kill-each.yaml"),
        &state,
        &["--processes", "--json", json.to_str().unwrap()],
    );
    passed(&out);
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let done =
        |kind: &str, target: &str| {
            report["faults"].as_array().unwrap().iter().any(|f| {
                f["kind"] == kind && f["target"] == target && f["count"].as_u64() == Some(1)
            })
        };
    for target in ["jobcenter", "ksd", "sp", "star"] {
        assert!(
            done("crash", target),
            "crash {target}: {}",
            report["faults"]
        );
        // A new process resumed the run: the log holds two starts.
        let log =
            std::fs::read_to_string(state.join("logs").join(format!("sim-{target}.log"))).unwrap();
        assert!(log.contains("resuming the scenario run"), "{log}");
    }
    assert!(done("pause", "ksd"), "{}", report["faults"]);
    assert!(report["totals"]["receipts"].as_u64().unwrap() >= 190);
}

/// What cannot be done is refused before anything starts, with the reason: speed `max`
/// across processes (one clock moving with the traffic), and a `pause` in one process.
#[test]
fn what_processes_cannot_do_is_refused_up_front() {
    let dir = tempfile::tempdir().unwrap();
    let out = sim_run(
        &shipped("smoke.yaml"),
        &dir.path().join("a"),
        &["--processes"],
    );
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("speed max cannot run across processes"),
        "{err}"
    );
    assert!(
        !dir.path().join("a").join("logs").exists(),
        "no process was started"
    );

    let out = sim_run(&shipped("kill-each.yaml"), &dir.path().join("b"), &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("needs the programs in processes or containers"),
        "{err}"
    );
}

/// Programs started by someone else (here: this test, as four `sim serve` processes), driven
/// by `sim run --ecosystem URL` with the file served over HTTP by Python's `http.server`, and
/// hurt through the file's own commands (a shell killing and restarting a process by its pid
/// file, SIGSTOP and SIGCONT): each program killed and started again and KSD frozen, nothing
/// lost (KSD-2, JC-1, SP-10, BF-2), nothing misrouted (SP-3) or processed twice (KSD-7).
#[test]
fn programs_started_elsewhere_are_driven_and_hurt_through_an_ecosystem_file_served_over_http() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    std::fs::create_dir_all(&state).unwrap();
    let base = free_base(40);
    let sim = env!("CARGO_BIN_EXE_sim");
    let programs = [("star", 0), ("sp", 1), ("ksd", 2), ("jobcenter", 3)];
    let control = |i: u16| base + 30 + i;
    // A program's start, as a shell line that records its pid: also the file's `restart`.
    let start_line = |name: &str, i: u16| {
        format!(
            "{sim} serve {name} --state-dir {s} --port-base {base} --control-port {c} >> {s}/{name}.log 2>&1 & echo $! > {s}/{name}.pid",
            s = state.display(),
            c = control(i),
        )
    };
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    // The certificates once, before four processes race for them.
    let made = Command::new(sim)
        .args(["certs", "--state-dir", state.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(made.status.success(), "{made:?}");
    for (name, i) in programs {
        let ok = Command::new("sh")
            .args(["-c", &start_line(name, i)])
            .status()
            .unwrap();
        assert!(ok.success());
    }
    let _stop = KillOnDrop(state.clone());
    let mut yaml = format!(
        "host: 127.0.0.1\nport_base: {base}\nstate_dir: {}\nprograms:\n",
        state.display()
    );
    for (name, i) in programs {
        let pid = format!("$(cat {}/{name}.pid)", state.display());
        yaml.push_str(&format!(
            "  {name}:\n    control: http://127.0.0.1:{c}\n    crash: [sh, -c, \"kill -9 {pid}\"]\n    restart: [sh, -c, \"{r}\"]\n    pause: [sh, -c, \"kill -STOP {pid}\"]\n    resume: [sh, -c, \"kill -CONT {pid}\"]\n",
            c = control(i),
            r = start_line(name, i),
        ));
    }
    let served = dir.path().join("served");
    std::fs::create_dir_all(&served).unwrap();
    std::fs::write(served.join("ecosystem.yaml"), yaml).unwrap();
    let http_port = base + 38;
    let mut server = Command::new("python3")
        .args([
            "-m",
            "http.server",
            &http_port.to_string(),
            "--bind",
            "127.0.0.1",
        ])
        .current_dir(&served)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(500));
    let json = dir.path().join("report.json");
    let out = Command::new(sim)
        .args([
            "run",
            shipped("kill-each.yaml").to_str().unwrap(),
            "--progress",
            "plain",
            "--ecosystem",
            &format!("http://127.0.0.1:{http_port}/ecosystem.yaml"),
            "--json",
            json.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let _ = server.kill();
    let _ = server.wait();
    passed(&out);
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    for target in ["jobcenter", "ksd", "sp", "star"] {
        assert!(
            report["faults"].as_array().unwrap().iter().any(|f| {
                f["kind"] == "crash" && f["target"] == target && f["count"].as_u64() == Some(1)
            }),
            "crash {target}: {}",
            report["faults"]
        );
        let log = std::fs::read_to_string(state.join(format!("{target}.log"))).unwrap();
        assert!(log.contains("resuming the scenario run"), "{target}: {log}");
    }
}

/// Kills whatever `sim serve` the pid files of a test's state directory name.
struct KillOnDrop(PathBuf);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        for name in ["star", "sp", "ksd", "jobcenter"] {
            if let Ok(pid) = std::fs::read_to_string(self.0.join(format!("{name}.pid"))) {
                let pid = pid.trim();
                let _ = Command::new("kill").args(["-CONT", pid]).status();
                let _ = Command::new("kill").args(["-9", pid]).status();
            }
        }
    }
}

/// The first of `n` consecutive loopback ports that are free now; each call starts its
/// search elsewhere, so tests running side by side do not pick the same span.
fn free_base(n: u16) -> u16 {
    static CALLS: std::sync::atomic::AtomicU16 = std::sync::atomic::AtomicU16::new(0);
    let call = CALLS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let mut base = 20_000 + ((std::process::id() % 100) as u16 + call * 17) % 120 * 100;
    loop {
        if (base..base + n).all(|p| std::net::TcpListener::bind(("127.0.0.1", p)).is_ok()) {
            return base;
        }
        base = if base > 32_000 { 20_000 } else { base + n + 7 };
    }
}

/// `sim serve`'s control API, driven with curl: a run it cannot take (an epoch in seconds, not
/// milliseconds; speed `max`) is refused with 400 and leaves the program as it was; a good run
/// is taken, kept beside the state, and `DELETE /run` stops the program and forgets the run.
#[test]
fn the_control_api_refuses_what_it_cannot_run_and_keeps_answering() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let base = free_base(40);
    let control = base + 30;
    let mut serve = Command::new(env!("CARGO_BIN_EXE_sim"))
        .args([
            "serve",
            "ksd",
            "--state-dir",
            state.to_str().unwrap(),
            "--port-base",
            &base.to_string(),
            "--control-port",
            &control.to_string(),
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let url = format!("http://127.0.0.1:{control}");
    let curl = |args: &[&str]| -> (String, String) {
        let out = Command::new("curl")
            .args(["-s", "-w", "\n%{http_code}"])
            .args(args)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let (body, code) = text.rsplit_once('\n').unwrap_or((&text, ""));
        (body.to_string(), code.to_string())
    };
    let mut up = false;
    for _ in 0..100 {
        if curl(&[&format!("{url}/health")]).1 == "200" {
            up = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(up, "sim serve ksd did not answer");
    let smoke = std::fs::read_to_string(shipped("smoke.yaml")).unwrap();
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let put = |epoch: i64, speed: &str| {
        let body = serde_json::json!({
            "scenario": smoke, "file": "smoke.yaml", "seed": 3, "speed": speed,
            "epoch_unix_ms": epoch,
        })
        .to_string();
        curl(&["-X", "PUT", "--data-binary", &body, &format!("{url}/run")])
    };
    let (body, code) = put(now_ms / 1000, "30");
    assert_eq!(code, "400", "{body}");
    assert!(body.contains("Unix milliseconds"), "{body}");
    let (body, code) = put(now_ms + 2000, "max");
    assert_eq!(code, "400", "{body}");
    assert!(
        body.contains("speed max cannot run across processes"),
        "{body}"
    );
    let (health, _) = curl(&[&format!("{url}/health")]);
    assert!(
        health.contains("\"hosting\":true") && health.contains("\"run\":null"),
        "{health}"
    );

    let (body, code) = put(now_ms + 2000, "30");
    assert_eq!(code, "200", "{body}");
    assert!(state.join("run-sim-ksd.json").exists());
    let (run, code) = curl(&[&format!("{url}/run")]);
    assert_eq!(code, "200", "{run}");
    assert!(run.contains("\"faults\":[]"), "{run}");
    let (body, code) = curl(&["-X", "DELETE", &format!("{url}/run")]);
    assert_eq!(code, "200", "{body}");
    assert!(!state.join("run-sim-ksd.json").exists());
    let (health, _) = curl(&[&format!("{url}/health")]);
    assert!(health.contains("\"hosting\":false"), "{health}");
    let _ = serve.kill();
    let _ = serve.wait();
}
