"""Sweeps: factorial expansion, common seeds, engines agree, failures recorded, statistics."""

from __future__ import annotations

import doctest
import json
import math
import statistics
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from pandas.testing import assert_frame_equal

import ecssim
from ecssim import experiment
from ecssim.experiment import (
    Sweep,
    figure_column,
    parse_seeds,
    run_many,
    split_figure_column,
    t_quantile,
)
from ecssim.placement.strategies import unregister_strategy

TASKDEF = {
    "family": "web",
    "containerDefinitions": [{"name": "web", "image": "nginx", "cpu": 256, "memory": 512}],
}
TINY = {
    "version": 1,
    "name": "tiny",
    "duration": "30m",
    "clusters": [{"clusterName": "prod"}],
    "instances": [{"cluster": "prod", "instance_type": "m5.large", "count": 3}],
    "task_definitions": [{"file": "taskdefs/web.json"}],  # relative: resolved by base_dir
    "services": [
        {"cluster": "prod", "serviceName": "web", "taskDefinition": "web", "desiredCount": 4}
    ],
    "task_behavior": {"web": {"crash": {"mtbf": {"exponential": {"mean": "20m"}}}}},
    "faults": [{"instance_failure": {"cluster": "prod", "at": "10m", "replace_after": "2m"}}],
}
DESIRED = "services[web].desiredCount"
AVAILABILITY = "service/prod/web/availability"


@pytest.fixture
def tiny(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The tiny scenario in a folder of its own; the working directory is elsewhere."""
    folder = tmp_path / "scenario"
    (folder / "taskdefs").mkdir(parents=True)
    (folder / "taskdefs" / "web.json").write_text(json.dumps(TASKDEF))
    path = folder / "tiny.yaml"
    path.write_text(yaml.safe_dump(TINY, sort_keys=False))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    return path


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Sweep]:
    """One in-process sweep of the tiny scenario, shared by the engine tests."""
    folder = tmp_path_factory.mktemp("reference")
    (folder / "taskdefs").mkdir()
    (folder / "taskdefs" / "web.json").write_text(json.dumps(TASKDEF))
    path = folder / "tiny.yaml"
    path.write_text(yaml.safe_dump(TINY, sort_keys=False))
    sweep = run_many(path, seeds=[3, 1, 2], vary={DESIRED: [2, 5]}, progress=False)
    return path, sweep


# -- expansion and seeds ------------------------------------------------------------------------


def test_full_factorial_last_factor_fastest_rows_by_variant_then_seed(tiny: Path) -> None:
    sweep = run_many(
        tiny,
        seeds=[5, 1],
        vary={DESIRED: [2, 4], "instances[0].count": [3, 4, 5]},
        progress=False,
    )
    assert sweep.variants == [
        {DESIRED: d, "instances[0].count": c} for d in (2, 4) for c in (3, 4, 5)
    ]
    table = sweep.table
    assert len(table) == 12
    assert list(table.columns[:5]) == ["variant", DESIRED, "instances[0].count", "seed", "error"]
    assert table["variant"].tolist() == [v for v in range(6) for _ in (5, 1)]
    assert table["seed"].tolist() == [5, 1] * 6
    assert table[DESIRED].tolist() == [2] * 6 + [4] * 6
    assert table["instances[0].count"].tolist() == [3, 3, 4, 4, 5, 5] * 2
    assert table["error"].isna().all()
    assert table["cluster/prod/instances_launched"].tolist() == [
        c + 1
        for c in [3, 3, 4, 4, 5, 5] * 2  # one replacement after the fault
    ]


def test_each_row_is_the_run_of_its_variant_and_seed(tiny: Path) -> None:
    sweep = run_many(tiny, seeds=[7, 8], vary={DESIRED: [2, 5]}, progress=False)
    for row in sweep.table.itertuples(index=False):
        desired = sweep.variants[row.variant][DESIRED]
        result = ecssim.run(ecssim.load_scenario(tiny, overrides={DESIRED: desired}), seed=row.seed)
        for scope, cluster, service, figure, value in result.summary().itertuples(index=False):
            got = sweep.table.loc[
                (sweep.table["variant"] == row.variant) & (sweep.table["seed"] == row.seed),
                figure_column(scope, cluster, service, figure),
            ].item()
            assert got == value or (math.isnan(got) and math.isnan(value))


def test_variants_share_seeds(tiny: Path) -> None:
    # A factor that changes nothing simulated: under common random numbers every figure of
    # seed s is the same in both variants, while different seeds differ.
    sweep = run_many(tiny, seeds=[1, 2, 3], vary={"description": ["a", "b"]}, progress=False)
    figures = sweep.table[sweep.figures]
    first, second = figures.iloc[:3].reset_index(drop=True), figures.iloc[3:]
    assert_frame_equal(first, second.reset_index(drop=True))
    assert first[AVAILABILITY].nunique() > 1 or first["service/prod/web/tasks_failed"].nunique() > 1


def test_default_seed_is_the_scenario_seed_and_name_is_kept(tiny: Path) -> None:
    sweep = run_many(tiny, progress=False)
    assert sweep.seeds == [0] and sweep.variants == [{}]
    assert list(sweep.table.columns[:3]) == ["variant", "seed", "error"]
    assert sweep.meta["name"] == "tiny"


# -- validation before anything runs ------------------------------------------------------------


@pytest.fixture
def no_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(task: object) -> None:
        raise AssertionError("a run started before the sweep was validated")

    monkeypatch.setattr(experiment, "_run_task", refuse)


@pytest.mark.usefixtures("no_runs")
def test_wrong_path_is_a_scenario_error_naming_it(tiny: Path) -> None:
    with pytest.raises(ecssim.ScenarioError) as err:
        run_many(tiny, seeds=[1], vary={"services[api].desiredCount": [1, 2]}, progress=False)
    (problem,) = err.value.problems
    assert problem.path == "services[api].desiredCount"
    assert "no service named 'api'" in problem.message


@pytest.mark.usefixtures("no_runs")
def test_every_wrong_value_is_reported_with_its_path(tiny: Path) -> None:
    with pytest.raises(ecssim.ScenarioError) as err:
        run_many(
            tiny,
            seeds=[1],
            vary={DESIRED: [2, -1, "x"], "instances[0].count": [1], "seed": [1, 2]},
            progress=False,
        )
    text = str(err.value)
    assert "seed: vary the seed with seeds=" in text
    assert "got -1 (set by override services[web].desiredCount)" in text
    assert 'got "x" (set by override services[web].desiredCount)' in text


@pytest.mark.usefixtures("no_runs")
@pytest.mark.parametrize(
    ("kwargs", "where"),
    [
        ({"vary": {DESIRED: []}}, DESIRED),
        ({"vary": {DESIRED: [2, 2]}}, DESIRED),
        ({"vary": {DESIRED: [2], "services[0].desiredCount": [3]}}, "services[0].desiredCount"),
        ({"seeds": [1, 1]}, "seeds"),
        ({"seeds": [-1]}, "seeds"),
        ({"seeds": "3-1"}, "seeds"),
        ({"until": "soon"}, "until"),
    ],
)
def test_bad_sweep_input(tiny: Path, kwargs: dict, where: str) -> None:
    with pytest.raises(ecssim.ScenarioError) as err:
        run_many(tiny, **{"seeds": [1], **kwargs}, progress=False)
    assert [p.path for p in err.value.problems] == [where]


def test_bad_engine_settings(tiny: Path) -> None:
    with pytest.raises(ValueError, match="engine"):
        run_many(tiny, engine="threads", progress=False)
    with pytest.raises(ValueError, match="workers"):
        run_many(tiny, workers=0, progress=False)
    with pytest.raises(ValueError, match="engine='dask'"):
        run_many(tiny, client="tcp://localhost:8786", progress=False)


# -- engines ------------------------------------------------------------------------------------


def test_process_pool_gives_the_in_process_table(
    reference: tuple[Path, Sweep], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, expected = reference
    monkeypatch.chdir(tmp_path)  # workers resolve taskdefs/web.json through the base folder
    sweep = run_many(path, seeds=[3, 1, 2], vary={DESIRED: [2, 5]}, workers=2, progress=False)
    assert expected.table["error"].isna().all()
    assert_frame_equal(sweep.table, expected.table)
    assert sweep.runs[["variant", "seed"]].equals(expected.runs[["variant", "seed"]])
    assert sweep.meta["engine"] == "processes" and sweep.meta["workers"] == 2


def test_dask_local_cluster_gives_the_in_process_table(reference: tuple[Path, Sweep]) -> None:
    distributed = pytest.importorskip("distributed")
    path, expected = reference
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        by_client = run_many(
            path,
            seeds=[3, 1, 2],
            vary={DESIRED: [2, 5]},
            engine="dask",
            client=client,
            progress=False,
        )
        by_address = run_many(
            path,
            seeds=[3, 1, 2],
            vary={DESIRED: [2, 5]},
            engine="dask",
            client=cluster.scheduler_address,
            progress=False,
        )
        assert len(client.scheduler_info()["workers"]) == 2
    assert_frame_equal(by_client.table, expected.table)
    assert_frame_equal(by_address.table, expected.table)


def test_dask_starts_and_closes_its_own_local_cluster(reference: tuple[Path, Sweep]) -> None:
    pytest.importorskip("distributed")
    path, expected = reference
    sweep = run_many(
        path, seeds=[3, 1, 2], vary={DESIRED: [2, 5]}, engine="dask", workers=2, progress=False
    )
    assert_frame_equal(sweep.table, expected.table)


# -- failures -----------------------------------------------------------------------------------


@pytest.fixture
def exploding_strategy() -> object:
    @ecssim.register_strategy("explode")
    def explode(field: str | None, view: object) -> np.ndarray:
        raise RuntimeError("strategy exploded")

    yield explode
    unregister_strategy("explode")


RUNTASK = {
    "version": 1,
    "name": "runtask",
    "duration": "30m",
    "clusters": [{"clusterName": "prod"}],
    "instances": [{"cluster": "prod", "instance_type": "m5.large", "count": 3}],
    "task_definitions": [TASKDEF],
    "workloads": [
        {
            "cluster": "prod",
            "taskDefinition": "web",
            "arrivals": {"times": ["10m", "20m"]},
            "placementStrategy": [{"type": "binpack", "field": "memory"}],
        }
    ],
}


@pytest.mark.usefixtures("exploding_strategy")
def test_a_failing_run_is_recorded_and_the_sweep_goes_on() -> None:
    strategies = [[{"type": "binpack", "field": "memory"}], [{"type": "explode"}]]
    sweep = run_many(
        RUNTASK,
        seeds=[1, 2],
        vary={"workloads[0].placementStrategy": strategies, "description": ["x", "y"]},
        progress=False,
    )
    table = sweep.table
    failed = table["error"].notna()
    assert failed.tolist() == [False] * 4 + [True] * 4  # the explode variants, every seed
    assert (table.loc[failed, "error"] == "RuntimeError: strategy exploded").all()
    assert table.loc[failed, sweep.figures].isna().all().all()
    assert table.loc[~failed, "cluster/prod/standalone_tasks_started"].eq(2).all()
    assert len(sweep.errors) == 4 and list(sweep.errors.columns)[-1] == "error"
    ci = sweep.ci(figures=["cluster/prod/cost_usd"])
    assert ci["n"].tolist() == [2, 2, 0, 0]
    assert "failed=4" in repr(sweep)
    # The parent's registered strategy reaches the pool's workers: same table.
    pooled = run_many(
        RUNTASK,
        seeds=[1, 2],
        vary={"workloads[0].placementStrategy": strategies, "description": ["x", "y"]},
        workers=2,
        progress=False,
    )
    assert_frame_equal(pooled.table, table)


# -- statistics ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("level", "df", "expected"),
    [
        (0.95, 1, 12.7062047362),
        (0.95, 2, 4.30265272975),
        (0.95, 9, 2.26215716280),
        (0.95, 30, 2.04227245630),
        (0.99, 4, 4.60409487142),
        (0.90, 15, 1.75305035569),
        (0.95, 5000, 1.96043855),
    ],
)
def test_t_quantile_matches_tables(level: float, df: int, expected: float) -> None:
    assert t_quantile(level, df) == pytest.approx(expected, rel=1e-8)


def _hand_sweep() -> Sweep:
    seeds = [1, 2, 3, 4]
    table = pd.DataFrame(
        {
            "variant": np.repeat([0, 1], 4),
            "k": np.repeat([10, 20], 4),
            "seed": seeds * 2,
            "error": pd.Series([None] * 8, dtype=object),
            "cluster/c/x": [1.0, 2.0, 3.0, 4.0, 2.0, 2.5, 4.0, 6.0],
            "cluster/c/y": [5.0, np.nan, 7.0, 9.0, 1.0, 1.0, 1.0, 1.0],
        }
    )
    return Sweep(table, factors={"k": [10, 20]}, seeds=seeds, document={"version": 1})


def test_ci_against_a_hand_computation() -> None:
    ci = _hand_sweep().ci(0.95)
    assert list(ci.columns) == [
        "variant",
        "k",
        "figure",
        "n",
        "mean",
        "std",
        "half_width",
        "low",
        "high",
    ]
    x0 = ci[(ci["variant"] == 0) & (ci["figure"] == "cluster/c/x")].iloc[0]
    std = statistics.stdev([1, 2, 3, 4])
    half = 3.18244630528 * std / 2
    assert (x0["n"], x0["mean"], x0["k"]) == (4, 2.5, 10)
    assert x0["std"] == pytest.approx(std)
    assert x0["half_width"] == pytest.approx(half)
    assert (x0["low"], x0["high"]) == pytest.approx((2.5 - half, 2.5 + half))
    y0 = ci[(ci["variant"] == 0) & (ci["figure"] == "cluster/c/y")].iloc[0]  # NaN left out
    assert y0["n"] == 3 and y0["mean"] == 7.0
    assert y0["half_width"] == pytest.approx(4.30265272975 * 2.0 / math.sqrt(3))
    y1 = ci[(ci["variant"] == 1) & (ci["figure"] == "cluster/c/y")].iloc[0]
    assert (y1["std"], y1["half_width"]) == (0.0, 0.0)
    narrow = _hand_sweep().ci(0.90, figures=["cluster/c/x"])
    assert len(narrow) == 2 and (narrow["half_width"] < ci["half_width"][::2].to_numpy()).all()


def test_compare_paired_differences_against_a_hand_computation() -> None:
    sweep = _hand_sweep()
    by_index = sweep.compare(0)
    by_value = sweep.compare({"k": 10})
    assert_frame_equal(by_index, by_value)
    x = by_index[by_index["figure"] == "cluster/c/x"].iloc[0]
    diffs = [1.0, 0.5, 1.0, 2.0]
    assert (x["variant"], x["k"], x["n"]) == (1, 20, 4)
    assert (x["baseline_mean"], x["mean"]) == (2.5, 3.625)
    assert x["difference"] == pytest.approx(statistics.mean(diffs))
    assert x["std"] == pytest.approx(statistics.stdev(diffs))
    half = 3.18244630528 * statistics.stdev(diffs) / 2
    assert (x["low"], x["high"]) == pytest.approx((1.125 - half, 1.125 + half))
    y = by_index[by_index["figure"] == "cluster/c/y"].iloc[0]  # seed 2 has no baseline value
    assert y["n"] == 3 and y["baseline_mean"] == 7.0 and y["difference"] == pytest.approx(-6.0)
    reverse = sweep.compare({"k": 20}, figures=["cluster/c/x"])
    assert reverse["difference"].item() == pytest.approx(-1.125)
    with pytest.raises(KeyError, match="not a factor"):
        sweep.compare({"desiredCount": 10})
    with pytest.raises(KeyError, match="no variant match"):
        sweep.compare({"k": 30})
    with pytest.raises(KeyError, match="no figure column"):
        sweep.ci(figures=["cluster/c/z"])


# -- saving -------------------------------------------------------------------------------------


@pytest.mark.usefixtures("exploding_strategy")
def test_save_and_load_round_trip(tmp_path: Path) -> None:
    runtime = [
        "forever",
        {"exponential": {"mean": "5m"}},
    ]  # a structured factor: stored as JSON text in the parquet file
    sweep = run_many(
        RUNTASK,
        seeds=[4, 2],
        vary={
            "task_behavior.web.runtime": runtime,
            "workloads[0].placementStrategy": [
                [{"type": "binpack", "field": "memory"}],
                [{"type": "explode"}],
            ],
        },
        progress=False,
    )
    target = sweep.save(tmp_path / "sweeps" / "s1")
    assert sorted(p.name for p in target.iterdir()) == [
        "ci.csv",
        "runs.parquet",
        "sweep.json",
        "table.parquet",
    ]
    loaded = Sweep.load(target)
    assert_frame_equal(loaded.table, sweep.table)
    assert_frame_equal(loaded.runs, sweep.runs)
    assert loaded.factors == sweep.factors and loaded.variants == sweep.variants
    assert loaded.seeds == [4, 2] and loaded.document == sweep.document
    assert loaded.meta["name"] == "runtask"
    assert_frame_equal(loaded.ci(), sweep.ci())
    info = json.loads((target / "sweep.json").read_text())
    assert info["scenario"]["workloads"][0]["taskDefinition"] == "web"
    sweep.save(target)  # replaces atomically, leaves no temporary folders behind
    assert [p.name for p in target.parent.iterdir()] == ["s1"]
    with pytest.raises(FileNotFoundError, match="not a saved ecssim sweep"):
        Sweep.load(tmp_path)


# -- helpers ------------------------------------------------------------------------------------


def test_parse_seeds() -> None:
    assert parse_seeds("1-5,9") == [1, 2, 3, 4, 5, 9]
    assert parse_seeds(" 7 ") == [7]
    for bad in ("", "a", "1-", "5-1", "1,1", "-3", "1.5"):
        with pytest.raises(ValueError):
            parse_seeds(bad)


def test_figure_columns_split_back() -> None:
    for key in [
        ("service", "prod", "web", "placement_failures[MemberOf a/b]"),
        ("cluster", "prod", None, "cost_usd"),
    ]:
        assert split_figure_column(figure_column(*key)) == key
    for bad in ("seed", "service/prod/web", "cluster/prod"):
        with pytest.raises(ValueError):
            split_figure_column(bad)


def test_docstring_examples() -> None:
    result = doctest.testmod(experiment)
    assert result.failed == 0 and result.attempted > 0
