//! The jobcenter process's configuration: the vendor instances it plays, the files they
//! present, and the one peer they call (the platform).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sim_kit::config::{Endpoint, IdentityFiles, SystemRef};
use sim_store::Clock;

use crate::JobcenterError;

/// One vendor solution instance (JC-4), e.g. `kmd-jc` of vendor KMD.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VendorConfig {
    /// The instance name the platform routes to (SP-3), e.g. `kmd-jc`.
    pub instance: String,
    /// The vendor, e.g. `KMD`; used in generated case ids and journals.
    pub vendor: String,
    /// `systems/<instance>.chain.pem` and its key: the certificate this instance presents
    /// when it calls the platform (SP-6: each instance has its own).
    pub identity: IdentityFiles,
    /// `RegistreringITsystem` in the headers it writes: the UUID of its certificate, so the
    /// header and the TLS identity name the same system.
    pub system_uuid: String,
    /// Municipality CVRs it serves (JC-2, JC-3); the first is the default for sending.
    pub municipalities: Vec<String>,
}

/// Everything the jobcenter process needs; the binary fills it from YAML, `sim up` in code.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Config {
    /// Directory of `jobcenter.sqlite` (updates, receipts, journal).
    pub state_dir: PathBuf,
    /// The TLS server certificate every vendor listener presents (`servers/jobcenter.*`).
    pub server: IdentityFiles,
    /// CA files a caller's client certificate must chain to.
    pub client_trust: Vec<PathBuf>,
    /// CA files the platform's server certificate must chain to.
    pub server_trust: Vec<PathBuf>,
    /// The platform's KSD exposure, `https://host:port/service/KSD/Sygefravaer/2`.
    pub platform: Endpoint,
    /// The only caller the receiver ports accept (JC-2, SP-7): KOMBIT, CVR 19435075, with
    /// the UUID of the platform's certificate if it is to be pinned.
    pub kombit_system: SystemRef,
    /// The vendor instances this process plays (JC-4).
    pub vendors: Vec<VendorConfig>,
    /// How long one call to the platform may take (milliseconds).
    #[serde(default = "sim_kit::config::default_call_timeout_ms")]
    pub call_timeout_ms: u64,
    /// How many times one update is sent before the vendor gives up for now (JC-1); a
    /// given-up update stays owned and can be resent through the admin API.
    #[serde(default = "default_max_send_attempts")]
    pub max_send_attempts: u32,
    /// Seed of every id and data stream, so a run is reproducible.
    #[serde(default)]
    pub seed: u64,
    /// Time source; virtual in scenario runs.
    #[serde(skip, default = "Clock::real")]
    pub clock: Clock,
    /// Fault injection (scenario runs); none by default.
    #[serde(skip)]
    pub faults: sim_kit::faults::Faults,
}

fn default_max_send_attempts() -> u32 {
    5
}

/// The UUID of an OCES3 system certificate (`serialNumber=UI:DK-O:G:<uuid>`), read from a
/// PEM file (a chain's first certificate), for [`VendorConfig::system_uuid`].
pub fn system_uuid_of(cert_pem: &Path) -> Result<String, JobcenterError> {
    let text = std::fs::read_to_string(cert_pem)
        .map_err(|e| JobcenterError::Config(format!("reading {}: {e}", cert_pem.display())))?;
    let der = sim_certs::pem::first_certificate(&text)
        .ok_or_else(|| JobcenterError::Config(format!("{}: no certificate", cert_pem.display())))?;
    let id = sim_certs::identify(&der)
        .map_err(|e| JobcenterError::Config(format!("{}: {e}", cert_pem.display())))?;
    id.uuid().map(str::to_owned).ok_or_else(|| {
        JobcenterError::Config(format!(
            "{}: not an OCES3 certificate with a UUID ({})",
            cert_pem.display(),
            id.holder
        ))
    })
}

/// Municipality CVRs per instance from `scenarios/routing.csv` (`kommunekode,cvr,instance`),
/// so a caller can fill [`VendorConfig::municipalities`] from the same table the platform
/// routes by.
pub fn municipalities_by_instance(
    routing_csv: &str,
) -> Result<BTreeMap<String, Vec<String>>, JobcenterError> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (n, line) in routing_csv.lines().enumerate().skip(1) {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let cols: Vec<&str> = line.split(',').map(str::trim).collect();
        let [_, cvr, instance] = cols[..] else {
            return Err(JobcenterError::Config(format!(
                "routing.csv line {}: expected kommunekode,cvr,instance",
                n + 1
            )));
        };
        cvr.parse::<sim_wire::Cvr>()
            .map_err(|e| JobcenterError::Config(format!("routing.csv line {}: {e}", n + 1)))?;
        out.entry(instance.to_string())
            .or_default()
            .push(cvr.to_string());
    }
    Ok(out)
}

impl sim_kit::program::ProgramConfig for Config {
    fn state_dir_mut(&mut self) -> &mut PathBuf {
        &mut self.state_dir
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_config_with_defaults() {
        let yaml = "
state_dir: /tmp/jc
server: { cert: servers/jobcenter.chain.pem, key: servers/jobcenter.key.pem }
client_trust: [ca/root.cert.pem]
server_trust: [ca/root.cert.pem]
platform: { url: 'https://localhost:8443/service/KSD/Sygefravaer/2' }
kombit_system: { cvr: '19435075' }
vendors:
  - instance: kmd-jc
    vendor: KMD
    identity: { cert: systems/kmd-jc.chain.pem, key: systems/kmd-jc.key.pem }
    system_uuid: 0e4a7c2b-91d3-4f6a-8b5e-d2c1a9f37b60
    municipalities: ['64942212']
";
        let c: Config = serde_saphyr::from_str(yaml).unwrap();
        assert_eq!(c.call_timeout_ms, 10_000);
        assert_eq!(c.max_send_attempts, 5);
        assert_eq!(c.seed, 0);
        assert_eq!(c.vendors[0].municipalities, ["64942212"]);
    }

    #[test]
    fn routing_csv_groups_municipalities_by_instance() {
        let m = municipalities_by_instance(
            "kommunekode,cvr,instance\n101,64942212,kmd-jc\n791,29189846,schultz-jc\n147,11259979,kmd-jc\n",
        )
        .unwrap();
        assert_eq!(m["kmd-jc"], ["64942212", "11259979"]);
        assert_eq!(m["schultz-jc"], ["29189846"]);
        assert!(municipalities_by_instance("h\n1,123,x\n").is_err());
    }
}
