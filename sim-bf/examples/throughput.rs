//! Publish → pull → ack throughput and publish-to-processed latency of the Beskedfordeler,
//! embedded and RabbitMQ side by side in one run (issue 13's figures). Not a test: it measures
//! real time.
//!
//! ```text
//! cargo run --release -p sim-bf --example throughput -- embedded 3000
//! SIM_TEST_AMQP_URL=amqp://guest:guest@127.0.0.1:5672/BF \
//!   cargo run --release -p sim-bf --example throughput -- both 3000
//! ```
//!
//! Per backend: one pull subscription (KSD), one person on its value list; N SP-11 messages
//! published one after another (as the STAR job does) while a puller fetches batches of up to
//! 100 and acks them (HTTPS with mTLS to the embedded broker, AMQP basic.get/ack to RabbitMQ).
//! Latency is from the start of a message's `publish` to its ack returning.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sim_bf::client::{AmqpPuller, BfClient, EmbeddedPuller, Puller};
use sim_bf::{Beskedfordeler, BfConfig, Broker, NewSubscription};
use sim_certs::store::{ensure, layout};
use sim_wire::besked::{self, Haendelsesbesked, Sygemeldingsstatus};
use sim_wire::{Cpr, Uuid};

fn uuid() -> Uuid {
    Uuid::from_uuid(uuid::Uuid::new_v4())
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let backend = args.next().unwrap_or_else(|| "embedded".into());
    let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(2000);
    sim_kit::install_crypto_provider();
    let backends: Vec<&str> = match backend.as_str() {
        "both" => vec!["embedded", "amqp"],
        b => vec![if b == "amqp" { "amqp" } else { "embedded" }],
    };
    for b in backends {
        measure(b, n).await;
    }
}

async fn measure(backend: &str, n: usize) {
    let dir = tempfile::tempdir().unwrap();
    let vendors = sim_certs::parse_vendors_csv("instance,vendor,cvr,name\n").unwrap();
    let clock = sim_store::Clock::real();
    ensure(
        dir.path(),
        &sim_certs::PkiSpec::standard(&vendors, false),
        clock.now(),
        false,
    )
    .unwrap();
    let root = layout::root_ca(dir.path());
    let files = |stem: &str| {
        let f = layout::system(dir.path(), stem);
        sim_kit::config::IdentityFiles {
            cert: f.chain,
            key: f.key,
        }
    };
    let server = layout::server(dir.path(), "sp");
    let mut cfg = BfConfig::embedded(dir.path().join("state"));
    if backend == "amqp" {
        cfg.broker = Broker::Amqp {
            url: std::env::var("SIM_TEST_AMQP_URL").expect("SIM_TEST_AMQP_URL"),
        };
    }
    cfg.seed = u64::from(uuid().as_uuid().as_fields().0);
    let bf = Beskedfordeler::open(cfg, clock.clone(), Arc::new(|_| true))
        .await
        .unwrap();
    let tls = sim_kit::config::server_tls(
        &sim_kit::config::IdentityFiles {
            cert: server.chain,
            key: server.key,
        },
        std::slice::from_ref(&root),
    )
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(sim_kit::serve(
        listener,
        tls,
        bf.data_router(),
        std::future::pending(),
    ));
    let sub = bf
        .create_subscription(NewSubscription {
            subscriber_cvr: "19435075".into(),
            beskedtype: None,
            value_list: None,
            push_url: None,
            id: None,
        })
        .await
        .unwrap();
    let http = sim_kit::config::client(&files("ksd"), &[root], std::time::Duration::from_secs(30))
        .unwrap();
    let client = BfClient::new(
        http,
        format!("https://localhost:{port}{}", besked::PLATFORM_PATH),
    );
    let person: Cpr = "0101701234".parse().unwrap();
    client
        .vaerdiliste_tilfoej(besked::VAERDILISTE_SYGEMELDINGSSTATUS, &[person])
        .await
        .unwrap();
    let event = besked::base64::iso_8859_1_encode(&besked::examples::star_event_text(
        "0101701234",
        &uuid().to_string(),
        &uuid().to_string(),
    ))
    .unwrap();
    let messages: Vec<Haendelsesbesked> = (0..n)
        .map(|_| {
            Haendelsesbesked::sygemeldingsstatus(Sygemeldingsstatus {
                besked_id: uuid(),
                cpr: person,
                message_identifier: uuid(),
                nem_refusion_identifier: uuid(),
                dannelsestidspunkt: sim_wire::DatoTid(clock.now()),
                event: event.clone(),
            })
        })
        .collect();

    let id = sub.id.parse().unwrap();
    let mut puller: Box<dyn Puller> = if backend == "amqp" {
        let url = std::env::var("SIM_TEST_AMQP_URL").unwrap();
        Box::new(
            AmqpPuller::connect(&url, id, clock.clone(), sim_bf::config::DEFAULT_LEASE)
                .await
                .unwrap(),
        )
    } else {
        Box::new(EmbeddedPuller::new(client, id))
    };
    // When each message's publish began, by ObjektRegistreringId.
    let sent: Arc<Mutex<HashMap<Uuid, Instant>>> = Arc::default();
    let start = Instant::now();
    let publisher = {
        let (bf, sent) = (bf.clone(), sent.clone());
        tokio::spawn(async move {
            for m in &messages {
                sent.lock()
                    .unwrap()
                    .insert(m.registrering_id(), Instant::now());
                bf.publish(m).await.unwrap();
            }
            start.elapsed()
        })
    };
    let mut latencies = hdrhistogram::Histogram::<u64>::new(3).unwrap();
    let mut acked = 0;
    while acked < n {
        let got = puller.fetch(100).await.unwrap();
        if got.is_empty() {
            tokio::time::sleep(Duration::from_millis(2)).await;
            continue;
        }
        let ids: Vec<Option<Uuid>> = got
            .iter()
            .map(|p| {
                p.besked
                    .as_ref()
                    .ok()
                    .map(Haendelsesbesked::registrering_id)
            })
            .collect();
        acked += got.len();
        puller
            .ack(got.into_iter().map(|p| p.tag).collect())
            .await
            .unwrap();
        let now = Instant::now();
        let sent = sent.lock().unwrap();
        for id in ids.into_iter().flatten() {
            if let Some(t) = sent.get(&id) {
                let _ = latencies.record((now - *t).as_micros() as u64);
            }
        }
    }
    let total = start.elapsed();
    let published = publisher.await.unwrap();
    let rate = |d: Duration| n as f64 / d.as_secs_f64();
    let ms = |q: f64| latencies.value_at_quantile(q) as f64 / 1000.0;
    println!(
        "{backend}: {n} messages; publish {:.0}/s; publish→ack {:.0}/s ({:.2} s); publish-to-processed p50 {:.1} ms, p99 {:.1} ms",
        rate(published),
        rate(total),
        total.as_secs_f64(),
        ms(0.5),
        ms(0.99)
    );
    puller.close().await;
}
