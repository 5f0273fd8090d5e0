//! `sim report` and `sim run --report`: SVG charts (see the sim-report crate).

use std::path::Path;

use serde_json::Value;

use crate::error::{CliError, Result};

pub fn render_run(_doc: &Value, dir: &Path) -> Result<()> {
    Err(CliError::input(format!(
        "{}: reports are not available in this build yet",
        dir.display()
    )))
}
