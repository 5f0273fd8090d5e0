//! Cluster plans: the job scripts that run a sweep's shards on a batch
//! engine and merge them (`sim sweep FILE --plan slurm --shards N --out
//! DIR`). The text is made here, from typed options; the command writes
//! it. Everything a plan needs on the compute node is named by absolute
//! path (Slurm) or relative to the job's working directory (Kubernetes),
//! so it does not depend on where it is submitted from.
//!
//! ```text
//! DIR/slurm/array.sh    one array task per shard (array-1.sh, array-2.sh... past MaxArraySize)
//! DIR/slurm/merge.sh    the merge, once every task succeeded (afterok)
//! DIR/slurm/submit.sh   submits them all: the one command to run
//! DIR/logs/             one log per task (Slurm opens it before the task starts, so it must exist)
//! DIR/shards/shard-K/   what shard K of N writes
//! DIR/merged/           the merged results: byte-identical to an unsharded run
//! DIR/k8s/              shards-job.yaml (an Indexed Job), merge-job.yaml, submit.sh
//! ```

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The batch engines a plan is written for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    Slurm,
    Kubernetes,
}

impl Engine {
    /// The subdirectory of DIR holding the plan's files.
    pub fn dir(self) -> &'static str {
        match self {
            Engine::Slurm => "slurm",
            Engine::Kubernetes => "k8s",
        }
    }
}

/// Slurm's default `MaxArraySize` (array indices run up to one less).
pub const SLURM_DEFAULT_MAX_ARRAY_SIZE: usize = 1001;

/// What a plan is made from.
#[derive(Clone, Debug)]
pub struct PlanSpec {
    pub engine: Engine,
    /// The sweep's name (job names are made from it).
    pub sweep: String,
    /// The sweep as `sim sweep` is given it on the node: a shipped name,
    /// or a path (absolute for Slurm, relative for Kubernetes).
    pub sweep_arg: String,
    /// Cells of the sweep (a plan has at most this many shards).
    pub cells: usize,
    pub shards: usize,
    /// The output directory, as the jobs see it (absolute for Slurm,
    /// relative for Kubernetes).
    pub out: PathBuf,
    /// CPUs (and sweep threads) per shard.
    pub cpus_per_task: u32,
    /// At most this many shards at once (`%K`, `parallelism`); all when None.
    pub max_running: Option<usize>,
    pub slurm: SlurmOptions,
    pub kubernetes: KubernetesOptions,
}

#[derive(Clone, Debug)]
pub struct SlurmOptions {
    /// The `sim` binary the tasks run (absolute; `$SIM` overrides it at
    /// submission).
    pub sim: PathBuf,
    pub partition: Option<String>,
    /// `--time`, in any form Slurm accepts (`30`, `2:00:00`, `1-00:00:00`).
    pub time_limit: Option<String>,
    /// The site's `MaxArraySize`: array indices stay below it.
    pub max_array_size: usize,
}

#[derive(Clone, Debug)]
pub struct KubernetesOptions {
    /// An image with `sim` on its PATH.
    pub image: String,
    /// A PersistentVolumeClaim (ReadWriteMany) holding the working
    /// directory: the sweep files and the output directory.
    pub volume_claim: String,
    /// Retries per index before the index counts as failed.
    pub backoff_limit_per_index: u32,
}

/// One file of a plan, relative to the output directory.
#[derive(Clone, Debug, PartialEq)]
pub struct PlanFile {
    pub path: PathBuf,
    pub text: String,
    pub executable: bool,
}

/// A plan: its files, the directories to create (relative to the output
/// directory), and the one command that submits it.
#[derive(Clone, Debug)]
pub struct Plan {
    pub files: Vec<PlanFile>,
    pub dirs: Vec<PathBuf>,
    pub submit: String,
    /// Where the merged results will be.
    pub merged: PathBuf,
}

/// The shard directories' common prefix under the output directory `out`,
/// shell-quoted: the jobs append the shard number (`"$K"`) or `*`.
fn shards_prefix(out: &str) -> String {
    sh(&format!("{out}/shards/shard-"))
}

/// Makes the plan's files.
pub fn make(spec: &PlanSpec) -> Result<Plan> {
    if spec.shards == 0 {
        return Err(Error::input("--shards: must be at least 1"));
    }
    if spec.shards > spec.cells {
        return Err(Error::input(format!(
            "--shards {}: sweep {:?} has {} cells, so at most {} shards (one cell each)",
            spec.shards, spec.sweep, spec.cells, spec.cells
        )));
    }
    if spec.cpus_per_task == 0 {
        return Err(Error::input("--cpus-per-task: must be at least 1"));
    }
    if spec.max_running == Some(0) {
        return Err(Error::input("--max-running: must be at least 1"));
    }
    match spec.engine {
        Engine::Slurm => slurm(spec),
        Engine::Kubernetes => kubernetes(spec),
    }
}

/// `s` quoted for a POSIX shell (single quotes).
fn sh(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

fn sh_path(p: &Path) -> String {
    sh(&p.to_string_lossy())
}

/// A job name: letters, digits and dashes (valid for Slurm and as a
/// Kubernetes name), at most `max` characters.
fn job_name(sweep: &str, suffix: &str, max: usize) -> String {
    let mut name: String = format!("sim-{sweep}")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    name.truncate(max.saturating_sub(suffix.len()));
    let name = name.trim_end_matches('-');
    format!("{name}{suffix}")
}

/// A value written on an `#SBATCH` line, which Slurm reads without a
/// shell: no quoting is possible there, and `%` starts a file-name pattern.
fn sbatch_value(flag: &str, v: &str) -> Result<String> {
    if v.is_empty()
        || v.chars()
            .any(|c| c.is_whitespace() || "%'\"\\$`#".contains(c))
    {
        return Err(Error::input(format!(
            "{flag} {v:?}: an #SBATCH line cannot hold it (no spaces, quotes, %, $, # or backslashes)"
        )));
    }
    Ok(v.to_string())
}

fn slurm(spec: &PlanSpec) -> Result<Plan> {
    let o = &spec.slurm;
    if !spec.out.is_absolute() || !o.sim.is_absolute() {
        return Err(Error::input(
            "a Slurm plan names the output directory and the sim binary by absolute path",
        ));
    }
    if o.max_array_size < 2 {
        return Err(Error::input(format!(
            "--max-array-size {}: must be at least 2 (array indices run from 1 to MaxArraySize - 1)",
            o.max_array_size
        )));
    }
    let out = sbatch_value("--out", &spec.out.to_string_lossy())?;
    let logs = format!("{out}/logs");
    let mut common = format!("#SBATCH --cpus-per-task={}\n", spec.cpus_per_task);
    if let Some(p) = &o.partition {
        common += &format!("#SBATCH --partition={}\n", sbatch_value("--partition", p)?);
    }
    if let Some(t) = &o.time_limit {
        common += &format!("#SBATCH --time={}\n", sbatch_value("--time-limit", t)?);
    }
    let sim_line = format!("SIM=${{SIM:-{}}}\n", sh_path(&o.sim));
    let version = env!("CARGO_PKG_VERSION");
    let per_array = o.max_array_size - 1;
    let arrays = spec.shards.div_ceil(per_array);
    let n = spec.shards;
    let name = job_name(&spec.sweep, "", 64);
    let slurm_dir = spec.out.join("slurm");
    let mut files = Vec::new();
    let mut array_paths = Vec::new();
    for a in 0..arrays {
        let offset = a * per_array;
        let count = per_array.min(n - offset);
        let file = if arrays == 1 {
            "array.sh".to_string()
        } else {
            format!("array-{}.sh", a + 1)
        };
        let path = slurm_dir.join(&file);
        let cap = spec
            .max_running
            .filter(|&k| k < count)
            .map(|k| format!("%{k}"))
            .unwrap_or_default();
        let log = if offset == 0 {
            format!("{logs}/shard-%a.job-%A.out")
        } else {
            format!("{logs}/shard-{offset}+%a.job-%A.out")
        };
        let text = format!(
            "#!/bin/bash
# Shards {first}-{last} of {n} of sweep {sweep:?}, one per array task (task
# T runs shard T{plus}). Written by `sim sweep --plan slurm` (sim {version}).
# A failed or timed-out task can be resubmitted alone, and resumes:
#   sbatch --array=T {path}
#SBATCH --job-name={name}
#SBATCH --array=1-{count}{cap}
{common}#SBATCH --output={log}
set -euo pipefail
{sim_line}N={n}
K=$((SLURM_ARRAY_TASK_ID + {offset}))
echo \"shard $K/$N on $(hostname)\"
exec \"$SIM\" sweep {arg} --shard \"$K/$N\" --out {shards}\"$K\" --threads \"${{SLURM_CPUS_PER_TASK:-1}}\"
",
            first = offset + 1,
            last = offset + count,
            sweep = spec.sweep,
            plus = if offset == 0 {
                String::new()
            } else {
                format!(" + {offset}")
            },
            path = path.display(),
            arg = sh(&spec.sweep_arg),
            shards = shards_prefix(&out),
        );
        files.push(PlanFile {
            path: PathBuf::from("slurm").join(&file),
            text,
            executable: true,
        });
        array_paths.push(path);
    }
    let merged = spec.out.join("merged");
    let merge_path = slurm_dir.join("merge.sh");
    files.push(PlanFile {
        path: PathBuf::from("slurm/merge.sh"),
        text: format!(
            "#!/bin/bash
# Merges the {n} shards of sweep {sweep:?} (the same bytes as an
# unsharded run), once every array task succeeded, into
#   {merged}
# Written by `sim sweep --plan slurm` (sim {version}).
#SBATCH --job-name={merge_name}
{common}#SBATCH --output={logs}/merge.job-%j.out
set -euo pipefail
{sim_line}exec \"$SIM\" merge {shards}* --out {merged_q}
",
            sweep = spec.sweep,
            merged = merged.display(),
            merge_name = job_name(&spec.sweep, "-merge", 64),
            shards = shards_prefix(&out),
            merged_q = sh_path(&merged),
        ),
        executable: true,
    });
    let mut submit = format!(
        "#!/bin/bash
# Submits the {n} shards of sweep {sweep:?} as {arrays} Slurm array job(s),
# then the merge, which waits for every task to succeed (afterok).
# Written by `sim sweep --plan slurm` (sim {version}).
# SIM=/path/to/sim bash {this} runs another sim binary.
set -euo pipefail
mkdir -p {logs_q}
submit() {{ local id; id=$(sbatch --parsable \"$@\"); echo \"${{id%%;*}}\"; }}
",
        sweep = spec.sweep,
        this = slurm_dir.join("submit.sh").display(),
        logs_q = sh(&logs),
    );
    for (a, p) in array_paths.iter().enumerate() {
        submit += &format!("a{a}=$(submit {})\n", sh_path(p));
    }
    let deps: Vec<String> = (0..arrays).map(|a| format!("$a{a}")).collect();
    submit += &format!(
        "merge=$(submit --dependency=afterok:{} {})
echo \"submitted the shards as job {} and the merge as job $merge (it runs once every shard succeeded)\"
echo \"follow: squeue -j {},$merge   logs: {logs}   results: {}\"
",
        deps.join(":"),
        sh_path(&merge_path),
        deps.join(", "),
        deps.join(","),
        merged.join("results.json").display(),
    );
    files.push(PlanFile {
        path: PathBuf::from("slurm/submit.sh"),
        text: submit,
        executable: true,
    });
    Ok(Plan {
        files,
        dirs: vec![PathBuf::from("logs"), PathBuf::from("shards")],
        submit: format!("bash {}", sh_path(&slurm_dir.join("submit.sh"))),
        merged,
    })
}

/// A string as a YAML double-quoted scalar (JSON's escapes are YAML's).
fn yaml_str(s: &str) -> String {
    serde_json::to_string(s).expect("a string serializes")
}

fn kubernetes(spec: &PlanSpec) -> Result<Plan> {
    let o = &spec.kubernetes;
    if spec.out.is_absolute() || Path::new(&spec.sweep_arg).is_absolute() {
        return Err(Error::input(
            "a Kubernetes plan names the sweep and the output directory relative to the job's working directory (the volume's root): give relative paths",
        ));
    }
    let n = spec.shards;
    let out = spec.out.to_string_lossy().to_string();
    let version = env!("CARGO_PKG_VERSION");
    let shards_name = job_name(&spec.sweep, "-shards", 63);
    let merge_name = job_name(&spec.sweep, "-merge", 63);
    let parallelism = spec.max_running.unwrap_or(n).min(n);
    let pod = |command: String, cpus: u32| {
        format!(
            "    spec:
      restartPolicy: Never
      containers:
        - name: sim
          image: {image}
          workingDir: /work
          command: [\"sh\", \"-c\", {command}]
          resources:
            requests:
              cpu: \"{cpus}\"
          volumeMounts:
            - name: work
              mountPath: /work
      volumes:
        - name: work
          persistentVolumeClaim:
            claimName: {claim}
",
            image = yaml_str(&o.image),
            command = yaml_str(&command),
            claim = yaml_str(&o.volume_claim),
        )
    };
    let shard_cmd = format!(
        "K=$((JOB_COMPLETION_INDEX + 1)); exec sim sweep {} --shard \"$K/{n}\" --out {}\"$K\" --threads {}",
        sh(&spec.sweep_arg),
        shards_prefix(&out),
        spec.cpus_per_task
    );
    let shards_yaml = format!(
        "# Shards 1-{n} of sweep {sweep:?} as an Indexed Job: index I runs shard
# I+1 of {n}. The pods run in /work, the root of the volume claim {claim:?}
# (ReadWriteMany), which holds the sweep files and receives {out}/.
# Written by `sim sweep --plan kubernetes` (sim {version}).
apiVersion: batch/v1
kind: Job
metadata:
  name: {shards_name}
spec:
  completionMode: Indexed
  completions: {n}
  parallelism: {parallelism}
  backoffLimitPerIndex: {backoff}
  template:
{pod}",
        sweep = spec.sweep,
        claim = o.volume_claim,
        backoff = o.backoff_limit_per_index,
        pod = pod(shard_cmd, spec.cpus_per_task),
    );
    let merge_cmd = format!(
        "exec sim merge {}* --out {}",
        shards_prefix(&out),
        sh(&format!("{out}/merged"))
    );
    let merge_yaml = format!(
        "# Merges the {n} shards of sweep {sweep:?} into {out}/merged (the same
# bytes as an unsharded run). submit.sh applies it once {shards_name} completed.
# Written by `sim sweep --plan kubernetes` (sim {version}).
apiVersion: batch/v1
kind: Job
metadata:
  name: {merge_name}
spec:
  backoffLimit: 2
  template:
{pod}",
        sweep = spec.sweep,
        pod = pod(merge_cmd, 1),
    );
    let k8s = spec.out.join("k8s");
    let submit = format!(
        "#!/bin/sh
# Runs the {n} shards of sweep {sweep:?} as an Indexed Job, waits for it,
# then merges. Written by `sim sweep --plan kubernetes` (sim {version}).
set -eu
kubectl apply -f {shards_file}
kubectl wait --for=condition=complete --timeout=${{TIMEOUT:-24h}} job/{shards_name}
kubectl apply -f {merge_file}
kubectl wait --for=condition=complete --timeout=${{TIMEOUT:-24h}} job/{merge_name}
echo \"merged: {out}/merged/results.json (on the volume)\"
",
        sweep = spec.sweep,
        shards_file = sh_path(&k8s.join("shards-job.yaml")),
        merge_file = sh_path(&k8s.join("merge-job.yaml")),
    );
    Ok(Plan {
        files: vec![
            PlanFile {
                path: PathBuf::from("k8s/shards-job.yaml"),
                text: shards_yaml,
                executable: false,
            },
            PlanFile {
                path: PathBuf::from("k8s/merge-job.yaml"),
                text: merge_yaml,
                executable: false,
            },
            PlanFile {
                path: PathBuf::from("k8s/submit.sh"),
                text: submit,
                executable: true,
            },
        ],
        dirs: Vec::new(),
        submit: format!("sh {}", sh_path(&k8s.join("submit.sh"))),
        merged: spec.out.join("merged"),
    })
}

/// Reads `MaxArraySize` from `scontrol show config` output.
pub fn parse_max_array_size(scontrol_config: &str) -> Option<usize> {
    scontrol_config.lines().find_map(|l| {
        let (key, value) = l.split_once('=')?;
        (key.trim() == "MaxArraySize").then(|| value.trim().parse().ok())?
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(engine: Engine, shards: usize, out: &str) -> PlanSpec {
        PlanSpec {
            engine,
            sweep: "s1-timeout-x-retries".into(),
            sweep_arg: "s1-timeout-x-retries".into(),
            cells: 48,
            shards,
            out: out.into(),
            cpus_per_task: 2,
            max_running: Some(4),
            slurm: SlurmOptions {
                sim: "/opt/sim/bin/sim".into(),
                partition: Some("short".into()),
                time_limit: Some("1:00:00".into()),
                max_array_size: SLURM_DEFAULT_MAX_ARRAY_SIZE,
            },
            kubernetes: KubernetesOptions {
                image: "registry.example/sim:1".into(),
                volume_claim: "sim-work".into(),
                backoff_limit_per_index: 3,
            },
        }
    }

    fn file<'a>(p: &'a Plan, name: &str) -> &'a str {
        &p.files
            .iter()
            .find(|f| f.path == Path::new(name))
            .unwrap_or_else(|| panic!("no {name}"))
            .text
    }

    #[test]
    fn slurm_plan_has_the_directives_and_absolute_paths() {
        let p = make(&spec(Engine::Slurm, 16, "/data/s1")).unwrap();
        let a = file(&p, "slurm/array.sh");
        for line in [
            "#SBATCH --array=1-16%4",
            "#SBATCH --cpus-per-task=2",
            "#SBATCH --partition=short",
            "#SBATCH --time=1:00:00",
            "#SBATCH --output=/data/s1/logs/shard-%a.job-%A.out",
            "SIM=${SIM:-/opt/sim/bin/sim}",
            "K=$((SLURM_ARRAY_TASK_ID + 0))",
            "exec \"$SIM\" sweep s1-timeout-x-retries --shard \"$K/$N\" --out /data/s1/shards/shard-\"$K\" --threads \"${SLURM_CPUS_PER_TASK:-1}\"",
        ] {
            assert!(a.lines().any(|l| l == line), "{line:?} not in\n{a}");
        }
        let s = file(&p, "slurm/submit.sh");
        assert!(s.contains("mkdir -p /data/s1/logs\n"), "{s}");
        assert!(
            s.contains("merge=$(submit --dependency=afterok:$a0 /data/s1/slurm/merge.sh)"),
            "{s}"
        );
        let m = file(&p, "slurm/merge.sh");
        assert!(
            m.contains("exec \"$SIM\" merge /data/s1/shards/shard-* --out /data/s1/merged\n"),
            "{m}"
        );
        assert_eq!(p.submit, "bash /data/s1/slurm/submit.sh");
        assert!(p.dirs.contains(&PathBuf::from("logs")));
    }

    #[test]
    fn slurm_plan_splits_past_max_array_size() {
        let mut s = spec(Engine::Slurm, 45, "/data/s1");
        s.slurm.max_array_size = 21; // indices 1..=20
        s.max_running = None;
        let p = make(&s).unwrap();
        let arrays: Vec<&PlanFile> = p
            .files
            .iter()
            .filter(|f| f.path.to_string_lossy().contains("array-"))
            .collect();
        assert_eq!(arrays.len(), 3);
        for (f, (range, offset)) in arrays.iter().zip([("1-20", 0), ("1-20", 20), ("1-5", 40)]) {
            assert!(
                f.text.contains(&format!("#SBATCH --array={range}\n")),
                "{}",
                f.text
            );
            assert!(
                f.text
                    .contains(&format!("K=$((SLURM_ARRAY_TASK_ID + {offset}))")),
                "{}",
                f.text
            );
        }
        let submit = file(&p, "slurm/submit.sh");
        assert!(
            submit.contains("--dependency=afterok:$a0:$a1:$a2 "),
            "{submit}"
        );
    }

    #[test]
    fn paths_are_shell_quoted_and_sbatch_lines_refuse_what_they_cannot_hold() {
        let mut s = spec(Engine::Slurm, 4, "/data/s1");
        s.sweep_arg = "/home/me/it's here.sweep.ron".into();
        let p = make(&s).unwrap();
        assert!(
            file(&p, "slurm/array.sh").contains("sweep '/home/me/it'\\''s here.sweep.ron' --shard"),
            "{}",
            file(&p, "slurm/array.sh")
        );
        for bad in ["/data/my runs", "/data/100%"] {
            let e = make(&spec(Engine::Slurm, 4, bad)).unwrap_err();
            assert!(
                e.message.contains("#SBATCH line cannot hold"),
                "{}",
                e.message
            );
        }
        let e = make(&spec(Engine::Slurm, 4, "relative/out")).unwrap_err();
        assert!(e.message.contains("absolute"), "{}", e.message);
    }

    #[test]
    fn shard_counts_are_bounded_by_the_cells() {
        assert!(make(&spec(Engine::Slurm, 0, "/d")).is_err());
        let e = make(&spec(Engine::Slurm, 49, "/d")).unwrap_err();
        assert!(e.message.contains("at most 48 shards"), "{}", e.message);
        assert!(make(&spec(Engine::Slurm, 48, "/d")).is_ok());
    }

    #[test]
    fn kubernetes_plan_is_an_indexed_job_with_relative_paths() {
        let p = make(&spec(Engine::Kubernetes, 8, "out/s1")).unwrap();
        let j = file(&p, "k8s/shards-job.yaml");
        for line in [
            "  completionMode: Indexed",
            "  completions: 8",
            "  parallelism: 4",
            "  backoffLimitPerIndex: 3",
            "      restartPolicy: Never",
            "          image: \"registry.example/sim:1\"",
            "            claimName: \"sim-work\"",
        ] {
            assert!(j.lines().any(|l| l == line), "{line:?} not in\n{j}");
        }
        assert!(
            j.contains("K=$((JOB_COMPLETION_INDEX + 1)); exec sim sweep s1-timeout-x-retries --shard \\\"$K/8\\\" --out out/s1/shards/shard-\\\"$K\\\""),
            "{j}"
        );
        assert!(make(&spec(Engine::Kubernetes, 8, "/abs")).is_err());
        let submit = file(&p, "k8s/submit.sh");
        assert!(
            submit.contains("job/sim-s1-timeout-x-retries-shards"),
            "{submit}"
        );
    }

    #[test]
    fn job_names_are_dns_labels() {
        let n = job_name(&"Very_Long.Name".repeat(10), "-shards", 63);
        assert!(n.len() <= 63 && n.ends_with("-shards"), "{n}");
        assert!(
            n.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        );
    }

    #[test]
    fn max_array_size_is_read_from_scontrol() {
        let config = "Configuration data as of 2026-12-01T10:00:00\nMaxArraySize            = 4001\nMaxJobCount = 10000\n";
        assert_eq!(parse_max_array_size(config), Some(4001));
        assert_eq!(parse_max_array_size("nothing"), None);
    }
}
