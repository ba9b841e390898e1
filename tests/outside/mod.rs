//! What the tests that put an outside system in a seat share: the outside system's own PKI
//! (nothing shared with the simulator's), a guard that kills its process, a free port, and a
//! receipt document it answers with.
#![allow(dead_code)] // each test file uses a different subset

use std::path::{Path, PathBuf};
use std::process::Child;

use sim_wire::{
    Message, Operation, Response, ResponseBody, TransportKvittering, TransportValideringsKode,
};

/// Kills the outside system's process when the test ends, however it ends.
pub struct Killed(pub Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A port nobody listens on now (for a program the test must configure before it starts).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// An outside system's own PKI, written into a directory: its CA, a server certificate for
/// 127.0.0.1 and a system (client) certificate for CVR 12345678.
pub struct OwnPki {
    /// Its root CA (what the simulator is told to trust).
    pub root: PathBuf,
    /// Server certificate chain and key.
    pub server_chain: PathBuf,
    pub server_key: PathBuf,
    /// System certificate chain and key (CVR 12345678).
    pub client_chain: PathBuf,
    pub client_key: PathBuf,
    /// The system certificate's UUID.
    pub uuid: String,
}

impl OwnPki {
    /// Makes it in `dir`; `name` names the server certificate.
    pub fn new(dir: &Path, name: &str) -> OwnPki {
        let now = sim_store::Clock::real().now();
        let pki = sim_certs::TestPki::generate(now).unwrap();
        let server = pki
            .issue_server(&sim_certs::ServerSpec::for_service(name, name), now)
            .unwrap();
        let subject = sim_certs::OrgSubject::oces3(
            "Outside A/S",
            "12345678".parse().unwrap(),
            &format!("{name} system"),
        );
        let client = pki.issue_system(&subject, now).unwrap();
        let p = |n: &str| dir.join(format!("{name}.{n}"));
        let files = [
            ("root.pem", &pki.root.cert_pem),
            ("server.chain.pem", &server.chain_pem),
            ("server.key.pem", &server.key_pem),
            ("client.chain.pem", &client.chain_pem),
            ("client.key.pem", &client.key_pem),
        ];
        for (n, pem) in files {
            std::fs::write(p(n), pem).unwrap();
        }
        OwnPki {
            root: p("root.pem"),
            server_chain: p("server.chain.pem"),
            server_key: p("server.key.pem"),
            client_chain: p("client.chain.pem"),
            client_key: p("client.key.pem"),
            uuid: subject.uuid(),
        }
    }
}

/// A TransportKvittering answering `op` with `kode`.
pub fn receipt(op: Operation, kode: TransportValideringsKode) -> String {
    sim_wire::write(&Message::Response(Response {
        operation: op,
        body: ResponseBody::TransportKvittering(TransportKvittering {
            kode,
            begrundelse: (kode == TransportValideringsKode::Fejl).then(|| "refused".to_string()),
            fejl_liste: vec![],
        }),
    }))
}
