//! Writing STAR's messages: typed values → SOAP 1.1 documents (UTF-8) in the namespaces of
//! [`super::ns`], indented like every document of the contract, and the pieces of a
//! `GetIllnessUpdatedResponse` that a server streams (so a fault can cut it after k events).
//!
//! Free text (names, RIDs, header values) is escaped and checked: a character XML 1.0 does not
//! allow is refused with [`StarWriteError`], never written, so nothing this module writes is
//! unreadable to a receiver (WIRE-1).

use std::fmt::{Display, Write};

use quick_xml::escape::partial_escape;

use super::model::*;
use super::ns::{self, ILLNESS_PREFIX, STAR_SECURITY_PREFIX, WSRM_PREFIX};
use super::operation::StarOperation;
use crate::dom::is_xml_char;

/// Why a message could not be written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StarWriteError {
    /// Free text holds a character XML 1.0 does not allow (a control character, U+FFFE ...).
    #[error("{path}: character U+{:04X} is not allowed in XML 1.0", u32::from(*character))]
    NotXmlChar {
        /// The element whose text it is.
        path: String,
        /// The character.
        character: char,
    },
    /// The event document is ISO-8859-1 (seed 004 §3.1.3.2.2): free text holds a character
    /// that encoding cannot carry. Refused rather than replaced, so nothing is mangled.
    #[error("{path}: character '{character}' (U+{:04X}) is outside ISO-8859-1, the event document's encoding", u32::from(*character))]
    NotLatin1 {
        /// The element whose text it is.
        path: String,
        /// The character.
        character: char,
    },
}

/// An indenting writer that knows the path of the element it is in, so a refusal names it.
pub(crate) struct Out {
    buf: String,
    depth: usize,
    path: Vec<&'static str>,
    /// Refuse text outside ISO-8859-1 (the event document).
    latin1: bool,
    /// The first refusal; writing goes on, [`Out::finish`] returns it.
    error: Option<StarWriteError>,
}

impl Out {
    pub(crate) fn new(declaration: &str, depth: usize, latin1: bool) -> Out {
        let mut buf = String::with_capacity(2048);
        buf.push_str(declaration);
        Out {
            buf,
            depth,
            path: Vec::new(),
            latin1,
            error: None,
        }
    }

    fn indent(&mut self) {
        for _ in 0..self.depth {
            self.buf.push_str("  ");
        }
    }

    /// Opens `q` (a qualified name, or a local one for unqualified elements).
    pub(crate) fn open(&mut self, q: &'static str) {
        self.open_with(q, "");
    }

    /// Opens `q` with `attributes` written verbatim after the name.
    pub(crate) fn open_with(&mut self, q: &'static str, attributes: &str) {
        self.indent();
        let _ = writeln!(self.buf, "<{q}{attributes}>");
        self.depth += 1;
        self.path.push(q);
    }

    pub(crate) fn close(&mut self) {
        self.depth = self.depth.saturating_sub(1);
        let q = self.path.pop().unwrap_or_default();
        self.indent();
        let _ = writeln!(self.buf, "</{q}>");
    }

    /// A leaf with a value type's canonical text (never needs escaping).
    pub(crate) fn val(&mut self, q: &'static str, v: impl Display) {
        self.indent();
        let _ = writeln!(self.buf, "<{q}>{v}</{q}>");
    }

    /// A leaf with free text: checked, then escaped.
    pub(crate) fn text(&mut self, q: &'static str, v: &str) {
        self.check(q, v);
        self.indent();
        let _ = writeln!(self.buf, "<{q}>{}</{q}>", partial_escape(v));
    }

    fn check(&mut self, q: &'static str, v: &str) {
        if self.error.is_some() {
            return;
        }
        let path = || {
            let mut p = self.path.join("/");
            if !p.is_empty() {
                p.push('/');
            }
            p.push_str(q);
            p
        };
        if let Some(c) = v.chars().find(|c| !is_xml_char(*c)) {
            self.error = Some(StarWriteError::NotXmlChar {
                path: path(),
                character: c,
            });
        } else if self.latin1 {
            if let Some(c) = v.chars().find(|c| u32::from(*c) > 0xFF) {
                self.error = Some(StarWriteError::NotLatin1 {
                    path: path(),
                    character: c,
                });
            }
        }
    }

    pub(crate) fn raw(&mut self, s: &str) {
        self.buf.push_str(s);
    }

    pub(crate) fn finish(self) -> Result<String, StarWriteError> {
        match self.error {
            Some(e) => Err(e),
            None => Ok(self.buf),
        }
    }
}

const UTF8_DECLARATION: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";

/// Every STAR SOAP document declares the same prefixes on its Envelope.
fn envelope_open() -> String {
    format!(
        "{UTF8_DECLARATION}<soap:Envelope xmlns:soap=\"{}\" xmlns:{WSRM_PREFIX}=\"{}\" xmlns:{STAR_SECURITY_PREFIX}=\"{}\" xmlns:{ILLNESS_PREFIX}=\"{}\">\n",
        crate::ns::SOAP11,
        ns::WSRM,
        ns::STAR_SECURITY,
        ns::ILLNESS
    )
}

const ENVELOPE_CLOSE: &str = "  </soap:Body>\n</soap:Envelope>\n";

/// Writes a call to STAR: its SOAP headers (in seed 004 §3.3.5's order: `SequenceRequest`,
/// `RequestUserMetadataHeader`, `ActiveOrganisationHeader`) and its request element.
pub fn write_request(call: &StarCall) -> Result<String, StarWriteError> {
    let mut o = Out::new(&envelope_open(), 1, false);
    o.open("soap:Header");
    headers(&mut o, &call.headers);
    o.close();
    o.open("soap:Body");
    match &call.request {
        StarRequest::CreateSequence(r) => {
            o.open("wsrm:CreateSequenceRequestType");
            o.val("wsrm:SubQueueIdentifier", r.sub_queue_identifier);
            o.close();
        }
        StarRequest::GetIllnessUpdated => {
            o.indent();
            o.raw("<ns0:GetIllnessUpdatedRequest/>\n");
        }
        StarRequest::TerminateSequence(s) => {
            o.open("wsrm:TerminateSequenceRequestType");
            o.val("wsrm:Identifier", s.identifier);
            o.close();
        }
        StarRequest::CloseSequence(s) => {
            o.open("wsrm:CloseSequenceRequestType");
            o.val("wsrm:Identifier", s.identifier);
            o.close();
        }
    }
    o.raw(ENVELOPE_CLOSE);
    o.finish()
}

fn headers(o: &mut Out, h: &StarHeaders) {
    if let Some(id) = &h.sequence_request {
        o.open("wsrm:SequenceRequest");
        o.text("wsrm:Identifier", id);
        o.close();
    }
    if let Some(m) = &h.request_user_metadata {
        o.open("sts:RequestUserMetadataHeader");
        o.open("sts:RequestUserStructure");
        o.text("sts:UserFullName", &m.request_user.user_full_name);
        o.text(
            "sts:RequestUserTypeIdentifier",
            &m.request_user.request_user_type_identifier,
        );
        o.text("sts:UserIdentifier", &m.request_user.user_identifier);
        o.close();
        o.open("sts:RequestOrganisationStructure");
        o.text(
            "sts:OrganisationTypeIdentifier",
            &m.request_organisation.organisation_type_identifier,
        );
        o.text(
            "sts:OrganisationCode",
            &m.request_organisation.organisation_code,
        );
        o.close();
        o.text("sts:RegistrationDateTime", &m.registration_date_time);
        o.close();
    }
    if let Some(a) = &h.active_organisation {
        o.open("sts:ActiveOrganisationHeader");
        o.text(
            "sts:OrganisationTypeIdentifier",
            &a.organisation_type_identifier,
        );
        o.text("sts:OrganisationCode", &a.organisation_code);
        o.close();
    }
}

/// Writes STAR's response to an operation.
pub fn write_response(r: &StarResponse) -> Result<String, StarWriteError> {
    if let StarResponse::GetIllnessUpdated(events) = r {
        let parts = fetch_response_parts();
        let mut doc = parts.head;
        for e in events {
            doc.push_str(&registration_fragment(e)?);
        }
        doc.push_str(&parts.tail);
        return Ok(doc);
    }
    let mut o = Out::new(&envelope_open(), 1, false);
    o.open("soap:Body");
    match r {
        StarResponse::CreateSequence(c) => {
            o.open("wsrm:CreateSequenceResponseType");
            o.val("wsrm:Identifier", c.identifier);
            o.open("wsrm:ServiceInventoryCollection");
            for s in &c.services {
                o.open("wsrm:ServiceItem");
                o.text("wsrm:ServiceName", &s.service_name);
                o.text("wsrm:ServiceEndpoint", &s.service_endpoint);
                o.val("wsrm:MessageCount", s.message_count);
                o.close();
            }
            o.close();
            o.close();
        }
        StarResponse::TerminateSequence | StarResponse::CloseSequence => {
            let op = r.operation();
            o.indent();
            let _ = writeln!(o.buf, "<wsrm:{}/>", op.response_element());
        }
        StarResponse::GetIllnessUpdated(_) => {}
    }
    o.raw(ENVELOPE_CLOSE);
    o.finish()
}

/// A `GetIllnessUpdatedVersion6` answer in pieces: `head`, then one
/// [`registration_fragment`] per event, then `tail` is the whole document, byte for byte what
/// [`write_response`] writes. A server that streams the pieces can stop after any of them (a
/// fault cutting the answer after k of n events, SP-10's failure path).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchResponseParts {
    /// Declaration, Envelope, Body and the opening `ns0:GetIllnessUpdatedResponse`.
    pub head: String,
    /// The closing tags.
    pub tail: String,
}

/// The fixed pieces around the events of a `GetIllnessUpdatedResponse`.
pub fn fetch_response_parts() -> FetchResponseParts {
    let op = StarOperation::GetIllnessUpdatedVersion6;
    FetchResponseParts {
        head: format!(
            "{}  <soap:Body>\n    <{ILLNESS_PREFIX}:{}>\n",
            envelope_open(),
            op.response_element()
        ),
        tail: format!(
            "    </{ILLNESS_PREFIX}:{}>\n{ENVELOPE_CLOSE}",
            op.response_element()
        ),
    }
}

/// One `IllnessUpdateRegistration` as it stands inside a SOAP `GetIllnessUpdatedResponse`
/// (indented for that depth, unqualified as in seed 004's example).
pub fn registration_fragment(r: &IllnessUpdateRegistration) -> Result<String, StarWriteError> {
    let mut o = Out::new("", 3, false);
    registration(&mut o, r);
    o.finish()
}

/// `IllnessUpdateRegistration` and everything in it, in seed 004's order. Days are written as
/// STAR writes them: midnight without offset, `NotificationDate` with milliseconds.
pub(crate) fn registration(o: &mut Out, r: &IllnessUpdateRegistration) {
    o.open("IllnessUpdateRegistration");
    o.open("RequestMetadata");
    o.val("EventDate", r.request_metadata.event_date);
    let cw = &r.request_metadata.case_worker;
    o.open("CaseWorkerStructure");
    o.text("CaseWorkerGivenName", &cw.given_name);
    if let Some(m) = &cw.middle_name {
        o.text("CaseWorkerMiddleName", m);
    }
    o.text("CaseWorkerSurname", &cw.surname);
    o.text("CaseWorkerRID", &cw.rid);
    o.close();
    let a = &r.request_metadata.authority;
    o.open("AuthorityStructure");
    o.val("AuthorityCode", a.authority_code);
    o.text("AuthorityName", &a.authority_name);
    o.text("AuthorityType", &a.authority_type);
    o.close();
    o.close();
    o.val(
        "PersonCivilRegistrationIdentifier",
        r.person_civil_registration_identifier,
    );
    o.val("IsIllnessEnded", r.is_illness_ended);
    o.val("IsStartDateUpdated", r.is_start_date_updated);
    o.val("IsEndDateUpdated", r.is_end_date_updated);
    o.val(
        "ContactGroupTypeIdentifier",
        r.contact_group_type_identifier,
    );
    let i = &r.illness;
    o.open("Illness");
    o.val("IllnessStartDate", StarDay(i.illness_start_date));
    if let Some(end) = i.illness_end_date {
        o.val("IllnessEndDate", StarDay(end));
    }
    o.val(
        "AbsenceCauseTypeIdentifier",
        i.absence_cause_type_identifier,
    );
    o.val("MessageIdentifier", i.message_identifier);
    if let Some(n) = i.nem_refusion_identifier {
        o.val("NemRefusionIdentifier", n);
    }
    o.val("NotificationDate", StarNotificationDay(i.notification_date));
    o.close();
    o.close();
}

/// A day as STAR writes it: `2019-07-30T00:00:00`.
struct StarDay(crate::values::Dato);

impl Display for StarDay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}T00:00:00", self.0)
    }
}

/// `NotificationDate` as STAR writes it: `2019-08-28T00:00:00.000`.
struct StarNotificationDay(crate::values::Dato);

impl Display for StarNotificationDay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}T00:00:00.000", self.0)
    }
}

/// A SOAP fault (HTTP 500), written as every program of the ecosystem writes one.
pub fn write_fault(f: &crate::model::SoapFault) -> String {
    crate::write::write_fault(f)
}
