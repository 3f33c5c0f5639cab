"""The recorder: packing channels into columns never changes the frames."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

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
    series = sim.recorder.series
    rows = len(series)
    sim.recorder.compact(limit=1)
    assert sim.recorder.series is series and len(series) == 0
    assert len(sim.result().series) == rows


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
    assert not sim.recorder._packed["series"]  # the series has its own, larger threshold
    # count() sees packed and pending rows: every stopped task was recorded once.
    assert sim.recorder.count("tasks") == plain["tasks"]["stopped_at"].notna().sum()
    assert sim.recorder.count("series") == len(plain["series"])
    for name, frame in sim.result().frames.items():
        pd.testing.assert_frame_equal(frame, plain[name], obj=name)
