//! `sim`: a deterministic discrete-event simulator for resilience
//! engineering. This binary is a thin layer over `sim-models` (the models
//! and the scenario format) and `sim-core` (the engine).

mod error;
mod io;
mod report;
mod run;
mod scenarios;
mod table;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use error::{CliError, Result};

const AFTER_HELP: &str = "\
Examples:
  sim run                                  the embedded default (S1: RPC vs events)
  sim run experiments/s3-breaker.ron --json
  sim run s3-breaker --set 'clients[0].retry.max_attempts=5' --seed 42
  sim validate experiments/*.ron
  sim list

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
    Validate(ValidateArgs),
    /// List the shipped experiments with one-line descriptions.
    List,
    /// Render SVG charts, their data as CSV and an index.html from the
    /// results of `sim run --json` or of a sweep.
    Report(report::ReportArgs),
}

#[derive(clap::Args, Debug)]
struct ValidateArgs {
    /// Scenario files (`*.ron`).
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

fn validate(args: ValidateArgs) -> Result<()> {
    let mut failures = Vec::new();
    for file in &args.files {
        let result =
            scenarios::resolve(Some(file)).and_then(|s| scenarios::load(&s, &[]).map(|_| ()));
        match result {
            Ok(()) => println!("{}: ok", file.display()),
            Err(e) => failures.push(e.message),
        }
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(CliError::input(failures.join("\n")))
    }
}

fn list() -> Result<()> {
    let shipped = scenarios::shipped();
    let width = shipped.iter().map(|(n, _)| n.len()).max().unwrap_or(0);
    for (name, description) in shipped {
        println!("{name:<width$}  {description}");
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
        Command::Report(args) => report::report(args),
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
