//! `smelt server`: the tracking server (MLflow REST API and artifact proxy).

use std::time::Duration;

use clap::Args;
use smelt_tracking::artifacts::{ArtifactLocations, DataRoots};
use smelt_tracking::server::{self, ServerConfig};

use crate::config::{default_artifacts_destination, local_store_uri, redact, smelt_home};
use crate::error::hinted;
use crate::shared::compute::{ComputeArg, open_compute};
use crate::shared::identity::AuthArgs;
use crate::shared::serving::ServingArgs;
use crate::shared::signals::shutdown_signal;
use crate::shared::tls::TlsArgs;

/// How long in-flight requests get to finish after a shutdown signal.
const GRACE: Duration = Duration::from_secs(30);

/// `smelt server --help`.
pub const LONG_ABOUT: &str = "\
Run the tracking server: the web UI at http://HOST:PORT/, MLflow's REST API
(so `mlflow` clients work with MLFLOW_TRACKING_URI=http://HOST:PORT) and its
artifact proxy, the job executor, model endpoints and drift monitors.

With no flags everything lives in $SMELT_HOME (default ./.smelt): the SQLite
database smelt.db and the artifacts/ folder. Nothing to install.

  smelt server
  smelt server --port 8080 --host 0.0.0.0

Scaled out, several servers share a PostgreSQL database and an S3 bucket (the
S3 endpoint and keys come from the usual AWS_* variables):

  smelt server --backend-store-uri postgresql://postgres@127.0.0.1:5432/test \\
               --artifacts-destination s3://bucket/prefix

HTTPS (clients then use https://HOST:PORT; point MLflow's client at your CA
with MLFLOW_TRACKING_SERVER_CERT_PATH=ca.pem):

  smelt server --tls-cert server.pem --tls-key server-key.pem

The server stops gracefully on Ctrl-C or SIGTERM, finishing requests in flight.";

/// The server's flags, named as `mlflow server` names them.
#[derive(Debug, Clone, Args)]
pub struct ServerArgs {
    /// Interface to listen on (0.0.0.0 for every interface)
    #[arg(long, env = "SMELT_HOST", default_value = "127.0.0.1")]
    host: String,

    /// Port to listen on (0 picks a free one)
    #[arg(short, long, env = "SMELT_PORT", default_value_t = 5000)]
    port: u16,

    /// Tracking database: sqlite:///path/smelt.db or postgresql://user@host:port/db
    /// [default: sqlite:///$SMELT_HOME/smelt.db]
    #[arg(long, env = "SMELT_DATABASE_URL", value_name = "URI")]
    backend_store_uri: Option<String>,

    /// Artifact root recorded for new experiments when artifacts are not proxied
    /// (--no-serve-artifacts) [default: the artifacts destination]
    #[arg(long, value_name = "URI")]
    default_artifact_root: Option<String>,

    /// Where the artifact proxy stores files: a folder, file:// or s3://bucket/prefix
    /// [default: $SMELT_HOME/artifacts]
    #[arg(long, env = "SMELT_ARTIFACTS", value_name = "URI")]
    artifacts_destination: Option<String>,

    /// Proxy artifact uploads and downloads (the default): new experiments get
    /// mlflow-artifacts:/ locations, so clients need no storage credentials
    #[arg(long, overrides_with = "no_serve_artifacts")]
    serve_artifacts: bool,

    /// Don't proxy artifacts: clients write to --default-artifact-root themselves
    #[arg(long, overrides_with = "serve_artifacts")]
    no_serve_artifacts: bool,

    /// Send jobs to this NATS JetStream server (nats://HOST:PORT) for `smelt
    /// worker` processes to run, instead of running them on this server's own
    /// threads. Every server given the same queue shows the same jobs, and
    /// servers sharing a database hear each other's endpoint and alias
    /// changes at once (each still re-reads them every poll)
    #[arg(long, env = "SMELT_QUEUE", value_name = "URL")]
    queue: Option<String>,
    /// Training jobs run at once by this server's executor [default: one per two cores]
    #[arg(long, env = "SMELT_JOB_WORKERS", value_name = "N")]
    job_workers: Option<usize>,

    /// Where endpoints write captured requests (JSON lines) [default: $SMELT_HOME/capture]
    #[arg(long, env = "SMELT_CAPTURE_DIR", value_name = "DIR")]
    capture_dir: Option<std::path::PathBuf>,

    /// Send captured requests to NATS JetStream (nats://HOST:PORT) instead of
    /// --capture-dir: one stream per endpoint that every server replica
    /// writes to, read by monitors through a durable consumer, each window
    /// evaluated by exactly one replica
    #[arg(
        long,
        env = "SMELT_CAPTURE_SINK",
        value_name = "URL",
        conflicts_with = "capture_dir"
    )]
    capture_sink: Option<String>,

    /// Folders whose files jobs submitted to this server may read as data
    /// (comma-separated). Without it, jobs read data only from the artifact
    /// store (runs:/RUN_ID/path, mlflow-artifacts:/path): a job is the
    /// caller's request, and the server must not open its own files for them.
    /// Symlinks and `..` are resolved before the check
    #[arg(
        long,
        env = "SMELT_DATA_ROOTS",
        value_delimiter = ',',
        value_name = "DIR[,DIR]"
    )]
    data_roots: Vec<std::path::PathBuf>,

    /// Hosts that monitor webhooks may reach although they are not public
    /// (comma-separated names, addresses or CIDR ranges, e.g.
    /// hooks.internal,10.0.0.0/8,127.0.0.1). By default alerts go only to
    /// public addresses: never loopback, private, link-local, carrier-grade
    /// NAT or the cloud metadata address, checked after DNS resolution
    #[arg(
        long,
        env = "SMELT_ALLOW_WEBHOOK_HOSTS",
        value_delimiter = ',',
        value_name = "HOST[,HOST]"
    )]
    allow_webhook_hosts: Vec<String>,

    #[command(flatten)]
    compute: ComputeArg,

    #[command(flatten)]
    serving: ServingArgs,

    #[command(flatten)]
    tls: TlsArgs,

    #[command(flatten)]
    auth: AuthArgs,
}

impl ServerArgs {
    pub(crate) fn host(&self) -> &str {
        self.host.trim()
    }

    pub(crate) fn port(&self) -> u16 {
        self.port
    }

    /// The flag that secures this server (`--auth`, `--tls-cert`), if any:
    /// the quickstart drives its server as an anonymous plain-HTTP client.
    pub(crate) fn secured_by(&self) -> Option<&'static str> {
        if self.auth.auth {
            Some("--auth")
        } else if self.tls.is_set() {
            Some("--tls-cert")
        } else {
            None
        }
    }

    /// Also lets jobs read files under `folder` (the quickstart's data).
    pub(crate) fn allow_data_root(&mut self, folder: std::path::PathBuf) {
        self.data_roots.push(folder);
    }
}

/// Runs the server until Ctrl-C or SIGTERM.
pub async fn run(args: &ServerArgs) -> anyhow::Result<()> {
    let home = smelt_home();
    std::fs::create_dir_all(&home).map_err(|e| {
        hinted(
            format!("cannot create the data directory {}: {e}", home.display()),
            "set SMELT_HOME to a writable folder",
        )
    })?;
    let non_empty = |value: &Option<String>| {
        value
            .as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    };
    let config = ServerConfig {
        host: args.host.trim().to_string(),
        port: args.port,
        backend_store_uri: non_empty(&args.backend_store_uri)
            .unwrap_or_else(|| local_store_uri(&home)),
        artifacts_destination: non_empty(&args.artifacts_destination)
            .unwrap_or_else(|| default_artifacts_destination(&home)),
        default_artifact_root: non_empty(&args.default_artifact_root),
        serve_artifacts: !args.no_serve_artifacts,
    };
    tracing::info!(?config, "starting the tracking server");

    let tls = args.tls.load()?;
    let secure_cookies = tls.is_some();
    if !args.auth.auth && !is_loopback(&config.host) {
        eprintln!(
            "smelt server: WARNING: listening on {} without --auth: anyone who reaches this port can read and change everything",
            config.host
        );
    }
    let bound = server::bind(&config).await.map_err(|e| {
        let hint = if e.message.contains("cannot listen") {
            format!("pick another port with --port, or stop the process using {}", config.port)
        } else {
            "check --backend-store-uri / SMELT_DATABASE_URL and --artifacts-destination / SMELT_ARTIFACTS".to_string()
        };
        hinted(e.message, hint)
    })?;
    let bound = match tls {
        Some(tls) => bound.with_tls(tls),
        None => bound,
    };
    let address = bound.local_addr()?;
    let artifacts = if config.serve_artifacts {
        redact(&config.artifacts_destination)
    } else {
        let root = config
            .default_artifact_root
            .as_deref()
            .unwrap_or(&config.artifacts_destination);
        format!("{} (not proxied)", redact(root))
    };
    println!(
        "smelt server listening on {}://{address} (store: {}, artifacts: {artifacts})",
        bound.scheme(),
        redact(&config.backend_store_uri)
    );

    let reads = caller_reads(&config, args)?;
    let queue = connect_queue(args).await?;
    let executor = start_executor(&home, &config, &bound, args, &reads, queue.as_ref()).await?;
    let identity =
        crate::shared::identity::start(&args.auth, &bound, executor.clone(), secure_cookies)
            .await?;
    let jobs = smelt_trainer::executor::api::router(executor.clone());
    let (serving, monitors) = start_serving(&home, &config, &bound, args, &reads).await?;
    if let Some(queue) = &queue {
        // Replicas on the same NATS tell each other of endpoint and alias
        // changes, so each swaps at once rather than at its next poll.
        let changes = smelt_cluster::changes::NatsChanges::new(queue);
        serving.set_change_feed(changes.clone());
        changes.follow(serving.clone()).await.map_err(|e| {
            hinted(
                e.to_string(),
                "check that NATS is up at --queue / SMELT_QUEUE",
            )
        })?;
    }
    let registry_writes = serving.clone();
    let ui = smelt_ui::router(smelt_ui::UiState {
        store: bound.state().store.clone(),
        open_artifacts: open_artifacts(&config, &reads),
        jobs: Some(executor.clone()),
        traffic: smelt_ui::traffic::TrafficHistory::start(serving.metrics.clone()),
        serving: Some(serving.clone()),
        monitors: Some(monitors.clone()),
        identity: identity.clone(),
    });
    let with_identity = identity.is_some();
    let extra = jobs
        .merge(smelt_serving::http::server_router(serving))
        .merge(smelt_monitor::service::api::router(monitors))
        .merge(ui)
        .route(
            smelt_trainer::executor::api::OPENAPI_PATH,
            axum::routing::get(move || async move { axum::Json(openapi(with_identity)) }),
        );

    let (stopping_tx, stopping_rx) = tokio::sync::oneshot::channel::<()>();
    let shutdown = async move {
        shutdown_signal().await;
        eprintln!("smelt server: shutting down (finishing requests in flight)");
        let _ = stopping_tx.send(());
    };
    let app = smelt_tracking::api::router(bound.state().clone()).merge(extra);
    let app = match &identity {
        // Every route, MLflow's included, behind the identity gate.
        Some(identity) => app
            .merge(smelt_identity::api::router(identity.clone()))
            .merge(smelt_identity::session::router(identity.clone()))
            .layer(axum::middleware::from_fn_with_state(
                identity.clone(),
                smelt_identity::middleware::guard,
            )),
        None => app,
    };
    let app = app.layer(axum::middleware::from_fn_with_state(
        registry_writes,
        announce_registry_writes,
    ));
    let serve = bound.serve_app(app, shutdown);
    tokio::pin!(serve);
    tokio::select! {
        result = &mut serve => result?,
        () = async {
            if stopping_rx.await.is_err() {
                std::future::pending::<()>().await;
            }
            tokio::time::sleep(GRACE).await;
        } => {
            eprintln!("smelt server: requests still open after {}s; stopping anyway", GRACE.as_secs());
        }
    }
    executor.stop();
    Ok(())
}

/// After a request that changed the model registry succeeds (an alias moved
/// through MLflow's API, by a client or a worker publishing a model),
/// endpoints on every replica re-resolve their references at once.
async fn announce_registry_writes(
    axum::extract::State(serving): axum::extract::State<std::sync::Arc<smelt_serving::Serving>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let writes = smelt_tracking::api::changes_registry(request.method(), request.uri().path());
    let response = next.run(request).await;
    if writes && response.status().is_success() {
        serving.announce(smelt_serving::Change::Registry);
    }
    response
}

/// The NATS connection of `--queue`, if given: jobs, and the changes that
/// server replicas tell each other.
async fn connect_queue(args: &ServerArgs) -> anyhow::Result<Option<smelt_cluster::Queue>> {
    let Some(url) = &args.queue else {
        return Ok(None);
    };
    let queue = smelt_cluster::Queue::connect(&smelt_cluster::QueueOptions {
        url: url.clone(),
        name: "smelt-server".into(),
    })
    .await
    .map_err(|e| {
        hinted(
            e.to_string(),
            "start NATS with JetStream (nats-server -js) or fix --queue / SMELT_QUEUE",
        )
    })?;
    println!(
        "smelt server: jobs go to the queue at {} for `smelt worker` processes",
        smelt_cluster::queue::redact(url)
    );
    Ok(Some(queue))
}

/// Whether a host name or address only listens on this machine.
fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host
            .trim_matches(['[', ']'])
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The job executor: with `--queue`, jobs go to NATS for `smelt worker`
/// processes; otherwise the in-process executor, its queue under
/// `$SMELT_HOME/jobs`, runs them in the server's own store, artifacts
/// through the server's destination.
async fn start_executor(
    home: &std::path::Path,
    config: &ServerConfig,
    bound: &server::BoundServer,
    args: &ServerArgs,
    reads: &DataRoots,
    queue: Option<&smelt_cluster::Queue>,
) -> anyhow::Result<std::sync::Arc<dyn smelt_trainer::executor::Executor>> {
    let workers = args.job_workers.unwrap_or_else(|| {
        std::thread::available_parallelism().map_or(1, |n| (n.get() / 2).max(1))
    });
    let tracking = smelt_trainer::Tracking {
        store: bound.state().store.clone(),
        tracking_uri: config.backend_store_uri.clone(),
        open_artifacts: open_artifacts(config, reads),
        runtime: tokio::runtime::Handle::current(),
    };
    let base_dir = std::env::current_dir().unwrap_or_else(|_| home.to_path_buf());
    let runners: Vec<std::sync::Arc<dyn smelt_trainer::executor::JobRunner>> =
        vec![std::sync::Arc::new(
            smelt_autopilot::runner::AutopilotRunner::default(),
        )];
    if let Some(queue) = queue {
        return Ok(std::sync::Arc::new(smelt_cluster::jobs::NatsExecutor::new(
            queue.clone(),
            tracking,
            runners,
            base_dir,
            reads.clone(),
        )));
    }
    let executor = smelt_trainer::executor::LocalExecutor::start(
        &home.join("jobs"),
        &base_dir,
        tracking,
        workers,
        runners,
        reads.clone(),
    )
    .map_err(|e| {
        hinted(
            format!("cannot start the job executor: {e}"),
            "check that $SMELT_HOME is writable",
        )
    })?;
    tracing::info!(workers, "job executor started");
    Ok(std::sync::Arc::new(executor))
}

/// What the server reads for its callers (a job's data, an endpoint's
/// model, a monitor's reference, the UI's artifact pages): its artifact
/// store and the folders the operator names with `--data-roots`, nothing
/// else, since a caller may name any folder as an experiment's artifact
/// location or a model version's source.
fn caller_reads(config: &ServerConfig, args: &ServerArgs) -> anyhow::Result<DataRoots> {
    let stores: Vec<&str> = std::iter::once(config.artifacts_destination.as_str())
        .chain(config.default_artifact_root.as_deref())
        .collect();
    Ok(DataRoots::only(&args.data_roots)
        .map_err(|e| {
            hinted(
                e.message,
                "give existing folders to --data-roots / SMELT_DATA_ROOTS",
            )
        })?
        .with_artifact_stores(&stores))
}

/// How this server reaches artifact locations for its callers:
/// `mlflow-artifacts:` under its artifacts destination, as its proxy serves
/// them, and other locations only where `reads` allows.
fn locations(config: &ServerConfig, reads: &DataRoots) -> ArtifactLocations {
    ArtifactLocations::new(&config.backend_store_uri, &config.artifacts_destination)
        .reading_only(reads.clone())
}

/// Opens a run's artifact location the way this server stores it.
fn open_artifacts(config: &ServerConfig, reads: &DataRoots) -> smelt_trainer::OpenArtifacts {
    let locations = locations(config, reads);
    std::sync::Arc::new(move |uri: &str| locations.open(uri))
}

/// Endpoints: definitions from the server's store (restored now, loading
/// in the background if a model is unavailable), models from its registry
/// and artifacts, captured traffic under `--capture-dir`; and the monitors
/// that read that traffic.
async fn start_serving(
    home: &std::path::Path,
    config: &ServerConfig,
    bound: &server::BoundServer,
    args: &ServerArgs,
    reads: &DataRoots,
) -> anyhow::Result<(
    std::sync::Arc<smelt_serving::Serving>,
    std::sync::Arc<smelt_monitor::service::Monitors>,
)> {
    use std::sync::Arc;
    let store = bound.state().store.clone();
    let source = Arc::new(smelt_serving::RegistrySource::new(
        store.clone(),
        locations(config, reads),
    ));
    let metrics = Arc::new(smelt_serving::metrics::ServingMetrics::new());
    let (sink, feed) = capture(home, args).await?;
    // Webhooks are callers' choices: only public addresses, and what the
    // operator allows.
    let webhooks = smelt_monitor::service::WebhookPolicy::allowing(&args.allow_webhook_hosts)
        .map_err(|e| {
            hinted(
                format!("--allow-webhook-hosts: {e}"),
                "give host names, IP addresses or CIDR ranges, e.g. hooks.internal,10.0.0.0/8",
            )
        })?;
    let monitors = smelt_monitor::service::Monitors::new(
        store.clone(),
        Arc::new(smelt_monitor::tracked_io::TrackedIo::new(
            store.clone(),
            locations(config, reads),
        )),
        feed,
        open_compute(args.compute.preference)?,
        webhooks,
    );
    {
        let monitors = monitors.clone();
        metrics.add_source(Box::new(move || monitors.gauges.render()));
    }
    monitors.start_scheduler();
    let capture = smelt_serving::Capture::start(sink, 10_000, metrics.clone());
    let serving = smelt_serving::Serving::new(
        source,
        Some(store),
        metrics,
        Some(capture),
        args.serving.config(),
    );
    let restored = serving.restore().await.map_err(|e| {
        hinted(
            format!("cannot restore the endpoints: {e}"),
            "check --backend-store-uri",
        )
    })?;
    if restored > 0 {
        println!("smelt server: restored {restored} endpoint(s)");
    }
    serving.start_watcher();
    Ok((serving, monitors))
}

/// Where endpoints write captured traffic and monitors read it: JSON lines
/// under `--capture-dir`, or a JetStream stream per endpoint with
/// `--capture-sink nats://…`.
async fn capture(
    home: &std::path::Path,
    args: &ServerArgs,
) -> anyhow::Result<(
    std::sync::Arc<dyn smelt_serving::CaptureSink>,
    std::sync::Arc<dyn smelt_monitor::service::CaptureFeed>,
)> {
    if let Some(url) = &args.capture_sink {
        let stream = smelt_cluster::capture::NatsCapture::connect(url, Default::default())
            .await
            .map_err(|e| {
                hinted(
                    e.to_string(),
                    "start NATS with JetStream (nats-server -js) or fix --capture-sink / SMELT_CAPTURE_SINK",
                )
            })?;
        println!(
            "smelt server: captured traffic goes to JetStream at {}",
            smelt_cluster::queue::redact(url)
        );
        return Ok((stream.clone(), stream));
    }
    let folder = args
        .capture_dir
        .clone()
        .unwrap_or_else(|| home.join("capture"));
    Ok((
        std::sync::Arc::new(smelt_serving::JsonlFiles::new(&folder)),
        std::sync::Arc::new(smelt_monitor::service::CaptureFiles::new(folder)),
    ))
}

/// One OpenAPI document for Smelt's own API: jobs, endpoints and monitors,
/// and under `--auth` the identity routes (users, grants, roles, tokens,
/// audit) with the logins every route then needs.
fn openapi(with_identity: bool) -> serde_json::Value {
    let parse = |text: &str| serde_json::from_str::<serde_json::Value>(text).unwrap_or_default();
    let mut document = parse(smelt_trainer::executor::api::OPENAPI);
    let mut parts = vec![
        parse(smelt_serving::http::manage::OPENAPI),
        parse(smelt_monitor::service::api::OPENAPI),
    ];
    let mut description = "Smelt's own API beside MLflow's: training jobs, model endpoints and monitors. Errors are MLflow-style {\"error_code\", \"message\"}.".to_string();
    if with_identity {
        let identity = parse(smelt_identity::api::OPENAPI);
        document["security"] = identity["security"].clone();
        description.push_str(
            " This server runs with --auth: every route needs a login (HTTP Basic, a Bearer token or the UI's session), answering 401 without one and 403 PERMISSION_DENIED without the permission; MLflow's auth API, API tokens and the audit log are included.",
        );
        parts.push(identity);
    }
    document["info"] = serde_json::json!({
        "title": "Smelt API",
        "version": "1",
        "description": description,
    });
    for section in ["paths", "components"] {
        for part in &parts {
            let (Some(into), Some(from)) =
                (document[section].as_object_mut(), part[section].as_object())
            else {
                continue;
            };
            for (key, value) in from {
                match (into.get_mut(key), value) {
                    (Some(serde_json::Value::Object(a)), serde_json::Value::Object(b)) => {
                        a.extend(b.clone());
                    }
                    _ => {
                        into.insert(key.clone(), value.clone());
                    }
                }
            }
        }
    }
    document
}
