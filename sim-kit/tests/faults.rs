//! The fault layer over real mTLS: each action does what the scenario runner asks of it —
//! delay, SOAP fault (e.g. an SP-9 service window), FEJL without processing, a dropped
//! connection — and a request it passes reaches the handler.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::routing::post;
use axum::Router;
use common::*;
use sim_kit::faults::{apply, FaultAction, FaultHook, Faults, RequestInfo};
use sim_kit::soap::{ok_response, SoapClient};
use sim_wire::{Operation, Rule, TransportValideringsKode};

/// Answers each request with the next scripted action and remembers what it was told.
struct Script {
    actions: Mutex<Vec<FaultAction>>,
    seen: Mutex<Vec<(String, Option<Operation>)>>,
}

impl FaultHook for Script {
    fn on_request(&self, r: &RequestInfo<'_>) -> FaultAction {
        self.seen
            .lock()
            .unwrap()
            .push((r.program.to_string(), r.operation));
        let mut a = self.actions.lock().unwrap();
        if a.is_empty() {
            FaultAction::Pass
        } else {
            a.remove(0)
        }
    }
}

#[tokio::test]
async fn each_fault_action_does_what_it_says() {
    let pki = Pki::new();
    let handled = Arc::new(AtomicUsize::new(0));
    let h = handled.clone();
    let op = Operation::ModtagOpdateringFravaer;
    let ok = sim_wire::write(&sim_wire::Message::Response(sim_wire::examples::response(
        op,
    )));
    let router = Router::new().route(
        "/ksd",
        post(move || {
            let (h, ok) = (h.clone(), ok.clone());
            async move {
                h.fetch_add(1, Ordering::SeqCst);
                ok_response(ok)
            }
        }),
    );
    let script = Arc::new(Script {
        actions: Mutex::new(vec![
            FaultAction::Delay(Duration::from_millis(20)),
            FaultAction::SoapFault {
                rule: Rule::Sp9,
                text: "service window".into(),
            },
            FaultAction::Fejl {
                rule: Rule::Ksd1,
                text: "injected".into(),
            },
            FaultAction::Reset,
        ]),
        seen: Mutex::new(vec![]),
    });
    let router = apply(router, "ksd", &Faults::with(script.clone()));
    let server = start(pki.server_tls(None), router).await;
    let client = SoapClient::new(pki.client(Some(pki.system("kombit"))));
    let body = sim_wire::write(&sim_wire::Message::Request(sim_wire::examples::request(op)));
    let url = server.url("/ksd");

    let delayed = client
        .call(&url, &op.soap_action(), body.clone())
        .await
        .unwrap();
    assert_eq!(
        delayed.transport_kvittering().unwrap().kode,
        TransportValideringsKode::Ok
    );
    assert_eq!(
        handled.load(Ordering::SeqCst),
        1,
        "a delay still handles the message"
    );

    let fault = client
        .call(&url, &op.soap_action(), body.clone())
        .await
        .unwrap();
    assert_eq!(fault.status, 500);
    assert_eq!(
        fault.fault().unwrap().rule(),
        Some(Rule::Sp9),
        "rule SP-9: service window fault"
    );

    let fejl = client
        .call(&url, &op.soap_action(), body.clone())
        .await
        .unwrap();
    let k = fejl.transport_kvittering().unwrap();
    assert_eq!(k.kode, TransportValideringsKode::Fejl);
    assert!(k.fejl_liste[0].fejl_kode.starts_with("KSD-1"));

    assert!(
        client
            .call(&url, &op.soap_action(), body.clone())
            .await
            .is_err(),
        "reset: no answer at all"
    );
    assert_eq!(
        handled.load(Ordering::SeqCst),
        1,
        "fault, FEJL and reset do not handle the message"
    );

    let passed = client.call(&url, &op.soap_action(), body).await.unwrap();
    assert_eq!(passed.status, 200);
    assert_eq!(handled.load(Ordering::SeqCst), 2);
    let seen = script.seen.lock().unwrap();
    assert!(
        seen.iter().all(|(p, o)| p == "ksd" && *o == Some(op)),
        "{seen:?}"
    );
}
