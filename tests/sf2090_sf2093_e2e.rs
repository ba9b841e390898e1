//! SF2090 and SF2093 end to end through the three real programs, on a manual clock: KSD
//! creates cases, tells each municipality's vendor (events, acknowledged through the platform),
//! asks for extensions before the limit and applies the vendors' answers — each vendor with
//! its own policy, so every transition shows: 60 → 64 (kmd-jc extends without limit), 60 → 62
//! (schultz-jc extends for eight weeks), 60 → 63 (netcompany-jc never answers), 61 for a
//! pensioner (KSD-9, KSD-10, KSD-11). The platform is a pass-through (SP-13): it has no outbox.

mod common;

use std::time::Duration;

use common::*;
use serde_json::{json, Value};
use sim_jobcenter::{ExtensionPolicy, VendorPolicy};
use sim_store::Clock;

fn start_time() -> time::OffsetDateTime {
    time::macros::datetime!(2026-03-02 10:00 UTC)
}

/// A vendor that always answers the same way, one virtual hour after the request.
fn answering(time_limited: f64, unlimited: f64, never: f64) -> VendorPolicy {
    VendorPolicy {
        sf2093: ExtensionPolicy {
            time_limited,
            unlimited,
            rejected: 0.0,
            never_answered: never,
            extension_weeks: 8,
            answer_delay_min_ms: 3_600_000,
            answer_delay_max_ms: 3_600_000,
            late_share: 0.0,
        },
        ..VendorPolicy::default()
    }
}

async fn create(eco: &Eco, municipality: &str, weeks_ago: i64, pensioner: bool) -> Value {
    let first = (start_time() - time::Duration::weeks(weeks_ago)).date();
    let (status, v) = eco
        .admin
        .post(
            &format!("{}/cases", eco.running.endpoints.ksd_admin),
            &json!({
                "cpr": "0101701234",
                "municipality": municipality,
                "arbejdsgiver": "12345674",
                "foerste_fravaersdag": sim_wire::Dato(first).to_string(),
                "pensioner": pensioner,
            }),
        )
        .await
        .unwrap();
    assert_eq!(status, 201, "{v}");
    v
}

async fn wait_code(eco: &Eco, sag: &str, code: &'static str) -> Value {
    let url = format!("{}/cases/{sag}", eco.running.endpoints.ksd_admin);
    eco.eventually(&format!("case {sag} to be {code}"), || {
        let (a, url) = (eco.admin.clone(), url.clone());
        async move {
            let (_, v) = a.get(&url).await.ok()?;
            (v["varighed_kode"] == code).then_some(v)
        }
    })
    .await
}

async fn case(eco: &Eco, sag: &str) -> Value {
    eco.get(format!("{}/cases/{sag}", eco.running.endpoints.ksd_admin))
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cases_events_and_extensions_through_the_platform_ksd9_ksd10_ksd11_sp13() {
    let clock = Clock::manual(start_time());
    let eco = Eco::start_with(|c| {
        c.clock = clock.clone();
        c.vendor_policies
            .insert("kmd-jc".into(), answering(0.0, 1.0, 0.0));
        c.vendor_policies
            .insert("schultz-jc".into(), answering(1.0, 0.0, 0.0));
        c.vendor_policies
            .insert("netcompany-jc".into(), answering(0.0, 0.0, 1.0));
    })
    .await;
    let m = |i: &str| eco.municipality_of(i).to_string();
    // Began 20 weeks ago: the limit is two weeks away, the request is due at once.
    let unlimited = create(&eco, &m("kmd-jc"), 20, false).await;
    let limited = create(&eco, &m("schultz-jc"), 20, false).await;
    let silent = create(&eco, &m("netcompany-jc"), 20, false).await;
    let pensioner = create(&eco, &m("kmd-jc"), 1, true).await;
    assert_eq!(pensioner["varighed_kode"], "61");
    let id = |v: &Value| v["sag_id"].as_str().unwrap().to_string();
    let (unlimited, limited, silent, pensioner) =
        (id(&unlimited), id(&limited), id(&silent), id(&pensioner));

    // KSD-10: every OPRETTET event reaches its municipality's vendor and is acknowledged.
    let ksd = eco.running.endpoints.ksd_admin.clone();
    for sag in [&unlimited, &limited, &silent, &pensioner] {
        eco.eventually("the OPRETTET event acknowledged", || {
            let (a, url) = (eco.admin.clone(), format!("{ksd}/events?sag_id={sag}"));
            async move {
                let (_, v) = a.get(&url).await.ok()?;
                let e = v.as_array()?.first()?.clone();
                (e["acked_at"].is_string() && e["transport"] == "OK").then_some(e)
            }
        })
        .await;
    }
    let jc = eco.running.endpoints.jobcenter_admin.clone();
    for (sag, vendor) in [
        (&unlimited, "kmd-jc"),
        (&limited, "schultz-jc"),
        (&silent, "netcompany-jc"),
    ] {
        let events = eco.get(format!("{jc}/events?sag_id={sag}")).await;
        let events = events.as_array().unwrap();
        assert!(!events.is_empty(), "the vendor holds the event of {sag}");
        assert!(
            events.iter().all(|e| e["instance"] == vendor),
            "only {vendor} got it: {events:?}"
        );
    }

    // The requests went out; the answers come an hour later (virtual).
    for sag in [&unlimited, &limited, &silent] {
        eco.eventually("the extension request delivered", || {
            let (a, url) = (
                eco.admin.clone(),
                format!("{ksd}/extension-requests?sag_id={sag}"),
            );
            async move {
                let (_, v) = a.get(&url).await.ok()?;
                let r = v.as_array()?.first()?.clone();
                (r["transport"] == "OK").then_some(())
            }
        })
        .await;
    }
    clock.advance(Duration::from_secs(2 * 3600));
    wait_code(&eco, &unlimited, "64").await;
    let c = wait_code(&eco, &limited, "62").await;
    let first = start_time().date() - time::Duration::weeks(20);
    let extended_to = first + time::Duration::weeks(22 + 8);
    assert_eq!(
        c["limit"]["graense"],
        sim_wire::Dato(extended_to).to_string()
    );
    assert_eq!(case(&eco, &silent).await["varighed_kode"], "60");

    // Past the limit, the case nobody answered for becomes 63; the others do not move.
    clock.advance(Duration::from_secs(15 * 24 * 3600));
    wait_code(&eco, &silent, "63").await;
    assert_eq!(case(&eco, &unlimited).await["varighed_kode"], "64");
    assert_eq!(case(&eco, &limited).await["varighed_kode"], "62");

    // Every change was told: the AENDRET events are acknowledged too.
    for sag in [&unlimited, &limited, &silent] {
        eco.eventually("the AENDRET event acknowledged", || {
            let (a, url) = (eco.admin.clone(), format!("{ksd}/events?sag_id={sag}"));
            async move {
                let (_, v) = a.get(&url).await.ok()?;
                v.as_array()?
                    .iter()
                    .any(|e| e["haendelse_type"] == "AENDRET" && e["acked_at"].is_string())
                    .then_some(())
            }
        })
        .await;
    }

    // SP-13: the platform stored nothing on the way (it has no outbox to show).
    let (status, _) = eco
        .admin
        .get(&format!("{}/outbox", eco.running.endpoints.sp_admin))
        .await
        .unwrap();
    assert_eq!(status, 404, "the platform has no outbox");
    eco.running.stop().await.unwrap();
}
