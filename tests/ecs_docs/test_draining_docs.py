"""Container instance draining as the ECS documentation describes it, played through ``sim.ecs``.

Each test names the documented behaviour it reproduces (ECS-SEMANTICS section 4). Sources:
DG container-instance-draining (the developer guide page "Container instance draining"),
BC UpdateContainerInstancesState (botocore's ECS model: the operation's documentation and its
``status`` member), DG ecs_services (the daemon scheduler) and DG service-event-messages.

The replacement examples of the docs use a service of desired count four whose four tasks all
run on the instance being drained; a binpack strategy puts them there (four 1024 MiB tasks fit
on one m5.large, 7826 MiB).
"""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import register
from test_client import check

from ecssim.simulation import Simulation

STUCK = (
    "(service web) was unable to stop or start tasks during a deployment because of the service "
    "deployment configuration. Update the minimumHealthyPercent or maximumPercent value and try "
    "again."
)
BINPACK_MEMORY = [{"field": "memory", "type": "binpack"}]


# -- helpers ---------------------------------------------------------------------------------


def _instances(sim: Simulation) -> dict[str, dict]:
    """Container-instance ARN -> DescribeContainerInstances entry, for cluster ``prod``."""
    arns = sim.ecs.list_container_instances(cluster="prod")["containerInstanceArns"]
    described = sim.ecs.describe_container_instances(cluster="prod", containerInstances=arns)
    return {i["containerInstanceArn"]: i for i in described["containerInstances"]}


def _status(sim: Simulation, instance: str) -> str:
    described = sim.ecs.describe_container_instances(cluster="prod", containerInstances=[instance])
    return described["containerInstances"][0]["status"]


def _drain(sim: Simulation, *instances: str, status: str = "DRAINING") -> dict:
    response = sim.ecs.update_container_instances_state(
        cluster="prod", containerInstances=list(instances), status=status
    )
    check("UpdateContainerInstancesState", response)
    assert response["failures"] == []
    assert {i["status"] for i in response["containerInstances"]} == {status}
    return response


def _tasks_on(sim: Simulation, instance: str) -> list[dict]:
    """ListTasks(containerInstance=...) then DescribeTasks, the way the DG page checks a drain."""
    arns = sim.ecs.list_tasks(cluster="prod", containerInstance=instance)["taskArns"]
    if not arns:
        return []
    return sim.ecs.describe_tasks(cluster="prod", tasks=arns)["tasks"]


def _service(sim: Simulation) -> dict:
    return sim.ecs.describe_services(cluster="prod", services=["web"])["services"][0]


def _running_count(sim: Simulation, since: float) -> pd.Series:
    series = sim.result().series
    rows = series[
        (series.metric == "running_count") & (series.service == "web") & (series.t >= since)
    ]
    return rows.value


def _four_on_one(sim: Simulation, config: dict) -> tuple[str, float]:
    """Service web (desired 4, ``config``) with its four tasks on one of three m5.large.

    Returns the instance holding them, drained now, and the time of the drain.
    """
    sim.launch_instances("prod", "m5.large", count=3)
    register(sim, "web", memory=1024, cpu=256)
    sim.run(until="4m")
    sim.ecs.create_service(
        cluster="prod",
        serviceName="web",
        taskDefinition="web",
        desiredCount=4,
        placementStrategy=BINPACK_MEMORY,
        deploymentConfiguration=config,
    )
    sim.run(until="10m")
    (victim,) = {t["containerInstanceArn"] for t in _tasks_on_service(sim)}
    assert len(_tasks_on(sim, victim)) == 4
    assert {t["lastStatus"] for t in _tasks_on(sim, victim)} == {"RUNNING"}
    t0 = sim.now
    _drain(sim, victim)
    return victim, t0


def _tasks_on_service(sim: Simulation) -> list[dict]:
    arns = sim.ecs.list_tasks(cluster="prod", serviceName="web")["taskArns"]
    return sim.ecs.describe_tasks(cluster="prod", tasks=arns)["tasks"] if arns else []


def _web_tasks(sim: Simulation, victim: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The service's tasks from the result frame: (on the drained instance, elsewhere)."""
    tasks = sim.result().tasks
    web = tasks[tasks.service == "web"]
    drained = web[web.container_instance == victim]
    return drained, web[web.container_instance != victim]


# -- PENDING service tasks ---------------------------------------------------------------------


def test_pending_service_tasks_are_stopped_immediately_and_replaced_elsewhere(sim):
    # DG container-instance-draining: "Any tasks that are part of a service that are in a
    # PENDING state are stopped immediately. If there is available container instance capacity
    # in the cluster, the service scheduler will start replacement tasks." BC
    # UpdateContainerInstancesState: "replacement service tasks are started on other container
    # instances in the cluster if the resources are available".
    sim.launch_instances("prod", "m5.large", count=2)
    register(sim, "web")
    sim.run(until="4m")
    sim.ecs.create_service(cluster="prod", serviceName="web", taskDefinition="web", desiredCount=2)
    sim.run(until=sim.now + 1)  # placed one per instance, images still pulling
    tasks = _tasks_on_service(sim)
    assert {t["lastStatus"] for t in tasks} <= {"PROVISIONING", "PENDING", "ACTIVATING"}
    victim, survivor = (t["containerInstanceArn"] for t in tasks)
    t0 = sim.now
    _drain(sim, victim)
    drained, elsewhere = _web_tasks(sim, victim)
    assert len(drained) == 1
    assert (drained.desired_stopped_at == t0).all()  # at the drain, not later
    assert (drained.stop_code == "ServiceSchedulerInitiated").all()
    sim.run(until="10m")
    drained, elsewhere = _web_tasks(sim, victim)
    assert drained.started_at.isna().all()  # it never reached RUNNING
    assert (elsewhere.container_instance == survivor).all()
    replacement = elsewhere[elsewhere.created_at >= t0]
    assert len(replacement) == 1 and replacement.created_at.iloc[0] == pytest.approx(t0)
    assert _service(sim)["runningCount"] == 2
    assert [t["containerInstanceArn"] for t in _tasks_on_service(sim)] == [survivor] * 2


def test_pending_service_tasks_without_capacity_elsewhere_log_a_service_event(sim):
    # DG container-instance-draining: "If there isn't enough container instance capacity, a
    # service event message will be sent indicating the issue." (DG service-event-messages:
    # "service (service-name) was unable to place a task ...")
    sim.launch_instances("prod", "m5.large", count=1)
    register(sim, "web")
    sim.run(until="4m")
    sim.ecs.create_service(cluster="prod", serviceName="web", taskDefinition="web", desiredCount=2)
    sim.run(until=sim.now + 1)
    (victim,) = {t["containerInstanceArn"] for t in _tasks_on_service(sim)}
    _drain(sim, victim)
    sim.run(until="10m")
    assert _tasks_on(sim, victim) == []
    service = _service(sim)
    assert service["runningCount"] == 0
    assert any(
        e["message"].startswith("(service web) was unable to place a task")
        for e in service["events"]
    )


# -- RUNNING service tasks: minimumHealthyPercent / maximumPercent ----------------------------


def test_desired_4_max_200_starts_four_new_tasks_before_stopping_the_four_drained(sim):
    # BC UpdateContainerInstancesState / DG container-instance-draining: "if desiredCount is four
    # tasks, a maximum of 200% starts four new tasks before stopping the four tasks to be
    # drained"; "If the minimum is 100%, the service scheduler can't remove existing tasks until
    # the replacement tasks are considered healthy."
    victim, t0 = _four_on_one(sim, {"minimumHealthyPercent": 100, "maximumPercent": 200})
    sim.run(until=t0 + 1)
    drained, new = _web_tasks(sim, victim)
    assert len(new) == 4 and (new.created_at == t0).all()  # all four started at once
    assert drained.desired_stopped_at.isna().all()  # nothing stopped yet
    sim.run(until="30m")
    drained, new = _web_tasks(sim, victim)
    assert (drained.stop_code == "ServiceSchedulerInitiated").all()
    # Each drained task stops only once a replacement runs (ecssim counts a task without a load
    # balancer healthy 40 s after RUNNING, BP; the draining page says RUNNING is enough).
    first_stop = drained.desired_stopped_at.min()
    assert first_stop >= new.started_at.min()
    assert _running_count(sim, t0).min() >= 4
    assert _tasks_on(sim, victim) == []
    assert _service(sim)["runningCount"] == 4


def test_desired_4_min_50_may_stop_two_tasks_before_starting_replacements(sim):
    # BC UpdateContainerInstancesState / DG container-instance-draining: "If minimumHealthyPercent
    # is below 100%, the scheduler can ignore desiredCount temporarily during task replacement.
    # For example, desiredCount is four tasks, a minimum of 50% allows the scheduler to stop two
    # existing tasks before starting two new tasks."
    victim, t0 = _four_on_one(sim, {"minimumHealthyPercent": 50, "maximumPercent": 200})
    sim.run(until=t0)  # what the scheduler does at the drain instant
    drained, _ = _web_tasks(sim, victim)
    assert (drained.desired_stopped_at == t0).sum() == 2  # two stopped at once, not four
    sim.run(until="30m")
    running = _running_count(sim, t0)
    assert running.min() == 2  # never below ceil(4 x 50 %)
    assert running.iloc[-1] == 4
    assert _tasks_on(sim, victim) == []


def test_min_100_max_100_cannot_replace_and_logs_the_deployment_configuration_event(sim):
    # BC UpdateContainerInstancesState: with minimum 100% existing tasks stay until replacements
    # are healthy, and "If the maximum is 100%, then replacement tasks can't start until the
    # draining tasks have stopped": nothing can move. DG service-event-messages: "service
    # (service-name) was unable to stop or start tasks during a deployment because of the service
    # deployment configuration. ..." (minimumHealthyPercent is "the lower limit ... during a
    # deployment or when a container instance is draining").
    victim, _ = _four_on_one(sim, {"minimumHealthyPercent": 100, "maximumPercent": 100})
    sim.run(until="40m")
    assert {t["lastStatus"] for t in _tasks_on(sim, victim)} == {"RUNNING"}
    assert len(_tasks_on(sim, victim)) == 4
    _, new = _web_tasks(sim, victim)
    assert new.empty
    assert STUCK in [e["message"] for e in _service(sim)["events"]]


def test_max_100_starts_replacements_only_after_the_drained_tasks_stopped(sim):
    # BC UpdateContainerInstancesState / DG container-instance-draining: "If the maximum is 100%,
    # then replacement tasks can't start until the draining tasks have stopped."
    victim, _ = _four_on_one(sim, {"minimumHealthyPercent": 50, "maximumPercent": 100})
    sim.run(until="30m")
    drained, new = _web_tasks(sim, victim)
    assert len(new) == 4 and drained.stopped_at.notna().all()
    # Each replacement needs one drained task STOPPED before it is created.
    stops = sorted(drained.stopped_at)
    for k, created in enumerate(sorted(new.created_at)):
        assert created >= stops[k]


# -- standalone tasks --------------------------------------------------------------------------


def test_standalone_pending_and_running_tasks_are_unaffected(sim):
    # DG container-instance-draining: "Any standalone tasks in the PENDING or RUNNING state are
    # unaffected; you must wait for them to stop on their own or stop them manually."
    sim.launch_instances("prod", "m5.large", count=1)
    register(sim, "batch")
    sim.run(until="4m")
    (instance,) = _instances(sim)
    (running,) = sim.ecs.start_task(
        cluster="prod", taskDefinition="batch", containerInstances=[instance]
    )["tasks"]
    sim.run(until="6m")
    (pending,) = sim.ecs.start_task(
        cluster="prod", taskDefinition="batch", containerInstances=[instance]
    )["tasks"]
    statuses = {t["taskArn"]: t["lastStatus"] for t in _tasks_on(sim, instance)}
    assert statuses[running["taskArn"]] == "RUNNING"
    assert statuses[pending["taskArn"]] != "RUNNING"
    _drain(sim, instance)
    sim.run(until="2h")
    after = {t["taskArn"]: t for t in _tasks_on(sim, instance)}
    assert {a: t["lastStatus"] for a, t in after.items()} == {
        running["taskArn"]: "RUNNING",
        pending["taskArn"]: "RUNNING",  # it went on to start on the DRAINING instance
    }
    assert all(t["desiredStatus"] == "RUNNING" for t in after.values())
    sim.ecs.stop_task(cluster="prod", task=running["taskArn"])  # "or stop them manually"
    sim.run(until="2h5m")
    assert [t["taskArn"] for t in _tasks_on(sim, instance)] == [pending["taskArn"]]


# -- the instance's status --------------------------------------------------------------------


def test_a_drained_instance_stays_draining_until_activated_or_deregistered(sim):
    # DG container-instance-draining: "A container instance has completed draining when all
    # tasks running on the instance transition to a STOPPED state. The container instance
    # remains in a DRAINING state until it is activated again or deleted." Verified with
    # ListTasks(containerInstance) and DescribeTasks, as the page suggests.
    victim, _ = _four_on_one(sim, {"minimumHealthyPercent": 100, "maximumPercent": 200})
    sim.run(until="20m")
    assert _tasks_on(sim, victim) == []
    stopped = sim.ecs.list_tasks(cluster="prod", containerInstance=victim, desiredStatus="STOPPED")
    described = sim.ecs.describe_tasks(cluster="prod", tasks=stopped["taskArns"])["tasks"]
    assert len(described) == 4 and {t["lastStatus"] for t in described} == {"STOPPED"}
    sim.run(until="3h")
    assert _status(sim, victim) == "DRAINING"
    response = sim.ecs.deregister_container_instance(cluster="prod", containerInstance=victim)
    check("DeregisterContainerInstance", response)
    assert response["containerInstance"]["status"] == "INACTIVE"
    assert victim not in _instances(sim)


def test_activating_a_drained_instance_makes_it_a_placement_candidate_again(sim):
    # DG container-instance-draining: "When you are ready for the container instance to start
    # hosting tasks again, you change the state of the container instance from DRAINING to
    # ACTIVE. The Amazon ECS service scheduler will then consider the container instance for
    # task placement again." BC: "once it has reached that status the Amazon ECS scheduler can
    # begin scheduling tasks on the instance again."
    sim.launch_instances("prod", "m5.large", count=1)
    register(sim, "web")
    sim.run(until="4m")
    (instance,) = _instances(sim)
    _drain(sim, instance)
    sim.ecs.create_service(cluster="prod", serviceName="web", taskDefinition="web", desiredCount=2)
    sim.run(until="10m")
    assert _service(sim)["runningCount"] == 0  # nowhere to go
    _drain(sim, instance, status="ACTIVE")
    assert _status(sim, instance) == "ACTIVE"
    sim.run(until="12m")
    assert _service(sim)["runningCount"] == 2
    assert [t["containerInstanceArn"] for t in _tasks_on_service(sim)] == [instance] * 2


def test_only_active_and_draining_are_valid_and_only_from_active_or_draining(sim):
    # BC UpdateContainerInstancesState.status: "The only valid values for this action are ACTIVE
    # and DRAINING. A container instance can only be updated to DRAINING status once it has
    # reached an ACTIVE state." The operation: "If the instance is in any other status, an
    # error will be received."
    sim.launch_instances("prod", "m5.large", count=2)
    sim.run(until="4m")
    first, second = _instances(sim)
    for status in ("REGISTERING", "DEREGISTERING", "REGISTRATION_FAILED"):
        with pytest.raises(sim.ecs.exceptions.InvalidParameterException):
            sim.ecs.update_container_instances_state(
                cluster="prod", containerInstances=[first], status=status
            )
        assert _status(sim, first) == "ACTIVE"
    _drain(sim, first)
    _drain(sim, first, status="ACTIVE")
    sim.ecs.deregister_container_instance(cluster="prod", containerInstance=second)
    for status in ("DRAINING", "ACTIVE"):
        with pytest.raises(sim.ecs.exceptions.InvalidParameterException):
            sim.ecs.update_container_instances_state(
                cluster="prod", containerInstances=[second], status=status
            )
    described = sim.ecs.describe_container_instances(cluster="prod", containerInstances=[second])
    assert described["containerInstances"][0]["status"] == "INACTIVE"


# -- no new placements --------------------------------------------------------------------------


def test_no_new_tasks_are_placed_on_a_draining_instance(sim):
    # DG container-instance-draining / BC: "Amazon ECS prevents new tasks from being scheduled
    # for placement on the container instance". Binpack would prefer the draining instance (it
    # has the least memory left); RunTask uses the other one, and with every instance DRAINING
    # no task is placed at all.
    sim.launch_instances("prod", "m5.large", count=2)
    register(sim, "job", memory=512, cpu=128)
    register(sim, "filler", memory=4000, cpu=128)
    sim.run(until="4m")
    tight, roomy = _instances(sim)
    sim.ecs.start_task(cluster="prod", taskDefinition="filler", containerInstances=[tight])
    probe = sim.ecs.run_task(cluster="prod", taskDefinition="job", placementStrategy=BINPACK_MEMORY)
    assert [t["containerInstanceArn"] for t in probe["tasks"]] == [tight]
    _drain(sim, tight)
    out = check(
        "RunTask",
        sim.ecs.run_task(
            cluster="prod", taskDefinition="job", count=5, placementStrategy=BINPACK_MEMORY
        ),
    )
    assert [t["containerInstanceArn"] for t in out["tasks"]] == [roomy] * 5
    _drain(sim, roomy)
    try:
        none = sim.ecs.run_task(cluster="prod", taskDefinition="job")
    except sim.ecs.exceptions.InvalidParameterException:
        none = {"tasks": []}  # ecssim: no ACTIVE instance is "No Container Instances were found"
    assert none["tasks"] == []
    assert len(_tasks_on(sim, tight)) == 2 and len(_tasks_on(sim, roomy)) == 5


def test_daemon_tasks_on_a_draining_instance_are_stopped_and_not_placed_again(sim):
    # DG ecs_services, Daemon: "The daemon service scheduler does not place any tasks on
    # instances that have a DRAINING status. If a container instance transitions to DRAINING,
    # the daemon tasks on it are stopped."
    sim.launch_instances("prod", "m5.large", count=2)
    register(sim, "agent", memory=128, cpu=64)
    sim.run(until="4m")
    sim.ecs.create_service(
        cluster="prod", serviceName="web", taskDefinition="agent", schedulingStrategy="DAEMON"
    )
    sim.run(until="6m")
    first, second = _instances(sim)
    assert len(_tasks_on(sim, first)) == len(_tasks_on(sim, second)) == 1
    _drain(sim, first)
    sim.run(until="15m")
    assert _tasks_on(sim, first) == []
    assert len(_tasks_on(sim, second)) == 1
    assert _service(sim)["runningCount"] == 1
