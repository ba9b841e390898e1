//! The journal's vocabulary: what a row's `operation` and `outcome` columns may say, spelled in
//! this one module.
//!
//! Every writer (the three programs) builds a [`Label`] and an [`Outcome`]; every reader
//! (`sim-check`, the admin APIs, reports) parses them back. The stored form stays text, so a
//! journal remains readable with `sqlite3`, but no other module formats or matches those
//! strings: a change of spelling is a change here, and the round-trip tests below catch drift.

use std::fmt;
use std::str::FromStr;

use sim_wire::{Operation, Port, Rule, TransportKvittering, TransportValideringsKode};

/// Which part of an exchange a journal row records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Part {
    /// The request (sent or received).
    Request,
    /// Its synchronous answer: a TransportKvittering or a look-up's result.
    Response,
    /// A SOAP fault answering it.
    Fault,
}

impl Part {
    /// The suffix appended to the operation in the stored label.
    fn suffix(self) -> &'static str {
        match self {
            Part::Request => "",
            Part::Response => "#response",
            Part::Fault => "#fault",
        }
    }
}

/// A row's operation label: `<port>/<Operation>` (e.g. `KSD/SendOpdateringFravaer`, from
/// [`Operation::label`]) plus the [`Part`], stored as `KSD/SendOpdateringFravaer#response`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Label {
    /// `<port>/<Operation>`; `<port>/?` when the operation could not be told.
    operation: String,
    /// Request, response or fault.
    part: Part,
}

impl Label {
    /// The request leg of `op`.
    pub fn request(op: Operation) -> Label {
        Label::of(op, Part::Request)
    }

    /// The `part` leg of `op`.
    pub fn of(op: Operation, part: Part) -> Label {
        Label {
            operation: op.label(),
            part,
        }
    }

    /// A request whose operation could not be told (unreadable, unknown SOAPAction) on a port.
    pub fn unknown(port: Port) -> Label {
        let port = match port {
            Port::Ksd => "KSD",
            Port::Jc => "JC",
        };
        Label {
            operation: format!("{port}/?"),
            part: Part::Request,
        }
    }

    /// The `part` leg of an SF1690 operation, `KY/<Operation>` (the label `sim_wire::flows`
    /// reserves; both the platform's and KY's rows carry it, as the operation keeps its name).
    pub fn ky(op: sim_wire::ky::KyOperation, part: Part) -> Label {
        Label {
            operation: op.label(),
            part,
        }
    }

    /// The `part` leg of an operation named by its `sim_wire::flows` label (`STAR/CreateSequence`,
    /// `BF/Haendelsesbesked` ...): for the legs that are no SOAP operation of the Sygefravaer or KY
    /// contracts (SF1612's sequence steps and broker deliveries).
    pub fn flow(label: &str, part: Part) -> Label {
        Label {
            operation: label.to_string(),
            part,
        }
    }

    /// A request to the KY exposure or KY's port whose operation could not be told.
    pub fn ky_unknown() -> Label {
        Label {
            operation: "KY/?".to_string(),
            part: Part::Request,
        }
    }

    /// The SF1690 operation, when the label names one.
    pub fn ky_operation(&self) -> Option<sim_wire::ky::KyOperation> {
        sim_wire::ky::KyOperation::from_label(&self.operation)
    }

    /// The `part` leg of a Beskedfordeler operation, `BF/<Operation>` (SF1612, BF-1, BF-2):
    /// publishing, deliveries, value-list changes, pulls, acknowledgements, subscriptions.
    pub fn bf(op: sim_wire::besked::BfOperation, part: Part) -> Label {
        Label {
            operation: op.label(),
            part,
        }
    }

    /// The Beskedfordeler operation, when the label names one.
    pub fn bf_operation(&self) -> Option<sim_wire::besked::BfOperation> {
        sim_wire::besked::BfOperation::from_label(&self.operation)
    }

    /// A request to a path where no operation lives: `POST <path>`.
    pub fn endpoint(path: &str) -> Label {
        Label {
            operation: format!("POST {path}"),
            part: Part::Request,
        }
    }

    /// A message that arrived where its operation may not be called: the operation it claims
    /// to be, or `a fault` when it is a SOAP fault (which names no operation).
    pub fn claimed(op: Option<Operation>) -> Label {
        match op {
            Some(op) => Label::request(op),
            None => Label {
                operation: "a fault".to_string(),
                part: Part::Request,
            },
        }
    }

    /// The same operation, another part: the answer row of a request.
    pub fn with(&self, part: Part) -> Label {
        Label {
            operation: self.operation.clone(),
            part,
        }
    }

    /// `<port>/<Operation>` without the part.
    pub fn operation(&self) -> &str {
        &self.operation
    }

    /// Which leg.
    pub fn part(&self) -> Part {
        self.part
    }

    /// Whether this is the request leg of `op`.
    pub fn is_request_of(&self, op: Operation) -> bool {
        self.part == Part::Request && self.operation == op.label()
    }

    /// Whether this row is an answer (response or fault) rather than a request.
    pub fn is_answer(&self) -> bool {
        self.part != Part::Request
    }

    /// The operation, when it is one of the contract's.
    pub fn known(&self) -> Option<Operation> {
        Operation::ALL
            .iter()
            .copied()
            .find(|o| o.label() == self.operation)
    }
}

impl fmt::Display for Label {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.operation, self.part.suffix())
    }
}

impl FromStr for Label {
    type Err = std::convert::Infallible;

    /// Total: any text is some operation's request unless it ends in a part suffix.
    fn from_str(s: &str) -> Result<Label, Self::Err> {
        for part in [Part::Response, Part::Fault] {
            if let Some(op) = s.strip_suffix(part.suffix()) {
                return Ok(Label {
                    operation: op.to_string(),
                    part,
                });
            }
        }
        Ok(Label {
            operation: s.to_string(),
            part: Part::Request,
        })
    }
}

/// Rules a fault may name that say nothing about the message itself (an unreachable receiver,
/// a service window, a store that failed): such a fault is no *refusal*, the same bytes may be
/// accepted when resent.
pub const TRANSIENT_FAULT_RULES: &[&str] = &["SP-4", "SP-9", "KSD-1", "KSD-7"];

/// What became of a journaled message.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Outcome {
    /// TransportKvittering OK: accepted.
    Ok,
    /// TransportKvittering ADVARSEL: accepted with remarks.
    Advarsel,
    /// TransportKvittering FEJL: refused for its content, not processed (KSD-1).
    Fejl,
    /// A SOAP fault naming a rule ID (`SP-5`, `KSD-8` ...) or, from an outside system that
    /// names none, its faultcode.
    Fault(String),
    /// A repeated TransaktionIdentifikator answered from the store, not processed again (KSD-7).
    Duplicate,
    /// TransportKvittering ADVARSEL naming `KSD-14.KASSERET`: read and thrown away by rule
    /// (an OphoersAarsag 10 from outside); not processed, no business receipt follows.
    Discarded,
    /// Received and being handled; the answer's row says how it ended (the platform's
    /// inbound rows).
    Received,
    /// The receiver could not be reached (connect, TLS, timeout); the detail says how.
    Unreachable,
    /// An HTTP answer with this status that is neither a receipt nor a fault.
    Http(u16),
    /// An answer that could not be read as SOAP; the kind of error (`not-xml` ...).
    Unreadable(String),
    /// A Beskedfordeler answer's `StandardRetur/StatusKode` other than 20 (a push the
    /// subscriber did not accept: delivered again, BF-2). StatusKode 20 is [`Outcome::Ok`].
    Statuskode(u16),
    /// Text this version does not know (a journal written by another version). Never written.
    Unknown(String),
}

impl Outcome {
    /// A fault naming `rule`.
    pub fn fault(rule: Rule) -> Outcome {
        Outcome::Fault(rule.id().to_string())
    }

    /// Whether a TransportKvittering accepted the message (OK or ADVARSEL).
    pub fn is_accepting(&self) -> bool {
        matches!(self, Outcome::Ok | Outcome::Advarsel)
    }

    /// Whether it is a TransportKvittering's code (OK, ADVARSEL or FEJL, a discarding ADVARSEL
    /// included): the receiver read the message and answered as the contract says, whatever
    /// it decided.
    pub fn is_kvittering(&self) -> bool {
        matches!(
            self,
            Outcome::Ok | Outcome::Advarsel | Outcome::Fejl | Outcome::Discarded
        )
    }

    /// The rule (or faultcode) a fault names.
    pub fn fault_rule(&self) -> Option<&str> {
        match self {
            Outcome::Fault(r) => Some(r),
            _ => None,
        }
    }

    /// Whether it refuses the message for what it is: FEJL, a discard (KSD-14), or a fault
    /// naming a rule that is not in [`TRANSIENT_FAULT_RULES`].
    pub fn is_refusal(&self) -> bool {
        match self {
            Outcome::Fejl | Outcome::Discarded => true,
            Outcome::Fault(r) => !TRANSIENT_FAULT_RULES.contains(&r.as_str()),
            _ => false,
        }
    }
}

/// A receipt's outcome: its code, or [`Outcome::Discarded`] for an ADVARSEL that discards.
impl From<&TransportKvittering> for Outcome {
    fn from(k: &TransportKvittering) -> Outcome {
        if k.discards() {
            Outcome::Discarded
        } else {
            k.kode.into()
        }
    }
}

impl From<TransportValideringsKode> for Outcome {
    fn from(k: TransportValideringsKode) -> Outcome {
        match k {
            TransportValideringsKode::Ok => Outcome::Ok,
            TransportValideringsKode::Advarsel => Outcome::Advarsel,
            TransportValideringsKode::Fejl => Outcome::Fejl,
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Ok => f.write_str("OK"),
            Outcome::Advarsel => f.write_str("ADVARSEL"),
            Outcome::Fejl => f.write_str("FEJL"),
            Outcome::Fault(r) => write!(f, "FAULT:{r}"),
            Outcome::Duplicate => f.write_str("DUPLICATE"),
            Outcome::Discarded => f.write_str("DISCARDED"),
            Outcome::Received => f.write_str("RECEIVED"),
            Outcome::Unreachable => f.write_str("UNREACHABLE"),
            Outcome::Http(s) => write!(f, "HTTP {s}"),
            Outcome::Statuskode(s) => write!(f, "STATUSKODE {s}"),
            Outcome::Unreadable(k) => write!(f, "UNREADABLE:{k}"),
            Outcome::Unknown(t) => f.write_str(t),
        }
    }
}

impl FromStr for Outcome {
    type Err = std::convert::Infallible;

    /// Total: text this version does not know is [`Outcome::Unknown`].
    fn from_str(s: &str) -> Result<Outcome, Self::Err> {
        Ok(match s {
            "OK" => Outcome::Ok,
            "ADVARSEL" => Outcome::Advarsel,
            "FEJL" => Outcome::Fejl,
            "DUPLICATE" => Outcome::Duplicate,
            "DISCARDED" => Outcome::Discarded,
            "RECEIVED" => Outcome::Received,
            "UNREACHABLE" => Outcome::Unreachable,
            _ => {
                if let Some(r) = s.strip_prefix("FAULT:") {
                    Outcome::Fault(r.to_string())
                } else if let Some(k) = s.strip_prefix("UNREADABLE:") {
                    Outcome::Unreadable(k.to_string())
                } else if let Some(n) = s.strip_prefix("HTTP ").and_then(|n| n.parse().ok()) {
                    Outcome::Http(n)
                } else if let Some(n) = s.strip_prefix("STATUSKODE ").and_then(|n| n.parse().ok()) {
                    Outcome::Statuskode(n)
                } else {
                    Outcome::Unknown(s.to_string())
                }
            }
        })
    }
}

macro_rules! text_serde {
    ($t:ty) => {
        impl serde::Serialize for $t {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        impl<'de> serde::Deserialize<'de> for $t {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<$t, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                Ok(s.parse()
                    .unwrap_or_else(|e: std::convert::Infallible| match e {}))
            }
        }

        impl rusqlite::ToSql for $t {
            fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
                Ok(rusqlite::types::ToSqlOutput::from(self.to_string()))
            }
        }

        impl rusqlite::types::FromSql for $t {
            fn column_result(
                value: rusqlite::types::ValueRef<'_>,
            ) -> rusqlite::types::FromSqlResult<Self> {
                let s = value.as_str()?;
                Ok(s.parse()
                    .unwrap_or_else(|e: std::convert::Infallible| match e {}))
            }
        }
    };
}

text_serde!(Label);
text_serde!(Outcome);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_round_trip_for_every_operation_and_part() {
        for op in Operation::ALL {
            for part in [Part::Request, Part::Response, Part::Fault] {
                let l = Label::of(*op, part);
                let back: Label = l.to_string().parse().unwrap();
                assert_eq!(back, l);
                assert_eq!(back.known(), Some(*op));
                assert_eq!(back.is_answer(), part != Part::Request);
            }
        }
        assert_eq!(
            Label::request(Operation::SendOpdateringFravaer)
                .with(Part::Response)
                .to_string(),
            "KSD/SendOpdateringFravaer#response"
        );
        assert_eq!(Label::unknown(Port::Jc).to_string(), "JC/?");
        // SF1690: KY's labels round-trip like the others and name their operation.
        let ky = Label::ky(sim_wire::ky::KyOperation::Fravaer, Part::Response);
        assert_eq!(ky.to_string(), "KY/SendFravaer#response");
        assert_eq!(ky.to_string().parse::<Label>().unwrap(), ky);
        assert_eq!(ky.ky_operation(), Some(sim_wire::ky::KyOperation::Fravaer));
        assert_eq!(ky.known(), None);
        assert_eq!(Label::ky_unknown().to_string(), "KY/?");
        assert_eq!(Label::unknown(Port::Jc).known(), None);
        assert_eq!(Label::endpoint("/x").to_string(), "POST /x");
        // SF1612: the Beskedfordeler's labels round-trip and name their operation.
        let bf = Label::bf(sim_wire::besked::BfOperation::ModtagBesked, Part::Response);
        assert_eq!(bf.to_string(), "BF/ModtagBesked#response");
        assert_eq!(bf.to_string().parse::<Label>().unwrap(), bf);
        assert_eq!(
            bf.bf_operation(),
            Some(sim_wire::besked::BfOperation::ModtagBesked)
        );
        assert_eq!(bf.known(), None);
        assert_eq!(Label::claimed(None).to_string(), "a fault");
        assert_eq!(
            Label::claimed(Some(Operation::HentSag)),
            Label::request(Operation::HentSag)
        );
    }

    #[test]
    fn outcomes_round_trip_and_classify() {
        let all = [
            Outcome::Ok,
            Outcome::Advarsel,
            Outcome::Fejl,
            Outcome::fault(Rule::Sp5),
            Outcome::Fault("soap:Server".into()),
            Outcome::Duplicate,
            Outcome::Discarded,
            Outcome::Received,
            Outcome::Unreachable,
            Outcome::Http(502),
            Outcome::Statuskode(50),
            Outcome::Unreadable("not-xml".into()),
            Outcome::Unknown("ACCEPTERET".into()),
        ];
        for o in &all {
            assert_eq!(&o.to_string().parse::<Outcome>().unwrap(), o, "{o}");
        }
        assert_eq!(Outcome::fault(Rule::Sp5).to_string(), "FAULT:SP-5");
        assert!(Outcome::Ok.is_accepting() && Outcome::Advarsel.is_accepting());
        assert!(!Outcome::Fejl.is_accepting());
        assert!(Outcome::Fejl.is_refusal());
        assert!(Outcome::fault(Rule::Ksd8).is_refusal());
        assert!(!Outcome::fault(Rule::Sp4).is_refusal(), "transient");
        assert!(!Outcome::Duplicate.is_refusal());
        assert!(Outcome::Discarded.is_refusal(), "KSD-14: not processed");
        assert!(
            !Outcome::Discarded.is_accepting(),
            "no business receipt follows"
        );
        assert_eq!(Outcome::fault(Rule::Sp9).fault_rule(), Some("SP-9"));
        assert!(Outcome::Fejl.is_kvittering() && Outcome::Advarsel.is_kvittering());
        assert!(!Outcome::Http(500).is_kvittering() && !Outcome::fault(Rule::Sp4).is_kvittering());
    }
}
