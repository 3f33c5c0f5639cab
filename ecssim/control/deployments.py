"""Rolling-deployment arithmetic of the ECS deployment controller, as pure functions.

ECS-SEMANTICS section 5: with ``desired`` tasks, ``minimumHealthyPercent`` and
``maximumPercent``, the scheduler keeps at least ``ceil(desired x min / 100)`` healthy tasks and
at most ``floor(desired x max / 100)`` tasks RUNNING, PENDING or still stopping across the
deployments. Each cycle it first stops old tasks while the healthy count stays at or above the
minimum (tasks that are not healthy go first: stopping them costs nothing), then starts new
tasks up to the maximum and the desired count. A task counts against the maximum until it has
STOPPED: with a maximum of 100 % "replacement tasks can't start until the draining tasks have
stopped" (BC UpdateContainerInstancesState). The exact loop is not published; this order
reproduces the best-practice guide's worked examples round by round ([inf], see
``tests/ecs_docs``):

- desired 6, room for 8 tasks, 100 / 200: start 2, stop 2, three times;
- desired 6, room for 8 tasks, 50 / 200: stop 3, start 5, stop 3, start 1;
- 100 / 100 cannot move at all: ECS logs that it "was unable to stop or start tasks during a
  deployment because of the service deployment configuration".

The same module holds the deployment circuit breaker's threshold and the start-failure throttle
curve. Nothing here touches the simulation; the service scheduler calls it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

#: ECS's event when minimum and maximum percent leave no room to move (DG service-event-messages).
STUCK_MESSAGE = (
    "(service {service}) was unable to stop or start tasks during a deployment because of the "
    "service deployment configuration. Update the minimumHealthyPercent or maximumPercent value "
    "and try again."
)


@dataclass(frozen=True, slots=True)
class Step:
    """What one scheduling cycle of a deployment does.

    Attributes:
        stop_unhealthy: Old tasks to stop that are not (yet) healthy.
        stop_healthy: Old healthy tasks to stop.
        start: New tasks to start (placement may manage fewer).
    """

    stop_unhealthy: int
    stop_healthy: int
    start: int

    @property
    def stop(self) -> int:
        """All old tasks to stop."""
        return self.stop_unhealthy + self.stop_healthy

    @property
    def idle(self) -> bool:
        """Whether the cycle does nothing."""
        return self.stop == 0 and self.start == 0


def bounds(desired: int, minimum_healthy_percent: int, maximum_percent: int) -> tuple[int, int]:
    """Return ``(minimum healthy, maximum RUNNING + PENDING)`` for a desired count.

    >>> bounds(6, 50, 200)
    (3, 12)
    >>> bounds(6, 100, 100)
    (6, 6)
    """
    minimum = math.ceil(desired * minimum_healthy_percent / 100)
    maximum = math.floor(desired * maximum_percent / 100)
    return minimum, maximum


def deployment_step(
    desired: int,
    minimum_healthy_percent: int,
    maximum_percent: int,
    *,
    old_healthy: int,
    old_other: int,
    new_healthy: int,
    new_other: int,
    room: int | None = None,
    stopping: int = 0,
) -> Step:
    """One cycle of a rolling deployment.

    Args:
        desired: The service's desired count.
        minimum_healthy_percent: ``deploymentConfiguration.minimumHealthyPercent``.
        maximum_percent: ``deploymentConfiguration.maximumPercent``.
        old_healthy: Tasks of earlier deployments that count as healthy.
        old_other: Tasks of earlier deployments RUNNING or PENDING but not healthy (yet).
        new_healthy: Tasks of the new deployment that count as healthy.
        new_other: Tasks of the new deployment RUNNING or PENDING but not healthy yet.
        room: How many more tasks the cluster can hold now (``None``: no limit). Stopped tasks
            give their room back at once, as the control plane releases a reservation at the
            stop request.
        stopping: Tasks told to stop earlier that have not reached STOPPED yet: they still
            count against the maximum ("if the maximum is 100%, replacement tasks can't start
            until the draining tasks have stopped", BC UpdateContainerInstancesState).

    Returns:
        The old tasks to stop and the new tasks to start in this cycle.
    """
    minimum, maximum = bounds(desired, minimum_healthy_percent, maximum_percent)
    healthy = old_healthy + new_healthy
    active = old_healthy + old_other + new_healthy + new_other
    new = new_healthy + new_other
    stop_unhealthy = old_other  # stopping them keeps the healthy count where it is
    stop_healthy = max(0, min(old_healthy, healthy - minimum))
    stopped = stop_unhealthy + stop_healthy
    # Tasks stopped in this cycle are still stopping: they count against the maximum too.
    start = max(0, min(maximum - active - stopping, desired - new))
    if room is not None:
        start = max(0, min(start, room + stopped))
    return Step(stop_unhealthy, stop_healthy, start)


def rounds(
    desired: int,
    minimum_healthy_percent: int,
    maximum_percent: int,
    *,
    room: int | None = None,
    limit: int = 100,
) -> list[tuple[str, int]]:
    """Play a whole deployment from ``desired`` old healthy tasks, cycle by cycle.

    New tasks are taken to become healthy between cycles (the 40 s, health check or target
    health wait of ECS-SEMANTICS section 5). Returns the actions in order, e.g.
    ``[("start", 2), ("stop", 2), ...]``; a deployment that cannot move ends with
    ``("stuck", 0)``.

    >>> rounds(6, 100, 200, room=8)
    [('start', 2), ('stop', 2), ('start', 2), ('stop', 2), ('start', 2), ('stop', 2)]
    >>> rounds(6, 50, 200, room=8)
    [('stop', 3), ('start', 5), ('stop', 3), ('start', 1)]
    >>> rounds(6, 100, 100, room=8)
    [('stuck', 0)]
    """
    capacity = room
    old, new = desired, 0
    actions: list[tuple[str, int]] = []
    for _ in range(limit):
        if old == 0 and new >= desired:
            return actions
        free = None if capacity is None else capacity - old - new
        step = deployment_step(
            desired,
            minimum_healthy_percent,
            maximum_percent,
            old_healthy=old,
            old_other=0,
            new_healthy=new,
            new_other=0,
            room=free,
        )
        if step.idle:
            actions.append(("stuck", 0))
            return actions
        if step.stop:
            actions.append(("stop", step.stop))
            old -= step.stop
        if step.start:
            actions.append(("start", step.start))
            new += step.start
    raise RuntimeError("deployment did not finish")  # pragma: no cover


def circuit_breaker_threshold(desired: int, minimum: int = 3, maximum: int = 200) -> int:
    """Failed tasks that trip the deployment circuit breaker: clamp(ceil(desired / 2), 3, 200).

    The current API reference gives the minimum 3 (the 2023 developer guide said 10).

    >>> circuit_breaker_threshold(25)
    13
    >>> circuit_breaker_threshold(1)
    3
    """
    return min(max(math.ceil(0.5 * desired), minimum), maximum)


def throttle_delay(failures: int, *, first_s: float = 10.0, cap_s: float = 27 * 60.0) -> float:
    """Delay before the scheduler retries after ``failures`` consecutive start failures.

    ECS grows the delay "incrementally" to a cap of 27 minutes (15 in 2023 docs); the curve is
    unpublished, so it doubles from ``first_s`` [inf].

    >>> [throttle_delay(n) for n in (1, 2, 3)]
    [10.0, 20.0, 40.0]
    >>> throttle_delay(20)
    1620.0
    """
    if failures <= 0:
        return 0.0
    return min(first_s * 2 ** (failures - 1), cap_s)
