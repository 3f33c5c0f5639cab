"""ecssim fed the same workload as the reference programs, for the ratio figures.

Instances register at time 0, pulls take 1 s, container start 2 s, and each task's run time is
replayed from the workload, so ecssim, the floor and the naive peer do the same work. The
arrivals reach RunTask as a scenario workload's do (``ecssim.environment.TimedCalls``). ecssim
does more per lifecycle than the floor: placement with [spread AZ, binpack memory], the agent's
FIFO admission, and every metric channel on. One difference is in the floor's favour: a task
whose only (essential) container exits stops at once in ecssim, while the floor always spends
its fixed stop time.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from time import perf_counter
from typing import Any

import numpy as np

from benchmarks.workload import Workload
from ecssim.control.plane import strategies_from
from ecssim.distributions import Fixed
from ecssim.environment import TimedCalls
from ecssim.parameters import SimParameters
from ecssim.scenario.schema import TaskBehavior
from ecssim.simulation import Simulation

ZONES = ("us-east-1a", "us-east-1b", "us-east-1c")
STRATEGY = [
    {"type": "spread", "field": "attribute:ecs.availability-zone"},
    {"type": "binpack", "field": "memory"},
]


@dataclass
class _Replay:
    """A 'distribution' that hands out recorded values in order (the workload's run times)."""

    values: Iterator[float]

    def sample(self, rng: np.random.Generator) -> float:
        return next(self.values)

    def mean(self) -> float:
        return float("nan")


def _values(array: np.ndarray, block: int = 8192) -> Iterator[Any]:
    """The values of ``array`` as Python scalars, converted one block at a time.

    Converting a whole workload to lists up front held a Python float (or str) per task for
    the whole run: at a million tasks about 120 MiB that P6 counted as the simulator's. The
    values are read by ``chain``'s C loop over each block's list, as the floor reads its lists:
    a generator's ``yield from`` resumed its frame for every value (three a lifecycle).
    """
    blocks = (array[start : start + block].tolist() for start in range(0, len(array), block))
    return itertools.chain.from_iterable(blocks)


def build(workload: Workload, n_instances: int, *, explain: bool = False) -> Simulation:
    params = SimParameters(
        instance_boot=Fixed(0.0),
        image_pull=Fixed(float(workload.pull_s[0])),
        image_pull_cached=Fixed(float(workload.pull_s[0])),
        container_start=Fixed(float(workload.start_s[0])),
        container_stop=Fixed(float(workload.stop_s[0])),
    )
    shapes = sorted(
        {(int(c), int(m)) for c, m in zip(workload.cpu, workload.memory_mib, strict=True)}
    )
    family_of = {shape: f"shape-{i}" for i, shape in enumerate(shapes)}
    # Each task's family as the index of its shape (a byte), not a str per task.
    kinds = np.zeros(workload.n_tasks, dtype=np.min_scalar_type(len(shapes)))
    for i, (cpu, memory) in enumerate(shapes):
        kinds[(workload.cpu == cpu) & (workload.memory_mib == memory)] = i
    behaviors = {
        family: TaskBehavior(_Replay(_values(workload.run_s[kinds == i])), None)
        for i, family in enumerate(family_of.values())
    }
    sim = Simulation(seed=workload.seed, parameters=params, behaviors=behaviors, explain=explain)
    ecs = sim.ecs
    ecs.create_cluster(clusterName="bench")
    for (cpu, memory), family in family_of.items():
        ecs.register_task_definition(
            family=family,
            containerDefinitions=[
                {"name": "app", "image": "app:1", "cpu": cpu, "memory": memory, "essential": True}
            ],
        )
    sim.control.launch_instances(
        "bench",
        _instance_type(),
        count=n_instances,
        zones=ZONES[: workload.zones],
        cpu=workload.instance_cpu,
        memory_mib=workload.instance_memory,
    )
    sim.run(until=0.0)
    control = sim.control
    definitions = [control.task_definition(family) for family in family_of.values()]
    strategies = tuple(strategies_from(STRATEGY))

    run_task = control.run_task

    def arrive(kind: int) -> None:
        run_task("bench", definitions[kind], strategies=strategies, origin="bench")

    # As a scenario's workload feeds its arrivals (Simulation._workload).
    TimedCalls(sim.env, zip(_values(workload.arrival_s), _values(kinds), strict=True), arrive)
    return sim


def _instance_type():  # a catalogue entry
    from ecssim.model.catalogue import get_instance_type

    return get_instance_type("m5.large")


def run_ecssim(workload: Workload, n_instances: int) -> dict:
    """Run the workload to completion; return lifecycles, failures and wall time."""
    started = perf_counter()
    sim = build(workload, n_instances)
    sim.run()
    wall = perf_counter() - started
    recorder = sim.recorder
    return {
        "lifecycles": recorder.count("tasks"),
        "failures": recorder.count("failures"),
        "wall_s": wall,
        "events": sim._events,
    }


def time_one_placement(n_instances: int, decisions: int, seed: int = 0) -> float:
    """Median seconds of one placement decision on a half-full cluster of ``n_instances``.

    The cluster state is filled to about half its memory with tasks of one service first, then
    each timed decision places a task and reserves it, as the control plane would.
    """
    import statistics

    from ecssim.model.taskdef import parse_task_definition
    from ecssim.placement.engine import PlacementRequest, StrategySpec, place
    from ecssim.rng import Streams
    from ecssim.state import ClusterState

    state = ClusterState("bench")
    for i in range(n_instances):
        state.add_instance(
            f"ci-{i}",
            f"i-{i}",
            cpu=2048,
            memory_mib=7680,
            eni_slots=2,
            gpus=0,
            attributes={"ecs.availability-zone": ZONES[i % 3]},
            registered_at=0.0,
        )
    definition = parse_task_definition(
        {
            "family": "web",
            "containerDefinitions": [{"name": "w", "image": "w", "cpu": 256, "memory": 1024}],
        }
    )
    request = PlacementRequest(
        definition.requirement,
        "service:web",
        (
            StrategySpec("spread", "attribute:ecs.availability-zone"),
            StrategySpec("binpack", "memory"),
        ),
    )
    rng = Streams(seed).get("placement")
    for _ in range(n_instances * 3):
        decision = place(state, request, rng)
        state.reserve(decision.row, definition.requirement, request.group)
    times = []
    for _ in range(decisions):
        started = perf_counter()
        decision = place(state, request, rng)
        times.append(perf_counter() - started)
        state.reserve(decision.row, definition.requirement, request.group)
    return statistics.median(times)
