"""Runs: params, metrics (history, latest value, NaN/inf), tags, batches, lifecycle."""

import math
import time

import mlflow
from mlflow.entities import Metric, Param, RunStatus, RunTag, ViewType


def _now_ms() -> int:
    return int(time.time() * 1000)


def test_run_logging_roundtrip(client, experiment):
    before = _now_ms()
    with mlflow.start_run(run_name="r-basic") as run:
        run_id = run.info.run_id
        assert len(run_id) == 32 and all(c in "0123456789abcdef" for c in run_id)
        assert run.info.experiment_id == experiment
        assert run.info.status == "RUNNING"
        assert run.info.artifact_uri == f"mlflow-artifacts:/{experiment}/{run_id}/artifacts"

        mlflow.log_param("lr", 0.01)
        mlflow.log_params({"layers": 3, "optimizer": "adam"})
        for step in range(10):
            mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
        mlflow.log_metrics({"acc": 0.91, "f1": 0.8}, step=3)
        mlflow.set_tags({"team": "ml", "stage": "dev"})
        mlflow.set_tag("single", "x")
        ts = _now_ms()
        client.log_batch(
            run_id,
            metrics=[Metric("bm", 1.5, ts, 0), Metric("bm", 2.5, ts + 1, 1)],
            params=[Param("bp", "batch-param")],
            tags=[RunTag("bt", "batch-tag")],
        )

        live = client.get_run(run_id)
        assert live.info.status == "RUNNING"
        assert live.info.end_time is None

    after = _now_ms()
    r = client.get_run(run_id)
    # info
    assert r.info.run_id == run_id
    assert r.info.experiment_id == experiment
    assert r.info.run_name == "r-basic"
    assert r.info.status == "FINISHED"
    assert r.info.lifecycle_stage == "active"
    assert before - 1000 <= r.info.start_time <= after
    assert r.info.end_time is not None and r.info.start_time <= r.info.end_time <= after + 1000
    # params are strings
    assert r.data.params == {
        "lr": "0.01",
        "layers": "3",
        "optimizer": "adam",
        "bp": "batch-param",
    }
    # latest value per key
    assert r.data.metrics == {"loss": 0.1, "acc": 0.91, "f1": 0.8, "bm": 2.5}
    # tags (user tags + system tags set by the client/server)
    assert r.data.tags["team"] == "ml"
    assert r.data.tags["stage"] == "dev"
    assert r.data.tags["single"] == "x"
    assert r.data.tags["bt"] == "batch-tag"
    assert r.data.tags["mlflow.runName"] == "r-basic"
    assert "mlflow.user" in r.data.tags
    assert "mlflow.source.name" in r.data.tags

    hist = client.get_metric_history(run_id, "loss")
    assert [m.step for m in hist] == list(range(10))
    assert [m.value for m in hist] == [1.0 / (s + 1) for s in range(10)]
    assert all(m.key == "loss" for m in hist)
    assert all(before - 1000 <= m.timestamp <= after + 1000 for m in hist)

    bm = client.get_metric_history(run_id, "bm")
    assert [(m.step, m.value, m.timestamp) for m in bm] == [(0, 1.5, ts), (1, 2.5, ts + 1)]

    acc = client.get_metric_history(run_id, "acc")
    assert [(m.step, m.value) for m in acc] == [(3, 0.91)]

    assert client.get_metric_history(run_id, "never-logged") == []


def test_generated_run_name_and_rename(client, experiment):
    run = client.create_run(experiment)
    run_id = run.info.run_id
    name = run.info.run_name
    assert name, "server must generate a run name when none is given"
    fetched = client.get_run(run_id)
    assert fetched.info.run_name == name
    assert fetched.data.tags.get("mlflow.runName") == name

    client.update_run(run_id, name="renamed-run")
    fetched = client.get_run(run_id)
    assert fetched.info.run_name == "renamed-run"
    assert fetched.data.tags.get("mlflow.runName") == "renamed-run"
    assert fetched.info.status == "RUNNING"

    client.set_terminated(run_id, status="FAILED")
    fetched = client.get_run(run_id)
    assert fetched.info.status == "FAILED"
    assert fetched.info.end_time is not None


def test_latest_metric_is_highest_step(client, experiment):
    """MLflow keeps the value with the max (step, timestamp) as the run's metric."""
    run_id = client.create_run(experiment).info.run_id
    t0 = _now_ms()
    client.log_metric(run_id, "m", 5.0, timestamp=t0, step=5)
    client.log_metric(run_id, "m", 1.0, timestamp=t0 + 10, step=1)  # later but lower step
    assert client.get_run(run_id).data.metrics["m"] == 5.0
    client.log_metric(run_id, "m", 7.0, timestamp=t0 + 20, step=6)
    assert client.get_run(run_id).data.metrics["m"] == 7.0
    hist = sorted((m.step, m.value) for m in client.get_metric_history(run_id, "m"))
    assert hist == [(1, 1.0), (5, 5.0), (6, 7.0)]


def test_nan_and_inf_metrics(client, experiment):
    with mlflow.start_run() as run:
        mlflow.log_metric("nan", float("nan"), step=0)
        mlflow.log_metric("pinf", float("inf"), step=0)
        mlflow.log_metric("ninf", float("-inf"), step=0)
        mlflow.log_metric("mixed", 1.0, step=0)
        mlflow.log_metric("mixed", float("nan"), step=1)
        mlflow.log_metric("mixed", 3.0, step=2)
    run_id = run.info.run_id

    (nan,) = client.get_metric_history(run_id, "nan")
    assert math.isnan(nan.value)
    (pinf,) = client.get_metric_history(run_id, "pinf")
    assert math.isinf(pinf.value) and pinf.value > 0
    (ninf,) = client.get_metric_history(run_id, "ninf")
    assert math.isinf(ninf.value) and ninf.value < 0

    mixed = client.get_metric_history(run_id, "mixed")
    assert [m.step for m in mixed] == [0, 1, 2]
    assert mixed[0].value == 1.0 and math.isnan(mixed[1].value) and mixed[2].value == 3.0

    metrics = client.get_run(run_id).data.metrics
    assert math.isnan(metrics["nan"])
    assert metrics["pinf"] == float("inf")
    assert metrics["ninf"] == float("-inf")
    assert metrics["mixed"] == 3.0


def test_log_batch_many_metrics_and_params(client, experiment):
    run_id = client.create_run(experiment).info.run_id
    ts = _now_ms()
    metrics = [Metric("series", float(i), ts + i, i) for i in range(1500)]  # client splits at 1000
    params = [Param(f"p{i:03d}", str(i)) for i in range(150)]  # client splits at 100
    tags = [RunTag(f"t{i:03d}", f"v{i}") for i in range(120)]
    client.log_batch(run_id, metrics=metrics, params=params, tags=tags)
    r = client.get_run(run_id)
    assert r.data.metrics["series"] == 1499.0
    assert len(r.data.params) == 150 and r.data.params["p149"] == "149"
    assert r.data.tags["t119"] == "v119"
    hist = client.get_metric_history(run_id, "series")
    assert len(hist) == 1500
    assert sorted(m.step for m in hist) == list(range(1500))


def test_delete_tag(client, experiment):
    run_id = client.create_run(experiment, tags={"keep": "1", "drop": "2"}).info.run_id
    assert client.get_run(run_id).data.tags["drop"] == "2"
    client.delete_tag(run_id, "drop")
    tags = client.get_run(run_id).data.tags
    assert "drop" not in tags and tags["keep"] == "1"


def test_delete_and_restore_run(client, experiment):
    keep = client.create_run(experiment, run_name="keep").info.run_id
    gone = client.create_run(experiment, run_name="gone").info.run_id
    client.set_terminated(gone, status=RunStatus.to_string(RunStatus.FINISHED))

    client.delete_run(gone)
    r = client.get_run(gone)
    assert r.info.lifecycle_stage == "deleted"
    assert r.info.run_name == "gone"

    active = {x.info.run_id for x in client.search_runs([experiment])}
    assert active == {keep}
    deleted = {x.info.run_id for x in client.search_runs([experiment], run_view_type=ViewType.DELETED_ONLY)}
    assert deleted == {gone}
    everything = {x.info.run_id for x in client.search_runs([experiment], run_view_type=ViewType.ALL)}
    assert everything == {keep, gone}
    assert set(mlflow.search_runs([experiment])["run_id"]) == {keep}

    client.restore_run(gone)
    r = client.get_run(gone)
    assert r.info.lifecycle_stage == "active"
    assert r.info.status == "FINISHED"
    active = {x.info.run_id for x in client.search_runs([experiment])}
    assert active == {keep, gone}
