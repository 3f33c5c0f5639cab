"""ClusterState: reservations, growth, attribute codes, ports and group counts."""

from __future__ import annotations

from contextlib import AbstractContextManager

import numpy as np
import pytest
from conftest import NATIVE_BUILDS, make_state, native_build, requirement
from hypothesis import given, settings
from hypothesis import strategies as st

import ecssim.state as state_module
from ecssim.model.enums import InstanceStatus
from ecssim.state import NO_FIT, RESERVED_PORTS, ClusterState, _Fit


def _built(build: str) -> AbstractContextManager[None]:
    """The ledger's row update compiled (``_native.book``) or in Python (no C compiler at
    install): the state must end up the same either way."""
    return native_build(state_module, build)


_ARRAYS = (
    "remaining_cpu",
    "remaining_memory",
    "remaining_eni",
    "remaining_gpu",
    "running_tasks",
    "static_ports",
)


def _snapshot(state: ClusterState, groups=("g", "h")) -> dict:
    snap = {name: getattr(state, name).copy() for name in _ARRAYS}
    for g in groups:
        snap[f"group:{g}"] = state.group_counts(g).copy()
    for port in (80, 443, 8080, 53):
        for proto in ("tcp", "udp"):
            snap[f"{proto}:{port}"] = state.port_free(proto, port).copy()
    return snap


def test_add_instance_sets_registered_equal_remaining_and_reserved_ports():
    state = make_state([(2048, 7680), (4096, 15000)], gpus=1)
    assert state.n == 2
    np.testing.assert_array_equal(state.registered_cpu, [2048, 4096])
    np.testing.assert_array_equal(state.remaining_memory, state.registered_memory)
    np.testing.assert_array_equal(state.remaining_gpu, [1, 1])
    np.testing.assert_array_equal(state.static_ports, [len(RESERVED_PORTS)] * 2)
    for port in (22, 2375, 2376, 51678, 51679):
        assert not state.port_free("tcp", port).any()
    assert state.port_free("tcp", 80).all()
    assert state.port_free("udp", 22).all()  # reserved ports are TCP
    assert state.available().all()


@pytest.mark.parametrize("build", NATIVE_BUILDS)
@settings(max_examples=60, deadline=None)
@given(
    ops=st.lists(
        st.tuples(
            st.integers(0, 3),  # row
            st.integers(0, 512),
            st.integers(0, 1024),
            st.sampled_from([(), (80,), (443, 8080)]),
            st.sampled_from([(), (53,)]),
            st.integers(0, 1),
            st.sampled_from(["g", "h"]),
        ),
        min_size=1,
        max_size=8,
    )
)
def test_reserve_release_round_trip_restores_arrays_exactly(build, ops):
    with _built(build):
        _round_trip(ops)


def _round_trip(ops):
    state = make_state([(4096, 16384)] * 4, gpus=1, eni=3)
    before = _snapshot(state)
    done = []
    used_ports: dict[int, set] = {}
    for row, cpu, mem, tcp, udp, eni, group in ops:
        ports = used_ports.setdefault(row, set())
        if ports & set(tcp) or ports & {("u", p) for p in udp}:
            continue
        ports.update(tcp)
        ports.update(("u", p) for p in udp)
        req = requirement(cpu, mem, tcp=tcp, udp=udp, eni=eni)
        state.reserve(row, req, group)
        done.append((row, req, group))
    # Something changed while reserved.
    mid = _snapshot(state)
    assert any(not np.array_equal(mid[k], before[k]) for k in before)
    assert state.running_tasks.sum() == len(done)
    for g in ("g", "h"):
        assert state.group_counts(g).sum() == sum(1 for d in done if d[2] == g)
    for row, req, group in reversed(done):
        state.release(row, req, group)
    after = _snapshot(state)
    for key in before:
        np.testing.assert_array_equal(after[key], before[key], err_msg=key)


def test_reserve_updates_each_column():
    state = make_state([(2048, 8000), (2048, 8000)], eni=2, gpus=2)
    req = requirement(256, 512, tcp=(80,), udp=(53,), eni=1, gpu=1)
    state.reserve(1, req, "service:web")
    np.testing.assert_array_equal(state.remaining_cpu, [2048, 1792])
    np.testing.assert_array_equal(state.remaining_memory, [8000, 7488])
    np.testing.assert_array_equal(state.remaining_eni, [2, 1])
    np.testing.assert_array_equal(state.remaining_gpu, [2, 1])
    np.testing.assert_array_equal(state.running_tasks, [0, 1])
    np.testing.assert_array_equal(state.static_ports, [5, 7])
    np.testing.assert_array_equal(state.port_free("tcp", 80), [True, False])
    np.testing.assert_array_equal(state.port_free("udp", 53), [True, False])
    np.testing.assert_array_equal(state.port_free("tcp", 53), [True, True])
    np.testing.assert_array_equal(state.group_counts("service:web"), [0, 1])
    np.testing.assert_array_equal(state.group_counts("other"), [0, 0])
    np.testing.assert_array_equal(state.numeric("runningTasksCount"), [0.0, 1.0])


def test_growth_past_initial_capacity_keeps_data():
    state = ClusterState("c", capacity=2)
    req = requirement(100, 200, tcp=(80,))
    for i in range(9):
        state.add_instance(
            f"arn/{i}",
            f"i-{i}",
            cpu=1000 + i,
            memory_mib=2000 + i,
            eni_slots=i % 3,
            gpus=0,
            attributes={"ecs.availability-zone": f"z{i % 2}", "custom": f"v{i}"},
            registered_at=float(i),
        )
        if i == 0:
            state.reserve(0, req, "g")
        if i == 1:
            state.set_status(1, InstanceStatus.DRAINING)
            state.set_connected(1, False)
    assert state.n == 9
    np.testing.assert_array_equal(state.registered_cpu, 1000 + np.arange(9))
    np.testing.assert_array_equal(state.registered_memory, 2000 + np.arange(9))
    assert state.remaining_cpu[0] == 900 and state.remaining_memory[0] == 1800
    np.testing.assert_array_equal(state.remaining_cpu[1:], 1000 + np.arange(1, 9))
    np.testing.assert_array_equal(state.registered_eni, np.arange(9) % 3)
    np.testing.assert_array_equal(state.registered_at, np.arange(9, dtype=float))
    assert state.status[1] == int(InstanceStatus.DRAINING)
    assert not state.connected[1] and state.connected[[0, 2, 3, 8]].all()
    np.testing.assert_array_equal(state.port_free("tcp", 80), [False] + [True] * 8)
    assert not state.port_free("tcp", 22).any()  # reserved ports on grown rows too
    np.testing.assert_array_equal(state.group_counts("g"), [1] + [0] * 8)
    codes, values = state.attribute("custom")
    assert [values[c] for c in codes] == [f"v{i}" for i in range(9)]
    codes, values = state.attribute("ecs.availability-zone")
    assert [values[c] for c in codes] == [f"z{i % 2}" for i in range(9)]
    state.release(0, req, "g")
    assert state.remaining_cpu[0] == 1000 and state.port_free("tcp", 80).all()
    np.testing.assert_array_equal(state.row_of["arn/7"], 7)


def test_attribute_codes_are_shared_and_removable():
    state = make_state([(1, 1)] * 4, zones=["a", "b", "a", "c"])
    codes, values = state.attribute("ecs.availability-zone")
    assert codes.dtype == np.int32
    assert codes[0] == codes[2] != codes[1]
    assert len(set(codes.tolist())) == 3 and len(values) == 3
    assert [values[c] for c in codes] == ["a", "b", "a", "c"]
    state.set_attribute(1, "ecs.availability-zone", None)
    codes, _ = state.attribute("ecs.availability-zone")
    assert codes[1] == -1
    state.set_attribute(3, "ecs.availability-zone", "a")
    codes, _ = state.attribute("ecs.availability-zone")
    assert codes[3] == codes[0]
    missing, values = state.attribute("nope")
    assert (missing == -1).all() and len(missing) == 4 and not values
    ids, names = state.attribute("ec2InstanceId")
    assert [names[i] for i in ids] == state.ec2_instance_ids


def test_available_requires_active_and_connected():
    state = make_state([(1, 1)] * 3)
    state.set_status(0, InstanceStatus.DRAINING)
    state.set_connected(2, False)
    np.testing.assert_array_equal(state.available(), [False, True, False])
    v = state.version
    state.set_connected(2, True)
    assert state.version > v
    np.testing.assert_array_equal(state.available(), [False, True, True])


# -- fit masks kept per requirement shape ------------------------------------------------------


@pytest.mark.parametrize("build", NATIVE_BUILDS)
@settings(max_examples=60, deadline=None)
@given(
    ops=st.lists(
        st.tuples(
            st.sampled_from(["reserve", "release", "drain", "activate", "disconnect", "add"]),
            st.integers(0, 9),
            st.integers(0, 3),
        ),
        max_size=60,
    )
)
def test_kept_fit_masks_and_keys_equal_a_fresh_computation(build, ops):
    """Kept masks and keys match a recount after every change, compiled and in Python.

    The shapes: CPU and memory only with keys, host ports (the Python path always), an ENI
    (compiled, but its fit checked in Python), CPU and memory only without keys (a mask).
    """
    with _built(build):
        _fits_after(ops)


def _fits_after(ops):
    from ecssim.model.taskdef import Requirement

    shapes = [
        Requirement(512, 1024, (), (), 0, 0, 0),
        Requirement(1024, 512, (8080,), (), 0, 0, 0),
        Requirement(256, 256, (), (), 0, 1, 0),
        Requirement(128, 1536, (), (), 0, 0, 0),
    ]
    state = ClusterState("c", capacity=2)
    for i in range(3):
        state.add_instance(
            f"a{i}",
            f"i{i}",
            cpu=2048,
            memory_mib=4096,
            eni_slots=2,
            gpus=0,
            attributes={},
            registered_at=0.0,
        )
    for shape in shapes:
        state.fit_mask(shape)  # start keeping them before the changes
    # Binpack keys too: a shape with keys has its mask rebuilt from them when it is read.
    keyed = {0: ["memory"], 1: ["cpu"], 2: [], 3: []}
    for which, resources in keyed.items():
        for resource in resources:
            state.binpack_keys(shapes[which], resource)
    held: list[tuple[int, Requirement]] = []
    for step, (op, row, which) in enumerate(ops):
        if step == len(ops) // 2:
            keyed[0].append("cpu")  # keys asked for while the mask is stale
            state.binpack_keys(shapes[0], "cpu")
        row %= state.n
        shape = shapes[which]
        if op == "reserve" and state.fit_mask(shape)[row]:
            state.reserve(row, shape, "g")
            held.append((row, shape))
        elif op == "release" and held:
            r, s = held.pop(row % len(held))
            state.release(r, s, "g")
        elif op == "drain":
            state.set_status(row, InstanceStatus.DRAINING)
        elif op == "activate":
            state.set_status(row, InstanceStatus.ACTIVE)
            state.set_connected(row, True)
        elif op == "disconnect":
            state.set_connected(row, False)
        elif op == "add":
            state.add_instance(
                f"b{state.n}",
                f"j{state.n}",
                cpu=1024,
                memory_mib=2048,
                eni_slots=1,
                gpus=0,
                attributes={},
                registered_at=0.0,
            )
        for which, s in enumerate(shapes):
            fresh = state._fit_all(_Fit(ClusterState._shape(s), state._capacity))
            for resource in keyed[which]:
                left = state.remaining_cpu if resource == "cpu" else state.remaining_memory
                keys = state.binpack_keys(s, resource)
                assert np.array_equal(keys, np.where(fresh, left, NO_FIT)), (op, s, resource)
            assert np.array_equal(state.fit_mask(s), fresh), (op, s)


@pytest.mark.parametrize("build", NATIVE_BUILDS)
@settings(max_examples=60, deadline=None)
@given(
    ops=st.lists(
        st.tuples(
            st.sampled_from(["reserve", "reserve_port", "release", "retag", "add", "watch"]),
            st.integers(0, 20),
            st.sampled_from(["web", "db", None]),
        ),
        max_size=50,
    )
)
def test_kept_value_totals_equal_a_recount(build, ops):
    """Spread's value totals, kept by ``book``, match a recount after every change.

    Compiled and in Python, with tasks that take host ports (``book``'s Python path either
    way), instances retagged, added past the state's capacity (every array replaced) and a
    second attribute's totals asked for part way through.
    """
    with _built(build):
        state = make_state([(4096, 16384)] * 3, capacity=2, attributes=[{"tier": "web"}] * 3)
        watched = ["ecs.availability-zone"]
        state.value_totals("g", "ecs.availability-zone")
        held: list[tuple[int, object]] = []
        for op, pick, tier in ops:
            row = pick % state.n
            if op == "reserve":
                req = requirement(1, 1)
            elif op == "reserve_port":
                req = requirement(1, 1, tcp=(8000 + len(held),))
            if op.startswith("reserve"):
                state.reserve(row, req, "g")
                held.append((row, req))
            elif op == "release" and held:
                released_row, req = held.pop(pick % len(held))
                state.release(released_row, req, "g")
            elif op == "retag":
                state.set_attribute(row, "tier", tier)
            elif op == "add":
                attributes = {"ecs.availability-zone": f"z{pick % 4}"}
                if tier:
                    attributes["tier"] = tier
                state.add_instance(
                    f"arn:ci/{state.n}",
                    f"i-{state.n:017x}",
                    cpu=4096,
                    memory_mib=16384,
                    eni_slots=2,
                    gpus=0,
                    attributes=attributes,
                    registered_at=0.0,
                )
            elif op == "watch" and "tier" not in watched:
                watched.append("tier")
                state.value_totals("g", "tier")
            counts = state.group_counts("g")
            for name in watched:
                codes, values = state.attribute(name)
                recount = np.bincount(codes + 1, weights=counts, minlength=len(values) + 1)
                assert state.value_totals("g", name) == recount.astype(int).tolist(), (op, name)
