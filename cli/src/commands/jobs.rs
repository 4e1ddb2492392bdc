//! `smelt jobs …`: queue training jobs on a running `smelt server` and
//! follow them (the server's executor runs them; see `smelt server --help`).

use std::path::Path;
use std::time::Duration;

use clap::Subcommand;
use smelt_api::jobs::{
    JOBS_PATH, JobList, JobRecord, JobResponse, JobStatus, SubmitJob, job_cancel_path,
    job_logs_path, job_path,
};
use smelt_autopilot::AutopilotSpec;
use smelt_trainer::JobSpec;

use crate::config::GlobalArgs;
use crate::error::{failure, hinted};
use crate::output::{self, print_json, print_table};
use crate::remote::{NO_BODY, ServerArg, call};
use crate::shared::upload::{send_autopilot_data, send_training_data};

const JOBS_HINT: &str = "`smelt jobs list` shows the server's jobs";

#[derive(Debug, Subcommand)]
pub enum JobsCommand {
    /// Queue a job spec on the server (a training spec, or an [autopilot] spec)
    Submit {
        /// The job spec (TOML). Local data files it names are uploaded to the
        /// server's artifact store once (by content digest) and the job reads
        /// them from there, so a worker on another host needs no shared
        /// folder; runs:/… and mlflow-artifacts:/… URIs are sent as written
        #[arg(value_name = "JOB.toml")]
        spec: std::path::PathBuf,
        /// Wait for the job to finish, printing its log
        #[arg(long)]
        wait: bool,
        /// Send local data paths as absolute paths instead of uploading the
        /// files: the server (or its workers) reads them under its --data-roots
        #[arg(long)]
        no_upload: bool,
        #[command(flatten)]
        server: ServerArg,
    },
    /// List the server's jobs, newest first
    #[command(visible_alias = "ls")]
    List {
        #[command(flatten)]
        server: ServerArg,
    },
    /// Show one job
    Status {
        job_id: String,
        #[command(flatten)]
        server: ServerArg,
    },
    /// Print a job's log
    Logs {
        job_id: String,
        /// Keep printing until the job ends
        #[arg(short, long)]
        follow: bool,
        #[command(flatten)]
        server: ServerArg,
    },
    /// Cancel a queued or running job (its run ends KILLED)
    Cancel {
        job_id: String,
        #[command(flatten)]
        server: ServerArg,
    },
}

pub async fn run(global: &GlobalArgs, command: JobsCommand) -> anyhow::Result<()> {
    let client = crate::remote::client()?;
    match command {
        JobsCommand::Submit {
            spec,
            wait,
            no_upload,
            server,
        } => {
            let base = server.url(global)?;
            let text = std::fs::read_to_string(&spec).map_err(|e| {
                hinted(
                    format!("cannot read the job spec {}: {e}", spec.display()),
                    "examples/ has one per dataset",
                )
            })?;
            // Checked here (a bad spec fails before any request); local data
            // is uploaded, or with --no-upload sent as absolute paths.
            let base_dir = spec.parent().unwrap_or(Path::new("."));
            let source = spec.display().to_string();
            let is_autopilot = text
                .parse::<toml::Table>()
                .is_ok_and(|t| t.contains_key(smelt_autopilot::runner::TABLE));
            let text = if is_autopilot {
                let mut parsed = AutopilotSpec::from_toml(&text, &source).map_err(|e| {
                    hinted(e.to_string(), "`smelt autopilot --help` lists the fields")
                })?;
                if no_upload {
                    parsed = parsed.with_absolute_paths(base_dir);
                } else {
                    send_autopilot_data(&mut parsed, base_dir, &client, &base).await?;
                }
                parsed.to_toml()
            } else {
                let mut parsed = JobSpec::from_toml(&text, &source).map_err(|e| {
                    hinted(
                        e.to_string(),
                        "examples/README.md documents every field of a job spec",
                    )
                })?;
                if no_upload {
                    parsed = parsed.with_absolute_data_paths(base_dir);
                } else {
                    send_training_data(&mut parsed, base_dir, &client, &base).await?;
                }
                toml::to_string(&parsed)?
            };
            let submitted: JobResponse = call(
                &client,
                reqwest::Method::POST,
                &format!("{base}{JOBS_PATH}"),
                Some(&SubmitJob { spec: text }),
                JOBS_HINT,
            )
            .await?;
            let job_id = submitted.job.job_id.clone();
            if global.json && !wait {
                return print_json(serde_json::to_value(&submitted)?);
            }
            eprintln!("job {job_id} queued");
            if wait {
                follow(&client, &base, &job_id).await?;
                let job = get_job(&client, &base, &job_id).await?;
                if global.json {
                    return print_json(serde_json::to_value(&job)?);
                }
                print_job(&job.job);
                if job.job.status != JobStatus::Succeeded {
                    return Err(failure(format!("job {job_id} ended {}", job.job.status)));
                }
            } else {
                println!("{job_id}");
            }
            Ok(())
        }
        JobsCommand::List { server } => {
            let base = server.url(global)?;
            let listed: JobList = call(
                &client,
                reqwest::Method::GET,
                &format!("{base}{JOBS_PATH}"),
                NO_BODY,
                JOBS_HINT,
            )
            .await?;
            if global.json {
                return print_json(serde_json::to_value(&listed.jobs)?);
            }
            let mut table =
                output::table(["job", "status", "model", "experiment", "run", "submitted"]);
            for job in &listed.jobs {
                table.add_row([
                    job.job_id.clone(),
                    job.status.to_string(),
                    job.model.clone().unwrap_or_default(),
                    job.experiment.clone().unwrap_or_default(),
                    job.run_id.clone().unwrap_or_default(),
                    output::time(Some(job.submitted_at)),
                ]);
            }
            print_table(&table);
            Ok(())
        }
        JobsCommand::Status { job_id, server } => {
            let base = server.url(global)?;
            let job = get_job(&client, &base, &job_id).await?;
            if global.json {
                return print_json(serde_json::to_value(&job.job)?);
            }
            print_job(&job.job);
            Ok(())
        }
        JobsCommand::Logs {
            job_id,
            follow: keep,
            server,
        } => {
            let base = server.url(global)?;
            if keep {
                return follow(&client, &base, &job_id).await;
            }
            print!("{}", logs(&client, &base, &job_id).await?);
            Ok(())
        }
        JobsCommand::Cancel { job_id, server } => {
            let base = server.url(global)?;
            let job: JobResponse = call(
                &client,
                reqwest::Method::POST,
                &format!("{base}{}", job_cancel_path(&job_id)),
                NO_BODY,
                JOBS_HINT,
            )
            .await?;
            if global.json {
                return print_json(serde_json::to_value(&job.job)?);
            }
            eprintln!("cancel requested");
            print_job(&job.job);
            Ok(())
        }
    }
}

fn print_job(job: &JobRecord) {
    let fields = [
        ("job_id", Some(job.job_id.clone())),
        ("status", Some(job.status.to_string())),
        ("model", job.model.clone()),
        ("experiment", job.experiment.clone()),
        ("run_id", job.run_id.clone()),
        ("model_version", job.model_version.clone()),
        ("attempts", Some(job.attempts.to_string())),
        ("error", job.error.clone()),
    ];
    for (key, value) in fields {
        if let Some(value) = value {
            println!("{key:<14} {value}");
        }
    }
}

/// Prints the log as it grows until the job reaches a final status.
async fn follow(client: &reqwest::Client, base: &str, job_id: &str) -> anyhow::Result<()> {
    let mut printed = 0;
    loop {
        let log = logs(client, base, job_id).await?;
        if log.len() > printed {
            eprint!("{}", &log[printed..]);
            printed = log.len();
        }
        let job = get_job(client, base, job_id).await?;
        if job.job.status.is_final() {
            let log = logs(client, base, job_id).await?;
            eprint!("{}", &log[printed.min(log.len())..]);
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// `{"job": …}` for one job.
async fn get_job(
    client: &reqwest::Client,
    base: &str,
    job_id: &str,
) -> anyhow::Result<JobResponse> {
    call(
        client,
        reqwest::Method::GET,
        &format!("{base}{}", job_path(job_id)),
        NO_BODY,
        JOBS_HINT,
    )
    .await
}

async fn logs(client: &reqwest::Client, base: &str, job_id: &str) -> anyhow::Result<String> {
    let response = client
        .get(format!("{base}{}", job_logs_path(job_id)))
        .send()
        .await
        .map_err(|e| crate::remote::unreachable(base, e))?;
    let status = response.status();
    if !status.is_success() {
        let bytes = response.bytes().await.unwrap_or_default();
        let message = crate::remote::error_message(status, &bytes);
        return Err(crate::remote::refused(status, message, JOBS_HINT));
    }
    Ok(response.text().await?)
}
