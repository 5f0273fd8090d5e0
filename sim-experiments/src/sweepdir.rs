//! Running a sweep into its output directory, and merging shards.
//!
//! ```text
//! DIR/sweep.json              manifest (identical for every shard)
//! DIR/cells/cell-000000.json  one per finished cell, written atomically
//! DIR/results.json            every row, in cell order (when all cells are there)
//! DIR/results.csv
//! DIR/shard.json              the shards run here (`["5/16"]`), until the results are written
//! ```
//!
//! The shard record lets `merge` name the shards whose cells are missing
//! or that were run twice (a retried array task); it is removed once the
//! directory holds the results, so a finished directory has the same files
//! however it was made.
//!
//! results.* are always built from the cell files and the manifest on
//! disk, by one function, so a merged directory is byte-identical to an
//! unsharded run's. Nothing holds more than one cell's result in memory.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use rayon::prelude::*;
use serde_json::Value;
use sim_models::results::CI_LEVEL;
use sim_results::run::Num;
use sim_results::sweep::{Estimate, SweepDocument, SweepRow};
use std::io::Write as _;

use crate::error::{Error, Result};
use crate::samples::{self, Samples};
use crate::scenarios;
use crate::sweep::{self, LoadedSweep, Manifest};

pub const MANIFEST_FILE: &str = "sweep.json";
pub const RESULTS_JSON: &str = "results.json";
pub const RESULTS_CSV: &str = "results.csv";
pub const SHARD_FILE: &str = "shard.json";
const SHARD_KIND: &str = "sweep-shards";

/// Which shards were run into a directory (`DIR/shard.json`).
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ShardRecord {
    kind: String,
    /// `"K/N"`, sorted by N then K.
    shards: Vec<String>,
}

/// The shards recorded in `dir` (empty when none are).
fn read_shards(dir: &Path) -> Result<Vec<(usize, usize)>> {
    let path = dir.join(SHARD_FILE);
    let Some(bytes) = crate::io::read_if_exists(&path)? else {
        return Ok(Vec::new());
    };
    let corrupted =
        |why: String| Error::input(format!("{}: corrupted shard record: {why}", path.display()));
    let record: ShardRecord =
        serde_json::from_slice(&bytes).map_err(|e| corrupted(e.to_string()))?;
    if record.kind != SHARD_KIND {
        return Err(corrupted(format!("kind is {:?}", record.kind)));
    }
    record
        .shards
        .iter()
        .map(|s| parse_shard(s).map_err(|e| corrupted(e.message)))
        .collect()
}

/// Adds shard `(k, n)` to the record of `dir` (call it holding the lock).
fn record_shard(dir: &Path, k: usize, n: usize) -> Result<()> {
    let mut shards = read_shards(dir)?;
    if shards.contains(&(k, n)) {
        return Ok(());
    }
    shards.push((k, n));
    shards.sort_by_key(|&(k, n)| (n, k));
    let record = ShardRecord {
        kind: SHARD_KIND.into(),
        shards: shards.iter().map(|(k, n)| format!("{k}/{n}")).collect(),
    };
    crate::io::write_atomic(&dir.join(SHARD_FILE), &crate::io::json_bytes(&record))
}

/// The cells of shard `(k, n)` of a sweep of `cells` cells.
fn shard_cells(cells: usize, (k, n): (usize, usize)) -> impl Iterator<Item = usize> {
    (k - 1..cells).step_by(n)
}

/// Parses `I/N` with 1 <= I <= N.
pub fn parse_shard(s: &str) -> Result<(usize, usize)> {
    let bad = |why: &str| Error::input(format!("--shard {s}: {why}"));
    let (i, n) = s
        .split_once('/')
        .ok_or_else(|| bad("expected I/N, e.g. --shard 2/8 (the 2nd of 8 slices)"))?;
    let parse = |x: &str| x.trim().parse::<usize>();
    let (Ok(i), Ok(n)) = (parse(i), parse(n)) else {
        return Err(bad(
            "expected I/N with whole numbers, e.g. --shard 2/8 (the 2nd of 8 slices)",
        ));
    };
    if n == 0 {
        return Err(bad("N must be >= 1"));
    }
    if i == 0 || i > n {
        return Err(bad(&format!("I must be between 1 and N ({n})")));
    }
    Ok((i, n))
}

pub fn cell_path(dir: &Path, i: usize) -> PathBuf {
    dir.join("cells").join(format!("cell-{i:06}.json"))
}

/// The manifest of `dir` and its bytes, or `None` when there is none.
fn read_manifest(dir: &Path) -> Result<Option<(Manifest, Vec<u8>)>> {
    let path = dir.join(MANIFEST_FILE);
    let Some(bytes) = crate::io::read_if_exists(&path)? else {
        return Ok(None);
    };
    let corrupted = |why: String| {
        Error::input(format!(
            "{}: corrupted sweep manifest: {why}",
            path.display()
        ))
    };
    let manifest: Manifest =
        serde_json::from_slice(&bytes).map_err(|e| corrupted(e.to_string()))?;
    manifest.check().map_err(corrupted)?;
    Ok(Some((manifest, bytes)))
}

/// Whether `dir` is absent or holds nothing but stray temporary files.
fn is_empty_dir(dir: &Path) -> Result<bool> {
    match std::fs::read_dir(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(true),
        Err(e) => Err(Error::input(format!("{}: cannot read: {e}", dir.display()))),
        Ok(rd) => Ok(rd
            .filter_map(|e| e.ok())
            .all(|e| crate::io::is_temp_name(&e.file_name().to_string_lossy()))),
    }
}

/// Locks an output directory for this process and removes the temporary
/// files a killed run left in it and in its cells.
fn claim(dir: &Path) -> Result<crate::io::DirLock> {
    let lock = crate::io::lock_dir(dir)?;
    crate::io::remove_temp_files(dir)?;
    crate::io::remove_temp_files(&dir.join("cells"))?;
    Ok(lock)
}

/// Makes `dir` hold `manifest`: writes it into a new or empty directory;
/// accepts a directory that already holds the same sweep; refuses any
/// other. Returns whether the directory already held the sweep.
fn prepare(dir: &Path, manifest_bytes: &[u8], manifest: &Manifest) -> Result<bool> {
    match read_manifest(dir)? {
        Some((_, bytes)) if bytes == manifest_bytes => Ok(true),
        Some((other, _)) if other.fingerprint != manifest.fingerprint => {
            let what = if other.sweep == manifest.sweep {
                format!("an earlier version of sweep {:?}", other.sweep)
            } else {
                format!(
                    "a different sweep ({:?}; this one is {:?})",
                    other.sweep, manifest.sweep
                )
            };
            Err(Error::input(format!(
                "{}: holds {what}: {}. To start over, delete the directory or use another --out; to resume it, restore the files it was run from",
                dir.display(),
                changes(&other, manifest),
            )))
        }
        Some(_) => Err(Error::input(format!(
            "{}: corrupted sweep manifest: same fingerprint but different contents",
            dir.join(MANIFEST_FILE).display()
        ))),
        None if is_empty_dir(dir)? => {
            crate::io::write_atomic(&dir.join(MANIFEST_FILE), manifest_bytes)?;
            Ok(false)
        }
        None => Err(Error::input(format!(
            "{}: exists and is not a sweep output directory (no {MANIFEST_FILE}): choose a new or empty directory",
            dir.display()
        ))),
    }
}

/// What differs between the sweep a directory holds and this one, in
/// words: the settings that changed, or, when none did, that the text of
/// the sweep file or of its base scenario did.
fn changes(old: &Manifest, new: &Manifest) -> String {
    let mut out = Vec::new();
    if old.scenario != new.scenario {
        out.push(format!(
            "base scenario {:?} -> {:?}",
            old.scenario, new.scenario
        ));
    }
    if old.seed != new.seed {
        out.push(format!("seed {} -> {}", old.seed, new.seed));
    }
    if old.replications != new.replications {
        out.push(format!(
            "replications {} -> {}",
            old.replications, new.replications
        ));
    }
    if old.parameters != new.parameters {
        out.push(format!(
            "parameters [{}] -> [{}]",
            old.parameters.join(", "),
            new.parameters.join(", ")
        ));
    } else {
        for (a, b) in old.grid.iter().zip(&new.grid) {
            if a.values != b.values {
                out.push(format!(
                    "the values of {} ({} -> {})",
                    a.path,
                    a.labels.join(", "),
                    b.labels.join(", ")
                ));
            }
        }
    }
    if old.metrics != new.metrics {
        out.push("the metrics list".to_string());
    }
    if old.sim_version != new.sim_version {
        out.push(format!("sim {} -> {}", old.sim_version, new.sim_version));
    }
    if out.is_empty() {
        format!(
            "the sweep file or its base scenario {:?} was edited (same settings, different text)",
            new.scenario
        )
    } else {
        format!("changed: {}", out.join("; "))
    }
}

fn manifest_bytes(m: &Manifest) -> Vec<u8> {
    crate::io::json_bytes(m)
}

/// The row of cell `i`: its parameters and each metric's mean and
/// interval. Errors name a requested metric the run does not have.
fn cell_doc(m: &Manifest, i: usize, s: &Samples) -> std::result::Result<SweepRow, String> {
    let all: Vec<String>;
    let names: &[String] = match &m.metrics {
        Some(list) => {
            for (k, name) in list.iter().enumerate() {
                if !s.has(name) {
                    return Err(format!(
                        "metrics[{k}]: {name:?} is not a metric of this scenario (`sim run SCENARIO --csv` lists them)"
                    ));
                }
            }
            list
        }
        None => {
            all = s.paths().to_vec();
            &all
        }
    };
    let num = |x: Option<f64>| x.and_then(serde_json::Number::from_f64).map(Num);
    let metrics = names
        .iter()
        .map(|name| {
            let est = s.estimate(name, CI_LEVEL);
            let e = Estimate {
                mean: num(est.map(|e| e.mean)),
                ci_low: num(est.and_then(|e| e.lower())),
                ci_high: num(est.and_then(|e| e.upper())),
                n: est.map_or(0, |e| e.n as u64),
            };
            (name.clone(), e)
        })
        .collect();
    let (params, labels) = m.cell_params(i);
    Ok(SweepRow {
        cell: i as u64,
        params,
        labels,
        metrics,
    })
}

/// Checks a cell file against the manifest; returns its parsed contents.
/// The check is strict (keys in the order written) so that results.json,
/// made from the parsed rows, has the bytes of the cell files.
fn verify_cell(m: &Manifest, i: usize, bytes: &[u8]) -> std::result::Result<SweepRow, String> {
    let v: Value = serde_json::from_slice(bytes).map_err(|e| format!("not valid JSON ({e})"))?;
    let obj = v.as_object().ok_or("not a JSON object")?;
    let keys: Vec<&str> = obj.keys().map(String::as_str).collect();
    if keys != ["cell", "params", "labels", "metrics"] {
        return Err(format!(
            "keys are {keys:?}, expected [\"cell\", \"params\", \"labels\", \"metrics\"]"
        ));
    }
    let metrics = obj["metrics"]
        .as_object()
        .ok_or("\"metrics\" is not an object")?;
    for (name, e) in metrics {
        let in_order = e.as_object().is_some_and(|e| {
            e.keys()
                .map(String::as_str)
                .eq(["mean", "ci_low", "ci_high", "n"])
        });
        if !in_order {
            return Err(format!("metric {name:?} is malformed"));
        }
    }
    let row: SweepRow = sim_results::from_value(&v)?;
    if row.cell != i as u64 {
        return Err(format!("\"cell\" is {}, expected {i}", row.cell));
    }
    let (params, labels) = m.cell_params(i);
    if row.params != params || row.labels != labels {
        return Err(format!(
            "params or labels do not match cell {i} of the sweep"
        ));
    }
    if let Some(list) = &m.metrics
        && !row.metrics.names().eq(list.iter().map(String::as_str))
    {
        return Err("its metrics are not the sweep's metrics".into());
    }
    Ok(row)
}

/// The verified bytes and contents of cell `i` in `dir`, or `None` when
/// it has not been written yet. A corrupted cell file is an error (it is
/// never overwritten silently).
fn read_cell(dir: &Path, m: &Manifest, i: usize) -> Result<Option<(Vec<u8>, SweepRow)>> {
    let path = cell_path(dir, i);
    let Some(bytes) = crate::io::read_if_exists(&path)? else {
        return Ok(None);
    };
    let v = verify_cell(m, i, &bytes).map_err(|why| {
        Error::input(format!(
            "{}: corrupted cell result: {why}; delete the file to recompute the cell",
            path.display()
        ))
    })?;
    Ok(Some((bytes, v)))
}

/// `0-3, 7, 9-12` (the first 20 runs).
fn ranges(cells: &[usize]) -> String {
    let mut runs: Vec<(usize, usize)> = Vec::new();
    for &c in cells {
        match runs.last_mut() {
            Some((_, end)) if *end + 1 == c => *end = c,
            _ => runs.push((c, c)),
        }
    }
    let mut parts: Vec<String> = runs
        .iter()
        .take(20)
        .map(|&(a, b)| {
            if a == b {
                a.to_string()
            } else {
                format!("{a}-{b}")
            }
        })
        .collect();
    if runs.len() > 20 {
        parts.push("...".into());
    }
    parts.join(", ")
}

/// Cells are read back in chunks of this many per thread: parallel, with
/// memory bounded by the chunk, not by the number of cells.
const CHUNK_PER_THREAD: usize = 16;

/// Maps `f` over the cells `0..n` in parallel, chunk by chunk, handing each
/// chunk's results to `sink` in cell order.
fn for_cells_in_order<T: Send>(
    n: usize,
    f: impl Fn(usize) -> Result<T> + Sync,
    mut sink: impl FnMut(usize, T) -> Result<()>,
) -> Result<()> {
    let chunk = (rayon::current_num_threads() * CHUNK_PER_THREAD).max(1);
    for start in (0..n).step_by(chunk) {
        let end = (start + chunk).min(n);
        let got: Vec<Result<T>> = (start..end).into_par_iter().map(&f).collect();
        for (i, r) in (start..end).zip(got) {
            sink(i, r?)?;
        }
    }
    Ok(())
}

/// `text` with every line indented by `pad`.
fn indent(text: &str, pad: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    for (k, line) in text.lines().enumerate() {
        if k > 0 {
            out.push('\n');
        }
        out.push_str(pad);
        out.push_str(line);
    }
    out
}

/// Writes results.json and results.csv from the manifest and the cell
/// files of `dir`; every cell must be there. Cells are read a chunk at a
/// time, in parallel, and written in cell order.
fn finalize(dir: &Path) -> Result<()> {
    let (m, _) = read_manifest(dir)?
        .ok_or_else(|| Error::input(format!("{}: no {MANIFEST_FILE}", dir.display())))?;
    // Pass 1: every cell present and sound; the metric columns (the
    // sweep's list, or every metric of any row in order of appearance).
    let mut missing = Vec::new();
    let mut names: Vec<String> = m.metrics.clone().unwrap_or_default();
    let mut seen: HashSet<String> = names.iter().cloned().collect();
    for_cells_in_order(
        m.cells,
        |i| {
            Ok(read_cell(dir, &m, i)?.map(|(_, row)| match &m.metrics {
                None => row.metrics.names().map(str::to_string).collect(),
                Some(_) => Vec::new(),
            }))
        },
        |i, keys: Option<Vec<String>>| {
            match keys {
                None => missing.push(i),
                Some(keys) => {
                    for k in keys {
                        if seen.insert(k.clone()) {
                            names.push(k);
                        }
                    }
                }
            }
            Ok(())
        },
    )?;
    if !missing.is_empty() {
        return Err(Error::input(format!(
            "{}: {} of {} cells missing: {}",
            dir.display(),
            missing.len(),
            m.cells,
            ranges(&missing)
        )));
    }

    // Pass 2: both files at once. results.json is pretty JSON: the header
    // fields, then "rows" holding each cell file's contents.
    let mut json = crate::io::AtomicFile::create(&dir.join(RESULTS_JSON))?;
    let mut csv_file = crate::io::AtomicFile::create(&dir.join(RESULTS_CSV))?;
    let head = SweepDocument {
        kind: "sweep".into(),
        sweep: m.sweep.clone(),
        description: m.description.clone(),
        scenario: m.scenario.clone(),
        seed: m.seed,
        replications: m.replications.into(),
        parameters: m.parameters.clone(),
        parameter_names: m
            .grid
            .iter()
            .filter_map(|d| Some((d.path.clone(), d.name.clone()?)))
            .collect(),
        report: m.report.clone(),
        rows: Vec::new(),
    };
    let head = serde_json::to_string_pretty(&head).expect("JSON serializes");
    let head = head
        .strip_suffix(",\n  \"rows\": []\n}")
        .expect("a pretty JSON object ending with its rows");
    let mut header = vec!["cell".to_string()];
    header.extend(m.parameters.iter().cloned());
    for n in &names {
        header.push(n.clone());
        header.push(format!("{n}.ci_low"));
        header.push(format!("{n}.ci_high"));
    }
    {
        let jerr = |e: std::io::Error| {
            Error::runtime(format!(
                "{}: cannot write: {e}",
                dir.join(RESULTS_JSON).display()
            ))
        };
        let cerr = |e: csv::Error| {
            Error::runtime(format!(
                "{}: cannot write: {e}",
                dir.join(RESULTS_CSV).display()
            ))
        };
        let jw = json.writer();
        jw.write_all(head.as_bytes()).map_err(jerr)?;
        jw.write_all(b",\n  \"rows\": [\n").map_err(jerr)?;
        let mut cw = csv::Writer::from_writer(csv_file.writer());
        cw.write_record(&header).map_err(cerr)?;
        // Spreadsheets get numbers without float noise; results.json keeps
        // every bit.
        let fmt = |x: &Option<Num>| {
            x.as_ref()
                .map(|n| sim_results::csv_number(n.get()))
                .unwrap_or_default()
        };
        for_cells_in_order(
            m.cells,
            |i| {
                let (_, v) = read_cell(dir, &m, i)?
                    .ok_or_else(|| Error::input(format!("cell {i} vanished")))?;
                let row = indent(
                    &serde_json::to_string_pretty(&v).expect("JSON serializes"),
                    "    ",
                );
                let mut rec = vec![i.to_string()];
                for p in &m.parameters {
                    rec.push(v.labels.get(p).cloned().unwrap_or_default());
                }
                for n in &names {
                    match v.metrics.get(n) {
                        Some(e) => {
                            rec.push(fmt(&e.mean));
                            rec.push(fmt(&e.ci_low));
                            rec.push(fmt(&e.ci_high));
                        }
                        None => rec.extend([String::new(), String::new(), String::new()]),
                    }
                }
                Ok((row, rec))
            },
            |i, (row, rec)| {
                if i > 0 {
                    jw.write_all(b",\n").map_err(jerr)?;
                }
                jw.write_all(row.as_bytes()).map_err(jerr)?;
                cw.write_record(&rec).map_err(cerr)
            },
        )?;
        jw.write_all(b"\n  ]\n}\n").map_err(jerr)?;
        cw.flush().map_err(|e| cerr(e.into()))?;
    }
    json.commit()?;
    csv_file.commit()?;
    // The directory is complete: it no longer stands for some shards.
    match std::fs::remove_file(dir.join(SHARD_FILE)) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::runtime(format!(
            "{}: cannot remove: {e}",
            dir.join(SHARD_FILE).display()
        ))),
        _ => Ok(()),
    }
}

/// Follows a sweep's progress (a progress bar in the `sim` command).
pub trait Progress: Sync {
    /// `cells` are about to run (the finished ones are not counted).
    fn start(&self, cells: usize) {
        let _ = cells;
    }
    /// One more cell is done.
    fn advance(&self) {}
    /// The run is over (finished or failed).
    fn finish(&self) {}
}

/// No progress reporting.
pub struct Quiet;

impl Progress for Quiet {}

/// What one `run_sweep` did.
#[derive(Clone, Debug)]
pub struct SweepRun {
    /// The sweep's name.
    pub sweep: String,
    /// The shard run, `(k, n)`; `(1, 1)` without sharding.
    pub shard: (usize, usize),
    /// Cells of this shard.
    pub cells: usize,
    pub replications: u32,
    /// Cells run now.
    pub ran: usize,
    /// Cells found finished and skipped.
    pub already_done: usize,
    /// Whether results.json and results.csv were written (an unsharded run).
    pub wrote_results: bool,
}

/// What one `merge` did.
#[derive(Clone, Debug)]
pub struct Merged {
    pub sweep: String,
    pub cells: usize,
    /// Cells copied from the shard directories (the rest were in `out`).
    pub copied: usize,
    /// Shard directories read (`out` itself excluded).
    pub shards: usize,
    /// Cells in none of the directories (a partial merge; otherwise empty),
    /// and what they are, by shard.
    pub missing: Vec<usize>,
    pub missing_text: String,
    /// Things worth knowing that are no error: a shard run in two
    /// directories (a retried task), shards of different splits.
    pub notes: Vec<String>,
}

/// The directories a merge reads, with the shards each recorded.
struct ShardDirs<'a> {
    dirs: Vec<(&'a Path, Vec<(usize, usize)>)>,
}

impl ShardDirs<'_> {
    /// The one split `n` all recorded shards share, if they do.
    fn split(&self) -> Option<usize> {
        let mut ns = self
            .dirs
            .iter()
            .flat_map(|(_, s)| s.iter().map(|&(_, n)| n));
        let n = ns.next()?;
        ns.all(|m| m == n).then_some(n)
    }

    fn ran(&self, shard: (usize, usize)) -> Vec<&Path> {
        self.dirs
            .iter()
            .filter(|(_, s)| s.contains(&shard))
            .map(|(d, _)| *d)
            .collect()
    }

    /// Shards run in more than one directory, and mixed splits.
    fn notes(&self) -> Vec<String> {
        let mut all: Vec<(usize, usize)> = self
            .dirs
            .iter()
            .flat_map(|(_, s)| s.iter().copied())
            .collect();
        all.sort_by_key(|&(k, n)| (n, k));
        all.dedup();
        let mut notes = Vec::new();
        for &(k, n) in &all {
            let dirs = self.ran((k, n));
            if dirs.len() > 1 {
                notes.push(format!(
                    "shard {k}/{n} was run in {} directories ({}): a retried task? Their cells agree, so each counts once",
                    dirs.len(),
                    dirs.iter()
                        .map(|d| d.display().to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
        }
        if self.split().is_none() && !all.is_empty() {
            let mut splits: Vec<usize> = all.iter().map(|&(_, n)| n).collect();
            splits.dedup();
            notes.push(format!(
                "the directories hold shards of {} different splits (into {} slices); their cells agree",
                splits.len(),
                splits
                    .iter()
                    .map(|n| n.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        notes
    }

    /// The missing cells by shard, when the directories name one split:
    /// "shard 5/16 (DIR) lacks 3 of its 13 cells; shard 9/16 was run in
    /// none of the directories".
    fn describe_missing(&self, cells: usize, missing: &[usize]) -> Option<String> {
        let n = self.split()?;
        let mut parts = Vec::new();
        let mut shards = 0;
        for k in 1..=n {
            let of_shard = shard_cells(cells, (k, n)).count();
            let lacking = missing.iter().filter(|&&i| i % n == k - 1).count();
            if lacking == 0 {
                continue;
            }
            shards += 1;
            if parts.len() == 10 {
                continue;
            }
            let dirs = self.ran((k, n));
            parts.push(if dirs.is_empty() {
                format!("shard {k}/{n} was run in none of the directories")
            } else {
                format!(
                    "shard {k}/{n} ({}) lacks {lacking} of its {of_shard} cells",
                    dirs.iter()
                        .map(|d| d.display().to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            });
        }
        if shards > parts.len() {
            parts.push(format!("{} more shards", shards - parts.len()));
        }
        Some(parts.join("; "))
    }
}

/// Runs the cells of sweep `source` (of shard `(k, n)` when given) into
/// the output directory `out`, skipping those already finished there; an
/// unsharded run also writes results.json and results.csv. Cells run in
/// parallel on rayon's current pool; outputs never depend on its size.
pub fn run_sweep(
    source: &scenarios::Source,
    out: &Path,
    shard: Option<(usize, usize)>,
    max_events: Option<u64>,
    progress: &dyn Progress,
) -> Result<SweepRun> {
    let loaded = sweep::load(source)?;
    let m = &loaded.manifest;
    let bytes = manifest_bytes(m);
    prepare(out, &bytes, m)?;
    let _lock = claim(out)?;

    let (k, n) = shard.unwrap_or((1, 1));
    if n > 1 {
        record_shard(out, k, n)?;
    }
    let mine: Vec<usize> = shard_cells(m.cells, (k, n)).collect();
    // Finished cells are checked (in parallel) and skipped.
    let mut pending = Vec::new();
    for_cells_in_order(
        mine.len(),
        |j| Ok(read_cell(out, m, mine[j])?.is_none()),
        |j, absent| {
            if absent {
                pending.push(mine[j]);
            }
            Ok(())
        },
    )?;
    let already = mine.len() - pending.len();
    progress.start(pending.len());
    let result: Result<()> = pending.par_iter().try_for_each(|&i| {
        run_cell(&loaded, out, i, max_events)?;
        progress.advance();
        Ok(())
    });
    progress.finish();
    result?;
    if n == 1 {
        finalize(out)?;
    }
    Ok(SweepRun {
        sweep: m.sweep.clone(),
        shard: (k, n),
        cells: mine.len(),
        replications: m.replications,
        ran: pending.len(),
        already_done: already,
        wrote_results: n == 1,
    })
}

fn run_cell(loaded: &LoadedSweep, out: &Path, i: usize, max_events: Option<u64>) -> Result<()> {
    let m = &loaded.manifest;
    let file = loaded.file.display();
    let scenario = loaded
        .cell_scenario(i)
        .map_err(|e| Error::input(format!("{file}: {}: {e}", m.describe_cell(i))))?;
    let samples = samples::run_replications(&scenario, m.seed, max_events)
        .map_err(|e| e.context(m.describe_cell(i)))?;
    let doc = cell_doc(m, i, &samples).map_err(|e| Error::input(format!("{file}: {e}")))?;
    crate::io::write_atomic(&cell_path(out, i), &crate::io::json_bytes(&doc))
}

/// Combines the output directories `dirs` of shards of one sweep into
/// `out` (which may be one of them): the same bytes as an unsharded run.
/// Merging again, or with a shard run twice, gives the same bytes: a cell
/// is a file named by its index, so it counts once. With cells missing it
/// fails naming them by shard, unless `partial`: then it copies what is
/// there, writes no results, and says what is missing.
pub fn merge(dirs: &[PathBuf], out: &Path, partial: bool) -> Result<Merged> {
    // Every directory holds the same manifest.
    let mut reference: Option<(PathBuf, Manifest, Vec<u8>)> = None;
    for d in dirs {
        let (m, bytes) = read_manifest(d)?.ok_or_else(|| {
            Error::input(format!(
                "{}: not a sweep output directory (no {MANIFEST_FILE})",
                d.display()
            ))
        })?;
        match &reference {
            None => reference = Some((d.clone(), m, bytes)),
            Some((rd, rm, rb)) if *rb != bytes => {
                return Err(Error::input(format!(
                    "{} holds sweep {:?} (fingerprint {}), but {} holds sweep {:?} (fingerprint {}): only shards of one sweep can be merged",
                    d.display(),
                    m.sweep,
                    m.fingerprint,
                    rd.display(),
                    rm.sweep,
                    rm.fingerprint
                )));
            }
            Some(_) => {}
        }
    }
    let (_, m, bytes) = reference.ok_or_else(|| Error::input("no shard directory to merge"))?;
    let out_has_manifest = match read_manifest(out)? {
        Some((om, ob)) if ob != bytes => {
            return Err(Error::input(format!(
                "{}: holds a different sweep ({:?}, fingerprint {}; the shards hold {:?}, fingerprint {}): use another --out",
                out.display(),
                om.sweep,
                om.fingerprint,
                m.sweep,
                m.fingerprint
            )));
        }
        Some(_) => true,
        None if is_empty_dir(out)? => false,
        None => {
            return Err(Error::input(format!(
                "{}: exists and is not a sweep output directory (no {MANIFEST_FILE}): choose a new or empty directory",
                out.display()
            )));
        }
    };
    let canon = |p: &Path| p.canonicalize().unwrap_or_else(|_| p.to_path_buf());
    let out_canon = canon(out);
    let shards: Vec<&PathBuf> = dirs.iter().filter(|d| canon(d) != out_canon).collect();

    // Pass 1: where each cell is (None: already in DIR); shards must agree
    // byte for byte.
    let mut from: Vec<Option<u32>> = vec![None; m.cells];
    let mut missing = Vec::new();
    for_cells_in_order(
        m.cells,
        |i| {
            let mut found: Option<(Vec<u8>, &Path, Option<u32>)> = if out_has_manifest {
                read_cell(out, &m, i)?.map(|(b, _)| (b, out, None))
            } else {
                None
            };
            for (s, d) in shards.iter().enumerate() {
                if let Some((b, _)) = read_cell(d, &m, i)? {
                    match &found {
                        Some((fb, fd, _)) if *fb != b => {
                            return Err(Error::input(format!(
                                "cell {i} differs between {} and {}: were they run by different builds?",
                                fd.display(),
                                d.display()
                            )));
                        }
                        Some(_) => {}
                        None => found = Some((b, d.as_path(), Some(s as u32))),
                    }
                }
            }
            Ok(found.map(|f| f.2))
        },
        |i, found| {
            match found {
                None => missing.push(i),
                Some(src) => from[i] = src,
            }
            Ok(())
        },
    )?;
    let mut recorded = ShardDirs { dirs: Vec::new() };
    for d in dirs {
        recorded.dirs.push((d.as_path(), read_shards(d)?));
    }
    let missing_text = if missing.is_empty() {
        String::new()
    } else {
        let by_shard = recorded
            .describe_missing(m.cells, &missing)
            .map(|t| format!(" ({t})"))
            .unwrap_or_default();
        format!(
            "{} of {} cells are in none of the directories: {}{by_shard}",
            missing.len(),
            m.cells,
            ranges(&missing),
        )
    };
    if !missing.is_empty() && !partial {
        return Err(Error::input(format!(
            "{missing_text}. Run those shards (a rerun resumes), then merge again; --partial merges what is there"
        )));
    }
    // Pass 2: copy (verbatim bytes), then the results.
    if !out_has_manifest {
        crate::io::write_atomic(&out.join(MANIFEST_FILE), &bytes)?;
    }
    let _lock = claim(out)?;
    let copied = AtomicUsize::new(0);
    from.par_iter()
        .enumerate()
        .filter_map(|(i, s)| s.map(|s| (i, s)))
        .try_for_each(|(i, s)| -> Result<()> {
            let (b, _) = read_cell(shards[s as usize], &m, i)?
                .ok_or_else(|| Error::input(format!("cell {i} vanished during the merge")))?;
            crate::io::write_atomic(&cell_path(out, i), &b)?;
            copied.fetch_add(1, Ordering::Relaxed);
            Ok(())
        })?;
    let copied = copied.into_inner();
    if missing.is_empty() {
        finalize(out)?;
    }
    Ok(Merged {
        sweep: m.sweep.clone(),
        cells: m.cells,
        copied,
        shards: shards.len(),
        missing,
        missing_text,
        notes: recorded.notes(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_specs() {
        assert_eq!(parse_shard("2/4").unwrap(), (2, 4));
        assert_eq!(parse_shard("1/1").unwrap(), (1, 1));
        for bad in ["3/2", "0/0", "0/3", "x", "1/", "-1/2", "2"] {
            let e = parse_shard(bad).unwrap_err();
            assert_eq!(e.kind, crate::ErrorKind::Input);
            assert!(
                e.message.starts_with(&format!("--shard {bad}: ")),
                "{}",
                e.message
            );
            assert!(!e.message.contains('\n'));
        }
    }

    #[test]
    fn cells_are_handed_over_in_order_across_chunks() {
        let n = rayon::current_num_threads() * CHUNK_PER_THREAD * 3 + 5;
        let mut seen = Vec::new();
        for_cells_in_order(
            n,
            |i| Ok(i * 2),
            |i, v| {
                assert_eq!(v, i * 2);
                seen.push(i);
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(seen, (0..n).collect::<Vec<_>>());
        let e = for_cells_in_order(
            n,
            |i| {
                if i == 7 {
                    Err(Error::input("seven"))
                } else {
                    Ok(i)
                }
            },
            |_, _| Ok(()),
        )
        .unwrap_err();
        assert_eq!(e.message, "seven");
    }

    #[test]
    fn indent_prefixes_every_line() {
        assert_eq!(
            indent("{\n  \"a\": 1\n}", "    "),
            "    {\n      \"a\": 1\n    }"
        );
    }

    #[test]
    fn missing_cells_are_shown_as_ranges() {
        assert_eq!(ranges(&[0, 1, 2, 3, 7, 9, 10]), "0-3, 7, 9-10");
        let many: Vec<usize> = (0..100).map(|i| i * 2).collect();
        assert!(ranges(&many).ends_with(", ..."));
    }
}
