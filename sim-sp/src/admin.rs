//! The platform's admin API: JSON over plain HTTP on its own port (never the mTLS port).
//!
//! - `GET /health`
//! - `GET /routing`, `PUT /routing` (whole table), `PUT /routing/{cvr}` `{"instance": ..}`,
//!   `DELETE /routing/{cvr}` — SP-3: a municipality can change vendor while traffic flows.
//! - `GET /agreements?offset=&limit=`, `PUT /agreements` (whole list), `POST /agreements` (add
//!   one, e.g. for a vendor's own system swapped in) — SP-5.
//! - `GET /journal?transaktion_id=&call_uuid=&cpr=&municipality=&operation=&direction=&outcome=&since=&until=&after_id=&limit=`
//! - `GET /counters` — journal counts by operation/direction/outcome.
//!
//! There is no outbox: both exposures are pass-throughs (SP-13), so the platform holds
//! nothing to deliver.
//!
//! Every list is a page (`sim_kit::admin::Page`, at most 10,000 rows); the routing table is
//! bounded by the 98 municipalities.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use axum::{Json, Router};
use serde_json::json;
use sim_store::JournalFilter;
use sim_wire::Cvr;

use crate::config::Agreement;
use crate::state::Platform;

type S = State<Arc<Platform>>;

pub fn router(p: Arc<Platform>) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/routing", get(get_routing).put(put_routing))
        .route("/routing/{cvr}", put(put_route).delete(delete_route))
        .route(
            "/agreements",
            get(get_agreements).put(put_agreements).post(add_agreement),
        )
        .route("/journal", get(journal))
        .route("/counters", get(counters))
        .with_state(p)
}

use sim_kit::admin::{bad_request as bad, internal, JsonList, JsonObject, Page};

async fn health() -> Response {
    Json(json!({ "status": "ok", "component": "sim-sp" })).into_response()
}

async fn get_routing(State(p): S) -> Response {
    Json(p.routing.read().expect("routing lock").clone()).into_response()
}

/// A route is for one of the 98 municipalities (the only authorities of this service, SP-3)
/// to an instance the platform knows.
fn check_route(p: &Platform, cvr: &str, instance: &str) -> Result<(), String> {
    let m = cvr
        .parse::<Cvr>()
        .map_err(|e| format!("municipality: {e}"))?;
    if sim_wire::municipalities::by_cvr(m).is_none() {
        return Err(format!(
            "municipality: CVR {cvr} is not one of the 98 municipalities"
        ));
    }
    if !p.instances.contains_key(instance) {
        return Err(format!(
            "unknown instance '{instance}'; known: {:?}",
            p.instances.keys().collect::<Vec<_>>()
        ));
    }
    Ok(())
}

async fn store_routing(
    p: &Platform,
    table: BTreeMap<String, String>,
) -> Result<(), sim_store::StoreError> {
    let copy = table.clone();
    p.db.write(move |tx| {
        tx.execute("DELETE FROM sp_routing", [])?;
        for (m, i) in &copy {
            tx.execute(
                "INSERT INTO sp_routing (municipality, instance) VALUES (?1, ?2)",
                (m, i),
            )?;
        }
        Ok(())
    })
    .await?;
    *p.routing.write().expect("routing lock") = table;
    Ok(())
}

/// `PUT /routing?allow_empty=true`: emptying the whole table must be asked for.
#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct EmptyOk {
    allow_empty: bool,
}

async fn put_routing(
    State(p): S,
    Query(q): Query<EmptyOk>,
    JsonObject(table): JsonObject<BTreeMap<String, String>>,
) -> Response {
    if table.is_empty() && !q.allow_empty {
        return bad("an empty routing table routes nothing (SP-4 for every call); add ?allow_empty=true to mean it");
    }
    let _one_change = p.control.lock().await;
    for (m, i) in &table {
        if let Err(e) = check_route(&p, m, i) {
            return bad(e);
        }
    }
    match store_routing(&p, table.clone()).await {
        Ok(()) => Json(table).into_response(),
        Err(e) => internal(e),
    }
}

#[derive(serde::Deserialize)]
struct RouteBody {
    instance: String,
}

async fn put_route(
    State(p): S,
    Path(cvr): Path<String>,
    JsonObject(body): JsonObject<RouteBody>,
) -> Response {
    if let Err(e) = check_route(&p, &cvr, &body.instance) {
        return bad(e);
    }
    let _one_change = p.control.lock().await;
    let mut table = p.routing.read().expect("routing lock").clone();
    let previous = table.insert(cvr.clone(), body.instance.clone());
    tracing::info!(municipality = %cvr, from = ?previous, to = %body.instance, "route changed");
    match store_routing(&p, table).await {
        Ok(()) => {
            Json(json!({ "municipality": cvr, "instance": body.instance, "previous": previous }))
                .into_response()
        }
        Err(e) => internal(e),
    }
}

async fn delete_route(State(p): S, Path(cvr): Path<String>) -> Response {
    let _one_change = p.control.lock().await;
    let mut table = p.routing.read().expect("routing lock").clone();
    let previous = table.remove(&cvr);
    if previous.is_some() && table.is_empty() {
        return bad("this removes the last route: an empty routing table routes nothing (SP-4 for every call); PUT /routing?allow_empty=true with {} to mean it");
    }
    match store_routing(&p, table).await {
        Ok(()) => Json(json!({ "municipality": cvr, "previous": previous })).into_response(),
        Err(e) => internal(e),
    }
}

async fn get_agreements(State(p): S, Query(page): Query<Page>) -> Response {
    Json(page.of(&p.agreements.read().expect("agreements lock"))).into_response()
}

async fn add_agreement(State(p): S, JsonObject(a): JsonObject<Agreement>) -> Response {
    let _one_change = p.control.lock().await;
    let mut list = p.agreements.read().expect("agreements lock").clone();
    if !list.contains(&a) {
        list.push(a);
    }
    store_agreements(&p, list).await
}

async fn put_agreements(State(p): S, JsonList(list): JsonList<Agreement>) -> Response {
    let _one_change = p.control.lock().await;
    store_agreements(&p, list).await
}

/// Replaces the agreements (the caller holds `control`). KSD's own agreement for every
/// municipality must stay: without it no business receipt could be sent (SP-2).
async fn store_agreements(p: &Platform, list: Vec<Agreement>) -> Response {
    let ksd_kept = list
        .iter()
        .any(|a| a.municipality == "*" && a.system == p.ksd_system);
    if !ksd_kept {
        return bad(format!(
            "the list drops KSD's own agreement ({:?} for *): KSD could no longer send business receipts",
            p.ksd_system
        ));
    }
    for a in &list {
        if a.municipality != "*" && a.municipality.parse::<Cvr>().is_err() {
            return bad(format!(
                "agreement municipality '{}' is neither * nor a CVR",
                a.municipality
            ));
        }
    }
    let rows: Vec<String> = list
        .iter()
        .map(|a| serde_json::to_string(a).expect("serialises"))
        .collect();
    let r =
        p.db.write(move |tx| {
            tx.execute("DELETE FROM sp_agreements", [])?;
            for j in &rows {
                tx.execute("INSERT INTO sp_agreements (json) VALUES (?1)", [j])?;
            }
            Ok(())
        })
        .await;
    match r {
        Ok(()) => {
            *p.agreements.write().expect("agreements lock") = list.clone();
            Json(list).into_response()
        }
        Err(e) => internal(e),
    }
}

async fn journal(State(p): S, Query(filter): Query<JournalFilter>) -> Response {
    sim_kit::admin::journal(&p.journal, filter).await
}

async fn counters(State(p): S) -> Response {
    let counters = match p.journal.counters().await {
        Ok(c) => c,
        Err(e) => return internal(e),
    };
    Json(json!({ "journal": counters })).into_response()
}
