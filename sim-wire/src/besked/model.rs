//! The Beskedfordeler's messages as plain values: the `Haendelsesbesked` envelope (seed 004
//! §3.1.3.2, SP-11) and the requests and answers of its SOAP services.

use super::{
    base64, BESKEDTYPE_SYGEMELDINGSSTATUS, BESKED_VERSION, OBJEKTTYPE_PERSON,
    SIKKERHEDSKLASSIFICERING, STATUSKODE_OK,
};
use crate::model::SoapFault;
use crate::municipalities::{municipalities, residence_of, KOMBIT_CVR};
use crate::values::{Cpr, Cvr, DatoTid, Uuid};

/// `urn:oio:cpr:` — how a person is named in `RelateretObjekt/ObjektId` and in value lists
/// [seed 004 §3.1.3.2.1].
pub const URN_CPR: &str = "urn:oio:cpr:";
/// `urn:oio:cvr-nr:` — how `TilladtModtager` names a municipality; written [seed 004].
pub const URN_CVR_NR: &str = "urn:oio:cvr-nr:";
/// `urn:oio:cvr:` — how `ObjektAnsvarligMyndighed` names one [seed 004]; also accepted for
/// `TilladtModtager` when reading (wire.md §4).
pub const URN_CVR: &str = "urn:oio:cvr:";

/// A CVR from either of its URN forms.
pub fn cvr_from_urn(urn: &str) -> Option<Cvr> {
    let digits = urn
        .trim()
        .strip_prefix(URN_CVR_NR)
        .or_else(|| urn.trim().strip_prefix(URN_CVR))?;
    digits.parse().ok()
}

/// A CPR from its URN.
pub fn cpr_from_urn(urn: &str) -> Option<Cpr> {
    urn.trim().strip_prefix(URN_CPR)?.parse().ok()
}

/// One Haendelsesbesked: an envelope the broker filters and routes by, around opaque data
/// (seed 004 §3.1.3.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Haendelsesbesked {
    /// `BeskedId`: this message's own id (what a subscriber deduplicates deliveries by).
    pub besked_id: Uuid,
    /// `BeskedVersion`, [`BESKED_VERSION`] when written here.
    pub besked_version: String,
    /// `Beskedkuvert/Filtreringsdata`: what subscriptions match on (BF-1).
    pub filtreringsdata: Filtreringsdata,
    /// `Beskedkuvert/Leveranceinformation`: when and how it was made.
    pub leveranceinformation: Leveranceinformation,
    /// `Beskeddata`: the business event.
    pub beskeddata: Beskeddata,
}

/// `Filtreringsdata` [seed 004 §3.1.3.2.1].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filtreringsdata {
    /// `Beskedtype/UUIDIdentifikator`: [`BESKEDTYPE_SYGEMELDINGSSTATUS`] for SF1612.
    pub beskedtype: Uuid,
    /// `TilladtModtager`, once per allowed recipient: the 98 municipalities (SP-11).
    pub tilladte_modtagere: Vec<Cvr>,
    /// `RelateretObjekt`, in order; `[0]` is the person (SP-11), the subscription filter's
    /// subject (BF-1).
    pub relaterede_objekter: Vec<RelateretObjekt>,
    /// `ObjektRegistrering`: the registration behind the message.
    pub objekt_registrering: ObjektRegistrering,
}

/// One `RelateretObjekt`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelateretObjekt {
    /// `ObjektId/URNIdentifikator`, e.g. `urn:oio:cpr:0101701234`.
    pub objekt_id: String,
    /// `ObjektType/UUIDIdentifikator`, e.g. [`OBJEKTTYPE_PERSON`].
    pub objekt_type: Uuid,
}

impl RelateretObjekt {
    /// The person with this CPR number (SP-11's `RelateretObjekt[0]`).
    pub fn person(cpr: Cpr) -> RelateretObjekt {
        RelateretObjekt {
            objekt_id: format!("{URN_CPR}{cpr}"),
            objekt_type: person_type(),
        }
    }

    /// The CPR number, when this is a Person named by `urn:oio:cpr:`.
    pub fn cpr(&self) -> Option<Cpr> {
        if self.objekt_type != person_type() {
            return None;
        }
        cpr_from_urn(&self.objekt_id)
    }
}

/// `ObjektRegistrering` [seed 004 §3.1.3.2.1].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjektRegistrering {
    /// `ObjektRegistreringId`: STAR's MessageIdentifier. The Beskedfordeler publishes a
    /// registration once (idempotent publishing, SP-10).
    pub objekt_registrering_id: Uuid,
    /// `ObjektAnsvarligMyndighed`: the person's residence municipality, KOMBIT when unknown.
    pub objekt_ansvarlig_myndighed: Cvr,
    /// `ObjektId`: STAR's NemRefusionIdentifier.
    pub objekt_id: Uuid,
}

/// `Leveranceinformation` [defined here: seed 004 names the section; its fields follow
/// TS103's classification].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leveranceinformation {
    /// `Dannelsestidspunkt/TidsstempelDatoTid`: when the message was made (virtual time).
    pub dannelsestidspunkt: DatoTid,
    /// `Sikkerhedsklassificering`: [`SIKKERHEDSKLASSIFICERING`] for sick-leave statuses.
    pub sikkerhedsklassificering: String,
}

/// `Beskeddata/Base64` [seed 004 §3.1.3.2.2]: opaque bytes and how to read them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Beskeddata {
    /// The `content-type` attribute, `text/plain`.
    pub content_type: String,
    /// The `encoding` attribute, `ISO-8859-1`: the character set of [`Beskeddata::data`].
    pub encoding: String,
    /// The `file-type` attribute, `.xml`.
    pub file_type: String,
    /// The decoded bytes (written as base64).
    pub data: Vec<u8>,
}

impl Beskeddata {
    /// Bytes as SP-11 carries the STAR event: `text/plain`, `ISO-8859-1`, `.xml`.
    pub fn iso_8859_1_xml(data: Vec<u8>) -> Beskeddata {
        Beskeddata {
            content_type: "text/plain".into(),
            encoding: "ISO-8859-1".into(),
            file_type: ".xml".into(),
            data,
        }
    }

    /// The data as text, read in its declared encoding: ISO-8859-1 byte by byte, UTF-8 when
    /// declared so. `None` for another encoding or bytes that are not in the declared one.
    pub fn text(&self) -> Option<String> {
        match self.encoding.to_ascii_uppercase().as_str() {
            "ISO-8859-1" | "LATIN1" | "LATIN-1" => Some(base64::iso_8859_1_decode(&self.data)),
            "UTF-8" | "UTF8" => String::from_utf8(self.data.clone()).ok(),
            _ => None,
        }
    }
}

fn person_type() -> Uuid {
    OBJEKTTYPE_PERSON.parse().expect("a valid constant")
}

/// The values SP-11 builds a sick-leave status message from: the STAR event's and the ids
/// the publisher chose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sygemeldingsstatus {
    /// The new message's `BeskedId` (the publisher's id stream: no randomness here).
    pub besked_id: Uuid,
    /// The event's `PersonCivilRegistrationIdentifier`.
    pub cpr: Cpr,
    /// The event's `MessageIdentifier` → `ObjektRegistreringId`.
    pub message_identifier: Uuid,
    /// The event's `NemRefusionIdentifier` → `ObjektRegistrering/ObjektId`.
    pub nem_refusion_identifier: Uuid,
    /// When the message is made (the publisher's clock).
    pub dannelsestidspunkt: DatoTid,
    /// The STAR event, already ISO-8859-1 encoded (opaque here).
    pub event: Vec<u8>,
}

impl Haendelsesbesked {
    /// The message SP-11 makes of one STAR event: type [`BESKEDTYPE_SYGEMELDINGSSTATUS`],
    /// `TilladtModtager` once per municipality (98), `RelateretObjekt[0]` the person,
    /// `ObjektAnsvarligMyndighed` the residence municipality from the simulated CPR register
    /// ([`residence_of`]) or KOMBIT when unknown, Beskeddata the event as ISO-8859-1 `.xml`.
    pub fn sygemeldingsstatus(s: Sygemeldingsstatus) -> Haendelsesbesked {
        let kombit: Cvr = KOMBIT_CVR.parse().expect("a valid constant");
        let myndighed = residence_of(&s.cpr).map_or(kombit, |m| m.cvr);
        Haendelsesbesked {
            besked_id: s.besked_id,
            besked_version: BESKED_VERSION.into(),
            filtreringsdata: Filtreringsdata {
                beskedtype: BESKEDTYPE_SYGEMELDINGSSTATUS
                    .parse()
                    .expect("a valid constant"),
                tilladte_modtagere: municipalities().iter().map(|m| m.cvr).collect(),
                relaterede_objekter: vec![RelateretObjekt::person(s.cpr)],
                objekt_registrering: ObjektRegistrering {
                    objekt_registrering_id: s.message_identifier,
                    objekt_ansvarlig_myndighed: myndighed,
                    objekt_id: s.nem_refusion_identifier,
                },
            },
            leveranceinformation: Leveranceinformation {
                dannelsestidspunkt: s.dannelsestidspunkt,
                sikkerhedsklassificering: SIKKERHEDSKLASSIFICERING.into(),
            },
            beskeddata: Beskeddata::iso_8859_1_xml(s.event),
        }
    }

    /// The person a subscription filter looks at (BF-1): `RelateretObjekt[0]`, when it is a
    /// Person named by CPR. Only the first object counts, as in seed 004's expression.
    pub fn person_cpr(&self) -> Option<Cpr> {
        self.filtreringsdata.relaterede_objekter.first()?.cpr()
    }

    /// `ObjektRegistreringId`: what publishing is idempotent by.
    pub fn registrering_id(&self) -> Uuid {
        self.filtreringsdata
            .objekt_registrering
            .objekt_registrering_id
    }

    /// `Beskedtype`.
    pub fn beskedtype(&self) -> Uuid {
        self.filtreringsdata.beskedtype
    }
}

/// `StandardRetur`: every answer's status [public: StatusKode 20 = OK; the rest defined here].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StandardRetur {
    /// `StatusKode`: [`STATUSKODE_OK`] (20) or another code (`STATUSKODE_UGYLDIG`,
    /// `STATUSKODE_FEJL`, or whatever a subscriber answers).
    pub status_kode: u16,
    /// `FejlbeskedTekst`: why, when not OK.
    pub fejlbesked_tekst: Option<String>,
}

impl StandardRetur {
    /// StatusKode 20.
    pub fn ok() -> StandardRetur {
        StandardRetur {
            status_kode: STATUSKODE_OK,
            fejlbesked_tekst: None,
        }
    }

    /// Another code, with its reason.
    pub fn fejl(status_kode: u16, tekst: impl Into<String>) -> StandardRetur {
        StandardRetur {
            status_kode,
            fejlbesked_tekst: Some(tekst.into()),
        }
    }

    /// Whether this is StatusKode 20.
    pub fn is_ok(&self) -> bool {
        self.status_kode == STATUSKODE_OK
    }
}

/// A value-list change: `VaerdilisteTilfoejInput` or `VaerdilisteFjernInput` (BF-1)
/// [defined here].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VaerdilisteAendring {
    /// `VaerdilisteNavn`: the list, by the name its subscription's filter uses (without `@`).
    pub vaerdiliste_navn: String,
    /// `Vaerdi`: each an `urn:oio:cpr:` URN on the wire, at most
    /// [`super::VAERDIER_GRAENSE`].
    pub personer: Vec<Cpr>,
}

/// The answer to a value-list change [defined here].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VaerdilisteSvar {
    /// `StandardRetur`.
    pub standard_retur: StandardRetur,
    /// `AntalAendret`: how many values the change actually added or removed (a repeated
    /// change counts 0: changes are idempotent).
    pub antal_aendret: u32,
}

/// `HentBeskederInput`: fetch messages of a pull subscription (BF-2) [defined here].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HentBeskeder {
    /// `AbonnementId`: the subscription (the caller's own).
    pub abonnement_id: Uuid,
    /// `MaksAntal`: at most this many (1..=[`super::MAKS_ANTAL_GRAENSE`]).
    pub maks_antal: u32,
}

/// One message handed out by `HentBeskeder`, leased until acknowledged or the lease ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Levering {
    /// `LeveringId`: what `BekraeftBeskeder` acknowledges. The same for every time the same
    /// message is handed to the same subscription.
    pub levering_id: Uuid,
    /// `Forsoeg`: how many times it has been handed out, this time included.
    pub forsoeg: u32,
    /// The message.
    pub haendelsesbesked: Haendelsesbesked,
}

/// `HentBeskederOutput` [defined here].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HentBeskederSvar {
    /// `StandardRetur`.
    pub standard_retur: StandardRetur,
    /// `Levering`, oldest first; none when nothing is due.
    pub leveringer: Vec<Levering>,
}

/// `BekraeftBeskederInput`: acknowledge deliveries (BF-2) [defined here].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BekraeftBeskeder {
    /// `AbonnementId`: the subscription they were fetched from.
    pub abonnement_id: Uuid,
    /// `LeveringId`, one or more.
    pub levering_ider: Vec<Uuid>,
}

/// `BekraeftBeskederOutput` [defined here].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BekraeftBeskederSvar {
    /// `StandardRetur`.
    pub standard_retur: StandardRetur,
    /// `AntalBekraeftet`: how many were acknowledged now (an id acknowledged before, or not
    /// of this subscription, counts 0).
    pub antal_bekraeftet: u32,
}

/// A request of one of the Beskedfordeler's SOAP operations.
// One request is handled at a time and moved rarely; boxing the message would only add
// indirection to every construction and match.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BfRequest {
    /// `ModtagBeskedInput/Haendelsesbesked`: the push call.
    ModtagBesked(Haendelsesbesked),
    /// `VaerdilisteTilfoejInput`.
    VaerdilisteTilfoej(VaerdilisteAendring),
    /// `VaerdilisteFjernInput`.
    VaerdilisteFjern(VaerdilisteAendring),
    /// `HentBeskederInput`.
    HentBeskeder(HentBeskeder),
    /// `BekraeftBeskederInput`.
    BekraeftBeskeder(BekraeftBeskeder),
}

impl BfRequest {
    /// Its operation.
    pub fn operation(&self) -> super::BfOperation {
        use super::BfOperation as O;
        match self {
            BfRequest::ModtagBesked(_) => O::ModtagBesked,
            BfRequest::VaerdilisteTilfoej(_) => O::VaerdilisteTilfoej,
            BfRequest::VaerdilisteFjern(_) => O::VaerdilisteFjern,
            BfRequest::HentBeskeder(_) => O::HentBeskeder,
            BfRequest::BekraeftBeskeder(_) => O::BekraeftBeskeder,
        }
    }
}

/// An answer of one of the Beskedfordeler's SOAP operations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BfResponse {
    /// `ModtagBeskedOutput/StandardRetur`: the subscriber's verdict on a push.
    ModtagBesked(StandardRetur),
    /// `VaerdilisteTilfoejOutput`.
    VaerdilisteTilfoej(VaerdilisteSvar),
    /// `VaerdilisteFjernOutput`.
    VaerdilisteFjern(VaerdilisteSvar),
    /// `HentBeskederOutput`.
    HentBeskeder(HentBeskederSvar),
    /// `BekraeftBeskederOutput`.
    BekraeftBeskeder(BekraeftBeskederSvar),
}

impl BfResponse {
    /// Its operation.
    pub fn operation(&self) -> super::BfOperation {
        use super::BfOperation as O;
        match self {
            BfResponse::ModtagBesked(_) => O::ModtagBesked,
            BfResponse::VaerdilisteTilfoej(_) => O::VaerdilisteTilfoej,
            BfResponse::VaerdilisteFjern(_) => O::VaerdilisteFjern,
            BfResponse::HentBeskeder(_) => O::HentBeskeder,
            BfResponse::BekraeftBeskeder(_) => O::BekraeftBeskeder,
        }
    }

    /// Its `StandardRetur`.
    pub fn standard_retur(&self) -> &StandardRetur {
        match self {
            BfResponse::ModtagBesked(s) => s,
            BfResponse::VaerdilisteTilfoej(s) | BfResponse::VaerdilisteFjern(s) => {
                &s.standard_retur
            }
            BfResponse::HentBeskeder(s) => &s.standard_retur,
            BfResponse::BekraeftBeskeder(s) => &s.standard_retur,
        }
    }
}

/// Any document of the services.
// One message is handled at a time; boxing would only add indirection.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BfMessage {
    /// A request.
    Request(BfRequest),
    /// A response.
    Response(BfResponse),
    /// A SOAP fault (the platform's refusals carry a `ServiceplatformFault`).
    Fault(SoapFault),
}
