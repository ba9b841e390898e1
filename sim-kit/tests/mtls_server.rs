//! The mTLS server against our own client: who gets in, who does not, and why (as logged).

mod common;

use std::time::Duration;

use common::{capture_logs, echo_router, start, with_slow_route, Pki, VENDOR_CVR, VENDOR_NAME};
use sim_certs::{Cvr, OrgSubject, SubjectShape};
use sim_kit::{ClientError, ServerTls};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The allow-list used where authorisation is on: KOMBIT's CVR (the bad set's CVR, so only
/// their defects can refuse them) and the test vendor's.
const ALLOWED: &[&str] = &["19435075", VENDOR_CVR];

#[tokio::test]
async fn a_good_certificate_reaches_the_handler_with_its_identity() {
    let _logs = capture_logs();
    let pki = Pki::new();
    let server = start(pki.server_tls(Some(ALLOWED)), echo_router()).await;

    let client = pki.client(Some(pki.system("acme-jc")));
    let response = client
        .post(
            &server.url("/whoami"),
            &[("content-type", "text/xml")],
            "<x/>",
        )
        .await
        .unwrap();
    assert_eq!(response.status, 200);
    let expected_uuid =
        OrgSubject::oces3("Acme", Cvr::new(VENDOR_CVR).unwrap(), VENDOR_NAME).uuid();
    let body = String::from_utf8(response.body.to_vec()).unwrap();
    assert_eq!(
        body,
        format!("cvr={VENDOR_CVR};uuid={expected_uuid};conn=1")
    );
    server.stop().await;
}

#[tokio::test]
async fn a_legacy_foces_certificate_is_identified_by_cvr_and_fid() {
    let _logs = capture_logs();
    let pki = Pki::new();
    let server = start(pki.server_tls(Some(ALLOWED)), echo_router()).await;
    let legacy = pki.identity(&sim_certs::store::layout::legacy(pki.path(), "acme-jc"));
    let response = pki
        .client(Some(legacy))
        .get(&server.url("/whoami"), &[])
        .await
        .unwrap();
    let fid = OrgSubject {
        shape: SubjectShape::Foces,
        ..OrgSubject::oces3("Acme", Cvr::new(VENDOR_CVR).unwrap(), VENDOR_NAME)
    }
    .fid();
    assert_eq!(
        String::from_utf8_lossy(&response.body),
        format!("cvr={VENDOR_CVR};fid={fid};conn=1")
    );
    server.stop().await;
}

#[tokio::test]
async fn every_bad_certificate_is_refused_at_the_handshake_and_the_reason_logged() {
    let logs = capture_logs();
    let pki = Pki::new();
    let server = start(pki.server_tls(Some(ALLOWED)), echo_router()).await;

    for (stem, reason) in [
        ("expired", "expired"),
        ("not-yet-valid", "not_yet_valid"),
        ("unknown-ca", "unknown_ca"),
        ("self-signed", "unknown_ca"),
        ("no-cvr", "no_cvr"),
        ("no-client-auth-eku", "missing_client_auth_eku"),
    ] {
        logs.clear();
        let client = pki.client(Some(pki.bad(stem)));
        let result = client.post(&server.url("/whoami"), &[], "x").await;
        match result {
            Err(ClientError::Transport(text)) => {
                assert!(
                    text.contains("alert"),
                    "{stem}: expected a TLS alert, got {text}"
                )
            }
            other => panic!("{stem} must be refused before any HTTP exchange, got {other:?}"),
        }
        let line = logs
            .wait_for(&["refused connection", &format!("reason={reason}")])
            .await;
        assert!(line.contains("WARN"), "{stem}: {line}");
        assert!(
            !logs.text().contains("caller identified"),
            "{stem} was identified"
        );
    }
    server.stop().await;
}

#[tokio::test]
async fn a_valid_certificate_of_another_organisation_gets_403_with_the_reason() {
    let logs = capture_logs();
    let pki = Pki::new();
    let server = start(pki.server_tls(Some(ALLOWED)), echo_router()).await;

    let client = pki.client(Some(pki.bad("other-organisation")));
    let response = client.post(&server.url("/whoami"), &[], "x").await.unwrap();
    assert_eq!(response.status, 403);
    let body = String::from_utf8_lossy(&response.body);
    assert!(
        body.contains("CVR 99000099 has no service agreement"),
        "{body}"
    );
    let line = logs
        .wait_for(&["reason=cvr_not_allowed", "cvr=99000099"])
        .await;
    assert!(line.contains("HTTP 403"), "{line}");

    // Without an allow-list the same certificate is a perfectly good caller.
    let open = start(pki.server_tls(None), echo_router()).await;
    let response = client.post(&open.url("/whoami"), &[], "x").await.unwrap();
    assert_eq!(response.status, 200);
    assert!(String::from_utf8_lossy(&response.body).starts_with("cvr=99000099;"));
    open.stop().await;
    server.stop().await;
}

#[tokio::test]
async fn no_client_certificate_is_refused() {
    let logs = capture_logs();
    let pki = Pki::new();
    let server = start(pki.server_tls(None), echo_router()).await;
    let result = pki
        .client(None)
        .post(&server.url("/whoami"), &[], "x")
        .await;
    assert!(
        matches!(result, Err(ClientError::Transport(_))),
        "{result:?}"
    );
    logs.wait_for(&["refused connection", "reason=no_client_certificate"])
        .await;
    server.stop().await;
}

#[tokio::test]
async fn the_client_refuses_a_server_it_does_not_trust() {
    let _logs = capture_logs();
    let pki = Pki::new();
    let other = Pki::new(); // a second, unrelated test PKI
    let server = start(pki.server_tls(None), echo_router()).await;
    let result = other
        .client(Some(other.system("ksd")))
        .post(&server.url("/whoami"), &[], "x")
        .await;
    match result {
        Err(ClientError::Transport(text)) => {
            assert!(text.contains("invalid peer certificate"), "{text}")
        }
        other => panic!("expected a certificate error, got {other:?}"),
    }
    server.stop().await;
}

#[tokio::test]
async fn plain_http_and_silent_peers_are_refused_with_reasons() {
    let logs = capture_logs();
    let pki = Pki::new();
    let mut config = pki.server_config();
    config.handshake_timeout = Duration::from_millis(300);
    let server = start(ServerTls::new(config).unwrap(), echo_router()).await;

    let mut plain = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    plain
        .write_all(b"GET /whoami HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut sink = Vec::new();
    let _ = plain.read_to_end(&mut sink).await;
    logs.wait_for(&["refused connection", "reason=handshake_failed"])
        .await;

    // A peer that connects and says nothing is dropped before it takes a connection slot.
    let mut silent = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let mut sink = Vec::new();
    let _ = silent.read_to_end(&mut sink).await; // returns once the server hangs up
    logs.wait_for(&["refused connection", "reason=silent"])
        .await;

    // One that starts a handshake and stalls is dropped when the handshake timeout ends.
    let mut stalled = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    stalled.write_all(&[0x16]).await.unwrap();
    let mut sink = Vec::new();
    let _ = stalled.read_to_end(&mut sink).await;
    logs.wait_for(&["refused connection", "reason=handshake_timeout"])
        .await;
    server.stop().await;
}

#[tokio::test]
async fn the_client_keeps_its_connection_alive() {
    let _logs = capture_logs();
    let pki = Pki::new();
    let server = start(pki.server_tls(None), echo_router()).await;
    let client = pki.client(Some(pki.system("ksd")));
    let mut ids = Vec::new();
    for _ in 0..3 {
        let response = client.post(&server.url("/whoami"), &[], "x").await.unwrap();
        let body = String::from_utf8(response.body.to_vec()).unwrap();
        ids.push(body.rsplit("conn=").next().unwrap().to_owned());
    }
    assert_eq!(ids, ["1", "1", "1"], "all calls should reuse connection 1");
    server.stop().await;
}

#[tokio::test]
async fn shutdown_lets_the_in_flight_request_finish_then_stops_listening() {
    let logs = capture_logs();
    let pki = Pki::new();
    let (router, mut entered, release) = with_slow_route(echo_router());
    let mut server = start(pki.server_tls(None), router).await;
    let addr = server.addr;

    let client = pki.client(Some(pki.system("serviceplatformen")));
    let url = server.url("/slow");
    let in_flight = tokio::spawn(async move { client.post(&url, &[], "x").await });
    entered.recv().await.unwrap();

    server.signal_stop();
    logs.wait_for(&["mTLS server shutting down", "in_flight=1"])
        .await;
    release.notify_one();

    let response = in_flight.await.unwrap().unwrap();
    assert_eq!(response.status, 200);
    assert_eq!(&response.body[..], b"finished");
    server.join().await.unwrap();
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "the listener must be closed after shutdown"
    );
}

#[tokio::test]
async fn the_connection_cap_holds_further_connections_back() {
    let _logs = capture_logs();
    let pki = Pki::new();
    let (router, mut entered, release) = with_slow_route(echo_router());
    let mut config = pki.server_config();
    config.max_connections = 1;
    let server = start(ServerTls::new(config).unwrap(), router).await;

    let first = pki.client(Some(pki.system("ksd")));
    let url = server.url("/slow");
    let first_call = tokio::spawn(async move {
        let r = first.post(&url, &[], "x").await;
        drop(first); // closes the pooled connection, freeing the only slot
        r
    });
    entered.recv().await.unwrap();

    let second = pki.client(Some(pki.system("kombit")));
    let url = server.url("/whoami");
    let second_call = tokio::spawn(async move { second.post(&url, &[], "x").await });
    // However long we give it, the second call cannot complete while the first holds the slot.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !second_call.is_finished(),
        "cap of 1 let a second connection in"
    );

    release.notify_one();
    assert_eq!(first_call.await.unwrap().unwrap().status, 200);
    let second = second_call.await.unwrap().unwrap();
    assert_eq!(second.status, 200);
    assert!(String::from_utf8_lossy(&second.body).ends_with("conn=2"));
    server.stop().await;
}

#[tokio::test]
async fn several_trust_anchors_admit_callers_from_each_pki() {
    let _logs = capture_logs();
    let ours = Pki::new();
    let theirs = Pki::new(); // stands in for a vendor's own test CA
    let mut config = ours.server_config();
    config.client_trust =
        sim_kit::TrustAnchors::from_pem_files(&[ours.root(), theirs.root()]).unwrap();
    assert_eq!(config.client_trust.len(), 2);
    let server = start(ServerTls::new(config).unwrap(), echo_router()).await;

    // Their client trusts our server's CA, presents a certificate of their own CA.
    let their_client = sim_kit::HttpsClient::new(sim_kit::ClientTlsConfig::new(
        Some(theirs.system("acme-jc")),
        ours.anchors(),
    ))
    .unwrap();
    let response = their_client.get(&server.url("/whoami"), &[]).await.unwrap();
    assert_eq!(response.status, 200);
    let ours_response = ours
        .client(Some(ours.system("ksd")))
        .get(&server.url("/whoami"), &[])
        .await
        .unwrap();
    assert_eq!(ours_response.status, 200);
    server.stop().await;
}

/// Issue 15: silent TCP connections (never a ClientHello) do not take the connection slots,
/// so a valid caller is served at once even when they outnumber the cap (here 2, with a
/// handshake timeout far longer than the caller waits).
#[tokio::test]
async fn silent_connections_do_not_take_the_slots_of_valid_callers() {
    let _logs = capture_logs();
    let pki = Pki::new();
    let mut config = pki.server_config();
    config.max_connections = 2;
    config.handshake_timeout = Duration::from_secs(60);
    let server = start(ServerTls::new(config).unwrap(), echo_router()).await;
    let mut silent = Vec::new();
    for _ in 0..5 {
        silent.push(tokio::net::TcpStream::connect(server.addr).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut cfg = sim_kit::ClientTlsConfig::new(Some(pki.system("ksd")), pki.anchors());
    cfg.request_timeout = Duration::from_secs(1);
    let client = sim_kit::HttpsClient::new(cfg).unwrap();
    let response = client.post(&server.url("/whoami"), &[], "x").await;
    assert!(response.is_ok(), "{response:?}");
    drop(silent);
    server.stop().await;
}

/// Issue 15: one peer address holds at most `max_connections_per_address` connections; more
/// from it are closed at once (reason `per_address_limit`), while a caller from another
/// address is served. Here 127.0.0.2 opens 8 silent connections against a cap of 3.
#[tokio::test]
async fn one_address_cannot_hold_more_than_its_share_of_connections() {
    let logs = capture_logs();
    let pki = Pki::new();
    let mut config = pki.server_config();
    config.max_connections_per_address = 3;
    config.handshake_timeout = Duration::from_secs(60);
    let server = start(ServerTls::new(config).unwrap(), echo_router()).await;
    let mut held = Vec::new();
    for _ in 0..8 {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind("127.0.0.2:0".parse().unwrap()).unwrap();
        held.push(socket.connect(server.addr).await.unwrap());
    }
    // The five over the cap are closed by the server at once: reading them ends.
    let mut closed = 0;
    for s in &mut held {
        let mut buf = [0u8; 1];
        if let Ok(Ok(0) | Err(_)) = tokio::time::timeout(
            Duration::from_millis(500),
            tokio::io::AsyncReadExt::read(s, &mut buf),
        )
        .await
        {
            closed += 1;
        }
    }
    assert_eq!(closed, 5, "connections over the per-address cap closed");
    assert!(
        logs.text().contains("reason=per_address_limit"),
        "{}",
        logs.text()
    );
    let response = pki
        .client(Some(pki.system("ksd")))
        .post(&server.url("/whoami"), &[], "x")
        .await;
    assert!(
        response.is_ok(),
        "a caller from 127.0.0.1 is served: {response:?}"
    );
    drop(held);
    server.stop().await;
}
