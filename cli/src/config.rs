//! Where things are: the global options, `SMELT_HOME`, the tracking URI, the
//! artifact destination, and logging.

use std::path::PathBuf;
use std::sync::Arc;

use clap::{ArgAction, Args};
use smelt_tracking::TrackingStore;

use crate::error::hinted;

/// The options every command accepts.
#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// Tracking store: sqlite:///path/smelt.db, postgresql://user@host:port/db or
    /// http(s)://host:port (a Smelt or MLflow server). Else MLFLOW_TRACKING_URI, else
    /// sqlite:///$SMELT_HOME/smelt.db (SMELT_HOME defaults to ./.smelt)
    #[arg(
        long,
        global = true,
        env = "SMELT_TRACKING_URI",
        value_name = "URI",
        help_heading = "Global options"
    )]
    pub tracking_uri: Option<String>,

    /// Print JSON instead of tables (for scripts)
    #[arg(long, global = true, help_heading = "Global options")]
    pub json: bool,

    /// More logging on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides
    #[arg(short, long, global = true, action = ArgAction::Count, help_heading = "Global options")]
    pub verbose: u8,
}

/// A non-empty environment variable.
pub fn env_var(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// The data directory: `$SMELT_HOME`, else `./.smelt`, made absolute.
pub fn smelt_home() -> PathBuf {
    let home = env_var("SMELT_HOME").unwrap_or_else(|| "./.smelt".to_string());
    let path = PathBuf::from(home);
    std::path::absolute(&path).unwrap_or(path)
}

/// The local SQLite store under a data directory.
pub fn local_store_uri(home: &std::path::Path) -> String {
    format!("sqlite:///{}", home.join("smelt.db").display())
}

/// Where the local artifact proxy keeps files: `$SMELT_ARTIFACTS`, else `$SMELT_HOME/artifacts`.
pub fn default_artifacts_destination(home: &std::path::Path) -> String {
    env_var("SMELT_ARTIFACTS").unwrap_or_else(|| home.join("artifacts").display().to_string())
}

/// The tracking URI: `--tracking-uri` / `SMELT_TRACKING_URI`, else
/// `MLFLOW_TRACKING_URI`, else the local store under `SMELT_HOME`.
pub fn tracking_uri(global: &GlobalArgs) -> String {
    global
        .tracking_uri
        .as_deref()
        .map(str::trim)
        .filter(|uri| !uri.is_empty())
        .map(str::to_string)
        .or_else(|| env_var("MLFLOW_TRACKING_URI"))
        .unwrap_or_else(|| local_store_uri(&smelt_home()))
}

/// Whether a tracking URI names a server rather than a database.
pub fn is_remote(uri: &str) -> bool {
    let lower = uri.to_ascii_lowercase();
    lower.starts_with("http://") || lower.starts_with("https://")
}

/// An opened tracking store and what commands need to know about it.
pub struct Context {
    /// The store.
    pub store: Arc<dyn TrackingStore>,
    /// The URI it was opened from.
    pub tracking_uri: String,
    /// Print JSON.
    pub json: bool,
}

impl Context {
    /// Opens the store the global options name.
    pub async fn open(global: &GlobalArgs) -> anyhow::Result<Context> {
        let uri = tracking_uri(global);
        tracing::debug!(tracking_uri = %redact(&uri), "opening the tracking store");
        // Local stores record `mlflow-artifacts:` locations, as `smelt server`
        // does by default, so runs logged with or without a server look alike.
        let store = smelt_tracking::open_store(&uri, "mlflow-artifacts:")
            .await
            .map_err(|e| {
                let hint = if is_remote(&uri) {
                    format!("is `smelt server` running at {uri}?")
                } else {
                    "check --tracking-uri / SMELT_TRACKING_URI, or SMELT_HOME for the local store"
                        .to_string()
                };
                hinted(e.message, hint)
            })?;
        Ok(Context {
            store,
            tracking_uri: uri,
            json: global.json,
        })
    }
}

/// Hides the password in `scheme://user:password@host/…`.
pub fn redact(uri: &str) -> String {
    let Some((scheme, rest)) = uri.split_once("://") else {
        return uri.to_string();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _password)) => format!("{scheme}://{user}:***@{host}{path}"),
            None => uri.to_string(),
        },
        None => uri.to_string(),
    }
}

/// Logs to stderr: RUST_LOG when set, else by `-v` count (warnings by default).
pub fn init_tracing(verbose: u8) {
    use tracing_subscriber::EnvFilter;
    // wgpu probes every graphics API and reports the ones a machine lacks
    // (EGL without a display, say) as errors; they are not Smelt's. perpetual
    // warns whenever a boosting-round cap stops it first, which the autopilot's
    // successive halving does on purpose.
    let default = match verbose {
        0 => "warn,wgpu_hal=off,wgpu_core=off,perpetual=error",
        1 => "info,wgpu_hal=warn,perpetual=warn",
        2 => "debug",
        _ => "trace",
    };
    let filter = match env_var("RUST_LOG") {
        Some(spec) => EnvFilter::try_new(&spec).unwrap_or_else(|e| {
            eprintln!("warning: ignoring RUST_LOG={spec:?}: {e}");
            EnvFilter::new(default)
        }),
        None => EnvFilter::new(default),
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(verbose >= 2)
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_hidden() {
        assert_eq!(
            redact("postgresql://u:secret@h:5432/db"),
            "postgresql://u:***@h:5432/db"
        );
        assert_eq!(
            redact("postgresql://u@h:5432/db"),
            "postgresql://u@h:5432/db"
        );
        assert_eq!(redact("sqlite:///tmp/x.db"), "sqlite:///tmp/x.db");
    }

    #[test]
    fn local_store_uri_has_three_slashes_for_absolute_paths() {
        assert_eq!(
            local_store_uri(std::path::Path::new("/tmp/h")),
            "sqlite:////tmp/h/smelt.db"
        );
    }
}
