"""The result of a run: tidy frames, metadata, headline figures; saved to and loaded from disk."""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from ecssim.analysis import summarize
from ecssim.metrics import CATEGORICAL, SCHEMAS

FRAMES = ("tasks", "failures", "instances", "events", "series", "placements")


@contextlib.contextmanager
def atomic_directory(directory: str | os.PathLike[str]) -> Iterator[Path]:
    """Fill a temporary folder beside ``directory``, then rename it into place.

    A crash (or Ctrl-C) inside the block leaves no half-written folder that loads: the
    temporary folder is removed and an existing ``directory`` is kept as it was.
    """
    target = Path(directory)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        yield tmp
        if target.exists():
            old = target.with_name(f".{target.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            target.rename(old)
            tmp.rename(target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


class Result:
    """Frames of one run (SPEC section 6) and its ``meta``.

    Attributes:
        tasks: One row per task ever created.
        failures: One row per placement that found no instance.
        instances: One row per container instance ever launched.
        events: One row per event (ECS service event texts verbatim).
        series: Levels over time, long format (``t, metric, cluster, service,
            container_instance, value``).
        placements: Placement decisions explained (``None`` unless ``explain`` was on).
        meta: Seed, ecssim version, wall time, event count, effective scenario, and ``error``.
    """

    def __init__(self, frames: dict[str, pd.DataFrame], meta: dict[str, Any]) -> None:
        self.tasks = frames["tasks"]
        self.failures = frames["failures"]
        self.instances = frames["instances"]
        self.events = frames["events"]
        self.series = frames["series"]
        self.placements: pd.DataFrame | None = frames.get("placements")
        self.meta = meta

    @property
    def frames(self) -> dict[str, pd.DataFrame]:
        """Every recorded frame by name."""
        out = {name: getattr(self, name) for name in FRAMES}
        return {k: v for k, v in out.items() if v is not None}

    @property
    def end(self) -> float:
        """The simulated time the run reached."""
        return float(self.meta.get("simulated_s", 0.0))

    def summary(self) -> pd.DataFrame:
        """Headline figures: per service and per cluster (``docs/results-reference.md``)."""
        return summarize(self.frames, self.end)

    def save(self, directory: str | os.PathLike[str]) -> Path:
        """Write the frames (Parquet), ``meta.json`` and ``summary.csv`` into ``directory``.

        The run is written to a temporary folder beside the target and renamed into place, so a
        crash never leaves a half-written run that loads.
        """
        with atomic_directory(directory) as tmp:
            for name, frame in self.frames.items():
                frame.to_parquet(tmp / f"{name}.parquet", index=False)
            (tmp / "meta.json").write_text(json.dumps(_jsonable(self.meta), indent=2) + "\n")
            self.summary().to_csv(tmp / "summary.csv", index=False)
        return Path(directory)

    @classmethod
    def load(cls, directory: str | os.PathLike[str]) -> Result:
        """Load a run written by :meth:`save`."""
        path = Path(directory)
        meta_file = path / "meta.json"
        if not meta_file.exists():
            raise FileNotFoundError(f"{path}: not a saved ecssim run (no meta.json)")
        meta = json.loads(meta_file.read_text())
        frames: dict[str, pd.DataFrame] = {}
        for name in FRAMES:
            file = path / f"{name}.parquet"
            if file.exists():
                frame = pd.read_parquet(file)
                for column in frame.columns:
                    if column in CATEGORICAL and frame[column].dtype != "category":
                        frame[column] = frame[column].astype("category")
                frames[name] = frame[list(SCHEMAS[name]._fields)]
        return cls(frames, meta)

    def __repr__(self) -> str:
        name = self.meta.get("name", "run")
        return (
            f"<Result {name!r} seed={self.meta.get('seed')} t={self.end:g}s "
            f"tasks={len(self.tasks)} failures={len(self.failures)}>"
        )


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None if math.isnan(value) else str(value)
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)
