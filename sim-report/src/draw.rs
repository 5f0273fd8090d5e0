//! Drawing with plotters into SVG strings: line figures (stacked or
//! side-by-side panels, confidence bands, shaded windows, a state strip),
//! grouped bars and heatmaps. Each figure has a title on top, its legend on
//! the right (outside the data), and a caption line at the bottom.
//!
//! Text is laid out with plotters' built-in size estimate (no font files);
//! the SVG names the generic `sans-serif` family, which every browser has.

use std::ops::Range;

use plotters::coord::Shift;
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::ReportError;
use crate::format::{
    Ticks, ellipsize, fixed, human, linear_ticks, log_label, log_ticks, tight_ticks, wrap,
};

/// Okabe-Ito colours (distinguishable with colour-vision deficiencies),
/// yellow replaced by grey, which reads on white.
pub const PALETTE: [RGBColor; 8] = [
    RGBColor(0x00, 0x72, 0xB2),
    RGBColor(0xD5, 0x5E, 0x00),
    RGBColor(0x00, 0x9E, 0x73),
    RGBColor(0xCC, 0x79, 0xA7),
    RGBColor(0xE6, 0x9F, 0x00),
    RGBColor(0x56, 0xB4, 0xE9),
    RGBColor(0x00, 0x00, 0x00),
    RGBColor(0x88, 0x88, 0x88),
];

pub fn color(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// The shape of a line's point markers.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Marker {
    /// A filled circle (lines that differ by colour alone).
    Dot,
    /// Outlines, for lines that may lie on top of each other: where they
    /// coincide, every shape stays visible around or inside the others.
    Circle,
    Square,
    Triangle,
    Diamond,
    TriangleDown,
}

/// Outline shapes in order: with the colours, one shape per line.
pub const MARKERS: [Marker; 5] = [
    Marker::Circle,
    Marker::Square,
    Marker::Triangle,
    Marker::Diamond,
    Marker::TriangleDown,
];

pub fn marker(i: usize) -> Marker {
    MARKERS[i % MARKERS.len()]
}

/// Draws a marker centred on `(x, y)` (pixels of `area`). A dot is a
/// filled `<circle>`; outlines are 2 px: a `<circle>`, or a closed
/// `<polyline>` (first point repeated; data lines never are; the SVG
/// backend draws a `<rect>` outline 1 px wide whatever the style says).
fn draw_marker(area: &Area, (x, y): (i32, i32), marker: Marker, c: RGBColor) -> Res<()> {
    let outline = c.stroke_width(DATA_STROKE);
    let closed = |pts: &[(i32, i32)]| {
        let mut v: Vec<(i32, i32)> = pts.iter().map(|(dx, dy)| (x + dx, y + dy)).collect();
        v.push(v[0]);
        PathElement::new(v, outline)
    };
    match marker {
        Marker::Dot => area.draw(&Circle::new((x, y), 4, c.filled()))?,
        Marker::Circle => area.draw(&Circle::new((x, y), 6, outline))?,
        Marker::Square => area.draw(&closed(&[(-5, -5), (5, -5), (5, 5), (-5, 5)]))?,
        Marker::Triangle => area.draw(&closed(&[(0, -7), (6, 4), (-6, 4)]))?,
        Marker::Diamond => area.draw(&closed(&[(0, -7), (7, 0), (0, 7), (-7, 0)]))?,
        Marker::TriangleDown => area.draw(&closed(&[(0, 7), (6, -4), (-6, -4)]))?,
    }
    Ok(())
}

const TITLE_SIZE: f64 = 26.0;
const DESC_SIZE: f64 = 19.0;
const LABEL_SIZE: f64 = 16.0;
const LEGEND_SIZE: f64 = 16.0;
const CAPTION_SIZE: f64 = 15.0;
/// Width of one character at `size`, as plotters estimates it (its naive
/// layout: 0.7 em per byte, em = size / 1.24²), rounded up a little.
fn char_w(size: f64) -> f64 {
    size / 1.24 / 1.24 * 0.72
}
/// Data lines are drawn 2 px wide; nothing else is but outline markers
/// (closed polylines, see [`draw_marker`]), so tests can count them.
pub const DATA_STROKE: u32 = 2;
/// The SVG backend cannot dash a line; dashed lines are drawn with this
/// opacity, which nothing else uses, and get their dash pattern after
/// rendering (one polyline instead of one per dash).
const DASH_ALPHA: f64 = 0.999;

/// Line patterns of lines that may lie on top of each other (with their
/// colours and markers): where two coincide, the gaps of the upper one
/// show the lower one. Pattern 0 is solid; pattern k > 0 is drawn with
/// opacity `PATTERNS[k].0`, which nothing else uses, and gets the dash
/// array `PATTERNS[k].1` after rendering.
const PATTERNS: [(f64, &str); 5] = [
    (1.0, ""),
    (0.998, "9 4"),
    (0.997, "3 3"),
    (0.996, "12 4 3 4"),
    (0.995, "6 3"),
];

pub fn pattern(i: usize) -> usize {
    i % PATTERNS.len()
}

fn pattern_style(c: RGBColor, pattern: usize, width: u32) -> ShapeStyle {
    match pattern % PATTERNS.len() {
        0 => c.stroke_width(width),
        k => c.mix(PATTERNS[k].0).stroke_width(width),
    }
}

fn apply_dashes(svg: String) -> String {
    let mut svg = svg.replace(
        "opacity=\"0.999\"",
        "opacity=\"1\" stroke-dasharray=\"8 5\"",
    );
    for (alpha, dashes) in &PATTERNS[1..] {
        svg = svg.replace(
            &format!("opacity=\"{alpha}\""),
            &format!("opacity=\"1\" stroke-dasharray=\"{dashes}\""),
        );
    }
    svg
}
const GRID: RGBColor = RGBColor(0xE4, 0xE4, 0xE4);
const INK: RGBColor = RGBColor(0x22, 0x22, 0x22);
const MUTED: RGBColor = RGBColor(0x55, 0x55, 0x55);

impl<E: std::error::Error + Send + Sync> From<DrawingAreaErrorKind<E>> for ReportError {
    fn from(e: DrawingAreaErrorKind<E>) -> Self {
        ReportError::new(format!("cannot draw a chart: {e}"))
    }
}

type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;
type Res<T> = Result<T, ReportError>;

/// What a legend entry shows.
#[derive(Clone, Debug)]
pub enum Swatch {
    Line(RGBColor),
    Dashed(RGBColor),
    Fill(RGBAColor),
    /// A line with a band around it.
    Band(RGBColor),
    /// A line in a pattern with its point marker, and its band if `band`.
    Marked {
        color: RGBColor,
        marker: Marker,
        pattern: usize,
        band: bool,
    },
}

#[derive(Clone, Debug)]
pub struct LegendEntry {
    pub label: String,
    pub swatch: Swatch,
}

/// The legend: an optional heading (e.g. the parameter the lines stand
/// for) and entries.
#[derive(Clone, Debug, Default)]
pub struct Legend {
    pub heading: Option<String>,
    pub entries: Vec<LegendEntry>,
}

impl Legend {
    fn width(&self) -> u32 {
        let longest = self
            .entries
            .iter()
            .map(|e| ellipsize(&e.label, LEGEND_MAX_CHARS).chars().count())
            .chain(
                self.heading
                    .iter()
                    .map(|h| ellipsize(h, LEGEND_MAX_CHARS).chars().count()),
            )
            .max()
            .unwrap_or(0);
        ((longest as f64 * char_w(LEGEND_SIZE)) as u32 + 60).clamp(150, 380)
    }
}

const LEGEND_MAX_CHARS: usize = 40;

/// One line of a line panel. `None` points leave a gap.
#[derive(Clone, Debug)]
pub struct Line {
    pub color: RGBColor,
    pub points: Vec<(f64, Option<f64>)>,
    /// (x, low, high) of a confidence band.
    pub band: Vec<(f64, f64, f64)>,
    /// Point markers at the data points, if any; drawn over all lines.
    pub marker: Option<Marker>,
    /// Index of a dash pattern (0: solid); see [`pattern`].
    pub pattern: usize,
    /// Dashed, and drawn over the solid lines (for a reference such as the
    /// offered load, which other lines may cover).
    pub dashed: bool,
}

/// A shaded x interval (a fault window) across the panel.
#[derive(Clone, Debug)]
pub struct Shade {
    pub x0: f64,
    pub x1: f64,
    pub color: RGBAColor,
    /// Written at the top of the first panel.
    pub label: Option<String>,
}

#[derive(Copy, Clone, Debug)]
pub enum YScale {
    /// Linear; `include_zero` for counts and rates.
    Linear { include_zero: bool },
    /// log10; values <= 0 are left out.
    Log,
    /// A fixed linear range.
    Fixed { lo: f64, hi: f64 },
}

#[derive(Clone, Debug)]
pub enum PanelKind {
    Lines {
        scale: YScale,
        lines: Vec<Line>,
    },
    /// A band of coloured intervals (breaker state), no y axis.
    Strip {
        intervals: Vec<(f64, f64, RGBColor)>,
    },
}

#[derive(Clone, Debug)]
pub struct Panel {
    pub title: Option<String>,
    pub y_label: String,
    pub kind: PanelKind,
    pub shades: Vec<Shade>,
    /// Relative height (vertical layout) or width (horizontal layout).
    pub weight: u32,
}

#[derive(Clone, Debug)]
pub enum XAxis {
    /// From 0 (or below) to the data's maximum (time).
    FromZero { label: String, max: f64 },
    /// The data's range, a little padded; whole-number ticks if `integer`.
    /// With `log` (a geometric grid: 0.1, 0.25, 0.5, 1, 2 s), `min`, `max`
    /// and the points' x are log10 of the values, and the ticks are at the
    /// given positions (log10 of the grid's values), labelled as values.
    Numeric {
        label: String,
        min: f64,
        max: f64,
        integer: bool,
        log: Option<Vec<f64>>,
    },
    /// Evenly spaced categories at x = 0, 1, 2...
    Categories { label: String, names: Vec<String> },
}

#[derive(Copy, Clone, Debug, PartialEq)]
pub enum Layout {
    Vertical,
    Horizontal,
}

#[derive(Clone, Debug)]
pub struct LineFigure {
    pub title: String,
    pub caption: String,
    pub x: XAxis,
    pub panels: Vec<Panel>,
    pub layout: Layout,
    pub legend: Legend,
}

/// A bar's value and its optional (low, high) interval.
pub type Bar = (f64, Option<(f64, f64)>);

/// Grouped bars: groups along x, one bar per path in each group.
#[derive(Clone, Debug)]
pub struct BarPanel {
    pub title: String,
    pub y_label: String,
    pub groups: Vec<String>,
    /// values[group][path]
    pub values: Vec<Vec<Option<Bar>>>,
}

#[derive(Clone, Debug)]
pub struct BarFigure {
    pub title: String,
    pub caption: String,
    pub panels: Vec<BarPanel>,
    pub legend: Legend,
    /// Colour index of each path.
    pub colors: Vec<RGBColor>,
}

#[derive(Clone, Debug)]
pub struct Heatmap {
    pub title: String,
    pub caption: String,
    pub x_label: String,
    pub y_label: String,
    pub xs: Vec<String>,
    pub ys: Vec<String>,
    /// values[y][x]
    pub values: Vec<Vec<Option<f64>>>,
    /// Name and unit of the value, shown over the colour bar.
    pub value_label: String,
    /// Cell texts are `fixed(value * scale, decimals)`.
    pub scale: f64,
    pub decimals: usize,
}

fn text_style(size: f64, color: RGBColor) -> TextStyle<'static> {
    FontDesc::new(FontFamily::SansSerif, size, FontStyle::Normal).color(&color)
}

fn bold_style(size: f64, color: RGBColor) -> TextStyle<'static> {
    FontDesc::new(FontFamily::SansSerif, size, FontStyle::Bold).color(&color)
}

/// A linear axis with exactly the given ticks (and no light grid lines).
#[derive(Clone, Debug)]
struct Scale {
    lo: f64,
    hi: f64,
    ticks: Vec<f64>,
}

impl Scale {
    fn new(t: &Ticks) -> Self {
        Scale {
            lo: t.lo,
            hi: t.hi,
            ticks: t.values.clone(),
        }
    }
    fn bare(lo: f64, hi: f64) -> Self {
        Scale {
            lo,
            hi,
            ticks: vec![],
        }
    }
}

impl Ranged for Scale {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, v: &f64, limit: (i32, i32)) -> i32 {
        let span = self.hi - self.lo;
        if span <= 0.0 {
            return (limit.0 + limit.1) / 2;
        }
        let f = ((v - self.lo) / span).clamp(-10.0, 10.0);
        limit.0 + ((limit.1 - limit.0) as f64 * f).round() as i32
    }

    fn key_points<H: KeyPointHint>(&self, hint: H) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            vec![]
        } else {
            self.ticks.clone()
        }
    }

    fn range(&self) -> Range<f64> {
        self.lo..self.hi
    }
}

/// Lines of a title that fit the figure's width.
fn title_lines(title: &str, width: u32) -> Vec<String> {
    let chars = ((width as f64 - 48.0) / char_w(TITLE_SIZE)) as usize;
    wrap(title, chars.max(20))
}

/// Height of the title block.
fn header_h(title: &[String]) -> u32 {
    24 + 32 * title.len() as u32
}

/// Draws the title and the caption and returns (plot area, legend area).
fn frame<'a>(
    root: &Area<'a>,
    (width, height): (u32, u32),
    title: &[String],
    caption_lines: &[String],
    legend_w: u32,
) -> Res<(Area<'a>, Area<'a>)> {
    root.fill(&WHITE)?;
    for (i, line) in title.iter().enumerate() {
        root.draw(&Text::new(
            line.clone(),
            (24, 16 + 32 * i as i32),
            bold_style(TITLE_SIZE, INK).pos(Pos::new(HPos::Left, VPos::Top)),
        ))?;
    }
    let caption_h = 14 + 20 * caption_lines.len() as u32;
    for (i, line) in caption_lines.iter().enumerate() {
        root.draw(&Text::new(
            line.clone(),
            (24, (height - caption_h + 6 + 20 * i as u32) as i32),
            text_style(CAPTION_SIZE, MUTED).pos(Pos::new(HPos::Left, VPos::Top)),
        ))?;
    }
    let top = header_h(title);
    let (_, rest) = root.split_vertically(top);
    let (body, _) = rest.split_vertically(height - top - caption_h);
    let (plot, legend) = body.split_horizontally(width - legend_w);
    Ok((plot, legend))
}

fn caption_lines(caption: &str, width: u32) -> Vec<String> {
    let chars = ((width as f64 - 48.0) / char_w(CAPTION_SIZE)) as usize;
    wrap(caption, chars.max(20))
}

fn draw_legend(area: &Area, legend: &Legend, top: i32) -> Res<()> {
    let mut y = top;
    let x = 12;
    if let Some(h) = &legend.heading {
        area.draw(&Text::new(
            ellipsize(h, LEGEND_MAX_CHARS),
            (x, y),
            bold_style(LEGEND_SIZE, INK).pos(Pos::new(HPos::Left, VPos::Center)),
        ))?;
        y += 26;
    }
    for e in &legend.entries {
        match &e.swatch {
            Swatch::Line(c) => {
                area.draw(&PathElement::new(
                    vec![(x, y), (x + 28, y)],
                    c.stroke_width(3),
                ))?;
            }
            Swatch::Dashed(c) => {
                area.draw(&PathElement::new(
                    vec![(x, y), (x + 28, y)],
                    c.mix(DASH_ALPHA).stroke_width(3),
                ))?;
            }
            Swatch::Band(c) => {
                area.draw(&Rectangle::new(
                    [(x, y - 7), (x + 28, y + 7)],
                    c.mix(0.2).filled(),
                ))?;
                area.draw(&PathElement::new(
                    vec![(x, y), (x + 28, y)],
                    c.stroke_width(3),
                ))?;
            }
            Swatch::Marked {
                color,
                marker,
                pattern,
                band,
            } => {
                // A little longer than the other swatches, to show the
                // dash pattern on both sides of the marker.
                if *band {
                    area.draw(&Rectangle::new(
                        [(x - 4, y - 7), (x + 32, y + 7)],
                        color.mix(0.2).filled(),
                    ))?;
                }
                area.draw(&PathElement::new(
                    vec![(x - 4, y), (x + 32, y)],
                    pattern_style(*color, *pattern, 3),
                ))?;
                draw_marker(area, (x + 14, y), *marker, *color)?;
            }
            Swatch::Fill(c) => {
                area.draw(&Rectangle::new([(x, y - 8), (x + 28, y + 8)], c.filled()))?;
                area.draw(&Rectangle::new(
                    [(x, y - 8), (x + 28, y + 8)],
                    MUTED.mix(0.6),
                ))?;
            }
        }
        area.draw(&Text::new(
            ellipsize(&e.label, LEGEND_MAX_CHARS),
            (x + 38, y),
            text_style(LEGEND_SIZE, INK).pos(Pos::new(HPos::Left, VPos::Center)),
        ))?;
        y += 26;
    }
    Ok(())
}

/// The y values of a panel as plotted (log10 for log scales).
fn plotted(scale: YScale, y: f64) -> Option<f64> {
    match scale {
        YScale::Log if y > 0.0 => Some(y.log10()),
        YScale::Log => None,
        _ => y.is_finite().then_some(y),
    }
}

/// The lowest value a band may reach: where every plotted value is >= 0 (a
/// count, a rate, an amplification), a Student-t interval reaching below
/// zero is an artifact of the interval, not data, and is cut at 0 so it does
/// not drag the axis below zero.
fn band_floor(lines: &[Line]) -> f64 {
    let nonnegative = lines
        .iter()
        .flat_map(|l| l.points.iter().filter_map(|p| p.1))
        .all(|v| v >= 0.0);
    if nonnegative { 0.0 } else { f64::NEG_INFINITY }
}

fn y_ticks(scale: YScale, lines: &[Line]) -> Ticks {
    let floor = band_floor(lines);
    let values = lines.iter().flat_map(|l| {
        l.points
            .iter()
            .filter_map(|p| p.1)
            .chain(l.band.iter().flat_map(|b| [b.1.max(floor), b.2]))
    });
    let (mut min, mut max) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values {
        if v.is_finite() && (v > 0.0 || !matches!(scale, YScale::Log)) {
            min = min.min(v);
            max = max.max(v);
        }
    }
    match scale {
        YScale::Linear { include_zero } => linear_ticks(min, max, include_zero, 6),
        YScale::Log => log_ticks(min, max),
        YScale::Fixed { lo, hi } => linear_ticks(lo, hi, false, 5),
    }
}

fn x_ticks(x: &XAxis, ticks_max: usize) -> Ticks {
    match x {
        XAxis::FromZero { max, .. } => linear_ticks(0.0, *max, true, ticks_max),
        XAxis::Numeric {
            min,
            max,
            log: Some(at),
            ..
        } => {
            let pad = ((max - min) * 0.04).max(0.02);
            Ticks {
                lo: min - pad,
                hi: max + pad,
                values: at.clone(),
                decimals: 0,
            }
        }
        XAxis::Numeric {
            min, max, integer, ..
        } => tight_ticks(*min, *max, ticks_max, *integer, 0.04),
        XAxis::Categories { names, .. } => Ticks {
            lo: -0.5,
            hi: names.len().max(1) as f64 - 0.5,
            values: (0..names.len()).map(|i| i as f64).collect(),
            decimals: 0,
        },
    }
}

/// Lines of each category label, wrapped to fit its slot.
fn category_label_lines(names: &[String], slot_px: f64) -> Vec<Vec<String>> {
    let chars = ((slot_px - 6.0) / char_w(LABEL_SIZE)).max(4.0) as usize;
    names
        .iter()
        .map(|n| {
            let mut lines = wrap(n, chars);
            if lines.len() > 3 {
                lines.truncate(3);
                if let Some(last) = lines.last_mut() {
                    last.push('…');
                }
            }
            lines
                .into_iter()
                .map(|l| ellipsize(&l, chars.max(4)))
                .collect()
        })
        .collect()
}

/// Draws a figure of line panels.
pub fn line_figure(fig: &LineFigure) -> Res<String> {
    let n = fig.panels.len().max(1) as u32;
    let horizontal = fig.layout == Layout::Horizontal;
    let legend_w = fig.legend.width();
    let width: u32 = if horizontal { 1360 } else { 1100 };
    let weights: u32 = fig
        .panels
        .iter()
        .map(|p| p.weight.max(1))
        .sum::<u32>()
        .max(1);
    let plot_w = width - legend_w;
    // Room for category labels under the x axis.
    let cat_lines = match &fig.x {
        XAxis::Categories { names, .. } => {
            let panel_w = if horizontal {
                plot_w as f64 / n as f64
            } else {
                plot_w as f64
            };
            let slot = (panel_w - 110.0) / names.len().max(1) as f64;
            Some(category_label_lines(names, slot))
        }
        XAxis::Numeric { .. } | XAxis::FromZero { .. } => None,
    };
    let label_rows = cat_lines
        .as_ref()
        .map_or(1, |c| c.iter().map(Vec::len).max().unwrap_or(1)) as u32;
    let x_area = 34 + 20 * label_rows;
    let body_h = if horizontal {
        460
    } else {
        weights * 300 / 100 + (n - 1) * 22 + x_area
    };
    let caption = caption_lines(&fig.caption, width);
    let title = title_lines(&fig.title, width);
    let height = header_h(&title) + body_h + 14 + 20 * caption.len() as u32;

    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
        let (plot, legend_area) = frame(&root, (width, height), &title, &caption, legend_w)?;
        draw_legend(&legend_area, &fig.legend, 20)?;

        // Split the plot area into the panels.
        let mut areas = Vec::new();
        let mut rest = plot;
        let total = fig.panels.len();
        for (i, p) in fig.panels.iter().enumerate() {
            if i + 1 == total {
                areas.push(rest.clone());
                break;
            }
            if horizontal {
                let w = rest.dim_in_pixel().0 * p.weight.max(1)
                    / fig.panels[i..].iter().map(|q| q.weight.max(1)).sum::<u32>();
                let (a, b) = rest.split_horizontally(w);
                areas.push(a);
                rest = b;
            } else {
                let h = p.weight.max(1) * 300 / 100 + 22;
                let (a, b) = rest.split_vertically(h);
                areas.push(a);
                rest = b;
            }
        }

        let xt = x_ticks(&fig.x, if horizontal { 5 } else { 10 });
        let x_label = match &fig.x {
            XAxis::Numeric { label, .. }
            | XAxis::FromZero { label, .. }
            | XAxis::Categories { label, .. } => label.clone(),
        };
        for (i, (panel, area)) in fig.panels.iter().zip(&areas).enumerate() {
            let bottom = horizontal || i + 1 == total;
            let first = i == 0;
            draw_line_panel(
                &root,
                area,
                panel,
                &xt,
                &fig.x,
                cat_lines.as_deref(),
                if bottom { Some(&x_label) } else { None },
                if bottom { x_area } else { 8 },
                first,
            )?;
        }
        root.present()?;
    }
    Ok(apply_dashes(svg))
}

#[allow(clippy::too_many_arguments)]
fn draw_line_panel(
    root: &Area,
    area: &Area,
    panel: &Panel,
    xt: &Ticks,
    x: &XAxis,
    cat_lines: Option<&[Vec<String>]>,
    x_label: Option<&String>,
    x_area: u32,
    first: bool,
) -> Res<()> {
    let (scale, lines, yt) = match &panel.kind {
        PanelKind::Lines { scale, lines } => (*scale, lines.as_slice(), y_ticks(*scale, lines)),
        PanelKind::Strip { .. } => (
            YScale::Fixed { lo: 0.0, hi: 1.0 },
            &[][..],
            Ticks {
                lo: 0.0,
                hi: 1.0,
                values: vec![],
                decimals: 0,
            },
        ),
    };
    let mut builder = ChartBuilder::on(area);
    builder
        .margin_top(if panel.title.is_some() || first {
            6
        } else {
            22
        })
        .margin_right(24)
        .margin_left(8)
        .x_label_area_size(x_area)
        .y_label_area_size(92);
    if let Some(t) = &panel.title {
        builder.caption(t, bold_style(DESC_SIZE, INK));
    }
    let mut chart = builder.build_cartesian_2d(Scale::new(xt), Scale::new(&yt))?;
    let x_fmt = |v: &f64| -> String {
        match (x, x_label) {
            (XAxis::Numeric { log: Some(_), .. }, Some(_)) => {
                // Six significant digits hide log10's rounding (400, not
                // 399.99999), then as tables show values (0.25, not 0.3).
                let value = 10f64.powf(*v);
                let magnitude = 10f64.powi(value.abs().log10().floor() as i32 - 5);
                human((value / magnitude).round() * magnitude)
            }
            (XAxis::Numeric { .. } | XAxis::FromZero { .. }, Some(_)) => fixed(*v, xt.decimals),
            _ => String::new(),
        }
    };
    let y_fmt = |v: &f64| -> String {
        match scale {
            YScale::Log => log_label(*v),
            _ => fixed(*v, yt.decimals),
        }
    };
    chart
        .configure_mesh()
        .bold_line_style(GRID)
        .light_line_style(TRANSPARENT)
        .axis_style(MUTED)
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&y_fmt)
        .label_style(text_style(LABEL_SIZE, INK))
        .axis_desc_style(text_style(DESC_SIZE, INK))
        .x_desc(x_label.cloned().unwrap_or_default())
        .y_desc(panel.y_label.clone())
        .draw()?;

    // Shaded windows under everything else.
    for s in &panel.shades {
        let x0 = s.x0.max(xt.lo);
        let x1 = s.x1.min(xt.hi);
        if x1 > x0 {
            chart.draw_series(std::iter::once(Rectangle::new(
                [(x0, yt.lo), (x1, yt.hi)],
                s.color.filled(),
            )))?;
            if first && let Some(label) = &s.label {
                chart.draw_series(std::iter::once(Text::new(
                    label.clone(),
                    (x0, yt.hi),
                    text_style(LABEL_SIZE - 2.0, MUTED).pos(Pos::new(HPos::Left, VPos::Top)),
                )))?;
            }
        }
    }
    if let PanelKind::Strip { intervals } = &panel.kind {
        // Instants (a state held for no time) stay visible: 3 px at least.
        let px = chart.plotting_area().dim_in_pixel().0.max(1) as f64;
        let min_w = 3.0 * (xt.hi - xt.lo) / px;
        // Long intervals first, so a widened instant is drawn over them.
        let long = intervals.iter().filter(|(a, b, _)| b - a >= min_w);
        let short = intervals.iter().filter(|(a, b, _)| b - a < min_w);
        for (x0, x1, c) in long.chain(short) {
            let (x0, mut x1) = (x0.max(xt.lo), x1.min(xt.hi));
            if x1 - x0 < min_w {
                x1 = (x0 + min_w).min(xt.hi);
            }
            if x1 > x0 {
                chart.draw_series(std::iter::once(Rectangle::new(
                    [(x0, 0.15), (x1, 0.85)],
                    c.filled(),
                )))?;
            }
        }
    }
    let floor = band_floor(lines);
    // Over categories (policy names, labelled values) nothing lies between
    // two x positions: each point is a marker with its interval as a
    // whisker, the lines side by side within a category, and no line or
    // band joins the categories.
    let categorical = matches!(x, XAxis::Categories { .. });
    let with_points: Vec<usize> = (0..lines.len())
        .filter(|&j| lines[j].points.iter().any(|p| p.1.is_some()))
        .collect();
    let dodge = |j: usize| -> f64 {
        if !categorical {
            return 0.0;
        }
        let m = with_points.len().max(1) as f64;
        let k = with_points.iter().position(|&w| w == j).unwrap_or(0) as f64;
        let step = (0.6 / m).min(0.15);
        (k - (m - 1.0) / 2.0) * step
    };
    if categorical {
        for (j, line) in lines.iter().enumerate() {
            let off = dodge(j);
            let style = line.color.stroke_width(DATA_STROKE);
            for &(x, lo, hi) in &line.band {
                let (Some(lo), Some(hi)) = (plotted(scale, lo.max(floor)), plotted(scale, hi))
                else {
                    continue;
                };
                let (px, plo) = chart.backend_coord(&(x + off, lo));
                let (_, phi) = chart.backend_coord(&(x + off, hi));
                for seg in [
                    vec![(px, plo), (px, phi)],
                    vec![(px - 6, plo), (px + 6, plo)],
                    vec![(px - 6, phi), (px + 6, phi)],
                ] {
                    root.draw(&PathElement::new(seg, style))?;
                }
            }
        }
    }
    for line in lines.iter().filter(|_| !categorical) {
        if !line.band.is_empty() {
            let upper = line
                .band
                .iter()
                .filter_map(|(x, _, hi)| Some((*x, plotted(scale, *hi)?)));
            let lower: Vec<(f64, f64)> = line
                .band
                .iter()
                .filter_map(|(x, lo, _)| Some((*x, plotted(scale, lo.max(floor))?)))
                .collect();
            let poly: Vec<(f64, f64)> = upper.chain(lower.into_iter().rev()).collect();
            if poly.len() >= 3 {
                chart.draw_series(std::iter::once(Polygon::new(
                    poly,
                    line.color.mix(0.18).filled(),
                )))?;
            }
        }
    }
    let solid_first = lines
        .iter()
        .filter(|l| !l.dashed)
        .chain(lines.iter().filter(|l| l.dashed))
        .filter(|_| !categorical);
    for line in solid_first {
        // Split at gaps.
        let mut segment: Vec<(f64, f64)> = Vec::new();
        let mut segments = Vec::new();
        for (x, y) in &line.points {
            match y.and_then(|y| plotted(scale, y)) {
                Some(y) => segment.push((*x, y)),
                None => {
                    if !segment.is_empty() {
                        segments.push(std::mem::take(&mut segment));
                    }
                }
            }
        }
        if !segment.is_empty() {
            segments.push(segment);
        }
        for seg in &segments {
            let style = if line.dashed {
                line.color.mix(DASH_ALPHA).stroke_width(DATA_STROKE)
            } else {
                pattern_style(line.color, line.pattern, DATA_STROKE)
            };
            chart.draw_series(LineSeries::new(seg.iter().copied(), style))?;
        }
    }
    // Markers over every line, so no line hides another's points; over
    // categories every point has one.
    for (j, line) in lines.iter().enumerate() {
        let Some(m) = line.marker.or(categorical.then_some(Marker::Dot)) else {
            continue;
        };
        let off = dodge(j);
        for (x, y) in &line.points {
            if let Some(y) = y.and_then(|y| plotted(scale, y)) {
                draw_marker(root, chart.backend_coord(&(*x + off, y)), m, line.color)?;
            }
        }
    }

    // Category labels, wrapped, under the axis.
    if let (Some(cats), Some(_)) = (cat_lines, x_label) {
        let anchors = (0..cats.len()).map(|i| chart.backend_coord(&(i as f64, yt.lo)));
        draw_category_labels(root, anchors, cats)?;
    }
    Ok(())
}

/// Writes each category's wrapped label lines centred under its anchor
/// (the pixel where the category meets the x axis).
fn draw_category_labels(
    root: &Area,
    anchors: impl Iterator<Item = (i32, i32)>,
    cats: &[Vec<String>],
) -> Res<()> {
    for ((px, py), lines) in anchors.zip(cats) {
        for (k, l) in lines.iter().enumerate() {
            root.draw(&Text::new(
                l.clone(),
                (px, py + 10 + 20 * k as i32),
                text_style(LABEL_SIZE, INK).pos(Pos::new(HPos::Center, VPos::Top)),
            ))?;
        }
    }
    Ok(())
}

/// Draws grouped bars, one panel per measure family, stacked.
pub fn bar_figure(fig: &BarFigure) -> Res<String> {
    let legend_w = fig.legend.width();
    let width = 1100;
    let caption = caption_lines(&fig.caption, width);
    let plot_w = (width - legend_w) as f64;
    let label_rows: Vec<u32> = fig
        .panels
        .iter()
        .map(|p| {
            let slot = (plot_w - 130.0) / p.groups.len().max(1) as f64;
            category_label_lines(&p.groups, slot)
                .iter()
                .map(Vec::len)
                .max()
                .unwrap_or(1) as u32
        })
        .collect();
    let panel_h = |rows: u32| 320 + 20 * rows + 24;
    let body_h: u32 = label_rows.iter().map(|r| panel_h(*r)).sum::<u32>() + 10;
    let title = title_lines(&fig.title, width);
    let height = header_h(&title) + body_h + 14 + 20 * caption.len() as u32;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
        let (plot, legend_area) = frame(&root, (width, height), &title, &caption, legend_w)?;
        draw_legend(&legend_area, &fig.legend, 20)?;
        let mut rest = plot;
        for (i, (panel, rows)) in fig.panels.iter().zip(&label_rows).enumerate() {
            let area = if i + 1 == fig.panels.len() {
                rest.clone()
            } else {
                let (a, b) = rest.split_vertically(panel_h(*rows));
                rest = b;
                a
            };
            draw_bar_panel(&root, &area, panel, &fig.colors, 14 + 20 * rows)?;
        }
        root.present()?;
    }
    Ok(svg)
}

fn draw_bar_panel(
    root: &Area,
    area: &Area,
    panel: &BarPanel,
    colors: &[RGBColor],
    x_area: u32,
) -> Res<()> {
    let max = panel
        .values
        .iter()
        .flatten()
        .flatten()
        .map(|(v, ci)| ci.map_or(*v, |c| c.1.max(*v)))
        .fold(0.0f64, f64::max);
    // Headroom for the value labels over the bars.
    let yt = linear_ticks(0.0, max * 1.12, true, 6);
    let ng = panel.groups.len().max(1);
    let mut chart = ChartBuilder::on(area)
        .margin_top(4)
        .margin_right(24)
        .margin_left(8)
        .x_label_area_size(x_area)
        .y_label_area_size(92)
        .caption(&panel.title, bold_style(DESC_SIZE, INK))
        .build_cartesian_2d(Scale::bare(-0.5, ng as f64 - 0.5), Scale::new(&yt))?;
    let y_fmt = |v: &f64| fixed(*v, yt.decimals);
    chart
        .configure_mesh()
        .bold_line_style(GRID)
        .light_line_style(TRANSPARENT)
        .axis_style(MUTED)
        .y_label_formatter(&y_fmt)
        .label_style(text_style(LABEL_SIZE, INK))
        .axis_desc_style(text_style(DESC_SIZE, INK))
        .y_desc(panel.y_label.clone())
        .draw()?;
    let np = colors.len().max(1);
    // Bars share 80% of a group's width, but one or two paths do not get
    // slabs.
    let bar_w = (0.8 / np as f64).min(0.3);
    let left = -bar_w * np as f64 / 2.0;
    for (g, row) in panel.values.iter().enumerate() {
        for (p, cell) in row.iter().enumerate() {
            let Some((v, ci)) = cell else { continue };
            let x0 = g as f64 + left + p as f64 * bar_w;
            let x1 = x0 + bar_w * 0.92;
            let c = colors.get(p).copied().unwrap_or(color(p));
            chart.draw_series(std::iter::once(Rectangle::new(
                [(x0, 0.0), (x1, *v)],
                c.filled(),
            )))?;
            let xm = (x0 + x1) / 2.0;
            let mut top = *v;
            if let Some((lo, hi)) = ci {
                let cap = bar_w * 0.2;
                chart.draw_series(std::iter::once(PathElement::new(
                    vec![(xm, *lo), (xm, *hi)],
                    INK.stroke_width(1),
                )))?;
                for y in [lo, hi] {
                    chart.draw_series(std::iter::once(PathElement::new(
                        vec![(xm - cap, *y), (xm + cap, *y)],
                        INK.stroke_width(1),
                    )))?;
                }
                top = top.max(*hi);
            }
            chart.draw_series(std::iter::once(Text::new(
                crate::format::human(*v),
                (xm, top),
                text_style(LABEL_SIZE - 1.0, INK).pos(Pos::new(HPos::Center, VPos::Bottom)),
            )))?;
        }
    }
    let plot_w = chart.plotting_area().dim_in_pixel().0 as f64;
    let cats = category_label_lines(&panel.groups, plot_w / ng as f64);
    let anchors = (0..cats.len()).map(|g| chart.backend_coord(&(g as f64, yt.lo)));
    draw_category_labels(root, anchors, &cats)?;
    Ok(())
}

/// Viridis at 9 stops, interpolated linearly.
const VIRIDIS: [(u8, u8, u8); 9] = [
    (68, 1, 84),
    (71, 44, 122),
    (59, 81, 139),
    (44, 113, 142),
    (33, 144, 141),
    (39, 173, 129),
    (92, 200, 99),
    (170, 220, 50),
    (253, 231, 37),
];

pub fn viridis(t: f64) -> RGBColor {
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let pos = t * (VIRIDIS.len() - 1) as f64;
    let i = (pos.floor() as usize).min(VIRIDIS.len() - 2);
    let f = pos - i as f64;
    let (a, b) = (VIRIDIS[i], VIRIDIS[i + 1]);
    let mix = |x: u8, y: u8| (x as f64 + (y as f64 - x as f64) * f).round() as u8;
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// Row labels of a heatmap longer than this are shortened.
const HEAT_LABEL_CHARS: usize = 40;

/// Draws a heatmap with the value written in each cell and a colour bar.
pub fn heatmap(h: &Heatmap) -> Res<String> {
    let width: u32 = 1100;
    let bar_w: u32 = 190;
    let caption = caption_lines(&h.caption, width);
    let y_label_chars = h.ys.iter().map(|s| s.chars().count()).max().unwrap_or(4);
    let y_area =
        ((y_label_chars.min(HEAT_LABEL_CHARS) as f64 * char_w(LABEL_SIZE)) as u32 + 56).max(92);
    let plot_w = width - bar_w;
    let slot = (plot_w as f64 - y_area as f64 - 30.0) / h.xs.len().max(1) as f64;
    let x_cats = category_label_lines(&h.xs, slot);
    let label_rows = x_cats.iter().map(Vec::len).max().unwrap_or(1) as u32;
    let rows = h.ys.len().max(1) as u32;
    let cell_h = (420 / rows).clamp(28, 70);
    let body_h = cell_h * rows + 50 + 34 + 20 * label_rows;
    let title = title_lines(&h.title, width);
    let height = header_h(&title) + body_h + 14 + 20 * caption.len() as u32;
    let finite: Vec<f64> = h.values.iter().flatten().flatten().copied().collect();
    let vmin = finite.iter().copied().fold(f64::INFINITY, f64::min);
    let vmax = finite.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let (vmin, vmax) = if finite.is_empty() {
        (0.0, 1.0)
    } else {
        (vmin, vmax)
    };
    let norm = |v: f64| {
        if vmax > vmin {
            (v - vmin) / (vmax - vmin)
        } else {
            0.5
        }
    };
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
        let (plot, legend_area) = frame(&root, (width, height), &title, &caption, bar_w)?;
        let nx = h.xs.len().max(1);
        let ny = h.ys.len().max(1);
        let mut chart = ChartBuilder::on(&plot)
            .margin_top(14)
            .margin_right(30)
            .margin_left(8)
            .x_label_area_size(34 + 20 * label_rows)
            .y_label_area_size(y_area)
            .build_cartesian_2d(
                Scale::bare(-0.5, nx as f64 - 0.5),
                Scale::bare(-0.5, ny as f64 - 0.5),
            )?;
        chart
            .configure_mesh()
            .disable_mesh()
            .axis_style(MUTED)
            .axis_desc_style(text_style(DESC_SIZE, INK))
            .x_desc(h.x_label.clone())
            .y_desc(h.y_label.clone())
            .draw()?;
        let cell_px = chart.plotting_area().dim_in_pixel().0 as f64 / nx as f64;
        for (yi, row) in h.values.iter().enumerate() {
            for (xi, v) in row.iter().enumerate() {
                let (x, y) = (xi as f64, yi as f64);
                let rect = [(x - 0.5, y - 0.5), (x + 0.5, y + 0.5)];
                match v {
                    Some(v) => {
                        let c = viridis(norm(*v));
                        chart.draw_series(std::iter::once(Rectangle::new(rect, c.filled())))?;
                        let text = fixed(v * h.scale, h.decimals);
                        if (text.chars().count() as f64) * char_w(LABEL_SIZE) < cell_px - 4.0 {
                            let light = norm(*v) < 0.6;
                            chart.draw_series(std::iter::once(Text::new(
                                text,
                                (x, y),
                                text_style(LABEL_SIZE, if light { WHITE } else { INK })
                                    .pos(Pos::new(HPos::Center, VPos::Center)),
                            )))?;
                        }
                    }
                    None => {
                        chart.draw_series(std::iter::once(Rectangle::new(
                            rect,
                            RGBColor(0xF2, 0xF2, 0xF2).filled(),
                        )))?;
                        chart.draw_series(std::iter::once(Text::new(
                            "n/a",
                            (x, y),
                            text_style(LABEL_SIZE, MUTED).pos(Pos::new(HPos::Center, VPos::Center)),
                        )))?;
                    }
                }
                chart.draw_series(std::iter::once(Rectangle::new(rect, WHITE.stroke_width(1))))?;
            }
        }
        for (xi, lines) in x_cats.iter().enumerate() {
            let (px, py) = chart.backend_coord(&(xi as f64, -0.5));
            for (k, l) in lines.iter().enumerate() {
                root.draw(&Text::new(
                    l.clone(),
                    (px, py + 8 + 20 * k as i32),
                    text_style(LABEL_SIZE, INK).pos(Pos::new(HPos::Center, VPos::Top)),
                ))?;
            }
        }
        for (yi, name) in h.ys.iter().enumerate() {
            let (px, py) = chart.backend_coord(&(-0.5, yi as f64));
            root.draw(&Text::new(
                ellipsize(name, HEAT_LABEL_CHARS),
                (px - 8, py),
                text_style(LABEL_SIZE, INK).pos(Pos::new(HPos::Right, VPos::Center)),
            ))?;
        }

        // Colour bar.
        let (lx, ly) = (16, 20);
        for (k, line) in wrap(&h.value_label, 20).iter().enumerate() {
            legend_area.draw(&Text::new(
                line.clone(),
                (lx, ly + 20 * k as i32),
                bold_style(LEGEND_SIZE, INK).pos(Pos::new(HPos::Left, VPos::Top)),
            ))?;
        }
        let top = ly + 20 * wrap(&h.value_label, 20).len() as i32 + 14;
        let bar_h = 240;
        let steps = 48;
        for s in 0..steps {
            let t0 = s as f64 / steps as f64;
            let y0 = top + bar_h - ((s + 1) * bar_h / steps);
            let y1 = top + bar_h - (s * bar_h / steps);
            legend_area.draw(&Rectangle::new(
                [(lx, y0), (lx + 26, y1)],
                viridis(t0 + 0.5 / steps as f64).filled(),
            ))?;
        }
        let ticks = if vmax > vmin {
            vec![vmin, (vmin + vmax) / 2.0, vmax]
        } else {
            vec![vmin]
        };
        for v in ticks {
            let y = top + bar_h - (norm(v) * bar_h as f64).round() as i32;
            legend_area.draw(&PathElement::new(
                vec![(lx + 26, y), (lx + 32, y)],
                INK.stroke_width(1),
            ))?;
            legend_area.draw(&Text::new(
                fixed(v * h.scale, h.decimals),
                (lx + 36, y),
                text_style(LEGEND_SIZE, INK).pos(Pos::new(HPos::Left, VPos::Center)),
            ))?;
        }
        root.present()?;
    }
    Ok(svg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn viridis_ends() {
        assert_eq!(viridis(0.0), RGBColor(68, 1, 84));
        assert_eq!(viridis(1.0), RGBColor(253, 231, 37));
        assert_eq!(viridis(f64::NAN), RGBColor(68, 1, 84));
    }

    #[test]
    fn category_labels_wrap_to_their_slot() {
        let lines = category_label_lines(&["FullJitter(base: 5ms, cap: 2s)".to_string()], 120.0);
        assert!(lines[0].len() > 1, "{lines:?}");
        assert!(
            lines[0].iter().all(|l| l.chars().count() <= 15),
            "{lines:?}"
        );
    }
}
