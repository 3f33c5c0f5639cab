"""Task lifecycle: start order, health checks, start failures, load balancers (ECS-SEMANTICS 3, 5).

Most tests use fixed timings so that lifecycle times can be asserted exactly: instances boot in
60 s, a first image pull takes 20 s (1 s when cached) and each container starts in 2 s.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from conftest import container, register, task_id
from test_client import check

import ecssim
from ecssim.distributions import Exponential, Fixed
from ecssim.errors import ScenarioError
from ecssim.parameters import SimParameters
from ecssim.scenario.loader import load_scenario
from ecssim.scenario.schema import TaskBehavior
from ecssim.simulation import Simulation

PULL, CACHED, START = 20.0, 1.0, 2.0
#: When the instances of ``_sim`` are registered and tasks can be run.
READY = "2m"
TARGET_GROUP = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/abc"
THROTTLED = "(service web) is unable to consistently start tasks successfully."
#: A health check every 10 s (timeout, retries and startPeriod at their defaults: 5 s, 3, 0).
CHECK = {"command": ["CMD-SHELL", "curl -f http://localhost/ || exit 1"], "interval": 10}


def _parameters(**extra: Any) -> SimParameters:
    return SimParameters(
        instance_boot=Fixed(60.0),
        image_pull=Fixed(PULL),
        image_pull_cached=Fixed(CACHED),
        container_start=Fixed(START),
        **extra,
    )


def _sim(
    behaviors: dict[str, TaskBehavior] | None = None, *, count: int = 1, **parameters: Any
) -> Simulation:
    """Cluster ``prod`` with ``count`` m5.large instances registered by ``READY``."""
    sim = Simulation(seed=7, parameters=_parameters(**parameters), behaviors=behaviors)
    sim.ecs.create_cluster(clusterName="prod")
    sim.launch_instances("prod", "m5.large", count=count)
    return sim


def _run_one(sim: Simulation, family: str) -> str:
    """RunTask one task of ``family`` now; return its ARN."""
    response = sim.ecs.run_task(cluster="prod", taskDefinition=family)
    assert response["failures"] == []
    return response["tasks"][0]["taskArn"]


def _describe(sim: Simulation, arn: str) -> dict:
    response = sim.ecs.describe_tasks(cluster="prod", tasks=[arn])
    return check("DescribeTasks", response)["tasks"][0]


def _row(sim: Simulation, arn: str) -> pd.Series:
    tasks = sim.result().tasks
    return tasks[tasks.task_arn == arn].iloc[0]


def _service_tasks(sim: Simulation, service: str = "web") -> pd.DataFrame:
    tasks = sim.result().tasks
    return tasks[tasks.service == service].sort_values("created_at").reset_index(drop=True)


def _messages(sim: Simulation, service: str = "web") -> list[str]:
    described = sim.ecs.describe_services(cluster="prod", services=[service])["services"][0]
    return [e["message"] for e in described["events"]]


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "scenario.yaml"
    path.write_text(text)
    return path


def _problems(source: Any) -> list[str]:
    with pytest.raises(ScenarioError) as info:
        load_scenario(source)
    return [str(p) for p in info.value.problems]


# -- A. dependsOn start order ------------------------------------------------------------------


def _depends(name: str, condition: str) -> dict:
    return {"containerName": name, "condition": condition}


START_ORDER = {
    "no dependencies": ([container("app")], START),
    "START chain of three": (
        [
            container("app", dependsOn=[_depends("proxy", "START")]),
            container("proxy", essential=False, dependsOn=[_depends("log", "START")]),
            container("log", essential=False),
        ],
        3 * START,
    ),
    # init starts (2 s), runs init_container_runtime (5 s) and exits; then app starts (2 s).
    "init container with SUCCESS": (
        [
            container("app", dependsOn=[_depends("init", "SUCCESS")]),
            container("init", essential=False),
        ],
        START + 5.0 + START,
    ),
    "init container with COMPLETE": (
        [
            container("app", dependsOn=[_depends("init", "COMPLETE")]),
            container("init", essential=False),
        ],
        START + 5.0 + START,
    ),
    # db starts (2 s), its first health check passes one interval later (10 s); app starts.
    "HEALTHY dependency, interval 10": (
        [
            container("app", dependsOn=[_depends("db", "HEALTHY")]),
            container("db", essential=False, healthCheck=CHECK),
        ],
        START + 10.0 + START,
    ),
    # The longest chain counts, not the sum: proxy (START on log) and db (HEALTHY) in parallel.
    "two branches, the longest wins": (
        [
            container("app", dependsOn=[_depends("proxy", "START"), _depends("db", "HEALTHY")]),
            container("proxy", essential=False, dependsOn=[_depends("log", "START")]),
            container("log", essential=False),
            container("db", essential=False, healthCheck=CHECK),
        ],
        START + 10.0 + START,
    ),
}


@pytest.mark.parametrize(
    ("containers", "expected"), list(START_ORDER.values()), ids=list(START_ORDER)
)
def test_time_to_running_is_the_longest_depends_on_chain(containers, expected):
    sim = _sim(count=1)
    register(sim, "app", containerDefinitions=containers)
    sim.run(until=READY)
    arn = _run_one(sim, "app")
    sim.run(until="5m")
    row = _row(sim, arn)
    assert row.pull_stopped_at - row.pull_started_at == PULL
    assert row.started_at - row.pull_stopped_at == expected
    described = _describe(sim, arn)
    assert described["lastStatus"] == "RUNNING"
    taken = described["startedAt"] - described["pullStoppedAt"]
    assert taken.total_seconds() == pytest.approx(expected)


def test_init_container_runtime_is_a_parameter():
    sim = _sim(count=1, init_container_runtime=Fixed(30.0))
    register(
        sim,
        "app",
        containerDefinitions=[
            container("app", dependsOn=[_depends("migrate", "SUCCESS")]),
            container("migrate", essential=False),
        ],
    )
    sim.run(until=READY)
    arn = _run_one(sim, "app")
    sim.run(until="5m")
    row = _row(sim, arn)
    assert row.started_at - row.pull_stopped_at == START + 30.0 + START


# -- B. container health checks and task health --------------------------------------------------


def _health(sim: Simulation, arn: str) -> tuple[str, list[str]]:
    described = _describe(sim, arn)
    return described["healthStatus"], [c["healthStatus"] for c in described["containers"]]


def test_health_status_unknown_until_the_first_check_then_healthy():
    sim = _sim(count=1)
    register(sim, "web", containerDefinitions=[container("web", healthCheck=CHECK)])
    register(sim, "plain")
    # A check on a non-essential container does not make the task's health known.
    register(
        sim,
        "sidecar",
        containerDefinitions=[
            container("app"),
            container("probe", essential=False, healthCheck=CHECK),
        ],
    )
    sim.run(until=READY)
    web, plain, sidecar = (_run_one(sim, family) for family in ("web", "plain", "sidecar"))
    started = sim.now + PULL + START  # a first pull of its image
    sim.run(until=started + 5)
    assert _health(sim, web) == ("UNKNOWN", ["UNKNOWN"])
    sim.run(until=started + 10.5)  # the first check, one interval after RUNNING, passed
    assert _health(sim, web) == ("HEALTHY", ["HEALTHY"])
    sim.run(until="1h")
    assert _row(sim, web).started_at == started
    assert _health(sim, web) == ("HEALTHY", ["HEALTHY"])
    assert _health(sim, plain) == ("UNKNOWN", ["UNKNOWN"])
    assert _health(sim, sidecar)[0] == "UNKNOWN"


@pytest.mark.parametrize(
    ("failing_from", "health_check", "unhealthy_at"),
    [
        (5.0, CHECK, 5.0 + 3 * 10),  # defaults: retries 3, startPeriod 0
        (100.0, {**CHECK, "retries": 2}, 100.0 + 2 * 10),
        (5.0, {**CHECK, "retries": 2, "startPeriod": 60}, 60.0 + 2 * 10),  # failures ignored
        (300.0, {"command": ["CMD", "true"]}, 300.0 + 3 * 30),  # default interval 30 s
    ],
)
def test_standalone_task_turns_unhealthy_and_keeps_running(
    failing_from, health_check, unhealthy_at
):
    behaviors = {"web": TaskBehavior(unhealthy_after=Fixed(failing_from))}
    sim = _sim(behaviors, count=1)
    register(sim, "web", containerDefinitions=[container("web", healthCheck=health_check)])
    sim.run(until=READY)
    arn = _run_one(sim, "web")
    started = sim.now + PULL + START
    sim.run(until=started + unhealthy_at - 0.5)
    assert _health(sim, arn)[0] != "UNHEALTHY"
    sim.run(until=started + unhealthy_at + 0.5)
    assert _health(sim, arn) == ("UNHEALTHY", ["UNHEALTHY"])
    sim.run(until="2h")
    described = _describe(sim, arn)
    assert (described["lastStatus"], described["desiredStatus"]) == ("RUNNING", "RUNNING")
    assert described["healthStatus"] == "UNHEALTHY"
    assert (sim.result().events.kind == "task_unhealthy").sum() == 0
    assert _row(sim, arn).started_at == started


@pytest.mark.parametrize(
    ("failing_from", "healthy_at"),
    [
        (25.0, 10.0),  # the first check (at 10 s) passes: HEALTHY until the failures count
        (5.0, math.inf),  # the first check already fails: "starting" (UNKNOWN) to the end
    ],
)
def test_a_task_failing_before_its_first_check_is_never_healthy(failing_from, healthy_at):
    behaviors = {"web": TaskBehavior(unhealthy_after=Fixed(failing_from))}
    sim = _sim(behaviors, count=1)
    register(sim, "web", containerDefinitions=[container("web", healthCheck=CHECK)])
    sim.run(until=READY)
    arn = _run_one(sim, "web")
    started = sim.now + PULL + START
    sim.run(until=started + 15)
    assert _health(sim, arn)[0] == ("HEALTHY" if healthy_at <= 15 else "UNKNOWN")
    sim.run(until=started + failing_from + 30.5)
    assert _health(sim, arn)[0] == "UNHEALTHY"
    assert _row(sim, arn).started_at == started


def _unhealthy_service(grace: int | None = None, desired: int = 1) -> Simulation:
    behaviors = {"web": TaskBehavior(unhealthy_after=Fixed(5.0))}
    sim = _sim(behaviors, count=2)
    register(sim, "web", containerDefinitions=[container("web", healthCheck=CHECK)])
    sim.run(until=READY)
    extra = {} if grace is None else {"healthCheckGracePeriodSeconds": grace}
    response = sim.ecs.create_service(
        cluster="prod", serviceName="web", taskDefinition="web", desiredCount=desired, **extra
    )
    check("CreateService", response)
    return sim


def test_unhealthy_service_task_is_stopped_and_replaced():
    sim = _unhealthy_service()
    sim.run(until="10m")
    tasks = _service_tasks(sim)
    assert len(tasks) >= 3  # each replacement fails its checks in turn
    first = tasks.iloc[0]
    # UNHEALTHY at max(5, startPeriod 0) + retries 3 x interval 10 after RUNNING.
    assert first.desired_stopped_at - first.started_at == 35.0
    assert first.stop_code == "ServiceSchedulerInitiated"
    assert first.stopped_reason == "Task failed container health checks"
    assert tasks.iloc[1].created_at == first.desired_stopped_at  # replaced at once
    described = _describe(sim, first.task_arn)
    assert described["healthStatus"] == "UNHEALTHY"
    message = f"(service web) (task {task_id(first.task_arn)}) failed container health checks."
    assert message in _messages(sim)
    events = sim.result().events
    unhealthy = events[events.kind == "task_unhealthy"]
    assert unhealthy.iloc[0].message == message
    assert unhealthy.iloc[0].t == first.desired_stopped_at
    # Failures after RUNNING are not throttled (DG service-throttle-logic).
    assert not any(m.startswith(THROTTLED) for m in _messages(sim))


@pytest.mark.parametrize(
    ("grace", "stopped_after"),
    [(None, 35.0), (20, 35.0), (35, 35.0), (100, 100.0), (200, 200.0)],
)
def test_grace_period_delays_the_stop_of_an_early_failure(grace, stopped_after):
    sim = _unhealthy_service(grace)
    sim.run(until="15m")
    first = _service_tasks(sim).iloc[0]
    assert first.desired_stopped_at - first.started_at == stopped_after
    assert first.stopped_reason == "Task failed container health checks"


def test_healthy_service_task_is_not_stopped():
    sim = _sim(count=1)
    register(sim, "web", containerDefinitions=[container("web", healthCheck=CHECK)])
    sim.run(until=READY)
    sim.ecs.create_service(cluster="prod", serviceName="web", taskDefinition="web", desiredCount=1)
    sim.run(until="2h")
    tasks = _service_tasks(sim)
    assert len(tasks) == 1
    assert _describe(sim, tasks.iloc[0].task_arn)["healthStatus"] == "HEALTHY"
    assert "(service web) has reached a steady state." in _messages(sim)


HEALTH_SCENARIO = """\
version: 1
duration: 30m
seed: 5
clusters: [{clusterName: prod}]
instances: [{cluster: prod, instance_type: m5.large, count: 2}]
task_definitions:
  - family: web
    containerDefinitions:
      - name: web
        image: nginx
        cpu: 256
        memory: 512
        healthCheck: {command: [CMD-SHELL, "curl -f http://localhost/ || exit 1"]}
  - family: batch
    containerDefinitions: [{name: b, image: b, cpu: 256, memory: 512}]
services:
  - {cluster: prod, serviceName: web, taskDefinition: web, desiredCount: 2,
     availabilityZoneRebalancing: DISABLED}
task_behavior:
  web: {unhealthy_after: 5m}
"""


def test_scenario_unhealthy_after(tmp_path):
    result = ecssim.run(_write(tmp_path, HEALTH_SCENARIO))
    tasks = result.tasks
    stopped = tasks[tasks.stopped_reason == "Task failed container health checks"]
    assert len(stopped) >= 2
    # 5 min, then retries 3 x the default interval 30 s.
    assert list(stopped.desired_stopped_at - stopped.started_at) == pytest.approx(
        [300.0 + 3 * 30] * len(stopped)
    )
    assert (stopped.stop_code == "ServiceSchedulerInitiated").all()
    assert (tasks.service == "web").all()
    assert (result.events.kind == "task_unhealthy").sum() == len(stopped)


def test_scenario_rejects_unhealthy_after_without_health_check(tmp_path):
    text = HEALTH_SCENARIO.replace("  web: {unhealthy_after:", "  batch: {unhealthy_after:")
    assert _problems(_write(tmp_path, text)) == [
        "task_behavior.batch.unhealthy_after: no task definition of family 'batch' has a health "
        "check on an essential container, so its tasks cannot turn UNHEALTHY"
    ]


# -- C. start failures and the service throttle ----------------------------------------------------


def test_pull_failure_stops_the_task_after_the_pull():
    sim = _sim({"web": TaskBehavior(pull_failure=1.0)}, count=1)
    register(sim, "web")
    sim.run(until=READY)
    first = _run_one(sim, "web")
    sim.run(until="3m")
    second = _run_one(sim, "web")  # the failed pull left no cached image: it pulls again
    sim.run(until="4m")
    for arn in (first, second):
        row = _row(sim, arn)
        assert row.stop_code == "TaskFailedToStart"
        assert row.stopped_reason.startswith("CannotPullContainerError:")
        assert "example/app:1" in row.stopped_reason
        assert row.pull_stopped_at - row.created_at == PULL
        assert row.stopped_at == row.pull_stopped_at
        assert math.isnan(row.started_at)
        described = _describe(sim, arn)
        assert described["lastStatus"] == "STOPPED"
        assert described["stopCode"] == "TaskFailedToStart"
        assert "startedAt" not in described


def test_start_failure_stops_the_task_after_the_container_start():
    sim = _sim({"web": TaskBehavior(start_failure=1.0)}, count=1)
    register(sim, "web")
    sim.run(until=READY)
    arn = _run_one(sim, "web")
    sim.run(until="3m")
    row = _row(sim, arn)
    assert row.stop_code == "TaskFailedToStart"
    assert row.stopped_reason.startswith("CannotStartContainerError:")
    assert row.stopped_at - row.pull_stopped_at == START
    assert math.isnan(row.started_at)
    assert "startedAt" not in _describe(sim, arn)


def _failing_service(**parameters: Any) -> Simulation:
    sim = _sim({"web": TaskBehavior(start_failure=1.0)}, count=2, **parameters)
    register(sim, "web")
    register(sim, "web")  # web:2, failing too (the behaviour is the family's)
    sim.run(until=READY)
    sim.ecs.create_service(
        cluster="prod", serviceName="web", taskDefinition="web:1", desiredCount=1
    )
    return sim


def _retry_delays(tasks: pd.DataFrame) -> list[float]:
    """From each failed task's stop to the creation of the next one."""
    return list(tasks.created_at.iloc[1:].to_numpy() - tasks.stopped_at.iloc[:-1].to_numpy())


def test_service_start_failures_are_retried_with_growing_delays():
    sim = _failing_service()
    sim.run(until="25m")
    tasks = _service_tasks(sim)
    assert (tasks.stop_code == "TaskFailedToStart").all()
    assert tasks.started_at.isna().all()
    assert _retry_delays(tasks)[:6] == [10.0, 20.0, 40.0, 80.0, 160.0, 320.0]
    # Past the first retry (the first task paid an uncached pull), the launches spread out.
    gaps = tasks.created_at.diff().dropna().to_numpy()[1:]
    assert len(gaps) >= 5
    assert (gaps[1:] > gaps[:-1]).all()
    # The event once, when the third consecutive task has failed.
    events = sim.result().events
    throttled = events[events.message.str.startswith(THROTTLED)]
    assert len(throttled) == 1
    assert throttled.iloc[0].t == tasks.stopped_at.iloc[2]
    assert sum(m.startswith(THROTTLED) for m in _messages(sim)) == 1


def test_throttle_delay_parameters_and_cap():
    sim = _failing_service(throttle_first_delay=5.0, throttle_max_delay=30.0)
    sim.run(until="10m")
    assert _retry_delays(_service_tasks(sim))[:6] == [5.0, 10.0, 20.0, 30.0, 30.0, 30.0]


def test_a_new_task_definition_resets_the_throttle():
    sim = _failing_service()
    while _service_tasks(sim).stopped_at.notna().sum() < 5:
        sim.run(until=sim.now + 10)
    before = _service_tasks(sim)
    assert _retry_delays(before) == [10.0, 20.0, 40.0, 80.0]
    update_at = before.stopped_at.iloc[4] + 30  # well inside the next delay, 160 s
    sim.run(until=update_at)
    assert len(_service_tasks(sim)) == 5
    sim.ecs.update_service(cluster="prod", service="web", taskDefinition="web:2")
    sim.run(until=update_at + 120)
    tasks = _service_tasks(sim)
    revision2 = tasks[tasks.revision == 2]
    assert revision2.created_at.iloc[0] == update_at  # launched at once, not throttled
    assert _retry_delays(revision2)[:3] == [10.0, 20.0, 40.0]  # the curve starts again


def _arrivals(sim: Simulation, families: tuple[str, ...], rounds: int, count: int) -> None:
    for _ in range(rounds):
        for family in families:
            response = sim.ecs.run_task(cluster="prod", taskDefinition=family, count=count)
            assert response["failures"] == []  # every draw belongs to a task
        sim.run(until=sim.now + 60)
    sim.run(until=sim.now + 7200)


def _by_arn(tasks: pd.DataFrame) -> pd.DataFrame:
    return tasks.assign(task_arn=tasks.task_arn.astype(str)).set_index("task_arn").sort_index()


def test_start_failure_probability_leaves_run_times_untouched():
    # start_failure, not pull_failure: a failed pull on a host that has the image uses the
    # cached copy (ECS_IMAGE_PULL_BEHAVIOR=default), so most pulls here could not fail.
    def go(start_failure: float) -> pd.DataFrame:
        behaviors = {
            "flaky": TaskBehavior(runtime=Exponential(300.0), start_failure=start_failure),
            "steady": TaskBehavior(runtime=Exponential(300.0)),
        }
        sim = Simulation(seed=7, behaviors=behaviors)  # default, random timings
        sim.ecs.create_cluster(clusterName="prod")
        sim.launch_instances("prod", "m5.large", count=16)  # room for every task
        register(sim, "flaky")
        register(sim, "steady", containerDefinitions=[container("steady")])
        sim.run(until="5m")
        _arrivals(sim, ("flaky", "steady"), rounds=100, count=5)
        return _by_arn(sim.result().tasks)

    baseline, failing = go(0.0), go(0.3)
    assert len(baseline) == len(failing) == 1000
    assert (baseline.family == failing.family).all()
    flaky = failing[failing.family == "flaky"]
    failed = flaky.stop_code == "TaskFailedToStart"
    assert 0.26 < failed.mean() < 0.34
    assert flaky[failed].started_at.isna().all()
    assert (flaky[failed].stopped_reason.str.startswith("CannotStartContainerError:")).all()
    assert (failing[failing.family == "steady"].stop_code != "TaskFailedToStart").all()
    assert (baseline.stop_code != "TaskFailedToStart").all()
    # Every task that ran, of either family, ran for the time drawn without failures.
    ran = failing.started_at.notna()
    runtime = failing.desired_stopped_at - failing.started_at
    expected = baseline.desired_stopped_at - baseline.started_at
    assert ran.sum() > 600
    pd.testing.assert_series_equal(runtime[ran], expected[ran])


# -- D. load balancers -----------------------------------------------------------------------------

WEB_PORT = [{"containerPort": 80, "hostPort": 0}]


def _lb_service(*, load_balanced: bool = True, desired: int = 2, **parameters: Any) -> Simulation:
    sim = _sim(count=3, **parameters)
    for version in ("1", "2"):  # web:1 and web:2
        env = [{"name": "VERSION", "value": version}]
        register(
            sim,
            "web",
            containerDefinitions=[container("web", portMappings=WEB_PORT, environment=env)],
        )
    sim.run(until=READY)
    extra = {}
    if load_balanced:
        extra["loadBalancers"] = [
            {"targetGroupArn": TARGET_GROUP, "containerName": "web", "containerPort": 80}
        ]
    response = sim.ecs.create_service(
        cluster="prod", serviceName="web", taskDefinition="web:1", desiredCount=desired, **extra
    )
    check("CreateService", response)
    assert ("loadBalancers" in response["service"]) == load_balanced
    sim.run(until="10m")
    return sim


@pytest.mark.parametrize(
    ("load_balanced", "parameters", "deactivating"),
    [(True, {}, 300.0), (True, {"lb_deregistration_delay": 60.0}, 60.0), (False, {}, 0.0)],
)
def test_stop_task_deregisters_the_target_first(load_balanced, parameters, deactivating):
    sim = _lb_service(load_balanced=load_balanced, **parameters)
    arns = sim.ecs.list_tasks(cluster="prod", serviceName="web")["taskArns"]
    stop_at = sim.now
    sim.ecs.stop_task(cluster="prod", task=arns[0], reason="test")
    sim.run(until=stop_at + 1)
    described = _describe(sim, arns[0])
    assert described["desiredStatus"] == "STOPPED"
    if deactivating:
        assert described["lastStatus"] == "DEACTIVATING"
        assert "stoppingAt" not in described
    sim.run(until="30m")
    row = _row(sim, arns[0])
    assert row.desired_stopped_at == stop_at
    assert row.stopping_at - row.desired_stopped_at == deactivating
    assert row.stop_code == "UserInitiated"
    assert row.last_status == "STOPPED"
    # The replacement does not wait for the deregistration.
    tasks = _service_tasks(sim)
    assert tasks.created_at.iloc[-1] == stop_at


def test_scheduler_stops_go_through_deactivating():
    sim = _lb_service(desired=2)
    scale_in_at = sim.now
    sim.ecs.update_service(cluster="prod", service="web", desiredCount=1)
    sim.run(until=scale_in_at + 1)
    statuses = [
        t["lastStatus"]
        for t in sim.ecs.describe_tasks(
            cluster="prod",
            tasks=sim.ecs.list_tasks(cluster="prod", serviceName="web", desiredStatus="STOPPED")[
                "taskArns"
            ],
        )["tasks"]
    ]
    assert statuses == ["DEACTIVATING"]
    sim.run(until="30m")
    stopped = _service_tasks(sim).dropna(subset=["desired_stopped_at"])
    assert len(stopped) == 1
    assert stopped.stop_code.iloc[0] == "ServiceSchedulerInitiated"
    assert stopped.stopping_at.iloc[0] - stopped.desired_stopped_at.iloc[0] == 300.0


@pytest.mark.parametrize(("load_balanced", "healthy_after"), [(True, 150.0), (False, 40.0)])
def test_deployment_waits_for_the_target_to_be_healthy(load_balanced, healthy_after):
    sim = _lb_service(load_balanced=load_balanced, desired=2)
    sim.ecs.update_service(cluster="prod", service="web", taskDefinition="web:2")
    sim.run(until="1h")
    tasks = _service_tasks(sim)
    new = tasks[tasks.revision == 2]
    old = tasks[tasks.revision == 1]
    assert len(new) == 2 and len(old) == 2
    assert old.stopped_reason.eq(
        "Deployment: task replaced by a new task definition revision."
    ).all()
    # 100/200: each old task leaves once a new one counts healthy, not before.
    assert sorted(old.desired_stopped_at) == sorted(new.started_at + healthy_after)
    assert (new.desired_status == "RUNNING").all()


def test_load_balancer_container_and_port_are_checked():
    sim = _sim(count=1)
    register(sim, "web", containerDefinitions=[container("web", portMappings=WEB_PORT)])
    errors = sim.ecs.exceptions.InvalidParameterException
    for item, message in [
        (
            {"containerName": "api", "containerPort": 80},
            "The container api does not exist in the task definition.",
        ),
        (
            {"containerName": "web", "containerPort": 8080},
            "The container web did not have a container port 8080 defined.",
        ),
    ]:
        with pytest.raises(errors) as info:
            sim.ecs.create_service(
                cluster="prod",
                serviceName="web",
                taskDefinition="web",
                desiredCount=1,
                loadBalancers=[{"targetGroupArn": TARGET_GROUP, **item}],
            )
        assert str(info.value).endswith(message)
    assert sim.ecs.list_services(cluster="prod")["serviceArns"] == []


# -- E. behaviour for one revision -----------------------------------------------------------------

REVISION_SCENARIO = """\
version: 1
duration: 40m
seed: 3
clusters: [{clusterName: prod}]
instances: [{cluster: prod, instance_type: m5.large, count: 3}]
task_definitions:
  - family: web
    containerDefinitions: [{name: web, image: "nginx:1", cpu: 256, memory: 512}]
  - family: web
    containerDefinitions: [{name: web, image: "nginx:2", cpu: 256, memory: 512}]
services:
  - {cluster: prod, serviceName: web, taskDefinition: "web:1", desiredCount: 2,
     availabilityZoneRebalancing: DISABLED}
actions:
  - at: 10m
    update_service: {cluster: prod, service: web, taskDefinition: "web:2"}
task_behavior:
  "web:2": {pull_failure: 1.0}
"""


def test_revision_behaviour_applies_to_that_revision_only(tmp_path):
    result = ecssim.run(_write(tmp_path, REVISION_SCENARIO))
    tasks = result.tasks
    first = tasks[tasks.revision == 1]
    second = tasks[tasks.revision == 2]
    assert len(first) == 2 and len(second) >= 3
    assert first.started_at.notna().all()
    assert (first.last_status == "RUNNING").all()  # never replaced: no web:2 task got healthy
    assert (second.stop_code == "TaskFailedToStart").all()
    assert second.stopped_reason.str.startswith("CannotPullContainerError:").all()
    assert second.stopped_reason.str.contains("nginx:2").all()
    assert second.started_at.isna().all()
    assert (second.created_at >= 600.0).all()
    assert result.events.message.str.startswith(THROTTLED).any()


def test_revision_key_must_name_a_declared_revision(tmp_path):
    text = REVISION_SCENARIO.replace('"web:2": {pull_failure', '"web:9": {pull_failure')
    assert _problems(_write(tmp_path, text)) == [
        "task_behavior.web:9: no revision 9 of family 'web' (declared: revision 1 to 2)"
    ]


def test_a_task_needing_an_image_being_pulled_waits_for_that_pull():
    # The agent pulls an image once per host at a time: a second task placed while the pull
    # is under way waits for it, then pays the cached pull's registry check.
    sim = _sim()
    register(sim, "web", memory=256, cpu=128)
    sim.run(until=READY)
    first = _run_one(sim, "web")
    sim.run(until=sim.now + 5)
    second = _run_one(sim, "web")
    sim.run(until=sim.now + 60)
    third = _run_one(sim, "web")
    sim.run(until=sim.now + 60)
    a, b, c = (_row(sim, arn) for arn in (first, second, third))
    assert a.pull_stopped_at - a.pull_started_at == PULL
    assert b.pull_stopped_at == a.pull_stopped_at + CACHED  # not 5 s later + CACHED
    assert c.pull_stopped_at - c.pull_started_at == CACHED  # the image is on the host now


def test_an_agents_steps_enter_simpys_queue_as_its_own_events_do():
    # The agent pushes its steps straight onto the environment's queue (Agent._after): a step
    # must be ordered with SimPy's own events as Environment.schedule orders them, by time,
    # then priority, then the order of scheduling. RunTask pushes the step that starts the
    # task (after the pull and the container's start); two timeouts due at the same instant,
    # one scheduled before RunTask and one after, fire before and after it.
    sim = _sim()
    register(sim, "web")
    sim.run(until=READY)
    env = sim.env
    due = env.now + PULL + START
    seen: dict[str, tuple[float, float]] = {}
    first = env.timeout(PULL + START)
    arn = _run_one(sim, "web")
    last = env.timeout(PULL + START)
    (task,) = (t for c in sim.control.clusters.values() for t in c.tasks.values() if t.arn == arn)
    for name, event in (("first", first), ("last", last)):
        event.callbacks.append(
            lambda _e, name=name: seen.__setitem__(name, (env.now, task.started_at))
        )
    sim.run(until="10m")
    assert seen["first"][0] == seen["last"][0] == due
    assert math.isnan(seen["first"][1])  # the step had not fired
    assert seen["last"][1] == due  # it had: the task started then
    assert _row(sim, arn).started_at == due


# -- Stopped tasks stay describable for a while ------------------------------------------------


def test_stopped_tasks_are_described_until_deregistered_visible_has_passed():
    """ECS keeps a STOPPED task describable for a while (BC Task: at least an hour), then not."""
    sim = _sim({"job": TaskBehavior(runtime=Fixed(100.0))}, deregistered_visible=600.0)
    register(sim, "job")
    sim.run(until=READY)
    first = _run_one(sim, "job")
    sim.run(until=sim.now + 50.0)
    second = _run_one(sim, "job")
    sim.run(until=sim.now + 200.0)  # both STOPPED, the second later (its image cached)
    first_stopped, second_stopped = _row(sim, first).stopped_at, _row(sim, second).stopped_at
    assert first_stopped < second_stopped

    def described() -> list[str]:
        response = sim.ecs.describe_tasks(cluster="prod", tasks=[first, second])
        return [task["taskArn"] for task in response["tasks"]]

    # Each is described until ``deregistered_visible`` after it stopped, then not.
    sim.run(until=first_stopped + 599.0)
    assert described() == [first, second]
    sim.run(until=first_stopped + 601.0)
    assert second_stopped + 600.0 > sim.now
    assert described() == [second]
    sim.run(until=second_stopped + 601.0)
    assert described() == []
    response = sim.ecs.describe_tasks(cluster="prod", tasks=[first])
    assert response["failures"] == [{"arn": first, "reason": "MISSING"}]
    # As objects they are gone when they stop: the cluster keeps its live tasks only.
    assert not sim.control.clusters["prod"].tasks


def test_a_stopped_tasks_description_read_back_from_its_row_is_the_one_it_had_as_it_stopped():
    """A task is dropped as it stops; DescribeTasks, ListTasks and StopTask read its row back.

    Each task is described (as an object) the instant it stops, then later from its row:
    the two must be the same, field by field, for tasks that ran to their end, failed to start,
    turned unhealthy under a health check, or were stopped by a user, on two instances, with
    rows both packed into chunks and still in the channel's buffer.
    """
    behaviors = {
        "job": TaskBehavior(runtime=Exponential(120.0)),
        "checked": TaskBehavior(runtime=Fixed(90.0), unhealthy_after=Fixed(30.0)),
        "broken": TaskBehavior(start_failure=1.0),
        "long": TaskBehavior(runtime=Fixed(600.0)),
    }
    sim = _sim(behaviors, count=2)
    register(sim, "job")
    register(sim, "long")
    register(sim, "checked", containerDefinitions=[container("checked", healthCheck=CHECK)])
    register(sim, "broken")
    control, ecs = sim.control, sim.ecs
    at_stop: dict[str, dict[str, Any]] = {}
    task_stopped = control.task_stopped

    def describe_as_it_stops(task: Any) -> None:
        task_stopped(task)
        at_stop[task.arn] = ecs._describe_task(task)  # the object, as the caller still holds it

    control.task_stopped = describe_as_it_stops  # type: ignore[method-assign]
    sim.run(until=READY)
    arns = [_run_one(sim, family) for family in ("job", "checked", "broken", "job", "long")]
    sim.run(until=sim.now + 60.0)
    ecs.stop_task(cluster="prod", task=arns[-1], reason="enough")
    sim.result()  # packs the rows recorded so far into chunks: both kinds are read back
    arns += [_run_one(sim, "job") for _ in range(3)]
    sim.run(until=sim.now + 1800.0)
    assert set(at_stop) == set(arns)
    assert not control.clusters["prod"].tasks

    described = check("DescribeTasks", ecs.describe_tasks(cluster="prod", tasks=arns))
    assert described["failures"] == []
    assert {t["taskArn"]: t for t in described["tasks"]} == at_stop
    assert at_stop[arns[1]]["healthStatus"] == "UNHEALTHY"
    assert "stopCode" in at_stop[arns[2]] and at_stop[arns[4]]["stoppedReason"] == "enough"
    listed = ecs.list_tasks(cluster="prod", desiredStatus="STOPPED")["taskArns"]
    assert sorted(listed) == sorted(arns)
    broken = ecs.list_tasks(cluster="prod", desiredStatus="STOPPED", family="broken")
    assert broken["taskArns"] == [arns[2]]
    instance = at_stop[arns[0]]["containerInstanceArn"]
    on_it = ecs.list_tasks(cluster="prod", desiredStatus="STOPPED", containerInstance=instance)
    assert arns[0] in on_it["taskArns"]
    assert {at_stop[a]["containerInstanceArn"] for a in on_it["taskArns"]} == {instance}
    # StopTask on a STOPPED task changes nothing and describes it.
    assert ecs.stop_task(cluster="prod", task=arns[0])["task"] == at_stop[arns[0]]


def test_a_stopped_task_is_read_back_in_its_own_cluster_only():
    sim = _sim({"job": TaskBehavior(runtime=Fixed(30.0))})
    sim.ecs.create_cluster(clusterName="dev")
    sim.launch_instances("dev", "m5.large", count=1)
    register(sim, "job")
    sim.run(until=READY)
    prod = _run_one(sim, "job")
    dev = sim.ecs.run_task(cluster="dev", taskDefinition="job")["tasks"][0]["taskArn"]
    sim.run(until=sim.now + 300.0)
    for cluster, own, other in (("prod", prod, dev), ("dev", dev, prod)):
        assert sim.ecs.list_tasks(cluster=cluster, desiredStatus="STOPPED")["taskArns"] == [own]
        response = sim.ecs.describe_tasks(cluster=cluster, tasks=[own, other])
        assert [t["taskArn"] for t in response["tasks"]] == [own]
        assert response["failures"] == [{"arn": other, "reason": "MISSING"}]
    # Without a health check a stopped task's health is UNKNOWN, as it was when it stopped.
    assert _describe(sim, prod)["healthStatus"] == "UNKNOWN"


def test_the_health_kept_for_stopped_tasks_is_forgotten_with_them():
    behaviors = {"checked": TaskBehavior(runtime=Fixed(60.0))}
    sim = _sim(behaviors, deregistered_visible=600.0)
    register(sim, "checked", containerDefinitions=[container("checked", healthCheck=CHECK)])
    sim.run(until=READY)
    arns = []
    for wait in (700.0, 700.0, 700.0, 200.0):  # each stops 700 s after the one before
        arns.append(_run_one(sim, "checked"))
        sim.run(until=sim.now + wait)
    assert _describe(sim, arns[-1])["healthStatus"] == "HEALTHY"
    assert list(sim.control._stopped_health) == [arns[-1]]  # nothing kept past its hour


def test_a_stopped_tasks_health_is_the_one_it_stopped_with():
    """An orphaned task (its instance deregistered by force) never had its containers stop.

    Its healthStatus is the one it had when it stopped: the health check that would have
    failed later does not make it UNHEALTHY afterwards.
    """
    sim = _sim({"checked": TaskBehavior(unhealthy_after=Fixed(100.0))})
    register(sim, "checked", containerDefinitions=[container("checked", healthCheck=CHECK)])
    sim.run(until=READY)
    arn = _run_one(sim, "checked")
    sim.run(until=sim.now + 60.0)
    assert _describe(sim, arn)["healthStatus"] == "HEALTHY"
    (instance,) = sim.ecs.list_container_instances(cluster="prod")["containerInstanceArns"]
    sim.ecs.deregister_container_instance(cluster="prod", containerInstance=instance, force=True)
    sim.run(until=sim.now + 1.0)
    assert _describe(sim, arn)["lastStatus"] == "STOPPED"
    sim.run(until=sim.now + 600.0)  # long past when its checks would have failed
    described = _describe(sim, arn)
    assert described["healthStatus"] == "HEALTHY" and "executionStoppedAt" not in described
