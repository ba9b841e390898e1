//! Every leg of every integration in one table: which integration it belongs to, who calls
//! whom, which platform exposure carries it, its SLA class (SP-8), how it is answered and its
//! journal label.
//!
//! The programs, the runner's traffic and the checkers keep one module per integration
//! (`flows/sf2095.rs`, `traffic/sf2095.rs`, `sim-check/src/sf2095/`); this table is what they
//! share, so a new integration is new files plus its rows here. Rows whose `operation` is
//! `None` are legs whose messages this crate cannot read or write yet (their integration is
//! not built); their labels are reserved so journals and reports agree once it is. SF1690's
//! rows are the exception: their messages are read and written by [`crate::ky`], another
//! service than [`Operation`]'s, and [`Flow::ky_operation`] names them.

use crate::operation::{Operation, Port};

/// The six integrations of the jobcenter ↔ KSD sick-leave ecosystem.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub enum Integration {
    /// KSD → jobcenter: case events (`SendHaendelse`), acknowledged by the jobcenter.
    Sf2090,
    /// KSD → jobcenter: extension requests, answered by the jobcenter.
    Sf2093,
    /// Jobcenter → KSD: sick-leave status updates, with KSD's business receipts back.
    Sf2095,
    /// Jobcenter → KSD: case look-ups (`HentSag`, `HentSagsListe`), synchronous.
    Sf2096,
    /// STAR (DFDG) → platform job → Beskedfordeler → KSD: sick-leave statuses.
    Sf1612,
    /// Jobcenter → KY (Kommunernes Ydelsessystem): cash-benefit messages, synchronous.
    Sf1690,
}

impl Integration {
    /// Every integration, in report order.
    pub const ALL: [Integration; 6] = [
        Integration::Sf2095,
        Integration::Sf2090,
        Integration::Sf2093,
        Integration::Sf2096,
        Integration::Sf1612,
        Integration::Sf1690,
    ];

    /// `SF2095` ...
    pub fn id(self) -> &'static str {
        match self {
            Integration::Sf2090 => "SF2090",
            Integration::Sf2093 => "SF2093",
            Integration::Sf2095 => "SF2095",
            Integration::Sf2096 => "SF2096",
            Integration::Sf1612 => "SF1612",
            Integration::Sf1690 => "SF1690",
        }
    }

    /// The rule a jobcenter breaks by refusing (FEJL) a valid message of this integration
    /// that KSD sends it: the business receipt (KSD-2), the case event (KSD-10), the
    /// extension request (KSD-11); `None` for integrations KSD sends nothing in.
    pub fn refusal_rule(self) -> Option<crate::Rule> {
        match self {
            Integration::Sf2095 => Some(crate::Rule::Ksd2),
            Integration::Sf2090 => Some(crate::Rule::Ksd10),
            Integration::Sf2093 => Some(crate::Rule::Ksd11),
            _ => None,
        }
    }

    /// Its legs, in the order a message travels.
    pub fn flows(self) -> impl Iterator<Item = &'static Flow> {
        FLOWS.iter().filter(move |f| f.integration == self)
    }
}

/// A party of the ecosystem: what can take a seat.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum Party {
    /// A jobcenter solution (a vendor instance).
    Jobcenter,
    /// KOMBIT's Serviceplatform, including its STAR job.
    Platform,
    /// KSD, Kommunernes Sygedagpengesystem.
    Ksd,
    /// KY, Kommunernes Ydelsessystem.
    Ky,
    /// STAR's DFDG, the source of SF1612's statuses.
    Star,
    /// The platform's Beskedfordeler (message broker).
    Beskedfordeler,
}

/// SP-8's complexity classes for the platform's response time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum SlaClass {
    /// 1 s.
    Simple,
    /// 1.5 s.
    Medium,
    /// 4 s.
    Complex,
}

impl SlaClass {
    /// Every class, in report order.
    pub const ALL: [SlaClass; 3] = [SlaClass::Simple, SlaClass::Medium, SlaClass::Complex];

    /// The SP-8 limit in milliseconds.
    pub fn limit_ms(self) -> i64 {
        match self {
            SlaClass::Simple => 1_000,
            SlaClass::Medium => 1_500,
            SlaClass::Complex => 4_000,
        }
    }

    /// Lowercase name for summaries.
    pub fn name(self) -> &'static str {
        match self {
            SlaClass::Simple => "simple",
            SlaClass::Medium => "medium",
            SlaClass::Complex => "complex",
        }
    }

    /// The class of the call a journal label (without its part) names: the table's class,
    /// else simple (a refused request of unknown operation is answered at once).
    pub fn of_label(label: &str) -> SlaClass {
        flow_of_label(label)
            .and_then(|f| f.sla)
            .unwrap_or(SlaClass::Simple)
    }
}

/// How the receiver answers a leg.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum Answer {
    /// A TransportKvittering at once; the business answer comes later as its own message.
    TransportReceipt,
    /// The result itself, synchronously (look-ups).
    Synchronous,
    /// A WS-ReliableMessaging-style sequence step (SF1612's STAR endpoints).
    Sequence,
    /// A broker delivery, acknowledged (SF1612's Beskedfordeler).
    Delivery,
}

/// One leg: one message from one party to another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Flow {
    /// The integration it belongs to.
    pub integration: Integration,
    /// The journal label of its request, `<port>/<Operation>`.
    pub label: &'static str,
    /// Who sends it.
    pub caller: Party,
    /// Who receives it.
    pub receiver: Party,
    /// The platform path that exposes it, when the caller calls the platform.
    pub exposure: Option<&'static str>,
    /// The platform's SP-8 class, when the platform answers the caller.
    pub sla: Option<SlaClass>,
    /// How it is answered.
    pub answer: Answer,
    /// The contract operation, when this crate reads and writes it.
    pub operation: Option<Operation>,
}

const KSD_EXPOSURE: Option<&str> = Some("/service/KSD/Sygefravaer/2");
const JC_EXPOSURE: Option<&str> = Some("/service/JC/Sygefravaer/2");
const KY_EXPOSURE: Option<&str> = Some("/service/KY/Kontanthjaelp/2");

macro_rules! flows {
    ($($int:ident $label:literal: $from:ident -> $to:ident, $exp:expr, $sla:expr, $ans:ident, $op:expr;)*) => {
        /// Every leg of every integration.
        pub const FLOWS: &[Flow] = &[$(Flow {
            integration: Integration::$int,
            label: $label,
            caller: Party::$from,
            receiver: Party::$to,
            exposure: $exp,
            sla: $sla,
            answer: Answer::$ans,
            operation: $op,
        }),*];
    };
}

use Operation as O;
use SlaClass::{Complex, Medium, Simple};

flows! {
    Sf2095 "KSD/SendOpdateringFravaer": Jobcenter -> Platform, KSD_EXPOSURE, Some(Simple), TransportReceipt, Some(O::SendOpdateringFravaer);
    Sf2095 "KSD/ModtagOpdateringFravaer": Platform -> Ksd, None, None, TransportReceipt, Some(O::ModtagOpdateringFravaer);
    Sf2095 "JC/SendForretningsSvar": Ksd -> Platform, JC_EXPOSURE, Some(Simple), TransportReceipt, Some(O::SendForretningsSvarJc);
    Sf2095 "JC/ModtagForretningsSvar": Platform -> Jobcenter, None, None, TransportReceipt, Some(O::ModtagForretningsSvarJc);

    Sf2090 "JC/SendHaendelse": Ksd -> Platform, JC_EXPOSURE, Some(Simple), TransportReceipt, Some(O::SendHaendelse);
    Sf2090 "JC/ModtagHaendelse": Platform -> Jobcenter, None, None, TransportReceipt, Some(O::ModtagHaendelse);
    Sf2090 "KSD/SendForretningsSvar": Jobcenter -> Platform, KSD_EXPOSURE, Some(Simple), TransportReceipt, Some(O::SendForretningsSvarKsd);
    Sf2090 "KSD/ModtagForretningsSvar": Platform -> Ksd, None, None, TransportReceipt, Some(O::ModtagForretningsSvarKsd);

    Sf2093 "JC/SendAnmodningForlaengelse": Ksd -> Platform, JC_EXPOSURE, Some(Simple), TransportReceipt, Some(O::SendAnmodningForlaengelse);
    Sf2093 "JC/ModtagAnmodningForlaengelse": Platform -> Jobcenter, None, None, TransportReceipt, Some(O::ModtagAnmodningForlaengelse);
    Sf2093 "KSD/SendForretningsSvarForlaengelse": Jobcenter -> Platform, KSD_EXPOSURE, Some(Simple), TransportReceipt, Some(O::SendForretningsSvarForlaengelse);
    Sf2093 "KSD/ModtagForretningsSvarForlaengelse": Platform -> Ksd, None, None, TransportReceipt, Some(O::ModtagForretningsSvarForlaengelse);

    // SF2096: the same operation on both legs (the platform forwards HentSag as HentSag), so
    // the receiver's leg has the same label; the SLA class applies where the platform answers.
    Sf2096 "KSD/HentSag": Jobcenter -> Platform, KSD_EXPOSURE, Some(Medium), Synchronous, Some(O::HentSag);
    Sf2096 "KSD/HentSagsListe": Jobcenter -> Platform, KSD_EXPOSURE, Some(Complex), Synchronous, Some(O::HentSagsListe);

    // SF1690 (wire.md §5, defined here): eight synchronous operations, each answered with a
    // TransportKvittering; simple, like every other Send*. Forwarded under the same name (a
    // pass-through like SF2096), so KY's leg has the same label; `crate::ky` speaks them.
    Sf1690 "KY/SendKontaktforloeb": Jobcenter -> Ky, KY_EXPOSURE, Some(Simple), TransportReceipt, None;
    Sf1690 "KY/SendVisitationsgruppe": Jobcenter -> Ky, KY_EXPOSURE, Some(Simple), TransportReceipt, None;
    Sf1690 "KY/SendTilkendegivelse": Jobcenter -> Ky, KY_EXPOSURE, Some(Simple), TransportReceipt, None;
    Sf1690 "KY/SendAktivitet": Jobcenter -> Ky, KY_EXPOSURE, Some(Simple), TransportReceipt, None;
    Sf1690 "KY/SendGodtgoerelse": Jobcenter -> Ky, KY_EXPOSURE, Some(Simple), TransportReceipt, None;
    Sf1690 "KY/SendFravaer": Jobcenter -> Ky, KY_EXPOSURE, Some(Simple), TransportReceipt, None;
    Sf1690 "KY/SendSanktionsanmodning": Jobcenter -> Ky, KY_EXPOSURE, Some(Simple), TransportReceipt, None;
    Sf1690 "KY/SendMaalgruppeskift": Jobcenter -> Ky, KY_EXPOSURE, Some(Simple), TransportReceipt, None;

    // SF1612 (wire.md §4): the platform's job calls STAR; the Beskedfordeler delivers to KSD.
    Sf1612 "STAR/CreateSequence": Platform -> Star, None, None, Sequence, None;
    Sf1612 "STAR/GetIllnessUpdatedVersion6": Platform -> Star, None, None, Sequence, None;
    Sf1612 "STAR/TerminateSequence": Platform -> Star, None, None, Sequence, None;
    Sf1612 "STAR/CloseSequence": Platform -> Star, None, None, Sequence, None;
    Sf1612 "BF/Haendelsesbesked": Beskedfordeler -> Ksd, None, None, Delivery, None;
}

/// The leg a journal label (without its `#response`/`#fault` part) names.
pub fn flow_of_label(label: &str) -> Option<&'static Flow> {
    FLOWS.iter().find(|f| f.label == label)
}

/// The leg of a contract operation.
pub fn flow_of(op: Operation) -> &'static Flow {
    FLOWS
        .iter()
        .find(|f| f.operation == Some(op))
        // Every operation has a row: the test below holds the table to it.
        .unwrap_or(&FLOWS[0])
}

impl Flow {
    /// The platform port that exposes it, for the Sygefravaer legs.
    pub fn port(&self) -> Option<Port> {
        self.operation.map(Operation::port)
    }

    /// The SF1690 operation of a KY leg, whose messages [`crate::ky`] reads and writes.
    pub fn ky_operation(&self) -> Option<crate::ky::KyOperation> {
        crate::ky::KyOperation::from_label(self.label)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_contract_operation_has_exactly_one_row_with_its_label() {
        for op in Operation::ALL {
            let rows: Vec<_> = FLOWS.iter().filter(|f| f.operation == Some(*op)).collect();
            assert_eq!(rows.len(), 1, "{op}");
            assert_eq!(
                rows[0].label,
                op.label(),
                "the journal label is the operation's"
            );
            assert_eq!(flow_of(*op).label, op.label());
        }
    }

    #[test]
    fn labels_are_unique_and_every_integration_has_legs() {
        let mut labels: Vec<_> = FLOWS.iter().map(|f| f.label).collect();
        labels.sort_unstable();
        labels.dedup();
        assert_eq!(labels.len(), FLOWS.len());
        for i in Integration::ALL {
            assert!(i.flows().count() >= 2 || i == Integration::Sf2096, "{i:?}");
        }
    }

    #[test]
    fn exposures_agree_with_the_ports_and_sp8_classes_with_the_rules() {
        for f in FLOWS {
            if let (Some(p), Some(e)) = (f.port(), f.exposure) {
                assert_eq!(p.platform_path(), e, "{}", f.label);
            }
            // The platform answers exactly the calls made to one of its exposures (SP-8).
            assert_eq!(f.exposure.is_some(), f.sla.is_some(), "{}", f.label);
        }
        assert_eq!(SlaClass::of_label("KSD/HentSag"), SlaClass::Medium);
        assert_eq!(SlaClass::of_label("KSD/HentSagsListe"), SlaClass::Complex);
        assert_eq!(
            SlaClass::of_label("KSD/SendOpdateringFravaer"),
            SlaClass::Simple
        );
        assert_eq!(SlaClass::of_label("KSD/?"), SlaClass::Simple);
    }
}
