"""Paths into scenario documents: get, set (on a copy), selectors by index and by name, errors."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from ecssim.errors import ScenarioError
from ecssim.scenario.paths import get_path, resolve_path, set_path


@pytest.fixture
def doc() -> dict[str, Any]:
    return {
        "version": 1,
        "clusters": [{"clusterName": "prod"}, {"clusterName": "test"}],
        "instances": [{"cluster": "prod", "count": 6, "attributes": {"team.name": "a"}}],
        "task_definitions": [{"file": "web.json"}, {"family": "worker"}],
        "services": [
            {"serviceName": "web", "desiredCount": 12},
            {"serviceName": "api", "desiredCount": 3},
        ],
        "faults": [{"instance_failure": {"cluster": "prod", "mtbf": "30d"}}],
        "task_behavior": {"worker": {"runtime": "20m"}},
        "items": [{"name": "7"}, {"name": "x"}],
    }


def message(excinfo: pytest.ExceptionInfo[ScenarioError]) -> str:
    (problem,) = excinfo.value.problems
    return str(problem)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("version", 1),
        ("services[web].desiredCount", 12),
        ("services[api].desiredCount", 3),
        ("services[1].serviceName", "api"),
        ("services[-1].serviceName", "api"),
        ("instances[0].count", 6),
        ("clusters[test]", {"clusterName": "test"}),
        ("task_definitions[worker]", {"family": "worker"}),
        ("faults[0].instance_failure.mtbf", "30d"),
        ("task_behavior.worker.runtime", "20m"),
        ("task_behavior[worker].runtime", "20m"),
        ('instances[0].attributes["team.name"]', "a"),
        ("items['7']", {"name": "7"}),
        ("items[x]", {"name": "x"}),
    ],
)
def test_get_path(doc: dict[str, Any], path: str, expected: Any) -> None:
    assert get_path(doc, path) == expected


def test_set_path_returns_a_modified_deep_copy(doc: dict[str, Any]) -> None:
    before = copy.deepcopy(doc)
    value = {"exponential": {"mean": "10d"}}
    out = set_path(doc, "faults[0].instance_failure.mtbf", value)
    assert out["faults"][0]["instance_failure"]["mtbf"] == value
    assert doc == before
    value["exponential"]["mean"] = "1d"  # the stored value is a copy too
    assert out["faults"][0]["instance_failure"]["mtbf"] == {"exponential": {"mean": "10d"}}
    out["services"][0]["desiredCount"] = 0
    assert doc["services"][0]["desiredCount"] == 12


def test_set_path_by_name_and_index(doc: dict[str, Any]) -> None:
    out = set_path(doc, "services[api].desiredCount", 9)
    assert [s["desiredCount"] for s in out["services"]] == [12, 9]
    out = set_path(out, "instances[0].count", 2)
    assert out["instances"][0]["count"] == 2
    out = set_path(out, "services[1]", {"serviceName": "api2"})
    assert out["services"][1] == {"serviceName": "api2"}


def test_set_path_creates_missing_mappings(doc: dict[str, Any]) -> None:
    out = set_path(doc, "parameters.image_pull", "3s")
    assert out["parameters"] == {"image_pull": "3s"}
    out = set_path(out, "task_behavior[web].crash.mtbf", "12h")
    assert out["task_behavior"]["web"] == {"crash": {"mtbf": "12h"}}
    out = set_path({"parameters": None}, "parameters.stop_timeout", "1m")
    assert out == {"parameters": {"stop_timeout": "1m"}}


def test_resolve_path(doc: dict[str, Any]) -> None:
    assert resolve_path(doc, "services[api].desiredCount") == "services[1].desiredCount"
    assert resolve_path(doc, "services[-1]") == "services[1]"
    assert resolve_path(doc, "task_definitions[worker].cpu") == "task_definitions[1].cpu"
    assert resolve_path(doc, "parameters.image_pull") == "parameters.image_pull"
    assert resolve_path(doc, 'instances[0].attributes["team.name"]') == (
        'instances[0].attributes["team.name"]'
    )


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (
            "services[wbe].desiredCount",
            "services[wbe].desiredCount: no service named 'wbe' (known: web, api)",
        ),
        ("clusters[stage]", "clusters[stage]: no cluster named 'stage' (known: prod, test)"),
        (
            "task_definitions[web]",
            "task_definitions[web]: no task definition named 'web' (known: worker)",
        ),
        ("items[y]", "items[y]: no item named 'y' (known: 7, x)"),
        ("instances[3].count", "instances[3].count: index 3 out of range (instances has 1 item)"),
        (
            "services[2]",
            "services[2]: index 2 out of range (services has 2 items)",
        ),
        (
            "instances.count",
            "instances.count: instances is a list; select an item with [index] or [name]",
        ),
        (
            "services[web].desiredCount.x",
            "services[web].desiredCount.x: services[0].desiredCount is a number, not a mapping "
            "or list",
        ),
        ("version[0]", "version[0]: version is a number, not a mapping or list"),
        (
            "task_behavior[0]",
            "task_behavior[0]: task_behavior is a mapping; [0] selects from a list",
        ),
        ("a..b", "a..b: invalid path: empty key at position 2"),
        ("services[web", "services[web: invalid path: missing ] after position 8"),
        ("services[]", "services[]: invalid path: empty [] at position 8"),
        ("services[web]x", "services[web]x: invalid path: expected '.' or '[' at position 13"),
        ("services.", "services.: invalid path: path ends with '.'"),
        ("items['7]", "items['7]: invalid path: unterminated quoted selector at position 5"),
        ("", "invalid path: empty path"),
    ],
)
def test_bad_paths_raise_located_problems(doc: dict[str, Any], path: str, expected: str) -> None:
    with pytest.raises(ScenarioError) as excinfo:
        set_path(doc, path, 1)
    assert message(excinfo) == expected
    with pytest.raises(ScenarioError) as excinfo:
        resolve_path(doc, path)
    assert message(excinfo) == expected


def test_get_path_reports_missing_keys_with_a_suggestion(doc: dict[str, Any]) -> None:
    with pytest.raises(ScenarioError) as excinfo:
        get_path(doc, "services[web].desiredCont")
    assert message(excinfo) == (
        "services[web].desiredCont: no key 'desiredCont' in services[0]; did you mean desiredCount?"
    )
    with pytest.raises(ScenarioError) as excinfo:
        get_path(doc, "parameters.image_pull")
    assert message(excinfo).startswith("parameters.image_pull: no key 'parameters' (keys: version,")


def test_ambiguous_name_asks_for_an_index() -> None:
    doc = {"services": [{"serviceName": "web"}, {"serviceName": "web"}]}
    with pytest.raises(ScenarioError) as excinfo:
        get_path(doc, "services[web].desiredCount")
    assert message(excinfo) == (
        "services[web].desiredCount: 2 services named 'web' (services[0], services[1]); "
        "select one by index"
    )


def test_set_path_cannot_index_into_a_missing_list() -> None:
    with pytest.raises(ScenarioError) as excinfo:
        set_path({"version": 1}, "services[0].desiredCount", 3)
    assert message(excinfo) == (
        "services[0].desiredCount: services does not exist; cannot index it"
    )
