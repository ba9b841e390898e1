//! The running KSD: its store, id streams and outgoing client, and the helpers every handler
//! uses to journal a call and to refuse one with a fault.

use std::sync::Arc;
use std::time::Duration;

use axum::response::Response;
use sim_kit::config::{Endpoint, SystemRef};
use sim_kit::ids::IdStream;
use sim_kit::soap::SoapClient;
use sim_store::{Clock, Db, Exchange, Journal, Label, Outbox};
use sim_wire::{Rule, Uuid};
use time::OffsetDateTime;

use crate::config::Config;
use crate::KsdError;

/// Everything a request handler or the receipt delivery needs.
pub struct Ksd {
    /// Virtual time: journal stamps, receipt due times, header send times.
    pub clock: Clock,
    /// `ksd.sqlite`: cases, updates, journal and outbox in one file, so one transaction
    /// covers a case change, its journal entries and its business receipt.
    pub db: Db,
    /// The journal in `db`: every leg of every exchange is recorded through it, and the
    /// admin API reads it.
    pub journal: Journal,
    /// Business receipts waiting to be delivered.
    pub outbox: Outbox,
    /// SagIdentifikator of new cases; shared with write closures, which draw from it only when
    /// a case is really created, so ids follow commit order.
    pub case_ids: Arc<IdStream>,
    /// TransaktionIdentifikator of the messages KSD writes itself (SF2090 events, SF2093
    /// requests); drawn before the transaction that writes them.
    pub message_ids: IdStream,
    /// KSD-9's duration rule.
    pub duration: crate::lifecycle::DurationRule,
    /// Wakes the case lifecycle worker (a case was created or the clock moved).
    pub lifecycle: tokio::sync::Notify,
    /// One id per incoming call: ties a request to its answer and to its business receipt in
    /// the journal, and is the CallUUID of KSD's faults.
    pub call_ids: IdStream,
    /// Presents KSD's system certificate to the platform.
    pub client: SoapClient,
    /// The platform's JC exposure.
    pub platform: Endpoint,
    /// The only caller accepted (SP-7).
    pub platform_system: SystemRef,
    /// `RegistreringITsystem` of the headers KSD writes.
    pub ksd_system: Uuid,
    /// Virtual delay before a business receipt is due.
    pub receipt_delay: Duration,
    /// The scenario's hook, which may draw the delay per update instead.
    pub faults: sim_kit::faults::Faults,
}

/// KSD's meta table: a start counter (epoch) that keeps generated ids unique across restarts.
pub(crate) const META_MIGRATION: &str =
    "CREATE TABLE IF NOT EXISTS ksd_meta (k TEXT PRIMARY KEY, v INTEGER NOT NULL);";

impl Ksd {
    /// Opens (or creates) the state directory and bumps the start counter.
    pub async fn open(config: &Config, client: SoapClient) -> Result<Ksd, KsdError> {
        let ksd_system: Uuid = config.ksd_system_uuid.parse().map_err(|e| {
            KsdError::Config(format!("ksd_system_uuid '{}': {e}", config.ksd_system_uuid))
        })?;
        if !config.platform.url.starts_with("https://") {
            return Err(KsdError::Config(format!(
                "platform.url '{}' must be an https:// URL",
                config.platform.url
            )));
        }
        std::fs::create_dir_all(&config.state_dir)?;
        let db = Db::open(&config.state_dir.join("ksd.sqlite"), &crate::migrations())?;
        let epoch = db
            .write(|tx| {
                tx.execute(
                    "INSERT INTO ksd_meta (k, v) VALUES ('epoch', 1)
                     ON CONFLICT(k) DO UPDATE SET v = v + 1",
                    [],
                )?;
                tx.query_row("SELECT v FROM ksd_meta WHERE k = 'epoch'", [], |r| {
                    r.get::<_, i64>(0)
                })
            })
            .await?;
        let epoch = u64::try_from(epoch).unwrap_or(0);
        Ok(Ksd {
            clock: config.clock.clone(),
            journal: Journal::new(db.clone()),
            outbox: Outbox::new(db.clone(), config.clock.clone()),
            db,
            case_ids: Arc::new(IdStream::new(config.seed, "ksd/sag", epoch)),
            call_ids: IdStream::new(config.seed, "ksd/call", epoch),
            message_ids: IdStream::new(config.seed, "ksd/besked", epoch),
            duration: config.duration,
            lifecycle: tokio::sync::Notify::new(),
            client,
            platform: config.platform.clone(),
            platform_system: config.platform_system.clone(),
            ksd_system,
            receipt_delay: Duration::from_millis(config.receipt_delay_ms),
            faults: config.faults.clone(),
        })
    }

    /// How long after accepting update `tid` its business receipt is due (KSD-2): the
    /// scenario's draw for it if a hook decides, else the configured delay.
    pub fn receipt_delay_for(&self, tid: &str) -> Duration {
        self.faults.receipt_delay(tid).unwrap_or(self.receipt_delay)
    }

    /// Virtual now, truncated to milliseconds: the precision the journal keeps, so a time
    /// written into a message and the time journaled for it are the same instant.
    pub fn now(&self) -> OffsetDateTime {
        let t = self.clock.now();
        t.replace_nanosecond(t.nanosecond() / 1_000_000 * 1_000_000)
            .unwrap_or(t)
    }

    /// Refuses a call with a SOAP fault whose faultstring starts with the rule broken and
    /// whose detail names it as `ErrorCode`, journals the request (the text as its detail) and
    /// the fault, and returns the HTTP 500 response. `client`: the caller must fix something
    /// (`soap:Client`), rather than KSD failing (`soap:Server`, worth resending).
    pub async fn refuse(
        &self,
        seen: &Seen,
        raw: String,
        client: bool,
        rule: Rule,
        text: String,
    ) -> Response {
        let text = format!("{rule}: {text}");
        let at = self.now();
        sim_kit::soap::refuse(
            &self.journal,
            &seen.exchange,
            at,
            at,
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

/// What KSD knows about one incoming call before deciding on it: its id (the CallUUID of
/// KSD's faults) and the exchange every leg of it is journaled under, whatever is decided.
#[derive(Debug, Clone)]
pub struct Seen {
    /// This call's id.
    pub call_id: Uuid,
    /// Label, transaction, caller, municipality and citizen, as far as they could be read.
    pub exchange: Exchange,
}

impl Seen {
    /// A call with id `call_id` from `peer`, of the operation `label` names; nothing else
    /// read yet.
    pub fn new(call_id: Uuid, label: Label, peer: Option<String>) -> Seen {
        Seen {
            call_id,
            exchange: Exchange {
                label,
                transaktion_id: None,
                call_uuid: Some(call_id.to_string()),
                peer,
                municipality: None,
                cpr: None,
            },
        }
    }
}
