//! A drift report: every column of a reference and a current table tested
//! with its default (or overridden) test, dataset drift, and the histograms
//! a person needs to see what moved.
//!
//! [`DriftReport::compare`] builds one from two [`Frame`]s; it never fails
//! on bad data: a column missing on one side, all-missing, constant, or too
//! small for its test is a row with `verdict: "skipped"` and a reason, never
//! a panic or a NaN verdict. [`DriftReport::to_json`] is the machine form;
//! [`crate::report_html`] renders the page.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use smelt_data::{Frame, Values};
use smelt_gpu_kernels::{BinnedColumn, Compute, for_each_row};

use crate::drift::{
    ColumnOutcome, DEFAULT_DRIFT_SHARE, DatasetDrift, SkipReason, TestPlan, dataset_drift,
    test_category_counts, test_numeric_column,
};

/// Bins of the numeric histograms in reports.
const HISTOGRAM_BINS: usize = 20;
/// Categories shown per categorical histogram (the rest are summed as "other").
const HISTOGRAM_CATEGORIES: usize = 20;

/// The whole report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DriftReport {
    /// Rows in the reference and current tables.
    pub reference_rows: usize,
    /// Rows in the current table.
    pub current_rows: usize,
    /// The summary verdict: the share of drifted columns reached `drift_share`.
    pub dataset_drifted: bool,
    /// Drifted columns / tested columns.
    pub drifted_share: f64,
    /// The share at which the dataset counts as drifted.
    pub drift_share: f64,
    /// Columns tested.
    pub tested: usize,
    /// Tested columns that drifted.
    pub drifted: usize,
    /// Columns not tested (see each column's `reason`).
    pub skipped: usize,
    /// One entry per column, most severe first.
    pub columns: Vec<ColumnReport>,
    /// Where the heavy sums ran: `cpu`, or `gpu: ADAPTER (API, TYPE)`.
    #[serde(default = "cpu")]
    pub compute: String,
}

/// Most severe first; ties by name.
fn sort_by_severity(columns: &mut [ColumnReport]) {
    columns.sort_by(|a, b| {
        b.severity
            .total_cmp(&a.severity)
            .then_with(|| a.column.cmp(&b.column))
    });
}

fn cpu() -> String {
    "cpu".to_string()
}

/// One column of both tables.
struct ColumnPair<'a> {
    name: &'a str,
    reference: Option<&'a Values>,
    current: Option<&'a Values>,
}

/// One column's line in the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColumnReport {
    /// The column.
    pub column: String,
    /// `numeric` or `categorical`.
    pub kind: String,
    /// The test used (`ks`, `chisquare`, `wasserstein`, ...); absent when skipped.
    pub test: Option<String>,
    /// The statistic (a distance, D, χ²...); absent when skipped. Infinite
    /// χ² (a category new in the current data) is written as a string.
    #[serde(with = "finite_or_text")]
    pub statistic: Option<f64>,
    /// The p-value, for hypothesis tests.
    pub p_value: Option<f64>,
    /// The threshold the verdict compares against: the p-value below which,
    /// or the distance from which, the column drifted.
    pub threshold: Option<f64>,
    /// Whether the column drifted (false when skipped).
    pub drifted: bool,
    /// `drift`, `no drift` or `skipped`.
    pub verdict: String,
    /// Why the column was skipped.
    pub reason: Option<String>,
    /// How far past its threshold the column is: above 1 means drifted
    /// (threshold/p for p-values, statistic/threshold for distances); the
    /// report's sort key.
    pub severity: f64,
    /// Reference and current distributions on shared bins.
    pub histogram: Option<ColumnHistogram>,
}

/// Reference and current counts on the same bins.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColumnHistogram {
    /// Bin labels: `[lo, hi)` ranges or category names.
    pub labels: Vec<String>,
    /// Reference counts per bin.
    pub reference: Vec<u64>,
    /// Current counts per bin.
    pub current: Vec<u64>,
}

impl DriftReport {
    /// Compares every column of `reference` with the same column of
    /// `current` (columns of either side; extra current columns are skipped
    /// as missing in the reference).
    pub fn compare(reference: &Frame, current: &Frame, plan: &TestPlan, drift_share: f64) -> Self {
        let mut names: Vec<&str> = reference.names();
        for name in current.names() {
            if !names.contains(&name) {
                names.push(name);
            }
        }
        let pairs: Vec<ColumnPair<'_>> = names
            .into_iter()
            .map(|name| ColumnPair {
                name,
                reference: reference.column(name).map(|c| &c.values),
                current: current.column(name).map(|c| &c.values),
            })
            .collect();
        // Columns are independent: spread them over the cores.
        let threads = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(pairs.len().max(1));
        let mut tested: Vec<(usize, TestedColumn)> =
            for_each_row(pairs.len(), threads, Vec::new, |done, index| {
                let pair = &pairs[index];
                done.push((index, test_column(plan, pair)));
            })
            .into_iter()
            .flatten()
            .collect();
        tested.sort_by_key(|(index, ..)| *index);
        let mut numeric_histograms = numeric_histograms(plan.compute(), &pairs);
        let mut columns = Vec::with_capacity(pairs.len());
        let mut outcomes = Vec::with_capacity(pairs.len());
        for (index, column) in tested {
            let histogram = column
                .histogram
                .or_else(|| numeric_histograms[index].take());
            columns.push(column_report(
                pairs[index].name,
                column.kind,
                &column.outcome,
                histogram,
            ));
            outcomes.push(column.outcome);
        }
        sort_by_severity(&mut columns);
        let summary = dataset_drift(&outcomes, drift_share);
        DriftReport {
            reference_rows: reference.rows(),
            current_rows: current.rows(),
            dataset_drifted: summary.dataset_drifted,
            drifted_share: summary.share,
            drift_share,
            tested: summary.tested,
            drifted: summary.drifted,
            skipped: summary.skipped,
            columns,
            compute: plan.compute().description(),
        }
    }

    /// One report from reports on disjoint groups of the same tables' columns
    /// (a table compared a few columns at a time, so that only those columns
    /// are in memory): the columns together, most severe first, and the
    /// dataset verdict over all of them by the same rule.
    pub fn merge(parts: Vec<DriftReport>, drift_share: f64) -> DriftReport {
        let reference_rows = parts.iter().map(|p| p.reference_rows).max().unwrap_or(0);
        let current_rows = parts.iter().map(|p| p.current_rows).max().unwrap_or(0);
        let compute = parts.first().map_or_else(cpu, |p| p.compute.clone());
        let mut columns: Vec<ColumnReport> = parts.into_iter().flat_map(|p| p.columns).collect();
        sort_by_severity(&mut columns);
        let tested = columns.iter().filter(|c| c.test.is_some()).count();
        let drifted = columns.iter().filter(|c| c.drifted).count();
        let summary =
            DatasetDrift::from_counts(tested, drifted, columns.len() - tested, drift_share);
        DriftReport {
            reference_rows,
            current_rows,
            dataset_drifted: summary.dataset_drifted,
            drifted_share: summary.share,
            drift_share,
            tested,
            drifted,
            skipped: summary.skipped,
            columns,
            compute,
        }
    }

    /// [`compare`](Self::compare) with Evidently's defaults: default tests,
    /// dataset drift at half the columns.
    pub fn compare_default(reference: &Frame, current: &Frame) -> Self {
        Self::compare(
            reference,
            current,
            &TestPlan::default(),
            DEFAULT_DRIFT_SHARE,
        )
    }

    /// Pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    }
}

/// One column's outcome; categorical columns bring their histogram, drawn
/// from the same counts the test used.
struct TestedColumn {
    outcome: ColumnOutcome,
    kind: &'static str,
    histogram: Option<ColumnHistogram>,
}

fn test_column(plan: &TestPlan, pair: &ColumnPair<'_>) -> TestedColumn {
    let (reference, current) = (pair.reference, pair.current);
    let categorical = matches!(reference, Some(Values::Categorical(_)))
        || matches!(current, Some(Values::Categorical(_)));
    if !categorical {
        return TestedColumn {
            outcome: test_numeric_column(plan, pair.name, numbers(reference), numbers(current)),
            kind: "numeric",
            histogram: None,
        };
    }
    let (outcome, histogram) = match (reference, current) {
        (None, _) => (
            ColumnOutcome::skipped(SkipReason::MissingColumn { side: "reference" }),
            None,
        ),
        (_, None) => (
            ColumnOutcome::skipped(SkipReason::MissingColumn { side: "current" }),
            None,
        ),
        (Some(r), Some(c)) => {
            let counts = CategoryCounts::of(r, c);
            let outcome = test_category_counts(plan, pair.name, r.len(), &counts.borrowed());
            (outcome, categorical_histogram(counts))
        }
    };
    TestedColumn {
        outcome,
        kind: "categorical",
        histogram,
    }
}

/// Per-label counts of one column on both sides (`[reference, current]`),
/// missing values left out. Text columns are counted by dictionary code,
/// so each label is looked at once; a numeric side (the column is text on
/// the other side) is read as labels formatted as in the data.
struct CategoryCounts(BTreeMap<String, [u64; 2]>);

impl CategoryCounts {
    fn of(reference: &Values, current: &Values) -> Self {
        let mut counts: BTreeMap<String, [u64; 2]> = BTreeMap::new();
        for (slot, values) in [reference, current].into_iter().enumerate() {
            match values {
                Values::Categorical(categories) => {
                    let mut tally = vec![0u64; categories.labels().len()];
                    for code in categories.codes() {
                        if let Some(count) = tally.get_mut(*code as usize) {
                            *count += 1;
                        }
                    }
                    for (label, count) in categories.labels().iter().zip(tally) {
                        if count > 0 {
                            counts.entry(label.clone()).or_default()[slot] += count;
                        }
                    }
                }
                Values::Numeric(_) => {
                    for row in 0..values.len() {
                        if let Some(label) = values.text(row) {
                            counts.entry(label).or_default()[slot] += 1;
                        }
                    }
                }
            }
        }
        Self(counts)
    }

    fn borrowed(&self) -> BTreeMap<&str, [u64; 2]> {
        self.0.iter().map(|(k, v)| (k.as_str(), *v)).collect()
    }
}

fn numbers(values: Option<&Values>) -> Option<&[f64]> {
    match values {
        Some(Values::Numeric(v)) => Some(v.as_slice()),
        _ => None,
    }
}

fn column_report(
    name: &str,
    kind: &str,
    outcome: &ColumnOutcome,
    histogram: Option<ColumnHistogram>,
) -> ColumnReport {
    match outcome {
        ColumnOutcome::Tested { test, result } => {
            let severity = match result.p_value {
                Some(p) => result.threshold / p.max(1e-300),
                None if result.threshold > 0.0 => result.statistic / result.threshold,
                None => 0.0,
            };
            ColumnReport {
                column: name.to_string(),
                kind: kind.to_string(),
                test: Some((*test).to_string()),
                statistic: Some(result.statistic),
                p_value: result.p_value,
                threshold: Some(result.threshold),
                drifted: result.drifted,
                verdict: if result.drifted { "drift" } else { "no drift" }.to_string(),
                reason: None,
                // Infinite (a new category) sorts first but must stay a number.
                severity: if severity.is_finite() {
                    severity
                } else {
                    f64::MAX
                },
                histogram,
            }
        }
        ColumnOutcome::Skipped { reason } => ColumnReport {
            column: name.to_string(),
            kind: kind.to_string(),
            test: None,
            statistic: None,
            p_value: None,
            threshold: None,
            drifted: false,
            verdict: "skipped".to_string(),
            reason: Some(describe(reason)),
            severity: -1.0,
            histogram,
        },
    }
}

/// Why a column was skipped, in words.
pub fn describe(reason: &SkipReason) -> String {
    match reason {
        SkipReason::MissingColumn { side } => format!("the column is missing from the {side} data"),
        SkipReason::AllMissing { side } => format!("every {side} value is missing"),
        SkipReason::Constant { .. } => "the column holds one value on both sides".to_string(),
        SkipReason::TooSmall { side, needed, got } => {
            format!("the {side} data has {got} values; the test needs at least {needed}")
        }
        SkipReason::Invalid(error) => format!("not tested: {error}"),
    }
}

/// The histograms of the numeric columns (numeric on both sides), binned
/// all at once on `compute` (one kernel launch on a GPU); `None` elsewhere.
fn numeric_histograms(compute: &Compute, pairs: &[ColumnPair<'_>]) -> Vec<Option<ColumnHistogram>> {
    let mut found: Vec<Option<ColumnHistogram>> = vec![None; pairs.len()];
    let mut numeric = Vec::new();
    for (index, pair) in pairs.iter().enumerate() {
        if let (Some(Values::Numeric(r)), Some(Values::Numeric(c))) = (pair.reference, pair.current)
            && let Some(edges) = equal_width_edges(r, c)
        {
            numeric.push((index, r.as_slice(), c.as_slice(), edges));
        }
    }
    let columns: Vec<BinnedColumn<'_>> = numeric
        .iter()
        .flat_map(|(_, r, c, edges)| {
            [
                BinnedColumn { values: r, edges },
                BinnedColumn { values: c, edges },
            ]
        })
        .collect();
    let counts = compute.histograms(&columns);
    for ((index, _, _, edges), pair) in numeric.iter().zip(counts.chunks_exact(2)) {
        let labels = edges
            .windows(2)
            .map(|w| {
                format!(
                    "[{}, {})",
                    smelt_data::frame::format_number(w[0]),
                    smelt_data::frame::format_number(w[1])
                )
            })
            .collect();
        found[*index] = Some(ColumnHistogram {
            labels,
            reference: pair[0].clamped(),
            current: pair[1].clamped(),
        });
    }
    found
}

/// [`HISTOGRAM_BINS`] equal-width bins over the finite range of both
/// samples (one bin when it is a single value), as edges; `None` when
/// neither side has a finite value. Infinite values fall in the outer bins.
fn equal_width_edges(reference: &[f64], current: &[f64]) -> Option<Vec<f64>> {
    let (lo, hi) = reference
        .iter()
        .chain(current)
        .filter(|x| x.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), x| {
            (lo.min(*x), hi.max(*x))
        });
    (lo <= hi).then(|| crate::binning::equal_width_edges(lo, hi, HISTOGRAM_BINS))
}

/// The most frequent categories (reference first), the rest as "other".
fn categorical_histogram(CategoryCounts(counts): CategoryCounts) -> Option<ColumnHistogram> {
    if counts.is_empty() {
        return None;
    }
    let mut ranked: Vec<(String, [u64; 2])> = counts.into_iter().collect();
    ranked.sort_by(|a, b| {
        (b.1[0] + b.1[1])
            .cmp(&(a.1[0] + a.1[1]))
            .then(a.0.cmp(&b.0))
    });
    let mut histogram = ColumnHistogram {
        labels: Vec::new(),
        reference: Vec::new(),
        current: Vec::new(),
    };
    let mut other = [0u64; 2];
    for (i, (label, [r, c])) in ranked.into_iter().enumerate() {
        if i < HISTOGRAM_CATEGORIES {
            histogram.labels.push(label);
            histogram.reference.push(r);
            histogram.current.push(c);
        } else {
            other[0] += r;
            other[1] += c;
        }
    }
    if other != [0, 0] {
        histogram.labels.push("(other)".into());
        histogram.reference.push(other[0]);
        histogram.current.push(other[1]);
    }
    Some(histogram)
}

/// `f64::INFINITY` as the string `"inf"` (JSON has no infinity).
mod finite_or_text {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &Option<f64>, serializer: S) -> Result<S::Ok, S::Error> {
        match value {
            Some(x) if x.is_finite() => serializer.serialize_f64(*x),
            Some(x) if *x > 0.0 => serializer.serialize_str("inf"),
            Some(_) => serializer.serialize_str("-inf"),
            None => serializer.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<f64>, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Number(f64),
            Text(String),
        }
        Ok(match Option::<Raw>::deserialize(deserializer)? {
            None => None,
            Some(Raw::Number(x)) => Some(x),
            Some(Raw::Text(t)) if t == "-inf" => Some(f64::NEG_INFINITY),
            Some(Raw::Text(_)) => Some(f64::INFINITY),
        })
    }
}

#[cfg(test)]
mod tests;
