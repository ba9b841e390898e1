//! STAR's two exposures: `WsrmService` ([`crate::WSRM_SERVICE_PATH`]: create, terminate,
//! close) and `WsrmMessageService` ([`crate::WSRM_MESSAGE_SERVICE_PATH`]: the fetch). Each call
//! goes through the same numbered steps; every refusal is a SOAP fault naming its rule, and
//! every call and answer is journaled.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use sim_kit::config::peer_text;
use sim_kit::soap::{ok_response, SoapCall, CONTENT_TYPE};
use sim_store::{Direction, Journal, Outcome, Part};
use sim_wire::star::{
    self, CreateSequenceRequest, CreateSequenceResponse, ServiceItem, StarCall, StarOperation,
    StarRequest, StarResponse, StarService, KSD_SUB_QUEUE,
};
use sim_wire::{Rule, Uuid};
use time::OffsetDateTime;

use crate::body::CutBody;
use crate::queue::{self, SequenceState};
use crate::state::{slow_down, Seen, Star};

/// `POST /star/WsrmService`.
pub async fn wsrm(State(s): State<Arc<Star>>, call: SoapCall) -> Response {
    handle(&s, StarService::Wsrm, call).await
}

/// `POST /star/WsrmMessageService`.
pub async fn wsrm_message(State(s): State<Arc<Star>>, call: SoapCall) -> Response {
    handle(&s, StarService::WsrmMessage, call).await
}

/// Anything posted elsewhere: refused with a journaled fault, not dropped.
pub async fn no_such_endpoint(
    State(s): State<Arc<Star>>,
    method: axum::http::Method,
    uri: axum::http::Uri,
    call: SoapCall,
) -> Response {
    let received = call.arrived_at.unwrap_or_else(|| s.now());
    let seen = Seen::new(
        s.call_ids.next_uuid(),
        None,
        call.peer.as_ref().map(peer_text),
    );
    let text = format!(
        "STAR serves no {method} at {}; its services are POST {} and POST {} (SOAP 1.1).",
        uri.path(),
        crate::WSRM_SERVICE_PATH,
        crate::WSRM_MESSAGE_SERVICE_PATH
    );
    s.refuse(&seen, received, call.text(), true, Rule::Wire1, text)
        .await
}

/// One call, step by step.
async fn handle(s: &Star, service: StarService, call: SoapCall) -> Response {
    let received = call.arrived_at.unwrap_or_else(|| s.now());
    let mut seen = Seen::new(
        s.call_ids.next_uuid(),
        None,
        call.peer.as_ref().map(peer_text),
    );

    // 1. WIRE-1/WIRE-3: a usable SOAP 1.1 call of one of STAR's operations.
    let read = match &call.unreadable {
        Some(why) => Err(star::StarReadError::Unusable(
            sim_wire::WireError::UnreadableBody {
                detail: why.clone(),
            },
        )),
        None => star::read_request(&call.body, call.soap_action.as_deref()),
    };
    let star_call = match read {
        Ok(c) => c,
        Err(e) => {
            seen.exchange.label = crate::state::label(
                call.soap_action
                    .as_deref()
                    .and_then(StarOperation::from_soap_action),
            );
            let text = format!("the request is not a usable call of STAR's services: {e}");
            return s
                .refuse(&seen, received, call.text(), true, e.rule(), text)
                .await;
        }
    };
    let op = star_call.operation();
    seen.exchange.label = crate::state::label(Some(op));
    seen.exchange.transaktion_id = star_call.sequence().map(|u| u.to_string());

    // 2. SP-7: only the platform (KOMBIT's certificate) calls STAR (seed 004 TS302).
    let allowed = call
        .peer
        .as_ref()
        .is_some_and(|p| s.allowed_callers.iter().any(|c| c == p.cvr.as_str()));
    if !allowed {
        let who = seen
            .exchange
            .peer
            .clone()
            .unwrap_or_else(|| "an unidentified caller".into());
        let text = format!(
            "{who} may not call STAR: it has registered only the platform's certificate (CVR {}).",
            s.allowed_callers.join(", ")
        );
        return s
            .refuse(&seen, received, call.text(), true, Rule::Sp7, text)
            .await;
    }

    // 3. WIRE-1: the operation is one of this service's.
    if op.service() != service {
        let text = format!(
            "{op} belongs to {}, not to {}: post it to {}",
            op.service().name(),
            service.name(),
            path_of(op.service())
        );
        return s
            .refuse(&seen, received, call.text(), true, Rule::Wire1, text)
            .await;
    }

    // 4. A slow STAR (fault injection), before any work.
    slow_down(s.star_faults.slowness(op)).await;

    // 5. SP-12: the constant headers (and the fetch's SequenceRequest).
    let problems = star::check_headers(op, &star_call.headers);
    if !problems.is_empty() {
        let list: Vec<String> = problems.iter().map(|p| p.text.clone()).collect();
        let text = format!(
            "the call lacks STAR's constant SOAP headers: {}",
            list.join("; ")
        );
        return s
            .refuse(&seen, received, call.text(), true, Rule::Sp12, text)
            .await;
    }

    // 6. The operation.
    let raw = call.text();
    match &star_call.request {
        StarRequest::CreateSequence(r) => create(s, &seen, received, raw, *r, &call).await,
        StarRequest::GetIllnessUpdated => fetch(s, &seen, received, raw, &star_call).await,
        StarRequest::TerminateSequence(id) | StarRequest::CloseSequence(id) => {
            end(s, &seen, received, raw, op, id.identifier).await
        }
    }
}

fn path_of(service: StarService) -> &'static str {
    match service {
        StarService::Wsrm => crate::WSRM_SERVICE_PATH,
        StarService::WsrmMessage => crate::WSRM_MESSAGE_SERVICE_PATH,
    }
}

/// A STAR store failure: worth retrying (`soap:Server`), named under the sequence protocol.
async fn store_failed(
    s: &Star,
    seen: &Seen,
    received: OffsetDateTime,
    raw: String,
    e: sim_store::StoreError,
) -> Response {
    tracing::error!(error = %e, "STAR's store failed");
    let text = format!("STAR could not use its queue ({e}); try again");
    s.refuse(seen, received, raw, false, Rule::Sp10, text).await
}

/// EP_STAR1: a new sequence holding every queued event (SP-10).
async fn create(
    s: &Star,
    seen: &Seen,
    received: OffsetDateTime,
    raw: String,
    r: CreateSequenceRequest,
    call: &SoapCall,
) -> Response {
    if r.sub_queue_identifier != KSD_SUB_QUEUE {
        let text = format!(
            "SubQueueIdentifier {} is no sub-queue of KSD's: STAR keeps the sick-leave statuses on sub-queue {KSD_SUB_QUEUE}",
            r.sub_queue_identifier
        );
        return s.refuse(seen, received, raw, true, Rule::Sp10, text).await;
    }
    if let Err(e) = s.queue_due().await {
        return store_failed(s, seen, received, raw, e).await;
    }
    let id = s.sequence_ids.next_uuid();
    let mut seen = seen.clone();
    seen.exchange.transaktion_id = Some(id.to_string());
    let now = s.now();
    let deadline = s.expiry_deadline(now);
    let (limit, endpoint) = (s.max_per_sequence, s.service_endpoint.clone());
    let caller = call.peer.as_ref().map(peer_text);
    let exchange = seen.exchange.clone();
    let done =
        s.db.write(move |tx| {
            let expired = queue::expire_overdue(tx, deadline, now)?;
            let n = queue::create_sequence(tx, &id.to_string(), now, limit, caller.as_deref())?;
            let response = StarResponse::CreateSequence(CreateSequenceResponse {
                identifier: id,
                services: vec![ServiceItem::get_illness_updated(endpoint, n)],
            });
            let xml = star::write_response(&response)
                .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
            let detail = format!("{n} events in the sequence");
            record_pair(
                tx,
                &exchange,
                received,
                now,
                Outcome::Ok,
                Some(detail),
                raw,
                &xml,
            )?;
            Ok((xml, n, expired))
        })
        .await;
    match done {
        Ok((xml, n, expired)) => {
            if !expired.is_empty() {
                tracing::info!(?expired, "sequences open too long were rolled back");
            }
            tracing::info!(sequence = %id, events = n, "sequence created");
            ok_response(xml)
        }
        Err(e) => store_failed(s, &seen, received, call.text(), e).await,
    }
}

/// Journals a request and its answer in the caller's transaction (the state change and the
/// journal commit together).
#[allow(clippy::too_many_arguments)]
fn record_pair(
    tx: &rusqlite::Transaction<'_>,
    x: &sim_store::Exchange,
    received: OffsetDateTime,
    at: OffsetDateTime,
    outcome: Outcome,
    detail: Option<String>,
    raw: String,
    answer: &str,
) -> rusqlite::Result<()> {
    let request = x.entry(
        received,
        Direction::In,
        Part::Request,
        outcome.clone(),
        detail,
        raw,
    );
    let response = x.entry(
        at,
        Direction::Out,
        Part::Response,
        outcome,
        None,
        answer.to_string(),
    );
    Journal::record_in(tx, &request)?;
    Journal::record_in(tx, &response)?;
    Ok(())
}

/// Why a sequence cannot be used (SP-10).
fn not_open(id: Uuid, state: Option<SequenceState>) -> String {
    match state {
        None => format!("STAR knows no sequence {id}: start one with CreateSequence"),
        Some(SequenceState::Expired) => format!(
            "sequence {id} was open too long and has been rolled back: its events come in the next sequence"
        ),
        Some(st) => format!(
            "sequence {id} is {}: it answers no more calls",
            st.as_str()
        ),
    }
}

/// EP_STAR2: every event of the sequence, in order; the same answer every time it is asked
/// while the sequence is open. A fault may cut the answer after k events.
async fn fetch(
    s: &Star,
    seen: &Seen,
    received: OffsetDateTime,
    raw: String,
    call: &StarCall,
) -> Response {
    // check_headers has made sure the SequenceRequest is a UUID.
    let Some(id) = call.headers.sequence() else {
        let text = "SequenceRequest/Identifier is missing".to_string();
        return s.refuse(seen, received, raw, true, Rule::Sp12, text).await;
    };
    let key = id.to_string();
    let looked =
        s.db.read(move |c| {
            let row = queue::sequence(c, &key)?;
            let fragments = match &row {
                Some(r) if r.state == SequenceState::Open => queue::fragments(c, &key)?,
                _ => Vec::new(),
            };
            Ok((row, fragments))
        })
        .await;
    let (row, fragments) = match looked {
        Ok(x) => x,
        Err(e) => return store_failed(s, seen, received, raw, e).await,
    };
    let now = s.now();
    let state = match &row {
        Some(r) if r.state == SequenceState::Open && r.created_at <= s.expiry_deadline(now) => {
            let deadline = s.expiry_deadline(now);
            if let Err(e) =
                s.db.write(move |tx| queue::expire_overdue(tx, deadline, now))
                    .await
            {
                return store_failed(s, seen, received, raw, e).await;
            }
            Some(SequenceState::Expired)
        }
        r => r.as_ref().map(|r| r.state),
    };
    if state != Some(SequenceState::Open) {
        return s
            .refuse(seen, received, raw, true, Rule::Sp10, not_open(id, state))
            .await;
    }

    // TODO(rule SP-10): the whole answer is built in memory (and journaled whole); a backlog
    // of months in one sequence would want a streamed answer and `max_events_per_sequence`.
    let n = fragments.len() as u64;
    let parts = star::fetch_response_parts();
    let cut = s.star_faults.cut_fetch_after(id, n);
    let (outcome, detail, pieces) = match cut {
        None => {
            let mut pieces = Vec::with_capacity(fragments.len() + 2);
            pieces.push(parts.head);
            pieces.extend(fragments);
            pieces.push(parts.tail);
            (Outcome::Ok, format!("{n} events"), pieces)
        }
        Some(k) => {
            let mut pieces = Vec::with_capacity(k as usize + 1);
            pieces.push(parts.head);
            pieces.extend(fragments.into_iter().take(k as usize));
            (
                Outcome::Unreadable("truncated".into()),
                format!("fault injection: the answer is cut after {k} of {n} events"),
                pieces,
            )
        }
    };
    let sent = pieces.concat();
    let request = seen.exchange.entry(
        received,
        Direction::In,
        Part::Request,
        outcome.clone(),
        Some(detail.clone()),
        raw,
    );
    let answer = seen.exchange.entry(
        now,
        Direction::Out,
        Part::Response,
        outcome,
        None,
        sent.clone(),
    );
    s.journal.record_all(vec![request, answer]).await;
    match cut {
        None => ok_response(sent),
        Some(_) => {
            tracing::info!(sequence = %id, %detail, "fetch cut");
            let mut r = Response::new(axum::body::Body::new(CutBody::new(pieces)));
            *r.status_mut() = StatusCode::OK;
            r.headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
            r
        }
    }
}

/// Whether an end call found its sequence open, and how many events it moved.
enum Ended {
    Done(u64),
    NotOpen(Option<SequenceState>),
}

/// EP_STAR3 (terminate: the events are gone for good) and EP_STAR4 (close: every event back
/// on the queue, never some).
async fn end(
    s: &Star,
    seen: &Seen,
    received: OffsetDateTime,
    raw: String,
    op: StarOperation,
    id: Uuid,
) -> Response {
    let response = match op {
        StarOperation::TerminateSequence => StarResponse::TerminateSequence,
        _ => StarResponse::CloseSequence,
    };
    let xml = match star::write_response(&response) {
        Ok(x) => x,
        Err(e) => {
            return s
                .refuse(seen, received, raw, false, Rule::Wire1, e.to_string())
                .await
        }
    };
    let now = s.now();
    let deadline = s.expiry_deadline(now);
    let exchange = seen.exchange.clone();
    let (raw_in, answer) = (raw.clone(), xml.clone());
    let done =
        s.db.write(move |tx| {
            queue::expire_overdue(tx, deadline, now)?;
            let key = id.to_string();
            match queue::sequence(tx, &key)?.map(|r| r.state) {
                Some(SequenceState::Open) => {}
                other => return Ok(Ended::NotOpen(other)),
            }
            let (n, what) = if op == StarOperation::TerminateSequence {
                (queue::terminate(tx, &key, now)?, "gone for good")
            } else {
                (queue::close(tx, &key, now)?, "back on the queue")
            };
            let detail = format!("{n} events {what}");
            record_pair(
                tx,
                &exchange,
                received,
                now,
                Outcome::Ok,
                Some(detail),
                raw_in,
                &answer,
            )?;
            Ok(Ended::Done(n))
        })
        .await;
    match done {
        Ok(Ended::Done(n)) => {
            tracing::info!(sequence = %id, events = n, "{op}");
            ok_response(xml)
        }
        Ok(Ended::NotOpen(state)) => {
            s.refuse(seen, received, raw, true, Rule::Sp10, not_open(id, state))
                .await
        }
        Err(e) => store_failed(s, seen, received, raw, e).await,
    }
}
