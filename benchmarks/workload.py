"""Shared synthetic workload for the benchmark programs (SPEC section 10).

Every program (bare-SimPy floor, naive peer, ecssim) consumes the same ``Workload`` so that they
all do the same work: the same arrivals, task shapes and phase durations.

Benchmarks are exempt from the project's named-stream rule; the generator is built directly
from ``PCG64(seed)`` so a seed fully determines the arrays.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

# (cpu units, memory MiB, probability). Memory-heavy on purpose: an instance is 2048 cpu /
# 7680 MiB (ratio 1:3.75), so with ratios >= 1:3 memory is the binding resource and "70 % load
# of memory" does not overload CPU (offered CPU is ~73 % at load 0.7).
SHAPES: tuple[tuple[int, int, float], ...] = (
    (256, 1024, 0.5),
    (512, 2048, 0.3),
    (1024, 3072, 0.2),
)

PULL_S = 1.0  # cached image pull
START_S = 2.0
STOP_S = 2.0
RUN_MEAN_S = 300.0


@dataclass(frozen=True, eq=False)
class Workload:
    """Per-task arrays (index = task id) plus the cluster shape they were sized for."""

    arrival_s: np.ndarray  # float64, sorted, absolute simulated seconds
    run_s: np.ndarray  # float64, exponential
    cpu: np.ndarray  # int64 cpu units
    memory_mib: np.ndarray  # int64 MiB
    pull_s: np.ndarray  # float64
    start_s: np.ndarray  # float64
    stop_s: np.ndarray  # float64
    n_instances: int
    instance_cpu: int
    instance_memory: int
    zones: int
    load: float
    seed: int
    rate_per_s: float  # Poisson arrival rate used

    @property
    def n_tasks(self) -> int:
        return int(self.arrival_s.shape[0])

    def __len__(self) -> int:
        return self.n_tasks

    def head(self, n: int) -> Workload:
        """The first ``n`` tasks (the first part of the same arrival process)."""
        fields = ("arrival_s", "run_s", "cpu", "memory_mib", "pull_s", "start_s", "stop_s")
        return dataclasses.replace(self, **{f: getattr(self, f)[:n] for f in fields})


def arrival_rate(
    n_instances: int,
    load: float,
    instance_memory: int,
    run_mean_s: float = RUN_MEAN_S,
) -> float:
    """Poisson rate giving offered memory load ``load`` (expected values, not sample means)."""
    mean_mem = sum(m * p for _, m, p in SHAPES)
    mean_hold_s = PULL_S + START_S + run_mean_s + STOP_S
    return load * n_instances * instance_memory / (mean_mem * mean_hold_s)


def make_workload(
    n_tasks: int,
    n_instances: int,
    load: float = 0.7,
    seed: int = 0,
    instance_cpu: int = 2048,
    instance_memory: int = 7680,
    zones: int = 3,
    run_mean_s: float = RUN_MEAN_S,
) -> Workload:
    """Return ``n_tasks`` tasks arriving as a Poisson process at ``load`` of cluster memory."""
    if n_tasks < 0 or n_instances < 1 or zones < 1 or not load > 0.0:
        raise ValueError("need n_tasks >= 0, n_instances >= 1, zones >= 1, load > 0")
    rng = np.random.Generator(np.random.PCG64(seed))
    rate = arrival_rate(n_instances, load, instance_memory, run_mean_s)
    arrival_s = np.cumsum(rng.exponential(1.0 / rate, size=n_tasks))
    run_s = rng.exponential(run_mean_s, size=n_tasks)
    probs = np.array([p for _, _, p in SHAPES])
    kind = rng.choice(len(SHAPES), size=n_tasks, p=probs / probs.sum())
    cpu = np.array([c for c, _, _ in SHAPES], dtype=np.int64)[kind]
    memory_mib = np.array([m for _, m, _ in SHAPES], dtype=np.int64)[kind]
    for arr in (arrival_s, run_s, cpu, memory_mib):
        arr.flags.writeable = False
    const = []
    for value in (PULL_S, START_S, STOP_S):
        a = np.full(n_tasks, value, dtype=np.float64)
        a.flags.writeable = False
        const.append(a)
    return Workload(
        arrival_s=arrival_s,
        run_s=run_s,
        cpu=cpu,
        memory_mib=memory_mib,
        pull_s=const[0],
        start_s=const[1],
        stop_s=const[2],
        n_instances=n_instances,
        instance_cpu=instance_cpu,
        instance_memory=instance_memory,
        zones=zones,
        load=load,
        seed=seed,
        rate_per_s=rate,
    )


def make_day_workload(
    n_tasks: int, n_instances: int, load: float = 0.7, day_s: float = 86400.0, seed: int = 0
) -> Workload:
    """``n_tasks`` lifecycles spread over ``day_s`` at ``load`` of cluster memory (P6).

    The mean run time is chosen so that ``n_tasks`` arrivals fill one day at that load.
    """
    rate = n_tasks / day_s
    mean_mem = sum(m * p for _, m, p in SHAPES)
    hold_s = load * n_instances * 7680 / (mean_mem * rate)
    return make_workload(
        n_tasks, n_instances, load, seed, run_mean_s=max(hold_s - PULL_S - START_S - STOP_S, 1.0)
    )
