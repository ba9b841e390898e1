//! The simulator's test PKI, shaped like Denmark's OCES, and the one rule every service needs
//! from it: *which organisation's system is this certificate?*
//!
//! Real Sygefravaer integrations authenticate IT systems with organisation certificates over
//! mutual TLS; the CVR number in the certificate subject decides what a caller may do. This
//! crate makes such certificates for tests and demos (a two-level test CA, system
//! certificates for KOMBIT, the platform, KSD and each jobcenter vendor instance, per-program
//! server certificates, and a set of deliberately bad ones), issues kits for outside systems
//! (a system certificate to call with, a server certificate for the endpoint that takes a
//! seat), keeps them on disk across runs, and reads the identity back out of a peer
//! certificate in either real subject layout.
//!
//! **Invariants**: nothing here reads the clock, the environment or the command line: `now`
//! and every input are parameters. Names and identities are deterministic (same CVR and
//! system name, same UUID); only keys are random. Every name says `SIMULATED`/`TEST ONLY`.
//! No TLS stack here: transport lives in `sim-kit`.
//!
//! # Layout
//! - [`cvr`]: the validated 8-digit [`Cvr`] newtype.
//! - [`subject`]: the OCES3 and FOCES subject shapes and the deterministic UUID/FID.
//! - [`identity`]: [`identify`] turns a verified peer certificate into a [`SystemIdentity`].
//! - [`spec`]: what the PKI contains ([`PkiSpec`]), and the vendor list parser.
//! - [`issue`]: the in-memory CA ([`TestPki`]) and everything it issues, bad set included.
//! - [`inspect`]: facts about an existing certificate (validity, subject, signer).
//! - [`store`]: the directory layout, idempotent [`store::ensure`], manifest and README.
//! - [`p12`]: PKCS#12 export for systems outside the simulator.
//! - [`pem`]: PEM text back to DER.

pub mod cvr;
pub mod identity;
pub mod inspect;
pub mod issue;
pub mod p12;
pub mod pem;
pub mod spec;
pub mod store;
pub mod subject;

pub use cvr::{Cvr, CvrError};
pub use identity::{identify, Holder, IdentityError, SystemIdentity};
pub use issue::{BadKind, Issued, PkiError, ServerNameError, ServerSpec, TestPki};
pub use spec::{parse_vendors_csv, PkiSpec, SystemEntry, VendorInstance};
pub use subject::{OrgSubject, SubjectShape};

/// The time type every `now` parameter takes, re-exported so callers need no direct `time`
/// dependency to pass the current time in.
pub use time::OffsetDateTime;
