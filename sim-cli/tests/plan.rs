//! `sim sweep --plan`: the cluster plans docs/sweeps.md shows are what the
//! command writes, and its errors. (The Slurm plan is run under a real
//! Slurm by scripts/slurm-e2e.sh.)

mod common;

use common::*;
use std::path::Path;

/// The fenced block that follows the first line of docs/sweeps.md
/// starting with `marker`.
fn doc_block(doc: &str, marker: &str) -> String {
    let rest = &doc[doc
        .find(&format!("\n{marker}"))
        .unwrap_or_else(|| panic!("docs/sweeps.md has no {marker:?}"))..];
    let open = rest.find("```").unwrap();
    let body = &rest[open..];
    let body = &body[body.find('\n').unwrap() + 1..];
    body[..body.find("```").unwrap()].to_string()
}

#[test]
fn the_slurm_plan_in_the_docs_is_what_the_command_writes() {
    let t = TempDir::new("plan-docs");
    let out = t.join("s1");
    let out_s = out.to_string_lossy().into_owned();
    // The command docs/sweeps.md shows, and --max-array-size so the
    // printed lines do not depend on whether scontrol runs here.
    let args = [
        "sweep",
        "s1-timeout-x-retries",
        "--plan",
        "slurm",
        "--shards",
        "16",
        "--max-running",
        "8",
        "--cpus-per-task",
        "2",
        "--time-limit",
        "1:00:00",
        "--sim",
        "/opt/sim/bin/sim",
        "--max-array-size",
        "1001",
        "--out",
        &out_s,
    ];
    let printed = ok(sim(t.path(), &args));
    let doc =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/sweeps.md"))
            .unwrap();
    let as_in_docs = |text: &str| {
        text.replace(&out_s, "/scratch/me/s1")
            .replace(&format!("sim {}", env!("CARGO_PKG_VERSION")), "sim VERSION")
    };
    for (marker, file) in [
        ("`array.sh` (written", "slurm/array.sh"),
        ("`merge.sh`:", "slurm/merge.sh"),
        ("`submit.sh`:", "slurm/submit.sh"),
    ] {
        let written = std::fs::read_to_string(out.join(file)).unwrap();
        assert_eq!(
            as_in_docs(&written),
            doc_block(&doc, marker),
            "docs/sweeps.md shows another {file} than the command writes"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(out.join(file))
                .unwrap()
                .permissions()
                .mode();
            assert!(mode & 0o100 != 0, "{file} is not executable: {mode:o}");
        }
    }
    // The printed lines, but for where MaxArraySize came from (here the flag).
    let shown = doc_block(&doc, "prints\n");
    let printed = as_in_docs(&printed).replace("from --max-array-size", "from Slurm's default");
    assert_eq!(printed, shown);
    // Slurm opens the task logs before a task runs: the directory exists.
    assert!(out.join("logs").is_dir());
    // The same plan again is fine; another one over it is refused.
    ok(sim(t.path(), &args));
    input_error(
        sim(
            t.path(),
            &[
                "sweep",
                "s1-timeout-x-retries",
                "--plan",
                "slurm",
                "--shards",
                "8",
                "--out",
                &out_s,
            ],
        ),
        "exists with other contents (an earlier plan): delete",
    );
}

#[test]
fn a_relative_out_becomes_absolute_and_a_sweep_file_is_named_by_absolute_path() {
    let t = TempDir::new("plan-abs");
    setup_small(t.path());
    let printed = ok(sim(
        t.path(),
        &[
            "sweep",
            "small.sweep.ron",
            "--plan",
            "slurm",
            "--shards",
            "3",
            "--out",
            "runs/small",
        ],
    ));
    let root = t.path().canonicalize().unwrap();
    let abs = std::path::absolute(t.path()).unwrap();
    let array = std::fs::read_to_string(t.join("runs/small/slurm/array.sh")).unwrap();
    let named = |p: &str| {
        array.contains(&abs.join(p).to_string_lossy().to_string())
            || array.contains(&root.join(p).to_string_lossy().to_string())
    };
    assert!(named("small.sweep.ron"), "{array}");
    assert!(named("runs/small/shards/shard-"), "{array}");
    assert!(array.contains("#SBATCH --cpus-per-task=1\n"), "{array}");
    assert!(
        array.contains("#SBATCH --array=1-3\n"),
        "no cap by default:\n{array}"
    );
    assert!(
        printed.contains("3 shards of up to 4 cells (3 replications each)"),
        "{printed}"
    );
    assert!(printed.contains("submit it: bash /"), "{printed}");
}

#[test]
fn the_kubernetes_plan_writes_an_indexed_job_and_a_merge_job() {
    let t = TempDir::new("plan-k8s");
    setup_small(t.path());
    let printed = ok(sim(
        t.path(),
        &[
            "sweep",
            "small.sweep.ron",
            "--plan",
            "k8s",
            "--shards",
            "4",
            "--out",
            "runs/small",
        ],
    ));
    assert!(
        printed.contains("submit it: sh runs/small/k8s/submit.sh"),
        "{printed}"
    );
    let job = std::fs::read_to_string(t.join("runs/small/k8s/shards-job.yaml")).unwrap();
    assert!(job.contains("completionMode: Indexed"), "{job}");
    assert!(job.contains("sim sweep small.sweep.ron --shard"), "{job}");
    let merge = std::fs::read_to_string(t.join("runs/small/k8s/merge-job.yaml")).unwrap();
    assert!(
        merge.contains("exec sim merge runs/small/shards/shard-* --out runs/small/merged"),
        "{merge}"
    );
    // Absolute paths mean nothing inside the pods.
    let abs = t.join("runs/abs").to_string_lossy().into_owned();
    input_error(
        sim(
            t.path(),
            &[
                "sweep",
                "small.sweep.ron",
                "--plan",
                "kubernetes",
                "--shards",
                "4",
                "--out",
                &abs,
            ],
        ),
        "give relative paths",
    );
}

#[test]
fn plan_errors_are_one_line_and_exit_2() {
    let t = TempDir::new("plan-errors");
    setup_small(t.path());
    let plan = |extra: &[&str]| {
        let mut args = vec![
            "sweep",
            "small.sweep.ron",
            "--plan",
            "slurm",
            "--out",
            "runs/x",
        ];
        args.extend_from_slice(extra);
        sim(t.path(), &args)
    };
    input_error(plan(&[]), "--plan needs --shards N");
    input_error(
        plan(&["--shards", "13"]),
        "has 12 cells, so at most 12 shards",
    );
    input_error(plan(&["--shards", "0"]), "--shards: must be at least 1");
    input_error(
        plan(&["--shards", "2", "--partition", "a b"]),
        "#SBATCH line cannot hold it",
    );
    input_error(
        plan(&["--shards", "2", "--max-array-size", "1"]),
        "at least 2",
    );
    input_error(
        plan(&["--shards", "2", "--cpus-per-task", "0"]),
        "at least 1",
    );
    let o = plan(&["--shards", "2", "--shard", "1/2"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("cannot be used with"), "{}", stderr(&o));
    // A bad sweep fails at plan time, not on the cluster.
    std::fs::write(
        t.join("bad.sweep.ron"),
        "(name: \"bad\", scenario: \"nope.ron\", grid: [])",
    )
    .unwrap();
    let o = sim(
        t.path(),
        &[
            "sweep",
            "bad.sweep.ron",
            "--plan",
            "slurm",
            "--shards",
            "2",
            "--out",
            "runs/y",
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(!t.join("runs/y").exists());
    assert!(!t.join("runs/x").exists());
}
