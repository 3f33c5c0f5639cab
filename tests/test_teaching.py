"""The step-by-step teaching helpers drive RunTask and draw a map after each call."""

from __future__ import annotations

import doctest
import re
from pathlib import Path

import numpy as np
import pytest
from matplotlib.figure import Figure

import ecssim
from ecssim import teaching

SMALL = {"name": "w", "image": "busybox", "cpu": 256, "memory": 1024}


def _lab(seed: int = 3) -> ecssim.Simulation:
    sim = ecssim.Simulation(seed=seed)
    sim.ecs.create_cluster(clusterName="lab")
    sim.launch_instances("lab", "m5.large", count=3, zones=["us-east-1a", "us-east-1b"])
    sim.ecs.register_task_definition(family="w", containerDefinitions=[SMALL])
    sim.set_behavior("w", runtime="forever")
    return sim


def _places(strategy: list[dict[str, str]], n: int = 4) -> list[teaching.RunTaskStep]:
    sim = _lab()
    axes = Figure().subplots(1, n)
    times = [300.0 + 30 * i for i in range(n)]
    return teaching.watch_run_tasks(sim, "lab", "w", times, strategy, axes=axes)


def test_binpack_fills_one_instance_and_spread_uses_all():
    binpack = _places([{"type": "binpack", "field": "memory"}])
    spread = _places([{"type": "spread", "field": "instanceId"}])
    assert len({s.container_instance for s in binpack}) == 1
    assert len({s.container_instance for s in spread}) == 3
    assert all(s.reason is None and len(s.task_arns) == 1 for s in binpack)


def test_each_map_shows_the_tasks_so_far():
    steps = _places([{"type": "binpack", "field": "memory"}], n=3)
    for i, step in enumerate(steps):
        filled = [p for p in step.ax.patches if p.get_zorder() == 2]  # task bars
        assert len(filled) == i + 1  # one stacked task rectangle per call so far
        assert step.ax.get_title().startswith(f"call {i + 1}")
    assert [s.t for s in steps] == [300.0, 330.0, 360.0]


def test_failure_is_reported_and_bad_arguments():
    sim = _lab()
    big = {"name": "b", "image": "busybox", "cpu": 4096, "memory": 512}
    sim.ecs.register_task_definition(family="big", containerDefinitions=[big])
    (step,) = teaching.watch_run_tasks(
        sim, "lab", "big", [300.0], [], axes=[Figure().add_subplot()]
    )
    assert step.container_instance is None and step.reason == "RESOURCE:CPU"
    assert "failed" in step.ax.get_title()
    with pytest.raises(ValueError, match="before the current time"):
        teaching.watch_run_tasks(sim, "lab", "w", [10.0], [], axes=[Figure().add_subplot()])
    with pytest.raises(ValueError, match="ascending"):
        teaching.watch_run_tasks(sim, "lab", "w", [900.0, 800.0], [])
    with pytest.raises(ValueError, match="axes"):
        teaching.watch_run_tasks(sim, "lab", "w", [900.0, 960.0], [], axes=[Figure().add_subplot()])


def test_default_axes_grid_uses_pyplot():
    import matplotlib.pyplot as plt

    steps = teaching.watch_run_tasks(_lab(), "lab", "w", [300.0, 330.0], [], ncols=1)
    assert steps[0].ax.figure is steps[1].ax.figure
    plt.close(steps[0].ax.figure)


def test_instances_at_matches_the_tasks():
    sim = _lab()
    teaching.watch_run_tasks(
        sim,
        "lab",
        "w",
        [300.0, 310.0, 320.0],
        [{"type": "binpack", "field": "memory"}],
        axes=Figure().subplots(1, 3),
    )
    table = teaching.instances_at(sim.result(), sim.now)
    assert len(table) == 3
    assert table["tasks"].sum() == 3 and table["in_use"].sum() == 1
    busy = table[table["in_use"]].iloc[0]
    assert busy["reserved_memory"] == 3 * 1024
    assert busy["free_memory"] == busy["registered_memory"] - 3 * 1024
    assert np.all(table["free_cpu"] <= table["registered_cpu"])
    assert teaching.instances_at(sim.result(), 0.0).empty  # nothing registered at t = 0


def test_doctests():
    assert doctest.testmod(teaching).failed == 0


# -- the docs that use these helpers run as written ------------------------------------------

DOCS = Path(__file__).resolve().parent.parent / "docs"


def _python_blocks(name: str) -> str:
    text = (DOCS / name).read_text()
    return "\n".join(re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL))


@pytest.mark.parametrize("name", ["howto-compare-strategies.md", "howto-plan-capacity.md"])
def test_howto_runs(name, tmp_path, monkeypatch):
    code = _python_blocks(name)
    assert "ecssim" in code
    root = DOCS.parent
    monkeypatch.chdir(tmp_path)
    (tmp_path / "scenarios").symlink_to(root / "scenarios")
    exec(compile(code, name, "exec"), {"__name__": "howto"})
    assert list(tmp_path.glob("*.png"))  # the how-to's figure was written


def test_doc_map_links_exist():
    for name in (
        "index.md",
        "tutorial.md",
        "howto-compare-strategies.md",
        "howto-plan-capacity.md",
    ):
        text = (DOCS / name).read_text()
        targets = re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", text)
        missing = [t for t in targets if "://" not in t and not (DOCS / t).exists()]
        assert not missing, f"{name}: {missing}"
    index = (DOCS / "index.md").read_text()
    for page in (
        "tutorial.md",
        "howto-custom-strategy.md",
        "howto-sweeps.md",
        "design.md",
        "validation.md",
        "scenario-reference.md",
        "results-reference.md",
    ):
        assert f"({page})" in index
