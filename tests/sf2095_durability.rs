//! Durability of the asynchronous leg across a killed platform: the platform is a
//! pass-through (SP-13), so while the vendor is unreachable it answers KSD with SP-4 faults
//! and KSD's business receipts stay in KSD's outbox; the platform *process* is killed
//! (SIGKILL, no graceful stop) and restarted; KSD's redelivery then brings every receipt to
//! the vendor, none lost (at least once: SP-4, KSD-2, KSD-7).

mod common;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::*;
use sim_jobcenter::{UpdateSpec, UpdateStatus};

/// The `sim-sp` binary, built by `cargo test --workspace` next to `sim` (its own package's
/// tests exercise it, so cargo builds it).
fn sim_sp_binary() -> PathBuf {
    let p = PathBuf::from(env!("CARGO_BIN_EXE_sim"))
        .with_file_name(format!("sim-sp{}", std::env::consts::EXE_SUFFIX));
    assert!(
        p.exists(),
        "{} is missing: run the workspace's tests (`cargo test --workspace`)",
        p.display()
    );
    p
}

struct Platform(Child);

impl Platform {
    fn start(config: &sim_sp::Config, dir: &std::path::Path, data: &str, admin: &str) -> Platform {
        // JSON is YAML: the binary reads it with its YAML parser.
        let file = dir.join("sp-config.yaml");
        std::fs::write(&file, serde_json::to_string_pretty(config).unwrap()).unwrap();
        let child = Command::new(sim_sp_binary())
            .args([
                "--config",
                file.to_str().unwrap(),
                "--listen",
                data,
                "--admin",
                admin,
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        Platform(child)
    }

    /// SIGKILL: the process gets no chance to finish anything.
    fn kill(mut self) {
        self.0.kill().unwrap();
        self.0.wait().unwrap();
    }
}

impl Drop for Platform {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receipts_in_ksds_outbox_survive_a_killed_pass_through_platform_sp13() {
    let eco = Eco::start_with(|c| c.run_platform = false).await;
    let e = eco.running.endpoints.clone();
    let data = e
        .sp_ksd_exposure
        .trim_start_matches("https://")
        .split('/')
        .next()
        .unwrap()
        .to_string();
    let admin = e.sp_admin.trim_start_matches("http://").to_string();
    // The platform process first calls kmd-jc at a closed port, so it cannot deliver to it.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let mut config = eco.running.sp_config.clone();
    config.instances.get_mut("kmd-jc").unwrap().url =
        format!("https://{closed}/jobcenter/Sygefravaer/2");
    let platform = Platform::start(&config, eco.dir.path(), &data, &admin);
    eco.eventually("the platform process to answer", || {
        let a = eco.admin.clone();
        let url = format!("{}/health", e.sp_admin);
        async move { a.get(&url).await.ok().filter(|(s, _)| *s == 200) }
    })
    .await;

    const N: usize = 12;
    let jc = eco.running.jobcenter();
    let m = eco.municipality_of("kmd-jc");
    let mut tids = Vec::new();
    for _ in 0..N {
        let sent = jc
            .send_update(UpdateSpec {
                instance: Some("kmd-jc".into()),
                municipality: Some(m.to_string()),
                ..UpdateSpec::default()
            })
            .await
            .unwrap();
        assert_eq!(sent.status, UpdateStatus::Accepted, "{sent:?}");
        tids.push(sent.transaktion_id);
    }
    // All N receipts have been tried through the platform, refused with SP-4 (their vendor
    // is unreachable), and wait in KSD's outbox.
    let counters = format!("{}/counters", e.ksd_admin);
    // KSD journals each attempt with the platform's answer: a fault naming SP-4.
    let refused = format!(
        "{}/journal?operation=JC/SendForretningsSvar&direction=out&outcome=FAULT:SP-4&limit=10000",
        e.ksd_admin
    );
    eco.eventually("N receipts refused with SP-4 and kept by KSD", || {
        let (a, url, refused) = (eco.admin.clone(), counters.clone(), refused.clone());
        let tids = tids.clone();
        async move {
            let (_, v) = a.get(&url).await.ok()?;
            let (_, rows) = a.get(&refused).await.ok()?;
            let faulted = tids
                .iter()
                .filter(|t| {
                    rows.as_array().is_some_and(|rows| {
                        rows.iter().any(|r| r["transaktion_id"] == t.to_string())
                    })
                })
                .count();
            (v["outbox_pending"].as_u64()? as usize == N && faulted == N).then_some(())
        }
    })
    .await;
    platform.kill();

    // Restart on the same state directory, the seat now pointing at the real vendor.
    config.instances.get_mut("kmd-jc").unwrap().url = e.vendors["kmd-jc"].clone();
    let _platform = Platform::start(&config, eco.dir.path(), &data, &admin);
    for tid in &tids {
        let r = jc.wait_for_receipt(tid, Duration::from_secs(60)).await;
        let r = r.unwrap_or_else(|| panic!("receipt {tid} lost after the platform was killed"));
        assert_eq!(
            (r.instance.as_str(), r.code.as_str()),
            ("kmd-jc", "ACCEPTERET")
        );
    }
    eco.eventually("KSD's outbox empty", || {
        let (a, url) = (eco.admin.clone(), counters.clone());
        async move {
            let (_, v) = a.get(&url).await.ok()?;
            (v["outbox_pending"].as_u64()? == 0).then_some(())
        }
    })
    .await;
    eco.running.stop().await.unwrap();
}
