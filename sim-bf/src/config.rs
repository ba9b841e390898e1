//! What the Beskedfordeler is opened with.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Which broker holds the messages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Broker {
    /// In `bf.sqlite`: durable, nothing else to run (the default).
    Embedded,
    /// RabbitMQ, the real Beskedfordeler's broker (wire.md §4): one durable queue per
    /// subscription named by its UUID, in the URL's virtual host (`amqp://user:pass@host:port/BF`;
    /// the vhost percent-encoded, `%2f` for `/`).
    Amqp {
        /// The AMQP 0-9-1 URL.
        url: String,
    },
}

/// The Beskedfordeler's configuration.
#[derive(Debug, Clone)]
pub struct BfConfig {
    /// Where `bf.sqlite` lives (the platform's state directory).
    pub state_dir: PathBuf,
    /// Embedded or RabbitMQ.
    pub broker: Broker,
    /// How push deliveries are made: a client presenting the platform's certificate
    /// (KOMBIT's, SP-7) and trusting the subscribers' servers. `None`: push subscriptions are
    /// refused.
    pub push_client: Option<sim_kit::HttpsClient>,
    /// How long a pulled delivery stays leased to its fetcher before it is handed out again
    /// unacknowledged (virtual time, BF-2).
    pub lease: Duration,
    /// Waits between push attempts that failed (virtual time, BF-2).
    pub backoff: sim_store::Backoff,
    /// Pushes in flight at once (per push subscription with RabbitMQ).
    pub push_concurrency: usize,
    /// Seed of the id streams (delivery and subscription ids, CallUUIDs).
    pub seed: u64,
    /// Injected faults (scenario runs): the broker down in a window
    /// ([`sim_kit::faults::Faults::unavailable`] of `bf`: publishing fails, pushes wait), and
    /// duplicate deliveries (`duplicate_delivery("bf", ObjektRegistreringId)`: a push sent
    /// twice, a pulled message handed out again after its ack).
    pub faults: sim_kit::faults::Faults,
}

/// Default [`BfConfig::lease`]: five minutes of virtual time — a subscriber processes a batch
/// well within it even on a compressed clock (at 720×, 0.4 s of real time).
pub const DEFAULT_LEASE: Duration = Duration::from_secs(300);

impl BfConfig {
    /// An embedded broker in `state_dir` with the defaults: no push client, the default lease,
    /// backoff from 1 s doubling to 5 min (virtual), 8 pushes at once.
    pub fn embedded(state_dir: impl Into<PathBuf>) -> BfConfig {
        BfConfig {
            state_dir: state_dir.into(),
            broker: Broker::Embedded,
            push_client: None,
            lease: DEFAULT_LEASE,
            backoff: sim_store::Backoff {
                initial: Duration::from_secs(1),
                factor: 2.0,
                max: Duration::from_secs(300),
                jitter: 0.2,
            },
            push_concurrency: 8,
            seed: 0,
            faults: sim_kit::faults::Faults::none(),
        }
    }
}
