"""Little's law over every bundled scenario: L = lambda W per cluster and task state."""

from __future__ import annotations

from pathlib import Path

import pytest

import ecssim

from . import little_checks

SCENARIOS = sorted((Path(__file__).resolve().parents[2] / "scenarios").glob("*.yaml"))


@pytest.fixture(scope="module", params=SCENARIOS, ids=lambda p: p.stem)
def result(request):
    res = ecssim.run(request.param)
    assert res.meta["error"] is None
    return res


def test_bundled_scenarios_found():
    assert len(SCENARIOS) >= 3


def test_littles_law_per_state(result):
    checks = little_checks(result)
    assert {c.state for c in checks} == {"pending", "running"}
    for check in checks:
        assert check.entries > 0, check
        # The series level (written by the control plane as statuses change) is the same
        # function of time as the task records' intervals...
        assert check.level == pytest.approx(check.level_from_tasks, rel=1e-9, abs=1e-12), check
        # ...and equals lambda x W over [0, T] with visits censored at T (the system starts
        # empty, so this finite-horizon form of Little's law is exact).
        assert check.level == pytest.approx(check.little_censored, rel=1e-9, abs=1e-12), check


def test_textbook_estimator_without_censoring(result):
    """Visits that all end inside the window: the textbook lambda x W_completed holds too."""
    for check in little_checks(result):
        if check.censored == 0:
            assert check.level == pytest.approx(check.little_completed, rel=1e-9), check
