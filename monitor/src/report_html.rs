//! The drift report as one self-contained HTML page: the summary verdict,
//! a table of statistic / threshold / verdict per column (most severe
//! first), and per column the reference and current distributions as an
//! inline SVG bar chart. No scripts, no external files: it opens offline
//! and can be attached to an alert.

use std::fmt::Write;

use smelt_charts::escape;

use crate::report::{ColumnHistogram, ColumnReport, DriftReport};

const REFERENCE_COLOUR: &str = "#4c78a8";
const CURRENT_COLOUR: &str = "#f58518";

/// Renders `report` as HTML; `title` heads the page.
pub fn render(report: &DriftReport, title: &str) -> String {
    let mut page = String::new();
    let verdict = if report.dataset_drifted {
        "Dataset drift detected"
    } else {
        "No dataset drift"
    };
    let _ = write!(
        page,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>{title}</title><style>{STYLE}</style></head><body>\n\
         <h1>{title}</h1>\n\
         <p class=\"verdict {class}\">{verdict}: {drifted} of {tested} tested columns drifted \
         ({share:.0}%; the threshold is {threshold:.0}%){skipped}.</p>\n\
         <p>Reference: {reference_rows} rows. Current: {current_rows} rows. \
         Computed on: {compute}.</p>\n",
        title = escape(title),
        class = if report.dataset_drifted {
            "drift"
        } else {
            "ok"
        },
        drifted = report.drifted,
        tested = report.tested,
        share = report.drifted_share * 100.0,
        threshold = report.drift_share * 100.0,
        skipped = if report.skipped > 0 {
            format!("; {} skipped", report.skipped)
        } else {
            String::new()
        },
        reference_rows = report.reference_rows,
        current_rows = report.current_rows,
        compute = escape(&report.compute),
    );
    page.push_str(
        "<table><thead><tr><th>column</th><th>kind</th><th>test</th><th>statistic</th>\
         <th>p-value</th><th>threshold</th><th>verdict</th></tr></thead><tbody>\n",
    );
    for column in &report.columns {
        table_row(&mut page, column);
    }
    page.push_str("</tbody></table>\n<h2>Distributions</h2>\n<p class=\"legend\">");
    let _ = writeln!(
        page,
        "<span style=\"color:{REFERENCE_COLOUR}\">&#9632;</span> reference &nbsp; \
         <span style=\"color:{CURRENT_COLOUR}\">&#9632;</span> current (share of rows per bin)</p>"
    );
    for column in &report.columns {
        if let Some(histogram) = &column.histogram {
            let _ = writeln!(
                page,
                "<figure id=\"{id}\"><figcaption>{name} &mdash; {verdict}</figcaption>{svg}</figure>",
                id = escape(&column.column),
                name = escape(&column.column),
                verdict = escape(&column.verdict),
                svg = histogram_svg(histogram),
            );
        }
    }
    page.push_str("</body></html>\n");
    page
}

fn table_row(page: &mut String, column: &ColumnReport) {
    let number = |x: Option<f64>| match x {
        Some(x) if x.is_infinite() => "∞".to_string(),
        Some(x) if x != 0.0 && x.abs() < 1e-3 => format!("{x:.2e}"),
        Some(x) => format!("{x:.4}"),
        None => "—".to_string(),
    };
    let verdict = match &column.reason {
        Some(reason) => format!("skipped: {}", escape(reason)),
        None => escape(&column.verdict),
    };
    let class = match column.verdict.as_str() {
        "drift" => "drift",
        "skipped" => "skipped",
        _ => "ok",
    };
    let _ = writeln!(
        page,
        "<tr class=\"{class}\"><td><a href=\"#{id}\">{name}</a></td><td>{kind}</td><td>{test}</td>\
         <td>{statistic}</td><td>{p}</td><td>{threshold}</td><td>{verdict}</td></tr>",
        id = escape(&column.column),
        name = escape(&column.column),
        kind = escape(&column.kind),
        test = escape(column.test.as_deref().unwrap_or("—")),
        statistic = number(column.statistic),
        p = number(column.p_value),
        threshold = number(column.threshold),
    );
}

/// Grouped bars: per bin, the reference share beside the current share.
pub fn histogram_svg(histogram: &ColumnHistogram) -> String {
    const WIDTH: f64 = 560.0;
    const HEIGHT: f64 = 160.0;
    const BOTTOM: f64 = 20.0;
    let bins = histogram.labels.len().max(1);
    let shares = |counts: &[u64]| -> Vec<f64> {
        let total: u64 = counts.iter().sum();
        counts
            .iter()
            .map(|&c| {
                if total == 0 {
                    0.0
                } else {
                    c as f64 / total as f64
                }
            })
            .collect()
    };
    let (reference, current) = (shares(&histogram.reference), shares(&histogram.current));
    let top = reference
        .iter()
        .chain(&current)
        .copied()
        .fold(0.0_f64, f64::max)
        .max(1e-12);
    let slot = WIDTH / bins as f64;
    let bar = (slot / 2.0 - 1.0).max(0.5);
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{}\" \
         viewBox=\"0 0 {WIDTH} {}\" role=\"img\">",
        HEIGHT + BOTTOM,
        HEIGHT + BOTTOM
    );
    for (i, label) in histogram.labels.iter().enumerate() {
        let x = i as f64 * slot;
        for (offset, (share, colour, side)) in [
            (reference[i], REFERENCE_COLOUR, "reference"),
            (current[i], CURRENT_COLOUR, "current"),
        ]
        .into_iter()
        .enumerate()
        {
            let height = share / top * (HEIGHT - 4.0);
            let _ = write!(
                svg,
                "<rect class=\"{side}\" x=\"{:.1}\" y=\"{:.1}\" width=\"{bar:.1}\" height=\"{height:.1}\" \
                 fill=\"{colour}\"><title>{} {side}: {:.1}%</title></rect>",
                x + 1.0 + offset as f64 * (bar + 0.5),
                HEIGHT - height,
                escape(label),
                share * 100.0
            );
        }
    }
    let first = histogram.labels.first().map_or("", String::as_str);
    let last = histogram.labels.last().map_or("", String::as_str);
    let _ = write!(
        svg,
        "<line x1=\"0\" y1=\"{HEIGHT}\" x2=\"{WIDTH}\" y2=\"{HEIGHT}\" stroke=\"#888\"/>\
         <text x=\"0\" y=\"{}\" font-size=\"11\">{}</text>\
         <text x=\"{WIDTH}\" y=\"{}\" font-size=\"11\" text-anchor=\"end\">{}</text></svg>",
        HEIGHT + 14.0,
        escape(first),
        HEIGHT + 14.0,
        escape(last),
    );
    svg
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2em;color:#222}\
table{border-collapse:collapse;margin:1em 0}th,td{padding:4px 10px;border-bottom:1px solid #ddd;\
text-align:left}tr.drift td{background:#fde2e1}tr.skipped td{color:#888}\
.verdict{font-size:1.2em;font-weight:600}.verdict.drift{color:#b3261e}.verdict.ok{color:#1e6b34}\
figure{display:inline-block;margin:0 1.5em 1.5em 0}figcaption{font-weight:600;margin-bottom:4px}";
