//! Data capture: a sample of live traffic written for the monitor.
//!
//! The request path only decides whether to capture (a coin flip against the
//! endpoint's sampling rate) and hands the already-built input frame and
//! predictions to a bounded channel: no JSON is built and nothing is
//! written there. A capture thread turns them into [`CaptureRecord`]s and
//! writes them through a [`CaptureSink`]. When the channel is full the
//! record is dropped and counted (`smelt_serving_capture_records_total
//! {outcome="dropped"}`); serving never waits for capture.
//!
//! The default sink, [`JsonlFiles`], writes one JSON object per line to
//! `ROOT/ENDPOINT/YYYY/MM/DD/HH.jsonl` (UTC hour of the inference). The record
//! format is documented in `serving/CAPTURE.md`; the monitor reads it.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, TrySendError};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use smelt_data::{Frame, Values};
use smelt_models::Predictions;

use crate::metrics::ServingMetrics;

/// One captured inference (one request; it may hold many rows).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaptureRecord {
    /// Format version of this record.
    pub version: u32,
    pub inference_id: String,
    /// RFC 3339, UTC, milliseconds.
    pub time: String,
    pub endpoint: String,
    pub variant: String,
    /// Registered model name (or run id / folder name) and its version.
    pub model: String,
    pub model_version: String,
    /// True for a shadow variant's answer (never returned to the caller).
    pub shadow: bool,
    pub input: CapturedInput,
    pub output: CapturedOutput,
    /// Server time from arrival to answer, milliseconds.
    pub latency_ms: f64,
}

/// The request's rows, in pandas' "split" orient: missing values are null.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CapturedInput {
    pub columns: Vec<String>,
    pub data: Vec<Vec<serde_json::Value>>,
}

/// The model's answer for each row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CapturedOutput {
    /// Class labels (classifiers) or values (regressors), one per row.
    pub predictions: Vec<serde_json::Value>,
    /// Classifiers: the label order of `probabilities`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub classes: Option<Vec<String>>,
    /// Classifiers: one probability per class, per row.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probabilities: Option<Vec<Vec<f64>>>,
}

/// Where capture records go.
pub trait CaptureSink: Send + Sync {
    /// Writes records (called from the capture thread, never from a request).
    fn write(&self, records: &[CaptureRecord]) -> std::io::Result<()>;
}

/// JSON lines under `root/ENDPOINT/YYYY/MM/DD/HH.jsonl`.
pub struct JsonlFiles {
    root: PathBuf,
}

impl JsonlFiles {
    pub fn new(root: impl Into<PathBuf>) -> JsonlFiles {
        JsonlFiles { root: root.into() }
    }

    /// The file a record belongs in.
    pub fn path_for(&self, record: &CaptureRecord) -> PathBuf {
        let hour = DateTime::parse_from_rfc3339(&record.time)
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_else(|_| Utc::now());
        self.root
            .join(&record.endpoint)
            .join(hour.format("%Y/%m/%d/%H.jsonl").to_string())
    }
}

impl CaptureSink for JsonlFiles {
    fn write(&self, records: &[CaptureRecord]) -> std::io::Result<()> {
        let mut by_file: BTreeMap<PathBuf, Vec<u8>> = BTreeMap::new();
        for record in records {
            let buffer = by_file.entry(self.path_for(record)).or_default();
            serde_json::to_writer(&mut *buffer, record)?;
            buffer.push(b'\n');
        }
        for (path, lines) in by_file {
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            // One write of whole lines per file: a reader never sees half a
            // record from this process.
            let mut file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)?;
            file.write_all(&lines)?;
        }
        Ok(())
    }
}

/// What the request path hands over; the capture thread builds the record.
pub struct Captured {
    pub inference_id: String,
    pub time: DateTime<Utc>,
    pub endpoint: Arc<str>,
    pub variant: Arc<str>,
    pub model: Arc<str>,
    pub model_version: Arc<str>,
    pub shadow: bool,
    pub input: Frame,
    pub predictions: Predictions,
    pub latency: Duration,
}

/// The bounded hand-off to the capture thread.
pub struct Capture {
    sender: SyncSender<Captured>,
    metrics: Arc<ServingMetrics>,
}

impl Capture {
    /// Starts the capture thread; at most `buffer` records wait for it.
    pub fn start(
        sink: Arc<dyn CaptureSink>,
        buffer: usize,
        metrics: Arc<ServingMetrics>,
    ) -> Arc<Capture> {
        let (sender, receiver) = std::sync::mpsc::sync_channel(buffer.max(1));
        let thread_metrics = metrics.clone();
        std::thread::Builder::new()
            .name("smelt-capture".into())
            .spawn(move || write_loop(&receiver, sink.as_ref(), &thread_metrics))
            .expect("the OS refused to start the capture thread");
        Arc::new(Capture { sender, metrics })
    }

    /// Queues a record without waiting; drops (and counts) it when full.
    pub fn submit(&self, captured: Captured) {
        match self.sender.try_send(captured) {
            Ok(()) => {}
            Err(TrySendError::Full(captured) | TrySendError::Disconnected(captured)) => {
                self.metrics.capture_dropped(&captured.endpoint);
            }
        }
    }
}

fn write_loop(receiver: &Receiver<Captured>, sink: &dyn CaptureSink, metrics: &ServingMetrics) {
    while let Ok(first) = receiver.recv() {
        // Whatever else is waiting goes in the same write.
        let mut batch = vec![first];
        while batch.len() < 1024 {
            match receiver.try_recv() {
                Ok(more) => batch.push(more),
                Err(_) => break,
            }
        }
        let endpoints: Vec<Arc<str>> = batch.iter().map(|c| c.endpoint.clone()).collect();
        let records: Vec<CaptureRecord> = batch.into_iter().map(record).collect();
        match sink.write(&records) {
            Ok(()) => endpoints.iter().for_each(|e| metrics.capture_written(e)),
            Err(error) => {
                tracing::warn!(%error, records = records.len(), "data capture write failed; records dropped");
                endpoints.iter().for_each(|e| metrics.capture_dropped(e));
            }
        }
    }
}

fn record(captured: Captured) -> CaptureRecord {
    CaptureRecord {
        version: 1,
        inference_id: captured.inference_id,
        time: captured
            .time
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        endpoint: captured.endpoint.to_string(),
        variant: captured.variant.to_string(),
        model: captured.model.to_string(),
        model_version: captured.model_version.to_string(),
        shadow: captured.shadow,
        input: input(&captured.input),
        output: output(captured.predictions),
        latency_ms: captured.latency.as_secs_f64() * 1e3,
    }
}

fn input(frame: &Frame) -> CapturedInput {
    let columns = frame.columns();
    let data = (0..frame.rows())
        .map(|row| {
            columns
                .iter()
                .map(|column| match &column.values {
                    Values::Numeric(v) => number(v[row]),
                    Values::Categorical(v) => v
                        .get(row)
                        .map_or(serde_json::Value::Null, |s| s.to_string().into()),
                })
                .collect()
        })
        .collect();
    CapturedInput {
        columns: columns.iter().map(|c| c.name.clone()).collect(),
        data,
    }
}

fn output(predictions: Predictions) -> CapturedOutput {
    match predictions {
        Predictions::Values(values) => CapturedOutput {
            predictions: values.into_iter().map(number).collect(),
            classes: None,
            probabilities: None,
        },
        Predictions::Classes {
            classes,
            labels,
            probabilities,
        } => CapturedOutput {
            predictions: labels.into_iter().map(Into::into).collect(),
            classes: Some(classes),
            probabilities: Some(probabilities),
        },
    }
}

fn number(x: f64) -> serde_json::Value {
    serde_json::Number::from_f64(x).map_or(serde_json::Value::Null, Into::into)
}

/// Reads every record under a JSONL capture root (for tests and the monitor).
pub fn read_jsonl(root: &Path) -> std::io::Result<Vec<CaptureRecord>> {
    let mut files = Vec::new();
    collect_files(root, &mut files)?;
    files.sort();
    let mut records = Vec::new();
    for file in files {
        for line in std::fs::read_to_string(&file)?.lines() {
            if line.trim().is_empty() {
                continue;
            }
            records.push(serde_json::from_str(line).map_err(|e| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("{}: {e}", file.display()),
                )
            })?);
        }
    }
    Ok(records)
}

fn collect_files(dir: &Path, files: &mut Vec<PathBuf>) -> std::io::Result<()> {
    if !dir.exists() {
        return Ok(());
    }
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect_files(&path, files)?;
        } else if path.extension().is_some_and(|e| e == "jsonl") {
            files.push(path);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use smelt_data::Column;

    use super::*;

    fn captured(endpoint: &str) -> Captured {
        Captured {
            inference_id: "id-1".into(),
            time: DateTime::parse_from_rfc3339("2026-11-26T07:15:00.123Z")
                .unwrap()
                .with_timezone(&Utc),
            endpoint: endpoint.into(),
            variant: "champion".into(),
            model: "iris".into(),
            model_version: "3".into(),
            shadow: false,
            input: Frame::new(vec![
                Column::numeric("x", vec![1.5, f64::NAN]),
                Column::categorical("c", vec![Some("a".into()), None]),
            ])
            .unwrap(),
            predictions: Predictions::Classes {
                classes: vec!["no".into(), "yes".into()],
                labels: vec!["yes".into(), "no".into()],
                probabilities: vec![vec![0.25, 0.75], vec![0.5, 0.5]],
            },
            latency: Duration::from_micros(1500),
        }
    }

    #[test]
    fn records_land_in_hourly_files_per_endpoint_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let metrics = Arc::new(ServingMetrics::new());
        let capture = Capture::start(Arc::new(JsonlFiles::new(dir.path())), 16, metrics.clone());
        capture.submit(captured("iris"));
        capture.submit(captured("wine"));
        let file = dir.path().join("iris/2026/11/26/07.jsonl");
        for _ in 0..200 {
            if file.exists() && dir.path().join("wine/2026/11/26/07.jsonl").exists() {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let records = read_jsonl(&dir.path().join("iris")).unwrap();
        assert_eq!(records.len(), 1);
        let record = &records[0];
        assert_eq!(record.time, "2026-11-26T07:15:00.123Z");
        assert_eq!(record.input.columns, ["x", "c"]);
        assert_eq!(
            record.input.data,
            vec![
                vec![serde_json::json!(1.5), serde_json::json!("a")],
                vec![serde_json::Value::Null, serde_json::Value::Null]
            ]
        );
        assert_eq!(record.output.predictions, ["yes", "no"]);
        assert_eq!(
            record.output.probabilities.as_ref().unwrap()[0],
            [0.25, 0.75]
        );
        assert!((record.latency_ms - 1.5).abs() < 1e-9);
        let line = std::fs::read_to_string(&file).unwrap();
        assert!(line.ends_with('\n') && line.matches('\n').count() == 1);
    }

    /// A sink that never finishes its first write.
    struct Stuck;
    impl CaptureSink for Stuck {
        fn write(&self, _: &[CaptureRecord]) -> std::io::Result<()> {
            std::thread::sleep(Duration::from_secs(3600));
            Ok(())
        }
    }

    #[test]
    fn a_stuck_sink_drops_and_counts_instead_of_blocking() {
        let metrics = Arc::new(ServingMetrics::new());
        let capture = Capture::start(Arc::new(Stuck), 2, metrics.clone());
        let started = std::time::Instant::now();
        for _ in 0..50 {
            capture.submit(captured("iris"));
        }
        assert!(started.elapsed() < Duration::from_secs(5));
        let text = metrics.render();
        let dropped: f64 = text
            .lines()
            .find(|l| {
                l.starts_with(
                    "smelt_serving_capture_records_total{endpoint=\"iris\",outcome=\"dropped\"}",
                )
            })
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap();
        // The writer holds the few it took before blocking; the buffer holds two.
        assert!(dropped >= 40.0, "{text}");
    }
}
