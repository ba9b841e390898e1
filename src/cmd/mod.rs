//! One module per subcommand of `sim`.

pub mod certs;
pub mod validate;
