//! Report assembly: what the fault layer did, and the process's memory.

use sim_report::FaultEvent;
use sim_scenario::FaultKind;

use super::hook::Tally;

/// Every fault the run injected, by kind and target, and each planned crash with its downtime.
pub(crate) fn fault_events(tally: &Tally, crashes: &[sim_scenario::Crash]) -> Vec<FaultEvent> {
    let tallied = tally.by.lock().expect("tally lock").clone();
    // Crashes are reported as planned below, with their downtimes.
    let mut faults: Vec<FaultEvent> = tallied
        .iter()
        .filter(|((kind, _), _)| {
            ![FaultKind::Crash, FaultKind::Pause, FaultKind::Partition]
                .iter()
                .any(|k| kind == k.as_str())
        })
        .map(|((kind, target), (first, last, n))| FaultEvent {
            kind: kind.clone(),
            target: Some(target.clone()),
            start: *first,
            end: Some(*last),
            count: *n,
            note: String::new(),
        })
        .collect();
    // Each crash as planned, with its downtime; the count says whether it was done.
    for c in crashes {
        let key = (c.kind.as_str().to_string(), c.target.name().to_string());
        let n = tallied.get(&key).map_or(0, |hits| hits.2);
        let done = match c.kind {
            FaultKind::Pause => format!(
                "frozen (SIGSTOP or docker pause), thawed after {}",
                c.downtime
            ),
            FaultKind::Partition => {
                format!("cut off the network, connected again after {}", c.downtime)
            }
            _ => format!("killed, restarted after {}", c.downtime),
        };
        faults.push(FaultEvent {
            kind: c.kind.as_str().into(),
            target: Some(c.target.name().to_string()),
            start: c.at,
            end: Some(c.restart_at()),
            count: n,
            note: if n > 0 {
                done
            } else {
                "planned, not done: the run ended first".into()
            },
        });
    }
    faults
}

/// This process's peak resident memory (Linux `VmHWM`), when it can be read.
pub fn peak_rss() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// CPU time this process has used (user + system, every thread), seconds: `/proc/self/stat`'s
/// `utime` and `stime`, in clock ticks of 1/100 s (`CLK_TCK` on Linux).
pub fn cpu_seconds() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name may hold spaces: the fields start after its closing parenthesis.
    let rest = &s[s.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    let ticks: u64 = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    Some(ticks as f64 / 100.0)
}
