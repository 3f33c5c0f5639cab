"""The leanest ECS model we could write for the P1 workload: a bound on P1 for any such model.

Written for speed only. Per task it does the observable work the P1 workload asks of ecssim:

1. placement, [spread attribute:ecs.availability-zone, binpack memory], on numpy arrays over
   every instance: among instances where cpu and memory fit, the zones holding the fewest tasks
   of the (single) group, then the lowest remaining memory; ties uniformly at random with a
   numpy Generator (``rows[rng.integers(len(rows))]``, rows ascending, only when > 1); a task
   that fits nowhere is a placement failure;
2. the control plane's reservation ledger, released when the task is told to stop (its
   essential container exits);
3. the agent's own host ledger with FIFO admission (released at STOPPED, so a task placed on a
   host whose old task is still stopping waits in PENDING); an image pull in progress on the
   host is shared, as ecssim's agent does;
4. statuses PROVISIONING -> PENDING -> ACTIVATING -> RUNNING -> STOPPING -> STOPPED with their
   timestamps; same-instant transitions merged;
5. one 26-field task tuple per task (ecssim's ``TaskRow`` order) and the level series ecssim
   records (12 rows per lifecycle: cluster cpu/memory reserved, tasks pending/running,
   per-instance cpu/memory reserved), built into pandas DataFrames at the end.

How it is lean (each is measured in ``__main__``):

- SimPy is used only as the event queue: the task object *is* the SimPy event (a slotted
  class with ``callbacks``/``_ok``, re-armed for each of its steps and pushed straight onto
  ``env._queue``, which is what ``env.schedule`` does); no process per task, no Timeout objects.
  Per task: arrival, RUNNING (pull + start as one timer), essential exit (release + STOPPING),
  STOPPED: 4 events, against the floor's 7 (its process Initialize and resumes).
- Placement keeps, per distinct task shape, an int64 array "remaining memory if the shape fits
  here, else BIG", updated in O(shapes) scalar writes when an instance's ledger changes; a
  decision is then ``(K [+ zone penalty]).min()``, ``== min``, ``nonzero`` and (on ties) one
  ``rng.integers``: 3-4 numpy calls, no per-decision fit mask.
- The series is recorded as 3 wide tuples per lifecycle (one per level-changing step) and
  expanded to ecssim's long format with numpy at the end (``series="rows"`` appends ecssim's
  12 six-field rows instead); ids are stored as categorical codes.
- Cyclic GC is paused while running and building frames, as ecssim does.

``run_lean(w, n)`` returns ``{"lifecycles", "failures", "wall_s", ...}`` like the other
reference programs. ``python -m benchmarks.lean_model`` measures lean/floor, ecssim/lean and
the per-part breakdown.
"""

from __future__ import annotations

import gc
import statistics
import sys
import time
from collections import deque
from heapq import heappush

import numpy as np
import pandas as pd
import simpy

from benchmarks.workload import Workload, make_workload
from ecssim.metrics import FailureRow, SeriesRow, TaskRow
from ecssim.rng import Streams

BIG = 1 << 40
REGION_ACCOUNT = "arn:aws:ecs:us-east-1:123456789012"
CLUSTER = "bench"
ZONE_NAMES = ("us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d", "us-east-1e", "us-east-1f")
# Series metric codes (categories sorted, as ecssim builds them).
METRICS = ["cpu_reserved", "memory_reserved", "tasks_pending", "tasks_running"]
M_CPU, M_MEM, M_PEND, M_RUN = range(4)
STATUSES = ["STOPPED"]  # last_status / desired_status of every recorded task
STOP_CODES = ["EssentialContainerExited"]
REASON = "Essential container in task exited"
# ecssim's own result columns, so the frames have the same shape.
TASK_COLUMNS = list(TaskRow._fields)
SERIES_COLUMNS = list(SeriesRow._fields)
FAILURE_COLUMNS = list(FailureRow._fields)


class _Task:
    """A task and, at the same time, the SimPy event of its next step (re-armed per step)."""

    __slots__ = ("callbacks", "created", "k", "pull_end", "pulled", "r", "started", "stopping")
    _ok = True  # what Environment.step reads after the callbacks
    _value = None


def _placement_rng(seed: int) -> np.random.Generator:
    """The generator ecssim's placement uses for the cluster, so ties break the same way."""
    return Streams(seed).get(f"placement:{CLUSTER}")


def run_lean(
    w: Workload,
    n_instances: int,
    *,
    place: bool = True,
    ledger: bool = True,
    record: bool = True,
    series: str = "compact",
    stop_phase: bool = True,
    replay: list[int] | None = None,
    check: bool = False,
) -> dict:
    """Run the workload on ``n_instances``; return lifecycles, failures, wall_s (+ frames).

    The switches exist to measure the parts (``__main__``): ``place=False`` replays the rows
    of ``replay`` (a list of rows per task from a full run) instead of deciding; ``ledger=False``
    skips the control-plane ledger, zone counts and the agent's ledger/queue; ``record=False``
    skips the levels, task tuples and frames. ``stop_phase=False`` stops a task at once when
    its essential container exits, as ecssim does for a one-container task. ``check=True``
    verifies every decision against a brute-force numpy placement on the ledger.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        t0 = time.perf_counter()
        out = _run(w, n_instances, place, ledger, record, series, stop_phase, replay, check)
        out["wall_s"] = time.perf_counter() - t0
        return out
    finally:
        if enabled:
            gc.enable()


def _run(w, n, place, ledger, record, series, stop_phase, replay, check) -> dict:
    if not place and replay is None:
        raise ValueError("place=False needs replay rows from a full run")
    compact = series == "compact"
    env = simpy.Environment()
    queue = env._queue
    eid = env._eid
    push = heappush
    rng = _placement_rng(w.seed)
    u32 = _uint32_stream(rng.bit_generator).__next__
    nz, icpu, imem = w.zones, w.instance_cpu, w.instance_memory
    ntasks = w.n_tasks
    zone = [i % nz for i in range(n)]
    zone_arr = np.arange(n) % nz
    all_zones = (1 << nz) - 1

    arrivals = w.arrival_s.tolist()
    runs = w.run_s.tolist()
    pulls = w.pull_s.tolist()
    starts = w.start_s.tolist()
    stops = w.stop_s.tolist()
    cpus = w.cpu.tolist()
    mems = w.memory_mib.tolist()
    shapes, kind = np.unique(np.stack([w.cpu, w.memory_mib], axis=1), axis=0, return_inverse=True)
    kinds = kind.ravel().tolist()
    shapes = [(int(c), int(m)) for c, m in shapes]
    # Per shape: remaining memory where the shape fits, else BIG (the binpack key, pre-masked).
    keys = [np.full(n, imem if icpu >= c and imem >= m else BIG, dtype=np.int64) for c, m in shapes]
    key_updates = [(c, m, k) for (c, m), k in zip(shapes, keys, strict=True)]
    penalties: dict[int, np.ndarray] = {}
    # Instances are registered round-robin over the zones (row i in zone i % Z, as ecssim's
    # launch does), so one zone's keys are the strided view keys[z::Z]: no penalty add.
    views = [[key_arr[z::nz] for z in range(nz)] for key_arr in keys]
    single = [-1] * (1 << nz)
    for z in range(nz):
        single[1 << z] = z

    def penalty(zones_mask: int) -> np.ndarray:
        p = penalties.get(zones_mask)
        if p is None:
            p = penalties[zones_mask] = np.where(((1 << zone_arr) & zones_mask) != 0, 0, BIG)
        return p

    lcpu = [icpu] * n  # control-plane ledger: remaining cpu / memory per instance
    lmem = [imem] * n
    acpu = [icpu] * n  # agent ledger: free cpu / memory on the host
    amem = [imem] * n
    waiting: list[deque | None] = [None] * n  # the agent's FIFO queue, when non-empty
    image_ready = [-1.0] * n  # when the (one) image's first pull on the host completes
    # Tasks of each group per zone. ecssim's RunTask puts a task in group "family:<family>",
    # so this workload has one group per task shape (family).
    zcs = [[0] * nz for _ in shapes]

    tasks: list[tuple] = []
    records: list[tuple] = []
    failures: list[tuple] = []
    placed_rows: list[int] = [-1] * ntasks
    # Flat lists: one extend of a tuple per record (as cheap as an append), one C pass to build.
    rec = records.extend
    trec = tasks.extend
    cpu_res = mem_res = pending = running = 0
    lifecycles = 0

    cb_arrive: list = []
    cb_run: list = []
    cb_exit: list = []
    cb_stop: list = []
    new_task = _Task.__new__

    def slow_place(s: int, c: int, m: int) -> int:
        """Zones at the lowest count had no fit: walk up the count levels; -1 if none fits."""
        key_arr = keys[s]
        zc = zcs[s]
        for level in sorted(set(zc)):
            mask = 0
            for z in range(nz):
                if zc[z] == level:
                    mask |= 1 << z
            t = key_arr + penalty(mask)
            mn = t.min()
            if mn < BIG:
                rows = (t == mn).nonzero()[0]
                return int(rows[0]) if len(rows) == 1 else int(rows[draw(len(rows))])
        return -1

    def draw(nr: int) -> int:
        """``rng.integers(nr)``, bit for bit (numpy's Lemire on the generator's 32-bit halves)."""
        m = u32() * nr
        left = m & 0xFFFFFFFF
        if left < nr:
            threshold = (0x100000000 - nr) % nr
            while left < threshold:
                m = u32() * nr
                left = m & 0xFFFFFFFF
        return m >> 32

    def brute(s: int, c: int, m: int) -> tuple[int, np.ndarray]:
        zc = zcs[s]
        cpu_a, mem_a = np.array(lcpu), np.array(lmem)
        fit = (cpu_a >= c) & (mem_a >= m)
        if not fit.any():
            return -1, np.empty(0, dtype=np.int64)
        zcount = np.array(zc)[zone_arr]
        fit &= zcount == zcount[fit].min()
        fit &= mem_a == mem_a[fit].min()
        return 0, fit.nonzero()[0]

    def activate(task, k: int, r: int, now: float) -> None:
        # ACTIVATING: the pull (shared with a pull in progress on the host), then the start.
        ready = image_ready[r]
        if ready < 0.0:
            image_ready[r] = now + pulls[k]
            took = pulls[k]
        else:
            took = (ready - now if ready > now else 0.0) + pulls[k]
        task.pulled = now
        task.pull_end = now + took
        task.callbacks = cb_run
        push(queue, (now + (took + starts[k]), 1, next(eid), task))

    def arrive(task) -> None:
        nonlocal cpu_res, mem_res, pending
        now = env._now
        k = task.k
        k1 = k + 1
        if k1 < ntasks:
            next_task = new_task(_Task)
            next_task.callbacks = cb_arrive
            next_task.k = k1
            push(queue, (arrivals[k1], 1, next(eid), next_task))
        s = kinds[k]
        c = cpus[k]
        m = mems[k]
        if place:
            if check:
                ok, expected = brute(s, c, m)
            zc = zcs[s]
            zmin = min(zc)
            zmask = 0
            for z in range(nz):
                if zc[z] == zmin:
                    zmask |= 1 << z
            z = single[zmask]
            if z >= 0:
                t = views[s][z]
            elif zmask == all_zones:
                t = keys[s]
            else:
                t = keys[s] + penalty(zmask)
            mn = t[t.argmin()]  # argmin skips min()'s Python wrapper: 0.6 us, not 2
            if mn < BIG:
                rows = (t == mn).nonzero()[0]
                nr = len(rows)
                if nr == 1:
                    r = int(rows[0])
                else:
                    # rows[rng.integers(nr)] without the 3 us call overhead
                    m_ = u32() * nr
                    left = m_ & 0xFFFFFFFF
                    if left < nr:
                        threshold = (0x100000000 - nr) % nr
                        while left < threshold:
                            m_ = u32() * nr
                            left = m_ & 0xFFFFFFFF
                    r = int(rows[m_ >> 32])
                if z >= 0:
                    r = r * nz + z
                    if check:
                        rows = rows * nz + z
            else:
                r = slow_place(s, c, m)
            if check:
                assert (r >= 0) == (ok == 0) and (r < 0 or r in expected.tolist()), (k, r)
                if mn < BIG:
                    assert np.array_equal(rows, expected), (k, rows, expected)
            placed_rows[k] = r
        else:
            r = replay[k]
        if r < 0:
            best = max(range(n), key=lmem.__getitem__)  # closest: most memory left
            reason = "RESOURCE:CPU" if lcpu[best] < c else "RESOURCE:MEMORY"
            family = f"shape-{s}"
            failures.append((now, CLUSTER, None, f"family:{family}", family, reason, None))
            return
        task.r = r
        task.created = now
        if ledger:
            cr = lcpu[r] - c
            mr = lmem[r] - m
            lcpu[r] = cr
            lmem[r] = mr
            for cs, ms, key_arr in key_updates:
                key_arr[r] = mr if cr >= cs and mr >= ms else BIG
            zcs[s][zone[r]] += 1
            # PROVISIONING -> PENDING (same instant) -> ACTIVATING when the host has room.
            q = waiting[r]
            if q is None and acpu[r] >= c and amem[r] >= m:
                acpu[r] -= c
                amem[r] -= m
                activate(task, k, r, now)
            elif q is None:
                waiting[r] = deque((task,))
            else:
                q.append(task)
        else:
            activate(task, k, r, now)
        if record:
            cpu_res += c
            mem_res += m
            pending += 1
            if compact:
                rec((now, 0, r, cpu_res, mem_res, pending, icpu - lcpu[r], imem - lmem[r]))
            else:
                rec((now, M_CPU, 0, -1, -1, cpu_res))
                rec((now, M_MEM, 0, -1, -1, mem_res))
                rec((now, M_PEND, 0, -1, -1, pending))
                rec((now, M_CPU, 0, -1, r, icpu - lcpu[r]))
                rec((now, M_MEM, 0, -1, r, imem - lmem[r]))

    def on_running(task) -> None:
        nonlocal pending, running
        now = env._now
        task.started = now
        if record:
            pending -= 1
            running += 1
            if compact:
                rec((now, 1, -1, pending, running, 0, 0, 0))
            else:
                rec((now, M_PEND, 0, -1, -1, pending))
                rec((now, M_RUN, 0, -1, -1, running))
        task.callbacks = cb_exit
        push(queue, (now + runs[task.k], 1, next(eid), task))

    def on_exit(task) -> None:
        # The essential container exited: desiredStatus STOPPED releases the reservation,
        # then the agent stops the task (STOPPING).
        nonlocal cpu_res, mem_res, running
        now = env._now
        k = task.k
        r = task.r
        if ledger:
            c = cpus[k]
            m = mems[k]
            cr = lcpu[r] + c
            mr = lmem[r] + m
            lcpu[r] = cr
            lmem[r] = mr
            for cs, ms, key_arr in key_updates:
                key_arr[r] = mr if cr >= cs and mr >= ms else BIG
            zcs[kinds[k]][zone[r]] -= 1
        task.stopping = now
        if record:
            cpu_res -= cpus[k]
            mem_res -= mems[k]
            running -= 1
            if compact:
                rec((now, 2, r, cpu_res, mem_res, icpu - lcpu[r], imem - lmem[r], running))
            else:
                rec((now, M_CPU, 0, -1, -1, cpu_res))
                rec((now, M_MEM, 0, -1, -1, mem_res))
                rec((now, M_CPU, 0, -1, r, icpu - lcpu[r]))
                rec((now, M_MEM, 0, -1, r, imem - lmem[r]))
                rec((now, M_RUN, 0, -1, -1, running))
        if stop_phase:
            task.callbacks = cb_stop
            push(queue, (now + stops[k], 1, next(eid), task))
        else:
            on_stopped(task)

    def on_stopped(task) -> None:
        # Execution stopped and STOPPED (same instant): the agent frees the host, admits FIFO.
        nonlocal lifecycles
        now = env._now
        k = task.k
        r = task.r
        lifecycles += 1
        if ledger:
            acpu[r] += cpus[k]
            amem[r] += mems[k]
            q = waiting[r]
            if q is not None:
                while q:
                    head = q[0]
                    hk = head.k
                    if cpus[hk] > acpu[r] or mems[hk] > amem[r]:
                        break
                    q.popleft()
                    acpu[r] -= cpus[hk]
                    amem[r] -= mems[hk]
                    activate(head, hk, r, now)
                if not q:
                    waiting[r] = None
        if record:
            trec(
                (
                    f"{REGION_ACCOUNT}:task/{CLUSTER}/{k + 1:032x}",
                    0,
                    -1,
                    kinds[k],
                    kinds[k],
                    1,
                    0,
                    -1,
                    r,
                    zone[r],
                    cpus[k],
                    mems[k],
                    task.created,
                    task.pulled,
                    task.pull_end,
                    task.started,
                    task.stopping,
                    now,
                    now,
                    0,
                    0,
                    0,
                    REASON,
                    0.0,
                    None,
                    task.stopping,
                )
            )

    cb_arrive.append(arrive)
    cb_run.append(on_running)
    cb_exit.append(on_exit)
    cb_stop.append(on_stopped)

    if ntasks:
        first_task = new_task(_Task)
        first_task.callbacks = cb_arrive
        first_task.k = 0
        push(queue, (arrivals[0], 1, next(eid), first_task))
    env.run()
    events = int(next(eid))

    out = {
        "lifecycles": lifecycles,
        "failures": len(failures),
        "events": events,
        "sim_end_s": env.now,
        "rows": placed_rows,
    }
    if record:
        inst_arns = [f"{REGION_ACCOUNT}:container-instance/{CLUSTER}/{i:032x}" for i in range(n)]
        out["tasks"] = _tasks_frame(tasks, shapes, inst_arns, nz)
        out["series"] = (
            _series_frame(records, inst_arns) if compact else _rows_frame(records, inst_arns)
        )
        out["failures_frame"] = pd.DataFrame(failures, columns=FAILURE_COLUMNS)
    if ledger:
        out["ledger_full"] = (
            lcpu == [icpu] * n
            and lmem == [imem] * n
            and acpu == [icpu] * n
            and amem == [imem] * n
            and all(q is None for q in waiting)
            and all(zc == [0] * nz for zc in zcs)
            and all(
                bool((key_arr == (imem if icpu >= c and imem >= m else BIG)).all())
                for c, m, key_arr in key_updates
            )
        )
    return out


def _uint32_stream(bit_generator):
    """The generator's 32-bit outputs in order (low, then high half of each 64-bit draw).

    That is the sequence ``Generator.integers`` consumes when the range fits in 32 bits, so
    Lemire's method on it reproduces ``integers`` exactly (the placement stream draws nothing
    else).
    """
    while True:
        raw = bit_generator.random_raw(4096)
        halves = np.empty(2 * raw.size, dtype=np.uint64)
        halves[0::2] = raw & np.uint64(0xFFFFFFFF)
        halves[1::2] = raw >> np.uint64(32)
        yield from halves.tolist()


def _cat(codes: np.ndarray, categories: list[str]) -> pd.Categorical:
    return pd.Categorical.from_codes(codes, categories=pd.Index(categories), validate=False)


def _tasks_frame(tasks: list[tuple], shapes, inst_arns: list[str], nz: int) -> pd.DataFrame:
    # One C-level pass into an object matrix, then one conversion per column.
    cols = np.array(tasks, dtype=object).reshape(-1, 26).T
    families = [f"shape-{i}" for i in range(len(shapes))]
    cat_of = {
        "cluster": [CLUSTER],
        "service": [],
        "group": [f"family:{f}" for f in families],
        "family": families,
        "launch_type": ["EC2"],
        "capacity_provider": [],
        "container_instance": inst_arns,
        "availability_zone": list(ZONE_NAMES[:nz]),
        "last_status": STATUSES,
        "desired_status": STATUSES,
        "stop_code": STOP_CODES,
    }
    data = {}
    for i, name in enumerate(TASK_COLUMNS):
        col = cols[i]
        if name in cat_of:
            data[name] = _cat(col.astype(np.int32), cat_of[name])
        elif name in ("task_arn", "stopped_reason", "started_by"):
            data[name] = col
        elif name in ("revision", "cpu", "memory"):
            data[name] = col.astype(np.int64)
        else:
            data[name] = col.astype(np.float64)
    return pd.DataFrame(data, columns=TASK_COLUMNS, copy=False)


# Per compact record kind: the rows it stands for, as (metric, instance?, value column).
_KIND_ROWS = (
    ((M_CPU, False, 3), (M_MEM, False, 4), (M_PEND, False, 5), (M_CPU, True, 6), (M_MEM, True, 7)),
    ((M_PEND, False, 3), (M_RUN, False, 4)),
    ((M_CPU, False, 3), (M_MEM, False, 4), (M_CPU, True, 5), (M_MEM, True, 6), (M_RUN, False, 7)),
)


def _series_frame(records: list[tuple], inst_arns: list[str]) -> pd.DataFrame:
    cols = np.array(records, dtype=np.float64).reshape(-1, 8).T
    kind = cols[1].astype(np.int8)
    inst = cols[2].astype(np.int32)
    nrows = np.array([len(k) for k in _KIND_ROWS], dtype=np.int64)[kind]
    first = np.cumsum(nrows) - nrows
    total = int(nrows.sum())
    t = np.repeat(cols[0], nrows)
    metric = np.empty(total, dtype=np.int8)
    ci = np.full(total, -1, dtype=np.int32)
    value = np.empty(total, dtype=np.float64)
    for kk, layout in enumerate(_KIND_ROWS):
        sel = kind == kk
        at = first[sel]
        for j, (code, per_instance, col) in enumerate(layout):
            metric[at + j] = code
            value[at + j] = cols[col][sel]
            if per_instance:
                ci[at + j] = inst[sel]
    return pd.DataFrame(
        {
            "t": t,
            "metric": _cat(metric, METRICS),
            "cluster": _cat(np.zeros(total, dtype=np.int8), [CLUSTER]),
            "service": _cat(np.full(total, -1, dtype=np.int8), []),
            "container_instance": _cat(ci, inst_arns),
            "value": value,
        },
        copy=False,
    )


def _rows_frame(rows: list[tuple], inst_arns: list[str]) -> pd.DataFrame:
    cols = np.array(rows, dtype=np.float64).reshape(-1, 6).T
    return pd.DataFrame(
        {
            "t": cols[0],
            "metric": _cat(cols[1].astype(np.int8), METRICS),
            "cluster": _cat(cols[2].astype(np.int8), [CLUSTER]),
            "service": _cat(cols[3].astype(np.int8), []),
            "container_instance": _cat(cols[4].astype(np.int32), inst_arns),
            "value": cols[5],
        },
        copy=False,
    )


# --- measuring ---------------------------------------------------------------------------------


def _alternate(fns: dict, reps: int = 3) -> dict[str, list[float]]:
    """Run every program once per round, in turn, ``reps`` rounds; wall times per program."""
    walls: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(reps):
        for name, fn in fns.items():
            gc.collect()
            t0 = time.perf_counter()
            fn()
            walls[name].append(time.perf_counter() - t0)
    return walls


def _fmt(walls: list[float]) -> str:
    return f"median {statistics.median(walls):.3f} s  (min {min(walls):.3f}, max {max(walls):.3f})"


def _ratio(a: list[float], b: list[float]) -> str:
    med = statistics.median(a) / statistics.median(b)
    per_round = [x / y for x, y in zip(a, b, strict=True)]
    return f"{med:.2f}  (per round {min(per_round):.2f}..{max(per_round):.2f})"


def main(argv: list[str]) -> int:
    from benchmarks.ecssim_runner import run_ecssim
    from benchmarks.floor import run_floor

    reps = int(argv[0]) if argv else 3
    w1 = make_workload(100_000, 1_000)
    w10 = make_workload(60_000, 10_000)

    full = run_lean(w1, 1_000, check=False)
    assert full["lifecycles"] + full["failures"] == w1.n_tasks and full["ledger_full"]
    print(
        f"lean @1k: {full['lifecycles']} lifecycles, {full['failures']} failures, "
        f"{full['events']} events, series rows {len(full['series']):,}, ledgers full"
    )
    rows1 = full["rows"]

    print("\n== lean vs floor vs ecssim @1,000 instances, 100,000 tasks (alternated) ==")
    walls = _alternate(
        {
            "floor": lambda: run_floor(w1),
            "lean": lambda: run_lean(w1, 1_000),
            "ecssim": lambda: run_ecssim(w1, 1_000),
        },
        reps,
    )
    for name, v in walls.items():
        print(f"  {name:8s} {_fmt(v)}")
    print(f"  lean/floor   {_ratio(walls['lean'], walls['floor'])}")
    print(f"  ecssim/lean  {_ratio(walls['ecssim'], walls['lean'])}")
    print(f"  ecssim/floor {_ratio(walls['ecssim'], walls['floor'])}")

    print("\n== breakdown @1,000 instances (parts switched off cumulatively, alternated) ==")
    variants = {
        "full": lambda: run_lean(w1, 1_000),
        "series-as-rows": lambda: run_lean(w1, 1_000, series="rows"),
        "no-record": lambda: run_lean(w1, 1_000, record=False),
        "no-record-no-place": lambda: run_lean(w1, 1_000, record=False, place=False, replay=rows1),
        "events-only": lambda: run_lean(
            w1, 1_000, record=False, place=False, ledger=False, replay=rows1
        ),
        "floor": lambda: run_floor(w1),
    }
    walls = _alternate(variants, reps)
    med = {k: statistics.median(v) for k, v in walls.items()}
    for name, v in walls.items():
        print(f"  {name:20s} {_fmt(v)}  = {med[name] / med['floor']:.2f} x floor")
    n = w1.n_tasks
    parts = {
        "SimPy events (4/task, callbacks)": med["events-only"],
        "ledger + agent": med["no-record-no-place"] - med["events-only"],
        "placement": med["no-record"] - med["no-record-no-place"],
        "recording + frames": med["full"] - med["no-record"],
    }
    for name, s in parts.items():
        print(f"  {name:34s} {s:6.3f} s  {s / n * 1e6:5.1f} us/task  {s / med['full']:5.1%}")
    print(
        f"  (series as 12 literal rows: +{(med['series-as-rows'] - med['full']) / n * 1e6:.1f} "
        "us/task over compact records)"
    )

    # Frame build alone (a slice of "recording").
    t0 = time.perf_counter()
    r = run_lean(w1, 1_000)
    print(f"  one full run {time.perf_counter() - t0:.3f} s")

    print("\n== lean vs floor @10,000 instances, 60,000 tasks (alternated) ==")
    r10 = run_lean(w10, 10_000)
    assert r10["lifecycles"] + r10["failures"] == w10.n_tasks and r10["ledger_full"]
    walls = _alternate(
        {"floor": lambda: run_floor(w10), "lean": lambda: run_lean(w10, 10_000)}, reps
    )
    for name, v in walls.items():
        print(f"  {name:8s} {_fmt(v)}")
    print(f"  lean/floor   {_ratio(walls['lean'], walls['floor'])}")
    del r
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
