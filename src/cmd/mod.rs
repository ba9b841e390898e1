//! One module per subcommand of `sim`.

pub mod bench;
mod bench_overload;
pub mod certs;
pub mod health;
pub mod run;
pub mod send;
pub mod serve;
pub mod up;
pub mod validate;
