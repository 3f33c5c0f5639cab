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
from collections.abc import Iterable, Mapping, Sequence
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


# -- many runs: sweeps and comparisons ---------------------------------------------------------

#: Statistic columns of a ``Sweep.ci()`` frame (everything else but ``figure`` is a factor).
_CI_COLUMNS = ("variant", "figure", "n", "mean", "std", "half_width", "low", "high")
_TABLE_COLUMNS = ("variant", "seed", "error")


def _figure_unit(figure: str) -> tuple[float, str]:
    """Scale and unit of a summary figure's values: fractions in %, seconds, dollars."""
    name = figure.rsplit("/", 1)[-1]
    if name == "availability" or name.endswith(
        ("_reservation_mean", "_reservation_peak", "_utilization_mean", "_utilization_peak")
    ):
        return 100.0, f"{name} (%)"
    if name.endswith("_s"):
        return 1.0, f"{name.removesuffix('_s')} (s)"
    if name.endswith("_usd"):
        return 1.0, f"{name.removesuffix('_usd')} (USD)"
    if name.endswith("_hours"):
        return 1.0, f"{name.removesuffix('_hours').replace('_', ' ')} (hours)"
    return 1.0, name


def _ci_frame(source: Any, figure: str | None, level: float = 0.95) -> pd.DataFrame:
    """Normalise a Sweep, its ``table`` or its ``ci()`` frame to ``ci()`` rows of one figure."""
    if hasattr(source, "ci") and hasattr(source, "table"):
        source = source.ci(level=level, figures=None if figure is None else [figure])
    if not isinstance(source, pd.DataFrame):
        raise TypeError(f"expected a Sweep, its table or ci() frame, got {type(source).__name__}")
    frame = source
    if "mean" not in frame.columns:  # a Sweep.table (one row per run): interval per variant
        if figure is None or figure not in frame.columns:
            raise ValueError("from a table of runs, name the figure column with figure=")
        frame = _interval_by_variant(frame, figure, level)
    if "figure" in frame.columns:
        figures = frame["figure"].astype("object").unique().tolist()
        if figure is None:
            if len(figures) != 1:
                raise ValueError(
                    f"the frame holds {len(figures)} figures; choose one with figure= "
                    f"(e.g. {figures[0]!r})"
                )
            figure = str(figures[0])
        frame = frame[frame["figure"].astype("object") == figure]
        if frame.empty:
            raise ValueError(f"no rows for figure {figure!r}")
    missing = [c for c in ("mean", "low", "high") if c not in frame.columns]
    if missing:
        raise ValueError(f"missing column(s) {', '.join(missing)}")
    return frame.reset_index(drop=True)


def _interval_by_variant(table: pd.DataFrame, figure: str, level: float) -> pd.DataFrame:
    from ecssim.experiment import t_quantile

    if "label" in table.columns:
        keys = ["label"]
    else:
        factors = [c for c in table.columns if c not in _TABLE_COLUMNS and "/" not in str(c)]
        keys = ["variant", *factors] if "variant" in table.columns else factors
    rows = []
    for key, part in table.groupby(keys, sort=False) if keys else [((), table)]:
        values = part[figure].to_numpy(float)
        values = values[~np.isnan(values)]
        n = len(values)
        mean = float(values.mean()) if n else math.nan
        half = (
            t_quantile(level, n - 1) * float(values.std(ddof=1)) / math.sqrt(n)
            if n > 1
            else math.nan
        )
        label = dict(zip(keys, key if isinstance(key, tuple) else (key,), strict=True))
        rows.append(
            {
                **label,
                "figure": figure,
                "n": n,
                "mean": mean,
                "low": mean - half,
                "high": mean + half,
            }
        )
    return pd.DataFrame(rows)


def _factor_names(frame: pd.DataFrame) -> list[str]:
    return [str(c) for c in frame.columns if c not in _CI_COLUMNS and c != "label"]


def _variant_labels(frame: pd.DataFrame) -> tuple[list[str], str]:
    """One label per row (the ``label`` column or the factor values) and the axis title."""
    if "label" in frame.columns:
        return [str(v) for v in frame["label"]], "variant"
    factors = _factor_names(frame)
    if len(factors) == 1:
        return [str(v) for v in frame[factors[0]]], factors[0]
    if factors:
        short = [f.rsplit(".", 1)[-1] for f in factors]
        labels = [
            "\n".join(f"{name}={row[f]}" for name, f in zip(short, factors, strict=True))
            for _, row in frame.iterrows()
        ]
        return labels, "variant"
    if "variant" in frame.columns:
        return [f"variant {v}" for v in frame["variant"]], "variant"
    return [str(i) for i in range(len(frame))], "variant"


def strategy_comparison(
    table_or_ci: Any,
    figure: str | None = None,
    ax: Axes | None = None,
    *,
    level: float = 0.95,
    zoom: bool = False,
) -> Axes:
    """Bars of a figure's mean per variant, with confidence-interval error bars.

    Accepted inputs:

    - a :class:`~ecssim.experiment.Sweep` (its ``ci(level)`` is used);
    - a ``Sweep.ci()`` frame: columns ``figure``, ``mean``, ``low``, ``high`` and the factor
      columns (one per varied path) that label the bars;
    - any frame with one row per bar and columns ``label``, ``mean``, ``low``, ``high``
      (``figure`` optional; NaN bounds draw no error bar);
    - a ``Sweep.table`` (one row per run): the Student-t interval is computed per variant
      (its factor columns label the bars), or any table of runs with a ``label`` column and
      one column per figure: the interval is computed per label.

    Args:
        table_or_ci: One of the inputs above.
        figure: The summary figure to draw (``service/prod/web/availability``); may be left out
            when the frame holds one figure only.
        ax: Axes to draw on; a new figure when ``None``.
        level: Confidence level when the interval is computed here.
        zoom: Start the value axis near the lowest interval instead of at 0 (says so in the
            axis label); useful for availabilities close to 100 %.

    Returns:
        The Axes drawn on.
    """
    frame = _ci_frame(table_or_ci, figure, level)
    name = str(frame["figure"].iloc[0]) if "figure" in frame.columns else (figure or "value")
    scale, unit = _figure_unit(name)
    labels, axis_title = _variant_labels(frame)
    ax = _new_axes(ax, figsize=(max(5.0, 1.3 * len(frame) + 2), 4.5))
    mean = frame["mean"].to_numpy(float) * scale
    low = frame["low"].to_numpy(float) * scale
    high = frame["high"].to_numpy(float) * scale
    errors = np.vstack([np.nan_to_num(mean - low), np.nan_to_num(high - mean)])
    xs = np.arange(len(frame), dtype=float)
    colours = _colour_cycle(len(frame))
    ax.bar(xs, mean, width=0.6, color=colours, edgecolor="black", linewidth=0.6, zorder=2)
    ax.errorbar(
        xs, mean, yerr=errors, fmt="none", ecolor="black", capsize=6, linewidth=1.4, zorder=3
    )
    tops = np.where(np.isnan(high), mean, high)
    finite = np.concatenate([mean[np.isfinite(mean)], tops[np.isfinite(tops)]])
    top = float(finite.max()) if len(finite) else 1.0
    bottom = 0.0
    if zoom and len(finite):
        lows = np.where(np.isnan(low), mean, low)
        least = float(np.nanmin(lows))
        span = max(top - least, abs(top) * 1e-3, 1e-9)
        bottom = least - 0.6 * span
    span = max(top - bottom, 1e-9)
    for x, m, t in zip(xs, mean, tops, strict=True):
        if np.isfinite(m):
            ax.annotate(
                f"{m:.4g}",
                xy=(x, (t if np.isfinite(t) else m) + 0.02 * span),
                ha="center",
                va="bottom",
                fontsize="small",
            )
    ax.set_xticks(xs)
    ax.set_xticklabels(labels, fontsize="small")
    ax.set_xlim(-0.6, len(frame) - 0.4)
    ax.set_ylim(bottom, top + 0.15 * span if top > bottom else bottom + 1)
    ax.set_xlabel(axis_title)
    ax.set_ylabel(unit + (f" — axis from {bottom:.4g}" if zoom else ""))
    n = frame["n"].dropna() if "n" in frame.columns else pd.Series([], dtype=float)
    runs = f", n = {int(n.min())}" if len(n) and n.min() == n.max() else ""
    ax.set_title(f"{name.rsplit('/', 1)[-1]}: mean with {level:.0%} CI{runs}")
    ax.grid(True, axis="y", alpha=0.3)
    return ax


def sweep_curve(
    ci_frame: Any,
    x: str,
    figure: str | None = None,
    ax: Axes | None = None,
    *,
    level: float = 0.95,
    threshold: float | None = None,
) -> Axes:
    """Mean of a figure over a numeric factor, with its confidence interval as a band.

    Args:
        ci_frame: A Sweep, its ``ci()`` frame or its table (see :func:`strategy_comparison`);
            the column ``x`` holds the factor's numeric levels. Other factors, if any, get one
            line each.
        x: The factor path on the horizontal axis (``instances[0].count``).
        figure: The summary figure (may be left out when the frame holds one).
        ax: Axes to draw on; a new figure when ``None``.
        level: Confidence level when the interval is computed here.
        threshold: Draw a horizontal reference line at this value (in the figure's own
            units, e.g. ``0.99`` for an availability).

    Returns:
        The Axes drawn on.
    """
    frame = _ci_frame(ci_frame, figure, level)
    if x not in frame.columns:
        raise ValueError(f"no column {x!r}; factors: {', '.join(_factor_names(frame)) or 'none'}")
    name = str(frame["figure"].iloc[0]) if "figure" in frame.columns else (figure or "value")
    scale, unit = _figure_unit(name)
    ax = _new_axes(ax, figsize=(8, 4.5))
    others = [f for f in _factor_names(frame) if f != x and frame[f].nunique() > 1]
    groups = list(frame.groupby(others, sort=True)) if others else [((), frame)]
    colours = _colour_cycle(len(groups))
    for (key, part), colour in zip(groups, colours, strict=True):
        part = part.sort_values(x)
        xs = part[x].to_numpy(float)
        label = (
            ", ".join(
                f"{o}={v}"
                for o, v in zip(others, key if isinstance(key, tuple) else (key,), strict=True)
            )
            or f"mean ({level:.0%} CI band)"
        )
        ax.fill_between(
            xs,
            part["low"].to_numpy(float) * scale,
            part["high"].to_numpy(float) * scale,
            color=colour,
            alpha=0.25,
            linewidth=0,
        )
        ax.plot(
            xs, part["mean"].to_numpy(float) * scale, "o-", color=colour, linewidth=2, label=label
        )
    if threshold is not None:
        ax.axhline(
            threshold * scale,
            color="#c0392b",
            linestyle="--",
            linewidth=1.2,
            label=f"target {threshold * scale:.4g}",
        )
    ax.set_xlabel(x)
    ax.set_ylabel(unit)
    values = frame[x].to_numpy(float)
    if len(values) and np.allclose(values, np.round(values)):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_title(f"{name.rsplit('/', 1)[-1]} over {x} (mean, {level:.0%} CI band)")
    ax.grid(True, alpha=0.3)
    _legend_outside(ax)
    return ax


# -- one placement decision --------------------------------------------------------------------


def _decision_strategies(meta: dict[str, Any], cluster: str, group: str) -> list[str] | None:
    """The strategy chain of a decision's group, looked up in the scenario (best effort)."""
    document = meta.get("scenario") or {}
    items: Any = None
    kind, _, name = group.partition(":")
    if kind == "service":
        for service in document.get("services") or []:
            if service.get("serviceName") == name and service.get("cluster", cluster) == cluster:
                items = service.get("placementStrategy") or [
                    {"type": "spread", "field": "attribute:ecs.availability-zone"},
                    {"type": "spread", "field": "instanceId"},
                ]
    else:
        for workload in document.get("workloads") or []:
            family = str(workload.get("taskDefinition", "")).split(":")[0]
            wanted = workload.get("group") or f"family:{family}"
            if workload.get("cluster") == cluster and wanted == group:
                items = workload.get("placementStrategy") or []
    if items is None:
        return None
    return [f"{i['type']}" + (f"({i['field']})" if i.get("field") else "") for i in items]


def _instances_at(instances: pd.DataFrame, cluster: str, t: float) -> pd.DataFrame:
    rows = _select(instances, "cluster", cluster)
    registered = rows["registered_at"].to_numpy(float)
    stopped = np.nan_to_num(rows["stopped_at"].to_numpy(float), nan=math.inf)
    return rows[(registered <= t) & (t < stopped)]


def _remaining_before(result: Any, index: int, decision: pd.Series) -> pd.DataFrame:
    """Per instance alive at the decision: registered and remaining CPU / memory just before it.

    Rebuilt from the per-instance ``cpu_reserved`` / ``memory_reserved`` levels before ``t``,
    plus the decisions taken earlier at the same instant (a RunTask with count > 1).
    """
    t, cluster = float(decision["t"]), str(decision["cluster"])
    alive = _instances_at(result.instances, cluster, t).copy()
    series = result.series
    rows = series[
        (series["cluster"].astype("object") == cluster)
        & ~_isnull(series["container_instance"])
        & (series["t"].to_numpy(float) < t)
    ]
    for resource in ("cpu", "memory"):
        level = rows[rows["metric"].astype("object") == f"{resource}_reserved"]
        last = level.groupby(level["container_instance"].astype("object"))["value"].last()
        reserved = alive["container_instance"].astype("object").map(last).fillna(0.0)
        alive[f"remaining_{resource}"] = alive[f"registered_{resource}"].to_numpy(
            float
        ) - reserved.to_numpy(float)
    need = _decision_need(result, decision)
    placements = result.placements
    before = placements.iloc[: index if index >= 0 else len(placements) + index]
    same = before[
        (before["t"].to_numpy(float) == t)
        & (before["cluster"].astype("object") == cluster)
        & ~_isnull(before["container_instance"])
    ]
    for arn in same["container_instance"].astype("object"):
        hit = alive["container_instance"].astype("object") == arn
        alive.loc[hit, "remaining_cpu"] -= need[0]
        alive.loc[hit, "remaining_memory"] -= need[1]
    return alive


def _decision_need(result: Any, decision: pd.Series) -> tuple[float, float]:
    """CPU and memory the decision's task reserves (from the tasks of its group)."""
    tasks = _select(result.tasks, "cluster", str(decision["cluster"]))
    mine = tasks[tasks["group"].astype("object") == decision["group"]]
    if mine.empty:
        return math.nan, math.nan
    return float(mine["cpu"].mode().iloc[0]), float(mine["memory"].mode().iloc[0])


def placement_decision(
    result: Result,
    index: int = -1,
    ax: Axes | None = None,
    *,
    strategies: Sequence[str] | None = None,
) -> Axes:
    """One placement decision explained: how many instances survived each step, and why.

    Draws a funnel of horizontal bars: instances in the cluster, available (ACTIVE with the
    agent connected), after the fit (CPU, memory, ports, ENIs, GPUs), after the constraints and
    after each strategy of the chain; and annotates the chosen instance and the closest
    rejected one with its reason. For a failed placement the reason is ECS's own (from the
    ``placements`` frame). For a successful one the closest rejected instance is the one that
    missed the fit by the least, from the CPU / memory reservations just before the decision
    (rebuilt from ``series``; port, ENI and GPU conflicts are not reconstructed).

    Args:
        result: A Result recorded with ``explain`` on (``placements`` frame).
        index: Row of the ``placements`` frame (negative counts from the end).
        ax: Axes to draw on; a new figure when ``None``.
        strategies: Names of the strategy steps (default: looked up in the scenario, else
            ``strategy 1``, ``strategy 2`` ...).

    Returns:
        The Axes drawn on.
    """
    placements = getattr(result, "placements", None)
    if placements is None or len(placements) == 0:
        raise ValueError(
            "no placement decisions recorded: run with explain: true (or sim.explain = True)"
        )
    if not -len(placements) <= index < len(placements):
        raise IndexError(f"index {index} out of range for {len(placements)} decisions")
    decision = placements.iloc[index]
    t, cluster, group = float(decision["t"]), str(decision["cluster"]), str(decision["group"])
    chosen = decision["container_instance"]
    failed = _isnull(np.array([chosen], dtype=object))[0]
    steps_text = str(decision["after_strategies"] or "")
    strategy_counts = [int(c) for c in steps_text.split(",") if c.strip()]
    names = list(strategies) if strategies is not None else None
    if names is None:
        names = _decision_strategies(getattr(result, "meta", {}), cluster, group)
    if names is None or len(names) < len(strategy_counts):
        names = [f"strategy {i + 1}" for i in range(len(strategy_counts))]
    alive = _remaining_before(result, index, decision)
    steps = [
        ("in the cluster", len(alive)),
        ("available\n(ACTIVE, agent connected)", int(decision["candidates"])),
        ("fit\n(CPU, memory, ports, ENI, GPU)", int(decision["after_fit"])),
        ("placement constraints", int(decision["after_constraints"])),
    ]
    steps += [(f"strategy: {n}", c) for n, c in zip(names, strategy_counts, strict=False)]
    if failed:
        steps = steps[:4]
    ax = _new_axes(ax, figsize=(10, 5))
    ys = np.arange(len(steps), dtype=float)
    counts = np.array([c for _, c in steps], dtype=float)
    colours = ["#95a5a6", "#5d8aa8", "#4c9a2a", "#2e7d32"] + ["#f39c12"] * len(strategy_counts)
    ax.barh(ys, counts, color=colours[: len(steps)], edgecolor="black", height=0.6, zorder=2)
    for y, c in zip(ys, counts, strict=True):
        ax.annotate(
            f"{int(c)}",
            xy=(c, y),
            xytext=(4, 0),
            textcoords="offset points",
            va="center",
            fontsize="small",
            fontweight="bold",
        )
    ax.set_yticks(ys)
    ax.set_yticklabels([s for s, _ in steps], fontsize="small")
    ax.set_ylim(len(steps) - 0.4, -0.6)
    top = float(max(counts.max(), 1.0))
    ax.set_xlim(0, top * 1.15)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("candidate container instances left")
    zone = dict(
        zip(
            alive["container_instance"].astype("object"),
            alive["availability_zone"].astype("object"),
            strict=True,
        )
    )
    lines = []
    if not failed:
        lines.append(f"chosen: {_short(chosen)} ({zone.get(chosen, '?')})")
    need_cpu, need_memory = _decision_need(result, decision)
    if failed:
        closest = decision["closest_instance"]
        reason = str(decision["reason"])
        where = f"{_short(closest)} ({zone.get(closest, '?')})" if pd.notna(closest) else "none"
        lines.append(f"no instance: closest match {where}\nreason: {reason}")
    else:
        lines.append(_closest_rejected(alive, need_cpu, need_memory, decision))
    if np.isfinite(need_cpu):
        lines.append(f"task needs {need_cpu:.0f} CPU units, {need_memory:.0f} MiB")
    ax.text(  # beside the axes, so it never covers a bar
        1.02,
        0.0,
        "\n".join(lines),
        transform=ax.transAxes,
        ha="left",
        va="bottom",
        fontsize="small",
        bbox={"boxstyle": "round", "facecolor": "white", "edgecolor": "0.6", "alpha": 0.95},
        zorder=4,
    )
    scale, label = _time_scale(_end(result))
    unit = label.split("(")[-1].rstrip(")")
    outcome = "failed" if failed else "placed"
    ax.set_title(
        f"Placement decision {index if index >= 0 else len(placements) + index} "
        f"({outcome}): {group} in {cluster} at t = {t / scale:.4g} {unit}"
    )
    ax.grid(True, axis="x", alpha=0.3)
    return ax


def _closest_rejected(
    alive: pd.DataFrame, need_cpu: float, need_memory: float, decision: pd.Series
) -> str:
    """Text naming the rejected instance that missed the fit by the least, with its reason."""
    if not np.isfinite(need_cpu) or alive.empty:
        return "closest rejected: unknown (no task of this group recorded)"
    short_cpu = np.clip(need_cpu - alive["remaining_cpu"].to_numpy(float), 0, None)
    short_memory = np.clip(need_memory - alive["remaining_memory"].to_numpy(float), 0, None)
    rejected = (short_cpu > 0) | (short_memory > 0)
    if not rejected.any():
        left = int(decision["after_constraints"])
        if int(decision["after_fit"]) < int(decision["candidates"]):
            return "closest rejected: an instance failed on ports, ENIs or GPUs"
        return f"no instance rejected by the fit; {left - 1} lost to the strategies"
    # the least relative shortfall, in ECS's filter order (CPU before memory)
    misses = short_cpu / max(need_cpu, 1.0) + short_memory / max(need_memory, 1.0)
    misses = np.where(rejected, misses, np.inf)
    i = int(np.argmin(misses))
    row = alive.iloc[i]
    reason = "RESOURCE:CPU" if short_cpu[i] > 0 else "RESOURCE:MEMORY"
    return (
        f"closest rejected: {_short(row['container_instance'])} ({row['availability_zone']}), "
        f"{reason}\n  ({row['remaining_cpu']:.0f} CPU units, "
        f"{row['remaining_memory']:.0f} MiB free)"
    )


# -- reservation and utilization ---------------------------------------------------------------


def cluster_utilization(
    result: Result | pd.DataFrame, cluster: str | None = None, ax: Axes | None = None
) -> Axes:
    """CPU and memory reserved and used, as a percentage of registered, over time.

    Reservation (solid) is what tasks reserve; utilization (dashed) is the modelled usage
    (``cpu_used`` / ``memory_used`` series, written when a task family has a usage model). A
    run without usage series shows reservation only and says so in the title.

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
    colours = {"cpu": "#1f77b4", "memory": "#ff7f0e"}
    styles = list(zip(["-", "-.", ":"], [1.0, 0.6, 0.4], strict=True))
    any_usage = False
    for k, clu in enumerate(clusters):
        part = rows[rows["cluster"].astype("object") == clu]
        style, alpha = styles[k % len(styles)]
        for resource in ("cpu", "memory"):
            registered = _level(part, f"{resource}_registered")
            for kind, line in (("reserved", "-"), ("used", "--")):
                numerator = _level(part, f"{resource}_{kind}")
                if numerator.empty:
                    continue
                any_usage |= kind == "used"
                levels = pd.concat({"n": numerator, "d": registered}, axis=1).sort_index()
                levels = levels.ffill().fillna(0.0)
                d = levels["d"].to_numpy(float)
                with np.errstate(divide="ignore", invalid="ignore"):
                    pct = np.where(d > 0, 100.0 * levels["n"].to_numpy(float) / d, 0.0)
                x, y = _step(levels.index.to_numpy(float), pct, end)
                name = f"{clu} " if len(clusters) > 1 else ""
                what = "utilization" if kind == "used" else "reservation"
                ax.step(
                    x / scale,
                    y,
                    where="post",
                    linestyle=line if len(clusters) == 1 else style,
                    color=colours[resource],
                    alpha=alpha if len(clusters) > 1 else 1.0,
                    linewidth=1.8 if kind == "reserved" else 1.3,
                    label=f"{name}{'CPU' if resource == 'cpu' else 'memory'} {what}",
                )
    ax.set_xlim(0, end / scale if end > 0 else 1)
    ax.set_ylim(0, 105)
    ax.set_xlabel(label)
    ax.set_ylabel("% of registered")
    title = "Cluster reservation and utilization" if any_usage else "Cluster reservation"
    if cluster:
        title += f" — {cluster}"
    if not any_usage:
        title += "\n(no usage modelled: utilization not available)"
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    _legend_outside(ax)
    return ax


# -- recovery times ----------------------------------------------------------------------------


def recovery_episodes(
    results: Any, service: str | None = None, label: str | None = None
) -> pd.DataFrame:
    """Every disruption of every run, one row each, with how long the service took to recover.

    A disruption and its recovery time are defined as for the summary's
    ``recovery_time_*_s`` figures (``docs/results-reference.md``): from a task of a service
    that had reached its desired count stopping serving, to the service being back at its
    desired count. Disruptions still open at the end of a run are not counted.

    Args:
        results: A Result, a sequence of Results, or ``{label: Result or sequence}``.
        service: Only this service.
        label: Label of the runs when ``results`` is not a mapping.

    Returns:
        Columns ``label``, ``seed``, ``cluster``, ``service``, ``recovery_s``.
    """
    from ecssim.analysis import _service_availability

    mapping = isinstance(results, Mapping)
    groups = list(results.items()) if mapping else [(label or "runs", results)]
    rows: list[tuple[str, Any, str, str, float]] = []
    for name, runs in groups:
        for run in [runs] if hasattr(runs, "tasks") else list(runs):
            tasks, series = run.tasks, run.series
            desired_all = series[series["metric"].astype("object") == "desired_count"]
            keys = desired_all[["cluster", "service"]].astype("object").drop_duplicates()
            for cluster, svc in keys.itertuples(index=False):
                if service is not None and svc != service:
                    continue
                mine = tasks[
                    (tasks["cluster"].astype("object") == cluster)
                    & (tasks["service"].astype("object") == svc)
                ]
                desired = desired_all[
                    (desired_all["cluster"].astype("object") == cluster)
                    & (desired_all["service"].astype("object") == svc)
                ]
                _, episodes = _service_availability(mine, desired, run.end)
                seed = run.meta.get("seed")
                rows.extend((str(name), seed, str(cluster), str(svc), e) for e in episodes)
    return pd.DataFrame(rows, columns=["label", "seed", "cluster", "service", "recovery_s"])


def recovery_times(
    results_or_frame: Any,
    ax: Axes | None = None,
    *,
    service: str | None = None,
    log: bool | None = None,
) -> Axes:
    """Empirical CDF of recovery times across replications, one curve per label.

    Args:
        results_or_frame: A frame with a ``recovery_s`` column (and optionally ``label``), as
            :func:`recovery_episodes` returns; or what :func:`recovery_episodes` accepts.
        ax: Axes to draw on; a new figure when ``None``.
        service: Only this service (when given Results).
        log: Logarithmic time axis; by default when the times span more than 100x (a crash
            replaced in seconds next to an instance replaced in minutes).

    Returns:
        The Axes drawn on.
    """
    if isinstance(results_or_frame, pd.DataFrame):
        frame = results_or_frame
        if "recovery_s" not in frame.columns:
            raise ValueError("the frame needs a recovery_s column (see recovery_episodes)")
    else:
        frame = recovery_episodes(results_or_frame, service=service)
    ax = _new_axes(ax, figsize=(9, 4.5))
    labels = (
        [str(v) for v in frame["label"].astype("object").unique()]
        if "label" in frame.columns
        else ["runs"]
    )
    values_all = frame["recovery_s"].to_numpy(float)
    values_all = values_all[np.isfinite(values_all)]
    longest = float(values_all.max()) if len(values_all) else 0.0
    shortest = float(values_all[values_all > 0].min()) if (values_all > 0).any() else 0.0
    log = log if log is not None else bool(shortest > 0 and longest / shortest > 100)
    divisor, unit = (60.0, "min") if longest > 300 and not log else (1.0, "s")
    for name, colour in zip(labels, _colour_cycle(len(labels)), strict=True):
        part = frame if "label" not in frame.columns else frame[frame["label"] == name]
        values = np.sort(part["recovery_s"].to_numpy(float))
        values = values[np.isfinite(values)] / divisor
        if not len(values):
            ax.plot([], [], color=colour, label=f"{name} (no disruptions)")
            continue
        levels = np.arange(1, len(values) + 1) / len(values)
        first = values[0] if log else 0.0
        xs = np.concatenate([[first], values])
        ys = np.concatenate([[0.0], levels])
        median = float(np.median(values))
        ax.step(
            xs,
            ys,
            where="post",
            color=colour,
            linewidth=2,
            label=f"{name}\n(n = {len(values)}, median {median:.3g} {unit})",
        )
        ax.plot([median], [0.5], "o", color=colour, markersize=6)
    if log:
        ax.set_xscale("log")
        ax.set_xlim(max(shortest / divisor, 1e-3) / 1.5, longest / divisor * 1.5)
    else:
        ax.set_xlim(0, longest / divisor * 1.05 if longest > 0 else 1.0)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel(f"time to recover ({unit}{', log scale' if log else ''})")
    ax.set_ylabel("fraction of disruptions recovered")
    ax.set_title("Recovery times across replications (ECDF; dots: medians)")
    ax.grid(True, which="both", alpha=0.3)
    _legend_outside(ax)
    return ax


def save_standard_plots(result: Result, out_dir: str | os.PathLike[str]) -> list[Path]:
    """Write the standard PNG plots of a run into ``out_dir``.

    Writes ``running_vs_desired.png``, ``cluster_reservation.png``, ``cluster_map.png``,
    ``placement_failures.png`` (only when there were failures), ``task_timeline.png``,
    ``cluster_utilization.png`` (only when usage was modelled) and ``placement_decision.png``
    (the last decision, only when placements were explained).
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
    if (result.series["metric"] == "cpu_used").any():
        jobs.append(("cluster_utilization", cluster_utilization, (10, 5)))
    if result.placements is not None and len(result.placements):
        jobs.append(("placement_decision", placement_decision, (10, 5)))
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
