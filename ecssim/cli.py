"""The ``ecssim`` command line (SPEC section 7; reference in ``docs/cli-reference.md``).

Exit codes: 0 success, 1 a run that failed inside the simulation (what was recorded is still
saved), 2 bad input or usage. Bad input is reported as one line per problem on stderr, never a
traceback.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from ecssim.errors import EcssimError, InputError, Problem

if TYPE_CHECKING:
    from ecssim.experiment import Sweep

EXIT_OK = 0
EXIT_RUN_ERROR = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report it


def _ensure_backend() -> None:
    """Use Agg for the CLI's plots unless the user chose a backend."""
    if not os.environ.get("MPLBACKEND"):
        import matplotlib

        matplotlib.use("Agg")


# -- formatting -------------------------------------------------------------------------------


def _format_value(figure: str, value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    v = float(value)
    if "availability" in figure or "reservation" in figure or "utilization" in figure:
        return f"{100 * v:.2f} %"
    if figure.endswith("_s"):
        if v >= 3600:
            return f"{v / 3600:.2f} h"
        if v >= 120:
            return f"{v / 60:.1f} min"
        return f"{v:.1f} s"
    if figure.endswith("_usd"):
        return f"${v:,.2f}"
    if figure.endswith("_hours"):
        return f"{v:,.2f}"
    if v.is_integer():
        return f"{int(v):,}"
    return f"{v:.4g}"


def format_summary(summary: pd.DataFrame) -> str:
    """Render the long summary as one block per service and one per cluster.

    Args:
        summary: The frame returned by :meth:`ecssim.Result.summary`.

    Returns:
        The text to print (no trailing newline).
    """
    if summary.empty:
        return "(no figures)"
    lines: list[str] = []
    frame = summary.astype({"scope": "object", "cluster": "object", "service": "object"})
    width = max(len(str(f)) for f in frame["figure"]) + 2
    order = {"service": 0, "cluster": 1}
    keys = frame[["scope", "cluster", "service"]].drop_duplicates()
    keys = keys.assign(_o=keys["scope"].map(order).fillna(2)).sort_values(
        ["_o", "cluster", "service"], na_position="first"
    )
    for scope, cluster, service, _ in keys.itertuples(index=False):
        mask = (frame["scope"] == scope) & (frame["cluster"].fillna("") == (cluster or ""))
        if scope == "service":
            mask &= frame["service"].fillna("") == (service or "")
            title = f"service {cluster}/{service}"
        else:
            title = f"{scope} {cluster}" if isinstance(cluster, str) else str(scope)
        if lines:
            lines.append("")
        lines.append(title)
        lines.append("-" * len(title))
        for row in frame[mask].itertuples(index=False):
            figure = str(row.figure)
            lines.append(f"  {figure:<{width}}{_format_value(figure, row.value)}")
    return "\n".join(lines)


def _table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    cells = [[str(h) for h in header], *[[str(c) for c in r] for r in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    out = []
    for n, row in enumerate(cells):
        out.append(
            "  ".join(
                c.ljust(w) if i == 0 else c.rjust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            ).rstrip()
        )
        if n == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


# -- commands ---------------------------------------------------------------------------------


def _check_until_and_sets(
    until: str | None, sets: list[str] | None, problems: list[Problem]
) -> float | None:
    """Check ``--until`` and ``--set``, adding a problem per mistake; return --until in seconds."""
    from ecssim.units import parse_duration

    seconds = None
    if until is not None:
        try:
            seconds = parse_duration(until)
        except ValueError as err:
            problems.append(Problem("--until", str(err)))
    for item in sets or ():
        if "=" not in item:
            problems.append(Problem("--set", f"expected PATH=VALUE, got {item!r}"))
    return seconds


def _cmd_run(args: argparse.Namespace) -> int:
    import ecssim
    from ecssim.scenario.loader import load_scenario

    problems: list[Problem] = []
    until = _check_until_and_sets(args.until, args.set, problems)
    if problems:
        raise InputError(problems)
    scenario = load_scenario(args.scenario, overrides=list(args.set or ()))
    duration = scenario.duration_s if until is None else until

    progress: Callable[[float], None] | None = None
    bar = None
    if not args.quiet:
        from tqdm import tqdm

        bar = tqdm(
            total=round(duration),
            unit="sim-s",
            desc=scenario.name,
            file=sys.stderr,
            disable=None,
            delay=1.0,
            dynamic_ncols=True,
        )

        def progress(t: float) -> None:
            bar.update(max(0, round(min(t, duration)) - bar.n))

    # Built here rather than through ecssim.run so that Ctrl-C keeps what was recorded: the
    # partial result is printed and saved, then the command exits 130.
    sim = ecssim.Simulation.from_scenario(scenario, seed=args.seed)
    interrupted = False
    try:
        sim.run(until=duration, progress=progress)
    except KeyboardInterrupt:
        interrupted = True
        sim.error = KeyboardInterrupt(f"interrupted (SIGINT) at t={sim.now:g} s")
    except Exception:  # kept in sim.error; reported below with what was recorded
        pass
    finally:
        if bar is not None:
            bar.close()
    result = sim.result()

    meta = result.meta
    print(
        f"{meta.get('name', scenario.name)}: seed {meta.get('seed')}, simulated "
        f"{result.end / 3600:.3g} h in {float(meta.get('wall_s', 0.0)):.2f} s wall, "
        f"{meta.get('events', 0):,} events"
    )
    print()
    print(format_summary(result.summary()))
    if args.out:
        from ecssim.plots import save_standard_plots

        _ensure_backend()
        out = result.save(args.out)
        save_standard_plots(result, out)
        print()
        print(f"saved to {out}")
    error = meta.get("error")
    if error:
        print(f"error: the run stopped at t={result.end:g} s: {error}", file=sys.stderr)
        return EXIT_INTERRUPTED if interrupted else EXIT_RUN_ERROR
    return EXIT_OK


def _cmd_validate(args: argparse.Namespace) -> int:
    from ecssim.scenario.loader import load_scenario

    scenario = load_scenario(args.scenario)
    description = f" — {scenario.description}" if scenario.description else ""
    print(f"ok: {scenario.name}{description}")
    return EXIT_OK


def _split_values(text: str) -> list[str]:
    """Split ``a,b,c`` at commas outside brackets, braces and quotes (YAML flow values)."""
    parts: list[str] = []
    depth, quote, start = 0, "", 0
    for i, char in enumerate(text):
        if quote:
            quote = "" if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return parts


def parse_vary(items: Sequence[str]) -> dict[str, list[Any]]:
    """Parse ``--vary PATH=a,b,c`` options into ``{path: [values]}`` (values as YAML scalars).

    Raises:
        InputError: One problem per malformed option, repeated path or unparsable value.
    """
    import yaml

    problems: list[Problem] = []
    vary: dict[str, list[Any]] = {}
    for item in items:
        path, equals, raw = item.partition("=")
        path = path.strip()
        if not equals or not path:
            problems.append(Problem("--vary", f"expected PATH=VALUE,VALUE,..., got {item!r}"))
            continue
        if path in vary:
            problems.append(Problem(f"--vary {path}", "given twice; list every value in one"))
            continue
        values: list[Any] = []
        for text in _split_values(raw):
            if not text.strip():
                problems.append(Problem(f"--vary {path}", f"empty value in {raw!r}"))
                break
            try:
                values.append(yaml.safe_load(text))
            except yaml.YAMLError as err:
                reason = " ".join(str(getattr(err, "problem", None) or err).split())
                problems.append(Problem(f"--vary {path}", f"invalid value {text!r}: {reason}"))
                break
        else:
            vary[path] = values
    if problems:
        raise InputError(problems)
    return vary


#: Figures ``ecssim sweep`` prints, by scope, with their column titles.
_SWEEP_HEADLINES = {
    "service": (
        ("availability", "availability"),
        ("recovery_time_p95_s", "recovery p95"),
        ("placement_failures", "placement failures"),
    ),
    "cluster": (("cost_usd", "cost"), ("runtask_placement_failures", "RunTask failures")),
}


def _headline_columns(sweep: Sweep) -> list[tuple[str, str]]:
    """``(column, title)`` of the headline figures: per service, then per cluster."""
    from ecssim.experiment import split_figure_column

    rank = {(s, n): i for s in _SWEEP_HEADLINES for i, (n, _) in enumerate(_SWEEP_HEADLINES[s])}
    found: list[tuple[tuple[bool, str, str, int], str, str]] = []
    for column in sweep.figures:
        scope, cluster, service, figure = split_figure_column(column)
        titles = dict(_SWEEP_HEADLINES.get(scope, ()))
        if figure not in titles:
            continue
        if figure == "runtask_placement_failures" and not (
            sweep.table[column].fillna(0).any()
            or f"cluster/{cluster}/standalone_tasks_started" in sweep.figures
        ):
            continue  # no standalone tasks: a column of zeros says nothing
        label = cluster if service is None else f"{cluster}/{service}"
        key = (scope == "cluster", cluster, service or "", rank[(scope, figure)])
        found.append((key, column, f"{label} {titles[figure]}"))
    return [(column, title) for _, column, title in sorted(found)]


def _format_interval(figure: str, mean: float, half: float, n: int, runs: int) -> str:
    """``mean ± half-width`` in the unit :func:`_format_value` picks for the mean."""
    if math.isnan(mean):
        return "—"
    plain = not (
        "availability" in figure
        or "reservation" in figure
        or "utilization" in figure
        or figure.endswith(("_s", "_usd", "_hours"))
    )
    text = f"{mean:,.1f}" if plain and not math.isnan(half) else _format_value(figure, mean)
    if not math.isnan(half):
        scale, unit = 1.0, ""
        if "availability" in figure or "reservation" in figure or "utilization" in figure:
            scale, unit = 100.0, " %"
        elif figure.endswith("_s"):
            scale, unit = (
                (1 / 3600, " h") if mean >= 3600 else (1 / 60, " min") if mean >= 120 else (1, " s")
            )
        decimals = 2 if unit in (" %", " h") or figure.endswith("_usd") else 1
        if not unit and not figure.endswith("_usd"):
            decimals = 1 if half < 100 else 0
        prefix = "$" if figure.endswith("_usd") else ""
        text += f" ± {prefix}{half * scale:,.{decimals}f}{unit}"
    if n != runs:
        text += f" (n={n})"
    return text


def format_sweep(sweep: Sweep, level: float = 0.95) -> str:
    """Render the headline figures of a sweep: one row per variant, mean ± CI half-width.

    Args:
        sweep: An :class:`ecssim.Sweep`.
        level: Confidence level of the intervals.

    Returns:
        The text to print (no trailing newline).
    """
    columns = _headline_columns(sweep)
    ci = sweep.ci(level, figures=[c for c, _ in columns])
    header = [*(list(sweep.factors) or ["variant"]), "runs", *(title for _, title in columns)]
    rows = []
    for v, variant in enumerate(sweep.variants):
        mine = sweep.table[sweep.table["variant"] == v]
        runs = int(mine["error"].isna().sum())
        cells: list[object] = [str(value) for value in variant.values()] or ["(base)"]
        cells.append(runs)
        for column, _ in columns:
            row = ci[(ci["variant"] == v) & (ci["figure"] == column)].iloc[0]
            figure = column.rsplit("/", 1)[-1]
            cells.append(
                _format_interval(
                    figure, float(row["mean"]), float(row["half_width"]), int(row["n"]), runs
                )
            )
        rows.append(cells)
    text = f"mean ± half-width of the {100 * level:g} % confidence interval (Student t)"
    text += "\n\n" + _table(header, rows)
    if any("(n=" in str(cell) for row in rows for cell in row):
        text += "\n\n(n=k): the figure is defined in k runs only (e.g. no disruption, no recovery)"
    return text


def _cmd_sweep(args: argparse.Namespace) -> int:
    import ecssim
    from ecssim.experiment import parse_seeds

    problems: list[Problem] = []
    try:
        seeds = parse_seeds(args.seeds)
    except ValueError as err:
        problems.append(Problem("--seeds", str(err)))
    try:
        vary = parse_vary(args.vary or ())
    except InputError as err:
        problems.extend(err.problems)
    if args.workers is not None and args.workers < 1:
        problems.append(Problem("--workers", f"expected an integer >= 1, got {args.workers}"))
    if args.dask:
        import importlib.util

        if importlib.util.find_spec("distributed") is None:
            problems.append(Problem("--dask", "needs dask.distributed: pip install 'ecssim[dask]'"))
    _check_until_and_sets(args.until, None, problems)
    if problems:
        raise InputError(problems)
    sweep = ecssim.run_many(
        args.scenario,
        seeds=seeds,
        vary=vary,
        until=args.until,
        workers=args.workers or 1,
        engine="dask" if args.dask else "processes",
        client=args.dask,
        progress=None if not args.quiet else False,
    )
    meta = sweep.meta
    failed = sweep.errors
    engine = (
        f"dask at {args.dask}"
        if args.dask
        else f"{meta['workers']} worker{'s' if meta['workers'] != 1 else ''}"
    )
    print(
        f"{meta['name']}: {len(sweep.variants)} variant{'s' if len(sweep.variants) != 1 else ''}"
        f" x {len(sweep.seeds)} seed{'s' if len(sweep.seeds) != 1 else ''} = "
        f"{len(sweep.table)} runs in {meta['wall_s']:.2f} s wall ({engine}), {len(failed)} failed"
    )
    print()
    print(format_sweep(sweep, args.level))
    if args.out:
        out = sweep.save(args.out)
        print()
        print(f"saved to {out}")
    for row in failed.itertuples(index=False):
        print(f"error: variant {row.variant}, seed {row.seed}: {row.error}", file=sys.stderr)
    return EXIT_RUN_ERROR if len(failed) else EXIT_OK


def _fits(requirement: Any, instance: Any) -> dict[str, float]:
    inf = math.inf
    by_cpu = instance.registered_cpu // requirement.cpu if requirement.cpu > 0 else inf
    by_mem = (
        instance.registered_memory_mib // requirement.memory_mib
        if requirement.memory_mib > 0
        else inf
    )
    by_eni = instance.awsvpc_slots if requirement.eni else inf
    by_ports = 1 if (requirement.ports_tcp or requirement.ports_udp) else inf
    by_gpu = instance.gpus // requirement.gpu if requirement.gpu else inf
    return {"cpu": by_cpu, "memory": by_mem, "eni": by_eni, "ports": by_ports, "gpu": by_gpu}


def _cmd_inspect(args: argparse.Namespace) -> int:
    from ecssim.model.catalogue import CATALOGUE
    from ecssim.model.taskdef import fargate_valid, load_task_definition_file

    td = load_task_definition_file(args.taskdef)
    req = td.requirement
    mode = getattr(td.network_mode, "value", td.network_mode)
    revision = f":{td.revision}" if td.revision is not None else ""
    ports = ", ".join([f"{p}/tcp" for p in req.ports_tcp] + [f"{p}/udp" for p in req.ports_udp])
    print(f"task definition  {td.family}{revision}")
    print(f"network mode     {mode}")
    print(f"compatibilities  {', '.join(td.compatibilities) or '—'}")
    print(f"cpu              {req.cpu} units ({req.cpu / 1024:g} vCPU)")
    print(f"memory           {req.memory_mib} MiB")
    print(f"static ports     {ports or 'none'}")
    if req.dynamic_ports:
        print(f"dynamic ports    {req.dynamic_ports}")
    print(f"ENI              {req.eni}")
    print(f"GPU              {req.gpu}")
    reason = fargate_valid(td.cpu, td.memory_mib)
    print(f"Fargate size     {'valid' if reason is None else 'invalid: ' + reason}")
    print()

    def show(n: float) -> str:
        return "∞" if n == math.inf else str(int(n))

    rows = []
    for name in sorted(CATALOGUE, key=lambda n: (CATALOGUE[n].hourly_price, n)):
        it = CATALOGUE[name]
        fit = _fits(req, it)
        copies = min(fit.values())
        if copies >= 1:
            limit = min(fit, key=lambda k: fit[k])
            rows.append(
                [
                    name,
                    it.vcpu,
                    it.registered_memory_mib,
                    *(show(fit[k]) for k in fit),
                    show(copies),
                    limit,
                    f"{it.hourly_price:.4f}",
                ]
            )
    if rows:
        print(f"fits on {len(rows)} of {len(CATALOGUE)} instance types (copies per instance):")
        header = [
            "instance type",
            "vCPU",
            "reg. MiB",
            "by cpu",
            "by memory",
            "by ENI",
            "by ports",
            "by GPU",
            "copies",
            "limited by",
            "$/h",
        ]
        print(_table(header, rows))
    else:
        print(f"fits on none of the {len(CATALOGUE)} catalogue instance types")
    return EXIT_OK


def scenario_dirs() -> list[Path]:
    """Folders searched for bundled scenarios: ``./scenarios`` and the repository's."""
    import ecssim

    dirs = [Path.cwd() / "scenarios", Path(ecssim.__file__).resolve().parents[1] / "scenarios"]
    out: list[Path] = []
    for d in dirs:
        if d.is_dir() and d.resolve() not in [o.resolve() for o in out]:
            out.append(d)
    return out


def _cmd_scenarios(args: argparse.Namespace) -> int:
    import yaml

    found = 0
    for folder in scenario_dirs():
        files = sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")])
        if not files:
            continue
        print(f"{_display(folder)}:")
        width = max(len(f.name) for f in files)
        for file in files:
            try:
                doc = yaml.safe_load(file.read_text(encoding="utf-8"))
                text = str(doc.get("description", "")) if isinstance(doc, dict) else ""
            except (OSError, yaml.YAMLError) as err:
                text = f"(unreadable: {str(err).splitlines()[0]})"
            print(f"  {file.name:<{width}}  {' '.join(text.split()) or '(no description)'}")
            found += 1
    if not found:
        print("no scenarios found (looked in ./scenarios and the ecssim repository)")
    return EXIT_OK


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve())) or "."
    except ValueError:
        return str(path)


def _cmd_plot(args: argparse.Namespace) -> int:
    from ecssim.plots import save_standard_plots
    from ecssim.result import Result

    _ensure_backend()
    result = Result.load(args.run_dir)
    for path in save_standard_plots(result, args.out or args.run_dir):
        print(path)
    return EXIT_OK


def _cmd_explain(args: argparse.Namespace) -> int:
    import json

    import ecssim
    from ecssim.explain import HOW_TO_RECORD, explain_decision, format_explanation, select_decision
    from ecssim.result import Result

    source = Path(args.source)
    saved = source.is_dir()
    problems: list[Problem] = []
    if saved:
        for flag, value in (("--seed", args.seed), ("--until", args.until), ("--set", args.set)):
            if value is not None:
                problems.append(Problem(flag, "applies to a scenario file, not a saved run"))
        if problems:
            raise InputError(problems)
        result = Result.load(source)
        if result.placements is None:
            raise InputError(f"the saved run has no placements frame; {HOW_TO_RECORD}", str(source))
    else:
        _check_until_and_sets(args.until, args.set, problems)
        if problems:
            raise InputError(problems)
        # explain=true last, so it wins over any --set: the run records the placements frame.
        overrides = [*(args.set or ()), "explain=true"]
        result = ecssim.run(args.source, seed=args.seed, until=args.until, overrides=overrides)
    # A run that stopped early is explained from what it recorded, then exits 1 as `run` does.
    error = None if saved else result.meta.get("error")
    if error:
        print(f"error: the run stopped at t={result.end:g} s: {error}", file=sys.stderr)
    assert result.placements is not None  # checked for a saved run; recorded for a scenario
    index = select_decision(result.placements, task=args.task, index=args.index, failed=args.failed)
    info = explain_decision(result, index)
    print(json.dumps(info, indent=2) if args.json else format_explanation(info))
    return EXIT_RUN_ERROR if error else EXIT_OK


# -- parser -----------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    """Return the ``ecssim`` argument parser."""
    parser = argparse.ArgumentParser(
        prog="ecssim", description="Discrete-event simulator of Amazon ECS scheduling."
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    run = sub.add_parser("run", help="run a scenario and print its summary")
    run.add_argument("scenario", metavar="SCENARIO", help="scenario YAML file")
    run.add_argument("--seed", type=int, metavar="N", help="root seed (default: the scenario's)")
    run.add_argument("--until", metavar="D", help="simulated end time, e.g. 90m, 6h, 2d")
    run.add_argument(
        "--set",
        action="append",
        metavar="PATH=VALUE",
        help="override a scenario value (YAML), e.g. services[web].desiredCount=9; repeatable",
    )
    run.add_argument("--out", metavar="DIR", help="save frames, meta.json, summary.csv, plots")
    run.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    run.set_defaults(func=_cmd_run)

    swp = sub.add_parser(
        "sweep", help="run variants x seeds; print means with confidence intervals"
    )
    swp.add_argument("scenario", metavar="SCENARIO", help="scenario YAML file")
    swp.add_argument(
        "--seeds", required=True, metavar="SEEDS", help="root seeds: 1-20, 1,2,5 or 1-5,9"
    )
    swp.add_argument(
        "--vary",
        action="append",
        metavar="PATH=A,B,...",
        help="a factor: values (YAML) of one scenario path; repeatable, full factorial",
    )
    where = swp.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int, metavar="N", help="local processes (default 1)")
    where.add_argument("--dask", metavar="ADDRESS", help="Dask scheduler, e.g. tcp://host:8786")
    swp.add_argument("--until", metavar="D", help="simulated end time of every run")
    swp.add_argument(
        "--level", type=float, default=0.95, metavar="L", help="confidence level (default 0.95)"
    )
    swp.add_argument("--out", metavar="DIR", help="save table.parquet, sweep.json, ci.csv")
    swp.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    swp.set_defaults(func=_cmd_sweep)

    val = sub.add_parser("validate", help="check a scenario file; list every problem")
    val.add_argument("scenario", metavar="SCENARIO")
    val.set_defaults(func=_cmd_validate)

    ins = sub.add_parser("inspect", help="resolved requirement of a task definition JSON")
    ins.add_argument("taskdef", metavar="TASKDEF.json")
    ins.set_defaults(func=_cmd_inspect)

    scn = sub.add_parser("scenarios", help="list bundled scenarios")
    scn.set_defaults(func=_cmd_scenarios)

    exp = sub.add_parser("explain", help="explain one placement decision of a run")
    exp.add_argument(
        "source",
        metavar="SCENARIO_OR_RUN_DIR",
        help="scenario YAML (run with explain on) or a run saved with explain on",
    )
    pick = exp.add_mutually_exclusive_group()
    pick.add_argument("--task", metavar="ARN_OR_ID", help="the placement of this task (id suffix)")
    pick.add_argument(
        "--index", type=int, metavar="N", help="row N of the placements frame (negative: from end)"
    )
    pick.add_argument("--failed", action="store_true", help="the first failed placement")
    exp.add_argument("--seed", type=int, metavar="N", help="root seed (scenario only)")
    exp.add_argument("--until", metavar="D", help="simulated end time (scenario only)")
    exp.add_argument(
        "--set", action="append", metavar="PATH=VALUE", help="override (scenario only); repeatable"
    )
    exp.add_argument("--json", action="store_true", help="print a JSON object instead of text")
    exp.set_defaults(func=_cmd_explain)

    plot = sub.add_parser("plot", help="write the standard plots of a saved run")
    plot.add_argument("run_dir", metavar="RUN_DIR")
    plot.add_argument("--out", metavar="DIR", help="where to write PNGs (default: RUN_DIR)")
    plot.set_defaults(func=_cmd_plot)
    return parser


def _report(lines: str) -> None:
    for line in lines.splitlines() or [""]:
        print(f"error: {line}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``ecssim`` command line.

    Args:
        argv: Arguments without the program name (default: ``sys.argv[1:]``).

    Returns:
        The exit code: 0 ok, 1 the run failed inside the simulation, 2 bad input or usage.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0) if not isinstance(exit_.code, str) else EXIT_BAD_INPUT
    try:
        code: int = args.func(args)
    except InputError as err:
        problems = err.problems or (Problem("", str(err)),)
        if args.command == "validate":
            for problem in problems:
                print(str(problem), file=sys.stderr)
        else:
            _report("\n".join(str(p) for p in problems))
        return EXIT_BAD_INPUT
    except (EcssimError, FileNotFoundError, IsADirectoryError, NotADirectoryError) as err:
        _report(
            str(err)
            if not isinstance(err, OSError) or not err.filename
            else f"{err.filename}: {err.strerror}"
        )
        return EXIT_BAD_INPUT
    except OSError as err:
        _report(f"{err.filename or ''}: {err.strerror or err}".lstrip(": "))
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
