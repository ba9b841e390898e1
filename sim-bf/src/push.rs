//! Push delivery (BF-2): an HTTPS POST of `ModtagBeskedInput` to the subscription's URL with
//! the platform's certificate; done only when the subscriber answers
//! `ModtagBeskedOutput/StandardRetur/StatusKode` 20, otherwise (another StatusKode, a fault,
//! HTTP 500, no answer) tried again after a backoff in virtual time, for as long as the
//! subscription exists.
//!
//! The embedded broker's pushes are items of the `bf.sqlite` outbox, enqueued in the publish
//! commit and deleted only after the StatusKode 20 is committed. With RabbitMQ every push
//! subscription has a consumer that acks its queue's message only after StatusKode 20, so a
//! crash in between hands it over again.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use lapin::options::{BasicAckOptions, BasicConsumeOptions, BasicQosOptions};
use lapin::types::FieldTable;
use sim_store::{Direction, Journal, Outcome, Part};
use sim_wire::besked::{self, BfMessage, BfOperation, BfRequest, BfResponse};

use crate::{store, Broker, Inner};

/// How often the RabbitMQ push supervisor looks for new or deleted push subscriptions and
/// restarts consumers whose connection broke (real time: housekeeping, no stored time).
const SUPERVISE_EVERY: Duration = Duration::from_secs(1);

/// The workers of this broker.
pub(crate) fn workers(
    inner: &Arc<Inner>,
    stop: &sim_kit::shutdown::Shutdown,
) -> Vec<sim_kit::program::Worker> {
    match &inner.config.broker {
        Broker::Embedded => {
            let outbox = inner.outbox.clone();
            let backoff = inner.config.backoff.clone();
            let concurrency = inner.config.push_concurrency;
            let me = Arc::clone(inner);
            let stop = stop.wait();
            vec![Box::pin(async move {
                outbox
                    .run(
                        backoff,
                        concurrency,
                        move |item| {
                            let me = Arc::clone(&me);
                            async move { deliver_item(&me, item).await }
                        },
                        stop,
                    )
                    .await;
            })]
        }
        Broker::Amqp { .. } => vec![Box::pin(supervise(Arc::clone(inner), stop.clone()))],
    }
}

/// One outbox item: a push delivery of the embedded broker.
async fn deliver_item(inner: &Inner, item: sim_store::OutboxItem) -> Result<(), String> {
    let sub_id = item.target.clone();
    let sub = inner
        .db
        .read(move |c| store::subscription_by_id(c, &sub_id))
        .await
        .map_err(|e| e.to_string())?;
    let Some(sub) = sub else {
        // The subscription was deleted: nothing to deliver any more.
        return Ok(());
    };
    if inner.config.faults.unavailable("bf") {
        return Err("the Beskedfordeler is down (injected broker_down)".into());
    }
    push_once(inner, &sub, &item.key, &item.payload).await?;
    duplicate(inner, &sub, &item.key, &item.payload).await;
    Ok(())
}

/// A duplicate delivery (injected, `duplicate_delivery`): the same push once more after the
/// first was accepted. The subscriber must handle it once (BF-2 is at least once).
async fn duplicate(inner: &Inner, sub: &store::Subscription, delivery_id: &str, xml: &str) {
    let key = sim_wire::besked::read_haendelsesbesked(xml.as_bytes())
        .map(|b| b.registrering_id().to_string())
        .unwrap_or_default();
    if inner.config.faults.duplicate_delivery("bf", &key) {
        let _ = push_once(inner, sub, delivery_id, xml).await;
    }
}

/// Why one push was not accepted, and how the journal says it.
struct Failed {
    outcome: Outcome,
    detail: String,
    answer: String,
    part: Part,
}

/// One push of `xml` (a bare Haendelsesbesked) as delivery `delivery_id` of `sub`: POSTed,
/// read, and journaled with the delivery's new state in one commit. `Ok` only for StatusKode
/// 20.
pub(crate) async fn push_once(
    inner: &Inner,
    sub: &store::Subscription,
    delivery_id: &str,
    xml: &str,
) -> Result<(), String> {
    let b = besked::read_haendelsesbesked(xml.as_bytes()).map_err(|e| e.to_string())?;
    let url = sub.push_url.clone().unwrap_or_default();
    let mut exchange = inner.exchange(
        BfOperation::ModtagBesked,
        Some(b.registrering_id().to_string()),
        Some(delivery_id.to_string()),
        Some(url.clone()),
        b.person_cpr().map(|c| c.to_string()),
    );
    exchange.municipality = Some(sub.subscriber_cvr.clone());
    let sent_at = inner.clock.now();
    let result = match &inner.config.push_client {
        None => Err(Failed {
            outcome: Outcome::Unreachable,
            detail: "no push client configured (the platform's certificate)".into(),
            answer: String::new(),
            part: Part::Response,
        }),
        Some(client) => call(client, &url, &b).await,
    };
    let now = inner.clock.now();
    let request_detail = format!(
        "push of BeskedId {} to subscription {} ({})",
        b.besked_id, sub.id, sub.subscriber_cvr
    );
    // The message's own XML is journaled once, when it is published; the push request row
    // names it by BeskedId.
    let request = |outcome: Outcome| {
        exchange.entry(
            sent_at,
            Direction::Out,
            Part::Request,
            outcome,
            Some(request_detail.clone()),
            String::new(),
        )
    };
    let id = delivery_id.to_string();
    match result {
        Ok(answer) => {
            let rows = vec![
                request(Outcome::Ok),
                exchange.entry(
                    now,
                    Direction::In,
                    Part::Response,
                    Outcome::Ok,
                    Some("StatusKode 20: delivered (BF-2)".into()),
                    answer,
                ),
            ];
            inner
                .db
                .write(move |tx| {
                    store::push_acked(tx, &id, now)?;
                    for r in &rows {
                        Journal::record_in(tx, r)?;
                    }
                    Ok(())
                })
                .await
                .map_err(|e| e.to_string())?;
            Ok(())
        }
        Err(f) => {
            let text = f.detail.clone();
            let rows = vec![
                request(f.outcome.clone()),
                exchange.entry(
                    now,
                    Direction::In,
                    f.part,
                    f.outcome,
                    Some(format!("{} — delivered again later (BF-2)", f.detail)),
                    f.answer,
                ),
            ];
            let error = text.clone();
            if let Err(e) = inner
                .db
                .write(move |tx| {
                    store::push_failed(tx, &id, &error)?;
                    for r in &rows {
                        Journal::record_in(tx, r)?;
                    }
                    Ok(())
                })
                .await
            {
                tracing::error!(error = %e, "beskedfordeler: cannot record a failed push");
            }
            Err(text)
        }
    }
}

/// POSTs `ModtagBeskedInput` and reads the answer: the body when StatusKode 20.
async fn call(
    client: &sim_kit::HttpsClient,
    url: &str,
    b: &besked::Haendelsesbesked,
) -> Result<String, Failed> {
    let xml = besked::write_request(&BfRequest::ModtagBesked(b.clone()));
    let action = format!("\"{}\"", BfOperation::ModtagBesked.soap_action());
    let headers = [
        ("content-type", sim_kit::soap::CONTENT_TYPE),
        ("soapaction", action.as_str()),
    ];
    let resp = client.post(url, &headers, xml).await.map_err(|e| Failed {
        outcome: Outcome::Unreachable,
        detail: format!("no answer: {e}"),
        answer: String::new(),
        part: Part::Response,
    })?;
    let body = String::from_utf8_lossy(&resp.body).into_owned();
    let status = resp.status.as_u16();
    match besked::read(body.as_bytes(), None) {
        Ok(BfMessage::Response(BfResponse::ModtagBesked(s))) if s.is_ok() && status == 200 => {
            Ok(body)
        }
        Ok(BfMessage::Response(BfResponse::ModtagBesked(s))) => Err(Failed {
            outcome: if s.is_ok() {
                Outcome::Http(status)
            } else {
                Outcome::Statuskode(s.status_kode)
            },
            detail: format!(
                "StatusKode {}{} (HTTP {status})",
                s.status_kode,
                s.fejlbesked_tekst
                    .map(|t| format!(": {t}"))
                    .unwrap_or_default()
            ),
            answer: body,
            part: Part::Response,
        }),
        Ok(BfMessage::Fault(f)) => Err(Failed {
            outcome: match f.rule() {
                Some(r) => Outcome::fault(r),
                None => Outcome::Fault(f.fault_code.clone()),
            },
            detail: format!("SOAP fault (HTTP {status}): {}", f.fault_string),
            answer: body,
            part: Part::Fault,
        }),
        Ok(_) => Err(Failed {
            outcome: Outcome::Http(status),
            detail: format!("HTTP {status}, not a ModtagBeskedOutput"),
            answer: body,
            part: Part::Response,
        }),
        Err(e) => Err(Failed {
            outcome: if status == 200 {
                Outcome::Unreadable(e.rule().id().to_string())
            } else {
                Outcome::Http(status)
            },
            detail: format!("HTTP {status}, not a ModtagBeskedOutput: {e}"),
            answer: body,
            part: Part::Response,
        }),
    }
}

/// RabbitMQ: keeps one consumer running per push subscription until `stop`.
async fn supervise(inner: Arc<Inner>, stop: sim_kit::shutdown::Shutdown) {
    let mut running: HashMap<String, tokio::task::JoinHandle<()>> = HashMap::new();
    let stopped = stop.wait();
    tokio::pin!(stopped);
    loop {
        match inner
            .db
            .read(|c| store::subscriptions(c, 0, sim_store::MAX_QUERY_LIMIT))
            .await
        {
            Ok(subs) => {
                let push: HashMap<String, store::Subscription> = subs
                    .into_iter()
                    .filter(|s| s.push_url.is_some())
                    .map(|s| (s.id.clone(), s))
                    .collect();
                running.retain(|id, task| {
                    let keep = push.contains_key(id) && !task.is_finished();
                    if !keep {
                        task.abort();
                    }
                    keep
                });
                for (id, sub) in push {
                    running
                        .entry(id)
                        .or_insert_with(|| tokio::spawn(consume(Arc::clone(&inner), sub)));
                }
            }
            Err(e) => tracing::warn!(error = %e, "beskedfordeler: cannot read subscriptions"),
        }
        tokio::select! {
            () = &mut stopped => break,
            () = inner.subscriptions_changed.notified() => {}
            () = tokio::time::sleep(SUPERVISE_EVERY) => {}
        }
    }
    for (_, task) in running {
        task.abort();
        let _ = task.await;
    }
}

/// One push subscription's consumer: every message of its queue pushed until StatusKode 20,
/// then acked. Ends (to be restarted by the supervisor) when the connection breaks.
async fn consume(inner: Arc<Inner>, sub: store::Subscription) {
    let Some(amqp) = inner.amqp.as_ref() else {
        return;
    };
    let conn = match crate::amqp::connect(&amqp.url).await {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(subscription = %sub.id, error = %e, "beskedfordeler: push consumer cannot connect");
            return;
        }
    };
    let started = async {
        let ch = conn.create_channel().await?;
        let prefetch = u16::try_from(inner.config.push_concurrency.max(1)).unwrap_or(u16::MAX);
        ch.basic_qos(prefetch, BasicQosOptions::default()).await?;
        let consumer = ch
            .basic_consume(
                sub.id.as_str().into(),
                format!("bf-push-{}", sub.id).into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await?;
        Ok::<_, lapin::Error>((ch, consumer))
    }
    .await;
    let (_ch, mut consumer) = match started {
        Ok(x) => x,
        Err(e) => {
            tracing::warn!(subscription = %sub.id, error = %e, "beskedfordeler: push consumer cannot start");
            return;
        }
    };
    let sub = Arc::new(sub);
    let mut tasks = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            next = std::future::poll_fn(|cx| futures_core::Stream::poll_next(std::pin::Pin::new(&mut consumer), cx)) => {
                match next {
                    Some(Ok(delivery)) => {
                        tasks.spawn(push_until_accepted(Arc::clone(&inner), Arc::clone(&sub), delivery));
                    }
                    Some(Err(e)) => {
                        tracing::warn!(subscription = %sub.id, error = %e, "beskedfordeler: push consumer failed");
                        break;
                    }
                    None => break,
                }
            }
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
        }
    }
    // Unacked messages go back to the queue with the connection (BF-2).
    tasks.abort_all();
    let _ = conn.close(200, "push consumer restarts".into()).await;
}

/// Pushes one queued message until StatusKode 20, then acks it in RabbitMQ.
async fn push_until_accepted(
    inner: Arc<Inner>,
    sub: Arc<store::Subscription>,
    delivery: lapin::message::Delivery,
) {
    let xml = String::from_utf8_lossy(&delivery.data).into_owned();
    let id = delivery
        .properties
        .correlation_id()
        .as_ref()
        .map(|c| c.to_string())
        .unwrap_or_default();
    let mut attempt = 0u32;
    loop {
        attempt = attempt.saturating_add(1);
        if inner.config.faults.unavailable("bf") {
            let wait = inner.config.backoff.delay_for(attempt, &id);
            inner.clock.sleep(wait).await;
            continue;
        }
        match push_once(&inner, &sub, &id, &xml).await {
            Ok(()) => {
                duplicate(&inner, &sub, &id, &xml).await;
                if let Err(e) = delivery.acker.ack(BasicAckOptions::default()).await {
                    // Not acked: RabbitMQ hands it over again, the subscriber deduplicates.
                    tracing::warn!(error = %e, "beskedfordeler: cannot ack a pushed message");
                }
                return;
            }
            Err(_) => {
                let wait = inner.config.backoff.delay_for(attempt, &id);
                inner.clock.sleep(wait).await;
            }
        }
    }
}
