"""The recorder: append-only channels, built into tidy DataFrames once, at the end.

The schemas below are the single source of the result columns (SPEC section 6,
``docs/results-reference.md``). The hot path records a plain tuple per record, in the schema's
field order (or, for the series and a task's row, its numbers with coded ids); a channel that is
switched off is ``None`` and costs one attribute test.
"""

from __future__ import annotations

import struct
import typing
from collections.abc import Callable, Iterable, Mapping
from functools import partial
from itertools import compress
from operator import itemgetter
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from ecssim.model.enums import DesiredStatus, TaskStatus

try:
    from ecssim import _native
except ImportError:  # built without a C compiler: the Python twin (_expand_numpy) runs
    _native = None  # type: ignore[assignment]


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
#: Rows a channel holds as Python values before it packs them into column arrays.
COMPACT_ROWS = 200_000
#: Rows the ``tasks`` channel holds before it is packed: a task row holds 26 values, a series
#: row 6, and tasks end one a lifecycle against a dozen series rows.
TASK_COMPACT_ROWS = 20_000

#: numpy dtype of the columns recorded as numbers, by their schema annotation.
_NUMBER_DTYPES = {float: np.float64, int: np.int64, bool: np.bool_}
#: How a channel's binary record holds each of them (little-endian), and the ``struct`` code of
#: each record type.
_RECORD_TYPES = {np.float64: "<f8", np.int64: "<i8", np.bool_: "?"}
_STRUCT_CODES = {"<f8": "d", "<i8": "q", "|b1": "?"}


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
#: The task rows' statuses have fixed codes too, their places in these tuples (the task
#: channel's books are seeded with them): ``last_status``'s is the ``TaskStatus`` value and
#: ``desired_status``'s is :data:`DESIRED_STATUS`'s, so a stopped task's row is written without
#: looking its statuses up.
TASK_STATUSES = tuple(status.name for status in sorted(TaskStatus))
assert all(status == code for code, status in enumerate(sorted(TaskStatus)))  # 0, 1, 2, ...
DESIRED_STATUSES = tuple(status.value for status in DesiredStatus)
DESIRED_STATUS = {status: DESIRED_STATUSES.index(status.value) for status in DesiredStatus}

#: The levels the control plane records as changes rather than as levels: ``(metric, per
#: instance)`` each; a cluster's level otherwise. Each moves only with a task's reservation,
#: release and status changes, and each starts at 0.
CHANGED_LEVELS = (
    ("cpu_reserved", False),
    ("memory_reserved", False),
    ("tasks_pending", False),
    ("tasks_running", False),
    ("cpu_reserved", True),
    ("memory_reserved", True),
)
#: The series' change records: one record where a step moves one or several of
#: :data:`CHANGED_LEVELS`, with metric code :data:`CHANGE` ``[name]``: -2 and below, as -1 is
#: ``None`` and a metric's code is never negative (the codebook gives new names the next
#: code). Each expands into the rows listed, in order: ``(level, amount)``, the level an index
#: of :data:`CHANGED_LEVELS` and the amount the record's ``value``, its ``service`` field (a
#: second amount) or a constant.
#: The levels after each change are worked out when the channel packs (:class:`_Levels`), so a
#: reservation records one row of six numbers instead of four or five rows (BENCHMARKS.md).
CHANGE_RECORDS: dict[str, tuple[tuple[int, str | int], ...]] = {
    # A reservation (value: CPU, service: memory; negative for a release), cluster and instance.
    "reserved": ((0, "value"), (1, "service"), (4, "value"), (5, "service")),
    # The same for a new task, which is also one more pending task in its cluster.
    "reserved_pending": ((0, "value"), (1, "service"), (2, 1), (4, "value"), (5, "service")),
    "pending": ((2, "value"),),  # the cluster's pending tasks change by value
    "running": ((3, "value"),),  # the cluster's running tasks change by value
    "started": ((2, -1), (3, 1)),  # a pending task is now running
}
CHANGE = {name: -2 - i for i, name in enumerate(CHANGE_RECORDS)}


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

    def categorical(self, parts: list[np.ndarray]) -> pd.Categorical:
        """The categorical of the codes in ``parts``: categories are the values present, sorted.

        Works chunk by chunk, so the only array as long as the frame is the result, in the
        small integer type pandas would choose: at a million lifecycles the series has 12
        million rows, and whole-column temporaries in numpy's index type cost hundreds of MiB.
        """
        values = list(self)[1:]  # in code order; None (-1) comes first
        used = np.zeros(len(values) + 1, dtype=bool)  # by code + 1
        for part in parts:
            used[part + 1] = True  # each chunk's type holds its codes + 1 (Channel.pack)
        present = used[1:].nonzero()[0]
        held = [values[code] for code in present.tolist()]  # the values present, by code
        order = sorted(range(len(held)), key=held.__getitem__)
        # The new code of each old one, indexed by old code + 1 so that -1 stays -1.
        recode = np.full(len(values) + 1, -1, dtype=_code_dtype(len(present)))
        recode[present[order] + 1] = np.arange(len(present))
        codes: np.ndarray = np.empty(sum(len(part) for part in parts), dtype=recode.dtype)
        at = 0
        for part in parts:
            codes[at : at + len(part)] = recode[part + 1]
            at += len(part)
        names = [held[i] for i in order]
        # pandas' own dtype for the names (str on pandas 3), as the other channels' categoricals.
        categories = pd.Index(names) if names else pd.Index([], dtype=object)
        return pd.Categorical.from_codes(codes, categories=categories)


#: The series' binary record (``Channel``'s record of a ``SeriesRow``: its numbers, then its
#: codes), as the compiled expansion of change records reads it (``_native.expand``).
SERIES_RECORD = np.dtype(
    [
        ("t", "<f8"),
        ("value", "<f8"),
        ("metric", "<i8"),
        ("cluster", "<i8"),
        ("service", "<i8"),
        ("container_instance", "<i8"),
    ]
)


class _Levels:
    """The series' change records (:data:`CHANGE_RECORDS`) expanded into rows of levels.

    Holds each changed level's value as of the last pack, per cluster or instance code, so
    the levels carry from one pack to the next. The expanded rows take the change record's
    place, in order, and are the rows the control plane wrote when it recorded levels.
    """

    __slots__ = ("_levels", "_plan", "_rows", "_width")

    #: Each changed level's metric code, and whether it is an instance's (else a cluster's).
    _INFO = np.array(
        [(METRIC[name], per_instance) for name, per_instance in CHANGED_LEVELS], dtype=np.int64
    ).reshape(-1)

    def __init__(self) -> None:
        kinds = list(CHANGE_RECORDS.values())  # by kind: -2 - the record's code
        longest = max(len(rows) for rows in kinds)
        self._rows = np.array([len(rows) for rows in kinds], dtype=np.int64)  # rows a record
        # By (kind, row of it): the level, and its change as value * by_value + service *
        # by_service + constant (one of the three, by CHANGE_RECORDS).
        plan = np.zeros((len(kinds), longest, 4), dtype=np.int64)
        for kind, rows in enumerate(kinds):
            for j, (level, amount) in enumerate(rows):
                plan[kind, j, 0] = level
                if amount == "value":
                    plan[kind, j, 1] = 1
                elif amount == "service":
                    plan[kind, j, 2] = 1
                else:
                    plan[kind, j, 3] = amount
        self._plan = plan.reshape(-1)
        self._width = 0  # codes held per level in ``_levels``
        self._levels = np.zeros(0, dtype=np.int64)  # by level * width + cluster/instance code

    def count(self, metric: np.ndarray) -> int:
        """Rows the records of these metric codes expand into."""
        return len(metric) + int((self._rows[-2 - metric[metric < -1]] - 1).sum())

    def expand(self, records: np.ndarray) -> np.ndarray:
        """``records`` (the series' binary records) with each change record expanded."""
        if records.dtype != SERIES_RECORD:
            raise TypeError(f"series records of {records.dtype}, not SERIES_RECORD")
        metric = records["metric"]
        if not (metric < -1).any():
            return records
        out = np.empty(self.count(metric), dtype=SERIES_RECORD)
        codes = max(int(records["cluster"].max()), int(records["container_instance"].max()))
        self._grow(codes + 1)
        (_native.expand if _native is not None else _expand_numpy)(
            np.ascontiguousarray(records).view(np.int64),
            out.view(np.int64),
            self._rows,
            self._plan,
            self._INFO,
            self._levels,
            self._width,
        )
        return out

    def _grow(self, width: int) -> None:
        """Room for ``width`` codes per level, the levels kept."""
        if width > self._width:
            width = max(width, 2 * self._width)
            levels = np.zeros((len(CHANGED_LEVELS), width), dtype=np.int64)
            levels[:, : self._width] = self._levels.reshape(len(CHANGED_LEVELS), self._width)
            self._levels, self._width = levels.reshape(-1), width


def _expand_numpy(
    records: np.ndarray,
    out: np.ndarray,
    rows: np.ndarray,
    plan: np.ndarray,
    info: np.ndarray,
    levels: np.ndarray,
    width: int,
) -> None:
    """``_native.expand``'s twin: each change record in ``records`` expanded into ``out``.

    Both are the series' records viewed as int64 (:data:`SERIES_RECORD`). A change record of
    kind ``-2 - metric`` makes ``rows[kind]`` rows, each ``(level, by_value, by_service,
    constant)`` in ``plan``; the row's level (a cluster's or an instance's, by ``info``) moves
    by ``value * by_value + service * by_service + constant`` in ``levels`` and the row holds
    the level after it. Other records are copied as they are.
    """
    records, out = records.view(SERIES_RECORD), out.view(SERIES_RECORD)
    plan = plan.reshape(len(rows), -1, 4)
    metric_codes, per_instance_levels = info[0::2], info[1::2].astype(bool)
    metric = records["metric"]
    change = metric < -1
    made_rows = np.ones(len(records), dtype=np.int64)
    made_rows[change] = rows[-2 - metric[change]]
    ends = np.cumsum(made_rows)
    out[:] = records[np.repeat(np.arange(len(records)), made_rows)]  # each record, once a row
    nth = np.arange(len(out)) - np.repeat(ends - made_rows, made_rows)  # the row's place in it
    made = np.flatnonzero(out["metric"] < -1)  # the rows of change records
    kind, nth = -2 - out["metric"][made], nth[made]
    level = plan[kind, nth, 0]
    changes = (
        out["value"][made].astype(np.int64) * plan[kind, nth, 1]
        + out["service"][made] * plan[kind, nth, 2]
        + plan[kind, nth, 3]
    )
    per_instance = per_instance_levels[level]
    ids = np.where(per_instance, out["container_instance"][made], out["cluster"][made])
    if len(ids) and ids.min() < 0:  # it would move the level before it: a level's ids in a row
        raise ValueError("a series change record names no cluster or no container instance")
    if len(ids) and ids.max() >= width:
        raise IndexError(f"expand: code {int(ids.max())} is beyond width {width}")
    _accumulate_numpy(level * width + ids, changes, levels)
    out["metric"][made] = metric_codes[level]
    out["value"][made] = changes
    out["service"][made] = -1
    out["container_instance"][made] = np.where(per_instance, ids, -1)


def _accumulate_numpy(keys: np.ndarray, changes: np.ndarray, levels: np.ndarray) -> None:
    """Running levels for ``_expand_numpy``: ``changes[i]`` becomes ``levels[keys[i]]`` after it.

    For each i in order ``levels[keys[i]] += changes[i]``, then ``changes[i] =
    levels[keys[i]]``: cumulative sums within each key, by a stable sort on the keys.
    """
    if not len(keys):
        return
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    sums = np.cumsum(changes[order])
    first = np.empty(len(keys), dtype=bool)  # each key's first row in the sorted order
    first[0] = True
    np.not_equal(sorted_keys[1:], sorted_keys[:-1], out=first[1:])
    starts = np.flatnonzero(first)
    before = sums[starts] - changes[order][starts]  # the sums before each key's rows
    after = levels[sorted_keys] + sums - np.repeat(before, np.diff(np.append(starts, len(keys))))
    changes[order] = after
    last = np.append(starts[1:], len(keys)) - 1  # each key's last row
    levels[sorted_keys[last]] = after[last]


def _code_dtype(n: int) -> type[np.signedinteger[Any]]:
    """The integer type pandas gives the codes of ``n`` categories (holds -1 to ``n``)."""
    for dtype in (np.int8, np.int16, np.int32):
        if n < np.iinfo(dtype).max:
            return dtype
    return np.int64


class Channel:
    """One frame's records: numbers as packed binary rows, text in a list, ids as codes.

    A row's numbers, then its ids and names (the :data:`CATEGORICAL` columns) coded by
    per-column :class:`_Codebook` s (:attr:`number_fields` is the order) are packed by one
    call (``_native.write_rows``, or ``struct`` without the compiled module) into a fixed-size
    binary record (``float64`` for float columns, ``int64`` for integers and codes, a byte for
    booleans) at the end of one ``bytearray``; its free text (ARNs, reasons, messages) goes to a
    list. Every :data:`COMPACT_ROWS` rows (:meth:`pack`) numpy reads a copy of the records as
    one structured array (never the bytearray itself, which a live view would pin) and copies
    each column out.
    Before, the numbers went to a list of Python objects that ``np.fromiter`` converted one by
    one, about 200 instructions a number (BENCHMARKS.md, "Rows as binary records").

    :meth:`append` takes a row with names in the schema's field order, as ``list.append`` did.
    The hot path may record coded rows itself: :meth:`rows` gives the function that records
    ``k`` rows (the values of :attr:`number_fields` for each row, ids coded with
    :attr:`books`; :attr:`row` is ``rows(1)``), as the control plane does for the series:
    ``t, value, metric, cluster, service, container_instance``. Free text goes to
    :attr:`extend_text`.
    """

    __slots__ = (
        "_buffer",
        "_chunks",
        "_dtypes",
        "_get_ids",
        "_get_plain",
        "_get_texts",
        "_id_books",
        "_levels",
        "_limit",
        "_record",
        "_texts",
        "_writers",
        "books",
        "extend_text",
        "name",
        "number_fields",
        "row",
        "text_fields",
    )

    def __init__(
        self,
        name: str,
        limit: int | None = None,
        books: dict[str, _Codebook] | None = None,
        shared: Mapping[str, _Codebook] | None = None,
    ) -> None:
        """An empty channel of schema ``name`` that packs every ``limit`` rows (COMPACT_ROWS).

        ``books`` shares another channel's codes (rows added to a frame only); ``shared`` gives
        the books of some columns, shared with other channels (:attr:`Recorder.shared`).
        """
        self.name = name
        self._limit = limit or COMPACT_ROWS
        fields = SCHEMAS[name]._fields
        hints = typing.get_type_hints(SCHEMAS[name])
        if books is None:
            shared = shared or {}
            books = {
                field: shared[field] if field in shared else _Codebook()
                for field in fields
                if field in CATEGORICAL
            }
            if name == "series":
                books["metric"] = _Codebook(METRICS)
            if name == "tasks":
                books["last_status"] = _Codebook(TASK_STATUSES)
                books["desired_status"] = _Codebook(DESIRED_STATUSES)
        self.books = books
        ids = [i for i, f in enumerate(fields) if f in CATEGORICAL]
        plain = [i for i, f in enumerate(fields) if i not in ids and hints[f] in _NUMBER_DTYPES]
        texts = [i for i in range(len(fields)) if i not in ids and i not in plain]
        # A row's numbers: its plain numbers, then its ids' codes, each in schema order.
        self.number_fields = tuple(fields[i] for i in plain + ids)
        self.text_fields = tuple(fields[i] for i in texts)
        # Each field's packed type: codes in the smallest type for their book's size (at pack
        # time), numbers by their annotation, text as objects.
        self._dtypes: dict[str, Any] = {
            field: _NUMBER_DTYPES.get(hints[field], object)
            for field in fields
            if field not in books
        }
        # The binary record of a row's numbers, as numpy reads it back.
        self._record = np.dtype(
            [
                (field, "<i8" if field in books else _RECORD_TYPES[self._dtypes[field]])
                for field in self.number_fields
            ]
        )
        self._id_books = tuple(books[fields[i]] for i in ids)
        self._get_plain = _getter(plain)
        self._get_ids = _getter(ids)
        self._get_texts = _getter(texts)
        self._buffer = bytearray()
        self._texts: list[Any] = []
        # The series' change records and the levels they carry from pack to pack.
        self._levels = _Levels() if name == "series" else None
        self._bind()
        self._chunks: list[dict[str, np.ndarray]] = []

    def _bind(self) -> None:
        """The writers bound to this channel's buffers, anew."""
        self._writers: dict[int, Callable[..., None]] = {}
        self.extend_text = self._texts.extend
        self.row = self.rows(1)  # ``rows(1)`` without the call, for the hot path

    def __getstate__(self) -> dict[str, Any]:
        # The writers are bound again to the copied buffers where the channel is unpickled.
        skip = {"_writers", "extend_text", "row"}
        return {name: getattr(self, name) for name in self.__slots__ if name not in skip}

    def __setstate__(self, state: dict[str, Any]) -> None:
        for name, value in state.items():
            setattr(self, name, value)
        self._bind()

    def rows(self, k: int = 1) -> Callable[..., None]:
        """The function recording ``k`` rows' numbers, given flat, in order."""
        writer = self._writers.get(k)
        if writer is None:
            record = self._record
            formats = "".join(_STRUCT_CODES[record[field].str] for field in self.number_fields)
            writer = self._writers[k] = _row_writer(self._buffer, formats * k)
        return writer

    def append(self, row: tuple[Any, ...]) -> None:
        """Record one row given with names, in the schema's field order."""
        # Each id through its column's codebook, in one C-level loop (``__missing__`` included).
        codes = map(dict.__getitem__, self._id_books, self._get_ids(row))
        self.rows()(*self._get_plain(row), *codes)
        self.extend_text(self._get_texts(row))

    def __len__(self) -> int:
        packed = sum(len(chunk[self.number_fields[0]]) for chunk in self._chunks)
        if self._levels is not None and self._buffer:  # change records are several rows each
            records = np.frombuffer(bytes(self._buffer), dtype=self._record)  # a copy: see pack
            return packed + self._levels.count(records["metric"])
        return packed + len(self._buffer) // self._record.itemsize

    def pack(self, limit: int | None = None) -> bool:
        """Pack the rows into column arrays once there are ``limit`` (default: the channel's).

        Returns whether it packed.
        """
        buffer, texts = self._buffer, self._texts
        if not buffer or len(buffer) < self._record.itemsize * (limit or self._limit):
            return False
        # numpy reads a copy of the records, not the bytearray itself: a view of it is an export,
        # and while one lives the bytearray can neither grow nor be cleared. A view dies with the
        # function that made it, unless something holds that function's frame: a sampling
        # profiler's thread does (Dask's workers run one), and the clear below then failed with
        # a BufferError. The copy costs a few milliseconds a pack of 200,000 records.
        records = np.frombuffer(bytes(buffer), dtype=self._record)
        if self._levels is not None:
            records = self._levels.expand(records)  # a copy if it holds change records
        self._chunks.append(self._columns(records))
        buffer.clear()  # in place: the writers and ``extend_text`` stay bound to these
        texts.clear()
        return True

    def _columns(self, records: np.ndarray) -> dict[str, np.ndarray]:
        """``records`` (rows read from the buffer) and the text list as a chunk's columns.

        What :meth:`pack` keeps, and what the read-back (:meth:`_recent_parts`) reads of the
        rows not packed yet; the buffer and the text list are left as they are.
        """
        chunk: dict[str, np.ndarray] = {}
        for field in self.number_fields:
            book = self.books.get(field)
            # Codes: the smallest type that holds them so far, -1 and code + 1 (categorical).
            dtype = _code_dtype(len(book)) if book is not None else self._dtypes[field]
            chunk[field] = records[field].astype(dtype)  # a copy, in the chunk's own type
        if self.text_fields:
            texts = self._texts
            flat = np.empty(len(texts), dtype=object)
            flat[:] = texts  # objects as they are (np.array would look into them)
            columns = flat.reshape(-1, len(self.text_fields))
            for j, field in enumerate(self.text_fields):
                chunk[field] = columns[:, j].copy()
        return chunk

    def set(self, index: int, field: str, value: Any) -> None:
        """Replace the text ``field`` of row ``index`` (the task ARN of a placement, known after).

        The control plane does this right after recording the row, so it is nearly always
        still in the text list; no chunk is packed for it.
        """
        for chunk in self._chunks:
            if index < len(chunk[field]):
                chunk[field][index] = value
                return
            index -= len(chunk[field])
        self._texts[index * len(self.text_fields) + self.text_fields.index(field)] = value

    # -- reading rows back (cold paths: DescribeTasks and ListTasks on STOPPED tasks) -----------
    def _recent_parts(self, field: str, bound: float) -> list[dict[str, Any]]:
        """The rows whose number ``field`` is at least ``bound``, as column parts, newest first.

        Rows must be recorded in ``field``'s order (the ``tasks`` channel's ``stopped_at``: a
        task's row is written as it stops), so a part's cut is one binary search and the parts
        older than the first one cut are not read. Codes are left as they are (:meth:`_decoded`).
        Not for the series, whose records are changes, not rows.
        """
        parts: list[dict[str, Any]] = []
        if self._buffer:  # a copy of the records, not a view of the bytearray (see pack)
            parts.append(self._columns(np.frombuffer(bytes(self._buffer), dtype=self._record)))
        parts.extend(reversed(self._chunks))
        recent = []
        for part in parts:
            start = int(np.searchsorted(part[field], bound, side="left"))
            if start < len(part[field]):
                recent.append({name: column[start:] for name, column in part.items()})
            if start > 0:
                break  # the parts before this one are older still
        return recent

    def _decoded(self, field: str, column: np.ndarray) -> list[Any]:
        """A packed column's values as they were recorded: codes decoded, numbers Python's."""
        book = self.books.get(field)
        if book is None:
            return column.tolist()
        values = np.empty(len(book), dtype=object)
        values[:] = list(book)  # by code + 1: None (-1) first
        return values[column.astype(np.int64) + 1].tolist()

    def latest(
        self, field: str, wanted: Iterable[Any], *, since: tuple[str, float]
    ) -> dict[Any, dict[str, Any]]:
        """The latest row of each value in ``wanted`` of the text ``field``, by that value.

        Each row with every column as recorded. ``since = (number_field, bound)``: only rows
        whose ``number_field`` is at least ``bound`` count (see :meth:`_recent_parts`); a value
        without such a row is left out. One pass over those rows, whatever ``wanted`` holds.
        """
        wanted = set(wanted)
        found: dict[Any, dict[str, Any]] = {}
        for part in self._recent_parts(*since) if wanted else ():
            column = part[field].tolist()
            hits = list(compress(range(len(column)), map(wanted.__contains__, column)))  # in C
            if not hits:
                continue
            rows = {name: self._decoded(name, part[name][hits]) for name in part}
            for j, i in enumerate(reversed(hits)):  # the latest first
                value = column[i]
                if value not in found:
                    found[value] = {name: rows[name][len(hits) - 1 - j] for name in rows}
            wanted -= found.keys()
            if not wanted:
                break
        return found

    def recent(self, fields: tuple[str, ...], *, since: tuple[str, float]) -> dict[str, list[Any]]:
        """The columns ``fields`` of every row recent enough (``since``, as :meth:`latest`).

        Each column as recorded (codes decoded), its rows in the order they were recorded.
        """
        parts = self._recent_parts(*since)[::-1]
        columns: dict[str, list[Any]] = {}
        for name in fields:
            columns[name] = []
            for part in parts:
                columns[name] += self._decoded(name, part[name])
        return columns

    def sibling(self) -> Channel:
        """An empty channel of the same schema that shares this one's codebooks.

        For rows that join a frame without being recorded (:meth:`frame`'s ``extra``).
        """
        return Channel(self.name, books=self.books)

    def frame(self, extra: Channel | None = None) -> pd.DataFrame:
        """The frame of the rows recorded so far, plus the rows of ``extra`` (a :meth:`sibling`)."""
        self.pack(limit=1)
        chunks = self._chunks
        if extra is not None:
            extra.pack(limit=1)
            chunks = [*chunks, *extra._chunks]
        fields = SCHEMAS[self.name]._fields
        data: dict[str, Any] = {}
        for field in fields:
            parts = [chunk[field] for chunk in chunks]
            book = self.books.get(field)
            if book is not None:
                data[field] = book.categorical(parts)
            elif parts:
                data[field] = np.concatenate(parts)
            else:  # no rows: floats are float64, anything else objects, as frames always had
                dtype = self._dtypes[field]
                data[field] = np.empty(0, dtype=dtype if dtype is np.float64 else object)
        # The arrays above are this frame's own: no second copy, which at a million lifecycles
        # would briefly hold the series twice (BENCHMARKS.md, P6).
        return pd.DataFrame(data, columns=list(fields), copy=False)


def _row_writer(buffer: bytearray, formats: str) -> Callable[..., None]:
    """The function appending rows' numbers to ``buffer`` as ``struct`` packs ``"<" + formats``.

    ``_native.write_rows`` converts each value once, straight into the buffer's new end; its
    twin packs a ``bytes`` with ``struct`` and extends the buffer with it (BENCHMARKS.md, "Rows
    written in place").
    """
    if _native is not None:
        return partial(_native.write_rows, buffer, formats.encode("ascii"))
    return partial(_write_rows_python, buffer.extend, struct.Struct("<" + formats).pack)


def _write_rows_python(
    extend: Callable[[bytes], None], pack: Callable[..., bytes], *values: Any
) -> None:
    """``_native.write_rows``' twin: ``values`` packed by ``pack`` and appended by ``extend``."""
    extend(pack(*values))


def _getter(indexes: list[int]) -> Callable[[tuple[Any, ...]], tuple[Any, ...]]:
    """``row -> tuple of row[i] for i in indexes`` in one C call where it can be.

    Module-level functions and ``partial`` rather than lambdas, so a recorder can be pickled.
    """
    if len(indexes) > 1:
        return itemgetter(*indexes)
    if indexes:
        return partial(_one, indexes[0])
    return _none


def _one(index: int, row: tuple[Any, ...]) -> tuple[Any, ...]:
    return (row[index],)


def _none(row: tuple[Any, ...]) -> tuple[Any, ...]:
    return ()


class Recorder:
    """One :class:`Channel` per frame; recording a row is one ``append`` of a plain tuple.

    The series, a dozen rows a task lifecycle, is recorded by the control plane with codes
    (``Channel.rows``). The channels pack their rows into column arrays as they grow, so a run
    of a million task lifecycles keeps its results in a few hundred MiB instead of many GiB.

    Attributes:
        placements: ``None`` unless placement explanations are on (``explain``).
    """

    __slots__ = ("events", "failures", "instances", "placements", "series", "shared", "tasks")

    def __init__(self, *, explain: bool = False) -> None:
        #: Codebooks every channel shares: a cluster's, a service's, an instance's and a zone's
        #: code are the same in each, so the control plane keeps them on its records
        #: (``ClusterRecord.code``, ``ServiceRecord.code``, ``InstanceRecord.code`` and
        #: ``zone_code``) and its hot path writes them without a look-up; at 10,000 instances
        #: the look-up by ARN in a dictionary of every instance missed the caches.
        self.shared = {
            field: _Codebook()
            for field in ("cluster", "service", "container_instance", "availability_zone")
        }
        self.tasks = self.channel("tasks", limit=TASK_COMPACT_ROWS)
        self.failures = self.channel("failures")
        self.instances = self.channel("instances")
        self.events = self.channel("events")
        self.series = self.channel("series")
        self.placements: Channel | None = self.channel("placements") if explain else None

    def channel(self, name: str, limit: int | None = None) -> Channel:
        """A new channel of schema ``name`` with the recorder's :attr:`shared` codebooks."""
        return Channel(name, limit, shared=self.shared)

    def code(self, field: str, value: str) -> int:
        """The code of ``value`` in every channel's ``field`` (a :attr:`shared` one)."""
        return self.shared[field][value]

    def compact(self, *, limit: int | None = None) -> None:
        """Pack every channel holding at least ``limit`` rows (default: its own threshold)."""
        for name in SCHEMAS:
            channel = getattr(self, name)
            if channel is not None:
                channel.pack(limit)

    def count(self, name: str) -> int:
        """Rows recorded in channel ``name`` so far, packed or not."""
        channel = getattr(self, name)
        return len(channel) if channel is not None else 0

    def frames(self, extra: dict[str, Channel] | None = None) -> dict[str, pd.DataFrame]:
        """Build every frame (``placements`` only when recorded).

        Args:
            extra: By channel name, a :meth:`Channel.sibling` whose rows join that frame only
                (for example the tasks still alive at the end), leaving the channels themselves
                untouched.
        """
        extra = extra or {}
        return {
            name: channel.frame(extra.get(name))
            for name in SCHEMAS
            if (channel := getattr(self, name)) is not None
        }
