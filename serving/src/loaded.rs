//! One model version, loaded, warmed and ready: its predictor, the
//! signature requests are checked against, and its batching queue.

use std::sync::Arc;

use smelt_data::{Column, Frame, Kind};
use smelt_models::{Predictor, Task};

use crate::batcher::{BatchConfig, BatchObserver, Batcher};
use crate::error::{Result, ServeError};
use crate::metrics::VariantMetrics;
use crate::schema::{InputColumn, InputSchema};
use crate::source::{ModelSource, ResolvedModel};

pub struct LoadedModel {
    pub resolved: ResolvedModel,
    pub schema: InputSchema,
    pub task: Task,
    pub batcher: Batcher,
    /// `NAME/VERSION`.
    pub label: Arc<str>,
    /// The same, ready to send as a header (cloning it is a refcount).
    pub label_header: axum::http::HeaderValue,
    pub name: Arc<str>,
    pub version: Arc<str>,
}

impl LoadedModel {
    /// Downloads, loads and warms `resolved`, then starts its queue. The
    /// version is not visible to requests until the caller swaps it in.
    pub async fn load(
        source: &dyn ModelSource,
        resolved: ResolvedModel,
        config: BatchConfig,
        metrics: VariantMetrics,
    ) -> Result<LoadedModel> {
        let download = tempfile::tempdir()
            .map_err(|e| ServeError::Internal(format!("cannot make a download folder: {e}")))?;
        let folder = source.download(&resolved, download.path()).await?;
        let label = resolved.label();
        // A downloaded model lives in a temporary folder whose path means
        // nothing to API clients (and is the server's business): messages
        // name the model's URI instead. A local folder is the user's own.
        let shown = if resolved.version == "local" {
            folder.display().to_string()
        } else {
            resolved.uri.clone()
        };
        let predictor = tokio::task::spawn_blocking(move || -> Result<Arc<dyn Predictor>> {
            let model = smelt_models::load_model(&folder).map_err(|e| {
                let message = e.to_string().replace(&folder.display().to_string(), &shown);
                ServeError::InvalidInput(format!("cannot load {shown}: {message}"))
            })?;
            let model: Arc<dyn Predictor> = Arc::from(model);
            warm(model.as_ref())?;
            Ok(model)
        })
        .await
        .map_err(|e| ServeError::Internal(format!("loading {label} crashed: {e}")))??;
        // Everything is in memory now; the download folder goes.
        drop(download);
        let schema = InputSchema {
            columns: predictor
                .inputs()
                .into_iter()
                .map(|(name, kind)| InputColumn { name, kind })
                .collect(),
        };
        let task = predictor.task().clone();
        let observer: BatchObserver =
            Arc::new(move |rows, inference, queued| metrics.batch(rows, inference, queued));
        let label_header = axum::http::HeaderValue::from_str(&label).map_err(|_| {
            ServeError::InvalidInput(format!("'{label}' cannot be sent in a header"))
        })?;
        Ok(LoadedModel {
            label_header,
            name: resolved.name.as_str().into(),
            version: resolved.version.as_str().into(),
            label: label.into(),
            resolved,
            schema,
            task,
            batcher: Batcher::start(predictor, config, Some(observer)),
        })
    }
}

/// One prediction on a row of missing values: pays the first-call costs
/// (allocations, lazy initialisation) before traffic arrives, and proves the
/// model runs at all.
fn warm(model: &dyn Predictor) -> Result<()> {
    let columns = model
        .inputs()
        .into_iter()
        .map(|(name, kind)| match kind {
            Kind::Numeric => Column::numeric(name, vec![f64::NAN]),
            Kind::Categorical => Column::categorical(name, vec![None]),
        })
        .collect();
    let frame = Frame::new(columns).map_err(|e| ServeError::Internal(e.to_string()))?;
    model.predict(&frame).map_err(|e| {
        ServeError::InvalidInput(format!("the model fails its warm-up prediction: {e}"))
    })?;
    Ok(())
}
