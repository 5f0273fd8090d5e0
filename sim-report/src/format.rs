//! Numbers, durations, axis ticks, HTML escaping and file names:
//! everything that turns values into text, deterministically.

/// Tick positions and range of one linear axis.
#[derive(Clone, Debug, PartialEq)]
pub struct Ticks {
    pub lo: f64,
    pub hi: f64,
    pub values: Vec<f64>,
    /// Decimals needed to tell the ticks apart.
    pub decimals: usize,
}

/// A "nice" step (1, 2, 2.5 or 5 times a power of ten) giving at most
/// about `max_ticks` intervals over `span`.
fn nice_step(span: f64, max_ticks: usize) -> f64 {
    let raw = span / max_ticks.max(1) as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let norm = raw / mag;
    let nice = if norm <= 1.0 {
        1.0
    } else if norm <= 2.0 {
        2.0
    } else if norm <= 2.5 {
        2.5
    } else if norm <= 5.0 {
        5.0
    } else {
        10.0
    };
    nice * mag
}

/// Fewest decimals (up to 9) that write `step` exactly.
fn decimals_of(step: f64) -> usize {
    (0..=9)
        .find(|d| {
            let scaled = step * 10f64.powi(*d as i32);
            (scaled - scaled.round()).abs() < 1e-6 * scaled.abs().max(1.0)
        })
        .unwrap_or(9)
}

/// Ticks for data in [min, max]: the range snaps outwards to multiples of
/// a nice step. `include_zero` extends the range to 0 (counts, rates).
pub fn linear_ticks(min: f64, max: f64, include_zero: bool, max_ticks: usize) -> Ticks {
    let (mut lo, mut hi) = if min.is_finite() && max.is_finite() && min <= max {
        (min, max)
    } else {
        (0.0, 1.0)
    };
    if include_zero {
        lo = lo.min(0.0);
        hi = hi.max(0.0);
    }
    if hi - lo <= f64::EPSILON * hi.abs().max(1.0) {
        if hi == 0.0 {
            hi = 1.0;
        } else {
            let pad = hi.abs() * 0.1;
            if !(include_zero && lo == 0.0) {
                lo -= pad;
            }
            hi += pad;
        }
    }
    let step = nice_step(hi - lo, max_ticks);
    let k0 = (lo / step + 1e-9).floor() as i64;
    let k1 = (hi / step - 1e-9).ceil() as i64;
    let values: Vec<f64> = (k0..=k1).map(|k| k as f64 * step).collect();
    Ticks {
        lo: k0 as f64 * step,
        hi: k1 as f64 * step,
        values,
        decimals: decimals_of(step),
    }
}

/// Ticks for an axis that spans the data, padded by `pad` of the span on
/// each side, with nice ticks inside; `integer` keeps ticks on whole
/// numbers (attempts, queue sizes).
pub fn tight_ticks(min: f64, max: f64, max_ticks: usize, integer: bool, pad: f64) -> Ticks {
    if !(min.is_finite() && max.is_finite()) || max - min <= f64::EPSILON * max.abs().max(1.0) {
        let t = linear_ticks(min, max, false, max_ticks);
        return if t.values.len() >= 2 || !min.is_finite() {
            t
        } else {
            Ticks {
                lo: min - 1.0,
                hi: min + 1.0,
                values: vec![min],
                decimals: t.decimals,
            }
        };
    }
    let span = max - min;
    let (lo, hi) = (min - span * pad, max + span * pad);
    let mut step = nice_step(span, max_ticks);
    if integer {
        step = step.max(1.0).round();
    }
    let k0 = (lo / step - 1e-9).ceil() as i64;
    let k1 = (hi / step + 1e-9).floor() as i64;
    Ticks {
        lo,
        hi,
        values: (k0..=k1).map(|k| k as f64 * step).collect(),
        decimals: decimals_of(step),
    }
}

/// A short number: at most three decimals, trailing zeros dropped.
pub fn short(x: f64) -> String {
    let s = fixed(x, 3);
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// Ticks of a log10 axis for positive data in [min, max], returned in log10
/// units (plot `log10(y)` against them). Ticks are 1-2-5 times powers of
/// ten for narrow ranges, powers of ten for wide ones; the range snaps
/// outwards to the nearest tick.
pub fn log_ticks(min: f64, max: f64) -> Ticks {
    let (min, max) = if min > 0.0 && max >= min && max.is_finite() {
        (min, max)
    } else {
        (1.0, 10.0)
    };
    let e0 = min.log10().floor() as i32;
    let e1 = max.log10().ceil() as i32;
    let decades = (e1 - e0).max(1);
    let mantissas: &[f64] = if decades <= 2 {
        &[1.0, 2.0, 5.0]
    } else if decades <= 4 {
        &[1.0, 3.0]
    } else {
        &[1.0]
    };
    let mut candidates = Vec::new();
    for e in e0..=e1 {
        for m in mantissas {
            candidates.push(m * 10f64.powi(e));
        }
    }
    let eps = 1e-9;
    let lo = candidates
        .iter()
        .copied()
        .filter(|c| *c <= min * (1.0 + eps))
        .fold(candidates[0], f64::max);
    let hi = candidates
        .iter()
        .copied()
        .filter(|c| *c >= max * (1.0 - eps))
        .fold(*candidates.last().unwrap_or(&10.0), f64::min);
    let hi = if hi <= lo { lo * 10.0 } else { hi };
    let values: Vec<f64> = candidates
        .iter()
        .copied()
        .filter(|c| *c >= lo * (1.0 - eps) && *c <= hi * (1.0 + eps))
        .map(f64::log10)
        .collect();
    Ticks {
        lo: lo.log10(),
        hi: hi.log10(),
        values,
        decimals: 0,
    }
}

/// Inserts thousands separators into the integer part of a formatted number.
fn group_thousands(s: &str) -> String {
    let (sign, rest) = match s.strip_prefix('-') {
        Some(r) => ("-", r),
        None => ("", s),
    };
    let (int, frac) = match rest.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (rest, None),
    };
    let mut out = String::from(sign);
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if let Some(f) = frac {
        out.push('.');
        out.push_str(f);
    }
    out
}

/// A value with a fixed number of decimals and thousands separators;
/// never "-0".
pub fn fixed(x: f64, decimals: usize) -> String {
    let s = format!("{x:.decimals$}");
    let s = if s
        .trim_start_matches('-')
        .chars()
        .all(|c| c == '0' || c == '.')
    {
        s.trim_start_matches('-').to_string()
    } else {
        s
    };
    group_thousands(&s)
}

/// A tick label of a log axis (the tick is in log10 units).
pub fn log_label(t: f64) -> String {
    let v = 10f64.powf(t);
    let decimals = if v >= 1.0 {
        0
    } else {
        (-(v.log10().floor()) as usize).min(9)
    };
    fixed(v, decimals)
}

/// A value for tables and bar labels: integers as integers, others with
/// one to three decimals by magnitude (three significant digits below 1),
/// trailing zeros dropped.
pub fn human(x: f64) -> String {
    if !x.is_finite() {
        return "-".into();
    }
    if x.fract() == 0.0 && x.abs() < 1e15 {
        return fixed(x, 0);
    }
    let a = x.abs();
    let decimals = if a >= 100.0 {
        1
    } else if a >= 10.0 {
        2
    } else if a >= 1.0 {
        3
    } else if a == 0.0 {
        0
    } else {
        // Three significant digits.
        ((-(a.log10().floor())) as usize + 2).min(9)
    };
    let s = fixed(x, decimals);
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// A mean with its interval's half-width, both as tables show numbers
/// ([`human`]), the half-width with the mean's decimals (more if it would
/// read as zero); none for a metric that did not vary (half-width 0):
/// `95,940.8 ± 191.3`, `71,838 ± 335`, `3 ± 0.4`, `0.25`.
pub fn with_half_width(x: f64, half: f64) -> String {
    let main = human(x);
    if !half.is_finite() || half == 0.0 {
        return main;
    }
    let reads_zero = |s: &str| s.chars().all(|c| "0.,".contains(c));
    let decimals = main.split_once('.').map_or(0, |(_, d)| d.len());
    let mut shown = fixed(half.abs(), decimals);
    if reads_zero(&shown) {
        shown = human(half.abs());
    }
    if reads_zero(&shown) {
        main
    } else {
        format!("{main} ± {shown}")
    }
}

/// Text of a number for CSV files, without float noise
/// ([`sim_results::csv_number`]).
pub fn exact(x: f64) -> String {
    sim_results::csv_number(x)
}

/// Seconds in a duration string as the scenario format writes it ("50ms",
/// "1.5s", "2m", "100us", "0"); `None` for anything else.
pub fn parse_duration_s(text: &str) -> Option<f64> {
    let s = text.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (number, unit) = (&s[..split], s[split..].trim());
    if number.is_empty() || number.matches('.').count() > 1 {
        return None;
    }
    let x: f64 = number.parse().ok()?;
    let scale = match unit {
        "" if x == 0.0 => 0.0,
        "ns" => 1e-9,
        "us" | "µs" => 1e-6,
        "ms" => 1e-3,
        "s" => 1.0,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        _ => return None,
    };
    Some(x * scale)
}

/// Escapes text for HTML element content and attribute values.
pub fn html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// A file-name-safe form of a name: lower-case ASCII letters, digits and
/// dashes.
pub fn slug(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let out = out.trim_matches('-').to_string();
    if out.is_empty() { "x".into() } else { out }
}

/// Splits `text` into lines of at most about `width` characters, breaking
/// after spaces or commas; a word longer than `width` stays whole.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_inclusive([' ', ',']) {
        if !line.is_empty() && line.chars().count() + word.trim_end().chars().count() > width {
            lines.push(line.trim_end().to_string());
            line.clear();
        }
        line.push_str(word);
    }
    if !line.trim().is_empty() {
        lines.push(line.trim_end().to_string());
    }
    if lines.is_empty() {
        lines.push(String::new());
    }
    lines
}

/// Shortens `text` to at most `max` characters with an ellipsis.
pub fn ellipsize(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut s: String = text.chars().take(max.saturating_sub(1)).collect();
    s.push('…');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mean_and_its_half_width_read_alike() {
        assert_eq!(with_half_width(95940.8, 191.26), "95,940.8 ± 191.3");
        assert_eq!(with_half_width(71838.0, 335.41), "71,838 ± 335");
        assert_eq!(with_half_width(3.0, 0.4), "3 ± 0.4");
        assert_eq!(with_half_width(0.25, 0.0), "0.25");
        assert_eq!(with_half_width(12.5, f64::NAN), "12.5");
    }

    #[test]
    fn linear_ticks_are_nice_and_cover_the_data() {
        let t = linear_ticks(0.0, 37.0, true, 6);
        assert_eq!(t.values, vec![0.0, 10.0, 20.0, 30.0, 40.0]);
        assert_eq!((t.lo, t.hi, t.decimals), (0.0, 40.0, 0));
        let t = linear_ticks(1.02, 1.31, false, 6);
        assert!(t.lo <= 1.02 && t.hi >= 1.31, "{t:?}");
        assert_eq!(t.decimals, 2);
        // A constant series still gets a range.
        let t = linear_ticks(5.0, 5.0, true, 6);
        assert!(t.lo == 0.0 && t.hi >= 5.0, "{t:?}");
        let t = linear_ticks(5.0, 5.0, false, 6);
        assert!(t.lo < 5.0 && t.hi > 5.0, "{t:?}");
        let t = linear_ticks(0.0, 0.0, true, 6);
        assert_eq!((t.lo, t.hi), (0.0, 1.0));
    }

    #[test]
    fn tight_ticks_span_the_data() {
        let t = tight_ticks(1.0, 3.0, 10, true, 0.04);
        assert_eq!(t.values, vec![1.0, 2.0, 3.0]);
        assert!(t.lo < 1.0 && t.hi > 3.0 && t.hi < 3.5, "{t:?}");
        let t = tight_ticks(50.0, 400.0, 10, false, 0.04);
        assert_eq!(t.values.first(), Some(&50.0));
        assert_eq!(t.values.last(), Some(&400.0));
        let t = tight_ticks(5.0, 5.0, 10, true, 0.04);
        assert!(t.values.contains(&5.0) && t.lo < 5.0 && t.hi > 5.0, "{t:?}");
        assert_eq!(short(0.300), "0.3");
        assert_eq!(short(12.0), "12");
    }

    #[test]
    fn log_ticks_snap_to_one_two_five() {
        let t = log_ticks(42.0, 480.0);
        let labels: Vec<String> = t.values.iter().map(|v| log_label(*v)).collect();
        assert_eq!(labels, ["20", "50", "100", "200", "500"]);
        let t = log_ticks(0.3, 30_000.0);
        let labels: Vec<String> = t.values.iter().map(|v| log_label(*v)).collect();
        assert_eq!(labels.first().map(String::as_str), Some("0.1"));
        assert_eq!(labels.last().map(String::as_str), Some("100,000"));
        assert!(labels.contains(&"1,000".to_string()));
    }

    #[test]
    fn durations_parse_like_the_scenario_format() {
        assert_eq!(parse_duration_s("50ms"), Some(0.05));
        assert_eq!(parse_duration_s("1.5s"), Some(1.5));
        assert_eq!(parse_duration_s("2m"), Some(120.0));
        assert_eq!(parse_duration_s("0"), Some(0.0));
        assert_eq!(parse_duration_s("250us"), Some(0.00025));
        assert_eq!(parse_duration_s("5"), None);
        assert_eq!(parse_duration_s("fast"), None);
        assert_eq!(parse_duration_s("1.2.3s"), None);
    }

    #[test]
    fn numbers_read_well() {
        assert_eq!(human(1650.0), "1,650");
        assert_eq!(human(486.408192), "486.4");
        assert_eq!(human(0.1234), "0.123");
        assert_eq!(human(12.345), "12.35");
        assert_eq!(human(2.78), "2.78");
        assert_eq!(human(11.5), "11.5");
        assert_eq!(human(-0.0), "0");
        assert_eq!(fixed(-0.0001, 2), "0.00");
        assert_eq!(exact(2.0), "2");
        assert_eq!(exact(0.1), "0.1");
    }

    #[test]
    fn text_helpers() {
        assert_eq!(html("<a & \"b\">"), "&lt;a &amp; &quot;b&quot;&gt;");
        assert_eq!(
            slug("clients[0].retry.max_attempts"),
            "clients-0-retry-max-attempts"
        );
        assert_eq!(slug("../.."), "x");
        assert_eq!(
            wrap("FullJitter(base: 5ms, cap: 2s)", 12),
            ["FullJitter(base:", "5ms, cap:", "2s)"]
        );
        assert_eq!(ellipsize("abcdef", 4), "abc…");
    }
}
