//! Publishing (seed 004 §3.2, `AfsendBesked`): the message stored once by its
//! `ObjektRegistreringId` (SP-10), filtered by the value lists as they are now (BF-1), and
//! handed to every matching subscription — rows of `bf.sqlite` for the embedded broker, the
//! subscriptions' RabbitMQ queues otherwise.

use sim_store::{Direction, Exchange, Journal, Label, Outbox, Outcome, Part};
use sim_wire::besked::{write_haendelsesbesked, BfOperation, Haendelsesbesked};

use crate::store::{self, Stored, Target};
use crate::{BfError, Broker, Inner, Published};

impl Inner {
    /// The journal's exchange for one Beskedfordeler operation.
    pub(crate) fn exchange(
        &self,
        op: BfOperation,
        transaktion_id: Option<String>,
        call_uuid: Option<String>,
        peer: Option<String>,
        cpr: Option<String>,
    ) -> Exchange {
        Exchange {
            label: Label::bf(op, Part::Request),
            transaktion_id,
            call_uuid,
            peer,
            municipality: None,
            cpr,
        }
    }
}

/// How long (real time) a publish waits for RabbitMQ's confirms.
const CONFIRM_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(20);

/// What the first commit of a publish decided.
enum Plan {
    /// Published before and with its broker.
    Already,
    /// To be handed to RabbitMQ (stored now, or stored before and never confirmed).
    Amqp {
        seq: i64,
        targets: Vec<(Target, String)>,
    },
    /// The embedded broker: done at commit.
    Done(usize),
}

pub(crate) async fn publish(inner: &Inner, b: &Haendelsesbesked) -> Result<Published, BfError> {
    if inner.config.faults.unavailable("bf") {
        return Err(BfError::Broker(
            "the Beskedfordeler is down (injected broker_down): nothing published".into(),
        ));
    }
    let now = inner.clock.now();
    let xml = write_haendelsesbesked(b);
    let reg = b.registrering_id().to_string();
    let besked_id = b.besked_id.to_string();
    let beskedtype = b.beskedtype().to_string();
    let cpr = b.person_cpr().map(|c| c.to_string());
    let municipality = Some(
        b.filtreringsdata
            .objekt_registrering
            .objekt_ansvarlig_myndighed
            .to_string(),
    );
    let embedded = matches!(inner.config.broker, Broker::Embedded);
    let mut exchange = inner.exchange(
        BfOperation::AfsendBesked,
        Some(reg.clone()),
        Some(besked_id.clone()),
        None,
        cpr.clone(),
    );
    exchange.municipality = municipality;
    // Delivery ids are drawn before the commit (the writer thread must not draw): one per
    // subscription that could match; unused ones are simply skipped.
    let fresh_ids: Vec<String> = {
        let n = inner
            .db
            .read(|c| {
                c.query_row("SELECT COUNT(*) FROM bf_subscriptions", [], |r| {
                    r.get::<_, i64>(0)
                })
            })
            .await?;
        (0..n.max(0))
            .map(|_| inner.ids.next_uuid().to_string())
            .collect()
    };
    let plan = {
        let (xml, exchange) = (xml.clone(), exchange.clone());
        inner
            .db
            .write(move |tx| {
                let stored = store::insert_message(
                    tx,
                    &reg,
                    &besked_id,
                    &beskedtype,
                    cpr.as_deref(),
                    now,
                    embedded,
                    &xml,
                )?;
                let seq = match stored {
                    Stored::Known {
                        confirmed: true, ..
                    } => {
                        let e = exchange.entry(
                            now,
                            Direction::Out,
                            Part::Request,
                            Outcome::Duplicate,
                            Some("published before (SP-10): not again".into()),
                            String::new(),
                        );
                        Journal::record_in(tx, &e)?;
                        return Ok(Plan::Already);
                    }
                    Stored::Known { seq, .. } => {
                        // Stored, never confirmed by RabbitMQ: hand it over again to the
                        // subscriptions chosen then (BF-1 at first publish).
                        let targets = store::targets_of(tx, seq)?;
                        let ids = delivery_ids(tx, seq, &targets)?;
                        return Ok(Plan::Amqp {
                            seq,
                            targets: targets.into_iter().zip(ids).collect(),
                        });
                    }
                    Stored::New(seq) => seq,
                };
                // BF-1: the subscriptions whose value list holds the person now.
                // TODO(rule BF-1): a subscription is the subscriber organisation's; the real
                // broker also matches TilladtModtager against the authority the agreement is
                // for (TS103: one per municipality). Not modelled: KSD subscribes once for all.
                let targets = match &cpr {
                    Some(cpr) => store::matching(tx, &beskedtype, cpr)?,
                    None => Vec::new(),
                };
                let state = if embedded {
                    store::READY
                } else {
                    store::QUEUED
                };
                let mut out = Vec::with_capacity(targets.len());
                for (t, id) in targets.into_iter().zip(fresh_ids) {
                    store::insert_delivery(tx, &id, &t.subscription_id, seq, state, now)?;
                    if embedded && t.push_url.is_some() {
                        let item = sim_store::NewOutboxItem {
                            target: t.subscription_id.clone(),
                            key: id.clone(),
                            payload: xml.clone(),
                            meta: serde_json::json!({ "seq": seq }).to_string(),
                        };
                        Outbox::enqueue_in(tx, &item, now)?;
                    }
                    out.push((t, id));
                }
                let detail = format!(
                    "{} subscription(s){}",
                    out.len(),
                    if cpr.is_none() {
                        "; RelateretObjekt[0] is no person: no subscription matches (BF-1)"
                    } else {
                        ""
                    }
                );
                let outcome = if embedded {
                    Outcome::Ok
                } else {
                    Outcome::Received
                };
                let e = exchange.entry(
                    now,
                    Direction::Out,
                    Part::Request,
                    outcome,
                    Some(detail),
                    xml.clone(),
                );
                Journal::record_in(tx, &e)?;
                if embedded {
                    Ok(Plan::Done(out.len()))
                } else {
                    Ok(Plan::Amqp { seq, targets: out })
                }
            })
            .await?
    };
    match plan {
        Plan::Already => Ok(Published::Already),
        Plan::Done(n) => {
            inner.outbox.notify();
            Ok(Published::New { deliveries: n })
        }
        // Published now (a message stored before but never confirmed included).
        Plan::Amqp { seq, targets } => {
            hand_to_rabbitmq(inner, seq, &targets, b, &xml, &exchange).await?;
            Ok(Published::New {
                deliveries: targets.len(),
            })
        }
    }
}

/// The delivery ids stored for `targets` of message `seq`, in their order.
fn delivery_ids(
    tx: &rusqlite::Transaction<'_>,
    seq: i64,
    targets: &[Target],
) -> rusqlite::Result<Vec<String>> {
    let mut st = tx.prepare_cached(
        "SELECT id FROM bf_deliveries WHERE message_seq = ?1 AND subscription_id = ?2",
    )?;
    targets
        .iter()
        .map(|t| st.query_row(rusqlite::params![seq, t.subscription_id], |r| r.get(0)))
        .collect()
}

/// Publishes to each target's queue, waits for RabbitMQ's confirms, then marks the message
/// confirmed (journaled). An error leaves it unconfirmed: the next publish of the same
/// registration, or the next open, hands it over again (at least once).
async fn hand_to_rabbitmq(
    inner: &Inner,
    seq: i64,
    targets: &[(Target, String)],
    b: &Haendelsesbesked,
    xml: &str,
    exchange: &Exchange,
) -> Result<(), BfError> {
    let amqp = inner
        .amqp
        .as_ref()
        .ok_or_else(|| BfError::Broker("no RabbitMQ link".into()))?;
    let queued: Vec<(String, String)> = targets
        .iter()
        .map(|(t, id)| (t.subscription_id.clone(), id.clone()))
        .collect();
    // A broker that blocks publishers (RabbitMQ's disk or memory alarm) never confirms: the
    // publish fails after CONFIRM_TIMEOUT instead of holding the platform's job forever, and
    // the message stays unconfirmed, to be handed over again.
    let result =
        match tokio::time::timeout(CONFIRM_TIMEOUT, amqp.publish(inner, &queued, b, xml)).await {
            Ok(r) => r,
            Err(_) => Err(BfError::Broker(format!(
                "RabbitMQ confirmed nothing within {} s (a blocked broker?)",
                CONFIRM_TIMEOUT.as_secs()
            ))),
        };
    let now = inner.clock.now();
    let (outcome, detail) = match &result {
        Ok(()) => (
            Outcome::Ok,
            format!("confirmed by RabbitMQ in {} queue(s)", queued.len()),
        ),
        Err(e) => (Outcome::Unreachable, e.to_string()),
    };
    let e = exchange.entry(
        now,
        Direction::In,
        Part::Response,
        outcome,
        Some(detail),
        String::new(),
    );
    let confirmed = result.is_ok();
    inner
        .db
        .write(move |tx| {
            if confirmed {
                store::confirm_message(tx, seq)?;
            }
            Journal::record_in(tx, &e)
        })
        .await?;
    result
}

/// At open with RabbitMQ: what was stored but never confirmed is handed over again.
pub(crate) async fn republish_unconfirmed(inner: &Inner) -> Result<(), BfError> {
    let pending = inner.db.read(store::unconfirmed).await?;
    for (seq, _) in pending {
        let Some(xml) = inner.db.read(move |c| store::message_xml(c, seq)).await? else {
            continue;
        };
        let b = match sim_wire::besked::read_haendelsesbesked(xml.as_bytes()) {
            Ok(b) => b,
            Err(e) => {
                tracing::error!(seq, error = %e, "beskedfordeler: a stored message does not read");
                continue;
            }
        };
        publish(inner, &b).await?;
    }
    Ok(())
}
