//! One realistic, valid message per STAR operation and direction, and two events: the golden
//! files and the published examples (`contracts/examples/STAR-*`) are written from these.
//! Names carry Danish letters on purpose: the event travels ISO-8859-1 (seed 004 §3.1.3.2.2).

use super::model::*;
use crate::values::{Cpr, Dato, DatoTid, Uuid};

fn p<T: std::str::FromStr>(s: &str) -> T
where
    T::Err: std::fmt::Debug,
{
    s.parse().expect("example literals are valid")
}

/// The sequence of the examples.
pub const SEQUENCE: &str = "5d1f0c7a-3b2e-4c9d-8a61-2f4e6b8d0c13";

/// Where the examples' STAR serves `GetIllnessUpdatedVersion6` (a placeholder host).
pub const SERVICE_ENDPOINT: &str = "https://localhost:8446/star/WsrmMessageService";

/// The time of the examples' calls (RegistrationDateTime, SP-12).
pub const CALLED_AT: &str = "2026-03-02T10:00:00+01:00";

/// The headers the platform's job sends (SP-12), without and with the sequence.
pub fn headers(with_sequence: bool) -> StarHeaders {
    let h = StarHeaders::ksd(p::<DatoTid>(CALLED_AT));
    if with_sequence {
        h.with_sequence(p(SEQUENCE))
    } else {
        h
    }
}

/// An ongoing sick leave reported by a jobcenter case worker whose names need ISO-8859-1.
pub fn registration() -> IllnessUpdateRegistration {
    IllnessUpdateRegistration {
        request_metadata: RequestMetadata {
            event_date: p("2026-03-02T08:15:00Z"),
            case_worker: CaseWorkerStructure {
                given_name: "Åse".into(),
                middle_name: Some("Ørum".into()),
                surname: "Bækgård".into(),
                rid: "CVR:29189846-RID:0000000004711".into(),
            },
            authority: AuthorityStructure {
                authority_code: 791,
                authority_name: "Jobcenter Viborg".into(),
                authority_type: "Jobcenter".into(),
            },
        },
        person_civil_registration_identifier: p::<Cpr>("0101701234"),
        is_illness_ended: false,
        is_start_date_updated: false,
        is_end_date_updated: false,
        contact_group_type_identifier: 24,
        illness: Illness {
            illness_start_date: p::<Dato>("2026-02-23"),
            illness_end_date: None,
            absence_cause_type_identifier: 1,
            message_identifier: p::<Uuid>("8c4e2a10-6f3b-4d7e-9a52-1b0c3d5e7f91"),
            nem_refusion_identifier: Some(p("a7d3f5e1-2c4b-4e6a-8f09-3b5d7e9f1a24")),
            notification_date: p("2026-03-02"),
        },
    }
}

/// The same person's sick leave ended (as in seed 004's example: a batch job, the end date
/// set), registered at a jobcenter in Ærø.
pub fn ended_registration() -> IllnessUpdateRegistration {
    let mut r = registration();
    r.request_metadata.event_date = p("2026-03-16T00:00:00Z");
    r.request_metadata.case_worker = CaseWorkerStructure {
        given_name: "TASS".into(),
        middle_name: Some("Batch".into()),
        surname: "Job".into(),
        rid: "CVR:28856075-RID:0000000000001".into(),
    };
    r.request_metadata.authority = AuthorityStructure {
        authority_code: 492,
        authority_name: "Jobcenter Ærø".into(),
        authority_type: "Jobcenter".into(),
    };
    r.is_illness_ended = true;
    r.illness.illness_end_date = Some(p("2026-03-13"));
    r.illness.message_identifier = p("8c4e2a10-6f3b-4d7e-9a52-1b0c3d5e7f92");
    r.illness.notification_date = p("2026-03-16");
    r
}

/// One call per operation: (file-name stem, call), e.g. `("CreateSequence-request", ...)`.
pub fn requests() -> Vec<(&'static str, StarCall)> {
    let id = SequenceIdentifier {
        identifier: p(SEQUENCE),
    };
    vec![
        (
            "CreateSequence-request",
            StarCall {
                headers: headers(false),
                request: StarRequest::CreateSequence(CreateSequenceRequest::ksd()),
            },
        ),
        (
            "GetIllnessUpdatedVersion6-request",
            StarCall {
                headers: headers(true),
                request: StarRequest::GetIllnessUpdated,
            },
        ),
        (
            "TerminateSequence-request",
            StarCall {
                headers: headers(false),
                request: StarRequest::TerminateSequence(id),
            },
        ),
        (
            "CloseSequence-request",
            StarCall {
                headers: headers(false),
                request: StarRequest::CloseSequence(id),
            },
        ),
    ]
}

/// One response per operation: (file-name stem, response).
pub fn responses() -> Vec<(&'static str, StarResponse)> {
    vec![
        (
            "CreateSequence-response",
            StarResponse::CreateSequence(CreateSequenceResponse {
                identifier: p(SEQUENCE),
                services: vec![ServiceItem::get_illness_updated(SERVICE_ENDPOINT, 2)],
            }),
        ),
        (
            "GetIllnessUpdatedVersion6-response",
            StarResponse::GetIllnessUpdated(vec![registration(), ended_registration()]),
        ),
        (
            "TerminateSequence-response",
            StarResponse::TerminateSequence,
        ),
        ("CloseSequence-response", StarResponse::CloseSequence),
    ]
}
