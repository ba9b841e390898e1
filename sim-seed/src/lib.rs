//! `sim-seed`: every random draw of the simulator comes from here.
//!
//! A run is a seed. Every consumer draws from its own *stream*, named like a path
//! (`arrivals`, `data`, `faults/timeout#0`, `jobcenter/kmd-jc/data`, `sp/call-uuid`), whose
//! state is derived from `(seed, name)` alone ([`sub_seed`]). Adding a stream, or drawing more
//! from one, therefore never shifts what another stream produces: a new vendor or a new fault
//! rule leaves every existing arrival and decision as it was (the idea of TigerBeetle's VOPR).
//!
//! Per-item draws go one step further: the stream for item `key` (an arrival's sequence
//! number, a program's start epoch) is a pure function of `(seed, name, key)`
//! ([`Rng::keyed`]), so items can be generated in any order, or one at a time, with the same
//! result.
//!
//! **Invariants**: one mixer ([`mix`], SplitMix64's finaliser), one stream-name hash
//! ([`hash`], FNV-1a 64), one sub-seed rule ([`sub_seed`], [`key_seed`]); no entropy from the
//! OS and no global generator. Distributions are rand_distr's, drawn through rand's traits,
//! which [`Rng`] implements.
//!
//! # Layout
//! - [`mix`], [`hash`], [`sub_seed`], [`key_seed`]: the derivation rules.
//! - [`Rng`]: a SplitMix64 stream with the draws the simulator needs.

use std::convert::Infallible;

use rand_distr::{Distribution, Exp, LogNormal, StandardNormal};

/// The SplitMix64 increment (the golden ratio in 64 bits).
pub const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// SplitMix64's finaliser: a bijective mix of all 64 bits.
pub fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// FNV-1a, 64 bits: a stable hash of a stream name, a key text or a scenario file.
pub fn hash(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The sub-seed of stream `stream` under `seed`: `hash(seed, stream)`.
pub fn sub_seed(seed: u64, stream: &str) -> u64 {
    mix(mix(seed ^ GAMMA) ^ hash(stream.as_bytes()))
}

/// The seed of item `key` under a stream's sub-seed.
pub fn key_seed(sub_seed: u64, key: u64) -> u64 {
    mix(sub_seed ^ mix(key.wrapping_mul(GAMMA).wrapping_add(GAMMA)))
}

/// A seeded pseudo-random stream (SplitMix64). Not cryptographic; statistically plenty for
/// simulation, tiny, identical on every platform, and cheap to clone (a clone continues
/// identically).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rng {
    /// The SplitMix64 counter; each draw adds [`GAMMA`] and mixes.
    state: u64,
}

impl Rng {
    /// The stream named `stream` under `seed`.
    pub fn new(seed: u64, stream: &str) -> Rng {
        Rng {
            state: sub_seed(seed, stream),
        }
    }

    /// The stream for item `key` of `stream` under `seed`, e.g. the data of arrival `seq`.
    pub fn keyed(seed: u64, stream: &str, key: u64) -> Rng {
        Rng::from_sub_seed(sub_seed(seed, stream), key)
    }

    /// The stream for item `key` under an already derived sub-seed (saves hashing the name
    /// for every item in hot loops).
    pub fn from_sub_seed(sub_seed: u64, key: u64) -> Rng {
        Rng {
            state: key_seed(sub_seed, key),
        }
    }

    /// The next 64 random bits.
    pub fn u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(GAMMA);
        mix(self.state)
    }

    /// Uniform in `[0, 1)` with 53 bits of precision.
    pub fn f64(&mut self) -> f64 {
        (self.u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in `lo..hi` (empty range → `lo`). Multiply-shift: the bias is below 2^-32 for
    /// any range a simulation uses.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        if hi <= lo {
            return lo;
        }
        let span = hi - lo;
        lo + ((u128::from(self.u64()) * u128::from(span)) >> 64) as u64
    }

    /// Uniform in `lo..=hi` (`hi < lo` → `lo`).
    pub fn range_inclusive(&mut self, lo: u64, hi: u64) -> u64 {
        self.range(lo, hi.saturating_add(1))
    }

    /// `true` with probability `p` (clamped to `[0, 1]`).
    pub fn chance(&mut self, p: f64) -> bool {
        self.f64() < p
    }

    /// Exponentially distributed with rate `rate` (mean `1/rate`); `+inf` for a rate ≤ 0.
    pub fn exp(&mut self, rate: f64) -> f64 {
        match Exp::new(rate) {
            Ok(d) if rate > 0.0 => d.sample(self),
            _ => f64::INFINITY,
        }
    }

    /// Standard normal.
    pub fn normal(&mut self) -> f64 {
        StandardNormal.sample(self)
    }

    /// Log-normal: `exp(mu + sigma · N(0,1))`; the median is `exp(mu)`. A negative or NaN
    /// sigma counts as 0 (the median itself).
    pub fn lognormal(&mut self, mu: f64, sigma: f64) -> f64 {
        match LogNormal::new(mu, sigma) {
            Ok(d) => d.sample(self),
            Err(_) => mu.exp(),
        }
    }

    /// An index drawn with probability proportional to `weights` (negative and NaN weights
    /// count as zero); `None` when no weight is positive.
    pub fn choose_weighted(&mut self, weights: &[f64]) -> Option<usize> {
        let clean = |w: f64| if w > 0.0 { w } else { 0.0 };
        let total: f64 = weights.iter().map(|w| clean(*w)).sum();
        if total <= 0.0 || !total.is_finite() {
            return None;
        }
        let mut x = self.f64() * total;
        let mut last = None;
        for (i, w) in weights.iter().enumerate() {
            let w = clean(*w);
            if w > 0.0 {
                if x < w {
                    return Some(i);
                }
                x -= w;
                last = Some(i);
            }
        }
        // Rounding left a sliver past the end: the last positive weight takes it.
        last
    }

    /// One element of `items`, uniformly; `None` when empty.
    pub fn choose<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        items.get(self.range(0, items.len() as u64) as usize)
    }
}

/// rand's core trait, so rand_distr's distributions (and anything else written against rand)
/// draw from our streams.
impl rand_core::TryRng for Rng {
    type Error = Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        Ok((self.u64() >> 32) as u32)
    }

    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        Ok(self.u64())
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        for chunk in dst.chunks_mut(8) {
            let bytes = self.u64().to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_and_stream_same_draws() {
        let a: Vec<u64> = {
            let mut r = Rng::new(42, "vendor-b/arrivals");
            (0..5).map(|_| r.u64()).collect()
        };
        let mut r = Rng::new(42, "vendor-b/arrivals");
        assert_eq!(a, (0..5).map(|_| r.u64()).collect::<Vec<_>>());
        assert_ne!(a[0], Rng::new(42, "vendor-a/arrivals").u64());
        assert_ne!(a[0], Rng::new(43, "vendor-b/arrivals").u64());
    }

    #[test]
    fn keyed_streams_do_not_depend_on_order() {
        let k7 = Rng::keyed(1, "data", 7).u64();
        let _ = Rng::keyed(1, "data", 3).u64();
        assert_eq!(Rng::keyed(1, "data", 7).u64(), k7);
        assert_ne!(Rng::keyed(1, "data", 8).u64(), k7);
        assert_ne!(Rng::keyed(2, "data", 7).u64(), k7);
        assert_eq!(
            Rng::from_sub_seed(sub_seed(1, "data"), 7).u64(),
            k7,
            "one sub-seed rule"
        );
    }

    #[test]
    fn the_rules_are_pinned() {
        // Changing any of these changes every run's messages: do it once, on purpose.
        assert_eq!(hash(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(mix(0), 0);
        assert_eq!(Rng::new(0, "x").u64(), Rng::new(0, "x").clone().u64());
    }

    #[test]
    fn moments_are_about_right() {
        let mut r = Rng::new(9, "moments");
        let n = 100_000;
        let mean = |xs: &[f64]| xs.iter().sum::<f64>() / xs.len() as f64;
        let u: Vec<f64> = (0..n).map(|_| r.f64()).collect();
        assert!(u.iter().all(|x| (0.0..1.0).contains(x)));
        assert!((mean(&u) - 0.5).abs() < 0.01);
        let e: Vec<f64> = (0..n).map(|_| r.exp(4.0)).collect();
        assert!((mean(&e) - 0.25).abs() < 0.01);
        assert_eq!(r.exp(0.0), f64::INFINITY);
        assert_eq!(r.exp(f64::NAN), f64::INFINITY);
        let z: Vec<f64> = (0..n).map(|_| r.normal()).collect();
        let m = mean(&z);
        let var = z.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / n as f64;
        assert!(m.abs() < 0.02 && (var - 1.0).abs() < 0.03, "{m} {var}");
        let mut l: Vec<f64> = (0..n).map(|_| r.lognormal(2.0f64.ln(), 0.5)).collect();
        l.sort_by(f64::total_cmp);
        assert!((l[n / 2] - 2.0).abs() < 0.05, "median {}", l[n / 2]);
        let mut counts = [0u32; 3];
        for _ in 0..n {
            counts[r.choose_weighted(&[1.0, 0.0, 3.0]).unwrap()] += 1;
        }
        assert_eq!(counts[1], 0);
        assert!((f64::from(counts[2]) / n as f64 - 0.75).abs() < 0.01);
        assert!((0..1000).all(|_| r.range(10, 13) >= 10 && r.range(10, 13) < 13));
        assert!((0..1000).all(|_| (5..=9).contains(&r.range_inclusive(5, 9))));
        assert_eq!(r.range(5, 5), 5);
        assert_eq!(r.choose_weighted(&[0.0, -1.0, f64::NAN]), None);
    }
}
