//! `examples/notebooks/train_and_track.ipynb`, cell by cell, through the
//! evcxr REPL against a real `smelt server`: it trains a model, shows the
//! runs table, the run and its loss curves, and the registry; the test checks
//! what each cell displayed against what the server holds. The REPL shows
//! the text rendition of each value (Jupyter shows the HTML one, which the
//! crate's unit tests check).
//!
//! evcxr comes from `cargo install evcxr_repl` (`scripts/test.sh` installs
//! it); its build folder is pinned under the cargo target folder, so the
//! notebook's dependencies compile once.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::{Server, http_json};
use serde_json::{Value, json};

fn evcxr() -> Option<PathBuf> {
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cargo")));
    let candidates = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .chain(cargo_home.map(|c| c.join("bin")));
    for dir in candidates {
        let path = dir.join("evcxr");
        if path.is_file() {
            return Some(path);
        }
    }
    None
}

/// The code cells of a notebook, each as one evcxr input line (evcxr reads
/// U+2028 inside a line as a newline).
fn code_cells(notebook: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(notebook).unwrap();
    let notebook: Value = serde_json::from_str(&text).unwrap();
    notebook["cells"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|cell| cell["cell_type"] == "code")
        .map(|cell| {
            let source: String = cell["source"]
                .as_array()
                .unwrap()
                .iter()
                .map(|line| line.as_str().unwrap())
                .collect();
            source.trim_end().replace('\n', "\u{2028}")
        })
        .collect()
}

/// The folder evcxr builds notebook `name` in: one per notebook (tests run at
/// once, and evcxr takes a folder for itself), kept between runs so its
/// dependencies stay compiled.
///
/// It must lie outside the workspace: evcxr writes a `Cargo.toml` there, and
/// cargo refuses a package that sits below a workspace that does not list it
/// ("Failed to load the project"). With the default target folder (inside the
/// clone) the build folder therefore goes to the system temp folder, keyed by
/// the clone's path so two clones do not share one.
fn evcxr_build_folder(workspace_root: &Path, name: &str) -> PathBuf {
    let target_tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let base = if outside(target_tmp, workspace_root) {
        target_tmp.to_path_buf()
    } else {
        let mut hasher = std::hash::DefaultHasher::new();
        std::hash::Hash::hash(&workspace_root, &mut hasher);
        let key = std::hash::Hasher::finish(&hasher);
        std::env::temp_dir().join(format!("smelt-evcxr-{key:016x}"))
    };
    base.join(format!("evcxr-{name}"))
}

/// Whether `path` lies outside `root`, comparing canonical paths (a symlinked
/// or bind-mounted target folder counts where it really is).
fn outside(path: &Path, root: &Path) -> bool {
    std::fs::create_dir_all(path).ok();
    let canonical = |p: &Path| p.canonicalize().unwrap_or_else(|_| p.to_path_buf());
    !canonical(path).starts_with(canonical(root)) && !path.starts_with(root)
}

/// Feeds a notebook's code cells to the evcxr REPL, run in the notebook's
/// folder against `server`; its stdout, and stdout plus stderr for messages.
/// `None` when evcxr is missing and peers are not required.
fn run_notebook(name: &str, server: &str) -> Option<(String, String)> {
    let Some(evcxr) = evcxr() else {
        let message = "evcxr is not installed (cargo install evcxr_repl --locked)";
        assert!(
            std::env::var("SMELT_REQUIRE_PEERS").as_deref() != Ok("1"),
            "{message}"
        );
        eprintln!("skipping the notebook test: {message}");
        return None;
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let folder = root.join("examples/notebooks");
    let cells = code_cells(&folder.join(name));
    assert!(cells[0].starts_with(":dep smelt-notebook"), "{}", cells[0]);
    let build = evcxr_build_folder(root, name);
    std::fs::create_dir_all(&build).unwrap();
    let mut child = Command::new(evcxr)
        .arg("--disable-readline")
        .current_dir(&folder)
        .env("SMELT_SERVER", server)
        .env("EVCXR_TMPDIR", &build)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("evcxr starts");
    {
        let mut stdin = child.stdin.take().unwrap();
        for cell in &cells {
            writeln!(stdin, "{cell}").unwrap();
        }
    }
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let context = format!("stdout:\n{stdout}\nstderr:\n{stderr}");
    Some((stdout, context))
}

#[test]
fn the_training_notebook_runs_in_evcxr() {
    let home = tempfile::tempdir().unwrap();
    let server = Server::start(home.path(), &[]);
    let Some((stdout, context)) = run_notebook("train_and_track.ipynb", &server.uri()) else {
        return;
    };
    let has_line = |test: &dyn Fn(&str) -> bool| stdout.lines().any(test);

    // What the server holds: the run the notebook's job created.
    let experiment = http_json(
        server.port,
        "GET",
        "/api/2.0/mlflow/experiments/get-by-name?experiment_name=notebook",
        json!({}),
    );
    let runs = http_json(
        server.port,
        "POST",
        "/api/2.0/mlflow/runs/search",
        json!({ "experiment_ids": [experiment["experiment"]["experiment_id"]] }),
    );
    let run = &runs["runs"][0];
    let run_id = run["info"]["run_id"].as_str().unwrap();
    assert_eq!(run["info"]["status"], "FINISHED");
    let accuracy = run["data"]["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["key"] == "val_accuracy")
        .unwrap()["value"]
        .as_f64()
        .unwrap();
    let history = |key: &str| {
        http_json(
            server.port,
            "GET",
            &format!("/api/2.0/mlflow/metrics/get-history?run_id={run_id}&metric_key={key}"),
            json!({}),
        )["metrics"]
            .as_array()
            .unwrap()
            .len()
    };

    // The training cell, the runs table, the run, the curves, the registry.
    assert!(
        stdout.contains(&format!(
            "\"{run_id} registered Some(\\\"models:/notebook-wine/1\\\")\""
        )),
        "{context}"
    );
    assert!(has_line(&|l| l.ends_with("Runs of notebook")), "{context}");
    assert!(
        has_line(&|l| l.starts_with(run_id)
            && l.contains("notebook-wine")
            && l.contains("FINISHED")),
        "{context}"
    );
    assert!(
        has_line(&|l| l.ends_with(&format!("Run notebook-wine ({run_id}, FINISHED)"))),
        "{context}"
    );
    let shown = smelt_charts::format_value(accuracy);
    assert!(
        has_line(&|l| l.starts_with("val_accuracy")
            && l.split_whitespace().nth(1) == Some(shown.as_str())),
        "val_accuracy {shown}: {context}"
    );
    assert!(
        has_line(&|l| l.ends_with("Chart: train_loss, val_loss")),
        "{context}"
    );
    for key in ["train_loss", "val_loss"] {
        let points = format!("  {key}: {} points, ", history(key));
        assert!(has_line(&|l| l.starts_with(&points)), "{points}: {context}");
    }
    assert!(
        has_line(&|l| l.starts_with("notebook-wine") && l.ends_with("@champion → 1")),
        "{context}"
    );
}

#[test]
fn the_autopilot_serving_and_drift_notebook_runs_in_evcxr() {
    let home = tempfile::tempdir().unwrap();
    let port = common::free_port();
    let (quickstart, _) = common::start_quickstart(home.path(), port);
    let server = format!("http://127.0.0.1:{port}");
    let Some((stdout, context)) = run_notebook("autopilot_serving_drift.ipynb", &server) else {
        common::interrupt(quickstart);
        return;
    };
    common::interrupt(quickstart);
    let has_line = |test: &dyn Fn(&str) -> bool| stdout.lines().any(test);

    // The autopilot's leaderboard: ranked rows under the objective's column.
    assert!(has_line(&|l| l.contains("Leaderboard (f1, ")), "{context}");
    assert!(
        has_line(&|l| l.starts_with("rank") && l.contains("learner") && l.contains("f1")),
        "{context}"
    );
    assert!(
        has_line(&|l| l.starts_with("1 ") && (l.contains("trial-") || l.contains("ensemble"))),
        "{context}"
    );
    // The quickstart's endpoint, a prediction from it, and its monitor.
    assert!(
        has_line(&|l| l.starts_with("quickstart")
            && l.contains("champion (models:/quickstart-wine@champion, weight 1)")),
        "{context}"
    );
    assert!(stdout.contains("String(\"class_"), "{context}");
    assert!(
        has_line(&|l| l.ends_with("Monitor quickstart")),
        "{context}"
    );
    let window = |n: &str| {
        stdout
            .lines()
            .find(|l| l.split_whitespace().next() == Some(n) && l.contains("drift"))
            .unwrap_or_else(|| panic!("no window {n}: {context}"))
            .to_string()
    };
    assert!(window("1").contains("no drift"), "{context}");
    assert!(
        window("2").split_whitespace().nth(2) == Some("drift"),
        "{context}"
    );
    assert!(
        has_line(&|l| l.ends_with("Chart: Drift severity of quickstart (above 1 = drift)")),
        "{context}"
    );
}
