"""The recorder: packing channels into columns never changes the frames."""

from __future__ import annotations

import pickle
import struct
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import NATIVE_BUILDS, native_build
from hypothesis import given
from hypothesis import strategies as st

import ecssim.control.plane as plane_module
import ecssim.metrics as metrics_module
from ecssim.metrics import (
    CATEGORICAL,
    CHANGE,
    CHANGE_RECORDS,
    CHANGED_LEVELS,
    METRIC,
    METRICS,
    Channel,
    InstanceRow,
    Recorder,
    SeriesRow,
    TaskRow,
)
from ecssim.model.enums import DesiredStatus, TaskStatus
from ecssim.scenario.loader import load_scenario
from ecssim.simulation import Simulation

QUICKSTART = Path(__file__).resolve().parents[1] / "scenarios" / "quickstart.yaml"


def _frames(compact_every: float | None) -> dict[str, pd.DataFrame]:
    sim = Simulation.from_scenario(load_scenario(QUICKSTART))
    end = 6 * 3600.0
    if compact_every is None:
        sim.run(until=end)
    else:
        t = 0.0
        while t < end:
            t = min(t + compact_every, end)
            sim.run(until=t)
            sim.recorder.compact(limit=1)  # pack whatever is there, mid-run
    return sim.result().frames


def test_packing_channels_mid_run_gives_identical_frames():
    plain = _frames(None)
    packed = _frames(1800.0)
    assert set(plain) == set(packed)
    for name, frame in plain.items():
        pd.testing.assert_frame_equal(frame, packed[name], obj=name)
    assert len(plain["series"]) > 100 and len(plain["tasks"]) > 10


def test_records_read_by_numpy_never_pin_the_channel_s_buffer(monkeypatch):
    """What numpy reads of the records may outlive the read: a sampling profiler's thread holds
    the frames it samples, with their locals (Dask's workers run one). Packing and counting must
    still leave the channel free to grow and to clear its records."""
    held: list[np.ndarray] = []
    expand, count = metrics_module._Levels.expand, metrics_module._Levels.count

    def expand_held(self, records):
        held.append(records)  # as a held frame of expand would keep its argument
        return expand(self, records)

    def count_held(self, metric):
        held.append(metric)
        return count(self, metric)

    monkeypatch.setattr(metrics_module._Levels, "expand", expand_held)
    monkeypatch.setattr(metrics_module._Levels, "count", count_held)
    channel = Channel("series")
    cluster = channel.books["cluster"]["prod"]
    instance = channel.books["container_instance"]["arn:ci/1"]
    for t in range(3):
        channel.row(float(t), 256, CHANGE["reserved"], cluster, 512, instance)
        assert len(channel) == 4 * (t + 1)  # counted while the buffer holds records
    assert channel.pack(limit=1)
    channel.row(3.0, -256, CHANGE["reserved"], cluster, -512, instance)
    assert channel.pack(limit=1) and len(held) >= 5
    assert channel.frame()["value"].tolist()[-4:] == [512.0, 1024.0, 512.0, 1024.0]


def test_recording_goes_on_through_bound_appends_after_a_pack():
    sim = Simulation.from_scenario(load_scenario(QUICKSTART))
    sim.run(until=3600.0)
    recorder = sim.recorder
    tasks, row = len(recorder.tasks), recorder.series.rows()
    rows = len(recorder.series)
    recorder.compact(limit=1)
    assert not recorder.series._buffer and not recorder.tasks._buffer  # all packed
    assert (len(recorder.series), len(recorder.tasks)) == (rows, tasks)  # and nothing lost
    # The hot path holds the series' bound writer: it must still record after a pack.
    row(3600.0, 7, METRIC["tasks_running"], -1, -1, -1)
    series = sim.result().series
    assert len(series) == rows + 1
    assert series.iloc[-1][["metric", "value"]].tolist() == ["tasks_running", 7.0]


def test_when_the_series_packs_the_other_channels_pack_too(monkeypatch):
    # Only the series and the task rows are checked per task; events, failures and placements
    # are packed whenever the series is, each at its own threshold, so none grows unpacked.
    import ecssim.metrics as metrics

    plain = _frames(None)
    monkeypatch.setattr(metrics, "COMPACT_ROWS", 3)
    monkeypatch.setattr(plane_module, "PACK_CHECK_STOPS", 1)  # checked at every stop
    sim = Simulation.from_scenario(load_scenario(QUICKSTART))
    sim.run(until=6 * 3600.0)
    assert sim.recorder.series._chunks and sim.recorder.events._chunks  # packed during the run
    for name, frame in sim.result().frames.items():
        pd.testing.assert_frame_equal(frame, plain[name], obj=name)


@given(
    rows=st.lists(
        st.tuples(
            st.floats(0, 1e6),
            st.sampled_from([*METRICS[:3], "a_new_metric"]),
            st.sampled_from(["prod", "dev", None]),
            st.sampled_from(["web", "api", None]),
            st.sampled_from([f"arn:ci/{i}" for i in range(5)] + [None]),
            st.integers(-(2**40), 2**40) | st.floats(-1e9, 1e9),
        ),
        max_size=40,
    ),
    packs=st.lists(st.integers(0, 40), max_size=4),
)
def test_series_channel_frame_is_the_frame_of_its_rows(rows, packs):
    """Rows recorded by name or by code, packed anywhere: the frame pandas builds from them."""
    channel = Channel("series")
    for i, row in enumerate(rows):
        if i % 2:
            channel.append(row)
        else:  # the hot path's form: codes from the channel's books
            books = channel.books
            t, metric, cluster, service, instance, value = row
            channel.rows()(
                t,
                value,
                books["metric"][metric],
                books["cluster"][cluster],
                books["service"][service],
                books["container_instance"][instance],
            )
        if i in packs:
            channel.pack(limit=1)
    expected = pd.DataFrame(rows, columns=list(SeriesRow._fields))
    for column in ("t", "value"):
        expected[column] = expected[column].astype("float64")
    for j, column in enumerate(("metric", "cluster", "service", "container_instance"), start=1):
        values = [row[j] for row in rows]
        categories = sorted({v for v in values if v is not None})
        expected[column] = pd.Categorical(
            values, categories=pd.Index(categories) if categories else pd.Index([], dtype=object)
        )
    assert len(channel) == len(rows)
    pd.testing.assert_frame_equal(channel.frame(), expected, check_index_type=False)


def test_task_rows_are_packed_at_their_own_threshold(monkeypatch):
    # Task rows are packed sooner than series rows (TASK_COMPACT_ROWS): each channel packs
    # when it reaches its own threshold, and the frames do not change.
    import ecssim.metrics as metrics

    plain = _frames(None)
    monkeypatch.setattr(metrics, "TASK_COMPACT_ROWS", 4)
    monkeypatch.setattr(plane_module, "PACK_CHECK_STOPS", 1)
    sim = Simulation.from_scenario(load_scenario(QUICKSTART))
    sim.run(until=6 * 3600.0)
    assert len(sim.recorder.tasks._chunks) >= 2  # packed during the run
    assert not sim.recorder.series._chunks  # the series has its own, larger threshold
    # count() sees packed and pending rows: every stopped task was recorded once.
    assert sim.recorder.count("tasks") == plain["tasks"]["stopped_at"].notna().sum()
    assert sim.recorder.count("series") == len(plain["series"])
    for name, frame in sim.result().frames.items():
        pd.testing.assert_frame_equal(frame, plain[name], obj=name)


def test_packing_is_checked_every_pack_check_stops_stopped_tasks(monkeypatch):
    import ecssim.metrics as metrics

    monkeypatch.setattr(metrics, "TASK_COMPACT_ROWS", 2)
    monkeypatch.setattr(plane_module, "PACK_CHECK_STOPS", 3)
    sim = Simulation.from_scenario(load_scenario(QUICKSTART))
    sim.run(until=6 * 3600.0)
    stops = sim.recorder.count("tasks")
    assert stops >= 6
    # Each check found the three rows since the last one, above the threshold of two; the
    # stops in between checked nothing.
    assert len(sim.recorder.tasks._chunks) == stops // 3


_NAMES = st.sampled_from(["a", "b", "c", None])


@given(
    rows=st.lists(
        st.tuples(
            st.sampled_from(["arn:ci/1", "arn:ci/2"]),  # container_instance (an id)
            st.sampled_from(["i-1", "i-2", None]),  # ec2_instance_id (text)
            _NAMES,
            _NAMES,
            _NAMES,
            _NAMES,
            _NAMES,
            st.integers(0, 2**40),  # registered_cpu
            st.integers(0, 2**40),
            st.floats(allow_nan=True, allow_infinity=False, width=64),
            st.floats(0, 1e9),
            st.floats(0, 1e9),
            _NAMES,
            st.booleans(),  # agent_connected
            st.floats(0, 10),
        ),
        min_size=1,
        max_size=30,
    ),
    packs=st.lists(st.integers(0, 30), max_size=3),
)
def test_a_channel_frame_holds_its_rows_with_the_schema_dtypes(rows, packs):
    """Ids, text, integers, booleans and floats of any channel come back as they went in."""
    channel = Channel("instances")
    for i, row in enumerate(rows):
        channel.append(row)
        if i in packs:
            channel.pack(limit=1)
    more = channel.sibling()
    for row in rows[:2]:
        more.append(row)
    frame = channel.frame(extra=more)  # extra rows join the frame only
    assert len(channel) == len(rows) and len(frame) == len(rows) + min(len(rows), 2)
    expected = rows + rows[:2]
    for j, field in enumerate(InstanceRow._fields):
        values = [row[j] for row in expected]
        column = frame[field]
        if field in CATEGORICAL:
            assert column.dtype == "category"
            assert list(column.cat.categories) == sorted({v for v in values if v is not None})
        if field in CATEGORICAL or isinstance(values[0], str | None):
            # Missing ids and text read back as pandas' missing value (NaN on pandas 3's str).
            assert [None if pd.isna(v) else v for v in column.tolist()] == values
        else:
            np.testing.assert_array_equal(column.to_numpy(), np.asarray(values))
            assert column.dtype.kind == {int: "i", bool: "b", float: "f"}[type(values[0])], field


def test_set_replaces_a_text_value_packed_or_not():
    """The control plane names a placement's task after recording it (``Channel.set``)."""
    channel = Channel("placements")
    row = (1.0, None, "c", "g", 3, 2, 2, "2,1", "arn:ci/1", None, None)
    for _ in range(3):
        channel.append(row)
    channel.pack(limit=1)
    channel.append(row)
    channel.set(1, "task_arn", "arn:task/b")  # packed
    channel.set(3, "task_arn", "arn:task/d")  # not yet
    assert len(channel._chunks) == 1 and len(channel._texts) > 0  # set packed nothing
    arns = [None if pd.isna(arn) else arn for arn in channel.frame()["task_arn"].tolist()]
    assert arns == [None, "arn:task/b", None, "arn:task/d"]


def test_a_recorder_pickles_mid_run_and_goes_on_recording():
    sim = Simulation.from_scenario(load_scenario(QUICKSTART))
    sim.run(until=3600.0)
    copy = pickle.loads(pickle.dumps(sim.recorder))
    for name, frame in sim.recorder.frames().items():
        pd.testing.assert_frame_equal(copy.frames()[name], frame, obj=name)
    copy.series.rows()(3600.0, 7, METRIC["tasks_running"], -1, -1, -1)
    assert len(copy.series) == len(sim.recorder.series) + 1


def test_clusters_services_instances_and_zones_have_one_code_in_every_channel():
    """The control plane writes the codes its records keep (``ClusterRecord.code``,
    ``ServiceRecord.code``, ``InstanceRecord.code`` and ``zone_code``) itself: each must be the
    name's code in every channel, including a channel made after the start (placements) and in
    a pickled copy."""
    sim = Simulation.from_scenario(load_scenario(QUICKSTART))
    sim.run(until=600.0)
    sim.explain = True  # the placements channel, made mid-run
    sim.run(until=1200.0)
    recorder = sim.recorder
    copy = pickle.loads(pickle.dumps(recorder))
    clusters = sim.control.clusters.values()
    named = {
        "cluster": [(c.name, c.code) for c in clusters],
        "service": [(s.name, s.code) for c in clusters for s in c.services.values()],
        "container_instance": [(i.arn, i.code) for i in sim.control.instances],
        "availability_zone": [(i.zone, i.zone_code) for i in sim.control.instances],
    }
    for field, codes in named.items():
        assert codes and all(code >= 0 for _, code in codes), field
        for kept in (recorder, copy):
            channels = [kept.tasks, kept.series, kept.instances, kept.events, kept.placements]
            having = [channel for channel in channels if field in channel.books]
            assert kept.tasks in having, field
            for channel in having:
                book = channel.books[field]
                assert book is kept.shared[field], (field, channel.name)
                assert all(book[value] == code for value, code in codes), (field, channel.name)
    placed = recorder.frames()["placements"].container_instance.dropna()
    assert set(placed) <= {arn for arn, _ in named["container_instance"]}


def _named_task_row(task) -> TaskRow:
    """A task's row by the schema's names, from the task's attributes (the test's own reading)."""
    instance, definition = task.container_instance, task.task_definition
    return TaskRow(
        task_arn=task.arn,
        cluster=task.cluster.name,
        service=task.service.name if task.service else None,
        group=task.group,
        family=definition.family,
        revision=definition.revision or 0,
        launch_type=task.launch_type,
        capacity_provider=None,
        container_instance=instance.arn if instance else None,
        availability_zone=instance.zone if instance else None,
        cpu=task.requirement.cpu,
        memory=task.requirement.memory_mib,
        created_at=task.created_at,
        pull_started_at=task.pull_started_at,
        pull_stopped_at=task.pull_stopped_at,
        started_at=task.started_at,
        stopping_at=task.stopping_at,
        execution_stopped_at=task.execution_stopped_at,
        stopped_at=task.stopped_at,
        last_status=task.last_status.name,
        desired_status=task.desired_status.value,
        stop_code=task.stop_code,
        stopped_reason=task.stopped_reason,
        exit_code=task.exit_code,
        started_by=task.started_by,
        desired_stopped_at=task.desired_stopped_at,
    )


@pytest.mark.parametrize("scenario", ["quickstart.yaml", "batch-runtask.yaml", "draining.yaml"])
def test_a_tasks_record_is_its_task_row(scenario):
    """The control plane writes a task's row straight to a channel, in the channel's order:
    the frame must be the one the named row gives through ``append``, for the tasks that stop
    during the run and for those still alive at its end."""
    from ecssim.metrics import Recorder

    sim = Simulation.from_scenario(load_scenario(QUICKSTART.with_name(scenario)))
    control, named = sim.control, Recorder()
    record, kinds = control._record_task, set()

    def both(task, tasks):
        record(task, tasks)
        named.tasks.append(_named_task_row(task))
        kinds.add((task.service is None, task.stop_code))

    control._record_task = both
    sim.run(until=6 * 3600.0)
    assert kinds  # (the three scenarios: service and standalone tasks, exits and stops)
    pd.testing.assert_frame_equal(sim.recorder.frames()["tasks"], named.frames()["tasks"])
    control._record_task = record  # the live rows: the writer alone, compared below
    live = control.snapshot()["tasks"]
    assert len(live) > 0
    alive = [task for c in control.clusters.values() for task in c.tasks.values()]
    expected = named.tasks.sibling()
    for task in alive:
        if task.last_status.name != "STOPPED":
            expected.append(_named_task_row(task))
    pd.testing.assert_frame_equal(live.frame(), expected.frame())


try:
    from ecssim import _native
except ImportError:  # installed without a C compiler: the Python twin is tested alone
    _native = None  # type: ignore[assignment]


@given(
    calls=st.lists(
        st.lists(st.tuples(st.integers(0, 6), st.integers(-(2**40), 2**40)), max_size=30),
        min_size=1,
        max_size=3,
    )
)
def test_accumulate_gives_each_level_after_its_change_and_carries_the_levels(calls):
    levels = np.zeros(7, dtype=np.int64)
    expected_levels = [0] * 7
    for call in calls:
        keys = np.array([k for k, _ in call], dtype=np.int64)
        changes = np.array([c for _, c in call], dtype=np.int64)
        expected = []
        for key, change in call:  # the definition, one change at a time
            expected_levels[key] += change
            expected.append(expected_levels[key])
        metrics_module._accumulate_numpy(keys, changes, levels)
        assert changes.tolist() == expected
        assert levels.tolist() == expected_levels


def _expand_arguments(records: np.ndarray) -> tuple:
    """``_native.expand``'s arguments for ``records`` (SERIES_RECORD), levels of width 4."""
    levels = metrics_module._Levels()
    levels._grow(4)
    out = np.zeros(levels.count(records["metric"]), dtype=metrics_module.SERIES_RECORD)
    rows, plan, info = levels._rows, levels._plan, levels._INFO
    return records.view(np.int64), out.view(np.int64), rows, plan, info, levels._levels, 4


@pytest.mark.skipif(_native is None, reason="ecssim._native not built")
def test_the_compiled_expand_refuses_what_it_cannot_read():
    records = np.zeros(3, dtype=metrics_module.SERIES_RECORD)
    records["metric"] = [METRIC["tasks_running"], CHANGE["reserved"], CHANGE["started"]]
    records["container_instance"] = [-1, 1, -1]
    args = _expand_arguments(records)
    _native.expand(*args)  # as given, it expands
    levels = args[5]
    kept = levels.copy()
    with pytest.raises(TypeError, match="records must be a 1-d contiguous int64 array"):
        _native.expand(args[0].astype(np.int32), *args[1:])
    with pytest.raises(ValueError, match="records make 7 rows, out holds 6"):
        _native.expand(args[0], args[1][:-6], *args[2:])
    with pytest.raises(ValueError, match="must be whole records"):
        _native.expand(args[0][:-1], *args[1:])
    beyond = records.copy()
    beyond["container_instance"][1] = 4
    with pytest.raises(IndexError, match="code 4 is beyond width 4"):
        _native.expand(beyond.view(np.int64), *args[1:])
    beyond["container_instance"][1] = -1
    with pytest.raises(ValueError, match="no cluster or no container instance"):
        _native.expand(beyond.view(np.int64), *args[1:])
    beyond["metric"][1] = -2 - len(CHANGE_RECORDS)
    with pytest.raises(ValueError, match="no change record has metric code"):
        _native.expand(beyond.view(np.int64), *args[1:])
    assert (levels == kept).all()  # nothing moved by a refused call


#: A recorded row's values and their formats: float64, int64 (codes among them) and booleans.
_ROW_VALUES = st.lists(
    st.one_of(
        st.tuples(st.just("d"), st.floats(allow_nan=True, allow_infinity=True)),
        st.tuples(st.just("d"), st.integers(-(2**53), 2**53)),  # an int as a float column's
        st.tuples(st.just("q"), st.integers(-(2**63), 2**63 - 1)),
        st.tuples(st.just("q"), st.booleans()),  # a bool is an int
        st.tuples(st.just("?"), st.one_of(st.booleans(), st.none(), st.integers(0, 3))),
    ),
    min_size=1,
    max_size=80,  # past the compiled writer's 64 values on the stack
)


@pytest.mark.parametrize("build", NATIVE_BUILDS)
@given(rows=st.lists(_ROW_VALUES, min_size=1, max_size=4))
def test_rows_are_written_as_struct_packs_them(build, rows):
    """The channels' row writer, compiled or not: struct's little-endian bytes, row after row,
    onto the bytes already there."""
    buffer = bytearray(b"kept")
    expected = bytearray(b"kept")
    with native_build(metrics_module, build):
        for row in rows:
            formats = "".join(code for code, _ in row)
            values = [value for _, value in row]
            metrics_module._row_writer(buffer, formats)(*values)
            expected += struct.pack("<" + formats, *values)
    assert bytes(buffer) == bytes(expected)


@pytest.mark.parametrize("build", NATIVE_BUILDS)
def test_a_row_that_cannot_be_written_writes_nothing(build):
    buffer = bytearray(b"kept")
    with native_build(metrics_module, build):
        write = metrics_module._row_writer(buffer, "dqq")
        with pytest.raises((OverflowError, struct.error)):
            write(1.0, 2, 2**63)  # beyond int64
        with pytest.raises((TypeError, struct.error)):
            write(1.0, 2.5, 3)  # a float for an int64
        with pytest.raises((TypeError, struct.error)):
            write(1.0, 2)  # a value short
    assert buffer == b"kept"


@pytest.mark.skipif(_native is None, reason="ecssim._native not built")
def test_the_compiled_row_writer_refuses_what_it_cannot_write():
    buffer = bytearray()
    with pytest.raises(TypeError, match="buffer must be a bytearray"):
        _native.write_rows(b"", b"d", 1.0)
    with pytest.raises(TypeError, match="formats must be bytes"):
        _native.write_rows(buffer, "d", 1.0)
    with pytest.raises(TypeError, match="2 formats but 1 values"):
        _native.write_rows(buffer, b"dd", 1.0)
    with pytest.raises(ValueError, match="unknown format i"):
        _native.write_rows(buffer, b"di", 1.0, 2)
    # Exported, as while numpy reads the records in a pack: the buffer cannot grow.
    with memoryview(buffer), pytest.raises(BufferError):
        _native.write_rows(buffer, b"d", 1.0)
    assert buffer == b""


#: A change record of each kind: its CHANGE_RECORDS name, and the arguments drawn for it.
_CHANGES = st.one_of(
    st.tuples(
        st.sampled_from(["reserved", "reserved_pending"]),
        st.integers(-4096, 4096),  # CPU units
        st.integers(-(2**20), 2**20),  # MiB
    ),
    st.tuples(st.sampled_from(["pending", "running"]), st.integers(-3, 3), st.just(0)),
    st.tuples(st.just("started"), st.just(0), st.just(0)),
)


@pytest.mark.parametrize("build", NATIVE_BUILDS)
@given(
    changes=st.lists(st.tuples(_CHANGES, st.integers(0, 40)), max_size=40),
    packs=st.lists(st.integers(0, 40), max_size=4),
    pickled=st.integers(0, 40),
)
def test_series_change_records_become_the_level_rows_they_stand_for(build, changes, packs, pickled):
    """Change records, packed anywhere and pickled once, give the rows of the levels: what the
    control plane would record if it recorded each level after each change."""
    with native_build(metrics_module, build):
        _check_change_records(changes, packs, pickled)


def _check_change_records(changes, packs, pickled) -> None:
    channel = Channel("series")
    books = channel.books
    levels: dict[tuple[str, str | None, str | None], int] = {}
    expected = []
    for i, ((kind, value, memory), number) in enumerate(changes):
        instance = f"arn:ci/{number}"
        cluster = "prod" if number % 3 else "dev"  # an instance is in one cluster
        t = float(i)
        channel.row(
            t,
            value,
            CHANGE[kind],
            books["cluster"][cluster],
            memory,
            books["container_instance"][instance],
        )
        for level, amount in CHANGE_RECORDS[kind]:
            metric, per_instance = CHANGED_LEVELS[level]
            key = (metric, cluster, instance if per_instance else None)
            step = value if amount == "value" else memory if amount == "service" else amount
            levels[key] = levels.get(key, 0) + step
            expected.append((t, metric, cluster, None, key[2], levels[key]))
        assert len(channel) == len(expected)  # a change record counts as its rows
        if i in packs:
            channel.pack(limit=1)
        if i == pickled:
            channel = pickle.loads(pickle.dumps(channel))
            books = channel.books
    frame = channel.frame()
    got = list(
        zip(
            frame["t"],
            frame["metric"].astype(object),
            frame["cluster"].astype(object),
            frame["service"].astype(object),
            frame["container_instance"].astype(object),
            frame["value"],
            strict=True,
        )
    )
    got = [tuple(None if pd.isna(v) else v for v in row) for row in got]
    assert got == expected


@pytest.mark.parametrize("build", NATIVE_BUILDS)
def test_a_change_record_without_its_instance_is_refused_when_packed(build):
    channel = Channel("series")
    cluster = channel.books["cluster"]["prod"]
    channel.row(0.0, 256, CHANGE["reserved"], cluster, 512, -1)
    with native_build(metrics_module, build), pytest.raises(ValueError, match="no cluster"):
        channel.pack(limit=1)


def test_task_statuses_have_the_fixed_codes_the_control_plane_writes():
    books = Recorder().tasks.books  # asked in reverse: a book would give first-seen codes
    assert all(books["last_status"][s.name] == s for s in reversed(TaskStatus))
    desired = metrics_module.DESIRED_STATUS
    assert all(books["desired_status"][s.value] == desired[s] for s in reversed(DesiredStatus))


def test_the_series_record_is_the_one_the_expansion_reads():
    assert Channel("series")._record == metrics_module.SERIES_RECORD


def _task_row(i: int, arn: str, stopped_at: float, pick: int) -> TaskRow:
    """A stopped task's row whose ids and texts vary with ``pick``."""
    return TaskRow(
        task_arn=arn,
        cluster=("a", "b")[pick % 2],
        service=(None, "web", "api")[pick % 3],
        group=f"family:{pick % 4}",
        family=("job", "web")[pick % 2],
        revision=pick % 3 + 1,
        launch_type="EC2",
        capacity_provider=None,
        container_instance=(None, "i-1", "i-2")[pick % 3],
        availability_zone=(None, "us-east-1a")[pick % 2],
        cpu=256 * (pick % 4 + 1),
        memory=512,
        created_at=float(i),
        pull_started_at=float("nan") if pick % 5 == 0 else i + 0.5,
        pull_stopped_at=i + 1.0,
        started_at=i + 2.0,
        stopping_at=i + 3.0,
        execution_stopped_at=stopped_at,
        stopped_at=stopped_at,
        last_status="STOPPED",
        desired_status="STOPPED",
        stop_code=(None, "UserInitiated", "EssentialContainerExited")[pick % 3],
        stopped_reason=(None, "bye", "Essential container in task exited")[pick % 3],
        exit_code=(float("nan"), 0.0, 137.0)[pick % 3],
        started_by=(None, "ci")[pick % 2],
        desired_stopped_at=stopped_at,
    )


@given(
    steps=st.lists(
        st.tuples(st.sampled_from([0.0, 0.5, 2.0]), st.integers(0, 11), st.booleans()),
        max_size=60,
    ),
    limit=st.sampled_from([1, 3, 7, 1000]),
    bounds=st.lists(st.floats(-1.0, 80.0), min_size=1, max_size=4),
)
def test_rows_read_back_are_the_rows_recorded_since_a_bound(steps, limit, bounds):
    """``Channel.recent`` and ``latest`` against the rows themselves, packed or not.

    Rows in ``stopped_at`` order (ties included) across chunks of any size and the buffer; ids
    decoded through the codebooks, None and NaN kept, numbers as Python's.
    """
    channel = Recorder().tasks
    channel._limit = limit
    rows, t = [], 0.0
    for i, (gap, pick, pack) in enumerate(steps):
        t += gap
        row = _task_row(i, f"arn/{i % 9 if pick % 4 == 0 else i}", t, pick)  # some ARNs again
        channel.append(row)
        rows.append(row)
        if pack:
            channel.pack()

    def same(a: object, b: object) -> bool:
        return a == b or (a != a and b != b)  # NaN is NaN

    fields = TaskRow._fields
    for bound in bounds:
        visible = [row for row in rows if row.stopped_at >= bound]
        columns = channel.recent(fields, since=("stopped_at", bound))
        for field in fields:
            expected = [getattr(row, field) for row in visible]
            assert len(columns[field]) == len(expected)
            assert all(map(same, columns[field], expected)), field
        wanted = {row.task_arn for row in rows[::3]} | {"arn/none"}
        found = channel.latest("task_arn", wanted, since=("stopped_at", bound))
        assert set(found) == wanted & {row.task_arn for row in visible}
        for arn, read in found.items():
            last = [row for row in visible if row.task_arn == arn][-1]
            assert all(same(read[f], getattr(last, f)) for f in fields)
            assert all(type(read[f]) in (str, int, float, type(None)) for f in fields)
