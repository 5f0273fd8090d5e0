//! `sim-results`: what the result documents of `sim run`, `sim sweep` and
//! `sim baseline` hold, for every crate that reads them (sim-models writes
//! them; sim-experiments, sim-report and sim-cli read them).
//!
//! - [`flatten`]: a document's numbers as dotted paths, the one walk every
//!   reader uses (aggregation, sweeps, baselines, report tables).
//! - [`metrics`]: one table of metric metadata: label, unit, and which way
//!   is better.
//! - [`run`]: the result document of a run as types (Serialize and
//!   Deserialize), which `sim-models` fills and readers parse.
//!
//! ```
//! use sim_results::{flatten, metrics};
//! let doc = serde_json::json!({"clients": {"rpc": {"latency_ms": {"p99": 12.5}}}});
//! assert_eq!(flatten(&doc), vec![("clients.rpc.latency_ms.p99".to_string(), Some(12.5))]);
//! let m = metrics::lookup("clients.rpc.latency_ms.p99").unwrap();
//! assert_eq!((m.heading(), m.better), ("latency p99 (ms)".to_string(), metrics::Better::Lower));
//! ```

#![warn(missing_docs)]

pub mod metrics;
pub mod run;

use serde_json::Value;

/// Numeric leaves of `v` in document order, as (dotted path, value):
/// objects by key (`a.b`), arrays by index (`a[0]`), booleans as 0/1,
/// nulls as `None`; strings are skipped.
pub fn flatten(v: &Value) -> Vec<(String, Option<f64>)> {
    fn walk(v: &Value, path: &str, out: &mut Vec<(String, Option<f64>)>) {
        match v {
            Value::Object(map) => {
                for (k, child) in map {
                    let p = if path.is_empty() {
                        k.clone()
                    } else {
                        format!("{path}.{k}")
                    };
                    walk(child, &p, out);
                }
            }
            Value::Array(items) => {
                for (i, child) in items.iter().enumerate() {
                    walk(child, &format!("{path}[{i}]"), out);
                }
            }
            Value::Number(n) => out.push((path.to_string(), n.as_f64())),
            Value::Null => out.push((path.to_string(), None)),
            Value::Bool(b) => out.push((path.to_string(), Some(f64::from(u8::from(*b))))),
            Value::String(_) => {}
        }
    }
    let mut out = Vec::new();
    walk(v, "", &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn flatten_walks_objects_and_arrays_in_order() {
        let v = json!({"a": {"b": 1, "c": [ {"d": 2.5} ], "s": "x", "n": null}, "t": true});
        assert_eq!(
            flatten(&v),
            vec![
                ("a.b".to_string(), Some(1.0)),
                ("a.c[0].d".to_string(), Some(2.5)),
                ("a.n".to_string(), None),
                ("t".to_string(), Some(1.0)),
            ]
        );
    }
}
