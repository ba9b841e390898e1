//! BF-1 and BF-2 end to end, each scenario against the embedded broker and against RabbitMQ:
//! the Beskedfordeler behind a real mTLS server, KSD's certificate pulling and keeping its
//! value list, a push endpoint of our own stack, a manual clock for leases and backoff.

mod common;

use std::time::Duration;

use common::*;
use sim_bf::client::{ClientError, DeliveryTag, Puller};
use sim_bf::{NewSubscription, Published};
use sim_wire::besked::VAERDILISTE_SYGEMELDINGSSTATUS as LIST;

/// BF-1: on the list → delivered; not on it → nothing; removed → delivery stops (the list at
/// publish time decides, so what was published before the removal stays deliverable).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bf1_only_persons_on_the_value_list_are_delivered() {
    let pki = &Pki::new();
    each_backend(|backend| async move {
        let dir = tempfile::tempdir().unwrap();
        let p = Platform::start(pki, dir.path(), manual_clock(), backend).await;
        let sub = p.pull_subscription().await;
        // Acme subscribes too, with its own (empty) list: it gets nothing of KSD's persons.
        let acme =
            p.bf.create_subscription(NewSubscription {
                subscriber_cvr: ACME_CVR.into(),
                beskedtype: None,
                value_list: None,
                push_url: None,
                id: None,
            })
            .await
            .unwrap();
        let ksd = p.client(pki, "ksd");
        let (on, off) = (cpr(1), cpr(2));
        assert_eq!(ksd.vaerdiliste_tilfoej(LIST, &[on]).await.unwrap(), 1);
        assert_eq!(
            ksd.vaerdiliste_tilfoej(LIST, &[on]).await.unwrap(),
            0,
            "idempotent"
        );

        let first = besked_for(on, &p.clock);
        assert_eq!(
            p.bf.publish(&first).await.unwrap(),
            Published::New { deliveries: 1 }
        );
        let stranger = besked_for(off, &p.clock);
        assert_eq!(
            p.bf.publish(&stranger).await.unwrap(),
            Published::New { deliveries: 0 }
        );
        assert_eq!(ksd.vaerdiliste_fjern(LIST, &[on]).await.unwrap(), 1);
        let after = besked_for(on, &p.clock);
        assert_eq!(
            p.bf.publish(&after).await.unwrap(),
            Published::New { deliveries: 0 }
        );

        let mut puller = p.puller(pki, &sub).await;
        let got = fetch_n(&mut puller, 1).await;
        assert_eq!(got.len(), 1);
        let b = got[0].besked.as_ref().unwrap();
        assert_eq!(b.besked_id, first.besked_id);
        puller.ack(vec![got[0].tag.clone()]).await.unwrap();
        assert!(puller.fetch(100).await.unwrap().is_empty(), "nothing else");
        puller.close().await;
        let mut theirs = p.puller_as(pki, &acme, "acme-jc").await;
        assert!(
            theirs.fetch(100).await.unwrap().is_empty(),
            "Acme's list is empty"
        );
        theirs.close().await;
        p.stop().await;
    })
    .await;
}

/// BF-2, pull: fetched and not acked comes again once the lease ends (a closed puller's
/// deliveries with RabbitMQ at once), and again after the Beskedfordeler is dropped and opened
/// on the same state; nothing acked ever comes again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bf2_pull_redelivers_what_was_not_acked_also_across_a_restart() {
    let pki = &Pki::new();
    each_backend(|backend| async move {
        let dir = tempfile::tempdir().unwrap();
        let p = Platform::start(pki, dir.path(), manual_clock(), backend).await;
        let sub = p.pull_subscription().await;
        let person = cpr(3);
        p.client(pki, "ksd")
            .vaerdiliste_tilfoej(LIST, &[person])
            .await
            .unwrap();
        let sent: Vec<_> = (0..3).map(|_| besked_for(person, &p.clock)).collect();
        for b in &sent {
            p.bf.publish(b).await.unwrap();
        }

        let mut puller = p.puller(pki, &sub).await;
        let got = fetch_n(&mut puller, 3).await;
        assert_eq!(got.len(), 3);
        assert!(got.iter().all(|g| g.forsoeg == 1));
        let acked = got
            .iter()
            .find(|g| g.besked.as_ref().unwrap().besked_id == sent[0].besked_id)
            .unwrap();
        puller.ack(vec![acked.tag.clone()]).await.unwrap();
        // Leased: a second fetch before the lease ends gets nothing.
        assert!(puller.fetch(100).await.unwrap().is_empty());
        puller.close().await;
        p.clock
            .advance(sim_bf::config::DEFAULT_LEASE + Duration::from_secs(1));

        let mut puller = p.puller(pki, &sub).await;
        let again = fetch_n(&mut puller, 2).await;
        let mut ids: Vec<_> = again
            .iter()
            .map(|g| g.besked.as_ref().unwrap().besked_id)
            .collect();
        ids.sort();
        let mut expected = vec![sent[1].besked_id, sent[2].besked_id];
        expected.sort();
        assert_eq!(ids, expected, "exactly the unacked ones");
        assert!(again.iter().all(|g| g.forsoeg >= 2));
        puller.close().await;

        // The platform stops (its Beskedfordeler dropped) and starts again on the same state.
        let (state, clock, backend) = p.stop().await;
        clock.advance(sim_bf::config::DEFAULT_LEASE + Duration::from_secs(1));
        let p = Platform::start(pki, &state, clock, backend).await;
        let mut puller = p.puller(pki, &sub).await;
        let after = fetch_n(&mut puller, 2).await;
        let mut ids: Vec<_> = after
            .iter()
            .map(|g| g.besked.as_ref().unwrap().besked_id)
            .collect();
        ids.sort();
        assert_eq!(ids, expected, "nothing acked lost, nothing acked again");
        puller
            .ack(
                after
                    .iter()
                    .map(|g| g.tag.clone())
                    .collect::<Vec<DeliveryTag>>(),
            )
            .await
            .unwrap();
        puller.close().await;
        p.clock
            .advance(sim_bf::config::DEFAULT_LEASE + Duration::from_secs(1));
        let mut puller = p.puller(pki, &sub).await;
        assert!(puller.fetch(100).await.unwrap().is_empty(), "all acked");
        puller.close().await;
        p.stop().await;
    })
    .await;
}

/// BF-2, push: refused (StatusKode 50), failing (HTTP 500) and unreachable pushes are made
/// again after the backoff (virtual time); once the subscriber accepts, every message not yet
/// accepted arrives, each once. The platform presents KOMBIT's certificate (SP-7).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bf2_push_redelivers_until_statuskode_20() {
    let pki = &Pki::new();
    each_backend(|backend| async move {
        let dir = tempfile::tempdir().unwrap();
        let p = Platform::start(pki, dir.path(), manual_clock(), backend).await;
        let mut endpoint = PushEndpoint::start(pki, 0).await;
        endpoint.set(Answer::Refuse);
        let sub =
            p.bf.create_subscription(NewSubscription {
                subscriber_cvr: KSD_CVR.into(),
                beskedtype: None,
                value_list: None,
                push_url: Some(endpoint.url()),
                id: None,
            })
            .await
            .unwrap();
        let person = cpr(4);
        p.client(pki, "ksd")
            .vaerdiliste_tilfoej(LIST, &[person])
            .await
            .unwrap();
        let first = besked_for(person, &p.clock);
        p.bf.publish(&first).await.unwrap();

        let attempts = |outcome: &'static str| {
            let p = &p;
            async move {
                p.journal("BF/ModtagBesked#response")
                    .await
                    .into_iter()
                    .filter(|r| r.entry.outcome.to_string() == outcome)
                    .count()
            }
        };
        eventually("a push refused with StatusKode 50", || async {
            (attempts("STATUSKODE 50").await >= 1).then_some(())
        })
        .await;
        endpoint.set(Answer::Http500);
        eventually("a push answered HTTP 500", || async {
            p.clock.advance(Duration::from_secs(61));
            (attempts("HTTP 500").await >= 1).then_some(())
        })
        .await;
        endpoint.down().await;
        eventually("a push that reached nobody", || async {
            p.clock.advance(Duration::from_secs(61));
            (attempts("UNREACHABLE").await >= 1).then_some(())
        })
        .await;
        let second = besked_for(person, &p.clock);
        p.bf.publish(&second).await.unwrap();
        endpoint.set(Answer::Accept);
        endpoint.up(pki).await;
        eventually("both messages accepted", || async {
            p.clock.advance(Duration::from_secs(61));
            (endpoint.accepted().len() >= 2).then_some(())
        })
        .await;
        let mut accepted = endpoint.accepted();
        accepted.sort();
        let mut expected = vec![first.besked_id.to_string(), second.besked_id.to_string()];
        expected.sort();
        assert_eq!(accepted, expected, "each un-acked message once");
        assert!(
            endpoint
                .callers
                .lock()
                .unwrap()
                .iter()
                .all(|c| c == KSD_CVR),
            "KOMBIT's certificate"
        );
        // Accepted pushes are journaled OK and the deliveries acknowledged.
        eventually("two OK pushes journaled", || async {
            (attempts("OK").await == 2).then_some(())
        })
        .await;
        let _ = sub;
        endpoint.down().await;
        p.stop().await;
    })
    .await;
}

/// SP-10: publishing is idempotent by ObjektRegistreringId — the same STAR event published
/// again (another BeskedId, as a refetched sequence would make) is not delivered twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publish_is_idempotent_by_objektregistreringid() {
    let pki = &Pki::new();
    each_backend(|backend| async move {
        let dir = tempfile::tempdir().unwrap();
        let p = Platform::start(pki, dir.path(), manual_clock(), backend).await;
        let sub = p.pull_subscription().await;
        let person = cpr(5);
        p.client(pki, "ksd")
            .vaerdiliste_tilfoej(LIST, &[person])
            .await
            .unwrap();
        let b = besked_for(person, &p.clock);
        assert_eq!(
            p.bf.publish(&b).await.unwrap(),
            Published::New { deliveries: 1 }
        );
        assert_eq!(p.bf.publish(&b).await.unwrap(), Published::Already);
        let mut again = b.clone();
        again.besked_id = uuid();
        assert_eq!(p.bf.publish(&again).await.unwrap(), Published::Already);
        let mut puller = p.puller(pki, &sub).await;
        let got = fetch_n(&mut puller, 2).await;
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].besked.as_ref().unwrap().besked_id, b.besked_id);
        puller.close().await;
        let dups = p.journal("BF/AfsendBesked").await;
        assert_eq!(
            dups.iter()
                .filter(|r| r.entry.outcome.to_string() == "DUPLICATE")
                .count(),
            2
        );
        p.stop().await;
    })
    .await;
}

/// TS103–TS105 (BF-1): no subscription without an approved agreement, and no value list or pull
/// for an organisation without a subscription — each refusal a SOAP fault naming BF-1 with a
/// CallUUID that is in the journal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscriptions_need_an_agreement_and_value_lists_a_subscription() {
    let pki = &Pki::new();
    each_backend(|backend| async move {
        let dir = tempfile::tempdir().unwrap();
        let p = Platform::start(pki, dir.path(), manual_clock(), backend).await;
        let refused =
            p.bf.create_subscription(NewSubscription {
                subscriber_cvr: "12345678".into(),
                beskedtype: None,
                value_list: None,
                push_url: None,
                id: None,
            })
            .await;
        assert!(
            matches!(refused, Err(sim_bf::BfError::NoAgreement(_))),
            "{refused:?}"
        );
        let rows = p.journal("BF/OpretAbonnement").await;
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].entry.outcome.to_string(), "FAULT:BF-1");
        assert!(p.bf.subscriptions().await.unwrap().is_empty());

        // Acme has an agreement but no subscription: its value-list change is refused.
        let e = p
            .client(pki, "acme-jc")
            .vaerdiliste_tilfoej(LIST, &[cpr(6)])
            .await
            .unwrap_err();
        let ClientError::Refused { rule, text } = e else {
            panic!("{e}")
        };
        assert_eq!(rule.as_deref(), Some("BF-1"));
        let call_uuid = text.rsplit("CallUUID: ").next().unwrap().trim().to_string();
        let rows =
            p.bf.journal()
                .query(sim_store::JournalFilter {
                    call_uuid: Some(call_uuid),
                    ..Default::default()
                })
                .await
                .unwrap();
        assert_eq!(rows.len(), 2, "request and fault under the CallUUID");
        // KSD pulling another organisation's subscription is refused the same way.
        let acme =
            p.bf.create_subscription(NewSubscription {
                subscriber_cvr: ACME_CVR.into(),
                beskedtype: None,
                value_list: None,
                push_url: None,
                id: None,
            })
            .await
            .unwrap();
        p.pull_subscription().await;
        let e = sim_bf::client::EmbeddedPuller::new(p.client(pki, "ksd"), acme.id.parse().unwrap())
            .fetch(10)
            .await
            .unwrap_err();
        let ClientError::Refused { rule, .. } = e else {
            panic!("{e}")
        };
        assert_eq!(rule.as_deref(), Some("BF-1"));
        p.stop().await;
    })
    .await;
}

/// SP-11: the STAR event's bytes, ISO-8859-1 with æøå, arrive byte for byte through Base64,
/// the store or RabbitMQ, and the pull.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn haendelsesbesked_round_trip_keeps_aeoeaa() {
    let pki = &Pki::new();
    each_backend(|backend| async move {
        let dir = tempfile::tempdir().unwrap();
        let p = Platform::start(pki, dir.path(), manual_clock(), backend).await;
        let sub = p.pull_subscription().await;
        let person = cpr(7);
        p.client(pki, "ksd")
            .vaerdiliste_tilfoej(LIST, &[person])
            .await
            .unwrap();
        let b = besked_for(person, &p.clock);
        p.bf.publish(&b).await.unwrap();
        let mut puller = p.puller(pki, &sub).await;
        let got = fetch_n(&mut puller, 1).await;
        let back = got[0].besked.as_ref().unwrap();
        assert_eq!(back, &b);
        assert_eq!(back.beskeddata.data, b.beskeddata.data);
        assert!(back.beskeddata.data.contains(&0xF8) && back.beskeddata.data.contains(&0xC6));
        let text = back.beskeddata.text().unwrap();
        assert!(
            text.contains("Søren") && text.contains("Ærøskøbing-Åberg"),
            "{text}"
        );
        assert!(sim_wire::besked::validate_sp11(back).is_empty());
        puller.ack(vec![got[0].tag.clone()]).await.unwrap();
        puller.close().await;
        p.stop().await;
    })
    .await;
}
