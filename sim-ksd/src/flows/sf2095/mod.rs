//! SF2095, sick-leave status updates: the platform forwards a jobcenter's update to KSD
//! (`ModtagOpdateringFravaer`), KSD answers it with a TransportKvittering at once and later
//! with a business receipt (`SendForretningsSvar` on the JC exposure).
//!
//! - [`update`]: the update: idempotency (KSD-7), validation (KSD-1), persistence.
//! - [`receipt`]: the business receipt (KSD-2): building it, and delivering it from the
//!   outbox.

pub mod receipt;
pub mod update;
