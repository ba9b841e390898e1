//! The HTML page: three plots for the run and two more per integration with traffic, the checks, the seats' conformance, self-contained, accepted by xmllint's HTML parser
//! and well-formed XML as well.

mod fixture;
mod xmllint;

use quick_xml::events::Event;
use quick_xml::Reader;
use sim_report::{html, FlowTotals};

/// Elements libxml2's HTML parser (before 2.14, HTML 4 based) reports as "Tag … invalid": the
/// SVG vocabulary plotters writes, and HTML5's `<details>`/`<summary>` (the conformance
/// section's counterexamples). Reported as errors but harmless (exit status 0); any other
/// complaint fails the test.
const NON_HTML4_TAGS: &[&str] = &[
    "svg", "rect", "text", "polyline", "line", "circle", "polygon", "g", "path", "details",
    "summary",
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
fn page_has_header_checks_totals_and_plots() {
    let page = html::render(&fixture::report());
    assert!(page.starts_with("<!DOCTYPE html>\n"));
    assert_eq!(
        count(&page, "<svg"),
        5,
        "traffic, SF2090's calls, the flows' response times, latency and faults"
    );
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
    for report in [fixture::report(), fixture::empty(), fixture::with_seat()] {
        let page = html::render(&report);

        let out = xmllint::xmllint(&["--html", "--noout"], &page);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "xmllint --html: {stderr}");
        for complaint in stderr
            .lines()
            .filter(|l| l.contains("parser error") || l.contains("parser warning"))
        {
            let message = complaint.rsplit(" : ").next().unwrap_or(complaint);
            let harmless = NON_HTML4_TAGS
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

#[test]
fn a_seat_gets_a_conformance_table_and_its_counterexamples() {
    let page = html::render(&fixture::with_seat());
    elements(&page);
    for needle in [
        "<h2>Conformance</h2>",
        "1 outside system in seats: 1 conformance rule failed, 2 of 3 rules exercised.",
        "<h3>kmd-jc (jobcenter) <span class=\"verdict fail\">FAIL</span></h3>",
        "<code>https://jc.vendor.example/ws?a=1&amp;b=2</code>: coverage 2/3 rules exercised, 1 rule failed.",
        "<tr class=\"passed\"><td class=\"status\">PASS</td><td>JC-2</td>",
        "<tr class=\"failed\"><td class=\"status\">FAIL</td><td>WIRE-2</td>",
        "<tr class=\"not-exercised\"><td class=\"status\">NOT EXERCISED</td><td>KSD-7</td>",
        "the scenario injected no duplicate_update fault",
        "<a href=\"#evidence-0-1\">5 counterexamples below</a>",
        "<details id=\"evidence-0-1\"><summary>WIRE-2 a valid delivery is answered with HTTP 200: 5 counterexamples</summary>",
        "<li><p>tid=T-&lt;1&gt; call=urn:uuid:c-1 — answered HTTP 500 to a valid delivery</p>",
        // The raw exchange, escaped (a CDATA end inside it is harmless).
        "<pre>&lt;soap:Envelope xmlns:soap=&quot;http://schemas.xmlsoap.org/soap/envelope/&quot;&gt;&#10;  &lt;Body&gt;]]&gt; &amp; &lt;![CDATA[x]]&gt; \u{FFFD}&lt;/Body&gt;",
        "<pre>HTTP/1.1 500 Internal Server Error&#13;&#10;&#13;&#10;&lt;fault&gt;boom&lt;/fault&gt;</pre>",
        "<li><p>call=urn:uuid:c-5 — answered HTTP 500 to a valid delivery</p></li>",
    ] {
        assert!(page.contains(needle), "{needle:?} missing");
    }
    // Two failed checks and the broken rule; two passed checks and the kept rule.
    assert_eq!(count(&page, "<tr class=\"failed\">"), 3);
    assert_eq!(count(&page, "<tr class=\"passed\">"), 3);
    assert_eq!(count(&page, "<tr class=\"not-exercised\">"), 1);
    // Only the broken rule has counterexamples; only the first has raw messages.
    assert_eq!(count(&page, "<details"), 1);
    assert_eq!(count(&page, "<pre>"), 2);
    // Links stay on the page.
    assert_eq!(count(&page, "href=\""), count(&page, "href=\"#evidence-"));
}

#[test]
fn a_broken_rule_fails_the_page_even_when_every_check_held() {
    let page = html::render(&fixture::only_the_seat_fails());
    assert!(page.contains("<title>sim run sf2095-faults: FAIL</title>"));
    assert!(page.contains("<p>4 of 4 checks held."), "{page}");
}

#[test]
fn a_run_without_seats_has_no_conformance_section() {
    let page = html::render(&fixture::report());
    assert!(!page.contains("Conformance"));
    assert!(!page.contains("outside system"));
}

#[test]
fn a_flow_with_traffic_gets_its_plots_and_a_row() {
    let page = html::render(&fixture::report());
    elements(&page);
    for needle in [
        "<h2>Flows</h2>",
        "<tr><td>SF2090</td><td>JC/SendHaendelse, KSD/SendForretningsSvar</td><td class=\"num\">84</td><td class=\"num\">40</td><td class=\"num\">120 ms</td><td class=\"num\">900 ms</td></tr>",
        // Its traffic plot: title, a line per leg and the new messages.
        "SF2090: calls to the platform per 10 min (shaded: faults)",
        ">\nJC/SendHaendelse\n<",
        ">\nKSD/SendForretningsSvar\n<",
        ">\nnew messages\n<",
        // Its lines in the response-time plot.
        ">\nSF2090 p99\n<",
        ">\nSF2090 p50\n<",
    ] {
        assert!(page.contains(needle), "{needle:?} missing");
    }
    // The flows come after the run's traffic and before its latency.
    let at = |needle: &str| page.find(needle).expect(needle);
    assert!(at("<h2>Traffic</h2>") < at("<h2>Flows</h2>"));
    assert!(at("<h2>Flows</h2>") < at("<h2>Latency</h2>"));
}

#[test]
fn response_times_are_drawn_only_for_buckets_with_calls() {
    // SF2090 has calls in 6 of its 12 buckets: a marker for p99 and one for p50 in each, and
    // no other plot draws circles.
    let page = html::render(&fixture::report());
    assert_eq!(count(&page, "<circle"), 12);
}

#[test]
fn a_flow_without_traffic_or_series_gets_no_chart() {
    let mut report = fixture::report();
    let sf2090 = report.totals.flows[0].clone();
    report.totals.flows = vec![
        FlowTotals {
            integration: "SF2095".into(),
            calls: 300,
            messages: 300,
            ..sf2090.clone()
        },
        // In a report written before the series: figures only.
        FlowTotals {
            integration: "SF2090".into(),
            series: vec![],
            bucket_seconds: 0,
            ..sf2090.clone()
        },
        // No calls, however it came to be listed.
        FlowTotals {
            integration: "SF2093".into(),
            calls: 0,
            messages: 0,
            ..sf2090
        },
    ];
    let page = html::render(&report);
    elements(&page);
    assert_eq!(count(&page, "<svg"), 5, "only SF2095 is plotted");
    assert!(page.contains("SF2095: calls to the platform"));
    assert!(page.contains(">\nSF2095 p99\n<"));
    for absent in ["SF2090: calls", "SF2090 p99", "SF2093: calls", "SF2093 p99"] {
        assert!(!page.contains(absent), "{absent:?} plotted");
    }
    // All three are in the table.
    assert_eq!(count(&page, "<tr><td>SF209"), 3);
}

#[test]
fn a_run_without_flows_has_no_flows_section_and_no_flow_charts() {
    let mut report = fixture::report();
    report.totals.flows.clear();
    let page = html::render(&report);
    assert!(!page.contains("<h2>Flows</h2>"));
    assert_eq!(count(&page, "<svg"), 3);
}

#[test]
fn a_series_without_per_leg_counts_plots_all_calls() {
    let mut report = fixture::report();
    for p in &mut report.totals.flows[0].series {
        p.per_leg.clear();
    }
    let page = html::render(&report);
    assert!(page.contains(">\ncalls\n<"));
    assert!(!page.contains(">\nJC/SendHaendelse\n<"));
}
