//! The result document of `sim explore` (`DIR/results.json`): every point
//! evaluated, with its collapse count and Wilson interval, and the
//! boundary found along the first axis (one per row of the second axis).

use serde::{Deserialize, Serialize};

/// One axis of an exploration.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Axis {
    /// The scenario field it sets (`clients[0].workload.rate_per_s`).
    pub path: String,
    /// Lowest value.
    pub low: f64,
    /// Highest value.
    pub high: f64,
    /// Whether the field takes whole numbers only (points are rounded).
    pub integer: bool,
    /// Whether the field is a duration (the axis is in seconds).
    #[serde(default)]
    pub seconds: bool,
}

/// One point evaluated: its replications and how many collapsed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Point {
    /// The value of each axis, in axis order.
    pub at: Vec<f64>,
    /// Replications run (replication k with seed + k).
    pub replications: u64,
    /// Replications that collapsed.
    pub collapses: u64,
    /// collapses / replications.
    pub p_collapse: f64,
    /// Wilson score interval of P(collapse) at the document's confidence.
    pub wilson: [f64; 2],
    /// Mean time to recover (the slowest client group's) over the
    /// replications that did not collapse; null when none recovered or
    /// there is no disturbance.
    pub time_to_recover_s: Option<f64>,
}

/// Where P(collapse) crosses the level along the first axis.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Boundary {
    /// The second axis's value for this row (absent with one axis).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub row: Option<f64>,
    /// What the search found: `"found"` (bracketed to the tolerance),
    /// `"at_level"` (a point whose interval could not leave the level
    /// within the replication limit: the boundary is there), `"below"` or
    /// `"above"` (P(collapse) on the same side of the level at both ends:
    /// no crossing in the range).
    pub status: String,
    /// The boundary's estimate (midpoint of the bracket), if any.
    pub estimate: Option<f64>,
    /// The bracket `[low, high]` it lies in, if any.
    pub bracket: Option<[f64; 2]>,
    /// Whether P(collapse) grows with the axis (false: it falls).
    pub increasing: Option<bool>,
}

/// `sim explore`'s `results.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExploreDocument {
    /// Always `"explore"`.
    pub kind: String,
    /// The scenario's name.
    pub scenario: String,
    /// The master seed.
    pub seed: u64,
    /// The axes: the first is searched, the second gives the rows.
    pub axes: Vec<Axis>,
    /// What counts as a collapse, as written.
    pub criterion: String,
    /// The level of P(collapse) the boundary is where it crosses.
    pub level: f64,
    /// Bracket width at which a search stops.
    pub tolerance: f64,
    /// Confidence of the Wilson intervals.
    pub confidence: f64,
    /// Fields set before exploring (`--set PATH=VALUE`), in order.
    #[serde(default)]
    pub overrides: Vec<String>,
    /// Replications added per look at a point.
    pub batch: u64,
    /// Most replications at one point.
    pub max_replications: u64,
    /// Rows along the second axis (absent with one axis).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows: Option<usize>,
    /// The boundary per row, in row order.
    pub boundaries: Vec<Boundary>,
    /// Every point evaluated, sorted by its values.
    pub points: Vec<Point>,
}
