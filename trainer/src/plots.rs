//! Plots logged with every run, as standalone SVG (no plotting dependency,
//! viewable in any browser and in MLflow's artifact viewer): a confusion
//! matrix for classifiers, predicted-vs-residual for regressors.

use std::fmt::Write;

use smelt_charts::escape;

/// `matrix[truth][predicted]` counts with class labels; cells shaded by the
/// share of their true class.
pub fn confusion_matrix_svg(title: &str, classes: &[String], matrix: &[Vec<u64>]) -> String {
    let k = classes.len().max(1);
    let cell = (360 / k).clamp(18, 60);
    let (left, top) = (120, 60);
    let width = left + cell * k + 20;
    let height = top + cell * k + 60;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="12">"#
    );
    let _ = write!(
        svg,
        r#"<text x="{}" y="24" font-size="15" text-anchor="middle">{}</text>"#,
        width / 2,
        escape(title)
    );
    let _ = write!(
        svg,
        r#"<text x="{}" y="{}" text-anchor="middle">predicted</text>"#,
        left + cell * k / 2,
        top + cell * k + 45
    );
    let _ = write!(
        svg,
        r#"<text x="14" y="{}" transform="rotate(-90 14 {})" text-anchor="middle">true</text>"#,
        top + cell * k / 2,
        top + cell * k / 2
    );
    for (t, row) in matrix.iter().enumerate() {
        let total: u64 = row.iter().sum::<u64>().max(1);
        for (p, &count) in row.iter().enumerate() {
            let share = count as f64 / total as f64;
            let shade = (255.0 - share * 200.0) as u8;
            let (x, y) = (left + p * cell, top + t * cell);
            let _ = write!(
                svg,
                r#"<rect x="{x}" y="{y}" width="{cell}" height="{cell}" fill="rgb({shade},{shade},255)" stroke="white"/><text x="{}" y="{}" text-anchor="middle" fill="{}">{count}</text>"#,
                x + cell / 2,
                y + cell / 2 + 4,
                if share > 0.6 { "white" } else { "black" }
            );
        }
    }
    for (i, label) in classes.iter().enumerate() {
        let label = escape(&label.chars().take(14).collect::<String>());
        let _ = write!(
            svg,
            r#"<text x="{}" y="{}" text-anchor="end">{label}</text>"#,
            left - 6,
            top + i * cell + cell / 2 + 4
        );
        let _ = write!(
            svg,
            r#"<text x="{}" y="{}" text-anchor="middle">{label}</text>"#,
            left + i * cell + cell / 2,
            top + k * cell + 16
        );
    }
    svg.push_str("</svg>");
    svg
}

/// Residuals (truth − predicted) against predictions, with the zero line.
pub fn residual_plot_svg(title: &str, truth: &[f64], predicted: &[f64]) -> String {
    let (w, h, margin) = (480.0, 360.0, 50.0);
    let residuals: Vec<f64> = truth.iter().zip(predicted).map(|(t, p)| t - p).collect();
    let (pmin, pmax) = bounds(predicted);
    let (rmin, rmax) = bounds(&residuals);
    let r = rmax.abs().max(rmin.abs()).max(1e-12);
    let sx = |x: f64| margin + (x - pmin) / (pmax - pmin).max(1e-12) * (w - 2.0 * margin);
    let sy = |y: f64| h / 2.0 - y / r * (h / 2.0 - margin);
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="12">"#
    );
    let _ = write!(
        svg,
        r#"<text x="{}" y="22" font-size="15" text-anchor="middle">{}</text>"#,
        w / 2.0,
        escape(title)
    );
    let _ = write!(
        svg,
        r##"<line x1="{margin}" y1="{0}" x2="{1}" y2="{0}" stroke="#888" stroke-dasharray="4"/>"##,
        h / 2.0,
        w - margin
    );
    for (p, res) in predicted.iter().zip(&residuals) {
        let _ = write!(
            svg,
            r##"<circle cx="{:.1}" cy="{:.1}" r="2.5" fill="#3366cc" fill-opacity="0.6"/>"##,
            sx(*p),
            sy(*res)
        );
    }
    let _ = write!(
        svg,
        r#"<text x="{}" y="{}" text-anchor="middle">predicted ({pmin:.3} to {pmax:.3})</text>"#,
        w / 2.0,
        h - 12.0
    );
    let _ = write!(
        svg,
        r#"<text x="14" y="{0}" transform="rotate(-90 14 {0})" text-anchor="middle">residual (±{r:.3})</text>"#,
        h / 2.0
    );
    svg.push_str("</svg>");
    svg
}

fn bounds(values: &[f64]) -> (f64, f64) {
    let min = values.iter().copied().fold(f64::INFINITY, f64::min);
    let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if min.is_finite() {
        (min, max)
    } else {
        (0.0, 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confusion_matrix_shows_counts_and_escaped_labels() {
        let svg = confusion_matrix_svg("t", &["a<b".into(), "c".into()], &[vec![5, 1], vec![0, 7]]);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains(">7</text>") && svg.contains("a&lt;b"));
    }

    #[test]
    fn residual_plot_has_a_point_per_row() {
        let svg = residual_plot_svg("r", &[1.0, 2.0, 3.0], &[1.5, 2.0, 2.0]);
        assert_eq!(svg.matches("<circle").count(), 3);
    }
}
