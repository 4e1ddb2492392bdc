//! `smelt experiments …`: list, show, create, rename, delete, restore.

use clap::Subcommand;
use smelt_tracking::entities::{Experiment, Tag};
use smelt_tracking::store::SearchExperiments;

use super::{View, parse_key_value, resolve_experiment};
use crate::config::{Context, GlobalArgs};
use crate::error::hinted;
use crate::output::{self, print_json, print_table};

/// The experiment commands.
#[derive(Debug, Subcommand)]
pub enum ExperimentsCommand {
    /// List experiments
    #[command(visible_alias = "ls")]
    List {
        /// Which experiments: active, deleted or all
        #[arg(long, value_enum, default_value_t = View::Active)]
        view: View,
        /// Filter in MLflow's grammar, e.g. "name LIKE 'iris%'" or "tags.team = 'ml'"
        #[arg(long)]
        filter: Option<String>,
        /// Sort, e.g. "name ASC" or "creation_time DESC" (repeatable)
        #[arg(long = "order-by", value_name = "CLAUSE")]
        order_by: Vec<String>,
    },
    /// Show one experiment, by id or name
    Show {
        /// Experiment id or name
        #[arg(value_name = "ID_OR_NAME")]
        experiment: String,
    },
    /// Create an experiment and print its id
    Create {
        /// Unique name
        name: String,
        /// Where its runs' artifacts go (default: the store's artifact root)
        #[arg(long, value_name = "URI")]
        artifact_location: Option<String>,
        /// A tag, KEY=VALUE (repeatable)
        #[arg(long = "tag", value_name = "KEY=VALUE", value_parser = parse_key_value)]
        tags: Vec<(String, String)>,
    },
    /// Rename an experiment
    Rename {
        /// Experiment id or current name
        #[arg(value_name = "ID_OR_NAME")]
        experiment: String,
        /// New name
        new_name: String,
    },
    /// Move an experiment and its runs to the trash
    Delete {
        /// Experiment id or name
        #[arg(value_name = "ID_OR_NAME")]
        experiment: String,
    },
    /// Bring an experiment and its runs back from the trash
    Restore {
        /// Experiment id or name
        #[arg(value_name = "ID_OR_NAME")]
        experiment: String,
    },
}

/// Runs an experiment command.
pub async fn run(global: &GlobalArgs, command: ExperimentsCommand) -> anyhow::Result<()> {
    let ctx = Context::open(global).await?;
    let store = ctx.store.as_ref();
    match command {
        ExperimentsCommand::List {
            view,
            filter,
            order_by,
        } => {
            let mut experiments = Vec::new();
            let mut query = SearchExperiments {
                filter,
                view_type: view.view_type(),
                max_results: Some(1000),
                order_by,
                page_token: None,
            };
            loop {
                let page = store.search_experiments(&query).await?;
                experiments.extend(page.items);
                match page.next_page_token {
                    Some(token) if !token.is_empty() => query.page_token = Some(token),
                    _ => break,
                }
            }
            if ctx.json {
                return print_json(serde_json::to_value(&experiments)?);
            }
            if experiments.is_empty() {
                println!("No experiments. Create one with `smelt experiments create NAME`.");
                return Ok(());
            }
            let show_stage = view != View::Active;
            let mut header = vec!["id", "name", "artifact location", "created (UTC)"];
            if show_stage {
                header.push("stage");
            }
            let mut table = output::table(header);
            for experiment in &experiments {
                let mut row = vec![
                    experiment.experiment_id.clone(),
                    experiment.name.clone(),
                    experiment.artifact_location.clone(),
                    output::time(experiment.creation_time),
                ];
                if show_stage {
                    row.push(experiment.lifecycle_stage.clone());
                }
                table.add_row(row);
            }
            print_table(&table);
        }
        ExperimentsCommand::Show { experiment } => {
            let experiment = resolve_experiment(store, &experiment).await?;
            if ctx.json {
                return print_json(serde_json::to_value(&experiment)?);
            }
            print_experiment(&experiment);
        }
        ExperimentsCommand::Create {
            name,
            artifact_location,
            tags,
        } => {
            let tags: Vec<Tag> = tags.into_iter().map(|(k, v)| Tag::new(k, v)).collect();
            let id = store
                .create_experiment(&name, artifact_location.as_deref(), &tags)
                .await
                .map_err(|e| {
                    if e.code == smelt_tracking::ErrorCode::ResourceAlreadyExists {
                        hinted(
                            e.message,
                            format!("`smelt experiments show '{name}'` shows it"),
                        )
                    } else {
                        e.into()
                    }
                })?;
            if ctx.json {
                let experiment = store.get_experiment(&id).await?;
                return print_json(serde_json::to_value(&experiment)?);
            }
            println!("Created experiment '{name}' with id {id}");
        }
        ExperimentsCommand::Rename {
            experiment,
            new_name,
        } => {
            let found = resolve_experiment(store, &experiment).await?;
            store
                .rename_experiment(&found.experiment_id, &new_name)
                .await?;
            println!(
                "Renamed experiment {} from '{}' to '{new_name}'",
                found.experiment_id, found.name
            );
        }
        ExperimentsCommand::Delete { experiment } => {
            let found = resolve_experiment(store, &experiment).await?;
            store.delete_experiment(&found.experiment_id).await?;
            println!(
                "Deleted experiment {} ('{}'); `smelt experiments restore {}` brings it back",
                found.experiment_id, found.name, found.experiment_id
            );
        }
        ExperimentsCommand::Restore { experiment } => {
            let found = resolve_experiment(store, &experiment).await?;
            store.restore_experiment(&found.experiment_id).await?;
            println!(
                "Restored experiment {} ('{}')",
                found.experiment_id, found.name
            );
        }
    }
    Ok(())
}

fn print_experiment(experiment: &Experiment) {
    let table = output::key_values([
        ("id", experiment.experiment_id.clone()),
        ("name", experiment.name.clone()),
        ("artifact location", experiment.artifact_location.clone()),
        ("stage", experiment.lifecycle_stage.clone()),
        ("created (UTC)", output::time(experiment.creation_time)),
        ("updated (UTC)", output::time(experiment.last_update_time)),
    ]);
    print_table(&table);
    if !experiment.tags.is_empty() {
        let mut tags = output::table(["tag", "value"]);
        for tag in &experiment.tags {
            tags.add_row([tag.key.clone(), output::truncate(&tag.value, 200)]);
        }
        output::print_section("Tags", &tags);
    }
}
