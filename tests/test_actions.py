"""Scripted actions: every client call, run-time selectors, load-time checks, failures as events."""

from __future__ import annotations

import copy

import pytest

import ecssim
from ecssim.errors import ScenarioError
from ecssim.scenario.loader import load_scenario

BASE = {
    "version": 1,
    "duration": "1h",
    "seed": 3,
    "clusters": [{"clusterName": "prod"}],
    "instances": [{"cluster": "prod", "instance_type": "m5.large", "count": 3}],
    "task_definitions": [
        {
            "family": "web",
            "containerDefinitions": [{"name": "web", "image": "nginx", "cpu": 256, "memory": 512}],
        },
        {
            "family": "batch",
            "containerDefinitions": [{"name": "b", "image": "b", "cpu": 256, "memory": 512}],
        },
    ],
    "services": [
        {"cluster": "prod", "serviceName": "web", "taskDefinition": "web", "desiredCount": 3}
    ],
}


def _doc(actions: list[dict]) -> dict:
    doc = copy.deepcopy(BASE)
    doc["actions"] = actions
    return doc


def _events(result, kind: str) -> list[str]:
    events = result.events
    return list(events[events.kind == kind].message)


def test_every_call_runs_with_selectors():
    result = ecssim.run(
        _doc(
            [
                {
                    "at": "5m",
                    "run_task": {"cluster": "prod", "taskDefinition": "batch", "count": 2},
                },
                {
                    "at": "6m",
                    "start_task": {
                        "cluster": "prod",
                        "taskDefinition": "batch",
                        "containerInstances": [{"zone": "us-east-1b"}],
                    },
                },
                {
                    "at": "10m",
                    "update_container_instances_state": {
                        "cluster": "prod",
                        "containerInstances": [{"zone": "us-east-1a"}],
                        "status": "DRAINING",
                    },
                },
                {"at": "15m", "stop_task": {"cluster": "prod", "task": "service:web#0"}},
                {
                    "at": "20m",
                    "put_attributes": {
                        "cluster": "prod",
                        "attributes": [{"name": "tier", "value": "gold", "targetId": {"index": 1}}],
                    },
                },
                {
                    "at": "30m",
                    "deregister_container_instance": {
                        "cluster": "prod",
                        "containerInstance": {"zone": "us-east-1a"},
                        "force": True,
                    },
                },
                {
                    "at": "31m",
                    "update_service": {"cluster": "prod", "service": "web", "desiredCount": 4},
                },
                {
                    "at": "32m",
                    "register_task_definition": {
                        "family": "web",
                        "containerDefinitions": [
                            {"name": "web", "image": "nginx:2", "cpu": 256, "memory": 512}
                        ],
                    },
                },
                {
                    "at": "33m",
                    "update_service": {
                        "cluster": "prod",
                        "service": "web",
                        "taskDefinition": "web:2",
                    },
                },
                {
                    "at": "34m",
                    "create_service": {
                        "cluster": "prod",
                        "serviceName": "api",
                        "taskDefinition": "batch",
                        "desiredCount": 1,
                    },
                },
                {
                    "at": "40m",
                    "update_service": {"cluster": "prod", "service": "api", "desiredCount": 0},
                },
                {"at": "41m", "delete_service": {"cluster": "prod", "service": "api"}},
            ]
        )
    )
    assert result.meta["error"] is None
    assert _events(result, "action_failed") == []
    assert len(_events(result, "action")) == 12
    tasks = result.tasks
    # start_task with a zone selector: one task on the us-east-1b instance.
    started = tasks[tasks.started_by.isna() & (tasks.family == "batch")]
    assert "us-east-1b" in set(started.availability_zone)
    # stop_task "service:web#0" stopped the oldest web task, by the user.
    user = tasks[tasks.stop_code == "UserInitiated"]
    assert list(user.service) == ["web"]
    instances = result.instances.set_index("availability_zone")
    assert instances.loc["us-east-1a", "last_status"] == "INACTIVE"
    assert "instance_deregistered" in set(result.events.kind)
    web = tasks[(tasks.service == "web") & (tasks.last_status == "RUNNING")]
    assert len(web) == 4 and set(web.revision) == {2}
    assert (result.events.message == "(service api) is INACTIVE.").any()


def test_failures_are_events_not_crashes():
    result = ecssim.run(
        _doc(
            [
                {"at": "10m", "stop_task": {"cluster": "prod", "task": {"family": "batch"}}},
                {
                    "at": "11m",
                    "deregister_container_instance": {
                        "cluster": "prod",
                        "containerInstance": {"index": 0},
                    },
                },
                {
                    "at": "12m",
                    "deregister_container_instance": {
                        "cluster": "prod",
                        "containerInstance": {"market": "on-demand"},
                    },
                },
                {"at": "13m", "stop_task": {"cluster": "prod", "task": "not-a-task"}},
            ]
        )
    )
    assert result.meta["error"] is None
    failed = _events(result, "action_failed")
    assert len(failed) == 4
    assert "no task matching" in failed[0]
    assert "Found running tasks on the instance." in failed[1]
    assert "matches 3 container instances; add an index" in failed[2]
    assert "The referenced task was not found." in failed[3]


@pytest.mark.parametrize(
    ("action", "message"),
    [
        (
            {"stop_task": {"cluster": "prod", "task": {"servce": "web"}}},
            "actions[0].stop_task.task.servce: unknown key; did you mean service?",
        ),
        (
            {"stop_task": {"cluster": "prod", "task": {"service": "api"}}},
            "actions[0].stop_task.task.service: no service 'api' in cluster 'prod' (declared: web)",
        ),
        (
            {"stop_task": {"cluster": "prod", "task": "service:web"}},
            "actions[0].stop_task.task: a task selector needs an index: service:web#0",
        ),
        (
            {
                "update_container_instances_state": {
                    "cluster": "prod",
                    "containerInstances": [{"zone": "eu-west-1a"}],
                    "status": "DRAINING",
                }
            },
            "actions[0].update_container_instances_state.containerInstances[0].zone: no "
            "instances of cluster 'prod' in zone 'eu-west-1a' "
            "(zones: us-east-1a, us-east-1b, us-east-1c)",
        ),
        (
            {
                "deregister_container_instance": {
                    "cluster": "prod",
                    "containerInstance": {"index": "first"},
                }
            },
            "actions[0].deregister_container_instance.containerInstance.index: expected an "
            'integer, got "first"',
        ),
        (
            {
                "put_attributes": {
                    "cluster": "prod",
                    "attributes": [{"name": "tier", "targetId": {"market": "reserved"}}],
                }
            },
            "actions[0].put_attributes.attributes[0].targetId.market: expected one of "
            'on-demand, spot, got "reserved"',
        ),
    ],
)
def test_selectors_checked_at_load_time(action, message):
    with pytest.raises(ScenarioError) as err:
        load_scenario(_doc([{"at": "1m", **action}]))
    assert [str(p) for p in err.value.problems] == [message]


def test_client_validates_requests_like_boto3():
    from conftest import register

    from ecssim.control.client import ParamValidationError
    from ecssim.simulation import Simulation

    sim = Simulation(seed=1)
    sim.ecs.create_cluster(clusterName="prod")
    register(sim, "web")
    with pytest.raises(ParamValidationError, match='Unknown parameter in input: "cuont"'):
        sim.ecs.run_task(cluster="prod", taskDefinition="web", cuont=2)
    with pytest.raises(ParamValidationError, match='Missing required parameter in input: "status"'):
        sim.ecs.update_container_instances_state(cluster="prod", containerInstances=["x"])
    with pytest.raises(
        ParamValidationError, match='Missing required parameter in input: "attributes"'
    ):
        sim.ecs.put_attributes(cluster="prod")
    with pytest.raises(ParamValidationError, match="Unknown parameter"):
        sim.ecs.create_service(serviceName="web", taskDefinition="web", desiredCount=1, replicas=2)
    # A scripted call with a bad request fails as an event, not a crash.
    sim._action(0, "deregister_container_instance", {"cluster": "prod"})
    events = sim.result().events
    assert "Missing required parameter" in events[events.kind == "action_failed"].message.iloc[0]
