"""Error cases as the MLflow client sees them (MlflowException.error_code)."""

import mlflow
import pytest
from mlflow.entities import Metric
from mlflow.exceptions import MlflowException


def _raises(code, fn, *args, **kwargs):
    with pytest.raises(MlflowException) as e:
        fn(*args, **kwargs)
    assert e.value.error_code == code, f"{fn.__name__}: got {e.value.error_code}: {e.value}"
    return e.value


def test_duplicate_experiment(client, unique):
    name = f"py-dup-{unique}"
    client.create_experiment(name)
    _raises("RESOURCE_ALREADY_EXISTS", client.create_experiment, name)


def test_unknown_run_and_experiment(client):
    _raises("RESOURCE_DOES_NOT_EXIST", client.get_run, "0" * 32)
    _raises("RESOURCE_DOES_NOT_EXIST", client.get_run, "doesnotexist")
    _raises("RESOURCE_DOES_NOT_EXIST", client.get_experiment, "987654321")
    _raises("RESOURCE_DOES_NOT_EXIST", client.get_registered_model, "no-such-model-" + "f" * 16)
    _raises("RESOURCE_DOES_NOT_EXIST", client.log_param, "0" * 32, "k", "v")


def test_or_filter_rejected(client, experiment):
    _raises("INVALID_PARAMETER_VALUE", client.search_runs, [experiment], "metrics.a > 1 OR metrics.b < 2")


@pytest.mark.parametrize(
    "bad_filter",
    [
        "metrics.a >",  # incomplete
        "params.lr > 1",  # numeric comparator on a param
        "foo.bar = 'x'",  # unknown entity
        "metrics.a = 'text'",  # string literal for a metric
    ],
)
def test_invalid_filters_rejected(client, experiment, bad_filter):
    _raises("INVALID_PARAMETER_VALUE", client.search_runs, [experiment], bad_filter)


def test_param_value_cannot_change(client, experiment):
    run_id = client.create_run(experiment).info.run_id
    client.log_param(run_id, "lr", "0.01")
    client.log_param(run_id, "lr", "0.01")  # same value again is fine
    err = _raises("INVALID_PARAMETER_VALUE", client.log_param, run_id, "lr", "0.02")
    assert "lr" in str(err)
    assert client.get_run(run_id).data.params == {"lr": "0.01"}


def test_missing_alias(client, unique):
    name = f"py-noalias-{unique}"
    client.create_registered_model(name)
    with pytest.raises(MlflowException) as e:
        client.get_model_version_by_alias(name, "champion")
    assert e.value.error_code in ("INVALID_PARAMETER_VALUE", "RESOURCE_DOES_NOT_EXIST")


def test_duplicate_registered_model(client, unique):
    name = f"py-dupmodel-{unique}"
    client.create_registered_model(name)
    _raises("RESOURCE_ALREADY_EXISTS", client.create_registered_model, name)


def test_logging_to_deleted_or_finished_runs(client, experiment):
    run_id = client.create_run(experiment).info.run_id
    client.delete_run(run_id)
    # MLflow refuses writes to a deleted run
    with pytest.raises(MlflowException) as e:
        client.log_metric(run_id, "m", 1.0)
    assert e.value.error_code == "INVALID_PARAMETER_VALUE"


def test_too_many_metrics_in_one_request_rejected(client, experiment):
    # The client chunks log_batch, so go one level down to send 1001 metrics at once.
    run_id = client.create_run(experiment).info.run_id
    store = mlflow.tracking._tracking_service.utils._get_store(client.tracking_uri)
    metrics = [Metric("m", float(i), 1_700_000_000_000, i) for i in range(1001)]
    with pytest.raises(MlflowException) as e:
        store.log_batch(run_id, metrics=metrics, params=[], tags=[])
    assert e.value.error_code == "INVALID_PARAMETER_VALUE"
    assert client.get_metric_history(run_id, "m") == []


def test_set_experiment_with_unknown_id(client):
    with pytest.raises(MlflowException) as e:
        mlflow.set_experiment(experiment_id="987654321")
    assert e.value.error_code == "RESOURCE_DOES_NOT_EXIST"
