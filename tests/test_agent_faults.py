"""The agent as an actor that can fail: disconnects and reconnects, stopped EC2 instances."""

from __future__ import annotations

import copy

import pytest

from ecssim.scenario.loader import load_scenario
from ecssim.simulation import Simulation

BASE = {
    "version": 1,
    "duration": "1h",
    "seed": 5,
    "clusters": [{"clusterName": "prod"}],
    "instances": [
        {"cluster": "prod", "instance_type": "m5.large", "count": 2, "zones": ["a1", "b1"]}
    ],
    "task_definitions": [
        {
            "family": "web",
            "containerDefinitions": [{"name": "web", "image": "nginx", "cpu": 256, "memory": 512}],
        },
        {
            "family": "job",
            "containerDefinitions": [{"name": "j", "image": "job", "cpu": 256, "memory": 512}],
        },
    ],
}
# Created once both instances have registered (boot takes at most 3 min).
CREATE = {
    "at": "4m",
    "create_service": {
        "cluster": "prod",
        "serviceName": "web",
        "taskDefinition": "web",
        "desiredCount": 4,
        "placementStrategy": [{"type": "spread", "field": "instanceId"}],
    },
}


def _sim(faults: list[dict], actions: list[dict] | None = None, **extra) -> Simulation:
    doc = copy.deepcopy(BASE)
    doc["faults"] = faults
    doc["actions"] = [CREATE, *(actions or [])]
    doc.update(extra)
    return Simulation.from_scenario(load_scenario(doc))


def _instance(sim: Simulation, zone: str) -> dict:
    arns = sim.ecs.list_container_instances(cluster="prod")["containerInstanceArns"]
    described = sim.ecs.describe_container_instances(cluster="prod", containerInstances=arns)
    return next(i for i in described["containerInstances"] if _zone(i) == zone)


def _zone(instance: dict) -> str:
    return next(a["value"] for a in instance["attributes"] if a["name"] == "ecs.availability-zone")


def _tasks(sim: Simulation, instance: str) -> list[dict]:
    out = []
    for desired in ("RUNNING", "STOPPED"):
        arns = sim.ecs.list_tasks(cluster="prod", containerInstance=instance, desiredStatus=desired)
        if arns["taskArns"]:
            out += sim.ecs.describe_tasks(cluster="prod", tasks=arns["taskArns"])["tasks"]
    return out


def test_disconnected_agent_keeps_tasks_running_and_gets_stops_on_reconnect():
    sim = _sim(
        [{"agent_disconnect": {"cluster": "prod", "count": 2, "at": "10m", "duration": "5m"}}],
        [{"at": "11m", "stop_task": {"cluster": "prod", "task": {"service": "web", "zone": "a1"}}}],
    )
    sim.run(until="9m")
    arn = _instance(sim, "a1")["containerInstanceArn"]
    before = {t["taskArn"] for t in _tasks(sim, arn) if t["lastStatus"] == "RUNNING"}
    assert len(before) == 2
    sim.run(until="12m")
    assert _instance(sim, "a1")["agentConnected"] is False
    # No placements on a disconnected instance: RunTask fails with AGENT.
    out = sim.ecs.run_task(cluster="prod", taskDefinition="job")
    assert out["tasks"] == [] and out["failures"][0]["reason"] == "AGENT"
    tasks = {t["taskArn"]: t for t in _tasks(sim, arn)}
    assert {t["lastStatus"] for t in tasks.values()} == {"RUNNING"}  # they keep running
    stopped = [t for t in tasks.values() if t["desiredStatus"] == "STOPPED"]
    assert len(stopped) == 1  # the StopTask is waiting for the agent
    victim = stopped[0]["taskArn"]
    sim.run(until="14m59s")
    assert sim.ecs.describe_tasks(cluster="prod", tasks=[victim])["tasks"][0]["lastStatus"] == (
        "RUNNING"
    )
    sim.run(until="20m")
    assert _instance(sim, "a1")["agentConnected"] is True
    done = sim.ecs.describe_tasks(cluster="prod", tasks=[victim])["tasks"][0]
    assert done["lastStatus"] == "STOPPED" and done["stopCode"] == "UserInitiated"
    assert (
        done["stoppingAt"].timestamp()
        - sim.ecs.describe_tasks(cluster="prod", tasks=[victim])["tasks"][0][
            "createdAt"
        ].timestamp()
        > 0
    )
    row = sim.result().tasks.set_index("task_arn").loc[victim]
    assert row.stopping_at == pytest.approx(900.0)  # delivered at the reconnect
    # The other task never stopped; the service replaced the stopped one.
    assert len(before - {victim}) == 1
    service = sim.ecs.describe_services(cluster="prod", services=["web"])["services"][0]
    assert service["runningCount"] == 4
    kinds = list(sim.result().events.kind)
    assert kinds.count("agent_disconnected") == 2 and kinds.count("agent_reconnected") == 2


def test_disconnect_mtbf_repeats_after_each_reconnect():
    sim = _sim(
        [
            {
                "agent_disconnect": {
                    "cluster": "prod",
                    "mtbf": "10m",
                    "duration": {"uniform": {"low": "30s", "high": "2m"}},
                }
            }
        ],
        duration="6h",
    )
    sim.run(until="6h")
    events = sim.result().events
    down = events[events.kind == "agent_disconnected"]
    up = events[events.kind == "agent_reconnected"]
    assert len(down) > 20  # about 2 x 6 h / 11 min
    assert len(up) >= len(down) - 2
    for _, group in down.groupby("container_instance"):
        assert (group.t.diff().dropna() > 30).all()  # never again while disconnected
    service = sim.ecs.describe_services(cluster="prod", services=["web"])["services"][0]
    assert service["runningCount"] == 4  # tasks kept running through every disconnect


def test_stopped_instance_stays_active_and_its_tasks_are_replaced():
    sim = _sim([{"instance_stop": {"cluster": "prod", "zone": "a1", "at": "10m"}}])
    sim.run(until="9m")
    arn = _instance(sim, "a1")["containerInstanceArn"]
    lost = {t["taskArn"] for t in _tasks(sim, arn)}
    sim.run(until="11m")
    # ECS has not noticed yet (instance_lost_after = 2 min).
    assert _instance(sim, "a1")["agentConnected"] is True
    sim.run(until="13m")
    instance = _instance(sim, "a1")
    assert instance["agentConnected"] is False
    assert instance["status"] == "ACTIVE"  # unlike a terminated instance
    sim.run(until="20m")
    tasks = sim.result().tasks.set_index("task_arn")
    for task in lost:
        assert tasks.loc[task, "stop_code"] == "TerminationNotice"
        assert "stopped" in tasks.loc[task, "stopped_reason"]
        assert tasks.loc[task, "execution_stopped_at"] == pytest.approx(600.0)
        assert tasks.loc[task, "desired_stopped_at"] == pytest.approx(720.0)
    service = sim.ecs.describe_services(cluster="prod", services=["web"])["services"][0]
    assert service["runningCount"] == 4
    row = sim.result().instances.set_index("availability_zone").loc["a1"]
    assert row.last_status == "ACTIVE" and not row.agent_connected
    assert row.stopped_at == pytest.approx(600.0)


def test_reports_of_a_disconnected_agent_arrive_on_reconnect():
    sim = _sim(
        [{"agent_disconnect": {"cluster": "prod", "count": 2, "at": "10m", "duration": "5m"}}],
        [{"at": "9m", "run_task": {"cluster": "prod", "taskDefinition": "job"}}],
        task_behavior={"job": {"runtime": "3m"}},
    )
    sim.run(until="14m")
    arn = sim.ecs.list_tasks(cluster="prod", family="job")["taskArns"][0]
    task = sim.ecs.describe_tasks(cluster="prod", tasks=[arn])["tasks"][0]
    assert task["lastStatus"] == "RUNNING"  # the container has exited; ECS does not know yet
    sim.run(until="16m")
    task = sim.ecs.describe_tasks(cluster="prod", tasks=[arn])["tasks"][0]
    assert task["lastStatus"] == "STOPPED"
    assert task["stopCode"] == "EssentialContainerExited"
    row = sim.result().tasks.set_index("task_arn").loc[arn]
    assert row.execution_stopped_at < 780  # when the container really exited (before 13 min)
    assert row.stopped_at == pytest.approx(900.0)  # when ECS heard of it
