//! From replications to one result document (the JSON of `sim run --json`).
//!
//! Shape: `kind` ("run"), `scenario`, `description`, `seed`, `replications`, `duration_s`,
//! then the metric groups (`clients`, `services`, and `buses`, `logs`,
//! `locks` when present), `engine`, `ci95` when there are several
//! replications, `config` (the scenario as run, overrides applied) and
//! `series` (of replication 0).
//!
//! With one replication the metrics are that replication's. With several,
//! every numeric metric is the mean across replications and `ci95` maps its
//! dotted path (`clients.rpc.latency_ms.p99`) to the 95% Student-t interval
//! `[low, high]`. A metric missing in some replications (a latency with no
//! successes) is averaged over those that have it.

use serde_json::{Map, Value};
use sim_core::stats::confidence_interval;

use crate::scenario::Scenario;
use crate::world::RunOutput;

/// Confidence level of the intervals in results and sweeps.
pub const CI_LEVEL: f64 = 0.95;

/// Keys of a result document that hold metrics (as opposed to identity,
/// series or intervals).
pub const METRIC_GROUPS: [&str; 6] = ["clients", "services", "buses", "logs", "locks", "engine"];

pub use sim_results::flatten;

/// The metric leaves of a result document, `engine` excluded (event counts
/// are not a property of the system being studied).
pub fn metric_leaves(doc: &Value) -> Vec<(String, Option<f64>)> {
    let mut out = Vec::new();
    for group in METRIC_GROUPS.iter().filter(|g| **g != "engine") {
        if let Some(v) = doc.get(*group) {
            out.extend(sim_results::flatten_under(group, v));
        }
    }
    out
}

fn set_leaf(v: &mut Value, path: &str, x: Option<f64>) {
    // Paths come from `flatten` of the same shape, so every step exists.
    let mut node = v;
    let mut rest = path;
    while !rest.is_empty() {
        let (key, tail) = match rest.find(['.', '[']) {
            Some(0) => {
                let close = rest.find(']').unwrap_or(rest.len() - 1);
                let idx: usize = rest[1..close].parse().unwrap_or(0);
                node = &mut node[idx];
                rest = rest[close + 1..].trim_start_matches('.');
                continue;
            }
            Some(i) => (&rest[..i], rest[i..].trim_start_matches('.')),
            None => (rest, ""),
        };
        node = &mut node[key];
        rest = tail;
    }
    *node = match x {
        Some(f) => serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number),
        None => Value::Null,
    };
}

/// Serializes one replication's metrics.
pub fn metrics_value(out: &RunOutput) -> Value {
    serde_json::to_value(&out.metrics).expect("metrics serialize")
}

/// Builds the result document from the replications of `scenario`, in
/// replication order.
pub fn aggregate(scenario: &Scenario, seed: u64, outputs: &[RunOutput]) -> Value {
    let reps: Vec<Value> = outputs.iter().map(metrics_value).collect();
    let mut metrics = reps.first().cloned().unwrap_or(Value::Null);
    let mut ci = Map::new();
    if reps.len() > 1 {
        let flat: Vec<Vec<(String, Option<f64>)>> = reps.iter().map(flatten).collect();
        for (i, (path, _)) in flat[0].iter().enumerate() {
            let samples: Vec<f64> = flat
                .iter()
                .filter_map(|f| {
                    f.get(i)
                        .and_then(|(p, x)| (p == path).then_some(*x))
                        .flatten()
                })
                .collect();
            if samples.is_empty() {
                set_leaf(&mut metrics, path, None);
                continue;
            }
            let est = confidence_interval(&samples, CI_LEVEL);
            set_leaf(&mut metrics, path, Some(est.mean));
            if let (Some(lo), Some(hi)) = (est.lower(), est.upper())
                && !path.starts_with("engine")
            {
                ci.insert(path.clone(), serde_json::json!([lo, hi]));
            }
        }
    }
    let mut doc = Map::new();
    doc.insert("kind".into(), Value::String("run".into()));
    doc.insert("scenario".into(), Value::String(scenario.name.clone()));
    doc.insert(
        "description".into(),
        Value::String(scenario.description.clone()),
    );
    doc.insert("seed".into(), seed.into());
    doc.insert("replications".into(), outputs.len().into());
    doc.insert(
        "duration_s".into(),
        scenario
            .duration
            .map_or(Value::Null, |d| serde_json::json!(d.as_secs_f64())),
    );
    if let Value::Object(groups) = metrics {
        for (k, v) in groups {
            doc.insert(k, v);
        }
    }
    if !ci.is_empty() {
        doc.insert("ci95".into(), Value::Object(ci));
    }
    // Every parameter of the scenario as run (after --set overrides), so a
    // result document says what produced it.
    doc.insert(
        "config".into(),
        serde_json::to_value(&scenario.source).expect("scenario serializes"),
    );
    if let Some(first) = outputs.first() {
        doc.insert(
            "series".into(),
            serde_json::to_value(&first.series).expect("series serialize"),
        );
    }
    Value::Object(doc)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn set_leaf_reaches_indexed_paths() {
        let mut v = json!({"a": {"c": [ {"d": 2.5} ]}});
        set_leaf(&mut v, "a.c[0].d", Some(7.0));
        assert_eq!(v, json!({"a": {"c": [ {"d": 7.0} ]}}));
    }
}
