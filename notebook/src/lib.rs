//! Smelt in an evcxr notebook.
//!
//! ```text
//! :dep smelt-notebook = { path = "notebook" }
//! let smelt = smelt_notebook::Smelt::connect("http://127.0.0.1:5000")?;
//! let job = smelt.train(&spec)?;              // a training job on the server, waited for
//! smelt.runs("wine")?                         // a runs table, shown as HTML
//! smelt.chart(&job.run_id, &["train_loss", "val_loss"])?   // an SVG chart
//! ```
//!
//! Everything is a call to a running `smelt server` (MLflow's REST API and
//! Smelt's own), so the notebook needs no database, no Burn and no GPU of its
//! own. Each result type has `to_html()` and `evcxr_display()`: evcxr calls
//! the latter on a cell's last value, and Jupyter shows the HTML.

mod client;
mod display;

pub use client::{Error, Job, Smelt};
pub use display::{Chart, DriftView, Html, LeaderboardView, RunView, Table};
pub use smelt_charts::{LineChart, Series};
