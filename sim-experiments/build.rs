//! Embeds the shipped experiments (`experiments/*.ron`) into the binary, so
//! `sim run` has its default scenario and `sim list` / `sim run NAME` work
//! from anywhere.

use std::fmt::Write;
use std::path::Path;

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../experiments");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "ron"))
                .collect()
        })
        .unwrap_or_default();
    entries.sort();
    let mut out =
        String::from("/// (file name, shipped path, contents) of each shipped experiment.\n");
    out.push_str("pub const EMBEDDED: &[(&str, &str, &str)] = &[\n");
    for p in &entries {
        println!("cargo:rerun-if-changed={}", p.display());
        let abs = p.canonicalize().unwrap_or(p.clone());
        let name = p.file_name().unwrap().to_string_lossy();
        // Messages name a shipped experiment by where it ships
        // (`experiments/s1.ron`), not by the build machine's directory.
        let shipped = format!("experiments/{name}");
        writeln!(
            out,
            "    ({name:?}, {shipped:?}, include_str!({abs:?})),",
            abs = abs.display().to_string()
        )
        .unwrap();
    }
    out.push_str("];\n");
    let dest = Path::new(&std::env::var("OUT_DIR").unwrap()).join("embedded.rs");
    std::fs::write(dest, out).unwrap();
}
