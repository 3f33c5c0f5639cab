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
from simpy.events import URGENT

import ecssim.environment as environment_module
from ecssim.environment import Environment, TimedCalls, _HeapQueue


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


def _arrivals_trace(env: Environment, times: list[float], stops: list[float], timed: bool):
    """Arrivals at ``times`` among timeouts, a process and an URGENT event due at the same
    instants, fed by a SimPy process or by ``TimedCalls``; every call and tick in order."""
    trace: list[tuple[Any, ...]] = []

    def tick(name: str) -> Any:
        return lambda _event: trace.append(("tick", name, env.now))

    def arrive(item: int) -> None:
        trace.append(("arrive", item, env.now))
        if item % 3 == 0:  # a call that schedules for now, as RunTask's steps do
            env.timeout(0.0).callbacks.append(tick(f"after {item}"))

    for t in sorted({0.0, *times}):
        env.timeout(t).callbacks.append(tick(f"before {t}"))
    due = list(enumerate(times))
    if timed:
        TimedCalls(env, ((t, i) for i, t in due), arrive)
    else:

        def feed() -> Iterator[simpy.Event]:
            for i, t in due:
                if t > env.now:
                    yield env.timeout(t - env.now)
                arrive(i)

        env.process(feed())
    succeeded = env.event()
    succeeded.callbacks.append(tick("succeeded"))
    succeeded.succeed()  # NORMAL priority at 0, scheduled after the feed was started
    urgent = env.event()
    urgent.callbacks.append(tick("urgent"))
    urgent._ok, urgent._value = True, None
    env.schedule(urgent, URGENT)  # as an interrupt is: after the feed's start, before the rest
    for t in sorted({0.0, *times}):
        env.timeout(t).callbacks.append(tick(f"after {t}"))
    for stop in stops:
        env.run(until=stop)
        trace.append(("stopped", env.now))
    env.run()
    trace.append(("end", env.now, env.scheduled))
    return trace


@pytest.mark.parametrize("build", NATIVE_BUILDS)
@settings(max_examples=100, deadline=None)
@given(
    times=st.lists(
        st.sampled_from([0.0, 0.1, 0.2, 0.1 + 0.2, 1.0 / 3.0, 0.9, 1.0, 2.5]), max_size=12
    ).map(sorted),
    stops=st.sets(st.sampled_from([0.1, 0.3, 1.0, 2.0]), max_size=2).map(sorted),
)
def test_timed_calls_run_in_the_order_of_the_process_they_replace(build, times, stops):
    """The same arrivals, the same trace: ties with other events, items due at the start, several
    due at once, waits that end an ulp away from the item's time (0.2 + (0.9 - 0.2) is
    0.8999999999999999), runs stopped between; the same number of events."""
    traces = []
    for timed in (False, True):
        with _built(build):
            env = Environment(initial_time=0.0)
        traces.append(_arrivals_trace(env, times, stops, timed))
    assert traces[1] == traces[0]
    assert [entry[1] for entry in traces[1] if entry[0] == "arrive"] == list(range(len(times)))


@pytest.mark.parametrize("build", NATIVE_BUILDS)
def test_an_exception_from_a_timed_call_ends_the_run(build):
    with _built(build):
        env = Environment(initial_time=0.0)

    def arrive(item: str) -> None:
        if item == "bad":
            raise ValueError("model error")

    TimedCalls(env, [(1.0, "ok"), (2.0, "bad"), (3.0, "never")], arrive)
    with pytest.raises(ValueError, match="model error"):
        env.run()
    assert env.now == 2.0
