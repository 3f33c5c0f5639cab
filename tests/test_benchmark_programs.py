"""The reference programs the performance figures are measured against (benchmarks/).

Small sizes only: these check behaviour, never speed (SPEC section 10).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import simpy
from conftest import has_c_compiler

from benchmarks import naive_peer
from benchmarks.floor import run_floor
from benchmarks.naive_peer import (
    STRATEGIES,
    Instance,
    brute_force_choice,
    choose_binpack,
    choose_first_fit,
    choose_spread_binpack,
    run_naive,
)
from benchmarks.workload import SHAPES, STOP_S, make_workload

N_TASKS, N_INSTANCES = 200, 20


class CountingEnvironment(simpy.Environment):
    def __init__(self) -> None:
        super().__init__()
        self.steps = 0

    def step(self) -> None:
        self.steps += 1
        super().step()


def test_same_seed_same_workload_and_different_seed_differs():
    a, b = make_workload(N_TASKS, N_INSTANCES, seed=3), make_workload(N_TASKS, N_INSTANCES, seed=3)
    fields = ("arrival_s", "run_s", "cpu", "memory_mib", "pull_s", "start_s", "stop_s")
    for name in fields:
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    c = make_workload(N_TASKS, N_INSTANCES, seed=4)
    assert not np.array_equal(a.arrival_s, c.arrival_s)


def test_workload_shape_and_offered_load():
    w = make_workload(20_000, N_INSTANCES, load=0.7, seed=1)
    assert w.n_tasks == 20_000
    assert np.all(np.diff(w.arrival_s) >= 0) and w.arrival_s[0] > 0
    assert np.all(w.run_s > 0)
    assert set(zip(w.cpu.tolist(), w.memory_mib.tolist(), strict=True)) <= {
        (c, m) for c, m, _ in SHAPES
    }
    # Offered memory load (Little's law over the sample) is close to the requested 70 %.
    hold = w.pull_s + w.start_s + w.run_s + w.stop_s
    rate = w.n_tasks / w.arrival_s[-1]
    offered = rate * w.memory_mib.mean() * hold.mean() / (N_INSTANCES * w.instance_memory)
    assert offered == pytest.approx(0.7, rel=0.05)
    with pytest.raises(ValueError):
        w.arrival_s[0] = 0.0  # read-only arrays: programs cannot disturb each other's input


def test_floor_runs_every_lifecycle_with_the_stated_event_count():
    w = make_workload(N_TASKS, N_INSTANCES, seed=2)
    env = CountingEnvironment()
    r = run_floor(w, env=env)
    assert r["lifecycles"] == N_TASKS
    assert env.steps - 1 == r["events"]  # the last step() finds the queue empty
    last_end = np.max(w.arrival_s + w.pull_s + w.start_s + w.run_s + w.stop_s)
    assert r["sim_end_s"] == pytest.approx(last_end)


def test_p6_runs_ecssim_or_the_floor_on_the_same_arrivals(capsys):
    import json

    from benchmarks import p6

    runs = {}
    for options in ([], ["--floor"]):
        p6.main(["300", "40", *options])
        runs[bool(options)] = json.loads(capsys.readouterr().out)
    ecssim, floor = runs[False], runs[True]
    assert ecssim["lifecycles"] == floor["lifecycles"] == 300
    # ecssim stops a task at once when its essential container exits; the floor always spends
    # the stop time, so its day ends that much later, never earlier.
    assert 0.0 <= floor["simulated_s"] - ecssim["simulated_s"] <= STOP_S + 1e-9


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_naive_peer_checked_run(strategy):
    w = make_workload(N_TASKS, N_INSTANCES, seed=5)
    r = run_naive(w, N_INSTANCES, strategy, check=True)  # asserts choice, capacity, release
    assert r["lifecycles"] + r["failures"] == N_TASKS
    assert r["lifecycles"] > 0.9 * N_TASKS
    hold = (w.pull_s + w.start_s + w.run_s + w.stop_s).tolist()
    for task, inst, start, end in r["records"]:
        assert 0 <= inst < N_INSTANCES
        assert start == pytest.approx(w.arrival_s[task])
        assert end - start == pytest.approx(hold[task])


def test_naive_peer_check_catches_over_reservation(monkeypatch):
    def bad_choice(instances, cpu, mem):  # ignores fit: will over-reserve instance 0
        return instances[0]

    monkeypatch.setattr(naive_peer, "choose_binpack", bad_choice)
    # Make the reference agree, so only the capacity invariant is left to catch it.
    monkeypatch.setattr(naive_peer, "brute_force_choice", lambda insts, *_: bad_choice(insts, 0, 0))
    w = make_workload(N_TASKS, N_INSTANCES, load=1.5, seed=0)
    with pytest.raises(AssertionError, match="over-reserved"):
        run_naive(w, N_INSTANCES, "binpack", check=True)


def _cluster(rng, n, zones=3):
    insts = [Instance(i, i % zones, 2048, 7680) for i in range(n)]
    for inst in insts:  # random partial use, with repeated values so that ties occur
        inst.cpu_left -= int(rng.integers(0, 8)) * 256
        inst.mem_left -= int(rng.integers(0, 8)) * 1024
    return insts


def test_binpack_and_spread_pick_brute_force_choice_step_by_step():
    rng = np.random.Generator(np.random.PCG64(11))
    for strategy in ("binpack", "spread-binpack", "first-fit"):
        insts = _cluster(rng, 30)
        zone_tasks = [int(x) for x in rng.integers(0, 5, size=3)]
        for _ in range(40):
            cpu, mem, _ = SHAPES[int(rng.integers(0, len(SHAPES)))]
            if strategy == "binpack":
                got = choose_binpack(insts, cpu, mem)
            elif strategy == "spread-binpack":
                got = choose_spread_binpack(insts, zone_tasks, cpu, mem)
            else:
                got = choose_first_fit(insts, cpu, mem)
            # Exactly the brute-force instance, including the lowest-index tie-break.
            assert got is brute_force_choice(insts, zone_tasks, cpu, mem, strategy)
            if got is None:
                break
            got.cpu_left -= cpu
            got.mem_left -= mem
            zone_tasks[got.zone] += 1


def test_binpack_and_spread_on_a_hand_made_cluster():
    insts = [
        Instance(0, 0, 2048, 4096),
        Instance(1, 1, 2048, 2048),  # least memory overall, zone 1
        Instance(2, 0, 2048, 3072),  # least memory in zone 0
        Instance(3, 2, 128, 1024),  # cpu does not fit
        Instance(4, 1, 2048, 2048),  # ties with 1: loses on list order
    ]
    assert choose_binpack(insts, 512, 2048) is insts[1]
    # Zone 1 has more tasks of the group; zone 2 fits nothing: spread goes to zone 0.
    assert choose_spread_binpack(insts, [1, 4, 0], 512, 2048) is insts[2]
    assert choose_spread_binpack(insts, [5, 4, 0], 512, 2048) is insts[1]
    assert choose_first_fit(insts, 512, 2048) is insts[0]
    assert choose_binpack(insts, 512, 8192) is None


def test_lean_model_does_ecssims_work():
    """The lean model bounds P1 only if it does what ecssim does: same hosts, same times.

    With ``stop_phase=False`` (ecssim stops a one-container task when its essential container
    exits) every task lands on the same instance at the same instants as in ecssim, its
    decisions match a brute-force placement (``check=True``), and the ledgers end full.
    """
    from benchmarks.ecssim_runner import build
    from benchmarks.lean_model import run_lean

    w = make_workload(1_500, 30, seed=3)
    lean = run_lean(w, 30, stop_phase=False, check=True)
    assert lean["lifecycles"] + lean["failures"] == w.n_tasks
    assert lean["ledger_full"]
    sim = build(w, 30)
    sim.run()
    result = sim.result()
    assert len(result.failures) == lean["failures"] > 0  # a small cluster: some do not fit
    tasks = result.tasks.sort_values("task_arn").reset_index(drop=True)  # in placement order
    state = sim.control.cluster("bench").state
    placed = [row for row in lean["rows"] if row >= 0]
    assert [state.row_of[arn] for arn in tasks.container_instance] == placed
    mine = lean["tasks"].sort_values("task_arn").reset_index(drop=True)
    for column in ("created_at", "pull_stopped_at", "started_at", "stopped_at"):
        np.testing.assert_allclose(mine[column].to_numpy(), tasks[column].to_numpy())


def test_measure_alternating_repeats_a_program_around_the_others(monkeypatch):
    """A program run k times a round brackets the others; its round time is their mean."""
    from benchmarks import run as bench

    assert bench.round_order((1, 4, 1)) == [1, 1, 0, 2, 1, 1]
    assert bench.round_order((1, 1, 1)) == [0, 1, 2]  # one run each: plain alternation
    calls: list[str] = []
    # Walls in call order (floor, floor, a, b, floor, floor); floor means per round: 2, 1, 4.
    rounds = [[1, 1, 10, 5, 1, 5], [1, 1, 10, 5, 1, 1], [4, 4, 40, 5, 4, 4]]
    walls = (float(wall) for row in rounds for wall in row)
    monkeypatch.setattr(bench, "_timed", lambda fn: (next(walls), fn()))

    def program(name: str):
        def fn() -> dict:
            calls.append(name)
            return {"name": name}

        return fn

    (a_s, a_res), (f_s, f_res), (b_s, _) = bench.measure_alternating(
        program("a"), program("floor"), program("b"), reps=3, runs=(1, 4, 1)
    )
    assert calls == ["floor", "floor", "a", "b", "floor", "floor"] * 3
    assert (a_s, f_s, b_s) == (10.0, 2.0, 5.0)  # the median round; for the floor, of the means
    assert a_res == {"name": "a"} and f_res == {"name": "floor"}
    with pytest.raises(ValueError):
        bench.measure_alternating(program("a"), reps=3, runs=(1, 2))


@pytest.mark.parametrize("variant", ["replay_fit", "replay", "no_series"])
def test_parts_variants_place_every_task_as_the_full_run(variant):
    """The parts measurement switches one part off and keeps the run's work otherwise the same."""
    from benchmarks import parts
    from ecssim.control import plane

    workload = make_workload(N_TASKS, N_INSTANCES, seed=5)
    made = parts.decisions(workload, N_INSTANCES)
    assert len(made) == N_TASKS and min(decision.row for decision in made) >= 0
    place = plane.place
    with parts.switched_off("full", workload, N_INSTANCES, made) as full:
        full.run()
    with parts.switched_off(variant, workload, N_INSTANCES, made) as sim:
        sim.run()
    assert plane.place is place
    columns = ["task_arn", "container_instance", "created_at", "started_at", "stopped_at"]
    assert sim.result().tasks[columns].equals(full.result().tasks[columns])
    series, full_series = sim.result().series, full.result().series
    if variant == "no_series":
        assert len(series) < len(full_series) and series["t"].max() == 0.0  # registration only
    else:
        assert series.equals(full_series)


def test_parts_measure_alternates_the_variants_and_restores_placement():
    from benchmarks import parts
    from ecssim.control import plane

    place = plane.place
    ticks = iter(range(1_000))
    walls = parts.measure(N_INSTANCES, N_TASKS, 2, clock=lambda: float(next(ticks)))
    assert plane.place is place
    assert all(len(walls[variant]) == 2 for variant in (*parts.VARIANTS, "floor"))


def test_parts_machinery_replays_every_decision_and_records_nothing():
    """The machinery variant runs the same lifecycles as the full run, with no rows made."""
    from benchmarks import parts

    workload = make_workload(N_TASKS, N_INSTANCES, seed=5)
    made = parts.decisions(workload, N_INSTANCES)
    with parts.switched_off("full", workload, N_INSTANCES, made) as full:
        full.run()
    with parts.switched_off("machinery", workload, N_INSTANCES, made) as sim:
        sim.run()
    assert sim.env.now == full.env.now  # the last task stopped at the same instant
    assert full.recorder.count("tasks") == N_TASKS
    # Only the instances' registration rows: none of the lifecycles' twelve rows each.
    assert len(sim.recorder.series) < len(full.recorder.series) - 11 * N_TASKS


def test_instruction_counts_read_from_cachegrind_summary():
    from benchmarks.instructions import per_lifecycle, summary_counts

    output = "==9014== Collected : 3570920067\n==9014==\n==9014== I   refs:      3,570,920,067\n"
    assert summary_counts(output) == {"instructions": 3_570_920_067}
    cached = output + (
        "==9014== I1  misses:       45,959,700\n"
        "==9014== D1  misses:       44,387,244  (   38,980,901 rd   +   5,406,343 wr)\n"
    )
    assert summary_counts(cached) == {
        "instructions": 3_570_920_067,
        "I1 misses": 45_959_700,
        "D1 misses": 44_387_244,
    }
    assert per_lifecycle((3_570_920_067, 5_478_074_863), (3_000, 9_000)) == pytest.approx(317_859.1)
    with pytest.raises(ValueError, match="I refs"):
        summary_counts("==1== ERROR SUMMARY: 0 errors")


def test_function_counts_sum_a_function_over_its_files_and_rank_by_lifecycle():
    from benchmarks.instructions import function_counts, function_table

    # A cachegrind out file: a function's lines inlined from a header come under the header.
    out_file = (
        "desc: I1 cache: 32768 B, 64 B, 8-way associative\n"
        "cmd: python -c ...\nevents: Ir I1mr\n"
        "fl=/src/Python/ceval.c\nfn=_PyEval_EvalFrameDefault\n57 500 3\n63 100 0\n"
        "fl=/src/Objects/dictobject.c\nfn=_Py_dict_lookup\n10 40 1\n"
        "fl=/src/Include/object.h\nfn=_PyEval_EvalFrameDefault\n12 7 0\n"
        "summary: 647 4\n"
    )
    small = function_counts(out_file)
    assert small == {"_PyEval_EvalFrameDefault": 607, "_Py_dict_lookup": 40}
    large = {"_PyEval_EvalFrameDefault": 6_607, "_Py_dict_lookup": 1_240, "list_extend": 300}
    other = {"_PyEval_EvalFrameDefault": 3_607, "_Py_dict_lookup": 2_440}
    table = function_table({"/a": (small, large), "/b": (small, other)}, (100, 200), 2)
    # Ranked by the larger of the trees' figures: 60 and 30, then 12 and 24; list_extend is 3rd.
    assert [line.split() for line in table] == [
        ["/a", "/b", "function"],
        ["60", "30", "_PyEval_EvalFrameDefault"],
        ["12", "24", "_Py_dict_lookup"],
    ]


def test_instructions_says_so_without_valgrind(monkeypatch, capsys):
    from benchmarks import instructions

    monkeypatch.setattr(instructions.shutil, "which", lambda name: None)
    assert instructions.main([]) == 2
    assert "valgrind is not on the PATH" in capsys.readouterr().err


def test_instructions_builds_a_fresh_trees_compiled_modules(tmp_path):
    """A worktree holds ``_native.c`` but not the module: it is built before the tree runs."""
    from benchmarks import instructions

    if not has_c_compiler():
        pytest.skip("no C compiler")
    root = Path(__file__).resolve().parents[1]
    assert instructions.compiled_modules(root) == [("ecssim._native", "ecssim/_native.c")]
    tree = tmp_path / "tree"
    (tree / "ecssim").mkdir(parents=True)
    shutil.copy(root / "ecssim" / "_native.c", tree / "ecssim" / "_native.c")
    assert instructions.build_compiled(tree) is None
    (built,) = (tree / "ecssim").glob("_native.*.so")
    made = built.stat().st_mtime_ns
    # Built and up to date: nothing to do the second time.
    assert instructions.build_compiled(tree) is None
    assert built.stat().st_mtime_ns == made
