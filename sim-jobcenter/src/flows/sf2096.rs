//! SF2096 from the jobcenter's side: a case worker looks up KSD's cases synchronously
//! (`HentSag`, `HentSagsListe`) through the platform, in the security context of a
//! municipality the instance serves (JC-3), with the instance's own certificate (SP-6).
//!
//! A look-up changes nothing and owns nothing: it is not stored but in the journal (request
//! out, answer in, dated when each happened, so the platform's response time as the vendor
//! saw it is there), and not resent — a case worker whose look-up failed simply asks again.
//! What came back is returned to the caller (the scenario runner counts it; the checkers read
//! the journals).

use sim_store::{Direction, Exchange, Label, Outcome, Part};
use sim_wire::{
    AuthorityContext, Cvr, HentSag, HentSagsListe, Message, Operation, Payload, Request,
    ResponseBody,
};

use crate::state::Jobcenter;
use crate::JobcenterError;

/// What to look up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup {
    /// `HentSag`: one case by SagIdentifikator or NemRefusionIdentifier.
    Sag(HentSag),
    /// `HentSagsListe`: cases by person and/or period.
    Liste(HentSagsListe),
}

impl Lookup {
    /// The operation a vendor calls at the platform.
    pub fn operation(&self) -> Operation {
        match self {
            Lookup::Sag(_) => Operation::HentSag,
            Lookup::Liste(_) => Operation::HentSagsListe,
        }
    }
}

/// What a look-up got back (in JSON as the admin API's `POST /lookups` answers it; `cases` as
/// `[[SagIdentifikator, Myndighed], ...]`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LookupOutcome {
    /// The journal's outcome: OK (cases, or an empty list), FEJL (no such case), a fault,
    /// unreachable.
    pub outcome: Outcome,
    /// Every case in the answer, as (SagIdentifikator, Myndighed).
    pub cases: Vec<(String, String)>,
    /// The municipality the look-up was made for.
    pub municipality: String,
    /// The fault or transport error, when there was no answer to read.
    pub fault: Option<String>,
    /// The FejlKoder of a receipt answer (`KSD-12.UKENDT`: no such case of the caller's).
    pub fejl_koder: Vec<String>,
}

impl LookupOutcome {
    /// Cases in the answer that are not the asking municipality's (KSD-12: must be none).
    pub fn foreign(&self) -> usize {
        self.cases
            .iter()
            .filter(|(_, m)| *m != self.municipality)
            .count()
    }
}

impl Jobcenter {
    /// Looks up `query` as `instance`, for `municipality` (default: the first it serves).
    /// Errors are about the request (unknown instance, a municipality it does not serve);
    /// what the platform answered, faults included, is in the [`LookupOutcome`].
    pub async fn lookup(
        &self,
        instance: &str,
        municipality: Option<Cvr>,
        query: Lookup,
    ) -> Result<LookupOutcome, JobcenterError> {
        let v = self.vendor(instance)?;
        let serves = v
            .municipalities
            .read()
            .map(|m| m.clone())
            .unwrap_or_default();
        let municipality = match municipality {
            Some(m) if serves.contains(&m) => m,
            Some(m) => {
                return Err(JobcenterError::NotServed {
                    instance: instance.to_string(),
                    municipality: m.to_string(),
                })
            }
            None => *serves
                .first()
                .ok_or_else(|| JobcenterError::Config(format!("{instance} serves none")))?,
        };
        let op = query.operation();
        let xml = sim_wire::write_request(&Request {
            operation: op,
            call_context: None,
            authority_context: Some(AuthorityContext {
                municipality_cvr: municipality,
            }),
            payload: match query {
                Lookup::Sag(h) => Payload::HentSag(h),
                Lookup::Liste(h) => Payload::HentSagsListe(h),
            },
        });
        let url = &self.inner.platform.url;
        let exchange = Exchange {
            label: Label::request(op),
            transaktion_id: None,
            call_uuid: None,
            peer: Some(url.clone()),
            municipality: Some(municipality.to_string()),
            cpr: match query {
                Lookup::Liste(HentSagsListe {
                    sygemeldte_part: Some(p),
                    ..
                }) => Some(p.to_string()),
                _ => None,
            },
        };
        let sent_at = self.inner.clock.now();
        let reply = v.client.call(url, &op.soap_action(), xml.clone()).await;
        let now = self.inner.clock.now();
        let mut out = LookupOutcome {
            outcome: Outcome::Unreachable,
            cases: Vec::new(),
            municipality: municipality.to_string(),
            fault: None,
            fejl_koder: Vec::new(),
        };
        let mut rows = Vec::with_capacity(2);
        match reply {
            Err(e) => {
                out.fault = Some(format!("transport: {e}"));
                rows.push(exchange.entry(
                    sent_at,
                    Direction::Out,
                    Part::Request,
                    Outcome::Unreachable,
                    out.fault.clone(),
                    xml,
                ));
            }
            Ok(r) => {
                out.outcome = r.outcome();
                if let Some(f) = r.fault() {
                    out.fault = Some(format!("{}: {}", out.outcome, f.fault_string));
                }
                if let Ok(Some(Message::Response(resp))) = r.decoded.as_ref().map(|d| &d.message) {
                    let cases = match &resp.body {
                        ResponseBody::Sag(s) => vec![s.as_ref()],
                        ResponseBody::SagsListe(l) => l.iter().collect(),
                        ResponseBody::TransportKvittering(k) => {
                            out.fejl_koder =
                                k.fejl_liste.iter().map(|f| f.fejl_kode.clone()).collect();
                            Vec::new()
                        }
                    };
                    out.cases = cases
                        .into_iter()
                        .map(|s| (s.sag_identifikator.to_string(), s.myndighed.to_string()))
                        .collect();
                }
                let detail = Some(format!("{} case(s) in the answer", out.cases.len()));
                rows.push(exchange.entry(
                    sent_at,
                    Direction::Out,
                    Part::Request,
                    out.outcome.clone(),
                    out.fault.clone(),
                    xml,
                ));
                rows.push(exchange.entry(
                    now,
                    Direction::In,
                    Part::Response,
                    out.outcome.clone(),
                    detail,
                    r.body,
                ));
            }
        }
        self.inner.journal.record_all(rows).await;
        if out.foreign() > 0 {
            tracing::error!(%instance, %municipality, cases = ?out.cases,
                "a look-up answer holds another municipality's case (KSD-12)");
        }
        Ok(out)
    }
}
