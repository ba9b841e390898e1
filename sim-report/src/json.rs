//! The report as JSON: what `sim run` saves next to the other renderings, so a run can be
//! re-rendered, compared or judged again later without running it again.
//!
//! The JSON is the serde form of [`RunReport`], pretty-printed. It round-trips exactly:
//! `parse(&render(r)) == r`, floats included (serde_json's `float_roundtrip` is enabled for
//! that). JSON has no NaN or infinity: serde_json writes them as `null`, so a non-finite
//! `measured` or `limit` reads back as `None`, and a non-finite latency or wall time makes
//! [`parse`] fail — the runner should report an empty latency as zeros with `count: 0`.

use crate::model::RunReport;

/// Why a saved report could not be read: the serde_json error, which names line and column.
pub type ParseError = serde_json::Error;

/// Pretty-printed JSON, ending with a newline (it is written to files).
pub fn render(report: &RunReport) -> String {
    // Serializing plain data to a String only fails for maps with non-string keys, which the
    // model does not have; fall back to the compact form of an error rather than panicking.
    let mut out = serde_json::to_string_pretty(report)
        .unwrap_or_else(|e| serde_json::json!({ "error": e.to_string() }).to_string());
    out.push('\n');
    out
}

/// Reads a report written by [`render`] (or by any producer of the same shape).
pub fn parse(json: &str) -> Result<RunReport, ParseError> {
    serde_json::from_str(json)
}
