#![warn(missing_docs)]
//! `sim-models`: the components that run on `sim-core`.
//!
//! - [`station`]: the queueing core (c servers, FIFO/LIFO, capacity K) and a
//!   standalone station model validated against queueing theory.
//! - [`policy`]: resilience policies as small state machines (backoff, retry
//!   budgets, breaker, rate limiter, adaptive throttle, adaptive
//!   concurrency limits).
//! - [`admission`]: admission control at a service (Envoy's adaptive
//!   concurrency, DAGOR's priority admission).
//! - [`scenario`]: the RON scenario format, its validation, overrides.
//! - [`world`]: clients, services, call pipelines and faults as one model.
//! - [`metrics`]: what a run reports.
//! - [`results`]: replications aggregated into the result document.
//!
//! As a library: parse and check a scenario, optionally add layers of your
//! own to a caller ([`policy::Policy::custom`]; `examples/aimd-limiter` is a
//! whole one), and run a replication. Many replications in parallel,
//! sweeps and baselines are `sim-experiments`.
//!
//! ```
//! use sim_models::{results, scenario, world};
//!
//! let text = r#"(
//!     name: "mm1", seed: 1, duration: "60s",
//!     services: [(name: "s", workers: 1, service_time: Exponential(mean: "5ms"))],
//!     clients: [(name: "c", workload: Poisson(rate_per_s: 100), target: "s",
//!                timeout: "50ms", retry: (max_attempts: 2))],
//! )"#;
//! let path = std::path::Path::new("mm1.ron");
//! let s = scenario::check(&scenario::parse(text, path)?, path)?;
//! let out = world::run_replication(&s, &sim_core::Seeds::new(s.seed), &Default::default())?;
//! let doc = results::aggregate(&s, s.seed, &[out]);
//! assert!(doc["clients"]["c"]["success_rate"].as_f64().unwrap() > 0.9);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod admission;
pub mod autoscale;
pub mod balancer;
pub mod metrics;
pub mod policy;
pub mod results;
pub mod scenario;
pub mod station;
pub mod world;
