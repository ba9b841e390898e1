//! The receiver port every vendor instance serves at [`crate::JOBCENTER_PATH`]: the checks
//! every received call goes through, whatever its integration, before the flow that handles
//! its operation sees it ([`crate::flows::receiving`]).
//!
//! Order of checks, each answered and journaled on its own:
//! 1. the caller's certificate must be KOMBIT's (JC-2, SP-7) — otherwise a SOAP fault: an
//!    unknown caller learns nothing about the message;
//! 2. the document must be readable and name a receiver operation of the JC port
//!    (`ModtagForretningsSvar`, `ModtagHaendelse`, `ModtagAnmodningForlaengelse`) — otherwise
//!    a fault naming the wire rule;
//! 3. the AuthorityContext must name a municipality this instance serves (JC-3) — otherwise
//!    TransportKvittering FEJL, and nothing is processed;
//! 4. the flow of the operation checks and processes the message: KSD's business receipts
//!    ([`crate::flows::sf2095::receipt`], KSD-2), case events
//!    ([`crate::flows::sf2090::receive`], KSD-10) and extension requests
//!    ([`crate::flows::sf2093::receive`], KSD-11).

use std::sync::Arc;

use axum::extract::State;
use axum::response::Response;
use axum::routing::post;
use axum::Router;
use rusqlite::Transaction;
use sim_certs::SystemIdentity;
use sim_kit::config::peer_text;
use sim_kit::soap::{fault_response, ok_response, SoapCall};
use sim_store::{Direction, Exchange, Journal, JournalEntry, Label, Outcome, Part};
use sim_wire::rules::code;
use sim_wire::{
    transport_kvittering_for, Cvr, DatoTid, Decoded, Operation, Payload, Port, Problem, Rule, Sag,
    SoapFault, TransportKvittering, TransportValideringsKode, Uuid,
};
use time::OffsetDateTime;

use crate::flows;
use crate::state::Jobcenter;
use crate::JOBCENTER_PATH;

/// One instance's receiver port.
pub(crate) struct Receiver {
    pub jc: Jobcenter,
    /// The instance this listener belongs to; decides which municipalities are served.
    pub instance: String,
}

/// The router of one instance's listener.
pub fn router(jc: Jobcenter, instance: String) -> Router {
    Router::new()
        .route(JOBCENTER_PATH, post(handle))
        .fallback(no_such_endpoint)
        .method_not_allowed_fallback(no_such_endpoint)
        .with_state(Arc::new(Receiver { jc, instance }))
}

/// A call that passed the port's checks (1-3), handed to the flow that handles its operation.
pub(crate) struct Inbound {
    /// The port it arrived on.
    pub receiver: Arc<Receiver>,
    /// The call as received.
    pub call: SoapCall,
    /// The caller (KOMBIT, JC-2).
    pub peer: SystemIdentity,
    /// The document, readable but not yet known to be valid.
    pub decoded: Decoded,
    /// Its operation, one the flow handles.
    pub op: Operation,
    /// The municipality of its AuthorityContext, one this instance serves (JC-3).
    pub municipality: Cvr,
}

impl Inbound {
    /// The exchange as far as the document tells (for a rejection's journal rows).
    pub fn exchange(&self) -> Exchange {
        about(&self.call, &self.decoded, Label::request(self.op))
    }

    /// Answers with TransportKvittering FEJL for `problems` (not processed) and journals both.
    pub async fn reject(&self, problems: &[Problem]) -> Response {
        self.receiver
            .reject(&self.call, self.op, self.exchange(), problems)
            .await
    }

    /// The payload `pick` finds in a valid document; otherwise the call is answered FEJL with
    /// every problem (at least one: a document the flow cannot use is never answered OK) and
    /// that answer is the error.
    pub async fn payload<T: Clone>(
        &self,
        what: &str,
        pick: impl Fn(&Payload) -> Option<&T>,
    ) -> Result<T, Response> {
        match self.valid_payload(what, pick) {
            Ok(p) => Ok(p),
            Err(problems) => Err(self.reject(&problems).await),
        }
    }

    /// The payload `pick` finds in a valid document, or every problem to reject it with.
    fn valid_payload<T: Clone>(
        &self,
        what: &str,
        pick: impl Fn(&Payload) -> Option<&T>,
    ) -> Result<T, Vec<Problem>> {
        match self.decoded.request().and_then(|q| pick(&q.payload)) {
            Some(p) if self.decoded.is_valid() => Ok(p.clone()),
            _ => {
                let mut problems: Vec<Problem> = self.decoded.errors().cloned().collect();
                if problems.is_empty() {
                    problems.push(Problem::error(
                        Rule::Wire3,
                        code::MANGLER,
                        self.op.request_element(),
                        format!("no {what} could be read"),
                    ));
                }
                Err(problems)
            }
        }
    }

    /// Stores what a valid call brought and journals the call and its TransportKvittering OK
    /// in one commit, and only then answers OK: an OK the store never saw would make KSD
    /// forget a message nobody has. `store` writes the flow's rows inside that commit and
    /// gives what it found with the request's journal detail; `stored` sees what it found
    /// once committed. The exchange is the message's TransaktionIdentifikator and person
    /// (`tid`, `cpr`) in the municipality of the context. `what` names the message in a
    /// failure ("event").
    pub async fn keep<T, F>(
        &self,
        at: OffsetDateTime,
        (tid, cpr): (String, String),
        what: &str,
        store: F,
        stored: impl FnOnce(T),
    ) -> Response
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> rusqlite::Result<(T, String)> + Send + 'static,
    {
        let kvittering = transport_kvittering_for(&self.decoded.problems);
        let answer = kvittering_response(self.op, kvittering.clone());
        let exchange = Exchange {
            label: Label::request(self.op),
            transaktion_id: Some(tid),
            call_uuid: None,
            peer: Some(peer_text(&self.peer)),
            municipality: Some(self.municipality.to_string()),
            cpr: Some(cpr),
        };
        let (inbound, outbound) = answered(
            &exchange,
            at,
            kvittering.kode,
            None,
            self.call.text(),
            &answer,
        );
        let written = self
            .receiver
            .jc
            .inner
            .db
            .write(move |tx| {
                let (found, detail) = store(tx)?;
                let inbound = JournalEntry {
                    detail: Some(detail),
                    ..inbound
                };
                Journal::record_in(tx, &inbound)?;
                Journal::record_in(tx, &outbound)?;
                Ok(found)
            })
            .await;
        match written {
            Ok(found) => {
                stored(found);
                ok_response(answer)
            }
            Err(e) => {
                // Not stored, so not OK: KSD keeps it and delivers again (SP-13: the platform
                // passes this answer back to KSD's outbox).
                tracing::error!(error = %e, "could not store the {what}");
                self.receiver
                    .unavailable(&format!("The jobcenter could not store the {what}: {e}"))
            }
        }
    }

    /// JC-3 for a message about a case: the case must belong to the municipality in context,
    /// or the instance would take another municipality's data as this one's. `path` names
    /// the case's Myndighed in the message.
    pub fn case_in_context(&self, sag: &Sag, path: &str) -> Result<(), Problem> {
        if sag.myndighed == self.municipality {
            return Ok(());
        }
        Err(Problem::error(
            Rule::Jc3,
            code::UOVERENSSTEMMELSE,
            path,
            format!(
                "the case belongs to municipality {}, not to {} of the security context; nothing was processed",
                sag.myndighed, self.municipality
            ),
        ))
    }
}

/// An exchange about a request whose content could not be (or was not) read.
fn unknown(call: &SoapCall, label: Label) -> Exchange {
    Exchange {
        label,
        transaktion_id: None,
        call_uuid: None,
        peer: call.peer.as_ref().map(peer_text),
        municipality: None,
        cpr: None,
    }
}

/// An exchange about a readable document: what its header and context tell.
fn about(call: &SoapCall, decoded: &Decoded, label: Label) -> Exchange {
    Exchange {
        transaktion_id: decoded.transaktion_id.map(|t| t.to_string()),
        municipality: decoded
            .authority_context
            .as_ref()
            .map(|a| a.municipality_cvr.to_string()),
        cpr: decoded.sygemeldte_part.map(|c| c.to_string()),
        ..unknown(call, label)
    }
}

/// The TransportKvittering document answering `op`.
pub(crate) fn kvittering_response(op: Operation, k: TransportKvittering) -> String {
    sim_wire::write_response(&sim_wire::Response {
        operation: op,
        body: sim_wire::ResponseBody::TransportKvittering(k),
    })
}

/// The journal rows of a request answered with a TransportKvittering of code `kode`: the
/// request in (with `detail`), the answer out.
pub(crate) fn answered(
    exchange: &Exchange,
    at: OffsetDateTime,
    kode: TransportValideringsKode,
    detail: Option<String>,
    request: String,
    answer: &str,
) -> (JournalEntry, JournalEntry) {
    let outcome = Outcome::from(kode);
    (
        exchange.entry(
            at,
            Direction::In,
            Part::Request,
            outcome.clone(),
            detail,
            request,
        ),
        exchange.entry(
            at,
            Direction::Out,
            Part::Response,
            outcome,
            None,
            answer.to_string(),
        ),
    )
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

    /// Answers with a SOAP fault naming `rule` (the ecosystem's one refusal) and journals
    /// request and fault under a call id of this instance's stream.
    async fn refuse(&self, call: &SoapCall, about: Exchange, rule: Rule, text: String) -> Response {
        let call_uuid = self.call_uuid();
        let exchange = Exchange {
            call_uuid: Some(call_uuid.to_string()),
            ..about
        };
        let detail = Some(format!("{}: {text}", self.instance));
        let now = self.jc.inner.clock.now();
        sim_kit::soap::refuse(
            &self.jc.inner.journal,
            &exchange,
            now,
            now,
            call_uuid,
            true,
            rule,
            &text,
            detail,
            call.text(),
        )
        .await
    }

    /// Answers with TransportKvittering FEJL (not processed) and journals both.
    async fn reject(
        &self,
        call: &SoapCall,
        op: Operation,
        exchange: Exchange,
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
        let (request, response) = answered(
            &exchange,
            self.jc.inner.clock.now(),
            k.kode,
            Some(format!("{}: {detail}", self.instance)),
            call.text(),
            &answer,
        );
        self.jc
            .inner
            .journal
            .record_all(vec![request, response])
            .await;
        ok_response(answer)
    }

    /// The fault for a call that could not be processed for the receiver's own trouble (its
    /// store failed): a server fault, not journaled (the journal shares the failed store),
    /// and no OK, so the sender (KSD, through the pass-through platform) delivers it again.
    pub fn unavailable(&self, text: &str) -> Response {
        let fault = SoapFault::serviceplatform(
            false,
            Rule::Jc2,
            text,
            self.call_uuid(),
            DatoTid(self.jc.inner.clock.now()),
        );
        fault_response(&fault)
    }

    /// Check 1, JC-2: only KOMBIT's certificate (the platform, SP-7) may call; anyone else
    /// is refused with a fault before the document is read.
    async fn admit(&self, call: &SoapCall) -> Result<SystemIdentity, Response> {
        match &call.peer {
            Some(id) if self.jc.inner.kombit.matches(id) => Ok(id.clone()),
            other => {
                let who = other
                    .as_ref()
                    .map_or_else(|| "an unidentified caller".to_string(), peer_text);
                let text = format!(
                    "{who} may not call this jobcenter solution: only KOMBIT's certificate (CVR {}) is accepted.",
                    self.jc.inner.kombit.cvr
                );
                let label = call
                    .soap_action
                    .as_deref()
                    .and_then(Operation::from_soap_action)
                    .map_or_else(|| Label::unknown(Port::Jc), Label::request);
                Err(self
                    .refuse(call, unknown(call, label), Rule::Jc2, text)
                    .await)
            }
        }
    }

    /// Check 3, JC-3: the municipality the call is about, if this instance serves it; the
    /// AuthorityContext decides (SP-2), not the payload.
    fn served(&self, decoded: &Decoded) -> Result<Cvr, Problem> {
        let Some(municipality) = decoded
            .authority_context
            .as_ref()
            .map(|a| a.municipality_cvr)
        else {
            return Err(Problem::error(
                Rule::Sp7,
                code::MANGLER,
                "AuthorityContext",
                "the platform's call must name the municipality in an AuthorityContext",
            ));
        };
        let served = self
            .jc
            .vendor(&self.instance)
            .map(|v| v.serves(&municipality))
            .unwrap_or(false);
        if !served {
            return Err(Problem::error(
                Rule::Jc3,
                code::VAERDI,
                "AuthorityContext/MunicipalityCVR",
                format!(
                    "municipality {municipality} is not served by jobcenter solution '{}'; nothing was processed",
                    self.instance
                ),
            ));
        }
        Ok(municipality)
    }
}

/// Anything posted elsewhere than the receiver port: a fault, journaled (nothing is
/// dropped silently).
async fn no_such_endpoint(
    State(r): State<Arc<Receiver>>,
    method: axum::http::Method,
    uri: axum::http::Uri,
    call: SoapCall,
) -> Response {
    let text = format!(
        "No service for {method} {}; this jobcenter solution serves POST {JOBCENTER_PATH} (SOAP 1.1).",
        uri.path()
    );
    // Not an operation at all: the label names what was asked for, as it always has.
    let label = Label::endpoint(uri.path());
    r.refuse(&call, unknown(&call, label), Rule::Wire1, text)
        .await
}

/// One call on the receiver port: checks 1-3, then the flow of its operation.
async fn handle(State(r): State<Arc<Receiver>>, call: SoapCall) -> Response {
    // 1. JC-2: only KOMBIT may call.
    let peer = match r.admit(&call).await {
        Ok(peer) => peer,
        Err(refused) => return refused,
    };

    // 2. A readable document naming a receiver operation of this port.
    let decoded = match call.read() {
        Ok(d) => d,
        Err(e) => {
            let text = format!("The request is not a usable SOAP 1.1 message: {e}");
            let exchange = unknown(&call, Label::unknown(Port::Jc));
            return r.refuse(&call, exchange, e.rule(), text).await;
        }
    };
    let (op, flow) = match decoded.operation.map(|op| (op, flows::receiving(op))) {
        Some((op, Some(flow))) => (op, flow),
        other => {
            let op = other.map(|(op, _)| op);
            let label = Label::claimed(op);
            let text = format!(
                "{label} is not an operation of a jobcenter's receiver port {JOBCENTER_PATH}."
            );
            let exchange = about(&call, &decoded, label);
            return r.refuse(&call, exchange, Rule::Wire1, text).await;
        }
    };

    // 3. JC-3: only for a municipality this instance serves.
    let municipality = match r.served(&decoded) {
        Ok(m) => m,
        Err(p) => {
            let exchange = about(&call, &decoded, Label::request(op));
            return r.reject(&call, op, exchange, &[p]).await;
        }
    };
    flow(Inbound {
        receiver: r,
        call,
        peer,
        decoded,
        op,
        municipality,
    })
    .await
}
