//! SF2095, sick-leave status updates: a vendor sends `SendOpdateringFravaer` to the platform
//! and later receives KSD's business receipt as `ModtagForretningsSvar`.
//!
//! Sending (JC-1): [`crate::Jobcenter::send_update`] builds a realistic `OpdateringFravaer`,
//! persists it (the vendor owns it from then on), sends it to the platform and resends the
//! *same* message (same TransaktionIdentifikator) on a transport error or a SOAP fault, with
//! backoff, until a TransportKvittering arrives. OK/ADVARSEL means accepted, FEJL rejected.
//! JC-1's "resend until not FEJL" means *after the case worker fixed the data*: a FEJL is
//! the sender's mistake, so resending the identical message would only get FEJL again; a
//! simulated vendor has no case worker and therefore records the rejection and stops.
//!
//! Receiving (KSD-2): once the receiver port has admitted the call (JC-2, JC-3), an accepted
//! receipt is persisted and journaled in one commit *before* OK is answered, correlated with
//! the update of the same TransaktionIdentifikator, and wakes whoever waits for it. A
//! repeated delivery (the platform delivers at least once) is answered OK again and only
//! counted.
//!
//! - `generate`: [`crate::UpdateSpec`] + virtual now → a valid `SendOpdateringFravaerRequest`.
//! - `send`: sending and resending an update (JC-1).
//! - `receipt`: the receiver table's handler of `ModtagForretningsSvar` (KSD-2).
//! - `store`: the tables `jc_updates` and `jc_receipts`, their writes and queries.

mod generate;
pub(crate) mod receipt;
mod send;
pub(crate) mod store;
