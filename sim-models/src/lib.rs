//! `sim-models`: the components that run on `sim-core`.
//!
//! - [`station`]: the queueing core (c servers, FIFO/LIFO, capacity K) and a
//!   standalone station model validated against queueing theory.
//! - [`policy`]: resilience policies as small state machines (backoff, retry
//!   budgets, breaker, rate limiter, adaptive throttle).
//! - [`scenario`]: the RON scenario format, its validation, overrides.
//! - [`world`]: clients, services, call pipelines and faults as one model.
//! - [`metrics`]: what a run reports.
//! - [`results`]: replications aggregated into the result document.

pub mod metrics;
pub mod policy;
pub mod results;
pub mod scenario;
pub mod station;
pub mod world;
