//! What keeps one caller, or too many, from taking a server down: a cap on the connections
//! one address holds, and, for a server that sheds (the platform), a cap on the requests in
//! flight — overall and per calling system — beyond which a request is answered at once with a
//! fault instead of waiting (see [`Shed`]).
//!
//! Counting only: the accept loop and the connection service (`server`) apply them, and the
//! program's SOAP handler turns a [`Shed`] mark into its journaled fault, because only the
//! program knows its journal and its rules.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The request-level limits of a server that sheds load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shedding {
    /// Requests handled at once per path (the platform's two exposures each have their own
    /// budget, so callers of one — any number of flooding vendors — cannot starve the other's,
    /// KSD's receipts); the next one is shed.
    pub max_in_flight: usize,
    /// Requests one calling system (certificate CVR and holder) may have in flight at once,
    /// so that one caller — a flooding vendor — cannot starve another (KSD's receipts) on the
    /// same port.
    pub max_in_flight_per_caller: usize,
}

impl Default for Shedding {
    /// 256 at once, at most half of them for one caller.
    fn default() -> Shedding {
        Shedding {
            max_in_flight: 256,
            max_in_flight_per_caller: 128,
        }
    }
}

/// In a request's extensions when the server shed it: the handler must answer with a fault
/// at once, without doing the work. The text says which limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shed(pub String);

/// Connections held per peer address.
#[derive(Debug, Clone)]
pub(crate) struct PerAddress {
    cap: usize,
    held: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

/// One connection counted against its address until dropped.
#[derive(Debug)]
pub(crate) struct AddressSlot {
    ip: IpAddr,
    held: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

impl PerAddress {
    pub(crate) fn new(cap: usize) -> PerAddress {
        PerAddress {
            cap: cap.max(1),
            held: Arc::default(),
        }
    }

    /// A slot for a new connection from `ip`, or `None` when the address is at its cap.
    pub(crate) fn take(&self, ip: IpAddr) -> Option<AddressSlot> {
        let mut held = self.held.lock().expect("per-address lock");
        let n = held.entry(ip).or_insert(0);
        if *n >= self.cap {
            return None;
        }
        *n += 1;
        Some(AddressSlot {
            ip,
            held: Arc::clone(&self.held),
        })
    }
}

impl Drop for AddressSlot {
    fn drop(&mut self) {
        let mut held = self.held.lock().expect("per-address lock");
        if let Some(n) = held.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                held.remove(&self.ip);
            }
        }
    }
}

/// Paths with a budget of their own; requests to any further path share one (so a caller
/// cannot make the server keep a budget per made-up path).
const OWN_BUDGET_PATHS: usize = 8;

/// The in-flight counters of a shedding server.
#[derive(Debug, Clone)]
pub(crate) struct InFlight {
    limits: Shedding,
    per_path: Arc<Mutex<HashMap<String, Arc<Semaphore>>>>,
    per_caller: Arc<Mutex<HashMap<String, Arc<Semaphore>>>>,
}

/// A request counted in flight until dropped.
#[derive(Debug)]
pub(crate) struct Entered {
    _all: OwnedSemaphorePermit,
    _caller: OwnedSemaphorePermit,
}

impl InFlight {
    pub(crate) fn new(limits: Shedding) -> InFlight {
        InFlight {
            limits,
            per_path: Arc::default(),
            per_caller: Arc::default(),
        }
    }

    /// The overall budget of requests to `path`.
    fn budget(&self, path: &str) -> Arc<Semaphore> {
        let mut map = self.per_path.lock().expect("in-flight lock");
        let key = if map.contains_key(path) || map.len() < OWN_BUDGET_PATHS {
            path
        } else {
            "*"
        };
        if let Some(s) = map.get(key) {
            return Arc::clone(s);
        }
        let cap = self.limits.max_in_flight.max(1);
        Arc::clone(
            map.entry(key.to_string())
                .or_insert_with(|| Arc::new(Semaphore::new(cap))),
        )
    }

    /// Counts a request of `caller` to `path` in, or says which limit it would break.
    pub(crate) fn enter(&self, caller: &str, path: &str) -> Result<Entered, Shed> {
        let mine = {
            let mut map = self.per_caller.lock().expect("in-flight lock");
            let cap = self.limits.max_in_flight_per_caller.max(1);
            // Looked up before inserted: no key is allocated on the hot path.
            match map.get(caller) {
                Some(s) => Arc::clone(s),
                None => Arc::clone(
                    map.entry(caller.to_string())
                        .or_insert_with(|| Arc::new(Semaphore::new(cap))),
                ),
            }
        };
        let caller_permit = mine.try_acquire_owned().map_err(|_| {
            crate::metrics::shed("per_caller");
            Shed(format!(
                "the calling system already has {} requests in flight",
                self.limits.max_in_flight_per_caller
            ))
        })?;
        let all = self.budget(path).try_acquire_owned().map_err(|_| {
            crate::metrics::shed("in_flight");
            Shed(format!(
                "{} requests are in flight, the most this endpoint handles at once",
                self.limits.max_in_flight
            ))
        })?;
        Ok(Entered {
            _all: all,
            _caller: caller_permit,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_holds_at_most_its_cap_and_gets_slots_back() {
        let per = PerAddress::new(2);
        let a: IpAddr = "127.0.0.2".parse().unwrap();
        let b: IpAddr = "127.0.0.3".parse().unwrap();
        let one = per.take(a).unwrap();
        let _two = per.take(a).unwrap();
        assert!(per.take(a).is_none(), "third from the same address");
        assert!(per.take(b).is_some(), "another address is not affected");
        drop(one);
        assert!(
            per.take(a).is_some(),
            "a slot comes back when its connection ends"
        );
    }

    #[test]
    fn in_flight_sheds_past_the_caller_cap_and_the_overall_cap() {
        let f = InFlight::new(Shedding {
            max_in_flight: 3,
            max_in_flight_per_caller: 2,
        });
        let _a1 = f.enter("vendor", "/ksd").unwrap();
        let _a2 = f.enter("vendor", "/ksd").unwrap();
        let shed = f.enter("vendor", "/ksd").unwrap_err();
        assert!(shed.0.contains("calling system"), "{shed:?}");
        let _b1 = f.enter("other-vendor", "/ksd").unwrap();
        let shed = f.enter("other-vendor", "/ksd").unwrap_err();
        assert!(shed.0.contains("in flight"), "{shed:?}");
        // The other exposure has its own budget: the flood on /ksd does not starve it.
        let _k1 = f.enter("ksd", "/jc").unwrap();
        let _k2 = f.enter("ksd", "/jc").unwrap();
        drop(_a1);
        assert!(f.enter("other-vendor", "/ksd").is_ok());
    }
}
