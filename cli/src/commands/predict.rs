//! `smelt predict`: load a model (registry reference, run artifact or local
//! folder) through the `Predictor` trait and predict a CSV or Parquet file.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;
use smelt_data::{ReadOptions, read_table};
use smelt_models::{Predictions, load_model};
use smelt_tracking::artifacts::ModelUri;

use crate::config::{Context, GlobalArgs};
use crate::error::{failure, hinted};
use crate::output::print_json;
use crate::shared::artifacts::{DestinationArgs, fetch, parse_uri};

pub const LONG_ABOUT: &str = "\
Predict with a trained model. The model is a registry reference
(models:/NAME@ALIAS, models:/NAME/VERSION), a run artifact (runs:/RUN_ID/model)
or a local model folder. The input is a CSV or Parquet file holding the model's
feature columns (extra columns are ignored).

Classifiers write the predicted label and one probability column per class;
regressors write the predicted value. Output is CSV (to --output, else stdout),
or JSON records with --json.

  smelt predict --model models:/wine@champion --input datasets/wine.test.csv --output preds.csv";

#[derive(Debug, Args)]
pub struct PredictArgs {
    /// models:/NAME@ALIAS, models:/NAME/VERSION, runs:/RUN_ID/model, or a model folder
    #[arg(long, short)]
    model: String,
    /// CSV or Parquet file with the feature columns
    #[arg(long, short)]
    input: PathBuf,
    /// Write predictions here (CSV) instead of stdout
    #[arg(long, short)]
    output: Option<PathBuf>,
    #[command(flatten)]
    destination: DestinationArgs,
}

pub async fn run(global: &GlobalArgs, args: PredictArgs) -> anyhow::Result<()> {
    let download_dir;
    let folder = match parse_uri(&args.model)? {
        // A folder on this machine is loaded where it is.
        ModelUri::Folder(path) if path.is_dir() => path,
        ModelUri::Folder(_) => {
            return Err(hinted(
                format!("'{}' is neither a model folder nor a model URI", args.model),
                "use models:/NAME@ALIAS, models:/NAME/VERSION, runs:/RUN_ID/model or a folder",
            ));
        }
        _ => {
            let ctx = Context::open(global).await?;
            download_dir = tempfile::tempdir()?;
            let target = download_dir.path().join("model");
            fetch(&ctx, &args.destination.resolve(), &args.model, &target).await?
        }
    };
    let model = tokio::task::spawn_blocking(move || load_model(&folder))
        .await
        .map_err(|e| failure(format!("loading the model crashed: {e}")))?
        .map_err(|e| {
            hinted(
                e.to_string(),
                "is this the model folder of a Smelt run (it has an MLmodel file)?",
            )
        })?;
    let input = args.input.clone();
    let frame = read_table(&input, &ReadOptions::default())?;
    let predictions = model
        .predict(&frame)
        .map_err(|e| failure(format!("{}: {e}", args.input.display())))?;

    if global.json {
        return print_json(records(&predictions));
    }
    let mut out: Box<dyn Write> = match &args.output {
        Some(path) => Box::new(
            std::fs::File::create(path)
                .map_err(|e| failure(format!("cannot write {}: {e}", path.display())))?,
        ),
        None => Box::new(std::io::stdout().lock()),
    };
    write_csv(&mut out, &predictions)?;
    out.flush()?;
    if let Some(path) = &args.output {
        eprintln!(
            "wrote {} predictions to {}",
            predictions.len(),
            path.display()
        );
    }
    Ok(())
}

fn write_csv(out: &mut dyn Write, predictions: &Predictions) -> anyhow::Result<()> {
    let mut writer = csv::Writer::from_writer(out);
    match predictions {
        Predictions::Classes {
            classes,
            labels,
            probabilities,
        } => {
            let mut header = vec!["prediction".to_string()];
            header.extend(classes.iter().map(|c| format!("probability_{c}")));
            writer.write_record(&header)?;
            for (label, p) in labels.iter().zip(probabilities) {
                let mut row = vec![label.clone()];
                row.extend(p.iter().map(|x| format!("{x:.6}")));
                writer.write_record(&row)?;
            }
        }
        Predictions::Values(values) => {
            writer.write_record(["prediction"])?;
            for v in values {
                writer.write_record([v.to_string()])?;
            }
        }
    }
    writer.flush()?;
    Ok(())
}

fn records(predictions: &Predictions) -> serde_json::Value {
    match predictions {
        Predictions::Classes {
            classes,
            labels,
            probabilities,
        } => labels
            .iter()
            .zip(probabilities)
            .map(|(label, p)| {
                let probs: serde_json::Map<String, serde_json::Value> = classes
                    .iter()
                    .zip(p)
                    .map(|(c, x)| (c.clone(), serde_json::json!(x)))
                    .collect();
                serde_json::json!({ "prediction": label, "probabilities": probs })
            })
            .collect(),
        Predictions::Values(values) => values
            .iter()
            .map(|v| serde_json::json!({ "prediction": v }))
            .collect(),
    }
}
