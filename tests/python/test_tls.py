"""HTTPS with ``--tls-cert``/``--tls-key``: the official mlflow client, trusting
only a CA this test makes (``MLFLOW_TRACKING_SERVER_CERT_PATH``), tracks a run
with metrics and an artifact on ``smelt server``; plain HTTP on the same port
is redirected or refused; ``smelt serve`` answers predictions over HTTPS; and
unusable certificate files stop the command with a message naming the flag."""

from __future__ import annotations

import datetime
import ipaddress
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from mlflow import MlflowClient

from conftest import REPO_ROOT, _free_port, _smelt_bin, _tail

DATA = REPO_ROOT / "datasets"
STARTUP_TIMEOUT_S = 120.0


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _write_pki(folder: Path) -> dict[str, Path]:
    """A CA and a server certificate it signed for localhost and 127.0.0.1."""
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(_name("smelt test CA"))
        .issuer_name(_name("smelt test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
                key_encipherment=False, data_encipherment=False, key_agreement=False,
                encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("localhost"))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    paths = {"ca": folder / "ca.pem", "cert": folder / "server.pem", "key": folder / "server-key.pem"}
    paths["ca"].write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    paths["cert"].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths["key"].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return paths


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> dict[str, Path]:
    return _write_pki(tmp_path_factory.mktemp("pki"))


def _env(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["SMELT_HOME"] = str(home)
    for name in ("SMELT_TRACKING_URI", "SMELT_DATABASE_URL", "SMELT_ARTIFACTS", "SMELT_TLS_CERT", "SMELT_TLS_KEY"):
        env.pop(name, None)
    return env


class _Process:
    """A smelt server or serve process on a free port, stopped by ``stop``."""

    def __init__(self, args: list[str], home: Path, ready_path: str, ca: Path):
        self.port = _free_port()
        self.log = home.parent / f"{home.name}-{self.port}.log"
        home.mkdir(parents=True, exist_ok=True)
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(
                [_smelt_bin(), *args, "--host", "127.0.0.1", "--port", str(self.port)],
                stdout=log, stderr=subprocess.STDOUT, env=_env(home), stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self.url = f"https://localhost:{self.port}"
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        last = "no answer"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"{args[0]} exited with {self.proc.returncode}:\n{_tail(self.log)}", pytrace=False)
            try:
                answer = requests.get(self.url + ready_path, verify=str(ca), timeout=5)
                if answer.status_code == 200:
                    return
                last = f"HTTP {answer.status_code}"
            except requests.RequestException as e:
                last = repr(e)
            time.sleep(0.2)
        self.stop()
        pytest.fail(f"{args[0]} did not answer {ready_path} over https ({last}):\n{_tail(self.log)}", pytrace=False)

    def stop(self) -> str:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=40)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        text = self.log.read_text(errors="replace")
        assert "panicked at" not in text, text
        return text


@pytest.fixture(scope="module")
def tls_server(pki, tmp_path_factory):
    home = tmp_path_factory.mktemp("tls-server") / "home"
    server = _Process(
        ["server", "--tls-cert", str(pki["cert"]), "--tls-key", str(pki["key"])],
        home, "/health", pki["ca"],
    )
    yield server
    log = server.stop()
    assert f"listening on https://127.0.0.1:{server.port}" in log, log


def test_the_mlflow_client_tracks_a_run_over_https(tls_server, pki, monkeypatch, tmp_path):
    monkeypatch.setenv("MLFLOW_TRACKING_SERVER_CERT_PATH", str(pki["ca"]))
    client = MlflowClient(tls_server.url)

    experiment_id = client.create_experiment("over-https")
    run = client.create_run(experiment_id)
    client.log_param(run.info.run_id, "optimizer", "adam")
    for step, loss in enumerate([0.9, 0.5, 0.25]):
        client.log_metric(run.info.run_id, "loss", loss, step=step)
    notes = tmp_path / "notes.txt"
    notes.write_text("sent over TLS\n")
    client.log_artifact(run.info.run_id, str(notes), artifact_path="docs")
    client.set_terminated(run.info.run_id)

    fetched = client.get_run(run.info.run_id)
    assert fetched.data.params == {"optimizer": "adam"}
    assert fetched.data.metrics == {"loss": 0.25}
    assert [m.value for m in client.get_metric_history(run.info.run_id, "loss")] == [0.9, 0.5, 0.25]
    assert client.get_experiment(experiment_id).name == "over-https"
    assert [f.path for f in client.list_artifacts(run.info.run_id, "docs")] == ["docs/notes.txt"]
    downloaded = client.download_artifacts(run.info.run_id, "docs/notes.txt", str(tmp_path / "back"))
    assert Path(downloaded).read_text() == "sent over TLS\n"


def test_a_client_that_does_not_trust_the_ca_is_refused_and_the_server_keeps_serving(tls_server, pki):
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(tls_server.url + "/health", timeout=10)
    assert requests.get(tls_server.url + "/health", verify=str(pki["ca"]), timeout=10).status_code == 200


def test_plain_http_on_the_https_port_is_redirected_or_refused(tls_server, pki):
    plain = f"http://localhost:{tls_server.port}"
    page = requests.get(plain + "/health", allow_redirects=False, timeout=10)
    assert page.status_code == 307
    assert page.headers["Location"] == f"{tls_server.url}/health"
    # Following it lands on the HTTPS server.
    followed = requests.get(plain + "/health", verify=str(pki["ca"]), timeout=10)
    assert followed.status_code == 200
    assert followed.url == f"{tls_server.url}/health"

    write = requests.post(plain + "/api/2.0/mlflow/experiments/create", json={"name": "x"}, timeout=10)
    assert write.status_code == 400
    assert write.json() == {
        "error_code": "BAD_REQUEST",
        "message": f"this server speaks HTTPS: use {tls_server.url}/",
    }


def test_smelt_serve_answers_predictions_over_https(pki, tmp_path):
    home = tmp_path / "home"
    trained = subprocess.run(
        [
            _smelt_bin(), "train", "--data", str(DATA / "iris.train.csv"), "--target", "target",
            "--model", "logistic_regression", "--register", "iris", "--quiet",
        ],
        capture_output=True, text=True, env=_env(home), timeout=600,
    )
    assert trained.returncode == 0, trained.stderr
    serve = _Process(
        ["serve", "--model", "models:/iris/1", "--tls-cert", str(pki["cert"]), "--tls-key", str(pki["key"])],
        home, "/ping", pki["ca"],
    )
    try:
        answer = requests.post(
            serve.url + "/invocations",
            json={"dataframe_records": [
                {"sepal_length_cm": 5.1, "sepal_width_cm": 3.5, "petal_length_cm": 1.4, "petal_width_cm": 0.2}
            ]},
            verify=str(pki["ca"]),
            timeout=30,
        )
        assert answer.status_code == 200, answer.text
        assert len(answer.json()["predictions"]) == 1
    finally:
        log = serve.stop()
    assert f"on https://127.0.0.1:{serve.port}" in log, log


@pytest.mark.parametrize(
    ("which", "flag", "expected"),
    [
        ("missing-cert", "--tls-cert", "cannot read"),
        ("key-as-cert", "--tls-cert", "no PEM certificate"),
        ("cert-as-key", "--tls-key", "no PEM private key"),
    ],
)
def test_unusable_certificate_files_stop_the_server_naming_the_flag(pki, tmp_path, which, flag, expected):
    cert, key = {
        "missing-cert": (tmp_path / "absent.pem", pki["key"]),
        "key-as-cert": (pki["key"], pki["key"]),
        "cert-as-key": (pki["cert"], pki["cert"]),
    }[which]
    out = subprocess.run(
        [_smelt_bin(), "server", "--port", "0", "--tls-cert", str(cert), "--tls-key", str(key)],
        capture_output=True, text=True, env=_env(tmp_path / "home"), timeout=60,
    )
    assert out.returncode != 0
    assert f"{flag}: " in out.stderr and expected in out.stderr, out.stderr
    assert "panicked" not in out.stderr


def test_a_certificate_without_its_key_is_a_usage_error(pki, tmp_path):
    out = subprocess.run(
        [_smelt_bin(), "server", "--port", "0", "--tls-cert", str(pki["cert"])],
        capture_output=True, text=True, env=_env(tmp_path / "home"), timeout=60,
    )
    assert out.returncode == 2
    assert "--tls-key" in out.stderr, out.stderr
