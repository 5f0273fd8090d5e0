//! Partitioned logs with a consumer group, as written in a file and
//! validated. Their runtime is `world/log.rs`.

use serde::{Deserialize, Serialize};
use sim_core::{Dist, DistSpec, SimDuration, SimTime};

use super::validation::*;

// The file format.

/// A partitioned log with one consumer group (S5).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSpec {
    /// Its name (unique among services, buses and logs).
    pub name: String,
    /// Partitions.
    pub partitions: u32,
    /// Distinct message keys; a message's partition is its key modulo the
    /// partitions. `None` (default): round robin.
    #[serde(default)]
    pub keys: Option<u32>,
    /// Consumers of the group; partition p belongs to consumer p mod consumers.
    pub consumers: u32,
    /// Time to process one message.
    pub processing: DistSpec,
    /// When consumers commit their offsets.
    pub commit: CommitSpec,
    /// Consumer crashes: the consumer resumes from its last commit, so what
    /// it processed since is processed again (duplicates).
    #[serde(default)]
    pub crashes: Vec<LogCrashSpec>,
}

/// When a consumer commits its offsets: every `every_messages` processed
/// messages, every `interval`, or both (at least one).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommitSpec {
    #[serde(default)]
    /// Commit after this many processed messages.
    pub every_messages: Option<u32>,
    #[serde(default)]
    /// Commit at this interval.
    pub interval: Option<SimDuration>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
/// A crash of one consumer.
pub struct LogCrashSpec {
    /// The consumer (< consumers).
    pub consumer: u32,
    /// When it crashes.
    pub at: SimDuration,
    /// How long it is down.
    pub restart_after: SimDuration,
}

// Validated.

#[derive(Clone, Debug)]
/// A validated log.
pub struct Log {
    /// Its name.
    pub name: String,
    /// Partitions.
    pub partitions: usize,
    /// Distinct keys (`None`: round robin).
    pub keys: Option<u32>,
    /// Consumers of the group.
    pub consumers: usize,
    /// Time to process one message.
    pub processing: Dist,
    /// Commit after this many messages.
    pub commit_every: Option<u32>,
    /// Commit at this interval.
    pub commit_interval: Option<SimDuration>,
    /// (consumer, at, down for)
    pub crashes: Vec<(usize, SimTime, SimDuration)>,
}

// Validation.

pub(super) fn validate_log(e: &mut Errors, path: &str, l: &LogSpec) -> Option<Log> {
    let before = e.0.len();
    if l.partitions == 0 {
        e.push(format!("{path}.partitions"), "must be >= 1");
    }
    if l.consumers == 0 {
        e.push(format!("{path}.consumers"), "must be >= 1");
    }
    for (field, n) in [("partitions", l.partitions), ("consumers", l.consumers)] {
        super::limits::at_most(
            e,
            format!("{path}.{field}"),
            n.into(),
            super::limits::MAX_COUNT,
        );
    }
    if l.keys == Some(0) {
        e.push(
            format!("{path}.keys"),
            "must be >= 1 (or None for round robin)",
        );
    }
    let processing = dist(e, &format!("{path}.processing"), &l.processing);
    match (&l.commit.every_messages, &l.commit.interval) {
        (None, None) => e.push(
            format!("{path}.commit"),
            "needs every_messages, interval, or both",
        ),
        (Some(0), _) => e.push(format!("{path}.commit.every_messages"), "must be >= 1"),
        (_, Some(i)) if i.is_zero() => e.push(format!("{path}.commit.interval"), "must be > 0"),
        _ => {}
    }
    for (i, c) in l.crashes.iter().enumerate() {
        if c.consumer >= l.consumers {
            e.push(
                format!("{path}.crashes[{i}].consumer"),
                format!("must be < consumers ({}), got {}", l.consumers, c.consumer),
            );
        }
    }
    if e.0.len() > before {
        return None;
    }
    Some(Log {
        name: l.name.clone(),
        partitions: l.partitions as usize,
        keys: l.keys,
        consumers: l.consumers as usize,
        processing: processing?,
        commit_every: l.commit.every_messages,
        commit_interval: l.commit.interval,
        crashes: l
            .crashes
            .iter()
            .map(|c| (c.consumer as usize, SimTime::at(c.at), c.restart_after))
            .collect(),
    })
}
