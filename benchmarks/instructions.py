"""Instructions per lifecycle, counted by valgrind: a noise-free A/B for small changes.

``python -m benchmarks.instructions [--tree DIR ...] [--instances N] [--tasks A B] [--cache]
[--functions N]``

This machine's speed drifts by 10-25 % from one run to the next, so a change worth a few per
cent cannot be seen in wall times without dozens of rounds. The number of instructions the
interpreter executes does not drift. This runs P2's workload under ``valgrind --tool=cachegrind``
at ``A`` and at ``B`` tasks for each source tree and prints ``(I_B - I_A) / (B - A)``: the
instructions of one more lifecycle, without the start-up and imports that both runs share.
Compare a commit with the working tree by checking it out beside it first::

    git worktree add /tmp/before HEAD~1
    python -m benchmarks.instructions --tree /tmp/before --tree .

Work done in batches counts only when a batch falls between the two sizes. The recorder packs
its rows into arrays every 200,000 series records and every 20,000 task rows (``COMPACT_ROWS``
and ``TASK_COMPACT_ROWS`` in ``ecssim.metrics``), and at the default sizes no pack falls between
them, so the figure leaves packing out. A lifecycle writes about 4.5 series records (the
change records), so the series' first pack comes after about 44,000 lifecycles: use ``--tasks
10000 50000`` to count a pack of each (the runs take about five times as long; at 1,000
instances and ``6973de3``, 128,936 instructions a lifecycle against 127,723 at the defaults),
and always for a change to recording: the binary records (``0be3e80``) cost 3.6 % more at the
default sizes and 3.6 % less with packing.

The count is nearly exact from run to run: three runs of one tree differed by under 5,000
instructions in 3.35 billion. Before the runs were given one BLAS thread (numpy's OpenBLAS
pool, whose start-up and waiting valgrind counts too) identical runs differed by 1-2 % of a
lifecycle's instructions, and comparisons before ``e40ff8d`` carry that noise. Instructions
are a proxy, too: they do not count the time lost to cache misses, which "Where a lifecycle's
time goes" in BENCHMARKS.md shows is a large part of a run. ``--cache`` has valgrind simulate
the caches as well (the runs take about twice as long) and prints the first-level instruction
and data cache misses of a lifecycle beside its instructions. ``--functions N`` also prints
the N C functions (of the interpreter, numpy, the C library) that execute the most
instructions a lifecycle, for each tree: where the interpreter's time goes, which a Python
profiler cannot see. Each run takes about half a minute at the defaults (valgrind runs Python
50-100 times slower); the runs of all trees go in parallel. Needs ``valgrind`` on the PATH.

Each tree's C modules (``ecssim/_native.c`` since ``97e374d``) are built in place first where
the source is newer than the module, as the install builds them: a fresh worktree has the
source only, and would otherwise run the compiled steps' Python twins.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

#: What runs under valgrind: the workload on the tree's own ecssim and benchmark runner.
_PROGRAM = """
import sys
sys.path.insert(0, {tree!r})
from benchmarks.workload import make_workload
from benchmarks.ecssim_runner import build
build(make_workload({tasks}, {instances}), {instances}).run()
"""

#: Builds a tree's C modules in place as its install would (``setup.py``), without reading the
#: tree's ``pyproject.toml``. A worktree made for an A/B holds the C source but not the built
#: module, and without it the tree would run the Python twins of the compiled steps unnoticed.
_BUILD = """
import numpy
from setuptools import Distribution, Extension
from setuptools.command.build_ext import build_ext
modules = [Extension(n, [s], include_dirs=[numpy.get_include()]) for n, s in {modules!r}]
command = build_ext(Distribution({{"ext_modules": modules}}))
command.inplace = True
command.ensure_finalized()
command.run()
"""


def compiled_modules(tree: Path) -> list[tuple[str, str]]:
    """The tree's C modules as (module name, source relative to the tree)."""
    return [
        (".".join(source.relative_to(tree).with_suffix("").parts), str(source.relative_to(tree)))
        for source in sorted((tree / "ecssim").rglob("*.c"))
    ]


def build_compiled(tree: Path) -> str | None:
    """Build the tree's C modules in place where a source is newer than its module.

    Returns the build's output if it failed, else ``None``.
    """
    stale = []
    for name, source in compiled_modules(tree):
        path = tree / source
        built = list(path.parent.glob(f"{path.stem}.*.so")) + list(
            path.parent.glob(f"{path.stem}.*.pyd")
        )
        if not built or max(b.stat().st_mtime for b in built) < path.stat().st_mtime:
            stale.append((name, source))
    if not stale:
        return None
    program = _BUILD.format(modules=stale)
    done = subprocess.run(
        [sys.executable, "-c", program], cwd=tree, capture_output=True, text=True, check=False
    )
    return None if done.returncode == 0 else done.stdout + done.stderr


#: The summary lines read, by the name printed: instructions, and with ``--cache`` the misses
#: of the first-level instruction and data caches.
_COUNTERS = {
    "instructions": re.compile(r"I\s+refs:\s+([\d,]+)"),
    "I1 misses": re.compile(r"I1\s+misses:\s+([\d,]+)"),
    "D1 misses": re.compile(r"D1\s+misses:\s+([\d,]+)"),
}


def summary_counts(valgrind_output: str) -> dict[str, int]:
    """The totals of a cachegrind run's summary: instructions, and cache misses if simulated."""
    counts = {}
    for name, pattern in _COUNTERS.items():
        match = pattern.search(valgrind_output)
        if match is not None:
            counts[name] = int(match.group(1).replace(",", ""))
    if "instructions" not in counts:
        raise ValueError("no 'I refs' line in valgrind's output")
    return counts


def function_counts(out_file: str) -> dict[str, int]:
    """Instructions by function name in a cachegrind out file.

    cachegrind counts by (source file, function); a function's lines inlined from headers
    come under the header's name, so the counts of a function are summed over its files.
    Instructions are each line's first event, which is ``Ir`` in every cachegrind out file.
    """
    counts: dict[str, int] = {}
    function = "???"
    for line in out_file.splitlines():
        if line.startswith("fn="):
            function = line[3:]
        elif line[:1].isdigit():
            fields = line.split()
            if len(fields) >= 2:
                counts[function] = counts.get(function, 0) + int(fields[1])
    return counts


def function_table(
    per_tree: dict[str, tuple[dict[str, int], dict[str, int]]], tasks: tuple[int, int], top: int
) -> list[str]:
    """Lines of a table: the ``top`` functions by instructions a lifecycle, a column a tree.

    ``per_tree`` maps a tree's name to its function counts at the two sizes of ``tasks``.
    Functions are ordered by their largest figure over the trees.
    """
    each = {
        tree: {
            name: per_lifecycle((small.get(name, 0), count), tasks) for name, count in large.items()
        }
        for tree, (small, large) in per_tree.items()
    }
    names = {name for figures in each.values() for name in figures}
    ranked = sorted(names, key=lambda name: -max(f.get(name, 0.0) for f in each.values()))
    lines = ["".join(f"{tree[-12:]:>13}" for tree in each) + "  function"]
    for name in ranked[:top]:
        lines.append("".join(f"{f.get(name, 0.0):13,.0f}" for f in each.values()) + f"  {name}")
    return lines


def _start(
    tree: Path, instances: int, tasks: int, cache: bool, out_file: str = "/dev/null"
) -> subprocess.Popen[str]:
    program = _PROGRAM.format(tree=str(tree), tasks=tasks, instances=instances)
    command = ["valgrind", "--tool=cachegrind", f"--cache-sim={'yes' if cache else 'no'}"]
    command += [f"--cachegrind-out-file={out_file}", sys.executable, "-c", program]
    # A fixed hash seed: string hashes decide dict and set layouts, and so a few instructions.
    # One BLAS thread: numpy's OpenBLAS starts a pool of threads at import whose start-up and
    # waiting valgrind counts too, differently from run to run (about 30 million instructions,
    # 1-2 % of a lifecycle between the two sizes). ecssim makes no BLAS call.
    env = {
        **os.environ,
        "PYTHONHASHSEED": "0",
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
    }
    return subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
    )


def per_lifecycle(counts: tuple[int, int], tasks: tuple[int, int]) -> float:
    """What one more lifecycle adds between the two runs."""
    return (counts[1] - counts[0]) / (tasks[1] - tasks[0])


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.instructions", description=__doc__)
    parser.add_argument("--tree", action="append", type=Path, help="source tree (repeatable)")
    parser.add_argument("--instances", type=int, default=1_000)
    parser.add_argument("--tasks", type=int, nargs=2, default=(3_000, 9_000), metavar=("A", "B"))
    parser.add_argument(
        "--cache", action="store_true", help="simulate the caches too (slower): print L1 misses"
    )
    parser.add_argument(
        "--functions",
        type=int,
        default=0,
        metavar="N",
        help="also print the N C functions with the most instructions a lifecycle",
    )
    args = parser.parse_args(argv)
    if shutil.which("valgrind") is None:
        print("benchmarks.instructions: valgrind is not on the PATH", file=sys.stderr)
        return 2
    trees = [tree.resolve() for tree in (args.tree or [Path(".")])]
    tasks = (min(args.tasks), max(args.tasks))
    if tasks[0] == tasks[1]:
        parser.error("--tasks needs two different sizes")
    for tree in trees:
        failed = build_compiled(tree)
        if failed is not None:
            print(f"benchmarks.instructions: building {tree}'s C modules failed:\n{failed}")
            return 1
    with tempfile.TemporaryDirectory() as scratch:
        keys = [(tree, n) for tree in trees for n in tasks]
        out_files = {
            key: f"{scratch}/{i}.out" if args.functions else "/dev/null"
            for i, key in enumerate(keys)
        }
        runs = {
            key: _start(key[0], args.instances, key[1], args.cache, out_files[key]) for key in keys
        }
        counts: dict[tuple[Path, int], dict[str, int]] = {}
        for key, process in runs.items():
            output, _ = process.communicate()
            if process.returncode != 0:
                failed = f"benchmarks.instructions: the run of {key[0]} failed:\n{output}"
                print(failed, file=sys.stderr)
                return 1
            counts[key] = summary_counts(output)
        functions = {
            key: function_counts(Path(out_files[key]).read_text()) if args.functions else {}
            for key in keys
        }
    print(f"{args.instances:,} instances, {tasks[0]:,} -> {tasks[1]:,} tasks, per lifecycle:")
    for tree in trees:
        small, large = counts[(tree, tasks[0])], counts[(tree, tasks[1])]
        each = [f"{per_lifecycle((small[k], large[k]), tasks):10,.0f} {k}" for k in large]
        print("  ".join(each), f"  {tree}")
    if args.functions:
        print(f"\nInstructions a lifecycle in the {args.functions} costliest C functions:")
        per_tree = {str(t): (functions[(t, tasks[0])], functions[(t, tasks[1])]) for t in trees}
        print("\n".join(function_table(per_tree, tasks, args.functions)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
