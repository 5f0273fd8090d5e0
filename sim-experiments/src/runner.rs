//! The one replication runner: `sim run`, sweeps, baselines, the checks
//! and the tests all run replications through [`replicate`].

use serde_json::Value;
use sim_core::Seeds;
use sim_models::results::aggregate;
use sim_models::scenario::Scenario;
use sim_models::world::{RunError, RunOptions, RunOutput, run_replication};

use crate::error::{Error, Result};

/// Runs every replication of `scenario` (replication k with master seed
/// `seed + k`) in parallel on rayon's current pool and keeps `keep` of each
/// output, in replication order, so results never depend on the number of
/// threads. Only replication 0 is traced. `keep` lets a caller drop what
/// it does not need (series, traces) as soon as a replication ends.
pub fn replicate<T: Send>(
    scenario: &Scenario,
    seed: u64,
    options: &RunOptions,
    keep: impl Fn(RunOutput) -> T + Sync,
) -> std::result::Result<Vec<T>, RunError> {
    use rayon::prelude::*;
    let seeds = Seeds::new(seed);
    (0..u64::from(scenario.replications))
        .into_par_iter()
        .map(|k| {
            let opts = RunOptions {
                trace: options.trace.clone().filter(|_| k == 0),
                ..options.clone()
            };
            run_replication(scenario, &seeds.replication(k), &opts).map(&keep)
        })
        .collect()
}

/// Every replication of `scenario` and the result document built from
/// them (the JSON of `sim run --json`).
pub fn run(
    scenario: &Scenario,
    seed: u64,
    options: &RunOptions,
) -> std::result::Result<(Value, Vec<RunOutput>), RunError> {
    let outputs = replicate(scenario, seed, options, |o| o)?;
    Ok((aggregate(scenario, seed, &outputs), outputs))
}

/// Most worker threads a command may ask for: far more than any machine
/// has cores, and few enough that starting them cannot fail.
pub const MAX_THREADS: usize = 1024;

/// Runs `f` on a pool of `threads` workers (`None`: rayon's global pool,
/// one per core).
pub fn with_threads<T: Send>(threads: Option<usize>, f: impl FnOnce() -> T + Send) -> Result<T> {
    match threads {
        None => Ok(f()),
        Some(0) => Err(Error::input("--threads must be >= 1")),
        Some(n) if n > MAX_THREADS => Err(Error::input(format!(
            "--threads {n}: at most {MAX_THREADS}"
        ))),
        Some(n) => rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build()
            .map_err(|e| Error::runtime(format!("cannot start {n} threads: {e}")))
            .map(|pool| pool.install(f)),
    }
}
