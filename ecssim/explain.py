"""One placement decision explained in words, from the opt-in ``placements`` frame.

The text counterpart of :func:`ecssim.plots.placement_decision`, behind ``ecssim explain``:
how many container instances were left after each step of the decision (registered,
available, fit, constraints, each strategy of the chain), the instance chosen, or for a failed
placement ECS's reason and the service event text ECS would write ("The closest matching
(container-instance ...) has insufficient memory available."), worded from the control plane's
own table so the two never disagree.

Everything here reads frames of a finished run; nothing runs on the simulation's hot path.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ecssim.control.plane import (
    _CLOSEST,  # the reason -> "closest matching" wording of ECS's service events
    RUNTASK_DEFAULT_STRATEGY,
    SERVICE_DEFAULT_STRATEGY,
)
from ecssim.errors import InputError
from ecssim.placement.engine import NO_INSTANCES, StrategySpec

if TYPE_CHECKING:
    from ecssim.result import Result

__all__ = [
    "HOW_TO_RECORD",
    "closest_message",
    "explain_decision",
    "format_explanation",
    "instance_id",
    "select_decision",
    "strategy_labels",
]

#: How to record the ``placements`` frame, for error messages.
HOW_TO_RECORD = (
    "record it with `ecssim run SCENARIO --set explain=true --out DIR`, "
    "or run `ecssim explain SCENARIO` directly"
)


def _missing(value: object) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def _text(value: object) -> str | None:
    return None if _missing(value) else str(value)


def instance_id(arn: str) -> str:
    """The container instance id: the last part of its ARN, as ECS's event texts show it."""
    return arn.rsplit("/", 1)[-1]


def select_decision(
    placements: pd.DataFrame,
    *,
    task: str | None = None,
    index: int | None = None,
    failed: bool = False,
) -> int:
    """Pick one row of the ``placements`` frame.

    With no selector: the first failed placement if there is one, else the first placement.

    Args:
        placements: The ``placements`` frame.
        task: A placed task's ARN, or the end of it (``cluster/id``, the last digits of the id);
            it must match one placed task.
        index: Row number, from 0; negative counts from the end.
        failed: The first failed placement.

    Returns:
        The row's position (0 <= position < ``len(placements)``).

    Raises:
        InputError: No decision recorded, or the selector matches none (or several) of them;
            the problem is located at the option (``--task``, ``--index``, ``--failed``).
    """
    n = len(placements)
    if n == 0:
        raise InputError("no placement decisions were recorded in this run")
    failures = placements["container_instance"].isna().to_numpy()
    if index is not None:
        if not -n <= index < n:
            raise InputError(
                f"out of range: the run has {n} placement decisions (0 to {n - 1}, or -{n} to -1)",
                "--index",
            )
        return index % n
    if task is not None:
        wanted = task.strip()
        arns = placements["task_arn"].astype("object")
        # The full ARN, ``cluster/id`` or the end of the id: whatever the ARN ends with.
        hits = [
            i
            for i, arn in enumerate(arns)
            if isinstance(arn, str) and wanted and arn.endswith(wanted)
        ]
        if not hits:
            placed = int((~failures).sum())
            raise InputError(
                f"no placed task matches {task!r} (give an ARN or the end of a task id; "
                f"{placed} task{'s' if placed != 1 else ''} placed; a failed placement has "
                "no task: use --failed or --index)",
                "--task",
            )
        if len(hits) > 1:
            shown = ", ".join(instance_id(str(arns.iloc[i])) for i in hits[:3])
            more = ", ..." if len(hits) > 3 else ""
            raise InputError(
                f"{task!r} matches {len(hits)} tasks ({shown}{more}); give more of the id",
                "--task",
            )
        return hits[0]
    if failures.any():
        return int(failures.argmax())
    if failed:
        raise InputError(f"no placement failed in this run ({n} decisions, all placed)", "--failed")
    return 0  # no selector and nothing failed: the first decision


def strategy_labels(document: Mapping[str, Any], cluster: str, group: str) -> list[str] | None:
    """Names of a group's strategy chain, e.g. ``["spread(attribute:ecs.availability-zone)"]``.

    Looked up in the scenario document (services by name, workloads by group), with ECS's
    defaults when the item names none. Best effort: ``None`` when the group is not declared
    there (tasks started by ``actions:`` or the Python API).
    """
    kind, _, name = group.partition(":")
    chain: Sequence[Any] | None = None
    if kind == "service":
        defaults: Sequence[Any] = SERVICE_DEFAULT_STRATEGY
        items = document.get("services") or []
        for item in items if isinstance(items, list) else []:
            if (
                isinstance(item, Mapping)
                and item.get("serviceName") == name
                and item.get("cluster", cluster) == cluster
            ):
                chain = item.get("placementStrategy") or defaults
                break
    else:
        defaults = RUNTASK_DEFAULT_STRATEGY
        items = document.get("workloads") or []
        for item in items if isinstance(items, list) else []:
            if not isinstance(item, Mapping):
                continue
            family = str(item.get("taskDefinition", "")).rsplit("/", 1)[-1].split(":")[0]
            if (item.get("group") or f"family:{family}") == group and item.get(
                "cluster", cluster
            ) == cluster:
                chain = item.get("placementStrategy") or defaults
                break
    if chain is None:
        return None
    labels = []
    for spec in chain:
        if isinstance(spec, StrategySpec):
            kind_, field = spec.type, spec.field
        elif isinstance(spec, Mapping):
            kind_, field = str(spec.get("type")), spec.get("field")
        else:
            return None
        labels.append(f"{kind_}({field})" if field else kind_)
    return labels


def closest_message(reason: str | None, closest_instance: str | None, group: str) -> str | None:
    """The text ECS gives for a failed placement, worded as the control plane words it.

    For a service (group ``service:NAME``) the full service event; for a standalone task the
    sentence about the closest matching instance (RunTask itself returns only ``{arn, reason}``).
    ``None`` for a successful placement.
    """
    if reason is None:
        return None
    kind, _, service = group.partition(":")
    if reason == NO_INSTANCES:
        if kind == "service":
            return f"(service {service}) was unable to place a task. Reason: {NO_INSTANCES}"
        return NO_INSTANCES
    what = _CLOSEST.get(reason, f"does not satisfy the task: {reason.rstrip('.')}")
    where = f"(container-instance {instance_id(closest_instance or '?')})"
    sentence = f"The closest matching {where} {what}."
    if kind != "service":
        return sentence
    return (
        f"(service {service}) was unable to place a task because no container instance met all "
        f"of its requirements. {sentence} For more information, see the Troubleshooting section."
    )


def _instance(instances: pd.DataFrame, arn: str | None) -> dict[str, Any] | None:
    """ARN, id, zone and type of a container instance (zone and type ``None`` if unknown)."""
    if arn is None:
        return None
    rows = instances[instances["container_instance"].astype("object") == arn]
    row = rows.iloc[0] if len(rows) else None
    return {
        "arn": arn,
        "id": instance_id(arn),
        "availability_zone": None if row is None else _text(row["availability_zone"]),
        "instance_type": None if row is None else _text(row["instance_type"]),
    }


def _registered(instances: pd.DataFrame, cluster: str, t: float) -> int:
    """Container instances of ``cluster`` registered at or before ``t`` and not stopped by it."""
    rows = instances[instances["cluster"].astype("object") == cluster]
    registered = rows["registered_at"].to_numpy(float)
    stopped = np.nan_to_num(rows["stopped_at"].to_numpy(float), nan=math.inf)
    return int(((registered <= t) & (t < stopped)).sum())


def explain_decision(result: Result, index: int) -> dict[str, Any]:
    """One decision of ``result.placements`` as a JSON-able dict.

    Args:
        result: A run recorded with ``explain`` on.
        index: Row of the ``placements`` frame (0 <= index < its length).

    Returns:
        ``index``, ``decisions`` (rows in the frame), ``t``, ``cluster``, ``group``,
        ``outcome`` (``"placed"`` or ``"failed"``), ``task_arn``, ``registered`` (instances
        registered at ``t``, from the ``instances`` frame), the frame's ``candidates``,
        ``after_fit``, ``after_constraints``, ``after_strategies`` (a list of counts),
        ``strategies`` (their names, or ``strategy 1``, ... when the scenario does not say),
        ``container_instance`` and ``closest_instance`` (``{arn, id, availability_zone,
        instance_type}`` or ``None``), ``reason`` and ``message`` (ECS's texts on failure).

    Raises:
        InputError: The run has no ``placements`` frame.
    """
    placements = result.placements
    if placements is None:
        raise InputError(f"the run has no placements frame; {HOW_TO_RECORD}")
    row = placements.iloc[index]
    t, cluster, group = float(row["t"]), str(row["cluster"]), str(row["group"])
    steps = _text(row["after_strategies"]) or ""
    counts = [int(c) for c in steps.split(",") if c.strip()]
    labels = strategy_labels(result.meta.get("scenario") or {}, cluster, group)
    if labels is None or len(labels) != len(counts):
        labels = [f"strategy {i + 1}" for i in range(len(counts))]
    chosen = _text(row["container_instance"])
    reason = _text(row["reason"])
    closest = _text(row["closest_instance"])
    return {
        "index": int(index),
        "decisions": len(placements),
        "t": t,
        "cluster": cluster,
        "group": group,
        "outcome": "failed" if chosen is None else "placed",
        "task_arn": _text(row["task_arn"]),
        "registered": _registered(result.instances, cluster, t),
        "candidates": int(row["candidates"]),
        "after_fit": int(row["after_fit"]),
        "after_constraints": int(row["after_constraints"]),
        "after_strategies": counts,
        "strategies": labels,
        "container_instance": _instance(result.instances, chosen),
        "closest_instance": _instance(result.instances, closest),
        "reason": reason,
        "message": closest_message(reason, closest, group) if chosen is None else None,
    }


def _when(t: float) -> str:
    text = f"t = {t:,.2f} s"
    if t >= 3600:
        return f"{text} ({t / 3600:.2f} h)"
    if t >= 120:
        return f"{text} ({t / 60:.1f} min)"
    return text


def _where(instance: Mapping[str, Any]) -> list[str]:
    details = [str(v) for v in (instance["availability_zone"], instance["instance_type"]) if v]
    extra = f" ({', '.join(details)})" if details else ""
    return [f"container-instance {instance['id']}{extra}", str(instance["arn"])]


def format_explanation(info: Mapping[str, Any]) -> str:
    """Render :func:`explain_decision`'s dict as the text ``ecssim explain`` prints.

    Returns:
        The text (no trailing newline).
    """
    failed = info["outcome"] == "failed"
    lines = [
        f"placement decision {info['index']} of {info['decisions']} (numbered from 0): "
        f"{'FAILED' if failed else 'placed'}",
        f"  time       {_when(info['t'])}",
        f"  cluster    {info['cluster']}",
        f"  group      {info['group']}",
    ]
    if info["task_arn"]:
        lines.append(f"  task       {info['task_arn']}")
    stages: list[tuple[str, object]] = [
        ("registered", info["registered"]),
        ("available (ACTIVE, agent connected)", info["candidates"]),
        ("fit (CPU, memory, ports, ENIs, GPUs)", info["after_fit"]),
        ("placement constraints", info["after_constraints"]),
    ]
    if failed:
        stages.append(("strategies", "not reached"))
    else:
        stages += list(zip(info["strategies"], info["after_strategies"], strict=True))
    width = max(len(name) for name, _ in stages) + 2
    digits = max(len(str(count)) for _, count in stages if isinstance(count, int))
    lines += ["", "container instances left after each step"]
    lines += [
        f"  {name:<{width}}{count:>{digits}}"
        if isinstance(count, int)
        else f"  {name:<{width}}{count}"
        for name, count in stages
    ]
    lines.append("")
    if failed:
        lines.append(f"  reason     {info['reason']}")
        if info["closest_instance"] is not None:
            first, arn = _where(info["closest_instance"])
            lines += [f"  closest    {first}", f"             {arn}"]
        lines.append(f"  message    {info['message']}")
    else:
        first, arn = _where(info["container_instance"])
        lines += [f"  chosen     {first}", f"             {arn}"]
        left = ([info["after_constraints"], *info["after_strategies"]])[-1]
        if left > 1:
            lines.append(
                f"  tie-break  at random among the {left} instances left "
                "(the cluster's placement stream)"
            )
    return "\n".join(lines)
