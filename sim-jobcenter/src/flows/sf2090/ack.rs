//! The acknowledgement of an SF2090 event (KSD-10) and the policy that may leave one out.

use sim_wire::{
    Cvr, ForretningsSvar, ForretningsValideringsKode, Forretningskvittering, Haendelse, Payload,
    Request, Uuid,
};
use time::OffsetDateTime;

use super::ACKNOWLEDGEMENT;
use crate::config::AckPolicy;

/// The `SendForretningsSvar` acknowledging `event`: the event's header with the same
/// TransaktionIdentifikator, as sent now (BeskedForsendelsesDatoTid) by the instance's
/// system (RegistreringITsystem), with Forretningskvittering MODTAGET; in the event's
/// security context (`context`, JC-3), so the platform takes it for the municipality the
/// event came for.
pub(crate) fn acknowledgement(
    event: &Haendelse,
    context: Cvr,
    system: Uuid,
    now: OffsetDateTime,
) -> Request {
    ACKNOWLEDGEMENT.request(&event.header, context, system, now, |header| {
        Payload::ForretningsSvar(ForretningsSvar {
            header,
            kvittering: Forretningskvittering {
                kode: ForretningsValideringsKode::Modtaget,
                begrundelse: None,
                fejl_liste: Vec::new(),
            },
        })
    })
}

/// Whether the instance acknowledges the event `tid` at all: `never_acknowledged` of the
/// events are left without one. A pure function of (seed, instance, TransaktionIdentifikator)
/// on its own stream, so a redelivery or a restart decides the same and no other draw moves.
pub(crate) fn acknowledges(policy: &AckPolicy, seed: u64, instance: &str, tid: &str) -> bool {
    if policy.never_acknowledged <= 0.0 {
        return true;
    }
    let stream = format!("jobcenter/{instance}/sf2090-ack");
    let mut rng = sim_seed::Rng::keyed(seed, &stream, sim_seed::hash(tid.as_bytes()));
    !rng.chance(policy.never_acknowledged)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sim_wire::{examples, DatoTid, Message, Operation, PayloadKind};

    fn event() -> Haendelse {
        match examples::payload(PayloadKind::Haendelse) {
            Payload::Haendelse(h) => h,
            _ => unreachable!(),
        }
    }

    // rule KSD-10: the acknowledgement is a valid SendForretningsSvar MODTAGET with the
    // event's TransaktionIdentifikator, sent by the vendor, in the event's context (JC-3).
    #[test]
    fn ksd10_the_acknowledgement_is_valid_and_keeps_the_transaktion_id() {
        let e = event();
        let system: Uuid = "0e4a7c2b-91d3-4f6a-8b5e-d2c1a9f37b61".parse().unwrap();
        let now = time::macros::datetime!(2026-11-24 10:00 UTC);
        let ack = acknowledgement(&e, e.header.myndighed, system, now);
        let problems = sim_wire::validate(&Message::Request(ack.clone()));
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(ack.operation, Operation::SendForretningsSvarKsd);
        assert_eq!(
            ack.authority_context.as_ref().map(|a| a.municipality_cvr),
            Some(e.header.myndighed)
        );
        let Payload::ForretningsSvar(s) = &ack.payload else {
            panic!("not a ForretningsSvar")
        };
        assert_eq!(
            s.header.transaktion_identifikator,
            e.header.transaktion_identifikator
        );
        assert_eq!(s.header.registrering_it_system, system);
        assert_eq!(s.header.besked_forsendelses_dato_tid, DatoTid(now));
        assert_eq!(s.kvittering.kode, ForretningsValideringsKode::Modtaget);
        assert!(s.kvittering.fejl_liste.is_empty());
        // What the reader makes of the written document agrees.
        let back = sim_wire::read(sim_wire::write_request(&ack).as_bytes(), None).unwrap();
        assert!(back.is_valid(), "{:?}", back.problems);
    }

    #[test]
    fn ksd10_suppression_is_deterministic_per_transaktion_id_and_respects_its_share() {
        let half = AckPolicy {
            never_acknowledged: 0.5,
        };
        let tids: Vec<String> = (0..4000)
            .map(|n| format!("00000000-0000-4000-8000-{n:012}"))
            .collect();
        let first: Vec<bool> = tids
            .iter()
            .map(|t| acknowledges(&half, 7, "kmd-jc", t))
            .collect();
        let again: Vec<bool> = tids
            .iter()
            .map(|t| acknowledges(&half, 7, "kmd-jc", t))
            .collect();
        assert_eq!(first, again, "the same seed decides the same");
        let share = first.iter().filter(|a| !**a).count() as f64 / tids.len() as f64;
        assert!((share - 0.5).abs() < 0.04, "{share}");
        let other: Vec<bool> = tids
            .iter()
            .map(|t| acknowledges(&half, 7, "schultz-jc", t))
            .collect();
        assert_ne!(first, other, "each instance draws from its own stream");
        let all = AckPolicy::default();
        let none = AckPolicy {
            never_acknowledged: 1.0,
        };
        assert!(tids.iter().all(|t| acknowledges(&all, 7, "kmd-jc", t)));
        assert!(tids.iter().all(|t| !acknowledges(&none, 7, "kmd-jc", t)));
    }
}
