//! A sweep killed with SIGKILL at arbitrary points resumes to the same
//! bytes as an uninterrupted run, and no temporary file survives the
//! resumed run; a directory another process is writing is refused.

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::{TempDir, sim, stderr};

const SWEEP: &str = "study2-budgets";

/// Every file name under `dir`, recursively.
fn names(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            out.extend(names(&e.path()));
        } else {
            out.push(e.file_name().to_string_lossy().into_owned());
        }
    }
    out
}

#[test]
fn killed_sweeps_resume_to_the_same_bytes_without_temp_files() {
    let t = TempDir::new("kill");
    let full = sim(
        t.path(),
        &["sweep", SWEEP, "--out", "full", "--threads", "2"],
    );
    assert!(full.status.success(), "{}", stderr(&full));
    let want = std::fs::read(t.join("full/results.json")).unwrap();
    let want_csv = std::fs::read(t.join("full/results.csv")).unwrap();

    // Kill points from a fixed linear congruential sequence: arbitrary,
    // and the same on every run of the test.
    let mut x: u64 = 0x5eed;
    let mut killed_mid_run = 0;
    for k in 0..5 {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let delay = Duration::from_millis(20 + (x >> 33) % 900);
        let out = format!("run-{k}");
        let mut child = Command::new(env!("CARGO_BIN_EXE_sim"))
            .args(["sweep", SWEEP, "--out", &out, "--threads", "2"])
            .current_dir(t.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(delay);
        if child.try_wait().unwrap().is_none() {
            killed_mid_run += 1;
        }
        child.kill().unwrap(); // SIGKILL on Unix
        child.wait().unwrap();
        // Resume; a second kill point inside the resumed run is the next k.
        let resumed = sim(t.path(), &["sweep", SWEEP, "--out", &out, "--threads", "2"]);
        assert!(resumed.status.success(), "{k}: {}", stderr(&resumed));
        assert_eq!(
            std::fs::read(t.join(&format!("{out}/results.json"))).unwrap(),
            want,
            "kill point {k} ({delay:?}): results.json differs"
        );
        assert_eq!(
            std::fs::read(t.join(&format!("{out}/results.csv"))).unwrap(),
            want_csv
        );
        let temps: Vec<String> = names(&t.join(&out))
            .into_iter()
            .filter(|n| n.contains(".tmp-"))
            .collect();
        assert!(temps.is_empty(), "kill point {k}: left {temps:?}");
    }
    assert!(
        killed_mid_run >= 2,
        "only {killed_mid_run} kills hit a running sweep"
    );
}

#[test]
fn stale_temp_files_are_removed_on_resume() {
    let t = TempDir::new("stale");
    let first = sim(t.path(), &["sweep", "study6-breaker-s1", "--out", "o"]);
    assert!(first.status.success(), "{}", stderr(&first));
    // What a process killed mid-write leaves: temp files in the directory
    // and among the cells.
    std::fs::write(t.join("o/.results.json.tmp-abc123"), b"partial").unwrap();
    std::fs::write(t.join("o/cells/.cell-000003.json.tmp-XyZ789"), b"{\"ce").unwrap();
    let again = sim(t.path(), &["sweep", "study6-breaker-s1", "--out", "o"]);
    assert!(again.status.success(), "{}", stderr(&again));
    let temps: Vec<String> = names(&t.join("o"))
        .into_iter()
        .filter(|n| n.contains(".tmp-"))
        .collect();
    assert!(temps.is_empty(), "left {temps:?}");
}

#[test]
fn a_directory_another_process_writes_is_refused() {
    let t = TempDir::new("locked");
    let first = sim(t.path(), &["sweep", "study6-breaker-s1", "--out", "o"]);
    assert!(first.status.success(), "{}", stderr(&first));
    let held = std::fs::File::open(t.join("o")).unwrap();
    held.try_lock().unwrap();
    let o = sim(t.path(), &["sweep", "study6-breaker-s1", "--out", "o"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("another sim process is writing this directory"),
        "{}",
        stderr(&o)
    );
    drop(held);
    let o = sim(t.path(), &["sweep", "study6-breaker-s1", "--out", "o"]);
    assert!(o.status.success(), "{}", stderr(&o));
}

/// Ctrl-C (SIGINT) during a sweep says how to resume, exits 130, and the
/// resumed sweep gives the same bytes; `--quiet` prints nothing.
#[test]
fn an_interrupted_sweep_says_how_to_resume() {
    let t = TempDir::new("sigint");
    let child = Command::new(env!("CARGO_BIN_EXE_sim"))
        .args(["sweep", SWEEP, "--out", "o", "--threads", "2"])
        .current_dir(t.path())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let sent = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    if out.status.code() == Some(0) {
        return; // finished before the signal: nothing to check on this machine
    }
    assert_eq!(out.status.code(), Some(130), "{err}");
    assert!(
        err.contains("interrupted: the finished cells are kept in o; run `")
            && err.contains(&format!(
                "sweep {SWEEP} --out o --threads 2` again to resume"
            )),
        "{err}"
    );
    let resumed = sim(t.path(), &["sweep", SWEEP, "--out", "o", "--quiet"]);
    assert!(resumed.status.success(), "{}", stderr(&resumed));
    assert!(resumed.stdout.is_empty() && resumed.stderr.is_empty());
    let full = sim(t.path(), &["sweep", SWEEP, "--out", "full", "--quiet"]);
    assert!(full.status.success());
    assert_eq!(
        std::fs::read(t.join("o/results.json")).unwrap(),
        std::fs::read(t.join("full/results.json")).unwrap()
    );
}
