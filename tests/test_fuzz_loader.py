"""Fuzz the scenario loader: any mutation of a valid document loads or fails cleanly.

Every outcome must be a :class:`Scenario` or an :class:`InputError` (``ScenarioError``) whose
lines each name a place and say what is wrong (``path: message``); never another exception.
"""

from __future__ import annotations

import copy
import math
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ecssim.errors import InputError
from ecssim.scenario.loader import load_scenario
from ecssim.scenario.schema import Scenario

BASE: dict[str, Any] = {
    "version": 1,
    "name": "fuzz",
    "seed": 3,
    "duration": "2h",
    "clusters": [{"clusterName": "prod"}],
    "instances": [
        {
            "cluster": "prod",
            "instance_type": "m5.large",
            "count": 3,
            "zones": ["us-east-1a", "us-east-1b"],
            "attributes": {"tier": "web"},
        }
    ],
    "task_definitions": [
        {
            "family": "web",
            "networkMode": "bridge",
            "containerDefinitions": [
                {
                    "name": "web",
                    "image": "nginx",
                    "cpu": 256,
                    "memory": 512,
                    "essential": True,
                    "portMappings": [{"containerPort": 80, "hostPort": 0}],
                }
            ],
        },
        {
            "family": "job",
            "containerDefinitions": [{"name": "job", "image": "job", "memoryReservation": 256}],
        },
    ],
    "services": [
        {
            "cluster": "prod",
            "serviceName": "web",
            "taskDefinition": "web",
            "desiredCount": 4,
            "placementStrategy": [{"type": "spread", "field": "attribute:ecs.availability-zone"}],
            "placementConstraints": [{"type": "memberOf", "expression": "attribute:tier == web"}],
        }
    ],
    "task_behavior": {
        "web": {"crash": {"mtbf": {"exponential": {"mean": "3h"}}}},
        "job": {"runtime": {"lognormal": {"median": "5m", "sigma": 0.5}}},
    },
    "workloads": [
        {"cluster": "prod", "taskDefinition": "job", "arrivals": {"poisson": {"rate": "20/h"}}}
    ],
    "faults": [{"instance_failure": {"cluster": "prod", "at": "1h", "replace_after": "5m"}}],
    "actions": [
        {"at": "30m", "update_service": {"cluster": "prod", "service": "web", "desiredCount": 6}}
    ],
    "parameters": {"image_pull": "10s", "service_retry_interval": "2m"},
}

_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(["5 minutes", "-1h", "1e400", "30/h", "m5.large", "prod", "web", "", "ä☃𝄞"]),
)
_values = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)


def _containers(doc: Any) -> list[tuple[Any, Any]]:
    """Every (container, key-or-index) slot in the document, for picking a mutation site."""
    out: list[tuple[Any, Any]] = []
    if isinstance(doc, dict):
        for key, value in doc.items():
            out.append((doc, key))
            out.extend(_containers(value))
    elif isinstance(doc, list):
        for index, value in enumerate(doc):
            out.append((doc, index))
            out.extend(_containers(value))
    return out


@st.composite
def mutated(draw: st.DrawFn) -> dict[str, Any]:
    doc = copy.deepcopy(BASE)
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        sites = _containers(doc)
        parent, key = sites[draw(st.integers(min_value=0, max_value=len(sites) - 1))]
        action = draw(st.sampled_from(["replace", "delete", "add_key", "rename", "wrap"]))
        if action == "replace":
            parent[key] = draw(_values)
        elif action == "delete":
            del parent[key]
        elif action == "add_key" and isinstance(parent, dict):
            parent[draw(st.one_of(st.text(max_size=10), st.integers()))] = draw(_values)
        elif action == "rename" and isinstance(parent, dict):
            parent[str(key) + draw(st.text(min_size=1, max_size=3))] = parent.pop(key)
        elif action == "wrap":
            parent[key] = [parent[key]]
    return doc


_LINE = re.compile(r"^\S.*?: \S", re.DOTALL)


def test_base_document_is_valid():
    assert isinstance(load_scenario(BASE), Scenario)


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(mutated())
def test_loader_never_raises_anything_else(doc):
    try:
        scenario = load_scenario(doc)
    except InputError as err:
        assert err.problems
        for problem in err.problems:
            line = str(problem)
            assert problem.path and problem.message, f"no 'path: message' in {line!r}"
            assert _LINE.match(line), f"no 'path: message' in {line!r}"
    else:
        assert isinstance(scenario, Scenario)
        assert math.isfinite(scenario.duration_s) and scenario.duration_s > 0


def test_scenario_key_with_a_newline_stays_on_one_line():
    doc = copy.deepcopy(BASE)
    doc["task_behavior"]["we\nb"] = {"runtime": "1m"}
    with pytest.raises(InputError) as caught:
        load_scenario(doc)
    assert [str(p) for p in caught.value.problems if "we" in p.path] == [
        "task_behavior[\"we\\nb\"]: no task definition with family 'we\\nb' (declared: web, job)"
    ]


def test_task_definition_key_with_a_newline_stays_on_one_line():
    doc = copy.deepcopy(BASE)
    doc["task_definitions"][0]["\r"] = 1
    with pytest.raises(InputError) as caught:
        load_scenario(doc)
    for problem in caught.value.problems:
        assert "\r" not in str(problem) and "\n" not in str(problem)
