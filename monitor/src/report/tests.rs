use smelt_data::{Column, Frame};

use super::*;
use crate::report_html;

/// Deterministic normal-ish values (sum of uniforms) from a seed.
fn sample(seed: u64, n: usize, mean: f64) -> Vec<f64> {
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            let mut total = 0.0;
            for _ in 0..6 {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                total += (state >> 11) as f64 / (1u64 << 53) as f64;
            }
            mean + (total - 3.0)
        })
        .collect()
}

fn labels(pattern: &[&str], n: usize) -> Vec<Option<String>> {
    (0..n)
        .map(|i| Some(pattern[i % pattern.len()].to_string()))
        .collect()
}

fn frames() -> (Frame, Frame) {
    let n = 600;
    let reference = Frame::new(vec![
        Column::numeric("stable", sample(1, n, 0.0)),
        Column::numeric("shifted", sample(2, n, 0.0)),
        Column::categorical("plan", labels(&["free", "basic", "pro"], n)),
        Column::numeric("constant", vec![7.0; n]),
        Column::numeric("gone", sample(3, n, 0.0)),
        Column::numeric("empty_now", sample(4, n, 0.0)),
    ])
    .unwrap();
    let current = Frame::new(vec![
        Column::numeric("stable", sample(5, n, 0.0)),
        Column::numeric("shifted", sample(6, n, 1.5)),
        Column::categorical("plan", labels(&["free", "basic", "pro", "enterprise"], n)),
        Column::numeric("constant", vec![7.0; n]),
        Column::numeric("empty_now", vec![f64::NAN; n]),
    ])
    .unwrap();
    (reference, current)
}

fn column<'a>(report: &'a DriftReport, name: &str) -> &'a ColumnReport {
    report.columns.iter().find(|c| c.column == name).unwrap()
}

#[test]
fn a_shifted_column_drifts_and_leads_the_report() {
    let (reference, current) = frames();
    let report = DriftReport::compare_default(&reference, &current);
    let shifted = column(&report, "shifted");
    assert_eq!(shifted.test.as_deref(), Some("ks"));
    assert!(shifted.drifted && shifted.verdict == "drift");
    assert!(shifted.p_value.unwrap() < 1e-10);
    assert!(shifted.severity > 1.0);
    let stable = column(&report, "stable");
    assert_eq!(stable.verdict, "no drift", "{stable:?}");
    assert!(stable.severity < 1.0);
    // Most severe first; skipped last.
    assert!(report.columns[0].drifted);
    assert_eq!(report.columns.last().unwrap().verdict, "skipped");
    let severities: Vec<f64> = report.columns.iter().map(|c| c.severity).collect();
    assert!(
        severities.windows(2).all(|w| w[0] >= w[1]),
        "{severities:?}"
    );
}

#[test]
fn bad_columns_are_reported_as_skipped_with_the_reason_never_nan() {
    let (reference, current) = frames();
    let report = DriftReport::compare_default(&reference, &current);
    assert_eq!(
        column(&report, "gone").reason.as_deref(),
        Some("the column is missing from the current data")
    );
    assert_eq!(
        column(&report, "empty_now").reason.as_deref(),
        Some("every current value is missing")
    );
    assert_eq!(
        column(&report, "constant").reason.as_deref(),
        Some("the column holds one value on both sides")
    );
    // A category new in the current data is drift with an infinite χ².
    let plan = column(&report, "plan");
    assert_eq!(plan.test.as_deref(), Some("chisquare"));
    assert!(plan.drifted);
    assert_eq!(report.skipped, 3);
    assert_eq!(report.tested, 3);
    assert_eq!(report.drifted, 2);
    assert!(report.dataset_drifted);
    let json = report.to_json();
    assert!(!json.contains("NaN") && !json.contains("null,\n      \"drifted\": true"));
    let parsed: DriftReport = serde_json::from_str(&json).unwrap();
    assert_eq!(parsed.columns.len(), report.columns.len());
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    let first = &value["columns"][0];
    for key in [
        "column",
        "test",
        "statistic",
        "p_value",
        "threshold",
        "drifted",
    ] {
        assert!(first.get(key).is_some(), "{key} missing in {first}");
    }
}

#[test]
fn histograms_share_bins_between_reference_and_current() {
    let (reference, current) = frames();
    let report = DriftReport::compare_default(&reference, &current);
    let histogram = column(&report, "shifted").histogram.as_ref().unwrap();
    assert_eq!(histogram.labels.len(), HISTOGRAM_BINS);
    assert_eq!(histogram.reference.iter().sum::<u64>(), 600);
    assert_eq!(histogram.current.iter().sum::<u64>(), 600);
    let plan = column(&report, "plan").histogram.as_ref().unwrap();
    let enterprise = plan.labels.iter().position(|l| l == "enterprise").unwrap();
    assert_eq!(plan.reference[enterprise], 0);
    assert_eq!(plan.current[enterprise], 150);
}

#[test]
fn the_html_page_has_the_verdict_a_sorted_table_and_a_chart_per_column() {
    let (reference, current) = frames();
    let report = DriftReport::compare_default(&reference, &current);
    let html = report_html::render(&report, "Drift <report>");
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("<h1>Drift &lt;report&gt;</h1>"));
    assert!(html.contains("Dataset drift detected: 2 of 3 tested columns drifted"));
    let shifted = html.find("<a href=\"#shifted\">").unwrap();
    let stable = html.find("<a href=\"#stable\">").unwrap();
    assert!(shifted < stable, "drifted columns come first");
    assert!(html.contains("skipped: every current value is missing"));
    let charts = html.matches("<svg").count();
    let with_histograms = report
        .columns
        .iter()
        .filter(|c| c.histogram.is_some())
        .count();
    assert_eq!(charts, with_histograms);
    assert!(html.contains("class=\"current\""));
}

#[test]
fn reports_on_column_groups_merge_into_the_whole_report() {
    let (reference, current) = frames();
    let whole = DriftReport::compare_default(&reference, &current);
    let names: Vec<String> = reference.names().iter().map(|n| n.to_string()).collect();
    let parts = names
        .chunks(2)
        .map(|group| {
            let pick = |frame: &Frame| {
                let present: Vec<String> = group
                    .iter()
                    .filter(|n| frame.column(n).is_some())
                    .cloned()
                    .collect();
                frame.select(&present, "").unwrap()
            };
            DriftReport::compare_default(&pick(&reference), &pick(&current))
        })
        .collect();
    let merged = DriftReport::merge(parts, DEFAULT_DRIFT_SHARE);
    assert_eq!(merged, whole);
}
