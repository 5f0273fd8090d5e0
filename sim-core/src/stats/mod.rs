//! Streaming statistics: memory does not grow with the number of observations.
//!
//! - [`LatencyHistogram`]: p50/p90/p95/p99/p99.9 within 0.1% relative error
//!   (hdrhistogram, 3 significant digits), exact mean, min and max.
//! - [`TimeWeighted`]: time-weighted mean and max of a gauge (queue length,
//!   in flight), exact in integer arithmetic.
//! - [`CountSeries`], [`GaugeSeries`]: fixed-width buckets over simulated
//!   time; past a bucket limit, neighbours merge and the width doubles.
//! - [`Estimate`] / [`confidence_interval`]: Student-t intervals across
//!   replications; [`BatchMeans`]: intervals within one long run.

mod ci;
mod gauge;
mod histogram;
mod series;

pub use ci::{BatchMeans, Estimate, confidence_interval, t_quantile};
pub use gauge::TimeWeighted;
pub use histogram::{LatencyHistogram, LatencySummary, SIGNIFICANT_DIGITS};
pub use series::{CountSeries, GaugeSeries};
