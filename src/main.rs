//! The `sim` command line: one binary for everything a user does with the simulator.
//!
//! Each subcommand lives in its own module under `cmd/`; this file only parses the command
//! line and dispatches. Exit codes are chosen by the subcommands (see each one's docs).

mod cmd;

use clap::{Parser, Subcommand};

/// The simulated Danish jobcenter ↔ KSD sick-leave (Sygefravaer) ecosystem.
#[derive(Debug, Parser)]
#[command(name = "sim", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// How log lines are written to stderr (`json`: one object per line, for log collectors).
    #[arg(long, value_enum, default_value_t, global = true)]
    log_format: sim_kit::program::LogFormat,
}

/// The `--log-format` given, for the subcommands that start logging.
static LOG_FORMAT: std::sync::OnceLock<sim_kit::program::LogFormat> = std::sync::OnceLock::new();

#[derive(Debug, Subcommand)]
enum Command {
    /// Validate one SOAP message offline and list every rule it breaks.
    Validate(cmd::validate::Args),
    /// Generate the test PKI (CAs, system certificates, a bad set) or issue a vendor certificate.
    Certs(cmd::certs::Args),
    /// Start the whole ecosystem (platform, KSD, jobcenter vendors) over loopback mTLS.
    Up(cmd::up::Args),
    /// Send one realistic SF2095 update through a running `sim up` and show the exchange.
    Send(cmd::send::Args),
    /// Measure the ecosystem (prints figures; separate from the tests).
    Bench(cmd::bench::Args),
    /// Run a scenario: traffic, faults, checks over the journals, reports; exit 1 if any fails.
    Run(cmd::run::Args),
    /// Run one program of the ecosystem in this process, with a control API for scenario runs
    /// across processes and containers.
    Serve(cmd::serve::Args),
    /// Exit 0 when GET URL answers 2xx (a container's health check; there is no curl in it).
    Health(cmd::health::Args),
}

/// Logs to stderr in the `--log-format` given; `RUST_LOG` overrides `default`.
pub(crate) fn init_tracing(default: &str) {
    let format = LOG_FORMAT.get().copied().unwrap_or_default();
    sim_kit::program::init_logging(default, format);
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let _ = LOG_FORMAT.set(cli.log_format);
    let result = match cli.command {
        Command::Validate(args) => cmd::validate::run(args),
        Command::Certs(args) => cmd::certs::run(args),
        Command::Up(args) => cmd::up::run(args),
        Command::Send(args) => cmd::send::run(args),
        Command::Bench(args) => cmd::bench::run(args),
        Command::Run(args) => cmd::run::run(args),
        Command::Serve(args) => cmd::serve::run(args),
        Command::Health(args) => cmd::health::run(args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("sim: error: {err:#}");
            std::process::ExitCode::from(2)
        }
    }
}
