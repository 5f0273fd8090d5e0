//! The report's `index.html`: static, no script, no network; every chart
//! with a link to its CSV and its numbers in a table.

use crate::format::html;
use crate::{Page, Table};

/// Charts with more data rows than this link to their CSV instead of
/// inlining the table.
const INLINE_ROWS: usize = 150;

const STYLE: &str = "
body { font-family: sans-serif; margin: 0; color: #222; background: #fafafa; }
main { max-width: 1400px; margin: 0 auto; padding: 16px 24px 48px; }
h1 { font-size: 1.6em; margin: 0.4em 0; }
h2 { font-size: 1.25em; margin-top: 1.6em; border-bottom: 1px solid #ddd; }
p.desc { color: #444; }
figure { margin: 24px 0; padding: 12px; background: #fff; border: 1px solid #ddd; }
figure img { max-width: 100%; height: auto; display: block; }
figcaption { margin-top: 6px; font-size: 0.95em; }
div.scroll { overflow-x: auto; max-width: 100%; }
table { border-collapse: collapse; font-size: 0.9em; margin: 8px 0; background: #fff; }
th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: right; white-space: nowrap; }
th:first-child, td:first-child { text-align: left; }
th { background: #f0f0f0; }
table.facts td, table.facts th { text-align: left; }
details { margin-top: 6px; }
nav ul { columns: 2; }
";

/// A table in a box that scrolls sideways, so a wide one (a column per
/// client or service) never pushes the page wider than the window.
fn table_html(header: &[String], rows: &[Vec<String>], class: &str) -> String {
    let mut out = format!("<div class=\"scroll\"><table class=\"{class}\">\n<tr>");
    for h in header {
        out.push_str(&format!("<th>{}</th>", html(h)));
    }
    out.push_str("</tr>\n");
    for r in rows {
        out.push_str("<tr>");
        for c in r {
            out.push_str(&format!("<td>{}</td>", html(c)));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</table></div>\n");
    out
}

fn section_table(t: &Table) -> String {
    format!(
        "<h3>{}</h3>\n{}",
        html(&t.title),
        table_html(&t.header, &t.rows, "numbers")
    )
}

pub fn index(page: &Page) -> String {
    let mut out = String::new();
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str(&format!("<title>{}</title>\n", html(&page.title)));
    out.push_str(&format!(
        "<style>{STYLE}</style>\n</head>\n<body>\n<main>\n"
    ));
    out.push_str(&format!("<h1>{}</h1>\n", html(&page.title)));
    if !page.description.is_empty() {
        out.push_str(&format!(
            "<p class=\"desc\">{}</p>\n",
            html(&page.description)
        ));
    }
    let facts: Vec<Vec<String>> = page
        .facts
        .iter()
        .map(|(k, v)| vec![k.clone(), v.clone()])
        .collect();
    out.push_str(&table_html(
        &["parameter".to_string(), "value".to_string()],
        &facts,
        "facts",
    ));
    out.push_str("<h2>Charts</h2>\n<nav><ul>\n");
    for c in &page.charts {
        out.push_str(&format!(
            "<li><a href=\"#{}\">{}</a></li>\n",
            html(&c.stem),
            html(&c.title)
        ));
    }
    out.push_str("</ul></nav>\n");
    for c in &page.charts {
        let stem = html(&c.stem);
        out.push_str(&format!("<figure id=\"{stem}\">\n"));
        out.push_str(&format!(
            "<img src=\"{stem}.svg\" alt=\"{}\">\n",
            html(&c.title)
        ));
        out.push_str(&format!(
            "<figcaption>{} &middot; data: <a href=\"{stem}.csv\">{stem}.csv</a> &middot; <a href=\"{stem}.svg\">{stem}.svg</a></figcaption>\n",
            html(&c.title)
        ));
        if c.rows.len() <= INLINE_ROWS {
            out.push_str(&format!(
                "<details><summary>numbers ({} rows)</summary>\n{}</details>\n",
                c.rows.len(),
                table_html(&c.header, &c.rows, "numbers")
            ));
        } else {
            out.push_str(&format!(
                "<p>{} rows: see <a href=\"{stem}.csv\">{stem}.csv</a>.</p>\n",
                c.rows.len()
            ));
        }
        out.push_str("</figure>\n");
    }
    if let Some(config) = &page.config {
        out.push_str(&format!(
            "<h2>Scenario</h2>\n<details><summary>every parameter of the scenario as run (overrides applied)</summary>\n<pre>{}</pre></details>\n",
            html(config)
        ));
    }
    if !page.tables.is_empty() {
        out.push_str("<h2>Numbers</h2>\n");
        for t in &page.tables {
            out.push_str(&section_table(t));
        }
    }
    out.push_str("</main>\n</body>\n</html>\n");
    out
}
