//! The running STAR: its store, its clock, its id streams, the event generator, and the
//! helpers every handler uses to queue what is due, to journal a call and to refuse one.

use std::iter::Peekable;
use std::time::Duration;

use axum::response::Response;
use sim_kit::ids::IdStream;
use sim_scenario::star::{StarEvents, StarStream};
use sim_store::{Clock, Db, Exchange, Journal, Label, StoreError};
use sim_wire::star::StarOperation;
use sim_wire::{Rule, Uuid};
use time::OffsetDateTime;
use tokio::sync::Mutex;

use crate::config::{Config, StarFaultHook};
use crate::queue::{self, NewEvent};
use crate::StarError;

/// Most events queued in one transaction: a long backlog (a clock moved a month) is queued in
/// several commits instead of one that holds the writer for seconds.
const QUEUE_BATCH: usize = 2_000;

/// Everything a handler or the admin API needs.
pub struct Star {
    /// Virtual time: when events are due, when sequences expire, journal stamps.
    pub clock: Clock,
    /// `star.sqlite`: events, sequences, journal, meta.
    pub db: Db,
    /// The journal in `db`: every call and its answer.
    pub journal: Journal,
    /// One id per incoming call: ties a request to its answer in the journal and is the
    /// CallUUID of STAR's faults.
    pub call_ids: IdStream,
    /// The `Identifier` of each new sequence.
    pub sequence_ids: IdStream,
    /// `ServiceItem/ServiceEndpoint`: where the fetch is served.
    pub service_endpoint: String,
    /// CVRs allowed to call (SP-7).
    pub allowed_callers: Vec<String>,
    /// How long a sequence may stay open (virtual).
    pub sequence_timeout: time::Duration,
    /// At most this many events per sequence.
    pub max_per_sequence: Option<u64>,
    /// STAR's own fault hook.
    pub star_faults: StarFaultHook,
    /// The stream, and how far it has been queued; locked while events are queued so no
    /// event is generated twice.
    generator: Mutex<Generator>,
    /// The stream the state directory was made with.
    stream: StarStream,
}

/// The event stream from the next event not yet queued.
struct Generator {
    events: Peekable<StarEvents>,
}

impl Generator {
    /// The stream's events from `next_seq` on (the earlier ones are replayed and dropped: a
    /// person's story depends on every event before).
    fn new(stream: &StarStream, next_seq: u64) -> Generator {
        let mut events = stream.events().peekable();
        while events.next_if(|e| e.seq < next_seq).is_some() {}
        Generator { events }
    }
}

impl Star {
    /// Opens (or creates) the state directory: bumps the start counter, fixes the stream's
    /// start on the first opening, and refuses a state directory made with another stream
    /// (its queue would not be this stream's).
    pub async fn open(config: &Config) -> Result<Star, StarError> {
        let public = config.public_url.trim_end_matches('/');
        if !public.starts_with("https://") || public.chars().any(|c| !c.is_ascii_graphic()) {
            return Err(StarError::Config(format!(
                "public_url '{}' must be an https:// URL",
                config.public_url
            )));
        }
        std::fs::create_dir_all(&config.state_dir)?;
        let db = Db::open(&config.state_dir.join("star.sqlite"), &crate::migrations())?;
        let now = config.clock.now();
        let (epoch, first_start, next_seq, fingerprint) = db
            .write(move |tx| {
                let epoch = queue::meta(tx, "epoch")?
                    .and_then(|v| v.parse::<u64>().ok())
                    .unwrap_or(0)
                    + 1;
                queue::set_meta(tx, "epoch", &epoch.to_string())?;
                let first = match queue::meta(tx, "first_start")? {
                    Some(v) => v.parse::<i64>().unwrap_or(0),
                    None => {
                        let ms = sim_store::unix_millis(now);
                        queue::set_meta(tx, "first_start", &ms.to_string())?;
                        ms
                    }
                };
                let next_seq = queue::meta(tx, "next_seq")?
                    .and_then(|v| v.parse::<u64>().ok())
                    .unwrap_or(0);
                Ok((epoch, first, next_seq, queue::meta(tx, "stream")?))
            })
            .await?;
        let first_start = sim_store::from_unix_millis(first_start).unwrap_or(now);
        let stream = config
            .events
            .stream(first_start)
            .map_err(StarError::Config)?;
        let mine = format!("{:016x}", sim_seed::hash(format!("{stream:?}").as_bytes()));
        match fingerprint {
            Some(f) if f != mine => {
                return Err(StarError::Config(format!(
                    "{} was made with another event stream (events: seed, volume, start, end or \
                     population differ); use another state_dir",
                    config.state_dir.display()
                )))
            }
            Some(_) => {}
            None => {
                let m = mine.clone();
                db.write(move |tx| queue::set_meta(tx, "stream", &m))
                    .await?;
            }
        }
        let replay = stream.clone();
        let generator = tokio::task::spawn_blocking(move || Generator::new(&replay, next_seq))
            .await
            .map_err(|e| StarError::Io(std::io::Error::other(e)))?;
        let seed = stream.seed;
        Ok(Star {
            clock: config.clock.clone(),
            journal: Journal::new(db.clone()),
            db,
            call_ids: IdStream::new(seed, "star/call", epoch),
            sequence_ids: IdStream::new(seed, "star/sequence", epoch),
            service_endpoint: format!("{public}{}", crate::WSRM_MESSAGE_SERVICE_PATH),
            allowed_callers: config.allowed_caller_cvrs.clone(),
            sequence_timeout: time::Duration::milliseconds(
                i64::try_from(config.sequence_timeout_ms).unwrap_or(i64::MAX),
            ),
            max_per_sequence: config.max_events_per_sequence,
            star_faults: config.star_faults.clone(),
            generator: Mutex::new(generator),
            stream,
        })
    }

    /// Virtual now, truncated to milliseconds (the journal's precision), so the time written
    /// into a fault and the time journaled for it are the same instant.
    pub fn now(&self) -> OffsetDateTime {
        let t = self.clock.now();
        t.replace_nanosecond(t.nanosecond() / 1_000_000 * 1_000_000)
            .unwrap_or(t)
    }

    /// The instant at or before which an open sequence is overdue.
    pub fn expiry_deadline(&self, now: OffsetDateTime) -> OffsetDateTime {
        now.checked_sub(self.sequence_timeout)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }

    /// Queues every event whose time has passed, never one before (rule SP-10's queue is
    /// STAR's: events exist for the platform only once they happened).
    pub async fn queue_due(&self) -> Result<(), StoreError> {
        let mut g = self.generator.lock().await;
        let now = self.clock.now();
        loop {
            let mut batch = Vec::new();
            let mut next_seq = None;
            while batch.len() < QUEUE_BATCH {
                let Some(e) = g.events.next_if(|e| e.at <= now) else {
                    break;
                };
                next_seq = Some(e.seq + 1);
                match sim_wire::star::registration_fragment(&e.registration) {
                    Ok(fragment) => batch.push(NewEvent {
                        seq: e.seq,
                        at: e.at,
                        message_id: e.registration.illness.message_identifier.to_string(),
                        cpr: e
                            .registration
                            .person_civil_registration_identifier
                            .to_string(),
                        fragment,
                    }),
                    // The generator writes only XML characters; kept total all the same.
                    Err(err) => tracing::warn!(seq = e.seq, %err, "event not writable, skipped"),
                }
            }
            let Some(next_seq) = next_seq else {
                return Ok(());
            };
            let written = self
                .db
                .write(move |tx| queue::queue(tx, &batch, next_seq))
                .await;
            if let Err(e) = written {
                // The generator is ahead of the store: start it again where the store is.
                let stored = self
                    .db
                    .read(|c| queue::meta(c, "next_seq"))
                    .await
                    .ok()
                    .flatten()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0);
                *g = Generator::new(&self.stream, stored);
                return Err(e);
            }
            tokio::task::yield_now().await;
        }
    }

    /// When the next event not yet queued happens, if the stream has one.
    pub async fn next_event_at(&self) -> Option<OffsetDateTime> {
        self.generator.lock().await.events.peek().map(|e| e.at)
    }

    /// Refuses a call with a SOAP fault naming `rule` (its faultstring starting with it),
    /// journals the request (received at `received`) and the fault, and returns the HTTP 500
    /// response. `client`: the caller must fix something, rather than STAR failing.
    pub async fn refuse(
        &self,
        seen: &Seen,
        received: OffsetDateTime,
        raw: String,
        client: bool,
        rule: Rule,
        text: String,
    ) -> Response {
        let text = format!("{rule}: {text}");
        sim_kit::soap::refuse(
            &self.journal,
            &seen.exchange,
            received,
            self.now(),
            seen.call_id,
            client,
            rule,
            &text,
            Some(text.clone()),
            raw,
        )
        .await
    }
}

/// What STAR knows about one incoming call before deciding on it.
#[derive(Debug, Clone)]
pub struct Seen {
    /// This call's id (the CallUUID of STAR's faults).
    pub call_id: Uuid,
    /// Label, sequence (as TransaktionIdentifikator: it ties a sequence's calls together) and
    /// caller, as far as they are known.
    pub exchange: Exchange,
}

impl Seen {
    /// A call with id `call_id` from `peer`, of `op` if it could be told.
    pub fn new(call_id: Uuid, op: Option<StarOperation>, peer: Option<String>) -> Seen {
        Seen {
            call_id,
            exchange: Exchange {
                label: label(op),
                transaktion_id: None,
                call_uuid: Some(call_id.to_string()),
                peer,
                municipality: None,
                cpr: None,
            },
        }
    }
}

/// The journal label of a STAR operation, `STAR/<Operation>` (the spelling is
/// `sim_wire::star::StarOperation::label`'s, the row `sim_wire::flows` reserves), or `STAR/?`.
pub fn label(op: Option<StarOperation>) -> Label {
    let text = op.map_or_else(|| "STAR/?".to_string(), StarOperation::label);
    // `Label`'s parser is total: any text is some operation's request row.
    text.parse()
        .unwrap_or_else(|e: std::convert::Infallible| match e {})
}

/// How long a call waits before it is handled when a fault makes STAR slow.
pub async fn slow_down(d: Option<Duration>) {
    if let Some(d) = d {
        tokio::time::sleep(d).await;
    }
}
