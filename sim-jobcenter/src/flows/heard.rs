//! What one call to the platform heard back, whatever the flow that made it: SF2095's
//! updates and the business answers of SF2090 and SF2093 are all answered with a
//! TransportKvittering, and all are sent again on anything else (JC-1).

use sim_kit::client::ClientError;
use sim_kit::soap::SoapReply;
use sim_store::{Direction, Exchange, JournalEntry, Outcome, Part};
use sim_wire::TransportValideringsKode;
use time::OffsetDateTime;

/// What one attempt heard back.
pub(crate) struct Heard {
    /// The journal's outcome of the attempt.
    pub outcome: Outcome,
    /// The answer's body, when one arrived.
    pub answer: Option<String>,
    /// The fault or transport error, when no TransportKvittering arrived.
    pub fault: Option<String>,
    /// The TransportKvittering's code: what ends the sending.
    pub kode: Option<TransportValideringsKode>,
    /// The TransportKvittering's FejlListe, when it has entries.
    pub detail: Option<String>,
}

impl Heard {
    /// Reads a reply (or the transport error instead of one).
    pub fn of(reply: Result<SoapReply, ClientError>) -> Heard {
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
                outcome: Outcome::from(k),
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

    /// The journal rows of the attempt that heard this: the request `xml` out at `sent_at`,
    /// with the attempt and what went wrong as its detail, and the answer in at `now` when
    /// one came, with detail `back`.
    pub fn entries(
        &self,
        exchange: &Exchange,
        attempt: &str,
        sent_at: OffsetDateTime,
        now: OffsetDateTime,
        xml: String,
        back: String,
    ) -> (JournalEntry, Option<JournalEntry>) {
        let detail = match self.fault.as_ref().or(self.detail.as_ref()) {
            Some(e) => format!("{attempt}: {e}"),
            None => attempt.to_string(),
        };
        let out = exchange.entry(
            sent_at,
            Direction::Out,
            Part::Request,
            self.outcome.clone(),
            Some(detail),
            xml,
        );
        let answer = self.answer.as_ref().map(|a| {
            exchange.entry(
                now,
                Direction::In,
                Part::Response,
                self.outcome.clone(),
                Some(back),
                a.clone(),
            )
        });
        (out, answer)
    }

    /// Whether the platform took the message: a TransportKvittering OK or ADVARSEL.
    pub fn accepted(&self) -> bool {
        matches!(
            self.kode,
            Some(TransportValideringsKode::Ok | TransportValideringsKode::Advarsel)
        )
    }
}
