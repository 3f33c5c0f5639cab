"""Every standard plot renders to PNG and draws the data."""

from __future__ import annotations

from pathlib import Path

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


def test_pyplot_axes_when_none(result):
    import matplotlib.pyplot as plt

    ax = plots.cluster_reservation(result)
    assert ax.figure is not None
    plt.close(ax.figure)
