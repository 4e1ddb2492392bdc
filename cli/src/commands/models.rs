//! `smelt models …`: registered models, their versions, and aliases.

use clap::Subcommand;
use smelt_tracking::entities::{ModelVersion, RegisteredModel};
use smelt_tracking::store::SearchModels;

use crate::config::{Context, GlobalArgs};
use crate::error::{NotFoundHint, hinted};
use crate::output::{self, print_json, print_section, print_table};

/// The model registry commands.
#[derive(Debug, Subcommand)]
pub enum ModelsCommand {
    /// List registered models
    #[command(visible_alias = "ls")]
    List {
        /// Filter in MLflow's grammar, e.g. "name LIKE 'iris%'"
        #[arg(long)]
        filter: Option<String>,
    },
    /// Show a registered model with its versions, stages and aliases
    Show {
        /// Registered model name
        name: String,
    },
    /// Point aliases (e.g. `champion`) at versions, or remove them
    #[command(subcommand)]
    Alias(AliasCommand),
}

/// The alias commands.
#[derive(Debug, Subcommand)]
pub enum AliasCommand {
    /// Point ALIAS at VERSION (moving it if it points elsewhere)
    Set {
        /// Registered model name
        name: String,
        /// Alias, e.g. champion
        alias: String,
        /// Version number
        #[arg(value_name = "VERSION")]
        model_version: String,
    },
    /// Remove an alias
    #[command(visible_alias = "rm")]
    Delete {
        /// Registered model name
        name: String,
        /// Alias
        alias: String,
    },
}

fn model_hint() -> String {
    "`smelt models list` shows the registered models".to_string()
}

/// Runs a model command.
pub async fn run(global: &GlobalArgs, command: ModelsCommand) -> anyhow::Result<()> {
    let ctx = Context::open(global).await?;
    let store = ctx.store.as_ref();
    match command {
        ModelsCommand::List { filter } => {
            let mut models = Vec::new();
            let mut query = SearchModels {
                filter,
                max_results: Some(1000),
                ..SearchModels::default()
            };
            loop {
                let page = store.search_registered_models(&query).await?;
                models.extend(page.items);
                match page.next_page_token.filter(|token| !token.is_empty()) {
                    Some(token) => query.page_token = Some(token),
                    None => break,
                }
            }
            if ctx.json {
                return print_json(serde_json::to_value(&models)?);
            }
            if models.is_empty() {
                println!("No registered models.");
                return Ok(());
            }
            let mut table = output::table([
                "name",
                "latest version",
                "aliases",
                "updated (UTC)",
                "description",
            ]);
            for model in &models {
                let latest = model
                    .latest_versions
                    .iter()
                    .max_by_key(|v| v.version.parse::<u64>().unwrap_or(0))
                    .map(|v| v.version.clone())
                    .unwrap_or_default();
                let aliases: Vec<String> = model
                    .aliases
                    .iter()
                    .map(|a| format!("{}→v{}", a.alias, a.version))
                    .collect();
                table.add_row([
                    model.name.clone(),
                    latest,
                    aliases.join(", "),
                    output::time(model.last_updated_timestamp),
                    output::truncate(model.description.as_deref().unwrap_or(""), 60),
                ]);
            }
            print_table(&table);
        }
        ModelsCommand::Show { name } => {
            let model = store
                .get_registered_model(&name)
                .await
                .hint_not_found(model_hint)?;
            let versions = versions_of(&ctx, &model).await?;
            if ctx.json {
                return print_json(serde_json::json!({
                    "registered_model": model,
                    "model_versions": versions,
                }));
            }
            print_model(&model, &versions);
        }
        ModelsCommand::Alias(AliasCommand::Set {
            name,
            alias,
            model_version: version,
        }) => {
            store
                .get_registered_model(&name)
                .await
                .hint_not_found(model_hint)?;
            store
                .set_registered_model_alias(&name, &alias, &version)
                .await
                .hint_not_found(|| format!("`smelt models show {name}` lists its versions"))?;
            println!("Alias '{alias}' of model '{name}' now points at version {version}");
        }
        ModelsCommand::Alias(AliasCommand::Delete { name, alias }) => {
            store
                .get_registered_model(&name)
                .await
                .hint_not_found(model_hint)?;
            store
                .delete_registered_model_alias(&name, &alias)
                .await
                .hint_not_found(|| format!("`smelt models show {name}` lists its aliases"))?;
            println!("Removed alias '{alias}' of model '{name}'");
        }
    }
    Ok(())
}

/// Every version of a model, newest first, with aliases filled in from the model.
async fn versions_of(ctx: &Context, model: &RegisteredModel) -> anyhow::Result<Vec<ModelVersion>> {
    let filter = format!("name = {}", quote(&model.name)?);
    let mut query = SearchModels {
        filter: Some(filter),
        max_results: Some(1000),
        ..SearchModels::default()
    };
    let mut versions = Vec::new();
    loop {
        let page = ctx.store.search_model_versions(&query).await?;
        versions.extend(page.items);
        match page.next_page_token.filter(|token| !token.is_empty()) {
            Some(token) => query.page_token = Some(token),
            None => break,
        }
    }
    versions.retain(|v| v.name == model.name);
    for version in &mut versions {
        for alias in &model.aliases {
            if alias.version == version.version && !version.aliases.contains(&alias.alias) {
                version.aliases.push(alias.alias.clone());
            }
        }
        version.aliases.sort();
    }
    versions.sort_by_key(|v| std::cmp::Reverse(v.version.parse::<u64>().unwrap_or(0)));
    Ok(versions)
}

/// A string literal for a filter.
fn quote(text: &str) -> anyhow::Result<String> {
    if !text.contains('\'') {
        Ok(format!("'{text}'"))
    } else if !text.contains('"') {
        Ok(format!("\"{text}\""))
    } else {
        Err(hinted(
            format!("cannot search the versions of '{text}': the name has both kinds of quotes"),
            "rename the model with `mlflow` or the REST API",
        ))
    }
}

fn print_model(model: &RegisteredModel, versions: &[ModelVersion]) {
    let aliases: Vec<String> = model
        .aliases
        .iter()
        .map(|a| format!("{}→v{}", a.alias, a.version))
        .collect();
    let table = output::key_values([
        ("name", model.name.clone()),
        ("description", model.description.clone().unwrap_or_default()),
        ("aliases", aliases.join(", ")),
        ("created (UTC)", output::time(model.creation_timestamp)),
        ("updated (UTC)", output::time(model.last_updated_timestamp)),
    ]);
    print_table(&table);
    if !model.tags.is_empty() {
        let mut tags = output::table(["tag", "value"]);
        for tag in &model.tags {
            tags.add_row([tag.key.clone(), output::truncate(&tag.value, 120)]);
        }
        print_section("Tags", &tags);
    }
    if versions.is_empty() {
        println!();
        println!("No versions yet.");
        return;
    }
    let mut table = output::table([
        "version",
        "aliases",
        "stage",
        "run_id",
        "source",
        "created (UTC)",
    ]);
    for version in versions {
        table.add_row([
            version.version.clone(),
            version.aliases.join(", "),
            version.current_stage.clone(),
            version.run_id.clone().unwrap_or_default(),
            output::truncate(&version.source, 80),
            output::time(version.creation_timestamp),
        ]);
    }
    print_section("Versions", &table);
}
