"""The recorder: append-only channels of tuples, built into tidy DataFrames once, at the end.

The schemas below are the single source of the result columns (SPEC section 6,
``docs/results-reference.md``). The hot path is one ``list.append`` of a plain tuple per record,
in the schema's field order; a channel that is switched off is ``None`` and costs one attribute
test.
"""

from __future__ import annotations

import typing
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
    desired_stopped_at: float


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
    "desired_stopped_at",
}

#: Free-text columns (strings that are not ids or names): kept as object arrays.
_TEXT_COLUMNS = {
    field
    for schema in SCHEMAS.values()
    for field, hint in typing.get_type_hints(schema).items()
    if hint in (str, str | None) and field not in CATEGORICAL
}

#: Rows a channel holds as tuples before they are packed into column arrays.
COMPACT_ROWS = 200_000
#: Rows the ``tasks`` channel holds before it is packed. A task row is a tuple of 26 fields
#: with its own floats and ARN (about 700 bytes, against about 250 packed), one a lifecycle,
#: so it is packed ten times sooner than the series (six fields, a dozen a lifecycle).
TASK_COMPACT_ROWS = 20_000


def _pack(name: str, rows: list[Any]) -> dict[str, Any]:
    """Rows of channel ``name`` as one array per column instead of a tuple per row.

    Floats and integers become numpy arrays (8 bytes a value), ids and names pandas
    categoricals (a small code a value), free text object arrays (a shared reference a value).
    """
    fields = SCHEMAS[name]._fields
    if not rows:
        return {f: np.empty(0, dtype=np.float64 if f in _FLOAT_COLUMNS else object) for f in fields}
    out: dict[str, Any] = {}
    for i, field in enumerate(fields):
        # One comprehension per column: transposing with zip(*rows) passes every row as an
        # argument and costs four times as much at 200,000 rows (BENCHMARKS.md).
        values = [row[i] for row in rows]
        if field in _FLOAT_COLUMNS:
            out[field] = np.asarray(values, dtype=np.float64)
        elif field in CATEGORICAL:
            out[field] = _categorical(values)
        elif field in _TEXT_COLUMNS:
            # Straight to objects: inferring first would build a fixed-width str array.
            out[field] = np.asarray(values, dtype=object)
        else:
            array = np.asarray(values)
            out[field] = array if array.dtype.kind in "biuf" else np.asarray(values, dtype=object)
    return out


def _categorical(values: list[str | None]) -> pd.Categorical:
    """``pd.Categorical(values)`` (categories sorted, ``None`` missing) at a third of the cost.

    The distinct values come from one C-level dict pass and the codes from one mapped lookup;
    pandas would first hash every value through an object array. The categories are the rows'
    own str objects (ids shared with the records): pandas' default would copy them into a new
    string array per packed chunk, 10,000 container-instance ARNs each at cluster scale.
    """
    distinct = dict.fromkeys(values)
    categories = sorted(value for value in distinct if value is not None)
    if len(distinct) == 1:  # one cluster, no service...: nothing to look up per row
        codes = np.full(len(values), 0 if categories else -1, dtype=np.int32)
    else:
        lookup: dict[str | None, int] = {value: code for code, value in enumerate(categories)}
        lookup[None] = -1
        codes = np.fromiter(map(lookup.__getitem__, values), dtype=np.int32, count=len(values))
    return pd.Categorical.from_codes(codes, categories=pd.Index(categories, dtype=object))


def _concat_categoricals(chunks: list[pd.Categorical]) -> pd.Categorical:
    """One categorical from the packed chunks' categoricals, categories sorted.

    Works on codes, so millions of rows never become Python objects again.
    """
    categories = sorted({value for chunk in chunks for value in chunk.categories.tolist()})
    index = pd.Index(categories) if categories else pd.Index([], dtype=object)
    codes = [
        pd.Categorical(chunk, categories=index).codes
        if not chunk.categories.equals(index)
        else chunk.codes
        for chunk in chunks
    ]
    merged = np.concatenate(codes) if codes else np.empty(0, dtype=np.int8)
    return pd.Categorical.from_codes(merged, categories=index)


def build_frame(name: str, chunks: list[dict[str, Any]]) -> pd.DataFrame:
    """Build the frame ``name`` from packed chunks, with its schema's columns and dtypes."""
    columns = list(SCHEMAS[name]._fields)
    data: dict[str, Any] = {}
    for column in columns:
        parts = [chunk[column] for chunk in chunks if len(chunk[column])]
        if column in CATEGORICAL:
            data[column] = _concat_categoricals(parts)
        else:
            data[column] = np.concatenate(parts) if parts else np.empty(0, dtype=object)
    for column in columns:
        if column in _FLOAT_COLUMNS and data[column].dtype != np.float64:
            data[column] = data[column].astype(np.float64)
    # The arrays above are this frame's own (concatenated) copies: no second copy, which at a
    # million lifecycles would briefly hold the series twice more (BENCHMARKS.md, P6).
    return pd.DataFrame(data, columns=columns, copy=False)


#: The series' metrics (docs/results-reference.md). Their codes are fixed, so the control
#: plane records its levels with constant codes (:data:`METRIC`).
METRICS = (
    "cpu_registered",
    "memory_registered",
    "instances_active",
    "cpu_reserved",
    "memory_reserved",
    "tasks_pending",
    "tasks_running",
    "desired_count",
    "running_count",
    "pending_count",
    "cpu_used",
    "memory_used",
    "cpu_utilization",
    "memory_utilization",
)
METRIC = {name: code for code, name in enumerate(METRICS)}
#: The series' id columns, recorded as codes.
_SERIES_IDS = ("metric", "cluster", "service", "container_instance")


class _Codebook(dict[Any, int]):
    """Codes of an id column's values, in first-seen order; ``None`` is -1.

    A value seen for the first time gets the next code (``__missing__``), so coding a value is
    one dict look-up, and codes never change as the channel grows.
    """

    def __init__(self, values: tuple[str, ...] = ()) -> None:
        super().__init__({None: -1})
        for value in values:
            self[value] = len(self) - 1

    def __missing__(self, value: Any) -> int:
        code = self[value] = len(self) - 1
        return code

    def categorical(self, codes: np.ndarray) -> pd.Categorical:
        """The categorical of ``codes``: categories are the values present, sorted."""
        values = list(self)[1:]  # in code order; None (-1) comes first
        codes = codes.astype(np.intp)
        used = np.zeros(len(values), dtype=bool)
        used[codes[codes >= 0]] = True
        present = used.nonzero()[0]
        order = sorted(range(len(present)), key=lambda i: values[present[i]])
        # The new code of each old one, indexed by old code + 1 so that -1 stays -1.
        recode = np.full(len(values) + 1, -1, dtype=np.int32)
        recode[present[order] + 1] = np.arange(len(present), dtype=np.int32)
        names = [values[present[i]] for i in order]
        # pandas' own dtype for the names (str on pandas 3), as the other channels' categoricals.
        categories = pd.Index(names) if names else pd.Index([], dtype=object)
        return pd.Categorical.from_codes(recode[codes + 1], categories=categories)


class SeriesChannel:
    """The ``series`` channel: six numbers a row in one flat list, ids as codes.

    The series gets a dozen rows a task lifecycle, more than every other channel together. A
    list of tuples cost about 1 us a row to pack into columns, reading every tuple back once
    per column; six numbers a row in one flat list are packed by a single ``np.fromiter`` call
    (BENCHMARKS.md, "Series as numbers"). The hot path codes its ids itself
    (``extend((t, METRIC[...], books["cluster"][name], -1, -1, value))``); :meth:`append`
    takes a row with names, as the other channels do.
    """

    __slots__ = ("_chunks", "_values", "books", "extend")

    def __init__(self) -> None:
        self.books = {column: _Codebook() for column in _SERIES_IDS}
        self.books["metric"] = _Codebook(METRICS)
        self._values: list[float] = []
        self.extend = self._values.extend
        self._chunks: list[dict[str, np.ndarray]] = []

    def append(self, row: tuple[Any, ...]) -> None:
        """Record one row given with names (``SeriesRow`` order)."""
        t, metric, cluster, service, instance, value = row
        books = self.books
        self.extend(
            (
                t,
                books["metric"][metric],
                books["cluster"][cluster],
                books["service"][service],
                books["container_instance"][instance],
                value,
            )
        )

    def __len__(self) -> int:
        return sum(len(chunk["t"]) for chunk in self._chunks) + len(self._values) // 6

    def pack(self, limit: int = COMPACT_ROWS) -> None:
        """Pack the rows into column arrays once there are at least ``limit`` of them."""
        values = self._values
        if not values or len(values) < 6 * limit:
            return
        # fromiter: np.array would first look into every value for a nested sequence.
        block = np.fromiter(values, dtype=np.float64, count=len(values)).reshape(-1, 6)
        chunk = {"t": block[:, 0].copy(), "value": block[:, 5].copy()}
        for j, column in enumerate(_SERIES_IDS, start=1):
            # The smallest signed type that holds the codes so far (and -1).
            dtype = np.result_type(np.int8, np.min_scalar_type(len(self.books[column])))
            chunk[column] = block[:, j].astype(dtype)
        self._chunks.append(chunk)
        values.clear()  # in place: ``extend`` stays bound to this list

    def frame(self) -> pd.DataFrame:
        """The ``series`` frame of every row so far (the channel can go on recording)."""
        self.pack(limit=1)
        data: dict[str, Any] = {}
        for column in SeriesRow._fields:
            parts = [chunk[column] for chunk in self._chunks]
            if column in self.books:
                codes = np.concatenate(parts) if parts else np.empty(0, dtype=np.int8)
                data[column] = self.books[column].categorical(codes)
            else:
                data[column] = np.concatenate(parts) if parts else np.empty(0, dtype=np.float64)
        return pd.DataFrame(data, columns=list(SeriesRow._fields), copy=False)


class Recorder:
    """Append-only channels, one list of tuples per frame, packed into columns as they grow.

    The hot path appends a plain tuple to a channel's list (the ``series`` is a
    :class:`SeriesChannel` of numbers). When a list passes :data:`COMPACT_ROWS` rows
    (:data:`TASK_COMPACT_ROWS` for ``tasks``), :meth:`compact` packs it into column arrays and
    empties it in place (so references to its ``append`` stay valid); a run of a million task
    lifecycles keeps its results in a few hundred MiB instead of many GiB of tuples.

    Attributes:
        placements: ``None`` unless placement explanations are on (``explain``).
    """

    __slots__ = ("_packed", "events", "failures", "instances", "placements", "series", "tasks")

    def __init__(self, *, explain: bool = False) -> None:
        # Rows are plain tuples in their schema's field order (a NamedTuple call costs more
        # than the append on the hot path); the schemas name the columns when frames are built.
        self.tasks: list[tuple[Any, ...]] = []
        self.failures: list[tuple[Any, ...]] = []
        self.instances: list[tuple[Any, ...]] = []
        self.events: list[tuple[Any, ...]] = []
        self.series = SeriesChannel()
        self.placements: list[tuple[Any, ...]] | None = [] if explain else None
        self._packed: dict[str, list[dict[str, np.ndarray]]] = {name: [] for name in SCHEMAS}

    def compact(self, *, limit: int | None = None) -> None:
        """Pack every channel holding at least ``limit`` rows into column arrays.

        Without ``limit``, each channel packs at its own threshold (:data:`COMPACT_ROWS`,
        :data:`TASK_COMPACT_ROWS` for ``tasks``).
        """
        self.series.pack(COMPACT_ROWS if limit is None else limit)
        for name in SCHEMAS:
            rows = getattr(self, name)
            if name == "series" or rows is None:
                continue
            at = limit
            if at is None:
                at = TASK_COMPACT_ROWS if name == "tasks" else COMPACT_ROWS
            if len(rows) >= at:
                self._packed[name].append(_pack(name, rows))
                rows.clear()

    def count(self, name: str) -> int:
        """Rows recorded in channel ``name`` so far, packed or not."""
        rows = getattr(self, name)
        if name == "series":
            return len(rows)
        packed = sum(len(next(iter(chunk.values()))) for chunk in self._packed[name])
        return packed + (len(rows) if rows is not None else 0)

    def frames(self, extra: dict[str, list[Any]] | None = None) -> dict[str, pd.DataFrame]:
        """Build every frame (``placements`` only when recorded).

        Args:
            extra: Rows to append to a channel's rows in the frame only (for example the tasks
                still alive at the end), leaving the channels themselves untouched.
        """
        extra = extra or {}
        out = {}
        for name in SCHEMAS:
            rows = getattr(self, name)
            if rows is None:
                continue
            if name == "series":
                out[name] = self.series.frame()
                continue
            chunks = [*self._packed[name], _pack(name, rows + extra.get(name, []))]
            out[name] = build_frame(name, chunks)
        return out
