//! Outside systems in seats during `sim run`: which seats a run has (the scenario's `seats:`
//! and `--seat`), how the ecosystem is pointed at them, what the runner counts as delivered to
//! them, and the probes it sends them at the end to provoke the rules the traffic may not have
//! (KSD-7, JC-2, JC-3).
//!
//! A seat is a vendor instance (a jobcenter system receiving business receipts and, with its
//! identity given, sending updates of its own) or `ksd` (a KSD system the platform forwards
//! every update to; its identity says which certificate it sends business receipts with).
//! `platform` (an outside platform between the simulated vendors and KSD, at its base URL;
//! graded from what the vendors and KSD saw of it).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use sim_certs::store::layout;
use sim_check::conformance::{Expect, Probe, SeatParty, SeatUnderTest};
use sim_kit::config::IdentityFiles;
use sim_kit::soap::SoapClient;
use sim_scenario::Seat;
use sim_store::rusqlite::{Connection, OpenFlags};
use sim_store::{Direction, Label, Outcome};
use sim_wire::{Cvr, Message, Operation, Payload};

use crate::ecosystem::EcosystemConfig;
use crate::refdata::RefData;

/// The seats of a run: the scenario's, with `--seat` ones replacing those of the same name.
pub(crate) fn merge(file: &[Seat], cli: &[Seat]) -> Vec<Seat> {
    let mut out: Vec<Seat> = file
        .iter()
        .filter(|s| !cli.iter().any(|c| c.name == s.name))
        .cloned()
        .collect();
    out.extend(cli.iter().cloned());
    out
}

/// Refuses seats `sim run` cannot give yet, or that name no vendor instance.
pub(crate) fn validate(seats: &[Seat], refdata: &RefData) -> anyhow::Result<()> {
    for s in seats {
        if s.name == PLATFORM || s.name == KY {
            continue;
        }
        if s.name == KSD {
            if s.identity.is_none() {
                bail!(
                    "seat 'ksd' needs the identity of the certificate your KSD calls the \
                     platform with (`identity: CVR[:UUID]`, --seat-identity ksd=CVR:UUID): \
                     only that system may send business receipts (SP-2)"
                );
            }
            continue;
        }
        if !refdata.vendors.iter().any(|v| v.instance == s.name) {
            let known: Vec<&str> = refdata
                .vendors
                .iter()
                .map(|v| v.instance.as_str())
                .collect();
            bail!(
                "seat '{}' is no vendor instance (known: {})",
                s.name,
                known.join(", ")
            );
        }
    }
    Ok(())
}

/// KSD's seat name.
const KSD: &str = crate::ecosystem::wiring::KSD_SEAT;
/// The platform's seat name.
const PLATFORM: &str = crate::ecosystem::wiring::PLATFORM_SEAT;
/// KY's seat name (SF1690).
const KY: &str = crate::ecosystem::wiring::KY_SEAT;

/// A seat's `CVR[:UUID]` identity as a system reference.
fn system_ref(identity: &str) -> sim_kit::config::SystemRef {
    match identity.split_once(':') {
        Some((cvr, uuid)) => sim_kit::config::SystemRef {
            cvr: cvr.to_string(),
            uuid: Some(uuid.to_string()),
        },
        None => sim_kit::config::SystemRef {
            cvr: identity.to_string(),
            uuid: None,
        },
    }
}

/// A seat's trust files, relative ones read from the scenario file's directory.
fn trust_files(seat: &Seat, base: &Path) -> Vec<PathBuf> {
    seat.trust.iter().map(|t| base.join(t)).collect()
}

/// Points the ecosystem at the seats: the platform calls each seat's URL instead of the
/// simulated instance's receiver and trusts the seats' CAs for their server and client
/// certificates (`extra` are `--trust` files for every seat).
pub(crate) fn configure(cfg: &mut EcosystemConfig, seats: &[Seat], base: &Path, extra: &[PathBuf]) {
    for s in seats {
        if s.name == KSD {
            cfg.ksd_url = Some(s.url.clone());
            cfg.ksd_system = s.identity.as_deref().map(system_ref);
        } else if s.name == PLATFORM {
            cfg.platform_url = Some(s.url.trim_end_matches('/').to_string());
            cfg.run_platform = false;
        } else if s.name == KY {
            // KY only answers; it calls nobody, so it needs no identity nor agreement.
            cfg.ky_url = Some(s.url.clone());
        } else {
            cfg.instance_urls.insert(s.name.clone(), s.url.clone());
            // Its own updates need a service agreement for the instance's municipalities
            // (SP-5), or every one would be refused for our configuration, not its fault.
            if let Some(id) = &s.identity {
                for m in cfg.refdata.municipalities_of(&s.name) {
                    cfg.extra_agreements.push((system_ref(id), m.to_string()));
                }
            }
        }
        let files = trust_files(s, base)
            .into_iter()
            .chain(extra.iter().cloned());
        for f in files {
            if !cfg.extra_server_trust.contains(&f) {
                cfg.extra_server_trust.push(f.clone());
                cfg.extra_client_trust.push(f);
            }
        }
    }
}

/// The seats as the checkers grade them.
pub(crate) fn under_test(seats: &[Seat]) -> Vec<SeatUnderTest> {
    seats
        .iter()
        .map(|s| SeatUnderTest {
            name: s.name.clone(),
            party: match s.name.as_str() {
                KSD => SeatParty::Ksd,
                PLATFORM => SeatParty::Platform,
                KY => SeatParty::Ky,
                _ => SeatParty::Jobcenter,
            },
            url: s.url.clone(),
            identity: s.identity.as_ref().map(|i| match i.split_once(':') {
                Some((cvr, uuid)) => (cvr.to_string(), Some(uuid.to_string())),
                None => (i.clone(), None),
            }),
        })
        .collect()
}

/// Business receipts the seats accepted: (TransaktionIdentifikator, when, virtual ms), from
/// the platform's journal (an outside system keeps none we can read). Read-only.
pub(crate) fn delivered(sp_db: &Path, seats: &[Seat]) -> anyhow::Result<Vec<(String, i64)>> {
    let vendors: Vec<&Seat> = seats
        .iter()
        .filter(|s| s.name != KSD && s.name != PLATFORM)
        .collect();
    if vendors.is_empty() || !sp_db.exists() {
        return Ok(Vec::new());
    }
    let conn = Connection::open_with_flags(sp_db, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    let label = Label::request(Operation::ModtagForretningsSvarJc).to_string();
    let mut st = conn.prepare_cached(
        "SELECT transaktion_id, MIN(at) FROM journal
         WHERE operation = ?1 AND direction = ?2 AND outcome IN (?3, ?4) AND peer = ?5
               AND transaktion_id IS NOT NULL
         GROUP BY transaktion_id",
    )?;
    let mut out = Vec::new();
    for s in vendors {
        let rows = st.query_map(
            sim_store::rusqlite::params![
                label,
                Direction::Out,
                Outcome::Ok,
                Outcome::Advarsel,
                s.name
            ],
            |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)),
        )?;
        for r in rows {
            out.push(r?);
        }
    }
    Ok(out)
}

/// A client presenting `identity` (a stem of the certificate layout), trusting the simulated
/// CA and the seat's CAs.
fn client(certs: &Path, identity: &str, trust: Vec<PathBuf>) -> anyhow::Result<SoapClient> {
    let f = layout::system(certs, identity);
    let id = IdentityFiles {
        cert: f.chain,
        key: f.key,
    };
    let mut all = vec![layout::root_ca(certs)];
    all.extend(trust);
    Ok(sim_kit::config::soap_client(&id, &all, 5_000)?)
}

/// What a seat accepted once, to send again: the raw delivery and its TransaktionIdentifikator.
fn accepted_delivery(sp_db: &Path, seat: &str) -> anyhow::Result<Option<(String, String)>> {
    let conn = Connection::open_with_flags(sp_db, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let label = Label::request(Operation::ModtagForretningsSvarJc).to_string();
    let mut st = conn.prepare(
        "SELECT raw, transaktion_id FROM journal
         WHERE operation = ?1 AND direction = ?2 AND outcome IN (?3, ?4) AND peer = ?5
               AND transaktion_id IS NOT NULL
         ORDER BY id LIMIT 1",
    )?;
    let mut rows = st.query(sim_store::rusqlite::params![
        label,
        Direction::Out,
        Outcome::Ok,
        Outcome::Advarsel,
        seat
    ])?;
    Ok(match rows.next()? {
        Some(r) => Some((r.get(0)?, r.get(1)?)),
        None => None,
    })
}

/// `raw` made into a receipt for `other`, a municipality the seat is not routed, under a
/// fresh TransaktionIdentifikator `tid`.
fn for_other_municipality(raw: &str, other: Cvr, tid: sim_wire::Uuid) -> Option<String> {
    let decoded = sim_wire::read(raw.as_bytes(), None).ok()?;
    let Some(Message::Request(mut req)) = decoded.message else {
        return None;
    };
    if let Some(ac) = req.authority_context.as_mut() {
        ac.municipality_cvr = other;
    }
    let Payload::ForretningsSvar(svar) = &mut req.payload else {
        return None;
    };
    svar.header.myndighed = other;
    svar.header.transaktion_identifikator = tid;
    Some(sim_wire::write_request(&req))
}

/// One probe: sends `xml` to the seat with `client` and records what came back.
async fn send(
    client: &SoapClient,
    seat: &Seat,
    rule: &str,
    what: String,
    expect: Expect,
    tid: Option<String>,
    xml: String,
) -> Probe {
    let action = Operation::ModtagForretningsSvarJc.soap_action();
    let (outcome, response) = match client.call(&seat.url, &action, xml.clone()).await {
        Ok(reply) => (Some(reply.outcome()), reply.body),
        Err(e) => (None, format!("no answer: {e}")),
    };
    Probe {
        seat: seat.name.clone(),
        rule: rule.to_string(),
        what,
        expect,
        transaktion_id: tid,
        request: xml,
        outcome,
        response,
    }
}

/// The probes of one vendor seat, made after the traffic: a receipt it accepted sent again
/// (KSD-7: accepted again), the same with another system's certificate (JC-2: refused), and a
/// receipt for a municipality it is not routed (JC-3: refused). Nothing to probe when the
/// seat accepted no receipt during the run.
pub(crate) async fn probe(
    seat: &Seat,
    base: &Path,
    extra: &[PathBuf],
    certs: &Path,
    sp_db: &Path,
    refdata: &RefData,
    seed: u64,
) -> anyhow::Result<Vec<Probe>> {
    if seat.name == KSD || seat.name == PLATFORM {
        return Ok(Vec::new()); // TODO(issue 10): probe an outside KSD (a repeated update, KSD-7)
    }
    let Some((raw, tid)) = accepted_delivery(sp_db, &seat.name)? else {
        return Ok(Vec::new());
    };
    let trust: Vec<PathBuf> = trust_files(seat, base)
        .into_iter()
        .chain(extra.iter().cloned())
        .collect();
    let kombit = client(certs, "kombit", trust.clone()).context("KOMBIT's certificate")?;
    let other_vendor = refdata
        .vendors
        .iter()
        .map(|v| v.instance.as_str())
        .find(|i| *i != seat.name)
        .unwrap_or(seat.name.as_str());
    let stranger = client(certs, other_vendor, trust)?;
    let mut probes = vec![
        send(
            &kombit,
            seat,
            "KSD-7",
            format!("the receipt of {tid}, already accepted, again"),
            Expect::Accepted,
            Some(tid.clone()),
            raw.clone(),
        )
        .await,
        send(
            &stranger,
            seat,
            "JC-2",
            format!("the receipt of {tid} with {other_vendor}'s certificate, not KOMBIT's"),
            Expect::Refused,
            Some(tid.clone()),
            raw.clone(),
        )
        .await,
    ];
    let other = refdata
        .routing
        .iter()
        .find(|(_, instance)| **instance != seat.name)
        .map(|(cvr, _)| *cvr);
    if let Some(other) = other {
        let fresh = sim_kit::ids::IdStream::new(seed, "runner/probes", 0).next_uuid();
        if let Some(xml) = for_other_municipality(&raw, other, fresh) {
            probes.push(
                send(
                    &kombit,
                    seat,
                    "JC-3",
                    format!(
                        "a receipt for municipality {other}, which is not routed to {}",
                        seat.name
                    ),
                    Expect::Refused,
                    Some(fresh.to_string()),
                    xml,
                )
                .await,
            );
        }
    }
    Ok(probes)
}
