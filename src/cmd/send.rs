//! `sim send`: push one realistic SF2095 update from a simulated vendor through a running
//! `sim up`, wait for KSD's business receipt, and print the whole exchange.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use serde_json::{json, Value};
use sim::admin_client::AdminClient;
use sim::ecosystem::Endpoints;

/// Arguments of `sim send`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The state directory of the running `sim up`.
    #[arg(long, default_value = ".sim")]
    state_dir: PathBuf,
    /// Vendor instance that sends (default: the one serving the municipality, or the first).
    #[arg(long)]
    vendor: Option<String>,
    /// Municipality CVR (default: the vendor's first municipality).
    #[arg(long)]
    municipality: Option<String>,
    /// OphoersAarsag code (default: a realistic one an outsider may send).
    #[arg(long)]
    aarsag: Option<u8>,
    /// How long to wait for the business receipt, in seconds.
    #[arg(long, default_value_t = 30)]
    timeout: u64,
}

fn text(v: &Value, key: &str) -> String {
    v.get(key).and_then(Value::as_str).unwrap_or("").to_string()
}

/// Runs `sim send`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let path = args.state_dir.join("ecosystem.json");
    let endpoints: Endpoints = serde_json::from_str(
        &std::fs::read_to_string(&path)
            .with_context(|| format!("reading {} — is `sim up` running?", path.display()))?,
    )?;
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async move {
        let client = AdminClient::default();
        let spec = json!({ "instance": args.vendor, "municipality": args.municipality, "ophoers_aarsag": args.aarsag });
        let (status, sent) = client.post(&format!("{}/send", endpoints.jobcenter_admin), &spec).await?;
        if status != 200 {
            anyhow::bail!("the jobcenter refused to send (HTTP {status}): {sent}");
        }
        let tid = text(&sent, "transaktion_id");
        println!("== {} sends SendOpdateringFravaer for municipality {} (TransaktionIdentifikator {tid})", text(&sent, "instance"), text(&sent, "municipality"));
        println!("{}", text(&sent, "request_xml"));
        println!("== TransportKvittering ({} attempt(s))", sent.get("attempts").and_then(Value::as_u64).unwrap_or(1));
        println!("{}", text(&sent, "response_xml"));
        let code = text(&sent, "transport_code");
        if code != "OK" && code != "ADVARSEL" {
            println!("== not accepted (transport code '{code}'{}): no business receipt will come", sent.get("fault").and_then(Value::as_str).map(|f| format!(", fault: {f}")).unwrap_or_default());
            return Ok(ExitCode::from(1));
        }
        let url = format!("{}/updates/{tid}/wait?timeout_ms={}", endpoints.jobcenter_admin, args.timeout * 1000);
        let (status, update) = client.get(&url).await?;
        let receipt = update.get("business_code").and_then(Value::as_str).map(str::to_string);
        match (status, receipt) {
            (200, Some(code)) => {
                println!("== Forretningskvittering received by {}: {code}", text(&update, "instance"));
                if let Some(raw) = update.get("business_raw").and_then(Value::as_str) {
                    println!("{raw}");
                }
                Ok(ExitCode::SUCCESS)
            }
            _ => {
                println!("== no business receipt within {} s (HTTP {status}): {update}", args.timeout);
                Ok(ExitCode::from(1))
            }
        }
    })
}
