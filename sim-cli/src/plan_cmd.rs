//! `sim sweep FILE --plan ENGINE --shards N --out DIR`: writes the job
//! scripts that run a sweep's shards on a cluster and merge them (the text
//! is `sim_experiments::plan`); prints the one command that submits them.

use std::path::{Path, PathBuf};

use sim_experiments::plan::{self, Engine, KubernetesOptions, PlanSpec, SlurmOptions};
use sim_experiments::{io, scenarios, sweep};

use crate::error::{CliError, Result};

/// The `--plan` values.
#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum PlanEngine {
    /// A Slurm job array (sbatch) and a merge job chained with afterok.
    Slurm,
    /// A Kubernetes Indexed Job and a merge Job.
    #[value(alias = "k8s")]
    Kubernetes,
}

/// The options of a cluster plan (`sim sweep --plan`).
#[derive(clap::Args, Debug)]
#[command(next_help_heading = "Cluster plan (--plan)")]
pub struct PlanArgs {
    /// Write job scripts that run the sweep's shards on this engine and
    /// merge them, instead of running the sweep here.
    #[arg(long, value_enum, value_name = "ENGINE", conflicts_with = "shard")]
    pub plan: Option<PlanEngine>,
    /// Number of shards (array tasks, Job indexes), at most the sweep's cells.
    #[arg(long, value_name = "N", requires = "plan")]
    pub shards: Option<usize>,
    /// CPUs (and sweep threads) per shard.
    #[arg(long, value_name = "C", default_value_t = 1, requires = "plan")]
    pub cpus_per_task: u32,
    /// At most this many shards at once (Slurm's %K, the Job's parallelism).
    #[arg(long, value_name = "K", requires = "plan")]
    pub max_running: Option<usize>,
    /// Slurm partition (default: the site's default partition).
    #[arg(long, requires = "plan")]
    pub partition: Option<String>,
    /// Slurm time limit per task, as sbatch --time takes it (e.g. 2:00:00).
    #[arg(long, value_name = "TIME", requires = "plan")]
    pub time_limit: Option<String>,
    /// The site's MaxArraySize (default: read from `scontrol show config`,
    /// else Slurm's default 1001). Past it, the plan submits several arrays.
    #[arg(long, value_name = "M", requires = "plan")]
    pub max_array_size: Option<usize>,
    /// The sim binary the Slurm tasks run (default: this one; $SIM
    /// overrides it when submitting).
    #[arg(long, value_name = "PATH", requires = "plan")]
    pub sim: Option<PathBuf>,
    /// Kubernetes: an image with sim on its PATH.
    #[arg(long, default_value = "sim:latest", requires = "plan")]
    pub image: String,
    /// Kubernetes: a ReadWriteMany PersistentVolumeClaim whose root holds
    /// the working directory (the sweep files; the output goes there).
    #[arg(
        long,
        value_name = "CLAIM",
        default_value = "sim-work",
        requires = "plan"
    )]
    pub volume_claim: String,
}

/// The absolute form of `p`, without resolving links (it may not exist).
fn absolute(p: &Path) -> Result<PathBuf> {
    std::path::absolute(p)
        .map_err(|e| CliError::input(format!("{}: cannot make absolute: {e}", p.display())))
}

/// `MaxArraySize` from `scontrol show config`, when scontrol runs here.
fn site_max_array_size() -> Option<usize> {
    let out = std::process::Command::new("scontrol")
        .args(["show", "config"])
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| plan::parse_max_array_size(&String::from_utf8_lossy(&out.stdout)))?
}

pub fn plan(engine: PlanEngine, file: &Path, out: &Path, args: &PlanArgs) -> Result<()> {
    let engine = match engine {
        PlanEngine::Slurm => Engine::Slurm,
        PlanEngine::Kubernetes => Engine::Kubernetes,
    };
    let shards = args.shards.ok_or_else(|| {
        CliError::input("--plan needs --shards N (how many array tasks or Job indexes)")
    })?;
    let source = scenarios::resolve_sweep(file)?;
    // Checked here, so that a bad sweep fails now and not on the cluster.
    let loaded = sweep::load(&source)?;
    let m = &loaded.manifest;
    let sweep_arg = if source.embedded {
        m.sweep.clone()
    } else if engine == Engine::Slurm {
        absolute(&source.path)?.to_string_lossy().into_owned()
    } else {
        source.path.to_string_lossy().into_owned()
    };
    let (out_seen, max_array_size, from_site) = match engine {
        Engine::Slurm => {
            let (m, site) = match args.max_array_size {
                Some(m) => (m, "--max-array-size"),
                None => match site_max_array_size() {
                    Some(m) => (m, "scontrol show config"),
                    None => (plan::SLURM_DEFAULT_MAX_ARRAY_SIZE, "Slurm's default"),
                },
            };
            (absolute(out)?, m, site)
        }
        Engine::Kubernetes => (out.to_path_buf(), 0, ""),
    };
    let sim = match &args.sim {
        Some(p) => absolute(p)?,
        None => std::env::current_exe()
            .and_then(|p| p.canonicalize())
            .map_err(|e| CliError::runtime(format!("cannot find this sim binary: {e}")))?,
    };
    let spec = PlanSpec {
        engine,
        sweep: m.sweep.clone(),
        sweep_arg,
        cells: m.cells,
        shards,
        out: out_seen,
        cpus_per_task: args.cpus_per_task,
        max_running: args.max_running,
        slurm: SlurmOptions {
            sim,
            partition: args.partition.clone(),
            time_limit: args.time_limit.clone(),
            max_array_size,
        },
        kubernetes: KubernetesOptions {
            image: args.image.clone(),
            volume_claim: args.volume_claim.clone(),
            backoff_limit_per_index: 3,
        },
    };
    let p = plan::make(&spec)?;
    // An earlier plan is kept unless this one is the same: scripts of a
    // plan that may be running are not replaced behind its back.
    for f in &p.files {
        let path = out.join(&f.path);
        if let Some(old) = io::read_if_exists(&path)?
            && old != f.text.as_bytes()
        {
            return Err(CliError::input(format!(
                "{}: exists with other contents (an earlier plan): delete {} to write a new one",
                path.display(),
                out.join(engine.dir()).display()
            )));
        }
    }
    for f in &p.files {
        let path = out.join(&f.path);
        if f.executable {
            io::write_atomic_executable(&path, f.text.as_bytes())?;
        } else {
            io::write_atomic(&path, f.text.as_bytes())?;
        }
    }
    for d in &p.dirs {
        let d = out.join(d);
        std::fs::create_dir_all(&d).map_err(|e| {
            CliError::runtime(format!("{}: cannot create directory: {e}", d.display()))
        })?;
    }
    let per = m.cells.div_ceil(shards);
    match engine {
        Engine::Slurm => {
            let arrays = p
                .files
                .iter()
                .filter(|f| f.text.contains("--array="))
                .count();
            println!(
                "wrote a Slurm plan for sweep {:?} in {}: {shards} shards of {} ({} replications each){}, {} CPU(s) per task, in {arrays} array job(s) (MaxArraySize {max_array_size}, from {from_site})",
                m.sweep,
                out.join("slurm").display(),
                if per == 1 {
                    "1 cell".to_string()
                } else {
                    format!("up to {per} cells")
                },
                m.replications,
                args.max_running
                    .map(|k| format!(", at most {k} at once"))
                    .unwrap_or_default(),
                args.cpus_per_task,
            );
        }
        Engine::Kubernetes => println!(
            "wrote a Kubernetes plan for sweep {:?} in {}: an Indexed Job of {shards} completions ({} cells each), then a merge Job; image {:?}, volume claim {:?} mounted as the working directory",
            m.sweep,
            out.join("k8s").display(),
            if per == 1 {
                "1".to_string()
            } else {
                format!("up to {per}")
            },
            args.image,
            args.volume_claim,
        ),
    }
    println!("submit it: {}", p.submit);
    println!(
        "merged results: {}",
        p.merged.join("results.json").display()
    );
    Ok(())
}
