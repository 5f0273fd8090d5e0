//! Scenario files: RON in, a validated [`Scenario`] out.
//!
//! Loading is two steps. [`parse`] turns text into a [`ScenarioFile`]
//! (syntax errors and unknown fields come back with line and column), then
//! [`validate`] turns that into a [`Scenario`] (invalid values come back
//! with their field path, e.g. `clients[0].retry.backoff.cap: must be >=
//! base (50ms), got 10ms`). Overrides (`--set path=value`) apply between the
//! two steps, on the parsed file.

// One module per component: its part of the file format, its validated
// form and its validation.
mod bus;
mod client;
mod fault;
mod fragment;
pub mod limits;
mod lock;
mod log;
pub mod model;
mod service;
pub mod spec;
mod validation;

use std::fmt;
use std::path::{Path, PathBuf};

pub use bus::*;
pub use client::*;
pub use fault::*;
pub use fragment::{comment_len, parse_fragment};
pub use lock::*;
pub use log::*;
pub use model::*;
pub use service::*;
pub use spec::*;
pub use validation::{Errors, control_char, validate};

use sim_core::FieldError;

/// The RON dialect of scenario and sweep files: `Some(x)` may be written
/// `x`, and a newtype variant holding a struct needs no double parentheses.
pub fn ron_options() -> ron::Options {
    ron::Options::default()
        .with_default_extension(ron::extensions::Extensions::IMPLICIT_SOME)
        .with_default_extension(ron::extensions::Extensions::UNWRAP_VARIANT_NEWTYPES)
}

/// Why a scenario could not be loaded. Every variant names the file.
#[derive(Debug, Clone, PartialEq)]
pub enum ScenarioError {
    /// The file could not be read.
    Io {
        /// The file.
        file: PathBuf,
        /// Why it could not be read.
        message: String,
    },
    /// RON syntax, an unknown field, a value of the wrong type.
    Syntax {
        /// The file.
        file: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        col: usize,
        /// What is wrong.
        message: String,
    },
    /// A bad `--set path=value`.
    Override {
        /// The `PATH=VALUE` as given.
        assignment: String,
        /// What is wrong with it.
        message: String,
    },
    /// Values that parse but make no sense, with their field paths.
    Invalid {
        /// The file.
        file: PathBuf,
        /// Every invalid value, with its path.
        errors: Vec<FieldError>,
    },
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ScenarioError::Io { file, message } => write!(f, "{}: {message}", file.display()),
            ScenarioError::Syntax {
                file,
                line,
                col,
                message,
            } => write!(f, "{}:{line}:{col}: {message}", file.display()),
            ScenarioError::Override {
                assignment,
                message,
            } => write!(f, "--set {assignment}: {message}"),
            ScenarioError::Invalid { file, errors } => {
                for (i, e) in errors.iter().enumerate() {
                    if i > 0 {
                        writeln!(f)?;
                    }
                    write!(f, "{}: {e}", file.display())?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for ScenarioError {}

/// Parses scenario text. `file` is only used to name errors.
pub fn parse(text: &str, file: &Path) -> Result<ScenarioFile, ScenarioError> {
    ron_options()
        .from_str::<ScenarioFile>(text)
        .map_err(|e| ScenarioError::Syntax {
            file: file.to_path_buf(),
            line: e.span.start.line,
            col: e.span.start.col,
            message: e.code.to_string(),
        })
}

/// Reads and parses a scenario file.
pub fn read(file: &Path) -> Result<ScenarioFile, ScenarioError> {
    let text =
        limits::read_text_bounded(file, limits::MAX_FILE_BYTES).map_err(|e| ScenarioError::Io {
            file: file.to_path_buf(),
            message: match e.kind() {
                std::io::ErrorKind::NotFound => "no such file".to_string(),
                _ => format!("cannot read: {e}"),
            },
        })?;
    parse(&text, file)
}

/// Validates a parsed file; relative paths inside it resolve against the
/// directory of `file`.
pub fn check(parsed: &ScenarioFile, file: &Path) -> Result<Scenario, ScenarioError> {
    let base = file.parent().unwrap_or(Path::new("."));
    validate(parsed, base).map_err(|errors| ScenarioError::Invalid {
        file: file.to_path_buf(),
        errors,
    })
}

/// Reads, overrides and validates a scenario.
pub fn load(file: &Path, overrides: &[String]) -> Result<Scenario, ScenarioError> {
    let mut parsed = read(file)?;
    apply_overrides(&mut parsed, overrides)?;
    check(&parsed, file)
}

/// Applies `path=value` assignments (`clients[0].retry.max_attempts=5`,
/// `services[0].service_time=Exponential(mean: "10ms")`) in order.
pub fn apply_overrides(file: &mut ScenarioFile, overrides: &[String]) -> Result<(), ScenarioError> {
    for assignment in overrides {
        let (path, value) = assignment
            .split_once('=')
            .ok_or_else(|| ScenarioError::Override {
                assignment: assignment.clone(),
                message: "expected PATH=VALUE, e.g. clients[0].retry.max_attempts=5".into(),
            })?;
        let value = parse_fragment(value.trim()).map_err(|m| ScenarioError::Override {
            assignment: assignment.clone(),
            message: format!("value is not RON: {m}"),
        })?;
        set_path(file, path.trim(), value).map_err(|message| ScenarioError::Override {
            assignment: assignment.clone(),
            message,
        })?;
    }
    Ok(())
}

/// Sets the field at `path` of a parsed scenario to `value` (serde's JSON
/// form), with full type checking of the result.
pub fn set_path(
    file: &mut ScenarioFile,
    path: &str,
    value: serde_json::Value,
) -> Result<(), String> {
    let mut tree = serde_json::to_value(&*file).map_err(|e| e.to_string())?;
    let segments = parse_path(path)?;
    let slot = locate(&mut tree, &segments, path)?;
    *slot = value;
    *file = serde_json::from_value(tree).map_err(|e| format!("{e}"))?;
    Ok(())
}

/// The value at `path` of a parsed scenario, in serde's JSON form.
pub fn get_path(file: &ScenarioFile, path: &str) -> Result<serde_json::Value, String> {
    let mut tree = serde_json::to_value(file).map_err(|e| e.to_string())?;
    let segments = parse_path(path)?;
    locate(&mut tree, &segments, path).map(|v| v.clone())
}

#[derive(Debug, PartialEq)]
enum Segment {
    Field(String),
    Index(usize),
}

fn parse_path(path: &str) -> Result<Vec<Segment>, String> {
    let mut out = Vec::new();
    for part in path.split('.') {
        let (name, mut rest) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        if name.is_empty() && (out.is_empty() || rest.is_empty()) {
            return Err(format!("bad path {path:?}: empty field name"));
        }
        if !name.is_empty() {
            if !name.chars().all(|c| c.is_alphanumeric() || c == '_') {
                return Err(format!("bad path {path:?}: {name:?} is not a field name"));
            }
            out.push(Segment::Field(name.to_string()));
        }
        while let Some(stripped) = rest.strip_prefix('[') {
            let close = stripped
                .find(']')
                .ok_or_else(|| format!("bad path {path:?}: missing `]`"))?;
            let idx = stripped[..close].parse::<usize>().map_err(|_| {
                format!(
                    "bad path {path:?}: {:?} is not an index",
                    &stripped[..close]
                )
            })?;
            out.push(Segment::Index(idx));
            rest = &stripped[close + 1..];
        }
        if !rest.is_empty() {
            return Err(format!("bad path {path:?}: unexpected {rest:?}"));
        }
    }
    Ok(out)
}

fn locate<'a>(
    tree: &'a mut serde_json::Value,
    segments: &[Segment],
    path: &str,
) -> Result<&'a mut serde_json::Value, String> {
    let mut node = tree;
    let mut walked = String::new();
    for seg in segments {
        node = match seg {
            Segment::Field(name) => {
                let here = if walked.is_empty() {
                    "the scenario".to_string()
                } else {
                    walked.clone()
                };
                match node {
                    serde_json::Value::Object(map) => {
                        // An enum variant is one more level: `backoff.base` reaches
                        // into `{"FullJitter": {"base": ..}}`.
                        let wrapped = !map.contains_key(name)
                            && map.len() == 1
                            && matches!(map.values().next(), Some(serde_json::Value::Object(_)));
                        let map = if wrapped {
                            match map.values_mut().next() {
                                Some(serde_json::Value::Object(inner)) => inner,
                                _ => unreachable!("checked above"),
                            }
                        } else {
                            map
                        };
                        let known: Vec<String> = map.keys().cloned().collect();
                        map.get_mut(name).ok_or_else(|| {
                            format!(
                                "{here} has no field {name:?} (fields: {})",
                                known.join(", ")
                            )
                        })?
                    }
                    serde_json::Value::Null => {
                        return Err(format!(
                            "{here} is not set (None), so it has no {name:?}; set the whole value, e.g. --set '{here}=(...)'"
                        ));
                    }
                    _ => return Err(format!("{here} has no fields (cannot reach {path:?})")),
                }
            }
            Segment::Index(i) => match node {
                serde_json::Value::Array(items) => {
                    let len = items.len();
                    items.get_mut(*i).ok_or_else(|| {
                        format!("{walked}[{i}] is out of range: {walked} has {len} entries")
                    })?
                }
                _ => {
                    return Err(format!(
                        "{walked} is not a list, cannot index it with [{i}]"
                    ));
                }
            },
        };
        match seg {
            Segment::Field(name) if walked.is_empty() => walked = name.clone(),
            Segment::Field(name) => walked = format!("{walked}.{name}"),
            Segment::Index(i) => walked = format!("{walked}[{i}]"),
        }
    }
    Ok(node)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"(
        name: "t",
        duration: "10s",
        services: [(name: "api", workers: 2, service_time: Exponential(mean: "10ms"))],
        clients: [(
            name: "c",
            workload: Poisson(rate_per_s: 50),
            target: "api",
            timeout: "100ms",
            retry: (max_attempts: 3, backoff: FullJitter(base: "10ms", cap: "1s")),
        )],
    )"#;

    fn file() -> ScenarioFile {
        parse(MINIMAL, Path::new("t.ron")).unwrap()
    }

    #[test]
    fn minimal_scenario_validates() {
        let s = check(&file(), Path::new("t.ron")).unwrap();
        let ClientTarget::Service(call) = &s.clients[0].target else {
            panic!("calls a service");
        };
        let names: Vec<String> = call.layers.iter().map(|l| l.name()).collect();
        assert_eq!(names, ["Retry", "Timeout(100ms)"]);
    }

    #[test]
    fn syntax_errors_carry_line_and_column() {
        let err = parse("(\n  name: \"t\",\n  bogus: 1,\n)", Path::new("x.ron")).unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("x.ron:3:"), "{msg}");
        assert!(msg.contains("bogus"), "{msg}");
    }

    #[test]
    fn overrides_reach_nested_fields_and_variants() {
        let mut f = file();
        apply_overrides(
            &mut f,
            &[
                "clients[0].retry.max_attempts=5".into(),
                "clients[0].retry.backoff.cap=\"2s\"".into(),
                "services[0].service_time=Constant(\"3ms\")".into(),
                "clients[0].timeout=None".into(),
            ],
        )
        .unwrap();
        let r = f.clients[0].retry.as_ref().unwrap();
        assert_eq!(r.max_attempts, Some(5));
        assert_eq!(
            get_path(&f, "clients[0].retry.backoff").unwrap(),
            serde_json::json!({"FullJitter": {"base": "10ms", "cap": "2s", "multiplier": 2.0}})
        );
        assert_eq!(f.clients[0].timeout, None);
    }

    #[test]
    fn bad_overrides_explain_themselves() {
        let err = |s: &str| {
            let mut f = file();
            apply_overrides(&mut f, &[s.to_string()])
                .unwrap_err()
                .to_string()
        };
        assert!(err("clients[3].timeout=\"1s\"").contains("out of range"));
        assert!(err("clients[0].retyr.max_attempts=1").contains("no field \"retyr\""));
        assert!(err("clients[0].retry.max_attempts=\"many\"").contains("invalid type"));
        assert!(err("clients[0].breaker.open_for=\"1s\"").contains("not set"));
        assert!(err("clients[0]timeout").contains("PATH=VALUE"));
        assert!(err("clients[x].timeout=1").contains("not an index"));
    }

    #[test]
    fn invalid_values_are_reported_with_paths() {
        let mut f = file();
        apply_overrides(&mut f, &["clients[0].retry.backoff.cap=\"1ms\"".into()]).unwrap();
        let msg = check(&f, Path::new("t.ron")).unwrap_err().to_string();
        assert_eq!(
            msg,
            "t.ron: clients[0].retry.backoff.cap: must be >= base (10ms), got 1ms"
        );
    }
}
