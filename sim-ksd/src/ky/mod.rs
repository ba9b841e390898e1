//! The simulated KY (Kommunernes Ydelsessystem) for SF1690: the receiving end of
//! `KontanthjaelpServiceKY` (wire.md §5). It lives in the KSD program, which stands for the
//! municipal benefit systems, as a module of its own: its own receiver port ([`KY_PATH`]), its
//! own tables (`ky_*` in `ksd.sqlite`) and nothing shared with KSD's cases but the store,
//! the journal and the caller check.
//!
//! A call is handled in numbered steps, each naming its rule:
//! 1. read with `sim_wire::ky` (WIRE-1 for an unusable document);
//! 2. only the platform, with KOMBIT's certificate, may call (SP-7);
//! 3. only a request of one of the eight operations (KY-1, WIRE-1);
//! 4. in one write transaction: a TransaktionIdentifikator accepted before is answered with the
//!    stored bytes, or refused if its content differs (KY-10); a message breaking KY-2..KY-5
//!    is refused; KY's state decides the rest (KY-6..KY-9, `decide`); an accepted message's
//!    change, its answer and the journal rows commit together *before* the answer goes out;
//!    a FEJL changes and stores nothing but the journal.
//!
//! # Layout
//! - `decide`: KY-6..KY-9 over what KY holds, pure but for its reads.
//! - `store`: the tables, their queries and the admin view.

mod decide;
mod store;

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::response::Response;
use sim_kit::config::peer_text;
use sim_kit::soap::{ok_response, SoapCall};
use sim_store::{Direction, Journal, JournalEntry, Label, Outcome, Part};
use sim_wire::ky::{self, ky_code, KyDecoded, KyOperation, KyRequest, KyResponse};
use sim_wire::rules::code;
use sim_wire::{
    transport_kvittering_for, DatoTid, Fejl, MessageKind, Problem, Rule, TransportKvittering,
    TransportValideringsKode, WireError,
};

use crate::state::{Ksd, Seen};

pub use store::{CourseView, MIGRATION};

/// KY's receiver port, where the platform forwards the KY exposure's operations
/// (`/service/KY/Kontanthjaelp/2`) under their own names.
pub const KY_PATH: &str = "/ky/Kontanthjaelp/2";

/// Handles one call to KY's receiver port.
pub async fn handle(State(k): State<Arc<Ksd>>, call: SoapCall) -> Response {
    // 1. Read it (WIRE-1): an unusable document is refused with a journaled fault.
    let mut seen = Seen::new(
        k.call_ids.next_uuid(),
        Label::ky_unknown(),
        call.peer.as_ref().map(peer_text),
    );
    let read = match &call.unreadable {
        Some(why) => Err(WireError::UnreadableBody {
            detail: why.clone(),
        }),
        None => ky::read(&call.body, call.soap_action.as_deref()),
    };
    let decoded = match read {
        Ok(d) => d,
        Err(e) => {
            let text = format!("the request is not a usable SOAP 1.1 message: {e}");
            return k.refuse(&seen, call.text(), true, e.rule(), text).await;
        }
    };
    let x = &mut seen.exchange;
    if let Some(op) = decoded.operation {
        x.label = Label::ky(op, Part::Request);
    }
    x.transaktion_id = decoded.transaktion_id.map(|t| t.to_string());
    x.municipality = decoded
        .authority_context
        .as_ref()
        .map(|a| a.municipality_cvr)
        .or(decoded.myndighed)
        .map(|m| m.to_string());
    x.cpr = decoded.person_cpr.map(|c| c.to_string());

    // 2. SP-7: the platform passes jobcenters' calls through with KOMBIT's certificate;
    //    nobody else reaches KY.
    if !call
        .peer
        .as_ref()
        .is_some_and(|p| k.platform_system.matches(p))
    {
        let who = x
            .peer
            .clone()
            .unwrap_or_else(|| "an unidentified caller".into());
        let text = format!(
            "{who} may not call KY: only the platform, with KOMBIT's certificate (CVR {}), does.",
            k.platform_system.cvr
        );
        return k.refuse(&seen, call.text(), true, Rule::Sp7, text).await;
    }

    // 3. A request of one of the eight operations (KY-1).
    let op = match (decoded.operation, decoded.kind) {
        (Some(op), MessageKind::Request) => op,
        (op, kind) => {
            let what = op.map_or_else(
                || format!("a {kind:?}"),
                |o| format!("a {kind:?} of {}", o.name()),
            );
            let text = format!("{what} is not a request KY takes; KY takes the eight KontanthjaelpServiceKY requests.");
            return k.refuse(&seen, call.text(), true, Rule::Wire1, text).await;
        }
    };

    // 4. Decide, store and journal in one commit; only then answer.
    answer(&k, op, call.text(), decoded, seen).await
}

/// What KY answers a call with (new, or stored and sent again).
struct Answered {
    /// The response document.
    response: String,
}

/// The message's content as KY compares repeats (KY-10): everything but the time it was sent
/// and the caller's bookkeeping (CallContext), written canonically.
fn canonical(r: &KyRequest) -> String {
    let mut r = r.clone();
    r.call_context = None;
    r.payload.header.besked_forsendelses_dato_tid = DatoTid(time::OffsetDateTime::UNIX_EPOCH);
    ky::write_request(&r)
}

/// The problems' FejlKoder, once each in the order found, for the request row's detail.
fn rules_named(problems: &[Problem]) -> Option<String> {
    let mut ids: Vec<String> = problems.iter().map(Problem::fejl_kode).collect();
    ids.dedup();
    (!ids.is_empty()).then(|| ids.join(", "))
}

/// The request's and the response's journal rows.
fn rows(
    seen: &Seen,
    at: time::OffsetDateTime,
    outcome: &Outcome,
    detail: Option<String>,
    raw: String,
    response: &str,
) -> [JournalEntry; 2] {
    let x = &seen.exchange;
    [
        x.entry(
            at,
            Direction::In,
            Part::Request,
            outcome.clone(),
            detail,
            raw,
        ),
        x.entry(
            at,
            Direction::Out,
            Part::Response,
            outcome.clone(),
            None,
            response.to_string(),
        ),
    ]
}

async fn answer(k: &Ksd, op: KyOperation, raw: String, decoded: KyDecoded, seen: Seen) -> Response {
    let at = k.now();
    let at_ms = sim_store::unix_millis(at);
    let mut problems = decoded.problems.clone();
    let request = decoded.request().cloned();
    if request.is_none() && !problems.iter().any(Problem::is_error) {
        // Cannot happen with sim-wire's reader: a message it cannot build is an error.
        problems.push(Problem::error(
            Rule::Ky2,
            code::MANGLER,
            op.payload_element(),
            "the message could not be read",
        ));
    }
    let write_seen = seen.clone();
    let raw_if_failed = raw.clone();
    let result = k
        .db
        .write(move |tx| {
            let seen = write_seen;
            let receipt = |kvittering: TransportKvittering| {
                ky::write_response(&KyResponse {
                    operation: op,
                    kvittering,
                })
            };
            let refused = |tx: &rusqlite::Transaction<'_>, problems: &[Problem]| {
                let kvittering = transport_kvittering_for(problems);
                let response = receipt(kvittering.clone());
                let outcome: Outcome = (&kvittering).into();
                for e in rows(&seen, at, &outcome, rules_named(problems), raw.clone(), &response) {
                    Journal::record_in(tx, &e)?;
                }
                Ok(Answered { response })
            };
            // Unreadable payload (KY-2) or no security context (SP-5): not processed.
            let (Some(request), Some(ac)) = (
                request,
                decoded.authority_context.as_ref().map(|a| a.municipality_cvr),
            ) else {
                return refused(tx, &problems);
            };
            let tid = request.payload.header.transaktion_identifikator.to_string();
            let canon = canonical(&request);

            // KY-10: accepted before — the same answer again, or FEJL for other content.
            if let Some((before, response)) = store::answered(tx, &tid)? {
                if before == canon {
                    let x = &seen.exchange;
                    let detail = Some(format!("{}: processed already; answered again", Rule::Ky10));
                    Journal::record_in(
                        tx,
                        &x.entry(at, Direction::In, Part::Request, Outcome::Duplicate, detail, raw.clone()),
                    )?;
                    Journal::record_in(
                        tx,
                        &x.entry(at, Direction::Out, Part::Response, Outcome::Duplicate, None, response.clone()),
                    )?;
                    return Ok(Answered { response });
                }
                let text = "TransaktionIdentifikator reused with other content: a message keeps its \
                            TransaktionIdentifikator only when it is sent again unchanged; not processed";
                let kvittering = TransportKvittering {
                    kode: TransportValideringsKode::Fejl,
                    begrundelse: Some(text.to_string()),
                    fejl_liste: vec![Fejl {
                        fejl_kode: format!("{}.{}", Rule::Ky10.id(), ky_code::GENBRUGT),
                        fejl_tekst: text.to_string(),
                    }],
                };
                let response = receipt(kvittering);
                let detail = Some(format!("{}.{}", Rule::Ky10.id(), ky_code::GENBRUGT));
                for e in rows(&seen, at, &Outcome::Fejl, detail, raw.clone(), &response) {
                    Journal::record_in(tx, &e)?;
                }
                return Ok(Answered { response });
            }

            // KY-2..KY-5 (and WIRE-1/3, SP-5) from the reader.
            if problems.iter().any(Problem::is_error) {
                return refused(tx, &problems);
            }
            // KY-6..KY-9 from KY's state.
            let changes = match decide::decide(&store::Tables(tx), &ac, &request.payload)? {
                Ok(changes) => changes,
                Err(problem) => {
                    problems.push(problem);
                    return refused(tx, &problems);
                }
            };
            let kvittering = transport_kvittering_for(&problems);
            let response = receipt(kvittering.clone());
            store::apply(tx, &ac, &changes, at_ms)?;
            store::remember(tx, &tid, op.name(), &ac.to_string(), &canon, &response, at_ms)?;
            let outcome: Outcome = (&kvittering).into();
            for e in rows(&seen, at, &outcome, rules_named(&problems), raw.clone(), &response) {
                Journal::record_in(tx, &e)?;
            }
            Ok(Answered { response })
        })
        .await;
    match result {
        Ok(a) => ok_response(a.response),
        Err(e) => {
            // Nothing was committed: not processed, and worth sending again.
            let text = format!(
                "KY could not store the message; nothing was processed, send it again: {e}"
            );
            k.refuse(&seen, raw_if_failed, false, Rule::Ky1, text).await
        }
    }
}

/// `GET /ky/kontaktforloeb` query: which courses, which page.
#[derive(Debug, serde::Deserialize)]
pub struct CoursesQuery {
    /// Only this municipality's (CVR).
    pub municipality: Option<String>,
    /// Only this person's (CPR).
    pub cpr: Option<String>,
    /// Rows to skip.
    pub offset: Option<u64>,
    /// At most this many (`sim_kit::admin::Page`'s limits).
    pub limit: Option<u32>,
}

/// Admin `GET /ky/kontaktforloeb`: KY's contact courses with their objects — what KY holds,
/// for people and tests (nothing is read from KY's tables anywhere else).
pub async fn courses(State(k): State<Arc<Ksd>>, Query(q): Query<CoursesQuery>) -> Response {
    use axum::response::IntoResponse;
    let page = sim_kit::admin::Page {
        offset: q.offset,
        limit: q.limit,
    };
    let offset = i64::try_from(page.offset()).unwrap_or(i64::MAX);
    let limit = i64::from(page.limit());
    let r =
        k.db.read(move |c| {
            store::courses(
                c,
                q.municipality.as_deref().filter(|s| !s.is_empty()),
                q.cpr.as_deref().filter(|s| !s.is_empty()),
                offset,
                limit,
            )
        })
        .await;
    match r {
        Ok(list) => axum::Json(list).into_response(),
        Err(e) => sim_kit::admin::internal(e),
    }
}
