//! `sim report` and `sim run --report`: SVG charts, their data as CSV and
//! an index.html (see the sim-report crate); this module only reads the
//! results and writes the files, each atomically.

use std::path::{Path, PathBuf};

use serde_json::Value;
use sim_report::OutputFile;

use crate::error::{CliError, Result};
use sim_experiments::io::write_atomic;

const REPORT_HELP: &str = "\
Examples:
  sim run s1 --json > run.json && sim report run.json -o out/s1-report
  sim sweep s1-timeout-x-retries --out out/s1 && sim report out/s1 -o out/s1-report
  sim report out/s1/results.json -o out/s1-report
  sim explore study3-metastable --out out/cliff --axis '...' && sim report out/cliff -o out/cliff-report

Writes one SVG per chart, its data as CSV, and index.html (open it in a
browser). See docs/reports.md for what each chart shows.";

#[derive(clap::Args, Debug)]
#[command(after_help = REPORT_HELP)]
pub struct ReportArgs {
    /// The results: a run document (`sim run --json > run.json`), a sweep's
    /// or an exploration's output directory, or its results.json.
    pub results: PathBuf,
    /// Directory to write the report into (created if missing; files of the
    /// same names are replaced).
    #[arg(long, short = 'o', value_name = "DIR")]
    pub out: PathBuf,
    #[command(flatten)]
    pub quiet: crate::quiet::Quiet,
}

/// Reads the results, renders them, writes the report; prints the path of
/// its index.html.
pub fn report(args: ReportArgs) -> Result<()> {
    check_out_dir(&args.out, "--out")?;
    let path = if args.results.is_dir() {
        let p = args.results.join("results.json");
        if !p.is_file() {
            return Err(CliError::input(format!(
                "{}: a directory without results.json (expected a sweep's or an exploration's output directory)",
                args.results.display()
            )));
        }
        p
    } else {
        args.results.clone()
    };
    let text = sim_experiments::io::read_text_limited(
        &path,
        sim_models::scenario::limits::MAX_DOCUMENT_BYTES,
    )?;
    let doc: Value = serde_json::from_str(&text)
        .map_err(|e| CliError::input(format!("{}: not a JSON document: {e}", path.display())))?;
    let files = sim_report::render_json(&doc)
        .map_err(|e| CliError::input(format!("{}: {e}", path.display())))?;
    let charts = files.iter().filter(|f| f.name.ends_with(".svg")).count();
    write_all(&files, &args.out)?;
    if args.quiet.quiet {
        return Ok(());
    }
    println!(
        "{} ({charts} chart{})",
        args.out.join("index.html").display(),
        if charts == 1 { "" } else { "s" }
    );
    Ok(())
}

/// `sim run --report DIR`: the single-run charts of a run just made.
pub fn render_run(doc: &Value, dir: &Path) -> Result<()> {
    let doc: sim_results::run::RunDocument = sim_results::from_value(doc)
        .map_err(|e| CliError::runtime(format!("--report {}: {e}", dir.display())))?;
    let files = sim_report::render_run(&doc)
        .map_err(|e| CliError::runtime(format!("--report {}: {e}", dir.display())))?;
    write_all(&files, dir)?;
    // On stderr: stdout may be the --json document.
    eprintln!(
        "report: {} ({} charts)",
        dir.join("index.html").display(),
        files.iter().filter(|f| f.name.ends_with(".svg")).count()
    );
    Ok(())
}

/// Refuses an output directory that exists as something else (checked
/// before any work is done).
pub fn check_out_dir(dir: &Path, flag: &str) -> Result<()> {
    match std::fs::metadata(dir) {
        Ok(m) if !m.is_dir() => Err(CliError::input(format!(
            "{flag} {}: exists and is not a directory",
            dir.display()
        ))),
        _ => Ok(()),
    }
}

/// Writes every file; index.html last, so a report whose index exists has
/// all its charts.
fn write_all(files: &[OutputFile], dir: &Path) -> Result<()> {
    let (index, rest): (Vec<&OutputFile>, Vec<&OutputFile>) =
        files.iter().partition(|f| f.name == "index.html");
    for f in rest.into_iter().chain(index) {
        write_atomic(&dir.join(&f.name), &f.bytes)?;
    }
    Ok(())
}
