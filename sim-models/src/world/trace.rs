//! The trace of `sim run --trace`: one JSON object per line and event, in
//! the order events fire: `t_ns`, `event`, then what the event concerns.
//! Built from these types with serde, never by hand.

use std::fmt::Debug;
use std::io::Write;
use std::sync::{Arc, Mutex};

use serde::{Serialize, Serializer};

use super::Outcome;
use super::slab::Ref;

/// Where a run's trace goes, line by line as events fire (never held in
/// memory): a file, a pipe, or a buffer of the caller's. Cloning shares
/// the writer; the caller flushes and closes it after the run, which may
/// have stopped early (an event limit) and written only the beginning.
#[derive(Clone)]
pub struct TraceSink(Arc<Mutex<dyn Write + Send>>);

impl TraceSink {
    /// A sink writing to `w`.
    pub fn new(w: impl Write + Send + 'static) -> Self {
        TraceSink(Arc::new(Mutex::new(w)))
    }

    /// Writes one line (and its newline).
    pub(crate) fn line(&self, line: &str) -> std::io::Result<()> {
        let mut w = self.0.lock().unwrap_or_else(|p| p.into_inner());
        w.write_all(line.as_bytes())?;
        w.write_all(b"\n")
    }
}

impl Debug for TraceSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TraceSink")
    }
}

/// One line of the trace.
#[derive(Serialize)]
pub(crate) struct Record<'a> {
    pub t_ns: u64,
    #[serde(flatten)]
    pub event: TraceEvent<'a>,
}

/// Writes a value by its `Debug` form (outcomes, wake reasons).
fn debug<T: Debug, S: Serializer>(v: &T, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&format_args!("{v:?}"))
}

/// An outcome as its `Debug`, but an error of the default kind is plain
/// `"Error"` (as before error kinds existed), another `"Error(Overloaded)"`.
fn outcome_name<S: Serializer>(o: &Outcome, s: S) -> Result<S::Ok, S::Error> {
    match o {
        Outcome::Error(super::ErrorKind::Unavailable) => s.serialize_str("Error"),
        o => debug(o, s),
    }
}

/// Rows of slabs are written `index.generation`.
impl Serialize for Ref {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// What happened, by kind.
#[derive(Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub(crate) enum TraceEvent<'a> {
    Arrival {
        client: &'a str,
    },
    UserReady {
        client: &'a str,
        user: u32,
    },
    /// A layer's timer: `layer` is its name (`"Timeout(120ms)"`).
    Timer {
        call: Ref,
        layer: String,
    },
    /// A bulkhead slot handed to a waiting call: `layer` is its position.
    BulkheadGrant {
        call: Ref,
        layer: u8,
    },
    Transmit {
        call: Ref,
    },
    Reply {
        call: Ref,
        #[serde(serialize_with = "outcome_name")]
        outcome: Outcome,
    },
    WorkDone {
        job: Ref,
        service: &'a str,
        /// The replica, for a service with several.
        #[serde(skip_serializing_if = "Option::is_none")]
        replica: Option<u16>,
    },
    /// The deadline a job arrived with passed (it is gone if it finished).
    JobDeadline {
        job: Ref,
    },
    ReplicaReady {
        service: &'a str,
        replica: u16,
    },
    Autoscale {
        service: &'a str,
    },
    /// The deadline a downstream call inherited passed.
    CallExpired {
        call: Ref,
    },
    /// A caller's outlier-ejection sweep (`pipeline`: its index).
    OutlierSweep {
        pipeline: u32,
    },
    FaultBegin {
        fault: &'a str,
        target: &'a str,
    },
    FaultEnd {
        fault: &'a str,
        target: &'a str,
    },
    /// A service's state after a fault edge (`service`: its index).
    FaultState {
        service: usize,
        begin: bool,
    },
    ConsumerReady {
        bus: &'a str,
        consumer: u32,
    },
    MessageDue {
        msg: Ref,
    },
    LogWake {
        log: &'a str,
        consumer: u32,
        #[serde(serialize_with = "debug")]
        wake: super::LogWake,
    },
    LockWake {
        lock: &'a str,
        contender: u32,
        #[serde(serialize_with = "debug")]
        wake: super::LockWake,
    },
    RequestEnd {
        client: &'a str,
        #[serde(serialize_with = "outcome_name")]
        outcome: Outcome,
        latency_ns: u64,
    },
}

impl Record<'_> {
    /// The JSON line.
    pub fn line(&self) -> String {
        serde_json::to_string(self).expect("trace records serialize")
    }
}
