//! One conformance suite for every `TrackingStore`: SQLite, PostgreSQL, a Smelt
//! server over HTTP, and a real MLflow 3.17.2 server. The same assertions on
//! each prove the SQL store and the REST client speak MLflow's semantics.

mod support;

use std::sync::Arc;

use smelt_tracking::entities::*;
use smelt_tracking::store::*;
use smelt_tracking::{ErrorCode, TrackingStore};

fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}

async fn check_experiments(store: &dyn TrackingStore) {
    let name = unique("exp");
    let id = store
        .create_experiment(&name, None, &[Tag::new("team", "ml")])
        .await
        .unwrap();
    let experiment = store.get_experiment(&id).await.unwrap();
    assert_eq!(experiment.name, name);
    assert_eq!(experiment.lifecycle_stage, "active");
    assert!(!experiment.artifact_location.is_empty());
    assert!(experiment.tags.contains(&Tag::new("team", "ml")));

    let by_name = store
        .get_experiment_by_name(&name)
        .await
        .unwrap()
        .expect("found by name");
    assert_eq!(by_name.experiment_id, id);
    assert!(
        store
            .get_experiment_by_name(&unique("missing"))
            .await
            .unwrap()
            .is_none()
    );

    let duplicate = store.create_experiment(&name, None, &[]).await.unwrap_err();
    assert_eq!(duplicate.code, ErrorCode::ResourceAlreadyExists);

    let renamed = unique("renamed");
    store.rename_experiment(&id, &renamed).await.unwrap();
    assert_eq!(store.get_experiment(&id).await.unwrap().name, renamed);

    store.set_experiment_tag(&id, "stage", "dev").await.unwrap();
    assert!(
        store
            .get_experiment(&id)
            .await
            .unwrap()
            .tags
            .contains(&Tag::new("stage", "dev"))
    );
    store.delete_experiment_tag(&id, "stage").await.unwrap();
    assert!(
        !store
            .get_experiment(&id)
            .await
            .unwrap()
            .tags
            .iter()
            .any(|t| t.key == "stage")
    );

    let found = store
        .search_experiments(&SearchExperiments {
            filter: Some(format!("name = '{renamed}'")),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(found.items.len(), 1);
    assert_eq!(found.items[0].experiment_id, id);

    store.delete_experiment(&id).await.unwrap();
    assert_eq!(
        store.get_experiment(&id).await.unwrap().lifecycle_stage,
        "deleted"
    );
    let deleted = store
        .search_experiments(&SearchExperiments {
            filter: Some(format!("name = '{renamed}'")),
            view_type: ViewType::DeletedOnly,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(deleted.items.len(), 1);
    let active = store
        .search_experiments(&SearchExperiments {
            filter: Some(format!("name = '{renamed}'")),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(active.items.is_empty());
    store.restore_experiment(&id).await.unwrap();
    assert_eq!(
        store.get_experiment(&id).await.unwrap().lifecycle_stage,
        "active"
    );
}

async fn new_run(store: &dyn TrackingStore, experiment_id: &str, name: &str) -> Run {
    store
        .create_run(&CreateRun {
            experiment_id: experiment_id.to_string(),
            run_name: Some(name.to_string()),
            start_time: Some(smelt_tracking::wire::now_ms()),
            tags: vec![Tag::new("mlflow.user", "suite")],
            ..Default::default()
        })
        .await
        .unwrap()
}

async fn check_runs_and_metrics(store: &dyn TrackingStore) {
    let experiment_id = store
        .create_experiment(&unique("runs"), None, &[])
        .await
        .unwrap();
    let run = new_run(store, &experiment_id, "first").await;
    let run_id = run.info.run_id.clone();
    assert_eq!(run.info.run_name, "first");
    assert_eq!(run.info.status, RunStatus::Running);
    assert_eq!(run.info.experiment_id, experiment_id);
    assert!(
        run.info
            .artifact_uri
            .ends_with(&format!("{run_id}/artifacts"))
    );

    store
        .log_param(&run_id, &Param::new("lr", "0.01"))
        .await
        .unwrap();
    store
        .log_param(&run_id, &Param::new("lr", "0.01"))
        .await
        .unwrap();
    let changed = store
        .log_param(&run_id, &Param::new("lr", "0.1"))
        .await
        .unwrap_err();
    assert_eq!(changed.code, ErrorCode::InvalidParameterValue);

    for step in 0..5 {
        store
            .log_metric(&run_id, &Metric::new("loss", 1.0 / (step + 1) as f64, step))
            .await
            .unwrap();
    }
    store
        .log_metric(&run_id, &Metric::new("odd", f64::NAN, 0))
        .await
        .unwrap();
    store
        .log_metric(&run_id, &Metric::new("big", f64::INFINITY, 0))
        .await
        .unwrap();
    store
        .log_batch(
            &run_id,
            &[Metric::new("acc", 0.5, 0), Metric::new("acc", 0.75, 1)],
            &[Param::new("epochs", "10")],
            &[Tag::new("purpose", "suite")],
        )
        .await
        .unwrap();
    store
        .set_tag(&run_id, &Tag::new("temp", "x"))
        .await
        .unwrap();
    store.delete_tag(&run_id, "temp").await.unwrap();

    let run = store.get_run(&run_id).await.unwrap();
    assert_eq!(run.param("lr"), Some("0.01"));
    assert_eq!(run.param("epochs"), Some("10"));
    assert_eq!(run.tag("purpose"), Some("suite"));
    assert_eq!(run.tag("temp"), None);
    assert_eq!(run.tag("mlflow.runName"), Some("first"));
    assert_eq!(run.metric("loss"), Some(0.2));
    assert_eq!(run.metric("acc"), Some(0.75));
    assert!(run.metric("odd").unwrap().is_nan());
    // Smelt keeps +Infinity; MLflow's SQL store clamps it to the largest double.
    let big = run.metric("big").unwrap();
    assert!(
        big == f64::INFINITY || big == f64::MAX,
        "+Infinity came back as {big}"
    );

    let history = store
        .get_metric_history(&run_id, "loss", None, None)
        .await
        .unwrap();
    assert_eq!(
        history.items.iter().map(|m| m.step).collect::<Vec<_>>(),
        vec![0, 1, 2, 3, 4]
    );
    assert_eq!(history.items[2].value, 1.0 / 3.0);
    // Paging: pages of two must cover all five points, in order, once.
    let mut paged = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = store
            .get_metric_history(&run_id, "loss", token.as_deref(), Some(2))
            .await
            .unwrap();
        assert!(page.items.len() <= 2);
        paged.extend(page.items.iter().map(|m| m.step));
        match page.next_page_token {
            Some(next) if !next.is_empty() => token = Some(next),
            _ => break,
        }
    }
    assert_eq!(paged, vec![0, 1, 2, 3, 4]);

    let info = store
        .update_run(&UpdateRun {
            run_id: run_id.clone(),
            status: Some(RunStatus::Finished),
            end_time: Some(smelt_tracking::wire::now_ms()),
            run_name: None,
        })
        .await
        .unwrap();
    assert_eq!(info.status, RunStatus::Finished);
    assert!(info.end_time.is_some());

    store.delete_run(&run_id).await.unwrap();
    assert_eq!(
        store.get_run(&run_id).await.unwrap().info.lifecycle_stage,
        "deleted"
    );
    let to_deleted = store
        .log_metric(&run_id, &Metric::new("loss", 0.1, 9))
        .await
        .unwrap_err();
    assert_eq!(to_deleted.code, ErrorCode::InvalidParameterValue);
    store.restore_run(&run_id).await.unwrap();
    assert_eq!(
        store.get_run(&run_id).await.unwrap().info.lifecycle_stage,
        "active"
    );

    let missing = store
        .get_run("0123456789abcdef0123456789abcdef")
        .await
        .unwrap_err();
    assert_eq!(missing.code, ErrorCode::ResourceDoesNotExist);
    let nowhere = store
        .log_batch(
            "0123456789abcdef0123456789abcdef",
            &[Metric::new("loss", 0.1, 0)],
            &[],
            &[],
        )
        .await
        .unwrap_err();
    assert_eq!(nowhere.code, ErrorCode::ResourceDoesNotExist);
}

async fn check_search(store: &dyn TrackingStore) {
    let experiment_id = store
        .create_experiment(&unique("search"), None, &[])
        .await
        .unwrap();
    let mut ids = Vec::new();
    for i in 0..12 {
        let run = new_run(store, &experiment_id, &format!("r{i:02}")).await;
        store
            .log_batch(
                &run.info.run_id,
                &[Metric::new("acc", i as f64 / 10.0, 0)],
                &[Param::new("p", (i % 3).to_string())],
                &[],
            )
            .await
            .unwrap();
        ids.push(run.info.run_id);
    }
    let search = |filter: &str,
                  order_by: Vec<&str>,
                  max_results: Option<i64>,
                  page_token: Option<String>| SearchRuns {
        experiment_ids: vec![experiment_id.clone()],
        filter: Some(filter.to_string()),
        order_by: order_by.into_iter().map(str::to_string).collect(),
        max_results,
        page_token,
        ..Default::default()
    };

    let good = store
        .search_runs(&search(
            "metrics.acc > 0.55",
            vec!["metrics.acc DESC"],
            None,
            None,
        ))
        .await
        .unwrap();
    assert_eq!(good.items.len(), 6);
    assert_eq!(good.items[0].info.run_id, ids[11]);
    assert_eq!(good.items[5].info.run_id, ids[6]);

    let by_param = store
        .search_runs(&search("params.p = '1'", vec![], None, None))
        .await
        .unwrap();
    assert_eq!(by_param.items.len(), 4);

    let by_name = store
        .search_runs(&search(
            "tags.`mlflow.runName` LIKE 'r0%' and params.p != '0'",
            vec!["attributes.run_name ASC"],
            None,
            None,
        ))
        .await
        .unwrap();
    let names: Vec<_> = by_name
        .items
        .iter()
        .map(|r| r.info.run_name.clone())
        .collect();
    assert_eq!(names, vec!["r01", "r02", "r04", "r05", "r07", "r08"]);

    let in_ids = store
        .search_runs(&search(
            &format!("attributes.run_id IN ('{}', '{}')", ids[0], ids[3]),
            vec![],
            None,
            None,
        ))
        .await
        .unwrap();
    assert_eq!(in_ids.items.len(), 2);

    let missing_param = store
        .search_runs(&search("params.absent IS NULL", vec![], None, None))
        .await
        .unwrap();
    assert_eq!(missing_param.items.len(), 12);

    let mut seen = std::collections::HashSet::new();
    let mut token = None;
    let mut pages = 0;
    loop {
        let page = store
            .search_runs(&search("", vec!["metrics.acc ASC"], Some(5), token.clone()))
            .await
            .unwrap();
        pages += 1;
        for run in &page.items {
            assert!(
                seen.insert(run.info.run_id.clone()),
                "a run came back twice across pages"
            );
        }
        match page.next_page_token {
            Some(next) if !next.is_empty() => token = Some(next),
            _ => break,
        }
    }
    assert_eq!(seen.len(), 12);
    assert_eq!(pages, 3);

    let or = store
        .search_runs(&search(
            "metrics.acc > 1 OR metrics.acc < 0",
            vec![],
            None,
            None,
        ))
        .await
        .unwrap_err();
    assert_eq!(or.code, ErrorCode::InvalidParameterValue);
}

async fn check_registry(store: &dyn TrackingStore) {
    let experiment_id = store
        .create_experiment(&unique("registry"), None, &[])
        .await
        .unwrap();
    let run = new_run(store, &experiment_id, "trainer").await;
    let name = unique("model");
    let model = store
        .create_registered_model(&name, &[Tag::new("owner", "suite")], Some("first"))
        .await
        .unwrap();
    assert_eq!(model.name, name);
    let duplicate = store
        .create_registered_model(&name, &[], None)
        .await
        .unwrap_err();
    assert_eq!(duplicate.code, ErrorCode::ResourceAlreadyExists);

    let source = format!("runs:/{}/model", run.info.run_id);
    let create = |description: &str| CreateModelVersion {
        name: name.clone(),
        source: source.clone(),
        run_id: Some(run.info.run_id.clone()),
        description: Some(description.to_string()),
        ..Default::default()
    };
    let v1 = store.create_model_version(&create("one")).await.unwrap();
    let v2 = store.create_model_version(&create("two")).await.unwrap();
    assert_eq!((v1.version.as_str(), v2.version.as_str()), ("1", "2"));
    assert_eq!(v1.status, "READY");

    store
        .set_registered_model_alias(&name, "champion", "1")
        .await
        .unwrap();
    let champion = store
        .get_model_version_by_alias(&name, "champion")
        .await
        .unwrap();
    assert_eq!(champion.version, "1");
    assert!(champion.aliases.contains(&"champion".to_string()));
    store
        .set_registered_model_alias(&name, "champion", "2")
        .await
        .unwrap();
    assert_eq!(
        store
            .get_model_version_by_alias(&name, "champion")
            .await
            .unwrap()
            .version,
        "2"
    );
    let model = store.get_registered_model(&name).await.unwrap();
    assert_eq!(
        model.aliases,
        vec![RegisteredModelAlias {
            alias: "champion".into(),
            version: "2".into()
        }]
    );
    store
        .delete_registered_model_alias(&name, "champion")
        .await
        .unwrap();
    assert!(
        store
            .get_model_version_by_alias(&name, "champion")
            .await
            .is_err()
    );

    let staged = store
        .transition_model_version_stage(&name, "1", "production", false)
        .await
        .unwrap();
    assert_eq!(staged.current_stage, "Production");
    let latest = store
        .get_latest_versions(&name, &["Production".to_string()])
        .await
        .unwrap();
    assert_eq!(latest.len(), 1);
    assert_eq!(latest[0].version, "1");

    store
        .set_model_version_tag(&name, "2", "validated", "yes")
        .await
        .unwrap();
    let v2 = store.get_model_version(&name, "2").await.unwrap();
    assert!(v2.tags.contains(&Tag::new("validated", "yes")));
    let updated = store
        .update_model_version(&name, "2", Some("better"))
        .await
        .unwrap();
    assert_eq!(updated.description.as_deref(), Some("better"));

    let versions = store
        .search_model_versions(&SearchModels {
            filter: Some(format!("name = '{name}'")),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(versions.items.len(), 2);
    let models = store
        .search_registered_models(&SearchModels {
            filter: Some(format!("name = '{name}'")),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(models.items.len(), 1);
    assert!(models.items[0].tags.contains(&Tag::new("owner", "suite")));

    let uri = store
        .get_model_version_download_uri(&name, "1")
        .await
        .unwrap();
    assert!(
        uri.contains(&run.info.run_id),
        "download uri {uri} names the run"
    );

    let renamed = unique("renamed-model");
    store
        .rename_registered_model(&name, &renamed)
        .await
        .unwrap();
    assert_eq!(
        store.get_model_version(&renamed, "2").await.unwrap().name,
        renamed
    );
    store.delete_model_version(&renamed, "1").await.unwrap();
    assert_eq!(
        store
            .get_model_version(&renamed, "1")
            .await
            .unwrap_err()
            .code,
        ErrorCode::ResourceDoesNotExist
    );
    store.delete_registered_model(&renamed).await.unwrap();
    assert_eq!(
        store.get_registered_model(&renamed).await.unwrap_err().code,
        ErrorCode::ResourceDoesNotExist
    );
}

async fn check_logged_models(store: &dyn TrackingStore) {
    let experiment_id = store
        .create_experiment(&unique("logged"), None, &[])
        .await
        .unwrap();
    let run = new_run(store, &experiment_id, "producer").await;
    let model = store
        .create_logged_model(&CreateLoggedModel {
            experiment_id: experiment_id.clone(),
            name: Some("model".to_string()),
            source_run_id: Some(run.info.run_id.clone()),
            tags: vec![Tag::new("flavor", "smelt")],
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(model.info.model_id.starts_with("m-"));
    assert_eq!(model.info.status, LoggedModelStatus::LoggedModelPending);
    store
        .log_outputs(
            &run.info.run_id,
            &[ModelOutput {
                model_id: model.info.model_id.clone(),
                step: 0,
            }],
        )
        .await
        .unwrap();
    let ready = store
        .finalize_logged_model(&model.info.model_id, LoggedModelStatus::LoggedModelReady)
        .await
        .unwrap();
    assert_eq!(ready.info.status, LoggedModelStatus::LoggedModelReady);
    store
        .set_logged_model_tags(&model.info.model_id, &[Tag::new("stage", "test")])
        .await
        .unwrap();
    let fetched = store.get_logged_model(&model.info.model_id).await.unwrap();
    assert!(fetched.info.tags.contains(&Tag::new("stage", "test")));
    let found = store
        .search_logged_models(&SearchLoggedModels {
            experiment_ids: vec![experiment_id.clone()],
            filter: Some("name = 'model'".to_string()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(found.items.len(), 1);
    let run = store.get_run(&run.info.run_id).await.unwrap();
    assert_eq!(run.outputs.model_outputs[0].model_id, model.info.model_id);
}

/// Definitions (serving endpoints, monitors) on the SQL stores: create once,
/// replace, list by name within a kind, delete; the errors say what is wrong.
async fn check_definitions(store: &dyn TrackingStore) {
    use smelt_tracking::ErrorCode;
    let kind = unique("kind");
    store
        .create_definition(&kind, "b", r#"{"v":1}"#)
        .await
        .unwrap();
    store
        .create_definition(&kind, "a", r#"{"v":2}"#)
        .await
        .unwrap();
    store.create_definition("other", "a", "{}").await.unwrap();
    let taken = store.create_definition(&kind, "b", "{}").await.unwrap_err();
    assert_eq!(taken.code, ErrorCode::ResourceAlreadyExists);
    store
        .update_definition(&kind, "b", r#"{"v":3}"#)
        .await
        .unwrap();
    assert_eq!(
        store.get_definition(&kind, "b").await.unwrap().as_deref(),
        Some(r#"{"v":3}"#)
    );
    let listed = store.list_definitions(&kind).await.unwrap();
    assert_eq!(
        listed,
        vec![
            ("a".to_string(), r#"{"v":2}"#.to_string()),
            ("b".to_string(), r#"{"v":3}"#.to_string())
        ]
    );
    store.delete_definition(&kind, "a").await.unwrap();
    assert_eq!(store.get_definition(&kind, "a").await.unwrap(), None);
    let missing = store.update_definition(&kind, "a", "{}").await.unwrap_err();
    assert_eq!(missing.code, ErrorCode::ResourceDoesNotExist);
    let missing = store.delete_definition(&kind, "a").await.unwrap_err();
    assert_eq!(missing.code, ErrorCode::ResourceDoesNotExist);
    store.delete_definition("other", "a").await.unwrap();
}

async fn run_suite(store: Arc<dyn TrackingStore>) {
    check_experiments(store.as_ref()).await;
    check_runs_and_metrics(store.as_ref()).await;
    check_search(store.as_ref()).await;
    check_registry(store.as_ref()).await;
    check_logged_models(store.as_ref()).await;
}

#[tokio::test]
async fn suite_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let store = support::sqlite_store(dir.path()).await;
    check_definitions(store.as_ref()).await;
    run_suite(store).await;
}

#[tokio::test]
async fn suite_on_postgres() {
    let Some(admin_uri) = support::peer_env("SMELT_TEST_POSTGRES") else {
        return;
    };
    let database = support::PostgresDatabase::create(&admin_uri).await;
    let store = smelt_tracking::store::sql::SqlStore::open(&database.uri, "mlflow-artifacts:")
        .await
        .unwrap();
    check_definitions(&store).await;
    run_suite(Arc::new(store)).await;
}

#[tokio::test]
async fn suite_on_smelt_server_over_http() {
    let dir = tempfile::tempdir().unwrap();
    let url = support::smelt_server(dir.path()).await;
    run_suite(support::rest_store(&url)).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn suite_on_real_mlflow_server() {
    let Some(mlflow_bin) = support::peer_env("SMELT_TEST_MLFLOW") else {
        return;
    };
    let server = tokio::task::spawn_blocking(move || support::MlflowServer::start(&mlflow_bin))
        .await
        .unwrap();
    run_suite(support::rest_store(&server.url)).await;
}
