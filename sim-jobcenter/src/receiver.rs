//! The receiver port every vendor instance serves at [`crate::JOBCENTER_PATH`] (JC-2).
//!
//! Order of checks, each answered and journaled on its own:
//! 1. the caller's certificate must be KOMBIT's (JC-2, SP-7) — otherwise a SOAP fault: an
//!    unknown caller learns nothing about the message;
//! 2. the document must be readable and name a receiver operation of the JC port — otherwise
//!    a fault naming the wire rule; `ModtagHaendelse` and `ModtagAnmodningForlaengelse` get a
//!    "not supported yet" fault (KSD-10, KSD-11 are not simulated yet);
//! 3. the AuthorityContext must name a municipality this instance serves (JC-3) — otherwise
//!    TransportKvittering FEJL, and nothing is processed;
//! 4. the message must be valid — otherwise FEJL with every problem;
//! 5. the receipt is stored, correlated and journaled in one commit, and only then OK.

use std::sync::Arc;

use axum::extract::State;
use axum::response::Response;
use axum::routing::post;
use axum::Router;
use sim_kit::config::peer_text;
use sim_kit::soap::{fault_response, ok_response, SoapCall};
use sim_store::{unix_millis, Direction, Journal};
use sim_wire::rules::code;
use sim_wire::{
    transport_kvittering_for, Caller, DatoTid, Operation, Payload, Port, Problem, Rule, SoapFault,
    TransportKvittering, Uuid,
};

use crate::state::Jobcenter;
use crate::JOBCENTER_PATH;

/// One instance's receiver port.
struct Receiver {
    jc: Jobcenter,
    /// The instance this listener belongs to; decides which municipalities are served.
    instance: String,
}

/// The router of one instance's listener.
pub fn router(jc: Jobcenter, instance: String) -> Router {
    Router::new()
        .route(JOBCENTER_PATH, post(handle))
        .fallback(no_such_endpoint)
        .with_state(Arc::new(Receiver { jc, instance }))
}

/// What a refusal or rejection is about, for the journal.
struct About {
    operation: String,
    transaktion_id: Option<String>,
    municipality: Option<String>,
    cpr: Option<String>,
}

impl About {
    fn unknown(operation: &str) -> About {
        About {
            operation: operation.to_string(),
            transaktion_id: None,
            municipality: None,
            cpr: None,
        }
    }
}

impl Receiver {
    fn call_uuid(&self) -> Uuid {
        match self.jc.vendor(&self.instance) {
            Ok(v) => v.calls.next_uuid(),
            // Cannot happen (the router is built per configured instance); a nil-like id
            // still lets the fault be written.
            Err(_) => Uuid::from_bytes([0; 16]),
        }
    }

    /// Answers with a SOAP fault naming `rule` (the platform's fault shape, so checkers read
    /// the rule the same way everywhere) and journals request and fault.
    async fn refuse(&self, call: &SoapCall, about: About, rule: Rule, text: String) -> Response {
        let call_uuid = self.call_uuid();
        let fault = SoapFault::serviceplatform(
            true,
            rule,
            &text,
            call_uuid,
            DatoTid(self.jc.inner.clock.now()),
        );
        tracing::info!(instance = %self.instance, rule = rule.id(), %text, "refused");
        let peer = call.peer.as_ref().map(peer_text);
        let outcome = format!("FAULT:{rule}");
        let entries = vec![
            self.jc.entry(
                Direction::In,
                about.operation.clone(),
                about.transaktion_id.clone(),
                Some(call_uuid.to_string()),
                peer.clone(),
                about.municipality.clone(),
                about.cpr.clone(),
                outcome.clone(),
                Some(format!("{}: {text}", self.instance)),
                call.text(),
            ),
            self.jc.entry(
                Direction::Out,
                format!("{}#fault", about.operation),
                about.transaktion_id,
                Some(call_uuid.to_string()),
                peer,
                about.municipality,
                about.cpr,
                outcome,
                None,
                sim_wire::write_fault(&fault),
            ),
        ];
        self.jc.journal_all(entries).await;
        fault_response(&fault)
    }

    /// Answers with TransportKvittering FEJL (not processed) and journals both.
    async fn reject(
        &self,
        call: &SoapCall,
        op: Operation,
        about: About,
        problems: &[Problem],
    ) -> Response {
        let k = transport_kvittering_for(problems);
        let detail = problems
            .iter()
            .filter(|p| p.is_error())
            .map(|p| format!("{}: {}", p.fejl_kode(), p.text))
            .collect::<Vec<_>>()
            .join("; ");
        tracing::info!(instance = %self.instance, %detail, "rejected (FEJL)");
        let answer = kvittering_response(op, k.clone());
        let peer = call.peer.as_ref().map(peer_text);
        let entries = vec![
            self.jc.entry(
                Direction::In,
                about.operation.clone(),
                about.transaktion_id.clone(),
                None,
                peer.clone(),
                about.municipality.clone(),
                about.cpr.clone(),
                k.kode.to_string(),
                Some(format!("{}: {detail}", self.instance)),
                call.text(),
            ),
            self.jc.entry(
                Direction::Out,
                format!("{}#response", about.operation),
                about.transaktion_id,
                None,
                peer,
                about.municipality,
                about.cpr,
                k.kode.to_string(),
                None,
                answer.clone(),
            ),
        ];
        self.jc.journal_all(entries).await;
        ok_response(answer)
    }
}

fn kvittering_response(op: Operation, k: TransportKvittering) -> String {
    sim_wire::write_response(&sim_wire::Response {
        operation: op,
        body: sim_wire::ResponseBody::TransportKvittering(k),
    })
}

/// Anything posted elsewhere than the receiver port: a fault, journaled (nothing is
/// dropped silently).
async fn no_such_endpoint(
    State(r): State<Arc<Receiver>>,
    uri: axum::http::Uri,
    call: SoapCall,
) -> Response {
    let text = format!(
        "No service at {}; this jobcenter solution serves {JOBCENTER_PATH}.",
        uri.path()
    );
    r.refuse(
        &call,
        About::unknown(&format!("POST {}", uri.path())),
        Rule::Wire1,
        text,
    )
    .await
}

/// One call on the receiver port.
async fn handle(State(r): State<Arc<Receiver>>, call: SoapCall) -> Response {
    // 1. JC-2: only KOMBIT's certificate (the platform, SP-7) may call.
    let peer = match &call.peer {
        Some(id) if r.jc.inner.kombit.matches(id) => id.clone(),
        other => {
            let who = other
                .as_ref()
                .map_or_else(|| "an unidentified caller".to_string(), peer_text);
            let text = format!(
                "{who} may not call this jobcenter solution: only KOMBIT's certificate (CVR {}) is accepted.",
                r.jc.inner.kombit.cvr
            );
            let label = call
                .soap_action
                .as_deref()
                .and_then(Operation::from_soap_action)
                .map_or_else(|| "JC/?".to_string(), |o| o.label());
            return r
                .refuse(&call, About::unknown(&label), Rule::Jc2, text)
                .await;
        }
    };

    // 2. A readable document naming a receiver operation of this port.
    let decoded = match call.read() {
        Ok(d) => d,
        Err(e) => {
            let text = format!("The request is not a usable SOAP 1.1 message: {e}");
            return r
                .refuse(&call, About::unknown("JC/?"), e.rule(), text)
                .await;
        }
    };
    let about = |op: String| About {
        operation: op,
        transaktion_id: decoded.transaktion_id.map(|t| t.to_string()),
        municipality: decoded
            .authority_context
            .as_ref()
            .map(|a| a.municipality_cvr.to_string()),
        cpr: decoded.sygemeldte_part.map(|c| c.to_string()),
    };
    let op = match decoded.operation {
        Some(op @ Operation::ModtagForretningsSvarJc) => op,
        // TODO(rule KSD-10): accept SF2090 events, keep the case state, acknowledge with
        // SendForretningsSvar through the platform.
        Some(op @ Operation::ModtagHaendelse) => {
            let text = format!(
                "{} is not supported yet by this simulated jobcenter.",
                op.name()
            );
            return r.refuse(&call, about(op.label()), Rule::Ksd10, text).await;
        }
        // TODO(rule KSD-11): answer extension requests with SendForretningsSvarForlaengelse.
        Some(op @ Operation::ModtagAnmodningForlaengelse) => {
            let text = format!(
                "{} is not supported yet by this simulated jobcenter.",
                op.name()
            );
            return r.refuse(&call, about(op.label()), Rule::Ksd11, text).await;
        }
        other => {
            let name = other.map_or_else(|| "a fault".to_string(), |o| o.label());
            let text = format!(
                "{name} is not an operation of a jobcenter's receiver port {JOBCENTER_PATH}."
            );
            return r.refuse(&call, about(name), Rule::Wire1, text).await;
        }
    };
    debug_assert!(op.port() == Port::Jc && op.caller() == Caller::Platform);
    let label = op.label();

    // 3. JC-3: only for a municipality this instance serves; the context decides (SP-2).
    let Some(municipality) = decoded
        .authority_context
        .as_ref()
        .map(|a| a.municipality_cvr)
    else {
        let p = Problem::error(
            Rule::Sp7,
            code::MANGLER,
            "AuthorityContext",
            "the platform's call must name the municipality in an AuthorityContext",
        );
        return r.reject(&call, op, about(label), &[p]).await;
    };
    let served =
        r.jc.vendor(&r.instance)
            .map(|v| v.serves(&municipality))
            .unwrap_or(false);
    if !served {
        let p = Problem::error(
            Rule::Jc3,
            code::VAERDI,
            "AuthorityContext/MunicipalityCVR",
            format!(
                "municipality {municipality} is not served by jobcenter solution '{}'; nothing was processed",
                r.instance
            ),
        );
        return r.reject(&call, op, about(label), &[p]).await;
    }

    // 4. A valid ForretningsSvar.
    let svar = match decoded.request().map(|q| &q.payload) {
        Some(Payload::ForretningsSvar(s)) if decoded.is_valid() => s.clone(),
        _ => {
            let mut problems: Vec<Problem> = decoded.errors().cloned().collect();
            if problems.is_empty() {
                problems.push(Problem::error(
                    Rule::Wire3,
                    code::MANGLER,
                    op.request_element(),
                    "no ForretningsSvar could be read",
                ));
            }
            return r.reject(&call, op, about(label), &problems).await;
        }
    };

    // 5. Store, correlate and journal in one commit, then answer.
    let kvittering = transport_kvittering_for(&decoded.problems);
    let answer = kvittering_response(op, kvittering.clone());
    let tid = svar.header.transaktion_identifikator.to_string();
    let m = municipality.to_string();
    let cpr = svar.header.sygemeldte_part.to_string();
    let code = svar.kvittering.kode.to_string();
    let now = r.jc.inner.clock.now();
    let peer_s = peer_text(&peer);
    let mut inbound = r.jc.entry(
        Direction::In,
        label.clone(),
        Some(tid.clone()),
        None,
        Some(peer_s.clone()),
        Some(m.clone()),
        Some(cpr.clone()),
        kvittering.kode.to_string(),
        None,
        call.text(),
    );
    let outbound = r.jc.entry(
        Direction::Out,
        format!("{label}#response"),
        Some(tid.clone()),
        None,
        Some(peer_s),
        Some(m.clone()),
        Some(cpr),
        kvittering.kode.to_string(),
        None,
        answer.clone(),
    );
    let row = (
        tid.clone(),
        r.instance.clone(),
        m,
        code.clone(),
        svar.kvittering.begrundelse.clone(),
        call.text(),
        unix_millis(now),
    );
    let instance = r.instance.clone();
    let stored =
        r.jc.inner
            .db
            .write(move |tx| {
                let (tid, inst, m, code, begr, raw, at) = row;
                let deliveries: i64 = tx
                    .prepare_cached(
                        "INSERT INTO jc_receipts (transaktion_id, instance, municipality, code,
                     begrundelse, raw, received_at, last_received_at, deliveries)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, 1)
                 ON CONFLICT(transaktion_id) DO UPDATE
                     SET deliveries = deliveries + 1, last_received_at = excluded.last_received_at
                 RETURNING deliveries",
                    )?
                    .query_row(rusqlite::params![tid, inst, m, code, begr, raw, at], |x| {
                        x.get(0)
                    })?;
                let first = deliveries == 1;
                let sender: Option<String> = if first {
                    tx.prepare_cached(
                        "UPDATE jc_updates SET business_code = ?2, business_at = ?3
                     WHERE transaktion_id = ?1 AND business_code IS NULL
                     RETURNING instance",
                    )?
                    .query_row(rusqlite::params![tid, code, at], |x| x.get(0))
                    .or_else(|e| match e {
                        rusqlite::Error::QueryReturnedNoRows => Ok(None),
                        e => Err(e),
                    })?
                } else {
                    None
                };
                inbound.detail = Some(if first {
                    match &sender {
                        Some(s) if *s == instance => format!("first receipt {code}; correlated"),
                        Some(s) => {
                            format!("first receipt {code}; correlated with an update sent by {s}")
                        }
                        None => format!(
                        "first receipt {code}; no update of ours has this TransaktionIdentifikator"
                    ),
                    }
                } else {
                    format!("repeated delivery #{deliveries}; already processed")
                });
                Journal::record_in(tx, &inbound)?;
                Journal::record_in(tx, &outbound)?;
                Ok(deliveries)
            })
            .await;
    match stored {
        Ok(deliveries) => {
            tracing::info!(instance = %r.instance, %tid, %code, deliveries, "business receipt");
            if deliveries == 1 {
                r.jc.inner
                    .stored_receipts
                    .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
            r.jc.inner.receipts.send_modify(|n| *n += 1);
            ok_response(answer)
        }
        Err(e) => {
            // Not stored, so not OK: the platform keeps it and delivers again.
            tracing::error!(error = %e, "could not store a business receipt");
            let text = format!("The jobcenter could not store the receipt: {e}");
            let call_uuid = r.call_uuid();
            let fault = SoapFault::serviceplatform(
                false,
                Rule::Jc2,
                &text,
                call_uuid,
                DatoTid(r.jc.inner.clock.now()),
            );
            fault_response(&fault)
        }
    }
}
