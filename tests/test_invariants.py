"""Property tests over whole runs: capacity never exceeded, one terminal state, monotone times."""

from __future__ import annotations

import contextlib

import numpy as np
import pandas as pd
from conftest import register
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ecssim.simulation import Simulation

ORDER = [
    "created_at",
    "pull_started_at",
    "pull_stopped_at",
    "started_at",
    "stopping_at",
    "execution_stopped_at",
    "stopped_at",
]
STRATEGIES = [
    [],
    [{"type": "binpack", "field": "memory"}],
    [
        {"type": "spread", "field": "attribute:ecs.availability-zone"},
        {"type": "binpack", "field": "cpu"},
    ],
    [{"type": "random"}],
    [{"type": "spread", "field": "instanceId"}],
]


def _check_ledgers(sim: Simulation) -> None:
    for cluster in sim.control.clusters.values():
        state = cluster.state
        for name in ("cpu", "memory", "eni", "gpu"):
            remaining = getattr(state, f"remaining_{name}")
            registered = getattr(state, f"registered_{name}")
            assert (remaining >= 0).all(), (name, remaining)
            assert (remaining <= registered).all(), (name, remaining, registered)
        assert (state.running_tasks >= 0).all()
    for instance in sim.control.instances:
        agent = instance.agent
        if agent is None or not agent.alive:
            continue
        assert 0 <= agent.free_cpu <= instance.registered_cpu
        assert 0 <= agent.free_memory <= instance.registered_memory
        held = [t for t in instance.tasks.values() if t.held]
        assert agent.free_memory == instance.registered_memory - sum(
            t.requirement.memory_mib for t in held
        )


def _check_tasks(frame: pd.DataFrame) -> None:
    assert frame.task_arn.is_unique
    stopped = frame.last_status == "STOPPED"
    assert frame.loc[stopped, "stopped_at"].notna().all()
    assert frame.loc[~stopped, "stopped_at"].isna().all()
    assert frame.loc[stopped, "stop_code"].notna().all()
    times = frame[ORDER].to_numpy(dtype=float)
    for row in times:
        seen = row[~np.isnan(row)]
        assert (np.diff(seen) >= -1e-9).all(), row


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n_instances=st.integers(1, 4),
    itype=st.sampled_from(["m5.large", "c5.large", "t3.medium"]),
    memory=st.sampled_from([256, 512, 1024, 3000]),
    desired=st.integers(0, 6),
    strategy=st.sampled_from(range(len(STRATEGIES))),
    awsvpc=st.booleans(),
    runtime=st.sampled_from(["forever", "3m", {"exponential": {"mean": "5m"}}]),
    crash=st.sampled_from([None, "20m"]),
    fail_at=st.lists(st.integers(200, 1700), max_size=2),
    stop_at=st.lists(st.integers(200, 1700), max_size=2),
    seed=st.integers(0, 10_000),
)
def test_run_invariants(
    n_instances, itype, memory, desired, strategy, awsvpc, runtime, crash, fail_at, stop_at, seed
):
    sim = Simulation(seed=seed)
    ecs = sim.ecs
    ecs.create_cluster(clusterName="prod")
    ids = sim.launch_instances("prod", itype, count=n_instances)
    extra = {"networkMode": "awsvpc"} if awsvpc else {}
    register(sim, "web", memory=memory, **extra)
    register(sim, "job", memory=memory, cpu=512)
    sim.set_behavior("web", crash_mtbf=crash)
    sim.set_behavior("job", runtime=runtime)
    ecs.create_service(
        cluster="prod",
        serviceName="web",
        taskDefinition="web",
        desiredCount=desired,
        placementStrategy=STRATEGIES[strategy],
    )
    events = sorted(
        [(t, "fail", i) for i, t in enumerate(fail_at)]
        + [(t, "stop", i) for i, t in enumerate(stop_at)]
        + [(t, "run", 0) for t in (250, 600, 900, 1400)]
    )
    for t, kind, i in events:
        if t > sim.now:
            sim.run(until=t)
        _check_ledgers(sim)
        _check_tasks(sim.result().tasks)
        if kind == "fail":
            sim.fail_instance(ids[i % len(ids)], replace_after="1m")
        elif kind == "stop":
            arns = ecs.list_tasks(cluster="prod")["taskArns"]
            if arns:
                ecs.stop_task(cluster="prod", task=arns[i % len(arns)])
        else:
            # InvalidParameterException: no registered instance yet
            with contextlib.suppress(ecs.exceptions.InvalidParameterException):
                ecs.run_task(
                    cluster="prod",
                    taskDefinition="job",
                    count=3,
                    placementStrategy=STRATEGIES[strategy],
                )
    sim.run(until=2400)
    _check_ledgers(sim)
    frame = sim.result().tasks
    _check_tasks(frame)
    # The live tasks in the frame are those the control plane still knows, each once; a
    # STOPPED task is known by its row only.
    alive = frame[frame.stopped_at.isna()]
    known = {t.arn for c in sim.control.clusters.values() for t in c.tasks.values()}
    assert set(alive.task_arn) == known and alive.task_arn.is_unique
    # The service never runs more than desiredCount x maximumPercent.
    svc = ecs.describe_services(cluster="prod", services=["web"])["services"][0]
    assert svc["runningCount"] + svc["pendingCount"] <= max(desired * 2, desired)


def _check_service_bounds(sim: Simulation) -> None:
    for cluster in sim.control.clusters.values():
        for service in cluster.services.values():
            assert service.running >= 0 and service.pending >= 0
            assert service.running + service.pending == len(service.tasks)
            cap = max(
                service.desired_count,
                service.desired_count * service.deployment_configuration["maximumPercent"] // 100,
            )
            if not service.wake_scheduled:  # the scheduler has acted on the latest change
                assert len(service.tasks) <= cap, (service.name, len(service.tasks), cap)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**16),
    desired=st.integers(1, 8),
    later=st.integers(0, 10),
    strategy=st.integers(0, len(STRATEGIES) - 1),
    crash=st.sampled_from([None, "20m", "2h"]),
    fail_at=st.lists(st.integers(300, 3000), max_size=2),
)
def test_invariants_hold_after_every_event(seed, desired, later, strategy, crash, fail_at):
    """Every single event of a random run keeps the ledgers and service counts consistent."""
    sim = Simulation(seed=seed)
    ecs = sim.ecs
    ecs.create_cluster(clusterName="prod")
    sim.launch_instances("prod", "m5.large", count=3)
    register(sim, "web", cpu=256, memory=900)
    sim.set_behavior("web", crash_mtbf=crash)
    ecs.create_service(
        cluster="prod",
        serviceName="web",
        taskDefinition="web",
        desiredCount=desired,
        placementStrategy=STRATEGIES[strategy],
    )
    for t in fail_at:
        sim.env.timeout(t).callbacks.append(
            lambda _e: [
                sim.fail_instance(i.ec2_instance_id, replace_after="3m")
                for i in sim.control.instances[:1]
                if np.isnan(i.stopped_at)
            ]
        )
    sim.env.timeout(1800).callbacks.append(
        lambda _e: ecs.update_service(cluster="prod", service="web", desiredCount=later)
    )
    steps = 0
    while sim.now < 3600 and sim.step():
        _check_ledgers(sim)
        _check_service_bounds(sim)
        steps += 1
    assert steps > 10
    _check_tasks(sim.result().tasks)
