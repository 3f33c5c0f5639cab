"""Tests for ecssim.model.taskdef: ECS task-definition JSON in, validated value objects out."""

from __future__ import annotations

import copy
import dataclasses
import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest

from ecssim.errors import InputError, TaskDefinitionError
from ecssim.model import ecs_keys
from ecssim.model.enums import NetworkMode
from ecssim.model.taskdef import (
    DESCRIBE_ONLY_KEYS,
    ContainerDependency,
    HealthCheck,
    PlacementConstraint,
    PortMapping,
    Requirement,
    TaskDefinition,
    fargate_valid,
    load_task_definition_file,
    parse_task_definition,
    unwrap_task_definition,
)

REPO = Path(__file__).resolve().parents[1]


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------


def container(name: str = "app", **fields: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"name": name, "image": f"example/{name}:1", "memory": 256}
    out.update(fields)
    return {k: v for k, v in out.items() if v is not _DROP}


_DROP = object()


def taskdef(*containers: dict[str, Any], **fields: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "family": "web",
        "containerDefinitions": list(containers or [container()]),
    }
    out.update(fields)
    return {k: v for k, v in out.items() if v is not _DROP}


def fargate(*containers: dict[str, Any], **fields: Any) -> dict[str, Any]:
    base = {
        "requiresCompatibilities": ["FARGATE"],
        "networkMode": "awsvpc",
        "cpu": "256",
        "memory": "512",
    }
    base.update(fields)
    return taskdef(*containers, **base)


def rejection(obj: Any, path: str = "") -> list[str]:
    with pytest.raises(TaskDefinitionError) as info:
        parse_task_definition(obj, path=path)
    assert isinstance(info.value, InputError)
    return [p.message for p in info.value.problems]


def only(obj: Any) -> str:
    messages = rejection(obj)
    assert len(messages) == 1, messages
    return messages[0]


# ---------------------------------------------------------------------------------------------
# parsing: units, strings for numbers, nulls, empty strings
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cpu", "memory", "units", "mib"),
    [
        (".25 vcpu", ".5 gb", 256, 512),
        ("1 vcpu", "2 GB", 1024, 2048),
        ("0.5 vCPU", "1GB", 512, 1024),
        ("256", "512", 256, 512),
        (256, 512, 256, 512),
        ("4096", "30720", 4096, 30720),
    ],
)
def test_task_cpu_and_memory_accept_units_and_are_stored_as_ecs_stores_them(
    cpu: Any, memory: Any, units: int, mib: int
) -> None:
    td = parse_task_definition(fargate(container(memory=_DROP), cpu=cpu, memory=memory))
    assert (td.cpu, td.memory_mib) == (units, mib)
    assert (td.request["cpu"], td.request["memory"]) == (str(units), str(mib))
    assert td.requirement.cpu == units
    assert td.requirement.memory_mib == mib


def test_numbers_given_as_strings_are_converted() -> None:
    td = parse_task_definition(
        taskdef(
            container(
                cpu="128",
                memory="512",
                memoryReservation="256",
                essential="true",
                stopTimeout="20",
                portMappings=[{"containerPort": "3000", "hostPort": "8080"}],
            )
        )
    )
    c = td.containers[0]
    assert (c.cpu, c.memory_mib, c.memory_reservation_mib) == (128, 512, 256)
    assert c.essential is True
    assert c.stop_timeout_s == 20.0
    assert c.port_mappings == (PortMapping(3000, 8080, "tcp"),)
    assert td.request["containerDefinitions"][0]["portMappings"] == [
        {"containerPort": 3000, "hostPort": 8080}
    ]


def test_explicit_nulls_are_absent() -> None:
    td = parse_task_definition(
        taskdef(
            container(memory=None, memoryReservation=300, healthCheck=None, dependsOn=None),
            networkMode=None,
            cpu=None,
            memory=None,
            taskRoleArn=None,
        )
    )
    assert td.network_mode is NetworkMode.BRIDGE
    assert td.cpu is None and td.memory_mib is None
    c = td.containers[0]
    assert c.memory_mib is None and c.memory_reservation_mib == 300
    assert c.health_check is None and c.depends_on == ()
    assert "taskRoleArn" not in td.request
    assert "memory" not in td.request["containerDefinitions"][0]


def test_empty_optional_strings_are_absent() -> None:
    td = parse_task_definition(
        taskdef(
            container(repositoryCredentials={"credentialsParameter": ""}, user=""),
            taskRoleArn="",
            executionRoleArn="arn:aws:iam::1:role/x",
        )
    )
    assert "taskRoleArn" not in td.request
    assert td.request["executionRoleArn"] == "arn:aws:iam::1:role/x"
    # A structure left empty by dropping "" goes too (console exports carry this one).
    assert "repositoryCredentials" not in td.request["containerDefinitions"][0]
    assert "user" not in td.request["containerDefinitions"][0]


def test_empty_docker_label_value_is_kept() -> None:
    td = parse_task_definition(taskdef(container(dockerLabels={"a": "", "b": "x"})))
    assert td.request["containerDefinitions"][0]["dockerLabels"] == {"a": "", "b": "x"}


def test_defaults_of_a_minimal_definition() -> None:
    td = parse_task_definition(taskdef())
    c = td.containers[0]
    assert td.family == "web"
    assert td.revision is None
    assert td.network_mode is NetworkMode.BRIDGE
    assert td.requires_compatibilities == ()
    assert td.compatibilities == ("EC2",)
    assert c.cpu == 0 and c.essential is True and c.gpu == 0
    assert c.port_mappings == () and c.depends_on == ()
    assert c.stop_timeout_s is None and c.start_timeout_s is None
    assert td.placement_constraints == ()


def test_value_objects_are_frozen_and_hashable() -> None:
    td = parse_task_definition(taskdef())
    with pytest.raises(dataclasses.FrozenInstanceError):
        td.family = "other"  # type: ignore[misc]
    assert hash(td) == hash(parse_task_definition(taskdef()))
    assert td == parse_task_definition(taskdef())


def test_request_is_a_json_serialisable_copy() -> None:
    source = taskdef(container(environment=[{"name": "A", "value": "1"}]))
    td = parse_task_definition(source)
    source["containerDefinitions"][0]["environment"][0]["value"] = "changed"
    assert td.request["containerDefinitions"][0]["environment"] == [{"name": "A", "value": "1"}]
    assert json.loads(json.dumps(td.request))["family"] == "web"


def test_container_number_for_string_field_is_kept_as_digits() -> None:
    td = parse_task_definition(taskdef(container(environment=[{"name": "PORT", "value": 5000}])))
    assert td.request["containerDefinitions"][0]["environment"] == [
        {"name": "PORT", "value": "5000"}
    ]


# ---------------------------------------------------------------------------------------------
# describe-task-definition output
# ---------------------------------------------------------------------------------------------

DESCRIBED: dict[str, Any] = {
    "taskDefinitionArn": "arn:aws:ecs:us-east-1:1:task-definition/web:7",
    "containerDefinitions": [container()],
    "family": "web",
    "networkMode": "awsvpc",
    "revision": 7,
    "status": "ACTIVE",
    "requiresAttributes": [{"name": "ecs.capability.task-eni", "targetId": None}],
    "compatibilities": ["EC2", "FARGATE"],
    "requiresCompatibilities": ["FARGATE"],
    "cpu": "256",
    "memory": "512",
    "registeredAt": "2024-08-28T18:22:52.638000+08:00",
    "registeredBy": "arn:aws:iam::1:user/me",
    "deregisteredAt": None,
}


def test_bare_describe_output_is_accepted_and_describe_only_keys_dropped() -> None:
    td = parse_task_definition(DESCRIBED)
    assert td.revision == 7
    assert td.family == "web"
    assert not set(td.request) & DESCRIBE_ONLY_KEYS
    assert {"taskDefinitionArn", "revision", "status", "registeredAt"} <= DESCRIBE_ONLY_KEYS
    assert "family" not in DESCRIBE_ONLY_KEYS and "tags" not in DESCRIBE_ONLY_KEYS
    assert td.request["cpu"] == "256"


def test_wrapped_describe_output_is_unwrapped_with_its_tags() -> None:
    tags = [{"key": "team", "value": "a"}]
    td = parse_task_definition({"taskDefinition": DESCRIBED, "tags": tags})
    assert td.revision == 7
    assert td.request["tags"] == tags
    assert td.requirement == parse_task_definition(DESCRIBED).requirement


def test_wrapped_describe_output_with_empty_or_missing_tags() -> None:
    assert "tags" not in parse_task_definition({"taskDefinition": DESCRIBED, "tags": []}).request
    assert parse_task_definition({"taskDefinition": DESCRIBED}).revision == 7


def test_unknown_key_beside_task_definition_is_an_error() -> None:
    assert only({"taskDefinition": DESCRIBED, "tag": []}) == (
        "Parameter validation failed: "
        'Unknown parameter in input: "tag", must be one of: taskDefinition, tags'
    )


def test_wrapped_value_that_is_not_an_object_is_an_error() -> None:
    message = only({"taskDefinition": "web:1"})
    assert message.startswith(
        "Parameter validation failed: Invalid type for parameter taskDefinition, value: web:1"
    )


def test_unwrap_task_definition() -> None:
    inner = {"family": "x"}
    assert unwrap_task_definition({"taskDefinition": inner, "tags": []}) is inner
    assert unwrap_task_definition(inner) is inner


# ---------------------------------------------------------------------------------------------
# unknown keys, types and required members (the AWS CLI's parameter validation)
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("obj", "where", "key", "shape"),
    [
        (taskdef(famliy="x"), "input", "famliy", None),
        (
            taskdef(container(memroy=512)),
            "containerDefinitions[0]",
            "memroy",
            "ContainerDefinition",
        ),
        (
            taskdef(container(portMappings=[{"containerPort": 80, "hostport": 80}])),
            "containerDefinitions[0].portMappings[0]",
            "hostport",
            "PortMapping",
        ),
        (
            taskdef(container(healthCheck={"command": ["CMD", "true"], "intervall": 5})),
            "containerDefinitions[0].healthCheck",
            "intervall",
            "HealthCheck",
        ),
        (
            taskdef(placementConstraints=[{"type": "memberOf", "expresion": "x"}]),
            "placementConstraints[0]",
            "expresion",
            "TaskDefinitionPlacementConstraint",
        ),
        (
            taskdef(container(resourceRequirements=[{"type": "GPU", "value": "1", "count": 1}])),
            "containerDefinitions[0].resourceRequirements[0]",
            "count",
            "ResourceRequirement",
        ),
        (
            taskdef(
                container("a", dependsOn=[{"containerName": "b", "condition": "START", "x": 1}]),
                container("b"),
            ),
            "containerDefinitions[0].dependsOn[0]",
            "x",
            "ContainerDependency",
        ),
    ],
)
def test_unknown_keys_are_errors_everywhere(
    obj: dict[str, Any], where: str, key: str, shape: str | None
) -> None:
    message = only(obj)
    assert message.startswith(
        f'Parameter validation failed: Unknown parameter in {where}: "{key}", must be one of: '
    )
    if shape is not None:
        assert message.endswith(", ".join(ecs_keys.STRUCTURES[shape]))


def test_every_unknown_key_is_reported_at_once() -> None:
    messages = rejection(taskdef(container(memroy=1, cpus=1), famliy="x"), path="defs[0]")
    assert len(messages) == 3
    with pytest.raises(TaskDefinitionError) as info:
        parse_task_definition(taskdef(famliy="x"), path="defs[0] (a.json)")
    assert str(info.value).startswith("defs[0] (a.json): Parameter validation failed: Unknown")
    assert info.value.problems[0].path == "defs[0] (a.json)"


def test_botocore_keys_that_are_not_modelled_are_accepted() -> None:
    td = parse_task_definition(
        taskdef(
            container(
                secrets=[{"name": "A", "valueFrom": "arn:aws:ssm:::parameter/a"}],
                logConfiguration={"logDriver": "awslogs", "options": {"awslogs-group": "g"}},
                linuxParameters={"initProcessEnabled": True},
                ulimits=[{"name": "nofile", "softLimit": 1024, "hardLimit": 4096}],
            ),
            volumes=[{"name": "v", "host": {"sourcePath": "/data"}}],
            runtimePlatform={"operatingSystemFamily": "LINUX", "cpuArchitecture": "ARM64"},
            ephemeralStorage={"sizeInGiB": 30},
            pidMode="task",
        )
    )
    assert td.request["volumes"] == [{"name": "v", "host": {"sourcePath": "/data"}}]
    assert td.request["containerDefinitions"][0]["secrets"][0]["name"] == "A"


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        (
            taskdef(container(portMappings=[{"containerPort": "http"}])),
            "Parameter validation failed: Invalid type for parameter "
            "containerDefinitions[0].portMappings[0].containerPort, value: http, "
            "type: <class 'str'>, valid types: <class 'int'>",
        ),
        (
            taskdef(containerDefinitions={"name": "app"}),
            "Parameter validation failed: Invalid type for parameter containerDefinitions, "
            "value: {'name': 'app'}, type: <class 'dict'>, valid types: <class 'list'>, "
            "<class 'tuple'>",
        ),
        (
            taskdef(container(essential="yes")),
            "Parameter validation failed: Invalid type for parameter "
            "containerDefinitions[0].essential, value: yes, type: <class 'str'>, "
            "valid types: <class 'bool'>",
        ),
        (
            taskdef(container(memory=True)),
            "Parameter validation failed: Invalid type for parameter "
            "containerDefinitions[0].memory, value: True, type: <class 'bool'>, "
            "valid types: <class 'int'>",
        ),
        (
            taskdef(container(healthCheck={"interval": 5})),
            "Parameter validation failed: Missing required parameter in "
            'containerDefinitions[0].healthCheck: "command"',
        ),
        (
            taskdef(container("a", dependsOn=[{"containerName": "b"}]), container("b")),
            "Parameter validation failed: Missing required parameter in "
            'containerDefinitions[0].dependsOn[0]: "condition"',
        ),
    ],
)
def test_wrong_types_and_missing_required_members(obj: dict[str, Any], expected: str) -> None:
    assert only(obj) == expected


def test_non_object_input_is_an_error() -> None:
    assert only([container()]) == "a task definition must be a JSON object, got an array"


def test_embedded_keys_match_installed_botocore() -> None:
    pytest.importorskip("botocore")
    spec = importlib.util.spec_from_file_location(
        "gen_ecs_keys", REPO / "tools" / "gen_ecs_keys.py"
    )
    assert spec is not None and spec.loader is not None
    generator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generator)
    model, version = generator.load_model()
    fresh = generator.collect(model)
    hint = (
        f"ecssim/model/ecs_keys.py (botocore {ecs_keys.BOTOCORE_VERSION}) differs from the "
        f"installed botocore {version}: run .venv/bin/python tools/gen_ecs_keys.py"
    )
    assert fresh.structures == {k: dict(v) for k, v in ecs_keys.STRUCTURES.items()}, hint
    assert {k: frozenset(v) for k, v in fresh.required.items()} == dict(ecs_keys.REQUIRED), hint
    assert fresh.lists == dict(ecs_keys.LISTS), hint
    assert fresh.maps == dict(ecs_keys.MAPS), hint
    assert fresh.scalars == dict(ecs_keys.SCALARS), hint
    assert fresh.enums == dict(ecs_keys.ENUMS), hint
    # The shapes the brief requires to be checked are all embedded.
    for shape in (
        "RegisterTaskDefinitionRequest",
        "TaskDefinition",
        "ContainerDefinition",
        "PortMapping",
        "HealthCheck",
        "TaskDefinitionPlacementConstraint",
        "ResourceRequirement",
        "ContainerDependency",
    ):
        assert shape in ecs_keys.KEYS


# ---------------------------------------------------------------------------------------------
# requirement arithmetic (ECS-SEMANTICS section 1)
# ---------------------------------------------------------------------------------------------


def test_memory_reservation_takes_precedence_over_memory() -> None:
    td = parse_task_definition(
        taskdef(
            container("a", memory=512, memoryReservation=128),
            container("b", memory=300),
            container("c", memory=_DROP, memoryReservation=64),
        )
    )
    assert td.requirement.memory_mib == 128 + 300 + 64


def test_cpu_is_the_sum_of_container_cpu_without_task_cpu() -> None:
    td = parse_task_definition(taskdef(container("a", cpu=100), container("b", cpu=28)))
    assert td.requirement.cpu == 128


def test_task_level_cpu_and_memory_override_the_container_sums() -> None:
    td = parse_task_definition(
        taskdef(
            container("a", cpu=100, memory=200), container("b", cpu=50), cpu="1024", memory="4096"
        )
    )
    assert (td.requirement.cpu, td.requirement.memory_mib) == (1024, 4096)


def test_task_memory_lets_containers_omit_memory() -> None:
    td = parse_task_definition(taskdef(container(memory=_DROP), memory="512"))
    assert td.requirement.memory_mib == 512
    assert td.requirement.cpu == 0


def test_bridge_ports_static_and_dynamic() -> None:
    td = parse_task_definition(
        taskdef(
            container(
                "a",
                portMappings=[
                    {"containerPort": 80, "hostPort": 8080},
                    {"containerPort": 81, "hostPort": 0},
                    {"containerPort": 82},
                    {"containerPort": 53, "hostPort": 53, "protocol": "udp"},
                ],
            ),
            container("b", portMappings=[{"containerPort": 443, "hostPort": 443}]),
            networkMode="bridge",
        )
    )
    r = td.requirement
    assert r.ports_tcp == (443, 8080)
    assert r.ports_udp == (53,)
    assert r.dynamic_ports == 2
    assert r.eni == 0
    assert td.containers[0].port_mappings[:3] == (
        PortMapping(80, 8080, "tcp"),
        PortMapping(81, None, "tcp"),
        PortMapping(82, None, "tcp"),
    )


def test_same_port_tcp_and_udp_and_duplicates_are_unique_sorted() -> None:
    td = parse_task_definition(
        taskdef(
            container(
                portMappings=[
                    {"containerPort": 9000, "hostPort": 9000},
                    {"containerPort": 9000, "hostPort": 9000, "protocol": "udp"},
                    {"containerPort": 22, "hostPort": 2222},
                ]
            ),
        )
    )
    assert td.requirement.ports_tcp == (2222, 9000)
    assert td.requirement.ports_udp == (9000,)


def test_host_mode_host_port_is_the_container_port() -> None:
    td = parse_task_definition(
        taskdef(
            container(
                portMappings=[{"containerPort": 9200}, {"containerPort": 9300, "hostPort": 9300}]
            ),
            networkMode="host",
        )
    )
    assert td.requirement.ports_tcp == (9200, 9300)
    assert td.requirement.dynamic_ports == 0
    assert td.containers[0].port_mappings[0] == PortMapping(9200, 9200, "tcp")


def test_awsvpc_has_no_host_port_accounting_and_one_eni() -> None:
    td = parse_task_definition(
        taskdef(
            container(
                portMappings=[
                    {"containerPort": 80, "hostPort": 80},
                    {"containerPort": 53, "protocol": "udp"},
                ]
            ),
            networkMode="awsvpc",
        )
    )
    r = td.requirement
    assert (r.ports_tcp, r.ports_udp, r.dynamic_ports, r.eni) == ((), (), 0, 1)
    assert td.containers[0].port_mappings[1] == PortMapping(53, 53, "udp")


def test_port_range_is_dynamic_in_bridge_mode() -> None:
    td = parse_task_definition(
        taskdef(container(portMappings=[{"containerPortRange": "8000-8010"}]))
    )
    assert td.containers[0].port_mappings == (PortMapping(None, None, "tcp"),)
    assert td.requirement.dynamic_ports == 1
    assert td.requirement.ports_tcp == ()


def test_gpu_is_summed_over_containers() -> None:
    td = parse_task_definition(
        taskdef(
            container("a", resourceRequirements=[{"type": "GPU", "value": "2"}]),
            container("b", resourceRequirements=[{"type": "GPU", "value": "1"}]),
            container("c", resourceRequirements=[{"type": "InferenceAccelerator", "value": "d1"}]),
        )
    )
    assert [c.gpu for c in td.containers] == [2, 1, 0]
    assert td.requirement.gpu == 3


def test_requirement_is_exactly_the_contract() -> None:
    td = parse_task_definition(
        taskdef(
            container(cpu=512, memory=1024, portMappings=[{"containerPort": 80, "hostPort": 80}])
        )
    )
    assert td.requirement == Requirement(
        cpu=512, memory_mib=1024, ports_tcp=(80,), ports_udp=(), gpu=0, eni=0, dynamic_ports=0
    )


# ---------------------------------------------------------------------------------------------
# containers: health checks, dependencies, timeouts, helpers
# ---------------------------------------------------------------------------------------------


def test_health_check_values_and_defaults() -> None:
    td = parse_task_definition(
        taskdef(
            container(
                "a",
                healthCheck={"command": ["CMD-SHELL", "true"], "interval": 10, "startPeriod": 60},
            ),
            container("b", healthCheck={"command": ["CMD", "x"], "timeout": 2, "retries": 5}),
        )
    )
    assert td.containers[0].health_check == HealthCheck(
        command=("CMD-SHELL", "true"),
        interval_s=10.0,
        timeout_s=5.0,
        retries=3,
        start_period_s=60.0,
    )
    assert td.containers[1].health_check == HealthCheck(
        command=("CMD", "x"), interval_s=30.0, timeout_s=2.0, retries=5, start_period_s=0.0
    )


def test_dependencies_are_parsed() -> None:
    td = parse_task_definition(
        taskdef(
            container(
                "app",
                dependsOn=[
                    {"containerName": "init", "condition": "SUCCESS"},
                    {"containerName": "proxy", "condition": "HEALTHY"},
                ],
            ),
            container("init", essential=False),
            container("proxy", healthCheck={"command": ["CMD", "true"]}),
        )
    )
    assert td.containers[0].depends_on == (
        ContainerDependency("init", "SUCCESS"),
        ContainerDependency("proxy", "HEALTHY"),
    )


def test_images_and_stop_timeout() -> None:
    td = parse_task_definition(
        taskdef(
            container("a", stopTimeout=90, startTimeout=10),
            container("b"),
            container("c", stopTimeout=5),
        )
    )
    assert td.images() == ("example/a:1", "example/b:1", "example/c:1")
    assert td.stop_timeout_s(30.0) == 90.0
    assert td.stop_timeout_s(120.0) == 120.0
    assert td.containers[0].start_timeout_s == 10.0


def test_placement_constraints_are_parsed() -> None:
    expression = "attribute:ecs.instance-type =~ t2.*"
    td = parse_task_definition(
        taskdef(placementConstraints=[{"type": "memberOf", "expression": expression}])
    )
    assert td.placement_constraints == (PlacementConstraint("memberOf", expression),)


# ---------------------------------------------------------------------------------------------
# Fargate
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cpu", "memory", "valid"),
    [
        (256, 512, True),
        (256, 2048, True),
        (256, 3072, False),
        (512, 1024, True),
        (512, 1536, False),
        (512, 4096, True),
        (1024, 8192, True),
        (1024, 1024, False),
        (2048, 16384, True),
        (4096, 30720, True),
        (4096, 31744, False),
        (8192, 20480, True),
        (8192, 18432, False),
        (16384, 40960, True),
        (16384, 36864, False),
        (128, 512, False),
    ],
)
def test_fargate_sizes(cpu: int, memory: int, valid: bool) -> None:
    reason = fargate_valid(cpu, memory)
    if valid:
        assert reason is None
    else:
        assert reason == (
            f"No Fargate configuration exists for given values: {cpu} CPU, {memory} memory. "
            "See the Amazon ECS documentation for the valid values."
        )


def test_fargate_valid_missing_values() -> None:
    assert fargate_valid(None, 512) == "Fargate requires that 'cpu' be defined at the task level."
    assert fargate_valid(256, None) == (
        "Fargate requires that 'memory' be defined at the task level."
    )


def test_compatibilities_as_ecs_computes_them() -> None:
    assert parse_task_definition(fargate(container(memory=_DROP))).compatibilities == (
        "EC2",
        "FARGATE",
    )
    # awsvpc with a valid pair is Fargate-compatible even when only EC2 is required.
    ec2_awsvpc = taskdef(
        networkMode="awsvpc", cpu="512", memory="1024", requiresCompatibilities=["EC2"]
    )
    assert parse_task_definition(ec2_awsvpc).compatibilities == ("EC2", "FARGATE")
    assert parse_task_definition(taskdef(networkMode="awsvpc")).compatibilities == ("EC2",)
    assert parse_task_definition(taskdef(cpu="256", memory="512")).compatibilities == ("EC2",)


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        (
            {"networkMode": "bridge"},
            "ClientException: Fargate only supports network mode ‘awsvpc’.",
        ),
        ({"networkMode": _DROP}, "ClientException: Fargate only supports network mode ‘awsvpc’."),
        (
            {"cpu": _DROP},
            "ClientException: Fargate requires that 'cpu' be defined at the task level.",
        ),
        (
            {"memory": _DROP},
            "ClientException: Fargate requires that 'memory' be defined at the task level.",
        ),
        (
            {"cpu": "1024", "memory": "1024"},
            "ClientException: No Fargate configuration exists for given values: 1024 CPU, 1024 "
            "memory. See the Amazon ECS documentation for the valid values.",
        ),
    ],
)
def test_fargate_rejections(fields: dict[str, Any], expected: str) -> None:
    assert only(fargate(**fields)) == expected


def test_fargate_without_any_memory_fails_on_the_container_first() -> None:
    # As AWS answers (getmoto/moto#7280): the container check comes before Fargate's.
    assert only(fargate(container(memory=_DROP), memory=_DROP)) == (
        "containerDefinitions[0]: ClientException: Invalid setting for container 'app'. "
        "At least one of 'memory' or 'memoryReservation' must be specified."
    )


# ---------------------------------------------------------------------------------------------
# ECS rejections
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        (taskdef(family=_DROP), "ClientException: Family can not be blank."),
        (taskdef(family=""), "ClientException: Family can not be blank."),
        (taskdef(family="my family"), "ClientException: Family contains invalid characters."),
        (taskdef(containerDefinitions=_DROP), "ClientException: Container list cannot be empty."),
        (taskdef(containerDefinitions=[]), "ClientException: Container list cannot be empty."),
        (
            taskdef(container(name=_DROP)),
            "containerDefinitions[0]: ClientException: Container.name should not be null or empty.",
        ),
        (
            taskdef(container("a"), container("b c")),
            "containerDefinitions[1]: ClientException: Container.name contains invalid characters.",
        ),
        (
            taskdef(container("a"), container("b", image="")),
            "containerDefinitions[1]: ClientException: Container.image should not be null or "
            "empty.",
        ),
        (
            taskdef(container("a"), container("a")),
            "containerDefinitions[1]: ClientException: Container names must be unique within a "
            "Task Definition.",
        ),
        (
            taskdef(container("a", essential=False), container("b", essential=False)),
            "ClientException: Task definition doesn't have any essential container.",
        ),
        (
            taskdef(container("a"), container("b", memory=_DROP)),
            "containerDefinitions[1]: ClientException: Invalid setting for container 'b'. "
            "At least one of 'memory' or 'memoryReservation' must be specified.",
        ),
        (
            taskdef(container(memory=256, memoryReservation=512)),
            "containerDefinitions[0]: ClientException: Invalid setting for container 'app'. "
            "'memory' must be greater than or equal to 'memoryReservation'.",
        ),
        (
            taskdef(container(memory=1024), memory="512"),
            "containerDefinitions[0]: ClientException: The 'memory' setting for container 'app' "
            "is greater than for the task.",
        ),
        (
            taskdef(container("a", cpu=512), container("b", cpu=512), cpu="512"),
            "ClientException: The sum of all container 'cpu' values cannot be greater than the "
            "value of the task 'cpu'.",
        ),
        (
            taskdef(cpu="string", memory="string"),
            "ClientException: Invalid 'cpu' setting for task. For more information, see the "
            "Troubleshooting section of the Amazon ECS Developer Guide.",
        ),
        (
            taskdef(cpu="64"),
            "ClientException: Invalid 'cpu' setting for task. For more information, see the "
            "Troubleshooting section of the Amazon ECS Developer Guide.",
        ),
        (
            taskdef(memory="lots"),
            "ClientException: Invalid 'memory' setting for task. For more information, see the "
            "Troubleshooting section of the Amazon ECS Developer Guide.",
        ),
        (
            taskdef(networkMode="string"),
            "ClientException: Invalid 'networkMode' setting for task: 'string'. Valid values are "
            "bridge, host, awsvpc, none.",
        ),
        (
            taskdef(requiresCompatibilities=["string"]),
            "ClientException: Invalid 'requiresCompatibilities' setting for task: 'string'. "
            "Valid values are EC2, FARGATE, EXTERNAL, MANAGED_INSTANCES.",
        ),
        (
            taskdef(container(dependsOn=[{"containerName": "db", "condition": "START"}])),
            "containerDefinitions[0].dependsOn[0]: ClientException: Cannot depend on container + "
            "'db' because it does not exist",
        ),
        (
            taskdef(
                container("a", dependsOn=[{"containerName": "b", "condition": "COMPLETE"}]),
                container("b"),
            ),
            "containerDefinitions[0].dependsOn[0]: ClientException: A dependency container with "
            "SUCCESS or COMPLETE condition cannot be an essential container",
        ),
        (
            taskdef(
                container("a", dependsOn=[{"containerName": "b", "condition": "RUNNING"}]),
                container("b"),
            ),
            "containerDefinitions[0].dependsOn[0]: ClientException: Invalid 'condition' setting "
            "for container 'a': 'RUNNING'. Valid values are START, COMPLETE, SUCCESS, HEALTHY.",
        ),
        (
            taskdef(
                placementConstraints=[
                    {"type": "memberOf", "expression": f"x == {i}"} for i in range(11)
                ]
            ),
            "placementConstraints: ClientException: Too many placement constraints: 11. A task "
            "definition can have at most 10.",
        ),
        (
            taskdef(placementConstraints=[{"type": "distinctInstance"}]),
            "placementConstraints[0]: ClientException: constraint.type 'distinctInstance' is not "
            "supported.",
        ),
        (
            taskdef(placementConstraints=[{"type": "memberOf"}]),
            "placementConstraints[0]: ClientException: constraint.expression must be specified "
            "for type memberOf.",
        ),
        (
            taskdef(container(portMappings=[{"containerPort": 80, "protocol": "http"}])),
            "containerDefinitions[0].portMappings[0]: ClientException: Invalid 'protocol' "
            "setting for container 'app'.",
        ),
        (
            taskdef(container(portMappings=[{"hostPort": 80}])),
            "containerDefinitions[0].portMappings[0]: ClientException: Invalid 'containerPort' "
            "setting for container 'app'.",
        ),
        (
            taskdef(container(portMappings=[{"containerPort": 70000}])),
            "containerDefinitions[0].portMappings[0]: ClientException: Invalid 'containerPort' "
            "setting for container 'app'.",
        ),
        (
            taskdef(
                container(portMappings=[{"containerPort": 80, "hostPort": 8080}]),
                networkMode="awsvpc",
            ),
            "containerDefinitions[0].portMappings[0]: ClientException: When networkMode=awsvpc, "
            "the host ports and container ports in port mappings must match.",
        ),
        (
            taskdef(
                container(portMappings=[{"containerPort": 80, "hostPort": 8080}]),
                networkMode="host",
            ),
            "containerDefinitions[0].portMappings[0]: ClientException: When networkMode=host, "
            "the host ports and container ports in port mappings must match.",
        ),
        (
            taskdef(container(portMappings=[{"containerPort": 80}]), networkMode="none"),
            "containerDefinitions[0].portMappings[0]: ClientException: Port mappings are not "
            "supported when networkMode=none.",
        ),
        (
            taskdef(container(resourceRequirements=[{"type": "GPU", "value": "two"}])),
            "containerDefinitions[0].resourceRequirements[0]: ClientException: Invalid GPU value "
            "'two' for container 'app'. The value must be a whole number of GPUs.",
        ),
    ],
)
def test_ecs_rejections(obj: dict[str, Any], expected: str) -> None:
    assert only(obj) == expected


def test_memory_equal_to_reservation_is_allowed() -> None:
    td = parse_task_definition(taskdef(container(memory=512, memoryReservation=512)))
    assert td.requirement.memory_mib == 512


def test_ten_placement_constraints_are_allowed() -> None:
    constraints = [{"type": "memberOf", "expression": f"x == {i}"} for i in range(10)]
    assert (
        len(parse_task_definition(taskdef(placementConstraints=constraints)).placement_constraints)
        == 10
    )


def test_rejection_carries_the_caller_path() -> None:
    with pytest.raises(TaskDefinitionError) as info:
        parse_task_definition(taskdef(family=_DROP), path="task_definitions[1] (taskdefs/api.json)")
    assert str(info.value) == (
        "task_definitions[1] (taskdefs/api.json): ClientException: Family can not be blank."
    )


def test_messages_are_one_line() -> None:
    for obj in (taskdef(container(memroy=1)), taskdef(family=_DROP), fargate(cpu="1024")):
        for message in rejection(obj):
            assert "\n" not in message


# ---------------------------------------------------------------------------------------------
# files
# ---------------------------------------------------------------------------------------------


def test_load_file(tmp_path: Path) -> None:
    path = tmp_path / "td.json"
    path.write_text(json.dumps({"taskDefinition": DESCRIBED, "tags": []}), encoding="utf-8")
    td = load_task_definition_file(path)
    assert isinstance(td, TaskDefinition) and td.revision == 7


def test_invalid_json_is_reported_like_the_aws_cli(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text('{\n  "family": "x",\n}\n', encoding="utf-8")
    with pytest.raises(TaskDefinitionError) as info:
        load_task_definition_file(path)
    problem = info.value.problems[0]
    assert problem.path == str(path)
    assert problem.message == (
        "Invalid JSON: Expecting property name enclosed in double quotes: line 3 column 1 (char 19)"
    )


def test_unreadable_file_is_a_task_definition_error(tmp_path: Path) -> None:
    with pytest.raises(TaskDefinitionError) as info:
        load_task_definition_file(tmp_path / "missing.json")
    assert info.value.problems[0].message == (
        "cannot read task definition file: No such file or directory"
    )


def test_file_errors_carry_the_file_path(tmp_path: Path) -> None:
    path = tmp_path / "td.json"
    path.write_text(json.dumps(taskdef(family="")), encoding="utf-8")
    with pytest.raises(TaskDefinitionError) as info:
        load_task_definition_file(str(path))
    assert str(info.value) == f"{path}: ClientException: Family can not be blank."


def test_parse_does_not_mutate_its_input() -> None:
    source = {"taskDefinition": copy.deepcopy(DESCRIBED), "tags": [{"key": "k", "value": "v"}]}
    before = copy.deepcopy(source)
    parse_task_definition(source)
    assert source == before
