//! Injected misbehaviour of a vendor towards KSD's SF2090 events and SF2093 extension
//! requests, for fault scenarios (`late_extension_answer`, `event_ack_twice`,
//! `unacknowledged_event` in `docs/scenario-schema.md`).
//!
//! These are a vendor's *business* choices — when it answers, whether it acknowledges — made
//! inside its flows, where `sim_kit::faults` only sees requests and connections. So the
//! jobcenter asks a hook of its own, which the scenario runner implements from its seeded
//! fault plan (the runner's `PlanHook` implements both). Without one nothing is injected and
//! every question costs one branch. The hook reads its own clock: a fault has a window in the
//! run's virtual time.

use std::sync::Arc;

/// Decides the injected misbehaviour of a vendor instance; implemented by the scenario runner.
/// Each question names the instance and the TransaktionIdentifikator of what KSD sent, so a
/// decision is a pure function of the plan, the message and the time it is asked.
pub trait VendorFaultHook: Send + Sync + 'static {
    /// Whether `instance` answers the extension request `tid` it is receiving now after the
    /// request's SvarFrist (KSD-11). The answer's kind still follows the instance's policy.
    fn late_extension_answer(&self, instance: &str, tid: &str) -> bool {
        let _ = (instance, tid);
        false
    }

    /// Whether `instance` withholds the acknowledgement of the event `tid` it is receiving
    /// now (KSD-10): the event is kept, but nothing is sent until KSD delivers it again
    /// outside the fault.
    fn withhold_acknowledgement(&self, instance: &str, tid: &str) -> bool {
        let _ = (instance, tid);
        false
    }

    /// Whether `instance` sends its acknowledgement of the event `tid`, which the platform
    /// has just taken for the first time, once more (KSD-10: KSD must absorb it).
    fn acknowledge_twice(&self, instance: &str, tid: &str) -> bool {
        let _ = (instance, tid);
        false
    }
}

/// A process's vendor fault hook, if any: part of [`crate::Config`] (never serialised).
#[derive(Clone, Default)]
pub struct VendorFaults(Option<Arc<dyn VendorFaultHook>>);

impl std::fmt::Debug for VendorFaults {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "VendorFaults(hook)"
        } else {
            "VendorFaults(none)"
        })
    }
}

impl VendorFaults {
    /// No injected misbehaviour.
    pub fn none() -> VendorFaults {
        VendorFaults(None)
    }

    /// Misbehaviour decided by `hook`.
    pub fn with(hook: Arc<dyn VendorFaultHook>) -> VendorFaults {
        VendorFaults(Some(hook))
    }

    /// See [`VendorFaultHook::late_extension_answer`].
    pub fn late_extension_answer(&self, instance: &str, tid: &str) -> bool {
        self.0
            .as_ref()
            .is_some_and(|h| h.late_extension_answer(instance, tid))
    }

    /// See [`VendorFaultHook::withhold_acknowledgement`].
    pub fn withhold_acknowledgement(&self, instance: &str, tid: &str) -> bool {
        self.0
            .as_ref()
            .is_some_and(|h| h.withhold_acknowledgement(instance, tid))
    }

    /// See [`VendorFaultHook::acknowledge_twice`].
    pub fn acknowledge_twice(&self, instance: &str, tid: &str) -> bool {
        self.0
            .as_ref()
            .is_some_and(|h| h.acknowledge_twice(instance, tid))
    }
}
