//! Bad input, one test per case: each gets one clear line on stderr and
//! exit code 2, never a panic, and leaves results already written intact.

mod common;

use common::*;

/// A finished sweep in `out`, and its snapshot.
fn finished(t: &TempDir) -> Vec<(String, Vec<u8>)> {
    setup_small(t.path());
    ok(sim(t.path(), &["sweep", "small.sweep.ron", "--out", "out"]));
    snapshot(&t.join("out"))
}

#[test]
fn missing_file() {
    let t = TempDir::new("bad-missing");
    let before = finished(&t);
    input_error(
        sim(t.path(), &["sweep", "nope.sweep.ron", "--out", "out"]),
        "nope.sweep.ron: no such file",
    );
    input_error(
        sim(t.path(), &["validate", "nope.sweep.ron"]),
        "nope.sweep.ron: no such file",
    );
    assert_eq!(snapshot(&t.join("out")), before);
}

#[test]
fn unreadable_file() {
    // Not valid UTF-8: cannot be read as text (tests may run as root, for
    // whom permission bits do not make a file unreadable).
    let t = TempDir::new("bad-unreadable");
    let before = finished(&t);
    std::fs::write(t.join("bin.sweep.ron"), [0xff, 0xfe, 0x00, 0x41]).unwrap();
    input_error(
        sim(t.path(), &["sweep", "bin.sweep.ron", "--out", "out"]),
        "bin.sweep.ron: cannot read",
    );
    assert_eq!(snapshot(&t.join("out")), before);
}

#[test]
fn ron_syntax_error() {
    let t = TempDir::new("bad-syntax");
    let before = finished(&t);
    std::fs::write(
        t.join("syn.sweep.ron"),
        SMALL_SWEEP.replace("replications: 3,", "replications: 3"),
    )
    .unwrap();
    // The comma is missing at the end of line 6; the parser notices at 7:5.
    let e = input_error(
        sim(t.path(), &["sweep", "syn.sweep.ron", "--out", "out"]),
        "syn.sweep.ron:7:5:",
    );
    assert!(e.contains("comma"), "{e}");
    input_error(
        sim(t.path(), &["validate", "syn.sweep.ron"]),
        "syn.sweep.ron:7:5:",
    );
    assert_eq!(snapshot(&t.join("out")), before);
}

#[test]
fn unknown_field() {
    let t = TempDir::new("bad-unknown");
    let before = finished(&t);
    std::fs::write(
        t.join("unk.sweep.ron"),
        SMALL_SWEEP.replace("seed: 11,", "seeed: 11,"),
    )
    .unwrap();
    let e = input_error(
        sim(t.path(), &["sweep", "unk.sweep.ron", "--out", "out"]),
        "unk.sweep.ron:7:5:",
    );
    assert!(e.contains("seeed"), "{e}");
    // Inside a grid entry too.
    std::fs::write(
        t.join("unk2.sweep.ron"),
        SMALL_SWEEP.replace("values: [\"15ms\"", "valeus: [\"15ms\""),
    )
    .unwrap();
    let e = input_error(
        sim(t.path(), &["validate", "unk2.sweep.ron"]),
        "unk2.sweep.ron:9:",
    );
    assert!(e.contains("valeus"), "{e}");
    assert_eq!(snapshot(&t.join("out")), before);
}

#[test]
fn invalid_value() {
    let t = TempDir::new("bad-value");
    let before = finished(&t);
    std::fs::write(
        t.join("v.sweep.ron"),
        SMALL_SWEEP.replace("step: 1)", "step: 0)"),
    )
    .unwrap();
    input_error(
        sim(t.path(), &["sweep", "v.sweep.ron", "--out", "out"]),
        "v.sweep.ron: grid[1].range.step: must be > 0",
    );
    // A value that parses but makes an invalid scenario fails before any
    // cell runs, naming the cell and its parameters.
    std::fs::write(
        t.join("w.sweep.ron"),
        SMALL_SWEEP.replace("start: 1,", "start: 0,"),
    )
    .unwrap();
    let e = input_error(
        sim(t.path(), &["sweep", "w.sweep.ron", "--out", "fresh"]),
        "w.sweep.ron: cell 0 (clients[0].timeout=\"15ms\", clients[0].retry.max_attempts=0, clients[0].retry.backoff=Immediate): clients[0].retry.max_attempts",
    );
    assert!(e.contains("(and 3 more invalid cells)"), "{e}");
    assert!(!t.join("fresh").exists());
    // A value of the wrong type names its grid position.
    std::fs::write(
        t.join("x.sweep.ron"),
        SMALL_SWEEP.replace("[\"15ms\", \"40ms\"]", "[\"15ms\", 40]"),
    )
    .unwrap();
    input_error(
        sim(t.path(), &["sweep", "x.sweep.ron", "--out", "out"]),
        "x.sweep.ron: grid[0].values[1]:",
    );
    assert_eq!(snapshot(&t.join("out")), before);
}

#[test]
fn bad_set_path() {
    let t = TempDir::new("bad-set-path");
    std::fs::copy(s1_path(), t.join("s1-rpc.ron")).unwrap();
    input_error(
        sim(
            t.path(),
            &[
                "baseline",
                "s1-rpc.ron",
                "-o",
                "b.json",
                "--set",
                "clients[0].retyr.max_attempts=2",
            ],
        ),
        "--set clients[0].retyr.max_attempts=2: clients[0] has no field \"retyr\"",
    );
    assert!(!t.join("b.json").exists());
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
    let before = std::fs::read(t.join("b.json")).unwrap();
    input_error(
        sim(
            t.path(),
            &[
                "check",
                "s1-rpc.ron",
                "--baseline",
                "b.json",
                "--set",
                "clients[7].timeout=\"1s\"",
            ],
        ),
        "--set clients[7].timeout=\"1s\": clients[7] is out of range",
    );
    input_error(
        sim(t.path(), &["run", "s1-rpc.ron", "--set", "nope=1"]),
        "--set nope=1: the scenario has no field \"nope\"",
    );
    assert_eq!(std::fs::read(t.join("b.json")).unwrap(), before);
}

#[test]
fn bad_set_value_type() {
    let t = TempDir::new("bad-set-type");
    std::fs::copy(s1_path(), t.join("s1-rpc.ron")).unwrap();
    input_error(
        sim(
            t.path(),
            &[
                "baseline",
                "s1-rpc.ron",
                "-o",
                "b.json",
                "--set",
                "clients[0].retry.max_attempts=\"many\"",
            ],
        ),
        "--set clients[0].retry.max_attempts=\"many\": invalid type",
    );
    input_error(
        sim(
            t.path(),
            &[
                "check",
                "s1-rpc.ron",
                "--baseline",
                "b.json",
                "--set",
                "clients[0].timeout=5ms",
            ],
        ),
        "b.json: no such file",
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
    input_error(
        sim(
            t.path(),
            &[
                "check",
                "s1-rpc.ron",
                "--baseline",
                "b.json",
                "--set",
                "clients[0].timeout=5ms",
            ],
        ),
        "durations need quotes",
    );
}

#[test]
fn bad_shard_spec_3_of_2() {
    let t = TempDir::new("bad-shard-32");
    let before = finished(&t);
    input_error(
        sim(
            t.path(),
            &["sweep", "small.sweep.ron", "--out", "out", "--shard", "3/2"],
        ),
        "--shard 3/2: I must be between 1 and N (2)",
    );
    assert_eq!(snapshot(&t.join("out")), before);
}

#[test]
fn bad_shard_spec_0_of_0() {
    let t = TempDir::new("bad-shard-00");
    let before = finished(&t);
    input_error(
        sim(
            t.path(),
            &["sweep", "small.sweep.ron", "--out", "out", "--shard", "0/0"],
        ),
        "--shard 0/0: N must be >= 1",
    );
    input_error(
        sim(
            t.path(),
            &["sweep", "small.sweep.ron", "--out", "out", "--shard", "two"],
        ),
        "--shard two: expected I/N",
    );
    assert_eq!(snapshot(&t.join("out")), before);
}

#[test]
fn output_directory_holding_a_different_sweep() {
    let t = TempDir::new("bad-other-sweep");
    let before = finished(&t);
    // The same file, changed (more replications), into the same directory.
    std::fs::write(
        t.join("small.sweep.ron"),
        SMALL_SWEEP.replace("replications: 3", "replications: 4"),
    )
    .unwrap();
    input_error(
        sim(t.path(), &["sweep", "small.sweep.ron", "--out", "out"]),
        "out: holds an earlier version of sweep \"small\": changed: replications 3 -> 4. To start over, delete the directory or use another --out",
    );
    // A changed base scenario is a different sweep too.
    std::fs::write(t.join("small.sweep.ron"), SMALL_SWEEP).unwrap();
    let s1 = std::fs::read_to_string(t.join("s1-rpc.ron")).unwrap();
    std::fs::write(
        t.join("s1-rpc.ron"),
        s1.replace("requests: 2000", "requests: 1000"),
    )
    .unwrap();
    input_error(
        sim(t.path(), &["sweep", "small.sweep.ron", "--out", "out"]),
        "holds an earlier version of sweep \"small\": the sweep file or its base scenario \"s1-rpc\" was edited",
    );
    // A directory that is not a sweep's.
    std::fs::create_dir_all(t.join("other")).unwrap();
    std::fs::write(t.join("other/notes.txt"), "mine").unwrap();
    input_error(
        sim(t.path(), &["sweep", "small.sweep.ron", "--out", "other"]),
        "other: exists and is not a sweep output directory",
    );
    assert_eq!(
        std::fs::read_to_string(t.join("other/notes.txt")).unwrap(),
        "mine"
    );
    assert_eq!(snapshot(&t.join("out")), before);
}

#[test]
fn merge_of_different_sweeps() {
    let t = TempDir::new("bad-merge");
    let before = finished(&t);
    std::fs::write(
        t.join("b.sweep.ron"),
        SMALL_SWEEP.replace("seed: 11", "seed: 12"),
    )
    .unwrap();
    ok(sim(
        t.path(),
        &["sweep", "b.sweep.ron", "--out", "b", "--shard", "1/2"],
    ));
    input_error(
        sim(t.path(), &["merge", "out", "b", "--out", "m"]),
        "only shards of one sweep can be merged",
    );
    input_error(
        sim(t.path(), &["merge", "b", "--out", "out"]),
        "out: holds a different sweep",
    );
    assert!(!t.join("m").exists());
    assert_eq!(snapshot(&t.join("out")), before);
}

#[test]
fn corrupted_partial_result_file() {
    let t = TempDir::new("bad-corrupt");
    setup_small(t.path());
    ok(sim(
        t.path(),
        &["sweep", "small.sweep.ron", "--out", "out", "--shard", "1/2"],
    ));
    // Truncate one cell (as a non-atomic copy or a full disk could).
    let cell = t.join("out/cells/cell-000004.json");
    let bytes = std::fs::read(&cell).unwrap();
    std::fs::write(&cell, &bytes[..bytes.len() / 2]).unwrap();
    let before = snapshot(&t.join("out"));
    input_error(
        sim(t.path(), &["sweep", "small.sweep.ron", "--out", "out"]),
        "cell-000004.json: corrupted cell result: not valid JSON",
    );
    input_error(
        sim(t.path(), &["merge", "out", "--out", "merged"]),
        "cell-000004.json: corrupted cell result",
    );
    assert_eq!(snapshot(&t.join("out")), before);
    // Valid JSON for the wrong cell is caught too.
    let other = std::fs::read(t.join("out/cells/cell-000002.json")).unwrap();
    std::fs::write(&cell, other).unwrap();
    input_error(
        sim(t.path(), &["sweep", "small.sweep.ron", "--out", "out"]),
        "cell-000004.json: corrupted cell result: \"cell\" is 2, expected 4",
    );
    // Deleting it recovers.
    std::fs::remove_file(&cell).unwrap();
    ok(sim(t.path(), &["sweep", "small.sweep.ron", "--out", "out"]));
}

#[test]
fn corrupted_manifest() {
    let t = TempDir::new("bad-manifest");
    finished(&t);
    std::fs::write(t.join("out/sweep.json"), "{\"kind\": \"sweep-mani").unwrap();
    let before = snapshot(&t.join("out"));
    input_error(
        sim(t.path(), &["sweep", "small.sweep.ron", "--out", "out"]),
        "out/sweep.json: corrupted sweep manifest",
    );
    assert_eq!(snapshot(&t.join("out")), before);
}

#[test]
fn sweep_and_scenario_files_are_not_mixed_up() {
    let t = TempDir::new("bad-kind");
    setup_small(t.path());
    input_error(
        sim(t.path(), &["sweep", "s1-rpc.ron", "--out", "out"]),
        "not a sweep file",
    );
    input_error(
        sim(t.path(), &["run", "small.sweep.ron"]),
        "is a sweep file",
    );
    assert!(!t.join("out").exists());
}

#[test]
fn zero_threads() {
    let t = TempDir::new("bad-threads");
    setup_small(t.path());
    input_error(
        sim(
            t.path(),
            &["sweep", "small.sweep.ron", "--out", "out", "--threads", "0"],
        ),
        "--threads must be >= 1",
    );
}

/// A negative or zero count is a bad value of its flag (exit 2, the flag
/// named), not clap's "unexpected argument '-1'" or a failed run (exit 3).
#[test]
fn negative_and_zero_counts_name_their_flag() {
    let t = TempDir::new("bad-negative");
    for (args, flag) in [
        (&["run", "s1", "--seed", "-1"][..], "--seed"),
        (&["run", "s1", "--replications", "-2"][..], "--replications"),
        (&["run", "s1", "--threads", "-3"][..], "--threads"),
        (&["run", "s1", "--max-events", "0"][..], "--max-events"),
        (&["run", "s1", "--max-events", "-5"][..], "--max-events"),
        (
            &[
                "sweep",
                "s1-timeout-x-retries",
                "--out",
                "o",
                "--max-events",
                "0",
            ][..],
            "--max-events",
        ),
        (
            &["check", "s1", "--baseline", "b.json", "--max-events", "-1"][..],
            "--max-events",
        ),
        (
            &["baseline", "s1", "-o", "b.json", "--seed", "-7"][..],
            "--seed",
        ),
        (
            &[
                "sweep",
                "s1-timeout-x-retries",
                "--out",
                "o",
                "--threads",
                "-1",
            ][..],
            "--threads",
        ),
    ] {
        let o = sim(t.path(), args);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.starts_with("error: invalid value"), "{args:?}: {err}");
        assert!(err.contains(flag), "{args:?}: {err}");
        assert!(!t.join("b.json").exists() && !t.join("o").exists());
    }
}

/// Replications and threads are bounded, so a typo cannot run for days or
/// fail to start threads.
#[test]
fn replications_and_threads_are_bounded() {
    let t = TempDir::new("bad-bounds");
    input_error(
        sim(t.path(), &["run", "s1", "--set", "replications=1000000000"]),
        "replications: must be at most 10000",
    );
    input_error(
        sim(t.path(), &["run", "s1", "--threads", "100000"]),
        "--threads 100000: at most 1024",
    );
    let o = sim(t.path(), &["run", "s1", "--replications", "20000"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("--replications"));
    input_error(
        sim(
            t.path(),
            &["baseline", "s1", "-o", "b.json", "--replications", "20000"],
        ),
        "--replications 20000: at most 10000",
    );
}

/// Counts that cost memory from the start of a run (consumers, partitions,
/// users, contenders, workers, breaker windows) are bounded at validation:
/// a value of a billion is a located error, not an aborted allocation.
#[test]
fn counts_that_cost_memory_are_bounded() {
    let t = TempDir::new("bad-counts");
    for (scenario, set, path) in [
        ("s1", "buses[0].consumers=1000000000", "buses[0].consumers"),
        (
            "s1",
            "services[0].workers=4000000000",
            "services[0].workers",
        ),
        (
            "s1",
            "clients[0].requests=1000000000000",
            "clients[0].requests",
        ),
        (
            "s1",
            "clients[0].retry.max_attempts=4000000000",
            "clients[0].retry.max_attempts",
        ),
        (
            "s1",
            "clients[0].breaker.trip.window=Count(4000000000)",
            "clients[0].breaker.trip.window.Count",
        ),
        (
            "s1",
            "clients[0].breaker.trip.window=Time(length: \"10s\", buckets: 1000000000)",
            "clients[0].breaker.trip.window.buckets",
        ),
        (
            "s5-log",
            "logs[0].partitions=1000000000",
            "logs[0].partitions",
        ),
        (
            "s8-failover",
            "locks[0].contenders=1000000000",
            "locks[0].contenders",
        ),
        (
            "s5-log",
            "logs[0].consumers=1000000000",
            "logs[0].consumers",
        ),
        (
            "s2-backpressure",
            "clients[0].workload=ClosedLoop(users: 1000000000)",
            "clients[0].workload.users",
        ),
    ] {
        let o = sim(t.path(), &["run", scenario, "--set", set]);
        input_error(o, &format!("{path}: must be at most"));
    }
}

/// `sweep`, `baseline` and `check` take the event budget `run` has: a
/// replication over it stops the command with a one-line error (exit 3),
/// naming the cell for a sweep.
#[test]
fn every_command_that_runs_replications_has_an_event_budget() {
    let t = TempDir::new("budgets");
    let over = |o: std::process::Output, needle: &str| {
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(3), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.contains("stopped after 1000 events (--max-events)"),
            "{err}"
        );
        assert!(err.contains(needle), "{err}");
    };
    over(
        sim(
            t.path(),
            &[
                "sweep",
                "s1-timeout-x-retries",
                "--out",
                "o",
                "--max-events",
                "1000",
            ],
        ),
        "cell ",
    );
    over(
        sim(
            t.path(),
            &["baseline", "s1", "-o", "b.json", "--max-events", "1000"],
        ),
        "",
    );
    assert!(!t.path().join("b.json").exists());
    let made = sim(
        t.path(),
        &["baseline", "s1", "-o", "b.json", "--replications", "2"],
    );
    assert!(made.status.success(), "{}", stderr(&made));
    over(
        sim(
            t.path(),
            &[
                "check",
                "s1",
                "--baseline",
                "b.json",
                "--max-events",
                "1000",
            ],
        ),
        "",
    );
}
