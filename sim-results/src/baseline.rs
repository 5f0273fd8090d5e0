//! The document `sim baseline` writes and `sim check` reads: a scenario's
//! metrics, each with the value it had and how far a later run may stray
//! from it.

use serde::{Deserialize, Serialize};

use crate::run::Named;

/// How a tolerance's value is read.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ToleranceKind {
    /// An absolute allowance derived from the baseline's confidence
    /// interval (what `sim baseline` writes by default).
    Ci,
    /// A fraction of the baseline's value.
    Relative,
    /// An absolute allowance set by hand.
    Absolute,
}

/// How far a metric may move from its baseline value.
#[derive(Copy, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tolerance {
    /// How `value` is read.
    pub kind: ToleranceKind,
    /// The allowance (`ci`, `absolute`) or the fraction (`relative`).
    pub value: f64,
}

impl Tolerance {
    /// The largest |now - baseline| allowed.
    pub fn allowed(&self, baseline: f64) -> f64 {
        match self.kind {
            ToleranceKind::Ci | ToleranceKind::Absolute => self.value,
            ToleranceKind::Relative => self.value * baseline.abs(),
        }
    }
}

/// One metric of a baseline.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// The mean over the baseline's replications (null: the metric had no
    /// value, e.g. a latency without observations).
    pub value: Option<f64>,
    /// Half-width of the 99% interval of the mean (null with fewer than
    /// two values).
    pub ci_half_width: Option<f64>,
    /// How far a later run may stray.
    pub tolerance: Tolerance,
}

/// A baseline file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Baseline {
    /// Always `"baseline"`.
    pub kind: String,
    /// The scenario's name.
    pub scenario: String,
    /// The master seed it was run with.
    pub seed: u64,
    /// Replications it averaged.
    pub replications: u32,
    /// The `--set` overrides it was run with.
    pub overrides: Vec<String>,
    /// Its metrics by dotted path, in the order of the result document.
    pub metrics: Named<Entry>,
}
