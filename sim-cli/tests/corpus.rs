//! The bad-input corpus (`tests/corpus/`, written by its `generate.py`):
//! scenario and sweep files with one thing broken, broken files, and
//! command lines. Each case gives the exit code and a text the error must
//! contain (the field's path, the line:column, or the flag). Every case
//! runs under a 4 GiB address-space limit and a time limit: no input may
//! abort the binary (exit 134), panic it (101), hang it or eat the
//! machine; its error starts with `error: `, names what is wrong, and
//! writes no control character to the terminal.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::TempDir;

const LIMIT: Duration = Duration::from_secs(60);
const ADDRESS_SPACE_KB: u64 = 4 * 1024 * 1024;

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/corpus")
}

/// Runs `sim args` in `dir` under the limits: (exit code, stderr).
fn run_limited(dir: &Path, args: &[String]) -> (Option<i32>, String) {
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "ulimit -v {ADDRESS_SPACE_KB} && exec \"$0\" \"$@\""
        ))
        .arg(env!("CARGO_BIN_EXE_sim"))
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if start.elapsed() > LIMIT {
            child.kill().unwrap();
            panic!("{args:?}: still running after {LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// One case's verdict: `None` when it behaved.
fn check(what: &str, code: Option<i32>, err: &str, want: i32, needle: &str) -> Option<String> {
    let problem = if code != Some(want) {
        format!("exit {code:?}, expected {want}")
    } else if !err.starts_with("error: ") {
        "the error does not start with `error: `".to_string()
    } else if !err.contains(needle) {
        format!("the error does not name {needle:?}")
    } else if err.lines().count() > 20 {
        "more than 20 lines of errors".to_string()
    } else if err.chars().any(|c| c.is_control() && c != '\n') {
        "a control character reaches the terminal".to_string()
    } else {
        return None;
    };
    Some(format!(
        "{what}: {problem}\n    {}",
        err.trim_end().replace('\n', "\n    ")
    ))
}

/// Runs one case in an empty directory, `placeholder` in `command`
/// replaced by `path`.
fn case(
    what: &str,
    command: &str,
    placeholder: &str,
    path: &Path,
    code: &str,
    needle: &str,
) -> Option<String> {
    let t = TempDir::new("corpus");
    let args: Vec<String> = command
        .split(' ')
        .map(|a| a.replace(placeholder, &path.to_string_lossy()))
        .collect();
    let (got, err) = run_limited(t.path(), &args);
    check(what, got, &err, code.parse().unwrap(), needle)
}

/// Lines of a corpus table: tab-separated fields, `#` comments skipped.
fn table(name: &str) -> Vec<Vec<String>> {
    std::fs::read_to_string(corpus().join(name))
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| l.split('\t').map(str::to_string).collect())
        .collect()
}

#[test]
fn every_bad_file_is_a_located_error() {
    let files = corpus().join("files");
    let cases = table("files.tsv");
    let mut failures = Vec::new();
    for row in &cases {
        let [file, code, needle, command] = &row[..] else {
            panic!("malformed line {row:?}");
        };
        let path = files.join(file);
        assert!(path.is_file(), "{}", path.display());
        failures.extend(case(file, command, "{file}", &path, code, needle));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(cases.len() >= 150, "only {} file cases", cases.len());
}

#[test]
fn every_bad_command_line_is_a_clear_error() {
    let files = corpus().join("files");
    let cases = table("flags.tsv");
    let mut failures = Vec::new();
    for row in &cases {
        let [code, needle, command] = &row[..] else {
            panic!("malformed line {row:?}");
        };
        failures.extend(case(command, command, "{corpus}", &files, code, needle));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(cases.len() >= 40, "only {} command-line cases", cases.len());
}
