//! Outage faults: programs killed and restarted, frozen and thawed, cut off and connected
//! again on the scenario's schedule, in virtual time.

use std::sync::{Arc, Mutex};

use sim_scenario::{FaultKind, Target};
use sim_store::Clock;
use time::OffsetDateTime;

use crate::ecosystem::{Control, Program};

use super::remote::Remote;

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

/// Who does the outages: this process's hosting (crashes only), or the processes and
/// containers of a run across processes (crashes, pauses, partitions for real).
#[derive(Clone)]
pub(crate) enum Hands {
    Local(Control),
    Remote(Arc<Remote>),
}

impl Hands {
    async fn down(&self, kind: FaultKind, p: Program) -> anyhow::Result<()> {
        match self {
            Hands::Local(c) => {
                c.crash(p).await;
                Ok(())
            }
            Hands::Remote(r) => r.down(kind, p).await,
        }
    }

    async fn up(&self, kind: FaultKind, p: Program) -> anyhow::Result<()> {
        match self {
            Hands::Local(c) => c.restart(p).await,
            Hands::Remote(r) => r.up(kind, p).await,
        }
    }
}

/// Takes programs down and brings them back as the scenario's `crash`, `pause` and
/// `partition` faults say, in virtual time.
pub(crate) async fn drive_crashes(
    hands: Hands,
    clock: Clock,
    crashes: Vec<sim_scenario::Crash>,
    tally: Arc<Tally>,
    ledger: Arc<Mutex<Ledger>>,
) {
    let mut events: Vec<(OffsetDateTime, bool, Program, FaultKind, String)> = Vec::new();
    for c in &crashes {
        if let Some(p) = program_of(&c.target) {
            let name = c.target.name().to_string();
            events.push((c.at, true, p, c.kind, name.clone()));
            events.push((c.restart_at(), false, p, c.kind, name));
        }
    }
    // By time; at the same instant a restart before a crash.
    events.sort_by_key(|(at, down, p, _, _)| (*at, *down, *p));
    for (at, down, p, kind, target) in events {
        clock.sleep_until(at).await;
        let done = if down {
            let d = hands.down(kind, p).await;
            if d.is_ok() {
                tally.hit(kind, &target, clock.now());
            }
            d
        } else {
            hands.up(kind, p).await
        };
        if let Err(e) = done {
            let what = if down { "taking down" } else { "bringing back" };
            ledger
                .lock()
                .expect("ledger lock")
                .errors
                .push(format!("{kind}: {what} {}: {e:#}", p.name()));
        }
    }
}
