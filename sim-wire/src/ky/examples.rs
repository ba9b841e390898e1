//! Realistic, valid SF1690 messages: one per operation and sub-action, all about one citizen's
//! contact course in Viborg Kommune. [`requests`] is in an order KY accepts when sent one
//! after the other (the contact course first, its activity before the absence from it ...),
//! so tests and the published examples can replay it. Fixed values: no clock, no randomness.

use super::model::*;
use super::operation::{Handling, KyOperation};
use crate::model::{AuthorityContext, CallContext, Fejl, TransportKvittering};
use crate::values::{TransportValideringsKode, Uuid};

fn p<T: std::str::FromStr>(s: &str) -> T
where
    T::Err: std::fmt::Debug,
{
    s.parse().expect("example values are valid")
}

/// Viborg Kommune, as in the Sygefravaer examples.
pub const MYNDIGHED: &str = crate::examples::MYNDIGHED;
/// The citizen.
pub const PERSON_CPR: &str = "0101701234";
/// The jobcenter's id of the example contact course.
pub const KONTAKTFORLOEB_ID: &str = "6a1f0c3e-2b4d-4e7a-9c81-3d5f7b9e1a20";
/// The jobcenter's id of the example activity.
pub const AKTIVITET_ID: &str = "7b2e1d4f-3c5a-4f8b-8d92-4e6a8c0f2b31";

/// The example header with TransaktionIdentifikator `tid`.
pub fn header(tid: Uuid) -> KyHeader {
    KyHeader {
        transaktion_identifikator: tid,
        besked_forsendelses_dato_tid: p("2026-11-23T10:02:11.500+01:00"),
        registrering_it_system: p("0e4a7c2b-91d3-4f6a-8b5e-d2c1a9f37b60"),
        myndighed: p(MYNDIGHED),
        person_cpr: p(PERSON_CPR),
        jobcenter_sag_id: Some("JC-2026-004711".into()),
    }
}

/// A distinct TransaktionIdentifikator per example (its number in the last group).
fn tid(n: u32) -> Uuid {
    p(&format!("9d3c5e7a-1b2f-4c6d-8e0a-{n:012}"))
}

fn linje(id: &str, paragraf: u8, beloeb: &str) -> GodtgoerelseLinje {
    GodtgoerelseLinje {
        godtgoerelse_id: p(id),
        paragraf,
        beloeb: p(beloeb),
        dato: p("2026-12-07"),
    }
}

fn body(op: KyOperation, h: Handling) -> KyBody {
    use Handling::*;
    match op {
        KyOperation::Kontaktforloeb => KyBody::Kontaktforloeb(Kontaktforloeb {
            maalgruppe: matches!(h, Opret | Aendr).then(|| "2.2".to_string()),
            start_dato: matches!(h, Opret | Aendr).then(|| p("2026-11-02")),
            slut_dato: (h == Stop).then(|| p("2027-01-29")),
        }),
        KyOperation::Visitationsgruppe => KyBody::Visitationsgruppe(Visitationsgruppe {
            visitationsgruppe_kode: if h == Opret {
                "AKTIVITETSPARAT"
            } else {
                "JOBPARAT"
            }
            .into(),
            gyldig_fra_dato: p(if h == Opret {
                "2026-11-02"
            } else {
                "2026-12-01"
            }),
        }),
        KyOperation::Tilkendegivelse => KyBody::Tilkendegivelse(Tilkendegivelse {
            tilkendegivelse_id: p("8c3f2e5a-4d6b-4a9c-9ea3-5f7b9d1a3c42"),
            tilkendegivelse_kode: if h == Opret {
                "RAADIGHED"
            } else {
                "RAADIGHED_AENDRET"
            }
            .into(),
            dato: p("2026-11-04"),
        }),
        KyOperation::Aktivitet => KyBody::Aktivitet(Aktivitet {
            aktivitet_id: p(AKTIVITET_ID),
            tilbudstype: matches!(h, Opret | Aendr)
                .then(|| "OPKVALIFICERING_VED_ANSAETTELSE".to_string()),
            start_dato: matches!(h, Opret | Aendr).then(|| p("2026-12-07")),
            slut_dato: match h {
                Opret | Aendr => Some(p("2027-03-05")),
                Stop => Some(p("2027-01-15")),
                _ => None,
            },
            godtgoerelser: if h == Opret {
                vec![linje("a1b2c3d4-5e6f-4a7b-8c9d-0e1f2a3b4c5d", 82, "150.00")]
            } else {
                Vec::new()
            },
        }),
        KyOperation::Godtgoerelse => KyBody::Godtgoerelse(Godtgoerelse {
            aktivitet_id: Some(p(AKTIVITET_ID)),
            linje: linje("b2c3d4e5-6f7a-4b8c-9d0e-1f2a3b4c5d6e", 83, "1250.50"),
        }),
        KyOperation::Fravaer => KyBody::Fravaer(Fravaer {
            fravaer_id: p("c3d4e5f6-7a8b-4c9d-8e1f-2a3b4c5d6e7f"),
            aktivitet_id: Some(p(AKTIVITET_ID)),
            fra_dato: p("2026-12-14"),
            til_dato: p("2026-12-15"),
            uberettiget: true,
        }),
        KyOperation::Sanktionsanmodning => KyBody::Sanktionsanmodning(Sanktionsanmodning {
            sanktion_id: p("d4e5f6a7-8b9c-4d0e-9f2a-3b4c5d6e7f80"),
            sanktion_aarsag: "UDEBLIVELSE_SAMTALE".into(),
            haendelse_dato: p("2026-12-10"),
        }),
        KyOperation::Maalgruppeskift => KyBody::Maalgruppeskift(Maalgruppeskift {
            maalgruppe: "2.3".into(),
            skift_dato: p("2027-01-04"),
        }),
    }
}

/// The example payload of `op` with sub-action `h` and TransaktionIdentifikator number `n`.
pub fn payload(op: KyOperation, h: Handling, n: u32) -> KyPayload {
    KyPayload {
        header: header(tid(n)),
        handling: h,
        kontaktforloeb_id: p(KONTAKTFORLOEB_ID),
        body: body(op, h),
    }
}

/// The example request of `op`, created (OPRET), with a CallContext.
pub fn request(op: KyOperation) -> KyRequest {
    let n = KyOperation::ALL.iter().position(|o| *o == op).unwrap_or(0) as u32 + 1;
    with_context(payload(op, Handling::Opret, n))
}

fn with_context(payload: KyPayload) -> KyRequest {
    KyRequest {
        call_context: Some(CallContext {
            on_behalf_of_user: Some("sagsbehandler-17".into()),
            callers_service_call_identifier: None,
            accounting_info: None,
        }),
        authority_context: Some(AuthorityContext {
            municipality_cvr: p(MYNDIGHED),
        }),
        payload,
    }
}

/// Every operation and every sub-action seed 003 names, in an order KY accepts one after the
/// other, each named `<Operation>-<HANDLING>`.
pub fn requests() -> Vec<(String, KyRequest)> {
    use Handling::*;
    use KyOperation as O;
    let steps = [
        (O::Kontaktforloeb, Opret),
        (O::Visitationsgruppe, Opret),
        (O::Tilkendegivelse, Opret),
        (O::Aktivitet, Opret),
        (O::Godtgoerelse, Opret),
        (O::Fravaer, Opret),
        (O::Sanktionsanmodning, Opret),
        (O::Maalgruppeskift, Opret),
        (O::Visitationsgruppe, Aendr),
        (O::Tilkendegivelse, Aendr),
        (O::Aktivitet, Aendr),
        (O::Aktivitet, Stop),
        (O::Aktivitet, Slet),
        (O::Kontaktforloeb, Aendr),
        (O::Kontaktforloeb, Stop),
        (O::Kontaktforloeb, Genoptag),
    ];
    steps
        .into_iter()
        .enumerate()
        .map(|(i, (op, h))| {
            let r = if h == Opret {
                request(op)
            } else {
                with_context(payload(op, h, 100 + i as u32))
            };
            (format!("{}-{h}", op.name()), r)
        })
        .collect()
}

/// KY's OK receipt for `op`.
pub fn response_ok(op: KyOperation) -> KyResponse {
    KyResponse {
        operation: op,
        kvittering: TransportKvittering {
            kode: TransportValideringsKode::Ok,
            begrundelse: None,
            fejl_liste: Vec::new(),
        },
    }
}

/// KY's FEJL receipt refusing an activity for a contact course it does not know (KY-6).
pub fn response_fejl() -> KyResponse {
    KyResponse {
        operation: KyOperation::Aktivitet,
        kvittering: TransportKvittering {
            kode: TransportValideringsKode::Fejl,
            begrundelse: Some("1 error(s): the message was not processed; correct and resend".into()),
            fejl_liste: vec![Fejl {
                fejl_kode: "KY-6.UKENDT".into(),
                fejl_tekst: format!("Aktivitet/KontaktforloebID: KY knows no contact course {KONTAKTFORLOEB_ID} for this person in municipality {MYNDIGHED}"),
            }],
        },
    }
}
