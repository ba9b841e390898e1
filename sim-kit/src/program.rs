//! The program skeleton: what every binary of the ecosystem does before its library's `run`
//! — logging, its YAML configuration (errors with line and column), the state-directory
//! override, binding its sockets, waiting for Ctrl-C — and what every library's `run` does
//! once its state is open — serving its mTLS data planes, its admin API and its background
//! workers under one shutdown ([`serve_program`]) — written once, with one error each
//! ([`StartError`] for the binaries, [`RunError`] for the libraries).
//!
//! Every admin API also answers `GET /metrics` (Prometheus text, [`crate::metrics`]): mounted
//! here, by [`serve_program`], so no program has to remember it. Logs go to stderr as text,
//! or as one JSON object per line with `--log-format json` ([`LogFormat`]) for a log collector.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use std::future::Future;
use std::pin::Pin;

use serde::de::DeserializeOwned;
use tokio::net::TcpListener;

use crate::server::ServerTls;
use crate::shutdown::Shutdown;
use crate::TransportError;

/// Why a program's `run` could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// Certificates or keys could not be loaded, or TLS could not be set up.
    #[error("TLS setup: {0}")]
    Tls(#[from] TransportError),
    /// The state directory or its database could not be used.
    #[error("state: {0}")]
    Store(#[from] sim_store::StoreError),
    /// A configuration value is wrong.
    #[error("configuration: {0}")]
    Config(String),
    /// Socket trouble.
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
}

/// A background worker of a program (an outbox delivery ...): runs until the shutdown it was
/// given completes.
pub type Worker = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Everything a program serves.
pub struct Program {
    /// Its mTLS data planes: a listener each with its TLS and its router (the platform and KSD
    /// have one, the jobcenter process one per vendor instance).
    pub data: Vec<(TcpListener, ServerTls, axum::Router)>,
    /// Its admin API (plain HTTP, JSON), never on a data plane's port. [`serve_program`] adds
    /// `GET /metrics` to it, so the router must not route `/metrics` itself (axum refuses
    /// overlapping routes by panicking at start-up).
    pub admin: (TcpListener, axum::Router),
    /// The admin API's bearer token, if any (`sim_kit::admin::protect`); required when the
    /// admin listener is not on a loopback address.
    pub admin_token: Option<String>,
    /// Its background workers, each given `stop.wait()` by the caller.
    pub workers: Vec<Worker>,
}

/// Serves `program` until `stop` fires: every data plane, the admin API (with `GET /metrics`,
/// the process's Prometheus registry, [`crate::metrics`]) and the workers.
/// Returns when all have stopped (the first data plane error, if any).
pub async fn serve_program(program: Program, stop: &Shutdown) -> Result<(), RunError> {
    let (admin_listener, admin) = program.admin;
    crate::admin::exposure_allowed(admin_listener.local_addr()?, program.admin_token.as_deref())
        .map_err(RunError::Config)?;
    crate::metrics::install();
    // Behind the token like the rest of the API (Prometheus presents one as a bearer token).
    let admin = admin.route("/metrics", axum::routing::get(crate::metrics::scrape));
    let admin = crate::admin::protect(admin, program.admin_token);
    let workers: Vec<_> = program.workers.into_iter().map(tokio::spawn).collect();
    let admin_stop = stop.wait();
    let admin_task = tokio::spawn(async move {
        axum::serve(admin_listener, admin)
            .with_graceful_shutdown(admin_stop)
            .await
    });
    let planes: Vec<_> = program
        .data
        .into_iter()
        .map(|(l, tls, router)| tokio::spawn(crate::serve(l, tls, router, stop.wait())))
        .collect();
    let mut result = Ok(());
    for p in planes {
        let r = match p.await {
            Ok(r) => r.map_err(RunError::from),
            Err(e) => Err(RunError::Io(std::io::Error::other(e))),
        };
        if result.is_ok() {
            result = r;
        }
    }
    for w in workers {
        let _ = w.await;
    }
    let _ = admin_task.await;
    result
}

/// How often a program with a journal retention prunes (real time: housekeeping).
pub const RETENTION_INTERVAL: std::time::Duration = std::time::Duration::from_secs(60);

/// The journal-retention worker of a program whose configuration turns it on: prunes at
/// start and every [`RETENTION_INTERVAL`] until `stop` fires. `None` when retention is off.
pub fn retention_worker(
    journal: sim_store::Journal,
    retention: sim_store::Retention,
    clock: sim_store::Clock,
    stop: impl Future<Output = ()> + Send + 'static,
) -> Option<Worker> {
    if !retention.is_on() {
        return None;
    }
    Some(Box::pin(async move {
        tokio::pin!(stop);
        let mut tick = tokio::time::interval(RETENTION_INTERVAL);
        loop {
            tokio::select! {
                () = &mut stop => return,
                _ = tick.tick() => {}
            }
            match journal.prune(retention, clock.now()).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(rows = n, ?retention, "journal pruned"),
                Err(e) => tracing::warn!(error = %e, "journal pruning failed"),
            }
        }
    }))
}

/// Why a program could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The configuration file could not be read.
    #[error("reading {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The configuration is not valid YAML for this program (the message names line and column).
    #[error("{path}: {message}")]
    Config {
        /// The file.
        path: PathBuf,
        /// serde-saphyr's message, with the position.
        message: String,
    },
    /// A socket could not be bound (in use, or not an address of this host).
    #[error("binding {addr} ({what}): {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Which listener it was for.
        what: String,
        /// Why.
        source: std::io::Error,
    },
}

/// A program configuration that keeps its state in a directory (`--state-dir` overrides it).
pub trait ProgramConfig: DeserializeOwned {
    /// The state directory the file names.
    fn state_dir_mut(&mut self) -> &mut PathBuf;
    /// The admin API's bearer token the file names, if any.
    fn admin_token_mut(&mut self) -> &mut Option<String>;
}

/// The command-line overrides every program takes over its configuration file.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `--state-dir`.
    pub state_dir: Option<PathBuf>,
    /// `--admin-token`.
    pub admin_token: Option<String>,
}

/// Reads a program's configuration and applies the `--state-dir` and `--admin-token`
/// overrides.
pub fn configure<C: ProgramConfig>(path: &Path, overrides: Overrides) -> Result<C, StartError> {
    let mut config: C = load_config(path)?;
    if let Some(dir) = overrides.state_dir {
        *config.state_dir_mut() = dir;
    }
    if let Some(token) = overrides.admin_token {
        *config.admin_token_mut() = Some(token);
    }
    Ok(config)
}

/// The command line of a program with one data plane and an admin API (`sim-sp`, `sim-ksd`);
/// each binary flattens it into its own `clap` parser and gives its documented ports.
#[derive(Debug, clap::Args)]
pub struct SingleArgs {
    /// YAML configuration file.
    #[arg(long, short)]
    pub config: PathBuf,
    /// mTLS data-plane address (the file has no addresses) [default: the program's port].
    #[arg(long)]
    pub listen: Option<SocketAddr>,
    /// Admin API address (plain HTTP, JSON) [default: the program's admin port].
    #[arg(long)]
    pub admin: Option<SocketAddr>,
    /// Overrides the config's state directory.
    #[arg(long)]
    pub state_dir: Option<PathBuf>,
    /// Bearer token the admin API requires (all but /health); required when --admin is not
    /// a loopback address. Overrides the config's `admin_token`.
    #[arg(long)]
    pub admin_token: Option<String>,
    /// How log lines are written to stderr.
    #[arg(long, value_enum, default_value_t)]
    pub log_format: LogFormat,
}

impl SingleArgs {
    /// The configuration, with the command line's overrides.
    pub fn configure<C: ProgramConfig>(&self) -> Result<C, StartError> {
        configure(
            &self.config,
            Overrides {
                state_dir: self.state_dir.clone(),
                admin_token: self.admin_token.clone(),
            },
        )
    }

    /// Binds the data plane and the admin API (the given defaults where no flag says).
    pub async fn bind(
        &self,
        default_data: SocketAddr,
        default_admin: SocketAddr,
    ) -> Result<crate::config::Listeners, StartError> {
        Ok(crate::config::Listeners {
            data: bind(self.listen.unwrap_or(default_data), "data plane").await?,
            admin: bind(self.admin.unwrap_or(default_admin), "admin API").await?,
        })
    }
}

/// The `main` of a program with one data plane (`sim-sp`, `sim-ksd`) once its command line is
/// parsed: logging, the configuration, both sockets (the given defaults where no flag says),
/// one line saying where it listens, then `run` until it ends (Ctrl-C for the binaries).
pub async fn main_single<C, E, Fut>(
    name: &str,
    args: SingleArgs,
    default_data: SocketAddr,
    default_admin: SocketAddr,
    run: impl FnOnce(crate::config::Listeners, C) -> Fut,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>>
where
    C: ProgramConfig,
    E: std::error::Error + Send + Sync + 'static,
    Fut: Future<Output = Result<(), E>>,
{
    init_logging("info", args.log_format);
    let config: C = args.configure()?;
    let listeners = args.bind(default_data, default_admin).await?;
    let (data, admin) = listeners.addrs()?;
    tracing::info!(%data, %admin, "{name} listening");
    run(listeners, config).await?;
    Ok(())
}

/// How a program writes its log lines (`--log-format`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// For people: one line per event, fields as `key=value`.
    #[default]
    Text,
    /// For log collectors: one JSON object per line, the event's fields at the top level
    /// beside `timestamp`, `level`, `target` and `message`.
    Json,
}

/// Logs to stderr as text, filtered by `RUST_LOG` or else `default`. Safe to call twice.
pub fn init_tracing(default: &str) {
    init_logging(default, LogFormat::Text);
}

/// Logs to stderr in `format`, filtered by `RUST_LOG` or else `default`. Safe to call twice
/// (the first call wins).
pub fn init_logging(default: &str, format: LogFormat) {
    use tracing_subscriber::util::SubscriberInitExt;
    // `try_init` also forwards the `log` crate's records (rustls's) into tracing.
    let _ = subscriber(default, format, std::io::stderr).try_init();
}

/// The subscriber [`init_logging`] installs, writing to `writer` (a test gives a buffer).
fn subscriber<W>(
    default: &str,
    format: LogFormat,
    writer: W,
) -> Box<dyn tracing::Subscriber + Send + Sync>
where
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    let filter =
        tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| default.into());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer);
    match format {
        LogFormat::Text => Box::new(builder.finish()),
        LogFormat::Json => Box::new(builder.json().flatten_event(true).with_ansi(false).finish()),
    }
}

/// Reads a program's YAML configuration from `path`.
pub fn load_config<T: DeserializeOwned>(path: &Path) -> Result<T, StartError> {
    let text = std::fs::read_to_string(path).map_err(|source| StartError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse_config(path, &text)
}

/// Parses a program's YAML configuration (`path` names it in errors).
pub fn parse_config<T: DeserializeOwned>(path: &Path, text: &str) -> Result<T, StartError> {
    serde_saphyr::from_str(text).map_err(|e| StartError::Config {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

/// Binds a listener, naming what it is for in the error.
pub async fn bind(addr: SocketAddr, what: &str) -> Result<TcpListener, StartError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| StartError::Bind {
            addr,
            what: what.to_string(),
            source,
        })
}

/// Completes on Ctrl-C (SIGINT): the shutdown every binary runs until.
pub async fn ctrl_c() {
    let _ = tokio::signal::ctrl_c().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Cfg {
        state_dir: PathBuf,
        port: u16,
    }

    #[test]
    fn a_bad_config_names_the_file_line_and_column() {
        let e = parse_config::<Cfg>(Path::new("sp.yaml"), "state_dir: /x\nport: nope\n")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("sp.yaml: "), "{e}");
        assert!(e.contains("line 2"), "{e}");
    }

    #[test]
    fn a_missing_file_is_a_read_error() {
        let e = load_config::<Cfg>(Path::new("/nonexistent/sp.yaml")).unwrap_err();
        assert!(matches!(e, StartError::Read { .. }), "{e}");
    }

    /// A `MakeWriter` into a shared buffer.
    #[derive(Clone, Default)]
    struct Buffer(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl std::io::Write for Buffer {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'w> tracing_subscriber::fmt::MakeWriter<'w> for Buffer {
        type Writer = Buffer;
        fn make_writer(&'w self) -> Buffer {
            self.clone()
        }
    }

    fn logged(format: LogFormat) -> String {
        let out = Buffer::default();
        let sub = subscriber("info", format, out.clone());
        tracing::subscriber::with_default(sub, || {
            tracing::info!(reason = "unknown_ca", peer = %"127.0.0.1:1", "refused connection");
            tracing::warn!(count = 3, "second \"line\"");
        });
        let bytes = out.0.lock().unwrap().clone();
        String::from_utf8(bytes).unwrap()
    }

    #[test]
    fn json_logs_are_one_object_per_line_with_the_fields_on_top() {
        let text = logged(LogFormat::Json);
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert_eq!(lines[0]["level"], "INFO");
        assert_eq!(lines[0]["message"], "refused connection");
        assert_eq!(lines[0]["reason"], "unknown_ca");
        assert_eq!(lines[0]["peer"], "127.0.0.1:1");
        assert!(lines[0]["timestamp"].is_string(), "{text}");
        assert_eq!(lines[1]["message"], "second \"line\"");
        assert_eq!(lines[1]["count"], 3);
    }

    #[test]
    fn text_logs_stay_text() {
        let text = logged(LogFormat::Text);
        assert!(text.contains("refused connection"), "{text}");
        assert!(serde_json::from_str::<serde_json::Value>(text.lines().next().unwrap()).is_err());
    }

    #[test]
    fn every_single_program_takes_log_format() {
        use clap::Parser;
        #[derive(Debug, clap::Parser)]
        struct Cli {
            #[command(flatten)]
            program: SingleArgs,
        }
        let cli =
            Cli::try_parse_from(["sim-ksd", "-c", "ksd.yaml", "--log-format", "json"]).unwrap();
        assert_eq!(cli.program.log_format, LogFormat::Json);
        let cli = Cli::try_parse_from(["sim-ksd", "-c", "ksd.yaml"]).unwrap();
        assert_eq!(cli.program.log_format, LogFormat::Text);
        assert!(Cli::try_parse_from(["sim-ksd", "-c", "k.yaml", "--log-format", "xml"]).is_err());
    }

    #[tokio::test]
    async fn a_taken_port_is_a_bind_error_naming_the_listener() {
        let l = bind("127.0.0.1:0".parse().unwrap(), "data").await.unwrap();
        let e = bind(l.local_addr().unwrap(), "admin").await.unwrap_err();
        assert!(e.to_string().contains("(admin)"), "{e}");
    }
}
