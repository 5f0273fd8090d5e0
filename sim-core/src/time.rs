//! Virtual time: integer nanoseconds, never floats, never the wall clock.
//!
//! `SimTime` is an instant since the start of a run; `SimDuration` is a span.
//! Both are `u64` nanoseconds (about 584 years), so ordering and equality are
//! exact and a run replays bit for bit. Arithmetic saturates instead of
//! panicking: `SimTime::MAX` reads as "never".

use std::fmt;
use std::ops::{Add, AddAssign, Sub};
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An instant of simulated time, in nanoseconds since the start of the run.
#[derive(Copy, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SimTime(u64);

/// A span of simulated time, in nanoseconds.
#[derive(Copy, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SimDuration(u64);

const NS_PER_US: u64 = 1_000;
const NS_PER_MS: u64 = 1_000_000;
const NS_PER_S: u64 = 1_000_000_000;
/// 2^63 as an `f64`: below it, a non-negative `f64` converts to and from
/// `i64` exactly as to and from `u64`.
const I64_LIMIT: f64 = 9_223_372_036_854_775_808.0;
/// 2^52: from here on, every f64 is a multiple of 1 (of 2 from 2^53).
const TWO_POW_52: f64 = 4_503_599_627_370_496.0;

impl SimTime {
    /// The start of every run.
    pub const ZERO: SimTime = SimTime(0);
    /// "Never": later than every reachable instant.
    pub const MAX: SimTime = SimTime(u64::MAX);

    /// The first whole multiple of `step` (> 0) strictly after this
    /// instant: where a periodic timer started at time 0 fires next.
    pub fn next_multiple_of(self, step: SimDuration) -> SimTime {
        let i = step.as_nanos().max(1);
        SimTime((self.0 / i + 1).saturating_mul(i))
    }

    /// The instant `ns` nanoseconds after the start.
    pub const fn from_nanos(ns: u64) -> Self {
        SimTime(ns)
    }
    /// Nanoseconds since the start.
    pub const fn as_nanos(self) -> u64 {
        self.0
    }
    /// Seconds since the start.
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / NS_PER_S as f64
    }
    /// The span since `earlier`, or zero if `earlier` is later.
    pub fn since(self, earlier: SimTime) -> SimDuration {
        SimDuration(self.0.saturating_sub(earlier.0))
    }
    /// The instant at `offset` from the start of the run.
    pub const fn at(offset: SimDuration) -> Self {
        SimTime(offset.0)
    }
    /// The span since the start of the run.
    pub const fn elapsed(self) -> SimDuration {
        SimDuration(self.0)
    }
}

impl SimDuration {
    /// No time.
    pub const ZERO: SimDuration = SimDuration(0);
    /// The longest span (about 584 years): "never".
    pub const MAX: SimDuration = SimDuration(u64::MAX);

    /// `ns` nanoseconds.
    pub const fn from_nanos(ns: u64) -> Self {
        SimDuration(ns)
    }
    /// `us` microseconds.
    pub const fn from_micros(us: u64) -> Self {
        SimDuration(us.saturating_mul(NS_PER_US))
    }
    /// `ms` milliseconds.
    pub const fn from_millis(ms: u64) -> Self {
        SimDuration(ms.saturating_mul(NS_PER_MS))
    }
    /// `s` seconds.
    pub const fn from_secs(s: u64) -> Self {
        SimDuration(s.saturating_mul(NS_PER_S))
    }
    /// Rounds to the nearest nanosecond; negative or NaN input gives zero and
    /// values past the range saturate. Use for sampled durations, which are
    /// validated to be finite and non-negative upstream.
    pub fn from_secs_f64(s: f64) -> Self {
        Self::from_nanos_f64(s * NS_PER_S as f64)
    }
    /// Rounds to the nearest nanosecond, saturating like `from_secs_f64`.
    #[inline]
    pub fn from_nanos_f64(ns: f64) -> Self {
        if ns.is_nan() || ns <= 0.0 {
            SimDuration(0)
        } else if ns >= u64::MAX as f64 {
            SimDuration(u64::MAX)
        } else if (1.0..TWO_POW_52).contains(&ns) {
            // Every sampled duration of a nanosecond or more lands here.
            // From 1 to 2^52 an f64's fraction is a multiple of its ulp,
            // at most 0.5, so `ns + 0.5` is exact or (only where it
            // crosses a power of two, the fraction then 0.5 or more)
            // rounds within the same integer part; truncating it is
            // rounding half up, which `round` does for positives (tested
            // against `round`). Two instructions where the general path
            // below takes five in a chain, on the way from a draw to the
            // event queue.
            SimDuration((ns + 0.5) as i64 as u64)
        } else {
            // `ns.round() as u64` without the call to libm's `round` (one
            // per sampled duration): below 2^53 the integer and fractional
            // parts are exact, so adding one at a fraction of 0.5 or more
            // is rounding half away from zero; from 2^53 on, every f64 is
            // an integer and the fraction is 0 (tested against `round`).
            //
            // Below 2^63 (every duration a model draws) through `i64`: the
            // same values, but one instruction each way where `u64`'s
            // conversions take a branch and a fix-up on x86-64.
            if ns < I64_LIMIT {
                let whole = ns as i64;
                SimDuration(whole as u64 + u64::from(ns - whole as f64 >= 0.5))
            } else {
                let whole = ns as u64;
                SimDuration(whole + u64::from(ns - whole as f64 >= 0.5))
            }
        }
    }
    /// In nanoseconds.
    pub const fn as_nanos(self) -> u64 {
        self.0
    }
    /// In seconds.
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / NS_PER_S as f64
    }
    /// In milliseconds.
    pub fn as_millis_f64(self) -> f64 {
        self.0 as f64 / NS_PER_MS as f64
    }
    /// Whether it is zero.
    pub const fn is_zero(self) -> bool {
        self.0 == 0
    }
    /// `self * k`, at most [`SimDuration::MAX`].
    pub fn saturating_mul(self, k: u64) -> Self {
        SimDuration(self.0.saturating_mul(k))
    }
    /// Multiplies by a non-negative factor, rounding to the nearest nanosecond.
    pub fn mul_f64(self, k: f64) -> Self {
        Self::from_nanos_f64(self.0 as f64 * k)
    }
    /// `self - other`, at least zero.
    pub fn saturating_sub(self, other: SimDuration) -> Self {
        SimDuration(self.0.saturating_sub(other.0))
    }
}

impl Add<SimDuration> for SimTime {
    type Output = SimTime;
    fn add(self, d: SimDuration) -> SimTime {
        SimTime(self.0.saturating_add(d.0))
    }
}
impl AddAssign<SimDuration> for SimTime {
    fn add_assign(&mut self, d: SimDuration) {
        self.0 = self.0.saturating_add(d.0);
    }
}
impl Add for SimDuration {
    type Output = SimDuration;
    fn add(self, d: SimDuration) -> SimDuration {
        SimDuration(self.0.saturating_add(d.0))
    }
}
impl AddAssign for SimDuration {
    fn add_assign(&mut self, d: SimDuration) {
        self.0 = self.0.saturating_add(d.0);
    }
}
impl Sub for SimTime {
    type Output = SimDuration;
    /// Saturating: an earlier minus a later instant is zero.
    fn sub(self, earlier: SimTime) -> SimDuration {
        self.since(earlier)
    }
}

/// Why a duration string was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationParseError {
    #[error("empty duration; write a number with a unit, e.g. \"120ms\"")]
    /// Nothing was written.
    Empty,
    #[error("negative duration {0:?}; durations are >= 0")]
    /// A minus sign.
    Negative(String),
    #[error(
        "duration {0:?} has no unit; write e.g. \"120ms\" or \"2s\" (units: ns, us, ms, s, m, h)"
    )]
    /// A number without a unit.
    MissingUnit(String),
    #[error(
        "duration {0:?} has an unknown unit; write a number with ns, us, ms, s, m or h (\"250ms\", \"1.5s\"), or several (\"2m30s\")"
    )]
    /// A unit other than ns, us, ms, s, m, h.
    UnknownUnit(String),
    #[error("duration {0:?} is not a number followed by a unit")]
    /// Not a number followed by a unit.
    BadNumber(String),
    #[error("duration {0:?} is finer than a nanosecond")]
    /// Less than a nanosecond (or a fraction of one).
    SubNanosecond(String),
    #[error("duration {0:?} is too large")]
    /// More than [`SimDuration::MAX`].
    Overflow(String),
}

impl FromStr for SimDuration {
    type Err = DurationParseError;

    /// Parses `"120ms"`, `"2s"`, `"1.5s"`, `"250us"`, `"3m"`, `"1h"`, `"0"`,
    /// or several of them in a row, added up (`"2m30s"`, `"1h 15m"`).
    /// Decimal digits are parsed exactly (no float rounding), so `"0.1s"` is
    /// exactly 100 000 000 ns.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let s = text.trim();
        if s.is_empty() {
            return Err(DurationParseError::Empty);
        }
        if s.starts_with('-') {
            return Err(DurationParseError::Negative(text.to_string()));
        }
        // Parts: a number, then its unit (letters).
        let mut parts = Vec::new();
        let mut rest = s;
        while !rest.is_empty() {
            let n = rest
                .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                .unwrap_or(rest.len());
            let (number, tail) = rest.split_at(n);
            let tail = tail.trim_start();
            let u = tail
                .find(|c: char| c.is_ascii_digit() || c == '.' || c.is_whitespace())
                .unwrap_or(tail.len());
            let (unit, tail) = tail.split_at(u);
            parts.push((number, unit));
            rest = tail.trim_start();
        }
        let overflow = || DurationParseError::Overflow(text.to_string());
        let mut ns: u128 = 0;
        for &(number, unit) in &parts {
            let part = parse_part(number, unit, parts.len() == 1, text)?;
            ns = ns.checked_add(part).ok_or_else(overflow)?;
        }
        u64::try_from(ns).map(SimDuration).map_err(|_| overflow())
    }
}

/// One `number unit` part of a duration, in nanoseconds. A lone number
/// without a unit is accepted only when it is zero and the whole duration.
fn parse_part(
    number: &str,
    unit: &str,
    alone: bool,
    text: &str,
) -> Result<u128, DurationParseError> {
    if number.is_empty() {
        return Err(DurationParseError::BadNumber(text.to_string()));
    }
    let scale_ns: u128 = match unit {
        "" if alone && number.chars().all(|c| c == '0' || c == '.') => 0,
        "" => return Err(DurationParseError::MissingUnit(text.to_string())),
        "ns" => 1,
        "us" | "µs" => NS_PER_US as u128,
        "ms" => NS_PER_MS as u128,
        "s" => NS_PER_S as u128,
        "m" | "min" => 60 * NS_PER_S as u128,
        "h" => 3600 * NS_PER_S as u128,
        _ => return Err(DurationParseError::UnknownUnit(text.to_string())),
    };
    let (int_part, frac_part) = match number.split_once('.') {
        Some((i, f)) => (i, f),
        None => (number, ""),
    };
    if frac_part.contains('.') || (int_part.is_empty() && frac_part.is_empty()) {
        return Err(DurationParseError::BadNumber(text.to_string()));
    }
    let overflow = || DurationParseError::Overflow(text.to_string());
    let int: u128 = if int_part.is_empty() {
        0
    } else {
        int_part.parse().map_err(|_| overflow())?
    };
    let mut ns = int.checked_mul(scale_ns).ok_or_else(overflow)?;
    // Exact fixed-point handling of the fraction: digit d at position i
    // contributes d * scale / 10^(i+1), which must be a whole number of ns.
    let mut place = scale_ns;
    for digit in frac_part.bytes() {
        let d = (digit - b'0') as u128;
        if !place.is_multiple_of(10) {
            if d != 0 {
                return Err(DurationParseError::SubNanosecond(text.to_string()));
            }
            continue;
        }
        place /= 10;
        ns = ns.checked_add(d * place).ok_or_else(overflow)?;
    }
    Ok(ns)
}

impl fmt::Display for SimDuration {
    /// Writes the largest unit that represents the value exactly, so the
    /// output parses back to the same duration: `120ms`, `2s`, `1500us`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ns = self.0;
        if ns == 0 {
            return f.write_str("0s");
        }
        for (unit, scale) in [
            ("h", 3600 * NS_PER_S),
            ("m", 60 * NS_PER_S),
            ("s", NS_PER_S),
            ("ms", NS_PER_MS),
            ("us", NS_PER_US),
        ] {
            if ns.is_multiple_of(scale) {
                return write!(f, "{}{}", ns / scale, unit);
            }
        }
        write!(f, "{ns}ns")
    }
}

impl fmt::Debug for SimDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for SimTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if *self == SimTime::MAX {
            f.write_str("never")
        } else {
            write!(f, "t={}", SimDuration(self.0))
        }
    }
}

impl fmt::Debug for SimTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl Serialize for SimDuration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for SimDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = SimDuration;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a duration string with a unit, e.g. \"120ms\" or \"2s\"")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<SimDuration, E> {
                v.parse().map_err(E::custom)
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<SimDuration, E> {
                if v == 0 {
                    Ok(SimDuration::ZERO)
                } else {
                    Err(E::custom(format!(
                        "duration {v} has no unit; write it as a string, e.g. \"{v}ms\""
                    )))
                }
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<SimDuration, E> {
                if v < 0 {
                    Err(E::custom(format!(
                        "negative duration {v}; durations are >= 0"
                    )))
                } else {
                    self.visit_u64(v as u64)
                }
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<SimDuration, E> {
                Err(E::custom(format!(
                    "duration {v} has no unit; write it as a string, e.g. \"{v}s\""
                )))
            }
        }
        d.deserialize_any(Visitor)
    }
}

impl Serialize for SimTime {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        SimDuration(self.0).serialize(s)
    }
}

impl<'de> Deserialize<'de> for SimTime {
    /// An instant is written as its offset from the start of the run ("30s").
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        SimDuration::deserialize(d).map(SimTime::at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> SimDuration {
        s.parse().unwrap()
    }

    #[test]
    fn parses_units_exactly() {
        assert_eq!(d("120ms").as_nanos(), 120_000_000);
        assert_eq!(d("2s").as_nanos(), 2_000_000_000);
        assert_eq!(d("0.1s").as_nanos(), 100_000_000);
        assert_eq!(d("1.5ms").as_nanos(), 1_500_000);
        assert_eq!(d("250us").as_nanos(), 250_000);
        assert_eq!(d("7ns").as_nanos(), 7);
        assert_eq!(d("3m").as_nanos(), 180_000_000_000);
        assert_eq!(d("1h").as_nanos(), 3_600_000_000_000);
        assert_eq!(d("0").as_nanos(), 0);
        assert_eq!(d(" 5 ms ").as_nanos(), 5_000_000);
        assert_eq!(d(".5s").as_nanos(), 500_000_000);
    }

    #[test]
    fn compound_durations_add_up() {
        let d = |s: &str| s.parse::<SimDuration>().unwrap();
        assert_eq!(d("2m30s"), SimDuration::from_secs(150));
        assert_eq!(d("1h 15m"), SimDuration::from_secs(4500));
        assert_eq!(d("1s500ms"), SimDuration::from_millis(1500));
        assert_eq!(d("500us"), SimDuration::from_micros(500));
        assert!(matches!(
            "2m30".parse::<SimDuration>(),
            Err(DurationParseError::MissingUnit(_))
        ));
        assert!(matches!(
            "2m 0".parse::<SimDuration>(),
            Err(DurationParseError::MissingUnit(_))
        ));
    }

    #[test]
    fn rejects_bad_durations() {
        use DurationParseError::*;
        let err = |s: &str| s.parse::<SimDuration>().unwrap_err();
        assert!(matches!(err(""), Empty));
        assert!(matches!(err("-5ms"), Negative(_)));
        assert!(matches!(err("120"), MissingUnit(_)));
        assert!(matches!(err("5 fortnights"), UnknownUnit(_)));
        assert!(matches!(err("ms"), BadNumber(_)));
        assert!(matches!(err("1.2.3s"), BadNumber(_)));
        assert!(matches!(err("0.5ns"), SubNanosecond(_)));
        assert!(matches!(err("99999999999999999999h"), Overflow(_)));
        assert!(matches!(err("10000000h"), Overflow(_)));
    }

    #[test]
    fn display_round_trips() {
        for s in ["120ms", "2s", "1500us", "7ns", "3m", "1h", "0s", "1001ms"] {
            assert_eq!(d(s).to_string(), s);
            assert_eq!(d(&d(s).to_string()), d(s));
        }
        assert_eq!(d("1.5s").to_string(), "1500ms");
    }

    #[test]
    fn arithmetic_saturates() {
        assert_eq!(SimTime::MAX + SimDuration::from_secs(1), SimTime::MAX);
        assert_eq!(SimTime::ZERO - SimTime::from_nanos(5), SimDuration::ZERO);
        assert_eq!(SimDuration::from_secs_f64(-1.0), SimDuration::ZERO);
        assert_eq!(SimDuration::from_secs_f64(f64::NAN), SimDuration::ZERO);
        assert_eq!(SimDuration::from_secs_f64(1e300), SimDuration::MAX);
        assert_eq!(SimDuration::from_secs_f64(0.25).as_nanos(), 250_000_000);
    }

    #[test]
    fn serde_uses_unit_strings() {
        let v: SimDuration = serde_json::from_str("\"120ms\"").unwrap();
        assert_eq!(v, SimDuration::from_millis(120));
        assert_eq!(serde_json::to_string(&v).unwrap(), "\"120ms\"");
        let e = serde_json::from_str::<SimDuration>("120").unwrap_err();
        assert!(e.to_string().contains("no unit"), "{e}");
        let e = ron::from_str::<SimDuration>("\"-3s\"").unwrap_err();
        assert!(e.to_string().contains("negative"), "{e}");
    }

    /// Rounding to nanoseconds is `f64::round`, half away from zero, at
    /// every magnitude, halves and neighbours of halves included.
    #[test]
    fn nanosecond_rounding_is_rounds() {
        let mut next = crate::test_draws(0x1234_5678_9ABC_DEF1);
        let mut values = vec![
            0.5,
            1.5,
            2.5,
            0.49999999999999994,
            4503599627370495.5,
            9007199254740993.0,
        ];
        // Around every power of two up to 2^54 (where `ns + 0.5` crosses
        // into the next binade), and its halves.
        for k in 0..=54 {
            let p = 2f64.powi(k);
            for base in [p, p - 0.5, p + 0.5, p - 1.0, p + 1.0] {
                let b = base.to_bits();
                for d in 0..4u64 {
                    values.extend([f64::from_bits(b + d), f64::from_bits(b.saturating_sub(d))]);
                }
            }
        }
        for _ in 0..200_000 {
            let x = next();
            let v = f64::from_bits(x >> 2); // positive, all exponents
            let half = (x % 1_000_000) as f64 + 0.5;
            values.extend([
                v,
                half,
                f64::from_bits(half.to_bits() - 1),
                f64::from_bits(half.to_bits() + 1),
            ]);
        }
        for v in values {
            if v > 0.0 && v < u64::MAX as f64 {
                assert_eq!(
                    SimDuration::from_nanos_f64(v).as_nanos(),
                    v.round() as u64,
                    "{v:e}"
                );
            }
        }
    }
}
