//! SVG reports from the result documents of `sim run --json` and `sim
//! sweep`: charts drawn with plotters (SVG backend only, no font files at
//! build or run time), each with its data as CSV, and an `index.html` that
//! shows them all with the parameters and the numbers as tables.
//!
//! The crate does no I/O: [`render`] returns the files (names and bytes) and
//! the caller writes them (the `sim` command writes each atomically).
//! Output depends only on the document: the same document gives the same
//! bytes.
//!
//! Which charts a document gets is described in `docs/reports.md`.
//!
//! ```
//! // The result document of a run (what `sim run --json` prints), made
//! // with sim-experiments here; any such document works.
//! let source = sim_experiments::scenarios::resolve(Some("s3-breaker".as_ref()))?;
//! let (_, scenario) = sim_experiments::scenarios::load(&source, &[])?;
//! let (doc, _) = sim_experiments::runner::run(&scenario, scenario.seed, &Default::default())?;
//! let files = sim_report::render_json(&doc)?;
//! assert!(files.iter().any(|f| f.name == "index.html"));
//! assert!(files.iter().any(|f| f.name.ends_with(".svg")));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod draw;
mod explore;
mod format;
mod html;
mod run;
mod sweep;

use std::fmt;

pub use sim_results::Document;
use sim_results::run::RunDocument;

/// A report that cannot be made: wrong kind of document, missing metrics,
/// malformed fields. The message is one line and names the field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportError {
    message: String,
}

impl ReportError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        ReportError {
            message: message.into(),
        }
    }

    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for ReportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ReportError {}

/// One file of a report: a name relative to the report directory (no
/// subdirectories) and its contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputFile {
    pub name: String,
    pub bytes: Vec<u8>,
}

/// Renders a result document into report files: for each chart
/// `NAME.svg` and `NAME.csv`, then `index.html`.
pub fn render(doc: &Document) -> Result<Vec<OutputFile>, ReportError> {
    match doc {
        Document::Run(run) => render_run(run),
        Document::Sweep(sweep) => Ok(sweep::page(sweep)?.files()),
        Document::Explore(ex) => Ok(explore::page(ex)?.files()),
    }
}

/// The charts of a run document (also the `sim run --report` case).
pub fn render_run(doc: &RunDocument) -> Result<Vec<OutputFile>, ReportError> {
    let mut page = run::page(doc)?;
    page.config = serde_json::to_string_pretty(&doc.config).ok();
    Ok(page.files())
}

/// Reads a result document (JSON, as `sim run --json` prints it or a
/// sweep's results.json) and renders it; an error names the field at
/// fault.
pub fn render_json(doc: &serde_json::Value) -> Result<Vec<OutputFile>, ReportError> {
    let doc = Document::from_value(doc).map_err(ReportError::new)?;
    render(&doc)
}

/// A chart and the data it shows.
pub(crate) struct Chart {
    /// File name without extension, unique within the report.
    pub stem: String,
    pub title: String,
    pub svg: String,
    /// The data as a table (also written as CSV).
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl Chart {
    /// The data as CSV (RFC 4180 quoting, by the csv crate).
    fn csv(&self) -> String {
        let mut w = csv::WriterBuilder::new()
            .terminator(csv::Terminator::Any(b'\n'))
            .from_writer(Vec::new());
        for record in std::iter::once(&self.header).chain(&self.rows) {
            w.write_record(record)
                .expect("writing to memory cannot fail");
        }
        let bytes = w.into_inner().expect("writing to memory cannot fail");
        String::from_utf8(bytes).expect("the fields are strings")
    }
}

/// A table of numbers on the index page.
pub(crate) struct Table {
    pub title: String,
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

/// Everything on a report's index page.
pub(crate) struct Page {
    pub title: String,
    pub description: String,
    /// (name, value) lines: scenario, seed, parameters...
    pub facts: Vec<(String, String)>,
    pub charts: Vec<Chart>,
    pub tables: Vec<Table>,
    /// The scenario as run (the document's `config`), pretty JSON; set by
    /// [`render`] for every kind of document.
    pub config: Option<String>,
}

impl Page {
    fn files(mut self) -> Vec<OutputFile> {
        // Unique stems, in chart order.
        let mut seen: Vec<String> = Vec::new();
        for c in &mut self.charts {
            let base = c.stem.clone();
            let mut k = 2;
            while seen.contains(&c.stem) || c.stem == "index" {
                c.stem = format!("{base}-{k}");
                k += 1;
            }
            seen.push(c.stem.clone());
        }
        let mut files = Vec::new();
        for c in &self.charts {
            files.push(OutputFile {
                name: format!("{}.svg", c.stem),
                bytes: c.svg.clone().into_bytes(),
            });
            files.push(OutputFile {
                name: format!("{}.csv", c.stem),
                bytes: c.csv().into_bytes(),
            });
        }
        files.push(OutputFile {
            name: "index.html".into(),
            bytes: html::index(&self).into_bytes(),
        });
        files
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chart_data_is_rfc4180_csv() {
        let chart = Chart {
            stem: "x".into(),
            title: "x".into(),
            svg: String::new(),
            header: vec!["a".into(), "b,c".into()],
            rows: vec![vec!["d\"e".into(), "1.5".into()]],
        };
        assert_eq!(chart.csv(), "a,\"b,c\"\n\"d\"\"e\",1.5\n");
    }
}
