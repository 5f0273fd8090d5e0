//! Plain-text tables for the terminal.

use serde_json::Value;

pub struct Table {
    title: String,
    columns: Vec<String>,
    rows: Vec<(String, Vec<String>)>,
}

impl Table {
    pub fn new(title: &str, columns: Vec<String>) -> Self {
        Table {
            title: title.to_string(),
            columns,
            rows: Vec::new(),
        }
    }

    pub fn row(&mut self, label: &str, cells: Vec<String>) {
        self.rows.push((label.to_string(), cells));
    }

    pub fn render(&self) -> String {
        // Row labels are indented by two spaces under the title.
        let label_w = self
            .rows
            .iter()
            .map(|r| r.0.chars().count() + 2)
            .chain([self.title.chars().count()])
            .max()
            .unwrap_or(0);
        let widths: Vec<usize> = self
            .columns
            .iter()
            .enumerate()
            .map(|(i, c)| {
                self.rows
                    .iter()
                    .map(|r| r.1.get(i).map_or(0, |s| s.chars().count()))
                    .chain([c.chars().count()])
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let mut out = format!("{:<label_w$}", self.title);
        for (c, w) in self.columns.iter().zip(&widths) {
            out.push_str(&format!("  {c:>w$}"));
        }
        out.push('\n');
        for (label, cells) in &self.rows {
            out.push_str(&format!("  {:<w$}", label, w = label_w.saturating_sub(2)));
            for (c, w) in cells.iter().zip(&widths) {
                out.push_str(&format!("  {c:>w$}"));
            }
            out.push('\n');
        }
        out
    }
}

/// A count with thousands separators; a mean of counts (several
/// replications) with one decimal, separated the same way: `3,613`,
/// `3,591.7`.
pub fn fmt_count(x: f64) -> String {
    if x.fract() != 0.0 {
        grouped(&format!("{x:.1}"))
    } else {
        grouped(&format!("{}", x as i64))
    }
}

/// `text` (a formatted number) with thousands separators in its integer
/// part: `1313.3` -> `1,313.3`.
fn grouped(text: &str) -> String {
    let (int, frac) = text.split_at(text.find('.').unwrap_or(text.len()));
    let digits = int.trim_start_matches('-');
    let mut out = String::from(if int.starts_with('-') { "-" } else { "" });
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out.push_str(frac);
    out
}

/// How a cell is shown.
#[derive(Copy, Clone)]
pub enum Fmt {
    Count,
    Ms,
    Ratio,
    Percent,
    Secs,
}

pub fn cell(doc: &Value, path: &str, fmt: Fmt) -> String {
    let v = path
        .split('.')
        .try_fold(doc, |node, key| node.get(key))
        .and_then(Value::as_f64);
    let Some(x) = v else {
        return "-".into();
    };
    // The value and its interval's half-width in the same format; no
    // interval for a metric that did not vary.
    let show = |x: f64| match fmt {
        Fmt::Count => fmt_count(x),
        Fmt::Ms => grouped(&format!("{x:.1}")),
        Fmt::Ratio => grouped(&format!("{x:.2}")),
        Fmt::Percent => format!("{:.1}%", x * 100.0),
        Fmt::Secs => grouped(&format!("{x:.2}")),
    };
    let main = show(x);
    match doc
        .get("ci95")
        .and_then(|c| c.get(path))
        .and_then(Value::as_array)
    {
        Some(iv) if iv.len() == 2 => {
            let half = (iv[1].as_f64().unwrap_or(x) - iv[0].as_f64().unwrap_or(x)) / 2.0;
            let shown = show(half);
            if shown
                .trim_end_matches('%')
                .chars()
                .all(|c| "0.,".contains(c))
            {
                main
            } else {
                format!("{main} ±{shown}")
            }
        }
        _ => main,
    }
}

/// The side-by-side comparison of request paths (S1): every client group
/// (RPC path) and every bus (event-driven path) as a column, with the
/// counters both paths share. Shown only when the scenario has buses.
pub fn paths_table(doc: &Value) -> Option<Table> {
    let buses: Vec<String> = doc
        .get("buses")
        .and_then(Value::as_object)
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    if buses.is_empty() {
        return None;
    }
    // Clients that call services are RPC paths; producers feeding a bus
    // are part of the bus's path.
    let clients: Vec<String> = doc
        .get("clients")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter(|(_, c)| {
                    c.get("target")
                        .and_then(Value::as_str)
                        .is_none_or(|t| !buses.iter().any(|b| b == t))
                })
                .map(|(k, _)| k.clone())
                .collect()
        })
        .unwrap_or_default();
    // (label, client path suffix, bus path suffix, decimals)
    const ROWS: &[(&str, &str, &str, usize)] = &[
        ("requests", "offered", "published", 0),
        ("ok", "ok", "ok", 0),
        ("failed", "failed", "failed", 0),
        ("dropped", "-", "dropped", 0),
        ("retries", "retries", "retries", 0),
        ("timeouts", "timeouts", "timeouts", 0),
        ("cb_open", "cb_open", "-", 0),
        ("dlq", "-", "dead_lettered", 0),
        (
            "latency p50 (ms)",
            "latency_ms.p50",
            "delivery_latency_ms.p50",
            1,
        ),
        (
            "latency p95 (ms)",
            "latency_ms.p95",
            "delivery_latency_ms.p95",
            1,
        ),
        (
            "latency p99 (ms)",
            "latency_ms.p99",
            "delivery_latency_ms.p99",
            1,
        ),
        (
            "latency mean (ms)",
            "latency_ms.mean",
            "delivery_latency_ms.mean",
            1,
        ),
        (
            "end-to-end p99 (ms)",
            "latency_ms.p99",
            "end_to_end_latency_ms.p99",
            1,
        ),
        (
            "end-to-end mean (ms)",
            "latency_ms.mean",
            "end_to_end_latency_ms.mean",
            1,
        ),
    ];
    let columns: Vec<String> = clients
        .iter()
        .map(|c| format!("{c} (RPC)"))
        .chain(buses.iter().map(|b| format!("{b} (bus)")))
        .collect();
    let mut t = Table::new("paths", columns);
    for (label, client_suffix, bus_suffix, decimals) in ROWS {
        // The same formats as the other tables (thousands separators, the
        // interval when there are replications).
        let fmt = if *decimals == 0 { Fmt::Count } else { Fmt::Ms };
        let mut cells: Vec<String> = clients
            .iter()
            .map(|c| match *client_suffix {
                "-" => "-".into(),
                s => cell(doc, &format!("clients.{c}.{s}"), fmt),
            })
            .collect();
        cells.extend(buses.iter().map(|b| match *bus_suffix {
            "-" => "-".into(),
            s => cell(doc, &format!("buses.{b}.{s}"), fmt),
        }));
        t.row(label, cells);
    }
    Some(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_align() {
        let mut t = Table::new("clients", vec!["a".into(), "longname".into()]);
        t.row("ok", vec!["1".into(), "22".into()]);
        t.row("failed requests", vec!["333".into(), "4".into()]);
        let r = t.render();
        let lines: Vec<&str> = r.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines.iter().all(|l| l.len() == lines[0].len()), "{r}");
    }
}
