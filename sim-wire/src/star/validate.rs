//! Rule SP-12 as a pure function: what a call to STAR lacks of the constant headers seed 004
//! §3.3.3 prescribes, so STAR can refuse it with a fault naming SP-12 and a platform's test
//! can check its own calls before sending them.

use super::model::{sp12, StarHeaders};
use super::operation::StarOperation;
use crate::rules::{code, Problem, Rule};
use crate::values::{DatoTid, Uuid};

/// Every way `headers` of a call of `op` break SP-12 (empty: none). The constants must be
/// exactly seed 004's (`7`, `999`, `KSD`, `3`, `KSD System`); `RegistrationDateTime` an
/// `xs:dateTime` with offset; `GetIllnessUpdatedVersion6` also needs
/// `SequenceRequest/Identifier`, a UUID.
pub fn check_headers(op: StarOperation, headers: &StarHeaders) -> Vec<Problem> {
    let mut out = Vec::new();
    match &headers.active_organisation {
        None => out.push(missing("ActiveOrganisationHeader")),
        Some(a) => {
            let p = "ActiveOrganisationHeader";
            constant(
                &mut out,
                &format!("{p}/OrganisationTypeIdentifier"),
                &a.organisation_type_identifier,
                sp12::ORGANISATION_TYPE_IDENTIFIER,
            );
            constant(
                &mut out,
                &format!("{p}/OrganisationCode"),
                &a.organisation_code,
                sp12::ORGANISATION_CODE,
            );
        }
    }
    match &headers.request_user_metadata {
        None => out.push(missing("RequestUserMetadataHeader")),
        Some(m) => {
            let u = "RequestUserMetadataHeader/RequestUserStructure";
            let o = "RequestUserMetadataHeader/RequestOrganisationStructure";
            let user = &m.request_user;
            let org = &m.request_organisation;
            for (path, found, want) in [
                (
                    format!("{u}/UserFullName"),
                    &user.user_full_name,
                    sp12::USER_FULL_NAME,
                ),
                (
                    format!("{u}/RequestUserTypeIdentifier"),
                    &user.request_user_type_identifier,
                    sp12::REQUEST_USER_TYPE_IDENTIFIER,
                ),
                (
                    format!("{u}/UserIdentifier"),
                    &user.user_identifier,
                    sp12::USER_IDENTIFIER,
                ),
                (
                    format!("{o}/OrganisationTypeIdentifier"),
                    &org.organisation_type_identifier,
                    sp12::ORGANISATION_TYPE_IDENTIFIER,
                ),
                (
                    format!("{o}/OrganisationCode"),
                    &org.organisation_code,
                    sp12::ORGANISATION_CODE,
                ),
            ] {
                constant(&mut out, &path, found, want);
            }
            // TODO(rule SP-12): only the form is checked; whether the time is the call's own
            // (close to the receiver's clock) is not, as this crate reads no clock.
            let t = m.registration_date_time.trim();
            let path = "RequestUserMetadataHeader/RegistrationDateTime";
            if t.is_empty() {
                out.push(missing(path));
            } else if t.parse::<DatoTid>().is_err() {
                out.push(Problem::error(
                    Rule::Sp12,
                    code::FORMAT,
                    path,
                    format!(
                        "{path} '{t}' is not the time of the call as an xs:dateTime with offset"
                    ),
                ));
            }
        }
    }
    if op == StarOperation::GetIllnessUpdatedVersion6 {
        let path = "SequenceRequest/Identifier";
        match headers.sequence_request.as_deref().map(str::trim) {
            None => out.push(missing("SequenceRequest")),
            Some("") => out.push(missing(path)),
            Some(id) if id.parse::<Uuid>().is_err() => out.push(Problem::error(
                Rule::Sp12,
                code::FORMAT,
                path,
                format!("{path} '{id}' is not the UUID CreateSequence answered"),
            )),
            Some(_) => {}
        }
    }
    out
}

/// A constant that must be exactly `want`.
fn constant(out: &mut Vec<Problem>, path: &str, found: &str, want: &str) {
    let found = found.trim();
    if found.is_empty() {
        out.push(Problem::error(
            Rule::Sp12,
            code::MANGLER,
            path,
            format!("{path} is missing; SP-12 requires '{want}'"),
        ));
    } else if found != want {
        out.push(Problem::error(
            Rule::Sp12,
            code::VAERDI,
            path,
            format!("{path} is '{found}'; SP-12 requires '{want}'"),
        ));
    }
}

fn missing(path: &str) -> Problem {
    Problem::error(
        Rule::Sp12,
        code::MANGLER,
        path,
        format!("the SOAP header {path} is missing (SP-12)"),
    )
}
