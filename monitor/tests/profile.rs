//! The baseline profile (`profile.json`) on the penguins data set, as a user
//! would read it: counts and missing values per column, moments, quantiles
//! and histograms equal to NumPy's, category frequencies, a lossless JSON
//! round trip, and live data binned the way the training data was.
//!
//! The expected numbers were computed once with NumPy 2.4 and are
//! hard-coded; they came from
//!
//! ```python
//! import csv, numpy as np
//! rows = list(csv.DictReader(open("datasets/penguins.csv")))
//! x = np.array([float(r[col]) for r in rows if r[col] not in ("", "NA")])
//! x.mean(), x.std(ddof=1), x.min(), x.max()
//! np.quantile(x, [0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99])
//! np.histogram(x, bins=20)
//! ```

use std::path::PathBuf;

use smelt_data::{Categories, Column, Frame, ReadOptions, read_table};
use smelt_monitor::profile::{
    CategoricalProfile, FeatureStats, NumericProfile, PredictionProfile, Profile, ProfileError,
    ProfileOptions, UNSEEN,
};

/// Largest error accepted against NumPy (absolute, on values of order 1–6000,
/// so also well under 1e-9 relative).
const TOLERANCE: f64 = 1e-9;

fn penguins() -> Frame {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../datasets/penguins.csv");
    read_table(&path, &ReadOptions::default()).expect("penguins.csv reads")
}

fn profile() -> Profile {
    Profile::from_frame(&penguins(), &ProfileOptions::default())
}

fn numeric<'a>(profile: &'a Profile, name: &str) -> &'a NumericProfile {
    profile
        .feature(name)
        .and_then(|f| f.numeric())
        .unwrap_or_else(|| panic!("{name} is numeric"))
}

fn categorical<'a>(profile: &'a Profile, name: &str) -> &'a CategoricalProfile {
    profile
        .feature(name)
        .and_then(|f| f.categorical())
        .unwrap_or_else(|| panic!("{name} is categorical"))
}

fn close(actual: f64, expected: f64, what: &str) {
    assert!(
        (actual - expected).abs() <= TOLERANCE,
        "{what}: got {actual:?}, NumPy gives {expected:?}"
    );
}

/// NumPy's numbers for one numeric column.
struct Expected {
    name: &'static str,
    count: u64,
    missing: u64,
    mean: f64,
    std: f64,
    min: f64,
    max: f64,
    quantiles: [f64; 7],
    histogram: [u64; 20],
}

const EXPECTED: [Expected; 5] = [
    Expected {
        name: "bill_length_mm",
        count: 342,
        missing: 2,
        mean: 43.9219298245614,
        std: 5.4595837139265315,
        min: 32.1,
        max: 59.6,
        quantiles: [
            34.041000000000004,
            35.7,
            39.225,
            44.45,
            48.5,
            51.995,
            55.512999999999984,
        ],
        histogram: [
            2, 7, 20, 20, 30, 27, 29, 19, 17, 32, 34, 21, 27, 34, 13, 3, 3, 2, 1, 1,
        ],
    },
    Expected {
        name: "bill_depth_mm",
        count: 342,
        missing: 2,
        mean: 17.151169590643274,
        std: 1.9747931568167814,
        min: 13.1,
        max: 21.5,
        quantiles: [13.441, 13.9, 15.6, 17.3, 18.7, 20.0, 21.1],
        histogram: [
            6, 15, 15, 20, 17, 15, 19, 15, 16, 28, 22, 33, 24, 32, 20, 19, 11, 5, 4, 6,
        ],
    },
    Expected {
        name: "flipper_length_mm",
        count: 342,
        missing: 2,
        mean: 200.91520467836258,
        std: 14.061713679356886,
        min: 172.0,
        max: 231.0,
        quantiles: [178.0, 181.0, 190.0, 197.0, 213.0, 225.0, 230.0],
        histogram: [
            2, 1, 10, 12, 23, 29, 42, 37, 28, 16, 9, 6, 27, 15, 26, 16, 19, 9, 5, 10,
        ],
    },
    Expected {
        name: "body_mass_g",
        count: 342,
        missing: 2,
        mean: 4201.754385964912,
        std: 801.9545356980955,
        min: 2700.0,
        max: 6300.0,
        quantiles: [
            2900.0,
            3150.0,
            3550.0,
            4050.0,
            4750.0,
            5650.0,
            5979.499999999999,
        ],
        histogram: [
            3, 12, 13, 30, 32, 39, 35, 18, 25, 17, 19, 22, 16, 12, 10, 17, 11, 5, 5, 1,
        ],
    },
    Expected {
        name: "year",
        count: 344,
        missing: 0,
        mean: 2008.0290697674418,
        std: 0.8183559254837041,
        min: 2007.0,
        max: 2009.0,
        quantiles: [2007.0, 2007.0, 2007.0, 2008.0, 2009.0, 2009.0, 2009.0],
        histogram: [
            110, 0, 0, 0, 0, 0, 0, 0, 0, 0, 114, 0, 0, 0, 0, 0, 0, 0, 0, 120,
        ],
    },
];

#[test]
fn every_column_is_profiled_in_file_order() {
    let profile = profile();
    assert_eq!(profile.version, 1);
    assert_eq!(profile.rows, 344);
    let names: Vec<&str> = profile.features.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "species",
            "island",
            "bill_length_mm",
            "bill_depth_mm",
            "flipper_length_mm",
            "body_mass_g",
            "sex",
            "year"
        ]
    );
    assert!(profile.prediction.is_none());
    assert!(profile.feature("no_such_column").is_none());
}

#[test]
fn numeric_columns_match_numpy() {
    let profile = profile();
    for expected in &EXPECTED {
        let name = expected.name;
        let column = numeric(&profile, name);
        assert_eq!(
            (column.count, column.missing),
            (expected.count, expected.missing),
            "{name}"
        );
        close(column.mean.unwrap(), expected.mean, &format!("{name} mean"));
        close(column.std.unwrap(), expected.std, &format!("{name} std"));
        assert_eq!(column.min, Some(expected.min), "{name} min");
        assert_eq!(column.max, Some(expected.max), "{name} max");
        let q = column.quantiles.unwrap();
        let actual = [q.p01, q.p05, q.p25, q.p50, q.p75, q.p95, q.p99];
        for ((a, e), level) in actual
            .iter()
            .zip(expected.quantiles)
            .zip(["p01", "p05", "p25", "p50", "p75", "p95", "p99"])
        {
            close(*a, e, &format!("{name} {level}"));
        }
        let histogram = column.histogram.as_ref().unwrap();
        assert_eq!(
            histogram.counts, expected.histogram,
            "{name} histogram counts"
        );
        assert_eq!(
            histogram.counts.iter().sum::<u64>(),
            column.count,
            "{name} counts sum"
        );
        assert_eq!(histogram.edges.len(), 21, "{name} edges");
        assert_eq!(histogram.edges[0], expected.min);
        assert_eq!(histogram.edges[20], expected.max);
    }
    // np.histogram's edges for bill_length_mm start 32.1, 33.475, 34.85.
    let edges = &numeric(&profile, "bill_length_mm")
        .histogram
        .as_ref()
        .unwrap()
        .edges;
    close(edges[1], 33.475, "second edge");
    close(edges[2], 34.85, "third edge");
}

#[test]
fn categorical_columns_count_what_the_file_holds() {
    let profile = profile();
    let species = categorical(&profile, "species");
    assert_eq!(
        (species.count, species.missing, species.distinct),
        (344, 0, 3)
    );
    let frequencies: Vec<(&str, u64)> = species
        .frequencies
        .iter()
        .map(|c| (c.value.as_str(), c.count))
        .collect();
    assert_eq!(
        frequencies,
        [("Adelie", 152), ("Gentoo", 124), ("Chinstrap", 68)]
    );
    assert_eq!(species.other_count, 0);

    let sex = categorical(&profile, "sex");
    assert_eq!((sex.count, sex.missing, sex.distinct), (333, 11, 2));
    let frequencies: Vec<(&str, u64)> = sex
        .frequencies
        .iter()
        .map(|c| (c.value.as_str(), c.count))
        .collect();
    assert_eq!(frequencies, [("male", 168), ("female", 165)]);

    let island = categorical(&profile, "island");
    let frequencies: Vec<(&str, u64)> = island
        .frequencies
        .iter()
        .map(|c| (c.value.as_str(), c.count))
        .collect();
    assert_eq!(
        frequencies,
        [("Biscoe", 168), ("Dream", 124), ("Torgersen", 52)]
    );
}

#[test]
fn the_category_cap_keeps_the_most_frequent_and_sums_the_rest() {
    let options = ProfileOptions {
        top_categories: 2,
        ..ProfileOptions::default()
    };
    let profile = Profile::from_frame(&penguins(), &options);
    let species = categorical(&profile, "species");
    assert_eq!(species.distinct, 3);
    assert_eq!(species.frequencies.len(), 2);
    assert_eq!(species.other_count, 68);
    // Chinstrap is past the cap, so live Chinstraps land in the unseen bucket,
    // where the reference counts hold `other_count`.
    let live: Categories = [Some("Chinstrap"), Some("Adelie")].into_iter().collect();
    let counts: Vec<u64> = species
        .counts_for(&live)
        .into_iter()
        .map(|(_, n)| n)
        .collect();
    assert_eq!(counts, [1, 0, 1]);
    assert_eq!(species.reference_counts(), [152, 124, 68]);
}

#[test]
fn ties_are_broken_by_name() {
    let values: Categories = ["b", "a", "c", "b", "a"].into_iter().map(Some).collect();
    let profile = CategoricalProfile::from_values(&values, 100);
    let order: Vec<&str> = profile
        .frequencies
        .iter()
        .map(|c| c.value.as_str())
        .collect();
    assert_eq!(order, ["a", "b", "c"]);
}

#[test]
fn json_round_trip_is_lossless() {
    let profile = profile()
        .with_classification_predictions(
            &[
                "Adelie".to_owned(),
                "Gentoo".to_owned(),
                "Adelie".to_owned(),
            ],
            &[
                vec![0.7, 0.1, 0.2],
                vec![0.1, 0.1, 0.8],
                vec![0.6, 0.3, 0.1],
            ],
            &[
                "Adelie".to_owned(),
                "Chinstrap".to_owned(),
                "Gentoo".to_owned(),
            ],
        )
        .unwrap();
    let json = profile.to_json();
    let back = Profile::from_json(&json).unwrap();
    assert_eq!(back, profile);
    assert_eq!(back.to_json(), json);

    let regression = Profile::from_frame(&penguins(), &ProfileOptions::default())
        .with_regression_predictions(&[0.1, 0.2, f64::NAN, 0.30000000000000004]);
    assert_eq!(
        Profile::from_json(&regression.to_json()).unwrap(),
        regression
    );
}

#[test]
fn the_json_shape_is_the_documented_one() {
    let json: serde_json::Value = serde_json::from_str(&profile().to_json()).unwrap();
    assert_eq!(json["version"], 1);
    assert_eq!(json["rows"], 344);
    assert!(json.get("prediction").is_none());
    let species = &json["features"][0];
    assert_eq!(species["name"], "species");
    assert_eq!(species["kind"], "categorical");
    assert_eq!(
        species["frequencies"][0],
        serde_json::json!({"value": "Adelie", "count": 152})
    );
    assert_eq!(species["other_count"], 0);
    let bill = &json["features"][2];
    assert_eq!(bill["kind"], "numeric");
    assert_eq!(bill["missing"], 2);
    assert_eq!(bill["quantiles"]["p50"], 44.45);
    assert_eq!(bill["histogram"]["counts"].as_array().unwrap().len(), 20);
    assert_eq!(bill["histogram"]["edges"].as_array().unwrap().len(), 21);
}

#[test]
fn binning_the_training_data_reproduces_the_stored_counts() {
    let frame = penguins();
    let profile = Profile::from_frame(&frame, &ProfileOptions::default());
    for column in frame.columns() {
        let feature = profile.feature(&column.name).unwrap();
        match (&column.values, &feature.stats) {
            (smelt_data::Values::Numeric(values), FeatureStats::Numeric(numeric)) => {
                assert_eq!(
                    numeric.bin_counts(values),
                    numeric.reference_counts(),
                    "{}",
                    column.name
                );
            }
            (smelt_data::Values::Categorical(values), FeatureStats::Categorical(categorical)) => {
                let live: Vec<u64> = categorical
                    .counts_for(values)
                    .into_iter()
                    .map(|(_, n)| n)
                    .collect();
                assert_eq!(live, categorical.reference_counts(), "{}", column.name);
            }
            _ => panic!("{} changed kind", column.name),
        }
    }
}

#[test]
fn live_values_outside_the_training_range_go_to_the_end_bins() {
    let profile = profile();
    let bill = numeric(&profile, "bill_length_mm");
    let counts = bill.bin_counts(&[0.0, 32.1, 59.6, 1000.0, f64::NAN, f64::INFINITY]);
    assert_eq!(counts.len(), 20);
    assert_eq!(counts[0], 2);
    assert_eq!(counts[19], 3);
    assert_eq!(counts.iter().sum::<u64>(), 5);
}

#[test]
fn unseen_categories_are_counted() {
    let profile = profile();
    let island = categorical(&profile, "island");
    let live: Categories = [
        Some("Dream"),
        Some("Atlantis"),
        None,
        Some("Atlantis"),
        Some("Biscoe"),
    ]
    .into_iter()
    .collect();
    let counts = island.counts_for(&live);
    let expected = [("Biscoe", 1), ("Dream", 1), ("Torgersen", 0), (UNSEEN, 2)];
    let counts: Vec<(&str, u64)> = counts.iter().map(|(name, n)| (name.as_str(), *n)).collect();
    assert_eq!(counts, expected);
}

#[test]
fn all_missing_and_constant_columns_give_valid_json_without_nan() {
    let frame = Frame::new(vec![
        Column::numeric("empty", vec![f64::NAN; 4]),
        Column::numeric("constant", vec![7.5; 4]),
        Column::numeric("single", vec![f64::NAN, 3.0, f64::NAN, f64::NAN]),
        Column::categorical("no_text", vec![None; 4]),
    ])
    .unwrap();
    let profile = Profile::from_frame(&frame, &ProfileOptions::default());
    let json = profile.to_json();
    for bad in ["NaN", "nan", "inf"] {
        assert!(!json.contains(bad), "{bad} in {json}");
    }
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    let empty = &value["features"][0];
    assert_eq!(
        (empty["count"].clone(), empty["missing"].clone()),
        (0.into(), 4.into())
    );
    for field in ["mean", "std", "min", "max", "quantiles", "histogram"] {
        assert!(empty[field].is_null(), "empty.{field} = {}", empty[field]);
    }
    let constant = numeric(&profile, "constant");
    assert_eq!(constant.std, Some(0.0));
    let histogram = constant.histogram.as_ref().unwrap();
    assert_eq!(
        (histogram.edges.clone(), histogram.counts.clone()),
        (vec![7.5, 7.5], vec![4])
    );
    assert_eq!(constant.bin_counts(&[1.0, 7.5, 9.0]), [3]);
    let single = numeric(&profile, "single");
    assert_eq!((single.mean, single.std), (Some(3.0), None));
    let no_text = categorical(&profile, "no_text");
    assert_eq!(
        (no_text.count, no_text.missing, no_text.distinct),
        (0, 4, 0)
    );
    assert_eq!(
        no_text.counts_for(&[Some("x")].into_iter().collect()),
        [(UNSEEN.to_owned(), 1)]
    );
    assert_eq!(Profile::from_json(&json).unwrap(), profile);
    assert!(numeric(&profile, "empty").bin_counts(&[1.0]).is_empty());
}

#[test]
fn classification_predictions_are_summarised() {
    let classes = ["a".to_owned(), "b".to_owned()];
    let labels = [
        "b".to_owned(),
        "b".to_owned(),
        "a".to_owned(),
        "z".to_owned(),
    ];
    let probabilities = [
        vec![0.2, 0.8],
        vec![0.4, 0.6],
        vec![0.9, 0.1],
        vec![0.5, 0.5],
    ];
    let profile = profile()
        .with_classification_predictions(&labels, &probabilities, &classes)
        .unwrap();
    let Some(PredictionProfile::Classification(prediction)) = &profile.prediction else {
        panic!("classification expected")
    };
    assert_eq!(prediction.count, 4);
    let frequencies: Vec<(&str, u64)> = prediction
        .frequencies
        .iter()
        .map(|c| (c.value.as_str(), c.count))
        .collect();
    assert_eq!(frequencies, [("a", 1), ("b", 2), ("z", 1)]);
    let means = prediction.mean_probabilities.as_ref().unwrap();
    assert_eq!(means[0].class, "a");
    close(means[0].mean, 0.5, "mean p(a)");
    close(means[1].mean, 0.5, "mean p(b)");
    let json: serde_json::Value = serde_json::from_str(&profile.to_json()).unwrap();
    assert_eq!(json["prediction"]["kind"], "classification");

    let wrong = Profile::from_frame(&penguins(), &ProfileOptions::default())
        .with_classification_predictions(&labels, &probabilities[..3], &classes);
    assert!(matches!(wrong, Err(ProfileError::Invalid(_))));
    let none = Profile::from_frame(&penguins(), &ProfileOptions::default())
        .with_classification_predictions(&labels, &[], &classes)
        .unwrap();
    let Some(PredictionProfile::Classification(prediction)) = &none.prediction else {
        unreachable!()
    };
    assert!(prediction.mean_probabilities.is_none());
}

#[test]
fn regression_predictions_are_a_numeric_profile() {
    let profile = profile().with_regression_predictions(&[1.0, 2.0, 3.0, f64::NAN]);
    let Some(PredictionProfile::Regression(prediction)) = &profile.prediction else {
        panic!("regression expected")
    };
    assert_eq!((prediction.count, prediction.missing), (3, 1));
    assert_eq!((prediction.mean, prediction.std), (Some(2.0), Some(1.0)));
    let json: serde_json::Value = serde_json::from_str(&profile.to_json()).unwrap();
    assert_eq!(json["prediction"]["kind"], "regression");
    assert_eq!(json["prediction"]["quantiles"]["p50"], 2.0);
}

#[test]
fn unreadable_profiles_say_why() {
    let newer = profile()
        .to_json()
        .replacen("\"version\": 1", "\"version\": 2", 1);
    let error = Profile::from_json(&newer).unwrap_err();
    assert!(
        matches!(error, ProfileError::UnsupportedVersion { found: 2 }),
        "{error}"
    );
    assert!(matches!(
        Profile::from_json("{"),
        Err(ProfileError::Json(_))
    ));

    let mut broken = profile();
    if let FeatureStats::Numeric(numeric) = &mut broken.features[2].stats {
        numeric.histogram.as_mut().unwrap().edges.pop();
    }
    let error = Profile::from_json(&broken.to_json()).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("feature 'bill_length_mm' has a malformed histogram"),
        "{error}"
    );
}
