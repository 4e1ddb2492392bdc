//! Schema upgrades and concurrent starts, on SQLite and PostgreSQL.
//!
//! For every schema version before the newest (read from
//! `tracking/migrations/<dialect>/`, so a new migration is covered without
//! touching this file), a database is built exactly as that version left it,
//! filled with an experiment, a run (params, tags, metric history), a
//! registered model with a version and an alias, and (from version 2) an
//! endpoint definition; then `SqlStore::open`, what `smelt server` runs at
//! start, upgrades it, and everything reads back through the store.
//! Two stores opening one fresh PostgreSQL database at once (two servers
//! started together) must both come up: the migration takes an advisory lock.

mod support;

use std::path::{Path, PathBuf};

use smelt_tracking::TrackingStore;
use smelt_tracking::store::ExperimentStore;
use smelt_tracking::store::sql::SqlStore;

/// One migration script as it lies in the repository.
struct Script {
    version: i64,
    sql: String,
}

/// The migration scripts of a dialect (`sqlite` or `postgres`), in version order.
fn scripts(dialect: &str) -> Vec<Script> {
    let folder: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tracking/migrations")
        .join(dialect);
    let mut scripts: Vec<Script> = std::fs::read_dir(&folder)
        .unwrap_or_else(|e| panic!("{}: {e}", folder.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "sql"))
        .map(|path| {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let version = name
                .split('_')
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("migration {name} does not start with its version"));
            Script {
                version,
                sql: std::fs::read_to_string(&path).unwrap(),
            }
        })
        .collect();
    scripts.sort_by_key(|s| s.version);
    assert!(
        scripts.len() >= 2,
        "expected several migrations in {}",
        folder.display()
    );
    scripts
}

/// What a database at `version` holds: the schema up to it, its bookkeeping
/// rows, and data written in that version's tables only.
fn fixture(scripts: &[Script], version: i64) -> Vec<String> {
    let mut statements: Vec<String> = vec![
        "CREATE TABLE IF NOT EXISTS smelt_schema_migrations (
            version BIGINT PRIMARY KEY, description TEXT NOT NULL, applied_at BIGINT NOT NULL)"
            .into(),
    ];
    for script in scripts.iter().filter(|s| s.version <= version) {
        statements.push(script.sql.clone());
        statements.push(format!(
            "INSERT INTO smelt_schema_migrations (version, description, applied_at) \
             VALUES ({}, 'applied by an earlier smelt', 1700000000000)",
            script.version
        ));
    }
    statements.extend(
        [
            "INSERT INTO experiments (experiment_id, name, artifact_location, lifecycle_stage, creation_time, last_update_time)
             VALUES (0, 'Default', 'mlflow-artifacts:/0', 'active', 1700000000000, 1700000000000),
                    (1, 'old-experiment', 'mlflow-artifacts:/1', 'active', 1700000000000, 1700000000000)",
            "INSERT INTO experiment_tags (experiment_id, key, value) VALUES (1, 'team', 'fraud')",
            "INSERT INTO runs (run_id, experiment_id, run_name, user_id, status, start_time, end_time, artifact_uri, lifecycle_stage)
             VALUES ('0123456789abcdef0123456789abcdef', 1, 'old-run', 'ada', 'FINISHED', 1700000000000, 1700000060000,
                     'mlflow-artifacts:/1/0123456789abcdef0123456789abcdef/artifacts', 'active')",
            "INSERT INTO params (run_id, key, value) VALUES ('0123456789abcdef0123456789abcdef', 'lr', '0.1')",
            "INSERT INTO tags (run_id, key, value) VALUES ('0123456789abcdef0123456789abcdef', 'mlflow.user', 'ada')",
            r#"INSERT INTO metric_chunks (run_id, key, min_step, max_step, n_points, points)
             VALUES ('0123456789abcdef0123456789abcdef', 'loss', 0, 2, 3,
                     '[[0,1700000001000,0.9,null,null,null],[1,1700000002000,0.5,null,null,null],[2,1700000003000,0.25,null,null,null]]')"#,
            "INSERT INTO registered_models (name, creation_timestamp, last_updated_timestamp, description, last_version)
             VALUES ('old-model', 1700000000000, 1700000000000, 'kept across upgrades', 1)",
            "INSERT INTO model_versions (name, version, creation_timestamp, last_updated_timestamp, source, run_id, status)
             VALUES ('old-model', 1, 1700000000000, 1700000000000,
                     'mlflow-artifacts:/1/0123456789abcdef0123456789abcdef/artifacts/model',
                     '0123456789abcdef0123456789abcdef', 'READY')",
            "INSERT INTO registered_model_aliases (name, alias, version) VALUES ('old-model', 'champion', 1)",
        ]
        .map(String::from),
    );
    if version >= 2 {
        statements.push(
            r#"INSERT INTO smelt_definitions (kind, name, body, created_at, updated_at)
               VALUES ('endpoint', 'old-endpoint', '{"name":"old-endpoint"}', 1700000000000, 1700000000000)"#
                .into(),
        );
    }
    statements
}

/// Reads everything [`fixture`] wrote back through the store's own API.
async fn assert_intact(store: &dyn TrackingStore, version: i64) {
    let experiment = store.get_experiment("1").await.unwrap();
    assert_eq!(experiment.name, "old-experiment");
    let run = store
        .get_run("0123456789abcdef0123456789abcdef")
        .await
        .unwrap();
    assert_eq!(run.info.run_name, "old-run");
    assert_eq!(
        run.info.status,
        smelt_tracking::entities::RunStatus::Finished
    );
    let param = run.data.params.iter().find(|p| p.key == "lr").unwrap();
    assert_eq!(param.value, "0.1");
    assert!(
        run.data
            .tags
            .iter()
            .any(|t| t.key == "mlflow.user" && t.value == "ada")
    );
    let loss = run.data.metrics.iter().find(|m| m.key == "loss").unwrap();
    assert_eq!((loss.step, loss.value), (2, 0.25));
    let history = store
        .get_metric_history(&run.info.run_id, "loss", None, None)
        .await
        .unwrap();
    let steps: Vec<(i64, f64)> = history.items.iter().map(|m| (m.step, m.value)).collect();
    assert_eq!(steps, [(0, 0.9), (1, 0.5), (2, 0.25)]);
    let champion = store
        .get_model_version_by_alias("old-model", "champion")
        .await
        .unwrap();
    assert_eq!(champion.version, "1");
    // The version counter survived: the next version is 2, not 1 again.
    let next = store
        .create_model_version(&smelt_tracking::store::CreateModelVersion {
            name: "old-model".into(),
            source: "mlflow-artifacts:/1/x/artifacts/model".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(next.version, "2");
    if version >= 2 {
        let body = store
            .get_definition("endpoint", "old-endpoint")
            .await
            .unwrap();
        assert_eq!(body.as_deref(), Some(r#"{"name":"old-endpoint"}"#));
    }
    // The upgraded store takes new writes to the old run.
    store
        .log_param(
            &run.info.run_id,
            &smelt_tracking::entities::Param {
                key: "batch_size".into(),
                value: "32".into(),
            },
        )
        .await
        .unwrap();
    let run = store.get_run(&run.info.run_id).await.unwrap();
    assert_eq!(run.data.params.len(), 2);
}

#[tokio::test]
async fn sqlite_databases_of_every_earlier_version_upgrade_intact() {
    use sqlx::Connection;
    let scripts = scripts("sqlite");
    let newest = scripts.last().unwrap().version;
    for script in scripts.iter().filter(|s| s.version < newest) {
        let dir = tempfile::tempdir().unwrap();
        let uri = format!("sqlite:///{}", dir.path().join("smelt.db").display());
        {
            let mut conn = sqlx::SqliteConnection::connect(&format!("{uri}?mode=rwc"))
                .await
                .unwrap();
            for statement in fixture(&scripts, script.version) {
                sqlx::raw_sql(sqlx::AssertSqlSafe(statement))
                    .execute(&mut conn)
                    .await
                    .unwrap_or_else(|e| panic!("building version {}: {e}", script.version));
            }
            conn.close().await.unwrap();
        }
        let store = SqlStore::open(&uri, "mlflow-artifacts:").await.unwrap();
        assert_intact(&store, script.version).await;
    }
}

#[tokio::test]
async fn postgres_databases_of_every_earlier_version_upgrade_intact() {
    use sqlx::Connection;
    let Some(admin_uri) = support::peer_env("SMELT_TEST_POSTGRES") else {
        return;
    };
    let scripts = scripts("postgres");
    let newest = scripts.last().unwrap().version;
    for script in scripts.iter().filter(|s| s.version < newest) {
        let database = support::PostgresDatabase::create(&admin_uri).await;
        {
            let mut conn = sqlx::PgConnection::connect(&database.uri).await.unwrap();
            for statement in fixture(&scripts, script.version) {
                sqlx::raw_sql(sqlx::AssertSqlSafe(statement))
                    .execute(&mut conn)
                    .await
                    .unwrap_or_else(|e| panic!("building version {}: {e}", script.version));
            }
            conn.close().await.unwrap();
        }
        let store = SqlStore::open(&database.uri, "mlflow-artifacts:")
            .await
            .unwrap();
        assert_intact(&store, script.version).await;
    }
}

#[tokio::test]
async fn two_servers_starting_at_once_on_one_postgres_database_both_come_up() {
    let Some(admin_uri) = support::peer_env("SMELT_TEST_POSTGRES") else {
        return;
    };
    let database = support::PostgresDatabase::create(&admin_uri).await;
    let (first, second) = tokio::join!(
        SqlStore::open(&database.uri, "mlflow-artifacts:"),
        SqlStore::open(&database.uri, "mlflow-artifacts:"),
    );
    let (first, second) = (first.unwrap(), second.unwrap());
    // Both serve the one schema: what one writes, the other reads.
    let id = first
        .create_experiment("made-by-the-first", None, &[])
        .await
        .unwrap();
    assert_eq!(
        second.get_experiment(&id).await.unwrap().name,
        "made-by-the-first"
    );
}
