//! STAR's admin API: JSON over plain HTTP on its own port (never the mTLS port).
//!
//! - `GET /health`
//! - `GET /journal?transaktion_id=&call_uuid=&operation=&direction=&outcome=&since=&until=&after_id=&limit=`
//!   — every call and answer; a sequence's calls share its `Identifier` as
//!   `transaktion_id`.
//! - `GET /counters` — journal counts by operation/direction/outcome, and the queue's.
//! - `GET /queue` — events `queued`, `in_sequence`, `gone`, `generated`, sequences by state
//!   and `next_event_at` (events that are due are queued first).
//! - `GET /sequences?state=&offset=&limit=` — sequences, newest first.
//! - `GET /sequences/{identifier}` — one sequence.
//! - `GET /events?state=&sequence=&cpr=&offset=&limit=` — events in stream order.
//!
//! Every list is a page (`sim_kit::admin::Page`, at most 10,000 rows).

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use sim_kit::admin::{bad_request, internal, not_found, Page};
use sim_store::JournalFilter;

use crate::queue;
use crate::state::Star;

type S = State<Arc<Star>>;

/// The admin router.
pub fn router(s: Arc<Star>) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/journal", get(journal))
        .route("/counters", get(counters))
        .route("/queue", get(queue_state))
        .route("/sequences", get(sequences))
        .route("/sequences/{identifier}", get(sequence))
        .route("/events", get(events))
        .with_state(s)
}

async fn health() -> Response {
    Json(json!({ "status": "ok", "component": "sim-star" })).into_response()
}

async fn journal(State(s): S, Query(filter): Query<JournalFilter>) -> Response {
    sim_kit::admin::journal(&s.journal, filter).await
}

async fn counts(s: &Star) -> Result<queue::Counts, sim_store::StoreError> {
    s.queue_due().await?;
    s.db.read(queue::counts).await
}

async fn counters(State(s): S) -> Response {
    let journal = match s.journal.counters().await {
        Ok(c) => c,
        Err(e) => return internal(e),
    };
    match counts(&s).await {
        Ok(q) => Json(json!({ "journal": journal, "queue": q })).into_response(),
        Err(e) => internal(e),
    }
}

async fn queue_state(State(s): S) -> Response {
    let q = match counts(&s).await {
        Ok(q) => q,
        Err(e) => return internal(e),
    };
    let next = s.next_event_at().await.and_then(|t| {
        t.format(&time::format_description::well_known::Rfc3339)
            .ok()
    });
    let mut v = serde_json::to_value(q).unwrap_or_default();
    if let Some(o) = v.as_object_mut() {
        o.insert("next_event_at".into(), json!(next));
    }
    Json(v).into_response()
}

/// `?state=` of the sequence list.
#[derive(Debug, Deserialize)]
struct SequenceFilter {
    state: Option<String>,
    offset: Option<u64>,
    limit: Option<u32>,
}

const SEQUENCE_STATES: [&str; 4] = ["open", "terminated", "closed", "expired"];
const EVENT_STATES: [&str; 3] = ["queued", "in_sequence", "gone"];

/// The `state` filter, if given, when it is one of `allowed`; else why not.
fn state_filter(given: Option<String>, allowed: &[&str]) -> Result<Option<String>, String> {
    match given.filter(|s| !s.is_empty()) {
        Some(s) if !allowed.contains(&s.as_str()) => {
            Err(format!("state '{s}' is none of {}", allowed.join(", ")))
        }
        s => Ok(s),
    }
}

async fn sequences(State(s): S, Query(f): Query<SequenceFilter>) -> Response {
    if let Err(e) = s.queue_due().await {
        return internal(e);
    }
    let state = match state_filter(f.state, &SEQUENCE_STATES) {
        Ok(x) => x,
        Err(why) => return bad_request(why),
    };
    let page = Page {
        offset: f.offset,
        limit: f.limit,
    };
    match s
        .db
        .read(move |c| queue::sequences(c, state.as_deref(), page))
        .await
    {
        Ok(rows) => Json(rows).into_response(),
        Err(e) => internal(e),
    }
}

async fn sequence(State(s): S, Path(id): Path<String>) -> Response {
    let key = id.clone();
    match s.db.read(move |c| queue::sequence(c, &key)).await {
        Ok(Some(row)) => Json(row).into_response(),
        Ok(None) => not_found(format!("no sequence {id}")),
        Err(e) => internal(e),
    }
}

/// Filters of the event list.
#[derive(Debug, Deserialize)]
struct EventFilter {
    state: Option<String>,
    sequence: Option<String>,
    cpr: Option<String>,
    offset: Option<u64>,
    limit: Option<u32>,
}

async fn events(State(s): S, Query(f): Query<EventFilter>) -> Response {
    if let Err(e) = s.queue_due().await {
        return internal(e);
    }
    let state = match state_filter(f.state, &EVENT_STATES) {
        Ok(x) => x,
        Err(why) => return bad_request(why),
    };
    let page = Page {
        offset: f.offset,
        limit: f.limit,
    };
    let sequence = f.sequence.filter(|s| !s.is_empty());
    let cpr = f.cpr.filter(|s| !s.is_empty());
    match s
        .db
        .read(move |c| {
            queue::events(
                c,
                state.as_deref(),
                sequence.as_deref(),
                cpr.as_deref(),
                page,
            )
        })
        .await
    {
        Ok(rows) => Json(rows).into_response(),
        Err(e) => internal(e),
    }
}
