"""One placement decision: fit -> constraints -> chained strategies -> seeded tie-break.

Everything is a numpy operation over the cluster's rows (the keyed path's scan is compiled C,
``_native.c``, or numpy without a compiler); no Python loop visits every instance.
Filters are applied in ECS's order (ECS-SEMANTICS section 2): ACTIVE with the agent connected,
then CPU, memory, ports, ENI slots, GPUs, then the constraints. When nothing survives, the
*closest matching* instance is the one that passed the most filters in that order, and its first
failed filter gives the reason ECS reports (``RESOURCE:CPU``, ``AGENT`` ...). Which instance ECS
calls closest is not documented; this rule is ecssim's [inf].
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from ecssim.model.enums import InstanceStatus
from ecssim.model.taskdef import Requirement
from ecssim.placement.query import Expression
from ecssim.placement.strategies import get_strategy, is_builtin
from ecssim.state import DYNAMIC_PORTS, MAX_RESERVED_PORTS, NO_FIT, ClusterState

try:
    from ecssim import _native
except ImportError:  # pragma: no cover - installed without a C compiler: numpy does the scan
    _native = None  # type: ignore[assignment]

#: ``Decision(row, None, -1)`` without ``NamedTuple.__new__``'s Python frame: the keyed path's.
_placed = tuple.__new__

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


class StrategySpec(NamedTuple):
    """One ``placementStrategy`` item.

    A named tuple, not a dataclass: RunTask looks its placement request up by its strategies
    on every call, and a tuple hashes and compares in C.
    """

    type: str
    field: str | None = None


class ConstraintSpec(NamedTuple):
    """One ``placementConstraints`` item, its expression parsed once (hashed as a tuple)."""

    type: str
    expression: Expression | None = None


@dataclass(frozen=True, slots=True)
class PlacementRequest:
    """What to place: the task's requirement, its group, constraints and strategies."""

    requirement: Requirement
    group: str
    strategies: tuple[StrategySpec, ...] = ()
    constraints: tuple[ConstraintSpec, ...] = ()
    #: ``(spread attribute or None, binpack resource)`` when the request is decided on binpack
    #: keys (:func:`_place_keyed`), else ``None``; worked out once, not per placement.
    keyed: tuple[str | None, str] | None = field(init=False, compare=False, repr=False)
    #: The keyed decisions' plans by ``id`` of the cluster state (:class:`_KeyedPlan`).
    plans: dict[int, _KeyedPlan] = field(
        init=False, compare=False, repr=False, default_factory=dict
    )

    def __post_init__(self) -> None:
        keyed = None if self.constraints else _keyed_binpack(self.strategies)
        object.__setattr__(self, "keyed", keyed)


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


def _stage_masks(state: ClusterState, request: PlacementRequest) -> list[np.ndarray]:
    """One mask per filter in REASONS order (for explaining a failure; not on the hot path)."""
    requirement = request.requirement
    n = state.n
    ports = state.static_ports + len(requirement.ports_tcp + requirement.ports_udp)
    ports = ports <= MAX_RESERVED_PORTS
    ports &= state.dynamic_ports + requirement.dynamic_ports <= DYNAMIC_PORTS
    for port in requirement.ports_tcp:
        ports &= state.port_free("tcp", port)
    for port in requirement.ports_udp:
        ports &= state.port_free("udp", port)
    distinct = np.ones(n, dtype=bool)
    member = np.ones(n, dtype=bool)
    for constraint in request.constraints:
        if constraint.type == "distinctInstance":
            distinct &= state.group_counts(request.group) == 0
        elif constraint.expression is not None:
            member &= constraint.expression.evaluate(state)
    return [
        state.connected.copy(),
        state.remaining_cpu >= requirement.cpu,
        state.remaining_memory >= requirement.memory_mib,
        ports,
        state.remaining_eni >= requirement.eni,
        state.remaining_gpu >= requirement.gpu,
        distinct,
        member,
    ]


def _constrain(state: ClusterState, request: PlacementRequest, ok: np.ndarray) -> None:
    for constraint in request.constraints:
        if constraint.type == "distinctInstance":
            ok &= state.group_counts(request.group) == 0
        elif constraint.expression is not None:
            ok &= constraint.expression.evaluate(state)


#: ``ndarray.min`` and ``ndarray.any`` without the Python wrappers they go through (placement's
#: hot path).
_min = np.minimum.reduce
_any = np.logical_or.reduce


def _value_levels(state: ClusterState, group: str, name: str) -> list[tuple[int, ...]] | None:
    """The values of attribute ``name`` by the tasks of ``group`` they hold, fewest first.

    Each level is a tuple of value indexes (code + 1; 0: attribute absent) holding the same
    number of tasks, in code order; only values some instance holds count. ``None`` when every
    value is tied, so spreading over them would narrow nothing.
    """
    return _levels(state.value_totals(group, name), state.held_values(name))


def _levels_python(totals: list[int], held: tuple[int, ...]) -> list[tuple[int, ...]] | None:
    """:func:`_value_levels` from the group's totals by value and the values held.

    ``_native.levels`` is the same in C, used when it was built (a keyed decision asks for the
    levels every time).
    """
    # One pass grouping the held values by total (each joins its tuple in code order): with a
    # handful of values (3 AZs is typical) Python's steps are the cost, and a dict takes fewer
    # than sorting by total and scanning for the ties.
    by_total: dict[int, tuple[int, ...]] = {}
    for index in held:
        total = totals[index]
        by_total[total] = (*by_total.get(total, ()), index)
    if len(by_total) < 2:
        return None
    return [by_total[total] for total in sorted(by_total)]


_levels = _levels_python if _native is None else _native.levels


def _spread_by_value(
    state: ClusterState, group: str, name: str, ok: np.ndarray | None, rows: np.ndarray | None
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Keep the candidates in the attribute values holding the fewest tasks of ``group``.

    Works on a mask (``ok``) or on candidate rows; returns the narrowed one of the two.
    """
    levels = _value_levels(state, group, name)
    if levels is None:
        return ok, rows  # every value is tied: nothing to narrow
    codes, _ = state.attribute(name)
    candidate_codes = codes[rows] if rows is not None else codes
    for tied in levels:
        keep = candidate_codes == tied[0] - 1
        for index in tied[1:]:
            keep |= candidate_codes == index - 1
        if rows is not None:
            if _any(keep):
                return None, rows[keep]
        else:
            assert ok is not None
            keep &= ok
            if _any(keep):
                return keep, None
    raise AssertionError("a candidate has no attribute value")  # pragma: no cover


def _lowest(rows: np.ndarray, values: np.ndarray) -> np.ndarray:
    """The rows whose ``values`` (over all instances) are the lowest among ``rows``."""
    picked = values[rows]
    return rows[picked == _min(picked)]


def _narrow(
    strategy: StrategySpec,
    state: ClusterState,
    group: str,
    ok: np.ndarray | None,
    rows: np.ndarray | None,
    rng: np.random.Generator,
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Apply one strategy; candidates are a mask (``ok``) or rows, exactly one of them set.

    Built-in strategies make the same choices as scoring the candidates with their functions
    in ``strategies`` (the generic path user strategies take), but avoid gathering every
    candidate: spread over an attribute narrows the mask with per-value totals the state keeps
    incrementally; binpack and spread over instances work on the rows that are left.
    """
    kind, field = strategy.type, strategy.field
    if kind == "spread" and field not in ("instanceId", "host") and is_builtin(kind):
        assert field is not None
        return _spread_by_value(state, group, field.removeprefix("attribute:"), ok, rows)
    if rows is None:
        assert ok is not None
        rows = ok.nonzero()[0]
    if len(rows) == 1:
        return None, rows
    if not is_builtin(kind):
        view = CandidateView(state, rows, group, rng)
        scores = np.asarray(get_strategy(kind)(field, view), dtype=np.float64)
        return None, rows[scores >= scores.max()]
    if kind == "binpack":
        return None, _lowest(
            rows, state.remaining_cpu if field == "cpu" else state.remaining_memory
        )
    if kind == "spread":
        return None, _lowest(rows, state.group_counts(group))
    chosen = int(np.argmax(rng.random(len(rows))))  # random
    return None, rows[chosen : chosen + 1]


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
    if state.n == 0:
        return Decision(-1, NO_INSTANCES, -1)
    if request.keyed is not None and not explain:
        return _place_keyed(state, request, *request.keyed, rng)
    # The state's own mask: strategies only read it (spread narrows into a new array), and
    # constraints narrow a copy.
    mask = state.fit_mask(request.requirement)
    fitted = 0
    if request.constraints:
        mask = mask.copy()
        if explain:
            fitted = int(np.count_nonzero(mask))
        _constrain(state, request, mask)
    left = int(np.count_nonzero(mask))
    if not left:
        return _failure(state, request, explain)
    counts: tuple[int, ...] = ()
    if explain:
        fitted = fitted if request.constraints else left
        counts = (int(np.count_nonzero(state.available())), fitted, left)
    ok: np.ndarray | None = mask
    rows: np.ndarray | None = None
    for strategy in request.strategies:
        ok, rows = _narrow(strategy, state, request.group, ok, rows, rng)
        if explain:
            counts += (
                len(rows)
                if rows is not None
                else int(np.count_nonzero(mask if ok is None else ok)),
            )
    if rows is None:
        assert ok is not None
        rows = ok.nonzero()[0]
    return Decision(_draw(rows, rng), None, -1, counts)


def _draw(rows: np.ndarray, rng: np.random.Generator) -> int:
    """The tie-break among the rows left after the strategies (in row order).

    One draw from the cluster's placement stream; none when a single row is left.
    """
    return int(rows[0]) if len(rows) == 1 else int(rows[_below(rng, len(rows))])


def _below(rng: np.random.Generator, n: int) -> int:
    """``rng.integers(n)`` for ``n >= 2``, bit for bit and leaving the stream in the same state.

    ``integers`` costs about 2.8 us a call in its argument handling; the draw itself is numpy's
    Lemire method on the generator's 32-bit outputs, which its ``ctypes`` interface hands out
    one at a time (from the generator's own buffer, so the stream is shared with every other
    draw). Done here it costs about 0.5 us. Ranges above 32 bits take numpy's own path. Unlike
    ``integers`` it takes no lock: a simulation's streams are only used by its own thread.
    """
    if n > 0x100000000:
        return int(rng.integers(n))
    bits = rng.bit_generator.ctypes
    next_uint32, state = bits.next_uint32, bits.state
    product = next_uint32(state) * n
    if product & 0xFFFFFFFF < n:
        threshold = (0x100000000 - n) % n  # rejection keeps every result equally likely
        while product & 0xFFFFFFFF < threshold:
            product = next_uint32(state) * n
    return product >> 32


def _keyed_binpack(strategies: tuple[StrategySpec, ...]) -> tuple[str | None, str] | None:
    """``(spread attribute or None, binpack resource)`` for [spread by attribute,] binpack.

    These are ECS's "AZ balanced binpack" and "binpack" templates, which :func:`_place_keyed`
    decides on the state's binpack keys; any other combination returns ``None``.
    """
    spread: str | None = None
    if len(strategies) == 2:
        first = strategies[0]
        if first.type != "spread" or first.field in (None, "instanceId", "host"):
            return None
        spread = first.field.removeprefix("attribute:")
    elif len(strategies) != 1:
        return None
    last = strategies[-1]
    if last.type != "binpack":
        return None
    return spread, "cpu" if last.field == "cpu" else "memory"


class _KeyedPlan:
    """What the keyed decisions of one request read from one state, looked up once.

    Valid while the state's ``version`` holds: a new instance, a status, connection or
    attribute change, or a kept shape dropped bumps it. A decision then starts from its
    request's plan instead of finding the keys, the totals and the held values again.
    """

    __slots__ = ("held", "keys", "penalties", "state", "totals", "version")

    def __init__(
        self, state: ClusterState, request: PlacementRequest, spread: str | None, resource: str
    ) -> None:
        self.state = state
        self.version = state.version
        self.keys = state.binpack_keys(request.requirement, resource)
        self.totals: list[int] = []
        self.held: tuple[int, ...] = ()
        if spread is not None:
            self.totals = state.value_totals(request.group, spread)
            self.held = state.held_values(spread)
        # Per level: its penalty (ClusterState.value_penalty), as asked for.
        self.penalties: dict[tuple[int, ...], np.ndarray] = {}


def _place_keyed(
    state: ClusterState,
    request: PlacementRequest,
    spread: str | None,
    resource: str,
    rng: np.random.Generator,
) -> Decision:
    """[spread by attribute,] binpack without building candidate masks or rows.

    The same choice and the same draw as the mask path: the fitting instances in the least
    loaded attribute values holding one, then those with the least ``resource`` left, one of
    them at random. Binpack's keys already hold "does not fit" as ``NO_FIT``; a spread level
    adds ``NO_FIT`` to the rows outside its values, so each step is one scan (``_choose``).
    """
    plan = request.plans.get(id(state))
    if plan is None or plan.version != state.version or plan.state is not state:
        plan = request.plans[id(state)] = _KeyedPlan(state, request, spread, resource)
    keys = plan.keys
    levels = _levels(plan.totals, plan.held) if spread is not None else None
    if levels is None:
        row = _choose(keys, None, rng)
    else:
        # Every instance holds one of the levels' values, so no level with a fit means none.
        penalties = plan.penalties
        for tied in levels:
            penalty = penalties.get(tied)
            if penalty is None:
                penalty = penalties[tied] = state.value_penalty(spread, tied)  # type: ignore[arg-type]
            row = _choose(keys, penalty, rng)
            if row >= 0:
                break
    if row < 0:
        return _failure(state, request, False)
    return _placed(Decision, (row, None, -1, ()))


def _choose_numpy(keys: np.ndarray, penalty: np.ndarray | None, rng: np.random.Generator) -> int:
    """The row with the lowest ``keys`` (+ ``penalty``) below ``NO_FIT``, or -1 if none.

    Among the rows holding the lowest key one is drawn from ``rng``, as :func:`_draw` draws
    over the tied rows. ``ecssim._native.choose`` does the same in one compiled call
    (``_native.c``); this is what ecssim uses when that module was not built (no C compiler at
    install), with the same choices and draws.
    """
    ranked = keys if penalty is None else keys + penalty
    first = int(ranked.argmin())
    best = ranked.item(first)
    if best >= NO_FIT:
        return -1
    # Ties are the rule in binpack (memory left moves in whole task sizes): four in five
    # decisions at 1,000 instances have some, half at 10,000. So the tied rows are found at
    # once, without first asking whether there are any.
    return first + _draw((ranked[first:] == best).nonzero()[0], rng)


#: The keyed decision's scan: compiled when the extension was built, else numpy's.
_choose = _choose_numpy if _native is None else _native.choose


def place_on(state: ClusterState, request: PlacementRequest, row: int) -> Decision:
    """Whether the task fits on one given instance (no strategy): the daemon scheduler's check.

    The caller has applied the constraints. On failure the instance itself is the closest
    match and the reason is its first failed filter, as in :func:`place`.
    """
    if state.fit_mask(request.requirement)[row]:
        return Decision(row, None, -1)
    for reason, mask in zip(REASONS, _stage_masks(state, request), strict=True):
        if not mask[row]:
            return Decision(-1, reason, row)
    return Decision(-1, REASONS[0], row)  # pragma: no cover - fit_mask and the stages agree


def constraint_mask(state: ClusterState, request: PlacementRequest) -> np.ndarray:
    """Instances (any status) that satisfy the request's ``memberOf`` constraints."""
    ok = np.ones(state.n, dtype=bool)
    for constraint in request.constraints:
        if constraint.expression is not None:
            ok &= constraint.expression.evaluate(state)
    return ok


def _failure(state: ClusterState, request: PlacementRequest, explain: bool) -> Decision:
    active = state.status == _ACTIVE
    if not active.any():
        return Decision(-1, NO_INSTANCES, -1)
    masks = _stage_masks(state, request)
    # Stage = number of consecutive filters passed; the closest instance passed the most.
    stage = np.zeros(state.n, dtype=np.int64)
    passed = active.copy()
    for mask in masks:
        passed &= mask
        stage += passed
    stage[~active] = -1
    closest = int(np.argmax(stage))
    counts: tuple[int, ...] = ()
    if explain:
        fit = active & masks[0]
        for mask in masks[1:6]:
            fit &= mask
        counts = (int((active & masks[0]).sum()), int(fit.sum()), 0)
    return Decision(-1, REASONS[int(stage[closest])], closest, counts)
