//! SF1690's messages as plain values (wire.md §5, *defined here*): the KY header, the eight
//! payloads, requests and receipts. Field names are the wire's element names in snake case.

use std::fmt;
use std::str::FromStr;

use super::operation::{Handling, KyOperation};
use crate::model::{AuthorityContext, CallContext, SoapFault, TransportKvittering};
use crate::values::{Cpr, Cvr, Dato, DatoTid, Uuid, ValueError};

/// `kyt:Header`, common to every KY payload. It reuses the Sygefravaer header's vocabulary
/// (wire.md §3.1) for what both have; KY needs no employer, case id nor absence dates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KyHeader {
    /// Unique per message: KY answers a repeat the same (rule KY-10).
    pub transaktion_identifikator: Uuid,
    /// When the jobcenter sent it; a resend may carry a new one and is still a repeat.
    pub besked_forsendelses_dato_tid: DatoTid,
    /// The jobcenter solution that registered it.
    pub registrering_it_system: Uuid,
    /// The municipality; must agree with the security context (rule KY-5).
    pub myndighed: Cvr,
    /// The citizen the jobcenter case is about (`PersonCPR`).
    pub person_cpr: Cpr,
    /// The jobcenter's own case id, for people reading KY.
    pub jobcenter_sag_id: Option<String>,
}

/// A message's payload: the header, its sub-action, the contact course it belongs to and the
/// operation's own fields. `KontaktforloebID` is the jobcenter's id of the contact course —
/// every category seed 003 lists hangs off one (rule KY-6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KyPayload {
    /// The common header.
    pub header: KyHeader,
    /// What was done (rule KY-3).
    pub handling: Handling,
    /// The contact course (the jobcenter's id).
    pub kontaktforloeb_id: Uuid,
    /// The operation's own fields; its variant decides the operation.
    pub body: KyBody,
}

/// The operation-specific part of a payload, one variant per operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KyBody {
    /// `SendKontaktforloeb`.
    Kontaktforloeb(Kontaktforloeb),
    /// `SendVisitationsgruppe`.
    Visitationsgruppe(Visitationsgruppe),
    /// `SendTilkendegivelse`.
    Tilkendegivelse(Tilkendegivelse),
    /// `SendAktivitet`.
    Aktivitet(Aktivitet),
    /// `SendGodtgoerelse`.
    Godtgoerelse(Godtgoerelse),
    /// `SendFravaer`.
    Fravaer(Fravaer),
    /// `SendSanktionsanmodning`.
    Sanktionsanmodning(Sanktionsanmodning),
    /// `SendMaalgruppeskift`.
    Maalgruppeskift(Maalgruppeskift),
}

impl KyBody {
    /// The operation that carries this body.
    pub fn operation(&self) -> KyOperation {
        match self {
            KyBody::Kontaktforloeb(_) => KyOperation::Kontaktforloeb,
            KyBody::Visitationsgruppe(_) => KyOperation::Visitationsgruppe,
            KyBody::Tilkendegivelse(_) => KyOperation::Tilkendegivelse,
            KyBody::Aktivitet(_) => KyOperation::Aktivitet,
            KyBody::Godtgoerelse(_) => KyOperation::Godtgoerelse,
            KyBody::Fravaer(_) => KyOperation::Fravaer,
            KyBody::Sanktionsanmodning(_) => KyOperation::Sanktionsanmodning,
            KyBody::Maalgruppeskift(_) => KyOperation::Maalgruppeskift,
        }
    }
}

/// A contact course: created with its target group and start, changed, stopped with an end
/// date, resumed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kontaktforloeb {
    /// The target group (`Maalgruppe`, a code such as `2.2`); required on OPRET (KY-3).
    pub maalgruppe: Option<String>,
    /// First day; required on OPRET (KY-3).
    pub start_dato: Option<Dato>,
    /// Last day; required on STOP (KY-3), not before the start (KY-4).
    pub slut_dato: Option<Dato>,
}

/// The values `VisitationsgruppeKode` may take (rule KY-4): the three groups a cash-benefit
/// recipient is assessed into.
pub const VISITATIONSGRUPPER: [&str; 3] = ["JOBPARAT", "AKTIVITETSPARAT", "UDDANNELSESPARAT"];

/// The citizen's assessment group in the contact course; one per course, created then changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Visitationsgruppe {
    /// One of [`VISITATIONSGRUPPER`] (KY-4).
    pub visitationsgruppe_kode: String,
    /// From when it applies.
    pub gyldig_fra_dato: Dato,
}

/// A statement (tilkendegivelse) about the citizen in the contact course.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tilkendegivelse {
    /// The jobcenter's id of the statement: what a change names.
    pub tilkendegivelse_id: Uuid,
    /// What kind of statement (a code).
    pub tilkendegivelse_kode: String,
    /// When it was given.
    pub dato: Dato,
}

/// An activity (offer) in the contact course, possibly with allowances created with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Aktivitet {
    /// The jobcenter's id of the activity.
    pub aktivitet_id: Uuid,
    /// The kind of offer (e.g. `OPKVALIFICERING_VED_ANSAETTELSE`); required on OPRET (KY-3).
    pub tilbudstype: Option<String>,
    /// First day; required on OPRET (KY-3).
    pub start_dato: Option<Dato>,
    /// Last day; required on STOP (KY-3), not before the start (KY-4).
    pub slut_dato: Option<Dato>,
    /// Allowances registered with the activity; only on OPRET (KY-3, seed 003).
    pub godtgoerelser: Vec<GodtgoerelseLinje>,
}

/// One allowance (§ 82 or § 83 of the act on active employment).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GodtgoerelseLinje {
    /// The jobcenter's id of the allowance.
    pub godtgoerelse_id: Uuid,
    /// The section: 82 or 83 (KY-4).
    pub paragraf: u8,
    /// The amount, positive (KY-4).
    pub beloeb: Beloeb,
    /// The day it concerns.
    pub dato: Dato,
}

/// `SendGodtgoerelse`: an allowance registered on its own, possibly for an activity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Godtgoerelse {
    /// The activity it belongs to, when it belongs to one; it must exist (KY-8).
    pub aktivitet_id: Option<Uuid>,
    /// The allowance.
    pub linje: GodtgoerelseLinje,
}

/// Absence registered, possibly unjustified (which is what leads to a sanction).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fravaer {
    /// The jobcenter's id of the absence.
    pub fravaer_id: Uuid,
    /// The activity the citizen was absent from, when any; it must exist (KY-8).
    pub aktivitet_id: Option<Uuid>,
    /// First day absent.
    pub fra_dato: Dato,
    /// Last day absent; not before the first (KY-4).
    pub til_dato: Dato,
    /// Unjustified absence: KY is to sanction it.
    pub uberettiget: bool,
}

/// A request to sanction another negative event than unjustified absence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sanktionsanmodning {
    /// The jobcenter's id of the request.
    pub sanktion_id: Uuid,
    /// Why (a code).
    pub sanktion_aarsag: String,
    /// When the event happened.
    pub haendelse_dato: Dato,
}

/// A change of target group inside the running contact course.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Maalgruppeskift {
    /// The new target group.
    pub maalgruppe: String,
    /// From when.
    pub skift_dato: Dato,
}

/// An amount in Danish kroner with at most two decimals, kept in øre so it compares and adds
/// exactly. Written with two decimals (`1250.00`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Beloeb(pub i64);

impl FromStr for Beloeb {
    type Err = ValueError;

    fn from_str(s: &str) -> Result<Beloeb, ValueError> {
        let bad = || {
            ValueError(format!(
                "'{s}' is not an amount: digits with at most two decimals, e.g. 1250.00"
            ))
        };
        let t = s.trim();
        let (neg, t) = match t.strip_prefix('-') {
            Some(r) => (true, r),
            None => (false, t),
        };
        let (whole, frac) = t.split_once('.').unwrap_or((t, ""));
        if whole.is_empty()
            || whole.len() > 12
            || frac.len() > 2
            || !whole.bytes().all(|b| b.is_ascii_digit())
            || !frac.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(bad());
        }
        let kr: i64 = whole.parse().map_err(|_| bad())?;
        let oere: i64 = format!("{frac:0<2}").parse().map_err(|_| bad())?;
        let v = kr * 100 + oere;
        Ok(Beloeb(if neg { -v } else { v }))
    }
}

impl fmt::Display for Beloeb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let a = self.0.unsigned_abs();
        write!(f, "{sign}{}.{:02}", a / 100, a % 100)
    }
}

/// `xs:boolean` as the reader takes it: `true`/`false`/`1`/`0`; written `true`/`false`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Flag(pub bool);

impl FromStr for Flag {
    type Err = ValueError;

    fn from_str(s: &str) -> Result<Flag, ValueError> {
        match s.trim() {
            "true" | "1" => Ok(Flag(true)),
            "false" | "0" => Ok(Flag(false)),
            _ => Err(ValueError(format!("'{s}' is not a boolean: true or false"))),
        }
    }
}

/// A KY request: the security context first, then the payload (wire.md §1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KyRequest {
    /// Optional caller bookkeeping.
    pub call_context: Option<CallContext>,
    /// The municipality the call runs in (SP-5); KY compares it with the header (KY-5).
    pub authority_context: Option<AuthorityContext>,
    /// The message.
    pub payload: KyPayload,
}

impl KyRequest {
    /// The request a jobcenter sends for `payload` in its header's municipality — the client
    /// API for whoever sends KY traffic: build the payload, then [`super::write_request`].
    pub fn new(payload: KyPayload) -> KyRequest {
        KyRequest {
            call_context: None,
            authority_context: Some(AuthorityContext {
                municipality_cvr: payload.header.myndighed,
            }),
            payload,
        }
    }

    /// The operation that carries it.
    pub fn operation(&self) -> KyOperation {
        self.payload.body.operation()
    }
}

/// KY's synchronous answer: `<Operation>Response/kvit:TransportKvittering` (rule KY-1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KyResponse {
    /// The operation answered.
    pub operation: KyOperation,
    /// OK, ADVARSEL or FEJL with the KY rules broken as `FejlKode` (`KY-6.UKENDT`).
    pub kvittering: TransportKvittering,
}

/// Any SF1690 document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KyMessage {
    /// A jobcenter's message.
    Request(KyRequest),
    /// KY's receipt.
    Response(KyResponse),
    /// A fault (the platform's, or KY's for a call it could not take).
    Fault(SoapFault),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn beloeb_reads_and_writes_oere_exactly() {
        for (s, oere, w) in [
            ("1250", 125_000, "1250.00"),
            ("1250.5", 125_050, "1250.50"),
            ("0.07", 7, "0.07"),
            ("-3.10", -310, "-3.10"),
        ] {
            let b: Beloeb = s.parse().unwrap();
            assert_eq!(b.0, oere);
            assert_eq!(b.to_string(), w);
        }
        for bad in ["", "1,50", "1.234", "abc", ".5", "1e3"] {
            assert!(bad.parse::<Beloeb>().is_err(), "{bad}");
        }
    }

    #[test]
    fn flags_are_xs_boolean() {
        assert!("true".parse::<Flag>().unwrap().0);
        assert!(!"0".parse::<Flag>().unwrap().0);
        assert!("yes".parse::<Flag>().is_err());
    }
}
