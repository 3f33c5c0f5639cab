"""Renewal theory: crash/replace cycles give availability MTBF / (MTBF + D)."""

from __future__ import annotations

import numpy as np
import pytest

from . import interval, renewal_availability, run_renewal

PULL = {"exponential": {"mean": 60}}
START = {"uniform": {"low": 10, "high": 50}}
NOMINAL_DELAY_S = 60 + 30


@pytest.mark.parametrize(("desired", "mtbf_s"), [(4, 600.0), (8, 1800.0)])
def test_availability_matches_renewal_theory(desired, mtbf_s):
    reps = run_renewal(
        desired,
        mtbf_s,
        range(1, 7),
        duration_s=40 * mtbf_s,
        warmup_s=mtbf_s,
        pull=PULL,
        start=START,
    )
    delays = np.concatenate([r.delays_s for r in reps])
    uptimes = np.concatenate([r.uptimes_s for r in reps])
    assert len(delays) > 500
    # Every crash is replaced; the delay is the pull and start we configured.
    assert delays.min() >= 10.0
    assert delays.mean() == pytest.approx(NOMINAL_DELAY_S, rel=0.1)
    assert uptimes.mean() == pytest.approx(mtbf_s, rel=0.1)
    measured = interval(r.availability for r in reps)
    theory = renewal_availability(mtbf_s, float(delays.mean()))
    assert measured.contains(theory), f"theory {theory:.4f}, simulated {measured}"
    # Per replication, with that replication's own measured D.
    gap = interval(r.availability - renewal_availability(mtbf_s, r.mean_delay_s) for r in reps)
    assert gap.contains(0.0), f"simulated - theory = {gap}"
    # Sharp enough to notice if the delay were ignored.
    assert not measured.contains(1.0)
