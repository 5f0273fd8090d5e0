//! `sim sweep` and `sim merge`: output format, determinism, common random
//! numbers, resume, sharding.

mod common;

use common::*;
use serde_json::Value;

fn read_json(p: &std::path::Path) -> Value {
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

#[test]
fn results_have_one_row_per_cell_in_order() {
    let t = TempDir::new("rows");
    setup_small(t.path());
    let o = sim(t.path(), &["sweep", "small.sweep.ron", "--out", "out"]);
    // stderr is not a terminal here: no progress bar, nothing on stderr.
    assert!(stderr(&o).is_empty(), "{}", stderr(&o));
    let out = ok(o);
    assert!(out.contains("ran 12, 0 already done"), "{out}");

    let doc = read_json(&t.join("out/results.json"));
    // Assembled row by row, it is still exactly serde_json's pretty form.
    assert_eq!(
        std::fs::read_to_string(t.join("out/results.json")).unwrap(),
        serde_json::to_string_pretty(&doc).unwrap() + "\n"
    );
    let keys: Vec<&str> = doc
        .as_object()
        .unwrap()
        .keys()
        .map(|k| k.as_str())
        .collect();
    assert_eq!(
        keys,
        [
            "kind",
            "sweep",
            "description",
            "scenario",
            "seed",
            "replications",
            "parameters",
            "report",
            "rows"
        ]
    );
    assert_eq!(doc["kind"], "sweep");
    assert_eq!(doc["sweep"], "small");
    assert_eq!(doc["scenario"], "s1-rpc");
    assert_eq!(doc["seed"], 11);
    assert_eq!(doc["replications"], 3);
    assert_eq!(
        doc["report"],
        serde_json::json!({"x": "clients[0].retry.max_attempts", "series": "clients[0].timeout"})
    );
    let rows = doc["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 12);
    for (i, r) in rows.iter().enumerate() {
        assert_eq!(r["cell"], i);
        let keys: Vec<&str> = r.as_object().unwrap().keys().map(|k| k.as_str()).collect();
        assert_eq!(keys, ["cell", "params", "labels", "metrics"]);
        // The row is the cell file.
        assert_eq!(
            *r,
            read_json(&t.join(&format!("out/cells/cell-{i:06}.json")))
        );
    }
    // Last parameter fastest.
    assert_eq!(rows[0]["labels"]["clients[0].retry.backoff"], "Immediate");
    assert_eq!(
        rows[1]["labels"]["clients[0].retry.backoff"],
        "FullJitter(base: \"20ms\", cap: \"400ms\")"
    );
    assert_eq!(
        rows[1]["params"]["clients[0].retry.backoff"],
        serde_json::json!({"FullJitter": {"base": "20ms", "cap": "400ms"}})
    );
    assert_eq!(rows[2]["params"]["clients[0].retry.max_attempts"], 2);
    assert_eq!(rows[6]["params"]["clients[0].timeout"], "40ms");
    assert_eq!(rows[6]["labels"]["clients[0].timeout"], "\"40ms\"");
    let m = &rows[5]["metrics"]["clients.rpc.retry_amplification"];
    assert_eq!(m["n"], 3);
    let (lo, mean, hi) = (
        m["ci_low"].as_f64().unwrap(),
        m["mean"].as_f64().unwrap(),
        m["ci_high"].as_f64().unwrap(),
    );
    assert!(lo <= mean && mean <= hi);
    // Engine counters are not metrics.
    assert!(
        rows[0]["metrics"]
            .as_object()
            .unwrap()
            .keys()
            .all(|k| !k.starts_with("engine"))
    );

    // CSV: cell, parameters (labels), then mean, ci_low, ci_high per metric.
    let csv = std::fs::read_to_string(t.join("out/results.csv")).unwrap();
    let mut lines = csv.lines();
    let header = lines.next().unwrap();
    assert!(header.starts_with(
        "cell,clients[0].timeout,clients[0].retry.max_attempts,clients[0].retry.backoff,clients.rpc.offered,clients.rpc.offered.ci_low,clients.rpc.offered.ci_high,"
    ), "{header}");
    assert_eq!(lines.clone().count(), 12);
    assert!(
        lines
            .nth(1)
            .unwrap()
            .starts_with("1,\"\"\"15ms\"\"\",1,\"FullJitter(base: \"\"20ms\"\""),
        "{csv}"
    );
}

/// Cell i, replication k runs with seed + k for every cell: where a
/// parameter cannot matter (no retries, so no backoff), the cells agree
/// exactly, and each cell equals `sim run` with the same settings.
#[test]
fn cells_use_common_random_numbers_and_match_sim_run() {
    let t = TempDir::new("crn");
    setup_small(t.path());
    ok(sim(t.path(), &["sweep", "small.sweep.ron", "--out", "out"]));
    let doc = read_json(&t.join("out/results.json"));
    let rows = doc["rows"].as_array().unwrap();
    // Cells 0 and 1: max_attempts 1, Immediate vs FullJitter.
    assert_eq!(rows[0]["metrics"], rows[1]["metrics"]);
    // With retries the backoff matters somewhere in the grid.
    assert!(
        (2..12)
            .step_by(2)
            .any(|i| rows[i]["metrics"] != rows[i + 1]["metrics"])
    );

    let run: Value = serde_json::from_str(&ok(sim(
        t.path(),
        &[
            "run",
            "s1-rpc.ron",
            "--json",
            "--seed",
            "11",
            "--replications",
            "3",
            "--set",
            "clients[0].timeout=\"40ms\"",
            "--set",
            "clients[0].retry.max_attempts=3",
            "--set",
            "clients[0].retry.backoff=FullJitter(base: \"20ms\", cap: \"400ms\")",
        ],
    )))
    .unwrap();
    let cell = &rows[11]["metrics"];
    for path in [
        "clients.rpc.retry_amplification",
        "clients.rpc.latency_ms.p99",
        "services.backend.in_flight_mean",
    ] {
        let v = path.split('.').fold(&run, |n, k| &n[k]);
        assert_eq!(cell[path]["mean"], *v, "{path}");
        assert_eq!(cell[path]["ci_low"], run["ci95"][path][0], "{path}");
        assert_eq!(cell[path]["ci_high"], run["ci95"][path][1], "{path}");
    }
}

#[test]
fn same_command_twice_and_any_thread_count_give_identical_bytes() {
    let t = TempDir::new("det");
    setup_small(t.path());
    ok(sim(
        t.path(),
        &["sweep", "small.sweep.ron", "--out", "a", "--threads", "1"],
    ));
    ok(sim(
        t.path(),
        &["sweep", "small.sweep.ron", "--out", "b", "--threads", "1"],
    ));
    ok(sim(
        t.path(),
        &["sweep", "small.sweep.ron", "--out", "c", "--threads", "2"],
    ));
    ok(sim(
        t.path(),
        &["sweep", "small.sweep.ron", "--out", "d", "--threads", "5"],
    ));
    for other in ["b", "c", "d"] {
        assert_same_tree(&t.join("a"), &t.join(other));
    }
}

#[test]
fn sharded_then_merged_equals_unsharded() {
    let t = TempDir::new("shard");
    setup_small(t.path());
    ok(sim(
        t.path(),
        &[
            "sweep",
            "small.sweep.ron",
            "--out",
            "full",
            "--threads",
            "2",
        ],
    ));
    for k in 1..=3 {
        let spec = format!("{k}/3");
        let dir = format!("s{k}");
        let out = ok(sim(
            t.path(),
            &[
                "sweep",
                "small.sweep.ron",
                "--out",
                &dir,
                "--shard",
                &spec,
                "--threads",
                "1",
            ],
        ));
        assert!(out.contains(&format!("shard {k}/3")), "{out}");
        // A shard writes its cells (index % 3 == k - 1), the manifest and
        // the record of the shard it ran.
        let files: Vec<String> = snapshot(&t.join(&dir)).into_iter().map(|f| f.0).collect();
        let mut want = vec!["shard.json".to_string(), "sweep.json".to_string()];
        want.extend(
            (0..12)
                .filter(|i| i % 3 == k - 1)
                .map(|i| format!("cells/cell-{i:06}.json")),
        );
        want.sort();
        assert_eq!(files, want);
        assert_eq!(
            std::fs::read(t.join(&dir).join("sweep.json")).unwrap(),
            std::fs::read(t.join("full/sweep.json")).unwrap()
        );
        assert_eq!(
            std::fs::read_to_string(t.join(&dir).join("shard.json")).unwrap(),
            format!("{{\n  \"kind\": \"sweep-shards\",\n  \"shards\": [\n    \"{k}/3\"\n  ]\n}}\n")
        );
    }
    // Merging too early names the missing cells and their shard, and
    // writes nothing.
    let e = input_error(
        sim(t.path(), &["merge", "s1", "s3", "--out", "early"]),
        "4 of 12 cells are in none",
    );
    assert!(e.contains("1, 4, 7, 10"), "{e}");
    assert!(
        e.contains("(shard 2/3 was run in none of the directories)"),
        "{e}"
    );
    assert!(e.contains("--partial merges what is there"), "{e}");
    assert!(!t.join("early").exists());
    // A shard that lost cells (a task killed mid-way) is named with its
    // directory.
    std::fs::remove_file(t.join("s3/cells/cell-000005.json")).unwrap();
    let e = input_error(
        sim(t.path(), &["merge", "s1", "s2", "s3", "--out", "early"]),
        "1 of 12 cells are in none of the directories: 5",
    );
    assert!(e.contains("(shard 3/3 (s3) lacks 1 of its 4 cells)"), "{e}");
    // --partial copies what is there and says what is missing; a later
    // merge completes it.
    let out = ok(sim(
        t.path(),
        &["merge", "s1", "s2", "s3", "--out", "early", "--partial"],
    ));
    assert!(
        out.contains("partial merge of sweep \"small\": 11 of 12 cells in early"),
        "{out}"
    );
    assert!(
        out.contains("shard 3/3 (s3) lacks 1 of its 4 cells"),
        "{out}"
    );
    assert!(!t.join("early/results.json").exists());
    assert!(t.join("early/cells/cell-000004.json").exists());
    ok(sim(
        t.path(),
        &["sweep", "small.sweep.ron", "--out", "s3", "--shard", "3/3"],
    ));
    ok(sim(t.path(), &["merge", "early", "s3", "--out", "early"]));
    assert_same_tree(&t.join("full"), &t.join("early"));

    // A shard run again in a second directory (a retried array task)
    // counts once, and the merge notes it.
    ok(sim(
        t.path(),
        &[
            "sweep",
            "small.sweep.ron",
            "--out",
            "s2-retry",
            "--shard",
            "2/3",
        ],
    ));
    let o = sim(
        t.path(),
        &["merge", "s1", "s2", "s2-retry", "s3", "--out", "twice"],
    );
    assert!(
        stderr(&o).contains("note: shard 2/3 was run in 2 directories (s2, s2-retry)"),
        "{}",
        stderr(&o)
    );
    ok(o);
    assert_same_tree(&t.join("full"), &t.join("twice"));
    // Merging again is idempotent.
    let out = ok(sim(
        t.path(),
        &["merge", "s1", "s2", "s3", "--out", "twice"],
    ));
    assert!(out.contains("(0 copied from 3 directories)"), "{out}");
    assert_same_tree(&t.join("full"), &t.join("twice"));

    ok(sim(
        t.path(),
        &["merge", "s1", "s2", "s3", "--out", "merged"],
    ));
    assert_same_tree(&t.join("full"), &t.join("merged"));

    // Shards sharing one directory, merged in place.
    for k in [2, 1, 3] {
        ok(sim(
            t.path(),
            &[
                "sweep",
                "small.sweep.ron",
                "--out",
                "shared",
                "--shard",
                &format!("{k}/3"),
            ],
        ));
    }
    assert!(!t.join("shared/results.json").exists());
    ok(sim(t.path(), &["merge", "shared", "--out", "shared"]));
    assert_same_tree(&t.join("full"), &t.join("shared"));
}

#[test]
fn rerunning_resumes_and_skips_finished_cells() {
    let t = TempDir::new("resume");
    setup_small(t.path());
    ok(sim(t.path(), &["sweep", "small.sweep.ron", "--out", "out"]));
    let before = snapshot(&t.join("out"));
    // An interrupted run: some cells and the results never written, a
    // temporary file left behind by a killed process.
    for i in [0, 5, 11] {
        std::fs::remove_file(t.join(&format!("out/cells/cell-{i:06}.json"))).unwrap();
    }
    std::fs::remove_file(t.join("out/results.json")).unwrap();
    std::fs::remove_file(t.join("out/results.csv")).unwrap();
    let stray = t.join("out/cells/.cell-000005.json.tmp-999-0-0");
    std::fs::write(&stray, b"{\"cell\": 5, \"par").unwrap();
    let out = ok(sim(t.path(), &["sweep", "small.sweep.ron", "--out", "out"]));
    assert!(out.contains("ran 3, 9 already done"), "{out}");
    // The resumed run removed the stray temporary file.
    assert!(!stray.exists());
    assert_eq!(snapshot(&t.join("out")), before);
    // Nothing left to do: still the same bytes.
    let out = ok(sim(t.path(), &["sweep", "small.sweep.ron", "--out", "out"]));
    assert!(out.contains("ran 0, 12 already done"), "{out}");
    assert_eq!(snapshot(&t.join("out")), before);
}

#[test]
fn metrics_filter_keeps_only_the_listed_metrics_in_order() {
    let t = TempDir::new("filter");
    setup_small(t.path());
    let text = SMALL_SWEEP.replace(
        "report:",
        "metrics: [\"services.backend.amplification\", \"clients.rpc.time_to_recover_s\"],\n    report:",
    );
    std::fs::write(t.join("f.sweep.ron"), text).unwrap();
    ok(sim(t.path(), &["sweep", "f.sweep.ron", "--out", "out"]));
    let doc = read_json(&t.join("out/results.json"));
    let m = doc["rows"][3]["metrics"].as_object().unwrap();
    let keys: Vec<&str> = m.keys().map(|k| k.as_str()).collect();
    assert_eq!(
        keys,
        [
            "services.backend.amplification",
            "clients.rpc.time_to_recover_s"
        ]
    );
    // No disturbance in S1: the recovery time is null in every replication.
    assert_eq!(
        m["clients.rpc.time_to_recover_s"],
        serde_json::json!({"mean": null, "ci_low": null, "ci_high": null, "n": 0})
    );
    let csv = std::fs::read_to_string(t.join("out/results.csv")).unwrap();
    assert_eq!(
        csv.lines().next().unwrap(),
        "cell,clients[0].timeout,clients[0].retry.max_attempts,clients[0].retry.backoff,services.backend.amplification,services.backend.amplification.ci_low,services.backend.amplification.ci_high,clients.rpc.time_to_recover_s,clients.rpc.time_to_recover_s.ci_low,clients.rpc.time_to_recover_s.ci_high"
    );
    assert!(csv.lines().nth(1).unwrap().ends_with(",,,"), "{csv}");

    // A metric the scenario does not have is an error naming it.
    let text = SMALL_SWEEP.replace("report:", "metrics: [\"clients.rpc.nope\"],\n    report:");
    std::fs::write(t.join("g.sweep.ron"), text).unwrap();
    input_error(
        sim(t.path(), &["sweep", "g.sweep.ron", "--out", "g"]),
        "metrics[0]: \"clients.rpc.nope\" is not a metric",
    );
}

#[test]
fn validate_and_list_know_sweeps() {
    let t = TempDir::new("validate");
    setup_small(t.path());
    let out = ok(sim(
        t.path(),
        &["validate", "small.sweep.ron", "s1-rpc.ron"],
    ));
    assert!(
        out.contains("small.sweep.ron: ok (sweep \"small\": 12 cells x 3 replications"),
        "{out}"
    );
    assert!(out.contains("s1-rpc.ron: ok"), "{out}");
    std::fs::write(
        t.join("bad.sweep.ron"),
        SMALL_SWEEP.replace("step: 1)", "step: 0)"),
    )
    .unwrap();
    input_error(
        sim(t.path(), &["validate", "bad.sweep.ron"]),
        "grid[1].range.step: must be > 0",
    );

    // Names as they are run, under a heading per kind.
    let list = ok(sim(t.path(), &["list"]));
    assert!(list.starts_with("scenarios (sim run NAME):\n"), "{list}");
    assert!(list.contains("\n  s1-rpc  "), "{list}");
    assert!(!list.contains(".ron"), "{list}");
    let (scenarios, sweeps) = list
        .split_once("\nsweeps (sim sweep NAME --out DIR):\n")
        .expect("a sweeps section");
    assert!(sweeps.contains("  s1-timeout-x-retries  "), "{list}");
    assert!(!scenarios.contains("s1-timeout-x-retries"), "{list}");
    // study3-metastable ships both: a scenario and a sweep of that name.
    assert!(scenarios.contains("  study3-metastable ") && sweeps.contains("  study3-metastable "));
    // Every shipped sweep validates.
    ok(sim(t.path(), &["validate", "s1-timeout-x-retries"]));
}

#[test]
fn help_has_examples() {
    let t = TempDir::new("help");
    for cmd in ["sweep", "merge", "check", "baseline"] {
        let out = ok(sim(t.path(), &[cmd, "--help"]));
        assert!(out.contains("Examples:"), "{cmd}: {out}");
        assert!(out.contains(&format!("sim {cmd} ")), "{cmd}: {out}");
    }
    let out = ok(sim(t.path(), &["--help"]));
    assert!(out.contains("Exit codes:") && out.contains("1  `sim check` found a regression"));
}

/// Grid values may carry short labels for results, legends and CSV.
#[test]
fn grid_values_can_be_labelled() {
    let t = TempDir::new("labels");
    setup_small(t.path());
    let text = SMALL_SWEEP.replace(
        r#"values: [Immediate, FullJitter(base: "20ms", cap: "400ms")]),"#,
        r#"values: [Immediate, FullJitter(base: "20ms", cap: "400ms")], labels: ["none", "jitter"]),"#,
    );
    std::fs::write(t.join("l.sweep.ron"), &text).unwrap();
    ok(sim(t.path(), &["sweep", "l.sweep.ron", "--out", "out"]));
    let doc = read_json(&t.join("out/results.json"));
    assert_eq!(doc["rows"][0]["labels"]["clients[0].retry.backoff"], "none");
    assert_eq!(
        doc["rows"][1]["labels"]["clients[0].retry.backoff"],
        "jitter"
    );
    assert_eq!(
        doc["rows"][1]["params"]["clients[0].retry.backoff"]["FullJitter"]["cap"],
        "400ms"
    );
    let csv = std::fs::read_to_string(t.join("out/results.csv")).unwrap();
    assert!(
        csv.lines()
            .nth(2)
            .unwrap()
            .starts_with("1,\"\"\"15ms\"\"\",1,jitter,"),
        "{csv}"
    );
    // One label per value, distinct, and only for values.
    for (bad, expected) in [
        (r#"labels: ["none"]"#, "1 labels for 2 values"),
        (r#"labels: ["x", "x"]"#, "repeats labels[0]"),
    ] {
        std::fs::write(
            t.join("b.sweep.ron"),
            text.replace(r#"labels: ["none", "jitter"]"#, bad),
        )
        .unwrap();
        input_error(sim(t.path(), &["validate", "b.sweep.ron"]), expected);
    }
    let ranged = SMALL_SWEEP.replace(
        "range: (start: 1, end: 3, step: 1)),",
        r#"range: (start: 1, end: 3, step: 1), labels: ["a", "b", "c"]),"#,
    );
    std::fs::write(t.join("r.sweep.ron"), ranged).unwrap();
    input_error(
        sim(t.path(), &["validate", "r.sweep.ron"]),
        "only `values` can be labelled",
    );
}
