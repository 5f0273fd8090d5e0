//! Rare collapses: fixed-effort multilevel splitting (Garvels and Kroese;
//! L'Ecuyer, Demers and Tuffin) over a level of the running state.
//!
//! The event is "the level reaches the last threshold before the run
//! ends". Stage 0 runs `effort` replications from the start (replication k
//! with seed + k) and keeps a copy of each at the instant it first reaches
//! the first threshold; stage j starts `effort` runs from the copies stage
//! j - 1 kept (run k from copy k mod hits, its random streams forked with
//! branch (j, k), so the copies go their own ways), and keeps those that
//! reach threshold j + 1. P = product of hits_j / effort; its relative
//! variance is estimated as sum over stages of (1 - p_j) / (effort p_j),
//! which ignores the correlation of runs started from the same copy (so it
//! is optimistic when few copies feed a stage).
//!
//! Everything is deterministic: runs of a stage go in parallel and are
//! collected by index; a copy continues exactly as the original would
//! until it is forked, and the same branch gives the same bytes.

use serde::Serialize;
use sim_core::{RunLimits, Seeds, SimTime, Simulation};
use sim_models::scenario::Scenario;
use sim_models::world::{Level, RunOptions, World};

use crate::error::{Error, Result};

/// One stage of a splitting run.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Stage {
    /// The threshold this stage's runs try to reach.
    pub threshold: u64,
    /// Runs started.
    pub runs: u64,
    /// Runs that reached it before the end.
    pub hits: u64,
    /// hits / runs.
    pub p: f64,
}

/// A splitting estimate.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SplitEstimate {
    /// What was counted, as written.
    pub level: String,
    /// The stages, in threshold order (stopped early when one had no hit).
    pub stages: Vec<Stage>,
    /// P(the level reaches the last threshold before the end).
    pub p: f64,
    /// Estimated relative standard error of `p` (null when `p` is 0).
    pub relative_error: Option<f64>,
    /// An approximate 95% interval: p * exp(-/+ 1.96 * relative error).
    pub interval: Option<[f64; 2]>,
    /// Runs in all.
    pub runs: u64,
    /// How many times fewer runs than plain Monte Carlo would need for the
    /// same relative error at this p, with the same number of runs:
    /// ((1 - p) / (runs * p)) / relative_error^2.
    pub variance_reduction: Option<f64>,
}

/// Bounds on a splitting run: copies kept per stage cost memory.
pub const MAX_EFFORT: u64 = 100_000;
/// Most thresholds.
pub const MAX_LEVELS: usize = 64;

type Sim = Simulation<World>;

/// Runs `sim` until the level reaches `threshold` or the run ends; the
/// copy at the crossing if it did.
fn advance(
    mut sim: Sim,
    level: Level,
    threshold: u64,
    end: SimTime,
    max_events: Option<u64>,
) -> Result<Option<Sim>> {
    let limits = RunLimits {
        max_events: max_events.map(|m| sim.events_handled() + m),
        ..RunLimits::until(end)
    };
    if sim.model.level(level) >= threshold {
        return Ok(Some(sim));
    }
    let report = sim
        .run_until(&limits, |w| w.level(level) >= threshold)
        .map_err(|e| Error::runtime(e.to_string()))?;
    match report.reason {
        sim_core::StopReason::Condition => Ok(Some(sim)),
        sim_core::StopReason::EventLimit => Err(Error::runtime(format!(
            "a run stopped after {} events (--max-events)",
            report.events_handled
        ))),
        _ => Ok(None),
    }
}

/// The splitting estimate of P(`level` reaches the last of `thresholds`
/// before `scenario`'s end), `effort` runs per stage.
pub fn estimate(
    scenario: &Scenario,
    seed: u64,
    level_text: &str,
    thresholds: &[u64],
    effort: u64,
    max_events: Option<u64>,
) -> Result<SplitEstimate> {
    use rayon::prelude::*;
    let level =
        Level::parse(level_text, scenario).map_err(|e| Error::input(format!("--split {e}")))?;
    let Some(duration) = scenario.duration else {
        return Err(Error::input(
            "--split needs a scenario with a duration (the horizon the level must be reached in)",
        ));
    };
    if thresholds.is_empty()
        || thresholds.len() > MAX_LEVELS
        || thresholds.windows(2).any(|w| w[0] >= w[1])
        || thresholds[0] == 0
    {
        return Err(Error::input(format!(
            "--levels must be 1 to {MAX_LEVELS} increasing numbers above 0, e.g. 10,20,40"
        )));
    }
    if effort == 0 || effort > MAX_EFFORT {
        return Err(Error::input(format!(
            "--effort must be in 1..={MAX_EFFORT}, got {effort}"
        )));
    }
    let end = SimTime::at(duration);
    let seeds = Seeds::new(seed);
    let options = RunOptions::default();
    let mut stages = Vec::new();
    let mut copies: Vec<Sim> = Vec::new();
    for (j, &threshold) in thresholds.iter().enumerate() {
        let reached: Vec<Result<Option<Sim>>> = (0..effort)
            .into_par_iter()
            .map(|k| {
                let sim = if j == 0 {
                    let mut sim =
                        Simulation::new(World::new(scenario, &seeds.replication(k), &options));
                    sim.model.start(&mut sim.sched);
                    sim
                } else {
                    let mut sim = copies[(k as usize) % copies.len()].clone();
                    sim.model.fork(((j as u64) << 40) ^ k);
                    sim
                };
                advance(sim, level, threshold, end, max_events)
            })
            .collect();
        let mut next = Vec::new();
        for r in reached {
            if let Some(sim) = r? {
                next.push(sim);
            }
        }
        let hits = next.len() as u64;
        stages.push(Stage {
            threshold,
            runs: effort,
            hits,
            p: hits as f64 / effort as f64,
        });
        copies = next;
        if copies.is_empty() {
            break;
        }
    }
    let complete = stages.len() == thresholds.len() && stages.iter().all(|s| s.hits > 0);
    let p = if complete {
        stages.iter().map(|s| s.p).product()
    } else {
        0.0
    };
    let runs = stages.iter().map(|s| s.runs).sum();
    let relvar: Option<f64> = complete.then(|| {
        stages
            .iter()
            .map(|s| (1.0 - s.p) / (s.runs as f64 * s.p))
            .sum()
    });
    let relative_error = relvar.map(f64::sqrt);
    let clean = sim_results::without_float_noise;
    Ok(SplitEstimate {
        level: level_text.to_string(),
        interval: relative_error
            .map(|r| [clean(p * (-1.96 * r).exp()), clean(p * (1.96 * r).exp())]),
        variance_reduction: relvar
            .filter(|v| *v > 0.0 && p < 1.0)
            .map(|v| clean(((1.0 - p) / (runs as f64 * p)) / v)),
        relative_error: relative_error.map(clean),
        p: clean(p),
        stages,
        runs,
    })
}

/// Plain Monte Carlo of the same event: the fraction of `n` replications
/// (seed + k) in which the level reaches `threshold` before the end.
pub fn plain(
    scenario: &Scenario,
    seed: u64,
    level_text: &str,
    threshold: u64,
    n: u64,
) -> Result<(u64, u64)> {
    use rayon::prelude::*;
    let level = Level::parse(level_text, scenario).map_err(Error::input)?;
    let end = SimTime::at(
        scenario
            .duration
            .ok_or_else(|| Error::input("needs a duration"))?,
    );
    let seeds = Seeds::new(seed);
    let hits: Vec<Result<bool>> = (0..n)
        .into_par_iter()
        .map(|k| {
            let mut sim = Simulation::new(World::new(
                scenario,
                &seeds.replication(k),
                &RunOptions::default(),
            ));
            sim.model.start(&mut sim.sched);
            advance(sim, level, threshold, end, None).map(|s| s.is_some())
        })
        .collect();
    let mut k = 0;
    for h in hits {
        k += u64::from(h?);
    }
    Ok((k, n))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scenario(text: &str) -> Scenario {
        let path = std::path::Path::new("t.ron");
        sim_models::scenario::check(&sim_models::scenario::parse(text, path).unwrap(), path)
            .unwrap()
    }

    /// An M/M/1 queue at load 0.7 for 20 s: P(queue reaches 12) is small
    /// but plain Monte Carlo can still see it; splitting over 3, 6, 9, 12
    /// must agree within the intervals, with fewer runs.
    const MM1: &str = r#"(
        name: "mm1", seed: 5, duration: "20s",
        services: [(name: "s", workers: 1, service_time: Exponential(mean: "10ms"))],
        clients: [(name: "c", workload: Poisson(rate_per_s: 70), target: "s")],
    )"#;

    #[test]
    fn splitting_agrees_with_plain_monte_carlo() {
        let s = scenario(MM1);
        let split = estimate(&s, 5, "services.s.queue", &[6, 12, 18, 24], 400, None).unwrap();
        let (k, n) = plain(&s, 1000, "services.s.queue", 24, 4000).unwrap();
        let p_mc = k as f64 / n as f64;
        eprintln!("splitting: {split:?}\nplain: {k} of {n}");
        let [lo, hi] = split.interval.unwrap();
        let se_mc = (p_mc * (1.0 - p_mc) / n as f64).sqrt();
        // The two 95% intervals overlap.
        assert!(
            lo <= p_mc + 1.96 * se_mc && p_mc - 1.96 * se_mc <= hi,
            "split {split:?} vs MC {k}/{n}"
        );
        assert!(split.p > 0.0 && split.p < 0.5, "{split:?}");
        assert!(split.variance_reduction.unwrap() > 1.0, "{split:?}");
    }

    /// A copy of a running world continues exactly as the original; forked
    /// copies with the same branch give the same bytes, other branches
    /// differ.
    #[test]
    fn clones_continue_deterministically() {
        let s = scenario(MM1);
        let seeds = Seeds::new(5);
        let mut sim = Simulation::new(World::new(&s, &seeds, &RunOptions::default()));
        sim.model.start(&mut sim.sched);
        let mid = RunLimits::until(SimTime::at(sim_core::SimDuration::from_secs(5)));
        sim.run(&mid).unwrap();
        let end = RunLimits::until(SimTime::at(sim_core::SimDuration::from_secs(20)));
        let finish = |mut sim: Sim| {
            let report = sim.run(&end).unwrap();
            let (m, _) = sim.model.collect_metrics(report.now, report.events_handled);
            serde_json::to_string(&m).unwrap()
        };
        let a = finish(sim.clone());
        let b = finish(sim.clone());
        assert_eq!(a, b, "a copy continues as the original");
        let fork = |branch| {
            let mut c = sim.clone();
            c.model.fork(branch);
            finish(c)
        };
        assert_eq!(fork(7), fork(7));
        assert_ne!(fork(7), fork(8));
        assert_ne!(fork(7), a);
    }
}
