//! SP-11 over a typed `Haendelsesbesked`: what the platform's message of a STAR event must
//! hold. The reader does not apply it (a broker carries other message types too); checkers and
//! tests do.

use std::collections::BTreeSet;

use super::model::Haendelsesbesked;
use super::{BESKEDTYPE_SYGEMELDINGSSTATUS, OBJEKTTYPE_PERSON};
use crate::municipalities::{municipalities, residence_of, KOMBIT_CVR};
use crate::rules::{code, Problem, Rule};
use crate::values::Cvr;

/// Every way `b` differs from SP-11 (empty when it is the message SP-11 makes).
pub fn validate_sp11(b: &Haendelsesbesked) -> Vec<Problem> {
    let mut out = Vec::new();
    let mut err = |c: &'static str, path: &str, text: String| {
        out.push(Problem::error(Rule::Sp11, c, path, text));
    };
    let f = &b.filtreringsdata;
    if f.beskedtype.to_string() != BESKEDTYPE_SYGEMELDINGSSTATUS {
        err(
            code::VAERDI,
            "Filtreringsdata/Beskedtype",
            format!("{} is not {BESKEDTYPE_SYGEMELDINGSSTATUS}", f.beskedtype),
        );
    }
    let all: BTreeSet<Cvr> = municipalities().iter().map(|m| m.cvr).collect();
    let given: BTreeSet<Cvr> = f.tilladte_modtagere.iter().copied().collect();
    if given != all || f.tilladte_modtagere.len() != all.len() {
        err(
            code::VAERDI,
            "Filtreringsdata/TilladtModtager",
            format!(
                "{} recipients ({} distinct); SP-11 names each of the {} municipalities once",
                f.tilladte_modtagere.len(),
                given.len(),
                all.len()
            ),
        );
    }
    let person = f.relaterede_objekter.first();
    match person.and_then(|o| o.cpr()) {
        None => err(
            code::VAERDI,
            "Filtreringsdata/RelateretObjekt[0]",
            format!(
                "RelateretObjekt[0] must be a Person ({OBJEKTTYPE_PERSON}) named urn:oio:cpr:<CPR>"
            ),
        ),
        Some(cpr) => {
            let kombit: Cvr = KOMBIT_CVR.parse().expect("a valid constant");
            let expected = residence_of(&cpr).map_or(kombit, |m| m.cvr);
            let found = f.objekt_registrering.objekt_ansvarlig_myndighed;
            if found != expected {
                err(
                    code::UOVERENSSTEMMELSE,
                    "Filtreringsdata/ObjektRegistrering/ObjektAnsvarligMyndighed",
                    format!("{found}, but the CPR register says {expected} for this person"),
                );
            }
        }
    }
    let d = &b.beskeddata;
    for (name, found, expected) in [
        ("content-type", &d.content_type, "text/plain"),
        ("encoding", &d.encoding, "ISO-8859-1"),
        ("file-type", &d.file_type, ".xml"),
    ] {
        if !found.eq_ignore_ascii_case(expected) {
            err(
                code::VAERDI,
                &format!("Beskeddata/Base64/@{name}"),
                format!("'{found}', not '{expected}'"),
            );
        }
    }
    out
}
