//! Overload control end to end: adaptive concurrency limits at the caller
//! and at the service, and priority admission, through scenarios.

use sim_tests::{num, rejection, run_ron};

/// A service of 16 workers behind a client far above its capacity: a
/// Gradient2 limit at the client keeps about the service's concurrency in
/// flight and refuses the rest locally; its series is the limit over time.
#[test]
fn a_client_limit_settles_near_the_service_concurrency() {
    let doc = run_ron(
        r#"(
        name: "gradient2", seed: 5, duration: "20s",
        services: [(name: "s", workers: 16, service_time: Exponential(mean: "20ms"),
                    overload: (knee_in_flight: 16, load: InSystem, latency_per_unit: "20ms",
                               failure_per_unit: 0.0))],
        clients: [(name: "c", workload: Poisson(rate_per_s: 2000), target: "s",
                   concurrency_limit: Gradient2(min_limit: 1))],
    )"#,
    );
    let mean = num(&doc, "clients.c.concurrency_limit.limit_mean");
    assert!((12.0..=24.0).contains(&mean), "limit mean {mean}");
    let refused = num(&doc, "clients.c.concurrency_limit.rejected");
    assert_eq!(refused, num(&doc, "clients.c.failures.concurrency_limit"));
    // Capacity is 800/s of 2000/s offered: most of the rest is refused at
    // the client instead of queueing at the service.
    assert!(refused > 0.45 * num(&doc, "clients.c.offered"), "{refused}");
    assert!(num(&doc, "services.s.queue_mean") < 16.0);
    let series = doc["series"]["clients"]["c"]["concurrency_limit"]
        .as_array()
        .expect("a limit series");
    assert_eq!(series.len(), 200, "20 s in buckets of 100 ms");
    // Without the limit the queue grows without bound.
    let doc = run_ron(
        r#"(
        name: "none", seed: 5, duration: "20s",
        services: [(name: "s", workers: 16, service_time: Exponential(mean: "20ms"),
                    overload: (knee_in_flight: 16, load: InSystem, latency_per_unit: "20ms",
                               failure_per_unit: 0.0))],
        clients: [(name: "c", workload: Poisson(rate_per_s: 2000), target: "s")],
    )"#,
    );
    assert!(num(&doc, "services.s.queue_mean") > 1000.0);
    assert!(doc["clients"]["c"].get("concurrency_limit").is_none());
}

/// Envoy's filter at the service: the limit starts at min_concurrency,
/// and at a steady light load settles where `(minRTT * 1.25) / sampleRTT`
/// stays near 1; everything it refuses is answered at once.
#[test]
fn envoys_filter_refuses_beyond_its_limit() {
    let doc = run_ron(
        r#"(
        name: "envoy", seed: 2, duration: "30s",
        services: [(name: "s", workers: 8, service_time: Constant("10ms"),
                    adaptive_concurrency: (min_rtt_requests: 20))],
        clients: [(name: "c", workload: Poisson(rate_per_s: 2000), target: "s")],
    )"#,
    );
    let ac = &doc["services"]["s"]["adaptive_concurrency"];
    let refused = num(&doc, "services.s.adaptive_concurrency.rejected");
    assert!(refused > 0.0);
    assert_eq!(
        refused,
        num(&doc, "clients.c.failures.server_rejected"),
        "{ac}"
    );
    assert_eq!(num(&doc, "services.s.adaptive_concurrency.limit_min"), 3.0);
    // 8 workers of 10 ms: the service serves at most 800/s whatever the
    // limit; the filter keeps the queue short (latency near minRTT).
    assert!(num(&doc, "services.s.wait_ms.mean") < 10.0, "{ac}");
    assert!(num(&doc, "services.s.ok") > 0.9 * 800.0 * 30.0);
    let series = doc["series"]["services"]["s"]["concurrency_limit"]
        .as_array()
        .unwrap();
    assert_eq!(series[0].as_f64().unwrap(), 3.0, "pinned while measuring");
}

/// DAGOR at the lower tier of two: the priority of a request travels with
/// its downstream call, so the low-priority client is shed first at the
/// bottom while the high-priority one keeps its success rate.
#[test]
fn priority_admission_sheds_the_low_priority_client_first() {
    let doc = run_ron(
        r#"(
        name: "dagor", seed: 3, duration: "30s",
        services: [
            (name: "front", service_time: Constant("1ms"), calls: [(target: "back")]),
            (name: "back", workers: 8, service_time: Exponential(mean: "10ms"),
             priority_admission: (queuing_threshold: "5ms")),
        ],
        clients: [
            (name: "high", workload: Poisson(rate_per_s: 400), target: "front", priority: 1),
            (name: "low", workload: Poisson(rate_per_s: 800), target: "front", priority: 7),
        ],
    )"#,
    );
    let high = num(&doc, "clients.high.success_rate");
    let low = num(&doc, "clients.low.success_rate");
    assert!(high > 0.97, "high {high}");
    // 800/s of capacity for 1200/s: about a third of all is refused, all of
    // it low priority.
    assert!(low < 0.7, "low {low}");
    assert!(num(&doc, "services.back.priority_admission.overloaded_windows") > 0.0);
    let level = num(&doc, "services.back.priority_admission.level_min");
    assert!((7.0 * 128.0..8.0 * 128.0).contains(&level), "{level}");
    assert!(doc["series"]["services"]["back"]["admission_level"].is_array());
}

#[test]
fn impossible_overload_control_values_are_located() {
    let e = rejection(
        r#"(name: "bad", duration: "1s",
            services: [(name: "s", service_time: Constant("1ms"),
                        adaptive_concurrency: (min_concurrency: 0),
                        priority_admission: (alpha: 2.0))],
            clients: [(name: "c", workload: Poisson(rate_per_s: 1), target: "s", priority: 64,
                       concurrency_limit: Aimd(min_limit: 0))])"#,
    );
    for want in [
        "services[0].adaptive_concurrency.min_concurrency: must be >= 1",
        "services[0].priority_admission.alpha: must be in (0, 1)",
        "services[0].priority_admission: detects overload by queueing time",
        "clients[0].priority: must be in 0..=63",
        "clients[0].concurrency_limit.Aimd.min_limit: must be >= 1",
    ] {
        assert!(e.contains(want), "{want} not in {e}");
    }
}

/// gRPC's server pushback (gRFC A6): a retry waits exactly the server's
/// delay, and the backoff after it starts again from the first. A hog
/// holds the only worker (no queue) for 1 s; the client's attempts at 1,
/// 101, ..., 901 ms are refused with "retry after 100 ms"; the one at
/// 1001 ms runs for 1 s and fails without a pushback, so the next waits
/// the *first* exponential backoff (300 ms, not 300 ms * 2^10): it runs
/// from 2301 ms and fails at 3301 ms, the twelfth and last attempt.
#[test]
fn a_retry_after_replaces_the_backoff_and_restarts_it() {
    let doc = run_ron(
        r#"(
        name: "pushback", seed: 1,
        services: [(name: "s", workers: 1, queue_capacity: 0, service_time: Constant("1s"),
                    failure_probability: 1.0,
                    retry_after: [(on: Rejection, delay: Some("100ms"))])],
        clients: [
            (name: "hog", workload: Bursts(size: 1, every: "1h"), requests: 1, target: "s"),
            (name: "c", workload: Bursts(size: 1, every: "1h"), requests: 1, start: "1ms",
             target: "s",
             retry: (max_attempts: 12, retry_on: [Error, Rejection],
                     backoff: Exponential(base: "300ms", cap: "1000s"))),
        ],
    )"#,
    );
    assert_eq!(num(&doc, "clients.c.retry_after_honoured"), 10.0);
    assert_eq!(num(&doc, "clients.c.attempts"), 12.0);
    assert!((num(&doc, "clients.c.makespan_s") - 3.301).abs() < 1e-9);
    // A pushback that says "do not retry" ends the request at once.
    let doc = run_ron(
        r#"(
        name: "no-retry", seed: 1,
        services: [(name: "s", workers: 1, queue_capacity: 0, service_time: Constant("1s"),
                    retry_after: [(on: Rejection, delay: None)])],
        clients: [
            (name: "hog", workload: Bursts(size: 1, every: "1h"), requests: 1, target: "s"),
            (name: "c", workload: Bursts(size: 1, every: "1h"), requests: 1, start: "1ms",
             target: "s", retry: (max_attempts: 5, retry_on: [Rejection])),
        ],
    )"#,
    );
    assert_eq!(num(&doc, "clients.c.retry_after_refused"), 1.0);
    assert_eq!(num(&doc, "clients.c.attempts"), 1.0);
    assert_eq!(num(&doc, "clients.c.failures.server_rejected"), 1.0);
}

/// Errors have kinds, and a retry policy retries only those it lists: an
/// invalid request is not retried by `retry_on: [Unavailable]`, is by
/// `[Error]` (every kind); the kind passes up through a failed downstream
/// call.
#[test]
fn retries_follow_the_error_kind() {
    let scenario = |retry_on: &str| {
        format!(
            r#"(
            name: "kinds", seed: 1,
            services: [
                (name: "front", service_time: Constant("1ms"), calls: [(target: "back")]),
                (name: "back", service_time: Constant("1ms"),
                 errors: [(kind: InvalidRequest, probability: 1.0)]),
            ],
            clients: [(name: "c", workload: Constant(rate_per_s: 10), requests: 20, target: "front",
                       retry: (max_attempts: 3, retry_on: {retry_on}))],
        )"#
        )
    };
    let doc = run_ron(&scenario("[Unavailable, Timeout]"));
    assert_eq!(num(&doc, "clients.c.retries"), 0.0);
    assert_eq!(num(&doc, "clients.c.failures.error"), 20.0);
    let doc = run_ron(&scenario("[InvalidRequest]"));
    assert_eq!(num(&doc, "clients.c.retries"), 40.0);
    let doc = run_ron(&scenario("[Error]"));
    assert_eq!(num(&doc, "clients.c.retries"), 40.0);
    // Overload's failures may have a kind of their own: with every job
    // over the knee, only the overload part (0.5 of 0.6) is retried.
    let doc = run_ron(
        r#"(
        name: "overloaded", seed: 4, duration: "60s",
        services: [(name: "s", service_time: Constant("1ms"), failure_probability: 0.2,
                    overload: (knee_in_flight: 0.5, load: InSystem, latency_per_unit: "0ms",
                               failure_per_unit: 0.5, failure_shape: Step,
                               failure_kind: Overloaded))],
        clients: [(name: "c", workload: Poisson(rate_per_s: 200), target: "s",
                   retry: (max_attempts: 2, retry_on: [Overloaded]))],
    )"#,
    );
    // P(retry) = P(fail) * P(overload kind | fail) = 0.7 * (0.5 / 0.7).
    let per_request = num(&doc, "clients.c.retries_per_request");
    assert!((per_request - 0.5).abs() < 0.02, "{per_request}");
}

#[test]
fn a_retry_after_must_name_an_answer_the_service_gives() {
    let e = rejection(
        r#"(name: "bad", duration: "1s",
            services: [(name: "s", service_time: Constant("1ms"),
                        retry_after: [(on: Rejection, delay: Some("1s")),
                                      (on: Timeout, delay: Some("1s")),
                                      (on: InvalidRequest, delay: None)])],
            clients: [(name: "c", workload: Poisson(rate_per_s: 1), target: "s")])"#,
    );
    for want in [
        "services[0].retry_after[0].on: this service never refuses",
        "services[0].retry_after[1].on: Timeout is decided by the caller",
        "services[0].retry_after[2].on: this service never fails with InvalidRequest",
    ] {
        assert!(e.contains(want), "{want} not in {e}");
    }
}

/// A client group of several instances: each has its own policy state.
/// Against a service that always fails, a TokenBucket(10, 0.1) budget
/// takes a token per failed attempt and allows a retry while more than 5
/// are left: the first request's three attempts leave 9, 8 (retried) and 7
/// (its last); the second's first leaves 6 (retried), its second 5
/// (refused). So 3 retries per bucket: 3 for one shared bucket, 30 for ten
/// instances of the group.
#[test]
fn instances_have_their_own_budgets() {
    let scenario = |instances: u32| {
        format!(
            r#"(
            name: "instances", seed: 1,
            services: [(name: "s", service_time: Constant("1ms"), failure_probability: 1.0)],
            clients: [(name: "c", workload: Constant(rate_per_s: 100), requests: 100, target: "s",
                       instances: {instances},
                       retry: (max_attempts: 3, budget: TokenBucket(max_tokens: 10, token_ratio: 0.1)))],
        )"#
        )
    };
    let one = run_ron(&scenario(1));
    let ten = run_ron(&scenario(10));
    let retries_one = num(&one, "clients.c.retries");
    let retries_ten = num(&ten, "clients.c.retries");
    assert_eq!(retries_one, 3.0);
    assert_eq!(retries_ten, 30.0);
    assert_eq!(num(&ten, "clients.c.offered"), 100.0);
    assert_eq!(num(&ten, "clients.c.attempts"), 130.0);
    // A group of one is the group as before: same numbers as no field.
    let plain = run_ron(&scenario(1).replace("instances: 1,", ""));
    assert_eq!(plain["clients"], one["clients"]);
    let e = rejection(&scenario(0));
    assert!(e.contains("clients[0].instances: must be >= 1"), "{e}");
    let e = rejection(&scenario(5000));
    assert!(e.contains("clients[0].instances"), "{e}");
}
