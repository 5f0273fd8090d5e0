//! Limits on every count that memory or time depends on, checked at
//! validation so that no scenario that validates can make a run abort on
//! a failed allocation. Each is far above what any study needs; the
//! scenario reference lists them (`docs/scenario-format.md`, "Limits").

use std::io::Read;
use std::path::Path;

use super::validation::Errors;

/// Largest scenario, sweep or baseline file read (and largest sweep cell
/// file): far beyond any written by hand or by the simulator.
pub const MAX_FILE_BYTES: u64 = 64 << 20;

/// Largest `Replay` workload file (about 20 million arrivals).
pub const MAX_REPLAY_BYTES: u64 = 256 << 20;

/// Largest result document `sim report` reads (a sweep's results.json).
pub const MAX_DOCUMENT_BYTES: u64 = 2 << 30;

/// Reads `path` whole, refusing more than `max` bytes (`/dev/zero` or a
/// runaway file must not fill the memory); the error says which limit.
pub fn read_bounded(path: &Path, max: u64) -> std::io::Result<Vec<u8>> {
    read_all_bounded(std::fs::File::open(path)?, max)
}

/// Reads `reader` to its end (a file, standard input), refusing more than
/// `max` bytes.
pub fn read_all_bounded(reader: impl Read, max: u64) -> std::io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    reader.take(max + 1).read_to_end(&mut buf)?;
    if buf.len() as u64 > max {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "larger than {} MiB, the most the simulator reads from such a file",
                max >> 20
            ),
        ));
    }
    Ok(buf)
}

/// [`read_bounded`], as UTF-8 text.
pub fn read_text_bounded(path: &Path, max: u64) -> std::io::Result<String> {
    text(read_bounded(path, max)?)
}

/// Bytes as UTF-8 text, or the error `read_to_string` gives.
pub fn text(bytes: Vec<u8>) -> std::io::Result<String> {
    String::from_utf8(bytes).map_err(|_| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "stream did not contain valid UTF-8",
        )
    })
}

/// Most consumers of a bus or a log, partitions of a log, contenders for a
/// lock, users of a closed-loop client, workers of a service and requests
/// of one burst: each costs a slot of memory (and, for users, contenders
/// and a burst's requests, a pending event) at once.
pub const MAX_COUNT: u64 = 100_000;

/// Most clients one client group stands for (`instances`): each has its
/// own copy of the group's policies and three time series of its own.
pub const MAX_INSTANCES: u64 = 1_000;

/// Most replica slots of one service (`replicas`, an autoscaler's
/// `max_replicas`): each is a station with its own state and streams.
pub const MAX_REPLICAS: u32 = 1_000;

/// Most replica slots of all services with several together: each holds
/// about 80 KiB (two histograms, series), so a replication stays under
/// about 200 MiB of replicas however the file spreads them.
pub const MAX_TOTAL_REPLICAS: u64 = 2_000;

/// Most outcomes in a breaker's count window, and most buckets of a time
/// window: the window is allocated whole when the scenario is loaded.
pub const MAX_WINDOW: u64 = 1_000_000;

/// Most requests of one client group's `requests` limit (a billion: a
/// few minutes of simulation at full speed).
pub const MAX_REQUESTS: u64 = 1_000_000_000;

/// Most attempts of a retry policy's `max_attempts` (gRPC caps at 5).
pub const MAX_ATTEMPTS: u64 = 1_000;

/// Most arrivals (or tokens) per second of a rate: one per nanosecond,
/// the clock's resolution.
pub const MAX_RATE_PER_S: f64 = 1e9;

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
