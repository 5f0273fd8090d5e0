//! Every chart kind from small hand-made fixtures: the SVG parses as XML
//! and holds the expected title, axis labels, legend entries and number
//! of series; output is deterministic; bad input gives clear errors.

use std::collections::BTreeSet;

use serde_json::{Value, json};
use sim_report::{OutputFile, render_json as render};

fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap()
}

fn file<'a>(files: &'a [OutputFile], name: &str) -> &'a str {
    let f = files.iter().find(|f| f.name == name).unwrap_or_else(|| {
        let names: Vec<&str> = files.iter().map(|f| f.name.as_str()).collect();
        panic!("no {name} among {names:?}")
    });
    std::str::from_utf8(&f.bytes).unwrap()
}

/// What a test looks at in one SVG.
struct Svg {
    texts: Vec<String>,
    /// The title's lines, joined by spaces (a long title wraps).
    title: String,
    /// Stroke colours of data lines (2 px polylines, not closed), with
    /// multiplicity.
    data_lines: Vec<String>,
    /// Dash arrays of data lines ("" for solid), in the same order.
    dash_arrays: Vec<String>,
    dashed: usize,
    /// Stroke colours of outline markers (closed 2 px polylines).
    outline_markers: Vec<String>,
    /// Filled circles (dot markers).
    circles: usize,
    polygons: usize,
    rects: Vec<(String, String)>,
    /// Points of each data line (open 2 px polylines).
    polyline_lengths: Vec<usize>,
}

impl Svg {
    fn parse(text: &str) -> Svg {
        let doc = roxmltree::Document::parse(text).expect("SVG is well-formed XML");
        let root = doc.root_element();
        assert_eq!(root.tag_name().name(), "svg");
        let mut svg = Svg {
            texts: vec![],
            title: String::new(),
            data_lines: vec![],
            dash_arrays: vec![],
            dashed: 0,
            outline_markers: vec![],
            circles: 0,
            polygons: 0,
            rects: vec![],
            polyline_lengths: vec![],
        };
        for n in doc.descendants().filter(|n| n.is_element()) {
            match n.tag_name().name() {
                "text" => {
                    let t = n.text().unwrap_or("").trim().to_string();
                    // The title: the largest bold text.
                    let size: f64 = n.attribute("font-size").unwrap_or("0").parse().unwrap();
                    if n.attribute("font-weight") == Some("bold") && size > 20.0 {
                        if !svg.title.is_empty() {
                            svg.title.push(' ');
                        }
                        svg.title.push_str(&t);
                    }
                    svg.texts.push(t);
                }
                "polyline" if n.attribute("stroke-width") == Some("2") => {
                    let stroke = n.attribute("stroke").unwrap_or("").to_string();
                    let points: Vec<&str> = n
                        .attribute("points")
                        .unwrap_or("")
                        .split_whitespace()
                        .collect();
                    if points.len() > 2 && points.first() == points.last() {
                        svg.outline_markers.push(stroke);
                        continue;
                    }
                    svg.polyline_lengths.push(points.len());
                    svg.data_lines.push(stroke);
                    let dashes = n.attribute("stroke-dasharray");
                    svg.dash_arrays.push(dashes.unwrap_or("").to_string());
                    if dashes.is_some() {
                        svg.dashed += 1;
                    }
                }
                "circle" if n.attribute("fill") == Some("none") => svg
                    .outline_markers
                    .push(n.attribute("stroke").unwrap_or("").to_string()),
                "circle" => svg.circles += 1,
                "polygon" => svg.polygons += 1,
                "rect" => svg.rects.push((
                    n.attribute("fill").unwrap_or("").to_string(),
                    n.attribute("opacity").unwrap_or("").to_string(),
                )),
                _ => {}
            }
        }
        svg
    }

    fn has(&self, text: &str) -> bool {
        self.texts.iter().any(|t| t == text)
    }

    fn has_prefix(&self, text: &str) -> bool {
        self.texts.iter().any(|t| t.starts_with(text))
    }

    fn contains(&self, text: &str) -> bool {
        self.texts.iter().any(|t| t.contains(text))
    }

    fn assert_has(&self, texts: &[&str]) {
        for t in texts {
            assert!(self.has(t), "no text {t:?} in {:?}", self.texts);
        }
    }

    /// Number of series: distinct colours of data lines.
    fn series(&self) -> usize {
        self.data_lines.iter().collect::<BTreeSet<_>>().len()
    }
}

fn svg(files: &[OutputFile], name: &str) -> Svg {
    Svg::parse(file(files, name))
}

fn csv_rows(files: &[OutputFile], name: &str) -> Vec<Vec<String>> {
    file(files, name)
        .lines()
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect()
}

#[test]
fn run_report_has_the_expected_files() {
    let files = render(&fixture("run-s1.json")).unwrap();
    let names: Vec<&str> = files.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "timeseries-rpc.svg",
            "timeseries-rpc.csv",
            "timeseries-bus-orders.svg",
            "timeseries-bus-orders.csv",
            "paths.svg",
            "paths.csv",
            "index.html"
        ]
    );
    let typed: sim_results::run::RunDocument =
        sim_results::from_value(&fixture("run-s1.json")).unwrap();
    assert_eq!(sim_report::render_run(&typed).unwrap(), files);
}

#[test]
fn client_time_series() {
    let files = render(&fixture("run-s1.json")).unwrap();
    let s = svg(&files, "timeseries-rpc.svg");
    assert_eq!(s.title, "Time series: client rpc");
    s.assert_has(&[
        "simulated time (s)",
        "rate (requests/s)",
        "in flight / queued",
        "breaker",
        // Legend.
        "offered",
        "attempts (with retries)",
        "served (ok)",
        "failed",
        "in flight: client rpc",
        "in service: backend",
        "queued: backend",
        "fault window",
        "breaker Closed",
        "breaker HalfOpen",
        "breaker Open",
        // Fault label.
        "outage: backend",
    ]);
    assert!(s.has_prefix("scenario s1-fixture · seed 7 · 3 replications"));
    assert!(s.contains("faults: outage: backend 0.3–0.6 s"));
    // Four rates and three levels; the offered load is dashed, and so is
    // the backend's queue, drawn in the colour of its in-service line.
    assert_eq!(s.series(), 6, "{:?}", s.data_lines);
    assert_eq!(s.data_lines.len(), 7);
    assert_eq!(s.dashed, 2);
    // The fault window is shaded in both panels (and its legend swatch).
    let shaded = s
        .rects
        .iter()
        .filter(|(f, o)| f == "#999999" && o == "0.22")
        .count();
    assert_eq!(shaded, 3);
    // Breaker strip: Closed, Open, HalfOpen, Closed.
    let strip = s
        .rects
        .iter()
        .filter(|(f, _)| ["#A6DBBE", "#D55E00", "#F0E442"].contains(&f.as_str()))
        .count();
    assert_eq!(strip, 4 + 3, "three legend swatches, four intervals");

    let rows = csv_rows(&files, "timeseries-rpc.csv");
    assert_eq!(
        rows[0],
        [
            "t_start_s",
            "t_end_s",
            "offered_per_s",
            "attempts_per_s",
            "ok_per_s",
            "failed_per_s",
            "in_flight.client.rpc",
            "in_flight.backend",
            "queue.backend",
            "breaker.rpc"
        ]
    );
    assert_eq!(rows.len(), 1 + 12);
    // Bucket 3 (0.3 s to 0.4 s): 50 offered in 0.1 s is 500/s; 35 failed.
    assert_eq!(rows[4][2], "500");
    assert_eq!(rows[4][5], "350");
    assert_eq!(rows[4][9], "Closed");
    assert_eq!(rows[5][9], "Open");
}

#[test]
fn bus_time_series_charts_counts_as_rates_and_means_as_levels() {
    let files = render(&fixture("run-s1.json")).unwrap();
    let s = svg(&files, "timeseries-bus-orders.svg");
    s.assert_has(&[
        "Time series: bus orders",
        "published",
        "acked",
        "dead lettered",
        "depth: bus orders",
        "blocked publishers: bus orders",
    ]);
    assert_eq!(s.series(), 5);
    let rows = csv_rows(&files, "timeseries-bus-orders.csv");
    assert_eq!(
        rows[0],
        [
            "t_start_s",
            "t_end_s",
            "published_per_s",
            "acked_per_s",
            "dead_lettered_per_s",
            "depth.orders",
            "blocked_publishers.orders"
        ]
    );
}

#[test]
fn paths_compare_rpc_and_events_as_grouped_bars() {
    let files = render(&fixture("run-s1.json")).unwrap();
    let s = svg(&files, "paths.svg");
    s.assert_has(&[
        "Request paths: RPC vs event-driven",
        "Counts",
        "Latency",
        "requests or messages",
        "latency (ms)",
        "rpc (RPC path)",
        "orders (event-driven path)",
        "requests",
        "ok",
        "failed",
        "dropped",
        "retries",
        "timeouts",
        "end-to-end p99",
        "p50",
        "p95",
        "p99",
        "mean",
    ]);
    assert!(s.contains("whiskers: 95% CI"));
    let rows = csv_rows(&files, "paths.csv");
    assert_eq!(
        rows[0],
        ["measure", "path", "metric", "value", "ci_low", "ci_high"]
    );
    // One bar per CSV row, plus one legend swatch per path.
    let bars = s
        .rects
        .iter()
        .filter(|(f, _)| f == "#0072B2" || f == "#D55E00")
        .count();
    assert_eq!(bars, rows.len() - 1 + 2);
    // A measure only one path has is a bar for that path alone.
    let dropped: Vec<&Vec<String>> = rows.iter().filter(|r| r[0] == "dropped").collect();
    assert_eq!(dropped.len(), 1);
    assert_eq!(dropped[0][2], "buses.orders.dropped");
    let ok = rows
        .iter()
        .find(|r| r[2] == "clients.rpc.ok")
        .expect("ok row");
    assert_eq!(ok[3..], ["420", "400", "440"]);
}

#[test]
fn a_run_without_buses_has_no_bus_chart_and_no_end_to_end_bar() {
    let mut doc = fixture("run-s1.json");
    doc.as_object_mut().unwrap().remove("buses");
    doc["series"].as_object_mut().unwrap().remove("buses");
    let files = render(&doc).unwrap();
    assert!(!files.iter().any(|f| f.name.contains("bus")));
    let s = svg(&files, "paths.svg");
    assert!(s.has("Request paths: RPC"));
    assert!(!s.has("end-to-end p99"));
    assert!(!s.has("dropped"));
}

#[test]
fn long_time_series_are_merged_into_coarser_buckets() {
    let mut doc = fixture("run-s1.json");
    let n = 1200;
    let rpc = &mut doc["series"]["clients"]["rpc"];
    for k in ["offered", "ok", "failed", "attempts"] {
        rpc[k] = json!(vec![3; n]);
    }
    rpc["in_flight"] = json!(vec![1.5; n]);
    doc["series"]["services"] = json!({});
    doc["series"]["bucket_s"] = json!(0.01);
    let files = render(&doc).unwrap();
    let rows = csv_rows(&files, "timeseries-rpc.csv");
    // 1200 buckets of 10 ms, merged 3 at a time: 400 rows of 30 ms.
    assert_eq!(rows.len(), 1 + 400);
    assert_eq!(rows[1][..3], ["0", "0.03", "300"]);
    assert_eq!(rows[1][6], "1.5");
    let s = svg(&files, "timeseries-rpc.svg");
    assert!(s.contains("10 ms buckets merged 3 at a time into 30 ms"));
}

#[test]
fn a_bursty_load_gets_buckets_wide_enough_to_see_the_rest() {
    // 100 requests in one 10 ms bucket every 80 ms (as S1's bursts), and a
    // service serving a steady 10 per bucket: at 10 ms the offered rate
    // reads 10,000/s and the served line sits at the bottom of the axis.
    let mut doc = fixture("run-s1.json");
    let n = 400;
    let offered: Vec<u64> = (0..n).map(|i| if i % 8 == 0 { 100 } else { 0 }).collect();
    let rpc = &mut doc["series"]["clients"]["rpc"];
    rpc["offered"] = json!(offered);
    rpc["attempts"] = json!(offered);
    rpc["ok"] = json!(vec![10; n]);
    rpc["failed"] = json!(vec![0; n]);
    rpc["in_flight"] = json!(vec![1.0; n]);
    doc["series"]["services"] = json!({});
    doc["series"]["bucket_s"] = json!(0.01);
    let files = render(&doc).unwrap();
    let s = svg(&files, "timeseries-rpc.svg");
    // The narrowest merge where no bucket holds more than 1.5 times the
    // mean plus four Poisson deviations: 4 at a time (40 ms buckets hold a
    // burst every other bucket), 2,500 offered and 1,000 served per
    // second, on one readable axis.
    assert!(
        s.contains("10 ms buckets merged 4 at a time into 40 ms"),
        "{:?}",
        s.texts
    );
    let rows = csv_rows(&files, "timeseries-rpc.csv");
    assert_eq!(rows.len(), 1 + 100);
    assert_eq!(rows[1][..3], ["0", "0.04", "2500"]);
    assert_eq!(rows[1][4], "1000");
    // Random (Poisson) arrivals are no bursts: a load that varies as
    // Poisson counts of mean 20 per bucket do keeps its buckets.
    let mut doc = fixture("run-s1.json");
    let noisy: Vec<u64> = (0..n as u64).map(|i| 20 + (i * 7919 % 29) - 14).collect();
    let rpc = &mut doc["series"]["clients"]["rpc"];
    rpc["offered"] = json!(noisy);
    rpc["attempts"] = json!(noisy);
    rpc["ok"] = json!(noisy);
    rpc["failed"] = json!(vec![0; n]);
    rpc["in_flight"] = json!(vec![1.0; n]);
    doc["series"]["services"] = json!({});
    doc["series"]["bucket_s"] = json!(0.01);
    let s = svg(&render(&doc).unwrap(), "timeseries-rpc.svg");
    assert!(!s.contains("merged"), "{:?}", s.texts);
    // A steady load keeps its buckets.
    let mut doc = fixture("run-s1.json");
    let rpc = &mut doc["series"]["clients"]["rpc"];
    for k in ["offered", "ok", "attempts"] {
        rpc[k] = json!(vec![10; n]);
    }
    rpc["failed"] = json!(vec![0; n]);
    rpc["in_flight"] = json!(vec![1.0; n]);
    doc["series"]["services"] = json!({});
    doc["series"]["bucket_s"] = json!(0.01);
    let s = svg(&render(&doc).unwrap(), "timeseries-rpc.svg");
    assert!(s.contains("10 ms buckets"), "{:?}", s.texts);
    assert!(!s.contains("merged"), "{:?}", s.texts);
}

#[test]
fn every_downstream_call_gets_a_chart_with_its_breaker() {
    let mut doc = fixture("run-s1.json");
    let n = doc["series"]["services"]["backend"]["arrivals"]
        .as_array()
        .unwrap()
        .len();
    doc["series"]["services"]["backend"]["calls"] = json!([{
        "target": "backend",
        "calls": vec![10; n],
        "attempts": vec![12; n],
        "failed": vec![1; n],
    }]);
    doc["series"]["breakers"]["backend -> backend"] =
        json!([{"t_s": 0.0, "state": "Closed"}, {"t_s": 0.5, "state": "Open"}]);
    let files = render(&doc).unwrap();
    let s = svg(&files, "timeseries-call-backend-backend.svg");
    s.assert_has(&[
        "Time series: call backend -> backend",
        "calls made",
        "attempts (with retries)",
        "failed",
        "breaker Open",
    ]);
    let rows = csv_rows(&files, "timeseries-call-backend-backend.csv");
    assert_eq!(
        rows[0][..5],
        [
            "t_start_s",
            "t_end_s",
            "calls_per_s",
            "attempts_per_s",
            "failed_per_s"
        ]
    );
}

#[test]
fn parameters_named_in_the_sweep_file_are_shown_by_name() {
    let mut doc = fixture("sweep-retries-timeout.json");
    doc["parameter_names"] = json!({
        "clients[0].timeout": "per-attempt timeout",
        "clients[0].retry.max_attempts": "max attempts"
    });
    let files = render(&doc).unwrap();
    let s = svg(&files, "retry-amplification-rpc.svg");
    s.assert_has(&[
        "Retry amplification of client rpc vs per-attempt timeout",
        "per-attempt timeout (ms), log scale",
        "max attempts",
    ]);
    // The caption keeps the paths: what was set where.
    assert!(
        s.contains("swept: clients[0].timeout = 50ms"),
        "{:?}",
        s.texts
    );
}

#[test]
fn sweep_lines_with_confidence_bands() {
    let files = render(&fixture("sweep-retries-timeout.json")).unwrap();
    let s = svg(&files, "retry-amplification-rpc.svg");
    s.assert_has(&[
        "Retry amplification of client rpc vs clients[0].timeout",
        // 50, 100, 200, 400 ms: a geometric grid, on a log axis with a
        // tick at each of its values.
        "clients[0].timeout (ms), log scale",
        "retry amplification (attempts per request)",
        "clients[0].retry.max_attempts",
        "1",
        "2",
        "3",
        "4",
        // Duration ticks in ms.
        "50",
        "100",
        "200",
        "400",
    ]);
    assert!(s.contains("swept: clients[0].timeout = 50ms, 100ms, 200ms, 400ms"));
    assert!(s.contains("bands: 95% confidence intervals"));
    assert_eq!(s.series(), 4);
    // Each series line has its own marker shape and dash pattern, so lines
    // that coincide stay apart: 4 lines x 4 points, plus 4 legend swatches.
    assert_eq!(s.outline_markers.len(), 16 + 4);
    let mut patterns = s.dash_arrays.clone();
    patterns.sort();
    patterns.dedup();
    assert_eq!(patterns.len(), 4, "{:?}", s.dash_arrays);
    assert_eq!(s.polygons, 4, "one band per line");
    let rows = csv_rows(&files, "retry-amplification-rpc.csv");
    assert_eq!(
        rows[0],
        [
            "clients[0].timeout",
            "clients[0].retry.max_attempts",
            "metric",
            "mean",
            "ci_low",
            "ci_high",
            "cells"
        ]
    );
    assert_eq!(rows.len(), 17);
    // x sorted by duration, lines by attempts.
    assert_eq!(
        rows[1][..3],
        ["50ms", "1", "clients.rpc.retry_amplification"]
    );
    assert_eq!(rows[5][..2], ["50ms", "2"]);
    assert_eq!(rows[5][3], "1.5933");
}

#[test]
fn default_cascade_of_sweep_charts() {
    let files = render(&fixture("sweep-retries-timeout.json")).unwrap();
    let svgs: Vec<&str> = files
        .iter()
        .map(|f| f.name.as_str())
        .filter(|n| n.ends_with(".svg"))
        .collect();
    assert_eq!(
        svgs,
        [
            "retry-amplification-rpc.svg",
            "success-rate-rpc.svg",
            "latency-rpc.svg",
            "load-amplification-backend.svg",
            "time-to-recover-rpc.svg",
            "heatmap-retry-amplification-rpc.svg",
            "heatmap-success-rate-rpc.svg",
            "heatmap-latency-p99-rpc.svg",
            "heatmap-load-amplification-backend.svg",
            "heatmap-time-to-recover-rpc.svg",
        ]
    );
    // Missing means (max_attempts 1 never recovers here) leave gaps.
    let s = svg(&files, "time-to-recover-rpc.svg");
    assert_eq!(s.series(), 3);
    // One marker per point with a mean (12) plus one per legend entry (4:
    // every series value, even the one with no data), each series value
    // with its own marker shape.
    assert_eq!(s.outline_markers.len(), 12 + 4);
}

#[test]
fn latency_percentiles_on_a_log_scale() {
    let files = render(&fixture("sweep-retries-timeout.json")).unwrap();
    let s = svg(&files, "latency-rpc.svg");
    s.assert_has(&[
        "Latency p50/p95/p99 of client rpc vs clients[0].timeout",
        "p50",
        "p95",
        "p99",
        "latency (ms, log scale)",
        "clients[0].retry.max_attempts",
    ]);
    // Three panels of four lines; 1-2-5 ticks.
    assert_eq!(s.series(), 4);
    assert_eq!(s.data_lines.len(), 12);
    assert!(s.has("10") && s.has("20") && s.has("50") && s.has("100") && s.has("200"));
    // One parameter: one panel, one line per percentile.
    let files = render(&fixture("sweep-load.json")).unwrap();
    let s = svg(&files, "latency-rpc.svg");
    s.assert_has(&[
        "Latency p50/p95/p99 of client rpc vs clients[0].workload.rate_per_s",
        "clients[0].workload.rate_per_s (per second)",
        "p50",
        "p95",
        "p99",
        "1,000",
    ]);
    assert_eq!(s.series(), 3);
    assert_eq!(s.data_lines.len(), 3);
}

#[test]
fn success_rate_is_the_goodput_cliff_in_percent() {
    let files = render(&fixture("sweep-load.json")).unwrap();
    let s = svg(&files, "success-rate-rpc.svg");
    s.assert_has(&[
        "Success rate of client rpc vs clients[0].workload.rate_per_s (goodput cliff)",
        "success rate (%)",
        "0",
        "100",
        "client rpc",
    ]);
    assert_eq!(s.series(), 1);
    let rows = csv_rows(&files, "success-rate-rpc.csv");
    assert_eq!(rows.len(), 7);
    // No heatmap with one parameter.
    assert!(!files.iter().any(|f| f.name.starts_with("heatmap")));
}

#[test]
fn heatmap_over_two_parameters() {
    let files = render(&fixture("sweep-retries-timeout.json")).unwrap();
    let s = svg(&files, "heatmap-retry-amplification-rpc.svg");
    assert_eq!(
        s.title,
        "Retry amplification of client rpc over clients[0].timeout × clients[0].retry.max_attempts"
    );
    s.assert_has(&[
        "clients[0].timeout",
        "clients[0].retry.max_attempts",
        "50ms",
        "100ms",
        "200ms",
        "400ms",
        "1",
        "4",
        "2.78",
        "1.00",
    ]);
    assert!(s.contains("retry amplification"));
    // 16 cells with a value each.
    let cells = s
        .texts
        .iter()
        .filter(|t| t.len() == 4 && t.as_bytes()[1] == b'.')
        .count();
    assert!(cells >= 16, "{:?}", s.texts);
    // Percentages with one decimal.
    let s = svg(&files, "heatmap-success-rate-rpc.svg");
    assert!(s.has("success rate (%)"));
    assert!(s.has("99.9"), "{:?}", s.texts);
}

#[test]
fn hints_pick_axes_and_metrics_and_enum_values_become_categories() {
    let files = render(&fixture("sweep-backoff-failure.json")).unwrap();
    let svgs: Vec<&str> = files
        .iter()
        .map(|f| f.name.as_str())
        .filter(|n| n.ends_with(".svg"))
        .collect();
    assert_eq!(
        svgs,
        [
            "retry-amplification-rpc.svg",
            "success-rate-rpc.svg",
            "heatmap-retry-amplification-rpc.svg",
            "heatmap-success-rate-rpc.svg"
        ]
    );
    let s = svg(&files, "retry-amplification-rpc.svg");
    s.assert_has(&[
        "services[0].failure_probability (0–1)",
        "clients[0].retry.backoff",
        "FullJitter(base: \"5ms\", cap: \"2s\")",
        "Immediate",
        "Constant(delay: \"50ms\")",
    ]);
    assert_eq!(s.series(), 3);
    assert_eq!(s.polygons, 3);

    // The backoff on x: category ticks, wrapped where long.
    let mut doc = fixture("sweep-backoff-failure.json");
    doc["report"] = json!({"x": "clients[0].retry.backoff"});
    let files = render(&doc).unwrap();
    let s = svg(&files, "retry-amplification-rpc.svg");
    assert!(s.has("Immediate"));
    assert!(s.has_prefix("FullJitter(base:"), "{:?}", s.texts);
    assert_eq!(s.series(), 6, "one colour per failure probability");
    // Nothing lies between categories: points with whiskers, side by side,
    // no band and no line joining them.
    assert_eq!(s.polygons, 0, "no bands between categories");
    assert!(
        s.contains("whiskers: 95% confidence intervals"),
        "{:?}",
        s.texts
    );
    assert!(!s.contains("bands: 95%"));
    let joined = s.polyline_lengths.iter().filter(|&&n| n > 2).count();
    assert_eq!(joined, 0, "no line joins the categories");
}

#[test]
fn a_linear_grid_keeps_a_linear_axis() {
    // 0.0, 0.1, ..., 1.0: evenly spaced, so no log scale.
    let files = render(&fixture("sweep-backoff-failure.json")).unwrap();
    let s = svg(&files, "retry-amplification-rpc.svg");
    assert!(!s.contains("log scale"), "{:?}", s.texts);
}

#[test]
fn a_third_parameter_is_averaged_over_without_bands() {
    let files = render(&fixture("sweep-three-params.json")).unwrap();
    let s = svg(&files, "retry-amplification-rpc.svg");
    assert!(s.contains("averaged over services[0].queue (no bands)"));
    assert_eq!(s.polygons, 0);
    assert_eq!(s.series(), 2);
    let rows = csv_rows(&files, "retry-amplification-rpc.csv");
    // (1, 100ms): mean of 1.01 and 1.1.
    let r = rows
        .iter()
        .find(|r| r[0] == "1" && r[1] == "100ms")
        .unwrap();
    let mean: f64 = r[3].parse().unwrap();
    assert!((mean - 1.055).abs() < 1e-9, "{r:?}");
    assert_eq!(r[4..], ["", "", "2"]);
    let index = file(&files, "index.html");
    assert!(index.contains("averaged over"));
}

#[test]
fn index_shows_every_chart_with_its_data() {
    for name in [
        "run-s1.json",
        "sweep-retries-timeout.json",
        "sweep-backoff-failure.json",
        "sweep-entities.json",
    ] {
        let files = render(&fixture(name)).unwrap();
        let index = file(&files, "index.html");
        assert!(!index.contains("<script"));
        assert!(!index.contains("http://") && !index.contains("https://"));
        for f in &files {
            if f.name.ends_with(".svg") {
                assert!(
                    index.contains(&format!("<img src=\"{}\"", f.name)),
                    "{name}"
                );
                let stem = f.name.trim_end_matches(".svg");
                assert!(index.contains(&format!("href=\"{stem}.csv\"")), "{name}");
            }
        }
    }
    let files = render(&fixture("sweep-retries-timeout.json")).unwrap();
    let index = file(&files, "index.html");
    assert!(index.contains("<td>swept: clients[0].timeout</td><td>50ms, 100ms, 200ms, 400ms</td>"));
    assert!(index.contains("<th>clients.rpc.retry_amplification (95% CI)</th>"));
    assert!(index.contains("<td>2.78 [2.75, 2.81]</td>"), "{index}");
    let files = render(&fixture("run-s1.json")).unwrap();
    let index = file(&files, "index.html");
    assert!(index.contains("<td>seed</td><td>7</td>"));
    assert!(
        index.contains("<tr><td>ok</td><td>420 ± 20</td></tr>"),
        "{index}"
    );
}

#[test]
fn rendering_is_deterministic() {
    for name in [
        "run-s1.json",
        "sweep-retries-timeout.json",
        "sweep-backoff-failure.json",
        "sweep-load.json",
        "sweep-three-params.json",
        "sweep-entities.json",
    ] {
        let doc = fixture(name);
        let a = render(&doc).unwrap();
        // The same document parsed again.
        let again: Value = serde_json::from_str(&doc.to_string()).unwrap();
        let b = render(&again).unwrap();
        assert_eq!(a, b, "{name}");
    }
}

const CLIENTS: [&str; 5] = [
    "no-retries",
    "retries",
    "token-bucket",
    "throttle",
    "breaker",
];

fn svg_names(files: &[OutputFile]) -> Vec<&str> {
    files
        .iter()
        .map(|f| f.name.as_str())
        .filter(|n| n.ends_with(".svg"))
        .collect()
}

#[test]
fn without_a_series_parameter_one_line_per_client_of_each_kind() {
    let files = render(&fixture("sweep-entities.json")).unwrap();
    // One chart per kind of metric, not one per client; a kind only one
    // entity has keeps its chart of one metric.
    assert_eq!(
        svg_names(&files),
        [
            "retry-amplification.svg",
            "success-rate.svg",
            "latency.svg",
            "load-amplification-service.svg",
        ]
    );
    let s = svg(&files, "retry-amplification.svg");
    assert_eq!(
        s.title,
        "Retry amplification vs services[0].failure_probability"
    );
    s.assert_has(&[
        "services[0].failure_probability (0–1)",
        "retry amplification (attempts per request)",
        "client",
    ]);
    s.assert_has(&CLIENTS);
    assert!(s.contains("bands: 95% confidence intervals"));
    // Five lines, five colours, one band each.
    assert_eq!(s.data_lines.len(), 5, "{:?}", s.data_lines);
    assert_eq!(s.series(), 5);
    assert_eq!(s.polygons, 5, "one band per client");
    // Lines stay apart where they coincide: five dash patterns (one
    // solid) and five marker shapes (a circle, then closed outlines), five
    // points each plus the legend's.
    let patterns: BTreeSet<&String> = s.dash_arrays.iter().collect();
    assert_eq!(patterns.len(), 5, "{:?}", s.dash_arrays);
    assert!(s.dash_arrays.contains(&String::new()));
    assert_eq!(s.outline_markers.len(), 5 * (5 + 1));
    assert_eq!(s.circles, 0, "no filled dots");
    // Legend entries in the order of the rows, each the colour of its line.
    let legend: Vec<&String> = s
        .texts
        .iter()
        .filter(|t| CLIENTS.contains(&t.as_str()))
        .collect();
    assert_eq!(legend, CLIENTS);
    assert_eq!(
        s.data_lines,
        ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00"]
    );

    // The data: x, then mean, ci_low, ci_high of each client.
    let rows = csv_rows(&files, "retry-amplification.csv");
    assert_eq!(rows[0].len(), 1 + 3 * 5);
    assert_eq!(rows[0][0], "services[0].failure_probability");
    assert_eq!(
        rows[0][4..7],
        [
            "clients.retries.retry_amplification.mean",
            "clients.retries.retry_amplification.ci_low",
            "clients.retries.retry_amplification.ci_high"
        ]
    );
    assert_eq!(rows.len(), 1 + 5);
    assert_eq!(rows[5][0], "1.0");
    assert_eq!(rows[5][4..7], ["4", "3.98", "4.02"]);
    assert_eq!(rows[3][10..13], ["0.52", "0.44", "0.6"], "throttle at 0.5");
}

#[test]
fn an_entity_keeps_its_colour_and_marker_in_every_chart() {
    let files = render(&fixture("sweep-entities.json")).unwrap();
    // Only retries and token-bucket have a success rate: they keep the
    // colours of the second and third clients.
    let s = svg(&files, "success-rate.svg");
    assert_eq!(
        s.title,
        "Success rate vs services[0].failure_probability (goodput cliff)"
    );
    s.assert_has(&["success rate (%)", "client", "retries", "token-bucket"]);
    assert!(!s.has("no-retries") && !s.has("breaker"));
    assert_eq!(s.data_lines, ["#D55E00", "#009E73"]);
    assert_eq!(s.polygons, 2);
    // Squares and triangles, no circles (those are no-retries').
    assert_eq!(s.outline_markers.len(), 2 * (5 + 1));
    let rows = csv_rows(&files, "success-rate.csv");
    assert_eq!(rows[0].len(), 1 + 3 * 2);
    assert_eq!(rows[3][1], "0.94");
}

#[test]
fn latency_percentiles_of_several_clients_one_panel_per_percentile() {
    let files = render(&fixture("sweep-entities.json")).unwrap();
    let s = svg(&files, "latency.svg");
    assert_eq!(
        s.title,
        "Latency p50/p99 vs services[0].failure_probability"
    );
    s.assert_has(&[
        "p50",
        "p99",
        "latency (ms, log scale)",
        "client",
        "retries",
        "token-bucket",
    ]);
    // Two panels of two lines; the missing last point leaves a gap.
    assert_eq!(s.data_lines.len(), 4);
    assert_eq!(s.series(), 2);
    assert_eq!(s.polygons, 4);
    let rows = csv_rows(&files, "latency.csv");
    assert_eq!(rows[0].len(), 1 + 3 * 4);
    assert_eq!(rows[0][4], "clients.retries.latency_ms.p99.mean");
    assert_eq!(rows[5][1..], vec![""; 12][..]);
}

#[test]
fn a_kind_of_one_entity_renders_as_its_own_chart() {
    let doc = fixture("sweep-entities.json");
    let files = render(&doc).unwrap();
    let s = svg(&files, "load-amplification-service.svg");
    assert_eq!(
        s.title,
        "Load amplification of service service vs services[0].failure_probability"
    );
    s.assert_has(&[
        "load amplification (arrivals per request)",
        "service service",
    ]);
    assert_eq!(s.series(), 1);
    assert_eq!(s.circles, 5, "filled dots, as before");
    assert!(s.outline_markers.is_empty());
    let rows = csv_rows(&files, "load-amplification-service.csv");
    assert_eq!(
        rows[0],
        [
            "services[0].failure_probability",
            "metric",
            "mean",
            "ci_low",
            "ci_high",
            "cells"
        ]
    );
    // The same bytes as from a document with no other metric.
    let mut alone = doc.clone();
    for row in alone["rows"].as_array_mut().unwrap() {
        row["metrics"]
            .as_object_mut()
            .unwrap()
            .retain(|k, _| k.starts_with("services."));
    }
    let alone = render(&alone).unwrap();
    assert_eq!(
        file(&alone, "load-amplification-service.svg"),
        file(&files, "load-amplification-service.svg")
    );

    // A kind whose other entities have no point at all: one entity left.
    let mut doc = doc;
    for row in doc["rows"].as_array_mut().unwrap() {
        row["metrics"]["clients.token-bucket.success_rate"]["mean"] = Value::Null;
    }
    let files = render(&doc).unwrap();
    assert!(svg_names(&files).contains(&"success-rate-retries.svg"));
    assert!(!svg_names(&files).contains(&"success-rate.svg"));
    let s = svg(&files, "success-rate-retries.svg");
    assert_eq!(
        s.title,
        "Success rate of client retries vs services[0].failure_probability (goodput cliff)"
    );
}

#[test]
fn hinted_metrics_are_grouped_in_hint_order() {
    let mut doc = fixture("sweep-entities.json");
    doc["report"]["metrics"] = json!([
        "clients.breaker.retry_amplification",
        "clients.retries.retry_amplification",
        "clients.retries.success_rate",
        "clients.no-retries.retry_amplification",
    ]);
    let files = render(&doc).unwrap();
    assert_eq!(
        svg_names(&files),
        ["retry-amplification.svg", "success-rate-retries.svg"]
    );
    let s = svg(&files, "retry-amplification.svg");
    let legend: Vec<&String> = s
        .texts
        .iter()
        .filter(|t| CLIENTS.contains(&t.as_str()))
        .collect();
    assert_eq!(legend, ["breaker", "retries", "no-retries"]);
    // Colours still follow the rows' order of clients.
    assert_eq!(s.data_lines, ["#E69F00", "#D55E00", "#0072B2"]);
    let index = file(&files, "index.html");
    assert!(
        index.contains("<td>one line per</td><td>client</td>"),
        "{index}"
    );
    assert!(index.contains("<th>clients.breaker.retry_amplification (95% CI)</th>"));
    assert!(!index.contains("<th>clients.throttle.retry_amplification (95% CI)</th>"));
}

#[test]
fn with_a_series_parameter_every_metric_keeps_its_own_chart() {
    let mut doc = fixture("sweep-entities.json");
    doc["parameters"] = json!(["services[0].failure_probability", "clients[0].timeout"]);
    for (i, row) in doc["rows"].as_array_mut().unwrap().iter_mut().enumerate() {
        let t = if i % 2 == 0 { "100ms" } else { "200ms" };
        row["params"]["clients[0].timeout"] = json!(t);
    }
    let files = render(&doc).unwrap();
    let names = svg_names(&files);
    for c in CLIENTS {
        let name = format!("retry-amplification-{c}.svg");
        assert!(names.contains(&name.as_str()), "{names:?}");
    }
    assert!(!names.contains(&"retry-amplification.svg"));
    let s = svg(&files, "retry-amplification-retries.svg");
    assert_eq!(
        s.title,
        "Retry amplification of client retries vs services[0].failure_probability"
    );
    s.assert_has(&["clients[0].timeout", "100ms", "200ms"]);
    assert_eq!(s.series(), 2);
    // Series values are told apart by colour, marker and dash (not by
    // the per-client styling of entity charts).
    let mut patterns = s.dash_arrays.clone();
    patterns.dedup();
    assert_eq!(patterns.len(), 2, "{:?}", s.dash_arrays);
    let index = file(&files, "index.html");
    assert!(!index.contains("<td>one line per</td>"));
}

fn error(doc: &Value) -> String {
    match render(doc) {
        Ok(files) => panic!(
            "rendered {:?}",
            files.iter().map(|f| &f.name).collect::<Vec<_>>()
        ),
        Err(e) => {
            let m = e.to_string();
            assert!(!m.contains('\n'), "one line: {m}");
            m
        }
    }
}

#[test]
fn wrong_kinds_of_documents_are_refused() {
    let m = error(&json!({"kind": "baseline", "rows": []}));
    assert!(
        m.contains("kind \"baseline\" is not a run, sweep or exploration"),
        "{m}"
    );
    assert!(m.contains("expected \"run\""), "{m}");
    let m = error(&json!({"scenario": "x"}));
    assert!(m.contains("no \"kind\""), "{m}");
    let m = error(&json!([1, 2]));
    assert!(m.contains("not a JSON object"), "{m}");
}

#[test]
fn run_documents_missing_what_the_charts_need() {
    let base = fixture("run-s1.json");
    let mut doc = base.clone();
    doc.as_object_mut().unwrap().remove("series");
    let m = error(&doc);
    assert!(m.contains("run document: no \"series\""), "{m}");

    let mut doc = base.clone();
    doc["series"]["clients"]["rpc"]
        .as_object_mut()
        .unwrap()
        .remove("ok");
    let m = error(&doc);
    assert_eq!(m, "series.clients.rpc: missing field `ok`");

    let mut doc = base.clone();
    doc["series"]["clients"]["rpc"]["failed"] = json!([1, "x"]);
    let m = error(&doc);
    assert!(
        m.starts_with("series.clients.rpc.failed[1]: invalid type: string \"x\", expected u64"),
        "{m}"
    );

    let mut doc = base.clone();
    doc["clients"] = json!({});
    doc.as_object_mut().unwrap().remove("buses");
    let m = error(&doc);
    assert!(m.contains("no \"clients\" and no \"buses\""), "{m}");

    let mut doc = base.clone();
    doc["series"]["bucket_s"] = json!(0);
    let m = error(&doc);
    assert!(m.contains("series.bucket_s"), "{m}");

    let mut doc = base;
    doc.as_object_mut().unwrap().remove("scenario");
    assert_eq!(error(&doc), "missing field `scenario`");
}

#[test]
fn sweep_documents_missing_what_the_charts_need() {
    let base = fixture("sweep-retries-timeout.json");

    let mut doc = base.clone();
    for row in doc["rows"].as_array_mut().unwrap() {
        row["metrics"] =
            json!({"clients.rpc.attempts": {"mean": 3.0, "ci_low": null, "ci_high": null, "n": 1}});
    }
    let m = error(&doc);
    assert!(m.contains("none of the metrics a chart needs"), "{m}");
    assert!(m.contains("rows have: clients.rpc.attempts"), "{m}");

    let mut doc = base.clone();
    doc["report"] = json!({"metrics": ["clients.rpc.goodput"]});
    let m = error(&doc);
    assert!(
        m.contains("report.metrics names clients.rpc.goodput, which no row has"),
        "{m}"
    );

    let mut doc = base.clone();
    doc["report"] = json!({"x": "clients[0].deadline"});
    let m = error(&doc);
    assert!(
        m.contains("report.x names clients[0].deadline, which is not a swept parameter"),
        "{m}"
    );

    let mut doc = base.clone();
    doc["rows"][3]["params"]
        .as_object_mut()
        .unwrap()
        .remove("clients[0].timeout");
    let m = error(&doc);
    assert_eq!(
        m,
        "sweep results: row 3 has no value for parameter clients[0].timeout"
    );

    let mut doc = base.clone();
    doc["rows"] = json!([]);
    assert!(error(&doc).contains("\"rows\" is empty"));

    let mut doc = base;
    doc.as_object_mut().unwrap().remove("parameters");
    assert_eq!(error(&doc), "missing field `parameters`");
}

/// A Student-t interval that reaches below zero for a quantity that cannot
/// (an amplification) is cut at zero: the axis does not go negative.
#[test]
fn bands_of_nonnegative_metrics_stop_at_zero() {
    let mut doc = fixture("sweep-entities.json");
    let row = &mut doc["rows"][3]["metrics"]["clients.throttle.retry_amplification"];
    row["mean"] = serde_json::json!(0.05);
    row["ci_low"] = serde_json::json!(-0.6);
    let files = render(&doc).unwrap();
    let s = svg(&files, "retry-amplification.svg");
    let negative: Vec<&String> = s
        .texts
        .iter()
        .filter(|t| {
            t.replace('\u{2212}', "-")
                .parse::<f64>()
                .is_ok_and(|v| v < 0.0)
        })
        .collect();
    assert!(negative.is_empty(), "negative ticks: {negative:?}");
    // The CSV keeps the interval as computed.
    let rows = csv_rows(&files, "retry-amplification.csv");
    assert!(rows.iter().flatten().any(|c| c == "-0.6"), "{rows:?}");
}

/// Faults over the same window share one shade and one label, so the
/// labels do not sit on top of each other.
#[test]
fn faults_over_one_window_share_a_label() {
    let mut doc = fixture("run-s1.json");
    let first = doc["series"]["faults"][0].clone();
    let mut twin = first.clone();
    twin["target"] = json!("cache");
    doc["series"]["faults"].as_array_mut().unwrap().push(twin);
    let files = render(&doc).unwrap();
    let s = svg(&files, "timeseries-rpc.svg");
    assert!(s.has("outage: backend, cache"), "{:?}", s.texts);
    assert!(!s.has("outage: backend"));
    let shaded = s
        .rects
        .iter()
        .filter(|(f, o)| f == "#999999" && o == "0.22")
        .count();
    assert_eq!(shaded, 3, "one shade per panel, and the legend swatch");
    assert!(s.contains("faults: outage: backend, cache 0.3–0.6 s"));
}

/// An exploration's document renders its P(collapse) chart (and, with two
/// axes, the boundary curve); a malformed one is refused by field.
#[test]
fn an_exploration_renders_its_charts() {
    let point = |x: f64, row: Option<f64>, k: u64| {
        let mut at = vec![x];
        at.extend(row);
        json!({"at": at, "replications": 10, "collapses": k, "p_collapse": k as f64 / 10.0,
               "wilson": [0.0, 1.0], "time_to_recover_s": null})
    };
    let doc = |two: bool| {
        let rows: Vec<Option<f64>> = if two {
            vec![Some(1.0), Some(2.0)]
        } else {
            vec![None]
        };
        let mut axes =
            vec![json!({"path": "services[0].workers", "low": 1.0, "high": 9.0, "integer": true})];
        if two {
            axes.push(json!({"path": "clients[0].workload.rate_per_s", "low": 1.0, "high": 2.0, "integer": false}));
        }
        json!({
            "kind": "explore", "scenario": "x", "seed": 1, "axes": axes, "criterion": "unhealthy",
            "level": 0.5, "tolerance": 1.0, "confidence": 0.95, "batch": 10, "max_replications": 100,
            "boundaries": rows.iter().map(|r| json!({"row": r, "status": "found", "estimate": 5.0,
                "bracket": [4.0, 6.0], "increasing": false})).collect::<Vec<_>>(),
            "points": rows.iter().flat_map(|&r| [point(1.0, r, 10), point(9.0, r, 0)]).collect::<Vec<_>>(),
        })
    };
    let files = sim_report::render_json(&doc(false)).unwrap();
    let names: Vec<&str> = files.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["p-collapse.svg", "p-collapse.csv", "index.html"]);
    let files = sim_report::render_json(&doc(true)).unwrap();
    assert!(files.iter().any(|f| f.name == "boundary.svg"));
    let csv = files.iter().find(|f| f.name == "boundary.csv").unwrap();
    assert!(String::from_utf8_lossy(&csv.bytes).contains("2,found,5,4,6"));
    let mut bad = doc(true);
    bad["points"][0]["at"] = json!([1.0]);
    let m = error(&bad);
    assert!(m.contains("points"), "{m}");
}
