"""Rolling deployments, the circuit breaker and the launch rate, played by the simulator.

Each test names the documented behaviour it reproduces (ECS-SEMANTICS section 5; sources: BP
deployment examples, DG deployment-circuit-breaker, DG service-throttle-logic, BP task). The
bundled ``scenarios/rolling-deployment.yaml`` holds the best-practice guide's examples.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest
from conftest import register
from test_client import check

import ecssim
from ecssim.distributions import Fixed
from ecssim.parameters import SimParameters
from ecssim.scenario.schema import TaskBehavior
from ecssim.simulation import Simulation

ROOT = Path(__file__).resolve().parents[2]
STUCK = (
    "({}) was unable to stop or start tasks during a deployment because of the service "
    "deployment configuration. Update the minimumHealthyPercent or maximumPercent value and try "
    "again."
)


@pytest.fixture(scope="module")
def rolling() -> ecssim.Result:
    return ecssim.run(ROOT / "scenarios" / "rolling-deployment.yaml")


def actions(tasks: pd.DataFrame, service: str, old: int, new: int) -> list[tuple[str, int]]:
    """The deployment from revision ``old`` to ``new`` as [("start", n), ("stop", n), ...].

    Starts are the creations of ``new`` tasks, stops the stop requests of ``old`` ones; actions
    at the same instant are one step, stops first (the scheduler stops, then starts).
    """
    mine = tasks[tasks.service == service]
    moves = [(t, 1, "start") for t in mine[mine.revision == new].created_at]
    moves += [(t, 0, "stop") for t in mine[mine.revision == old].desired_stopped_at.dropna()]
    steps: list[list] = []
    for t, _, kind in sorted(moves):
        if steps and steps[-1][0] == t and steps[-1][1] == kind:
            steps[-1][2] += 1
        else:
            steps.append([t, kind, 1])
    return [(kind, n) for _, kind, n in steps]


def test_bp_example_100_200_with_room_for_8_is_three_rounds_of_start_2_stop_2(rolling):
    web = rolling.tasks[rolling.tasks.revision <= 2]
    assert actions(web, "web", 1, 2) == [("start", 2), ("stop", 2)] * 3


def test_bp_example_50_200_with_room_for_8_is_stop_3_start_5_stop_3_start_1(rolling):
    assert actions(rolling.tasks, "api", 1, 2) == [
        ("stop", 3),
        ("start", 5),
        ("stop", 3),
        ("start", 1),
    ]


def test_rounds_wait_for_the_new_tasks_to_count_healthy_40_s_after_running(rolling):
    # BP: a task with no health check and no load balancer counts healthy 40 s after RUNNING.
    tasks = rolling.tasks[(rolling.tasks.service == "web") & (rolling.tasks.revision == 2)]
    first = tasks.sort_values("created_at").iloc[:2]
    old = rolling.tasks[(rolling.tasks.service == "web") & (rolling.tasks.revision == 1)]
    first_stop = old.desired_stopped_at.min()
    assert first_stop == pytest.approx(first.started_at.max() + 40.0)


def test_100_100_stalls_with_ecs_event_and_keeps_the_old_tasks(rolling):
    events = rolling.events[rolling.events.service == "legacy"]
    stuck = events[events.kind == "deployment_stuck"]
    assert list(stuck.message) == [STUCK.format("service legacy")]
    assert stuck.t.iloc[0] == pytest.approx(600.0)  # at the update_service action
    legacy = rolling.tasks[rolling.tasks.service == "legacy"]
    assert set(legacy.revision) == {1}  # nothing new ever started
    assert legacy.desired_stopped_at.isna().all()


def test_circuit_breaker_rolls_back_to_the_last_completed_deployment(rolling):
    # DG deployment-circuit-breaker: threshold clamp(ceil(0.5 x 6), 3, 200) = 3 failed tasks.
    web = rolling.tasks[rolling.tasks.service == "web"]
    bad = web[web.revision == 3]
    # Two start at once (100/200, room for 2 more), fail, are retried 20 s later, fail again:
    # the third failure reaches the threshold clamp(ceil(0.5 x 6), 3, 200) = 3.
    assert len(bad) == 4
    assert set(bad.stop_code) == {"TaskFailedToStart"}
    assert all(reason.startswith("CannotPullContainerError:") for reason in bad.stopped_reason)
    assert bad.started_at.isna().all()
    events = rolling.events[rolling.events.service == "web"]
    kinds = [k for k in events[events.t >= 1800].kind if k != "unable_to_place"]
    assert kinds[:4] == [
        "deployment_failed",
        "deployment_rollback",
        "deployment_completed",
        "steady_state",
    ]
    # The web:2 tasks were never touched: six of them run to the end.
    survivors = web[(web.revision == 2) & web.desired_stopped_at.isna()]
    assert len(survivors) == 6


def test_start_failures_are_retried_with_a_growing_delay(rolling):
    # DG service-throttle-logic: tasks that never reach RUNNING are retried with a delay
    # growing from throttle_first_delay (10 s) by doubling [inf].
    bad = rolling.tasks[(rolling.tasks.service == "web") & (rolling.tasks.revision == 3)]
    created = sorted(bad.created_at)
    failed = sorted(bad.desired_stopped_at)
    # Two start together (100/200 with room for 2); both fail after the 10 s pull; the third
    # waits 20 s after the second failure.
    assert created[0] == created[1]
    assert failed[0] == failed[1] == pytest.approx(created[0] + 10.0)
    assert created[2] == pytest.approx(failed[1] + 20.0)


def _service(
    sim: Simulation, desired: int, config: dict | None = None, *, instances: int = 4, **extra
) -> None:
    sim.launch_instances("prod", "m5.xlarge", count=instances)
    sim.run(until="4m")
    sim.ecs.create_service(
        cluster="prod",
        serviceName="web",
        taskDefinition="web",
        desiredCount=desired,
        **({"deploymentConfiguration": config} if config else {}),
        **extra,
    )


def _describe(sim: Simulation) -> dict:
    return check("DescribeServices", sim.ecs.describe_services(cluster="prod", services=["web"]))[
        "services"
    ][0]


def test_circuit_breaker_threshold_for_desired_25_is_13_failed_tasks():
    # pages API_ServiceDeploymentCircuitBreaker: threshold = clamp(ceil(0.5 x 25), 3, 200) = 13.
    sim = Simulation(seed=1, behaviors={"web": TaskBehavior(pull_failure=1.0)})
    sim.ecs.create_cluster(clusterName="prod")
    register(sim, "web", memory=256, cpu=128)
    breaker = {"deploymentCircuitBreaker": {"enable": True, "rollback": True}}
    _service(sim, 25, breaker)
    sim.run(until="2h")
    deployment = _describe(sim)["deployments"][0]
    assert deployment["rolloutState"] == "FAILED"
    assert deployment["failedTasks"] == 13
    tasks = sim.result().tasks
    # Nothing was COMPLETED before, so there is nothing to roll back to: launches stop at 13
    # failures plus the tasks already under way when the threshold was reached.
    failed_at = sim.result().events.query("kind == 'deployment_failed'").t.iloc[0]
    assert (tasks.created_at > failed_at).sum() == 0
    assert (tasks.stop_code == "TaskFailedToStart").all()


def test_circuit_breaker_stops_counting_once_a_task_of_the_deployment_ran():
    # Gotcha 4 / DG deployment-circuit-breaker: once a task of the deployment has run
    # successfully, failedTasks resets and the breaker no longer trips. Desired 4 with room for
    # 2 keeps the deployment IN_PROGRESS; tasks crash after RUNNING (not counted) and some of
    # the relaunches fail to start (counted only before the first success).
    sim = Simulation(
        seed=2,
        parameters=SimParameters(throttle_max_delay=20.0),
        behaviors={"web": TaskBehavior(start_failure=0.3, crash_mtbf=Fixed(300.0))},
    )
    sim.ecs.create_cluster(clusterName="prod")
    register(sim, "web", memory=7000, cpu=128)
    _service(
        sim,
        4,
        {"deploymentCircuitBreaker": {"enable": True, "rollback": False}},
        instances=1,
    )
    sim.run(until="3h")
    deployment = _describe(sim)["deployments"][0]
    assert deployment["rolloutState"] == "IN_PROGRESS"
    assert deployment["failedTasks"] == 0
    failures = (sim.result().tasks.stop_code == "TaskFailedToStart").sum()
    assert failures > 10  # far more than the threshold of 3


def test_describe_services_shows_primary_and_active_deployments_mid_rollout(sim):
    register(sim, "web", memory=1024, cpu=256)
    _service(sim, 4)
    sim.run(until="10m")
    before = _describe(sim)
    assert [(d["status"], d["rolloutState"]) for d in before["deployments"]] == [
        ("PRIMARY", "COMPLETED")
    ]
    register(sim, "web", memory=1024, cpu=512)
    sim.ecs.update_service(cluster="prod", service="web", taskDefinition="web:2")
    sim.run(until=sim.now + 20)
    during = _describe(sim)
    deployments = during["deployments"]
    assert [(d["status"], d["rolloutState"]) for d in deployments] == [
        ("PRIMARY", "IN_PROGRESS"),
        ("ACTIVE", "COMPLETED"),
    ]
    assert deployments[0]["taskDefinition"].endswith("web:2")
    assert deployments[1]["runningCount"] == 4
    assert deployments[0]["id"] != deployments[1]["id"]
    sim.run(until="20m")
    after = _describe(sim)["deployments"]
    assert [(d["status"], d["rolloutState"]) for d in after] == [("PRIMARY", "COMPLETED")]
    assert after[0]["id"] == deployments[0]["id"]


def test_a_service_launches_at_most_250_tasks_a_minute():
    # BP task: on EC2 a service launches up to 250 tasks per minute.
    sim = Simulation(seed=4)
    sim.ecs.create_cluster(clusterName="prod")
    register(sim, "web", memory=64, cpu=16)
    _service(sim, 600, instances=10)
    sim.run(until="10m")
    tasks = sim.ecs.list_tasks(cluster="prod")["taskArns"]
    assert len(tasks) == 600
    described = []
    for i in range(0, 600, 100):
        described += sim.ecs.describe_tasks(cluster="prod", tasks=tasks[i : i + 100])["tasks"]
    times = sorted(t["createdAt"].timestamp() for t in described)
    first = times[0]
    per_minute = pd.Series(times).map(lambda t: math.floor((t - first) / 60)).value_counts()
    assert per_minute.sort_index().tolist() == [250, 250, 100]


def test_the_2023_guide_minimum_of_10_failed_tasks_is_a_parameter():
    # DG deployment-circuit-breaker (2023): the threshold's minimum was 10, not 3.
    sim = Simulation(
        seed=1,
        parameters=SimParameters(circuit_breaker_min_threshold=10),
        behaviors={"web": TaskBehavior(pull_failure=1.0)},
    )
    sim.ecs.create_cluster(clusterName="prod")
    register(sim, "web", memory=256, cpu=128)
    _service(sim, 6, {"deploymentCircuitBreaker": {"enable": True, "rollback": False}})
    sim.run(until="2h")
    deployment = _describe(sim)["deployments"][0]
    assert deployment["rolloutState"] == "FAILED"
    assert deployment["failedTasks"] == 10
