//! Seeds the fuzz corpus with every example message of the contract.
//!
//! ```sh
//! cargo run --manifest-path sim-wire/fuzz/Cargo.toml --bin seed
//! ```
//!
//! Writes `corpus/read/<golden name>` (the document alone) and `corpus/read/action-<golden
//! name>` (`<SOAPAction>\0<document>`, the target's split form) next to this crate's
//! Cargo.toml, whatever the current directory. The corpus directory is gitignored.

use sim_wire::{examples, Message};
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
    Ok(())
}
