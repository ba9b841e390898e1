//! The Beskedfordeler's admin routes (JSON over plain HTTP, merged into the platform's admin
//! API), all under `/bf/` so they never collide with the platform's own:
//!
//! - `GET /bf/subscriptions?offset=&limit=`, `POST /bf/subscriptions` (a
//!   [`NewSubscription`](crate::NewSubscription); 403 without an approved agreement, TS103/TS104),
//!   `GET /bf/subscriptions/{id}`, `DELETE /bf/subscriptions/{id}`
//! - `GET /bf/value-lists?subscriber_cvr=&name=&offset=&limit=` — view only: subscribers keep
//!   their lists through the SOAP service (BF-1, TS106)
//! - `GET /bf/messages?offset=&limit=`, `GET /bf/deliveries?subscription_id=&state=&offset=&limit=`
//! - `GET /bf/counters` — the tables' counts, the push outbox and the journal's counters
//! - `GET /bf/journal?...` — the journal query every program answers

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;
use sim_kit::admin::{bad_request, error, internal, not_found, JsonObject, Page};
use sim_store::{Direction, JournalFilter, Outcome, Part};
use sim_wire::besked::{
    BfOperation, BESKEDTYPE_SYGEMELDINGSSTATUS, VAERDILISTE_SYGEMELDINGSSTATUS,
};
use sim_wire::{Cvr, Rule, Uuid};

use crate::store::{self, Subscription};
use crate::{Beskedfordeler, BfError, Inner, NewSubscription};

type S = State<Beskedfordeler>;

pub(crate) fn router(bf: Beskedfordeler) -> Router {
    Router::new()
        .route("/bf/subscriptions", get(list).post(create))
        .route("/bf/subscriptions/{id}", get(one).delete(delete))
        .route("/bf/value-lists", get(value_lists))
        .route("/bf/messages", get(messages))
        .route("/bf/deliveries", get(deliveries))
        .route("/bf/counters", get(counters))
        .route("/bf/journal", get(journal))
        .with_state(bf)
}

/// TS105: a subscription for an organisation with an approved agreement (TS103/TS104),
/// journaled as `BF/OpretAbonnement` either way.
pub(crate) async fn create_subscription(
    inner: &Inner,
    new: NewSubscription,
) -> Result<Subscription, BfError> {
    let cvr: Cvr = new
        .subscriber_cvr
        .parse()
        .map_err(|e| BfError::Invalid(format!("subscriber_cvr: {e}")))?;
    let beskedtype: Uuid = new
        .beskedtype
        .as_deref()
        .unwrap_or(BESKEDTYPE_SYGEMELDINGSSTATUS)
        .parse()
        .map_err(|e| BfError::Invalid(format!("beskedtype: {e}")))?;
    let value_list = new
        .value_list
        .clone()
        .unwrap_or_else(|| VAERDILISTE_SYGEMELDINGSSTATUS.to_string());
    let valid_name = !value_list.is_empty()
        && value_list.len() <= 100
        && value_list
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if !valid_name {
        return Err(BfError::Invalid(
            "value_list: 1 to 100 ASCII letters, digits, '_' or '-'".into(),
        ));
    }
    if let Some(url) = &new.push_url {
        if !url.starts_with("https://") {
            return Err(BfError::Invalid("push_url must be an https:// URL".into()));
        }
        if inner.config.push_client.is_none() {
            return Err(BfError::Invalid(
                "this Beskedfordeler has no push client (the platform's certificate): push subscriptions are not possible".into(),
            ));
        }
    }
    let now = inner.clock.now();
    let id = match &new.id {
        Some(id) => id
            .parse::<Uuid>()
            .map_err(|e| BfError::Invalid(format!("id: {e}")))?
            .to_string(),
        None => inner.ids.next_uuid().to_string(),
    };
    let exchange = inner.exchange(
        BfOperation::OpretAbonnement,
        None,
        Some(id.clone()),
        Some(format!("CVR {cvr}")),
        None,
    );
    let raw = serde_json::to_string(&new).unwrap_or_default();
    if !(inner.agreements)(&cvr) {
        let e = exchange.entry(
            now,
            Direction::In,
            Part::Request,
            Outcome::fault(Rule::Bf1),
            Some(format!(
                "refused: CVR {cvr} has no approved agreement (TS103/TS104)"
            )),
            raw,
        );
        inner.journal.record_all(vec![e]).await;
        return Err(BfError::NoAgreement(cvr.to_string()));
    }
    if let Some(amqp) = &inner.amqp {
        amqp.declare_queue(inner, &id).await?;
    }
    let sub = Subscription {
        id: id.clone(),
        subscriber_cvr: cvr.to_string(),
        beskedtype: beskedtype.to_string(),
        filter: store::filter_text(&value_list),
        value_list,
        push_url: new.push_url.clone(),
        created_at: now,
    };
    let e = exchange.entry(
        now,
        Direction::In,
        Part::Request,
        Outcome::Ok,
        Some(format!("subscription {id}: {}", sub.filter)),
        raw,
    );
    let stored = sub.clone();
    inner
        .db
        .write(move |tx| {
            store::insert_subscription(tx, &stored)?;
            sim_store::Journal::record_in(tx, &e)
        })
        .await?;
    inner.subscriptions_changed.notify_one();
    Ok(sub)
}

/// Deletes a subscription, its unacknowledged deliveries and (RabbitMQ) its queue.
pub(crate) async fn delete_subscription(inner: &Inner, id: &str) -> Result<(), BfError> {
    let key = id.to_string();
    let existed = inner
        .db
        .write(move |tx| store::delete_subscription(tx, &key))
        .await?;
    if !existed {
        return Err(BfError::NotFound(id.to_string()));
    }
    inner.subscriptions_changed.notify_one();
    if let Some(amqp) = &inner.amqp {
        amqp.delete_queue(inner, id).await?;
    }
    Ok(())
}

fn failed(e: BfError) -> Response {
    match e {
        BfError::NoAgreement(_) => error(StatusCode::FORBIDDEN, e),
        BfError::Invalid(_) => error(StatusCode::UNPROCESSABLE_ENTITY, e),
        BfError::NotFound(_) => not_found(e),
        BfError::Broker(_) => error(StatusCode::SERVICE_UNAVAILABLE, e),
        BfError::Store(_) => internal(e),
    }
}

async fn list(State(bf): S, Query(page): Query<Page>) -> Response {
    match bf
        .inner
        .db
        .read(move |c| store::subscriptions(c, page.offset(), page.limit()))
        .await
    {
        Ok(v) => Json(v).into_response(),
        Err(e) => internal(e),
    }
}

async fn create(State(bf): S, JsonObject(new): JsonObject<NewSubscription>) -> Response {
    match create_subscription(&bf.inner, new).await {
        Ok(s) => (StatusCode::CREATED, Json(s)).into_response(),
        Err(e) => failed(e),
    }
}

async fn one(State(bf): S, Path(id): Path<String>) -> Response {
    let key = id.clone();
    match bf
        .inner
        .db
        .read(move |c| store::subscription_by_id(c, &key))
        .await
    {
        Ok(Some(s)) => Json(s).into_response(),
        Ok(None) => not_found(format!("no subscription {id}")),
        Err(e) => internal(e),
    }
}

async fn delete(State(bf): S, Path(id): Path<String>) -> Response {
    match delete_subscription(&bf.inner, &id).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => failed(e),
    }
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
struct ListQuery {
    subscriber_cvr: Option<String>,
    name: Option<String>,
    subscription_id: Option<String>,
    state: Option<String>,
    offset: Option<u64>,
    limit: Option<u32>,
}

impl ListQuery {
    fn page(&self) -> Page {
        Page {
            offset: self.offset,
            limit: self.limit,
        }
    }
}

async fn value_lists(State(bf): S, Query(q): Query<ListQuery>) -> Response {
    let page = q.page();
    match bf
        .inner
        .db
        .read(move |c| {
            store::value_lists(
                c,
                q.subscriber_cvr.as_deref(),
                q.name.as_deref(),
                page.offset(),
                page.limit(),
            )
        })
        .await
    {
        Ok(v) => Json(v).into_response(),
        Err(e) => internal(e),
    }
}

async fn messages(State(bf): S, Query(page): Query<Page>) -> Response {
    match bf
        .inner
        .db
        .read(move |c| store::messages(c, page.offset(), page.limit()))
        .await
    {
        Ok(v) => Json(v).into_response(),
        Err(e) => internal(e),
    }
}

async fn deliveries(State(bf): S, Query(q): Query<ListQuery>) -> Response {
    if let Some(s) = q.state.as_deref() {
        if ![store::READY, store::ACKED, store::QUEUED].contains(&s) {
            return bad_request("state: one of ready, acked, queued");
        }
    }
    let page = q.page();
    match bf
        .inner
        .db
        .read(move |c| {
            store::deliveries(
                c,
                q.subscription_id.as_deref(),
                q.state.as_deref(),
                page.offset(),
                page.limit(),
            )
        })
        .await
    {
        Ok(v) => Json(v).into_response(),
        Err(e) => internal(e),
    }
}

async fn counters(State(bf): S) -> Response {
    let inner = &bf.inner;
    let counts = match inner.db.read(store::counts).await {
        Ok(c) => c,
        Err(e) => return internal(e),
    };
    let outbox = match inner.outbox.pending().await {
        Ok(n) => n,
        Err(e) => return internal(e),
    };
    let journal = match inner.journal.counters().await {
        Ok(c) => c,
        Err(e) => return internal(e),
    };
    Json(json!({
        "broker": match &inner.config.broker { crate::Broker::Embedded => "embedded", crate::Broker::Amqp { .. } => "amqp" },
        "tables": counts,
        "push_outbox_pending": outbox,
        "journal": journal,
    }))
    .into_response()
}

async fn journal(State(bf): S, Query(filter): Query<JournalFilter>) -> Response {
    sim_kit::admin::journal(&bf.inner.journal, filter).await
}
