//! Lets testcontainers talk to a Docker Engine older than its client.
//!
//! testcontainers' Docker client (bollard 0.18) puts API version 1.47 in every path
//! (`/v1.47/containers/create`), and an engine older than Docker 27 refuses that: Debian 12's
//! 20.10 answers "client version 1.47 is too new. Maximum supported API version is 1.41".
//! Neither crate negotiates the version or lets a caller choose it. So, only when the engine
//! is older, this module listens on a Unix socket of its own (in a private directory), passes
//! every request on to the engine's socket with the engine's own version in the path, streams
//! the answer back (log follows and waits included), and points testcontainers at it through
//! `DOCKER_HOST` — once per process, before testcontainers makes its client. The requests
//! testcontainers makes here (create, start, inspect, logs, remove; networks) mean the same
//! in 1.41; fields the engine does not know are ignored by it, those it does not send are
//! optional in bollard's models.

use std::convert::Infallible;
use std::path::{Path, PathBuf};

use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response, StatusCode, Uri};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::UnixStream;

/// The API version testcontainers' client asks for (`bollard::API_DEFAULT_VERSION` of the
/// bollard that testcontainers 0.24 uses).
const CLIENT_API: (u32, u32) = (1, 47);

/// The engine's socket when `DOCKER_HOST` does not name one.
const DEFAULT_SOCKET: &str = "/var/run/docker.sock";

/// Prefix of the private directories holding this module's sockets.
const SHIM_DIR_PREFIX: &str = "sim-docker-api-";

/// Where this process's testcontainers reach the engine.
#[derive(Debug, Clone)]
pub(crate) struct Engine {
    /// The engine's own Unix socket, when it is reached through one (`None`: `DOCKER_HOST` is
    /// tcp:// or https://, left to testcontainers as it is).
    pub socket: Option<PathBuf>,
}

/// The engine as this process reaches it; sets up the version shim the first time if needed.
pub(crate) async fn prepare() -> Result<Engine, String> {
    static ONCE: tokio::sync::OnceCell<Result<Engine, String>> = tokio::sync::OnceCell::const_new();
    ONCE.get_or_init(setup).await.clone()
}

async fn setup() -> Result<Engine, String> {
    let socket = match std::env::var("DOCKER_HOST") {
        Ok(host) if !host.is_empty() => match host.strip_prefix("unix://") {
            Some(path) => PathBuf::from(path),
            None => return Ok(Engine { socket: None }),
        },
        _ => PathBuf::from(DEFAULT_SOCKET),
    };
    let (status, version) = engine_get(&socket, "/version")
        .await
        .map_err(|e| format!("the Docker Engine at {}: {e}", socket.display()))?;
    if status != 200 {
        return Err(format!(
            "the Docker Engine at {} answered GET /version with {status}: {version}",
            socket.display()
        ));
    }
    let api = version
        .get("ApiVersion")
        .and_then(Value::as_str)
        .ok_or_else(|| format!("the Docker Engine's /version has no ApiVersion: {version}"))?
        .to_owned();
    if parse_version(&api).is_some_and(|v| v >= CLIENT_API) {
        return Ok(Engine {
            socket: Some(socket),
        });
    }
    let shim = start_shim(socket.clone(), api)
        .map_err(|e| format!("starting the Docker API version shim: {e}"))?;
    // testcontainers reads DOCKER_HOST once, when it makes its client: before any container.
    std::env::set_var("DOCKER_HOST", format!("unix://{}", shim.display()));
    Ok(Engine {
        socket: Some(socket),
    })
}

/// `GET path` (unversioned: the engine's own version) on the engine's socket.
pub(crate) async fn engine_get(socket: &Path, path: &str) -> Result<(u16, Value), String> {
    let request = Request::get(path)
        .header(hyper::header::HOST, "docker")
        .body(Empty::<Bytes>::new())
        .map_err(|e| e.to_string())?;
    let response = send(socket, request).await?;
    let status = response.status().as_u16();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    let value = serde_json::from_slice(&body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()));
    Ok((status, value))
}

/// One request on a fresh connection to a Unix socket.
async fn send<B>(socket: &Path, request: Request<B>) -> Result<Response<Incoming>, String>
where
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let stream = UnixStream::connect(socket)
        .await
        .map_err(|e| format!("connecting to {}: {e}", socket.display()))?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(connection);
    sender
        .send_request(request)
        .await
        .map_err(|e| e.to_string())
}

/// `"1.41"` → `(1, 41)`.
fn parse_version(v: &str) -> Option<(u32, u32)> {
    let (major, minor) = v.split_once('.')?;
    Some((major.parse().ok()?, minor.parse().ok()?))
}

/// `/v1.47/containers/json?all=1` → `/v1.41/containers/json?all=1`; other paths unchanged.
fn rewrite(uri: &Uri, api: &str) -> Uri {
    let Some(pq) = uri.path_and_query() else {
        return uri.clone();
    };
    let text = pq.as_str();
    let Some(rest) = text.strip_prefix("/v") else {
        return uri.clone();
    };
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    if parse_version(&rest[..end]).is_none() {
        return uri.clone();
    }
    format!("/v{api}{}", &rest[end..])
        .parse()
        .unwrap_or_else(|_| uri.clone())
}

/// Binds the shim's socket and serves it on a thread (and runtime) of its own, so that it
/// outlives the test runtime that started it. Returns the socket's path.
fn start_shim(engine: PathBuf, api: String) -> std::io::Result<PathBuf> {
    sweep_stale_dirs();
    let dir = tempfile::Builder::new()
        .prefix(SHIM_DIR_PREFIX)
        .tempdir()?
        .keep();
    // Kept for the life of the process (the socket must stay); a later process sweeps it.
    let path = dir.join("docker.sock");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let listener = {
        let _context = runtime.enter();
        tokio::net::UnixListener::bind(&path)?
    };
    std::thread::Builder::new()
        .name("docker-api-shim".into())
        .spawn(move || {
            runtime.block_on(async move {
                while let Ok((stream, _)) = listener.accept().await {
                    let engine = engine.clone();
                    let api = api.clone();
                    tokio::spawn(async move {
                        let service = hyper::service::service_fn(move |request| {
                            forward(request, engine.clone(), api.clone())
                        });
                        // A client going away mid-answer is no concern of the shim's.
                        let _ = hyper::server::conn::http1::Builder::new()
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                    });
                }
            });
        })?;
    Ok(path)
}

/// One request passed on to the engine with its version, the answer streamed back; an engine
/// that cannot be reached is a 502 with the reason.
async fn forward(
    request: Request<Incoming>,
    engine: PathBuf,
    api: String,
) -> Result<Response<BoxBody<Bytes, hyper::Error>>, Infallible> {
    let (mut parts, body) = request.into_parts();
    parts.uri = rewrite(&parts.uri, &api);
    match send(&engine, Request::from_parts(parts, body)).await {
        Ok(response) => Ok(response.map(BodyExt::boxed)),
        Err(e) => {
            let message = serde_json::json!({ "message": format!("docker API shim: {e}") });
            let body = Full::new(Bytes::from(message.to_string()))
                .map_err(|never| match never {})
                .boxed();
            let mut response = Response::new(body);
            *response.status_mut() = StatusCode::BAD_GATEWAY;
            Ok(response)
        }
    }
}

/// Removes the directories of earlier processes' shims: a socket nobody listens on any more
/// (connecting is refused).
fn sweep_stale_dirs() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        if !name.to_string_lossy().starts_with(SHIM_DIR_PREFIX) {
            continue;
        }
        let dir = entry.path();
        let socket = dir.join("docker.sock");
        let dead = match std::os::unix::net::UnixStream::connect(&socket) {
            Ok(_) => false,
            Err(e) => e.kind() == std::io::ErrorKind::ConnectionRefused,
        };
        if dead {
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewrites_only_the_version() {
        let check = |from: &str, to: &str| {
            assert_eq!(
                rewrite(&from.parse().unwrap(), "1.41").to_string(),
                to,
                "{from}"
            );
        };
        check(
            "/v1.47/containers/create?name=x",
            "/v1.41/containers/create?name=x",
        );
        check("/v1.47/_ping", "/v1.41/_ping");
        check("/v1.47?x=1", "/v1.41?x=1");
        check("/version", "/version");
        check("/volumes/v1.47", "/volumes/v1.47");
        check("/vx.y/containers", "/vx.y/containers");
    }

    #[test]
    fn parses_versions() {
        assert_eq!(parse_version("1.41"), Some((1, 41)));
        assert!(parse_version("1.41").unwrap() < CLIENT_API);
        assert!(parse_version("1.51").unwrap() >= CLIENT_API);
        assert_eq!(parse_version("x"), None);
    }
}
