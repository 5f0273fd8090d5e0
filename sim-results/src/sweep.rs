//! The result document of a sweep (its `results.json`) as Rust types: the
//! sweep's header, then one row per grid cell with the cell's parameter
//! values, their labels, and each kept metric's mean and 95% interval over
//! the cell's replications.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::run::{Named, Num};

/// A metric of one cell: the mean over its replications and the 95%
/// confidence interval of that mean (Student t); nulls where the metric had
/// no value (a latency without observations) or, for the interval, fewer
/// than two values.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Estimate {
    /// Mean over the replications that had a value.
    pub mean: Option<Num>,
    /// Lower end of the 95% interval.
    pub ci_low: Option<Num>,
    /// Upper end of the 95% interval.
    pub ci_high: Option<Num>,
    /// Replications that had a value.
    pub n: u64,
}

/// Hints for the report renderer, from the sweep file's `report`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportHints {
    /// The parameter on the x axis (default: the first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x: Option<String>,
    /// The parameter drawn as one line per value (default: the second).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub series: Option<String>,
    /// The metrics to chart (default: a choice of the headline ones).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics: Option<Vec<String>>,
}

/// One grid cell: its parameters and its metrics (also the contents of
/// the cell's own file in a sweep's output directory).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepRow {
    /// The cell's index in the grid (last parameter fastest).
    pub cell: u64,
    /// Each parameter's value as set at its path (serde's JSON form), by
    /// parameter path.
    pub params: Named<Value>,
    /// Each parameter's label (its RON text, or the sweep file's label).
    pub labels: Named<String>,
    /// Each kept metric, by its dotted path in the run document.
    pub metrics: Named<Estimate>,
}

/// The whole `results.json` of a sweep.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepDocument {
    /// Always `"sweep"`.
    pub kind: String,
    /// The sweep's name.
    pub sweep: String,
    /// What it is about.
    pub description: String,
    /// The base scenario's name.
    pub scenario: String,
    /// The master seed (every cell uses the same seeds).
    pub seed: u64,
    /// Replications per cell.
    pub replications: u64,
    /// The swept paths, in grid order.
    pub parameters: Vec<String>,
    /// Names in words the sweep file gave parameters (`"retry policy"`),
    /// by path; the others are known by their paths.
    #[serde(default, skip_serializing_if = "Named::is_empty")]
    pub parameter_names: Named<String>,
    /// The report hints of the sweep file, if it had any.
    pub report: Option<ReportHints>,
    /// One row per cell, in cell order.
    pub rows: Vec<SweepRow>,
}
