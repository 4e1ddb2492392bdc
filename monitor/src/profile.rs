//! The baseline profile (`profile.json`): a summary of the training data
//! that the monitor later compares live traffic against.
//!
//! [`Profile::from_frame`] summarises every column of a [`Frame`]: numeric
//! columns get counts, mean, sample standard deviation, min/max, seven
//! quantiles and an equal-width histogram ([`NumericProfile`]); categorical
//! columns get counts and the most frequent categories
//! ([`CategoricalProfile`]). [`Profile::with_classification_predictions`]
//! and [`Profile::with_regression_predictions`] add a summary of the model's
//! outputs on the training rows ([`PredictionProfile`]).
//!
//! The stored bins are what the binned drift tests need later:
//! [`NumericProfile::bin_counts`] bins live values on the stored histogram
//! edges and [`CategoricalProfile::counts_for`] counts live categories
//! aligned with the stored ones (plus an "unseen" bucket), so that
//! [`NumericProfile::reference_counts`] / [`CategoricalProfile::reference_counts`]
//! and the live counts can go straight into a count-based test. Edges and
//! counts come from [`crate::binning`], the monitor's one binning.
//!
//! # Numbers
//!
//! Every number written is finite. A statistic that does not exist (the mean
//! of an all-missing column, the sample standard deviation of one value) is
//! `None`, written as JSON `null`. `NaN` marks a missing numeric value; an
//! infinite value is counted as missing too, because no finite statistic can
//! include it. The format is described for users in the crate's `README.md`,
//! section "Baseline profile (profile.json)".

use serde::{Deserialize, Serialize};
use smelt_data::{Categories, Frame, Values};

use crate::binning::{clamped_counts, equal_width_edges, quantile_of_sorted};

/// The format version [`Profile::from_frame`] writes and [`Profile::from_json`] reads.
pub const PROFILE_VERSION: u32 = 1;

/// The quantile levels stored in [`Quantiles`], in field order.
pub const QUANTILE_LEVELS: [f64; 7] = [0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99];

/// Errors reading a profile.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProfileError {
    /// The text is not a JSON profile.
    #[error("profile.json is not a valid profile: {0}")]
    Json(#[from] serde_json::Error),
    /// The profile was written by a newer (or unknown) format version.
    #[error("profile.json has format version {found}; this Smelt reads version {PROFILE_VERSION}")]
    UnsupportedVersion {
        /// The version in the file.
        found: u32,
    },
    /// The profile parses but is inconsistent, or predictions given to it are.
    #[error("{0}")]
    Invalid(String),
}

/// How [`Profile::from_frame`] summarises columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileOptions {
    /// Number of equal-width histogram bins for numeric columns (at least 1;
    /// a constant column always gets one bin).
    pub bins: usize,
    /// How many categories a categorical column keeps by name; the rest are
    /// summed under [`CategoricalProfile::other_count`].
    pub top_categories: usize,
    /// Intervals of each numeric column's quantile sketch (see [`crate::sketch`]).
    pub sketch_levels: usize,
    /// Rows kept in the reservoir sample (0: none).
    pub sample_rows: usize,
    /// Seed of the reservoir sample.
    pub seed: u64,
}

impl Default for ProfileOptions {
    fn default() -> Self {
        ProfileOptions {
            bins: 20,
            top_categories: 100,
            sketch_levels: crate::sketch::DEFAULT_SKETCH_LEVELS,
            sample_rows: crate::sample::DEFAULT_SAMPLE_ROWS,
            seed: 0,
        }
    }
}

/// The baseline profile of a training set (`profile.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    /// Format version, [`PROFILE_VERSION`].
    pub version: u32,
    /// Number of rows profiled (missing values included).
    pub rows: usize,
    /// One entry per column, in the frame's column order.
    pub features: Vec<FeatureProfile>,
    /// The model's outputs on the training rows, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prediction: Option<PredictionProfile>,
    /// Whole rows drawn uniformly, for the tests that need raw values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sample: Option<crate::sample::ReservoirSample>,
}

/// One column's profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureProfile {
    /// The column name.
    pub name: String,
    /// Its statistics, tagged by `kind`.
    #[serde(flatten)]
    pub stats: FeatureStats,
}

/// A column's statistics, by kind (`"kind": "numeric"` or `"categorical"` in JSON).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum FeatureStats {
    /// A numeric column.
    Numeric(NumericProfile),
    /// A categorical column.
    Categorical(CategoricalProfile),
}

impl FeatureProfile {
    /// The numeric statistics, if the column is numeric.
    pub fn numeric(&self) -> Option<&NumericProfile> {
        match &self.stats {
            FeatureStats::Numeric(n) => Some(n),
            FeatureStats::Categorical(_) => None,
        }
    }

    /// The categorical statistics, if the column is categorical.
    pub fn categorical(&self) -> Option<&CategoricalProfile> {
        match &self.stats {
            FeatureStats::Categorical(c) => Some(c),
            FeatureStats::Numeric(_) => None,
        }
    }
}

/// Summary of a numeric sample. Missing values (`NaN`, and infinities) are
/// counted in `missing` and excluded from everything else.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NumericProfile {
    /// Number of finite values.
    pub count: u64,
    /// Number of missing values.
    pub missing: u64,
    /// Arithmetic mean; `None` when `count == 0`.
    pub mean: Option<f64>,
    /// Sample standard deviation (`ddof = 1`); `None` when `count < 2` (or
    /// when it exceeds the largest `f64`).
    pub std: Option<f64>,
    /// Smallest value; `None` when `count == 0`.
    pub min: Option<f64>,
    /// Largest value; `None` when `count == 0`.
    pub max: Option<f64>,
    /// Quantiles (NumPy's default `linear` method); `None` when `count == 0`.
    pub quantiles: Option<Quantiles>,
    /// Equal-width histogram between `min` and `max`; `None` when `count == 0`.
    pub histogram: Option<Histogram>,
    /// Quantiles at evenly spaced levels, with a documented error bound
    /// ([`crate::sketch`]); `None` when `count == 0`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sketch: Option<crate::sketch::QuantileSketch>,
}

/// Quantiles of a numeric sample, as `np.quantile(x, q)` (method `linear`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Quantiles {
    /// 1st percentile.
    pub p01: f64,
    /// 5th percentile.
    pub p05: f64,
    /// 25th percentile (first quartile).
    pub p25: f64,
    /// Median.
    pub p50: f64,
    /// 75th percentile (third quartile).
    pub p75: f64,
    /// 95th percentile.
    pub p95: f64,
    /// 99th percentile.
    pub p99: f64,
}

/// An equal-width histogram: `counts[i]` values fell in `[edges[i], edges[i+1])`,
/// the last bin closed on the right, as `np.histogram(x, bins)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Histogram {
    /// `counts.len() + 1` increasing edges, `edges[0] = min`, last = `max`.
    /// A constant column has one bin with `edges = [c, c]`.
    pub edges: Vec<f64>,
    /// Number of values per bin; sums to the profile's `count`.
    pub counts: Vec<u64>,
}

/// One category and how often it occurs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CategoryCount {
    /// The category.
    pub value: String,
    /// How many rows hold it.
    pub count: u64,
}

/// Summary of a categorical sample.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CategoricalProfile {
    /// Number of non-missing values.
    pub count: u64,
    /// Number of missing values.
    pub missing: u64,
    /// Number of distinct non-missing values (before the cap).
    pub distinct: u64,
    /// The most frequent categories, by count descending then value
    /// ascending, at most `top_categories` of them.
    pub frequencies: Vec<CategoryCount>,
    /// Total count of the categories past the cap (0 when none were cut).
    pub other_count: u64,
}

/// The model's outputs on the training rows, tagged by `kind`
/// (`"classification"` or `"regression"`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum PredictionProfile {
    /// Predicted labels and class probabilities.
    Classification(ClassificationProfile),
    /// Predicted values.
    Regression(NumericProfile),
}

/// Summary of a classifier's predictions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassificationProfile {
    /// Number of predictions.
    pub count: u64,
    /// How often each class was predicted: every class of the model in the
    /// model's order (zeros included), then any predicted label that is not
    /// one of the classes, by name.
    pub frequencies: Vec<CategoryCount>,
    /// Mean predicted probability of each class, in the model's class order;
    /// `None` when the model gave no probabilities (or there were no rows).
    pub mean_probabilities: Option<Vec<ClassProbability>>,
}

/// A class and its mean predicted probability.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassProbability {
    /// The class label.
    pub class: String,
    /// Mean of its predicted probability over the rows.
    pub mean: f64,
}

impl Profile {
    /// Profiles every column of `frame`, in column order.
    pub fn from_frame(frame: &Frame, options: &ProfileOptions) -> Profile {
        let features = frame
            .columns()
            .iter()
            .map(|column| FeatureProfile {
                name: column.name.clone(),
                stats: match &column.values {
                    Values::Numeric(values) => FeatureStats::Numeric(
                        NumericProfile::from_values(values, options.bins)
                            .with_sketch(values, options.sketch_levels),
                    ),
                    Values::Categorical(values) => FeatureStats::Categorical(
                        CategoricalProfile::from_values(values, options.top_categories),
                    ),
                },
            })
            .collect();
        Profile {
            version: PROFILE_VERSION,
            rows: frame.rows(),
            features,
            prediction: None,
            sample: (options.sample_rows > 0).then(|| {
                crate::sample::ReservoirSample::from_frame(frame, options.sample_rows, options.seed)
            }),
        }
    }

    /// Adds a classifier's outputs on the training rows: `labels[i]` is the
    /// predicted label of row `i` and `probabilities[i]` its class
    /// probabilities in the order of `classes`. Pass an empty
    /// `probabilities` for a model that gives none.
    ///
    /// Errors when `probabilities` is neither empty nor one row per label,
    /// when a row's length differs from `classes.len()`, or when a
    /// probability is not finite.
    pub fn with_classification_predictions(
        mut self,
        labels: &[String],
        probabilities: &[Vec<f64>],
        classes: &[String],
    ) -> Result<Profile, ProfileError> {
        self.prediction = Some(PredictionProfile::Classification(
            ClassificationProfile::new(labels, probabilities, classes)?,
        ));
        Ok(self)
    }

    /// Adds a regressor's outputs on the training rows (`NaN` = no prediction).
    pub fn with_regression_predictions(mut self, values: &[f64]) -> Profile {
        self.prediction = Some(PredictionProfile::Regression(
            NumericProfile::from_values(values, DEFAULT_BINS)
                .with_sketch(values, crate::sketch::DEFAULT_SKETCH_LEVELS),
        ));
        self
    }

    /// The profile of the column called `name`.
    pub fn feature(&self, name: &str) -> Option<&FeatureProfile> {
        self.features.iter().find(|f| f.name == name)
    }

    /// The profile as pretty-printed JSON (the contents of `profile.json`).
    pub fn to_json(&self) -> String {
        // Every number is finite and every map key a string, so this cannot fail.
        serde_json::to_string_pretty(self).expect("a profile always serialises")
    }

    /// Reads `profile.json`, checking the version and each histogram's shape.
    pub fn from_json(text: &str) -> Result<Profile, ProfileError> {
        // Read the version first so that a newer file gets a version error
        // rather than a confusing "missing field".
        #[derive(Deserialize)]
        struct VersionOnly {
            version: u32,
        }
        let VersionOnly { version } = serde_json::from_str(text)?;
        if version != PROFILE_VERSION {
            return Err(ProfileError::UnsupportedVersion { found: version });
        }
        let profile: Profile = serde_json::from_str(text)?;
        for feature in &profile.features {
            if let FeatureStats::Numeric(numeric) = &feature.stats {
                numeric.check(&format!("feature '{}'", feature.name))?;
            }
        }
        if let Some(PredictionProfile::Regression(numeric)) = &profile.prediction {
            numeric.check("the regression predictions")?;
        }
        Ok(profile)
    }
}

const DEFAULT_BINS: usize = 20;

impl NumericProfile {
    /// Summarises `values` with `bins` equal-width bins (at least one).
    pub fn from_values(values: &[f64], bins: usize) -> NumericProfile {
        let mut sorted: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
        let missing = (values.len() - sorted.len()) as u64;
        let count = sorted.len() as u64;
        if sorted.is_empty() {
            return NumericProfile {
                count,
                missing,
                mean: None,
                std: None,
                min: None,
                max: None,
                quantiles: None,
                histogram: None,
                sketch: None,
            };
        }
        radsort::sort(&mut sorted);
        let (min, max) = (sorted[0], sorted[sorted.len() - 1]);
        let mean = mean(&sorted);
        let std = mean.and_then(|m| sample_std(&sorted, m));
        let q = |level: f64| quantile_of_sorted(&sorted, level);
        let quantiles = Quantiles {
            p01: q(0.01),
            p05: q(0.05),
            p25: q(0.25),
            p50: q(0.5),
            p75: q(0.75),
            p95: q(0.95),
            p99: q(0.99),
        };
        let edges = equal_width_edges(min, max, bins);
        let counts = clamped_counts(&edges, &sorted);
        NumericProfile {
            count,
            missing,
            mean,
            std,
            min: Some(min),
            max: Some(max),
            quantiles: Some(quantiles),
            histogram: Some(Histogram { edges, counts }),
            sketch: None,
        }
    }

    /// Adds the quantile sketch of the same `values`.
    pub fn with_sketch(mut self, values: &[f64], levels: usize) -> NumericProfile {
        let mut sorted: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
        radsort::sort(&mut sorted);
        self.sketch = crate::sketch::QuantileSketch::from_sorted(&sorted, levels);
        self
    }

    /// Counts of `values` in the stored histogram bins, the way
    /// `histogram.counts` was made: bin `i` is `[edges[i], edges[i+1])`,
    /// the last bin closed; a value below the first edge goes to the first
    /// bin and one above the last edge to the last bin. `NaN` is ignored
    /// (infinities go to the end bins). Returns an empty vector when the
    /// profile has no histogram (an all-missing column).
    pub fn bin_counts(&self, values: &[f64]) -> Vec<u64> {
        match &self.histogram {
            Some(histogram) => clamped_counts(&histogram.edges, values),
            None => Vec::new(),
        }
    }

    /// The stored histogram counts (empty when there is no histogram),
    /// aligned with [`NumericProfile::bin_counts`].
    pub fn reference_counts(&self) -> Vec<u64> {
        self.histogram
            .as_ref()
            .map(|h| h.counts.clone())
            .unwrap_or_default()
    }

    fn check(&self, what: &str) -> Result<(), ProfileError> {
        if let Some(histogram) = &self.histogram {
            let ok = !histogram.counts.is_empty()
                && histogram.edges.len() == histogram.counts.len() + 1
                && histogram.edges.windows(2).all(|w| w[0] <= w[1]);
            if !ok {
                return Err(ProfileError::Invalid(format!(
                    "{what} has a malformed histogram: it needs one more edge than counts \
                     ({} edges, {} counts), at least one bin, and edges in increasing order",
                    histogram.edges.len(),
                    histogram.counts.len()
                )));
            }
        }
        if let Some(sketch) = &self.sketch {
            sketch
                .check()
                .map_err(|e| ProfileError::Invalid(format!("{what}: {e}")))?;
        }
        Ok(())
    }
}

impl CategoricalProfile {
    /// Summarises `values`, keeping the `top` most frequent categories.
    pub fn from_values(values: &Categories, top: usize) -> CategoricalProfile {
        // Count codes; look at each label once.
        let mut tally = vec![0u64; values.labels().len()];
        let mut missing = 0u64;
        for code in values.codes() {
            match tally.get_mut(*code as usize) {
                Some(count) => *count += 1,
                None => missing += 1,
            }
        }
        let mut frequencies: Vec<CategoryCount> = values
            .labels()
            .iter()
            .zip(tally)
            .filter(|(_, count)| *count > 0)
            .map(|(value, count)| CategoryCount {
                value: value.clone(),
                count,
            })
            .collect();
        frequencies.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
        let distinct = frequencies.len() as u64;
        let other_count = frequencies.iter().skip(top).map(|c| c.count).sum();
        frequencies.truncate(top);
        CategoricalProfile {
            count: values.len() as u64 - missing,
            missing,
            distinct,
            frequencies,
            other_count,
        }
    }

    /// Counts of `values` aligned with the stored categories: entry `i` is
    /// `frequencies[i].value` and its count in `values`, and one last entry,
    /// named [`UNSEEN`], counts every value that is not a stored category
    /// (new categories, and those past the cap). The position, not the name,
    /// marks the unseen bucket. Missing values (`None`) are ignored.
    pub fn counts_for(&self, values: &Categories) -> Vec<(String, u64)> {
        let index: std::collections::HashMap<&str, usize> = self
            .frequencies
            .iter()
            .enumerate()
            .map(|(i, c)| (c.value.as_str(), i))
            .collect();
        // Each label's slot once, then count by code.
        let slots: Vec<usize> = values
            .labels()
            .iter()
            .map(|label| {
                index
                    .get(label.as_str())
                    .copied()
                    .unwrap_or(self.frequencies.len())
            })
            .collect();
        let mut counts = vec![0u64; self.frequencies.len() + 1];
        for code in values.codes() {
            if let Some(slot) = slots.get(*code as usize) {
                counts[*slot] += 1;
            }
        }
        self.frequencies
            .iter()
            .map(|c| c.value.clone())
            .chain(std::iter::once(UNSEEN.to_owned()))
            .zip(counts)
            .collect()
    }

    /// The training counts aligned with [`CategoricalProfile::counts_for`]:
    /// the stored frequencies, then `other_count` in the unseen position.
    pub fn reference_counts(&self) -> Vec<u64> {
        self.frequencies
            .iter()
            .map(|c| c.count)
            .chain(std::iter::once(self.other_count))
            .collect()
    }
}

/// The name of the last entry of [`CategoricalProfile::counts_for`].
pub const UNSEEN: &str = "<unseen>";

impl ClassificationProfile {
    /// Summarises predicted `labels` and per-row `probabilities` (in the
    /// order of `classes`; empty when the model gives none).
    pub fn new(
        labels: &[String],
        probabilities: &[Vec<f64>],
        classes: &[String],
    ) -> Result<ClassificationProfile, ProfileError> {
        if !probabilities.is_empty() && probabilities.len() != labels.len() {
            return Err(ProfileError::Invalid(format!(
                "{} predicted labels but {} rows of probabilities",
                labels.len(),
                probabilities.len()
            )));
        }
        let mut frequencies: Vec<CategoryCount> = classes
            .iter()
            .map(|c| CategoryCount {
                value: c.clone(),
                count: 0,
            })
            .collect();
        let mut extra: std::collections::BTreeMap<&str, u64> = std::collections::BTreeMap::new();
        for label in labels {
            match frequencies.iter_mut().find(|c| &c.value == label) {
                Some(slot) => slot.count += 1,
                None => *extra.entry(label.as_str()).or_default() += 1,
            }
        }
        frequencies.extend(extra.into_iter().map(|(value, count)| CategoryCount {
            value: value.to_owned(),
            count,
        }));

        let mean_probabilities = if probabilities.is_empty() {
            None
        } else {
            let mut sums = vec![0.0f64; classes.len()];
            for (row, p) in probabilities.iter().enumerate() {
                if p.len() != classes.len() {
                    return Err(ProfileError::Invalid(format!(
                        "row {row} has {} probabilities but the model has {} classes",
                        p.len(),
                        classes.len()
                    )));
                }
                for (sum, &x) in sums.iter_mut().zip(p) {
                    if !x.is_finite() {
                        return Err(ProfileError::Invalid(format!(
                            "row {row} has a non-finite probability ({x})"
                        )));
                    }
                    *sum += x;
                }
            }
            let n = probabilities.len() as f64;
            Some(
                classes
                    .iter()
                    .zip(sums)
                    .map(|(class, sum)| ClassProbability {
                        class: class.clone(),
                        mean: sum / n,
                    })
                    .collect(),
            )
        };
        Ok(ClassificationProfile {
            count: labels.len() as u64,
            frequencies,
            mean_probabilities,
        })
    }
}

/// Mean of finite `values`, falling back to a running mean when the plain
/// sum overflows; `None` for an empty slice.
fn mean(values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let n = values.len() as f64;
    let plain = values.iter().sum::<f64>() / n;
    if plain.is_finite() {
        return Some(plain);
    }
    let mut running = 0.0f64;
    for (i, &x) in values.iter().enumerate() {
        running += (x - running) / (i as f64 + 1.0);
    }
    running.is_finite().then_some(running)
}

/// Sample standard deviation (`ddof = 1`) by two passes, as NumPy; scaled
/// when the squares overflow; `None` below two values or when not finite.
fn sample_std(values: &[f64], mean: f64) -> Option<f64> {
    if values.len() < 2 {
        return None;
    }
    let ddof = (values.len() - 1) as f64;
    let plain = (values.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / ddof).sqrt();
    if plain.is_finite() {
        return Some(plain);
    }
    let scale = values
        .iter()
        .map(|x| (x - mean).abs())
        .fold(0.0f64, f64::max);
    if !scale.is_finite() || scale == 0.0 {
        return None;
    }
    let scaled = values
        .iter()
        .map(|x| ((x - mean) / scale).powi(2))
        .sum::<f64>()
        / ddof;
    let std = scale * scaled.sqrt();
    std.is_finite().then_some(std)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edges_match_numpy_histogram_on_zero_to_ten() {
        // np.histogram(np.arange(11.0), bins=5) -> counts [2 2 2 2 3], edges [0 2 4 6 8 10]
        let values: Vec<f64> = (0..=10).map(f64::from).collect();
        let profile = NumericProfile::from_values(&values, 5);
        let histogram = profile.histogram.as_ref().unwrap();
        assert_eq!(histogram.edges, [0.0, 2.0, 4.0, 6.0, 8.0, 10.0]);
        assert_eq!(histogram.counts, [2, 2, 2, 2, 3]);
        assert_eq!(
            profile.bin_counts(&[-5.0, 99.0, f64::NAN, 2.0]),
            [1, 1, 0, 0, 1]
        );
    }

    #[test]
    fn overflowing_samples_stay_finite() {
        // The plain sum and the squared deviations overflow; the fallbacks do not.
        let values = [f64::MAX, f64::MAX * 0.5, f64::MAX * 0.75];
        let profile = NumericProfile::from_values(&values, 4);
        let mean = profile.mean.unwrap();
        assert!((mean / (f64::MAX * 0.75) - 1.0).abs() < 1e-12);
        let std = profile.std.unwrap();
        assert!((std / (f64::MAX * 0.25) - 1.0).abs() < 1e-12);
        let histogram = profile.histogram.unwrap();
        assert!(histogram.edges.iter().all(|e| e.is_finite()));
        assert_eq!(histogram.counts.iter().sum::<u64>(), 3);

        // Here the edges span more than f64::MAX and the true std exceeds it.
        let profile = NumericProfile::from_values(&[f64::MAX, -f64::MAX, f64::MAX], 4);
        assert_eq!(profile.mean, Some(f64::MAX / 3.0));
        assert_eq!(profile.std, None);
        let histogram = profile.histogram.unwrap();
        assert!(histogram.edges.iter().all(|e| e.is_finite()));
        assert!(histogram.edges.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(histogram.counts, [1, 0, 0, 2]);
    }

    #[test]
    fn infinities_count_as_missing() {
        let profile = NumericProfile::from_values(&[1.0, f64::INFINITY, f64::NAN, 3.0], 2);
        assert_eq!((profile.count, profile.missing), (2, 2));
        assert_eq!(profile.mean, Some(2.0));
    }
}
