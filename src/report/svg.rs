//! Charts as inline SVG: no script, no fonts or styles from elsewhere. Every
//! chart has a `<title>` and a `<desc>` (its text alternative), axis labels,
//! and one element of class `bar` or `point` per bar or point.

use std::fmt::Write;

use super::data::{Axis, Body, Chart, Point};

const W: f64 = 620.0;
const PLOT_H: f64 = 240.0;
const BAR_H: f64 = 20.0;
/// Lines draw their points as circles up to this many points.
const MAX_DOTS: usize = 400;

/// Escapes text for HTML and SVG content and attributes.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// A number for people: thousands grouped, at most 3 decimals.
pub fn number(v: f64) -> String {
    if !v.is_finite() {
        return "–".into();
    }
    if v.abs() >= 1e15 {
        return format!("{v:.3e}");
    }
    let rounded = (v * 1000.0).round() / 1000.0;
    let int = rounded.trunc().abs() as u64;
    let mut digits = int.to_string();
    let mut grouped = String::new();
    while digits.len() > 3 {
        let tail = digits.split_off(digits.len() - 3);
        grouped = format!(",{tail}{grouped}");
    }
    grouped = format!("{digits}{grouped}");
    let frac = (rounded.abs() - int as f64) * 1000.0;
    let sign = if rounded < 0.0 { "-" } else { "" };
    if frac.round() as u64 == 0 {
        format!("{sign}{grouped}")
    } else {
        let f = format!("{:03}", frac.round() as u64);
        format!("{sign}{grouped}.{}", f.trim_end_matches('0'))
    }
}

/// An axis tick: short numbers (1.2k, 3.4M) or dates.
pub fn tick(v: f64, axis: Axis) -> String {
    match axis {
        Axis::Number => short(v),
        Axis::Date | Axis::Datetime => {
            let Some(t) = chrono::DateTime::from_timestamp_millis(v as i64) else {
                return short(v);
            };
            if axis == Axis::Datetime && t.format("%H:%M:%S").to_string() != "00:00:00" {
                t.format("%Y-%m-%d %H:%M").to_string()
            } else {
                t.format("%Y-%m-%d").to_string()
            }
        }
    }
}

fn short(v: f64) -> String {
    let a = v.abs();
    let (x, unit) = if a >= 1e12 {
        (v / 1e12, "T")
    } else if a >= 1e9 {
        (v / 1e9, "G")
    } else if a >= 1e6 {
        (v / 1e6, "M")
    } else if a >= 1e4 {
        (v / 1e3, "k")
    } else {
        (v, "")
    };
    let text = if x.fract().abs() < 1e-9 || x.abs() >= 100.0 {
        format!("{x:.0}")
    } else if x.abs() >= 1.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.3}")
    };
    let text = if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    };
    format!("{text}{unit}")
}

/// Round tick values covering `[lo, hi]`: steps of 1, 2 or 5 × 10^k.
fn nice_ticks(lo: f64, hi: f64, want: usize) -> Vec<f64> {
    let (lo, hi) = if hi > lo {
        (lo, hi)
    } else {
        (lo - 1.0, lo + 1.0)
    };
    let raw = (hi - lo) / want.max(1) as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    let start = (lo / step).floor() * step;
    let mut ticks = Vec::new();
    let mut t = start;
    while t <= hi + step * 1e-9 && ticks.len() < 50 {
        ticks.push(t);
        t += step;
    }
    if ticks.last().is_some_and(|l| *l < hi) {
        ticks.push(t);
    }
    ticks
}

/// Evenly spread ticks for time axes (dates are not round numbers).
fn time_ticks(lo: f64, hi: f64, want: usize) -> Vec<f64> {
    if hi <= lo {
        return vec![lo];
    }
    (0..=want)
        .map(|i| lo + (hi - lo) * i as f64 / want as f64)
        .collect()
}

struct Frame {
    x0: f64,
    x1: f64,
    y0: f64,
    y1: f64,
}

impl Frame {
    fn sx(&self, v: f64, lo: f64, hi: f64) -> f64 {
        if hi > lo {
            self.x0 + (v - lo) / (hi - lo) * (self.x1 - self.x0)
        } else {
            (self.x0 + self.x1) / 2.0
        }
    }
    fn sy(&self, v: f64, lo: f64, hi: f64) -> f64 {
        if hi > lo {
            self.y1 - (v - lo) / (hi - lo) * (self.y1 - self.y0)
        } else {
            (self.y0 + self.y1) / 2.0
        }
    }
}

/// One chart as an `<svg>` element; `id` makes its title and desc ids unique.
pub fn render(chart: &Chart, id: &str) -> String {
    let (height, inner) = match &chart.body {
        Body::Bars(bars) => bars_svg(chart, bars),
        Body::Histogram { bins, axis } => histogram_svg(chart, bins, *axis),
        Body::Line { points, axis } => line_svg(chart, points, *axis),
        Body::Scatter {
            points,
            x_axis,
            y_axis,
        } => scatter_svg(chart, points, *x_axis, *y_axis),
    };
    format!(
        "<svg class=\"chart-svg\" role=\"img\" aria-labelledby=\"{id}-t {id}-d\" viewBox=\"0 0 {W} {height}\" width=\"{W}\" height=\"{height}\" xmlns=\"http://www.w3.org/2000/svg\"><title id=\"{id}-t\">{}</title><desc id=\"{id}-d\">{}</desc>{inner}</svg>",
        esc(&chart.title),
        esc(&chart.summary)
    )
}

fn clip_label(s: &str, max: usize) -> String {
    if s.chars().count() > max {
        format!("{}…", s.chars().take(max - 1).collect::<String>())
    } else {
        s.to_string()
    }
}

fn bars_svg(chart: &Chart, bars: &[(String, f64)]) -> (f64, String) {
    let mut s = String::new();
    let longest = bars
        .iter()
        .map(|b| b.0.chars().count().min(28))
        .max()
        .unwrap_or(4);
    let left = (longest as f64 * 6.6 + 34.0).clamp(70.0, 230.0);
    let top = 8.0;
    let f = Frame {
        x0: left,
        x1: W - 64.0,
        y0: top,
        y1: top + BAR_H * bars.len().max(1) as f64,
    };
    let max = bars
        .iter()
        .map(|b| b.1)
        .filter(|v| v.is_finite())
        .fold(0.0, f64::max);
    let min = bars
        .iter()
        .map(|b| b.1)
        .filter(|v| v.is_finite())
        .fold(0.0, f64::min);
    let ticks = nice_ticks(min, max, 5);
    let (lo, hi) = (ticks[0].min(0.0), *ticks.last().unwrap());
    for t in &ticks {
        let x = f.sx(*t, lo, hi);
        let _ = write!(s, "<line class=\"grid\" x1=\"{x:.1}\" y1=\"{:.1}\" x2=\"{x:.1}\" y2=\"{:.1}\"/><text class=\"tick\" x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>", f.y0, f.y1, f.y1 + 14.0, esc(&short(*t)));
    }
    for (i, (label, v)) in bars.iter().enumerate() {
        let y = f.y0 + BAR_H * i as f64;
        let v0 = if v.is_finite() { *v } else { 0.0 };
        let (a, b) = (f.sx(0.0_f64.max(lo), lo, hi), f.sx(v0, lo, hi));
        let (x, w) = (a.min(b), (b - a).abs().max(0.5));
        let _ = write!(
            s,
            "<g class=\"mark\"><rect class=\"bar\" x=\"{x:.1}\" y=\"{:.1}\" width=\"{w:.1}\" height=\"{:.1}\"><title>{}: {}</title></rect><text class=\"label\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text><text class=\"value\" x=\"{:.1}\" y=\"{:.1}\">{}</text></g>",
            y + 3.0,
            BAR_H - 6.0,
            esc(label),
            number(*v),
            f.x0 - 6.0,
            y + BAR_H / 2.0 + 4.0,
            esc(&clip_label(label, 28)),
            x + w + 4.0,
            y + BAR_H / 2.0 + 4.0,
            esc(&short(*v))
        );
    }
    let _ = write!(
        s,
        "<line class=\"axis\" x1=\"{:.1}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\"/>",
        f.x0, f.y0, f.x0, f.y1
    );
    let height = f.y1 + 44.0;
    axis_labels(&mut s, chart, &f, height);
    (height, s)
}

fn axis_labels(s: &mut String, chart: &Chart, f: &Frame, height: f64) {
    let _ = write!(
        s,
        "<text class=\"axis-label\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text><text class=\"axis-label\" transform=\"translate(14 {:.1}) rotate(-90)\" text-anchor=\"middle\">{}</text>",
        (f.x0 + f.x1) / 2.0,
        height - 8.0,
        esc(&chart.x_label),
        (f.y0 + f.y1) / 2.0,
        esc(&chart.y_label)
    );
}

fn plot_frame() -> Frame {
    Frame {
        x0: 72.0,
        x1: W - 40.0,
        y0: 12.0,
        y1: 12.0 + PLOT_H,
    }
}

/// Grid lines and tick labels of a plot; returns the axis ranges.
fn axes(
    s: &mut String,
    f: &Frame,
    xr: (f64, f64),
    x_axis: Axis,
    yr: (f64, f64),
    y_axis: Axis,
) -> ((f64, f64), (f64, f64)) {
    let xt = if x_axis == Axis::Number {
        nice_ticks(xr.0, xr.1, 6)
    } else {
        time_ticks(xr.0, xr.1, 4)
    };
    let yt = if y_axis == Axis::Number {
        nice_ticks(yr.0, yr.1, 5)
    } else {
        time_ticks(yr.0, yr.1, 4)
    };
    let xr = (xt[0].min(xr.0), xt.last().unwrap().max(xr.1));
    let yr = (yt[0].min(yr.0), yt.last().unwrap().max(yr.1));
    for t in &yt {
        let y = f.sy(*t, yr.0, yr.1);
        let _ = write!(s, "<line class=\"grid\" x1=\"{:.1}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\"/><text class=\"tick\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>", f.x0, f.x1, f.x0 - 6.0, y + 4.0, esc(&tick(*t, y_axis)));
    }
    for t in &xt {
        let x = f.sx(*t, xr.0, xr.1);
        let _ = write!(s, "<line class=\"tickmark\" x1=\"{x:.1}\" y1=\"{:.1}\" x2=\"{x:.1}\" y2=\"{:.1}\"/><text class=\"tick\" x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>", f.y1, f.y1 + 4.0, f.y1 + 16.0, esc(&tick(*t, x_axis)));
    }
    let _ = write!(
        s,
        "<line class=\"axis\" x1=\"{:.1}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\"/>",
        f.x0, f.y1, f.x1, f.y1
    );
    (xr, yr)
}

fn histogram_svg(chart: &Chart, bins: &[(f64, f64, u64)], axis: Axis) -> (f64, String) {
    let mut s = String::new();
    let f = plot_frame();
    let (lo, hi) = match (bins.first(), bins.last()) {
        (Some(a), Some(b)) => (a.0, b.1),
        _ => (0.0, 1.0),
    };
    let max = bins.iter().map(|b| b.2).max().unwrap_or(0) as f64;
    let (xr, yr) = axes(&mut s, &f, (lo, hi), axis, (0.0, max), Axis::Number);
    for (a, b, n) in bins {
        let (x0, x1) = (f.sx(*a, xr.0, xr.1), f.sx(*b, xr.0, xr.1));
        let y = f.sy(*n as f64, yr.0, yr.1);
        let _ = write!(
            s,
            "<rect class=\"bar\" x=\"{:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{:.1}\"><title>{} to {}: {} rows</title></rect>",
            x0 + 0.5,
            (x1 - x0 - 1.0).max(0.5),
            (f.y1 - y).max(0.0),
            esc(&tick(*a, axis)),
            esc(&tick(*b, axis)),
            number(*n as f64)
        );
    }
    let height = f.y1 + 44.0;
    axis_labels(&mut s, chart, &f, height);
    (height, s)
}

fn line_svg(chart: &Chart, points: &[(f64, f64)], axis: Axis) -> (f64, String) {
    let mut s = String::new();
    let f = plot_frame();
    let fold = |pick: fn(&(f64, f64)) -> f64| {
        points
            .iter()
            .map(pick)
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
                (a.min(v), b.max(v))
            })
    };
    let (xr, yr) = if points.is_empty() {
        ((0.0, 1.0), (0.0, 1.0))
    } else {
        (fold(|p| p.0), fold(|p| p.1))
    };
    let (xr, yr) = axes(&mut s, &f, xr, axis, (yr.0.min(0.0), yr.1), Axis::Number);
    let path: Vec<String> = points
        .iter()
        .enumerate()
        .map(|(i, (x, y))| {
            format!(
                "{}{:.1},{:.1}",
                if i == 0 { "M" } else { "L" },
                f.sx(*x, xr.0, xr.1),
                f.sy(*y, yr.0, yr.1)
            )
        })
        .collect();
    let _ = write!(s, "<path class=\"line\" d=\"{}\"/>", path.join(""));
    if points.len() <= MAX_DOTS {
        for (x, y) in points {
            let _ = write!(
                s,
                "<circle class=\"point\" cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\"><title>{}: {}</title></circle>",
                f.sx(*x, xr.0, xr.1),
                f.sy(*y, yr.0, yr.1),
                esc(&tick(*x, axis)),
                number(*y)
            );
        }
    }
    let height = f.y1 + 44.0;
    axis_labels(&mut s, chart, &f, height);
    (height, s)
}

fn scatter_svg(chart: &Chart, points: &[Point], x_axis: Axis, y_axis: Axis) -> (f64, String) {
    let mut s = String::new();
    let f = plot_frame();
    let fold = |pick: fn(&Point) -> f64| {
        points
            .iter()
            .map(pick)
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
                (a.min(v), b.max(v))
            })
    };
    let (xr, yr) = if points.is_empty() {
        ((0.0, 1.0), (0.0, 1.0))
    } else {
        (fold(|p| p.0), fold(|p| p.1))
    };
    let (xr, yr) = axes(&mut s, &f, xr, x_axis, yr, y_axis);
    let max = points.iter().map(|p| p.2).max().unwrap_or(1).max(1) as f64;
    for (x, y, n, label) in points {
        let r = 2.0 + 5.0 * (*n as f64 / max).sqrt();
        let what = label.clone().map(|l| format!("{l}: ")).unwrap_or_default();
        let _ = write!(
            s,
            "<circle class=\"point\" cx=\"{:.1}\" cy=\"{:.1}\" r=\"{r:.1}\"><title>{}{} {}, {} {} ({} rows)</title></circle>",
            f.sx(*x, xr.0, xr.1),
            f.sy(*y, yr.0, yr.1),
            esc(&what),
            esc(&chart.x_label),
            esc(&tick(*x, x_axis)),
            esc(&chart.y_label),
            esc(&tick(*y, y_axis)),
            number(*n as f64)
        );
    }
    let height = f.y1 + 44.0;
    axis_labels(&mut s, chart, &f, height);
    (height, s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_well() {
        assert_eq!(number(1234567.0), "1,234,567");
        assert_eq!(number(-0.5), "-0.5");
        assert_eq!(number(2.125), "2.125");
        assert_eq!(short(25_000.0), "25k");
        assert_eq!(short(1_500_000.0), "1.5M");
        assert_eq!(short(0.25), "0.25");
        assert_eq!(tick(0.0, Axis::Date), "1970-01-01");
    }

    #[test]
    fn ticks_are_round_and_cover_the_range() {
        let t = nice_ticks(3.0, 97.0, 5);
        assert!(t[0] <= 3.0 && *t.last().unwrap() >= 97.0, "{t:?}");
        assert!(t.iter().all(|v| v % 20.0 == 0.0), "{t:?}");
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(
            esc("<a href='x'>&</a>"),
            "&lt;a href=&#39;x&#39;&gt;&amp;&lt;/a&gt;"
        );
    }

    #[test]
    fn every_bar_is_a_rect_with_a_title() {
        let chart = Chart {
            kind: "bar",
            title: "t".into(),
            summary: "s".into(),
            x_label: "rows".into(),
            y_label: "state".into(),
            body: Body::Bars(vec![
                ("CA".into(), 10.0),
                ("NY".into(), 4.0),
                ("<x>".into(), 1.0),
            ]),
        };
        let svg = render(&chart, "c1");
        assert_eq!(svg.matches("class=\"bar\"").count(), 3);
        assert!(svg.contains("<title id=\"c1-t\">t</title><desc id=\"c1-d\">s</desc>"));
        assert!(svg.contains("&lt;x&gt;: 1"));
    }
}
