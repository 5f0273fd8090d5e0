//! The budget flag every command that runs replications shares.

/// How much work one replication may do before it is stopped with an
/// error (a scenario whose requests or retries never end, say).
#[derive(clap::Args, Debug, Clone, Default)]
pub struct Budget {
    /// Stop a replication with an error after this many events (default:
    /// unlimited; 2,000,000 for `sim run --trace`).
    #[arg(long, allow_negative_numbers = true, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_events: Option<u64>,
}
