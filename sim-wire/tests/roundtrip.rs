//! Property: for every operation and any valid values, `read(write(m)) == m`, and the reader
//! reports exactly the problems that `validate(m)` reports for the typed message (the two
//! paths share one set of rules).

use proptest::prelude::*;
use sim_wire::*;
use time::{Date, Duration, OffsetDateTime, UtcOffset};

fn cvr() -> impl Strategy<Value = Cvr> {
    (0u32..100_000_000).prop_map(|v| Cvr::try_from(v).unwrap())
}

fn pnummer() -> impl Strategy<Value = PNummer> {
    (0u64..10_000_000_000).prop_map(|v| PNummer::try_from(v).unwrap())
}

fn date() -> impl Strategy<Value = Date> {
    (0i64..60_000).prop_map(|d| {
        Date::from_calendar_date(1900, time::Month::January, 1).unwrap() + Duration::days(d)
    })
}

fn dato() -> impl Strategy<Value = Dato> {
    date().prop_map(Dato)
}

/// A CPR whose 7th digit puts its birth date in the right century.
fn cpr() -> impl Strategy<Value = Cpr> {
    ((1937i32..2037), 1u32..=365, 0u32..1000, 0usize..4).prop_map(|(y, ord, tail, pick)| {
        let d = Date::from_ordinal_date(
            y,
            ord.min(if time::util::is_leap_year(y) {
                366
            } else {
                365
            }) as u16,
        )
        .unwrap();
        let seventh = if y >= 2000 {
            [4, 9, 5, 8][pick]
        } else {
            [0, 1, 2, 3][pick]
        };
        let s = format!(
            "{:02}{:02}{:02}{}{:03}",
            d.day(),
            d.month() as u8,
            y % 100,
            seventh,
            tail
        );
        s.parse().unwrap()
    })
}

fn uuid() -> impl Strategy<Value = Uuid> {
    any::<[u8; 16]>().prop_map(Uuid::from_bytes)
}

fn dato_tid() -> impl Strategy<Value = DatoTid> {
    (0i64..4_000_000_000, 0i64..1000, -48i32..=56).prop_map(|(s, ms, q)| {
        let t = OffsetDateTime::from_unix_timestamp(s).unwrap() + Duration::milliseconds(ms);
        DatoTid(t.to_offset(UtcOffset::from_whole_seconds(q * 15 * 60).unwrap()))
    })
}

/// Free text as the reader returns it: trimmed, non-empty, with characters that need escaping.
fn text() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9æøåÆØÅ&<>'\"-]([a-zA-Z0-9 æøå&<>'\"./-]{0,30}[a-zA-Z0-9])?"
}

fn aarsag() -> impl Strategy<Value = OphoersAarsag> {
    prop::sample::select(OPHOERS_AARSAG_LIST.to_vec()).prop_map(|c| OphoersAarsag::new(c).unwrap())
}

fn header() -> impl Strategy<Value = Header> {
    (
        (
            uuid(),
            dato_tid(),
            dato_tid(),
            uuid(),
            prop::option::of(uuid()),
            prop::option::of((0u8..100).prop_map(|v| UdgiverTypeKode::new(v).unwrap())),
        ),
        (
            cvr(),
            cpr(),
            cvr(),
            prop::option::of(pnummer()),
            prop::option::of(uuid()),
            prop::option::of(uuid()),
        ),
        (
            prop::option::of(text()),
            prop::option::of(text()),
            prop::option::of(text()),
            dato_tid(),
            dato(),
        ),
    )
        .prop_map(
            |((t, b, r, it, rb, u), (m, c, a, pn, nr, si), (jc, k1, k2, fh, ff))| Header {
                transaktion_identifikator: t,
                besked_forsendelses_dato_tid: b,
                registrering_fra_dato_tid: r,
                registrering_it_system: it,
                registrering_bruger: rb,
                udgiver_type_kode: u,
                myndighed: m,
                sygemeldte_part: c,
                arbejdsgiver_part: a,
                arbejdsgiver_produktionsenhed: pn,
                nem_refusion_identifier: nr,
                sag_identifikator: si,
                jobcenter_sag_id: jc,
                kmd_sag_identifikator: k1,
                kmd_delsag_identifikator: k2,
                forretning_haendelse_dato_tid: fh,
                foerste_fravaersdag: ff,
            },
        )
}

fn sag() -> impl Strategy<Value = Sag> {
    (
        (
            uuid(),
            prop::option::of(uuid()),
            cpr(),
            cvr(),
            cvr(),
            prop::option::of(pnummer()),
        ),
        (
            dato(),
            prop::sample::select(Status::ALL),
            prop::option::of(aarsag()),
            prop::option::of(dato()),
            prop::option::of(dato()),
            prop::sample::select(VarighedKode::ALL),
        ),
        prop::collection::vec(aendring(), 0..3),
    )
        .prop_map(|((s, n, c, m, a, p), (f, st, oa, os, oe, v), h)| Sag {
            sag_identifikator: s,
            nem_refusion_identifier: n,
            sygemeldte_part: c,
            myndighed: m,
            arbejdsgiver_part: a,
            arbejdsgiver_produktionsenhed: p,
            foerste_fravaersdag: f,
            status: st,
            ophoers_aarsag: oa,
            ophoers_start_dato: os,
            ophoers_slut_dato: oe,
            varighed_kode: v,
            historik: h,
        })
}

fn aendring() -> impl Strategy<Value = StatusAendring> {
    (
        dato_tid(),
        prop::sample::select(Status::ALL),
        prop::option::of(aarsag()),
        prop::option::of(dato()),
        prop::option::of(dato()),
        prop::sample::select(VarighedKode::ALL),
    )
        .prop_map(|(t, st, oa, os, oe, v)| StatusAendring {
            registrering_dato_tid: t,
            status: st,
            ophoers_aarsag: oa,
            ophoers_start_dato: os,
            ophoers_slut_dato: oe,
            varighed_kode: v,
        })
}

fn fejl() -> impl Strategy<Value = Vec<Fejl>> {
    prop::collection::vec(
        (text(), text()).prop_map(|(k, t)| Fejl {
            fejl_kode: k,
            fejl_tekst: t,
        }),
        0..3,
    )
}

fn payload(kind: PayloadKind) -> BoxedStrategy<Payload> {
    match kind {
        PayloadKind::OpdateringFravaer => (header(), aarsag(), dato(), prop::option::of(dato()))
            .prop_map(|(header, a, s, e)| {
                Payload::OpdateringFravaer(OpdateringFravaer {
                    header,
                    ophoers_aarsag: a,
                    ophoers_start_dato: s,
                    ophoers_slut_dato: e,
                })
            })
            .boxed(),
        PayloadKind::ForretningsSvar => (
            header(),
            prop::sample::select(ForretningsValideringsKode::ALL),
            prop::option::of(text()),
            fejl(),
        )
            .prop_map(|(header, kode, begrundelse, fejl_liste)| {
                Payload::ForretningsSvar(ForretningsSvar {
                    header,
                    kvittering: Forretningskvittering {
                        kode,
                        begrundelse,
                        fejl_liste,
                    },
                })
            })
            .boxed(),
        PayloadKind::Haendelse => (header(), prop::sample::select(HaendelseType::ALL), sag())
            .prop_map(|(header, haendelse_type, sag)| {
                Payload::Haendelse(Haendelse {
                    header,
                    haendelse_type,
                    sag,
                })
            })
            .boxed(),
        PayloadKind::AnmodningForlaengelse => (header(), sag(), dato(), dato())
            .prop_map(|(header, sag, g, f)| {
                Payload::AnmodningForlaengelse(AnmodningForlaengelse {
                    header,
                    sag,
                    varighedsgraense_dato: g,
                    svar_frist: f,
                })
            })
            .boxed(),
        PayloadKind::ForretningsSvarForlaengelse => {
            let svar = prop_oneof![
                (
                    prop::sample::select(ForlaengelseType::ALL),
                    prop::option::of(dato())
                )
                    .prop_map(|(t, d)| SvarForlaengelse::Forlaengelse {
                        forlaengelse_type: t,
                        forlaengelse_slut_dato: d
                    }),
                text().prop_map(|begrundelse| SvarForlaengelse::Afvisning { begrundelse }),
            ];
            (header(), svar)
                .prop_map(|(header, svar)| {
                    Payload::ForretningsSvarForlaengelse(ForretningsSvarForlaengelse {
                        header,
                        svar,
                    })
                })
                .boxed()
        }
        PayloadKind::HentSag => prop_oneof![
            uuid().prop_map(|u| Payload::HentSag(HentSag::SagIdentifikator(u))),
            uuid().prop_map(|u| Payload::HentSag(HentSag::NemRefusionIdentifier(u))),
        ]
        .boxed(),
        PayloadKind::HentSagsListe => (
            prop::option::of(cpr()),
            prop::option::of(dato()),
            prop::option::of(dato()),
        )
            .prop_map(|(c, f, t)| {
                Payload::HentSagsListe(HentSagsListe {
                    sygemeldte_part: c,
                    periode_fra: f,
                    periode_til: t,
                })
            })
            .boxed(),
    }
}

fn context() -> impl Strategy<Value = (Option<CallContext>, Option<AuthorityContext>)> {
    (
        prop::option::of(
            (
                prop::option::of(text()),
                prop::option::of(text()),
                prop::option::of(text()),
            )
                .prop_map(|(a, b, c)| CallContext {
                    on_behalf_of_user: a,
                    callers_service_call_identifier: b,
                    accounting_info: c,
                }),
        ),
        prop::option::of(cvr().prop_map(|municipality_cvr| AuthorityContext { municipality_cvr })),
    )
}

fn transport_kvittering() -> impl Strategy<Value = TransportKvittering> {
    (
        prop::sample::select(TransportValideringsKode::ALL),
        prop::option::of(text()),
        fejl(),
    )
        .prop_map(|(kode, begrundelse, fejl_liste)| TransportKvittering {
            kode,
            begrundelse,
            fejl_liste,
        })
}

fn message() -> impl Strategy<Value = Message> {
    let ops = prop::sample::select(Operation::ALL);
    let request = ops.clone().prop_flat_map(|op| {
        (context(), payload(op.payload_kind())).prop_map(move |((cc, ac), payload)| {
            Message::Request(Request {
                operation: op,
                call_context: cc,
                authority_context: ac,
                payload,
            })
        })
    });
    let response = ops.prop_flat_map(|op| {
        let body = match op.payload_kind() {
            PayloadKind::HentSag => prop_oneof![
                sag().prop_map(|s| ResponseBody::Sag(Box::new(s))),
                transport_kvittering().prop_map(ResponseBody::TransportKvittering),
            ]
            .boxed(),
            PayloadKind::HentSagsListe => prop::collection::vec(sag(), 0..3)
                .prop_map(ResponseBody::SagsListe)
                .boxed(),
            _ => transport_kvittering()
                .prop_map(ResponseBody::TransportKvittering)
                .boxed(),
        };
        body.prop_map(move |body| {
            Message::Response(Response {
                operation: op,
                body,
            })
        })
    });
    let fault = (
        text(),
        text(),
        prop::option::of(text()),
        prop::option::of(prop::collection::vec((text(), text()), 1..3)),
    )
        .prop_map(|(c, s, a, errs)| {
            Message::Fault(SoapFault {
                fault_code: c,
                fault_string: s,
                fault_actor: a,
                serviceplatform_fault: errs.map(|e| ServiceplatformFault {
                    errors: e
                        .into_iter()
                        .map(|(error_code, error_text)| ServiceplatformError {
                            error_code,
                            error_text,
                        })
                        .collect(),
                }),
            })
        });
    prop_oneof![6 => request, 3 => response, 1 => fault]
}

fn key(p: &Problem) -> (String, String, String) {
    (p.rule.id().to_string(), p.path.clone(), p.text.clone())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn write_then_read_is_identity_and_rules_agree(m in message()) {
        let xml = write(&m);
        let decoded = read(xml.as_bytes(), None).map_err(|e| TestCaseError::fail(format!("{e}\n{xml}")))?;
        prop_assert_eq!(decoded.message.as_ref(), Some(&m), "{}", xml);
        let mut from_reader: Vec<_> = decoded.problems.iter().map(key).collect();
        let mut from_typed: Vec<_> = validate(&m).iter().map(key).collect();
        from_reader.sort();
        from_typed.sort();
        prop_assert_eq!(from_reader, from_typed);
    }
}
