"""One placement decision: fit -> constraints -> chained strategies -> seeded tie-break.

Everything is a numpy operation over the cluster's rows; no Python loop visits every instance.
Filters are applied in ECS's order (ECS-SEMANTICS section 2): ACTIVE with the agent connected,
then CPU, memory, ports, ENI slots, GPUs, then the constraints. When nothing survives, the
*closest matching* instance is the one that passed the most filters in that order, and its first
failed filter gives the reason ECS reports (``RESOURCE:CPU``, ``AGENT`` ...). Which instance ECS
calls closest is not documented; this rule is ecssim's [inf].
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from ecssim.model.enums import InstanceStatus
from ecssim.model.taskdef import Requirement
from ecssim.placement.query import Expression
from ecssim.placement.strategies import get_strategy
from ecssim.state import MAX_RESERVED_PORTS, ClusterState

#: Reasons in filter order; the reason for a failed placement is the closest instance's first.
REASONS = (
    "AGENT",
    "RESOURCE:CPU",
    "RESOURCE:MEMORY",
    "RESOURCE:PORTS",
    "RESOURCE:ENI",
    "RESOURCE:GPU",
    "DistinctInstance placement constraint unsatisfied.",
    "MemberOf placement constraint unsatisfied.",
)
#: ECS's reason when a cluster has no ACTIVE container instance at all.
NO_INSTANCES = "No Container Instances were found in your cluster."
_ACTIVE = int(InstanceStatus.ACTIVE)


@dataclass(frozen=True, slots=True)
class StrategySpec:
    """One ``placementStrategy`` item."""

    type: str
    field: str | None = None


@dataclass(frozen=True, slots=True)
class ConstraintSpec:
    """One ``placementConstraints`` item, its expression parsed once."""

    type: str
    expression: Expression | None = None


@dataclass(frozen=True, slots=True)
class PlacementRequest:
    """What to place: the task's requirement, its group, constraints and strategies."""

    requirement: Requirement
    group: str
    strategies: tuple[StrategySpec, ...] = ()
    constraints: tuple[ConstraintSpec, ...] = ()


class Decision(NamedTuple):
    """The outcome of one placement.

    Attributes:
        row: The chosen instance's row, or -1 when nothing fits.
        reason: ``None`` on success, else the ECS reason string.
        closest_row: On failure, the row of the closest matching instance (-1 if none).
        counts: Candidates left after each step: available, fit, constraints, then one count per
            strategy (filled only when explaining).
    """

    row: int
    reason: str | None
    closest_row: int
    counts: tuple[int, ...] = ()


class CandidateView:
    """Numpy arrays over the candidate instances, computed when a strategy first asks.

    Attributes:
        rows: Row numbers of the candidates in the cluster state (ascending).
        rng: The placement random stream; the only randomness a strategy may use.
    """

    __slots__ = ("_group", "_state", "rng", "rows")

    def __init__(
        self, state: ClusterState, rows: np.ndarray, group: str, rng: np.random.Generator
    ) -> None:
        self._state = state
        self.rows = rows
        self._group = group
        self.rng = rng

    @property
    def size(self) -> int:
        """Number of candidates."""
        return len(self.rows)

    @property
    def remaining_cpu(self) -> np.ndarray:
        """Unreserved CPU units of each candidate."""
        return self._state.remaining_cpu[self.rows]

    @property
    def remaining_memory(self) -> np.ndarray:
        """Unreserved MiB of each candidate."""
        return self._state.remaining_memory[self.rows]

    @property
    def registered_cpu(self) -> np.ndarray:
        """Registered CPU units of each candidate."""
        return self._state.registered_cpu[self.rows]

    @property
    def registered_memory(self) -> np.ndarray:
        """Registered MiB of each candidate."""
        return self._state.registered_memory[self.rows]

    @property
    def running_tasks(self) -> np.ndarray:
        """Tasks of any group holding a reservation on each candidate."""
        return self._state.running_tasks[self.rows]

    @property
    def group_tasks(self) -> np.ndarray:
        """Tasks of the task's own group (service or standalone group) on each candidate."""
        return self._state.group_counts(self._group)[self.rows]

    def attribute(self, name: str) -> tuple[np.ndarray, list[str]]:
        """Return ``(codes, values)`` of an attribute for the candidates (-1: absent)."""
        codes, values = self._state.attribute(name)
        return codes[self.rows], list(values)

    def group_tasks_by_attribute(self, name: str) -> np.ndarray:
        """Tasks of the group in each candidate's attribute value, over the whole cluster."""
        codes, values = self._state.attribute(name)
        counts = self._state.group_counts(self._group)
        totals = np.bincount(codes + 1, weights=counts, minlength=len(values) + 1)
        return totals[codes[self.rows] + 1]


def _fit_masks(state: ClusterState, requirement: Requirement) -> list[np.ndarray]:
    """One mask per resource filter, in REASONS order after AGENT."""
    masks = [
        state.remaining_cpu >= requirement.cpu,
        state.remaining_memory >= requirement.memory_mib,
    ]
    static = requirement.ports_tcp + requirement.ports_udp
    if static:
        ports = state.static_ports + len(static) <= MAX_RESERVED_PORTS
        for port in requirement.ports_tcp:
            ports &= state.port_free("tcp", port)
        for port in requirement.ports_udp:
            ports &= state.port_free("udp", port)
        masks.append(ports)
    else:
        masks.append(np.ones(state.n, dtype=bool))
    masks.append(
        state.remaining_eni >= requirement.eni if requirement.eni else np.ones(state.n, bool)
    )
    masks.append(
        state.remaining_gpu >= requirement.gpu if requirement.gpu else np.ones(state.n, bool)
    )
    return masks


def _constraint_masks(state: ClusterState, request: PlacementRequest) -> list[np.ndarray]:
    distinct = np.ones(state.n, dtype=bool)
    member = np.ones(state.n, dtype=bool)
    for constraint in request.constraints:
        if constraint.type == "distinctInstance":
            distinct &= state.group_counts(request.group) == 0
        elif constraint.expression is not None:
            member &= constraint.expression.evaluate(state)
    return [distinct, member]


def place(
    state: ClusterState,
    request: PlacementRequest,
    rng: np.random.Generator,
    *,
    explain: bool = False,
) -> Decision:
    """Choose an instance for one task, or say why none fits.

    The caller reserves the resources on the chosen row (``state.reserve``) before the next
    decision, so a RunTask with ``count`` > 1 places its tasks one after another.
    """
    active = state.status == _ACTIVE
    if not active.any():
        return Decision(-1, NO_INSTANCES, -1)
    masks = [state.connected, *_fit_masks(state, request.requirement)]
    masks += _constraint_masks(state, request)
    ok = active.copy()
    for mask in masks:
        ok &= mask
    rows = np.flatnonzero(ok)
    counts: tuple[int, ...] = ()
    if explain:
        fit = active & masks[0]
        for mask in masks[1:6]:
            fit = fit & mask
        counts = (int((active & masks[0]).sum()), int(fit.sum()), len(rows))
    if len(rows) == 0:
        # Stage = number of consecutive filters passed; the closest instance passed the most.
        stage = np.zeros(state.n, dtype=np.int64)
        passed = active.copy()
        for mask in masks:
            passed &= mask
            stage += passed
        stage[~active] = -1
        closest = int(np.argmax(stage))
        return Decision(-1, REASONS[int(stage[closest])], closest, counts)
    view = CandidateView(state, rows, request.group, rng)
    for strategy in request.strategies:
        if len(rows) == 1:
            if explain:
                counts += (1,)
            continue
        scores = np.asarray(get_strategy(strategy.type)(strategy.field, view), dtype=np.float64)
        rows = rows[scores >= scores.max()]
        view.rows = rows
        if explain:
            counts += (len(rows),)
    row = int(rows[0]) if len(rows) == 1 else int(rows[rng.integers(len(rows))])
    return Decision(row, None, -1, counts)
