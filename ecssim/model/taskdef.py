"""Task definitions: real ECS task-definition JSON in, validated frozen value objects out.

This module owns the reading of task definitions and the resources one task reserves on a
container instance. It accepts what people actually paste:

- a ``RegisterTaskDefinition`` request (``aws ecs register-task-definition --cli-input-json``);
- ``describe-task-definition`` output, wrapped (``{"taskDefinition": {...}, "tags": [...]}``) or
  bare (with ``taskDefinitionArn``, ``revision``, ``status``, ``compatibilities``, ...);
- numbers written as strings (``"containerPort": "3000"``), task sizes with units (``"1 vcpu"``,
  ``".5 gb"``), explicit ``null`` (treated as absent) and ``""`` for optional strings.

Checking happens in two stages, like the real toolchain:

1. Shape, as the AWS CLI's parameter validation does it, against botocore's ECS model embedded in
   :mod:`ecssim.model.ecs_keys`: an unknown key anywhere is an error (a typo must never become a
   silent default), so is a missing required member or a value of the wrong type. Every problem
   is reported, each as ``Parameter validation failed: <botocore's line>``.
2. ECS's own ``RegisterTaskDefinition`` rules, stopping at the first failure like ECS does, with
   ECS's reason text: ``ClientException: <reason>``, preceded by the location inside the
   definition when it helps (``containerDefinitions[1]: ClientException: ...``). Where the real
   wording could not be found the text is written in ECS's style and marked ``[inf]`` below.

The placement requirement follows ECS-SEMANTICS section 1 (the agent's ``ToHostResources``):
task-level ``cpu``/``memory`` when set, otherwise the sum over containers, with
``memoryReservation`` taking precedence over ``memory``; static host ports only, none for
``awsvpc``; GPUs from ``resourceRequirements``; one ENI per ``awsvpc`` task.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ecssim.errors import Problem, TaskDefinitionError
from ecssim.model import ecs_keys
from ecssim.model.enums import NetworkMode
from ecssim.units import parse_cpu_units, parse_memory_mib

__all__ = [
    "DESCRIBE_ONLY_KEYS",
    "FARGATE_SIZES",
    "ContainerDefinition",
    "ContainerDependency",
    "HealthCheck",
    "PlacementConstraint",
    "PortMapping",
    "Requirement",
    "TaskDefinition",
    "fargate_valid",
    "load_task_definition_file",
    "parse_task_definition",
    "unwrap_task_definition",
]

# Keys of a described task definition that a RegisterTaskDefinition request cannot carry
# (taskDefinitionArn, revision, status, requiresAttributes, compatibilities, registeredAt,
# registeredBy, deregisteredAt, deleteRequestedAt): accepted on input, dropped from ``request``.
DESCRIBE_ONLY_KEYS: frozenset[str] = (
    ecs_keys.KEYS["TaskDefinition"] - ecs_keys.KEYS["RegisterTaskDefinitionRequest"]
)

# Valid Fargate task sizes, CPU units -> memory MiB (ECS-SEMANTICS section 7; DG
# task-cpu-memory-error). 8192 and 16384 need Linux platform 1.4.0 or later.
FARGATE_SIZES: Mapping[int, tuple[int, ...]] = {
    256: (512, 1024, 2048),
    512: tuple(range(1024, 4096 + 1, 1024)),
    1024: tuple(range(2048, 8192 + 1, 1024)),
    2048: tuple(range(4096, 16384 + 1, 1024)),
    4096: tuple(range(8192, 30720 + 1, 1024)),
    8192: tuple(range(16384, 61440 + 1, 4096)),
    16384: tuple(range(32768, 122880 + 1, 8192)),
}

# Task-level cpu accepted by the current API (128 units up to 192 vCPUs; the 2023 guide said
# 10240), ECS-SEMANTICS section 1.
_TASK_CPU_MIN = 128
_TASK_CPU_MAX = 196608
_MAX_PLACEMENT_CONSTRAINTS = 10  # per task including the task definition's [doc] BC
_MAX_PORT = 65535
# Family and container names: up to 255 letters, numbers, underscores and hyphens [doc] BC.
_NAME = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
_PORT_RANGE = re.compile(r"^\s*(\d+)\s*-\s*(\d+)\s*$")
_INTEGER = re.compile(r"^\s*[+-]?\d+\s*$")
_NUMBER = re.compile(r"^\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*$")

# ECS reasons, verbatim where found (source in the comment), else written in ECS's style [inf].
# DG task-cpu-memory-error.
_BAD_TASK_CPU = (
    "Invalid 'cpu' setting for task. For more information, see the Troubleshooting section of "
    "the Amazon ECS Developer Guide."
)
# [inf] the memory twin of the cpu message.
_BAD_TASK_MEMORY = (
    "Invalid 'memory' setting for task. For more information, see the Troubleshooting section of "
    "the Amazon ECS Developer Guide."
)


# --------------------------------------------------------------------------------------------
# Value objects
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PortMapping:
    """One port mapping of a container.

    Attributes:
        container_port: The container port; ``None`` for a ``containerPortRange`` mapping.
        host_port: The host port as resolved for the network mode: ``awsvpc`` and ``host`` use
            the container port; in ``bridge`` mode ``None`` means a dynamic host port (hostPort
            0 or omitted).
        protocol: ``"tcp"`` or ``"udp"``.
    """

    container_port: int | None
    host_port: int | None
    protocol: str


@dataclass(frozen=True, slots=True)
class HealthCheck:
    """A container health check, with ECS's defaults (ECS-SEMANTICS section 3).

    Attributes:
        command: The command, e.g. ``("CMD-SHELL", "curl -f http://localhost/ || exit 1")``.
        interval_s: Seconds between checks.
        timeout_s: Seconds a check may take before it counts as failed.
        retries: Consecutive failures that make the container UNHEALTHY.
        start_period_s: Grace period during which failures do not count.
    """

    command: tuple[str, ...]
    interval_s: float = 30.0
    timeout_s: float = 5.0
    retries: int = 3
    start_period_s: float = 0.0


@dataclass(frozen=True, slots=True)
class ContainerDependency:
    """A ``dependsOn`` entry: start this container after ``container_name`` meets ``condition``.

    Attributes:
        container_name: The container depended on.
        condition: ``START``, ``COMPLETE``, ``SUCCESS`` or ``HEALTHY``.
    """

    container_name: str
    condition: str


@dataclass(frozen=True, slots=True)
class ContainerDefinition:
    """The scheduling-relevant part of one container definition.

    Attributes:
        name: Container name, unique in the task definition.
        image: Image reference.
        cpu: CPU units reserved (0 when unset).
        memory_mib: Hard memory limit (``memory``), if set.
        memory_reservation_mib: Soft limit (``memoryReservation``), if set.
        essential: Whether the task stops when this container exits (default True).
        port_mappings: Port mappings, host ports resolved for the network mode.
        health_check: The container health check, if any.
        stop_timeout_s: ``stopTimeout``, if set.
        start_timeout_s: ``startTimeout``, if set.
        depends_on: ``dependsOn`` entries.
        gpu: GPUs from ``resourceRequirements`` (type ``GPU``).
    """

    name: str
    image: str
    cpu: int
    memory_mib: int | None
    memory_reservation_mib: int | None
    essential: bool
    port_mappings: tuple[PortMapping, ...]
    health_check: HealthCheck | None
    stop_timeout_s: float | None
    start_timeout_s: float | None
    depends_on: tuple[ContainerDependency, ...]
    gpu: int


@dataclass(frozen=True, slots=True)
class PlacementConstraint:
    """A task-definition placement constraint.

    Attributes:
        type: ``"memberOf"`` (the only type a task definition may hold) or ``"distinctInstance"``.
        expression: The cluster query language expression of a ``memberOf`` constraint.
    """

    type: str
    expression: str | None


@dataclass(frozen=True, slots=True)
class Requirement:
    """What one task reserves on a container instance (ECS-SEMANTICS section 1, ToHostResources).

    Attributes:
        cpu: CPU units.
        memory_mib: Memory in MiB.
        ports_tcp: Static TCP host ports, sorted and unique.
        ports_udp: Static UDP host ports, sorted and unique.
        gpu: GPUs.
        eni: Elastic network interfaces: 1 for ``awsvpc``, else 0.
        dynamic_ports: Number of ``bridge`` mappings with a dynamic host port.
    """

    cpu: int
    memory_mib: int
    ports_tcp: tuple[int, ...]
    ports_udp: tuple[int, ...]
    gpu: int
    eni: int
    dynamic_ports: int


@dataclass(frozen=True, slots=True)
class TaskDefinition:
    """A validated task definition.

    Attributes:
        family: The family name.
        revision: The revision from describe output, else ``None`` (the registry assigns it).
        network_mode: The network mode (default ``bridge``).
        requires_compatibilities: ``requiresCompatibilities`` as given.
        compatibilities: As ECS computes them: ``"EC2"``, plus ``"FARGATE"`` when the definition
            is Fargate-valid (``awsvpc`` and a valid task cpu/memory pair).
        cpu: Task-level CPU units, if set.
        memory_mib: Task-level memory in MiB, if set.
        containers: The container definitions, in order.
        placement_constraints: The task definition's placement constraints.
        requirement: What one task reserves on a container instance.
        request: The normalised ``RegisterTaskDefinition`` request: nulls and empty optional
            strings dropped, describe-only keys removed, numbers as numbers and task ``cpu`` and
            ``memory`` as ECS stores them (strings of CPU units and MiB). JSON-serialisable;
            treat it as read-only. Used to answer ``describe_task_definition``.
    """

    family: str
    revision: int | None
    network_mode: NetworkMode
    requires_compatibilities: tuple[str, ...]
    compatibilities: tuple[str, ...]
    cpu: int | None
    memory_mib: int | None
    containers: tuple[ContainerDefinition, ...]
    placement_constraints: tuple[PlacementConstraint, ...]
    requirement: Requirement
    request: Mapping[str, Any] = field(hash=False)
    #: Whether a container has ``dependsOn`` entries (its containers start in order).
    has_dependencies: bool = field(init=False, compare=False, repr=False)
    #: Whether an essential container has a health check (task health is then computed).
    health_checked: bool = field(init=False, compare=False, repr=False)
    _images: tuple[str, ...] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        # Read on every task start: computed once here, not per task.
        containers = self.containers
        object.__setattr__(self, "has_dependencies", any(c.depends_on for c in containers))
        object.__setattr__(
            self,
            "health_checked",
            any(c.essential and c.health_check is not None for c in containers),
        )
        object.__setattr__(self, "_images", tuple(c.image for c in containers))

    def images(self) -> tuple[str, ...]:
        """Return the container images, in container order."""
        return self._images

    def healthy_after_s(self) -> float:
        """Seconds from RUNNING until the task is HEALTHY, its application being up at once.

        Docker runs a container's first check one ``interval`` after the container starts; the
        task is HEALTHY when every essential container with a check is (ECS-SEMANTICS 3).
        0 when no essential container has a check.
        """
        return max(
            (
                c.health_check.interval_s
                for c in self.containers
                if c.essential and c.health_check is not None
            ),
            default=0.0,
        )

    def unhealthy_after_s(self, failing_from: float) -> float:
        """Seconds from RUNNING until the task is UNHEALTHY when checks fail from ``failing_from``.

        A container turns UNHEALTHY after ``retries`` consecutive failed checks, one every
        ``interval``; failures inside ``startPeriod`` do not count ([inf], ECS-SEMANTICS 3).
        The task is UNHEALTHY as soon as one essential container is.
        """
        return min(
            (
                max(failing_from, c.health_check.start_period_s)
                + c.health_check.retries * c.health_check.interval_s
                for c in self.containers
                if c.essential and c.health_check is not None
            ),
            default=math.inf,
        )

    def stop_timeout_s(self, default: float) -> float:
        """Return the longest a stop can take: max over containers of ``stopTimeout`` or default.

        Args:
            default: The agent's stop timeout for containers without ``stopTimeout`` (30 s).
        """
        return max(
            (c.stop_timeout_s if c.stop_timeout_s is not None else default) for c in self.containers
        )


def fargate_valid(cpu: int | None, memory_mib: int | None) -> str | None:
    """Check a task-level cpu/memory pair against Fargate's sizes (ECS-SEMANTICS section 7).

    Args:
        cpu: Task-level CPU units, or ``None`` when not set.
        memory_mib: Task-level memory in MiB, or ``None`` when not set.

    Returns:
        ``None`` when Fargate can run the pair, else ECS's reason for rejecting it.
    """
    if cpu is None:
        # hashicorp/terraform-provider-aws#6879, mongodb/terraform-aws-ecs-task-definition#38
        return "Fargate requires that 'cpu' be defined at the task level."
    if memory_mib is None:
        return "Fargate requires that 'memory' be defined at the task level."  # [inf] cpu's twin
    if memory_mib not in FARGATE_SIZES.get(cpu, ()):
        # aws-games/cloud-game-development-toolkit#737 (2025); older: the first sentence only.
        return (
            f"No Fargate configuration exists for given values: {cpu} CPU, {memory_mib} memory. "
            "See the Amazon ECS documentation for the valid values."
        )
    return None


# --------------------------------------------------------------------------------------------
# Entry points
# --------------------------------------------------------------------------------------------


def unwrap_task_definition(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    """Return the task definition inside ``describe-task-definition`` output.

    ``{"taskDefinition": {...}, "tags": [...]}`` gives the inner object; anything else (a
    request, or bare describe output) is returned as it is.
    """
    inner = obj.get("taskDefinition")
    return inner if isinstance(inner, Mapping) else obj


def parse_task_definition(obj: Mapping[str, Any], *, path: str = "") -> TaskDefinition:
    """Validate task-definition JSON (already decoded) and build a :class:`TaskDefinition`.

    Args:
        obj: A ``RegisterTaskDefinition`` request or ``describe-task-definition`` output,
            wrapped or bare.
        path: Where the definition came from, prefixed to every problem (the scenario loader
            passes e.g. ``task_definitions[1] (taskdefs/api.json)``).

    Raises:
        TaskDefinitionError: The JSON does not match botocore's shapes, or ECS would reject it.
    """
    if not isinstance(obj, Mapping):
        raise TaskDefinitionError(
            [Problem(path, f"a task definition must be a JSON object, got {_type_name(obj)}")]
        )
    checker = _ShapeChecker()
    wrapper_tags: Any = _ABSENT
    inner: Any = obj
    if "taskDefinition" in obj:
        inner, wrapper_tags = checker.wrapper(obj)
    described = checker.root(inner) if isinstance(inner, Mapping) else {}
    if checker.problems:
        raise TaskDefinitionError(
            [Problem(path, f"Parameter validation failed: {m}") for m in checker.problems]
        )
    request = {k: v for k, v in described.items() if k not in DESCRIBE_ONLY_KEYS}
    if wrapper_tags is not _ABSENT and wrapper_tags and "tags" not in request:
        request["tags"] = wrapper_tags
    try:
        return _build(request, described.get("revision"))
    except _RejectedError as rejected:
        raise TaskDefinitionError([Problem(path, str(rejected))]) from None


def load_task_definition_file(path: str | os.PathLike[str]) -> TaskDefinition:
    """Read a task-definition JSON file and parse it with :func:`parse_task_definition`.

    Raises:
        TaskDefinitionError: The file cannot be read, is not valid JSON (reported like the AWS
            CLI: ``Invalid JSON: <detail>: line L column C (char N)``), or is not a valid task
            definition.
    """
    where = os.fspath(path)
    try:
        text = Path(where).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise TaskDefinitionError(f"cannot read task definition file: {reason}", where) from None
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise TaskDefinitionError(f"Invalid JSON: {exc}", where) from None
    return parse_task_definition(obj, path=where)


# --------------------------------------------------------------------------------------------
# Stage 1: shapes (the AWS CLI's parameter validation, lenient about strings for numbers)
# --------------------------------------------------------------------------------------------

_VALID_TYPES = {
    "structure": "<class 'dict'>",
    "map": "<class 'dict'>",
    "list": "<class 'list'>, <class 'tuple'>",
    "string": "<class 'str'>",
    "integer": "<class 'int'>",
    "long": "<class 'int'>",
    "boolean": "<class 'bool'>",
    "double": "<class 'float'>, <class 'decimal.Decimal'>, <class 'int'>",
    "float": "<class 'float'>, <class 'decimal.Decimal'>, <class 'int'>",
    "timestamp": "<class 'datetime.datetime'>, <class 'str'>",
}


class _Absent:
    """Marks a value that normalises away (``null``, ``""``, an emptied structure)."""


_ABSENT = _Absent()


def _type_name(value: object) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}.get(
        type(value), type(value).__name__
    )


def _quote(key: object) -> str:
    """A key as JSON would quote it, so control characters never break the one-line message."""
    return json.dumps(str(key), ensure_ascii=False)


def _invalid_type(where: str, value: object, kind: str) -> str:
    shown = str(value)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return (
        f"Invalid type for parameter {where}, value: {shown}, type: {type(value)}, "
        f"valid types: {_VALID_TYPES.get(kind, kind)}"
    )


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


class _ShapeChecker:
    """Walks JSON against the embedded botocore shapes, normalising and collecting problems."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def wrapper(self, obj: Mapping[str, Any]) -> tuple[Any, Any]:
        """Check describe-task-definition output; return the inner definition and the tags."""
        members = ecs_keys.STRUCTURES["DescribeTaskDefinitionResponse"]
        for key in obj:
            if key not in members:
                self.problems.append(
                    f"Unknown parameter in input: {_quote(key)}, must be one of: "
                    + ", ".join(members)
                )
        inner = obj["taskDefinition"]
        if not isinstance(inner, Mapping):
            self.problems.append(_invalid_type("taskDefinition", inner, "structure"))
        return inner, self.value(obj.get("tags"), members["tags"], "tags")

    def root(self, obj: Mapping[str, Any]) -> dict[str, Any]:
        """Check a request or described definition; return the normalised request."""
        # A request and a described definition share most keys; accept the union. family and
        # containerDefinitions are required, but a missing one is ECS's rejection (stage 2).
        members = {
            **ecs_keys.STRUCTURES["RegisterTaskDefinitionRequest"],
            **ecs_keys.STRUCTURES["TaskDefinition"],
        }
        return self._members(obj, members, frozenset(), "")

    def structure(
        self, value: Any, shape: str, where: str, *, drop_empty: bool = True
    ) -> dict[str, Any] | _Absent:
        if not isinstance(value, Mapping):
            self.problems.append(_invalid_type(where, value, "structure"))
            return _ABSENT
        out = self._members(
            value, ecs_keys.STRUCTURES[shape], ecs_keys.REQUIRED.get(shape, frozenset()), where
        )
        # A structure whose every value was null or "" is dropped too, as the official deploy
        # action does (aws-actions/amazon-ecs-deploy-task-definition#52): e.g.
        # "repositoryCredentials": {"credentialsParameter": ""} from console exports.
        if drop_empty and value and not out:
            return _ABSENT
        return out

    def _members(
        self,
        value: Mapping[str, Any],
        members: Mapping[str, str],
        required: frozenset[str],
        where: str,
    ) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, item in value.items():
            if key not in members:
                self.problems.append(
                    f"Unknown parameter in {where or 'input'}: {_quote(key)}, must be one of: "
                    + ", ".join(members)
                )
                continue
            normalised = self.value(item, members[key], _join(where, key))
            if normalised is not _ABSENT:
                out[key] = normalised
        for key in sorted(required):
            # botocore's rule, except that null counts as absent: "" is present.
            if value.get(key) is None:
                self.problems.append(f'Missing required parameter in {where or "input"}: "{key}"')
        return out

    def value(self, value: Any, shape: str, where: str) -> Any:
        """Return ``value`` normalised for ``shape``, or ``_ABSENT``."""
        if value is None:
            return _ABSENT
        if shape in ecs_keys.STRUCTURES:
            return self.structure(value, shape, where)
        if shape in ecs_keys.LISTS:
            if not isinstance(value, list):
                self.problems.append(_invalid_type(where, value, "list"))
                return _ABSENT
            item_shape = ecs_keys.LISTS[shape]
            items = []
            for i, item in enumerate(value):
                # List items are kept even when emptied: only nulls inside a list are dropped.
                if item_shape in ecs_keys.STRUCTURES and isinstance(item, Mapping):
                    normalised: Any = self.structure(
                        item, item_shape, f"{where}[{i}]", drop_empty=False
                    )
                else:
                    normalised = self.value(item, item_shape, f"{where}[{i}]")
                if normalised is not _ABSENT:
                    items.append(normalised)
            return items
        if shape in ecs_keys.MAPS:
            if not isinstance(value, Mapping):
                self.problems.append(_invalid_type(where, value, "map"))
                return _ABSENT
            value_shape = ecs_keys.MAPS[shape]
            out = {}
            for key, item in value.items():
                normalised = self.value(item, value_shape, _join(where, str(key)))
                # An empty string is a legitimate map value (e.g. a docker label).
                if normalised is _ABSENT and item == "":
                    normalised = ""
                if normalised is not _ABSENT:
                    out[str(key)] = normalised
            return out
        return self.scalar(value, ecs_keys.SCALARS.get(shape, "string"), where)

    def scalar(self, value: Any, kind: str, where: str) -> Any:
        if kind == "string":
            if isinstance(value, str):
                return value if value != "" else _ABSENT
            if isinstance(value, int | float) and not isinstance(value, bool):
                # Numbers for strings (task "cpu": 256): keep the digits ECS would store.
                return str(int(value)) if float(value).is_integer() else str(value)
        elif kind in ("integer", "long"):
            number: int | None = None
            if isinstance(value, int) and not isinstance(value, bool):
                number = value
            elif isinstance(value, float) and value.is_integer():
                number = int(value)
            elif isinstance(value, str):
                if value.strip() == "":
                    return _ABSENT
                if _INTEGER.match(value):
                    number = int(value)
            if number is not None:
                # ECS's Integer is 32-bit and Long 64-bit; the API refuses anything larger.
                bits = 31 if kind == "integer" else 63
                if -(2**bits) <= number < 2**bits:
                    return number
                self.problems.append(
                    f"Invalid range for parameter {where}, value: {value}, "
                    f"valid max value: {2**bits - 1}"
                )
                return _ABSENT
        elif kind == "boolean":
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.strip().lower() in ("true", "false"):
                return value.strip().lower() == "true"
        elif kind in ("double", "float"):
            if isinstance(value, int | float) and not isinstance(value, bool):
                return value
            if isinstance(value, str) and _NUMBER.match(value):
                return float(value)
        elif kind == "timestamp":
            if isinstance(value, str | int | float) and not isinstance(value, bool):
                return value
        else:  # blob and anything botocore adds later: pass through
            return value
        self.problems.append(_invalid_type(where, value, kind))
        return _ABSENT


# --------------------------------------------------------------------------------------------
# Stage 2: ECS's RegisterTaskDefinition rules, then the value objects
# --------------------------------------------------------------------------------------------


class _RejectedError(Exception):
    """ECS would reject the definition; ``str()`` is the one-line message."""

    def __init__(self, reason: str, where: str = "") -> None:
        prefix = f"{where}: " if where else ""
        super().__init__(f"{prefix}ClientException: {reason}")


def _container_name(container: Mapping[str, Any]) -> str:
    return str(container.get("name", ""))


def _build(request: dict[str, Any], revision: int | None) -> TaskDefinition:
    family = request.get("family")
    if not family:
        # aws-actions/amazon-ecs-deploy-task-definition#630
        raise _RejectedError("Family can not be blank.")
    if not _NAME.match(family):
        # [inf] after "Container.name contains invalid characters."
        raise _RejectedError("Family contains invalid characters.")
    raw_containers: list[dict[str, Any]] = request.get("containerDefinitions", [])
    if not raw_containers:
        # awsdocs/aws-cloudformation-user-guide#454
        raise _RejectedError("Container list cannot be empty.")

    cpu = _task_size(request, "cpu", parse_cpu_units, _BAD_TASK_CPU)
    if cpu is not None and not _TASK_CPU_MIN <= cpu <= _TASK_CPU_MAX:
        raise _RejectedError(_BAD_TASK_CPU)
    memory = _task_size(request, "memory", parse_memory_mib, _BAD_TASK_MEMORY)

    mode_text = request.get("networkMode")
    valid_modes = ecs_keys.ENUMS["NetworkMode"]
    if mode_text is not None and mode_text not in valid_modes:
        # [inf] no wording found; the pattern of "Invalid 'cpu' setting for task."
        raise _RejectedError(
            f"Invalid 'networkMode' setting for task: '{mode_text}'. "
            f"Valid values are {', '.join(valid_modes)}."
        )
    mode = NetworkMode(mode_text) if mode_text else NetworkMode.BRIDGE

    requires = tuple(request.get("requiresCompatibilities", ()))
    valid_compat = ecs_keys.ENUMS["Compatibility"]
    for value in requires:
        if value not in valid_compat:
            # [inf]
            raise _RejectedError(
                f"Invalid 'requiresCompatibilities' setting for task: '{value}'. "
                f"Valid values are {', '.join(valid_compat)}."
            )

    _check_names(raw_containers)
    if not any(c.get("essential", True) for c in raw_containers):
        # cfn-lint TaskDefinitionEssentialContainer test, "validated against CloudFormation/ECS".
        raise _RejectedError("Task definition doesn't have any essential container.")

    containers = tuple(
        _container(c, f"containerDefinitions[{i}]", mode, memory)
        for i, c in enumerate(raw_containers)
    )
    if cpu is not None and sum(c.cpu for c in containers) > cpu:
        # aws/aws-cdk#1553
        raise _RejectedError(
            "The sum of all container 'cpu' values cannot be greater than the value of the "
            "task 'cpu'."
        )
    _check_dependencies(containers)

    if "FARGATE" in requires:
        if mode is not NetworkMode.AWSVPC:
            # aws/amazon-ecs-cli#1145 (ECS's typographic quotes)
            raise _RejectedError("Fargate only supports network mode ‘awsvpc’.")
        reason = fargate_valid(cpu, memory)
        if reason is not None:
            raise _RejectedError(reason)

    constraints = _placement_constraints(request.get("placementConstraints", []))

    fargate_ok = mode is NetworkMode.AWSVPC and fargate_valid(cpu, memory) is None
    if cpu is not None:
        request["cpu"] = str(cpu)
    if memory is not None:
        request["memory"] = str(memory)
    return TaskDefinition(
        family=family,
        revision=revision,
        network_mode=mode,
        requires_compatibilities=requires,
        compatibilities=("EC2", "FARGATE") if fargate_ok else ("EC2",),
        cpu=cpu,
        memory_mib=memory,
        containers=containers,
        placement_constraints=constraints,
        requirement=_requirement(mode, cpu, memory, containers),
        request=request,  # built afresh by the shape checker: shares nothing with the input
    )


def _task_size(
    request: Mapping[str, Any], key: str, parse: Callable[[object], int], reason: str
) -> int | None:
    text = request.get(key)
    if text is None:
        return None
    try:
        value = parse(text)
    except ValueError:
        raise _RejectedError(reason) from None
    if value <= 0:
        raise _RejectedError(reason)
    return value


def _check_names(containers: list[dict[str, Any]]) -> None:
    seen: set[str] = set()
    for i, container in enumerate(containers):
        where = f"containerDefinitions[{i}]"
        name = container.get("name")
        if not name:
            # hashicorp/terraform#2888, awsdocs/aws-cloudformation-user-guide#612
            raise _RejectedError("Container.name should not be null or empty.", where)
        if not _NAME.match(name):
            # ansible/ansible#22860
            raise _RejectedError("Container.name contains invalid characters.", where)
        if not container.get("image"):
            # aws/aws-cli#5924
            raise _RejectedError("Container.image should not be null or empty.", where)
        if name in seen:
            # Shippable/support#2946
            raise _RejectedError("Container names must be unique within a Task Definition.", where)
        seen.add(name)


def _container(
    raw: Mapping[str, Any], where: str, mode: NetworkMode, task_memory: int | None
) -> ContainerDefinition:
    name = _container_name(raw)
    cpu = raw.get("cpu", 0)
    if cpu < 0:
        raise _RejectedError(f"Invalid 'cpu' setting for container '{name}'.", where)  # [inf]
    memory = raw.get("memory")
    reservation = raw.get("memoryReservation")
    for key, value in (("memory", memory), ("memoryReservation", reservation)):
        if value is not None and value <= 0:
            raise _RejectedError(f"Invalid '{key}' setting for container '{name}'.", where)  # [inf]
    if task_memory is None and memory is None and reservation is None:
        # sil-org/ecs-deploy#59, getmoto/moto#7280 (checked against AWS)
        raise _RejectedError(
            f"Invalid setting for container '{name}'. "
            "At least one of 'memory' or 'memoryReservation' must be specified.",
            where,
        )
    if memory is not None and reservation is not None and memory < reservation:
        # awsdocs/amazon-ecs-developer-guide#242 (equal is allowed)
        raise _RejectedError(
            f"Invalid setting for container '{name}'. "
            "'memory' must be greater than or equal to 'memoryReservation'.",
            where,
        )
    if task_memory is not None and memory is not None and memory > task_memory:
        # pulumi/pulumi-awsx#1220
        raise _RejectedError(
            f"The 'memory' setting for container '{name}' is greater than for the task.", where
        )
    mappings = tuple(
        _port_mapping(pm, f"{where}.portMappings[{j}]", name, mode)
        for j, pm in enumerate(raw.get("portMappings", []))
    )
    return ContainerDefinition(
        name=name,
        image=str(raw["image"]),
        cpu=cpu,
        memory_mib=memory,
        memory_reservation_mib=reservation,
        essential=bool(raw.get("essential", True)),
        port_mappings=mappings,
        health_check=_health_check(raw.get("healthCheck")),
        stop_timeout_s=_seconds(raw.get("stopTimeout")),
        start_timeout_s=_seconds(raw.get("startTimeout")),
        depends_on=_dependencies(raw.get("dependsOn", []), where, name),
        gpu=_gpus(raw.get("resourceRequirements", []), where, name),
    )


def _seconds(value: int | None) -> float | None:
    return None if value is None else float(value)


def _port_mapping(raw: Mapping[str, Any], where: str, name: str, mode: NetworkMode) -> PortMapping:
    protocol = raw.get("protocol", "tcp")
    if protocol not in ecs_keys.ENUMS["TransportProtocol"]:
        # [inf] the pattern of the containerPort message; the console says "Valid values for
        # portMapping protocol are tcp and udp." (hashicorp/terraform-provider-aws#3645).
        raise _RejectedError(f"Invalid 'protocol' setting for container '{name}'.", where)
    if mode is NetworkMode.NONE:
        # [doc] BC networkMode: with none, port mappings cannot be specified. [inf] wording.
        raise _RejectedError("Port mappings are not supported when networkMode=none.", where)
    container_port = raw.get("containerPort")
    port_range = raw.get("containerPortRange")
    bad_container_port = f"Invalid 'containerPort' setting for container '{name}'."  # aws-cli#7288
    if container_port is None and port_range is None:
        raise _RejectedError(bad_container_port, where)
    if container_port is not None and port_range is not None:
        raise _RejectedError(  # [inf]
            f"Invalid setting for container '{name}'. Specify either 'containerPort' or "
            "'containerPortRange', not both.",
            where,
        )
    if container_port is not None and not 1 <= container_port <= _MAX_PORT:
        raise _RejectedError(bad_container_port, where)
    host_port = raw.get("hostPort")
    if host_port is not None and not 0 <= host_port <= _MAX_PORT:
        raise _RejectedError(f"Invalid 'hostPort' setting for container '{name}'.", where)  # [inf]
    if port_range is not None:
        if _parse_range(port_range) is None:
            raise _RejectedError(  # [inf]
                f"Invalid 'containerPortRange' setting for container '{name}'.", where
            )
        if host_port is not None and host_port != 0:
            raise _RejectedError(  # [inf]; ranges get their host ports from ECS
                f"Invalid 'hostPort' setting for container '{name}'.", where
            )
        if mode is NetworkMode.HOST:
            # [doc] BC PortMapping: ranges need the awsvpc or bridge network mode. [inf] wording.
            raise _RejectedError(
                "containerPortRange is not supported when networkMode=host.", where
            )
        return PortMapping(None, None, protocol)
    if mode in (NetworkMode.AWSVPC, NetworkMode.HOST):
        # hostPort may be left out (or 0) and then equals containerPort.
        if host_port not in (None, 0, container_port):
            # pulumi/pulumi-awsx#935, aws/amazon-ecs-cli#1014
            raise _RejectedError(
                f"When networkMode={mode.value}, the host ports and container ports in port "
                "mappings must match.",
                where,
            )
        return PortMapping(container_port, container_port, protocol)
    return PortMapping(container_port, host_port or None, protocol)


def _parse_range(text: str) -> tuple[int, int] | None:
    match = _PORT_RANGE.match(text)
    if not match:
        return None
    low, high = int(match.group(1)), int(match.group(2))
    return (low, high) if 1 <= low < high <= _MAX_PORT else None


def _health_check(raw: Mapping[str, Any] | None) -> HealthCheck | None:
    if raw is None:
        return None
    defaults = HealthCheck(command=())
    start = raw.get("startPeriod")
    return HealthCheck(
        command=tuple(raw.get("command", ())),
        interval_s=float(raw.get("interval", defaults.interval_s)),
        timeout_s=float(raw.get("timeout", defaults.timeout_s)),
        retries=int(raw.get("retries", defaults.retries)),
        start_period_s=float(start) if start is not None else defaults.start_period_s,
    )


def _dependencies(
    raw: list[Mapping[str, Any]], where: str, name: str
) -> tuple[ContainerDependency, ...]:
    conditions = ecs_keys.ENUMS["ContainerCondition"]
    out = []
    for k, dependency in enumerate(raw):
        condition = dependency["condition"]
        if condition not in conditions:
            raise _RejectedError(  # [inf]
                f"Invalid 'condition' setting for container '{name}': '{condition}'. "
                f"Valid values are {', '.join(conditions)}.",
                f"{where}.dependsOn[{k}]",
            )
        out.append(ContainerDependency(dependency["containerName"], condition))
    return tuple(out)


def _check_dependencies(containers: tuple[ContainerDefinition, ...]) -> None:
    by_name = {c.name: c for c in containers}
    for i, container in enumerate(containers):
        for k, dependency in enumerate(container.depends_on):
            where = f"containerDefinitions[{i}].dependsOn[{k}]"
            target = by_name.get(dependency.container_name)
            if target is None:
                # Verbatim, stray "+" included: eagletmt/hako#99, dagster-io/dagster#6926.
                raise _RejectedError(
                    f"Cannot depend on container + '{dependency.container_name}' because it "
                    "does not exist",
                    where,
                )
            if dependency.condition in ("SUCCESS", "COMPLETE") and target.essential:
                # boto/boto3#2436
                raise _RejectedError(
                    "A dependency container with SUCCESS or COMPLETE condition cannot be an "
                    "essential container",
                    where,
                )
    _check_dependency_cycles(containers)


def _check_dependency_cycles(containers: tuple[ContainerDefinition, ...]) -> None:
    """Reject a ``dependsOn`` cycle: no container in it could ever start.

    [inf] The agent refuses such a task (AG ``dependencygraph.ValidDependencies``); the
    wording of the registration error is ours.
    """
    index = {c.name: i for i, c in enumerate(containers)}
    state = [0] * len(containers)  # 0 unvisited, 1 on the current path, 2 done

    def visit(i: int, path: list[int]) -> list[int] | None:
        state[i] = 1
        path.append(i)
        for dependency in containers[i].depends_on:
            j = index[dependency.container_name]
            if state[j] == 1:
                return [*path[path.index(j) :], j]
            if state[j] == 0:
                found = visit(j, path)
                if found is not None:
                    return found
        path.pop()
        state[i] = 2
        return None

    for start in range(len(containers)):
        if state[start] == 0:
            cycle = visit(start, [])
            if cycle is not None:
                names = " -> ".join(f"'{containers[i].name}'" for i in cycle)
                raise _RejectedError(
                    f"Circular container dependency: {names}", f"containerDefinitions[{cycle[0]}]"
                )


def _gpus(raw: list[Mapping[str, Any]], where: str, name: str) -> int:
    total = 0
    for k, requirement in enumerate(raw):
        if requirement["type"] != "GPU":
            continue
        value = str(requirement.get("value", ""))
        if not value.strip().isdigit() or int(value) <= 0:
            raise _RejectedError(  # [inf]
                f"Invalid GPU value '{value}' for container '{name}'. The value must be a "
                "whole number of GPUs.",
                f"{where}.resourceRequirements[{k}]",
            )
        total += int(value)
    return total


def _placement_constraints(raw: list[Mapping[str, Any]]) -> tuple[PlacementConstraint, ...]:
    if len(raw) > _MAX_PLACEMENT_CONSTRAINTS:
        raise _RejectedError(  # [inf]
            f"Too many placement constraints: {len(raw)}. A task definition can have at most "
            f"{_MAX_PLACEMENT_CONSTRAINTS}.",
            "placementConstraints",
        )
    out = []
    for k, constraint in enumerate(raw):
        kind = constraint.get("type", "")
        where = f"placementConstraints[{k}]"
        if kind not in ecs_keys.ENUMS["TaskDefinitionPlacementConstraintType"]:
            # aws/aws-cdk#25905 (via CloudFormation) for distinctInstance; other types [inf].
            raise _RejectedError(f"constraint.type '{kind}' is not supported.", where)
        expression = constraint.get("expression")
        if not expression:
            raise _RejectedError(  # [inf]
                "constraint.expression must be specified for type memberOf.", where
            )
        out.append(PlacementConstraint(kind, expression))
    return tuple(out)


def _requirement(
    mode: NetworkMode,
    cpu: int | None,
    memory: int | None,
    containers: tuple[ContainerDefinition, ...],
) -> Requirement:
    tcp: set[int] = set()
    udp: set[int] = set()
    dynamic = 0
    # awsvpc tasks get their own ENI: no host-port accounting (agent ToHostResources).
    if mode in (NetworkMode.BRIDGE, NetworkMode.HOST):
        for container in containers:
            for mapping in container.port_mappings:
                if mapping.host_port is None:
                    dynamic += 1
                else:
                    (tcp if mapping.protocol == "tcp" else udp).add(mapping.host_port)
    return Requirement(
        cpu=cpu if cpu is not None else sum(c.cpu for c in containers),
        memory_mib=(
            memory
            if memory is not None
            else sum(
                c.memory_reservation_mib
                if c.memory_reservation_mib is not None
                else (c.memory_mib or 0)
                for c in containers
            )
        ),
        ports_tcp=tuple(sorted(tcp)),
        ports_udp=tuple(sorted(udp)),
        gpu=sum(c.gpu for c in containers),
        eni=1 if mode is NetworkMode.AWSVPC else 0,
        dynamic_ports=dynamic,
    )
