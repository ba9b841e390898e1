//! `sim certs`: placeholder until the PKI lands.

/// Arguments of `sim certs`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs `sim certs`.
pub fn run(_args: Args) -> anyhow::Result<std::process::ExitCode> {
    anyhow::bail!("sim certs is not built yet")
}
