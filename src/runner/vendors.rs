//! The scenario's `vendor_policies:` turned into the jobcenter's own policies
//! (`sim_jobcenter::VendorPolicy`, per instance), for the ecosystem the run starts: how each
//! simulated vendor acknowledges KSD's events (SF2090, KSD-10) and answers its extension
//! requests (SF2093, KSD-11).

use std::collections::BTreeMap;

use sim_scenario::VendorPolicies;

use crate::refdata::RefData;

/// Every vendor instance of the reference data with its policy from the scenario; an instance
/// the scenario names that is no vendor instance (`scenarios/vendors.csv`) is refused, and so
/// is a policy the jobcenter would not start with.
pub(crate) fn policies(
    scenario: &VendorPolicies,
    refdata: &RefData,
) -> anyhow::Result<BTreeMap<String, sim_jobcenter::VendorPolicy>> {
    for name in scenario.instances.keys() {
        anyhow::ensure!(
            refdata.vendors.iter().any(|v| &v.instance == name),
            "vendor_policies: '{name}' is no vendor instance (scenarios/vendors.csv has {})",
            instance_names(refdata)
        );
    }
    let mut out = BTreeMap::new();
    for v in &refdata.vendors {
        let p = converted(scenario.of(&v.instance));
        if let Some(problem) = p.problem() {
            anyhow::bail!("vendor_policies.{}: {problem}", v.instance);
        }
        out.insert(v.instance.clone(), p);
    }
    Ok(out)
}

fn instance_names(refdata: &RefData) -> String {
    let names: Vec<&str> = refdata
        .vendors
        .iter()
        .map(|v| v.instance.as_str())
        .collect();
    names.join(", ")
}

/// The scenario's form (durations) as the jobcenter configures it (milliseconds).
fn converted(p: &sim_scenario::VendorPolicy) -> sim_jobcenter::VendorPolicy {
    let ms = |d: time::Duration| u64::try_from(d.whole_milliseconds()).unwrap_or(0);
    let e = &p.sf2093;
    sim_jobcenter::VendorPolicy {
        sf2090: sim_jobcenter::AckPolicy {
            never_acknowledged: p.sf2090.never_acknowledged,
        },
        sf2093: sim_jobcenter::ExtensionPolicy {
            time_limited: e.time_limited,
            unlimited: e.unlimited,
            rejected: e.rejected,
            never_answered: e.never_answered,
            extension_weeks: e.extension_weeks,
            answer_delay_min_ms: ms(e.answer_delay_min),
            answer_delay_max_ms: ms(e.answer_delay_max),
            late_share: e.late_share,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The scenario crate mirrors the jobcenter's policy (it depends on no program): a
    // scenario without `vendor_policies:` must behave exactly as a configuration without
    // `policy:` (KSD-10, KSD-11).
    #[test]
    fn the_scenario_defaults_are_the_jobcenters() {
        assert_eq!(
            converted(&sim_scenario::VendorPolicy::default()),
            sim_jobcenter::VendorPolicy::default()
        );
    }

    #[test]
    fn every_instance_gets_its_policy_and_unknown_instances_are_refused() {
        let refdata = RefData::embedded().unwrap();
        let s = sim_scenario::parse(
            "vendor_policies:\n  all: {sf2093: {late_share: 0.5}}\n  schultz-jc: {sf2093: {answer_delay_max: 2h}}\n",
        )
        .unwrap();
        let p = policies(&s.vendor_policies, &refdata).unwrap();
        assert_eq!(p.len(), refdata.vendors.len());
        assert_eq!(p["kmd-jc"].sf2093.late_share, 0.5);
        assert_eq!(p["kmd-jc"].sf2093.answer_delay_max_ms, 72 * 3_600_000);
        assert_eq!(p["schultz-jc"].sf2093.late_share, 0.5, "all, then its own");
        assert_eq!(p["schultz-jc"].sf2093.answer_delay_max_ms, 2 * 3_600_000);
        let s = sim_scenario::parse("vendor_policies:\n  nobody-jc: {}\n").unwrap();
        let e = policies(&s.vendor_policies, &refdata).unwrap_err();
        assert!(
            e.to_string().contains("'nobody-jc' is no vendor instance"),
            "{e}"
        );
    }
}
