//! KSD's configuration: its files, the one peer it talks to (the platform) and its timing.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use sim_kit::config::{Endpoint, IdentityFiles, SystemRef};
use sim_store::Clock;

/// Everything KSD needs; the binary fills it from YAML and flags, `sim up` in code.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Config {
    /// Directory of `ksd.sqlite` (cases, updates, journal, outbox). A restart on the same
    /// directory resumes undelivered business receipts.
    pub state_dir: PathBuf,
    /// KSD's TLS server certificate (`servers/ksd.*`): what the platform sees when it calls.
    pub server: IdentityFiles,
    /// CA files a caller's client certificate must chain to.
    pub client_trust: Vec<PathBuf>,
    /// KSD's system certificate (`systems/ksd.*`), presented when KSD calls the platform: the
    /// platform's service agreement for the JC exposure is for this system (SP-5, SP-2).
    pub identity: IdentityFiles,
    /// CA files the platform's server certificate must chain to.
    pub server_trust: Vec<PathBuf>,
    /// The platform's JC exposure (`https://host:port/service/JC/Sygefravaer/2`), where the
    /// business receipts go (KSD-2).
    pub platform: Endpoint,
    /// The only caller accepted: the platform calls receivers with KOMBIT's certificate
    /// (SP-7). Give the UUID: KSD's and the platform's own certificates share KOMBIT's CVR.
    pub platform_system: SystemRef,
    /// The `RegistreringITsystem` KSD writes in the headers it sends.
    pub ksd_system_uuid: String,
    /// Virtual milliseconds between accepting an update and sending its business receipt:
    /// the real KSD answers asynchronously, and scenarios vary how late.
    #[serde(default)]
    pub receipt_delay_ms: u64,
    /// KSD-9's duration rule: the limit, when the extension request goes, how long an event
    /// waits for its acknowledgement (all virtual time).
    #[serde(default)]
    pub duration: crate::lifecycle::DurationRule,
    /// How long one call to the platform may take before it counts as failed (milliseconds).
    #[serde(default = "sim_kit::config::default_call_timeout_ms")]
    pub call_timeout_ms: u64,
    /// Seed of KSD's id streams (case ids, call ids), so a run is reproducible.
    #[serde(default)]
    pub seed: u64,
    /// How much journal to keep (by age in virtual hours and/or newest rows); off by
    /// default, because a scenario's checkers read whole journals.
    #[serde(default)]
    pub journal_retention: sim_store::Retention,
    /// Bearer token of the admin API (all but `/health`); required when the admin API does
    /// not listen on a loopback address. `--admin-token` overrides it.
    #[serde(default)]
    pub admin_token: Option<String>,
    /// SF1612: KSD's subscription at the platform's Beskedfordeler; none: no STAR statuses.
    #[serde(default)]
    pub sf1612: Option<crate::flows::sf1612::Sf1612Config>,
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

    fn admin_token_mut(&mut self) -> &mut Option<String> {
        &mut self.admin_token
    }
}
