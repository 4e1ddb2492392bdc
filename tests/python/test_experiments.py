"""Experiments: create/find, artifact location, rename, tags, delete/restore, search."""

import mlflow
import pytest
from mlflow.entities import ViewType
from mlflow.exceptions import MlflowException


def test_set_experiment_creates_then_finds(client, unique):
    name = f"py-exp-{unique}"
    assert client.get_experiment_by_name(name) is None

    created = mlflow.set_experiment(name)
    assert created.name == name
    exp_id = created.experiment_id
    assert isinstance(exp_id, str) and exp_id != ""
    assert created.lifecycle_stage == "active"

    again = mlflow.set_experiment(name)
    assert again.experiment_id == exp_id

    by_name = client.get_experiment_by_name(name)
    assert by_name is not None
    assert by_name.experiment_id == exp_id
    assert by_name.name == name
    assert by_name.lifecycle_stage == "active"
    assert by_name.artifact_location.startswith("mlflow-artifacts:/"), by_name.artifact_location
    assert by_name.artifact_location.rstrip("/").endswith(exp_id), by_name.artifact_location
    assert by_name.creation_time and by_name.creation_time > 1_600_000_000_000
    assert by_name.last_update_time and by_name.last_update_time >= by_name.creation_time

    by_id = client.get_experiment(exp_id)
    assert by_id.name == name
    assert by_id.artifact_location == by_name.artifact_location

    # set_experiment by id as well
    assert mlflow.set_experiment(experiment_id=exp_id).name == name


def test_create_experiment_with_tags(client, unique):
    name = f"py-exp-{unique}"
    exp_id = client.create_experiment(name, tags={"team": "ml", "purpose": "compat"})
    exp = client.get_experiment(exp_id)
    assert exp.name == name
    assert exp.tags.get("team") == "ml"
    assert exp.tags.get("purpose") == "compat"


def test_rename_tags_delete_restore(client, unique):
    name = f"py-exp-{unique}"
    exp_id = client.create_experiment(name)

    # tags
    client.set_experiment_tag(exp_id, "team", "ml")
    client.set_experiment_tag(exp_id, "k2", "v2")
    client.set_experiment_tag(exp_id, "team", "ml-platform")  # overwrite
    tags = client.get_experiment(exp_id).tags
    assert tags.get("team") == "ml-platform"
    assert tags.get("k2") == "v2"
    client.delete_experiment_tag(exp_id, "k2")
    tags = client.get_experiment(exp_id).tags
    assert "k2" not in tags
    assert tags.get("team") == "ml-platform"

    # rename
    new_name = f"{name}-renamed"
    client.rename_experiment(exp_id, new_name)
    assert client.get_experiment(exp_id).name == new_name
    assert client.get_experiment_by_name(new_name).experiment_id == exp_id
    assert client.get_experiment_by_name(name) is None

    # delete: still readable by id / name, but lifecycle_stage deleted
    client.delete_experiment(exp_id)
    assert client.get_experiment(exp_id).lifecycle_stage == "deleted"
    found = client.get_experiment_by_name(new_name)
    assert found is not None and found.lifecycle_stage == "deleted"
    active_ids = [e.experiment_id for e in client.search_experiments(filter_string=f"name = '{new_name}'")]
    assert active_ids == []
    deleted_ids = [
        e.experiment_id
        for e in client.search_experiments(view_type=ViewType.DELETED_ONLY, filter_string=f"name = '{new_name}'")
    ]
    assert deleted_ids == [exp_id]

    # restore
    client.restore_experiment(exp_id)
    exp = client.get_experiment(exp_id)
    assert exp.lifecycle_stage == "active"
    assert exp.name == new_name
    active_ids = [e.experiment_id for e in client.search_experiments(filter_string=f"name = '{new_name}'")]
    assert active_ids == [exp_id]


def test_search_experiments(client, unique):
    prefix = f"py-srch-{unique}"
    ids = {}
    for suffix in ("a", "b", "c"):
        ids[suffix] = client.create_experiment(f"{prefix}-{suffix}", tags={"letter": suffix})
    # an experiment that must not match the LIKE pattern
    client.create_experiment(f"other-{unique}")

    def names(**kw):
        return [e.name for e in client.search_experiments(filter_string=f"name LIKE '{prefix}%'", **kw)]

    assert sorted(names()) == [f"{prefix}-a", f"{prefix}-b", f"{prefix}-c"]
    assert names(order_by=["name DESC"]) == [f"{prefix}-c", f"{prefix}-b", f"{prefix}-a"]
    assert names(order_by=["name ASC"]) == [f"{prefix}-a", f"{prefix}-b", f"{prefix}-c"]

    # tag filter combined with name
    tagged = client.search_experiments(filter_string=f"name LIKE '{prefix}%' AND tags.letter = 'b'")
    assert [e.experiment_id for e in tagged] == [ids["b"]]

    # pagination
    page1 = client.search_experiments(filter_string=f"name LIKE '{prefix}%'", order_by=["name ASC"], max_results=2)
    assert [e.name for e in page1] == [f"{prefix}-a", f"{prefix}-b"]
    assert page1.token
    page2 = client.search_experiments(
        filter_string=f"name LIKE '{prefix}%'", order_by=["name ASC"], max_results=2, page_token=page1.token
    )
    assert [e.name for e in page2] == [f"{prefix}-c"]
    assert not page2.token

    # view types
    client.delete_experiment(ids["b"])
    assert names(order_by=["name ASC"]) == [f"{prefix}-a", f"{prefix}-c"]
    assert names(view_type=ViewType.DELETED_ONLY) == [f"{prefix}-b"]
    assert names(view_type=ViewType.ALL, order_by=["name DESC"]) == [f"{prefix}-c", f"{prefix}-b", f"{prefix}-a"]

    # fluent search_experiments as well
    fluent = mlflow.search_experiments(filter_string=f"name LIKE '{prefix}%'", order_by=["name ASC"])
    assert [e.experiment_id for e in fluent] == [ids["a"], ids["c"]]


def test_set_experiment_on_deleted_experiment_fails(client, unique):
    name = f"py-exp-{unique}"
    exp_id = client.create_experiment(name)
    client.delete_experiment(exp_id)
    with pytest.raises(MlflowException):
        mlflow.set_experiment(name)
