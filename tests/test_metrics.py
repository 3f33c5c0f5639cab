"""The recorder: packing channels into columns never changes the frames."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from ecssim.metrics import METRIC, METRICS, SeriesChannel, SeriesRow
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


def test_compact_empties_the_lists_in_place():
    sim = Simulation.from_scenario(load_scenario(QUICKSTART))
    sim.run(until=3600.0)
    tasks, extend = sim.recorder.tasks, sim.recorder.series.extend
    rows = len(sim.recorder.series)
    sim.recorder.compact(limit=1)
    assert sim.recorder.tasks is tasks and len(tasks) == 0
    assert len(sim.recorder.series) == rows  # packed, not lost
    # The hot path holds the series' bound ``extend``: it must still record after a pack.
    extend((3600.0, METRIC["tasks_running"], -1, -1, -1, 7))
    series = sim.result().series
    assert len(series) == rows + 1
    assert series.iloc[-1][["metric", "value"]].tolist() == ["tasks_running", 7.0]


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
    channel = SeriesChannel()
    for i, row in enumerate(rows):
        if i % 2:
            channel.append(row)
        else:  # the hot path's form: codes from the channel's books
            books = channel.books
            t, metric, cluster, service, instance, value = row
            channel.extend(
                (
                    t,
                    books["metric"][metric],
                    books["cluster"][cluster],
                    books["service"][service],
                    books["container_instance"][instance],
                    value,
                )
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
    # Task rows are packed sooner than series rows (TASK_COMPACT_ROWS): the control plane
    # packs when either channel reaches its threshold, and the frames do not change.
    import ecssim.control.plane as plane
    import ecssim.metrics as metrics

    plain = _frames(None)
    monkeypatch.setattr(metrics, "TASK_COMPACT_ROWS", 4)
    monkeypatch.setattr(plane, "TASK_COMPACT_ROWS", 4)
    sim = Simulation.from_scenario(load_scenario(QUICKSTART))
    sim.run(until=6 * 3600.0)
    assert len(sim.recorder._packed["tasks"]) >= 2  # packed during the run
    assert not sim.recorder.series._chunks  # the series has its own, larger threshold
    # count() sees packed and pending rows: every stopped task was recorded once.
    assert sim.recorder.count("tasks") == plain["tasks"]["stopped_at"].notna().sum()
    assert sim.recorder.count("series") == len(plain["series"])
    for name, frame in sim.result().frames.items():
        pd.testing.assert_frame_equal(frame, plain[name], obj=name)
