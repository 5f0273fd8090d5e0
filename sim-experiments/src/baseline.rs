//! Baselines and the regression check: store a scenario's metrics with
//! tolerances derived from their confidence intervals, then rerun and
//! compare (what a service team's CI calls to assert no regression).
//!
//! Tolerances: `ci` and `absolute` allow |now - baseline| <= value;
//! `relative` allows |now - baseline| <= value * |baseline|. The default,
//! written by `sim baseline`, is `ci` with value = sqrt(2) x the 99% CI
//! half-width of the baseline's mean (the spread two independent estimates
//! of the same mean can show), floored at max(1e-9, 1e-6 x |value|) so
//! metrics that are constant across replications still get a tolerance.

use std::path::Path;

use sim_models::results::CI_LEVEL;
pub use sim_results::baseline::{Baseline, Entry, Tolerance, ToleranceKind as Kind};

use crate::error::{Error, Result};
use crate::samples::{self, Samples};
use crate::scenarios::{self, Source};

/// Level of the interval tolerances are derived from.
pub const TOLERANCE_CI_LEVEL: f64 = 0.99;
/// Replications `sim baseline` uses at least, by default.
pub const DEFAULT_MIN_REPLICATIONS: u32 = 10;
/// Smallest tolerance: absolute part.
pub const FLOOR_ABSOLUTE: f64 = 1e-9;
/// Smallest tolerance: part relative to the value.
pub const FLOOR_RELATIVE: f64 = 1e-6;

/// A tolerance's description: `±0.5 (ci)`, `±5% (rel)`.
pub fn describe(t: &Tolerance) -> String {
    match t.kind {
        Kind::Ci => format!("±{} (ci)", fmt_num(t.value)),
        Kind::Absolute => format!("±{} (abs)", fmt_num(t.value)),
        Kind::Relative => format!("±{}% (rel)", fmt_num(t.value * 100.0)),
    }
}

/// The floor of every tolerance.
fn floor(value: Option<f64>) -> f64 {
    FLOOR_ABSOLUTE.max(FLOOR_RELATIVE * value.unwrap_or(0.0).abs())
}

/// The default tolerance: sqrt(2) x the 99% half-width, floored.
fn ci_tolerance(k: f64, value: Option<f64>, half_width: Option<f64>) -> Tolerance {
    Tolerance {
        kind: Kind::Ci,
        value: (k * half_width.unwrap_or(0.0)).max(floor(value)),
    }
}

/// `*` matches any run of characters (dots included), `?` one character.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// A parsed `--tolerance GLOB=KIND:X`.
#[derive(Debug, PartialEq)]
pub struct ToleranceFlag {
    pub flag: String,
    pub glob: String,
    pub kind: Kind,
    pub x: f64,
}

pub fn parse_tolerance(flag: &str) -> Result<ToleranceFlag> {
    let bad = |why: &str| Error::input(format!("--tolerance {flag}: {why}"));
    let usage =
        "expected GLOB=KIND:X with KIND rel, abs or ci, e.g. 'clients.*.latency_ms.p99=rel:0.05'";
    let (glob, spec) = flag.rsplit_once('=').ok_or_else(|| bad(usage))?;
    let (kind, x) = spec.split_once(':').ok_or_else(|| bad(usage))?;
    let kind = match kind.trim() {
        "rel" | "relative" => Kind::Relative,
        "abs" | "absolute" => Kind::Absolute,
        "ci" => Kind::Ci,
        other => return Err(bad(&format!("unknown kind {other:?}; {usage}"))),
    };
    let x: f64 = x
        .trim()
        .parse()
        .map_err(|_| bad(&format!("{:?} is not a number", x.trim())))?;
    if !x.is_finite() || x < 0.0 {
        return Err(bad("the value must be a finite number >= 0"));
    }
    if glob.trim().is_empty() {
        return Err(bad(usage));
    }
    Ok(ToleranceFlag {
        flag: flag.to_string(),
        glob: glob.trim().to_string(),
        kind,
        x,
    })
}

/// Applies tolerance flags (later ones win) to the entries; a flag that
/// matches no metric is an error (it is probably a typo).
fn apply_tolerances(metrics: &mut [(String, Entry)], flags: &[String]) -> Result<()> {
    for flag in flags {
        let t = parse_tolerance(flag)?;
        let mut matched = false;
        for (path, e) in metrics.iter_mut() {
            if glob_match(&t.glob, path) {
                matched = true;
                e.tolerance = match t.kind {
                    Kind::Ci => ci_tolerance(t.x, e.value, e.ci_half_width),
                    kind => Tolerance { kind, value: t.x },
                };
            }
        }
        if !matched {
            return Err(Error::input(format!(
                "--tolerance {}: {:?} matches no metric of the baseline",
                t.flag, t.glob
            )));
        }
    }
    Ok(())
}

/// What a baseline is made of: a scenario, the overrides and run settings,
/// and which metrics to keep with which tolerances.
#[derive(Clone, Debug, Default)]
pub struct BaselineSpec {
    /// `--set PATH=VALUE` overrides, applied and stored in the baseline.
    pub overrides: Vec<String>,
    /// Master seed (default: the scenario's).
    pub seed: Option<u64>,
    /// Replications (default: the scenario's, at least 10). At least 2.
    pub replications: Option<u32>,
    /// Keep only the metrics matching one of these globs (empty: all but
    /// the noisy ones, [`sim_results::metrics::is_noisy`]).
    pub metrics: Vec<String>,
    /// Tolerance flags `GLOB=KIND:X` (later ones win).
    pub tolerances: Vec<String>,
    /// Stop a replication with an error after this many events.
    pub max_events: Option<u64>,
}

/// Runs the scenario of `source` and makes its baseline.
pub fn make_baseline(source: &Source, spec: &BaselineSpec) -> Result<Baseline> {
    let (_, mut scenario) = scenarios::load(source, &spec.overrides)?;
    let replications = spec
        .replications
        .unwrap_or(scenario.replications.max(DEFAULT_MIN_REPLICATIONS));
    if replications < 2 {
        return Err(Error::input(format!(
            "--replications {replications}: a baseline needs at least 2 (tolerances come from confidence intervals)"
        )));
    }
    if replications > sim_models::scenario::MAX_REPLICATIONS {
        return Err(Error::input(format!(
            "--replications {replications}: at most {}",
            sim_models::scenario::MAX_REPLICATIONS
        )));
    }
    scenario.replications = replications;
    let seed = spec.seed.unwrap_or(scenario.seed);
    let samples = samples::run_replications(&scenario, seed, spec.max_events)?;

    let mut metrics: Vec<(String, Entry)> = Vec::new();
    for path in samples.paths() {
        let kept = if spec.metrics.is_empty() {
            !sim_results::metrics::is_noisy(path)
        } else {
            spec.metrics.iter().any(|g| glob_match(g, path))
        };
        if !kept {
            continue;
        }
        let est = samples.estimate(path, TOLERANCE_CI_LEVEL);
        let value = est.map(|e| e.mean).filter(|x| x.is_finite());
        let h = est.and_then(|e| e.half_width).filter(|x| x.is_finite());
        metrics.push((
            path.clone(),
            Entry {
                value,
                ci_half_width: h,
                tolerance: ci_tolerance(std::f64::consts::SQRT_2, value, h),
            },
        ));
    }
    for g in &spec.metrics {
        if !samples.paths().iter().any(|p| glob_match(g, p)) {
            return Err(Error::input(format!(
                "--metric {g}: matches no metric of scenario {} (`sim run {} --csv` lists them)",
                scenario.name,
                source.path.display()
            )));
        }
    }
    apply_tolerances(&mut metrics, &spec.tolerances)?;
    Ok(Baseline {
        kind: "baseline".into(),
        scenario: scenario.name.clone(),
        seed,
        replications,
        overrides: spec.overrides.clone(),
        metrics: sim_results::run::Named(metrics),
    })
}

/// Writes `baseline` to `path` atomically, as pretty JSON.
pub fn write_baseline(path: &Path, baseline: &Baseline) -> Result<()> {
    crate::io::write_atomic(path, &crate::io::json_bytes(baseline))
}

/// Reads and checks a baseline file.
pub fn read_baseline(path: &Path) -> Result<Baseline> {
    let text = crate::io::read_text(path)?;
    let bad = |why: String| Error::input(format!("{}: not a baseline file: {why}", path.display()));
    let b: Baseline = sim_results::from_str(&text).map_err(bad)?;
    if b.kind != "baseline" {
        return Err(bad(format!("kind is {:?}, not \"baseline\"", b.kind)));
    }
    if b.replications < 2 {
        return Err(bad(format!(
            "replications: must be >= 2, got {}",
            b.replications
        )));
    }
    for (k, e) in b.metrics.iter() {
        if e.tolerance.value.is_nan() || e.tolerance.value < 0.0 {
            return Err(bad(format!("metrics.{k:?}.tolerance.value: must be >= 0")));
        }
    }
    Ok(b)
}

/// What became of one metric.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Within its tolerance (or null, and still null).
    Unchanged,
    /// Outside its tolerance, in the direction the metric table calls
    /// better (`sim_results::metrics`: more successes, less latency).
    Improved,
    /// Outside its tolerance, in the worse direction.
    Regressed,
    /// Outside its tolerance, for a metric with no better direction (a
    /// count of requests offered or attempts sent): the system changed.
    Changed,
    /// The rerun does not have the metric.
    Missing,
    /// It had a value and is now null.
    NowNull,
    /// It was null and now has a value.
    WasNull,
}

impl Verdict {
    /// Whether it fails the check; an improvement fails only when `strict`.
    pub fn fails(self, strict: bool) -> bool {
        match self {
            Verdict::Unchanged => false,
            Verdict::Improved => strict,
            _ => true,
        }
    }

    /// Its name in reports (`"regressed"`, `"missing from this run"`).
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Unchanged => "unchanged",
            Verdict::Improved => "improved",
            Verdict::Regressed => "regressed",
            Verdict::Changed => "changed",
            Verdict::Missing => "missing from this run",
            Verdict::NowNull => "now null",
            Verdict::WasNull => "was null",
        }
    }

    /// The verdict of a move from `baseline` to `now` beyond the
    /// tolerance, by the metric's direction.
    fn of_move(metric: &str, baseline: f64, now: f64) -> Verdict {
        use sim_results::metrics::{Better, better};
        match better(metric) {
            Better::Higher if now > baseline => Verdict::Improved,
            Better::Lower if now < baseline => Verdict::Improved,
            Better::Higher | Better::Lower => Verdict::Regressed,
            Better::Neither => Verdict::Changed,
        }
    }
}

/// The smallest difference a metric can show that is not rounding: a
/// latency percentile comes from a histogram with three significant
/// digits, so two runs can differ by up to a bucket (0.1% of the value)
/// each way for no reason; a tolerance is never narrower than that.
/// Exact metrics (counts, means, the maximum) have none.
pub fn resolution(metric: &str, value: f64) -> f64 {
    let field = metric.splitn(3, '.').nth(2).unwrap_or(metric);
    let percentile = field.split_once('.').is_some_and(|(hist, q)| {
        hist.ends_with("_ms")
            && q.strip_prefix('p')
                .is_some_and(|d| !d.is_empty() && d.chars().all(|c| c.is_ascii_digit()))
    });
    if percentile {
        let bucket = 10f64.powi(-i32::from(sim_core::stats::SIGNIFICANT_DIGITS));
        2.0 * bucket * value.abs()
    } else {
        0.0
    }
}

/// One compared metric.
#[derive(Clone, Debug)]
pub struct Row {
    pub metric: String,
    pub baseline: Option<f64>,
    pub now: Option<f64>,
    pub tolerance: Tolerance,
    pub verdict: Verdict,
}

impl Row {
    /// The change, `now - baseline`, when both are numbers.
    pub fn change(&self) -> Option<f64> {
        Some(self.now? - self.baseline?)
    }

    /// The change in percent of the baseline (`None` from a baseline of 0).
    pub fn change_percent(&self) -> Option<f64> {
        let b = self.baseline?;
        (b != 0.0).then(|| self.change().map(|d| 100.0 * d / b.abs()))?
    }
}

fn compare(entries: &[(String, Entry)], samples: &Samples) -> Vec<Row> {
    entries
        .iter()
        .map(|(path, e)| {
            let present = samples.has(path);
            let now = samples
                .estimate(path, CI_LEVEL)
                .map(|x| x.mean)
                .filter(|x| x.is_finite());
            let verdict = match (present, e.value, now) {
                (false, _, _) => Verdict::Missing,
                (true, None, None) => Verdict::Unchanged,
                (true, None, Some(_)) => Verdict::WasNull,
                (true, Some(_), None) => Verdict::NowNull,
                (true, Some(b), Some(n)) => {
                    if (n - b).abs() <= e.tolerance.allowed(b).max(resolution(path, b)) {
                        Verdict::Unchanged
                    } else {
                        Verdict::of_move(path, b, n)
                    }
                }
            };
            Row {
                metric: path.clone(),
                baseline: e.value,
                now,
                tolerance: e.tolerance,
                verdict,
            }
        })
        .collect()
}

/// Six significant digits, no trailing zeros; exponent form when very
/// large or small.
pub fn fmt_num(x: f64) -> String {
    if x == 0.0 {
        return "0".into();
    }
    let a = x.abs();
    if !(1e-4..1e9).contains(&a) {
        return format!("{x:.4e}");
    }
    let decimals = (5 - a.log10().floor() as i32).clamp(0, 9) as usize;
    let s = format!("{x:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// A rerun compared with a baseline.
#[derive(Clone, Debug)]
pub struct Checked {
    pub scenario: String,
    pub seed: u64,
    pub replications: u32,
    /// The baseline's overrides, then the extra ones.
    pub overrides: Vec<String>,
    /// Every metric of the baseline, in its order.
    pub rows: Vec<Row>,
}

impl Checked {
    /// The rows that fail the check (improvements too when `strict`).
    pub fn failing(&self, strict: bool) -> impl Iterator<Item = &Row> {
        self.rows.iter().filter(move |r| r.verdict.fails(strict))
    }
}

/// Reruns the scenario of `source` with the seed, replications and
/// overrides of the baseline at `baseline` (then `extra` overrides), and
/// compares every metric with its tolerance (`tolerances` override them).
pub fn check(
    source: &Source,
    baseline: &Path,
    extra: &[String],
    tolerances: &[String],
    max_events: Option<u64>,
) -> Result<Checked> {
    let mut b = read_baseline(baseline)?;
    let mut overrides = b.overrides.clone();
    overrides.extend(extra.iter().cloned());
    let (_, mut scenario) = scenarios::load(source, &overrides)?;
    if scenario.name != b.scenario {
        return Err(Error::input(format!(
            "{}: is a baseline of scenario {:?}, but {} is scenario {:?}",
            baseline.display(),
            b.scenario,
            source.path.display(),
            scenario.name
        )));
    }
    apply_tolerances(&mut b.metrics.0, tolerances)?;
    scenario.replications = b.replications;
    let samples = samples::run_replications(&scenario, b.seed, max_events)?;
    Ok(Checked {
        scenario: scenario.name.clone(),
        seed: b.seed,
        replications: b.replications,
        overrides,
        rows: compare(&b.metrics.0, &samples),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob_match(
            "clients.*.latency_ms.p99",
            "clients.rpc.latency_ms.p99"
        ));
        assert!(glob_match("*", "anything.at.all"));
        assert!(glob_match("clients.rpc.?k", "clients.rpc.ok"));
        assert!(!glob_match("clients.*.p99", "clients.rpc.latency_ms.p95"));
        assert!(!glob_match("services.*", "clients.rpc.ok"));
        assert!(glob_match("a*b*c", "aXXbYYc"));
        assert!(!glob_match("a*b*c", "aXXbYY"));
    }

    #[test]
    fn tolerance_flags() {
        let t = parse_tolerance("clients.*=rel:0.05").unwrap();
        assert_eq!(
            (t.glob.as_str(), t.kind, t.x),
            ("clients.*", Kind::Relative, 0.05)
        );
        assert_eq!(parse_tolerance("x=abs:3").unwrap().kind, Kind::Absolute);
        assert_eq!(parse_tolerance("x=ci:2").unwrap().kind, Kind::Ci);
        for bad in [
            "x",
            "x=rel",
            "x=pct:3",
            "x=abs:-1",
            "x=abs:NaN",
            "=abs:1",
            "x=abs:y",
        ] {
            let e = parse_tolerance(bad).unwrap_err();
            assert_eq!(e.kind, crate::ErrorKind::Input, "{bad}");
            assert!(e.message.starts_with(&format!("--tolerance {bad}: ")));
        }
    }

    fn entry(value: Option<f64>, h: Option<f64>) -> Entry {
        Entry {
            value,
            ci_half_width: h,
            tolerance: ci_tolerance(std::f64::consts::SQRT_2, value, h),
        }
    }

    #[test]
    fn default_tolerance_is_sqrt2_half_width_with_a_floor() {
        let e = entry(Some(10.0), Some(0.5));
        assert_eq!(e.tolerance.kind, Kind::Ci);
        assert!((e.tolerance.value - 0.5 * std::f64::consts::SQRT_2).abs() < 1e-15);
        assert_eq!(entry(Some(1000.0), Some(0.0)).tolerance.value, 1e-3);
        assert_eq!(entry(Some(0.0), Some(0.0)).tolerance.value, 1e-9);
        assert_eq!(entry(None, None).tolerance.value, 1e-9);
    }

    #[test]
    fn comparisons() {
        let samples = Samples::from_replications(vec![
            vec![
                ("a".into(), Some(10.0)),
                ("b".into(), None),
                ("c".into(), Some(1.0)),
                ("d".into(), Some(5.0)),
            ],
            vec![
                ("a".into(), Some(10.0)),
                ("b".into(), None),
                ("c".into(), Some(1.0)),
                ("d".into(), Some(5.0)),
            ],
        ]);
        let mut entries = vec![
            ("a".to_string(), entry(Some(10.5), Some(0.1))), // off by 0.5 > 0.14
            ("b".to_string(), entry(None, None)),            // null stays null
            ("c".to_string(), entry(None, None)),            // was null
            ("d".to_string(), entry(Some(5.0), Some(0.0))),  // equal
            ("gone".to_string(), entry(Some(1.0), Some(0.1))),
        ];
        let verdicts = |entries: &[(String, Entry)]| -> Vec<_> {
            compare(entries, &samples)
                .into_iter()
                .map(|r| r.verdict)
                .collect()
        };
        assert_eq!(
            verdicts(&entries),
            [
                Verdict::Changed,
                Verdict::Unchanged,
                Verdict::WasNull,
                Verdict::Unchanged,
                Verdict::Missing
            ]
        );
        apply_tolerances(&mut entries, &["a=rel:0.05".into()]).unwrap();
        assert_eq!(verdicts(&entries)[0], Verdict::Unchanged);
        apply_tolerances(&mut entries, &["a=abs:0.4".into()]).unwrap();
        assert_eq!(verdicts(&entries)[0], Verdict::Changed);
        apply_tolerances(&mut entries, &["a=ci:5".into()]).unwrap();
        assert_eq!(verdicts(&entries)[0], Verdict::Unchanged);
        assert!(apply_tolerances(&mut entries, &["zz*=abs:1".into()]).is_err());
    }

    #[test]
    fn percentiles_are_compared_to_their_histogram_resolution() {
        assert_eq!(resolution("clients.c.latency_ms.p999", 200.0), 0.4);
        assert_eq!(resolution("buses.b.end_to_end_latency_ms.p99", 100.0), 0.2);
        assert_eq!(resolution("clients.c.latency_ms.mean", 200.0), 0.0);
        assert_eq!(resolution("clients.c.latency_ms.max", 200.0), 0.0);
        assert_eq!(resolution("clients.c.ok", 200.0), 0.0);
    }

    /// The direction comes from the metric table: less latency and more
    /// success are improvements, the reverse regressions; a plain count
    /// has no better direction.
    #[test]
    fn verdicts_follow_the_metric_direction() {
        let v = Verdict::of_move;
        assert_eq!(v("clients.c.success_rate", 0.26, 1.0), Verdict::Improved);
        assert_eq!(v("clients.c.success_rate", 1.0, 0.26), Verdict::Regressed);
        assert_eq!(
            v("clients.c.latency_ms.p99", 100.0, 50.0),
            Verdict::Improved
        );
        assert_eq!(
            v("clients.c.latency_ms.p99", 50.0, 100.0),
            Verdict::Regressed
        );
        assert_eq!(v("clients.c.attempts", 50.0, 100.0), Verdict::Changed);
        assert_eq!(v("services.s.nonsense", 1.0, 2.0), Verdict::Changed);
        assert!(!Verdict::Improved.fails(false) && Verdict::Improved.fails(true));
        assert!(Verdict::Regressed.fails(false) && !Verdict::Unchanged.fails(true));
    }

    #[test]
    fn numbers_are_short() {
        assert_eq!(fmt_num(0.2365), "0.2365");
        assert_eq!(fmt_num(486.408192), "486.408");
        assert_eq!(fmt_num(2000.0), "2000");
        assert_eq!(fmt_num(-0.5), "-0.5");
        assert_eq!(fmt_num(1e-9), "1.0000e-9");
    }
}
