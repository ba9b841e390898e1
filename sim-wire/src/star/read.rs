//! Reading STAR's messages: bytes → a typed call, reply or event, or the one reason it cannot
//! be read ([`StarReadError`]).
//!
//! STAR's real WSDL and schemas are not public (seed 004 prints its examples without
//! namespaces), so a real STAR or platform may well use other namespace URIs than
//! [`super::ns`]. The readers therefore match STAR's elements by **local name** (the SOAP
//! envelope itself by URI, as everywhere), ignore elements they do not know, and are exact
//! about values: a missing or malformed field is an error naming its path.

use std::str::FromStr;

use super::model::*;
use super::operation::StarOperation;
use crate::dom::{self, Element, Ns};
use crate::error::WireError;
use crate::model::SoapFault;
use crate::ns::KnownNs::{Soap11, Soap12};
use crate::rules::Rule;
use crate::values::{Cpr, Dato, DatoTid, Uuid, ValueError};

/// Why a STAR document could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StarReadError {
    /// Not a usable SOAP 1.1 document (not XML, truncated, DOCTYPE, no Body ...): WIRE-1.
    #[error(transparent)]
    Unusable(#[from] WireError),
    /// The Body's element is none of STAR's operations, or not what was expected here (a
    /// response where a request belongs): WIRE-1.
    #[error("the Body holds <{found}>, {expected}")]
    UnknownOperation {
        /// The element found (`{namespace}local`).
        found: String,
        /// What would have been right.
        expected: String,
    },
    /// The SOAPAction names another operation than the Body (or none of STAR's): WIRE-1.
    #[error("SOAPAction '{action}' does not name the Body's operation {body}")]
    ActionMismatch {
        /// The SOAPAction as sent.
        action: String,
        /// The operation the Body holds.
        body: StarOperation,
    },
    /// A mandatory element is absent: WIRE-3.
    #[error("{path} is missing")]
    Missing {
        /// Where it should be.
        path: String,
    },
    /// An element's text is not of its type (UUID, CPR, number, boolean, date): WIRE-3.
    #[error("{path}: {detail}")]
    Format {
        /// The element.
        path: String,
        /// What is wrong.
        detail: String,
    },
    /// The event document's encoding is declared as one this reader does not take (it takes
    /// ISO-8859-1, the Beskeddata's encoding, and UTF-8): WIRE-1.
    #[error("unsupported encoding: {detail}")]
    Encoding {
        /// What was declared.
        detail: String,
    },
    /// An event document holds another number of `IllnessUpdateRegistration`s than one (seed
    /// 004 §3.2.1: each event is its own message): WIRE-3.
    #[error(
        "an event document holds exactly one IllnessUpdateRegistration; this one holds {found}"
    )]
    EventCount {
        /// How many it holds.
        found: usize,
    },
}

impl StarReadError {
    /// The rule the document breaks: WIRE-1 for an unusable envelope, WIRE-3 for a message of
    /// the wrong shape.
    pub fn rule(&self) -> Rule {
        match self {
            StarReadError::Unusable(_)
            | StarReadError::UnknownOperation { .. }
            | StarReadError::ActionMismatch { .. }
            | StarReadError::Encoding { .. } => Rule::Wire1,
            StarReadError::Missing { .. }
            | StarReadError::Format { .. }
            | StarReadError::EventCount { .. } => Rule::Wire3,
        }
    }

    /// A stable short kind for journals (`not-xml`, `missing` ...).
    pub fn kind(&self) -> &'static str {
        match self {
            StarReadError::Unusable(e) => e.kind(),
            StarReadError::UnknownOperation { .. } => "unknown-operation",
            StarReadError::ActionMismatch { .. } => "soap-action",
            StarReadError::Missing { .. } => "missing",
            StarReadError::Format { .. } => "format",
            StarReadError::Encoding { .. } => "encoding",
            StarReadError::EventCount { .. } => "event-count",
        }
    }
}

type R<T> = Result<T, StarReadError>;

/// The SOAP 1.1 envelope's Header (if any) and the Body's one element.
fn envelope<'a, 'x>(root: &'a Element<'x>) -> R<(Option<&'a Element<'x>>, &'a Element<'x>)> {
    if &*root.name == "Envelope" && root.ns == Ns::Known(Soap12) {
        return Err(WireError::Soap12.into());
    }
    if !root.is(Soap11, "Envelope") {
        return Err(WireError::NotEnvelope {
            found: root.clark(),
        }
        .into());
    }
    crate::read::envelope_shape(root)?;
    let body = root
        .children
        .iter()
        .find(|c| c.is(Soap11, "Body"))
        .ok_or(WireError::NoBody)?;
    let header = root.children.iter().find(|c| c.is(Soap11, "Header"));
    let first = body.children.first().ok_or(WireError::EmptyBody)?;
    if body.children.len() > 1 {
        return Err(WireError::EnvelopeShape {
            detail: format!(
                "the Body holds {} elements; document/literal allows exactly one",
                body.children.len()
            ),
        }
        .into());
    }
    Ok((header, first))
}

/// Reads a call to STAR. `soap_action` is the HTTP `SOAPAction`, if known; it must name the
/// Body's operation (WIRE-1). Header values are taken as they are: whether they are what SP-12
/// requires is [`super::check_headers`]'s to say.
pub fn read_request(xml: &[u8], soap_action: Option<&str>) -> R<StarCall> {
    let root = dom::parse(xml)?;
    let (header, first) = envelope(&root)?;
    let expected = || {
        "a request of STAR's WsrmService or WsrmMessageService (CreateSequenceRequestType, \
         GetIllnessUpdatedRequest, TerminateSequenceRequestType, CloseSequenceRequestType)"
            .to_string()
    };
    let op = match operation_of(first) {
        Some((op, true)) => op,
        _ => {
            return Err(StarReadError::UnknownOperation {
                found: first.clark(),
                expected: expected(),
            })
        }
    };
    if let Some(action) = soap_action
        .map(|a| a.trim().trim_matches('"'))
        .filter(|a| !a.is_empty())
    {
        if StarOperation::from_soap_action(action) != Some(op) {
            return Err(StarReadError::ActionMismatch {
                action: action.to_string(),
                body: op,
            });
        }
    }
    let headers = header.map(read_headers).unwrap_or_default();
    let p = op.request_element();
    let request = match op {
        StarOperation::CreateSequence => StarRequest::CreateSequence(CreateSequenceRequest {
            sub_queue_identifier: number(first, p, "SubQueueIdentifier")?,
        }),
        StarOperation::GetIllnessUpdatedVersion6 => StarRequest::GetIllnessUpdated,
        StarOperation::TerminateSequence => StarRequest::TerminateSequence(SequenceIdentifier {
            identifier: req(first, p, "Identifier")?,
        }),
        StarOperation::CloseSequence => StarRequest::CloseSequence(SequenceIdentifier {
            identifier: req(first, p, "Identifier")?,
        }),
    };
    Ok(StarCall { headers, request })
}

/// Reads STAR's answer: a response of one of the four operations, or a SOAP fault.
pub fn read_response(xml: &[u8]) -> R<StarReply> {
    let root = dom::parse(xml)?;
    let (_, first) = envelope(&root)?;
    if first.is(Soap11, "Fault") {
        return read_fault(first).map(StarReply::Fault);
    }
    let op = match operation_of(first) {
        Some((op, false)) => op,
        _ => {
            return Err(StarReadError::UnknownOperation {
                found: first.clark(),
                expected: "a response of STAR's services or a soap:Fault".into(),
            })
        }
    };
    let p = op.response_element();
    let response = match op {
        StarOperation::CreateSequence => {
            let identifier = req(first, p, "Identifier")?;
            let sp = join(p, "ServiceInventoryCollection");
            let list = child(first, "ServiceInventoryCollection")
                .ok_or_else(|| missing(p, "ServiceInventoryCollection"))?;
            let mut services = Vec::new();
            for (i, item) in children(list, "ServiceItem").enumerate() {
                let ip = format!("{sp}/ServiceItem[{}]", i + 1);
                services.push(ServiceItem {
                    service_name: text(item, &ip, "ServiceName")?.to_string(),
                    service_endpoint: text(item, &ip, "ServiceEndpoint")?.trim().to_string(),
                    message_count: number(item, &ip, "MessageCount")?,
                });
            }
            StarResponse::CreateSequence(CreateSequenceResponse {
                identifier,
                services,
            })
        }
        StarOperation::GetIllnessUpdatedVersion6 => {
            StarResponse::GetIllnessUpdated(registrations(first, p)?)
        }
        StarOperation::TerminateSequence => StarResponse::TerminateSequence,
        StarOperation::CloseSequence => StarResponse::CloseSequence,
    };
    Ok(StarReply::Response(response))
}

/// Reads the events of a `GetIllnessUpdatedResponse` element (a SOAP answer's or an event
/// document's root).
pub(crate) fn registrations(el: &Element<'_>, path: &str) -> R<Vec<IllnessUpdateRegistration>> {
    children(el, "IllnessUpdateRegistration")
        .enumerate()
        .map(|(i, r)| {
            let rp = format!("{path}/IllnessUpdateRegistration[{}]", i + 1);
            registration(r, &rp)
        })
        .collect()
}

fn operation_of(el: &Element<'_>) -> Option<(StarOperation, bool)> {
    StarOperation::ALL.into_iter().find_map(|op| {
        if *el.name == *op.request_element() {
            Some((op, true))
        } else if *el.name == *op.response_element() {
            Some((op, false))
        } else {
            None
        }
    })
}

fn read_fault(el: &Element<'_>) -> R<SoapFault> {
    let mut ctx = crate::read::Ctx::default();
    match ctx.fault(el) {
        Some(f) => Ok(f),
        None => {
            let p = ctx
                .problems
                .into_iter()
                .find(|p| p.is_error())
                .map(|p| (p.path, p.text))
                .unwrap_or_else(|| ("Fault".into(), "unreadable fault".into()));
            Err(StarReadError::Format {
                path: p.0,
                detail: p.1,
            })
        }
    }
}

/// The SOAP headers STAR reads, by local name; absent leaves are empty text.
fn read_headers(header: &Element<'_>) -> StarHeaders {
    let leaf = |el: &Element<'_>, name: &str| {
        child(el, name)
            .map(|c| c.text.trim().to_string())
            .unwrap_or_default()
    };
    let active_organisation =
        child(header, "ActiveOrganisationHeader").map(|a| ActiveOrganisationHeader {
            organisation_type_identifier: leaf(a, "OrganisationTypeIdentifier"),
            organisation_code: leaf(a, "OrganisationCode"),
        });
    let request_user_metadata = child(header, "RequestUserMetadataHeader").map(|m| {
        let user = child(m, "RequestUserStructure");
        let org = child(m, "RequestOrganisationStructure");
        let of =
            |el: Option<&Element<'_>>, name: &str| el.map(|e| leaf(e, name)).unwrap_or_default();
        RequestUserMetadataHeader {
            request_user: RequestUserStructure {
                user_full_name: of(user, "UserFullName"),
                request_user_type_identifier: of(user, "RequestUserTypeIdentifier"),
                user_identifier: of(user, "UserIdentifier"),
            },
            request_organisation: RequestOrganisationStructure {
                organisation_type_identifier: of(org, "OrganisationTypeIdentifier"),
                organisation_code: of(org, "OrganisationCode"),
            },
            registration_date_time: leaf(m, "RegistrationDateTime"),
        }
    });
    let sequence_request = child(header, "SequenceRequest").map(|s| leaf(s, "Identifier"));
    StarHeaders {
        active_organisation,
        request_user_metadata,
        sequence_request,
    }
}

/// One `IllnessUpdateRegistration` at `p`.
pub(crate) fn registration(r: &Element<'_>, p: &str) -> R<IllnessUpdateRegistration> {
    let mp = join(p, "RequestMetadata");
    let m = child(r, "RequestMetadata").ok_or_else(|| missing(p, "RequestMetadata"))?;
    let cwp = join(&mp, "CaseWorkerStructure");
    let cw = child(m, "CaseWorkerStructure").ok_or_else(|| missing(&mp, "CaseWorkerStructure"))?;
    let ap = join(&mp, "AuthorityStructure");
    let a = child(m, "AuthorityStructure").ok_or_else(|| missing(&mp, "AuthorityStructure"))?;
    let ip = join(p, "Illness");
    let i = child(r, "Illness").ok_or_else(|| missing(p, "Illness"))?;
    Ok(IllnessUpdateRegistration {
        request_metadata: RequestMetadata {
            event_date: req::<DatoTid>(m, &mp, "EventDate")?,
            case_worker: CaseWorkerStructure {
                given_name: text(cw, &cwp, "CaseWorkerGivenName")?.to_string(),
                middle_name: child(cw, "CaseWorkerMiddleName").map(|e| e.text.trim().to_string()),
                surname: text(cw, &cwp, "CaseWorkerSurname")?.to_string(),
                rid: text(cw, &cwp, "CaseWorkerRID")?.to_string(),
            },
            authority: AuthorityStructure {
                authority_code: number(a, &ap, "AuthorityCode")?,
                authority_name: text(a, &ap, "AuthorityName")?.to_string(),
                authority_type: text(a, &ap, "AuthorityType")?.to_string(),
            },
        },
        person_civil_registration_identifier: req::<Cpr>(
            r,
            p,
            "PersonCivilRegistrationIdentifier",
        )?,
        is_illness_ended: boolean(r, p, "IsIllnessEnded")?,
        is_start_date_updated: boolean(r, p, "IsStartDateUpdated")?,
        is_end_date_updated: boolean(r, p, "IsEndDateUpdated")?,
        contact_group_type_identifier: number(r, p, "ContactGroupTypeIdentifier")?,
        illness: Illness {
            illness_start_date: day(i, &ip, "IllnessStartDate")?,
            illness_end_date: match child(i, "IllnessEndDate") {
                Some(_) => Some(day(i, &ip, "IllnessEndDate")?),
                None => None,
            },
            absence_cause_type_identifier: number(i, &ip, "AbsenceCauseTypeIdentifier")?,
            message_identifier: req::<Uuid>(i, &ip, "MessageIdentifier")?,
            nem_refusion_identifier: match child(i, "NemRefusionIdentifier") {
                Some(_) => Some(req::<Uuid>(i, &ip, "NemRefusionIdentifier")?),
                None => None,
            },
            notification_date: day(i, &ip, "NotificationDate")?,
        },
    })
}

fn join(parent: &str, name: &str) -> String {
    crate::read::join(parent, name)
}

fn missing(parent: &str, name: &str) -> StarReadError {
    StarReadError::Missing {
        path: join(parent, name),
    }
}

/// The first child with local name `name`, in whatever namespace.
fn child<'a, 'x>(el: &'a Element<'x>, name: &str) -> Option<&'a Element<'x>> {
    el.children.iter().find(|c| *c.name == *name)
}

fn children<'a, 'x: 'a>(
    el: &'a Element<'x>,
    name: &'a str,
) -> impl Iterator<Item = &'a Element<'x>> + 'a {
    el.children.iter().filter(move |c| *c.name == *name)
}

/// A mandatory child's text, trimmed.
fn text<'a>(el: &'a Element<'_>, p: &str, name: &str) -> R<&'a str> {
    child(el, name)
        .map(|c| c.text.trim())
        .ok_or_else(|| missing(p, name))
}

fn req<T: FromStr<Err = ValueError>>(el: &Element<'_>, p: &str, name: &str) -> R<T> {
    let t = text(el, p, name)?;
    t.parse().map_err(|e: ValueError| StarReadError::Format {
        path: join(p, name),
        detail: e.0,
    })
}

fn number<T: FromStr>(el: &Element<'_>, p: &str, name: &str) -> R<T> {
    let t = text(el, p, name)?;
    t.parse().map_err(|_| StarReadError::Format {
        path: join(p, name),
        detail: format!("'{t}' is not a whole number"),
    })
}

/// `xs:boolean`: `true`, `false`, `1` or `0`.
fn boolean(el: &Element<'_>, p: &str, name: &str) -> R<bool> {
    match text(el, p, name)? {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        t => Err(StarReadError::Format {
            path: join(p, name),
            detail: format!("'{t}' is not a boolean: true, false, 1 or 0 expected"),
        }),
    }
}

/// A day STAR writes as a date-time (`2019-07-30T00:00:00`, `...T00:00:00.000`, with or
/// without an offset) or as a plain date: the date part.
fn day(el: &Element<'_>, p: &str, name: &str) -> R<Dato> {
    let t = text(el, p, name)?;
    parse_day(t).ok_or_else(|| StarReadError::Format {
        path: join(p, name),
        detail: format!("'{t}' is not a date or date-time (YYYY-MM-DD[Thh:mm:ss[.fff]][offset])"),
    })
}

pub(crate) fn parse_day(t: &str) -> Option<Dato> {
    let (date, rest) = (t.get(..10)?, t.get(10..)?);
    let d: Dato = date.parse().ok()?;
    if rest.is_empty() {
        return Some(d);
    }
    // A time part: hh:mm:ss, optional fraction, optional offset (checked by DatoTid's parser
    // with a stand-in offset when there is none).
    let time = rest.strip_prefix('T')?;
    let has_offset = time.ends_with('Z') || {
        let b = time.as_bytes();
        b.len() >= 6 && matches!(b[b.len() - 6], b'+' | b'-') && b[b.len() - 3] == b':'
    };
    let probe = if has_offset {
        format!("{date}T{time}")
    } else {
        format!("{date}T{time}Z")
    };
    probe.parse::<DatoTid>().ok().map(|_| d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_are_read_in_every_form_star_writes() {
        let d = |s: &str| parse_day(s).map(|d| d.to_string());
        assert_eq!(d("2019-07-30T00:00:00").as_deref(), Some("2019-07-30"));
        assert_eq!(d("2019-08-28T00:00:00.000").as_deref(), Some("2019-08-28"));
        assert_eq!(d("2019-08-28T00:00:00Z").as_deref(), Some("2019-08-28"));
        assert_eq!(
            d("2019-08-28T00:00:00+02:00").as_deref(),
            Some("2019-08-28")
        );
        assert_eq!(d("2019-08-28").as_deref(), Some("2019-08-28"));
        for bad in [
            "2019-08-28T",
            "2019-08-28 00:00:00",
            "2019-02-30T00:00:00",
            "28-08-2019",
            "",
        ] {
            assert_eq!(d(bad), None, "{bad}");
        }
    }
}
