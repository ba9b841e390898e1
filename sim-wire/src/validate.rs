//! Rules that relate fields to each other or to who sends, as pure functions.
//!
//! The reader calls these on whatever fields it could read (so one message reports every
//! problem at once); [`validate`] calls the same functions on a typed message, so a
//! program can check what it is about to send with exactly the reader's rules.

use crate::model::*;
use crate::operation::{Caller, Operation, PayloadKind};
use crate::read::payload_element;
use crate::rules::{code, Problem, Rule};
use crate::values::*;

/// The most characters a CallContext field may hold (wire.md §1).
pub const CALL_CONTEXT_MAX: usize = 255;

fn join(parent: &str, name: &str) -> String {
    if parent.is_empty() {
        name.to_string()
    } else {
        format!("{parent}/{name}")
    }
}

/// Rules KSD-4 and KSD-5 on an SF2095 body. `from_outside`: the sender is not KSD (always
/// so for SF2095, where a jobcenter sends).
pub fn ophoer(
    aarsag: Option<OphoersAarsag>,
    start: Option<Dato>,
    slut: Option<Dato>,
    from_outside: bool,
    p: &str,
    out: &mut Vec<Problem>,
) {
    match aarsag.filter(|a| from_outside && !a.outsider_may_send()) {
        // KSD-14: the seed's value list says 10 from others is thrown away, not refused: a
        // FEJL would leave the jobcenter owning the update and resending it for ever.
        Some(a) if a.discarded_from_outside() => out.push(Problem::warning(
            Rule::Ksd14,
            code::KASSERET,
            join(p, "OphoersAarsag"),
            format!(
                "OphoersAarsag {a} (moved) is set only by KSD: the update is discarded, \
                 not processed, and no business receipt follows"
            ),
        )),
        Some(a) => out.push(Problem::error(
            Rule::Ksd5,
            code::VAERDI,
            join(p, "OphoersAarsag"),
            format!(
                "OphoersAarsag {a}: codes 60-64 are KSD-internal and never accepted from outside"
            ),
        )),
        None => {}
    }
    if let Some(a) = aarsag.filter(|a| from_outside && a.suspended_from_jobcenters()) {
        out.push(Problem::warning(
            Rule::Ksd14,
            code::VAERDI,
            join(p, "OphoersAarsag"),
            format!("OphoersAarsag {a} from a jobcenter is currently suspended"),
        ));
    }
    if aarsag.is_some_and(OphoersAarsag::is_approved_holiday) && slut.is_none() {
        out.push(Problem::error(
            Rule::Ksd14,
            code::MANGLER,
            join(p, "OphoersSlutDato"),
            "OphoersAarsag 24 (approved holiday) needs OphoersSlutDato, the last holiday day"
                .to_string(),
        ));
    }
    if let (Some(s), Some(e)) = (start, slut) {
        if e < s {
            out.push(Problem::error(
                Rule::Ksd4,
                code::UOVERENSSTEMMELSE,
                join(p, "OphoersSlutDato"),
                format!("OphoersSlutDato {e} is before OphoersStartDato {s}"),
            ));
        }
    }
}

/// Rule KSD-1: a FEJL transport receipt says what was wrong.
pub fn transport_kvittering(
    kode: Option<TransportValideringsKode>,
    has_fejl: bool,
    p: &str,
    out: &mut Vec<Problem>,
) {
    if kode == Some(TransportValideringsKode::Fejl) && !has_fejl {
        out.push(Problem::error(
            Rule::Ksd1,
            code::MANGLER,
            join(p, "FejlListe"),
            "a FEJL receipt must carry a FejlListe saying what to fix",
        ));
    }
    // KSD-15: a FejlListe only with ADVARSEL or FEJL. An OK that carries one still accepts the
    // message, so the list is flagged, not fatal.
    if kode == Some(TransportValideringsKode::Ok) && has_fejl {
        out.push(Problem::warning(
            Rule::Ksd15,
            code::UOVERENSSTEMMELSE,
            join(p, "FejlListe"),
            "a FejlListe belongs to an ADVARSEL or FEJL receipt, not to OK (ignored)",
        ));
    }
}

/// Rule KSD-2: a FejlListe only with FEJLET (and FEJLET should say why).
pub fn forretningskvittering(
    kode: Option<ForretningsValideringsKode>,
    has_fejl: bool,
    p: &str,
    out: &mut Vec<Problem>,
) {
    match kode {
        Some(k) if has_fejl && k != ForretningsValideringsKode::Fejlet => out.push(Problem::error(
            Rule::Ksd2,
            code::UOVERENSSTEMMELSE,
            join(p, "FejlListe"),
            format!("a FejlListe only belongs to a FEJLET business receipt, not {k}"),
        )),
        Some(ForretningsValideringsKode::Fejlet) if !has_fejl => out.push(Problem::warning(
            Rule::Ksd2,
            code::MANGLER,
            join(p, "FejlListe"),
            "a FEJLET business receipt should carry a FejlListe",
        )),
        _ => {}
    }
}

/// A case as KSD sends it: an ended case says why and when (WIRE-3), the end is not before
/// the start (KSD-4), and KSD writes outward codes only (KSD-6).
pub fn sag(
    status: Option<Status>,
    aarsag: Option<OphoersAarsag>,
    start: Option<Dato>,
    slut: Option<Dato>,
    from_ksd: bool,
    p: &str,
    out: &mut Vec<Problem>,
) {
    if status == Some(Status::Ophoert) {
        if aarsag.is_none() {
            out.push(Problem::error(
                Rule::Wire3,
                code::MANGLER,
                join(p, "OphoersAarsag"),
                "an OPHOERT case says why it ended",
            ));
        }
        if start.is_none() {
            out.push(Problem::error(
                Rule::Wire3,
                code::MANGLER,
                join(p, "OphoersStartDato"),
                "an OPHOERT case says when it ended",
            ));
        }
    }
    if let Some(a) = aarsag.filter(|a| from_ksd && a.outward() != *a) {
        out.push(Problem::error(
            Rule::Ksd6,
            code::VAERDI,
            join(p, "OphoersAarsag"),
            format!(
                "KSD maps OphoersAarsag {a} to {} when it communicates outward",
                a.outward()
            ),
        ));
    }
    ophoer(None, start, slut, false, p, out);
}

/// Rule KSD-11: a time-limited extension has an end date; an unlimited one has none.
pub fn forlaengelse(
    t: Option<ForlaengelseType>,
    slut: Option<Dato>,
    p: &str,
    out: &mut Vec<Problem>,
) {
    match (t, slut) {
        (Some(ForlaengelseType::Tidsbegraenset), None) => out.push(Problem::error(
            Rule::Ksd11,
            code::MANGLER,
            join(p, "ForlaengelseSlutDato"),
            "a TIDSBEGRAENSET extension needs ForlaengelseSlutDato",
        )),
        (Some(ForlaengelseType::Tidsubegraenset), Some(_)) => out.push(Problem::warning(
            Rule::Ksd11,
            code::UOVERENSSTEMMELSE,
            join(p, "ForlaengelseSlutDato"),
            "a TIDSUBEGRAENSET extension has no end date; ignored",
        )),
        _ => {}
    }
}

/// wire.md §1: each CallContext field holds at most 255 characters.
pub fn call_context_field(v: Option<&str>, path: &str, out: &mut Vec<Problem>) {
    if let Some(v) = v.filter(|v| v.chars().count() > CALL_CONTEXT_MAX) {
        out.push(Problem::error(
            Rule::Wire1,
            code::FORMAT,
            path,
            format!(
                "{} characters; at most {CALL_CONTEXT_MAX} allowed",
                v.chars().count()
            ),
        ));
    }
}

/// SF2096: the period's start is not after its end.
pub fn periode(fra: Option<Dato>, til: Option<Dato>, p: &str, out: &mut Vec<Problem>) {
    if let (Some(f), Some(t)) = (fra, til) {
        if f > t {
            out.push(Problem::error(
                Rule::Wire3,
                code::UOVERENSSTEMMELSE,
                join(p, "PeriodeTil"),
                format!("PeriodeFra {f} is after PeriodeTil {t}"),
            ));
        }
    }
}

/// Which rule makes the AuthorityContext mandatory for an operation: a jobcenter's call
/// (SP-5), KSD's call routed by it (SP-2), or the platform's call to a receiver (SP-7).
pub fn context_rule(op: Operation) -> Rule {
    match op.caller() {
        Caller::Jobcenter => Rule::Sp5,
        Caller::Ksd => Rule::Sp2,
        Caller::Platform => Rule::Sp7,
    }
}

/// The security context is present (by the caller's rule) and agrees with the header's
/// Myndighed (KSD-8). `present` is true when an AuthorityContext element was there, even
/// if its CVR could not be read (that problem is reported where it was read).
pub fn authority_context(
    op: Operation,
    present: bool,
    ac: Option<&AuthorityContext>,
    myndighed: Option<Cvr>,
    out: &mut Vec<Problem>,
) {
    if !present {
        out.push(Problem::error(
            context_rule(op),
            code::MANGLER,
            "AuthorityContext",
            format!(
                "{} needs an AuthorityContext with the municipality's CVR (security context)",
                op.name()
            ),
        ));
    }
    if let (Some(ac), Some(m)) = (ac, myndighed) {
        if ac.municipality_cvr != m {
            let path = format!("{}/Header/Myndighed", payload_element(op.payload_kind()));
            out.push(Problem::error(
                Rule::Ksd8,
                code::UOVERENSSTEMMELSE,
                path,
                format!(
                    "Myndighed {m} differs from the security context's MunicipalityCVR {}; the security context decides",
                    ac.municipality_cvr
                ),
            ));
        }
    }
}

/// Checks a typed message with the same rules the reader applies (field formats hold by
/// construction). Use it before sending something built in code.
pub fn validate(message: &Message) -> Vec<Problem> {
    let mut out = Vec::new();
    match message {
        Message::Request(r) => validate_request(r, &mut out),
        Message::Response(r) => match &r.body {
            ResponseBody::TransportKvittering(k) => transport_kvittering(
                Some(k.kode),
                !k.fejl_liste.is_empty(),
                "TransportKvittering",
                &mut out,
            ),
            ResponseBody::Sag(s) => sag_typed(s, "Sag", &mut out),
            ResponseBody::SagsListe(l) => l
                .iter()
                .enumerate()
                .for_each(|(i, s)| sag_typed(s, &format!("[{i}]/Sag"), &mut out)),
        },
        Message::Fault(_) => {}
    }
    out
}

fn sag_typed(s: &Sag, p: &str, out: &mut Vec<Problem>) {
    sag(
        Some(s.status),
        s.ophoers_aarsag,
        s.ophoers_start_dato,
        s.ophoers_slut_dato,
        true,
        p,
        out,
    );
    let hp = join(&join(p, "StatusHistorik"), "StatusAendring");
    for a in &s.historik {
        sag(
            Some(a.status),
            a.ophoers_aarsag,
            a.ophoers_start_dato,
            a.ophoers_slut_dato,
            true,
            &hp,
            out,
        );
    }
}

fn validate_request(r: &Request, out: &mut Vec<Problem>) {
    if let Some(cc) = &r.call_context {
        for (v, n) in [
            (&cc.on_behalf_of_user, "OnBehalfOfUser"),
            (
                &cc.callers_service_call_identifier,
                "CallersServiceCallIdentifier",
            ),
            (&cc.accounting_info, "AccountingInfo"),
        ] {
            call_context_field(v.as_deref(), &format!("CallContext/{n}"), out);
        }
    }
    let kind_matches = matches!(
        (r.operation.payload_kind(), &r.payload),
        (
            PayloadKind::OpdateringFravaer,
            Payload::OpdateringFravaer(_)
        ) | (PayloadKind::ForretningsSvar, Payload::ForretningsSvar(_))
            | (
                PayloadKind::ForretningsSvarForlaengelse,
                Payload::ForretningsSvarForlaengelse(_)
            )
            | (PayloadKind::Haendelse, Payload::Haendelse(_))
            | (
                PayloadKind::AnmodningForlaengelse,
                Payload::AnmodningForlaengelse(_)
            )
            | (PayloadKind::HentSag, Payload::HentSag(_))
            | (PayloadKind::HentSagsListe, Payload::HentSagsListe(_))
    );
    if !kind_matches {
        out.push(Problem::error(
            Rule::Wire3,
            code::UKENDT,
            r.operation.request_element(),
            format!(
                "{} does not carry a {} payload",
                r.operation.name(),
                payload_element(r.operation.payload_kind())
            ),
        ));
    }
    let myndighed = r.payload.header().map(|h| h.myndighed);
    authority_context(
        r.operation,
        r.authority_context.is_some(),
        r.authority_context.as_ref(),
        myndighed,
        out,
    );
    let p = payload_element(r.operation.payload_kind());
    match &r.payload {
        Payload::OpdateringFravaer(o) => ophoer(
            Some(o.ophoers_aarsag),
            Some(o.ophoers_start_dato),
            o.ophoers_slut_dato,
            true,
            p,
            out,
        ),
        Payload::ForretningsSvar(f) => forretningskvittering(
            Some(f.kvittering.kode),
            !f.kvittering.fejl_liste.is_empty(),
            &format!("{p}/Forretningskvittering"),
            out,
        ),
        Payload::Haendelse(h) => sag_typed(&h.sag, &format!("{p}/Sag"), out),
        Payload::AnmodningForlaengelse(a) => sag_typed(&a.sag, &format!("{p}/Sag"), out),
        Payload::ForretningsSvarForlaengelse(f) => {
            if let SvarForlaengelse::Forlaengelse {
                forlaengelse_type,
                forlaengelse_slut_dato,
            } = &f.svar
            {
                forlaengelse(
                    Some(*forlaengelse_type),
                    *forlaengelse_slut_dato,
                    &format!("{p}/Forlaengelse"),
                    out,
                );
            }
        }
        Payload::HentSag(_) => {}
        Payload::HentSagsListe(h) => periode(
            h.periode_fra,
            h.periode_til,
            &r.operation.request_element(),
            out,
        ),
    }
}

/// Rule KSD-1: the transport receipt for a set of problems — OK without any, ADVARSEL with
/// warnings only, FEJL (not processed) with any error; every problem becomes a `Fejl`.
pub fn transport_kvittering_for(problems: &[Problem]) -> TransportKvittering {
    let errors = problems.iter().filter(|p| p.is_error()).count();
    let (kode, begrundelse) = if errors > 0 {
        (
            TransportValideringsKode::Fejl,
            Some(format!(
                "{errors} error(s): the message was not processed; correct and resend"
            )),
        )
    } else if !problems.is_empty() {
        (
            TransportValideringsKode::Advarsel,
            Some(format!(
                "{} warning(s): the message was processed",
                problems.len()
            )),
        )
    } else {
        (TransportValideringsKode::Ok, None)
    };
    TransportKvittering {
        kode,
        begrundelse,
        fejl_liste: problems
            .iter()
            .map(|p| Fejl {
                fejl_kode: p.fejl_kode(),
                fejl_tekst: p.fejl_tekst(),
            })
            .collect(),
    }
}

#[cfg(test)]
mod ksd14_tests {
    use super::*;

    fn problems(code: u8, slut: Option<&str>) -> Vec<Problem> {
        let mut out = Vec::new();
        ophoer(
            OphoersAarsag::new(code),
            Some("2026-11-02".parse().unwrap()),
            slut.map(|s| s.parse().unwrap()),
            true,
            "OpdateringFravaer",
            &mut out,
        );
        out
    }

    // rule KSD-14: an approved holiday names its last day; 18 from a jobcenter is suspended
    // (a warning, so ADVARSEL); 50 is accepted (KSD only writes it as 2 towards others).
    #[test]
    fn ksd14_holiday_needs_its_last_day_and_18_is_a_warning() {
        let p = problems(24, None);
        assert_eq!(p.len(), 1, "{p:?}");
        assert_eq!((p[0].rule, p[0].is_error()), (Rule::Ksd14, true));
        assert_eq!(p[0].fejl_kode(), "KSD-14.MANGLER");
        assert!(problems(24, Some("2026-11-13")).is_empty());
        let p = problems(18, None);
        assert_eq!((p[0].rule, p[0].is_error()), (Rule::Ksd14, false), "{p:?}");
        assert!(problems(50, None).is_empty());
        assert!(problems(62, None).iter().any(|p| p.rule == Rule::Ksd5));
    }
}
