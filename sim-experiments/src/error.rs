//! What can go wrong in an experiment, by whose fault.

/// Whose fault an error is: the input's (a file, a value, a flag) or the
/// run's (the simulation failed, an output could not be written).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// Bad input: a file, a scenario, a sweep, a shard spec, a tolerance.
    Input,
    /// The simulation failed (zero-delay storm, event limit) or an output
    /// could not be written.
    Runtime,
}

/// An error with a message that names the file, cell or field it is about.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Error {
    pub kind: ErrorKind,
    pub message: String,
}

impl Error {
    /// Bad input.
    pub fn input(message: impl Into<String>) -> Self {
        Error {
            kind: ErrorKind::Input,
            message: message.into(),
        }
    }

    /// A failed run or write.
    pub fn runtime(message: impl Into<String>) -> Self {
        Error {
            kind: ErrorKind::Runtime,
            message: message.into(),
        }
    }

    /// The same error with `context: ` before its message.
    pub fn context(self, context: impl std::fmt::Display) -> Self {
        Error {
            kind: self.kind,
            message: format!("{context}: {}", self.message),
        }
    }
}

impl From<sim_models::scenario::ScenarioError> for Error {
    fn from(e: sim_models::scenario::ScenarioError) -> Self {
        Error::input(e.to_string())
    }
}

impl From<sim_models::world::RunError> for Error {
    fn from(e: sim_models::world::RunError) -> Self {
        Error::runtime(format!("simulation failed: {e}"))
    }
}

/// Results of the experiment layer.
pub type Result<T> = std::result::Result<T, Error>;
