//! Charts of one run document (`sim run --json`): the time series of each
//! client and bus (replication 0), and the request paths as grouped bars
//! (the S1 comparison when the run has both clients and buses).

use plotters::style::{Color, RGBColor};
use serde_json::Value;

use crate::draw::{
    self, BarFigure, BarPanel, Layout, Legend, LegendEntry, Line, LineFigure, Panel, PanelKind,
    Shade, Swatch, XAxis, YScale,
};
use crate::format::{exact, human, short, slug};
use crate::{Chart, Page, ReportError, Table, get, names, num, text};

/// Time series longer than this many buckets are merged into coarser
/// buckets for the chart and its CSV (counts summed, levels averaged).
const MAX_POINTS: usize = 500;

struct Info {
    scenario: String,
    seed: String,
    reps: u64,
}

impl Info {
    fn caption(&self) -> String {
        format!(
            "scenario {} · seed {} · {} replication{}",
            self.scenario,
            self.seed,
            self.reps,
            if self.reps == 1 { "" } else { "s" }
        )
    }
}

fn err(msg: impl Into<String>) -> ReportError {
    ReportError::new(format!("run document: {}", msg.into()))
}

/// A list of numbers at `path` of `v`, or a clear error.
fn numbers(v: &Value, path: &str, full: &str) -> Result<Vec<f64>, ReportError> {
    let arr = get(v, path)
        .and_then(Value::as_array)
        .ok_or_else(|| err(format!("{full} is missing or not a list")))?;
    arr.iter()
        .map(|x| {
            x.as_f64()
                .ok_or_else(|| err(format!("{full} holds a non-number: {x}")))
        })
        .collect()
}

pub fn page(doc: &Value) -> Result<Page, ReportError> {
    let scenario = doc
        .get("scenario")
        .and_then(Value::as_str)
        .ok_or_else(|| err("no \"scenario\" name"))?
        .to_string();
    let info = Info {
        scenario: scenario.clone(),
        seed: doc.get("seed").map(text).unwrap_or_else(|| "?".into()),
        reps: doc.get("replications").and_then(Value::as_u64).unwrap_or(1),
    };
    let clients = names(doc, "clients");
    let buses = names(doc, "buses");
    if clients.is_empty() && buses.is_empty() {
        return Err(err(
            "no \"clients\" and no \"buses\" metrics: nothing to chart",
        ));
    }
    let series = doc.get("series").ok_or_else(|| {
        err("no \"series\" (the per-bucket time series that `sim run --json` writes)")
    })?;
    let bucket_s = series
        .get("bucket_s")
        .and_then(Value::as_f64)
        .filter(|b| *b > 0.0 && b.is_finite())
        .ok_or_else(|| err("series.bucket_s is missing or not a positive number"))?;

    let target = |c: &str| {
        doc.get("clients")
            .and_then(|g| g.get(c))
            .and_then(|m| m.get("target"))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let mut charts = Vec::new();
    for c in &clients {
        let target = target(c);
        let scope = target.as_deref().and_then(|t| reachable(doc, t));
        charts.push(client_timeseries(
            &info,
            series,
            c,
            target.as_deref(),
            scope.as_deref(),
            bucket_s,
        )?);
    }
    for b in &buses {
        let scope = reachable(doc, b);
        if let Some(chart) = bus_timeseries(&info, series, b, scope.as_deref(), bucket_s)? {
            charts.push(chart);
        }
    }
    // Clients that publish to a bus are part of that bus's path, not RPC
    // paths of their own.
    let rpc_clients: Vec<String> = clients
        .iter()
        .filter(|c| target(c).is_none_or(|t| !buses.contains(&t)))
        .cloned()
        .collect();
    charts.push(paths_chart(doc, &info, &rpc_clients, &buses)?);

    let mut facts = vec![
        ("scenario".to_string(), scenario.clone()),
        ("seed".to_string(), info.seed.clone()),
        ("replications".to_string(), info.reps.to_string()),
        (
            "duration".to_string(),
            match num(doc, "duration_s") {
                Some(d) => format!("{} s", human(d)),
                None => "until all work is done".into(),
            },
        ),
    ];
    if let Some(end) = num(doc, "engine.end_s") {
        facts.push(("simulated time (s)".into(), human(end)));
    }
    facts.push((
        "time series".into(),
        format!("replication 0, {} ms buckets", human(bucket_s * 1000.0)),
    ));
    if info.reps > 1 {
        facts.push((
            "intervals".into(),
            "95% confidence intervals over the replications (Student t)".into(),
        ));
    }
    let mut tables = Vec::new();
    for group in ["clients", "services", "buses"] {
        if let Some(t) = metrics_table(doc, group) {
            tables.push(t);
        }
    }
    Ok(Page {
        title: format!("Run report: {scenario}"),
        description: doc
            .get("description")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
        facts,
        charts,
        tables,
        config: None,
    })
}

/// Merges buckets `k` at a time: counts become rates per second, levels
/// are averaged. Returns (x midpoints, coarse bucket width).
struct Coarse {
    k: usize,
    bucket_s: f64,
    width_s: f64,
    n: usize,
}

impl Coarse {
    fn new(n: usize, bucket_s: f64) -> Self {
        let k = n.div_ceil(MAX_POINTS).max(1);
        Coarse {
            k,
            bucket_s,
            width_s: bucket_s * k as f64,
            n: n.div_ceil(k),
        }
    }
    fn xs(&self) -> Vec<f64> {
        (0..self.n)
            .map(|j| (j as f64 + 0.5) * self.width_s)
            .collect()
    }
    fn rate(&self, counts: &[f64]) -> Vec<Option<f64>> {
        (0..self.n)
            .map(|j| {
                let chunk = counts.get(j * self.k..((j + 1) * self.k).min(counts.len()))?;
                if chunk.is_empty() {
                    return None;
                }
                Some(chunk.iter().sum::<f64>() / (chunk.len() as f64 * self.bucket_s))
            })
            .collect()
    }
    fn level(&self, values: &[f64]) -> Vec<Option<f64>> {
        (0..self.n)
            .map(|j| {
                let chunk = values.get(j * self.k..((j + 1) * self.k).min(values.len()))?;
                if chunk.is_empty() {
                    return None;
                }
                Some(chunk.iter().sum::<f64>() / chunk.len() as f64)
            })
            .collect()
    }
    fn bucket_note(&self) -> String {
        if self.k == 1 {
            format!("{} ms buckets", human(self.bucket_s * 1000.0))
        } else {
            format!(
                "{} ms buckets merged {} at a time into {} ms",
                human(self.bucket_s * 1000.0),
                self.k,
                human(self.width_s * 1000.0)
            )
        }
    }
}

/// A plotted line and its CSV column.
struct Named {
    dashed: bool,
    label: String,
    column: String,
    color: RGBColor,
    values: Vec<Option<f64>>,
}

/// The services, buses and logs that requests entering at `start` can
/// reach, from the document's `config` (a service's downstream calls, a
/// bus's `Call` handler); `None` when the document has no config.
fn reachable(doc: &Value, start: &str) -> Option<Vec<String>> {
    let config = doc.get("config")?;
    let list = |group: &str| config.get(group).and_then(Value::as_array);
    let mut seen: Vec<String> = Vec::new();
    let mut stack = vec![start.to_string()];
    while let Some(name) = stack.pop() {
        if seen.contains(&name) {
            continue;
        }
        let named = |v: &&Value| v.get("name").and_then(Value::as_str) == Some(name.as_str());
        if let Some(svc) = list("services").and_then(|l| l.iter().find(named)) {
            for call in svc
                .get("calls")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(t) = call.get("target").and_then(Value::as_str) {
                    stack.push(t.to_string());
                }
            }
        }
        if let Some(bus) = list("buses").and_then(|l| l.iter().find(named))
            && let Some(t) = bus
                .get("handler")
                .and_then(|h| h.get("Call"))
                .and_then(|c| c.get("target"))
                .and_then(Value::as_str)
        {
            stack.push(t.to_string());
        }
        seen.push(name);
    }
    Some(seen)
}

/// Fault windows to shade: those on what `scope` names (the services, buses
/// and logs a chart's requests reach), or all when the scope is unknown.
fn fault_shades(series: &Value, scope: Option<&[String]>) -> (Vec<Shade>, Vec<String>) {
    let mut shades = Vec::new();
    let mut notes = Vec::new();
    for f in series
        .get("faults")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let (Some(s), Some(e)) = (num(f, "start_s"), num(f, "end_s")) else {
            continue;
        };
        let kind = f.get("kind").map(text).unwrap_or_else(|| "fault".into());
        let target = f.get("target").map(text).unwrap_or_default();
        if scope.is_some_and(|names| !names.contains(&target)) {
            continue;
        }
        let label = format!("{kind}: {target}");
        notes.push(format!("{label} {}–{} s", short(s), short(e)));
        shades.push(Shade {
            x0: s,
            x1: e,
            color: RGBColor(0x99, 0x99, 0x99).mix(0.22),
            label: Some(label),
        });
    }
    (shades, notes)
}

fn breaker_color(state: &str) -> RGBColor {
    match state {
        "Closed" => RGBColor(0xA6, 0xDB, 0xBE),
        "Open" => draw::PALETTE[1],
        "HalfOpen" => RGBColor(0xF0, 0xE4, 0x42),
        _ => draw::PALETTE[7],
    }
}

/// A breaker state held from a time to another: (start, end, state).
type Interval = (f64, f64, String);

/// Breaker state intervals of client `name`.
fn breaker_intervals(series: &Value, name: &str, end: f64) -> Option<Vec<Interval>> {
    let changes = series.get("breakers")?.get(name)?.as_array()?;
    let mut out: Vec<Interval> = Vec::new();
    for ch in changes {
        let (Some(t), Some(state)) = (num(ch, "t_s"), ch.get("state").and_then(Value::as_str))
        else {
            continue;
        };
        if let Some(last) = out.last_mut() {
            last.1 = t;
        }
        out.push((t, end.max(t), state.to_string()));
    }
    (!out.is_empty()).then_some(out)
}

#[allow(clippy::too_many_arguments)]
fn timeseries_chart(
    info: &Info,
    stem: String,
    title: String,
    coarse: &Coarse,
    rates: Vec<Named>,
    levels: Vec<Named>,
    series: &Value,
    scope: Option<&[String]>,
    breaker: Option<(&str, Vec<Interval>)>,
) -> Result<Chart, ReportError> {
    let xs = coarse.xs();
    let x_end = coarse.n as f64 * coarse.width_s;
    let (shades, fault_notes) = fault_shades(series, scope);
    let line = |n: &Named| Line {
        color: n.color,
        points: xs.iter().copied().zip(n.values.iter().copied()).collect(),
        band: vec![],
        marker: None,
        pattern: 0,
        dashed: n.dashed,
    };
    let mut legend = Legend::default();
    for n in rates.iter().chain(&levels) {
        legend.entries.push(LegendEntry {
            label: n.label.clone(),
            swatch: if n.dashed {
                Swatch::Dashed(n.color)
            } else {
                Swatch::Line(n.color)
            },
        });
    }
    let mut panels = vec![Panel {
        title: None,
        y_label: "rate (requests/s)".into(),
        kind: PanelKind::Lines {
            scale: YScale::Linear { include_zero: true },
            lines: rates.iter().map(line).collect(),
        },
        shades: shades.clone(),
        weight: 100,
    }];
    if !levels.is_empty() {
        panels.push(Panel {
            title: None,
            y_label: "in flight / queued".into(),
            kind: PanelKind::Lines {
                scale: YScale::Linear { include_zero: true },
                lines: levels.iter().map(line).collect(),
            },
            shades: shades
                .iter()
                .map(|s| Shade {
                    label: None,
                    ..s.clone()
                })
                .collect(),
            weight: 75,
        });
    }
    if !shades.is_empty() {
        legend.entries.push(LegendEntry {
            label: "fault window".into(),
            swatch: Swatch::Fill(RGBColor(0x99, 0x99, 0x99).mix(0.22)),
        });
    }
    let mut breaker_col: Vec<String> = Vec::new();
    if let Some((_, intervals)) = &breaker {
        let mut seen: Vec<&str> = Vec::new();
        for (_, _, s) in intervals {
            if !seen.contains(&s.as_str()) {
                seen.push(s);
            }
        }
        for s in ["Closed", "HalfOpen", "Open"]
            .into_iter()
            .filter(|s| seen.contains(s))
            .chain(
                seen.iter()
                    .copied()
                    .filter(|s| !["Closed", "HalfOpen", "Open"].contains(s)),
            )
        {
            legend.entries.push(LegendEntry {
                label: format!("breaker {s}"),
                swatch: Swatch::Fill(breaker_color(s).to_rgba()),
            });
        }
        panels.push(Panel {
            title: None,
            y_label: "breaker".into(),
            kind: PanelKind::Strip {
                intervals: intervals
                    .iter()
                    .map(|(a, b, s)| (*a, *b, breaker_color(s)))
                    .collect(),
            },
            shades: vec![],
            weight: 22,
        });
        // State at each coarse bucket's start, for the CSV.
        breaker_col = (0..coarse.n)
            .map(|j| {
                let t = j as f64 * coarse.width_s;
                intervals
                    .iter()
                    .rev()
                    .find(|(a, _, _)| *a <= t)
                    .map(|(_, _, s)| s.clone())
                    .unwrap_or_default()
            })
            .collect();
    }
    let mut caption = format!(
        "{} · time series of replication 0, {}",
        info.caption(),
        coarse.bucket_note()
    );
    if !fault_notes.is_empty() {
        caption.push_str(&format!(" · faults: {}", fault_notes.join(", ")));
    }
    let fig = LineFigure {
        title,
        caption,
        x: XAxis::FromZero {
            label: "simulated time (s)".into(),
            max: x_end,
        },
        panels,
        layout: Layout::Vertical,
        legend,
    };
    let svg = draw::line_figure(&fig)?;

    let mut header = vec!["t_start_s".to_string(), "t_end_s".to_string()];
    header.extend(rates.iter().chain(&levels).map(|n| n.column.clone()));
    if let Some((client, _)) = &breaker {
        header.push(format!("breaker.{client}"));
    }
    let rows = (0..coarse.n)
        .map(|j| {
            let mut r = vec![
                exact(j as f64 * coarse.width_s),
                exact((j + 1) as f64 * coarse.width_s),
            ];
            for n in rates.iter().chain(&levels) {
                r.push(n.values[j].map(exact).unwrap_or_default());
            }
            if breaker.is_some() {
                r.push(breaker_col[j].clone());
            }
            r
        })
        .collect();
    Ok(Chart {
        stem,
        title: fig.title,
        svg,
        header,
        rows,
    })
}

/// Level lines (in flight, queue) of the service a client calls, or of
/// every service when the document does not say which.
fn service_levels(
    series: &Value,
    target: Option<&str>,
    coarse: &Coarse,
    first_color: usize,
) -> Vec<Named> {
    let mut out = Vec::new();
    let mut color = first_color;
    for s in names(series, "services")
        .into_iter()
        .filter(|s| target.is_none_or(|t| t == s))
    {
        for (key, what) in [("in_flight", "in service"), ("queue", "queued")] {
            let path = format!("services.{s}.{key}");
            if let Ok(v) = numbers(series, &path, &path) {
                out.push(Named {
                    dashed: false,
                    label: format!("{what}: {s}"),
                    column: format!("{key}.{s}"),
                    color: draw::color(color),
                    values: coarse.level(&v),
                });
                color += 1;
            }
        }
    }
    out
}

fn client_timeseries(
    info: &Info,
    series: &Value,
    name: &str,
    target: Option<&str>,
    scope: Option<&[String]>,
    bucket_s: f64,
) -> Result<Chart, ReportError> {
    let s = series
        .get("clients")
        .and_then(|c| c.get(name))
        .ok_or_else(|| err(format!("series.clients.{name} is missing")))?;
    let field = |k: &str| numbers(s, k, &format!("series.clients.{name}.{k}"));
    let offered = field("offered")?;
    let ok = field("ok")?;
    let failed = field("failed")?;
    let attempts = field("attempts").ok();
    let in_flight = field("in_flight").ok();
    let n = [offered.len(), ok.len(), failed.len()]
        .into_iter()
        .max()
        .unwrap_or(0);
    if n == 0 {
        return Err(err(format!("series.clients.{name} has no buckets")));
    }
    let coarse = Coarse::new(n, bucket_s);
    let mut rates = vec![Named {
        dashed: true,
        label: "offered".into(),
        column: "offered_per_s".into(),
        color: draw::PALETTE[0],
        values: coarse.rate(&offered),
    }];
    if let Some(a) = &attempts {
        rates.push(Named {
            dashed: false,
            label: "attempts (with retries)".into(),
            column: "attempts_per_s".into(),
            color: draw::PALETTE[3],
            values: coarse.rate(a),
        });
    }
    rates.push(Named {
        dashed: false,
        label: "served (ok)".into(),
        column: "ok_per_s".into(),
        color: draw::PALETTE[2],
        values: coarse.rate(&ok),
    });
    rates.push(Named {
        dashed: false,
        label: "failed".into(),
        column: "failed_per_s".into(),
        color: draw::PALETTE[1],
        values: coarse.rate(&failed),
    });
    let mut levels = Vec::new();
    if let Some(f) = &in_flight {
        levels.push(Named {
            dashed: false,
            label: format!("in flight: client {name}"),
            column: format!("in_flight.client.{name}"),
            color: draw::PALETTE[6],
            values: coarse.level(f),
        });
    }
    levels.extend(service_levels(series, target, &coarse, 4));
    let breaker =
        breaker_intervals(series, name, coarse.n as f64 * coarse.width_s).map(|iv| (name, iv));
    timeseries_chart(
        info,
        format!("timeseries-{}", slug(name)),
        format!("Time series: client {name}"),
        &coarse,
        rates,
        levels,
        series,
        scope,
        breaker,
    )
}

/// Bus series names that are levels (averaged), not counts per bucket.
const BUS_LEVELS: [&str; 6] = [
    "depth",
    "in_flight",
    "queue",
    "lag",
    "backlog",
    "consumers_busy",
];

fn bus_timeseries(
    info: &Info,
    series: &Value,
    name: &str,
    scope: Option<&[String]>,
    bucket_s: f64,
) -> Result<Option<Chart>, ReportError> {
    // Bus series are optional, and their names may grow: every list of
    // numbers is charted, levels apart from counts.
    let Some(obj) = series
        .get("buses")
        .and_then(|b| b.get(name))
        .and_then(Value::as_object)
    else {
        return Ok(None);
    };
    let mut lists: Vec<(String, Vec<f64>)> = Vec::new();
    for (k, v) in obj {
        if let Some(arr) = v.as_array() {
            let nums: Option<Vec<f64>> = arr.iter().map(Value::as_f64).collect();
            if let Some(nums) = nums {
                lists.push((k.clone(), nums));
            }
        }
    }
    let n = lists.iter().map(|(_, v)| v.len()).max().unwrap_or(0);
    if n == 0 {
        return Ok(None);
    }
    let coarse = Coarse::new(n, bucket_s);
    let mut rates = Vec::new();
    let mut levels = Vec::new();
    for (k, v) in &lists {
        let is_level = BUS_LEVELS.contains(&k.as_str()) || v.iter().any(|x| x.fract() != 0.0);
        if is_level {
            levels.push(Named {
                dashed: false,
                label: format!("{}: bus {name}", k.replace('_', " ")),
                column: format!("{k}.{name}"),
                color: draw::color(4 + levels.len()),
                values: coarse.level(v),
            });
        } else {
            rates.push(Named {
                dashed: false,
                label: k.replace('_', " "),
                column: format!("{k}_per_s"),
                color: draw::color(rates.len()),
                values: coarse.rate(v),
            });
        }
    }
    timeseries_chart(
        info,
        format!("timeseries-bus-{}", slug(name)),
        format!("Time series: bus {name}"),
        &coarse,
        rates,
        levels,
        series,
        scope,
        None,
    )
    .map(Some)
}

/// One measure of the paths chart: label, client field, bus field
/// ("-": the path has no such measure).
type Measure = (&'static str, &'static str, &'static str);

const COUNT_MEASURES: &[Measure] = &[
    ("requests", "offered", "published"),
    ("ok", "ok", "ok"),
    ("failed", "failed", "failed"),
    ("dropped", "-", "dropped"),
    ("retries", "retries", "retries"),
    ("timeouts", "timeouts", "timeouts"),
    ("refused by breaker", "cb_open", "-"),
    ("dead letters", "-", "dead_lettered"),
];

/// The paths chart compares client latency (request start to success)
/// with a bus's delivery latency, and, where the bus has it, its
/// end-to-end latency with the client's.
const LATENCY_MEASURES: &[Measure] = &[
    ("p50", "latency_ms.p50", "delivery_latency_ms.p50"),
    ("p95", "latency_ms.p95", "delivery_latency_ms.p95"),
    ("p99", "latency_ms.p99", "delivery_latency_ms.p99"),
    ("mean", "latency_ms.mean", "delivery_latency_ms.mean"),
    (
        "end-to-end p99",
        "latency_ms.p99",
        "end_to_end_latency_ms.p99",
    ),
];

fn paths_chart(
    doc: &Value,
    info: &Info,
    clients: &[String],
    buses: &[String],
) -> Result<Chart, ReportError> {
    // (legend label, group key, name)
    let paths: Vec<(String, &str, &String)> = clients
        .iter()
        .map(|c| (format!("{c} (RPC path)"), "clients", c))
        .chain(
            buses
                .iter()
                .map(|b| (format!("{b} (event-driven path)"), "buses", b)),
        )
        .collect();
    let ci = |path: &str| -> Option<(f64, f64)> {
        let iv = doc.get("ci95")?.get(path)?.as_array()?;
        Some((iv.first()?.as_f64()?, iv.get(1)?.as_f64()?))
    };
    let value = |group: &str, name: &str, m: &Measure| -> Option<(String, f64)> {
        let field = if group == "clients" { m.1 } else { m.2 };
        if field == "-" {
            return None;
        }
        let path = format!("{group}.{name}.{field}");
        num(doc, &path).map(|v| (path, v))
    };
    let header = vec![
        "measure".to_string(),
        "path".into(),
        "metric".into(),
        "value".into(),
        "ci_low".into(),
        "ci_high".into(),
    ];
    let mut rows = Vec::new();
    let mut panels = Vec::new();
    let has_buses = !buses.is_empty();
    for (title, y_label, measures) in [
        ("Counts", "requests or messages", COUNT_MEASURES),
        ("Latency", "latency (ms)", LATENCY_MEASURES),
    ] {
        let mut groups = Vec::new();
        let mut values = Vec::new();
        for m in measures {
            if m.0 == "end-to-end p99" && !has_buses {
                continue;
            }
            let cells: Vec<Option<(String, f64)>> =
                paths.iter().map(|(_, g, n)| value(g, n, m)).collect();
            let always = matches!(m.0, "requests" | "ok" | "failed") || title == "Latency";
            let any = cells.iter().flatten().any(|(_, v)| *v != 0.0);
            if cells.iter().all(Option::is_none) || !(always || any) {
                continue;
            }
            groups.push(m.0.to_string());
            values.push(
                cells
                    .iter()
                    .map(|c| c.as_ref().map(|(p, v)| (*v, ci(p))))
                    .collect(),
            );
            for ((label, _, _), c) in paths.iter().zip(&cells) {
                if let Some((p, v)) = c {
                    let iv = ci(p);
                    rows.push(vec![
                        m.0.to_string(),
                        label.clone(),
                        p.clone(),
                        exact(*v),
                        iv.map(|i| exact(i.0)).unwrap_or_default(),
                        iv.map(|i| exact(i.1)).unwrap_or_default(),
                    ]);
                }
            }
        }
        if !groups.is_empty() {
            panels.push(BarPanel {
                title: title.into(),
                y_label: y_label.into(),
                groups,
                values,
            });
        }
    }
    if panels.is_empty() {
        return Err(err(
            "the clients and buses hold none of the counts or latencies the paths chart needs (offered/published, ok, failed, latency_ms)",
        ));
    }
    let colors: Vec<RGBColor> = (0..paths.len()).map(draw::color).collect();
    let legend = Legend {
        heading: None,
        entries: paths
            .iter()
            .zip(&colors)
            .map(|((l, _, _), c)| LegendEntry {
                label: l.clone(),
                swatch: Swatch::Fill(c.to_rgba()),
            })
            .collect(),
    };
    let title = if has_buses && !clients.is_empty() {
        "Request paths: RPC vs event-driven".to_string()
    } else if has_buses {
        "Request paths: event-driven".to_string()
    } else {
        "Request paths: RPC".to_string()
    };
    let mut caption = format!(
        "{} · client latency: request start to success, retries included",
        info.caption()
    );
    if has_buses {
        caption.push_str(" · bus latency: delivery (end-to-end where labelled)");
    }
    if info.reps > 1 {
        caption.push_str(" · means over replications, whiskers: 95% CI");
    }
    let fig = BarFigure {
        title,
        caption,
        panels,
        legend,
        colors,
    };
    let svg = draw::bar_figure(&fig)?;
    Ok(Chart {
        stem: "paths".into(),
        title: fig.title,
        svg,
        header,
        rows,
    })
}

/// Every numeric metric of a group, one column per member, with the 95%
/// interval's half-width where there is one.
fn metrics_table(doc: &Value, group: &str) -> Option<Table> {
    let members = names(doc, group);
    if members.is_empty() {
        return None;
    }
    let mut paths: Vec<String> = Vec::new();
    let mut leaves: Vec<Vec<(String, Option<f64>)>> = Vec::new();
    for m in &members {
        let out = sim_results::flatten(doc.get(group)?.get(m)?);
        for (p, _) in &out {
            if !paths.contains(p) {
                paths.push(p.clone());
            }
        }
        leaves.push(out);
    }
    let mut header = vec!["metric".to_string()];
    header.extend(members.iter().cloned());
    let rows = paths
        .iter()
        .map(|p| {
            let mut r = vec![p.clone()];
            for (m, l) in members.iter().zip(&leaves) {
                let v = l.iter().find(|(q, _)| q == p).and_then(|(_, v)| *v);
                let cell = match v {
                    None => "-".to_string(),
                    Some(x) => {
                        let full = format!("{group}.{m}.{p}");
                        match doc
                            .get("ci95")
                            .and_then(|c| c.get(&full))
                            .and_then(Value::as_array)
                        {
                            Some(iv) if iv.len() == 2 => {
                                let lo = iv[0].as_f64().unwrap_or(x);
                                let hi = iv[1].as_f64().unwrap_or(x);
                                format!("{} ± {}", human(x), human((hi - lo) / 2.0))
                            }
                            _ => human(x),
                        }
                    }
                };
                r.push(cell);
            }
            r
        })
        .collect();
    Some(Table {
        title: group.to_string(),
        header,
        rows,
    })
}
