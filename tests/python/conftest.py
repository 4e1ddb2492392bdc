"""Fixtures for the MLflow-client compatibility suite.

Every test runs against a real ``smelt server`` process, once per backend:

* ``sqlite``      -- SQLite file + local artifact directory;
* ``postgres_s3`` -- a fresh PostgreSQL database + an S3 bucket (moto_server).

Environment (``scripts/test.sh`` sets all of it):

* ``SMELT_BIN``              path to the ``smelt`` binary (default: target/debug/smelt)
* ``SMELT_TEST_POSTGRES``    admin URL (default postgresql://postgres@127.0.0.1:5432/test)
* ``SMELT_TEST_S3_ENDPOINT`` S3 endpoint (moto); without it ``postgres_s3`` is skipped
  unless ``SMELT_REQUIRE_PEERS=1``, in which case it fails
* ``SMELT_TEST_S3_BUCKET``   bucket (default smelt-test)
"""

from __future__ import annotations

import os

# Before mlflow is imported anywhere: fail fast instead of retrying a broken
# server for minutes, and never phone home.
os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "60")
os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"
os.environ["DO_NOT_TRACK"] = "true"
os.environ.setdefault("GIT_PYTHON_REFRESH", "quiet")
# The fluent API must not pick up an experiment from the caller's shell.
os.environ.pop("MLFLOW_EXPERIMENT_ID", None)
os.environ.pop("MLFLOW_EXPERIMENT_NAME", None)
os.environ.pop("MLFLOW_TRACKING_URI", None)
os.environ.pop("MLFLOW_REGISTRY_URI", None)

import secrets  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from pathlib import Path  # noqa: E402
from urllib.parse import urlsplit, urlunsplit  # noqa: E402

import pytest  # noqa: E402
import requests  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[2]
BACKENDS = ["sqlite", "postgres_s3"]
STARTUP_TIMEOUT_S = 30.0


class ServerURL(str):
    """The base URL of a running server (use it as a plain string), plus details
    the wire tests need: ``backend``, ``workdir``, ``artifacts_dir`` (sqlite),
    ``s3_bucket`` / ``s3_prefix`` (postgres_s3), ``log_path``."""

    backend: str
    workdir: Path
    artifacts_dir: Path | None
    s3_bucket: str | None
    s3_prefix: str | None
    log_path: Path


def _smelt_bin() -> str:
    env = os.environ.get("SMELT_BIN")
    if env:
        return env
    target = Path(os.environ.get("CARGO_TARGET_DIR", REPO_ROOT / "target"))
    if not target.is_absolute():
        target = REPO_ROOT / target
    return str(target / "debug" / "smelt")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _require_peers() -> bool:
    return os.environ.get("SMELT_REQUIRE_PEERS") == "1"


def _postgres_admin_url() -> str:
    return os.environ.get("SMELT_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


def _with_database(url: str, db: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + db, parts.query, parts.fragment))


def _psql(sql: str) -> None:
    proc = subprocess.run(
        ["psql", _postgres_admin_url(), "-v", "ON_ERROR_STOP=1", "-q", "-c", sql],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"psql {sql!r} failed ({proc.returncode}): {proc.stderr.strip()}")


def _s3_env() -> dict[str, str]:
    endpoint = os.environ["SMELT_TEST_S3_ENDPOINT"]
    env = {
        "AWS_ACCESS_KEY_ID": os.environ.get("AWS_ACCESS_KEY_ID", "testing"),
        "AWS_SECRET_ACCESS_KEY": os.environ.get("AWS_SECRET_ACCESS_KEY", "testing"),
        "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
        "AWS_ENDPOINT_URL": os.environ.get("AWS_ENDPOINT_URL", endpoint),
        "AWS_ALLOW_HTTP": os.environ.get("AWS_ALLOW_HTTP", "true"),
    }
    env.setdefault("AWS_REGION", env["AWS_DEFAULT_REGION"])
    return env


def s3_client():
    import boto3

    env = _s3_env()
    return boto3.client(
        "s3",
        endpoint_url=os.environ["SMELT_TEST_S3_ENDPOINT"],
        region_name=env["AWS_DEFAULT_REGION"],
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
    )


def _ensure_bucket(bucket: str) -> None:
    s3 = s3_client()
    try:
        s3.create_bucket(Bucket=bucket)
    except (s3.exceptions.BucketAlreadyOwnedByYou, s3.exceptions.BucketAlreadyExists):
        pass


def _tail(path: Path, n: int = 80) -> str:
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError as e:
        return f"<cannot read {path}: {e}>"
    return "\n".join(lines[-n:])


def _start_server(args: list[str], env: dict[str, str], log_path: Path) -> tuple[subprocess.Popen, str]:
    binary = _smelt_bin()
    if not os.path.isfile(binary) or not os.access(binary, os.X_OK):
        pytest.fail(f"smelt binary not found or not executable: {binary} (set SMELT_BIN)", pytrace=False)
    port = _free_port()
    cmd = [binary, "server", "--host", "127.0.0.1", "--port", str(port), *args]
    log = open(log_path, "wb")
    # Own process group, so teardown also ends anything the server spawned.
    proc = subprocess.Popen(
        cmd, stdout=log, stderr=subprocess.STDOUT, env=env, stdin=subprocess.DEVNULL, start_new_session=True
    )
    log.close()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    last = "no answer"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(
                f"smelt server exited with {proc.returncode} before answering /health\n"
                f"command: {' '.join(cmd)}\n--- server output ---\n{_tail(log_path)}",
                pytrace=False,
            )
        try:
            r = requests.get(url + "/health", timeout=2)
            if r.status_code == 200:
                return proc, url
            last = f"HTTP {r.status_code}: {r.text[:200]}"
        except requests.RequestException as e:
            last = repr(e)
        time.sleep(0.1)
    _stop(proc)
    pytest.fail(
        f"smelt server did not answer GET /health with 200 within {STARTUP_TIMEOUT_S:.0f} s "
        f"(last: {last})\ncommand: {' '.join(cmd)}\n--- server output ---\n{_tail(log_path)}",
        pytrace=False,
    )


def _signal_group(proc: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)  # the group we created with start_new_session
    except (ProcessLookupError, PermissionError):
        pass


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        _signal_group(proc, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            _signal_group(proc, signal.SIGKILL)
            proc.wait(timeout=10)


@pytest.fixture(scope="session", params=BACKENDS)
def server(request, tmp_path_factory):
    """Start ``smelt server`` on one backend; yields its base URL (a ``ServerURL``)."""
    backend = request.param
    workdir = tmp_path_factory.mktemp(f"smelt-{backend}")
    log_path = workdir / "server.log"
    env = dict(os.environ)
    env.setdefault("RUST_BACKTRACE", "1")
    env["SMELT_HOME"] = str(workdir / "home")  # nothing lands in the caller's ./.smelt
    database = None

    if backend == "sqlite":
        artifacts = workdir / "artifacts"
        args = [
            "--backend-store-uri", f"sqlite:///{workdir}/smelt.db",
            "--artifacts-destination", str(artifacts),
        ]
        s3_bucket = s3_prefix = None
    elif backend == "postgres_s3":
        if not os.environ.get("SMELT_TEST_S3_ENDPOINT"):
            msg = "postgres_s3 needs SMELT_TEST_S3_ENDPOINT (run scripts/test.sh, which starts moto_server)"
            if _require_peers():
                pytest.fail(msg + "; SMELT_REQUIRE_PEERS=1", pytrace=False)
            pytest.skip(msg)
        env.update(_s3_env())
        artifacts = None
        s3_bucket = os.environ.get("SMELT_TEST_S3_BUCKET", "smelt-test")
        s3_prefix = f"smelt-py-{secrets.token_hex(6)}"
        try:
            _ensure_bucket(s3_bucket)
        except Exception as e:  # noqa: BLE001
            pytest.fail(f"cannot reach S3 at {os.environ['SMELT_TEST_S3_ENDPOINT']}: {e}", pytrace=False)
        database = f"smelt_py_{secrets.token_hex(6)}"
        try:
            _psql(f"CREATE DATABASE {database}")
        except Exception as e:  # noqa: BLE001
            pytest.fail(f"cannot create the test database: {e}", pytrace=False)
        args = [
            "--backend-store-uri", _with_database(_postgres_admin_url(), database),
            "--artifacts-destination", f"s3://{s3_bucket}/{s3_prefix}",
        ]
    else:  # pragma: no cover
        raise AssertionError(backend)

    try:
        proc, url = _start_server(args, env, log_path)
    except BaseException:
        if database:
            _drop_database(database)
        raise

    base = ServerURL(url)
    base.backend = backend
    base.workdir = workdir
    base.artifacts_dir = artifacts
    base.s3_bucket = s3_bucket
    base.s3_prefix = s3_prefix
    base.log_path = log_path
    try:
        yield base
    finally:
        _stop(proc)
        if database:
            _drop_database(database)
    log_text = log_path.read_text(errors="replace")
    if "panicked at" in log_text:
        pytest.fail(f"smelt server ({backend}) panicked during the tests:\n{_tail(log_path, 60)}", pytrace=False)


def _drop_database(database: str) -> None:
    try:
        _psql(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
    except Exception as e:  # noqa: BLE001
        print(f"warning: could not drop database {database}: {e}")


@pytest.fixture
def unique() -> str:
    """A fresh hex id for names that must not clash across tests and backends."""
    return uuid.uuid4().hex


@pytest.fixture
def client(server):
    """Point the fluent API at ``server`` and return an ``MlflowClient`` for it."""
    import mlflow
    from mlflow import MlflowClient

    mlflow.set_tracking_uri(server)
    mlflow.set_registry_uri(server)
    c = MlflowClient(server, registry_uri=server)
    yield c
    while mlflow.active_run() is not None:
        mlflow.end_run()


@pytest.fixture
def experiment(client, unique):
    """A fresh experiment (made the fluent API's active one); yields its id."""
    import mlflow

    exp = mlflow.set_experiment(f"py-{unique}")
    return exp.experiment_id


def pytest_report_header(config):
    return [f"smelt binary: {_smelt_bin()}", f"tempdir: {tempfile.gettempdir()}"]
