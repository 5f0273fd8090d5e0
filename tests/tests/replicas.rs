//! Replicas, load balancing, outlier ejection, hedging budgets, deadline
//! propagation and autoscaling, against queueing theory and the
//! definitions they follow.

use sim_tests::{assert_agrees, check_level, estimate_metric, num, rejection, run_ron};

/// n replicas of one exponential server, Poisson arrivals at n * lambda,
/// each attempt to a replica drawn at random: each replica is an M/M/1
/// queue (Poisson splitting), mean sojourn 1 / (mu - lambda).
#[test]
fn random_assignment_gives_each_replica_an_mm1_queue() {
    // mu = 100/s per replica, lambda = 70/s per replica: 1/30 s.
    let text = r#"(
        name: "split", seed: 11, duration: "300s",
        services: [(name: "api", workers: Some(1), replicas: 4,
                    service_time: Exponential(mean: "10ms"))],
        clients: [(name: "c", workload: Poisson(rate_per_s: 280.0), target: "api",
                   load_balancer: Random)],
    )"#;
    let est = estimate_metric(text, 8, "clients.c.latency_ms.mean", check_level());
    assert_agrees("M/M/1 sojourn per replica (ms)", 1000.0 / 30.0, &est, 0.05);
    let waited = estimate_metric(text, 8, "services.api.waited_fraction", check_level());
    assert_agrees("M/M/1 P(wait > 0) = rho", 0.7, &waited, 0.05);
    // And the load is spread evenly.
    let doc = run_ron(text);
    let total = num(&doc, "services.api.arrivals");
    for k in 0..4 {
        let a = doc["services"]["api"]["replicas"][k]["arrivals"]
            .as_f64()
            .unwrap();
        assert!(
            (a / total - 0.25).abs() < 0.01,
            "replica {k}: {a} of {total}"
        );
    }
}

/// The supermarket model (Mitzenmacher 2001): n exponential servers,
/// Poisson arrivals at lambda * n, each job to the shorter of two queues
/// drawn at random. As n grows the mean time in the system tends to
/// sum_{i>=1} lambda^((2^i - 2)/(2 - 1)) service times: 2.6136 at lambda =
/// 0.9. P2C over outstanding attempts is that choice when one caller sends
/// all the traffic. At n = 500 the simulated mean lies within 2% of the
/// limit (finite-n gap measured in docs/replicas.md: about +2.4% at n =
/// 100, within noise at 500).
#[test]
fn p2c_approaches_the_supermarket_limit() {
    let lambda: f64 = 0.9;
    let limit: f64 = (1..20)
        .map(|i| lambda.powf((2f64.powi(i) - 2.0) / (2.0 - 1.0)))
        .sum();
    assert!((limit - 2.6136).abs() < 1e-3, "{limit}");
    let text = r#"(
        name: "supermarket", seed: 5, duration: "2000s",
        services: [(name: "api", workers: Some(1), replicas: 500,
                    service_time: Exponential(mean: "1s"))],
        clients: [(name: "c", workload: Poisson(rate_per_s: 450.0), target: "api",
                   load_balancer: P2C)],
    )"#;
    let est = estimate_metric(text, 8, "clients.c.latency_ms.mean", check_level());
    assert_agrees("supermarket mean sojourn (ms)", limit * 1000.0, &est, 0.02);
    // Random choice at the same load is an M/M/1 queue: ten service times
    // in the limit (slow to reach from empty: about 7.5 after 300 s).
    let random = text.replace("P2C", "Random").replace("2000s", "300s");
    let r = num(&run_ron(&random), "clients.c.latency_ms.mean");
    assert!(r > 2.5 * est.mean, "random: {r} ms, P2C {} ms", est.mean);
}

/// Round robin deals attempts in turn; least outstanding sends each to an
/// idle replica when there is one, so with as many replicas as requests
/// in flight nothing ever waits. 11 bursts of 3 (at 0 to 10 s).
#[test]
fn balancers_spread_as_defined() {
    let text = |lb: &str| {
        format!(
            r#"(
            name: "lb", seed: 2, duration: "10s",
            services: [(name: "api", workers: Some(1), replicas: 3,
                        service_time: Constant("100ms"))],
            clients: [(name: "c", workload: Bursts(size: 3, every: "1s"), target: "api",
                       load_balancer: {lb})],
        )"#
        )
    };
    for lb in ["RoundRobin", "LeastOutstanding"] {
        let doc = run_ron(&text(lb));
        assert_eq!(num(&doc, "services.api.waited_fraction"), 0.0, "{lb}");
        for k in 0..3 {
            assert_eq!(
                doc["services"]["api"]["replicas"][k]["arrivals"].as_f64(),
                Some(11.0),
                "{lb} replica {k}"
            );
        }
    }
    let doc = run_ron(&text("Weighted([2, 1, 0])"));
    let arrivals: Vec<f64> = (0..3)
        .map(|k| {
            doc["services"]["api"]["replicas"][k]["arrivals"]
                .as_f64()
                .unwrap()
        })
        .collect();
    assert_eq!(arrivals, [22.0, 11.0, 0.0]);
}

/// Envoy's consecutive-errors ejection: a replica that always fails is
/// ejected after 5 errors in a row, for 30 s, then 60 s, then 90 s...; its
/// share of the traffic drops from a quarter to a few dozen requests.
#[test]
fn outlier_ejection_takes_a_failing_replica_out() {
    let text = |ejection: &str| {
        format!(
            r#"(
            name: "eject", seed: 3, duration: "100s",
            services: [(name: "api", workers: Some(4), replicas: 4,
                        service_time: Constant("5ms"))],
            clients: [(name: "c", workload: Poisson(rate_per_s: 100.0), target: "api"{ejection})],
            faults: [ErrorSpike(target: "api", replicas: One(0), start: "0s", end: "100s",
                                failure_probability: 1.0)],
        )"#
        )
    };
    let without = run_ron(&text(""));
    let failed = num(&without, "clients.c.failed");
    let offered = num(&without, "clients.c.offered");
    assert!(
        (failed / offered - 0.25).abs() < 0.01,
        "{failed} of {offered}"
    );

    let with = run_ron(&text(", outlier_ejection: (max_ejection_percent: 25)"));
    let r0 = &with["services"]["api"]["replicas"][0];
    // Ejected at about 0.2 s for 30 s (back at the 40 s sweep), again at
    // once for 60 s (back at 110 s: after the end).
    assert_eq!(r0["ejections"].as_f64(), Some(2.0), "{r0}");
    let ejected = r0["ejected_s"].as_f64().unwrap();
    assert!((98.0..100.0).contains(&(ejected)), "{ejected}");
    assert_eq!(r0["arrivals"].as_f64(), Some(10.0), "5 errors per ejection");
    assert_eq!(num(&with, "clients.c.failed"), 10.0);
    assert_eq!(num(&with, "clients.c.outlier_ejection.ejections"), 2.0);

    // Envoy's default of 10% ejects nothing among 4 replicas (one would be
    // 25%): every ejection overflows.
    let default = run_ron(&text(", outlier_ejection: ()"));
    assert_eq!(num(&default, "clients.c.outlier_ejection.ejections"), 0.0);
    assert!(num(&default, "clients.c.outlier_ejection.overflow") > 100.0);
    let always = run_ron(&text(", outlier_ejection: (always_eject_one_host: true)"));
    assert_eq!(num(&always, "clients.c.outlier_ejection.ejections"), 2.0);
}

/// A retry avoiding the replica that just failed never hits the broken
/// one twice.
#[test]
fn a_retry_can_avoid_the_previous_replica() {
    let text = |avoid: &str| {
        format!(
            r#"(
            name: "avoid", seed: 3, duration: "20s",
            services: [(name: "api", workers: Some(4), replicas: 2,
                        service_time: Constant("5ms"))],
            clients: [(name: "c", workload: Poisson(rate_per_s: 100.0), target: "api",
                       load_balancer: Random, retry: (max_attempts: 2, backoff: Constant("1ms")){avoid})],
            faults: [Outage(target: "api", replicas: One(1), start: "0s", end: "20s")],
        )"#
        )
    };
    let plain = run_ron(&text(""));
    assert!(num(&plain, "clients.c.failed") > 100.0);
    let avoid = run_ron(&text(", avoid_previous_replica: true"));
    assert_eq!(num(&avoid, "clients.c.failed"), 0.0);
}

/// A fault hits the replicas it names: one, or the first half.
#[test]
fn faults_hit_the_replicas_they_name() {
    let text = |which: &str| {
        format!(
            r#"(
            name: "zone", seed: 1, duration: "10s",
            services: [(name: "api", workers: Some(2), replicas: 4,
                        service_time: Constant("1ms"))],
            clients: [(name: "c", workload: Poisson(rate_per_s: 400.0), target: "api")],
            faults: [Outage(target: "api", replicas: {which}, start: "0s", end: "10s")],
        )"#
        )
    };
    let lost = |doc: &serde_json::Value| -> Vec<bool> {
        (0..4)
            .map(|k| doc["services"]["api"]["replicas"][k]["ok"].as_f64() == Some(0.0))
            .collect()
    };
    assert_eq!(lost(&run_ron(&text("One(2)"))), [false, false, true, false]);
    assert_eq!(
        lost(&run_ron(&text("Fraction(0.5)"))),
        [true, true, false, false]
    );
    assert_eq!(
        lost(&run_ron(&text("List([0, 3])"))),
        [true, false, false, true]
    );
    assert_eq!(lost(&run_ron(&text("All"))), [true; 4]);
}

/// gRFC A6: hedges count against retry throttling. Brooker's adaptive
/// bucket starts at 5 tokens, gains 0.1 per request and pays 1 per hedge
/// while above 1: the first request sends its 4 hedges (5 -> 1), the
/// second one (1.1 -> 0.1) and is then refused one, the third is refused
/// at once (0.2).
#[test]
fn hedges_count_against_the_retry_budget() {
    let doc = run_ron(
        r#"(
        name: "hedge-budget", seed: 1, duration: "40s",
        services: [(name: "s", service_time: Constant("1s"))],
        clients: [(name: "c", workload: Bursts(size: 1, every: "10s"), requests: 3, target: "s",
                   hedge: (max_attempts: 5, delay: "100ms", budget: Adaptive()))],
    )"#,
    );
    assert_eq!(num(&doc, "clients.c.hedging.hedges"), 5.0);
    assert_eq!(num(&doc, "clients.c.budget_denied"), 2.0);
    assert_eq!(num(&doc, "clients.c.attempts"), 8.0);
    assert_eq!(num(&doc, "clients.c.ok"), 3.0);
}

/// gRPC deadline propagation: a front tier gives up at the client's 100
/// ms deadline; without propagation the back tier still does its full
/// second of work for every request, with it the work is dropped when the
/// deadline passes, at both tiers.
#[test]
fn deadlines_propagate_to_the_tier_below() {
    let text = |propagate: &str| {
        format!(
            r#"(
            name: "deadline", seed: 1, duration: "30s",
            services: [
                (name: "front", service_time: Constant("10ms"){propagate},
                 calls: [(target: "back")]),
                (name: "back", service_time: Constant("1s"){propagate}),
            ],
            clients: [(name: "c", workload: Bursts(size: 1, every: "1s"), requests: 20,
                       target: "front", deadline: "100ms")],
        )"#
        )
    };
    let without = run_ron(&text(""));
    assert_eq!(num(&without, "clients.c.failed"), 20.0);
    assert_eq!(num(&without, "services.back.ok"), 20.0, "wasted work");
    assert!(without["services"]["back"]["deadline_expired"].is_null());

    let with = run_ron(&text(", propagate_deadline: (margin: \"5ms\")"));
    assert_eq!(num(&with, "clients.c.failed"), 20.0);
    assert_eq!(num(&with, "services.back.ok"), 0.0);
    assert_eq!(num(&with, "services.back.deadline_expired"), 20.0);
    // The front's call to the back fails at 95 ms (the deadline less the
    // margin, as gRPC's DEADLINE_EXCEEDED), so the front answers its
    // client with an error before its own deadline: none expires there.
    assert_eq!(num(&with, "services.front.deadline_expired"), 0.0);
    assert_eq!(num(&with, "services.front.errors"), 20.0);
    assert_eq!(num(&with, "clients.c.failures.error"), 20.0);
    let front = num(&with, "services.front.latency_ms.max");
    assert!((94.9..95.1).contains(&front), "{front}");
    // The back tier's jobs end at 100 - 5 = 95 ms (then 85 ms of work
    // after the front's own 10 ms): far less time in service.
    let busy = num(&with, "services.back.in_flight_mean");
    assert!(busy < 0.1, "{busy}");
}

/// Target tracking on a load step: the autoscaler adds replicas after the
/// step (once provisioned they take traffic) and removes them after the
/// load falls back, within its bounds and cooldowns.
#[test]
fn the_autoscaler_follows_a_load_step() {
    let doc = run_ron(
        r#"(
        name: "scale", seed: 1, duration: "1500s",
        services: [(name: "api", workers: Some(1), service_time: Exponential(mean: "10ms"),
                    autoscale: (min_replicas: 1, max_replicas: 8, target: Utilization(0.5),
                                provisioning: "20s"))],
        clients: [(name: "c", target: "api",
                   workload: Schedule(steps: [(at: "0s", rate_per_s: 30.0), (at: "300s", rate_per_s: 300.0),
                                       (at: "700s", rate_per_s: 30.0)]))],
    )"#,
    );
    let a = &doc["services"]["api"]["autoscaling"];
    // 300/s needs 3 busy workers: 6 replicas at 50%. The backlog built
    // while the first new replicas provision keeps utilisation high for a
    // decision or two, so it may overshoot (as HPA does), never past 8.
    let max = a["replicas_max"].as_f64().unwrap();
    assert!((6.0..=8.0).contains(&max), "{a}");
    assert_eq!(a["replicas_final"].as_f64(), Some(1.0), "{a}");
    assert!(a["scale_outs"].as_f64().unwrap() >= 1.0);
    assert!(a["scale_ins"].as_f64().unwrap() >= 1.0);
    let series = doc["series"]["services"]["api"]["replicas"]
        .as_array()
        .unwrap();
    assert_eq!(series[0].as_f64(), Some(1.0));
    assert!(num(&doc, "clients.c.success_rate") > 0.99);
}

/// Replicas cost memory (two histograms and the series each): the file
/// cannot ask for more than the limits, however it spreads them.
#[test]
fn replica_counts_are_bounded() {
    let e = rejection(
        r#"(name: "big", duration: "1s",
            services: [(name: "a", service_time: Constant("1ms"), replicas: 1001),
                       (name: "b", service_time: Constant("1ms"), replicas: 1000),
                       (name: "c", service_time: Constant("1ms"), replicas: 1000)],
            clients: [(name: "x", workload: Poisson(rate_per_s: 1), target: "b")])"#,
    );
    assert!(
        e.contains("services[0].replicas: must be at most 1000"),
        "{e}"
    );
    assert!(e.contains("replica slots in all"), "{e}");
}

#[test]
fn impossible_replica_values_are_located() {
    let e = rejection(
        r#"(name: "bad", duration: "1s",
            services: [(name: "s", service_time: Constant("1ms"), replicas: 0),
                       (name: "t", service_time: Constant("1ms"), replicas: 3),
                       (name: "u", service_time: Constant("1ms"),
                        autoscale: (min_replicas: 4, max_replicas: 2, target: InFlight(1.0)))],
            clients: [(name: "c", workload: Poisson(rate_per_s: 1), target: "t",
                       load_balancer: Weighted([1, 2]),
                       outlier_ejection: (max_ejection_percent: 120),
                       hedge: (max_attempts: 1, delay: "0s"))],
            faults: [Outage(target: "t", replicas: One(3), start: "0s", end: "1s")])"#,
    );
    for want in [
        "services[0].replicas: must be >= 1",
        "services[2].autoscale.min_replicas: must be <= max_replicas (2), got 4",
        "clients[0].load_balancer.Weighted: needs one weight per replica slot (3), got 2",
        "clients[0].outlier_ejection.max_ejection_percent: must be 0 to 100, got 120",
        "clients[0].hedge.max_attempts: must be 2 to 5",
        "faults[0].replicas: replica 3 does not exist",
    ] {
        assert!(e.contains(want), "{want} not in {e}");
    }
}
