//! SF2095's first leg: sending an update to the platform (JC-1). Persist first, then send
//! the same document until a TransportKvittering arrives: a few quick attempts while the
//! sender waits, then, never giving up, the background resender (a durable queue in the
//! vendor's own store, `sim_store::Outbox`) with jittered backoff, across restarts.
//!
//! A transport error (platform down, timeout) or a SOAP fault (platform in a service
//! window, KSD unreachable, SP-4) says nothing about the message itself, so the identical
//! document — same TransaktionIdentifikator, which KSD deduplicates (KSD-7) — is sent again
//! after a backoff. The first TransportKvittering ends the send: OK/ADVARSEL accepted, FEJL
//! rejected (see `flows::sf2095` on why FEJL is not resent).

use sim_store::{Exchange, Journal, Label, Outbox, OutboxItem};
use sim_wire::{Operation, TransportValideringsKode};
use time::OffsetDateTime;

use super::generate;
use super::store::{self, Attempted, NewUpdate};
use crate::flows::heard::Heard;
use crate::model::{SendOutcome, UpdateSpec, UpdateStatus};
use crate::state::Jobcenter;
use crate::JobcenterError;

/// The operation a vendor calls.
const OP: Operation = Operation::SendOpdateringFravaer;

/// What one update needs to be (re)sent.
struct Owned {
    transaktion_id: String,
    instance: String,
    municipality: String,
    cpr: String,
    xml: String,
}

impl Heard {
    /// Where the update stands after this attempt: without a TransportKvittering it is
    /// still the vendor's, being sent (JC-1). One KSD discarded (KSD-14: code 10) is
    /// `rejected`: not processed, and no business receipt will come for it.
    fn status(&self) -> UpdateStatus {
        if self.outcome == sim_store::Outcome::Discarded {
            return UpdateStatus::Rejected;
        }
        match self.kode {
            Some(TransportValideringsKode::Ok | TransportValideringsKode::Advarsel) => {
                UpdateStatus::Accepted
            }
            Some(TransportValideringsKode::Fejl) => UpdateStatus::Rejected,
            None => UpdateStatus::Sent,
        }
    }
}

/// What an attempt changes about the update's place in the background resender's queue,
/// written in the attempt's own transaction.
#[derive(Debug, Clone, Copy)]
enum Queue {
    /// A TransportKvittering arrived: nothing is left to resend.
    Done,
    /// The sender stops waiting without one: the background resender takes the update over,
    /// first due at this time (unless it already holds it).
    HandOver(OffsetDateTime),
    /// No change (more attempts follow).
    Keep,
}

impl Jobcenter {
    /// Builds an update from `spec`, persists it (the vendor owns it from here, JC-1), and
    /// sends it to the platform with the instance's own certificate, resending on transport
    /// errors and faults with quick backoff up to `max_send_attempts` times. Still without a
    /// TransportKvittering, the outcome says `sent` and the background resender goes on
    /// until one arrives.
    ///
    /// Errors are about the request (unknown instance, a municipality the instance does not
    /// serve (JC-3), a bad override) or the store; what the platform answered, including
    /// "not answered yet", is in the [`SendOutcome`].
    pub async fn send_update(&self, spec: UpdateSpec) -> Result<SendOutcome, JobcenterError> {
        let instance = match (&spec.instance, &spec.municipality) {
            (Some(i), _) => i.clone(),
            (None, Some(m)) => self.instance_serving(m)?,
            (None, None) => self
                .inner
                .order
                .first()
                .cloned()
                .ok_or_else(|| JobcenterError::Config("no vendor instances".into()))?,
        };
        let v = self.vendor(&instance)?;
        let now = self.inner.clock.now();
        let draft = generate::build(v, &spec, now)?;
        let owned = Owned {
            transaktion_id: draft.transaktion_id,
            instance,
            municipality: draft.municipality.to_string(),
            cpr: draft.cpr.to_string(),
            xml: draft.xml,
        };
        let row = NewUpdate {
            transaktion_id: owned.transaktion_id.clone(),
            instance: owned.instance.clone(),
            municipality: owned.municipality.clone(),
            cpr: owned.cpr.clone(),
            xml: owned.xml.clone(),
            created_at: now,
        };
        let stored = self
            .inner
            .db
            .write(move |tx| store::insert_update(tx, &row))
            .await?;
        if !stored {
            return Err(JobcenterError::Spec(format!(
                "TransaktionIdentifikator {} is already taken: an update is made once (resend it with POST /updates/{{tid}}/resend)",
                owned.transaktion_id
            )));
        }
        tracing::info!(tid = %owned.transaktion_id, instance = %owned.instance,
            municipality = %owned.municipality, "update owned; sending");
        // A new update is in no queue until its quick attempts hand it over.
        self.deliver_detached(owned, false).await
    }

    /// [`Jobcenter::deliver`] in a task of its own: a caller that stops waiting (an admin
    /// client that hangs up) does not stop the quick attempts before their hand-over to the
    /// background resender, so no owned update is left outside its queue.
    async fn deliver_detached(
        &self,
        u: Owned,
        queued: bool,
    ) -> Result<SendOutcome, JobcenterError> {
        let jc = self.clone();
        tokio::spawn(async move { jc.deliver(u, queued).await })
            .await
            .map_err(|e| JobcenterError::Task(e.to_string()))?
    }

    /// The first configured instance that serves municipality `m` (JC-3).
    fn instance_serving(&self, m: &str) -> Result<String, JobcenterError> {
        let cvr: sim_wire::Cvr = m
            .parse()
            .map_err(|e| JobcenterError::Spec(format!("municipality: {e}")))?;
        self.inner
            .order
            .iter()
            .find(|name| {
                self.inner
                    .vendors
                    .get(*name)
                    .is_some_and(|v| v.serves(&cvr))
            })
            .cloned()
            .ok_or_else(|| JobcenterError::NotServed {
                instance: "(any)".into(),
                municipality: m.to_string(),
            })
    }

    /// Sends a stored update again, the identical document, as [`Jobcenter::send_update`]
    /// does. An accepted update is not sent again (its outcome is returned as stored).
    pub async fn resend(&self, transaktion_id: &str) -> Result<SendOutcome, JobcenterError> {
        let u = self
            .update(transaktion_id)
            .await?
            .ok_or_else(|| JobcenterError::UnknownUpdate(transaktion_id.to_string()))?;
        if u.status == UpdateStatus::Accepted {
            return Ok(SendOutcome {
                transaktion_id: u.transaktion_id,
                instance: u.instance,
                municipality: u.municipality,
                request_xml: u.request_xml,
                response_xml: u.response_xml,
                transport_code: u.transport_code,
                fault: u.fault,
                attempts: 0,
                status: u.status,
            });
        }
        self.deliver_detached(
            Owned {
                transaktion_id: u.transaktion_id,
                instance: u.instance,
                municipality: u.municipality,
                cpr: u.cpr,
                xml: u.request_xml,
            },
            true,
        )
        .await
    }

    /// One background resend (the resender's `deliver`): the update as stored, once more,
    /// unless a TransportKvittering already came another way. `Ok` when one arrived (the
    /// queue forgets the update), the fault or transport error otherwise (due again after
    /// the jittered backoff).
    pub(crate) async fn resend_in_background(&self, item: OutboxItem) -> Result<(), String> {
        let found = self.update(&item.key).await.map_err(|e| e.to_string())?;
        let Some(u) = found.filter(|u| u.status == UpdateStatus::Sent) else {
            return Ok(());
        };
        let owned = Owned {
            transaktion_id: u.transaktion_id,
            instance: u.instance,
            municipality: u.municipality,
            cpr: u.cpr,
            xml: u.request_xml,
        };
        let attempt = format!("background resend {}", item.attempts + 1);
        let heard = self
            .attempt(&owned, &attempt, |kode| {
                if kode {
                    Queue::Done
                } else {
                    Queue::Keep
                }
            })
            .await
            .map_err(|e| e.to_string())?;
        match heard.kode {
            Some(_) => Ok(()),
            None => Err(heard.fault.unwrap_or_else(|| heard.outcome.to_string())),
        }
    }

    /// The attempt loop while the sender waits: the same document until a
    /// TransportKvittering or the last quick attempt, with backoff (virtual time) between
    /// attempts; then the background resender owns the sending.
    ///
    /// `queued`: the update may already be in the resender's queue (a resend of a stored
    /// update), so a TransportKvittering must take it out; a new update's first quick attempts
    /// skip that delete (one statement less per update on the writer thread).
    async fn deliver(&self, u: Owned, queued: bool) -> Result<SendOutcome, JobcenterError> {
        let max = self.inner.max_send_attempts;
        let mut outcome = SendOutcome {
            transaktion_id: u.transaktion_id.clone(),
            instance: u.instance.clone(),
            municipality: u.municipality.clone(),
            request_xml: u.xml.clone(),
            response_xml: None,
            transport_code: None,
            fault: None,
            attempts: 0,
            status: UpdateStatus::Sent,
        };
        for n in 1..=max {
            outcome.attempts = n;
            let attempt = format!("attempt {n}/{max}");
            let heard = self
                .attempt(&u, &attempt, |kode| match (kode, n == max) {
                    (true, _) if queued => Queue::Done,
                    (true, _) => Queue::Keep,
                    (false, true) => Queue::HandOver(self.first_resend_due(&u.transaktion_id)),
                    (false, false) => Queue::Keep,
                })
                .await?;
            outcome.status = heard.status();
            outcome.transport_code = heard.kode.map(|k| k.to_string());
            outcome.fault = heard.fault.clone();
            if heard.answer.is_some() {
                outcome.response_xml = heard.answer.clone();
            }
            if heard.kode.is_some() {
                break;
            }
            if n < max {
                self.inner.clock.sleep(self.inner.backoff.delay(n)).await;
            }
        }
        Ok(outcome)
    }

    /// When the background resender first sends an update it was handed.
    fn first_resend_due(&self, transaktion_id: &str) -> OffsetDateTime {
        let wait = self.inner.resend_backoff.delay_for(1, transaktion_id);
        self.inner.clock.now() + wait
    }

    /// One attempt: the document to the platform with the instance's certificate, journaled
    /// with the update's new state and `queue(a TransportKvittering arrived)` in one commit.
    async fn attempt(
        &self,
        u: &Owned,
        attempt: &str,
        queue: impl FnOnce(bool) -> Queue,
    ) -> Result<Heard, JobcenterError> {
        let v = self.vendor(&u.instance)?;
        let url = &self.inner.platform.url;
        let exchange = Exchange {
            label: Label::request(OP),
            transaktion_id: Some(u.transaktion_id.clone()),
            call_uuid: None,
            peer: Some(url.clone()),
            municipality: Some(u.municipality.clone()),
            cpr: Some(u.cpr.clone()),
        };
        let sent_at = self.inner.clock.now();
        let reply = v.client.call(url, &OP.soap_action(), u.xml.clone()).await;
        let heard = Heard::of(reply);
        let status = heard.status();
        let queue = queue(heard.kode.is_some());
        self.record_attempt(&exchange, u, attempt, sent_at, &heard, status, queue)
            .await?;
        tracing::info!(tid = %u.transaktion_id, instance = %u.instance, %attempt,
            outcome = %heard.outcome, status = status.as_str(), ?queue, "sent update");
        if status == UpdateStatus::Rejected {
            // The vendor's ownership ends here (JC-1): no case worker fixes it in a simulation,
            // so it is said loudly, kept with its FejlListe (`GET /updates?status=rejected`)
            // and counted as `rejected` in a run's totals.
            tracing::warn!(tid = %u.transaktion_id, instance = %u.instance,
                outcome = %heard.outcome, fejl = heard.detail.as_deref().unwrap_or("-"),
                "update rejected: not resent; a case worker would correct it and send a new one");
        }
        Ok(heard)
    }

    /// Journals one attempt (request out at `sent_at`, answer in now: the platform's response
    /// time as the vendor saw it) together with the update row's new state and its place in
    /// the resender's queue, in one commit: the journal never shows an attempt the row does
    /// not count, and no update without a TransportKvittering is ever out of the queue for
    /// longer than its sender waits.
    #[allow(clippy::too_many_arguments)]
    async fn record_attempt(
        &self,
        exchange: &Exchange,
        u: &Owned,
        attempt: &str,
        sent_at: OffsetDateTime,
        heard: &Heard,
        status: UpdateStatus,
        queue: Queue,
    ) -> Result<(), JobcenterError> {
        let now = self.inner.clock.now();
        let (out, back) = heard.entries(
            exchange,
            attempt,
            sent_at,
            now,
            u.xml.clone(),
            format!("{attempt} → {}", status.as_str()),
        );
        let row = Attempted {
            transaktion_id: u.transaktion_id.clone(),
            status,
            transport_code: heard.kode.map(|k| k.to_string()),
            fault: heard.fault.clone(),
            at: now,
            response_xml: heard.answer.clone(),
        };
        let instance = u.instance.clone();
        self.inner
            .db
            .write(move |tx| {
                store::record_attempt(tx, &row)?;
                Journal::record_in(tx, &out)?;
                if let Some(b) = &back {
                    Journal::record_in(tx, b)?;
                }
                match queue {
                    Queue::Done => {
                        Outbox::remove_key_in(tx, &row.transaktion_id)?;
                    }
                    Queue::HandOver(due) => {
                        store::hand_over(tx, &row.transaktion_id, &instance, now, due)?;
                    }
                    Queue::Keep => {}
                }
                Ok(())
            })
            .await?;
        if matches!(queue, Queue::HandOver(_)) {
            self.inner.resends.notify();
        }
        if status != UpdateStatus::Sent {
            self.tell_transport(&u.transaktion_id, status);
        }
        Ok(())
    }
}
