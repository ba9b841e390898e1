//! SOAP 1.1 over the mutual-TLS transport: what a handler receives, what it answers, and a
//! client that sends a document and reads the reply with `sim-wire`.
//!
//! Kept apart from the transport so the transport stays protocol-agnostic and every program
//! handles SOAP the same way (content type, SOAPAction quoting, HTTP 500 for faults).

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use sim_certs::SystemIdentity;
use sim_store::{Direction, Exchange, Journal, Outcome, Part};
use sim_wire::{
    DatoTid, Decoded, Message, ResponseBody, Rule, SoapFault, TransportKvittering, WireError,
};

use crate::client::{ClientError, HttpsClient};
use crate::server::ConnectionInfo;

/// The content type of every SOAP 1.1 message (wire.md §1).
pub const CONTENT_TYPE: &str = "text/xml; charset=utf-8";

/// The largest request body accepted: real messages are a few KiB; anything near this is
/// an attack or an accident, and is refused before it is read into memory.
pub const MAX_BODY: usize = 1 << 20;

/// One SOAP call as a handler sees it: who called, with which SOAPAction, and the bytes.
#[derive(Debug, Clone)]
pub struct SoapCall {
    /// The `SOAPAction` header without quotes; `None` when absent.
    pub soap_action: Option<String>,
    /// The raw request body.
    pub body: Bytes,
    /// The caller, from its verified client certificate.
    pub peer: Option<SystemIdentity>,
    /// The connection the call arrived on.
    pub connection: Option<ConnectionInfo>,
    /// When it arrived, if the fault layer held it back before the handler saw it (virtual).
    pub arrived_at: Option<time::OffsetDateTime>,
    /// Why the body could not be read (over [`MAX_BODY`], broken chunked framing): the call
    /// is then refused like any unreadable message — a SOAP fault naming WIRE-1 with a
    /// CallUUID in the journal — never a plain-text 413 that leaves no trace.
    pub unreadable: Option<String>,
    /// Why the server shed the call (a shedding server past its limits): the program must
    /// answer at once with a fault and do none of the work.
    pub shed: Option<String>,
}

impl SoapCall {
    /// The body as text (lossy: invalid UTF-8 is reported by the reader, not here).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Reads the body with `sim-wire`.
    pub fn read(&self) -> Result<Decoded, WireError> {
        if let Some(why) = &self.unreadable {
            return Err(WireError::UnreadableBody {
                detail: why.clone(),
            });
        }
        sim_wire::read(&self.body, self.soap_action.as_deref())
    }
}

/// Never refuses: a body that cannot be read becomes [`SoapCall::unreadable`], so that the
/// program refuses it with a journaled SOAP fault like any other unreadable message.
impl<S: Send + Sync> FromRequest<S> for SoapCall {
    type Rejection = std::convert::Infallible;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let soap_action = req
            .headers()
            .get("soapaction")
            .and_then(|v| v.to_str().ok())
            .map(|v| v.trim().trim_matches('"').to_string());
        let peer = req.extensions().get::<SystemIdentity>().cloned();
        let connection = req.extensions().get::<ConnectionInfo>().copied();
        let arrived_at = req
            .extensions()
            .get::<crate::faults::ArrivedAt>()
            .map(|a| a.0);
        let shed = req
            .extensions()
            .get::<crate::limits::Shed>()
            .map(|s| s.0.clone());
        let deadline = req
            .extensions()
            .get::<crate::server::BodyDeadline>()
            .map_or(crate::server::DEFAULT_REQUEST_TIMEOUT, |d| d.0);
        let read = axum::body::to_bytes(req.into_body(), MAX_BODY);
        let (body, unreadable) = match tokio::time::timeout(deadline, read).await {
            Ok(Ok(b)) => (b, None),
            Ok(Err(e)) => (
                Bytes::new(),
                Some(format!("{e} (at most {MAX_BODY} bytes are read)")),
            ),
            Err(_) => (
                Bytes::new(),
                Some(format!(
                    "the body did not arrive within {} s",
                    deadline.as_secs_f64()
                )),
            ),
        };
        Ok(SoapCall {
            soap_action,
            body,
            peer,
            connection,
            arrived_at,
            unreadable,
            shed,
        })
    }
}

/// A 200 response carrying a SOAP document.
pub fn ok_response(xml: String) -> Response {
    xml_response(StatusCode::OK, xml)
}

/// A 500 response carrying a SOAP fault (SOAP 1.1 answers faults with HTTP 500).
pub fn fault_response(fault: &SoapFault) -> Response {
    xml_response(
        StatusCode::INTERNAL_SERVER_ERROR,
        sim_wire::write_fault(fault),
    )
}

fn xml_response(status: StatusCode, xml: String) -> Response {
    let mut r = (status, xml).into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    r
}

/// Refuses a call the way every program of the ecosystem does: a SOAP fault in the platform's
/// shape naming `rule` (so checkers and outside systems read the rule the same way
/// everywhere), the request and the fault journaled under `exchange`'s call id in one commit,
/// and the HTTP 500 response to send.
///
/// `client`: the caller must fix something (`soap:Client`) rather than the receiver failing
/// (`soap:Server`, worth resending). `detail` goes on the request's row; `raw` is the request,
/// journaled at `received` (when it arrived: the platform dates a request the fault layer held
/// back at its arrival, so injected slowness shows in its response times, SP-8); the fault is
/// dated `at`.
#[allow(clippy::too_many_arguments)]
pub async fn refuse(
    journal: &Journal,
    exchange: &Exchange,
    received: time::OffsetDateTime,
    at: time::OffsetDateTime,
    call_uuid: sim_wire::Uuid,
    client: bool,
    rule: Rule,
    text: &str,
    detail: Option<String>,
    raw: String,
) -> Response {
    let fault = SoapFault::serviceplatform(client, rule, text, call_uuid, DatoTid(at));
    tracing::info!(%call_uuid, rule = rule.id(), %text, "refused");
    crate::metrics::refusal("message", rule.id());
    let outcome = Outcome::fault(rule);
    let request = exchange.entry(
        received,
        Direction::In,
        Part::Request,
        outcome.clone(),
        detail,
        raw,
    );
    let answer = exchange.entry(
        at,
        Direction::Out,
        Part::Fault,
        outcome,
        None,
        sim_wire::write_fault(&fault),
    );
    journal.record_all(vec![request, answer]).await;
    fault_response(&fault)
}

/// What came back from a SOAP call.
#[derive(Debug)]
pub struct SoapReply {
    /// HTTP status.
    pub status: u16,
    /// The raw body.
    pub body: String,
    /// The body read with `sim-wire`.
    pub decoded: Result<Decoded, WireError>,
}

impl SoapReply {
    /// The transport receipt, if the reply is a response carrying one.
    pub fn transport_kvittering(&self) -> Option<&TransportKvittering> {
        match self.decoded.as_ref().ok()?.message.as_ref()? {
            Message::Response(r) => match &r.body {
                ResponseBody::TransportKvittering(k) => Some(k),
                _ => None,
            },
            _ => None,
        }
    }

    /// The fault, if the reply is one.
    pub fn fault(&self) -> Option<&SoapFault> {
        match self.decoded.as_ref().ok()?.message.as_ref()? {
            Message::Fault(f) => Some(f),
            _ => None,
        }
    }

    /// The journal's outcome for this reply: the receipt code (a discarding ADVARSEL as
    /// [`Outcome::Discarded`], KSD-14; OK for a response that carries no receipt, such as a
    /// look-up's case), a fault naming its rule (or
    /// its faultcode), the HTTP status of anything else readable, or unreadable.
    pub fn outcome(&self) -> Outcome {
        if let Some(k) = self.transport_kvittering() {
            return k.into();
        }
        if let Some(f) = self.fault() {
            return match f.rule() {
                Some(r) => Outcome::fault(r),
                None => Outcome::Fault(f.fault_code.clone()),
            };
        }
        match &self.decoded {
            // SF2096's synchronous answer (a case or a list): answered. Any other response
            // without a receipt is no answer the contract allows.
            Ok(d)
                if matches!(
                    &d.message,
                    Some(Message::Response(r))
                        if matches!(r.body, ResponseBody::Sag(_) | ResponseBody::SagsListe(_))
                ) =>
            {
                Outcome::Ok
            }
            Ok(_) => Outcome::Http(self.status),
            Err(e) => Outcome::Unreadable(e.kind().to_string()),
        }
    }
}

/// Sends SOAP documents over a pooled mutual-TLS client.
#[derive(Clone, Debug)]
pub struct SoapClient {
    http: HttpsClient,
}

impl SoapClient {
    /// Wraps an HTTPS client (which carries the identity presented and the anchors trusted).
    pub fn new(http: HttpsClient) -> Self {
        SoapClient { http }
    }

    /// POSTs `xml` with `SOAPAction: "<action>"` and reads the reply.
    pub async fn call(
        &self,
        url: &str,
        soap_action: &str,
        xml: String,
    ) -> Result<SoapReply, ClientError> {
        let quoted = format!("\"{soap_action}\"");
        let headers = [
            ("content-type", CONTENT_TYPE),
            ("soapaction", quoted.as_str()),
        ];
        let resp = self.http.post(url, &headers, xml).await?;
        let body = String::from_utf8_lossy(&resp.body).into_owned();
        let decoded = sim_wire::read(body.as_bytes(), None);
        Ok(SoapReply {
            status: resp.status.as_u16(),
            body,
            decoded,
        })
    }
}
