//! The web UI in a real browser: runs logged through MLflow's API appear in
//! the runs table, charts have a point per logged value, sorting and the
//! filter box work, runs compare, artifacts preview, and an alias moved in
//! the UI moves in the registry. Screenshots land in `ui-screenshots/` of
//! the target folder.

#[path = "common/browser.rs"]
mod browser;
mod common;

use browser::Browser;
use common::{Server, http, http_json};
use serde_json::{Value, json};

const API: &str = "/api/2.0/mlflow";

/// Creates a run with params and a metric history; returns (run id, artifact path on the proxy).
fn log_run(
    port: u16,
    experiment_id: &str,
    name: &str,
    params: &[(&str, &str)],
    metrics: &[(&str, &[f64])],
) -> (String, String) {
    let run = http_json(
        port,
        "POST",
        &format!("{API}/runs/create"),
        json!({ "experiment_id": experiment_id, "run_name": name, "start_time": 1_700_000_000_000i64 }),
    );
    let run_id = run["run"]["info"]["run_id"].as_str().unwrap().to_string();
    let artifact_uri = run["run"]["info"]["artifact_uri"].as_str().unwrap();
    let mut batch_metrics = Vec::new();
    for (key, values) in metrics {
        for (step, value) in values.iter().enumerate() {
            batch_metrics.push(json!({ "key": key, "value": value, "step": step, "timestamp": 1_700_000_000_000i64 + step as i64 }));
        }
    }
    let params: Vec<Value> = params
        .iter()
        .map(|(k, v)| json!({ "key": k, "value": v }))
        .collect();
    http_json(
        port,
        "POST",
        &format!("{API}/runs/log-batch"),
        json!({ "run_id": run_id, "metrics": batch_metrics, "params": params }),
    );
    let proxied = artifact_uri
        .strip_prefix("mlflow-artifacts:")
        .expect("the server proxies artifacts")
        .to_string();
    (run_id, proxied)
}

fn row_names(browser: &Browser) -> Vec<String> {
    browser
        .find_all("#runs tbody tr td:nth-child(2)")
        .iter()
        .map(|cell| browser.text(cell))
        .collect()
}

#[test]
fn the_web_ui_shows_runs_charts_artifacts_and_moves_aliases() {
    let home = tempfile::tempdir().unwrap();
    let server = Server::start(home.path(), &[]);
    let Some(browser) = Browser::start() else {
        return;
    };
    let port = server.port;
    let base = server.uri();

    let experiment_id = http_json(
        port,
        "POST",
        &format!("{API}/experiments/create"),
        json!({ "name": "ui-test" }),
    )["experiment_id"]
        .as_str()
        .unwrap()
        .to_string();
    let loss: Vec<f64> = (0..8).map(|i| 1.0 / f64::from(i + 1)).collect();
    let (alpha, alpha_artifacts) = log_run(
        port,
        &experiment_id,
        "alpha",
        &[("lr", "0.1"), ("layers", "2")],
        &[("loss", &loss), ("accuracy", &[0.5, 0.7, 0.9])],
    );
    let (beta, _) = log_run(
        port,
        &experiment_id,
        "beta",
        &[("lr", "0.01"), ("layers", "2")],
        &[
            ("loss", &[0.9, 0.8, 0.7, 0.6, 0.5]),
            ("accuracy", &[0.6, 0.95]),
        ],
    );
    log_run(
        port,
        &experiment_id,
        "gamma",
        &[("lr", "0.5"), ("layers", "3")],
        &[("accuracy", &[0.8])],
    );
    let table = "name,score\na,1\nb,2\nc,3\n";
    let (status, reply) = http(
        port,
        "PUT",
        &format!("/api/2.0/mlflow-artifacts/artifacts{alpha_artifacts}/data/table.csv"),
        Some(table.as_bytes()),
    )
    .unwrap();
    assert_eq!(status, 200, "{reply}");

    // The experiment is listed at `/`; its runs table holds the three runs.
    browser.goto(&format!("{base}/"));
    let link = browser.find("#experiments a");
    assert_eq!(browser.text(&link), "ui-test");
    browser.follow(&link);
    let mut names = row_names(&browser);
    names.sort();
    assert_eq!(names, ["alpha", "beta", "gamma"]);
    browser.screenshot("runs-table");

    // Sorting by a metric column: descending first, then ascending.
    let sort_by_accuracy = || {
        let header = browser
            .find_all("#runs thead a.sort")
            .into_iter()
            .find(|a| browser.text(a).starts_with("accuracy"))
            .expect("an accuracy column");
        browser.follow(&header);
    };
    sort_by_accuracy();
    assert_eq!(row_names(&browser), ["beta", "alpha", "gamma"]);
    sort_by_accuracy();
    assert_eq!(row_names(&browser), ["gamma", "alpha", "beta"]);

    // The filter box takes the search grammar; a bad filter says why.
    let filter = browser.find("#search input[name=filter]");
    browser.type_into(&filter, "params.lr = '0.1'");
    browser.follow(&browser.find("#search button"));
    assert_eq!(row_names(&browser), ["alpha"]);
    let filter = browser.find("#search input[name=filter]");
    browser.type_into(&filter, "metrics.accuracy >>> 1");
    browser.follow(&browser.find("#search button"));
    let error = browser.text(&browser.find("#search-error"));
    assert!(error.contains("metric 'accuracy'"), "{error}");
    assert!(row_names(&browser).is_empty());

    // A run's page: one chart per metric, a point per logged value.
    browser.goto(&format!("{base}/ui/runs/{alpha}"));
    assert_eq!(
        browser
            .find_all("div.chart[data-metric=loss] circle.point")
            .len(),
        8
    );
    assert_eq!(
        browser
            .find_all("div.chart[data-metric=accuracy] circle.point")
            .len(),
        3
    );
    let lr = browser.find("#params tr:nth-child(2) td");
    assert_eq!(browser.text(&lr), "0.1");
    browser.screenshot("run-detail");

    // The links the mlflow client prints land on the same pages (the run's
    // last, so the steps below start from it again).
    browser.goto(&format!("{base}/#/experiments/{experiment_id}"));
    browser.wait_for_url(&format!("/ui/experiments/{experiment_id}"));
    let mut names = row_names(&browser);
    names.sort();
    assert_eq!(names, ["alpha", "beta", "gamma"]);
    browser.goto(&format!(
        "{base}/#/experiments/{experiment_id}/runs/{alpha}"
    ));
    browser.wait_for_url(&format!("/ui/runs/{alpha}"));
    let lr = browser.find("#params tr:nth-child(2) td");
    assert_eq!(browser.text(&lr), "0.1");

    // Its artifacts: the folder, then the CSV's head as a table.
    browser.follow(&browser.find("a[href$='/artifacts']"));
    let folder = browser.find("#artifacts a");
    assert_eq!(browser.text(&folder), "data/");
    browser.follow(&folder);
    browser.follow(&browser.find("#artifacts a"));
    let cells: Vec<String> = browser
        .find_all("#preview-table tbody td")
        .iter()
        .map(|c| browser.text(c))
        .collect();
    assert_eq!(cells, ["a", "1", "b", "2", "c", "3"]);

    // Compare: differing parameters are highlighted, charts overlay runs.
    browser.goto(&format!("{base}/"));
    browser.follow(&browser.find("#experiments a"));
    for run in [&alpha, &beta] {
        browser.click(&browser.find(&format!("input[name=runs][value='{run}']")));
    }
    browser.follow(&browser.find("#compare button"));
    let lr_row = browser.find("#compare-params tr[data-key=lr]");
    assert_eq!(browser.attribute(&lr_row, "class").as_deref(), Some("diff"));
    let layers_row = browser.find("#compare-params tr[data-key=layers]");
    assert_eq!(browser.attribute(&layers_row, "class"), None);
    assert_eq!(
        browser
            .find_all("div.chart[data-metric=loss] g.series")
            .len(),
        2
    );
    assert_eq!(
        browser
            .find_all("div.chart[data-metric=loss] circle.point")
            .len(),
        13
    );
    browser.screenshot("compare");

    // An alias moved in the UI moves in the registry.
    http_json(
        port,
        "POST",
        &format!("{API}/registered-models/create"),
        json!({ "name": "ui-model" }),
    );
    for run in [&alpha, &beta] {
        http_json(
            port,
            "POST",
            &format!("{API}/model-versions/create"),
            json!({ "name": "ui-model", "source": format!("runs:/{run}/model"), "run_id": run }),
        );
    }
    http_json(
        port,
        "POST",
        &format!("{API}/registered-models/alias"),
        json!({ "name": "ui-model", "alias": "champion", "version": "1" }),
    );
    browser.goto(&format!("{base}/ui/models"));
    browser.follow(&browser.find("#models a"));
    let alias = browser.find("#set-alias input[name=alias]");
    browser.type_into(&alias, "champion");
    browser.select("#set-alias select[name=version]", "2");
    browser.follow(&browser.find("#set-alias button"));
    let row = browser.find("#aliases tr[data-alias=champion] td:nth-child(2)");
    assert_eq!(browser.text(&row), "2");
    let registry = http_json(
        port,
        "GET",
        &format!("{API}/registered-models/alias?name=ui-model&alias=champion"),
        json!({}),
    );
    assert_eq!(registry["model_version"]["version"], "2");
    assert_eq!(registry["model_version"]["run_id"], beta.as_str());
    // The version's row links back to the run that produced it.
    let run_link = browser.find("#versions tr[data-version='2'] a");
    browser.follow(&run_link);
    assert!(browser.current_url().ends_with(&format!("/ui/runs/{beta}")));
    browser.goto(&format!("{base}/ui/models/ui-model"));
    browser.screenshot("model");

    // The other areas answer on a server with nothing in them yet.
    for (path, heading) in [
        ("/ui/jobs", "Jobs"),
        ("/ui/endpoints", "Endpoints"),
        ("/ui/monitors", "Monitors"),
    ] {
        browser.goto(&format!("{base}{path}"));
        assert_eq!(browser.text(&browser.find("h1")), heading);
    }
    // Unknown things are a page that says so, with a 404.
    let (status, page) = http(port, "GET", "/ui/runs/nope", None).unwrap();
    assert_eq!(status, 404, "{page}");
}

/// One wine, as the endpoint takes it.
const ROW: &[u8] = br#"{"dataframe_records": [{"alcohol": 13.5, "malic_acid": 1.8, "ash": 2.6, "alcalinity_of_ash": 19.0, "magnesium": 110, "total_phenols": 2.4, "flavanoids": 2.5, "nonflavanoid_phenols": 0.29, "proanthocyanins": 1.5, "color_intensity": 4.2, "hue": 1.1, "od280_od315_of_diluted_wines": 2.9, "proline": 1095}]}"#;

#[test]
fn quickstart_trains_serves_and_monitors_and_runs_twice() {
    let home = tempfile::tempdir().unwrap();
    let port = common::free_port();
    let base = format!("http://127.0.0.1:{port}");
    let (child, printed) = common::start_quickstart(home.path(), port);
    assert!(
        printed.contains(&format!("web UI         {base}/")),
        "{printed}"
    );
    assert!(
        printed.contains("registered models:/quickstart-wine/1"),
        "{printed}"
    );
    assert!(printed.contains("window 1: 40 rows, no drift"), "{printed}");
    assert!(printed.contains("window 2: 40 rows, DRIFT in"), "{printed}");
    assert!(printed.contains("alcohol"), "{printed}");

    // The endpoint answers what the registered model predicts.
    let (status, reply) =
        http(port, "POST", "/endpoints/quickstart/invocations", Some(ROW)).unwrap();
    assert_eq!(status, 200, "{reply}");
    assert!(reply.contains("class_"), "{reply}");
    let (status, reply) = http(
        port,
        "POST",
        "/endpoints/quickstart/invocations",
        Some(br#"{"dataframe_records": [{"alcohol": 13.5}]}"#),
    )
    .unwrap();
    assert_eq!(status, 400, "{reply}");

    if let Some(browser) = Browser::start() {
        browser.goto(&format!("{base}/ui/endpoints/quickstart"));
        let cell = |n: u32| {
            let cell = browser.find(&format!(
                "#variants tr[data-variant=champion] td:nth-child({n})"
            ));
            browser.text(&cell).parse::<u64>().unwrap()
        };
        assert_eq!(
            (cell(6), cell(7)),
            (18, 1),
            "16 quickstart requests and our two; the second refused"
        );
        // Live traffic: the charts are sampled once a second, so send a few
        // requests between samples and look again.
        std::thread::sleep(std::time::Duration::from_millis(1500));
        for _ in 0..5 {
            let (status, reply) =
                http(port, "POST", "/endpoints/quickstart/invocations", Some(ROW)).unwrap();
            assert_eq!(status, 200, "{reply}");
        }
        std::thread::sleep(std::time::Duration::from_millis(2500));
        browser.goto(&format!("{base}/ui/endpoints/quickstart"));
        let latency_points =
            browser.find_all("#traffic-charts div.chart:nth-child(2) circle.point");
        assert!(
            !latency_points.is_empty(),
            "an interval with requests has a mean latency"
        );
        browser.screenshot("endpoint");
        browser.goto(&format!("{base}/ui/monitors/quickstart"));
        let verdicts: Vec<String> = browser
            .find_all("#windows tbody td:nth-child(6)")
            .iter()
            .map(|c| browser.text(c))
            .collect();
        assert_eq!(verdicts, ["drift", "no drift"], "newest first");
        assert!(!browser.find_all("#drift-charts circle.point").is_empty());
        assert!(browser.find_all("iframe#report").len() == 1);
        browser.screenshot("monitor");
        browser.goto(&format!("{base}/ui/jobs"));
        let status = browser.find("#jobs tbody td:nth-child(2)");
        assert_eq!(browser.text(&status), "SUCCEEDED");
        browser.follow(&browser.find("#jobs tbody a"));
        assert!(browser.text(&browser.find("#log")).contains("epoch"));
    }
    common::interrupt(child);

    // A second run: version 2 behind the alias, the endpoint and monitor kept.
    let (child, printed) = common::start_quickstart(home.path(), port);
    assert!(
        printed.contains("registered models:/quickstart-wine/2"),
        "{printed}"
    );
    // Our own request above joined the next window.
    let window = |n: u32| {
        printed
            .lines()
            .find(|line| line.starts_with(&format!("  window {n}: ")))
            .unwrap_or_else(|| panic!("no window {n}:\n{printed}"))
            .to_string()
    };
    assert!(window(3).ends_with("no drift"), "{printed}");
    assert!(window(4).contains("40 rows, DRIFT in"), "{printed}");
    common::interrupt(child);
}

/// Under `--auth`: a page sends the browser to the login form, the generated
/// admin password (printed once) logs in, the navigation names the user and
/// links the audit log, which shows the login; logging out ends the session.
#[test]
fn a_browser_logs_in_reads_the_audit_log_and_logs_out() {
    let home = tempfile::tempdir().unwrap();
    let server = Server::start(home.path(), &["--auth"]);
    let Some(browser) = Browser::start() else {
        return;
    };
    let base = server.uri();
    let log = server.log_text();
    let password = log
        .lines()
        .skip_while(|line| !line.contains("with the password"))
        .skip(1)
        .map(str::trim)
        .find(|line| !line.is_empty())
        .unwrap_or_else(|| panic!("no generated password in:\n{log}"))
        .to_string();

    browser.goto(&format!("{base}/ui/models"));
    browser.wait_for_url("/login?next=%2Fui%2Fmodels");
    browser.type_into(&browser.find("#username"), "admin");
    browser.type_into(&browser.find("#password"), &password);
    browser.follow(&browser.find("button[type=submit]"));
    browser.wait_for_url("/ui/models");
    assert_eq!(browser.text(&browser.find("#user")), "admin");
    browser.screenshot("logged-in");

    // The audit log names the login (its writer flushes within a moment).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        browser.goto(&format!("{base}/ui/models"));
        browser.follow(&browser.find("nav a[href=\"/ui/audit\"]"));
        let cells: Vec<String> = browser
            .find_all("#audit td")
            .iter()
            .map(|cell| browser.text(cell))
            .collect();
        if cells.iter().any(|cell| cell == "login") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no login line: {cells:?}"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }

    browser.follow(&browser.find("#logout button"));
    browser.wait_for_url("/login");
    browser.goto(&format!("{base}/"));
    browser.wait_for_url("/login?next=%2F");
}
