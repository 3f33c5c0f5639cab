"""Standard plots of a run: frames in, matplotlib ``Axes`` out.

Every function takes a :class:`~ecssim.result.Result` (or the frame it needs) and an optional
``ax``; without one it opens a new pyplot figure. :func:`save_standard_plots` draws on bare
:class:`~matplotlib.figure.Figure` objects, so it needs no GUI backend and leaves pyplot's
state untouched.

>>> import ecssim.plots as plots
>>> callable(plots.save_standard_plots)
True
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from matplotlib.ticker import MaxNLocator

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from ecssim.result import Result

FAULT_KINDS = ("instance_failed", "instance_lost")
STATE_COLOURS = {"pending": "#f2b134", "running": "#4c9a2a", "stopping": "#c0392b"}


# -- helpers ---------------------------------------------------------------------------------


def _frame(source: Any, name: str) -> pd.DataFrame:
    if isinstance(source, pd.DataFrame):
        return source
    frame = getattr(source, name, None)
    if frame is None:
        raise TypeError(f"expected a Result or the {name} DataFrame, got {type(source).__name__}")
    return frame


def _optional(source: Any, name: str) -> pd.DataFrame | None:
    if isinstance(source, pd.DataFrame):
        return None
    return getattr(source, name, None)


def _end(source: Any, *frames: pd.DataFrame) -> float:
    """The time the plot should reach: the run's end, else the latest time in the frames."""
    end = float(getattr(source, "end", 0.0) or 0.0)
    for frame in frames:
        for column in ("t", "created_at", "started_at", "stopped_at"):
            if column in frame.columns and len(frame):
                value = pd.to_numeric(frame[column], errors="coerce").max()
                if pd.notna(value):
                    end = max(end, float(value))
    return end


def _time_scale(end: float) -> tuple[float, str]:
    """Divisor and axis label for simulated seconds: hours above 2 h, minutes otherwise."""
    if end > 2 * 3600:
        return 3600.0, "simulated time (h)"
    return 60.0, "simulated time (min)"


def _new_axes(ax: Axes | None, figsize: tuple[float, float] = (10, 5)) -> Axes:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, new = plt.subplots(figsize=figsize)
    return new


def _isnull(values: Any) -> np.ndarray:
    return np.asarray(pd.isna(values), dtype=bool)


def _select(frame: pd.DataFrame, column: str, value: str | None) -> pd.DataFrame:
    if value is None or column not in frame.columns:
        return frame
    return frame[frame[column].astype("object") == value]


def _step(times: np.ndarray, values: np.ndarray, end: float) -> tuple[np.ndarray, np.ndarray]:
    """Extend a step function to ``end`` so the last level is drawn."""
    if len(times) and end > times[-1]:
        times = np.append(times, end)
        values = np.append(values, values[-1])
    return times, values


def _level(series: pd.DataFrame, metric: str) -> pd.Series:
    """One step function (last value at each time) of a single key."""
    rows = series[series["metric"].astype("object") == metric]
    return rows.groupby("t", sort=True)["value"].last()


def _short(arn: object) -> str:
    text = str(arn)
    return text.rsplit("/", 1)[-1].lstrip("0")[-8:] or text[-8:]


def _legend_outside(ax: Axes, title: str | None = None) -> None:
    handles, labels = ax.get_legend_handles_labels()
    if handles:
        ax.legend(
            handles,
            labels,
            title=title,
            loc="upper left",
            bbox_to_anchor=(1.01, 1.0),
            borderaxespad=0.0,
            fontsize="small",
        )


# -- plots -----------------------------------------------------------------------------------


def running_vs_desired(
    result: Result | pd.DataFrame,
    service: str | None = None,
    cluster: str | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Step plot of running and desired task counts per service, faults as vertical lines.

    Args:
        result: A Result, or its ``series`` frame (then no faults are marked).
        service: Only this service (default: every service).
        cluster: Only services of this cluster.
        ax: Axes to draw on; a new figure when ``None``.

    Returns:
        The Axes drawn on.
    """
    series = _frame(result, "series")
    events = _optional(result, "events")
    ax = _new_axes(ax)
    end = _end(result, series)
    scale, label = _time_scale(end)
    rows = series[~_isnull(series["service"])]
    rows = _select(_select(rows, "service", service), "cluster", cluster)
    keys = rows[["cluster", "service"]].astype("object").drop_duplicates().values.tolist()
    many_clusters = len({c for c, _ in keys}) > 1
    colours = _colour_cycle(len(keys))
    for (clu, svc), colour in zip(sorted(keys), colours, strict=True):
        part = rows[
            (rows["cluster"].astype("object") == clu) & (rows["service"].astype("object") == svc)
        ]
        name = f"{clu}/{svc}" if many_clusters else str(svc)
        for metric, style, width, alpha in (
            ("running_count", "-", 2.2, 0.55),
            ("desired_count", "--", 1.4, 1.0),
        ):
            level = _level(part, metric)
            if level.empty:
                continue
            x, y = _step(level.index.to_numpy(float), level.to_numpy(float), end)
            ax.step(
                x / scale,
                y,
                where="post",
                linestyle=style,
                linewidth=width,
                color=colour,
                alpha=alpha,
                label=f"{name} {metric.split('_')[0]}",
            )
    if events is not None and len(events):
        faults = events[events["kind"].astype("object").isin(FAULT_KINDS)]
        faults = _select(faults, "cluster", cluster)
        styles = {"instance_failed": ("#c0392b", ":"), "instance_lost": ("#7f8c8d", "-.")}
        for kind, (colour, style) in styles.items():
            times = faults.loc[faults["kind"].astype("object") == kind, "t"].to_numpy(float)
            for i, t in enumerate(np.unique(times)):
                ax.axvline(
                    t / scale,
                    color=colour,
                    linestyle=style,
                    linewidth=1.0,
                    label=kind.replace("_", " ") if i == 0 else None,
                )
    ax.set_xlim(0, end / scale if end > 0 else 1)
    ax.set_ylim(bottom=0)
    ax.set_xlabel(label)
    ax.set_ylabel("tasks")
    ax.set_title("Running vs desired tasks" + (f" — {service}" if service else ""))
    ax.grid(True, alpha=0.3)
    _legend_outside(ax)
    return ax


def cluster_reservation(
    result: Result | pd.DataFrame, cluster: str | None = None, ax: Axes | None = None
) -> Axes:
    """CPU and memory reserved as a percentage of registered, over time, per cluster.

    Args:
        result: A Result, or its ``series`` frame.
        cluster: Only this cluster (default: every cluster).
        ax: Axes to draw on; a new figure when ``None``.

    Returns:
        The Axes drawn on.
    """
    series = _frame(result, "series")
    ax = _new_axes(ax)
    end = _end(result, series)
    scale, label = _time_scale(end)
    rows = series[_isnull(series["service"]) & _isnull(series["container_instance"])]
    rows = _select(rows, "cluster", cluster)
    clusters = sorted(rows["cluster"].astype("object").dropna().unique())
    colours = _colour_cycle(len(clusters))
    for clu, colour in zip(clusters, colours, strict=True):
        part = rows[rows["cluster"].astype("object") == clu]
        for resource, style in (("cpu", "-"), ("memory", "--")):
            levels = pd.concat(
                {
                    "reserved": _level(part, f"{resource}_reserved"),
                    "registered": _level(part, f"{resource}_registered"),
                },
                axis=1,
            ).sort_index()
            if levels.empty:
                continue
            levels = levels.ffill().fillna(0.0)
            registered = levels["registered"].to_numpy(float)
            reserved = levels["reserved"].to_numpy(float)
            with np.errstate(divide="ignore", invalid="ignore"):
                pct = np.where(registered > 0, 100.0 * reserved / registered, 0.0)
            x, y = _step(levels.index.to_numpy(float), pct, end)
            name = f"{clu} " if len(clusters) > 1 else ""
            ax.step(
                x / scale,
                y,
                where="post",
                linestyle=style,
                color=colour,
                linewidth=1.8,
                label=f"{name}{resource.upper() if resource == 'cpu' else resource} reserved",
            )
    ax.set_xlim(0, end / scale if end > 0 else 1)
    ax.set_ylim(0, 105)
    ax.set_xlabel(label)
    ax.set_ylabel("reserved / registered (%)")
    ax.set_title("Cluster reservation" + (f" — {cluster}" if cluster else ""))
    ax.grid(True, alpha=0.3)
    _legend_outside(ax)
    return ax


def cluster_map(
    result: Result | pd.DataFrame,
    t: float | None = None,
    cluster: str | None = None,
    by: str = "memory",
    ax: Axes | None = None,
) -> Axes:
    """Placement picture at time ``t``: one bar per instance, grouped by zone, tasks stacked.

    Args:
        result: A Result (needs ``tasks`` and ``instances``).
        t: Simulated time in seconds (default: the end of the run).
        cluster: Only this cluster.
        by: ``"memory"`` or ``"cpu"``: the resource the bars measure.
        ax: Axes to draw on; a new figure when ``None``.

    Returns:
        The Axes drawn on.
    """
    if by not in ("memory", "cpu"):
        raise ValueError(f'by must be "memory" or "cpu", got {by!r}')
    tasks = _frame(result, "tasks")
    instances = _frame(result, "instances")
    ax = _new_axes(ax, figsize=(11, 5))
    when = _end(result, tasks, instances) if t is None else float(t)
    instances = _select(instances, "cluster", cluster)
    registered_at = instances["registered_at"].to_numpy(float)
    stopped_at = np.nan_to_num(instances["stopped_at"].to_numpy(float), nan=math.inf)
    alive_inst = instances[(registered_at <= when) & (when < stopped_at)].copy()
    alive_inst["zone"] = alive_inst["availability_zone"].astype("object").fillna("?")
    alive_inst = alive_inst.sort_values(["zone", "container_instance"], key=_as_str)

    # x positions: a gap of one bar between zones
    positions: dict[str, float] = {}
    zone_spans: list[tuple[str, float, float]] = []
    x = 0.0
    for zone, group in alive_inst.groupby("zone", sort=True):
        first = x
        for arn in group["container_instance"].astype("object"):
            positions[str(arn)] = x
            x += 1.0
        zone_spans.append((str(zone), first, x - 1.0))
        x += 1.0

    capacity_column = "registered_memory" if by == "memory" else "registered_cpu"
    divisor, unit = (1024.0, "memory (GiB)") if by == "memory" else (1.0, "CPU units")
    xs = np.array([positions[str(a)] for a in alive_inst["container_instance"]], dtype=float)
    caps = alive_inst[capacity_column].to_numpy(float) / divisor
    if len(xs):
        ax.bar(
            xs,
            caps,
            width=0.8,
            fill=False,
            edgecolor="black",
            linewidth=1.2,
            label="registered",
            zorder=3,
        )

    start = tasks["created_at"].to_numpy(float)
    started = tasks["started_at"].to_numpy(float)
    start = np.where(np.isnan(start), started, start)
    stop = np.nan_to_num(tasks["stopped_at"].to_numpy(float), nan=math.inf)
    alive = tasks[(start <= when) & (when < stop)]
    alive = alive[alive["container_instance"].astype("object").isin(list(positions))]
    if len(alive):
        alive = alive.assign(
            _x=[positions[str(a)] for a in alive["container_instance"].astype("object")],
            _h=alive[by].to_numpy(float) / divisor,
            _g=alive["group"].astype("object").fillna(alive["family"].astype("object")),
        ).sort_values(["_x", "_g"], key=_as_str)
        alive["_b"] = alive.groupby("_x")["_h"].cumsum() - alive["_h"]
        groups = sorted(alive["_g"].astype(str).unique())
        for group, colour in zip(groups, _colour_cycle(len(groups)), strict=True):
            part = alive[alive["_g"].astype(str) == group]
            ax.bar(
                part["_x"].to_numpy(float),
                part["_h"].to_numpy(float),
                bottom=part["_b"].to_numpy(float),
                width=0.8,
                color=colour,
                edgecolor="white",
                linewidth=0.5,
                label=group,
                zorder=2,
            )
    labels = []
    type_of = dict(
        zip(
            alive_inst["container_instance"].astype("object"),
            alive_inst["instance_type"].astype("object"),
            strict=True,
        )
    )
    for arn in positions:
        labels.append(f"{_short(arn)}\n{type_of.get(arn, '')}")
    ax.set_xticks(list(positions.values()))
    ax.set_xticklabels(labels, fontsize="x-small", rotation=90 if len(labels) > 12 else 0)
    top = float(caps.max()) if len(caps) else 1.0
    for zone, first, last in zone_spans:
        ax.annotate(
            zone,
            xy=((first + last) / 2, top * 1.04),
            ha="center",
            va="bottom",
            fontsize="small",
            fontweight="bold",
        )
        ax.axvspan(first - 0.5, last + 0.5, color="0.5", alpha=0.06, zorder=0)
    ax.set_xlim(-0.8, max(x - 1.2, 0.8))
    ax.set_ylim(0, top * 1.12)
    ax.set_ylabel(unit)
    scale, tlabel = _time_scale(_end(result, tasks, instances))
    ax.set_xlabel(
        f"container instance (grouped by availability zone) at t = {when / scale:.3g} "
        f"{tlabel.split('(')[-1].rstrip(')')}"
    )
    ax.set_title(f"Cluster map by {by}" + (f" — {cluster}" if cluster else ""))
    ax.grid(True, axis="y", alpha=0.3)
    _legend_outside(ax)
    return ax


def placement_failures(
    result: Result | pd.DataFrame, ax: Axes | None = None, bins: int = 30
) -> Axes:
    """Placement failures over time by reason, as stacked bars of counts per time bin.

    Args:
        result: A Result, or its ``failures`` frame.
        ax: Axes to draw on; a new figure when ``None``.
        bins: Number of time bins over the run.

    Returns:
        The Axes drawn on.
    """
    failures = _frame(result, "failures")
    ax = _new_axes(ax)
    end = _end(result, failures)
    scale, label = _time_scale(end)
    edges = np.linspace(0.0, max(end, 1.0), bins + 1)
    width = (edges[1] - edges[0]) / scale
    reasons = sorted(failures["reason"].astype("object").fillna("?").astype(str).unique())
    bottom = np.zeros(bins)
    times = failures["t"].to_numpy(float)
    reason_col = failures["reason"].astype("object").fillna("?").astype(str).to_numpy()
    for reason, colour in zip(reasons, _colour_cycle(len(reasons)), strict=True):
        counts, _ = np.histogram(times[reason_col == reason], bins=edges)
        ax.bar(
            edges[:-1] / scale,
            counts,
            width=width,
            bottom=bottom,
            align="edge",
            color=colour,
            edgecolor="white",
            linewidth=0.4,
            label=_wrap(reason, 45),
        )
        bottom = bottom + counts
    ax.set_xlim(0, edges[-1] / scale)
    ax.set_ylim(0, max(float(bottom.max()) if bins else 0.0, 1.0) * 1.1)
    ax.set_xlabel(label)
    ax.set_ylabel(f"failures per {_duration_text(edges[1] - edges[0])}")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_title("Placement failures by reason")
    ax.grid(True, axis="y", alpha=0.3)
    _legend_outside(ax, title="reason")
    return ax


def task_timeline(
    result: Result | pd.DataFrame,
    cluster: str | None = None,
    ax: Axes | None = None,
    max_instances: int = 30,
) -> Axes:
    """Gantt chart of tasks per container instance, coloured by state.

    Each instance is a band; tasks that overlap in time get their own lane within it.

    Args:
        result: A Result, or its ``tasks`` frame.
        cluster: Only this cluster.
        ax: Axes to draw on; a new figure when ``None``.
        max_instances: Draw at most this many instances (the first registered).

    Returns:
        The Axes drawn on.
    """
    tasks = _frame(result, "tasks")
    instances = _optional(result, "instances")
    ax = _new_axes(ax, figsize=(11, 6))
    end = _end(result, tasks)
    scale, label = _time_scale(end)
    tasks = _select(tasks, "cluster", cluster)
    tasks = tasks[~_isnull(tasks["container_instance"])]
    order: list[str] = []
    names: dict[str, str] = {}
    if instances is not None and len(instances):
        inst = _select(instances, "cluster", cluster).sort_values("registered_at")
        for row in inst.itertuples(index=False):
            arn = str(row.container_instance)
            order.append(arn)
            names[arn] = f"{row.ec2_instance_id} ({row.availability_zone})"
    for arn in tasks["container_instance"].astype("object").unique():
        if str(arn) not in names:
            order.append(str(arn))
            names[str(arn)] = _short(arn)
    order = order[:max_instances]
    segments: dict[str, list[tuple[float, float, float, float]]] = {s: [] for s in STATE_COLOURS}
    ticks: list[float] = []
    for band, arn in enumerate(order):
        part = tasks[tasks["container_instance"].astype("object") == arn]
        created = part["created_at"].to_numpy(float)
        started = part["started_at"].to_numpy(float)
        stopping = part["stopping_at"].to_numpy(float)
        stopped = np.nan_to_num(part["stopped_at"].to_numpy(float), nan=end)
        idx = np.argsort(created)
        lane_ends: list[float] = []
        lanes: list[int] = []
        for i in idx:
            for lane, lane_end in enumerate(lane_ends):
                if lane_end <= created[i]:
                    lane_ends[lane] = stopped[i]
                    lanes.append(lane)
                    break
            else:
                lane_ends.append(stopped[i])
                lanes.append(len(lane_ends) - 1)
        height = 0.8 / max(len(lane_ends), 1)
        for i, lane in zip(idx, lanes, strict=True):
            y = band - 0.4 + lane * height
            run_start = started[i] if not np.isnan(started[i]) else stopped[i]
            stop_start = stopping[i] if not np.isnan(stopping[i]) else stopped[i]
            stop_start = max(stop_start, run_start)
            for state, a, b in (
                ("pending", created[i], run_start),
                ("running", run_start, stop_start),
                ("stopping", stop_start, stopped[i]),
            ):
                if b > a:
                    segments[state].append((a / scale, (b - a) / scale, y, height * 0.9))
        ticks.append(float(band))
    for state, colour in STATE_COLOURS.items():
        for k, (x0, w, y, h) in enumerate(segments[state]):
            ax.broken_barh([(x0, w)], (y, h), facecolors=colour, label=state if k == 0 else None)
    ax.set_yticks(ticks)
    ax.set_yticklabels([names[a] for a in order], fontsize="x-small")
    ax.set_ylim(len(order) - 0.5 if order else 0.5, -0.5)
    ax.set_xlim(0, end / scale if end > 0 else 1)
    ax.set_xlabel(label)
    ax.set_ylabel("container instance")
    shown = f" (first {max_instances})" if len(names) > max_instances else ""
    ax.set_title("Task timeline" + (f" — {cluster}" if cluster else "") + shown)
    ax.grid(True, axis="x", alpha=0.3)
    _legend_outside(ax, title="state")
    return ax


def save_standard_plots(result: Result, out_dir: str | os.PathLike[str]) -> list[Path]:
    """Write the standard PNG plots of a run into ``out_dir``.

    Writes ``running_vs_desired.png``, ``cluster_reservation.png``, ``cluster_map.png``,
    ``placement_failures.png`` (only when there were failures) and ``task_timeline.png``.
    Figures are drawn without pyplot, so no backend is needed and nothing stays open.

    Args:
        result: The run to plot.
        out_dir: Folder to write into (created if needed).

    Returns:
        The paths written.
    """
    from matplotlib.figure import Figure

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    jobs: list[tuple[str, Any, tuple[float, float]]] = [
        ("running_vs_desired", running_vs_desired, (10, 5)),
        ("cluster_reservation", cluster_reservation, (10, 5)),
        ("cluster_map", cluster_map, (11, 5.5)),
    ]
    if len(result.failures):
        jobs.append(("placement_failures", placement_failures, (11, 5)))
    n = 0 if result.tasks is None else result.tasks["container_instance"].nunique()
    jobs.append(("task_timeline", task_timeline, (11, max(4.0, 0.3 * min(n, 30) + 2))))
    written: list[Path] = []
    for name, draw, size in jobs:
        fig = Figure(figsize=size, layout="constrained")
        draw(result, ax=fig.add_subplot())
        path = out / f"{name}.png"
        fig.savefig(path, dpi=110)
        fig.clf()
        written.append(path)
    return written


# -- small utilities ---------------------------------------------------------------------------


def _colour_cycle(n: int) -> list[Any]:
    from matplotlib import colormaps

    cmap = colormaps["tab10" if n <= 10 else "tab20"]
    return [cmap(i % cmap.N) for i in range(n)]


def _as_str(column: pd.Series) -> pd.Series:
    return column.astype("object").astype(str) if column.dtype != float else column


def _wrap(text: str, width: int) -> str:
    words: Iterable[str] = text.split()
    lines: list[str] = []
    line = ""
    for word in words:
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    lines.append(line)
    return "\n".join(lines)


def _duration_text(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:.3g} h"
    if seconds >= 60:
        return f"{seconds / 60:.3g} min"
    return f"{seconds:.3g} s"
