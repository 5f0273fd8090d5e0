//! Property tests: thousands of scenarios made by mutating the shipped
//! experiments (their fields, as data, and their text, byte by byte) are
//! each either refused with located errors or run to completion within an
//! event budget, never a panic. The whole test runs again inside a child
//! process under a 4 GiB address-space limit, so an input that makes the
//! simulator ask for memory without bound fails it instead of the machine.
//!
//! Cases: `FUZZ_CASES` per property (default 5,000 each; 10,000 in all).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::Value;

const ADDRESS_SPACE_KB: u64 = 4 * 1024 * 1024;
/// Each valid mutant runs one replication of at most this many events.
const MAX_EVENTS: u64 = 20_000;

fn experiments() -> Vec<(PathBuf, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../experiments");
    let mut out: Vec<(PathBuf, String)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy().into_owned();
            n.ends_with(".ron") && !n.ends_with(".sweep.ron")
        })
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            (p, text)
        })
        .collect();
    out.sort();
    out
}

/// Mutants refused by the parser, refused by validation, and run.
static OUTCOMES: [AtomicU64; 3] = [AtomicU64::new(0), AtomicU64::new(0), AtomicU64::new(0)];

fn count(k: usize) {
    OUTCOMES[k].fetch_add(1, Ordering::Relaxed);
}

fn cases() -> u32 {
    std::env::var("FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5_000)
}

/// Checks a parsed (or refused) scenario: refusals are located, valid
/// scenarios run within the budget (an event limit is a clean stop).
fn exercise(file: &Path, parsed: Result<sim_models::scenario::ScenarioFile, String>) {
    let parsed = match parsed {
        Ok(p) => p,
        Err(e) => {
            assert!(!e.is_empty());
            count(0);
            return;
        }
    };
    match sim_models::scenario::check(&parsed, file) {
        Err(e) => {
            count(1);
            let msg = e.to_string();
            let name = file.file_name().unwrap().to_string_lossy().into_owned();
            for line in msg.lines() {
                assert!(line.contains(&name), "an error that names no file: {line}");
            }
        }
        Ok(mut scenario) => {
            count(2);
            scenario.replications = 1;
            let options = sim_models::world::RunOptions {
                max_events: Some(MAX_EVENTS),
                ..Default::default()
            };
            // Ok, or a clean stop (event limit, zero-delay storm).
            let _ = sim_models::world::run_replication(
                &scenario,
                &sim_core::Seeds::new(scenario.seed),
                &options,
            );
        }
    }
}

/// Every leaf of `v`, as JSON pointers.
fn leaves(v: &Value, at: String, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, c) in m {
                leaves(
                    c,
                    format!("{at}/{}", k.replace('~', "~0").replace('/', "~1")),
                    out,
                );
            }
        }
        Value::Array(a) => {
            for (i, c) in a.iter().enumerate() {
                leaves(c, format!("{at}/{i}"), out);
            }
        }
        _ => out.push(at),
    }
}

/// Candidate values for a mutated leaf, one of each JSON kind; which is
/// used depends on the leaf (a number stays a number, mostly), so that
/// most mutants get past the parser and reach validation and the run.
#[derive(Clone, Debug)]
struct Replacement {
    int: i64,
    float: f64,
    text: &'static str,
    /// Use a value of another kind than the leaf's (1 in 10).
    retype: bool,
}

impl Replacement {
    fn for_leaf(&self, leaf: &Value) -> Value {
        let kind = match leaf {
            Value::Number(n) if n.is_f64() => 1,
            Value::Number(_) => 0,
            Value::String(_) => 2,
            Value::Bool(_) => 3,
            _ => 4,
        };
        let kind = if self.retype {
            (kind + 1 + (self.int.unsigned_abs() % 4) as usize) % 5
        } else {
            kind
        };
        match kind {
            0 => Value::from(self.int),
            1 => Value::from(self.float),
            2 => Value::from(self.text),
            3 => Value::from(!leaf.as_bool().unwrap_or(false)),
            _ => match leaf {
                // A null (an unset option) becomes a duration or a count.
                Value::Null if self.int % 2 == 0 => Value::from(self.text),
                Value::Null => Value::from(self.int),
                _ => Value::Null,
            },
        }
    }
}

fn replacement() -> impl Strategy<Value = Replacement> {
    (
        prop::sample::select(vec![
            0i64,
            1,
            -1,
            2,
            3,
            7,
            100_000,
            100_001,
            1_000_000_000,
            i64::from(u32::MAX),
            i64::MAX,
            i64::MIN,
        ]),
        prop::sample::select(vec![
            0.0f64, -0.0, 0.5, 0.999, 1.0, 1.5, -1.0, 1e-300, 1e9, 1e10, 1e300,
        ]),
        prop::sample::select(vec![
            "0s",
            "1ns",
            "1ms",
            "250ms",
            "1s",
            "1h",
            "5000000h",
            "18446744073709551615ns",
            "-1s",
            "1e3s",
            "s",
            "",
            "api-a",
            "events",
            "primary",
            "\u{1b}[2J",
            "a\u{0}b",
        ]),
        prop::bool::weighted(0.1),
    )
        .prop_map(|(int, float, text, retype)| Replacement {
            int,
            float,
            text,
            retype,
        })
}

/// Mutants of the experiments as data: up to four leaves replaced.
fn mutate_fields(runner: &mut TestRunner, docs: &[(PathBuf, Value, Vec<String>)]) {
    let strategy = (
        0..docs.len(),
        prop::collection::vec((any::<prop::sample::Index>(), replacement()), 1..5),
    );
    runner
        .run(&strategy, |(d, edits)| {
            let (path, doc, paths) = &docs[d];
            let mut doc = doc.clone();
            for (at, value) in edits {
                if let Some(leaf) = doc.pointer_mut(&paths[at.index(paths.len())]) {
                    *leaf = value.for_leaf(leaf);
                }
            }
            let parsed = serde_json::from_value(doc).map_err(|e| e.to_string());
            exercise(path, parsed);
            Ok(())
        })
        .unwrap();
}

/// Mutants of the experiments as text: bytes deleted, inserted or
/// repeated.
fn mutate_text(runner: &mut TestRunner, texts: &[(PathBuf, String)]) {
    let edit = (
        any::<prop::sample::Index>(),
        0usize..40,
        prop::sample::select(vec![
            "",
            "(",
            ")",
            "[",
            "]",
            ",",
            "\"",
            ":",
            "0",
            "-",
            "/*",
            "//",
            "\u{0}",
            "é",
            "9999999999999999999999",
        ]),
    );
    let strategy = (0..texts.len(), prop::collection::vec(edit, 1..4));
    runner
        .run(&strategy, |(t, edits)| {
            let (path, text) = &texts[t];
            let mut bytes = text.as_bytes().to_vec();
            for (at, delete, insert) in edits {
                let i = at.index(bytes.len() + 1);
                let end = (i + delete).min(bytes.len());
                bytes.splice(i..end, insert.bytes());
            }
            // A cut through a multi-byte character is not text; the
            // binary refuses it when reading, so only text is parsed here.
            if let Ok(text) = String::from_utf8(bytes) {
                let parsed = sim_models::scenario::parse(&text, path).map_err(|e| e.to_string());
                exercise(path, parsed);
            }
            Ok(())
        })
        .unwrap();
}

#[test]
#[ignore = "run by mutants_are_refused_or_run_under_a_memory_limit, in a child process under the limit"]
fn mutants_inner() {
    let texts = experiments();
    let docs: Vec<(PathBuf, Value, Vec<String>)> = texts
        .iter()
        .map(|(p, t)| {
            let file = sim_models::scenario::parse(t, p).unwrap();
            let v = serde_json::to_value(&file).unwrap();
            let mut paths = Vec::new();
            leaves(&v, String::new(), &mut paths);
            (p.clone(), v, paths)
        })
        .collect();
    let config = Config {
        cases: cases(),
        failure_persistence: None,
        ..Config::default()
    };
    // A fixed seed: the same mutants on every run (proptest's default RNG
    // is seeded per run; this keeps CI reproducible).
    let runner = || {
        TestRunner::new_with_rng(
            config.clone(),
            proptest::test_runner::TestRng::deterministic_rng(config.rng_algorithm),
        )
    };
    mutate_fields(&mut runner(), &docs);
    let [parse, check, ran] = OUTCOMES.each_ref().map(|c| c.swap(0, Ordering::Relaxed));
    println!("field mutants: {parse} refused by the parser, {check} by validation, {ran} ran");
    // Not vacuous: many mutants are valid and run, many are refused.
    assert!(
        ran * 20 >= u64::from(cases()),
        "only {ran} field mutants ran"
    );
    assert!(
        check * 20 >= u64::from(cases()),
        "only {check} refused by validation"
    );
    mutate_text(&mut runner(), &texts);
    let [parse, check, ran] = OUTCOMES.each_ref().map(|c| c.swap(0, Ordering::Relaxed));
    println!("text mutants: {parse} refused by the parser, {check} by validation, {ran} ran");
    assert!(
        parse * 10 >= u64::from(cases()),
        "only {parse} refused by the parser"
    );
}

#[test]
fn mutants_are_refused_or_run_under_a_memory_limit() {
    let exe = std::env::current_exe().unwrap();
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "ulimit -v {ADDRESS_SPACE_KB} && exec \"$0\" \"$@\""
        ))
        .arg(exe)
        .args(["--ignored", "--exact", "mutants_inner", "--nocapture"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    for line in stdout.lines().filter(|l| l.contains("mutants:")) {
        eprintln!("{line}");
    }
    assert!(
        out.status.success(),
        "exit {:?}\n{}\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
