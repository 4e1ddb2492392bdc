//! `smelt worker`: runs the jobs a `smelt server --queue` puts on NATS.

use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use smelt_cluster::jobs::{Worker, WorkerOptions};
use smelt_cluster::{Queue, QueueOptions};
use smelt_tracking::artifacts::{ArtifactLocations, DataRoots};
use smelt_trainer::Tracking;

use crate::config::smelt_home;
use crate::error::hinted;
use crate::shared::signals::shutdown_signal;

pub const LONG_ABOUT: &str = "\
Run the training and autopilot jobs that servers started with
`smelt server --queue nats://HOST:PORT` put on the queue.

  nats-server -js -sd /var/lib/nats                      # the queue (JetStream, file storage)
  smelt server --queue nats://10.0.0.5:4222 …            # any number of servers
  smelt worker --queue nats://10.0.0.5:4222 --server http://10.0.0.6:5000
  smelt worker … --labels gpu --concurrency 2            # a GPU machine

A worker pulls the jobs whose required labels it has (a spec's
`[training] labels`, `device = \"gpu\"` needs `gpu`), runs them through
the server's tracking API (runs, metrics, checkpoints and models go to the
server; data comes from its artifact store, so workers need no shared
folder), streams their logs back, and heartbeats while they run. A worker
that dies (SIGKILL, a lost machine) stops heartbeating: after --ack-wait
another worker takes the job and resumes its run from the last checkpoint.
A job that loses its worker --max-attempts times fails with that reason.
Ctrl-C or SIGTERM stops pulling and waits for running jobs; a second one
exits at once (the jobs go to other workers).

The worker logs in to the server as MLflow's client does
(MLFLOW_TRACKING_USERNAME/PASSWORD or MLFLOW_TRACKING_TOKEN).";

#[derive(Debug, Args)]
pub struct WorkerArgs {
    /// The NATS server (JetStream) the servers queue jobs on: nats://HOST:PORT
    /// (comma-separated for a cluster)
    #[arg(long, env = "SMELT_QUEUE", value_name = "URL")]
    queue: String,
    /// The smelt server whose tracking API the jobs log to (any replica, or a
    /// load balancer in front of them)
    #[arg(long, env = "SMELT_SERVER", value_name = "URL")]
    server: String,
    /// Jobs run at once
    #[arg(
        long,
        env = "SMELT_WORKER_CONCURRENCY",
        default_value_t = 1,
        value_name = "N"
    )]
    concurrency: usize,
    /// Fold fits of autopilot searches run at once: every worker lends its
    /// cores to whichever search is running, wherever (0: none) [default:
    /// one per core]
    #[arg(long, env = "SMELT_WORKER_FOLD_SLOTS", value_name = "N")]
    fold_slots: Option<usize>,
    /// What this worker offers, for jobs that need it (comma-separated, e.g.
    /// gpu,highmem); a worker also runs jobs that need no label
    #[arg(
        long,
        env = "SMELT_WORKER_LABELS",
        value_delimiter = ',',
        value_name = "LABEL[,LABEL]"
    )]
    labels: Vec<String>,
    /// How long a job waits for its worker's heartbeat before another worker
    /// takes it over (e.g. 30s, 2m)
    #[arg(long, env = "SMELT_WORKER_ACK_WAIT", default_value = "30s", value_parser = parse_seconds, value_name = "DURATION")]
    ack_wait: Duration,
    /// Times a job may lose its worker before it is failed
    #[arg(
        long,
        env = "SMELT_WORKER_MAX_ATTEMPTS",
        default_value_t = 3,
        value_name = "N"
    )]
    max_attempts: u32,
    /// Local folders jobs may read data from (comma-separated); without it
    /// jobs read only artifact URIs (runs:/…, mlflow-artifacts:/…), which is
    /// what `smelt jobs submit` sends
    #[arg(
        long,
        env = "SMELT_DATA_ROOTS",
        value_delimiter = ',',
        value_name = "DIR[,DIR]"
    )]
    data_roots: Vec<std::path::PathBuf>,
}

fn parse_seconds(text: &str) -> Result<Duration, String> {
    let seconds = smelt_autopilot::spec::parse_duration(text)?;
    if !(seconds.is_finite() && seconds >= 1.0) {
        return Err(format!("give at least one second, got '{text}'"));
    }
    Ok(Duration::from_secs_f64(seconds))
}

pub async fn run(args: WorkerArgs) -> anyhow::Result<()> {
    let server = args.server.trim().trim_end_matches('/').to_string();
    if !(server.starts_with("http://") || server.starts_with("https://")) {
        return Err(hinted(
            format!("--server must be the URL of a smelt server, got '{server}'"),
            "e.g. --server http://10.0.0.6:5000",
        ));
    }
    let host = hostname_or_unknown();
    let name = format!("{host}-{}", std::process::id());
    let queue = Queue::connect(&QueueOptions {
        url: args.queue.clone(),
        name: format!("smelt-worker-{name}"),
    })
    .await
    .map_err(nats_unreachable)?;
    let store = smelt_tracking::open_store(&server, "mlflow-artifacts:")
        .await
        .map_err(|e| hinted(e.message, format!("is `smelt server` running at {server}?")))?;
    let data_roots = DataRoots::only(&args.data_roots).map_err(|e| {
        hinted(
            e.message,
            "give existing folders to --data-roots / SMELT_DATA_ROOTS",
        )
    })?;
    let locations = ArtifactLocations::new(&server, "").reading_only(data_roots.clone());
    let tracking = Tracking {
        store,
        tracking_uri: server.clone(),
        open_artifacts: Arc::new(move |uri: &str| locations.open(uri)),
        runtime: tokio::runtime::Handle::current(),
    };
    let scratch = smelt_home().join("worker").join(&name);
    let base_dir = std::env::current_dir().unwrap_or_else(|_| scratch.clone());
    // Autopilot searches this worker runs fit their folds on every worker;
    // this worker fits folds of any search.
    let pool = smelt_cluster::evals::NatsPool::new(&queue, args.ack_wait)
        .await
        .map_err(nats_unreachable)?;
    let fold_slots = args.fold_slots.unwrap_or_else(|| {
        std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
    });
    let folds = smelt_cluster::evals::FoldWorker::new(
        &queue,
        smelt_autopilot::distributed::FoldEvaluator::new(
            tracking.clone(),
            base_dir.clone(),
            data_roots.clone(),
        ),
        &name,
        fold_slots,
        args.ack_wait,
    )
    .await
    .map_err(nats_unreachable)?;
    let worker = Worker::new(
        queue,
        WorkerOptions {
            name: name.clone(),
            concurrency: args.concurrency,
            labels: args.labels.clone(),
            ack_wait: args.ack_wait,
            max_attempts: args.max_attempts,
            base_dir,
            data_roots,
            scratch,
        },
        tracking,
        vec![Arc::new(
            smelt_autopilot::runner::AutopilotRunner::distributed(pool),
        )],
    )
    .map_err(|e| hinted(e.to_string(), "`smelt worker --help` explains the flags"))?;
    println!(
        "smelt worker {name}: taking jobs from {} (labels: {}, {} at once; {fold_slots} autopilot fold fits at once), logging to {server}",
        smelt_cluster::queue::redact(&args.queue),
        smelt_cluster::jobs::labels_key(&args.labels),
        args.concurrency
    );
    let shutdown = async {
        shutdown_signal().await;
        eprintln!("smelt worker: stopping (waiting for running jobs; Ctrl-C again to exit now)");
        tokio::spawn(async {
            shutdown_signal().await;
            eprintln!("smelt worker: exiting; its jobs go to other workers");
            std::process::exit(130);
        });
    };
    // Fold fits stop taking work when the jobs do.
    let (stop_folds, folds_stopped) = tokio::sync::oneshot::channel::<()>();
    let folds = tokio::spawn(folds.run(async {
        let _ = folds_stopped.await;
    }));
    let result = worker.run(shutdown).await;
    let _ = stop_folds.send(());
    if let Ok(Err(error)) = folds.await {
        tracing::warn!(%error, "the fold fits stopped");
    }
    result?;
    Ok(())
}

/// A NATS failure at start, with what to do about it.
fn nats_unreachable(error: smelt_cluster::ClusterError) -> anyhow::Error {
    hinted(
        error.to_string(),
        "start NATS with JetStream (nats-server -js) or fix --queue / SMELT_QUEUE",
    )
}

fn hostname_or_unknown() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| {
            std::fs::read_to_string("/etc/hostname")
                .ok()
                .map(|h| h.trim().to_string())
        })
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "worker".into())
}
