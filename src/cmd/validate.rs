//! `sim validate`: a vendor's first tool — check one message offline before sending it: a
//! Sygefravaer message, or an SF1690 `KontanthjaelpServiceKY` one (wire.md §5, read by
//! `sim_wire::ky` when the SOAPAction or the Body names a KY operation).
//!
//! Exit codes: 0 valid (warnings allowed), 1 readable but breaks a rule, 2 unusable (not a
//! readable SOAP document of the contract, or the file cannot be read).

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use sim_wire::ky::{self, KyOperation};
use sim_wire::{read, MessageKind, Problem, Severity, WireError};

/// Arguments of `sim validate`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The message file (a whole SOAP envelope), or `-` for standard input.
    file: PathBuf,
    /// The HTTP SOAPAction the message would be sent with; checked against the Body.
    #[arg(long)]
    soap_action: Option<String>,
    /// Print JSON: {"operation", "kind", "valid", "problems": [{rule, path, text, severity}]}.
    #[arg(long)]
    json: bool,
}

#[derive(serde::Serialize)]
struct Report<'a> {
    operation: Option<String>,
    kind: Option<sim_wire::MessageKind>,
    valid: bool,
    usable: bool,
    problems: Vec<ProblemOut<'a>>,
}

#[derive(serde::Serialize)]
struct ProblemOut<'a> {
    rule: &'a str,
    code: &'a str,
    path: &'a str,
    text: &'a str,
    severity: Severity,
}

impl<'a> From<&'a Problem> for ProblemOut<'a> {
    fn from(p: &'a Problem) -> Self {
        ProblemOut {
            rule: p.rule.id(),
            code: p.code,
            path: &p.path,
            text: &p.text,
            severity: p.severity,
        }
    }
}

/// Runs `sim validate`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let bytes = if args.file.as_os_str() == "-" {
        let mut b = Vec::new();
        std::io::stdin()
            .read_to_end(&mut b)
            .context("reading standard input")?;
        b
    } else {
        std::fs::read(&args.file).with_context(|| format!("reading {}", args.file.display()))?
    };
    let (report, code) = match read_any(&bytes, args.soap_action.as_deref()) {
        Ok((operation, kind, valid, problems)) => (
            (operation, Some(kind), valid, true, problems),
            if valid { 0 } else { 1 },
        ),
        Err(e) => {
            let p = Problem::error(e.rule(), sim_wire::rules::code::DOKUMENT, "", e.to_string());
            ((None, None, false, false, vec![p]), 2)
        }
    };
    let (operation, kind, valid, usable, problems) = report;
    if args.json {
        let out = Report {
            operation,
            kind,
            valid,
            usable,
            problems: problems.iter().map(ProblemOut::from).collect(),
        };
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        match (&operation, kind) {
            (Some(op), Some(k)) => println!("operation: {op} ({})", kind_name(k)),
            (None, Some(k)) => println!("operation: none named ({})", kind_name(k)),
            _ => println!("operation: unusable document"),
        }
        let errors = problems.iter().filter(|p| p.is_error()).count();
        let warnings = problems.len() - errors;
        let verdict = match code {
            0 => "valid",
            1 => "INVALID",
            _ => "UNUSABLE",
        };
        println!("verdict:   {verdict} ({errors} error(s), {warnings} warning(s))");
        for p in &problems {
            let sev = if p.is_error() { "error  " } else { "warning" };
            let path = if p.path.is_empty() { "-" } else { &p.path };
            println!("  {sev} {:<7} {path}\n          {}", p.rule.id(), p.text);
        }
    }
    Ok(ExitCode::from(code))
}

/// The operation's label, the kind, validity and problems of a Sygefravaer or an SF1690
/// message: a KY SOAPAction sends it to `sim_wire::ky` first, and a Body naming no Sygefravaer
/// operation is tried as KY's before it is called unusable.
fn read_any(
    bytes: &[u8],
    action: Option<&str>,
) -> Result<(Option<String>, MessageKind, bool, Vec<Problem>), WireError> {
    let sygefravaer = || {
        read(bytes, action).map(|d| {
            let valid = d.is_valid();
            (d.operation.map(|o| o.label()), d.kind, valid, d.problems)
        })
    };
    let kontanthjaelp = || {
        ky::read(bytes, action).map(|d| {
            let valid = d.is_valid();
            (d.operation.map(|o| o.label()), d.kind, valid, d.problems)
        })
    };
    if action.and_then(KyOperation::from_soap_action).is_some() {
        return match kontanthjaelp() {
            Err(WireError::UnknownOperation { .. }) => sygefravaer(),
            other => other,
        };
    }
    match sygefravaer() {
        Err(e @ WireError::UnknownOperation { .. }) => kontanthjaelp().map_err(|_| e),
        other => other,
    }
}

fn kind_name(k: sim_wire::MessageKind) -> &'static str {
    match k {
        sim_wire::MessageKind::Request => "request",
        sim_wire::MessageKind::Response => "response",
        sim_wire::MessageKind::Fault => "fault",
    }
}
