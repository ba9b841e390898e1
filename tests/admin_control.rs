//! The platform's admin API as a control plane (issue 15): concurrent routing changes are all
//! kept and memory equals the store (a restarted platform routes the same); emptying the
//! routing table must be asked for; KSD's own agreement cannot be dropped.

mod common;

use common::*;
use serde_json::json;
use sim::ecosystem::Program;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forty_concurrent_routing_changes_are_all_kept_and_survive_a_restart() {
    let eco = Eco::start().await;
    let sp = eco.running.endpoints.sp_admin.clone();
    // Every municipality served by kmd-jc or schultz-jc moves to the other one, all at once.
    let moves: Vec<(String, &str)> = ["kmd-jc", "schultz-jc"]
        .iter()
        .flat_map(|from| {
            let to = if *from == "kmd-jc" {
                "schultz-jc"
            } else {
                "kmd-jc"
            };
            eco.refdata
                .municipalities_of(from)
                .into_iter()
                .map(move |m| (m.to_string(), to))
        })
        .take(40)
        .collect();
    assert_eq!(moves.len(), 40);
    let mut tasks = tokio::task::JoinSet::new();
    for (m, to) in moves.clone() {
        let (admin, url) = (eco.admin.clone(), format!("{sp}/routing/{m}"));
        tasks.spawn(async move { admin.put(&url, &json!({ "instance": to })).await });
    }
    while let Some(r) = tasks.join_next().await {
        assert_eq!(r.unwrap().unwrap().0, 200);
    }
    let check = |table: &serde_json::Value| {
        for (m, to) in &moves {
            assert_eq!(table[m.as_str()], *to, "{m}: {table}");
        }
    };
    let (_, table) = eco.admin.get(&format!("{sp}/routing")).await.unwrap();
    check(&table);
    // The store says the same: a restarted platform routes as before.
    let control = eco.running.control();
    control.crash(Program::Sp).await;
    control.restart(Program::Sp).await.unwrap();
    let table = eco
        .eventually("the restarted platform to answer", || {
            let (a, url) = (eco.admin.clone(), format!("{sp}/routing"));
            async move {
                a.get(&url)
                    .await
                    .ok()
                    .filter(|(s, _)| *s == 200)
                    .map(|(_, v)| v)
            }
        })
        .await;
    check(&table);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emptying_the_routing_or_dropping_ksds_agreement_is_refused() {
    let eco = Eco::start().await;
    let sp = eco.running.endpoints.sp_admin.clone();
    let (status, body) = eco
        .admin
        .put(&format!("{sp}/routing"), &json!({}))
        .await
        .unwrap();
    assert_eq!(status, 400, "{body}");
    let (_, table) = eco.admin.get(&format!("{sp}/routing")).await.unwrap();
    assert!(
        !table.as_object().unwrap().is_empty(),
        "still routed: {table}"
    );
    let (status, body) = eco
        .admin
        .put(&format!("{sp}/agreements"), &json!([]))
        .await
        .unwrap();
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("KSD"), "{body}");
    let (status, _) = eco
        .admin
        .put(&format!("{sp}/routing?allow_empty=true"), &json!({}))
        .await
        .unwrap();
    assert_eq!(status, 200, "asked for explicitly");
}

/// Lists are pages with a bounded size: the jobcenter's receipts page on with `offset`, and a
/// journal query asking for 4,294,967,295 rows gets at most `MAX_QUERY_LIMIT`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_are_paginated_with_a_bounded_page_size() {
    let eco = Eco::start().await;
    let jc = eco.running.jobcenter();
    let m = eco.municipality_of("kmd-jc");
    let mut tids = Vec::new();
    for _ in 0..3 {
        let sent = jc
            .send_update(sim_jobcenter::UpdateSpec {
                instance: Some("kmd-jc".into()),
                municipality: Some(m.to_string()),
                ..Default::default()
            })
            .await
            .unwrap();
        tids.push(sent.transaktion_id);
    }
    for tid in &tids {
        assert!(jc
            .wait_for_receipt(tid, std::time::Duration::from_secs(30))
            .await
            .is_some());
    }
    let admin = &eco.running.endpoints.jobcenter_admin;
    let page = |q: &'static str| {
        let (a, url) = (eco.admin.clone(), format!("{admin}/receipts?{q}"));
        async move { a.get(&url).await.unwrap().1.as_array().unwrap().len() }
    };
    assert_eq!(page("limit=2").await, 2);
    assert_eq!(page("limit=2&offset=2").await, 1);
    assert_eq!(page("").await, 3);
    let (status, rows) = eco
        .admin
        .get(&format!(
            "{}/journal?limit=4294967295",
            eco.running.endpoints.sp_admin
        ))
        .await
        .unwrap();
    assert_eq!(status, 200);
    assert!(rows.as_array().unwrap().len() <= sim_store::MAX_QUERY_LIMIT as usize);
}
