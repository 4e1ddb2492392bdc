//! Loading a job's data: resolving paths and artifact URIs, reading CSV or
//! Parquet, choosing features, inferring the task, encoding the target and
//! holding out validation rows. Everything here runs before a run is created,
//! so bad data never leaves a half-written run behind.

use std::path::{Path, PathBuf};

use smelt_data::{Column, Frame, ReadOptions, Values, read_table};
use smelt_models::task::{distinct_labels, encode_target, infer_task};
use smelt_models::{EncodedTarget, Task};
use smelt_tracking::artifacts::ModelUri;

use crate::error::{TrainError, TrainResult};
use crate::spec::{DataSpec, TaskKind};
use crate::tracker::Tracking;
use smelt_tracking::artifacts::DataRoots;

/// A split's rows: features, target and where they came from.
pub struct Split {
    pub features: Frame,
    pub target: Column,
    pub encoded: EncodedTarget,
    /// Path or URI as the user gave it, and what was read.
    pub source: String,
    pub digest: String,
}

pub struct PreparedData {
    pub train: Split,
    pub validation: Split,
    /// Rows scored once, by the final model (`data.test`).
    pub test: Option<Split>,
    pub task: Task,
    pub target: String,
    /// Files downloaded from artifact URIs; deleted when this is dropped.
    _downloads: Option<tempfile::TempDir>,
}

/// Reads and checks the data a spec names. Relative paths resolve against
/// `base_dir` (the spec file's folder); URIs (`runs:/…`, `s3://…`,
/// `mlflow-artifacts:/…`) are fetched through `tracking`. Every location
/// must be one `roots` allows; nothing is opened before that is checked.
pub fn prepare(
    spec: &DataSpec,
    base_dir: &Path,
    tracking: Option<&Tracking>,
    roots: &DataRoots,
) -> TrainResult<PreparedData> {
    check_locations(&spec.locations(), base_dir, tracking, roots)?;
    let mut downloads = None;
    let options = ReadOptions {
        categorical: spec.categorical.clone(),
    };
    let mut read = |location: &str| -> TrainResult<Frame> {
        let path = locate(location, base_dir, tracking, roots, &mut downloads)?;
        read_table(&path, &options).map_err(|e| {
            // Errors name the file as the spec wrote it, not the canonical
            // path a data root resolved it to.
            let message = e.to_string();
            TrainError::Data(match location_path(location, base_dir) {
                Some(written) if written != path => {
                    message.replace(&path.display().to_string(), location)
                }
                _ => message,
            })
        })
    };
    let train_frame = read(&spec.train)?;
    // Held-out validation rows come from the training file: same source,
    // their own digest, and the `validation` context in the run's inputs.
    let (valid_frame, valid_source) = match &spec.validation {
        Some(location) => (Some(read(location)?), location.clone()),
        None => (None, spec.train.clone()),
    };
    let test_frame = spec.test.as_deref().map(&mut read).transpose()?;

    let in_file = |source: &str| format!(" in {source}");
    let target = train_frame.require(
        &spec.target,
        &format!("{} (the target)", in_file(&spec.train)),
    )?;
    check_no_missing_target(target, &spec.train)?;
    if let (Some(valid), Some(location)) = (&valid_frame, &spec.validation) {
        check_no_missing_target(valid.require(&spec.target, &in_file(location))?, location)?;
    }
    let features = feature_names(spec, &train_frame)?;
    if let (Some(test), Some(location)) = (&test_frame, &spec.test) {
        check_no_missing_target(test.require(&spec.target, &in_file(location))?, location)?;
        for name in &features {
            test.require(name, &in_file(location))?;
        }
    }

    let task = match spec.task {
        Some(TaskKind::Regression) => Task::Regression,
        Some(TaskKind::Classification) | None => {
            let inferred = infer_task(target);
            match (spec.task, inferred) {
                (Some(TaskKind::Classification), Task::Regression) => Task::Classification {
                    classes: distinct_labels(target),
                },
                (_, task) => task,
            }
        }
    };
    if task == Task::Regression && matches!(target.values, Values::Categorical(_)) {
        return Err(TrainError::Data(format!(
            "the target '{}' in {} holds text, so it cannot be a regression target; set data.task = \"classification\" or pick a numeric target",
            spec.target, spec.train
        )));
    }

    let (train_rows, valid_rows) = match &valid_frame {
        Some(valid) => {
            valid.require(&spec.target, &in_file(&valid_source))?;
            for name in &features {
                valid.require(name, &in_file(&valid_source))?;
            }
            (train_frame.clone(), valid.clone())
        }
        None => {
            let (train_idx, valid_idx) = if spec.validation_fraction > 0.0 {
                smelt_data::train_test_split(
                    train_frame.rows(),
                    spec.validation_fraction,
                    spec.seed,
                )
            } else {
                ((0..train_frame.rows()).collect(), Vec::new())
            };
            (train_frame.take(&train_idx), train_frame.take(&valid_idx))
        }
    };

    // Classes come from every labelled row, so validation- or test-only
    // labels still get an output (and metrics stay defined).
    let task = match task {
        Task::Classification { .. } => {
            let all = train_rows.require(&spec.target, "")?;
            let mut union = Frame::new(vec![all.clone()])?;
            let others = [Some(&valid_rows), test_frame.as_ref()];
            for other in others.into_iter().flatten().filter(|f| f.rows() > 0) {
                let theirs = Frame::new(vec![align_kind(other.require(&spec.target, "")?, all)])?;
                union = union.concat(&theirs)?;
            }
            let classes = distinct_labels(&union.columns()[0]);
            Task::Classification { classes }
        }
        Task::Regression => Task::Regression,
    };
    let train_target = train_rows.require(&spec.target, "")?.clone();
    check_target(&train_target, &task, &spec.train)?;

    let train = make_split(&train_rows, &features, &spec.target, &task, &spec.train)?;
    let validation = if valid_rows.rows() > 0 {
        make_split(&valid_rows, &features, &spec.target, &task, &valid_source)?
    } else {
        Split {
            features: train.features.take(&[]),
            target: empty_like(&train.target),
            encoded: match &train.encoded {
                EncodedTarget::Classes(_) => EncodedTarget::Classes(Vec::new()),
                EncodedTarget::Values(_) => EncodedTarget::Values(Vec::new()),
            },
            source: valid_source,
            digest: String::new(),
        }
    };
    let test = match (&test_frame, &spec.test) {
        (Some(frame), Some(location)) => {
            Some(make_split(frame, &features, &spec.target, &task, location)?)
        }
        _ => None,
    };
    Ok(PreparedData {
        train,
        validation,
        test,
        task,
        target: spec.target.clone(),
        _downloads: downloads,
    })
}

/// A column of the same name and kind with no rows.
fn empty_like(column: &Column) -> Column {
    let values = match column.values {
        Values::Numeric(_) => Values::Numeric(Vec::new()),
        Values::Categorical(_) => Values::Categorical(Default::default()),
    };
    Column {
        name: column.name.clone(),
        values,
    }
}

/// The validation target read with the training target's kind (a label
/// column can read as numbers in one file and text in the other).
fn align_kind(column: &Column, like: &Column) -> Column {
    match (&column.values, &like.values) {
        (Values::Numeric(_), Values::Categorical(_)) => Column::categorical(
            column.name.clone(),
            (0..column.values.len())
                .map(|r| column.values.text(r))
                .collect::<Vec<_>>(),
        ),
        _ => column.clone(),
    }
}

fn feature_names(spec: &DataSpec, frame: &Frame) -> TrainResult<Vec<String>> {
    let names: Vec<String> = match &spec.features {
        Some(features) => {
            for name in features {
                frame.require(name, &format!(" in {} (data.features)", spec.train))?;
            }
            if features.contains(&spec.target) {
                return Err(TrainError::Spec(format!(
                    "the target '{}' is also listed in data.features; a model cannot see its own answer",
                    spec.target
                )));
            }
            features.clone()
        }
        None => {
            for name in &spec.exclude {
                frame.require(name, &format!(" in {} (data.exclude)", spec.train))?;
            }
            frame
                .names()
                .into_iter()
                .filter(|n| *n != spec.target && !spec.exclude.iter().any(|e| e == n))
                .map(String::from)
                .collect()
        }
    };
    if names.is_empty() {
        return Err(TrainError::Data(format!(
            "{} has no feature columns besides the target '{}'",
            spec.train, spec.target
        )));
    }
    Ok(names)
}

/// A row without a target cannot teach; name the first one as it is in the file.
fn check_no_missing_target(target: &Column, source: &str) -> TrainResult<()> {
    match (0..target.values.len()).find(|&r| target.values.is_missing(r)) {
        Some(row) => Err(TrainError::Data(format!(
            "{source}: the target '{}' is missing (empty or NaN) in data row {} (line {} of a CSV with a header); drop or fill rows without a target",
            target.name,
            row + 1,
            row + 2
        ))),
        None => Ok(()),
    }
}

fn check_target(target: &Column, task: &Task, source: &str) -> TrainResult<()> {
    if let Task::Classification { .. } = task {
        let present = distinct_labels(target);
        if present.len() < 2 {
            return Err(TrainError::Data(format!(
                "{source}: the target '{}' has a single class ({}); a classifier needs rows of at least two classes",
                target.name,
                present
                    .first()
                    .map_or("none".to_string(), |c| format!("'{c}'"))
            )));
        }
    }
    Ok(())
}

fn make_split(
    frame: &Frame,
    features: &[String],
    target: &str,
    task: &Task,
    source: &str,
) -> TrainResult<Split> {
    let target_column = frame.require(target, &format!(" in {source}"))?;
    let aligned = match task {
        Task::Classification { .. } => Column::categorical(
            target.to_string(),
            (0..target_column.values.len())
                .map(|r| target_column.values.text(r))
                .collect::<Vec<_>>(),
        ),
        Task::Regression => target_column.clone(),
    };
    let encoded =
        encode_target(&aligned, task).map_err(|e| TrainError::Data(format!("{source}: {e}")))?;
    let features = frame.select(features, &format!(" in {source}"))?;
    let digest = smelt_data::digest(frame);
    Ok(Split {
        features,
        target: target_column.clone(),
        encoded,
        source: source.to_string(),
        digest,
    })
}

/// Checks that `roots` allows every location (local paths relative to
/// `base_dir`; `runs:/…` URIs are looked up in `tracking` to see where the
/// run keeps its artifacts) without opening any. The executor calls this
/// when a job is submitted, and [`prepare`] again before it reads.
pub fn check_locations<S: AsRef<str>>(
    locations: &[S],
    base_dir: &Path,
    tracking: Option<&Tracking>,
    roots: &DataRoots,
) -> TrainResult<()> {
    if !roots.is_restricted() {
        return Ok(());
    }
    for location in locations {
        source(location.as_ref(), base_dir, tracking, roots)?;
    }
    Ok(())
}

/// Where a location's bytes come from.
enum Source {
    File(PathBuf),
    Artifact { root: String, path: String },
}

/// The local path `location` names (relative to `base_dir`), or `None` for
/// an artifact URI. The one place that tells the two apart.
fn location_path(location: &str, base_dir: &Path) -> Option<PathBuf> {
    let is_uri =
        location.contains(":/") && !location.starts_with("file:") && !Path::new(location).exists();
    if is_uri {
        return None;
    }
    let path = location.strip_prefix("file://").unwrap_or(location);
    let path = Path::new(path);
    Some(if path.is_absolute() {
        path.to_path_buf()
    } else {
        base_dir.join(path)
    })
}

/// Resolves `location` and checks it against `roots`.
fn source(
    location: &str,
    base_dir: &Path,
    tracking: Option<&Tracking>,
    roots: &DataRoots,
) -> TrainResult<Source> {
    if let Some(path) = location_path(location, base_dir) {
        return Ok(Source::File(roots.local(location, &path).map_err(refused)?));
    }
    let tracking = tracking.ok_or_else(|| {
        TrainError::Data(format!(
            "'{location}' is an artifact URI, which needs a tracking store"
        ))
    })?;
    let (root, path) = split_uri(location, tracking, roots)?;
    Ok(Source::Artifact { root, path })
}

/// A local file for `location`: a path (relative to `base_dir`) or an
/// artifact URI downloaded into a temporary folder.
fn locate(
    location: &str,
    base_dir: &Path,
    tracking: Option<&Tracking>,
    roots: &DataRoots,
    downloads: &mut Option<tempfile::TempDir>,
) -> TrainResult<PathBuf> {
    let (root, path) = match source(location, base_dir, tracking, roots)? {
        Source::File(path) => return Ok(path),
        Source::Artifact { root, path } => (root, path),
    };
    let tracking = tracking.expect("an artifact source was resolved through tracking");
    let store = (tracking.open_artifacts)(&root)?;
    let bytes = tracking.block(async {
        let object = store.get(&path).await?;
        object.into_bytes().await
    })?;
    if downloads.is_none() {
        *downloads = Some(
            tempfile::tempdir()
                .map_err(|e| TrainError::io("cannot create a temporary folder", e))?,
        );
    }
    let dir = downloads.as_ref().expect("created above").path();
    let name = path.rsplit('/').next().unwrap_or("data.csv");
    let local = dir.join(format!(
        "{}-{name}",
        dir.read_dir().map(|d| d.count()).unwrap_or(0)
    ));
    std::fs::write(&local, &bytes)
        .map_err(|e| TrainError::io(format!("cannot save {location}"), e))?;
    Ok(local)
}

/// `runs:/RUN_ID/path` → (the run's artifact root, path); other locations
/// (`s3://`, `mlflow-artifacts:`) → (their parent, last segment). Parsed by
/// tracking's `ModelUri`, which validates the path.
fn split_uri(
    location: &str,
    tracking: &Tracking,
    roots: &DataRoots,
) -> TrainResult<(String, String)> {
    let uri = ModelUri::parse(location).map_err(|e| TrainError::Data(e.message))?;
    match &uri {
        ModelUri::Run { path, .. } if path.is_empty() => Err(TrainError::Data(format!(
            "'{location}' names no file; use runs:/RUN_ID/path/to/data.csv"
        ))),
        ModelUri::Run { run_id, path } => {
            let run = tracking.block(tracking.store.get_run(run_id))?;
            roots
                .run_artifacts(location, &run.info.artifact_uri, path)
                .map_err(refused)?;
            Ok((run.info.artifact_uri, path.clone()))
        }
        // Objects given directly are read only from the server's own store.
        ModelUri::Location { .. } if roots.is_restricted() => {
            roots.remote(location).map_err(refused)?;
            split_location(location, &uri)
        }
        ModelUri::Folder(folder) if roots.is_restricted() => {
            roots.local(location, folder).map_err(refused)?;
            split_location(location, &uri)
        }
        other => split_location(location, other),
    }
}

/// (parent, last segment) of a location URI.
fn split_location(location: &str, uri: &ModelUri) -> TrainResult<(String, String)> {
    match uri.split_location() {
        Some((root, name)) if !name.is_empty() => Ok((root, name)),
        _ => Err(TrainError::Data(format!(
            "cannot read data from '{location}': give runs:/RUN_ID/path, \
             s3://bucket/path or mlflow-artifacts:/path to a file"
        ))),
    }
}

/// A path the server does not read for its callers: the spec's mistake,
/// said as the data roots say it.
fn refused(error: smelt_tracking::Error) -> TrainError {
    TrainError::Spec(error.message)
}
