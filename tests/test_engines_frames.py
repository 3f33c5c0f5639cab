"""Identical frames whatever runs the simulation: this process, a process pool, a Dask worker.

Sweeps compare summary tables across engines (tests/test_experiment.py); this goes further and
ships every frame of a run back from a pool process and from a real Dask ``LocalCluster``
worker, and compares them with the frames of the same run here.
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
from pathlib import Path

import pandas as pd
import pytest

import ecssim

SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "batch-runtask.yaml"


def _frames(path: str, seed: int) -> dict[str, pd.DataFrame]:
    return ecssim.run(path, seed=seed).frames


def _assert_same(a: dict[str, pd.DataFrame], b: dict[str, pd.DataFrame]) -> None:
    assert set(a) == set(b)
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name], obj=name)
    assert len(a["tasks"]) > 50


def test_process_pool_worker_gives_identical_frames() -> None:
    here = _frames(str(SCENARIO), 11)
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(1, mp_context=context) as pool:
        there = pool.submit(_frames, str(SCENARIO), 11).result(timeout=120)
    _assert_same(here, there)


def test_dask_worker_gives_identical_frames() -> None:
    distributed = pytest.importorskip("distributed")
    here = _frames(str(SCENARIO), 12)
    with (
        distributed.LocalCluster(
            n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        there = client.submit(_frames, str(SCENARIO), 12, pure=False).result(timeout=120)
    _assert_same(here, there)
