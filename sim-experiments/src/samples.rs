//! Per-metric samples across replications: what sweeps and baselines
//! summarise. Only the numeric metric leaves are kept (a few hundred
//! numbers per replication); series and traces are dropped as soon as a
//! replication finishes, so memory does not grow with the run's length.

use std::collections::HashMap;

use sim_core::stats::{Estimate, confidence_interval};
use sim_models::results::{metric_leaves, metrics_value};
use sim_models::scenario::Scenario;
use sim_models::world::{RunOptions, RunOutput};

use crate::error::Result;

/// The metric leaves of one replication, in document order.
pub fn leaves(out: &RunOutput) -> Vec<(String, Option<f64>)> {
    metric_leaves(&metrics_value(out))
}

/// Samples of every metric leaf, in order of first appearance (replication
/// order, then document order), so output order never depends on hashing.
#[derive(Debug, Default)]
pub struct Samples {
    paths: Vec<String>,
    values: Vec<Vec<f64>>,
    index: HashMap<String, usize>,
}

impl Samples {
    /// Collects the leaves of replications given in replication order.
    pub fn from_replications(reps: Vec<Vec<(String, Option<f64>)>>) -> Self {
        let mut s = Samples::default();
        for rep in reps {
            for (path, x) in rep {
                let i = match s.index.get(&path) {
                    Some(&i) => i,
                    None => {
                        let i = s.paths.len();
                        s.index.insert(path.clone(), i);
                        s.paths.push(path);
                        s.values.push(Vec::new());
                        i
                    }
                };
                if let Some(x) = x {
                    s.values[i].push(x);
                }
            }
        }
        s
    }

    /// Metric paths in order of first appearance.
    pub fn paths(&self) -> &[String] {
        &self.paths
    }

    /// Whether `path` is a metric leaf of any replication (even a null one).
    pub fn has(&self, path: &str) -> bool {
        self.index.contains_key(path)
    }

    /// Mean and interval at `level` of the non-null samples of `path`;
    /// `None` when no replication had a value.
    pub fn estimate(&self, path: &str, level: f64) -> Option<Estimate> {
        let xs = &self.values[*self.index.get(path)?];
        (!xs.is_empty()).then(|| confidence_interval(xs, level))
    }
}

/// Runs the replications of `scenario` (replication k with master seed
/// `seed + k`, exactly as `sim run` does), in parallel, and keeps only
/// their metric leaves, in replication order. `max_events` bounds each
/// replication as `sim run --max-events` does.
pub fn run_replications(
    scenario: &Scenario,
    seed: u64,
    max_events: Option<u64>,
) -> Result<Samples> {
    let options = RunOptions {
        max_events,
        ..RunOptions::default()
    };
    let reps = crate::runner::replicate(scenario, seed, &options, |o| leaves(&o))?;
    Ok(Samples::from_replications(reps))
}

/// A finite number as JSON, or null.
pub fn num(x: Option<f64>) -> serde_json::Value {
    x.and_then(serde_json::Number::from_f64)
        .map_or(serde_json::Value::Null, serde_json::Value::Number)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rep(items: &[(&str, Option<f64>)]) -> Vec<(String, Option<f64>)> {
        items.iter().map(|(p, x)| (p.to_string(), *x)).collect()
    }

    #[test]
    fn order_is_first_appearance_and_nulls_are_skipped() {
        let s = Samples::from_replications(vec![
            rep(&[("b", Some(1.0)), ("a", None)]),
            rep(&[("b", Some(3.0)), ("a", Some(5.0)), ("c", Some(2.0))]),
        ]);
        assert_eq!(s.paths(), ["b", "a", "c"]);
        let b = s.estimate("b", 0.95).unwrap();
        assert_eq!((b.mean, b.n), (2.0, 2));
        assert!(b.half_width.is_some());
        let a = s.estimate("a", 0.95).unwrap();
        assert_eq!((a.mean, a.n, a.half_width), (5.0, 1, None));
        assert!(s.has("a") && !s.has("zz"));
        assert!(s.estimate("zz", 0.95).is_none());
    }

    #[test]
    fn all_null_metric_has_no_estimate_but_exists() {
        let s = Samples::from_replications(vec![rep(&[("x", None)]), rep(&[("x", None)])]);
        assert!(s.has("x"));
        assert!(s.estimate("x", 0.95).is_none());
    }
}
