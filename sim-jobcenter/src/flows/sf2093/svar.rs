//! The answer to an SF2093 extension request (KSD-11): `SendForretningsSvarForlaengelse`.

use sim_wire::{
    AnmodningForlaengelse, Cvr, ForretningsSvarForlaengelse, Payload, Request, SvarForlaengelse,
    Uuid,
};
use time::OffsetDateTime;

use super::ANSWER;

/// The answer to `request`: its header with the same TransaktionIdentifikator, as sent at
/// `sent_at` (the time it is due: the document is made once and resent unchanged) by the
/// instance's system (RegistreringITsystem), with the decided `svar`; in the request's
/// security context (`context`, JC-3).
pub(crate) fn forretnings_svar(
    request: &AnmodningForlaengelse,
    context: Cvr,
    system: Uuid,
    sent_at: OffsetDateTime,
    svar: SvarForlaengelse,
) -> Request {
    ANSWER.request(&request.header, context, system, sent_at, |header| {
        Payload::ForretningsSvarForlaengelse(ForretningsSvarForlaengelse { header, svar })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ExtensionPolicy;
    use crate::flows::sf2093::policy;
    use sim_wire::{examples, Message, PayloadKind};

    // rule KSD-11: every answer the policy can give is a valid message with the request's
    // TransaktionIdentifikator.
    #[test]
    fn ksd11_every_answer_is_valid() {
        let Payload::AnmodningForlaengelse(r) =
            examples::payload(PayloadKind::AnmodningForlaengelse)
        else {
            unreachable!()
        };
        let system: Uuid = "0e4a7c2b-91d3-4f6a-8b5e-d2c1a9f37b61".parse().unwrap();
        let now = time::macros::datetime!(2026-12-01 09:00 UTC);
        let p = ExtensionPolicy {
            never_answered: 0.0,
            ..ExtensionPolicy::default()
        };
        let mut seen = std::collections::BTreeSet::new();
        for seed in 0..60 {
            let d = policy::decide(&p, seed, "kmd-jc", &r, now, false);
            seen.insert(d.decision.as_str());
            let a = forretnings_svar(
                &r,
                r.header.myndighed,
                system,
                d.due.unwrap(),
                d.svar.unwrap(),
            );
            let problems = sim_wire::validate(&Message::Request(a.clone()));
            assert!(problems.is_empty(), "{problems:?}");
            let Payload::ForretningsSvarForlaengelse(f) = &a.payload else {
                unreachable!()
            };
            assert_eq!(
                f.header.transaktion_identifikator,
                r.header.transaktion_identifikator
            );
            let back = sim_wire::read(sim_wire::write_request(&a).as_bytes(), None).unwrap();
            assert!(back.is_valid(), "{:?}", back.problems);
        }
        assert_eq!(seen.len(), 3, "every kind of answer was made: {seen:?}");
    }
}
