"""The bare-SimPy floor (SPEC P1): the same task lifecycles with the minimum events.

One arrival process; at each arrival it starts one process per task that only waits out the
pull, start, run and stop phases. No placement, no capacity, no metrics. Per task SimPy handles
7 events: the arrival timeout, the lifecycle process's Initialize, four timeouts and the
process's own completion event.
"""

from __future__ import annotations

import time

import simpy

from benchmarks.workload import Workload

EVENTS_PER_LIFECYCLE = 7


def lifecycle(env, pull, start, run, stop):
    yield env.timeout(pull)
    yield env.timeout(start)
    yield env.timeout(run)
    yield env.timeout(stop)


def arrivals(env, gaps, pulls, starts, runs, stops):
    for gap, pull, start, run, stop in zip(gaps, pulls, starts, runs, stops, strict=True):
        yield env.timeout(gap)
        env.process(lifecycle(env, pull, start, run, stop))


def run_floor(w: Workload, env: simpy.Environment | None = None) -> dict:
    t0 = time.perf_counter()
    env = simpy.Environment() if env is None else env
    arr = w.arrival_s.tolist()
    gaps = [b - a for a, b in zip([0.0, *arr[:-1]], arr, strict=True)]
    phases = (w.pull_s.tolist(), w.start_s.tolist(), w.run_s.tolist(), w.stop_s.tolist())
    env.process(arrivals(env, gaps, *phases))
    env.run()
    wall_s = time.perf_counter() - t0
    n = w.n_tasks
    # + Initialize and completion of the arrival process itself.
    events = EVENTS_PER_LIFECYCLE * n + 2
    return {"lifecycles": n, "wall_s": wall_s, "events": events, "sim_end_s": env.now}
