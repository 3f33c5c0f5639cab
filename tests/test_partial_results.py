"""Never lose a result: a run that raises or is interrupted keeps what it recorded."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import ecssim
from ecssim.cli import main
from ecssim.placement.strategies import register_strategy, unregister_strategy

ROOT = Path(__file__).resolve().parents[1]


def _scenario(strategy: str = "binpack", field: str | None = "cpu") -> dict:
    item = {"type": strategy} if field is None else {"type": strategy, "field": field}
    return {
        "version": 1,
        "name": "partial",
        "duration": "4h",
        "clusters": [{"clusterName": "prod"}],
        "instances": [{"cluster": "prod", "instance_type": "m5.large", "count": 3}],
        "task_definitions": [
            {
                "family": "job",
                "containerDefinitions": [
                    {"name": "job", "image": "job:1", "cpu": 256, "memory": 256}
                ],
            }
        ],
        "task_behavior": {"job": {"runtime": {"exponential": {"mean": "10m"}}}},
        "workloads": [
            {
                "cluster": "prod",
                "taskDefinition": "job",
                "arrivals": {"poisson": {"rate": "60/h"}},
                "placementStrategy": [item],
            }
        ],
    }


@pytest.fixture
def exploding_strategy():
    """A user strategy that works for 30 placements, then raises."""
    calls = {"n": 0}

    @register_strategy("explodes-later")
    def explodes(field, view):
        calls["n"] += 1
        if calls["n"] > 30:
            raise RuntimeError("strategy bug on call 31")
        return -np.asarray(view.running_tasks, dtype=float)

    yield "explodes-later"
    unregister_strategy("explodes-later")


def test_strategy_that_throws_keeps_everything_recorded(exploding_strategy, tmp_path):
    res = ecssim.run(_scenario(exploding_strategy, None), seed=1)
    assert res.meta["error"] == "RuntimeError: strategy bug on call 31"
    assert res.meta["partial"] is True
    assert 0 < res.end < 4 * 3600
    # Every task placed before the failure is there (the strategy is skipped when nothing or
    # only one instance is left to rank, so there may be more tasks than strategy calls).
    assert len(res.tasks) >= 30
    assert (res.tasks["created_at"] <= res.end).all()
    assert len(res.series) > 0 and len(res.events) > 0
    # ... and it saves and loads with the reason.
    res.save(tmp_path / "run")
    back = ecssim.Result.load(tmp_path / "run")
    assert back.meta["error"] == res.meta["error"]
    assert back.meta["partial"] is True
    pd.testing.assert_frame_equal(back.tasks, res.tasks)
    assert not back.summary().empty


def test_complete_run_is_not_partial():
    res = ecssim.run(_scenario(), seed=1, until="30m")
    assert res.meta["error"] is None
    assert res.meta["partial"] is False


def test_cli_saves_a_failed_run(exploding_strategy, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")
    path = tmp_path / "s.yaml"
    path.write_text(json.dumps(_scenario(exploding_strategy, None)))
    out = tmp_path / "out"
    assert main(["run", str(path), "--out", str(out), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "RuntimeError: strategy bug on call 31" in err
    assert "Traceback" not in err
    back = ecssim.Result.load(out)
    assert back.meta["partial"] is True
    assert len(back.tasks) >= 30


_SIGINT_CHILD = textwrap.dedent(
    """
    import os, signal, sys
    import numpy as np
    import ecssim
    from ecssim.cli import main

    calls = {"n": 0}

    @ecssim.register_strategy("sigint-later")
    def sigint_later(field, view):
        calls["n"] += 1
        if calls["n"] == 40:
            os.kill(os.getpid(), signal.SIGINT)  # a real Ctrl-C, delivered mid-run
        return -np.asarray(view.running_tasks, dtype=float)

    sys.exit(main(sys.argv[1:]))
    """
)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_sigint_during_cli_run_saves_partial_result(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(json.dumps(_scenario("sigint-later", None)))
    out = tmp_path / "out"
    env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-c", _SIGINT_CHILD, "run", str(path), "--out", str(out), "--quiet"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 130, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "KeyboardInterrupt: interrupted (SIGINT)" in proc.stderr
    back = ecssim.Result.load(out)
    assert back.meta["error"].startswith("KeyboardInterrupt: interrupted (SIGINT) at t=")
    assert back.meta["partial"] is True
    assert len(back.tasks) >= 39
    assert 0 < back.end < 4 * 3600
    assert (out / "summary.csv").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def _crash_on_third_frame(monkeypatch):
    original = pd.DataFrame.to_parquet
    calls = {"n": 0}

    def to_parquet(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError(28, "No space left on device")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(pd.DataFrame, "to_parquet", to_parquet)
    return calls


def test_crash_during_save_leaves_nothing_loadable(tmp_path, monkeypatch):
    res = ecssim.run(_scenario(), seed=1, until="1h")
    target = tmp_path / "runs" / "q1"
    calls = _crash_on_third_frame(monkeypatch)
    with pytest.raises(OSError, match="No space left"):
        res.save(target)
    assert calls["n"] == 3
    assert not target.exists()
    with pytest.raises(FileNotFoundError):
        ecssim.Result.load(target)
    assert list((tmp_path / "runs").iterdir()) == []  # no stray temporary folder


def test_crash_during_save_keeps_the_previous_run(tmp_path, monkeypatch):
    first = ecssim.run(_scenario(), seed=1, until="1h")
    second = ecssim.run(_scenario(), seed=2, until="2h")
    target = tmp_path / "q1"
    first.save(target)
    before = sorted(p.name for p in tmp_path.iterdir())
    _crash_on_third_frame(monkeypatch)
    with pytest.raises(OSError):
        second.save(target)
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    back = ecssim.Result.load(target)
    assert back.meta["seed"] == 1
    pd.testing.assert_frame_equal(back.tasks, first.tasks)


def test_interrupt_during_save_cleans_up(tmp_path, monkeypatch):
    res = ecssim.run(_scenario(), seed=1, until="1h")

    def interrupted(self, *args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(pd.DataFrame, "to_csv", interrupted)
    with pytest.raises(KeyboardInterrupt):
        res.save(tmp_path / "q1")
    assert list(tmp_path.iterdir()) == []


def test_save_overwrites_atomically(tmp_path):
    target = tmp_path / "q1"
    ecssim.run(_scenario(), seed=1, until="1h").save(target)
    ecssim.run(_scenario(), seed=2, until="1h").save(target)
    assert ecssim.Result.load(target).meta["seed"] == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["q1"]


def test_signal_constant_is_sigint():
    assert 128 + signal.SIGINT == 130
