"""search_runs: filters, ordering, pagination (client API and pandas API)."""

import threading
import time

import mlflow
import pytest
from mlflow.entities import Metric, Param, RunTag


@pytest.fixture
def four_runs(client, experiment):
    """r1a, r1b (FINISHED), r2 (RUNNING), r3 (FINISHED, no metrics/params)."""
    ids = {}
    specs = {
        "r1a": dict(acc=0.9, lr="0.01", tags={"team": "ML-core"}, finish=True),
        "r1b": dict(acc=0.7, lr="0.1", tags={"team": "data"}, finish=True),
        "r2": dict(acc=0.3, lr="0.01", x="1", tags={}, finish=False),
        "r3": dict(tags={}, finish=True),
    }
    for name, spec in specs.items():
        run_id = client.create_run(experiment, run_name=name, tags=spec["tags"]).info.run_id
        ts = int(time.time() * 1000)
        metrics = [Metric("acc", spec["acc"], ts, 0)] if "acc" in spec else []
        params = [Param("lr", spec["lr"])] if "lr" in spec else []
        if "x" in spec:
            params.append(Param("x", spec["x"]))
        if metrics or params:
            client.log_batch(run_id, metrics=metrics, params=params)
        if spec["finish"]:
            client.set_terminated(run_id, status="FINISHED")
        ids[name] = run_id
        time.sleep(0.005)  # distinct start times
    return ids


def _names(ids, runs):
    by_id = {v: k for k, v in ids.items()}
    return [by_id[r.info.run_id] for r in runs]


@pytest.mark.parametrize(
    "filter_string, expected",
    [
        ("metrics.acc > 0.5", {"r1a", "r1b"}),
        ("metrics.acc >= 0.7 AND metrics.acc < 0.9", {"r1b"}),
        ("metrics.acc = 0.3", {"r2"}),
        ("params.lr = '0.01'", {"r1a", "r2"}),
        ("params.lr != '0.01'", {"r1b"}),
        ("params.x IS NULL", {"r1a", "r1b", "r3"}),
        ("params.x IS NOT NULL", {"r2"}),
        ("tags.`mlflow.runName` LIKE 'r1%'", {"r1a", "r1b"}),
        ("tags.team ILIKE 'ml%'", {"r1a"}),
        ("tags.team = 'data'", {"r1b"}),
        ("attributes.status = 'FINISHED'", {"r1a", "r1b", "r3"}),
        ("attributes.status != 'FINISHED'", {"r2"}),
        ("attributes.run_name = 'r3'", {"r3"}),
        ("metrics.acc > 0.5 AND params.lr = '0.01'", {"r1a"}),
        ("", {"r1a", "r1b", "r2", "r3"}),
    ],
)
def test_search_runs_filters(client, experiment, four_runs, filter_string, expected):
    runs = client.search_runs([experiment], filter_string=filter_string)
    assert set(_names(four_runs, runs)) == expected
    df = mlflow.search_runs(experiment_ids=[experiment], filter_string=filter_string)
    assert set(df["run_id"]) == {four_runs[n] for n in expected}


def test_search_runs_run_id_in(client, experiment, four_runs):
    a, b = four_runs["r1b"], four_runs["r3"]
    runs = client.search_runs([experiment], filter_string=f"attributes.run_id IN ('{a}', '{b}')")
    assert {r.info.run_id for r in runs} == {a, b}
    df = mlflow.search_runs(experiment_ids=[experiment], filter_string=f"attributes.run_id IN ('{a}','{b}')")
    assert set(df["run_id"]) == {a, b}


def test_search_runs_order_by(client, experiment, four_runs):
    desc = client.search_runs([experiment], order_by=["metrics.acc DESC"])
    assert _names(four_runs, desc) == ["r1a", "r1b", "r2", "r3"]  # no value sorts last
    asc = client.search_runs([experiment], order_by=["metrics.acc ASC"])
    assert _names(four_runs, asc) == ["r2", "r1b", "r1a", "r3"]
    # default order: start_time DESC
    default = client.search_runs([experiment])
    assert _names(four_runs, default) == ["r3", "r2", "r1b", "r1a"]
    by_name = client.search_runs([experiment], order_by=["attributes.run_name ASC"])
    assert _names(four_runs, by_name) == ["r1a", "r1b", "r2", "r3"]
    by_param = client.search_runs([experiment], filter_string="params.lr = '0.01'", order_by=["params.lr DESC", "metrics.acc ASC"])
    assert _names(four_runs, by_param) == ["r2", "r1a"]

    df = mlflow.search_runs(
        experiment_ids=[experiment], filter_string="metrics.acc > 0.5", order_by=["metrics.acc DESC"]
    )
    assert list(df["run_id"]) == [four_runs["r1a"], four_runs["r1b"]]
    assert list(df["metrics.acc"]) == [0.9, 0.7]
    assert list(df["params.lr"]) == ["0.01", "0.1"]
    assert list(df["status"]) == ["FINISHED", "FINISHED"]
    assert list(df["tags.mlflow.runName"]) == ["r1a", "r1b"]


def test_search_runs_max_results(client, experiment, four_runs):
    first = client.search_runs([experiment], max_results=3, order_by=["attributes.run_name ASC"])
    assert _names(four_runs, first) == ["r1a", "r1b", "r2"]
    assert first.token
    rest = client.search_runs(
        [experiment], max_results=3, order_by=["attributes.run_name ASC"], page_token=first.token
    )
    assert _names(four_runs, rest) == ["r3"]
    assert not rest.token


def test_search_runs_across_experiments(client, unique):
    e1 = client.create_experiment(f"py-x1-{unique}")
    e2 = client.create_experiment(f"py-x2-{unique}")
    r1 = client.create_run(e1).info.run_id
    r2 = client.create_run(e2).info.run_id
    assert {r.info.run_id for r in client.search_runs([e1, e2])} == {r1, r2}
    assert {r.info.run_id for r in client.search_runs([e2])} == {r2}


def test_pagination_1050_runs(client, experiment):
    n = 1050
    t0 = time.monotonic()
    ts = int(time.time() * 1000)
    for i in range(n):
        run_id = client.create_run(experiment, start_time=ts + i).info.run_id
        client.log_batch(run_id, metrics=[Metric("i", float(i), ts, 0)], params=[Param("idx", str(i))],
                         tags=[RunTag("bulk", "yes")])
    created_s = time.monotonic() - t0
    print(f"created {n} runs in {created_s:.1f}s")

    seen, sizes, values, token = [], [], [], None
    while True:
        page = client.search_runs([experiment], max_results=400, page_token=token, order_by=["metrics.i ASC"])
        sizes.append(len(page))
        seen.extend(r.info.run_id for r in page)
        values.extend(r.data.metrics["i"] for r in page)
        token = page.token
        if not token:
            break
        assert len(sizes) < 10, "pagination does not terminate"
    assert sizes == [400, 400, 250]
    assert len(set(seen)) == n
    assert values == [float(i) for i in range(n)]

    # default order (start_time DESC) across pages as well
    seen2, token = [], None
    while True:
        page = client.search_runs([experiment], max_results=400, page_token=token)
        seen2.extend(r.info.run_id for r in page)
        token = page.token
        if not token:
            break
    assert len(seen2) == n and set(seen2) == set(seen)
    assert seen2 == list(reversed(seen))  # start_time = ts + i

    df = mlflow.search_runs(experiment_ids=[experiment])
    assert len(df) == n
    assert set(df["run_id"]) == set(seen)
    assert sorted(df["params.idx"].astype(int)) == list(range(n))


def test_concurrent_logging_to_one_run(client, experiment):
    run_id = client.create_run(experiment).info.run_id
    errors = []

    def worker(k):
        try:
            for s in range(25):
                client.log_metric(run_id, "c", float(k * 100 + s), step=k * 100 + s)
            client.log_param(run_id, f"w{k}", str(k))
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    hist = client.get_metric_history(run_id, "c")
    assert sorted(m.step for m in hist) == sorted(k * 100 + s for k in range(4) for s in range(25))
    r = client.get_run(run_id)
    assert r.data.metrics["c"] == 324.0
    assert r.data.params == {f"w{k}": str(k) for k in range(4)}
