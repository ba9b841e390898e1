//! Crash faults: programs killed and restarted on the scenario's schedule, in virtual time.

use std::sync::{Arc, Mutex};

use sim_scenario::{FaultKind, Target};
use sim_store::Clock;
use time::OffsetDateTime;

use crate::ecosystem::{Control, Program};

use super::hook::Tally;
use super::traffic::Ledger;

/// The program a `crash` fault names.
pub(crate) fn program_of(t: &Target) -> Option<Program> {
    match t {
        Target::Sp => Some(Program::Sp),
        Target::Ksd => Some(Program::Ksd),
        Target::Jobcenter => Some(Program::Jobcenter),
        Target::Star => Some(Program::Star),
        Target::Vendor(_) => None,
    }
}

/// Kills and restarts programs as the scenario's `crash` faults say, in virtual time.
pub(crate) async fn drive_crashes(
    control: Control,
    clock: Clock,
    crashes: Vec<sim_scenario::Crash>,
    tally: Arc<Tally>,
    ledger: Arc<Mutex<Ledger>>,
) {
    let mut events: Vec<(OffsetDateTime, bool, Program, String)> = Vec::new();
    for c in &crashes {
        if let Some(p) = program_of(&c.target) {
            events.push((c.at, true, p, c.target.name().to_string()));
            events.push((c.restart_at(), false, p, c.target.name().to_string()));
        }
    }
    // By time; at the same instant a restart before a crash.
    events.sort_by_key(|(at, down, p, _)| (*at, *down, *p));
    for (at, down, p, target) in events {
        clock.sleep_until(at).await;
        if down {
            control.crash(p).await;
            tally.hit(FaultKind::Crash, &target, clock.now());
        } else if let Err(e) = control.restart(p).await {
            ledger
                .lock()
                .expect("ledger lock")
                .errors
                .push(format!("restarting {}: {e:#}", p.name()));
        }
    }
}
