//! Deterministic id streams: UUIDs from (seed, stream name, epoch, counter).
//!
//! The seed makes runs reproducible; the epoch (a counter persisted in the state directory,
//! bumped at every start) keeps ids unique across restarts of the same state.

use std::sync::atomic::{AtomicU64, Ordering};

use sim_wire::Uuid;

use sim_seed::{key_seed, mix, sub_seed, GAMMA};

/// A thread-safe stream of UUIDs: deterministic, and increasing in the order they are drawn.
///
/// The first 48 bits count up from a seeded start, the other bits are seeded noise, in a
/// version-8 (custom) layout. Increasing ids keep every index on them (CallUUIDs in the
/// journals, case ids) growing at its end: random ids dirtied a different index page for
/// every row written.
#[derive(Debug)]
pub struct IdStream {
    counter: AtomicU64,
    base: u64,
}

impl IdStream {
    /// A stream named `stream` under `seed`, for the `epoch`-th start of the program.
    pub fn new(seed: u64, stream: &str, epoch: u64) -> IdStream {
        IdStream {
            counter: AtomicU64::new(0),
            // The stream's sub-seed keyed by the start epoch: sim-seed's one derivation rule.
            base: key_seed(sub_seed(seed, stream), epoch),
        }
    }

    /// The next UUID.
    pub fn next_uuid(&self) -> Uuid {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let a = mix(self
            .base
            .wrapping_add(n.wrapping_mul(2).wrapping_mul(GAMMA)));
        let b = mix(self
            .base
            .wrapping_add((n.wrapping_mul(2) + 1).wrapping_mul(GAMMA)));
        // 48 bits counting up from a seeded start (the high half of the start leaves room
        // for 2^47 ids before the count could wrap).
        let start = (self.base >> 17) & 0x0000_7fff_ffff_ffff;
        let prefix = start.wrapping_add(n) & 0x0000_ffff_ffff_ffff;
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&a.to_be_bytes());
        bytes[8..].copy_from_slice(&b.to_be_bytes());
        bytes[..6].copy_from_slice(&prefix.to_be_bytes()[2..]);
        bytes[6] = (bytes[6] & 0x0f) | 0x80;
        bytes[8] = (bytes[8] & 0x3f) | 0x80;
        Uuid::from_bytes_exact(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_ids_other_epoch_other_ids() {
        let a: Vec<_> = (0..3)
            .map({
                let s = IdStream::new(7, "sp/call", 1);
                move |_| s.next_uuid()
            })
            .collect();
        let b: Vec<_> = (0..3)
            .map({
                let s = IdStream::new(7, "sp/call", 1);
                move |_| s.next_uuid()
            })
            .collect();
        let c = IdStream::new(7, "sp/call", 2).next_uuid();
        assert_eq!(a, b);
        assert_ne!(a[0], a[1]);
        assert_ne!(a[0], c);
        assert!(a[0] < a[1] && a[1] < a[2], "increasing: {a:?}");
        assert!(
            a[0].to_string().as_bytes()[14] == b'8',
            "version 8 layout: {}",
            a[0]
        );
    }
}
