//! Fuzzes `sim_wire::read`: it must never panic, and whatever message it reads must survive
//! `write` → `read` unchanged (round trip).
//!
//! Input: the raw document, or `<SOAPAction>\0<document>` — when the data holds a 0 byte,
//! the (lossily UTF-8-decoded) prefix is passed as the SOAPAction and the rest as the XML.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The whole input as a document without a SOAPAction.
    check(data, None);
    // Split at the first 0 byte: prefix = SOAPAction, rest = document.
    if let Some(nul) = data.iter().position(|&b| b == 0) {
        let action = String::from_utf8_lossy(&data[..nul]);
        check(&data[nul + 1..], Some(&action));
    }
});

fn check(xml: &[u8], soap_action: Option<&str>) {
    let Ok(first) = sim_wire::read(xml, soap_action) else {
        return;
    };
    let Some(message) = first.message else {
        return;
    };
    let written = sim_wire::write(&message);
    let second = match sim_wire::read(written.as_bytes(), soap_action) {
        Ok(second) => second,
        Err(e) => panic!("the written message does not read back: {e}\n{written}"),
    };
    assert_eq!(
        second.message.as_ref(),
        Some(&message),
        "round trip changed the message\nwritten:\n{written}"
    );
}
