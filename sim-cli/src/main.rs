//! `sim`: a deterministic discrete-event simulator for resilience
//! engineering. This binary is a thin layer over `sim-models` (the models
//! and the scenario format) and `sim-core` (the engine).

mod baseline_cmd;
mod budget;
mod error;
mod explore_cmd;
mod plan_cmd;
mod quiet;
mod report;
mod run;
mod sweep_cmd;
mod table;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use error::{CliError, Result};
use sim_experiments::{scenarios, sweep};

const AFTER_HELP: &str = "\
Examples:
  sim run                                  the embedded default (S1: RPC vs events)
  sim run experiments/s3-breaker.ron --json
  sim run s3-breaker --set 'clients[0].retry.max_attempts=5' --seed 42
  sim validate experiments/*.ron
  sim list
  sim sweep s1-timeout-x-retries --out out/s1 [--shard 2/4] [--threads 8]
  sim merge out/shard-* --out out/s1
  sim explore study3-metastable --out out/cliff --axis 'clients[0].workload.steps[1].rate_per_s=10..40'
  sim baseline s1-rpc -o s1-baseline.json
  sim check s1-rpc --baseline s1-baseline.json
  sim run - < my-scenario.ron               a scenario from standard input
  sim completions bash > ~/.local/share/bash-completion/completions/sim
  sim man > sim.1

Exit codes:
  0  success
  1  `sim check` found a regression
  2  bad input: a flag, a file, a scenario or sweep, a shard spec
  3  the simulation failed (zero-delay storm, event limit) or an output
     could not be written";

/// Deterministic discrete-event simulation of retries, timeouts, backoff,
/// circuit breakers, bulkheads, queues and dead letters under load and faults.
#[derive(Parser, Debug)]
#[command(name = "sim", version, about, after_help = AFTER_HELP)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run a scenario (default: the embedded S1 comparison) and print a summary.
    Run(run::RunArgs),
    /// Check scenario or sweep files without running them.
    #[command(
        after_help = "Examples:\n  sim validate experiments/*.ron\n  sim validate my.ron my.sweep.ron\n  sim validate s1-rpc                 a shipped experiment\n\nPrints `FILE: ok` per valid file; every error names its file and line or field (exit 2)."
    )]
    Validate(ValidateArgs),
    /// List the shipped experiments with one-line descriptions.
    #[command(
        after_help = "Examples:\n  sim list\n  sim run $(sim list | awk 'NR==2 {print $1}')   run the first one"
    )]
    List,
    /// Run a parameter sweep (`*.sweep.ron`): one row per cell, with means
    /// and 95% confidence intervals across replications.
    Sweep(sweep_cmd::SweepArgs),
    /// Combine the output directories of `sim sweep --shard` runs.
    Merge(sweep_cmd::MergeArgs),
    /// Find where a scenario stops recovering: P(collapse) with Wilson
    /// intervals, a bisection for the boundary along one axis, rows along a
    /// second.
    Explore(explore_cmd::ExploreArgs),
    /// Run a scenario and store its metrics with tolerances (for `sim check`).
    Baseline(baseline_cmd::BaselineArgs),
    /// Rerun a scenario and compare it with a baseline; exit 1 on regression.
    Check(baseline_cmd::CheckArgs),
    /// Render SVG charts, their data as CSV and an index.html from the
    /// results of `sim run --json` or of a sweep.
    Report(report::ReportArgs),
    /// Print a shell completion script (`sim completions bash >
    /// /etc/bash_completion.d/sim`).
    #[command(
        after_help = "Examples:\n  sim completions bash > ~/.local/share/bash-completion/completions/sim\n  sim completions zsh > ~/.zfunc/_sim\n  sim completions fish > ~/.config/fish/completions/sim.fish"
    )]
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff): `sim man > sim.1 && man ./sim.1`.
    #[command(
        after_help = "Examples:\n  sim man > sim.1 && man ./sim.1\n  sim man | gzip > /usr/local/share/man/man1/sim.1.gz"
    )]
    Man,
}

#[derive(clap::Args, Debug)]
struct ValidateArgs {
    /// Scenario files (`*.ron`) or sweep files (`*.sweep.ron`).
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

fn validate(args: ValidateArgs) -> Result<()> {
    let mut failures = Vec::new();
    for file in &args.files {
        let result = scenarios::resolve(Some(file)).and_then(|s| {
            if sweep::is_sweep_file(&s.path) {
                sweep::validate(&s)
            } else {
                scenarios::load(&s, &[]).map(|_| format!("{}: ok", file.display()))
            }
        });
        match result {
            Ok(line) => println!("{line}"),
            Err(e) => failures.push(e.message),
        }
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(CliError::input(failures.join("\n")))
    }
}

/// Shipped experiments by the names they are run by (`s1`, not
/// `s1.ron`), scenarios and sweeps apart.
fn list() -> Result<()> {
    let shipped: Vec<(String, bool, String)> = scenarios::shipped()
        .into_iter()
        .map(|(file, description)| {
            let is_sweep = sweep::is_sweep_file(std::path::Path::new(file));
            let name = file
                .strip_suffix(".sweep.ron")
                .or_else(|| file.strip_suffix(".ron"))
                .unwrap_or(file);
            (name.to_string(), is_sweep, description)
        })
        .collect();
    let width = shipped.iter().map(|(n, _, _)| n.len()).max().unwrap_or(0);
    for (heading, sweeps) in [
        ("scenarios (sim run NAME):", false),
        ("sweeps (sim sweep NAME --out DIR):", true),
    ] {
        if sweeps {
            println!();
        }
        println!("{heading}");
        for (name, _, description) in shipped.iter().filter(|s| s.1 == sweeps) {
            println!("  {name:<width$}  {description}");
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() {
                error::exit::INPUT
            } else {
                0
            };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let result = match cli.command {
        Command::Run(args) => run::run(args),
        Command::Validate(args) => validate(args),
        Command::List => list(),
        Command::Sweep(args) => sweep_cmd::sweep(args),
        Command::Merge(args) => sweep_cmd::merge(args),
        Command::Explore(args) => explore_cmd::explore(args),
        Command::Baseline(args) => baseline_cmd::baseline(args),
        Command::Check(args) => baseline_cmd::check(args),
        Command::Report(args) => report::report(args),
        Command::Completions { shell } => {
            use clap::CommandFactory;
            clap_complete::generate(shell, &mut Cli::command(), "sim", &mut std::io::stdout());
            Ok(())
        }
        Command::Man => {
            use clap::CommandFactory;
            match clap_mangen::Man::new(Cli::command()).render(&mut std::io::stdout()) {
                // A reader that stopped early (`sim man | head`) is not an error.
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(CliError::runtime(
                    format!("cannot write the manual page: {e}"),
                )),
                _ => Ok(()),
            }
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            for line in e.message.lines() {
                eprintln!("error: {line}");
            }
            ExitCode::from(e.code)
        }
    }
}
