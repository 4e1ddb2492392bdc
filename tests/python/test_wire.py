"""Raw HTTP checks of the wire format, below the MLflow client."""

import http.client
import json
import os
import secrets
import time
from urllib.parse import urlsplit

import pytest
import requests

API = "/api/2.0/mlflow"
ARTIFACTS = "/api/2.0/mlflow-artifacts/artifacts"


def _strict_json(text):
    """json.loads that refuses the non-standard NaN/Infinity tokens."""

    def bad_constant(name):
        raise ValueError(f"non-standard JSON constant {name}")

    return json.loads(text, parse_constant=bad_constant)


def _raw(server, method, path, body=b"", headers=None):
    """Send a request with the path exactly as given (requests/urllib3 would
    normalise '..' segments away). Returns (status, body bytes)."""
    u = urlsplit(server)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        hdrs = {"Content-Length": str(len(body))}
        hdrs.update(headers or {})
        for k, v in hdrs.items():
            conn.putheader(k, v)
        conn.endheaders(body)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def _create_experiment(server, unique):
    r = requests.post(f"{server}{API}/experiments/create", json={"name": f"wire-{unique}"}, timeout=30)
    assert r.status_code == 200, r.text
    exp_id = r.json()["experiment_id"]
    assert isinstance(exp_id, str)
    return exp_id


def _create_run(server, exp_id):
    r = requests.post(
        f"{server}{API}/runs/create",
        json={"experiment_id": exp_id, "start_time": int(time.time() * 1000), "run_name": "wire"},
        timeout=30,
    )
    assert r.status_code == 200, r.text
    info = r.json()["run"]["info"]
    return info


def test_health_and_server_info(server):
    r = requests.get(f"{server}/health", timeout=10)
    assert r.status_code == 200
    r = requests.get(f"{server}/api/3.0/mlflow/server-info", timeout=10)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/json")
    info = r.json()
    assert isinstance(info, dict)
    # the client only turns on multipart / presigned paths when these are true
    assert not info.get("multipart_uploads_enabled", False) or isinstance(info["multipart_uploads_enabled"], bool)


def test_unknown_routes_404(server):
    for method, path in [
        ("GET", f"{API}/does-not-exist"),
        ("POST", f"{API}/does-not-exist"),
        ("GET", "/api/2.0/nothing/here"),
    ]:
        r = requests.request(method, f"{server}{path}", json={} if method == "POST" else None, timeout=10)
        assert r.status_code == 404, f"{method} {path} -> {r.status_code} {r.text[:200]}"


def test_malformed_json_body(server, unique):
    r = requests.post(
        f"{server}{API}/runs/log-metric",
        data=b'{"run_id": "abc", "key": "m", "value": ',
        headers={"Content-Type": "application/json"},
        timeout=10,
    )
    assert r.status_code == 400, r.text
    body = r.json()
    assert isinstance(body.get("error_code"), str) and body["error_code"]
    assert body.get("message")


def test_error_statuses_and_bodies(server, unique):
    r = requests.get(f"{server}{API}/runs/get", params={"run_id": "0" * 32}, timeout=10)
    assert r.status_code == 404
    assert r.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"

    exp_id = _create_experiment(server, unique)
    r = requests.post(f"{server}{API}/experiments/create", json={"name": f"wire-{unique}"}, timeout=10)
    assert r.status_code == 400
    assert r.json()["error_code"] == "RESOURCE_ALREADY_EXISTS"

    r = requests.post(f"{server}{API}/experiments/create", json={}, timeout=10)
    assert r.status_code == 400
    assert r.json()["error_code"] == "INVALID_PARAMETER_VALUE"

    r = requests.get(f"{server}{API}/experiments/get-by-name", params={"experiment_name": f"nope-{unique}"}, timeout=10)
    assert r.status_code == 404
    assert r.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"

    run = _create_run(server, exp_id)
    r = requests.post(
        f"{server}{API}/runs/log-metric",
        json={"run_id": run["run_id"], "key": "m", "value": "notanumber", "timestamp": 1},
        timeout=10,
    )
    assert r.status_code == 400
    assert r.json()["error_code"] == "INVALID_PARAMETER_VALUE"

    r = requests.post(
        f"{server}{API}/runs/search",
        json={"experiment_ids": [exp_id], "max_results": 50001},
        timeout=10,
    )
    assert r.status_code == 400
    assert r.json()["error_code"] == "INVALID_PARAMETER_VALUE"


def test_wire_encoding(server, unique):
    exp_id = _create_experiment(server, unique)
    r = requests.get(f"{server}{API}/experiments/get", params={"experiment_id": exp_id}, timeout=10)
    assert r.status_code == 200
    exp = r.json()["experiment"]
    assert exp["experiment_id"] == exp_id
    assert exp["artifact_location"] == f"mlflow-artifacts:/{exp_id}"
    assert exp["lifecycle_stage"] == "active"
    assert isinstance(exp["creation_time"], int)

    info = _create_run(server, exp_id)
    run_id = info["run_id"]
    assert info["run_uuid"] == run_id
    assert info["experiment_id"] == exp_id
    assert info["status"] == "RUNNING"
    assert info["artifact_uri"] == f"mlflow-artifacts:/{exp_id}/{run_id}/artifacts"
    assert isinstance(info["start_time"], int)

    # int64 fields given as strings are accepted; NaN/Infinity as strings
    for body in (
        {"run_id": run_id, "key": "m", "value": 1.5, "timestamp": "1795650093842", "step": "7"},
        {"run_id": run_id, "key": "m", "value": "NaN", "timestamp": 1795650093843, "step": 8},
        {"run_id": run_id, "key": "m", "value": "Infinity", "timestamp": 1795650093844, "step": 9},
        {"run_id": run_id, "key": "m", "value": "-Infinity", "timestamp": 1795650093845, "step": 10},
    ):
        r = requests.post(f"{server}{API}/runs/log-metric", json=body, timeout=10)
        assert r.status_code == 200, (body, r.text)

    r = requests.get(f"{server}{API}/metrics/get-history", params={"run_id": run_id, "metric_key": "m"}, timeout=10)
    assert r.status_code == 200
    metrics = _strict_json(r.text)["metrics"]
    assert [(m["step"], m["value"], m["timestamp"]) for m in metrics] == [
        (7, 1.5, 1795650093842),
        (8, "NaN", 1795650093843),
        (9, "Infinity", 1795650093844),
        (10, "-Infinity", 1795650093845),
    ]

    # GET with repeated query keys, empty results are {} or an empty list
    r = requests.post(
        f"{server}{API}/runs/search",
        json={"experiment_ids": [exp_id], "filter": "metrics.m > 100000"},
        timeout=10,
    )
    assert r.status_code == 200
    assert _strict_json(r.text).get("runs", []) == []

    r = requests.get(f"{server}{API}/runs/get", params={"run_id": run_id}, timeout=10)
    assert r.status_code == 200
    data = _strict_json(r.text)["run"]["data"]
    latest = {m["key"]: m["value"] for m in data["metrics"]}
    assert latest == {"m": "-Infinity"}


def test_artifact_put_get_list(server, unique):
    exp_id = _create_experiment(server, unique)
    run_id = _create_run(server, exp_id)["run_id"]
    base = f"{exp_id}/{run_id}/artifacts"
    payload = os.urandom(1000)
    r = requests.put(f"{server}{ARTIFACTS}/{base}/dir/file.bin", data=payload, timeout=30)
    assert r.status_code == 200, r.text
    r = requests.get(f"{server}{ARTIFACTS}/{base}/dir/file.bin", timeout=30)
    assert r.status_code == 200
    assert r.content == payload
    r = requests.get(f"{server}{ARTIFACTS}", params={"path": base}, timeout=30)
    assert r.status_code == 200
    (d,) = r.json()["files"]
    assert d["path"] == "dir" and d["is_dir"] is True and d.get("file_size") is None, d
    r = requests.get(f"{server}{ARTIFACTS}", params={"path": f"{base}/dir"}, timeout=30)
    (f,) = r.json()["files"]
    assert (f["path"], f.get("is_dir", False), f["file_size"]) == ("file.bin", False, 1000), f
    r = requests.get(f"{server}{ARTIFACTS}", params={"path": f"{base}/dir/file.bin"}, timeout=30)
    assert r.status_code == 200 and r.json().get("files", []) == []
    r = requests.get(f"{server}{ARTIFACTS}/{base}/dir/missing.bin", timeout=30)
    assert r.status_code == 404


def _files_named(root, needle):
    hits = []
    for dirpath, dirs, files in os.walk(root):
        hits.extend(os.path.join(dirpath, f) for f in files + dirs if needle in f)
    return hits


def _s3_keys_named(server, needle):
    from conftest import s3_client

    keys = []
    for page in s3_client().get_paginator("list_objects_v2").paginate(Bucket=server.s3_bucket):
        keys.extend(o["Key"] for o in page.get("Contents", []))
    return [k for k in keys if needle in k]


@pytest.mark.parametrize(
    "template",
    [
        "1/../../etc/{name}",
        "1/%2e%2e/%2e%2e/etc/{name}",
        "1/%2E%2E/%2E%2E/etc/{name}",
        "1/..%2f..%2fetc/{name}",
        "1/..%2F..%2F..%2F..%2F..%2F..%2Ftmp/{name}",
        "%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/tmp/{name}",
        "1/2/artifacts/../../../../etc/{name}",
    ],
)
def test_artifact_path_traversal_rejected(server, template):
    """PUT with '..' segments (plain or percent-encoded) must be a 4xx and write nothing."""
    name = f"x-smelt-{secrets.token_hex(6)}"
    path = f"{ARTIFACTS}/{template.format(name=name)}"
    status, body = _raw(server, "PUT", path, b"pwned", {"Content-Type": "application/octet-stream"})
    assert 400 <= status < 500, f"PUT {path} -> {status} {body[:200]!r}"
    assert not os.path.exists(f"/etc/{name}")
    assert not os.path.exists(f"/tmp/{name}")
    assert _files_named(server.workdir, name) == []
    if server.s3_bucket:
        assert _s3_keys_named(server, name) == []


@pytest.mark.parametrize("template", ["/etc/{name}", "%2Fetc/{name}", "%2Ftmp%2F{name}"])
def test_artifact_absolute_path_stays_inside_root(server, template):
    """An absolute path is either refused (MLflow: 400) or kept under the artifact root."""
    name = f"x-smelt-{secrets.token_hex(6)}"
    path = f"{ARTIFACTS}/{template.format(name=name)}"
    status, body = _raw(server, "PUT", path, b"pwned", {"Content-Type": "application/octet-stream"})
    assert status < 500, f"PUT {path} -> {status} {body[:200]!r}"
    assert not os.path.exists(f"/etc/{name}")
    assert not os.path.exists(f"/tmp/{name}")
    for hit in _files_named(server.workdir, name):
        assert server.artifacts_dir is not None and os.path.realpath(hit).startswith(
            os.path.realpath(server.artifacts_dir) + os.sep
        ), f"PUT {path} -> {status} wrote {hit} outside the artifact root"
    if server.s3_bucket:
        for key in _s3_keys_named(server, name):
            assert key.startswith(server.s3_prefix + "/"), f"PUT {path} wrote s3 key {key!r}"


@pytest.mark.parametrize(
    "template",
    [
        "1/../../../../../../../../etc/passwd",
        "1/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
        "%2Fetc%2Fpasswd",
    ],
)
def test_artifact_read_traversal_rejected(server, template):
    status, body = _raw(server, "GET", f"{ARTIFACTS}/{template}")
    assert 400 <= status < 500, f"GET -> {status}"
    assert b"root:" not in body
    status, body = _raw(server, "GET", f"{ARTIFACTS}?path=" + template.replace("/", "%2F"))
    assert 400 <= status < 500 or body.strip() in (b"{}", b'{"files":[]}', b'{"files": []}'), (status, body[:200])
    assert b'"files"' not in body or b"passwd" not in body


def test_post_with_query_style_get_params(server, unique):
    """GET endpoints take their fields as a query string, repeated keys for lists."""
    exp_id = _create_experiment(server, unique)
    info = _create_run(server, exp_id)
    r = requests.get(f"{server}{API}/runs/get", params={"run_id": info["run_id"], "run_uuid": info["run_id"]}, timeout=10)
    assert r.status_code == 200
    assert r.json()["run"]["info"]["run_id"] == info["run_id"]
    r = requests.get(
        f"{server}{API}/experiments/search",
        params={"max_results": 10, "filter": f"name = 'wire-{unique}'", "view_type": "ALL"},
        timeout=10,
    )
    assert r.status_code == 200, r.text
    assert [e["experiment_id"] for e in r.json()["experiments"]] == [exp_id]


def test_oversized_bodies_are_refused(server, unique):
    """A log-batch over MLflow's 1 MB limit is a 400 as MLflow answers it; any
    JSON body over the server's 16 MiB limit is a 413; both with MLflow's
    error body, and nothing is logged."""
    exp_id = requests.post(f"{server}{API}/experiments/create", json={"name": f"big-{unique}"}).json()[
        "experiment_id"
    ]
    run_id = requests.post(f"{server}{API}/runs/create", json={"experiment_id": exp_id}).json()["run"][
        "info"
    ]["run_id"]
    tags = [{"key": f"t{i}", "value": "x" * 8000} for i in range(100)]
    params = [{"key": f"p{i}", "value": "y" * 6000} for i in range(100)]
    body = json.dumps({"run_id": run_id, "tags": tags, "params": params}).encode()
    assert len(body) > 1_000_000
    status, answer = _raw(
        server, "POST", f"{API}/runs/log-batch", body, {"Content-Type": "application/json"}
    )
    assert status == 400
    error = json.loads(answer)
    assert error["error_code"] == "INVALID_PARAMETER_VALUE"
    assert "1 MB" in error["message"]

    # A declared length over the limit is refused before the body is read, so
    # send only the start of it (sending 17 MiB into a closed socket would fail
    # on the client side, not tell us what the server said).
    status, answer = _raw(
        server,
        "POST",
        f"{API}/runs/set-tag",
        b'{"run_id": "' + run_id.encode() + b'", "key": "k", "value": "',
        {"Content-Type": "application/json", "Content-Length": str(17 * 1024 * 1024)},
    )
    assert status == 413
    assert json.loads(answer)["error_code"] == "REQUEST_LIMIT_EXCEEDED"

    run = requests.get(f"{server}{API}/runs/get", params={"run_id": run_id}).json()["run"]
    assert "params" not in run["data"]
    assert [t["key"] for t in run["data"].get("tags", [])] == ["mlflow.runName"]


def test_wrong_json_shapes_and_types(server):
    """A JSON array is not a request (400 BAD_REQUEST); a field of the wrong
    type is INVALID_PARAMETER_VALUE, as MLflow answers it."""
    r = requests.post(f"{server}{API}/runs/log-metric", json=[1, 2], timeout=10)
    assert r.status_code == 400, r.text
    assert r.json()["error_code"] == "BAD_REQUEST"
    r = requests.post(
        f"{server}{API}/runs/log-metric",
        json={"run_id": ["not", "a", "string"], "key": "m", "value": 1.0, "timestamp": 1},
        timeout=10,
    )
    assert r.status_code == 400, r.text
    assert r.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    r = requests.post(
        f"{server}{API}/runs/log-metric",
        json={"run_id": "x", "key": "m", "value": "not-a-number", "timestamp": 1},
        timeout=10,
    )
    assert r.status_code == 400, r.text
    assert r.json()["error_code"] == "INVALID_PARAMETER_VALUE"
