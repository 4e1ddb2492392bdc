//! One module per command group; each has its clap arguments and a `run`.

pub mod artifacts;
pub mod audit;
pub mod autopilot;
pub mod endpoints;
pub mod experiments;
pub mod jobs;
pub mod models;
pub mod monitor;
pub mod monitor_mmd;
pub mod predict;
pub mod quickstart;
pub mod runs;
pub mod serve;
pub mod server;
pub mod tokens;
pub mod train;
pub mod worker;

use clap::ValueEnum;
use smelt_tracking::TrackingStore;
use smelt_tracking::entities::{Experiment, ViewType};

use crate::error::hinted;

/// Which lifecycle stage a listing shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum View {
    /// Only active entities
    #[default]
    Active,
    /// Only deleted ones
    Deleted,
    /// Both
    All,
}

impl View {
    /// The store's view type.
    pub fn view_type(self) -> ViewType {
        match self {
            View::Active => ViewType::ActiveOnly,
            View::Deleted => ViewType::DeletedOnly,
            View::All => ViewType::All,
        }
    }
}

/// Finds an experiment by id (when the text is a number) or by name.
pub async fn resolve_experiment(
    store: &dyn TrackingStore,
    id_or_name: &str,
) -> anyhow::Result<Experiment> {
    let key = id_or_name.trim();
    if key.is_empty() {
        return Err(hinted(
            "the experiment name or id is empty",
            "`smelt experiments list` shows the experiments",
        ));
    }
    if key.chars().all(|c| c.is_ascii_digit()) {
        match store.get_experiment(key).await {
            Ok(experiment) => return Ok(experiment),
            Err(e) if e.is_not_found() => {}
            Err(e) => return Err(e.into()),
        }
    }
    match store.get_experiment_by_name(key).await? {
        Some(experiment) => Ok(experiment),
        None => Err(hinted(
            format!("no experiment with id or name '{key}'"),
            "`smelt experiments list` shows the experiments (add --view all for deleted ones)",
        )),
    }
}

/// Parses `KEY=VALUE` (for `--tag`).
pub fn parse_key_value(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.trim().is_empty() => {
            Ok((key.trim().to_string(), value.to_string()))
        }
        _ => Err(format!("expected KEY=VALUE, got '{text}'")),
    }
}
