//! The in-process executor: a file-backed queue and worker threads.
//!
//! Layout under its folder (`$SMELT_HOME/jobs` for `smelt server`):
//! `<job_id>/job.json` (the [`JobRecord`], replaced atomically),
//! `<job_id>/job.toml` (the spec as submitted) and `<job_id>/log.txt`.
//! On start, jobs found QUEUED are queued again and jobs found RUNNING (the
//! server died under them) are queued to resume their run from its last
//! checkpoint.
//!
//! Jobs read data only where the executor's [`DataRoots`] allow: checked at
//! submit (a refused spec is never queued) and again when a worker reads
//! the data, so jobs requeued at a restart obey the roots of the server
//! that runs them now.

use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};

use smelt_tracking::entities::Tag;

use super::{
    Executor, JobRecord, JobRunner, JobStatus, RunContext, Submission, check_submission, run_spec,
};
use crate::dataset::check_locations;
use crate::error::{TrainError, TrainResult};
use crate::progress::ProgressMode;
use crate::tracker::{Tracking, now_ms};
use smelt_tracking::artifacts::DataRoots;

const RECORD: &str = "job.json";
const SPEC: &str = "job.toml";
const LOG: &str = "log.txt";

pub struct LocalExecutor {
    inner: Arc<Inner>,
}

struct Inner {
    dir: PathBuf,
    /// Relative data paths in specs resolve against this folder.
    base_dir: PathBuf,
    /// Where jobs may read data.
    data_roots: DataRoots,
    tracking: Tracking,
    /// Serialises record updates (the files are the truth; this lock keeps
    /// read-modify-write sequences whole).
    records: Mutex<()>,
    queue: Mutex<VecDeque<String>>,
    wakeup: Condvar,
    running: Mutex<HashMap<String, Arc<AtomicBool>>>,
    stopping: AtomicBool,
    /// Kinds of job besides training.
    runners: Vec<Arc<dyn JobRunner>>,
}

impl LocalExecutor {
    /// Opens (or creates) the queue in `dir`, requeues unfinished jobs and
    /// starts `workers` threads. `runners` add kinds of job besides training;
    /// jobs read data only where `data_roots` allow.
    pub fn start(
        dir: &Path,
        base_dir: &Path,
        tracking: Tracking,
        workers: usize,
        runners: Vec<Arc<dyn JobRunner>>,
        data_roots: DataRoots,
    ) -> TrainResult<Self> {
        std::fs::create_dir_all(dir)
            .map_err(|e| TrainError::io(format!("cannot create {}", dir.display()), e))?;
        let inner = Arc::new(Inner {
            dir: dir.to_path_buf(),
            base_dir: base_dir.to_path_buf(),
            data_roots,
            tracking,
            records: Mutex::new(()),
            queue: Mutex::new(VecDeque::new()),
            wakeup: Condvar::new(),
            running: Mutex::new(HashMap::new()),
            stopping: AtomicBool::new(false),
            runners,
        });
        let mut pending: Vec<JobRecord> = inner
            .all_records()?
            .into_iter()
            .filter(|r| matches!(r.status, JobStatus::Queued | JobStatus::Running))
            .collect();
        pending.sort_by_key(|r| r.submitted_at);
        for record in pending {
            if record.status == JobStatus::Running {
                tracing::info!(job_id = %record.job_id, run_id = ?record.run_id, "resuming a job interrupted by a restart");
                inner.append_log(
                    &record.job_id,
                    "server restarted: the job is queued to resume from its last checkpoint\n",
                );
                inner.update(&record.job_id, |r| r.status = JobStatus::Queued)?;
            }
            inner
                .queue
                .lock()
                .expect("queue lock")
                .push_back(record.job_id);
        }
        for index in 0..workers.max(1) {
            let inner = inner.clone();
            std::thread::Builder::new()
                .name(format!("smelt-job-worker-{index}"))
                .spawn(move || inner.work())
                .map_err(|e| TrainError::io("cannot start a job worker thread", e))?;
        }
        inner.wakeup.notify_all();
        Ok(LocalExecutor { inner })
    }

    /// Stops taking new jobs (running ones continue until the process ends).
    pub fn stop(&self) {
        self.inner.stopping.store(true, Ordering::SeqCst);
        self.inner.wakeup.notify_all();
    }
}

impl Drop for LocalExecutor {
    fn drop(&mut self) {
        LocalExecutor::stop(self);
    }
}

impl Executor for LocalExecutor {
    fn submit(&self, spec_toml: &str) -> TrainResult<JobRecord> {
        let Submission { summary, locations } = check_submission(&self.inner.runners, spec_toml)?;
        check_locations(
            &locations,
            &self.inner.base_dir,
            Some(&self.inner.tracking),
            &self.inner.data_roots,
        )?;
        let job_id = uuid::Uuid::new_v4().simple().to_string();
        let folder = self.inner.dir.join(&job_id);
        std::fs::create_dir_all(&folder)
            .map_err(|e| TrainError::io("cannot create the job folder", e))?;
        std::fs::write(folder.join(SPEC), spec_toml)
            .map_err(|e| TrainError::io("cannot save the job spec", e))?;
        let record = summary.queued_record(&job_id);
        {
            let _guard = self.inner.records.lock().expect("records lock");
            self.inner.write(&record)?;
        }
        self.inner
            .queue
            .lock()
            .expect("queue lock")
            .push_back(job_id);
        self.inner.wakeup.notify_one();
        Ok(record)
    }

    fn list(&self) -> TrainResult<Vec<JobRecord>> {
        let mut records = self.inner.all_records()?;
        records.sort_by_key(|r| std::cmp::Reverse(r.submitted_at));
        Ok(records)
    }

    fn get(&self, job_id: &str) -> TrainResult<JobRecord> {
        self.inner.read(job_id)
    }

    fn logs(&self, job_id: &str) -> TrainResult<String> {
        self.inner.read(job_id)?;
        Ok(std::fs::read_to_string(self.inner.dir.join(job_id).join(LOG)).unwrap_or_default())
    }

    fn cancel(&self, job_id: &str) -> TrainResult<JobRecord> {
        let record = self.inner.read(job_id)?;
        match record.status {
            JobStatus::Queued => {
                self.inner
                    .queue
                    .lock()
                    .expect("queue lock")
                    .retain(|id| id != job_id);
                self.inner
                    .append_log(job_id, "cancelled before it started\n");
                self.inner.update(job_id, |r| {
                    r.status = JobStatus::Cancelled;
                    r.finished_at = Some(now_ms());
                })
            }
            JobStatus::Running => {
                if let Some(flag) = self.inner.running.lock().expect("running lock").get(job_id) {
                    flag.store(true, Ordering::SeqCst);
                }
                self.inner
                    .append_log(job_id, "cancel requested: stopping at the next batch\n");
                Ok(record)
            }
            _ => Ok(record),
        }
    }

    fn stop(&self) {
        LocalExecutor::stop(self);
    }
}

impl Inner {
    fn work(self: Arc<Self>) {
        loop {
            let job_id = {
                let mut queue = self.queue.lock().expect("queue lock");
                loop {
                    if self.stopping.load(Ordering::SeqCst) {
                        return;
                    }
                    if let Some(id) = queue.pop_front() {
                        break id;
                    }
                    queue = self.wakeup.wait(queue).expect("queue lock");
                }
            };
            if let Err(e) = self.run(&job_id) {
                tracing::error!(%job_id, error = %e, "job bookkeeping failed");
            }
        }
    }

    fn run(self: &Arc<Self>, job_id: &str) -> TrainResult<()> {
        let cancel = Arc::new(AtomicBool::new(false));
        let record = {
            let _guard = self.records.lock().expect("records lock");
            let mut record = self.read_unlocked(job_id)?;
            if record.status != JobStatus::Queued {
                return Ok(());
            }
            // The cancel flag exists before anyone can see RUNNING, so a
            // cancel that reads RUNNING always finds it.
            self.running
                .lock()
                .expect("running lock")
                .insert(job_id.to_string(), cancel.clone());
            record.status = JobStatus::Running;
            record.started_at = Some(now_ms());
            record.attempts += 1;
            if let Err(e) = self.write(&record) {
                self.running.lock().expect("running lock").remove(job_id);
                return Err(e);
            }
            record
        };
        let folder = self.dir.join(job_id);
        let text = std::fs::read_to_string(folder.join(SPEC)).unwrap_or_default();
        let log = folder.join(LOG);
        self.append_log(job_id, &format!("attempt {} started\n", record.attempts));

        let recorder = RunRecorder {
            inner: self.clone(),
            job_id: job_id.to_string(),
        };
        let on_run: crate::job::RunCallback = Arc::new(move |run_id: &str| recorder.record(run_id));
        let tags = vec![Tag::new("smelt.job_id", job_id)];
        let outcome = run_spec(
            &self.runners,
            &text,
            &self.tracking,
            RunContext {
                base_dir: self.base_dir.clone(),
                data_roots: self.data_roots.clone(),
                previous_run: record.run_id.clone(),
                progress: ProgressMode::LogFile(log.clone()),
                cancel: cancel.clone(),
                tags,
                on_run,
            },
        )
        .map(|r| (r.run_id, r.model_version));
        self.running.lock().expect("running lock").remove(job_id);
        match outcome {
            Ok((run_id, model_version)) => {
                self.append_log(job_id, &format!("finished: run {run_id}\n"));
                self.update(job_id, |r| {
                    r.status = JobStatus::Succeeded;
                    r.finished_at = Some(now_ms());
                    r.run_id = Some(run_id.clone());
                    r.model_version = model_version.clone();
                })?;
            }
            Err(TrainError::Cancelled) => {
                self.append_log(job_id, "cancelled; the run is closed as KILLED\n");
                self.update(job_id, |r| {
                    r.status = JobStatus::Cancelled;
                    r.finished_at = Some(now_ms());
                })?;
            }
            Err(error) => {
                self.append_log(job_id, &format!("failed: {error}\n"));
                self.update(job_id, |r| {
                    r.status = JobStatus::Failed;
                    r.finished_at = Some(now_ms());
                    r.error = Some(error.to_string());
                })?;
            }
        }
        Ok(())
    }

    fn record_path(&self, job_id: &str) -> TrainResult<PathBuf> {
        // Job ids are ours (hex); anything else never names a folder.
        if job_id.is_empty() || !job_id.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(TrainError::NotFound(format!("no job '{job_id}'")));
        }
        Ok(self.dir.join(job_id).join(RECORD))
    }

    fn read(&self, job_id: &str) -> TrainResult<JobRecord> {
        let _guard = self.records.lock().expect("records lock");
        self.read_unlocked(job_id)
    }

    fn read_unlocked(&self, job_id: &str) -> TrainResult<JobRecord> {
        let path = self.record_path(job_id)?;
        let text = std::fs::read_to_string(&path)
            .map_err(|_| TrainError::NotFound(format!("no job '{job_id}'")))?;
        serde_json::from_str(&text).map_err(|e| {
            TrainError::Training(format!("the record of job {job_id} is unreadable: {e}"))
        })
    }

    /// Writes a record atomically (temporary file + rename).
    fn write(&self, record: &JobRecord) -> TrainResult<()> {
        let path = self.record_path(&record.job_id)?;
        let tmp = path.with_extension("json.tmp");
        let text = serde_json::to_string_pretty(record).expect("records serialise");
        std::fs::write(&tmp, text).map_err(|e| TrainError::io("cannot write a job record", e))?;
        std::fs::rename(&tmp, &path).map_err(|e| TrainError::io("cannot write a job record", e))
    }

    fn update(&self, job_id: &str, change: impl FnOnce(&mut JobRecord)) -> TrainResult<JobRecord> {
        let _guard = self.records.lock().expect("records lock");
        let mut record = self.read_unlocked(job_id)?;
        change(&mut record);
        self.write(&record)?;
        Ok(record)
    }

    fn all_records(&self) -> TrainResult<Vec<JobRecord>> {
        let entries = std::fs::read_dir(&self.dir)
            .map_err(|e| TrainError::io(format!("cannot list {}", self.dir.display()), e))?;
        let _guard = self.records.lock().expect("records lock");
        Ok(entries
            .flatten()
            .filter_map(|entry| {
                self.read_unlocked(&entry.file_name().to_string_lossy())
                    .ok()
            })
            .collect())
    }

    fn append_log(&self, job_id: &str, line: &str) {
        use std::io::Write;
        let path = self.dir.join(job_id).join(LOG);
        if let Ok(mut file) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
        {
            let _ = write!(
                file,
                "[{}] {line}",
                chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ")
            );
        }
    }
}

/// Saves the run id as soon as the job creates its run, so a restart can
/// resume that run rather than start another.
struct RunRecorder {
    inner: Arc<Inner>,
    job_id: String,
}

impl RunRecorder {
    fn record(&self, run_id: &str) {
        let run_id = run_id.to_string();
        if let Err(e) = self.inner.update(&self.job_id, |r| r.run_id = Some(run_id)) {
            tracing::warn!(job_id = %self.job_id, error = %e, "cannot record the job's run");
        }
    }
}
