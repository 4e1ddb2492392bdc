//! SVG charts drawn in Rust: metric curves, overlaid runs, drift over time,
//! live traffic. Plain numbers and strings in, one `<svg>` out, no IO and no
//! dependencies, so the web UI (`smelt-ui`) and a notebook (`smelt-notebook`,
//! compiled again by evcxr) draw the same picture at no build cost.
//!
//! Every plotted value is a `<circle class="point">` with a `<title>` that a
//! browser shows on hover (and a test can count); lines join the points of
//! one series in x order.

use std::fmt::Write;

/// Colours of successive series (Tableau 10: tells apart well, prints well).
const PALETTE: [&str; 10] = [
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
    "#9c755f", "#bab0ac",
];

/// One named series of (x, y) points.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
}

impl Series {
    pub fn new(name: impl Into<String>, points: Vec<(f64, f64)>) -> Series {
        Series {
            name: name.into(),
            points,
        }
    }
}

/// A line chart of one or more series against a shared x axis.
#[derive(Debug, Clone, PartialEq)]
pub struct LineChart {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub series: Vec<Series>,
    /// A dashed horizontal line (a drift threshold, say) and its label.
    pub threshold: Option<(f64, String)>,
    pub width: u32,
    pub height: u32,
}

impl LineChart {
    pub fn new(title: impl Into<String>) -> LineChart {
        LineChart {
            title: title.into(),
            x_label: "step".to_string(),
            y_label: String::new(),
            series: Vec::new(),
            threshold: None,
            width: 560,
            height: 300,
        }
    }

    pub fn x_label(mut self, label: impl Into<String>) -> LineChart {
        self.x_label = label.into();
        self
    }

    pub fn y_label(mut self, label: impl Into<String>) -> LineChart {
        self.y_label = label.into();
        self
    }

    pub fn series(mut self, series: Series) -> LineChart {
        self.series.push(series);
        self
    }

    pub fn threshold(mut self, y: f64, label: impl Into<String>) -> LineChart {
        self.threshold = Some((y, label.into()));
        self
    }

    pub fn size(mut self, width: u32, height: u32) -> LineChart {
        self.width = width;
        self.height = height;
        self
    }

    /// The chart as a standalone `<svg>` element. Non-finite values are
    /// left out of the picture (and said in the point count of the legend).
    pub fn to_svg(&self) -> String {
        let (width, height) = (f64::from(self.width), f64::from(self.height));
        let (left, right, top, bottom) = (64.0, 16.0, 28.0, 58.0);
        let plot_w = (width - left - right).max(10.0);
        let plot_h = (height - top - bottom).max(10.0);
        let finite: Vec<(f64, f64)> = self
            .series
            .iter()
            .flat_map(|s| s.points.iter().copied())
            .filter(|(x, y)| x.is_finite() && y.is_finite())
            .chain(self.threshold.iter().map(|(y, _)| (f64::NAN, *y)))
            .collect();
        let xs = Range::of(finite.iter().map(|p| p.0).filter(|x| x.is_finite()));
        let ys = Range::of(finite.iter().map(|p| p.1).filter(|y| y.is_finite()));
        let sx = |x: f64| left + (x - xs.low) / xs.span() * plot_w;
        let sy = |y: f64| top + plot_h - (y - ys.low) / ys.span() * plot_h;

        // The legend wraps onto more rows below the plot when it is wide.
        let mut legend = Vec::with_capacity(self.series.len());
        let (mut legend_x, mut legend_row) = (left, 0u32);
        for series in &self.series {
            let entry = 24.0 + 6.5 * series.name.chars().count() as f64;
            if legend_x > left && legend_x + entry > width - right {
                legend_x = left;
                legend_row += 1;
            }
            legend.push((legend_x, legend_row));
            legend_x += entry;
        }
        let total_height = height + 14.0 * f64::from(legend_row);
        let mut svg = String::new();
        let _ = write!(
            svg,
            r#"<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="sans-serif" font-size="11">"#,
            w = self.width,
            h = total_height
        );
        let _ = write!(
            svg,
            r#"<title>{}</title><text x="{left}" y="16" font-size="13" font-weight="bold">{}</text>"#,
            escape(&self.title),
            escape(&self.title)
        );
        // Axes and ticks.
        let _ = write!(
            svg,
            r##"<g stroke="#999" stroke-width="1"><line x1="{left}" y1="{y0}" x2="{x1}" y2="{y0}"/><line x1="{left}" y1="{top}" x2="{left}" y2="{y0}"/></g>"##,
            y0 = top + plot_h,
            x1 = left + plot_w
        );
        for tick in ys.ticks() {
            let y = sy(tick);
            let _ = write!(
                svg,
                r##"<line x1="{left}" y1="{y:.1}" x2="{x1:.1}" y2="{y:.1}" stroke="#eee"/><text x="{tx:.1}" y="{ty:.1}" text-anchor="end" fill="#555">{label}</text>"##,
                x1 = left + plot_w,
                tx = left - 4.0,
                ty = y + 4.0,
                label = format_tick(tick)
            );
        }
        for tick in xs.ticks() {
            let x = sx(tick);
            let _ = write!(
                svg,
                r##"<text x="{x:.1}" y="{ty:.1}" text-anchor="middle" fill="#555">{label}</text>"##,
                ty = top + plot_h + 14.0,
                label = format_tick(tick)
            );
        }
        let _ = write!(
            svg,
            r##"<text x="{x:.1}" y="{y:.1}" text-anchor="middle" fill="#333">{}</text>"##,
            escape(&self.x_label),
            x = left + plot_w / 2.0,
            y = top + plot_h + 30.0,
        );
        if !self.y_label.is_empty() {
            let _ = write!(
                svg,
                r##"<text transform="translate(14 {y:.1}) rotate(-90)" text-anchor="middle" fill="#333">{}</text>"##,
                escape(&self.y_label),
                y = top + plot_h / 2.0
            );
        }
        if let Some((value, label)) = &self.threshold {
            let y = sy(*value);
            let _ = write!(
                svg,
                r##"<line class="threshold" x1="{left}" y1="{y:.1}" x2="{x1:.1}" y2="{y:.1}" stroke="#c00" stroke-dasharray="4 3"/><text x="{x1:.1}" y="{ty:.1}" text-anchor="end" fill="#c00">{}</text>"##,
                escape(label),
                x1 = left + plot_w,
                ty = y - 3.0
            );
        }
        // Series: a line, then its points.
        for (index, series) in self.series.iter().enumerate() {
            let colour = PALETTE[index % PALETTE.len()];
            let mut points: Vec<(f64, f64)> = series
                .points
                .iter()
                .copied()
                .filter(|(x, y)| x.is_finite() && y.is_finite())
                .collect();
            points.sort_by(|a, b| a.0.total_cmp(&b.0));
            let _ = write!(
                svg,
                r#"<g class="series" data-series="{}" fill="{colour}" stroke="{colour}">"#,
                escape(&series.name)
            );
            if points.len() > 1 {
                svg.push_str(r#"<polyline fill="none" stroke-width="1.5" points=""#);
                for (x, y) in &points {
                    let _ = write!(svg, "{:.1},{:.1} ", sx(*x), sy(*y));
                }
                svg.push_str(r#""/>"#);
            }
            // Thousands of points would be a wall of circles: smaller ones.
            let radius = if points.len() > 200 { 1.2 } else { 2.5 };
            for (x, y) in &points {
                let _ = write!(
                    svg,
                    r#"<circle class="point" cx="{:.1}" cy="{:.1}" r="{radius}" stroke="none"><title>{}: {} = {}</title></circle>"#,
                    sx(*x),
                    sy(*y),
                    escape(&series.name),
                    format_tick(*x),
                    format_value(*y)
                );
            }
            svg.push_str("</g>");
        }
        // Legend under the x label, one entry per series.
        for (index, (series, (x, row))) in self.series.iter().zip(legend).enumerate() {
            let colour = PALETTE[index % PALETTE.len()];
            let label = escape(&series.name);
            let y = height - 10.0 + 14.0 * f64::from(row);
            let _ = write!(
                svg,
                r##"<rect x="{x:.1}" y="{ry:.1}" width="10" height="10" fill="{colour}"/><text x="{tx:.1}" y="{y:.1}" fill="#333">{label}</text>"##,
                ry = y - 9.0,
                tx = x + 14.0
            );
        }
        if finite.is_empty() {
            let _ = write!(
                svg,
                r##"<text x="{x:.1}" y="{y:.1}" text-anchor="middle" fill="#888">no values yet</text>"##,
                x = left + plot_w / 2.0,
                y = top + plot_h / 2.0
            );
        }
        svg.push_str("</svg>");
        svg
    }
}

/// The span of the values, widened so it is never empty.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Range {
    low: f64,
    high: f64,
}

impl Range {
    fn of(values: impl Iterator<Item = f64>) -> Range {
        let (mut low, mut high) = (f64::INFINITY, f64::NEG_INFINITY);
        for value in values {
            low = low.min(value);
            high = high.max(value);
        }
        if !low.is_finite() {
            return Range {
                low: 0.0,
                high: 1.0,
            };
        }
        if high - low < f64::EPSILON * low.abs().max(1.0) {
            let pad = (low.abs() * 0.1).max(1.0);
            return Range {
                low: low - pad,
                high: high + pad,
            };
        }
        Range { low, high }
    }

    fn span(&self) -> f64 {
        self.high - self.low
    }

    /// About five round tick values inside the range (1, 2 or 5 × 10^k apart).
    fn ticks(&self) -> Vec<f64> {
        let raw = self.span() / 5.0;
        let magnitude = 10f64.powf(raw.log10().floor());
        let step = [1.0, 2.0, 5.0, 10.0]
            .iter()
            .map(|m| m * magnitude)
            .find(|step| *step >= raw)
            .unwrap_or(raw);
        let first = (self.low / step).ceil() * step;
        (0..12)
            .map(|i| first + f64::from(i) * step)
            .take_while(|t| *t <= self.high + step * 1e-9)
            .collect()
    }
}

/// A tick label: integers plainly, others to 4 significant digits.
pub fn format_tick(value: f64) -> String {
    if value == value.trunc() && value.abs() < 1e9 {
        format!("{value:.0}")
    } else {
        format_value(value)
    }
}

/// A value for people: 4 significant digits, exponent when tiny or huge.
pub fn format_value(value: f64) -> String {
    if !value.is_finite() {
        return value.to_string();
    }
    let magnitude = value.abs();
    if magnitude != 0.0 && !(1e-3..1e6).contains(&magnitude) {
        return format!("{value:.3e}");
    }
    let text = format!("{value:.4}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" {
        "0".to_string()
    } else {
        text.to_string()
    }
}

/// Escapes text for SVG/HTML content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_finite_value_is_one_point_and_names_are_escaped() {
        let chart = LineChart::new("loss <train>")
            .series(Series::new(
                "a&b",
                vec![(0.0, 1.0), (1.0, 0.5), (2.0, f64::NAN)],
            ))
            .series(Series::new("c", vec![(0.0, 2.0)]));
        let svg = chart.to_svg();
        assert_eq!(svg.matches(r#"class="point""#).count(), 3);
        assert!(svg.contains("loss &lt;train&gt;"));
        assert!(svg.contains(r#"data-series="a&amp;b""#));
        assert!(!svg.contains("<train>"));
        assert_eq!(
            svg.matches("<polyline").count(),
            1,
            "a one-point series has no line"
        );
    }

    #[test]
    fn a_wide_legend_wraps_and_the_picture_grows() {
        let mut chart = LineChart::new("drift");
        for name in [
            "alcohol",
            "malic_acid",
            "color_intensity",
            "proline",
            "magnesium",
            "nonflavanoid_phenols",
            "od280_od315_of_diluted_wines",
            "hue",
        ] {
            chart = chart.series(Series::new(name, vec![(1.0, 0.5)]));
        }
        let svg = chart.to_svg();
        assert!(
            !svg.contains(r#"height="300""#),
            "taller than one legend row: {svg}"
        );
        let widest = svg
            .split(r#"<text x=""#)
            .skip(1)
            .filter_map(|rest| rest.split('"').next()?.parse::<f64>().ok())
            .fold(0.0, f64::max);
        assert!(widest < 560.0, "{widest}");
    }

    #[test]
    fn constant_and_empty_series_still_draw() {
        let flat = LineChart::new("flat")
            .series(Series::new("s", vec![(1.0, 3.0), (2.0, 3.0)]))
            .to_svg();
        assert!(!flat.contains("NaN"), "{flat}");
        let empty = LineChart::new("empty").to_svg();
        assert!(empty.contains("no values yet"));
    }

    #[test]
    fn ticks_are_round_and_inside_the_range() {
        let ticks = Range {
            low: 0.03,
            high: 0.97,
        }
        .ticks();
        assert_eq!(ticks.first().copied(), Some(0.2));
        assert!(ticks.iter().all(|t| (0.03..=0.97).contains(t)));
        assert_eq!(format_value(0.123456), "0.1235");
        assert_eq!(format_value(2.0), "2");
        assert_eq!(format_value(1.5e-7), "1.500e-7");
    }
}
