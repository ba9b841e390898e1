//! One valid message per operation of the Beskedfordeler's services, with Danish letters in
//! the STAR event so that ISO-8859-1 and base64 are exercised (golden files, contract examples,
//! tests).

use super::base64::iso_8859_1_encode;
use super::model::*;
use super::{BfOperation, VAERDILISTE_SYGEMELDINGSSTATUS};
use crate::values::{Cpr, DatoTid, Uuid};

/// The citizen of the examples.
pub const CPR: &str = "0101701234";
/// The example's STAR MessageIdentifier (→ ObjektRegistreringId).
pub const MESSAGE_IDENTIFIER: &str = "5b0c1d2e-3f40-4a51-9b62-7c8d9eafb0c1";
/// The example's NemRefusionIdentifier (→ ObjektRegistrering/ObjektId).
pub const NEM_REFUSION_IDENTIFIER: &str = "6c1d2e3f-4051-4b62-8c73-8d9eafb0c1d2";
/// The example subscription.
pub const ABONNEMENT_ID: &str = "7d2e3f40-5162-4c73-9d84-9eafb0c1d2e3";

fn uuid(s: &str) -> Uuid {
    s.parse().expect("a valid example")
}

/// A STAR sick-leave status event as text, with æ, ø and å in the case worker's name (the
/// event's shape is STAR's, seed 004 §3.3.5; here it is opaque data).
pub fn star_event_text(
    cpr: &str,
    message_identifier: &str,
    nem_refusion_identifier: &str,
) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n\
<ns0:GetIllnessUpdatedResponse xmlns:ns0=\"http://kmd.dk/ksd/erp/stardfdg-modtagsygmeldingstatus\">\n\
  <IllnessUpdateRegistration>\n\
    <RequestMetadata>\n\
      <EventDate>2026-11-23T00:00:00Z</EventDate>\n\
      <CaseWorkerStructure>\n\
        <CaseWorkerGivenName>Søren</CaseWorkerGivenName>\n\
        <CaseWorkerSurname>Ærøskøbing-Åberg</CaseWorkerSurname>\n\
      </CaseWorkerStructure>\n\
    </RequestMetadata>\n\
    <PersonCivilRegistrationIdentifier>{cpr}</PersonCivilRegistrationIdentifier>\n\
    <IsIllnessEnded>false</IsIllnessEnded>\n\
    <Illness>\n\
      <IllnessStartDate>2026-11-02T00:00:00</IllnessStartDate>\n\
      <MessageIdentifier>{message_identifier}</MessageIdentifier>\n\
      <NemRefusionIdentifier>{nem_refusion_identifier}</NemRefusionIdentifier>\n\
    </Illness>\n\
  </IllnessUpdateRegistration>\n\
</ns0:GetIllnessUpdatedResponse>\n"
    )
}

/// The example's Haendelsesbesked, made by SP-11's rule.
pub fn haendelsesbesked() -> Haendelsesbesked {
    let event = star_event_text(CPR, MESSAGE_IDENTIFIER, NEM_REFUSION_IDENTIFIER);
    Haendelsesbesked::sygemeldingsstatus(Sygemeldingsstatus {
        besked_id: uuid("8e3f4051-6273-4d84-8e95-afb0c1d2e3f4"),
        cpr: CPR.parse::<Cpr>().expect("a valid example"),
        message_identifier: uuid(MESSAGE_IDENTIFIER),
        nem_refusion_identifier: uuid(NEM_REFUSION_IDENTIFIER),
        dannelsestidspunkt: "2026-11-23T09:15:02+01:00"
            .parse::<DatoTid>()
            .expect("a valid example"),
        event: iso_8859_1_encode(&event).expect("the example is Latin-1"),
    })
}

/// A valid request of a SOAP operation (`None` for those that are no SOAP call).
pub fn request(op: BfOperation) -> Option<BfRequest> {
    let cpr: Cpr = CPR.parse().expect("a valid example");
    Some(match op {
        BfOperation::ModtagBesked => BfRequest::ModtagBesked(haendelsesbesked()),
        BfOperation::VaerdilisteTilfoej => BfRequest::VaerdilisteTilfoej(VaerdilisteAendring {
            vaerdiliste_navn: VAERDILISTE_SYGEMELDINGSSTATUS.into(),
            personer: vec![cpr, "0202802345".parse().expect("a valid example")],
        }),
        BfOperation::VaerdilisteFjern => BfRequest::VaerdilisteFjern(VaerdilisteAendring {
            vaerdiliste_navn: VAERDILISTE_SYGEMELDINGSSTATUS.into(),
            personer: vec![cpr],
        }),
        BfOperation::HentBeskeder => BfRequest::HentBeskeder(HentBeskeder {
            abonnement_id: uuid(ABONNEMENT_ID),
            maks_antal: 10,
        }),
        BfOperation::BekraeftBeskeder => BfRequest::BekraeftBeskeder(BekraeftBeskeder {
            abonnement_id: uuid(ABONNEMENT_ID),
            levering_ider: vec![uuid("9f405162-7384-4e95-9fa6-b0c1d2e3f405")],
        }),
        BfOperation::AfsendBesked | BfOperation::OpretAbonnement => return None,
    })
}

/// A valid answer of a SOAP operation (`None` for those that are no SOAP call).
pub fn response(op: BfOperation) -> Option<BfResponse> {
    Some(match op {
        BfOperation::ModtagBesked => BfResponse::ModtagBesked(StandardRetur::ok()),
        BfOperation::VaerdilisteTilfoej => BfResponse::VaerdilisteTilfoej(VaerdilisteSvar {
            standard_retur: StandardRetur::ok(),
            antal_aendret: 2,
        }),
        BfOperation::VaerdilisteFjern => BfResponse::VaerdilisteFjern(VaerdilisteSvar {
            standard_retur: StandardRetur::ok(),
            antal_aendret: 1,
        }),
        BfOperation::HentBeskeder => BfResponse::HentBeskeder(HentBeskederSvar {
            standard_retur: StandardRetur::ok(),
            leveringer: vec![Levering {
                levering_id: uuid("9f405162-7384-4e95-9fa6-b0c1d2e3f405"),
                forsoeg: 1,
                haendelsesbesked: haendelsesbesked(),
            }],
        }),
        BfOperation::BekraeftBeskeder => BfResponse::BekraeftBeskeder(BekraeftBeskederSvar {
            standard_retur: StandardRetur::ok(),
            antal_bekraeftet: 1,
        }),
        BfOperation::AfsendBesked | BfOperation::OpretAbonnement => return None,
    })
}
