//! `sim-ksd`: the simulated KSD as a program of its own, so it can run beside real
//! systems. Reads a YAML config (see `sim_ksd::Config`), binds the data and admin ports and runs
//! until Ctrl-C.

use std::net::SocketAddr;

use clap::Parser;

/// Where the data plane and the admin API listen unless `--listen`/`--admin` say otherwise.
const DEFAULT_LISTEN: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 8444);
const DEFAULT_ADMIN: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 8081);

/// The simulated KSD (Kommunernes Sygedagpengesystem, SF2095).
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    #[command(flatten)]
    program: sim_kit::program::SingleArgs,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse().program;
    sim_kit::program::main_single("sim-ksd", args, DEFAULT_LISTEN, DEFAULT_ADMIN, |l, c| {
        sim_ksd::run(l, c, sim_kit::program::ctrl_c())
    })
    .await
    .map_err(anyhow::Error::from_boxed)
}
