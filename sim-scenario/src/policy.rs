//! `vendor_policies:` — how the simulated jobcenter vendors answer what KSD sends them: the
//! acknowledgement of SF2090 case events (KSD-10) and the answer to SF2093 extension requests
//! (KSD-11: time-limited → 62, unlimited → 64, a rejection, or never), per vendor instance or
//! for `all` of them.
//!
//! The fields are those of the jobcenter's own `VendorPolicy` (`sim-jobcenter/src/config.rs`),
//! with the two delays as scenario durations (`1h`, `3d`) instead of milliseconds. This crate
//! does not depend on the jobcenter (it stays pure: no IO, no clock, no SQLite), so the model
//! is mirrored here, the defaults are the jobcenter's, and `sim run`, which converts one into
//! the other, has a test that the two defaults agree.
//!
//! Layering, field by field: the defaults, then `all:`, then the instance's own entry. Each
//! value is checked where it stands (a share between 0 and 1, a weight of at least 0), and the
//! layered policy of every entry as a whole (at least one answer with a positive weight, the
//! shortest delay not above the longest), as `VendorPolicy::problem` checks a configuration.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde_saphyr::Spanned;
use time::Duration;

use crate::error::ScenarioError;
use crate::raw::{RawAckPolicy, RawExtensionPolicy, RawVendorPolicy};
use crate::schema::{check_instance, err, Selection};
use crate::units::{format_duration, parse_duration};

/// Every vendor instance's policy: `all` for those not named, and the named ones (already
/// layered over `all`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct VendorPolicies {
    /// The policy of every instance without an entry of its own (`all:` over the defaults).
    pub all: VendorPolicy,
    /// Instances with an entry of their own: the defaults, then `all:`, then their entry.
    pub instances: BTreeMap<String, VendorPolicy>,
}

impl VendorPolicies {
    /// The policy of `instance`.
    pub fn of(&self, instance: &str) -> &VendorPolicy {
        self.instances.get(instance).unwrap_or(&self.all)
    }
}

/// One instance's behaviour towards KSD's SF2090 events and SF2093 extension requests, where
/// the contract leaves the jobcenter a choice.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct VendorPolicy {
    /// Acknowledging case events (SF2090, KSD-10).
    pub sf2090: AckPolicy,
    /// Answering extension requests (SF2093, KSD-11).
    pub sf2093: ExtensionPolicy,
}

/// SF2090: how many events the vendor leaves unacknowledged for good.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct AckPolicy {
    /// Share of events (0 to 1) never acknowledged: a broken vendor, so that a scenario can
    /// show what KSD (its redelivery) and the checkers make of the silence. 0 by default.
    pub never_acknowledged: f64,
}

/// SF2093: which answer an extension request gets, and when.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ExtensionPolicy {
    /// Weight of a time-limited extension (KSD sets 62). The four weights are relative.
    pub time_limited: f64,
    /// Weight of an unlimited extension (KSD sets 64).
    pub unlimited: f64,
    /// Weight of a rejection (the code stays; 63 at the limit).
    pub rejected: f64,
    /// Weight of never answering (KSD reaches 63 by itself at the limit).
    pub never_answered: f64,
    /// How many weeks past the duration limit a time-limited extension ends.
    pub extension_weeks: u32,
    /// The shortest wait between receiving a request and answering it (virtual time).
    pub answer_delay_min: Duration,
    /// The longest such wait; drawn uniformly between the two.
    pub answer_delay_max: Duration,
    /// Share (0 to 1) of answers sent after SvarFrist on purpose.
    pub late_share: f64,
}

impl Default for ExtensionPolicy {
    /// The jobcenter's defaults (`sim_jobcenter::ExtensionPolicy::default`): most cases near
    /// their limit extended for a while, some without limit, a few refused, a few forgotten;
    /// a case worker's hour to three days to answer; nothing late on purpose.
    fn default() -> ExtensionPolicy {
        ExtensionPolicy {
            time_limited: 0.60,
            unlimited: 0.25,
            rejected: 0.10,
            never_answered: 0.05,
            extension_weeks: 8,
            answer_delay_min: Duration::hours(1),
            answer_delay_max: Duration::hours(72),
            late_share: 0.0,
        }
    }
}

/// The longest `extension_weeks` taken: two years past the limit is no follow-up period any
/// more, and keeps every extension's end a valid date.
const MAX_EXTENSION_WEEKS: u32 = 104;

/// The entry that stands for every instance.
const ALL: &str = "all";

/// `vendor_policies:` checked and layered (see the module documentation). A named instance
/// must be one the scenario drives (`vendors:`), as a fault's target must.
pub(crate) fn build(
    raw: Spanned<BTreeMap<String, Spanned<RawVendorPolicy>>>,
    vendors: &Selection<String>,
) -> Result<VendorPolicies, ScenarioError> {
    let mut entries = raw.value;
    let all = match entries.remove(ALL) {
        Some(e) => layered(ALL, &VendorPolicy::default(), &e)?,
        None => VendorPolicy::default(),
    };
    let mut instances = BTreeMap::new();
    for (name, entry) in entries {
        let at = |m: String| err(&entry, format!("vendor_policies: {m}"));
        check_instance(&name).map_err(|m| {
            at(m.replace(
                "is not a target: sp, ksd, jobcenter, star or",
                "is neither `all` nor",
            ))
        })?;
        if matches!(name.as_str(), "sp" | "ksd" | "jobcenter" | "star") {
            return Err(at(format!(
                "'{name}' is a program, not a vendor instance (use `all` for every instance)"
            )));
        }
        if !vendors.contains(&name) {
            return Err(at(format!(
                "vendor '{name}' is not among the scenario's vendors"
            )));
        }
        let policy = layered(&name, &all, &entry)?;
        instances.insert(name, policy);
    }
    Ok(VendorPolicies { all, instances })
}

/// `entry` (of instance `name`) laid over `base`, each field checked where it stands, and the
/// result checked as a whole.
fn layered(
    name: &str,
    base: &VendorPolicy,
    entry: &Spanned<RawVendorPolicy>,
) -> Result<VendorPolicy, ScenarioError> {
    let mut p = base.clone();
    if let Some(a) = &entry.value.sf2090 {
        lay_ack(name, &mut p.sf2090, &a.value)?;
    }
    if let Some(e) = &entry.value.sf2093 {
        lay_extension(name, &mut p.sf2093, &e.value)?;
    }
    let e = &p.sf2093;
    let total = e.time_limited + e.unlimited + e.rejected + e.never_answered;
    if !(total.is_finite() && total > 0.0) {
        let at = entry
            .value
            .sf2093
            .as_ref()
            .map_or(entry.referenced, |s| s.referenced);
        return Err(ScenarioError::at_loc(
            &at,
            format!(
                "vendor_policies.{name}.sf2093: at least one of time_limited, unlimited, rejected and never_answered must be above 0"
            ),
        ));
    }
    if e.answer_delay_min > e.answer_delay_max {
        let given = entry.value.sf2093.as_ref().map(|s| &s.value);
        let at = given
            .and_then(|g| g.answer_delay_max.as_ref().or(g.answer_delay_min.as_ref()))
            .map_or(entry.referenced, |s| s.referenced);
        return Err(ScenarioError::at_loc(
            &at,
            format!(
                "vendor_policies.{name}.sf2093: answer_delay_min ({}) is above answer_delay_max ({})",
                format_duration(e.answer_delay_min),
                format_duration(e.answer_delay_max)
            ),
        ));
    }
    Ok(p)
}

fn lay_ack(name: &str, p: &mut AckPolicy, raw: &RawAckPolicy) -> Result<(), ScenarioError> {
    if let Some(v) = &raw.never_acknowledged {
        p.never_acknowledged = share(name, "sf2090.never_acknowledged", v)?;
    }
    Ok(())
}

fn lay_extension(
    name: &str,
    p: &mut ExtensionPolicy,
    raw: &RawExtensionPolicy,
) -> Result<(), ScenarioError> {
    for (field, given, slot) in [
        ("time_limited", &raw.time_limited, &mut p.time_limited),
        ("unlimited", &raw.unlimited, &mut p.unlimited),
        ("rejected", &raw.rejected, &mut p.rejected),
        ("never_answered", &raw.never_answered, &mut p.never_answered),
    ] {
        if let Some(v) = given {
            if !(v.value.is_finite() && v.value >= 0.0) {
                return Err(err(
                    v,
                    format!(
                        "vendor_policies.{name}.sf2093.{field} must be a finite weight of at least 0, not {}",
                        v.value
                    ),
                ));
            }
            *slot = v.value;
        }
    }
    if let Some(v) = &raw.late_share {
        p.late_share = share(name, "sf2093.late_share", v)?;
    }
    if let Some(w) = &raw.extension_weeks {
        if !(1..=MAX_EXTENSION_WEEKS).contains(&w.value) {
            return Err(err(
                w,
                format!(
                    "vendor_policies.{name}.sf2093.extension_weeks must be 1 to {MAX_EXTENSION_WEEKS} weeks (an extension must end after the limit, KSD-11), not {}",
                    w.value
                ),
            ));
        }
        p.extension_weeks = w.value;
    }
    for (given, slot) in [
        (&raw.answer_delay_min, &mut p.answer_delay_min),
        (&raw.answer_delay_max, &mut p.answer_delay_max),
    ] {
        if let Some(d) = given {
            *slot = parse_duration(&d.value).map_err(|m| err(d, m))?;
        }
    }
    Ok(())
}

/// A share between 0 and 1.
fn share(name: &str, field: &str, v: &Spanned<f64>) -> Result<f64, ScenarioError> {
    if v.value.is_finite() && (0.0..=1.0).contains(&v.value) {
        Ok(v.value)
    } else {
        Err(err(
            v,
            format!(
                "vendor_policies.{name}.{field} must be a share between 0 and 1, not {}",
                v.value
            ),
        ))
    }
}

impl VendorPolicies {
    /// The canonical YAML of the section (every field, `all` first), appended to `y`.
    pub(crate) fn write_yaml(&self, y: &mut String, num: impl Fn(f64) -> String) {
        let line = |p: &VendorPolicy| {
            let e = &p.sf2093;
            format!(
                "{{sf2090: {{never_acknowledged: {}}}, sf2093: {{time_limited: {}, unlimited: {}, rejected: {}, never_answered: {}, extension_weeks: {}, answer_delay_min: {}, answer_delay_max: {}, late_share: {}}}}}",
                num(p.sf2090.never_acknowledged),
                num(e.time_limited),
                num(e.unlimited),
                num(e.rejected),
                num(e.never_answered),
                e.extension_weeks,
                format_duration(e.answer_delay_min),
                format_duration(e.answer_delay_max),
                num(e.late_share),
            )
        };
        y.push_str("vendor_policies:\n");
        let _ = writeln!(y, "  {ALL}: {}", line(&self.all));
        for (name, p) in &self.instances {
            let _ = writeln!(y, "  \"{name}\": {}", line(p));
        }
    }
}
