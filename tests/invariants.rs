//! ARCHITECTURE.md's checkable invariants, checked: who may read the system time, that
//! `sim-wire` stays a pure crate without IO dependencies, that seeded randomness has one home
//! (`sim-seed`) and that only the journal vocabulary spells stored labels and outcomes.

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every `.rs` file under the workspace's library and binary sources (`*/src`, `src`), not
/// tests, benches or fuzz targets.
fn sources() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    let mut out = Vec::new();
    walk(&root().join("src"), &mut out);
    for e in std::fs::read_dir(root()).unwrap().flatten() {
        let src = e.path().join("src");
        if e.path().join("Cargo.toml").exists() && src.is_dir() && e.path() != root() {
            walk(&src, &mut out);
        }
    }
    out
}

fn offenders(needles: &[&str], allowed: &[&str]) -> Vec<String> {
    let mut bad = Vec::new();
    for f in sources() {
        let rel = f
            .strip_prefix(root())
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        if allowed.contains(&rel.as_str()) {
            continue;
        }
        let text = std::fs::read_to_string(&f).unwrap();
        // Only the code before a file's unit tests counts.
        let code = text.split("#[cfg(test)]").next().unwrap_or("");
        for (n, line) in code.lines().enumerate() {
            if needles.iter().any(|x| line.contains(x)) && !line.trim_start().starts_with("//") {
                bad.push(format!("{rel}:{}: {}", n + 1, line.trim()));
            }
        }
    }
    bad
}

#[test]
fn only_the_clock_reads_the_wall_clock() {
    let bad = offenders(
        &["now_utc()", "SystemTime::now", "Utc::now", "now_local()"],
        &["sim-store/src/clock.rs"],
    );
    assert!(
        bad.is_empty(),
        "every stored and sent time comes from a sim_store::Clock:\n{}",
        bad.join("\n")
    );
}

#[test]
fn elapsed_real_time_is_measured_only_where_architecture_md_names_it() {
    let bad = offenders(
        &["Instant::now"],
        &[
            "sim-store/src/clock.rs",
            "src/runner/mod.rs",
            "src/runner/pacing.rs",
            "src/runner/latency.rs",
            "src/runner/traffic/sf2095.rs",
            "src/runner/traffic/lookups.rs",
            "src/runner/traffic/ky.rs",
            "src/ecosystem/hosting.rs",
            "src/runner/remote.rs",
            "src/cmd/serve.rs",
            "src/cmd/bench.rs",
            "src/cmd/bench_overload.rs",
            "src/cmd/send.rs",
            "sim-report/src/progress.rs",
            "sim-jobcenter/src/state.rs",
            "sim-kit/src/metrics.rs",
        ],
    );
    assert!(
        bad.is_empty(),
        "Instant::now outside the modules ARCHITECTURE.md names (pacing, latency, restart waits, progress, bench, receipt waits, metrics):\n{}",
        bad.join("\n")
    );
}

#[test]
fn sim_wire_has_no_io_dependencies() {
    let manifest = std::fs::read_to_string(root().join("sim-wire/Cargo.toml")).unwrap();
    let deps = manifest
        .split("[dependencies]")
        .nth(1)
        .unwrap()
        .split("\n[")
        .next()
        .unwrap();
    let names: Vec<&str> = deps
        .lines()
        .filter_map(|l| l.split(['.', '=', ' ']).next())
        .filter(|n| !n.is_empty() && !n.starts_with('#'))
        .collect();
    for n in &names {
        assert!(
            // sim-seed: its pure hash only (the CPR register, `municipalities::residence_of`);
            // no generator, no entropy.
            [
                "quick-xml",
                "uuid",
                "time",
                "thiserror",
                "serde",
                "sim-seed"
            ]
            .contains(n),
            "sim-wire depends on {n}: it must stay pure (no IO, clock or randomness)"
        );
    }
    let bad: Vec<String> = sources()
        .into_iter()
        .filter(|p| p.starts_with(root().join("sim-wire/src")))
        .flat_map(|p| {
            let t = std::fs::read_to_string(&p).unwrap();
            [
                "std::fs",
                "std::net",
                "tokio",
                "std::time::SystemTime",
                "rand::",
            ]
            .iter()
            .filter(|x| t.contains(**x))
            .map(|x| format!("{}: {x}", p.display()))
            .collect::<Vec<_>>()
        })
        .collect();
    assert!(bad.is_empty(), "{bad:?}");
}

#[test]
fn seeded_randomness_has_one_home() {
    // SplitMix64's increment and FNV-1a's offset basis: whoever spells them mixes or hashes
    // seeds by hand instead of through sim-seed.
    let bad = offenders(
        &["9E37_79B9", "9e3779b9", "cbf2_9ce4", "cbf29ce4", "SplitMix"],
        &["sim-seed/src/lib.rs"],
    );
    assert!(
        bad.is_empty(),
        "seeded randomness belongs in sim-seed (one mixer, one hash, one sub-seed rule):\n{}",
        bad.join("\n")
    );
}

#[test]
fn only_the_journal_vocabulary_spells_labels_and_outcomes() {
    let bad = offenders(
        &[
            "\"FAULT:",
            "\"#response",
            "\"#fault",
            "\"RECEIVED\"",
            "\"DUPLICATE\"",
            "\"UNREACHABLE",
            "\"UNREADABLE",
        ],
        &["sim-store/src/journal/vocabulary.rs"],
    );
    assert!(
        bad.is_empty(),
        "journal labels and outcomes are sim_store::{{Label, Outcome}}, spelled in one module:\n{}",
        bad.join("\n")
    );
}
