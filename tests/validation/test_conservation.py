"""Conservation: per-instance reserved resources equal the sum over the tasks holding them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import ecssim

from . import reservation_mismatches

SCENARIOS = sorted((Path(__file__).resolve().parents[2] / "scenarios").glob("*.yaml"))

CHURN = {
    "version": 1,
    "name": "churn",
    "duration": "6h",
    "clusters": [{"clusterName": "prod"}],
    "instances": [
        {"cluster": "prod", "instance_type": "m5.large", "count": 6},
        {"cluster": "prod", "instance_type": "m5.xlarge", "count": 2, "at": "1h"},
    ],
    "task_definitions": [
        {
            "family": "web",
            "containerDefinitions": [
                {"name": "web", "image": "web:1", "cpu": 256, "memory": 512},
                {"name": "sidecar", "image": "log:1", "cpu": 128, "memory": 128,
                 "essential": False},
            ],
        },
        {
            "family": "job",
            "containerDefinitions": [{"name": "job", "image": "job:1", "cpu": 512,
                                      "memory": 1024}],
        },
    ],
    "services": [
        {"cluster": "prod", "serviceName": "web", "taskDefinition": "web", "desiredCount": 8}
    ],
    "task_behavior": {
        "web": {"crash": {"mtbf": {"exponential": {"mean": "40m"}}}},
        "job": {"runtime": {"lognormal": {"median": "15m", "sigma": 0.8}}},
    },
    "workloads": [
        {"cluster": "prod", "taskDefinition": "job", "arrivals": {"poisson": {"rate": "40/h"}}}
    ],
    "faults": [
        {"instance_failure": {"cluster": "prod", "mtbf": {"exponential": {"mean": "3h"}},
                              "replace_after": "10m"}},
    ],
    "actions": [
        {"at": "2h", "update_service": {"cluster": "prod", "service": "web", "desiredCount": 14}},
        {"at": "4h", "update_service": {"cluster": "prod", "service": "web", "desiredCount": 3}},
    ],
}  # fmt: skip


def _results():
    for path in SCENARIOS:
        yield path.stem, ecssim.run(path)
    for seed in (1, 2, 3):
        yield f"churn-{seed}", ecssim.run(CHURN, seed=seed)


@pytest.fixture(scope="module")
def results():
    out = dict(_results())
    for name, res in out.items():
        assert res.meta["error"] is None, name
    return out


@pytest.mark.parametrize("resource", ["cpu", "memory"])
def test_instance_reservation_equals_sum_of_tasks(results, resource):
    for name, res in results.items():
        assert len(res.tasks) > 0, name
        assert reservation_mismatches(res, resource) == [], name


def test_churn_exercises_every_release_path(results):
    tasks = pd.concat([r.tasks for n, r in results.items() if n.startswith("churn")])
    codes = set(tasks["stop_code"].dropna().astype(str))
    assert {"EssentialContainerExited", "TerminationNotice", "ServiceSchedulerInitiated"} <= codes


@pytest.mark.parametrize("resource", ["cpu", "memory"])
def test_cluster_level_is_sum_of_instances_and_within_registered(results, resource):
    for name, res in results.items():
        series = res.series
        per_instance = series[
            (series["metric"] == f"{resource}_reserved") & series["container_instance"].notna()
        ]
        cluster_rows = series[
            (series["metric"] == f"{resource}_reserved") & series["container_instance"].isna()
        ]
        registered = res.instances.set_index(res.instances["container_instance"].astype(str))[
            f"registered_{resource}"
        ]
        over = per_instance["value"].to_numpy(float) > registered.reindex(
            per_instance["container_instance"].astype(str)
        ).to_numpy(float)
        assert not over.any(), name
        assert (per_instance["value"] >= 0).all(), name
        for cluster, rows in cluster_rows.groupby(cluster_rows["cluster"].astype(str)):
            mine = per_instance[per_instance["cluster"].astype(str) == cluster]
            level = rows.groupby("t", sort=True)["value"].last()
            wide = (
                mine.assign(ci=mine["container_instance"].astype(str))
                .groupby(["t", "ci"], sort=True)["value"]
                .last()
                .unstack()
                .ffill()
                .fillna(0.0)
                .sum(axis=1)
            )
            both = wide.reindex(level.index, method="ffill").fillna(0.0)
            np.testing.assert_allclose(level.to_numpy(), both.to_numpy(), err_msg=name)
