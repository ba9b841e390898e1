//! The platform's admin API as a control plane (issue 15): concurrent routing changes are all
//! kept and memory equals the store (a restarted platform routes the same); emptying the
//! routing table must be asked for; KSD's own agreement cannot be dropped; a route is only for
//! one of the 98 municipalities; every list is a bounded page; an admin token, when given, is
//! required by all three programs' admin APIs.

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

/// SP-3: the platform routes municipalities; a valid CVR that is no municipality's (here a
/// vendor's own, with a correct check digit) is refused, the table unchanged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_route_is_only_for_one_of_the_98_municipalities() {
    let eco = Eco::start().await;
    let sp = eco.running.endpoints.sp_admin.clone();
    let (_, before) = eco.admin.get(&format!("{sp}/routing")).await.unwrap();
    for cvr in ["12345674", "00000000", "1234567", "abc"] {
        let (status, body) = eco
            .admin
            .put(
                &format!("{sp}/routing/{cvr}"),
                &json!({ "instance": "kmd-jc" }),
            )
            .await
            .unwrap();
        assert_eq!(status, 400, "{cvr}: {body}");
        assert!(
            body["error"].as_str().unwrap().contains("municipalit"),
            "{body}"
        );
    }
    let (status, body) = eco
        .admin
        .put(
            &format!("{sp}/routing"),
            &json!({ "12345674": "kmd-jc", "64942212": "kmd-jc" }),
        )
        .await
        .unwrap();
    assert_eq!(status, 400, "{body}");
    let (_, after) = eco.admin.get(&format!("{sp}/routing")).await.unwrap();
    assert_eq!(before, after, "nothing changed");
    assert!(after.as_object().unwrap().len() <= sim_scenario::refdata::MUNICIPALITY_COUNT);
    // København (64942212) is one of them.
    let (status, body) = eco
        .admin
        .put(
            &format!("{sp}/routing/64942212"),
            &json!({ "instance": "schultz-jc" }),
        )
        .await
        .unwrap();
    assert_eq!(status, 200, "{body}");
}

/// With `--admin-token` every admin API asks for it on everything but `/health`: 401 with
/// `WWW-Authenticate: Bearer` without it or with a wrong one, the answer with it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_token_is_required_by_every_admin_api_when_given() {
    let eco = Eco::start_with(|c| c.admin_token = Some("s3cret".into())).await;
    let e = &eco.running.endpoints;
    let none = eco.admin.clone();
    let wrong = eco.admin.clone().with_token(Some("s3creT".into()));
    let right = eco.admin.clone().with_token(Some("s3cret".into()));
    for base in [&e.sp_admin, &e.ksd_admin, &e.jobcenter_admin] {
        let journal = format!("{base}/journal?limit=1");
        assert_eq!(
            none.get(&format!("{base}/health")).await.unwrap().0,
            200,
            "{base}"
        );
        let (status, body) = none.get(&journal).await.unwrap();
        assert_eq!(status, 401, "{base}: {body}");
        assert!(body["error"].as_str().unwrap().contains("Bearer"), "{body}");
        assert_eq!(wrong.get(&journal).await.unwrap().0, 401, "{base}");
        assert_eq!(right.get(&journal).await.unwrap().0, 200, "{base}");
    }
    // A change is refused without the token and kept with it.
    let url = format!("{}/routing/64942212", e.sp_admin);
    let body = json!({ "instance": "schultz-jc" });
    assert_eq!(none.put(&url, &body).await.unwrap().0, 401);
    assert_eq!(right.put(&url, &body).await.unwrap().0, 200);
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
    let e = &eco.running.endpoints;
    let count = |url: String| {
        let a = eco.admin.clone();
        async move {
            let (status, v) = a.get(&url).await.unwrap();
            assert_eq!(status, 200, "{url}: {v}");
            v.as_array().unwrap().len()
        }
    };
    assert_eq!(count(format!("{admin}/updates?limit=1&offset=1")).await, 1);
    assert_eq!(count(format!("{admin}/updates?offset=3")).await, 0);
    assert_eq!(count(format!("{}/cases?limit=2", e.ksd_admin)).await, 2);
    assert_eq!(
        count(format!("{}/cases?offset=99999999999", e.ksd_admin)).await,
        0
    );
    let agreements = count(format!("{}/agreements", e.sp_admin)).await;
    assert!(agreements > 1);
    assert_eq!(count(format!("{}/agreements?limit=1", e.sp_admin)).await, 1);
    assert_eq!(
        count(format!(
            "{}/agreements?offset={}",
            e.sp_admin,
            agreements - 1
        ))
        .await,
        1
    );
    assert_eq!(
        count(format!("{}/outbox?limit=10&offset=5", e.ksd_admin)).await,
        0
    );
    // A page holds at least one row (limit=0 reads as 1).
    assert!(count(format!("{}/outbox?limit=0", e.ksd_admin)).await <= 1);
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

/// What schemathesis found (tests/admin_openapi.rs): a TransaktionIdentifikator given twice
/// to `POST /send` was a 500 (now 400, the first update untouched); a JSON array where an
/// object belongs was read as the struct (now 422, as JSON); free text XML cannot hold is
/// refused before a document is made (WIRE-1).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn control_plane_inputs_that_were_a_500_or_silently_read() {
    let eco = Eco::start().await;
    let e = &eco.running.endpoints;
    let send = format!("{}/send", e.jobcenter_admin);
    let once = json!({ "transaktion_id": "0f8fad5b-d9cb-469f-a165-70867728950e" });
    assert_eq!(eco.admin.post(&send, &once).await.unwrap().0, 200);
    let (status, body) = eco.admin.post(&send, &once).await.unwrap();
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("already taken"),
        "{body}"
    );
    for (url, body) in [
        (send.clone(), json!([null, null])),
        (
            format!("{}/routing/64942212", e.sp_admin),
            json!(["kmd-jc"]),
        ),
        (format!("{}/agreements", e.sp_admin), json!(["x", "*"])),
    ] {
        let (status, answer) = eco.admin.post(&url, &body).await.unwrap();
        let (put_status, _) = eco.admin.put(&url, &body).await.unwrap();
        assert!(
            status == 422 || status == 405,
            "{url} {body}: {status} {answer}"
        );
        assert!(
            put_status == 422 || put_status == 405,
            "{url}: {put_status}"
        );
    }
    let (status, body) = eco
        .admin
        .post(&send, &json!({ "jobcenter_sag_id": "a\u{1}b" }))
        .await
        .unwrap();
    assert_eq!(status, 400, "{body}");
    assert!(body["error"].as_str().unwrap().contains("WIRE-1"), "{body}");
}
