//! The model families Smelt trains: one registry that the job spec's
//! `[model] kind` ([`crate::spec::ModelSpec`]), `smelt train --help`
//! ([`help`]), the autopilot's learners (each names the families it ships)
//! and the table in `examples/README.md` ([`markdown_table`], held to the
//! file by a test) all derive from.
//!
//! One file per family holds its [`Family`]: kind, synonyms, library, the
//! tasks it can do, its hyperparameters as the docs list them, and how its
//! `[model]` table parses. Adding a family in a library the trainer already
//! fits (Burn, linfa, perpetual) is that file plus one line in [`FAMILIES`]
//! (and, for a new estimator, its model code in `smelt-models`); training
//! dispatches on the library ([`ModelSpec`]'s variants), not on the family.

mod cnn;
mod decision_tree;
mod elastic_net;
mod gaussian_nb;
mod gbdt;
mod lasso;
mod linear_regression;
mod logistic_regression;
mod mlp;
mod random_forest;
mod ridge;
mod svm;

use std::fmt::Write;

use serde::Deserialize;
use smelt_models::gbdt::GbdtSpec;
use smelt_models::linfa_models::LinfaSpec;
use smelt_models::nets::NetSpec;

use crate::spec::{ModelSpec, TaskKind};

/// Every family, in the order help and docs list them.
pub const FAMILIES: &[&Family] = &[
    &mlp::FAMILY,
    &cnn::FAMILY,
    &logistic_regression::FAMILY,
    &decision_tree::FAMILY,
    &random_forest::FAMILY,
    &gbdt::FAMILY,
    &gaussian_nb::FAMILY,
    &svm::FAMILY,
    &linear_regression::FAMILY,
    &ridge::FAMILY,
    &lasso::FAMILY,
    &elastic_net::FAMILY,
];

/// One model family.
#[derive(Debug)]
pub struct Family {
    /// The `kind` of a job spec's `[model]` table and of `--model`.
    pub kind: &'static str,
    /// Other names accepted for `kind` (the one saved is always `kind`).
    pub synonyms: &'static [&'static str],
    pub library: Library,
    pub tasks: Tasks,
    /// The hyperparameters with their defaults, as the docs list them.
    pub hyperparameters: &'static str,
    /// Parses a `[model]` table whose `kind` is this family's.
    pub parse: fn(toml::Table) -> Result<ModelSpec, toml::de::Error>,
}

/// Which library fits a family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Library {
    Burn,
    Linfa,
    Perpetual,
}

impl Library {
    /// The library's name as help and docs print it.
    pub fn name(self) -> &'static str {
        match self {
            Library::Burn => "Burn",
            Library::Linfa => "linfa",
            Library::Perpetual => "perpetual",
        }
    }
}

/// What a family can predict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tasks {
    Classification,
    Regression,
    Both,
}

impl Tasks {
    /// Whether a family with these tasks can be trained for `task`.
    pub fn supports(self, task: TaskKind) -> bool {
        match self {
            Tasks::Both => true,
            Tasks::Classification => task == TaskKind::Classification,
            Tasks::Regression => task == TaskKind::Regression,
        }
    }

    /// The tasks in words, as help and docs print them.
    pub fn describe(self) -> &'static str {
        match self {
            Tasks::Classification => "classification",
            Tasks::Regression => "regression",
            Tasks::Both => "classification, regression",
        }
    }
}

/// The family called `name` (its kind or a synonym).
pub fn find(name: &str) -> Option<&'static Family> {
    FAMILIES
        .iter()
        .copied()
        .find(|f| f.kind == name || f.synonyms.contains(&name))
}

/// Every family's kind.
pub fn kinds() -> impl Iterator<Item = &'static str> {
    FAMILIES.iter().map(|f| f.kind)
}

/// The model kinds as `smelt train --help` lists them.
pub fn help() -> String {
    let width = FAMILIES.iter().map(|f| f.kind.len()).max().unwrap_or(0);
    let mut text =
        String::from("Model kinds (--model KIND; examples/README.md lists their hyperparameters):");
    for family in FAMILIES {
        // Writing into a String cannot fail.
        let _ = write!(
            text,
            "\n  {:width$}  {:9}  {}",
            family.kind,
            family.library.name(),
            family.tasks.describe()
        );
        if !family.synonyms.is_empty() {
            let _ = write!(text, " (also: {})", family.synonyms.join(", "));
        }
    }
    text
}

/// The `[model]` table of `examples/README.md`, between its
/// `<!-- families -->` markers.
pub fn markdown_table() -> String {
    let mut table =
        String::from("| kind | library | tasks | hyperparameters (default) |\n|---|---|---|---|\n");
    for family in FAMILIES {
        let _ = write!(table, "| `{}`", family.kind);
        for synonym in family.synonyms {
            let _ = write!(table, " (or `{synonym}`)");
        }
        let _ = writeln!(
            table,
            " | {} | {} | {} |",
            family.library.name(),
            family.tasks.describe(),
            family.hyperparameters
        );
    }
    table
}

/// A Burn network's `[model]` table.
fn net(table: toml::Table) -> Result<ModelSpec, toml::de::Error> {
    NetSpec::deserialize(toml::Value::Table(table)).map(ModelSpec::Net)
}

/// A linfa estimator's `[model]` table.
fn linfa(table: toml::Table) -> Result<ModelSpec, toml::de::Error> {
    LinfaSpec::deserialize(toml::Value::Table(table)).map(ModelSpec::Linfa)
}

/// Boosted trees: the table less `kind`, which `GbdtSpec` (also what
/// `model.json` records) does not carry.
fn boosted(mut table: toml::Table) -> Result<ModelSpec, toml::de::Error> {
    table.remove("kind");
    GbdtSpec::deserialize(toml::Value::Table(table)).map(ModelSpec::Gbdt)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_synonyms_are_unique_and_parse_with_defaults() {
        let mut names: Vec<&str> = FAMILIES
            .iter()
            .flat_map(|f| std::iter::once(f.kind).chain(f.synonyms.iter().copied()))
            .collect();
        let count = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), count, "a name is registered twice");
        for family in FAMILIES {
            let spec = ModelSpec::from_kind(family.kind).unwrap();
            assert_eq!(spec.name(), family.kind);
            assert!(!family.hyperparameters.is_empty());
        }
    }

    #[test]
    fn logistic_is_logistic_regression() {
        let spec = ModelSpec::from_kind("logistic").unwrap();
        assert_eq!(spec.name(), "logistic_regression");
        assert_eq!(spec, ModelSpec::from_kind("logistic_regression").unwrap());
    }

    #[test]
    fn help_lists_every_family() {
        let help = help();
        for family in FAMILIES {
            assert!(help.contains(family.kind), "{}: {help}", family.kind);
        }
        assert!(help.contains("(also: logistic)"), "{help}");
    }

    /// The docs' table is this registry's; regenerate it with
    /// `markdown_table` when a family changes.
    #[test]
    fn the_readme_table_is_the_registry() {
        let readme = include_str!("../../../examples/README.md");
        let generated = markdown_table();
        assert!(
            readme.contains(&format!(
                "<!-- families: generated by smelt_trainer::families::markdown_table -->\n{generated}<!-- /families -->"
            )),
            "examples/README.md's [model] table differs from the registry; it should read:\n{generated}"
        );
    }
}
