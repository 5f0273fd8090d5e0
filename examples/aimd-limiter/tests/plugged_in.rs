//! The custom layer runs inside a scenario built in Rust, end to end, with
//! sim-models left untouched.

use aimd_limiter::{Aimd, demo_scenario, with_aimd};
use sim_experiments::runner;
use sim_models::world::RunOptions;

fn run(s: &sim_models::scenario::Scenario) -> serde_json::Value {
    runner::run(s, s.seed, &RunOptions::default()).unwrap().0
}

fn num(doc: &serde_json::Value, path: &str) -> f64 {
    path.split('.')
        .try_fold(doc, |v, k| v.get(k))
        .and_then(serde_json::Value::as_f64)
        .unwrap_or_else(|| panic!("no number at {path}"))
}

#[test]
fn the_limit_adapts_and_refuses_locally() {
    let plain = demo_scenario();
    let limited = with_aimd(&plain, "api", Aimd::default());
    let (a, b) = (run(&plain), run(&limited));
    // Without the layer nothing is refused by a policy, and no custom
    // counters appear.
    assert!(a["clients"]["api"]["custom"].is_null());
    assert!(a["clients"]["api"]["failures"]["policy"].is_null());
    // With it, the limiter refused attempts, backed off and grew again.
    assert!(num(&b, "clients.api.failures.policy") > 0.0);
    assert!(num(&b, "clients.api.custom.aimd_rejected") > 0.0);
    assert!(num(&b, "clients.api.custom.aimd_drops") > 0.0);
    let (low, high) = (
        num(&b, "clients.api.custom.aimd_limit_lowest"),
        num(&b, "clients.api.custom.aimd_limit_highest"),
    );
    assert!(low < 10.0 && high > 10.0, "limit ranged {low}..{high}");
    // Shedding at the client keeps the service under its knee: fewer
    // attempts reach it, and the requests it serves are served faster.
    assert!(num(&b, "services.backend.arrivals") < num(&a, "services.backend.arrivals"));
    assert!(num(&b, "clients.api.latency_ms.p99") < num(&a, "clients.api.latency_ms.p99"));
}

#[test]
fn a_custom_layer_keeps_runs_deterministic() {
    let limited = with_aimd(&demo_scenario(), "api", Aimd::default());
    assert_eq!(run(&limited), run(&limited));
}
