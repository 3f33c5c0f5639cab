"""Where ecssim's lifecycle time goes: P2's workload with one part switched off at a time.

``python -m benchmarks.parts [N_INSTANCES] [N_TASKS] [ROUNDS]`` (default 1,000 instances,
40,000 tasks, 6 rounds). A profiler shows where a function spends its own time; this shows what
a part costs the run as a whole, including the time it makes the rest of the run slower. The
variants run in one process, alternated round by round (the order reversed every other round)
so that the machine's drift cancels, and each prints its median microseconds per lifecycle:

- ``full``: the run as P2 measures it;
- ``no_series``: the level series' rows are dropped as they are made;
- ``no_records``: the task rows are not made either;
- ``replay_fit``: every placement decision is replayed from a first full run (the same
  decisions in the same order), but the decision still asks for the binpack keys, so they are
  kept up to date as in a real run;
- ``replay``: decisions replayed without asking for the keys: no fit upkeep either;
- ``machinery``: ``replay`` and ``no_records`` together: what is left is the lifecycle's
  machinery (the control plane's and the agent's steps, the task objects, both ledgers and
  SimPy's events), with placement and recording free.

The bare-SimPy floor (``benchmarks.floor``) runs the same workload in the same rounds, and each
variant is also printed as a ratio to it, as P1 is.

The replayed runs place every task where the full run did, so they do the same work apart from
the decisions (``tests/test_benchmark_programs.py`` checks this on a small run).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import ecssim.control.plane as plane_module
from benchmarks.ecssim_runner import build
from benchmarks.floor import run_floor
from benchmarks.workload import Workload, make_workload
from ecssim.placement.engine import Decision
from ecssim.simulation import Simulation

VARIANTS = ("full", "no_series", "no_records", "replay_fit", "replay", "machinery")


class _Discard:
    """Stands in for the tasks channel: rows are dropped, nothing is ever packed."""

    def append(self, row: object) -> None:
        pass

    def pack(self, limit: int | None = None) -> bool:
        return False


def _drop(*numbers: object) -> None:
    pass


@contextmanager
def _placing(decide: Callable[..., Decision]) -> Iterator[None]:
    """The control plane decides placements with ``decide`` until the block ends."""
    place = plane_module.place
    plane_module.place = decide
    try:
        yield
    finally:
        plane_module.place = place


def decisions(workload: Workload, n_instances: int) -> list[Decision]:
    """Every placement decision of a full run, in order."""
    place = plane_module.place
    made: list[Decision] = []

    def record(*args: Any, **kwargs: Any) -> Decision:
        decision = place(*args, **kwargs)
        made.append(decision)
        return decision

    with _placing(record):
        build(workload, n_instances).run()
    return made


@contextmanager
def switched_off(
    variant: str, workload: Workload, n_instances: int, made: list[Decision]
) -> Iterator[Simulation]:
    """A built simulation with ``variant``'s part switched off, for the block's duration.

    ``made`` are the decisions the replay variants give back (:func:`decisions`).
    """
    sim = build(workload, n_instances)
    if variant in ("no_series", "no_records", "machinery"):
        sim.recorder.series.row = _drop  # the hot path's writer of one series record
    if variant in ("no_records", "machinery"):
        sim.control._record_task = lambda task, tasks: None  # type: ignore[method-assign]
        sim.recorder.tasks = _Discard()  # type: ignore[assignment]
    if not variant.startswith("replay") and variant != "machinery":
        yield sim
        return
    replayed = iter(made)
    keep_keys = variant == "replay_fit"

    def replay(state: Any, request: Any, rng: Any, **kwargs: Any) -> Decision:
        if keep_keys and request.keyed is not None:
            state.binpack_keys(request.requirement, request.keyed[1])  # as the decision would
        return next(replayed)

    with _placing(replay):
        yield sim


def measure(
    n_instances: int, n_tasks: int, rounds: int, clock: Callable[[], float] = time.perf_counter
) -> dict[str, list[float]]:
    """Seconds of each variant's run (``Simulation.run`` only) and of the floor's, per round."""
    workload = make_workload(n_tasks, n_instances)
    made = decisions(workload, n_instances)
    walls: dict[str, list[float]] = {variant: [] for variant in (*VARIANTS, "floor")}
    for round_ in range(rounds):
        started = clock()
        run_floor(workload)
        walls["floor"].append(clock() - started)
        for variant in VARIANTS if round_ % 2 == 0 else VARIANTS[::-1]:
            with switched_off(variant, workload, n_instances, made) as sim:
                started = clock()
                sim.run()
                walls[variant].append(clock() - started)
    return walls


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.parts", description=__doc__)
    parser.add_argument("n_instances", type=int, nargs="?", default=1_000)
    parser.add_argument("n_tasks", type=int, nargs="?", default=40_000)
    parser.add_argument("rounds", type=int, nargs="?", default=6)
    args = parser.parse_args(argv)
    n_instances, n_tasks, rounds = args.n_instances, args.n_tasks, args.rounds
    walls = measure(n_instances, n_tasks, rounds)
    full = statistics.median(walls["full"]) / n_tasks * 1e6
    floor = statistics.median(walls["floor"]) / n_tasks * 1e6
    print(f"{n_instances:,} instances, {n_tasks:,} tasks, {rounds} rounds (median of rounds)")
    print(f"{'floor':11s} {floor:7.1f} us a lifecycle")
    for variant in VARIANTS:
        us = statistics.median(walls[variant]) / n_tasks * 1e6
        print(
            f"{variant:11s} {us:7.1f} us a lifecycle   switching it off saves {full - us:5.1f}"
            f"   {us / floor:5.2f} x the floor"
        )


if __name__ == "__main__":
    main(sys.argv[1:])
