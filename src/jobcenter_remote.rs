//! The simulated jobcenter reached through its admin API, for scenario runs whose programs
//! run in other processes or containers (`sim run --ecosystem`, `--processes`).
//!
//! [`RemoteJobcenter`] has the methods the runner calls on an in-process
//! [`sim_jobcenter::Jobcenter`], with the same answers (the arguments by reference, so a caller
//! that tries again keeps its own), each one call to the routes `sim-jobcenter/src/admin.rs`
//! documents (`docs/openapi/sim-jobcenter.yaml`):
//!
//! | method                 | route                                  |
//! |------------------------|----------------------------------------|
//! | `send_update`          | `POST /send`                           |
//! | `resend`               | `POST /updates/{tid}/resend`           |
//! | `wait_for_transport`   | `GET /updates/{tid}/transport`         |
//! | `lookup`               | `POST /lookups`                        |
//! | `send_ky`              | `POST /ky` (the request as its XML)    |
//! | `wait_for_ky`          | `GET /ky/{tid}/wait`                   |
//! | `receipt_count`        | `GET /receipts/count`                  |
//! | `receipt_times`        | `GET /receipts/times`                  |
//!
//! What went wrong is a [`RemoteError`] that keeps apart what the runner must: the jobcenter
//! answered with an error (the request's fault, as the in-process `JobcenterError`) or it could
//! not be reached at all — down, restarting, a connection cut mid-call — which the runner
//! treats like a crashed jobcenter: it waits and tries again, and follows what may already be
//! owned (JC-1).

use std::time::Duration;

use serde::de::DeserializeOwned;
use serde_json::{json, Value};
use sim_jobcenter::{KyOutcome, Lookup, LookupOutcome, SendOutcome, UpdateSpec, UpdateStatus};
use sim_wire::ky::KyRequest;
use sim_wire::{Cvr, HentSag};
use time::OffsetDateTime;

use crate::admin_client::AdminClient;

/// Why a call to a remote jobcenter gave no answer of the kind asked for: the two cases the
/// runner handles apart.
#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    /// No answer: refused connection, reset, timeout, or a gateway in front saying the
    /// jobcenter is not there (502, 503, 504). Treat like a crash: the request may or may not
    /// have been taken; wait, then ask again (and follow what may be owned, JC-1).
    #[error("sim-jobcenter cannot be reached: {0}")]
    Unreachable(String),
    /// The jobcenter answered, with an error: the request's fault (an unknown instance, a
    /// municipality it does not serve, JC-3, a bad override) or its own (a store that failed)
    /// — its `error` text, the in-process `JobcenterError`'s very words — or with an answer
    /// this client cannot read (another program on the port, another version of the API).
    #[error("{0}")]
    Refused(String),
}

impl RemoteError {
    /// Whether the jobcenter could not be reached (the runner's "crashed": wait and retry).
    pub fn is_unreachable(&self) -> bool {
        matches!(self, RemoteError::Unreachable(_))
    }
}

/// The simulated jobcenter program in another process, driven through its admin API.
#[derive(Clone, Debug)]
pub struct RemoteJobcenter {
    /// The admin API's base URL, e.g. `http://127.0.0.1:8082` (no trailing slash).
    admin: String,
    /// The JSON client: its timeout bounds every call, long polls included, so it must be
    /// longer than the longest wait asked for; its token is the programs' `--admin-token`.
    client: AdminClient,
}

/// A 404 is an answer some methods read as "no such thing" (the in-process `None`).
enum Reply {
    /// A 2xx answer's body.
    Ok(Value),
    /// 404 with the API's `{"error": ...}` (a 404 without one is no route: [`Reply`] never
    /// holds it).
    NotFound(String),
}

impl RemoteJobcenter {
    /// A jobcenter whose admin API is at `admin` (a base URL), called with `client`.
    pub fn new(admin: impl Into<String>, client: AdminClient) -> RemoteJobcenter {
        let admin = admin.into().trim_end_matches('/').to_string();
        RemoteJobcenter { admin, client }
    }

    /// The admin API's base URL.
    pub fn admin(&self) -> &str {
        &self.admin
    }

    /// Builds, persists and sends an update (`Jobcenter::send_update`): the outcome, `sent`
    /// when the quick attempts got no TransportKvittering (the vendor owns it from here on).
    pub async fn send_update(&self, spec: &UpdateSpec) -> Result<SendOutcome, RemoteError> {
        let body = serde_json::to_value(spec)
            .map_err(|e| RemoteError::Refused(format!("the update spec is no JSON: {e}")))?;
        let path = "/send".to_string();
        let answer = self.client.post(&self.url(&path), &body).await;
        self.read_ok("POST", &path, answer)
    }

    /// Sends a stored update again (`Jobcenter::resend`); an accepted one is not sent again.
    pub async fn resend(&self, transaktion_id: &str) -> Result<SendOutcome, RemoteError> {
        let path = format!("/updates/{}/resend", segment(transaktion_id));
        let answer = self.client.post(&self.url(&path), &json!({})).await;
        self.read_ok("POST", &path, answer)
    }

    /// Waits up to `timeout` for the update's TransportKvittering
    /// (`Jobcenter::wait_for_transport`): `accepted` or `rejected`, `sent` when the wait ran
    /// out first, `None` for an update the jobcenter does not know. The jobcenter waits at
    /// most 300 s per call.
    pub async fn wait_for_transport(
        &self,
        transaktion_id: &str,
        timeout: Duration,
    ) -> Result<Option<UpdateStatus>, RemoteError> {
        #[derive(serde::Deserialize)]
        struct Transport {
            status: UpdateStatus,
        }
        let path = format!(
            "/updates/{}/transport?timeout_ms={}",
            segment(transaktion_id),
            timeout.as_millis()
        );
        let answer = self.client.get(&self.url(&path)).await;
        Ok(self
            .read::<Transport>("GET", &path, answer)?
            .map(|t| t.status))
    }

    /// Looks `query` up as `instance` for `municipality` (`Jobcenter::lookup`): what the
    /// platform answered, faults included.
    pub async fn lookup(
        &self,
        instance: &str,
        municipality: Option<Cvr>,
        query: &Lookup,
    ) -> Result<LookupOutcome, RemoteError> {
        let body = json!({
            "instance": instance,
            "municipality": municipality.map(|m| m.to_string()),
            "query": lookup_json(query),
        });
        let path = "/lookups".to_string();
        let answer = self.client.post(&self.url(&path), &body).await;
        self.read_ok("POST", &path, answer)
    }

    /// Sends a KY message as `instance` (`Jobcenter::send_ky`), carried as its document; the
    /// vendor fills in its own parts and owns it until KY's TransportKvittering (JC-1).
    pub async fn send_ky(
        &self,
        instance: &str,
        municipality: Option<Cvr>,
        request: &KyRequest,
    ) -> Result<KyOutcome, RemoteError> {
        let body = json!({
            "instance": instance,
            "municipality": municipality.map(|m| m.to_string()),
            "request_xml": sim_wire::ky::write_request(request),
        });
        let path = "/ky".to_string();
        let answer = self.client.post(&self.url(&path), &body).await;
        self.read_ok("POST", &path, answer)
    }

    /// Waits up to `timeout` for the KY message's TransportKvittering
    /// (`Jobcenter::wait_for_ky`): the message as it then stands (still `pending` when the
    /// wait ran out), `None` for a message the jobcenter does not know.
    pub async fn wait_for_ky(
        &self,
        transaktion_id: &str,
        timeout: Duration,
    ) -> Result<Option<KyOutcome>, RemoteError> {
        let path = format!(
            "/ky/{}/wait?timeout_ms={}",
            segment(transaktion_id),
            timeout.as_millis()
        );
        let answer = self.client.get(&self.url(&path)).await;
        self.read("GET", &path, answer)
    }

    /// How many distinct business receipts are stored (`Jobcenter::receipt_count`; cheap).
    pub async fn receipt_count(&self) -> Result<u64, RemoteError> {
        #[derive(serde::Deserialize)]
        struct Count {
            receipts: u64,
        }
        let path = "/receipts/count".to_string();
        let answer = self.client.get(&self.url(&path)).await;
        Ok(self.read_ok::<Count>("GET", &path, answer)?.receipts)
    }

    /// When each stored business receipt first arrived, oldest first
    /// (`Jobcenter::receipt_times`): every one, in one call.
    pub async fn receipt_times(&self) -> Result<Vec<(String, OffsetDateTime)>, RemoteError> {
        let path = "/receipts/times".to_string();
        let answer = self.client.get(&self.url(&path)).await;
        let pairs: Vec<(String, i64)> = self.read_ok("GET", &path, answer)?;
        pairs
            .into_iter()
            .map(|(tid, ms)| {
                sim_store::from_unix_millis(ms)
                    .map(|at| (tid, at))
                    .map_err(|e| RemoteError::Refused(format!("GET {path}: {ms} is no time: {e}")))
            })
            .collect()
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.admin)
    }

    /// [`RemoteJobcenter::read`] where a 404 is an error like any other.
    fn read_ok<T: DeserializeOwned>(
        &self,
        method: &str,
        path: &str,
        answer: anyhow::Result<(u16, Value)>,
    ) -> Result<T, RemoteError> {
        match self.reply(answer)? {
            Reply::Ok(v) => decode(method, path, v),
            Reply::NotFound(error) => Err(RemoteError::Refused(error)),
        }
    }

    /// A 2xx body read as `T`, `None` for the API's 404, the error otherwise.
    fn read<T: DeserializeOwned>(
        &self,
        method: &str,
        path: &str,
        answer: anyhow::Result<(u16, Value)>,
    ) -> Result<Option<T>, RemoteError> {
        match self.reply(answer)? {
            Reply::Ok(v) => decode(method, path, v).map(Some),
            Reply::NotFound(_) => Ok(None),
        }
    }

    /// Sorts an HTTP exchange into the answers a method reads and the errors it returns.
    fn reply(&self, answer: anyhow::Result<(u16, Value)>) -> Result<Reply, RemoteError> {
        let (status, body) =
            answer.map_err(|e| RemoteError::Unreachable(format!("{}: {e:#}", self.admin)))?;
        let error = body
            .get("error")
            .and_then(Value::as_str)
            .map(str::to_string);
        match (status, error) {
            (200..=299, _) => Ok(Reply::Ok(body)),
            // A gateway or proxy in front of the jobcenter (a container set-up): it is not
            // there, as when the connection is refused.
            (502..=504, _) => Err(RemoteError::Unreachable(format!(
                "{}: HTTP {status} {body}",
                self.admin
            ))),
            (404, Some(error)) => Ok(Reply::NotFound(error)),
            (404, None) => Err(RemoteError::Refused(format!(
                "{}: HTTP 404 without an error: no such route (a sim-jobcenter without the \
                 routes for runs across processes?)",
                self.admin
            ))),
            // The jobcenter's own words, as in-process.
            (_, Some(error)) => Err(RemoteError::Refused(error)),
            (_, None) => Err(RemoteError::Refused(format!(
                "{}: HTTP {status} {body}",
                self.admin
            ))),
        }
    }
}

/// A 2xx body read as `T`.
fn decode<T: DeserializeOwned>(method: &str, path: &str, v: Value) -> Result<T, RemoteError> {
    serde_json::from_value(v).map_err(|e| {
        RemoteError::Refused(format!(
            "the answer to {method} {path} is not what sim-jobcenter's API documents: {e}"
        ))
    })
}

/// A [`Lookup`] as `POST /lookups` takes it.
fn lookup_json(query: &Lookup) -> Value {
    match query {
        Lookup::Sag(HentSag::SagIdentifikator(id)) => {
            json!({ "hent_sag": { "sag_identifikator": id.to_string() } })
        }
        Lookup::Sag(HentSag::NemRefusionIdentifier(id)) => {
            json!({ "hent_sag": { "nem_refusion_identifier": id.to_string() } })
        }
        Lookup::Liste(l) => json!({ "hent_sags_liste": {
            "sygemeldte_part": l.sygemeldte_part.map(|c| c.to_string()),
            "periode_fra": l.periode_fra.map(|d| d.to_string()),
            "periode_til": l.periode_til.map(|d| d.to_string()),
        } }),
    }
}

/// `s` as one path segment: everything but RFC 3986's unreserved characters percent-encoded
/// (a TransaktionIdentifikator is a UUID, but the caller's text is not trusted to be one).
fn segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use sim_wire::HentSagsListe;

    #[test]
    fn a_path_segment_is_encoded() {
        assert_eq!(
            segment("0f8fad5b-d9cb-469f-a165-70867728950e"),
            "0f8fad5b-d9cb-469f-a165-70867728950e"
        );
        assert_eq!(segment("a/b c?"), "a%2Fb%20c%3F");
        assert_eq!(segment("æ"), "%C3%A6");
    }

    #[test]
    fn lookups_are_written_as_the_api_reads_them() {
        let id: sim_wire::Uuid = "8c6e2a4f-0b1d-4c3e-a5f7-9d8b6c4e2a10".parse().unwrap();
        assert_eq!(
            lookup_json(&Lookup::Sag(HentSag::SagIdentifikator(id))),
            json!({"hent_sag": {"sag_identifikator": "8c6e2a4f-0b1d-4c3e-a5f7-9d8b6c4e2a10"}})
        );
        assert_eq!(
            lookup_json(&Lookup::Sag(HentSag::NemRefusionIdentifier(id))),
            json!({"hent_sag": {"nem_refusion_identifier": "8c6e2a4f-0b1d-4c3e-a5f7-9d8b6c4e2a10"}})
        );
        assert_eq!(
            lookup_json(&Lookup::Liste(HentSagsListe {
                sygemeldte_part: Some("0101701234".parse().unwrap()),
                periode_fra: Some("2026-01-01".parse().unwrap()),
                periode_til: None,
            })),
            json!({"hent_sags_liste": {"sygemeldte_part": "0101701234", "periode_fra": "2026-01-01", "periode_til": null}})
        );
    }

    /// An answer as `AdminClient` gives it.
    fn answer(status: u16, body: Value) -> anyhow::Result<(u16, Value)> {
        Ok((status, body))
    }

    #[test]
    fn answers_are_sorted_into_found_missing_refused_and_unreachable() {
        let r = RemoteJobcenter::new("http://127.0.0.1:1/", AdminClient::default());
        assert_eq!(r.admin(), "http://127.0.0.1:1");
        let found: Option<u64> = r.read("GET", "/x", answer(200, json!(3))).unwrap();
        assert_eq!(found, Some(3));
        let missing: Option<u64> = r
            .read("GET", "/x", answer(404, json!({"error": "no update"})))
            .unwrap();
        assert_eq!(missing, None);
        // A 404 where something must be found, or from no route at all, is an error.
        let e = r
            .read_ok::<u64>(
                "GET",
                "/x",
                answer(404, json!({"error": "unknown instance 'x'"})),
            )
            .unwrap_err();
        assert_eq!(e.to_string(), "unknown instance 'x'");
        let e = r
            .read::<u64>("GET", "/x", answer(404, Value::Null))
            .unwrap_err();
        assert!(
            matches!(&e, RemoteError::Refused(t) if t.contains("no such route")),
            "{e}"
        );
        // JC-3 and the like: the jobcenter's own words.
        let e = r
            .read_ok::<u64>("GET", "/x", answer(400, json!({"error": "JC-3: no"})))
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "JC-3: no",
            "the jobcenter's words, as in-process"
        );
        assert!(!e.is_unreachable());
        // No answer, or a gateway's: unreachable (the runner's crash).
        let e = r
            .read_ok::<u64>("GET", "/x", Err(anyhow::anyhow!("connection refused")))
            .unwrap_err();
        assert!(e.is_unreachable(), "{e}");
        let e = r
            .read_ok::<u64>("GET", "/x", answer(503, Value::Null))
            .unwrap_err();
        assert!(e.is_unreachable(), "{e}");
        // A body of another shape, an error without words: refused, saying so.
        let e = r
            .read_ok::<u64>("GET", "/x", answer(200, json!({"n": 1})))
            .unwrap_err();
        assert!(
            matches!(&e, RemoteError::Refused(t) if t.contains("GET /x")),
            "{e}"
        );
        let e = r
            .read_ok::<u64>("GET", "/x", answer(500, Value::Null))
            .unwrap_err();
        assert!(
            matches!(&e, RemoteError::Refused(t) if t.contains("HTTP 500")),
            "{e}"
        );
    }
}
