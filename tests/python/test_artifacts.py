"""Artifacts through the server's proxy (mlflow-artifacts:/)."""

import json
import os

import mlflow


def _tree_files(root):
    out = {}
    for dirpath, _dirs, files in os.walk(root):
        for f in files:
            full = os.path.join(dirpath, f)
            out[os.path.relpath(full, root)] = open(full, "rb").read()
    return out


def test_log_list_download_artifacts(client, experiment, tmp_path):
    blob = os.urandom(4096) + bytes(range(256)) + b"\x00\r\n\xff"
    single = tmp_path / "single.bin"
    single.write_bytes(blob)

    tree = tmp_path / "tree"
    (tree / "a" / "b").mkdir(parents=True)
    (tree / "a" / "b" / "c.txt").write_text("nested c\n")
    (tree / "a" / "d.json").write_text(json.dumps({"d": [1, 2, 3]}))
    (tree / "top.txt").write_text("top\n")

    config = {"alpha": 0.5, "layers": [64, 32], "name": "ünïcode"}
    with mlflow.start_run() as run:
        run_id = run.info.run_id
        mlflow.log_dict(config, "cfg/config.json")
        mlflow.log_text("hello world\n", "notes/readme.txt")
        mlflow.log_text("space in name\n", "notes/with space.txt")
        mlflow.log_artifact(str(single))
        mlflow.log_artifact(str(single), artifact_path="bins")
        mlflow.log_artifacts(str(tree), artifact_path="tree")

    # root listing: direct children only, dirs flagged, sizes for files
    root = {f.path: f for f in client.list_artifacts(run_id)}
    assert set(root) == {"cfg", "notes", "single.bin", "bins", "tree"}
    for d in ("cfg", "notes", "bins", "tree"):
        assert root[d].is_dir, d
    assert not root["single.bin"].is_dir
    assert root["single.bin"].file_size == len(blob)

    nested = {f.path: f for f in client.list_artifacts(run_id, "tree/a")}
    assert set(nested) == {"tree/a/b", "tree/a/d.json"}
    assert nested["tree/a/b"].is_dir
    assert not nested["tree/a/d.json"].is_dir
    assert nested["tree/a/d.json"].file_size == len((tree / "a" / "d.json").read_bytes())

    deep = client.list_artifacts(run_id, "tree/a/b")
    assert [(f.path, f.is_dir, f.file_size) for f in deep] == [("tree/a/b/c.txt", False, len("nested c\n"))]

    notes = {f.path: f.file_size for f in client.list_artifacts(run_id, "notes")}
    assert notes == {"notes/readme.txt": 12, "notes/with space.txt": 14}

    # listing a file or a missing dir gives nothing
    assert client.list_artifacts(run_id, "single.bin") == []
    assert client.list_artifacts(run_id, "does/not/exist") == []

    # downloads compare byte for byte
    dl = tmp_path / "dl"
    dl.mkdir()
    local_tree = client.download_artifacts(run_id, "tree", str(dl))
    assert _tree_files(local_tree) == _tree_files(tree)

    local_single = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path="bins/single.bin", dst_path=str(dl))
    assert open(local_single, "rb").read() == blob

    everything = tmp_path / "all"
    everything.mkdir()
    local_all = mlflow.artifacts.download_artifacts(run_id=run_id, dst_path=str(everything))
    got = _tree_files(local_all)
    assert got["single.bin"] == blob
    assert got[os.path.join("tree", "a", "b", "c.txt")] == b"nested c\n"
    assert got[os.path.join("notes", "with space.txt")] == b"space in name\n"
    assert json.loads(got[os.path.join("cfg", "config.json")]) == config

    # the load_* helpers
    assert mlflow.artifacts.load_dict(f"runs:/{run_id}/cfg/config.json") == config
    assert mlflow.artifacts.load_text(f"runs:/{run_id}/notes/readme.txt") == "hello world\n"
    assert mlflow.artifacts.load_text(f"runs:/{run_id}/notes/with space.txt") == "space in name\n"


def test_artifact_overwrite_and_empty_file(client, experiment, tmp_path):
    with mlflow.start_run() as run:
        mlflow.log_text("first version", "f.txt")
        mlflow.log_text("second", "f.txt")
        empty = tmp_path / "empty.dat"
        empty.write_bytes(b"")
        mlflow.log_artifact(str(empty))
    run_id = run.info.run_id
    assert mlflow.artifacts.load_text(f"runs:/{run_id}/f.txt") == "second"
    listing = {f.path: f for f in client.list_artifacts(run_id)}
    assert listing["f.txt"].file_size == len("second")
    assert not listing["empty.dat"].is_dir
    assert listing["empty.dat"].file_size in (0, None)
    out = tmp_path / "out"
    out.mkdir()
    local = client.download_artifacts(run_id, "empty.dat", str(out))
    assert open(local, "rb").read() == b""
