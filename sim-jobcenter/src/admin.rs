//! The admin API: JSON over plain HTTP on its own port (never a vendor's mTLS port).
//!
//! - `GET /health` — instances and their municipalities.
//! - `POST /send` — body: an [`UpdateSpec`] (`{}` for all defaults) → [`crate::SendOutcome`].
//! - `GET /updates?instance=&status=&offset=&limit=` — updates, newest first.
//! - `GET /updates/{tid}` — one update with its business receipt, if any.
//! - `POST /updates/{tid}/resend` — sends a stored, not yet accepted update again (JC-1).
//! - `GET /updates/{tid}/wait?timeout_ms=N` — long-polls until the business receipt is
//!   stored: 200 with the update, 408 on timeout, 404 for an unknown TransaktionIdentifikator.
//! - `GET /receipts?instance=&offset=&limit=` — business receipts received.
//! - `GET /events?instance=&sag_id=&offset=&limit=` — SF2090 case events received (KSD-10),
//!   oldest first, each with the case state it told and its acknowledgement: pending, sent
//!   (with the TransportKvittering's code) or never.
//! - `GET /extension-requests?instance=&sag_id=&offset=&limit=` — SF2093 extension requests
//!   received (KSD-11), oldest first, each with the policy's decision and its answer.
//!
//! Every list is a page (`sim_kit::admin::Page`, at most 10,000 rows).
//! - `GET /journal?...` — the journal, filtered as `sim_store::JournalFilter` allows.
//! - `GET /counters` — journal counts, updates by instance and status, receipts, the
//!   background resender's backlog of updates (`resend_pending`: owned without a
//!   TransportKvittering, JC-1), events with their acknowledgements by state, extension
//!   requests by decision and their answers by state.
//! - `PUT /vendors/{instance}/municipalities/{cvr}`, `DELETE ...` — the instance starts or
//!   stops serving a municipality (a municipality changing vendor, SP-3; JC-3 follows it).

use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use sim_store::JournalFilter;

use crate::model::{UpdateSpec, UpdateStatus};
use crate::state::Jobcenter;
use crate::JobcenterError;

/// The longest long poll accepted, so a forgotten client cannot hold a task forever.
const MAX_WAIT: Duration = Duration::from_secs(300);
/// The long poll's wait when `timeout_ms` is not given.
const DEFAULT_WAIT: Duration = Duration::from_secs(30);

type S = State<Jobcenter>;

pub fn router(jc: Jobcenter) -> Router {
    Router::new()
        .route("/health", get(health))
        .route(
            "/vendors/{instance}/municipalities/{cvr}",
            axum::routing::put(serve_municipality).delete(drop_municipality),
        )
        .route("/send", post(send))
        .route("/updates", get(updates))
        .route("/updates/{tid}", get(update))
        .route("/updates/{tid}/resend", post(resend))
        .route("/updates/{tid}/wait", get(wait))
        .route("/receipts", get(receipts))
        .route("/events", get(events))
        .route("/extension-requests", get(extension_requests))
        .route("/journal", get(journal))
        .route("/counters", get(counters))
        .with_state(jc)
}

use sim_kit::admin::{error, JsonObject, Page};

/// Maps an API error to its HTTP status: the caller's mistakes are 4xx.
fn failed(e: JobcenterError) -> Response {
    let status = match &e {
        JobcenterError::UnknownInstance(_) | JobcenterError::UnknownUpdate(_) => {
            StatusCode::NOT_FOUND
        }
        JobcenterError::NotServed { .. } | JobcenterError::Spec(_) => StatusCode::BAD_REQUEST,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    error(status, e)
}

async fn set_serves(jc: &Jobcenter, instance: &str, cvr: &str, serves: bool) -> Response {
    let m: sim_wire::Cvr = match cvr.parse() {
        Ok(m) => m,
        Err(e) => {
            return (
                StatusCode::BAD_REQUEST,
                Json(json!({ "error": format!("municipality: {e}") })),
            )
                .into_response()
        }
    };
    match jc.set_serves(instance, m, serves) {
        Ok(changed) => Json(json!({ "instance": instance, "municipality": cvr, "serves": serves, "changed": changed })).into_response(),
        Err(e) => (StatusCode::NOT_FOUND, Json(json!({ "error": e.to_string() }))).into_response(),
    }
}

async fn serve_municipality(
    State(jc): S,
    Path((instance, cvr)): Path<(String, String)>,
) -> Response {
    set_serves(&jc, &instance, &cvr, true).await
}

async fn drop_municipality(
    State(jc): S,
    Path((instance, cvr)): Path<(String, String)>,
) -> Response {
    set_serves(&jc, &instance, &cvr, false).await
}

async fn health(State(jc): S) -> Response {
    let instances: serde_json::Map<String, serde_json::Value> = jc
        .inner
        .order
        .iter()
        .filter_map(|name| {
            let v = jc.inner.vendors.get(name)?;
            let ms: Vec<String> = v.municipalities().iter().map(|m| m.to_string()).collect();
            Some((
                name.clone(),
                json!({ "vendor": v.vendor, "system_uuid": v.system_uuid, "municipalities": ms }),
            ))
        })
        .collect();
    Json(json!({ "status": "ok", "component": "sim-jobcenter", "instances": instances }))
        .into_response()
}

async fn send(State(jc): S, JsonObject(spec): JsonObject<UpdateSpec>) -> Response {
    match jc.send_update(spec).await {
        Ok(o) => Json(o).into_response(),
        Err(e) => failed(e),
    }
}

#[derive(Deserialize)]
struct UpdatesQuery {
    instance: Option<String>,
    status: Option<UpdateStatus>,
    offset: Option<u64>,
    limit: Option<u32>,
}

async fn updates(State(jc): S, Query(q): Query<UpdatesQuery>) -> Response {
    let page = Page {
        offset: q.offset,
        limit: q.limit,
    };
    match jc
        .updates(q.instance, q.status, page.offset(), page.limit())
        .await
    {
        Ok(list) => Json(list).into_response(),
        Err(e) => failed(e),
    }
}

async fn update(State(jc): S, Path(tid): Path<String>) -> Response {
    match jc.update(&tid).await {
        Ok(Some(u)) => Json(u).into_response(),
        Ok(None) => failed(JobcenterError::UnknownUpdate(tid)),
        Err(e) => failed(e),
    }
}

async fn resend(State(jc): S, Path(tid): Path<String>) -> Response {
    match jc.resend(&tid).await {
        Ok(o) => Json(o).into_response(),
        Err(e) => failed(e),
    }
}

#[derive(Deserialize)]
struct WaitQuery {
    timeout_ms: Option<u64>,
}

async fn wait(State(jc): S, Path(tid): Path<String>, Query(q): Query<WaitQuery>) -> Response {
    let known = match (jc.update(&tid).await, jc.receipt(&tid).await) {
        (Ok(u), Ok(r)) => u.is_some() || r.is_some(),
        (Err(e), _) | (_, Err(e)) => return failed(e),
    };
    if !known {
        return failed(JobcenterError::UnknownUpdate(tid));
    }
    let timeout = q
        .timeout_ms
        .map_or(DEFAULT_WAIT, Duration::from_millis)
        .min(MAX_WAIT);
    match jc.wait_for_receipt(&tid, timeout).await {
        Some(receipt) => match jc.update(&tid).await {
            Ok(Some(u)) => Json(u).into_response(),
            // A receipt for a TransaktionIdentifikator we never sent: show the receipt.
            Ok(None) => Json(json!({ "transaktion_id": tid, "receipt": receipt })).into_response(),
            Err(e) => failed(e),
        },
        None => {
            let status = jc
                .update(&tid)
                .await
                .ok()
                .flatten()
                .map(|u| u.status.as_str());
            (
                StatusCode::REQUEST_TIMEOUT,
                Json(json!({
                    "error": format!("no business receipt for {tid} within {} ms", timeout.as_millis()),
                    "transaktion_id": tid,
                    "status": status,
                })),
            )
                .into_response()
        }
    }
}

#[derive(Deserialize)]
struct ReceiptsQuery {
    instance: Option<String>,
    /// Skip this many (paging on).
    offset: Option<u64>,
    /// At most this many (default and ceiling: the journal's page sizes).
    limit: Option<u32>,
}

async fn receipts(State(jc): S, Query(q): Query<ReceiptsQuery>) -> Response {
    let page = Page {
        offset: q.offset,
        limit: q.limit,
    };
    match jc
        .receipts_page(q.instance, page.offset(), page.limit())
        .await
    {
        Ok(list) => Json(list).into_response(),
        Err(e) => failed(e),
    }
}

/// The filters of the lists of received SF2090 events and SF2093 requests.
#[derive(Deserialize)]
struct ReceivedQuery {
    /// Only those received by this instance.
    instance: Option<String>,
    /// Only those about this case (KSD's SagIdentifikator).
    sag_id: Option<String>,
    /// Skip this many (paging on).
    offset: Option<u64>,
    /// At most this many.
    limit: Option<u32>,
}

impl ReceivedQuery {
    fn page(&self) -> Page {
        Page {
            offset: self.offset,
            limit: self.limit,
        }
    }
}

async fn events(State(jc): S, Query(q): Query<ReceivedQuery>) -> Response {
    let page = q.page();
    match jc
        .events(q.instance, q.sag_id, page.offset(), page.limit())
        .await
    {
        Ok(list) => Json(list).into_response(),
        Err(e) => failed(e),
    }
}

async fn extension_requests(State(jc): S, Query(q): Query<ReceivedQuery>) -> Response {
    let page = q.page();
    match jc
        .extension_requests(q.instance, q.sag_id, page.offset(), page.limit())
        .await
    {
        Ok(list) => Json(list).into_response(),
        Err(e) => failed(e),
    }
}

async fn journal(State(jc): S, Query(filter): Query<JournalFilter>) -> Response {
    sim_kit::admin::journal(&jc.inner.journal, filter).await
}

async fn counters(State(jc): S) -> Response {
    match jc.counters().await {
        Ok(c) => Json(c).into_response(),
        Err(e) => failed(e),
    }
}
