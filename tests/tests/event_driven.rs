//! Buses, partitioned logs and leased locks, through scenarios.

use sim_tests::{num, run_ron};

fn bus_scenario(bus: &str, service: &str, producer: &str) -> String {
    format!(
        r#"(
        name: "bus", seed: 17, duration: "30s",
        services: [{service}],
        clients: [(name: "p", target: "q", {producer})],
        buses: [(name: "q", {bus})],
    )"#
    )
}

/// Every published message is exactly one of acknowledged, dead-lettered,
/// dropped, or still pending (queued, held, delayed, blocked) at the end.
/// `pending` is counted from the live messages, not from the counters.
#[test]
fn messages_are_conserved() {
    let service = r#"(name: "s", workers: 4, queue_capacity: 20, service_time: Exponential(mean: "20ms"),
                      failure_probability: 0.3, on_abandon: Orphan)"#;
    let configs = [
        // S1-like: drop when full, hold then requeue, delivery timeout.
        r#"capacity: 50, when_full: Drop, consumers: 4,
           handler: Call(target: "s", timeout: "40ms"),
           redelivery: (max_deliveries: 4, backoff: FullJitter(base: "20ms", cap: "400ms"), mode: HoldThenRequeue)"#,
        // S2-like: backpressure, hold then retry.
        r#"capacity: 3, when_full: Block, consumers: 3,
           handler: Work(duration: Uniform(low: "50ms", high: "120ms"), failure_probability: 0.3),
           redelivery: (max_deliveries: 4, backoff: ProportionalJitter(base: "30ms"), mode: HoldThenRetry)"#,
        // SQS-like: delayed redelivery, consumer crashes, idempotency.
        r#"capacity: 100, consumers: 2,
           handler: Work(duration: Exponential(mean: "30ms"), failure_probability: 0.2),
           redelivery: (max_deliveries: 3, backoff: Constant("500ms"), mode: Delay),
           crashes: (probability: 0.1, restart: "1s", visibility_timeout: "2s"),
           idempotency: (window: "1h")"#,
    ];
    for (i, bus) in configs.iter().enumerate() {
        let doc = run_ron(&bus_scenario(
            bus,
            service,
            "workload: Poisson(rate_per_s: 60)",
        ));
        let q = |m: &str| num(&doc, &format!("buses.q.{m}"));
        assert_eq!(
            q("published"),
            q("ok") + q("dead_lettered") + q("dropped") + q("pending"),
            "config {i}: {}",
            doc["buses"]["q"]
        );
        assert!(
            q("ok") > 0.0 && q("retries") > 0.0,
            "config {i} exercised nothing"
        );
        assert_eq!(q("failed"), q("dead_lettered") + q("dropped"));
        // The producer's requests are its publishes.
        assert_eq!(num(&doc, "clients.p.offered"), q("published"));
    }
}

/// With backpressure the queue never exceeds its capacity and nothing is
/// dropped; the producer waits instead.
#[test]
fn backpressure_blocks_instead_of_dropping() {
    let doc = run_ron(&bus_scenario(
        r#"capacity: 3, when_full: Block, consumers: 3,
           handler: Work(duration: Uniform(low: "50ms", high: "120ms"), failure_probability: 0.3),
           redelivery: (max_deliveries: 4, backoff: ProportionalJitter(base: "30ms", multiplier: 2, jitter: 0.25), mode: HoldThenRetry)"#,
        r#"(name: "unused", service_time: Constant("1ms"))"#,
        "workload: ClosedLoop(users: 1), requests: 300",
    ));
    let q = |m: &str| num(&doc, &format!("buses.q.{m}"));
    assert!(q("depth_max") <= 3.0, "depth {}", q("depth_max"));
    assert_eq!(q("depth_max"), 3.0, "the producer outpaces 3 consumers");
    assert_eq!(q("dropped"), 0.0);
    assert!(
        q("producer_blocked_s") > 1.0,
        "blocked {}",
        q("producer_blocked_s")
    );
    assert_eq!(q("published"), 300.0);
    // 0.3^4 of items fail every attempt: about 2.4 of 300.
    assert!(q("dead_lettered") <= 10.0);
}

/// The same capacity with Drop loses messages instead.
#[test]
fn a_full_queue_drops_when_told_to() {
    let doc = run_ron(&bus_scenario(
        r#"capacity: 3, when_full: Drop, consumers: 1,
           handler: Work(duration: Constant("100ms"))"#,
        r#"(name: "unused", service_time: Constant("1ms"))"#,
        "workload: Constant(rate_per_s: 50)",
    ));
    let q = |m: &str| num(&doc, &format!("buses.q.{m}"));
    assert!(q("dropped") > 1000.0);
    assert_eq!(
        num(&doc, "clients.p.failures.server_rejected"),
        q("dropped")
    );
}

/// After max_deliveries failed deliveries a message is dead-lettered: a
/// service that always fails sees each message exactly that many times.
#[test]
fn dead_letters_after_max_deliveries() {
    let doc = run_ron(&bus_scenario(
        r#"consumers: 4, handler: Call(target: "s"),
           redelivery: (max_deliveries: 4, backoff: Constant("10ms"), mode: HoldThenRequeue)"#,
        r#"(name: "s", service_time: Constant("5ms"), failure_probability: 1.0)"#,
        "workload: Constant(rate_per_s: 20), requests: 100",
    ));
    let q = |m: &str| num(&doc, &format!("buses.q.{m}"));
    assert_eq!(q("dead_lettered"), 100.0);
    assert_eq!(q("delivered"), 400.0);
    assert_eq!(q("retries"), 300.0);
    assert_eq!(num(&doc, "services.s.arrivals"), 400.0);
}

fn crashing(idempotency: &str) -> String {
    bus_scenario(
        &format!(
            r#"consumers: 2, handler: Work(duration: Exponential(mean: "20ms")),
               crashes: (probability: 0.2, restart: "100ms", visibility_timeout: "1s"),
               {idempotency}"#
        ),
        r#"(name: "unused", service_time: Constant("1ms"))"#,
        "workload: Poisson(rate_per_s: 30)",
    )
}

/// At-least-once: a crash between the work and the acknowledgement
/// redelivers the message and its work takes effect twice. An idempotency
/// key makes the repeat a no-op: exactly one effect per message.
#[test]
fn idempotency_makes_effects_exactly_once() {
    let without = run_ron(&crashing(""));
    let w = |m: &str| num(&without, &format!("buses.q.{m}"));
    assert!(w("crashes") > 50.0);
    assert!(w("duplicates") > 50.0);
    assert!(w("effects") > w("messages_with_effect"));
    assert!(
        w("delivered") > w("published"),
        "deliveries exceed messages"
    );

    let with = run_ron(&crashing(r#"idempotency: (window: "1h")"#));
    let i = |m: &str| num(&with, &format!("buses.q.{m}"));
    assert!(i("delivered") > i("published"), "deliveries still repeat");
    assert!(i("deduplicated") > 50.0);
    assert_eq!(i("duplicates"), 0.0);
    assert_eq!(
        i("effects"),
        i("messages_with_effect"),
        "one effect per message"
    );
    assert!(i("messages_with_effect") >= i("ok"));
}

/// A delivery timeout after the service did the work: the redelivery does
/// it again (a duplicate), unless the key dedups it.
#[test]
fn a_timeout_after_the_work_causes_a_duplicate() {
    let scenario = |idempotency: &str| {
        bus_scenario(
            &format!(
                r#"consumers: 4, handler: Call(target: "s", timeout: "50ms"),
                   redelivery: (max_deliveries: 5, mode: HoldThenRequeue), {idempotency}"#
            ),
            r#"(name: "s", service_time: Exponential(mean: "30ms"), on_abandon: Orphan)"#,
            "workload: Poisson(rate_per_s: 40)",
        )
    };
    let without = run_ron(&scenario(""));
    assert!(num(&without, "buses.q.timeouts") > 50.0);
    assert!(num(&without, "buses.q.duplicates") > 50.0);
    assert_eq!(
        num(&without, "services.s.orphaned"),
        num(&without, "buses.q.timeouts") - num(&without, "services.s.cancelled")
    );
    let with = run_ron(&scenario(r#"idempotency: ()"#));
    assert_eq!(num(&with, "buses.q.duplicates"), 0.0);
    assert!(num(&with, "buses.q.deduplicated") > 50.0);
}

/// S5: a consumer crash resumes from the last commit, so what it processed
/// since is processed again; the lag then catches up.
#[test]
fn log_consumer_crash_replays_from_the_last_commit() {
    let doc = run_ron(
        r#"(
        name: "log", seed: 3, duration: "60s", metrics: (bucket: "1s"),
        clients: [(name: "p", target: "events", workload: Constant(rate_per_s: 100))],
        logs: [(name: "events", partitions: 4, consumers: 2, processing: Constant("5ms"),
                commit: (every_messages: 50),
                crashes: [(consumer: 0, at: "20.3s", restart_after: "5s")])],
    )"#,
    );
    let l = |m: &str| num(&doc, &format!("logs.events.{m}"));
    assert_eq!(l("crashes"), 1.0);
    // Consumer 0 owns partitions 0 and 2: every other message, 50/s, each
    // done 5 ms after it arrives. By 20.3 s it has processed 1015 (arrivals
    // 0, 20, ..., 20280 ms) and committed after 1000: 15 are replayed.
    assert_eq!(l("duplicates"), 15.0);
    // Lost progress is redone: processed = unique + duplicates.
    assert!(l("processed") >= l("appended") - l("lag_end") + l("duplicates") - 100.0);
    // 5 s down with 50 msg/s for that consumer: the lag builds to ~250+.
    assert!(l("lag_max") > 250.0, "lag max {}", l("lag_max"));
    let catch_up = l("catch_up_s");
    assert!(catch_up > 0.0 && catch_up < 10.0, "catch up {catch_up}");
}

/// A broker outage holds appends; they land when it ends.
#[test]
fn log_broker_outage_holds_producers() {
    let doc = run_ron(
        r#"(
        name: "log-outage", seed: 3, duration: "40s",
        clients: [(name: "p", target: "events", workload: Poisson(rate_per_s: 100))],
        logs: [(name: "events", partitions: 2, consumers: 2, processing: Constant("5ms"),
                commit: (interval: "1s"))],
        faults: [Outage(target: "events", start: "10s", end: "15s")],
    )"#,
    );
    assert!(num(&doc, "logs.events.producer_blocked_s") > 1000.0);
    assert!(num(&doc, "clients.p.latency_ms.max") > 4900.0);
    // 500 held appends land at 15 s; two consumers at 200/s each work
    // them off in about 1.25 s (plus commit granularity).
    let catch_up = num(&doc, "logs.events.catch_up_s");
    assert!(catch_up > 0.5 && catch_up < 5.0, "catch up {catch_up}");
}

fn lock(fencing: bool) -> String {
    format!(
        r#"(
        name: "lock", seed: 5, duration: "120s",
        locks: [(name: "leader", contenders: 4, lease: "1s", hold: Uniform(low: "100ms", high: "300ms"),
                 stall_probability: 0.1, stall: Exponential(mean: "2s"),
                 think: Exponential(mean: "500ms"), fencing: {fencing})],
    )"#
    )
}

/// S8: holders that stall past their lease lose it; their late writes are
/// unsafe, unless fencing tokens refuse them.
#[test]
fn lease_expiry_and_fencing() {
    let plain = run_ron(&lock(false));
    let p = |m: &str| num(&plain, &format!("locks.leader.{m}"));
    assert!(p("lease_expirations") > 5.0);
    assert!(p("unsafe_writes") > 5.0);
    assert_eq!(p("rejected_writes"), 0.0);
    let fenced = run_ron(&lock(true));
    let f = |m: &str| num(&fenced, &format!("locks.leader.{m}"));
    assert_eq!(f("unsafe_writes"), 0.0);
    assert!(f("rejected_writes") > 5.0);
    assert_eq!(
        p("lease_expirations"),
        f("lease_expirations"),
        "same draws, same stalls"
    );
}
