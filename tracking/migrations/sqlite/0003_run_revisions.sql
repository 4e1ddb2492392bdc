-- A revision per run, moved in the same transaction as every change to the
-- run or to anything that belongs to it: the search's cache of whole runs
-- (store/sql/run_cache.rs) keys its entries by it, so a changed run is never
-- answered from the cache, whoever changed it (this server, another process
-- on the same file, a trigger).
ALTER TABLE runs ADD COLUMN revision INTEGER NOT NULL DEFAULT 0;

-- Recursive triggers are off, and the WHEN clause skips the triggers' own
-- updates of the revision.
CREATE TRIGGER runs_revision AFTER UPDATE ON runs WHEN NEW.revision = OLD.revision
BEGIN
    UPDATE runs SET revision = OLD.revision + 1 WHERE run_id = NEW.run_id;
END;

CREATE TRIGGER params_revision_insert AFTER INSERT ON params
BEGIN UPDATE runs SET revision = revision + 1 WHERE run_id = NEW.run_id; END;
CREATE TRIGGER params_revision_update AFTER UPDATE ON params
BEGIN UPDATE runs SET revision = revision + 1 WHERE run_id IN (OLD.run_id, NEW.run_id); END;
CREATE TRIGGER params_revision_delete AFTER DELETE ON params
BEGIN UPDATE runs SET revision = revision + 1 WHERE run_id = OLD.run_id; END;

CREATE TRIGGER tags_revision_insert AFTER INSERT ON tags
BEGIN UPDATE runs SET revision = revision + 1 WHERE run_id = NEW.run_id; END;
CREATE TRIGGER tags_revision_update AFTER UPDATE ON tags
BEGIN UPDATE runs SET revision = revision + 1 WHERE run_id IN (OLD.run_id, NEW.run_id); END;
CREATE TRIGGER tags_revision_delete AFTER DELETE ON tags
BEGIN UPDATE runs SET revision = revision + 1 WHERE run_id = OLD.run_id; END;

-- Metric points themselves live in metric_chunks; what a run shows of them
-- is latest_metrics, which the chunk trigger moves.
CREATE TRIGGER latest_metrics_revision_insert AFTER INSERT ON latest_metrics
BEGIN UPDATE runs SET revision = revision + 1 WHERE run_id = NEW.run_id; END;
CREATE TRIGGER latest_metrics_revision_update AFTER UPDATE ON latest_metrics
BEGIN UPDATE runs SET revision = revision + 1 WHERE run_id IN (OLD.run_id, NEW.run_id); END;
CREATE TRIGGER latest_metrics_revision_delete AFTER DELETE ON latest_metrics
BEGIN UPDATE runs SET revision = revision + 1 WHERE run_id = OLD.run_id; END;

CREATE TRIGGER dataset_inputs_revision_insert AFTER INSERT ON dataset_inputs
BEGIN UPDATE runs SET revision = revision + 1 WHERE run_id = NEW.run_id; END;
CREATE TRIGGER dataset_inputs_revision_update AFTER UPDATE ON dataset_inputs
BEGIN UPDATE runs SET revision = revision + 1 WHERE run_id IN (OLD.run_id, NEW.run_id); END;
CREATE TRIGGER dataset_inputs_revision_delete AFTER DELETE ON dataset_inputs
BEGIN UPDATE runs SET revision = revision + 1 WHERE run_id = OLD.run_id; END;

CREATE TRIGGER model_inputs_revision_insert AFTER INSERT ON model_inputs
BEGIN UPDATE runs SET revision = revision + 1 WHERE run_id = NEW.run_id; END;
CREATE TRIGGER model_inputs_revision_update AFTER UPDATE ON model_inputs
BEGIN UPDATE runs SET revision = revision + 1 WHERE run_id IN (OLD.run_id, NEW.run_id); END;
CREATE TRIGGER model_inputs_revision_delete AFTER DELETE ON model_inputs
BEGIN UPDATE runs SET revision = revision + 1 WHERE run_id = OLD.run_id; END;

CREATE TRIGGER model_outputs_revision_insert AFTER INSERT ON model_outputs
BEGIN UPDATE runs SET revision = revision + 1 WHERE run_id = NEW.run_id; END;
CREATE TRIGGER model_outputs_revision_update AFTER UPDATE ON model_outputs
BEGIN UPDATE runs SET revision = revision + 1 WHERE run_id IN (OLD.run_id, NEW.run_id); END;
CREATE TRIGGER model_outputs_revision_delete AFTER DELETE ON model_outputs
BEGIN UPDATE runs SET revision = revision + 1 WHERE run_id = OLD.run_id; END;
