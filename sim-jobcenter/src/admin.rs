//! The admin API: JSON over plain HTTP on its own port (never a vendor's mTLS port).
//!
//! - `GET /health` — instances and their municipalities.
//! - `POST /send` — body: an [`UpdateSpec`] (`{}` for all defaults) → [`crate::SendOutcome`].
//! - `GET /updates?instance=&status=&offset=&limit=` — updates, newest first.
//! - `GET /updates/{tid}` — one update with its business receipt, if any.
//! - `POST /updates/{tid}/resend` — sends a stored, not yet accepted update again (JC-1).
//! - `GET /updates/{tid}/wait?timeout_ms=N` — long-polls until the business receipt is
//!   stored: 200 with the update, 408 on timeout, 404 for an unknown TransaktionIdentifikator.
//! - `GET /updates/{tid}/transport?timeout_ms=N` — long-polls until the update has its
//!   TransportKvittering ([`Jobcenter::wait_for_transport`]): 200 `{transaktion_id, status}`
//!   with `accepted` or `rejected`, or `sent` when `timeout_ms` passed first (still owned and
//!   resent, JC-1); 404 for an update this vendor does not know.
//! - `GET /receipts?instance=&offset=&limit=` — business receipts received.
//! - `GET /receipts/count` — `{receipts}`: distinct business receipts stored
//!   ([`Jobcenter::receipt_count`]; reads no table, for polling a backlog).
//! - `GET /receipts/times` — when each business receipt first arrived, *all* of them, oldest
//!   first, as `[[TransaktionIdentifikator, Unix milliseconds of virtual time], ...]`
//!   ([`Jobcenter::receipt_times`]): not paged, unlike every other list, because a run's
//!   latency needs every one (200,000 in the month) and a row is ~50 bytes, without documents.
//! - `POST /lookups` — body `{instance, municipality?, query}` with `query` either
//!   `{"hent_sag": {"sag_identifikator": uuid}}` (or `nem_refusion_identifier`) or
//!   `{"hent_sags_liste": {sygemeldte_part?, periode_fra?, periode_til?}}` — an SF2096 look-up
//!   through the platform ([`Jobcenter::lookup`]) → [`crate::LookupOutcome`], whatever the
//!   platform answered (faults included); 400 for JC-3 or an unreadable value, 404 for an
//!   unknown instance, 409 when the instance serves no municipality now.
//! - `POST /ky` — body `{instance, municipality?, request_xml}`: an SF1690 message, carried as
//!   its SOAP document (`sim_wire::ky::write_request`), sent as [`Jobcenter::send_ky`] does
//!   (the vendor fills in its system, the sending time and the security context, owns it
//!   until KY's TransportKvittering, JC-1) → [`crate::KyOutcome`].
//! - `GET /ky/{tid}/wait?timeout_ms=N` — long-polls until the KY message has KY's
//!   TransportKvittering ([`Jobcenter::wait_for_ky`]): 200 with the [`crate::KyOutcome`] as it
//!   then stands (`pending` when `timeout_ms` passed first), 404 for a message this vendor
//!   does not know.
//! - `GET /events?instance=&sag_id=&offset=&limit=` — SF2090 case events received (KSD-10),
//!   oldest first, each with the case state it told and its acknowledgement: pending, sent
//!   (with the TransportKvittering's code) or never.
//! - `GET /extension-requests?instance=&sag_id=&offset=&limit=` — SF2093 extension requests
//!   received (KSD-11), oldest first, each with the policy's decision and its answer.
//!
//! Every list is a page (`sim_kit::admin::Page`, at most 10,000 rows), but `/receipts/times`.
//! - `GET /journal?...` — the journal, filtered as `sim_store::JournalFilter` allows.
//! - `GET /counters` — journal counts, updates by instance and status, receipts, the
//!   background resender's backlog of updates (`resend_pending`: owned without a
//!   TransportKvittering, JC-1), events with their acknowledgements by state, extension
//!   requests by decision and their answers by state.
//! - `PUT /vendors/{instance}/municipalities/{cvr}`, `DELETE ...` — the instance starts or
//!   stops serving a municipality (a municipality changing vendor, SP-3; JC-3 follows it).
//!
//! The long polls wait at most `timeout_ms` of real time (default 30 s, read as at most 300 s).
//! `/send`, `/updates/{tid}/resend`, `/updates/{tid}/transport`, `/lookups`, `/ky`,
//! `/ky/{tid}/wait`, `/receipts/count` and `/receipts/times` are everything the scenario
//! runner calls on a jobcenter, with the in-process methods' semantics, so that `sim run` can
//! drive one in another process or container (`sim::jobcenter_remote`).

use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use sim_store::JournalFilter;

use crate::flows::sf2096::Lookup;
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
        .route("/updates/{tid}/transport", get(transport))
        .route("/receipts", get(receipts))
        .route("/receipts/count", get(receipt_count))
        .route("/receipts/times", get(receipt_times))
        .route("/lookups", post(lookup))
        .route("/ky", post(send_ky))
        .route("/ky/{tid}/wait", get(wait_ky))
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
    /// The longest wait, in real milliseconds.
    timeout_ms: Option<u64>,
}

impl WaitQuery {
    /// The wait asked for: [`DEFAULT_WAIT`] when none, at most [`MAX_WAIT`].
    fn timeout(&self) -> Duration {
        self.timeout_ms
            .map_or(DEFAULT_WAIT, Duration::from_millis)
            .min(MAX_WAIT)
    }
}

async fn wait(State(jc): S, Path(tid): Path<String>, Query(q): Query<WaitQuery>) -> Response {
    let known = match (jc.update(&tid).await, jc.receipt(&tid).await) {
        (Ok(u), Ok(r)) => u.is_some() || r.is_some(),
        (Err(e), _) | (_, Err(e)) => return failed(e),
    };
    if !known {
        return failed(JobcenterError::UnknownUpdate(tid));
    }
    let timeout = q.timeout();
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

/// `GET /updates/{tid}/transport`: [`Jobcenter::wait_for_transport`] over HTTP.
async fn transport(State(jc): S, Path(tid): Path<String>, Query(q): Query<WaitQuery>) -> Response {
    match jc.wait_for_transport(&tid, q.timeout()).await {
        Ok(Some(status)) => {
            Json(json!({ "transaktion_id": tid, "status": status })).into_response()
        }
        Ok(None) => failed(JobcenterError::UnknownUpdate(tid)),
        Err(e) => failed(e),
    }
}

/// `GET /receipts/count`: [`Jobcenter::receipt_count`].
async fn receipt_count(State(jc): S) -> Response {
    match jc.receipt_count().await {
        Ok(n) => Json(json!({ "receipts": n })).into_response(),
        Err(e) => failed(e),
    }
}

/// `GET /receipts/times`: [`Jobcenter::receipt_times`], every one, as
/// `[[TransaktionIdentifikator, Unix milliseconds], ...]`.
async fn receipt_times(State(jc): S) -> Response {
    match jc.receipt_times().await {
        Ok(times) => Json(
            times
                .into_iter()
                .map(|(tid, at)| (tid, sim_store::unix_millis(at)))
                .collect::<Vec<_>>(),
        )
        .into_response(),
        Err(e) => failed(e),
    }
}

/// The body of `POST /lookups`: [`Jobcenter::lookup`]'s arguments.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LookupBody {
    /// The instance that looks up.
    instance: String,
    /// The municipality it looks up for (JC-3); default: the first it serves.
    #[serde(default)]
    municipality: Option<String>,
    /// What to look up.
    query: LookupQuery,
}

/// A [`Lookup`] in JSON: `{"hent_sag": ...}` or `{"hent_sags_liste": ...}`.
#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum LookupQuery {
    /// `HentSag`.
    HentSag(HentSagQuery),
    /// `HentSagsListe`.
    HentSagsListe(HentSagsListeQuery),
}

/// `HentSag`'s criterion: `{"sag_identifikator": uuid}` or `{"nem_refusion_identifier": uuid}`.
#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum HentSagQuery {
    /// By KSD's case id.
    SagIdentifikator(String),
    /// By NemRefusion's id.
    NemRefusionIdentifier(String),
}

/// `HentSagsListe`'s criteria, each optional.
#[derive(Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct HentSagsListeQuery {
    /// Only this person's cases (a CPR).
    sygemeldte_part: Option<String>,
    /// Period start, `YYYY-MM-DD`.
    periode_fra: Option<String>,
    /// Period end, `YYYY-MM-DD`.
    periode_til: Option<String>,
}

/// Reads `value` of field `field`, or says why not.
fn parsed<T: std::str::FromStr>(field: &str, value: &str) -> Result<T, String>
where
    T::Err: std::fmt::Display,
{
    value.parse().map_err(|e| format!("{field}: {e}"))
}

/// Reads an optional field.
fn parsed_opt<T: std::str::FromStr>(field: &str, value: Option<&str>) -> Result<Option<T>, String>
where
    T::Err: std::fmt::Display,
{
    value.map(|v| parsed(field, v)).transpose()
}

impl LookupQuery {
    /// The typed look-up, or why the JSON holds none.
    fn lookup(&self) -> Result<Lookup, String> {
        Ok(match self {
            LookupQuery::HentSag(HentSagQuery::SagIdentifikator(id)) => {
                Lookup::Sag(sim_wire::HentSag::SagIdentifikator(parsed(
                    "query.hent_sag.sag_identifikator",
                    id,
                )?))
            }
            LookupQuery::HentSag(HentSagQuery::NemRefusionIdentifier(id)) => {
                Lookup::Sag(sim_wire::HentSag::NemRefusionIdentifier(parsed(
                    "query.hent_sag.nem_refusion_identifier",
                    id,
                )?))
            }
            LookupQuery::HentSagsListe(l) => Lookup::Liste(sim_wire::HentSagsListe {
                sygemeldte_part: parsed_opt(
                    "query.hent_sags_liste.sygemeldte_part",
                    l.sygemeldte_part.as_deref(),
                )?,
                periode_fra: parsed_opt(
                    "query.hent_sags_liste.periode_fra",
                    l.periode_fra.as_deref(),
                )?,
                periode_til: parsed_opt(
                    "query.hent_sags_liste.periode_til",
                    l.periode_til.as_deref(),
                )?,
            }),
        })
    }
}

/// `POST /lookups`: [`Jobcenter::lookup`] over HTTP. What the platform answered, faults
/// included, is the 200 body; errors are about the request, as in-process.
async fn lookup(State(jc): S, JsonObject(body): JsonObject<LookupBody>) -> Response {
    let query = match body.query.lookup() {
        Ok(q) => q,
        Err(e) => return error(StatusCode::BAD_REQUEST, e),
    };
    let municipality = match parsed_opt("municipality", body.municipality.as_deref()) {
        Ok(m) => m,
        Err(e) => return error(StatusCode::BAD_REQUEST, e),
    };
    match jc.lookup(&body.instance, municipality, query).await {
        Ok(o) => Json(o).into_response(),
        // The instance serves no municipality now (all were moved away): its state, not a
        // fault of the process.
        Err(e @ JobcenterError::Config(_)) => error(StatusCode::CONFLICT, e),
        Err(e) => failed(e),
    }
}

/// The body of `POST /ky`: [`Jobcenter::send_ky`]'s arguments, the request as its document.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KyBody {
    /// The instance that sends.
    instance: String,
    /// The municipality it sends for (JC-3); default: the request's AuthorityContext, else
    /// its header's Myndighed.
    #[serde(default)]
    municipality: Option<String>,
    /// The KY request as a SOAP document (`sim_wire::ky::write_request`); read with
    /// `sim_wire::ky::read`, sent even when it breaks a KY rule (as in-process: KY judges).
    request_xml: String,
}

/// `POST /ky`: [`Jobcenter::send_ky`] over HTTP.
async fn send_ky(State(jc): S, JsonObject(body): JsonObject<KyBody>) -> Response {
    let request = match sim_wire::ky::read(body.request_xml.as_bytes(), None) {
        Ok(d) => match d.message {
            Some(sim_wire::ky::KyMessage::Request(r)) => r,
            Some(_) => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "request_xml: a KY response or fault, not a request",
                )
            }
            None => {
                let problems: Vec<String> = d.problems.iter().map(|p| p.to_string()).collect();
                return error(
                    StatusCode::BAD_REQUEST,
                    format!(
                        "request_xml: no KY request could be read: {}",
                        problems.join("; ")
                    ),
                );
            }
        },
        Err(e) => return error(StatusCode::BAD_REQUEST, format!("request_xml: {e}")),
    };
    let municipality = match parsed_opt("municipality", body.municipality.as_deref()) {
        Ok(m) => m,
        Err(e) => return error(StatusCode::BAD_REQUEST, e),
    };
    match jc.send_ky(&body.instance, municipality, request).await {
        Ok(o) => Json(o).into_response(),
        Err(e) => failed(e),
    }
}

/// `GET /ky/{tid}/wait`: [`Jobcenter::wait_for_ky`] over HTTP.
async fn wait_ky(State(jc): S, Path(tid): Path<String>, Query(q): Query<WaitQuery>) -> Response {
    match jc.wait_for_ky(&tid, q.timeout()).await {
        Ok(Some(o)) => Json(o).into_response(),
        Ok(None) => error(
            StatusCode::NOT_FOUND,
            format!("no KY message with TransaktionIdentifikator {tid}"),
        ),
        Err(e) => failed(e),
    }
}
