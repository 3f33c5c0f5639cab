"""``ecssim sweep``: the acceptance command, its output and files, and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

import ecssim
from ecssim.cli import main, parse_vary
from ecssim.errors import InputError
from ecssim.placement.strategies import unregister_strategy

TINY = {
    "version": 1,
    "name": "tiny",
    "description": "Tiny web tier",
    "duration": "30m",
    "clusters": [{"clusterName": "prod"}],
    "instances": [{"cluster": "prod", "instance_type": "m5.large", "count": 3}],
    "task_definitions": [{"file": "taskdefs/web.json"}],
    "services": [
        {"cluster": "prod", "serviceName": "web", "taskDefinition": "web", "desiredCount": 4}
    ],
    "task_behavior": {"web": {"crash": {"mtbf": {"exponential": {"mean": "20m"}}}}},
    "faults": [{"instance_failure": {"cluster": "prod", "at": "15m", "replace_after": "2m"}}],
}
TASKDEF = {
    "family": "web",
    "containerDefinitions": [{"name": "web", "image": "nginx", "cpu": 256, "memory": 512}],
}


@pytest.fixture
def scenario(tmp_path: Path) -> Path:
    (tmp_path / "taskdefs").mkdir()
    (tmp_path / "taskdefs" / "web.json").write_text(json.dumps(TASKDEF))
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(TINY, sort_keys=False))
    return path


def test_acceptance_prints_means_with_intervals_and_writes_out(
    scenario: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "sweep"
    code = main(
        [
            "sweep",
            str(scenario),
            "--seeds",
            "1-10",
            "--vary",
            "services[web].desiredCount=6,9",
            "--out",
            str(out),
            "--quiet",
        ]
    )
    printed = capsys.readouterr()
    assert code == 0, printed.err
    assert printed.err == ""
    lines = printed.out.splitlines()
    assert lines[0].startswith("tiny: 2 variants x 10 seeds = 20 runs in ")
    assert lines[0].endswith("(1 worker), 0 failed")
    header = next(line for line in lines if line.startswith("services[web].desiredCount"))
    for title in ("runs", "prod/web availability", "prod/web recovery p95", "prod cost"):
        assert title in header
    rows = [line for line in lines if line.startswith(("6 ", "9 "))]
    assert len(rows) == 2
    for row in rows:
        assert row.count("±") >= 3 and " 10 " in row and "%" in row and "$" in row
    assert lines[-1] == f"saved to {out}"

    sweep = ecssim.Sweep.load(out)
    assert len(sweep.table) == 20 and sweep.factors == {"services[web].desiredCount": [6, 9]}
    ci = sweep.ci(figures=["service/prod/web/availability"])
    shown = f"{100 * ci['mean'][0]:.2f} % ± {100 * ci['half_width'][0]:.2f} %"
    assert shown in rows[0]


def test_workers_give_the_same_files(scenario: Path, tmp_path: Path) -> None:
    args = ["sweep", str(scenario), "--seeds", "1,4", "--vary", "instances[0].count=2,3", "-q"]
    assert main([*args, "--out", str(tmp_path / "one")]) == 0
    assert main([*args, "--workers", "2", "--out", str(tmp_path / "two")]) == 0
    one, two = ecssim.Sweep.load(tmp_path / "one"), ecssim.Sweep.load(tmp_path / "two")
    assert one.table.equals(two.table)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--seeds", "1-3", "--vary", "services[nope].desiredCount=1,2"],
            "error: services[nope].desiredCount: no service named 'nope' (known: web)",
        ),
        (["--seeds", "1-3", "--vary", "services[web].desiredCount"], "error: --vary: expected"),
        (["--seeds", "3-1"], "error: --seeds: range '3-1' runs backwards"),
        (["--seeds", "1", "--vary", "services[web].desiredCount=2,,3"], "empty value"),
        (["--seeds", "1", "--vary", "services[web].desiredCount=-1"], "expected an integer >= 0"),
        (["--seeds", "1", "--workers", "0"], "error: --workers: expected an integer >= 1"),
        (["--seeds", "1", "--until", "later"], "error: --until: expected a duration"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    scenario: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    code = main(["sweep", str(scenario), *args])
    err = capsys.readouterr().err
    assert code == 2
    assert len(err.splitlines()) == 1, err
    assert message in err and "Traceback" not in err


def test_workers_and_dask_are_exclusive(scenario: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["sweep", str(scenario), "--seeds", "1", "--workers", "2", "--dask", "tcp://x:1"])
    assert code == 2
    assert "not allowed with argument" in capsys.readouterr().err


def test_missing_scenario_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sweep", str(tmp_path / "none.yaml"), "--seeds", "1"]) == 2
    assert capsys.readouterr().err.strip().endswith("none.yaml: no such file")


def test_failed_runs_exit_1_after_printing_and_saving(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    @ecssim.register_strategy("explode-cli")
    def explode(field: str | None, view: object) -> np.ndarray:
        raise RuntimeError("strategy exploded")

    doc = {
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
                "arrivals": {"times": ["10m"]},
                "placementStrategy": [{"type": "random"}],
            }
        ],
    }
    path = tmp_path / "runtask.yaml"
    path.write_text(yaml.safe_dump(doc))
    try:
        code = main(
            [
                "sweep",
                str(path),
                "--seeds",
                "1-2",
                "--vary",
                "workloads[0].placementStrategy=[{type: random}],[{type: explode-cli}]",
                "--out",
                str(tmp_path / "out"),
                "-q",
            ]
        )
    finally:
        unregister_strategy("explode-cli")
    printed = capsys.readouterr()
    assert code == 1
    assert "2 failed" in printed.out and "RunTask failures" in printed.out
    assert printed.err.splitlines() == [
        f"error: variant 1, seed {seed}: RuntimeError: strategy exploded" for seed in (1, 2)
    ]
    assert ecssim.Sweep.load(tmp_path / "out").errors["seed"].tolist() == [1, 2]


def test_parse_vary_splits_at_top_level_commas_only() -> None:
    vary = parse_vary(
        [
            "services[web].desiredCount=6, 9,12",
            "task_behavior.web.runtime=forever,{exponential: {mean: 1h}},'a,b'",
            "instances[0].zones=[us-east-1a, us-east-1b],[us-east-1c]",
        ]
    )
    assert vary == {
        "services[web].desiredCount": [6, 9, 12],
        "task_behavior.web.runtime": ["forever", {"exponential": {"mean": "1h"}}, "a,b"],
        "instances[0].zones": [["us-east-1a", "us-east-1b"], ["us-east-1c"]],
    }
    with pytest.raises(InputError) as err:
        parse_vary(["a=1", "a=2", "b=[1", "=3"])
    assert [p.path for p in err.value.problems] == ["--vary a", "--vary b", "--vary"]
