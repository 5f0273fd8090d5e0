//! `sim explore`: flags, the progress line and the summary; the work is
//! `sim_experiments::explore`.

use std::path::PathBuf;
use std::sync::Mutex;

use indicatif::{ProgressBar, ProgressStyle};
use sim_experiments::explore::{Criterion, ExploreProgress, ExploreSpec, Explorer};
use sim_experiments::{scenarios, sweepdir};

use crate::error::Result;

const EXPLORE_HELP: &str = "\
Examples:
  # where does study 3 stop recovering, as its spike's rate grows?
  sim explore study3-metastable --out out/cliff \\
      --axis 'clients[0].workload.steps[1].rate_per_s=10..40' --tolerance 1
  # the boundary curve over two axes: offered load x spike rate, 5 rows
  sim explore study3-metastable --out out/phase \\
      --axis 'clients[0].workload.steps[1].rate_per_s=10..40' \\
      --axis 'clients[0].workload.steps[0].rate_per_s=5..9' --rows 5 --tolerance 2
  # a criterion of your own, and a stricter level
  sim explore my.ron --out out/x --axis 'services[0].workers=2..32' \\
      --collapse 'clients.api.final_success_rate < 0.5' --level 0.1
  # rerunning the same command resumes; shards share DIR's point cache:
  sim explore my.ron --out out/x --axis ... --axis ... --shard 2/4
  sim explore my.ron --out out/x --axis ... --axis ...     (assembles)
  # a rare collapse with no trigger: P(the queue reaches 80 in the run)
  sim explore study3-metastable --out out/rare \\
      --set 'clients[0].workload=Poisson(rate_per_s: 7)' \\
      --split services.server.queue --levels 20,40,60,80 --effort 1000

A replication collapsed when the criterion holds; the default, `unhealthy`,
is some client group ending unhealthy: its success rate over the last
recovery window below its level before the disturbance (healthy_at_end).
At each point, replications run in batches until the 95% Wilson interval
of P(collapse) is on one side of --level, or --max-replications is
reached (the boundary is then at that point). Along the first axis a
bisection narrows the crossing to --tolerance; a second axis gives rows
(evenly spaced values), each searched along the first.

Output: DIR/results.json (every point with its replications, collapses,
P(collapse), Wilson interval and the healthy replications' mean time to
recover; the boundary of each row with its bracket), DIR/results.csv, and
DIR/points/ (the cache that resume and shards use). `sim report DIR`
charts it. See docs/explore.md.";

/// Find where a scenario stops recovering: P(collapse) along one or two axes.
#[derive(clap::Args, Debug)]
#[command(after_help = EXPLORE_HELP)]
pub struct ExploreArgs {
    /// Scenario file, or the name of a shipped scenario (`sim list`).
    pub scenario: PathBuf,
    /// Output directory (created if absent; an existing one must hold the
    /// same exploration, whose points are reused).
    #[arg(long, short = 'o', value_name = "DIR")]
    pub out: PathBuf,
    /// `PATH=LO..HI`: a numeric field of the scenario and its range (a
    /// duration field in seconds). The first is searched; a second gives
    /// the rows.
    #[arg(long, required_unless_present = "split", value_name = "PATH=LO..HI")]
    pub axis: Vec<String>,
    /// Rare collapses instead: estimate P(this level of the running state
    /// reaches the last of --levels before the run ends) by multilevel
    /// splitting. One of services.NAME.queue, services.NAME.in_system,
    /// clients.NAME.in_flight.
    #[arg(
        long,
        value_name = "LEVEL",
        conflicts_with = "axis",
        requires = "levels"
    )]
    pub split: Option<String>,
    /// The thresholds of --split, increasing (e.g. 20,40,60,80).
    #[arg(long, value_delimiter = ',', value_name = "N,N,...")]
    pub levels: Vec<u64>,
    /// Runs per stage of --split.
    #[arg(long, default_value_t = 1000)]
    pub effort: u64,
    /// What counts as a collapsed replication: `unhealthy` (default) or
    /// `METRIC OP NUMBER` with OP one of < <= > >=.
    #[arg(long, default_value = "unhealthy", value_name = "CRITERION")]
    pub collapse: String,
    /// The P(collapse) whose crossing is the boundary.
    #[arg(long, default_value_t = 0.5)]
    pub level: f64,
    /// Stop when the boundary is bracketed this tightly (first axis's unit;
    /// default: 1/20 of its range).
    #[arg(long)]
    pub tolerance: Option<f64>,
    /// Replications added at a point per look.
    #[arg(long, default_value_t = 10)]
    pub batch: u64,
    /// Most replications at one point.
    #[arg(long, default_value_t = 100)]
    pub max_replications: u64,
    /// Rows along the second axis.
    #[arg(long, default_value_t = 5)]
    pub rows: usize,
    /// Override a field before exploring (as `sim run --set`; repeatable).
    #[arg(long = "set", value_name = "PATH=VALUE")]
    pub set: Vec<String>,
    /// Worker threads (default: all cores). Outputs do not depend on it.
    #[arg(long, allow_negative_numbers = true)]
    pub threads: Option<usize>,
    /// Search only rows I, I+N, ... of N (1-based); a run without it
    /// afterwards assembles the results from the shared point cache.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<String>,
    #[command(flatten)]
    pub quiet: crate::quiet::Quiet,
    #[command(flatten)]
    pub budget: crate::budget::Budget,
}

/// A spinner line on a terminal: points evaluated and the current estimate.
struct Line {
    bar: ProgressBar,
    points: Mutex<(u64, u64)>,
}

impl ExploreProgress for Line {
    fn point(&self, at: &[f64], k: u64, n: u64) {
        let mut p = self.points.lock().unwrap_or_else(|e| e.into_inner());
        p.0 += 1;
        p.1 += n;
        let at: Vec<String> = at.iter().map(|x| format!("{x}")).collect();
        self.bar.set_message(format!(
            "{} looks, {} replications; at ({}): {k}/{n} collapsed",
            p.0,
            p.1,
            at.join(", ")
        ));
        self.bar.tick();
    }
    fn boundary(&self, row: Option<f64>, estimate: f64) {
        let row = row.map(|r| format!(" (row {r})")).unwrap_or_default();
        self.bar.println(format!("  boundary{row} now ~{estimate}"));
    }
    fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

/// `--split`: the splitting estimate, printed and written to DIR/split.json.
fn split(args: &ExploreArgs, level: &str) -> Result<()> {
    let source = scenarios::resolve(Some(&args.scenario))?;
    let (_, scenario) = scenarios::load(&source, &args.set)?;
    let est = sim_experiments::with_threads(args.threads, || {
        sim_experiments::split::estimate(
            &scenario,
            scenario.seed,
            level,
            &args.levels,
            args.effort,
            args.budget.max_events,
        )
    })??;
    std::fs::create_dir_all(&args.out).map_err(|e| {
        crate::error::CliError::runtime(format!("cannot create {}: {e}", args.out.display()))
    })?;
    let json = serde_json::to_string_pretty(&est).expect("an estimate serializes");
    sim_experiments::io::write_atomic(
        &args.out.join("split.json"),
        format!("{json}\n").as_bytes(),
    )?;
    if args.quiet.quiet {
        return Ok(());
    }
    println!(
        "P({level} reaches {} before the end), {} runs per stage:",
        args.levels.last().copied().unwrap_or(0),
        args.effort
    );
    for s in &est.stages {
        println!(
            "  reach {:>6}: {:>6} of {} runs ({})",
            s.threshold, s.hits, s.runs, s.p
        );
    }
    match (est.interval, est.relative_error, est.variance_reduction) {
        (Some([lo, hi]), Some(r), vr) => println!(
            "estimate {} (95% about {lo} to {hi}; relative error {r}){}",
            est.p,
            vr.map(|v| format!(
                "; variance {v:.1}x lower than plain Monte Carlo with as many runs"
            ))
            .unwrap_or_default()
        ),
        _ => println!("estimate 0: a stage had no hit; raise --effort or add intermediate levels"),
    }
    println!("wrote {}/split.json", args.out.display());
    Ok(())
}

pub fn explore(args: ExploreArgs) -> Result<()> {
    if let Some(level) = &args.split {
        return split(&args, level);
    }
    let source = scenarios::resolve(Some(&args.scenario))?;
    let criterion = Criterion::parse(&args.collapse)?;
    let shard = args
        .shard
        .as_deref()
        .map(sweepdir::parse_shard)
        .transpose()?;
    // The default tolerance needs the first axis's range: parse it once
    // with a placeholder, then for real.
    let spec = |tolerance: f64| ExploreSpec {
        axes: args.axis.clone(),
        criterion: criterion.clone(),
        level: args.level,
        tolerance,
        batch: args.batch,
        max_replications: args.max_replications,
        rows: args.rows,
        shard,
        max_events: args.budget.max_events,
        overrides: args.set.clone(),
    };
    let tolerance = match args.tolerance {
        Some(t) => t,
        None => {
            let probe = Explorer::new(&source, spec(f64::MIN_POSITIVE), &args.out)?;
            probe.first_axis_span() / 20.0
        }
    };
    let explorer = Explorer::new(&source, spec(tolerance), &args.out)?;
    crate::sweep_cmd::resume_hint_on_interrupt(&args.out);
    let bar = ProgressBar::hidden();
    {
        use std::io::IsTerminal;
        if !args.quiet.quiet && std::io::stderr().is_terminal() {
            bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
        }
    }
    if let Ok(style) = ProgressStyle::with_template("{spinner} {elapsed_precise} {msg}") {
        bar.set_style(style);
    }
    let line = Line {
        bar,
        points: Mutex::new((0, 0)),
    };
    let doc = sim_experiments::with_threads(args.threads, || explorer.run(&line))??;
    if args.quiet.quiet {
        return Ok(());
    }
    let Some(doc) = doc else {
        println!(
            "shard done: its points are in {}/points; run without --shard to assemble the results",
            args.out.display()
        );
        return Ok(());
    };
    let axis = &doc.axes[0].path;
    println!(
        "explored {} ({} points, {} replications), P(collapse) crossing {} along {axis}:",
        doc.scenario,
        doc.points.len(),
        doc.points.iter().map(|p| p.replications).sum::<u64>(),
        doc.level
    );
    for b in &doc.boundaries {
        let row = match (b.row, doc.axes.get(1)) {
            (Some(r), Some(a)) => format!("  {} = {r}: ", a.path),
            _ => "  ".into(),
        };
        let what = match (b.status.as_str(), b.estimate, b.bracket) {
            ("found", Some(e), Some([lo, hi])) => {
                let dir = if b.increasing == Some(true) {
                    "rises"
                } else {
                    "falls"
                };
                format!("boundary at {e} (between {lo} and {hi}; P(collapse) {dir} with it)")
            }
            ("at_level", Some(e), _) => format!(
                "boundary at {e} (P(collapse) there is the level within the replication limit)"
            ),
            ("below", ..) => format!(
                "no crossing: P(collapse) < {} over the whole range",
                doc.level
            ),
            ("above", ..) => format!(
                "no crossing: P(collapse) > {} over the whole range",
                doc.level
            ),
            (s, ..) => s.to_string(),
        };
        println!("{row}{what}");
    }
    println!("wrote {}/results.json and results.csv", args.out.display());
    Ok(())
}
