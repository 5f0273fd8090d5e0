//! Metric metadata: one row per metric of an entity (a client group, a
//! service, a bus, a log, a lock), with its label, unit and which way is
//! better. The `sim run` tables are made from it (in its order); gate
//! verdicts and chart titles are meant to read it too.

/// The kind of entity a metric belongs to (the top-level key of a result
/// document).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Group {
    /// `clients.NAME.*`
    Clients,
    /// `services.NAME.*`
    Services,
    /// `buses.NAME.*`
    Buses,
    /// `logs.NAME.*`
    Logs,
    /// `locks.NAME.*`
    Locks,
}

impl Group {
    /// Every group, in the order of a result document.
    pub const ALL: [Group; 5] = [
        Group::Clients,
        Group::Services,
        Group::Buses,
        Group::Logs,
        Group::Locks,
    ];

    /// Its key in a result document.
    pub fn key(self) -> &'static str {
        match self {
            Group::Clients => "clients",
            Group::Services => "services",
            Group::Buses => "buses",
            Group::Logs => "logs",
            Group::Locks => "locks",
        }
    }

    /// The group of a document key.
    pub fn of(key: &str) -> Option<Group> {
        Group::ALL.into_iter().find(|g| g.key() == key)
    }
}

/// What a metric's number is.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Unit {
    /// Something counted.
    Count,
    /// A ratio or a mean level (attempts per request, jobs in flight).
    Ratio,
    /// A fraction in [0, 1], shown as a percentage.
    Fraction,
    /// Milliseconds.
    Ms,
    /// Seconds.
    Seconds,
}

impl Unit {
    /// The unit as written after a label (`"ms"`), if it has one.
    pub fn suffix(self) -> Option<&'static str> {
        match self {
            Unit::Ms => Some("ms"),
            Unit::Seconds => Some("s"),
            Unit::Count | Unit::Ratio | Unit::Fraction => None,
        }
    }
}

/// Which way a metric should move.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Better {
    /// More is better (successes, success rate).
    Higher,
    /// Less is better (failures, latency, amplification).
    Lower,
    /// Neither: a property of the workload or a plain count (requests
    /// offered, attempts).
    Neither,
}

/// One metric of an entity.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Metric {
    /// The entity kind.
    pub group: Group,
    /// Its path below the entity (`latency_ms.p99`).
    pub field: &'static str,
    /// What to call it (`latency p99`).
    pub label: &'static str,
    /// What its number is.
    pub unit: Unit,
    /// Which way is better.
    pub better: Better,
    /// Shown in the `sim run` table even when zero everywhere.
    pub always_shown: bool,
}

impl Metric {
    /// The label with its unit, as a table row or axis title
    /// (`latency p99 (ms)`).
    pub fn heading(&self) -> String {
        match self.unit.suffix() {
            Some(u) => format!("{} ({u})", self.label),
            None => self.label.to_string(),
        }
    }
}

macro_rules! table {
    ($( $group:ident $field:literal, $label:literal, $unit:ident, $better:ident $(, $always:ident)?; )*) => {
        /// Every metric the tables show, in the order they show them.
        pub const METRICS: &[Metric] = &[$(
            Metric {
                group: Group::$group,
                field: $field,
                label: $label,
                unit: Unit::$unit,
                better: Better::$better,
                always_shown: table!(@always $($always)?),
            },
        )*];
    };
    (@always always) => { true };
    (@always) => { false };
}

table! {
    Clients "offered", "requests", Count, Neither, always;
    Clients "ok", "ok", Count, Higher, always;
    Clients "degraded", "degraded (fallback)", Count, Lower;
    Clients "failed", "failed", Count, Lower, always;
    Clients "unfinished", "unfinished", Count, Lower;
    Clients "success_rate", "success rate", Fraction, Higher;
    Clients "attempts", "attempts", Count, Neither;
    Clients "retries", "retries", Count, Lower;
    Clients "timeouts", "timeouts", Count, Lower;
    Clients "cb_open", "cb_open", Count, Lower;
    Clients "bulkhead_rejected", "bulkhead rejected", Count, Lower;
    Clients "rate_limited", "rate limited", Count, Lower;
    Clients "throttled", "throttled", Count, Lower;
    Clients "budget_denied", "retries denied by budget", Count, Neither;
    Clients "retry_after_honoured", "retries after the server's delay", Count, Neither;
    Clients "retry_after_refused", "retries the server refused", Count, Neither;
    Clients "retry_amplification", "attempts per request", Ratio, Lower;
    Clients "retries_per_request", "retries per request", Ratio, Lower;
    Clients "latency_ms.p50", "latency p50", Ms, Lower;
    Clients "latency_ms.p95", "latency p95", Ms, Lower;
    Clients "latency_ms.p99", "latency p99", Ms, Lower, always;
    Clients "latency_ms.mean", "latency mean", Ms, Lower;
    Clients "time_to_recover_s", "time to recover", Seconds, Lower;
    Clients "makespan_s", "last request done", Seconds, Lower;
    Clients "hedging.hedges", "hedges sent", Count, Neither;
    Clients "hedging.hedges_won", "hedges won", Count, Neither;
    Clients "hedging.attempts_cancelled", "attempts cancelled", Count, Neither;
    Clients "concurrency_limit.rejected", "refused by concurrency limit", Count, Lower;
    Clients "concurrency_limit.limit_mean", "concurrency limit mean", Ratio, Neither;
    Clients "outlier_ejection.ejections", "replicas ejected", Count, Neither;

    Services "arrivals", "arrivals (attempts)", Count, Neither, always;
    Services "ok", "ok", Count, Higher, always;
    Services "errors", "errors", Count, Lower;
    Services "rejected", "rejected (queue full)", Count, Lower;
    Services "shed", "shed (waited too long)", Count, Lower;
    Services "lost", "lost to outages", Count, Lower;
    Services "cancelled", "cancelled", Count, Neither;
    Services "orphaned", "orphaned (wasted)", Count, Lower;
    Services "amplification", "load amplification", Ratio, Lower;
    Services "in_flight_mean", "in flight mean", Ratio, Neither;
    Services "in_flight_max", "in flight max", Count, Neither;
    Services "queue_mean", "queue mean", Ratio, Lower;
    Services "queue_max", "queue max", Count, Lower;
    Services "latency_ms.p99", "latency p99", Ms, Lower, always;
    Services "waited_fraction", "P(wait > 0)", Fraction, Lower;
    Services "wait_ms.mean", "wait mean", Ms, Lower;
    Services "wait_ms.p99", "wait p99", Ms, Lower;
    Services "adaptive_concurrency.rejected", "refused by adaptive concurrency", Count, Lower;
    Services "adaptive_concurrency.limit_mean", "concurrency limit mean", Ratio, Neither;
    Services "priority_admission.rejected", "refused by priority admission", Count, Lower;
    Services "priority_admission.overloaded_windows", "overloaded windows", Count, Lower;
    Services "deadline_expired", "dropped at deadline", Count, Neither;
    Services "autoscaling.replicas_mean", "replicas in service mean", Ratio, Neither;
    Services "autoscaling.replicas_max", "replicas in service max", Count, Neither;
    Services "autoscaling.scale_outs", "scale-outs", Count, Neither;
    Services "autoscaling.scale_ins", "scale-ins", Count, Neither;

    Buses "published", "published", Count, Neither, always;
    Buses "ok", "acknowledged", Count, Higher, always;
    Buses "dead_lettered", "dead-lettered", Count, Lower;
    Buses "dropped", "dropped", Count, Lower;
    Buses "pending", "pending at end", Count, Lower;
    Buses "delivered", "deliveries", Count, Neither;
    Buses "failed_deliveries", "failed deliveries", Count, Lower;
    Buses "retries", "redeliveries", Count, Lower;
    Buses "timeouts", "delivery timeouts", Count, Lower;
    Buses "crashes", "consumer crashes", Count, Lower;
    Buses "duplicates", "duplicates processed", Count, Lower;
    Buses "deduplicated", "repeats deduplicated", Count, Neither;
    Buses "depth_mean", "depth mean", Ratio, Lower;
    Buses "depth_max", "depth max", Count, Lower;
    Buses "producer_blocked_s", "producer blocked", Seconds, Lower;
    Buses "delivery_latency_ms.p99", "delivery p99", Ms, Lower;
    Buses "end_to_end_latency_ms.p50", "end-to-end p50", Ms, Lower;
    Buses "end_to_end_latency_ms.p99", "end-to-end p99", Ms, Lower;

    Logs "appended", "appended", Count, Neither, always;
    Logs "processed", "processed", Count, Higher;
    Logs "duplicates", "duplicates (replayed)", Count, Lower;
    Logs "commits", "commits", Count, Neither;
    Logs "crashes", "consumer crashes", Count, Lower;
    Logs "lag_mean", "lag mean", Ratio, Lower;
    Logs "lag_max", "lag max", Count, Lower;
    Logs "lag_end", "lag at end", Count, Lower;
    Logs "catch_up_s", "catch-up after last outage", Seconds, Lower;
    Logs "producer_blocked_s", "producers blocked", Seconds, Lower;
    Logs "end_to_end_latency_ms.p50", "end-to-end p50", Ms, Lower;
    Logs "end_to_end_latency_ms.p99", "end-to-end p99", Ms, Lower;

    Locks "acquisitions", "acquisitions", Count, Neither;
    Locks "completed", "completed holding the lease", Count, Higher;
    Locks "lease_expirations", "lease expirations", Count, Lower;
    Locks "unsafe_writes", "unsafe writes", Count, Lower, always;
    Locks "rejected_writes", "writes refused by fencing", Count, Neither;
    Locks "wait_ms.p50", "wait p50", Ms, Lower;
    Locks "wait_ms.p99", "wait p99", Ms, Lower;
}

/// The metrics of one group, in table order.
pub fn of_group(group: Group) -> impl Iterator<Item = &'static Metric> {
    METRICS.iter().filter(move |m| m.group == group)
}

/// The metadata of a document path (`clients.NAME.latency_ms.p99`), if the
/// table has it.
pub fn lookup(path: &str) -> Option<&'static Metric> {
    let (group, rest) = path.split_once('.')?;
    let group = Group::of(group)?;
    let (_, field) = rest.split_once('.')?;
    METRICS
        .iter()
        .find(|m| m.group == group && m.field == field)
}

/// Which way the metric at a document path should move: the table's
/// answer where it has the metric, else by the field's kind (latencies,
/// failures, queue and lag levels are better lower; success rates and
/// health better higher; counts of work offered or done, and levels such
/// as in-flight means, have no better direction).
pub fn better(path: &str) -> Better {
    if let Some(m) = lookup(path) {
        return m.better;
    }
    let field = path.splitn(3, '.').nth(2).unwrap_or(path);
    let last = field.rsplit('.').next().unwrap_or(field);
    let first = field.split('.').next().unwrap_or(field);
    if first.ends_with("latency_ms") || first.ends_with("latency_all_ms") || first == "wait_ms" {
        return if last == "count" {
            Better::Neither
        } else {
            Better::Lower
        };
    }
    if first == "failures" {
        return Better::Lower;
    }
    if last.ends_with("success_rate") || matches!(last, "healthy_at_end" | "recovered") {
        return Better::Higher;
    }
    Better::Neither
}

/// Whether the metric at a document path is mostly noise between
/// replications: an extreme (a maximum or minimum, a p999, the peak of a
/// series), a level at the last instant (`limit_final`) or the time of the
/// last completion, each decided by one or a few samples.
/// Baselines leave them out unless asked for: their tolerance would be
/// either too wide to catch anything or so narrow that CI fails on noise.
pub fn is_noisy(path: &str) -> bool {
    let last = path.rsplit('.').next().unwrap_or(path);
    last == "max"
        || last == "p999"
        || last.ends_with("_max")
        || last.ends_with("_min")
        || last.ends_with("_final")
        || last.starts_with("peak_")
        || last == "makespan_s"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extremes_and_makespans_are_noisy() {
        for p in [
            "clients.rpc.latency_ms.max",
            "clients.rpc.latency_ms.p999",
            "services.backend.queue_max",
            "clients.rpc.makespan_s",
            "clients.rpc.peak_attempts_per_bucket",
            "clients.rpc.concurrency_limit.limit_min",
            "clients.rpc.concurrency_limit.limit_final",
        ] {
            assert!(is_noisy(p), "{p}");
        }
        for p in [
            "clients.rpc.latency_ms.p99",
            "clients.rpc.latency_ms.mean",
            "services.backend.queue_mean",
            "clients.rpc.ok",
            "clients.rpc.time_to_recover_s",
        ] {
            assert!(!is_noisy(p), "{p}");
        }
    }

    #[test]
    fn directions_beyond_the_table() {
        assert_eq!(better("clients.c.latency_all_ms.mean"), Better::Lower);
        assert_eq!(better("services.s.latency_ms.p50"), Better::Lower);
        assert_eq!(better("services.s.latency_ms.count"), Better::Neither);
        assert_eq!(better("clients.c.failures.breaker"), Better::Lower);
        assert_eq!(better("clients.c.final_success_rate"), Better::Higher);
        assert_eq!(better("clients.c.healthy_at_end"), Better::Higher);
        assert_eq!(better("clients.c.ok"), Better::Higher);
        assert_eq!(better("services.s.in_flight_max"), Better::Neither);
    }

    #[test]
    fn lookups_and_headings() {
        let m = lookup("services.db.amplification").unwrap();
        assert_eq!((m.label, m.better), ("load amplification", Better::Lower));
        assert_eq!(
            lookup("clients.c.success_rate").unwrap().better,
            Better::Higher
        );
        assert_eq!(
            lookup("clients.c.time_to_recover_s").unwrap().heading(),
            "time to recover (s)"
        );
        assert!(lookup("clients.c.nope").is_none());
        assert!(lookup("engine.events").is_none());
    }

    #[test]
    fn each_metric_is_listed_once() {
        for (i, m) in METRICS.iter().enumerate() {
            assert!(
                !METRICS[..i]
                    .iter()
                    .any(|n| n.group == m.group && n.field == m.field),
                "{:?} {} twice",
                m.group,
                m.field
            );
        }
    }
}
