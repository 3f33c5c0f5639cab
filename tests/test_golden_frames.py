"""The frames of every bundled scenario, compared with golden copies.

Optimisations must not change results: every frame of every bundled scenario (default seed) is
compared with a Parquet copy in ``tests/golden/frames/<scenario>/``. After an intended change of
behaviour, rewrite them with ``ECSSIM_REGEN_GOLDEN=1 .venv/bin/python -m pytest
tests/test_golden_frames.py`` and say why in the commit message.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

import ecssim
import ecssim.environment as environment_module
import ecssim.metrics as metrics_module
import ecssim.placement.engine as engine
import ecssim.state as state_module

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "golden" / "frames"
REGEN = os.environ.get("ECSSIM_REGEN_GOLDEN") == "1"
SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml"))


@pytest.mark.parametrize("build", ["installed", "python"])
@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_frames_match_golden_copies(
    path: Path, build: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every frame as the copy has it, as installed and with the compiled parts (``_native``)
    replaced by their Python (an install without a C compiler)."""
    if build == "python":
        if REGEN:
            pytest.skip("copies are written as installed")
        monkeypatch.setattr(engine, "_choose", engine._choose_numpy)
        monkeypatch.setattr(engine, "_levels", engine._levels_python)
        monkeypatch.setattr(state_module, "_native", None)
        monkeypatch.setattr(metrics_module, "_native", None)
        monkeypatch.setattr(environment_module, "_native", None)
    result = ecssim.run(path)
    assert result.meta["error"] is None
    folder = GOLDEN / path.stem
    if REGEN:
        folder.mkdir(parents=True, exist_ok=True)
        for name, frame in result.frames.items():
            frame.to_parquet(folder / f"{name}.parquet", index=False)
    for name, frame in result.frames.items():
        golden = pd.read_parquet(folder / f"{name}.parquet")
        # Columns added since the copies were taken are not compared; every old one is.
        assert set(golden.columns) <= set(frame.columns), name
        frame = frame[list(golden.columns)]
        pd.testing.assert_frame_equal(
            _plain(frame.reset_index(drop=True)),
            _plain(golden),
            check_dtype=False,
            obj=f"{path.stem}.{name}",
        )


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    """Categoricals as objects and every missing value as None, so a Parquet round trip compares."""
    out = frame.copy()
    for column in out.columns:
        if not pd.api.types.is_numeric_dtype(out[column]) or out[column].dtype == bool:
            values = out[column].astype(object)
            out[column] = values.where(values.notna(), None)
    return out
