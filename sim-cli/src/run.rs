//! `sim run`: one scenario, all its replications, one summary.

use std::path::PathBuf;

use serde_json::Value;
use sim_experiments::{runner, scenarios, sweep};
use sim_models::results::metric_leaves;
use sim_models::world::{RunOptions, TraceSink};
use sim_results::metrics::{self, Group, Unit};

use crate::error::{CliError, Result};
use crate::table::{Fmt, Table, cell, fmt_count};

const RUN_HELP: &str = "\
Examples:
  sim run                                    the embedded S1 comparison, as tables
  sim run s3-breaker                         a shipped experiment (`sim list`)
  sim run my.ron --replications 20 --seed 42 means with 95% intervals
  sim run s1-rpc --set 'clients[0].retry.max_attempts=5' --set 'clients[0].timeout=\"50ms\"'
  sim run s1 --json > run.json               every metric, interval and series
  sim run s1 --report out/s1                 charts: out/s1/index.html
  sim run s1 --trace s1.trace.jsonl          every event of replication 0
  sim run - < my.ron                         a scenario from standard input";

#[derive(clap::Args, Debug)]
#[command(after_help = RUN_HELP)]
pub struct RunArgs {
    /// Scenario file, or the name of a shipped experiment (`sim list`).
    /// Without it, the embedded default: the S1 comparison.
    pub scenario: Option<PathBuf>,
    /// Print one JSON object (metrics, intervals, series) instead of tables.
    #[arg(long, conflicts_with = "csv")]
    pub json: bool,
    /// Print the metrics as CSV rows: group,name,metric,value,ci_low,ci_high.
    #[arg(long)]
    pub csv: bool,
    /// Master seed (overrides the scenario's).
    #[arg(long, allow_negative_numbers = true)]
    pub seed: Option<u64>,
    /// Number of replications (overrides the scenario's).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=i64::from(sim_models::scenario::MAX_REPLICATIONS)), allow_negative_numbers = true)]
    pub replications: Option<u32>,
    /// Override a scenario field, e.g. `--set clients[0].retry.max_attempts=5`
    /// or `--set 'services[0].service_time=Exponential(mean: "10ms")'`.
    /// Repeatable; applied in order.
    #[arg(long = "set", value_name = "PATH=VALUE")]
    pub set: Vec<String>,
    /// Write a JSON-lines trace of every event of replication 0, as events
    /// fire (about 190 bytes per event; --max-events defaults to 2,000,000
    /// with it). A run stopped early keeps the trace up to that point.
    #[arg(long, value_name = "FILE")]
    pub trace: Option<PathBuf>,
    /// Render the single-run SVG charts (time series) into this directory.
    #[arg(long, value_name = "DIR")]
    pub report: Option<PathBuf>,
    #[command(flatten)]
    pub budget: crate::budget::Budget,
    /// Worker threads for replications (default: all cores). Results do not
    /// depend on it.
    #[arg(long, allow_negative_numbers = true)]
    pub threads: Option<usize>,
}

pub fn run(args: RunArgs) -> Result<()> {
    let source = scenarios::resolve(args.scenario.as_deref())?;
    if sweep::is_sweep_file(&source.path) {
        return Err(CliError::input(format!(
            "{}: is a sweep file; run it with `sim sweep {} --out DIR`",
            source.path.display(),
            source.path.display()
        )));
    }
    if let Some(trace) = &args.trace {
        sim_experiments::io::refuse_overwriting_input(trace, "--trace", &[&source.path])?;
    }
    if let Some(dir) = &args.report {
        crate::report::check_out_dir(dir, "--report")?;
    }
    let (_, mut scenario) = scenarios::load(&source, &args.set)?;
    if let Some(r) = args.replications {
        scenario.replications = r;
    }
    let seed = args.seed.unwrap_or(scenario.seed);
    // The trace is written as events fire, and kept when the run stops
    // early (an event limit): what led there is what it is for.
    let trace = args
        .trace
        .as_deref()
        .map(sim_experiments::io::SharedFile::create)
        .transpose()?;
    let options = RunOptions {
        trace: trace.clone().map(TraceSink::new),
        max_events: args
            .budget
            .max_events
            .or(args.trace.as_ref().map(|_| 2_000_000)),
    };
    let wall = std::time::Instant::now();
    let result =
        sim_experiments::with_threads(args.threads, || runner::run(&scenario, seed, &options));
    let elapsed = wall.elapsed();
    drop(options);
    if let Some(trace) = trace {
        trace.commit()?;
    }
    let (doc, outputs) = result??;
    if let Some(dir) = &args.report {
        crate::report::render_run(&doc, dir)?;
    }
    if args.json {
        print!(
            "{}",
            String::from_utf8_lossy(&sim_experiments::io::json_bytes(&doc))
        );
    } else if args.csv {
        print!("{}", csv_rows(&doc));
    } else {
        let events: u64 = outputs.iter().map(|o| o.events).sum();
        let mut text = summary(&doc, events, elapsed);
        if !args.set.is_empty() {
            // Right under the header line: what was changed from the file.
            let at = text.find('\n').map_or(text.len(), |i| i + 1);
            let sets: Vec<String> = args.set.iter().map(|s| format!("--set {s}")).collect();
            text.insert_str(at, &format!("overrides: {}\n", sets.join(" ")));
        }
        print!("{text}");
    }
    Ok(())
}

fn names(doc: &Value, group: &str) -> Vec<String> {
    doc.get(group)
        .and_then(Value::as_object)
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

/// How a metric's unit is shown in a table cell.
fn fmt_of(unit: Unit) -> Fmt {
    match unit {
        Unit::Count => Fmt::Count,
        Unit::Ratio => Fmt::Ratio,
        Unit::Fraction => Fmt::Percent,
        Unit::Ms => Fmt::Ms,
        Unit::Seconds => Fmt::Secs,
    }
}

/// Rows that are all zero or all missing are left out of the tables, so a
/// scenario without a bulkhead shows no bulkhead row.
fn group_table(doc: &Value, group: Group) -> Option<Table> {
    let key = group.key();
    let names = names(doc, key);
    if names.is_empty() {
        return None;
    }
    let mut t = Table::new(key, names.clone());
    for m in metrics::of_group(group) {
        let paths: Vec<String> = names
            .iter()
            .map(|n| format!("{key}.{n}.{}", m.field))
            .collect();
        let any_nonzero = paths.iter().any(|p| {
            p.split('.')
                .try_fold(doc, |node, key| node.get(key))
                .and_then(Value::as_f64)
                .is_some_and(|x| x != 0.0)
        });
        if m.always_shown || any_nonzero {
            let fmt = fmt_of(m.unit);
            t.row(
                &m.heading(),
                paths.iter().map(|p| cell(doc, p, fmt)).collect(),
            );
        }
    }
    Some(t)
}

/// Every service's downstream calls, one row per call (`SERVICE ->
/// TARGET`): what each hop did, retries and timeouts included, which the
/// client rows do not show.
fn calls_table(doc: &Value) -> Option<Table> {
    let mut hops = Vec::new();
    let mut calls: Vec<&Value> = Vec::new();
    for service in names(doc, "services") {
        for call in doc["services"][&service]["calls"]
            .as_array()
            .into_iter()
            .flatten()
        {
            hops.push(format!(
                "{service} -> {}",
                call["target"].as_str().unwrap_or("?")
            ));
            calls.push(call);
        }
    }
    if calls.is_empty() {
        return None;
    }
    // Labels and units of the fields a call shares with a client group;
    // a column only where some call has a value other than zero.
    let mut fields: Vec<(&str, String, Fmt)> = vec![("calls", "calls made".into(), Fmt::Count)];
    for field in [
        "attempts",
        "retries",
        "timeouts",
        "cb_open",
        "failed",
        "retry_amplification",
        "retries_per_request",
        "hedging.hedges",
    ] {
        let Some(m) = metrics::lookup(&format!("clients.-.{field}")) else {
            continue;
        };
        let shown = m.always_shown
            || calls.iter().any(|c| {
                c.pointer(&format!("/{}", field.replace('.', "/")))
                    .and_then(Value::as_f64)
                    .is_some_and(|x| x != 0.0)
            });
        if shown {
            fields.push((field, m.heading(), fmt_of(m.unit)));
        }
    }
    let mut t = Table::new(
        "downstream calls",
        fields.iter().map(|f| f.1.clone()).collect(),
    );
    for (hop, c) in hops.iter().zip(&calls) {
        t.row(
            hop,
            fields.iter().map(|&(f, _, fmt)| cell(c, f, fmt)).collect(),
        );
    }
    Some(t)
}

/// Most replicas shown one per column; a service with more gets one line.
const MAX_REPLICA_COLUMNS: usize = 12;

/// Each replica of each service with several: where the traffic went and
/// what its callers' outlier ejection did to it.
fn replica_tables(doc: &Value) -> Vec<Table> {
    let mut out = Vec::new();
    for service in names(doc, "services") {
        let Some(reps) = doc["services"][&service]["replicas"].as_array() else {
            continue;
        };
        if reps.len() > MAX_REPLICA_COLUMNS {
            let arrivals: Vec<f64> = reps.iter().filter_map(|r| r["arrivals"].as_f64()).collect();
            let lo = arrivals.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = arrivals.iter().copied().fold(0.0, f64::max);
            let mut t = Table::new(&format!("replicas of {service}"), vec!["all".into()]);
            t.row("replicas", vec![fmt_count(reps.len() as f64)]);
            t.row(
                "arrivals per replica",
                vec![format!("{} to {}", fmt_count(lo), fmt_count(hi))],
            );
            out.push(t);
            continue;
        }
        let mut t = Table::new(
            &format!("replicas of {service}"),
            (0..reps.len()).map(|k| format!("#{k}")).collect(),
        );
        for (field, label, fmt) in [
            ("arrivals", "arrivals", Fmt::Count),
            ("errors", "errors", Fmt::Count),
            ("rejected", "rejected", Fmt::Count),
            ("in_flight_mean", "in flight mean", Fmt::Ratio),
            ("queue_mean", "queue mean", Fmt::Ratio),
            ("latency_ms.p99", "latency p99 (ms)", Fmt::Ms),
            ("ejections", "ejections", Fmt::Count),
            ("ejected_s", "ejected (s)", Fmt::Secs),
        ] {
            let always = matches!(field, "arrivals" | "in_flight_mean" | "latency_ms.p99");
            let any = reps.iter().any(|r| {
                r.pointer(&format!("/{}", field.replace('.', "/")))
                    .and_then(Value::as_f64)
                    .is_some_and(|x| x != 0.0)
            });
            if always || any {
                t.row(label, reps.iter().map(|r| cell(r, field, fmt)).collect());
            }
        }
        out.push(t);
    }
    out
}

pub fn summary(doc: &Value, events: u64, elapsed: std::time::Duration) -> String {
    let mut out = String::new();
    let reps = doc["replications"].as_u64().unwrap_or(1);
    let end = doc["engine"]["end_s"].as_f64().unwrap_or(0.0);
    out.push_str(&format!(
        "scenario {} (seed {}, {} replication{}, {:.2} s simulated, {} events in {:.2} s)\n",
        doc["scenario"].as_str().unwrap_or("?"),
        doc["seed"],
        reps,
        if reps == 1 {
            ""
        } else {
            "s; mean ±95% CI half-width"
        },
        end,
        fmt_count(events as f64),
        elapsed.as_secs_f64(),
    ));
    if let Some(d) = doc["description"].as_str().filter(|d| !d.is_empty()) {
        out.push_str(&format!("{d}\n"));
    }
    for t in [
        crate::table::paths_table(doc),
        group_table(doc, Group::Clients),
        group_table(doc, Group::Services),
    ]
    .into_iter()
    .flatten()
    .chain(replica_tables(doc))
    .chain(
        [
            calls_table(doc),
            group_table(doc, Group::Buses),
            group_table(doc, Group::Logs),
            group_table(doc, Group::Locks),
        ]
        .into_iter()
        .flatten(),
    ) {
        out.push('\n');
        out.push_str(&t.render());
    }
    out
}

/// Long-format CSV of every metric.
pub fn csv_rows(doc: &Value) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(["group", "name", "metric", "value", "ci_low", "ci_high"])
        .expect("in-memory CSV");
    for (path, value) in metric_leaves(doc) {
        let mut parts = path.splitn(3, '.');
        let group = parts.next().unwrap_or("");
        let name = parts.next().unwrap_or("");
        let metric = parts.next().unwrap_or("");
        let ci = doc
            .get("ci95")
            .and_then(|c| c.get(&path))
            .and_then(Value::as_array);
        let num = |x: Option<f64>| x.map(|v| v.to_string()).unwrap_or_default();
        w.write_record([
            group.to_string(),
            name.to_string(),
            metric.to_string(),
            num(value),
            num(ci.and_then(|c| c[0].as_f64())),
            num(ci.and_then(|c| c[1].as_f64())),
        ])
        .expect("in-memory CSV");
    }
    String::from_utf8(w.into_inner().expect("in-memory CSV")).expect("UTF-8")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_means_of_counts_share_one_format() {
        assert_eq!(fmt_count(3613.0), "3,613");
        assert_eq!(fmt_count(3591.66), "3,591.7");
        assert_eq!(fmt_count(-1234567.0), "-1,234,567");
        assert_eq!(fmt_count(999.0), "999");
        assert_eq!(fmt_count(0.3), "0.3");
    }

    #[test]
    fn intervals_are_shown_like_their_value_and_not_for_constants() {
        let doc = serde_json::json!({
            "m": {"a": 3591.66, "b": 6.0, "p": 0.653},
            "ci95": {"m.a": [3436.0, 3747.3], "m.b": [6.0, 6.0], "p": [0.0, 0.0], "m.p": [0.644, 0.662]}
        });
        assert_eq!(cell(&doc, "m.a", Fmt::Count), "3,591.7 ±155.7");
        assert_eq!(cell(&doc, "m.b", Fmt::Count), "6");
        assert_eq!(cell(&doc, "m.p", Fmt::Percent), "65.3% ±0.9%");
    }
}
