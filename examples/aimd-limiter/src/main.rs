//! Runs the demo scenario with and without the AIMD limiter and prints
//! what changed: `cargo run --release -p aimd-limiter`.

use aimd_limiter::{Aimd, demo_scenario, with_aimd};
use sim_experiments::runner;
use sim_models::world::RunOptions;

fn main() {
    let plain = demo_scenario();
    let limited = with_aimd(&plain, "api", Aimd::default());
    println!("{:<22} {:>12} {:>12}", "clients.api", "no limit", "AIMD");
    let docs: Vec<serde_json::Value> = [&plain, &limited]
        .iter()
        .map(|s| {
            runner::run(s, s.seed, &RunOptions::default())
                .expect("the demo runs")
                .0
        })
        .collect();
    let get = |doc: &serde_json::Value, path: &str| {
        path.split('.')
            .try_fold(doc, |v, k| v.get(k))
            .and_then(serde_json::Value::as_f64)
    };
    for metric in [
        "offered",
        "ok",
        "success_rate",
        "attempts",
        "latency_ms.p99",
        "failures.policy",
        "custom.aimd_limit_final",
        "custom.aimd_limit_lowest",
        "custom.aimd_limit_highest",
    ] {
        let path = format!("clients.api.{metric}");
        let cell =
            |d: &serde_json::Value| get(d, &path).map_or("-".to_string(), |x| format!("{x:.3}"));
        println!("{metric:<22} {:>12} {:>12}", cell(&docs[0]), cell(&docs[1]));
    }
}
