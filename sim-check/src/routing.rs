//! Which vendor instance a municipality was routed to at a given virtual time (SP-3), from the
//! final routing table and the changes the runner made during the run.
//!
//! The input gives the table *after* the run plus each change with its time, not the table
//! before it: for a municipality that changed, the route before its first change is unknown,
//! and a message judged only at such times is counted as *not judged* rather than guessed.

use std::collections::BTreeMap;

use sim_store::unix_millis;

use crate::CheckInput;

/// A municipality's route at one instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Route<'a> {
    /// Routed to this instance.
    To(&'a str),
    /// No route: the platform should have refused (SP-4).
    Unrouted,
    /// Before the municipality's first recorded change: not known from the input.
    Unknown,
}

/// Whether an instance may have received a municipality's message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Judgement {
    /// It was the routed instance at one of the instants considered.
    Right,
    /// The route was known at some instant considered and never named this instance.
    Wrong,
    /// The route was unknown at every instant considered.
    Unknown,
}

/// The routing history of a run.
pub(crate) struct Routes<'a> {
    /// Municipality → instance after the run.
    current: &'a BTreeMap<String, String>,
    /// Municipality → (virtual ms, instance) in time order; an empty instance removes the route.
    changes: BTreeMap<&'a str, Vec<(i64, &'a str)>>,
}

impl<'a> Routes<'a> {
    pub fn new(input: &'a CheckInput) -> Routes<'a> {
        let mut changes: BTreeMap<&str, Vec<(i64, &str)>> = BTreeMap::new();
        for (at, cvr, instance) in &input.routing_changes {
            changes
                .entry(cvr.as_str())
                .or_default()
                .push((unix_millis(*at), instance.as_str()));
        }
        for list in changes.values_mut() {
            // Stable: two changes at the same instant keep the order the runner made them in.
            list.sort_by_key(|(at, _)| *at);
        }
        Routes {
            current: &input.routing,
            changes,
        }
    }

    /// The route of `cvr` at virtual time `at` (ms); a change takes effect at its own instant.
    pub fn at(&self, cvr: &str, at: i64) -> Route<'a> {
        match self.changes.get(cvr) {
            Some(list) => match list.iter().rev().find(|(t, _)| *t <= at) {
                Some((_, "")) => Route::Unrouted,
                Some((_, instance)) => Route::To(instance),
                None => Route::Unknown,
            },
            None => match self.current.get(cvr) {
                Some(instance) => Route::To(instance),
                None => Route::Unrouted,
            },
        }
    }

    /// Whether `instance` was the route of `cvr` at any of the instants `times`.
    ///
    /// Several instants because a message crossing a routing change is rightly delivered
    /// according to the route when the platform decided (accepted KSD's call) *or* the route
    /// when it was delivered; both are considered.
    pub fn judge(&self, cvr: &str, instance: &str, times: &[i64]) -> Judgement {
        let mut known = false;
        for t in times {
            match self.at(cvr, *t) {
                Route::To(i) if i == instance => return Judgement::Right,
                Route::To(_) | Route::Unrouted => known = true,
                Route::Unknown => {}
            }
        }
        if known {
            Judgement::Wrong
        } else {
            Judgement::Unknown
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;
    use time::macros::datetime;

    fn input() -> CheckInput {
        let mut i =
            CheckInput::for_state_dir(&PathBuf::from("/x"), datetime!(2026-01-01 12:00 UTC));
        i.routing.insert("11111111".into(), "b".into());
        i.routing.insert("22222222".into(), "a".into());
        i.routing_changes.push((
            datetime!(2026-01-01 10:00 UTC),
            "11111111".into(),
            "b".into(),
        ));
        i
    }

    #[test]
    fn before_the_first_change_the_route_is_unknown() {
        let i = input();
        let r = Routes::new(&i);
        let before = unix_millis(datetime!(2026-01-01 09:59 UTC));
        let after = unix_millis(datetime!(2026-01-01 10:00 UTC));
        assert_eq!(r.at("11111111", before), Route::Unknown);
        assert_eq!(r.at("11111111", after), Route::To("b"));
        assert_eq!(r.at("22222222", before), Route::To("a"));
        assert_eq!(r.at("33333333", before), Route::Unrouted);
        assert_eq!(r.judge("11111111", "a", &[before]), Judgement::Unknown);
        assert_eq!(r.judge("11111111", "a", &[before, after]), Judgement::Wrong);
        assert_eq!(r.judge("22222222", "a", &[before]), Judgement::Right);
    }
}
