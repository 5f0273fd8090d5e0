//! Errors of the `sim` command and their exit codes.

use std::fmt;

/// Exit codes, documented in `sim --help` and the README.
pub mod exit {
    /// A `sim check` found a regression.
    #[allow(dead_code)] // used by `sim check`, on its way from another branch
    pub const REGRESSION: u8 = 1;
    /// Bad input: a flag, a file, a scenario, a sweep, a shard spec.
    pub const INPUT: u8 = 2;
    /// The simulation itself failed (zero-delay storm, event limit) or an
    /// output could not be written.
    pub const RUNTIME: u8 = 3;
}

#[derive(Debug)]
pub struct CliError {
    pub code: u8,
    pub message: String,
}

impl CliError {
    pub fn input(message: impl Into<String>) -> Self {
        CliError {
            code: exit::INPUT,
            message: message.into(),
        }
    }
    pub fn runtime(message: impl Into<String>) -> Self {
        CliError {
            code: exit::RUNTIME,
            message: message.into(),
        }
    }
    #[allow(dead_code)] // used by `sim check`, on its way from another branch
    pub fn regression(message: impl Into<String>) -> Self {
        CliError {
            code: exit::REGRESSION,
            message: message.into(),
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<sim_experiments::Error> for CliError {
    fn from(e: sim_experiments::Error) -> Self {
        match e.kind {
            sim_experiments::ErrorKind::Input => CliError::input(e.message),
            sim_experiments::ErrorKind::Runtime => CliError::runtime(e.message),
        }
    }
}

impl From<sim_models::scenario::ScenarioError> for CliError {
    fn from(e: sim_models::scenario::ScenarioError) -> Self {
        CliError::input(e.to_string())
    }
}

impl From<sim_models::world::RunError> for CliError {
    fn from(e: sim_models::world::RunError) -> Self {
        CliError::runtime(format!("simulation failed: {e}"))
    }
}

pub type Result<T> = std::result::Result<T, CliError>;
