"""Bad input on purpose: every broken file in tests/bad_input/ gets its exact, located message.

``expected.yaml`` maps each file to the lines ``ecssim validate FILE`` must print on stderr
(exit code 2, no traceback).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ecssim.cli import main

CORPUS = Path(__file__).resolve().parent / "bad_input"
EXPECTED: dict[str, list[str]] = yaml.safe_load((CORPUS / "expected.yaml").read_text("utf-8"))
CASES = sorted(p.name for p in CORPUS.glob("*.yaml") if p.name != "expected.yaml")


def _validate(name: str, monkeypatch, capsys) -> tuple[int, str, str]:
    monkeypatch.chdir(CORPUS)
    code = main(["validate", name])
    out, err = capsys.readouterr()
    return code, out, err


def test_corpus_is_large_and_complete():
    assert len(CASES) >= 40
    assert sorted(EXPECTED) == CASES
    for name, lines in EXPECTED.items():
        assert lines, name
        for line in lines:
            assert ": " in line, f"{name}: {line!r} names no place"


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_exact_message(name, monkeypatch, capsys):
    code, out, err = _validate(name, monkeypatch, capsys)
    assert "Traceback" not in err
    assert out == ""
    assert code == 2
    assert err.splitlines() == EXPECTED[name]


def test_run_reports_bad_input_with_prefix(monkeypatch, capsys):
    monkeypatch.chdir(CORPUS)
    assert main(["run", "service_negative_desired.yaml", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.splitlines() == [
        f"error: {line}" for line in EXPECTED["service_negative_desired.yaml"]
    ]


def test_missing_file(monkeypatch, capsys):
    code, _out, err = _validate("no-such-file.yaml", monkeypatch, capsys)
    assert code == 2
    assert err.splitlines() == ["no-such-file.yaml: no such file"]


def test_directory(monkeypatch, capsys):
    code, _out, err = _validate("taskdefs", monkeypatch, capsys)
    assert code == 2
    assert err.splitlines() == ["taskdefs: is a directory, not a scenario file"]
