//! Message buses: a bounded queue with consumers, redelivery, dead
//! letters, idempotency and crashes, as written in a file and validated.
//! Their runtime is `world/bus.rs`.

use serde::{Deserialize, Serialize};
use sim_core::{Dist, DistSpec, SimDuration};

use super::model::*;
use super::spec::*;
use super::validation::*;
use crate::policy::backoff::{Backoff, BackoffSpec};

// The file format.

/// What a publish to a full queue does.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum WhenFull {
    /// The message is dropped and counted (S1).
    #[default]
    Drop,
    /// The publisher waits until there is room (backpressure, S2).
    Block,
}

/// A bounded queue with consumers, redelivery and dead letters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BusSpec {
    /// Its name (unique among services, buses and logs).
    pub name: String,
    /// Messages that may wait in the queue (not counting those held by
    /// consumers or waiting for redelivery). `None` (default): unbounded.
    #[serde(default)]
    pub capacity: Option<u32>,
    #[serde(default)]
    /// What a publish to a full queue does (default `Drop`).
    pub when_full: WhenFull,
    /// Consumers, each handling one message at a time.
    pub consumers: u32,
    /// What a consumer does with a message.
    pub handler: HandlerSpec,
    #[serde(default)]
    /// How failed deliveries are retried and dead-lettered.
    pub redelivery: RedeliverySpec,
    /// Repeats of a message within the window have no effect.
    #[serde(default)]
    pub idempotency: Option<IdempotencySpec>,
    /// Consumers that crash after doing the work but before acknowledging.
    #[serde(default)]
    pub crashes: Option<ConsumerCrashSpec>,
}

/// What a consumer does with a message.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum HandlerSpec {
    /// Calls a service through the given policies (the delivery timeout is
    /// `timeout`). The work's effect happens at the service, so a timeout
    /// after the work was done causes a duplicate on redelivery.
    Call(Box<CallSpec>),
    /// Does the work itself.
    Work {
        /// How long the work takes.
        duration: DistSpec,
        #[serde(default)]
        /// Chance that it fails (default 0).
        failure_probability: f64,
    },
}

fn four() -> u32 {
    4
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
/// Redelivery of failed deliveries, then the dead-letter queue.
pub struct RedeliverySpec {
    /// Deliveries before the message is dead-lettered, the first included
    /// (default 4: one delivery and 3 retries).
    #[serde(default = "four")]
    pub max_deliveries: u32,
    /// Delay before delivery k + 1 after failed delivery k (default Immediate).
    #[serde(default)]
    pub backoff: BackoffSpec,
    #[serde(default)]
    /// Who waits out the backoff (default `HoldThenRequeue`).
    pub mode: RedeliveryMode,
}

impl Default for RedeliverySpec {
    fn default() -> Self {
        RedeliverySpec {
            max_deliveries: four(),
            backoff: BackoffSpec::Immediate,
            mode: RedeliveryMode::default(),
        }
    }
}

/// How a failed delivery is retried.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum RedeliveryMode {
    /// The consumer waits out the backoff holding the message (it takes no
    /// other message meanwhile), then republishes it to the tail (S1).
    #[default]
    HoldThenRequeue,
    /// The consumer waits out the backoff holding the message, then retries
    /// it itself (S2).
    HoldThenRetry,
    /// The message returns to the tail after the backoff; the consumer moves
    /// on at once (a delay queue, SQS-style).
    Delay,
}

fn one_hour() -> SimDuration {
    SimDuration::from_secs(3600)
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
/// Deduplication by message key.
pub struct IdempotencySpec {
    /// How long a processed message's key is remembered (default 1h).
    #[serde(default = "one_hour")]
    pub window: SimDuration,
}

fn thirty_seconds() -> SimDuration {
    SimDuration::from_secs(30)
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
/// Consumers crashing between the work and the acknowledgement.
pub struct ConsumerCrashSpec {
    /// Chance that a consumer crashes after a successful delivery's work,
    /// before acknowledging it.
    pub probability: f64,
    /// How long the crashed consumer is down.
    pub restart: SimDuration,
    /// When the unacknowledged message becomes visible again (SQS's
    /// visibility timeout; default 30s).
    #[serde(default = "thirty_seconds")]
    pub visibility_timeout: SimDuration,
}

// Validated.

#[derive(Clone, Debug)]
/// What a consumer does with a message, validated.
pub enum Handler {
    /// Calls a service through a caller's policies.
    Call(Box<Caller>),
    /// Does the work itself.
    Work {
        /// How long the work takes.
        duration: Dist,
        /// Chance that it fails.
        failure_probability: Probability,
    },
}

#[derive(Clone, Debug)]
/// Consumer crashes, validated.
pub struct ConsumerCrashes {
    /// Chance of a crash after a successful delivery's work.
    pub probability: Probability,
    /// How long the consumer is down.
    pub restart: SimDuration,
    /// When the unacknowledged message is visible again.
    pub visibility_timeout: SimDuration,
}

#[derive(Clone, Debug)]
/// A validated bus.
pub struct Bus {
    /// Its name.
    pub name: String,
    /// Messages that may wait (`None`: unbounded).
    pub capacity: Option<usize>,
    /// What a publish to a full queue does.
    pub when_full: WhenFull,
    /// Consumers.
    pub consumers: usize,
    /// What a consumer does with a message.
    pub handler: Handler,
    /// Deliveries before dead-lettering, the first included.
    pub max_deliveries: u32,
    /// Delay before a redelivery.
    pub backoff: Backoff,
    /// Who waits out the backoff.
    pub mode: RedeliveryMode,
    /// How long a processed key is remembered, with idempotency.
    pub idempotency_window: Option<SimDuration>,
    /// Consumer crashes, if any.
    pub crashes: Option<ConsumerCrashes>,
}

// Validation.

pub(super) fn validate_bus(e: &mut Errors, path: &str, b: &BusSpec, names: &Names) -> Option<Bus> {
    let before = e.0.len();
    if b.capacity == Some(0) {
        e.push(
            format!("{path}.capacity"),
            "must be >= 1 (or None for unbounded)",
        );
    }
    if b.consumers == 0 {
        e.push(format!("{path}.consumers"), "must be >= 1");
    }
    super::limits::at_most(
        e,
        format!("{path}.consumers"),
        b.consumers.into(),
        super::limits::MAX_COUNT,
    );
    let handler = match &b.handler {
        HandlerSpec::Call(c) => validate_caller(e, &format!("{path}.handler.Call"), c, names)
            .map(|c| Handler::Call(Box::new(c))),
        HandlerSpec::Work {
            duration,
            failure_probability,
        } => {
            let hp = format!("{path}.handler.Work");
            let d = dist(e, &format!("{hp}.duration"), duration);
            let p = e.check(
                &hp,
                Probability::new(*failure_probability, "failure_probability"),
            );
            d.zip(p)
                .map(|(duration, failure_probability)| Handler::Work {
                    duration,
                    failure_probability,
                })
        }
    };
    let r = &b.redelivery;
    if r.max_deliveries == 0 {
        e.push(
            format!("{path}.redelivery.max_deliveries"),
            "must be >= 1 (it counts the first delivery)",
        );
    }
    let backoff = e.check(&format!("{path}.redelivery.backoff"), r.backoff.validate());
    if b.idempotency.as_ref().is_some_and(|i| i.window.is_zero()) {
        e.push(format!("{path}.idempotency.window"), "must be > 0");
    }
    let crashes = b.crashes.as_ref().and_then(|c| {
        let cp = format!("{path}.crashes");
        let p = e.check(&cp, Probability::new(c.probability, "probability"));
        if c.visibility_timeout.is_zero() {
            e.push(format!("{cp}.visibility_timeout"), "must be > 0");
        }
        p.map(|probability| ConsumerCrashes {
            probability,
            restart: c.restart,
            visibility_timeout: c.visibility_timeout,
        })
    });
    if e.0.len() > before {
        return None;
    }
    Some(Bus {
        name: b.name.clone(),
        capacity: b.capacity.map(|c| c as usize),
        when_full: b.when_full,
        consumers: b.consumers as usize,
        handler: handler?,
        max_deliveries: r.max_deliveries,
        backoff: backoff?,
        mode: r.mode,
        idempotency_window: b.idempotency.as_ref().map(|i| i.window),
        crashes,
    })
}
