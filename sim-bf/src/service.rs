//! The data-plane endpoint `POST /service/Beskedfordeler/1` on the platform's mTLS listener: a
//! subscriber's value-list changes (BF-1) and, with the embedded broker, its pulls and acks
//! (BF-2). Each call is handled in numbered steps; every refusal is a SOAP fault naming its
//! rule, the request and the fault journaled under one CallUUID
//! (`sim_kit::soap::refuse`).

use axum::extract::State;
use axum::response::Response;
use axum::routing::post;
use axum::Router;
use sim_kit::config::peer_text;
use sim_kit::soap::{ok_response, SoapCall};
use sim_store::{Direction, Exchange, Journal, Label, Outcome, Part};
use sim_wire::besked::{
    self, BekraeftBeskederSvar, BfMessage, BfOperation, BfRequest, BfResponse, HentBeskederSvar,
    Levering, StandardRetur, VaerdilisteSvar, PLATFORM_PATH,
};
use sim_wire::{Rule, Uuid};

use crate::{store, Beskedfordeler, Broker, Inner};

pub(crate) fn router(bf: Beskedfordeler) -> Router {
    Router::new()
        .route(PLATFORM_PATH, post(handle))
        .with_state(bf)
}

/// A refusal: rule, whether the caller must fix something, and the text.
struct Refusal {
    rule: Rule,
    client: bool,
    text: String,
}

fn refusal(rule: Rule, text: impl Into<String>) -> Refusal {
    Refusal {
        rule,
        client: true,
        text: text.into(),
    }
}

async fn refuse(
    inner: &Inner,
    call: &SoapCall,
    exchange: &Exchange,
    call_uuid: Uuid,
    r: Refusal,
) -> Response {
    let now = inner.clock.now();
    sim_kit::soap::refuse(
        &inner.journal,
        exchange,
        call.arrived_at.unwrap_or(now).min(now),
        now,
        call_uuid,
        r.client,
        r.rule,
        &r.text,
        Some(r.text.clone()),
        call.text(),
    )
    .await
}

async fn handle(State(bf): State<Beskedfordeler>, call: SoapCall) -> Response {
    let inner = &*bf.inner;
    // 1. A CallUUID for everything journaled about this call.
    let call_uuid = inner.ids.next_uuid();
    let peer = call.peer.as_ref().map(peer_text);
    let mut exchange = Exchange {
        label: Label::endpoint(PLATFORM_PATH),
        transaktion_id: None,
        call_uuid: Some(call_uuid.to_string()),
        peer: peer.clone(),
        municipality: None,
        cpr: None,
    };
    // 2. A server past its limits sheds the call before any work (worth sending again).
    if let Some(why) = &call.shed {
        let r = Refusal {
            rule: Rule::Sp4,
            client: false,
            text: format!("The platform is overloaded: {why}. Send the call again."),
        };
        return refuse(inner, &call, &exchange, call_uuid, r).await;
    }
    // 3. The document: SOAP 1.1, an operation of the Beskedfordeler, its SOAPAction (WIRE-1,
    //    WIRE-3).
    let read = match &call.unreadable {
        Some(why) => Err(besked::BeskedError::Wire(
            sim_wire::WireError::UnreadableBody {
                detail: why.clone(),
            },
        )),
        None => besked::read(&call.body, call.soap_action.as_deref()),
    };
    let request = match read {
        Ok(BfMessage::Request(r)) if r.operation() != BfOperation::ModtagBesked => r,
        Ok(other) => {
            let what = match other {
                BfMessage::Request(_) => "ModtagBesked is the subscriber's own operation (push)",
                BfMessage::Response(_) => "an answer is no request",
                BfMessage::Fault(_) => "a fault is no request",
            };
            let r = refusal(
                Rule::Wire1,
                format!("{what}; this endpoint takes VaerdilisteTilfoej, VaerdilisteFjern, HentBeskeder and BekraeftBeskeder."),
            );
            return refuse(inner, &call, &exchange, call_uuid, r).await;
        }
        Err(e) => {
            if let Some(op) = e.operation() {
                exchange.label = Label::bf(op, Part::Request);
            }
            let r = refusal(e.rule(), format!("The request is not usable: {e}"));
            return refuse(inner, &call, &exchange, call_uuid, r).await;
        }
    };
    let op = request.operation();
    exchange.label = Label::bf(op, Part::Request);
    // 4. The caller: its certificate's organisation (SP-6).
    let Some(cvr) = call.peer.as_ref().map(|p| p.cvr.as_str().to_string()) else {
        let r = refusal(
            Rule::Sp6,
            "The caller presented no certificate naming an organisation.",
        );
        return refuse(inner, &call, &exchange, call_uuid, r).await;
    };
    exchange.municipality = Some(cvr.clone());
    // 5. The operation, each with its own checks.
    let answered = match request {
        BfRequest::VaerdilisteTilfoej(a) => {
            vaerdiliste(inner, &call, &exchange, &cvr, a, true).await
        }
        BfRequest::VaerdilisteFjern(a) => {
            vaerdiliste(inner, &call, &exchange, &cvr, a, false).await
        }
        BfRequest::HentBeskeder(h) => hent(inner, &call, &exchange, &cvr, h).await,
        BfRequest::BekraeftBeskeder(b) => bekraeft(inner, &call, &exchange, &cvr, b).await,
        BfRequest::ModtagBesked(_) => Err(refusal(
            Rule::Wire1,
            "ModtagBesked is pushed to subscribers",
        )),
    };
    match answered {
        Ok(r) => r,
        Err(r) => refuse(inner, &call, &exchange, call_uuid, r).await,
    }
}

/// The request's and the answer's rows (the answer's raw XML only when small: a pull's answer
/// names its deliveries in the detail, the messages themselves are journaled at publish).
fn rows(
    inner: &Inner,
    call: &SoapCall,
    exchange: &Exchange,
    detail: String,
    answer: &str,
) -> Vec<sim_store::JournalEntry> {
    let now = inner.clock.now();
    let at = call.arrived_at.map_or(now, |t| t.min(now));
    vec![
        exchange.entry(
            at,
            Direction::In,
            Part::Request,
            Outcome::Received,
            None,
            call.text(),
        ),
        exchange.entry(
            now,
            Direction::Out,
            Part::Response,
            Outcome::Ok,
            Some(detail),
            if answer.len() <= 8 * 1024 {
                answer.to_string()
            } else {
                String::new()
            },
        ),
    ]
}

/// BF-1: only an organisation with a subscription keeps value lists.
async fn has_subscription(inner: &Inner, cvr: &str) -> Result<(), Refusal> {
    let c = cvr.to_string();
    match inner.db.read(move |db| store::has_subscription(db, &c)).await {
        Ok(true) => Ok(()),
        Ok(false) => Err(refusal(
            Rule::Bf1,
            format!("CVR {cvr} has no subscription: value lists and pulls belong to a subscription (TS105)."),
        )),
        Err(e) => Err(store_failed(e)),
    }
}

fn store_failed(e: sim_store::StoreError) -> Refusal {
    Refusal {
        rule: Rule::Bf2,
        client: false,
        text: format!("The Beskedfordeler could not store the call ({e}); nothing was changed. Send it again."),
    }
}

async fn vaerdiliste(
    inner: &Inner,
    call: &SoapCall,
    exchange: &Exchange,
    cvr: &str,
    a: besked::VaerdilisteAendring,
    add: bool,
) -> Result<Response, Refusal> {
    has_subscription(inner, cvr).await?;
    let now = inner.clock.now();
    let cprs: Vec<String> = a.personer.iter().map(ToString::to_string).collect();
    let (cvr, name) = (cvr.to_string(), a.vaerdiliste_navn.clone());
    let n = {
        let (cprs, cvr, name) = (cprs.clone(), cvr.clone(), name.clone());
        inner
            .db
            .write(move |tx| store::change_value_list(tx, &cvr, &name, &cprs, add, now))
            .await
            .map_err(store_failed)?
    };
    let svar = VaerdilisteSvar {
        standard_retur: StandardRetur::ok(),
        antal_aendret: n,
    };
    let answer = besked::write_response(&if add {
        BfResponse::VaerdilisteTilfoej(svar)
    } else {
        BfResponse::VaerdilisteFjern(svar)
    });
    let detail = format!(
        "{} {} of {} value(s) {} @{name}",
        if add { "added" } else { "removed" },
        n,
        cprs.len(),
        if add { "to" } else { "from" },
    );
    inner
        .journal
        .record_all(rows(inner, call, exchange, detail, &answer))
        .await;
    Ok(ok_response(answer))
}

/// The caller's own subscription, or a BF-1 refusal.
async fn own_subscription(
    inner: &Inner,
    cvr: &str,
    id: Uuid,
) -> Result<store::Subscription, Refusal> {
    let key = id.to_string();
    let sub = inner
        .db
        .read(move |c| store::subscription_by_id(c, &key))
        .await
        .map_err(store_failed)?;
    match sub {
        Some(s) if s.subscriber_cvr == cvr => Ok(s),
        _ => Err(refusal(
            Rule::Bf1,
            format!("Subscription {id} is not one of CVR {cvr}'s subscriptions."),
        )),
    }
}

async fn hent(
    inner: &Inner,
    call: &SoapCall,
    exchange: &Exchange,
    cvr: &str,
    h: besked::HentBeskeder,
) -> Result<Response, Refusal> {
    let sub = own_subscription(inner, cvr, h.abonnement_id).await?;
    if let Broker::Amqp { .. } = inner.config.broker {
        return Err(refusal(
            Rule::Bf2,
            format!("This Beskedfordeler's broker is RabbitMQ: pull subscription {} from its AMQP queue named by its UUID, and ack there.", sub.id),
        ));
    }
    if sub.push_url.is_some() {
        return Err(refusal(
            Rule::Bf2,
            format!("Subscription {} is delivered by push, not pulled.", sub.id),
        ));
    }
    // BF-2: each delivery handed out is leased for the visibility timeout, in the same commit
    // as the journal rows that say so.
    let now = inner.clock.now();
    let until = add(now, inner.config.lease);
    let id = sub.id.clone();
    let leased = inner
        .db
        .write(move |tx| store::lease(tx, &id, h.maks_antal, now, until))
        .await
        .map_err(store_failed)?;
    let mut leveringer = Vec::with_capacity(leased.len());
    for l in &leased {
        let Ok(levering_id) = l.id.parse() else {
            continue;
        };
        match besked::read_haendelsesbesked(l.xml.as_bytes()) {
            Ok(b) => leveringer.push(Levering {
                levering_id,
                forsoeg: l.attempts,
                haendelsesbesked: b,
            }),
            Err(e) => {
                tracing::error!(delivery = %l.id, error = %e, "beskedfordeler: a stored message does not read")
            }
        }
    }
    let answer = besked::write_response(&BfResponse::HentBeskeder(HentBeskederSvar {
        standard_retur: StandardRetur::ok(),
        leveringer,
    }));
    let detail = format!(
        "{} delivery(ies) leased until {until}: {}",
        leased.len(),
        leased
            .iter()
            .map(|l| format!("{} ({}, attempt {})", l.id, l.registrering_id, l.attempts))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let mut entries = rows(inner, call, exchange, detail, &answer);
    if let [cpr] = leased
        .iter()
        .filter_map(|l| l.cpr.clone())
        .collect::<Vec<_>>()
        .as_slice()
    {
        entries.iter_mut().for_each(|e| e.cpr = Some(cpr.clone()));
    }
    inner.journal.record_all(entries).await;
    Ok(ok_response(answer))
}

async fn bekraeft(
    inner: &Inner,
    call: &SoapCall,
    exchange: &Exchange,
    cvr: &str,
    b: besked::BekraeftBeskeder,
) -> Result<Response, Refusal> {
    let sub = own_subscription(inner, cvr, b.abonnement_id).await?;
    let now = inner.clock.now();
    let ids: Vec<String> = b.levering_ider.iter().map(ToString::to_string).collect();
    // The ack and its journal rows commit together: an ack answered is an ack kept (BF-2).
    let mut entries = rows(inner, call, exchange, String::new(), "");
    // An injected duplicate delivery: the ack is answered but not kept for this message, so
    // it is handed out again after its lease (the subscriber must handle it once).
    let (ids, kept_back): (Vec<String>, Vec<String>) = {
        let mut keep = Vec::new();
        let mut back = Vec::new();
        for i in ids {
            let found = inner
                .db
                .read({
                    let i = i.clone();
                    move |c| store::registrering_of_delivery(c, &i)
                })
                .await
                .map_err(store_failed)?;
            // Only a first hand-out is held back: the message comes once more, not forever.
            let first = matches!(&found, Some((_, attempts)) if *attempts <= 1);
            let key = found.map(|(k, _)| k).unwrap_or_default();
            if first && inner.config.faults.duplicate_delivery("bf", &key) {
                back.push(i);
            } else {
                keep.push(i);
            }
        }
        (keep, back)
    };
    if !kept_back.is_empty() {
        tracing::debug!(deliveries = ?kept_back, "injected duplicate delivery: ack not kept");
    }
    let (id, given) = (sub.id.clone(), ids.len());
    let answer = inner
        .db
        .write(move |tx| {
            let n = store::ack(tx, &id, &ids, now)?;
            let answer =
                besked::write_response(&BfResponse::BekraeftBeskeder(BekraeftBeskederSvar {
                    standard_retur: StandardRetur::ok(),
                    antal_bekraeftet: n,
                }));
            if let Some(resp) = entries.get_mut(1) {
                resp.detail = Some(format!(
                    "{n} of {given} delivery(ies) acknowledged now: {}",
                    ids.join(", ")
                ));
                resp.raw = answer.clone();
            }
            for e in &entries {
                Journal::record_in(tx, e)?;
            }
            Ok(answer)
        })
        .await
        .map_err(store_failed)?;
    Ok(ok_response(answer))
}

/// `t + d`, saturating.
pub(crate) fn add(t: time::OffsetDateTime, d: std::time::Duration) -> time::OffsetDateTime {
    time::Duration::try_from(d)
        .ok()
        .and_then(|d| t.checked_add(d))
        .unwrap_or(t)
}
