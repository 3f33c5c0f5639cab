"""The bundled scenarios, the README example and the how-to's code run and say what they claim.

Golden summaries: ``tests/golden/<name>-summary.csv`` hold each bundled scenario's summary. Run
with ``ECSSIM_REGEN_GOLDEN=1`` to rewrite them after an intended change of behaviour.
"""

from __future__ import annotations

import io
import os
import re
from pathlib import Path

import pandas as pd
import pytest

import ecssim
from ecssim.placement.strategies import known_strategies, unregister_strategy

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml"))
GOLDEN = Path(__file__).resolve().parent / "golden"
REGEN = os.environ.get("ECSSIM_REGEN_GOLDEN") == "1"

_cache: dict[str, ecssim.Result] = {}


def result_of(name: str) -> ecssim.Result:
    """Run a bundled scenario once per test session."""
    if name not in _cache:
        _cache[name] = ecssim.run(ROOT / "scenarios" / f"{name}.yaml")
    return _cache[name]


def alive_at(tasks: pd.DataFrame, t: float) -> pd.DataFrame:
    """Tasks RUNNING at ``t``: started, and not stopped (NaN compares False)."""
    return tasks[(tasks["started_at"] <= t) & ~(tasks["stopped_at"] <= t)]


def python_blocks(markdown: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", markdown.read_text(), flags=re.S)


def test_there_are_bundled_scenarios() -> None:
    names = {p.stem for p in SCENARIOS}
    assert {"quickstart", "placement-binpack-vs-spread", "batch-runtask"} <= names


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_scenario_validates_and_runs(path: Path) -> None:
    scenario = ecssim.load_scenario(path)
    assert scenario.description and "\n" not in scenario.description.strip()
    res = result_of(path.stem)
    assert res.meta["error"] is None
    assert res.end == pytest.approx(scenario.duration_s)
    assert len(res.tasks) > 0


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_golden_summary(path: Path) -> None:
    golden = GOLDEN / f"{path.stem}-summary.csv"
    text = result_of(path.stem).summary().to_csv(index=False)
    if REGEN:
        GOLDEN.mkdir(exist_ok=True)
        golden.write_text(text)
    assert golden.exists(), f"{golden} missing; run with ECSSIM_REGEN_GOLDEN=1 to create it"
    actual = pd.read_csv(io.StringIO(text))
    expected = pd.read_csv(golden)
    pd.testing.assert_frame_equal(actual, expected, rtol=1e-9, check_exact=False)


def test_quickstart_recovers_from_the_instance_failure() -> None:
    res = result_of("quickstart")
    tasks = res.tasks
    web = tasks[tasks["service"] == "web"]
    lost = web[web["stop_code"] == "TerminationNotice"]
    assert len(lost) >= 1, "the instance failure at 2h stopped no task"
    first_lost = lost["stopped_at"].min()
    assert first_lost >= 2 * 3600
    replacements = web[web["created_at"] >= first_lost]
    assert replacements["started_at"].notna().any()
    # Back at desiredCount at the end, and availability as the summary reports it.
    series = res.series
    running = series[(series["metric"] == "running_count") & (series["service"] == "web")]
    desired = series[(series["metric"] == "desired_count") & (series["service"] == "web")]
    assert running["value"].iloc[-1] == desired["value"].iloc[-1] == 12
    assert len(alive_at(web, res.end - 1)) == 12
    summary = res.summary().set_index(["service", "figure"])["value"]
    assert summary[("web", "availability")] > 0.95
    assert summary[("web", "tasks_replaced")] >= len(lost)


def test_batch_runtask_fails_for_resources() -> None:
    res = result_of("batch-runtask")
    reasons = set(res.failures["reason"].astype(str))
    assert any(r.startswith("RESOURCE:") for r in reasons)
    assert {"RESOURCE:CPU", "RESOURCE:MEMORY"} <= reasons
    assert res.tasks["started_at"].notna().sum() > len(res.failures)


def test_binpack_uses_fewer_instances_than_spread() -> None:
    res = result_of("placement-binpack-vs-spread")
    t = 1.5 * 3600
    alive = alive_at(res.tasks, t)
    used = {
        cluster: alive[alive["cluster"] == cluster]["container_instance"].nunique()
        for cluster in ("binpack", "spread")
    }
    counts = alive.groupby("cluster", observed=True).size()
    assert counts["binpack"] == counts["spread"] > 0  # same arrivals, same run times
    assert used["binpack"] < used["spread"]


def test_az_outage_recovers_and_rebalances() -> None:
    res = result_of("az-outage")
    web = res.tasks[res.tasks["service"] == "web"]

    def per_zone(t: float) -> dict[str, int]:
        alive = web[(web["started_at"] <= t) & ~(web["desired_stopped_at"] <= t)]
        return alive["availability_zone"].astype(str).value_counts().to_dict()

    balanced = {"us-east-1a": 4, "us-east-1b": 4, "us-east-1c": 4}
    assert per_zone(3600 - 1) == balanced
    # ECS notices the zone at 1h02 (instance_lost_after); replacements run within a minute.
    during = per_zone(3720 + 60)
    assert "us-east-1a" not in during and sum(during.values()) == 12
    assert per_zone(res.end - 1) == balanced  # rebalanced after the zone returned at 2h
    events = res.events
    assert (events[events["kind"] == "az_rebalancing"]["t"] >= 7200).sum() >= 1


def test_spot_interruptions_drain_before_termination() -> None:
    res = result_of("spot-interruptions")
    events = res.events
    notices = events[events["kind"] == "spot_interruption_notice"]
    drained = events[events["kind"] == "instance_draining"]
    assert len(notices) >= 3 and len(drained) == len(notices)
    tasks = res.tasks
    web = tasks[tasks["service"] == "web"]
    # Spot draining: every interrupted task was replaced during the 2-minute notice.
    assert "SpotInterruption" not in set(web["stop_code"].dropna())
    # Back to 10 before the last notice (a drain in progress runs one extra task: the
    # replacement starts first and the old task stops once the new one counts healthy).
    assert len(alive_at(web, notices["t"].max() - 1)) == 10
    instances = res.instances
    replaced = instances[(instances["market"] == "spot") & (instances["launched_at"] > 0)]
    assert len(replaced) >= 1  # the group replaces terminated Spot instances


def test_draining_story() -> None:
    res = result_of("draining")
    tasks = res.tasks
    series = res.series

    def running(service: str) -> pd.Series:
        rows = series[
            (series["metric"] == "running_count")
            & (series["service"] == service)
            & (series["t"] >= 1800)
            & (series["t"] < 3000)
        ]
        return rows["value"]

    assert running("web").min() >= 6  # 100/200: replacements first
    assert running("api").min() < 6 and running("api").min() >= 3  # 50/200: may stop first
    batch = tasks[tasks["family"] == "batch"]
    assert (batch["stop_code"] == "EssentialContainerExited").all()  # untouched by the drain
    instances = res.instances
    zone_a = instances[instances["availability_zone"] == "us-east-1a"]
    assert (zone_a["last_status"] == "INACTIVE").all()
    assert "action_failed" not in set(res.events["kind"])
    moved = tasks[
        (tasks["stop_code"] == "ServiceSchedulerInitiated") & (tasks["stopped_at"] > 1800)
    ]
    assert set(moved["availability_zone"].astype(str)) == {"us-east-1a"}
    assert len(moved) == 4  # two web and two api tasks left the drained zone


def test_readme_example_runs(capsys: pytest.CaptureFixture[str]) -> None:
    blocks = python_blocks(ROOT / "README.md")
    assert blocks, "README.md has no ```python block"
    cwd = Path.cwd()
    os.chdir(ROOT)
    try:
        exec(compile(blocks[0], "README.md", "exec"), {"__name__": "readme"})
    finally:
        os.chdir(cwd)
    out = capsys.readouterr().out
    assert "availability" in out


def test_howto_custom_strategy_runs() -> None:
    code = "\n".join(python_blocks(ROOT / "docs" / "howto-custom-strategy.md"))
    assert "register_strategy" in code
    assert "fewest-tasks" not in known_strategies()
    try:
        exec(compile(code, "howto-custom-strategy.md", "exec"), {"__name__": "howto"})
    finally:
        unregister_strategy("fewest-tasks")


def test_howto_rolling_deployments_runs_and_says_what_it_claims() -> None:
    code = "\n".join(python_blocks(ROOT / "docs" / "howto-rolling-deployments.md"))
    namespace: dict = {"__name__": "howto"}
    exec(compile(code, "howto-rolling-deployments.md", "exec"), namespace)
    minutes = namespace["deployment_minutes"]
    plain, alb = minutes(100, 200, load_balancer=False), minutes(100, 200, load_balancer=True)
    # The text's claims: the ALB's 150 s target health gate, and with 50/100 the 300 s
    # deregistration delay holding each batch back.
    assert alb - plain == pytest.approx(110 / 60, abs=0.5)
    assert minutes(50, 100, load_balancer=True) > 2 * 300 / 60


def test_readme_links_exist() -> None:
    text = (ROOT / "README.md").read_text()
    # Written by other parts of the project; checked once they exist.
    pending = {"scenario-reference.md", "cli-reference.md"}
    missing = [
        target
        for target in re.findall(r"\]\(([^)#]+)\)", text)
        if "://" not in target and not (ROOT / target).exists() and Path(target).name not in pending
    ]
    assert not missing
