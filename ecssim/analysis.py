"""Frames in, frames out: the headline figures of a run (``Result.summary()``).

Every figure is defined in ``docs/results-reference.md``. Time-weighted figures integrate step
functions exactly (level x time between changes); nothing is sampled.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

SUMMARY_COLUMNS = ["scope", "cluster", "service", "figure", "value"]
#: Stop codes and reasons that count a task as failed (not stopped on purpose).
_FAILED_CODES = {"TaskFailedToStart", "TerminationNotice", "SpotInterruption"}


def step_mean_and_peak(
    times: np.ndarray, values: np.ndarray, start: float, end: float
) -> tuple[float, float]:
    """Time-weighted mean and peak of a step function over ``[start, end]``.

    ``values[i]`` holds from ``times[i]`` until ``times[i + 1]``; before the first change the
    level is 0. Several changes at the same instant keep the last.
    """
    if end <= start:
        return math.nan, math.nan
    if len(times) == 0:
        return 0.0, 0.0
    t = np.concatenate([[start], np.clip(times, start, end), [end]])
    v = np.concatenate([[0.0], values, [values[-1]]])
    # level on [t[i], t[i+1]) is v[i]
    widths = np.diff(t)
    mean = float(np.sum(widths * v[:-1]) / (end - start))
    held = widths > 0
    peak = float(np.max(v[:-1][held])) if held.any() else float(v[-1])
    return mean, peak


def serving_intervals(tasks: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Start and end of each task's RUNNING period.

    The end is the first of stopping, execution stopped or stopped; ``inf`` while running.
    """
    started = tasks["started_at"].to_numpy(dtype=float)
    ends = np.fmin(
        np.fmin(
            tasks["stopping_at"].to_numpy(dtype=float),
            tasks["execution_stopped_at"].to_numpy(dtype=float),
        ),
        tasks["stopped_at"].to_numpy(dtype=float),
    )
    ends = np.where(np.isnan(ends), np.inf, ends)
    keep = ~np.isnan(started)
    return started[keep], ends[keep]


def _service_availability(
    tasks: pd.DataFrame, desired: pd.DataFrame, end: float
) -> tuple[float, list[float]]:
    """Availability and the durations of each disruption (see results-reference)."""
    starts, stops = serving_intervals(tasks)
    change_t = np.concatenate([starts, stops[np.isfinite(stops)], desired["t"].to_numpy(float)])
    kind = np.concatenate(
        [
            np.ones(len(starts)),
            -np.ones(int(np.isfinite(stops).sum())),
            np.zeros(len(desired)),
        ]
    )
    desired_values = np.concatenate(
        [np.full(len(starts) + int(np.isfinite(stops).sum()), np.nan), desired["value"].to_numpy()]
    )
    order = np.lexsort((-kind, change_t))  # at one instant: starts, then desired, then stops
    running = 0.0
    want = 0.0
    last_t = 0.0
    up = 0.0
    total = 0.0
    reached = False
    down_since: float | None = None
    episodes: list[float] = []
    for i in order:
        t = min(change_t[i], end)
        if t > last_t:
            if want > 0:
                up += (t - last_t) * min(running, want) / want
                total += t - last_t
            last_t = t
        if kind[i] > 0:
            running += 1
        elif kind[i] < 0:
            running -= 1
        else:
            want = desired_values[i]
        if running >= want and want > 0:
            reached = True
            if down_since is not None:
                episodes.append(t - down_since)
                down_since = None
        elif reached and down_since is None and running < want and kind[i] < 0:
            down_since = t  # a task stopped serving: a scale-out is not a disruption
    if end > last_t and want > 0:
        up += (end - last_t) * min(running, want) / want
        total += end - last_t
    availability = up / total if total > 0 else math.nan
    return availability, episodes


def _count_replaced(service_tasks: pd.DataFrame) -> int:
    """Tasks the service created to replace one of its tasks that failed before."""
    failed_at = service_tasks.loc[_failed_mask(service_tasks), "stopped_at"].to_numpy(float)
    created = np.sort(service_tasks["created_at"].to_numpy(float))
    failed_at = np.sort(failed_at[~np.isnan(failed_at)])
    replaced = 0
    j = 0
    for t in created:
        if j < len(failed_at) and failed_at[j] <= t:
            replaced += 1
            j += 1
    return replaced


def _failed_mask(tasks: pd.DataFrame) -> pd.Series:
    codes = tasks["stop_code"].astype(object)
    crashed = tasks["exit_code"].fillna(0).to_numpy() != 0
    return pd.Series(codes.isin(_FAILED_CODES).to_numpy() | crashed, index=tasks.index)


def summarize(frames: dict[str, pd.DataFrame], end: float, start: float = 0.0) -> pd.DataFrame:
    """Headline figures per service and per cluster as a long frame.

    Columns: ``scope`` (``service`` or ``cluster``), ``cluster``, ``service`` (None for cluster
    figures), ``figure`` and ``value``.
    """
    tasks = frames["tasks"]
    series = frames["series"]
    failures = frames["failures"]
    instances = frames["instances"]
    rows: list[tuple[str, str, str | None, str, float]] = []
    service_series = series[series["service"].notna()]
    services = (
        service_series[["cluster", "service"]].drop_duplicates().astype(str).itertuples(index=False)
    )
    for cluster, service in services:
        mine = tasks[(tasks["cluster"] == cluster) & (tasks["service"] == service)]
        desired = service_series[
            (service_series["cluster"] == cluster)
            & (service_series["service"] == service)
            & (service_series["metric"] == "desired_count")
        ]
        availability, episodes = _service_availability(mine, desired, end)
        add = rows.append
        add(("service", cluster, service, "availability", availability))
        add(("service", cluster, service, "disruptions", float(len(episodes))))
        for name, q in (("p50", 50), ("p95", 95)):
            value = float(np.percentile(episodes, q)) if episodes else math.nan
            add(("service", cluster, service, f"recovery_time_{name}_s", value))
        add(
            (
                "service",
                cluster,
                service,
                "recovery_time_max_s",
                float(max(episodes)) if episodes else math.nan,
            )
        )
        add(("service", cluster, service, "tasks_started", float(mine["started_at"].notna().sum())))
        add(("service", cluster, service, "tasks_failed", float(_failed_mask(mine).sum())))
        add(("service", cluster, service, "tasks_replaced", float(_count_replaced(mine))))
        waits = (mine["started_at"] - mine["created_at"]).dropna().to_numpy(float)
        for q in (50, 95, 99):
            value = float(np.percentile(waits, q)) if len(waits) else math.nan
            add(("service", cluster, service, f"time_to_running_p{q}_s", value))
        for resource in ("cpu", "memory"):
            used = service_series[
                (service_series["cluster"] == cluster)
                & (service_series["service"] == service)
                & (service_series["metric"] == f"{resource}_utilization")
            ]
            if len(used):
                values = used["value"].to_numpy(float)  # one datapoint per metrics interval
                add(
                    (
                        "service",
                        cluster,
                        service,
                        f"{resource}_utilization_mean",
                        float(values.mean()),
                    )
                )
                add(
                    (
                        "service",
                        cluster,
                        service,
                        f"{resource}_utilization_peak",
                        float(values.max()),
                    )
                )
        mine_failures = failures[
            (failures["cluster"] == cluster) & (failures["service"] == service)
        ]
        add(("service", cluster, service, "placement_failures", float(len(mine_failures))))
        for reason, count in (
            mine_failures["reason"].astype(str).value_counts().sort_index().items()
        ):
            add(("service", cluster, service, f"placement_failures[{reason}]", float(count)))
    cluster_names = sorted(
        set(series["cluster"].dropna().astype(str)) | set(instances["cluster"].dropna().astype(str))
    )
    for cluster in cluster_names:
        add = rows.append
        level = series[
            (series["cluster"] == cluster)
            & series["container_instance"].isna()
            & series["service"].isna()
        ]
        for resource in ("cpu", "memory"):
            reserved = level[level["metric"] == f"{resource}_reserved"]
            registered = level[level["metric"] == f"{resource}_registered"]
            ratio_t, ratio_v = _ratio_steps(reserved, registered)
            mean, peak = step_mean_and_peak(ratio_t, ratio_v, start, end)
            add(("cluster", cluster, None, f"{resource}_reservation_mean", mean))
            add(("cluster", cluster, None, f"{resource}_reservation_peak", peak))
            used = level[level["metric"] == f"{resource}_used"]
            if len(used):
                ratio_t, ratio_v = _ratio_steps(used, registered)
                mean, peak = step_mean_and_peak(ratio_t, ratio_v, start, end)
                add(("cluster", cluster, None, f"{resource}_utilization_mean", mean))
                add(("cluster", cluster, None, f"{resource}_utilization_peak", peak))
        mine = instances[instances["cluster"] == cluster]
        launched = mine["launched_at"].to_numpy(float)
        stopped = np.where(mine["stopped_at"].isna(), end, mine["stopped_at"].to_numpy(float))
        seconds = np.clip(np.minimum(stopped, end) - launched, 0, None)
        billed = np.where(seconds > 0, np.maximum(seconds, 60.0), 0.0)  # per second, 60 s minimum
        add(("cluster", cluster, None, "instances_launched", float(len(mine))))
        add(("cluster", cluster, None, "instance_hours", float(seconds.sum() / 3600)))
        add(
            (
                "cluster",
                cluster,
                None,
                "cost_usd",
                float(np.sum(billed / 3600 * mine["hourly_price"].to_numpy(float))),
            )
        )
        standalone = tasks[(tasks["cluster"] == cluster) & tasks["service"].isna()]
        if len(standalone):
            add(
                (
                    "cluster",
                    cluster,
                    None,
                    "standalone_tasks_started",
                    float(standalone["started_at"].notna().sum()),
                )
            )
        cluster_failures = failures[(failures["cluster"] == cluster) & failures["service"].isna()]
        add(("cluster", cluster, None, "runtask_placement_failures", float(len(cluster_failures))))
        for reason, count in (
            cluster_failures["reason"].astype(str).value_counts().sort_index().items()
        ):
            add(("cluster", cluster, None, f"runtask_placement_failures[{reason}]", float(count)))
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


def _ratio_steps(
    numerator: pd.DataFrame, denominator: pd.DataFrame
) -> tuple[np.ndarray, np.ndarray]:
    """Step function numerator/denominator at the union of their change times (0 when / 0)."""
    t = np.union1d(numerator["t"].to_numpy(float), denominator["t"].to_numpy(float))
    if len(t) == 0:
        return t, t

    def at(frame: pd.DataFrame) -> np.ndarray:
        times = frame["t"].to_numpy(float)
        values = frame["value"].to_numpy(float)
        index = np.searchsorted(times, t, side="right") - 1
        return np.where(index >= 0, values[np.clip(index, 0, None)] if len(values) else 0.0, 0.0)

    num, den = at(numerator), at(denominator)
    ratio = np.divide(num, den, out=np.zeros_like(num), where=den > 0)
    return t, ratio
