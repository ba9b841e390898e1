//! Every program's `GET /metrics` (issue 14, item 5), scraped over real HTTP from the whole
//! ecosystem on `127.0.0.1:0` while SF2095 updates go through it: message counters by
//! operation, direction and outcome grow where each program journals, latency histograms have
//! samples on the calling and the called side, the outbox and journal series are there, a
//! refusal is counted by its rule, and every series names its program.

mod common;

use std::collections::BTreeMap;

use common::*;
use serde_json::json;
use sim_wire::Operation;

/// Updates sent through the jobcenter's admin API.
const UPDATES: usize = 3;

/// One sample line: metric name, labels, value.
#[derive(Debug, Clone)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// A scrape: the HTTP status, the content type and the samples.
struct Scrape {
    status: u16,
    content_type: String,
    samples: Vec<Sample>,
    text: String,
}

impl Scrape {
    /// The sum of `name`'s samples whose labels include every pair of `with`.
    fn sum(&self, name: &str, with: &[(&str, &str)]) -> f64 {
        self.samples
            .iter()
            .filter(|s| s.name == name)
            .filter(|s| {
                with.iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
            })
            .map(|s| s.value)
            .sum()
    }

    /// Whether any sample of `name` has every pair of `with`.
    fn has(&self, name: &str, with: &[(&str, &str)]) -> bool {
        self.samples.iter().any(|s| {
            s.name == name
                && with
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
    }
}

/// `GET {base}/metrics` over a plain TCP connection (the admin client reads JSON only).
async fn scrape(base: &str) -> Scrape {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = base.trim_start_matches("http://");
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!("GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).await.unwrap();
    let raw = String::from_utf8(raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    let content_type = head
        .lines()
        .find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.eq_ignore_ascii_case("content-type")
                .then(|| v.trim().to_string())
        })
        .unwrap_or_default();
    let body = dechunk(head, body);
    Scrape {
        status,
        content_type,
        samples: body.lines().filter_map(sample).collect(),
        text: body,
    }
}

/// The body of a `Transfer-Encoding: chunked` answer, or the body as it is.
fn dechunk(head: &str, body: &str) -> String {
    if !head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        return body.to_string();
    }
    let mut out = String::new();
    let mut rest = body;
    while let Some((size, after)) = rest.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap();
        if n == 0 {
            break;
        }
        out.push_str(&after[..n]);
        rest = &after[n + 2..];
    }
    out
}

/// One line of the text exposition format, or `None` for comments and blank lines.
fn sample(line: &str) -> Option<Sample> {
    if line.starts_with('#') || line.trim().is_empty() {
        return None;
    }
    let (series, value) = line.rsplit_once(' ')?;
    let value = value.parse().ok()?;
    let (name, labels) = match series.split_once('{') {
        None => (series.to_string(), BTreeMap::new()),
        Some((name, rest)) => (name.to_string(), labels(rest.strip_suffix('}')?)),
    };
    Some(Sample {
        name,
        labels,
        value,
    })
}

/// `k="v",k2="v2"` (values may hold escaped quotes, commas and spaces).
fn labels(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut rest = text;
    while let Some((key, after)) = rest.split_once("=\"") {
        let mut value = String::new();
        let mut chars = after.char_indices();
        let mut end = after.len();
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => {
                    if let Some((_, e)) = chars.next() {
                        value.push(e);
                    }
                }
                '"' => {
                    end = i + 1;
                    break;
                }
                c => value.push(c),
            }
        }
        out.insert(key.trim_start_matches(',').to_string(), value);
        rest = &after[end..];
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_program_serves_its_metrics_during_a_run() {
    let eco = Eco::start().await;
    let ep = eco.running.endpoints.clone();
    let admins = [
        ("sim-sp", ep.sp_admin.clone()),
        ("sim-ksd", ep.ksd_admin.clone()),
        ("sim-jobcenter", ep.jobcenter_admin.clone()),
    ];
    let send = Operation::SendOpdateringFravaer.label();
    let modtag = Operation::ModtagOpdateringFravaer.label();
    let before = scrape(&ep.ksd_admin).await;
    let ksd_in = [
        ("program", "sim-ksd"),
        ("operation", modtag.as_str()),
        ("part", "request"),
        ("direction", "in"),
    ];
    let ksd_rows = [("program", "sim-ksd")];

    // Real SF2095 traffic: updates from a vendor through the platform to KSD, receipts back.
    for _ in 0..UPDATES {
        let (status, body) = eco
            .admin
            .post(&format!("{}/send", ep.jobcenter_admin), &json!({}))
            .await
            .unwrap();
        assert_eq!(status, 200, "{body}");
    }
    eco.eventually("the business receipts of the updates", || {
        let (a, url) = (
            eco.admin.clone(),
            format!("{}/receipts", ep.jobcenter_admin),
        );
        async move {
            let (_, v) = a.get(&url).await.ok()?;
            (v.as_array()?.len() >= UPDATES).then_some(())
        }
    })
    .await;
    // A refusal: the platform's fault naming WIRE-1 for a document that is no SOAP message.
    let reply = eco
        .client_as("kmd-jc")
        .call(
            &ep.sp_ksd_exposure,
            &Operation::SendOpdateringFravaer.soap_action(),
            "not xml".into(),
        )
        .await
        .unwrap();
    assert_eq!(reply.status, 500, "{}", reply.body);
    // A connection refusal: plain HTTP on the platform's mTLS port.
    {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let addr = ep.sp_ksd_exposure.trim_start_matches("https://");
        let addr = addr.split('/').next().unwrap();
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let mut sink = Vec::new();
        let _ = s.read_to_end(&mut sink).await;
    }

    // What each program counted is on every admin port (one process: one registry, told apart
    // by `program`). A connection refusal is counted as the server lets the connection go,
    // so the scrapes are repeated (bounded) until it shows.
    let after = eco
        .eventually(
            "the refused plain-HTTP connection in the metrics",
            || async {
                let s = scrape(&ep.sp_admin).await;
                s.has(
                    "sim_refusals_total",
                    &[
                        ("program", "sim-sp"),
                        ("level", "connection"),
                        ("rule", "handshake_failed"),
                    ],
                )
                .then_some(s)
            },
        )
        .await;
    for (program, base) in &admins {
        let s = scrape(base).await;
        assert_eq!(s.status, 200, "{program}: {}", s.text);
        assert!(
            s.content_type.starts_with("text/plain; version=0.0.4"),
            "{program}: {}",
            s.content_type
        );
        assert!(!s.samples.is_empty(), "{program}: {}", s.text);
        for sample in &s.samples {
            assert!(
                sample.labels.contains_key("program"),
                "{program}: a series without its program: {sample:?}"
            );
        }
        // The programs' own series are all there, whichever port is asked.
        for p in ["sim-sp", "sim-ksd", "sim-jobcenter"] {
            assert!(
                s.has("sim_messages_total", &[("program", p)]),
                "{program}'s port lacks {p}'s messages:\n{}",
                s.text
            );
        }
    }

    // Messages by operation, direction and outcome, where each program journals them.
    let grew = after.sum("sim_messages_total", &ksd_in) - before.sum("sim_messages_total", &ksd_in);
    assert!(
        grew >= UPDATES as f64,
        "KSD received {grew}:\n{}",
        after.text
    );
    assert!(
        after.has(
            "sim_messages_total",
            &[
                ("program", "sim-ksd"),
                ("operation", modtag.as_str()),
                ("part", "response"),
                ("direction", "out"),
                ("outcome", "OK"),
            ]
        ),
        "{}",
        after.text
    );
    for (program, direction) in [("sim-sp", "in"), ("sim-jobcenter", "out")] {
        let n = after.sum(
            "sim_messages_total",
            &[
                ("program", program),
                ("operation", send.as_str()),
                ("part", "request"),
                ("direction", direction),
            ],
        );
        assert!(
            n >= UPDATES as f64,
            "{program} {direction}: {n}\n{}",
            after.text
        );
    }

    // Latency histograms with samples: the vendor's call, the platform's forward, KSD's handling.
    for (metric, program, op) in [
        ("sim_client_call_duration_seconds", "sim-jobcenter", &send),
        ("sim_server_request_duration_seconds", "sim-sp", &send),
        ("sim_client_call_duration_seconds", "sim-sp", &modtag),
        ("sim_server_request_duration_seconds", "sim-ksd", &modtag),
    ] {
        let with = [("program", program), ("operation", op.as_str())];
        let n = after.sum(&format!("{metric}_count"), &with);
        assert!(
            n >= UPDATES as f64,
            "{metric} {program} {op}: {n}\n{}",
            after.text
        );
        assert!(after.sum(&format!("{metric}_sum"), &with) > 0.0);
        let mut inf = with.to_vec();
        inf.push(("le", "+Inf"));
        assert_eq!(after.sum(&format!("{metric}_bucket"), &inf), n, "{metric}");
    }

    // The outboxes (KSD's business receipts, the vendors' resender) and the journals.
    for program in ["sim-ksd", "sim-jobcenter"] {
        assert!(
            after.has("sim_outbox_waiting", &[("program", program)]),
            "{program}'s outbox depth:\n{}",
            after.text
        );
    }
    let delivered = after.sum(
        "sim_outbox_attempts_total",
        &[("program", "sim-ksd"), ("result", "delivered")],
    );
    assert!(
        delivered >= UPDATES as f64,
        "receipts delivered: {delivered}"
    );
    let rows = after.sum("sim_journal_rows_total", &ksd_rows);
    assert!(
        rows > before.sum("sim_journal_rows_total", &ksd_rows),
        "{rows}"
    );
    for program in ["sim-sp", "sim-ksd", "sim-jobcenter"] {
        let bytes = after.sum("sim_journal_bytes_total", &[("program", program)]);
        assert!(bytes > 0.0, "{program}'s journal bytes: {bytes}");
    }

    // Refusals by rule: the fault the platform answered, counted where it was made.
    assert!(
        after.sum(
            "sim_refusals_total",
            &[
                ("program", "sim-sp"),
                ("level", "message"),
                ("rule", "WIRE-1")
            ]
        ) >= 1.0,
        "{}",
        after.text
    );
    assert!(
        after.has("sim_connections_open", &[("program", "sim-sp")]),
        "{}",
        after.text
    );
    eco.running.stop().await.unwrap();
}

#[test]
fn the_exposition_parser_reads_labels_with_spaces_and_quotes() {
    let s = sample(r#"m_total{a="HTTP 200",b="x\"y,z",program="sim-sp"} 3"#).unwrap();
    assert_eq!(s.name, "m_total");
    assert_eq!(s.labels["a"], "HTTP 200");
    assert_eq!(s.labels["b"], "x\"y,z");
    assert_eq!(s.labels["program"], "sim-sp");
    assert_eq!(s.value, 3.0);
    assert!(sample("# HELP m_total x").is_none());
}
