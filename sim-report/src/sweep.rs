//! Charts of a sweep (`results.json` of `sim sweep`): each chosen metric
//! against the x parameter, one line per value of the series parameter,
//! with 95% confidence bands; latency percentiles on a log scale; and, with
//! two or more parameters, heatmaps over the (x, series) grid.
//!
//! Choice of axes: `report.x` / `report.series` when the sweep file gives
//! them, else the first and second parameters. Parameters beyond those two
//! are averaged over: every point is the mean of the cells that share its
//! (x, series) values, and has no band (the cells' intervals do not combine
//! into one); the caption says so.
//!
//! Without a series parameter (one parameter), metrics of one kind
//! (`clients.*.retry_amplification`) of two or more entities share one
//! chart, one line per entity, each entity in the same colour, marker and
//! dash pattern in every chart.

use plotters::style::RGBColor;
use serde_json::Value;
use sim_results::run::{Named, Num};
use sim_results::sweep::{Estimate, SweepDocument};

use crate::draw::{
    self, Heatmap, Layout, Legend, LegendEntry, Line, LineFigure, Panel, PanelKind, Swatch, XAxis,
    YScale,
};
use crate::format::{ellipsize, exact, human, parse_duration_s, slug};
use crate::{Chart, Page, ReportError, Table};

fn err(msg: impl Into<String>) -> ReportError {
    ReportError::new(format!("sweep results: {}", msg.into()))
}

#[derive(Copy, Clone, Debug, PartialEq)]
enum Kind {
    Number,
    /// Values in seconds.
    Duration,
    Category,
}

struct Param {
    path: String,
    /// The sweep file's name for it (`"retry policy"`), if any.
    name: Option<String>,
    kind: Kind,
    /// Distinct values: (grouping key, label, numeric value), sorted by
    /// value for numbers and durations, in first-appearance order otherwise.
    values: Vec<(String, String, Option<f64>)>,
}

impl Param {
    /// What titles, axes and legends call it: its name, else its path.
    fn title(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.path)
    }

    /// Duration axes in ms below 2 s, else in s.
    fn duration_scale(&self) -> (f64, &'static str) {
        let max = self
            .values
            .iter()
            .filter_map(|v| v.2)
            .fold(0.0f64, f64::max);
        if max < 2.0 {
            (1000.0, "ms")
        } else {
            (1.0, "s")
        }
    }

    fn axis_label(&self) -> String {
        match self.kind {
            Kind::Duration => format!("{} ({})", self.title(), self.duration_scale().1),
            Kind::Number => match unit_of_param(&self.path) {
                Some(u) => format!("{} ({u})", self.title()),
                None => self.title().to_string(),
            },
            Kind::Category => self.title().to_string(),
        }
    }

    /// The values as drawn (durations scaled to the axis unit).
    fn linear_x(&self, i: usize) -> f64 {
        match self.kind {
            Kind::Number => self.values[i].2.unwrap_or(i as f64),
            Kind::Duration => self.values[i].2.unwrap_or(0.0) * self.duration_scale().0,
            Kind::Category => i as f64,
        }
    }

    /// Whether the values form a geometric grid (0.1, 0.25, 0.5, 1, 2),
    /// which a linear axis would bunch up at one end: positive, spanning a
    /// factor of 8 or more, and more evenly spaced in log than linearly.
    fn is_geometric(&self) -> bool {
        if self.kind == Kind::Category || self.values.len() < 3 {
            return false;
        }
        let xs: Vec<f64> = (0..self.values.len()).map(|i| self.linear_x(i)).collect();
        if xs.iter().any(|x| !(*x > 0.0 && x.is_finite())) || xs[xs.len() - 1] < 8.0 * xs[0] {
            return false;
        }
        let spread = |v: &[f64]| -> f64 {
            let d: Vec<f64> = v.windows(2).map(|w| w[1] - w[0]).collect();
            let mean = d.iter().sum::<f64>() / d.len() as f64;
            let var = d.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / d.len() as f64;
            var.sqrt() / mean.abs().max(f64::MIN_POSITIVE)
        };
        let logs: Vec<f64> = xs.iter().map(|x| x.log10()).collect();
        spread(&logs) < spread(&xs)
    }

    /// Position on the axis: the value (log10 of it on a log axis), or the
    /// category index.
    fn x(&self, i: usize) -> f64 {
        if self.is_geometric() {
            self.linear_x(i).log10()
        } else {
            self.linear_x(i)
        }
    }

    fn axis(&self) -> XAxis {
        match self.kind {
            Kind::Category => XAxis::Categories {
                label: self.axis_label(),
                names: self.values.iter().map(|v| v.1.clone()).collect(),
            },
            _ => {
                let xs: Vec<f64> = (0..self.values.len()).map(|i| self.x(i)).collect();
                let log = self.is_geometric();
                XAxis::Numeric {
                    label: if log {
                        format!("{}, log scale", self.axis_label())
                    } else {
                        self.axis_label()
                    },
                    min: xs.iter().copied().fold(f64::INFINITY, f64::min),
                    max: xs.iter().copied().fold(f64::NEG_INFINITY, f64::max),
                    integer: !log
                        && self.kind == Kind::Number
                        && xs.iter().all(|x| x.fract() == 0.0),
                    // Ticks at the grid's own values.
                    log: log.then(|| xs.clone()),
                }
            }
        }
    }

    fn summary(&self) -> String {
        let labels: Vec<&str> = self.values.iter().map(|v| v.1.as_str()).collect();
        if labels.len() <= 8 {
            labels.join(", ")
        } else {
            format!(
                "{}, {}, …, {} ({} values)",
                labels[0],
                labels[1],
                labels[labels.len() - 1],
                labels.len()
            )
        }
    }
}

/// Units of well-known numeric parameters, from the field name.
fn unit_of_param(path: &str) -> Option<&'static str> {
    let field = path.rsplit('.').next().unwrap_or(path);
    if field.ends_with("per_s") {
        Some("per second")
    } else if field.contains("probability") || field.contains("threshold") {
        Some("0–1")
    } else {
        None
    }
}

#[derive(Clone, Copy, Default)]
struct Stat {
    mean: Option<f64>,
    lo: Option<f64>,
    hi: Option<f64>,
}

struct Row {
    cell: String,
    /// Index into each parameter's values.
    idx: Vec<usize>,
    metrics: Named<Estimate>,
}

impl Row {
    fn stat(&self, metric: &str) -> Option<Stat> {
        let m = self.metrics.get(metric)?;
        let f = |x: &Option<Num>| x.as_ref().map(Num::get);
        Some(Stat {
            mean: f(&m.mean),
            lo: f(&m.ci_low),
            hi: f(&m.ci_high),
        })
    }
}

struct Sweep {
    name: String,
    scenario: String,
    seed: String,
    replications: String,
    params: Vec<Param>,
    rows: Vec<Row>,
    /// Metric names in first-appearance order.
    metrics: Vec<String>,
}

fn strip_quotes(s: &str) -> String {
    let t = s.trim();
    t.strip_prefix('"')
        .and_then(|r| r.strip_suffix('"'))
        .unwrap_or(t)
        .to_string()
}

/// A JSON value as short text: strings bare, others as compact JSON.
fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "-".into(),
        other => other.to_string(),
    }
}

fn parse(doc: &SweepDocument) -> Result<Sweep, ReportError> {
    let params = &doc.parameters;
    if params.is_empty() {
        return Err(err("\"parameters\" is empty: nothing was swept"));
    }
    if doc.rows.is_empty() {
        return Err(err("\"rows\" is empty"));
    }
    // Raw values per row and parameter: (key, label, value).
    let mut raw: Vec<Vec<(String, String, Value)>> = Vec::new();
    let mut rows = Vec::new();
    let mut metrics: Vec<String> = Vec::new();
    for r in &doc.rows {
        let cell = r.cell.to_string();
        let mut rv = Vec::new();
        for p in params {
            let v = r
                .params
                .get(p)
                .ok_or_else(|| err(format!("row {cell} has no value for parameter {p}")))?;
            let label = r
                .labels
                .get(p)
                .map(|l| strip_quotes(l))
                .unwrap_or_else(|| text(v));
            rv.push((v.to_string(), label, v.clone()));
        }
        raw.push(rv);
        for k in r.metrics.names() {
            if !metrics.iter().any(|m| m == k) {
                metrics.push(k.to_string());
            }
        }
        rows.push(Row {
            cell,
            idx: Vec::new(),
            metrics: r.metrics.clone(),
        });
    }
    let mut out_params = Vec::new();
    for (pi, path) in params.iter().enumerate() {
        let col: Vec<&(String, String, Value)> = raw.iter().map(|r| &r[pi]).collect();
        let kind = if col.iter().all(|c| c.2.is_number()) {
            Kind::Number
        } else if col
            .iter()
            .all(|c| c.2.as_str().and_then(parse_duration_s).is_some())
        {
            Kind::Duration
        } else {
            Kind::Category
        };
        let mut values: Vec<(String, String, Option<f64>)> = Vec::new();
        for c in &col {
            if !values.iter().any(|v| v.0 == c.0) {
                let x = match kind {
                    Kind::Number => c.2.as_f64(),
                    Kind::Duration => c.2.as_str().and_then(parse_duration_s),
                    Kind::Category => None,
                };
                values.push((c.0.clone(), c.1.clone(), x));
            }
        }
        if kind != Kind::Category {
            values.sort_by(|a, b| a.2.unwrap_or(0.0).total_cmp(&b.2.unwrap_or(0.0)));
        }
        for (r, c) in rows.iter_mut().zip(&col) {
            r.idx
                .push(values.iter().position(|v| v.0 == c.0).unwrap_or(0));
        }
        out_params.push(Param {
            path: path.clone(),
            name: doc.parameter_names.get(path).cloned(),
            kind,
            values,
        });
    }
    Ok(Sweep {
        name: doc.sweep.clone(),
        scenario: doc.scenario.clone(),
        seed: doc.seed.to_string(),
        replications: doc.replications.to_string(),
        params: out_params,
        rows,
        metrics,
    })
}

/// What one chart shows.
#[derive(Clone, Debug)]
enum Plot {
    Metric(String),
    /// Percentile metrics sharing a prefix (`clients.rpc.latency_ms`).
    Latency {
        prefix: String,
        pcts: Vec<String>,
    },
    /// One kind of metric (`clients.*.retry_amplification`) of several
    /// entities, one line per entity.
    Entities {
        group: String,
        field: String,
        names: Vec<String>,
    },
    /// Latency percentiles of several entities (`clients.*.latency_ms`):
    /// one panel per percentile, one line per entity.
    EntityLatency {
        group: String,
        field: String,
        names: Vec<String>,
        pcts: Vec<String>,
    },
}

impl Plot {
    /// The metrics a chart of this plot may show.
    fn metrics(&self) -> Vec<String> {
        match self {
            Plot::Metric(m) => vec![m.clone()],
            Plot::Latency { prefix, pcts } => {
                pcts.iter().map(|q| format!("{prefix}.{q}")).collect()
            }
            Plot::Entities {
                group,
                field,
                names,
            } => names
                .iter()
                .map(|n| format!("{group}.{n}.{field}"))
                .collect(),
            Plot::EntityLatency {
                group,
                field,
                names,
                pcts,
            } => names
                .iter()
                .flat_map(|n| pcts.iter().map(move |q| format!("{group}.{n}.{field}.{q}")))
                .collect(),
        }
    }
}

/// (group, entity, field) of a metric path such as
/// `clients.token-bucket.retry_amplification` or
/// `clients.rpc.latency_ms.p99` (field `latency_ms.p99`).
fn split_entity(metric: &str) -> Option<(&str, &str, &str)> {
    let mut parts = metric.splitn(3, '.');
    let group = parts.next()?;
    let name = parts.next()?;
    let field = parts.next()?;
    (!group.is_empty() && !name.is_empty() && !field.is_empty()).then_some((group, name, field))
}

/// Without a series parameter: the plots of one kind of metric
/// (`group.*.field`) merged into one plot with a line per entity, where
/// the kind is charted for two or more entities. A merged plot takes the
/// place of the kind's first plot; entities keep their order.
fn group_by_entity(plots: Vec<Plot>) -> Vec<Plot> {
    let mut out: Vec<Plot> = Vec::new();
    for p in plots {
        match &p {
            Plot::Metric(m) => {
                if let Some((g, n, f)) = split_entity(m) {
                    let found = out.iter_mut().find_map(|q| match q {
                        Plot::Entities {
                            group,
                            field,
                            names,
                        } if group == g && field == f => Some(names),
                        _ => None,
                    });
                    match found {
                        Some(names) => {
                            if !names.iter().any(|x| x == n) {
                                names.push(n.to_string());
                            }
                        }
                        None => out.push(Plot::Entities {
                            group: g.to_string(),
                            field: f.to_string(),
                            names: vec![n.to_string()],
                        }),
                    }
                    continue;
                }
            }
            Plot::Latency { prefix, pcts } => {
                if let Some((g, n, f)) = split_entity(prefix) {
                    let found = out.iter_mut().find_map(|q| match q {
                        Plot::EntityLatency {
                            group,
                            field,
                            names,
                            pcts,
                        } if group == g && field == f => Some((names, pcts)),
                        _ => None,
                    });
                    match found {
                        Some((names, all)) => {
                            if !names.iter().any(|x| x == n) {
                                names.push(n.to_string());
                            }
                            for q in pcts {
                                if !all.contains(q) {
                                    all.push(q.clone());
                                }
                            }
                        }
                        None => out.push(Plot::EntityLatency {
                            group: g.to_string(),
                            field: f.to_string(),
                            names: vec![n.to_string()],
                            pcts: pcts.clone(),
                        }),
                    }
                    continue;
                }
            }
            Plot::Entities { .. } | Plot::EntityLatency { .. } => {}
        }
        out.push(p);
    }
    // A kind charted for one entity keeps its chart of one metric.
    out.into_iter()
        .map(|p| match p {
            Plot::Entities {
                group,
                field,
                names,
            } if names.len() == 1 => Plot::Metric(format!("{group}.{}.{field}", names[0])),
            Plot::EntityLatency {
                group,
                field,
                names,
                pcts,
            } if names.len() == 1 => Plot::Latency {
                prefix: format!("{group}.{}.{field}", names[0]),
                pcts,
            },
            other => other,
        })
        .collect()
}

/// "client" for `clients`, and so on: the legend heading of a chart with
/// one line per entity.
fn entity_noun(group: &str) -> &str {
    match group {
        "clients" => "client",
        "services" => "service",
        "buses" => "bus",
        other => other,
    }
}

const PERCENTILES: [&str; 3] = ["p50", "p95", "p99"];

/// Entities (`clients.rpc`) with a metric, in first-appearance order.
fn entities(metrics: &[String], group: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for m in metrics {
        let mut parts = m.splitn(3, '.');
        if parts.next() == Some(group)
            && let Some(name) = parts.next()
        {
            let e = format!("{group}.{name}");
            if !out.contains(&e) {
                out.push(e);
            }
        }
    }
    out
}

/// The metrics to chart when the sweep file names none: a fixed cascade,
/// kept where the rows have the metric.
fn default_plots(sw: &Sweep) -> Vec<Plot> {
    let has = |m: &str| sw.metrics.iter().any(|x| x == m);
    let clients = entities(&sw.metrics, "clients");
    let services = entities(&sw.metrics, "services");
    let buses = entities(&sw.metrics, "buses");
    let mut plots = Vec::new();
    let latency = |prefix: String| -> Option<Plot> {
        let pcts: Vec<String> = PERCENTILES
            .iter()
            .filter(|p| has(&format!("{prefix}.{p}")))
            .map(|p| p.to_string())
            .collect();
        (!pcts.is_empty()).then_some(Plot::Latency { prefix, pcts })
    };
    for c in &clients {
        for m in ["retry_amplification", "success_rate"] {
            let path = format!("{c}.{m}");
            if has(&path) {
                plots.push(Plot::Metric(path));
            }
        }
    }
    for c in &clients {
        plots.extend(latency(format!("{c}.latency_ms")));
    }
    for b in &buses {
        plots.extend(
            latency(format!("{b}.end_to_end_latency_ms"))
                .or_else(|| latency(format!("{b}.delivery_latency_ms"))),
        );
    }
    for s in &services {
        let path = format!("{s}.amplification");
        if has(&path) {
            plots.push(Plot::Metric(path));
        }
    }
    for c in &clients {
        let path = format!("{c}.time_to_recover_s");
        if has(&path) {
            plots.push(Plot::Metric(path));
        }
    }
    plots
}

/// The metrics the sweep file asks for, percentiles of one prefix grouped.
fn hinted_plots(sw: &Sweep, hinted: &[String]) -> Result<Vec<Plot>, ReportError> {
    let mut plots: Vec<Plot> = Vec::new();
    for m in hinted {
        if !sw.metrics.contains(m) {
            return Err(err(format!(
                "report.metrics names {m}, which no row has (rows have: {})",
                ellipsize(&sw.metrics.join(", "), 300)
            )));
        }
        let split = m.rsplit_once('.');
        match split {
            Some((prefix, pct)) if prefix.ends_with("latency_ms") && PERCENTILES.contains(&pct) => {
                if let Some(Plot::Latency { pcts, .. }) = plots
                    .iter_mut()
                    .find(|p| matches!(p, Plot::Latency { prefix: q, .. } if q == prefix))
                {
                    pcts.push(pct.to_string());
                } else {
                    plots.push(Plot::Latency {
                        prefix: prefix.to_string(),
                        pcts: vec![pct.to_string()],
                    });
                }
            }
            _ => plots.push(Plot::Metric(m.clone())),
        }
    }
    Ok(plots)
}

/// How a metric is named, labelled and scaled.
struct MetricInfo {
    /// "Retry amplification"
    name: String,
    /// "client rpc"
    of: String,
    y_label: String,
    /// File stem of its chart: "retry-amplification-rpc".
    stem: String,
    /// File stem of a chart of this kind of metric over several entities:
    /// "retry-amplification".
    kind_stem: String,
    scale: f64,
    y: YScale,
    /// Extra words for the title.
    note: &'static str,
}

/// ("latency" | "end-to-end" | "delivery", percentile) of a latency
/// percentile field such as `latency_ms.p99`.
fn latency_field(field: &str) -> Option<(&'static str, &str)> {
    let (prefix, pct) = field.rsplit_once('.')?;
    if !pct.starts_with('p') || !pct[1..].chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let kind = match prefix {
        "latency_ms" => "latency",
        "end_to_end_latency_ms" => "end-to-end",
        "delivery_latency_ms" => "delivery",
        _ => return None,
    };
    Some((kind, pct))
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

fn describe(metric: &str) -> MetricInfo {
    let mut parts = metric.splitn(3, '.');
    let group = parts.next().unwrap_or("");
    let name = parts.next().unwrap_or("");
    let field = parts.next().unwrap_or("");
    let of = match group {
        "clients" => format!("client {name}"),
        "services" => format!("service {name}"),
        "buses" => format!("bus {name}"),
        _ => metric.to_string(),
    };
    let linear = YScale::Linear { include_zero: true };
    let (n, y, base, scale, ys, note) = match (group, field) {
        ("clients", "retry_amplification") => (
            "Retry amplification",
            "retry amplification (attempts per request)",
            "retry-amplification",
            1.0,
            linear,
            "",
        ),
        ("clients", "success_rate") => (
            "Success rate",
            "success rate (%)",
            "success-rate",
            100.0,
            YScale::Fixed { lo: 0.0, hi: 100.0 },
            " (goodput cliff)",
        ),
        ("services", "amplification") => (
            "Load amplification",
            "load amplification (arrivals per request)",
            "load-amplification",
            1.0,
            linear,
            "",
        ),
        ("clients" | "buses", f) if latency_field(f).is_some() => {
            let (kind, pct) = latency_field(f).unwrap_or(("latency", "p99"));
            let what = match kind {
                "latency" => "Latency".to_string(),
                other => format!("{} latency", capitalize(other)),
            };
            let base = format!(
                "{}-{pct}",
                f.split('.').next().unwrap_or(f).trim_end_matches("_ms")
            );
            return MetricInfo {
                name: format!("{what} {pct}"),
                of,
                y_label: format!("{} {pct} (ms)", what.to_lowercase()),
                stem: slug(&format!("{base}-{name}")),
                kind_stem: slug(&base),
                scale: 1.0,
                y: YScale::Log,
                note: "",
            };
        }
        ("clients", "time_to_recover_s") => (
            "Time to recover",
            "time to recover (s)",
            "time-to-recover",
            1.0,
            linear,
            "",
        ),
        _ if sim_results::metrics::lookup(metric).is_some() => {
            // Any other metric of the table: its label and unit from there.
            let m = sim_results::metrics::lookup(metric).expect("just looked up");
            return MetricInfo {
                name: capitalize(m.label),
                of,
                y_label: m.heading(),
                stem: slug(metric),
                kind_stem: slug(&format!("{group}-{field}")),
                scale: 1.0,
                y: linear,
                note: "",
            };
        }
        _ => {
            let unit = if field.ends_with("_ms") || field.contains("_ms.") {
                " (ms)"
            } else if field.ends_with("_s") {
                " (s)"
            } else {
                ""
            };
            return MetricInfo {
                name: if field.is_empty() {
                    metric.to_string()
                } else {
                    field.replace('_', " ")
                },
                of,
                y_label: format!("{}{unit}", if field.is_empty() { metric } else { field }),
                stem: slug(metric),
                kind_stem: slug(&format!("{group}-{field}")),
                scale: 1.0,
                y: linear,
                note: "",
            };
        }
    };
    MetricInfo {
        name: n.to_string(),
        of,
        y_label: y.to_string(),
        stem: slug(&format!("{base}-{name}")),
        kind_stem: slug(base),
        scale,
        y: ys,
        note,
    }
}

/// A point: (mean, optional 95% band, number of cells averaged).
type Point = (f64, Option<(f64, f64)>, usize);

/// The averaged value at each (series value, x value).
struct Grid {
    /// [series][x]
    cells: Vec<Vec<Option<Point>>>,
}

fn grid(sw: &Sweep, xp: usize, sp: Option<usize>, metric: &str) -> Grid {
    let nx = sw.params[xp].values.len();
    let ns = sp.map_or(1, |s| sw.params[s].values.len());
    let mut acc: Vec<Vec<Vec<Stat>>> = vec![vec![Vec::new(); nx]; ns];
    for r in &sw.rows {
        let Some(st) = r.stat(metric) else { continue };
        if st.mean.is_none() {
            continue;
        }
        let si = sp.map_or(0, |s| r.idx[s]);
        acc[si][r.idx[xp]].push(st);
    }
    let cells = acc
        .into_iter()
        .map(|row| {
            row.into_iter()
                .map(|stats| {
                    let means: Vec<f64> = stats.iter().filter_map(|s| s.mean).collect();
                    if means.is_empty() {
                        return None;
                    }
                    let mean = means.iter().sum::<f64>() / means.len() as f64;
                    let band = match stats.as_slice() {
                        [s] => s.lo.zip(s.hi),
                        _ => None,
                    };
                    Some((mean, band, means.len()))
                })
                .collect()
        })
        .collect();
    Grid { cells }
}

struct Ctx<'a> {
    sw: &'a Sweep,
    xp: usize,
    sp: Option<usize>,
    /// Parameters averaged over.
    rest: Vec<usize>,
}

impl Ctx<'_> {
    fn caption(&self, bands: bool) -> String {
        let sw = self.sw;
        let swept: Vec<String> = sw
            .params
            .iter()
            .map(|p| format!("{} = {}", p.path, p.summary()))
            .collect();
        let mut c = format!(
            "sweep {} of scenario {} · seed {} · {} replications per cell · swept: {}",
            sw.name,
            sw.scenario,
            sw.seed,
            sw.replications,
            swept.join("; ")
        );
        if !self.rest.is_empty() {
            let names: Vec<&str> = self
                .rest
                .iter()
                .map(|i| sw.params[*i].path.as_str())
                .collect();
            c.push_str(&format!(" · averaged over {} (no bands)", names.join(", ")));
        } else if bands && sw.params[self.xp].kind == Kind::Category {
            c.push_str(" · whiskers: 95% confidence intervals over replications");
        } else if bands {
            c.push_str(" · bands: 95% confidence intervals over replications");
        }
        c
    }

    /// A figure of one panel of `lines` against the x parameter.
    fn one_panel(
        &self,
        title: &str,
        bands: bool,
        info: &MetricInfo,
        lines: Vec<Line>,
        legend: Legend,
    ) -> LineFigure {
        LineFigure {
            title: title.to_string(),
            caption: self.caption(bands),
            x: self.sw.params[self.xp].axis(),
            panels: vec![Panel {
                title: None,
                y_label: info.y_label.clone(),
                kind: PanelKind::Lines {
                    scale: info.y,
                    lines,
                },
                shades: vec![],
                weight: 130,
            }],
            layout: Layout::Vertical,
            legend,
        }
    }

    fn legend_for_series(&self, extra: Option<&str>) -> Legend {
        match self.sp {
            Some(s) => Legend {
                heading: Some(self.sw.params[s].title().to_string()),
                entries: self.sw.params[s]
                    .values
                    .iter()
                    .enumerate()
                    .map(|(i, v)| LegendEntry {
                        label: v.1.clone(),
                        swatch: Swatch::Marked {
                            color: draw::color(i),
                            marker: draw::marker(i),
                            pattern: draw::pattern(i),
                            band: false,
                        },
                    })
                    .collect(),
            },
            None => Legend {
                heading: None,
                entries: vec![LegendEntry {
                    label: extra.unwrap_or("mean").to_string(),
                    swatch: Swatch::Line(draw::color(0)),
                }],
            },
        }
    }

    fn lines(&self, g: &Grid, scale: f64, colors: &dyn Fn(usize) -> RGBColor) -> Vec<Line> {
        let p = &self.sw.params[self.xp];
        g.cells
            .iter()
            .enumerate()
            .map(|(si, row)| Line {
                color: colors(si),
                points: row
                    .iter()
                    .enumerate()
                    .map(|(xi, c)| (p.x(xi), c.map(|c| c.0 * scale)))
                    .collect(),
                band: row
                    .iter()
                    .enumerate()
                    .filter_map(|(xi, c)| {
                        let (lo, hi) = c.and_then(|c| c.1)?;
                        Some((p.x(xi), lo * scale, hi * scale))
                    })
                    .collect(),
                // One line per series value: each gets its own marker and
                // dash pattern as well as its colour, so lines that coincide
                // (study 1's full and equal jitter) stay distinguishable.
                marker: Some(match self.sp {
                    Some(_) => draw::marker(si),
                    None => draw::Marker::Dot,
                }),
                pattern: if self.sp.is_some() {
                    draw::pattern(si)
                } else {
                    0
                },
                dashed: false,
            })
            .collect()
    }

    /// CSV rows of a grid: x, series, metric, mean, ci_low, ci_high, cells.
    fn rows(&self, g: &Grid, metric: &str, out: &mut Vec<Vec<String>>) {
        let xp = &self.sw.params[self.xp];
        for (si, row) in g.cells.iter().enumerate() {
            for (xi, c) in row.iter().enumerate() {
                let mut r = vec![xp.values[xi].1.clone()];
                if let Some(s) = self.sp {
                    r.push(self.sw.params[s].values[si].1.clone());
                }
                r.push(metric.to_string());
                match c {
                    Some((m, band, n)) => {
                        r.push(exact(*m));
                        r.push(band.map(|b| exact(b.0)).unwrap_or_default());
                        r.push(band.map(|b| exact(b.1)).unwrap_or_default());
                        r.push(n.to_string());
                    }
                    None => r.extend(["", "", "", "0"].map(String::from)),
                }
                out.push(r);
            }
        }
    }

    fn header(&self) -> Vec<String> {
        let mut h = vec![self.sw.params[self.xp].title().to_string()];
        if let Some(s) = self.sp {
            h.push(self.sw.params[s].title().to_string());
        }
        h.extend(
            ["metric", "mean", "ci_low", "ci_high", "cells"]
                .into_iter()
                .map(String::from),
        );
        h
    }
}

fn has_points(g: &Grid) -> bool {
    g.cells.iter().flatten().any(Option::is_some)
}

fn has_bands(g: &Grid) -> bool {
    g.cells.iter().flatten().flatten().any(|c| c.1.is_some())
}

fn metric_chart(ctx: &Ctx, metric: &str) -> Result<Option<Chart>, ReportError> {
    let g = grid(ctx.sw, ctx.xp, ctx.sp, metric);
    if !has_points(&g) {
        return Ok(None);
    }
    let info = describe(metric);
    let xpath = ctx.sw.params[ctx.xp].title();
    let title = format!("{} of {} vs {}{}", info.name, info.of, xpath, info.note);
    let bands = has_bands(&g);
    let mut legend = ctx.legend_for_series(Some(&info.of));
    if bands {
        for e in &mut legend.entries {
            if let Swatch::Line(c) = e.swatch {
                e.swatch = Swatch::Band(c);
            }
        }
    }
    let lines = ctx.lines(&g, info.scale, &draw::color);
    let svg = draw::line_figure(&ctx.one_panel(&title, bands, &info, lines, legend))?;
    let mut rows = Vec::new();
    ctx.rows(&g, metric, &mut rows);
    Ok(Some(Chart {
        stem: info.stem,
        title,
        svg,
        header: ctx.header(),
        rows,
    }))
}

fn latency_chart(ctx: &Ctx, prefix: &str, pcts: &[String]) -> Result<Option<Chart>, ReportError> {
    let grids: Vec<(String, Grid)> = pcts
        .iter()
        .map(|p| {
            let m = format!("{prefix}.{p}");
            let g = grid(ctx.sw, ctx.xp, ctx.sp, &m);
            (m, g)
        })
        .filter(|(_, g)| has_points(g))
        .collect();
    if grids.is_empty() {
        return Ok(None);
    }
    let info = describe(&format!("{prefix}.p99"));
    let kind = prefix.rsplit('.').next().unwrap_or("latency_ms");
    let what = match kind {
        "latency_ms" => "Latency",
        "end_to_end_latency_ms" => "End-to-end latency",
        "delivery_latency_ms" => "Delivery latency",
        _ => "Latency",
    };
    let xpath = ctx.sw.params[ctx.xp].title();
    let names: Vec<&str> = grids
        .iter()
        .map(|(m, _)| m.rsplit('.').next().unwrap_or(""))
        .collect();
    let title = format!("{what} {} of {} vs {xpath}", names.join("/"), info.of);
    let bands = grids.iter().any(|(_, g)| has_bands(g));
    let (panels, legend, layout) = match ctx.sp {
        None => {
            // One panel, one line per percentile.
            let lines: Vec<Line> = grids
                .iter()
                .enumerate()
                .flat_map(|(i, (_, g))| ctx.lines(g, 1.0, &move |_| draw::color(i)))
                .collect();
            let legend = Legend {
                heading: None,
                entries: names
                    .iter()
                    .enumerate()
                    .map(|(i, n)| LegendEntry {
                        label: n.to_string(),
                        swatch: if bands {
                            Swatch::Band(draw::color(i))
                        } else {
                            Swatch::Line(draw::color(i))
                        },
                    })
                    .collect(),
            };
            let panel = Panel {
                title: None,
                y_label: "latency (ms, log scale)".into(),
                kind: PanelKind::Lines {
                    scale: YScale::Log,
                    lines,
                },
                shades: vec![],
                weight: 130,
            };
            (vec![panel], legend, Layout::Vertical)
        }
        Some(_) => {
            // One panel per percentile, one line per series value.
            let panels = grids
                .iter()
                .zip(&names)
                .map(|((_, g), n)| Panel {
                    title: Some(n.to_string()),
                    y_label: "latency (ms, log scale)".into(),
                    kind: PanelKind::Lines {
                        scale: YScale::Log,
                        lines: ctx.lines(g, 1.0, &draw::color),
                    },
                    shades: vec![],
                    weight: 100,
                })
                .collect();
            let mut legend = ctx.legend_for_series(None);
            if bands {
                for e in &mut legend.entries {
                    if let Swatch::Line(c) = e.swatch {
                        e.swatch = Swatch::Band(c);
                    }
                }
            }
            (panels, legend, Layout::Horizontal)
        }
    };
    let fig = LineFigure {
        title: title.clone(),
        caption: ctx.caption(bands),
        x: ctx.sw.params[ctx.xp].axis(),
        panels,
        layout,
        legend,
    };
    let svg = draw::line_figure(&fig)?;
    let mut rows = Vec::new();
    for (m, g) in &grids {
        ctx.rows(g, m, &mut rows);
    }
    let entity = prefix.split('.').nth(1).unwrap_or("");
    let stem = slug(&format!("{}-{entity}", kind.trim_end_matches("_ms")));
    Ok(Some(Chart {
        stem,
        title,
        svg,
        header: ctx.header(),
        rows,
    }))
}

/// One entity's line in a chart of one kind of metric over entities:
/// (entity, metric, grid).
type Member = (String, String, Grid);

/// The colour and marker of an entity: its place among the group's
/// entities in the rows (not among those in one chart), so that a client
/// looks the same in every chart.
fn entity_slot(sw: &Sweep, group: &str, name: &str) -> usize {
    let e = format!("{group}.{name}");
    entities(&sw.metrics, group)
        .iter()
        .position(|x| *x == e)
        .unwrap_or(0)
}

fn entity_legend(ctx: &Ctx, group: &str, members: &[&str], bands: bool) -> Legend {
    Legend {
        heading: Some(entity_noun(group).to_string()),
        entries: members
            .iter()
            .map(|n| (n, entity_slot(ctx.sw, group, n)))
            .map(|(n, i)| LegendEntry {
                label: n.to_string(),
                swatch: Swatch::Marked {
                    color: draw::color(i),
                    marker: draw::marker(i),
                    pattern: draw::pattern(i),
                    band: bands,
                },
            })
            .collect(),
    }
}

/// An entity's line, in the colour and marker of its slot.
fn entity_lines(ctx: &Ctx, group: &str, name: &str, g: &Grid, scale: f64) -> Vec<Line> {
    let i = entity_slot(ctx.sw, group, name);
    let mut lines = ctx.lines(g, scale, &move |_| draw::color(i));
    for l in &mut lines {
        l.marker = Some(draw::marker(i));
        l.pattern = draw::pattern(i);
    }
    lines
}

/// CSV of a chart over entities: the x value, then mean, ci_low and
/// ci_high of each metric (named as in `results.csv`).
fn entity_table(ctx: &Ctx, members: &[&(String, Grid)]) -> (Vec<String>, Vec<Vec<String>>) {
    let xp = &ctx.sw.params[ctx.xp];
    let mut header = vec![xp.title().to_string()];
    for (m, _) in members {
        for k in ["mean", "ci_low", "ci_high"] {
            header.push(format!("{m}.{k}"));
        }
    }
    let rows = (0..xp.values.len())
        .map(|xi| {
            let mut r = vec![xp.values[xi].1.clone()];
            for (_, g) in members {
                match g
                    .cells
                    .first()
                    .and_then(|row| row.get(xi))
                    .copied()
                    .flatten()
                {
                    Some((mean, band, _)) => {
                        r.push(exact(mean));
                        r.push(band.map(|b| exact(b.0)).unwrap_or_default());
                        r.push(band.map(|b| exact(b.1)).unwrap_or_default());
                    }
                    None => r.extend(["", "", ""].map(String::from)),
                }
            }
            r
        })
        .collect();
    (header, rows)
}

/// One kind of metric of several entities against x, one line per entity
/// (only without a series parameter). An entity without any point is left
/// out; with one entity left, its chart of one metric.
fn entity_chart(
    ctx: &Ctx,
    group: &str,
    field: &str,
    names: &[String],
) -> Result<Option<(Chart, Vec<String>)>, ReportError> {
    let members: Vec<Member> = names
        .iter()
        .map(|n| {
            let m = format!("{group}.{n}.{field}");
            let g = grid(ctx.sw, ctx.xp, None, &m);
            (n.clone(), m, g)
        })
        .filter(|(_, _, g)| has_points(g))
        .collect();
    if members.len() < 2 {
        return match members.first() {
            Some((_, m, _)) => Ok(metric_chart(ctx, m)?.map(|c| (c, vec![m.clone()]))),
            None => Ok(None),
        };
    }
    let info = describe(&members[0].1);
    let xpath = ctx.sw.params[ctx.xp].title();
    let title = format!("{} vs {}{}", capitalize(&info.name), xpath, info.note);
    let bands = members.iter().any(|(_, _, g)| has_bands(g));
    let lines: Vec<Line> = members
        .iter()
        .flat_map(|(n, _, g)| entity_lines(ctx, group, n, g, info.scale))
        .collect();
    let entity_names: Vec<&str> = members.iter().map(|(n, _, _)| n.as_str()).collect();
    let legend = entity_legend(ctx, group, &entity_names, bands);
    let svg = draw::line_figure(&ctx.one_panel(&title, bands, &info, lines, legend))?;
    let cols: Vec<(String, Grid)> = members.into_iter().map(|(_, m, g)| (m, g)).collect();
    let (header, rows) = entity_table(ctx, &cols.iter().collect::<Vec<_>>());
    Ok(Some((
        Chart {
            stem: info.kind_stem,
            title,
            svg,
            header,
            rows,
        },
        cols.into_iter().map(|(m, _)| m).collect(),
    )))
}

/// Latency percentiles of several entities against x (only without a
/// series parameter): one panel per percentile, one line per entity.
fn entity_latency_chart(
    ctx: &Ctx,
    group: &str,
    field: &str,
    names: &[String],
    pcts: &[String],
) -> Result<Option<(Chart, Vec<String>)>, ReportError> {
    // [entity][percentile]: (metric, grid), points only.
    let members: Vec<(String, Vec<(String, Grid)>)> = names
        .iter()
        .map(|n| {
            let per: Vec<(String, Grid)> = pcts
                .iter()
                .map(|q| {
                    let m = format!("{group}.{n}.{field}.{q}");
                    let g = grid(ctx.sw, ctx.xp, None, &m);
                    (m, g)
                })
                .collect();
            (n.clone(), per)
        })
        .filter(|(_, per)| per.iter().any(|(_, g)| has_points(g)))
        .collect();
    if members.len() < 2 {
        return match members.first() {
            Some((n, _)) => {
                let prefix = format!("{group}.{n}.{field}");
                Ok(latency_chart(ctx, &prefix, pcts)?.map(|c| {
                    let shown = pcts.iter().map(|q| format!("{prefix}.{q}")).collect();
                    (c, shown)
                }))
            }
            None => Ok(None),
        };
    }
    // Percentiles some entity has.
    let shown: Vec<usize> = (0..pcts.len())
        .filter(|k| members.iter().any(|(_, per)| has_points(&per[*k].1)))
        .collect();
    let what = match field {
        "latency_ms" => "Latency",
        "end_to_end_latency_ms" => "End-to-end latency",
        "delivery_latency_ms" => "Delivery latency",
        _ => "Latency",
    };
    let xpath = ctx.sw.params[ctx.xp].title();
    let pct_names: Vec<&str> = shown.iter().map(|k| pcts[*k].as_str()).collect();
    let title = format!("{what} {} vs {xpath}", pct_names.join("/"));
    let bands = members
        .iter()
        .any(|(_, per)| per.iter().any(|(_, g)| has_bands(g)));
    let single = shown.len() == 1;
    let panels: Vec<Panel> = shown
        .iter()
        .map(|k| Panel {
            title: (!single).then(|| pcts[*k].clone()),
            y_label: if single {
                format!("{} {} (ms, log scale)", what.to_lowercase(), pcts[*k])
            } else {
                "latency (ms, log scale)".into()
            },
            kind: PanelKind::Lines {
                scale: YScale::Log,
                lines: members
                    .iter()
                    .flat_map(|(n, per)| entity_lines(ctx, group, n, &per[*k].1, 1.0))
                    .collect(),
            },
            shades: vec![],
            weight: if single { 130 } else { 100 },
        })
        .collect();
    let entity_names: Vec<&str> = members.iter().map(|(n, _)| n.as_str()).collect();
    let fig = LineFigure {
        title: title.clone(),
        caption: ctx.caption(bands),
        x: ctx.sw.params[ctx.xp].axis(),
        panels,
        layout: if single {
            Layout::Vertical
        } else {
            Layout::Horizontal
        },
        legend: entity_legend(ctx, group, &entity_names, bands),
    };
    let svg = draw::line_figure(&fig)?;
    let cols: Vec<&(String, Grid)> = members
        .iter()
        .flat_map(|(_, per)| shown.iter().map(|k| &per[*k]))
        .collect();
    let (header, rows) = entity_table(ctx, &cols);
    let charted = cols.iter().map(|(m, _)| m.clone()).collect();
    Ok(Some((
        Chart {
            stem: slug(field.trim_end_matches("_ms")),
            title,
            svg,
            header,
            rows,
        },
        charted,
    )))
}

fn heatmap_chart(ctx: &Ctx, metric: &str) -> Result<Option<Chart>, ReportError> {
    let Some(sp) = ctx.sp else { return Ok(None) };
    let g = grid(ctx.sw, ctx.xp, Some(sp), metric);
    if !has_points(&g) {
        return Ok(None);
    }
    let info = describe(metric);
    let (xparam, sparam) = (&ctx.sw.params[ctx.xp], &ctx.sw.params[sp]);
    let values: Vec<Vec<Option<f64>>> = g
        .cells
        .iter()
        .map(|r| r.iter().map(|c| c.map(|c| c.0)).collect())
        .collect();
    let max_abs = values
        .iter()
        .flatten()
        .flatten()
        .map(|v| (v * info.scale).abs())
        .fold(0.0f64, f64::max);
    let decimals = if info.scale == 100.0 {
        1
    } else if max_abs >= 100.0 {
        0
    } else if max_abs >= 10.0 {
        1
    } else {
        2
    };
    let title = format!(
        "{} of {} over {} × {}",
        info.name,
        info.of,
        xparam.title(),
        sparam.title()
    );
    let label = |p: &Param| match p.kind {
        Kind::Number => p.axis_label(),
        _ => p.title().to_string(),
    };
    let h = Heatmap {
        title: title.clone(),
        caption: ctx.caption(false),
        x_label: label(xparam),
        y_label: label(sparam),
        xs: xparam.values.iter().map(|v| v.1.clone()).collect(),
        ys: sparam.values.iter().map(|v| v.1.clone()).collect(),
        values,
        value_label: info.y_label.clone(),
        scale: info.scale,
        decimals,
    };
    let svg = draw::heatmap(&h)?;
    let mut rows = Vec::new();
    ctx.rows(&g, metric, &mut rows);
    Ok(Some(Chart {
        stem: format!("heatmap-{}", info.stem),
        title,
        svg,
        header: ctx.header(),
        rows,
    }))
}

fn param_index(sw: &Sweep, hint: Option<&String>, key: &str) -> Result<Option<usize>, ReportError> {
    let Some(p) = hint else {
        return Ok(None);
    };
    sw.params
        .iter()
        .position(|q| q.path == *p)
        .map(Some)
        .ok_or_else(|| {
            err(format!(
                "report.{key} names {p}, which is not a swept parameter ({})",
                sw.params
                    .iter()
                    .map(|q| q.path.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })
}

pub fn page(doc: &SweepDocument) -> Result<Page, ReportError> {
    let sw = parse(doc)?;
    let hint = doc.report.clone().unwrap_or_default();
    let hx = param_index(&sw, hint.x.as_ref(), "x")?;
    let hs = param_index(&sw, hint.series.as_ref(), "series")?;
    if hx.is_some() && hx == hs {
        return Err(err("report.x and report.series name the same parameter"));
    }
    let n = sw.params.len();
    let xp = hx.unwrap_or_else(|| (0..n).find(|i| Some(*i) != hs).unwrap_or(0));
    let sp = hs.or_else(|| (0..n).find(|i| *i != xp));
    let rest: Vec<usize> = (0..n).filter(|i| *i != xp && Some(*i) != sp).collect();
    let hinted = hint.metrics;
    let plots = match &hinted {
        Some(h) if !h.is_empty() => hinted_plots(&sw, h)?,
        _ => default_plots(&sw),
    };
    let ctx = Ctx {
        sw: &sw,
        xp,
        sp,
        rest: rest.clone(),
    };
    // Without a series parameter, one line per entity of a kind of metric.
    let plots = if sp.is_none() {
        group_by_entity(plots)
    } else {
        plots
    };
    let mut charts = Vec::new();
    let mut charted: Vec<String> = Vec::new();
    let mut entity_groups: Vec<&str> = Vec::new();
    for p in &plots {
        let chart = match p {
            Plot::Metric(m) => metric_chart(&ctx, m)?.map(|c| (c, p.metrics())),
            Plot::Latency { prefix, pcts } => {
                latency_chart(&ctx, prefix, pcts)?.map(|c| (c, p.metrics()))
            }
            Plot::Entities {
                group,
                field,
                names,
            } => entity_chart(&ctx, group, field, names)?,
            Plot::EntityLatency {
                group,
                field,
                names,
                pcts,
            } => entity_latency_chart(&ctx, group, field, names, pcts)?,
        };
        if let Some((c, shown)) = chart {
            if let Plot::Entities { group, .. } | Plot::EntityLatency { group, .. } = p {
                let mut lines: Vec<&str> = shown
                    .iter()
                    .filter_map(|m| split_entity(m).map(|e| e.1))
                    .collect();
                lines.dedup();
                if lines.len() > 1 && !entity_groups.contains(&group.as_str()) {
                    entity_groups.push(group);
                }
            }
            charts.push(c);
            charted.extend(shown);
        }
    }
    if sp.is_some() {
        for p in &plots {
            let metric = match p {
                Plot::Metric(m) => m.clone(),
                // The tail of the distribution: the highest percentile.
                Plot::Latency { prefix, pcts } => match pcts.last() {
                    Some(q) => format!("{prefix}.{q}"),
                    None => continue,
                },
                // Only without a series parameter: no heatmap.
                Plot::Entities { .. } | Plot::EntityLatency { .. } => continue,
            };
            if let Some(c) = heatmap_chart(&ctx, &metric)? {
                charts.push(c);
            }
        }
    }
    if charts.is_empty() {
        return Err(err(format!(
            "the rows hold none of the metrics a chart needs ({}); rows have: {}",
            if hinted.as_ref().is_some_and(|h| !h.is_empty()) {
                "report.metrics, all null".to_string()
            } else {
                "clients.*.retry_amplification, clients.*.success_rate, clients.*.latency_ms.p50/p95/p99, services.*.amplification, clients.*.time_to_recover_s".to_string()
            },
            if sw.metrics.is_empty() {
                "none".to_string()
            } else {
                ellipsize(&sw.metrics.join(", "), 300)
            }
        )));
    }

    // Facts and the table of every cell.
    let mut facts = vec![
        ("sweep".to_string(), sw.name.clone()),
        ("scenario".to_string(), sw.scenario.clone()),
        ("seed".to_string(), sw.seed.clone()),
        ("replications per cell".to_string(), sw.replications.clone()),
        ("cells".to_string(), sw.rows.len().to_string()),
    ];
    for p in &sw.params {
        let what = match &p.name {
            Some(n) => format!("swept: {n} ({})", p.path),
            None => format!("swept: {}", p.path),
        };
        facts.push((what, p.summary()));
    }
    facts.push(("x axis".into(), sw.params[xp].title().to_string()));
    if let Some(s) = sp {
        facts.push((
            "one line per value of".into(),
            sw.params[s].title().to_string(),
        ));
    }
    if !entity_groups.is_empty() {
        let nouns: Vec<&str> = entity_groups.iter().map(|g| entity_noun(g)).collect();
        facts.push(("one line per".into(), nouns.join(", ")));
    }
    if !rest.is_empty() {
        facts.push((
            "averaged over".into(),
            rest.iter()
                .map(|i| sw.params[*i].path.clone())
                .collect::<Vec<_>>()
                .join(", "),
        ));
    }
    let mut header = vec!["cell".to_string()];
    header.extend(sw.params.iter().map(|p| p.title().to_string()));
    header.extend(charted.iter().map(|m| format!("{m} (95% CI)")));
    let rows = sw
        .rows
        .iter()
        .map(|r| {
            let mut out = vec![r.cell.clone()];
            for (p, i) in sw.params.iter().zip(&r.idx) {
                out.push(p.values[*i].1.clone());
            }
            for m in &charted {
                out.push(match r.stat(m) {
                    Some(Stat {
                        mean: Some(x),
                        lo: Some(lo),
                        hi: Some(hi),
                    }) => format!("{} [{}, {}]", human(x), human(lo), human(hi)),
                    Some(Stat { mean: Some(x), .. }) => human(x),
                    _ => "-".into(),
                });
            }
            out
        })
        .collect();
    Ok(Page {
        title: format!("Sweep report: {}", sw.name),
        description: doc.description.clone(),
        facts,
        charts,
        tables: vec![Table {
            title: "cells".into(),
            header,
            rows,
        }],
        config: None,
    })
}
