//! SF2093's receiving leg: an extension request (`ModtagAnmodningForlaengelse`, KSD-11)
//! arriving on a vendor's receiver port, after the port's checks (JC-2, JC-3).
//!
//! The request must be valid and about a case of the municipality in context (JC-3), or it
//! is answered FEJL with every problem and nothing is stored. The policy decides the answer;
//! request, decision and the answer's document and due time are stored and journaled in one
//! commit, and only then is the request answered OK.

use axum::response::Response;
use sim_wire::{Payload, SvarForlaengelse};

use super::{policy, store, svar};
use crate::flows::answer::{self, Stored};
use crate::model::{AnswerState, ExtensionDecision, ExtensionRequestInfo};
use crate::receiver::Inbound;

/// The receiver table's handler of `ModtagAnmodningForlaengelse`: checks, decides, stores
/// and journals one request with its answer, then answers OK (`Err`: the refusal its checks
/// answered with).
pub(crate) async fn receive(i: Inbound) -> Result<Response, Response> {
    let (request, v, now) = answer::about_case(
        &i,
        "AnmodningForlaengelse",
        |p| match p {
            Payload::AnmodningForlaengelse(a) => Some(a),
            _ => None,
        },
        |a| &a.sag,
    )
    .await?;
    let r = &i.receiver;
    let tid = request.header.transaktion_identifikator.to_string();
    // An injected late_extension_answer (fault scenarios) answers after SvarFrist.
    let forced_late =
        r.jc.inner
            .vendor_faults
            .late_extension_answer(&r.instance, &tid);
    let d = policy::decide(
        &v.policy.sf2093,
        r.jc.inner.seed,
        &r.instance,
        &request,
        now,
        forced_late,
    );
    let (extension_end, begrundelse) = match &d.svar {
        Some(SvarForlaengelse::Forlaengelse {
            forlaengelse_slut_dato,
            ..
        }) => (forlaengelse_slut_dato.map(|e| e.to_string()), None),
        Some(SvarForlaengelse::Afvisning { begrundelse }) => (None, Some(begrundelse.clone())),
        None => (None, None),
    };
    let answer_doc = d.svar.clone().zip(d.due).map(|(s, due)| {
        let doc = answer::document(&svar::forretnings_svar(
            &request,
            i.municipality,
            v.system_uuid,
            due,
            s,
        ));
        (doc, due)
    });
    let row = ExtensionRequestInfo {
        transaktion_id: tid.clone(),
        instance: r.instance.clone(),
        municipality: i.municipality.to_string(),
        sag_id: request.sag.sag_identifikator.to_string(),
        cpr: request.sag.sygemeldte_part.to_string(),
        varighedsgraense_dato: request.varighedsgraense_dato.to_string(),
        svar_frist: request.svar_frist.to_string(),
        raw: i.call.text(),
        received_at: now,
        deliveries: 1,
        decision: d.decision,
        extension_end,
        begrundelse,
        late: d.late,
        answer: answer::owed(answer_doc),
    };
    let about = (tid.clone(), row.cpr.clone());
    Ok(answer::keep(
        &i,
        now,
        about,
        "request",
        move |tx| {
            let stored = store::store_request(tx, &row)?;
            let detail = detail(&stored, &row, forced_late);
            Ok((stored, detail))
        },
        |stored| {
            tracing::info!(instance = %r.instance, %tid, decision = stored.kept.as_str(),
                deliveries = stored.deliveries, answer = stored.state.as_str(),
                "extension request (KSD-11)");
        },
    )
    .await)
}

/// The request row's detail: what became of this delivery and its answer (`forced_late`: made
/// late by an injected fault rather than by the policy's `late_share`).
fn detail(
    stored: &Stored<ExtensionDecision>,
    q: &ExtensionRequestInfo,
    forced_late: bool,
) -> String {
    let decision = stored.kept.as_str();
    let why_late = if forced_late {
        "an injected late_extension_answer"
    } else {
        "the vendor's late_share"
    };
    let answer = match (stored.state, stored.queued) {
        (AnswerState::Never, _) => "never answered (the vendor's policy)".to_string(),
        (_, true) if stored.deliveries == 1 => match q.answer.due_at {
            Some(due) if q.late => {
                format!("answer due {due}, after SvarFrist on purpose ({why_late})")
            }
            Some(due) => format!("answer due {due}"),
            None => "answer queued".to_string(),
        },
        (_, true) => "answer sent again".to_string(),
        (_, false) => "answer still queued".to_string(),
    };
    if stored.deliveries == 1 {
        format!(
            "first delivery: case {}, limit {}, SvarFrist {}; decided {decision}; {answer}",
            q.sag_id, q.varighedsgraense_dato, q.svar_frist
        )
    } else {
        format!(
            "repeated delivery #{}; decided {decision} before; {answer}",
            stored.deliveries
        )
    }
}
