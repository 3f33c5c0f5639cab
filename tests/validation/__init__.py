"""Validation of ecssim against theory that is not ours (SPEC section 11, docs/validation.md).

The helpers here are shared by the fast tests in this package and by the bigger runs of
``tools/validation_report.py``: the theoretical formulas, the scenarios that put ecssim into
the textbook setting, the estimators that read the result frames, and confidence intervals
from independent replications.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

import numpy as np
import pandas as pd

import ecssim

# -- theory -------------------------------------------------------------------------------------


def erlang_b(servers: int, offered_load: float) -> float:
    """Erlang-B blocking probability B(N, A), by the stable recursion.

    ``B(0, A) = 1`` and ``B(n, A) = A B(n-1, A) / (n + A B(n-1, A))``: no factorials or powers,
    so it neither overflows nor loses precision for large N.
    """
    if servers < 0 or offered_load < 0:
        raise ValueError("servers and offered load must be >= 0")
    blocking = 1.0
    for n in range(1, servers + 1):
        blocking = offered_load * blocking / (n + offered_load * blocking)
    return blocking


def renewal_availability(mtbf_s: float, mean_delay_s: float) -> float:
    """Long-run fraction of time up of an alternating renewal process: MTBF / (MTBF + D)."""
    return mtbf_s / (mtbf_s + mean_delay_s)


# t quantiles (two-sided 95 %) for small samples; the normal quantile beyond the table.
_T975 = {
    1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306,
    9: 2.262, 10: 2.228, 11: 2.201, 12: 2.179, 13: 2.160, 14: 2.145, 15: 2.131, 16: 2.120,
    17: 2.110, 18: 2.101, 19: 2.093, 20: 2.086, 24: 2.064, 29: 2.045, 39: 2.023, 49: 2.010,
    59: 2.001, 99: 1.984,
}  # fmt: skip


def t975(df: int) -> float:
    """Two-sided 95 % Student t quantile for ``df`` degrees of freedom (conservative)."""
    if df < 1:
        return math.inf
    for key in sorted(_T975):
        if df <= key:
            return _T975[key]
    return NormalDist().inv_cdf(0.975)


@dataclass(frozen=True)
class Interval:
    """Mean of independent replications and its 95 % t confidence interval."""

    mean: float
    half_width: float
    n: int

    @property
    def low(self) -> float:
        """Lower end of the interval."""
        return self.mean - self.half_width

    @property
    def high(self) -> float:
        """Upper end of the interval."""
        return self.mean + self.half_width

    def contains(self, value: float) -> bool:
        """Whether ``value`` lies inside the interval."""
        return self.low <= value <= self.high

    def __str__(self) -> str:
        return f"{self.mean:.4f} ± {self.half_width:.4f}"


def interval(samples: Iterable[float]) -> Interval:
    """The replication mean with its 95 % confidence interval."""
    values = np.asarray(list(samples), dtype=float)
    n = len(values)
    if n < 2:
        raise ValueError("need at least two replications")
    half = t975(n - 1) * float(values.std(ddof=1)) / math.sqrt(n)
    return Interval(float(values.mean()), half, n)


# -- Erlang-B: RunTask as a loss system -----------------------------------------------------------

#: Image pull (first and cached) and container start are fixed, so the holding time of a task
#: is exactly ``PULL_S + START_S + runtime``: the control plane reserves the instance when it
#: places the task and releases it when the essential container exits (a one-container task
#: stops at once, so the agent frees it at the same instant).
PULL_S = 2.0
START_S = 1.0
SLOT_CPU = 1024


def loss_scenario(
    servers: int,
    offered_load: float,
    *,
    mean_holding_s: float = 600.0,
    runtime: str = "exponential",
    duration_s: float,
    warmup_s: float,
) -> dict[str, Any]:
    """A cluster of ``servers`` one-slot instances fed by Poisson RunTask calls.

    Every instance registers 1024 CPU units and every task asks for 1024, so exactly one task
    fits per instance and a call that finds all busy fails with ``RESOURCE:CPU``.
    """
    run_mean = mean_holding_s - PULL_S - START_S
    runtimes: dict[str, Any] = {
        "exponential": {"exponential": {"mean": run_mean}},
        "fixed": run_mean,
        "lognormal": {"lognormal": {"median": run_mean / math.exp(0.5), "sigma": 1.0}},
        "uniform": {"uniform": {"low": 0.0, "high": 2 * run_mean}},
    }
    rate_per_h = offered_load / mean_holding_s * 3600
    return {
        "version": 1,
        "name": f"erlang-b-{servers}-{offered_load:g}-{runtime}",
        "duration": duration_s,
        "clusters": [{"clusterName": "loss"}],
        "instances": [
            {
                "cluster": "loss",
                "instance_type": "m5.large",
                "count": servers,
                "cpu": SLOT_CPU,
            }
        ],
        "task_definitions": [
            {
                "family": "job",
                "containerDefinitions": [
                    {"name": "job", "image": "job:1", "cpu": SLOT_CPU, "memory": 256}
                ],
            }
        ],
        "task_behavior": {"job": {"runtime": runtimes[runtime]}},
        "workloads": [
            {
                "cluster": "loss",
                "taskDefinition": "job",
                "arrivals": {"poisson": {"rate": f"{rate_per_h!r}/h"}},
                "start": warmup_s / 2,
            }
        ],
        "parameters": {
            "instance_boot": 10,
            "image_pull": PULL_S,
            "image_pull_cached": PULL_S,
            "container_start": START_S,
            "container_stop": 0,
        },
    }


@dataclass(frozen=True)
class LossReplication:
    """What one replication of the loss system measured after the warm-up."""

    calls: int
    blocked: int
    other_failures: int
    mean_holding_s: float
    window_s: float

    @property
    def blocking(self) -> float:
        """Fraction of RunTask calls that failed with RESOURCE:CPU."""
        return self.blocked / self.calls if self.calls else math.nan

    @property
    def measured_load(self) -> float:
        """Offered load from this run's own arrivals and holding times (calls/s x mean hold)."""
        return self.calls / self.window_s * self.mean_holding_s


def measure_loss(result: Any, warmup_s: float) -> LossReplication:
    """Count calls and RESOURCE:CPU failures after ``warmup_s``; measure the holding time."""
    tasks = result.tasks
    failures = result.failures
    placed = tasks[tasks["created_at"] >= warmup_s]
    failed = failures[failures["t"] >= warmup_s]
    blocked = int((failed["reason"] == "RESOURCE:CPU").sum())
    release = np.fmin(placed["stopping_at"].to_numpy(float), placed["stopped_at"].to_numpy(float))
    held = release - placed["created_at"].to_numpy(float)
    held = held[np.isfinite(held)]
    return LossReplication(
        calls=len(placed) + len(failed),
        blocked=blocked,
        other_failures=len(failed) - blocked,
        mean_holding_s=float(held.mean()) if len(held) else math.nan,
        window_s=result.end - warmup_s,
    )


def run_loss(
    servers: int,
    offered_load: float,
    seeds: Sequence[int],
    *,
    runtime: str = "exponential",
    mean_holding_s: float = 600.0,
    calls: int = 3000,
    warmup_holds: float = 5.0,
) -> list[LossReplication]:
    """Replicate the loss system; each run lasts long enough for about ``calls`` calls."""
    warmup_s = warmup_holds * mean_holding_s + 10.0
    rate = offered_load / mean_holding_s
    duration_s = warmup_s + calls / rate
    doc = loss_scenario(
        servers,
        offered_load,
        mean_holding_s=mean_holding_s,
        runtime=runtime,
        duration_s=duration_s,
        warmup_s=warmup_s,
    )
    scenario = ecssim.load_scenario(doc)
    out = []
    for seed in seeds:
        result = ecssim.run(scenario, seed=seed)
        assert result.meta["error"] is None, result.meta["error"]
        out.append(measure_loss(result, warmup_s))
    return out


# -- renewal: crash and replace -------------------------------------------------------------------


def renewal_scenario(
    desired: int, mtbf_s: float, *, duration_s: float, pull: Any, start: Any
) -> dict[str, Any]:
    """A service whose tasks crash with exponential MTBF; ample capacity, so no queueing.

    The replacement delay is the scheduler's reaction (immediate) plus the cached image pull and
    the container start, both random here so that D is a distribution, not a constant.
    """
    return {
        "version": 1,
        "name": f"renewal-{desired}-{mtbf_s:g}",
        "duration": duration_s,
        "clusters": [{"clusterName": "svc"}],
        "instances": [{"cluster": "svc", "instance_type": "m5.xlarge", "count": desired}],
        "task_definitions": [
            {
                "family": "app",
                "containerDefinitions": [
                    {"name": "app", "image": "app:1", "cpu": 256, "memory": 256}
                ],
            }
        ],
        "services": [
            {
                "cluster": "svc",
                "serviceName": "app",
                "taskDefinition": "app",
                "desiredCount": desired,
            }
        ],
        "task_behavior": {"app": {"crash": {"mtbf": {"exponential": {"mean": mtbf_s}}}}},
        "parameters": {
            "instance_boot": 10,
            "image_pull": pull,
            "image_pull_cached": pull,
            "container_start": start,
            "container_stop": 0,
        },
    }


@dataclass(frozen=True)
class RenewalReplication:
    """Availability and replacement delays of one replication over ``[warmup, end]``."""

    availability: float
    delays_s: np.ndarray
    uptimes_s: np.ndarray

    @property
    def mean_delay_s(self) -> float:
        """Mean measured replacement delay."""
        return float(self.delays_s.mean()) if len(self.delays_s) else math.nan


def measure_renewal(result: Any, desired: int, warmup_s: float) -> RenewalReplication:
    """Time-average running/desired, and each crash's replacement delay, from the frames.

    Availability integrates the service's ``running_count`` step function (series) over the
    window. The delay pairs each crashed task with the task the scheduler created at its
    stopping instant: ``replacement.started_at - crashed.stopping_at``.
    """
    end = result.end
    series = result.series
    running = series[(series["metric"] == "running_count") & (series["service"] == "app")]
    mean = _step_mean(running["t"].to_numpy(float), running["value"].to_numpy(float), warmup_s, end)
    tasks = result.tasks
    crashed = tasks[(tasks["exit_code"] == 1) & (tasks["stopping_at"] >= warmup_s)]
    by_created = tasks.set_index("created_at")["started_at"]
    delays = []
    for t in crashed["stopping_at"].to_numpy(float):
        if t in by_created.index:
            started = by_created.loc[[t]].to_numpy(float)
            if len(started) == 1 and math.isfinite(started[0]):
                delays.append(started[0] - t)
    ran = tasks[(tasks["exit_code"] == 1) & (tasks["started_at"] >= warmup_s)]
    uptimes = (ran["stopping_at"] - ran["started_at"]).to_numpy(float)
    return RenewalReplication(mean / desired, np.asarray(delays), uptimes)


def _step_mean(times: np.ndarray, values: np.ndarray, start: float, end: float) -> float:
    """Exact time average over ``[start, end]`` of a step function (last value per instant)."""
    frame = pd.DataFrame({"t": times, "v": values}).groupby("t", sort=True)["v"].last()
    t = frame.index.to_numpy(float)
    v = frame.to_numpy(float)
    level0 = v[t <= start][-1] if (t <= start).any() else 0.0
    inside = (t > start) & (t < end)
    edges = np.concatenate([[start], t[inside], [end]])
    levels = np.concatenate([[level0], v[inside]])
    return float(np.sum(np.diff(edges) * levels) / (end - start))


def run_renewal(
    desired: int,
    mtbf_s: float,
    seeds: Sequence[int],
    *,
    duration_s: float,
    warmup_s: float,
    pull: Any,
    start: Any,
) -> list[RenewalReplication]:
    """Replicate the crash/replace service."""
    doc = renewal_scenario(desired, mtbf_s, duration_s=duration_s, pull=pull, start=start)
    scenario = ecssim.load_scenario(doc)
    out = []
    for seed in seeds:
        result = ecssim.run(scenario, seed=seed)
        assert result.meta["error"] is None, result.meta["error"]
        out.append(measure_renewal(result, desired, warmup_s))
    return out


# -- Little's law and conservation over result frames ---------------------------------------------

#: The two task states the cluster series count: ``tasks_pending`` (placed, not yet RUNNING:
#: PROVISIONING, PENDING, ACTIVATING) and ``tasks_running`` (lastStatus RUNNING).
STATES = {"pending": "tasks_pending", "running": "tasks_running"}


def state_intervals(tasks: pd.DataFrame, state: str) -> tuple[np.ndarray, np.ndarray]:
    """Entry and exit times of every task's visit to ``state`` (exit NaN if still there).

    A task is pending from its creation (placement) until the first of started, stopping and
    stopped (a task stopped before it runs leaves pending without running); it is running from
    ``started_at`` until the first of stopping and stopped (an instance declared lost moves its
    tasks straight to STOPPED).
    """
    created = tasks["created_at"].to_numpy(float)
    started = tasks["started_at"].to_numpy(float)
    stopping = tasks["stopping_at"].to_numpy(float)
    stopped = tasks["stopped_at"].to_numpy(float)
    if state == "pending":
        return created, np.fmin(np.fmin(started, stopping), stopped)
    if state == "running":
        keep = ~np.isnan(started)
        return started[keep], np.fmin(stopping, stopped)[keep]
    raise ValueError(f"unknown state {state!r}")


def step_average(times: np.ndarray, values: np.ndarray, start: float, end: float) -> float:
    """Exact time average over ``[start, end]`` of a level written on change (0 before)."""
    return _step_mean(times, values, start, end)


@dataclass(frozen=True)
class LittleCheck:
    """Little's law for one cluster and state over ``[0, T]``.

    Attributes:
        level: Time-average number in the state, integrated from the cluster's series.
        rate: Entries per second into the state during ``[0, T)``.
        wait_censored: Mean time in the state per entry, counting only time before ``T``.
        wait_completed: Mean time in the state of the visits that ended before ``T``.
        entries: Number of entries; ``censored``: visits still open at ``T``.
    """

    cluster: str
    state: str
    horizon: float
    level: float
    level_from_tasks: float
    rate: float
    wait_censored: float
    wait_completed: float
    entries: int
    censored: int

    @property
    def little_censored(self) -> float:
        """``lambda x W`` with W censored at the horizon (exact for a system that starts empty)."""
        return self.rate * self.wait_censored

    @property
    def little_completed(self) -> float:
        """The textbook estimator ``lambda x W`` over completed visits (edge effects remain)."""
        return self.rate * self.wait_completed


def little_checks(result: Any) -> list[LittleCheck]:
    """Little's law per cluster and state of a result, levels taken from the series frame."""
    horizon = result.end
    series = result.series
    out = []
    for cluster in sorted(result.tasks["cluster"].astype(str).unique()):
        tasks = result.tasks[result.tasks["cluster"].astype(str) == cluster]
        for state, metric in STATES.items():
            rows = series[
                (series["metric"] == metric)
                & (series["cluster"].astype(object) == cluster)
                & series["container_instance"].isna()
                & series["service"].isna()
            ]
            level = step_average(
                rows["t"].to_numpy(float), rows["value"].to_numpy(float), 0.0, horizon
            )
            enter, leave = state_intervals(tasks, state)
            inside = enter < horizon
            enter, leave = enter[inside], leave[inside]
            open_ = np.isnan(leave) | (leave > horizon)
            clipped = np.where(open_, horizon, leave) - enter
            done = (leave - enter)[~open_]
            out.append(
                LittleCheck(
                    cluster=cluster,
                    state=state,
                    horizon=horizon,
                    level=level,
                    level_from_tasks=float(clipped.sum() / horizon),
                    rate=len(enter) / horizon,
                    wait_censored=float(clipped.mean()) if len(enter) else 0.0,
                    wait_completed=float(done.mean()) if len(done) else math.nan,
                    entries=len(enter),
                    censored=int(open_.sum()),
                )
            )
    return out


def reservation_mismatches(result: Any, resource: str = "cpu") -> list[str]:
    """Compare per-instance ``{resource}_reserved`` with the tasks that hold a reservation.

    The control plane reserves when it places a task (``created_at``) and releases when the task
    is set to desiredStatus STOPPED: for a task that runs or activates that is its
    ``stopping_at`` (StopTask and an essential exit both stop it at once), for one stopped while
    pending or lost with its instance, ``stopped_at``. At every instant the series changes, its
    last value must equal the sum over the tasks holding a reservation then, and every
    reservation and release must have written a row. Returns one line per disagreement.
    """
    tasks = result.tasks[result.tasks["container_instance"].notna()]
    need = tasks[resource].to_numpy(float)
    created = tasks["created_at"].to_numpy(float)
    release = np.fmin(tasks["stopping_at"].to_numpy(float), tasks["stopped_at"].to_numpy(float))
    release = np.where(np.isnan(release), np.inf, release)
    owner = tasks["container_instance"].astype(str).to_numpy()
    series = result.series
    rows = series[
        (series["metric"] == f"{resource}_reserved") & series["container_instance"].notna()
    ]
    problems: list[str] = []
    for instance, frame in rows.groupby(rows["container_instance"].astype(str), observed=True):
        last = frame.groupby("t", sort=True)["value"].last()
        mine = owner == instance
        c, r, n = created[mine], release[mine], need[mine]
        for t, value in last.items():
            expected = float(n[(c <= t) & (t < r)].sum())
            if abs(expected - value) > 1e-9:
                problems.append(
                    f"{instance} t={t:.6f}: series {resource}_reserved={value:g}, "
                    f"tasks hold {expected:g}"
                )
        changes = set(np.concatenate([c, r[np.isfinite(r)]]).tolist())
        missing = changes - set(last.index.tolist())
        for t in sorted(missing):
            if t <= result.end:
                problems.append(f"{instance} t={t:.6f}: a reservation changed, no series row")
    written = set(rows["container_instance"].astype(str))
    for instance in sorted(set(owner) - written):
        problems.append(f"{instance}: holds tasks but has no {resource}_reserved series")
    return problems
