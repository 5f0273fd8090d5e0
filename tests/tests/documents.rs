//! The result document of a run is a Rust type: every shipped experiment's
//! `sim run --json` document, with one replication and with several,
//! parses into `sim_results::run::RunDocument` and writes back the same
//! bytes. So readers can use the type, and the type is the contract.

use sim_results::run::RunDocument;

fn pretty(v: &impl serde::Serialize) -> String {
    serde_json::to_string_pretty(v).unwrap()
}

#[test]
fn every_experiment_round_trips_through_the_run_document_type() {
    let mut checked = 0;
    for entry in std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../experiments")).unwrap()
    {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !name.ends_with(".ron") || name.ends_with(".sweep.ron") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let file = sim_models::scenario::parse(&text, &path).unwrap();
        let mut scenario = sim_models::scenario::check(&file, &path).unwrap();
        // Shorter runs keep the test quick; the shape is what is checked.
        for replications in [1, 3] {
            scenario.replications = replications;
            let (doc, _) =
                sim_experiments::runner::run(&scenario, scenario.seed, &Default::default())
                    .unwrap();
            let written = pretty(&doc);
            let typed: RunDocument = serde_json::from_str(&written)
                .unwrap_or_else(|e| panic!("{name} ({replications} replications): {e}"));
            assert_eq!(
                pretty(&typed),
                written,
                "{name} ({replications} replications) does not write back the same"
            );
            if replications == 3 {
                assert!(
                    typed.ci95.is_some(),
                    "{name}: intervals with 3 replications"
                );
                // Means are floats; the type still reads them.
                let c = &typed.metrics.clients.0[0].1;
                assert!(c.offered.get() > 0.0, "{name}");
            }
            checked += 1;
        }
    }
    assert!(checked >= 26, "checked only {checked} documents");
}

/// Every committed sweep result (`reports/*/results.json` of kind
/// "sweep") parses into `SweepDocument` and writes back the same bytes;
/// every committed baseline likewise into `Baseline`.
#[test]
fn committed_sweeps_and_baselines_round_trip_through_their_types() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let mut sweeps = 0;
    for entry in std::fs::read_dir(format!("{root}/reports")).unwrap() {
        let path = entry.unwrap().path().join("results.json");
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        if v["kind"] != "sweep" {
            continue;
        }
        let typed: sim_results::sweep::SweepDocument =
            sim_results::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(format!("{}\n", pretty(&typed)), text, "{}", path.display());
        assert!(!typed.rows.is_empty());
        sweeps += 1;
    }
    assert!(sweeps >= 5, "checked only {sweeps} sweeps");
    let mut baselines = 0;
    for entry in std::fs::read_dir(format!("{root}/experiments/baselines")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let typed: sim_results::baseline::Baseline =
            sim_results::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(format!("{}\n", pretty(&typed)), text, "{}", path.display());
        assert!(!typed.metrics.is_empty());
        baselines += 1;
    }
    assert!(baselines >= 9, "checked only {baselines} baselines");
}

#[test]
fn a_malformed_document_is_an_error_naming_its_field() {
    let e = sim_results::from_str::<sim_results::baseline::Baseline>(
        r#"{"kind": "baseline", "scenario": "x", "seed": 1, "replications": 10, "overrides": [],
            "metrics": {"clients.a.ok": {"value": 1, "ci_half_width": null, "tolerance": {"kind": "wide", "value": 1}}}}"#,
    )
    .unwrap_err();
    assert!(
        e.starts_with("metrics.clients.a.ok.tolerance.kind: unknown variant `wide`"),
        "{e}"
    );
}
