//! Property (SF1690): for every KY operation and any values, `read(write(m)) == m`, and the
//! reader reports exactly the problems `ky::validate(m)` reports for the typed message — the
//! two paths share one set of rules (KY-2..KY-5).

use proptest::prelude::*;
use sim_wire::ky::{self, *};
use sim_wire::{AuthorityContext, Cpr, Cvr, Dato, DatoTid, Problem, Uuid};
use time::{Date, Duration, OffsetDateTime};

fn uuid() -> impl Strategy<Value = Uuid> {
    any::<[u8; 16]>().prop_map(Uuid::from_bytes)
}

fn dato() -> impl Strategy<Value = Dato> {
    (0i64..20_000).prop_map(|d| {
        Dato(Date::from_calendar_date(1990, time::Month::January, 1).unwrap() + Duration::days(d))
    })
}

fn dato_tid() -> impl Strategy<Value = DatoTid> {
    (0i64..4_000_000_000).prop_map(|s| DatoTid(OffsetDateTime::from_unix_timestamp(s).unwrap()))
}

fn cvr() -> impl Strategy<Value = Cvr> {
    prop::sample::select(vec!["29189846", "55133018", "64942212"]).prop_map(|s| s.parse().unwrap())
}

fn cpr() -> impl Strategy<Value = Cpr> {
    prop::sample::select(vec!["0101701234", "3112851111", "1502034321"])
        .prop_map(|s| s.parse().unwrap())
}

/// Code texts as the reader returns them: trimmed, non-empty, with characters to escape.
fn kode() -> impl Strategy<Value = String> {
    "[A-Z0-9&<>._]([A-Z0-9 &<>'._-]{0,20}[A-Z0-9])?"
}

fn handling() -> impl Strategy<Value = Handling> {
    prop::sample::select(Handling::ALL.to_vec())
}

fn linje() -> impl Strategy<Value = GodtgoerelseLinje> {
    (uuid(), 80u8..85, -100_000i64..10_000_000, dato()).prop_map(|(id, paragraf, oere, dato)| {
        GodtgoerelseLinje {
            godtgoerelse_id: id,
            paragraf,
            beloeb: Beloeb(oere),
            dato,
        }
    })
}

fn body() -> impl Strategy<Value = KyBody> {
    prop_oneof![
        (
            prop::option::of(kode()),
            prop::option::of(dato()),
            prop::option::of(dato())
        )
            .prop_map(
                |(maalgruppe, start_dato, slut_dato)| KyBody::Kontaktforloeb(Kontaktforloeb {
                    maalgruppe,
                    start_dato,
                    slut_dato
                })
            ),
        (
            prop::sample::select(vec!["JOBPARAT", "AKTIVITETSPARAT", "PARAT"]),
            dato()
        )
            .prop_map(|(k, d)| KyBody::Visitationsgruppe(Visitationsgruppe {
                visitationsgruppe_kode: k.into(),
                gyldig_fra_dato: d
            })),
        (uuid(), kode(), dato()).prop_map(|(id, k, d)| KyBody::Tilkendegivelse(Tilkendegivelse {
            tilkendegivelse_id: id,
            tilkendegivelse_kode: k,
            dato: d
        })),
        (
            uuid(),
            prop::option::of(kode()),
            prop::option::of(dato()),
            prop::option::of(dato()),
            prop::collection::vec(linje(), 0..3)
        )
            .prop_map(|(id, t, s, e, g)| KyBody::Aktivitet(Aktivitet {
                aktivitet_id: id,
                tilbudstype: t,
                start_dato: s,
                slut_dato: e,
                godtgoerelser: g
            })),
        (prop::option::of(uuid()), linje()).prop_map(|(a, l)| KyBody::Godtgoerelse(Godtgoerelse {
            aktivitet_id: a,
            linje: l
        })),
        (
            uuid(),
            prop::option::of(uuid()),
            dato(),
            dato(),
            any::<bool>()
        )
            .prop_map(|(id, a, f, t, u)| KyBody::Fravaer(Fravaer {
                fravaer_id: id,
                aktivitet_id: a,
                fra_dato: f,
                til_dato: t,
                uberettiget: u
            })),
        (uuid(), kode(), dato()).prop_map(|(id, k, d)| KyBody::Sanktionsanmodning(
            Sanktionsanmodning {
                sanktion_id: id,
                sanktion_aarsag: k,
                haendelse_dato: d
            }
        )),
        (kode(), dato()).prop_map(|(m, d)| KyBody::Maalgruppeskift(Maalgruppeskift {
            maalgruppe: m,
            skift_dato: d
        })),
    ]
}

fn request() -> impl Strategy<Value = KyRequest> {
    (
        (
            uuid(),
            dato_tid(),
            uuid(),
            cvr(),
            cpr(),
            prop::option::of(kode()),
        ),
        handling(),
        uuid(),
        body(),
        prop::option::of(cvr()),
    )
        .prop_map(
            |((tid, sent, sys, m, cpr, sag), h, kf, body, ac)| KyRequest {
                call_context: None,
                authority_context: ac.map(|municipality_cvr| AuthorityContext { municipality_cvr }),
                payload: KyPayload {
                    header: KyHeader {
                        transaktion_identifikator: tid,
                        besked_forsendelses_dato_tid: sent,
                        registrering_it_system: sys,
                        myndighed: m,
                        person_cpr: cpr,
                        jobcenter_sag_id: sag,
                    },
                    handling: h,
                    kontaktforloeb_id: kf,
                    body,
                },
            },
        )
}

proptest! {
    #[test]
    fn read_of_write_is_identity_and_problems_agree(r in request()) {
        let xml = ky::write_request(&r);
        let d = ky::read(xml.as_bytes(), Some(&r.operation().soap_action())).unwrap();
        prop_assert_eq!(d.request(), Some(&r));
        let typed: Vec<String> = ky::validate(&KyMessage::Request(r.clone())).iter().map(Problem::fejl_kode).collect();
        let read: Vec<String> = d.problems.iter().map(Problem::fejl_kode).collect();
        prop_assert_eq!(read, typed);
    }
}
