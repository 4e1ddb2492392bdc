//! `smelt monitor mmd`: one multivariate MMD test between two tables, over
//! their shared numeric columns (the per-column report tests one column at
//! a time; this tests the joint distribution).

use std::path::PathBuf;
use std::time::Instant;

use clap::Args;
use smelt_data::{Frame, ReadOptions, Values};
use smelt_monitor::drift::{DEFAULT_PERMUTATIONS, Mmd};

use crate::commands::monitor::read_pair;
use crate::config::GlobalArgs;
use crate::error::{failure, hinted};
use crate::output::print_json;
use crate::shared::compute::{ComputeArg, open_compute};

pub const MMD_ABOUT: &str = "\
Test two tables for a shift in the joint distribution of their numeric
columns: the maximum mean discrepancy (MMD²) with a Gaussian kernel on
columns standardised with the reference's mean and deviation, bandwidth by
the median heuristic, and a permutation p-value. Rows with a missing value
in a tested column are left out (and counted). The pairwise kernel sums run
on a GPU with --compute gpu (or auto, when a hardware GPU is present).

  smelt monitor mmd train.parquet today.parquet --columns age,income --permutations 200";

#[derive(Debug, Args)]
pub struct MmdArgs {
    /// The reference: a table (CSV or Parquet) or a profile.json, whose row
    /// sample is used
    reference: PathBuf,
    /// The current table
    current: PathBuf,
    /// Test these columns [default: every numeric column both tables have]
    #[arg(long, value_delimiter = ',', value_name = "COLUMNS")]
    columns: Vec<String>,
    /// Permutations for the p-value
    #[arg(long, default_value_t = DEFAULT_PERMUTATIONS, value_name = "N")]
    permutations: usize,
    /// Drift when the p-value is below this
    #[arg(long, default_value_t = 0.05, value_name = "P")]
    threshold: f64,
    /// Seed of the permutations (the same seed gives the same p-value)
    #[arg(long, default_value_t = 0)]
    seed: u64,
    #[command(flatten)]
    compute: ComputeArg,
}

pub async fn run(global: &GlobalArgs, args: MmdArgs) -> anyhow::Result<()> {
    if !(0.0..=1.0).contains(&args.threshold) || args.permutations == 0 {
        return Err(failure(
            "--threshold must be between 0 and 1 and --permutations at least 1",
        ));
    }
    let compute = open_compute(args.compute.preference)?;
    let (reference, current) =
        read_pair(&args.reference, &args.current, &ReadOptions::default()).await?;
    let columns = tested_columns(&reference, &current, &args.columns)?;
    let (reference_rows, reference_dropped) = rows(&reference, &columns);
    let (current_rows, current_dropped) = rows(&current, &columns);
    let width = columns.len();
    let test = Mmd {
        threshold: args.threshold,
        permutations: args.permutations,
        seed: args.seed,
        compute: compute.clone(),
    };
    let started = Instant::now();
    let report = tokio::task::spawn_blocking(move || {
        test.compute_rows(&reference_rows, &current_rows, width)
    })
    .await?
    .map_err(|e| failure(format!("cannot run MMD: {e}")))?;
    let seconds = started.elapsed().as_secs_f64();
    let drifted = report.p_value < args.threshold;
    let summary = serde_json::json!({
        "columns": columns,
        "reference_rows": reference.rows() - reference_dropped,
        "current_rows": current.rows() - current_dropped,
        "rows_dropped_for_missing_values": {"reference": reference_dropped, "current": current_dropped},
        "permutations": args.permutations,
        "mmd2": report.mmd2,
        "p_value": report.p_value,
        "sigma": report.sigma,
        "threshold": args.threshold,
        "drifted": drifted,
        "seconds": seconds,
        "compute": compute.description(),
    });
    if global.json {
        print_json(summary)?;
    } else {
        println!(
            "MMD² {:.6} (σ {:.4}), p-value {:.4} over {} permutations: {} ({} columns, {} vs {} rows, {:.3} s on {})",
            report.mmd2,
            report.sigma,
            report.p_value,
            args.permutations,
            if drifted { "drift" } else { "no drift" },
            width,
            summary["reference_rows"],
            summary["current_rows"],
            seconds,
            compute.description()
        );
    }
    Ok(())
}

/// The columns to test: the requested ones (each numeric in both tables), or
/// every numeric column both tables have.
fn tested_columns(
    reference: &Frame,
    current: &Frame,
    requested: &[String],
) -> anyhow::Result<Vec<String>> {
    let numeric = |frame: &Frame, name: &str| {
        matches!(
            frame.column(name).map(|c| &c.values),
            Some(Values::Numeric(_))
        )
    };
    if requested.is_empty() {
        let shared: Vec<String> = reference
            .columns()
            .iter()
            .filter(|c| numeric(reference, &c.name) && numeric(current, &c.name))
            .map(|c| c.name.clone())
            .collect();
        if shared.is_empty() {
            return Err(hinted(
                "the two tables share no numeric column",
                "check the files, or name the columns with --columns",
            ));
        }
        return Ok(shared);
    }
    for name in requested {
        for (side, frame) in [("reference", reference), ("current", current)] {
            if frame.column(name).is_none() {
                return Err(failure(format!(
                    "unknown column '{name}' in the {side} table (it has: {})",
                    frame.names().join(", ")
                )));
            }
            if !numeric(frame, name) {
                return Err(failure(format!(
                    "column '{name}' is not numeric in the {side} table; MMD tests numbers"
                )));
            }
        }
    }
    Ok(requested.to_vec())
}

/// Row-major values of `columns`, leaving out rows with a missing value;
/// returns the rows and how many were left out.
fn rows(frame: &Frame, columns: &[String]) -> (Vec<f64>, usize) {
    let series: Vec<&[f64]> = columns
        .iter()
        .filter_map(|name| match frame.column(name).map(|c| &c.values) {
            Some(Values::Numeric(v)) => Some(v.as_slice()),
            _ => None,
        })
        .collect();
    let mut out = Vec::with_capacity(frame.rows() * columns.len());
    let mut dropped = 0;
    for row in 0..frame.rows() {
        if series.iter().all(|s| s[row].is_finite()) {
            out.extend(series.iter().map(|s| s[row]));
        } else {
            dropped += 1;
        }
    }
    (out, dropped)
}
