//! Validation errors that name the offending field by its path.

use std::fmt;

/// An invalid value, located by its field path in the input
/// (`clients[0].retry.backoff.cap`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// Where, as a dotted path (`clients[0].retry.max_attempts`).
    pub path: String,
    /// What is wrong with it.
    pub message: String,
}

impl FieldError {
    /// An error at `path`.
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError {
            path: path.into(),
            message: message.into(),
        }
    }

    /// Places this error under `prefix`: `mean` under `service_time` becomes
    /// `service_time.mean`; an index (`[3]`) is joined without a dot.
    pub fn under(mut self, prefix: &str) -> Self {
        if prefix.is_empty() {
            return self;
        }
        self.path = if self.path.is_empty() {
            prefix.to_string()
        } else if self.path.starts_with('[') {
            format!("{prefix}{}", self.path)
        } else {
            format!("{prefix}.{}", self.path)
        };
        self
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

impl std::error::Error for FieldError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_join() {
        let e = FieldError::new("mean", "must be > 0")
            .under("service_time")
            .under("services[2]");
        assert_eq!(e.to_string(), "services[2].service_time.mean: must be > 0");
        let e = FieldError::new("[1]", "bad").under("samples");
        assert_eq!(e.path, "samples[1]");
        let e = FieldError::new("", "bad").under("x");
        assert_eq!(e.path, "x");
    }
}
