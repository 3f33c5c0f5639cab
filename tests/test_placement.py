"""The placement engine, pure: fit -> constraints -> chained strategies -> tie-break."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import has_c_compiler, make_state, requirement
from hypothesis import example, given, settings
from hypothesis import strategies as st

import ecssim.placement.engine as engine
import ecssim.state as state_module
from ecssim.model.enums import InstanceStatus
from ecssim.placement.engine import (
    NO_INSTANCES,
    ConstraintSpec,
    PlacementRequest,
    StrategySpec,
    _below,
    _choose_numpy,
    _levels_python,
    _value_levels,
    place,
)
from ecssim.placement.query import parse_expression
from ecssim.placement.strategies import (
    get_strategy,
    known_strategies,
    register_strategy,
    unregister_strategy,
    validate_strategy,
)
from ecssim.state import NO_FIT, RESERVED_PORTS, ClusterState

try:
    from ecssim import _native
except ImportError:  # installed without a C compiler (test_the_compiled_scan_is_built says so)
    _native = None  # type: ignore[assignment]

#: The keyed path's compiled parts, and the Python that stands in for them when ecssim was
#: installed without a C compiler: ecssim must decide alike either way.
BUILDS = [
    pytest.param({"_choose": _choose_numpy, "_levels": _levels_python}, id="python"),
    pytest.param(
        {"_choose": _native and _native.choose, "_levels": _native and _native.levels},
        id="compiled",
        marks=pytest.mark.skipif(_native is None, reason="ecssim._native not built"),
    ),
]

AZ = "attribute:ecs.availability-zone"
BINPACK_MEM = StrategySpec("binpack", "memory")
BINPACK_CPU = StrategySpec("binpack", "cpu")
SPREAD_AZ = StrategySpec("spread", AZ)


def _req(cpu=0, mem=0, group="g", strategies=(), constraints=(), **kw):
    return PlacementRequest(
        requirement(cpu, mem, **kw), group, tuple(strategies), tuple(constraints)
    )


def _zone_counts(state, group):
    codes, values = state.attribute("ecs.availability-zone")
    counts = state.group_counts(group)
    return {v: int(counts[codes == i].sum()) for i, v in enumerate(values)}


# -- binpack -----------------------------------------------------------------------------------

instances_st = st.lists(
    st.tuples(st.integers(256, 4096), st.integers(256, 8192), st.booleans(), st.booleans()),
    min_size=1,
    max_size=12,
)


@settings(max_examples=100, deadline=None)
@given(
    instances=instances_st,
    cpu=st.integers(0, 2048),
    mem=st.integers(1, 4096),
    field=st.sampled_from(["memory", "cpu"]),
    seed=st.integers(0, 2**16),
)
def test_binpack_picks_least_remaining_feasible(instances, cpu, mem, field, seed):
    state = make_state([(c, m) for c, m, _, _ in instances])
    for row, (_, _, draining, disconnected) in enumerate(instances):
        if draining:
            state.set_status(row, InstanceStatus.DRAINING)
        if disconnected:
            state.set_connected(row, False)
    decision = place(
        state,
        _req(cpu, mem, strategies=[StrategySpec("binpack", field)]),
        np.random.default_rng(seed),
    )
    feasible = [
        row
        for row, (c, m, dr, dc) in enumerate(instances)
        if not dr and not dc and c >= cpu and m >= mem
    ]
    if not feasible:
        assert decision.row == -1 and decision.reason is not None
        return
    key = (lambda r: instances[r][0]) if field == "cpu" else (lambda r: instances[r][1])
    best = min(key(r) for r in feasible)
    assert decision.reason is None
    assert decision.row in feasible
    assert key(decision.row) == best


def test_binpack_fills_one_instance_before_the_next():
    state = make_state([(2048, 4000), (2048, 4000), (2048, 4000)])
    rng = np.random.default_rng(0)
    rows = []
    for _ in range(6):
        req = _req(0, 1000, strategies=[BINPACK_MEM])
        d = place(state, req, rng)
        state.reserve(d.row, req.requirement, req.group)
        rows.append(d.row)
    assert rows[:4] == [rows[0]] * 4  # 4 x 1000 fits in 4000
    assert rows[4] != rows[0] and rows[5] == rows[4]


# -- spread --------------------------------------------------------------------------------------


@settings(max_examples=80, deadline=None)
@given(
    per_zone=st.lists(st.integers(1, 4), min_size=2, max_size=4),
    n=st.integers(1, 30),
    seed=st.integers(0, 2**16),
    host_second=st.booleans(),
)
def test_spread_az_keeps_zone_counts_within_one(per_zone, n, seed, host_second):
    zones = [f"z{i}" for i in range(len(per_zone))]
    specs, zone_of = [], []
    for z, k in zip(zones, per_zone, strict=True):
        for _ in range(k):
            specs.append((100_000, 100_000))
            zone_of.append(z)
    state = make_state(specs, zones=zone_of)
    rng = np.random.default_rng(seed)
    strategies = [SPREAD_AZ] + ([StrategySpec("spread", "instanceId")] if host_second else [])
    for _ in range(n):
        req = _req(10, 10, group="service:web", strategies=strategies)
        d = place(state, req, rng)
        assert d.row >= 0
        state.reserve(d.row, req.requirement, req.group)
        counts = _zone_counts(state, "service:web")
        assert max(counts.values()) - min(counts.values()) <= 1, counts
    if host_second:
        # Within each zone, the instances hold counts within one too.
        group = state.group_counts("service:web")
        for z in zones:
            rows = [i for i, zz in enumerate(zone_of) if zz == z]
            assert group[rows].max() - group[rows].min() <= 1


def test_spread_counts_only_own_group():
    state = make_state([(10_000, 10_000)] * 2, zones=["a", "b"])
    other = requirement(1, 1)
    for _ in range(5):
        state.reserve(0, other, "other")
    d = place(state, _req(1, 1, group="mine", strategies=[SPREAD_AZ]), np.random.default_rng(1))
    # Zone a is busy with another group, but "mine" has 0 tasks in both: both are tied.
    rows = {
        place(state, _req(1, 1, group="mine", strategies=[SPREAD_AZ]), np.random.default_rng(s)).row
        for s in range(30)
    }
    assert d.row in (0, 1) and rows == {0, 1}
    state.reserve(0, other, "mine")
    for s in range(10):
        assert (
            place(
                state, _req(1, 1, group="mine", strategies=[SPREAD_AZ]), np.random.default_rng(s)
            ).row
            == 1
        )


def test_chained_spread_az_then_binpack_memory_is_lexicographic():
    # Zone a: rows 0 (tight) and 1 (loose); zone b: row 2 (tightest of all), row 3.
    state = make_state(
        [(4096, 3000), (4096, 8000), (4096, 1000), (4096, 6000)], zones=["a", "a", "b", "b"]
    )
    # The group already has a task in zone b, so zone a wins the spread,
    # and within zone a binpack prefers the least remaining memory (row 0), not global row 2.
    state.reserve(3, requirement(0, 0), "svc")
    req = _req(0, 500, group="svc", strategies=[SPREAD_AZ, BINPACK_MEM])
    for s in range(20):
        assert place(state, req, np.random.default_rng(s)).row == 0
    # Binpack alone would take row 2.
    alone = _req(0, 500, group="svc", strategies=[BINPACK_MEM])
    assert place(state, alone, np.random.default_rng(0)).row == 2


def test_explain_counts_per_stage():
    state = make_state(
        [(4096, 3000), (4096, 8000), (4096, 1000), (4096, 6000)], zones=["a", "a", "b", "b"]
    )
    state.set_connected(3, False)
    state.reserve(2, requirement(0, 0), "svc")
    req = _req(0, 2000, group="svc", strategies=[SPREAD_AZ, BINPACK_MEM])
    d = place(state, req, np.random.default_rng(0), explain=True)
    # connected 3; fit (mem >= 2000) rows 0,1 -> 2; constraints 2; spread 2 (both in a); binpack 1
    assert d.counts == (3, 2, 2, 2, 1)
    assert d.row == 0


# -- constraints -----------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(n_instances=st.integers(1, 6), n_tasks=st.integers(1, 10), seed=st.integers(0, 999))
def test_distinct_instance_never_violated(n_instances, n_tasks, seed):
    state = make_state([(10_000, 10_000)] * n_instances)
    rng = np.random.default_rng(seed)
    placed = 0
    for _ in range(n_tasks):
        req = _req(
            1,
            1,
            group="g",
            constraints=[ConstraintSpec("distinctInstance")],
            strategies=[StrategySpec("random")],
        )
        d = place(state, req, rng)
        if placed < n_instances:
            assert d.row >= 0
            assert state.group_counts("g")[d.row] == 0
            state.reserve(d.row, req.requirement, req.group)
            placed += 1
        else:
            assert d.row == -1
            assert d.reason == "DistinctInstance placement constraint unsatisfied."
    assert state.group_counts("g").max() <= 1


def test_member_of_filters():
    state = make_state(
        [(4096, 8192)] * 4,
        attributes=[{"tier": "web"}, {"tier": "db"}, {"tier": "web"}, {}],
    )
    expr = parse_expression("attribute:tier == web")
    req = _req(
        1, 1, constraints=[ConstraintSpec("memberOf", expr)], strategies=[StrategySpec("random")]
    )
    chosen = {place(state, req, np.random.default_rng(s)).row for s in range(40)}
    assert chosen == {0, 2}
    expr = parse_expression("attribute:ecs.availability-zone in [us-east-1b, us-east-1c]")
    req = _req(
        1, 1, constraints=[ConstraintSpec("memberOf", expr)], strategies=[StrategySpec("random")]
    )
    chosen = {place(state, req, np.random.default_rng(s)).row for s in range(40)}
    assert chosen == {1, 2}
    none = parse_expression("attribute:tier == cache")
    d = place(
        state, _req(1, 1, constraints=[ConstraintSpec("memberOf", none)]), np.random.default_rng(0)
    )
    assert d.row == -1 and d.reason == "MemberOf placement constraint unsatisfied."


# -- failure reasons ----------------------------------------------------------------------------


def test_reason_cpu_and_memory():
    state = make_state([(1024, 4000)])
    d = place(state, _req(2048, 100), np.random.default_rng(0))
    assert (d.row, d.reason, d.closest_row) == (-1, "RESOURCE:CPU", 0)
    d = place(state, _req(512, 5000), np.random.default_rng(0))
    assert (d.row, d.reason, d.closest_row) == (-1, "RESOURCE:MEMORY", 0)


def test_closest_instance_is_the_one_that_passed_most_filters():
    # Row 0 lacks CPU; row 1 has CPU but lacks memory: row 1 is closer.
    state = make_state([(512, 8000), (4096, 1000), (256, 256)])
    d = place(state, _req(1024, 2000), np.random.default_rng(0))
    assert d.row == -1
    assert d.closest_row == 1
    assert d.reason == "RESOURCE:MEMORY"


def test_reason_ports_static_collision():
    state = make_state([(4096, 8000)] * 2)
    port = requirement(10, 10, tcp=(8080,))
    state.reserve(0, port, "a")
    d = place(state, _req(10, 10, tcp=(8080,)), np.random.default_rng(0))
    assert d.row == 1
    state.reserve(1, port, "a")
    d = place(state, _req(10, 10, tcp=(8080,)), np.random.default_rng(0))
    assert d.row == -1 and d.reason == "RESOURCE:PORTS"
    # UDP 8080 is a different port.
    d = place(state, _req(10, 10, udp=(8080,)), np.random.default_rng(0))
    assert d.row >= 0


@pytest.mark.parametrize("port", RESERVED_PORTS)
def test_reason_ports_agent_reserved(port):
    assert port in (22, 2375, 2376, 51678, 51679)
    state = make_state([(4096, 8000)] * 2)
    d = place(state, _req(10, 10, tcp=(port,)), np.random.default_rng(0))
    assert (d.row, d.reason) == (-1, "RESOURCE:PORTS")


def test_reason_agent_when_disconnected():
    state = make_state([(4096, 8000)] * 2)
    state.set_connected(0, False)
    state.set_connected(1, False)
    d = place(state, _req(10, 10), np.random.default_rng(0))
    assert (d.row, d.reason) == (-1, "AGENT")
    state.set_connected(1, True)
    assert place(state, _req(10, 10), np.random.default_rng(0)).row == 1


def test_reason_eni_and_gpu():
    state = make_state([(4096, 8000)], eni=1, gpus=1)
    req = requirement(10, 10, eni=1)
    assert place(state, PlacementRequest(req, "g"), np.random.default_rng(0)).row == 0
    state.reserve(0, req, "g")
    d = place(state, PlacementRequest(req, "g"), np.random.default_rng(0))
    assert (d.row, d.reason) == (-1, "RESOURCE:ENI")
    d = place(state, _req(10, 10, gpu=2), np.random.default_rng(0))
    assert (d.row, d.reason) == (-1, "RESOURCE:GPU")


def test_no_active_instances():
    state = make_state([(4096, 8000)])
    state.set_status(0, InstanceStatus.INACTIVE)
    d = place(state, _req(1, 1), np.random.default_rng(0))
    assert (d.row, d.reason) == (-1, NO_INSTANCES)
    state.set_status(0, InstanceStatus.DRAINING)
    d = place(state, _req(1, 1), np.random.default_rng(0))
    assert d.row == -1 and d.reason is not None


# -- custom strategies ---------------------------------------------------------------------------


def test_registered_custom_strategy_is_used_by_name():
    name = "test-fewest-tasks"
    try:

        @register_strategy(name)
        def fewest(field, view):
            return -view.running_tasks

        assert name in known_strategies()
        validate_strategy(name, None)
        state = make_state([(10_000, 10_000)] * 3)
        for row, k in ((0, 3), (1, 1), (2, 2)):
            for _ in range(k):
                state.reserve(row, requirement(1, 1), "other")
        for s in range(10):
            d = place(state, _req(1, 1, strategies=[StrategySpec(name)]), np.random.default_rng(s))
            assert d.row == 1
        with pytest.raises(ValueError, match="already registered"):
            register_strategy(name)(fewest)
    finally:
        unregister_strategy(name)
    assert name not in known_strategies()


def test_registering_a_builtin_name_raises():
    with pytest.raises(ValueError):
        register_strategy("binpack")(lambda field, view: -view.remaining_cpu)
    with pytest.raises(ValueError):
        unregister_strategy("spread")


def test_unknown_strategy_error_lists_known_ones():
    with pytest.raises(ValueError) as info:
        get_strategy("no-such-strategy")
    message = str(info.value)
    for known in ("binpack", "spread", "random"):
        assert known in message
    with pytest.raises(ValueError):
        validate_strategy("binpack", "disk")
    with pytest.raises(ValueError):
        validate_strategy("spread", "attribute:")


# -- never picks a filtered instance -----------------------------------------------------------


@settings(max_examples=100, deadline=None)
@given(
    instances=st.lists(
        st.tuples(
            st.integers(0, 4096),
            st.integers(0, 8192),
            st.sampled_from(["ACTIVE", "ACTIVE", "DRAINING", "INACTIVE"]),
            st.booleans(),
            st.sampled_from(["web", "db", None]),
            st.integers(0, 2),
            st.booleans(),
        ),
        min_size=1,
        max_size=10,
    ),
    cpu=st.integers(0, 2048),
    mem=st.integers(0, 4096),
    port=st.sampled_from([None, 80, 22]),
    eni=st.integers(0, 1),
    distinct=st.booleans(),
    member=st.sampled_from([None, "attribute:tier == web", "attribute:tier exists"]),
    strategies=st.lists(
        st.sampled_from(
            [
                BINPACK_MEM,
                BINPACK_CPU,
                SPREAD_AZ,
                StrategySpec("spread", "host"),
                StrategySpec("random"),
            ]
        ),
        max_size=3,
    ),
    seed=st.integers(0, 999),
)
def test_placement_never_picks_a_filtered_instance(
    instances, cpu, mem, port, eni, distinct, member, strategies, seed
):
    attrs = [{"tier": item[4]} if item[4] else {} for item in instances]
    state = ClusterStateBuilder.build(instances, attrs)
    constraints = []
    if distinct:
        constraints.append(ConstraintSpec("distinctInstance"))
    if member:
        constraints.append(ConstraintSpec("memberOf", parse_expression(member)))
    tcp = (port,) if port else ()
    req = _req(cpu, mem, tcp=tcp, eni=eni, strategies=strategies, constraints=constraints)
    d = place(state, req, np.random.default_rng(seed))

    def ok(row):
        c, m, status, connected, tier, eni_slots, has_task = instances[row]
        return (
            status == "ACTIVE"
            and connected
            and c >= cpu
            and m >= mem
            and (port is None or (port != 22 and not has_task))
            and eni_slots >= eni
            and (not distinct or not has_task)
            and (member is None or tier == "web" or (member.endswith("exists") and tier))
        )

    feasible = [r for r in range(len(instances)) if ok(r)]
    if feasible:
        assert d.row in feasible and d.reason is None
    else:
        assert d.row == -1 and d.reason is not None


class ClusterStateBuilder:
    """Build a state where ``has_task`` rows hold one group-g task using port 80 (0 cpu/mem)."""

    @staticmethod
    def build(instances, attrs):
        state = make_state([(c, m) for c, m, *_ in instances], attributes=attrs, eni=0)
        for row, (_, _, status, connected, _, eni_slots, has_task) in enumerate(instances):
            state._int["registered_eni"][row] = state._int["remaining_eni"][row] = eni_slots
            if has_task:
                state.reserve(row, requirement(0, 0, tcp=(80,)), "g")
            if status != "ACTIVE":
                state.set_status(row, InstanceStatus[status])
            if not connected:
                state.set_connected(row, False)
        return state


def test_dynamic_host_ports_do_not_count_against_the_static_cap_but_run_out_at_the_range():
    from ecssim.model.taskdef import Requirement
    from ecssim.state import DYNAMIC_PORTS, MAX_RESERVED_PORTS

    state = make_state([(10**6, 10**7)])
    many = Requirement(1, 1, (), (), 0, 0, 1000)  # 1000 bridge mappings with hostPort 0
    for _ in range(DYNAMIC_PORTS // 1000):
        d = place(state, PlacementRequest(many, "g"), np.random.default_rng(0))
        assert d.row == 0
        state.reserve(0, many, "g")
    assert state.static_ports[0] < MAX_RESERVED_PORTS  # only the agent's reserved ports
    d = place(state, PlacementRequest(many, "g"), np.random.default_rng(0))
    assert d.reason == "RESOURCE:PORTS"
    state.release(0, many, "g")
    assert place(state, PlacementRequest(many, "g"), np.random.default_rng(0)).row == 0


# -- the keyed fast path ------------------------------------------------------------------------

KEYED = [
    (SPREAD_AZ, BINPACK_MEM),
    (SPREAD_AZ, BINPACK_CPU),
    (StrategySpec("spread", "attribute:tier"), BINPACK_MEM),
    (BINPACK_MEM,),
    (BINPACK_CPU,),
]


@pytest.fixture
def _restore_build():
    kept = engine._choose, engine._levels
    yield
    engine._choose, engine._levels = kept


@pytest.mark.usefixtures("_restore_build")
@pytest.mark.parametrize("build", BUILDS)
@settings(max_examples=150, deadline=None)
@given(
    instances=st.lists(
        st.tuples(
            st.integers(512, 4096),
            st.integers(512, 8192),
            st.sampled_from(["web", "db", None]),
        ),
        min_size=1,
        max_size=12,
    ),
    steps=st.lists(
        st.tuples(
            st.sampled_from(["place", "place", "place", "release", "drain", "retag"]),
            st.integers(0, 2),  # task shape
            st.integers(0, 4),  # strategies
            st.integers(0, 50),  # which row / task
        ),
        max_size=40,
    ),
    seed=st.integers(0, 999),
)
def test_keyed_binpack_decides_as_the_mask_path(build, instances, steps, seed):
    """[spread attribute,] binpack on binpack keys makes the mask path's choice and draw.

    ``explain=True`` takes the general mask path; both run on the same state with generators
    in the same state, through placements, releases, status and attribute changes. The keyed
    path runs compiled and in Python in turn.
    """
    for name, part in build.items():
        setattr(engine, name, part)  # restored by the fixture
    attrs = [{"tier": tier} if tier else {} for _, _, tier in instances]
    state = make_state([(c, m) for c, m, _ in instances], attributes=attrs)
    shapes = [requirement(256, 512), requirement(512, 2048), requirement(1024, 1024)]
    fast_rng, mask_rng = np.random.default_rng(seed), np.random.default_rng(seed)
    placed: list[tuple[int, int]] = []
    for action, shape, strategy, pick in steps:
        if action == "place":
            req = PlacementRequest(shapes[shape], "g", KEYED[strategy], ())
            fast = place(state, req, fast_rng)
            slow = place(state, req, mask_rng, explain=True)
            assert (fast.row, fast.reason, fast.closest_row) == (
                slow.row,
                slow.reason,
                slow.closest_row,
            )
            if fast.row >= 0:
                state.reserve(fast.row, shapes[shape], "g")
                placed.append((fast.row, shape))
        elif action == "release" and placed:
            row, shape = placed.pop(pick % len(placed))
            state.release(row, shapes[shape], "g")
        elif action == "drain":
            row = pick % state.n
            active = state.status[row] == InstanceStatus.ACTIVE
            state.set_status(row, InstanceStatus.DRAINING if active else InstanceStatus.ACTIVE)
        elif action == "retag":
            state.set_attribute(pick % state.n, "tier", ["web", "db", None][pick % 3])
        for shape_req in shapes:
            for resource in ("cpu", "memory"):
                keys = state.binpack_keys(shape_req, resource)
                left = state.remaining_cpu if resource == "cpu" else state.remaining_memory
                expected = np.where(state.fit_mask(shape_req), left, NO_FIT)
                np.testing.assert_array_equal(keys, expected)


def test_a_keyed_decision_sees_its_shape_kept_again_after_it_was_dropped(monkeypatch):
    """A request's plan holds its shape's keys; dropping the shape (FIT_CACHE) must retire it.

    Otherwise the next decision would read the dropped keys, which no reservation updates.
    """
    monkeypatch.setattr(ClusterState, "FIT_CACHE", 2)
    state = make_state([(4096, 8192)] * 4)
    request = _req(256, 1024, strategies=(SPREAD_AZ, BINPACK_MEM))
    rng = np.random.default_rng(0)
    first = place(state, request, rng)  # the plan keeps the shape's keys
    assert first.row >= 0
    for memory in (2048, 3072):  # two other shapes drop it
        place(state, _req(256, memory, strategies=(BINPACK_MEM,)), rng)
    assert ClusterState._shape(request.requirement) not in state._fits
    # Reservations the dropped keys never see: row 3 becomes the fullest fitting instance.
    state.reserve(3, requirement(256, 6144), "other")
    again = place(state, request, np.random.default_rng(1))
    slow = place(state, request, np.random.default_rng(1), explain=True)
    assert again.row == slow.row == 3


@settings(max_examples=100, deadline=None)
@given(
    tiers=st.lists(st.sampled_from(["web", "db", "batch", None]), min_size=1, max_size=12),
    tasks=st.lists(st.integers(0, 50), max_size=30),
    retags=st.lists(
        st.tuples(st.integers(0, 50), st.sampled_from(["web", "db", None])), max_size=6
    ),
)
def test_value_levels_group_the_held_values_by_their_task_totals(tiers, tasks, retags):
    """Levels: the values some instance holds, by the group's tasks in them, ties in code order."""
    attrs = [{"tier": tier} if tier else {} for tier in tiers]
    state = make_state([(4096, 8192)] * len(tiers), attributes=attrs)
    state.group_totals_by_value("g", "tier")  # kept incrementally from here on
    for pick in tasks:
        state.reserve(pick % state.n, requirement(1, 1), "g")
    for pick, tier in retags:
        state.set_attribute(pick % state.n, "tier", tier)
    codes, _ = state.attribute("tier")
    counts = state.group_counts("g")
    totals: dict[int, int] = {}
    for code, count in zip(codes.tolist(), counts.tolist(), strict=True):
        totals[code + 1] = totals.get(code + 1, 0) + count
    expected = [
        tuple(sorted(i for i in totals if totals[i] == level))
        for level in sorted(set(totals.values()))
    ]
    assert _value_levels(state, "g", "tier") == (expected if len(expected) > 1 else None)


@pytest.mark.parametrize("build", BUILDS)
@settings(max_examples=200, deadline=None)
@given(
    n=st.integers(1, 300),
    lowest=st.sampled_from([0, 3, NO_FIT]),
    zone=st.sampled_from([None, 0, 1, 2]),
    seed=st.integers(0, 999),
)
def test_the_keyed_scan_draws_as_indexing_the_tied_rows(build, n, lowest, zone, seed):
    """The lowest key under ``NO_FIT`` (with a zone's penalty or none), drawn over its rows.

    The same row and the same stream use as ``rows[rng.integers(len(rows))]``; one tied row
    draws nothing; no key under ``NO_FIT`` gives -1. Up to 300 rows, so that the compiled
    scan's blocks of 64 rows are skipped on the way to the drawn row.
    """
    keys = np.random.default_rng(seed + 1000)
    array = keys.choice(np.array([lowest, 3, 4, NO_FIT], dtype=np.int32), size=n)
    penalty = None
    ranked = array
    if zone is not None:
        in_zone = keys.integers(0, 3, size=n) == zone
        penalty = np.where(in_zone, 0, NO_FIT).astype(np.int32)
        ranked = array + penalty
    fast, reference = np.random.default_rng(seed), np.random.default_rng(seed)
    rows = (ranked == ranked.min()).nonzero()[0]
    if ranked.min() >= NO_FIT:
        expected = -1
    elif len(rows) == 1:
        expected = int(rows[0])
    else:
        expected = int(rows[reference.integers(len(rows))])
    assert build["_choose"](array, penalty, fast) == expected
    assert fast.bit_generator.state == reference.bit_generator.state


@pytest.mark.parametrize("build", BUILDS)
@pytest.mark.parametrize("ties", [1, 2, 7, 20_000])
def test_the_keyed_scan_draws_over_vectors_longer_than_its_stack(build, ties):
    """20,000 rows: the compiled scan keeps its blocks' lowest keys on the heap past 16,384.

    The tied rows are spread over the whole vector (all of it tied when ``ties`` is its length),
    so the count and the walk to the drawn row cross many blocks.
    """
    n = 20_000
    layout = np.random.default_rng(ties)
    keys = layout.integers(6, 100, size=n).astype(np.int32)
    keys[layout.choice(n, size=ties, replace=False)] = 5
    penalty = np.where(layout.integers(0, 2, size=n) == 0, 0, NO_FIT).astype(np.int32)
    penalty[keys == 5] = 0
    for seed in range(5):
        fast, reference = np.random.default_rng(seed), np.random.default_rng(seed)
        rows = (keys == 5).nonzero()[0]
        expected = int(rows[reference.integers(len(rows))]) if len(rows) > 1 else int(rows[0])
        assert build["_choose"](keys, penalty, fast) == expected
        assert fast.bit_generator.state == reference.bit_generator.state


@pytest.mark.skipif(_native is None, reason="ecssim._native not built")
@settings(max_examples=300, deadline=None)
@given(
    totals=st.lists(st.integers(0, 4), min_size=40, max_size=40),
    held=st.sets(st.integers(0, 39), max_size=40),
)
def test_the_compiled_levels_are_pythons(totals, held):
    """Held values grouped by total, fewest first, index order within; None when all tie.

    Up to 40 values: past 16 the compiled version takes its memory from the heap.
    """
    ordered = tuple(sorted(held))
    assert _native.levels(totals, ordered) == _levels_python(totals, ordered)


@pytest.mark.skipif(_native is None, reason="ecssim._native not built")
def test_the_compiled_levels_refuse_what_python_would_not_take():
    with pytest.raises(IndexError, match="outside the totals"):
        _native.levels([1, 2], (0, 2))
    with pytest.raises(TypeError):
        _native.levels((1, 2), (0, 1))  # the state keeps its totals in a list
    assert _native.levels([], ()) is None


@pytest.mark.skipif(_native is None, reason="ecssim._native not built")
def test_the_compiled_scan_takes_only_int32_vectors_of_one_length():
    """Wrong arrays are refused, not read as the wrong type; ``NO_FIT`` is the state's."""
    rng = np.random.default_rng(0)
    keys = np.zeros(4, dtype=np.int32)
    assert _native.NO_FIT == NO_FIT
    with pytest.raises(TypeError, match="keys must be a 1-d contiguous int32 array"):
        _native.choose(keys.astype(np.int64), None, rng)
    with pytest.raises(TypeError, match="keys must be a numpy array"):
        _native.choose([0, 0], None, rng)
    with pytest.raises(TypeError, match="penalty must be a 1-d contiguous int32 array"):
        _native.choose(keys, np.zeros((2, 2), dtype=np.int32), rng)
    with pytest.raises(ValueError, match="differ in length"):
        _native.choose(keys, np.zeros(3, dtype=np.int32), rng)
    with pytest.raises(TypeError, match="contiguous"):
        _native.choose(np.zeros(8, dtype=np.int32)[::2], None, rng)
    with pytest.raises(AttributeError):
        _native.choose(keys, None, object())  # not a Generator
    assert _native.choose(np.zeros(0, dtype=np.int32), None, rng) == -1


def test_the_compiled_parts_are_built():
    """Where a C compiler is at hand, the install built them (they are optional otherwise)."""
    if not has_c_compiler():
        pytest.skip("no C compiler: ecssim decides with numpy")
    assert _native is not None, "ecssim._native was not built: `make clean test`"
    assert engine._choose is _native.choose
    assert engine._levels is _native.levels
    assert state_module._native is _native  # the ledger's row update


@settings(max_examples=200, deadline=None)
@given(
    sizes=st.lists(st.integers(2, 2**33), min_size=1, max_size=20),
    seed=st.integers(0, 999),
    bits=st.sampled_from([np.random.PCG64, np.random.Philox, np.random.MT19937]),
)
# The edges of the 32-bit path (2**32 is the last size it takes) and the first size past it.
@example(sizes=[2, 2**31, 2**32 - 1, 2**32, 2**32 + 1], seed=0, bits=np.random.PCG64)
def test_below_is_integers_bit_for_bit(sizes, seed, bits):
    """The same values as ``rng.integers(n)`` and the same stream after, other draws between."""
    fast, reference = np.random.Generator(bits(seed)), np.random.Generator(bits(seed))
    for n in sizes:
        assert _below(fast, n) == int(reference.integers(n))
        assert fast.random() == reference.random()  # the stream is still the shared one
    # Both left the same half of a 64-bit output buffered (or none) for the next 32-bit draw.
    assert fast.integers(7, size=3).tolist() == reference.integers(7, size=3).tolist()
