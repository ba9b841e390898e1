//! `sim certs`: make the test PKI, or issue a certificate for a vendor's own system (a system
//! certificate to call with, or with `--server` a server certificate for its endpoint).
//!
//! The library (`sim-certs`) does the work; this file reads the command line, reads the
//! clock once, embeds the scenario's vendor list, and prints what was done.
//!
//! Exit codes: 0 done (files created, renewed or kept), 2 error (message on stderr).

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use sim_certs::store::{self, layout, Action, Report, DEFAULT_P12_PASSWORD};
use sim_certs::{
    parse_vendors_csv, Cvr, OffsetDateTime, OrgSubject, PkiSpec, ServerSpec, SubjectShape,
    SystemEntry, TestPki,
};

/// The vendor instances of the default scenario: one system certificate each.
const VENDORS_CSV: &str = include_str!("../../scenarios/vendors.csv");

/// Arguments of `sim certs`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// State directory of the simulator; certificates go to `<state-dir>/certs`.
    #[arg(long, global = true, default_value = ".sim", value_name = "DIR")]
    state_dir: PathBuf,
    /// Where to write the PKI (default `<state-dir>/certs`).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Re-issue everything, CAs included (peers must then trust the new root).
    #[arg(long)]
    force: bool,
    /// Also issue every system certificate in the legacy FOCES subject shape (`legacy/`;
    /// kept up to date on later runs until that directory is removed).
    #[arg(long)]
    legacy: bool,
    #[command(subcommand)]
    command: Option<CertsCommand>,
}

#[derive(Debug, clap::Subcommand)]
enum CertsCommand {
    /// Issue a certificate for your own system (PEM, chain, PKCS#12): a system certificate to
    /// call the platform with, or with --server one for the HTTPS endpoint that takes a seat.
    Issue(IssueArgs),
}

/// Arguments of `sim certs issue`.
#[derive(Debug, clap::Args)]
struct IssueArgs {
    /// The organisation's CVR number (8 digits); required for a system certificate.
    #[arg(long, required_unless_present = "server", conflicts_with = "server")]
    cvr: Option<String>,
    /// The system's name (certificate CN); also names the files.
    #[arg(long)]
    name: String,
    /// The organisation's name (certificate O); defaults to the system name.
    #[arg(long, conflicts_with = "server")]
    organisation: Option<String>,
    /// Issue a TLS server certificate (serverAuth only, no CVR) for your system's HTTPS
    /// endpoint, valid for the --dns names and --ip addresses given, instead of a system
    /// certificate. Calling the platform still takes a system certificate.
    #[arg(long)]
    server: bool,
    /// A DNS name the server certificate is valid for (repeatable; with --server).
    #[arg(long, value_name = "NAME", requires = "server")]
    dns: Vec<String>,
    /// An IP address the server certificate is valid for (repeatable; with --server).
    #[arg(long, value_name = "ADDR", requires = "server")]
    ip: Vec<IpAddr>,
    /// Where to write the files (default `<pki>/issued/<name as file stem>`, with
    /// `-server` appended for a server certificate).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// The PKI whose CA signs (default `<state-dir>/certs`; created if missing).
    #[arg(long, value_name = "DIR")]
    pki: Option<PathBuf>,
    /// Use the legacy FOCES subject shape (`serialNumber=CVR:<cvr>-FID:<n>`).
    #[arg(long, conflicts_with = "server")]
    legacy: bool,
    /// Password of the PKCS#12 file (test material: the default is printed).
    #[arg(long, default_value = DEFAULT_P12_PASSWORD)]
    p12_password: String,
    /// Re-issue even if a fit certificate exists there.
    #[arg(long)]
    force: bool,
}

/// Runs `sim certs`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    // The one wall clock of the project (ARCHITECTURE: times come from a `Clock`).
    let now = OffsetDateTime::from_unix_timestamp(sim_store::Clock::real().now().unix_timestamp())?;
    let vendors = parse_vendors_csv(VENDORS_CSV).context("embedded scenarios/vendors.csv")?;
    match args.command {
        None => {
            let dir = args.out.unwrap_or_else(|| args.state_dir.join("certs"));
            // Once issued, the legacy set is kept up to date until its directory is removed,
            // so that manifest.json never omits files that are on disk.
            let legacy = args.legacy || dir.join("legacy").is_dir();
            let report = store::ensure(&dir, &PkiSpec::standard(&vendors, legacy), now, args.force)
                .with_context(|| format!("writing the test PKI to {}", dir.display()))?;
            print_report(&report);
            println!("trust anchor: {}", layout::root_ca(&dir).display());
            println!("described in: {}", dir.join("README.txt").display());
        }
        Some(CertsCommand::Issue(issue)) => {
            // clap's own conflict check would also reject the global --state-dir.
            if args.out.is_some() || args.force || args.legacy {
                anyhow::bail!(
                    "--out, --force and --legacy go after `issue` (see `sim certs issue --help`)"
                );
            }
            let pki_dir = issue
                .pki
                .clone()
                .unwrap_or_else(|| args.state_dir.join("certs"));
            // Make sure the CA exists (and the rest of the PKI: it is idempotent).
            let legacy = pki_dir.join("legacy").is_dir();
            let report = store::ensure(&pki_dir, &PkiSpec::standard(&vendors, legacy), now, false)
                .with_context(|| format!("preparing the test PKI in {}", pki_dir.display()))?;
            if !report.all_kept() {
                print_report(&report);
            }
            let ca = store::load_ca(&pki_dir, now)?;
            let issued = pki_dir.join("issued");
            if issue.server {
                issue_server(&ca, &issue, &issued, now)?;
            } else {
                issue_system(&ca, &issue, &issued, now)?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `sim certs issue`: a system certificate kit in `--out` or `<issued>/<stem>`.
fn issue_system(
    ca: &TestPki,
    issue: &IssueArgs,
    issued: &Path,
    now: OffsetDateTime,
) -> anyhow::Result<()> {
    let entry = system_entry(issue)?;
    let out = issue
        .out
        .clone()
        .unwrap_or_else(|| issued.join(&entry.stem));
    let report = store::issue_into(ca, &out, &entry, now, issue.force, &issue.p12_password)
        .with_context(|| format!("issuing into {}", out.display()))?;
    print_report(&report);
    print_files(
        &out.join(&entry.stem),
        &out,
        &issue.p12_password,
        "with the key",
    );
    print_identity(&entry);
    Ok(())
}

/// `sim certs issue --server`: a server certificate kit in `--out` or `<issued>/<stem>-server`
/// (its own default directory, so that the system certificate of the same system, issued
/// under the same name, keeps its kit).
fn issue_server(
    ca: &TestPki,
    issue: &IssueArgs,
    issued: &Path,
    now: OffsetDateTime,
) -> anyhow::Result<()> {
    let spec = ServerSpec::for_hosts(&issue.name, &issue.dns, &issue.ip)?;
    let out = issue
        .out
        .clone()
        .unwrap_or_else(|| issued.join(format!("{}-server", spec.service)));
    let report = store::issue_server_into(ca, &out, &spec, now, issue.force, &issue.p12_password)
        .with_context(|| format!("issuing into {}", out.display()))?;
    print_report(&report);
    print_files(
        &out.join(&spec.service),
        &out,
        &issue.p12_password,
        "on your HTTPS endpoint",
    );
    print_server(&spec);
    Ok(())
}

fn system_entry(issue: &IssueArgs) -> anyhow::Result<SystemEntry> {
    let cvr = Cvr::new(issue.cvr.as_deref().unwrap_or_default())?;
    let organisation = issue
        .organisation
        .clone()
        .unwrap_or_else(|| issue.name.clone());
    let mut subject = OrgSubject::oces3(&organisation, cvr, &issue.name);
    if issue.legacy {
        subject.shape = SubjectShape::Foces;
    }
    Ok(SystemEntry {
        stem: sim_certs::spec::slug(&issue.name),
        role: format!("system of {organisation} (issued with `sim certs issue`)"),
        subject,
    })
}

fn print_report(report: &Report) {
    for line in &report.lines {
        match &line.action {
            Action::Kept => println!("kept     {}", line.id),
            Action::Created => println!("created  {}", line.id),
            Action::Replaced { reason } => println!("renewed  {} ({reason})", line.id),
        }
    }
}

fn print_files(base: &Path, out: &Path, password: &str, present: &str) {
    println!("certificate: {}.cert.pem", base.display());
    println!(
        "chain:       {}.chain.pem (present this {present})",
        base.display()
    );
    println!("key:         {}.key.pem", base.display());
    println!("PKCS#12:     {}.p12 (password: {password})", base.display());
    println!("trust:       {}", out.join("root-ca.cert.pem").display());
}

fn print_identity(entry: &SystemEntry) {
    match &entry.subject.shape {
        SubjectShape::Oces3 => println!(
            "identity:    CVR {} UUID {}",
            entry.subject.cvr,
            entry.subject.uuid()
        ),
        SubjectShape::Foces => println!(
            "identity:    CVR {} FID {}",
            entry.subject.cvr,
            entry.subject.fid()
        ),
    }
}

fn print_server(spec: &ServerSpec) {
    println!(
        "valid for:   {} (serverAuth only)",
        sim_certs::inspect::alt_names_of(&spec.names).join(", ")
    );
    println!(
        "seat:        sim up --seat <instance or ksd>=https://{}:<port>/<path>",
        host_in_url(&spec.names[0])
    );
    println!("to call:     a system certificate too: sim certs issue --cvr <CVR> --name <name>");
}

/// `name` as the host part of a URL: IPv6 addresses go in brackets.
fn host_in_url(name: &str) -> String {
    match name.parse::<IpAddr>() {
        Ok(IpAddr::V6(v6)) => format!("[{v6}]"),
        _ => name.to_owned(),
    }
}
