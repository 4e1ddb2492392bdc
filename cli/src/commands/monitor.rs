//! `smelt monitor …`: drift between two tables, without a server.

use std::path::PathBuf;

use clap::Subcommand;
use smelt_data::{ReadOptions, read_table};
use smelt_monitor::drift::{DEFAULT_DRIFT_SHARE, TestKind, TestPlan};
use smelt_monitor::{DriftReport, Profile, ProfileOptions, report_html};

use crate::config::GlobalArgs;
use crate::error::{failure, hinted};
use crate::output::{self, print_json, print_table};

pub const COMPARE_ABOUT: &str = "\
Compare a current table with a reference table, column by column, and say
which columns drifted. Each column gets Evidently's default test for its kind
and the reference's size (KS or chi-square up to 1,000 reference rows,
normed Wasserstein or Jensen-Shannon above), unless --test overrides it; the
dataset drifted when at least --drift-share of the tested columns did.

  smelt monitor compare train.csv live.csv --html report.html --json report.json

The HTML page holds the verdict, a table of statistic, p-value, threshold and
verdict per column (most severe first) and reference-vs-current histograms.
Columns that cannot be tested (missing on one side, all missing, constant,
too few values) are listed as skipped with the reason.";

#[derive(Debug, Subcommand)]
pub enum MonitorCommand {
    /// Compare two CSV or Parquet tables for drift (no server needed)
    #[command(long_about = COMPARE_ABOUT)]
    Compare {
        /// The reference: a table (training data, say) or a profile.json
        /// (a model's, or `smelt monitor profile`'s), whose row sample is used
        reference: PathBuf,
        /// The current table (recent traffic, say)
        current: PathBuf,
        /// Write the HTML report here
        #[arg(long, value_name = "FILE")]
        html: Option<PathBuf>,
        /// Write the JSON report here (`--json FILE` also works for this
        /// command; a bare `--json` prints the report as JSON)
        #[arg(long, value_name = "FILE")]
        json_report: Option<PathBuf>,
        /// Use this test for a column: COLUMN=ks|chisquare|z|wasserstein|jensenshannon|psi|hellinger|mmd
        #[arg(long = "test", value_name = "COLUMN=TEST", value_parser = crate::commands::parse_key_value)]
        tests: Vec<(String, String)>,
        /// Share of drifted columns at which the dataset counts as drifted
        #[arg(long, default_value_t = DEFAULT_DRIFT_SHARE, value_name = "SHARE")]
        drift_share: f64,
        /// Read these columns as categories even if they look numeric
        #[arg(long, value_delimiter = ',', value_name = "COLUMNS")]
        categorical: Vec<String>,
        /// Exit with status 1 when the dataset drifted (for CI checks)
        #[arg(long)]
        fail_on_drift: bool,
    },
    /// Build a baseline profile (profile.json) of a CSV or Parquet table
    Profile {
        /// The table
        data: PathBuf,
        /// Write the profile here instead of stdout
        #[arg(long, short, value_name = "FILE")]
        output: Option<PathBuf>,
        /// Read these columns as categories even if they look numeric
        #[arg(long, value_delimiter = ',', value_name = "COLUMNS")]
        categorical: Vec<String>,
    },
}

pub async fn run(global: &GlobalArgs, command: MonitorCommand) -> anyhow::Result<()> {
    match command {
        MonitorCommand::Compare {
            reference,
            current,
            html,
            json_report,
            tests,
            drift_share,
            categorical,
            fail_on_drift,
        } => {
            if !(0.0..=1.0).contains(&drift_share) {
                return Err(failure(format!(
                    "--drift-share must be between 0 and 1, got {drift_share}"
                )));
            }
            let mut plan = TestPlan::default();
            for (column, test) in tests {
                plan = plan.with_override(column, test_kind(&test)?);
            }
            let options = ReadOptions { categorical };
            let reference_frame = read_reference(&reference, &options)?;
            let current_frame = read_table(&current, &options)?;
            let report = tokio::task::spawn_blocking(move || {
                DriftReport::compare(&reference_frame, &current_frame, &plan, drift_share)
            })
            .await?;
            if let Some(path) = &html {
                let title = format!("Drift: {} vs {}", current.display(), reference.display());
                write(path, &report_html::render(&report, &title))?;
            }
            if let Some(path) = &json_report {
                write(path, &report.to_json())?;
            }
            if global.json {
                print_json(serde_json::to_value(&report)?)?;
            } else {
                print_report(&report);
            }
            if fail_on_drift && report.dataset_drifted {
                return Err(failure(format!(
                    "dataset drift: {} of {} tested columns drifted",
                    report.drifted, report.tested
                )));
            }
            Ok(())
        }
        MonitorCommand::Profile {
            data,
            output,
            categorical,
        } => {
            let frame = read_table(&data, &ReadOptions { categorical })?;
            let profile = Profile::from_frame(&frame, &ProfileOptions::default());
            match output {
                Some(path) => {
                    write(&path, &profile.to_json())?;
                    eprintln!(
                        "wrote the profile of {} rows to {}",
                        frame.rows(),
                        path.display()
                    );
                }
                None => println!("{}", profile.to_json()),
            }
            Ok(())
        }
    }
}

/// `smelt monitor compare … --json FILE` writes the JSON report to FILE, as
/// Evidently-style tools spell it, while `--json` alone stays the global
/// "print JSON" flag: the file form is read as `--json-report FILE`.
pub fn rewrite_json_file_flag(args: Vec<std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    let is_compare = args
        .windows(2)
        .any(|pair| pair[0] == "monitor" && pair[1] == "compare");
    if !is_compare {
        return args;
    }
    let mut out = args.clone();
    for i in 0..args.len().saturating_sub(1) {
        let takes_value = args[i + 1]
            .to_str()
            .is_some_and(|next| !next.starts_with('-'));
        // Only a third path after the two tables can be the report file.
        if args[i] == "--json" && takes_value && positional_count(&args[..i]) >= 4 {
            out[i] = "--json-report".into();
        }
    }
    out
}

/// Arguments before `--json` that are not flags or flag values: `smelt`,
/// `monitor`, `compare`, then the tables.
fn positional_count(args: &[std::ffi::OsString]) -> usize {
    let mut count = 0;
    let mut skip_value = false;
    for arg in args {
        let text = arg.to_string_lossy();
        if skip_value {
            skip_value = false;
        } else if text.starts_with("--") {
            skip_value = !text.contains('=') && VALUE_FLAGS.contains(&text.as_ref());
        } else if !text.starts_with('-') || text == "-" {
            count += 1;
        }
    }
    count
}

const VALUE_FLAGS: &[&str] = &[
    "--html",
    "--json-report",
    "--test",
    "--drift-share",
    "--categorical",
    "--tracking-uri",
];

/// A table, or the reservoir sample of a profile (`.json`).
fn read_reference(
    path: &std::path::Path,
    options: &ReadOptions,
) -> anyhow::Result<smelt_data::Frame> {
    if path.extension().is_none_or(|e| e != "json") {
        return Ok(read_table(path, options)?);
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| failure(format!("cannot read {}: {e}", path.display())))?;
    let profile =
        Profile::from_json(&text).map_err(|e| failure(format!("{}: {e}", path.display())))?;
    let sample = profile.sample.ok_or_else(|| {
        hinted(
            format!("{} has no row sample to compare against", path.display()),
            "profiles written by this smelt have one; rebuild it with `smelt monitor profile`",
        )
    })?;
    sample
        .to_frame()
        .map_err(|e| failure(format!("{}: {e}", path.display())))
}

fn test_kind(name: &str) -> anyhow::Result<TestKind> {
    Ok(match name.trim().to_ascii_lowercase().as_str() {
        "ks" => TestKind::Ks,
        "chisquare" | "chi2" => TestKind::ChiSquare,
        "z" | "ztest" => TestKind::ZTest,
        "wasserstein" | "wasserstein_normed" => TestKind::WassersteinNormed,
        "jensenshannon" | "js" => TestKind::JensenShannon,
        "psi" => TestKind::Psi,
        "hellinger" => TestKind::Hellinger,
        "mmd" => TestKind::Mmd,
        other => {
            return Err(hinted(
                format!("unknown drift test '{other}'"),
                "use ks, chisquare, z, wasserstein, jensenshannon, psi, hellinger or mmd",
            ));
        }
    })
}

fn write(path: &std::path::Path, text: &str) -> anyhow::Result<()> {
    std::fs::write(path, text).map_err(|e| failure(format!("cannot write {}: {e}", path.display())))
}

fn print_report(report: &DriftReport) {
    let mut table = output::table([
        "column",
        "test",
        "statistic",
        "p-value",
        "threshold",
        "verdict",
    ]);
    let number = |x: Option<f64>| x.map_or_else(|| "-".to_string(), |x| format!("{x:.4}"));
    for column in &report.columns {
        table.add_row(vec![
            column.column.clone(),
            column.test.clone().unwrap_or_else(|| "-".into()),
            number(column.statistic),
            number(column.p_value),
            number(column.threshold),
            match &column.reason {
                Some(reason) => format!("skipped: {reason}"),
                None => column.verdict.clone(),
            },
        ]);
    }
    print_table(&table);
    println!(
        "{}: {} of {} tested columns drifted ({:.0}%, threshold {:.0}%)",
        if report.dataset_drifted {
            "dataset drift"
        } else {
            "no dataset drift"
        },
        report.drifted,
        report.tested,
        report.drifted_share * 100.0,
        report.drift_share * 100.0
    );
}

#[cfg(test)]
mod tests {
    use super::rewrite_json_file_flag;

    fn rewrite(args: &[&str]) -> Vec<String> {
        rewrite_json_file_flag(args.iter().map(Into::into).collect())
            .into_iter()
            .map(|a| a.into_string().unwrap())
            .collect()
    }

    #[test]
    fn json_with_a_file_after_the_tables_is_the_report_file() {
        assert_eq!(
            rewrite(&[
                "smelt", "monitor", "compare", "a.csv", "b.csv", "--json", "r.json"
            ]),
            [
                "smelt",
                "monitor",
                "compare",
                "a.csv",
                "b.csv",
                "--json-report",
                "r.json"
            ]
        );
        assert_eq!(
            rewrite(&[
                "smelt", "monitor", "compare", "a.csv", "b.csv", "--html", "x", "--json", "r.json"
            ])[7],
            "--json-report"
        );
        // A bare --json, or --json before the tables, keeps its global meaning.
        assert_eq!(
            rewrite(&["smelt", "monitor", "compare", "a.csv", "b.csv", "--json"])[5],
            "--json"
        );
        assert_eq!(
            rewrite(&["smelt", "--json", "monitor", "compare", "a.csv", "b.csv"])[1],
            "--json"
        );
        assert_eq!(
            rewrite(&["smelt", "runs", "show", "--json", "abc"])[3],
            "--json"
        );
    }
}
