//! Writing SF1690 messages: typed values → SOAP 1.1 documents with wire.md §5's namespaces
//! (operation elements `ky:`, payload `kyt:`), through the same writer as Sygefravaer's.

use super::model::*;
use crate::ns::KnownNs;
use crate::write::{transport_kvittering, Out};

fn start() -> Out {
    let mut o = Out::new();
    o.envelope(&[
        KnownNs::Soap11,
        KnownNs::Ky,
        KnownNs::Kyt,
        KnownNs::Kvit,
        KnownNs::Ac,
        KnownNs::Cc,
    ]);
    o
}

/// Writes any SF1690 message.
pub fn write(m: &KyMessage) -> String {
    match m {
        KyMessage::Request(r) => write_request(r),
        KyMessage::Response(r) => write_response(r),
        KyMessage::Fault(f) => crate::write::write_fault(f),
    }
}

/// Writes a request: `ky:<Operation>Request` with the security context first.
pub fn write_request(r: &KyRequest) -> String {
    let op = r.operation();
    let mut o = start();
    let el = format!("ky:{}", op.request_element());
    o.open(&el);
    if let Some(cc) = &r.call_context {
        o.open("cc:CallContext");
        o.opt_text("cc:OnBehalfOfUser", cc.on_behalf_of_user.as_deref());
        o.opt_text(
            "cc:CallersServiceCallIdentifier",
            cc.callers_service_call_identifier.as_deref(),
        );
        o.opt_text("cc:AccountingInfo", cc.accounting_info.as_deref());
        o.close("cc:CallContext");
    }
    if let Some(ac) = &r.authority_context {
        o.open("ac:AuthorityContext");
        o.val("ac:MunicipalityCVR", ac.municipality_cvr);
        o.close("ac:AuthorityContext");
    }
    payload(&mut o, &r.payload);
    o.close(&el);
    o.finish()
}

/// Writes KY's receipt: `ky:<Operation>Response/kvit:TransportKvittering`.
pub fn write_response(r: &KyResponse) -> String {
    let mut o = start();
    let el = format!("ky:{}", r.operation.response_element());
    o.open(&el);
    transport_kvittering(&mut o, &r.kvittering);
    o.close(&el);
    o.finish()
}

fn header(o: &mut Out, h: &KyHeader) {
    o.open("kyt:Header");
    o.val("kyt:TransaktionIdentifikator", h.transaktion_identifikator);
    o.val(
        "kyt:BeskedForsendelsesDatoTid",
        h.besked_forsendelses_dato_tid,
    );
    o.val("kyt:RegistreringITsystem", h.registrering_it_system);
    o.val("kyt:Myndighed", h.myndighed);
    o.val("kyt:PersonCPR", h.person_cpr);
    o.opt_text("kyt:JobcenterSagID", h.jobcenter_sag_id.as_deref());
    o.close("kyt:Header");
}

fn linje(o: &mut Out, l: &GodtgoerelseLinje) {
    o.val("kyt:GodtgoerelseID", l.godtgoerelse_id);
    o.val("kyt:Paragraf", l.paragraf);
    o.val("kyt:Beloeb", l.beloeb);
    o.val("kyt:Dato", l.dato);
}

fn payload(o: &mut Out, p: &KyPayload) {
    let el = format!("kyt:{}", p.body.operation().payload_element());
    o.open(&el);
    header(o, &p.header);
    o.val("kyt:Handling", p.handling);
    o.val("kyt:KontaktforloebID", p.kontaktforloeb_id);
    match &p.body {
        KyBody::Kontaktforloeb(k) => {
            o.opt_text("kyt:Maalgruppe", k.maalgruppe.as_deref());
            o.opt_val("kyt:StartDato", k.start_dato);
            o.opt_val("kyt:SlutDato", k.slut_dato);
        }
        KyBody::Visitationsgruppe(v) => {
            o.text("kyt:VisitationsgruppeKode", &v.visitationsgruppe_kode);
            o.val("kyt:GyldigFraDato", v.gyldig_fra_dato);
        }
        KyBody::Tilkendegivelse(t) => {
            o.val("kyt:TilkendegivelseID", t.tilkendegivelse_id);
            o.text("kyt:TilkendegivelseKode", &t.tilkendegivelse_kode);
            o.val("kyt:Dato", t.dato);
        }
        KyBody::Aktivitet(a) => {
            o.val("kyt:AktivitetID", a.aktivitet_id);
            o.opt_text("kyt:Tilbudstype", a.tilbudstype.as_deref());
            o.opt_val("kyt:StartDato", a.start_dato);
            o.opt_val("kyt:SlutDato", a.slut_dato);
            for l in &a.godtgoerelser {
                o.open("kyt:Godtgoerelse");
                linje(o, l);
                o.close("kyt:Godtgoerelse");
            }
        }
        KyBody::Godtgoerelse(g) => {
            o.opt_val("kyt:AktivitetID", g.aktivitet_id);
            linje(o, &g.linje);
        }
        KyBody::Fravaer(f) => {
            o.val("kyt:FravaerID", f.fravaer_id);
            o.opt_val("kyt:AktivitetID", f.aktivitet_id);
            o.val("kyt:FraDato", f.fra_dato);
            o.val("kyt:TilDato", f.til_dato);
            o.val("kyt:Uberettiget", f.uberettiget);
        }
        KyBody::Sanktionsanmodning(s) => {
            o.val("kyt:SanktionID", s.sanktion_id);
            o.text("kyt:SanktionAarsag", &s.sanktion_aarsag);
            o.val("kyt:HaendelseDato", s.haendelse_dato);
        }
        KyBody::Maalgruppeskift(m) => {
            o.text("kyt:Maalgruppe", &m.maalgruppe);
            o.val("kyt:SkiftDato", m.skift_dato);
        }
    }
    o.close(&el);
}
