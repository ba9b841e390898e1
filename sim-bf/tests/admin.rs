//! The admin routes under `/bf/` over real HTTP: subscriptions (TS105; 403 without an
//! agreement, TS103/TS104), value lists as the SOAP service left them (BF-1), messages,
//! deliveries and counters.

mod common;

use common::*;
use serde_json::{json, Value};
use sim_wire::besked::VAERDILISTE_SYGEMELDINGSSTATUS as LIST;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn call(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await.unwrap();
    let text = String::from_utf8(buf).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_api_creates_lists_and_counts() {
    let pki = Pki::new();
    let dir = tempfile::tempdir().unwrap();
    let p = Platform::start(&pki, dir.path(), manual_clock(), Backend::Embedded).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let admin = listener.local_addr().unwrap();
    let router = p.bf.admin_router();
    let server = tokio::spawn(async move { axum::serve(listener, router).await });

    let (status, v) = call(
        admin,
        "POST",
        "/bf/subscriptions",
        Some(json!({"subscriber_cvr": "12345678"})),
    )
    .await;
    assert_eq!(status, 403, "{v}");
    assert!(v["error"].as_str().unwrap().contains("BF-1"), "{v}");
    let (status, v) = call(
        admin,
        "POST",
        "/bf/subscriptions",
        Some(json!({"subscriber_cvr": "1234"})),
    )
    .await;
    assert_eq!(status, 422, "{v}");
    let (status, sub) = call(
        admin,
        "POST",
        "/bf/subscriptions",
        Some(json!({"subscriber_cvr": KSD_CVR})),
    )
    .await;
    assert_eq!(status, 201, "{sub}");
    assert_eq!(sub["value_list"], LIST);
    assert!(sub["filter"]
        .as_str()
        .unwrap()
        .contains("@PersonkredsSygemeldingsstatus"));
    let (status, list) = call(admin, "GET", "/bf/subscriptions", None).await;
    assert_eq!((status, list.as_array().unwrap().len()), (200, 1));

    p.client(&pki, "ksd")
        .vaerdiliste_tilfoej(LIST, &[cpr(9)])
        .await
        .unwrap();
    p.bf.publish(&besked_for(cpr(9), &p.clock)).await.unwrap();
    let (_, lists) = call(
        admin,
        "GET",
        &format!("/bf/value-lists?subscriber_cvr={KSD_CVR}"),
        None,
    )
    .await;
    assert_eq!(lists[0]["cpr"], cpr(9).to_string());
    let (_, messages) = call(admin, "GET", "/bf/messages?limit=10", None).await;
    assert_eq!(messages[0]["deliveries"], 1);
    let (_, deliveries) = call(admin, "GET", "/bf/deliveries?state=ready", None).await;
    assert_eq!(deliveries.as_array().unwrap().len(), 1);
    let (status, _) = call(admin, "GET", "/bf/deliveries?state=nonsense", None).await;
    assert_eq!(status, 400);
    let (_, counters) = call(admin, "GET", "/bf/counters", None).await;
    assert_eq!(counters["tables"]["messages"], 1);
    assert_eq!(counters["tables"]["deliveries_ready"], 1);
    let id = sub["id"].as_str().unwrap();
    let (status, _) = call(admin, "DELETE", &format!("/bf/subscriptions/{id}"), None).await;
    assert_eq!(status, 204);
    let (status, _) = call(admin, "GET", &format!("/bf/subscriptions/{id}"), None).await;
    assert_eq!(status, 404);
    let (_, counters) = call(admin, "GET", "/bf/counters", None).await;
    assert_eq!(
        counters["tables"]["deliveries_ready"], 0,
        "its deliveries went with it"
    );
    // The admin server holds the Beskedfordeler: it goes first, so the store can close.
    server.abort();
    let _ = server.await;
    p.stop().await;
}
