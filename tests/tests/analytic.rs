//! The engine against queueing theory.
//!
//! Each check runs independent replications and asserts that the analytic
//! value lies inside the Student-t confidence interval of the replication
//! means, at a Bonferroni-corrected level (`sim_tests::check_level`). Each
//! check also asserts that the interval is narrow (a few percent of the
//! value), so a model that is wrong by more than that fails.
//!
//! Units: times in milliseconds, rates per millisecond.

use sim_core::SimDuration;
use sim_core::analytic;
use sim_models::station::{Discipline, StationConfig};
use sim_tests::{assert_agrees, const_ms, estimate, estimate_metric, exp_ms, mmck, replicate};

const REPS: u64 = 20;

fn mm1_case(rho: f64, measure_s: u64) {
    let mu = 1.0;
    let lambda = rho * mu;
    let theory = analytic::mm1(lambda, mu).expect("stable");
    let mut config = mmck(lambda, mu, 1, None);
    config.measure = SimDuration::from_secs(measure_s);
    let reports = replicate(&config, REPS, 1000 + (rho * 100.0) as u64);
    let tag = format!("M/M/1 rho={rho}");
    assert_agrees(
        &format!("{tag} mean sojourn (ms)"),
        theory.mean_sojourn,
        &estimate(&reports, |r| r.mean_sojourn * 1e3),
        0.06,
    );
    assert_agrees(
        &format!("{tag} mean queue length"),
        theory.mean_in_queue,
        &estimate(&reports, |r| r.mean_queue_len),
        0.08,
    );
    assert_agrees(
        &format!("{tag} P(wait)"),
        theory.prob_wait,
        &estimate(&reports, |r| r.wait_probability),
        0.03,
    );
}

#[test]
fn mm1_at_utilisation_0_5() {
    mm1_case(0.5, 100);
}

#[test]
fn mm1_at_utilisation_0_8() {
    mm1_case(0.8, 150);
}

#[test]
fn mm1_at_utilisation_0_9() {
    mm1_case(0.9, 300);
}

#[test]
fn mmc_with_4_servers_at_0_9_matches_erlang_c() {
    let (c, mu) = (4, 1.0);
    let lambda = 0.9 * c as f64 * mu;
    let theory = analytic::mmc(lambda, mu, c as u32).expect("stable");
    let reports = replicate(&mmck(lambda, mu, c, None), REPS, 2000);
    assert_agrees(
        "M/M/4 rho=0.9 P(wait) (Erlang C)",
        theory.prob_wait,
        &estimate(&reports, |r| r.wait_probability),
        0.03,
    );
    assert_agrees(
        "M/M/4 rho=0.9 mean wait (ms)",
        theory.mean_wait,
        &estimate(&reports, |r| r.mean_wait * 1e3),
        0.06,
    );
}

/// The product's own output, not the station harness: a scenario with one
/// M/M/4 service reports P(wait > 0) (`services.NAME.waited_fraction`) and
/// the mean queueing delay (`wait_ms.mean`) that Erlang C gives.
#[test]
fn a_scenarios_service_reports_the_erlang_c_wait() {
    let (c, mu) = (4, 1.0);
    let lambda = 0.8 * c as f64 * mu;
    let theory = analytic::mmc(lambda, mu, c as u32).expect("stable");
    let text = r#"(
        name: "mm4", seed: 41, duration: "100s",
        services: [(name: "s", workers: 4, service_time: Exponential(mean: "1ms"))],
        clients: [(name: "c", workload: Poisson(rate_per_s: 3200), target: "s")],
    )"#;
    let level = sim_tests::check_level();
    assert_agrees(
        "scenario M/M/4 rho=0.8 P(wait > 0) (Erlang C)",
        theory.prob_wait,
        &estimate_metric(text, 10, "services.s.waited_fraction", level),
        0.03,
    );
    assert_agrees(
        "scenario M/M/4 rho=0.8 mean wait (ms)",
        theory.mean_wait,
        &estimate_metric(text, 10, "services.s.wait_ms.mean", level),
        0.06,
    );
}

fn mm1k_case(rho: f64, seed: u64) {
    let k = 10;
    let theory = analytic::mm1k(rho, 1.0, k).expect("valid");
    let reports = replicate(&mmck(rho, 1.0, 1, Some(k as usize)), REPS, seed);
    assert_agrees(
        &format!("M/M/1/10 offered {rho} blocking probability"),
        theory.prob_block,
        &estimate(&reports, |r| r.blocking_probability),
        0.04,
    );
}

#[test]
fn mm1k_with_k_10_at_offered_0_9() {
    mm1k_case(0.9, 3000);
}

#[test]
fn mm1k_with_k_10_at_offered_1_2() {
    mm1k_case(1.2, 3100);
}

#[test]
fn md1_at_0_8_matches_pollaczek_khinchine() {
    let rho = 0.8;
    let theory = analytic::md1(rho, 1.0).expect("stable");
    let config = StationConfig {
        interarrival: exp_ms(1.0 / rho),
        service: const_ms(1.0),
        servers: Some(1),
        capacity: None,
        discipline: Discipline::Fifo,
        warmup: SimDuration::from_secs(10),
        measure: SimDuration::from_secs(200),
    };
    let reports = replicate(&config, REPS, 4000);
    assert_agrees(
        "M/D/1 rho=0.8 mean wait (ms)",
        theory.mean_wait,
        &estimate(&reports, |r| r.mean_wait * 1e3),
        0.06,
    );
}

fn erlang_b_case(erlangs: f64, seed: u64) {
    let servers = 10;
    let theory = analytic::erlang_b(servers as u32, erlangs);
    // M/M/10/10: no waiting room, arrivals finding all servers busy are lost.
    let config = mmck(erlangs, 1.0, servers, Some(servers));
    let reports = replicate(&config, REPS, seed);
    assert_agrees(
        &format!("Erlang B 10 servers at {erlangs} E"),
        theory,
        &estimate(&reports, |r| r.blocking_probability),
        0.06,
    );
}

#[test]
fn erlang_b_with_10_servers_at_5_erlangs() {
    erlang_b_case(5.0, 5000);
}

#[test]
fn erlang_b_with_10_servers_at_8_erlangs() {
    erlang_b_case(8.0, 5100);
}

/// The checks above must be able to fail: a model whose service is 5% slower
/// than configured is caught by the M/M/1 sojourn check.
#[test]
fn a_five_percent_error_is_detected() {
    let theory = analytic::mm1(0.8, 1.0).expect("stable");
    let reports = replicate(&mmck(0.8, 1.0 / 1.05, 1, None), REPS, 6000);
    let est = estimate(&reports, |r| r.mean_sojourn * 1e3);
    assert!(
        !est.contains(theory.mean_sojourn),
        "a 5% slower server went unnoticed: {est:?} vs {}",
        theory.mean_sojourn
    );
}

/// The same seed gives identical statistics; another seed different ones.
#[test]
fn station_runs_are_deterministic() {
    let mut config = mmck(0.8, 1.0, 1, Some(20));
    config.measure = SimDuration::from_secs(20);
    let run = |seed| {
        let r = &replicate(&config, 1, seed)[0];
        (
            r.arrivals,
            r.blocked,
            r.completed,
            r.mean_sojourn.to_bits(),
            r.mean_queue_len.to_bits(),
            r.sojourn.summary(),
            r.events,
        )
    };
    assert_eq!(run(77), run(77));
    assert_ne!(run(77), run(78));
}
