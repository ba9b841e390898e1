//! Hostile input against a real platform on 127.0.0.1 (issue 15), from another stack (Python
//! `ssl`): clients that send a request's headers and a trickle of its body, then nothing, get
//! their WIRE-1 fault when the request deadline passes and lose their connection slot, and a
//! valid caller is served meanwhile.

mod common;
mod outside;

use std::process::{Command, Stdio};

use common::*;
use sim_jobcenter::{UpdateSpec, UpdateStatus};

/// Opens `n` TLS connections with a vendor's certificate, sends POST headers announcing 2,100
/// bytes and only 100 of them, and waits (at most 60 s) for each answer: prints one line per
/// connection, `<seconds> <status line or 'closed'>`.
const SLOW_BODIES: &str = r#"
import socket, ssl, sys, threading, time
host, port, n, chain, key, ca = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5], sys.argv[6]
ctx = ssl.create_default_context(cafile=ca)
ctx.load_cert_chain(chain, key)
ctx.check_hostname = False
out = []
lock = threading.Lock()
def one():
    t0 = time.time()
    s = ctx.wrap_socket(socket.create_connection((host, port), timeout=60), server_hostname=host)
    s.sendall(b'POST /service/KSD/Sygefravaer/2 HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\nSOAPAction: "x"\r\nContent-Length: 2100\r\n\r\n' + b'<' * 100)
    try:
        first = s.recv(200).split(b'\r\n')[0].decode() or 'closed'
    except Exception as e:
        first = 'closed'
    with lock:
        out.append('%.1f %s' % (time.time() - t0, first))
ts = [threading.Thread(target=one) for _ in range(n)]
for t in ts: t.start()
print('started', flush=True)
for t in ts: t.join()
for line in out: print(line, flush=True)
"#;

/// A valid caller: kmd-jc sends one update through the platform.
async fn send_one(eco: &Eco) -> sim_jobcenter::SendOutcome {
    eco.running
        .jobcenter()
        .send_update(UpdateSpec {
            instance: Some("kmd-jc".into()),
            municipality: Some(eco.municipality_of("kmd-jc").to_string()),
            ..UpdateSpec::default()
        })
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_bodies_are_refused_at_the_deadline_and_a_valid_caller_is_served() {
    let eco = Eco::start().await;
    let e = eco.running.endpoints.clone();
    let (host, port) = e
        .sp_ksd_exposure
        .trim_start_matches("https://")
        .split('/')
        .next()
        .unwrap()
        .split_once(':')
        .map(|(h, p)| (h.to_string(), p.to_string()))
        .unwrap();
    let kit = sim_certs::store::layout::system(&e.certs_dir, "kmd-jc");
    let mut slow = Command::new("python3")
        .arg("-c")
        .arg(SLOW_BODIES)
        .args([host.as_str(), port.as_str(), "40"])
        .arg(&kit.chain)
        .arg(&kit.key)
        .arg(&e.root_ca)
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 is required");
    let mut out = std::io::BufReader::new(slow.stdout.take().unwrap());
    let mut line = String::new();
    std::io::BufRead::read_line(&mut out, &mut line).unwrap();
    assert_eq!(line.trim(), "started");
    let _guard = outside::Killed(slow);

    // A valid caller is served while the slow ones hold their connections.
    let sent = send_one(&eco).await;
    assert_eq!(sent.status, UpdateStatus::Accepted, "{sent:?}");

    // Each slow client gets its fault (HTTP 500) at the deadline: without one it would wait
    // until its own 60 s socket timeout and report 'closed'.
    let lines: Vec<String> = tokio::task::spawn_blocking(move || {
        std::io::BufRead::lines(out).map(Result::unwrap).collect()
    })
    .await
    .unwrap();
    assert_eq!(lines.len(), 40, "{lines:?}");
    for l in &lines {
        let (_, status) = l.split_once(' ').unwrap();
        assert!(status.contains("500"), "{l}");
    }
    let faults = eco
        .admin
        .get(&format!(
            "{}/journal?outcome=FAULT:WIRE-1&operation=KSD/?",
            e.sp_admin
        ))
        .await
        .unwrap()
        .1;
    assert!(
        faults.as_array().unwrap().len() >= 40,
        "every refusal journaled: {faults}"
    );
}

/// Issue 15: a flood of plain TCP connections that never start TLS (kept up, reconnecting as
/// the platform drops them) leaves a valid caller served at its first attempt while it lasts.
/// (That silent connections take no connection slot at all is held by sim-kit's
/// `silent_connections_do_not_take_the_slots_of_valid_callers`, with a cap small enough to
/// fail without it.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_silent_tcp_connections_leaves_a_valid_caller_served() {
    let eco = Eco::start().await;
    let e = eco.running.endpoints.clone();
    let addr: std::net::SocketAddr = e
        .sp_ksd_exposure
        .trim_start_matches("https://")
        .split('/')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut flood = tokio::task::JoinSet::new();
    for _ in 0..600 {
        let stop = stop.clone();
        flood.spawn(async move {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let Ok(mut c) = tokio::net::TcpStream::connect(addr).await else {
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                };
                let mut b = [0u8; 1];
                let _ = tokio::time::timeout(
                    std::time::Duration::from_secs(5),
                    tokio::io::AsyncReadExt::read(&mut c, &mut b),
                )
                .await;
            }
        });
    }
    // Let the flood fill more than the platform's 512 slots.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    for _ in 0..3 {
        let sent = send_one(&eco).await;
        assert_eq!(sent.status, UpdateStatus::Accepted, "{sent:?}");
        assert_eq!(
            sent.attempts, 1,
            "served at once, not after a resend: {sent:?}"
        );
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    flood.abort_all();
}

/// What cargo-fuzz found at the HTTP front (sim-wire/fuzz, target `http`): a GET on a SOAP
/// port got axum's bare 405, no fault and no journal row. Now, tried with curl (another
/// stack), every method but POST on the platform's ports is a journaled WIRE-1 fault, and an
/// unknown path an SP-4 one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_methods_and_paths_get_journaled_soap_faults_not_bare_405s() {
    let eco = Eco::start().await;
    let e = eco.running.endpoints.clone();
    let kit = sim_certs::store::layout::system(&e.certs_dir, "kmd-jc");
    let base = e.sp_ksd_exposure.replace("/service/KSD/Sygefravaer/2", "");
    for (method, path, rule) in [
        ("GET", "/service/KSD/Sygefravaer/2", "WIRE-1"),
        ("PUT", "/service/JC/Sygefravaer/2", "WIRE-1"),
        ("DELETE", "/service/KSD/Sygefravaer/2", "WIRE-1"),
        ("GET", "/nothing/here", "SP-4"),
    ] {
        let out = Command::new("curl")
            .args(["-s", "-k", "-X", method, "-w", "\n%{http_code}"])
            .arg("--cert")
            .arg(&kit.chain)
            .arg("--key")
            .arg(&kit.key)
            .arg(format!("{base}{path}"))
            .output()
            .expect("curl is required (test.sh installs it)");
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(text.ends_with("500"), "{method} {path}: {text}");
        assert!(
            text.contains("Fault") && text.contains(rule),
            "{method} {path}: {text}"
        );
    }
    let rows = eco
        .get(format!(
            "{}/journal?outcome=FAULT:WIRE-1&limit=100",
            e.sp_admin
        ))
        .await;
    assert!(rows.as_array().unwrap().len() >= 3, "{rows}");
}
