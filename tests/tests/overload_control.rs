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
