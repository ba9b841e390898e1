//! SF2095 traffic: an arrival turned into an update sent by its vendor (or, for sending-side
//! faults the simulated vendors would never make, a raw message with some system's
//! certificate), followed to its TransportKvittering across crashes (JC-1).

use std::path::Path;
use std::time::{Duration as StdDuration, Instant};

use sim_jobcenter::{UpdateSpec, UpdateStatus};
use sim_scenario::{Arrival, FaultKind, Target, UpdateData};
use sim_wire::{Cvr, Operation, Payload, Rule};
use time::OffsetDateTime;

use crate::ecosystem::Crashed;

use super::Jc;

use super::Ctx;
use crate::runner::CALL_TIMEOUT;

pub(crate) fn update_spec(d: &UpdateData, a: &Arrival) -> UpdateSpec {
    UpdateSpec {
        instance: Some(a.instance.clone()),
        municipality: Some(a.municipality.to_string()),
        cpr: Some(d.cpr.to_string()),
        arbejdsgiver: Some(d.arbejdsgiver.to_string()),
        produktionsenhed: d.produktionsenhed.map(|p| p.to_string()),
        ophoers_aarsag: Some(d.ophoers_aarsag.code()),
        foerste_fravaersdag: Some(d.foerste_fravaersdag.to_string()),
        ophoers_start_dato: Some(d.ophoers_start_dato.to_string()),
        ophoers_slut_dato: d.ophoers_slut_dato.map(|x| x.to_string()),
        jobcenter_sag_id: Some(d.jobcenter_sag_id.clone()),
        transaktion_id: Some(d.transaktion_id.to_string()),
        ..UpdateSpec::default()
    }
}

/// The raw SF2095 request of an update, for faults the simulated vendors would never send
/// themselves (another vendor's certificate, truncated XML).
pub(crate) fn raw_request(d: &UpdateData, m: Cvr, now: OffsetDateTime) -> String {
    let mut r = sim_wire::examples::request(Operation::SendOpdateringFravaer);
    r.call_context = None;
    r.authority_context = Some(sim_wire::AuthorityContext {
        municipality_cvr: m,
    });
    if let Payload::OpdateringFravaer(p) = &mut r.payload {
        let h = &mut p.header;
        h.transaktion_identifikator = d.transaktion_id;
        h.besked_forsendelses_dato_tid = sim_wire::DatoTid(now);
        h.registrering_fra_dato_tid = sim_wire::DatoTid(now);
        h.forretning_haendelse_dato_tid = sim_wire::DatoTid(now);
        h.myndighed = m;
        h.sygemeldte_part = d.cpr;
        h.arbejdsgiver_part = d.arbejdsgiver;
        h.arbejdsgiver_produktionsenhed = d.produktionsenhed;
        h.nem_refusion_identifier = d.nem_refusion_id;
        h.sag_identifikator = None;
        h.jobcenter_sag_id = Some(d.jobcenter_sag_id.clone());
        h.foerste_fravaersdag = d.foerste_fravaersdag;
        p.ophoers_aarsag = d.ophoers_aarsag;
        p.ophoers_start_dato = d.ophoers_start_dato;
        p.ophoers_slut_dato = d.ophoers_slut_dato;
    }
    sim_wire::write(&sim_wire::Message::Request(r))
}

pub(crate) fn soap_client(certs: &Path, stem: &str) -> anyhow::Result<sim_kit::soap::SoapClient> {
    let files = sim_certs::store::layout::system(certs, stem);
    let id = sim_kit::config::IdentityFiles {
        cert: files.chain,
        key: files.key,
    };
    Ok(sim_kit::soap::SoapClient::new(sim_kit::config::client(
        &id,
        &[sim_certs::store::layout::root_ca(certs)],
        CALL_TIMEOUT,
    )?))
}

pub(crate) async fn one_arrival(ctx: Ctx, a: Arrival) {
    let data = UpdateData::generate(ctx.seed, &a);
    let tid = data.transaktion_id.to_string();
    let vendor = Target::Vendor(a.instance.clone());
    let now = ctx.clock.now();
    let decide = |k: FaultKind| ctx.plan.decide(k, &vendor, a.intended_at, a.seq);
    let mut spec = update_spec(&data, &a);
    ctx.known.lock().expect("known keys lock").person(
        a.municipality,
        data.cpr,
        data.nem_refusion_id,
    );
    let mut injected = None;
    let mut raw: Option<(String, String)> = None; // (certificate stem, body)
    if let Some(rule) = decide(FaultKind::ForbiddenCode) {
        spec.ophoers_aarsag = ctx
            .plan
            .forbidden_code(rule, a.seq)
            .map(|c| c.code())
            .or(Some(60));
        injected = Some(FaultKind::ForbiddenCode);
    } else if decide(FaultKind::CvrMismatchHeader).is_some() {
        let other = ctx
            .others
            .iter()
            .map(|(c, _)| *c)
            .find(|c| *c != a.municipality)
            .unwrap_or(a.municipality);
        spec.myndighed = Some(other.to_string());
        injected = Some(FaultKind::CvrMismatchHeader);
    } else if decide(FaultKind::CvrMismatchAgreement).is_some() {
        let stranger = ctx
            .others
            .iter()
            .find(|(_, i)| *i != a.instance)
            .map(|(_, i)| i.clone());
        if let Some(stranger) = stranger {
            raw = Some((stranger, raw_request(&data, a.municipality, now)));
            injected = Some(FaultKind::CvrMismatchAgreement);
        }
    } else if decide(FaultKind::MalformedXml).is_some() {
        let body = raw_request(&data, a.municipality, now);
        let cut = body.len() * 2 / 3;
        raw = Some((a.instance.clone(), body[..cut].to_string()));
        injected = Some(FaultKind::MalformedXml);
    }
    let b = (ctx.bucket)(a.intended_at);
    {
        let mut l = ctx.ledger.lock().expect("ledger lock");
        l.sent += 1;
        l.buckets.entry(b).or_default().0 += 1;
        l.intended.insert(tid.clone(), a.intended_at);
        l.dispatched.insert(tid.clone(), Instant::now());
        if let Some(k) = injected {
            l.injected.push((tid.clone(), k.as_str().to_string()));
        }
    }
    if let Some(k) = injected {
        ctx.tally.hit(k, &a.instance, now);
    }
    let accepted = match raw {
        Some((stem, body)) => match ctx.clients.get(&stem) {
            Some(c) => send_raw(c, &ctx, body).await,
            None => false,
        },
        None => match send_via_vendor(&ctx.jc, spec, &tid).await {
            Ok(accepted) => accepted,
            Err(e) => {
                ctx.ledger
                    .lock()
                    .expect("ledger lock")
                    .errors
                    .push(format!("{tid}: {e}"));
                false
            }
        },
    };
    if accepted {
        let mut l = ctx.ledger.lock().expect("ledger lock");
        l.accepted += 1;
        l.buckets.entry(b).or_default().1 += 1;
    }
    if accepted && decide(FaultKind::DuplicateUpdate).is_some() {
        ctx.tally
            .hit(FaultKind::DuplicateUpdate, &a.instance, ctx.clock.now());
        let _ = ctx.jc.resend(&tid).await;
    }
}

/// How long (real time) a raw message is resent without an answer before the runner stops.
const RAW_FOLLOW_LIMIT: StdDuration = StdDuration::from_secs(300);

/// Hands an update to its vendor's system and follows it to its TransportKvittering, also
/// across a crash of the jobcenter: if the crashed program had persisted the update, the
/// restarted one resends it by itself (JC-1) and the runner only watches; if it had not, the
/// case worker enters it again. Returns whether it was accepted (OK or ADVARSEL).
pub(crate) async fn send_via_vendor(jc: &Jc, spec: UpdateSpec, tid: &str) -> Result<bool, String> {
    /// A follower stops following after this long (real time), so a run whose receiver never
    /// answers still ends: the vendor itself never gives the update up (JC-1) and it counts
    /// as still owned (undelivered) in the report.
    const FOLLOW_LIMIT: StdDuration = StdDuration::from_secs(600);
    let started = Instant::now();
    let mut submit = true;
    loop {
        if jc.is_gone() {
            return Err("sim-jobcenter is gone (a restart failed)".into());
        }
        if submit {
            match jc.send_update(spec.clone()).await {
                // Still without a TransportKvittering after the quick attempts: the
                // vendor's background resender owns it now (JC-1); follow it.
                Ok(Ok(out)) if out.status == UpdateStatus::Sent => submit = false,
                Ok(Ok(out)) => return Ok(out.status == UpdateStatus::Accepted),
                Ok(Err(e)) => return Err(e.to_string()),
                Err(Crashed) => submit = false,
            }
        }
        if started.elapsed() > FOLLOW_LIMIT {
            return Err(format!(
                "no TransportKvittering within {} s (real time) of following it; the vendor still owns it and keeps resending",
                FOLLOW_LIMIT.as_secs()
            ));
        }
        // Told when the TransportKvittering commits (no polling, however many are owned);
        // a second at most, to notice a crash of the jobcenter meanwhile.
        match jc.wait_for_transport(tid, StdDuration::from_secs(1)).await {
            Ok(Ok(None)) => submit = true,
            Ok(Ok(Some(UpdateStatus::Accepted))) => return Ok(true),
            Ok(Ok(Some(UpdateStatus::Rejected))) => return Ok(false),
            Ok(Ok(Some(UpdateStatus::Sent))) => {}
            Ok(Err(e)) => return Err(e.to_string()),
            Err(Crashed) => tokio::time::sleep(StdDuration::from_millis(20)).await,
        }
    }
}

/// Sends a message the simulated vendors would never send themselves, resending it like a
/// vendor would (JC-1) while the answer is transient (no answer, SP-4, SP-9), so that the
/// platform or KSD gets to judge it. Returns whether it was accepted.
///
/// Like a vendor it does not give up after a number of attempts: at speed `max` the virtual
/// clock can run through a platform's whole downtime while the platform is still restarting
/// in real time, and a message given up then was never judged (the chaos run flaked on
/// `refused-what-must-be-refused`). It gives up only after [`RAW_FOLLOW_LIMIT`] of real time,
/// and waits a little real time after a call that got no answer.
pub(crate) async fn send_raw(c: &sim_kit::soap::SoapClient, ctx: &Ctx, body: String) -> bool {
    let op = Operation::SendOpdateringFravaer;
    let started = Instant::now();
    for attempt in 0u64.. {
        if attempt > 0 {
            if started.elapsed() > RAW_FOLLOW_LIMIT {
                return false;
            }
            ctx.clock.sleep(StdDuration::from_secs(10)).await;
        }
        let Ok(reply) = c.call(&ctx.sp_url, &op.soap_action(), body.clone()).await else {
            tokio::time::sleep(StdDuration::from_millis(50)).await;
            continue;
        };
        if let Some(k) = reply.transport_kvittering() {
            return k.kode != sim_wire::TransportValideringsKode::Fejl;
        }
        match reply.fault().and_then(|f| f.rule()) {
            Some(Rule::Sp4 | Rule::Sp9) | None => continue,
            Some(_) => return false,
        }
    }
    false
}
