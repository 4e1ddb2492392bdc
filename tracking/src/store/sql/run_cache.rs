//! Whole runs as `runs/search` last loaded them, keyed by run id and
//! revision (SQLite only).
//!
//! A search page is one indexed query for the page's run ids, then
//! everything about those runs: their rows in params, tags, latest metrics,
//! inputs and outputs. That second part was over half of a search (a page
//! of 60 runs: about 0.6 ms of a 1.1 ms call), and a dashboard asks for the
//! same page again and again. Migration 3 gives every run a `revision` that
//! triggers move in the same transaction as any change to the run or to
//! what belongs to it, so an entry whose revision equals the one the id
//! query read holds that run as the query saw it, or newer; any other entry
//! is loaded again. Writers in other processes on the same file move the
//! revision too: the triggers live in the database.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::entities::Run;

/// How many runs the cache holds before it starts again empty (a run with a
/// few dozen params, tags and metrics is a few KiB).
const MAX_RUNS: usize = 20_000;

#[derive(Default)]
pub(crate) struct RunCache {
    entries: Mutex<HashMap<String, (i64, Run)>>,
}

impl RunCache {
    /// The cached run for each `(run id, revision)`, `None` where there is
    /// none at that revision.
    pub(crate) fn get(&self, ids: &[(String, i64)]) -> Vec<Option<Run>> {
        let Ok(entries) = self.entries.lock() else {
            return vec![None; ids.len()];
        };
        ids.iter()
            .map(|(id, revision)| match entries.get(id) {
                Some((cached, run)) if cached == revision => Some(run.clone()),
                _ => None,
            })
            .collect()
    }

    /// Remembers runs loaded at the given revisions.
    pub(crate) fn put(&self, runs: Vec<(i64, Run)>) {
        let Ok(mut entries) = self.entries.lock() else {
            return;
        };
        if entries.len() + runs.len() > MAX_RUNS {
            entries.clear();
        }
        for (revision, run) in runs {
            entries.insert(run.info.run_id.clone(), (revision, run));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::entities::{Metric, Param, Run, Tag, ViewType};
    use crate::store::sql::SqlStore;
    use crate::store::{CreateRun, RunStore, SearchRuns, UpdateRun};

    async fn search(store: &SqlStore, experiment_id: &str, view: ViewType) -> Vec<Run> {
        store
            .search_runs(&SearchRuns {
                experiment_ids: vec![experiment_id.to_string()],
                run_view_type: view,
                order_by: vec!["metrics.acc DESC".into()],
                ..SearchRuns::default()
            })
            .await
            .unwrap()
            .items
    }

    fn tag<'a>(run: &'a Run, key: &str) -> Option<&'a str> {
        run.data
            .tags
            .iter()
            .find(|t| t.key == key)
            .map(|t| t.value.as_str())
    }

    /// Every kind of change shows in the next search: none is answered from
    /// an entry the change made stale, whoever wrote it.
    #[tokio::test]
    async fn a_search_after_any_change_sees_it() {
        let dir = tempfile::tempdir().unwrap();
        let uri = format!("sqlite:///{}", dir.path().join("smelt.db").display());
        let store = SqlStore::open(&uri, &dir.path().join("artifacts").display().to_string())
            .await
            .unwrap();
        assert!(store.run_cache.is_some());
        let experiment = "0";
        let run = store
            .create_run(&CreateRun {
                experiment_id: experiment.into(),
                run_name: Some("first".into()),
                ..CreateRun::default()
            })
            .await
            .unwrap();
        let id = run.info.run_id.clone();
        store
            .log_metric(&id, &Metric::new("acc", 0.5, 0))
            .await
            .unwrap();
        let cold = search(&store, experiment, ViewType::ActiveOnly).await;
        // The same page again, from the cache, is the same page.
        assert_eq!(search(&store, experiment, ViewType::ActiveOnly).await, cold);
        assert_eq!(cold[0].data.metrics[0].value, 0.5);

        store
            .log_metric(&id, &Metric::new("acc", 0.75, 1))
            .await
            .unwrap();
        let runs = search(&store, experiment, ViewType::ActiveOnly).await;
        assert_eq!(runs[0].data.metrics[0].value, 0.75);
        assert_eq!(runs[0].data.metrics[0].step, 1);

        store
            .log_param(&id, &Param::new("lr", "0.1"))
            .await
            .unwrap();
        store.set_tag(&id, &Tag::new("team", "a")).await.unwrap();
        let runs = search(&store, experiment, ViewType::ActiveOnly).await;
        assert_eq!(runs[0].data.params, vec![Param::new("lr", "0.1")]);
        assert_eq!(tag(&runs[0], "team"), Some("a"));

        store.set_tag(&id, &Tag::new("team", "b")).await.unwrap();
        assert_eq!(
            tag(
                &search(&store, experiment, ViewType::ActiveOnly).await[0],
                "team"
            ),
            Some("b")
        );
        store.delete_tag(&id, "team").await.unwrap();
        assert_eq!(
            tag(
                &search(&store, experiment, ViewType::ActiveOnly).await[0],
                "team"
            ),
            None
        );

        store
            .update_run(&UpdateRun {
                run_id: id.clone(),
                run_name: Some("renamed".into()),
                ..UpdateRun::default()
            })
            .await
            .unwrap();
        let runs = search(&store, experiment, ViewType::ActiveOnly).await;
        assert_eq!(runs[0].info.run_name, "renamed");

        // Another writer on the same file (another process, a console):
        // the database's triggers move the revision for it too.
        sqlx::query(
            "UPDATE tags SET value = 'edited' WHERE run_id = $1 AND key = 'mlflow.runName'",
        )
        .bind(id.clone())
        .execute(store.pool())
        .await
        .unwrap();
        let runs = search(&store, experiment, ViewType::ActiveOnly).await;
        assert_eq!(tag(&runs[0], "mlflow.runName"), Some("edited"));

        store.delete_run(&id).await.unwrap();
        assert!(
            search(&store, experiment, ViewType::ActiveOnly)
                .await
                .is_empty()
        );
        let deleted = search(&store, experiment, ViewType::DeletedOnly).await;
        assert_eq!(deleted[0].info.lifecycle_stage, "deleted");
    }
}
