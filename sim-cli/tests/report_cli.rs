//! `sim report` and `sim run --report` end to end: files written, the same
//! bytes from both paths, clear errors with exit code 2.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn sim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sim"))
        .args(args)
        .output()
        .expect("run sim")
}

/// A fresh directory for one test, removed when the guard drops.
fn scratch(name: &str) -> (tempfile::TempDir, PathBuf) {
    let guard = tempfile::Builder::new()
        .prefix(&format!("sim-report-cli-{name}-"))
        .tempdir()
        .unwrap();
    let dir = guard.path().to_path_buf();
    (guard, dir)
}

fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn report_from_a_run_document_and_from_run_report_agree() {
    let (_guard, dir) = scratch("run");
    let out = sim(&["run", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let json = dir.join("s1.json");
    std::fs::write(&json, &out.stdout).unwrap();

    let a = dir.join("a");
    let out = sim(&[
        "report",
        json.to_str().unwrap(),
        "--out",
        a.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.trim_end().ends_with("index.html (4 charts)"),
        "{stdout}"
    );
    // The default scenario is the S1 comparison: the RPC client, the bus's
    // producer, the bus, and the two paths side by side.
    assert_eq!(
        listing(&a),
        [
            "index.html",
            "paths.csv",
            "paths.svg",
            "timeseries-bus-events.csv",
            "timeseries-bus-events.svg",
            "timeseries-producer.csv",
            "timeseries-producer.svg",
            "timeseries-rpc.csv",
            "timeseries-rpc.svg"
        ]
    );

    // The same run rendered directly: the same bytes, and --json output
    // stays clean.
    let b = dir.join("b");
    let out = sim(&["run", "--json", "--report", b.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(std::fs::read(&json).unwrap(), out.stdout);
    assert_eq!(listing(&a), listing(&b));
    for name in listing(&a) {
        let same = std::fs::read(a.join(&name)).unwrap() == std::fs::read(b.join(&name)).unwrap();
        assert!(
            same,
            "{name} differs between `sim report` and `sim run --report`"
        );
    }
}

#[test]
fn report_from_a_sweep_directory() {
    let (_guard, dir) = scratch("sweep");
    let sweep = dir.join("sweep-out");
    std::fs::create_dir_all(&sweep).unwrap();
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../sim-report/tests/fixtures/sweep-backoff-failure.json"
    );
    std::fs::copy(fixture, sweep.join("results.json")).unwrap();
    let out_dir = dir.join("report");
    let out = sim(&[
        "report",
        sweep.to_str().unwrap(),
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let names = listing(&out_dir);
    assert!(names.contains(&"index.html".to_string()));
    assert_eq!(names.iter().filter(|n| n.ends_with(".svg")).count(), 4);
    assert!(!names.iter().any(|n| n.contains(".tmp-")), "{names:?}");
}

fn assert_input_error(args: &[&str], expected: &str) {
    let out = sim(args);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("error: "), "{err}");
    assert!(err.contains(expected), "{err}");
}

#[test]
fn bad_results_are_input_errors() {
    let (_guard, dir) = scratch("bad");
    let out_dir = dir.join("out");
    let out = out_dir.to_str().unwrap();

    let missing = dir.join("missing.json");
    assert_input_error(
        &["report", missing.to_str().unwrap(), "--out", out],
        "missing.json: no such file",
    );

    let empty_dir = dir.join("empty");
    std::fs::create_dir_all(&empty_dir).unwrap();
    assert_input_error(
        &["report", empty_dir.to_str().unwrap(), "--out", out],
        "a directory without results.json",
    );

    let not_json = dir.join("notes.txt");
    std::fs::write(&not_json, "p99 was fine").unwrap();
    assert_input_error(
        &["report", not_json.to_str().unwrap(), "--out", out],
        "not a JSON document",
    );

    let wrong = dir.join("baseline.json");
    std::fs::write(&wrong, r#"{"kind": "baseline"}"#).unwrap();
    assert_input_error(
        &["report", wrong.to_str().unwrap(), "--out", out],
        "a document of kind \"baseline\" is not a run, sweep or exploration result",
    );

    assert!(!out_dir.exists(), "nothing written on error");
}

/// `sim run` with several replications: the same bytes at any thread count
/// and on every run.
#[test]
fn run_output_does_not_depend_on_threads() {
    let run = |threads: &str| {
        let out = sim(&[
            "run",
            "s3-breaker",
            "--replications",
            "4",
            "--json",
            "--threads",
            threads,
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
        out.stdout
    };
    let one = run("1");
    assert_eq!(one, run("2"));
    assert_eq!(one, run("3"));
    assert_eq!(one, run("1"));
    let doc: serde_json::Value = serde_json::from_slice(&one).unwrap();
    assert_eq!(doc["replications"], 4);
    assert!(doc["ci95"]["clients.consecutive.ok"].is_array());
}

/// A client's time series shades the faults of what its requests reach
/// (its target and the services that one calls), not every fault of the
/// scenario.
#[test]
fn time_series_shade_only_the_faults_a_client_reaches() {
    let (_guard, dir) = scratch("scope");
    let scenario = dir.join("two.ron");
    std::fs::write(
        &scenario,
        r#"(
        name: "two", duration: "20s", metrics: (bucket: "1s"),
        services: [
            (name: "front", service_time: Constant("1ms"), calls: [(target: "deep")]),
            (name: "deep", service_time: Constant("1ms")),
            (name: "other", service_time: Constant("1ms")),
        ],
        clients: [
            (name: "a", workload: Constant(rate_per_s: 5), target: "front"),
            (name: "b", workload: Constant(rate_per_s: 5), target: "other"),
        ],
        faults: [
            Outage(target: "deep", start: "5s", end: "8s"),
            ErrorSpike(target: "other", start: "10s", end: "12s", failure_probability: 1.0),
        ],
    )"#,
    )
    .unwrap();
    let out_dir = dir.join("report");
    let out = sim(&[
        "run",
        scenario.to_str().unwrap(),
        "--report",
        out_dir.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let a = std::fs::read_to_string(out_dir.join("timeseries-a.svg")).unwrap();
    let b = std::fs::read_to_string(out_dir.join("timeseries-b.svg")).unwrap();
    assert!(
        a.contains("outage: deep") && !a.contains("error_spike: other"),
        "a: {a}"
    );
    assert!(
        b.contains("error_spike: other") && !b.contains("outage: deep"),
        "b: {b}"
    );
}

/// `sim run` says what it changed and what it wrote: the overrides under
/// the header, the report's index (on stderr, so --json stays clean).
#[test]
fn run_echoes_its_overrides_and_its_report() {
    let (_guard, dir) = scratch("echo");
    let out = Command::new(env!("CARGO_BIN_EXE_sim"))
        .args([
            "run",
            "s3-breaker",
            "--set",
            "clients[0].timeout=\"2s\"",
            "--report",
        ])
        .arg(dir.join("r"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        text.lines().nth(1),
        Some("overrides: --set clients[0].timeout=\"2s\""),
        "{text}"
    );
    let err = stderr(&out);
    assert!(
        err.starts_with("report: ") && err.contains("index.html (3 charts)"),
        "{err}"
    );
}

/// A scenario from standard input; completions and a manual page.
#[test]
fn stdin_scenarios_completions_and_man_page() {
    use std::io::Write;
    let text = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../experiments/s3-breaker.ron"
    ))
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_sim"))
        .args(["run", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&text).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("scenario s3-breaker "));

    let mut child = Command::new(env!("CARGO_BIN_EXE_sim"))
        .args(["run", "-"])
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"(name: \"x\", seed: -1)")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).starts_with("error: <stdin>:1:"),
        "{}",
        stderr(&out)
    );

    for shell in ["bash", "zsh", "fish"] {
        let out = Command::new(env!("CARGO_BIN_EXE_sim"))
            .args(["completions", shell])
            .output()
            .unwrap();
        assert!(out.status.success());
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("sweep"),
            "{shell}"
        );
    }
    let out = Command::new(env!("CARGO_BIN_EXE_sim"))
        .arg("man")
        .output()
        .unwrap();
    assert!(out.status.success());
    let man = String::from_utf8_lossy(&out.stdout);
    assert!(
        man.contains(".TH sim 1") && man.contains("baseline"),
        "{man}"
    );
}

/// Every hop is visible: a service's downstream calls get their own table
/// in the summary (study 4: each tier retries 4 attempts per call, which
/// the client rows, 1 attempt per request, do not show).
#[test]
fn the_summary_shows_every_downstream_call() {
    let out = Command::new(env!("CARGO_BIN_EXE_sim"))
        .args(["run", "study4-layered"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    let table = text
        .split("\n\n")
        .find(|t| t.starts_with("downstream calls"))
        .expect(&text);
    // One row per call, a column per measure.
    let header: Vec<&str> = table
        .lines()
        .next()
        .unwrap()
        .split("  ")
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .collect();
    assert_eq!(
        header,
        [
            "downstream calls",
            "calls made",
            "attempts",
            "retries",
            "failed",
            "attempts per request",
            "retries per request"
        ],
        "{table}"
    );
    let rows: Vec<Vec<&str>> = table
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(rows.len(), 20, "{table}");
    assert_eq!(rows[0][..3], ["t1-1-tier", "->", "db-1-tier"], "{table}");
    // Without a budget every hop makes 4 attempts per call: 3 retries.
    assert_eq!(
        rows[0][3..],
        ["100", "400", "300", "100", "4.00", "3.00"],
        "{table}"
    );
    for r in &rows {
        let (amp, rpr) = (r[r.len() - 2], r[r.len() - 1]);
        assert!(
            (amp, rpr) == ("4.00", "3.00") || (amp, rpr) == ("1.03", "0.03"),
            "{table}"
        );
    }
}

/// Every command that writes files takes `-o` as well as `--out`.
#[test]
fn every_command_that_writes_takes_dash_o() {
    let (_guard, dir) = scratch("dash-o");
    let results = concat!(env!("CARGO_MANIFEST_DIR"), "/../reports/s1/results.json");
    let out = Command::new(env!("CARGO_BIN_EXE_sim"))
        .args(["report", results, "-o"])
        .arg(dir.join("r"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(dir.join("r/index.html").is_file());
    for cmd in ["sweep", "merge", "baseline", "report"] {
        let help = Command::new(env!("CARGO_BIN_EXE_sim"))
            .args([cmd, "--help"])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&help.stdout);
        assert!(text.contains("-o, --out"), "{cmd}: {text}");
    }
}

/// Every subcommand's `--help` ends with examples.
#[test]
fn every_subcommand_help_has_examples() {
    for c in [
        "run",
        "validate",
        "list",
        "sweep",
        "merge",
        "baseline",
        "check",
        "report",
        "completions",
        "man",
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_sim"))
            .args([c, "--help"])
            .output()
            .unwrap();
        assert!(out.status.success(), "sim {c} --help");
        let text = String::from_utf8_lossy(&out.stdout);
        let examples = text
            .split_once("Examples:\n")
            .unwrap_or_else(|| panic!("sim {c} --help has no examples:\n{text}"))
            .1;
        assert!(
            examples
                .lines()
                .any(|l| l.trim_start().starts_with(&format!("sim {c}"))),
            "sim {c} --help: no example runs `sim {c}`:\n{examples}"
        );
    }
}

/// Every command that prints a summary takes `-q/--quiet`, and then prints
/// nothing on success; a failing check still says why on stderr.
#[test]
fn quiet_commands_print_nothing_but_errors() {
    for c in ["sweep", "merge", "baseline", "check", "report"] {
        let out = Command::new(env!("CARGO_BIN_EXE_sim"))
            .args([c, "--help"])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("-q, --quiet"), "sim {c} has no -q:\n{text}");
    }
    let (_guard, dir) = scratch("quiet");
    let sim = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_sim"))
            .args(args)
            .current_dir(&dir)
            .output()
            .unwrap()
    };
    let run = sim(&["run", "s1-rpc", "--json"]);
    std::fs::write(dir.join("run.json"), &run.stdout).unwrap();
    for args in [
        &["baseline", "s1-rpc", "-o", "b.json", "-q"][..],
        &["check", "s1-rpc", "--baseline", "b.json", "-q"],
        &["report", "run.json", "-o", "r", "-q"],
    ] {
        let o = sim(args);
        assert!(
            o.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(
            o.stdout.is_empty(),
            "{args:?} printed {:?}",
            String::from_utf8_lossy(&o.stdout)
        );
    }
    let o = sim(&[
        "check",
        "s1-rpc",
        "--baseline",
        "b.json",
        "-q",
        "--set",
        "clients[0].retry.max_attempts=1",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(o.stdout.is_empty());
    assert!(String::from_utf8_lossy(&o.stderr).starts_with("error: regression: "));
}
