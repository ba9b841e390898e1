//! The business receipt (KSD-2): after processing an update, KSD tells the jobcenter through
//! the platform (`SendForretningsSvar` on the JC exposure) whether it was ACCEPTERET or
//! AFVIST, with the update's header and the same TransaktionIdentifikator.
//!
//! The receipt is written into the outbox in the same transaction that records the update,
//! due after the configured delay, and delivered from there ([`crate::send`]): at least once,
//! across restarts (the jobcenter deduplicates by TransaktionIdentifikator).

use sim_wire::{
    AuthorityContext, Cvr, DatoTid, ForretningsSvar, ForretningsValideringsKode,
    Forretningskvittering, OpdateringFravaer, Operation, Payload, Request, Uuid,
};
use time::OffsetDateTime;

use crate::cases::Verdict;

/// The SendForretningsSvar request for an update (KSD-2).
///
/// The header is the update's with what KSD changes: the send time, KSD as registering
/// system, the case id, and no RegistreringBruger or UdgiverTypeKode (KSD never fills them).
/// The AuthorityContext is the update's security context, so the platform routes the answer
/// to the municipality the update came from (SP-2), never to a header's claim.
pub fn forretnings_svar(
    update: &OpdateringFravaer,
    context: Cvr,
    sag_id: Uuid,
    ksd_system: Uuid,
    sent_at: OffsetDateTime,
    verdict: &Verdict,
) -> Request {
    let mut header = update.header.clone();
    header.besked_forsendelses_dato_tid = DatoTid(sent_at);
    header.registrering_it_system = ksd_system;
    header.registrering_bruger = None;
    header.udgiver_type_kode = None;
    header.sag_identifikator = Some(sag_id);
    let kode = match verdict {
        Verdict::Accepteret => ForretningsValideringsKode::Accepteret,
        Verdict::Afvist(_) => ForretningsValideringsKode::Afvist,
    };
    Request {
        operation: Operation::SendForretningsSvarJc,
        call_context: None,
        authority_context: Some(AuthorityContext {
            municipality_cvr: context,
        }),
        payload: Payload::ForretningsSvar(ForretningsSvar {
            header,
            kvittering: Forretningskvittering {
                kode,
                begrundelse: verdict.begrundelse().map(str::to_string),
                // KSD-2: a FejlListe only with FEJLET, which an accepted update never gets.
                fejl_liste: Vec::new(),
            },
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sim_wire::examples;

    fn update() -> OpdateringFravaer {
        match examples::payload(sim_wire::PayloadKind::OpdateringFravaer) {
            Payload::OpdateringFravaer(u) => u,
            _ => unreachable!("the example of this kind is an OpdateringFravaer"),
        }
    }

    /// KSD-2: same TransaktionIdentifikator, KSD's fields, no FejlListe; and the receipt
    /// passes sim-wire's own rules for what KSD sends.
    #[test]
    fn receipt_keeps_the_transaction_and_fills_ksd_fields_rule_ksd2() {
        let u = update();
        let sag: Uuid = "11111111-2222-4333-8444-555555555555".parse().unwrap();
        let ksd: Uuid = "66666666-7777-4888-9999-aaaaaaaaaaaa".parse().unwrap();
        let r = forretnings_svar(
            &u,
            u.header.myndighed,
            sag,
            ksd,
            time::macros::datetime!(2026-11-23 10:00 UTC),
            &Verdict::Accepteret,
        );
        let Payload::ForretningsSvar(f) = &r.payload else {
            panic!("a ForretningsSvar")
        };
        assert_eq!(
            f.header.transaktion_identifikator,
            u.header.transaktion_identifikator
        );
        assert_eq!(f.header.sag_identifikator, Some(sag));
        assert_eq!(f.header.registrering_it_system, ksd);
        assert!(f.header.registrering_bruger.is_none() && f.header.udgiver_type_kode.is_none());
        assert_eq!(f.kvittering.kode, ForretningsValideringsKode::Accepteret);
        let message = sim_wire::Message::Request(r.clone());
        assert!(sim_wire::validate(&message).is_empty());
        let back = sim_wire::read(sim_wire::write_request(&r).as_bytes(), None).unwrap();
        assert!(back.is_valid(), "{:?}", back.problems);
    }

    #[test]
    fn ending_before_the_absence_began_is_afvist() {
        let mut u = update();
        assert_eq!(crate::cases::verdict(&u), Verdict::Accepteret);
        u.ophoers_start_dato = "2026-10-01".parse().unwrap();
        assert!(matches!(crate::cases::verdict(&u), Verdict::Afvist(_)));
    }
}
