//! SF1690's message rules as pure functions over typed values (KY-2..KY-5, SP-5): the reader
//! applies them to what it read, [`validate`] to a message built in code — one set of rules
//! for both. KY's *state* rules (KY-6..KY-10) need KY's tables and live with KY.

use super::model::*;
use super::operation::{Handling, KyOperation};
use crate::model::AuthorityContext;
use crate::read::join;
use crate::rules::{code, Problem, Rule};
use crate::values::{Cvr, Dato};

/// Codes of KY's state rules, with the rule ID the `FejlKode` of KY's refusals
/// (`KY-7.FINDES`).
pub mod ky_code {
    /// Created again: the object already exists (KY-7).
    pub const FINDES: &str = "FINDES";
    /// The contact course or activity is stopped: nothing changes it but a resume (KY-9).
    pub const STOPPET: &str = "STOPPET";
    /// A resume of something that is not stopped (KY-9).
    pub const IKKE_STOPPET: &str = "IKKESTOPPET";
    /// A TransaktionIdentifikator reused with other content (KY-10).
    pub const GENBRUGT: &str = "GENBRUGT";
}

/// The longest code text (`Maalgruppe`, `Tilbudstype`, ...) KY stores.
pub const MAX_KODE: usize = 64;

/// A code text is present and at most [`MAX_KODE`] characters (KY-2).
pub fn kode(v: &str, path: &str, out: &mut Vec<Problem>) {
    if v.is_empty() {
        out.push(Problem::error(
            Rule::Ky2,
            code::MANGLER,
            path,
            "the element is empty; a code is required",
        ));
    } else if v.chars().count() > MAX_KODE {
        out.push(Problem::error(
            Rule::Ky2,
            code::FORMAT,
            path,
            format!("at most {MAX_KODE} characters"),
        ));
    }
}

/// SP-5 and KY-5: a security context is there, and its municipality is the header's.
pub fn context(
    op: KyOperation,
    present: bool,
    ac: Option<&AuthorityContext>,
    myndighed: Option<Cvr>,
    out: &mut Vec<Problem>,
) {
    if !present {
        out.push(Problem::error(
            Rule::Sp5,
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
            out.push(Problem::error(
                Rule::Ky5,
                code::UOVERENSSTEMMELSE,
                format!("{}/Header/Myndighed", op.payload_element()),
                format!(
                    "Myndighed {m} differs from the security context's MunicipalityCVR {}",
                    ac.municipality_cvr
                ),
            ));
        }
    }
}

fn need<T>(v: &Option<T>, p: &str, name: &str, h: Handling, out: &mut Vec<Problem>) {
    if v.is_none() {
        out.push(Problem::error(
            Rule::Ky3,
            code::MANGLER,
            join(p, name),
            format!("{name} is required with Handling {h}"),
        ));
    }
}

fn order(start: Option<Dato>, end: Option<Dato>, p: &str, name: &str, out: &mut Vec<Problem>) {
    if let (Some(s), Some(e)) = (start, end) {
        if e.0 < s.0 {
            out.push(Problem::error(
                Rule::Ky4,
                code::UOVERENSSTEMMELSE,
                join(p, name),
                format!("{name} {e} is before the start {s}"),
            ));
        }
    }
}

fn linje(l: &GodtgoerelseLinje, p: &str, out: &mut Vec<Problem>) {
    if !matches!(l.paragraf, 82 | 83) {
        out.push(Problem::error(
            Rule::Ky4,
            code::VAERDI,
            join(p, "Paragraf"),
            format!(
                "§ {} is no allowance KY pays; 82 or 83 (act on active employment)",
                l.paragraf
            ),
        ));
    }
    if l.beloeb.0 <= 0 {
        out.push(Problem::error(
            Rule::Ky4,
            code::VAERDI,
            join(p, "Beloeb"),
            format!("the amount {} must be positive", l.beloeb),
        ));
    }
}

/// KY-3 and KY-4 over a payload at `p` (its element's path): the Handling is one the
/// operation has, the fields that Handling needs are there, values are from their lists,
/// ends are not before starts, amounts are positive.
pub fn payload(pl: &KyPayload, p: &str, out: &mut Vec<Problem>) {
    let op = pl.body.operation();
    let h = pl.handling;
    if !op.allows(h) {
        let allowed: Vec<&str> = op.handlinger().iter().map(|h| h.as_str()).collect();
        out.push(Problem::error(
            Rule::Ky3,
            code::VAERDI,
            join(p, "Handling"),
            format!(
                "{} takes Handling {}, not {h}",
                op.name(),
                allowed.join(", ")
            ),
        ));
    }
    if let Some(s) = &pl.header.jobcenter_sag_id {
        kode(s, &join(p, "Header/JobcenterSagID"), out);
    }
    match &pl.body {
        KyBody::Kontaktforloeb(k) => {
            if h == Handling::Opret {
                need(&k.maalgruppe, p, "Maalgruppe", h, out);
                need(&k.start_dato, p, "StartDato", h, out);
            }
            if h == Handling::Stop {
                need(&k.slut_dato, p, "SlutDato", h, out);
            }
            if let Some(m) = &k.maalgruppe {
                kode(m, &join(p, "Maalgruppe"), out);
            }
            order(k.start_dato, k.slut_dato, p, "SlutDato", out);
        }
        KyBody::Visitationsgruppe(v) => {
            if !VISITATIONSGRUPPER.contains(&v.visitationsgruppe_kode.as_str()) {
                out.push(Problem::error(
                    Rule::Ky4,
                    code::VAERDI,
                    join(p, "VisitationsgruppeKode"),
                    format!(
                        "'{}' is not a group: {}",
                        v.visitationsgruppe_kode,
                        VISITATIONSGRUPPER.join(", ")
                    ),
                ));
            }
        }
        KyBody::Tilkendegivelse(t) => kode(
            &t.tilkendegivelse_kode,
            &join(p, "TilkendegivelseKode"),
            out,
        ),
        KyBody::Aktivitet(a) => {
            if h == Handling::Opret {
                need(&a.tilbudstype, p, "Tilbudstype", h, out);
                need(&a.start_dato, p, "StartDato", h, out);
            } else if !a.godtgoerelser.is_empty() {
                out.push(Problem::error(
                    Rule::Ky3,
                    code::UKENDT,
                    join(p, "Godtgoerelse"),
                    format!("allowances come with an activity only when it is created (OPRET), not with {h}; send them with SendGodtgoerelse"),
                ));
            }
            if h == Handling::Stop {
                need(&a.slut_dato, p, "SlutDato", h, out);
            }
            if let Some(t) = &a.tilbudstype {
                kode(t, &join(p, "Tilbudstype"), out);
            }
            order(a.start_dato, a.slut_dato, p, "SlutDato", out);
            for (i, l) in a.godtgoerelser.iter().enumerate() {
                linje(l, &format!("{}[{i}]", join(p, "Godtgoerelse")), out);
            }
        }
        KyBody::Godtgoerelse(g) => linje(&g.linje, p, out),
        KyBody::Fravaer(f) => order(Some(f.fra_dato), Some(f.til_dato), p, "TilDato", out),
        KyBody::Sanktionsanmodning(s) => kode(&s.sanktion_aarsag, &join(p, "SanktionAarsag"), out),
        KyBody::Maalgruppeskift(m) => kode(&m.maalgruppe, &join(p, "Maalgruppe"), out),
    }
}

/// Checks a typed SF1690 message with the rules the reader applies. Use it before sending
/// something built in code.
pub fn validate(message: &KyMessage) -> Vec<Problem> {
    let mut out = Vec::new();
    match message {
        KyMessage::Request(r) => {
            // In the reader's order: the payload, then the security context it is checked
            // against.
            let op = r.operation();
            payload(&r.payload, op.payload_element(), &mut out);
            context(
                op,
                r.authority_context.is_some(),
                r.authority_context.as_ref(),
                Some(r.payload.header.myndighed),
                &mut out,
            );
        }
        KyMessage::Response(r) => crate::validate::transport_kvittering(
            Some(r.kvittering.kode),
            !r.kvittering.fejl_liste.is_empty(),
            "TransportKvittering",
            &mut out,
        ),
        KyMessage::Fault(_) => {}
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ky::examples;

    fn rules_of(m: &KyMessage) -> Vec<String> {
        validate(m).iter().map(Problem::fejl_kode).collect()
    }

    /// One case per rule: a valid example changed in one place, and the FejlKode expected.
    fn check(change: impl FnOnce(&mut KyRequest), op: KyOperation, expected: &[&str]) {
        let mut r = examples::request(op);
        change(&mut r);
        assert_eq!(rules_of(&KyMessage::Request(r)), expected);
    }

    #[test]
    fn every_example_is_valid() {
        for (name, r) in examples::requests() {
            assert_eq!(
                rules_of(&KyMessage::Request(r)),
                Vec::<String>::new(),
                "{name}"
            );
        }
    }

    #[test]
    fn ky3_handling_must_be_the_operations() {
        check(
            |r| r.payload.handling = Handling::Slet,
            KyOperation::Tilkendegivelse,
            &["KY-3.VAERDI"],
        );
        check(
            |r| r.payload.handling = Handling::Slet,
            KyOperation::Fravaer,
            &["KY-3.VAERDI"],
        );
    }

    #[test]
    fn ky3_fields_the_handling_needs() {
        check(
            |r| {
                if let KyBody::Kontaktforloeb(k) = &mut r.payload.body {
                    k.start_dato = None;
                }
            },
            KyOperation::Kontaktforloeb,
            &["KY-3.MANGLER"],
        );
        check(
            |r| {
                r.payload.handling = Handling::Stop;
                if let KyBody::Aktivitet(a) = &mut r.payload.body {
                    a.slut_dato = None;
                }
            },
            KyOperation::Aktivitet,
            &["KY-3.UKENDT", "KY-3.MANGLER"],
        );
    }

    #[test]
    fn ky4_values_and_dates() {
        check(
            |r| {
                if let KyBody::Fravaer(f) = &mut r.payload.body {
                    f.til_dato = Dato(f.fra_dato.0.previous_day().unwrap());
                }
            },
            KyOperation::Fravaer,
            &["KY-4.UOVERENSSTEMMELSE"],
        );
        check(
            |r| {
                if let KyBody::Godtgoerelse(g) = &mut r.payload.body {
                    g.linje.paragraf = 81;
                    g.linje.beloeb = Beloeb(0);
                }
            },
            KyOperation::Godtgoerelse,
            &["KY-4.VAERDI", "KY-4.VAERDI"],
        );
        check(
            |r| {
                if let KyBody::Visitationsgruppe(v) = &mut r.payload.body {
                    v.visitationsgruppe_kode = "PARAT".into();
                }
            },
            KyOperation::Visitationsgruppe,
            &["KY-4.VAERDI"],
        );
    }

    #[test]
    fn ky5_and_sp5_security_context() {
        check(
            |r| {
                r.authority_context = Some(AuthorityContext {
                    municipality_cvr: "55133018".parse().unwrap(),
                })
            },
            KyOperation::Maalgruppeskift,
            &["KY-5.UOVERENSSTEMMELSE"],
        );
        check(
            |r| r.authority_context = None,
            KyOperation::Sanktionsanmodning,
            &["SP-5.MANGLER"],
        );
    }
}
