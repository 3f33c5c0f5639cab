"""Deployment arithmetic against the worked examples of the ECS documentation.

Each test names the documented behaviour it reproduces (ECS-SEMANTICS section 5, sources BP
deployment examples, BC DeploymentConfiguration, pages API_ServiceDeploymentCircuitBreaker).
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from ecssim.control.deployments import (
    bounds,
    circuit_breaker_threshold,
    deployment_step,
    rounds,
    throttle_delay,
)


def test_bp_example_desired_6_room_8_with_100_200_runs_three_rounds_of_start_2_stop_2():
    assert rounds(6, 100, 200, room=8) == [("start", 2), ("stop", 2)] * 3


def test_bp_example_desired_6_room_8_with_50_200_stops_3_starts_5_stops_3_starts_1():
    assert rounds(6, 50, 200, room=8) == [("stop", 3), ("start", 5), ("stop", 3), ("start", 1)]


def test_100_100_deadlocks_a_deployment():
    assert rounds(6, 100, 100, room=8) == [("stuck", 0)]
    assert rounds(6, 100, 100) == [("stuck", 0)]


def test_defaults_100_200_with_unlimited_room_start_all_then_stop_all():
    assert rounds(4, 100, 200) == [("start", 4), ("stop", 4)]


def test_minimum_rounds_up_and_maximum_rounds_down():
    # BC DeploymentConfiguration: minimum healthy is rounded up, maximum down.
    assert bounds(5, 50, 150) == (3, 7)
    assert bounds(3, 33, 133) == (1, 3)


def test_unhealthy_old_tasks_are_stopped_first_without_lowering_the_healthy_count():
    step = deployment_step(
        4, 100, 200, old_healthy=4, old_other=2, new_healthy=0, new_other=0, room=0
    )
    assert (step.stop_unhealthy, step.stop_healthy) == (2, 0)
    assert step.start == 2  # the room the two stopped tasks gave back


def test_circuit_breaker_threshold_examples():
    # pages API_ServiceDeploymentCircuitBreaker: clamp(ceil(0.5 x desired), 3, 200); D=25 -> 13.
    assert circuit_breaker_threshold(25) == 13
    assert [circuit_breaker_threshold(d) for d in (1, 5, 6, 7)] == [3, 3, 3, 4]
    assert circuit_breaker_threshold(1000) == 200


def test_start_failure_throttle_grows_to_the_27_minute_cap():
    delays = [throttle_delay(n) for n in range(1, 20)]
    assert delays == sorted(delays)
    assert delays[-1] == 27 * 60
    assert throttle_delay(0) == 0


@settings(max_examples=200, deadline=None)
@given(
    desired=st.integers(1, 30),
    minimum=st.sampled_from([0, 25, 50, 75, 100]),
    maximum=st.sampled_from([100, 125, 150, 200]),
    room_extra=st.integers(0, 30),
)
def test_a_deployment_never_breaks_its_bounds_and_ends_unless_stuck(
    desired, minimum, maximum, room_extra
):
    room = desired + room_extra
    low, high = bounds(desired, minimum, maximum)
    old, new = desired, 0
    for action, count in rounds(desired, minimum, maximum, room=room):
        if action == "stop":
            old -= count
            assert old + new >= low  # every remaining task is healthy in this model
        elif action == "start":
            new += count
            assert old + new <= max(high, desired)
            assert old + new <= room
        else:
            # Stuck only when the bounds leave no slack and no room to start.
            assert high <= desired or room <= desired
            return
    assert (old, new) == (0, desired)
