//! [`Serving`]: the endpoints of one process, their definitions in the
//! tracking store, and the watcher that keeps each variant on the version
//! its reference names.
//!
//! Create and update load every variant before anything changes, so a bad
//! model reference is an error to the caller, not a broken endpoint. The
//! watcher re-resolves movable references (aliases, `latest`) every poll
//! interval; when the answer changes it loads and warms the new version off
//! the request path and swaps it in atomically. It also retries variants
//! that could not load at start (after a restart, say).

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use smelt_tracking::DefinitionStore;

use crate::capture::Capture;
use crate::endpoint::{Endpoint, EndpointSpec, EndpointSpecExt, Variant};
use crate::error::{Result, ServeError};
use crate::loaded::LoadedModel;
use crate::metrics::ServingMetrics;
use crate::source::ModelSource;

/// The definition kind endpoints are stored under.
pub const ENDPOINT_KIND: &str = "endpoint";

/// Process-wide serving settings.
#[derive(Debug, Clone)]
pub struct ServingConfig {
    /// How often movable references are re-resolved.
    pub poll_interval: Duration,
    /// Largest request body, bytes (413 above).
    pub max_body_bytes: usize,
}

impl Default for ServingConfig {
    fn default() -> Self {
        ServingConfig {
            poll_interval: Duration::from_secs(2),
            max_body_bytes: 6 * 1024 * 1024,
        }
    }
}

pub struct Serving {
    endpoints: RwLock<BTreeMap<String, Arc<Endpoint>>>,
    source: Arc<dyn ModelSource>,
    /// Where definitions persist; `None` for `smelt serve` (one model,
    /// nothing to remember).
    store: Option<Arc<dyn DefinitionStore>>,
    pub metrics: Arc<ServingMetrics>,
    capture: Option<Arc<Capture>>,
    pub config: ServingConfig,
    /// Serialises create/update/delete so two changes to one endpoint
    /// cannot interleave their store writes and swaps.
    changes: tokio::sync::Mutex<()>,
}

impl Serving {
    pub fn new(
        source: Arc<dyn ModelSource>,
        store: Option<Arc<dyn DefinitionStore>>,
        metrics: Arc<ServingMetrics>,
        capture: Option<Arc<Capture>>,
        config: ServingConfig,
    ) -> Arc<Serving> {
        Arc::new(Serving {
            endpoints: RwLock::new(BTreeMap::new()),
            source,
            store,
            metrics,
            capture,
            config,
            changes: tokio::sync::Mutex::new(()),
        })
    }

    /// Starts the watcher; it stops when the last `Arc<Serving>` is gone.
    pub fn start_watcher(self: &Arc<Self>) {
        let weak = Arc::downgrade(self);
        let interval = self.config.poll_interval;
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(interval).await;
                let Some(serving) = weak.upgrade() else {
                    return;
                };
                serving.refresh().await;
            }
        });
    }

    /// Brings back the endpoints the store remembers. A variant that cannot
    /// load now stays unloaded (503) and the watcher retries it.
    pub async fn restore(&self) -> Result<usize> {
        let Some(store) = &self.store else {
            return Ok(0);
        };
        let definitions = store
            .list_definitions(ENDPOINT_KIND)
            .await
            .map_err(|e| ServeError::Internal(format!("cannot read endpoint definitions: {e}")))?;
        let mut restored = 0;
        for (name, body) in definitions {
            let spec = match serde_json::from_str::<EndpointSpec>(&body)
                .map_err(|e| ServeError::Internal(e.to_string()))
                .and_then(EndpointSpec::normalized)
            {
                Ok(spec) => spec,
                Err(error) => {
                    tracing::error!(endpoint = %name, %error, "skipping an unreadable endpoint definition");
                    continue;
                }
            };
            let endpoint = Arc::new(Endpoint::new(spec, &self.metrics)?);
            for variant in endpoint.all_variants() {
                if let Err(error) = self.load_variant(&endpoint, variant).await {
                    tracing::warn!(endpoint = %name, variant = %variant.name, %error,
                        "variant not loaded at start; retrying every poll interval");
                }
            }
            self.write().insert(name, endpoint);
            restored += 1;
        }
        Ok(restored)
    }

    pub fn get(&self, name: &str) -> Result<Arc<Endpoint>> {
        self.read()
            .get(name)
            .cloned()
            .ok_or_else(|| ServeError::NotFound(format!("endpoint '{name}' does not exist")))
    }

    pub fn list(&self) -> Vec<Arc<Endpoint>> {
        self.read().values().cloned().collect()
    }

    /// The only endpoint (for `smelt serve`'s unnamed routes).
    pub fn single(&self) -> Result<Arc<Endpoint>> {
        let endpoints = self.read();
        match endpoints.values().next() {
            Some(endpoint) if endpoints.len() == 1 => Ok(endpoint.clone()),
            _ => Err(ServeError::NotFound(
                "this server hosts several endpoints: use /endpoints/NAME/invocations".into(),
            )),
        }
    }

    /// Creates an endpoint, loading every variant first; `persist` keeps the
    /// definition in the store.
    pub async fn create(&self, spec: EndpointSpec, persist: bool) -> Result<Arc<Endpoint>> {
        let spec = spec.normalized()?;
        let _change = self.changes.lock().await;
        if self.read().contains_key(&spec.name) {
            return Err(ServeError::AlreadyExists(format!(
                "endpoint '{}' already exists; update it instead",
                spec.name
            )));
        }
        let endpoint = self.build(spec).await?;
        if persist && let Some(store) = &self.store {
            store
                .create_definition(
                    ENDPOINT_KIND,
                    &endpoint.spec.name,
                    &to_json(&endpoint.spec)?,
                )
                .await
                .map_err(ServeError::from)?;
        }
        self.write()
            .insert(endpoint.spec.name.clone(), endpoint.clone());
        tracing::info!(endpoint = %endpoint.name, "endpoint created");
        Ok(endpoint)
    }

    /// Replaces an endpoint's definition. The new variants load while the
    /// old ones keep answering; then the endpoint swaps as a whole.
    pub async fn update(&self, spec: EndpointSpec) -> Result<Arc<Endpoint>> {
        let spec = spec.normalized()?;
        let _change = self.changes.lock().await;
        let old = self.get(&spec.name)?;
        let endpoint = self.build(spec).await?;
        if let Some(store) = &self.store {
            store
                .update_definition(
                    ENDPOINT_KIND,
                    &endpoint.spec.name,
                    &to_json(&endpoint.spec)?,
                )
                .await
                .map_err(ServeError::from)?;
        }
        self.write()
            .insert(endpoint.spec.name.clone(), endpoint.clone());
        self.unload(&old, Some(&endpoint));
        tracing::info!(endpoint = %endpoint.name, "endpoint updated");
        Ok(endpoint)
    }

    pub async fn delete(&self, name: &str) -> Result<()> {
        let _change = self.changes.lock().await;
        let endpoint = self.get(name)?;
        if let Some(store) = &self.store {
            match store.delete_definition(ENDPOINT_KIND, name).await {
                Ok(()) => {}
                // Not persisted (created by `smelt serve`): nothing to forget.
                Err(e) if e.code == smelt_tracking::error::ErrorCode::ResourceDoesNotExist => {}
                Err(e) => return Err(ServeError::from(e)),
            }
        }
        self.write().remove(name);
        self.unload(&endpoint, None);
        tracing::info!(endpoint = %name, "endpoint deleted");
        Ok(())
    }

    /// Re-resolves every movable or unloaded variant; swaps in new versions.
    pub async fn refresh(&self) {
        for endpoint in self.list() {
            for variant in endpoint.all_variants() {
                let stale = variant.reference.can_move() || variant.current.load().is_none();
                if stale && let Err(error) = self.load_variant(&endpoint, variant).await {
                    tracing::warn!(endpoint = %endpoint.name, variant = %variant.name, %error,
                        "cannot refresh the variant; it keeps its current version");
                }
            }
        }
    }

    pub fn capture(&self) -> Option<&Arc<Capture>> {
        self.capture.as_ref()
    }

    async fn build(&self, spec: EndpointSpec) -> Result<Arc<Endpoint>> {
        let endpoint = Arc::new(Endpoint::new(spec, &self.metrics)?);
        for variant in endpoint.all_variants() {
            self.load_variant(&endpoint, variant).await?;
        }
        Ok(endpoint)
    }

    /// Loads the version `variant` names now, unless it is already serving.
    async fn load_variant(&self, endpoint: &Endpoint, variant: &Variant) -> Result<()> {
        let resolved = self
            .source
            .resolve(&variant.reference, &variant.spec.model)
            .await?;
        let previous = variant.current.load_full();
        if previous.as_ref().is_some_and(|p| p.resolved == resolved) {
            return Ok(());
        }
        let loaded = LoadedModel::load(
            self.source.as_ref(),
            resolved,
            endpoint.spec.batching.clone(),
            variant.metrics.clone(),
        )
        .await?;
        self.metrics.set_loaded(
            &endpoint.name,
            &variant.name,
            &loaded.name,
            &loaded.version,
            true,
        );
        let label = loaded.label.clone();
        variant.current.store(Some(Arc::new(loaded)));
        if let Some(previous) = previous {
            if previous.label != label {
                self.metrics.set_loaded(
                    &endpoint.name,
                    &variant.name,
                    &previous.name,
                    &previous.version,
                    false,
                );
            }
            tracing::info!(endpoint = %endpoint.name, variant = %variant.name,
                from = %previous.label, to = %label, "swapped to a new model version");
        } else {
            tracing::info!(endpoint = %endpoint.name, variant = %variant.name,
                version = %label, "model version loaded");
        }
        Ok(())
    }

    /// Clears the loaded-version gauges of a replaced or deleted endpoint
    /// (except those the replacement still serves).
    fn unload(&self, old: &Endpoint, new: Option<&Endpoint>) {
        for variant in old.all_variants() {
            let Some(loaded) = variant.current.load_full() else {
                continue;
            };
            let kept = new.is_some_and(|new| {
                new.all_variants().any(|v| {
                    v.name == variant.name
                        && v.current
                            .load()
                            .as_ref()
                            .is_some_and(|l| l.label == loaded.label)
                })
            });
            if !kept {
                self.metrics.set_loaded(
                    &old.name,
                    &variant.name,
                    &loaded.name,
                    &loaded.version,
                    false,
                );
            }
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<String, Arc<Endpoint>>> {
        self.endpoints.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, BTreeMap<String, Arc<Endpoint>>> {
        self.endpoints.write().unwrap_or_else(|p| p.into_inner())
    }
}

fn to_json(spec: &EndpointSpec) -> Result<String> {
    serde_json::to_string(spec).map_err(|e| ServeError::Internal(e.to_string()))
}
