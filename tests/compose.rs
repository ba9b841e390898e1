//! The ecosystem as docker-compose.yml starts it, driven from the host by `sim run --ecosystem`:
//! a smoke run, then chaos made by docker itself (`scenarios/chaos-compose.yaml`: KSD killed and
//! started again, the platform paused, STAR cut off the network), each judged PASS by the
//! checkers reading the journals in the bind-mounted state directory.
//!
//! Builds nothing: it needs `docker-compose` and the image `sim-ecosystem:local` (build it first
//! with `docker/build-image.sh debug`; CI does, from the debug build), and fails saying so
//! without them. The project gets a unique name (so its containers, `<project>-sp` …, and its
//! network, `<project>-net`, are its own) and is always taken down with its volumes and
//! network, whatever the outcome. The published ports are the fixed ones (127.0.0.1:8080 …):
//! nothing else on this machine may hold them meanwhile.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

const IMAGE: &str = "sim-ecosystem:local";
/// The admin APIs' token: docker-compose.yml's default, as docker/ecosystem.yaml has it.
const ADMIN_TOKEN: &str = "sim-compose";
const SERVICES: [&str; 4] = ["sp", "ksd", "jobcenter", "star"];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A compose project of this test: `up` on creation, `down -v --remove-orphans` on drop.
struct Project {
    name: String,
    state: PathBuf,
    user: String,
}

impl Project {
    fn compose(&self, args: &[&str]) -> Command {
        let mut c = Command::new("docker-compose");
        c.arg("-f")
            .arg(root().join("docker-compose.yml"))
            .arg("-p")
            .arg(&self.name)
            .args(args)
            .env("COMPOSE_PROJECT_NAME", &self.name)
            .env("SIM_STATE", &self.state)
            .env("SIM_USER", &self.user)
            .env("SIM_IMAGE", IMAGE)
            .env("SIM_ADMIN_TOKEN", ADMIN_TOKEN);
        c
    }

    fn container(&self, service: &str) -> String {
        format!("{}-{service}", self.name)
    }

    /// The ecosystem file for a runner on the host: docker/ecosystem.yaml with this project's
    /// names and state directory.
    fn ecosystem_file(&self, dir: &Path) -> PathBuf {
        let text = std::fs::read_to_string(root().join("docker/ecosystem.yaml")).unwrap();
        let text: String = text
            .lines()
            .filter(|l| !l.trim_start().starts_with('#'))
            .map(|l| format!("{l}\n"))
            .collect();
        let text = text
            .replace("../.sim-state", &self.state.to_string_lossy())
            .replace("sim-net", &format!("{}-net", self.name))
            .replace(", sim-", &format!(", {}-", self.name));
        for name in SERVICES
            .iter()
            .map(|s| format!(" sim-{s}]"))
            .chain([" sim-net,".into()])
        {
            assert!(!text.contains(&name), "unreplaced {name}:\n{text}");
        }
        let path = dir.join("ecosystem.yaml");
        std::fs::write(&path, text).unwrap();
        path
    }
}

impl Drop for Project {
    fn drop(&mut self) {
        let out = self
            .compose(&["down", "-v", "--remove-orphans", "--timeout", "5"])
            .output();
        match out {
            Ok(o) if o.status.success() => {}
            Ok(o) => eprintln!(
                "docker-compose down failed: {}",
                String::from_utf8_lossy(&o.stderr)
            ),
            Err(e) => eprintln!("docker-compose down: {e}"),
        }
    }
}

fn run(cmd: &mut Command) -> Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{cmd:?}: {e} (is it installed?)"));
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The health of each program's container, until all are `healthy` (or one is `unhealthy`
/// or has exited).
fn wait_healthy(p: &Project, within: Duration) {
    let names: Vec<String> = SERVICES.iter().map(|s| p.container(s)).collect();
    let mut waited = Duration::ZERO;
    loop {
        let out = run(Command::new("docker")
            .args([
                "inspect",
                "-f",
                "{{.Name}} {{.State.Status}} {{.State.Health.Status}}",
            ])
            .args(&names));
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        if text.lines().all(|l| l.ends_with(" running healthy")) {
            return;
        }
        let broken = text
            .lines()
            .any(|l| l.ends_with(" unhealthy") || l.contains(" exited "));
        if broken || waited >= within {
            let logs = p.compose(&["logs", "--no-color", "--tail", "40"]).output();
            let logs = logs
                .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
                .unwrap_or_default();
            panic!("the ecosystem is not healthy after {waited:?}:\n{text}\n{logs}");
        }
        std::thread::sleep(Duration::from_millis(250));
        waited += Duration::from_millis(250);
    }
}

/// `sim run SCENARIO --ecosystem FILE --speed 30` (a liveness minute is two real seconds: room
/// for a loaded machine), killed after `within`; whether it passed,
/// and its output. The runner's own directory goes beside the file (removed with it).
fn sim_run(scenario: &str, ecosystem: &Path, within: Duration) -> (bool, String) {
    let name = Path::new(scenario).file_stem().unwrap().to_string_lossy();
    let mut child = Command::new(env!("CARGO_BIN_EXE_sim"))
        .arg("run")
        .arg(root().join(scenario))
        .arg("--ecosystem")
        .arg(ecosystem)
        .arg("--state-dir")
        .arg(ecosystem.with_file_name(format!("run-{name}")))
        .args(["--speed", "30"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut waited = Duration::ZERO;
    while child.try_wait().unwrap().is_none() {
        if waited >= within {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
        waited += Duration::from_millis(200);
    }
    let out = child.wait_with_output().unwrap();
    let text = format!(
        "{}\n--- stderr ---\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn smoke_and_chaos_against_the_compose_ecosystem() {
    let inspect = Command::new("docker")
        .args(["image", "inspect", "--format", "{{.Id}}", IMAGE])
        .output()
        .expect("docker is not installed");
    assert!(
        inspect.status.success(),
        "the image {IMAGE} is missing: build it first, at the repository root, with \
         `docker/build-image.sh debug` (CI does so from the debug build)\n{}",
        String::from_utf8_lossy(&inspect.stderr)
    );

    let tmp = tempfile::Builder::new()
        .prefix("sim-compose-")
        .tempdir()
        .unwrap();
    let state = tmp.path().join("state");
    std::fs::create_dir(&state).unwrap();
    let meta = std::fs::metadata(&state).unwrap();
    let project = Project {
        name: format!("simtest{}", std::process::id()),
        state,
        user: format!("{}:{}", meta.uid(), meta.gid()),
    };

    run(&mut project.compose(&["up", "-d"]));
    wait_healthy(&project, Duration::from_secs(120));
    let file = project.ecosystem_file(tmp.path());

    // Ten virtual minutes at 60x: about ten seconds of traffic, then the drain and the checks.
    let (ok, out) = sim_run("scenarios/smoke.yaml", &file, Duration::from_secs(300));
    assert!(ok && out.contains("verdict: PASS"), "smoke:\n{out}");

    // Real outages on a schedule: each program it hurts must be back and healthy afterwards.
    let (ok, out) = sim_run(
        "scenarios/chaos-compose.yaml",
        &file,
        Duration::from_secs(400),
    );
    assert!(ok && out.contains("verdict: PASS"), "chaos-compose:\n{out}");
    wait_healthy(&project, Duration::from_secs(60));
}
