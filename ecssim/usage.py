"""Task CPU and memory usage over time: what a task *uses*, as a fraction of what it reserves.

Usage drives the utilization figures (``cpu_used`` / ``memory_used`` series and the summary's
utilization) and, later, Service Auto Scaling. A model gives one level per task family at a
time; every running task of the family uses that fraction of its reservation. Per-task
variation is not modelled: the level stands for the load the family's tasks share, as behind a
load balancer. Levels are sampled every ``metrics_interval`` (60 s, like ECS's CloudWatch
metrics) and held in between, so utilization is a step function like every other series.

Written in a scenario under ``task_behavior.<family>.cpu_usage`` (or ``memory_usage``):

- ``0.4`` or ``{constant: 0.4}``: always 40 % of the reservation.
- ``{diurnal: {mean: 0.4, amplitude: 0.3, period: 24h, peak: 14h}}``: a sine wave with that
  mean and amplitude, highest at ``peak`` into each ``period`` (defaults 24h and 14h).
- ``{random_walk: {mean: 0.5, sigma: 0.05, low: 0, high: 1}}``: mean-reverting steps (10 % of
  the gap back to ``mean`` per sample, plus a normal step of ``sigma``), clipped to
  ``[low, high]``, drawn from the family's own random stream.

CPU usage may exceed 1.0 (a Linux CPU reservation is a share, not a cap); memory usage above 1.0
means using more than ``memoryReservation``, up to the hard limit.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from ecssim.units import parse_duration


class UsageModel(Protocol):
    """A usage level (fraction of the reservation) over simulated time."""

    def level(self, t: float, rng: np.random.Generator) -> float:
        """Return the level at time ``t``; called once per sample, in time order."""
        ...


@dataclass(frozen=True, slots=True)
class Constant:
    """Always the same fraction."""

    value: float

    def level(self, t: float, rng: np.random.Generator) -> float:
        """Return the constant."""
        return self.value


@dataclass(frozen=True, slots=True)
class Diurnal:
    """A daily (or any period) sine wave."""

    mean: float
    amplitude: float
    period_s: float = 86400.0
    peak_s: float = 14 * 3600.0

    def level(self, t: float, rng: np.random.Generator) -> float:
        """Return ``mean + amplitude * cos(2 pi (t - peak) / period)``, at least 0."""
        phase = 2 * math.pi * (t - self.peak_s) / self.period_s
        return max(0.0, self.mean + self.amplitude * math.cos(phase))


class RandomWalk:
    """Mean-reverting random steps, clipped (a stateful model: one instance per run)."""

    __slots__ = ("_level", "high", "low", "mean", "sigma")

    def __init__(self, mean: float, sigma: float, low: float = 0.0, high: float = 1.0) -> None:
        self.mean, self.sigma, self.low, self.high = mean, sigma, low, high
        self._level = mean

    def level(self, t: float, rng: np.random.Generator) -> float:
        """Take one step and return the new level."""
        step = 0.1 * (self.mean - self._level) + self.sigma * float(rng.standard_normal())
        self._level = min(self.high, max(self.low, self._level + step))
        return self._level

    def fresh(self) -> RandomWalk:
        """A new walk with the same parameters (each run starts at the mean)."""
        return RandomWalk(self.mean, self.sigma, self.low, self.high)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RandomWalk) and (
            self.mean,
            self.sigma,
            self.low,
            self.high,
        ) == (other.mean, other.sigma, other.low, other.high)

    def __hash__(self) -> int:
        return hash((self.mean, self.sigma, self.low, self.high))

    def __repr__(self) -> str:
        return f"RandomWalk(mean={self.mean}, sigma={self.sigma}, low={self.low}, high={self.high})"


def _number(value: object, what: str, *, minimum: float = 0.0) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{what}: expected a number, got {value!r}")
    if value < minimum:
        raise ValueError(f"{what}: expected a number >= {minimum:g}, got {value!r}")
    return float(value)


_KINDS = {
    "constant": (),
    "diurnal": ("mean", "amplitude", "period", "peak"),
    "random_walk": ("mean", "sigma", "low", "high"),
}


def parse_usage(value: object) -> UsageModel:
    """Parse a usage model as written in a scenario (see the module docstring).

    Raises:
        ValueError: With a message naming what is wrong.
    """
    if not isinstance(value, Mapping):
        return Constant(_number(value, "usage"))
    if len(value) != 1:
        raise ValueError(f"a usage model is a number or a one-key mapping ({', '.join(_KINDS)})")
    ((kind, params),) = value.items()
    if kind not in _KINDS:
        raise ValueError(f"unknown usage model {kind!r}; known: {', '.join(_KINDS)}")
    if kind == "constant":
        return Constant(_number(params, "constant"))
    if not isinstance(params, Mapping):
        raise ValueError(f"{kind}: expected a mapping of {', '.join(_KINDS[kind])}")
    unknown = [str(k) for k in params if k not in _KINDS[kind]]
    if unknown:
        raise ValueError(f"{kind}: unknown {', '.join(unknown)} (takes {', '.join(_KINDS[kind])})")
    if "mean" not in params:
        raise ValueError(f"{kind}: missing mean")
    mean = _number(params["mean"], f"{kind}.mean")
    if kind == "diurnal":
        amplitude = _number(params.get("amplitude", 0.0), "diurnal.amplitude")
        period = parse_duration(params.get("period", "24h"))
        if period <= 0:
            raise ValueError("diurnal.period: expected a duration > 0")
        return Diurnal(mean, amplitude, period, parse_duration(params.get("peak", "14h")))
    sigma = _number(params.get("sigma", 0.05), "random_walk.sigma")
    low = _number(params.get("low", 0.0), "random_walk.low")
    high = _number(params.get("high", 1.0), "random_walk.high")
    if not low <= mean <= high:
        raise ValueError("random_walk: expected low <= mean <= high")
    return RandomWalk(mean, sigma, low, high)
