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
    /// How it acknowledges SF2090 events (KSD-10) and answers SF2093 extension requests
    /// (KSD-11): `policy:` in a configuration file, [`VendorPolicy::default`] when left out.
    /// Checked at start ([`VendorPolicy::problem`]); one that cannot be drawn from stops the
    /// process with an error naming the instance.
    #[serde(default)]
    pub policy: VendorPolicy,
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
    /// The platform's KY exposure (SF1690), `https://host:port/service/KY/Kontanthjaelp/2`.
    /// Left out, it is `platform`'s host with KY's path: one platform serves every exposure,
    /// so only a platform whose exposures live on different hosts needs it.
    #[serde(default)]
    pub ky_platform: Option<Endpoint>,
    /// The only caller the receiver ports accept (JC-2, SP-7): KOMBIT, CVR 19435075, with
    /// the UUID of the platform's certificate if it is to be pinned.
    pub kombit_system: SystemRef,
    /// The vendor instances this process plays (JC-4).
    pub vendors: Vec<VendorConfig>,
    /// How long one call to the platform may take (milliseconds).
    #[serde(default = "sim_kit::config::default_call_timeout_ms")]
    pub call_timeout_ms: u64,
    /// How many times one update is sent while its sender waits (quick retries, 100 ms
    /// doubling). Without a TransportKvittering by then the update is not given up (JC-1):
    /// the background resender keeps sending it, with jittered backoff up to
    /// `resend_max_backoff_ms`, until one arrives, across restarts.
    #[serde(default = "default_max_send_attempts")]
    pub max_send_attempts: u32,
    /// The longest wait between two background resends of one update (virtual
    /// milliseconds; default 5 minutes, so an eight-hour SP-9 window costs about 100 attempts
    /// per update and an update is taken within five minutes of the platform's return).
    #[serde(default = "default_resend_max_backoff_ms")]
    pub resend_max_backoff_ms: u64,
    /// Seed of every id, data and decision stream (the vendors' SF2090/SF2093 policies), so
    /// a run is reproducible.
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
    /// Time source; virtual in scenario runs.
    #[serde(skip, default = "Clock::real")]
    pub clock: Clock,
    /// Fault injection (scenario runs); none by default.
    #[serde(skip)]
    pub faults: sim_kit::faults::Faults,
    /// Injected misbehaviour towards KSD's events and extension requests (scenario runs:
    /// late answers, acknowledgements twice or withheld); none by default.
    #[serde(skip)]
    pub vendor_faults: crate::faults::VendorFaults,
}

/// One instance's behaviour towards KSD's SF2090 events and SF2093 extension requests, where
/// the contract leaves the jobcenter a choice ([`VendorConfig::policy`]).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct VendorPolicy {
    /// Acknowledging case events (SF2090, KSD-10).
    pub sf2090: AckPolicy,
    /// Answering extension requests (SF2093, KSD-11).
    pub sf2093: ExtensionPolicy,
}

/// SF2090: whether a received event is acknowledged (`SendForretningsSvar` MODTAGET).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AckPolicy {
    /// Share of events (0 to 1) this instance never acknowledges: a broken vendor, so that
    /// tests and fault scenarios can show what KSD and the checkers make of the silence.
    /// 0 by default: a real jobcenter acknowledges every event.
    pub never_acknowledged: f64,
}

impl Default for AckPolicy {
    fn default() -> AckPolicy {
        AckPolicy {
            never_acknowledged: 0.0,
        }
    }
}

/// SF2093: how an extension request is answered (`SendForretningsSvarForlaengelse`).
///
/// The four shares are relative weights of the outcomes (they need not add up to 1); the
/// defaults are a plausible municipality's mix in which most cases near the duration limit
/// are extended for a while, some without limit, a few are refused, and now and then a
/// request is forgotten — which is what makes KSD set VarighedKode 63 (KSD-9).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ExtensionPolicy {
    /// Weight of a time-limited extension (`TIDSBEGRAENSET` with an end date; KSD sets 62).
    pub time_limited: f64,
    /// Weight of an unlimited extension (`TIDSUBEGRAENSET`; KSD sets 64).
    pub unlimited: f64,
    /// Weight of a rejection (`Afvisning` with a Begrundelse).
    pub rejected: f64,
    /// Weight of never answering at all (KSD must reach 63 by itself).
    pub never_answered: f64,
    /// How many weeks after VarighedsgraenseDato a time-limited extension ends: eight weeks
    /// is a usual follow-up period before the case is looked at again.
    pub extension_weeks: u32,
    /// The shortest wait (virtual milliseconds) between receiving a request and answering
    /// it: a case worker looks at the case first, so an answer is never instant. Default 1 h.
    pub answer_delay_min_ms: u64,
    /// The longest such wait (virtual milliseconds); the wait is drawn uniformly between the
    /// two. Default 72 h: three days, well within a usual SvarFrist.
    pub answer_delay_max_ms: u64,
    /// Share (0 to 1) of the answers sent deliberately after SvarFrist, for fault
    /// scenarios. 0 by default: an answer otherwise comes no later than SvarFrist's evening.
    pub late_share: f64,
}

impl Default for ExtensionPolicy {
    fn default() -> ExtensionPolicy {
        ExtensionPolicy {
            time_limited: 0.60,
            unlimited: 0.25,
            rejected: 0.10,
            never_answered: 0.05,
            extension_weeks: 8,
            answer_delay_min_ms: 3_600_000,
            answer_delay_max_ms: 72 * 3_600_000,
            late_share: 0.0,
        }
    }
}

impl VendorPolicy {
    /// What is wrong with the policy, if anything: shares that are no shares, no outcome
    /// with a positive weight, or a delay range that is empty.
    pub fn problem(&self) -> Option<String> {
        let share = |name: &str, v: f64, max: Option<f64>| {
            let bad = !v.is_finite() || v < 0.0 || max.is_some_and(|m| v > m);
            bad.then(|| match max {
                Some(m) => format!("{name} must be a share between 0 and {m}, not {v}"),
                None => format!("{name} must be a finite weight of at least 0, not {v}"),
            })
        };
        let a = &self.sf2090;
        let e = &self.sf2093;
        share("sf2090.never_acknowledged", a.never_acknowledged, Some(1.0))
            .or_else(|| share("sf2093.time_limited", e.time_limited, None))
            .or_else(|| share("sf2093.unlimited", e.unlimited, None))
            .or_else(|| share("sf2093.rejected", e.rejected, None))
            .or_else(|| share("sf2093.never_answered", e.never_answered, None))
            .or_else(|| share("sf2093.late_share", e.late_share, Some(1.0)))
            .or_else(|| {
                let total = e.time_limited + e.unlimited + e.rejected + e.never_answered;
                (total <= 0.0 || !total.is_finite()).then(|| {
                    "sf2093: at least one of time_limited, unlimited, rejected and never_answered must be above 0"
                        .to_string()
                })
            })
            .or_else(|| {
                (e.answer_delay_min_ms > e.answer_delay_max_ms).then(|| {
                    format!(
                        "sf2093.answer_delay_min_ms ({}) is above answer_delay_max_ms ({})",
                        e.answer_delay_min_ms, e.answer_delay_max_ms
                    )
                })
            })
    }
}

fn default_max_send_attempts() -> u32 {
    5
}

fn default_resend_max_backoff_ms() -> u64 {
    300_000
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

    fn admin_token_mut(&mut self) -> &mut Option<String> {
        &mut self.admin_token
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
    fn vendor_policies_are_read_from_the_vendors_entries_with_defaults() {
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
    policy:
      sf2090: { never_acknowledged: 0.5 }
      sf2093: { rejected: 1, time_limited: 0 }
  - instance: schultz-jc
    vendor: Schultz
    identity: { cert: systems/schultz-jc.chain.pem, key: systems/schultz-jc.key.pem }
    system_uuid: 7d2f1c44-0b8e-4a61-9c3d-5e6f7a8b9c0d
    municipalities: ['29189846']
";
        let c: Config = serde_saphyr::from_str(yaml).unwrap();
        let kmd = &c.vendors[0].policy;
        assert_eq!(kmd.sf2090.never_acknowledged, 0.5);
        assert_eq!(kmd.sf2093.rejected, 1.0);
        assert_eq!(kmd.sf2093.time_limited, 0.0);
        // Unnamed fields keep their defaults.
        assert_eq!(kmd.sf2093.unlimited, 0.25);
        assert_eq!(kmd.sf2093.extension_weeks, 8);
        assert!(kmd.problem().is_none());
        assert_eq!(
            c.vendors[1].policy,
            VendorPolicy::default(),
            "a vendor without policy behaves as the default"
        );
        let unknown_key = yaml.replace("rejected: 1,", "nope: 1,");
        assert!(serde_saphyr::from_str::<Config>(&unknown_key).is_err());
    }

    #[test]
    fn a_policy_that_cannot_be_drawn_from_is_named() {
        let d = VendorPolicy::default();
        assert!(d.problem().is_none());
        assert_eq!(
            (
                d.sf2093.time_limited,
                d.sf2093.unlimited,
                d.sf2093.rejected,
                d.sf2093.never_answered
            ),
            (0.60, 0.25, 0.10, 0.05)
        );
        let mut p = d.clone();
        p.sf2090.never_acknowledged = 1.5;
        assert!(p.problem().unwrap().contains("never_acknowledged"));
        let mut p = d.clone();
        p.sf2093 = ExtensionPolicy {
            time_limited: 0.0,
            unlimited: 0.0,
            rejected: 0.0,
            never_answered: 0.0,
            ..ExtensionPolicy::default()
        };
        assert!(p.problem().unwrap().contains("at least one"));
        let mut p = d.clone();
        p.sf2093.answer_delay_min_ms = p.sf2093.answer_delay_max_ms + 1;
        assert!(p.problem().is_some());
        let mut p = d;
        p.sf2093.unlimited = f64::NAN;
        assert!(p.problem().is_some());
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
