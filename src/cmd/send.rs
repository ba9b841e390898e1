//! `sim send`: push one realistic SF2095 update from a simulated vendor through a running
//! `sim up`, wait for KSD's business receipt, and print the whole exchange.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use serde_json::{json, Value};
use sim::admin_client::AdminClient;
use sim::ecosystem::Endpoints;
use sim_store::{Label, Outcome};
use sim_wire::Operation;

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
    /// The admin token `sim up` was started with, if any.
    #[arg(long, value_name = "TOKEN")]
    admin_token: Option<String>,
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
        let client = AdminClient::default().with_token(args.admin_token.clone());
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
        if text(&sent, "status") == "sent" {
            // No TransportKvittering yet: the vendor keeps resending in the background (JC-1);
            // the business receipt comes once the platform and KSD answer.
            println!("== no TransportKvittering yet ({}): the vendor resends it in the background; waiting", sent.get("fault").and_then(Value::as_str).unwrap_or("no answer"));
        } else if code != "OK" && code != "ADVARSEL" {
            println!("== not accepted (transport code '{code}'{}): no business receipt will come", sent.get("fault").and_then(Value::as_str).map(|f| format!(", fault: {f}")).unwrap_or_default());
            return Ok(ExitCode::from(1));
        }
        let instance = text(&sent, "instance");
        if endpoints.seats.contains_key(&instance) {
            // An outside system takes the vendor's seat: the receipt goes to it, not to the
            // simulated vendor, so follow it through the platform's journal.
            return follow_to_seat(&client, &endpoints, &instance, &tid, args.timeout).await;
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

/// Waits until the platform has delivered the business receipt of `tid` to the outside system
/// in `instance`'s seat (its journal's `JC/ModtagForretningsSvar` out rows), and prints the
/// receipt and how the seat answered. Exit 0 when the seat accepted it (OK/ADVARSEL).
async fn follow_to_seat(
    client: &AdminClient,
    endpoints: &Endpoints,
    instance: &str,
    tid: &str,
    timeout_s: u64,
) -> anyhow::Result<ExitCode> {
    let label = Label::request(Operation::ModtagForretningsSvarJc).to_string();
    let url = format!(
        "{}/journal?transaktion_id={tid}&operation={label}&direction=out",
        endpoints.sp_admin
    );
    let seat = endpoints.seats.get(instance).cloned().unwrap_or_default();
    println!("== {instance}'s seat is taken by an outside system at {seat}: following the receipt through the platform's journal");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(timeout_s);
    let mut shown = 0usize;
    loop {
        let (status, rows) = client.get(&url).await?;
        let rows = rows.as_array().cloned().unwrap_or_default();
        if status != 200 {
            anyhow::bail!("the platform's journal answered HTTP {status}");
        }
        for (i, row) in rows.iter().enumerate().skip(shown) {
            let outcome: Outcome = text(row, "outcome").parse().unwrap_or_else(|e| match e {});
            println!(
                "== delivered to {seat}: the seat answered {outcome}{}",
                row.get("detail")
                    .and_then(Value::as_str)
                    .map(|d| format!(" ({d})"))
                    .unwrap_or_default()
            );
            if i == 0 {
                println!("{}", text(row, "raw"));
            }
            if outcome.is_accepting() {
                return Ok(ExitCode::SUCCESS);
            }
            if outcome == Outcome::Fejl {
                return Ok(ExitCode::from(1));
            }
        }
        shown = rows.len();
        if std::time::Instant::now() >= deadline {
            println!("== the seat accepted no business receipt for {tid} within {timeout_s} s");
            return Ok(ExitCode::from(1));
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}
