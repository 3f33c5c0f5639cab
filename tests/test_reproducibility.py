"""Same scenario + seed -> identical frames; named streams keep sources independent."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd

import ecssim

SCENARIO = {
    "version": 1,
    "name": "repro",
    "duration": "3h",
    "clusters": [{"clusterName": "prod"}],
    "instances": [{"cluster": "prod", "instance_type": "m5.large", "count": 4}],
    "task_definitions": [
        {
            "family": "web",
            "containerDefinitions": [
                {"name": "app", "image": "web:1", "memory": 512, "cpu": 256, "essential": True}
            ],
        },
        {
            "family": "job",
            "containerDefinitions": [
                {"name": "app", "image": "job:1", "memory": 1024, "cpu": 512, "essential": True}
            ],
        },
    ],
    "services": [
        {"cluster": "prod", "serviceName": "web", "taskDefinition": "web", "desiredCount": 4}
    ],
    "task_behavior": {
        "web": {"crash": {"mtbf": "1h"}},
        "job": {"runtime": {"exponential": {"mean": "10m"}}},
    },
    "workloads": [
        {"cluster": "prod", "taskDefinition": "job", "arrivals": {"poisson": {"rate": "30/h"}}}
    ],
    "faults": [
        {
            "instance_failure": {
                "cluster": "prod",
                "mtbf": {"exponential": {"mean": "2h"}},
                "replace_after": "5m",
            }
        }
    ],
}


def _scenario(**faults):
    doc = {
        **SCENARIO,
        "faults": [{"instance_failure": {**SCENARIO["faults"][0]["instance_failure"], **faults}}],
    }
    return doc


def test_same_seed_identical_frames():
    a = ecssim.run(SCENARIO, seed=11)
    b = ecssim.run(SCENARIO, seed=11)
    assert a.meta["error"] is None
    assert len(a.tasks) > 10
    for name, frame in a.frames.items():
        pd.testing.assert_frame_equal(frame, b.frames[name], obj=name)


def test_different_seed_different_frames():
    a = ecssim.run(SCENARIO, seed=11)
    b = ecssim.run(SCENARIO, seed=12)
    assert not a.tasks[["created_at", "started_at"]].equals(b.tasks[["created_at", "started_at"]])


def _workload_view(result):
    tasks = result.tasks
    jobs = tasks[tasks.started_by == "workload[0]"]
    fails = result.failures[result.failures.family == "job"]
    calls = sorted(jobs.created_at.tolist() + fails.t.tolist())
    finished = jobs[(jobs.stop_code == "EssentialContainerExited") & (jobs.exit_code == 0)]
    runtimes = dict(
        zip(
            finished.created_at.round(9),
            (finished.stopping_at - finished.started_at).round(9),
            strict=True,
        )
    )
    return calls, runtimes


def test_failure_rate_leaves_workload_untouched():
    base = ecssim.run(_scenario(), seed=5)
    other = ecssim.run(_scenario(mtbf={"exponential": {"mean": "40m"}}), seed=5)
    # The failures really differ...
    lost_a = (base.tasks.stop_code == "TerminationNotice").sum()
    lost_b = (other.tasks.stop_code == "TerminationNotice").sum()
    assert base.instances.shape[0] != other.instances.shape[0] or lost_a != lost_b
    calls_a, run_a = _workload_view(base)
    calls_b, run_b = _workload_view(other)
    assert len(calls_a) > 20
    assert calls_a == calls_b
    common = set(run_a) & set(run_b)
    assert len(common) > 10
    for key in common:
        assert run_a[key] == run_b[key], key


_CHILD = textwrap.dedent(
    """
    import hashlib, sys
    import pandas as pd
    import ecssim
    from tests.test_reproducibility import SCENARIO
    res = ecssim.run(SCENARIO, seed=3, until="1h")
    digest = hashlib.sha256()
    for name in ("tasks", "failures", "instances", "events", "series"):
        frame = res.frames[name]
        digest.update(pd.util.hash_pandas_object(frame.astype(str), index=True).values.tobytes())
    print(digest.hexdigest())
    """
)


def _child_hash(hashseed: str, code: str = _CHILD) -> str:
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONHASHSEED": hashseed, "PYTHONPATH": str(root)}
    out = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return out.stdout.strip().splitlines()[-1]


def test_frames_independent_of_pythonhashseed():
    assert _child_hash("1") == _child_hash("4242")


_DESCRIBE = textwrap.dedent(
    """
    from ecssim.simulation import Simulation
    sim = Simulation(seed=1)
    sim.ecs.create_cluster(clusterName="prod")
    sim.ecs.register_task_definition(family="web", containerDefinitions=[
        {"name": "a", "image": "a", "memory": 128}])
    sim.ecs.create_service(cluster="prod", serviceName="web", taskDefinition="web",
                           desiredCount=0)
    svc = sim.ecs.describe_services(cluster="prod", services=["web"])["services"][0]
    print(svc["deployments"][0]["id"])
    """
)


def test_describe_services_independent_of_pythonhashseed():
    assert _child_hash("1", _DESCRIBE) == _child_hash("4242", _DESCRIBE)


def test_digest_is_stable_within_process():
    a = ecssim.run(SCENARIO, seed=3, until="1h").tasks
    h = hashlib.sha256(pd.util.hash_pandas_object(a.astype(str)).values.tobytes()).hexdigest()
    b = ecssim.run(SCENARIO, seed=3, until="1h").tasks
    assert (
        h == hashlib.sha256(pd.util.hash_pandas_object(b.astype(str)).values.tobytes()).hexdigest()
    )


_SAVE_CHILD = textwrap.dedent(
    """
    import sys
    import ecssim
    ecssim.run(sys.argv[1], seed=int(sys.argv[2])).save(sys.argv[3])
    """
)


def test_bundled_scenario_identical_across_processes_and_hash_seeds(tmp_path):
    """Two fresh interpreters, different PYTHONHASHSEED: the saved frames are equal exactly."""
    root = Path(__file__).resolve().parents[1]
    scenario = root / "scenarios" / "batch-runtask.yaml"
    runs = []
    for hashseed in ("0", "987654"):
        out = tmp_path / f"run-{hashseed}"
        env = {**os.environ, "PYTHONHASHSEED": hashseed, "PYTHONPATH": str(root)}
        subprocess.run(
            [sys.executable, "-c", _SAVE_CHILD, str(scenario), "5", str(out)],
            env=env,
            cwd=root,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        runs.append(ecssim.Result.load(out))
    a, b = runs
    assert a.meta["seed"] == b.meta["seed"] == 5
    assert len(a.tasks) > 50 and len(a.failures) > 0
    assert set(a.frames) == set(b.frames)
    for name, frame in a.frames.items():
        pd.testing.assert_frame_equal(frame, b.frames[name], check_exact=True, obj=name)
    # ... and equal to this process's run too.
    here = ecssim.run(scenario, seed=5)
    pd.testing.assert_frame_equal(
        here.tasks.reset_index(drop=True), a.tasks, check_exact=True, check_categorical=False
    )
