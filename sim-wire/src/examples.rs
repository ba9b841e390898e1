//! One realistic, valid message per operation: the source of the golden files, the docs'
//! examples and the base that the invalid-input table mutates.
//!
//! Values are fixed (no clock, no randomness): Viborg Kommune (CVR 29189846) as the
//! municipality, a fictional employer and person.

use crate::model::*;
use crate::operation::{Operation, PayloadKind};
use crate::values::*;

fn p<T: std::str::FromStr>(s: &str) -> T
where
    T::Err: std::fmt::Debug,
{
    s.parse().expect("example values are valid")
}

/// Viborg Kommune.
pub const MYNDIGHED: &str = "29189846";

/// A complete header for the examples.
pub fn header() -> Header {
    Header {
        transaktion_identifikator: p("3f2b8c1e-6a4d-4e8f-9b1a-2c7d5e9f0a13"),
        besked_forsendelses_dato_tid: p("2026-11-23T09:15:02.250+01:00"),
        registrering_fra_dato_tid: p("2026-11-23T09:14:58+01:00"),
        registrering_it_system: p("0e4a7c2b-91d3-4f6a-8b5e-d2c1a9f37b60"),
        registrering_bruger: Some(p("5b9d1e7a-3c2f-4a8b-9e6d-1f0c2b3a4d5e")),
        udgiver_type_kode: Some(p("01")),
        myndighed: p(MYNDIGHED),
        sygemeldte_part: p("0101701234"),
        arbejdsgiver_part: p("31245876"),
        arbejdsgiver_produktionsenhed: Some(p("1003456789")),
        nem_refusion_identifier: Some(p("8c6e2a4f-0b1d-4c3e-a5f7-9d8b6c4e2a10")),
        sag_identifikator: Some(p("d1a2b3c4-e5f6-4789-8abc-def012345678")),
        jobcenter_sag_id: Some("JC-2026-004711".into()),
        kmd_sag_identifikator: None,
        kmd_delsag_identifikator: None,
        forretning_haendelse_dato_tid: p("2026-11-23T09:14:58+01:00"),
        foerste_fravaersdag: p("2026-10-05"),
    }
}

/// KSD's view of the example case.
pub fn sag() -> Sag {
    Sag {
        sag_identifikator: p("d1a2b3c4-e5f6-4789-8abc-def012345678"),
        nem_refusion_identifier: Some(p("8c6e2a4f-0b1d-4c3e-a5f7-9d8b6c4e2a10")),
        sygemeldte_part: p("0101701234"),
        myndighed: p(MYNDIGHED),
        arbejdsgiver_part: p("31245876"),
        arbejdsgiver_produktionsenhed: Some(p("1003456789")),
        foerste_fravaersdag: p("2026-10-05"),
        status: Status::Aktiv,
        ophoers_aarsag: None,
        ophoers_start_dato: None,
        ophoers_slut_dato: None,
        varighed_kode: VarighedKode::Oprettet60,
        historik: Vec::new(),
    }
}

/// One change of the example case's history, registered at `at`.
fn aendring(at: &str, status: Status, varighed_kode: VarighedKode) -> StatusAendring {
    StatusAendring {
        registrering_dato_tid: p(at),
        status,
        ophoers_aarsag: None,
        ophoers_start_dato: None,
        ophoers_slut_dato: None,
        varighed_kode,
    }
}

fn context() -> (Option<CallContext>, Option<AuthorityContext>) {
    (
        Some(CallContext {
            on_behalf_of_user: Some("sagsbehandler-17".into()),
            callers_service_call_identifier: Some("call-2026-11-23-0001".into()),
            accounting_info: None,
        }),
        Some(AuthorityContext {
            municipality_cvr: p(MYNDIGHED),
        }),
    )
}

/// The payload an example request of this kind carries.
pub fn payload(kind: PayloadKind) -> Payload {
    match kind {
        PayloadKind::OpdateringFravaer => Payload::OpdateringFravaer(OpdateringFravaer {
            header: header(),
            ophoers_aarsag: OphoersAarsag::new(20).expect("20 is on the list"),
            ophoers_start_dato: p("2026-11-23"),
            ophoers_slut_dato: None,
        }),
        PayloadKind::ForretningsSvar => Payload::ForretningsSvar(ForretningsSvar {
            header: header(),
            kvittering: Forretningskvittering {
                kode: ForretningsValideringsKode::Accepteret,
                begrundelse: None,
                fejl_liste: vec![],
            },
        }),
        PayloadKind::Haendelse => Payload::Haendelse(Haendelse {
            header: header(),
            haendelse_type: HaendelseType::Oprettet,
            sag: sag(),
        }),
        PayloadKind::AnmodningForlaengelse => {
            Payload::AnmodningForlaengelse(AnmodningForlaengelse {
                header: header(),
                sag: sag(),
                varighedsgraense_dato: p("2027-02-28"),
                svar_frist: p("2027-02-14"),
            })
        }
        PayloadKind::ForretningsSvarForlaengelse => {
            Payload::ForretningsSvarForlaengelse(ForretningsSvarForlaengelse {
                header: header(),
                svar: SvarForlaengelse::Forlaengelse {
                    forlaengelse_type: ForlaengelseType::Tidsbegraenset,
                    forlaengelse_slut_dato: Some(p("2027-08-31")),
                },
            })
        }
        PayloadKind::HentSag => Payload::HentSag(HentSag::SagIdentifikator(p(
            "d1a2b3c4-e5f6-4789-8abc-def012345678",
        ))),
        PayloadKind::HentSagsListe => Payload::HentSagsListe(HentSagsListe {
            sygemeldte_part: Some(p("0101701234")),
            periode_fra: Some(p("2026-01-01")),
            periode_til: Some(p("2026-12-31")),
        }),
    }
}

/// A valid request of an operation.
pub fn request(op: Operation) -> Request {
    let (call_context, authority_context) = context();
    Request {
        operation: op,
        call_context,
        authority_context,
        payload: payload(op.payload_kind()),
    }
}

/// A valid response of an operation.
pub fn response(op: Operation) -> Response {
    let body = match op.payload_kind() {
        PayloadKind::HentSag => {
            // An SF2096 answer carries the case's history (defined here).
            let mut s = sag();
            s.historik = vec![aendring(
                "2026-10-06T08:15:00+02:00",
                Status::Aktiv,
                VarighedKode::Oprettet60,
            )];
            ResponseBody::Sag(Box::new(s))
        }
        PayloadKind::HentSagsListe => {
            let mut open = sag();
            open.historik = vec![aendring(
                "2026-10-06T08:15:00+02:00",
                Status::Aktiv,
                VarighedKode::Oprettet60,
            )];
            let mut ended = sag();
            ended.sag_identifikator = p("a7b6c5d4-e3f2-4a1b-8c9d-0e1f2a3b4c5d");
            ended.status = Status::Ophoert;
            ended.ophoers_aarsag = OphoersAarsag::new(2);
            ended.ophoers_start_dato = Some(p("2026-06-30"));
            ended.varighed_kode = VarighedKode::Tidsbegraenset62;
            let mut end = aendring(
                "2026-06-30T14:02:00+02:00",
                Status::Ophoert,
                VarighedKode::Tidsbegraenset62,
            );
            end.ophoers_aarsag = OphoersAarsag::new(2);
            end.ophoers_start_dato = Some(p("2026-06-30"));
            ended.historik = vec![
                aendring(
                    "2026-01-12T09:00:00+01:00",
                    Status::Aktiv,
                    VarighedKode::Oprettet60,
                ),
                aendring(
                    "2026-05-04T10:30:00+02:00",
                    Status::Aktiv,
                    VarighedKode::Tidsbegraenset62,
                ),
                end,
            ];
            ResponseBody::SagsListe(vec![open, ended])
        }
        _ => ResponseBody::TransportKvittering(TransportKvittering {
            kode: TransportValideringsKode::Ok,
            begrundelse: None,
            fejl_liste: vec![],
        }),
    };
    Response {
        operation: op,
        body,
    }
}

/// The SF2095 request, the most common message of all.
pub fn opdatering_fravaer_request() -> Message {
    Message::Request(request(Operation::SendOpdateringFravaer))
}

/// A platform fault as the simulated platform raises it (rule SP-4).
pub fn fault() -> SoapFault {
    SoapFault {
        fault_code: "soap:Client".into(),
        fault_string: "No route for the municipality in the security context".into(),
        fault_actor: None,
        serviceplatform_fault: Some(ServiceplatformFault {
            errors: vec![ServiceplatformError {
                error_code: "SP-4".into(),
                error_text: "No jobcenter solution is registered for municipality CVR 29189846. CallUUID: 7d3e2f1a-0b9c-4d8e-a7f6-5e4d3c2b1a09 Received: 2026-11-23T09:15:02.300+01:00".into(),
            }],
        }),
    }
}

/// Every example with its golden file name: `<PORT>-<Operation>-request|response.xml`, and
/// `Fault.xml`.
pub fn all() -> Vec<(String, Message)> {
    let mut out = Vec::new();
    for op in Operation::ALL {
        let port = op.label().split('/').next().unwrap_or_default().to_string();
        out.push((
            format!("{port}-{}-request.xml", op.name()),
            Message::Request(request(*op)),
        ));
        out.push((
            format!("{port}-{}-response.xml", op.name()),
            Message::Response(response(*op)),
        ));
    }
    out.push(("Fault.xml".into(), Message::Fault(fault())));
    out
}
