//! Conformance: an outside system in a seat graded rule by rule (issue 10).
//!
//! A vendor pre-testing a real jobcenter system (or a real KSD) puts it in a seat; the
//! simulator drives it and this module says, per rule that applies to that seat, PASS, FAIL
//! with the evidence (TransaktionIdentifikator, CallUUID, the raw exchange), or NOT EXERCISED
//! and why. Everything is judged from what the simulated programs journaled about their
//! exchanges with the seat (the outside system keeps no journal we can read), plus the
//! *probes* the runner made at the end of the run: messages sent to the seat on purpose to
//! provoke a rule (a repeated receipt, a call with the wrong certificate, a municipality the
//! seat does not serve), with what came back.
//!
//! # Layout
//! - [`jobcenter`]: a jobcenter system in a vendor instance's seat: how it receives business
//!   receipts (WIRE-2, JC-2, JC-3, KSD-2, KSD-7, SP-8) and what it sends by itself (SP-5,
//!   WIRE-1, KSD-3/4/5/8).
//! - [`ksd`]: a KSD system in KSD's seat: how it answers the updates the platform forwards
//!   (KSD-1, WIRE-2, KSD-5, KSD-8, KSD-7, SP-8) and whether it sends every business receipt
//!   (KSD-2).
//! - [`platform`]: a platform in the platform's seat, from what the vendors and KSD saw of it
//!   (SP-1, SP-2, SP-4, SP-5, WIRE-1, SP-7, SP-8).

pub mod jobcenter;
pub mod ksd;
pub mod ky;
pub mod platform;

use std::collections::HashMap;

use sim_report::{Evidence, RuleStatus, RuleVerdict, SeatReport, MAX_EVIDENCE};
use sim_store::{Outcome, Part};
use sim_wire::Operation;

use crate::history::History;
use crate::{CheckError, CheckInput};

/// Which party an outside system plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeatParty {
    /// A jobcenter solution in a vendor instance's seat.
    Jobcenter,
    /// KSD.
    Ksd,
    /// The platform.
    Platform,
    /// KY, the municipal benefit system (SF1690).
    Ky,
}

impl SeatParty {
    /// As the report names it.
    pub fn as_str(self) -> &'static str {
        match self {
            SeatParty::Jobcenter => "jobcenter",
            SeatParty::Ksd => "ksd",
            SeatParty::Platform => "platform",
            SeatParty::Ky => "ky",
        }
    }
}

/// An outside system in a seat, as the checkers need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeatUnderTest {
    /// The seat: a vendor instance name.
    pub name: String,
    /// Which party it plays.
    pub party: SeatParty,
    /// Where the platform calls it.
    pub url: String,
    /// The system it is when it calls the platform: CVR and, when known, the UUID of its
    /// certificate; `None` when it sends nothing of its own.
    pub identity: Option<(String, Option<String>)>,
}

impl SeatUnderTest {
    /// The seat's report with `rules`.
    pub(crate) fn report(&self, rules: Vec<RuleVerdict>) -> SeatReport {
        SeatReport {
            seat: self.name.clone(),
            party: self.party.as_str().to_string(),
            url: self.url.clone(),
            rules,
        }
    }
}

/// Why SP-8 has no verdict: `none` when nothing was answered, or — away from speed 1 — that
/// response times in compressed virtual time are not real ones.
pub(crate) fn sla_not_exercised(real_time: bool, none: &str) -> &str {
    if real_time {
        none
    } else {
        "not judged: response times are real only at speed 1"
    }
}

impl SeatUnderTest {
    /// Whether a journal row's peer text (`CVR 12345678 UUID:...`) is this seat's system.
    pub(crate) fn is_caller(&self, peer: &str) -> bool {
        let Some((cvr, uuid)) = &self.identity else {
            return false;
        };
        let cvr_matches = peer
            .strip_prefix("CVR ")
            .is_some_and(|rest| rest.split_whitespace().next() == Some(cvr.as_str()));
        cvr_matches
            && uuid
                .as_ref()
                .is_none_or(|u| peer.to_ascii_lowercase().contains(&u.to_ascii_lowercase()))
    }
}

/// What the runner expects a probe to provoke.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// Accepted: a TransportKvittering OK or ADVARSEL.
    Accepted,
    /// Refused: anything but OK/ADVARSEL (FEJL, a fault, a refused TLS handshake, 4xx).
    Refused,
}

/// A message the runner sent to a seat on purpose, and what came back.
#[derive(Debug, Clone)]
pub struct Probe {
    /// The seat probed.
    pub seat: String,
    /// The rule it exercises (`KSD-7`, `JC-2`, `JC-3`).
    pub rule: String,
    /// What was sent, in words (`the receipt of 1a2b… again`).
    pub what: String,
    /// What must happen.
    pub expect: Expect,
    /// The TransaktionIdentifikator of the message sent.
    pub transaktion_id: Option<String>,
    /// The message sent.
    pub request: String,
    /// The answer's outcome, `None` when no answer came (connection or handshake refused).
    pub outcome: Option<Outcome>,
    /// The raw answer, or why there was none.
    pub response: String,
}

impl Probe {
    /// Whether it provoked what was expected.
    pub fn held(&self) -> bool {
        let accepted = self.outcome.as_ref().is_some_and(Outcome::is_accepting);
        match self.expect {
            Expect::Accepted => accepted,
            Expect::Refused => !accepted,
        }
    }

    /// The probe as evidence.
    pub(crate) fn evidence(&self, what: String) -> Evidence {
        Evidence {
            transaktion_id: self.transaktion_id.clone(),
            call_uuid: None,
            what,
            request: Some(sim_report::truncate_raw(&self.request)),
            response: Some(sim_report::truncate_raw(&self.response)),
        }
    }
}

/// One call the platform made to a seat: its outbound request row and, when an answer came,
/// the inbound `#response` row under the same CallUUID (dated when the answer came).
pub(crate) struct Leg<'a> {
    pub out: &'a crate::history::Row,
    pub back: Option<&'a crate::history::Row>,
}

/// Every call of `op` the platform made to `peer` (an instance name or a URL), in journal
/// order, each with its answer.
pub(crate) fn legs<'a>(h: &'a History, op: Operation, peer: &str) -> Vec<Leg<'a>> {
    let mut out: Vec<Leg<'a>> = Vec::new();
    let mut open: HashMap<(Option<&str>, Option<&str>), usize> = HashMap::new();
    for r in &h.sp.rows {
        if r.peer.as_deref() != Some(peer) {
            continue;
        }
        let key = (r.tid.as_deref(), r.call.as_deref());
        if r.is(false, op) {
            open.insert(key, out.len());
            out.push(Leg { out: r, back: None });
        } else if r.is_leg(true, op, Part::Response) {
            if let Some(i) = open.remove(&key) {
                out[i].back = Some(r);
            }
        }
    }
    out
}

/// Every KY message (SF1690) the platform forwarded to `peer`, in journal order, each with
/// its answer: KY's operations are journaled under their own labels, not `Operation`s.
pub(crate) fn ky_legs<'a>(h: &'a History, peer: &str) -> Vec<Leg<'a>> {
    let mut out: Vec<Leg<'a>> = Vec::new();
    let mut open: HashMap<(Option<&str>, Option<&str>), usize> = HashMap::new();
    for r in &h.sp.rows {
        if r.peer.as_deref() != Some(peer) || r.label.ky_operation().is_none() {
            continue;
        }
        let key = (r.tid.as_deref(), r.call.as_deref());
        if !r.inbound && r.label.part() == Part::Request {
            open.insert(key, out.len());
            out.push(Leg { out: r, back: None });
        } else if r.inbound && r.label.part() == Part::Response {
            if let Some(i) = open.remove(&key) {
                out[i].back = Some(r);
            }
        }
    }
    out
}

/// Evidence of one leg: its ids, the message and the answer from the platform's journal.
pub(crate) fn evidence(h: &History, leg: &Leg<'_>, what: String) -> Result<Evidence, CheckError> {
    Ok(Evidence {
        transaktion_id: leg.out.tid.clone(),
        call_uuid: leg.out.call.clone(),
        what,
        request: Some(sim_report::truncate_raw(&h.sp.raw(leg.out.id)?)),
        response: match leg.back {
            Some(b) => Some(sim_report::truncate_raw(&h.sp.raw(b.id)?)),
            None => None,
        },
    })
}

/// SP-8's simple class: what a receiver may take to answer a call (milliseconds).
const SIMPLE_MS: i64 = 1_000;

/// The rules every answer of a seat is judged by, whatever it answers: `shape` (WIRE-2) that
/// it is a readable receipt, `receipt` (JC-2 for a jobcenter, KSD-1 for KSD) that it is a
/// TransportKvittering and not a SOAP fault, `sla` (SP-8) that it came within 1 s when the
/// run was in real time. An unanswered call (unreachable) says nothing and is skipped.
pub(crate) struct AnswerRules {
    pub shape: Tally,
    pub receipt: Tally,
    pub sla: Tally,
}

impl AnswerRules {
    /// Judges one leg's answer.
    pub(crate) fn judge(
        &mut self,
        h: &History,
        leg: &Leg<'_>,
        real_time: bool,
    ) -> Result<(), CheckError> {
        let outcome = &*leg.out.outcome;
        match outcome {
            Outcome::Unreachable => return Ok(()),
            Outcome::Unreadable(_) | Outcome::Http(_) => self.shape.fail(evidence(
                h,
                leg,
                format!("answered {outcome}, not a SOAP receipt"),
            )?),
            _ => self.shape.ok(),
        }
        match outcome {
            Outcome::Fault(code) => self.receipt.fail(evidence(
                h,
                leg,
                format!("answered a SOAP fault ({code}), not a TransportKvittering"),
            )?),
            o if o.is_kvittering() => self.receipt.ok(),
            _ => {}
        }
        if let (Some(back), true) = (leg.back, real_time) {
            let ms = back.at - leg.out.at;
            if ms > SIMPLE_MS {
                self.sla
                    .fail(evidence(h, leg, format!("answered after {ms} ms"))?);
            } else {
                self.sla.ok();
            }
        }
        Ok(())
    }
}

/// Grades every seat of `input` (none: nothing to load, an empty list).
pub fn conformance(input: &CheckInput) -> Result<Vec<SeatReport>, CheckError> {
    if input.seats.is_empty() {
        return Ok(Vec::new());
    }
    grade(&History::load(input)?, input)
}

/// Grades every seat over an already loaded history.
pub(crate) fn grade(h: &History, input: &CheckInput) -> Result<Vec<SeatReport>, CheckError> {
    input
        .seats
        .iter()
        .map(|seat| match seat.party {
            SeatParty::Jobcenter => jobcenter::grade(h, input, seat),
            SeatParty::Ksd => ksd::grade(h, input, seat),
            SeatParty::Platform => platform::grade(h, input, seat),
            SeatParty::Ky => ky::grade(h, input, seat),
        })
        .collect()
}

/// One rule's verdict being built: how many exchanges it judged and the counterexamples.
pub(crate) struct Tally {
    rule: &'static str,
    title: &'static str,
    exercised: u64,
    failed: u64,
    evidence: Vec<Evidence>,
}

impl Tally {
    pub(crate) fn new(rule: &'static str, title: &'static str) -> Tally {
        Tally {
            rule,
            title,
            exercised: 0,
            failed: 0,
            evidence: Vec::new(),
        }
    }

    /// One exchange judged, holding the rule.
    pub(crate) fn ok(&mut self) {
        self.exercised += 1;
    }

    /// One exchange judged, breaking the rule.
    pub(crate) fn fail(&mut self, e: Evidence) {
        self.exercised += 1;
        self.failed += 1;
        if self.evidence.len() < MAX_EVIDENCE {
            self.evidence.push(e);
        }
    }

    /// The verdict: NOT EXERCISED (with `why_not`) when nothing was judged, else PASS or FAIL
    /// with `what` ("deliveries answered") counting what was judged.
    pub(crate) fn verdict(self, what: &str, why_not: &str) -> RuleVerdict {
        let (status, summary) = if self.exercised == 0 {
            (RuleStatus::NotExercised, why_not.to_string())
        } else if self.failed == 0 {
            (
                RuleStatus::Pass,
                format!("{} {what}, all as the rule demands", self.exercised),
            )
        } else {
            (
                RuleStatus::Fail,
                format!("{} of {} {what} broke it", self.failed, self.exercised),
            )
        };
        RuleVerdict {
            rule: self.rule.to_string(),
            title: self.title.to_string(),
            status,
            summary,
            exercised: self.exercised,
            evidence: self.evidence,
        }
    }
}
