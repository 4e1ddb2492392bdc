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
//!
//! Several replicas on one database act as one: each change made here is
//! published on the [`ChangeFeed`] (when the server has one), and a change
//! heard from it ([`Serving::apply`]) re-reads that endpoint's definition
//! or wakes the watcher at once. The watcher also re-reads every definition
//! each poll, so a replica that missed a change still catches up.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock, RwLock};
use std::time::Duration;

use smelt_tracking::DefinitionStore;

use crate::capture::Capture;
use crate::changes::{Change, ChangeFeed};
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
    /// Where this replica's changes go (`smelt server --queue`).
    feed: OnceLock<Arc<dyn ChangeFeed>>,
    /// Wakes the watcher before its next poll (a registry change).
    wake: Arc<tokio::sync::Notify>,
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
            feed: OnceLock::new(),
            wake: Arc::new(tokio::sync::Notify::new()),
        })
    }

    /// Publishes this replica's endpoint changes on `feed` from now on.
    pub fn set_change_feed(&self, feed: Arc<dyn ChangeFeed>) {
        if self.feed.set(feed).is_err() {
            tracing::warn!("the change feed was already set; keeping the first");
        }
    }

    /// Tells the other replicas (through the feed) or, without one, this
    /// process: a change made here that others serve.
    pub fn announce(&self, change: Change) {
        match self.feed.get() {
            Some(feed) => feed.publish(change),
            None => self.wake.notify_one(),
        }
    }

    /// Acts on a change some replica made: an endpoint's definition is read
    /// again now; a registry change wakes the watcher, which re-resolves
    /// every movable reference.
    pub async fn apply(&self, change: Change) {
        match change {
            Change::Endpoint { name } => {
                if let Err(error) = self.sync_endpoint(&name).await {
                    tracing::warn!(endpoint = %name, %error,
                        "cannot follow the endpoint's new definition; retrying at the next poll");
                }
            }
            Change::Registry => self.wake.notify_one(),
        }
    }

    /// Starts the watcher; it stops when the last `Arc<Serving>` is gone.
    /// Each poll (or sooner, when woken by a registry change) it follows
    /// the stored definitions and re-resolves movable references.
    pub fn start_watcher(self: &Arc<Self>) {
        let weak = Arc::downgrade(self);
        let interval = self.config.poll_interval;
        let wake = self.wake.clone();
        tokio::spawn(async move {
            loop {
                let woken = tokio::select! {
                    () = tokio::time::sleep(interval) => false,
                    () = wake.notified() => true,
                };
                let Some(serving) = weak.upgrade() else {
                    return;
                };
                if !woken {
                    serving.sync_definitions().await;
                }
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
            let endpoint = self.admit(spec).await?;
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
        if persist {
            self.announce_endpoint(&endpoint.name);
        }
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
        self.announce_endpoint(&endpoint.name);
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
        self.announce_endpoint(name);
        Ok(())
    }

    /// Publishes an endpoint change to the other replicas (this one already
    /// serves it).
    fn announce_endpoint(&self, name: &str) {
        if let Some(feed) = self.feed.get() {
            feed.publish(Change::Endpoint { name: name.into() });
        }
    }

    /// Brings one endpoint in line with its stored definition: created,
    /// replaced or removed here as another replica left it. A definition
    /// equal to what runs changes nothing.
    pub async fn sync_endpoint(&self, name: &str) -> Result<()> {
        let Some(store) = &self.store else {
            return Ok(());
        };
        // Read under the lock: a definition read before a local change
        // finished would undo it.
        let _change = self.changes.lock().await;
        let stored = store
            .get_definition(ENDPOINT_KIND, name)
            .await
            .map_err(ServeError::from)?;
        self.follow(name, stored.as_deref()).await
    }

    /// Follows every stored definition: endpoints another replica created,
    /// changed or deleted since the last look. Errors are logged; the next
    /// poll tries again.
    pub async fn sync_definitions(&self) {
        let Some(store) = &self.store else {
            return;
        };
        // Read under the lock: a list read while this process was creating
        // an endpoint would lack it, and following it would delete it.
        let _change = self.changes.lock().await;
        let stored: BTreeMap<String, String> = match store.list_definitions(ENDPOINT_KIND).await {
            Ok(definitions) => definitions.into_iter().collect(),
            Err(error) => {
                tracing::warn!(%error, "cannot read endpoint definitions; retrying at the next poll");
                return;
            }
        };
        let names: std::collections::BTreeSet<String> = stored
            .keys()
            .cloned()
            .chain(self.read().keys().cloned())
            .collect();
        for name in names {
            if let Err(error) = self
                .follow(&name, stored.get(&name).map(String::as_str))
                .await
            {
                tracing::warn!(endpoint = %name, %error,
                    "cannot follow the endpoint's stored definition; retrying at the next poll");
            }
        }
    }

    /// Makes the running endpoint `name` match `stored` (its definition, or
    /// `None` when deleted). The caller holds `changes`.
    async fn follow(&self, name: &str, stored: Option<&str>) -> Result<()> {
        let running = self.read().get(name).cloned();
        let Some(body) = stored else {
            if let Some(old) = running {
                self.write().remove(name);
                self.unload(&old, None);
                tracing::info!(endpoint = %name, "endpoint deleted by another replica");
            }
            return Ok(());
        };
        let spec = serde_json::from_str::<EndpointSpec>(body)
            .map_err(|e| ServeError::Internal(format!("unreadable endpoint definition: {e}")))?
            .normalized()?;
        if running.as_ref().is_some_and(|r| r.spec == spec) {
            return Ok(());
        }
        let endpoint = self.admit(spec).await?;
        self.write().insert(name.to_string(), endpoint.clone());
        match running {
            Some(old) => {
                self.unload(&old, Some(&endpoint));
                tracing::info!(endpoint = %name, "endpoint updated by another replica");
            }
            None => tracing::info!(endpoint = %name, "endpoint created by another replica"),
        }
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

    /// An endpoint someone else defined (a restart, another replica): every
    /// variant that loads now serves; one that cannot stays unloaded (503)
    /// and the watcher retries it each poll.
    async fn admit(&self, spec: EndpointSpec) -> Result<Arc<Endpoint>> {
        let endpoint = Arc::new(Endpoint::new(spec, &self.metrics)?);
        for variant in endpoint.all_variants() {
            if let Err(error) = self.load_variant(&endpoint, variant).await {
                tracing::warn!(endpoint = %endpoint.name, variant = %variant.name, %error,
                    "variant not loaded; retrying every poll interval");
            }
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
