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


def main() -> None:
    n_tasks = int(sys.argv[1])
    n_instances = int(sys.argv[2]) if len(sys.argv) > 2 else 10_000
    workload = make_day_workload(1_000_000, n_instances).head(n_tasks)
    started = time.perf_counter()
    sim = build(workload, n_instances)
    sim.run()
    result = sim.result()
    wall = time.perf_counter() - started
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB
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
