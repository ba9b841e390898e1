//! How a vendor answers an extension request (KSD-11): which answer, and when. A pure
//! function of the vendor's [`ExtensionPolicy`], the run's seed, the instance, the request
//! and the virtual time it arrived.
//!
//! Every draw comes from the instance's own stream `jobcenter/<instance>/sf2093-policy`,
//! keyed by the request's TransaktionIdentifikator: the same request gets the same answer
//! and the same delay whatever else the vendor received, and whatever order it came in. All
//! draws are made every time, so changing one share never moves another draw.

use std::time::Duration;

use sim_seed::Rng;
use sim_wire::{AnmodningForlaengelse, Dato, ForlaengelseType, SvarForlaengelse};
use time::OffsetDateTime;

use crate::config::ExtensionPolicy;
use crate::model::ExtensionDecision;

/// Reasons a simulated case worker gives for refusing an extension.
const BEGRUNDELSER: [&str; 3] = [
    "Betingelserne for forlængelse efter sygedagpengelovens § 27 er ikke opfyldt.",
    "Den sygemeldte forventes at kunne genoptage arbejdet inden varighedsbegrænsningen.",
    "Det er ikke dokumenteret, at arbejdsevnen ikke kan afklares inden varighedsbegrænsningen.",
];

/// What the vendor decided about one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Decision {
    /// Which answer.
    pub decision: ExtensionDecision,
    /// The answer itself; none when it is never sent.
    pub svar: Option<SvarForlaengelse>,
    /// When it is to be sent (virtual time); none when it is never sent.
    pub due: Option<OffsetDateTime>,
    /// Whether it is due after SvarFrist on purpose.
    pub late: bool,
}

/// Decides the answer to `request`, received by `instance` at `now`; `force_late` (an
/// injected `late_extension_answer`) makes an answer late whatever the policy's `late_share`
/// drew, and moves no draw.
///
/// On time, the answer is due a delay drawn uniformly from the policy's range after `now`,
/// but no later than SvarFrist's evening (20:00 UTC, before midnight in Copenhagen summer
/// and winter alike); a request already past SvarFrist is answered at once. Late on purpose,
/// it is due the drawn delay after SvarFrist has passed everywhere in Denmark (the next day,
/// 00:00 UTC).
pub(crate) fn decide(
    policy: &ExtensionPolicy,
    seed: u64,
    instance: &str,
    request: &AnmodningForlaengelse,
    now: OffsetDateTime,
    force_late: bool,
) -> Decision {
    let tid = request.header.transaktion_identifikator.to_string();
    let stream = format!("jobcenter/{instance}/sf2093-policy");
    let mut rng = Rng::keyed(seed, &stream, sim_seed::hash(tid.as_bytes()));
    let pick = rng.choose_weighted(&[
        policy.time_limited,
        policy.unlimited,
        policy.rejected,
        policy.never_answered,
    ]);
    let late = rng.chance(policy.late_share) || force_late;
    let delay = Duration::from_millis(
        rng.range_inclusive(policy.answer_delay_min_ms, policy.answer_delay_max_ms),
    );
    let reason = BEGRUNDELSER[rng.range(0, BEGRUNDELSER.len() as u64) as usize];

    let (decision, svar) = match pick {
        Some(0) => (
            ExtensionDecision::TimeLimited,
            Some(SvarForlaengelse::Forlaengelse {
                forlaengelse_type: ForlaengelseType::Tidsbegraenset,
                forlaengelse_slut_dato: Some(extension_end(
                    request.varighedsgraense_dato,
                    policy.extension_weeks,
                )),
            }),
        ),
        Some(1) => (
            ExtensionDecision::Unlimited,
            Some(SvarForlaengelse::Forlaengelse {
                forlaengelse_type: ForlaengelseType::Tidsubegraenset,
                forlaengelse_slut_dato: None,
            }),
        ),
        Some(2) => (
            ExtensionDecision::Rejected,
            Some(SvarForlaengelse::Afvisning {
                begrundelse: reason.to_string(),
            }),
        ),
        // The policy is checked at start to have a positive weight; `None` cannot come.
        _ => (ExtensionDecision::Never, None),
    };
    let late = late && svar.is_some();
    let due = svar
        .as_ref()
        .map(|_| due(request.svar_frist, now, delay, late));
    Decision {
        decision,
        svar,
        due,
        late,
    }
}

/// ForlaengelseSlutDato: `weeks` after the duration limit.
fn extension_end(limit: Dato, weeks: u32) -> Dato {
    let end = limit
        .0
        .checked_add(time::Duration::weeks(i64::from(weeks)))
        .unwrap_or(time::Date::MAX);
    Dato(end)
}

/// When the answer goes (see [`decide`]).
fn due(svar_frist: Dato, now: OffsetDateTime, delay: Duration, late: bool) -> OffsetDateTime {
    let after = |t: OffsetDateTime| t.checked_add(delay.try_into().unwrap_or(time::Duration::MAX));
    let at = if late {
        let day_after = svar_frist.0.next_day().unwrap_or(svar_frist.0);
        after(day_after.midnight().assume_utc())
    } else {
        let evening = svar_frist
            .0
            .with_time(time::macros::time!(20:00))
            .assume_utc();
        after(now).map(|t| t.min(evening))
    };
    at.unwrap_or(now).max(now)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sim_wire::{examples, Payload, PayloadKind, Uuid};
    use time::macros::{date, datetime};

    fn request(n: u64) -> AnmodningForlaengelse {
        let Payload::AnmodningForlaengelse(mut a) =
            examples::payload(PayloadKind::AnmodningForlaengelse)
        else {
            unreachable!()
        };
        a.header.transaktion_identifikator = format!("00000000-0000-4000-8000-{n:012}")
            .parse::<Uuid>()
            .unwrap();
        a.varighedsgraense_dato = Dato(date!(2027 - 01 - 04));
        a.svar_frist = Dato(date!(2026 - 12 - 21));
        a
    }

    const NOW: OffsetDateTime = datetime!(2026-12-01 09:00 UTC);

    fn only(decision: ExtensionDecision) -> ExtensionPolicy {
        let w = |d| if d == decision { 1.0 } else { 0.0 };
        ExtensionPolicy {
            time_limited: w(ExtensionDecision::TimeLimited),
            unlimited: w(ExtensionDecision::Unlimited),
            rejected: w(ExtensionDecision::Rejected),
            never_answered: w(ExtensionDecision::Never),
            ..ExtensionPolicy::default()
        }
    }

    // rule KSD-11: the same request gets the same answer at the same time, on any restart.
    #[test]
    fn ksd11_decisions_are_deterministic_per_request() {
        let p = ExtensionPolicy::default();
        for n in 0..200 {
            let a = decide(&p, 42, "kmd-jc", &request(n), NOW, false);
            let b = decide(&p, 42, "kmd-jc", &request(n), NOW, false);
            assert_eq!(a, b);
        }
        let seeds: Vec<_> = (0..200)
            .map(|n| decide(&p, 42, "kmd-jc", &request(n), NOW, false).due)
            .collect();
        let other: Vec<_> = (0..200)
            .map(|n| decide(&p, 43, "kmd-jc", &request(n), NOW, false).due)
            .collect();
        assert_ne!(seeds, other, "another seed, other draws");
    }

    // rule KSD-11: over many requests each outcome comes in its share.
    #[test]
    fn ksd11_shares_are_respected_over_many_requests() {
        let p = ExtensionPolicy::default();
        let n = 20_000;
        let mut counts = std::collections::BTreeMap::new();
        for i in 0..n {
            let d = decide(&p, 7, "schultz-jc", &request(i), NOW, false);
            *counts.entry(d.decision.as_str()).or_insert(0u32) += 1;
            assert_eq!(d.svar.is_none(), d.decision == ExtensionDecision::Never);
            assert_eq!(d.due.is_none(), d.decision == ExtensionDecision::Never);
        }
        let share = |k: &str| f64::from(counts.get(k).copied().unwrap_or(0)) / n as f64;
        for (k, want) in [
            ("time_limited", 0.60),
            ("unlimited", 0.25),
            ("rejected", 0.10),
            ("never", 0.05),
        ] {
            assert!(
                (share(k) - want).abs() < 0.015,
                "{k}: {} vs {want}",
                share(k)
            );
        }
    }

    // rule KSD-11: every branch answers with a valid SvarForlaengelse; a time-limited
    // extension ends `extension_weeks` after the duration limit.
    #[test]
    fn ksd11_each_branch_gives_its_answer() {
        let r = request(1);
        let d = decide(
            &only(ExtensionDecision::TimeLimited),
            1,
            "kmd-jc",
            &r,
            NOW,
            false,
        );
        assert_eq!(
            d.svar,
            Some(SvarForlaengelse::Forlaengelse {
                forlaengelse_type: ForlaengelseType::Tidsbegraenset,
                forlaengelse_slut_dato: Some(Dato(date!(2027 - 03 - 01))),
            })
        );
        let d = decide(
            &only(ExtensionDecision::Unlimited),
            1,
            "kmd-jc",
            &r,
            NOW,
            false,
        );
        assert!(matches!(
            d.svar,
            Some(SvarForlaengelse::Forlaengelse {
                forlaengelse_type: ForlaengelseType::Tidsubegraenset,
                forlaengelse_slut_dato: None
            })
        ));
        let d = decide(
            &only(ExtensionDecision::Rejected),
            1,
            "kmd-jc",
            &r,
            NOW,
            false,
        );
        assert!(
            matches!(&d.svar, Some(SvarForlaengelse::Afvisning { begrundelse }) if !begrundelse.is_empty())
        );
        let d = decide(&only(ExtensionDecision::Never), 1, "kmd-jc", &r, NOW, false);
        assert_eq!((d.svar, d.due, d.late), (None, None, false));
    }

    // The delay is drawn within its range, on time before SvarFrist's evening, late after it.
    #[test]
    fn answers_are_due_within_the_delay_and_on_the_right_side_of_svar_frist() {
        let mut p = only(ExtensionDecision::TimeLimited);
        let (min, max) = (
            time::Duration::milliseconds(p.answer_delay_min_ms as i64),
            time::Duration::milliseconds(p.answer_delay_max_ms as i64),
        );
        let frist_evening = datetime!(2026-12-21 20:00 UTC);
        for i in 0..500 {
            let d = decide(&p, 3, "kmd-jc", &request(i), NOW, false);
            let due = d.due.unwrap();
            assert!(!d.late);
            assert!(due >= NOW + min && due <= NOW + max, "{due}");
            assert!(due <= frist_evening);
        }
        // A request arriving the evening before SvarFrist is answered by SvarFrist's evening.
        let late_arrival = datetime!(2026-12-20 22:00 UTC);
        for i in 0..200 {
            let due = decide(&p, 3, "kmd-jc", &request(i), late_arrival, false)
                .due
                .unwrap();
            assert!(due >= late_arrival && due <= frist_evening, "{due}");
        }
        p.late_share = 1.0;
        for i in 0..200 {
            let d = decide(&p, 3, "kmd-jc", &request(i), NOW, false);
            assert!(d.late);
            assert!(d.due.unwrap() >= datetime!(2026-12-22 00:00 UTC) + min);
        }
        p.late_share = 0.3;
        let late = (0..5000)
            .filter(|i| decide(&p, 3, "kmd-jc", &request(*i), NOW, false).late)
            .count();
        assert!((late as f64 / 5000.0 - 0.3).abs() < 0.03, "{late}");
    }

    // rule KSD-11: an injected late_extension_answer makes every answer late (after
    // SvarFrist's day) and changes neither the answer nor its drawn delay; a request the
    // policy never answers stays unanswered.
    #[test]
    fn ksd11_a_forced_late_answer_keeps_its_kind_and_delay() {
        let p = ExtensionPolicy::default();
        let after_frist = datetime!(2026-12-22 00:00 UTC);
        for i in 0..300 {
            let on_time = decide(&p, 5, "kmd-jc", &request(i), NOW, false);
            let forced = decide(&p, 5, "kmd-jc", &request(i), NOW, true);
            assert_eq!(forced.decision, on_time.decision);
            assert_eq!(forced.svar, on_time.svar);
            match forced.due {
                Some(due) => {
                    assert!(forced.late && due > after_frist, "{due}");
                    let late_policy = ExtensionPolicy {
                        late_share: 1.0,
                        ..p.clone()
                    };
                    let drawn_late = decide(&late_policy, 5, "kmd-jc", &request(i), NOW, false);
                    assert_eq!(forced.due, drawn_late.due, "the same drawn delay");
                }
                None => assert!(!forced.late),
            }
        }
    }
}
