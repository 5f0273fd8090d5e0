//! Finding scenarios: a path, or the name of a shipped experiment.

use std::path::{Path, PathBuf};

use sim_models::scenario::{self, Scenario, ScenarioFile};

use crate::error::{Error, Result};

include!(concat!(env!("OUT_DIR"), "/embedded.rs"));

/// The scenario `sim run` runs without arguments.
pub const DEFAULT_SCENARIO: &str = "s1.ron";

/// A scenario's text and the path it is known by (relative paths inside it
/// resolve against that path's directory).
pub struct Source {
    pub path: PathBuf,
    pub text: String,
    /// Embedded in the binary (a shipped experiment), not read from disk.
    pub embedded: bool,
}

/// Resolves `arg`: an existing file, else a shipped experiment by file name
/// or by name without `.ron`; `None` gives the default scenario.
pub fn resolve(arg: Option<&Path>) -> Result<Source> {
    let Some(arg) = arg else {
        return embedded(DEFAULT_SCENARIO)
            .ok_or_else(|| Error::runtime("the default scenario is not embedded in this build"));
    };
    if arg == Path::new("-") {
        return from_stdin();
    }
    if arg.exists() {
        return Ok(Source {
            path: arg.to_path_buf(),
            text: crate::io::read_text(arg)?,
            embedded: false,
        });
    }
    let name = arg.to_string_lossy();
    let bare = !name.contains('/') && !name.contains('\\');
    if bare {
        for candidate in [
            name.to_string(),
            format!("{name}.ron"),
            format!("{name}.sweep.ron"),
        ] {
            if let Some(s) = embedded(&candidate) {
                return Ok(s);
            }
        }
    }
    Err(Error::input(format!(
        "{}: no such file{}",
        arg.display(),
        if bare {
            " (nor a shipped experiment; `sim list` shows them)"
        } else {
            ""
        }
    )))
}

/// The name a scenario read from standard input goes by in messages;
/// relative paths inside it resolve against the current directory.
pub const STDIN_NAME: &str = "<stdin>";

/// A scenario from standard input (`sim run -`), size-limited like a file.
fn from_stdin() -> Result<Source> {
    use sim_models::scenario::limits;
    let text = limits::read_all_bounded(std::io::stdin().lock(), limits::MAX_FILE_BYTES)
        .and_then(limits::text)
        .map_err(|e| Error::input(format!("{STDIN_NAME}: cannot read: {e}")))?;
    Ok(Source {
        path: PathBuf::from(STDIN_NAME),
        text,
        embedded: false,
    })
}

/// Like [`resolve`], for `sim sweep`: a bare name is the shipped sweep
/// `NAME.sweep.ron` first (a study often ships `NAME.ron` too).
pub fn resolve_sweep(arg: &Path) -> Result<Source> {
    let name = arg.to_string_lossy();
    if !arg.exists()
        && !name.contains('/')
        && !name.contains('\\')
        && let Some(s) = embedded(&format!("{name}.sweep.ron"))
    {
        return Ok(s);
    }
    resolve(Some(arg))
}

/// A shipped experiment by file name.
pub fn embedded(file_name: &str) -> Option<Source> {
    EMBEDDED
        .iter()
        .find(|(name, _, _)| *name == file_name)
        .map(|(_, path, text)| Source {
            path: PathBuf::from(path),
            text: text.to_string(),
            embedded: true,
        })
}

/// Parses, overrides and validates.
pub fn load(source: &Source, overrides: &[String]) -> Result<(ScenarioFile, Scenario)> {
    let mut file = scenario::parse(&source.text, &source.path)?;
    scenario::apply_overrides(&mut file, overrides)?;
    let validated = scenario::check(&file, &source.path)?;
    Ok((file, validated))
}

/// Shipped experiments: (file name, description).
pub fn shipped() -> Vec<(&'static str, String)> {
    EMBEDDED
        .iter()
        .map(|(name, _, text)| (*name, describe(text)))
        .collect()
}

/// The `description` field of a scenario or sweep file, or its first
/// comment line.
fn describe(text: &str) -> String {
    let from_field = text.lines().find_map(|l| {
        let l = l.trim();
        let rest = l.strip_prefix("description:")?;
        let rest = rest.trim().trim_end_matches(',');
        rest.strip_prefix('"')?
            .strip_suffix('"')
            .map(str::to_string)
    });
    from_field
        .or_else(|| {
            text.lines()
                .find_map(|l| l.trim().strip_prefix("//").map(|c| c.trim().to_string()))
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sim_sweep_prefers_the_shipped_sweep_of_a_name() {
        // study2-budgets ships as both a scenario and a sweep.
        assert!(embedded("study2-budgets.ron").is_some());
        let s = resolve_sweep(Path::new("study2-budgets")).unwrap();
        assert!(
            s.path
                .to_string_lossy()
                .ends_with("study2-budgets.sweep.ron")
        );
        assert!(s.embedded);
        let s = resolve(Some(Path::new("study2-budgets"))).unwrap();
        assert!(s.path.to_string_lossy().ends_with("study2-budgets.ron"));
        // A bare name with no sweep falls back to the scenario.
        let s = resolve_sweep(Path::new("s1-rpc")).unwrap();
        assert!(s.path.to_string_lossy().ends_with("s1-rpc.ron"));
    }
}
