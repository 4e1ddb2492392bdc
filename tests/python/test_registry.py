"""pyfunc models (MLflow 3 logged models) and the model registry."""

import os
import uuid

import mlflow
import numpy as np
import pandas as pd
import pytest
import yaml
from mlflow.exceptions import MlflowException


class Doubler(mlflow.pyfunc.PythonModel):  # (mlflow warns that predict has no type hints)
    def predict(self, context, model_input, params=None):
        return model_input * 2


INPUT = pd.DataFrame({"x": [1.0, 2.5, 4.0]})


def _assert_doubles(pred):
    expected = INPUT * 2
    if isinstance(pred, pd.DataFrame):
        pd.testing.assert_frame_equal(pred.reset_index(drop=True), expected, check_dtype=False)
    else:
        np.testing.assert_allclose(np.asarray(pred, dtype=float).ravel(), expected["x"].to_numpy())


@pytest.fixture(scope="module")
def logged_model(server):
    """One pyfunc model logged per server: (run_id, ModelInfo)."""
    mlflow.set_tracking_uri(server)
    mlflow.set_registry_uri(server)
    mlflow.set_experiment(f"py-models-{uuid.uuid4().hex}")
    with mlflow.start_run() as run:
        mlflow.log_metric("score", 0.75)
        info = mlflow.pyfunc.log_model(
            name="model",
            python_model=Doubler(),
            input_example=INPUT,
            pip_requirements=["mlflow==3.17.2"],  # skip the slow requirement inference
        )
    return run.info.run_id, info


@pytest.fixture
def model_name(unique):
    return f"py-model-{unique}"


def _code(exc_info):
    return exc_info.value.error_code


def test_log_model_and_load(client, logged_model, tmp_path):
    run_id, info = logged_model
    assert info.model_uri.startswith("models:/")
    assert info.run_id == run_id
    assert info.model_id and info.model_uri == f"models:/{info.model_id}"

    lm = client.get_logged_model(info.model_id)
    assert lm.model_id == info.model_id
    assert lm.name == "model"
    assert lm.source_run_id == run_id
    assert str(lm.status).endswith("READY"), lm.status
    assert lm.artifact_location.startswith("mlflow-artifacts:/")

    _assert_doubles(mlflow.pyfunc.load_model(info.model_uri).predict(INPUT))
    # runs:/<run>/model resolves through logged-models/search in MLflow 3
    _assert_doubles(mlflow.pyfunc.load_model(f"runs:/{run_id}/model").predict(INPUT))

    local = mlflow.artifacts.download_artifacts(info.model_uri, dst_path=str(tmp_path))
    mlmodel = yaml.safe_load(open(os.path.join(local, "MLmodel")))
    assert "python_function" in mlmodel["flavors"]
    assert mlmodel["model_id"] == info.model_id
    assert os.path.isfile(os.path.join(local, "python_model.pkl"))


def test_register_alias_and_load(client, logged_model, model_name, tmp_path):
    run_id, info = logged_model
    mv1 = mlflow.register_model(info.model_uri, model_name)
    assert mv1.name == model_name
    assert mv1.version == "1"
    assert mv1.status == "READY"
    mv2 = mlflow.register_model(info.model_uri, model_name)
    assert mv2.version == "2"
    assert mv2.status == "READY"

    got = client.get_model_version(model_name, "1")
    assert got.version == "1" and got.status == "READY" and got.current_stage == "None"
    assert got.source == info.model_uri or got.source.startswith("mlflow-artifacts:/"), got.source

    client.set_registered_model_alias(model_name, "champion", "1")
    by_alias = client.get_model_version_by_alias(model_name, "champion")
    assert by_alias.version == "1"
    assert "champion" in by_alias.aliases
    rm = client.get_registered_model(model_name)
    assert rm.aliases == {"champion": "1"}

    # move the alias
    client.set_registered_model_alias(model_name, "champion", "2")
    assert client.get_model_version_by_alias(model_name, "champion").version == "2"
    client.set_registered_model_alias(model_name, "champion", "1")
    assert client.get_model_version_by_alias(model_name, "champion").version == "1"

    model = mlflow.pyfunc.load_model(f"models:/{model_name}@champion")
    _assert_doubles(model.predict(INPUT))
    _assert_doubles(mlflow.pyfunc.load_model(f"models:/{model_name}/2").predict(INPUT))

    local = mlflow.artifacts.download_artifacts(f"models:/{model_name}@champion", dst_path=str(tmp_path))
    assert os.path.isfile(os.path.join(local, "MLmodel"))
    assert "python_function" in yaml.safe_load(open(os.path.join(local, "MLmodel")))["flavors"]

    uri = client.get_model_version_download_uri(model_name, "1")
    assert uri, "download uri must be non-empty"

    client.delete_registered_model_alias(model_name, "champion")
    with pytest.raises(MlflowException) as e:
        client.get_model_version_by_alias(model_name, "champion")
    assert _code(e) in ("INVALID_PARAMETER_VALUE", "RESOURCE_DOES_NOT_EXIST")
    assert client.get_registered_model(model_name).aliases == {}


def test_register_runs_uri(client, logged_model, model_name):
    run_id, info = logged_model
    mv = mlflow.register_model(f"runs:/{run_id}/model", model_name)
    assert mv.version == "1" and mv.status == "READY"
    assert mv.run_id == run_id
    _assert_doubles(mlflow.pyfunc.load_model(f"models:/{model_name}/1").predict(INPUT))


def test_model_version_gets_run_id_of_logged_model(client, logged_model, model_name):
    """Registering models:/<model_id> (the client sends no run_id): MLflow fills in the
    logged model's source_run_id."""
    run_id, info = logged_model
    mv = mlflow.register_model(info.model_uri, model_name)
    assert mv.run_id == run_id
    assert client.get_model_version(model_name, mv.version).run_id == run_id


def test_search_registered_models(client, logged_model, model_name):
    """The 3.17 client appends ``AND tag.`mlflow.prompt.is_prompt` != 'true'`` to every
    registered-model search: models without that tag must still match."""
    _, info = logged_model
    other = f"{model_name}-other"
    mlflow.register_model(info.model_uri, model_name)
    client.create_registered_model(other, tags={"kind": "other"})

    found = client.search_registered_models(filter_string=f"name='{model_name}'")
    assert [m.name for m in found] == [model_name]
    like = client.search_registered_models(filter_string=f"name LIKE '{model_name}%'", order_by=["name ASC"])
    assert [m.name for m in like] == [model_name, other]
    like_desc = client.search_registered_models(filter_string=f"name LIKE '{model_name}%'", order_by=["name DESC"])
    assert [m.name for m in like_desc] == [other, model_name]
    tagged = client.search_registered_models(filter_string=f"name LIKE '{model_name}%' AND tags.kind = 'other'")
    assert [m.name for m in tagged] == [other]
    assert any(m.name == model_name for m in client.search_registered_models(max_results=1000))
    assert found[0].latest_versions and found[0].latest_versions[0].version == "1"


def test_search_model_versions_and_stages(client, logged_model, model_name):
    _, info = logged_model
    other = f"{model_name}-other"
    for _ in range(3):
        mlflow.register_model(info.model_uri, model_name)
    mlflow.register_model(info.model_uri, other)

    versions = client.search_model_versions(f"name='{model_name}'")
    assert sorted(v.version for v in versions) == ["1", "2", "3"]
    assert all(v.name == model_name for v in versions)
    assert [v.version for v in client.search_model_versions(f"name='{other}'")] == ["1"]

    mv = client.transition_model_version_stage(model_name, "1", "Production")
    assert mv.current_stage == "Production"
    assert client.get_model_version(model_name, "1").current_stage == "Production"
    prod = client.get_latest_versions(model_name, stages=["Production"])
    assert [(v.version, v.current_stage) for v in prod] == [("1", "Production")]
    assert client.get_latest_versions(model_name, stages=["Staging"]) == []
    latest = {v.current_stage: v.version for v in client.get_latest_versions(model_name)}
    assert latest == {"Production": "1", "None": "3"}

    # promote 2 with archive_existing_versions
    client.transition_model_version_stage(model_name, "2", "Production", archive_existing_versions=True)
    assert client.get_model_version(model_name, "1").current_stage == "Archived"
    prod = client.get_latest_versions(model_name, stages=["Production"])
    assert [v.version for v in prod] == ["2"]


def test_tags_descriptions_rename_delete(client, logged_model, model_name):
    _, info = logged_model
    client.create_registered_model(model_name, tags={"owner": "alice"}, description="first")
    mlflow.register_model(info.model_uri, model_name)
    mlflow.register_model(info.model_uri, model_name)

    rm = client.get_registered_model(model_name)
    assert rm.tags == {"owner": "alice"}
    assert rm.description == "first"

    # registered model tags
    client.set_registered_model_tag(model_name, "task", "regression")
    assert client.get_registered_model(model_name).tags == {"owner": "alice", "task": "regression"}
    client.delete_registered_model_tag(model_name, "owner")
    assert client.get_registered_model(model_name).tags == {"task": "regression"}

    # model version tags
    client.set_model_version_tag(model_name, "1", "validated", "yes")
    client.set_model_version_tag(model_name, "1", "tmp", "x")
    assert client.get_model_version(model_name, "1").tags == {"validated": "yes", "tmp": "x"}
    client.delete_model_version_tag(model_name, "1", "tmp")
    assert client.get_model_version(model_name, "1").tags == {"validated": "yes"}
    assert client.get_model_version(model_name, "2").tags == {}

    # descriptions
    updated = client.update_registered_model(model_name, description="a better description")
    assert updated.description == "a better description"
    assert client.get_registered_model(model_name).description == "a better description"
    mv = client.update_model_version(model_name, "1", description="version one")
    assert mv.description == "version one"
    assert client.get_model_version(model_name, "1").description == "version one"

    # rename keeps versions and aliases
    client.set_registered_model_alias(model_name, "prod", "2")
    new_name = f"{model_name}-renamed"
    client.rename_registered_model(model_name, new_name)  # MlflowClient returns None here
    assert client.get_registered_model(new_name).name == new_name
    assert client.get_registered_model(new_name).description == "a better description"
    assert client.get_model_version(new_name, "1").name == new_name
    assert client.get_model_version(new_name, "1").tags == {"validated": "yes"}
    assert client.get_model_version_by_alias(new_name, "prod").version == "2"
    assert sorted(v.version for v in client.search_model_versions(f"name='{new_name}'")) == ["1", "2"]
    with pytest.raises(MlflowException) as e:
        client.get_registered_model(model_name)
    assert _code(e) == "RESOURCE_DOES_NOT_EXIST"

    # delete alias, version, model
    client.delete_registered_model_alias(new_name, "prod")
    with pytest.raises(MlflowException):
        client.get_model_version_by_alias(new_name, "prod")
    client.delete_model_version(new_name, "2")
    assert [v.version for v in client.search_model_versions(f"name='{new_name}'")] == ["1"]
    with pytest.raises(MlflowException) as e:
        client.get_model_version(new_name, "2")
    assert _code(e) == "RESOURCE_DOES_NOT_EXIST"
    client.delete_registered_model(new_name)
    with pytest.raises(MlflowException) as e:
        client.get_registered_model(new_name)
    assert _code(e) == "RESOURCE_DOES_NOT_EXIST"
    assert client.search_registered_models(filter_string=f"name='{new_name}'") == []
    assert client.search_model_versions(f"name='{new_name}'") == []


def test_version_numbers_not_reused(client, logged_model, model_name):
    """MLflow never hands out a deleted version number again (models:/name/2 must not
    silently point at a different model)."""
    _, info = logged_model
    for _ in range(2):
        mlflow.register_model(info.model_uri, model_name)
    client.delete_model_version(model_name, "2")
    assert mlflow.register_model(info.model_uri, model_name).version == "3"
    client.delete_model_version(model_name, "3")
    client.delete_model_version(model_name, "1")
    assert mlflow.register_model(info.model_uri, model_name).version == "4"


def test_create_model_version_directly(client, logged_model, model_name):
    run_id, info = logged_model
    client.create_registered_model(model_name)
    mv = client.create_model_version(
        model_name, info.model_uri, run_id=run_id, tags={"k": "v"}, description="direct", model_id=info.model_id
    )
    assert mv.version == "1"
    assert mv.status == "READY"
    assert mv.tags == {"k": "v"}
    assert mv.description == "direct"
    assert mv.run_id == run_id
    rm = client.get_registered_model(model_name)
    assert [v.version for v in rm.latest_versions] == ["1"]
