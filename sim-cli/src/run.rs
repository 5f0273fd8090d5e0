//! `sim run`: one scenario, all its replications, one summary.

use std::path::PathBuf;

use serde_json::Value;
use sim_experiments::{runner, scenarios, sweep};
use sim_models::results::metric_leaves;
use sim_models::world::RunOptions;

use crate::error::{CliError, Result};
use crate::table::Table;

#[derive(clap::Args, Debug)]
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
    #[arg(long)]
    pub seed: Option<u64>,
    /// Number of replications (overrides the scenario's).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub replications: Option<u32>,
    /// Override a scenario field, e.g. `--set clients[0].retry.max_attempts=5`
    /// or `--set 'services[0].service_time=Exponential(mean: "10ms")'`.
    /// Repeatable; applied in order.
    #[arg(long = "set", value_name = "PATH=VALUE")]
    pub set: Vec<String>,
    /// Write a JSON-lines trace of every event of replication 0 (small runs).
    #[arg(long, value_name = "FILE")]
    pub trace: Option<PathBuf>,
    /// Render the single-run SVG charts (time series) into this directory.
    #[arg(long, value_name = "DIR")]
    pub report: Option<PathBuf>,
    /// Stop a replication with an error after this many events (default:
    /// unlimited, or 2,000,000 with --trace).
    #[arg(long)]
    pub max_events: Option<u64>,
    /// Worker threads for replications (default: all cores). Results do not
    /// depend on it.
    #[arg(long)]
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
    let (_, mut scenario) = scenarios::load(&source, &args.set)?;
    if let Some(r) = args.replications {
        scenario.replications = r;
    }
    let seed = args.seed.unwrap_or(scenario.seed);
    let options = RunOptions {
        trace: args.trace.is_some(),
        max_events: args.max_events.or(args.trace.as_ref().map(|_| 2_000_000)),
    };
    let wall = std::time::Instant::now();
    let (doc, outputs) =
        sim_experiments::with_threads(args.threads, || runner::run(&scenario, seed, &options))??;
    let elapsed = wall.elapsed();

    if let Some(path) = &args.trace {
        let mut text = outputs[0].trace.join("\n");
        text.push('\n');
        sim_experiments::io::write_atomic(path, text.as_bytes())?;
    }
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
        print!("{}", summary(&doc, events, elapsed));
    }
    Ok(())
}

fn fmt_count(x: f64) -> String {
    if x.fract() != 0.0 {
        return format!("{x:.1}");
    }
    let s = format!("{}", x as i64);
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 && c != '-' {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// How a cell is shown.
#[derive(Copy, Clone)]
enum Fmt {
    Count,
    Ms,
    Ratio,
    Percent,
    Secs,
}

fn cell(doc: &Value, path: &str, fmt: Fmt) -> String {
    let v = path
        .split('.')
        .try_fold(doc, |node, key| node.get(key))
        .and_then(Value::as_f64);
    let Some(x) = v else {
        return "-".into();
    };
    let main = match fmt {
        Fmt::Count => fmt_count(x),
        Fmt::Ms => format!("{x:.1}"),
        Fmt::Ratio => format!("{x:.2}"),
        Fmt::Percent => format!("{:.1}%", x * 100.0),
        Fmt::Secs => format!("{x:.2}"),
    };
    match doc
        .get("ci95")
        .and_then(|c| c.get(path))
        .and_then(Value::as_array)
    {
        Some(iv) if iv.len() == 2 => {
            let half = (iv[1].as_f64().unwrap_or(x) - iv[0].as_f64().unwrap_or(x)) / 2.0;
            let scale = if matches!(fmt, Fmt::Percent) {
                100.0
            } else {
                1.0
            };
            format!("{main} ±{:.2}", half * scale)
        }
        _ => main,
    }
}

fn names(doc: &Value, group: &str) -> Vec<String> {
    doc.get(group)
        .and_then(Value::as_object)
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

const CLIENT_ROWS: &[(&str, &str, Fmt)] = &[
    ("requests", "offered", Fmt::Count),
    ("ok", "ok", Fmt::Count),
    ("degraded (fallback)", "degraded", Fmt::Count),
    ("failed", "failed", Fmt::Count),
    ("unfinished", "unfinished", Fmt::Count),
    ("success rate", "success_rate", Fmt::Percent),
    ("attempts", "attempts", Fmt::Count),
    ("retries", "retries", Fmt::Count),
    ("timeouts", "timeouts", Fmt::Count),
    ("cb_open", "cb_open", Fmt::Count),
    ("bulkhead rejected", "bulkhead_rejected", Fmt::Count),
    ("rate limited", "rate_limited", Fmt::Count),
    ("throttled", "throttled", Fmt::Count),
    ("retries denied by budget", "budget_denied", Fmt::Count),
    ("retry amplification", "retry_amplification", Fmt::Ratio),
    ("latency p50 (ms)", "latency_ms.p50", Fmt::Ms),
    ("latency p95 (ms)", "latency_ms.p95", Fmt::Ms),
    ("latency p99 (ms)", "latency_ms.p99", Fmt::Ms),
    ("latency mean (ms)", "latency_ms.mean", Fmt::Ms),
    ("time to recover (s)", "time_to_recover_s", Fmt::Secs),
    ("last request done (s)", "makespan_s", Fmt::Secs),
];

const SERVICE_ROWS: &[(&str, &str, Fmt)] = &[
    ("arrivals (attempts)", "arrivals", Fmt::Count),
    ("ok", "ok", Fmt::Count),
    ("errors", "errors", Fmt::Count),
    ("rejected (queue full)", "rejected", Fmt::Count),
    ("lost to outages", "lost", Fmt::Count),
    ("cancelled", "cancelled", Fmt::Count),
    ("orphaned (wasted)", "orphaned", Fmt::Count),
    ("load amplification", "amplification", Fmt::Ratio),
    ("in flight mean", "in_flight_mean", Fmt::Ratio),
    ("in flight max", "in_flight_max", Fmt::Count),
    ("queue mean", "queue_mean", Fmt::Ratio),
    ("queue max", "queue_max", Fmt::Count),
    ("latency p99 (ms)", "latency_ms.p99", Fmt::Ms),
];

const BUS_ROWS: &[(&str, &str, Fmt)] = &[
    ("published", "published", Fmt::Count),
    ("acknowledged", "ok", Fmt::Count),
    ("dead-lettered", "dead_lettered", Fmt::Count),
    ("dropped", "dropped", Fmt::Count),
    ("pending at end", "pending", Fmt::Count),
    ("deliveries", "delivered", Fmt::Count),
    ("failed deliveries", "failed_deliveries", Fmt::Count),
    ("redeliveries", "retries", Fmt::Count),
    ("delivery timeouts", "timeouts", Fmt::Count),
    ("consumer crashes", "crashes", Fmt::Count),
    ("duplicates processed", "duplicates", Fmt::Count),
    ("repeats deduplicated", "deduplicated", Fmt::Count),
    ("depth mean", "depth_mean", Fmt::Ratio),
    ("depth max", "depth_max", Fmt::Count),
    ("producer blocked (s)", "producer_blocked_s", Fmt::Secs),
    ("delivery p99 (ms)", "delivery_latency_ms.p99", Fmt::Ms),
    ("end-to-end p50 (ms)", "end_to_end_latency_ms.p50", Fmt::Ms),
    ("end-to-end p99 (ms)", "end_to_end_latency_ms.p99", Fmt::Ms),
];

const LOG_ROWS: &[(&str, &str, Fmt)] = &[
    ("appended", "appended", Fmt::Count),
    ("processed", "processed", Fmt::Count),
    ("duplicates (replayed)", "duplicates", Fmt::Count),
    ("commits", "commits", Fmt::Count),
    ("consumer crashes", "crashes", Fmt::Count),
    ("lag mean", "lag_mean", Fmt::Ratio),
    ("lag max", "lag_max", Fmt::Count),
    ("lag at end", "lag_end", Fmt::Count),
    ("catch-up after last outage (s)", "catch_up_s", Fmt::Secs),
    ("producers blocked (s)", "producer_blocked_s", Fmt::Secs),
    ("end-to-end p50 (ms)", "end_to_end_latency_ms.p50", Fmt::Ms),
    ("end-to-end p99 (ms)", "end_to_end_latency_ms.p99", Fmt::Ms),
];

const LOCK_ROWS: &[(&str, &str, Fmt)] = &[
    ("acquisitions", "acquisitions", Fmt::Count),
    ("completed holding the lease", "completed", Fmt::Count),
    ("lease expirations", "lease_expirations", Fmt::Count),
    ("unsafe writes", "unsafe_writes", Fmt::Count),
    ("writes refused by fencing", "rejected_writes", Fmt::Count),
    ("wait p50 (ms)", "wait_ms.p50", Fmt::Ms),
    ("wait p99 (ms)", "wait_ms.p99", Fmt::Ms),
];

/// Rows that are all zero or all missing are left out of the tables, so a
/// scenario without a bulkhead shows no bulkhead row.
fn group_table(doc: &Value, group: &str, rows: &[(&str, &str, Fmt)]) -> Option<Table> {
    let names = names(doc, group);
    if names.is_empty() {
        return None;
    }
    let mut t = Table::new(group, names.clone());
    for (label, suffix, fmt) in rows {
        let paths: Vec<String> = names
            .iter()
            .map(|n| format!("{group}.{n}.{suffix}"))
            .collect();
        let always = matches!(
            *suffix,
            "offered"
                | "ok"
                | "failed"
                | "arrivals"
                | "latency_ms.p99"
                | "published"
                | "appended"
                | "unsafe_writes"
        );
        let any_nonzero = paths.iter().any(|p| {
            p.split('.')
                .try_fold(doc, |node, key| node.get(key))
                .and_then(Value::as_f64)
                .is_some_and(|x| x != 0.0)
        });
        if always || any_nonzero {
            t.row(label, paths.iter().map(|p| cell(doc, p, *fmt)).collect());
        }
    }
    Some(t)
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
        group_table(doc, "clients", CLIENT_ROWS),
        group_table(doc, "services", SERVICE_ROWS),
        group_table(doc, "buses", BUS_ROWS),
        group_table(doc, "logs", LOG_ROWS),
        group_table(doc, "locks", LOCK_ROWS),
    ]
    .into_iter()
    .flatten()
    {
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
