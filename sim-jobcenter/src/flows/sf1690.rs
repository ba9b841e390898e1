//! SF1690 from the jobcenter's side: a case worker's cash-benefit case information sent to KY
//! (Kommunernes Ydelsessystem) through the platform's KY exposure
//! (`/service/KY/Kontanthjaelp/2`, wire.md §5), in the security context of a municipality the
//! instance serves (JC-3), with the instance's own certificate (SP-6).
//!
//! **Owned until a TransportKvittering (JC-1, KY-1).** Unlike a look-up, a KY message changes
//! KY's state, and KY answers it synchronously with a receipt; a fault or a lost connection
//! says nothing about whether KY has it. So a KY message is kept like an SF2095 update: stored
//! (`jc_ky_messages`) and put in the vendor's one durable queue (`sim_store::Outbox`, item
//! meta [`QUEUE`]) in one commit before the first attempt, sent a few times while the sender
//! waits ([`KY_QUICK_ATTEMPTS`]), then resent by the background resender with jittered backoff, across restarts,
//! never given up, until a TransportKvittering arrives. The identical document goes each time
//! — same TransaktionIdentifikator and bytes — so KY answers a repeat with its stored answer
//! (KY-10) and a message that arrived before its answer was lost is processed once.
//!
//! OK and ADVARSEL make the message `accepted`; FEJL (KY's refusal naming `KY-n.CODE`, passed
//! through by the platform, SP-13) makes it `refused` and ends the sending: the same bytes would
//! be refused again, and a case worker corrects and sends a new message (as an update's FEJL,
//! `flows::sf2095`). Every attempt is journaled (`KY/<Operation>`: request out, answer in,
//! dated when each happened) in the commit that records it.
//!
//! The queue item carries no copy of the document: the resender reads it from the table.

use std::time::Duration;

use rusqlite::{OptionalExtension, Transaction};
use sim_kit::client::ClientError;
use sim_kit::soap::SoapReply;
use sim_store::{
    unix_millis, Exchange, Journal, Label, NewOutboxItem, Outbox, OutboxItem, Outcome, Part,
};
use sim_wire::ky::{self, Handling, KyMessage, KyOperation, KyRequest};
use sim_wire::{AuthorityContext, Cvr, DatoTid, TransportValideringsKode};
use time::OffsetDateTime;

use crate::config::Config;
use crate::model::UpdateStatus;
use crate::state::Jobcenter;
use crate::JobcenterError;

/// `jc_ky_messages`: every KY message a vendor sent, owned until its TransportKvittering
/// (JC-1), with the receipt's code and FejlKoder once it came.
pub(crate) const MIGRATION: &str = "
CREATE TABLE IF NOT EXISTS jc_ky_messages (
    transaktion_id    TEXT PRIMARY KEY,
    instance          TEXT NOT NULL,
    municipality      TEXT NOT NULL,
    cpr               TEXT NOT NULL,
    operation         TEXT NOT NULL,
    handling          TEXT NOT NULL,
    kontaktforloeb_id TEXT NOT NULL,
    status            TEXT NOT NULL,
    attempts          INTEGER NOT NULL DEFAULT 0,
    transport_code    TEXT,
    fejl_koder        TEXT,
    fault             TEXT,
    created_at        INTEGER NOT NULL,
    settled_at        INTEGER,
    request_xml       TEXT NOT NULL,
    response_xml      TEXT
);
CREATE INDEX IF NOT EXISTS jc_ky_messages_status ON jc_ky_messages (status);
";

/// The resender's queue items of KY messages (their `meta`); keys are `ky:<tid>`, so SF2095's
/// queue operations, which go by a bare TransaktionIdentifikator, never touch them.
pub(crate) const QUEUE: &str = "ky";

/// Attempts made while the sender waits (100 and 200 ms apart) before the background
/// resender owns the message. Few, unlike an update's `max_send_attempts`: a KY call is a case
/// worker's synchronous step, and the queue item is due right after them, so a crash of the
/// vendor (which ends the quick attempts) leaves the message with the resender, due soon.
pub(crate) const KY_QUICK_ATTEMPTS: u32 = 3;

/// The platform's KY exposure for `config`: `ky_platform`, or the KSD exposure's host with
/// KY's path (one platform serves every exposure).
pub(crate) fn ky_url(config: &Config) -> String {
    if let Some(e) = &config.ky_platform {
        return e.url.clone();
    }
    let url = &config.platform.url;
    let origin_end = url
        .find("://")
        .and_then(|s| url[s + 3..].find('/').map(|p| s + 3 + p))
        .unwrap_or(url.len());
    format!("{}{}", &url[..origin_end], ky::PLATFORM_PATH)
}

/// Where a KY message stands (in JSON by [`KyStatus::as_str`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KyStatus {
    /// No TransportKvittering yet: the vendor owns it and resends it (JC-1).
    Pending,
    /// KY answered OK or ADVARSEL.
    Accepted,
    /// KY answered FEJL (not processed); not resent.
    Refused,
}

impl KyStatus {
    /// The stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            KyStatus::Pending => "pending",
            KyStatus::Accepted => "accepted",
            KyStatus::Refused => "refused",
        }
    }

    fn parse(s: &str) -> KyStatus {
        match s {
            "accepted" => KyStatus::Accepted,
            "refused" => KyStatus::Refused,
            _ => KyStatus::Pending,
        }
    }
}

/// What became of a KY message so far (in JSON as the admin API's `POST /ky` answers it).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct KyOutcome {
    /// Its TransaktionIdentifikator (lower case).
    pub transaktion_id: String,
    /// The instance that sent it.
    pub instance: String,
    /// The municipality it was sent for (security context and Myndighed).
    pub municipality: String,
    /// The operation.
    pub operation: KyOperation,
    /// Its sub-action.
    pub handling: Handling,
    /// Pending, accepted or refused.
    pub status: KyStatus,
    /// The TransportKvittering's code, once one came.
    pub transport_code: Option<String>,
    /// A FEJL's FejlKoder (`KY-6.UKENDT` ...): the rules KY found broken.
    pub fejl_koder: Vec<String>,
    /// The last fault or transport error, while no receipt came.
    pub fault: Option<String>,
    /// Attempts made so far.
    pub attempts: u32,
    /// KY's answer, once one came.
    pub response_xml: Option<String>,
}

/// What one attempt heard back: KY's receipt, or why there was none.
struct Heard {
    outcome: Outcome,
    answer: Option<String>,
    fault: Option<String>,
    kode: Option<TransportValideringsKode>,
    fejl_koder: Vec<String>,
}

impl Heard {
    /// Reads a reply with `sim_wire::ky` (a KY receipt is no Sygefravaer response).
    fn of(reply: Result<SoapReply, ClientError>) -> Heard {
        let r = match reply {
            Err(e) => {
                return Heard {
                    outcome: Outcome::Unreachable,
                    answer: None,
                    fault: Some(format!("transport: {e}")),
                    kode: None,
                    fejl_koder: Vec::new(),
                }
            }
            Ok(r) => r,
        };
        let (outcome, kode, fejl_koder, fault) = match ky::read(r.body.as_bytes(), None) {
            Ok(d) => match d.message {
                Some(KyMessage::Response(resp)) => {
                    let k = resp.kvittering;
                    let codes = k.fejl_liste.iter().map(|f| f.fejl_kode.clone()).collect();
                    (Outcome::from(&k), Some(k.kode), codes, None)
                }
                Some(KyMessage::Fault(f)) => {
                    let o = f
                        .rule()
                        .map_or_else(|| Outcome::Fault(f.fault_code.clone()), Outcome::fault);
                    let text = format!("{o}: {}", f.fault_string);
                    (o, None, Vec::new(), Some(text))
                }
                _ => (
                    Outcome::Http(r.status),
                    None,
                    Vec::new(),
                    Some(format!("HTTP {}: no TransportKvittering", r.status)),
                ),
            },
            Err(e) => (
                Outcome::Unreadable(e.kind().to_string()),
                None,
                Vec::new(),
                Some(format!("unreadable answer: {e}")),
            ),
        };
        Heard {
            outcome,
            answer: Some(r.body),
            fault,
            kode,
            fejl_koder,
        }
    }

    fn status(&self) -> KyStatus {
        match self.kode {
            Some(TransportValideringsKode::Fejl) => KyStatus::Refused,
            Some(_) => KyStatus::Accepted,
            None => KyStatus::Pending,
        }
    }
}

/// What an attempt needs of a stored message.
struct Owned {
    tid: String,
    instance: String,
    municipality: String,
    cpr: String,
    op: KyOperation,
    xml: String,
}

fn queue_key(tid: &str) -> String {
    format!("{QUEUE}:{tid}")
}

const COLUMNS: &str = "transaktion_id, instance, municipality, operation, handling, status,
    transport_code, fejl_koder, fault, attempts, response_xml, cpr, request_xml";

fn outcome_of(r: &rusqlite::Row<'_>) -> rusqlite::Result<(KyOutcome, String, String)> {
    let op: String = r.get(3)?;
    let handling: String = r.get(4)?;
    let status: String = r.get(5)?;
    let fejl: Option<String> = r.get(7)?;
    Ok((
        KyOutcome {
            transaktion_id: r.get(0)?,
            instance: r.get(1)?,
            municipality: r.get(2)?,
            operation: KyOperation::from_name(&op).unwrap_or(KyOperation::Kontaktforloeb),
            handling: handling.parse().unwrap_or(Handling::Opret),
            status: KyStatus::parse(&status),
            transport_code: r.get(6)?,
            fejl_koder: fejl
                .map(|f| f.split_whitespace().map(str::to_string).collect())
                .unwrap_or_default(),
            fault: r.get(8)?,
            attempts: r.get(9)?,
            response_xml: r.get(10)?,
        },
        r.get(11)?,
        r.get(12)?,
    ))
}

impl Jobcenter {
    /// Sends a KY message as `instance`, for `municipality` (default: the request's
    /// AuthorityContext, else its header's Myndighed), which the instance must serve (JC-3).
    /// The vendor fills in what is its own — RegistreringITsystem (its system),
    /// BeskedForsendelsesDatoTid (now) and the security context — then stores the message and
    /// queues it in one commit (it owns it from here, JC-1) and sends it to the platform's KY
    /// exposure, resending on faults and transport errors with quick backoff up to
    /// `max_send_attempts` times; still without a TransportKvittering, the outcome says
    /// `pending` and the background resender goes on until one arrives
    /// ([`Jobcenter::wait_for_ky`] waits for it).
    ///
    /// A TransaktionIdentifikator sent before is not a new message: its stored outcome is
    /// returned (and, while pending, the stored document sent again), so a caller that lost
    /// the answer (a crash) may simply call again.
    pub async fn send_ky(
        &self,
        instance: &str,
        municipality: Option<Cvr>,
        mut request: KyRequest,
    ) -> Result<KyOutcome, JobcenterError> {
        let v = self.vendor(instance)?;
        let m = municipality
            .or(request.authority_context.map(|a| a.municipality_cvr))
            .unwrap_or(request.payload.header.myndighed);
        if !v.serves(&m) {
            return Err(JobcenterError::NotServed {
                instance: instance.to_string(),
                municipality: m.to_string(),
            });
        }
        let tid = request
            .payload
            .header
            .transaktion_identifikator
            .to_string()
            .to_lowercase();
        if let Some((stored, cpr, xml)) = self.ky_row(&tid).await? {
            if stored.status != KyStatus::Pending {
                return Ok(stored);
            }
            let owned = Owned {
                tid,
                instance: stored.instance,
                municipality: stored.municipality,
                cpr,
                op: stored.operation,
                xml,
            };
            return self.ky_detached(owned).await;
        }
        let now = self.inner.clock.now();
        request.authority_context = Some(AuthorityContext {
            municipality_cvr: m,
        });
        request.payload.header.registrering_it_system = v.system_uuid;
        request.payload.header.besked_forsendelses_dato_tid = DatoTid(now);
        let op = request.operation();
        let owned = Owned {
            tid: tid.clone(),
            instance: instance.to_string(),
            municipality: m.to_string(),
            cpr: request.payload.header.person_cpr.to_string(),
            op,
            xml: ky::write_request(&request),
        };
        // First due once the quick attempts are over: the resender takes what they left, and
        // after a crash (which ends them) what the store holds, soon.
        // (Their calls' timeouts are waited out too, and the resender leaves a message alone
        // while they run; were both to send, KY answers the second with the first's stored
        // answer, KY-10.)
        let quick: Duration = (1..self.ky_quick_attempts())
            .map(|n| self.inner.backoff.delay(n))
            .sum::<Duration>()
            + self.inner.call_timeout * self.ky_quick_attempts();
        let due = now + quick + self.inner.resend_backoff.delay_for(1, &tid);
        let row = (
            owned.tid.clone(),
            owned.instance.clone(),
            owned.municipality.clone(),
            owned.cpr.clone(),
            op.name().to_string(),
            request.payload.handling.as_str().to_string(),
            request.payload.kontaktforloeb_id.to_string(),
            owned.xml.clone(),
        );
        self.inner
            .db
            .write(move |tx| insert(tx, &row, now, due))
            .await?;
        self.inner.resends.notify();
        tracing::debug!(%tid, %instance, operation = %op, "KY message owned; sending");
        self.ky_detached(owned).await
    }

    /// The quick attempts in a task of their own, so a caller that stops waiting does not
    /// stop them half-way (the queue holds the message anyway).
    async fn ky_detached(&self, owned: Owned) -> Result<KyOutcome, JobcenterError> {
        let jc = self.clone();
        tokio::spawn(async move { jc.ky_quick(owned).await })
            .await
            .map_err(|e| JobcenterError::Task(e.to_string()))?
    }

    /// How many attempts the sender waits for: [`KY_QUICK_ATTEMPTS`], fewer when the
    /// configuration allows fewer quick attempts for anything.
    fn ky_quick_attempts(&self) -> u32 {
        self.inner.max_send_attempts.clamp(1, KY_QUICK_ATTEMPTS)
    }

    async fn ky_quick(&self, owned: Owned) -> Result<KyOutcome, JobcenterError> {
        let max = self.ky_quick_attempts();
        let _in_flight = InFlight::mark(self, &owned.tid);
        for n in 1..=max {
            let heard = self
                .ky_attempt(&owned, &format!("attempt {n}/{max}"))
                .await?;
            if heard.kode.is_some() {
                break;
            }
            if n < max {
                self.inner.clock.sleep(self.inner.backoff.delay(n)).await;
            }
        }
        self.ky_row(&owned.tid)
            .await?
            .map(|(o, _, _)| o)
            .ok_or_else(|| JobcenterError::Task(format!("KY message {} vanished", owned.tid)))
    }

    /// One attempt: the stored document to the platform's KY exposure with the instance's
    /// certificate, journaled with the message's new state (and, once a receipt came, its
    /// removal from the queue) in one commit.
    async fn ky_attempt(&self, u: &Owned, attempt: &str) -> Result<Heard, JobcenterError> {
        let v = self.vendor(&u.instance)?;
        let url = self.inner.ky_platform.clone();
        let exchange = Exchange {
            label: Label::ky(u.op, Part::Request),
            transaktion_id: Some(u.tid.clone()),
            call_uuid: None,
            peer: Some(url.clone()),
            municipality: Some(u.municipality.clone()),
            cpr: Some(u.cpr.clone()),
        };
        let sent_at = self.inner.clock.now();
        let reply = v
            .client
            .call(&url, &u.op.soap_action(), u.xml.clone())
            .await;
        let heard = Heard::of(reply);
        let now = self.inner.clock.now();
        let status = heard.status();
        let detail = match (&heard.fault, heard.fejl_koder.is_empty()) {
            (Some(f), _) => format!("{attempt}: {f}"),
            (None, false) => format!("{attempt}: {}", heard.fejl_koder.join(" ")),
            (None, true) => attempt.to_string(),
        };
        let out = exchange.entry(
            sent_at,
            sim_store::Direction::Out,
            Part::Request,
            heard.outcome.clone(),
            Some(detail),
            u.xml.clone(),
        );
        let back = heard.answer.as_ref().map(|a| {
            exchange.entry(
                now,
                sim_store::Direction::In,
                Part::Response,
                heard.outcome.clone(),
                Some(format!("{attempt} → {}", status.as_str())),
                a.clone(),
            )
        });
        let tid = u.tid.clone();
        let (code, fejl, fault, answer) = (
            heard.kode.map(|k| k.to_string()),
            (!heard.fejl_koder.is_empty()).then(|| heard.fejl_koder.join(" ")),
            heard.fault.clone(),
            heard.answer.clone(),
        );
        self.inner
            .db
            .write(move |tx| {
                Journal::record_in(tx, &out)?;
                if let Some(b) = &back {
                    Journal::record_in(tx, b)?;
                }
                tx.prepare_cached(
                    "UPDATE jc_ky_messages SET attempts = attempts + 1, fault = ?2
                     WHERE transaktion_id = ?1",
                )?
                .execute(rusqlite::params![tid, fault])?;
                if status != KyStatus::Pending {
                    tx.prepare_cached(
                        "UPDATE jc_ky_messages SET status = ?2, transport_code = ?3,
                             fejl_koder = ?4, response_xml = ?5, settled_at = ?6, fault = NULL
                         WHERE transaktion_id = ?1 AND status = 'pending'",
                    )?
                    .execute(rusqlite::params![
                        tid,
                        status.as_str(),
                        code,
                        fejl,
                        answer,
                        unix_millis(now)
                    ])?;
                    Outbox::remove_key_in(tx, &queue_key(&tid))?;
                }
                Ok(())
            })
            .await?;
        if status != KyStatus::Pending {
            self.tell_transport(
                &queue_key(&u.tid),
                if status == KyStatus::Accepted {
                    UpdateStatus::Accepted
                } else {
                    UpdateStatus::Rejected
                },
            );
        }
        if status == KyStatus::Refused {
            // JC-1: the vendor's ownership ends with a FEJL; a case worker would correct it and
            // send a new message. Said loudly: the simulated vendors send only consistent
            // conversations, so KY refusing one is a finding (checker `ky-receipts`).
            tracing::warn!(tid = %u.tid, instance = %u.instance, operation = %u.op,
                fejl = %heard.fejl_koder.join(" "), "KY refused a message: not resent");
        }
        Ok(heard)
    }

    /// One background resend (the resender's `deliver` for [`QUEUE`] items): the stored
    /// document once more unless a receipt came meanwhile. `Ok` when one has (the queue
    /// forgets the item), the fault otherwise (due again after the jittered backoff).
    pub(crate) async fn deliver_ky(&self, item: OutboxItem) -> Result<(), String> {
        let tid = item
            .key
            .strip_prefix(&format!("{QUEUE}:"))
            .unwrap_or(&item.key)
            .to_string();
        if InFlight::is(self, &tid) {
            return Err("its sender's quick attempts are still running".into());
        }
        let row = self.ky_row(&tid).await.map_err(|e| e.to_string())?;
        let Some((stored, cpr, xml)) = row.filter(|r| r.0.status == KyStatus::Pending) else {
            return Ok(());
        };
        let owned = Owned {
            tid,
            instance: stored.instance,
            municipality: stored.municipality,
            cpr,
            op: stored.operation,
            xml,
        };
        let attempt = format!("background resend {}", item.attempts.saturating_add(1));
        let heard = self
            .ky_attempt(&owned, &attempt)
            .await
            .map_err(|e| e.to_string())?;
        match heard.kode {
            Some(_) => Ok(()),
            None => Err(heard.fault.unwrap_or_else(|| heard.outcome.to_string())),
        }
    }

    /// The KY message `transaktion_id` as it stands; `None` when this vendor sent none.
    pub async fn ky_message(
        &self,
        transaktion_id: &str,
    ) -> Result<Option<KyOutcome>, JobcenterError> {
        Ok(self
            .ky_row(&transaktion_id.to_lowercase())
            .await?
            .map(|(o, _, _)| o))
    }

    /// Waits (real time, at most `timeout`) until the KY message has its TransportKvittering
    /// and returns it as it then stands (still `pending` when `timeout` passed first); `None`
    /// for a message this vendor does not know. Told by the attempt that got it, after its
    /// commit: nothing is polled.
    pub async fn wait_for_ky(
        &self,
        transaktion_id: &str,
        timeout: Duration,
    ) -> Result<Option<KyOutcome>, JobcenterError> {
        let tid = transaktion_id.to_lowercase();
        let key = queue_key(&tid);
        // Registered *before* the look-up: a receipt recorded after it is still told.
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.inner
            .transport_waiters
            .lock()
            .map_err(|_| JobcenterError::Task("waiters lock poisoned".into()))?
            .entry(key.clone())
            .or_default()
            .push(tx);
        let now = self.ky_message(&tid).await?;
        if !matches!(&now, Some(o) if o.status == KyStatus::Pending) {
            self.forget_waiters(&key);
            return Ok(now);
        }
        let _ = tokio::time::timeout(timeout, rx).await;
        self.forget_waiters(&key);
        self.ky_message(&tid).await
    }

    async fn ky_row(
        &self,
        tid: &str,
    ) -> Result<Option<(KyOutcome, String, String)>, JobcenterError> {
        let tid = tid.to_string();
        Ok(self
            .inner
            .db
            .read(move |c| {
                c.prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM jc_ky_messages WHERE transaktion_id = ?1"
                ))?
                .query_row([&tid], outcome_of)
                .optional()
            })
            .await?)
    }
}

/// A message's quick attempts are running while this lives (the resender then waits).
struct InFlight {
    jc: Jobcenter,
    tid: String,
}

impl InFlight {
    fn mark(jc: &Jobcenter, tid: &str) -> InFlight {
        if let Ok(mut set) = jc.inner.ky_in_flight.lock() {
            set.insert(tid.to_string());
        }
        InFlight {
            jc: jc.clone(),
            tid: tid.to_string(),
        }
    }

    fn is(jc: &Jobcenter, tid: &str) -> bool {
        jc.inner
            .ky_in_flight
            .lock()
            .map(|s| s.contains(tid))
            .unwrap_or(false)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if let Ok(mut set) = self.jc.inner.ky_in_flight.lock() {
            set.remove(&self.tid);
        }
    }
}

/// Stores a new message and queues it, in one commit.
fn insert(
    tx: &Transaction<'_>,
    r: &(
        String,
        String,
        String,
        String,
        String,
        String,
        String,
        String,
    ),
    now: OffsetDateTime,
    due: OffsetDateTime,
) -> rusqlite::Result<()> {
    let inserted = tx
        .prepare_cached(
            "INSERT OR IGNORE INTO jc_ky_messages (transaktion_id, instance, municipality, cpr,
                 operation, handling, kontaktforloeb_id, status, created_at, request_xml)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'pending', ?8, ?9)",
        )?
        .execute(rusqlite::params![
            r.0,
            r.1,
            r.2,
            r.3,
            r.4,
            r.5,
            r.6,
            unix_millis(now),
            r.7
        ])?;
    if inserted == 1 {
        let item = NewOutboxItem {
            target: r.1.clone(),
            key: queue_key(&r.0),
            payload: String::new(),
            meta: QUEUE.to_string(),
        };
        Outbox::enqueue_in_at(tx, &item, now, due)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use sim_wire::ky::examples;

    fn reply(status: u16, body: String) -> Result<SoapReply, ClientError> {
        let decoded = sim_wire::read(body.as_bytes(), None);
        Ok(SoapReply {
            status,
            body,
            decoded,
        })
    }

    // rules KY-1, JC-1: KY's OK ends the sending as accepted, its FEJL as refused with the
    // rule it names; a fault or no answer leaves the message pending (resent).
    #[test]
    fn a_receipt_ends_the_sending_anything_else_keeps_it_ky1_jc1() {
        let ok = Heard::of(reply(
            200,
            ky::write_response(&examples::response_ok(KyOperation::Fravaer)),
        ));
        assert_eq!(ok.status(), KyStatus::Accepted);
        assert_eq!(ok.outcome, Outcome::Ok);

        let fejl = Heard::of(reply(200, ky::write_response(&examples::response_fejl())));
        assert_eq!(fejl.status(), KyStatus::Refused);
        assert_eq!(fejl.fejl_koder, vec!["KY-6.UKENDT".to_string()]);

        let fault = sim_wire::SoapFault {
            fault_code: "soap:Server".into(),
            fault_string: "SP-4: KY could not be reached".into(),
            fault_actor: None,
            serviceplatform_fault: Some(sim_wire::ServiceplatformFault {
                errors: vec![sim_wire::ServiceplatformError {
                    error_code: "SP-4".into(),
                    error_text: "KY could not be reached".into(),
                }],
            }),
        };
        let f = Heard::of(reply(500, sim_wire::write_fault(&fault)));
        assert_eq!(f.status(), KyStatus::Pending);
        assert_eq!(f.outcome, Outcome::fault(sim_wire::Rule::Sp4));

        let html = Heard::of(reply(502, "<html>bad gateway</html>".into()));
        assert_eq!(html.status(), KyStatus::Pending);
    }

    #[test]
    fn the_ky_exposure_defaults_to_the_platforms_host() {
        let toml = |url: &str| -> Config {
            serde_saphyr::from_str(&format!(
                "state_dir: /tmp/x\nserver: {{cert: a, key: b}}\nclient_trust: []\nserver_trust: []\nplatform: {{url: '{url}'}}\nkombit_system: {{cvr: '19435075'}}\nvendors: []\n"
            ))
            .unwrap()
        };
        assert_eq!(
            ky_url(&toml("https://sp:8443/service/KSD/Sygefravaer/2")),
            "https://sp:8443/service/KY/Kontanthjaelp/2"
        );
        assert_eq!(
            ky_url(&toml("https://sp:8443")),
            "https://sp:8443/service/KY/Kontanthjaelp/2"
        );
    }
}
