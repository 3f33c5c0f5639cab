"""The ecssim command line: exit codes, output, files; bad input never gives a traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ecssim.cli import main

TINY = {
    "version": 1,
    "name": "tiny",
    "description": "Tiny web tier",
    "duration": "30m",
    "clusters": [{"clusterName": "prod"}],
    "instances": [{"cluster": "prod", "instance_type": "m5.large", "count": 3}],
    "task_definitions": [
        {
            "family": "web",
            "containerDefinitions": [{"name": "web", "image": "nginx", "cpu": 256, "memory": 512}],
        }
    ],
    "services": [
        {"cluster": "prod", "serviceName": "web", "taskDefinition": "web", "desiredCount": 4}
    ],
    "faults": [{"instance_failure": {"cluster": "prod", "at": "15m"}}],
}

TASKDEF = {
    "family": "api",
    "networkMode": "awsvpc",
    "requiresCompatibilities": ["FARGATE"],
    "cpu": "512",
    "memory": "1024",
    "containerDefinitions": [
        {"name": "api", "image": "api:1", "portMappings": [{"containerPort": 8080}]}
    ],
}

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def scenario(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(TINY))
    return path


def test_run_out_writes_everything(scenario, tmp_path, capsys):
    out = tmp_path / "run1"
    assert main(["run", str(scenario), "--out", str(out), "--seed", "3", "--quiet"]) == 0
    text = capsys.readouterr().out
    assert "service prod/web" in text and "cluster prod" in text
    assert "availability" in text and "%" in text
    for name in ("tasks", "failures", "instances", "events", "series"):
        assert (out / f"{name}.parquet").exists()
    assert json.loads((out / "meta.json").read_text())["seed"] == 3
    assert (out / "summary.csv").exists()
    for png in ("running_vs_desired", "cluster_reservation", "cluster_map", "task_timeline"):
        assert (out / f"{png}.png").stat().st_size > 1000


def test_run_set_and_until(scenario, capsys):
    code = main(["run", str(scenario), "--set", "services[0].desiredCount=2", "--until", "10m"])
    assert code == 0
    assert "0.167 h" in capsys.readouterr().out


@pytest.mark.parametrize(
    "extra",
    [["--until", "soon"], ["--set", "nonsense"], ["--set", "services[0].desiredCount=ten"]],
)
def test_run_bad_input_exit_2(scenario, capsys, extra):
    assert main(["run", str(scenario), "--quiet", *extra]) == 2
    captured = capsys.readouterr()
    assert captured.err.strip() and "Traceback" not in captured.err


def test_run_missing_file(tmp_path, capsys):
    assert main(["run", str(tmp_path / "nope.yaml")]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_validate_ok(scenario, capsys):
    assert main(["validate", str(scenario)]) == 0
    assert capsys.readouterr().out.strip() == "ok: tiny — Tiny web tier"


def test_validate_problems_one_line_each(tmp_path, capsys):
    doc = dict(TINY)
    doc["services"] = [
        {"cluster": "prod", "serviceName": "web", "taskDefinition": "web", "desiredCount": "ten"}
    ]
    doc["duraton"] = "1h"  # typo key
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(doc))
    assert main(["validate", str(path)]) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 2, lines
    assert any("duraton" in line for line in lines)
    assert any("desiredCount" in line and "ten" in line for line in lines)
    assert "Traceback" not in captured.err + captured.out


def test_inspect(tmp_path, capsys):
    path = tmp_path / "api.json"
    path.write_text(json.dumps(TASKDEF))
    assert main(["inspect", str(path)]) == 0
    out = capsys.readouterr().out
    assert "512 units" in out and "1024 MiB" in out and "awsvpc" in out
    assert "Fargate size     valid" in out
    assert "m5.large" in out and "limited by" in out


def test_inspect_real_file(capsys):
    files = sorted((REPO / "scenarios" / "taskdefs").glob("*.json"))
    if not files:
        pytest.skip("no bundled task definitions")
    assert main(["inspect", str(files[0])]) == 0
    assert "memory" in capsys.readouterr().out


def test_inspect_bad(tmp_path, capsys):
    path = tmp_path / "bad.json"
    path.write_text("{not json")
    assert main(["inspect", str(path)]) == 2
    err = capsys.readouterr().err
    assert "Invalid JSON" in err and "Traceback" not in err


def test_scenarios_lists_cwd(tmp_path, monkeypatch, capsys):
    folder = tmp_path / "scenarios"
    folder.mkdir()
    (folder / "demo.yaml").write_text("version: 1\ndescription: A demo scenario.\n")
    monkeypatch.chdir(tmp_path)
    assert main(["scenarios"]) == 0
    out = capsys.readouterr().out
    assert "demo.yaml" in out and "A demo scenario." in out


def test_plot_saved_run(scenario, tmp_path, capsys):
    run_dir = tmp_path / "run"
    assert main(["run", str(scenario), "--out", str(run_dir), "--quiet"]) == 0
    out = tmp_path / "pngs"
    assert main(["plot", str(run_dir), "--out", str(out)]) == 0
    assert (out / "cluster_map.png").exists()
    assert main(["plot", str(tmp_path / "missing")]) == 2


def test_usage_errors(capsys):
    assert main(["frobnicate"]) == 2
    assert main(["run"]) == 2
    assert main(["run", "x.yaml", "--bogus"]) == 2
    assert "usage:" in capsys.readouterr().err


def test_console_script_exit_2(tmp_path):
    script = Path(sys.executable).parent / "ecssim"
    if not script.exists():
        pytest.skip("console script not installed")
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nduration: [oops\n")
    proc = subprocess.run(
        [str(script), "run", str(bad)], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 2
    assert proc.stderr.strip()
    assert "Traceback" not in proc.stderr + proc.stdout
