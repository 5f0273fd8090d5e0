//! `sim-results`: what the result documents of `sim run`, `sim sweep` and
//! `sim baseline` hold, for every crate that reads them (sim-models writes
//! them; sim-experiments, sim-report and sim-cli read them).
//!
//! - [`flatten`]: a document's numbers as dotted paths, the one walk every
//!   reader uses (aggregation, sweeps, baselines, report tables).
//! - [`metrics`]: one table of metric metadata: label, unit, and which way
//!   is better.
//! - [`run`], [`sweep`], [`baseline`]: the documents of a run, a sweep
//!   (`results.json`) and a baseline as types (Serialize and Deserialize);
//!   [`Document`] is one of those or an exploration ([`explore`]), read by
//!   its `kind`.
//! - [`from_value`]: parsing with errors that name the field
//!   (`series.clients.rpc.ok[3]: invalid type...`).
//!
//! ```
//! use sim_results::{flatten, metrics};
//! let doc = serde_json::json!({"clients": {"rpc": {"latency_ms": {"p99": 12.5}}}});
//! assert_eq!(flatten(&doc), vec![("clients.rpc.latency_ms.p99".to_string(), Some(12.5))]);
//! let m = metrics::lookup("clients.rpc.latency_ms.p99").unwrap();
//! assert_eq!((m.heading(), m.better), ("latency p99 (ms)".to_string(), metrics::Better::Lower));
//! ```

#![warn(missing_docs)]

pub mod baseline;
pub mod explore;
pub mod metrics;
pub mod run;
pub mod sweep;

use serde::de::DeserializeOwned;
use serde_json::Value;

/// `x` rounded to twelve significant digits: the binary noise of float
/// arithmetic (`0.1 + 0.2 = 0.30000000000000004`) dropped, and no digit a
/// simulation result could mean lost.
pub fn without_float_noise(x: f64) -> f64 {
    if !x.is_finite() || x == 0.0 {
        return x;
    }
    format!("{x:.11e}").parse().unwrap_or(x)
}

/// The text of a number in a CSV file: [`without_float_noise`], in Rust's
/// shortest round-trip form, whole numbers without a decimal point
/// (`0.3`, `1666.66666667`, `2000`).
pub fn csv_number(x: f64) -> String {
    let x = without_float_noise(x);
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        format!("{x}")
    }
}

/// A result document that can be reported on, told apart by its `kind`.
#[derive(Clone, Debug, PartialEq)]
pub enum Document {
    /// `"run"`: the output of `sim run --json`.
    Run(Box<run::RunDocument>),
    /// `"sweep"`: a sweep's `results.json`.
    Sweep(Box<sweep::SweepDocument>),
    /// `"explore"`: `sim explore`'s `results.json`.
    Explore(Box<explore::ExploreDocument>),
}

impl Document {
    /// Reads a document by its `kind`; the error is one line that names
    /// the field at fault.
    pub fn from_value(v: &Value) -> Result<Document, String> {
        match v.get("kind").and_then(Value::as_str) {
            Some("run") => from_value(v).map(|d| Document::Run(Box::new(d))),
            Some("sweep") => from_value(v).map(|d| Document::Sweep(Box::new(d))),
            Some("explore") => from_value(v).map(|d| Document::Explore(Box::new(d))),
            Some(other) => Err(format!(
                "a document of kind \"{other}\" is not a run, sweep or exploration result; expected \"run\" (sim run --json), \"sweep\" (a sweep's results.json) or \"explore\" (sim explore's results.json)"
            )),
            None if v.is_object() => Err(
                "the document has no \"kind\"; expected the output of `sim run --json` or a sweep's results.json".into(),
            ),
            None => Err(
                "the document is not a JSON object; expected the output of `sim run --json` or a sweep's results.json".into(),
            ),
        }
    }
}

/// Parses `v` as a `T`; an error names the field at fault by its dotted
/// path (`rows[2].metrics: ...`).
pub fn from_value<T: DeserializeOwned>(v: &Value) -> Result<T, String> {
    serde_path_to_error::deserialize(v).map_err(located)
}

/// Parses JSON text as a `T`; an error names the field at fault by its
/// dotted path and says where in the text it is.
pub fn from_str<T: DeserializeOwned>(text: &str) -> Result<T, String> {
    let mut de = serde_json::Deserializer::from_str(text);
    let out: T = serde_path_to_error::deserialize(&mut de).map_err(located)?;
    de.end().map_err(|e| e.to_string())?;
    Ok(out)
}

/// A parse error as `path: what` (just `what` at the top level).
fn located<E: std::fmt::Display>(e: serde_path_to_error::Error<E>) -> String {
    let path = e.path().to_string();
    let inner = e.into_inner();
    if path == "." {
        inner.to_string()
    } else {
        format!("{path}: {inner}")
    }
}

/// Numeric leaves of `v` in document order, as (dotted path, value):
/// objects by key (`a.b`), arrays by index (`a[0]`), booleans as 0/1,
/// nulls as `None`; strings are skipped.
pub fn flatten(v: &Value) -> Vec<(String, Option<f64>)> {
    flatten_under("", v)
}

/// [`flatten`] of `{prefix: v}` (paths start with `prefix`), without
/// building that object. Paths grow in one buffer: a sweep flattens every
/// replication's document, and a string per level of every leaf was most
/// of its allocations.
pub fn flatten_under(prefix: &str, v: &Value) -> Vec<(String, Option<f64>)> {
    fn walk(v: &Value, path: &mut String, out: &mut Vec<(String, Option<f64>)>) {
        let len = path.len();
        match v {
            Value::Object(map) => {
                for (k, child) in map {
                    if len > 0 {
                        path.push('.');
                    }
                    path.push_str(k);
                    walk(child, path, out);
                    path.truncate(len);
                }
            }
            Value::Array(items) => {
                for (i, child) in items.iter().enumerate() {
                    use std::fmt::Write;
                    let _ = write!(path, "[{i}]");
                    walk(child, path, out);
                    path.truncate(len);
                }
            }
            Value::Number(n) => out.push((path.clone(), n.as_f64())),
            Value::Null => out.push((path.clone(), None)),
            Value::Bool(b) => out.push((path.clone(), Some(f64::from(u8::from(*b))))),
            Value::String(_) => {}
        }
    }
    let mut out = Vec::new();
    walk(v, &mut prefix.to_string(), &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn flatten_under_a_prefix_is_flatten_of_the_wrapped_value() {
        for v in [
            json!({"a": {"b": 1, "c": [{"d": 2.5}, 3], "": {"e": null}}, "t": true}),
            json!([1, {"x": [2, [3]]}]),
            json!(4),
            json!(null),
        ] {
            assert_eq!(flatten_under("g", &v), flatten(&json!({"g": v.clone()})));
            assert_eq!(flatten_under("", &v), flatten(&v));
        }
    }

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

#[cfg(test)]
mod number_tests {
    use super::*;

    #[test]
    fn csv_numbers_drop_float_noise_only() {
        assert_eq!(csv_number(0.1 + 0.2), "0.3");
        assert_eq!(csv_number(100.0 / 60.0 * 1000.0), "1666.66666667");
        assert_eq!(csv_number(2000.0), "2000");
        assert_eq!(csv_number(-0.25), "-0.25");
        assert_eq!(csv_number(1.0e-9), "0.000000001");
        assert_eq!(csv_number(123456789.123), "123456789.123");
        assert!(without_float_noise(f64::NAN).is_nan());
    }
}
