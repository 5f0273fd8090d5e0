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
