//! `sim validate` as a vendor uses it: the real binary on files and stdin, exit codes 0/1/2,
//! and JSON naming the rule (KSD-5, WIRE-1 ...).

use std::io::Write;
use std::process::{Command, Stdio};

fn sim() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sim"))
}

fn golden(name: &str) -> String {
    format!("{}/sim-wire/tests/data/{name}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn a_valid_message_exits_zero_and_names_the_operation() {
    let out = sim()
        .args(["validate", &golden("KSD-SendOpdateringFravaer-request.xml")])
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("KSD/SendOpdateringFravaer (request)"),
        "{stdout}"
    );
}

#[test]
fn rule_ksd5_forbidden_code_exits_one_with_json_naming_the_rule() {
    let xml = std::fs::read_to_string(golden("KSD-SendOpdateringFravaer-request.xml")).unwrap();
    let xml = xml.replace("<sft:OphoersAarsag>20<", "<sft:OphoersAarsag>60<");
    let mut child = sim()
        .args(["validate", "-", "--json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(xml.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["operation"], "KSD/SendOpdateringFravaer");
    let problems = v["problems"].as_array().unwrap();
    assert!(
        problems.iter().any(|p| p["rule"] == "KSD-5"
            && p["path"] == "OpdateringFravaer/OphoersAarsag"
            && p["severity"] == "error"),
        "{v}"
    );
}

#[test]
fn soap_action_disagreement_is_explained_rule_wire1() {
    let out = sim()
        .args([
            "validate",
            &golden("KSD-SendOpdateringFravaer-request.xml"),
            "--soap-action",
            "http://serviceplatformen.dk/xml/wsdl/soap11/KSD/Sygefravaer/2/HentSag",
            "--json",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        v["problems"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["rule"] == "WIRE-1" && p["path"] == "SOAPAction"),
        "{v}"
    );
}

#[test]
fn an_unusable_document_exits_two() {
    let dir = std::env::temp_dir().join(format!("sim-validate-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join("soap12.xml");
    std::fs::write(
        &f,
        r#"<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope"><e:Body/></e:Envelope>"#,
    )
    .unwrap();
    let out = sim()
        .args(["validate"])
        .arg(&f)
        .arg("--json")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["usable"], false);
    assert!(
        v["problems"][0]["text"]
            .as_str()
            .unwrap()
            .contains("SOAP 1.2"),
        "{v}"
    );
    let missing = sim()
        .args(["validate", "/nonexistent/file.xml"])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2));
    std::fs::remove_dir_all(&dir).ok();
}

/// SF1690: a published KontanthjaelpServiceKY example is valid; one with a sub-action its
/// operation does not have exits one naming rule KY-3.
#[test]
fn a_ky_message_is_checked_too_rule_ky3() {
    let example = |name: &str| format!("{}/contracts/examples/{name}", env!("CARGO_MANIFEST_DIR"));
    let out = sim()
        .args(["validate", &example("KY-SendFravaer-request.xml")])
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("KY/SendFravaer (request)"), "{stdout}");
    let out = sim()
        .args([
            "validate",
            &example("invalid/KY-Fravaer-Handling-SLET.xml"),
            "--json",
            "--soap-action",
            "http://serviceplatformen.dk/xml/wsdl/soap11/KY/Kontanthjaelp/2/SendFravaer",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["operation"], "KY/SendFravaer");
    assert!(
        v["problems"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["rule"] == "KY-3" && p["path"] == "Fravaer/Handling"),
        "{v}"
    );
}
