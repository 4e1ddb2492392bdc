-- Smelt tracking schema, version 1 (SQLite).
-- runs, params, tags and latest_metrics are WITHOUT ROWID tables: their rows
-- are looked up by their text keys on every search, and a clustered primary
-- key makes each such lookup one B-tree search instead of two.
-- Integer columns are INTEGER (64-bit in SQLite); doubles are REAL with NaN
-- stored as NULL plus is_nan, because SQLite turns NaN into NULL on its own.
CREATE TABLE experiments (
    experiment_id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    artifact_location TEXT NOT NULL,
    lifecycle_stage TEXT NOT NULL DEFAULT 'active',
    creation_time INTEGER,
    last_update_time INTEGER
);
CREATE TABLE experiment_tags (
    experiment_id INTEGER NOT NULL REFERENCES experiments(experiment_id),
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (experiment_id, key)
);
CREATE TABLE runs (
    run_id TEXT PRIMARY KEY,
    experiment_id INTEGER NOT NULL REFERENCES experiments(experiment_id),
    run_name TEXT NOT NULL,
    user_id TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL,
    start_time INTEGER,
    end_time INTEGER,
    artifact_uri TEXT NOT NULL,
    lifecycle_stage TEXT NOT NULL DEFAULT 'active',
    deleted_time INTEGER
) WITHOUT ROWID;
CREATE INDEX runs_by_experiment ON runs (experiment_id, lifecycle_stage, start_time DESC, run_id);
CREATE TABLE params (
    run_id TEXT NOT NULL REFERENCES runs(run_id),
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (run_id, key)
) WITHOUT ROWID;
CREATE INDEX params_by_key ON params (key, value);
CREATE TABLE tags (
    run_id TEXT NOT NULL REFERENCES runs(run_id),
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (run_id, key)
) WITHOUT ROWID;
CREATE INDEX tags_by_key ON tags (key, value);
-- Metric history in chunks: one row per (run, key) per logging call, holding
-- that call's points as JSON [[step, timestamp, value, model_id, dataset_name,
-- dataset_digest], ...] sorted by (step, timestamp); value is a number or
-- "NaN"/"Infinity"/"-Infinity". A 1,000-point log-batch writes a handful of
-- rows instead of 1,000 index entries; reads merge chunks by step.
CREATE TABLE metric_chunks (
    seq INTEGER PRIMARY KEY,
    run_id TEXT NOT NULL REFERENCES runs(run_id),
    key TEXT NOT NULL,
    min_step INTEGER NOT NULL,
    max_step INTEGER NOT NULL,
    n_points INTEGER NOT NULL,
    points TEXT NOT NULL
);
CREATE INDEX metric_chunks_by_key ON metric_chunks (run_id, key, min_step, seq);
-- Metrics that describe a logged model (MLflow 3 links them by model_id),
-- kept row by row so a model's metrics are one indexed lookup.
CREATE TABLE model_metrics (
    model_id TEXT NOT NULL,
    run_id TEXT NOT NULL,
    key TEXT NOT NULL,
    value REAL,
    is_nan INTEGER NOT NULL DEFAULT 0,
    step INTEGER NOT NULL,
    timestamp INTEGER NOT NULL,
    dataset_name TEXT,
    dataset_digest TEXT
);
CREATE INDEX model_metrics_by_model ON model_metrics (model_id, key, step);
CREATE TABLE latest_metrics (
    run_id TEXT NOT NULL REFERENCES runs(run_id),
    key TEXT NOT NULL,
    value REAL,
    is_nan INTEGER NOT NULL DEFAULT 0,
    step INTEGER NOT NULL,
    timestamp INTEGER NOT NULL,
    PRIMARY KEY (run_id, key)
) WITHOUT ROWID;
CREATE INDEX latest_metrics_by_key ON latest_metrics (key, value);
-- The latest value of each metric follows its chunks. A trigger keeps it in
-- the statement that inserts the chunk, so logging a metric is one statement.
-- A chunk's last point is its largest (step, timestamp); a later write wins a tie.
CREATE TRIGGER metric_chunks_update_latest AFTER INSERT ON metric_chunks
BEGIN
    INSERT INTO latest_metrics (run_id, key, value, is_nan, step, timestamp)
    SELECT NEW.run_id, NEW.key,
        CASE p.v WHEN 'NaN' THEN NULL WHEN 'Infinity' THEN 9e999 WHEN '-Infinity' THEN -9e999 ELSE p.v END,
        p.v = 'NaN', p.step, p.ts
    FROM (SELECT NEW.points ->> '$[#-1][0]' AS step, NEW.points ->> '$[#-1][1]' AS ts,
                 NEW.points ->> '$[#-1][2]' AS v) p
    WHERE true
    ON CONFLICT (run_id, key) DO UPDATE SET value = excluded.value, is_nan = excluded.is_nan,
        step = excluded.step, timestamp = excluded.timestamp
    WHERE excluded.step > latest_metrics.step
       OR (excluded.step = latest_metrics.step AND excluded.timestamp >= latest_metrics.timestamp);
END;
CREATE TABLE dataset_inputs (
    run_id TEXT NOT NULL REFERENCES runs(run_id),
    name TEXT NOT NULL,
    digest TEXT NOT NULL,
    source_type TEXT NOT NULL,
    source TEXT NOT NULL,
    schema TEXT,
    profile TEXT,
    tags_json TEXT NOT NULL,
    context TEXT,
    PRIMARY KEY (run_id, name, digest)
);
CREATE TABLE model_inputs (
    run_id TEXT NOT NULL REFERENCES runs(run_id),
    model_id TEXT NOT NULL,
    PRIMARY KEY (run_id, model_id)
);
CREATE TABLE model_outputs (
    run_id TEXT NOT NULL REFERENCES runs(run_id),
    model_id TEXT NOT NULL,
    step INTEGER NOT NULL,
    PRIMARY KEY (run_id, model_id)
);
CREATE TABLE logged_models (
    model_id TEXT PRIMARY KEY,
    experiment_id INTEGER NOT NULL REFERENCES experiments(experiment_id),
    name TEXT NOT NULL,
    artifact_uri TEXT NOT NULL,
    status TEXT NOT NULL,
    creation_timestamp_ms INTEGER NOT NULL,
    last_updated_timestamp_ms INTEGER NOT NULL,
    model_type TEXT,
    source_run_id TEXT,
    status_message TEXT,
    lifecycle_stage TEXT NOT NULL DEFAULT 'active'
);
CREATE INDEX logged_models_by_experiment ON logged_models (experiment_id, creation_timestamp_ms);
CREATE TABLE logged_model_tags (
    model_id TEXT NOT NULL REFERENCES logged_models(model_id),
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (model_id, key)
);
CREATE TABLE logged_model_params (
    model_id TEXT NOT NULL REFERENCES logged_models(model_id),
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (model_id, key)
);
CREATE TABLE registered_models (
    name TEXT PRIMARY KEY,
    creation_timestamp INTEGER NOT NULL,
    last_updated_timestamp INTEGER NOT NULL,
    description TEXT,
    user_id TEXT,
    -- The highest version number ever given, so deleted numbers are not reused.
    last_version INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE registered_model_tags (
    name TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (name, key)
);
CREATE TABLE model_versions (
    name TEXT NOT NULL,
    version INTEGER NOT NULL,
    creation_timestamp INTEGER NOT NULL,
    last_updated_timestamp INTEGER NOT NULL,
    description TEXT,
    user_id TEXT,
    current_stage TEXT NOT NULL DEFAULT 'None',
    source TEXT NOT NULL,
    run_id TEXT,
    run_link TEXT,
    status TEXT NOT NULL DEFAULT 'READY',
    status_message TEXT,
    model_id TEXT,
    PRIMARY KEY (name, version)
);
CREATE TABLE model_version_tags (
    name TEXT NOT NULL,
    version INTEGER NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (name, version, key)
);
CREATE TABLE registered_model_aliases (
    name TEXT NOT NULL,
    alias TEXT NOT NULL,
    version INTEGER NOT NULL,
    PRIMARY KEY (name, alias)
);
