//! The admin APIs against their OpenAPI documents (`docs/openapi/*.yaml`): the whole ecosystem
//! on `127.0.0.1:0`, a few real updates sent so the lists have rows, then a schema-driven fuzz
//! run of each admin API with schemathesis (PyPI; `test.sh` installs it). Bounded: 50 examples
//! per operation, a fixed seed, one worker, a deadline per run. A run fails the test with
//! schemathesis's output when it finds a server error (5xx), a status code, content type,
//! header or body the document does not describe, or accepts a request the document calls
//! invalid. The ecosystem runs with an admin token, which schemathesis presents. Destructive operations run too (a throwaway ecosystem):
//! KSD first (read-only), then the jobcenters (sends, municipality changes), the platform last
//! (its routing and agreement changes would break the others' traffic).
//!
//! Not installed is a failure, not a skip: `pip install schemathesis` (or run `./test.sh`).
//! `SCHEMATHESIS=/path/to/schemathesis` picks another executable.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use serde_json::json;

/// Test cases per operation and phase.
const MAX_EXAMPLES: &str = "50";
/// Hypothesis's seed: the same cases on every run.
const SEED: &str = "20240101";
/// The checks every response must pass.
/// The checks every response must pass: no 5xx; status, content type, body and headers as
/// documented; a request the document calls invalid is refused (4xx); a method the document
/// does not list is answered 405.
const CHECKS: &str = "not_a_server_error,status_code_conformance,content_type_conformance,\
response_schema_conformance,response_headers_conformance,negative_data_rejection,\
unsupported_method";
/// The longest one schemathesis run may take before it is killed and the test fails.
const RUN_DEADLINE: Duration = Duration::from_secs(60);
/// The admin token the ecosystem is started with (`--admin-token`).
const TOKEN: &str = "fuzz-token";

fn schemathesis() -> String {
    std::env::var("SCHEMATHESIS").unwrap_or_else(|_| "schemathesis".into())
}

/// Fails (never skips) when schemathesis cannot be run; returns its version line.
fn require_schemathesis() -> String {
    let exe = schemathesis();
    match Command::new(&exe).arg("--version").output() {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout).trim().to_string(),
        Ok(o) => panic!(
            "`{exe} --version` failed ({}): {}{}\nInstall it: `pip install schemathesis` (./test.sh does).",
            o.status,
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ),
        Err(e) => panic!(
            "schemathesis is not installed ({exe}: {e}); this test needs it.\n\
             Install it: `pip install schemathesis` (./test.sh does), or set SCHEMATHESIS=/path/to/it."
        ),
    }
}

fn doc(program: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("docs/openapi/{program}.yaml"))
}

/// One schemathesis run of `program`'s document against `url`; `Err(output)` on any failure.
fn run(program: &str, url: &str, extra: &[&str], work: &Path) -> Result<Duration, String> {
    let out_path = work.join(format!("{program}.out"));
    let out = std::fs::File::create(&out_path).unwrap();
    let mut cmd = Command::new(schemathesis());
    cmd.arg("run")
        .arg(doc(program))
        .args(["--url", url])
        .args(["--checks", CHECKS])
        .args(["--max-examples", MAX_EXAMPLES])
        .args(["--seed", SEED])
        .args(["--header", &format!("Authorization: Bearer {TOKEN}")])
        .args(["--workers", "1"])
        .args(["--request-timeout", "20"])
        .args(["--generation-database", "none"])
        .args(["--suppress-health-check", "all"])
        .arg("--no-color")
        .args(extra)
        // Its reports and caches go to the temporary directory, not the work tree.
        .current_dir(work)
        .stdin(Stdio::null())
        .stdout(out.try_clone().unwrap())
        .stderr(out);
    let line = format!("{cmd:?}");
    let started = Instant::now();
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("starting {line}: {e}"));
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break Some(s);
        }
        if started.elapsed() > RUN_DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let output = std::fs::read_to_string(&out_path).unwrap_or_default();
    match status {
        Some(s) if s.success() => {
            eprintln!("{program}: {:.1?}\n{}", started.elapsed(), summary(&output));
            Ok(started.elapsed())
        }
        Some(s) => Err(format!("{line}\nexited with {s}:\n{output}")),
        None => Err(format!(
            "{line}\ndid not finish within {RUN_DEADLINE:?}; killed. Output so far:\n{output}"
        )),
    }
}

/// The summary at the end of schemathesis's report (operations, phases, test cases).
fn summary(output: &str) -> String {
    match output.rfind("SUMMARY") {
        Some(i) => output[output[..i].rfind('\n').map_or(0, |n| n + 1)..].to_string(),
        None => output.to_string(),
    }
}

/// The `WWW-Authenticate` header of `GET {base}/journal` without a token (a raw request: the
/// admin client shows bodies, not headers).
async fn unauthorized_challenge(base: &str) -> Option<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = base.trim_start_matches("http://");
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!("GET /journal HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).await.unwrap();
    raw.lines().take_while(|l| !l.is_empty()).find_map(|l| {
        let (name, value) = l.split_once(':')?;
        name.eq_ignore_ascii_case("www-authenticate")
            .then(|| value.trim().to_string())
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_admin_api_keeps_to_its_openapi_document_under_fuzzing() {
    let version = require_schemathesis();
    eprintln!("{version}");
    let eco = Eco::start_with(|cfg| {
        // A fuzzed send the platform faults (e.g. after a routing change) costs two attempts,
        // not five with backoff.
        cfg.max_send_attempts = 2;
        cfg.admin_token = Some(TOKEN.into());
    })
    .await;
    let ep = eco.running.endpoints.clone();
    let admin = eco.admin.clone().with_token(Some(TOKEN.into()));
    // The token is required (401 with `WWW-Authenticate: Bearer`, as the documents say) but
    // for `/health`; schemathesis below presents it on every request.
    for base in [&ep.sp_admin, &ep.ksd_admin, &ep.jobcenter_admin] {
        let (status, body) = eco.admin.get(&format!("{base}/journal")).await.unwrap();
        assert_eq!(status, 401, "{base}/journal without the token: {body}");
        assert!(body["error"].is_string(), "{body}");
        let (status, body) = eco.admin.get(&format!("{base}/health")).await.unwrap();
        assert_eq!(status, 200, "{base}/health without the token: {body}");
    }
    let challenge = unauthorized_challenge(&ep.ksd_admin).await;
    assert_eq!(
        challenge.as_deref(),
        Some("Bearer"),
        "WWW-Authenticate of a 401"
    );
    // Rows in every list: updates, receipts, cases, journals.
    for _ in 0..3 {
        let (status, body) = admin
            .post(&format!("{}/send", ep.jobcenter_admin), &json!({}))
            .await
            .unwrap();
        assert_eq!(status, 200, "{body}");
    }
    eco.eventually("the business receipts of the seeded updates", || {
        let (a, url) = (admin.clone(), format!("{}/receipts", ep.jobcenter_admin));
        async move {
            let (_, v) = a.get(&url).await.ok()?;
            (v.as_array()?.len() >= 3).then_some(())
        }
    })
    .await;

    let work = eco.dir.path().join("schemathesis");
    std::fs::create_dir_all(&work).unwrap();
    let runs: Vec<(&str, String, Vec<&str>)> = vec![
        ("sim-ksd", ep.ksd_admin.clone(), vec![]),
        // The long poll answers after up to `timeout_ms` (at most 300 s) by design when the
        // update exists and has no receipt yet: it is left out of the stateful phase (where
        // schemathesis would wait on TransaktionIdentifikatorer it sent) ...
        (
            "sim-jobcenter",
            ep.jobcenter_admin.clone(),
            vec!["--exclude-path", "/updates/{tid}/wait"],
        ),
        // ... and fuzzed on its own without it: only generated TransaktionIdentifikatorer,
        // which are unknown (404 at once), so parsing, 400/404 and the body shapes are checked.
        (
            "sim-jobcenter",
            ep.jobcenter_admin.clone(),
            vec![
                "--include-path",
                "/updates/{tid}/wait",
                "--phases",
                "examples,coverage,fuzzing",
            ],
        ),
        ("sim-sp", ep.sp_admin.clone(), vec![]),
    ];
    let mut failures = Vec::new();
    let task = tokio::task::spawn_blocking(move || {
        for (program, url, extra) in runs {
            if let Err(e) = run(program, &url, &extra, &work) {
                failures.push(format!("==== {program} ====\n{e}"));
            }
        }
        failures
    });
    let failures = task.await.unwrap();
    assert!(
        failures.is_empty(),
        "schemathesis found problems:\n{}",
        failures.join("\n")
    );
}
