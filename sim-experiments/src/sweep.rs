//! Sweep files (`*.sweep.ron`): a base scenario, a grid over scenario field
//! paths, replications per cell. This module reads and checks them and
//! expands the grid into cells; `sweepdir` owns the output directory.
//!
//! See docs/sweeps.md for the format. Cells are the cartesian product of the
//! grid in grid order, the last parameter varying fastest; cell i,
//! replication k runs with master seed `seed + k` for every cell (common
//! random numbers).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use ron::value::RawValue;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sim_core::SimDuration;
use sim_models::results::METRIC_GROUPS;
use sim_models::scenario::{self, Scenario, ScenarioError, ScenarioFile};
use sim_results::run::Named;
pub use sim_results::sweep::ReportHints;

use crate::error::{Error, Result};
use crate::scenarios::{self, Source};

/// At most this many cells (file names have six digits).
pub const MAX_CELLS: usize = 1_000_000;

/// Whether `path` names a sweep file (by its `.sweep.ron` suffix).
pub fn is_sweep_file(path: &Path) -> bool {
    path.file_name()
        .is_some_and(|n| n.to_string_lossy().ends_with(".sweep.ron"))
}

/// The sweep file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SweepFile {
    name: String,
    #[serde(default)]
    description: String,
    /// Base scenario, relative to the sweep file's directory.
    scenario: String,
    /// Per cell; default: the scenario's.
    #[serde(default)]
    replications: Option<u32>,
    /// Master seed; default: the scenario's.
    #[serde(default)]
    seed: Option<u64>,
    grid: Vec<GridEntry>,
    #[serde(default)]
    metrics: Option<Vec<String>>,
    #[serde(default)]
    report: Option<ReportHints>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct GridEntry {
    path: String,
    #[serde(default)]
    values: Option<Vec<Box<RawValue>>>,
    #[serde(default)]
    range: Option<RangeSpec>,
    /// Short names for `values`, one each, used instead of their RON text in
    /// results (legends, CSV headers): `["immediate", "budget"]`.
    #[serde(default)]
    labels: Option<Vec<String>>,
    /// What the parameter is, in words, for chart titles, axes and legends
    /// (`"retry policy"`); default: its path.
    #[serde(default)]
    name: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RangeSpec {
    start: Box<RawValue>,
    end: Box<RawValue>,
    step: Box<RawValue>,
}

/// One grid dimension, expanded: the values (serde's JSON form, as set at
/// the path) and their labels (RON text as written, or generated for
/// ranges).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dimension {
    pub path: String,
    pub values: Vec<Value>,
    pub labels: Vec<String>,
    /// The sweep file's name for the parameter, if it gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// Everything needed to interpret an output directory, written as its
/// `sweep.json`: identical for every shard of a sweep and for the
/// unsharded run, and free of timestamps.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Always "sweep-manifest".
    pub kind: String,
    pub sweep: String,
    /// FNV-1a 64 over the crate version, the sweep file text and the base
    /// scenario text.
    pub fingerprint: String,
    pub cells: usize,
    pub description: String,
    /// The base scenario's `name`.
    pub scenario: String,
    pub seed: u64,
    pub replications: u32,
    pub parameters: Vec<String>,
    pub grid: Vec<Dimension>,
    /// The metrics kept in each row, or null for every metric leaf.
    pub metrics: Option<Vec<String>>,
    pub report: Option<ReportHints>,
    pub sim_version: String,
}

pub const MANIFEST_KIND: &str = "sweep-manifest";

impl Manifest {
    /// Per-dimension value indices of cell `i` (last dimension fastest).
    pub fn indices(&self, mut i: usize) -> Vec<usize> {
        let mut idx = vec![0; self.grid.len()];
        for (d, dim) in self.grid.iter().enumerate().rev() {
            let n = dim.values.len().max(1);
            idx[d] = i % n;
            i /= n;
        }
        idx
    }

    /// `params` (JSON values) and `labels` (RON text) of cell `i`, keyed by
    /// parameter path in grid order.
    pub fn cell_params(&self, i: usize) -> (Named<Value>, Named<String>) {
        let mut params = Named::default();
        let mut labels = Named::default();
        for (dim, j) in self.grid.iter().zip(self.indices(i)) {
            params.0.push((dim.path.clone(), dim.values[j].clone()));
            labels.0.push((dim.path.clone(), dim.labels[j].clone()));
        }
        (params, labels)
    }

    /// `path=label, ...` of cell `i`, for messages.
    pub fn describe_cell(&self, i: usize) -> String {
        let parts: Vec<String> = self
            .grid
            .iter()
            .zip(self.indices(i))
            .map(|(dim, j)| format!("{}={}", dim.path, dim.labels[j]))
            .collect();
        format!("cell {i} ({})", parts.join(", "))
    }

    /// Checks a manifest read back from disk for internal consistency.
    pub fn check(&self) -> std::result::Result<(), String> {
        if self.kind != MANIFEST_KIND {
            return Err(format!("kind is {:?}, not {MANIFEST_KIND:?}", self.kind));
        }
        let params: Vec<&String> = self.grid.iter().map(|d| &d.path).collect();
        if params != self.parameters.iter().collect::<Vec<_>>() {
            return Err("parameters do not match the grid".into());
        }
        let mut product: usize = 1;
        for d in &self.grid {
            if d.values.is_empty() || d.values.len() != d.labels.len() {
                return Err(format!("grid dimension {:?} is malformed", d.path));
            }
            product = product.saturating_mul(d.values.len());
        }
        if product != self.cells || self.cells > MAX_CELLS {
            return Err(format!(
                "cells is {}, but the grid has {product}",
                self.cells
            ));
        }
        Ok(())
    }
}

/// A sweep ready to run: its manifest and the parsed base scenario (seed
/// and replications already set to the sweep's).
pub struct LoadedSweep {
    pub file: PathBuf,
    pub manifest: Manifest,
    base: ScenarioFile,
    scenario_path: PathBuf,
}

impl LoadedSweep {
    /// The validated scenario of cell `i`, or why it is invalid (one line).
    pub fn cell_scenario(&self, i: usize) -> std::result::Result<Scenario, String> {
        let mut file = self.base.clone();
        let (params, _) = self.manifest.cell_params(i);
        for (path, value) in params {
            scenario::set_path(&mut file, &path, value).map_err(|e| format!("{path}: {e}"))?;
        }
        scenario::check(&file, &self.scenario_path).map_err(|e| match e {
            ScenarioError::Invalid { errors, .. } => errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; "),
            other => other.to_string(),
        })
    }

    /// Validates every cell (in parallel); the error names the first
    /// invalid cell by index and parameters, and how many more fail.
    pub fn check_cells(&self) -> Result<()> {
        let (count, first) = (0..self.manifest.cells)
            .into_par_iter()
            .filter_map(|i| self.cell_scenario(i).err().map(|e| (i, e)))
            .map(|f| (1usize, Some(f)))
            .reduce(
                || (0, None),
                |a, b| {
                    let first = match (a.1, b.1) {
                        (Some(x), Some(y)) => Some(if x.0 <= y.0 { x } else { y }),
                        (x, y) => x.or(y),
                    };
                    (a.0 + b.0, first)
                },
            );
        match first {
            None => Ok(()),
            Some((i, e)) => Err(Error::input(format!(
                "{}: {}: {e}{}",
                self.file.display(),
                self.manifest.describe_cell(i),
                if count > 1 {
                    format!(" (and {} more invalid cells)", count - 1)
                } else {
                    String::new()
                }
            ))),
        }
    }
}

/// 64-bit FNV-1a.
fn fnv1a64(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for b in *part {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        // A separator, so ("ab", "c") and ("a", "bc") differ.
        h ^= 0xff;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// The fingerprint of a sweep: its file text, its base scenario's text and
/// this program's version.
pub fn fingerprint(sweep_text: &str, scenario_text: &str) -> String {
    format!(
        "{:016x}",
        fnv1a64(&[
            b"sim-sweep",
            env!("CARGO_PKG_VERSION").as_bytes(),
            sweep_text.as_bytes(),
            scenario_text.as_bytes(),
        ])
    )
}

/// Reads, checks and expands a sweep file; validates every cell.
pub fn load(source: &Source) -> Result<LoadedSweep> {
    let loaded = load_unchecked(source)?;
    loaded.check_cells()?;
    Ok(loaded)
}

/// Like [`load`], without validating each cell's scenario.
fn load_unchecked(source: &Source) -> Result<LoadedSweep> {
    let file = &source.path;
    let spec: SweepFile = scenario::ron_options()
        .from_str(&source.text)
        .map_err(|e| {
            Error::input(format!(
                "{}:{}:{}: {}",
                file.display(),
                e.span.start.line,
                e.span.start.col,
                e.code
            ))
        })?;
    let invalid = |errors: Vec<String>| {
        Error::input(
            errors
                .iter()
                .map(|e| format!("{}: {e}", file.display()))
                .collect::<Vec<_>>()
                .join("\n"),
        )
    };

    // The base scenario, relative to the sweep file's directory.
    let scenario_source = base_scenario(source, &spec.scenario)?;
    let mut base = scenario::parse(&scenario_source.text, &scenario_source.path)?;

    let mut errors = Vec::new();
    if spec.name.trim().is_empty() {
        errors.push("name: must not be empty".to_string());
    }
    for (field, text) in [("name", &spec.name), ("description", &spec.description)] {
        if let Some(message) = scenario::control_char(text) {
            errors.push(format!("{field}: {message}"));
        }
    }
    if spec.replications == Some(0) {
        errors.push("replications: must be >= 1".to_string());
    } else if let Some(r) = spec
        .replications
        .filter(|&r| r > scenario::MAX_REPLICATIONS)
    {
        errors.push(format!(
            "replications: must be at most {}, got {r}",
            scenario::MAX_REPLICATIONS
        ));
    }
    let seed = spec.seed.unwrap_or(base.seed);
    let replications = spec.replications.unwrap_or(base.replications).max(1);
    base.seed = seed;
    base.replications = replications;

    let mut grid: Vec<Dimension> = Vec::new();
    for (g, entry) in spec.grid.iter().enumerate() {
        let at = format!("grid[{g}]");
        match expand(&at, entry, &base) {
            Ok(dim) => {
                if let Some(prev) = grid.iter().position(|d| d.path == dim.path) {
                    errors.push(format!(
                        "{at}.path: {:?} is already swept by grid[{prev}]",
                        dim.path
                    ));
                } else {
                    grid.push(dim);
                }
            }
            Err(mut e) => errors.append(&mut e),
        }
    }
    let parameters: Vec<String> = grid.iter().map(|d| d.path.clone()).collect();

    if let Some(metrics) = &spec.metrics {
        if metrics.is_empty() {
            errors.push("metrics: must not be empty (leave it out to keep every metric)".into());
        }
        for (i, m) in metrics.iter().enumerate() {
            let group = m.split('.').next().unwrap_or("");
            let groups: Vec<&str> = METRIC_GROUPS
                .iter()
                .copied()
                .filter(|g| *g != "engine")
                .collect();
            if !groups.contains(&group) || m.split('.').count() < 3 {
                errors.push(format!(
                    "metrics[{i}]: {m:?} is not a metric path (GROUP.NAME.METRIC with GROUP one of {}, e.g. \"clients.rpc.retry_amplification\")",
                    groups.join(", ")
                ));
            } else if metrics[..i].contains(m) {
                errors.push(format!("metrics[{i}]: {m:?} is listed twice"));
            }
        }
    }
    let report = match &spec.report {
        None => None,
        Some(r) => {
            for (field, value) in [("x", &r.x), ("series", &r.series)] {
                // Against every grid path, also those with errors above.
                if let Some(p) = value
                    && !spec.grid.iter().any(|g| g.path.trim() == p)
                {
                    errors.push(format!(
                        "report.{field}: {p:?} is not a grid parameter (parameters: {})",
                        parameters.join(", ")
                    ));
                }
            }
            if let (Some(rm), Some(m)) = (&r.metrics, &spec.metrics) {
                for (i, x) in rm.iter().enumerate() {
                    if !m.contains(x) {
                        errors.push(format!(
                            "report.metrics[{i}]: {x:?} is not one of the sweep's metrics"
                        ));
                    }
                }
            }
            Some(r.clone())
        }
    };
    let cells = grid
        .iter()
        .try_fold(1usize, |acc, d| acc.checked_mul(d.values.len()))
        .filter(|&n| n <= MAX_CELLS);
    if cells.is_none() && errors.is_empty() {
        errors.push(format!("grid: more than {MAX_CELLS} cells"));
    }
    if !errors.is_empty() {
        return Err(invalid(errors));
    }

    let manifest = Manifest {
        kind: MANIFEST_KIND.into(),
        sweep: spec.name.clone(),
        fingerprint: fingerprint(&source.text, &scenario_source.text),
        cells: cells.unwrap_or(0),
        description: spec.description.clone(),
        scenario: base.name.clone(),
        seed,
        replications,
        parameters,
        grid,
        metrics: spec.metrics.clone(),
        report,
        sim_version: env!("CARGO_PKG_VERSION").into(),
    };
    Ok(LoadedSweep {
        file: file.clone(),
        manifest,
        base,
        scenario_path: scenario_source.path,
    })
}

fn base_scenario(sweep: &Source, name: &str) -> Result<Source> {
    // A shipped sweep's base is the shipped scenario, whatever the current
    // directory holds.
    if sweep.embedded
        && let Some(s) = scenarios::embedded(name)
    {
        return Ok(s);
    }
    let dir = sweep.path.parent().unwrap_or(Path::new("."));
    let path = dir.join(name);
    if path.exists() {
        return Ok(Source {
            text: crate::io::read_text(&path)?,
            path,
            embedded: false,
        });
    }
    Err(Error::input(format!(
        "{}: scenario: {}: no such file",
        sweep.path.display(),
        path.display()
    )))
}

/// Expands one grid entry, checking its path and each value's type against
/// the base scenario. Errors carry their field path (`grid[1].range.step`).
fn expand(
    at: &str,
    entry: &GridEntry,
    base: &ScenarioFile,
) -> std::result::Result<Dimension, Vec<String>> {
    let path = entry.path.trim().to_string();
    if matches!(path.as_str(), "seed" | "replications") {
        return Err(vec![format!(
            "{at}.path: {path:?} cannot be swept; set the sweep's own `{path}`"
        )]);
    }
    if let Err(e) = scenario::get_path(base, &path) {
        return Err(vec![format!("{at}.path: {e}")]);
    }
    let (values, labels) = match (&entry.values, &entry.range) {
        (Some(_), Some(_)) | (None, None) => {
            return Err(vec![format!(
                "{at}: give either `values: [...]` or `range: (start: .., end: .., step: ..)`"
            )]);
        }
        (Some(raw), None) => {
            if raw.is_empty() {
                return Err(vec![format!("{at}.values: must not be empty")]);
            }
            let mut values = Vec::new();
            let mut labels = Vec::new();
            let mut errors = Vec::new();
            for (j, r) in raw.iter().enumerate() {
                let text = trim_ron(r.get_ron()).to_string();
                match scenario::parse_fragment(&text) {
                    Ok(v) => {
                        if let Some(k) = values.iter().position(|x| *x == v) {
                            errors.push(format!("{at}.values[{j}]: {text} repeats values[{k}]"));
                        }
                        values.push(v);
                        labels.push(text);
                    }
                    Err(e) => errors.push(format!("{at}.values[{j}]: {e}")),
                }
            }
            if !errors.is_empty() {
                return Err(errors);
            }
            (values, labels)
        }
        (None, Some(range)) => expand_range(&format!("{at}.range"), range).map_err(|e| vec![e])?,
    };
    let labels = match &entry.labels {
        None => labels,
        Some(_) if entry.values.is_none() => {
            return Err(vec![format!(
                "{at}.labels: only `values` can be labelled (a range's labels are its numbers)"
            )]);
        }
        Some(given) if given.len() != values.len() => {
            return Err(vec![format!(
                "{at}.labels: {} labels for {} values; give one per value",
                given.len(),
                values.len()
            )]);
        }
        Some(given) => {
            for (j, l) in given.iter().enumerate() {
                if l.trim().is_empty() {
                    return Err(vec![format!("{at}.labels[{j}]: must not be empty")]);
                }
                if let Some(k) = given[..j].iter().position(|x| x == l) {
                    return Err(vec![format!("{at}.labels[{j}]: {l:?} repeats labels[{k}]")]);
                }
            }
            given.clone()
        }
    };
    // Each value must fit the field's type on its own.
    let mut errors = Vec::new();
    for (j, v) in values.iter().enumerate() {
        let mut probe = base.clone();
        if let Err(e) = scenario::set_path(&mut probe, &path, v.clone()) {
            let which = if entry.values.is_some() {
                format!("{at}.values[{j}]")
            } else {
                format!("{at}.range (value {})", labels[j])
            };
            errors.push(format!("{which}: {e}"));
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let name = match &entry.name {
        Some(n) if n.trim().is_empty() || n.chars().any(char::is_control) => {
            return Err(vec![format!(
                "{at}.name: must be non-empty text on one line"
            )]);
        }
        Some(n) => Some(n.trim().to_string()),
        None => None,
    };
    Ok(Dimension {
        path,
        values,
        labels,
        name,
    })
}

/// `text` without the whitespace and comments around it (a raw value
/// keeps the comments that precede it in the file). Strings and comments
/// are skipped whole, so `"a // b"` stays intact.
fn trim_ron(text: &str) -> &str {
    let mut chars = text.char_indices().peekable();
    let (mut start, mut end) = (None, 0);
    while let Some((i, c)) = chars.next() {
        let next = chars.peek().map(|&(_, n)| n);
        match (c, next) {
            (c, _) if c.is_whitespace() => {}
            ('/', Some('/' | '*')) => {
                // Skip the whole comment, nested block comments included.
                let n = scenario::comment_len(&text[i..]).unwrap_or(1);
                while chars.peek().is_some_and(|&(j, _)| j < i + n) {
                    chars.next();
                }
            }
            (q @ ('"' | '\''), _) => {
                start.get_or_insert(i);
                end = text.len();
                while let Some((j, c)) = chars.next() {
                    if c == '\\' {
                        chars.next();
                    } else if c == q {
                        end = j + 1;
                        break;
                    }
                }
            }
            ('r', Some('"' | '#')) => {
                // Raw string r#"..."#: find the quote, then `"` + as many `#`.
                start.get_or_insert(i);
                let mut hashes = 0;
                while let Some(&(_, '#')) = chars.peek() {
                    chars.next();
                    hashes += 1;
                }
                chars.next(); // the opening quote
                end = text.len();
                while let Some((j, c)) = chars.next() {
                    if c == '"' {
                        let mut k = 0;
                        while k < hashes && chars.peek().map(|p| p.1) == Some('#') {
                            chars.next();
                            k += 1;
                        }
                        if k == hashes {
                            end = j + 1 + hashes;
                            break;
                        }
                    }
                }
            }
            (c, _) => {
                start.get_or_insert(i);
                end = i + c.len_utf8();
            }
        }
    }
    let start = start.unwrap_or(0);
    &text[start..end.max(start)]
}

/// A range's values and labels: numbers (integers when start, end and step
/// all are) or durations (when all three are duration strings). The end is
/// inclusive.
fn expand_range(
    at: &str,
    range: &RangeSpec,
) -> std::result::Result<(Vec<Value>, Vec<String>), String> {
    let texts = [
        trim_ron(range.start.get_ron()),
        trim_ron(range.end.get_ron()),
        trim_ron(range.step.get_ron()),
    ];
    let names = ["start", "end", "step"];
    let mut parsed = Vec::new();
    for (name, text) in names.iter().zip(texts) {
        parsed.push(scenario::parse_fragment(text).map_err(|e| format!("{at}.{name}: {e}"))?);
    }
    let too_many = || format!("{at}: more than {MAX_CELLS} values");
    if parsed.iter().all(Value::is_string) {
        let mut d = Vec::new();
        for ((name, v), text) in names.iter().zip(&parsed).zip(texts) {
            let s = v.as_str().unwrap_or_default();
            d.push(
                s.parse::<SimDuration>()
                    .map_err(|e| format!("{at}.{name}: {e} (in {text})"))?
                    .as_nanos(),
            );
        }
        let (start, end, step) = (d[0], d[1], d[2]);
        if step == 0 {
            return Err(format!("{at}.step: must be > 0"));
        }
        if end < start {
            return Err(format!(
                "{at}.end: must be >= start ({}), got {}",
                texts[0], texts[1]
            ));
        }
        let n = (end - start) / step + 1;
        if n > MAX_CELLS as u64 {
            return Err(too_many());
        }
        let (mut values, mut labels) = (Vec::new(), Vec::new());
        for k in 0..n {
            let text = SimDuration::from_nanos(start + k * step).to_string();
            labels.push(format!("{text:?}"));
            values.push(Value::String(text));
        }
        return Ok((values, labels));
    }
    if !parsed.iter().all(Value::is_number) {
        return Err(format!(
            "{at}: start, end and step must all be numbers or all be durations (strings like \"10ms\")"
        ));
    }
    if let [Some(start), Some(end), Some(step)] = [0, 1, 2].map(|i| parsed[i].as_i64()) {
        if step <= 0 {
            return Err(format!("{at}.step: must be > 0, got {step}"));
        }
        if end < start {
            return Err(format!("{at}.end: must be >= start ({start}), got {end}"));
        }
        let n = (i128::from(end) - i128::from(start)) / i128::from(step) + 1;
        if n > MAX_CELLS as i128 {
            return Err(too_many());
        }
        let values: Vec<i64> = (0..n as i64).map(|k| start + k * step).collect();
        return Ok((
            values.iter().map(|&x| Value::from(x)).collect(),
            values.iter().map(ToString::to_string).collect(),
        ));
    }
    let [start, end, step] = [0, 1, 2].map(|i| parsed[i].as_f64().unwrap_or(f64::NAN));
    if !step.is_finite() || step <= 0.0 {
        return Err(format!("{at}.step: must be > 0, got {}", texts[2]));
    }
    if !start.is_finite() || !end.is_finite() || end < start {
        return Err(format!(
            "{at}.end: must be >= start ({}), got {}",
            texts[0], texts[1]
        ));
    }
    // A small allowance so 0.1..=0.3 step 0.1 includes 0.3.
    let n = ((end - start) / step + 1e-9).floor() + 1.0;
    if n > MAX_CELLS as f64 {
        return Err(too_many());
    }
    let (mut values, mut labels) = (Vec::new(), Vec::new());
    for k in 0..n as u64 {
        // Twelve significant digits drop the binary noise of start + k*step.
        let x = sim_results::without_float_noise(start + k as f64 * step);
        let mut label = format!("{x}");
        if !label.contains(['.', 'e', 'E', 'N', 'i']) {
            label.push_str(".0");
        }
        values.push(serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number));
        labels.push(label);
    }
    Ok((values, labels))
}

/// `sim validate` of a sweep file: parse, check, validate every cell.
pub fn validate(source: &Source) -> Result<String> {
    let loaded = load(source)?;
    let m = &loaded.manifest;
    let mut out = String::new();
    let _ = write!(
        out,
        "{}: ok (sweep {:?}: {} cells x {} replications over {})",
        source.path.display(),
        m.sweep,
        m.cells,
        m.replications,
        if m.parameters.is_empty() {
            "no parameters".to_string()
        } else {
            m.parameters.join(", ")
        }
    );
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCENARIO: &str = r#"(
        name: "t",
        duration: "1s",
        services: [(name: "api", workers: 2, service_time: Exponential(mean: "10ms"))],
        clients: [(
            name: "c",
            workload: Poisson(rate_per_s: 50),
            target: "api",
            timeout: "100ms",
            retry: (max_attempts: 3, backoff: FullJitter(base: "10ms", cap: "1s")),
        )],
    )"#;

    fn load_text(text: &str) -> Result<LoadedSweep> {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("t.ron"), SCENARIO).unwrap();
        load(&Source {
            path: d.path().join("x.sweep.ron"),
            text: text.to_string(),
            embedded: false,
        })
    }

    #[test]
    fn cells_are_the_product_with_the_last_parameter_fastest() {
        let s = load_text(
            r#"(name: "x", scenario: "t.ron", replications: 2, grid: [
                (path: "clients[0].timeout", values: ["50ms", // fifty
                    "100ms"]),
                (path: "clients[0].retry.max_attempts", range: (start: 1, end: 3, step: 1)),
                (path: "clients[0].retry.backoff", values: [Immediate, FullJitter(base: "5ms", cap: "2s")]),
            ])"#,
        )
        .unwrap();
        let m = &s.manifest;
        assert_eq!(m.cells, 12);
        assert_eq!(m.seed, 1);
        assert_eq!(m.grid[0].labels, ["\"50ms\"", "\"100ms\""]);
        assert_eq!(m.grid[1].labels, ["1", "2", "3"]);
        assert_eq!(
            m.grid[2].values[1],
            serde_json::json!({"FullJitter": {"base": "5ms", "cap": "2s"}})
        );
        assert_eq!(m.indices(0), [0, 0, 0]);
        assert_eq!(m.indices(1), [0, 0, 1]);
        assert_eq!(m.indices(2), [0, 1, 0]);
        assert_eq!(m.indices(11), [1, 2, 1]);
        let (params, labels) = m.cell_params(7);
        assert_eq!(
            serde_json::to_value(&params).unwrap(),
            serde_json::json!({"clients[0].timeout": "100ms",
                "clients[0].retry.max_attempts": 1, "clients[0].retry.backoff": {"FullJitter": {"base": "5ms", "cap": "2s"}}})
        );
        assert_eq!(
            labels.get("clients[0].retry.backoff").unwrap(),
            "FullJitter(base: \"5ms\", cap: \"2s\")"
        );
        let sc = s.cell_scenario(7).unwrap();
        assert_eq!(sc.replications, 2);
        m.check().unwrap();
    }

    #[test]
    fn duration_and_float_ranges() {
        let s = load_text(
            r#"(name: "x", scenario: "t.ron", seed: 9, grid: [
                (path: "clients[0].timeout", range: (start: "10ms", end: "1.05s", step: "260ms")),
                (path: "services[0].failure_probability", range: (start: 0.1, end: 0.3, step: 0.1)),
            ])"#,
        )
        .unwrap();
        let m = &s.manifest;
        assert_eq!(m.seed, 9);
        assert_eq!(
            m.grid[0].values,
            ["10ms", "270ms", "530ms", "790ms", "1050ms"].map(Value::from)
        );
        assert_eq!(m.grid[0].labels[4], "\"1050ms\"");
        assert_eq!(m.grid[1].labels, ["0.1", "0.2", "0.3"]);
        assert_eq!(m.grid[1].values[2], serde_json::json!(0.3));
    }

    fn err(text: &str) -> String {
        match load_text(text) {
            Ok(_) => panic!("expected an error"),
            Err(e) => e.message,
        }
    }

    #[test]
    fn invalid_values_name_their_field_path() {
        let g = |grid: &str| {
            err(&format!(
                r#"(name: "x", scenario: "t.ron", grid: [{grid}])"#
            ))
        };
        assert!(
            g(r#"(path: "clients[0].retry.max_attempts", range: (start: 1, end: 4, step: 0))"#)
                .ends_with("grid[0].range.step: must be > 0, got 0")
        );
        assert!(
            g(r#"(path: "clients[0].timeout", range: (start: "10ms", end: "5ms", step: "1ms"))"#)
                .contains("grid[0].range.end: must be >= start")
        );
        assert!(
            g(r#"(path: "clients[0].timeout", range: (start: 1, end: "5ms", step: "1ms"))"#)
                .contains("grid[0].range: start, end and step must all be numbers")
        );
        assert!(g(r#"(path: "clients[0].timout", values: [1])"#).contains("grid[0].path:"));
        assert!(
            g(r#"(path: "clients[0].retry.max_attempts", values: [2, "many"])"#)
                .contains("grid[0].values[1]: invalid type")
        );
        assert!(
            g(r#"(path: "clients[0].timeout", values: [])"#)
                .contains("grid[0].values: must not be empty")
        );
        assert!(g(r#"(path: "clients[0].timeout")"#).contains("grid[0]: give either"));
        assert!(g(r#"(path: "seed", values: [1])"#).contains("cannot be swept"));
        assert!(
            g(r#"(path: "clients[0].timeout", values: ["1s"]), (path: "clients[0].timeout", values: ["2s"])"#)
                .contains("grid[1].path: \"clients[0].timeout\" is already swept by grid[0]")
        );
        assert!(
            g(r#"(path: "clients[0].retry.max_attempts", values: [0, 2])"#).contains(
                "cell 0 (clients[0].retry.max_attempts=0): clients[0].retry.max_attempts"
            )
        );
    }

    #[test]
    fn syntax_and_unknown_fields_have_line_and_column() {
        let e = err("(\n name: \"x\",\n scenario: \"t.ron\",\n gird: [],\n)");
        assert!(e.contains("x.sweep.ron:4:"), "{e}");
        assert!(e.contains("gird"), "{e}");
        let e = err(r#"(name: "x", scenario: "nope.ron", grid: [])"#);
        assert!(e.contains("scenario:") && e.contains("no such file"), "{e}");
        let e = err(
            r#"(name: "x", scenario: "t.ron", grid: [(path: "clients[0].timeout", values: ["1s"])], metrics: ["latency"], report: (x: "nope"))"#,
        );
        assert!(
            e.contains("metrics[0]: \"latency\" is not a metric path"),
            "{e}"
        );
        assert!(
            e.contains("report.x: \"nope\" is not a grid parameter"),
            "{e}"
        );
    }

    #[test]
    fn ron_text_is_trimmed_of_comments_but_not_strings() {
        assert_eq!(trim_ron("  // one\n  \"5ms\" /* two */ "), "\"5ms\"");
        assert_eq!(
            trim_ron("/* a /* nested */ b */ X(a: \"//\")\n// c\n"),
            "X(a: \"//\")"
        );
        assert_eq!(trim_ron(" r#\"q\"x\"# "), "r#\"q\"x\"#");
        assert_eq!(trim_ron(" 'é' "), "'é'");
        assert_eq!(trim_ron(" ünïcode "), "ünïcode");
        assert_eq!(trim_ron("\"unterminated"), "\"unterminated");
        assert_eq!(trim_ron("  "), "");
    }

    #[test]
    fn fingerprint_depends_on_every_input() {
        let a = fingerprint("s", "t");
        assert_eq!(a, fingerprint("s", "t"));
        assert_ne!(a, fingerprint("s ", "t"));
        assert_ne!(a, fingerprint("s", "t "));
        assert_ne!(fingerprint("ab", "c"), fingerprint("a", "bc"));
        assert_eq!(a.len(), 16);
    }
}
