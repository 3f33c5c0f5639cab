"""P6 in its own process, so its peak RSS is its own: ``python -m benchmarks.p6 N_TASKS``.

The P6 workload is one million lifecycles on 10,000 instances over one simulated day at 70 %
of cluster memory. This runs its first ``N_TASKS`` arrivals (all of them when N is 1,000,000)
and prints one JSON line: lifecycles, wall seconds, peak RSS in MiB, simulated seconds.
``--floor`` runs the bare-SimPy floor (``benchmarks/floor.py``) on the same arrivals instead:
the bound P6's time is read against.
"""

from __future__ import annotations

import argparse
import json
import resource
import time

from benchmarks.ecssim_runner import build
from benchmarks.floor import run_floor
from benchmarks.workload import make_day_workload


def peak_rss_mib() -> float:
    """This process's peak resident memory since it started (``VmHWM``), in MiB.

    Not ``ru_maxrss``: Linux carries the parent's peak over into a child that ``subprocess``
    starts with vfork + exec, so under ``make bench`` (whose parent had grown to about 800 MiB
    by then) both P6 runs reported the parent's peak and the extrapolation came out flat.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # elsewhere: KiB


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.p6", description=__doc__)
    parser.add_argument("n_tasks", type=int, help="the day's first N arrivals")
    parser.add_argument("n_instances", type=int, nargs="?", default=10_000)
    parser.add_argument("--floor", action="store_true", help="run the bare-SimPy floor")
    args = parser.parse_args(argv)
    workload = make_day_workload(1_000_000, args.n_instances).head(args.n_tasks)
    if args.floor:
        floor = run_floor(workload)  # times itself, from its lists to its last event
        lifecycles, wall, simulated = floor["lifecycles"], floor["wall_s"], floor["sim_end_s"]
    else:
        started = time.perf_counter()
        sim = build(workload, args.n_instances)
        sim.run()
        result = sim.result()
        wall = time.perf_counter() - started
        lifecycles = int(result.tasks["stopped_at"].notna().sum())
        simulated = sim.now
    print(
        json.dumps(
            {
                "lifecycles": lifecycles,
                "wall_s": wall,
                "peak_rss_mib": peak_rss_mib(),
                "simulated_s": simulated,
            }
        )
    )


if __name__ == "__main__":
    main()
