//! KSD's admin API: JSON over plain HTTP on its own port (never the mTLS port).
//!
//! - `GET /health`
//! - `GET /journal?transaktion_id=&call_uuid=&cpr=&municipality=&operation=&direction=&outcome=&since=&until=&after_id=&limit=`
//! - `GET /counters` — journal counts by operation/direction/outcome, cases by status,
//!   updates by verdict, and the outbox backlog (receipts not yet delivered).
//! - `GET /cases?cpr=&municipality=` — cases, newest first.
//! - `GET /cases/{sag_id}` — one case with its status history.
//! - `GET /updates/{transaktion_id}` — one accepted update with the answer it got.
//! - `GET /outbox` — pending business receipts.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use sim_store::JournalFilter;

use crate::cases;
use crate::state::Ksd;

type S = State<Arc<Ksd>>;

/// The most cases `/cases` returns.
const CASE_LIST_LIMIT: u32 = 1000;

pub fn router(k: Arc<Ksd>) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/journal", get(journal))
        .route("/counters", get(counters))
        .route("/cases", get(list_cases))
        .route("/cases/{sag_id}", get(case))
        .route("/updates/{transaktion_id}", get(update))
        .route("/outbox", get(outbox))
        .with_state(k)
}

use sim_kit::admin::{internal, not_found};

async fn health(State(k): S) -> Response {
    let pending = k.outbox.pending().await.unwrap_or(u64::MAX);
    Json(json!({ "status": "ok", "component": "sim-ksd", "outbox_pending": pending }))
        .into_response()
}

async fn journal(State(k): S, Query(filter): Query<JournalFilter>) -> Response {
    sim_kit::admin::journal(&k.journal, filter).await
}

async fn counters(State(k): S) -> Response {
    let journal = match k.journal.counters().await {
        Ok(c) => c,
        Err(e) => return internal(e),
    };
    let state = match k.db.read(cases::counts).await {
        Ok(c) => c,
        Err(e) => return internal(e),
    };
    let mut cases_by_status = serde_json::Map::new();
    let mut updates_by_verdict = serde_json::Map::new();
    for (table, key, n) in state {
        let map = if table == "cases" {
            &mut cases_by_status
        } else {
            &mut updates_by_verdict
        };
        map.insert(key, n.into());
    }
    let pending = k.outbox.pending().await.unwrap_or(u64::MAX);
    Json(json!({
        "journal": journal,
        "cases": cases_by_status,
        "updates": updates_by_verdict,
        "outbox_pending": pending,
    }))
    .into_response()
}

#[derive(Debug, Deserialize)]
struct CaseFilter {
    cpr: Option<String>,
    municipality: Option<String>,
}

async fn list_cases(State(k): S, Query(f): Query<CaseFilter>) -> Response {
    let r =
        k.db.read(move |c| {
            cases::list_cases(
                c,
                f.cpr.as_deref().filter(|s| !s.is_empty()),
                f.municipality.as_deref().filter(|s| !s.is_empty()),
                CASE_LIST_LIMIT,
            )
        })
        .await;
    match r {
        Ok(list) => Json(list).into_response(),
        Err(e) => internal(e),
    }
}

async fn case(State(k): S, Path(sag_id): Path<String>) -> Response {
    let id = sag_id.clone();
    match k.db.read(move |c| cases::case(c, &id)).await {
        Ok(Some(c)) => Json(c).into_response(),
        Ok(None) => not_found(format!("no case {sag_id}")),
        Err(e) => internal(e),
    }
}

async fn update(State(k): S, Path(tid): Path<String>) -> Response {
    let id = tid.clone();
    match k.db.read(move |c| cases::update(c, &id)).await {
        Ok(Some(u)) => Json(u).into_response(),
        Ok(None) => not_found(format!("no accepted update {tid}")),
        Err(e) => internal(e),
    }
}

async fn outbox(State(k): S) -> Response {
    match k.outbox.list(1000).await {
        Ok(items) => Json(items).into_response(),
        Err(e) => internal(e),
    }
}
