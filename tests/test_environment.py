"""ecssim's Environment: SimPy's events in SimPy's order, with the compiled queue and its twin."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import Any

import pytest
import simpy
from conftest import NATIVE_BUILDS, native_build
from hypothesis import given, settings
from hypothesis import strategies as st

import ecssim.environment as environment_module
from ecssim.environment import Environment, _HeapQueue


def _built(build: str) -> AbstractContextManager[None]:
    return native_build(environment_module, build)


@pytest.mark.parametrize("build", NATIVE_BUILDS)
@settings(max_examples=200, deadline=None)
@given(
    ops=st.lists(
        st.one_of(
            st.tuples(
                st.just("push"),
                st.sampled_from([0.0, 1.0, 1.5, 2.0, 1e9]),
                st.sampled_from([-1, 0, 1]),
            ),
            st.tuples(st.just("pop"), st.just(0.0), st.just(0)),
        ),
        max_size=80,
    )
)
def test_the_queue_pops_by_time_then_priority_then_push_order(build, ops):
    """Against a sorted list of (time, priority, push number): many ties on purpose."""
    with _built(build):
        queue = environment_module.new_queue()
    assert isinstance(queue, _HeapQueue) == (build == "python")
    reference: list[tuple[float, int, int]] = []
    for n, (op, time, priority) in enumerate(ops):
        if op == "push":
            queue.push(time, priority, n)
            reference.append((time, priority, n))
        elif reference:
            reference.sort()
            expected_time, _, expected = reference.pop(0)
            popped_time, popped = queue.pop()
            assert (popped_time, popped) == (expected_time, expected)
            assert type(popped_time) is float
        else:
            with pytest.raises(IndexError):
                queue.pop()
        assert len(queue) == len(reference)
        assert queue.peek() == (min(reference)[0] if reference else float("inf"))
    assert queue.scheduled == sum(1 for op in ops if op[0] == "push")


def _model(env: simpy.Environment, trace: list[tuple[Any, ...]]) -> None:
    """A little of everything SimPy does: timeouts at equal times, processes waiting on each
    other, interrupts (URGENT), conditions, a failed event that is defused, a shared event."""
    gate = env.event()

    def worker(name: str, delays: list[float]) -> Iterator[simpy.Event]:
        for delay in delays:
            try:
                yield env.timeout(delay, value=name)
                trace.append(("tick", name, env.now))
            except simpy.Interrupt as interrupt:
                trace.append(("interrupted", name, env.now, interrupt.cause))
        value = yield gate
        trace.append(("gate", name, env.now, value))

    def boss(victim: simpy.Process) -> Iterator[simpy.Event]:
        yield env.timeout(1.0)
        victim.interrupt("stop")
        yield env.all_of([env.timeout(0.5), env.timeout(1.0)])
        trace.append(("all_of", env.now))
        failed = env.event()
        failed.fail(RuntimeError("boom"))
        failed.defused = True
        try:
            yield failed
        except RuntimeError as error:
            trace.append(("caught", env.now, str(error)))
        yield env.any_of([env.timeout(2.0), env.timeout(2.0)])
        gate.succeed("open")
        trace.append(("opened", env.now))

    a = env.process(worker("a", [1.0, 1.0, 0.0, 2.5]))
    env.process(worker("b", [1.0, 1.0, 0.0, 2.5]))
    env.process(worker("c", [0.0, 2.0, 0.0]))
    env.process(boss(a))


def _trace(env: simpy.Environment, stops: list[float]) -> list[tuple[Any, ...]]:
    trace: list[tuple[Any, ...]] = []
    _model(env, trace)
    for stop in stops:
        env.run(until=stop)
        trace.append(("stopped", env.now, env.peek()))
    env.run()
    trace.append(("end", env.now))
    return trace


@pytest.mark.parametrize("build", NATIVE_BUILDS)
@pytest.mark.parametrize("stops", [[], [1.0], [0.5, 1.0, 2.0, 3.5]])
def test_the_environment_runs_a_model_as_simpy_does(build, stops):
    """The same model on ``simpy.Environment`` and on ecssim's: the same trace, with runs
    stopped (``run(until=...)``) at instants where events are due and resumed."""
    with _built(build):
        env = Environment(initial_time=0.0)
    assert _trace(env, stops) == _trace(simpy.Environment(initial_time=0.0), stops)
    assert env.scheduled > 0 and len(env._queue) == 0


@pytest.mark.parametrize("build", NATIVE_BUILDS)
def test_an_event_that_failed_undefused_crashes_the_run_as_in_simpy(build):
    with _built(build):
        env = Environment(initial_time=0.0)

    def fails() -> Iterator[simpy.Event]:
        yield env.timeout(1.0)
        raise ValueError("model error")

    env.process(fails())
    with pytest.raises(ValueError, match="model error"):
        env.run()
    assert env.now == 1.0


@pytest.mark.parametrize("build", NATIVE_BUILDS)
def test_run_until_an_event_returns_its_value(build):
    with _built(build):
        env = Environment(initial_time=0.0)
    done = env.timeout(3.0, value="v")
    assert env.run(until=done) == "v" and env.now == 3.0
    env.run()  # the event stopped at is processed again, its callbacks spent (as in SimPy)
    assert env.peek() == float("inf") and env.now == 3.0
    with pytest.raises(simpy.core.EmptySchedule):
        env.step()
