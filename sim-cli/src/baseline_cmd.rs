//! `sim baseline` and `sim check`: flags, the diff table and the exit
//! code; the work is `sim_experiments::baseline`.

use std::path::PathBuf;

use sim_experiments::baseline::{self, BaselineSpec, Checked, Row, Verdict, fmt_num};
use sim_experiments::scenarios;

use crate::error::{CliError, Result};

const BASELINE_HELP: &str = "\
Examples:
  sim baseline experiments/s1-rpc.ron -o baselines/s1-rpc.json
  sim baseline s1-rpc -o base.json --replications 30 --metric 'clients.*'
  sim baseline s1-rpc -o base.json --set 'clients[0].retry.max_attempts=2'
  sim baseline s1-rpc -o base.json --tolerance 'clients.rpc.latency_ms.*=rel:0.05'
  sim baseline s1-rpc -o base.json --force    # replace an existing baseline

Every metric but the noisy ones (maxima, p999, peaks, makespans: decided
by a few samples, they fail on noise) is stored, unless --metric says
which; each with its mean, its 99% confidence half-width h and a
tolerance. Default tolerance: kind \"ci\", value sqrt(2) x h, at least
max(1e-9, 1e-6 x |mean|). --tolerance GLOB=KIND:X (KIND rel, abs or ci;
ci:K means K x h) overrides it for the metrics matching GLOB (`*` matches
anything); later flags win. An existing FILE is replaced only with
--force, and never when it is the scenario itself. See docs/sweeps.md.";

const CHECK_HELP: &str = "\
Examples:
  sim check experiments/s1-rpc.ron --baseline baselines/s1-rpc.json
  sim check s1-rpc --baseline base.json --verbose
  sim check s1-rpc --baseline base.json --tolerance 'clients.*.latency_ms.*=rel:0.1'

Reruns the scenario with the baseline's seed, replications and overrides
(then any --set given here) and compares every metric of the baseline.
A metric outside its tolerance has regressed or improved by the direction
the metric table gives it (more successes, less latency and fewer
failures are better); one with no better direction (requests offered,
attempts) has changed. Regressions, changes, a metric missing from the
run or turned null fail the check; improvements pass unless --strict.
Exit codes: 0 passed, 1 failed, 2 bad input, 3 the simulation failed.

  sim check s1-rpc --baseline base.json --format junit > check.xml
  sim check s1-rpc --baseline base.json --format markdown >> \"$GITHUB_STEP_SUMMARY\"";

/// Run a scenario and store its metrics with tolerances, for `sim check`.
#[derive(clap::Args, Debug)]
#[command(after_help = BASELINE_HELP)]
pub struct BaselineArgs {
    /// Scenario file, or the name of a shipped experiment (`sim list`).
    pub scenario: PathBuf,
    /// Baseline file to write (JSON).
    #[arg(long, short = 'o', value_name = "FILE")]
    pub out: PathBuf,
    /// Master seed (default: the scenario's).
    #[arg(long, allow_negative_numbers = true)]
    pub seed: Option<u64>,
    /// Replications (default: the scenario's, at least 10). At least 2.
    #[arg(long, allow_negative_numbers = true)]
    pub replications: Option<u32>,
    /// Override a scenario field, as in `sim run`; stored in the baseline.
    #[arg(long = "set", value_name = "PATH=VALUE")]
    pub set: Vec<String>,
    /// Keep only the metrics matching this glob (repeatable; default:
    /// every metric but the noisy ones: maxima, p999, peaks and makespans;
    /// `--metric '*'` keeps them too).
    #[arg(long = "metric", value_name = "GLOB")]
    pub metrics: Vec<String>,
    /// Tolerance for the metrics matching GLOB: rel:X, abs:X or ci:K.
    #[arg(long, value_name = "GLOB=KIND:X")]
    pub tolerance: Vec<String>,
    /// Worker threads (default: all cores). Results do not depend on it.
    #[arg(long, allow_negative_numbers = true)]
    pub threads: Option<usize>,
    /// Replace the baseline file if it exists (a baseline changes only on
    /// purpose: see experiments/baselines/regenerate.sh).
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub budget: crate::budget::Budget,
    #[command(flatten)]
    pub quiet: crate::quiet::Quiet,
}

/// Rerun a scenario and compare it with a baseline; exit 1 on regression.
#[derive(clap::Args, Debug)]
#[command(after_help = CHECK_HELP)]
pub struct CheckArgs {
    /// Scenario file, or the name of a shipped experiment (`sim list`).
    pub scenario: PathBuf,
    /// Baseline file written by `sim baseline`.
    #[arg(long, value_name = "FILE")]
    pub baseline: PathBuf,
    /// Override a scenario field, applied after the baseline's overrides.
    #[arg(long = "set", value_name = "PATH=VALUE")]
    pub set: Vec<String>,
    /// Tolerance for the metrics matching GLOB: rel:X, abs:X or ci:K
    /// (overrides the baseline's).
    #[arg(long, value_name = "GLOB=KIND:X")]
    pub tolerance: Vec<String>,
    /// Show every metric, not only the failing ones.
    #[arg(long, short)]
    pub verbose: bool,
    /// Worker threads (default: all cores). Results do not depend on it.
    #[arg(long, allow_negative_numbers = true)]
    pub threads: Option<usize>,
    #[command(flatten)]
    pub budget: crate::budget::Budget,
    #[command(flatten)]
    pub quiet: crate::quiet::Quiet,
    /// Fail on improvements too (any metric outside its tolerance).
    #[arg(long)]
    pub strict: bool,
    /// Output: a table (text), one JSON document, JUnit XML (a test case
    /// per metric) or a Markdown summary (for CI step summaries). The exit
    /// code is the same for all.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// What `sim check` prints.
#[derive(clap::ValueEnum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum Format {
    /// A table of the rows that matter (all with --verbose).
    Text,
    /// Every row as JSON.
    Json,
    /// JUnit XML: one test case per metric, failing ones with a message.
    Junit,
    /// A Markdown summary with a table of the rows that matter.
    Markdown,
}

/// A row's verdict as the table shows it.
fn verdict_cell(r: &Row, strict: bool) -> String {
    match r.verdict {
        Verdict::Unchanged => "ok".into(),
        v if v.fails(strict) => format!("FAIL ({})", v.name()),
        v => v.name().into(),
    }
}

fn signed(x: f64) -> String {
    if x > 0.0 {
        format!("+{}", fmt_num(x))
    } else {
        fmt_num(x)
    }
}

/// The cells of a row: metric, baseline, now, change, change %, tolerance.
fn cells(r: &Row) -> [String; 6] {
    let opt = |x: Option<f64>| x.map_or("null".to_string(), fmt_num);
    [
        r.metric.clone(),
        opt(r.baseline),
        if r.verdict == Verdict::Missing {
            "-".into()
        } else {
            opt(r.now)
        },
        r.change().map_or("-".into(), signed),
        r.change_percent().map_or("-".into(), |p| {
            format!("{}%", signed((p * 10.0).round() / 10.0))
        }),
        baseline::describe(&r.tolerance),
    ]
}

/// Whether verdicts are coloured: on a terminal, unless `NO_COLOR` is set
/// (no-color.org).
fn colour() -> bool {
    use std::io::IsTerminal;
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// A verdict cell in red (failing) or green (improved).
fn paint(cell: &str) -> String {
    if cell.starts_with("FAIL") {
        format!("\x1b[31m{cell}\x1b[0m")
    } else if cell == "improved" {
        format!("\x1b[32m{cell}\x1b[0m")
    } else {
        cell.to_string()
    }
}

fn render(rows: &[&Row], strict: bool, colour: bool) -> String {
    let mut cells_: Vec<[String; 7]> = vec![[
        "metric".into(),
        "baseline".into(),
        "now".into(),
        "change".into(),
        "%".into(),
        "tolerance".into(),
        "verdict".into(),
    ]];
    for r in rows {
        let [a, b, c, d, e, f] = cells(r);
        cells_.push([a, b, c, d, e, f, verdict_cell(r, strict)]);
    }
    let cells = cells_;
    let widths: Vec<usize> = (0..7)
        .map(|c| {
            cells
                .iter()
                .map(|r| r[c].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for (k, r) in cells.iter().enumerate() {
        let mut line = String::new();
        for (c, cell) in r.iter().enumerate() {
            let w = widths[c];
            if c == 6 && colour && k > 0 {
                // The last column: no padding after it, so colour codes
                // do not upset the alignment.
                line.push_str(&paint(cell));
            } else if c == 0 || c == 6 {
                line.push_str(&format!("{cell:<w$}"));
            } else {
                line.push_str(&format!("{cell:>w$}"));
            }
            if c < 6 {
                line.push_str("  ");
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

pub fn baseline(args: BaselineArgs) -> Result<()> {
    let source = scenarios::resolve(Some(&args.scenario))?;
    sim_experiments::io::refuse_overwriting_input(&args.out, "-o", &[&source.path])?;
    sim_experiments::io::refuse_replacing(&args.out, "-o", args.force)?;
    let spec = BaselineSpec {
        overrides: args.set.clone(),
        seed: args.seed,
        replications: args.replications,
        metrics: args.metrics.clone(),
        tolerances: args.tolerance.clone(),
        max_events: args.budget.max_events,
    };
    let doc =
        sim_experiments::with_threads(args.threads, || baseline::make_baseline(&source, &spec))??;
    baseline::write_baseline(&args.out, &doc)?;
    if args.quiet.quiet {
        return Ok(());
    }
    println!(
        "wrote {}: {} metrics of scenario {} (seed {}, {} replications)",
        args.out.display(),
        doc.metrics.len(),
        doc.scenario,
        doc.seed,
        doc.replications
    );
    Ok(())
}

pub fn check(args: CheckArgs) -> Result<()> {
    let source = scenarios::resolve(Some(&args.scenario))?;
    let checked = sim_experiments::with_threads(args.threads, || {
        baseline::check(
            &source,
            &args.baseline,
            &args.set,
            &args.tolerance,
            args.budget.max_events,
        )
    })??;
    let rows = &checked.rows;
    let strict = args.strict;
    let failing: Vec<&Row> = checked.failing(strict).collect();
    let improved: Vec<&Row> = rows
        .iter()
        .filter(|r| r.verdict == Verdict::Improved && !strict)
        .collect();
    let unchanged: Vec<&Row> = rows
        .iter()
        .filter(|r| r.verdict == Verdict::Unchanged)
        .collect();
    let title = format!(
        "check {} against {} (seed {}, {} replications{})",
        checked.scenario,
        args.baseline.display(),
        checked.seed,
        checked.replications,
        if checked.overrides.is_empty() {
            String::new()
        } else {
            format!(", --set {}", checked.overrides.join(" --set "))
        }
    );
    // Failing rows first, then improvements; unchanged ones with --verbose.
    let mut shown: Vec<&Row> = failing.iter().chain(&improved).copied().collect();
    if args.verbose {
        shown.extend(&unchanged);
    }
    let summary = format!(
        "{} regressed or failed, {} improved, {} unchanged, of {} metrics{}",
        failing.len(),
        improved.len(),
        unchanged.len(),
        rows.len(),
        if strict { " (--strict)" } else { "" }
    );
    match args.format {
        // The exit code and, on a failure, the error line say it all.
        Format::Text if args.quiet.quiet => {}
        Format::Text => {
            println!("{title}");
            if !shown.is_empty() {
                print!("{}", render(&shown, strict, colour()));
            }
            if !args.verbose && !unchanged.is_empty() {
                println!(
                    "{} of {} metrics unchanged (--verbose shows them)",
                    unchanged.len(),
                    rows.len()
                );
            }
            if failing.is_empty() {
                println!("no regression: {summary}");
            }
        }
        Format::Json => print!("{}", json_report(&checked, strict, &args.baseline)),
        Format::Junit => print!("{}", junit_report(&checked, strict)),
        Format::Markdown => print!("{}", markdown_report(&title, &summary, &shown, strict)),
    }
    if failing.is_empty() {
        Ok(())
    } else {
        Err(CliError::regression(format!("regression: {summary}")))
    }
}

/// Every row as one JSON document.
fn json_report(c: &Checked, strict: bool, baseline_file: &std::path::Path) -> String {
    let rows: Vec<serde_json::Value> = c
        .rows
        .iter()
        .map(|r| {
            serde_json::json!({
                "metric": r.metric,
                "baseline": r.baseline,
                "now": r.now,
                "change": r.change(),
                "change_percent": r.change_percent(),
                "tolerance": r.tolerance,
                "verdict": r.verdict.name(),
                "fails": r.verdict.fails(strict),
            })
        })
        .collect();
    let doc = serde_json::json!({
        "kind": "check",
        "scenario": c.scenario,
        "baseline": baseline_file.display().to_string(),
        "seed": c.seed,
        "replications": c.replications,
        "overrides": c.overrides,
        "strict": strict,
        "passed": c.failing(strict).next().is_none(),
        "rows": rows,
    });
    String::from_utf8_lossy(&sim_experiments::io::json_bytes(&doc)).into_owned()
}

/// Text safe inside an XML attribute or element.
fn xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if c.is_control() && c != '\n' && c != '\t' => {}
            c => out.push(c),
        }
    }
    out
}

/// JUnit XML: a test suite per check, a test case per metric.
fn junit_report(c: &Checked, strict: bool) -> String {
    let failures = c.failing(strict).count();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out.push_str(&format!(
        "<testsuites name=\"sim check\" tests=\"{}\" failures=\"{failures}\">\n",
        c.rows.len()
    ));
    out.push_str(&format!(
        "  <testsuite name=\"sim check {}\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" skipped=\"0\">\n",
        xml(&c.scenario),
        c.rows.len()
    ));
    for r in &c.rows {
        let [metric, base, now, change, pct, tol] = cells(r);
        let case = format!(
            "    <testcase classname=\"{}\" name=\"{}\"",
            xml(&c.scenario),
            xml(&metric)
        );
        if r.verdict.fails(strict) {
            out.push_str(&format!(
                "{case}>\n      <failure message=\"{}: baseline {base}, now {now} ({change}, {pct}), tolerance {}\" type=\"{}\"/>\n    </testcase>\n",
                xml(r.verdict.name()),
                xml(&tol),
                xml(r.verdict.name()),
            ));
        } else {
            out.push_str(&format!(
                "{case}>\n      <system-out>{}: baseline {base}, now {now}</system-out>\n    </testcase>\n",
                xml(r.verdict.name())
            ));
        }
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}

/// A Markdown summary for CI step summaries.
fn markdown_report(title: &str, summary: &str, rows: &[&Row], strict: bool) -> String {
    let cell = |s: &str| s.replace('|', "\\|");
    let mut out = format!("### {}\n\n{}\n", cell(title), cell(summary));
    if !rows.is_empty() {
        out.push_str("\n| metric | baseline | now | change | % | tolerance | verdict |\n");
        out.push_str("|---|---:|---:|---:|---:|---:|---|\n");
        for r in rows {
            let c = cells(r);
            out.push_str(&format!(
                "| `{}` | {} | {} | {} | {} | {} | {} |\n",
                c[0],
                c[1],
                c[2],
                c[3],
                c[4],
                cell(&c[5]),
                verdict_cell(r, strict)
            ));
        }
    }
    out
}
