//! A business answer a vendor owes KSD for something KSD sent it — the acknowledgement of an
//! SF2090 event (KSD-10), the answer to an SF2093 extension request (KSD-11) — from the
//! moment it is decided until the platform takes it.
//!
//! The answer's document and due time are written in the same commit as the message it
//! answers, and the answer goes into the vendor's one durable queue (the resender's
//! `sim_store::Outbox`), due at once or later. The resender sends it to the platform's KSD
//! exposure with the instance's own certificate (SP-6) and resends the identical document
//! with jittered backoff until a TransportKvittering arrives (JC-1), across restarts: the
//! answer is the vendor's until the platform has it. OK and ADVARSEL make it `sent`; FEJL —
//! KSD's own refusal, passed through by the platform (SP-13): no such event or request, the
//! wrong municipality, a broken document — makes it `refused`, not resent, since the same
//! bytes would be refused again (as an update's FEJL ends its sending).
//!
//! A repeated delivery of the message it answers sends an answer that already went once more
//! (KSD records an answer once per TransaktionIdentifikator, so a copy costs nothing and
//! covers an answer that was lost on the way) — a `refused` one too: KSD delivering again says
//! it holds no answer, and a refusal that was not about the bytes (an injected FEJL, a KSD
//! that could not record it) would otherwise leave the event unanswered for ever; one still
//! queued is left as it is.
//!
//! Each flow keeps its messages in a table of its own ([`answering_table`]), keyed by
//! (`transaktion_id`, `instance`), with `municipality`, `sag_id`, `cpr`, the delivery columns
//! and the answer columns ([`ANSWER_COLUMNS`]), and names it in an [`Answering`].
//!
//! Receiving such a message is the same for every flow but for what the flow checks, decides
//! and stores: [`about_case`] (a valid message about a case of the municipality in context,
//! JC-3), the flow's decision, then [`keep`] (stored with its answer and journaled in one
//! commit, and only then answered TransportKvittering OK).

use std::collections::BTreeMap;

use axum::response::Response;
use rusqlite::{OptionalExtension, Row, Transaction};
use sim_store::{
    from_unix_millis, unix_millis, Exchange, Journal, Label, NewOutboxItem, Outbox, OutboxItem,
};
use sim_wire::{
    AuthorityContext, Cvr, DatoTid, Header, Message, Operation, Payload, Problem, Request, Sag,
    Uuid,
};
use time::OffsetDateTime;

use crate::flows::heard::Heard;
use crate::model::{AnswerInfo, AnswerState};
use crate::receiver::Inbound;
use crate::state::{Jobcenter, Vendor};
use crate::JobcenterError;

/// The answer columns every answering flow's table has, in the order [`info`] reads them.
const ANSWER_COLUMNS: &str =
    "answer_state, answer_due_at, answer_attempts, answer_code, answer_error, answer_sent_at, answer_xml";

/// The migration of an answering flow's table `$table`: the key and `municipality` first,
/// then the flow's own columns (`$columns`, which include `sag_id`, `cpr`, `raw`,
/// `received_at`, `last_received_at` and `deliveries`), then the answer's, with an index by
/// instance and one by case (a macro so that `concat!` builds it at compile time).
macro_rules! answering_table {
    ($table:literal, $columns:literal) => {
        concat!(
            "
CREATE TABLE IF NOT EXISTS ",
            $table,
            " (
    transaktion_id   TEXT NOT NULL,
    instance         TEXT NOT NULL,
    municipality     TEXT NOT NULL,",
            $columns,
            "
    answer_state     TEXT NOT NULL,
    answer_due_at    INTEGER,
    answer_xml       TEXT,
    answer_attempts  INTEGER NOT NULL DEFAULT 0,
    answer_code      TEXT,
    answer_error     TEXT,
    answer_sent_at   INTEGER,
    PRIMARY KEY (transaktion_id, instance)
);
CREATE INDEX IF NOT EXISTS ",
            $table,
            "_instance ON ",
            $table,
            " (instance);
CREATE INDEX IF NOT EXISTS ",
            $table,
            "_sag ON ",
            $table,
            " (sag_id);
"
        )
    };
}
pub(crate) use answering_table;

/// The tail of an answering flow's INSERT: a repeated delivery of (TransaktionIdentifikator,
/// instance) is only counted, and the row tells how many deliveries there have been and where
/// the answer stood (what [`Answering::settle`] takes).
macro_rules! counted_once {
    () => {
        " ON CONFLICT (transaktion_id, instance) DO UPDATE
             SET deliveries = deliveries + 1, last_received_at = excluded.last_received_at
         RETURNING deliveries, answer_state"
    };
}
pub(crate) use counted_once;

/// One flow's answers: where they are kept and how they are sent.
#[derive(Clone, Copy)]
pub(crate) struct Answering {
    /// The flow's table of received messages with their answers.
    pub table: &'static str,
    /// The platform operation the answer is sent with (on the KSD exposure).
    pub op: Operation,
    /// The queue items' `meta`: which flow delivers them.
    pub queue: &'static str,
    /// Whether an injected fault may send the answer once more after the platform took it
    /// (SF2090's `event_ack_twice`: KSD must absorb a repeated acknowledgement, KSD-10).
    pub may_go_twice: bool,
}

/// What storing one delivery of a message owed an answer found.
pub(crate) struct Stored<K = ()> {
    /// How many times it has now been delivered (1: the first time).
    pub deliveries: i64,
    /// Where its answer stood before this delivery's change.
    pub state: AnswerState,
    /// Whether this delivery put an answer in the queue.
    pub queued: bool,
    /// What the flow decided on the first delivery, which stands (SF2093's decision).
    pub kept: K,
}

/// A flow table's counts, for the counters.
pub(crate) struct Counts {
    /// Distinct messages (per instance that received them).
    pub received: i64,
    /// Their deliveries (more than `received`: redelivered).
    pub deliveries: i64,
    /// Answers by state.
    pub answers: BTreeMap<String, i64>,
}

/// What the resender needs to send one answer.
struct Owed {
    state: String,
    xml: Option<String>,
    municipality: String,
    cpr: String,
    /// The platform has not taken it before (no `answer_sent_at`): only a first send may be
    /// doubled by an injected fault.
    first: bool,
}

impl Answering {
    /// The queue key of the answer to `tid`: the flow's tag before the
    /// TransaktionIdentifikator, so SF2095's queue operations, which go by a bare
    /// TransaktionIdentifikator, never touch an answer.
    fn key(&self, tid: &str) -> String {
        format!("{}:{tid}", self.queue)
    }

    /// Queues the answer to (`tid`, `instance`), first due at `due`, within the caller's
    /// transaction (the one that stores what it answers). The item carries no copy of the
    /// document: the resender reads it from the flow's table.
    pub fn enqueue(
        &self,
        tx: &Transaction<'_>,
        tid: &str,
        instance: &str,
        now: OffsetDateTime,
        due: OffsetDateTime,
    ) -> rusqlite::Result<()> {
        let item = NewOutboxItem {
            target: instance.to_string(),
            key: self.key(tid),
            payload: String::new(),
            meta: self.queue.to_string(),
        };
        Outbox::enqueue_in_at(tx, &item, now, due)?;
        Ok(())
    }

    /// After the flow's INSERT of a delivery of (`tid`, `instance`) at `at` ([`counted_once`]),
    /// which returned the delivery count, the answer's stored state and what the flow keeps:
    /// the answer `a` of a first delivery is queued, due at its `due_at`; after a repeated
    /// delivery one that already went is sent once more ([`Self::resend_after_repeat`]).
    pub fn settle<K>(
        &self,
        tx: &Transaction<'_>,
        tid: &str,
        instance: &str,
        at: OffsetDateTime,
        a: &AnswerInfo,
        (deliveries, stored_state, kept): (i64, String, K),
    ) -> rusqlite::Result<Stored<K>> {
        let state = AnswerState::parse(&stored_state).unwrap_or(a.state);
        let queued = match (deliveries, a.due_at) {
            (1, Some(due)) if state == AnswerState::Pending => {
                self.enqueue(tx, tid, instance, at, due)?;
                true
            }
            (1, _) => false,
            // This delivery is withheld too: whatever stood, stands.
            _ if a.is_withheld() => false,
            _ => self.resend_after_repeat(tx, tid, instance, at)?,
        };
        Ok(Stored {
            deliveries,
            state,
            queued,
            kept,
        })
    }

    /// After a repeated delivery of (`tid`, `instance`): an answer that already went (or was
    /// refused) is sent once more, due now, and one withheld by an injected fault
    /// ([`withheld`]: pending, never due) goes now. Returns whether it was queued. A new item even if the last one is
    /// still being settled: two copies are harmless, an answer left `pending` outside the
    /// queue would never go.
    pub fn resend_after_repeat(
        &self,
        tx: &Transaction<'_>,
        tid: &str,
        instance: &str,
        now: OffsetDateTime,
    ) -> rusqlite::Result<bool> {
        let changed = tx
            .prepare_cached(&format!(
                "UPDATE {} SET answer_state = 'pending', answer_due_at = ?3
                 WHERE transaktion_id = ?1 AND instance = ?2
                   AND (answer_state IN ('sent', 'refused')
                        OR (answer_state = 'pending' AND answer_due_at IS NULL))",
                self.table
            ))?
            .execute(rusqlite::params![tid, instance, unix_millis(now)])?;
        if changed == 1 {
            self.enqueue(tx, tid, instance, now, now)?;
        }
        Ok(changed == 1)
    }

    /// One delivery by the resender: the stored answer to the platform, unless it went
    /// already (a copy after a crash) or is never to go. `Ok` when the platform took it (the
    /// queue forgets the item) or refused it (FEJL: not resent), the fault or transport
    /// error otherwise (due again after the backoff).
    pub async fn deliver(&self, jc: &Jobcenter, item: OutboxItem) -> Result<(), String> {
        let tid = item
            .key
            .strip_prefix(&format!("{}:", self.queue))
            .unwrap_or(&item.key)
            .to_string();
        let instance = item.target.clone();
        let owed = {
            let sql = format!(
                "SELECT answer_state, answer_xml, municipality, cpr, answer_sent_at IS NULL
                 FROM {} WHERE transaktion_id = ?1 AND instance = ?2",
                self.table
            );
            let (tid, instance) = (tid.clone(), instance.clone());
            jc.inner
                .db
                .read(move |c| {
                    c.prepare_cached(&sql)?
                        .query_row([&tid, &instance], |r| {
                            Ok(Owed {
                                state: r.get(0)?,
                                xml: r.get(1)?,
                                municipality: r.get(2)?,
                                cpr: r.get(3)?,
                                first: r.get(4)?,
                            })
                        })
                        .optional()
                })
                .await
                .map_err(|e| e.to_string())?
        };
        let Some((owed, xml)) = owed
            .filter(|o| o.state == AnswerState::Pending.as_str())
            .and_then(|o| o.xml.clone().map(|x| (o, x)))
        else {
            return Ok(());
        };
        let first = owed.first;
        let v = jc.vendor(&instance).map_err(|e| e.to_string())?;
        let url = jc.inner.platform.url.clone();
        let exchange = Exchange {
            label: Label::request(self.op),
            transaktion_id: Some(tid.clone()),
            call_uuid: None,
            peer: Some(url.clone()),
            municipality: Some(owed.municipality),
            cpr: Some(owed.cpr),
        };
        let attempt = format!("attempt {}", item.attempts.saturating_add(1));
        let sent_at = jc.inner.clock.now();
        let reply = v
            .client
            .call(&url, &self.op.soap_action(), xml.clone())
            .await;
        let heard = Heard::of(reply);
        self.record(jc, &exchange, &instance, &attempt, sent_at, &heard, xml)
            .await
            .map_err(|e| e.to_string())?;
        tracing::info!(tid = %tid, %instance, operation = %self.op, %attempt,
            outcome = %heard.outcome, "sent a business answer");
        if heard.accepted()
            && first
            && self.may_go_twice
            && jc.inner.vendor_faults.acknowledge_twice(&instance, &tid)
        {
            self.send_twice(jc, tid, instance)
                .await
                .map_err(|e| e.to_string())?;
        }
        if heard.accepted() || heard.kode == Some(sim_wire::TransportValideringsKode::Fejl) {
            Ok(())
        } else {
            Err(heard
                .fault
                .or(heard.detail)
                .unwrap_or_else(|| heard.outcome.to_string()))
        }
    }

    /// The answer the platform has just taken for the first time goes once more, due now, the
    /// identical document (an injected `event_ack_twice`): queued as after a repeated
    /// delivery of what it answers.
    async fn send_twice(
        &self,
        jc: &Jobcenter,
        tid: String,
        instance: String,
    ) -> Result<(), sim_store::StoreError> {
        let (this, now) = (*self, jc.inner.clock.now());
        let queued = jc
            .inner
            .db
            .write(move |tx| this.resend_after_repeat(tx, &tid, &instance, now))
            .await?;
        if queued {
            jc.inner.resends.notify();
        }
        Ok(())
    }

    /// The request sending an answer to a message KSD sent with `header`: the same header —
    /// same TransaktionIdentifikator — as sent at `sent_at` (BeskedForsendelsesDatoTid) by the
    /// instance's system (RegistreringITsystem), in the message's security context
    /// (`context`, JC-3), so the platform takes it for the municipality the message came for;
    /// `body` makes the answer's payload of that header.
    pub fn request(
        &self,
        header: &Header,
        context: Cvr,
        system: Uuid,
        sent_at: OffsetDateTime,
        body: impl FnOnce(Header) -> Payload,
    ) -> Request {
        let mut header = header.clone();
        header.besked_forsendelses_dato_tid = DatoTid(sent_at);
        header.registrering_it_system = system;
        Request {
            operation: self.op,
            call_context: None,
            authority_context: Some(AuthorityContext {
                municipality_cvr: context,
            }),
            payload: body(header),
        }
    }

    /// The flow's messages, oldest first, optionally of one instance and about one case:
    /// `limit` of them after skipping `offset`. `row` reads the flow's own `columns` and then
    /// the answer's.
    #[allow(clippy::too_many_arguments)]
    pub async fn list<T: Send + 'static>(
        &self,
        jc: &Jobcenter,
        columns: &str,
        row: fn(&Row<'_>) -> rusqlite::Result<T>,
        instance: Option<String>,
        sag_id: Option<String>,
        offset: u64,
        limit: u32,
    ) -> Result<Vec<T>, JobcenterError> {
        let offset = i64::try_from(offset).unwrap_or(i64::MAX);
        let sql = format!(
            "SELECT {columns}, {ANSWER_COLUMNS} FROM {}
             WHERE (?1 IS NULL OR instance = ?1) AND (?2 IS NULL OR sag_id = ?2)
             ORDER BY received_at, rowid LIMIT ?3 OFFSET ?4",
            self.table
        );
        Ok(jc
            .inner
            .db
            .read(move |c| {
                let mut st = c.prepare_cached(&sql)?;
                let rows = st.query_map(
                    rusqlite::params![instance, sag_id, i64::from(limit), offset],
                    row,
                )?;
                rows.collect()
            })
            .await?)
    }

    /// The flow's messages, their deliveries and its answers by state.
    pub fn counts(&self, c: &rusqlite::Connection) -> rusqlite::Result<Counts> {
        let (received, deliveries) = c.query_row(
            &format!(
                "SELECT COUNT(*), COALESCE(SUM(deliveries), 0) FROM {}",
                self.table
            ),
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let states = [
            AnswerState::Pending,
            AnswerState::Sent,
            AnswerState::Never,
            AnswerState::Refused,
        ];
        Ok(Counts {
            received,
            deliveries,
            answers: count_by(
                c,
                self.table,
                "answer_state",
                states.map(AnswerState::as_str),
            )?,
        })
    }

    /// Journals one attempt (request out at `sent_at`, answer in now) together with the
    /// answer's new state, in one commit.
    #[allow(clippy::too_many_arguments)]
    async fn record(
        &self,
        jc: &Jobcenter,
        exchange: &Exchange,
        instance: &str,
        attempt: &str,
        sent_at: OffsetDateTime,
        heard: &Heard,
        xml: String,
    ) -> Result<(), sim_store::StoreError> {
        let now = jc.inner.clock.now();
        let error = heard.fault.clone().or_else(|| heard.detail.clone());
        let (out, back) = heard.entries(exchange, attempt, sent_at, now, xml, attempt.to_string());
        let sql = format!(
            "UPDATE {} SET answer_attempts = answer_attempts + 1,
                 answer_code = COALESCE(?3, answer_code), answer_error = ?4,
                 answer_state = CASE WHEN answer_state <> 'pending' THEN answer_state
                                     WHEN ?5 THEN 'sent'
                                     WHEN ?3 = 'FEJL' THEN 'refused'
                                     ELSE answer_state END,
                 answer_sent_at = CASE WHEN ?5 THEN ?6 ELSE answer_sent_at END
             WHERE transaktion_id = ?1 AND instance = ?2",
            self.table
        );
        let tid = exchange.transaktion_id.clone().unwrap_or_default();
        let instance = instance.to_string();
        let code = heard.kode.map(|k| k.to_string());
        let accepted = heard.accepted();
        jc.inner
            .db
            .write(move |tx| {
                tx.prepare_cached(&sql)?.execute(rusqlite::params![
                    tid,
                    instance,
                    code,
                    error,
                    accepted,
                    unix_millis(now)
                ])?;
                Journal::record_in(tx, &out)?;
                if let Some(b) = &back {
                    Journal::record_in(tx, b)?;
                }
                Ok(())
            })
            .await
    }
}

/// `t` to the millisecond: answers are stamped as the stores keep times, so the document
/// and its row tell the same instant (as SF2095's updates are stamped).
pub(crate) fn to_millis(t: OffsetDateTime) -> OffsetDateTime {
    t.replace_nanosecond(t.nanosecond() / 1_000_000 * 1_000_000)
        .unwrap_or(t)
}

/// An answer kept but not sent (an injected `unacknowledged_event`): `pending` with its
/// document and no due time, outside the queue, until the message it answers is delivered
/// again outside the fault ([`Answering::resend_after_repeat`]).
pub(crate) fn withheld(xml: String) -> AnswerInfo {
    AnswerInfo {
        due_at: None,
        ..owed(Some((xml, OffsetDateTime::UNIX_EPOCH)))
    }
}

/// A new answer as its row starts: `pending` with its document, due when the flow decided,
/// or `never` without one (the vendor's policy).
pub(crate) fn owed(answer: Option<(String, OffsetDateTime)>) -> AnswerInfo {
    let (xml, due_at) = answer.unzip();
    AnswerInfo {
        state: if xml.is_some() {
            AnswerState::Pending
        } else {
            AnswerState::Never
        },
        due_at,
        attempts: 0,
        transport_code: None,
        last_error: None,
        sent_at: None,
        xml,
    }
}

/// The checks of a message KSD sent about a case (`what`, the payload `pick` finds): it must
/// be valid and about a case of the municipality in context (JC-3), or it is answered FEJL
/// with every problem and nothing is stored. Gives the message, the receiving instance's
/// vendor and the time its answer is stamped with ([`to_millis`]).
pub(crate) async fn about_case<'a, T: Clone>(
    i: &'a Inbound,
    what: &str,
    pick: impl Fn(&Payload) -> Option<&T>,
    sag: impl Fn(&T) -> &Sag,
) -> Result<(T, &'a Vendor, OffsetDateTime), Response> {
    let message = i.payload(what, pick).await?;
    if let Err(p) = i.case_in_context(sag(&message), &format!("{what}/Sag/Myndighed")) {
        return Err(i.reject(&[p]).await);
    }
    let r = &i.receiver;
    let v =
        r.jc.vendor(&r.instance)
            .map_err(|e| r.unavailable(&e.to_string()))?;
    Ok((message, v, to_millis(r.jc.inner.clock.now())))
}

/// Keeps a checked message (TransaktionIdentifikator `tid`, about person `cpr`, received at
/// `at`) with the answer it is owed: `store` writes its row and queues the answer, and tells
/// the request's journal detail, in the commit that journals the call ([`Inbound::keep`]);
/// only then is it answered TransportKvittering OK, and `log` told what was stored. The
/// resender is woken when an answer went into the queue. `what` names the message in a
/// failure ("event").
pub(crate) async fn keep<K: Send + 'static>(
    i: &Inbound,
    at: OffsetDateTime,
    (tid, cpr): (String, String),
    what: &str,
    store: impl FnOnce(&Transaction<'_>) -> rusqlite::Result<(Stored<K>, String)> + Send + 'static,
    log: impl FnOnce(&Stored<K>),
) -> Response {
    i.keep(at, (tid, cpr), what, store, |stored: Stored<K>| {
        log(&stored);
        if stored.queued {
            i.receiver.jc.inner.resends.notify();
        }
    })
    .await
}

/// The document of an answer the vendor built. An answer that breaks the contract's rules
/// is a bug of the simulated vendor's: logged, and still sent, so the platform, KSD and the
/// journal show it.
pub(crate) fn document(answer: &Request) -> String {
    let own = sim_wire::validate(&Message::Request(answer.clone()));
    if own.iter().any(Problem::is_error) {
        tracing::error!(?own, operation = %answer.operation,
            "the jobcenter's own business answer breaks the contract");
    }
    sim_wire::write_request(answer)
}

/// The answer columns of a row, [`ANSWER_COLUMNS`] starting at column `at`.
pub(crate) fn info(r: &Row<'_>, at: usize) -> rusqlite::Result<AnswerInfo> {
    let time = |i: usize| -> rusqlite::Result<Option<OffsetDateTime>> {
        r.get::<_, Option<i64>>(at + i)?
            .map(from_unix_millis)
            .transpose()
    };
    Ok(AnswerInfo {
        state: parsed(r, at, "answer state", AnswerState::parse)?,
        due_at: time(1)?,
        attempts: r.get(at + 2)?,
        transport_code: r.get(at + 3)?,
        last_error: r.get(at + 4)?,
        sent_at: time(5)?,
        xml: r.get(at + 6)?,
    })
}

/// Column `at` of a row, a stored spelling `parse` reads; one it does not know is an error
/// naming `what`.
pub(crate) fn parsed<T>(
    r: &Row<'_>,
    at: usize,
    what: &str,
    parse: impl FnOnce(&str) -> Option<T>,
) -> rusqlite::Result<T> {
    let stored: String = r.get(at)?;
    parse(&stored).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            at,
            rusqlite::types::Type::Text,
            format!("unknown {what} {stored:?}").into(),
        )
    })
}

/// A flow table's rows by the value of `column` (every value of `all` present, 0 when none).
pub(crate) fn count_by<const N: usize>(
    c: &rusqlite::Connection,
    table: &str,
    column: &str,
    all: [&str; N],
) -> rusqlite::Result<BTreeMap<String, i64>> {
    let mut by: BTreeMap<String, i64> = all.iter().map(|v| (v.to_string(), 0)).collect();
    let mut st = c.prepare_cached(&format!(
        "SELECT {column}, COUNT(*) FROM {table} GROUP BY {column}"
    ))?;
    for row in st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))? {
        let (v, n) = row?;
        by.insert(v, n);
    }
    Ok(by)
}
