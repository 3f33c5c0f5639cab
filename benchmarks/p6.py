"""P6 in its own process, so its peak RSS is its own: ``python -m benchmarks.p6 N_TASKS``.

The P6 workload is one million lifecycles on 10,000 instances over one simulated day at 70 %
of cluster memory. This runs its first ``N_TASKS`` arrivals (all of them when N is 1,000,000)
and prints one JSON line: lifecycles, wall seconds, peak RSS in MiB, simulated seconds.
"""

from __future__ import annotations

import json
import resource
import sys
import time

from benchmarks.ecssim_runner import build
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


def main() -> None:
    n_tasks = int(sys.argv[1])
    n_instances = int(sys.argv[2]) if len(sys.argv) > 2 else 10_000
    workload = make_day_workload(1_000_000, n_instances).head(n_tasks)
    started = time.perf_counter()
    sim = build(workload, n_instances)
    sim.run()
    result = sim.result()
    wall = time.perf_counter() - started
    peak_mib = peak_rss_mib()
    print(
        json.dumps(
            {
                "lifecycles": int(result.tasks["stopped_at"].notna().sum()),
                "wall_s": wall,
                "peak_rss_mib": peak_mib,
                "simulated_s": sim.now,
            }
        )
    )


if __name__ == "__main__":
    main()
