//! `sim validate`: a vendor's first tool — check one message offline before sending it.
//!
//! Exit codes: 0 valid (warnings allowed), 1 readable but breaks a rule, 2 unusable (not a
//! readable SOAP document of the contract, or the file cannot be read).

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use sim_wire::{read, Problem, Severity};

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
    let (report, code) = match read(&bytes, args.soap_action.as_deref()) {
        Ok(d) => {
            let valid = d.is_valid();
            let problems = d.problems.clone();
            let report = (
                d.operation.map(|o| o.label()),
                Some(d.kind),
                valid,
                true,
                problems,
            );
            (report, if valid { 0 } else { 1 })
        }
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

fn kind_name(k: sim_wire::MessageKind) -> &'static str {
    match k {
        sim_wire::MessageKind::Request => "request",
        sim_wire::MessageKind::Response => "response",
        sim_wire::MessageKind::Fault => "fault",
    }
}
