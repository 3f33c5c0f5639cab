"""Run the validation experiments at full size and write docs/validation.md with its plots.

Usage: ``.venv/bin/python tools/validation_report.py [--quick]``

The experiments are the ones ``tests/validation/`` runs in ``make test``, with more
replications and longer runs. The document is generated whole from the template below, so
the numbers in its tables always come from the last run of this script.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import ecssim  # noqa: E402
from tests.validation import (  # noqa: E402
    erlang_b,
    interval,
    little_checks,
    renewal_availability,
    reservation_mismatches,
    run_loss,
    run_renewal,
)
from tests.validation.test_conservation import CHURN  # noqa: E402

DOC = ROOT / "docs" / "validation.md"
IMG = ROOT / "docs" / "img"


def _offset(seeds: range, point: int) -> range:
    """Independent seeds per point, so that the points' errors are independent too."""
    return range(seeds.start + 1000 * point, seeds.stop + 1000 * point)


def erlang_experiment(seeds: range, calls: int) -> tuple[list[dict], list[dict]]:
    points = []
    point = 0
    for servers, loads in [
        (1, [0.25, 0.5, 1.0, 2.0]),
        (5, [1.0, 3.0, 5.0]),
        (10, [5.0, 8.0, 12.0]),
        (20, [12.0, 15.0, 20.0]),
    ]:
        for load in loads:
            point += 1
            reps = run_loss(servers, load, _offset(seeds, point), calls=calls)
            iv = interval(r.blocking for r in reps)
            points.append(
                {
                    "N": servers,
                    "A": load,
                    "runtime": "exponential",
                    "iv": iv,
                    "theory": erlang_b(servers, load),
                    "holding": float(np.mean([r.mean_holding_s for r in reps])),
                    "calls": sum(r.calls for r in reps),
                    "load": float(np.mean([r.measured_load for r in reps])),
                    "gap": interval(r.blocking - erlang_b(servers, r.measured_load) for r in reps),
                }
            )
    insensitive = []
    for runtime in ("exponential", "fixed", "uniform", "lognormal"):
        point += 1
        reps = run_loss(5, 3.0, _offset(seeds, point), runtime=runtime, calls=calls)
        iv = interval(r.blocking for r in reps)
        insensitive.append(
            {
                "N": 5,
                "A": 3.0,
                "runtime": runtime,
                "iv": iv,
                "theory": erlang_b(5, 3.0),
                "holding": float(np.mean([r.mean_holding_s for r in reps])),
                "calls": sum(r.calls for r in reps),
                "load": float(np.mean([r.measured_load for r in reps])),
                "gap": interval(r.blocking - erlang_b(5, r.measured_load) for r in reps),
            }
        )
    return points, insensitive


def renewal_experiment(seeds: range, cycles: float) -> list[dict]:
    out = []
    pull = {"exponential": {"mean": 60}}
    start = {"uniform": {"low": 10, "high": 50}}
    for desired, mtbf in [(4, 300.0), (4, 600.0), (8, 1800.0), (8, 3600.0), (12, 7200.0)]:
        reps = run_renewal(
            desired, mtbf, seeds, duration_s=cycles * mtbf, warmup_s=mtbf, pull=pull, start=start
        )
        delays = np.concatenate([r.delays_s for r in reps])
        iv = interval(r.availability for r in reps)
        out.append(
            {
                "desired": desired,
                "mtbf": mtbf,
                "iv": iv,
                "delay": float(delays.mean()),
                "uptime": float(np.concatenate([r.uptimes_s for r in reps]).mean()),
                "crashes": len(delays),
                "theory": renewal_availability(mtbf, float(delays.mean())),
            }
        )
    return out


def little_experiment() -> list[tuple[str, object]]:
    rows = []
    for path in sorted((ROOT / "scenarios").glob("*.yaml")):
        result = ecssim.run(path)
        rows.extend((path.stem, c) for c in little_checks(result))
    return rows


def conservation_experiment(seeds: range) -> list[tuple[str, int, int, int]]:
    rows = []
    runs = [(p.stem, ecssim.run(p)) for p in sorted((ROOT / "scenarios").glob("*.yaml"))]
    runs += [(f"churn (seed {s})", ecssim.run(CHURN, seed=s)) for s in seeds]
    for name, result in runs:
        series = result.series
        changes = int(
            ((series["metric"] == "cpu_reserved") & series["container_instance"].notna()).sum()
        )
        bad = len(reservation_mismatches(result, "cpu")) + len(
            reservation_mismatches(result, "memory")
        )
        rows.append((name, len(result.tasks), changes, bad))
    return rows


def plot_erlang(points: list[dict], insensitive: list[dict]) -> None:
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(11, 4.2))
    colors = {1: "C0", 5: "C1", 10: "C2", 20: "C3"}
    for servers, color in colors.items():
        grid = np.linspace(0.05, 1.1 * max(p["A"] for p in points if p["N"] == servers), 200)
        ax.plot(grid, [erlang_b(servers, a) for a in grid], color=color, lw=1, label=f"N={servers}")
        mine = [p for p in points if p["N"] == servers]
        ax.errorbar(
            [p["A"] for p in mine],
            [p["iv"].mean for p in mine],
            yerr=[p["iv"].half_width for p in mine],
            fmt="o",
            color=color,
            ms=4,
            capsize=3,
        )
    ax.set_xlabel("offered load A (erlangs)")
    ax.set_ylabel("fraction of RunTask calls failing RESOURCE:CPU")
    ax.set_title("Erlang-B: lines theory, dots simulated (95 % CI)")
    ax.legend()
    x = np.arange(len(insensitive))
    bx.errorbar(
        x,
        [p["iv"].mean for p in insensitive],
        yerr=[p["iv"].half_width for p in insensitive],
        fmt="o",
        capsize=4,
    )
    bx.axhline(erlang_b(5, 3.0), color="k", lw=1, label=f"B(5, 3) = {erlang_b(5, 3.0):.4f}")
    bx.set_xticks(x, [p["runtime"] for p in insensitive])
    bx.set_xlabel("run-time distribution (same mean)")
    bx.set_title("Insensitivity: N=5, A=3")
    bx.legend()
    fig.tight_layout()
    fig.savefig(IMG / "validation-erlang-b.png", dpi=110)
    plt.close(fig)


def plot_renewal(rows: list[dict]) -> None:
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    ratio = np.linspace(1, 90, 200)
    ax.plot(ratio, ratio / (ratio + 1), "k-", lw=1, label="MTBF / (MTBF + D)")
    ax.errorbar(
        [r["mtbf"] / r["delay"] for r in rows],
        [r["iv"].mean for r in rows],
        yerr=[r["iv"].half_width for r in rows],
        fmt="o",
        capsize=4,
        label="simulated (95 % CI)",
    )
    ax.set_xscale("log")
    ax.set_xlabel("MTBF / measured mean replacement delay D")
    ax.set_ylabel("time-average running / desired")
    ax.set_title("Renewal availability of a crash/replace service")
    ax.legend()
    fig.tight_layout()
    fig.savefig(IMG / "validation-renewal.png", dpi=110)
    plt.close(fig)


def plot_little(rows: list[tuple[str, object]]) -> None:
    fig, ax = plt.subplots(figsize=(5.5, 4.5))
    for state, marker in (("pending", "s"), ("running", "o")):
        mine = [c for _, c in rows if c.state == state]  # type: ignore[attr-defined]
        ax.loglog(
            [c.little_censored for c in mine], [c.level for c in mine], marker, label=state, ms=6
        )
    lo = min(c.level for _, c in rows) / 2  # type: ignore[attr-defined]
    hi = max(c.level for _, c in rows) * 2  # type: ignore[attr-defined]
    ax.plot([lo, hi], [lo, hi], "k-", lw=0.8, label="L = λW")
    ax.set_xlabel("λ × W from the tasks frame")
    ax.set_ylabel("L: time-average of the series level")
    ax.set_title("Little's law, bundled scenarios")
    ax.legend()
    fig.tight_layout()
    fig.savefig(IMG / "validation-littles-law.png", dpi=110)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="test-sized runs")
    args = parser.parse_args()
    seeds = range(1, 7) if args.quick else range(1, 13)
    calls = 2000 if args.quick else 6000
    started = time.perf_counter()
    IMG.mkdir(parents=True, exist_ok=True)
    points, insensitive = erlang_experiment(seeds, calls)
    renewal = renewal_experiment(seeds, 40 if args.quick else 100)
    little = little_experiment()
    conservation = conservation_experiment(range(1, 6))
    plot_erlang(points, insensitive)
    plot_renewal(renewal)
    plot_little(little)
    wall = time.perf_counter() - started
    DOC.write_text(
        render(points, insensitive, renewal, little, conservation, len(seeds), calls, wall)
    )
    print(f"wrote {DOC.relative_to(ROOT)} and 3 plots in {wall:.0f} s")


def _header(*names: str) -> str:
    return "| " + " | ".join(names) + " |\n" + "|---" * len(names) + "|\n"


def _yes(flag: bool) -> str:
    return "yes" if flag else "**no**"


def render(points, insensitive, renewal, little, conservation, reps, calls, wall) -> str:
    erl = "\n".join(
        f"| {p['N']} | {p['A']:g} | {p['runtime']} | {p['holding']:.1f} | {p['calls']:,} | "
        f"{p['theory']:.4f} | {p['iv'].mean:.4f} | [{p['iv'].low:.4f}, {p['iv'].high:.4f}] | "
        f"{_yes(p['iv'].contains(p['theory']))} | {p['load']:.3f} | "
        f"{p['gap'].mean:+.4f} ± {p['gap'].half_width:.4f} | {_yes(p['gap'].contains(0.0))} |"
        for p in [*points, *insensitive[1:]]
    )
    erl = (
        _header(
            "N",
            "A",
            "run time",
            "measured h (s)",
            "calls",
            "B(N, A)",
            "simulated",
            "95 % CI",
            "agrees",
            "measured Â",
            "simulated − B(N, Â)",
            "agrees",
        )
        + erl
    )
    ren = "\n".join(
        f"| {r['desired']} | {r['mtbf']:g} | {r['uptime']:.0f} | {r['delay']:.1f} | "
        f"{r['crashes']:,} | {r['theory']:.4f} | {r['iv'].mean:.4f} | "
        f"[{r['iv'].low:.4f}, {r['iv'].high:.4f}] | {_yes(r['iv'].contains(r['theory']))} |"
        for r in renewal
    )
    lit = "\n".join(
        f"| {name} | {c.cluster} | {c.state} | {c.entries} | {c.censored} | {c.level:.6f} | "
        f"{c.rate * 3600:.3f} | {c.wait_censored:.2f} | {c.little_censored:.6f} | "
        f"{abs(c.level - c.little_censored):.1e} | {c.little_completed:.4f} |"
        for name, c in little
    )
    ren = (
        _header(
            "desired",
            "MTBF (s)",
            "measured up (s)",
            "measured D (s)",
            "crashes",
            "MTBF/(MTBF+D)",
            "simulated",
            "95 % CI",
            "agrees",
        )
        + ren
    )
    lit = (
        _header(
            "scenario",
            "cluster",
            "state",
            "entries",
            "open at T",
            "L (series)",
            "λ (per h)",
            "W censored (s)",
            "λ·W",
            "abs. diff",
            "λ·W completed only",
        )
        + lit
    )
    con = "\n".join(f"| {n} | {t:,} | {ch:,} | {bad} |" for n, t, ch, bad in conservation)
    return TEMPLATE.format(
        reps=reps, calls=calls, wall=wall, erlang=erl, renewal=ren, little=lit, conservation=con
    )


TEMPLATE = """\
# Validation against theory

ecssim's numbers feed capacity decisions, so we check them against results that do not come
from ecssim: queueing theory (Erlang-B, renewal theory, Little's law) and bookkeeping identities
(conservation of reserved resources). The fast versions run in `make test`
(`tests/validation/`, about 25 s); this page comes from the larger runs of
`tools/validation_report.py` ({reps} replications per point, about {calls:,} RunTask calls per
replication for Erlang-B; generated in {wall:.0f} s). Regenerate it with

```
.venv/bin/python tools/validation_report.py
```

Every confidence interval is the mean of independent replications (different root seeds) ±
t(0.975, R-1) × s / √R. A point "agrees" when the theoretical value lies inside the interval;
with 95 % intervals about one point in twenty may miss by chance.

## 1. Erlang-B: RunTask as a loss system

**Theory.** Calls arrive as a Poisson process of rate λ at N servers; a call that finds all N
busy is lost; a call that gets a server holds it for a time of mean h. The offered load is
A = λh erlangs, and the fraction of calls lost is Erlang's B formula

    B(N, A) = (A^N / N!) / Σ_{{k=0..N}} A^k / k!

whatever the distribution of the holding time (insensitivity; M/G/N/N). We compute it with the
stable recursion B(0, A) = 1, B(n, A) = A·B(n−1, A) / (n + A·B(n−1, A)), which neither
overflows nor cancels for large N.

**Setting in ecssim.** N container instances register 1024 CPU units each; the task
definition asks for 1024 units, so exactly one task fits per instance (memory never binds). A
workload makes Poisson RunTask calls (`arrivals: poisson`). A call that finds every instance
busy gets a `RESOURCE:CPU` failure (the `failures` frame) and, as in ECS, no task is created:
the call is lost.

**Holding time.** What matters is how long the *control plane* holds the reservation, because
that is what placement sees. `ControlPlane._assign` reserves when the task is placed
(`created_at`); `ControlPlane._release` runs when the task's desired status becomes STOPPED,
which for an essential-container exit is the instant the run ends (`stopping_at`). In between
the task pulls its image and starts its container, so the holding time is pull + start + run
time. We fix the pull at 2 s (cached or not) and the start at 1 s and set `container_stop: 0`
(a one-container task stops at once, so the agent's own ledger frees the host at the same
instant and no later task waits in PENDING). The run time has mean 600 − 3 = 597 s, so
h = 600 s and λ = A / 600 s. The table also shows the mean holding time measured from the
frames (`created_at` to `stopping_at`).

**Method.** Each replication runs 5 h (five mean holding times) of warm-up from an empty
cluster, then counts the calls made and the `RESOURCE:CPU` failures among them. Each point has
its own seeds, so the points' errors are independent. Two comparisons per point: the simulated
blocking against B(N, A) at the nominal load, and, per replication, against B(N, Â) at the load
Â = (calls / window) × (mean measured holding time) that replication actually offered; the
second removes the sampling error of the arrival count (about 1/√calls), which otherwise
dominates the interval.

![Erlang-B](img/validation-erlang-b.png)

{erlang}

The lower rows (N = 5, A = 3) vary the run-time distribution at the same mean: fixed,
uniform on [0, 2·597 s] and log-normal with σ = 1 block the same fraction as the exponential,
as insensitivity says they must. In `make test` the check also verifies that the interval is
narrow enough to tell N servers from N − 1 and N + 1.

## 2. Renewal theory: crash and replace

**Theory.** A slot alternates between up periods (mean MTBF) and down periods (mean D). By the
renewal-reward theorem the long-run fraction of time up is MTBF / (MTBF + D), for any
distributions of the two.

**Setting.** A REPLICA service of desired count d runs on instances with room to spare; each
task crashes (essential container exits with code 1) after an exponential time of mean MTBF
from when it starts RUNNING. The scheduler replaces it at once; the replacement pulls its image
(exponential, mean 60 s) and starts its container (uniform 10-50 s), so D is random, mean about
90 s. Each of the d slots is an alternating renewal process.

**Method.** D is measured from the events, not assumed: each crashed task is paired with the
task the scheduler created at its `stopping_at` instant, and D = replacement `started_at` −
crashed `stopping_at`. Availability is the time average of the service's `running_count`
series divided by d, integrated exactly over [MTBF, end]. The table also gives the measured
mean up time (should be MTBF; slightly below it for long MTBFs, because only up periods that
ended before the end of the run are averaged).

![Renewal](img/validation-renewal.png)

{renewal}

## 3. Little's law over the bundled scenarios

**Theory.** For any system, over an interval [0, T] that starts empty, the time-average number
in the system L(T), the entry rate λ(T) = (entries in [0, T)) / T and the mean time in the
system per entry W(T), with each stay counted only up to T, satisfy L(T) = λ(T) × W(T) exactly
(the finite-horizon form of Little's law; both sides are the area under the number-in-system
curve divided by T). We check it for two "systems": the **pending** tasks (placed, not yet
RUNNING: PROVISIONING, PENDING, ACTIVATING) and the **running** tasks, per cluster, in every
scenario under `scenarios/`.

**Why this is a real check.** The two sides come from different records: L is integrated from
the `tasks_pending` / `tasks_running` levels the control plane writes to the `series` frame as
statuses change; λ and W come from the timestamps in the `tasks` frame (a task is pending from
`created_at` to the first of `started_at`, `stopping_at`, `stopped_at`, and running from
`started_at` to the first of `stopping_at`, `stopped_at`). Any status change the series misses,
any timestamp written at the wrong time, or any task missing from the frame breaks the equality.

**Edge effects.** Stays still open at T are censored at T (column "open"). The textbook
estimator that averages only completed stays (last column) is biased when many stays are open
at T, as for the never-ending web tasks of `quickstart`; it agrees exactly when none are.

![Little's law](img/validation-littles-law.png)

{little}

## 4. Conservation of reserved resources

At every instant an instance's `cpu_reserved` (and `memory_reserved`) series changes, its value
must equal the sum of the requirements of the tasks holding a reservation on it then. The
reservation is reconstructed from the `tasks` frame following the code: reserved from
`created_at` (placement) until the task is set to desiredStatus STOPPED, which is its
`stopping_at` when it was activating or running (StopTask and an essential exit stop it at
once), or its `stopped_at` when it was stopped while pending or lost with its instance. Every
reservation and release must also have written a series row at its instant. The tests check in
addition that the cluster-level series equal the sum over instances and that no instance is
ever reserved beyond its registered resources. The "churn" scenario adds crashes, instance
failures with replacement, scale-out and scale-in (`tests/validation/test_conservation.py`).

One case the frames cannot reconstruct: a task stopped with StopTask while its instance is
dead but not yet declared lost is released at the StopTask call, which no column records
(`stopping_at` stays empty until the instance is declared lost). No scenario here does that.

| run | tasks | per-instance reservation changes | mismatches (cpu + memory) |
|---|---|---|---|
{conservation}
"""


if __name__ == "__main__":
    main()
