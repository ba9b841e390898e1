//! The `sim` command's library: everything the CLI does, testable without the CLI.
//!
//! # Layout
//! - [`refdata`]: the embedded reference data (municipalities, vendors, routing).
//! - [`ecosystem`]: the three programs wired together and started in one process.
//! - [`admin_client`]: a small HTTP client for the programs' admin APIs.
//! - [`jobcenter_remote`]: the simulated jobcenter driven through its admin API from another
//!   process.
//! - [`runner`]: `sim run` — a scenario turned into traffic, faults, checks and a report.

pub mod admin_client;
pub mod ecosystem;
pub mod jobcenter_remote;
pub mod refdata;
pub mod runner;
