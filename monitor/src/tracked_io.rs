//! [`TrackedIo`]: the monitor's [`MonitorIo`] over a tracking store and its
//! artifact stores, what `smelt server` runs monitors with.
//!
//! A reference is a `profile.json` path or any model URI tracking's
//! [`ModelUri`] parses (`models:/NAME@ALIAS`, `runs:/ID/model`, a model
//! folder, …); it is resolved by [`ModelUri::locate`], the resolver serving
//! and the commands use, and only the model's `profile.json` is read, not
//! its whole folder. Report files go to the monitor run's artifact location.

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use smelt_tracking::TrackingStore;
use smelt_tracking::artifacts::{ArtifactLocations, ModelUri};

use crate::profile::Profile;
use crate::service::MonitorIo;

/// The file every model folder keeps its baseline profile in.
const PROFILE: &str = "profile.json";

/// Monitor IO through a tracking store and its artifact locations.
pub struct TrackedIo {
    store: Arc<dyn TrackingStore>,
    locations: ArtifactLocations,
}

impl TrackedIo {
    /// Models and monitor runs in `store`, their files through `locations`.
    pub fn new(store: Arc<dyn TrackingStore>, locations: ArtifactLocations) -> TrackedIo {
        TrackedIo { store, locations }
    }
}

#[async_trait]
impl MonitorIo for TrackedIo {
    async fn reference_profile(&self, reference: &str) -> Result<Profile, String> {
        let path = Path::new(reference);
        if path.extension().is_some_and(|e| e == "json") {
            // A server reads profile files only under its store or data roots.
            self.locations.allows(reference).map_err(|e| e.message)?;
            if path.is_file() {
                return read_profile(path);
            }
        }
        let uri = ModelUri::parse(reference).map_err(|e| e.message)?;
        let located = uri
            .locate(self.store.as_ref(), &self.locations)
            .await
            .map_err(|e| e.message)?;
        let bytes = located.read(PROFILE).await.map_err(|e| e.message)?;
        Profile::from_json(&String::from_utf8_lossy(&bytes))
            .map_err(|e| format!("{PROFILE} of {uri}: {e}"))
    }

    async fn save_artifact(
        &self,
        artifact_uri: &str,
        path: &str,
        bytes: Vec<u8>,
    ) -> Result<(), String> {
        let store = self.locations.open(artifact_uri).map_err(|e| e.message)?;
        store
            .put_bytes(path, bytes.into())
            .await
            .map_err(|e| e.message)
    }
}

/// A profile file the user named on the server's machine.
fn read_profile(path: &Path) -> Result<Profile, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    Profile::from_json(&text).map_err(|e| format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A model folder's profile is read through the same resolver as any
    /// URI; a folder without one says which file is missing.
    #[tokio::test]
    async fn reads_the_profile_of_a_model_folder() {
        let dir = tempfile::tempdir().unwrap();
        let model = dir.path().join("model");
        std::fs::create_dir_all(&model).unwrap();
        let table = Path::new(env!("CARGO_MANIFEST_DIR")).join("../datasets/iris.csv");
        let frame = smelt_data::read_table(&table, &smelt_data::ReadOptions::default()).unwrap();
        let profile = Profile::from_frame(&frame, &crate::ProfileOptions::default());
        std::fs::write(model.join(PROFILE), profile.to_json()).unwrap();
        let store = smelt_tracking::open_store(
            &format!("sqlite:///{}", dir.path().join("t.db").display()),
            "mlflow-artifacts:",
        )
        .await
        .unwrap();
        let io = TrackedIo::new(
            store,
            ArtifactLocations::new("sqlite:///unused", dir.path().to_str().unwrap()),
        );
        let read = io.reference_profile(model.to_str().unwrap()).await.unwrap();
        assert_eq!(read.to_json(), profile.to_json());

        let empty = dir.path().join("empty");
        std::fs::create_dir_all(&empty).unwrap();
        let error = io
            .reference_profile(empty.to_str().unwrap())
            .await
            .unwrap_err();
        assert!(error.contains("has no file 'profile.json'"), "{error}");
    }
}
