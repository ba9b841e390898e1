//! Fault injection inside our own TLS endpoints, at the message and the connection level.
//!
//! A TCP proxy cannot see inside mutual TLS nor answer "FEJL to this operation", so faults
//! live here: every program puts [`apply`] in front of its SOAP handlers, and asks
//! [`Faults::duplicate_delivery`] before finishing an outbox delivery. What to do is decided
//! by a [`FaultHook`] the scenario runner provides (from its seeded fault plan); without one,
//! nothing is injected and the layer costs one branch.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use sim_wire::{Fejl, Operation, Rule, SoapFault, TransportKvittering, TransportValideringsKode};

/// What to do with one incoming request.
#[derive(Debug, Clone, PartialEq)]
pub enum FaultAction {
    /// Handle it normally.
    Pass,
    /// Wait this long (real time), then handle it: a slow receiver, or one that answers after
    /// the caller's deadline.
    Delay(Duration),
    /// Answer with a SOAP fault naming `rule`, without handling the message (a platform
    /// service window is `Rule::Sp9`).
    SoapFault {
        /// The rule the fault names.
        rule: Rule,
        /// Its text.
        text: String,
    },
    /// Answer a TransportKvittering FEJL, without handling the message.
    Fejl {
        /// The rule the Fejl names.
        rule: Rule,
        /// Its text.
        text: String,
    },
    /// Drop the connection without any answer (a connection reset as the caller sees it).
    Reset,
}

/// What a hook is told about a request.
#[derive(Debug, Clone)]
pub struct RequestInfo<'a> {
    /// The program (or vendor instance) receiving it: `sp`, `ksd`, `kmd-jc` ...
    pub program: &'a str,
    /// The operation, from the SOAPAction.
    pub operation: Option<Operation>,
    /// The URL path.
    pub path: &'a str,
}

/// Decides faults; implemented by the scenario runner.
pub trait FaultHook: Send + Sync + 'static {
    /// What to do with an incoming request.
    fn on_request(&self, request: &RequestInfo<'_>) -> FaultAction;

    /// Whether a delivery that just succeeded is sent once more (a duplicate the receiver
    /// must absorb): `program` is the sender, `key` the TransaktionIdentifikator.
    fn duplicate_delivery(&self, program: &str, key: &str) -> bool {
        let _ = (program, key);
        false
    }

    /// How long KSD waits before it sends the business receipt for update `key` (its
    /// TransaktionIdentifikator), when the scenario draws it per update (KSD-2); `None` keeps
    /// KSD's configured delay.
    fn receipt_delay(&self, key: &str) -> Option<std::time::Duration> {
        let _ = key;
        None
    }

    /// The program's virtual now, so that a delayed request carries the time it really
    /// arrived ([`ArrivedAt`]); `None` leaves requests unmarked.
    fn now(&self) -> Option<time::OffsetDateTime> {
        None
    }

    /// Whether a component inside a program is down now (`bf`: the platform's Beskedfordeler
    /// in a `broker_down` window): it refuses to publish and delivers nothing until it is back.
    fn unavailable(&self, component: &str) -> bool {
        let _ = component;
        false
    }
}

/// When a request reached the program, before the fault layer held it back (a request
/// extension, set only for delayed requests). A program journals the request at this time,
/// so that its response times (SP-8) include the slowness a scenario injected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArrivedAt(pub time::OffsetDateTime);

/// A program's fault hook, if any: part of every program's config (never serialised).
#[derive(Clone, Default)]
pub struct Faults(Option<Arc<dyn FaultHook>>);

impl std::fmt::Debug for Faults {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "Faults(hook)"
        } else {
            "Faults(none)"
        })
    }
}

impl Faults {
    /// No faults.
    pub fn none() -> Faults {
        Faults(None)
    }

    /// Faults decided by `hook`.
    pub fn with(hook: Arc<dyn FaultHook>) -> Faults {
        Faults(Some(hook))
    }

    /// See [`FaultHook::receipt_delay`].
    pub fn receipt_delay(&self, key: &str) -> Option<std::time::Duration> {
        self.0.as_ref().and_then(|h| h.receipt_delay(key))
    }

    /// See [`FaultHook::unavailable`].
    pub fn unavailable(&self, component: &str) -> bool {
        self.0.as_ref().is_some_and(|h| h.unavailable(component))
    }

    /// See [`FaultHook::duplicate_delivery`].
    pub fn duplicate_delivery(&self, program: &str, key: &str) -> bool {
        self.0
            .as_ref()
            .is_some_and(|h| h.duplicate_delivery(program, key))
    }
}

/// Marks a response whose connection must be dropped unanswered; `serve` obeys it.
#[derive(Debug, Clone, Copy)]
pub struct ResetConnection;

/// Puts the fault layer in front of `router` for `program`.
pub fn apply(router: Router, program: &str, faults: &Faults) -> Router {
    let Some(hook) = faults.0.clone() else {
        return router;
    };
    let program: Arc<str> = program.into();
    router.layer(axum::middleware::from_fn(
        move |req: Request, next: Next| {
            let (hook, program) = (hook.clone(), program.clone());
            async move {
                let mut req = req;
                let operation = req
                    .headers()
                    .get("soapaction")
                    .and_then(|v| v.to_str().ok())
                    .and_then(Operation::from_soap_action);
                let path = req.uri().path().to_string();
                let action = hook.on_request(&RequestInfo {
                    program: &program,
                    operation,
                    path: &path,
                });
                match action {
                    FaultAction::Pass => next.run(req).await,
                    FaultAction::Delay(d) => {
                        if let Some(t) = hook.now() {
                            req.extensions_mut().insert(ArrivedAt(t));
                        }
                        tokio::time::sleep(d).await;
                        next.run(req).await
                    }
                    FaultAction::SoapFault { rule, text } => {
                        let fault = SoapFault {
                            fault_code: "soap:Server".into(),
                            fault_string: format!("{rule}: {text}"),
                            fault_actor: None,
                            serviceplatform_fault: Some(sim_wire::ServiceplatformFault {
                                errors: vec![sim_wire::ServiceplatformError {
                                    error_code: rule.id().into(),
                                    error_text: text,
                                }],
                            }),
                        };
                        crate::soap::fault_response(&fault)
                    }
                    FaultAction::Fejl { rule, text } => match operation {
                        Some(op) => {
                            let k = TransportKvittering {
                                kode: TransportValideringsKode::Fejl,
                                begrundelse: Some(text.clone()),
                                fejl_liste: vec![Fejl {
                                    fejl_kode: format!("{}.INJICERET", rule.id()),
                                    fejl_tekst: text,
                                }],
                            };
                            let body = sim_wire::ResponseBody::TransportKvittering(k);
                            crate::soap::ok_response(sim_wire::write_response(
                                &sim_wire::Response {
                                    operation: op,
                                    body,
                                },
                            ))
                        }
                        None => (axum::http::StatusCode::BAD_REQUEST, text).into_response(),
                    },
                    FaultAction::Reset => {
                        let mut r = Response::new(axum::body::Body::empty());
                        r.extensions_mut().insert(ResetConnection);
                        r
                    }
                }
            }
        },
    ))
}
