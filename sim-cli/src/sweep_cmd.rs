//! `sim sweep` and `sim merge`: flags, the progress bar and what is
//! printed; the work is `sim_experiments::sweepdir`.

use std::path::PathBuf;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use sim_experiments::sweepdir::{self, Progress, RESULTS_CSV, RESULTS_JSON};
use sim_experiments::{scenarios, sweep};

use crate::error::{CliError, Result};

const SWEEP_HELP: &str = "\
Examples:
  sim sweep experiments/s1-timeout-x-retries.sweep.ron --out out/s1
  sim sweep s1-timeout-x-retries --out out/s1 --threads 8
  # rerunning the same command resumes: finished cells are skipped
  # one slice of four (e.g. a Slurm array task), then combine:
  sim sweep s1-timeout-x-retries --out out/shard-2 --shard 2/4
  sim merge out/shard-1 out/shard-2 out/shard-3 out/shard-4 --out out/s1
  # or let sim write the cluster jobs (then run the command it prints):
  sim sweep s1-timeout-x-retries --plan slurm --shards 16 --out /scratch/s1
  sim sweep s1-timeout-x-retries --plan kubernetes --shards 16 --out runs/s1

Output: DIR/sweep.json (manifest), DIR/cells/cell-NNNNNN.json (one per
finished cell), and, once every cell is there, DIR/results.json and
DIR/results.csv: one row per cell with each metric's mean and 95%
confidence interval across replications. See docs/sweeps.md.";

/// Run a parameter sweep.
#[derive(clap::Args, Debug)]
#[command(after_help = SWEEP_HELP)]
pub struct SweepArgs {
    /// Sweep file (`*.sweep.ron`), or the name of a shipped sweep (`sim list`).
    pub file: PathBuf,
    /// Output directory (created if absent; an existing one must hold the
    /// same sweep, whose finished cells are kept).
    #[arg(long, short = 'o', value_name = "DIR")]
    pub out: PathBuf,
    /// Worker threads (default: all cores). Outputs do not depend on it.
    #[arg(long, allow_negative_numbers = true)]
    pub threads: Option<usize>,
    /// Run only slice I of N (1-based): the cells whose index % N == I - 1.
    /// A shard writes its cells and the manifest; `sim merge` writes the
    /// results.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<String>,
    #[command(flatten)]
    pub quiet: crate::quiet::Quiet,
    #[command(flatten)]
    pub budget: crate::budget::Budget,
    #[command(flatten)]
    pub plan: crate::plan_cmd::PlanArgs,
}

const MERGE_HELP: &str = "\
Examples:
  sim merge out/shard-1 out/shard-2 out/shard-3 out/shard-4 --out out/s1
  sim merge out/shard-* --out out/s1

The directories must hold shards of the same sweep (same manifest); every
cell must be present in one of them (else the missing ones are named by
shard, and nothing is written unless --partial). The result is
byte-identical to an unsharded run's output directory. Merging is
idempotent, and a shard run twice (a retried array task, in the same or
another directory) counts once: a cell is one file named by its index.";

/// Combine the output directories of `sim sweep --shard` runs.
#[derive(clap::Args, Debug)]
#[command(after_help = MERGE_HELP)]
pub struct MergeArgs {
    /// Shard output directories.
    #[arg(required = true, value_name = "SHARD_DIR")]
    pub dirs: Vec<PathBuf>,
    /// Output directory (may be one of the shard directories).
    #[arg(long, short = 'o', value_name = "DIR")]
    pub out: PathBuf,
    /// With cells missing, copy the cells that are there into DIR (without
    /// results.json) and say which are missing, instead of failing. A later
    /// merge completes it.
    #[arg(long)]
    pub partial: bool,
    #[command(flatten)]
    pub quiet: crate::quiet::Quiet,
}

/// A progress bar on a terminal (unless quiet), nothing otherwise.
struct Bar(ProgressBar, bool);

impl Progress for Bar {
    fn start(&self, cells: usize) {
        use std::io::IsTerminal;
        if !self.1 && std::io::stderr().is_terminal() && cells > 0 {
            self.0.set_length(cells as u64);
            self.0
                .set_draw_target(indicatif::ProgressDrawTarget::stderr());
        }
    }
    fn advance(&self) {
        self.0.inc(1);
    }
    fn finish(&self) {
        self.0.finish_and_clear();
    }
}

fn bar(quiet: bool) -> Bar {
    let bar = ProgressBar::hidden();
    if let Ok(style) = ProgressStyle::with_template(
        "{bar:40} {pos}/{len} cells  {elapsed_precise} elapsed, ~{eta} left",
    ) {
        bar.set_style(style);
    }
    Bar(bar, quiet)
}

/// On Ctrl-C, says how to resume before exiting: the finished cells are on
/// disk (each written atomically), so rerunning the command continues.
pub(crate) fn resume_hint_on_interrupt(out: &std::path::Path) {
    let command: Vec<String> = std::env::args()
        .map(|a| {
            if a.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_./=:".contains(c))
            {
                a
            } else {
                format!("'{}'", a.replace('\'', "'\\''"))
            }
        })
        .collect();
    let out = out.display().to_string();
    // A handler that cannot be set (another one is) only loses the hint.
    let _ = ctrlc::set_handler(move || {
        eprintln!(
            "\ninterrupted: the finished cells are kept in {out}; run `{}` again to resume",
            command.join(" ")
        );
        std::process::exit(130);
    });
}

pub fn sweep(args: SweepArgs) -> Result<()> {
    if let Some(engine) = args.plan.plan {
        return crate::plan_cmd::plan(engine, &args.file, &args.out, &args.plan);
    }
    let shard = args
        .shard
        .as_deref()
        .map(sweepdir::parse_shard)
        .transpose()?;
    let source = scenarios::resolve_sweep(&args.file)?;
    if !sweep::is_sweep_file(&source.path) {
        return Err(CliError::input(format!(
            "{}: not a sweep file (sweep files are named *.sweep.ron; to run a scenario, use `sim run`)",
            source.path.display()
        )));
    }
    let wall = Instant::now();
    let out = &args.out;
    resume_hint_on_interrupt(out);
    let run = sim_experiments::with_threads(args.threads, || {
        sweepdir::run_sweep(
            &source,
            out,
            shard,
            args.budget.max_events,
            &bar(args.quiet.quiet),
        )
    })??;
    if args.quiet.quiet {
        return Ok(());
    }
    let secs = wall.elapsed().as_secs_f64();
    let (k, n) = run.shard;
    let what = if n > 1 {
        format!("shard {k}/{n} of sweep {:?}", run.sweep)
    } else {
        format!("sweep {:?}", run.sweep)
    };
    println!(
        "{what}: {} cells x {} replications; ran {}, {} already done, in {secs:.2} s ({:.1} cells/s)",
        run.cells,
        run.replications,
        run.ran,
        run.already_done,
        run.ran as f64 / secs.max(1e-9),
    );
    if run.wrote_results {
        println!(
            "wrote {} and {}",
            out.join(RESULTS_JSON).display(),
            out.join(RESULTS_CSV).display()
        );
    } else {
        println!(
            "wrote {} cells under {}; once every shard is done: sim merge SHARD_DIR... --out DIR",
            run.cells,
            out.join("cells").display()
        );
    }
    Ok(())
}

pub fn merge(args: MergeArgs) -> Result<()> {
    let m = sweepdir::merge(&args.dirs, &args.out, args.partial)?;
    if args.quiet.quiet {
        return Ok(());
    }
    for note in &m.notes {
        eprintln!("note: {note}");
    }
    if m.missing.is_empty() {
        println!(
            "merged sweep {:?}: {} cells ({} copied from {} directories); wrote {} and {}",
            m.sweep,
            m.cells,
            m.copied,
            m.shards,
            args.out.join(RESULTS_JSON).display(),
            args.out.join(RESULTS_CSV).display()
        );
    } else {
        println!(
            "partial merge of sweep {:?}: {} of {} cells in {} ({} copied from {} directories); no results written yet: {}",
            m.sweep,
            m.cells - m.missing.len(),
            m.cells,
            args.out.display(),
            m.copied,
            m.shards,
            m.missing_text
        );
    }
    Ok(())
}
