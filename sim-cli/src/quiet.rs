//! The `-q/--quiet` flag every command that prints a summary shares.

/// Print nothing but errors (the exit code still says how it went).
#[derive(clap::Args, Debug, Clone, Copy, Default)]
pub struct Quiet {
    /// Print nothing but errors (no progress bar, no summary); the exit
    /// code still tells the outcome.
    #[arg(long, short)]
    pub quiet: bool,
}
