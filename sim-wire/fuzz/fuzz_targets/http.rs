//! Fuzzes the platform's HTTP front: arbitrary bytes are sent as a raw HTTP/1.1 byte stream
//! (request line, headers, SOAPAction, Content-Length or chunked framing, body, pipelined
//! requests) through hyper's server connection — configured as `sim_kit::server` configures it
//! (timer, header-read timeout, the request's `BodyDeadline`) — into sim-sp's own data-plane
//! router, over `tokio::io::duplex` (no TLS: TLS is not what is fuzzed).
//!
//! The router is `sim_sp::data_router`, the one `sim_sp::run` serves: `Platform::open` on a
//! state directory in a temporary directory (a real journal; a fresh directory every 200,000
//! inputs), both exposures, the fallback and the method-not-allowed fallback, and
//! `sim_kit::faults::apply` (no faults). The configuration is minimal: no routing, no
//! instances, no agreements, KSD at an address that is never called; the outgoing client
//! presents no identity and trusts a CA generated at start. Without TLS a request carries no
//! client certificate, so an admitted call ends where the handlers end an unidentified
//! caller (SP-5 on both ports) and nothing is forwarded.
//!
//! Properties:
//! - nothing panics (hyper, axum, the extractor, the reader, the platform's handlers, the
//!   refusal, the journal);
//! - every request that reached the router is answered with a complete HTTP response, and
//!   the bytes the server wrote are a sequence of complete HTTP/1.1 responses (no truncated
//!   head or body, nothing trailing);
//! - every non-2xx answer from the router is a SOAP fault (its body contains `Fault`; for
//!   HEAD, answered without a body, the SOAP content type); the only non-2xx answers without
//!   a body are hyper's own for unparseable requests (400, 408, 414, 431, 505).
//!
//! The client half-closes after sending the input, so every exchange ends by itself; the
//! server connection therefore allows half-closed connections (the real accept loop does not
//! need to: its clients do not half-close).

#![no_main]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::response::Response;
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use libfuzzer_sys::fuzz_target;
use sim_kit::soap::SoapClient;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tower_service::Service;

/// The request deadline the real accept loop uses by default (`sim_kit::server`).
const REQUEST_TIMEOUT: Duration = sim_kit::server::DEFAULT_REQUEST_TIMEOUT;
/// A fresh state directory (journal) after this many inputs, so the database stays small.
const ROTATE_EVERY: u64 = 200_000;

struct Harness {
    rt: tokio::runtime::Runtime,
    dir: tempfile::TempDir,
    client: SoapClient,
    sp: std::sync::Mutex<(u64, Router)>,
}

fn state_dir(dir: &Path, generation: u64) -> PathBuf {
    dir.join(format!("sp-{generation}"))
}

/// The smallest configuration `sim_sp::data_router` accepts. The identity files and trust
/// lists are read only by `sim_sp::run` (TLS), never by the router: they name nothing.
fn config(dir: &Path, generation: u64) -> sim_sp::Config {
    let none = sim_sp::IdentityFiles {
        cert: dir.join("unused-cert.pem"),
        key: dir.join("unused-key.pem"),
    };
    sim_sp::Config {
        state_dir: state_dir(dir, generation),
        server: none.clone(),
        client_trust: Vec::new(),
        kombit: none,
        server_trust: Vec::new(),
        // Never called: no request reaches the pass-through without a client certificate.
        ksd: sim_sp::Endpoint {
            url: "https://ksd.invalid/service/Sygefravaer/2".into(),
        },
        ky: None,
        ksd_system: sim_sp::SystemRef {
            cvr: "11111111".into(),
            uuid: None,
        },
        instances: BTreeMap::new(),
        routing: BTreeMap::new(),
        agreements: Vec::new(),
        call_timeout_ms: 1_000,
        seed: 7,
        max_in_flight: 64,
        max_in_flight_per_caller: 64,
        journal_retention: Default::default(),
        admin_token: None,
        clock: sim_store::Clock::real(),
        faults: sim_kit::faults::Faults::default(),
    }
}

/// A client without identity (as `sim_kit::client::ClientTlsConfig` allows), trusting a CA
/// generated here: `TrustAnchors` refuses an empty set.
fn client() -> SoapClient {
    sim_kit::install_crypto_provider();
    let pki = sim_certs::TestPki::generate(sim_certs::OffsetDateTime::now_utc()).expect("test PKI");
    let anchors = sim_kit::TrustAnchors::from_pem(&[pki.root.cert_pem.as_str()]).expect("anchors");
    let http = sim_kit::HttpsClient::new(sim_kit::ClientTlsConfig::new(None, anchors))
        .expect("https client");
    SoapClient::new(http)
}

async fn router(dir: &Path, generation: u64, client: SoapClient) -> Router {
    sim_sp::data_router(&config(dir, generation), client)
        .await
        .expect("the platform's data router opens")
}

fn harness() -> &'static Harness {
    static H: OnceLock<Harness> = OnceLock::new();
    H.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        // Lives as long as the process (a static is never dropped): remove
        // $TMPDIR/sim-fuzz-http-* after a run.
        let dir = tempfile::Builder::new()
            .prefix("sim-fuzz-http-")
            .tempdir()
            .expect("temp dir");
        let client = client();
        let router = rt.block_on(router(dir.path(), 0, client.clone()));
        Harness {
            rt,
            dir,
            client,
            sp: std::sync::Mutex::new((0, router)),
        }
    })
}

static INPUTS: AtomicU64 = AtomicU64::new(0);

fuzz_target!(|data: &[u8]| {
    let h = harness();
    let n = INPUTS.fetch_add(1, Ordering::Relaxed);
    let router = {
        let mut g = h.sp.lock().unwrap();
        if n > 0 && n % ROTATE_EVERY == 0 {
            let generation = g.0 + 1;
            let router =
                h.rt.block_on(router(h.dir.path(), generation, h.client.clone()));
            *g = (generation, router);
            let _ = std::fs::remove_dir_all(state_dir(h.dir.path(), generation - 1));
        }
        g.1.clone()
    };
    h.rt.block_on(exchange(router, data));
});

/// What the router answered, seen from inside the server: status, content type and body; and
/// the request's method and path.
#[derive(Debug)]
struct Answered {
    method: axum::http::Method,
    path: String,
    status: u16,
    content_type: Option<Vec<u8>>,
    body: Vec<u8>,
}

async fn exchange(router: Router, data: &[u8]) {
    let (client, server) = tokio::io::duplex(64 * 1024);
    let answered: Arc<std::sync::Mutex<Vec<Answered>>> = Arc::default();
    let seen = answered.clone();
    let service = hyper::service::service_fn(move |mut req: Request<hyper::body::Incoming>| {
        let mut router = router.clone();
        let seen = seen.clone();
        async move {
            req.extensions_mut()
                .insert(sim_kit::server::BodyDeadline(REQUEST_TIMEOUT));
            let method = req.method().clone();
            let path = req.uri().path().to_string();
            let response = match router.call(req.map(Body::new)).await {
                Ok(r) => r,
                Err(never) => match never {},
            };
            // Buffer the body to look at it, then hand the same bytes to hyper.
            let (parts, body) = response.into_parts();
            let bytes = axum::body::to_bytes(body, usize::MAX)
                .await
                .expect("a response body the router built is readable");
            seen.lock().unwrap().push(Answered {
                method,
                path,
                status: parts.status.as_u16(),
                content_type: parts
                    .headers
                    .get(axum::http::header::CONTENT_TYPE)
                    .map(|v| v.as_bytes().to_vec()),
                body: bytes.to_vec(),
            });
            Ok::<_, std::convert::Infallible>(Response::from_parts(parts, Body::from(bytes)))
        }
    });
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new());
    http.header_read_timeout(REQUEST_TIMEOUT);
    http.half_close(true);
    let conn = http.serve_connection(TokioIo::new(server), service);
    let server_task = tokio::spawn(async move {
        let _ = conn.await;
    });

    let (mut rd, mut wr) = tokio::io::split(client);
    let write = async {
        let _ = wr.write_all(data).await;
        let _ = wr.shutdown().await;
    };
    let read = async {
        let mut out = Vec::new();
        let _ = rd.read_to_end(&mut out).await;
        out
    };
    let both = async { tokio::join!(write, read).1 };
    let out = match tokio::time::timeout(Duration::from_secs(30), both).await {
        Ok(out) => out,
        Err(_) => panic!("the server neither answered nor closed within 30 s"),
    };
    server_task
        .await
        .expect("the connection task does not panic");

    let answered = std::mem::take(&mut *answered.lock().unwrap());
    for a in &answered {
        let ok = (200..300).contains(&a.status);
        // axum answers HEAD without the body: there only the content type can be seen.
        let fault = if a.method == axum::http::Method::HEAD {
            a.content_type.as_deref() == Some(sim_kit::soap::CONTENT_TYPE.as_bytes())
        } else {
            contains(&a.body, b"Fault")
        };
        assert!(
            ok || fault,
            "the router answered {} {} with HTTP {} and no SOAP fault: {:?}",
            a.method,
            a.path,
            a.status,
            String::from_utf8_lossy(&a.body)
        );
    }

    let heads: Vec<bool> = answered
        .iter()
        .map(|a| a.method == axum::http::Method::HEAD)
        .collect();
    let responses = parse_responses(&out, &heads);
    assert!(
        responses.len() >= answered.len(),
        "{} requests answered by the router but only {} complete responses written: {:?}",
        answered.len(),
        responses.len(),
        String::from_utf8_lossy(&out)
    );
    for (i, (status, body_len)) in responses.iter().enumerate() {
        match answered.get(i) {
            // The router's answer, as the router gave it.
            Some(a) => assert_eq!(
                *status, a.status,
                "response {i} on the wire differs from the router's: {:?}",
                String::from_utf8_lossy(&out)
            ),
            // After the router's answers only hyper's own refusal of an unparseable request,
            // with no body.
            None => assert!(
                matches!(status, 400 | 408 | 414 | 431 | 505) && *body_len == 0,
                "unexpected response {i} (HTTP {status}, {body_len} bytes) not from the router: {:?}",
                String::from_utf8_lossy(&out)
            ),
        }
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// Parses the server's output as complete HTTP/1.1 responses; panics on a truncated or
/// malformed one. Returns (status, body length) per response.
/// `heads[i]`: the i-th request was a HEAD (its response has no body whatever its headers say).
fn parse_responses(mut out: &[u8], heads: &[bool]) -> Vec<(u16, usize)> {
    let mut responses: Vec<(u16, usize)> = Vec::new();
    while !out.is_empty() {
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut resp = httparse::Response::new(&mut headers);
        let head_len = match resp.parse(out) {
            Ok(httparse::Status::Complete(n)) => n,
            Ok(httparse::Status::Partial) => {
                panic!(
                    "truncated response head: {:?}",
                    String::from_utf8_lossy(out)
                )
            }
            Err(e) => panic!(
                "malformed response ({e}): {:?}",
                String::from_utf8_lossy(out)
            ),
        };
        let status = resp.code.expect("a status");
        let mut length = None;
        let mut chunked = false;
        for h in resp.headers.iter() {
            if h.name.eq_ignore_ascii_case("content-length") {
                let v = std::str::from_utf8(h.value).expect("ascii content-length");
                length = Some(v.trim().parse::<usize>().expect("numeric content-length"));
            }
            if h.name.eq_ignore_ascii_case("transfer-encoding") {
                chunked = contains(&h.value.to_ascii_lowercase(), b"chunked");
            }
        }
        let rest = &out[head_len..];
        // Informational answers (100 Continue) have no body.
        if (100..200).contains(&status) {
            out = rest;
            continue;
        }
        let head = heads.get(responses.len()).copied().unwrap_or(false);
        let (body_len, used) = if head {
            (0, 0)
        } else if chunked {
            read_chunked(rest)
        } else if let Some(n) = length {
            assert!(
                rest.len() >= n,
                "truncated body: {} of {n} bytes: {:?}",
                rest.len(),
                String::from_utf8_lossy(out)
            );
            (n, n)
        } else if status == 204 || status == 304 {
            (0, 0)
        } else {
            // Delimited by the connection's end.
            (rest.len(), rest.len())
        };
        responses.push((status, body_len));
        out = &rest[used..];
    }
    responses
}

/// (body length, bytes used) of a chunked body; panics when it is truncated.
fn read_chunked(mut b: &[u8]) -> (usize, usize) {
    let start = b.len();
    let mut total = 0;
    loop {
        let line_end = b
            .windows(2)
            .position(|w| w == b"\r\n")
            .unwrap_or_else(|| panic!("truncated chunk size line"));
        let size_text = std::str::from_utf8(&b[..line_end]).expect("ascii chunk size");
        let size_text = size_text.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_text, 16).expect("hex chunk size");
        b = &b[line_end + 2..];
        if size == 0 {
            // Trailers (none expected) end with an empty line.
            let end = b
                .windows(2)
                .position(|w| w == b"\r\n")
                .unwrap_or_else(|| panic!("truncated chunked trailer"));
            b = &b[end + 2..];
            return (total, start - b.len());
        }
        assert!(b.len() >= size + 2, "truncated chunk");
        total += size;
        b = &b[size + 2..];
    }
}
