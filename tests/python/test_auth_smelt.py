"""``smelt server --auth`` beyond MLflow's resources: jobs (submitting needs
EDIT on the job's experiment), endpoints (inference needs USE, or an invoke
key), monitors, tokens as ``MLFLOW_TRACKING_TOKEN`` for the official
client, and the audit log. The parity with MLflow's own basic-auth server
is in ``test_auth.py``."""

from __future__ import annotations

import os
import time
import uuid

import pytest
import requests

from conftest import REPO_ROOT, _start_server, _stop

ADMIN = ("admin", "admin password 1234")
PASSWORD = "user password 1234"
DATA = REPO_ROOT / "datasets"


@pytest.fixture(scope="module")
def auth_server(tmp_path_factory):
    home = tmp_path_factory.mktemp("auth-smelt")
    env = dict(
        os.environ,
        SMELT_HOME=str(home),
        SMELT_ADMIN_USERNAME=ADMIN[0],
        SMELT_ADMIN_PASSWORD=ADMIN[1],
    )
    for name in ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD", "MLFLOW_TRACKING_TOKEN"):
        env.pop(name, None)
    proc, url = _start_server(
        [
            "--auth",
            "--backend-store-uri", f"sqlite:///{home / 'smelt.db'}",
            "--artifacts-destination", str(home / "artifacts"),
            "--data-roots", str(DATA),
        ],
        env,
        home / "server.log",
    )
    try:
        yield url
    finally:
        _stop(proc)


def _user(url: str, name: str) -> tuple[str, str]:
    r = requests.post(f"{url}/api/2.0/mlflow/users/create", auth=ADMIN,
                      json={"username": name, "password": PASSWORD}, timeout=30)
    assert r.status_code == 200, r.text
    return (name, PASSWORD)


def _job_spec(experiment: str, model: str) -> str:
    return f"""
[data]
train = "{DATA / 'iris.train.csv'}"
validation = "{DATA / 'iris.test.csv'}"
target = "target"

[model]
kind = "logistic_regression"

[tracking]
experiment = "{experiment}"

[register]
name = "{model}"
alias = "champion"
"""


def _wait_job(url: str, auth, job_id: str) -> dict:
    deadline = time.monotonic() + float(os.environ.get("SMELT_JOB_WAIT", "300"))
    while time.monotonic() < deadline:
        r = requests.get(f"{url}/api/2.0/smelt/jobs/{job_id}", auth=auth, timeout=30)
        assert r.status_code == 200, r.text
        job = r.json()["job"]
        if job["status"] in ("SUCCEEDED", "FAILED", "CANCELLED"):
            return job
        time.sleep(0.5)
    pytest.fail(f"job {job_id} did not finish")


def test_jobs_endpoints_and_invoke_keys_follow_permissions(auth_server):
    url = auth_server
    tag = uuid.uuid4().hex[:8]
    alice, bob = _user(url, f"alice-{tag}"), _user(url, f"bob-{tag}")
    experiment, model = f"auth-jobs-{tag}", f"iris-{tag}"

    # Nothing without a login.
    assert requests.get(f"{url}/api/2.0/smelt/jobs", timeout=30).status_code == 401

    # Alice's job creates the experiment and the model: she manages both.
    r = requests.post(f"{url}/api/2.0/smelt/jobs", auth=alice,
                      json={"spec": _job_spec(experiment, model)}, timeout=60)
    assert r.status_code == 200, r.text
    job = _wait_job(url, alice, r.json()["job"]["job_id"])
    assert job["status"] == "SUCCEEDED", job

    # Bob reads by default but may not write into Alice's experiment.
    r = requests.post(f"{url}/api/2.0/smelt/jobs", auth=bob,
                      json={"spec": _job_spec(experiment, f"other-{tag}")}, timeout=60)
    assert r.status_code == 403, r.text
    assert r.json()["error_code"] == "PERMISSION_DENIED"
    listed = requests.get(f"{url}/api/2.0/smelt/jobs", auth=bob, timeout=30).json()["jobs"]
    assert job["job_id"] in [j["job_id"] for j in listed]
    r = requests.post(f"{url}/api/2.0/smelt/jobs/{job['job_id']}/cancel", auth=bob, timeout=30)
    assert r.status_code == 403, r.text

    # A job reading a file outside the data roots is refused before it runs.
    bad = _job_spec(f"bad-{tag}", f"bad-{tag}").replace(str(DATA / "iris.train.csv"), "/etc/passwd")
    r = requests.post(f"{url}/api/2.0/smelt/jobs", auth=alice, json={"spec": bad}, timeout=60)
    assert r.status_code == 400, r.text

    # Alice serves the model; Bob (READ) may look at the endpoint but not invoke it.
    endpoint = f"ep-{tag}"
    r = requests.post(f"{url}/api/2.0/smelt/endpoints", auth=alice,
                      json={"name": endpoint, "variants": [{"model": f"models:/{model}@champion"}]},
                      timeout=120)
    assert r.status_code == 200, r.text
    rows = {"dataframe_split": {"columns": ["sepal_length_cm", "sepal_width_cm", "petal_length_cm", "petal_width_cm"],
                                "data": [[5.1, 3.5, 1.4, 0.2]]}}
    invoke = f"{url}/endpoints/{endpoint}/invocations"
    assert requests.post(invoke, auth=alice, json=rows, timeout=30).status_code == 200
    assert requests.get(f"{url}/api/2.0/smelt/endpoints/{endpoint}", auth=bob, timeout=30).status_code == 200
    r = requests.post(invoke, auth=bob, json=rows, timeout=30)
    assert r.status_code == 403, r.text
    r = requests.delete(f"{url}/api/2.0/smelt/endpoints/{endpoint}", auth=bob, timeout=30)
    assert r.status_code == 403, r.text

    # Granting USE on the endpoint lets Bob invoke it.
    r = requests.post(f"{url}/api/3.0/mlflow/users/permissions/grant", auth=alice,
                      json={"username": bob[0], "resource_type": "endpoint", "resource_id": endpoint,
                            "permission": "USE"}, timeout=30)
    assert r.status_code == 200, r.text
    assert requests.post(invoke, auth=bob, json=rows, timeout=30).status_code == 200

    # An invoke key works for this endpoint's inference and nothing else.
    r = requests.post(f"{url}/api/2.0/smelt/tokens", auth=alice,
                      json={"name": f"app-{tag}", "endpoint": endpoint}, timeout=30)
    assert r.status_code == 200, r.text
    key = {"Authorization": f"Bearer {r.json()['token']}"}
    assert requests.post(invoke, headers=key, json=rows, timeout=30).status_code == 200
    r = requests.get(f"{url}/api/2.0/mlflow/experiments/search", headers=key, timeout=30)
    assert r.status_code == 403, r.text

    # Monitors: Bob may create one on an endpoint he can read; Alice cannot
    # delete Bob's monitor without a grant... but she can read it by default.
    monitor = f"mon-{tag}"
    r = requests.post(f"{url}/api/2.0/smelt/monitors", auth=bob,
                      json={"name": monitor, "endpoint": endpoint,
                            "reference": f"models:/{model}@champion", "window": {"rows": 50}},
                      timeout=60)
    assert r.status_code == 200, r.text
    r = requests.delete(f"{url}/api/2.0/smelt/monitors/{monitor}", auth=alice, timeout=30)
    assert r.status_code == 403, r.text
    r = requests.delete(f"{url}/api/2.0/smelt/monitors/{monitor}", auth=bob, timeout=30)
    assert r.status_code == 200, r.text


def test_a_token_is_the_official_clients_mlflow_tracking_token(auth_server, monkeypatch):
    import mlflow
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    url = auth_server
    tag = uuid.uuid4().hex[:8]
    carol = _user(url, f"carol-{tag}")
    r = requests.post(f"{url}/api/2.0/smelt/tokens", auth=carol,
                      json={"name": "notebook", "expires_in_seconds": 3600}, timeout=30)
    assert r.status_code == 200, r.text
    token = r.json()["token"]

    monkeypatch.delenv("MLFLOW_TRACKING_USERNAME", raising=False)
    monkeypatch.delenv("MLFLOW_TRACKING_PASSWORD", raising=False)
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", token)
    client = MlflowClient(tracking_uri=url)
    experiment_id = client.create_experiment(f"token-{tag}")
    run = client.create_run(experiment_id)
    client.log_metric(run.info.run_id, "loss", 0.25)
    assert client.get_run(run.info.run_id).data.metrics["loss"] == 0.25

    # Revoked: the client is refused.
    r = requests.delete(f"{url}/api/2.0/smelt/tokens/notebook", auth=carol, timeout=30)
    assert r.status_code == 200, r.text
    with pytest.raises(MlflowException):
        client.get_run(run.info.run_id)

    # Every write above is in the audit log, with who made it.
    deadline = time.monotonic() + 10
    while True:
        r = requests.get(f"{url}/api/2.0/smelt/audit", params={"since_ms": 0, "limit": 10000},
                         auth=ADMIN, timeout=30)
        assert r.status_code == 200, r.text
        actions = {(e.get("username"), e["action"]) for e in r.json()["entries"]}
        if (carol[0], "mlflow/runs/log-metric") in actions or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert (carol[0], "mlflow/experiments/create") in actions
    assert (carol[0], "mlflow/runs/log-metric") in actions
    del mlflow
