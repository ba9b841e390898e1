//! `sim-testcontainers`: the simulated ecosystem in containers, for tests written in Rust.
//!
//! [`Ecosystem::builder`] starts the programs of the ecosystem (the platform, KSD, the
//! jobcenter vendors, STAR; all four by default) from the local image `sim-ecosystem:local`
//! (`docker/build-image.sh`; nothing is pulled), each as `sim serve <program>` in its own
//! container, waits until every admin API answers `GET /health`, and hands back where
//! everything is from the host's view ([`Endpoints`]) and the test PKI the programs trust
//! ([`Ecosystem::certs_dir`]): a test calls the admin APIs, or the data planes with one of the
//! PKI's system certificates, as it would call `sim up`'s. Dropping the [`Ecosystem`] removes
//! its containers and its state.
//!
//! The containers share one network namespace — the first program's, on a network of its
//! own — so every program reaches its peers at `127.0.0.1` on the documented fixed ports (the
//! server certificates are valid for it), no two ecosystems see each other, and any number of
//! them run side by side: the first container publishes every port on a free host port.
//! A program left out ([`EcosystemBuilder::seat`]) is a seat for your own system: its peers
//! call it at the host name you give (e.g. `host.docker.internal`, the Docker host).
//!
//! The image must exist: without it [`Ecosystem::builder`]'s `start` fails with
//! [`Error::ImageMissing`], which says how to build it.
//!
//! # Layout
//! - `ecosystem`: [`Ecosystem`], its builder, [`Program`], [`Endpoints`].
//! - `docker_api`: lets testcontainers (whose Docker client speaks API 1.47) talk to an older
//!   Docker Engine (Debian's 20.10 speaks 1.41) by rewriting the version in each request's
//!   path, through a socket of its own; used only when the engine is older.
//! - [`http`]: a minimal JSON-over-HTTP/1.1 client for the admin and control APIs.

mod docker_api;
mod ecosystem;
pub mod http;

pub use ecosystem::{
    Ecosystem, EcosystemBuilder, Endpoints, Error, Program, ProgramEndpoints, IMAGE_NAME, IMAGE_TAG,
};
