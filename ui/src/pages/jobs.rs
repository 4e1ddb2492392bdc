//! `/ui/jobs`: the executor's training and autopilot jobs; `/ui/jobs/{id}`:
//! status, progress, the log, the run's charts and, for an autopilot job,
//! its leaderboard. Pages of unfinished jobs reload themselves.

use axum::extract::{Path, State};
use maud::{Markup, html};
use smelt_identity::resolve::Target;

use super::leaderboard::leaderboard_section;
use super::{Page, PageError, PageResult, Shared};
use crate::UiState;
use crate::layout::{duration_ms, page, time_ms};
use crate::viewer::Viewer;

/// Log lines shown (the newest).
const LOG_LINES: usize = 200;

fn executor(ui: &UiState) -> Result<&dyn smelt_trainer::executor::Executor, PageError> {
    ui.jobs
        .as_deref()
        .ok_or_else(|| PageError::not_found("this server runs no job executor"))
}

pub async fn list(State(ui): Shared, viewer: Viewer) -> PageResult {
    let jobs = executor(&ui)?.list()?;
    // A job is as visible as its experiment (as `/ui/jobs/{id}` checks); one
    // without an experiment yet is its submitter's business: admins only.
    let mut jobs = viewer
        .readable(jobs, |job| {
            job.experiment.clone().map(Target::ExperimentByName)
        })
        .await;
    jobs.sort_by_key(|job| std::cmp::Reverse(job.submitted_at));
    let live = jobs.iter().any(|job| !job.status.is_final());
    let content = html! {
        h1 { "Jobs" }
        @if jobs.is_empty() {
            p.muted { "No jobs yet: smelt jobs submit job.toml, or smelt autopilot … --server URL." }
        } @else {
            table #jobs {
                thead { tr { th { "Job" } th { "Status" } th { "Kind" } th { "Experiment" } th { "Submitted" } th { "Duration" } th { "Run" } th { "Model" } } }
                tbody {
                    @for job in &jobs {
                        tr data-job-id=(job.job_id) {
                            td { a href={ "/ui/jobs/" (job.job_id) } { (job.job_id) } }
                            (status_cell(job.status))
                            td { (job.model.as_deref().unwrap_or("")) }
                            td { (job.experiment.as_deref().unwrap_or("")) }
                            td { (time_ms(Some(job.submitted_at))) }
                            td.num { (duration_ms(job.started_at, job.finished_at.or(job.started_at.map(|_| now_ms())))) }
                            td { @if let Some(run_id) = &job.run_id { a href={ "/ui/runs/" (run_id) } { "run" } } }
                            td { (job.model_version.as_deref().unwrap_or("")) }
                        }
                    }
                }
            }
        }
    };
    Ok(Page(page(&viewer, "Jobs", live.then_some(3), content)))
}

pub async fn detail(State(ui): Shared, viewer: Viewer, Path(job_id): Path<String>) -> PageResult {
    let jobs = executor(&ui)?;
    let job = jobs.get(&job_id)?;
    let log = jobs.logs(&job_id)?;
    let lines: Vec<&str> = log.lines().collect();
    let tail = lines[lines.len().saturating_sub(LOG_LINES)..].join("\n");
    // The newest progress line the job wrote (epochs, or trials and the best score).
    let progress = lines
        .iter()
        .rev()
        .find(|line| line.contains("epoch") || line.contains("trial") || line.contains('%'))
        .copied();
    let run = match &job.run_id {
        Some(run_id) => ui.store.get_run(run_id).await.ok(),
        None => None,
    };
    let leaderboard = match &run {
        Some(run) => leaderboard_section(&ui, run).await,
        None => None,
    };
    let content = html! {
        h1 { "Job " (job.job_id) }
        table #job {
            tr { th { "Status" } (status_cell(job.status)) }
            tr { th { "Kind" } td { (job.model.as_deref().unwrap_or("")) } }
            tr { th { "Experiment" } td { (job.experiment.as_deref().unwrap_or("")) } }
            tr { th { "Submitted" } td { (time_ms(Some(job.submitted_at))) } }
            tr { th { "Started" } td { (time_ms(job.started_at)) } }
            tr { th { "Finished" } td { (time_ms(job.finished_at)) } }
            tr { th { "Attempts" } td { (job.attempts) } }
            tr { th { "Run" } td { @if let Some(run_id) = &job.run_id { a href={ "/ui/runs/" (run_id) } { (run_id) } } } }
            tr { th { "Model" } td { (job.model_version.as_deref().unwrap_or("")) } }
            @if let Some(error) = &job.error { tr { th { "Error" } td.error { (error) } } }
        }
        @if let Some(line) = progress {
            h2 { "Progress" }
            p #progress { (line) }
        }
        @if let Some(section) = leaderboard { (section) }
        h2 { "Log" }
        pre #log { (tail) }
    };
    Ok(Page(page(
        &viewer,
        &format!("Job {job_id}"),
        (!job.status.is_final()).then_some(3),
        content,
    )))
}

fn status_cell(status: smelt_trainer::executor::JobStatus) -> Markup {
    let text = status.as_str();
    html! { td class={ "status-" (text) } { (text) } }
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}
