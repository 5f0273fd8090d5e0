//! Helpers for the CLI tests: run the `sim` binary, temporary directories,
//! a small sweep over S1, recursive directory snapshots.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A directory under the system temp dir, unique per test (tempfile),
/// removed on drop.
pub struct TempDir(tempfile::TempDir);

impl TempDir {
    pub fn new(test: &str) -> Self {
        let dir = tempfile::Builder::new()
            .prefix(&format!("sim-cli-test-{test}-"))
            .tempdir()
            .unwrap();
        TempDir(dir)
    }
    pub fn path(&self) -> &Path {
        self.0.path()
    }
    pub fn join(&self, p: &str) -> PathBuf {
        self.0.path().join(p)
    }
}

pub fn sim(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sim"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the sim binary runs")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Asserts success and returns stdout.
pub fn ok(o: Output) -> String {
    assert!(
        o.status.success(),
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        stdout(&o),
        stderr(&o)
    );
    stdout(&o)
}

/// Asserts a clean input error: exit 2, exactly one line on stderr
/// (`error: ...`) containing `needle`, no panic. Returns that line.
pub fn input_error(o: Output, needle: &str) -> String {
    let err = stderr(&o);
    assert_eq!(
        o.status.code(),
        Some(2),
        "stderr: {err}\nstdout: {}",
        stdout(&o)
    );
    assert!(!err.contains("panicked"), "{err}");
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "expected one line, got:\n{err}");
    assert!(lines[0].starts_with("error: "), "{err}");
    assert!(lines[0].contains(needle), "{needle:?} not in {err:?}");
    lines[0].to_string()
}

pub fn s1_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../experiments/s1-rpc.ron")
}

/// A 12-cell sweep (2 timeouts x 3 attempt counts x 2 backoffs), 3
/// replications, every metric kept.
pub const SMALL_SWEEP: &str = r#"// a small test sweep
(
    name: "small",
    description: "test sweep",
    scenario: "s1-rpc.ron",
    replications: 3,
    seed: 11,
    grid: [
        (path: "clients[0].timeout", values: ["15ms", "40ms"]),
        (path: "clients[0].retry.max_attempts", range: (start: 1, end: 3, step: 1)),
        (path: "clients[0].retry.backoff", values: [Immediate, FullJitter(base: "20ms", cap: "400ms")]),
    ],
    report: (x: "clients[0].retry.max_attempts", series: "clients[0].timeout"),
)
"#;

/// Copies S1 into `dir` and writes `SMALL_SWEEP` there as `small.sweep.ron`.
pub fn setup_small(dir: &Path) -> PathBuf {
    std::fs::copy(s1_path(), dir.join("s1-rpc.ron")).unwrap();
    let p = dir.join("small.sweep.ron");
    std::fs::write(&p, SMALL_SWEEP).unwrap();
    p
}

/// Every file under `dir` with its bytes, sorted by relative path.
pub fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return;
        };
        for e in rd.filter_map(|e| e.ok()) {
            let p = e.path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
                out.push((rel, std::fs::read(&p).unwrap()));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// Asserts two directories hold the same files with the same bytes.
pub fn assert_same_tree(a: &Path, b: &Path) {
    let (sa, sb) = (snapshot(a), snapshot(b));
    let names = |s: &[(String, Vec<u8>)]| s.iter().map(|x| x.0.clone()).collect::<Vec<_>>();
    assert_eq!(names(&sa), names(&sb), "{} vs {}", a.display(), b.display());
    for ((n, x), (_, y)) in sa.iter().zip(&sb) {
        assert!(
            x == y,
            "{n} differs between {} and {}",
            a.display(),
            b.display()
        );
    }
    assert!(!sa.is_empty());
}
