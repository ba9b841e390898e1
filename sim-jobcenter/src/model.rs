//! What crosses the API boundary: what a caller asks to send, and what it learns back. These
//! are the only serde types of the crate besides the configuration; the admin API speaks
//! them as JSON.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// What to send: every field is optional, and whatever is left out is generated (seeded)
/// or defaulted. Overrides are sent as given, without the checks KSD makes, so that a
/// scenario can provoke KSD's rules (KSD-4, KSD-5, KSD-8) on purpose.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct UpdateSpec {
    /// The vendor instance that sends; default: the first configured instance serving
    /// `municipality`, or the first configured instance when no municipality is given.
    pub instance: Option<String>,
    /// The municipality CVR the call runs in (AuthorityContext and header Myndighed); must be
    /// one the instance serves (JC-3). Default: the instance's first.
    pub municipality: Option<String>,
    /// A header Myndighed different from the security context (provokes KSD-8).
    pub myndighed: Option<String>,
    /// The person's CPR; default: generated with a real birth date.
    pub cpr: Option<String>,
    /// The employer's CVR; default: generated.
    pub arbejdsgiver: Option<String>,
    /// The TransaktionIdentifikator; default: the instance's next from its seeded stream. A
    /// scenario run gives its own so the same seed gives the same messages whatever the
    /// order of sending.
    #[serde(default)]
    pub transaktion_id: Option<String>,
    /// The employer's P-number; default: generated.
    pub produktionsenhed: Option<String>,
    /// Ophoersaarsag code from the value list; default: one an outsider may send (not 10,
    /// not 60-64, KSD-5). 10 or 60-64 here provoke KSD-5.
    pub ophoers_aarsag: Option<u8>,
    /// FoersteFravaersdag `YYYY-MM-DD`; default: 7-120 days before the virtual now.
    pub foerste_fravaersdag: Option<String>,
    /// OphoersStartDato; default: after FoersteFravaersdag and not after today.
    pub ophoers_start_dato: Option<String>,
    /// OphoersSlutDato (last approved holiday day); default: none.
    pub ophoers_slut_dato: Option<String>,
    /// The jobcenter's own case id; default: `<VENDOR>-<year>-<6 digits>`.
    pub jobcenter_sag_id: Option<String>,
}

/// Where an update stands in the sender's eyes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UpdateStatus {
    /// Persisted and being sent; no TransportKvittering yet (the vendor owns it, JC-1).
    Sent,
    /// TransportKvittering OK or ADVARSEL.
    Accepted,
    /// TransportKvittering FEJL: not processed; needs a fix before a resend.
    Rejected,
    /// Every attempt failed with a transport error or a SOAP fault; still owned, and
    /// resent on the next start or on request.
    Undelivered,
}

impl UpdateStatus {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            UpdateStatus::Sent => "sent",
            UpdateStatus::Accepted => "accepted",
            UpdateStatus::Rejected => "rejected",
            UpdateStatus::Undelivered => "undelivered",
        }
    }

    /// Reads the stored spelling.
    pub fn parse(s: &str) -> Option<UpdateStatus> {
        Some(match s {
            "sent" => UpdateStatus::Sent,
            "accepted" => UpdateStatus::Accepted,
            "rejected" => UpdateStatus::Rejected,
            "undelivered" => UpdateStatus::Undelivered,
            _ => return None,
        })
    }
}

/// The result of sending one update: the last attempt's answer, and how many attempts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendOutcome {
    /// The TransaktionIdentifikator (the same on every attempt).
    pub transaktion_id: String,
    /// The instance that sent.
    pub instance: String,
    /// The municipality of the security context.
    pub municipality: String,
    /// The request document, byte for byte as sent.
    pub request_xml: String,
    /// The last answer's body, if any arrived.
    pub response_xml: Option<String>,
    /// The TransportKvittering code (`OK`, `ADVARSEL`, `FEJL`) if one arrived.
    pub transport_code: Option<String>,
    /// The last fault or transport error, if the last attempt got no receipt.
    pub fault: Option<String>,
    /// Attempts made by this call.
    pub attempts: u32,
    /// Where the update stands now.
    pub status: UpdateStatus,
}

/// A business receipt (`ForretningsSvar`) as the receiving instance stored it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptInfo {
    /// The TransaktionIdentifikator it answers (KSD-2).
    pub transaktion_id: String,
    /// The instance that received it.
    pub instance: String,
    /// The municipality of the security context.
    pub municipality: String,
    /// `ForretningsValideringsKode`: MODTAGET, AFLEVERET, ACCEPTERET, AFVIST or FEJLET.
    pub code: String,
    /// `Begrundelse`, if given.
    pub begrundelse: Option<String>,
    /// The first delivery's document.
    pub raw: String,
    /// Virtual time of the first delivery.
    #[serde(with = "time::serde::rfc3339")]
    pub received_at: OffsetDateTime,
    /// How many times it was delivered (more than 1: the platform redelivered).
    pub deliveries: u32,
}

/// An update as the sender keeps it, with its business receipt once that arrived.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpdateInfo {
    /// The TransaktionIdentifikator.
    pub transaktion_id: String,
    /// The sending instance.
    pub instance: String,
    /// The municipality of the security context.
    pub municipality: String,
    /// The person.
    pub cpr: String,
    /// Where it stands.
    pub status: UpdateStatus,
    /// Attempts so far, over all sends and resends.
    pub attempts: u32,
    /// The TransportKvittering code, once one arrived.
    pub transport_code: Option<String>,
    /// The last fault or transport error.
    pub fault: Option<String>,
    /// Virtual time it was created (and owned from).
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// The request document.
    pub request_xml: String,
    /// The last answer's body.
    pub response_xml: Option<String>,
    /// The business receipt's code, once it arrived (KSD-2).
    pub business_code: Option<String>,
    /// The business receipt's document, once it arrived (the same as `receipt.raw`, flat
    /// for callers that only print it).
    pub business_raw: Option<String>,
    /// The business receipt, once it arrived.
    pub receipt: Option<ReceiptInfo>,
}
