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
/// `partition` faults say, in virtual time: one task per program (its outages in order, at
/// the same instant an end before a start), the programs side by side, so that a slow outage
/// of one (a container that takes seconds to start) does not delay another's.
pub(crate) async fn drive_crashes(
    hands: Hands,
    clock: Clock,
    crashes: Vec<sim_scenario::Crash>,
    tally: Arc<Tally>,
    ledger: Arc<Mutex<Ledger>>,
) {
    type Event = (OffsetDateTime, bool, FaultKind, String);
    let mut by_program: std::collections::BTreeMap<Program, Vec<Event>> = Default::default();
    for c in &crashes {
        if let Some(p) = program_of(&c.target) {
            let name = c.target.name().to_string();
            let events = by_program.entry(p).or_default();
            events.push((c.at, true, c.kind, name.clone()));
            events.push((c.restart_at(), false, c.kind, name));
        }
    }
    let mut tasks = tokio::task::JoinSet::new();
    for (p, mut events) in by_program {
        events.sort_by_key(|(at, down, _, _)| (*at, *down));
        let (hands, clock, tally, ledger) =
            (hands.clone(), clock.clone(), tally.clone(), ledger.clone());
        tasks.spawn(async move {
            for (at, down, kind, target) in events {
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
        });
    }
    while tasks.join_next().await.is_some() {}
}
