//! STAR's configuration: its files, who may call it, where it says the fetch is served, the
//! event stream it generates, and the hooks a scenario runner injects faults with.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sim_kit::config::IdentityFiles;
use sim_scenario::star::{StarStream, DEFAULT_PER_MONTH, DEFAULT_POPULATION};
use sim_scenario::Volume;
use sim_store::Clock;
use sim_wire::star::StarOperation;
use sim_wire::Uuid;
use time::OffsetDateTime;

/// KOMBIT's CVR: the platform calls STAR with KOMBIT's certificate (seed 004 TS302: STAR
/// registers it), so it is the caller STAR accepts by default.
pub const KOMBIT_CVR: &str = sim_wire::municipalities::KOMBIT_CVR;

/// How long a sequence may stay open (virtual time) before STAR rolls it back by default: six
/// of the platform's 10-minute job periods (SP-10), far longer than one job takes.
pub const DEFAULT_SEQUENCE_TIMEOUT_MS: u64 = 60 * 60 * 1000;

/// Everything STAR needs; the binary fills it from YAML, `sim up` and the tests in code.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Config {
    /// Directory of `star.sqlite` (events, sequences, journal). A restart on the same
    /// directory resumes the stream where it was, with every queued and open event kept.
    pub state_dir: PathBuf,
    /// STAR's TLS server certificate (`servers/star.*`): what the platform's job sees.
    pub server: IdentityFiles,
    /// CA files a caller's client certificate must chain to.
    pub client_trust: Vec<PathBuf>,
    /// CVRs whose certificates may call STAR; others are refused with a fault naming SP-7
    /// (the platform calls with KOMBIT's certificate). Default: KOMBIT only.
    #[serde(default = "default_callers")]
    pub allowed_caller_cvrs: Vec<String>,
    /// STAR's own base URL as its callers reach it (`https://host:port`): `CreateSequence`
    /// answers `ServiceEndpoint` = this + [`crate::WSRM_MESSAGE_SERVICE_PATH`].
    pub public_url: String,
    /// The events STAR generates.
    #[serde(default)]
    pub events: EventsConfig,
    /// A sequence left open longer than this (virtual milliseconds since its
    /// `CreateSequence`) is rolled back like `CloseSequence`: all its events return to the
    /// queue, and the sequence answers no more calls.
    #[serde(default = "default_sequence_timeout_ms")]
    pub sequence_timeout_ms: u64,
    /// At most this many events in one sequence (the oldest queued first); `None`: every
    /// queued event. Seed 004 names no limit.
    // TODO(rule SP-10): STAR's real per-sequence limit is not public; off by default.
    #[serde(default)]
    pub max_events_per_sequence: Option<u64>,
    /// How much journal to keep; off by default (a scenario's checkers read whole journals).
    #[serde(default)]
    pub journal_retention: sim_store::Retention,
    /// Bearer token of the admin API (all but `/health`); required off loopback.
    #[serde(default)]
    pub admin_token: Option<String>,
    /// Time source; virtual in scenario runs. Events are queued when it passes their time.
    #[serde(skip, default = "Clock::real")]
    pub clock: Clock,
    /// The generic fault layer (delay, fault, reset) in front of both services.
    #[serde(skip)]
    pub faults: sim_kit::faults::Faults,
    /// STAR's own faults: a fetch cut after k events, slowness per call.
    #[serde(skip)]
    pub star_faults: StarFaultHook,
}

impl sim_kit::program::ProgramConfig for Config {
    fn state_dir_mut(&mut self) -> &mut PathBuf {
        &mut self.state_dir
    }

    fn admin_token_mut(&mut self) -> &mut Option<String> {
        &mut self.admin_token
    }
}

fn default_callers() -> Vec<String> {
    vec![KOMBIT_CVR.to_string()]
}

fn default_sequence_timeout_ms() -> u64 {
    DEFAULT_SEQUENCE_TIMEOUT_MS
}

fn default_population() -> u64 {
    DEFAULT_POPULATION
}

/// The event stream (`sim_scenario::star`): `per_month` or `total` (not both; 90,000 a month
/// when neither, KSD-13), from `start` to `end`, about `population` persons.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EventsConfig {
    /// Seed of the stream (persons, contents, arrival times).
    #[serde(default)]
    pub seed: u64,
    /// Events per 30-day month.
    #[serde(default)]
    pub per_month: Option<u64>,
    /// Events in all, spread from `start` to `end` (30 days when there is no end).
    #[serde(default)]
    pub total: Option<u64>,
    /// The first instant an event may happen (RFC 3339). Default: the virtual time STAR's
    /// state directory was first opened, kept across restarts.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub start: Option<OffsetDateTime>,
    /// No event happens at or after this instant (RFC 3339). Default: none, month after month.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub end: Option<OffsetDateTime>,
    /// How many persons the events are about.
    #[serde(default = "default_population")]
    pub population: u64,
    /// The whole stream, when a scenario runner sets it (`StarStream::of_scenario`, with the
    /// run's profile): used instead of the fields above.
    #[serde(skip)]
    pub stream: Option<StarStream>,
}

impl Default for EventsConfig {
    fn default() -> Self {
        EventsConfig {
            seed: 0,
            per_month: None,
            total: None,
            start: None,
            end: None,
            population: DEFAULT_POPULATION,
            stream: None,
        }
    }
}

impl EventsConfig {
    /// The stream these settings describe, starting at `first_start` unless `start` says.
    pub fn stream(&self, first_start: OffsetDateTime) -> Result<StarStream, String> {
        if let Some(s) = &self.stream {
            return Ok(s.clone());
        }
        let volume = match (self.per_month, self.total) {
            (Some(_), Some(_)) => return Err("events: give per_month or total, not both".into()),
            (Some(n), None) => Volume::PerMonth(n),
            (None, Some(n)) => Volume::Total(n),
            (None, None) => Volume::PerMonth(DEFAULT_PER_MONTH),
        };
        if self.population == 0 {
            return Err("events.population must be at least 1".into());
        }
        let start = self.start.unwrap_or(first_start);
        if self.end.is_some_and(|e| e <= start) {
            return Err("events.end must be after events.start".into());
        }
        Ok(StarStream {
            volume,
            end: self.end,
            population: self.population,
            ..StarStream::new(self.seed, start)
        })
    }
}

/// STAR-specific faults, decided by a scenario runner (its seeded plan). Every method has a
/// default that injects nothing.
pub trait StarFaults: Send + Sync + 'static {
    /// Of a `GetIllnessUpdatedVersion6` answer holding `count` events of `sequence`, how many
    /// `IllnessUpdateRegistration`s are written before the connection is cut (SP-10's failure
    /// path: the platform reads a truncated answer). `None`, or `k >= count`: the whole answer.
    fn cut_fetch_after(&self, sequence: Uuid, count: u64) -> Option<u64> {
        let _ = (sequence, count);
        None
    }

    /// How long (real time) STAR holds a call of `operation` before handling it: a slow STAR.
    fn slowness(&self, operation: StarOperation) -> Option<Duration> {
        let _ = operation;
        None
    }
}

/// STAR's fault hook, if any: part of the config, never serialised.
#[derive(Clone, Default)]
pub struct StarFaultHook(pub Option<Arc<dyn StarFaults>>);

impl StarFaultHook {
    /// Faults decided by `hook`.
    pub fn with(hook: Arc<dyn StarFaults>) -> StarFaultHook {
        StarFaultHook(Some(hook))
    }

    /// See [`StarFaults::cut_fetch_after`]; only a cut that leaves events out counts.
    pub fn cut_fetch_after(&self, sequence: Uuid, count: u64) -> Option<u64> {
        self.0
            .as_ref()?
            .cut_fetch_after(sequence, count)
            .filter(|k| *k < count)
    }

    /// See [`StarFaults::slowness`].
    pub fn slowness(&self, operation: StarOperation) -> Option<Duration> {
        self.0.as_ref()?.slowness(operation)
    }
}

impl std::fmt::Debug for StarFaultHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "StarFaultHook(hook)"
        } else {
            "StarFaultHook(none)"
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_yaml_config_reads_with_its_defaults() {
        let c: Config = sim_kit::program::parse_config(
            std::path::Path::new("star.yaml"),
            "state_dir: /tmp/star\nserver: {cert: s.pem, key: s.key}\nclient_trust: [ca.pem]\n\
             public_url: https://localhost:8446\nevents: {seed: 7, total: 100, start: 2026-03-02T00:00:00+01:00}\n",
        )
        .unwrap();
        assert_eq!(c.allowed_caller_cvrs, vec!["19435075".to_string()]);
        assert_eq!(c.sequence_timeout_ms, DEFAULT_SEQUENCE_TIMEOUT_MS);
        let s = c.events.stream(OffsetDateTime::UNIX_EPOCH).unwrap();
        assert_eq!(s.volume, Volume::Total(100));
        assert_eq!(s.seed, 7);
        assert_eq!(s.start, time::macros::datetime!(2026-03-02 00:00 +01:00));
        let both = EventsConfig {
            per_month: Some(1),
            total: Some(1),
            ..EventsConfig::default()
        };
        assert!(both.stream(OffsetDateTime::UNIX_EPOCH).is_err());
    }
}
