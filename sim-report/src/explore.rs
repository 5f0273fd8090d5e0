//! The report of `sim explore`'s `results.json`: P(collapse) against the
//! first axis with its Wilson intervals and the boundary shaded (one line
//! per row with two axes), and with two axes the boundary curve with its
//! bracket as a band: the phase diagram.

use plotters::style::Color;
use plotters::style::RGBColor;
use sim_results::csv_number;
use sim_results::explore::ExploreDocument;

use crate::draw::{
    self, Layout, Legend, LegendEntry, Line, LineFigure, Panel, PanelKind, Shade, Swatch, XAxis,
    YScale,
};
use crate::{Chart, Page, ReportError, Table};

fn axis(label: &str, lo: f64, hi: f64, integer: bool) -> XAxis {
    XAxis::Numeric {
        label: label.to_string(),
        min: lo,
        max: hi,
        integer,
        log: None,
    }
}

fn label(a: &sim_results::explore::Axis) -> String {
    if a.seconds {
        format!("{} (s)", a.path)
    } else {
        a.path.clone()
    }
}

/// P(collapse) against the first axis, one line per row.
fn probability_chart(doc: &ExploreDocument) -> Result<Chart, ReportError> {
    let a0 = &doc.axes[0];
    let rows: Vec<Option<f64>> = doc.boundaries.iter().map(|b| b.row).collect();
    let mut lines = Vec::new();
    let mut legend = Legend::default();
    let mut data = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        let pts: Vec<_> = doc
            .points
            .iter()
            .filter(|p| p.at.get(1).copied() == *row)
            .collect();
        let color = draw::color(i);
        lines.push(Line {
            color,
            points: pts.iter().map(|p| (p.at[0], Some(p.p_collapse))).collect(),
            // Intervals of several rows would cover each other: drawn for
            // one row only (all are in the CSV).
            band: if rows.len() == 1 {
                pts.iter()
                    .map(|p| (p.at[0], p.wilson[0], p.wilson[1]))
                    .collect()
            } else {
                vec![]
            },
            marker: Some(draw::marker(i)),
            pattern: draw::pattern(i),
            dashed: false,
        });
        // The rows' values under the second axis as the legend's heading
        // (a path too long for every entry).
        let name = match row {
            Some(r) => csv_number(*r),
            None => "P(collapse)".to_string(),
        };
        legend.entries.push(LegendEntry {
            label: name.clone(),
            swatch: Swatch::Marked {
                color,
                marker: draw::marker(i),
                pattern: draw::pattern(i),
                band: rows.len() == 1,
            },
        });
        for p in pts {
            data.push(vec![
                name.clone(),
                csv_number(p.at[0]),
                p.replications.to_string(),
                p.collapses.to_string(),
                csv_number(p.p_collapse),
                csv_number(p.wilson[0]),
                csv_number(p.wilson[1]),
            ]);
        }
    }
    legend.heading = doc.axes.get(1).map(label);
    // The level as a dashed line across the range.
    lines.push(Line {
        color: RGBColor(0x55, 0x55, 0x55),
        points: vec![(a0.low, Some(doc.level)), (a0.high, Some(doc.level))],
        band: vec![],
        marker: None,
        pattern: 0,
        dashed: true,
    });
    legend.entries.push(LegendEntry {
        label: format!("level {}", doc.level),
        swatch: Swatch::Dashed(RGBColor(0x55, 0x55, 0x55)),
    });
    // Each row's bracket, shaded (one row: labelled).
    let shades = doc
        .boundaries
        .iter()
        .filter_map(|b| b.bracket)
        .map(|[lo, hi]| {
            let w = (a0.high - a0.low) / 200.0;
            Shade {
                x0: lo - w,
                x1: hi + w,
                color: RGBColor(0xCC, 0x33, 0x33).mix(0.18),
                label: (doc.boundaries.len() == 1).then(|| "boundary".to_string()),
            }
        })
        .collect();
    let title = format!("P(collapse) vs {}", a0.path);
    let fig = LineFigure {
        title: title.clone(),
        caption: format!(
            "scenario {} · seed {} · collapse: {} · {}% Wilson intervals",
            doc.scenario,
            doc.seed,
            doc.criterion,
            doc.confidence * 100.0
        ),
        x: axis(&label(a0), a0.low, a0.high, a0.integer),
        panels: vec![Panel {
            title: None,
            y_label: "P(collapse)".into(),
            kind: PanelKind::Lines {
                scale: YScale::Fixed { lo: 0.0, hi: 1.0 },
                lines,
            },
            shades,
            weight: 130,
        }],
        layout: Layout::Vertical,
        legend,
    };
    Ok(Chart {
        stem: "p-collapse".into(),
        title,
        svg: draw::line_figure(&fig)?,
        header: [
            "row",
            &a0.path,
            "replications",
            "collapses",
            "p_collapse",
            "wilson_low",
            "wilson_high",
        ]
        .map(String::from)
        .to_vec(),
        rows: data,
    })
}

/// With two axes: the boundary along the first axis against the second,
/// its bracket as a band.
fn phase_chart(doc: &ExploreDocument) -> Result<Option<Chart>, ReportError> {
    let (Some(a1), a0) = (doc.axes.get(1), &doc.axes[0]) else {
        return Ok(None);
    };
    let found: Vec<_> = doc
        .boundaries
        .iter()
        .filter_map(|b| Some((b.row?, b.estimate?, b.bracket?)))
        .collect();
    let color = draw::color(0);
    let line = Line {
        color,
        points: found.iter().map(|&(r, e, _)| (r, Some(e))).collect(),
        band: found.iter().map(|&(r, _, [lo, hi])| (r, lo, hi)).collect(),
        marker: Some(draw::marker(0)),
        pattern: 0,
        dashed: false,
    };
    // Every point evaluated as a dot coloured by its P(collapse)
    // (viridis, 0 dark to 1 bright): the phase diagram under the boundary.
    let mut lines = vec![line];
    for p in &doc.points {
        lines.push(Line {
            color: draw::viridis(p.p_collapse),
            points: vec![(p.at[1], Some(p.at[0]))],
            band: vec![],
            marker: Some(draw::Marker::Dot),
            pattern: 0,
            dashed: false,
        });
    }
    let title = format!("Collapse boundary: {} vs {}", a0.path, a1.path);
    let mut entries = vec![LegendEntry {
        label: format!("P(collapse) = {} (band: bracket)", doc.level),
        swatch: Swatch::Band(color),
    }];
    for p in [0.0, 0.25, 0.5, 0.75, 1.0] {
        entries.push(LegendEntry {
            label: format!("point, P(collapse) {p}"),
            swatch: Swatch::Marked {
                color: draw::viridis(p),
                marker: draw::Marker::Dot,
                pattern: 0,
                band: false,
            },
        });
    }
    let legend = Legend {
        heading: None,
        entries,
    };
    let fig = LineFigure {
        title: title.clone(),
        caption: format!(
            "scenario {} · seed {} · collapse: {} · rows where no crossing was found are left out",
            doc.scenario, doc.seed, doc.criterion
        ),
        x: axis(&label(a1), a1.low, a1.high, a1.integer),
        panels: vec![Panel {
            title: None,
            y_label: label(a0),
            kind: PanelKind::Lines {
                scale: YScale::Fixed {
                    lo: a0.low,
                    hi: a0.high,
                },
                lines,
            },
            shades: vec![],
            weight: 130,
        }],
        layout: Layout::Vertical,
        legend,
    };
    let rows = doc
        .boundaries
        .iter()
        .map(|b| {
            vec![
                b.row.map(csv_number).unwrap_or_default(),
                b.status.clone(),
                b.estimate.map(csv_number).unwrap_or_default(),
                b.bracket.map(|x| csv_number(x[0])).unwrap_or_default(),
                b.bracket.map(|x| csv_number(x[1])).unwrap_or_default(),
            ]
        })
        .collect();
    Ok(Some(Chart {
        stem: "boundary".into(),
        title,
        svg: draw::line_figure(&fig)?,
        header: [a1.path.as_str(), "status", "estimate", "low", "high"]
            .map(String::from)
            .to_vec(),
        rows,
    }))
}

/// The index page of an exploration.
pub(crate) fn page(doc: &ExploreDocument) -> Result<Page, ReportError> {
    if doc.axes.is_empty() || doc.axes.len() > 2 {
        return Err(ReportError::new(format!(
            "axes: an exploration has one or two, this one has {}",
            doc.axes.len()
        )));
    }
    if let Some(p) = doc.points.iter().find(|p| p.at.len() != doc.axes.len()) {
        return Err(ReportError::new(format!(
            "points: a point has {} values for {} axes",
            p.at.len(),
            doc.axes.len()
        )));
    }
    let mut charts = vec![probability_chart(doc)?];
    charts.extend(phase_chart(doc)?);
    let mut facts = vec![
        ("scenario".to_string(), doc.scenario.clone()),
        ("seed".into(), doc.seed.to_string()),
        ("collapse".into(), doc.criterion.clone()),
        ("level".into(), csv_number(doc.level)),
        ("tolerance".into(), csv_number(doc.tolerance)),
    ];
    for (i, a) in doc.axes.iter().enumerate() {
        facts.push((
            format!("axis {}", i + 1),
            format!(
                "{} from {} to {}",
                label(a),
                csv_number(a.low),
                csv_number(a.high)
            ),
        ));
    }
    let boundaries = Table {
        title: "Boundary".into(),
        header: ["row", "status", "estimate", "bracket"]
            .map(String::from)
            .to_vec(),
        rows: doc
            .boundaries
            .iter()
            .map(|b| {
                vec![
                    b.row.map(csv_number).unwrap_or_else(|| "-".into()),
                    b.status.clone(),
                    b.estimate.map(csv_number).unwrap_or_else(|| "-".into()),
                    b.bracket
                        .map(|[l, h]| format!("{} – {}", csv_number(l), csv_number(h)))
                        .unwrap_or_else(|| "-".into()),
                ]
            })
            .collect(),
    };
    Ok(Page {
        title: format!("Exploration: {}", doc.scenario),
        description: format!(
            "Where P(collapse) crosses {} along {}",
            doc.level, doc.axes[0].path
        ),
        facts,
        charts,
        tables: vec![boundaries],
        config: None,
    })
}
