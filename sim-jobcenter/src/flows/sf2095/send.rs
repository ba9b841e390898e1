//! SF2095's first leg: sending an update to the platform (JC-1). Persist first, then send
//! the same document until a TransportKvittering arrives or the attempts run out.
//!
//! A transport error (platform down, timeout) or a SOAP fault (platform in a service
//! window, KSD unreachable, SP-4) says nothing about the message itself, so the identical
//! document — same TransaktionIdentifikator, which KSD deduplicates (KSD-7) — is sent again
//! after a backoff. The first TransportKvittering ends the send: OK/ADVARSEL accepted, FEJL
//! rejected (see `flows::sf2095` on why FEJL is not resent).

use sim_kit::client::ClientError;
use sim_kit::soap::SoapReply;
use sim_store::{Direction, Exchange, Journal, Label, Outcome, Part};
use sim_wire::{Operation, TransportValideringsKode};

use super::generate;
use super::store::{self, Attempted, NewUpdate};
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

/// What one attempt heard back.
struct Heard {
    /// The journal's outcome of the attempt.
    outcome: Outcome,
    /// The answer's body, when one arrived.
    answer: Option<String>,
    /// The fault or transport error, when no TransportKvittering arrived.
    fault: Option<String>,
    /// The TransportKvittering's code: what ends the sending.
    kode: Option<TransportValideringsKode>,
    /// The TransportKvittering's FejlListe, when it has entries.
    detail: Option<String>,
}

impl Heard {
    fn of(reply: Result<SoapReply, ClientError>) -> Heard {
        let r = match reply {
            Err(e) => {
                return Heard {
                    outcome: Outcome::Unreachable,
                    answer: None,
                    fault: Some(format!("transport: {e}")),
                    kode: None,
                    detail: None,
                }
            }
            Ok(r) => r,
        };
        if let Some(k) = r.transport_kvittering() {
            let detail = (!k.fejl_liste.is_empty()).then(|| {
                k.fejl_liste
                    .iter()
                    .map(|f| format!("{}: {}", f.fejl_kode, f.fejl_tekst))
                    .collect::<Vec<_>>()
                    .join("; ")
            });
            return Heard {
                outcome: Outcome::from(k.kode),
                answer: Some(r.body.clone()),
                fault: None,
                kode: Some(k.kode),
                detail,
            };
        }
        let outcome = r.outcome();
        let fault = match r.fault() {
            Some(f) => format!("{outcome}: {}", f.fault_string),
            None => format!("{outcome}: no TransportKvittering"),
        };
        Heard {
            outcome,
            answer: Some(r.body),
            fault: Some(fault),
            kode: None,
            detail: None,
        }
    }

    /// Where the update stands after this attempt; `last`: no attempt follows.
    fn status(&self, last: bool) -> UpdateStatus {
        match self.kode {
            Some(TransportValideringsKode::Ok | TransportValideringsKode::Advarsel) => {
                UpdateStatus::Accepted
            }
            Some(TransportValideringsKode::Fejl) => UpdateStatus::Rejected,
            None if last => UpdateStatus::Undelivered,
            None => UpdateStatus::Sent,
        }
    }
}

impl Jobcenter {
    /// Builds an update from `spec`, persists it (the vendor owns it from here, JC-1), and
    /// sends it to the platform with the instance's own certificate, resending on transport
    /// errors and faults with backoff up to `max_send_attempts` times.
    ///
    /// Errors are about the request (unknown instance, a municipality the instance does not
    /// serve (JC-3), a bad override) or the store; what the platform answered, including
    /// "never answered", is in the [`SendOutcome`].
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
        self.inner
            .db
            .write(move |tx| store::insert_update(tx, &row))
            .await?;
        tracing::info!(tid = %owned.transaktion_id, instance = %owned.instance,
            municipality = %owned.municipality, "update owned; sending");
        self.deliver(owned).await
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
        self.deliver(Owned {
            transaktion_id: u.transaktion_id,
            instance: u.instance,
            municipality: u.municipality,
            cpr: u.cpr,
            xml: u.request_xml,
        })
        .await
    }

    /// Resends, in the background, every update an earlier run left without a
    /// TransportKvittering: the vendor still owns them (JC-1). Looked up before `start`
    /// returns, so updates sent through the new handle are never picked up twice.
    pub(crate) async fn resume_unanswered(&self) -> Result<(), JobcenterError> {
        let left = self.inner.db.read(store::unanswered).await?;
        if left.is_empty() {
            return Ok(());
        }
        tracing::info!(count = left.len(), "resending updates left unanswered");
        let jc = self.clone();
        tokio::spawn(async move {
            for tid in left {
                if let Err(e) = jc.resend(&tid).await {
                    tracing::warn!(%tid, error = %e, "resending a left update failed");
                }
            }
        });
        Ok(())
    }

    /// The attempt loop: the same document until a TransportKvittering or the last attempt,
    /// with backoff (virtual time) between attempts.
    async fn deliver(&self, u: Owned) -> Result<SendOutcome, JobcenterError> {
        let v = self.vendor(&u.instance)?;
        let max = self.inner.max_send_attempts;
        let url = self.inner.platform.url.clone();
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
        let exchange = Exchange {
            label: Label::request(OP),
            transaktion_id: Some(u.transaktion_id.clone()),
            call_uuid: None,
            peer: Some(url.clone()),
            municipality: Some(u.municipality.clone()),
            cpr: Some(u.cpr.clone()),
        };
        for n in 1..=max {
            outcome.attempts = n;
            let sent_at = self.inner.clock.now();
            let reply = v.client.call(&url, &OP.soap_action(), u.xml.clone()).await;
            let heard = Heard::of(reply);
            outcome.status = heard.status(n == max);
            outcome.transport_code = heard.kode.map(|k| k.to_string());
            outcome.fault = heard.fault.clone();
            if heard.answer.is_some() {
                outcome.response_xml = heard.answer.clone();
            }
            let attempt = format!("attempt {n}/{max}");
            self.record_attempt(&exchange, &u, &attempt, sent_at, &heard, outcome.status)
                .await?;
            tracing::info!(tid = %u.transaktion_id, instance = %u.instance, %attempt,
                outcome = %heard.outcome, status = outcome.status.as_str(), "sent update");
            if heard.kode.is_some() {
                break;
            }
            if n < max {
                self.inner.clock.sleep(self.inner.backoff.delay(n)).await;
            }
        }
        Ok(outcome)
    }

    /// Journals one attempt (request out at `sent_at`, answer in now: the platform's response
    /// time as the vendor saw it) together with the update row's new state, in one commit: the
    /// journal never shows an attempt the row does not count.
    async fn record_attempt(
        &self,
        exchange: &Exchange,
        u: &Owned,
        attempt: &str,
        sent_at: time::OffsetDateTime,
        heard: &Heard,
        status: UpdateStatus,
    ) -> Result<(), JobcenterError> {
        let now = self.inner.clock.now();
        let detail = match (&heard.fault, &heard.detail) {
            (Some(f), _) => format!("{attempt}: {f}"),
            (None, Some(d)) => format!("{attempt}: {d}"),
            (None, None) => attempt.to_string(),
        };
        let out = exchange.entry(
            sent_at,
            Direction::Out,
            Part::Request,
            heard.outcome.clone(),
            Some(detail),
            u.xml.clone(),
        );
        let back = heard.answer.as_ref().map(|a| {
            exchange.entry(
                now,
                Direction::In,
                Part::Response,
                heard.outcome.clone(),
                Some(format!("{attempt} → {}", status.as_str())),
                a.clone(),
            )
        });
        let row = Attempted {
            transaktion_id: u.transaktion_id.clone(),
            status,
            transport_code: heard.kode.map(|k| k.to_string()),
            fault: heard.fault.clone(),
            at: now,
            response_xml: heard.answer.clone(),
        };
        self.inner
            .db
            .write(move |tx| {
                store::record_attempt(tx, &row)?;
                Journal::record_in(tx, &out)?;
                if let Some(b) = &back {
                    Journal::record_in(tx, b)?;
                }
                Ok(())
            })
            .await?;
        Ok(())
    }
}
