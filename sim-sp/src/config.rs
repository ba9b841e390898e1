//! The platform's configuration: files it names, peers, routing and agreements.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use sim_kit::config::{Endpoint, IdentityFiles, SystemRef};
use sim_store::Clock;

/// The service every agreement of this simulator is about.
pub const SERVICE: &str = "Sygefravaer";

/// The service of a Beskedfordeler subscription agreement (seed 004 TS103/TS104): an
/// organisation with an agreement for it (municipality `*`) may subscribe to STAR's sick-leave
/// statuses (SF1612, BF-1).
pub const BF_SERVICE: &str = "Beskedfordeler/STAR_SygemeldingsStatus";

/// A service agreement: this system may call this service for this municipality (SP-5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Agreement {
    /// The calling system.
    pub system: SystemRef,
    /// Municipality CVR, or `*` for every municipality (KSD's agreement).
    pub municipality: String,
    /// The service, e.g. `Sygefravaer`.
    #[serde(default = "default_service")]
    pub service: String,
}

fn default_service() -> String {
    SERVICE.to_string()
}

/// Everything the platform needs; the binary fills it from YAML and flags, `sim up` in code.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Config {
    /// Directory of `sp.sqlite` (journal, routing and agreements as changed at run time).
    pub state_dir: PathBuf,
    /// The platform's TLS server certificate.
    pub server: IdentityFiles,
    /// CA files a caller's client certificate must chain to.
    pub client_trust: Vec<PathBuf>,
    /// KOMBIT's certificate: presented on every call to KSD and to jobcenters (SP-7).
    pub kombit: IdentityFiles,
    /// CA files the receivers' server certificates must chain to.
    pub server_trust: Vec<PathBuf>,
    /// KSD's receiver port (`ModtagOpdateringFravaer` ...).
    pub ksd: Endpoint,
    /// KY's receiver port (SF1690, `/ky/Kontanthjaelp/2` on the simulated KSD program), where
    /// the KY exposure passes jobcenters' calls through (SP-13). Absent: no route to KY, and
    /// every KY call is answered with an SP-4 fault.
    #[serde(default)]
    pub ky: Option<Endpoint>,
    /// The system that may call the JC exposure as KSD.
    pub ksd_system: SystemRef,
    /// Jobcenter solution instances by name, each with its receiver port (SP-3).
    pub instances: BTreeMap<String, Endpoint>,
    /// Initial routing: municipality CVR → instance (SP-3). Changes made at run time through
    /// the admin API are kept in the state directory and win over this on restart.
    pub routing: BTreeMap<String, String>,
    /// Initial service agreements (SP-5); kept like routing.
    pub agreements: Vec<Agreement>,
    /// How long a call to a receiver may take before the platform gives up (milliseconds).
    #[serde(default = "sim_kit::config::default_call_timeout_ms")]
    pub call_timeout_ms: u64,
    /// Seed of the platform's id stream (CallUUIDs).
    #[serde(default)]
    pub seed: u64,
    /// Requests the platform handles at once; past it a call is shed: answered at once with
    /// an SP-4 fault (journaled, worth resending) instead of waiting for a slot (SP-8 keeps
    /// its meaning for the calls served).
    #[serde(default = "default_max_in_flight")]
    pub max_in_flight: usize,
    /// Requests one calling system may have in flight at once (the rest is shed), so a
    /// flooding vendor cannot starve KSD's receipts or another vendor on the same port.
    #[serde(default = "default_max_in_flight_per_caller")]
    pub max_in_flight_per_caller: usize,
    /// How much journal to keep (by age in virtual hours and/or newest rows); off by
    /// default, because a scenario's checkers read whole journals.
    #[serde(default)]
    pub journal_retention: sim_store::Retention,
    /// Bearer token of the admin API (all but `/health`); required when the admin API does
    /// not listen on a loopback address. `--admin-token` overrides it.
    #[serde(default)]
    pub admin_token: Option<String>,
    /// SF1612: the STAR job (SP-10): where STAR is and how often; none: no job.
    #[serde(default)]
    pub star: Option<crate::star_job::StarJobConfig>,
    /// SF1612: the Beskedfordeler (BF-1, BF-2): its broker and the subscriptions it starts
    /// with.
    #[serde(default)]
    pub beskedfordeler: BeskedfordelerConfig,
    /// Time source; virtual in scenario runs.
    #[serde(skip, default = "Clock::real")]
    pub clock: Clock,
    /// Fault injection (scenario runs); none by default.
    #[serde(skip)]
    pub faults: sim_kit::faults::Faults,
}

/// The Beskedfordeler's settings (`beskedfordeler:`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BeskedfordelerConfig {
    /// RabbitMQ as the broker (`amqp://user:pass@host:port/BF`); none: embedded in
    /// `bf.sqlite` (the default).
    #[serde(default)]
    pub amqp: Option<String>,
    /// Subscriptions made at start when none with the same id exists (the ecosystem's KSD
    /// subscription; more through the admin API). Each needs an agreement for
    /// [`BF_SERVICE`] (TS103–TS105).
    #[serde(default)]
    pub subscriptions: Vec<sim_bf::NewSubscription>,
}

fn default_max_in_flight() -> usize {
    sim_kit::limits::Shedding::default().max_in_flight
}

fn default_max_in_flight_per_caller() -> usize {
    sim_kit::limits::Shedding::default().max_in_flight_per_caller
}

impl sim_kit::program::ProgramConfig for Config {
    fn state_dir_mut(&mut self) -> &mut PathBuf {
        &mut self.state_dir
    }

    fn admin_token_mut(&mut self) -> &mut Option<String> {
        &mut self.admin_token
    }
}
