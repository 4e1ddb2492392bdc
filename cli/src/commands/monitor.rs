//! `smelt monitor …`: drift between two tables, without a server.

use std::path::PathBuf;

use clap::Subcommand;
use smelt_data::{ReadOptions, is_parquet, parquet_column_names, read_parquet_columns, read_table};
use smelt_monitor::drift::{DEFAULT_DRIFT_SHARE, TestKind, TestPlan};
use smelt_monitor::{DriftReport, Profile, ProfileOptions, report_html};

use smelt_api::Empty;
use smelt_api::monitors::{
    AlertSpec, MONITORS_PATH, MonitorEntry, MonitorList, MonitorReports, MonitorResponse,
    MonitorSpec, MonitorStatus, MonitorWindows, WindowSize, WindowSummary, monitor_path,
    monitor_reports_path, monitor_run_path,
};

use crate::config::GlobalArgs;
use crate::error::{failure, hinted};
use crate::output::{self, print_json, print_table};
use crate::remote::{ServerArg, call};
use crate::shared::compute::{ComputeArg, open_compute};

pub const COMPARE_ABOUT: &str = "\
Compare a current table with a reference table, column by column, and say
which columns drifted. Each column gets Evidently's default test for its kind
and the reference's size (KS or chi-square up to 1,000 reference rows,
normed Wasserstein or Jensen-Shannon above), unless --test overrides it; the
dataset drifted when at least --drift-share of the tested columns did.

  smelt monitor compare train.csv live.csv --html report.html --json-report report.json

--json-report writes the report to a file; the global --json prints it to
stdout instead of the table (both may be given).

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
        /// Write the JSON report here (the global --json prints it to stdout instead)
        #[arg(long = "json-report", value_name = "FILE")]
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
        #[command(flatten)]
        compute: ComputeArg,
    },
    /// Attach a monitor to an endpoint on a smelt server
    #[command(long_about = CREATE_ABOUT)]
    Create {
        /// The monitor's name
        name: String,
        /// The endpoint whose captured traffic it reads (capture must be on)
        #[arg(long)]
        endpoint: String,
        /// What traffic is compared with: a model reference (its profile.json) or a profile.json path
        #[arg(long, value_name = "MODEL|PROFILE")]
        reference: String,
        /// Close a window every N rows
        #[arg(long, value_name = "N", conflicts_with = "window_minutes")]
        window_rows: Option<usize>,
        /// Or: windows of M clock minutes
        #[arg(long, value_name = "M")]
        window_minutes: Option<u64>,
        /// Read new traffic every S seconds
        #[arg(long, default_value_t = 60, value_name = "S")]
        every_seconds: u64,
        /// Share of drifted columns at which a window drifted
        #[arg(long, default_value_t = DEFAULT_DRIFT_SHARE, value_name = "SHARE")]
        drift_share: f64,
        /// POST an alert here (JSON) when a window drifts; retried with back-off
        #[arg(long, value_name = "URL")]
        webhook: Option<String>,
        /// Use this test for a column: COLUMN=ks|chisquare|z|wasserstein|jensenshannon|psi|hellinger|mmd
        #[arg(long = "test", value_name = "COLUMN=TEST", value_parser = crate::commands::parse_key_value)]
        tests: Vec<(String, String)>,
        #[command(flatten)]
        server: ServerArg,
    },
    /// List the server's monitors and their latest windows
    #[command(visible_alias = "ls")]
    List {
        #[command(flatten)]
        server: ServerArg,
    },
    /// One monitor's status and window history
    Status {
        name: String,
        #[command(flatten)]
        server: ServerArg,
    },
    /// Read new traffic now instead of at the next interval
    Run {
        name: String,
        #[command(flatten)]
        server: ServerArg,
    },
    /// Download a window's report (HTML and/or JSON) [default: the latest window]
    Report {
        name: String,
        /// The window number
        #[arg(long)]
        window: Option<u64>,
        /// Write the HTML report here
        #[arg(long, value_name = "FILE")]
        html: Option<PathBuf>,
        /// Write the JSON report here
        #[arg(long = "json-report", value_name = "FILE")]
        json_report: Option<PathBuf>,
        #[command(flatten)]
        server: ServerArg,
    },
    /// Delete a monitor (its run and reports stay)
    Delete {
        name: String,
        #[command(flatten)]
        server: ServerArg,
    },
    /// Test two tables for a joint shift of their numeric columns (multivariate MMD)
    #[command(long_about = crate::commands::monitor_mmd::MMD_ABOUT)]
    Mmd(crate::commands::monitor_mmd::MmdArgs),
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

pub const CREATE_ABOUT: &str = "\
Attach a monitor to an endpoint of a smelt server. The endpoint must capture
traffic (`smelt endpoints create … --capture-percent P`). Every --every-seconds
the monitor reads new captured requests, cuts them into windows (by rows or by
clock minutes), compares each window's inputs and predictions with the
reference profile (a model's profile.json, saved at training), and:

  - logs the window to the run `monitor-NAME` in the experiment smelt-monitors
    (metrics dataset_drift, drifted_share, severity.COLUMN, drifted.COLUMN by
    window; reports/window-NNNNN.html and .json as artifacts);
  - sets the gauges smelt_monitor_* on the server's /metrics;
  - when the window drifted, logs a warning and POSTs to --webhook.

  smelt monitor create wine-live --endpoint wine --reference models:/wine@champion \\
      --window-rows 500 --webhook https://hooks.example/drift --server http://127.0.0.1:5000";

/// A call to the server's monitors API at `path` (`smelt_api::monitors`'
/// paths), in its types.
async fn monitors_api<R: serde::de::DeserializeOwned>(
    client: &reqwest::Client,
    method: reqwest::Method,
    base: &str,
    path: &str,
    body: Option<&MonitorSpec>,
) -> anyhow::Result<R> {
    let url = format!("{base}{path}");
    call(
        client,
        method,
        &url,
        body,
        "`smelt monitor list` shows the server's monitors",
    )
    .await
}

pub async fn run(global: &GlobalArgs, command: MonitorCommand) -> anyhow::Result<()> {
    let client = crate::remote::client()?;
    match command {
        MonitorCommand::Create {
            name,
            endpoint,
            reference,
            window_rows,
            window_minutes,
            every_seconds,
            drift_share,
            webhook,
            tests,
            server,
        } => {
            for (_, test) in &tests {
                test_kind(test)?;
            }
            let tests: std::collections::BTreeMap<String, String> = tests.into_iter().collect();
            let window = match (window_rows, window_minutes) {
                (_, Some(minutes)) => WindowSize::Minutes(minutes),
                (Some(rows), None) => WindowSize::Rows(rows),
                (None, None) => WindowSize::Rows(1000),
            };
            // A profile path is sent absolute: the server reads it.
            let reference = match std::path::Path::new(&reference) {
                path if path.is_file() => std::path::absolute(path)?.display().to_string(),
                _ => reference,
            };
            let body = MonitorSpec {
                name: name.clone(),
                endpoint: endpoint.clone(),
                reference,
                window,
                drift_share,
                every_seconds,
                alerts: AlertSpec {
                    webhook,
                    ..AlertSpec::default()
                },
                tests,
            };
            let base = server.url(global)?;
            let answer: MonitorResponse = monitors_api(
                &client,
                reqwest::Method::POST,
                &base,
                MONITORS_PATH,
                Some(&body),
            )
            .await?;
            if global.json {
                return print_json(serde_json::to_value(&answer)?);
            }
            println!(
                "monitor {name} watches endpoint {endpoint} against {}",
                answer.monitor.reference
            );
            Ok(())
        }
        MonitorCommand::List { server } => {
            let base = server.url(global)?;
            let answer: MonitorList =
                monitors_api(&client, reqwest::Method::GET, &base, MONITORS_PATH, None).await?;
            if global.json {
                return print_json(serde_json::to_value(&answer)?);
            }
            let mut table = output::table([
                "monitor",
                "endpoint",
                "windows",
                "last window",
                "drifted share",
                "verdict",
            ]);
            for item in &answer.monitors {
                let last = item.status.last_window.as_ref();
                table.add_row(vec![
                    item.monitor.name.clone(),
                    item.monitor.endpoint.clone(),
                    item.status.windows.to_string(),
                    last.map_or("-".into(), |w| w.end.clone()),
                    last.map_or("-".into(), |w| format!("{:.0}%", w.drifted_share * 100.0)),
                    last.map_or("-".into(), verdict),
                ]);
            }
            print_table(&table);
            Ok(())
        }
        MonitorCommand::Status { name, server } => {
            let base = server.url(global)?;
            let shown: MonitorEntry = monitors_api(
                &client,
                reqwest::Method::GET,
                &base,
                &monitor_path(&name),
                None,
            )
            .await?;
            let history: MonitorReports = monitors_api(
                &client,
                reqwest::Method::GET,
                &base,
                &monitor_reports_path(&name),
                None,
            )
            .await?;
            if global.json {
                /// What `status --json` prints: the monitor, its status and
                /// its window history in one object.
                #[derive(serde::Serialize)]
                struct Shown<'a> {
                    monitor: &'a MonitorSpec,
                    status: &'a MonitorStatus,
                    windows: &'a [WindowSummary],
                }
                return print_json(serde_json::to_value(Shown {
                    monitor: &shown.monitor,
                    status: &shown.status,
                    windows: &history.windows,
                })?);
            }
            println!(
                "monitor {name}: endpoint {}, reference {}, {} window(s), {} row(s) waiting",
                shown.monitor.endpoint,
                shown.monitor.reference,
                shown.status.windows,
                shown.status.pending_rows,
            );
            print_windows(&history.windows);
            Ok(())
        }
        MonitorCommand::Run { name, server } => {
            let base = server.url(global)?;
            let answer: MonitorWindows = monitors_api(
                &client,
                reqwest::Method::POST,
                &base,
                &monitor_run_path(&name),
                None,
            )
            .await?;
            if global.json {
                return print_json(serde_json::to_value(&answer)?);
            }
            if answer.windows.is_empty() {
                println!("no window closed (not enough new traffic yet)");
            } else {
                print_windows(&answer.windows);
            }
            Ok(())
        }
        MonitorCommand::Report {
            name,
            window,
            html,
            json_report,
            server,
        } => {
            let base = server.url(global)?;
            let history: MonitorReports = monitors_api(
                &client,
                reqwest::Method::GET,
                &base,
                &monitor_reports_path(&name),
                None,
            )
            .await?;
            let windows = &history.windows;
            let chosen = match window {
                Some(k) => windows.iter().find(|w| w.window == k),
                None => windows.last(),
            }
            .ok_or_else(|| {
                hinted(
                    format!(
                        "monitor {name} has no window {}",
                        window.map_or("yet".into(), |k| k.to_string())
                    ),
                    "`smelt monitor status NAME` lists its windows",
                )
            })?;
            let run_id = history.run_id.as_deref().unwrap_or_default();
            let stem = chosen.report_stem();
            let ctx = crate::config::Context::open(&GlobalArgs {
                tracking_uri: Some(base.clone()),
                json: false,
                verbose: global.verbose,
            })
            .await?;
            let dir = tempfile::tempdir()?;
            let mut wrote = false;
            for (target, extension) in [(&html, "html"), (&json_report, "json")] {
                if let Some(target) = target {
                    let uri = format!("runs:/{run_id}/{stem}.{extension}");
                    let local = crate::shared::artifacts::fetch(
                        &ctx,
                        "",
                        &uri,
                        &dir.path().join(extension),
                    )
                    .await?;
                    std::fs::copy(&local, target)
                        .map_err(|e| failure(format!("cannot write {}: {e}", target.display())))?;
                    eprintln!("wrote {}", target.display());
                    wrote = true;
                }
            }
            if !wrote || global.json {
                print_windows(std::slice::from_ref(chosen));
            }
            Ok(())
        }
        MonitorCommand::Delete { name, server } => {
            let base = server.url(global)?;
            let _: Empty = monitors_api(
                &client,
                reqwest::Method::DELETE,
                &base,
                &monitor_path(&name),
                None,
            )
            .await?;
            println!("deleted monitor {name}");
            Ok(())
        }
        MonitorCommand::Compare {
            reference,
            current,
            html,
            json_report,
            tests,
            drift_share,
            categorical,
            fail_on_drift,
            compute,
        } => {
            if !(0.0..=1.0).contains(&drift_share) {
                return Err(failure(format!(
                    "--drift-share must be between 0 and 1, got {drift_share}"
                )));
            }
            let mut plan = TestPlan::default().with_compute(open_compute(compute.preference)?);
            for (column, test) in tests {
                plan = plan.with_override(column, test_kind(&test)?);
            }
            let options = ReadOptions { categorical };
            let report = if is_parquet(&reference) && is_parquet(&current) {
                compare_parquet_by_columns(&reference, &current, &options, plan, drift_share)
                    .await?
            } else {
                let (reference_frame, current_frame) =
                    read_pair(&reference, &current, &options).await?;
                tokio::task::spawn_blocking(move || {
                    DriftReport::compare(&reference_frame, &current_frame, &plan, drift_share)
                })
                .await?
            };
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
        MonitorCommand::Mmd(args) => crate::commands::monitor_mmd::run(global, args).await,
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

/// Columns compared at once by [`compare_parquet_by_columns`]: two per core,
/// so every core has work and only these columns are in memory.
fn columns_per_group() -> usize {
    2 * std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// `compare` of two Parquet files a few columns at a time: Parquet stores
/// columns apart, so each group is read on its own and dropped once tested,
/// and memory holds a few columns rather than two whole tables. The merged
/// report equals the whole-table one.
async fn compare_parquet_by_columns(
    reference: &std::path::Path,
    current: &std::path::Path,
    options: &ReadOptions,
    plan: TestPlan,
    drift_share: f64,
) -> anyhow::Result<DriftReport> {
    let reference_names = parquet_column_names(reference)?;
    let current_names = parquet_column_names(current)?;
    let mut names = reference_names.clone();
    names.extend(
        current_names
            .iter()
            .filter(|n| !reference_names.contains(n))
            .cloned(),
    );
    let plan = std::sync::Arc::new(plan);
    let mut parts = Vec::new();
    for group in names.chunks(columns_per_group()) {
        let read = |path: &std::path::Path, present: &[String]| {
            let wanted: Vec<String> = group
                .iter()
                .filter(|n| present.contains(n))
                .cloned()
                .collect();
            let (path, options) = (path.to_path_buf(), options.clone());
            tokio::task::spawn_blocking(move || {
                if wanted.is_empty() {
                    return Ok(smelt_data::Frame::default());
                }
                read_parquet_columns(&path, &options, &wanted)
            })
        };
        let (r, c) = tokio::join!(
            read(reference, &reference_names),
            read(current, &current_names)
        );
        let (r, c) = (r??, c??);
        let plan = plan.clone();
        parts.push(
            tokio::task::spawn_blocking(move || DriftReport::compare(&r, &c, &plan, drift_share))
                .await?,
        );
    }
    Ok(DriftReport::merge(parts, drift_share))
}

/// The reference (a table or a profile's row sample) and the current table,
/// read on two cores: they are independent.
pub(crate) async fn read_pair(
    reference: &std::path::Path,
    current: &std::path::Path,
    options: &ReadOptions,
) -> anyhow::Result<(smelt_data::Frame, smelt_data::Frame)> {
    let (r_path, r_options) = (reference.to_path_buf(), options.clone());
    let (c_path, c_options) = (current.to_path_buf(), options.clone());
    let r = tokio::task::spawn_blocking(move || read_reference(&r_path, &r_options));
    let c = tokio::task::spawn_blocking(move || read_table(&c_path, &c_options));
    let (r, c) = tokio::join!(r, c);
    Ok((r??, c??))
}

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
    TestKind::parse(name).ok_or_else(|| {
        hinted(
            format!("unknown drift test '{}'", name.trim()),
            format!("use {}", smelt_monitor::drift::TEST_NAMES),
        )
    })
}

fn verdict(window: &WindowSummary) -> String {
    if window.dataset_drifted {
        "drift".into()
    } else {
        "no drift".into()
    }
}

fn print_windows(windows: &[WindowSummary]) {
    let mut table = output::table([
        "window",
        "end",
        "rows",
        "drifted share",
        "verdict",
        "drifted columns",
        "alert",
    ]);
    for window in windows {
        table.add_row(vec![
            window.window.to_string(),
            window.end.clone(),
            window.rows.to_string(),
            format!("{:.0}%", window.drifted_share * 100.0),
            verdict(window),
            window.drifted_columns.join(", "),
            window.alert.clone().unwrap_or_else(|| "-".into()),
        ]);
    }
    print_table(&table);
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
    println!("computed on: {}", report.compute);
}
