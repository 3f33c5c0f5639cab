"""SimPy's ``Environment`` with its pending events kept as numbers.

SimPy keeps the events due as ``(time, priority, id, event)`` tuples in a ``heapq`` list, and each
comparison of a pop or a push reads two tuples and their float objects. At ecssim's scale (one
pending event per live task: 3,000 at 1,000 instances, 30,000 at 10,000) those reads miss the
caches: at 10,000 instances the queue was a lifecycle's largest single cost (BENCHMARKS.md, "The
event queue as numbers"). :class:`Environment` keeps the same keys in ``ecssim._native.Queue``, one
array of numbers beside the events, and takes events out in exactly SimPy's order: by time, then
priority, then the order they were scheduled. Processes, events, timeouts, interrupts and
``run(until=...)`` are SimPy's own and behave as in a plain ``simpy.Environment``.

Without the compiled module (no C compiler at install) the queue is :class:`_HeapQueue`, SimPy's
own tuples and ``heapq``, with the same interface; tests run both.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from heapq import heappop, heappush
from typing import Any, Generic, Protocol, TypeVar

import simpy
from simpy.core import EmptySchedule, StopSimulation
from simpy.events import NORMAL, URGENT, Event

try:
    from ecssim import _native
except ImportError:  # pragma: no cover - the twin is tested by switching it off
    _native = None  # type: ignore[assignment]

#: The priority SimPy gives an event rescheduled after ``StopSimulation`` (before all others).
_RESUME = -1

T = TypeVar("T")


class EventQueue(Protocol):
    """What :class:`Environment` needs of its queue: ``_native.Queue`` and :class:`_HeapQueue`."""

    scheduled: int  # events pushed so far

    def push(self, time: float, priority: int, event: Any) -> None:
        """Schedule ``event`` at ``time``; equal times and priorities keep their push order."""

    def pop(self) -> tuple[float, Any]:
        """Remove the first event; return ``(time, event)``. IndexError when empty."""

    def peek(self) -> float:
        """The first event's time, ``inf`` when empty."""

    def __len__(self) -> int:
        """Events pending."""


class _HeapQueue:
    """``_native.Queue``'s twin: SimPy's ``(time, priority, id, event)`` entries on a heap."""

    __slots__ = ("_entries", "scheduled")

    def __init__(self) -> None:
        self._entries: list[tuple[float, int, int, Any]] = []
        #: Events pushed so far: the next one's id.
        self.scheduled = 0

    def push(self, time: float, priority: int, event: Any) -> None:
        """Schedule ``event`` at ``time``; equal times and priorities keep their push order."""
        heappush(self._entries, (float(time), priority, self.scheduled, event))
        self.scheduled += 1

    def pop(self) -> tuple[float, Any]:
        """Remove the first event; return ``(time, event)``. IndexError when empty."""
        time, _, _, event = heappop(self._entries)
        return time, event

    def peek(self) -> float:
        """The first event's time, ``inf`` when empty."""
        return self._entries[0][0] if self._entries else math.inf

    def __len__(self) -> int:
        return len(self._entries)


def new_queue() -> EventQueue:
    """An empty event queue: compiled when ``_native`` is built, else :class:`_HeapQueue`."""
    return _native.Queue() if _native is not None else _HeapQueue()


class Environment(simpy.Environment):
    """A ``simpy.Environment`` whose pending events are a :func:`new_queue`.

    ``_queue`` is the queue; ``Agent._after`` pushes its steps onto it directly, as it pushed
    them onto SimPy's list before.
    """

    def __init__(self, initial_time: float = 0.0) -> None:
        super().__init__(initial_time)
        self._queue: EventQueue = new_queue()  # type: ignore[assignment]

    def schedule(self, event: Event, priority: int = NORMAL, delay: float = 0) -> None:
        """Schedule ``event`` with ``priority`` after ``delay``."""
        self._queue.push(self._now + delay, priority, event)

    def peek(self) -> float:
        """The time of the next event, ``inf`` if none is pending."""
        return self._queue.peek()

    def step(self) -> None:
        """Process the next event, as ``simpy.Environment.step`` does.

        Its callbacks run in order; a ``StopSimulation`` raised by one (``run(until=...)``)
        keeps the callbacks after it for when the run resumes, with the event first in line;
        an event that failed and was not defused raises its exception here.
        """
        try:
            self._now, event = self._queue.pop()
        except IndexError:
            raise EmptySchedule from None
        callbacks, event.callbacks = event.callbacks, None
        try:
            for callback in callbacks:
                callback(event)
        except StopSimulation:
            event.callbacks = list(callbacks[callbacks.index(callback) + 1 :])
            self.schedule(event, _RESUME)
            raise
        if not event._ok and not hasattr(event, "_defused"):
            failure = event._value
            error = type(failure)(*failure.args)
            error.__cause__ = failure
            raise error

    @property
    def scheduled(self) -> int:
        """Events scheduled so far (each counted once, whether processed yet or not)."""
        return self._queue.scheduled


class Timer:
    """What :meth:`Environment.step` reads of an event, no more: ecssim's own timers.

    ``step`` pops the event, calls its ``callbacks`` and then reads ``_ok``; a timer is always
    ok, so those are class attributes and its callbacks a shared tuple. Not a ``simpy.Event``:
    an event carries a ``__dict__`` beside its slots and a fresh callbacks list. A timer is
    pushed onto the environment's queue (``env._queue.push(time, priority, timer)``) where
    ``Environment.schedule`` would push an event, without the call: the agent's lifecycle steps
    and boots (``agent._Timer``) and :class:`TimedCalls`.
    """

    __slots__ = ("callbacks",)
    _ok = True
    _value = None
    callbacks: tuple[Callable[[Any], None], ...] | None


class TimedCalls(Timer, Generic[T]):
    """Call ``call(item)`` at each ``(time, item)`` of ``due`` (ascending times): arrivals.

    Does what a SimPy process does that, for each item, yields a ``Timeout`` until the item's
    time if it is later than now and then calls ``call``, with one entry on the queue, pushed
    again after each call. The process pays a ``Timeout``, its own resumption and its
    generator's frame for every item: 9 % of P6's profile samples, 4.4 % of a lifecycle's
    instructions (BENCHMARKS.md, "Arrivals as timed calls"). The order of events is the
    process's: it starts at the current time with SimPy's ``URGENT`` priority (the process's
    ``Initialize``), waits ``t - now`` with ``NORMAL`` priority as a ``Timeout`` would (the same
    floating-point sum), calls the items due at the same time in one step, and ends with an event
    of its own at the time it found ``due`` exhausted (the process's end), so every other event
    keeps its place in the order and the number of events stays the same. An exception from
    ``call`` propagates out of the step, as it would out of the process.
    """

    __slots__ = ("_call", "_due", "_env", "_item")

    def __init__(
        self, env: Environment, due: Iterable[tuple[float, T]], call: Callable[[T], object]
    ) -> None:
        self._env = env
        self._due = iter(due)
        self._call = call
        self._item: tuple[float, T] | None = None
        self.callbacks = _START
        env._queue.push(env._now, URGENT, self)

    @staticmethod
    def _start(self: TimedCalls[Any]) -> None:
        self._next(next(self._due, None))

    @staticmethod
    def _fire(self: TimedCalls[Any]) -> None:
        item = self._item
        assert item is not None
        self._call(item[1])  # its wait is over (``now`` may be an ulp short of its time)
        self._next(next(self._due, None))

    def _next(self, item: tuple[float, T] | None) -> None:
        """Call ``item`` and those after it while they are due now; then wait for the next."""
        env, call, due = self._env, self._call, self._due
        now = env._now
        while item is not None and not item[0] > now:
            call(item[1])
            item = next(due, None)
        self._item = item
        if item is None:
            self.callbacks = ()  # the process's end event: nothing to call back
            env._queue.push(now, NORMAL, self)
            return
        self.callbacks = _FIRE
        env._queue.push(now + (item[0] - now), NORMAL, self)


_START = (TimedCalls._start,)
_FIRE = (TimedCalls._fire,)
