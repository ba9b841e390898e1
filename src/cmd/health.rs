//! `sim health URL`: the health check of a container made `FROM scratch`, which has no curl
//! and no shell — GET the URL, exit 0 on a 2xx answer within the timeout, 1 otherwise.

use std::process::ExitCode;
use std::time::Duration;

use sim::admin_client::AdminClient;

/// Arguments of `sim health`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The URL to GET (plain HTTP), e.g. `http://127.0.0.1:8080/health`.
    url: String,
    /// Give up after this many milliseconds.
    #[arg(long, default_value_t = 2_000)]
    timeout_ms: u64,
}

/// Runs `sim health`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let answer = rt.block_on(async {
        let client = AdminClient::new(Duration::from_millis(args.timeout_ms));
        client.get(&args.url).await
    });
    Ok(match answer {
        Ok((status, _)) if (200..300).contains(&status) => ExitCode::SUCCESS,
        Ok((status, body)) => {
            eprintln!("sim health: {} answered {status}: {body}", args.url);
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("sim health: {}: {e:#}", args.url);
            ExitCode::FAILURE
        }
    })
}
