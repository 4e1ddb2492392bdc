//! Live traffic for monitoring: serving's capture records (the JSON-lines
//! format of `serving/CAPTURE.md`) read incrementally, cut into windows and
//! turned into frames the drift report compares with a reference.
//!
//! This is the one module of the crate that reads files; the statistics
//! stay pure. A [`CaptureCursor`] remembers how many bytes of each hourly
//! file were consumed, so a monitor that restarts picks up where it left
//! off, and a half-written last line is left for the next read.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use smelt_data::{Categories, Column, Frame, Kind};

use crate::profile::{PredictionProfile, Profile};

/// Name of the column predictions get in window and reference frames.
pub const PREDICTION_COLUMN: &str = "prediction";

/// How far into each capture file a monitor has read.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CaptureCursor {
    /// Bytes consumed per file, by path relative to the endpoint's folder.
    pub offsets: BTreeMap<String, u64>,
    /// Lines that were not capture records (skipped, counted).
    #[serde(default)]
    pub malformed_lines: u64,
}

/// One captured request, as the monitor needs it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CapturedRequest {
    /// RFC 3339 time of the answer.
    pub time: String,
    /// Model and version that answered.
    pub model: String,
    /// The version.
    pub model_version: String,
    /// A shadow variant's answer (not what the caller got).
    #[serde(default)]
    pub shadow: bool,
    /// The rows.
    pub input: CapturedInput,
    /// The answers.
    pub output: CapturedOutput,
}

/// A request's rows in split orient.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CapturedInput {
    /// Column names.
    pub columns: Vec<String>,
    /// Rows of values.
    pub data: Vec<Vec<Value>>,
}

/// A request's predictions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CapturedOutput {
    /// One per row.
    pub predictions: Vec<Value>,
}

impl CaptureCursor {
    /// Reads every complete record added under `endpoint_dir` since the
    /// last call, oldest file first. Shadow answers are skipped: the monitor
    /// watches what callers received.
    pub fn read_new(&mut self, endpoint_dir: &Path) -> std::io::Result<Vec<CapturedRequest>> {
        let mut files = Vec::new();
        collect_jsonl(endpoint_dir, endpoint_dir, &mut files)?;
        files.sort();
        let mut records = Vec::new();
        for relative in files {
            let path = endpoint_dir.join(&relative);
            let offset = self.offsets.get(&relative).copied().unwrap_or(0);
            let mut file = std::fs::File::open(&path)?;
            if file.metadata()?.len() <= offset {
                continue;
            }
            file.seek(SeekFrom::Start(offset))?;
            let mut text = String::new();
            file.read_to_string(&mut text)?;
            // Only whole lines: the writer may be mid-append.
            let complete = text.rfind('\n').map_or(0, |end| end + 1);
            for line in text[..complete].lines().filter(|l| !l.trim().is_empty()) {
                match serde_json::from_str::<CapturedRequest>(line) {
                    Ok(record) if !record.shadow => records.push(record),
                    Ok(_) => {}
                    Err(_) => self.malformed_lines += 1,
                }
            }
            self.offsets.insert(relative, offset + complete as u64);
        }
        Ok(records)
    }
}

fn collect_jsonl(root: &Path, dir: &Path, files: &mut Vec<String>) -> std::io::Result<()> {
    if !dir.is_dir() {
        return Ok(());
    }
    for entry in std::fs::read_dir(dir)? {
        let path: PathBuf = entry?.path();
        if path.is_dir() {
            collect_jsonl(root, &path, files)?;
        } else if path.extension().is_some_and(|e| e == "jsonl")
            && let Ok(relative) = path.strip_prefix(root)
        {
            files.push(relative.to_string_lossy().replace('\\', "/"));
        }
    }
    Ok(())
}

/// Most rows an open window holds. A larger window (by rows or by time) is
/// tested on a uniform sample of this many of its rows (Algorithm R), so a
/// monitor's memory and its saved state stay bounded whatever the window size;
/// the window still counts every row.
pub const MAX_WINDOW_ROWS: usize = 100_000;

/// How a monitor cuts traffic into windows (part of a monitor's spec, so
/// the type is `smelt-api`'s).
pub use smelt_api::monitors::WindowSize;

/// A closed window of traffic.
#[derive(Debug, Clone, PartialEq)]
pub struct Window {
    /// Time of its first and last record.
    pub start: String,
    /// Time of its last record.
    pub end: String,
    /// The requests' rows (all of them, or a uniform sample of
    /// [`MAX_WINDOW_ROWS`] when the window had more), predictions in
    /// [`PREDICTION_COLUMN`].
    pub requests: Vec<CapturedRequest>,
    /// Model versions that answered (`model/version`).
    pub versions: BTreeSet<String>,
    /// Rows that arrived in the window.
    pub rows_seen: usize,
}

impl Window {
    /// Rows that arrived in the window.
    pub fn rows(&self) -> usize {
        self.rows_seen
    }

    /// Rows kept to be tested (fewer than [`Window::rows`] when sampled).
    pub fn rows_kept(&self) -> usize {
        self.requests.iter().map(|r| r.input.data.len()).sum()
    }

    /// The window's rows as a frame with the reference's columns and kinds
    /// (a value of the wrong kind counts as missing), plus the predictions.
    pub fn to_frame(
        &self,
        kinds: &[(String, Kind)],
        prediction_kind: Option<Kind>,
    ) -> Result<Frame, String> {
        let mut columns: Vec<Column> = Vec::new();
        for (name, kind) in kinds {
            let cells = self.requests.iter().flat_map(|request| {
                let position = request.input.columns.iter().position(|c| c == name);
                request.input.data.iter().map(move |row| {
                    position
                        .and_then(|i| row.get(i))
                        .cloned()
                        .unwrap_or(Value::Null)
                })
            });
            columns.push(column(name, *kind, cells));
        }
        if let Some(kind) = prediction_kind {
            let cells = self
                .requests
                .iter()
                .flat_map(|request| request.output.predictions.iter().cloned());
            columns.push(column(PREDICTION_COLUMN, kind, cells));
        }
        Frame::new(columns).map_err(|e| e.to_string())
    }
}

fn column(name: &str, kind: Kind, cells: impl Iterator<Item = Value>) -> Column {
    match kind {
        Kind::Numeric => Column::numeric(
            name,
            cells.map(|v| v.as_f64().unwrap_or(f64::NAN)).collect(),
        ),
        Kind::Categorical => Column::categorical(
            name,
            cells
                .map(|v| match v {
                    Value::Null => None,
                    Value::String(s) => Some(s),
                    other => Some(other.to_string()),
                })
                .collect::<Categories>(),
        ),
    }
}

/// Accumulates requests and closes windows; holds at most
/// [`MAX_WINDOW_ROWS`] rows of the open window.
#[derive(Debug, Clone)]
pub struct Windower {
    size: WindowSize,
    pending: Vec<CapturedRequest>,
    /// Rows that entered the open window (more than `pending` holds once
    /// it is sampled).
    seen: usize,
    capacity: usize,
}

impl Windower {
    /// An empty windower.
    pub fn new(size: WindowSize) -> Windower {
        Self::resume(size, Vec::new(), 0)
    }

    /// A windower whose open window already holds `pending` out of `seen`
    /// rows (saved by [`into_pending`](Self::into_pending) before a
    /// restart; `seen` below the pending rows means "all of them").
    pub fn resume(size: WindowSize, pending: Vec<CapturedRequest>, seen: usize) -> Windower {
        let held = pending.iter().map(|r| r.input.data.len()).sum();
        Windower {
            size,
            pending,
            seen: seen.max(held),
            capacity: MAX_WINDOW_ROWS,
        }
    }

    /// The same with room for `capacity` rows (tests use a small one).
    pub fn with_capacity(mut self, capacity: usize) -> Windower {
        self.capacity = capacity.max(1);
        self
    }

    /// The open window to save: its kept requests and the rows it has seen.
    pub fn into_pending(self) -> (Vec<CapturedRequest>, usize) {
        (self.pending, self.seen)
    }

    /// Adds requests (in time order); returns the windows they closed.
    pub fn push(&mut self, requests: Vec<CapturedRequest>) -> Vec<Window> {
        let mut closed = Vec::new();
        for request in requests {
            if let WindowSize::Minutes(minutes) = self.size
                && let Some(first) = self.pending.first()
                && bucket(&first.time, minutes) != bucket(&request.time, minutes)
            {
                closed.extend(self.close());
            }
            self.keep(request);
            if let WindowSize::Rows(rows) = self.size
                && self.seen >= rows.max(1)
            {
                closed.extend(self.close());
            }
        }
        closed
    }

    /// Adds a request to the open window, sampling rows once it is full.
    fn keep(&mut self, request: CapturedRequest) {
        let rows = request.input.data.len();
        if self.seen + rows <= self.capacity {
            self.seen += rows;
            self.pending.push(request);
            return;
        }
        // Past capacity: one slot per row from now on (Algorithm R).
        if self.pending.iter().any(|r| r.input.data.len() != 1) {
            let whole = std::mem::take(&mut self.pending);
            self.pending = whole.into_iter().flat_map(single_rows).collect();
        }
        let key = self
            .pending
            .first()
            .map_or_else(|| request.time.clone(), |first| first.time.clone());
        for row in single_rows(request) {
            self.seen += 1;
            if self.pending.len() < self.capacity {
                self.pending.push(row);
            } else {
                // Seeded by the window's start and the row's place in it, so a
                // monitor resumed after a restart draws the same sample.
                let draw = mix(&key, self.seen as u64) % self.seen as u64;
                if let Some(slot) = self.pending.get_mut(draw as usize) {
                    *slot = row;
                }
            }
        }
    }

    /// Closes a time window whose interval ended before `now` (RFC 3339).
    pub fn close_expired(&mut self, now: &str) -> Option<Window> {
        let WindowSize::Minutes(minutes) = self.size else {
            return None;
        };
        let first = self.pending.first()?;
        (bucket(&first.time, minutes) < bucket(now, minutes)).then(|| self.close())?
    }

    /// Rows that entered the open window.
    pub fn pending_rows(&self) -> usize {
        self.seen
    }

    fn close(&mut self) -> Option<Window> {
        let mut requests = std::mem::take(&mut self.pending);
        let rows_seen = std::mem::take(&mut self.seen);
        // A sampled window's slots are out of time order; restore it.
        requests.sort_by(|a, b| a.time.cmp(&b.time));
        let first = requests.first()?;
        Some(Window {
            start: first.time.clone(),
            end: requests.last().map_or_else(String::new, |r| r.time.clone()),
            versions: requests
                .iter()
                .map(|r| format!("{}/{}", r.model, r.model_version))
                .collect(),
            requests,
            rows_seen,
        })
    }
}

/// A request as one single-row request per row.
fn single_rows(request: CapturedRequest) -> Vec<CapturedRequest> {
    if request.input.data.len() == 1 {
        return vec![request];
    }
    let CapturedRequest {
        time,
        model,
        model_version,
        shadow,
        input,
        output,
    } = request;
    let mut predictions = output.predictions.into_iter();
    input
        .data
        .into_iter()
        .map(|row| CapturedRequest {
            time: time.clone(),
            model: model.clone(),
            model_version: model_version.clone(),
            shadow,
            input: CapturedInput {
                columns: input.columns.clone(),
                data: vec![row],
            },
            output: CapturedOutput {
                predictions: predictions.next().into_iter().collect(),
            },
        })
        .collect()
}

/// A well-mixed 64-bit value of a text key and a counter (SplitMix64's
/// finaliser over an FNV-1a hash of the key).
fn mix(key: &str, counter: u64) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in key.bytes() {
        hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
    }
    let mut z = hash ^ counter.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The clock interval a time falls in (minutes since the epoch / size).
fn bucket(time: &str, minutes: u64) -> i64 {
    let seconds = parse_epoch_seconds(time).unwrap_or(0);
    seconds.div_euclid(60 * minutes.max(1) as i64)
}

/// Seconds since the epoch of an RFC 3339 UTC time (`…Z`), without a date crate.
fn parse_epoch_seconds(time: &str) -> Option<i64> {
    let (date, clock) = time.split_once('T')?;
    let mut date = date.split('-').map(|p| p.parse::<i64>());
    let (y, m, d) = (date.next()?.ok()?, date.next()?.ok()?, date.next()?.ok()?);
    let clock = clock.trim_end_matches('Z');
    let mut clock = clock.split(':');
    let (h, mi) = (
        clock.next()?.parse::<i64>().ok()?,
        clock.next()?.parse::<i64>().ok()?,
    );
    let s = clock.next()?.split('.').next()?.parse::<i64>().ok()?;
    // Days from civil (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + h * 3_600 + mi * 60 + s)
}

/// The reference frame a profile stands for: its row sample plus, when the
/// profile records the model's predictions, a prediction column drawn from
/// them (class labels by their training frequencies; values by inverse
/// transform of the regression predictions' quantile sketch).
pub fn reference_frame(profile: &Profile) -> Result<(Frame, Option<Kind>), String> {
    let sample = profile
        .sample
        .as_ref()
        .ok_or("the profile has no row sample")?;
    let mut frame = sample.to_frame()?;
    let rows = frame.rows();
    let prediction = match &profile.prediction {
        Some(PredictionProfile::Classification(classes)) => {
            let total: u64 = classes.frequencies.iter().map(|f| f.count).sum();
            let mut labels = Vec::with_capacity(rows);
            // Cumulative rounding: exactly `rows` labels, each class's share
            // within one label of its training share.
            let mut cumulative = 0u64;
            for f in &classes.frequencies {
                cumulative += f.count;
                let target =
                    (cumulative as f64 / total.max(1) as f64 * rows as f64).round() as usize;
                let share = target.saturating_sub(labels.len());
                labels.extend(std::iter::repeat_n(Some(f.value.clone()), share));
            }
            (total > 0).then(|| Column::categorical(PREDICTION_COLUMN, labels))
        }
        Some(PredictionProfile::Regression(values)) => values.sketch.as_ref().map(|sketch| {
            Column::numeric(
                PREDICTION_COLUMN,
                (0..rows)
                    .map(|i| sketch.quantile((i as f64 + 0.5) / rows as f64))
                    .collect(),
            )
        }),
        None => None,
    };
    let prediction = prediction.filter(|p| p.values.len() == rows && rows > 0);
    let kind = prediction.as_ref().map(Column::kind);
    if let Some(prediction) = prediction {
        let mut columns = frame.columns().to_vec();
        columns.push(prediction);
        frame = Frame::new(columns).map_err(|e| e.to_string())?;
    }
    Ok((frame, kind))
}

#[cfg(test)]
mod tests;
