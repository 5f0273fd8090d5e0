//! Limits on every count that memory or time depends on, checked at
//! validation so that no scenario that validates can make a run abort on
//! a failed allocation. Each is far above what any study needs; the
//! scenario reference lists them (`docs/scenario-format.md`, "Limits").

use super::validation::Errors;

/// Most consumers of a bus or a log, partitions of a log, contenders for a
/// lock, users of a closed-loop client and workers of a service: each
/// costs a slot of memory (and, for users and contenders, a pending event)
/// from the start of the run.
pub const MAX_COUNT: u64 = 100_000;

/// Most outcomes in a breaker's count window, and most buckets of a time
/// window: the window is allocated whole when the scenario is loaded.
pub const MAX_WINDOW: u64 = 1_000_000;

/// Most requests of one client group's `requests` limit (a billion: a
/// few minutes of simulation at full speed).
pub const MAX_REQUESTS: u64 = 1_000_000_000;

/// Most attempts of a retry policy's `max_attempts` (gRPC caps at 5).
pub const MAX_ATTEMPTS: u64 = 1_000;

/// Records an error under `path` if `value` exceeds `max`.
pub(crate) fn at_most(e: &mut Errors, path: impl Into<String>, value: u64, max: u64) {
    if value > max {
        e.push(path, message(value, max));
    }
}

/// The message for a value over its limit.
pub(crate) fn message(value: u64, max: u64) -> String {
    format!("must be at most {max} (the limit of the simulator), got {value}")
}
