//! Seeded random streams, one per component.
//!
//! A run has one master seed. Every component asks for a stream by a stable
//! name ("client/rpc/backoff"); the stream is ChaCha8 keyed by the master seed
//! and numbered by a hash of the name. ChaCha's 2^64 streams per key are
//! independent by construction, so adding, removing or reordering components
//! never changes another component's draws: sweep cells share common random
//! numbers wherever their components share names.
//!
//! The generator is named explicitly (ChaCha8, not `StdRng`, whose algorithm
//! may change between rand releases) and the key expansion is our own
//! SplitMix64, so results do not move when dependencies are upgraded.

use rand::Rng;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::convert::Infallible;

/// The master seed of a run, from which every component's stream derives.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Seeds {
    master: u64,
}

impl Seeds {
    /// Seeds derived from `master`.
    pub fn new(master: u64) -> Self {
        Seeds { master }
    }

    /// The master seed.
    pub fn master(&self) -> u64 {
        self.master
    }

    /// The stream for the component named `name`.
    pub fn stream(&self, name: &str) -> RngStream {
        let mut state = self.master;
        let mut key = [0u8; 32];
        for chunk in key.chunks_exact_mut(8) {
            chunk.copy_from_slice(&splitmix64(&mut state).to_le_bytes());
        }
        let mut rng = ChaCha8Rng::from_seed(key);
        rng.set_stream(fnv1a64(name.as_bytes()));
        RngStream { rng }
    }

    /// The seeds of replication `k`: master + k, so replication k of every
    /// sweep cell sees the same numbers (common random numbers).
    pub fn replication(&self, k: u64) -> Seeds {
        Seeds::new(self.master.wrapping_add(k))
    }
}

fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// FNV-1a: stable across platforms and Rust versions, unlike `DefaultHasher`.
fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01B3);
    }
    h
}

/// One component's random stream.
#[derive(Clone, Debug)]
pub struct RngStream {
    rng: ChaCha8Rng,
}

impl RngStream {
    /// Turns this stream into branch `branch` of itself: a fresh ChaCha8
    /// key drawn from the stream's next output, mixed with the branch. The
    /// same stream state and branch give the same new stream, different
    /// branches independent ones (what a split simulation's copies need).
    pub fn fork(&mut self, branch: u64) {
        let mut state = self.rng.next_u64() ^ branch.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let mut key = [0u8; 32];
        for chunk in key.chunks_exact_mut(8) {
            chunk.copy_from_slice(&splitmix64(&mut state).to_le_bytes());
        }
        let stream = self.rng.get_stream();
        self.rng = ChaCha8Rng::from_seed(key);
        self.rng.set_stream(stream);
    }

    /// A uniform draw in [0, 1) with 53 random bits.
    #[inline]
    pub fn uniform01(&mut self) -> f64 {
        (self.rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// A uniform draw in (0, 1]: safe to take the logarithm of.
    #[inline]
    pub fn uniform_open01(&mut self) -> f64 {
        1.0 - self.uniform01()
    }

    /// A uniform draw in [lo, hi).
    #[inline]
    pub fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.uniform01()
    }

    /// True with probability `p` (p <= 0 never, p >= 1 always).
    #[inline]
    pub fn bernoulli(&mut self, p: f64) -> bool {
        if p <= 0.0 {
            false
        } else if p >= 1.0 {
            true
        } else {
            self.uniform01() < p
        }
    }

    /// A uniform index in 0..n (n > 0), without modulo bias (Lemire's method).
    #[inline]
    pub fn index(&mut self, n: usize) -> usize {
        debug_assert!(n > 0);
        let n = n as u64;
        let mut m = u128::from(self.rng.next_u64()) * u128::from(n);
        if (m as u64) < n {
            let threshold = n.wrapping_neg() % n;
            while (m as u64) < threshold {
                m = u128::from(self.rng.next_u64()) * u128::from(n);
            }
        }
        (m >> 64) as usize
    }

    /// An exponential draw with the given mean.
    #[inline]
    pub fn exponential(&mut self, mean: f64) -> f64 {
        -mean * self.uniform_open01().ln()
    }

    #[inline]
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.rng.next_u64()
    }

    /// The raw generator, for `rand_distr` distributions.
    pub fn raw(&mut self) -> &mut ChaCha8Rng {
        &mut self.rng
    }
}

impl rand::TryRng for RngStream {
    type Error = Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        Ok(self.rng.next_u32())
    }
    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        Ok(self.rng.next_u64())
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        self.rng.fill_bytes(dst);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_name_same_draws() {
        let a: Vec<u64> = {
            let mut s = Seeds::new(7).stream("client/rpc");
            (0..10).map(|_| s.next_u64()).collect()
        };
        let b: Vec<u64> = {
            let mut s = Seeds::new(7).stream("client/rpc");
            (0..10).map(|_| s.next_u64()).collect()
        };
        assert_eq!(a, b);
    }

    #[test]
    fn names_and_seeds_separate_streams() {
        let draw = |seed, name: &str| Seeds::new(seed).stream(name).next_u64();
        assert_ne!(draw(7, "a"), draw(7, "b"));
        assert_ne!(draw(7, "a"), draw(8, "a"));
    }

    #[test]
    fn a_stream_does_not_depend_on_other_streams_being_created() {
        let seeds = Seeds::new(99);
        let alone = seeds.stream("server").next_u64();
        let _other = seeds.stream("client").next_u64();
        let again = seeds.stream("server").next_u64();
        assert_eq!(alone, again);
    }

    /// Pins the derivation: a change here changes every published result.
    #[test]
    fn derivation_is_pinned() {
        let mut s = Seeds::new(7).stream("pin");
        let first = s.next_u64();
        assert_eq!(first, Seeds::new(7).stream("pin").next_u64());
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
        let mut st = 0u64;
        assert_eq!(splitmix64(&mut st), 0xe220_a839_7b1d_cdaf);
    }

    #[test]
    fn uniform_and_bernoulli_have_right_means() {
        let mut s = Seeds::new(1).stream("u");
        let n = 200_000;
        let mean = (0..n).map(|_| s.uniform01()).sum::<f64>() / n as f64;
        assert!((mean - 0.5).abs() < 0.005, "{mean}");
        let hits = (0..n).filter(|_| s.bernoulli(0.3)).count() as f64 / n as f64;
        assert!((hits - 0.3).abs() < 0.005, "{hits}");
        assert!(!s.bernoulli(0.0));
        assert!(s.bernoulli(1.0));
        let m = (0..n).map(|_| s.exponential(2.0)).sum::<f64>() / n as f64;
        assert!((m - 2.0).abs() < 0.03, "{m}");
    }

    #[test]
    fn index_is_in_range_and_roughly_uniform() {
        let mut s = Seeds::new(3).stream("idx");
        let mut counts = [0u32; 7];
        for _ in 0..70_000 {
            counts[s.index(7)] += 1;
        }
        for c in counts {
            assert!((9_000..11_000).contains(&c), "{counts:?}");
        }
    }
}
