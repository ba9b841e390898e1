//! The messages of the contract as plain Rust values (wire.md §1–§3).
//!
//! Every field holds a validated value type, so a `Message` that exists is well-formed;
//! field names are the wire's Danish element names in snake case.

use crate::operation::Operation;
use crate::values::*;

/// `ac:AuthorityContext`: the municipality the call runs in (rules SP-5, SP-7).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorityContext {
    /// `MunicipalityCVR`.
    pub municipality_cvr: Cvr,
}

/// `cc:CallContext`: optional caller bookkeeping, each at most 255 characters.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CallContext {
    /// `OnBehalfOfUser`.
    pub on_behalf_of_user: Option<String>,
    /// `CallersServiceCallIdentifier`.
    pub callers_service_call_identifier: Option<String>,
    /// `AccountingInfo`.
    pub accounting_info: Option<String>,
}

/// `sft:Header`, common to every Sygefravaer payload (wire.md §3.1, rule KSD-3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// Unique per message; the asynchronous answer repeats it (rule KSD-2).
    pub transaktion_identifikator: Uuid,
    /// When the message was sent.
    pub besked_forsendelses_dato_tid: DatoTid,
    /// When the object was registered.
    pub registrering_fra_dato_tid: DatoTid,
    /// The registering IT system.
    pub registrering_it_system: Uuid,
    /// The registering user; never filled by KSD.
    pub registrering_bruger: Option<Uuid>,
    /// Publisher type; never filled by KSD.
    pub udgiver_type_kode: Option<UdgiverTypeKode>,
    /// The municipality; must agree with the security context (rule KSD-8).
    pub myndighed: Cvr,
    /// The person on sick leave.
    pub sygemeldte_part: Cpr,
    /// The notifier: employer, unemployment fund or self-employed.
    pub arbejdsgiver_part: Cvr,
    /// The employer's production unit, only for employment.
    pub arbejdsgiver_produktionsenhed: Option<PNummer>,
    /// NemRefusion's id of the notification.
    pub nem_refusion_identifier: Option<Uuid>,
    /// KSD's case id.
    pub sag_identifikator: Option<Uuid>,
    /// The jobcenter's own case id.
    pub jobcenter_sag_id: Option<String>,
    /// Legacy KMD case id.
    pub kmd_sag_identifikator: Option<String>,
    /// Legacy KMD sub-case id.
    pub kmd_delsag_identifikator: Option<String>,
    /// When the business event happened.
    pub forretning_haendelse_dato_tid: DatoTid,
    /// First day of absence.
    pub foerste_fravaersdag: Dato,
}

/// `sft:OpdateringFravaer` (SF2095): the jobcenter ends follow-up or approves holiday.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpdateringFravaer {
    /// The common header.
    pub header: Header,
    /// Why follow-up ends (rule KSD-5).
    pub ophoers_aarsag: OphoersAarsag,
    /// End of follow-up, or first approved holiday day.
    pub ophoers_start_dato: Dato,
    /// Last approved holiday day; not before the start (rule KSD-4).
    pub ophoers_slut_dato: Option<Dato>,
}

/// One `kvit:Fejl` of a `FejlListe`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Fejl {
    /// `FejlKode`: rule ID + short code in our receipts.
    pub fejl_kode: String,
    /// `FejlTekst`.
    pub fejl_tekst: String,
}

/// `kvit:TransportKvittering`: the synchronous answer to every asynchronous operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransportKvittering {
    /// OK, ADVARSEL or FEJL.
    pub kode: TransportValideringsKode,
    /// Why.
    pub begrundelse: Option<String>,
    /// What was wrong; empty means the element is absent.
    pub fejl_liste: Vec<Fejl>,
}

impl TransportKvittering {
    /// The FejlKode that marks a discarded message (KSD-14: code 10 from outside).
    pub fn discard_code() -> String {
        format!(
            "{}.{}",
            crate::Rule::Ksd14.id(),
            crate::rules::code::KASSERET
        )
    }

    /// Whether the receiver read the message and threw it away by rule: ADVARSEL naming
    /// [`TransportKvittering::discard_code`]. Nothing was processed and no business receipt
    /// follows (KSD-14), though the code is not FEJL (the sender does not own it any more).
    pub fn discards(&self) -> bool {
        self.kode == TransportValideringsKode::Advarsel
            && self
                .fejl_liste
                .iter()
                .any(|f| f.fejl_kode == Self::discard_code())
    }
}

/// `kvit:Forretningskvittering`: KSD's business verdict, sent asynchronously.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forretningskvittering {
    /// MODTAGET, AFLEVERET, ACCEPTERET, AFVIST or FEJLET.
    pub kode: ForretningsValideringsKode,
    /// Why.
    pub begrundelse: Option<String>,
    /// Only with FEJLET (rule KSD-2); empty means absent.
    pub fejl_liste: Vec<Fejl>,
}

/// `sft:ForretningsSvar`: header (same TransaktionIdentifikator) + business receipt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForretningsSvar {
    /// Header of the answered message.
    pub header: Header,
    /// The verdict.
    pub kvittering: Forretningskvittering,
}

/// `sft:Sag`: KSD's sick-leave case as the jobcenter sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sag {
    /// KSD's id.
    pub sag_identifikator: Uuid,
    /// NemRefusion's id.
    pub nem_refusion_identifier: Option<Uuid>,
    /// The person.
    pub sygemeldte_part: Cpr,
    /// The municipality.
    pub myndighed: Cvr,
    /// The notifier.
    pub arbejdsgiver_part: Cvr,
    /// Production unit.
    pub arbejdsgiver_produktionsenhed: Option<PNummer>,
    /// First day of absence.
    pub foerste_fravaersdag: Dato,
    /// AKTIV or OPHOERT.
    pub status: Status,
    /// Why it ended (outward codes only, rule KSD-6).
    pub ophoers_aarsag: Option<OphoersAarsag>,
    /// When it ended.
    pub ophoers_start_dato: Option<Dato>,
    /// Last holiday day.
    pub ophoers_slut_dato: Option<Dato>,
    /// Duration code (rule KSD-9).
    pub varighed_kode: VarighedKode,
    /// `sft:StatusHistorik` (0..1, defined here): every change KSD made to the case, oldest
    /// first, as seen from outside (KSD-6). Only SF2096 answers carry it; empty elsewhere.
    pub historik: Vec<StatusAendring>,
}

/// `sft:StatusAendring` (defined here): the case as one change left it, and when KSD
/// registered the change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusAendring {
    /// When KSD registered the change.
    pub registrering_dato_tid: DatoTid,
    /// AKTIV or OPHOERT after the change.
    pub status: Status,
    /// Why it ended, or the holiday code (outward codes only, KSD-6).
    pub ophoers_aarsag: Option<OphoersAarsag>,
    /// When it ended, or the first holiday day.
    pub ophoers_start_dato: Option<Dato>,
    /// The last holiday day.
    pub ophoers_slut_dato: Option<Dato>,
    /// The duration code after the change.
    pub varighed_kode: VarighedKode,
}

/// `sft:Haendelse` (SF2090): a case was created, changed or ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Haendelse {
    /// Header.
    pub header: Header,
    /// What happened.
    pub haendelse_type: HaendelseType,
    /// The case after the event.
    pub sag: Sag,
}

/// `sft:AnmodningForlaengelse` (SF2093): KSD asks whether the case is extended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnmodningForlaengelse {
    /// Header.
    pub header: Header,
    /// The case.
    pub sag: Sag,
    /// When the duration limit is reached.
    pub varighedsgraense_dato: Dato,
    /// Answer deadline.
    pub svar_frist: Dato,
}

/// The jobcenter's answer to an extension request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SvarForlaengelse {
    /// `sft:Forlaengelse`.
    Forlaengelse {
        /// Limited or not.
        forlaengelse_type: ForlaengelseType,
        /// Until when, for a limited extension.
        forlaengelse_slut_dato: Option<Dato>,
    },
    /// `sft:Afvisning`.
    Afvisning {
        /// Why not.
        begrundelse: String,
    },
}

/// `sft:ForretningsSvarForlaengelse` (SF2093 answer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForretningsSvarForlaengelse {
    /// Header (same TransaktionIdentifikator as the request).
    pub header: Header,
    /// Extension or rejection.
    pub svar: SvarForlaengelse,
}

/// `HentSag` criteria (SF2096).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HentSag {
    /// By KSD's case id.
    SagIdentifikator(Uuid),
    /// By NemRefusion's id.
    NemRefusionIdentifier(Uuid),
}

/// `HentSagsListe` criteria (SF2096).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HentSagsListe {
    /// Only this person's cases.
    pub sygemeldte_part: Option<Cpr>,
    /// Period start.
    pub periode_fra: Option<Dato>,
    /// Period end.
    pub periode_til: Option<Dato>,
}

/// A request's payload; its variant must match the operation's [`crate::PayloadKind`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payload {
    /// SF2095.
    OpdateringFravaer(OpdateringFravaer),
    /// Business receipt or event acknowledgement.
    ForretningsSvar(ForretningsSvar),
    /// SF2093 answer.
    ForretningsSvarForlaengelse(ForretningsSvarForlaengelse),
    /// SF2090.
    Haendelse(Haendelse),
    /// SF2093 request.
    AnmodningForlaengelse(AnmodningForlaengelse),
    /// SF2096.
    HentSag(HentSag),
    /// SF2096.
    HentSagsListe(HentSagsListe),
}

impl Payload {
    /// The header, for payloads that have one.
    pub fn header(&self) -> Option<&Header> {
        match self {
            Payload::OpdateringFravaer(p) => Some(&p.header),
            Payload::ForretningsSvar(p) => Some(&p.header),
            Payload::ForretningsSvarForlaengelse(p) => Some(&p.header),
            Payload::Haendelse(p) => Some(&p.header),
            Payload::AnmodningForlaengelse(p) => Some(&p.header),
            Payload::HentSag(_) | Payload::HentSagsListe(_) => None,
        }
    }
}

/// A request: security context first, then the payload (wire.md §1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// Which operation.
    pub operation: Operation,
    /// Optional caller bookkeeping.
    pub call_context: Option<CallContext>,
    /// The municipality context; mandatory by rule, optional in form so its absence can be
    /// reported instead of failing the parse.
    pub authority_context: Option<AuthorityContext>,
    /// The payload.
    pub payload: Payload,
}

/// A response body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResponseBody {
    /// Every asynchronous operation, and a refused `HentSag`.
    TransportKvittering(TransportKvittering),
    /// `HentSag` found the case.
    Sag(Box<Sag>),
    /// `HentSagsListe`.
    SagsListe(Vec<Sag>),
}

/// A response to an operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// Which operation it answers.
    pub operation: Operation,
    /// The body.
    pub body: ResponseBody,
}

/// One `spf:Error`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceplatformError {
    /// `ErrorCode`.
    pub error_code: String,
    /// `ErrorText`.
    pub error_text: String,
}

/// `spf:ServiceplatformFault`: the detail of every platform fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceplatformFault {
    /// `ErrorList/Error`, at least one.
    pub errors: Vec<ServiceplatformError>,
}

/// A SOAP 1.1 fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SoapFault {
    /// `faultcode`, e.g. `soap:Client` or `soap:Server` (written with our `soap` prefix).
    pub fault_code: String,
    /// `faultstring`.
    pub fault_string: String,
    /// `faultactor`.
    pub fault_actor: Option<String>,
    /// `detail/ServiceplatformFault`.
    pub serviceplatform_fault: Option<ServiceplatformFault>,
}

impl SoapFault {
    /// A platform fault (rule SP-4 and friends): `ServiceplatformFault` detail whose
    /// `ErrorCode` is the rule ID and whose text ends with the CallUUID and the time received,
    /// as the real platform words it, so the call can be found in the platform's journal.
    /// `client` chooses `soap:Client` (the caller must fix something) over `soap:Server`.
    pub fn serviceplatform(
        client: bool,
        rule: crate::rules::Rule,
        text: &str,
        call_uuid: Uuid,
        received: DatoTid,
    ) -> SoapFault {
        SoapFault {
            fault_code: if client { "soap:Client" } else { "soap:Server" }.into(),
            fault_string: format!("{text} CallUUID: {call_uuid}"),
            fault_actor: None,
            serviceplatform_fault: Some(ServiceplatformFault {
                errors: vec![ServiceplatformError {
                    error_code: rule.id().into(),
                    error_text: format!("{text} CallUUID: {call_uuid} Received: {received}"),
                }],
            }),
        }
    }

    /// The rule a platform fault names in its first `ErrorCode`, if it is one of ours.
    pub fn rule(&self) -> Option<crate::rules::Rule> {
        let e = self.serviceplatform_fault.as_ref()?.errors.first()?;
        crate::rules::Rule::from_id(&e.error_code)
    }

    /// The CallUUID a platform fault carries in its text (`... CallUUID: <uuid> ...`).
    pub fn call_uuid(&self) -> Option<Uuid> {
        let texts = std::iter::once(self.fault_string.as_str()).chain(
            self.serviceplatform_fault
                .iter()
                .flat_map(|f| f.errors.iter().map(|e| e.error_text.as_str())),
        );
        texts.into_iter().find_map(|t| {
            let i = t.find("CallUUID")?;
            let rest = t[i + "CallUUID".len()..].trim_start_matches([':', ' ', '=']);
            rest.get(..36)?.parse().ok()
        })
    }
}

/// Any message of the contract.
// One message is handled at a time and moved rarely; boxing would only add indirection
// to every construction and match.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// An operation's request.
    Request(Request),
    /// An operation's response.
    Response(Response),
    /// A SOAP fault.
    Fault(SoapFault),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_platform_fault_carries_its_call_uuid_and_rule_sp4() {
        let id: Uuid = "7d3e2f1a-0b9c-4d8e-a7f6-5e4d3c2b1a09".parse().unwrap();
        let at: DatoTid = "2026-11-23T09:15:02+01:00".parse().unwrap();
        let f = SoapFault::serviceplatform(true, crate::Rule::Sp4, "No route.", id, at);
        assert_eq!(f.call_uuid(), Some(id));
        assert_eq!(f.rule(), Some(crate::Rule::Sp4));
        let back = crate::read(crate::write_fault(&f).as_bytes(), None).unwrap();
        assert_eq!(back.message, Some(Message::Fault(f)));
    }
}
