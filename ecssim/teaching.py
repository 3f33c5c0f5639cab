"""Helpers for step-by-step teaching notebooks: watch placement happen one RunTask at a time.

:func:`watch_run_tasks` drives a :class:`~ecssim.simulation.Simulation` through RunTask calls
at given times and draws the cluster map after each call, so a class can watch binpack, spread
and random diverge on the same arrivals. :func:`instances_at` tabulates what each container
instance holds at a moment (the numbers behind a cluster map), from which fragmentation and
"instances needed" follow.

>>> import ecssim, ecssim.teaching as teaching
>>> sim = ecssim.Simulation(seed=1)
>>> _ = sim.ecs.create_cluster(clusterName="lab")
>>> _ = sim.launch_instances("lab", "m5.large", count=2)
>>> _ = sim.ecs.register_task_definition(family="w", containerDefinitions=[
...     {"name": "w", "image": "busybox", "cpu": 256, "memory": 512}])
>>> from matplotlib.figure import Figure
>>> axes = Figure().subplots(1, 2)
>>> steps = teaching.watch_run_tasks(sim, "lab", "w", [300, 360],
...     [{"type": "binpack", "field": "memory"}], axes=axes)
>>> steps[0].container_instance == steps[1].container_instance
True
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ecssim import plots

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from ecssim.result import Result
    from ecssim.simulation import Simulation

__all__ = ["RunTaskStep", "instances_at", "watch_run_tasks"]


@dataclass(frozen=True, slots=True)
class RunTaskStep:
    """One RunTask call of :func:`watch_run_tasks` and the picture drawn after it.

    Attributes:
        t: Simulated time of the call (seconds).
        task_arns: The tasks started.
        container_instance: Where the first task went (``None`` when it failed).
        reason: The ECS failure reason when no task was placed, else ``None``.
        ax: The cluster map drawn right after the call.
    """

    t: float
    task_arns: tuple[str, ...]
    container_instance: str | None
    reason: str | None
    ax: Axes


def watch_run_tasks(
    sim: Simulation,
    cluster: str,
    task_definition: str,
    arrivals: Sequence[float],
    strategy: Sequence[Mapping[str, Any]],
    *,
    count: int = 1,
    by: str = "memory",
    axes: Sequence[Axes] | Any = None,
    ncols: int = 3,
) -> list[RunTaskStep]:
    """Call RunTask at each time in ``arrivals`` and draw the cluster map after each call.

    The simulation runs up to each arrival time (``sim.run(until=t)``), so tasks started by
    earlier calls are running, and tasks whose run time ended are gone.

    Args:
        sim: The simulation (its cluster, instances and task definition set up).
        cluster: Cluster name.
        task_definition: Family (or ``family:revision``) to run.
        arrivals: Absolute simulated times in seconds, ascending, not before ``sim.now``.
        strategy: The ``placementStrategy`` list, e.g. ``[{"type": "binpack", "field":
            "memory"}]``.
        count: Tasks per RunTask call.
        by: The resource the cluster maps measure (``"memory"`` or ``"cpu"``).
        axes: One Axes per call (a flat sequence or a numpy array); by default a new pyplot
            figure with a grid of ``ncols`` columns.
        ncols: Columns of the default grid.

    Returns:
        One :class:`RunTaskStep` per call.

    Raises:
        ValueError: An arrival is before the current simulated time, or too few ``axes``.
    """
    times = [float(t) for t in arrivals]
    if any(b < a for a, b in itertools.pairwise(times)):
        raise ValueError("arrivals must be in ascending order")
    if times and times[0] < sim.now:
        raise ValueError(f"arrival {times[0]:g} s is before the current time {sim.now:g} s")
    if axes is None:
        import matplotlib.pyplot as plt

        cols = max(1, min(ncols, len(times)))
        rows = max(1, math.ceil(len(times) / cols))
        _, grid = plt.subplots(
            rows, cols, figsize=(5.5 * cols, 3.8 * rows), squeeze=False, layout="constrained"
        )
        flat = list(np.asarray(grid).ravel())
        for extra in flat[len(times) :]:
            extra.set_visible(False)
    else:
        shaped = np.asarray(axes, dtype=object)
        cols = shaped.shape[-1] if shaped.ndim else 1
        flat = list(shaped.ravel())
    if len(flat) < len(times):
        raise ValueError(f"{len(times)} calls but only {len(flat)} axes")
    steps: list[RunTaskStep] = []
    for i, t in enumerate(times):
        sim.run(until=t)
        out = sim.ecs.run_task(
            cluster=cluster,
            taskDefinition=task_definition,
            count=count,
            placementStrategy=[dict(item) for item in strategy],
        )
        arns = tuple(str(task["taskArn"]) for task in out["tasks"])
        where = str(out["tasks"][0]["containerInstanceArn"]) if out["tasks"] else None
        reason = str(out["failures"][0]["reason"]) if out["failures"] and not arns else None
        ax = plots.cluster_map(sim.result(), t=sim.now, cluster=cluster, by=by, ax=flat[i])
        outcome = f"instance {plots._short(where)}" if where else f"failed: {reason}"
        ax.set_title(f"call {i + 1} at {t / 60:.3g} min → {outcome}", fontsize="medium")
        ax.set_xlabel("container instance")  # the time is in the title
        if i % cols:  # y label on the first column only
            ax.set_ylabel("")
        legend = ax.get_legend()
        if legend is not None and i:
            legend.remove()  # one legend (on the first map) is enough
        steps.append(RunTaskStep(t, arns, where, reason, ax))
    return steps


def instances_at(result: Result, t: float, cluster: str | None = None) -> pd.DataFrame:
    """What every container instance alive at ``t`` holds: the numbers behind a cluster map.

    Args:
        result: The run.
        t: Simulated time in seconds.
        cluster: Only this cluster.

    Returns:
        One row per instance registered and not stopped at ``t``: ``container_instance``,
        ``cluster``, ``availability_zone``, ``instance_type``, ``registered_cpu``,
        ``registered_memory``, ``tasks`` (tasks placed on it and not yet stopped),
        ``reserved_cpu``, ``reserved_memory``, ``free_cpu``, ``free_memory`` and ``in_use``
        (at least one task).
    """
    instances = result.instances
    if cluster is not None:
        instances = instances[instances["cluster"].astype("object") == cluster]
    registered = instances["registered_at"].to_numpy(float)
    stopped = np.nan_to_num(instances["stopped_at"].to_numpy(float), nan=math.inf)
    alive = instances[(registered <= t) & (t < stopped)]
    tasks = result.tasks
    created = tasks["created_at"].to_numpy(float)
    ended = np.nan_to_num(tasks["stopped_at"].to_numpy(float), nan=math.inf)
    held = tasks[(created <= t) & (t < ended) & tasks["container_instance"].notna()]
    per = (
        held.assign(container_instance=held["container_instance"].astype("object"))
        .groupby("container_instance")
        .agg(
            tasks=("task_arn", "size"),
            reserved_cpu=("cpu", "sum"),
            reserved_memory=("memory", "sum"),
        )
    )
    out = pd.DataFrame(
        {
            "container_instance": alive["container_instance"].astype("object").to_numpy(),
            "cluster": alive["cluster"].astype("object").to_numpy(),
            "availability_zone": alive["availability_zone"].astype("object").to_numpy(),
            "instance_type": alive["instance_type"].astype("object").to_numpy(),
            "registered_cpu": alive["registered_cpu"].to_numpy(np.int64),
            "registered_memory": alive["registered_memory"].to_numpy(np.int64),
        }
    )
    joined = out["container_instance"].map
    out["tasks"] = joined(per["tasks"]).fillna(0).astype(np.int64).to_numpy()
    out["reserved_cpu"] = joined(per["reserved_cpu"]).fillna(0).astype(np.int64).to_numpy()
    out["reserved_memory"] = joined(per["reserved_memory"]).fillna(0).astype(np.int64).to_numpy()
    out["free_cpu"] = out["registered_cpu"] - out["reserved_cpu"]
    out["free_memory"] = out["registered_memory"] - out["reserved_memory"]
    out["in_use"] = out["tasks"] > 0
    return out
