"""The recorder: append-only channels of tuples, built into tidy DataFrames once, at the end.

The schemas below are the single source of the result columns (SPEC section 6,
``docs/results-reference.md``). The hot path is one ``list.append`` of a plain tuple per record,
in the schema's field order; a channel that is switched off is ``None`` and costs one attribute
test.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import pandas as pd


class TaskRow(NamedTuple):
    """One row of the ``tasks`` frame: a task ever created."""

    task_arn: str
    cluster: str
    service: str | None
    group: str
    family: str
    revision: int
    launch_type: str
    capacity_provider: str | None
    container_instance: str | None
    availability_zone: str | None
    cpu: int
    memory: int
    created_at: float
    pull_started_at: float
    pull_stopped_at: float
    started_at: float
    stopping_at: float
    execution_stopped_at: float
    stopped_at: float
    last_status: str
    desired_status: str
    stop_code: str | None
    stopped_reason: str | None
    exit_code: float
    started_by: str | None


class FailureRow(NamedTuple):
    """One row of the ``failures`` frame: a placement that found no instance."""

    t: float
    cluster: str
    service: str | None
    group: str
    family: str
    reason: str
    detail: str | None


class InstanceRow(NamedTuple):
    """One row of the ``instances`` frame: a container instance ever registered."""

    container_instance: str
    ec2_instance_id: str
    cluster: str
    instance_type: str
    availability_zone: str
    market: str
    capacity_provider: str | None
    registered_cpu: int
    registered_memory: int
    launched_at: float
    registered_at: float
    stopped_at: float
    last_status: str
    agent_connected: bool
    hourly_price: float


class EventRow(NamedTuple):
    """One row of the ``events`` frame."""

    t: float
    kind: str
    cluster: str | None
    service: str | None
    task_arn: str | None
    container_instance: str | None
    message: str


class SeriesRow(NamedTuple):
    """One row of the ``series`` frame: a level changed to ``value`` at ``t``."""

    t: float
    metric: str
    cluster: str | None
    service: str | None
    container_instance: str | None
    value: float


class PlacementRow(NamedTuple):
    """One row of the opt-in ``placements`` frame: a placement decision explained."""

    t: float
    task_arn: str | None
    cluster: str
    group: str
    candidates: int
    after_fit: int
    after_constraints: int
    after_strategies: str
    container_instance: str | None
    closest_instance: str | None
    reason: str | None


SCHEMAS: dict[str, type[Any]] = {
    "tasks": TaskRow,
    "failures": FailureRow,
    "instances": InstanceRow,
    "events": EventRow,
    "series": SeriesRow,
    "placements": PlacementRow,
}
#: Columns stored as pandas categoricals (repeated ids and names).
CATEGORICAL = {
    "cluster",
    "service",
    "group",
    "family",
    "launch_type",
    "capacity_provider",
    "container_instance",
    "availability_zone",
    "last_status",
    "desired_status",
    "stop_code",
    "kind",
    "metric",
    "reason",
    "instance_type",
    "market",
}
_FLOAT_COLUMNS = {
    "t",
    "value",
    "created_at",
    "pull_started_at",
    "pull_stopped_at",
    "started_at",
    "stopping_at",
    "execution_stopped_at",
    "stopped_at",
    "launched_at",
    "registered_at",
    "hourly_price",
    "exit_code",
}


def build_frame(name: str, rows: list[Any]) -> pd.DataFrame:
    """Build the frame ``name`` from its rows, with its schema's columns and dtypes."""
    columns = list(SCHEMAS[name]._fields)
    frame = (
        pd.DataFrame.from_records(rows, columns=columns)
        if rows
        else pd.DataFrame({c: pd.Series([], dtype=object) for c in columns})
    )
    for column in columns:
        if column in _FLOAT_COLUMNS:
            frame[column] = frame[column].astype(np.float64)
        elif column in CATEGORICAL:
            frame[column] = frame[column].astype("category")
    return frame


class Recorder:
    """Append-only channels, one list of tuples per frame.

    Attributes:
        placements: ``None`` unless placement explanations are on (``explain``).
    """

    __slots__ = ("events", "failures", "instances", "placements", "series", "tasks")

    def __init__(self, *, explain: bool = False) -> None:
        # Rows are plain tuples in their schema's field order (a NamedTuple call costs more
        # than the append on the hot path); the schemas name the columns when frames are built.
        self.tasks: list[tuple[Any, ...]] = []
        self.failures: list[tuple[Any, ...]] = []
        self.instances: list[tuple[Any, ...]] = []
        self.events: list[tuple[Any, ...]] = []
        self.series: list[tuple[Any, ...]] = []
        self.placements: list[tuple[Any, ...]] | None = [] if explain else None

    def frames(self, extra: dict[str, list[Any]] | None = None) -> dict[str, pd.DataFrame]:
        """Build every frame (``placements`` only when recorded).

        Args:
            extra: Rows to append to a channel's rows in the frame only (for example the tasks
                still alive at the end), leaving the channels themselves untouched.
        """
        extra = extra or {}
        out = {
            name: build_frame(name, getattr(self, name) + extra.get(name, []))
            for name in SCHEMAS
            if getattr(self, name) is not None
        }
        return out
