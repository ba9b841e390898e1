//! The platform's link to RabbitMQ (wire.md §4): one durable queue per subscription, named by
//! its UUID, in the URL's virtual host; persistent messages published to the default exchange
//! with the queue as routing key, `mandatory` (a missing queue is an error, not a silent loss),
//! and publisher confirms awaited before `publish` returns.
//!
//! One connection and one confirm-mode channel, made on first use and made again after a
//! failure; on (re)connecting every subscription's queue is declared, so a broker that lost
//! them (a fresh node) is healed before anything is published to it.

use std::time::Duration;

use lapin::options::{
    BasicPublishOptions, ConfirmSelectOptions, QueueDeclareOptions, QueueDeleteOptions,
};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties};
use sim_wire::besked::Haendelsesbesked;

use crate::{store, BfError, Inner};

/// How long connecting (TCP and the AMQP handshake) may take before the broker counts as down.
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one confirmed publish may take.
const CONFIRM_TIMEOUT: Duration = Duration::from_secs(30);

/// The link: the URL, and the connection once made.
pub(crate) struct Amqp {
    /// `amqp://user:pass@host:port/vhost`.
    pub(crate) url: String,
    /// The connection and its confirm-mode channel; `None` until made or after a failure.
    link: tokio::sync::Mutex<Option<(Connection, Channel)>>,
}

fn broker(e: impl std::fmt::Display) -> BfError {
    BfError::Broker(e.to_string())
}

/// Connects to `url` within [`CONNECT_TIMEOUT`].
pub(crate) async fn connect(url: &str) -> Result<Connection, BfError> {
    match tokio::time::timeout(
        CONNECT_TIMEOUT,
        Connection::connect(url, ConnectionProperties::default()),
    )
    .await
    {
        Ok(Ok(c)) => Ok(c),
        Ok(Err(e)) => Err(broker(format!("connecting to RabbitMQ: {e}"))),
        Err(_) => Err(broker(format!(
            "connecting to RabbitMQ: no answer within {CONNECT_TIMEOUT:?}"
        ))),
    }
}

/// Declares the durable queue of subscription `id` (idempotent).
pub(crate) async fn declare(channel: &Channel, id: &str) -> Result<(), BfError> {
    channel
        .queue_declare(
            id.into(),
            QueueDeclareOptions {
                durable: true,
                ..QueueDeclareOptions::default()
            },
            FieldTable::default(),
        )
        .await
        .map(|_| ())
        .map_err(|e| broker(format!("declaring queue {id}: {e}")))
}

impl Amqp {
    pub(crate) fn new(url: String) -> Amqp {
        Amqp {
            url,
            link: tokio::sync::Mutex::new(None),
        }
    }

    /// The confirm-mode channel, connecting (and declaring every subscription's queue) if
    /// there is none or it broke.
    async fn channel(&self, inner: &Inner) -> Result<Channel, BfError> {
        let mut link = self.link.lock().await;
        if let Some((conn, ch)) = link.as_ref() {
            if conn.status().connected() && ch.status().connected() {
                return Ok(ch.clone());
            }
        }
        *link = None;
        let conn = connect(&self.url).await?;
        let ch = conn.create_channel().await.map_err(broker)?;
        ch.confirm_select(ConfirmSelectOptions::default())
            .await
            .map_err(broker)?;
        let subs = inner
            .db
            .read(|c| store::subscriptions(c, 0, sim_store::MAX_QUERY_LIMIT))
            .await?;
        for s in &subs {
            declare(&ch, &s.id).await?;
        }
        *link = Some((conn, ch.clone()));
        Ok(ch)
    }

    /// Forgets the connection after a failure (the next use makes a new one).
    async fn reset(&self) {
        if let Some((conn, _)) = self.link.lock().await.take() {
            let _ = conn.close(200, "reset after a failure".into()).await;
        }
    }

    /// Declares the queue of a new subscription.
    pub(crate) async fn declare_queue(&self, inner: &Inner, id: &str) -> Result<(), BfError> {
        let r = async { declare(&self.channel(inner).await?, id).await }.await;
        if r.is_err() {
            self.reset().await;
        }
        r
    }

    /// Deletes the queue of a deleted subscription (and what it still held).
    pub(crate) async fn delete_queue(&self, inner: &Inner, id: &str) -> Result<(), BfError> {
        let r = async {
            self.channel(inner)
                .await?
                .queue_delete(id.into(), QueueDeleteOptions::default())
                .await
                .map(|_| ())
                .map_err(broker)
        }
        .await;
        if r.is_err() {
            self.reset().await;
        }
        r
    }

    /// Publishes `xml` to each `(queue, delivery id)` persistently and waits until RabbitMQ
    /// confirmed every one (BF-2: durable before `publish` returns).
    pub(crate) async fn publish(
        &self,
        inner: &Inner,
        queues: &[(String, String)],
        b: &Haendelsesbesked,
        xml: &str,
    ) -> Result<(), BfError> {
        if queues.is_empty() {
            return Ok(());
        }
        let r = self.publish_once(inner, queues, b, xml).await;
        if r.is_err() {
            self.reset().await;
        }
        r
    }

    async fn publish_once(
        &self,
        inner: &Inner,
        queues: &[(String, String)],
        b: &Haendelsesbesked,
        xml: &str,
    ) -> Result<(), BfError> {
        let ch = self.channel(inner).await?;
        let stamp = u64::try_from(inner.clock.now().unix_timestamp()).unwrap_or(0);
        let base = BasicProperties::default()
            .with_delivery_mode(2)
            .with_content_type("application/xml".into())
            .with_message_id(b.besked_id.to_string().into())
            .with_type(b.beskedtype().to_string().into())
            .with_timestamp(stamp);
        let mut confirms = Vec::with_capacity(queues.len());
        for (queue, delivery) in queues {
            let props = base.clone().with_correlation_id(delivery.as_str().into());
            let c = ch
                .basic_publish(
                    "".into(),
                    queue.as_str().into(),
                    BasicPublishOptions {
                        mandatory: true,
                        ..BasicPublishOptions::default()
                    },
                    xml.as_bytes(),
                    props,
                )
                .await
                .map_err(broker)?;
            confirms.push((queue, c));
        }
        for (queue, c) in confirms {
            let confirmation = tokio::time::timeout(CONFIRM_TIMEOUT, c)
                .await
                .map_err(|_| broker(format!("no confirm from RabbitMQ for queue {queue}")))?
                .map_err(broker)?;
            if !confirmation.is_ack() {
                return Err(broker(format!(
                    "RabbitMQ refused (nack) the message for queue {queue}"
                )));
            }
            if let Some(returned) = confirmation.take_message() {
                return Err(broker(format!(
                    "RabbitMQ returned the message for queue {queue}: {} {}",
                    returned.reply_code, returned.reply_text
                )));
            }
        }
        Ok(())
    }
}
