//! A check that was not judged in a run (SP-8 away from speed 1) is reported as not judged:
//! neither PASS nor FAIL on the console and in HTML, a skipped case in JUnit, no
//! counterexamples, and it does not decide the verdict.

mod fixture;

use sim_report::{console, html, junit, CheckKind};

fn report() -> sim_report::RunReport {
    let mut r = fixture::report();
    r.checks.retain(|c| c.passed);
    let mut c = r.checks[0].clone();
    c.name = "platform-response-times".into();
    c.kind = CheckKind::Sla;
    c.not_judged = Some("not judged at speed max: virtual response times".into());
    c.examples.clear();
    r.checks.push(c);
    r
}

#[test]
fn not_judged_is_neither_pass_nor_fail() {
    let r = report();
    assert!(r.passed(), "a check not judged does not fail the run");
    let text = console::summary(&r);
    assert!(text.contains("NOT JUDGED sla"), "{text}");
    let xml = junit::render(&r);
    assert!(
        xml.contains(r#"<skipped message="not judged at speed max: virtual response times"/>"#),
        "{xml}"
    );
    assert!(xml.contains(r#"skipped="1""#), "{xml}");
    let page = html::render(&r);
    assert!(page.contains("NOT JUDGED"), "html");
}
