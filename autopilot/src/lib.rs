//! Smelt's autopilot: a dataset and a target in, a tuned (often ensembled)
//! model out, within a time budget.
//!
//! A job ([`job::run_autopilot`]) reads the data through the trainer's
//! `prepare`, infers the problem type ([`problem`]), plans stratified folds
//! ([`folds`]), and runs the [`search`]: cheap learner configurations first,
//! then TPE proposals ([`tpe`]) per learner ([`candidates`]), each trial
//! climbing resource levels under successive halving and scored on
//! out-of-fold predictions ([`evaluate`]). Greedy ensemble selection
//! ([`ensemble`]) over the best candidates' out-of-fold predictions picks
//! the final model, which is refitted on all rows and published like any
//! trained model. Trials are nested child runs ([`trial_runs`]); the parent
//! holds the [`leaderboard`]. On `smelt worker`s a search's fold fits run
//! on every worker's cores ([`distributed`]).
//!
//! Start reading at [`job`], then [`search`].

pub mod candidates;
pub mod distributed;
pub mod ensemble;
pub mod evaluate;
pub mod folds;
pub mod job;
pub mod leaderboard;
pub mod problem;
pub mod progress;
pub mod runner;
pub mod search;
pub mod space;
pub mod spec;
pub mod tpe;
pub mod trial_runs;

pub use candidates::Learner;
pub use job::{AutopilotOptions, AutopilotOutcome, run_autopilot};
pub use leaderboard::Leaderboard;
pub use problem::{Metric, ProblemType};
pub use spec::AutopilotSpec;
