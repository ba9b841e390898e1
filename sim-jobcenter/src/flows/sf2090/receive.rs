//! SF2090's receiving leg: a case event (`ModtagHaendelse`, KSD-10) arriving on a vendor's
//! receiver port, after the port's checks (JC-2, JC-3).
//!
//! The event must be valid and about a case of the municipality in context (JC-3), or it is
//! answered FEJL with every problem and nothing is stored. It is stored with its
//! acknowledgement (queued, or left out by the policy) and journaled in one commit, and only
//! then answered OK: an OK the store never saw would make KSD forget an event nobody has.

use axum::response::Response;
use sim_wire::Payload;

use super::{ack, store};
use crate::flows::answer::{self, Stored};
use crate::model::{AnswerState, EventInfo};
use crate::receiver::Inbound;

/// The receiver table's handler of `ModtagHaendelse`: checks, stores and journals one event
/// with its acknowledgement, then answers OK (`Err`: the refusal its checks answered with).
pub(crate) async fn receive(i: Inbound) -> Result<Response, Response> {
    let (haendelse, v, now) = answer::about_case(
        &i,
        "Haendelse",
        |p| match p {
            Payload::Haendelse(h) => Some(h),
            _ => None,
        },
        |h| &h.sag,
    )
    .await?;
    let r = &i.receiver;
    let tid = haendelse.header.transaktion_identifikator.to_string();
    let policy = &v.policy.sf2090;
    let ack_xml = ack::acknowledges(policy, r.jc.inner.seed, &r.instance, &tid).then(|| {
        answer::document(&ack::acknowledgement(
            &haendelse,
            i.municipality,
            v.system_uuid,
            now,
        ))
    });
    // An injected unacknowledged_event (fault scenarios) keeps the acknowledgement back
    // until KSD delivers the event again outside the fault.
    let withheld = ack_xml.is_some()
        && r.jc
            .inner
            .vendor_faults
            .withhold_acknowledgement(&r.instance, &tid);
    let acknowledgement = match ack_xml {
        Some(xml) if withheld => answer::withheld(xml),
        other => answer::owed(other.map(|xml| (xml, now))),
    };
    let sag = &haendelse.sag;
    let row = EventInfo {
        transaktion_id: tid.clone(),
        instance: r.instance.clone(),
        municipality: i.municipality.to_string(),
        haendelse_type: haendelse.haendelse_type.to_string(),
        sag_id: sag.sag_identifikator.to_string(),
        cpr: sag.sygemeldte_part.to_string(),
        status: sag.status.to_string(),
        varighed_kode: sag.varighed_kode.to_string(),
        haendelse_at: haendelse.header.forretning_haendelse_dato_tid.to_string(),
        raw: i.call.text(),
        received_at: now,
        deliveries: 1,
        acknowledgement,
    };
    let (kind, about) = (row.haendelse_type.clone(), (tid.clone(), row.cpr.clone()));
    Ok(answer::keep(
        &i,
        now,
        about,
        "event",
        move |tx| {
            let stored = store::store_event(tx, &row)?;
            let detail = detail(&stored, &row);
            Ok((stored, detail))
        },
        |stored| {
            tracing::info!(instance = %r.instance, %tid, haendelse = %kind,
                deliveries = stored.deliveries, acknowledgement = stored.state.as_str(),
                "case event (KSD-10)");
        },
    )
    .await)
}

/// The request row's detail: what became of this delivery and its acknowledgement.
fn detail(stored: &Stored, e: &EventInfo) -> String {
    let ack = match (stored.state, stored.queued) {
        (AnswerState::Never, _) => "never acknowledged (the vendor's policy)",
        (AnswerState::Pending, false) if e.acknowledgement.is_withheld() => {
            "acknowledgement withheld (an injected unacknowledged_event): it goes when KSD delivers the event again"
        }
        (_, false) if e.acknowledgement.is_withheld() => {
            "not acknowledged again (an injected unacknowledged_event)"
        }
        (AnswerState::Pending, true) if stored.deliveries > 1 => {
            "acknowledgement MODTAGET queued: it was withheld before"
        }
        (_, true) if stored.deliveries == 1 => "acknowledgement MODTAGET queued",
        (_, true) => "acknowledgement MODTAGET sent again",
        (_, false) => "acknowledgement still queued",
    };
    if stored.deliveries == 1 {
        format!(
            "first delivery: {} of case {} ({}, VarighedKode {}); {ack}",
            e.haendelse_type, e.sag_id, e.status, e.varighed_kode
        )
    } else {
        format!(
            "repeated delivery #{}; already processed; {ack}",
            stored.deliveries
        )
    }
}
