//! What a subscriber (KSD) uses to talk to the Beskedfordeler: [`BfClient`] for the SOAP
//! services over mutual TLS (its value list, BF-1; the embedded broker's pull, BF-2), and the
//! pullers behind one [`Puller`] trait so that the subscriber's code is the same whichever
//! broker the platform runs — [`EmbeddedPuller`] (HTTPS `HentBeskeder`/`BekraeftBeskeder`) and
//! [`AmqpPuller`] (RabbitMQ `basic.get` and `basic.ack` on the queue named by the subscription's
//! UUID, the real Beskedfordeler's way, wire.md §4).
//!
//! Either puller hands a delivery out again when it was not acked: the embedded broker once its
//! lease ends (virtual time, on the platform); the AMQP puller nacks (requeues) what it has held
//! longer than its lease on its own clock, and RabbitMQ requeues everything unacked when the
//! puller's connection closes.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use lapin::options::{BasicAckOptions, BasicGetOptions, BasicNackOptions};
use lapin::{Channel, Connection};
use sim_store::Clock;
use sim_wire::besked::{
    self, BekraeftBeskeder, BeskedError, BfMessage, BfOperation, BfRequest, BfResponse,
    Haendelsesbesked, HentBeskeder, StandardRetur, VaerdilisteAendring,
};
use sim_wire::{Cpr, Uuid};
use time::OffsetDateTime;

/// A boxed future, so that [`Puller`] can be used as `Box<dyn Puller>`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Why a call to the Beskedfordeler did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// No answer: connecting, TLS or HTTP failed (worth trying again).
    #[error("transport: {0}")]
    Transport(String),
    /// Refused with a SOAP fault naming a rule (`BF-1` ...) and its text (with the CallUUID).
    #[error("refused ({}): {text}", rule.as_deref().unwrap_or("no rule"))]
    Refused {
        /// The rule the fault names.
        rule: Option<String>,
        /// The fault's text.
        text: String,
    },
    /// Answered with a StatusKode other than 20.
    #[error("StatusKode {}: {}", .0.status_kode, .0.fejlbesked_tekst.as_deref().unwrap_or(""))]
    Status(StandardRetur),
    /// The answer is not what the contract says.
    #[error("unreadable answer: {0}")]
    Unreadable(String),
    /// RabbitMQ failed (connecting, the channel, a get or an ack).
    #[error("broker: {0}")]
    Broker(String),
}

/// The Beskedfordeler's SOAP services at the platform
/// (`https://<platform>/service/Beskedfordeler/1`), called with the subscriber's certificate.
#[derive(Clone, Debug)]
pub struct BfClient {
    http: sim_kit::HttpsClient,
    url: String,
}

impl BfClient {
    /// A client presenting `http`'s identity to the endpoint at `url`.
    pub fn new(http: sim_kit::HttpsClient, url: impl Into<String>) -> BfClient {
        BfClient {
            http,
            url: url.into(),
        }
    }

    /// One call: the request written, POSTed with its SOAPAction, the answer read.
    pub async fn call(&self, request: &BfRequest) -> Result<BfResponse, ClientError> {
        let xml = besked::write_request(request);
        let action = format!("\"{}\"", request.operation().soap_action());
        let headers = [
            ("content-type", sim_kit::soap::CONTENT_TYPE),
            ("soapaction", action.as_str()),
        ];
        let resp = self
            .http
            .post(&self.url, &headers, xml)
            .await
            .map_err(|e| ClientError::Transport(e.to_string()))?;
        match besked::read(&resp.body, None) {
            Ok(BfMessage::Response(r)) if r.operation() == request.operation() => {
                if r.standard_retur().is_ok() {
                    Ok(r)
                } else {
                    Err(ClientError::Status(r.standard_retur().clone()))
                }
            }
            Ok(BfMessage::Fault(f)) => Err(ClientError::Refused {
                rule: f.rule().map(|r| r.id().to_string()),
                text: f.fault_string,
            }),
            Ok(_) => Err(ClientError::Unreadable(format!(
                "HTTP {}: not a {}",
                resp.status,
                request.operation().output_element()
            ))),
            Err(e) => Err(ClientError::Unreadable(format!(
                "HTTP {}: {e}",
                resp.status
            ))),
        }
    }

    /// BF-1: adds persons to the caller's value list `list`; how many were new.
    pub async fn vaerdiliste_tilfoej(&self, list: &str, cprs: &[Cpr]) -> Result<u32, ClientError> {
        self.vaerdiliste(list, cprs, true).await
    }

    /// BF-1: removes persons from the caller's value list `list`; how many were there.
    pub async fn vaerdiliste_fjern(&self, list: &str, cprs: &[Cpr]) -> Result<u32, ClientError> {
        self.vaerdiliste(list, cprs, false).await
    }

    async fn vaerdiliste(&self, list: &str, cprs: &[Cpr], add: bool) -> Result<u32, ClientError> {
        let mut total = 0;
        // One call per VAERDIER_GRAENSE values.
        for chunk in cprs.chunks(besked::VAERDIER_GRAENSE).chain(
            // An empty change is still one call (it checks the subscription).
            std::iter::once(&[][..]).filter(|_| cprs.is_empty()),
        ) {
            let a = VaerdilisteAendring {
                vaerdiliste_navn: list.to_string(),
                personer: chunk.to_vec(),
            };
            let req = if add {
                BfRequest::VaerdilisteTilfoej(a)
            } else {
                BfRequest::VaerdilisteFjern(a)
            };
            match self.call(&req).await? {
                BfResponse::VaerdilisteTilfoej(s) | BfResponse::VaerdilisteFjern(s) => {
                    total += s.antal_aendret
                }
                _ => return Err(ClientError::Unreadable("not a value-list answer".into())),
            }
        }
        Ok(total)
    }
}

/// Identifies one delivery to its puller, for [`Puller::ack`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DeliveryTag(Tag);

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Tag {
    /// The embedded broker's `LeveringId`.
    Embedded(Uuid),
    /// RabbitMQ's delivery tag on the puller's channel.
    Amqp(u64),
}

/// One message handed out by a puller.
#[derive(Debug)]
pub struct Pulled {
    /// What to ack it with.
    pub tag: DeliveryTag,
    /// The delivery's id: the embedded broker's `LeveringId`, or the id the platform gave the
    /// AMQP message (its `correlation-id`).
    pub levering_id: Option<Uuid>,
    /// How many times it has been handed out, this time included (RabbitMQ tells only whether
    /// it was handed out before: 1 or 2).
    pub forsoeg: u32,
    /// The message, or why it does not read (the subscriber decides: journal and ack it, say).
    pub besked: Result<Haendelsesbesked, BeskedError>,
}

/// Pulls a subscription's messages, whatever the broker (BF-2): fetch, process, ack. Nothing
/// acked comes again; everything fetched and not acked does, later.
pub trait Puller: Send {
    /// Up to `max` messages (1..=100), oldest first; none when nothing is due.
    fn fetch(&mut self, max: u32) -> BoxFuture<'_, Result<Vec<Pulled>, ClientError>>;
    /// Acknowledges processed messages.
    fn ack(&mut self, tags: Vec<DeliveryTag>) -> BoxFuture<'_, Result<(), ClientError>>;
    /// Ends the puller; what it fetched and did not ack is handed out again.
    fn close(self: Box<Self>) -> BoxFuture<'static, ()>;
}

/// Pulls from the embedded broker over HTTPS (`HentBeskeder`, `BekraeftBeskeder`).
#[derive(Debug, Clone)]
pub struct EmbeddedPuller {
    client: BfClient,
    abonnement_id: Uuid,
}

impl EmbeddedPuller {
    /// A puller for subscription `abonnement_id` through `client`.
    pub fn new(client: BfClient, abonnement_id: Uuid) -> EmbeddedPuller {
        EmbeddedPuller {
            client,
            abonnement_id,
        }
    }
}

impl Puller for EmbeddedPuller {
    fn fetch(&mut self, max: u32) -> BoxFuture<'_, Result<Vec<Pulled>, ClientError>> {
        Box::pin(async move {
            let req = BfRequest::HentBeskeder(HentBeskeder {
                abonnement_id: self.abonnement_id,
                maks_antal: max.clamp(1, besked::MAKS_ANTAL_GRAENSE),
            });
            match self.client.call(&req).await? {
                BfResponse::HentBeskeder(h) => Ok(h
                    .leveringer
                    .into_iter()
                    .map(|l| Pulled {
                        tag: DeliveryTag(Tag::Embedded(l.levering_id)),
                        levering_id: Some(l.levering_id),
                        forsoeg: l.forsoeg,
                        besked: Ok(l.haendelsesbesked),
                    })
                    .collect()),
                _ => Err(ClientError::Unreadable("not a HentBeskederOutput".into())),
            }
        })
    }

    fn ack(&mut self, tags: Vec<DeliveryTag>) -> BoxFuture<'_, Result<(), ClientError>> {
        Box::pin(async move {
            let ids: Vec<Uuid> = tags
                .into_iter()
                .filter_map(|t| match t.0 {
                    Tag::Embedded(id) => Some(id),
                    Tag::Amqp(_) => None,
                })
                .collect();
            for chunk in ids.chunks(besked::MAKS_ANTAL_GRAENSE as usize) {
                let req = BfRequest::BekraeftBeskeder(BekraeftBeskeder {
                    abonnement_id: self.abonnement_id,
                    levering_ider: chunk.to_vec(),
                });
                self.client.call(&req).await?;
            }
            Ok(())
        })
    }

    fn close(self: Box<Self>) -> BoxFuture<'static, ()> {
        Box::pin(async {})
    }
}

/// Pulls from RabbitMQ: `basic.get` on the queue named by the subscription's UUID, `basic.ack`
/// after processing.
pub struct AmqpPuller {
    conn: Connection,
    channel: Channel,
    queue: String,
    clock: Clock,
    lease: Duration,
    /// Fetched and not yet acked: when, and the means to ack or requeue it.
    held: HashMap<u64, (OffsetDateTime, lapin::Acker)>,
}

impl std::fmt::Debug for AmqpPuller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AmqpPuller")
            .field("queue", &self.queue)
            .field("held", &self.held.len())
            .finish_non_exhaustive()
    }
}

impl AmqpPuller {
    /// Connects to `url` (`amqp://user:pass@host:port/BF`) to pull subscription
    /// `abonnement_id`. A delivery held unacked longer than `lease` on `clock` is requeued at
    /// the next fetch.
    pub async fn connect(
        url: &str,
        abonnement_id: Uuid,
        clock: Clock,
        lease: Duration,
    ) -> Result<AmqpPuller, ClientError> {
        let conn = crate::amqp::connect(url)
            .await
            .map_err(|e| ClientError::Broker(e.to_string()))?;
        let channel = conn
            .create_channel()
            .await
            .map_err(|e| ClientError::Broker(e.to_string()))?;
        Ok(AmqpPuller {
            conn,
            channel,
            queue: abonnement_id.to_string(),
            clock,
            lease,
            held: HashMap::new(),
        })
    }
}

fn amqp(e: lapin::Error) -> ClientError {
    ClientError::Broker(e.to_string())
}

impl Puller for AmqpPuller {
    fn fetch(&mut self, max: u32) -> BoxFuture<'_, Result<Vec<Pulled>, ClientError>> {
        Box::pin(async move {
            let now = self.clock.now();
            let expired: Vec<u64> = self
                .held
                .iter()
                .filter(|(_, (at, _))| crate::service::add(*at, self.lease) <= now)
                .map(|(tag, _)| *tag)
                .collect();
            for tag in expired {
                if let Some((_, acker)) = self.held.remove(&tag) {
                    acker
                        .nack(BasicNackOptions {
                            requeue: true,
                            ..BasicNackOptions::default()
                        })
                        .await
                        .map_err(amqp)?;
                }
            }
            let mut out = Vec::new();
            for _ in 0..max.clamp(1, besked::MAKS_ANTAL_GRAENSE) {
                let got = self
                    .channel
                    .basic_get(self.queue.as_str().into(), BasicGetOptions::default())
                    .await
                    .map_err(amqp)?;
                let Some(m) = got else { break };
                let d = m.delivery;
                let levering_id = d
                    .properties
                    .correlation_id()
                    .as_ref()
                    .and_then(|c| c.as_str().parse().ok());
                self.held.insert(d.delivery_tag, (now, d.acker.clone()));
                out.push(Pulled {
                    tag: DeliveryTag(Tag::Amqp(d.delivery_tag)),
                    levering_id,
                    forsoeg: if d.redelivered { 2 } else { 1 },
                    besked: besked::read_haendelsesbesked(&d.data),
                });
            }
            Ok(out)
        })
    }

    fn ack(&mut self, tags: Vec<DeliveryTag>) -> BoxFuture<'_, Result<(), ClientError>> {
        Box::pin(async move {
            for t in tags {
                let Tag::Amqp(tag) = t.0 else { continue };
                if let Some((_, acker)) = self.held.remove(&tag) {
                    acker.ack(BasicAckOptions::default()).await.map_err(amqp)?;
                }
            }
            Ok(())
        })
    }

    fn close(self: Box<Self>) -> BoxFuture<'static, ()> {
        Box::pin(async move {
            let _ = self.channel.close(200, "puller closed".into()).await;
            let _ = self.conn.close(200, "puller closed".into()).await;
        })
    }
}

/// The operation a subscriber's push endpoint implements: read a `ModtagBeskedInput`, answer
/// with [`modtag_besked_answer`].
pub fn read_push(body: &[u8], soap_action: Option<&str>) -> Result<Haendelsesbesked, BeskedError> {
    match besked::read(body, soap_action)? {
        BfMessage::Request(BfRequest::ModtagBesked(b)) => Ok(b),
        _ => Err(BeskedError::Wire(sim_wire::WireError::UnknownOperation {
            detail: format!(
                "a push endpoint takes {}",
                BfOperation::ModtagBesked.input_element()
            ),
        })),
    }
}

/// The answer of a push endpoint: `ModtagBeskedOutput/StandardRetur` (StatusKode 20 for a
/// message taken; anything else makes the Beskedfordeler deliver it again, BF-2).
pub fn modtag_besked_answer(retur: StandardRetur) -> String {
    besked::write_response(&BfResponse::ModtagBesked(retur))
}
