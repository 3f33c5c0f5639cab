"""Replications and sweeps: many runs of one scenario, fanned out, gathered into one table.

:func:`run_many` expands a full factorial over ``vary`` (scenario paths such as
``services[web].desiredCount``) and runs every variant with every seed. Variants share seeds
(common random numbers, SPEC section 8): seed ``s`` of every variant is the same root seed
``s``, so a difference between two variants is the effect of the factor, not of the draws.

One run is one task ``(variant, seed)`` handled by the module-level :func:`_run_task`, whose
argument holds only picklable plain data (the raw scenario document, the base folder for its
file references, the variant's overrides, the seed), so it runs the same in this process, in a
``forkserver``/``spawn`` process pool or on a Dask cluster. Results never depend on the engine
or the number of workers: rows are ordered by variant, then seed, once everything is back.

The gathered :class:`Sweep` has one row per run and one column per summary figure, named
``service/<cluster>/<service>/<figure>`` or ``cluster/<cluster>/<figure>``
(:func:`figure_column`). ``docs/howto-sweeps.md`` shows it in use.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import itertools
import json
import logging
import math
import multiprocessing
import os
import pickle
import re
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from ecssim.errors import Problem, ScenarioError
from ecssim.placement.strategies import BUILT_IN, get_strategy, known_strategies
from ecssim.placement.strategies import register_strategy as _register_strategy
from ecssim.result import atomic_directory
from ecssim.scenario.loader import load_scenario
from ecssim.scenario.paths import resolve_path
from ecssim.scenario.schema import Scenario
from ecssim.simulation import ecssim_version, run
from ecssim.units import parse_duration

__all__ = [
    "ENGINES",
    "Sweep",
    "figure_column",
    "parse_seeds",
    "run_many",
    "split_figure_column",
    "t_quantile",
]

ENGINES = ("processes", "dask")
"""The ways :func:`run_many` can fan runs out."""

#: Leading columns of :attr:`Sweep.table`, around the factor columns.
_KEY_COLUMNS = ("variant", "seed", "error")
#: Figures the summary only lists when they are non-zero: absent from a run that succeeded
#: means 0 (placement failures of a reason that did not occur, no standalone tasks).
_ZERO_WHEN_ABSENT = re.compile(
    r"^((runtask_)?placement_failures\[.*\]|standalone_tasks_started)$", re.DOTALL
)


# -- naming -----------------------------------------------------------------------------------


def figure_column(scope: str, cluster: str, service: str | None, figure: str) -> str:
    """Name the :attr:`Sweep.table` column of one summary figure.

    ECS cluster and service names cannot hold ``/``, so the name splits back unambiguously
    (:func:`split_figure_column`).

    Example:
        >>> figure_column("service", "prod", "web", "availability")
        'service/prod/web/availability'
        >>> figure_column("cluster", "prod", None, "cost_usd")
        'cluster/prod/cost_usd'
    """
    if scope == "service":
        return f"service/{cluster}/{service}/{figure}"
    return f"{scope}/{cluster}/{figure}"


def split_figure_column(column: str) -> tuple[str, str, str | None, str]:
    """Return ``(scope, cluster, service, figure)`` of a column named by :func:`figure_column`.

    Example:
        >>> split_figure_column("service/prod/web/placement_failures[RESOURCE:CPU]")
        ('service', 'prod', 'web', 'placement_failures[RESOURCE:CPU]')

    Raises:
        ValueError: ``column`` is not a figure column.
    """
    scope, _, rest = column.partition("/")
    if scope == "service":
        cluster, service, figure = [*rest.split("/", 2), "", ""][:3]
        if cluster and service and figure:
            return scope, cluster, service, figure
    elif scope and rest:
        cluster, _, figure = rest.partition("/")
        if cluster and figure:
            return scope, cluster, None, figure
    raise ValueError(f"not a figure column: {column!r}")


def parse_seeds(text: str) -> list[int]:
    """Parse a seed list: ``"1-20"``, ``"1,2,5"``, ``"1-5,9"`` (ranges include both ends).

    Example:
        >>> parse_seeds("1-3,7")
        [1, 2, 3, 7]

    Raises:
        ValueError: Malformed, reversed range, negative or repeated seed.
    """
    seeds: list[int] = []
    for part in str(text).split(","):
        item = part.strip()
        match = re.fullmatch(r"(\d+)(?:\s*-\s*(\d+))?", item)
        if not match:
            raise ValueError(
                f"expected seeds such as 1-20, 1,2,5 or 1-5,9 (non-negative integers), got {text!r}"
            )
        first = int(match.group(1))
        last = int(match.group(2)) if match.group(2) is not None else first
        if last < first:
            raise ValueError(f"range {item!r} runs backwards")
        seeds.extend(range(first, last + 1))
    return _unique_seeds(seeds)


def _unique_seeds(seeds: Iterable[Any]) -> list[int]:
    out: list[int] = []
    seen: set[int] = set()
    for seed in seeds:
        if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
            raise ValueError(f"a seed is a non-negative integer, got {seed!r}")
        value = int(seed)
        if value < 0:
            raise ValueError(f"a seed is a non-negative integer, got {value}")
        if value in seen:
            raise ValueError(f"seed {value} is listed twice")
        seen.add(value)
        out.append(value)
    if not out:
        raise ValueError("no seeds")
    return out


# -- Student t --------------------------------------------------------------------------------


def _t_central(t: float, df: int) -> float:
    """``P(|T| <= t)`` for Student's t with integer ``df`` (Abramowitz & Stegun 26.7.3-4)."""
    theta = math.atan(t / math.sqrt(df))
    sin, cos2 = math.sin(theta), math.cos(theta) ** 2
    if df % 2 == 1:
        series, term = 0.0, math.cos(theta)
        if df > 1:
            series = term
            for k in range(3, df - 1, 2):  # cos^3 .. cos^(df-2), ratio (k-1)/k
                term *= cos2 * (k - 1) / k
                series += term
        return 2.0 / math.pi * (theta + sin * series)
    series = term = 1.0
    for k in range(2, df - 1, 2):  # cos^2 .. cos^(df-2), ratio (k-1)/k
        term *= cos2 * (k - 1) / k
        series += term
    return sin * series


def t_quantile(level: float, df: int) -> float:
    """Two-sided Student-t critical value: ``t`` with ``P(|T| <= t) = level`` for ``df``.

    Exact closed-form CDF for integer ``df`` (Abramowitz & Stegun 26.7.3-4) inverted by
    bisection; above 1,000 degrees of freedom the Cornish-Fisher expansion around the normal
    quantile (error below 1e-10). No scipy needed.

    Example:
        >>> round(t_quantile(0.95, 9), 6)
        2.262157

    Raises:
        ValueError: ``level`` not in (0, 1) or ``df`` < 1.
    """
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be between 0 and 1, got {level!r}")
    if int(df) != df or df < 1:
        raise ValueError(f"degrees of freedom must be an integer >= 1, got {df!r}")
    df = int(df)
    if df > 1000:
        z = statistics.NormalDist().inv_cdf((1.0 + level) / 2.0)
        g1 = (z**3 + z) / 4
        g2 = (5 * z**5 + 16 * z**3 + 3 * z) / 96
        g3 = (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / 384
        return z + g1 / df + g2 / df**2 + g3 / df**3
    low, high = 0.0, 1.0
    while _t_central(high, df) < level:
        low, high = high, high * 2.0
    for _ in range(200):
        mid = (low + high) / 2.0
        if mid in (low, high):
            break
        if _t_central(mid, df) < level:
            low = mid
        else:
            high = mid
    return (low + high) / 2.0


def _interval(values: np.ndarray, level: float) -> dict[str, np.ndarray]:
    """Column-wise n, mean, std (ddof 1) and t half-width of a 2-D array, NaN ignored."""
    finite = ~np.isnan(values)
    n = finite.sum(axis=0)
    filled = np.where(finite, values, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(n > 0, filled.sum(axis=0) / n, np.nan)
        squares = np.where(finite, (values - mean) ** 2, 0.0).sum(axis=0)
        std = np.where(n > 1, np.sqrt(squares / (n - 1)), np.nan)
        quantile = np.array([t_quantile(level, int(k) - 1) if k > 1 else np.nan for k in n])
        half = quantile * std / np.sqrt(n)
    return {
        "n": n.astype(np.int64),
        "mean": mean,
        "std": std,
        "half_width": half,
        "low": mean - half,
        "high": mean + half,
    }


# -- one run ----------------------------------------------------------------------------------


class _Task(NamedTuple):
    """One run, as plain picklable data (no loaded objects cross a process boundary)."""

    variant: int
    seed: int
    document: dict[str, Any]
    base_dir: str
    overrides: dict[str, Any]
    until: float | None
    strategies: dict[str, bytes]  # pickled user placement strategies, by name


class _Outcome(NamedTuple):
    """What a worker sends back: figures by column name, or the error that stopped the run."""

    variant: int
    seed: int
    figures: tuple[tuple[str, float], ...]
    error: str | None
    wall_s: float
    events: int
    simulated_s: float


def _install_strategies(payload: Mapping[str, bytes]) -> None:
    """Register the parent's user strategies that this worker does not know yet.

    One that cannot be unpickled here is skipped: a scenario using it then fails to load with
    the loader's "unknown placement strategy" message, recorded as that run's error.
    """
    known = set(known_strategies())
    for name, data in payload.items():
        if name in known:
            continue
        with contextlib.suppress(Exception):
            _register_strategy(name)(pickle.loads(data))


def _pickled_strategies() -> dict[str, bytes]:
    """The user-registered strategies, pickled by value where cloudpickle is installed.

    By value, a strategy defined in a notebook or script reaches spawned and remote workers;
    plain pickle stores a reference, which works when the function's module is importable there.
    """
    try:
        import cloudpickle

        dumps: Callable[[Any], bytes] = cloudpickle.dumps
    except ImportError:  # pragma: no cover - cloudpickle comes with dask
        dumps = pickle.dumps
    out: dict[str, bytes] = {}
    for name in known_strategies():
        if name in BUILT_IN:
            continue
        with contextlib.suppress(Exception):  # unpicklable: workers must import it themselves
            out[name] = dumps(get_strategy(name))
    return out


def _run_task(task: _Task) -> _Outcome:
    """Run one ``(variant, seed)``; never raises: an error is returned in the outcome."""
    started = time.perf_counter()
    figures: tuple[tuple[str, float], ...] = ()
    events, simulated, error = 0, math.nan, None
    try:
        _install_strategies(task.strategies)
        scenario = load_scenario(task.document, base_dir=task.base_dir, overrides=task.overrides)
        result = run(scenario, seed=task.seed, until=task.until)
        events = int(result.meta.get("events", 0))
        simulated = float(result.meta.get("simulated_s", math.nan))
        error = result.meta.get("error")
        if not error:
            summary = result.summary()
            figures = tuple(
                (figure_column(str(scope), str(cluster), service, str(figure)), float(value))
                for scope, cluster, service, figure, value in summary.itertuples(index=False)
            )
    except Exception as err:
        error = f"{type(err).__name__}: {err}"
    return _Outcome(
        task.variant,
        task.seed,
        figures,
        str(error) if error else None,
        time.perf_counter() - started,
        events,
        simulated,
    )


# -- engines ----------------------------------------------------------------------------------


def _mp_context() -> multiprocessing.context.BaseContext:
    """A fork-free start method: forkserver (POSIX) with ecssim preloaded, else spawn.

    Forking a process that holds threads (progress bars, Jupyter) can deadlock; a forkserver
    starts once per session, imports ecssim once, and forks clean workers from that.
    """
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["ecssim.experiment"])
        return context
    return multiprocessing.get_context("spawn")


def _failed(task: _Task, err: BaseException) -> _Outcome:
    message = f"{type(err).__name__}: {err}"
    if isinstance(err, concurrent.futures.process.BrokenProcessPool):
        message += (
            " (if no worker could start: a script that calls run_many with workers > 1 must "
            "do so under `if __name__ == '__main__':`)"
        )
    return _Outcome(task.variant, task.seed, (), message, 0.0, 0, math.nan)


def _run_in_process(tasks: Sequence[_Task], done: Callable[[_Outcome], None]) -> None:
    for task in tasks:
        done(_run_task(task))


def _run_in_pool(tasks: Sequence[_Task], workers: int, done: Callable[[_Outcome], None]) -> None:
    with concurrent.futures.ProcessPoolExecutor(
        max_workers=min(workers, len(tasks)), mp_context=_mp_context()
    ) as pool:
        futures = {pool.submit(_run_task, task): task for task in tasks}
        for future in concurrent.futures.as_completed(futures):
            try:
                outcome = future.result()
            except Exception as err:  # a worker died (killed, out of memory): record, go on
                outcome = _failed(futures[future], err)
            done(outcome)


def _run_on_dask(
    tasks: Sequence[_Task], client: Any, workers: int, done: Callable[[_Outcome], None]
) -> None:
    try:
        from distributed import Client, LocalCluster, as_completed
    except ImportError:  # pragma: no cover - depends on the installation
        raise ImportError(
            "engine='dask' needs dask.distributed: pip install 'ecssim[dask]'"
        ) from None
    with contextlib.ExitStack() as stack:
        if client is None:
            cluster = stack.enter_context(
                LocalCluster(
                    n_workers=workers,
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=":0",
                    silence_logs=logging.ERROR,
                )
            )
            client = stack.enter_context(Client(cluster))
        elif isinstance(client, str):
            client = stack.enter_context(Client(client))
        batch = uuid.uuid4().hex[:12]
        futures = {
            client.submit(
                _run_task, task, key=f"ecssim-run-{batch}-{task.variant}-{task.seed}", pure=False
            ): task
            for task in tasks
        }
        for future in as_completed(list(futures)):
            try:
                outcome = future.result()
            except Exception as err:  # the worker was lost: record, go on
                outcome = _failed(futures[future], err)
            done(outcome)


# -- run_many ---------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """A numpy scalar as the Python value (so levels stay YAML- and JSON-able)."""
    return value.item() if isinstance(value, np.generic) else value


def _levels(values: Any) -> list[Any]:
    """The levels of one factor: a list, tuple, range or array; anything else is one level."""
    if isinstance(values, str | bytes | Mapping) or not isinstance(values, Iterable):
        return [_plain(values)]
    return [_plain(v) for v in values]


def _factors(
    vary: Mapping[str, Any], document: Mapping[str, Any], problems: list[Problem]
) -> dict[str, list[Any]]:
    """Check the factors' paths and levels against the base document; report every problem."""
    factors: dict[str, list[Any]] = {}
    fields: dict[str, str] = {}
    for raw_path, values in vary.items():
        path = str(raw_path)
        levels = _levels(values)
        if path.strip() == "seed":
            problems.append(Problem(path, "vary the seed with seeds=, not vary"))
            continue
        try:
            field = resolve_path(document, path)
        except ScenarioError as err:
            problems.extend(err.problems)
            continue
        if field in fields:
            problems.append(Problem(path, f"the same field as {fields[field]}"))
            continue
        fields[field] = path
        if not levels:
            problems.append(Problem(path, "no values to vary"))
            continue
        repeated = [v for i, v in enumerate(levels) if v in levels[:i]]
        if repeated:
            problems.append(Problem(path, f"value {repeated[0]!r} is listed twice"))
            continue
        factors[path] = levels
    return factors


def _source(
    scenario: Scenario | Mapping[str, Any] | str | os.PathLike[str],
    base_dir: str | os.PathLike[str] | None,
) -> tuple[Scenario, Path]:
    """The loaded base scenario and the absolute folder its file references are relative to."""
    if isinstance(scenario, Scenario):
        loaded = scenario
        folder = Path(scenario.source).parent if scenario.source else Path.cwd()
    elif isinstance(scenario, Mapping):
        loaded = load_scenario(scenario, base_dir=base_dir)
        folder = Path.cwd()
    else:
        loaded = load_scenario(scenario, base_dir=base_dir)
        folder = Path(scenario).parent
    if base_dir is not None:
        folder = Path(base_dir)
    return loaded, folder.resolve()


def _check(
    document: Mapping[str, Any], folder: Path, overrides: Mapping[str, Any], problems: list[Problem]
) -> None:
    """Load the document with ``overrides``; add its problems not reported yet."""
    try:
        load_scenario(document, base_dir=folder, overrides=overrides)
    except ScenarioError as err:
        problems.extend(p for p in err.problems if p not in problems)


def run_many(
    scenario: Scenario | Mapping[str, Any] | str | os.PathLike[str],
    *,
    seeds: Iterable[int] | str | None = None,
    vary: Mapping[str, Any] | None = None,
    until: object = None,
    workers: int = 1,
    engine: str = "processes",
    client: Any = None,
    progress: bool | None = True,
    base_dir: str | os.PathLike[str] | None = None,
) -> Sweep:
    """Run every variant of a full factorial over ``vary`` with every seed.

    Every variant is loaded and validated before anything runs. Variants share seeds (common
    random numbers). A run that fails is recorded with its error (its figures NaN) and the
    sweep goes on. The table is the same whatever the engine and the number of workers.

    Args:
        scenario: A path, a dict of the same shape, or a loaded :class:`Scenario` (its
            ``document``, after any overrides, is what the variants start from).
        seeds: Root seeds: an iterable of non-negative integers (``range(20)``) or a string
            such as ``"1-20"``, ``"1-5,9"``. Default: the scenario's ``seed``.
        vary: ``{path: [values]}`` with paths as in overrides (``services[web].desiredCount``,
            ``instances[0].count``, ``faults[0].instance_failure.mtbf``); the variants are
            every combination, the last path varying fastest. A single value is one level.
        until: Simulated end time of every run (default: the scenario's ``duration``).
        workers: Processes to run in (``engine="processes"``; 1 runs here, in-process) or
            workers of the ``LocalCluster`` started for ``engine="dask"`` without ``client``.
        engine: ``"processes"`` (a local process pool) or ``"dask"`` (``dask.distributed``).
        client: With ``engine="dask"``: a ``distributed.Client``, or a scheduler address
            (``"tcp://host:8786"``). ``None`` starts a ``LocalCluster`` and closes it after.
        progress: Show a bar counting finished runs on stderr (``None``: only on a terminal).
        base_dir: Folder that relative file references resolve against (default: the
            scenario file's folder; the working directory for a dict).

    Returns:
        The :class:`Sweep`, rows ordered by variant then seed (in the order given).

    Raises:
        ScenarioError: A wrong path or value in ``vary``, bad seeds or ``until``, or a variant
            that does not validate; every problem, each with its path. Nothing has run.
        ValueError: Unknown ``engine``, ``workers`` < 1, or ``client`` without dask.

    Example:
        >>> sweep = run_many(
        ...     {"version": 1, "duration": "10m", "clusters": [{"clusterName": "c"}]},
        ...     seeds=range(3), vary={"duration": ["5m", "10m"]}, progress=False)
        >>> sweep.table[["variant", "duration", "seed"]].values.tolist()[:4]
        [[0, '5m', 0], [0, '5m', 1], [0, '5m', 2], [1, '10m', 0]]
    """
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be an integer >= 1, got {workers!r}")
    if client is not None and engine != "dask":
        raise ValueError("client= is a Dask client or address; pass engine='dask' with it")

    loaded, folder = _source(scenario, base_dir)
    document = dict(loaded.document)
    document.setdefault("name", loaded.name)  # a file's stem names it; keep it for the variants

    problems: list[Problem] = []
    factors = _factors(vary or {}, document, problems)
    try:
        seed_list = (
            [loaded.seed]
            if seeds is None
            else parse_seeds(seeds)
            if isinstance(seeds, str)
            else _unique_seeds(seeds)
        )
    except (TypeError, ValueError) as err:
        seed_list = []
        problems.append(Problem("seeds", str(err)))
    until_s: float | None = None
    if until is not None:
        try:
            until_s = parse_duration(until)
        except ValueError as err:
            problems.append(Problem("until", str(err)))
    # Each level alone first, so that every wrong value is reported, then every combination.
    for path, levels in factors.items():
        for level in levels:
            _check(document, folder, {path: level}, problems)
    if problems:
        raise ScenarioError(problems)

    variants = [
        dict(zip(factors, combo, strict=True)) for combo in itertools.product(*factors.values())
    ]
    for variant in variants if len(factors) > 1 else ():
        _check(document, folder, variant, problems)
    if problems:
        raise ScenarioError(problems)

    in_process = engine == "processes" and workers == 1
    strategies = {} if in_process else _pickled_strategies()
    tasks = [
        _Task(v, seed, document, str(folder), variant, until_s, strategies)
        for v, variant in enumerate(variants)
        for seed in seed_list
    ]
    outcomes: list[_Outcome] = []
    started = time.perf_counter()
    from tqdm import tqdm

    with tqdm(
        total=len(tasks),
        unit="run",
        desc=str(document["name"]),
        file=sys.stderr,
        disable=None if progress is None else not progress,
        dynamic_ncols=True,
    ) as bar:

        def done(outcome: _Outcome) -> None:
            outcomes.append(outcome)
            bar.update(1)

        if in_process:
            _run_in_process(tasks, done)
        elif engine == "processes":
            _run_in_pool(tasks, workers, done)
        else:
            _run_on_dask(tasks, client, workers, done)
    wall = time.perf_counter() - started

    position = {seed: i for i, seed in enumerate(seed_list)}
    outcomes.sort(key=lambda o: (o.variant, position[o.seed]))
    meta = {
        "name": str(document["name"]),
        "source": loaded.source,
        "base_dir": str(folder),
        "engine": engine,
        "workers": workers if client is None else None,
        "until_s": until_s,
        "wall_s": round(wall, 6),
        "ecssim_version": ecssim_version(),
    }
    return Sweep(
        _table(outcomes, factors, variants),
        factors=factors,
        seeds=seed_list,
        document=document,
        runs=pd.DataFrame(
            {
                "variant": pd.Series([o.variant for o in outcomes], dtype=np.int64),
                "seed": pd.Series([o.seed for o in outcomes], dtype=np.int64),
                "wall_s": pd.Series([o.wall_s for o in outcomes], dtype=np.float64),
                "events": pd.Series([o.events for o in outcomes], dtype=np.int64),
                "simulated_s": pd.Series([o.simulated_s for o in outcomes], dtype=np.float64),
            }
        ),
        meta=meta,
    )


def _merge_order(order: list[str], index: dict[str, int], columns: Iterable[str]) -> None:
    """Add unseen ``columns`` to ``order``, each right after its predecessor in ``columns``."""
    at = 0
    for column in columns:
        if column in index:
            at = order.index(column) + 1
            continue
        order.insert(at, column)
        index[column] = at
        at += 1


def _table(
    outcomes: Sequence[_Outcome], factors: Mapping[str, list[Any]], variants: list[dict[str, Any]]
) -> pd.DataFrame:
    """One row per outcome (already ordered): variant, factors, seed, error, figures."""
    order: list[str] = []
    index: dict[str, int] = {}
    for outcome in outcomes:
        _merge_order(order, index, (name for name, _ in outcome.figures))
    column = {name: i for i, name in enumerate(order)}
    zero = [i for i, name in enumerate(order) if _ZERO_WHEN_ABSENT.match(name.rsplit("/", 1)[-1])]
    values = np.full((len(outcomes), len(order)), np.nan)
    for row, outcome in enumerate(outcomes):
        if outcome.error is None:
            values[row, zero] = 0.0
            for name, value in outcome.figures:
                values[row, column[name]] = value
    variant_ids = [o.variant for o in outcomes]
    table = pd.DataFrame({"variant": pd.Series(variant_ids, dtype=np.int64)})
    for path in factors:
        table[path] = _factor_column([variants[v][path] for v in variant_ids])
    table["seed"] = pd.Series([o.seed for o in outcomes], dtype=np.int64)
    table["error"] = pd.Series([o.error for o in outcomes], dtype=object)
    figures = pd.DataFrame(values, columns=pd.Index(order, dtype=object))
    return pd.concat([table, figures], axis=1)


def _factor_column(values: list[Any]) -> pd.Series:
    """A factor's column: pandas' own dtype for plain scalars, objects otherwise."""
    plain = all(isinstance(v, str | int | float | bool) for v in values)
    return pd.Series(values, dtype=None if plain and values else object)


# -- Sweep ------------------------------------------------------------------------------------


class Sweep:
    """The runs of :func:`run_many`: one row per variant and seed, and their statistics.

    Attributes:
        table: One row per run, ordered by variant then seed. Columns: ``variant`` (index into
            :attr:`variants`), one column per factor named by its path, ``seed``, ``error``
            (``None``, or the error that stopped the run; its figures are then NaN), then one
            float column per summary figure, ``service/<cluster>/<service>/<figure>`` or
            ``cluster/<cluster>/<figure>`` (``docs/results-reference.md`` defines the
            figures). A figure a run does not define (a recovery time without disruptions) is
            NaN; a placement-failure count by reason a run did not see is 0.
        factors: ``{path: levels}`` in the order given.
        variants: ``{path: value}`` per variant: the full factorial, last path fastest.
        seeds: The root seeds every variant ran with.
        document: The base scenario document (before the factors are applied).
        runs: Per run: ``variant``, ``seed``, ``wall_s``, ``events``, ``simulated_s``
            (machine-dependent, so kept out of :attr:`table`).
        meta: Name, source, engine, workers, total wall time, ecssim version.
    """

    def __init__(
        self,
        table: pd.DataFrame,
        *,
        factors: Mapping[str, Sequence[Any]],
        seeds: Sequence[int],
        document: Mapping[str, Any],
        runs: pd.DataFrame | None = None,
        meta: Mapping[str, Any] | None = None,
    ) -> None:
        self.table = table
        self.factors: dict[str, list[Any]] = {p: list(v) for p, v in factors.items()}
        self.variants: list[dict[str, Any]] = [
            dict(zip(self.factors, combo, strict=True))
            for combo in itertools.product(*self.factors.values())
        ]
        self.seeds = [int(s) for s in seeds]
        self.document = dict(document)
        self.runs = runs if runs is not None else pd.DataFrame()
        self.meta: dict[str, Any] = dict(meta or {})

    @property
    def figures(self) -> list[str]:
        """The figure columns of :attr:`table`, in order."""
        skip = {*_KEY_COLUMNS, *self.factors}
        return [str(c) for c in self.table.columns if c not in skip]

    @property
    def errors(self) -> pd.DataFrame:
        """The runs that failed: ``variant``, factors, ``seed``, ``error``."""
        failed = self.table[self.table["error"].notna()]
        return failed[["variant", *self.factors, "seed", "error"]].reset_index(drop=True)

    def _select(self, figures: Iterable[str] | None) -> list[str]:
        known = self.figures
        if figures is None:
            return known
        chosen = [str(f) for f in figures]
        unknown = [f for f in chosen if f not in known]
        if unknown:
            raise KeyError(f"no figure column {unknown[0]!r} in this sweep")
        return chosen

    def _keys(self, variant: int, size: int) -> dict[str, Any]:
        keys: dict[str, Any] = {"variant": pd.Series([variant] * size, dtype=np.int64)}
        for path in self.factors:
            keys[path] = _factor_column([self.variants[variant][path]] * size)
        return keys

    def ci(self, level: float = 0.95, *, figures: Iterable[str] | None = None) -> pd.DataFrame:
        """Mean and Student-t confidence interval per variant and figure.

        Args:
            level: Confidence level, e.g. 0.95.
            figures: Figure columns to include (default: all).

        Returns:
            A long frame: ``variant``, the factors, ``figure``, ``n`` (runs where the figure is
            defined), ``mean``, ``std`` (sample, ddof 1), ``half_width`` (``t * std / sqrt(n)``
            with ``t`` the two-sided ``level`` quantile for ``n - 1`` degrees of freedom),
            ``low`` and ``high``. NaN where ``n`` < 2.
        """
        chosen = self._select(figures)
        parts = []
        for v in range(len(self.variants)):
            rows = self.table[self.table["variant"] == v]
            stats = _interval(rows[chosen].to_numpy(dtype=float).reshape(len(rows), -1), level)
            parts.append(
                pd.DataFrame(
                    {
                        **self._keys(v, len(chosen)),
                        "figure": pd.Series(chosen, dtype=object),
                        **stats,
                    }
                )
            )
        return pd.concat(parts, ignore_index=True)

    def variant_index(self, variant: int | Mapping[str, Any]) -> int:
        """Return the index of a variant given by index or by ``{path: value}``.

        The mapping may leave out factors that have a single level.

        Raises:
            KeyError: No variant, or more than one, matches.
        """
        if isinstance(variant, int) and not isinstance(variant, bool):
            if not 0 <= variant < len(self.variants):
                raise KeyError(f"no variant {variant} (this sweep has {len(self.variants)})")
            return variant
        if not isinstance(variant, Mapping):
            raise KeyError(f"a variant is an index or a {{path: value}} mapping, got {variant!r}")
        unknown = [p for p in variant if p not in self.factors]
        if unknown:
            raise KeyError(
                f"{unknown[0]!r} is not a factor of this sweep "
                f"(factors: {', '.join(self.factors) or 'none'})"
            )
        hits = [
            i
            for i, candidate in enumerate(self.variants)
            if all(candidate[p] == _plain(value) for p, value in variant.items())
        ]
        if len(hits) != 1:
            which = "no variant" if not hits else f"{len(hits)} variants"
            raise KeyError(f"{which} match {dict(variant)!r}")
        return hits[0]

    def compare(
        self,
        baseline: int | Mapping[str, Any] = 0,
        level: float = 0.95,
        *,
        figures: Iterable[str] | None = None,
    ) -> pd.DataFrame:
        """Paired differences of every other variant against ``baseline``, seed by seed.

        Under common random numbers the runs with the same seed share their draws, so the
        difference per seed removes most of the noise the variants have in common.

        Args:
            baseline: A variant index or ``{path: value}``.
            level: Confidence level of the interval of the mean difference.
            figures: Figure columns to include (default: all).

        Returns:
            A long frame: ``variant``, the factors, ``figure``, ``n`` (seeds where both runs
            define the figure), ``baseline_mean`` and ``mean`` over those seeds,
            ``difference`` (mean of ``variant - baseline``), ``std`` of the differences,
            ``half_width``, ``low``, ``high`` (Student t, ``n - 1`` degrees of freedom).
        """
        chosen = self._select(figures)
        b = self.variant_index(baseline)
        base = self.table[self.table["variant"] == b].set_index("seed")[chosen]
        a = base.to_numpy(dtype=float).reshape(len(base), -1)
        parts = []
        for v in range(len(self.variants)):
            if v == b:
                continue
            rows = self.table[self.table["variant"] == v].set_index("seed")[chosen]
            o = rows.reindex(base.index).to_numpy(dtype=float).reshape(len(base), -1)
            paired = ~np.isnan(a) & ~np.isnan(o)
            stats = _interval(np.where(paired, o - a, np.nan), level)
            n = np.maximum(stats["n"], 1)
            parts.append(
                pd.DataFrame(
                    {
                        **self._keys(v, len(chosen)),
                        "figure": pd.Series(chosen, dtype=object),
                        "n": stats["n"],
                        "baseline_mean": np.where(
                            stats["n"] > 0, np.where(paired, a, 0.0).sum(axis=0) / n, np.nan
                        ),
                        "mean": np.where(
                            stats["n"] > 0, np.where(paired, o, 0.0).sum(axis=0) / n, np.nan
                        ),
                        "difference": stats["mean"],
                        "std": stats["std"],
                        "half_width": stats["half_width"],
                        "low": stats["low"],
                        "high": stats["high"],
                    }
                )
            )
        if not parts:
            raise KeyError("compare needs at least two variants")
        return pd.concat(parts, ignore_index=True)

    def save(self, directory: str | os.PathLike[str]) -> Path:
        """Write ``table.parquet``, ``runs.parquet``, ``ci.csv`` and ``sweep.json``.

        ``sweep.json`` holds the factors, variants, seeds, the scenario document and
        :attr:`meta`. The sweep is written to a temporary folder beside the target and renamed
        into place, so a crash never leaves a half-written sweep that loads.
        """
        with atomic_directory(directory) as tmp:
            table = self.table.copy()
            for path in self.factors:
                if table[path].dtype == object:  # mixed or structured levels: JSON text
                    table[path] = [json.dumps(v, default=str) for v in table[path]]
            table.to_parquet(tmp / "table.parquet", index=False)
            self.runs.to_parquet(tmp / "runs.parquet", index=False)
            self.ci().to_csv(tmp / "ci.csv", index=False)
            info = {
                "format": 1,
                "factors": self.factors,
                "variants": self.variants,
                "seeds": self.seeds,
                "meta": self.meta,
                "scenario": self.document,
            }
            (tmp / "sweep.json").write_text(json.dumps(info, indent=2, default=str) + "\n")
        return Path(directory)

    @classmethod
    def load(cls, directory: str | os.PathLike[str]) -> Sweep:
        """Load a sweep written by :meth:`save`.

        Raises:
            FileNotFoundError: ``directory`` holds no ``sweep.json``.
        """
        path = Path(directory)
        info_file = path / "sweep.json"
        if not info_file.exists():
            raise FileNotFoundError(f"{path}: not a saved ecssim sweep (no sweep.json)")
        info = json.loads(info_file.read_text())
        factors: dict[str, list[Any]] = info["factors"]
        table = pd.read_parquet(path / "table.parquet")
        variants = [
            dict(zip(factors, combo, strict=True)) for combo in itertools.product(*factors.values())
        ]
        ids = table["variant"].astype(np.int64).tolist()
        for name in factors:  # rebuilt from JSON: the exact levels, whatever parquet made of them
            table[name] = _factor_column([variants[v][name] for v in ids])
        table["error"] = pd.Series(
            [None if pd.isna(e) else str(e) for e in table["error"]], dtype=object
        )
        runs_file = path / "runs.parquet"
        return cls(
            table,
            factors=factors,
            seeds=info["seeds"],
            document=info["scenario"],
            runs=pd.read_parquet(runs_file) if runs_file.exists() else None,
            meta=info.get("meta"),
        )

    def __repr__(self) -> str:
        failed = int(self.table["error"].notna().sum()) if "error" in self.table else 0
        return (
            f"<Sweep {self.meta.get('name', 'sweep')!r} variants={len(self.variants)} "
            f"seeds={len(self.seeds)} runs={len(self.table)} failed={failed}>"
        )
