//! `sim up` and `sim send` as a user runs them: two processes, the second finding the first
//! through `<state>/ecosystem.json`, the whole SF2095 exchange printed (SP-1, KSD-2).

use std::process::{Child, Command, Stdio};
use std::time::Duration;

struct Up(Child);
impl Drop for Up {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn sim_up_then_sim_send_prints_the_whole_exchange() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let up = Command::new(env!("CARGO_BIN_EXE_sim"))
        .args([
            "up",
            "--ephemeral-ports",
            "--state-dir",
            state.to_str().unwrap(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _up = Up(up);
    let ready = state.join("ecosystem.json");
    for _ in 0..300 {
        if ready.exists() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(ready.exists(), "sim up did not start");

    let out = Command::new(env!("CARGO_BIN_EXE_sim"))
        .args([
            "send",
            "--state-dir",
            state.to_str().unwrap(),
            "--vendor",
            "schultz-jc",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("schultz-jc sends SendOpdateringFravaer"),
        "{text}"
    );
    assert!(
        text.contains("<kvit:TransportValideringsKode>OK</kvit:TransportValideringsKode>"),
        "{text}"
    );
    assert!(
        text.contains("Forretningskvittering received by schultz-jc: ACCEPTERET"),
        "{text}"
    );

    // rule KSD-5: a forbidden code is refused, and sim send says so with exit code 1.
    let out = Command::new(env!("CARGO_BIN_EXE_sim"))
        .args([
            "send",
            "--state-dir",
            state.to_str().unwrap(),
            "--aarsag",
            "64",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("KSD-5.VAERDI"), "{text}");
}
