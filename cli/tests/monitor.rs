//! `smelt monitor compare` and `smelt monitor profile` on the real binary,
//! with real data and a deliberately shifted copy of it.

mod common;

use std::path::{Path, PathBuf};

use common::*;
use serde_json::Value;

fn dataset(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../datasets")
        .join(name)
}

/// The breast-cancer training split (the reference itself) with `mean_radius` moved up by 5 and
/// `mean_texture` doubled.
fn shifted_copy(dir: &Path) -> PathBuf {
    let mut reader = csv::Reader::from_path(dataset("breast_cancer.train.csv")).unwrap();
    let header = reader.headers().unwrap().clone();
    let radius = header.iter().position(|h| h == "mean_radius").unwrap();
    let texture = header.iter().position(|h| h == "mean_texture").unwrap();
    let path = dir.join("shifted.csv");
    let mut writer = csv::Writer::from_path(&path).unwrap();
    writer.write_record(&header).unwrap();
    for record in reader.records() {
        let mut fields: Vec<String> = record.unwrap().iter().map(String::from).collect();
        let r: f64 = fields[radius].parse().unwrap();
        let t: f64 = fields[texture].parse().unwrap();
        fields[radius] = (r + 5.0).to_string();
        fields[texture] = (t * 2.0).to_string();
        writer.write_record(&fields).unwrap();
    }
    writer.flush().unwrap();
    path
}

#[test]
fn compare_reports_the_shifted_columns_first_in_json_html_and_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let current = shifted_copy(dir.path());
    let html = dir.path().join("report.html");
    let json = dir.path().join("report.json");
    let out = smelt_ok(
        dir.path(),
        &[
            "monitor",
            "compare",
            dataset("breast_cancer.train.csv").to_str().unwrap(),
            current.to_str().unwrap(),
            "--html",
            html.to_str().unwrap(),
            "--json-report",
            json.to_str().unwrap(),
        ],
    );
    assert!(
        out.contains("no dataset drift: 2 of 31 tested columns drifted"),
        "{out}"
    );

    let report: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let columns = report["columns"].as_array().unwrap();
    let first_two: Vec<&str> = columns[..2]
        .iter()
        .map(|c| c["column"].as_str().unwrap())
        .collect();
    assert!(first_two.contains(&"mean_radius") && first_two.contains(&"mean_texture"));
    for column in &columns[..2] {
        assert_eq!(column["test"], "ks");
        assert_eq!(column["drifted"], true);
        assert!(column["p_value"].as_f64().unwrap() < 1e-6);
        assert_eq!(column["threshold"], 0.05);
    }
    let unchanged = columns.iter().find(|c| c["column"] == "mean_area").unwrap();
    assert_eq!(unchanged["drifted"], false);
    assert_eq!(report["dataset_drifted"], false);

    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("No dataset drift: 2 of 31 tested columns drifted"));
    assert_eq!(page.matches("<svg").count(), 31);
}

#[test]
fn compare_can_fail_a_ci_check_and_refuses_bad_input_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let current = shifted_copy(dir.path());
    let reference = dataset("breast_cancer.train.csv");
    let output = smelt(
        dir.path(),
        &[
            "monitor",
            "compare",
            reference.to_str().unwrap(),
            current.to_str().unwrap(),
            "--drift-share",
            "0.05",
            "--fail-on-drift",
        ],
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("dataset drift: 2 of 31"),
        "{}",
        stderr(&output)
    );

    let missing = smelt(
        dir.path(),
        &[
            "monitor",
            "compare",
            reference.to_str().unwrap(),
            "nope.csv",
        ],
    );
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        stderr(&missing).contains("nope.csv"),
        "{}",
        stderr(&missing)
    );

    let unknown = smelt(
        dir.path(),
        &[
            "monitor",
            "compare",
            reference.to_str().unwrap(),
            current.to_str().unwrap(),
            "--test",
            "mean_radius=magic",
        ],
    );
    assert!(
        stderr(&unknown).contains("unknown drift test 'magic'"),
        "{}",
        stderr(&unknown)
    );

    // A test chosen per column is used for it.
    let out = smelt_json(
        dir.path(),
        &[
            "monitor",
            "compare",
            reference.to_str().unwrap(),
            current.to_str().unwrap(),
            "--test",
            "mean_radius=psi",
        ],
    );
    let radius = out["columns"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["column"] == "mean_radius")
        .unwrap();
    assert_eq!(radius["test"], "psi");
    assert_eq!(radius["p_value"], Value::Null);
}

#[test]
fn a_profile_can_stand_in_for_the_reference_table() {
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("profile.json");
    let reference = dataset("breast_cancer.train.csv");
    smelt_ok(
        dir.path(),
        &[
            "monitor",
            "profile",
            reference.to_str().unwrap(),
            "--output",
            profile.to_str().unwrap(),
        ],
    );
    let current = shifted_copy(dir.path());
    let report = smelt_json(
        dir.path(),
        &[
            "monitor",
            "compare",
            profile.to_str().unwrap(),
            current.to_str().unwrap(),
        ],
    );
    // The training split has 426 rows, under the sample's 1,000: the
    // sample is the whole table, so the verdicts are the table's.
    assert_eq!(report["reference_rows"], 426);
    let drifted: Vec<&str> = report["columns"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["drifted"] == true)
        .map(|c| c["column"].as_str().unwrap())
        .collect();
    assert_eq!(drifted.len(), 2, "{drifted:?}");

    std::fs::write(
        dir.path().join("old.json"),
        r#"{"version": 1, "rows": 0, "features": []}"#,
    )
    .unwrap();
    let old = smelt(
        dir.path(),
        &[
            "monitor",
            "compare",
            dir.path().join("old.json").to_str().unwrap(),
            current.to_str().unwrap(),
        ],
    );
    assert!(
        stderr(&old).contains("has no row sample"),
        "{}",
        stderr(&old)
    );
}

#[test]
fn profile_describes_every_column_of_a_table() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("profile.json");
    smelt_ok(
        dir.path(),
        &[
            "monitor",
            "profile",
            dataset("penguins.csv").to_str().unwrap(),
            "--output",
            path.to_str().unwrap(),
        ],
    );
    let profile: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let features = profile["features"].as_array().unwrap();
    assert_eq!(features.len(), 8);
    let island = features.iter().find(|f| f["name"] == "island").unwrap();
    assert_eq!(island["kind"], "categorical");
    let mass = features
        .iter()
        .find(|f| f["name"] == "body_mass_g")
        .unwrap();
    assert_eq!(mass["missing"], 2);
}

/// The JSON report of `compare` on the shifted breast-cancer copy with MMD on
/// two columns and the given `--compute`.
/// `--json` is the global "print JSON" switch and takes no file: the report
/// file has its own flag, and the old `--json FILE` spelling is a usage error
/// rather than a guess.
#[test]
fn compare_writes_the_report_file_with_json_report_and_prints_json_with_json() {
    let dir = tempfile::tempdir().unwrap();
    let current = shifted_copy(dir.path());
    let reference = dataset("breast_cancer.train.csv");
    let file = dir.path().join("report.json");
    let printed = smelt_json(
        dir.path(),
        &[
            "monitor",
            "compare",
            reference.to_str().unwrap(),
            current.to_str().unwrap(),
            "--json-report",
            file.to_str().unwrap(),
        ],
    );
    let written: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(printed["columns"], written["columns"]);
    assert_eq!(printed["dataset_drifted"], false);

    let old = smelt(
        dir.path(),
        &[
            "monitor",
            "compare",
            reference.to_str().unwrap(),
            current.to_str().unwrap(),
            "--json",
            dir.path().join("other.json").to_str().unwrap(),
        ],
    );
    assert_eq!(old.status.code(), Some(2), "{}", stderr(&old));
    assert!(stderr(&old).contains("other.json"), "{}", stderr(&old));
    assert!(!dir.path().join("other.json").exists());
}

fn mmd_report(dir: &Path, compute: &str) -> Value {
    let current = shifted_copy(dir);
    let json = dir.join(format!("report-{compute}.json"));
    smelt_ok(
        dir,
        &[
            "monitor",
            "compare",
            dataset("breast_cancer.train.csv").to_str().unwrap(),
            current.to_str().unwrap(),
            "--test",
            "mean_radius=mmd",
            "--test",
            "mean_area=mmd",
            "--compute",
            compute,
            "--json-report",
            json.to_str().unwrap(),
        ],
    );
    serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap()
}

fn column<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["columns"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["column"] == name)
        .unwrap()
}

#[test]
fn compare_says_where_it_computed_and_refuses_an_unknown_choice() {
    let dir = tempfile::tempdir().unwrap();
    let report = mmd_report(dir.path(), "cpu");
    assert_eq!(report["compute"], "cpu");
    let radius = column(&report, "mean_radius");
    assert_eq!(radius["test"], "mmd");
    assert_eq!(radius["drifted"], true);
    assert_eq!(column(&report, "mean_area")["drifted"], false);

    let output = smelt(
        dir.path(),
        &["monitor", "compare", "a.csv", "b.csv", "--compute", "tpu"],
    );
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("auto, cpu or gpu"),
        "{}",
        stderr(&output)
    );
}

/// The GPU code path of the monitor: MMD kernel sums and histograms through
/// CubeCL's wgpu runtime (lavapipe in CI). Skipped without a Vulkan driver
/// unless SMELT_REQUIRE_GPU_PATH=1 (scripts/test.sh sets it).
#[cfg(feature = "gpu")]
#[test]
fn compare_on_the_gpu_matches_the_cpu() {
    let dir = tempfile::tempdir().unwrap();
    let probe = smelt(
        dir.path(),
        &["monitor", "compare", "a.csv", "b.csv", "--compute", "gpu"],
    );
    if stderr(&probe).contains("no GPU adapter") {
        assert!(
            std::env::var("SMELT_REQUIRE_GPU_PATH").is_err(),
            "SMELT_REQUIRE_GPU_PATH is set but no adapter opened: {}",
            stderr(&probe)
        );
        eprintln!("skipping: {}", stderr(&probe));
        return;
    }
    let cpu = mmd_report(dir.path(), "cpu");
    let gpu = mmd_report(dir.path(), "gpu");
    assert!(
        gpu["compute"].as_str().unwrap().starts_with("gpu: "),
        "{}",
        gpu["compute"]
    );
    for name in ["mean_radius", "mean_area"] {
        let (c, g) = (column(&cpu, name), column(&gpu, name));
        assert_eq!(c["drifted"], g["drifted"], "{name}");
        let (cs, gs) = (
            c["statistic"].as_f64().unwrap(),
            g["statistic"].as_f64().unwrap(),
        );
        // f32 kernel sums on the GPU, f64 on the CPU.
        assert!(
            (cs - gs).abs() <= 1e-5 + 1e-4 * cs.abs(),
            "{name}: {cs} vs {gs}"
        );
        // Histograms are counted exactly on both paths.
        assert_eq!(c["histogram"], g["histogram"], "{name}");
    }
    let (c, g) = (column(&cpu, "mean_texture"), column(&gpu, "mean_texture"));
    assert_eq!(c, g);
}

#[test]
fn mmd_tests_the_joint_shift_of_numeric_columns_and_names_bad_columns() {
    let dir = tempfile::tempdir().unwrap();
    let current = shifted_copy(dir.path());
    let reference = dataset("breast_cancer.train.csv");
    let mmd = |columns: &str| {
        smelt_json(
            dir.path(),
            &[
                "monitor",
                "mmd",
                reference.to_str().unwrap(),
                current.to_str().unwrap(),
                "--columns",
                columns,
                "--compute",
                "cpu",
            ],
        )
    };
    let shifted = mmd("mean_radius,mean_texture,mean_area");
    assert_eq!(shifted["drifted"], true, "{shifted}");
    assert!(shifted["p_value"].as_f64().unwrap() < 0.05);
    assert_eq!(shifted["reference_rows"], 426);
    assert_eq!(shifted["compute"], "cpu");
    let unchanged = mmd("mean_area,mean_smoothness");
    assert_eq!(unchanged["drifted"], false, "{unchanged}");
    assert!(unchanged["mmd2"].as_f64().unwrap().abs() < 1e-2);

    let output = smelt(
        dir.path(),
        &[
            "monitor",
            "mmd",
            reference.to_str().unwrap(),
            current.to_str().unwrap(),
            "--columns",
            "mean_radius,nope",
        ],
    );
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("unknown column 'nope'"),
        "{}",
        stderr(&output)
    );
}

/// The CSV at `source` without column `drop`, written as CSV and as Parquet
/// (`Float64` columns, `Utf8` where a value is not a number) next to `stem`.
fn csv_and_parquet(source: &Path, drop: &str, stem: &Path) -> (PathBuf, PathBuf) {
    use std::sync::Arc;

    use arrow_array::{ArrayRef, Float64Array, RecordBatch, StringArray};

    let mut reader = csv::Reader::from_path(source).unwrap();
    let header = reader.headers().unwrap().clone();
    let keep: Vec<usize> = (0..header.len()).filter(|i| &header[*i] != drop).collect();
    let mut columns: Vec<Vec<String>> = vec![Vec::new(); keep.len()];
    let csv_path = stem.with_extension("csv");
    let mut writer = csv::Writer::from_path(&csv_path).unwrap();
    writer
        .write_record(keep.iter().map(|i| &header[*i]))
        .unwrap();
    for record in reader.records() {
        let record = record.unwrap();
        writer
            .write_record(keep.iter().map(|i| &record[*i]))
            .unwrap();
        for (column, i) in columns.iter_mut().zip(&keep) {
            column.push(record[*i].to_string());
        }
    }
    writer.flush().unwrap();
    let arrays: Vec<(&str, ArrayRef)> = keep
        .iter()
        .zip(columns)
        .map(|(i, texts)| {
            let numbers: Result<Vec<f64>, _> = texts.iter().map(|t| t.parse::<f64>()).collect();
            let array: ArrayRef = match numbers {
                Ok(numbers) => Arc::new(Float64Array::from(numbers)),
                Err(_) => Arc::new(StringArray::from(texts)),
            };
            (&header[*i], array)
        })
        .collect();
    let batch = RecordBatch::try_from_iter(arrays).unwrap();
    let parquet_path = stem.with_extension("parquet");
    let mut parquet = parquet::arrow::ArrowWriter::try_new(
        std::fs::File::create(&parquet_path).unwrap(),
        batch.schema(),
        None,
    )
    .unwrap();
    parquet.write(&batch).unwrap();
    parquet.close().unwrap();
    (csv_path, parquet_path)
}

#[test]
fn parquet_tables_compared_a_few_columns_at_a_time_give_the_whole_table_report() {
    let dir = tempfile::tempdir().unwrap();
    let shifted = shifted_copy(dir.path());
    // Columns missing on either side land in groups of their own.
    let (reference_csv, reference_parquet) = csv_and_parquet(
        &dataset("breast_cancer.train.csv"),
        "worst_area",
        &dir.path().join("reference"),
    );
    let (current_csv, current_parquet) =
        csv_and_parquet(&shifted, "mean_area", &dir.path().join("current"));
    let report = |reference: &Path, current: &Path| {
        smelt_json(
            dir.path(),
            &[
                "monitor",
                "compare",
                reference.to_str().unwrap(),
                current.to_str().unwrap(),
                "--compute",
                "cpu",
            ],
        )
    };
    let whole = report(&reference_csv, &current_csv);
    let by_columns = report(&reference_parquet, &current_parquet);
    assert_eq!(by_columns, whole);
    assert_eq!(by_columns["columns"].as_array().unwrap().len(), 31);
    assert_eq!(by_columns["reference_rows"], 426);
    let missing = column(&by_columns, "mean_area");
    assert_eq!(missing["verdict"], "skipped");
    assert!(missing["reason"].as_str().unwrap().contains("current"));
    assert_eq!(column(&by_columns, "mean_radius")["drifted"], true);
}
