"""Erlang-B: standalone RunTask onto one-slot instances is a loss system M/G/N/N."""

from __future__ import annotations

import math

import pytest

from . import erlang_b, interval, run_loss

SEEDS = range(1, 7)
CALLS = 2000


def test_recursion_matches_closed_form():
    for servers, load in [(1, 0.5), (3, 2.0), (10, 5.0), (25, 20.0)]:
        terms = [load**k / math.factorial(k) for k in range(servers + 1)]
        assert erlang_b(servers, load) == pytest.approx(terms[-1] / sum(terms), rel=1e-12)
    assert erlang_b(1, 1.0) == pytest.approx(0.5)
    assert erlang_b(10, 5.0) == pytest.approx(0.018385, abs=1e-6)
    # Stable where the closed form overflows.
    assert 0 < erlang_b(2000, 1800.0) < 0.01
    assert erlang_b(0, 3.0) == 1.0


@pytest.mark.parametrize(
    ("servers", "load", "runtime"),
    [
        (1, 0.5, "exponential"),
        (5, 3.0, "exponential"),
        (10, 8.0, "exponential"),
        (20, 15.0, "exponential"),
        # Insensitivity: only the mean holding time matters.
        (5, 3.0, "fixed"),
        (5, 3.0, "lognormal"),
    ],
)
def test_blocking_matches_erlang_b(servers, load, runtime):
    reps = run_loss(servers, load, SEEDS, runtime=runtime, calls=CALLS)
    assert all(r.other_failures == 0 for r in reps), "only RESOURCE:CPU may block"
    assert all(r.calls > CALLS * 0.8 for r in reps)
    holding = sum(r.mean_holding_s for r in reps) / len(reps)
    assert holding == pytest.approx(600.0, rel=0.05)
    measured = interval(r.blocking for r in reps)
    theory = erlang_b(servers, load)
    assert measured.half_width < 0.25 * theory + 0.01, "the interval is too wide to mean much"
    assert measured.contains(theory), f"B({servers}, {load}) = {theory:.4f}, simulated {measured}"
    # The same with the offered load each replication actually saw (its own arrival count and
    # holding times), which removes the sampling error of the arrivals from the comparison.
    gap = interval(r.blocking - erlang_b(servers, r.measured_load) for r in reps)
    assert gap.contains(0.0), f"simulated - B(N, measured load) = {gap}"


def test_a_wrong_model_is_detected():
    """The interval is tight enough to tell N servers from N - 1."""
    reps = run_loss(5, 3.0, SEEDS, calls=CALLS)
    measured = interval(r.blocking for r in reps)
    assert not measured.contains(erlang_b(4, 3.0))
    assert not measured.contains(erlang_b(6, 3.0))
