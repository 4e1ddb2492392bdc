//! `smelt serve`: one model behind MLflow's scoring protocol and the Open
//! Inference Protocol, as `mlflow models serve` does it, with Smelt's
//! batching, hot swap and metrics.

use std::sync::Arc;

use clap::Args;
use smelt_serving::http::standalone_router;
use smelt_serving::metrics::ServingMetrics;
use smelt_serving::{
    Capture, CaptureConfig, EndpointSpec, JsonlFiles, LocalFolders, ModelSource, ModelUri,
    RegistrySource, Serving, VariantSpec, parse_reference,
};
use smelt_tracking::server::serve_router;

use crate::config::{Context, GlobalArgs};
use crate::error::hinted;
use crate::shared::artifacts::{DestinationArgs, locations};
use crate::shared::serving::{BatchingArgs, ServingArgs};
use crate::shared::signals::shutdown_signal;
use crate::shared::tls::TlsArgs;

pub const LONG_ABOUT: &str = "\
Serve one model over HTTP, as `mlflow models serve` does:

  POST /invocations      MLflow's scoring protocol: JSON with dataframe_split,
                         dataframe_records, instances or inputs (+ params), or CSV
  GET  /ping, /health    200 once the model is loaded;  GET /version
  /v2/...                Open Inference Protocol v2 (KServe): metadata, ready, infer
  GET  /metrics          Prometheus metrics

The model is a registry reference, a run artifact or a folder:

  smelt serve --model models:/iris@champion --port 5001
  smelt serve --model runs:/RUN_ID/model
  smelt serve --model ./model

An alias (or models:/NAME/latest) is followed: when it moves, the new version
is loaded and warmed in the background and swapped in without dropping a
request. Concurrent requests are batched (--max-batch-rows, --max-delay-us);
a full queue answers 503 with Retry-After.

Answers carry the headers smelt-model-version (NAME/VERSION) and
smelt-inference-id. To host several models with traffic split, run
`smelt server` and use `smelt endpoints`.

HTTPS: --tls-cert server.pem --tls-key server-key.pem.";

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// models:/NAME@ALIAS, models:/NAME/VERSION, models:/NAME/latest, runs:/RUN_ID/model or a folder
    #[arg(long, short, env = "SMELT_SERVE_MODEL")]
    model: String,
    /// Interface to listen on
    #[arg(long, env = "SMELT_SERVE_HOST", default_value = "127.0.0.1")]
    host: String,
    /// Port to listen on (0 picks a free one)
    #[arg(short, long, env = "SMELT_SERVE_PORT", default_value_t = 5001)]
    port: u16,
    /// The model's name in /v2/models/NAME [default: the registered model's name]
    #[arg(long)]
    name: Option<String>,
    #[command(flatten)]
    batching: BatchingArgs,
    #[command(flatten)]
    process: ServingArgs,
    /// Capture this percentage of requests (inputs, outputs, latency) as JSON lines
    #[arg(
        long,
        env = "SMELT_CAPTURE_PERCENT",
        default_value_t = 0.0,
        value_name = "PERCENT"
    )]
    capture_percent: f64,
    /// Where captured requests go [default: $SMELT_HOME/capture]
    #[arg(long, env = "SMELT_CAPTURE_DIR", value_name = "DIR")]
    capture_dir: Option<std::path::PathBuf>,
    #[command(flatten)]
    destination: DestinationArgs,
    #[command(flatten)]
    tls: TlsArgs,
}

pub async fn run(global: &GlobalArgs, args: ServeArgs) -> anyhow::Result<()> {
    let tls = args.tls.load()?;
    let reference = parse_reference(&args.model)
        .map_err(|e| hinted(e.to_string(), "`smelt models list` shows registered models"))?;
    let name = match &args.name {
        Some(name) => name.clone(),
        None => default_name(&reference),
    };
    // A folder needs no tracking store (and serving one must not create one).
    let source: Arc<dyn ModelSource> = if matches!(reference, ModelUri::Folder(_)) {
        Arc::new(LocalFolders)
    } else {
        let ctx = Context::open(global).await?;
        let locations = locations(&ctx, &args.destination.resolve());
        Arc::new(RegistrySource::new(ctx.store, locations))
    };
    let metrics = Arc::new(ServingMetrics::new());
    let capture = (args.capture_percent > 0.0).then(|| {
        let dir = args
            .capture_dir
            .clone()
            .unwrap_or_else(|| crate::config::smelt_home().join("capture"));
        Capture::start(Arc::new(JsonlFiles::new(dir)), 10_000, metrics.clone())
    });
    let serving = Serving::new(source, None, metrics, capture, args.process.config());
    let spec = EndpointSpec {
        name,
        variants: vec![VariantSpec {
            name: String::new(),
            model: args.model.clone(),
            weight: 1,
        }],
        shadow: None,
        batching: args.batching.config(),
        capture: CaptureConfig {
            sample_percent: args.capture_percent,
        },
    };
    let endpoint = serving.create(spec, false).await.map_err(|e| {
        hinted(
            format!("cannot serve {}: {e}", args.model),
            "check the reference with `smelt models show NAME` or `smelt runs show RUN_ID`",
        )
    })?;
    let version = endpoint.variants[0]
        .loaded()
        .map(|m| m.label.to_string())
        .unwrap_or_default();
    serving.start_watcher();

    let address = format!("{}:{}", args.host.trim(), args.port);
    let listener = tokio::net::TcpListener::bind(&address).await.map_err(|e| {
        hinted(
            format!("cannot listen on {address}: {e}"),
            "pick another port with --port",
        )
    })?;
    println!(
        "smelt serve: {version} on {}://{} (POST /invocations, /v2/models/{}/infer)",
        if tls.is_some() { "https" } else { "http" },
        listener.local_addr()?,
        endpoint.name
    );
    serve_router(
        listener,
        standalone_router(serving),
        tls.as_ref(),
        shutdown_signal(),
    )
    .await?;
    Ok(())
}

/// `/v2/models/NAME`: the registered model's name, else the run or folder.
fn default_name(reference: &ModelUri) -> String {
    let name = match reference {
        ModelUri::Run { run_id, .. } => run_id.clone(),
        ModelUri::Folder(path) => std::path::absolute(path)
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_else(|| "model".into()),
        other => other.registered_model().unwrap_or("model").to_string(),
    };
    smelt_serving::endpoint::plain_name(&name)
}
