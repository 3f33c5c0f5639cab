"""The naive peer (SPEC P4): a straightforward SimPy ECS model, written the obvious way.

Instances are a Python list of small objects holding remaining cpu/memory and a zone. Each
arrival is placed at once by a Python ``for`` loop over every instance:

- ``binpack``: binpack on memory, the fitting instance with the least remaining memory;
- ``spread-binpack``: [spread AZ, binpack memory], among zones that have a fitting instance,
  the one running the fewest tasks of the group (every task is in one group), then binpack
  within it;
- ``first-fit``: the first instance in list order that fits (the SPEC's 10,000-instance
  reference point is quoted for first-fit).

Ties go to the earlier instance (zone) in list order. A task that fits nowhere is a placement
failure and is dropped. A placed task reserves cpu and memory, runs one SimPy process (pull,
start, run, stop timeouts) and releases on stop; metrics are a list of
``(task, instance, start_s, end_s)`` tuples. Not deliberately slow, not optimised.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import simpy

from benchmarks.workload import Workload

STRATEGIES = ("binpack", "spread-binpack", "first-fit")


@dataclass(slots=True)
class Instance:
    index: int
    zone: int
    cpu_left: int
    mem_left: int


def choose_binpack(instances, cpu, mem):
    best = None
    for inst in instances:
        if (
            inst.cpu_left >= cpu
            and inst.mem_left >= mem
            and (best is None or inst.mem_left < best.mem_left)
        ):
            best = inst
    return best


def choose_spread_binpack(instances, zone_tasks, cpu, mem):
    best_in_zone = [None] * len(zone_tasks)
    for inst in instances:
        if inst.cpu_left >= cpu and inst.mem_left >= mem:
            b = best_in_zone[inst.zone]
            if b is None or inst.mem_left < b.mem_left:
                best_in_zone[inst.zone] = inst
    best = None
    for zone, inst in enumerate(best_in_zone):
        if inst is not None and (best is None or zone_tasks[zone] < zone_tasks[best.zone]):
            best = inst
    return best


def choose_first_fit(instances, cpu, mem):
    for inst in instances:
        if inst.cpu_left >= cpu and inst.mem_left >= mem:
            return inst
    return None


def brute_force_choice(instances, zone_tasks, cpu, mem, strategy):
    """Independent (slow, obviously correct) reference used by ``check=True`` and the tests."""
    fits = [i for i in instances if i.cpu_left >= cpu and i.mem_left >= mem]
    if not fits:
        return None
    if strategy == "first-fit":
        return min(fits, key=lambda i: i.index)
    if strategy == "spread-binpack":
        zone = min({i.zone for i in fits}, key=lambda z: (zone_tasks[z], z))
        fits = [i for i in fits if i.zone == zone]
    return min(fits, key=lambda i: (i.mem_left, i.index))


class NaiveCluster:
    def __init__(self, env, w: Workload, n_instances: int, strategy: str, check: bool):
        if strategy not in STRATEGIES:
            raise ValueError(f"unknown strategy {strategy!r}; expected one of {STRATEGIES}")
        self.env = env
        self.w = w
        self.strategy = strategy
        self.check = check
        self.instances = [
            Instance(i, i % w.zones, w.instance_cpu, w.instance_memory) for i in range(n_instances)
        ]
        self.zone_tasks = [0] * w.zones
        self.records = []
        self.failures = 0

    def choose(self, cpu, mem):
        if self.strategy == "binpack":
            return choose_binpack(self.instances, cpu, mem)
        if self.strategy == "spread-binpack":
            return choose_spread_binpack(self.instances, self.zone_tasks, cpu, mem)
        return choose_first_fit(self.instances, cpu, mem)

    def arrivals(self):
        w = self.w
        arrival = w.arrival_s.tolist()
        gaps = [b - a for a, b in zip([0.0, *arrival[:-1]], arrival, strict=True)]
        cpus = w.cpu.tolist()
        mems = w.memory_mib.tolist()
        pulls, starts = w.pull_s.tolist(), w.start_s.tolist()
        runs, stops = w.run_s.tolist(), w.stop_s.tolist()
        for task in range(len(arrival)):
            yield self.env.timeout(gaps[task])
            cpu, mem = cpus[task], mems[task]
            inst = self.choose(cpu, mem)
            if self.check:
                self.verify_choice(inst, cpu, mem)
            if inst is None:
                self.failures += 1
                continue
            inst.cpu_left -= cpu
            inst.mem_left -= mem
            self.zone_tasks[inst.zone] += 1
            if self.check:
                assert inst.cpu_left >= 0 and inst.mem_left >= 0, f"over-reserved {inst}"
            phases = (pulls[task], starts[task], runs[task], stops[task])
            self.env.process(self.lifecycle(task, inst, cpu, mem, phases))

    def lifecycle(self, task, inst, cpu, mem, phases):
        env = self.env
        start = env.now
        pull, start_s, run, stop = phases
        yield env.timeout(pull)
        yield env.timeout(start_s)
        yield env.timeout(run)
        yield env.timeout(stop)
        inst.cpu_left += cpu
        inst.mem_left += mem
        self.zone_tasks[inst.zone] -= 1
        self.records.append((task, inst.index, start, env.now))

    def verify_choice(self, inst, cpu, mem):
        ref = brute_force_choice(self.instances, self.zone_tasks, cpu, mem, self.strategy)
        assert (inst is None) == (ref is None), (inst, ref)
        if inst is None:
            return
        # Equal on what the strategy ranks by (list-order tie-break is checked in the tests).
        assert inst.cpu_left >= cpu and inst.mem_left >= mem, f"would be over-reserved {inst}"
        if self.strategy == "first-fit":
            assert inst is ref
        else:
            assert inst.mem_left == ref.mem_left, (inst, ref)
            if self.strategy == "spread-binpack":
                assert inst.zone == ref.zone, (inst, ref)

    def verify_end(self):
        w = self.w
        for inst in self.instances:
            assert inst.cpu_left == w.instance_cpu and inst.mem_left == w.instance_memory, inst
        assert self.zone_tasks == [0] * w.zones
        assert len(self.records) + self.failures == w.n_tasks


def run_naive(
    w: Workload, n_instances: int, strategy: str = "binpack", check: bool = False
) -> dict:
    """Run the naive peer; ``check=True`` asserts placement and capacity invariants as it goes."""
    t0 = time.perf_counter()
    env = simpy.Environment()
    cluster = NaiveCluster(env, w, n_instances, strategy, check)
    env.process(cluster.arrivals())
    env.run()
    wall_s = time.perf_counter() - t0
    if check:
        cluster.verify_end()
    return {
        "lifecycles": len(cluster.records),
        "failures": cluster.failures,
        "wall_s": wall_s,
        "records": cluster.records,
        "sim_end_s": env.now,
    }
