//! A seeded generator for message data (CPRs, employers, dates), built like
//! `sim_kit::ids::IdStream`: splitmix64 over a base derived from (seed, stream name, epoch),
//! so each instance has its own stream and adding an instance shifts no other one.

const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn fnv1a(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// splitmix64; not thread-safe by itself (kept behind a mutex per instance).
#[derive(Debug)]
pub struct SplitMix {
    state: u64,
}

impl SplitMix {
    /// The stream `stream` under `seed` for the `epoch`-th start.
    pub fn new(seed: u64, stream: &str, epoch: u64) -> SplitMix {
        SplitMix {
            state: mix(seed ^ fnv1a(stream) ^ mix(epoch.wrapping_mul(GAMMA))),
        }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(GAMMA);
        mix(self.state)
    }

    /// A number in `lo..=hi` (the modulo bias is far below anything a simulation notices).
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        if hi <= lo {
            return lo;
        }
        lo + self.next_u64() % (hi - lo + 1)
    }

    /// One element of a non-empty slice.
    pub fn pick<T: Copy>(&mut self, xs: &[T]) -> Option<T> {
        if xs.is_empty() {
            return None;
        }
        let i = self.range(0, xs.len() as u64 - 1) as usize;
        xs.get(i).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::SplitMix;

    #[test]
    fn same_seed_same_stream_other_name_other_stream() {
        let a: Vec<u64> = {
            let mut r = SplitMix::new(3, "jobcenter/kmd-jc/data", 1);
            (0..4).map(|_| r.next_u64()).collect()
        };
        let b: Vec<u64> = {
            let mut r = SplitMix::new(3, "jobcenter/kmd-jc/data", 1);
            (0..4).map(|_| r.next_u64()).collect()
        };
        let c = SplitMix::new(3, "jobcenter/schultz-jc/data", 1).next_u64();
        assert_eq!(a, b);
        assert_ne!(a[0], c);
        let mut r = SplitMix::new(0, "x", 0);
        assert!((0..1000).all(|_| (5..=9).contains(&r.range(5, 9))));
    }
}
