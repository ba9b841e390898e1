//! `sim validate`: placeholder until the codec lands.

/// Arguments of `sim validate`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs `sim validate`.
pub fn run(_args: Args) -> anyhow::Result<std::process::ExitCode> {
    anyhow::bail!("sim validate is not built yet")
}
