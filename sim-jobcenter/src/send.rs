//! Sending an update to the platform (JC-1): persist first, then send the same document
//! until a TransportKvittering arrives or the attempts run out.
//!
//! A transport error (platform down, timeout) or a SOAP fault (platform in a service
//! window, KSD unreachable, SP-4) says nothing about the message itself, so the identical
//! document — same TransaktionIdentifikator, which KSD deduplicates (KSD-7) — is sent again
//! after a backoff. The first TransportKvittering ends the send: OK/ADVARSEL accepted, FEJL
//! rejected (see the crate docs on why FEJL is not resent).

use sim_store::{unix_millis, Direction, Journal};
use sim_wire::{Operation, TransportValideringsKode};

use crate::generate;
use crate::model::{SendOutcome, UpdateSpec, UpdateStatus};
use crate::state::Jobcenter;
use crate::JobcenterError;

/// The journal's label of the operation a vendor calls.
const OP: Operation = Operation::SendOpdateringFravaer;

/// What one update needs to be (re)sent.
struct Owned {
    transaktion_id: String,
    instance: String,
    municipality: String,
    cpr: String,
    xml: String,
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
        let row = (
            owned.transaktion_id.clone(),
            owned.instance.clone(),
            owned.municipality.clone(),
            owned.cpr.clone(),
            owned.xml.clone(),
        );
        self.inner
            .db
            .write(move |tx| {
                tx.prepare_cached(
                    "INSERT INTO jc_updates (transaktion_id, instance, municipality, cpr, status,
                         attempts, created_at, request_xml)
                     VALUES (?1, ?2, ?3, ?4, 'sent', 0, ?5, ?6)",
                )?
                .execute(rusqlite::params![
                    row.0,
                    row.1,
                    row.2,
                    row.3,
                    unix_millis(now),
                    row.4
                ])?;
                Ok(())
            })
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
        let left = self
            .inner
            .db
            .read(|c| {
                let mut st = c.prepare(
                    "SELECT transaktion_id FROM jc_updates
                     WHERE status IN ('sent', 'undelivered') ORDER BY created_at",
                )?;
                let rows = st.query_map([], |r| r.get::<_, String>(0))?;
                rows.collect::<rusqlite::Result<Vec<String>>>()
            })
            .await?;
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

    /// The attempt loop. Every attempt is journaled (request out, answer in) together with
    /// the update row's new state, in one commit.
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
        for n in 1..=max {
            outcome.attempts = n;
            let reply = v.client.call(&url, &OP.soap_action(), u.xml.clone()).await;
            let (label, answer, fault, kode, detail) = match reply {
                Err(e) => (
                    "UNREACHABLE".to_string(),
                    None,
                    Some(format!("transport: {e}")),
                    None,
                    None,
                ),
                Ok(r) => match r.transport_kvittering() {
                    Some(k) => {
                        let detail = (!k.fejl_liste.is_empty()).then(|| {
                            k.fejl_liste
                                .iter()
                                .map(|f| format!("{}: {}", f.fejl_kode, f.fejl_tekst))
                                .collect::<Vec<_>>()
                                .join("; ")
                        });
                        (
                            k.kode.to_string(),
                            Some(r.body.clone()),
                            None,
                            Some(k.kode),
                            detail,
                        )
                    }
                    None => {
                        let text = match r.fault() {
                            Some(f) => format!("{}: {}", r.outcome(), f.fault_string),
                            None => format!("{}: no TransportKvittering", r.outcome()),
                        };
                        (r.outcome(), Some(r.body.clone()), Some(text), None, None)
                    }
                },
            };
            outcome.status = match kode {
                Some(TransportValideringsKode::Ok | TransportValideringsKode::Advarsel) => {
                    UpdateStatus::Accepted
                }
                Some(TransportValideringsKode::Fejl) => UpdateStatus::Rejected,
                None if n == max => UpdateStatus::Undelivered,
                None => UpdateStatus::Sent,
            };
            outcome.transport_code = kode.map(|k| k.to_string());
            outcome.fault = fault.clone();
            if answer.is_some() {
                outcome.response_xml = answer.clone();
            }

            let attempt = format!("attempt {n}/{max}");
            let out = self.entry(
                Direction::Out,
                OP.label(),
                Some(u.transaktion_id.clone()),
                None,
                Some(url.clone()),
                Some(u.municipality.clone()),
                Some(u.cpr.clone()),
                label.clone(),
                Some(match (&fault, &detail) {
                    (Some(f), _) => format!("{attempt}: {f}"),
                    (None, Some(d)) => format!("{attempt}: {d}"),
                    (None, None) => attempt.clone(),
                }),
                u.xml.clone(),
            );
            let back = answer.as_ref().map(|a| {
                self.entry(
                    Direction::In,
                    format!("{}#response", OP.label()),
                    Some(u.transaktion_id.clone()),
                    None,
                    Some(url.clone()),
                    Some(u.municipality.clone()),
                    Some(u.cpr.clone()),
                    label.clone(),
                    Some(format!("{attempt} → {}", outcome.status.as_str())),
                    a.clone(),
                )
            });
            let row = (
                u.transaktion_id.clone(),
                outcome.status.as_str(),
                outcome.transport_code.clone(),
                fault,
                unix_millis(self.inner.clock.now()),
                answer,
            );
            self.inner
                .db
                .write(move |tx| {
                    tx.prepare_cached(
                        "UPDATE jc_updates SET status = ?2, attempts = attempts + 1,
                             transport_code = ?3, fault = ?4, last_attempt_at = ?5,
                             response_xml = COALESCE(?6, response_xml)
                         WHERE transaktion_id = ?1",
                    )?
                    .execute(rusqlite::params![row.0, row.1, row.2, row.3, row.4, row.5])?;
                    Journal::record_in(tx, &out)?;
                    if let Some(b) = &back {
                        Journal::record_in(tx, b)?;
                    }
                    Ok(())
                })
                .await?;
            tracing::info!(tid = %u.transaktion_id, instance = %u.instance, %attempt,
                outcome = %label, status = outcome.status.as_str(), "sent update");
            if kode.is_some() {
                break;
            }
            if n < max {
                self.inner.clock.sleep(self.inner.backoff.delay(n)).await;
            }
        }
        Ok(outcome)
    }
}
