"""DAEMON services (ECS-SEMANTICS sections 4 and 5).

One task per ACTIVE, connected instance that meets the service's memberOf constraints; no
desiredCount or placement strategy; deployments default to maximumPercent 100 and
minimumHealthyPercent 0; daemon tasks launch first on new capacity and, on a DRAINING instance,
stop last (DG ecs_services; BC DeploymentConfiguration).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from conftest import register
from test_client import check

import ecssim
from ecssim.simulation import Simulation

ROOT = Path(__file__).resolve().parent.parent
WEB_TIER = [{"type": "memberOf", "expression": "attribute:tier == web"}]


def _boot(sim: Simulation, count: int = 3, **kwargs: object) -> list[str]:
    """Launch instances and run until they have registered (boot takes at most 3 min)."""
    before = set(sim.ecs.list_container_instances(cluster="prod")["containerInstanceArns"])
    sim.launch_instances("prod", "m5.large", count=count, **kwargs)  # type: ignore[arg-type]
    sim.run(until=sim.now + 240)
    arns = sim.ecs.list_container_instances(cluster="prod")["containerInstanceArns"]
    return [a for a in arns if a not in before]


def _daemon(sim: Simulation, family: str = "agent", name: str = "logs", **kwargs: object) -> dict:
    response = sim.ecs.create_service(
        cluster="prod",
        serviceName=name,
        taskDefinition=family,
        schedulingStrategy="DAEMON",
        **kwargs,
    )
    return check("CreateService", response)["service"]


def _service(sim: Simulation, name: str = "logs") -> dict:
    response = check("DescribeServices", sim.ecs.describe_services(cluster="prod", services=[name]))
    return response["services"][0]


def _tasks(sim: Simulation, service: str = "logs", desired: str = "RUNNING") -> list[dict]:
    arns = sim.ecs.list_tasks(cluster="prod", serviceName=service, desiredStatus=desired)
    if not arns["taskArns"]:
        return []
    return sim.ecs.describe_tasks(cluster="prod", tasks=arns["taskArns"])["tasks"]


def _hosts(sim: Simulation, service: str = "logs") -> list[str]:
    """The container instance of each of the service's tasks with desiredStatus RUNNING."""
    return sorted(t["containerInstanceArn"] for t in _tasks(sim, service))


def _frame(sim: Simulation, service: str = "logs") -> pd.DataFrame:
    tasks = sim.result().tasks
    return tasks[tasks.service == service]


# -- one task per eligible instance ---------------------------------------------------------------


def test_one_task_per_instance_without_constraints(sim):
    arns = _boot(sim, count=3)
    register(sim, "agent", memory=128, cpu=128)
    created = _daemon(sim)
    assert created["desiredCount"] == 3  # follows the instances, set at once
    sim.run(until=sim.now + 120)
    assert _hosts(sim) == sorted(arns)
    service = _service(sim)
    assert (service["desiredCount"], service["runningCount"], service["pendingCount"]) == (3, 3, 0)


@pytest.mark.parametrize("where", ["service", "task definition"])
def test_member_of_limits_the_daemon_to_matching_instances(sim, where):
    web = _boot(sim, count=2, attributes={"tier": "web"})
    _boot(sim, count=2, attributes={"tier": "batch"})
    if where == "service":
        register(sim, "agent", memory=128, cpu=128)
        _daemon(sim, placementConstraints=WEB_TIER)
    else:
        register(sim, "agent", memory=128, cpu=128, placementConstraints=WEB_TIER)
        _daemon(sim)
    sim.run(until=sim.now + 120)
    assert _hosts(sim) == sorted(web)  # exactly one on each tier=web instance, none elsewhere
    service = _service(sim)
    assert (service["desiredCount"], service["runningCount"]) == (2, 2)


def test_a_stopped_daemon_task_is_replaced_on_its_instance(sim):
    _boot(sim, count=2)
    register(sim, "agent", memory=128, cpu=128)
    _daemon(sim)
    sim.run(until=sim.now + 120)
    victim = _tasks(sim)[0]
    sim.ecs.stop_task(cluster="prod", task=victim["taskArn"], reason="chaos")
    sim.run(until=sim.now + 120)
    tasks = _tasks(sim)
    assert len(tasks) == 2 and victim["taskArn"] not in {t["taskArn"] for t in tasks}
    on_host = [t for t in tasks if t["containerInstanceArn"] == victim["containerInstanceArn"]]
    assert len(on_host) == 1 and on_host[0]["lastStatus"] == "RUNNING"


# -- new capacity: daemon tasks go first ----------------------------------------------------------


def test_a_new_instance_gets_a_daemon_task_when_it_registers(sim):
    _boot(sim, count=2)
    register(sim, "agent", memory=128, cpu=128)
    _daemon(sim)
    sim.run(until=sim.now + 120)
    t0 = sim.now
    [new] = _boot(sim, count=1)
    assert _service(sim)["desiredCount"] == 3
    on_new = [t for t in _tasks(sim) if t["containerInstanceArn"] == new]
    assert len(on_new) == 1
    events = sim.result().events
    registered = events[(events.kind == "instance_registered") & (events.t > t0)].t.item()
    created = _frame(sim)
    created = created[created.container_instance == new].created_at.item()
    assert created == registered  # placed as the instance registered, not on a later wake


def test_the_daemon_goes_first_when_a_replica_service_is_short(sim):
    # One instance of 2560 CPU units: two web tasks (1024 each) and one daemon task (512).
    [first] = _boot(sim, count=1, cpu=2560)
    register(sim, "web", cpu=1024)
    register(sim, "agent", cpu=512)
    # web is created first: a scheduler that woke services in creation order would give it
    # the new instance.
    sim.ecs.create_service(cluster="prod", serviceName="web", taskDefinition="web", desiredCount=3)
    _daemon(sim)
    sim.run(until=sim.now + 120)
    assert _service(sim, "web")["runningCount"] == 2  # one web task waits for capacity
    assert _hosts(sim) == [first]
    # The new instance holds a daemon task (512) or a web task (1024), not both.
    [new] = _boot(sim, count=1, cpu=1024)
    sim.run(until=sim.now + 120)
    assert _hosts(sim) == sorted([first, new])
    assert new not in _hosts(sim, "web")
    web = _service(sim, "web")
    assert (web["runningCount"], web["pendingCount"]) == (2, 0)
    assert "unable to place a task" in web["events"][0]["message"]


def test_a_new_instance_gets_its_daemon_task_while_another_drains(sim):
    # web's 100/100 cannot replace anything, so the DRAINING instance keeps its web task and
    # its daemon task: that daemon task must not keep the new instance from getting one.
    arns = _boot(sim, count=2)
    register(sim, "agent", memory=128, cpu=128)
    register(sim, "web")
    _daemon(sim)
    sim.ecs.create_service(
        cluster="prod",
        serviceName="web",
        taskDefinition="web",
        desiredCount=2,
        deploymentConfiguration={"minimumHealthyPercent": 100, "maximumPercent": 100},
    )
    sim.run(until=sim.now + 120)
    sim.ecs.update_container_instances_state(
        cluster="prod", containerInstances=arns[:1], status="DRAINING"
    )
    [new] = _boot(sim, count=1)
    assert _hosts(sim) == sorted([*arns, new])  # the draining one keeps its daemon task
    assert _service(sim)["desiredCount"] == 2  # arns[1] and the new one


# -- draining: daemon tasks stop last -------------------------------------------------------------


def _drain_setup(sim: Simulation) -> str:
    """Three instances, the daemon and six web tasks (100/200); return a busy instance."""
    _boot(sim, count=3)
    register(sim, "agent", memory=128, cpu=128)
    register(sim, "web")
    _daemon(sim)
    sim.ecs.create_service(cluster="prod", serviceName="web", taskDefinition="web", desiredCount=6)
    sim.run(until=sim.now + 240)
    return _hosts(sim, "web")[0]


def test_draining_replaces_replica_tasks_first_and_stops_the_daemon_task_last(sim):
    victim = _drain_setup(sim)
    assert _hosts(sim, "web").count(victim) == 2
    t0 = sim.now
    response = sim.ecs.update_container_instances_state(
        cluster="prod", containerInstances=[victim], status="DRAINING"
    )
    check("UpdateContainerInstancesState", response)
    sim.run(until=t0 + 1)
    assert _service(sim)["desiredCount"] == 2  # a DRAINING instance is no target
    daemon = [t for t in _tasks(sim) if t["containerInstanceArn"] == victim]
    assert [t["lastStatus"] for t in daemon] == ["RUNNING"]  # still there while web moves
    sim.run(until=t0 + 600)
    assert victim not in _hosts(sim) and victim not in _hosts(sim, "web")
    web = _frame(sim, "web")
    moved = web[(web.container_instance == victim) & (web.desired_stopped_at >= t0)]
    logs = _frame(sim)
    [last] = logs[logs.container_instance == victim].itertuples()
    assert len(moved) == 2
    # web: replacements first (100/200 keeps 6 RUNNING), then the old tasks stop ...
    replacements = web[web.created_at >= t0]
    assert (
        len(replacements) == 2 and (replacements.started_at < moved.desired_stopped_at.min()).all()
    )
    # ... and the daemon task is stopped only once they have stopped.
    assert last.desired_stopped_at >= moved.stopped_at.max()
    assert last.stop_code == "ServiceSchedulerInitiated"
    assert "daemon task stopped last" in last.stopped_reason
    events = sim.result().events
    drained = events[events.kind == "instance_drained"]
    assert len(drained) == 1 and drained.t.item() >= last.stopped_at
    # Not replaced elsewhere: one daemon task on each of the two other instances.
    assert len(set(_hosts(sim))) == len(_hosts(sim)) == 2
    service = _service(sim)
    assert (service["desiredCount"], service["runningCount"]) == (2, 2)


def test_draining_an_instance_with_only_a_daemon_task_stops_it_at_once(sim):
    arns = _boot(sim, count=2)
    register(sim, "agent", memory=128, cpu=128)
    _daemon(sim)
    sim.run(until=sim.now + 120)
    t0 = sim.now
    sim.ecs.update_container_instances_state(
        cluster="prod", containerInstances=arns[:1], status="DRAINING"
    )
    assert _hosts(sim) == arns[1:]
    sim.run(until=t0 + 120)
    logs = _frame(sim)
    assert logs[logs.container_instance == arns[0]].desired_stopped_at.item() == t0
    # Back to ACTIVE: the instance is a target again and gets a new daemon task.
    sim.ecs.update_container_instances_state(
        cluster="prod", containerInstances=arns[:1], status="ACTIVE"
    )
    assert _hosts(sim) == sorted(arns)
    assert _service(sim)["desiredCount"] == 2


# -- attributes change eligibility ----------------------------------------------------------------


def test_put_and_delete_attributes_change_which_instances_run_the_daemon(sim):
    arns = _boot(sim, count=3)
    register(sim, "agent", memory=128, cpu=128)
    _daemon(sim, placementConstraints=WEB_TIER)
    sim.run(until=sim.now + 60)
    assert _hosts(sim) == [] and _service(sim)["desiredCount"] == 0
    check(
        "PutAttributes",
        sim.ecs.put_attributes(
            cluster="prod",
            attributes=[{"name": "tier", "value": "web", "targetId": arn} for arn in arns[:2]],
        ),
    )
    assert _hosts(sim) == sorted(arns[:2])  # placed as the attribute appears
    assert _service(sim)["desiredCount"] == 2
    sim.run(until=sim.now + 120)
    # Deleting the attribute stops the task there ...
    sim.ecs.delete_attributes(cluster="prod", attributes=[{"name": "tier", "targetId": arns[0]}])
    assert _hosts(sim) == [arns[1]]
    # ... and so does changing its value.
    sim.ecs.put_attributes(
        cluster="prod", attributes=[{"name": "tier", "value": "batch", "targetId": arns[1]}]
    )
    assert _hosts(sim) == []
    assert _service(sim)["desiredCount"] == 0
    sim.run(until=sim.now + 120)
    stopped = _tasks(sim, desired="STOPPED")
    assert len(stopped) == 2
    assert {t["stopCode"] for t in stopped} == {"ServiceSchedulerInitiated"}
    assert all("no longer meets the placement constraints" in t["stoppedReason"] for t in stopped)


# -- deployments ----------------------------------------------------------------------------------


def test_update_to_a_new_revision_stops_then_starts_on_each_instance(sim):
    arns = _boot(sim, count=3)
    register(sim, "agent", memory=128, cpu=128)
    created = _daemon(sim)
    assert created["deploymentConfiguration"] == {"maximumPercent": 100, "minimumHealthyPercent": 0}
    sim.run(until=sim.now + 120)
    second = register(sim, "agent", memory=128, cpu=128)
    assert second["revision"] == 2
    t0 = sim.now
    response = sim.ecs.update_service(cluster="prod", service="logs", taskDefinition="agent:2")
    check("UpdateService", response)
    sim.run(until=t0 + 600)
    tasks = _tasks(sim)
    assert sorted(t["containerInstanceArn"] for t in tasks) == sorted(arns)
    assert {t["taskDefinitionArn"].rsplit(":", 1)[-1] for t in tasks} == {"2"}
    frame = _frame(sim)
    for arn in arns:
        on = frame[frame.container_instance == arn].sort_values("created_at")
        assert list(on.revision) == [1, 2]
        old, new = on.iloc[0], on.iloc[1]
        # max 100 %: the old task is stopped before the new one is created, so the instance
        # never has two tasks with desiredStatus RUNNING.
        assert old.desired_stopped_at <= new.created_at
        assert old.stop_code == "ServiceSchedulerInitiated"
    service = _service(sim)
    assert [d["status"] for d in service["deployments"]] == ["PRIMARY"]
    assert service["deployments"][0]["rolloutState"] == "COMPLETED"
    assert (service["desiredCount"], service["runningCount"]) == (3, 3)


def test_minimum_healthy_percent_limits_how_many_instances_roll_at_once(sim):
    _boot(sim, count=4)
    register(sim, "agent", memory=128, cpu=128)
    _daemon(sim, deploymentConfiguration={"minimumHealthyPercent": 50, "maximumPercent": 100})
    sim.run(until=sim.now + 120)
    register(sim, "agent", memory=128, cpu=128)
    t0 = sim.now
    sim.ecs.update_service(cluster="prod", service="logs", taskDefinition="agent:2")
    sim.run(until=t0 + 600)
    frame = _frame(sim)
    old = frame[frame.revision == 1].sort_values("desired_stopped_at")
    # 4 instances, ceil(4 x 50 %) = 2 stay healthy: two stop now, two once the new ones count
    # healthy (40 s after RUNNING, parameters.deployment_healthy_after).
    assert list(old.desired_stopped_at.iloc[:2]) == [t0, t0]
    # Then one more may stop each time a new task counts healthy: the k-th of the last two
    # stops waits for the k-th new task to turn healthy.
    healthy = sorted(frame[frame.revision == 2].started_at + 40)
    for stopped, turned_healthy in zip(old.desired_stopped_at.iloc[2:], healthy, strict=False):
        assert stopped >= turned_healthy
    assert len(_tasks(sim)) == 4 and {t["taskDefinitionArn"][-2:] for t in _tasks(sim)} == {":2"}


# -- API shapes and errors ------------------------------------------------------------------------


def test_describe_services_shows_a_daemon_service(sim):
    _boot(sim, count=2)
    register(sim, "agent", memory=128, cpu=128)
    _daemon(sim, placementConstraints=[{"type": "distinctInstance"}])
    sim.run(until=sim.now + 120)
    service = _service(sim)  # validated against botocore's DescribeServicesResponse
    assert service["schedulingStrategy"] == "DAEMON"
    assert service["placementStrategy"] == []
    assert service["placementConstraints"] == [{"type": "distinctInstance"}]
    assert (service["desiredCount"], service["runningCount"]) == (2, 2)
    assert service["deployments"][0]["desiredCount"] == 2


def test_client_rejects_desired_count_and_placement_strategy_for_daemon(sim):
    register(sim, "agent", memory=128, cpu=128)
    errors = sim.ecs.exceptions.InvalidParameterException
    with pytest.raises(
        errors,
        match=r"The daemon scheduling strategy does not support a desired count for services\.",
    ):
        _daemon(sim, desiredCount=1)
    with pytest.raises(
        errors, match=r"The daemon scheduling strategy does not support placement strategies\."
    ):
        _daemon(sim, placementStrategy=[{"type": "spread", "field": "instanceId"}])
    assert sim.ecs.list_services(cluster="prod")["serviceArns"] == []  # neither was created
    _daemon(sim)
    with pytest.raises(errors, match="does not support a desired count"):
        sim.ecs.update_service(cluster="prod", service="logs", desiredCount=2)


def test_scenario_rejects_desired_count_and_placement_strategy_for_daemon():
    doc = {
        "version": 1,
        "duration": "1h",
        "clusters": [{"clusterName": "prod"}],
        "task_definitions": [
            {
                "family": "agent",
                "containerDefinitions": [{"name": "a", "image": "a", "memory": 128}],
            }
        ],
        "services": [
            {
                "cluster": "prod",
                "serviceName": "logs",
                "taskDefinition": "agent",
                "schedulingStrategy": "DAEMON",
                "desiredCount": 3,
                "placementStrategy": [{"type": "random"}],
            }
        ],
    }
    with pytest.raises(ecssim.ScenarioError) as info:
        ecssim.load_scenario(doc)
    text = str(info.value)
    assert "services[0].desiredCount" in text and "takes no desiredCount" in text
    assert "services[0].placementStrategy" in text


def test_delete_service_needs_no_scale_to_zero(sim):
    _boot(sim, count=2)
    register(sim, "agent", memory=128, cpu=128)
    _daemon(sim)
    sim.ecs.create_service(
        cluster="prod", serviceName="web", taskDefinition="agent", desiredCount=1
    )
    sim.run(until=sim.now + 120)
    before = {t["taskArn"] for t in _tasks(sim)}
    assert len(before) == 2
    with pytest.raises(sim.ecs.exceptions.InvalidParameterException, match="scaled above 0"):
        sim.ecs.delete_service(cluster="prod", service="web")  # a REPLICA service must be
    response = check("DeleteService", sim.ecs.delete_service(cluster="prod", service="logs"))
    assert response["service"]["status"] in {"DRAINING", "INACTIVE"}
    sim.run(until=sim.now + 120)
    assert _service(sim)["status"] == "INACTIVE"
    assert _tasks(sim) == []
    stopped = sim.ecs.describe_tasks(cluster="prod", tasks=sorted(before))["tasks"]
    assert {t["lastStatus"] for t in stopped} == {"STOPPED"}
    assert {t["stopCode"] for t in stopped} == {"ServiceSchedulerInitiated"}
    arns = sim.ecs.list_services(cluster="prod")["serviceArns"]
    assert [a.rsplit("/", 1)[-1] for a in arns] == ["web"]
    events = sim.result().events
    assert ((events.kind == "service_inactive") & (events.service == "logs")).sum() == 1


# -- instance failure -----------------------------------------------------------------------------


def test_a_failed_instance_loses_its_daemon_task_without_replacement(sim):
    arns = _boot(sim, count=3)
    register(sim, "agent", memory=128, cpu=128)
    _daemon(sim)
    sim.run(until=sim.now + 120)
    described = sim.ecs.describe_container_instances(cluster="prod", containerInstances=arns[:1])
    t0 = sim.now
    sim.fail_instance(described["containerInstances"][0]["ec2InstanceId"])
    sim.run(until=t0 + 600)  # ECS notices after instance_lost_after (2 min)
    assert _hosts(sim) == sorted(arns[1:])
    service = _service(sim)
    assert (service["desiredCount"], service["runningCount"]) == (2, 2)
    logs = _frame(sim)
    assert not (logs.created_at > t0).any()  # nothing started elsewhere
    lost = logs[logs.container_instance == arns[0]]
    assert list(lost.stop_code) == ["TerminationNotice"]
    series = sim.result().series
    rows = series[(series.metric == "desired_count") & (series.service == "logs")]
    desired = rows.groupby("t").value.last().reset_index()  # the level after each instant
    events = sim.result().events
    lost_at = events[events.kind == "instance_lost"].t.item()
    assert lost_at > t0
    assert set(desired[(desired.t > t0) & (desired.t < lost_at)].value) <= {3}
    assert set(desired[desired.t >= lost_at].value) == {2}  # drops when ECS notices


# -- the bundled scenario -------------------------------------------------------------------------


def test_bundled_daemon_and_draining_scenario():
    result = ecssim.run(ROOT / "scenarios" / "daemon-and-draining.yaml")
    assert result.meta["error"] is None
    tasks, events, instances = result.tasks, result.events, result.instances
    logs = tasks[tasks.service == "log-router"]
    web = tasks[tasks.service == "web"]
    # One log-router per instance, each placed as its instance registered.
    registered = instances.set_index("container_instance").registered_at
    assert len(logs) == len(instances) == 12
    assert logs.container_instance.is_unique
    assert (logs.created_at.to_numpy() == registered[logs.container_instance].to_numpy()).all()
    # web's two waiting tasks went to instances of the late group, as each registered: after its
    # log-router (an m5.xlarge holds one log-router and one web task, never two web tasks).
    late = instances[instances.launched_at >= 1800].container_instance
    waiting = web[(web.created_at >= 1800) & (web.created_at < 3600)]
    assert len(waiting) >= 2 and waiting.container_instance.isin(late).all()
    at_registration = waiting[
        waiting.created_at.to_numpy() == registered[waiting.container_instance].to_numpy()
    ]
    assert len(at_registration) >= 2
    per_instance = web[web.desired_stopped_at.isna()].groupby("container_instance", observed=True)
    assert per_instance.size().max() == 1
    # The drain at 1h: web is replaced first (100/200 never drops below 8) ...
    zone_a = instances[instances.availability_zone == "us-east-1a"].container_instance
    assert len(zone_a) == 4
    series = result.series
    web_running = series[
        (series.metric == "running_count") & (series.service == "web") & (series.t >= 3600)
    ]
    assert web_running.value.min() >= 8
    moved = web[web.container_instance.isin(zone_a) & (web.desired_stopped_at >= 3600)]
    assert len(moved) >= 2
    assert (moved.stop_code == "ServiceSchedulerInitiated").all()
    # ... and each log-router stops once its instance has no web task left.
    drained = events[events.kind == "instance_drained"].set_index("container_instance").t
    assert set(drained.index) == set(zone_a)
    for instance in zone_a:
        [daemon] = logs[logs.container_instance == instance].itertuples()
        assert daemon.desired_stopped_at >= 3600
        web_here = moved[moved.container_instance == instance]
        if len(web_here):
            assert daemon.desired_stopped_at >= web_here.stopped_at.max()
        assert drained[instance] >= daemon.stopped_at
    # Nothing runs in us-east-1a at the end; every other instance keeps its log-router.
    alive = tasks[tasks.stopped_at.isna()]
    assert not alive.container_instance.isin(zone_a).any()
    assert len(alive[alive.service == "log-router"]) == 8
    assert len(alive[alive.service == "web"]) == 8


def test_a_disconnected_agent_leaves_the_daemon_count_until_it_reconnects(sim):
    # Only connected instances are eligible; the running daemon task keeps running meanwhile.
    arns = _boot(sim, count=3)
    register(sim, "agent", memory=128, cpu=128)
    _daemon(sim)
    sim.run(until=sim.now + 60)
    assert _service(sim)["desiredCount"] == 3
    instance = next(i for i in sim.control.instances if i.arn == arns[0])
    assert sim.control.disconnect_agent(instance)
    sim.run(until=sim.now + 1)
    service = _service(sim)
    assert service["desiredCount"] == 2
    assert len(_tasks(sim)) == 3  # its task was not stopped
    assert service["availabilityZoneRebalancing"] == "DISABLED"
    sim.control.reconnect_agent(instance)
    sim.run(until=sim.now + 1)
    assert _service(sim)["desiredCount"] == 3
    assert len(_tasks(sim)) == 3  # and no second task was started on it
