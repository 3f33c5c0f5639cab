"""sim.ecs responses validate against botocore's ECS output shapes; errors named like boto3's."""

from __future__ import annotations

import datetime

import botocore.session
import pytest
from conftest import register

_MODEL = botocore.session.get_session().get_service_model("ecs")


def _validate(value, shape, path="$"):
    kind = shape.type_name
    if kind == "structure":
        assert isinstance(value, dict), f"{path}: expected dict, got {type(value).__name__}"
        for key, item in value.items():
            assert key in shape.members, f"{path}.{key}: not in shape {shape.name}"
            _validate(item, shape.members[key], f"{path}.{key}")
    elif kind == "list":
        assert isinstance(value, list), f"{path}: expected list"
        for i, item in enumerate(value):
            _validate(item, shape.member, f"{path}[{i}]")
    elif kind == "map":
        assert isinstance(value, dict), f"{path}: expected map"
        for key, item in value.items():
            _validate(key, shape.key, f"{path}<key>")
            _validate(item, shape.value, f"{path}.{key}")
    elif kind == "string":
        assert isinstance(value, str), f"{path}: expected str, got {value!r}"
        if shape.enum:
            assert value in shape.enum, f"{path}: {value!r} not in {shape.enum}"
    elif kind in ("integer", "long"):
        assert isinstance(value, int) and not isinstance(value, bool), f"{path}: {value!r}"
    elif kind == "boolean":
        assert isinstance(value, bool), f"{path}: expected bool, got {value!r}"
    elif kind in ("double", "float"):
        assert isinstance(value, int | float) and not isinstance(value, bool), path
    elif kind == "timestamp":
        assert isinstance(value, datetime.datetime), f"{path}: expected datetime"
        assert value.tzinfo is not None, path
    else:  # pragma: no cover
        raise AssertionError(f"{path}: unexpected shape type {kind}")


def check(operation: str, response: dict) -> dict:
    _validate(response, _MODEL.operation_model(operation).output_shape)
    return response


def test_validator_catches_mistakes():
    shape = _MODEL.operation_model("DescribeTasks").output_shape
    with pytest.raises(AssertionError):
        _validate({"tasks": [{"notAKey": 1}]}, shape)
    with pytest.raises(AssertionError):
        _validate({"tasks": [{"version": "1"}]}, shape)
    with pytest.raises(AssertionError):
        _validate({"tasks": [{"lastStatus": 3}]}, shape)
    with pytest.raises(AssertionError):
        _validate({"tasks": [{"createdAt": 3.0}]}, shape)
    with pytest.raises(AssertionError):
        _validate({"tasks": [{"launchType": "MAINFRAME"}]}, shape)


def test_responses_match_botocore_shapes(sim):
    ecs = sim.ecs
    check("CreateCluster", ecs.create_cluster(clusterName="prod"))
    sim.launch_instances("prod", "m5.large", count=2, attributes={"tier": "web"})
    td = check(
        "RegisterTaskDefinition",
        ecs.register_task_definition(
            family="web",
            networkMode="bridge",
            containerDefinitions=[
                {
                    "name": "app",
                    "image": "nginx:1",
                    "cpu": 256,
                    "memory": 512,
                    "essential": True,
                    "portMappings": [{"containerPort": 80, "hostPort": 8080, "protocol": "tcp"}],
                }
            ],
        ),
    )
    assert td["taskDefinition"]["revision"] == 1
    register(sim, "job", memory=256)
    check("DescribeTaskDefinition", ecs.describe_task_definition(taskDefinition="web:1"))
    sim.run(until="4m")
    run = check(
        "RunTask",
        ecs.run_task(
            cluster="prod",
            taskDefinition="job",
            count=2,
            placementStrategy=[{"type": "binpack", "field": "memory"}],
        ),
    )
    assert len(run["tasks"]) == 2
    big = register(sim, "big", memory=100_000)
    fail = check("RunTask", ecs.run_task(cluster="prod", taskDefinition="big"))
    assert fail["failures"][0]["reason"] == "RESOURCE:MEMORY" and big["revision"] == 1
    cis = check("ListContainerInstances", ecs.list_container_instances(cluster="prod"))
    arns = cis["containerInstanceArns"]
    assert len(arns) == 2
    check(
        "StartTask",
        ecs.start_task(cluster="prod", taskDefinition="job", containerInstances=arns[:1]),
    )
    check(
        "CreateService",
        ecs.create_service(
            cluster="prod",
            serviceName="web",
            taskDefinition="web",
            desiredCount=2,
            placementStrategy=[{"type": "spread", "field": "attribute:ecs.availability-zone"}],
        ),
    )
    sim.run(until="10m")
    check("UpdateService", ecs.update_service(cluster="prod", service="web", desiredCount=1))
    sim.run(until="12m")
    svcs = check(
        "DescribeServices", ecs.describe_services(cluster="prod", services=["web", "ghost"])
    )
    assert svcs["failures"][0]["reason"] == "MISSING"
    assert svcs["services"][0]["events"]
    check("ListServices", ecs.list_services(cluster="prod"))
    listed = check("ListTasks", ecs.list_tasks(cluster="prod"))
    stop = check("StopTask", ecs.stop_task(cluster="prod", task=listed["taskArns"][0]))
    assert stop["task"]["desiredStatus"] == "STOPPED"
    sim.run(until="15m")
    every = listed["taskArns"] + ecs.list_tasks(cluster="prod", desiredStatus="STOPPED")["taskArns"]
    described = check("DescribeTasks", ecs.describe_tasks(cluster="prod", tasks=every))
    assert {t["lastStatus"] for t in described["tasks"]} >= {"RUNNING", "STOPPED"}
    check(
        "DescribeContainerInstances",
        ecs.describe_container_instances(cluster="prod", containerInstances=arns),
    )


def test_exceptions_named_like_boto3(sim):
    ecs = sim.ecs
    with pytest.raises(ecs.exceptions.ClusterNotFoundException):
        ecs.list_tasks(cluster="nope")
    with pytest.raises(ecs.exceptions.ClientException):
        ecs.describe_task_definition(taskDefinition="missing")
    with pytest.raises(ecs.exceptions.ServiceNotFoundException):
        ecs.update_service(cluster="prod", service="ghost", desiredCount=1)
    register(sim, "web")
    with pytest.raises(ecs.exceptions.InvalidParameterException):
        ecs.run_task(cluster="prod", taskDefinition="web", count=0)
    with pytest.raises(ecs.exceptions.InvalidParameterException):
        ecs.run_task(cluster="prod", taskDefinition="web", placementStrategy=[{"type": "nope"}])
    err = ecs.exceptions.ClusterNotFoundException
    assert err.__name__ == "ClusterNotFoundException"
    try:
        ecs.describe_services(cluster="nope", services=["x"])
    except err as e:
        assert "ClusterNotFoundException" in str(e)
    else:
        pytest.fail("no exception")
