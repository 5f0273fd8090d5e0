//! Helpers shared by the cross-crate tests in `tests/tests/`.

use sim_core::stats::{Estimate, confidence_interval};
use sim_core::{Dist, DistSpec, Seeds, SimDuration};
use sim_models::station::{Discipline, StationConfig, StationReport, run_station};

/// Family-wise error rate of all analytic checks together. Each check uses a
/// Bonferroni-corrected level, so that a correct engine fails any of them with
/// probability below 1% for an arbitrary seed, rather than one in twenty
/// checks failing by chance at 95%.
pub const FAMILY_ALPHA: f64 = 0.01;
/// Number of analytic checks in `tests/tests/analytic.rs`.
pub const ANALYTIC_CHECKS: usize = 16;

/// The per-check confidence level after the Bonferroni correction.
pub fn check_level() -> f64 {
    1.0 - FAMILY_ALPHA / ANALYTIC_CHECKS as f64
}

pub fn exp_ms(mean_ms: f64) -> Dist {
    DistSpec::Exponential {
        mean: SimDuration::from_secs_f64(mean_ms / 1e3),
    }
    .validate()
    .expect("positive mean")
}

pub fn const_ms(ms: f64) -> Dist {
    Dist::constant(SimDuration::from_secs_f64(ms / 1e3))
}

/// An M/M/c/K station in milliseconds: arrival rate `lambda` and service
/// rate `mu` per millisecond.
pub fn mmck(lambda: f64, mu: f64, servers: usize, capacity: Option<usize>) -> StationConfig {
    StationConfig {
        interarrival: exp_ms(1.0 / lambda),
        service: exp_ms(1.0 / mu),
        servers: Some(servers),
        capacity,
        discipline: Discipline::Fifo,
        warmup: SimDuration::from_secs(10),
        measure: SimDuration::from_secs(200),
    }
}

/// Runs `reps` independent replications (master seeds `seed`, `seed + 1`, ...).
pub fn replicate(config: &StationConfig, reps: u64, seed: u64) -> Vec<StationReport> {
    (0..reps)
        .map(|k| run_station(config, &Seeds::new(seed).replication(k)).expect("station run"))
        .collect()
}

/// The across-replication estimate of one metric.
pub fn estimate(reports: &[StationReport], metric: impl Fn(&StationReport) -> f64) -> Estimate {
    let samples: Vec<f64> = reports.iter().map(metric).collect();
    confidence_interval(&samples, check_level())
}

/// Asserts that the analytic value lies inside the simulation's confidence
/// interval, and that the interval is narrow enough (relative half-width
/// below `max_rel_half_width`) for the check to detect a wrong model.
pub fn assert_agrees(what: &str, analytic: f64, est: &Estimate, max_rel_half_width: f64) {
    let hw = est.half_width.expect("at least two replications");
    let lo = est.mean - hw;
    let hi = est.mean + hw;
    assert!(
        hw <= max_rel_half_width * analytic.abs(),
        "{what}: interval too wide to be a test: ±{hw:.5} around {:.5} (analytic {analytic:.5})",
        est.mean
    );
    assert!(
        est.contains(analytic),
        "{what}: analytic {analytic:.6} outside the {:.4}% interval [{lo:.6}, {hi:.6}] (n = {})",
        check_level() * 100.0,
        est.n
    );
}

/// Parses, validates and runs a scenario given as RON text; returns the
/// result document (`sim run --json`).
pub fn run_ron(text: &str) -> serde_json::Value {
    let scenario = scenario_from(text);
    let opts = sim_models::world::RunOptions::default();
    sim_experiments::runner::run(&scenario, scenario.seed, &opts)
        .expect("run")
        .0
}

/// Parses and validates a scenario given as RON text.
pub fn scenario_from(text: &str) -> sim_models::scenario::Scenario {
    let path = std::path::Path::new("inline.ron");
    let file = sim_models::scenario::parse(text, path).unwrap_or_else(|e| panic!("{e}"));
    sim_models::scenario::check(&file, path).unwrap_or_else(|e| panic!("{e}"))
}

/// The error a scenario given as RON text is rejected with.
pub fn rejection(text: &str) -> String {
    let path = std::path::Path::new("bad.ron");
    match sim_models::scenario::parse(text, path) {
        Err(e) => e.to_string(),
        Ok(file) => match sim_models::scenario::check(&file, path) {
            Err(e) => e.to_string(),
            Ok(_) => panic!("scenario was accepted:\n{text}"),
        },
    }
}

/// A number at a dotted path of a result document (`clients.c.ok`).
pub fn num(doc: &serde_json::Value, path: &str) -> f64 {
    path.split('.')
        .try_fold(doc, |node, key| node.get(key))
        .and_then(serde_json::Value::as_f64)
        .unwrap_or_else(|| panic!("no number at {path}"))
}

/// The 95% interval of a metric in a multi-replication result document.
pub fn interval(doc: &serde_json::Value, path: &str) -> (f64, f64) {
    let iv = &doc["ci95"][path];
    (
        iv[0]
            .as_f64()
            .unwrap_or_else(|| panic!("no interval for {path}")),
        iv[1]
            .as_f64()
            .unwrap_or_else(|| panic!("no interval for {path}")),
    )
}

/// Runs `reps` replications of a RON scenario and estimates one metric
/// (dotted path into a replication's metrics) at confidence `level`.
pub fn estimate_metric(text: &str, reps: u64, path: &str, level: f64) -> Estimate {
    let mut scenario = scenario_from(text);
    scenario.replications = u32::try_from(reps).expect("a few replications");
    let opts = sim_models::world::RunOptions::default();
    // The runner every command uses: replication k with seed + k.
    let samples = sim_experiments::runner::replicate(&scenario, scenario.seed, &opts, |out| {
        num(&sim_models::results::metrics_value(&out), path)
    })
    .expect("run");
    confidence_interval(&samples, level)
}
