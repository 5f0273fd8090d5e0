//! Clients, policies, services and faults, end to end through scenarios.

use sim_tests::{estimate_metric, num, rejection, run_ron, scenario_from};

/// With independent per-attempt failure probability p and r retries, a
/// request makes (1 - p^(r+1)) / (1 - p) attempts on average and succeeds
/// with probability 1 - p^(r+1). Checked at 99.9% over 30 replications.
#[test]
fn retries_match_the_geometric_formulas() {
    let (p, r) = (0.3f64, 3);
    let text = format!(
        r#"(
        name: "geometric", seed: 11, duration: "20s",
        services: [(name: "s", service_time: Constant("1ms"), failure_probability: {p})],
        clients: [(name: "c", workload: Poisson(rate_per_s: 100), target: "s",
                   retry: (max_attempts: {}, retry_on: [Error]))],
    )"#,
        r + 1
    );
    let attempts = (1.0 - p.powi(r + 1)) / (1.0 - p);
    let success = 1.0 - p.powi(r + 1);
    let est = estimate_metric(&text, 30, "clients.c.retry_amplification", 0.999);
    assert!(
        est.contains(attempts),
        "attempts/request {est:?} vs {attempts}"
    );
    assert!(
        est.half_width.unwrap() < 0.01 * attempts,
        "interval too wide: {est:?}"
    );
    let est = estimate_metric(&text, 30, "clients.c.success_rate", 0.999);
    assert!(est.contains(success), "success rate {est:?} vs {success}");
    // The check can fail: a different p would be outside.
    let wrong = 1.0 - 0.35f64.powi(r + 1);
    assert!(!est.contains(wrong), "{est:?} would also accept {wrong}");
}

/// Layered retries multiply: 3 tiers each making up to 4 attempts against a
/// permanently failing bottom service send 4^3 = 64 attempts per request.
#[test]
fn three_tiers_of_three_retries_send_64_attempts_to_the_bottom() {
    let doc = run_ron(
        r#"(
        name: "tiers", seed: 3,
        services: [
            (name: "a", service_time: Constant("1ms"),
             calls: [(target: "b", retry: (max_attempts: 4))]),
            (name: "b", service_time: Constant("1ms"),
             calls: [(target: "c", retry: (max_attempts: 4))]),
            (name: "c", service_time: Constant("1ms"), failure_probability: 1.0),
        ],
        clients: [(name: "user", workload: Constant(rate_per_s: 1), requests: 10,
                   target: "a", retry: (max_attempts: 4))],
    )"#,
    );
    assert_eq!(num(&doc, "clients.user.offered"), 10.0);
    assert_eq!(num(&doc, "clients.user.failed"), 10.0);
    assert_eq!(num(&doc, "services.c.arrivals"), 640.0);
    assert_eq!(num(&doc, "services.c.amplification"), 64.0);
    assert_eq!(num(&doc, "services.b.amplification"), 16.0);
    assert_eq!(num(&doc, "services.a.amplification"), 4.0);
    assert_eq!(num(&doc, "clients.user.retry_amplification"), 4.0);
    assert_eq!(doc["services"]["b"]["calls"][0]["retry_amplification"], 4.0);
}

/// The overload model reads the load it is told to and grows its penalty
/// as told: "16 workers; once more than 25 attempts are queued or in
/// service, each attempt that starts takes 50 ms longer and fails" (here
/// with probability 1, so the failures count the penalised starts). A
/// burst of 40 at once: the first 16 start with at most 16 in the system;
/// at 10 ms the i-th departure starts a job with 40 - i in the system
/// (15 + 1 in service, 24 - i waiting), which is more than 25 for i = 1 to
/// 14; later starts see 25 or fewer.
#[test]
fn a_step_overload_on_jobs_in_the_system() {
    let scenario = |load: &str| {
        format!(
            r#"(
            name: "step", seed: 1,
            services: [(name: "s", workers: 16, service_time: Constant("10ms"),
                        overload: (knee_in_flight: 25, load: {load},
                                   latency_per_unit: "50ms", latency_shape: Step,
                                   failure_per_unit: 1.0, failure_shape: Step))],
            clients: [(name: "c", workload: Bursts(size: 40, every: "1h"), requests: 40, target: "s")],
        )"#
        )
    };
    let doc = run_ron(&scenario("InSystem"));
    assert_eq!(num(&doc, "clients.c.failed"), 14.0);
    assert_eq!(num(&doc, "clients.c.ok"), 26.0);
    // A penalised job takes 10 + 50 ms: the last of them ends at 70 ms.
    assert!((num(&doc, "clients.c.makespan_s") - 0.070).abs() < 1e-9);
    // Counting jobs in service only (S1's reading), 16 workers never pass
    // a knee of 25.
    let doc = run_ron(&scenario("InService"));
    assert_eq!(num(&doc, "clients.c.failed"), 0.0);
    // Counting the queue alone: at 10 ms the i-th start sees 24 - i waiting.
    let doc = run_ron(&scenario("Queued").replace("knee_in_flight: 25", "knee_in_flight: 20"));
    assert_eq!(
        num(&doc, "clients.c.failed"),
        3.0,
        "24 - i > 20 for i = 1, 2, 3"
    );
}

/// A queue timeout sheds what waited too long, and its caller sees a
/// rejection: one worker of 10 ms and a burst of 10 serve jobs 1-3 (waits
/// 0, 10 and 20 ms); at 30 ms the other seven have waited 30 ms > 25 ms.
#[test]
fn a_queue_timeout_sheds_stale_work() {
    let doc = run_ron(
        r#"(
        name: "shed", seed: 1,
        services: [(name: "s", workers: 1, service_time: Constant("10ms"),
                    shed: QueueTimeout("25ms"))],
        clients: [(name: "c", workload: Bursts(size: 10, every: "1h"), requests: 10, target: "s")],
    )"#,
    );
    assert_eq!(num(&doc, "services.s.shed"), 7.0);
    assert_eq!(num(&doc, "services.s.ok"), 3.0);
    assert_eq!(num(&doc, "clients.c.failed"), 7.0);
    assert_eq!(num(&doc, "clients.c.failures.server_rejected"), 7.0);
    // CoDel with unlimited workers cannot shed anything: a located error.
    let e = sim_tests::rejection(
        r#"(name: "bad", services: [(name: "s", service_time: Constant("1ms"),
            shed: CoDel(target: "5ms", interval: "1ms"))],
            clients: [(name: "c", workload: Poisson(rate_per_s: 1), target: "s")])"#,
    );
    assert!(
        e.contains("services[0].shed.interval: must be >= target"),
        "{e}"
    );
    assert!(e.contains("services[0].shed: sheds queued work"), "{e}");
}

/// A service's downstream call has its own series (calls, attempts,
/// failures per bucket, adding up to its metrics) and, with a breaker, its
/// breaker's states under `series.breakers["SERVICE -> TARGET"]`.
#[test]
fn a_downstream_call_has_series_and_breaker_states() {
    let doc = run_ron(
        r#"(
        name: "call-series", seed: 3, duration: "20s",
        metrics: (bucket: "100ms"),
        services: [
            (name: "frontend", service_time: Constant("2ms"), workers: 32,
             calls: [(target: "backend", timeout: "100ms", retry: (max_attempts: 3),
                      breaker: (trip: ConsecutiveFailures(5), open_for: "2s",
                                after_open: HalfOpen(probes: 1)))]),
            (name: "backend", service_time: Exponential(mean: "5ms"), workers: 16),
        ],
        clients: [(name: "users", workload: Poisson(rate_per_s: 200), target: "frontend")],
        faults: [Outage(target: "backend", start: "5s", end: "9s")],
    )"#,
    );
    let series = &doc["series"]["services"]["frontend"]["calls"][0];
    assert_eq!(series["target"], "backend");
    let sum = |k: &str| -> f64 {
        series[k]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .sum()
    };
    let call = |k: &str| doc["services"]["frontend"]["calls"][0][k].as_f64().unwrap();
    assert!(call("calls") > 3000.0);
    for k in ["calls", "attempts", "failed"] {
        assert_eq!(sum(k), call(k), "{k}");
    }
    // The outage opens the breaker; it closes again after it.
    let states: Vec<&str> = doc["series"]["breakers"]["frontend -> backend"]
        .as_array()
        .expect("the call's breaker has a series")
        .iter()
        .map(|s| s["state"].as_str().unwrap())
        .collect();
    assert!(states.contains(&"Open"), "{states:?}");
    assert_eq!(states.last(), Some(&"Closed"), "{states:?}");
    // Failures only while the backend is out (buckets 50-90), or just
    // after, while an attempt that started in it times out.
    let failed = series["failed"].as_array().unwrap();
    for (b, f) in failed.iter().enumerate() {
        if !(50..=91).contains(&b) {
            assert_eq!(f, 0, "failures in bucket {b}");
        }
    }
    // A service that calls nothing has no call series.
    assert!(doc["series"]["services"]["backend"].get("calls").is_none());
}

/// Policy order matters (S7): a breaker inside the retry sees every attempt
/// and cuts retries short; outside, it sees one outcome per request.
#[test]
fn retry_inside_and_outside_the_breaker_differ() {
    let scenario = |order: &str| {
        format!(
            r#"(
            name: "order", seed: 5, duration: "30s",
            services: [(name: "s", service_time: Constant("5ms"), failure_probability: 0.6)],
            clients: [(name: "c", workload: Poisson(rate_per_s: 50), target: "s",
                retry: (max_attempts: 4, backoff: Constant("10ms")),
                breaker: (trip: ConsecutiveFailures(5), open_for: "1s"),
                order: {order})],
        )"#
        )
    };
    let outside = run_ron(&scenario("[Retry, Breaker]"));
    let inside = run_ron(&scenario("[Breaker, Retry]"));
    let attempts_outside = num(&outside, "clients.c.attempts");
    let attempts_inside = num(&inside, "clients.c.attempts");
    assert_ne!(attempts_outside, attempts_inside);
    // Retries outside the breaker are refused locally while it is open, so
    // fewer attempts reach the service than when the breaker wraps them.
    assert!(
        num(&outside, "clients.c.cb_open") > num(&inside, "clients.c.cb_open"),
        "the retry layer outside asks the breaker on every retry"
    );
    assert!(
        attempts_outside < attempts_inside,
        "{attempts_outside} vs {attempts_inside}"
    );
}

/// S3's breaker in a scenario: an outage opens it after 5 consecutive
/// failures; it stays open 30 s, then a half-open trial closes it.
#[test]
fn s3_breaker_opens_on_an_outage_and_recovers_after_it() {
    let doc = run_ron(
        r#"(
        name: "s3", seed: 1, duration: "120s", metrics: (bucket: "1s"),
        services: [(name: "s", service_time: Constant("10ms"))],
        clients: [(name: "c", workload: Constant(rate_per_s: 10), target: "s",
            breaker: (trip: ConsecutiveFailures(5), open_for: "30s", after_open: HalfOpen(probes: 1)))],
        faults: [Outage(target: "s", start: "10s", end: "50s")],
    )"#,
    );
    let states: Vec<(f64, String)> = doc["series"]["breakers"]["c"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["t_s"].as_f64().unwrap(),
                s["state"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let names: Vec<&str> = states.iter().map(|s| s.1.as_str()).collect();
    // Opens at 10.4 s (5th failure), half-open trial at 40.4 s fails (the
    // outage lasts until 50 s), re-opens; trial at 70.4 s succeeds.
    assert_eq!(
        names,
        ["Closed", "Open", "HalfOpen", "Open", "HalfOpen", "Closed"]
    );
    assert!((states[1].0 - 10.4).abs() < 1e-9, "{states:?}");
    assert!((states[2].0 - 40.4).abs() < 1e-9, "{states:?}");
    assert!((states[4].0 - 70.4).abs() < 1e-9, "{states:?}");
    assert_eq!(num(&doc, "clients.c.failures.error"), 5.0 + 1.0);
    assert!(num(&doc, "clients.c.cb_open") > 500.0);
    // Recovery is measured from the end of the outage (50 s): the breaker
    // keeps refusing until the trial at 70.4 s.
    let ttr = num(&doc, "clients.c.time_to_recover_s");
    assert!((20.0..22.0).contains(&ttr), "time to recover {ttr}");
}

/// A bulkhead caps attempts in flight, whatever the offered load.
#[test]
fn bulkhead_caps_concurrency() {
    let doc = run_ron(
        r#"(
        name: "bulkhead", seed: 2, duration: "10s",
        services: [(name: "s", service_time: Exponential(mean: "50ms"))],
        clients: [(name: "c", workload: Poisson(rate_per_s: 400), target: "s",
            bulkhead: (max_concurrent: 8, max_waiting: 4))],
    )"#,
    );
    assert_eq!(num(&doc, "services.s.in_flight_max"), 8.0);
    assert!(num(&doc, "clients.c.bulkhead_rejected") > 0.0);
    assert_eq!(
        num(&doc, "clients.c.bulkhead_rejected"),
        num(&doc, "clients.c.failures.bulkhead")
    );
}

/// A per-attempt timeout either cancels the work (S1) or leaves it running
/// to completion as wasted work.
#[test]
fn abandoned_work_is_cancelled_or_orphaned() {
    let scenario = |mode: &str| {
        format!(
            r#"(
            name: "abandon", seed: 4, duration: "10s",
            services: [(name: "s", workers: 4, service_time: Exponential(mean: "50ms"), on_abandon: {mode})],
            clients: [(name: "c", workload: Poisson(rate_per_s: 100), target: "s", timeout: "60ms")],
        )"#
        )
    };
    let cancel = run_ron(&scenario("Cancel"));
    let orphan = run_ron(&scenario("Orphan"));
    assert!(num(&cancel, "services.s.cancelled") > 0.0);
    assert_eq!(num(&cancel, "services.s.orphaned"), 0.0);
    assert_eq!(num(&orphan, "services.s.cancelled"), 0.0);
    assert!(num(&orphan, "services.s.orphaned") > 0.0);
    // Orphaned work keeps workers busy: more timeouts than when cancelled.
    assert!(num(&orphan, "clients.c.timeouts") > num(&cancel, "clients.c.timeouts"));
}

/// Closed-loop users wait for their request: never more in flight than users.
#[test]
fn closed_loop_users_wait_for_their_requests() {
    let doc = run_ron(
        r#"(
        name: "closed", seed: 8, duration: "20s",
        services: [(name: "s", workers: 2, service_time: Exponential(mean: "100ms"))],
        clients: [(name: "c", workload: ClosedLoop(users: 5, think: Exponential(mean: "200ms")), target: "s")],
    )"#,
    );
    let max_queue = num(&doc, "services.s.queue_max");
    assert!(
        max_queue <= 3.0,
        "5 users, 2 in service: at most 3 wait, got {max_queue}"
    );
    // Throughput is bounded by the workers: about 2 per 100 ms.
    let ok = num(&doc, "clients.c.ok");
    assert!(ok > 250.0 && ok < 400.0, "{ok}");
}

/// Piecewise workload: 8/s with a 5 s spike to 30/s.
#[test]
fn rate_schedule_follows_its_steps() {
    let doc = run_ron(
        r#"(
        name: "schedule", seed: 9, duration: "40s", metrics: (bucket: "1s"),
        services: [(name: "s", service_time: Constant("1ms"))],
        clients: [(name: "c", target: "s", workload: Schedule(steps: [
            (at: "0s", rate_per_s: 8), (at: "20s", rate_per_s: 30), (at: "25s", rate_per_s: 8)]))],
    )"#,
    );
    let offered = doc["series"]["clients"]["c"]["offered"].as_array().unwrap();
    let sum = |a: usize, b: usize| {
        offered[a..b]
            .iter()
            .map(|v| v.as_f64().unwrap())
            .sum::<f64>()
    };
    let base = sum(0, 20) / 20.0;
    let spike = sum(20, 25) / 5.0;
    assert!((base - 8.0).abs() < 1.5, "base rate {base}");
    assert!((spike - 30.0).abs() < 5.0, "spike rate {spike}");
}

/// Backoff spreads a thundering herd: with full jitter the peak of attempts
/// per bucket is far below the no-backoff herd's.
#[test]
fn jitter_flattens_the_herd() {
    let scenario = |backoff: &str| {
        format!(
            r#"(
            name: "herd", seed: 12, duration: "20s", metrics: (bucket: "10ms"),
            services: [(name: "s", service_time: Constant("5ms"))],
            clients: [(name: "c", target: "s", workload: Bursts(size: 500, every: "1h"), requests: 500,
                retry: (max_attempts: None, backoff: {backoff}))],
            faults: [Outage(target: "s", start: "0s", end: "2s")],
        )"#
        )
    };
    let exp = run_ron(&scenario(r#"Exponential(base: "50ms", cap: "5s")"#));
    let full = run_ron(&scenario(r#"FullJitter(base: "50ms", cap: "5s")"#));
    for d in [&exp, &full] {
        assert_eq!(num(d, "clients.c.ok"), 500.0, "retrying until success");
    }
    // The initial burst (500 attempts at 0 ms) is the same for both; compare
    // the retry waves after it.
    let retry_peak = |d: &serde_json::Value| {
        let width = d["series"]["bucket_s"].as_f64().unwrap();
        let attempts = d["series"]["clients"]["c"]["attempts"].as_array().unwrap();
        let first = (0.04 / width).ceil() as usize;
        attempts[first..]
            .iter()
            .map(|v| v.as_f64().unwrap())
            .fold(0.0, f64::max)
    };
    // Without jitter the retries come back in synchronized waves at 50, 150,
    // 350 ms...: the whole herd in one bucket each time.
    assert_eq!(
        retry_peak(&exp),
        500.0,
        "without jitter every retry wave is synchronized"
    );
    let peak_full = retry_peak(&full);
    // Full jitter spreads each wave over its whole window (the first over
    // 0-50 ms, five 10 ms buckets): no bucket sees 40% of the herd.
    assert!(peak_full < 200.0, "full jitter retry peak {peak_full}");
    assert_eq!(num(&exp, "clients.c.peak_attempts_per_bucket"), 500.0);
}

/// A shared token bucket limits the whole fleet.
#[test]
fn shared_rate_limiter_caps_the_rate() {
    let doc = run_ron(
        r#"(
        name: "limiter", seed: 6, duration: "10s",
        services: [(name: "s", service_time: Constant("1ms"))],
        rate_limiters: [(name: "shared", rate_per_s: 50, burst: 10)],
        clients: [
            (name: "a", workload: Poisson(rate_per_s: 100), target: "s", rate_limit: (limiter: "shared")),
            (name: "b", workload: Poisson(rate_per_s: 100), target: "s", rate_limit: (limiter: "shared")),
        ],
    )"#,
    );
    let arrivals = num(&doc, "services.s.arrivals");
    assert!(arrivals <= 50.0 * 10.0 + 10.0, "{arrivals}");
    assert!(arrivals > 480.0, "{arrivals}");
    assert!(num(&doc, "clients.a.rate_limited") + num(&doc, "clients.b.rate_limited") > 1000.0);
}

/// Fallback turns failures into degraded successes.
#[test]
fn fallback_counts_degraded_successes() {
    let doc = run_ron(
        r#"(
        name: "fallback", seed: 6, duration: "10s",
        services: [(name: "s", service_time: Constant("1ms"), failure_probability: 0.5)],
        clients: [(name: "c", workload: Poisson(rate_per_s: 100), target: "s", fallback: true)],
    )"#,
    );
    assert_eq!(num(&doc, "clients.c.failed"), 0.0);
    assert!(num(&doc, "clients.c.degraded") > 300.0);
    assert_eq!(num(&doc, "clients.c.success_rate"), 1.0);
}

/// gRPC-style token bucket: under permanent failure, retries stop once the
/// tokens fall to half.
#[test]
fn token_bucket_budget_stops_retry_storms() {
    let doc = run_ron(
        r#"(
        name: "budget", seed: 6, duration: "10s",
        services: [(name: "s", service_time: Constant("1ms"), failure_probability: 1.0)],
        clients: [(name: "c", workload: Poisson(rate_per_s: 100), target: "s",
            retry: (max_attempts: 4, budget: TokenBucket(max_tokens: 10, token_ratio: 0.1)))],
    )"#,
    );
    // The first request fails 4 times (tokens 10 -> 9, 8, 7: three retries
    // allowed; the 4th failure leaves 6 and max_attempts is reached). The
    // second request's failure leaves 5, not above half: no retry, ever
    // again, since nothing succeeds to refill the bucket.
    assert_eq!(num(&doc, "clients.c.retries"), 3.0);
    assert!(num(&doc, "clients.c.budget_denied") > 900.0);
}

/// Adaptive throttling rejects locally when the backend refuses.
#[test]
fn adaptive_throttle_sheds_load_when_the_backend_fails() {
    let doc = run_ron(
        r#"(
        name: "throttle", seed: 6, duration: "60s",
        services: [(name: "s", service_time: Constant("1ms"), failure_probability: 0.9)],
        clients: [(name: "c", workload: Poisson(rate_per_s: 100), target: "s", throttle: (k: 2))],
    )"#,
    );
    let offered = num(&doc, "clients.c.offered");
    let attempts = num(&doc, "clients.c.attempts");
    // With 10% accepted, P(reject) -> (1 - 0.2 * admitted share) ...: most
    // requests never leave the client.
    assert!(attempts < 0.35 * offered, "{attempts} of {offered}");
    assert!(num(&doc, "clients.c.throttled") > 0.6 * offered);
}

/// Overload model (S1): the load factor rises with work in flight.
#[test]
fn overload_raises_latency_past_the_knee() {
    let scenario = |rate: u32| {
        format!(
            r#"(
            name: "knee", seed: 1, duration: "5s",
            services: [(name: "s", service_time: Constant("10ms"),
                overload: (knee_in_flight: 5, latency_per_unit: "50ms", failure_per_unit: 0.0))],
            clients: [(name: "c", workload: Constant(rate_per_s: {rate}), target: "s")],
        )"#
        )
    };
    // 100/s x 10 ms = 1 in flight: no overload, latency exactly 10 ms.
    let low = run_ron(&scenario(100));
    assert_eq!(num(&low, "services.s.latency_ms.max"), 10.0);
    let high = run_ron(&scenario(2000));
    assert!(num(&high, "services.s.latency_ms.mean") > 20.0);
}

/// Invalid scenarios are refused with the field path and reason.
#[test]
fn invalid_scenarios_name_the_field() {
    let base = |client: &str, extra: &str| {
        format!(
            r#"(name: "bad", duration: "1s",
            services: [(name: "s", service_time: Constant("1ms"))],
            clients: [(name: "c", workload: Poisson(rate_per_s: 10), target: "s", {client})], {extra})"#
        )
    };
    let cases: &[(String, &str)] = &[
        (
            base(r#"retry: (backoff: FullJitter(base: "50ms", cap: "10ms"))"#, ""),
            "clients[0].retry.backoff.cap: must be >= base (50ms), got 10ms",
        ),
        (base("retry: (max_attempts: 0)", ""), "clients[0].retry.max_attempts: must be >= 1"),
        (base(r#"timeout: "0s""#, ""), "clients[0].timeout: must be > 0"),
        (
            base("bulkhead: (max_concurrent: 0)", ""),
            "clients[0].bulkhead.max_concurrent: must be >= 1",
        ),
        (
            base(r#"breaker: (trip: FailureRate(window: Count(10), threshold: 1.5, minimum_calls: 5))"#, ""),
            "clients[0].breaker.trip.threshold: must be in (0, 1]",
        ),
        (
            base(r#"rate_limit: (limiter: "nope")"#, ""),
            "clients[0].rate_limit.limiter: no rate limiter named \"nope\"",
        ),
        (base("order: [Retry]", ""), "clients[0].order[0]: Retry is listed but not configured"),
        (
            base("", r#"faults: [Outage(target: "s", start: "5s", end: "1s")]"#),
            "faults[0].end: must be after start (5s), got 1s",
        ),
        (
            base("", r#"faults: [Outage(target: "nope", start: "1s", end: "2s")]"#),
            "faults[0].target: no service, bus or log named \"nope\"",
        ),
        (
            base("", "replications: 0"),
            "replications: must be >= 1",
        ),
        (
            r#"(name: "bad", duration: "1s", services: [(name: "s", service_time: Exponential(mean: "1ms"), failure_probability: 1.5)])"#.into(),
            "services[0].failure_probability: must be a probability in [0, 1], got 1.5",
        ),
        (
            r#"(name: "bad", duration: "1s", services: [(name: "s", workers: 0, service_time: Uniform(low: "5ms", high: "1ms"))])"#.into(),
            "services[0].workers: must be >= 1",
        ),
        (
            r#"(name: "bad", duration: "1s", services: [(name: "s", service_time: Uniform(low: "5ms", high: "1ms"))])"#.into(),
            "services[0].service_time.high: must be >= low (5ms), got 1ms",
        ),
        (
            r#"(name: "bad", services: [(name: "s", service_time: Constant("1ms"))],
               clients: [(name: "c", workload: Poisson(rate_per_s: -3), target: "s")], duration: "1s")"#.into(),
            "clients[0].workload.rate_per_s: must be a finite number > 0, got -3",
        ),
        (
            r#"(name: "bad", services: [(name: "a", service_time: Constant("1ms"), calls: [(target: "b")]),
                                       (name: "b", service_time: Constant("1ms"), calls: [(target: "a")])])"#.into(),
            "services call each other in a cycle: a -> b -> a",
        ),
        (
            r#"(name: "bad", services: [(name: "s", service_time: Constant("1ms"))],
               clients: [(name: "c", workload: Poisson(rate_per_s: 3), target: "s")])"#.into(),
            "clients[0].requests: the scenario has no duration",
        ),
        (
            r#"(name: "bad", services: [(name: "s", servce_time: Constant("1ms"))])"#.into(),
            "bad.ron:1:",
        ),
        (
            r#"(name: "bad", duration: "10", services: [])"#.into(),
            "has no unit",
        ),
        (
            r#"(name: "bad", duration: "-1s")"#.into(),
            "negative duration",
        ),
    ];
    for (text, expected) in cases {
        let msg = rejection(text);
        assert!(msg.contains(expected), "expected {expected:?}, got:\n{msg}");
    }
}

/// Same scenario and seed: identical results; another seed: different.
#[test]
fn runs_are_deterministic_per_seed() {
    let text = r#"(
        name: "det", seed: 21, duration: "5s",
        services: [(name: "s", workers: 2, queue_capacity: 10, service_time: Exponential(mean: "20ms"),
                    failure_probability: 0.1)],
        clients: [(name: "c", workload: Poisson(rate_per_s: 90), target: "s", timeout: "100ms",
                   retry: (max_attempts: 3, backoff: DecorrelatedJitter(base: "5ms", cap: "1s")),
                   breaker: (trip: ConsecutiveFailures(3), open_for: "200ms"))],
    )"#;
    let a = serde_json::to_string(&run_ron(text)).unwrap();
    let b = serde_json::to_string(&run_ron(text)).unwrap();
    assert_eq!(a, b);
    let other = serde_json::to_string(&run_ron(&text.replace("seed: 21", "seed: 22"))).unwrap();
    assert_ne!(a, other);
}

/// A client's requests through a pipeline with nothing in it (no layers,
/// no network, one replica) are direct: no call or attempt row, and their
/// answers come back as the engine's follow-ups where nothing else is due
/// at that instant. A trace turns that off (its lines name every call).
/// Both ways give the same results to the byte, in the shapes where an
/// answer's place among other events at one instant matters: ties of
/// constant times, bursts, refusals and sheds answered at arrival, closed
/// loops that issue again at the answer, faults, priorities, and a direct
/// client in front of a tier called through policies.
#[test]
fn direct_requests_change_no_number() {
    let cases = [
        r#"(name: "mmc", seed: 3, duration: "5s",
            services: [(name: "s", workers: 2, queue_capacity: 3, service_time: Exponential(mean: "10ms"),
                        failure_probability: 0.2)],
            clients: [(name: "c", workload: Poisson(rate_per_s: 250), target: "s", instances: 3)])"#,
        r#"(name: "ties", seed: 4, duration: "2s",
            services: [(name: "s", workers: 1, service_time: Constant("1ms"))],
            clients: [(name: "c", workload: Constant(rate_per_s: 1000), target: "s"),
                      (name: "d", workload: Constant(rate_per_s: 500), target: "s")])"#,
        r#"(name: "bursts", seed: 5, duration: "2s",
            services: [(name: "s", workers: 4, queue_capacity: 20, service_time: Constant("1ms"),
                        shed: QueueTimeout("3ms"))],
            clients: [(name: "c", workload: Bursts(size: 50, every: "20ms"), target: "s")])"#,
        r#"(name: "closed", seed: 6, duration: "2s",
            services: [(name: "s", workers: 2, service_time: Exponential(mean: "5ms"), priority_admission: ())],
            clients: [(name: "c", workload: ClosedLoop(users: 5), target: "s", priority: 1),
                      (name: "d", workload: ClosedLoop(users: 3, think: Constant("2ms")), target: "s")])"#,
        r#"(name: "faults", seed: 7, duration: "4s",
            services: [(name: "s", workers: 1, service_time: Exponential(mean: "2ms"))],
            clients: [(name: "c", workload: Poisson(rate_per_s: 300), target: "s")],
            faults: [Outage(target: "s", start: "0.5s", end: "1s"),
                     Outage(target: "s", start: "1.5s", end: "2s", mode: Hang),
                     ErrorSpike(target: "s", start: "2.5s", end: "3s", failure_probability: 0.5),
                     LatencySpike(target: "s", start: "3s", end: "3.5s", multiply: 3.0)])"#,
        r#"(name: "tiers", seed: 8, duration: "3s",
            services: [(name: "front", workers: 4, service_time: Exponential(mean: "2ms"),
                        calls: [(target: "back", timeout: "20ms", retry: (max_attempts: 2))]),
                       (name: "back", workers: 2, service_time: Exponential(mean: "5ms"))],
            clients: [(name: "c", workload: Poisson(rate_per_s: 300), target: "front")])"#,
    ];
    for text in cases {
        let scenario = scenario_from(text);
        let run = |options: &sim_models::world::RunOptions| {
            let doc = sim_experiments::runner::run(&scenario, scenario.seed, options)
                .expect("run")
                .0;
            serde_json::to_string(&doc).unwrap()
        };
        let direct = run(&sim_models::world::RunOptions::default());
        let traced = run(&sim_models::world::RunOptions {
            trace: Some(sim_models::world::TraceSink::new(std::io::sink())),
            max_events: None,
        });
        assert_eq!(direct, traced, "{text}");
    }
}

/// Adding a component does not change the draws of the others (streams are
/// keyed by component name): a second, independent client leaves the
/// first client's results untouched.
#[test]
fn adding_a_component_keeps_the_others_draws() {
    let one = r#"(
        name: "crn", seed: 2, duration: "5s",
        services: [(name: "s", service_time: Exponential(mean: "5ms")),
                   (name: "t", service_time: Exponential(mean: "5ms"))],
        clients: [(name: "c", workload: Poisson(rate_per_s: 50), target: "s")]
    )"#;
    let two = one.replace(
        r#"target: "s")]"#,
        r#"target: "s"), (name: "d", workload: Poisson(rate_per_s: 70), target: "t")]"#,
    );
    let a = run_ron(one);
    let b = run_ron(&two);
    assert_eq!(a["clients"]["c"], b["clients"]["c"]);
    assert_eq!(a["services"]["s"], b["services"]["s"]);
    let _ = scenario_from(&two);
}

/// `--trace`: one JSON object per line, in time order, with request ends.
/// A trace sink the test can read back.
#[derive(Clone, Default)]
struct SharedBuffer(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl SharedBuffer {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

impl std::io::Write for SharedBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn a_run_stopped_by_its_event_limit_keeps_the_trace_so_far() {
    let scenario = scenario_from(
        r#"(
        name: "trace", seed: 1, duration: "2s",
        services: [(name: "s", workers: 1, service_time: Exponential(mean: "20ms"))],
        clients: [(name: "c", workload: Poisson(rate_per_s: 20), target: "s")],
    )"#,
    );
    let buffer = SharedBuffer::default();
    let opts = sim_models::world::RunOptions {
        trace: Some(sim_models::world::TraceSink::new(buffer.clone())),
        max_events: Some(25),
    };
    let e =
        sim_models::world::run_replication(&scenario, &sim_core::Seeds::new(1), &opts).unwrap_err();
    assert!(e.to_string().contains("stopped after 25 events"), "{e}");
    let text = buffer.text();
    let events = text
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v["event"] != "request_end")
        .count();
    assert!(events >= 20, "{events} event lines before the limit");
}

#[test]
fn trace_is_json_lines_in_time_order() {
    let scenario = scenario_from(
        r#"(
        name: "trace", seed: 1, duration: "2s",
        services: [(name: "s", workers: 1, service_time: Exponential(mean: "20ms"))],
        clients: [(name: "c", workload: Poisson(rate_per_s: 20), target: "s", timeout: "30ms",
                   retry: (max_attempts: 2))],
    )"#,
    );
    let buffer = SharedBuffer::default();
    let opts = sim_models::world::RunOptions {
        trace: Some(sim_models::world::TraceSink::new(buffer.clone())),
        max_events: None,
    };
    let out =
        sim_models::world::run_replication(&scenario, &sim_core::Seeds::new(1), &opts).unwrap();
    let text = buffer.text();
    let lines: Vec<&str> = text.lines().collect();
    assert!(text.ends_with('\n'));
    assert!(
        lines.len() as u64 >= out.events,
        "one line per event at least"
    );
    let mut last = 0;
    let mut ends = 0;
    for line in lines {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{line}: {e}"));
        let t = v["t_ns"].as_u64().unwrap();
        assert!(t >= last, "time went backwards at {line}");
        last = t;
        if v["event"] == "request_end" {
            ends += 1;
        }
    }
    let doc = sim_models::results::aggregate(&scenario, 1, &[out]);
    assert_eq!(
        ends as f64,
        num(&doc, "clients.c.ok") + num(&doc, "clients.c.failed")
    );
}

/// Replay: arrivals come from a CSV file, seconds or durations, header
/// skipped, relative to the scenario file.
#[test]
fn replay_follows_the_csv_file() {
    let guard = tempfile::tempdir().unwrap();
    let dir = guard.path();
    std::fs::write(
        dir.join("arrivals.csv"),
        "time,note\n0.5,a\n1250ms,b\n2,c\n2,d\n",
    )
    .unwrap();
    let path = dir.join("replay.ron");
    let text = r#"(
        name: "replay", seed: 1,
        services: [(name: "s", service_time: Constant("10ms"))],
        clients: [(name: "c", workload: Replay(file: "arrivals.csv"), target: "s")],
    )"#;
    let file = sim_models::scenario::parse(text, &path).unwrap();
    let scenario = sim_models::scenario::check(&file, &path).unwrap();
    let (doc, _) = sim_experiments::runner::run(&scenario, 1, &Default::default()).unwrap();
    assert_eq!(num(&doc, "clients.c.offered"), 4.0);
    assert_eq!(
        num(&doc, "clients.c.makespan_s"),
        2.01,
        "last arrival at 2 s + 10 ms"
    );
    // A bad line is refused with the file, line and field path.
    std::fs::write(dir.join("arrivals.csv"), "0.5\nsoon\n").unwrap();
    let err = sim_models::scenario::check(&file, &path)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("clients[0].workload.file") && err.contains(":2:"),
        "{err}"
    );
    // The line itself is not echoed: the file may be anything.
    assert!(!err.contains("soon"), "{err}");
}

/// A hanging outage answers nothing: only the caller's timeout ends the
/// requests; fail-fast answers at once with errors.
#[test]
fn hang_and_fail_fast_outages_differ() {
    let scenario = |mode: &str| {
        format!(
            r#"(
            name: "outage", seed: 3, duration: "20s",
            services: [(name: "s", service_time: Constant("5ms"))],
            clients: [(name: "c", workload: Constant(rate_per_s: 10), target: "s", timeout: "1s")],
            faults: [Outage(target: "s", start: "5s", end: "10s", mode: {mode})],
        )"#
        )
    };
    let hang = run_ron(&scenario("Hang"));
    let fast = run_ron(&scenario("FailFast"));
    // 5 s at 10/s: 50 requests lost either way.
    assert_eq!(num(&hang, "clients.c.failures.timeout"), 50.0);
    assert_eq!(num(&hang, "clients.c.failures.error"), 0.0);
    assert_eq!(num(&fast, "clients.c.failures.error"), 50.0);
    assert_eq!(num(&fast, "clients.c.failures.timeout"), 0.0);
    assert_eq!(
        num(&hang, "clients.c.latency_all_ms.max"),
        1000.0,
        "hung until the timeout"
    );
}

/// A capacity drop queues work; a latency spike stretches service times.
#[test]
fn capacity_drops_and_latency_spikes_act_in_their_window() {
    let doc = run_ron(
        r#"(
        name: "faults", seed: 3, duration: "30s", metrics: (bucket: "1s"),
        services: [(name: "s", workers: 4, service_time: Constant("100ms"))],
        clients: [(name: "c", workload: Constant(rate_per_s: 20), target: "s")],
        faults: [
            CapacityDrop(target: "s", start: "5s", end: "10s", workers: 1),
            LatencySpike(target: "s", start: "20s", end: "21s", add: "50ms", multiply: 2.0),
        ],
    )"#,
    );
    // 20/s x 100 ms = 2 busy of 4 normally; with 1 worker the queue grows by
    // 10/s for 5 s, then drains.
    assert!(num(&doc, "services.s.queue_max") >= 45.0);
    let queue = doc["series"]["services"]["s"]["queue"].as_array().unwrap();
    assert_eq!(queue[2].as_f64().unwrap(), 0.0, "no queue before the drop");
    assert_eq!(queue[29].as_f64().unwrap(), 0.0, "drained long after");
    // Jobs starting in the spike take 100 ms x 2 + 50 ms.
    assert!(num(&doc, "services.s.latency_ms.max") >= 250.0);
    // 20/s x 250 ms = 5 jobs for 4 workers: the spike's second is the only
    // one outside the drop where jobs wait, and in service rises from 2.
    let in_flight = doc["series"]["services"]["s"]["in_flight"]
        .as_array()
        .unwrap();
    let f = |i: usize| in_flight[i].as_f64().unwrap();
    assert_eq!((f(19), f(22)), (2.0, 2.0));
    assert!(f(20) > 3.5, "in service during the spike: {}", f(20));
    let waited: Vec<usize> = (0..30)
        .filter(|&i| queue[i].as_f64().unwrap() > 0.0)
        .collect();
    assert_eq!(waited, vec![5, 6, 7, 8, 9, 10, 11, 12, 20, 21]);
}

/// A caller may use all eight policies at once. Round 1 kept a fixed frame
/// array per call whose debug assertion (`layers.len() < MAX_LAYERS`)
/// refused exactly this valid scenario; CI's `ci` profile runs with debug
/// assertions, so this test would catch its return.
#[test]
fn a_caller_can_use_every_policy_at_once() {
    let doc = run_ron(
        r#"(
        name: "all-policies", seed: 3, duration: "5s",
        services: [(name: "s", workers: 2, service_time: Exponential(mean: "8ms"),
                    failure_probability: 0.2)],
        rate_limiters: [(name: "rl", rate_per_s: 50, burst: 5)],
        clients: [(name: "c", workload: Poisson(rate_per_s: 200), target: "s",
                   timeout: "20ms", deadline: "200ms",
                   retry: (max_attempts: 3, backoff: FullJitter(base: "2ms", cap: "20ms"),
                           budget: TokenBucket(max_tokens: 10, token_ratio: 0.1)),
                   breaker: (trip: ConsecutiveFailures(5), open_for: "100ms"),
                   bulkhead: (max_concurrent: 1, max_waiting: 1, max_wait: "2ms"),
                   rate_limit: (limiter: "rl", max_wait: "5ms"),
                   throttle: (k: 2.0, window: "1s"),
                   fallback: true)],
    )"#,
    );
    let c = "clients.c";
    let offered = num(&doc, &format!("{c}.offered"));
    assert!(offered > 900.0, "offered {offered}");
    // Every layer acted: each of these counters is fed by exactly one.
    for counter in [
        "retries",
        "timeouts",
        "bulkhead_rejected",
        "rate_limited",
        "degraded",
    ] {
        let n = num(&doc, &format!("{c}.{counter}"));
        assert!(n > 0.0, "{counter} is {n}");
    }
    // The fallback turns every failure into a degraded success.
    assert_eq!(num(&doc, &format!("{c}.failed")), 0.0);
}

/// A long duration whose events stop early still yields series within the
/// bucket bound: round 1 allocated a bucket per 100 ms up to the end (5
/// million hours asked for 14 TB and aborted).
#[test]
fn series_stay_bounded_for_any_duration() {
    let doc = run_ron(
        r#"(
        name: "long", seed: 1, duration: "5000000h",
        services: [(name: "s", workers: 1, service_time: Constant("1ms"))],
        clients: [(name: "c", workload: Poisson(rate_per_s: 100), requests: 50, target: "s")],
    )"#,
    );
    let series = &doc["series"]["clients"]["c"]["ok"];
    let n = series.as_array().unwrap().len();
    assert!((1..=2000).contains(&n), "{n} buckets");
    assert_eq!(num(&doc, "clients.c.ok"), 50.0);
}

/// A schedule whose last rate is so small that the next gap passes the
/// end of the clock stops arriving (it used to loop forever; found by the
/// property tests).
#[test]
fn a_vanishing_last_rate_ends_the_arrivals() {
    let doc = run_ron(
        r#"(
        name: "tiny", seed: 1, duration: "10s",
        services: [(name: "s", service_time: Constant("1ms"))],
        clients: [(name: "c", target: "s", workload: Schedule(steps: [
            (at: "0s", rate_per_s: 100), (at: "1s", rate_per_s: 1e-300)]))],
    )"#,
    );
    let offered = num(&doc, "clients.c.offered");
    assert!((50.0..150.0).contains(&offered), "{offered}");
}
