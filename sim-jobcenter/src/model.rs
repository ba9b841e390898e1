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
    /// Persisted and being sent; no TransportKvittering yet (the vendor owns it, JC-1, and
    /// its background resender sends it until one arrives).
    Sent,
    /// TransportKvittering OK or ADVARSEL.
    Accepted,
    /// TransportKvittering FEJL: not processed; needs a fix before a resend.
    Rejected,
}

impl UpdateStatus {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            UpdateStatus::Sent => "sent",
            UpdateStatus::Accepted => "accepted",
            UpdateStatus::Rejected => "rejected",
        }
    }

    /// Reads the stored spelling.
    pub fn parse(s: &str) -> Option<UpdateStatus> {
        Some(match s {
            "accepted" => UpdateStatus::Accepted,
            "rejected" => UpdateStatus::Rejected,
            // Stores written before the background resender (JC-1) gave updates up as
            // "undelivered"; they are owned and sent like any other.
            "sent" | "undelivered" => UpdateStatus::Sent,
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

/// Where a business answer the vendor owes KSD stands (an SF2090 acknowledgement or an
/// SF2093 answer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AnswerState {
    /// Decided and in the resender's queue: due at `due_at`, or being resent until a
    /// TransportKvittering that is not FEJL arrives (JC-1).
    Pending,
    /// The platform answered it with OK or ADVARSEL.
    Sent,
    /// The vendor's policy says it is never sent (a broken or forgetful vendor).
    Never,
    /// KSD refused it (TransportKvittering FEJL, passed through by the platform): not resent
    /// by itself (as an update's FEJL, JC-1), but sent once more when KSD delivers what it
    /// answers again (KSD still holds no answer).
    Refused,
}

impl AnswerState {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            AnswerState::Pending => "pending",
            AnswerState::Sent => "sent",
            AnswerState::Never => "never",
            AnswerState::Refused => "refused",
        }
    }

    /// Reads the stored spelling.
    pub fn parse(s: &str) -> Option<AnswerState> {
        Some(match s {
            "pending" => AnswerState::Pending,
            "sent" => AnswerState::Sent,
            "never" => AnswerState::Never,
            "refused" => AnswerState::Refused,
            _ => return None,
        })
    }
}

/// A business answer as the vendor keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnswerInfo {
    /// Where it stands.
    pub state: AnswerState,
    /// When it is (or was last) due to be sent (virtual time); none for `never`, and for an
    /// acknowledgement withheld by an injected fault (`pending`) until KSD delivers its
    /// event again.
    #[serde(with = "time::serde::rfc3339::option")]
    pub due_at: Option<OffsetDateTime>,
    /// Attempts so far, over every send and resend.
    pub attempts: u32,
    /// The last TransportKvittering's code (`OK`, `ADVARSEL`, `FEJL`), once one arrived.
    pub transport_code: Option<String>,
    /// The last fault or transport error, or the FejlListe of a FEJL.
    pub last_error: Option<String>,
    /// When the platform last accepted it (virtual time).
    #[serde(with = "time::serde::rfc3339::option")]
    pub sent_at: Option<OffsetDateTime>,
    /// The document sent (the same on every attempt); none for `never`.
    pub xml: Option<String>,
}

impl AnswerInfo {
    /// Owed but held back by an injected fault (`unacknowledged_event`): pending, never due.
    pub fn is_withheld(&self) -> bool {
        self.state == AnswerState::Pending && self.due_at.is_none()
    }
}

/// A case event (SF2090, KSD-10) as the receiving instance stored it, with the case state it
/// learned and its acknowledgement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventInfo {
    /// The event's TransaktionIdentifikator (its acknowledgement carries the same).
    pub transaktion_id: String,
    /// The instance that received it.
    pub instance: String,
    /// The municipality of the security context (JC-3).
    pub municipality: String,
    /// `OPRETTET`, `AENDRET` or `AFSLUTTET`.
    pub haendelse_type: String,
    /// KSD's case id.
    pub sag_id: String,
    /// The person.
    pub cpr: String,
    /// The case's status after the event: `AKTIV` or `OPHOERT`.
    pub status: String,
    /// The case's duration code (KSD-9): 60 to 64.
    pub varighed_kode: String,
    /// ForretningHaendelseDatoTid: when the event happened at KSD.
    pub haendelse_at: String,
    /// The first delivery's document.
    pub raw: String,
    /// Virtual time of the first delivery.
    #[serde(with = "time::serde::rfc3339")]
    pub received_at: OffsetDateTime,
    /// How many times it was delivered (more than 1: KSD or the platform redelivered).
    pub deliveries: u32,
    /// The acknowledgement (`SendForretningsSvar` MODTAGET).
    pub acknowledgement: AnswerInfo,
}

/// What the vendor's policy decided about an extension request (SF2093, KSD-11).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExtensionDecision {
    /// A `TIDSBEGRAENSET` extension with an end date.
    TimeLimited,
    /// A `TIDSUBEGRAENSET` extension.
    Unlimited,
    /// An `Afvisning` with a Begrundelse.
    Rejected,
    /// No answer, ever.
    Never,
}

impl ExtensionDecision {
    /// The stored spelling (the JSON one).
    pub fn as_str(self) -> &'static str {
        match self {
            ExtensionDecision::TimeLimited => "time_limited",
            ExtensionDecision::Unlimited => "unlimited",
            ExtensionDecision::Rejected => "rejected",
            ExtensionDecision::Never => "never",
        }
    }

    /// Reads the stored spelling.
    pub fn parse(s: &str) -> Option<ExtensionDecision> {
        Some(match s {
            "time_limited" => ExtensionDecision::TimeLimited,
            "unlimited" => ExtensionDecision::Unlimited,
            "rejected" => ExtensionDecision::Rejected,
            "never" => ExtensionDecision::Never,
            _ => return None,
        })
    }
}

/// An extension request (SF2093, KSD-11) as the receiving instance stored it, with the
/// decision its policy made and the answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExtensionRequestInfo {
    /// The request's TransaktionIdentifikator (its answer carries the same).
    pub transaktion_id: String,
    /// The instance that received it.
    pub instance: String,
    /// The municipality of the security context (JC-3).
    pub municipality: String,
    /// KSD's case id.
    pub sag_id: String,
    /// The person.
    pub cpr: String,
    /// VarighedsgraenseDato: when the case reaches its duration limit.
    pub varighedsgraense_dato: String,
    /// SvarFrist: the answer's deadline.
    pub svar_frist: String,
    /// The first delivery's document.
    pub raw: String,
    /// Virtual time of the first delivery.
    #[serde(with = "time::serde::rfc3339")]
    pub received_at: OffsetDateTime,
    /// How many times it was delivered.
    pub deliveries: u32,
    /// What the policy decided (once, on the first delivery).
    pub decision: ExtensionDecision,
    /// ForlaengelseSlutDato of a time-limited extension.
    pub extension_end: Option<String>,
    /// The rejection's Begrundelse.
    pub begrundelse: Option<String>,
    /// Whether the answer is due after SvarFrist on purpose (`late_share`).
    pub late: bool,
    /// The answer (`SendForretningsSvarForlaengelse`).
    pub answer: AnswerInfo,
}
