"""Distributions of durations, written the same way everywhere in a scenario.

A distribution is ``forever`` (run times only), a duration (``10m``: fixed),
``{exponential: {mean: 20m}}``, ``{lognormal: {median: 20m, sigma: 0.6}}``,
``{uniform: {low: 1m, high: 5m}}``, ``{gamma: {mean: 5m, shape: 2}}``,
``{weibull: {scale: 30d, shape: 1.5}}`` or ``{empirical: {file: runtimes.csv}}`` (a CSV whose
first column, or the column named ``seconds``/``duration``, holds durations; samples are drawn
uniformly from the rows). Every draw takes the generator of the stream it belongs to.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from ecssim.units import parse_duration


class Distribution(Protocol):
    """Anything that draws non-negative durations in seconds from a generator."""

    def sample(self, rng: np.random.Generator) -> float:
        """Draw one value in seconds (``math.inf`` for ``forever``)."""
        ...

    def mean(self) -> float:
        """Return the expected value in seconds."""
        ...


@dataclass(frozen=True, slots=True)
class Forever:
    """Never ends: a long-running service task."""

    def sample(self, rng: np.random.Generator) -> float:
        """Return ``inf``."""
        return math.inf

    def mean(self) -> float:
        """Return ``inf``."""
        return math.inf


@dataclass(frozen=True, slots=True)
class Fixed:
    """Always the same duration."""

    value: float

    def sample(self, rng: np.random.Generator) -> float:
        """Return the fixed value (draws nothing, so the stream is not advanced)."""
        return self.value

    def mean(self) -> float:
        """Return the value."""
        return self.value


@dataclass(frozen=True, slots=True)
class Exponential:
    """Exponential with the given mean (memoryless; the usual MTBF model)."""

    mean_s: float

    def sample(self, rng: np.random.Generator) -> float:
        """Draw one value."""
        return float(rng.exponential(self.mean_s))

    def mean(self) -> float:
        """Return the mean."""
        return self.mean_s


@dataclass(frozen=True, slots=True)
class LogNormal:
    """Log-normal given by its median and the sigma of the underlying normal."""

    median_s: float
    sigma: float

    def sample(self, rng: np.random.Generator) -> float:
        """Draw one value."""
        return float(rng.lognormal(math.log(self.median_s), self.sigma))

    def mean(self) -> float:
        """Return ``median * exp(sigma^2 / 2)``."""
        return self.median_s * math.exp(self.sigma**2 / 2)


@dataclass(frozen=True, slots=True)
class Uniform:
    """Uniform between ``low`` and ``high``."""

    low_s: float
    high_s: float

    def sample(self, rng: np.random.Generator) -> float:
        """Draw one value."""
        return float(rng.uniform(self.low_s, self.high_s))

    def mean(self) -> float:
        """Return the midpoint."""
        return (self.low_s + self.high_s) / 2


@dataclass(frozen=True, slots=True)
class Gamma:
    """Gamma given by its mean and shape (scale = mean / shape)."""

    mean_s: float
    shape: float

    def sample(self, rng: np.random.Generator) -> float:
        """Draw one value."""
        return float(rng.gamma(self.shape, self.mean_s / self.shape))

    def mean(self) -> float:
        """Return the mean."""
        return self.mean_s


@dataclass(frozen=True, slots=True)
class Weibull:
    """Weibull given by its scale and shape (shape 1 is exponential; > 1 wears out)."""

    scale_s: float
    shape: float

    def sample(self, rng: np.random.Generator) -> float:
        """Draw one value."""
        return float(self.scale_s * rng.weibull(self.shape))

    def mean(self) -> float:
        """Return ``scale * Gamma(1 + 1/shape)``."""
        return self.scale_s * math.gamma(1 + 1 / self.shape)


@dataclass(frozen=True, slots=True)
class Empirical:
    """Draws uniformly from observed durations (for example a CSV export of real run times)."""

    values: tuple[float, ...]
    source: str = ""

    def sample(self, rng: np.random.Generator) -> float:
        """Draw one of the observed values."""
        return self.values[int(rng.integers(len(self.values)))]

    def mean(self) -> float:
        """Return the mean of the observed values."""
        return float(np.mean(self.values))


def _read_empirical(file: str, base_dir: Path | None) -> Empirical:
    path = Path(file)
    if not path.is_absolute() and base_dir is not None:
        path = base_dir / path
    try:
        with path.open(newline="") as handle:
            rows = list(csv.reader(handle))
    except OSError as err:
        raise ValueError(f"cannot read empirical file {file!r}: {err.strerror}") from None
    if not rows:
        raise ValueError(f"empirical file {file!r} is empty")
    column = 0
    header = [cell.strip().lower() for cell in rows[0]]
    for name in ("seconds", "duration", "runtime"):
        if name in header:
            column = header.index(name)
    values: list[float] = []
    for number, row in enumerate(rows, start=1):
        if not row or column >= len(row):
            continue
        try:
            values.append(parse_duration(row[column].strip()))
        except ValueError:
            if number == 1:  # a header row
                continue
            raise ValueError(
                f"empirical file {file!r} line {number}: not a duration: {row[column]!r}"
            ) from None
    if not values:
        raise ValueError(f"empirical file {file!r} holds no durations")
    return Empirical(tuple(values), source=str(file))


_PARAMS: dict[str, tuple[str, ...]] = {
    "exponential": ("mean",),
    "lognormal": ("median", "sigma"),
    "uniform": ("low", "high"),
    "gamma": ("mean", "shape"),
    "weibull": ("scale", "shape"),
    "empirical": ("file",),
}
_DURATION_PARAMS = {"mean", "median", "low", "high", "scale"}


def parse_mtbf(value: object, *, base_dir: Path | None = None) -> Distribution:
    """Parse a mean time between failures: a bare duration means *exponential* with that mean.

    Failures at exact intervals surprise nobody who wrote them on purpose, and everybody else;
    so ``mtbf: 12h`` is memoryless failures with a 12 h mean, the usual reading of an MTBF. Any
    explicit distribution (``{weibull: ...}``, ``{uniform: ...}``) is taken as written.

    Raises:
        ValueError: As :func:`parse_distribution`.
    """
    if not isinstance(value, Mapping) and value != "forever":
        mean = parse_duration(value)
        if mean <= 0:
            raise ValueError(f"expected an MTBF > 0, got {value!r}")
        return Exponential(mean)
    return parse_distribution(value, base_dir=base_dir)


def parse_distribution(
    value: object, *, allow_forever: bool = False, base_dir: Path | None = None
) -> Distribution:
    """Parse a distribution as written in a scenario.

    Args:
        value: ``"forever"``, a duration, or a one-key mapping such as
            ``{"exponential": {"mean": "20m"}}``.
        allow_forever: Whether ``forever`` is allowed (run times only).
        base_dir: Folder that relative ``empirical`` files are read from.

    Raises:
        ValueError: With a message that names what is wrong.
    """
    if value == "forever":
        if not allow_forever:
            raise ValueError("'forever' is only allowed for run times")
        return Forever()
    if not isinstance(value, Mapping):
        try:
            return Fixed(parse_duration(value))
        except ValueError:
            kinds = ", ".join(_PARAMS)
            raise ValueError(
                f"expected a duration or a distribution ({kinds}), got {value!r}"
            ) from None
    if len(value) != 1:
        raise ValueError(f"a distribution is a mapping with one key ({', '.join(_PARAMS)})")
    ((kind, params),) = value.items()
    if kind not in _PARAMS:
        raise ValueError(f"unknown distribution {kind!r}; known: {', '.join(_PARAMS)}")
    if not isinstance(params, Mapping):
        raise ValueError(f"{kind}: expected a mapping of {', '.join(_PARAMS[kind])}")
    missing = [p for p in _PARAMS[kind] if p not in params]
    unknown = [str(p) for p in params if p not in _PARAMS[kind]]
    if missing or unknown:
        parts = []
        if missing:
            parts.append(f"missing {', '.join(missing)}")
        if unknown:
            parts.append(f"unknown {', '.join(unknown)}")
        raise ValueError(f"{kind}: {'; '.join(parts)} (takes {', '.join(_PARAMS[kind])})")
    if kind == "empirical":
        return _read_empirical(str(params["file"]), base_dir)
    numbers: dict[str, float] = {}
    for name in _PARAMS[kind]:
        raw = params[name]
        if name in _DURATION_PARAMS:
            numbers[name] = parse_duration(raw)
        elif isinstance(raw, int | float) and not isinstance(raw, bool) and raw > 0:
            numbers[name] = float(raw)
        else:
            raise ValueError(f"{kind}.{name}: expected a number > 0, got {raw!r}")
    if kind == "exponential":
        if numbers["mean"] <= 0:
            raise ValueError("exponential.mean: expected a duration > 0")
        return Exponential(numbers["mean"])
    if kind == "lognormal":
        if numbers["median"] <= 0:
            raise ValueError("lognormal.median: expected a duration > 0")
        return LogNormal(numbers["median"], numbers["sigma"])
    if kind == "uniform":
        if numbers["high"] < numbers["low"]:
            raise ValueError("uniform: high must be >= low")
        return Uniform(numbers["low"], numbers["high"])
    if kind == "gamma":
        return Gamma(numbers["mean"], numbers["shape"])
    return Weibull(numbers["scale"], numbers["shape"])
