use std::io::Write;

use serde_json::json;

use super::*;

fn record(time: &str, x: f64, plan: &str, prediction: &str) -> String {
    json!({
        "version": 1, "inference_id": "i", "time": time, "endpoint": "e",
        "variant": "v", "model": "m", "model_version": "1", "shadow": false,
        "input": {"columns": ["x", "plan"], "data": [[x, plan]]},
        "output": {"predictions": [prediction]}, "latency_ms": 0.1
    })
    .to_string()
}

fn append(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    file.write_all(text.as_bytes()).unwrap();
}

#[test]
fn the_cursor_reads_each_complete_record_once_across_files() {
    let dir = tempfile::tempdir().unwrap();
    let hour7 = dir.path().join("2026/11/26/07.jsonl");
    let hour8 = dir.path().join("2026/11/26/08.jsonl");
    append(
        &hour7,
        &format!("{}\n", record("2026-11-26T07:00:01.000Z", 1.0, "a", "yes")),
    );
    append(&hour7, "not json\n");
    // A half-written line is left for later.
    let partial = record("2026-11-26T07:59:59.000Z", 2.0, "b", "no");
    append(&hour7, &partial[..20]);
    let mut cursor = CaptureCursor::default();
    let first = cursor.read_new(dir.path()).unwrap();
    assert_eq!(first.len(), 1);
    assert_eq!(cursor.malformed_lines, 1);
    append(&hour7, &format!("{}\n", &partial[20..]));
    append(
        &hour8,
        &format!("{}\n", record("2026-11-26T08:00:00.000Z", 3.0, "a", "yes")),
    );
    let second = cursor.read_new(dir.path()).unwrap();
    let xs: Vec<f64> = second
        .iter()
        .map(|r| r.input.data[0][0].as_f64().unwrap())
        .collect();
    assert_eq!(xs, [2.0, 3.0]);
    assert!(cursor.read_new(dir.path()).unwrap().is_empty());
    // The cursor survives a restart as JSON.
    let saved = serde_json::to_string(&cursor).unwrap();
    let mut restored: CaptureCursor = serde_json::from_str(&saved).unwrap();
    assert!(restored.read_new(dir.path()).unwrap().is_empty());
}

fn requests(times: &[&str]) -> Vec<CapturedRequest> {
    times
        .iter()
        .enumerate()
        .map(|(i, t)| serde_json::from_str(&record(t, i as f64, "a", "yes")).unwrap())
        .collect()
}

#[test]
fn row_windows_close_at_their_size_and_time_windows_at_the_clock() {
    let mut rows = Windower::new(WindowSize::Rows(2));
    let closed = rows.push(requests(&["2026-11-26T07:00:00Z"; 5]));
    assert_eq!(closed.len(), 2);
    assert_eq!(rows.pending_rows(), 1);

    let mut minutes = Windower::new(WindowSize::Minutes(5));
    let closed = minutes.push(requests(&[
        "2026-11-26T07:00:00.000Z",
        "2026-11-26T07:04:59.999Z",
        "2026-11-26T07:05:00.000Z",
    ]));
    assert_eq!(closed.len(), 1);
    assert_eq!(closed[0].rows(), 2);
    assert_eq!(closed[0].versions.iter().collect::<Vec<_>>(), ["m/1"]);
    assert!(minutes.close_expired("2026-11-26T07:09:00Z").is_none());
    let last = minutes.close_expired("2026-11-26T07:10:00Z").unwrap();
    assert_eq!(last.rows(), 1);
}

#[test]
fn a_window_becomes_a_frame_with_the_reference_kinds_and_predictions() {
    let mut windower = Windower::new(WindowSize::Rows(2));
    let mut batch = requests(&["2026-11-26T07:00:00Z", "2026-11-26T07:00:01Z"]);
    batch[1].input.data[0][0] = json!("oops");
    let window = windower.push(batch).remove(0);
    let kinds = vec![
        ("x".to_string(), Kind::Numeric),
        ("plan".to_string(), Kind::Categorical),
        ("absent".to_string(), Kind::Numeric),
    ];
    let frame = window.to_frame(&kinds, Some(Kind::Categorical)).unwrap();
    assert_eq!(frame.names(), ["x", "plan", "absent", "prediction"]);
    let smelt_data::Values::Numeric(x) = &frame.column("x").unwrap().values else {
        panic!()
    };
    assert_eq!(x[0], 0.0);
    assert!(x[1].is_nan(), "text in a numeric column counts as missing");
    assert_eq!(
        frame
            .column("prediction")
            .unwrap()
            .values
            .text(0)
            .as_deref(),
        Some("yes")
    );
}

#[test]
fn a_profile_stands_for_its_reference_with_predictions_by_training_share() {
    let frame = Frame::new(vec![Column::numeric(
        "x",
        (0..100).map(f64::from).collect(),
    )])
    .unwrap();
    let labels: Vec<String> = (0..100)
        .map(|i| if i < 30 { "no" } else { "yes" }.into())
        .collect();
    let profile = Profile::from_frame(&frame, &crate::ProfileOptions::default())
        .with_classification_predictions(&labels, &[], &["no".into(), "yes".into()])
        .unwrap();
    let (reference, kind) = reference_frame(&profile).unwrap();
    assert_eq!(kind, Some(Kind::Categorical));
    let predictions = &reference.column(PREDICTION_COLUMN).unwrap().values;
    let no = (0..predictions.len())
        .filter(|&i| predictions.text(i).as_deref() == Some("no"))
        .count();
    assert_eq!((predictions.len(), no), (100, 30));

    let regression = Profile::from_frame(&frame, &crate::ProfileOptions::default())
        .with_regression_predictions(&(0..100).map(f64::from).collect::<Vec<_>>());
    let (reference, kind) = reference_frame(&regression).unwrap();
    assert_eq!(kind, Some(Kind::Numeric));
    let smelt_data::Values::Numeric(values) = &reference.column(PREDICTION_COLUMN).unwrap().values
    else {
        panic!()
    };
    assert!((values[0] - 0.495).abs() < 1e-9 && (values[99] - 98.505).abs() < 1e-9);
}

#[test]
fn epoch_seconds_match_known_dates() {
    assert_eq!(parse_epoch_seconds("1970-01-01T00:00:00Z"), Some(0));
    assert_eq!(
        parse_epoch_seconds("2026-11-26T07:15:00.123Z"),
        Some(1_795_677_300)
    );
    assert_eq!(
        parse_epoch_seconds("2000-02-29T12:00:00Z"),
        Some(951_825_600)
    );
    assert_eq!(parse_epoch_seconds("garbage"), None);
}

/// `count` one-row requests a second apart from 07:00, with `x` = their index.
fn numbered(count: usize) -> Vec<CapturedRequest> {
    (0..count)
        .map(|i| {
            let time = format!("2026-11-26T07:{:02}:{:02}Z", i / 60 % 60, i % 60);
            serde_json::from_str(&record(&time, i as f64, "a", "yes")).unwrap()
        })
        .collect()
}

fn xs(window: &Window) -> Vec<f64> {
    window
        .requests
        .iter()
        .map(|r| r.input.data[0][0].as_f64().unwrap())
        .collect()
}

#[test]
fn a_large_window_keeps_a_bounded_uniform_sample_and_counts_every_row() {
    let mut windower = Windower::new(WindowSize::Minutes(60)).with_capacity(50);
    assert!(windower.push(numbered(2_000)).is_empty());
    assert_eq!(windower.pending_rows(), 2_000);
    let window = windower.close_expired("2026-11-26T08:00:00Z").unwrap();
    assert_eq!((window.rows(), window.rows_kept()), (2_000, 50));
    let kept = xs(&window);
    // In time order, distinct, and spread over the whole hour rather than
    // the first 50 rows.
    assert!(kept.windows(2).all(|w| w[0] < w[1]), "{kept:?}");
    assert!(
        kept.iter().filter(|x| **x >= 1_000.0).count() >= 10,
        "{kept:?}"
    );
    assert!(
        kept.iter().filter(|x| **x < 1_000.0).count() >= 10,
        "{kept:?}"
    );
}

#[test]
fn a_sampled_window_resumed_after_a_restart_draws_the_same_rows() {
    let rows = numbered(600);
    let mut straight = Windower::new(WindowSize::Rows(600)).with_capacity(40);
    let whole = straight.push(rows.clone()).pop().unwrap();

    let mut first = Windower::new(WindowSize::Rows(600)).with_capacity(40);
    assert!(first.push(rows[..250].to_vec()).is_empty());
    let (pending, seen) = first.into_pending();
    assert_eq!((pending.len(), seen), (40, 250));
    let mut resumed = Windower::resume(WindowSize::Rows(600), pending, seen).with_capacity(40);
    let again = resumed.push(rows[250..].to_vec()).pop().unwrap();
    assert_eq!(xs(&again), xs(&whole));
    assert_eq!(again.rows(), 600);
}
