//! The autopilot's leaderboard, on its parent run's page and its job's page:
//! the ranked table from `leaderboard/leaderboard.json` and the
//! score-over-time chart beside it.

use maud::{Markup, html};
use smelt_autopilot::job::{LEADERBOARD_JSON, LEADERBOARD_SVG};
use smelt_autopilot::leaderboard::Leaderboard;
use smelt_tracking::entities::Run;

use super::run::run_artifacts;
use crate::UiState;
use crate::layout::query;
use smelt_charts::format_value;

/// The section, or `None` when the run has no leaderboard (not an autopilot
/// run, or one still searching).
pub async fn leaderboard_section(ui: &UiState, run: &Run) -> Option<Markup> {
    let store = run_artifacts(ui, run).ok()?;
    let bytes = store
        .get(LEADERBOARD_JSON)
        .await
        .ok()?
        .into_bytes()
        .await
        .ok()?;
    let board: Leaderboard = match serde_json::from_slice(&bytes) {
        Ok(board) => board,
        Err(error) => {
            tracing::warn!(run = %run.info.run_id, "unreadable leaderboard: {error}");
            return None;
        }
    };
    let chart = format!(
        "/ui/runs/{}/raw?{}",
        run.info.run_id,
        query(&[("path", LEADERBOARD_SVG)])
    );
    Some(html! {
        h2 { "Leaderboard" }
        p.muted {
            (board.metric) " (" (if board.higher_is_better { "higher" } else { "lower" }) " is better), "
            (board.validation) "; " (board.trials_complete) " trials complete, "
            (board.trials_pruned) " stopped early, " (board.trials_failed) " failed, in "
            (format!("{:.1}", board.seconds)) " s"
        }
        table #leaderboard {
            thead { tr { th { "Rank" } th { "Model" } th { "Learner" } th { (board.metric) } th { "Fit s" } th { "Finished at s" } } }
            tbody {
                @for entry in &board.entries {
                    tr {
                        td.num { (entry.rank) }
                        td {
                            @if let Some(run_id) = &entry.run_id {
                                a href={ "/ui/runs/" (run_id) } { (entry.model) }
                            } @else {
                                (entry.model)
                            }
                        }
                        td { (entry.learner) }
                        td.num { (format_value(entry.score)) }
                        td.num { (format!("{:.2}", entry.fit_seconds)) }
                        td.num { (format!("{:.1}", entry.finished_s)) }
                    }
                }
            }
        }
        p { img src=(chart) alt="score over time"; }
    })
}
