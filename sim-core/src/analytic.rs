//! Closed-form queueing-theory results the simulator is validated against.
//!
//! A model run with Poisson arrivals and exponential (or deterministic, or
//! general) service should, in steady state, reproduce these numbers within
//! its confidence intervals; the functions here are the reference side of
//! that comparison. They are pure functions on `f64`.
//!
//! Notation (as in Kleinrock, *Queueing Systems* vol. 1, and Gross, Shortle,
//! Thompson & Harris, *Fundamentals of Queueing Theory*):
//!
//! - `lambda`: arrival rate (arrivals per unit time);
//! - `mu`: service rate of one server (so the mean service time is `1/mu`);
//! - `c`: number of servers;
//! - `K`: system capacity, counting the customers in service; an arrival
//!   that finds `K` in the system is blocked (lost);
//! - `rho = lambda / (c * mu)`: utilisation of each server;
//! - `a = lambda / mu`: offered load in erlangs;
//! - `L`, `Lq`: mean number in the system, in the queue (waiting, not in
//!   service);
//! - `W`, `Wq`: mean time in the system (sojourn), waiting in the queue.
//!
//! Times are in whatever unit the rates are per (rates per second give
//! seconds). Functions return `None` (or NaN for [`erlang_b`]) for invalid
//! parameters: rates and times that are not finite and strictly positive,
//! and for infinite-capacity systems that are not stable (`rho >= 1`).

/// Whether `x` is finite and strictly positive (false for NaN).
fn positive(x: f64) -> bool {
    x.is_finite() && x > 0.0
}

/// Steady state of the M/M/1 queue.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Mm1 {
    /// Utilisation `lambda / mu`.
    pub rho: f64,
    /// `L = rho / (1 - rho)`.
    pub mean_in_system: f64,
    /// `Lq = rho^2 / (1 - rho)`.
    pub mean_in_queue: f64,
    /// `W = 1 / (mu - lambda)`.
    pub mean_sojourn: f64,
    /// `Wq = rho / (mu - lambda)`.
    pub mean_wait: f64,
    /// Probability that an arrival has to wait, `rho` (PASTA).
    pub prob_wait: f64,
}

/// The M/M/1 queue: `None` unless `lambda` and `mu` are finite and positive
/// and `lambda < mu`.
pub fn mm1(lambda: f64, mu: f64) -> Option<Mm1> {
    if !positive(lambda) || !positive(mu) || lambda >= mu {
        return None;
    }
    let rho = lambda / mu;
    if rho >= 1.0 {
        return None;
    }
    // `mu - lambda` is exact when the two are within a factor of two
    // (Sterbenz), so this stays accurate close to saturation.
    let mean_sojourn = 1.0 / (mu - lambda);
    let mean_wait = rho * mean_sojourn;
    Some(Mm1 {
        rho,
        mean_in_system: lambda * mean_sojourn,
        mean_in_queue: lambda * mean_wait,
        mean_sojourn,
        mean_wait,
        prob_wait: rho,
    })
}

/// Erlang's B formula: the probability that an arrival is blocked in the
/// M/M/c/c loss system (`servers` servers, no waiting room) with
/// `offered_erlangs = lambda / mu`. By insensitivity it holds for any
/// service-time distribution with that mean.
///
/// Computed with the numerically stable recursion `B(0) = 1`,
/// `B(k) = a B(k-1) / (k + a B(k-1))`, which never forms `a^c` or `c!`.
/// NaN when `offered_erlangs` is negative or not finite; `0` servers block
/// everything (`1.0`), zero offered load blocks nothing.
pub fn erlang_b(servers: u32, offered_erlangs: f64) -> f64 {
    let a = offered_erlangs;
    if !a.is_finite() || a < 0.0 {
        return f64::NAN;
    }
    let mut b = 1.0;
    for k in 1..=servers {
        if b == 0.0 {
            break; // stays zero from here on
        }
        let ab = a * b;
        b = ab / (f64::from(k) + ab);
    }
    b
}

/// Erlang's C formula: the probability that an arrival has to wait in the
/// M/M/c queue with `servers` servers and `offered_erlangs = lambda / mu`.
///
/// Computed from Erlang B as `C = B / (1 - rho (1 - B))` with
/// `rho = a / c`. `None` when there are no servers, when the offered load
/// is negative or not finite, or when the queue is not stable
/// (`offered_erlangs >= servers`).
pub fn erlang_c(servers: u32, offered_erlangs: f64) -> Option<f64> {
    let a = offered_erlangs;
    let c = f64::from(servers);
    if servers == 0 || !a.is_finite() || a < 0.0 || a >= c {
        return None;
    }
    let b = erlang_b(servers, a);
    let rho = a / c;
    Some(b / (1.0 - rho * (1.0 - b)))
}

/// Steady state of the M/M/c queue.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Mmc {
    /// Per-server utilisation `lambda / (c mu)`.
    pub rho: f64,
    /// Probability that an arrival has to wait (Erlang C).
    pub prob_wait: f64,
    /// `Wq = C / (c mu - lambda)`.
    pub mean_wait: f64,
    /// `Lq = lambda Wq`.
    pub mean_in_queue: f64,
    /// `W = Wq + 1 / mu`.
    pub mean_sojourn: f64,
    /// `L = lambda W`.
    pub mean_in_system: f64,
}

/// The M/M/c queue: `None` unless `lambda` and `mu` are finite and
/// positive, `c >= 1` and `lambda < c mu`.
pub fn mmc(lambda: f64, mu: f64, c: u32) -> Option<Mmc> {
    if !positive(lambda) || !positive(mu) || c == 0 {
        return None;
    }
    let a = lambda / mu;
    let prob_wait = erlang_c(c, a)?;
    let spare = f64::from(c) * mu - lambda;
    if spare <= 0.0 {
        return None;
    }
    let mean_wait = prob_wait / spare;
    let mean_sojourn = mean_wait + 1.0 / mu;
    Some(Mmc {
        rho: a / f64::from(c),
        prob_wait,
        mean_wait,
        mean_in_queue: lambda * mean_wait,
        mean_sojourn,
        mean_in_system: lambda * mean_sojourn,
    })
}

/// Steady state of the M/M/1/K queue (one server, at most `K` in the
/// system including the one in service).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Mm1k {
    /// Probability that an arrival is blocked, `P_K` (PASTA).
    pub prob_block: f64,
    /// Rate of admitted (and served) customers, `lambda (1 - P_K)`, which
    /// equals `mu (1 - P_0)`.
    pub throughput: f64,
    /// `L`, the mean number in the system.
    pub mean_in_system: f64,
    /// `W = L / throughput` (Little's law with the effective arrival rate),
    /// the mean time in the system of an admitted customer.
    pub mean_sojourn: f64,
}

/// The M/M/1/K queue: `P_n = rho^n (1 - rho) / (1 - rho^(K+1))` for
/// `n = 0..=K`, uniform (`1 / (K+1)`) when `rho == 1`. Stable for every
/// `rho` because of the finite capacity. `None` unless `lambda` and `mu`
/// are finite and positive and `k >= 1`.
///
/// Evaluated without overflow for large `K` and `rho` far from 1 (working
/// with `rho` or `1/rho`, whichever is below 1, through `exp(-t m)` with
/// `t = |ln rho|`), and without cancellation for `rho` close to 1 (`expm1`,
/// `ln_1p`, and a series for the mean when `(K+1) t < 1`).
pub fn mm1k(lambda: f64, mu: f64, k: u32) -> Option<Mm1k> {
    if !positive(lambda) || !positive(mu) || k == 0 {
        return None;
    }
    let kf = f64::from(k);
    let n = kf + 1.0;
    let t = ln_ratio(lambda, mu).abs();
    let (p_empty, p_full, mean_in_system) = if t == 0.0 {
        (1.0 / n, 1.0 / n, kf / 2.0)
    } else {
        // The distribution, read from the end where it is largest, is
        // q_m = e^{-t m} (1 - e^{-t}) / (1 - e^{-t (K+1)}), m = 0..=K.
        let q_first = -(-t).exp_m1() / -(-n * t).exp_m1();
        let q_last = q_first * (-kf * t).exp();
        let mean = truncated_geometric_mean(t, kf);
        if lambda < mu {
            (q_first, q_last, mean)
        } else {
            (q_last, q_first, kf - mean)
        }
    };
    // The two expressions are equal (flow balance); use the one that
    // subtracts the small probability from 1.
    let throughput = if lambda < mu {
        lambda * (1.0 - p_full)
    } else {
        mu * (1.0 - p_empty)
    };
    Some(Mm1k {
        prob_block: p_full,
        throughput,
        mean_in_system,
        mean_sojourn: mean_in_system / throughput,
    })
}

/// `ln(x / y)` for finite positive `x`, `y`, accurate also when `x / y` is
/// close to 1 (where `x - y` is exact) and when `x / y` over- or underflows.
fn ln_ratio(x: f64, y: f64) -> f64 {
    let r = x / y;
    if (0.5..=2.0).contains(&r) {
        ((x - y) / y).ln_1p()
    } else if r.is_normal() {
        r.ln()
    } else {
        x.ln() - y.ln()
    }
}

/// Mean of the truncated geometric distribution `q_m ∝ e^{-t m}`,
/// `m = 0..=K`, for `t > 0`:
/// `1 / (e^t - 1) - (K+1) / (e^{(K+1) t} - 1)`.
///
/// When `(K+1) t < 1` both terms are large and nearly cancel, so the mean is
/// rewritten as `K/2 + g(t) - (K+1) g((K+1) t)` with
/// `g(u) = 1/(e^u - 1) - 1/u + 1/2`, evaluated by its series.
fn truncated_geometric_mean(t: f64, kf: f64) -> f64 {
    let n = kf + 1.0;
    let nt = n * t;
    if nt >= 1.0 {
        1.0 / t.exp_m1() - n / nt.exp_m1()
    } else {
        kf / 2.0 + bernoulli_g(t) - n * bernoulli_g(nt)
    }
}

/// `g(u) = 1/(e^u - 1) - 1/u + 1/2 = sum_{j>=1} B_{2j} u^{2j-1} / (2j)!`
/// for `0 <= u <= 1` (the series converges for `|u| < 2 pi`; ten terms
/// leave a relative truncation error below 1e-16 at `u = 1`).
fn bernoulli_g(u: f64) -> f64 {
    // B_{2j} / (2j)!, j = 1..=10.
    const COEFFS: [f64; 10] = [
        1.0 / 12.0,
        -1.0 / 720.0,
        1.0 / 30_240.0,
        -1.0 / 1_209_600.0,
        1.0 / 47_900_160.0,
        -691.0 / 2730.0 / 479_001_600.0,
        7.0 / 6.0 / 87_178_291_200.0,
        -3617.0 / 510.0 / 20_922_789_888_000.0,
        43_867.0 / 798.0 / 6_402_373_705_728_000.0,
        -174_611.0 / 330.0 / 2_432_902_008_176_640_000.0,
    ];
    let u2 = u * u;
    u * COEFFS.iter().rev().fold(0.0, |acc, &c| acc * u2 + c)
}

/// Steady state of the M/D/1 queue (deterministic service time `D`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Md1 {
    /// Utilisation `lambda D`.
    pub rho: f64,
    /// `Wq = rho D / (2 (1 - rho))` (Pollaczek–Khinchine with `E[S^2] = D^2`).
    pub mean_wait: f64,
    /// `W = Wq + D`.
    pub mean_sojourn: f64,
    /// `Lq = lambda Wq`.
    pub mean_in_queue: f64,
    /// `L = lambda W`.
    pub mean_in_system: f64,
}

/// The M/D/1 queue: `None` unless `lambda` and `service_time` are finite
/// and positive and `rho = lambda * service_time < 1`.
pub fn md1(lambda: f64, service_time: f64) -> Option<Md1> {
    if !positive(lambda) || !positive(service_time) {
        return None;
    }
    let rho = lambda * service_time;
    if rho >= 1.0 {
        return None;
    }
    let mean_wait = rho * service_time / (2.0 * (1.0 - rho));
    let mean_sojourn = mean_wait + service_time;
    Some(Md1 {
        rho,
        mean_wait,
        mean_sojourn,
        mean_in_queue: lambda * mean_wait,
        mean_in_system: lambda * mean_sojourn,
    })
}

/// Mean waiting time in the M/G/1 queue by the Pollaczek–Khinchine formula,
/// `Wq = lambda E[S^2] / (2 (1 - rho))` with `rho = lambda E[S]`.
///
/// `None` unless all three arguments are finite and positive, `rho < 1`,
/// and `E[S^2] >= E[S]^2` (a variance cannot be negative; a relative slack
/// of 1e-12 lets a deterministic `E[S]^2` computed another way through).
pub fn mg1_mean_wait(lambda: f64, mean_service: f64, second_moment_service: f64) -> Option<f64> {
    if !positive(lambda) || !positive(mean_service) || !positive(second_moment_service) {
        return None;
    }
    if second_moment_service < mean_service * mean_service * (1.0 - 1e-12) {
        return None;
    }
    let rho = lambda * mean_service;
    if rho >= 1.0 {
        return None;
    }
    Some(lambda * second_moment_service / (2.0 * (1.0 - rho)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `actual` within relative tolerance `rel` of `expected`.
    #[track_caller]
    fn close(actual: f64, expected: f64, rel: f64) {
        let tol = rel * expected.abs().max(f64::MIN_POSITIVE);
        assert!(
            (actual - expected).abs() <= tol,
            "actual {actual:e}, expected {expected:e}, relative error {:e} > {rel:e}",
            ((actual - expected) / expected).abs()
        );
    }

    const EXACT: f64 = 1e-9;

    /// `n!` as f64 (exact up to 22!).
    fn factorial(n: u32) -> f64 {
        (1..=n).map(f64::from).product()
    }

    /// Erlang C by the textbook direct formula, independent of Erlang B.
    fn erlang_c_direct(c: u32, a: f64) -> f64 {
        let below: f64 = (0..c).map(|k| a.powi(k as i32) / factorial(k)).sum();
        let top = a.powi(c as i32) / factorial(c) * f64::from(c) / (f64::from(c) - a);
        top / (below + top)
    }

    /// M/M/1/K blocking probability by the textbook direct formula.
    fn pk_direct(rho: f64, k: u32) -> f64 {
        let k = k as i32;
        (1.0 - rho) * rho.powi(k) / (1.0 - rho.powi(k + 1))
    }

    /// M/M/1/K mean number in system by summing `n P_n` directly.
    fn l_direct(rho: f64, k: u32) -> f64 {
        let weights: Vec<f64> = (0..=k).map(|n| rho.powi(n as i32)).collect();
        let z: f64 = weights.iter().sum();
        weights
            .iter()
            .enumerate()
            .map(|(n, w)| n as f64 * w)
            .sum::<f64>()
            / z
    }

    // M/M/1, lambda = 0.8, mu = 1 (rho = 0.8): L = rho/(1-rho) = 4,
    // Lq = rho^2/(1-rho) = 3.2, W = 1/(mu-lambda) = 5, Wq = rho/(mu-lambda)
    // = 4 (Kleinrock vol. 1, M/M/1; Gross & Harris, M/M/1).
    #[test]
    fn mm1_textbook() {
        let q = mm1(0.8, 1.0).unwrap();
        close(q.rho, 0.8, EXACT);
        close(q.mean_in_system, 4.0, EXACT);
        close(q.mean_in_queue, 3.2, EXACT);
        close(q.mean_sojourn, 5.0, EXACT);
        close(q.mean_wait, 4.0, EXACT);
        close(q.prob_wait, 0.8, EXACT);

        // Same rho on another time scale: times scale by 1/mu, counts do not.
        let q = mm1(8.0, 10.0).unwrap();
        close(q.mean_in_system, 4.0, EXACT);
        close(q.mean_in_queue, 3.2, EXACT);
        close(q.mean_sojourn, 0.5, EXACT);
        close(q.mean_wait, 0.4, EXACT);
    }

    #[test]
    fn mm1_rejects_unstable_and_invalid() {
        assert_eq!(mm1(1.0, 1.0), None);
        assert_eq!(mm1(1.5, 1.0), None);
        assert_eq!(mm1(0.0, 1.0), None);
        assert_eq!(mm1(-0.5, 1.0), None);
        assert_eq!(mm1(0.5, 0.0), None);
        assert_eq!(mm1(0.5, -1.0), None);
        assert_eq!(mm1(f64::NAN, 1.0), None);
        assert_eq!(mm1(0.5, f64::NAN), None);
        assert_eq!(mm1(0.5, f64::INFINITY), None);
    }

    // Erlang B at 10 circuits. Standard Erlang-B tables print 0.0184 at
    // 5 E and 0.1217 at 8 E; the exact rational values (Python
    // fractions.Fraction, by the recursion and by the direct formula
    // (a^c/c!) / sum_{k<=c} a^k/k!, which agree) are
    // 0.018384570336648132... and 0.1216610642529515...
    #[test]
    fn erlang_b_tables() {
        close(erlang_b(10, 5.0), 0.018_384_570_336_648_132, EXACT);
        close(erlang_b(10, 8.0), 0.121_661_064_252_951_5, EXACT);
        assert!((erlang_b(10, 5.0) - 0.0184).abs() < 0.5e-4);
        assert!((erlang_b(10, 8.0) - 0.1217).abs() < 0.5e-4);
    }

    #[test]
    fn erlang_b_small_cases() {
        // B(1, a) = a / (1 + a).
        for a in [0.1, 0.5, 1.0, 2.0, 7.5, 100.0] {
            close(erlang_b(1, a), a / (1.0 + a), EXACT);
        }
        // B(2, 1) = (1/2) / (1 + 1 + 1/2) = 0.2.
        close(erlang_b(2, 1.0), 0.2, EXACT);
        // B(2, a) = (a^2/2) / (1 + a + a^2/2); a = 3: 4.5 / 8.5.
        close(erlang_b(2, 3.0), 4.5 / 8.5, EXACT);
        // No servers: everything is blocked; no load: nothing is.
        assert_eq!(erlang_b(0, 3.0), 1.0);
        assert_eq!(erlang_b(5, 0.0), 0.0);
        // Invalid loads.
        assert!(erlang_b(3, -1.0).is_nan());
        assert!(erlang_b(3, f64::NAN).is_nan());
        assert!(erlang_b(3, f64::INFINITY).is_nan());
    }

    #[test]
    fn erlang_b_matches_direct_formula() {
        for c in [1u32, 2, 5, 10, 20] {
            for a in [0.3f64, 1.0, 4.2, 9.9, 15.0] {
                let num = a.powi(c as i32) / factorial(c);
                let den: f64 = (0..=c).map(|k| a.powi(k as i32) / factorial(k)).sum();
                close(erlang_b(c, a), num / den, 1e-12);
            }
        }
    }

    #[test]
    fn erlang_b_large_systems_do_not_overflow() {
        // 1000 servers at 950 E: a^c and c! overflow f64, the recursion does
        // not. A loss system slightly below critical load blocks a few
        // percent; B is decreasing in c and increasing in a.
        let b = erlang_b(1000, 950.0);
        assert!(b.is_finite() && b > 0.0 && b < 0.05, "{b}");
        assert!(erlang_b(1001, 950.0) < b);
        assert!(erlang_b(1000, 951.0) > b);
    }

    // Erlang C, c = 4, a = 3.6 (rho = 0.9). Exact value 8748/11105 =
    // 0.7877532642953624...; checked here against the direct formula
    // C = (a^c/c! * c/(c-a)) / (sum_{k<c} a^k/k! + a^c/c! * c/(c-a)).
    #[test]
    fn erlang_c_against_direct_formula() {
        let direct = erlang_c_direct(4, 3.6);
        close(direct, 8748.0 / 11105.0, 1e-12);
        close(erlang_c(4, 3.6).unwrap(), direct, 1e-12);
        close(erlang_c(4, 3.6).unwrap(), 0.787_753_264_295_362_4, EXACT);

        for c in [1u32, 2, 3, 8, 15] {
            for frac in [0.1, 0.5, 0.8, 0.95, 0.999] {
                let a = frac * f64::from(c);
                close(erlang_c(c, a).unwrap(), erlang_c_direct(c, a), 1e-11);
            }
        }
        // One server: C = rho.
        close(erlang_c(1, 0.7).unwrap(), 0.7, EXACT);
        // No load: no waiting.
        assert_eq!(erlang_c(3, 0.0), Some(0.0));
    }

    #[test]
    fn erlang_c_rejects_unstable_and_invalid() {
        assert_eq!(erlang_c(4, 4.0), None);
        assert_eq!(erlang_c(4, 5.0), None);
        assert_eq!(erlang_c(0, 0.5), None);
        assert_eq!(erlang_c(4, -1.0), None);
        assert_eq!(erlang_c(4, f64::NAN), None);
        assert_eq!(erlang_c(4, f64::INFINITY), None);
    }

    // M/M/4, lambda = 3.6, mu = 1: C = 8748/11105, Wq = C/(c mu - lambda)
    // = C/0.4 = 1.969383160738406, Lq = lambda Wq = 7.089779378658262,
    // W = Wq + 1 = 2.969383160738406, L = lambda W = 10.689779378658262
    // (exact rationals evaluated with Python fractions).
    #[test]
    fn mmc_textbook() {
        let q = mmc(3.6, 1.0, 4).unwrap();
        close(q.rho, 0.9, EXACT);
        close(q.prob_wait, 0.787_753_264_295_362_4, EXACT);
        close(q.mean_wait, 1.969_383_160_738_406, EXACT);
        close(q.mean_in_queue, 7.089_779_378_658_262, EXACT);
        close(q.mean_sojourn, 2.969_383_160_738_406_2, EXACT);
        close(q.mean_in_system, 10.689_779_378_658_262, EXACT);

        // Twice as fast: same probabilities and counts, half the times.
        let f = mmc(7.2, 2.0, 4).unwrap();
        close(f.prob_wait, q.prob_wait, 1e-12);
        close(f.mean_wait, q.mean_wait / 2.0, 1e-12);
        close(f.mean_sojourn, q.mean_sojourn / 2.0, 1e-12);
        close(f.mean_in_system, q.mean_in_system, 1e-12);
    }

    #[test]
    fn mmc_with_one_server_is_mm1() {
        let c = mmc(0.8, 1.0, 1).unwrap();
        let m = mm1(0.8, 1.0).unwrap();
        close(c.rho, m.rho, 1e-12);
        close(c.prob_wait, m.prob_wait, 1e-12);
        close(c.mean_wait, m.mean_wait, 1e-12);
        close(c.mean_in_queue, m.mean_in_queue, 1e-12);
        close(c.mean_sojourn, m.mean_sojourn, 1e-12);
        close(c.mean_in_system, m.mean_in_system, 1e-12);
    }

    #[test]
    fn mmc_rejects_unstable_and_invalid() {
        assert_eq!(mmc(4.0, 1.0, 4), None);
        assert_eq!(mmc(5.0, 1.0, 4), None);
        assert_eq!(mmc(1.0, 1.0, 0), None);
        assert_eq!(mmc(0.0, 1.0, 2), None);
        assert_eq!(mmc(-1.0, 1.0, 2), None);
        assert_eq!(mmc(1.0, 0.0, 2), None);
        assert_eq!(mmc(1.0, -1.0, 2), None);
        assert_eq!(mmc(f64::NAN, 1.0, 2), None);
        assert_eq!(mmc(1.0, f64::NAN, 2), None);
    }

    // M/M/1/K, K = 10: P_K = (1-rho) rho^K / (1 - rho^(K+1)) and
    // L = rho/(1-rho) - (K+1) rho^(K+1) / (1 - rho^(K+1)). Exact rationals
    // (Python fractions): rho = 0.9: P_K = 0.05081373132741239...,
    // L = 3.9694405985861736...; rho = 1.2: P_K = 0.19258649512680603...,
    // L = 6.7107086783691985...
    #[test]
    fn mm1k_textbook() {
        let q = mm1k(0.9, 1.0, 10).unwrap();
        close(q.prob_block, pk_direct(0.9, 10), 1e-12);
        close(q.prob_block, 0.050_813_731_327_412_39, EXACT);
        close(q.mean_in_system, l_direct(0.9, 10), 1e-12);
        close(q.mean_in_system, 3.969_440_598_586_173_6, EXACT);
        close(q.throughput, 0.9 * (1.0 - 0.050_813_731_327_412_39), EXACT);
        close(q.throughput, 0.854_267_641_805_328_9, EXACT);
        close(q.mean_sojourn, 4.646_600_672_123_705, EXACT);

        let q = mm1k(1.2, 1.0, 10).unwrap();
        close(q.prob_block, pk_direct(1.2, 10), 1e-12);
        close(q.prob_block, 0.192_586_495_126_806_03, EXACT);
        close(q.mean_in_system, l_direct(1.2, 10), 1e-12);
        close(q.mean_in_system, 6.710_708_678_369_198_5, EXACT);
        close(q.throughput, 1.2 * (1.0 - 0.192_586_495_126_806_03), EXACT);
        close(q.throughput, 0.968_896_205_847_832_8, EXACT);
        close(q.mean_sojourn, 6.926_137_844_142_956, EXACT);
    }

    #[test]
    fn mm1k_rho_one_is_uniform() {
        for k in [1u32, 2, 10, 1000] {
            let q = mm1k(2.5, 2.5, k).unwrap();
            let n = f64::from(k) + 1.0;
            close(q.prob_block, 1.0 / n, EXACT);
            close(q.mean_in_system, f64::from(k) / 2.0, EXACT);
            close(q.throughput, 2.5 * (1.0 - 1.0 / n), EXACT);
        }
        // 0.1 * 3 is one ulp above 0.3: rho is 1 - 2e-16, which the naive
        // formulas turn into 0/0 or noise.
        let q = mm1k(0.3, 0.1 * 3.0, 10).unwrap();
        close(q.prob_block, 1.0 / 11.0, 1e-12);
        close(q.mean_in_system, 5.0, 1e-12);
    }

    #[test]
    fn mm1k_one_place() {
        // K = 1: P_1 = rho / (1 + rho) = L.
        for rho in [0.25, 1.0, 3.0] {
            let q = mm1k(rho, 1.0, 1).unwrap();
            close(q.prob_block, rho / (1.0 + rho), EXACT);
            close(q.mean_in_system, rho / (1.0 + rho), EXACT);
            close(q.mean_sojourn, 1.0, EXACT); // only ever the one in service
        }
    }

    #[test]
    fn mm1k_matches_direct_sums_across_regimes() {
        // Covers both branches of the mean (series when (K+1)|ln rho| < 1)
        // on both sides of rho = 1.
        for k in [1u32, 3, 10, 50, 100] {
            for rho in [0.05, 0.5, 0.9, 0.99, 0.999, 1.001, 1.01, 1.1, 2.0, 20.0] {
                let q = mm1k(rho, 1.0, k).unwrap();
                close(q.prob_block, pk_direct(rho, k), 1e-11);
                close(q.mean_in_system, l_direct(rho, k), 1e-11);
                // Flow balance: lambda (1 - P_K) = mu (1 - P_0).
                close(q.throughput, rho * (1.0 - pk_direct(rho, k)), 1e-11);
                close(q.mean_sojourn, q.mean_in_system / q.throughput, 1e-12);
            }
        }
        // Right at the branch switch: (K+1) t = 1 with K = 9.
        let rho = 0.1f64.exp();
        let below = mm1k(rho * (1.0 - 1e-12), 1.0, 9).unwrap();
        let above = mm1k(rho * (1.0 + 1e-12), 1.0, 9).unwrap();
        close(below.mean_in_system, l_direct(rho, 9), 1e-11);
        close(above.mean_in_system, l_direct(rho, 9), 1e-11);
    }

    #[test]
    fn mm1k_large_capacity() {
        // K large, rho < 1: the M/M/1 limit.
        let q = mm1k(0.5, 1.0, 100_000).unwrap();
        assert_eq!(q.prob_block, 0.0);
        close(q.mean_in_system, 1.0, EXACT);
        close(q.throughput, 0.5, EXACT);
        close(q.mean_sojourn, 2.0, EXACT);

        // K large, rho = 2: P_K -> 1 - 1/rho, the server is always busy,
        // and N = K - M with M geometric of ratio 1/rho (mean 1).
        let k = 100_000u32;
        let q = mm1k(2.0, 1.0, k).unwrap();
        close(q.prob_block, 0.5, EXACT);
        close(q.throughput, 1.0, EXACT);
        close(q.mean_in_system, f64::from(k) - 1.0, EXACT);

        // Huge K and rho far from 1: nothing overflows.
        let q = mm1k(1e6, 1.0, u32::MAX).unwrap();
        assert!(q.prob_block.is_finite() && q.mean_in_system.is_finite());
        close(q.prob_block, 1.0 - 1e-6, EXACT);
        close(q.throughput, 1.0, EXACT);
        let q = mm1k(1e-6, 1.0, u32::MAX).unwrap();
        assert_eq!(q.prob_block, 0.0);
        close(q.mean_in_system, 1e-6 / (1.0 - 1e-6), EXACT);

        // Huge K and rho just off 1: between the two limits, no NaN.
        let q = mm1k(1.0 + 1e-9, 1.0, u32::MAX).unwrap();
        assert!(q.prob_block.is_finite() && q.mean_in_system.is_finite());
        assert!(q.mean_in_system > f64::from(u32::MAX) / 2.0);
    }

    #[test]
    fn mm1k_rejects_invalid() {
        assert_eq!(mm1k(0.5, 1.0, 0), None);
        assert_eq!(mm1k(0.0, 1.0, 5), None);
        assert_eq!(mm1k(-0.5, 1.0, 5), None);
        assert_eq!(mm1k(0.5, 0.0, 5), None);
        assert_eq!(mm1k(0.5, -1.0, 5), None);
        assert_eq!(mm1k(f64::NAN, 1.0, 5), None);
        assert_eq!(mm1k(0.5, f64::NAN, 5), None);
        assert_eq!(mm1k(f64::INFINITY, 1.0, 5), None);
    }

    // M/D/1, lambda = 0.8, D = 1 (rho = 0.8): Wq = rho D / (2 (1 - rho))
    // = 2, W = 3, Lq = 1.6, L = 2.4 (Pollaczek–Khinchine; half the M/M/1
    // wait at the same load).
    #[test]
    fn md1_textbook() {
        let q = md1(0.8, 1.0).unwrap();
        close(q.rho, 0.8, EXACT);
        close(q.mean_wait, 2.0, EXACT);
        close(q.mean_sojourn, 3.0, EXACT);
        close(q.mean_in_queue, 1.6, EXACT);
        close(q.mean_in_system, 2.4, EXACT);
        close(q.mean_wait, mm1(0.8, 1.0).unwrap().mean_wait / 2.0, EXACT);
    }

    #[test]
    fn md1_rejects_unstable_and_invalid() {
        assert_eq!(md1(1.0, 1.0), None);
        assert_eq!(md1(2.0, 1.0), None);
        assert_eq!(md1(0.0, 1.0), None);
        assert_eq!(md1(-1.0, 0.5), None);
        assert_eq!(md1(1.0, 0.0), None);
        assert_eq!(md1(1.0, -0.5), None);
        assert_eq!(md1(f64::NAN, 0.5), None);
        assert_eq!(md1(0.5, f64::NAN), None);
    }

    #[test]
    fn mg1_reduces_to_mm1_and_md1() {
        for (lambda, mu) in [(0.8, 1.0), (2.0, 2.5), (0.3, 7.0), (9.9, 10.0)] {
            let s = 1.0 / mu;
            // Exponential service: E[S^2] = 2 / mu^2.
            close(
                mg1_mean_wait(lambda, s, 2.0 / (mu * mu)).unwrap(),
                mm1(lambda, mu).unwrap().mean_wait,
                1e-12,
            );
            // Deterministic service: E[S^2] = 1 / mu^2.
            close(
                mg1_mean_wait(lambda, s, 1.0 / (mu * mu)).unwrap(),
                md1(lambda, s).unwrap().mean_wait,
                1e-12,
            );
        }
        close(mg1_mean_wait(0.8, 1.0, 2.0).unwrap(), 4.0, EXACT);
        close(mg1_mean_wait(0.8, 1.0, 1.0).unwrap(), 2.0, EXACT);
        // 0.1 * 0.1 is one ulp above 0.01: still accepted as deterministic.
        assert!(mg1_mean_wait(1.0, 0.1, 0.01).is_some());
    }

    #[test]
    fn mg1_rejects_unstable_and_invalid() {
        assert_eq!(mg1_mean_wait(1.0, 1.0, 2.0), None);
        assert_eq!(mg1_mean_wait(2.0, 1.0, 2.0), None);
        assert_eq!(mg1_mean_wait(0.0, 1.0, 2.0), None);
        assert_eq!(mg1_mean_wait(-0.5, 1.0, 2.0), None);
        assert_eq!(mg1_mean_wait(0.5, 0.0, 2.0), None);
        assert_eq!(mg1_mean_wait(0.5, 1.0, 0.0), None);
        assert_eq!(mg1_mean_wait(0.5, 1.0, -1.0), None);
        assert_eq!(mg1_mean_wait(f64::NAN, 1.0, 2.0), None);
        assert_eq!(mg1_mean_wait(0.5, f64::NAN, 2.0), None);
        assert_eq!(mg1_mean_wait(0.5, 1.0, f64::NAN), None);
        // Negative variance.
        assert_eq!(mg1_mean_wait(0.5, 1.0, 0.9), None);
    }
}
