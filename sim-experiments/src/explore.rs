//! Finding the cliff: where a scenario stops recovering.
//!
//! For a point (a value of each axis), replications run until the Wilson
//! interval of P(collapse) leaves the level on one side, or a replication
//! limit is reached; a replication collapsed when the criterion holds
//! (default: some client group did not end healthy, its success rate over
//! the last recovery window below its level before the disturbance). Along
//! the first axis a bisection narrows the bracket where P(collapse)
//! crosses the level until it is `tolerance` wide, spending replications
//! only at the points it visits; with a second axis, the search runs once
//! per row (evenly spaced values of the second axis), tracing the boundary
//! curve.
//!
//! Every replication's outcome is kept in `DIR/points/` as it is known, so
//! an interrupted exploration resumes where it was (the search is
//! deterministic given the outcomes, so it walks the same points again
//! from the cache), and shards (`--shard I/N`: rows with index % N == I-1)
//! share that cache: a final run without a shard assembles the results.
//! Replication k of a point uses master seed `seed + k`, as `sim run` does,
//! and replications run in parallel, collected by index: the output does
//! not depend on the thread count.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sim_core::Seeds;
use sim_models::scenario::{self, ScenarioFile};
use sim_models::world::{RunOptions, run_replication};
use sim_results::explore::{Axis, Boundary, ExploreDocument, Point};

use crate::error::{Error, Result};
use crate::io::write_atomic;
use crate::scenarios::Source;

/// What counts as a collapsed replication.
#[derive(Clone, Debug, PartialEq)]
pub enum Criterion {
    /// Some client group's `healthy_at_end` is false.
    Unhealthy,
    /// A metric leaf compared with a threshold (`clients.api.final_success_rate < 0.5`).
    Compare {
        /// The dotted metric path.
        metric: String,
        /// The comparison.
        op: Op,
        /// The threshold.
        threshold: f64,
    },
}

/// A comparison of a criterion.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Op {
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

impl Criterion {
    /// Parses `METRIC OP NUMBER` (`OP` one of `< <= > >=`), or `unhealthy`.
    pub fn parse(s: &str) -> Result<Criterion> {
        let s = s.trim();
        if s == "unhealthy" {
            return Ok(Criterion::Unhealthy);
        }
        for (text, op) in [("<=", Op::Le), (">=", Op::Ge), ("<", Op::Lt), (">", Op::Gt)] {
            if let Some((metric, threshold)) = s.split_once(text) {
                let metric = metric.trim();
                let threshold: f64 = threshold.trim().parse().map_err(|_| {
                    Error::input(format!(
                        "--collapse {s:?}: {:?} is not a number",
                        threshold.trim()
                    ))
                })?;
                if metric.is_empty() || !threshold.is_finite() {
                    break;
                }
                return Ok(Criterion::Compare {
                    metric: metric.to_string(),
                    op,
                    threshold,
                });
            }
        }
        Err(Error::input(format!(
            "--collapse {s:?}: expected METRIC OP NUMBER (OP one of < <= > >=), e.g. \"clients.api.final_success_rate < 0.5\", or \"unhealthy\""
        )))
    }

    fn text(&self) -> String {
        match self {
            Criterion::Unhealthy => "unhealthy".into(),
            Criterion::Compare {
                metric,
                op,
                threshold,
            } => {
                let op = match op {
                    Op::Lt => "<",
                    Op::Le => "<=",
                    Op::Gt => ">",
                    Op::Ge => ">=",
                };
                format!("{metric} {op} {threshold}")
            }
        }
    }

    /// Whether one replication's metric leaves count as collapsed; `Err`
    /// names a metric the replication does not have.
    fn collapsed(&self, leaves: &[(String, Option<f64>)]) -> std::result::Result<bool, String> {
        match self {
            Criterion::Unhealthy => Ok(leaves.iter().any(|(p, v)| {
                p.starts_with("clients.") && p.ends_with(".healthy_at_end") && *v == Some(0.0)
            })),
            Criterion::Compare {
                metric,
                op,
                threshold,
            } => {
                let Some((_, v)) = leaves.iter().find(|(p, _)| p == metric) else {
                    let near: Vec<&str> = leaves
                        .iter()
                        .map(|(p, _)| p.as_str())
                        .filter(|p| {
                            let last = metric.rsplit('.').next().unwrap_or(metric);
                            p.ends_with(last)
                        })
                        .take(5)
                        .collect();
                    return Err(format!(
                        "--collapse: the runs have no metric {metric:?}{}",
                        if near.is_empty() {
                            String::new()
                        } else {
                            format!(" (similar: {})", near.join(", "))
                        }
                    ));
                };
                // A metric without a value (no request finished) is no
                // evidence of health.
                let Some(v) = *v else { return Ok(true) };
                Ok(match op {
                    Op::Lt => v < *threshold,
                    Op::Le => v <= *threshold,
                    Op::Gt => v > *threshold,
                    Op::Ge => v >= *threshold,
                })
            }
        }
    }
}

/// An exploration as asked for.
#[derive(Clone, Debug)]
pub struct ExploreSpec {
    /// `PATH=LO..HI`, one or two.
    pub axes: Vec<String>,
    /// What counts as collapsed.
    pub criterion: Criterion,
    /// The P(collapse) whose crossing is sought (default 0.5).
    pub level: f64,
    /// Bracket width at which the search stops, in the first axis's unit.
    pub tolerance: f64,
    /// Replications per batch at a point (default 10).
    pub batch: u64,
    /// Most replications at one point (default 100).
    pub max_replications: u64,
    /// Rows along the second axis (default 5).
    pub rows: usize,
    /// Only rows with index % N == I - 1.
    pub shard: Option<(usize, usize)>,
    /// Bound on each replication's events.
    pub max_events: Option<u64>,
    /// `PATH=VALUE` overrides applied to the scenario first (`--set`).
    pub overrides: Vec<String>,
}

/// Confidence of the Wilson intervals.
pub const CONFIDENCE: f64 = 0.95;
const Z: f64 = 1.959_963_984_540_054;
/// Most replications at one point.
pub const MAX_REPLICATIONS: u64 = 100_000;
/// Most rows.
pub const MAX_ROWS: usize = 1_000;

/// The Wilson score interval of `k` successes in `n` trials at 95%.
pub fn wilson(k: u64, n: u64) -> [f64; 2] {
    if n == 0 {
        return [0.0, 1.0];
    }
    let n = n as f64;
    let p = k as f64 / n;
    let z2 = Z * Z;
    let denom = 1.0 + z2 / n;
    let center = (p + z2 / (2.0 * n)) / denom;
    let half = Z * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt() / denom;
    let clean = sim_results::without_float_noise;
    [
        clean((center - half).max(0.0)),
        clean((center + half).min(1.0)),
    ]
}

/// Which side of the level a point is on.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Side {
    Below,
    Above,
    /// The replication limit was reached with the level inside the interval.
    AtLevel,
}

/// What is known of one replication.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Outcome {
    collapsed: bool,
    /// The slowest client group's time to recover, if every group recovered.
    ttr_s: Option<f64>,
}

/// A point's cache file: its replications' outcomes, in order.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct PointFile {
    at: Vec<f64>,
    outcomes: Vec<Outcome>,
}

/// The identity of an exploration directory.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Manifest {
    kind: String,
    scenario: String,
    fingerprint: String,
}

/// A loaded exploration: the scenario file, the axes checked.
pub struct Explorer {
    spec: ExploreSpec,
    file: ScenarioFile,
    path: PathBuf,
    name: String,
    seed: u64,
    axes: Vec<Axis>,
    dir: PathBuf,
}

fn parse_axis(file: &ScenarioFile, text: &str) -> Result<Axis> {
    let bad = |m: String| Error::input(format!("--axis {text:?}: {m}"));
    let (path, range) = text.split_once('=').ok_or_else(|| {
        bad("expected PATH=LO..HI, e.g. clients[0].workload.rate_per_s=10..40".into())
    })?;
    let path = path.trim();
    let (lo, hi) = range
        .split_once("..")
        .ok_or_else(|| bad("expected LO..HI after `=`".into()))?;
    let num = |s: &str| {
        s.trim()
            .parse::<f64>()
            .ok()
            .filter(|x| x.is_finite())
            .ok_or_else(|| bad(format!("{:?} is not a number", s.trim())))
    };
    let (low, high) = (num(lo)?, num(hi)?);
    if low >= high {
        return Err(bad(format!("LO must be below HI, got {low}..{high}")));
    }
    let current = scenario::get_path(file, path).map_err(bad)?;
    let (integer, seconds) = match &current {
        Value::Number(n) => (n.is_u64() || n.is_i64(), false),
        Value::String(s) if s.parse::<sim_core::SimDuration>().is_ok() => (false, true),
        other => {
            return Err(bad(format!(
                "{path} holds {other}, not a number or a duration: an axis sets a numeric field (a duration in seconds)"
            )));
        }
    };
    if seconds && low < 0.0 {
        return Err(bad(format!(
            "{path} is a duration: LO must be >= 0 seconds, got {low}"
        )));
    }
    if integer && (low.fract() != 0.0 || high.fract() != 0.0) {
        return Err(bad(format!(
            "{path} takes whole numbers: LO and HI must be whole"
        )));
    }
    Ok(Axis {
        path: path.to_string(),
        low,
        high,
        integer,
        seconds,
    })
}

/// An axis value as the field holds it.
fn number(x: f64, a: &Axis) -> Value {
    if a.seconds {
        Value::String(format!("{}ns", (x * 1e9).round() as u64))
    } else if a.integer {
        Value::from(x as i64)
    } else {
        serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number)
    }
}

/// FNV-1a, as hex: stable across platforms and Rust versions.
fn fnv(bytes: impl IntoIterator<Item = u8>) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01B3);
    }
    format!("{h:016x}")
}

/// A point's cache file name: its values' bits, hashed.
fn key(at: &[f64]) -> String {
    fnv(at.iter().flat_map(|x| x.to_bits().to_le_bytes()))
}

impl Explorer {
    /// Checks the exploration of `source` into `dir`: the axes name
    /// numeric fields, the range's ends make valid scenarios, the options
    /// are sensible. Nothing is written.
    pub fn new(source: &Source, spec: ExploreSpec, dir: &Path) -> Result<Explorer> {
        let mut file = scenario::parse(&source.text, &source.path)?;
        scenario::apply_overrides(&mut file, &spec.overrides)?;
        let validated = scenario::check(&file, &source.path)?;
        if spec.axes.is_empty() || spec.axes.len() > 2 {
            return Err(Error::input("give one or two --axis PATH=LO..HI"));
        }
        let axes = spec
            .axes
            .iter()
            .map(|a| parse_axis(&file, a))
            .collect::<Result<Vec<_>>>()?;
        if axes.len() == 2 && axes[0].path == axes[1].path {
            return Err(Error::input("the two --axis must set different fields"));
        }
        if !(spec.level > 0.0 && spec.level < 1.0) {
            return Err(Error::input(format!(
                "--level must be in (0, 1), got {}",
                spec.level
            )));
        }
        let span = axes[0].high - axes[0].low;
        if !(spec.tolerance > 0.0 && spec.tolerance < span) {
            return Err(Error::input(format!(
                "--tolerance must be > 0 and below the first axis's span ({span}), got {}",
                spec.tolerance
            )));
        }
        if spec.batch == 0 || spec.max_replications < spec.batch {
            return Err(Error::input(format!(
                "--batch must be >= 1 and at most --max-replications ({}), got {}",
                spec.max_replications, spec.batch
            )));
        }
        if spec.max_replications > MAX_REPLICATIONS {
            return Err(Error::input(format!(
                "--max-replications {}: at most {MAX_REPLICATIONS}",
                spec.max_replications
            )));
        }
        if axes.len() == 2 && !(2..=MAX_ROWS).contains(&spec.rows) {
            return Err(Error::input(format!(
                "--rows must be in 2..={MAX_ROWS}, got {}",
                spec.rows
            )));
        }
        let ex = Explorer {
            name: validated.name.clone(),
            seed: validated.seed,
            spec,
            file,
            path: source.path.clone(),
            axes,
            dir: dir.to_path_buf(),
        };
        // Both ends of each axis must give valid scenarios.
        for (i, a) in ex.axes.iter().enumerate() {
            for x in [a.low, a.high] {
                let mut at: Vec<f64> = ex.axes.iter().map(|b| b.low).collect();
                at[i] = x;
                ex.scenario_at(&at)?;
            }
        }
        Ok(ex)
    }

    /// The validated scenario at a point.
    fn scenario_at(&self, at: &[f64]) -> Result<sim_models::scenario::Scenario> {
        let mut file = self.file.clone();
        for (a, &x) in self.axes.iter().zip(at) {
            scenario::set_path(&mut file, &a.path, number(x, a))
                .map_err(|e| Error::input(format!("--axis {}={x}: {e}", a.path)))?;
        }
        scenario::check(&file, &self.path).map_err(|e| {
            let at: Vec<String> = self
                .axes
                .iter()
                .zip(at)
                .map(|(a, x)| format!("{}={x}", a.path))
                .collect();
            Error::input(format!("at {}: {e}", at.join(", ")))
        })
    }

    /// The first axis's range (HI - LO).
    pub fn first_axis_span(&self) -> f64 {
        self.axes[0].high - self.axes[0].low
    }

    /// The row values of the second axis (one row with a single axis).
    pub fn rows(&self) -> Vec<Option<f64>> {
        match self.axes.get(1) {
            None => vec![None],
            Some(a) => {
                let n = self.spec.rows;
                (0..n)
                    .map(|i| {
                        let x = a.low + (a.high - a.low) * i as f64 / (n - 1) as f64;
                        Some(if a.integer { x.round() } else { x })
                    })
                    .collect()
            }
        }
    }

    fn fingerprint(&self) -> String {
        let text = format!(
            "{}\n{:?}\n{}\n{}\n{}\n{}\n{}\n{}",
            serde_json::to_string(&self.file).unwrap_or_default(),
            self.axes,
            self.spec.criterion.text(),
            self.spec.level,
            self.spec.tolerance,
            self.spec.batch,
            self.spec.max_replications,
            self.spec.rows,
        );
        fnv(text.bytes())
    }

    fn point_path(&self, at: &[f64]) -> PathBuf {
        self.dir.join("points").join(format!("{}.json", key(at)))
    }

    /// Creates the directory, or checks that it holds this exploration.
    fn prepare(&self) -> Result<()> {
        std::fs::create_dir_all(self.dir.join("points"))
            .map_err(|e| Error::runtime(format!("cannot create {}: {e}", self.dir.display())))?;
        let manifest = Manifest {
            kind: "explore".into(),
            scenario: self.name.clone(),
            fingerprint: self.fingerprint(),
        };
        let path = self.dir.join("explore.json");
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                let old: Manifest = serde_json::from_str(&text).map_err(|e| {
                    Error::input(format!(
                        "{}: not an exploration manifest: {e}",
                        path.display()
                    ))
                })?;
                if old != manifest {
                    return Err(Error::input(format!(
                        "{} holds a different exploration (another scenario, axes or options); use another --out",
                        self.dir.display()
                    )));
                }
                Ok(())
            }
            Err(_) => {
                let text = serde_json::to_string_pretty(&manifest).expect("a manifest serializes");
                write_atomic(&path, format!("{text}\n").as_bytes())
            }
        }
    }

    /// The outcomes of replications `0..n` at `at`: from the cache, the
    /// missing ones run (in parallel) and added to it.
    fn outcomes(&self, at: &[f64], n: u64) -> Result<Vec<Outcome>> {
        let path = self.point_path(at);
        let mut cached: PointFile = std::fs::read_to_string(&path)
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .filter(|p: &PointFile| p.at == at)
            .unwrap_or_default();
        let have = cached.outcomes.len() as u64;
        if have < n {
            let scenario = self.scenario_at(at)?;
            let seeds = Seeds::new(self.seed);
            let options = RunOptions {
                max_events: self.spec.max_events,
                ..RunOptions::default()
            };
            use rayon::prelude::*;
            let fresh: Vec<std::result::Result<Outcome, Error>> = (have..n)
                .into_par_iter()
                .map(|k| {
                    let out = run_replication(&scenario, &seeds.replication(k), &options)
                        .map_err(Error::from)?;
                    let leaves = crate::samples::leaves(&out);
                    let collapsed = self
                        .spec
                        .criterion
                        .collapsed(&leaves)
                        .map_err(Error::input)?;
                    let ttrs: Vec<Option<f64>> = leaves
                        .iter()
                        .filter(|(p, _)| {
                            p.starts_with("clients.") && p.ends_with(".time_to_recover_s")
                        })
                        .map(|(_, v)| *v)
                        .collect();
                    let ttr_s = if ttrs.is_empty() || ttrs.iter().any(Option::is_none) {
                        None
                    } else {
                        ttrs.into_iter().flatten().reduce(f64::max)
                    };
                    Ok(Outcome { collapsed, ttr_s })
                })
                .collect();
            for o in fresh {
                cached.outcomes.push(o?);
            }
            cached.at = at.to_vec();
            let text = serde_json::to_string(&cached).expect("a point serializes");
            write_atomic(&path, text.as_bytes())?;
        }
        cached.outcomes.truncate(n as usize);
        Ok(cached.outcomes)
    }

    /// Runs batches at `at` until its interval leaves the level.
    fn decide(&self, at: &[f64], progress: &dyn ExploreProgress) -> Result<(Side, Vec<Outcome>)> {
        let mut n = 0;
        loop {
            n = (n + self.spec.batch).min(self.spec.max_replications);
            let outs = self.outcomes(at, n)?;
            let k = outs.iter().filter(|o| o.collapsed).count() as u64;
            let [lo, hi] = wilson(k, n);
            progress.point(at, k, n);
            if hi < self.spec.level {
                return Ok((Side::Below, outs));
            }
            if lo > self.spec.level {
                return Ok((Side::Above, outs));
            }
            if n >= self.spec.max_replications {
                return Ok((Side::AtLevel, outs));
            }
        }
    }

    /// The bisection along the first axis for one row.
    fn search(
        &self,
        row: Option<f64>,
        seen: &mut Vec<(Vec<f64>, Vec<Outcome>)>,
        progress: &dyn ExploreProgress,
    ) -> Result<Boundary> {
        let a0 = &self.axes[0];
        let at = |x: f64| -> Vec<f64> {
            let mut v = vec![x];
            v.extend(row);
            v
        };
        let mut visit = |x: f64| -> Result<Side> {
            let p = at(x);
            let (side, outs) = self.decide(&p, progress)?;
            seen.push((p, outs));
            Ok(side)
        };
        let lo_side = visit(a0.low)?;
        let hi_side = visit(a0.high)?;
        let none = |status: &str| Boundary {
            row,
            status: status.into(),
            estimate: None,
            bracket: None,
            increasing: None,
        };
        let increasing = match (lo_side, hi_side) {
            (Side::Below, Side::Above)
            | (Side::AtLevel, Side::Above)
            | (Side::Below, Side::AtLevel) => true,
            (Side::Above, Side::Below)
            | (Side::AtLevel, Side::Below)
            | (Side::Above, Side::AtLevel) => false,
            (Side::Below, Side::Below) => return Ok(none("below")),
            (Side::Above, Side::Above) => return Ok(none("above")),
            (Side::AtLevel, Side::AtLevel) => {
                return Ok(Boundary {
                    row,
                    status: "at_level".into(),
                    estimate: Some((a0.low + a0.high) / 2.0),
                    bracket: Some([a0.low, a0.high]),
                    increasing: None,
                });
            }
        };
        let (mut a, mut b) = (a0.low, a0.high);
        let clean = sim_results::without_float_noise;
        let found = |a: f64, b: f64, status: &str| Boundary {
            row,
            status: status.into(),
            estimate: Some(clean((a + b) / 2.0)),
            bracket: Some([clean(a), clean(b)]),
            increasing: Some(increasing),
        };
        // An end at the level is the boundary.
        if lo_side == Side::AtLevel {
            return Ok(found(a, a, "at_level"));
        }
        if hi_side == Side::AtLevel {
            return Ok(found(b, b, "at_level"));
        }
        while b - a > self.spec.tolerance {
            let mut m = sim_results::without_float_noise((a + b) / 2.0);
            if a0.integer {
                m = m.floor();
                if m <= a || m >= b {
                    break;
                }
            }
            match visit(m)? {
                Side::AtLevel => return Ok(found(m, m, "at_level")),
                side => {
                    // The side of the level that `a` is on moves up to m.
                    let below_side = if increasing { Side::Below } else { Side::Above };
                    if side == below_side {
                        a = m;
                    } else {
                        b = m;
                    }
                }
            }
            progress.boundary(row, (a + b) / 2.0);
        }
        Ok(found(a, b, "found"))
    }

    /// Runs the exploration (or this shard's rows of it), writing
    /// `results.json` and `results.csv` when not sharded.
    pub fn run(&self, progress: &dyn ExploreProgress) -> Result<Option<ExploreDocument>> {
        self.prepare()?;
        let rows = self.rows();
        let mut boundaries = Vec::new();
        let mut seen: Vec<(Vec<f64>, Vec<Outcome>)> = Vec::new();
        for (i, row) in rows.iter().enumerate() {
            if let Some((s, n)) = self.spec.shard
                && i % n != s - 1
            {
                continue;
            }
            boundaries.push(self.search(*row, &mut seen, progress)?);
        }
        progress.finish();
        if self.spec.shard.is_some() {
            return Ok(None);
        }
        // Each point once, with its most replications, in value order.
        seen.sort_by(|x, y| {
            x.0.partial_cmp(&y.0)
                .unwrap_or(std::cmp::Ordering::Equal)
                .then(y.1.len().cmp(&x.1.len()))
        });
        seen.dedup_by(|later, first| later.0 == first.0);
        let points = seen
            .into_iter()
            .map(|(at, outs)| {
                let n = outs.len() as u64;
                let k = outs.iter().filter(|o| o.collapsed).count() as u64;
                let healthy: Vec<f64> = outs
                    .iter()
                    .filter(|o| !o.collapsed)
                    .filter_map(|o| o.ttr_s)
                    .collect();
                Point {
                    at,
                    replications: n,
                    collapses: k,
                    p_collapse: k as f64 / n as f64,
                    wilson: wilson(k, n),
                    time_to_recover_s: (!healthy.is_empty())
                        .then(|| healthy.iter().sum::<f64>() / healthy.len() as f64),
                }
            })
            .collect();
        let doc = ExploreDocument {
            kind: "explore".into(),
            scenario: self.name.clone(),
            seed: self.seed,
            axes: self.axes.clone(),
            criterion: self.spec.criterion.text(),
            level: self.spec.level,
            tolerance: self.spec.tolerance,
            confidence: CONFIDENCE,
            overrides: self.spec.overrides.clone(),
            batch: self.spec.batch,
            max_replications: self.spec.max_replications,
            rows: (self.axes.len() == 2).then_some(self.spec.rows),
            boundaries,
            points,
        };
        let json = serde_json::to_string_pretty(&doc).expect("a document serializes");
        write_atomic(
            &self.dir.join("results.json"),
            format!("{json}\n").as_bytes(),
        )?;
        write_atomic(&self.dir.join("results.csv"), csv(&doc).as_bytes())?;
        Ok(Some(doc))
    }
}

/// The points as CSV: axis values, replications, collapses, P and interval.
pub fn csv(doc: &ExploreDocument) -> String {
    use sim_results::csv_number as n;
    let mut out = String::new();
    let mut head: Vec<String> = doc.axes.iter().map(|a| a.path.clone()).collect();
    head.extend(
        [
            "replications",
            "collapses",
            "p_collapse",
            "wilson_low",
            "wilson_high",
            "time_to_recover_s",
        ]
        .map(String::from),
    );
    out.push_str(&head.join(","));
    out.push('\n');
    for p in &doc.points {
        let mut row: Vec<String> = p.at.iter().map(|&x| n(x)).collect();
        row.push(p.replications.to_string());
        row.push(p.collapses.to_string());
        row.push(n(p.p_collapse));
        row.push(n(p.wilson[0]));
        row.push(n(p.wilson[1]));
        row.push(p.time_to_recover_s.map(n).unwrap_or_default());
        out.push_str(&row.join(","));
        out.push('\n');
    }
    out
}

/// What an exploration reports as it goes.
pub trait ExploreProgress: Sync {
    /// A point now has `n` replications, `k` collapsed.
    fn point(&self, at: &[f64], k: u64, n: u64) {
        let _ = (at, k, n);
    }
    /// The current estimate of the boundary of a row.
    fn boundary(&self, row: Option<f64>, estimate: f64) {
        let _ = (row, estimate);
    }
    /// Done.
    fn finish(&self) {}
}

/// No progress reporting.
pub struct Silent;

impl ExploreProgress for Silent {}

#[cfg(test)]
mod tests {
    use super::*;

    /// Wilson's interval by hand: 5 of 10 at 95% is 0.5 -/+ 0.2633 (with
    /// z = 1.96: centre 0.5, half-width 1.96 * sqrt(0.025 + 0.0096) / 1.384).
    #[test]
    fn wilson_matches_the_formula() {
        let [lo, hi] = wilson(5, 10);
        assert!(
            (lo - 0.2366).abs() < 1e-3 && (hi - 0.7634).abs() < 1e-3,
            "{lo} {hi}"
        );
        let [lo, hi] = wilson(0, 20);
        assert_eq!(lo, 0.0);
        assert!((hi - 0.1611).abs() < 1e-3, "{hi}");
        let [lo, hi] = wilson(20, 20);
        assert!((lo - 0.8389).abs() < 1e-3 && hi == 1.0);
    }

    #[test]
    fn criteria_parse_or_say_why() {
        assert_eq!(Criterion::parse("unhealthy").unwrap(), Criterion::Unhealthy);
        assert_eq!(
            Criterion::parse("clients.a.final_success_rate <= 0.5").unwrap(),
            Criterion::Compare {
                metric: "clients.a.final_success_rate".into(),
                op: Op::Le,
                threshold: 0.5
            }
        );
        for bad in [
            "clients.a.ok",
            "< 3",
            "clients.a.ok < x",
            "clients.a.ok < inf",
        ] {
            assert!(Criterion::parse(bad).is_err(), "{bad}");
        }
        let c = Criterion::parse("clients.a.ok < 3").unwrap();
        let leaves = vec![("clients.a.ok".to_string(), Some(2.0))];
        assert_eq!(c.collapsed(&leaves), Ok(true));
        let c = Criterion::parse("clients.b.ok < 3").unwrap();
        assert!(c.collapsed(&leaves).unwrap_err().contains("clients.b.ok"));
    }
}
