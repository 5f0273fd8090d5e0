//! Outputs never replace what they should not: a symbolic link stays a link
//! (its target is written), a FIFO stays a FIFO (written as it is).

mod common;

use std::os::unix::fs::FileTypeExt;

use common::*;

#[test]
fn a_link_is_followed_and_kept() {
    let t = TempDir::new("out-link");
    std::fs::copy(s1_path(), t.join("s1-rpc.ron")).unwrap();
    std::fs::create_dir(t.join("real")).unwrap();
    std::os::unix::fs::symlink("real/trace.jsonl", t.join("link.jsonl")).unwrap();
    std::os::unix::fs::symlink("link.jsonl", t.join("link2.jsonl")).unwrap();
    ok(sim(
        t.path(),
        &["run", "s1-rpc.ron", "--trace", "link2.jsonl"],
    ));
    for link in ["link.jsonl", "link2.jsonl"] {
        let m = std::fs::symlink_metadata(t.join(link)).unwrap();
        assert!(m.file_type().is_symlink(), "{link} is still a link");
    }
    let trace = std::fs::read_to_string(t.join("real/trace.jsonl")).unwrap();
    assert!(trace.starts_with("{\"t_ns\":0,"), "{}", &trace[..40]);
}

#[test]
fn a_fifo_is_written_not_replaced() {
    let t = TempDir::new("out-fifo");
    std::fs::copy(s1_path(), t.join("s1-rpc.ron")).unwrap();
    let fifo = t.join("trace.fifo");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    if !made.is_ok_and(|s| s.success()) {
        eprintln!("mkfifo is not available; skipped");
        return;
    }
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read_to_string(fifo).unwrap())
    };
    ok(sim(
        t.path(),
        &["run", "s1-rpc.ron", "--trace", "trace.fifo"],
    ));
    let trace = reader.join().unwrap();
    assert!(
        trace.starts_with("{\"t_ns\":0,"),
        "{}",
        &trace[..40.min(trace.len())]
    );
    let m = std::fs::symlink_metadata(&fifo).unwrap();
    assert!(m.file_type().is_fifo(), "still a FIFO");
}

#[test]
fn control_characters_in_a_description_are_refused() {
    let t = TempDir::new("out-control");
    // A raw ESC byte in the string, as a careless copy and paste leaves it.
    let text = "(name: \"esc\", description: \"clear \u{1b}[2J screen\", duration: \"1s\",
        services: [(name: \"s\", service_time: Constant(\"1ms\"))],
        clients: [(name: \"c\", workload: Poisson(rate_per_s: 10), target: \"s\")])";
    std::fs::write(t.join("esc.ron"), text).unwrap();
    input_error(
        sim(t.path(), &["run", "esc.ron"]),
        "description: holds the control character",
    );
}

/// The trace is written as events fire: a run stopped by its event limit
/// still leaves the trace up to the limit (one JSON line per event).
#[test]
fn a_run_stopped_early_keeps_its_trace() {
    let t = TempDir::new("trace-early");
    let o = sim(
        t.path(),
        &["run", "s1", "--trace", "t.jsonl", "--max-events", "1000"],
    );
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(stderr(&o).contains("stopped after 1000 events"));
    let text = std::fs::read_to_string(t.join("t.jsonl")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines.len() >= 1000, "{} lines", lines.len());
    for l in lines {
        serde_json::from_str::<serde_json::Value>(l).unwrap();
    }
}
