//! Hedged requests against gRPC's definition (gRFC A6).

use sim_tests::{num, rejection, run_ron, scenario_from};

/// gRFC A6's timeline: maxAttempts 4, hedgingDelay 0.5 s, a server that
/// never answers: 1, 2, 3 then 4 attempts outstanding from 0, 0.5, 1 and
/// 1.5 s, and no more after.
#[test]
fn the_a6_timeline_with_no_answer() {
    let scenario = scenario_from(
        r#"(
        name: "a6", seed: 1, duration: "3s",
        metrics: (bucket: "100ms"),
        services: [(name: "s", service_time: Constant("1h"))],
        clients: [(name: "c", workload: Bursts(size: 1, every: "1h"), requests: 1, target: "s",
                   hedge: (max_attempts: 4, delay: "500ms"))],
    )"#,
    );
    let out = sim_models::world::run_replication(
        &scenario,
        &sim_core::Seeds::new(1),
        &Default::default(),
    )
    .unwrap();
    let arrivals = &out.series.services.0[0].1.arrivals;
    let in_flight = &out.series.services.0[0].1.in_flight;
    // Arrivals in the buckets starting at 0, 0.5, 1.0 and 1.5 s only.
    for (b, &n) in arrivals.iter().enumerate() {
        let want = u64::from([0, 5, 10, 15].contains(&b));
        assert_eq!(n, want, "arrivals in bucket {b}: {arrivals:?}");
    }
    // Outstanding attempts, as levels: 1 from 0, 2 from 0.5 s...
    for (b, &level) in in_flight.iter().enumerate() {
        let want = (b / 5 + 1).min(4) as f64;
        assert_eq!(level, want, "in flight in bucket {b}: {in_flight:?}");
    }
    let c = &out.metrics.clients.0[0].1;
    assert_eq!(c.attempts.get(), 4.0);
    let h = c.hedging.as_ref().expect("hedging metrics");
    assert_eq!(
        (
            h.hedges.get(),
            h.hedges_won.get(),
            h.attempts_cancelled.get()
        ),
        (3.0, 0.0, 0.0)
    );
}

/// The first success wins and cancels the hedges still out; a hedge that
/// answers first is counted as won. Service time 0.2 s or 2 s (half each,
/// unlimited workers), delay 0.5 s, 3 attempts: a request ends at 0.2 s
/// (first fast, 1/2), 0.7 s (first slow, first hedge fast, 1/4), 1.2 s
/// (second hedge fast, 1/8) or 2 s (all slow: the first attempt wins,
/// 1/8). So per request: 0.75 hedges, 0.375 won by a hedge, 0.75 attempts
/// cancelled (1 x 1/4 + 2 x 1/8 + 2 x 1/8), mean latency 0.675 s.
#[test]
fn the_first_success_wins_and_the_rest_are_cancelled() {
    let doc = run_ron(
        r#"(
        name: "won", seed: 3, duration: "400s",
        services: [(name: "s", service_time: Empirical(samples: ["200ms", "2s"]), on_abandon: Cancel)],
        clients: [(name: "c", workload: Poisson(rate_per_s: 5), target: "s",
                   hedge: (max_attempts: 3, delay: "500ms"))],
    )"#,
    );
    let offered = num(&doc, "clients.c.offered");
    let done = offered - num(&doc, "clients.c.unfinished");
    assert_eq!(
        num(&doc, "clients.c.ok"),
        done,
        "every finished request succeeds"
    );
    let per = |path: &str| num(&doc, path) / done;
    let near = |what: &str, got: f64, want: f64, tol: f64| {
        assert!((got - want).abs() < tol, "{what}: {got}, expected {want}");
    };
    near("hedges", per("clients.c.hedging.hedges"), 0.75, 0.06);
    near("won", per("clients.c.hedging.hedges_won"), 0.375, 0.05);
    near(
        "cancelled",
        per("clients.c.hedging.attempts_cancelled"),
        0.75,
        0.06,
    );
    near(
        "mean latency (ms)",
        num(&doc, "clients.c.latency_ms.mean"),
        675.0,
        40.0,
    );
    // 87.5% end by 1.2 s; the rest (all three slow) take the full 2 s.
    near(
        "p90 (ms)",
        num(&doc, "clients.c.latency_ms.p90"),
        2000.0,
        20.0,
    );
    // Every request sends its first attempt; hedges are the rest.
    assert_eq!(
        num(&doc, "clients.c.attempts"),
        offered + num(&doc, "clients.c.hedging.hedges")
    );
    // The cancelled attempts were cancelled at the service.
    assert_eq!(
        num(&doc, "services.s.cancelled"),
        num(&doc, "clients.c.hedging.attempts_cancelled")
    );
}

/// A failure not listed in `non_fatal` ends the call with it and cancels
/// the rest (gRPC's default); a non-fatal one sends the next hedge at once.
#[test]
fn fatal_and_non_fatal_failures() {
    let base = |non_fatal: &str| {
        run_ron(&format!(
            r#"(
            name: "f", seed: 5, duration: "100s",
            services: [(name: "s", service_time: Constant("100ms"), failure_probability: 0.5)],
            clients: [(name: "c", workload: Poisson(rate_per_s: 5), target: "s",
                       hedge: (max_attempts: 3, delay: "1s", non_fatal: {non_fatal}))],
        )"#
        ))
    };
    let fatal = base("[]");
    // Every failure is fatal and comes before the 1 s delay: no hedge.
    assert_eq!(num(&fatal, "clients.c.hedging.hedges"), 0.0);
    let sr = num(&fatal, "clients.c.success_rate");
    assert!((0.4..0.6).contains(&sr), "{sr}");
    let non_fatal = base("[Error]");
    // Errors send the next hedge at once: success unless all 3 fail.
    let sr = num(&non_fatal, "clients.c.success_rate");
    assert!((0.83..0.92).contains(&sr), "{sr} (1 - 0.5^3 = 0.875)");
    let per_request = num(&non_fatal, "clients.c.attempts") / num(&non_fatal, "clients.c.offered");
    assert!(
        (1.6..1.9).contains(&per_request),
        "{per_request} (1 + 0.5 + 0.25)"
    );
}

#[test]
fn bad_hedging_is_a_located_error() {
    let with = |hedge: &str, order: &str| {
        rejection(&format!(
            r#"(name: "b", duration: "1s",
            services: [(name: "s", service_time: Constant("1ms"))],
            clients: [(name: "c", workload: Poisson(rate_per_s: 1), target: "s", timeout: "1s",
                       hedge: {hedge} {order})])"#
        ))
    };
    let e = with("(max_attempts: 6, delay: \"10ms\")", "");
    assert!(
        e.contains("clients[0].hedge.max_attempts: must be 2 to 5"),
        "{e}"
    );
    let e = with("(max_attempts: 1, delay: \"10ms\")", "");
    assert!(e.contains("clients[0].hedge.max_attempts"), "{e}");
    let e = with(
        "(max_attempts: 2, delay: \"10ms\")",
        ", order: [Hedge, Timeout]",
    );
    assert!(
        e.contains("clients[0].order[0]: Hedge must come last"),
        "{e}"
    );
}
