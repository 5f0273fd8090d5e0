//! `sim explore` end to end: a planted boundary found within its
//! tolerance, determinism across thread counts, resume, shards, and
//! located errors.

mod common;

use std::process::Command;

fn sim() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sim"))
}

/// A service whose every attempt fails with probability p (the axis): with
/// 2,000 requests the success rate is within about 0.011 of 1 - p, so "the
/// success rate is below 0.5" flips at p = 0.5 by construction.
const PLANTED: &str = r#"(
    name: "planted", seed: 9, duration: "20s",
    services: [(name: "s", service_time: Constant("1ms"), failure_probability: 0.1)],
    clients: [(name: "c", workload: Poisson(rate_per_s: 100), target: "s")],
)"#;

fn explore(
    dir: &std::path::Path,
    scenario: &std::path::Path,
    extra: &[&str],
) -> std::process::Output {
    let mut cmd = sim();
    cmd.arg("explore")
        .arg(scenario)
        .arg("--out")
        .arg(dir)
        .args([
            "--axis",
            "services[0].failure_probability=0.12..0.83",
            "--collapse",
            "clients.c.success_rate < 0.5",
            "--tolerance",
            "0.02",
        ])
        .args(extra);
    cmd.output().expect("sim runs")
}

#[test]
fn a_planted_boundary_is_found_within_its_tolerance() {
    let tmp = tempfile::tempdir().unwrap();
    let scenario = tmp.path().join("planted.ron");
    std::fs::write(&scenario, PLANTED).unwrap();
    let a = tmp.path().join("a");
    let out = explore(&a, &scenario, &["--threads", "1"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(a.join("results.json")).unwrap()).unwrap();
    let b = &doc["boundaries"][0];
    let est = b["estimate"].as_f64().unwrap();
    assert!((est - 0.5).abs() <= 0.02 + 0.011, "{b}");
    let [lo, hi] = [
        b["bracket"][0].as_f64().unwrap(),
        b["bracket"][1].as_f64().unwrap(),
    ];
    assert!(hi - lo <= 0.02 + 1e-9 || b["status"] == "at_level", "{b}");
    assert_eq!(b["increasing"], true);
    // The ends are decided quickly: 10 replications each.
    let points = doc["points"].as_array().unwrap();
    assert_eq!(points[0]["replications"], 10);
    assert!(points.len() >= 5, "bisection visited {}", points.len());
    // Same bytes with 4 threads, in a fresh directory.
    let b4 = tmp.path().join("b");
    let out = explore(&b4, &scenario, &["--threads", "4"]);
    assert!(out.status.success());
    assert_eq!(
        std::fs::read(a.join("results.json")).unwrap(),
        std::fs::read(b4.join("results.json")).unwrap()
    );
    // Rerunning resumes from the point cache: same bytes, nothing new run.
    let before = std::fs::read(a.join("results.json")).unwrap();
    std::fs::remove_file(a.join("results.json")).unwrap();
    let out = explore(&a, &scenario, &[]);
    assert!(out.status.success());
    assert_eq!(before, std::fs::read(a.join("results.json")).unwrap());
    // Another exploration into the same directory is refused.
    let mut cmd = sim();
    let out = cmd
        .args(["explore"])
        .arg(&scenario)
        .arg("--out")
        .arg(&a)
        .args(["--axis", "services[0].failure_probability=0.2..0.83"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("different exploration"));
}

#[test]
fn two_axes_trace_rows_and_shards_share_the_cache() {
    let tmp = tempfile::tempdir().unwrap();
    let scenario = tmp.path().join("planted.ron");
    std::fs::write(&scenario, PLANTED).unwrap();
    let rows = [
        "--axis",
        "clients[0].workload.rate_per_s=50..150",
        "--rows",
        "3",
    ];
    let whole = tmp.path().join("whole");
    assert!(explore(&whole, &scenario, &rows).status.success());
    let sharded = tmp.path().join("sharded");
    for shard in ["1/2", "2/2"] {
        let mut args = rows.to_vec();
        args.extend(["--shard", shard]);
        let out = explore(&sharded, &scenario, &args);
        assert!(out.status.success());
        assert!(!sharded.join("results.json").exists());
    }
    assert!(explore(&sharded, &scenario, &rows).status.success());
    assert_eq!(
        std::fs::read(whole.join("results.json")).unwrap(),
        std::fs::read(sharded.join("results.json")).unwrap()
    );
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(whole.join("results.json")).unwrap())
            .unwrap();
    let b = doc["boundaries"].as_array().unwrap();
    assert_eq!(b.len(), 3);
    assert_eq!(b[1]["row"], 100.0);
    for row in b {
        assert!(
            (row["estimate"].as_f64().unwrap() - 0.5).abs() < 0.05,
            "{row}"
        );
    }
}

#[test]
fn bad_axes_and_criteria_are_located_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let scenario = tmp.path().join("planted.ron");
    std::fs::write(&scenario, PLANTED).unwrap();
    for (axis, collapse, want) in [
        ("services[0].nope=1..2", "unhealthy", "services[0].nope"),
        (
            "services[0].failure_probability=0.9..0.1",
            "unhealthy",
            "LO must be below HI",
        ),
        ("services[0].name=1..2", "unhealthy", "not a number"),
        (
            "services[0].failure_probability=0..x",
            "unhealthy",
            "\"x\" is not a number",
        ),
        (
            "services[0].failure_probability=0.1..1.5",
            "unhealthy",
            "failure_probability",
        ),
        (
            "services[0].failure_probability=0.1..0.9",
            "clients.c.nope < 1",
            "no metric \"clients.c.nope\"",
        ),
        (
            "services[0].failure_probability=0.1..0.9",
            "clients.c.ok <> 1",
            "--collapse",
        ),
    ] {
        let out = sim()
            .arg("explore")
            .arg(&scenario)
            .arg("--out")
            .arg(tmp.path().join("x"))
            .args(["--axis", axis, "--collapse", collapse])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{axis} {collapse}: {err}");
        assert!(err.contains(want), "{axis} {collapse}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
    }
}
