//! `sim baseline` and `sim check`.

mod common;

use common::*;
use serde_json::Value;

fn setup(t: &TempDir) {
    std::fs::copy(s1_path(), t.join("s1-rpc.ron")).unwrap();
}

fn read_json(p: &std::path::Path) -> Value {
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

#[test]
fn baseline_format_and_ci_tolerances() {
    let t = TempDir::new("bl-format");
    setup(&t);
    let out = ok(sim(
        t.path(),
        &[
            "baseline",
            "s1-rpc.ron",
            "-o",
            "b.json",
            "--set",
            "clients[0].retry.max_attempts=3",
        ],
    ));
    assert!(out.contains("(seed 7, 10 replications)"), "{out}");
    let b = read_json(&t.join("b.json"));
    let keys: Vec<&str> = b.as_object().unwrap().keys().map(|k| k.as_str()).collect();
    assert_eq!(
        keys,
        [
            "kind",
            "scenario",
            "seed",
            "replications",
            "overrides",
            "metrics"
        ]
    );
    assert_eq!(b["kind"], "baseline");
    assert_eq!(b["scenario"], "s1-rpc");
    assert_eq!(b["replications"], 10, "at least 10 by default");
    assert_eq!(
        b["overrides"],
        serde_json::json!(["clients[0].retry.max_attempts=3"])
    );
    let m = b["metrics"].as_object().unwrap();
    assert!(m.keys().all(|k| !k.starts_with("engine")));
    let ok_ = &m["clients.rpc.ok"];
    let h = ok_["ci_half_width"].as_f64().unwrap();
    assert!(h > 0.0);
    assert_eq!(ok_["tolerance"]["kind"], "ci");
    assert!(
        (ok_["tolerance"]["value"].as_f64().unwrap() - h * std::f64::consts::SQRT_2).abs()
            < 1e-9 * h
    );
    // Constant across replications: the floor.
    let offered = &m["clients.rpc.offered"];
    assert_eq!(offered["value"], 2000.0);
    assert_eq!(offered["ci_half_width"], 0.0);
    assert_eq!(offered["tolerance"]["value"], 2000.0 * 1e-6);
    // Never measured: null, with the absolute floor.
    let ttr = &m["clients.rpc.time_to_recover_s"];
    assert_eq!(ttr["value"], Value::Null);
    assert_eq!(ttr["tolerance"]["value"], 1e-9);

    // Deterministic: the same command gives the same bytes, whatever the threads.
    ok(sim(
        t.path(),
        &[
            "baseline",
            "s1-rpc.ron",
            "-o",
            "c.json",
            "--set",
            "clients[0].retry.max_attempts=3",
            "--threads",
            "1",
        ],
    ));
    assert_eq!(
        std::fs::read(t.join("b.json")).unwrap(),
        std::fs::read(t.join("c.json")).unwrap()
    );
}

#[test]
fn check_passes_against_its_own_baseline() {
    let t = TempDir::new("bl-pass");
    setup(&t);
    ok(sim(
        t.path(),
        &[
            "baseline",
            "s1-rpc.ron",
            "-o",
            "b.json",
            "--replications",
            "4",
        ],
    ));
    let out = ok(sim(
        t.path(),
        &[
            "check",
            "s1-rpc.ron",
            "--baseline",
            "b.json",
            "--threads",
            "1",
        ],
    ));
    assert!(out.contains("no regression"), "{out}");
    assert!(!out.contains("FAIL"), "{out}");
    let verbose = ok(sim(
        t.path(),
        &["check", "s1-rpc.ron", "--baseline", "b.json", "--verbose"],
    ));
    assert!(
        verbose.contains("clients.rpc.retry_amplification"),
        "{verbose}"
    );
    assert!(
        verbose
            .lines()
            .any(|l| l.starts_with("metric") && l.contains("baseline") && l.contains("tolerance"))
    );
}

#[test]
fn check_fails_with_exit_1_on_a_regression() {
    let t = TempDir::new("bl-fail");
    setup(&t);
    ok(sim(
        t.path(),
        &[
            "baseline",
            "s1-rpc.ron",
            "-o",
            "b.json",
            "--replications",
            "4",
            "--metric",
            "clients.rpc.*",
        ],
    ));
    // Without the breaker, retries multiply the load: far more attempts per request.
    let o = sim(
        t.path(),
        &[
            "check",
            "s1-rpc.ron",
            "--baseline",
            "b.json",
            "--set",
            "clients[0].breaker=None",
            "--set",
            "clients[0].order=[Retry, Bulkhead, Timeout]",
            "--set",
            "clients[0].retry.max_attempts=6",
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}{}", stdout(&o), stderr(&o));
    let out = stdout(&o);
    let amp = out
        .lines()
        .find(|l| l.starts_with("clients.rpc.retry_amplification "))
        .expect(&out);
    // More attempts per request is worse: the table says lower is better.
    assert!(amp.contains("FAIL (regressed)"), "{out}");
    // Failing rows come first, right under the header.
    let first_rows: Vec<&str> = out
        .lines()
        .skip(2)
        .take_while(|l| l.contains("FAIL"))
        .collect();
    assert!(!first_rows.is_empty());
    assert!(
        stderr(&o).starts_with("error: regression: "),
        "{}",
        stderr(&o)
    );
    // A loose enough tolerance lets it pass.
    let out = ok(sim(
        t.path(),
        &[
            "check",
            "s1-rpc.ron",
            "--baseline",
            "b.json",
            "--set",
            "clients[0].breaker=None",
            "--set",
            "clients[0].order=[Retry, Bulkhead, Timeout]",
            "--set",
            "clients[0].retry.max_attempts=6",
            "--tolerance",
            "*=abs:1e12",
        ],
    ));
    assert!(out.contains("no regression"), "{out}");
    let o = sim(
        t.path(),
        &[
            "check",
            "s1-rpc.ron",
            "--baseline",
            "b.json",
            "--tolerance",
            "clients.rpc.nope*=rel:0.1",
        ],
    );
    input_error(
        o,
        "--tolerance clients.rpc.nope*=rel:0.1: \"clients.rpc.nope*\" matches no metric",
    );
}

#[test]
fn a_metric_missing_from_the_run_is_a_regression_and_null_stays_null_passes() {
    let t = TempDir::new("bl-missing");
    setup(&t);
    ok(sim(
        t.path(),
        &[
            "baseline",
            "s1-rpc.ron",
            "-o",
            "b.json",
            "--replications",
            "3",
            "--metric",
            "clients.rpc.time_to_recover_s",
            "--metric",
            "clients.rpc.ok",
        ],
    ));
    let mut b = read_json(&t.join("b.json"));
    assert_eq!(b["metrics"].as_object().unwrap().len(), 2);
    let extra = b["metrics"]["clients.rpc.ok"].clone();
    b["metrics"]
        .as_object_mut()
        .unwrap()
        .insert("clients.rpc.vanished".into(), extra);
    std::fs::write(t.join("b2.json"), serde_json::to_vec_pretty(&b).unwrap()).unwrap();
    let o = sim(
        t.path(),
        &["check", "s1-rpc.ron", "--baseline", "b2.json", "--verbose"],
    );
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    assert!(
        out.lines()
            .any(|l| l.starts_with("clients.rpc.vanished")
                && l.contains("FAIL (missing from this run)")),
        "{out}"
    );
    assert!(
        out.lines()
            .any(|l| l.starts_with("clients.rpc.time_to_recover_s") && l.ends_with("ok")),
        "{out}"
    );
    assert!(
        stderr(&o)
            .contains("regression: 1 regressed or failed, 0 improved, 2 unchanged, of 3 metrics"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn baseline_input_errors() {
    let t = TempDir::new("bl-errors");
    setup(&t);
    input_error(
        sim(
            t.path(),
            &[
                "baseline",
                "s1-rpc.ron",
                "-o",
                "b.json",
                "--replications",
                "1",
            ],
        ),
        "at least 2",
    );
    input_error(
        sim(
            t.path(),
            &[
                "baseline",
                "s1-rpc.ron",
                "-o",
                "b.json",
                "--metric",
                "clients.zzz",
            ],
        ),
        "--metric clients.zzz: matches no metric",
    );
    input_error(
        sim(
            t.path(),
            &[
                "baseline",
                "s1-rpc.ron",
                "-o",
                "b.json",
                "--tolerance",
                "x=pct:1",
            ],
        ),
        "unknown kind",
    );
    assert!(!t.join("b.json").exists());
    std::fs::write(t.join("junk.json"), "{\"kind\": \"baseline\", \"scen").unwrap();
    input_error(
        sim(
            t.path(),
            &["check", "s1-rpc.ron", "--baseline", "junk.json"],
        ),
        "junk.json: not a baseline file",
    );
    ok(sim(
        t.path(),
        &[
            "baseline",
            "s1-rpc.ron",
            "-o",
            "b.json",
            "--replications",
            "2",
        ],
    ));
    let text = std::fs::read_to_string(t.join("b.json")).unwrap();
    std::fs::write(
        t.join("other.json"),
        text.replace("\"scenario\": \"s1-rpc\"", "\"scenario\": \"s3\""),
    )
    .unwrap();
    input_error(
        sim(
            t.path(),
            &["check", "s1-rpc.ron", "--baseline", "other.json"],
        ),
        "is a baseline of scenario \"s3\"",
    );
}

/// A baseline is replaced only on purpose, and never over its own scenario.
#[test]
fn baseline_does_not_clobber() {
    let t = TempDir::new("bl-clobber");
    setup(&t);
    let args = [
        "baseline",
        "s1-rpc.ron",
        "-o",
        "b.json",
        "--replications",
        "2",
    ];
    ok(sim(t.path(), &args));
    let first = std::fs::read(t.join("b.json")).unwrap();
    std::fs::write(t.join("b.json"), "kept").unwrap();
    input_error(sim(t.path(), &args), "-o b.json: exists; pass --force");
    assert_eq!(std::fs::read_to_string(t.join("b.json")).unwrap(), "kept");
    let mut forced = args.to_vec();
    forced.push("--force");
    ok(sim(t.path(), &forced));
    assert_eq!(std::fs::read(t.join("b.json")).unwrap(), first);
    // Its own input, even with --force: refused, the scenario intact.
    let scenario = std::fs::read(t.join("s1-rpc.ron")).unwrap();
    input_error(
        sim(
            t.path(),
            &["baseline", "s1-rpc.ron", "-o", "./s1-rpc.ron", "--force"],
        ),
        "is the input",
    );
    assert_eq!(std::fs::read(t.join("s1-rpc.ron")).unwrap(), scenario);
}

/// `sim run X --trace X` would replace the scenario with its trace.
#[test]
fn a_trace_never_replaces_its_scenario() {
    let t = TempDir::new("trace-clobber");
    setup(&t);
    let scenario = std::fs::read(t.join("s1-rpc.ron")).unwrap();
    input_error(
        sim(t.path(), &["run", "s1-rpc.ron", "--trace", "s1-rpc.ron"]),
        "--trace s1-rpc.ron: is the input",
    );
    assert_eq!(std::fs::read(t.join("s1-rpc.ron")).unwrap(), scenario);
}

/// The gate reads the direction of each metric: an improvement outside
/// the tolerance passes (and is shown), fails with --strict; JSON, JUnit
/// and Markdown outputs carry the same verdicts and the same exit code.
#[test]
fn improvements_pass_unless_strict_and_every_format_says_so() {
    let t = TempDir::new("bl-improve");
    setup(&t);
    ok(sim(
        t.path(),
        &[
            "baseline",
            "s1-rpc.ron",
            "-o",
            "b.json",
            "--replications",
            "3",
            "--metric",
            "clients.rpc.success_rate",
            "--metric",
            "clients.rpc.failed",
            "--tolerance",
            "clients.*=rel:0.05",
        ],
    ));
    // Half the bulkhead: S1's success rate goes from about 25% to 100%
    // and no request fails (its p99 latency rises, so it is left out).
    let better = ["--set", "clients[0].bulkhead.max_concurrent=20"];
    let check = |extra: &[&str]| {
        let mut args = vec!["check", "s1-rpc.ron", "--baseline", "b.json"];
        args.extend_from_slice(&better);
        args.extend_from_slice(extra);
        sim(t.path(), &args)
    };
    let o = check(&[]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    let out = stdout(&o);
    let row = out
        .lines()
        .find(|l| l.starts_with("clients.rpc.success_rate "))
        .expect(&out);
    assert!(row.ends_with("improved") && row.contains('%'), "{row}");
    assert!(out.contains("no regression:"), "{out}");

    let o = check(&["--strict"]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(stdout(&o).contains("FAIL (improved)"), "{}", stdout(&o));

    let o = check(&["--format", "json"]);
    assert_eq!(o.status.code(), Some(0));
    let doc: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(doc["kind"], "check");
    assert_eq!(doc["passed"], true);
    let sr = doc["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["metric"] == "clients.rpc.success_rate")
        .unwrap();
    assert_eq!(sr["verdict"], "improved");
    assert!(sr["change_percent"].as_f64().unwrap() > 100.0);

    let o = check(&["--format", "junit", "--strict"]);
    assert_eq!(o.status.code(), Some(1));
    let xml = stdout(&o);
    assert!(xml.starts_with("<?xml"), "{xml}");
    assert!(
        xml.contains(r#"tests="2""#)
            && xml.contains(r#"<testcase classname="s1-rpc" name="clients.rpc.success_rate">"#),
        "{xml}"
    );
    assert!(
        xml.contains(r#"<failure message="improved: baseline"#),
        "{xml}"
    );

    let o = check(&["--format", "markdown"]);
    assert_eq!(o.status.code(), Some(0));
    let md = stdout(&o);
    assert!(md.starts_with("### check s1-rpc against b.json"), "{md}");
    assert!(
        md.contains("| `clients.rpc.success_rate` |") && md.contains("| improved |"),
        "{md}"
    );
}
