//! `sim baseline` and `sim check`: flags, the diff table and the exit
//! code; the work is `sim_experiments::baseline`.

use std::path::PathBuf;

use sim_experiments::baseline::{self, BaselineSpec, Row, fmt_num};
use sim_experiments::scenarios;

use crate::error::{CliError, Result};

const BASELINE_HELP: &str = "\
Examples:
  sim baseline experiments/s1-rpc.ron -o baselines/s1-rpc.json
  sim baseline s1-rpc -o base.json --replications 30 --metric 'clients.*'
  sim baseline s1-rpc -o base.json --set 'clients[0].retry.max_attempts=2'
  sim baseline s1-rpc -o base.json --tolerance 'clients.rpc.latency_ms.*=rel:0.05'
  sim baseline s1-rpc -o base.json --force    # replace an existing baseline

Each metric is stored with its mean, its 99% confidence half-width h and a
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
(then any --set given here), compares every metric of the baseline, prints
the failing ones (all with --verbose) and exits 1 if any is outside its
tolerance, in either direction. A metric missing from the new run fails; a
null that stays null passes. Exit codes: 0 no regression, 1 regression,
2 bad input, 3 the simulation failed.";

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
    /// Keep only the metrics matching this glob (repeatable; default: all).
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
}

fn render(rows: &[&Row]) -> String {
    let opt = |x: Option<f64>| x.map_or("null".to_string(), fmt_num);
    let mut cells: Vec<[String; 6]> = vec![[
        "metric".into(),
        "baseline".into(),
        "now".into(),
        "delta".into(),
        "tolerance".into(),
        "verdict".into(),
    ]];
    for r in rows {
        let delta = match (r.baseline, r.now) {
            (Some(b), Some(n)) => {
                let d = n - b;
                if d > 0.0 {
                    format!("+{}", fmt_num(d))
                } else {
                    fmt_num(d)
                }
            }
            _ => "-".into(),
        };
        cells.push([
            r.metric.clone(),
            opt(r.baseline),
            if r.verdict == Err("missing from this run") {
                "-".into()
            } else {
                opt(r.now)
            },
            delta,
            baseline::describe(&r.tolerance),
            match r.verdict {
                Ok(()) => "ok".into(),
                Err(why) => format!("FAIL ({why})"),
            },
        ]);
    }
    let widths: Vec<usize> = (0..6)
        .map(|c| {
            cells
                .iter()
                .map(|r| r[c].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for r in &cells {
        let mut line = String::new();
        for (c, cell) in r.iter().enumerate() {
            let w = widths[c];
            if c == 0 || c == 5 {
                line.push_str(&format!("{cell:<w$}"));
            } else {
                line.push_str(&format!("{cell:>w$}"));
            }
            if c < 5 {
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
    let failing: Vec<&Row> = checked.failing().collect();
    let passing: Vec<&Row> = rows.iter().filter(|r| r.verdict.is_ok()).collect();
    println!(
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
    let shown: Vec<&Row> = if args.verbose {
        failing.iter().chain(&passing).copied().collect()
    } else {
        failing.clone()
    };
    if !shown.is_empty() {
        print!("{}", render(&shown));
    }
    if !args.verbose && !passing.is_empty() {
        println!(
            "{} of {} metrics within tolerance (--verbose shows them)",
            passing.len(),
            rows.len()
        );
    }
    if failing.is_empty() {
        println!("no regression: all {} metrics within tolerance", rows.len());
        Ok(())
    } else {
        Err(CliError::regression(format!(
            "regression: {} of {} metrics outside tolerance",
            failing.len(),
            rows.len()
        )))
    }
}
