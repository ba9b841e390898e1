//! The published contract (`contracts/`) checked with xmllint (Debian package libxml2-utils).
//!
//! - every example in `contracts/examples/` and every golden file the codec writes to
//!   `sim-wire/tests/data/` validates against `contracts/xsd/all.xsd`, and at least 20 files
//!   are checked so the test cannot pass on empty directories;
//! - every file in `contracts/examples/invalid/` is rejected by the schema, with the error
//!   its `expect-error:` comment names (so it fails for the reason it was written for);
//! - every XSD and WSDL is well formed, every XSD is reached from `all.xsd`, and each WSDL
//!   declares exactly its port's operations, with SOAPAction = namespace + operation name, a
//!   ServiceplatformFault on every operation, and one request and one response example each.
//!
//! xmllint always runs with `--nonet`: the schemas are local and nothing may be fetched.
//! A missing xmllint fails the test; it is never skipped.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const INSTALL_HINT: &str =
    "xmllint is required: install libxml2-utils (apt-get install -y libxml2-utils)";

/// xmllint's exit code for "the document does not validate" (as opposed to 1, not well formed,
/// or 5, the schema does not compile).
const XMLLINT_VALIDATION_ERROR: i32 = 3;

fn workspace() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    root.canonicalize()
        .unwrap_or_else(|e| panic!("workspace root {}: {e}", root.display()))
}

fn contracts() -> PathBuf {
    workspace().join("contracts")
}

fn all_xsd() -> PathBuf {
    contracts().join("xsd").join("all.xsd")
}

fn xmllint(args: &[&str], file: &Path) -> Output {
    match Command::new("xmllint").args(args).arg(file).output() {
        Ok(out) => out,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            panic!("{INSTALL_HINT} (xmllint not found on PATH)")
        }
        Err(e) => panic!("{INSTALL_HINT} (running xmllint failed: {e})"),
    }
}

fn validate(file: &Path) -> Output {
    let schema = all_xsd();
    xmllint(
        &[
            "--noout",
            "--nonet",
            "--schema",
            schema.to_str().expect("utf-8 path"),
        ],
        file,
    )
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Files directly in `dir` whose name ends in `.{ext}`, sorted; an absent directory is empty.
fn files(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = entries
        .map(|e| e.expect("readable directory entry").path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == ext))
        .collect();
    out.sort();
    out
}

fn name(p: &Path) -> String {
    p.file_name().unwrap().to_string_lossy().into_owned()
}

#[test]
fn examples_and_golden_files_validate_against_all_xsd() {
    let examples = files(&contracts().join("examples"), "xml");
    let golden = files(&workspace().join("sim-wire/tests/data"), "xml");
    assert!(
        !examples.is_empty(),
        "no examples found in {}",
        contracts().join("examples").display()
    );

    let mut failures = Vec::new();
    let mut checked = 0;
    for file in examples.iter().chain(&golden) {
        let out = validate(file);
        checked += 1;
        if !out.status.success() {
            failures.push(format!(
                "{} (exit {:?}):\n{}",
                file.display(),
                out.status.code(),
                text(&out)
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {checked} files do not validate against {}:\n\n{}",
        failures.len(),
        all_xsd().display(),
        failures.join("\n")
    );
    assert!(
        checked >= 20,
        "only {checked} files were validated ({} examples, {} golden); expected at least 20",
        examples.len(),
        golden.len()
    );
}

/// The `expect-error:` text of an invalid example's leading comment.
fn expected_error(file: &Path) -> String {
    let body = fs::read_to_string(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    let marker = "expect-error:";
    let start = body
        .find(marker)
        .unwrap_or_else(|| panic!("{} has no `{marker}` comment", file.display()))
        + marker.len();
    let rest = &body[start..];
    let end = rest
        .find("-->")
        .unwrap_or_else(|| panic!("{}: unterminated comment", file.display()));
    let expected = rest[..end].trim().to_owned();
    assert!(
        !expected.is_empty(),
        "{}: empty expect-error",
        file.display()
    );
    expected
}

#[test]
fn invalid_examples_are_rejected() {
    let invalid = files(&contracts().join("examples").join("invalid"), "xml");
    assert!(
        invalid.len() >= 4,
        "expected at least 4 invalid examples, found {}",
        invalid.len()
    );

    let mut problems = Vec::new();
    for file in &invalid {
        let expected = expected_error(file);
        let out = validate(file);
        let got = text(&out);
        if out.status.success() {
            problems.push(format!(
                "{} was ACCEPTED but must be rejected",
                file.display()
            ));
        } else if out.status.code() != Some(XMLLINT_VALIDATION_ERROR) {
            problems.push(format!(
                "{} failed with exit {:?}, not as a validation error (is it well formed?):\n{got}",
                file.display(),
                out.status.code()
            ));
        } else if !got.contains(&expected) {
            problems.push(format!(
                "{} was rejected for another reason than `{expected}`:\n{got}",
                file.display()
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}

#[test]
fn every_xsd_and_wsdl_is_well_formed() {
    let mut checked = Vec::new();
    let mut failures = Vec::new();
    for file in files(&contracts().join("xsd"), "xsd")
        .into_iter()
        .chain(files(&contracts().join("wsdl"), "wsdl"))
    {
        let out = xmllint(&["--noout", "--nonet"], &file);
        if !out.status.success() {
            failures.push(format!("{}:\n{}", file.display(), text(&out)));
        }
        checked.push(name(&file));
    }
    assert!(
        failures.is_empty(),
        "not well formed:\n{}",
        failures.join("\n")
    );
    assert!(
        checked.iter().filter(|n| n.ends_with(".xsd")).count() >= 11,
        "expected the 11 schemas (9 namespaces, soap envelope, all.xsd), found {checked:?}"
    );
    assert_eq!(
        checked.iter().filter(|n| n.ends_with(".wsdl")).count(),
        10,
        "expected 10 WSDLs (Sygefravaer's four, KY's two, STAR's two, the Beskedfordeler's two), found {checked:?}"
    );
}

#[test]
fn all_xsd_imports_every_schema() {
    let driver = fs::read_to_string(all_xsd()).expect("all.xsd readable");
    for xsd in files(&contracts().join("xsd"), "xsd") {
        let n = name(&xsd);
        if n == "all.xsd" {
            continue;
        }
        assert!(
            driver.contains(&format!("schemaLocation=\"{n}\"")),
            "all.xsd does not import {n}, so nothing validates against it"
        );
    }
}

/// Evaluates an XPath 1.0 expression with `xmllint --xpath` and returns its text output.
fn xpath(file: &Path, expr: &str) -> String {
    let out = xmllint(&["--nonet", "--xpath", expr], file);
    assert!(
        out.status.success(),
        "xpath `{expr}` on {}: {}",
        file.display(),
        text(&out)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// Values of `attr="..."` in xmllint's rendering of an attribute node set.
fn attribute_values(rendered: &str, attr: &str) -> BTreeSet<String> {
    let marker = format!("{attr}=\"");
    rendered
        .split(&marker)
        .skip(1)
        .map(|s| s.split('"').next().unwrap_or_default().to_owned())
        .collect()
}

#[test]
fn wsdls_declare_their_ports_operations_actions_faults_and_examples() {
    const KSD: &str = "http://serviceplatformen.dk/xml/wsdl/soap11/KSD/Sygefravaer/2/";
    const JC: &str = "http://serviceplatformen.dk/xml/wsdl/soap11/JC/Sygefravaer/2/";
    // SF1690 (rule KY-1): the exposure and KY's receiver port have the same eight operations.
    const KY: &str = "http://serviceplatformen.dk/xml/wsdl/soap11/KY/Kontanthjaelp/2/";
    const KY_OPS: &[&str] = &[
        "SendKontaktforloeb",
        "SendVisitationsgruppe",
        "SendTilkendegivelse",
        "SendAktivitet",
        "SendGodtgoerelse",
        "SendFravaer",
        "SendSanktionsanmodning",
        "SendMaalgruppeskift",
    ];
    // SF1612 (rules SP-10, SP-12): STAR's two services, the platform's job calls them.
    const WSRM: &str = "http://star.dk/dfdg/WsrmService/3/";
    const WSRM_MESSAGE: &str = "http://star.dk/dfdg/WsrmMessageService/10/";
    // SF1612 (rules BF-1, BF-2): the Beskedfordeler's endpoint at the platform and the push
    // endpoint a subscriber implements.
    const BF: &str = "http://serviceplatformen.dk/xml/wsdl/soap11/Beskedfordeler/1/";
    let ports: [(&str, &str, &str, &[&str]); 10] = [
        (
            "KSD-Sygefravaer-2.wsdl",
            KSD,
            "KSD",
            &[
                "SendOpdateringFravaer",
                "SendForretningsSvar",
                "SendForretningsSvarForlaengelse",
                "HentSag",
                "HentSagsListe",
            ],
        ),
        (
            "KSD-Sygefravaer-2-modtager.wsdl",
            KSD,
            "KSD",
            &[
                "ModtagOpdateringFravaer",
                "ModtagForretningsSvar",
                "ModtagForretningsSvarForlaengelse",
                "HentSag",
                "HentSagsListe",
            ],
        ),
        (
            "JC-Sygefravaer-2.wsdl",
            JC,
            "JC",
            &[
                "SendForretningsSvar",
                "SendHaendelse",
                "SendAnmodningForlaengelse",
            ],
        ),
        (
            "JC-Sygefravaer-2-modtager.wsdl",
            JC,
            "JC",
            &[
                "ModtagForretningsSvar",
                "ModtagHaendelse",
                "ModtagAnmodningForlaengelse",
            ],
        ),
        ("KY-Kontanthjaelp-2.wsdl", KY, "KY", KY_OPS),
        ("KY-Kontanthjaelp-2-modtager.wsdl", KY, "KY", KY_OPS),
        (
            "star-WsrmService-3.wsdl",
            WSRM,
            "STAR",
            &["CreateSequence", "TerminateSequence", "CloseSequence"],
        ),
        (
            "star-WsrmMessageService-10.wsdl",
            WSRM_MESSAGE,
            "STAR",
            &["GetIllnessUpdatedVersion6"],
        ),
        (
            "Beskedfordeler-1.wsdl",
            BF,
            "bf",
            &[
                "VaerdilisteTilfoej",
                "VaerdilisteFjern",
                "HentBeskeder",
                "BekraeftBeskeder",
            ],
        ),
        (
            "Beskedfordeler-1-modtager.wsdl",
            BF,
            "bf",
            &["ModtagBesked"],
        ),
    ];
    let el = |n: &str| format!("*[local-name()='{n}']");
    let soap_op =
        "*[local-name()='operation' and namespace-uri()='http://schemas.xmlsoap.org/wsdl/soap/']";

    for (file, ns, port, ops) in ports {
        let wsdl = contracts().join("wsdl").join(file);
        let want: BTreeSet<String> = ops.iter().map(|s| s.to_string()).collect();

        assert_eq!(
            xpath(&wsdl, "string(/*/@targetNamespace)"),
            ns,
            "{file}: targetNamespace"
        );

        let port_type_ops = xpath(
            &wsdl,
            &format!("//{}/{}/@name", el("portType"), el("operation")),
        );
        assert_eq!(
            attribute_values(&port_type_ops, "name"),
            want,
            "{file}: portType operations"
        );

        let binding_ops = xpath(
            &wsdl,
            &format!("//{}/{}/@name", el("binding"), el("operation")),
        );
        assert_eq!(
            attribute_values(&binding_ops, "name"),
            want,
            "{file}: binding operations"
        );

        let actions = xpath(
            &wsdl,
            &format!(
                "//{}/{}/{soap_op}/@soapAction",
                el("binding"),
                el("operation")
            ),
        );
        let want_actions: BTreeSet<String> = ops.iter().map(|op| format!("{ns}{op}")).collect();
        assert_eq!(
            attribute_values(&actions, "soapAction"),
            want_actions,
            "{file}: soapActions"
        );

        let mismatched = xpath(
            &wsdl,
            &format!(
                "count(//{b}/{o}[{soap_op}/@soapAction != concat(/*/@targetNamespace, @name)])",
                b = el("binding"),
                o = el("operation")
            ),
        );
        assert_eq!(
            mismatched, "0",
            "{file}: a soapAction is not namespace + operation name"
        );

        let without_fault = xpath(
            &wsdl,
            &format!(
                "count(//{p}/{o}[not({f}[@name='ServiceplatformFault'])]) + count(//{b}/{o}[not({f}/*[local-name()='fault'])])",
                p = el("portType"),
                b = el("binding"),
                o = el("operation"),
                f = el("fault")
            ),
        );
        assert_eq!(
            without_fault, "0",
            "{file}: an operation lacks the ServiceplatformFault"
        );

        let fault_element = xpath(
            &wsdl,
            &format!(
                "string(//{m}[@name='ServiceplatformFault']/{part}/@element)",
                m = el("message"),
                part = el("part")
            ),
        );
        assert_eq!(
            fault_element, "spf:ServiceplatformFault",
            "{file}: fault message part"
        );

        for op in ops {
            for kind in ["request", "response"] {
                let example = contracts()
                    .join("examples")
                    .join(format!("{port}-{op}-{kind}.xml"));
                assert!(
                    example.is_file(),
                    "{file}: no example {}",
                    example.display()
                );
            }
        }
    }
}
