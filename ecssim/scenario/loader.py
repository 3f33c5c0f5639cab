"""Loading scenarios: YAML (or a dict) in, a validated :class:`Scenario` out, or every problem.

The loader reads the file, applies overrides (``--set`` and a sweep's ``vary``), then checks the
whole document before building anything, collecting one :class:`~ecssim.errors.Problem` per
mistake with its path (``services[0].desiredCount: expected an integer >= 0, got "ten"``). It
raises one :class:`~ecssim.errors.ScenarioError` holding them all, so a user fixes a file in one
pass and nothing is simulated until the whole file is valid.

ECS objects are checked against botocore's request shapes (:mod:`ecssim.scenario.ecs_requests`):
an unknown key is an error, keys the simulator does not model are accepted and ignored.
Simulator sections (snake_case) are checked against their own key lists. Unknown keys get a
"did you mean" suggestion from :mod:`difflib`. The format is documented in
``docs/scenario-reference.md``.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime
import difflib
import json
import math
import os
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from ecssim.distributions import Distribution, Exponential, parse_distribution, parse_mtbf
from ecssim.errors import InputError, Problem, ScenarioError
from ecssim.model.catalogue import CATALOGUE, get_instance_type
from ecssim.model.taskdef import (
    TaskDefinition,
    load_task_definition_file,
    parse_task_definition,
    unwrap_task_definition,
)
from ecssim.parameters import SimParameters
from ecssim.placement.query import MAX_EXPRESSION_LENGTH, parse_expression
from ecssim.placement.strategies import validate_strategy
from ecssim.scenario.ecs_requests import ACTION_CALLS, SHAPES, Member
from ecssim.scenario.paths import join_key, resolve_path, set_path
from ecssim.scenario.schema import (
    DEFAULT_ZONES,
    Action,
    AgentDisconnect,
    Arrivals,
    AzOutage,
    Fault,
    InstanceFailure,
    InstanceGroup,
    InstanceStop,
    Scenario,
    SpotInterruption,
    TaskBehavior,
    Workload,
)
from ecssim.scenario.selectors import INSTANCE_SELECTOR_KEYS, TASK_SELECTOR_KEYS, task_selector
from ecssim.state import NO_FIT
from ecssim.units import format_duration, parse_duration, parse_rate
from ecssim.usage import UsageModel, parse_usage

__all__ = ["SUPPORTED_VERSION", "load_scenario", "validate_file"]

SUPPORTED_VERSION = 1
"""The only ``version:`` this ecssim reads."""

TOP_KEYS = (
    "version",
    "name",
    "description",
    "seed",
    "duration",
    "explain",
    "clusters",
    "instances",
    "task_definitions",
    "services",
    "task_behavior",
    "workloads",
    "faults",
    "actions",
    "parameters",
)
INSTANCE_KEYS = (
    "cluster",
    "instance_type",
    "count",
    "zones",
    "attributes",
    "cpu",
    "memory",
    "market",
    "at",
    "spot",
    "awsvpc_trunking",
)
SPOT_KEYS = ("mtbf", "rate", "replace_after")
MARKETS = ("on-demand", "spot")
#: Largest integer the ECS API takes (its Integer is 32-bit).
MAX_INTEGER = 2**31 - 1
#: Instances one group may launch; ECS's default quota is 5,000 container instances per cluster.
MAX_INSTANCES_PER_GROUP = 100_000
TASK_BEHAVIOR_KEYS = (
    "runtime",
    "crash",
    "cpu_usage",
    "memory_usage",
    "pull_failure",
    "start_failure",
    "unhealthy_after",
)
CRASH_KEYS = ("mtbf",)
WORKLOAD_KEYS = (
    "cluster",
    "taskDefinition",
    "arrivals",
    "count",
    "group",
    "placementStrategy",
    "placementConstraints",
    "start",
    "stop",
)
ARRIVAL_KINDS = ("poisson", "interval", "times")
FAULT_KINDS = (
    "instance_failure",
    "instance_stop",
    "agent_disconnect",
    "az_outage",
    "spot_interruption",
)
# Fault kinds the specification names that this version does not simulate yet.
FUTURE_FAULT_KINDS = (
    "image_pull_failure",
    "task_crash",
)
INSTANCE_FAILURE_KEYS = ("cluster", "at", "mtbf", "zone", "count", "replace_after")
INSTANCE_STOP_KEYS = ("cluster", "at", "mtbf", "zone", "count")
AGENT_DISCONNECT_KEYS = ("cluster", "at", "mtbf", "zone", "count", "duration")
AZ_OUTAGE_KEYS = ("zone", "at", "duration", "cluster")
SPOT_INTERRUPTION_KEYS = INSTANCE_FAILURE_KEYS
DEFAULT_CLUSTER = "default"
MAX_STRATEGIES = 5  # [doc] BC PlacementStrategy: "up to five strategy rules per task/service"
MAX_CONSTRAINTS = 10  # [doc] BC PlacementConstraint: "up to 10 constraints per task"
MAX_RUN_TASK_COUNT = 10  # [doc] BC RunTaskRequest.count
MAX_START_TASK_INSTANCES = 10  # [doc] BC StartTaskRequest.containerInstances

# [doc] BC CreateClusterRequest.clusterName / CreateServiceRequest.serviceName.
_ECS_NAME = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
# [doc] BC Attribute.name and Attribute.value.
_ATTRIBUTE_NAME = re.compile(r"^[A-Za-z0-9_./\\-]{1,128}$")
_ATTRIBUTE_VALUE = re.compile(r"^[A-Za-z0-9_.@/\\: -]{1,128}$")


# -- small helpers ----------------------------------------------------------------------------


def _show(value: object) -> str:
    """Render a user's value inside a message: strings in double quotes, YAML-style scalars."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        text = json.dumps(value, ensure_ascii=False)
        return text if len(text) <= 60 else text[:56] + '..."'
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, datetime.date):
        return f"a date ({value.isoformat()})"
    return f"a {type(value).__name__}"


def _normalised(word: str) -> str:
    return word.replace("_", "").replace("-", "").lower()


def _suggest(word: object, choices: Iterable[str]) -> str | None:
    """Return the choice closest to ``word`` (case, ``_`` and ``-`` ignored first), if any."""
    text = str(word)
    options = list(choices)
    for option in options:
        if _normalised(option) == _normalised(text):
            return option
    close = difflib.get_close_matches(text, options, n=1, cutoff=0.6)
    if close:
        return close[0]
    by_normal = {_normalised(option): option for option in options}
    close = difflib.get_close_matches(_normalised(text), list(by_normal), n=1, cutoff=0.6)
    return by_normal[close[0]] if close else None


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _jsonable(value: Any) -> Any:
    """Return a JSON-able copy of a YAML value (dates become ISO strings, keys strings)."""
    if isinstance(value, Mapping):
        return {k if isinstance(k, str) else _show_key(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _show_key(key: object) -> str:
    if isinstance(key, bool):
        return "true" if key else "false"
    return "null" if key is None else str(key)


def _family_of(reference: str) -> tuple[str, int | None] | None:
    """Split ``family``, ``family:revision`` or a task definition ARN; None if malformed."""
    text = reference
    if text.startswith("arn:"):
        _, found, rest = text.partition(":task-definition/")
        if not found:
            return None
        text = rest
    family, colon, revision = text.partition(":")
    if not family:
        return None
    if not colon:
        return family, None
    if not revision.isdigit() or int(revision) < 1:
        return None
    return family, int(revision)


# -- reading ----------------------------------------------------------------------------------


class _Loader(yaml.SafeLoader):
    """``SafeLoader`` that rejects duplicate keys instead of keeping the last one silently."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[tuple[str, str]] = set()
        for key_node, _ in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag.endswith(":merge"):
                continue
            key = (key_node.tag, key_node.value)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key_node.value!r}", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _read_document(path: Path, label: str) -> Any:
    """Read and parse a scenario file; raise ``ScenarioError`` with one located problem."""

    def fail(message: str, where: str = label) -> ScenarioError:
        return ScenarioError([Problem(where, message)])

    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise fail("no such file") from None
    except IsADirectoryError:
        raise fail("is a directory, not a scenario file") from None
    except PermissionError:
        raise fail("permission denied") from None
    except OSError as err:
        raise fail(f"cannot read: {err.strerror or err}") from None
    if b"\x00" in data:
        raise fail("not a text file (it holds binary data)")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise fail(
            f"not a UTF-8 text file (byte 0x{data[err.start]:02x} at offset {err.start})"
        ) from None
    try:
        doc = yaml.load(text, Loader=_Loader)  # _Loader is a SafeLoader
    except yaml.reader.ReaderError as err:
        raise fail(
            f"not a text file (unacceptable character #x{err.character:04x} "
            f"at offset {err.position})"
        ) from None
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        problem = " ".join(str(err.problem or err.context or "syntax error").split())
        if err.context and err.problem:
            problem += f" ({' '.join(str(err.context).split())})"
        where = f"{label}:{mark.line + 1}:{mark.column + 1}" if mark else label
        raise fail(f"invalid YAML: {problem}", where) from None
    except yaml.YAMLError as err:
        raise fail(f"invalid YAML: {' '.join(str(err).split())}") from None
    if doc is None:
        raise fail("empty scenario")
    if not isinstance(doc, Mapping):
        raise fail(f"expected a mapping of sections (version, duration, ...), got {_show(doc)}")
    return doc


def _override_items(
    overrides: Sequence[str] | Mapping[str, Any], problems: list[Problem]
) -> Iterator[tuple[str, Any]]:
    """Yield ``(path, value)`` per override; report malformed ones and skip them."""
    if isinstance(overrides, Mapping):
        yield from ((str(path), value) for path, value in overrides.items())
        return
    for text in [overrides] if isinstance(overrides, str) else overrides:
        if not isinstance(text, str) or "=" not in text:
            problems.append(Problem(str(text), "expected an override PATH=VALUE"))
            continue
        path, _, raw = text.partition("=")
        path = path.strip()
        try:
            value = yaml.safe_load(raw) if raw.strip() else ""
        except yaml.YAMLError as err:
            reason = " ".join(str(getattr(err, "problem", None) or err).split())
            problems.append(Problem(path, f"invalid override value {raw!r}: {reason}"))
            continue
        yield path, value


def _apply_overrides(
    doc: dict[str, Any], overrides: Sequence[str] | Mapping[str, Any], problems: list[Problem]
) -> tuple[dict[str, Any], dict[str, str]]:
    """Apply overrides in order; return the document and ``{resolved path: path as written}``."""
    notes: dict[str, str] = {}
    for path, value in _override_items(overrides, problems):
        try:
            resolved = resolve_path(doc, path)
            doc = set_path(doc, path, value)
        except ScenarioError as err:
            problems.extend(err.problems)
            continue
        notes[resolved] = path
    return doc, notes


def _annotate(problem: Problem, notes: Mapping[str, str]) -> Problem:
    for resolved, written in notes.items():
        path = problem.path
        if path == resolved or path.startswith((f"{resolved}.", f"{resolved}[", f"{resolved} (")):
            return Problem(path, f"{problem.message} (set by override {written})")
    return problem


def _document_order(doc: Mapping[str, Any], problems: list[Problem]) -> list[Problem]:
    """Sort problems by the position of their top-level section in the file (stable)."""
    order = {str(key): i for i, key in enumerate(doc)}

    def position(problem: Problem) -> int:
        head = re.match(r"[^.\[ ]*", problem.path)
        return order.get(head.group() if head else "", -1)

    return sorted(problems, key=position)


# -- public API -------------------------------------------------------------------------------


def load_scenario(
    source: str | os.PathLike[str] | Mapping[str, Any],
    *,
    overrides: Sequence[str] | Mapping[str, Any] = (),
    base_dir: str | os.PathLike[str] | None = None,
) -> Scenario:
    """Load and validate a scenario.

    Args:
        source: Path of a YAML file, or a dict of the same shape.
        overrides: ``["services[web].desiredCount=9", ...]`` (each value parsed as YAML) or
            ``{"services[web].desiredCount": 9}``, applied in order before validation.
        base_dir: Folder that relative file references (task definition files, empirical
            distributions) are resolved against. Default: the file's folder for a path, the
            working directory for a dict.

    Returns:
        The validated scenario.

    Raises:
        ScenarioError: Listing every problem found, each with its path.

    Example:
        >>> sc = load_scenario({"version": 1, "duration": "1h"}, overrides=["seed=7"])
        >>> (sc.name, sc.seed, sc.duration_s)
        ('scenario', 7, 3600.0)
    """
    if isinstance(source, Mapping):
        doc: dict[str, Any] = copy.deepcopy(dict(source))
        folder, default_name, label = Path.cwd(), "scenario", None
    else:
        path = Path(source)
        label = os.fspath(source)
        doc = dict(_read_document(path, label))
        folder, default_name = path.parent, path.stem
    if base_dir is not None:
        folder = Path(base_dir)
    problems: list[Problem] = []
    doc, notes = _apply_overrides(doc, overrides, problems)
    validator = _Validator(base_dir=folder, default_name=default_name, source=label)
    scenario = validator.run(doc)
    problems.extend(_annotate(p, notes) for p in _document_order(doc, validator.problems))
    if problems or scenario is None:
        raise ScenarioError(problems or [Problem("", "invalid scenario")])
    return scenario


def validate_file(path: str | os.PathLike[str]) -> list[Problem]:
    """Return every problem of a scenario file (empty when it is valid), for ``ecssim validate``."""
    try:
        load_scenario(path)
    except ScenarioError as err:
        return list(err.problems)
    return []


# -- the validator ----------------------------------------------------------------------------


class _Validator:
    """Walks a document once, collecting problems and building the scenario's parts."""

    def __init__(self, *, base_dir: Path, default_name: str, source: str | None) -> None:
        self.problems: list[Problem] = []
        self.base_dir = base_dir
        self.default_name = default_name
        self.source = source
        # Declared names, and whether the lists are complete (an entry that failed to parse may
        # have declared a name we cannot see; then references are not checked against it).
        self.clusters: dict[str, str] = {}
        self.clusters_complete = True
        self.revisions: dict[str, int] = {}
        self.families_without_health_check: set[str] = set()
        self.families_complete = True
        self.zones: dict[str, set[str]] = {}
        self.services: dict[tuple[str, str], str] = {}
        self.services_complete = True
        self.created_services: set[tuple[str, str]] = set()

    # -- reporting and basic types ------------------------------------------------------------

    def add(self, path: str, message: str) -> None:
        self.problems.append(Problem(path, message))

    def mapping(self, value: object, path: str) -> Mapping[Any, Any] | None:
        if isinstance(value, Mapping):
            return value
        self.add(path, f"expected a mapping, got {_show(value)}")
        return None

    def items(self, value: object, path: str) -> list[Any]:
        """A list section or field; absent or null is empty."""
        if value is None:
            return []
        if isinstance(value, list):
            return value
        self.add(path, f"expected a list, got {_show(value)}")
        return []

    def keys(
        self,
        obj: Mapping[Any, Any],
        path: str,
        allowed: Sequence[str],
        required: Iterable[str] = (),
        *,
        shape: str | None = None,
    ) -> None:
        """Report unknown keys (with a suggestion) and missing required ones.

        A required key that an unknown key looks like a misspelling of is not reported again.
        """
        suggested = set()
        for key in obj:
            if key in allowed:
                continue
            hint = _suggest(key, allowed)
            suggested.add(hint)
            if hint:
                message = f"unknown key; did you mean {hint}?"
            elif shape:
                message = f"unknown key (not in botocore's ECS {shape})"
            else:
                message = f"unknown key (expected one of: {', '.join(allowed)})"
            self.add(join_key(path, key), message)
        for key in dict.fromkeys(required):
            if obj.get(key) is None and key not in suggested:
                self.add(join_key(path, key), "missing required key")

    def string(self, value: object, path: str) -> str | None:
        if isinstance(value, str):
            return value
        self.add(path, f"expected a string, got {_show(value)}")
        return None

    def name(self, value: object, path: str) -> str | None:
        """An ECS cluster or service name."""
        text = self.string(value, path)
        if text is not None and not _ECS_NAME.match(text):
            self.add(
                path,
                f"expected up to 255 letters, numbers, hyphens and underscores, got {_show(text)}",
            )
            return None
        return text

    def integer(
        self, value: object, path: str, minimum: int = 0, maximum: int | None = None
    ) -> int | None:
        if _is_int(value) and value >= minimum and (maximum is None or value <= maximum):  # type: ignore[operator]
            if value <= MAX_INTEGER:  # type: ignore[operator]
                return int(value)  # type: ignore[call-overload]
            self.add(
                path,
                f"expected an integer <= {MAX_INTEGER} (ECS integers are 32-bit), "
                f"got {_show(value)}",
            )
            return None
        wanted = f">= {minimum}" if maximum is None else f"from {minimum} to {maximum}"
        self.add(path, f"expected an integer {wanted}, got {_show(value)}")
        return None

    def boolean(self, value: object, path: str) -> bool | None:
        if isinstance(value, bool):
            return value
        self.add(path, f"expected true or false, got {_show(value)}")
        return None

    def duration(self, value: object, path: str, *, positive: bool = False) -> float | None:
        try:
            seconds = parse_duration(value)
        except ValueError:
            if _is_number(value) and not math.isfinite(float(value)):  # type: ignore[arg-type]
                self.add(path, f"expected a finite duration, got {_show(value)}")
            elif _is_number(value) or (
                isinstance(value, str) and value.strip().startswith("-") and len(value) > 1
            ):
                self.add(path, f"expected a duration >= 0, got {_show(value)}")
            else:
                self.add(path, f"expected a duration such as 90s, 5m, 2h or 7d, got {_show(value)}")
            return None
        if positive and seconds <= 0:
            self.add(path, f"expected a duration > 0, got {_show(value)}")
            return None
        return seconds

    def distribution(
        self, value: object, path: str, *, allow_forever: bool = False, mtbf: bool = False
    ) -> Distribution | None:
        try:
            if mtbf:
                return parse_mtbf(value, base_dir=self.base_dir)
            return parse_distribution(value, allow_forever=allow_forever, base_dir=self.base_dir)
        except ValueError as err:
            self.add(path, str(err))
            return None

    # -- botocore shapes ----------------------------------------------------------------------

    def shape(
        self,
        obj: Mapping[Any, Any],
        path: str,
        shape_name: str,
        *,
        required: Iterable[str] = (),
        custom: Iterable[str] = (),
    ) -> None:
        """Check ``obj`` against a botocore shape: keys, required keys, member types.

        Members named in ``custom`` are left to the caller, who checks them more closely.
        """
        shape = SHAPES[shape_name]
        self.keys(obj, path, list(shape.members), (*shape.required, *required), shape=shape_name)
        skip = set(custom)
        for key, value in obj.items():
            if key in skip or value is None or key not in shape.members:
                continue
            self.member(value, join_key(path, key), shape.members[key])

    def member(self, value: object, path: str, member: Member) -> None:
        if member.type != "list":
            self.typed(value, path, member.type, member.shape, member.enum)
        elif not isinstance(value, list):
            self.add(path, f"expected a list, got {_show(value)}")
        else:
            for index, item in enumerate(value):
                self.typed(item, f"{path}[{index}]", member.item or "", member.shape, member.enum)

    def typed(
        self, value: object, path: str, type_name: str, shape: str | None, enum: tuple[str, ...]
    ) -> None:
        if type_name == "string":
            if not isinstance(value, str):
                self.add(path, f"expected a string, got {_show(value)}")
            elif enum and value not in enum:
                self.add(path, f"expected one of {', '.join(enum)}, got {_show(value)}")
        elif type_name in ("integer", "long"):
            if not _is_int(value):
                self.add(path, f"expected an integer, got {_show(value)}")
        elif type_name == "boolean":
            if not isinstance(value, bool):
                self.add(path, f"expected true or false, got {_show(value)}")
        elif type_name in ("double", "float"):
            if not _is_number(value):
                self.add(path, f"expected a number, got {_show(value)}")
        elif type_name in ("structure", "map"):
            obj = self.mapping(value, path)
            if obj is not None and shape is not None:
                self.shape(obj, path, shape)

    @staticmethod
    def ecs_kwargs(obj: Mapping[Any, Any]) -> dict[str, Any]:
        """An ECS request as the control plane takes it: nulls (from pasted JSON) dropped."""
        return {str(k): copy.deepcopy(v) for k, v in obj.items() if v is not None}

    # -- references ---------------------------------------------------------------------------

    def cluster_ref(self, value: object, path: str) -> str | None:
        name = self.string(value, path)
        if name is None or not self.clusters_complete or name in self.clusters:
            return name
        declared = f"declared: {', '.join(self.clusters)}" if self.clusters else "none declared"
        self.add(path, f"no cluster named {name!r} ({declared})")
        return None

    def task_definition_ref(self, value: object, path: str) -> str | None:
        reference = self.string(value, path)
        if reference is None:
            return None
        split = _family_of(reference)
        if split is None:
            self.add(
                path,
                f"expected family, family:revision or a task definition ARN, got {_show(value)}",
            )
            return None
        family, revision = split
        if not self.families_complete:
            return reference
        if family not in self.revisions:
            self.add(path, f"no task definition with family {family!r} ({self.declared()})")
            return None
        count = self.revisions[family]
        if revision is not None and revision > count:
            have = "revision 1" if count == 1 else f"revisions 1-{count}"
            self.add(path, f"no revision {revision} of family {family!r} (declared: {have})")
            return None
        return reference

    def declared(self) -> str:
        return f"declared: {', '.join(self.revisions)}" if self.revisions else "none declared"

    def service_ref(self, cluster: str | None, value: object, path: str) -> None:
        name = self.string(value, path)
        if name is None or cluster is None or name.startswith("arn:"):
            return
        if not self.services_complete:
            return
        if (cluster, name) in self.services or (cluster, name) in self.created_services:
            return
        known = [s for c, s in {*self.services, *self.created_services} if c == cluster]
        declared = f"declared: {', '.join(known)}" if known else "none declared"
        self.add(path, f"no service {name!r} in cluster {cluster!r} ({declared})")

    # -- the document -------------------------------------------------------------------------

    def run(self, doc: Mapping[Any, Any]) -> Scenario | None:
        self.keys(doc, "", TOP_KEYS, ("version", "duration"))
        version = doc.get("version")
        if version is not None and (not _is_int(version) or version != SUPPORTED_VERSION):
            self.add(
                "version",
                f"unsupported version {_show(version)}; this ecssim reads version "
                f"{SUPPORTED_VERSION}",
            )
        name = self.string(doc.get("name", self.default_name), "name")
        if name is not None and not name.strip():
            self.add("name", "expected a non-empty string")
        description = self.string(doc.get("description", ""), "description")
        seed = self.integer(doc.get("seed", 0), "seed")
        duration_s = None
        if doc.get("duration") is not None:
            duration_s = self.duration(doc["duration"], "duration", positive=True)
        explain = self.boolean(doc.get("explain", False), "explain")

        clusters = self.clusters_section(doc.get("clusters"))
        instances = self.instances_section(doc.get("instances"))
        task_definitions = self.task_definitions_section(doc.get("task_definitions"))
        self.prescan_actions(doc.get("actions"))
        services = self.services_section(doc.get("services"))
        behavior = self.task_behavior_section(doc.get("task_behavior"))
        workloads = self.workloads_section(doc.get("workloads"), duration_s)
        faults = self.faults_section(doc.get("faults"))
        actions = self.actions_section(doc.get("actions"))
        parameters = self.parameters_section(doc.get("parameters"))

        if self.problems:
            return None
        assert name is not None and description is not None and seed is not None
        assert duration_s is not None and explain is not None and parameters is not None
        return Scenario(
            name=name,
            description=description,
            seed=seed,
            duration_s=duration_s,
            explain=explain,
            clusters=clusters,
            instances=instances,
            task_definitions=task_definitions,
            services=services,
            task_behavior=behavior,
            workloads=workloads,
            faults=faults,
            actions=actions,
            parameters=parameters,
            source=self.source,
            document=_jsonable(doc),
        )

    # -- clusters -----------------------------------------------------------------------------

    def clusters_section(self, value: object) -> tuple[dict[str, Any], ...]:
        out = []
        self.clusters_complete = value is None or isinstance(value, list)
        for index, item in enumerate(self.items(value, "clusters")):
            path = f"clusters[{index}]"
            obj = self.mapping(item, path)
            if obj is None:
                self.clusters_complete = False
                continue
            self.shape(
                obj, path, "CreateClusterRequest", required=["clusterName"], custom=["clusterName"]
            )
            raw = obj.get("clusterName")
            name = self.name(raw, f"{path}.clusterName") if raw is not None else None
            if name is None:
                self.clusters_complete = False
                continue
            if name in self.clusters:
                self.add(
                    f"{path}.clusterName",
                    f"duplicate cluster {name!r} (also {self.clusters[name]})",
                )
                continue
            self.clusters[name] = path
            out.append(self.ecs_kwargs(obj))
        return tuple(out)

    # -- instances ----------------------------------------------------------------------------

    def instances_section(self, value: object) -> tuple[InstanceGroup, ...]:
        out = []
        for index, item in enumerate(self.items(value, "instances")):
            path = f"instances[{index}]"
            obj = self.mapping(item, path)
            if obj is None:
                continue
            group = self.instance_group(obj, path)
            if group is not None:
                out.append(group)
        return tuple(out)

    def instance_group(self, obj: Mapping[Any, Any], path: str) -> InstanceGroup | None:
        before = len(self.problems)
        self.keys(obj, path, INSTANCE_KEYS, ("cluster", "instance_type"))
        cluster = None
        if obj.get("cluster") is not None:
            cluster = self.cluster_ref(obj["cluster"], f"{path}.cluster")
        instance_type = None
        itype = None
        if obj.get("instance_type") is not None:
            instance_type = self.string(obj["instance_type"], f"{path}.instance_type")
            if instance_type is not None:
                try:
                    itype = get_instance_type(instance_type)
                except KeyError as err:
                    self.add(f"{path}.instance_type", str(err.args[0]) if err.args else str(err))
        count = self.integer(obj.get("count", 1), f"{path}.count")
        if count is not None and count > MAX_INSTANCES_PER_GROUP:
            self.add(
                f"{path}.count",
                f"expected at most {MAX_INSTANCES_PER_GROUP} instances in a group, got {count}",
            )
            count = None
        zones = self.zone_list(obj.get("zones", list(DEFAULT_ZONES)), f"{path}.zones")
        if cluster is not None and zones is not None:
            self.zones.setdefault(cluster, set()).update(zones)
        attributes = self.attributes(obj.get("attributes", {}), f"{path}.attributes")
        # Placement ranks resources below NO_FIT (512 TiB; the largest instance has 24 TiB).
        largest = NO_FIT - 1
        cpu = self.integer(obj["cpu"], f"{path}.cpu", 1, largest) if "cpu" in obj else None
        memory = (
            self.integer(obj["memory"], f"{path}.memory", 1, largest) if "memory" in obj else None
        )
        market = obj.get("market", "on-demand")
        if market not in MARKETS:
            self.add(f"{path}.market", f"expected on-demand or spot, got {_show(market)}")
        at_s = self.duration(obj.get("at", 0), f"{path}.at")
        spot_mtbf, spot_replace = None, None
        if obj.get("spot") is not None:
            spot_mtbf, spot_replace = self.spot(obj["spot"], f"{path}.spot", market)
        trunking = self.boolean(obj.get("awsvpc_trunking", False), f"{path}.awsvpc_trunking")
        if trunking and itype is not None and itype.trunk_enis is None:
            # DG container-instance-eni lists the types ECS trunks; the catalogue mirrors it.
            families = sorted({t.family for t in CATALOGUE.values() if t.trunk_enis is not None})
            self.add(
                f"{path}.awsvpc_trunking",
                f"{itype.name} does not support ENI trunking; families that do: "
                + ", ".join(families),
            )
        if len(self.problems) > before:
            return None
        assert cluster is not None and instance_type is not None and count is not None
        assert zones is not None and attributes is not None and at_s is not None
        return InstanceGroup(
            cluster=cluster,
            instance_type=instance_type,
            count=count,
            zones=zones,
            attributes=attributes,
            cpu=cpu,
            memory_mib=memory,
            market=str(market),
            at_s=at_s,
            spot_mtbf=spot_mtbf,
            spot_replace_after_s=spot_replace,
            awsvpc_trunking=bool(trunking),
        )

    def spot(
        self, value: object, path: str, market: object
    ) -> tuple[Distribution | None, float | None]:
        """``spot: {mtbf | rate, replace_after}`` of a Spot instance group."""
        obj = self.mapping(value, path)
        if obj is None:
            return None, None
        self.keys(obj, path, SPOT_KEYS)
        if market != "spot":
            self.add(path, "spot interruptions need market: spot")
        has_mtbf, has_rate = obj.get("mtbf") is not None, obj.get("rate") is not None
        if has_mtbf == has_rate:
            self.add(path, "expected exactly one of mtbf (a distribution) and rate (such as 1/d)")
            return None, None
        mtbf: Distribution | None = None
        if has_mtbf:
            mtbf = self.distribution(obj["mtbf"], f"{path}.mtbf", mtbf=True)
        else:
            try:
                rate = parse_rate(obj["rate"])
            except ValueError as err:
                self.add(f"{path}.rate", str(err))
                return None, None
            if rate <= 0:
                self.add(f"{path}.rate", f"expected a rate > 0, got {_show(obj['rate'])}")
                return None, None
            mtbf = Exponential(1.0 / rate)
        replace = None
        if obj.get("replace_after") is not None:
            replace = self.duration(obj["replace_after"], f"{path}.replace_after")
        return mtbf, replace

    def zone_list(self, value: object, path: str) -> tuple[str, ...] | None:
        if not isinstance(value, list) or not value:
            self.add(path, f"expected a non-empty list of zones, got {_show(value)}")
            return None
        zones = []
        for index, zone in enumerate(value):
            text = self.string(zone, f"{path}[{index}]")
            if text is not None and not text.strip():
                self.add(f"{path}[{index}]", "expected a zone name, got an empty string")
            elif text is not None:
                zones.append(text)
        return tuple(zones) if len(zones) == len(value) else None

    def attributes(self, value: object, path: str) -> dict[str, str] | None:
        obj = self.mapping(value if value is not None else {}, path)
        if obj is None:
            return None
        out: dict[str, str] = {}
        ok = True
        for key, raw in obj.items():
            name = _scalar_text(key)
            where = join_key(path, name if name is not None else key)
            text = _scalar_text(raw)
            if name is None or not _ATTRIBUTE_NAME.match(name):
                self.add(
                    where,
                    f"invalid attribute name {_show(name if name is not None else key)}: "
                    "use 1-128 letters, digits and - _ / \\ .",
                )
                ok = False
            elif name.startswith("ecs."):
                self.add(where, "attribute names starting with 'ecs.' are reserved for ECS")
                ok = False
            if text is None:
                self.add(where, f"expected a string value, got {_show(raw)}")
                ok = False
            elif not _valid_attribute_value(text):
                self.add(
                    where,
                    f"invalid attribute value {_show(text)}: use 1-128 letters, digits, spaces "
                    "and - _ . @ / \\ : (no leading or trailing space)",
                )
                ok = False
            if ok and name is not None and text is not None:
                out[name] = text
        return out if ok else None

    # -- task definitions ---------------------------------------------------------------------

    def task_definitions_section(self, value: object) -> tuple[TaskDefinition, ...]:
        out = []
        self.families_complete = value is None or isinstance(value, list)
        for index, item in enumerate(self.items(value, "task_definitions")):
            path = f"task_definitions[{index}]"
            obj = self.mapping(item, path)
            if obj is None:
                self.families_complete = False
                continue
            if "file" in obj:
                parsed, family = self.task_definition_file(obj, path)
                # A file we could not read may declare any family.
                unknown = family is None
            else:
                parsed, family = self.task_definition_inline(obj, path)
                unknown = family is None and "family" in unwrap_task_definition(obj)
            if family is None:
                self.families_complete = self.families_complete and not unknown
                continue
            revision = self.revisions.get(family, 0) + 1
            self.revisions[family] = revision
            if parsed is not None:
                # Revisions count from 1 per family in order of appearance, whatever a pasted
                # describe output says.
                out.append(dataclasses.replace(parsed, revision=revision))
        checked = {d.family for d in out if d.health_checked}
        self.families_without_health_check = {d.family for d in out if d.family not in checked}
        return tuple(out)

    def task_definition_inline(
        self, obj: Mapping[Any, Any], path: str
    ) -> tuple[TaskDefinition | None, str | None]:
        family = unwrap_task_definition(obj).get("family")
        family = family if isinstance(family, str) and family else None
        try:
            parsed = parse_task_definition(obj, path=path)
        except InputError as err:
            for problem in err.problems:
                self.add(problem.path or path, problem.message)
            return None, family
        return parsed, parsed.family

    def task_definition_file(
        self, obj: Mapping[Any, Any], path: str
    ) -> tuple[TaskDefinition | None, str | None]:
        for key in obj:
            if key != "file":
                self.add(
                    join_key(path, key),
                    "unknown key; an entry with file takes no other key (put the task "
                    "definition in the file, or inline it without file)",
                )
        file = obj["file"]
        if not isinstance(file, str) or not file.strip():
            self.add(f"{path}.file", f"expected the path of a JSON file, got {_show(file)}")
            return None, None
        file_path = Path(file)
        if not file_path.is_absolute():
            file_path = self.base_dir / file_path
        label = f"{path} ({file})"
        if file_path.is_dir():
            self.add(f"{path}.file", f"{file} is a directory, not a JSON file")
            return None, None
        if not file_path.is_file():
            self.add(f"{path}.file", f"no such file: {file} (looked in {file_path.parent})")
            return None, None
        try:
            parsed = load_task_definition_file(file_path)
        except InputError as err:
            for problem in err.problems:
                # The file's own problems are located at the file path; locate them at the entry.
                where = problem.path.removeprefix(str(file_path)).lstrip(": ")
                self.add(f"{label}: {where}" if where else label, problem.message)
            return None, _peek_family(file_path)
        return parsed, parsed.family

    def prescan_actions(self, value: object) -> None:
        """Count the revisions that scripted ``register_task_definition`` calls will add."""
        if not isinstance(value, list):
            return
        for item in value:
            if isinstance(item, Mapping) and isinstance(
                item.get("register_task_definition"), Mapping
            ):
                family = item["register_task_definition"].get("family")
                if isinstance(family, str):
                    self.revisions[family] = self.revisions.get(family, 0) + 1
                    self.families_without_health_check.discard(family)

    # -- services -----------------------------------------------------------------------------

    def services_section(self, value: object) -> tuple[dict[str, Any], ...]:
        out = []
        self.services_complete = value is None or isinstance(value, list)
        for index, item in enumerate(self.items(value, "services")):
            path = f"services[{index}]"
            obj = self.mapping(item, path)
            if obj is None:
                self.services_complete = False
                continue
            service = self.service(obj, path)
            if service is not None:
                out.append(service)
        return tuple(out)

    def service(self, obj: Mapping[Any, Any], path: str) -> dict[str, Any] | None:
        """A CreateService request (a ``services`` item or a ``create_service`` action)."""
        before = len(self.problems)
        self.shape(
            obj,
            path,
            "CreateServiceRequest",
            required=["taskDefinition"]
            + ([] if obj.get("schedulingStrategy") == "DAEMON" else ["desiredCount"]),
            custom=[
                "cluster",
                "serviceName",
                "taskDefinition",
                "desiredCount",
                "launchType",
                "schedulingStrategy",
                "placementStrategy",
                "placementConstraints",
                "deploymentConfiguration",
            ],
        )
        cluster = self.cluster_ref(obj.get("cluster") or DEFAULT_CLUSTER, f"{path}.cluster")
        name = None
        if obj.get("serviceName") is not None:
            name = self.name(obj["serviceName"], f"{path}.serviceName")
        if name is None or cluster is None:
            # We cannot tell which service this entry meant to declare.
            self.services_complete = False
        elif (cluster, name) in self.services:
            self.add(
                f"{path}.serviceName",
                f"duplicate service {name!r} in cluster {cluster!r} "
                f"(also {self.services[(cluster, name)]})",
            )
        else:
            self.services[(cluster, name)] = path
        if obj.get("taskDefinition") is not None:
            self.task_definition_ref(obj["taskDefinition"], f"{path}.taskDefinition")
        if obj.get("desiredCount") is not None:
            self.integer(obj["desiredCount"], f"{path}.desiredCount")
        self.launch_type(obj.get("launchType"), f"{path}.launchType")
        if obj.get("capacityProviderStrategy"):
            # Accepting it silently would place tasks where the user did not ask for them.
            self.add(
                f"{path}.capacityProviderStrategy",
                "capacity providers are not simulated yet (EC2 launch type only)",
            )
        controller = obj.get("deploymentController")
        if isinstance(controller, Mapping) and controller.get("type") not in (None, "ECS"):
            self.add(
                f"{path}.deploymentController.type",
                f"deploymentController {controller.get('type')} is not simulated yet (ECS "
                "rolling updates only)",
            )
        strategy = obj.get("schedulingStrategy")
        if strategy == "DAEMON":
            if obj.get("desiredCount") is not None:
                self.add(
                    f"{path}.desiredCount",
                    "a DAEMON service runs one task per instance and takes no desiredCount",
                )
            if obj.get("placementStrategy"):
                self.add(
                    f"{path}.placementStrategy",
                    "a DAEMON service takes no placementStrategy (only placementConstraints)",
                )
        elif strategy is not None and strategy != "REPLICA":
            self.add(
                f"{path}.schedulingStrategy",
                f"expected REPLICA or DAEMON, got {_show(strategy)}",
            )
        self.placement(obj, path)
        if obj.get("deploymentConfiguration") is not None:
            self.deployment_configuration(
                obj["deploymentConfiguration"], f"{path}.deploymentConfiguration"
            )
        if len(self.problems) > before:
            return None
        kwargs = self.ecs_kwargs(obj)
        kwargs["cluster"] = cluster
        return kwargs

    def launch_type(self, value: object, path: str) -> None:
        if value is None or value == "EC2":
            return
        known = SHAPES["CreateServiceRequest"].members["launchType"].enum
        if isinstance(value, str) and value in known:
            self.add(path, f"launchType {value} is not simulated yet (EC2 only)")
        else:
            self.add(path, f"expected one of {', '.join(known)}, got {_show(value)}")

    def deployment_configuration(self, value: object, path: str) -> None:
        obj = self.mapping(value, path)
        if obj is None:
            return
        percents = ["maximumPercent", "minimumHealthyPercent"]
        self.shape(
            obj, path, "DeploymentConfiguration", custom=[*percents, "deploymentCircuitBreaker"]
        )
        for key in percents:
            if obj.get(key) is not None:
                self.integer(obj[key], f"{path}.{key}")
        if obj.get("deploymentCircuitBreaker") is not None:
            where = f"{path}.deploymentCircuitBreaker"
            breaker = self.mapping(obj["deploymentCircuitBreaker"], where)
            if breaker is not None:
                # BC DeploymentCircuitBreaker: both members are required booleans.
                self.keys(breaker, where, ("enable", "rollback"), ("enable", "rollback"))
                for key in ("enable", "rollback"):
                    if breaker.get(key) is not None:
                        self.boolean(breaker[key], f"{where}.{key}")

    def placement(
        self, obj: Mapping[Any, Any], path: str
    ) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
        """Check ``placementStrategy`` and ``placementConstraints``; return them as tuples."""
        strategies = self.items(obj.get("placementStrategy"), f"{path}.placementStrategy")
        if len(strategies) > MAX_STRATEGIES:
            self.add(
                f"{path}.placementStrategy",
                f"at most {MAX_STRATEGIES} placement strategies, got {len(strategies)}",
            )
        for index, item in enumerate(strategies):
            self.strategy_item(item, f"{path}.placementStrategy[{index}]")
        constraints = self.items(obj.get("placementConstraints"), f"{path}.placementConstraints")
        if len(constraints) > MAX_CONSTRAINTS:
            self.add(
                f"{path}.placementConstraints",
                f"at most {MAX_CONSTRAINTS} placement constraints, got {len(constraints)}",
            )
        for index, item in enumerate(constraints):
            self.constraint_item(item, f"{path}.placementConstraints[{index}]")
        return tuple(copy.deepcopy(strategies)), tuple(copy.deepcopy(constraints))

    def strategy_item(self, item: object, path: str) -> None:
        obj = self.mapping(item, path)
        if obj is None:
            return
        self.shape(obj, path, "PlacementStrategy", required=["type"], custom=["type", "field"])
        type_ = obj.get("type")
        field = obj.get("field")
        if type_ is None:
            return
        if self.string(type_, f"{path}.type") is None:
            return
        if field is not None and self.string(field, f"{path}.field") is None:
            return
        try:
            validate_strategy(type_, field)
        except ValueError as err:
            self.add(path, str(err))

    def constraint_item(self, item: object, path: str) -> None:
        obj = self.mapping(item, path)
        if obj is None:
            return
        self.shape(
            obj, path, "PlacementConstraint", required=["type"], custom=["type", "expression"]
        )
        type_ = obj.get("type")
        expression = obj.get("expression")
        if type_ == "distinctInstance":
            if expression is not None:
                self.add(f"{path}.expression", "distinctInstance takes no expression")
        elif type_ == "memberOf":
            if expression is None:
                self.add(f"{path}.expression", "missing required key (memberOf needs one)")
            elif self.string(expression, f"{path}.expression") is not None:
                if len(expression) > MAX_EXPRESSION_LENGTH:
                    self.add(
                        f"{path}.expression",
                        f"at most {MAX_EXPRESSION_LENGTH} characters, got {len(expression)}",
                    )
                else:
                    try:
                        parse_expression(expression)
                    except ValueError as err:
                        self.add(f"{path}.expression", str(err))
        elif type_ is not None:
            self.add(f"{path}.type", f"expected distinctInstance or memberOf, got {_show(type_)}")

    # -- task behaviour -----------------------------------------------------------------------

    def task_behavior_section(self, value: object) -> dict[str, TaskBehavior]:
        if value is None:
            return {}
        obj = self.mapping(value, "task_behavior")
        if obj is None:
            return {}
        out = {}
        for family, spec in obj.items():
            path = join_key("task_behavior", family)
            if not isinstance(family, str):
                self.add(path, f"expected a task definition family, got {_show(family)}")
                continue
            name, _, revision = family.partition(":")
            if self.families_complete and name not in self.revisions:
                self.add(path, f"no task definition with family {name!r} ({self.declared()})")
            elif revision and (
                not revision.isdigit() or not 1 <= int(revision) <= self.revisions.get(name, 0)
            ):
                self.add(
                    path,
                    f"no revision {revision} of family {name!r} "
                    f"(declared: revision 1 to {self.revisions.get(name, 0)})",
                )
                continue
            if revision and isinstance(spec, Mapping):
                for key in ("cpu_usage", "memory_usage"):
                    if key in spec:
                        self.add(
                            f"{path}.{key}",
                            "usage is modelled per family: give it under the family name",
                        )
            behavior = self.behavior(spec, path, name)
            if behavior is not None:
                out[family] = behavior
        return out

    def behavior(self, value: object, path: str, family: str | None = None) -> TaskBehavior | None:
        obj = self.mapping(value if value is not None else {}, path)
        if obj is None:
            return None
        self.keys(obj, path, TASK_BEHAVIOR_KEYS)
        runtime = self.distribution(
            obj.get("runtime", "forever"), f"{path}.runtime", allow_forever=True
        )
        crash_mtbf = None
        if obj.get("crash") is not None:
            crash = self.mapping(obj["crash"], f"{path}.crash")
            if crash is None:
                return None
            self.keys(crash, f"{path}.crash", CRASH_KEYS, CRASH_KEYS)
            if crash.get("mtbf") is None:
                return None
            crash_mtbf = self.distribution(crash["mtbf"], f"{path}.crash.mtbf", mtbf=True)
            if crash_mtbf is None:
                return None
        usage: dict[str, UsageModel | None] = {}
        for key in ("cpu_usage", "memory_usage"):
            usage[key] = None
            if obj.get(key) is not None:
                try:
                    usage[key] = parse_usage(obj[key])
                except ValueError as err:
                    self.add(f"{path}.{key}", str(err))
                    return None
        chances: dict[str, float] = {}
        for key in ("pull_failure", "start_failure"):
            chances[key] = 0.0
            raw = obj.get(key)
            if raw is None:
                continue
            if not _is_number(raw) or isinstance(raw, bool) or not 0 <= raw <= 1:
                self.add(f"{path}.{key}", f"expected a probability from 0 to 1, got {_show(raw)}")
                return None
            chances[key] = float(raw)
        unhealthy_after = None
        if obj.get("unhealthy_after") is not None:
            unhealthy_after = self.distribution(obj["unhealthy_after"], f"{path}.unhealthy_after")
            if unhealthy_after is None:
                return None
            if family in self.families_without_health_check:
                self.add(
                    f"{path}.unhealthy_after",
                    f"no task definition of family {family!r} has a health check on an "
                    "essential container, so its tasks cannot turn UNHEALTHY",
                )
                return None
        if runtime is None:
            return None
        return TaskBehavior(
            runtime=runtime,
            crash_mtbf=crash_mtbf,
            cpu_usage=usage["cpu_usage"],
            memory_usage=usage["memory_usage"],
            pull_failure=chances["pull_failure"],
            start_failure=chances["start_failure"],
            unhealthy_after=unhealthy_after,
        )

    # -- workloads ----------------------------------------------------------------------------

    def workloads_section(self, value: object, duration_s: float | None) -> tuple[Workload, ...]:
        out = []
        for index, item in enumerate(self.items(value, "workloads")):
            path = f"workloads[{index}]"
            obj = self.mapping(item, path)
            if obj is None:
                continue
            workload = self.workload(obj, path, index, duration_s)
            if workload is not None:
                out.append(workload)
        return tuple(out)

    def workload(
        self, obj: Mapping[Any, Any], path: str, index: int, duration_s: float | None
    ) -> Workload | None:
        before = len(self.problems)
        self.keys(obj, path, WORKLOAD_KEYS, ("taskDefinition", "arrivals"))
        cluster = self.cluster_ref(obj.get("cluster", DEFAULT_CLUSTER), f"{path}.cluster")
        task_definition = None
        if obj.get("taskDefinition") is not None:
            task_definition = self.task_definition_ref(
                obj["taskDefinition"], f"{path}.taskDefinition"
            )
        arrivals = (
            self.arrivals(obj["arrivals"], f"{path}.arrivals")
            if obj.get("arrivals") is not None
            else None
        )
        count = self.integer(obj.get("count", 1), f"{path}.count", 1, MAX_RUN_TASK_COUNT)
        group = self.string(obj["group"], f"{path}.group") if obj.get("group") is not None else None
        strategies, constraints = self.placement(obj, path)
        start_s = self.duration(obj.get("start", 0), f"{path}.start")
        if "stop" in obj:
            stop_s = self.duration(obj["stop"], f"{path}.stop")
        else:
            stop_s = duration_s if duration_s is not None else float("inf")
        if start_s is not None and stop_s is not None and stop_s < start_s:
            if "stop" in obj:
                stop, start = format_duration(stop_s), format_duration(start_s)
                self.add(f"{path}.stop", f"stop ({stop}) is before start ({start})")
            else:
                self.add(
                    f"{path}.start",
                    f"start ({format_duration(start_s)}) is after the scenario's duration "
                    f"({format_duration(stop_s)}), where the workload stops",
                )
        if len(self.problems) > before:
            return None
        assert cluster is not None and task_definition is not None and arrivals is not None
        assert count is not None and start_s is not None and stop_s is not None
        return Workload(
            index=index,
            cluster=cluster,
            task_definition=task_definition,
            arrivals=arrivals,
            count=count,
            group=group,
            placement_strategy=strategies,
            placement_constraints=constraints,
            start_s=start_s,
            stop_s=stop_s,
        )

    def arrivals(self, value: object, path: str) -> Arrivals | None:
        obj = self.mapping(value, path)
        if obj is None:
            return None
        if len(obj) != 1:
            self.add(
                path,
                "expected one of {poisson: {rate: 30/h}}, {interval: 2m} or {times: [10m, 1h]}",
            )
            return None
        ((kind, spec),) = obj.items()
        where = join_key(path, kind)
        if kind == "poisson":
            params = self.mapping(spec, where)
            if params is None:
                return None
            self.keys(params, where, ("rate",), ("rate",))
            if params.get("rate") is None:
                return None
            try:
                rate = parse_rate(params["rate"])
            except ValueError:
                self.add(
                    f"{where}.rate",
                    f"expected a rate such as 30/h, 0.5/s or 720/d, got {_show(params['rate'])}",
                )
                return None
            return Arrivals("poisson", rate_per_s=rate) if len(params) == 1 else None
        if kind == "interval":
            interval = self.duration(spec, where, positive=True)
            return Arrivals("interval", interval_s=interval) if interval is not None else None
        if kind == "times":
            if not isinstance(spec, list) or not spec:
                self.add(where, f"expected a non-empty list of times, got {_show(spec)}")
                return None
            times = [self.duration(t, f"{where}[{i}]") for i, t in enumerate(spec)]
            if any(t is None for t in times):
                return None
            return Arrivals("times", times_s=tuple(sorted(t for t in times if t is not None)))
        hint = _suggest(kind, ARRIVAL_KINDS)
        extra = (
            f"; did you mean {hint}?" if hint else f" (expected one of: {', '.join(ARRIVAL_KINDS)})"
        )
        self.add(where, f"unknown arrival process{extra}")
        return None

    # -- faults -------------------------------------------------------------------------------

    def faults_section(self, value: object) -> tuple[Fault, ...]:
        out: list[Fault] = []
        for index, item in enumerate(self.items(value, "faults")):
            path = f"faults[{index}]"
            if not isinstance(item, Mapping) or len(item) != 1:
                self.add(
                    path,
                    "expected a mapping with one key, the fault kind, such as "
                    "{instance_failure: {cluster: prod, at: 2h}}",
                )
                continue
            ((kind, spec),) = item.items()
            where = join_key(path, kind)
            if kind in FAULT_KINDS:
                fault = getattr(self, kind)(spec, where, index)
                if fault is not None:
                    out.append(fault)
            elif kind in FUTURE_FAULT_KINDS:
                self.add(
                    where,
                    f"fault kind {kind} is not simulated yet (known: {', '.join(FAULT_KINDS)})",
                )
            else:
                hint = _suggest(kind, (*FAULT_KINDS, *FUTURE_FAULT_KINDS))
                extra = f"; did you mean {hint}?" if hint else f" (known: {', '.join(FAULT_KINDS)})"
                self.add(where, f"unknown fault kind{extra}")
        return tuple(out)

    def instance_fault(
        self, value: object, path: str, keys: Sequence[str]
    ) -> dict[str, Any] | None:
        """The fields the instance faults share: cluster, at | mtbf, zone, count, replace_after."""
        obj = self.mapping(value, path)
        if obj is None:
            return None
        before = len(self.problems)
        self.keys(obj, path, keys, ("cluster",))
        cluster = (
            self.cluster_ref(obj["cluster"], f"{path}.cluster")
            if obj.get("cluster") is not None
            else None
        )
        has_at, has_mtbf = obj.get("at") is not None, obj.get("mtbf") is not None
        if has_at == has_mtbf:
            self.add(path, "expected exactly one of at (a time) and mtbf (a distribution)")
        at_s = self.duration(obj["at"], f"{path}.at") if has_at else None
        mtbf = self.distribution(obj["mtbf"], f"{path}.mtbf", mtbf=True) if has_mtbf else None
        zone = None
        if obj.get("zone") is not None:
            zone = self.string(obj["zone"], f"{path}.zone")
            known = self.zones.get(cluster or "")
            if zone is not None and cluster is not None and known is not None and zone not in known:
                self.add(
                    f"{path}.zone",
                    f"no instances of cluster {cluster!r} in zone {zone!r} "
                    f"(zones: {', '.join(sorted(known))})",
                )
        count = 1
        if "count" in obj:
            if has_mtbf:
                self.add(
                    f"{path}.count",
                    "count is only allowed with at (mtbf applies to every instance)",
                )
            else:
                count = self.integer(obj["count"], f"{path}.count", 1) or 1
        out: dict[str, Any] = {"cluster": cluster, "at_s": at_s, "mtbf": mtbf, "zone": zone}
        out["count"] = count
        if "replace_after" in keys:
            out["replace_after_s"] = None
            if obj.get("replace_after") is not None:
                out["replace_after_s"] = self.duration(
                    obj["replace_after"], f"{path}.replace_after"
                )
        if "duration" in keys:
            out["duration"] = None
            if obj.get("duration") is None:
                self.add(f"{path}.duration", "missing required key")
            else:
                out["duration"] = self.distribution(obj["duration"], f"{path}.duration")
        if len(self.problems) > before or cluster is None:
            return None
        return out

    def instance_failure(self, value: object, path: str, index: int) -> InstanceFailure | None:
        fields = self.instance_fault(value, path, INSTANCE_FAILURE_KEYS)
        return None if fields is None else InstanceFailure(index=index, **fields)

    def instance_stop(self, value: object, path: str, index: int) -> InstanceStop | None:
        fields = self.instance_fault(value, path, INSTANCE_STOP_KEYS)
        return None if fields is None else InstanceStop(index=index, **fields)

    def agent_disconnect(self, value: object, path: str, index: int) -> AgentDisconnect | None:
        fields = self.instance_fault(value, path, AGENT_DISCONNECT_KEYS)
        return None if fields is None else AgentDisconnect(index=index, **fields)

    def spot_interruption(self, value: object, path: str, index: int) -> SpotInterruption | None:
        fields = self.instance_fault(value, path, SPOT_INTERRUPTION_KEYS)
        return None if fields is None else SpotInterruption(index=index, **fields)

    def az_outage(self, value: object, path: str, index: int) -> AzOutage | None:
        obj = self.mapping(value, path)
        if obj is None:
            return None
        before = len(self.problems)
        self.keys(obj, path, AZ_OUTAGE_KEYS, ("zone", "at", "duration"))
        cluster = None
        if obj.get("cluster") is not None:
            cluster = self.cluster_ref(obj["cluster"], f"{path}.cluster")
        zone = self.string(obj["zone"], f"{path}.zone") if obj.get("zone") is not None else None
        known = set().union(*self.zones.values()) if cluster is None and self.zones else None
        if cluster is not None:
            known = self.zones.get(cluster)
        if zone is not None and known is not None and zone not in known:
            self.add(
                f"{path}.zone", f"no instances in zone {zone!r} (zones: {', '.join(sorted(known))})"
            )
        at_s = self.duration(obj["at"], f"{path}.at") if obj.get("at") is not None else None
        duration_s = None
        if obj.get("duration") is not None:
            duration_s = self.duration(obj["duration"], f"{path}.duration", positive=True)
        if len(self.problems) > before or zone is None or at_s is None or duration_s is None:
            return None
        return AzOutage(index=index, zone=zone, at_s=at_s, duration_s=duration_s, cluster=cluster)

    # -- actions ------------------------------------------------------------------------------

    def actions_section(self, value: object) -> tuple[Action, ...]:
        items = self.items(value, "actions")
        # Services created by scripted calls may be referenced by any other call.
        for item in items:
            if isinstance(item, Mapping) and isinstance(item.get("create_service"), Mapping):
                spec = item["create_service"]
                cluster, name = spec.get("cluster") or DEFAULT_CLUSTER, spec.get("serviceName")
                if isinstance(cluster, str) and isinstance(name, str):
                    self.created_services.add((cluster, name))
        out = []
        for index, item in enumerate(items):
            path = f"actions[{index}]"
            obj = self.mapping(item, path)
            if obj is None:
                continue
            action = self.action(obj, path, index)
            if action is not None:
                out.append(action)
        return tuple(out)

    def action(self, obj: Mapping[Any, Any], path: str, index: int) -> Action | None:
        before = len(self.problems)
        if obj.get("at") is None:
            self.add(f"{path}.at", "missing required key")
            at_s = None
        else:
            at_s = self.duration(obj["at"], f"{path}.at")
        calls = [key for key in obj if key != "at"]
        if not calls:
            self.add(path, f"missing the call, one of: {', '.join(ACTION_CALLS)}")
            return None
        if len(calls) > 1:
            known = [c for c in calls if c in ACTION_CALLS]
            if len(known) > 1:
                self.add(path, f"one call per action, got {', '.join(map(str, known))}")
        call = next((c for c in calls if c in ACTION_CALLS), None)
        for key in calls:
            if key == call:
                continue
            hint = _suggest(key, ACTION_CALLS)
            extra = (
                f"; did you mean {hint}?" if hint else f" (supported: {', '.join(ACTION_CALLS)})"
            )
            self.add(join_key(path, key), f"unknown call{extra}")
        if call is None:
            return None
        where = f"{path}.{call}"
        kwargs = self.mapping(obj[call] if obj[call] is not None else {}, where)
        if kwargs is None:
            return None
        self.call(call, kwargs, where)
        if len(self.problems) > before or at_s is None:
            return None
        return Action(index=index, at_s=at_s, call=call, kwargs=self.ecs_kwargs(kwargs))

    def call(self, call: str, kwargs: Mapping[Any, Any], path: str) -> None:
        shape = ACTION_CALLS[call]
        if call == "register_task_definition":
            self.task_definition_inline(kwargs, path)
            return
        if call == "create_service":
            self.service(kwargs, path)
            return
        custom = [
            "cluster",
            "taskDefinition",
            "service",
            "desiredCount",
            "count",
            "launchType",
            "placementStrategy",
            "placementConstraints",
            "deploymentConfiguration",
            "containerInstances",
            "containerInstance",
            "task",
            "status",
            "attributes",
        ]
        self.shape(kwargs, path, shape, custom=[c for c in custom if c in SHAPES[shape].members])
        members = SHAPES[shape].members
        cluster = None
        if "cluster" in members:
            cluster = self.cluster_ref(kwargs.get("cluster") or DEFAULT_CLUSTER, f"{path}.cluster")
        if "taskDefinition" in members and kwargs.get("taskDefinition") is not None:
            self.task_definition_ref(kwargs["taskDefinition"], f"{path}.taskDefinition")
        if "service" in members and kwargs.get("service") is not None:
            self.service_ref(cluster, kwargs["service"], f"{path}.service")
        if "desiredCount" in members and kwargs.get("desiredCount") is not None:
            self.integer(kwargs["desiredCount"], f"{path}.desiredCount")
        if "count" in members and kwargs.get("count") is not None:
            self.integer(kwargs["count"], f"{path}.count", 1, MAX_RUN_TASK_COUNT)
        if "launchType" in members:
            self.launch_type(kwargs.get("launchType"), f"{path}.launchType")
        if "placementStrategy" in members:
            self.placement(kwargs, path)
        if (
            "deploymentConfiguration" in members
            and kwargs.get("deploymentConfiguration") is not None
        ):
            self.deployment_configuration(
                kwargs["deploymentConfiguration"], f"{path}.deploymentConfiguration"
            )
        if "containerInstances" in members and kwargs.get("containerInstances") is not None:
            for index, item in enumerate(
                self.items(kwargs["containerInstances"], f"{path}.containerInstances")
            ):
                self.instance_ref(item, f"{path}.containerInstances[{index}]", cluster)
            limit = MAX_START_TASK_INSTANCES if call == "start_task" else None
            value = kwargs["containerInstances"]
            if isinstance(value, list) and (not value or (limit and len(value) > limit)):
                most = f" and at most {limit}" if limit else ""
                self.add(
                    f"{path}.containerInstances",
                    f"expected at least 1{most} container instances, got {len(value)}",
                )
        status = kwargs.get("status") if "status" in members else None
        if status is not None and status not in ("ACTIVE", "DRAINING"):
            self.add(
                f"{path}.status",
                f"expected ACTIVE or DRAINING (the states this call sets), got {_show(status)}",
            )
        if "attributes" in members and kwargs.get("attributes") is not None:
            self.put_attributes(kwargs["attributes"], f"{path}.attributes", cluster)
        if "containerInstance" in members and kwargs.get("containerInstance") is not None:
            self.instance_ref(kwargs["containerInstance"], f"{path}.containerInstance", cluster)
        if call == "stop_task" and kwargs.get("task") is not None:
            self.task_ref(kwargs["task"], f"{path}.task", cluster)

    def instance_ref(self, value: object, path: str, cluster: str | None) -> None:
        """A container instance ARN or id, or an instance selector (resolved at run time)."""
        if isinstance(value, str):
            return
        obj = self.mapping(value, path)
        if obj is None:
            return
        self.keys(obj, path, INSTANCE_SELECTOR_KEYS)
        self.selector_zone(obj, path, cluster)
        for key in ("instance_type", "market"):
            if obj.get(key) is not None:
                self.string(obj[key], f"{path}.{key}")
        if obj.get("market") is not None and obj["market"] not in MARKETS:
            self.add(
                f"{path}.market",
                f"expected one of {', '.join(MARKETS)}, got {_show(obj['market'])}",
            )
        if obj.get("attributes") is not None:
            self.attributes(obj["attributes"], f"{path}.attributes")
        if "index" in obj and not _is_int(obj["index"]):
            self.add(f"{path}.index", f"expected an integer, got {_show(obj['index'])}")

    def selector_zone(self, obj: Mapping[Any, Any], path: str, cluster: str | None) -> None:
        zone = obj.get("zone")
        if zone is None or self.string(zone, f"{path}.zone") is None:
            return
        known = self.zones.get(cluster or "")
        if known is not None and zone not in known:
            self.add(
                f"{path}.zone",
                f"no instances of cluster {cluster!r} in zone {zone!r} "
                f"(zones: {', '.join(sorted(known))})",
            )

    def task_ref(self, value: object, path: str, cluster: str | None) -> None:
        """A task ARN or id, or a task selector (``service:web#0`` or a mapping)."""
        if isinstance(value, str) and task_selector(value) is None:
            if value.split(":", 1)[0] in ("service", "family", "group") and "#" not in value:
                self.add(path, f"a task selector needs an index: {value}#0")
            return
        obj = task_selector(value)
        if obj is None:
            self.add(path, f"expected a task ARN or id or a task selector, got {_show(value)}")
            return
        self.keys(obj, path, TASK_SELECTOR_KEYS)
        given = [k for k in ("service", "family", "group") if obj.get(k) is not None]
        if len(given) > 1:
            self.add(path, f"at most one of service, family and group, got {', '.join(given)}")
        for key in given:
            self.string(obj[key], f"{path}.{key}")
        if obj.get("service") is not None and isinstance(obj["service"], str):
            self.service_ref(cluster, obj["service"], f"{path}.service")
        self.selector_zone(obj, path, cluster)
        if "index" in obj and not _is_int(obj["index"]):
            self.add(f"{path}.index", f"expected an integer, got {_show(obj['index'])}")

    def put_attributes(self, value: object, path: str, cluster: str | None = None) -> None:
        items = self.items(value, path)
        if not items:
            self.add(path, "expected at least one attribute")
        for index, item in enumerate(items):
            where = f"{path}[{index}]"
            obj = self.mapping(item, where)
            if obj is None:
                continue
            self.shape(obj, where, "Attribute", custom=["name", "value", "targetId"])
            if obj.get("targetId") is not None:
                self.instance_ref(obj["targetId"], f"{where}.targetId", cluster)
            name, text = obj.get("name"), obj.get("value")
            name_ok = name is None or self.string(name, f"{where}.name") is not None
            if name is not None and name_ok and not _ATTRIBUTE_NAME.match(name):
                self.add(f"{where}.name", f"not a valid attribute name: {_show(name)}")
            text_ok = text is None or self.string(text, f"{where}.value") is not None
            if text is not None and text_ok and not _valid_attribute_value(text):
                self.add(f"{where}.value", f"not a valid attribute value: {_show(text)}")

    # -- parameters ---------------------------------------------------------------------------

    def parameters_section(self, value: object) -> SimParameters | None:
        if value is None:
            return SimParameters()
        obj = self.mapping(value, "parameters")
        if obj is None:
            return None
        names = SimParameters.names()
        self.keys(obj, "parameters", names)
        distributions = SimParameters.distribution_names()
        values: dict[str, Any] = {}
        for key, raw in obj.items():
            if key not in names:
                continue
            path = f"parameters.{key}"
            parsed: Any
            if key in distributions:
                parsed = self.distribution(raw, path)
            elif key in SimParameters.boolean_names():
                parsed = self.boolean(raw, path)
            elif key in SimParameters.integer_names():
                parsed = self.integer(raw, path, minimum=1)
            else:
                parsed = self.duration(raw, path)
            if parsed is not None:
                values[key] = parsed
        return SimParameters(**values)


def _valid_attribute_value(text: str) -> bool:
    return bool(_ATTRIBUTE_VALUE.match(text)) and text == text.strip()


def _scalar_text(value: object) -> str | None:
    """An attribute name or value: strings as they are, numbers and booleans as YAML wrote them."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if _is_number(value):
        return str(value)
    return None


def _peek_family(path: Path) -> str | None:
    """The family named in a task definition file that did not validate (None if unreadable)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if isinstance(data, Mapping) and isinstance(data.get("taskDefinition"), Mapping):
        data = data["taskDefinition"]
    family = data.get("family") if isinstance(data, Mapping) else None
    return family if isinstance(family, str) else None
