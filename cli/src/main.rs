//! The `smelt` command: argument parsing and printing over the library crates
//! (tracking, trainer, autopilot, serving, monitor, ui), which do the work.
//!
//! `main` parses the command line, sets up logging and a runtime, hands the
//! parsed command to its module under [`commands`], and turns any error into
//! one `error: …` line (plus a `hint: …` line where one helps) and exit code 1.
//! Usage errors are clap's, with exit code 2.

mod commands;
mod config;
mod error;
mod output;
mod remote;
mod shared;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::GlobalArgs;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const LONG_ABOUT: &str = "\
Smelt: an MLflow-compatible ML platform in one binary.

New here? `smelt quickstart` trains, serves and monitors a model and opens the
web UI, all on this machine.

Start a tracking server with `smelt server`, point MLflow clients (or other smelt
commands) at it, and browse experiments, runs, models and artifacts from here.

Every command that reads tracking data uses --tracking-uri, else the
SMELT_TRACKING_URI or MLFLOW_TRACKING_URI environment variable, else the local
store in $SMELT_HOME (default ./.smelt): sqlite:///$SMELT_HOME/smelt.db.

Listings print tables; add --json to get JSON for scripts.";

/// The command line.
#[derive(Debug, Parser)]
#[command(name = "smelt", version, about = "Smelt: an MLflow-compatible ML platform", long_about = LONG_ABOUT)]
#[command(propagate_version = true, max_term_width = 100)]
struct Cli {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
#[allow(clippy::large_enum_variant)] // parsed once per process
enum Command {
    /// Run the tracking server (MLflow REST API and artifact proxy)
    #[command(long_about = commands::server::LONG_ABOUT)]
    Server(commands::server::ServerArgs),
    /// List, show, create, rename, delete and restore experiments
    #[command(subcommand)]
    Experiments(commands::experiments::ExperimentsCommand),
    /// List, search and show runs
    #[command(subcommand)]
    Runs(commands::runs::RunsCommand),
    /// Registered models, their versions and aliases
    #[command(subcommand)]
    Models(commands::models::ModelsCommand),
    /// List and download run and model artifacts
    #[command(subcommand)]
    Artifacts(commands::artifacts::ArtifactsCommand),
    /// Train a model (Burn or linfa) from a job spec or flags, tracked as a run
    #[command(long_about = commands::train::long_about())]
    Train(commands::train::TrainArgs),
    /// AutoML: search learners and hyperparameters within a time budget, register the best
    #[command(long_about = commands::autopilot::LONG_ABOUT)]
    Autopilot(commands::autopilot::AutopilotArgs),
    /// Queue training jobs on a smelt server and follow them
    #[command(subcommand)]
    Jobs(commands::jobs::JobsCommand),
    /// Run the jobs servers queue on NATS (`smelt server --queue`), on this machine
    #[command(long_about = commands::worker::LONG_ABOUT)]
    Worker(commands::worker::WorkerArgs),
    /// Predict a CSV or Parquet file with a trained model
    #[command(long_about = commands::predict::LONG_ABOUT)]
    Predict(commands::predict::PredictArgs),
    /// Serve one model over HTTP (MLflow scoring protocol, Open Inference Protocol)
    #[command(long_about = commands::serve::LONG_ABOUT)]
    Serve(commands::serve::ServeArgs),
    /// Model endpoints on a smelt server: variants, traffic split, shadow, capture
    #[command(subcommand)]
    Endpoints(commands::endpoints::EndpointsCommand),
    /// Drift reports between tables, and baseline profiles
    #[command(subcommand)]
    Monitor(commands::monitor::MonitorCommand),
    /// The whole lifecycle in one command: server and UI, a trained and served model, drift
    #[command(long_about = commands::quickstart::LONG_ABOUT)]
    Quickstart(commands::quickstart::QuickstartArgs),
    /// API tokens of a `smelt server --auth`: create (shown once), list, revoke
    #[command(subcommand, long_about = commands::tokens::LONG_ABOUT)]
    Tokens(commands::tokens::TokensCommand),
    /// The audit log of a `smelt server --auth` (admins): who changed what, and refusals
    #[command(long_about = commands::audit::LONG_ABOUT)]
    Audit(commands::audit::AuditArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    config::init_tracing(cli.global.verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let global = cli.global;
    let result = runtime.block_on(async {
        match cli.command {
            Command::Server(args) => commands::server::run(&args).await,
            Command::Experiments(command) => commands::experiments::run(&global, command).await,
            Command::Runs(command) => commands::runs::run(&global, command).await,
            Command::Models(command) => commands::models::run(&global, command).await,
            Command::Artifacts(command) => commands::artifacts::run(&global, command).await,
            Command::Train(args) => commands::train::run(&global, args).await,
            Command::Predict(args) => commands::predict::run(&global, args).await,
            Command::Autopilot(args) => commands::autopilot::run(&global, args).await,
            Command::Jobs(command) => commands::jobs::run(&global, command).await,
            Command::Worker(args) => commands::worker::run(args).await,
            Command::Serve(args) => commands::serve::run(&global, args).await,
            Command::Endpoints(command) => commands::endpoints::run(&global, command).await,
            Command::Monitor(command) => commands::monitor::run(&global, command).await,
            Command::Quickstart(args) => commands::quickstart::run(args).await,
            Command::Tokens(command) => commands::tokens::run(&global, command).await,
            Command::Audit(args) => commands::audit::run(&global, args).await,
        }
    });
    // Don't wait for stray background tasks (open HTTP connections and the like).
    runtime.shutdown_background();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            error::report(&error, &global);
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_well_formed() {
        super::Cli::command().debug_assert();
    }
}
