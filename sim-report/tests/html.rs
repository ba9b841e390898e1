//! The HTML page: three plots, the checks, self-contained, accepted by xmllint's HTML parser
//! and well-formed XML as well.

mod fixture;
mod xmllint;

use quick_xml::events::Event;
use quick_xml::Reader;
use sim_report::html;

/// Elements libxml2's HTML parser (before 2.14, HTML 4 based) reports as "Tag … invalid": the
/// SVG vocabulary plotters writes. Reported as errors but harmless (exit status 0); any other
/// complaint fails the test.
const SVG_TAGS: &[&str] = &[
    "svg", "rect", "text", "polyline", "line", "circle", "polygon", "g", "path",
];

fn count(haystack: &str, needle: &str) -> usize {
    haystack.matches(needle).count()
}

/// Parses with quick-xml, checking that every end tag matches its start tag; returns the
/// element names in document order.
fn elements(page: &str) -> Vec<String> {
    let mut reader = Reader::from_str(page);
    reader.config_mut().check_end_names = true;
    let mut names = Vec::new();
    let mut depth = 0usize;
    loop {
        match reader.read_event().expect("well-formed XML") {
            Event::Start(e) => {
                depth += 1;
                names.push(e.name().as_ref().to_owned());
            }
            Event::Empty(e) => names.push(e.name().as_ref().to_owned()),
            Event::End(_) => depth -= 1,
            Event::Eof => break,
            _ => {}
        }
    }
    assert_eq!(depth, 0, "unbalanced elements");
    names
}

#[test]
fn page_has_header_checks_totals_and_three_plots() {
    let page = html::render(&fixture::report());
    assert!(page.starts_with("<!DOCTYPE html>\n"));
    assert_eq!(count(&page, "<svg"), 3, "traffic, latency and faults");
    for needle in [
        "sf2095-faults",
        "<span class=\"verdict fail\">FAIL</span>",
        "sha256:9f86d081884c7d65",
        "e2923b7",
        "<dd>42</dd>",
        // Every check by name, and the escaped example.
        "never-misrouted",
        "backlog-drains",
        "sp8-response-time",
        "max_lost",
        "tid &lt;7&gt; &amp; &quot;quoted&quot;",
        "urn:uuid:0000-8",
        // Totals and the fault table.
        "<th>undelivered</th><td class=\"num\">3</td>",
        "duplicate_update",
        "(instant)",
        "+2 s &lt;per&gt; call &amp; more",
        // Plot labels: the series, a fault row, a latency bucket.
        ">\nsent\n<",
        "crash @ sim-sp",
        "≤2 s",
    ] {
        assert!(page.contains(needle), "{needle:?} missing");
    }
    assert_eq!(count(&page, "<tr class=\"failed\">"), 2);
    assert_eq!(count(&page, "<tr class=\"passed\">"), 2);
}

#[test]
fn page_is_self_contained() {
    let page = html::render(&fixture::report());
    let names = elements(&page);
    for forbidden in ["script", "link", "img", "iframe", "object"] {
        assert!(!names.iter().any(|n| n == forbidden), "<{forbidden}> found");
    }
    // The only URLs are the SVG namespace.
    let urls = count(&page, "http://") + count(&page, "https://");
    assert_eq!(urls, count(&page, "xmlns=\"http://www.w3.org/2000/svg\""));
    assert!(!page.contains("url("), "no CSS references");
}

#[test]
fn an_empty_run_still_has_three_plots() {
    let page = html::render(&fixture::empty());
    assert_eq!(count(&page, "<svg"), 3);
    for note in [
        "no traffic was recorded",
        "no round trips were completed",
        "no faults were injected",
        "No checks ran",
    ] {
        assert!(page.contains(note), "{note:?} missing");
    }
    elements(&page);
}

#[test]
fn xmllint_accepts_it_as_html_and_as_xml() {
    for report in [fixture::report(), fixture::empty()] {
        let page = html::render(&report);

        let out = xmllint::xmllint(&["--html", "--noout"], &page);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "xmllint --html: {stderr}");
        for complaint in stderr
            .lines()
            .filter(|l| l.contains("parser error") || l.contains("parser warning"))
        {
            let message = complaint.rsplit(" : ").next().unwrap_or(complaint);
            let harmless = SVG_TAGS
                .iter()
                .any(|tag| message == format!("Tag {tag} invalid"));
            assert!(harmless, "xmllint --html: {complaint}");
        }

        let out = xmllint::xmllint(&["--noout"], &page);
        assert!(
            out.status.success() && out.stderr.is_empty(),
            "xmllint (XML): {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
