//! Swap-in: a vendor's receiver seat taken by a foreign HTTPS server with a certificate from
//! its own CA (as a real jobcenter system would be). The platform, trusting that CA too,
//! delivers the receipts for that vendor's municipalities to it, calling with KOMBIT's
//! certificate and the municipality in the AuthorityContext (SP-2, SP-3, SP-7, JC-2).

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::routing::post;
use common::*;
use sim_jobcenter::{UpdateSpec, UpdateStatus};
use sim_kit::soap::{ok_response, SoapCall};
use sim_wire::{
    Message, Operation, Payload, Response, ResponseBody, TransportKvittering,
    TransportValideringsKode,
};

/// What the foreign system saw: (caller CVR, operation, municipality, TransaktionIdentifikator).
type Seen = Arc<Mutex<Vec<(String, String, String, String)>>>;

async fn foreign_receiver(
    axum::extract::State(seen): axum::extract::State<Seen>,
    call: SoapCall,
) -> axum::response::Response {
    let d = call.read().expect("a readable SOAP message");
    let req = d.request().expect("a request").clone();
    let Payload::ForretningsSvar(svar) = &req.payload else {
        panic!("{req:?}")
    };
    seen.lock().unwrap().push((
        call.peer
            .as_ref()
            .map(|p| p.cvr.as_str().to_string())
            .unwrap_or_default(),
        req.operation.label(),
        req.authority_context
            .as_ref()
            .map(|a| a.municipality_cvr.to_string())
            .unwrap_or_default(),
        svar.header.transaktion_identifikator.to_string(),
    ));
    let answer = Response {
        operation: req.operation,
        body: ResponseBody::TransportKvittering(TransportKvittering {
            kode: TransportValideringsKode::Ok,
            begrundelse: None,
            fejl_liste: vec![],
        }),
    };
    ok_response(sim_wire::write(&Message::Response(answer)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_foreign_server_in_a_vendor_seat_receives_that_vendors_receipts() {
    sim_kit::install_crypto_provider();
    let foreign_dir = tempfile::tempdir().unwrap();
    let now = sim_store::Clock::real().now();
    // The foreign system's own PKI: nothing shared with the simulator's.
    let pki = sim_certs::TestPki::generate(now).unwrap();
    let server = pki
        .issue_server(
            &sim_certs::ServerSpec::for_service("foreign", "foreign jobcenter system"),
            now,
        )
        .unwrap();
    let (root, chain, key) = (
        foreign_dir.path().join("root.pem"),
        foreign_dir.path().join("chain.pem"),
        foreign_dir.path().join("key.pem"),
    );
    std::fs::write(&root, &pki.root.cert_pem).unwrap();
    std::fs::write(&chain, &server.chain_pem).unwrap();
    std::fs::write(&key, &server.key_pem).unwrap();

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "https://{}/real-jobcenter/ws",
        listener.local_addr().unwrap()
    );
    let root_for_eco = root.clone();
    let url_for_eco = url.clone();
    let eco = Eco::start_with(move |c| {
        c.instance_urls.insert("netcompany-jc".into(), url_for_eco);
        c.extra_server_trust.push(root_for_eco);
    })
    .await;

    // The foreign server trusts the simulator's CA for its callers (KOMBIT).
    let seen: Seen = Arc::default();
    let tls = sim_kit::config::server_tls(
        &sim_kit::config::IdentityFiles { cert: chain, key },
        std::slice::from_ref(&eco.running.endpoints.root_ca),
    )
    .unwrap();
    let router = axum::Router::new()
        .route("/real-jobcenter/ws", post(foreign_receiver))
        .with_state(seen.clone());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(sim_kit::serve(listener, tls, router, async {
        let _ = stopped.await;
    }));

    let mut tids = Vec::new();
    for m in eco
        .refdata
        .municipalities_of("netcompany-jc")
        .into_iter()
        .take(3)
    {
        let sent = eco
            .running
            .jobcenter()
            .send_update(UpdateSpec {
                instance: Some("netcompany-jc".into()),
                municipality: Some(m.to_string()),
                ..UpdateSpec::default()
            })
            .await
            .unwrap();
        assert_eq!(sent.status, UpdateStatus::Accepted, "{sent:?}");
        tids.push((m.to_string(), sent.transaktion_id));
    }
    let seen_now = seen.clone();
    let got = eco
        .eventually("the foreign server to receive every receipt", || {
            let s = seen_now.clone();
            let n = tids.len();
            async move {
                let v = s.lock().unwrap().clone();
                (v.len() >= n).then_some(v)
            }
        })
        .await;
    for (m, tid) in &tids {
        let hit = got
            .iter()
            .find(|(_, _, _, t)| t == tid)
            .unwrap_or_else(|| panic!("{tid} not received: {got:?}"));
        assert_eq!(
            hit.0, "19435075",
            "rule SP-7: the platform calls with KOMBIT's certificate"
        );
        assert_eq!(hit.1, Operation::ModtagForretningsSvarJc.label());
        assert_eq!(
            &hit.2, m,
            "rule SP-2: the municipality in the AuthorityContext"
        );
    }
    // The simulated netcompany-jc receiver got nothing: the seat is the foreign server's.
    assert!(eco
        .running
        .jobcenter()
        .wait_for_receipt(&tids[0].1, Duration::from_millis(300))
        .await
        .is_none());
    let _ = stop.send(());
    server.await.unwrap().unwrap();
    eco.running.stop().await.unwrap();
}
