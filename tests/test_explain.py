"""``ecssim explain``: one placement decision in words, checked against the placements frame."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

import ecssim
from ecssim.cli import main

REPO = Path(__file__).resolve().parents[1]
BATCH = str(REPO / "scenarios" / "batch-runtask.yaml")
QUICKSTART = str(REPO / "scenarios" / "quickstart.yaml")
BINPACK_VS_SPREAD = str(REPO / "scenarios" / "placement-binpack-vs-spread.yaml")

#: Two m5.large (7,826 MiB registered each): ``huge`` (16 GiB) never fits, ``small`` wants three
#: tasks on distinct instances and gets two.
LAB = {
    "version": 1,
    "name": "lab",
    "seed": 1,
    "duration": "10m",
    "clusters": [{"clusterName": "lab"}],
    "instances": [
        {
            "cluster": "lab",
            "instance_type": "m5.large",
            "count": 2,
            "zones": ["us-east-1a", "us-east-1b"],
        }
    ],
    "task_definitions": [
        {
            "family": "small",
            "containerDefinitions": [
                {"name": "small", "image": "busybox", "cpu": 256, "memory": 512}
            ],
        },
        {
            "family": "huge",
            "containerDefinitions": [
                {"name": "huge", "image": "busybox", "cpu": 256, "memory": 16384}
            ],
        },
    ],
    "services": [
        {
            "cluster": "lab",
            "serviceName": "small",
            "taskDefinition": "small",
            "desiredCount": 3,
            "placementConstraints": [{"type": "distinctInstance"}],
        },
        {"cluster": "lab", "serviceName": "huge", "taskDefinition": "huge", "desiredCount": 1},
    ],
}


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("lab") / "lab.yaml"
    path.write_text(yaml.safe_dump(LAB))
    return path


@pytest.fixture(scope="module")
def lab_result(lab: Path) -> ecssim.Result:
    return ecssim.run(lab, overrides=["explain=true"])


@pytest.fixture(scope="module")
def batch_result() -> ecssim.Result:
    return ecssim.run(BATCH, until="2h", overrides=["explain=true"])


def explain(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    """Run ``ecssim explain ARGS --json`` and return the parsed output."""
    assert main(["explain", *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def text(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    assert main(["explain", *args]) == 0
    return capsys.readouterr().out


def fails(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    """Run ``ecssim explain ARGS``, expect exit 2 and one error line; return that line."""
    assert main(["explain", *args]) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("error: ")
    assert "Traceback" not in captured.err + captured.out
    return lines[0]


def stage_counts(output: str) -> dict[str, str]:
    """The ``container instances left after each step`` block of the text output."""
    block = output.split("container instances left after each step\n", 1)[1].split("\n\n")[0]
    return {
        m.group(1).strip(): m.group(2)
        for m in re.finditer(r"^  (.+?)  +(\d+|not reached)$", block, re.M)
    }


def row_of(placements: pd.DataFrame, mask: Any) -> int:
    return int(mask.to_numpy().nonzero()[0][0])


def event_message(result: ecssim.Result, t: float, service: str) -> str:
    events = result.events
    hit = events[
        (events["kind"].astype("object") == "unable_to_place")
        & (events["service"].astype("object") == service)
        & (events["t"] == t)
    ]
    assert len(hit) == 1
    return str(hit["message"].iloc[0])


# -- failed placements ----------------------------------------------------------------------------


def test_memory_failure_counts_and_closest_message(lab, lab_result, capsys):
    placements = lab_result.placements
    i = row_of(
        placements,
        (placements["reason"].astype("object") == "RESOURCE:MEMORY")
        & (placements["candidates"] == 2),
    )
    row = placements.iloc[i]
    info = explain(capsys, str(lab), "--index", str(i))
    assert info["index"] == i and info["outcome"] == "failed" and info["group"] == "service:huge"
    assert info["t"] == float(row["t"])
    # Both instances are up, neither has 16 GiB: nothing survives the fit.
    assert (info["registered"], info["candidates"], info["after_fit"]) == (2, 2, 0)
    assert info["after_constraints"] == 0 and info["after_strategies"] == []
    assert (info["candidates"], info["after_fit"], info["after_constraints"]) == (
        int(row["candidates"]),
        int(row["after_fit"]),
        int(row["after_constraints"]),
    )
    assert info["reason"] == "RESOURCE:MEMORY" and info["container_instance"] is None
    closest = info["closest_instance"]
    assert closest["arn"] == row["closest_instance"]
    assert closest["instance_type"] == "m5.large"
    assert closest["availability_zone"] in ("us-east-1a", "us-east-1b")
    sentence = (
        f"The closest matching (container-instance {closest['id']}) has insufficient memory "
        "available."
    )
    assert sentence in info["message"]
    # Word for word the service event the control plane wrote for this failure.
    assert info["message"] == event_message(lab_result, float(row["t"]), "huge")

    out = text(capsys, str(lab), "--index", str(i))
    assert stage_counts(out) == {
        "registered": "2",
        "available (ACTIVE, agent connected)": "2",
        "fit (CPU, memory, ports, ENIs, GPUs)": "0",
        "placement constraints": "0",
        "strategies": "not reached",
    }
    assert "reason     RESOURCE:MEMORY" in out
    assert sentence in out and "FAILED" in out.splitlines()[0]


def test_constraint_failure_is_after_fit(lab, lab_result, capsys):
    placements = lab_result.placements
    unsatisfied = "DistinctInstance placement constraint unsatisfied."
    i = row_of(
        placements,
        (placements["reason"].astype("object") == unsatisfied) & (placements["candidates"] == 2),
    )
    info = explain(capsys, str(lab), "--index", str(i))
    # Both instances fit the small task; distinctInstance rules out both (each holds one).
    assert (info["candidates"], info["after_fit"], info["after_constraints"]) == (2, 2, 0)
    assert info["reason"] == unsatisfied
    assert info["message"] == event_message(lab_result, info["t"], "small")


def test_default_is_first_failure_and_failed_flag_agrees(lab, lab_result, capsys):
    placements = lab_result.placements
    first = row_of(placements, placements["container_instance"].isna())
    default = explain(capsys, str(lab))
    assert default["index"] == first
    assert explain(capsys, str(lab), "--failed") == default
    # Services are created before any instance registers: ECS's no-instance failure.
    assert default["reason"] == "No Container Instances were found in your cluster."
    assert default["registered"] == default["candidates"] == 0
    assert default["message"] == event_message(lab_result, default["t"], default["group"][8:])


def test_runtask_failure_on_bundled_scenario(batch_result, capsys):
    placements = batch_result.placements
    first = row_of(placements, placements["container_instance"].isna())
    row = placements.iloc[first]
    info = explain(capsys, BATCH, "--until", "2h")
    assert info["index"] == first and info["decisions"] == len(placements)
    assert info["group"] == str(row["group"]) and info["reason"] == str(row["reason"])
    assert (info["candidates"], info["after_fit"], info["after_constraints"]) == (
        int(row["candidates"]),
        int(row["after_fit"]),
        int(row["after_constraints"]),
    )
    assert info["registered"] == 3 and info["after_fit"] == 0
    what = {
        "RESOURCE:CPU": "has insufficient CPU units available",
        "RESOURCE:MEMORY": "has insufficient memory available",
    }[info["reason"]]
    closest_id = str(row["closest_instance"]).rsplit("/", 1)[-1]
    # A standalone task has no service event: the closest-instance sentence alone.
    assert info["message"] == f"The closest matching (container-instance {closest_id}) {what}."
    failure = batch_result.failures.iloc[0]
    assert failure["t"] == info["t"] and failure["detail"] == row["closest_instance"]


# -- successful placements --------------------------------------------------------------------


def test_task_suffix_on_bundled_scenario(batch_result, capsys):
    placements = batch_result.placements
    i = int(placements.index[placements["container_instance"].notna()][5])
    row = placements.iloc[i]
    arn = str(row["task_arn"])
    info = explain(capsys, BATCH, "--until", "2h", "--task", arn.rsplit("/", 1)[-1][-6:])
    assert info["index"] == i and info["task_arn"] == arn and info["outcome"] == "placed"
    assert info["after_strategies"] == [int(c) for c in str(row["after_strategies"]).split(",")]
    assert info["strategies"] == [
        "binpack(cpu)" if row["group"] == "family:batch" else "binpack(memory)"
    ]
    chosen = info["container_instance"]
    assert chosen["arn"] == row["container_instance"]
    instance = batch_result.instances.set_index("container_instance").loc[chosen["arn"]]
    assert chosen["availability_zone"] == instance["availability_zone"]
    assert chosen["instance_type"] == "m5.xlarge" == instance["instance_type"]
    assert info["reason"] is None and info["message"] is None
    # The same decision by full ARN and by index.
    assert explain(capsys, BATCH, "--until", "2h", "--task", arn) == info
    assert explain(capsys, BATCH, "--until", "2h", "--index", str(i - len(placements))) == info


def test_service_strategy_chain_on_quickstart(capsys):
    result = ecssim.run(QUICKSTART, until="30m", overrides=["explain=true"])
    placements = result.placements
    i = row_of(placements, placements["container_instance"].notna())
    row = placements.iloc[i]
    out = text(capsys, QUICKSTART, "--until", "30m", "--index", str(i))
    spread, binpack = (int(c) for c in str(row["after_strategies"]).split(","))
    assert stage_counts(out) == {
        "registered": str(
            int(
                (
                    (result.instances["registered_at"] <= row["t"])
                    & ~(result.instances["stopped_at"] <= row["t"])
                ).sum()
            )
        ),
        "available (ACTIVE, agent connected)": str(int(row["candidates"])),
        "fit (CPU, memory, ports, ENIs, GPUs)": str(int(row["after_fit"])),
        "placement constraints": str(int(row["after_constraints"])),
        "spread(attribute:ecs.availability-zone)": str(spread),
        "binpack(memory)": str(binpack),
    }
    assert f"task       {row['task_arn']}" in out
    assert str(row["container_instance"]) in out
    assert out.splitlines()[0].endswith(": placed")


def test_default_without_failures_is_first_decision(capsys):
    info = explain(capsys, BINPACK_VS_SPREAD, "--until", "30m")
    assert info["index"] == 0 and info["outcome"] == "placed"
    assert info["group"] == "family:worker" and info["cluster"] == "binpack"
    # Eight empty m5.large: binpack(memory) ties all eight, the placement stream picks one.
    assert (info["registered"], info["candidates"], info["after_fit"]) == (8, 8, 8)
    assert info["strategies"] == ["binpack(memory)"] and info["after_strategies"] == [8]
    out = text(capsys, BINPACK_VS_SPREAD, "--until", "30m")
    assert "tie-break  at random among the 8 instances left" in out
    line = fails(capsys, BINPACK_VS_SPREAD, "--until", "30m", "--failed")
    assert line.startswith("error: --failed: no placement failed in this run")


# -- saved runs -------------------------------------------------------------------------------


def test_saved_run_gives_the_same_explanation(lab, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["run", str(lab), "--set", "explain=true", "--out", str(out), "-q"]) == 0
    capsys.readouterr()
    assert (out / "placements.parquet").exists()
    for selector in ([], ["--index", "9"], ["--index", "-1"]):
        assert explain(capsys, str(out), *selector) == explain(capsys, str(lab), *selector)


def test_saved_run_without_placements(lab, tmp_path, capsys):
    out = tmp_path / "plain"
    assert main(["run", str(lab), "--out", str(out), "-q"]) == 0
    capsys.readouterr()
    line = fails(capsys, str(out))
    assert line.startswith(f"error: {out}: the saved run has no placements frame")
    assert "--set explain=true" in line
    assert fails(capsys, str(out), "--seed", "3") == (
        "error: --seed: applies to a scenario file, not a saved run"
    )
    assert fails(capsys, str(tmp_path)).endswith("not a saved ecssim run (no meta.json)")


# -- errors ---------------------------------------------------------------------------------------


def test_selector_errors(lab, lab_result, capsys):
    n = len(lab_result.placements)
    assert fails(capsys, str(lab), "--index", str(n)) == (
        f"error: --index: out of range: the run has {n} placement decisions "
        f"(0 to {n - 1}, or -{n} to -1)"
    )
    assert fails(capsys, str(lab), "--index", str(-n - 1)).startswith("error: --index: out of")
    assert fails(capsys, str(lab), "--task", "deadbeef").startswith(
        "error: --task: no placed task matches 'deadbeef'"
    )
    # Failed placements have no task ARN ("nan" must not match "an").
    assert fails(capsys, str(lab), "--task", "an").startswith("error: --task: no placed task")


def test_ambiguous_task_suffix(batch_result, capsys):
    arns = batch_result.placements["task_arn"].dropna().astype(str)
    ending = arns[arns.str.endswith("1")]
    assert len(ending) > 1
    line = fails(capsys, BATCH, "--until", "2h", "--task", "1")
    ids = ", ".join(a.rsplit("/", 1)[-1] for a in ending[:3])
    assert line.startswith(f"error: --task: '1' matches {len(ending)} tasks ({ids}")
    assert line.endswith("give more of the id")


def test_bad_input_errors(lab, tmp_path, capsys):
    assert fails(capsys, str(lab), "--until", "soon").startswith("error: --until: ")
    assert fails(capsys, str(lab), "--set", "nonsense").startswith("error: --set: expected")
    assert "no such file" in fails(capsys, str(tmp_path / "nope.yaml")).lower()
    # Selectors exclude each other (argparse's usage error).
    assert main(["explain", str(lab), "--index", "0", "--failed"]) == 2
    assert "not allowed with" in capsys.readouterr().err


def test_set_cannot_switch_explain_off(lab, lab_result, capsys):
    info = explain(capsys, str(lab), "--set", "explain=false", "--index", "-1")
    assert info["decisions"] == len(lab_result.placements)


def test_command_line_no_traceback(lab):
    proc = subprocess.run(
        [sys.executable, "-m", "ecssim.cli", "explain", str(lab), "--index", "999"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: --index: out of range")
    assert "Traceback" not in proc.stderr + proc.stdout
