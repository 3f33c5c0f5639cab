"""Container instance draining, deregistration and states (ECS-SEMANTICS section 4)."""

from __future__ import annotations

import pytest
from conftest import register
from test_client import check

from ecssim.simulation import Simulation

STUCK = (
    "(service web) was unable to stop or start tasks during a deployment because of the service "
    "deployment configuration. Update the minimumHealthyPercent or maximumPercent value and try "
    "again."
)


def _cluster(sim: Simulation, *, desired: int = 6, config: dict | None = None) -> None:
    sim.launch_instances("prod", "m5.large", count=3)
    register(sim, "web")
    sim.run(until="4m")
    sim.ecs.create_service(
        cluster="prod",
        serviceName="web",
        taskDefinition="web",
        desiredCount=desired,
        **({"deploymentConfiguration": config} if config else {}),
    )
    sim.run(until="8m")


def _instance_with_tasks(sim: Simulation) -> str:
    arns = sim.ecs.list_container_instances(cluster="prod")["containerInstanceArns"]
    described = sim.ecs.describe_container_instances(cluster="prod", containerInstances=arns)
    busy = [i for i in described["containerInstances"] if i["runningTasksCount"] > 0]
    return busy[0]["containerInstanceArn"]


def _tasks_on(sim: Simulation, instance: str, desired: str = "RUNNING") -> list[dict]:
    arns = sim.ecs.list_tasks(cluster="prod", containerInstance=instance, desiredStatus=desired)
    if not arns["taskArns"]:
        return []
    return sim.ecs.describe_tasks(cluster="prod", tasks=arns["taskArns"])["tasks"]


def _running_count(sim: Simulation, since: float) -> list[float]:
    series = sim.result().series
    rows = series[
        (series.metric == "running_count") & (series.service == "web") & (series.t >= since)
    ]
    return list(rows.value)


def _drain(sim: Simulation, instance: str) -> dict:
    return check(
        "UpdateContainerInstancesState",
        sim.ecs.update_container_instances_state(
            cluster="prod", containerInstances=[instance], status="DRAINING"
        ),
    )


def test_draining_with_100_200_starts_replacements_before_stopping(sim):
    _cluster(sim)
    victim = _instance_with_tasks(sim)
    old = {t["taskArn"] for t in _tasks_on(sim, victim)}
    assert len(old) == 2
    t0 = sim.now
    response = _drain(sim, victim)
    assert response["containerInstances"][0]["status"] == "DRAINING"
    assert response["failures"] == []
    # Right after the drain, the old tasks still run: replacements come first.
    sim.run(until=t0 + 1)
    assert all(t["lastStatus"] == "RUNNING" for t in _tasks_on(sim, victim))
    sim.run(until="20m")
    assert _tasks_on(sim, victim) == []
    assert min(_running_count(sim, t0)) >= 6  # never below minimumHealthyPercent 100
    service = sim.ecs.describe_services(cluster="prod", services=["web"])["services"][0]
    assert service["runningCount"] == 6
    stopped = sim.ecs.describe_tasks(cluster="prod", tasks=sorted(old))["tasks"]
    assert {t["stopCode"] for t in stopped} == {"ServiceSchedulerInitiated"}
    # Drain complete, but the instance stays DRAINING.
    status = sim.ecs.describe_container_instances(cluster="prod", containerInstances=[victim])
    assert status["containerInstances"][0]["status"] == "DRAINING"
    events = sim.result().events
    assert (events.kind == "instance_drained").sum() == 1


def test_draining_with_50_200_may_stop_first(sim):
    _cluster(sim, config={"minimumHealthyPercent": 50, "maximumPercent": 200})
    victim = _instance_with_tasks(sim)
    t0 = sim.now
    _drain(sim, victim)
    sim.run(until=t0 + 1)
    assert _tasks_on(sim, victim) == []  # both stopped at once: 4 running >= ceil(6 x 50 %)
    sim.run(until="20m")
    counts = _running_count(sim, t0)
    assert min(counts) == 4
    assert counts[-1] == 6


def test_draining_with_100_100_is_stuck_with_ecs_event(sim):
    _cluster(sim, config={"minimumHealthyPercent": 100, "maximumPercent": 100})
    victim = _instance_with_tasks(sim)
    _drain(sim, victim)
    sim.run(until="30m")
    assert len(_tasks_on(sim, victim)) == 2
    service = sim.ecs.describe_services(cluster="prod", services=["web"])["services"][0]
    assert STUCK in [e["message"] for e in service["events"]]
    events = sim.result().events
    assert (events.kind == "deployment_stuck").sum() == 1  # logged once, not every wake


def test_pending_service_tasks_stop_at_once_standalone_untouched(sim):
    sim.launch_instances("prod", "m5.large", count=1)
    register(sim, "web")
    register(sim, "batch")
    sim.run(until="4m")
    instance = sim.ecs.list_container_instances(cluster="prod")["containerInstanceArns"][0]
    sim.ecs.start_task(cluster="prod", taskDefinition="batch", containerInstances=[instance])
    sim.run(until="5m")
    sim.ecs.create_service(cluster="prod", serviceName="web", taskDefinition="web", desiredCount=2)
    sim.run(until=sim.now + 1)  # placed, still pulling
    pending = _tasks_on(sim, instance)
    assert {t["lastStatus"] for t in pending if t["group"] == "service:web"} <= {
        "PENDING",
        "ACTIVATING",
    }
    t0 = sim.now
    _drain(sim, instance)
    sim.run(until="15m")
    tasks = sim.result().tasks
    web = tasks[tasks.service == "web"]
    assert len(web) == 2
    assert (web.desired_stopped_at == t0).all()
    assert (web.stop_code == "ServiceSchedulerInitiated").all()
    assert web.started_at.isna().all()  # never reached RUNNING
    batch = _tasks_on(sim, instance)
    assert [t["lastStatus"] for t in batch] == ["RUNNING"]  # standalone task untouched
    # No placements on a DRAINING instance: the service cannot place its tasks.
    service = sim.ecs.describe_services(cluster="prod", services=["web"])["services"][0]
    assert service["runningCount"] == 0
    with pytest.raises(sim.ecs.exceptions.InvalidParameterException, match="No Container"):
        sim.ecs.run_task(cluster="prod", taskDefinition="batch")  # none ACTIVE


def test_state_transitions_and_errors(sim):
    _cluster(sim, desired=0)
    arns = sim.ecs.list_container_instances(cluster="prod")["containerInstanceArns"]
    with pytest.raises(sim.ecs.exceptions.InvalidParameterException):
        sim.ecs.update_container_instances_state(
            cluster="prod", containerInstances=arns[:1], status="REGISTERING"
        )
    _drain(sim, arns[0])
    # Back to ACTIVE: placements resume there.
    response = sim.ecs.update_container_instances_state(
        cluster="prod", containerInstances=arns[:1], status="ACTIVE"
    )
    assert response["containerInstances"][0]["status"] == "ACTIVE"
    missing = sim.ecs.update_container_instances_state(
        cluster="prod", containerInstances=["nope"], status="DRAINING"
    )
    assert missing["failures"] == [{"arn": "nope", "reason": "MISSING"}]
    check(
        "DeregisterContainerInstance",
        sim.ecs.deregister_container_instance(cluster="prod", containerInstance=arns[0]),
    )
    # Only an ACTIVE (or DRAINING) instance can be updated.
    with pytest.raises(sim.ecs.exceptions.InvalidParameterException):
        sim.ecs.update_container_instances_state(
            cluster="prod", containerInstances=arns[:1], status="DRAINING"
        )
    from ecssim.control.client import ParamValidationError

    with pytest.raises(ParamValidationError, match='Unknown parameter in input: "stauts"'):
        sim.ecs.update_container_instances_state(containerInstances=arns, stauts="DRAINING")


def test_deregister_needs_force_with_running_tasks(sim):
    _cluster(sim)
    victim = _instance_with_tasks(sim)
    orphans = {t["taskArn"] for t in _tasks_on(sim, victim)}
    with pytest.raises(
        sim.ecs.exceptions.InvalidParameterException, match=r"Found running tasks on the instance\."
    ):
        sim.ecs.deregister_container_instance(cluster="prod", containerInstance=victim)
    response = sim.ecs.deregister_container_instance(
        cluster="prod", containerInstance=victim, force=True
    )
    assert response["containerInstance"]["status"] == "INACTIVE"
    assert response["containerInstance"]["agentConnected"] is False
    assert victim not in sim.ecs.list_container_instances(cluster="prod")["containerInstanceArns"]
    sim.run(until="15m")
    service = sim.ecs.describe_services(cluster="prod", services=["web"])["services"][0]
    assert service["runningCount"] == 6  # the service replaced the orphaned tasks elsewhere
    orphaned = sim.ecs.describe_tasks(cluster="prod", tasks=sorted(orphans))["tasks"]
    assert all("orphaned" in t["stoppedReason"] and "stopCode" not in t for t in orphaned)
    result = sim.result()
    row = result.instances[result.instances.container_instance == victim].iloc[0]
    assert row.last_status == "INACTIVE"
    assert not row.agent_connected


def test_put_attributes_feed_member_of(sim):
    sim.launch_instances("prod", "m5.large", count=2)
    register(sim, "gpu-job")
    sim.run(until="4m")
    arns = sim.ecs.list_container_instances(cluster="prod")["containerInstanceArns"]
    response = sim.ecs.put_attributes(
        cluster="prod", attributes=[{"name": "tier", "value": "gold", "targetId": arns[1]}]
    )
    check("PutAttributes", response)
    out = sim.ecs.run_task(
        cluster="prod",
        taskDefinition="gpu-job",
        count=4,
        placementConstraints=[{"type": "memberOf", "expression": "attribute:tier == gold"}],
    )
    assert {t["containerInstanceArn"] for t in out["tasks"]} == {arns[1]}
    sim.ecs.delete_attributes(cluster="prod", attributes=[{"name": "tier", "targetId": arns[1]}])
    again = sim.ecs.run_task(
        cluster="prod",
        taskDefinition="gpu-job",
        placementConstraints=[{"type": "memberOf", "expression": "attribute:tier == gold"}],
    )
    assert again["tasks"] == []
    assert again["failures"][0]["reason"] == "MemberOf placement constraint unsatisfied."
