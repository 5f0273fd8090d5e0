//! Reports must build and render on a machine without fonts or
//! fontconfig: plotters is used without its `ttf` feature, so nothing in
//! the build links a font library, and the SVGs only name the generic
//! `sans-serif` family, which every browser resolves.

#[test]
fn no_font_library_in_the_build() {
    let lock = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.lock"))
        .expect("the workspace Cargo.lock");
    for banned in [
        "font-kit",
        "yeslogic-fontconfig-sys",
        "servo-fontconfig",
        "servo-fontconfig-sys",
        "freetype-sys",
        "freetype-rs",
        "ttf-parser",
        "ab_glyph",
    ] {
        assert!(
            !lock.contains(&format!("name = \"{banned}\"")),
            "{banned} is in Cargo.lock: a plotters font feature is enabled"
        );
    }
}

#[test]
fn svgs_name_only_the_generic_font_family() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/run-s1.json");
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    for f in sim_report::render_json(&doc).unwrap() {
        if !f.name.ends_with(".svg") {
            continue;
        }
        let svg = String::from_utf8(f.bytes).unwrap();
        let families: Vec<&str> = svg
            .split("font-family=\"")
            .skip(1)
            .map(|rest| rest.split('"').next().unwrap_or(""))
            .collect();
        assert!(!families.is_empty(), "{}", f.name);
        assert!(families.iter().all(|f| *f == "sans-serif"), "{families:?}");
        assert!(!svg.contains("@font-face") && !svg.contains("url("));
    }
}
