"""Every standard plot renders to PNG and draws the data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from matplotlib.figure import Figure

import ecssim
from ecssim import plots

TINY = {
    "version": 1,
    "name": "tiny",
    "description": "Tiny web tier",
    "duration": "30m",
    "clusters": [{"clusterName": "prod"}],
    "instances": [
        {
            "cluster": "prod",
            "instance_type": "m5.large",
            "count": 3,
            "zones": ["us-east-1a", "us-east-1b"],
        }
    ],
    "task_definitions": [
        {
            "family": "web",
            "containerDefinitions": [{"name": "web", "image": "nginx", "cpu": 256, "memory": 512}],
        }
    ],
    "services": [
        {"cluster": "prod", "serviceName": "web", "taskDefinition": "web", "desiredCount": 12}
    ],
    "faults": [{"instance_failure": {"cluster": "prod", "at": "15m"}}],
}


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory) -> ecssim.Result:
    path = tmp_path_factory.mktemp("sc") / "tiny.yaml"
    path.write_text(yaml.safe_dump(TINY))
    res = ecssim.run(path)
    assert len(res.tasks) and len(res.failures)
    return res


def _render(ax, tmp_path: Path) -> Path:
    out = tmp_path / "plot.png"
    ax.figure.savefig(out)
    assert out.stat().st_size > 1000
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    return out


def _axes():
    return Figure().add_subplot()


def test_running_vs_desired(result, tmp_path):
    ax = plots.running_vs_desired(result, ax=_axes())
    labels = [line.get_label() for line in ax.get_lines()]
    assert "web running" in labels and "web desired" in labels
    assert "instance failed" in labels  # the fault is marked
    assert ax.get_xlim()[1] == pytest.approx(result.end / 60)  # minutes for a 30 min run
    assert ax.get_ylim()[1] >= 12
    assert "min" in ax.get_xlabel()
    _render(ax, tmp_path)


def test_running_vs_desired_from_series_and_filter(result):
    ax = plots.running_vs_desired(result.series, service="web", cluster="prod", ax=_axes())
    assert len(ax.get_lines()) == 2


def test_cluster_reservation(result, tmp_path):
    ax = plots.cluster_reservation(result, ax=_axes())
    lines = ax.get_lines()
    assert len(lines) == 2
    ys = lines[0].get_ydata()
    assert max(ys) > 0 and max(ys) <= 100
    assert "%" in ax.get_ylabel()
    _render(ax, tmp_path)


@pytest.mark.parametrize("by", ["memory", "cpu"])
def test_cluster_map(result, tmp_path, by):
    ax = plots.cluster_map(result, by=by, ax=_axes())
    alive = result.tasks[result.tasks["stopped_at"].isna()]
    # one outline per live instance plus one rectangle per live task
    assert len(ax.patches) >= 2 + len(alive)
    top = max(p.get_y() + p.get_height() for p in ax.patches if p.get_fill())
    assert ax.get_ylim()[1] >= top
    _render(ax, tmp_path)


def test_cluster_map_at_time_and_bad_by(result):
    ax = plots.cluster_map(result, t=10 * 60, ax=_axes())
    assert len(ax.get_xticks()) == 3  # all three instances alive before the failure
    with pytest.raises(ValueError):
        plots.cluster_map(result, by="gpu", ax=_axes())


def test_placement_failures(result, tmp_path):
    ax = plots.placement_failures(result, ax=_axes())
    heights = sum(p.get_height() for p in ax.patches)
    assert heights == len(result.failures)
    _render(ax, tmp_path)


def test_task_timeline(result, tmp_path):
    ax = plots.task_timeline(result, ax=_axes())
    assert len(ax.collections) >= len(result.tasks)
    assert len(ax.get_yticks()) == 3
    _render(ax, tmp_path)
    ax = plots.task_timeline(result, ax=_axes(), max_instances=1)
    assert len(ax.get_yticks()) == 1


def test_save_standard_plots(result, tmp_path):
    paths = plots.save_standard_plots(result, tmp_path / "png")
    names = sorted(p.name for p in paths)
    assert names == sorted(
        [
            "running_vs_desired.png",
            "cluster_reservation.png",
            "cluster_map.png",
            "placement_failures.png",
            "task_timeline.png",
        ]
    )
    assert all(p.stat().st_size > 1000 for p in paths)


def test_save_standard_plots_adds_utilization_and_decision_when_recorded(tmp_path):
    import ecssim

    scenario = {
        "version": 1,
        "duration": "30m",
        "explain": True,
        "clusters": [{"clusterName": "prod"}],
        "instances": [{"cluster": "prod", "instance_type": "m5.large", "count": 2}],
        "task_definitions": [
            {"family": "web", "containerDefinitions": [{"name": "w", "image": "w", "memory": 512}]}
        ],
        "services": [
            {"cluster": "prod", "serviceName": "web", "taskDefinition": "web", "desiredCount": 3}
        ],
        "task_behavior": {"web": {"cpu_usage": 0.5}},
    }
    paths = plots.save_standard_plots(ecssim.run(scenario), tmp_path)
    names = {p.name for p in paths}
    assert {"cluster_utilization.png", "placement_decision.png"} <= names
    assert all(p.stat().st_size > 1000 for p in paths)


def test_pyplot_axes_when_none(result):
    import matplotlib.pyplot as plt

    ax = plots.cluster_reservation(result)
    assert ax.figure is not None
    plt.close(ax.figure)


# -- plots of many runs, decisions, utilization, recovery ------------------------------------

EXPLAINED = {
    **TINY,
    "explain": True,
    "task_behavior": {"web": {"runtime": "forever", "cpu_usage": 0.5}},
}


@pytest.fixture(scope="module")
def explained(tmp_path_factory: pytest.TempPathFactory) -> ecssim.Result:
    path = tmp_path_factory.mktemp("sc") / "explained.yaml"
    path.write_text(yaml.safe_dump(EXPLAINED))
    res = ecssim.run(path)
    assert res.placements is not None and len(res.placements)
    return res


def _ci_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "variant": [0, 1, 2, 0, 1, 2],
            "instances[0].count": [6, 7, 8, 6, 7, 8],
            "figure": ["service/prod/web/availability"] * 3 + ["cluster/prod/cost_usd"] * 3,
            "n": [5] * 6,
            "mean": [0.95, 0.985, 0.995, 10.0, 11.5, 13.0],
            "std": [0.01] * 6,
            "half_width": [0.01] * 6,
            "low": [0.94, 0.975, 0.985, 9.9, 11.4, 12.9],
            "high": [0.96, 0.995, 1.005, 10.1, 11.6, 13.1],
        }
    )


def test_strategy_comparison_from_ci(tmp_path):
    ax = plots.strategy_comparison(_ci_frame(), figure="service/prod/web/availability", ax=_axes())
    bars = [p for p in ax.patches if p.get_height() > 0]
    assert [round(p.get_height(), 6) for p in bars] == [95.0, 98.5, 99.5]  # in %
    assert ax.get_ylim()[1] >= 100.5  # the highest interval bound is inside the axes
    assert [t.get_text() for t in ax.get_xticklabels()] == ["6", "7", "8"]
    assert "%" in ax.get_ylabel()
    assert len(ax.collections) >= 1  # the error bars
    _render(ax, tmp_path)


def test_strategy_comparison_labels_table_and_errors(tmp_path):
    frame = pd.DataFrame(
        {
            "label": ["binpack", "spread"],
            "mean": [3.0, 5.0],
            "low": [2.0, np.nan],
            "high": [4.0, np.nan],
        }
    )
    ax = plots.strategy_comparison(frame, ax=_axes(), zoom=True)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["binpack", "spread"]
    assert ax.get_ylim()[0] < 2.0 < 5.0 < ax.get_ylim()[1]
    table = pd.DataFrame(
        {
            "variant": [0, 0, 1, 1],
            "seed": [1, 2, 1, 2],
            "error": [None] * 4,
            "services[web].desiredCount": [6, 6, 9, 9],
            "service/prod/web/availability": [0.9, 1.0, 0.8, 0.9],
        }
    )
    ax = plots.strategy_comparison(table, figure="service/prod/web/availability", ax=_axes())
    heights = sorted(p.get_height() for p in ax.patches)
    assert heights == pytest.approx([85.0, 95.0])
    with pytest.raises(ValueError, match="figure"):
        plots.strategy_comparison(_ci_frame(), ax=_axes())  # two figures: must choose


def test_sweep_curve(tmp_path):
    ax = plots.sweep_curve(
        _ci_frame(),
        x="instances[0].count",
        figure="service/prod/web/availability",
        threshold=0.99,
        ax=_axes(),
    )
    line = ax.get_lines()[0]
    assert list(line.get_xdata()) == [6, 7, 8]
    assert list(np.round(line.get_ydata(), 6)) == [95.0, 98.5, 99.5]
    assert len(ax.collections) == 1  # the CI band
    band = ax.collections[0].get_paths()[0].vertices
    assert band[:, 1].max() == pytest.approx(100.5)
    assert ax.get_ylim()[0] <= 94.0 and ax.get_ylim()[1] >= 100.5
    assert any("target" in line.get_label() for line in ax.get_lines())
    _render(ax, tmp_path)
    with pytest.raises(ValueError, match="no column"):
        plots.sweep_curve(_ci_frame(), x="nope", figure="cluster/prod/cost_usd", ax=_axes())


def test_placement_decision_placed_and_failed(explained, tmp_path):
    placements = explained.placements
    placed = int(np.flatnonzero(placements["container_instance"].notna().to_numpy())[-1])
    ax = plots.placement_decision(explained, index=placed, ax=_axes())
    row = placements.iloc[placed]
    widths = [p.get_width() for p in ax.patches]
    assert widths[1:4] == [row["candidates"], row["after_fit"], row["after_constraints"]]
    assert ax.get_xlim()[1] >= max(widths)
    text = "\n".join(t.get_text() for t in ax.texts)
    assert "chosen:" in text and "placed" in ax.get_title()
    _render(ax, tmp_path)
    failed = placements.index[
        placements["container_instance"].isna() & placements["closest_instance"].notna()
    ]
    assert len(failed)  # the tiny cluster runs out of room after the failure
    ax = plots.placement_decision(explained, index=int(failed[0]), ax=_axes())
    text = "\n".join(t.get_text() for t in ax.texts)
    assert str(placements.loc[failed[0], "reason"]) in text
    assert "failed" in ax.get_title()


def test_placement_decision_needs_explain(result):
    with pytest.raises(ValueError, match="explain"):
        plots.placement_decision(result, ax=_axes())


def test_cluster_utilization(explained, result, tmp_path):
    ax = plots.cluster_utilization(explained, ax=_axes())
    labels = [line.get_label() for line in ax.get_lines()]
    assert "CPU utilization" in labels and "CPU reservation" in labels
    used = ax.get_lines()[labels.index("CPU utilization")].get_ydata()
    reserved = ax.get_lines()[labels.index("CPU reservation")].get_ydata()
    assert 0 < max(used) <= max(reserved) <= 100  # usage is half of what is reserved
    assert "utilization" in ax.get_title() and "%" in ax.get_ylabel()
    _render(ax, tmp_path)
    ax = plots.cluster_utilization(result, ax=_axes())  # no usage model
    assert "not available" in ax.get_title()
    assert all("utilization" not in line.get_label() for line in ax.get_lines())


def test_recovery_times(result, explained, tmp_path):
    episodes = plots.recovery_episodes({"a": [result], "b": explained})
    assert set(episodes.columns) == {"label", "seed", "cluster", "service", "recovery_s"}
    summary = result.summary().set_index("figure")["value"]
    mine = episodes[episodes["label"] == "a"]["recovery_s"]
    assert len(mine) == summary["disruptions"]
    if len(mine):
        assert mine.max() == pytest.approx(summary["recovery_time_max_s"])
    ax = plots.recovery_times(episodes, ax=_axes())
    assert len(ax.get_lines()) >= 2
    assert ax.get_xlim()[1] >= episodes["recovery_s"].max() / 60  # minutes at most
    _render(ax, tmp_path)
    frame = pd.DataFrame({"recovery_s": [1.0, 2.0, 3.0]})
    ax = plots.recovery_times(frame, ax=_axes(), log=False)
    xs = ax.get_lines()[0].get_xdata()
    assert list(xs) == [0.0, 1.0, 2.0, 3.0] and ax.get_xlim()[1] >= 3.0
