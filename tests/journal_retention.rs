//! Journal retention for a long-running ecosystem (issue 15): with `max_rows` set, a program
//! prunes its journal to the newest rows when it starts and every minute after; here the
//! platform, restarted after some traffic, keeps exactly the newest 4 rows.

mod common;

use common::*;
use sim::ecosystem::Program;
use sim_jobcenter::UpdateSpec;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_platform_keeps_only_the_newest_rows() {
    let eco = Eco::start_with(|c| {
        c.journal_retention = sim_store::Retention {
            max_age_hours: None,
            max_rows: Some(4),
        }
    })
    .await;
    let jc = eco.running.jobcenter();
    for _ in 0..3 {
        let sent = jc
            .send_update(UpdateSpec {
                instance: Some("kmd-jc".into()),
                municipality: Some(eco.municipality_of("kmd-jc").to_string()),
                ..Default::default()
            })
            .await
            .unwrap();
        assert!(jc
            .wait_for_receipt(&sent.transaktion_id, std::time::Duration::from_secs(30))
            .await
            .is_some());
    }
    let sp = eco.running.endpoints.sp_admin.clone();
    // The jobcenter holds its receipt a moment before KSD deletes it from its outbox: a
    // crash of the platform in between would make KSD send it again after the restart, a
    // new row after the prune.
    for admin in [&eco.running.endpoints.ksd_admin] {
        eco.eventually("the outboxes to empty", || {
            let (a, url) = (eco.admin.clone(), format!("{admin}/outbox?limit=1"));
            async move {
                let (status, v) = a.get(&url).await.ok()?;
                (status == 200 && v.as_array()?.is_empty()).then_some(())
            }
        })
        .await;
    }
    let before = eco.get(format!("{sp}/journal?limit=10000")).await;
    let before: Vec<i64> = before
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect();
    assert!(before.len() > 4, "{} rows before", before.len());
    let control = eco.running.control();
    control.crash(Program::Sp).await;
    control.restart(Program::Sp).await.unwrap();
    let after = eco
        .eventually("the restarted platform to prune", || {
            let (a, url) = (eco.admin.clone(), format!("{sp}/journal?limit=10000"));
            async move {
                let (status, v) = a.get(&url).await.ok()?;
                let ids: Vec<i64> = v
                    .as_array()?
                    .iter()
                    .filter_map(|r| r["id"].as_i64())
                    .collect();
                (status == 200 && ids.len() <= 4).then_some(ids)
            }
        })
        .await;
    let newest: Vec<i64> = before[before.len() - 4..].to_vec();
    assert_eq!(after, newest, "the newest four rows stay");
}
