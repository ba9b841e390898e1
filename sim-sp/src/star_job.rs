//! SF1612's periodic job on the platform (SP-10): fetch STAR's sick-leave statuses in one
//! sequence, persist them all, publish each through the Beskedfordeler, end the sequence.
//!
//! Every `every` of virtual time (10 minutes by default, seed 004 §4.2.1.2) one run:
//! 1. `CreateSequence` (sub-queue 6) → the sequence's `Identifier`, and the service item that
//!    says where to fetch and how many events wait (`MessageCount`).
//! 2. `GetIllnessUpdatedVersion6` at the item's `ServiceEndpoint`, with `SequenceRequest` →
//!    every event of the sequence. Fewer events than `MessageCount`, a cut answer or a fault is
//!    a failure.
//! 3. Every event persisted in one commit (`sp_star_events`, keyed by `MessageIdentifier`)
//!    **before** anything is published — the seed's order: fetch all, persist all, then talk to
//!    the Beskedfordeler.
//! 4. Each event not yet published becomes one Haendelsesbesked (SP-11) and is published; the
//!    row records when. Publishing is idempotent by `MessageIdentifier` twice over: the row
//!    says it went, and the Beskedfordeler answers a second message with the same
//!    `ObjektRegistreringId` `Already` without publishing it. So an event rolled back and
//!    fetched again is published once.
//! 5. `TerminateSequence`: STAR forgets the events.
//!
//! Any failure after step 1 sends `CloseSequence` (SP-10): STAR puts *every* event of the
//! sequence back, and the next run fetches them again. A failed terminate needs no close: the
//! events were published, and should STAR hand them out again the rows say so.
//!
//! Every call to STAR carries SP-12's constant headers with `RegistrationDateTime` = the time
//! of the call, and is journaled (request and answer) under the run's call id with the labels
//! `sim_wire::flows` reserves (`STAR/CreateSequence` ...).
//!
//! Unlike the pass-through legs (SP-13), this job *does* persist what it fetched: the seed
//! makes the platform responsible for the events between STAR and the Beskedfordeler.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use rusqlite::OptionalExtension;
use serde::{Deserialize, Serialize};
use sim_kit::client::HttpsClient;
use sim_kit::ids::IdStream;
use sim_store::{unix_millis, Clock, Db, Direction, Exchange, Journal, Label, Outcome, Part};
use sim_wire::besked::{Haendelsesbesked, Sygemeldingsstatus};
use sim_wire::star::{
    self, IllnessUpdateRegistration, StarCall, StarHeaders, StarOperation, StarReply, StarRequest,
    StarResponse,
};
use sim_wire::{DatoTid, Uuid};

/// The job's tables in `sp.sqlite`: every event fetched (with its message id, the bytes the
/// Haendelsesbesked carries and when it was published), and one row per run.
pub const MIGRATION: &str = "
CREATE TABLE IF NOT EXISTS sp_star_events (
    message_identifier TEXT PRIMARY KEY,
    besked_id TEXT NOT NULL,
    sequence TEXT NOT NULL,
    cpr TEXT NOT NULL,
    nem_refusion_id TEXT,
    event BLOB NOT NULL,
    fetched_at INTEGER NOT NULL,
    fetch_count INTEGER NOT NULL DEFAULT 1,
    published_at INTEGER
);
CREATE INDEX IF NOT EXISTS sp_star_unpublished ON sp_star_events (fetched_at)
    WHERE published_at IS NULL;
CREATE TABLE IF NOT EXISTS sp_star_runs (
    id INTEGER PRIMARY KEY,
    started_at INTEGER NOT NULL,
    ended_at INTEGER NOT NULL,
    sequence TEXT,
    message_count INTEGER,
    fetched INTEGER NOT NULL DEFAULT 0,
    published INTEGER NOT NULL DEFAULT 0,
    outcome TEXT NOT NULL,
    detail TEXT
);
";

/// Where STAR is and how often the job runs (the platform's `star:` configuration).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StarJobConfig {
    /// STAR's `WsrmService` URL (`https://host:port/star/WsrmService`): CreateSequence,
    /// TerminateSequence and CloseSequence go there; the fetch goes where CreateSequence says.
    pub url: String,
    /// The period in virtual milliseconds (SP-10: configurable, 10 minutes by default).
    #[serde(default = "default_every_ms")]
    pub every_ms: u64,
    /// How long one call to STAR may take (real milliseconds): a fetch carries a whole
    /// sequence, far more than one message.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
}

fn default_every_ms() -> u64 {
    10 * 60 * 1000
}

fn default_timeout_ms() -> u64 {
    60_000
}

/// Runs in a row at most, while each fetches events: a backlog larger than STAR hands out in
/// one sequence is fetched at once, not one sequence per period.
const MAX_RUNS_IN_A_ROW: u32 = 50;

/// How a run ended, as `sp_star_runs.outcome` and the admin API say it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunOutcome {
    /// Terminated: `published` events went out (of `fetched`).
    Terminated {
        /// Events the sequence held.
        fetched: usize,
        /// Of them, published now (the rest had been before).
        published: usize,
    },
    /// Failed at `step`; the sequence (if any) was closed, so STAR keeps every event.
    Failed {
        /// The step that failed.
        step: StarOperation,
        /// Why.
        detail: String,
    },
}

/// The publishing side the job hands events to: the Beskedfordeler.
pub type Publisher = sim_bf::Beskedfordeler;

/// The job: its STAR, client, store, journal, clock and publisher.
pub struct StarJob {
    config: StarJobConfig,
    http: HttpsClient,
    db: Db,
    journal: Journal,
    clock: Clock,
    ids: Arc<IdStream>,
    publisher: Publisher,
}

/// A persisted event not yet published: MessageIdentifier, BeskedId, CPR, NemRefusionIdentifier,
/// the event's ISO-8859-1 bytes.
type Pending = (String, String, String, Option<String>, Vec<u8>);

/// Why one step failed.
struct StepError {
    step: StarOperation,
    detail: String,
}

impl StarJob {
    /// A job over the platform's store and journal; `http` presents the platform's (KOMBIT's)
    /// certificate.
    pub fn new(
        config: StarJobConfig,
        http: HttpsClient,
        db: Db,
        journal: Journal,
        clock: Clock,
        ids: Arc<IdStream>,
        publisher: Publisher,
    ) -> StarJob {
        StarJob {
            config,
            http,
            db,
            journal,
            clock,
            ids,
            publisher,
        }
    }

    /// Runs every `every_ms` of virtual time until `stop` completes. A run in progress when
    /// `stop` fires is dropped where it stands, as a crash would: what it committed stays,
    /// STAR rolls an unfinished sequence back.
    pub async fn worker(self, stop: impl std::future::Future<Output = ()> + Send + 'static) {
        tokio::pin!(stop);
        let every = StdDuration::from_millis(self.config.every_ms.max(1));
        tracing::info!(star = %self.config.url, every_ms = self.config.every_ms, virtual_now = %self.clock.now(), "the STAR job runs (SP-10)");
        let mut in_a_row = 0u32;
        loop {
            if in_a_row == 0 {
                tokio::select! {
                    () = &mut stop => return,
                    () = self.clock.sleep(every) => {}
                }
            }
            tokio::select! {
                () = &mut stop => return,
                outcome = self.run_once() => {
                    // A sequence that held events may not have held all (STAR's limit per
                    // sequence): ask again at once, until one comes back empty.
                    in_a_row = match &outcome {
                        RunOutcome::Terminated { fetched, .. } if *fetched > 0
                            && in_a_row + 1 < MAX_RUNS_IN_A_ROW => in_a_row + 1,
                        _ => 0,
                    };
                    if let RunOutcome::Failed { step, detail } = &outcome {
                        tracing::warn!(step = step.name(), %detail, "STAR job run failed (SP-10); the sequence was closed");
                    }
                }
            }
        }
    }

    /// One run of the job (see the module docs), recorded in `sp_star_runs`.
    pub async fn run_once(&self) -> RunOutcome {
        let started = self.clock.now();
        tracing::debug!(virtual_now = %started, "STAR job run starts (SP-10)");
        let call_id = self.ids.next_uuid();
        // Events persisted by a run that died before publishing them go out first.
        let mut published = match self.publish_pending().await {
            Ok(n) => n,
            Err(detail) => {
                return self
                    .finish(
                        started,
                        None,
                        None,
                        0,
                        0,
                        RunOutcome::Failed {
                            step: StarOperation::CreateSequence,
                            detail,
                        },
                    )
                    .await
            }
        };
        let created = match self
            .call(
                call_id,
                &self.config.url,
                StarRequest::CreateSequence(star::CreateSequenceRequest::ksd()),
                None,
            )
            .await
        {
            Ok(StarResponse::CreateSequence(c)) => c,
            Ok(other) => {
                let e = unexpected(StarOperation::CreateSequence, &other);
                return self.failed(started, None, None, 0, published, e).await;
            }
            Err(e) => return self.failed(started, None, None, 0, published, e).await,
        };
        let sequence = created.identifier;
        let Some(item) = created
            .services
            .iter()
            .find(|s| s.service_name == star::GET_ILLNESS_UPDATED_SERVICE_NAME)
        else {
            let e = StepError {
                step: StarOperation::CreateSequence,
                detail: "no ServiceItem GetIllnessUpdatedVersion6 in the answer".into(),
            };
            self.close(call_id, sequence).await;
            return self
                .failed(started, Some(sequence), None, 0, published, e)
                .await;
        };
        let count = item.message_count;
        // Fetch, persist, publish: any failure closes the sequence (SP-10), once, here.
        let fetched = match self
            .fetch_persist_publish(call_id, sequence, count, &item.service_endpoint)
            .await
        {
            Ok((fetched, n)) => {
                published += n;
                fetched
            }
            Err((e, fetched)) => {
                self.close(call_id, sequence).await;
                return self
                    .failed(started, Some(sequence), Some(count), fetched, published, e)
                    .await;
            }
        };
        let terminate = StarRequest::TerminateSequence(star::SequenceIdentifier {
            identifier: sequence,
        });
        let outcome = match self.call(call_id, &self.config.url, terminate, None).await {
            Ok(StarResponse::TerminateSequence) => RunOutcome::Terminated { fetched, published },
            // Published already: no close (that would hand the events out again for nothing);
            // STAR's own timeout ends the sequence, and a refetch is recognised by its rows.
            Ok(other) => {
                let e = unexpected(StarOperation::TerminateSequence, &other);
                RunOutcome::Failed {
                    step: e.step,
                    detail: e.detail,
                }
            }
            Err(e) => RunOutcome::Failed {
                step: e.step,
                detail: e.detail,
            },
        };
        self.finish(
            started,
            Some(sequence),
            Some(count),
            fetched,
            published,
            outcome,
        )
        .await
    }

    /// Steps 2–4 of a run: every event of `sequence` fetched at `endpoint` (exactly `count`,
    /// all or none), persisted in one commit, then the pending ones published. `Ok`: (fetched,
    /// published); `Err`: why, and how many had been fetched. The caller closes the sequence.
    async fn fetch_persist_publish(
        &self,
        call_id: Uuid,
        sequence: Uuid,
        count: u64,
        endpoint: &str,
    ) -> Result<(usize, usize), (StepError, usize)> {
        let fetch = StarOperation::GetIllnessUpdatedVersion6;
        let events = if count == 0 {
            Vec::new()
        } else {
            match self
                .call(
                    call_id,
                    endpoint,
                    StarRequest::GetIllnessUpdated,
                    Some(sequence),
                )
                .await
            {
                Ok(StarResponse::GetIllnessUpdated(events)) if events.len() as u64 == count => {
                    events
                }
                Ok(StarResponse::GetIllnessUpdated(events)) => {
                    let detail = format!(
                        "{} events, MessageCount said {count}: all or none (SP-10)",
                        events.len()
                    );
                    return Err((
                        StepError {
                            step: fetch,
                            detail,
                        },
                        0,
                    ));
                }
                Ok(other) => return Err((unexpected(fetch, &other), 0)),
                Err(e) => return Err((e, 0)),
            }
        };
        let fetched = events.len();
        let failed = |detail: String| {
            (
                StepError {
                    step: fetch,
                    detail,
                },
                fetched,
            )
        };
        self.persist(sequence, &events)
            .await
            .map_err(|d| failed(format!("persisting the events: {d}")))?;
        let published = self
            .publish_pending()
            .await
            .map_err(|d| failed(format!("publishing to the Beskedfordeler: {d}")))?;
        Ok((fetched, published))
    }

    /// Records a failed run.
    async fn failed(
        &self,
        started: time::OffsetDateTime,
        sequence: Option<Uuid>,
        count: Option<u64>,
        fetched: usize,
        published: usize,
        e: StepError,
    ) -> RunOutcome {
        let outcome = RunOutcome::Failed {
            step: e.step,
            detail: e.detail,
        };
        self.finish(started, sequence, count, fetched, published, outcome)
            .await
    }

    /// Writes the run's row and returns its outcome.
    async fn finish(
        &self,
        started: time::OffsetDateTime,
        sequence: Option<Uuid>,
        count: Option<u64>,
        fetched: usize,
        published: usize,
        outcome: RunOutcome,
    ) -> RunOutcome {
        let ended = self.clock.now();
        let (text, detail) = match &outcome {
            RunOutcome::Terminated { .. } => ("terminated".to_string(), None),
            RunOutcome::Failed { step, detail } => {
                (format!("failed:{}", step.name()), Some(detail.clone()))
            }
        };
        let row = self
            .db
            .write(move |tx| {
                tx.prepare_cached(
                    "INSERT INTO sp_star_runs (started_at, ended_at, sequence, message_count,
                         fetched, published, outcome, detail)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                )?
                .execute(rusqlite::params![
                    unix_millis(started),
                    unix_millis(ended),
                    sequence.map(|s| s.to_string()),
                    count.map(|c| c as i64),
                    fetched as i64,
                    published as i64,
                    text,
                    detail,
                ])?;
                Ok(())
            })
            .await;
        if let Err(e) = row {
            tracing::warn!(error = %e, "recording the STAR job's run");
        }
        outcome
    }

    /// Stores every event of `sequence` in one commit; one fetched again (rolled back before,
    /// or handed out again after a lost terminate) only counts the fetch.
    async fn persist(
        &self,
        sequence: Uuid,
        events: &[IllnessUpdateRegistration],
    ) -> Result<(), String> {
        let now = unix_millis(self.clock.now());
        let mut rows = Vec::with_capacity(events.len());
        for e in events {
            let bytes = star::event_document(e).map_err(|e| e.to_string())?;
            rows.push((
                e.illness.message_identifier.to_string(),
                self.ids.next_uuid().to_string(),
                e.person_civil_registration_identifier.to_string(),
                e.illness.nem_refusion_identifier.map(|n| n.to_string()),
                bytes,
            ));
        }
        let seq = sequence.to_string();
        self.db
            .write(move |tx| {
                let mut st = tx.prepare_cached(
                    "INSERT INTO sp_star_events (message_identifier, besked_id, sequence, cpr,
                         nem_refusion_id, event, fetched_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                     ON CONFLICT (message_identifier) DO UPDATE
                         SET fetch_count = fetch_count + 1, sequence = excluded.sequence",
                )?;
                for (mid, besked_id, cpr, nr, event) in &rows {
                    st.execute(rusqlite::params![mid, besked_id, seq, cpr, nr, event, now])?;
                }
                Ok(())
            })
            .await
            .map_err(|e| e.to_string())
    }

    /// Publishes every persisted event not yet published, oldest first; returns how many.
    /// Stops at the first failure (the rest stay pending for the next run).
    async fn publish_pending(&self) -> Result<usize, String> {
        let pending: Vec<Pending> = self
            .db
            .read(|c| {
                let mut st = c.prepare_cached(
                    "SELECT message_identifier, besked_id, cpr, nem_refusion_id, event
                     FROM sp_star_events WHERE published_at IS NULL ORDER BY fetched_at, rowid",
                )?;
                let rows = st.query_map([], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
                })?;
                rows.collect()
            })
            .await
            .map_err(|e| e.to_string())?;
        let mut n = 0;
        for (mid, besked_id, cpr, nr, event) in pending {
            let message_identifier: Uuid = mid.parse().map_err(|e| format!("{mid}: {e}"))?;
            let besked = Haendelsesbesked::sygemeldingsstatus(Sygemeldingsstatus {
                besked_id: besked_id.parse().map_err(|e| format!("{besked_id}: {e}"))?,
                cpr: cpr.parse().map_err(|e| format!("{cpr}: {e}"))?,
                message_identifier,
                // SP-11: ObjektId is the NemRefusionIdentifier; an event without one (not
                // notified through NemRefusion) is registered under its own message id.
                // TODO(rule SP-11): the seed does not say what an event without a
                // NemRefusionIdentifier carries; decided here.
                nem_refusion_identifier: match nr {
                    Some(n) => n.parse().map_err(|e| format!("{n}: {e}"))?,
                    None => message_identifier,
                },
                dannelsestidspunkt: DatoTid(self.clock.now()),
                event,
            });
            self.publisher
                .publish(&besked)
                .await
                .map_err(|e| format!("MessageIdentifier {mid}: {e}"))?;
            let at = unix_millis(self.clock.now());
            self.db
                .write(move |tx| {
                    tx.prepare_cached(
                        "UPDATE sp_star_events SET published_at = ?2
                         WHERE message_identifier = ?1 AND published_at IS NULL",
                    )?
                    .execute(rusqlite::params![mid, at])?;
                    Ok(())
                })
                .await
                .map_err(|e| e.to_string())?;
            n += 1;
        }
        Ok(n)
    }

    /// `CloseSequence` after a failure: STAR rolls every event of the sequence back. Its own
    /// failure is journaled and logged; STAR's timeout for open sequences does the same.
    async fn close(&self, call_id: Uuid, sequence: Uuid) {
        let req = StarRequest::CloseSequence(star::SequenceIdentifier {
            identifier: sequence,
        });
        if let Err(e) = self.call(call_id, &self.config.url, req, None).await {
            tracing::warn!(%sequence, detail = %e.detail, "CloseSequence failed; STAR's timeout rolls the sequence back");
        }
    }

    /// One call to STAR with SP-12's headers (and the sequence for the fetch), journaled
    /// request and answer; the response, or why there is none.
    async fn call(
        &self,
        call_id: Uuid,
        url: &str,
        request: StarRequest,
        sequence: Option<Uuid>,
    ) -> Result<StarResponse, StepError> {
        let op = request.operation();
        let mut headers = StarHeaders::ksd(DatoTid(self.clock.now()));
        if let Some(s) = sequence {
            headers = headers.with_sequence(s);
        }
        let call = StarCall { headers, request };
        let err = |detail: String| StepError { step: op, detail };
        let xml = star::write_request(&call).map_err(|e| err(e.to_string()))?;
        let exchange = Exchange {
            label: Label::flow(&op.label(), Part::Request),
            transaktion_id: call.sequence().map(|s| s.to_string()),
            call_uuid: Some(call_id.to_string()),
            peer: Some(url.to_string()),
            municipality: None,
            cpr: None,
        };
        let sent_at = self.clock.now();
        let request_row = exchange.entry(
            sent_at,
            Direction::Out,
            Part::Request,
            Outcome::Received,
            None,
            xml.clone(),
        );
        let action = format!("\"{}\"", op.soap_action());
        let headers = [
            ("content-type", "text/xml; charset=utf-8"),
            ("soapaction", action.as_str()),
        ];
        let answer = self.http.post(url, &headers, xml).await;
        let at = self.clock.now();
        let (result, row) = match answer {
            Err(e) => {
                let detail = e.to_string();
                let row = exchange.entry(
                    at,
                    Direction::Out,
                    Part::Response,
                    Outcome::Unreachable,
                    Some(detail.clone()),
                    String::new(),
                );
                (Err(err(format!("STAR unreachable: {detail}"))), row)
            }
            Ok(resp) => {
                let raw = String::from_utf8_lossy(&resp.body).into_owned();
                match star::read_response(&resp.body) {
                    Ok(StarReply::Response(r)) if r.operation() == op => {
                        let row = exchange.entry(
                            at,
                            Direction::Out,
                            Part::Response,
                            Outcome::Ok,
                            None,
                            raw,
                        );
                        (Ok(r), row)
                    }
                    Ok(StarReply::Response(r)) => {
                        let detail = format!("answered {} to {}", r.operation().name(), op.name());
                        let row = exchange.entry(
                            at,
                            Direction::Out,
                            Part::Response,
                            Outcome::Http(resp.status.as_u16()),
                            Some(detail.clone()),
                            raw,
                        );
                        (Err(err(detail)), row)
                    }
                    Ok(StarReply::Fault(f)) => {
                        let outcome = match f.rule() {
                            Some(r) => Outcome::fault(r),
                            None => Outcome::Fault(f.fault_code.clone()),
                        };
                        let detail = format!("fault {}: {}", f.fault_code, f.fault_string);
                        let row = exchange.entry(
                            at,
                            Direction::Out,
                            Part::Fault,
                            outcome,
                            Some(detail.clone()),
                            raw,
                        );
                        (Err(err(detail)), row)
                    }
                    Err(e) => {
                        let detail = format!("unreadable answer (HTTP {}): {e}", resp.status);
                        let row = exchange.entry(
                            at,
                            Direction::Out,
                            Part::Response,
                            Outcome::Unreadable(e.kind().to_string()),
                            Some(detail.clone()),
                            raw,
                        );
                        (Err(err(detail)), row)
                    }
                }
            }
        };
        self.journal.record_all(vec![request_row, row]).await;
        result
    }
}

/// An answer of the wrong kind for `step`.
fn unexpected(step: StarOperation, got: &StarResponse) -> StepError {
    StepError {
        step,
        detail: format!("answered {} to {}", got.operation().name(), step.name()),
    }
}

/// The job's counts for the admin API: runs by outcome, events fetched, published, pending.
pub async fn summary(db: &Db) -> Result<serde_json::Value, sim_store::StoreError> {
    db.read(|c| {
        let runs: Vec<(String, i64)> = c
            .prepare("SELECT outcome, COUNT(*) FROM sp_star_runs GROUP BY outcome ORDER BY 1")?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        let (events, published, refetched): (i64, i64, i64) = c.query_row(
            "SELECT COUNT(*), COUNT(published_at), COALESCE(SUM(fetch_count > 1), 0)
             FROM sp_star_events",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?;
        let last: Option<(i64, String)> = c
            .query_row(
                "SELECT ended_at, outcome FROM sp_star_runs ORDER BY id DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        Ok(serde_json::json!({
            "runs": runs.into_iter().collect::<std::collections::BTreeMap<_, _>>(),
            "events": events,
            "published": published,
            "pending": events - published,
            "fetched_again": refetched,
            "last_run": last.map(|(at, o)| serde_json::json!({"ended_at_ms": at, "outcome": o})),
        }))
    })
    .await
}
