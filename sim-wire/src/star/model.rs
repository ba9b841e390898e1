//! STAR's messages as plain values: the SOAP headers every call carries (SP-12), the four
//! requests and responses, and the sick-leave event, `IllnessUpdateRegistration`, with the
//! field names seed 004 uses.

use crate::values::{Cpr, Dato, DatoTid, Uuid};

use super::operation::{StarOperation, GET_ILLNESS_UPDATED_SERVICE_NAME, KSD_SUB_QUEUE};

/// The constant values of seed 004 §3.3.3 that every call to STAR carries (rule SP-12).
pub mod sp12 {
    /// `OrganisationTypeIdentifier`: the organisation is a municipality.
    pub const ORGANISATION_TYPE_IDENTIFIER: &str = "7";
    /// `OrganisationCode`: 999, the code under which STAR exposes every municipality's
    /// sick-leave statuses together.
    pub const ORGANISATION_CODE: &str = "999";
    /// `UserFullName`: KSD is the caller.
    pub const USER_FULL_NAME: &str = "KSD";
    /// `RequestUserTypeIdentifier`: an IT system (an automatic job) made the call.
    pub const REQUEST_USER_TYPE_IDENTIFIER: &str = "3";
    /// `UserIdentifier`: the IT system's name.
    pub const USER_IDENTIFIER: &str = "KSD System";
}

/// `ActiveOrganisationHeader` (seed 004 §3.3.3): whose data the caller may process. Values
/// are kept as sent, so that a wrong one can be named (SP-12) rather than only fail to parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveOrganisationHeader {
    /// `OrganisationTypeIdentifier`; SP-12: `7`.
    pub organisation_type_identifier: String,
    /// `OrganisationCode`; SP-12: `999`.
    pub organisation_code: String,
}

/// `RequestUserMetadataHeader/RequestUserStructure`: who made the call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestUserStructure {
    /// `UserFullName`; SP-12: `KSD`.
    pub user_full_name: String,
    /// `RequestUserTypeIdentifier`; SP-12: `3`.
    pub request_user_type_identifier: String,
    /// `UserIdentifier`; SP-12: `KSD System`.
    pub user_identifier: String,
}

/// `RequestUserMetadataHeader/RequestOrganisationStructure`: the caller's organisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestOrganisationStructure {
    /// `OrganisationTypeIdentifier`; SP-12: `7`.
    pub organisation_type_identifier: String,
    /// `OrganisationCode`; SP-12: `999`.
    pub organisation_code: String,
}

/// `RequestUserMetadataHeader` (seed 004 §3.3.3): for STAR's logging, who called and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestUserMetadataHeader {
    /// The user.
    pub request_user: RequestUserStructure,
    /// The user's organisation.
    pub request_organisation: RequestOrganisationStructure,
    /// `RegistrationDateTime`: the time of the call, the one value that is not constant; an
    /// `xs:dateTime` with offset (SP-12 checks it parses). Placed after the two structures
    /// (defined here: the seed does not say where).
    pub registration_date_time: String,
}

/// Every SOAP header STAR reads. A reader fills what it finds (absent: `None`, an absent
/// leaf: empty text) and [`super::check_headers`] says what SP-12 misses.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StarHeaders {
    /// `ActiveOrganisationHeader`.
    pub active_organisation: Option<ActiveOrganisationHeader>,
    /// `RequestUserMetadataHeader`.
    pub request_user_metadata: Option<RequestUserMetadataHeader>,
    /// `SequenceRequest/Identifier` (seed 004 §3.3.5): the sequence a
    /// `GetIllnessUpdatedVersion6` fetches, as sent; only that operation carries it.
    pub sequence_request: Option<String>,
}

impl StarHeaders {
    /// The headers the platform's job sends (rule SP-12): the constants of seed 004 §3.3.3
    /// and `RegistrationDateTime` = `called_at`, the time of the call (from the caller's
    /// clock: this crate reads none).
    pub fn ksd(called_at: DatoTid) -> StarHeaders {
        StarHeaders {
            active_organisation: Some(ActiveOrganisationHeader {
                organisation_type_identifier: sp12::ORGANISATION_TYPE_IDENTIFIER.into(),
                organisation_code: sp12::ORGANISATION_CODE.into(),
            }),
            request_user_metadata: Some(RequestUserMetadataHeader {
                request_user: RequestUserStructure {
                    user_full_name: sp12::USER_FULL_NAME.into(),
                    request_user_type_identifier: sp12::REQUEST_USER_TYPE_IDENTIFIER.into(),
                    user_identifier: sp12::USER_IDENTIFIER.into(),
                },
                request_organisation: RequestOrganisationStructure {
                    organisation_type_identifier: sp12::ORGANISATION_TYPE_IDENTIFIER.into(),
                    organisation_code: sp12::ORGANISATION_CODE.into(),
                },
                registration_date_time: called_at.to_string(),
            }),
            sequence_request: None,
        }
    }

    /// The same headers with `SequenceRequest/Identifier` = `sequence`, as
    /// `GetIllnessUpdatedVersion6` needs (SP-12).
    pub fn with_sequence(mut self, sequence: Uuid) -> StarHeaders {
        self.sequence_request = Some(sequence.to_string());
        self
    }

    /// The sequence a `SequenceRequest` names, when it is there and a UUID.
    pub fn sequence(&self) -> Option<Uuid> {
        self.sequence_request.as_deref()?.trim().parse().ok()
    }
}

/// `CreateSequenceRequestType` (EP_STAR1): the sub-queue to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CreateSequenceRequest {
    /// `SubQueueIdentifier`: 6 for KSD's statuses ([`KSD_SUB_QUEUE`]; SP-10).
    pub sub_queue_identifier: u32,
}

impl CreateSequenceRequest {
    /// The request the platform's job sends: sub-queue 6.
    pub fn ksd() -> CreateSequenceRequest {
        CreateSequenceRequest {
            sub_queue_identifier: KSD_SUB_QUEUE,
        }
    }
}

/// `ServiceInventoryCollection/ServiceItem`: one kind of event waiting on the sub-queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceItem {
    /// `ServiceName`: the operation to fetch with (`GetIllnessUpdatedVersion6`).
    pub service_name: String,
    /// `ServiceEndpoint`: the URL to call it at (the fetch goes there, EP_STAR2).
    pub service_endpoint: String,
    /// `MessageCount`: how many events the sequence holds, and so how many
    /// `IllnessUpdateRegistration`s the fetch returns.
    pub message_count: u64,
}

impl ServiceItem {
    /// The `GetIllnessUpdatedVersion6` item, fetched at `endpoint`, with `count` events.
    pub fn get_illness_updated(endpoint: impl Into<String>, count: u64) -> ServiceItem {
        ServiceItem {
            service_name: GET_ILLNESS_UPDATED_SERVICE_NAME.into(),
            service_endpoint: endpoint.into(),
            message_count: count,
        }
    }
}

/// `CreateSequenceResponseType`: the new sequence and what it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateSequenceResponse {
    /// `Identifier`: names the sequence in every later call until it ends.
    pub identifier: Uuid,
    /// `ServiceInventoryCollection`: one item per kind of event (for KSD's sub-queue, one).
    pub services: Vec<ServiceItem>,
}

/// `TerminateSequenceRequestType` (EP_STAR3) and `CloseSequenceRequestType` (EP_STAR4) carry
/// the same single parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SequenceIdentifier {
    /// `Identifier`: the sequence CreateSequence answered.
    pub identifier: Uuid,
}

/// A request to STAR, by operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StarRequest {
    /// EP_STAR1.
    CreateSequence(CreateSequenceRequest),
    /// EP_STAR2: the Body is an empty `GetIllnessUpdatedRequest`; the sequence is in the
    /// `SequenceRequest` header.
    GetIllnessUpdated,
    /// EP_STAR3.
    TerminateSequence(SequenceIdentifier),
    /// EP_STAR4.
    CloseSequence(SequenceIdentifier),
}

impl StarRequest {
    /// Its operation.
    pub fn operation(&self) -> StarOperation {
        match self {
            StarRequest::CreateSequence(_) => StarOperation::CreateSequence,
            StarRequest::GetIllnessUpdated => StarOperation::GetIllnessUpdatedVersion6,
            StarRequest::TerminateSequence(_) => StarOperation::TerminateSequence,
            StarRequest::CloseSequence(_) => StarOperation::CloseSequence,
        }
    }

    /// The sequence the request names in its Body (terminate and close).
    pub fn identifier(&self) -> Option<Uuid> {
        match self {
            StarRequest::TerminateSequence(s) | StarRequest::CloseSequence(s) => Some(s.identifier),
            _ => None,
        }
    }
}

/// A whole call to STAR: its headers and its request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StarCall {
    /// The SOAP headers (SP-12).
    pub headers: StarHeaders,
    /// The Body.
    pub request: StarRequest,
}

impl StarCall {
    /// Its operation.
    pub fn operation(&self) -> StarOperation {
        self.request.operation()
    }

    /// The sequence the call is about: the Body's `Identifier` (terminate, close) or the
    /// `SequenceRequest` header (fetch).
    pub fn sequence(&self) -> Option<Uuid> {
        self.request
            .identifier()
            .or_else(|| self.headers.sequence())
    }
}

/// A response from STAR, by operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StarResponse {
    /// `CreateSequenceResponseType`.
    CreateSequence(CreateSequenceResponse),
    /// `GetIllnessUpdatedResponse`: every event of the sequence, in STAR's order.
    GetIllnessUpdated(Vec<IllnessUpdateRegistration>),
    /// An empty `TerminateSequenceResponseType` (defined here): the events are gone.
    TerminateSequence,
    /// An empty `CloseSequenceResponseType` (defined here): the events are back on the queue.
    CloseSequence,
}

impl StarResponse {
    /// Its operation.
    pub fn operation(&self) -> StarOperation {
        match self {
            StarResponse::CreateSequence(_) => StarOperation::CreateSequence,
            StarResponse::GetIllnessUpdated(_) => StarOperation::GetIllnessUpdatedVersion6,
            StarResponse::TerminateSequence => StarOperation::TerminateSequence,
            StarResponse::CloseSequence => StarOperation::CloseSequence,
        }
    }
}

/// What came back from STAR: its response, or a SOAP fault (whose rule, for the simulated
/// STAR, is in `ServiceplatformFault/ErrorCode`, as every program of the ecosystem refuses).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StarReply {
    /// A response.
    Response(StarResponse),
    /// A fault.
    Fault(crate::model::SoapFault),
}

/// `CaseWorkerStructure`: who registered the change at the source (a case worker, or a batch
/// job as in seed 004's example). Free text may hold any Latin-1 letter (æ, ø, å ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseWorkerStructure {
    /// `CaseWorkerGivenName`.
    pub given_name: String,
    /// `CaseWorkerMiddleName`, when there is one.
    pub middle_name: Option<String>,
    /// `CaseWorkerSurname`.
    pub surname: String,
    /// `CaseWorkerRID`: the case worker's certificate id, `CVR:<cvr>-RID:<digits>`.
    pub rid: String,
}

/// `AuthorityStructure`: the authority the change was registered at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorityStructure {
    /// `AuthorityCode`: for a jobcenter, its municipality's kommunekode.
    pub authority_code: u32,
    /// `AuthorityName`.
    pub authority_name: String,
    /// `AuthorityType`, e.g. `Jobcenter`.
    pub authority_type: String,
}

/// `RequestMetadata`: when, by whom and where the change was registered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestMetadata {
    /// `EventDate`: when the change happened (an `xs:dateTime` with offset, as in the seed).
    pub event_date: DatoTid,
    /// `CaseWorkerStructure`.
    pub case_worker: CaseWorkerStructure,
    /// `AuthorityStructure`.
    pub authority: AuthorityStructure,
}

/// `Illness`: the sick-leave period and the ids that name the event and the notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Illness {
    /// `IllnessStartDate`: the first day of absence. STAR writes a day as a date-time at
    /// midnight without offset (`2019-07-30T00:00:00`); read: the date part.
    pub illness_start_date: Dato,
    /// `IllnessEndDate`: the last day of absence, once it is known.
    pub illness_end_date: Option<Dato>,
    /// `AbsenceCauseTypeIdentifier`: STAR's code for the kind of absence (1 in the seed).
    pub absence_cause_type_identifier: u32,
    /// `MessageIdentifier`: STAR's id of this event; becomes the Haendelsesbesked's
    /// `ObjektRegistreringId` (SP-11), so a refetched event can be recognised.
    pub message_identifier: Uuid,
    /// `NemRefusionIdentifier`: NemRefusion's id of the notification, when it came through
    /// NemRefusion; the Haendelsesbesked's registration `ObjektId` (SP-11).
    pub nem_refusion_identifier: Option<Uuid>,
    /// `NotificationDate`: the day the absence was notified; written with milliseconds
    /// (`2019-08-28T00:00:00.000`) as in the seed.
    pub notification_date: Dato,
}

/// `IllnessUpdateRegistration` (seed 004 §3.1.3.2.2): one change to a person's sick leave,
/// the unit STAR queues, a sequence returns, and the platform publishes (SP-11).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IllnessUpdateRegistration {
    /// `RequestMetadata`.
    pub request_metadata: RequestMetadata,
    /// `PersonCivilRegistrationIdentifier`: the person's CPR number.
    pub person_civil_registration_identifier: Cpr,
    /// `IsIllnessEnded`: the sick leave has ended (then `IllnessEndDate` says when).
    pub is_illness_ended: bool,
    /// `IsStartDateUpdated`: this change moves the first day of absence.
    pub is_start_date_updated: bool,
    /// `IsEndDateUpdated`: this change moves the last day of absence.
    pub is_end_date_updated: bool,
    /// `ContactGroupTypeIdentifier`: STAR's contact group of the person (24 in the seed).
    pub contact_group_type_identifier: u32,
    /// `Illness`.
    pub illness: Illness,
}
