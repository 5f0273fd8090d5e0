//! The CI regression gate: every experiment is checked against its committed
//! baseline (experiments/baselines/NAME.json for experiments/NAME.ron), and a
//! deliberately worsened policy is shown to fail the check.
//!
//! A failure here means a change moved a cascade metric beyond the spread
//! its confidence interval allows. If the change is intended, regenerate the
//! affected baselines with experiments/baselines/regenerate.sh and say why in
//! the commit (README, "Regression gate").

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn sim(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_sim"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("the sim binary runs")
}

/// Scenario experiments (sweeps have no baseline of their own: their base
/// scenario has one).
fn experiments() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(root().join("experiments"))
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".ron") && !n.ends_with(".sweep.ron"))
        .map(|n| n.trim_end_matches(".ron").to_string())
        .collect();
    names.sort();
    names
}

#[test]
fn every_experiment_matches_its_baseline() {
    let names = experiments();
    assert!(names.len() >= 13, "{names:?}");
    let mut failures = Vec::new();
    for name in &names {
        let scenario = format!("experiments/{name}.ron");
        let baseline = format!("experiments/baselines/{name}.json");
        assert!(
            root().join(&baseline).exists(),
            "{baseline} is missing: run experiments/baselines/regenerate.sh {name}"
        );
        let out = sim(&["check", &scenario, "--baseline", &baseline]);
        if !out.status.success() {
            failures.push(format!(
                "{name} (exit {:?}):\n{}{}",
                out.status.code(),
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
    }
    assert!(failures.is_empty(), "regressions:\n{}", failures.join("\n"));
}

/// The gate bites: S6's full-jitter group retrying without backoff (a
/// worsened policy) makes every request of that group fail during the
/// restart, and the check says so with exit code 1.
#[test]
fn a_worsened_policy_fails_the_gate() {
    let out = sim(&[
        "check",
        "experiments/s6-herd.ron",
        "--baseline",
        "experiments/baselines/s6-herd.json",
        "--set",
        "clients[2].retry.backoff=Immediate",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(
        stdout.contains("clients.full-jitter.success_rate") && stdout.contains("FAIL"),
        "{stdout}"
    );
    assert!(stderr.contains("regression"), "{stderr}");
    // Only the worsened group moved: the other groups have their own
    // services and streams.
    assert!(!stdout.contains("clients.exponential."), "{stdout}");
}

/// Halving S1's bulkhead is also caught, on the cascade metrics a service
/// team would gate on.
#[test]
fn a_smaller_bulkhead_fails_the_gate() {
    let out = sim(&[
        "check",
        "experiments/s1.ron",
        "--baseline",
        "experiments/baselines/s1.json",
        "--set",
        "clients[0].bulkhead.max_concurrent=20",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("clients.rpc."), "{stdout}");
}

/// The committed explorations (reports/*/results.json of kind "explore",
/// rendered by reports/render.sh) are rerun from the options they record
/// and must give the same bytes: a search is deterministic, so any change
/// is a model change (rerun reports/render.sh NAME and say why).
#[test]
fn committed_explorations_reproduce() {
    let mut checked = 0;
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root().join("reports"))
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    dirs.sort();
    for dir in dirs {
        let Ok(text) = std::fs::read_to_string(dir.join("results.json")) else {
            continue;
        };
        let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
        if doc["kind"] != "explore" {
            continue;
        }
        let out = tempfile::tempdir().unwrap();
        let mut args: Vec<String> = vec![
            "explore".into(),
            doc["scenario"].as_str().unwrap().into(),
            "--out".into(),
            out.path().display().to_string(),
            "-q".into(),
        ];
        for o in doc["overrides"].as_array().unwrap() {
            args.extend(["--set".into(), o.as_str().unwrap().into()]);
        }
        for a in doc["axes"].as_array().unwrap() {
            let (lo, hi) = (a["low"].as_f64().unwrap(), a["high"].as_f64().unwrap());
            args.extend([
                "--axis".into(),
                format!("{}={lo}..{hi}", a["path"].as_str().unwrap()),
            ]);
        }
        for (flag, key) in [
            ("--collapse", "criterion"),
            ("--level", "level"),
            ("--tolerance", "tolerance"),
            ("--batch", "batch"),
            ("--max-replications", "max_replications"),
            ("--rows", "rows"),
        ] {
            match &doc[key] {
                serde_json::Value::Null => {}
                serde_json::Value::String(s) => args.extend([flag.into(), s.clone()]),
                v => args.extend([flag.into(), v.to_string()]),
            }
        }
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let run = sim(&refs);
        assert!(
            run.status.success(),
            "{}: {}",
            dir.display(),
            String::from_utf8_lossy(&run.stderr)
        );
        let fresh = std::fs::read_to_string(out.path().join("results.json")).unwrap();
        assert!(
            fresh == text,
            "{} no longer reproduces: rerun reports/render.sh {} if the change is meant, and say why",
            dir.display(),
            dir.file_name().unwrap().to_string_lossy()
        );
        checked += 1;
    }
    assert!(checked >= 4, "checked {checked} explorations");
}
