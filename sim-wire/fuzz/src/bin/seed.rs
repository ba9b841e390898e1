//! Seeds the fuzz corpora with every example message of the contract: `corpus/read/` for the
//! `read` target, and the same messages framed as raw HTTP/1.1 requests in `corpus/http/` for
//! the `http` target (Content-Length and chunked framing, pipelined, wrong port, no
//! SOAPAction, a wrong method).
//!
//! ```sh
//! cargo run --manifest-path sim-wire/fuzz/Cargo.toml --bin seed
//! ```
//!
//! Writes `corpus/read/<golden name>` (the document alone) and `corpus/read/action-<golden
//! name>` (`<SOAPAction>\0<document>`, the target's split form) next to this crate's
//! Cargo.toml, whatever the current directory. The corpus directory is gitignored.

use sim_wire::{examples, Message, Port};
use std::path::PathBuf;

fn main() -> std::io::Result<()> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("corpus/read");
    std::fs::create_dir_all(&dir)?;
    let mut n = 0;
    for (name, message) in examples::all() {
        let xml = sim_wire::write(&message);
        std::fs::write(dir.join(&name), &xml)?;
        n += 1;
        let operation = match &message {
            Message::Request(r) => Some(r.operation),
            Message::Response(r) => Some(r.operation),
            Message::Fault(_) => None,
        };
        if let Some(op) = operation {
            let mut framed = op.soap_action().into_bytes();
            framed.push(0);
            framed.extend_from_slice(xml.as_bytes());
            std::fs::write(dir.join(format!("action-{name}")), framed)?;
            n += 1;
        }
    }
    println!("wrote {n} seeds to {}", dir.display());
    http_seeds()
}

fn post(path: &str, action: Option<&str>, body: &[u8], chunked: bool) -> Vec<u8> {
    let mut r = format!("POST {path} HTTP/1.1\r\nHost: sp.test\r\nContent-Type: text/xml; charset=utf-8\r\n");
    if let Some(a) = action {
        r.push_str(&format!("SOAPAction: \"{a}\"\r\n"));
    }
    let mut r = r.into_bytes();
    if chunked {
        r.extend_from_slice(b"Transfer-Encoding: chunked\r\n\r\n");
        let half = body.len() / 2;
        for part in [&body[..half], &body[half..]] {
            r.extend_from_slice(format!("{:x}\r\n", part.len()).as_bytes());
            r.extend_from_slice(part);
            r.extend_from_slice(b"\r\n");
        }
        r.extend_from_slice(b"0\r\n\r\n");
    } else {
        r.extend_from_slice(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes());
        r.extend_from_slice(body);
    }
    r
}

/// The `http` target's seeds: each example request posted to its port as a jobcenter or KSD
/// would, chunked, to the other port, without SOAPAction, and a few odd requests.
fn http_seeds() -> std::io::Result<()> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("corpus/http");
    std::fs::create_dir_all(&dir)?;
    let mut n = 0;
    let mut put = |name: String, bytes: Vec<u8>| -> std::io::Result<()> {
        n += 1;
        std::fs::write(dir.join(name), bytes)
    };
    for (name, message) in examples::all() {
        let Message::Request(req) = &message else {
            continue;
        };
        let xml = sim_wire::write(&message);
        let op = req.operation;
        let action = op.soap_action();
        let path = op.port().platform_path();
        let other = match op.port() {
            Port::Ksd => Port::Jc.platform_path(),
            Port::Jc => Port::Ksd.platform_path(),
        };
        put(format!("{name}.http"), post(path, Some(&action), xml.as_bytes(), false))?;
        put(format!("chunked-{name}.http"), post(path, Some(&action), xml.as_bytes(), true))?;
        put(format!("no-action-{name}.http"), post(path, None, xml.as_bytes(), false))?;
        put(format!("other-port-{name}.http"), post(other, Some(&action), xml.as_bytes(), false))?;
        let mut two = post(path, Some(&action), xml.as_bytes(), false);
        two.extend(post(path, Some(&action), xml.as_bytes(), true));
        put(format!("pipelined-{name}.http"), two)?;
    }
    let ksd = Port::Ksd.platform_path();
    put("get-ksd.http".into(), format!("GET {ksd} HTTP/1.1\r\nHost: sp.test\r\n\r\n").into_bytes())?;
    put("head-elsewhere.http".into(), b"HEAD /x HTTP/1.1\r\nHost: sp.test\r\n\r\n".to_vec())?;
    put("elsewhere.http".into(), post("/service/Other", Some("x"), b"<a/>", false))?;
    put(
        "expect-continue.http".into(),
        format!("POST {ksd} HTTP/1.1\r\nHost: sp.test\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n<a/>").into_bytes(),
    )?;
    put(
        "short-body.http".into(),
        format!("POST {ksd} HTTP/1.1\r\nHost: sp.test\r\nContent-Length: 100\r\n\r\n<a/>").into_bytes(),
    )?;
    put(
        "http10.http".into(),
        format!("POST {ksd} HTTP/1.0\r\nContent-Length: 4\r\n\r\n<a/>").into_bytes(),
    )?;
    println!("wrote {n} seeds to {}", dir.display());
    Ok(())
}
