//! KSD's admin API: JSON over plain HTTP on its own port (never the mTLS port).
//!
//! - `GET /health`
//! - `GET /journal?transaktion_id=&call_uuid=&cpr=&municipality=&operation=&direction=&outcome=&since=&until=&after_id=&limit=`
//! - `GET /counters` — journal counts by operation/direction/outcome, cases by status,
//!   updates by verdict, and the outbox backlog (receipts, events, requests not yet
//!   delivered).
//! - `GET /cases?cpr=&municipality=&offset=&limit=` — cases, newest first.
//! - `POST /cases` — a case KSD learns of (NemRefusion, by hand): 60/61, its limit, and the
//!   SF2090 OPRETTET event (`crate::intake`).
//! - `GET /cases/{sag_id}` — one case with its status history and duration limit (KSD-9).
//! - `POST /cases/{sag_id}/end` `{"ophoers_aarsag", "ophoers_start"}` — an end KSD sets
//!   itself, with the AFSLUTTET event.
//! - `GET /events?sag_id=&offset=&limit=` — SF2090 events sent and their acknowledgements.
//! - `GET /extension-requests?sag_id=&offset=&limit=` — SF2093 requests and their answers.
//! - `GET /updates/{transaktion_id}` — one accepted update with the answer it got.
//! - `GET /outbox?offset=&limit=` — what KSD has yet to deliver (receipts, events, requests).
//! - `GET /ky/kontaktforloeb?municipality=&cpr=&offset=&limit=` — SF1690: KY's contact courses
//!   with their objects (`crate::ky`).
//!
//! Every list is a page (`sim_kit::admin::Page`, at most 10,000 rows).

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use sim_store::JournalFilter;

use axum::http::StatusCode;

use crate::cases;
use crate::flows::{sf2090, sf2093};
use crate::intake;
use crate::lifecycle;
use crate::state::Ksd;

type S = State<Arc<Ksd>>;

pub fn router(k: Arc<Ksd>) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/journal", get(journal))
        .route("/counters", get(counters))
        .route("/cases", get(list_cases).post(create_case))
        .route("/cases/{sag_id}", get(case))
        .route("/cases/{sag_id}/end", post(end_case))
        .route("/events", get(events))
        .route("/extension-requests", get(extension_requests))
        .route("/updates/{transaktion_id}", get(update))
        .route("/outbox", get(outbox))
        .route("/ky/kontaktforloeb", get(crate::ky::courses))
        .with_state(k)
}

use sim_kit::admin::{bad_request, internal, not_found, JsonObject, Page};

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
    offset: Option<u64>,
    limit: Option<u32>,
}

async fn list_cases(State(k): S, Query(f): Query<CaseFilter>) -> Response {
    let page = Page {
        offset: f.offset,
        limit: f.limit,
    };
    let r =
        k.db.read(move |c| {
            cases::list_cases(
                c,
                f.cpr.as_deref().filter(|s| !s.is_empty()),
                f.municipality.as_deref().filter(|s| !s.is_empty()),
                page,
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
    let r =
        k.db.read(move |c| Ok((cases::case(c, &id)?, lifecycle::limit(c, &id)?)))
            .await;
    match r {
        Ok((Some(c), limit)) => {
            let mut v = serde_json::to_value(c).unwrap_or_default();
            v["limit"] = serde_json::to_value(limit).unwrap_or_default();
            Json(v).into_response()
        }
        Ok((None, _)) => not_found(format!("no case {sag_id}")),
        Err(e) => internal(e),
    }
}

async fn create_case(State(k): S, JsonObject(new): JsonObject<intake::NewCase>) -> Response {
    intake_answer(intake::create(&k, new).await, StatusCode::CREATED)
}

async fn end_case(
    State(k): S,
    Path(sag_id): Path<String>,
    JsonObject(end): JsonObject<intake::End>,
) -> Response {
    intake_answer(intake::end(&k, &sag_id, end).await, StatusCode::OK)
}

fn intake_answer(r: Result<cases::CaseView, intake::IntakeError>, ok: StatusCode) -> Response {
    use intake::IntakeError as E;
    match r {
        Ok(c) => (ok, Json(c)).into_response(),
        Err(e @ E::Invalid(_)) => bad_request(e.to_string()),
        Err(e @ E::NotFound(_)) => not_found(e.to_string()),
        Err(e @ (E::Ended(_) | E::Exists(_))) => sim_kit::admin::error(StatusCode::CONFLICT, e),
        Err(E::Store(e)) => internal(e),
    }
}

#[derive(Debug, Deserialize)]
struct SagFilter {
    sag_id: Option<String>,
    offset: Option<u64>,
    limit: Option<u32>,
}

impl SagFilter {
    fn split(self) -> (Option<String>, Page) {
        let page = Page {
            offset: self.offset,
            limit: self.limit,
        };
        (self.sag_id.filter(|s| !s.is_empty()), page)
    }
}

async fn events(State(k): S, Query(f): Query<SagFilter>) -> Response {
    let (sag, page) = f.split();
    match k
        .db
        .read(move |c| sf2090::list(c, sag.as_deref(), page))
        .await
    {
        Ok(list) => Json(list).into_response(),
        Err(e) => internal(e),
    }
}

async fn extension_requests(State(k): S, Query(f): Query<SagFilter>) -> Response {
    let (sag, page) = f.split();
    match k
        .db
        .read(move |c| sf2093::list(c, sag.as_deref(), page))
        .await
    {
        Ok(list) => Json(list).into_response(),
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

async fn outbox(State(k): S, Query(page): Query<Page>) -> Response {
    match k.outbox.list(page.offset(), page.limit()).await {
        Ok(items) => Json(items).into_response(),
        Err(e) => internal(e),
    }
}
