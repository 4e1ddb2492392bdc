//! `smelt jobs …`: queue training jobs on a running `smelt server` and
//! follow them (the server's executor runs them; see `smelt server --help`).

use std::path::Path;
use std::time::Duration;

use clap::Subcommand;
use serde_json::Value;
use smelt_autopilot::AutopilotSpec;
use smelt_trainer::JobSpec;
use smelt_trainer::executor::api::JOBS_PATH;

use crate::config::GlobalArgs;
use crate::error::{failure, hinted};
use crate::output::{self, print_json, print_table};
use crate::remote::{ServerArg, call};

const JOBS_HINT: &str = "`smelt jobs list` shows the server's jobs";

#[derive(Debug, Subcommand)]
pub enum JobsCommand {
    /// Queue a job spec on the server (a training spec, or an [autopilot] spec)
    Submit {
        /// The job spec (TOML); local data paths are sent as absolute paths
        #[arg(value_name = "JOB.toml")]
        spec: std::path::PathBuf,
        /// Wait for the job to finish, printing its log
        #[arg(long)]
        wait: bool,
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
    let client = reqwest::Client::new();
    match command {
        JobsCommand::Submit { spec, wait, server } => {
            let base = server.url(global)?;
            let text = std::fs::read_to_string(&spec).map_err(|e| {
                hinted(
                    format!("cannot read the job spec {}: {e}", spec.display()),
                    "examples/ has one per dataset",
                )
            })?;
            // Checked here (a bad spec fails before any request) and sent with
            // absolute data paths, so the server reads the same local files.
            let base_dir = spec.parent().unwrap_or(Path::new("."));
            let source = spec.display().to_string();
            let is_autopilot = text
                .parse::<toml::Table>()
                .is_ok_and(|t| t.contains_key(smelt_autopilot::runner::TABLE));
            let text = if is_autopilot {
                AutopilotSpec::from_toml(&text, &source)
                    .map_err(|e| {
                        hinted(e.to_string(), "`smelt autopilot --help` lists the fields")
                    })?
                    .with_absolute_paths(base_dir)
                    .to_toml()
            } else {
                let parsed = JobSpec::from_toml(&text, &source).map_err(|e| {
                    hinted(
                        e.to_string(),
                        "examples/README.md documents every field of a job spec",
                    )
                })?;
                toml::to_string(&parsed.with_absolute_data_paths(base_dir))?
            };
            let job = call(
                &client,
                reqwest::Method::POST,
                &format!("{base}{JOBS_PATH}"),
                Some(serde_json::json!({ "spec": text })),
                JOBS_HINT,
            )
            .await?;
            let job_id = job["job"]["job_id"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            if global.json && !wait {
                return print_json(job);
            }
            eprintln!("job {job_id} queued");
            if wait {
                follow(&client, &base, &job_id).await?;
                let job = get_job(&client, &base, &job_id).await?;
                if global.json {
                    return print_json(job);
                }
                print_job(&job["job"]);
                if job["job"]["status"] != "SUCCEEDED" {
                    return Err(failure(format!(
                        "job {job_id} ended {}",
                        job["job"]["status"].as_str().unwrap_or("?")
                    )));
                }
            } else {
                println!("{job_id}");
            }
            Ok(())
        }
        JobsCommand::List { server } => {
            let base = server.url(global)?;
            let jobs = call(
                &client,
                reqwest::Method::GET,
                &format!("{base}{JOBS_PATH}"),
                None,
                JOBS_HINT,
            )
            .await?;
            if global.json {
                return print_json(jobs["jobs"].clone());
            }
            let mut table =
                output::table(["job", "status", "model", "experiment", "run", "submitted"]);
            for job in jobs["jobs"].as_array().into_iter().flatten() {
                table.add_row([
                    text(&job["job_id"]),
                    text(&job["status"]),
                    text(&job["model"]),
                    text(&job["experiment"]),
                    text(&job["run_id"]),
                    output::time(job["submitted_at"].as_i64()),
                ]);
            }
            print_table(&table);
            Ok(())
        }
        JobsCommand::Status { job_id, server } => {
            let base = server.url(global)?;
            let job = get_job(&client, &base, &job_id).await?;
            if global.json {
                return print_json(job["job"].clone());
            }
            print_job(&job["job"]);
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
            let job = call(
                &client,
                reqwest::Method::POST,
                &format!("{base}{JOBS_PATH}/{job_id}/cancel"),
                None,
                JOBS_HINT,
            )
            .await?;
            if global.json {
                return print_json(job["job"].clone());
            }
            eprintln!("cancel requested");
            print_job(&job["job"]);
            Ok(())
        }
    }
}

fn text(value: &Value) -> String {
    value.as_str().map(str::to_string).unwrap_or_default()
}

fn print_job(job: &Value) {
    for key in [
        "job_id",
        "status",
        "model",
        "experiment",
        "run_id",
        "model_version",
        "attempts",
        "error",
    ] {
        let value = match &job[key] {
            Value::Null => continue,
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        println!("{key:<14} {value}");
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
        if matches!(
            job["job"]["status"].as_str(),
            Some("SUCCEEDED" | "FAILED" | "CANCELLED")
        ) {
            let log = logs(client, base, job_id).await?;
            eprint!("{}", &log[printed.min(log.len())..]);
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// `{"job": …}` for one job.
async fn get_job(client: &reqwest::Client, base: &str, job_id: &str) -> anyhow::Result<Value> {
    call(
        client,
        reqwest::Method::GET,
        &format!("{base}{JOBS_PATH}/{job_id}"),
        None,
        JOBS_HINT,
    )
    .await
}

async fn logs(client: &reqwest::Client, base: &str, job_id: &str) -> anyhow::Result<String> {
    let response = client
        .get(format!("{base}{JOBS_PATH}/{job_id}/logs"))
        .send()
        .await
        .map_err(|e| crate::remote::unreachable(base, e))?;
    if !response.status().is_success() {
        let body: Value = response.json().await.unwrap_or_default();
        return Err(failure(
            body["message"]
                .as_str()
                .unwrap_or("the server refused")
                .to_string(),
        ));
    }
    Ok(response.text().await?)
}
