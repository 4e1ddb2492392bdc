//! The monitor's `MonitorIo` over the tracking store and artifact stores:
//! reference profiles from model folders (or profile files), report files
//! into a monitor's run.

use async_trait::async_trait;
use smelt_monitor::Profile;
use smelt_monitor::service::MonitorIo;
use smelt_serving::{ModelReference, ModelSource};

use crate::commands::artifacts::open_location_at;
use crate::model_source::RegistrySource;

pub struct TrackedMonitorIo {
    pub models: RegistrySource,
}

#[async_trait]
impl MonitorIo for TrackedMonitorIo {
    async fn reference_profile(&self, reference: &str) -> Result<Profile, String> {
        let path = std::path::Path::new(reference);
        if path.extension().is_some_and(|e| e == "json") && path.is_file() {
            return read_profile(path);
        }
        let parsed = ModelReference::parse(reference).map_err(|e| e.to_string())?;
        let resolved = self
            .models
            .resolve(&parsed, reference)
            .await
            .map_err(|e| e.to_string())?;
        let download = tempfile::tempdir().map_err(|e| e.to_string())?;
        let folder = self
            .models
            .download(&resolved, download.path())
            .await
            .map_err(|e| e.to_string())?;
        read_profile(&folder.join("profile.json"))
    }

    async fn save_artifact(
        &self,
        artifact_uri: &str,
        path: &str,
        bytes: Vec<u8>,
    ) -> Result<(), String> {
        let store = open_location_at(
            &self.models.ctx.tracking_uri,
            &self.models.destination,
            artifact_uri,
        )
        .map_err(|e| e.to_string())?;
        store
            .put_bytes(path, bytes.into())
            .await
            .map_err(|e| e.to_string())
    }
}

fn read_profile(path: &std::path::Path) -> Result<Profile, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    Profile::from_json(&text).map_err(|e| format!("{}: {e}", path.display()))
}
