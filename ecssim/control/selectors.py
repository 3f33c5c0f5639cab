"""Run-time references in scripted actions: tasks and container instances chosen by selector.

A scenario is written before the run, so it cannot name the ARNs of tasks and instances that
only exist once the run is under way. Wherever an action's request takes a task or container
instance reference, a scenario may write a *selector* instead, resolved when the action runs:

- container instances (``containerInstances`` items, ``containerInstance``, ``targetId`` of an
  attribute): ``{zone, instance_type, market, attributes, index}``. The candidates are the
  cluster's registered, not INACTIVE instances in launch order (the order of the ``instances``
  groups and their counts); the keys filter them; ``index`` picks one match (0-based, negative
  counts from the end). In a list field a selector without ``index`` stands for every match; a
  single-instance field needs exactly one match.
- tasks (``task`` of ``stop_task``): ``{service | family | group, zone, index}`` or the string
  shorthand ``"service:web#0"``, ``"family:worker#1"``, ``"group:<group>#0"``. The candidates
  are the cluster's tasks with desiredStatus RUNNING, oldest first; ``index`` defaults to 0.

A selector that matches nothing makes the action fail (an ``action_failed`` event); the run goes
on. The syntax (``ecssim.scenario.selectors``) is checked by the scenario loader at load time.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ecssim.control.plane import ControlPlane, ControlPlaneError
from ecssim.control.records import ClusterRecord, InstanceRecord, Task
from ecssim.model.enums import DesiredStatus, InstanceStatus
from ecssim.scenario.selectors import task_selector

#: The calls whose requests may hold selectors.
SELECTOR_CALLS = frozenset(
    {
        "stop_task",
        "start_task",
        "update_container_instances_state",
        "put_attributes",
        "delete_attributes",
        "deregister_container_instance",
    }
)


class SelectorError(ControlPlaneError):
    """A selector matched no task or container instance (or several where one is needed)."""

    def __init__(self, message: str) -> None:
        super().__init__("InvalidParameterException", message)


def _pick(matches: list[Any], index: object, what: str) -> Any:
    assert isinstance(index, int)
    if not -len(matches) <= index < len(matches):
        raise SelectorError(f"no {what} at index {index} ({len(matches)} matched)")
    return matches[index]


def select_instances(
    control: ControlPlane, cluster: ClusterRecord, selector: Mapping[str, Any]
) -> list[InstanceRecord]:
    """The container instances an instance selector stands for (at least one)."""
    attributes = selector.get("attributes") or {}
    matches = [
        i
        for i in control.instances
        if i.cluster is cluster
        and i.row >= 0
        and i.status != InstanceStatus.INACTIVE
        and selector.get("zone", i.zone) == i.zone
        and selector.get("instance_type", i.instance_type.name) == i.instance_type.name
        and selector.get("market", i.market) == i.market
        and all(i.attributes.get(k) == str(v) for k, v in attributes.items())
    ]
    if "index" in selector:
        return [_pick(matches, selector["index"], f"container instance matching {selector}")]
    if not matches:
        raise SelectorError(f"no container instance matches {dict(selector)}")
    return matches


def select_task(control: ControlPlane, cluster: ClusterRecord, selector: Mapping[str, Any]) -> Task:
    """The task a task selector stands for."""
    del control  # the cluster holds its tasks
    service = selector.get("service")
    family = selector.get("family")
    group = selector.get("group")
    zone = selector.get("zone")
    matches = [
        t
        for t in cluster.tasks.values()
        if t.desired_status == DesiredStatus.RUNNING
        and (service is None or (t.service is not None and t.service.name == service))
        and (family is None or t.family == family)
        and (group is None or t.group == group)
        and (
            zone is None or (t.container_instance is not None and t.container_instance.zone == zone)
        )
    ]
    return _pick(matches, selector.get("index", 0), f"task matching {dict(selector)}")


def resolve(control: ControlPlane, call: str, kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """Replace the selectors in an action's request by the ARNs they stand for now."""
    out = dict(kwargs)
    if call not in SELECTOR_CALLS or not any(
        isinstance(v, Mapping)
        or (isinstance(v, list) and any(isinstance(x, Mapping) for x in v))
        or (k == "task" and task_selector(v) is not None)
        for k, v in out.items()
    ):
        return out
    cluster = control.cluster(out.get("cluster"))
    if call == "stop_task":
        selector = task_selector(out.get("task"))
        if selector is not None:
            out["task"] = select_task(control, cluster, selector).arn
    if isinstance(out.get("containerInstances"), list):
        arns: list[str] = []
        for item in out["containerInstances"]:
            if isinstance(item, Mapping):
                arns.extend(i.arn for i in select_instances(control, cluster, item))
            else:
                arns.append(item)
        out["containerInstances"] = list(dict.fromkeys(arns))
    if isinstance(out.get("containerInstance"), Mapping):
        out["containerInstance"] = _one(control, cluster, out["containerInstance"]).arn
    if call in ("put_attributes", "delete_attributes") and isinstance(out.get("attributes"), list):
        attributes = []
        for item in out["attributes"]:
            target = item.get("targetId") if isinstance(item, Mapping) else None
            if isinstance(target, Mapping):
                for instance in select_instances(control, cluster, target):
                    attributes.append({**item, "targetId": instance.arn})
            else:
                attributes.append(item)
        out["attributes"] = attributes
    return out


def _one(
    control: ControlPlane, cluster: ClusterRecord, selector: Mapping[str, Any]
) -> InstanceRecord:
    matches = select_instances(control, cluster, selector)
    if len(matches) != 1:
        raise SelectorError(
            f"{dict(selector)} matches {len(matches)} container instances; add an index"
        )
    return matches[0]
