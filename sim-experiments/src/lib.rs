//! `sim-experiments`: the experiment layer over `sim-models`, callable from
//! Rust. The `sim` binary is a thin command line over it.
//!
//! - [`runner`]: the one replication runner (parallel, deterministic in
//!   any thread count) and the result document of a run.
//! - [`scenarios`]: a scenario from a path or a shipped experiment by name
//!   (`experiments/*.ron` are embedded at build time).
//! - [`samples`]: per-metric samples across replications.
//! - [`sweep`]: sweep files, their grids and cells.
//! - [`sweepdir`]: running a sweep into its output directory (resume,
//!   shards) and merging shards, byte-identical to an unsharded run.
//! - [`plan`]: job scripts that run a sweep's shards on Slurm or
//!   Kubernetes and merge them.
//! - [`baseline`]: baselines with tolerances, and the regression check.
//! - [`explore`]: where a scenario stops recovering: P(collapse) with
//!   Wilson intervals, a bisection along one axis, rows along a second.
//! - [`split`]: rare collapses by fixed-effort multilevel splitting over a
//!   level of the running state (copies of running worlds).
//! - [`io`]: atomic writes.
//!
//! ```
//! use sim_experiments::{runner, scenarios};
//! use sim_models::world::RunOptions;
//!
//! // A shipped experiment by name, with an override, as `sim run` would.
//! let source = scenarios::resolve(Some("s3-breaker".as_ref()))?;
//! let (_, scenario) = scenarios::load(&source, &["duration=\"20s\"".to_string()])?;
//! let (doc, _) = runner::run(&scenario, scenario.seed, &RunOptions::default())?;
//! assert_eq!(doc["scenario"], "s3-breaker");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod baseline;
mod error;
pub mod explore;
pub mod io;
pub mod plan;
pub mod runner;
pub mod samples;
pub mod scenarios;
pub mod split;
pub mod sweep;
pub mod sweepdir;

pub use error::{Error, ErrorKind, Result};
pub use runner::with_threads;
