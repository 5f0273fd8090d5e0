//! Charts of one run document (`sim run --json`): the time series of each
//! client and bus (replication 0), and the request paths as grouped bars
//! (the S1 comparison when the run has both clients and buses).

use plotters::style::{Color, RGBColor};
use serde::Deserialize;
use serde::de::IgnoredAny;
use sim_results::run::{
    BreakerState, BusMetrics, BusSeries, CallSeries, ClientMetrics, Named, Num, RunDocument,
    Series, ServiceSeries,
};

use crate::draw::{
    self, BarFigure, BarPanel, Layout, Legend, LegendEntry, Line, LineFigure, Panel, PanelKind,
    Shade, Swatch, XAxis, YScale,
};
use crate::format::{exact, human, short, slug, with_half_width};
use crate::{Chart, Page, ReportError, Table};

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

pub fn page(doc: &RunDocument) -> Result<Page, ReportError> {
    let m = &doc.metrics;
    let info = Info {
        scenario: doc.scenario.clone(),
        seed: doc.seed.to_string(),
        reps: doc.replications,
    };
    let clients: Vec<&str> = m.clients.names().collect();
    let buses: Vec<&str> = m.buses.names().collect();
    if clients.is_empty() && buses.is_empty() {
        return Err(err(
            "no \"clients\" and no \"buses\" metrics: nothing to chart",
        ));
    }
    let series = doc.series.as_ref().ok_or_else(|| {
        err("no \"series\" (the per-bucket time series that `sim run --json` writes)")
    })?;
    let bucket_s = Some(series.bucket_s)
        .filter(|b| *b > 0.0 && b.is_finite())
        .ok_or_else(|| err("series.bucket_s is not a positive number"))?;

    let topology = Topology::of(&doc.config);
    let mut charts = Vec::new();
    for (c, metrics) in m.clients.iter() {
        let scope = topology.as_ref().map(|t| t.reachable(&metrics.target));
        charts.push(client_timeseries(
            &info,
            series,
            c,
            &metrics.target,
            scope.as_deref(),
            bucket_s,
        )?);
    }
    // A chart per downstream call: what each hop did over time.
    for (svc, ss) in series.services.iter() {
        for call in &ss.calls {
            let scope = topology.as_ref().map(|t| t.reachable(&call.target));
            charts.push(call_timeseries(
                &info,
                series,
                svc,
                call,
                scope.as_deref(),
                bucket_s,
            )?);
        }
    }
    // A chart per service with replicas: where its attempts went, and
    // how many replicas were in service.
    for (svc, ss) in series.services.iter() {
        if let Some(chart) = replica_timeseries(&info, series, svc, ss, bucket_s)? {
            charts.push(chart);
        }
    }
    for b in &buses {
        let scope = topology.as_ref().map(|t| t.reachable(b));
        if let Some(s) = series.buses.get(b)
            && let Some(chart) = bus_timeseries(&info, series, s, b, scope.as_deref(), bucket_s)?
        {
            charts.push(chart);
        }
    }
    // Clients that publish to a bus are part of that bus's path, not RPC
    // paths of their own.
    let rpc_clients: Vec<(&str, &ClientMetrics)> = m
        .clients
        .iter()
        .filter(|(_, c)| !buses.contains(&c.target.as_str()))
        .collect();
    let bus_paths: Vec<(&str, &BusMetrics)> = m.buses.iter().collect();
    charts.push(paths_chart(doc, &info, &rpc_clients, &bus_paths)?);

    let mut facts = vec![
        ("scenario".to_string(), doc.scenario.clone()),
        ("seed".to_string(), info.seed.clone()),
        ("replications".to_string(), info.reps.to_string()),
        (
            "duration".to_string(),
            match doc.duration_s {
                Some(d) => format!("{} s", human(d)),
                None => "until all work is done".into(),
            },
        ),
    ];
    facts.push(("simulated time (s)".into(), human(m.engine.end_s.get())));
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
    let ci = doc.ci95.as_ref();
    let tables = [
        metrics_table("clients", &m.clients, ci),
        metrics_table("services", &m.services, ci),
        metrics_table("buses", &m.buses, ci),
    ]
    .into_iter()
    .flatten()
    .collect();
    Ok(Page {
        title: format!("Run report: {}", doc.scenario),
        description: doc.description.clone(),
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

/// A coarser bucket is chosen while the offered load is bursty: while its
/// largest bucket holds more than this many times the mean bucket (while
/// any load arrives), plus four Poisson standard deviations (so the noise
/// of random arrivals never counts as a burst). A burst landing in one
/// narrow bucket puts the rate axis so high that every other line sits
/// flat at zero (S1: 350 requests in one 10 ms bucket read as 35,000
/// requests/s beside a service that serves 2,000).
const MAX_BURSTINESS: f64 = 1.5;

/// ...but never fewer points than this.
const MIN_POINTS: usize = 20;

impl Coarse {
    fn with_k(n: usize, bucket_s: f64, k: usize) -> Self {
        Coarse {
            k,
            bucket_s,
            width_s: bucket_s * k as f64,
            n: n.div_ceil(k),
        }
    }

    /// Buckets for `n` fine buckets of `bucket_s` whose offered load per
    /// bucket is `offered`: at most [`MAX_POINTS`], and coarse enough that
    /// the load is at most [`MAX_BURSTINESS`] times its mean in any bucket,
    /// if that leaves [`MIN_POINTS`] points.
    fn new(n: usize, bucket_s: f64, offered: &[f64]) -> Self {
        let k0 = n.div_ceil(MAX_POINTS).max(1);
        let burstiness = |k: usize| -> f64 {
            let sums: Vec<f64> = offered.chunks(k).map(|c| c.iter().sum()).collect();
            let (Some(first), Some(last)) = (
                sums.iter().position(|x| *x > 0.0),
                sums.iter().rposition(|x| *x > 0.0),
            ) else {
                return 1.0;
            };
            let span = &sums[first..=last];
            let mean = span.iter().sum::<f64>() / span.len() as f64;
            span.iter().copied().fold(0.0, f64::max) / (mean + 4.0 * mean.sqrt() / MAX_BURSTINESS)
        };
        let k = (k0..=(n / MIN_POINTS).max(k0))
            .find(|&k| burstiness(k) <= MAX_BURSTINESS)
            .unwrap_or(k0);
        Coarse::with_k(n, bucket_s, k)
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
struct Plotted {
    dashed: bool,
    label: String,
    column: String,
    color: RGBColor,
    values: Vec<Option<f64>>,
}

impl Plotted {
    /// A rate line: `counts` per bucket as per second, in PALETTE[`color`].
    fn rate(coarse: &Coarse, label: &str, column: &str, color: usize, counts: &[f64]) -> Self {
        Plotted {
            dashed: false,
            label: label.into(),
            column: column.into(),
            color: draw::PALETTE[color],
            values: coarse.rate(counts),
        }
    }

    /// The same line, dashed (a reference such as the offered load).
    fn dashed(self) -> Self {
        Plotted {
            dashed: true,
            ..self
        }
    }
}

/// What calls what, from the document's `config` (the scenario as run):
/// the only part of the scenario a report needs.
#[derive(Deserialize)]
struct Topology {
    #[serde(default)]
    services: Vec<ServiceNode>,
    #[serde(default)]
    buses: Vec<BusNode>,
}

#[derive(Deserialize)]
struct ServiceNode {
    name: String,
    #[serde(default)]
    calls: Vec<CallNode>,
}

#[derive(Deserialize)]
struct CallNode {
    target: String,
}

#[derive(Deserialize)]
struct BusNode {
    name: String,
    handler: Option<HandlerNode>,
}

#[derive(Deserialize)]
enum HandlerNode {
    Call(CallNode),
    Work(IgnoredAny),
}

impl Topology {
    /// `None` when the config does not have the scenario's shape.
    fn of(config: &serde_json::Value) -> Option<Topology> {
        sim_results::from_value(config).ok()
    }

    /// The services, buses and logs that requests entering at `start` can
    /// reach (a service's downstream calls, a bus's `Call` handler).
    fn reachable(&self, start: &str) -> Vec<String> {
        let mut seen: Vec<String> = Vec::new();
        let mut stack = vec![start.to_string()];
        while let Some(name) = stack.pop() {
            if seen.contains(&name) {
                continue;
            }
            if let Some(svc) = self.services.iter().find(|s| s.name == name) {
                stack.extend(svc.calls.iter().map(|c| c.target.clone()));
            }
            if let Some(BusNode {
                handler: Some(HandlerNode::Call(call)),
                ..
            }) = self.buses.iter().find(|b| b.name == name)
            {
                stack.push(call.target.clone());
            }
            seen.push(name);
        }
        seen
    }
}

/// Fault windows to shade: those on what `scope` names (the services, buses
/// and logs a chart's requests reach), or all when the scope is unknown.
/// A fault window, (start, end), and its faults: (kind, targets).
type FaultWindowGroup = ((f64, f64), Vec<(String, Vec<String>)>);

fn fault_shades(series: &Series, scope: Option<&[String]>) -> (Vec<Shade>, Vec<String>) {
    // Faults over the same window share one shade and one label
    // ("outage: api-a, api-b"), in the order of the schedule: labels drawn
    // on top of each other could not be read.
    let mut windows: Vec<FaultWindowGroup> = Vec::new();
    for f in &series.faults {
        if scope.is_some_and(|names| !names.contains(&f.target)) {
            continue;
        }
        let key = (f.start_s, f.end_s);
        let at = match windows.iter().position(|(k, _)| *k == key) {
            Some(i) => i,
            None => {
                windows.push((key, Vec::new()));
                windows.len() - 1
            }
        };
        let kinds = &mut windows[at].1;
        match kinds.iter_mut().find(|(k, _)| *k == f.kind) {
            Some((_, targets)) => targets.push(f.target.clone()),
            None => kinds.push((f.kind.clone(), vec![f.target.clone()])),
        }
    }
    let mut shades = Vec::new();
    let mut notes = Vec::new();
    for ((s, e), kinds) in windows {
        let label = kinds
            .iter()
            .map(|(kind, targets)| format!("{kind}: {}", targets.join(", ")))
            .collect::<Vec<_>>()
            .join("; ");
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

fn breaker_color(state: BreakerState) -> RGBColor {
    match state {
        BreakerState::Closed => RGBColor(0xA6, 0xDB, 0xBE),
        BreakerState::Open => draw::PALETTE[1],
        BreakerState::HalfOpen => RGBColor(0xF0, 0xE4, 0x42),
    }
}

/// A breaker state held from a time to another: (start, end, state).
type Interval = (f64, f64, BreakerState);

/// Breaker state intervals of client `name`.
fn breaker_intervals(series: &Series, name: &str, end: f64) -> Option<Vec<Interval>> {
    let changes = series.breakers.get(name)?;
    let mut out: Vec<Interval> = Vec::new();
    for ch in changes {
        if let Some(last) = out.last_mut() {
            last.1 = ch.t_s;
        }
        out.push((ch.t_s, end.max(ch.t_s), ch.state));
    }
    (!out.is_empty()).then_some(out)
}

#[allow(clippy::too_many_arguments)]
fn timeseries_chart(
    info: &Info,
    stem: String,
    title: String,
    coarse: &Coarse,
    rates: Vec<Plotted>,
    levels: Vec<Plotted>,
    series: &Series,
    scope: Option<&[String]>,
    breaker: Option<(&str, Vec<Interval>)>,
) -> Result<Chart, ReportError> {
    let xs = coarse.xs();
    let x_end = coarse.n as f64 * coarse.width_s;
    let (shades, fault_notes) = fault_shades(series, scope);
    let line = |n: &Plotted| Line {
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
            y_label: if levels.iter().all(|l| l.column == "replicas") {
                "replicas in service"
            } else {
                "in flight / queued"
            }
            .into(),
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
        for s in BreakerState::ALL
            .into_iter()
            .filter(|s| intervals.iter().any(|iv| iv.2 == *s))
        {
            legend.entries.push(LegendEntry {
                label: format!("breaker {}", s.name()),
                swatch: Swatch::Fill(breaker_color(s).to_rgba()),
            });
        }
        panels.push(Panel {
            title: None,
            y_label: "breaker".into(),
            kind: PanelKind::Strip {
                intervals: intervals
                    .iter()
                    .map(|(a, b, s)| (*a, *b, breaker_color(*s)))
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
                    .map(|(_, _, s)| s.name().to_string())
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

/// Level lines (in flight, queue) of every service a client's requests
/// reach (`scope`; the service it calls when the reach is unknown), in the
/// document's order: the backend where a fault is shows too.
fn service_levels(
    series: &Series,
    target: &str,
    scope: Option<&[String]>,
    coarse: &Coarse,
    first_color: usize,
) -> Vec<Plotted> {
    let mut out = Vec::new();
    let mut color = first_color;
    let reached = |s: &str| match scope {
        Some(names) => names.iter().any(|n| n == s),
        None => s == target,
    };
    // One colour per service: in service solid, queued dashed.
    for (s, levels) in series.services.iter().filter(|(s, _)| reached(s)) {
        for (key, what, values, dashed) in [
            ("in_flight", "in service", &levels.in_flight, false),
            ("queue", "queued", &levels.queue, true),
            (
                "concurrency_limit",
                "adaptive concurrency limit",
                &levels.concurrency_limit,
                true,
            ),
        ] {
            if values.is_empty() {
                continue;
            }
            // The limit in grey: it is not a level of work like the others.
            let c = if key == "concurrency_limit" {
                draw::PALETTE[7]
            } else {
                draw::color(color)
            };
            out.push(Plotted {
                dashed,
                label: format!("{what}: {s}"),
                column: format!("{key}.{s}"),
                color: c,
                values: coarse.level(values),
            });
        }
        // Colour 6 is the client's own in-flight line.
        color += if color + 1 == 6 { 2 } else { 1 };
    }
    out
}

/// Counts as numbers to plot.
fn floats(counts: &[u64]) -> Vec<f64> {
    counts.iter().map(|&c| c as f64).collect()
}

fn client_timeseries(
    info: &Info,
    series: &Series,
    name: &str,
    target: &str,
    scope: Option<&[String]>,
    bucket_s: f64,
) -> Result<Chart, ReportError> {
    let s = series
        .clients
        .get(name)
        .ok_or_else(|| err(format!("series.clients.{name} is missing")))?;
    let offered = floats(&s.offered);
    let ok = floats(&s.ok);
    let failed = floats(&s.failed);
    let attempts = floats(&s.attempts);
    let n = [offered.len(), ok.len(), failed.len()]
        .into_iter()
        .max()
        .unwrap_or(0);
    if n == 0 {
        return Err(err(format!("series.clients.{name} has no buckets")));
    }
    let coarse = Coarse::new(n, bucket_s, &offered);
    let rates = vec![
        Plotted::rate(&coarse, "offered", "offered_per_s", 0, &offered).dashed(),
        Plotted::rate(
            &coarse,
            "attempts (with retries)",
            "attempts_per_s",
            3,
            &attempts,
        ),
        Plotted::rate(&coarse, "served (ok)", "ok_per_s", 2, &ok),
        Plotted::rate(&coarse, "failed", "failed_per_s", 1, &failed),
    ];
    let mut levels = vec![Plotted {
        dashed: false,
        label: format!("in flight: client {name}"),
        column: format!("in_flight.client.{name}"),
        color: draw::PALETTE[6],
        values: coarse.level(&s.in_flight),
    }];
    if !s.concurrency_limit.is_empty() {
        levels.push(Plotted {
            dashed: true,
            label: format!("concurrency limit: client {name}"),
            column: format!("concurrency_limit.client.{name}"),
            color: draw::PALETTE[6],
            values: coarse.level(&s.concurrency_limit),
        });
    }
    levels.extend(service_levels(series, target, scope, &coarse, 4));
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

/// A service's downstream call over time: calls, attempts and failures,
/// the levels of the services it reaches, and its breaker.
fn call_timeseries(
    info: &Info,
    series: &Series,
    service: &str,
    call: &CallSeries,
    scope: Option<&[String]>,
    bucket_s: f64,
) -> Result<Chart, ReportError> {
    let hop = format!("{service} -> {}", call.target);
    let calls = floats(&call.calls);
    let n = [calls.len(), call.attempts.len(), call.failed.len()]
        .into_iter()
        .max()
        .unwrap_or(0);
    if n == 0 {
        return Err(err(format!(
            "series.services.{service}.calls ({hop}) has no buckets"
        )));
    }
    let coarse = Coarse::new(n, bucket_s, &calls);
    let rates = vec![
        Plotted::rate(&coarse, "calls made", "calls_per_s", 0, &calls).dashed(),
        Plotted::rate(
            &coarse,
            "attempts (with retries)",
            "attempts_per_s",
            3,
            &floats(&call.attempts),
        ),
        Plotted::rate(&coarse, "failed", "failed_per_s", 1, &floats(&call.failed)),
    ];
    let levels = service_levels(series, &call.target, scope, &coarse, 4);
    let breaker = breaker_intervals(series, &hop, coarse.n as f64 * coarse.width_s)
        .map(|iv| (hop.as_str(), iv));
    timeseries_chart(
        info,
        format!("timeseries-call-{}-{}", slug(service), slug(&call.target)),
        format!("Time series: call {hop}"),
        &coarse,
        rates,
        levels,
        series,
        scope,
        breaker,
    )
}

/// Most replicas drawn one line each.
const MAX_REPLICA_LINES: usize = 12;

/// Attempts per second at each replica of a service with several, and the
/// replicas in service (a level); `None` for a service of one.
fn replica_timeseries(
    info: &Info,
    series: &Series,
    service: &str,
    ss: &ServiceSeries,
    bucket_s: f64,
) -> Result<Option<Chart>, ReportError> {
    if ss.replica_arrivals.is_empty() {
        return Ok(None);
    }
    let total = floats(&ss.arrivals);
    let n = total.len().max(ss.replicas.len());
    if n == 0 {
        return Ok(None);
    }
    let coarse = Coarse::new(n, bucket_s, &total);
    let mut rates = Vec::new();
    if ss.replica_arrivals.len() <= MAX_REPLICA_LINES {
        for (k, a) in ss.replica_arrivals.iter().enumerate() {
            // Six colours, solid then dashed: no two replicas look alike.
            let line = Plotted::rate(
                &coarse,
                &format!("attempts at #{k}"),
                &format!("attempts_per_s.{k}"),
                k % 6,
                &floats(a),
            );
            rates.push(if (k / 6) % 2 == 1 {
                line.dashed()
            } else {
                line
            });
        }
    } else {
        rates.push(Plotted::rate(
            &coarse,
            "attempts (all replicas)",
            "attempts_per_s",
            0,
            &total,
        ));
    }
    let levels = vec![Plotted {
        dashed: true,
        label: "replicas in service".into(),
        column: "replicas".into(),
        color: draw::PALETTE[7],
        values: coarse.level(&ss.replicas),
    }];
    timeseries_chart(
        info,
        format!("timeseries-replicas-{}", slug(service)),
        format!("Time series: replicas of {service}"),
        &coarse,
        rates,
        levels,
        series,
        Some(&[service.to_string()]),
        None,
    )
    .map(Some)
}

fn bus_timeseries(
    info: &Info,
    series: &Series,
    bus: &BusSeries,
    name: &str,
    scope: Option<&[String]>,
    bucket_s: f64,
) -> Result<Option<Chart>, ReportError> {
    // Counts per bucket are charted as rates, levels (means) as levels.
    let counts = [
        ("published", &bus.published),
        ("acked", &bus.acked),
        ("dead_lettered", &bus.dead_lettered),
    ];
    let level_lists = [
        ("depth", &bus.depth),
        ("blocked_publishers", &bus.blocked_publishers),
    ];
    let n = counts
        .iter()
        .map(|(_, v)| v.len())
        .chain(level_lists.iter().map(|(_, v)| v.len()))
        .max()
        .unwrap_or(0);
    if n == 0 {
        return Ok(None);
    }
    let coarse = Coarse::new(n, bucket_s, &floats(&bus.published));
    let rates = counts
        .iter()
        .enumerate()
        .map(|(i, (k, v))| Plotted {
            dashed: false,
            label: k.replace('_', " "),
            column: format!("{k}_per_s"),
            color: draw::color(i),
            values: coarse.rate(&floats(v)),
        })
        .collect();
    let levels = level_lists
        .iter()
        .enumerate()
        .map(|(i, (k, v))| Plotted {
            dashed: false,
            label: format!("{}: bus {name}", k.replace('_', " ")),
            column: format!("{k}.{name}"),
            color: draw::color(4 + i),
            values: coarse.level(v),
        })
        .collect();
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

/// A number of a client's or a bus's metrics, and its path in the
/// document (the CSV names it, intervals are looked up by it).
type Field<T> = Option<(&'static str, fn(&T) -> Option<f64>)>;

/// One measure of the paths chart: its label, and where clients and buses
/// have it (`None`: the path has no such measure).
struct Measure {
    label: &'static str,
    client: Field<ClientMetrics>,
    bus: Field<BusMetrics>,
}

const COUNT_MEASURES: &[Measure] = &[
    Measure {
        label: "requests",
        client: Some(("offered", |c| Some(c.offered.get()))),
        bus: Some(("published", |b| Some(b.published.get()))),
    },
    Measure {
        label: "ok",
        client: Some(("ok", |c| Some(c.ok.get()))),
        bus: Some(("ok", |b| Some(b.ok.get()))),
    },
    Measure {
        label: "failed",
        client: Some(("failed", |c| Some(c.failed.get()))),
        bus: Some(("failed", |b| Some(b.failed.get()))),
    },
    Measure {
        label: "dropped",
        client: None,
        bus: Some(("dropped", |b| Some(b.dropped.get()))),
    },
    Measure {
        label: "retries",
        client: Some(("retries", |c| Some(c.retries.get()))),
        bus: Some(("retries", |b| Some(b.retries.get()))),
    },
    Measure {
        label: "timeouts",
        client: Some(("timeouts", |c| Some(c.timeouts.get()))),
        bus: Some(("timeouts", |b| Some(b.timeouts.get()))),
    },
    Measure {
        label: "refused by breaker",
        client: Some(("cb_open", |c| Some(c.cb_open.get()))),
        bus: None,
    },
    Measure {
        label: "dead letters",
        client: None,
        bus: Some(("dead_lettered", |b| Some(b.dead_lettered.get()))),
    },
];

/// The paths chart compares client latency (request start to success)
/// with a bus's delivery latency, and, where the bus has it, its
/// end-to-end latency with the client's.
const LATENCY_MEASURES: &[Measure] = &[
    Measure {
        label: "p50",
        client: Some(("latency_ms.p50", |c| {
            c.latency_ms.p50.as_ref().map(Num::get)
        })),
        bus: Some(("delivery_latency_ms.p50", |b| {
            b.delivery_latency_ms.p50.as_ref().map(Num::get)
        })),
    },
    Measure {
        label: "p95",
        client: Some(("latency_ms.p95", |c| {
            c.latency_ms.p95.as_ref().map(Num::get)
        })),
        bus: Some(("delivery_latency_ms.p95", |b| {
            b.delivery_latency_ms.p95.as_ref().map(Num::get)
        })),
    },
    Measure {
        label: "p99",
        client: Some(("latency_ms.p99", |c| {
            c.latency_ms.p99.as_ref().map(Num::get)
        })),
        bus: Some(("delivery_latency_ms.p99", |b| {
            b.delivery_latency_ms.p99.as_ref().map(Num::get)
        })),
    },
    Measure {
        label: "mean",
        client: Some(("latency_ms.mean", |c| {
            c.latency_ms.mean.as_ref().map(Num::get)
        })),
        bus: Some(("delivery_latency_ms.mean", |b| {
            b.delivery_latency_ms.mean.as_ref().map(Num::get)
        })),
    },
    Measure {
        label: "end-to-end p99",
        client: Some(("latency_ms.p99", |c| {
            c.latency_ms.p99.as_ref().map(Num::get)
        })),
        bus: Some(("end_to_end_latency_ms.p99", |b| {
            b.end_to_end_latency_ms.p99.as_ref().map(Num::get)
        })),
    },
];

/// A request path of the paths chart.
enum Path<'a> {
    Rpc(&'a str, &'a ClientMetrics),
    Bus(&'a str, &'a BusMetrics),
}

impl Path<'_> {
    fn label(&self) -> String {
        match self {
            Path::Rpc(name, _) => format!("{name} (RPC path)"),
            Path::Bus(name, _) => format!("{name} (event-driven path)"),
        }
    }

    /// The measure's document path and value on this path.
    fn value(&self, m: &Measure) -> Option<(String, f64)> {
        let (path, v) = match self {
            Path::Rpc(name, c) => {
                let (field, f) = m.client?;
                (format!("clients.{name}.{field}"), f(c))
            }
            Path::Bus(name, b) => {
                let (field, f) = m.bus?;
                (format!("buses.{name}.{field}"), f(b))
            }
        };
        v.map(|v| (path, v))
    }
}

fn paths_chart(
    doc: &RunDocument,
    info: &Info,
    clients: &[(&str, &ClientMetrics)],
    buses: &[(&str, &BusMetrics)],
) -> Result<Chart, ReportError> {
    let paths: Vec<Path> = clients
        .iter()
        .map(|(n, c)| Path::Rpc(n, c))
        .chain(buses.iter().map(|(n, b)| Path::Bus(n, b)))
        .collect();
    let ci = |path: &str| -> Option<(f64, f64)> {
        let [lo, hi] = *doc.ci95.as_ref()?.get(path)?;
        Some((lo, hi))
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
            if m.label == "end-to-end p99" && !has_buses {
                continue;
            }
            let cells: Vec<Option<(String, f64)>> = paths.iter().map(|p| p.value(m)).collect();
            let always = matches!(m.label, "requests" | "ok" | "failed") || title == "Latency";
            let any = cells.iter().flatten().any(|(_, v)| *v != 0.0);
            if cells.iter().all(Option::is_none) || !(always || any) {
                continue;
            }
            groups.push(m.label.to_string());
            values.push(
                cells
                    .iter()
                    .map(|c| c.as_ref().map(|(p, v)| (*v, ci(p))))
                    .collect(),
            );
            for (path, c) in paths.iter().zip(&cells) {
                if let Some((p, v)) = c {
                    let iv = ci(p);
                    rows.push(vec![
                        m.label.to_string(),
                        path.label(),
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
            .map(|(p, c)| LegendEntry {
                label: p.label(),
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
fn metrics_table<T: serde::Serialize>(
    group: &str,
    members: &Named<T>,
    ci95: Option<&Named<[f64; 2]>>,
) -> Option<Table> {
    if members.is_empty() {
        return None;
    }
    let mut paths: Vec<String> = Vec::new();
    let mut leaves: Vec<Vec<(String, Option<f64>)>> = Vec::new();
    for (_, m) in members.iter() {
        let out = sim_results::flatten(&serde_json::to_value(m).ok()?);
        for (p, _) in &out {
            if !paths.contains(p) {
                paths.push(p.clone());
            }
        }
        leaves.push(out);
    }
    let mut header = vec!["metric".to_string()];
    header.extend(members.names().map(str::to_string));
    let rows = paths
        .iter()
        .map(|p| {
            let mut r = vec![p.clone()];
            for (m, l) in members.names().zip(&leaves) {
                let v = l.iter().find(|(q, _)| q == p).and_then(|(_, v)| *v);
                let cell = match v {
                    None => "-".to_string(),
                    Some(x) => match ci95.and_then(|c| c.get(&format!("{group}.{m}.{p}"))) {
                        Some([lo, hi]) => with_half_width(x, (hi - lo) / 2.0),
                        None => human(x),
                    },
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
