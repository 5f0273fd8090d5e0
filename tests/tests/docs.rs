//! Docs that match the code: every field of the scenario format is in the
//! reference, every shipped experiment is documented at its top and valid,
//! and CI runs exactly the README's test command.

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// Field names declared in the bodies of the named serde types of a file.
fn fields_of(source: &str, types: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    for ty in types {
        let start = ["pub struct ", "pub enum "]
            .iter()
            .find_map(|kw| source.find(&format!("{kw}{ty} {{")))
            .unwrap_or_else(|| panic!("type {ty} not found"));
        let body = &source[start..];
        let mut depth = 0usize;
        let mut end = body.len();
        for (i, c) in body.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = i;
                        break;
                    }
                }
                _ => {}
            }
        }
        for line in body[..end].lines() {
            let t = line.trim().trim_start_matches("pub ");
            if t.starts_with("//") || t.starts_with('#') {
                continue;
            }
            if let Some((name, _)) = t.split_once(": ")
                && !name.is_empty()
                && name.chars().all(|c| c.is_ascii_lowercase() || c == '_')
            {
                out.push(name.to_string());
            }
        }
    }
    out
}

#[test]
fn every_scenario_field_is_in_the_reference() {
    let doc = read("docs/scenario-format.md");
    let sources: &[(&str, &[&str])] = &[
        (
            "sim-models/src/scenario/spec.rs",
            &["ScenarioFile", "MetricsSpec", "CallSpec", "ClientSpec"],
        ),
        (
            "sim-models/src/scenario/service.rs",
            &["ServiceSpec", "OverloadSpec", "DeadlinePropagationSpec"],
        ),
        (
            "sim-models/src/balancer.rs",
            &["OutlierEjectionSpec", "FailurePercentageSpec"],
        ),
        ("sim-models/src/autoscale.rs", &["AutoscaleSpec"]),
        ("sim-models/src/policy/hedge.rs", &["HedgeSpec"]),
        (
            "sim-models/src/scenario/client.rs",
            &["WorkloadSpec", "RateStep"],
        ),
        ("sim-models/src/scenario/fault.rs", &["FaultSpec"]),
        (
            "sim-models/src/scenario/bus.rs",
            &[
                "BusSpec",
                "HandlerSpec",
                "RedeliverySpec",
                "IdempotencySpec",
                "ConsumerCrashSpec",
            ],
        ),
        (
            "sim-models/src/scenario/log.rs",
            &["LogSpec", "CommitSpec", "LogCrashSpec"],
        ),
        ("sim-models/src/scenario/lock.rs", &["LockSpec"]),
        ("sim-core/src/dist.rs", &["DistSpec"]),
        ("sim-models/src/policy/backoff.rs", &["BackoffSpec"]),
        (
            "sim-models/src/policy/breaker.rs",
            &[
                "TripSpec",
                "WindowSpec",
                "SlowCallSpec",
                "AfterOpen",
                "BreakerSpec",
            ],
        ),
        ("sim-models/src/policy/budget.rs", &["BudgetSpec"]),
        ("sim-models/src/policy/retry.rs", &["RetrySpec"]),
        ("sim-models/src/policy/bulkhead.rs", &["BulkheadSpec"]),
        ("sim-models/src/policy/rate_limit.rs", &["RateLimitSpec"]),
        ("sim-models/src/policy/limiter.rs", &["RateLimiterSpec"]),
        ("sim-models/src/policy/throttle.rs", &["ThrottleSpec"]),
    ];
    let mut missing = Vec::new();
    let mut seen = 0;
    let policies = "sim-models/src/policy/mod.rs";
    let fields = sources
        .iter()
        .flat_map(|(file, types)| {
            fields_of(&read(file), types)
                .into_iter()
                .map(|f| (*file, f))
        })
        .chain(
            policy_fields(&read(policies))
                .into_iter()
                .map(|f| (policies, f)),
        );
    for (file, field) in fields {
        seen += 1;
        if !doc.contains(&format!("`{field}`")) && !doc.contains(&format!("{field}:")) {
            missing.push(format!("{file}: {field}"));
        }
    }
    assert!(seen > 80, "the field scan found only {seen} fields");
    assert!(
        missing.is_empty(),
        "undocumented fields:\n{}",
        missing.join("\n")
    );
}

/// The caller fields of the policies listed in `for_each_policy!` (lines
/// `Kind field: Type,`), which `CallSpec` and `ClientSpec` are declared from.
fn policy_fields(source: &str) -> Vec<String> {
    let start = source
        .find("macro_rules! for_each_policy")
        .expect("for_each_policy! in policy/mod.rs");
    let body = &source[start..];
    let end = body.find("\n}\n").expect("the end of for_each_policy!");
    let fields: Vec<String> = body[..end]
        .lines()
        .filter_map(|l| {
            let mut words = l.split_whitespace();
            let kind = words.next()?;
            let field = words.next()?.strip_suffix(':')?;
            (kind.starts_with(|c: char| c.is_ascii_uppercase())
                && field.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
            .then(|| field.to_string())
        })
        .collect();
    assert!(
        fields.len() >= 8,
        "found only {fields:?} in for_each_policy!"
    );
    fields
}

fn experiments() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(root().join("experiments"))
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "ron"))
        .collect();
    v.sort();
    v
}

#[test]
fn every_experiment_is_documented_at_its_top_and_valid() {
    let all = experiments();
    assert!(all.len() >= 9, "{all:?}");
    for path in all {
        let text = std::fs::read_to_string(&path).unwrap();
        let header: Vec<&str> = text.lines().take_while(|l| l.starts_with("//")).collect();
        assert!(
            header.len() >= 5,
            "{}: document the question, setup and what to look for at the top",
            path.display()
        );
        let header = header.join("\n").to_lowercase();
        for word in ["question", "setup", "look for"] {
            assert!(
                header.contains(word),
                "{}: header lacks {word:?}",
                path.display()
            );
        }
        if path.to_string_lossy().ends_with(".sweep.ron") {
            continue;
        }
        let file = sim_models::scenario::parse(&text, &path).unwrap_or_else(|e| panic!("{e}"));
        sim_models::scenario::check(&file, &path).unwrap_or_else(|e| panic!("{e}"));
    }
}

#[test]
fn ci_runs_the_readme_test_command() {
    let readme = read("README.md");
    let ci = read(".ci/run");
    let command = "cargo test --workspace --profile ci";
    assert!(readme.contains(command), "README lacks {command:?}");
    let ci_commands: Vec<&str> = ci
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with("set "))
        .collect();
    let e2e = "scripts/slurm-e2e.sh";
    assert_eq!(
        ci_commands,
        vec![command, e2e],
        ".ci/run must run exactly the README's test command, then the Slurm end-to-end test"
    );
    assert!(readme.contains(e2e), "README does not name {e2e}");
}
