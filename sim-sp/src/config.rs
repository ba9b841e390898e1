//! The platform's configuration: files it names, peers, routing and agreements.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use sim_kit::config::{Endpoint, IdentityFiles, SystemRef};
use sim_store::Clock;

/// The service every agreement of this simulator is about.
pub const SERVICE: &str = "Sygefravaer";

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
    /// Directory of `sp.sqlite` (journal, outbox, routing and agreements as changed at run time).
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
    /// Time source; virtual in scenario runs.
    #[serde(skip, default = "Clock::real")]
    pub clock: Clock,
    /// Fault injection (scenario runs); none by default.
    #[serde(skip)]
    pub faults: sim_kit::faults::Faults,
}

impl sim_kit::program::ProgramConfig for Config {
    fn state_dir_mut(&mut self) -> &mut PathBuf {
        &mut self.state_dir
    }
}
