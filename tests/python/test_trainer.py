"""``smelt train`` against a Smelt server, read back with the official mlflow
client: the run, its metrics and datasets, the MLflow 3 logged model, the
registered version and the model folder (``MLmodel`` in the ``smelt`` flavor)."""

from __future__ import annotations

import json
import os
import subprocess

import mlflow
from mlflow.models import Model

from conftest import REPO_ROOT, _smelt_bin

DATA = REPO_ROOT / "datasets"


def _train(server, home, *args):
    env = dict(os.environ, SMELT_HOME=str(home))
    env.pop("SMELT_TRACKING_URI", None)
    out = subprocess.run(
        [_smelt_bin(), "train", "--tracking-uri", server, "--quiet", "--json", *args],
        capture_output=True, text=True, env=env, timeout=600,
    )
    assert out.returncode == 0, f"smelt train failed:\n{out.stderr}"
    return json.loads(out.stdout)


def test_a_smelt_training_run_is_an_mlflow_run_with_a_logged_model(server, client, unique, tmp_path):
    experiment, name = f"train-{unique}", f"wine-{unique}"
    outcome = _train(
        server, tmp_path / "home",
        "--data", str(DATA / "wine.train.csv"), "--validation", str(DATA / "wine.test.csv"),
        "--target", "target", "--model", "mlp", "--param", "hidden=[16]", "--epochs", "5",
        "--experiment", experiment, "--register", name, "--alias", "champion",
    )
    run = client.get_run(outcome["run_id"])
    assert run.info.status == "FINISHED"
    assert run.data.params["model"] == "mlp"
    assert run.data.params["epochs"] == "5"
    assert run.data.tags["smelt.device"] == "cpu (burn-flex)"
    assert 0.0 <= run.data.metrics["val_accuracy"] <= 1.0
    steps = [m.step for m in client.get_metric_history(run.info.run_id, "val_loss")]
    assert steps == [1, 2, 3, 4, 5]
    contexts = {
        tag.value
        for d in run.inputs.dataset_inputs
        for tag in d.tags
        if tag.key == "mlflow.data.context"
    }
    assert contexts == {"training", "validation"}
    assert all(len(d.dataset.digest) == 16 for d in run.inputs.dataset_inputs)

    experiment_id = client.get_experiment_by_name(experiment).experiment_id
    models = mlflow.search_logged_models(experiment_ids=[experiment_id], output_format="list")
    assert [m.model_id for m in models] == [outcome["logged_model_id"]]
    assert models[0].source_run_id == run.info.run_id
    assert str(models[0].status).endswith("READY")

    version = client.get_model_version_by_alias(name, "champion")
    assert version.version == "1" and version.run_id == run.info.run_id

    local = mlflow.artifacts.download_artifacts(f"models:/{name}@champion", dst_path=str(tmp_path / "m"))
    for file in ["MLmodel", "weights.safetensors", "preprocessing.json", "profile.json", "metrics.json", "input_example.json"]:
        assert os.path.isfile(os.path.join(local, file)), file
    model = Model.load(local)
    assert model.flavors["smelt"]["runtime"] == "burn"
    assert model.model_id == outcome["logged_model_id"]
    assert [c.name for c in model.signature.inputs.inputs][:2] == ["alcohol", "malic_acid"]
    profile = json.load(open(os.path.join(local, "profile.json")))
    assert profile["rows"] == 133 and profile["prediction"]["kind"] == "classification"

    plots = client.list_artifacts(run.info.run_id, "plots")
    assert [p.path for p in plots] == ["plots/confusion_matrix.svg"]
