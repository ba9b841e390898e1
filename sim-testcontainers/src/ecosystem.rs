//! The ecosystem in containers: [`EcosystemBuilder::start`] and what it hands back.

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use testcontainers::core::wait::ExitWaitStrategy;
use testcontainers::core::{Host, Mount, WaitFor};
use testcontainers::runners::AsyncRunner;
use testcontainers::{ContainerAsync, ContainerRequest, GenericImage, ImageExt};

use crate::docker_api;
use crate::http;

/// The image `docker/build-image.sh` builds, by name …
pub const IMAGE_NAME: &str = "sim-ecosystem";
/// … and tag.
pub const IMAGE_TAG: &str = "local";

/// Where the state root is mounted in every container (`sim serve --state-dir`).
const STATE_IN_CONTAINER: &str = "/state";

/// What `sim serve` prints on stderr once its program and control API are up.
const UP_MESSAGE: &str = "is up; control API on";

/// The admin APIs' bearer token unless the builder is given another: they listen on
/// `0.0.0.0` in their containers, where a program refuses to start without one.
const DEFAULT_ADMIN_TOKEN: &str = "sim-testcontainers";

/// Label on every container and network this crate makes, valued with the ecosystem's id, so
/// that leftovers of a killed test can be found (`docker ps -a --filter label=sim-testcontainers`).
const LABEL: &str = "sim-testcontainers";

/// One program of the ecosystem.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Program {
    /// The platform (`sim-sp`), with its STAR job and the Beskedfordeler.
    Sp,
    /// KSD (`sim-ksd`), with the simulated KY.
    Ksd,
    /// The jobcenter vendors' solutions (`sim-jobcenter`), one receiver per vendor instance.
    Jobcenter,
    /// STAR's DFDG queue (`sim-star`, SF1612).
    Star,
}

impl Program {
    /// All four, in the order they are started.
    pub const ALL: [Program; 4] = [Program::Sp, Program::Ksd, Program::Jobcenter, Program::Star];

    /// The name `sim serve` and `--host` take, and the server certificate's DNS name.
    pub fn name(self) -> &'static str {
        match self {
            Program::Sp => "sp",
            Program::Ksd => "ksd",
            Program::Jobcenter => "jobcenter",
            Program::Star => "star",
        }
    }

    /// The admin API's fixed port (plain HTTP).
    pub fn admin_port(self) -> u16 {
        match self {
            Program::Sp => 8080,
            Program::Ksd => 8081,
            Program::Jobcenter => 8082,
            Program::Star => 8083,
        }
    }

    /// The control API's fixed port (`sim serve`'s; plain HTTP).
    pub fn control_port(self) -> u16 {
        match self {
            Program::Sp => 8090,
            Program::Ksd => 8091,
            Program::Jobcenter => 8092,
            Program::Star => 8093,
        }
    }

    /// The data-plane services (mutual TLS): name, fixed port, path. The jobcenter's are its
    /// vendor instances (scenarios/vendors.csv), one port each.
    pub fn services(self) -> &'static [(&'static str, u16, &'static str)] {
        match self {
            Program::Sp => &[
                ("ksd-exposure", 8443, "/service/KSD/Sygefravaer/2"),
                ("jc-exposure", 8443, "/service/JC/Sygefravaer/2"),
                ("ky-exposure", 8443, "/service/KY/Kontanthjaelp/2"),
                ("beskedfordeler", 8443, "/service/Beskedfordeler/1"),
            ],
            Program::Ksd => &[
                ("sygefravaer", 8444, "/ksd/Sygefravaer/2"),
                ("ky", 8444, "/ky/Kontanthjaelp/2"),
                ("beskedfordeler-push", 8444, "/ksd/Beskedfordeler/1"),
            ],
            Program::Jobcenter => &[
                ("kmd-jc", 8445, "/jobcenter/Sygefravaer/2"),
                ("schultz-jc", 8446, "/jobcenter/Sygefravaer/2"),
                ("netcompany-jc", 8447, "/jobcenter/Sygefravaer/2"),
            ],
            Program::Star => &[
                ("wsrm", 8442, "/star/WsrmService"),
                ("wsrm-message", 8442, "/star/WsrmMessageService"),
            ],
        }
    }
}

/// Where one program is, from the host's view (`127.0.0.1` and the ports Docker published).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgramEndpoints {
    /// The admin API, e.g. `http://127.0.0.1:49153` (paths as in the README).
    pub admin: String,
    /// `sim serve`'s control API (`/health`, `/run`).
    pub control: String,
    /// The data-plane services by name ([`Program::services`]), e.g. `kmd-jc` →
    /// `https://127.0.0.1:49160/jobcenter/Sygefravaer/2`. The server certificates are valid
    /// for `127.0.0.1`.
    pub services: BTreeMap<&'static str, String>,
}

/// Where the started programs are.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Endpoints {
    /// Every started program's endpoints.
    pub programs: BTreeMap<Program, ProgramEndpoints>,
}

impl Endpoints {
    /// A started program's endpoints.
    pub fn get(&self, program: Program) -> Option<&ProgramEndpoints> {
        self.programs.get(&program)
    }

    /// A started program's admin API base URL.
    pub fn admin(&self, program: Program) -> Option<&str> {
        self.get(program).map(|e| e.admin.as_str())
    }
}

/// Why the ecosystem did not start.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The image is not in the local Docker Engine (nothing is pulled).
    #[error(
        "the image {image} is not in the local Docker Engine: build it first, at the \
         repository root: `docker/build-image.sh debug` (from the debug build the tests use) \
         or `docker/build-image.sh` (release)"
    )]
    ImageMissing {
        /// `name:tag`.
        image: String,
    },
    /// The Docker Engine could not be reached or used.
    #[error("docker: {0}")]
    Docker(String),
    /// A container could not be started (its output, if any, follows).
    #[error("starting {what}: {message}{}", logs_suffix(.logs))]
    Container {
        /// `certs` or a program's name.
        what: String,
        /// testcontainers' error.
        message: String,
        /// The container's stderr, when it could be read.
        logs: String,
    },
    /// A program's admin API did not answer `GET /health` with 200 in time.
    #[error("{program}: {url} did not answer 200 within {timeout:?} (last: {last}){}", logs_suffix(.logs))]
    Unhealthy {
        /// The program's name.
        program: &'static str,
        /// The URL polled.
        url: String,
        /// How long it was given.
        timeout: Duration,
        /// The last answer or error.
        last: String,
        /// The container's stderr.
        logs: String,
    },
    /// The state directory could not be made.
    #[error("the state directory: {0}")]
    Io(#[from] std::io::Error),
}

fn logs_suffix(logs: &str) -> String {
    if logs.trim().is_empty() {
        String::new()
    } else {
        format!("\n--- its stderr ---\n{}", logs.trim_end())
    }
}

/// How to start an ecosystem; [`Ecosystem::builder`] makes one.
#[derive(Debug, Clone)]
pub struct EcosystemBuilder {
    /// Image name and tag.
    image: (String, String),
    /// The programs to start in containers.
    programs: BTreeSet<Program>,
    /// Programs left to an outside system: the host name their peers call them at.
    seats: BTreeMap<Program, String>,
    /// How long each container and each health check may take.
    startup_timeout: Duration,
    /// The admin APIs' bearer token (`sim serve --admin-token`).
    admin_token: String,
}

impl Default for EcosystemBuilder {
    fn default() -> Self {
        EcosystemBuilder {
            image: (IMAGE_NAME.into(), IMAGE_TAG.into()),
            programs: Program::ALL.into_iter().collect(),
            seats: BTreeMap::new(),
            startup_timeout: Duration::from_secs(60),
            admin_token: DEFAULT_ADMIN_TOKEN.into(),
        }
    }
}

impl EcosystemBuilder {
    /// Another image than `sim-ecosystem:local`.
    pub fn image(mut self, name: impl Into<String>, tag: impl Into<String>) -> Self {
        self.image = (name.into(), tag.into());
        self
    }

    /// Leaves `program` out: your system takes its seat, and its peers call it at `host` on
    /// the program's fixed ports (e.g. `host.docker.internal`, which is mapped to the Docker
    /// host; your server certificate must be valid for that name: `sim certs issue --server
    /// --dns host.docker.internal --pki <certs_dir>`).
    pub fn seat(mut self, program: Program, host: impl Into<String>) -> Self {
        self.programs.remove(&program);
        self.seats.insert(program, host.into());
        self
    }

    /// How long each container may take to start and answer its health check (default 60 s).
    pub fn startup_timeout(mut self, timeout: Duration) -> Self {
        self.startup_timeout = timeout;
        self
    }

    /// Another bearer token for the admin APIs than `sim-testcontainers`.
    pub fn admin_token(mut self, token: impl Into<String>) -> Self {
        self.admin_token = token.into();
        self
    }

    /// Makes the test PKI, starts the programs, waits until each answers `GET /health`.
    pub async fn start(self) -> Result<Ecosystem, Error> {
        let engine = docker_api::prepare().await.map_err(Error::Docker)?;
        let image = format!("{}:{}", self.image.0, self.image.1);
        if let Some(socket) = &engine.socket {
            let (status, answer) = docker_api::engine_get(socket, &format!("/images/{image}/json"))
                .await
                .map_err(Error::Docker)?;
            match status {
                200 => {}
                404 => return Err(Error::ImageMissing { image }),
                _ => {
                    return Err(Error::Docker(format!(
                        "inspecting {image}: {status} {answer}"
                    )))
                }
            }
        }
        if self.programs.is_empty() {
            return Err(Error::Docker("no program to start".into()));
        }

        let state = tempfile::Builder::new().prefix("sim-tc-").tempdir()?;
        // The state directory's unique name names this ecosystem's network and labels.
        let id = state
            .path()
            .file_name()
            .map_or_else(|| "sim-tc".into(), |n| n.to_string_lossy().into_owned());
        // The containers write the state as the owner of the directory, so the test can read
        // every file and remove the directory afterwards.
        let meta = std::fs::metadata(state.path())?;
        let user = format!("{}:{}", meta.uid(), meta.gid());
        let state_path = state.path().to_string_lossy().into_owned();
        let base = || {
            GenericImage::new(self.image.0.clone(), self.image.1.clone())
                .with_wait_for(WaitFor::message_on_stderr(UP_MESSAGE))
        };

        // 1. The test PKI, by `sim certs` as in the compose file's one-shot service.
        let certs = GenericImage::new(self.image.0.clone(), self.image.1.clone())
            .with_wait_for(WaitFor::exit(ExitWaitStrategy::new().with_exit_code(0)))
            .with_cmd(["certs", "--state-dir", STATE_IN_CONTAINER])
            .with_user(&user)
            .with_mount(Mount::bind_mount(&state_path, STATE_IN_CONTAINER))
            .with_network("none")
            .with_label(LABEL, &id)
            .with_startup_timeout(self.startup_timeout);
        let certs = start(certs, "certs").await?;
        let _ = certs.rm().await;

        // 2. The first program owns the network namespace (on a network of its own) and
        //    publishes every port; the others join it.
        let mut containers: Vec<(Program, ContainerAsync<GenericImage>)> = Vec::new();
        for &program in &self.programs {
            let mut cmd = vec![
                "serve".to_owned(),
                program.name().to_owned(),
                "--state-dir".to_owned(),
                STATE_IN_CONTAINER.to_owned(),
                "--listen".to_owned(),
                "0.0.0.0".to_owned(),
                "--admin-token".to_owned(),
                self.admin_token.clone(),
            ];
            for (seat, host) in &self.seats {
                cmd.push("--host".to_owned());
                cmd.push(format!("{}={host}", seat.name()));
            }
            let request = base()
                .with_cmd(cmd)
                .with_user(&user)
                .with_mount(Mount::bind_mount(&state_path, STATE_IN_CONTAINER))
                .with_label(LABEL, &id)
                .with_startup_timeout(self.startup_timeout);
            let request = match containers.first() {
                None => request
                    .with_network(format!("{id}-net"))
                    .with_host("host.docker.internal", Host::HostGateway),
                Some((_, owner)) => request.with_network(format!("container:{}", owner.id())),
            };
            let container = start(request, program.name()).await?;
            containers.push((program, container));
        }

        // 3. Where everything is from the host, and each admin API answering.
        let owner = &containers[0].1;
        let mut endpoints = Endpoints::default();
        for &(program, _) in &containers {
            let port = |p: u16| async move {
                owner
                    .get_host_port_ipv4(p)
                    .await
                    .map_err(|e| Error::Docker(format!("the host port of {p}: {e}")))
            };
            let mut services = BTreeMap::new();
            for &(name, p, path) in program.services() {
                services.insert(name, format!("https://127.0.0.1:{}{path}", port(p).await?));
            }
            endpoints.programs.insert(
                program,
                ProgramEndpoints {
                    admin: format!("http://127.0.0.1:{}", port(program.admin_port()).await?),
                    control: format!("http://127.0.0.1:{}", port(program.control_port()).await?),
                    services,
                },
            );
        }
        for (program, container) in &containers {
            let url = format!("{}/health", endpoints.programs[program].admin);
            wait_healthy(*program, &url, container, self.startup_timeout).await?;
        }

        let certs_dir = state.path().join("certs");
        Ok(Ecosystem {
            admin_token: self.admin_token,
            containers,
            endpoints,
            certs_dir,
            state,
        })
    }
}

/// Started programs in containers; dropping it removes them and their state.
pub struct Ecosystem {
    /// In start order: the first owns the network namespace.
    containers: Vec<(Program, ContainerAsync<GenericImage>)>,
    endpoints: Endpoints,
    certs_dir: PathBuf,
    admin_token: String,
    /// The state root every container mounts (certificates, SQLite files, runs).
    state: tempfile::TempDir,
}

impl std::fmt::Debug for Ecosystem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ecosystem")
            .field("endpoints", &self.endpoints)
            .field("state", &self.state.path())
            .finish_non_exhaustive()
    }
}

impl Ecosystem {
    /// The default: all four programs from `sim-ecosystem:local`.
    pub fn builder() -> EcosystemBuilder {
        EcosystemBuilder::default()
    }

    /// Where the started programs are, from the host.
    pub fn endpoints(&self) -> &Endpoints {
        &self.endpoints
    }

    /// A client for the admin and control APIs presenting the admin token (30 s a call).
    pub fn client(&self) -> http::Client {
        http::Client::new(Some(&self.admin_token), Duration::from_secs(30))
    }

    /// The admin APIs' bearer token.
    pub fn admin_token(&self) -> &str {
        &self.admin_token
    }

    /// The test PKI the programs use (`sim_certs::store`'s layout: the root CA, every
    /// system's certificate and key, the server certificates).
    pub fn certs_dir(&self) -> &Path {
        &self.certs_dir
    }

    /// The state root: each program's SQLite files under `<state>/<program>/`.
    pub fn state_dir(&self) -> &Path {
        self.state.path()
    }

    /// A program's container id (for `docker` commands of a test's own: pause, kill …).
    pub fn container_id(&self, program: Program) -> Option<&str> {
        self.containers
            .iter()
            .find(|(p, _)| *p == program)
            .map(|(_, c)| c.id())
    }

    /// A program's stderr so far (its log), e.g. for a failing test's message.
    pub async fn logs(&self, program: Program) -> String {
        match self.containers.iter().find(|(p, _)| *p == program) {
            Some((_, c)) => stderr_of(c).await,
            None => String::new(),
        }
    }

    /// Removes the containers (the joined ones first, then the namespace's owner) and the state.
    pub async fn stop(mut self) -> Result<(), Error> {
        let mut failed = Vec::new();
        while let Some((program, container)) = self.containers.pop() {
            if let Err(e) = container.rm().await {
                failed.push(format!("{}: {e}", program.name()));
            }
        }
        if failed.is_empty() {
            Ok(())
        } else {
            Err(Error::Docker(format!("removing: {}", failed.join("; "))))
        }
    }
}

impl Drop for Ecosystem {
    fn drop(&mut self) {
        // Joined containers before the owner of their namespace (testcontainers removes each
        // container when its handle drops).
        while let Some(container) = self.containers.pop() {
            drop(container);
        }
    }
}

async fn start(
    request: ContainerRequest<GenericImage>,
    what: &str,
) -> Result<ContainerAsync<GenericImage>, Error> {
    request.start().await.map_err(|e| Error::Container {
        what: what.to_owned(),
        message: e.to_string(),
        logs: String::new(),
    })
}

async fn stderr_of(container: &ContainerAsync<GenericImage>) -> String {
    match container.stderr_to_vec().await {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(e) => format!("(its stderr could not be read: {e})"),
    }
}

/// Polls `url` until it answers 200.
async fn wait_healthy(
    program: Program,
    url: &str,
    container: &ContainerAsync<GenericImage>,
    timeout: Duration,
) -> Result<(), Error> {
    let mut last = String::from("no answer yet");
    let client = http::Client::new(None, Duration::from_secs(2));
    let polled = tokio::time::timeout(timeout, async {
        loop {
            match client.get(url).await {
                Ok((200, _)) => return,
                Ok((status, body)) => last = format!("{status} {body}"),
                Err(e) => last = e.to_string(),
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    })
    .await;
    if polled.is_ok() {
        return Ok(());
    }
    Err(Error::Unhealthy {
        program: program.name(),
        url: url.to_owned(),
        timeout,
        last,
        logs: stderr_of(container).await,
    })
}
