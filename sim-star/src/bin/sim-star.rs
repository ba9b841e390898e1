//! `sim-star`: the simulated STAR (DFDG) as a program of its own, so the platform's job — ours
//! or a real one — can fetch sick-leave statuses from it. Reads a YAML config (see
//! `sim_star::Config`), binds the data and admin ports and runs until Ctrl-C.

use std::net::SocketAddr;

use clap::Parser;

/// Where the data plane and the admin API listen unless `--listen`/`--admin` say otherwise
/// (`sim up`'s: next to the platform's 8443 and KSD's 8444; the jobcenters take 8445-8447).
const DEFAULT_LISTEN: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 8442);
const DEFAULT_ADMIN: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 8083);

/// The simulated STAR (DFDG): sick-leave statuses over a WS-RM-style sequence (SF1612).
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    #[command(flatten)]
    program: sim_kit::program::SingleArgs,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse().program;
    sim_kit::program::main_single("sim-star", args, DEFAULT_LISTEN, DEFAULT_ADMIN, |l, c| {
        sim_star::run(l, c, sim_kit::program::ctrl_c())
    })
    .await
    .map_err(anyhow::Error::from_boxed)
}
