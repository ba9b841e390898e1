//! Small formatting helpers the renderers share, so that the console, JUnit and HTML say the
//! same thing in the same words.

use std::borrow::Cow;

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::model::Evidence;

/// How many counterexamples the console and JUnit show per failed check: enough to start
/// looking in a journal, few enough that a summary stays a summary. The JSON keeps them all.
pub(crate) const SHOWN_EXAMPLES: usize = 5;

/// How many counterexamples of a broken conformance rule the console shows: each is a line of
/// its own, and the raw exchanges are in the JSON and HTML reports anyway.
pub(crate) const SHOWN_EVIDENCE: usize = 3;

/// One counterexample of a broken rule as one line: `tid=… call=… — what`, leaving out the IDs
/// the exchange does not have. Not yet made safe for any output.
pub(crate) fn evidence(e: &Evidence) -> String {
    let mut out = String::new();
    if let Some(tid) = &e.transaktion_id {
        out.push_str("tid=");
        out.push_str(tid);
    }
    if let Some(call) = &e.call_uuid {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str("call=");
        out.push_str(call);
    }
    if !out.is_empty() {
        out.push_str(" — ");
    }
    out.push_str(&e.what);
    out
}

/// `1 rule`, `2 rules`: a count with its noun, plural made by appending `s`.
pub(crate) fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("{n} {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// A span of time for people: `850 ms`, `12.5 s`, `3m 20s`, `2h 05m`, `3d 04h`.
pub(crate) fn duration(seconds: f64) -> String {
    if !seconds.is_finite() {
        return "n/a".to_owned();
    }
    if seconds < 1.0 {
        return format!("{:.0} ms", seconds * 1000.0);
    }
    if seconds < 60.0 {
        return format!("{seconds:.1} s");
    }
    let whole = seconds.round() as u64;
    let (d, h, m, s) = (
        whole / 86_400,
        whole / 3600 % 24,
        whole / 60 % 60,
        whole % 60,
    );
    if d > 0 {
        format!("{d}d {h:02}h")
    } else if h > 0 {
        format!("{h}h {m:02}m")
    } else {
        format!("{m}m {s:02}s")
    }
}

/// A latency in milliseconds for people: `0.42 ms`, `120 ms`, `1.25 s`, `2 s`.
pub(crate) fn millis(ms: f64) -> String {
    if !ms.is_finite() {
        "n/a".to_owned()
    } else if ms < 10.0 {
        format!("{ms:.2} ms")
    } else if ms < 1000.0 {
        format!("{ms:.0} ms")
    } else {
        let s = format!("{:.2}", ms / 1000.0);
        format!("{} s", s.trim_end_matches('0').trim_end_matches('.'))
    }
}

/// Virtual seconds as a clock offset `H:MM:SS` (hours unbounded), for progress and axes.
pub(crate) fn hms(seconds: u64) -> String {
    format!(
        "{}:{:02}:{:02}",
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60
    )
}

/// A number that may be fractional, without float noise: `3`, `0.25`, `1234.5`, `0.3` for
/// `0.1 + 0.2`. Three decimals, or three significant digits below 1; the JSON keeps the rest.
pub(crate) fn number(x: f64) -> String {
    if !x.is_finite() {
        return format!("{x}");
    }
    if x.fract() == 0.0 && x.abs() < 1e15 {
        return format!("{x:.0}");
    }
    let magnitude = x.abs();
    let decimals = if magnitude >= 1.0 {
        3
    } else {
        (3 + (-magnitude.log10()).floor() as usize).min(12)
    };
    let fixed = format!("{x:.decimals$}");
    let trimmed = fixed.trim_end_matches('0').trim_end_matches('.');
    if trimmed.is_empty() || trimmed == "-" || trimmed == "-0" {
        "0".to_owned()
    } else {
        trimmed.to_owned()
    }
}

/// RFC 3339, or the debug form if the offset cannot be written (years beyond 9999).
pub(crate) fn timestamp(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_else(|_| format!("{t}"))
}

/// `measured 1.8 (limit 2)` for numeric checks, empty otherwise.
pub(crate) fn measured(measured: Option<f64>, limit: Option<f64>) -> String {
    match (measured, limit) {
        (Some(m), Some(l)) => format!("measured {} (limit {})", number(m), number(l)),
        (Some(m), None) => format!("measured {}", number(m)),
        (None, Some(l)) => format!("limit {}", number(l)),
        (None, None) => String::new(),
    }
}

/// The first [`SHOWN_EXAMPLES`] examples joined by `, `, with `(+N more)` when there are more.
pub(crate) fn examples(examples: &[String]) -> String {
    let mut out = examples
        .iter()
        .take(SHOWN_EXAMPLES)
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(", ");
    if examples.len() > SHOWN_EXAMPLES {
        out.push_str(&format!(" (+{} more)", examples.len() - SHOWN_EXAMPLES));
    }
    out
}

/// Text made safe for one line of a terminal: control characters (line breaks, escape
/// sequences that could move the cursor or clear the screen) are shown as Rust escapes
/// (`\n`, `\u{1b}`), everything else as it is.
pub(crate) fn one_line(raw: &str) -> Cow<'_, str> {
    if !raw.chars().any(char::is_control) {
        return Cow::Borrowed(raw);
    }
    Cow::Owned(
        raw.chars()
            .map(|c| {
                if c.is_control() {
                    c.escape_default().to_string()
                } else {
                    c.to_string()
                }
            })
            .collect(),
    )
}

/// Text made safe for XML and HTML content and attribute values.
///
/// Escaping alone is not enough: counterexamples and notes may carry bytes from broken messages,
/// and characters XML 1.0 forbids (most C0 controls, U+FFFE/U+FFFF) make a document unreadable
/// however they are escaped. They become U+FFFD. Line breaks and tabs are written as character
/// references so that attribute values keep them (parsers fold literal ones into spaces).
pub(crate) fn xml(raw: &str) -> Cow<'_, str> {
    let allowed = |c: char| !matches!(c, '\u{0}'..='\u{8}' | '\u{B}' | '\u{C}' | '\u{E}'..='\u{1F}' | '\u{FFFE}' | '\u{FFFF}');
    let needs_more = |c: char| matches!(c, '\n' | '\r' | '\t') || !allowed(c);
    if !raw.chars().any(needs_more) {
        return quick_xml::escape::escape(raw);
    }
    let mut out = String::with_capacity(raw.len() + 16);
    for c in quick_xml::escape::escape(raw).chars() {
        match c {
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' => out.push_str("&#9;"),
            c if !allowed(c) => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Text with the characters XML forbids replaced, not escaped: for strings handed to plotters,
/// which escapes `<`, `>`, `&` and quotes itself.
pub(crate) fn xml_chars(raw: &str) -> String {
    raw.chars()
        .map(|c| match c {
            '\t' | '\n' | '\r' => ' ',
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => '\u{FFFD}',
            c => c,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        for (secs, want) in [
            (0.85, "850 ms"),
            (12.46, "12.5 s"),
            (200.0, "3m 20s"),
            (7500.0, "2h 05m"),
            (273_600.0, "3d 04h"),
            (f64::NAN, "n/a"),
        ] {
            assert_eq!(duration(secs), want, "{secs}");
        }
    }

    #[test]
    fn numbers() {
        for (x, want) in [
            (3.0, "3"),
            (0.1 + 0.2, "0.3"),
            (1234.5, "1234.5"),
            (2.0 / 3.0, "0.667"),
            (0.000_123_4, "0.000123"),
            (-1.25, "-1.25"),
            (1e-15, "0"),
        ] {
            assert_eq!(number(x), want, "{x}");
        }
    }

    #[test]
    fn latencies() {
        for (ms, want) in [
            (0.421, "0.42 ms"),
            (120.4, "120 ms"),
            (1250.0, "1.25 s"),
            (2000.0, "2 s"),
            (2500.0, "2.5 s"),
        ] {
            assert_eq!(millis(ms), want);
        }
    }

    #[test]
    fn xml_escapes_and_replaces_forbidden_characters() {
        assert_eq!(xml("plain"), "plain");
        assert_eq!(xml("a<b & \"c\""), "a&lt;b &amp; &quot;c&quot;");
        assert_eq!(xml("x\u{1}y\nz"), "x\u{FFFD}y&#10;z");
        assert_eq!(xml_chars("a\u{7}b\nc<"), "a\u{FFFD}b c<");
    }

    #[test]
    fn one_line_shows_control_characters_as_escapes() {
        assert_eq!(one_line("plain ø"), "plain ø");
        assert_eq!(one_line("a\nb\u{1b}[2J"), "a\\nb\\u{1b}[2J");
    }

    #[test]
    fn evidence_lines_leave_out_missing_ids() {
        let mut e = Evidence {
            transaktion_id: Some("T-1".into()),
            call_uuid: Some("C-1".into()),
            what: "answered FEJL".into(),
            request: None,
            response: None,
        };
        assert_eq!(evidence(&e), "tid=T-1 call=C-1 — answered FEJL");
        e.transaktion_id = None;
        assert_eq!(evidence(&e), "call=C-1 — answered FEJL");
        e.call_uuid = None;
        assert_eq!(evidence(&e), "answered FEJL");
        assert_eq!(count(1, "rule"), "1 rule");
        assert_eq!(count(0, "rule"), "0 rules");
    }

    #[test]
    fn examples_are_capped() {
        let many: Vec<String> = (1..=8).map(|i| format!("t{i}")).collect();
        assert_eq!(examples(&many), "t1, t2, t3, t4, t5 (+3 more)");
        assert_eq!(examples(&many[..2]), "t1, t2");
    }
}
