"""Scenario loading: valid files load with the right values; every mistake is reported at once."""

from __future__ import annotations

import copy
import dataclasses
import importlib
import importlib.util
import json
import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ecssim.distributions import Exponential, Forever, LogNormal
from ecssim.errors import Problem, ScenarioError
from ecssim.parameters import SimParameters
from ecssim.placement.strategies import register_strategy, unregister_strategy
from ecssim.scenario import ecs_requests
from ecssim.scenario.loader import load_scenario, validate_file
from ecssim.scenario.schema import (
    Action,
    Arrivals,
    InstanceFailure,
    InstanceGroup,
    Scenario,
    TaskBehavior,
    Workload,
)

DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).parent.parent

WEB = {
    "family": "web",
    "containerDefinitions": [{"name": "web", "image": "nginx", "cpu": 256, "memory": 512}],
}
WORKER = {
    "family": "worker",
    "containerDefinitions": [{"name": "worker", "image": "w:1", "cpu": 512, "memory": 1024}],
}


def base() -> dict[str, Any]:
    """A small valid scenario that the error cases below break one key at a time."""
    return {
        "version": 1,
        "duration": "6h",
        "clusters": [{"clusterName": "prod"}],
        "instances": [{"cluster": "prod", "instance_type": "m5.large", "count": 3}],
        "task_definitions": [copy.deepcopy(WEB), copy.deepcopy(WORKER)],
        "services": [
            {"cluster": "prod", "serviceName": "web", "taskDefinition": "web", "desiredCount": 2}
        ],
        "workloads": [
            {"cluster": "prod", "taskDefinition": "worker", "arrivals": {"interval": "5m"}}
        ],
        "faults": [{"instance_failure": {"cluster": "prod", "at": "2h"}}],
        "actions": [
            {"at": "3h", "update_service": {"cluster": "prod", "service": "web", "desiredCount": 4}}
        ],
    }


def problems_of(source: Any, **kwargs: Any) -> list[str]:
    with pytest.raises(ScenarioError) as info:
        load_scenario(source, **kwargs)
    return [str(p) for p in info.value.problems]


def edit(path: str, value: Any) -> dict[str, Any]:
    """``base()`` with ``value`` stored at a dotted path (``"services.0.desiredCount"``)."""
    doc = base()
    *parents, last = path.split(".")
    node: Any = doc
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node[key]
    if isinstance(node, list):
        node[int(last)] = value
    elif value is _DELETE:
        del node[last]
    else:
        node[last] = value
    return doc


_DELETE = object()


# -- a valid scenario -------------------------------------------------------------------------


def test_full_scenario_loads_with_the_right_values() -> None:
    sc = load_scenario(DATA / "scenario_full.yaml")

    assert (sc.name, sc.seed, sc.duration_s, sc.explain) == ("full", 42, 21600.0, True)
    assert sc.description.startswith("Every section")
    assert sc.source == str(DATA / "scenario_full.yaml")
    assert sc.clusters == ({"clusterName": "prod", "tags": [{"key": "team", "value": "platform"}]},)
    assert sc.instances == (
        InstanceGroup(
            cluster="prod",
            instance_type="m5.large",
            count=6,
            zones=("us-east-1a", "us-east-1b", "us-east-1c"),
            attributes={"tier": "web", "rack": "7"},
        ),
        InstanceGroup(
            cluster="prod",
            instance_type="c5.xlarge",
            count=2,
            zones=("us-east-1a",),
            attributes={},
            cpu=4000,
            memory_mib=7000,
            market="spot",
            at_s=1800.0,
        ),
    )
    families = [(td.family, td.revision) for td in sc.task_definitions]
    assert families == [("web", 1), ("worker", 1), ("worker", 2)]
    assert sc.task_definitions[0].request["containerDefinitions"][0]["image"] == "nginx:1.27"
    assert sc.task_definitions[2].request["containerDefinitions"][0]["memory"] == 2048

    (web,) = sc.services
    assert web["cluster"] == "prod" and web["desiredCount"] == 12
    assert web["placementStrategy"][1] == {"type": "binpack", "field": "memory"}
    assert "networkConfiguration" not in web  # null in the file: absent in the request
    assert web["loadBalancers"] == []

    assert sc.task_behavior == {
        "web": TaskBehavior(Forever(), Exponential(43200.0)),
        "worker": TaskBehavior(LogNormal(1200.0, 0.6), None),
    }
    assert sc.workloads == (
        Workload(
            index=0,
            cluster="prod",
            task_definition="worker:2",
            arrivals=Arrivals("poisson", rate_per_s=30 / 3600),
            count=2,
            group="batch",
            placement_constraints=({"type": "distinctInstance"},),
            start_s=600.0,
            stop_s=21600.0,
        ),
        Workload(
            index=1,
            cluster="prod",
            task_definition="worker",
            arrivals=Arrivals("times", times_s=(600.0, 3600.0, 7200.0)),
            stop_s=10800.0,
        ),
        Workload(
            index=2,
            cluster="prod",
            task_definition="worker",
            arrivals=Arrivals("interval", interval_s=120.0),
            stop_s=21600.0,
        ),
    )
    assert sc.faults == (
        InstanceFailure(index=0, cluster="prod", at_s=7200.0, zone="us-east-1a", count=2),
        InstanceFailure(
            index=1, cluster="prod", mtbf=Exponential(30 * 86400.0), replace_after_s=300.0
        ),
    )
    assert sc.actions[0] == Action(
        index=0,
        at_s=10800.0,
        call="update_service",
        kwargs={"cluster": "prod", "service": "web", "desiredCount": 18},
    )
    assert [(a.call, a.at_s) for a in sc.actions[1:]] == [
        ("register_task_definition", 14400.0),
        ("update_service", 14460.0),
    ]
    assert sc.parameters.image_pull == LogNormal(20.0, 0.5)
    assert sc.parameters.service_retry_interval == 300.0
    assert sc.parameters.stop_timeout == SimParameters().stop_timeout
    json.dumps(sc.document)  # JSON-able
    assert sc.document["services"][0]["desiredCount"] == 12


def test_defaults_are_filled() -> None:
    sc = load_scenario(base())

    assert (sc.name, sc.description, sc.seed, sc.explain, sc.source) == (
        "scenario",
        "",
        0,
        False,
        None,
    )
    (group,) = sc.instances
    assert group.zones == ("us-east-1a", "us-east-1b", "us-east-1c")
    assert (group.attributes, group.cpu, group.memory_mib, group.market, group.at_s) == (
        {},
        None,
        None,
        "on-demand",
        0.0,
    )
    (workload,) = sc.workloads
    assert (workload.count, workload.group, workload.start_s, workload.stop_s) == (
        1,
        None,
        0.0,
        6 * 3600.0,
    )
    assert sc.faults[0].count == 1 and sc.faults[0].replace_after_s is None
    assert sc.parameters == SimParameters()
    assert sc.behavior("web") == TaskBehavior(Forever(), None)
    assert sc.behavior("nobody") == TaskBehavior(Forever(), None)


def test_service_cluster_defaults_to_default() -> None:
    doc = base()
    doc["clusters"] = [{"clusterName": "default"}]
    doc["instances"][0]["cluster"] = "default"
    del doc["services"][0]["cluster"]
    doc["workloads"] = []
    doc["faults"] = []
    doc["actions"] = []
    sc = load_scenario(doc)
    assert sc.services[0]["cluster"] == "default"


def test_file_name_is_the_default_name(tmp_path: Path) -> None:
    path = tmp_path / "my-run.yaml"
    path.write_text("version: 1\nduration: 10m\n")
    sc = load_scenario(path)
    assert (sc.name, sc.duration_s, sc.source) == ("my-run", 600.0, str(path))


def test_scenario_is_frozen() -> None:
    sc = load_scenario(base())
    with pytest.raises(dataclasses.FrozenInstanceError):
        sc.seed = 3  # type: ignore[misc]
    assert isinstance(sc, Scenario)


def test_the_input_dict_is_not_modified_or_aliased() -> None:
    doc = base()
    before = copy.deepcopy(doc)
    sc = load_scenario(doc, overrides=["seed=5"])
    assert doc == before
    doc["services"][0]["desiredCount"] = 99
    assert sc.services[0]["desiredCount"] == 2
    assert sc.document["services"][0]["desiredCount"] == 2


def test_user_registered_strategy_is_accepted() -> None:
    @register_strategy("fewest-tasks-test")
    def fewest(field: Any, view: Any) -> Any:
        return -view.running_tasks

    try:
        doc = edit("services.0.placementStrategy", [{"type": "fewest-tasks-test"}])
        assert load_scenario(doc).services[0]["placementStrategy"] == [
            {"type": "fewest-tasks-test"}
        ]
    finally:
        unregister_strategy("fewest-tasks-test")
    assert problems_of(doc) == [
        "services[0].placementStrategy[0]: unknown placement strategy 'fewest-tasks-test'; "
        "known: binpack, spread, random"
    ]


def test_actions_may_use_services_and_revisions_they_create() -> None:
    doc = base()
    doc["actions"] = [
        {"at": "1h", "register_task_definition": copy.deepcopy(WORKER)},
        {
            "at": "2h",
            "create_service": {
                "cluster": "prod",
                "serviceName": "batch",
                "taskDefinition": "worker:2",
                "desiredCount": 1,
            },
        },
        {"at": "3h", "delete_service": {"cluster": "prod", "service": "batch", "force": True}},
        {"at": "4h", "update_container_instances_state": {
            "cluster": "prod", "containerInstances": ["i-1"], "status": "DRAINING"}},
        {"at": "5h", "put_attributes": {
            "cluster": "prod", "attributes": [{"name": "tier", "value": "db", "targetId": "i-1"}]}},
        {"at": "6h", "run_task": {"cluster": "prod", "taskDefinition": "worker", "count": 10}},
    ]  # fmt: skip
    sc = load_scenario(doc)
    assert [a.call for a in sc.actions] == [
        "register_task_definition",
        "create_service",
        "delete_service",
        "update_container_instances_state",
        "put_attributes",
        "run_task",
    ]
    assert sc.actions[1].kwargs["taskDefinition"] == "worker:2"


def test_validate_file(tmp_path: Path) -> None:
    assert validate_file(DATA / "scenario_full.yaml") == []
    path = tmp_path / "bad.yaml"
    path.write_text("version: 1\nduration: soon\n")
    assert validate_file(path) == [
        Problem("duration", 'expected a duration such as 90s, 5m, 2h or 7d, got "soon"')
    ]


# -- one mistake, one exact message -----------------------------------------------------------

CASES = [
    # top level
    (edit("version", 2), "version: unsupported version 2; this ecssim reads version 1"),
    (edit("version", _DELETE), "version: missing required key"),
    (edit("duration", _DELETE), "duration: missing required key"),
    (edit("duration", "0s"), 'duration: expected a duration > 0, got "0s"'),
    (edit("duration", -5), "duration: expected a duration >= 0, got -5"),
    (edit("seed", -1), "seed: expected an integer >= 0, got -1"),
    (edit("seed", True), "seed: expected an integer >= 0, got true"),
    (edit("explain", "yes"), 'explain: expected true or false, got "yes"'),
    (edit("name", 7), "name: expected a string, got 7"),
    (edit("servces", []), "servces: unknown key; did you mean services?"),
    (edit("services", {}), "services: expected a list, got a mapping"),
    # clusters
    (
        edit("clusters.0", {"clusterNme": "prod", "clusterName": "prod"}),
        "clusters[0].clusterNme: unknown key; did you mean clusterName?",
    ),
    (
        edit("clusters.0", {"clusterName": "prod", "settingz": []}),
        "clusters[0].settingz: unknown key; did you mean settings?",
    ),
    (
        edit("clusters.0", {"clusterName": "prod", "zzz": 1}),
        "clusters[0].zzz: unknown key (not in botocore's ECS CreateClusterRequest)",
    ),
    (edit("clusters.0", {"tags": []}), "clusters[0].clusterName: missing required key"),
    (edit("clusters.0.clusterName", 12), "clusters[0].clusterName: expected a string, got 12"),
    (
        edit("clusters.0.clusterName", "my prod"),
        'clusters[0].clusterName: expected up to 255 letters, numbers, hyphens and '
        'underscores, got "my prod"',
    ),
    # instances
    (
        edit("instances.0.instance_type", "m5.lage"),
        "instances[0].instance_type: unknown instance type 'm5.lage'; did you mean m5.large?",
    ),
    (
        edit("instances.0.cluster", "prd"),
        "instances[0].cluster: no cluster named 'prd' (declared: prod)",
    ),
    (edit("instances.0.count", "ten"), 'instances[0].count: expected an integer >= 0, got "ten"'),
    (edit("instances.0.count", 2.5), "instances[0].count: expected an integer >= 0, got 2.5"),
    (
        edit("instances.0.cpu", 0),
        "instances[0].cpu: expected an integer from 1 to 536870911, got 0",
    ),
    (
        edit("instances.0.zones", []),
        "instances[0].zones: expected a non-empty list of zones, got a list",
    ),
    (edit("instances.0.zones", ["a", 3]), "instances[0].zones[1]: expected a string, got 3"),
    (
        edit("instances.0.market", "reserved"),
        'instances[0].market: expected on-demand or spot, got "reserved"',
    ),
    (
        edit("instances.0.attributes", {"ecs.tier": "web"}),
        "instances[0].attributes[\"ecs.tier\"]: attribute names starting with 'ecs.' are "
        "reserved for ECS",
    ),
    (
        edit("instances.0.attributes", {"tier": "a,b"}),
        'instances[0].attributes.tier: invalid attribute value "a,b": use 1-128 letters, '
        "digits, spaces and - _ . @ / \\ : (no leading or trailing space)",
    ),
    (
        edit("instances.0.attributes", {"tier": None}),
        "instances[0].attributes.tier: expected a string value, got null",
    ),
    (
        edit("instances.0.instanceType", "m5.large"),
        "instances[0].instanceType: unknown key; did you mean instance_type?",
    ),
    (
        edit("instances.0.at", "soon"),
        'instances[0].at: expected a duration such as 90s, 5m, 2h or 7d, got "soon"',
    ),
    # services
    (
        edit("services.0.desiredCount", "ten"),
        'services[0].desiredCount: expected an integer >= 0, got "ten"',
    ),
    (edit("services.0.desiredCount", _DELETE), "services[0].desiredCount: missing required key"),
    (edit("services.0.serviceName", _DELETE), "services[0].serviceName: missing required key"),
    (
        edit("services.0.taskDefinition", "wbe"),
        "services[0].taskDefinition: no task definition with family 'wbe' "
        "(declared: web, worker)",
    ),
    (
        edit("services.0.taskDefinition", "web:2"),
        "services[0].taskDefinition: no revision 2 of family 'web' (declared: revision 1)",
    ),
    (
        edit("services.0.taskDefinition", "web:latest"),
        "services[0].taskDefinition: expected family, family:revision or a task definition "
        'ARN, got "web:latest"',
    ),
    (
        edit("services.0.desiredCont", 3),
        "services[0].desiredCont: unknown key; did you mean desiredCount?",
    ),
    (
        edit("services.0.desired_count", 3),
        "services[0].desired_count: unknown key; did you mean desiredCount?",
    ),
    (
        edit("services.0.launchType", "FARGATE"),
        "services[0].launchType: launchType FARGATE is not simulated yet (EC2 only)",
    ),
    (
        edit("services.0.schedulingStrategy", "DAEMON"),
        "services[0].desiredCount: a DAEMON service runs one task per instance and takes no "
        "desiredCount",
    ),
    (
        edit(
            "services.0.deploymentConfiguration",
            {"deploymentCircuitBreaker": {"enable": "yes", "rollback": True}},
        ),
        "services[0].deploymentConfiguration.deploymentCircuitBreaker.enable: expected true or "
        'false, got "yes"',
    ),
    (
        edit("services.0.deploymentController", {"type": "CODE_DEPLOY"}),
        "services[0].deploymentController.type: deploymentController CODE_DEPLOY is not "
        "simulated yet (ECS rolling updates only)",
    ),
    (
        edit("services.0.schedulingStrategy", "DAEMONS"),
        'services[0].schedulingStrategy: expected REPLICA or DAEMON, got "DAEMONS"',
    ),
    (
        edit("services.0.propagateTags", "SERVCE"),
        'services[0].propagateTags: expected one of TASK_DEFINITION, SERVICE, NONE, got "SERVCE"',
    ),
    (
        edit("services.0.enableExecuteCommand", "true"),
        'services[0].enableExecuteCommand: expected true or false, got "true"',
    ),
    (edit("services.0.serviceName", 5), "services[0].serviceName: expected a string, got 5"),
    (
        edit("services.0.cluster", "prd"),
        "services[0].cluster: no cluster named 'prd' (declared: prod)",
    ),
    (
        edit("services.0.placementStrategy", [{"type": "binpack", "field": "disk"}]),
        "services[0].placementStrategy[0]: binpack takes field cpu or memory, got 'disk'",
    ),
    (
        edit("services.0.placementStrategy", [{"type": "random"}] * 6),
        "services[0].placementStrategy: at most 5 placement strategies, got 6",
    ),
    (
        edit("services.0.placementStrategy", [{"typ": "random"}]),
        "services[0].placementStrategy[0].typ: unknown key; did you mean type?",
    ),
    (
        edit("services.0.placementConstraints", [{"type": "distinctInstance"}] * 11),
        "services[0].placementConstraints: at most 10 placement constraints, got 11",
    ),
    (
        edit("services.0.placementConstraints", [{"type": "memberOf"}]),
        "services[0].placementConstraints[0].expression: missing required key (memberOf needs "
        "one)",
    ),
    (
        edit(
            "services.0.placementConstraints",
            [{"type": "memberOf", "expression": "attribute:tier =="}],
        ),
        "services[0].placementConstraints[0].expression: expected a value after "
        "'attribute:tier ==' at position 17",
    ),
    (
        edit("services.0.placementConstraints", [{"type": "distinctInstance", "expression": "x"}]),
        "services[0].placementConstraints[0].expression: distinctInstance takes no expression",
    ),
    (
        edit("services.0.placementConstraints", [{"type": "sameZone"}]),
        'services[0].placementConstraints[0].type: expected distinctInstance or memberOf, got '
        '"sameZone"',
    ),
    (
        edit("services.0.deploymentConfiguration", {"maximumPercent": -1}),
        "services[0].deploymentConfiguration.maximumPercent: expected an integer >= 0, got -1",
    ),
    (
        edit("services.0.deploymentConfiguration", {"minimumHealthyPercnt": 50}),
        "services[0].deploymentConfiguration.minimumHealthyPercnt: unknown key; did you mean "
        "minimumHealthyPercent?",
    ),
    # task behaviour
    (
        edit("task_behavior", {"wbe": {"runtime": "forever"}}),
        "task_behavior.wbe: no task definition with family 'wbe' (declared: web, worker)",
    ),
    (
        edit("task_behavior", {"web": {"runtme": "1h"}}),
        "task_behavior.web.runtme: unknown key; did you mean runtime?",
    ),
    (
        edit("task_behavior", {"web": {"crash": {"mtbf": "forever"}}}),
        "task_behavior.web.crash.mtbf: 'forever' is only allowed for run times",
    ),
    (
        edit("task_behavior", {"web": {"runtime": {"lognormal": {"median": "20m"}}}}),
        "task_behavior.web.runtime: lognormal: missing sigma (takes median, sigma)",
    ),
    # workloads
    (
        edit("workloads.0.arrivals", {"poisson": {"rate": "30/x"}}),
        'workloads[0].arrivals.poisson.rate: expected a rate such as 30/h, 0.5/s or 720/d, got '
        '"30/x"',
    ),
    (
        edit("workloads.0.arrivals", {"poison": {"rate": "30/h"}}),
        "workloads[0].arrivals.poison: unknown arrival process; did you mean poisson?",
    ),
    (
        edit("workloads.0.arrivals", {"interval": 0}),
        "workloads[0].arrivals.interval: expected a duration > 0, got 0",
    ),
    (edit("workloads.0.count", 11), "workloads[0].count: expected an integer from 1 to 10, got 11"),
    (
        edit("workloads.0.start", "7h"),
        "workloads[0].start: start (7h) is after the scenario's duration (6h), where the "
        "workload stops",
    ),
    (edit("workloads.0.arrivals", _DELETE), "workloads[0].arrivals: missing required key"),
    (
        edit("workloads.0.taskDefinition", "worker:3"),
        "workloads[0].taskDefinition: no revision 3 of family 'worker' (declared: revision 1)",
    ),
    (edit("workloads.0.group", 7), "workloads[0].group: expected a string, got 7"),
    # faults
    (
        edit("faults.0", {"instance_failure": {"cluster": "prod"}}),
        "faults[0].instance_failure: expected exactly one of at (a time) and mtbf (a "
        "distribution)",
    ),
    (
        edit("faults.0", {"instance_failure": {"cluster": "prod", "mtbf": "1d", "count": 2}}),
        "faults[0].instance_failure.count: count is only allowed with at (mtbf applies to "
        "every instance)",
    ),
    (
        edit(
            "faults.0",
            {"instance_failure": {"cluster": "prod", "at": "1h", "zone": "us-east-1d"}},
        ),
        "faults[0].instance_failure.zone: no instances of cluster 'prod' in zone 'us-east-1d' "
        "(zones: us-east-1a, us-east-1b, us-east-1c)",
    ),
    (
        edit("faults.0", {"az_outage": {"zone": "us-east-1a", "at": "1h"}}),
        "faults[0].az_outage.duration: missing required key",
    ),
    (
        edit("faults.0", {"image_pull_failure": {"cluster": "prod", "at": "1h"}}),
        "faults[0].image_pull_failure: fault kind image_pull_failure is not simulated yet "
        "(known: instance_failure, instance_stop, agent_disconnect, az_outage, spot_interruption)",
    ),
    (
        edit("faults.0", {"instance_failur": {"cluster": "prod", "at": "1h"}}),
        "faults[0].instance_failur: unknown fault kind; did you mean instance_failure?",
    ),
    (
        edit("faults.0", "instance_failure"),
        "faults[0]: expected a mapping with one key, the fault kind, such as "
        "{instance_failure: {cluster: prod, at: 2h}}",
    ),
    # actions
    (
        edit("actions.0.update_service.foo", 1),
        "actions[0].update_service.foo: unknown key (not in botocore's ECS UpdateServiceRequest)",
    ),
    (
        edit("actions.0", {"at": "1h", "updat_service": {"service": "web"}}),
        "actions[0].updat_service: unknown call; did you mean update_service?",
    ),
    (
        edit("actions.0", {"at": "1h", "run_task": {"cluster": "prod"}}),
        "actions[0].run_task.taskDefinition: missing required key",
    ),
    (
        edit("actions.0", {"at": "1h", "update_service": {"cluster": "prod", "service": "wbe"}}),
        "actions[0].update_service.service: no service 'wbe' in cluster 'prod' (declared: web)",
    ),
    (
        edit("actions.0", {"update_service": {"cluster": "prod", "service": "web"}}),
        "actions[0].at: missing required key",
    ),
    (
        edit("actions.0", {"at": "1h", "update_container_instances_state": {
            "cluster": "prod", "containerInstances": ["i-1"], "status": "REGISTERING"}}),
        "actions[0].update_container_instances_state.status: expected ACTIVE or DRAINING (the "
        'states this call sets), got "REGISTERING"',
    ),
    (
        edit("actions.0", {"at": "1h", "run_task": {"taskDefinition": "web", "count": 20,
                                                    "cluster": "prod"}}),
        "actions[0].run_task.count: expected an integer from 1 to 10, got 20",
    ),
    # parameters
    (
        edit("parameters", {"image_pul": "3s"}),
        "parameters.image_pul: unknown key; did you mean image_pull?",
    ),
    (
        edit("parameters", {"stop_timeout": "abc"}),
        'parameters.stop_timeout: expected a duration such as 90s, 5m, 2h or 7d, got "abc"',
    ),
    (
        edit("parameters", {"image_pull": {"exponentail": {"mean": "3s"}}}),
        "parameters.image_pull: unknown distribution 'exponentail'; known: exponential, "
        "lognormal, uniform, gamma, weibull, empirical",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("doc", "expected"), CASES, ids=[c[1].split(":")[0] for c in CASES])
def test_each_mistake_gives_one_exact_message(doc: dict[str, Any], expected: str) -> None:
    assert problems_of(doc) == [expected]


def test_every_problem_is_reported_at_once_in_file_order() -> None:
    doc = base()
    doc["clusters"][0]["clusterNme"] = "x"
    doc["services"][0]["desiredCount"] = "ten"
    doc["services"][0]["taskDefinition"] = "wbe"
    doc["instances"][0]["instance_type"] = "m5.lage"
    doc["parameters"] = {"image_pul": "3s"}
    doc = {"servces": [], **doc}
    assert problems_of(doc) == [
        "servces: unknown key; did you mean services?",
        "clusters[0].clusterNme: unknown key; did you mean clusterName?",
        "instances[0].instance_type: unknown instance type 'm5.lage'; did you mean m5.large?",
        "services[0].taskDefinition: no task definition with family 'wbe' (declared: web, worker)",
        'services[0].desiredCount: expected an integer >= 0, got "ten"',
        "parameters.image_pul: unknown key; did you mean image_pull?",
    ]


def test_duplicates_are_reported() -> None:
    doc = base()
    doc["clusters"].append({"clusterName": "prod"})
    doc["services"].append(dict(doc["services"][0]))
    assert problems_of(doc) == [
        "clusters[1].clusterName: duplicate cluster 'prod' (also clusters[0])",
        "services[1].serviceName: duplicate service 'web' in cluster 'prod' (also services[0])",
    ]


def test_a_bad_cluster_entry_does_not_cascade_into_reference_errors() -> None:
    doc = base()
    doc["clusters"][0]["clusterName"] = 12
    assert problems_of(doc) == ["clusters[0].clusterName: expected a string, got 12"]


# -- task definitions -------------------------------------------------------------------------


def test_task_definition_file_is_read_relative_to_the_scenario(tmp_path: Path) -> None:
    (tmp_path / "taskdefs").mkdir()
    (tmp_path / "taskdefs" / "web.json").write_text(json.dumps(WEB))
    doc = base()
    doc["task_definitions"][0] = {"file": "taskdefs/web.json"}
    path = tmp_path / "s.yaml"
    path.write_text(json.dumps(doc))
    sc = load_scenario(path)
    assert [td.family for td in sc.task_definitions] == ["web", "worker"]


def test_task_definition_problems_are_prefixed_with_the_entry_and_file(tmp_path: Path) -> None:
    bad = {"family": "api", "containerDefinitions": [{"name": "api", "image": "api:1"}]}
    (tmp_path / "taskdefs").mkdir()
    (tmp_path / "taskdefs" / "api.json").write_text(json.dumps(bad))
    doc = base()
    doc["task_definitions"].append({"file": "taskdefs/api.json"})
    doc["task_definitions"].append(copy.deepcopy(bad))
    doc["services"][0]["taskDefinition"] = "api"  # the family is known although invalid
    path = tmp_path / "s.yaml"
    path.write_text(json.dumps(doc))
    problems = problems_of(path)
    assert len(problems) == 2
    file_problem, inline_problem = problems
    assert file_problem.startswith("task_definitions[2] (taskdefs/api.json): ")
    assert inline_problem.startswith("task_definitions[3]: ")
    # The task definition module's own message follows the entry's location.
    assert file_problem.split(": ", 1)[1] == inline_problem.split(": ", 1)[1]
    assert "memory" in file_problem


def test_task_definition_file_missing_or_not_json(tmp_path: Path) -> None:
    (tmp_path / "broken.json").write_text("{not json")
    doc = base()
    doc["task_definitions"] += [{"file": "missing.json"}, {"file": "broken.json", "extra": 1}]
    path = tmp_path / "s.yaml"
    path.write_text(json.dumps(doc))
    problems = problems_of(path)
    assert problems[0] == (
        f"task_definitions[2].file: no such file: missing.json (looked in {tmp_path})"
    )
    assert problems[1].startswith("task_definitions[3].extra: unknown key; an entry with file")
    assert problems[2].startswith("task_definitions[3] (broken.json): Invalid JSON")
    assert len(problems) == 3


def test_revisions_count_per_family_in_order() -> None:
    doc = base()
    doc["task_definitions"] = [copy.deepcopy(WEB), copy.deepcopy(WORKER), copy.deepcopy(WEB)]
    doc["task_definitions"][0]["revision"] = 7  # describe output: ignored
    doc["task_definitions"][0]["taskDefinitionArn"] = (
        "arn:aws:ecs:us-east-1:1:task-definition/web:7"
    )
    sc = load_scenario(doc, overrides={"services[web].taskDefinition": "web:2"})
    assert [(td.family, td.revision) for td in sc.task_definitions] == [
        ("web", 1),
        ("worker", 1),
        ("web", 2),
    ]


def test_task_definition_arn_reference() -> None:
    arn = "arn:aws:ecs:us-east-1:123456789012:task-definition/web:1"
    assert (
        load_scenario(edit("services.0.taskDefinition", arn)).services[0]["taskDefinition"] == arn
    )


# -- reading files ----------------------------------------------------------------------------


def write(tmp_path: Path, content: str | bytes, name: str = "s.yaml") -> Path:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    return path


def test_yaml_syntax_error_has_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, "version: 1\nduration: 6h\nservices: [\n  {a: 1\n")
    (problem,) = problems_of(path)
    assert problem.startswith(f"{path}:5:1: invalid YAML: ")
    assert "\n" not in problem


def test_yaml_bad_indentation(tmp_path: Path) -> None:
    path = write(tmp_path, "version: 1\n  duration: 6h\n")
    assert problems_of(path) == [f"{path}:2:11: invalid YAML: mapping values are not allowed here"]


def test_duplicate_yaml_key_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, "version: 1\nduration: 6h\nduration: 1h\n")
    assert problems_of(path) == [f"{path}:3:1: invalid YAML: duplicate key 'duration'"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "empty scenario"),
        ("# nothing but a comment\n", "empty scenario"),
        ("- version: 1\n", "expected a mapping of sections (version, duration, ...), got a list"),
        ("just text", 'expected a mapping of sections (version, duration, ...), got "just text"'),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "not a text file (it holds binary data)"),
        (b"version: 1\nname: caf\xe9\n", "not a UTF-8 text file (byte 0xe9 at offset 20)"),
        (b"version: 1\x07\n", "not a text file (unacceptable character #x0007 at offset 10)"),
    ],
)
def test_unreadable_files_give_one_clean_line(
    tmp_path: Path, content: str | bytes, message: str
) -> None:
    path = write(tmp_path, content)
    assert problems_of(path) == [f"{path}: {message}"]


def test_missing_file_and_directory(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    assert problems_of(missing) == [f"{missing}: no such file"]
    assert problems_of(str(tmp_path)) == [f"{tmp_path}: is a directory, not a scenario file"]


def test_empirical_file_is_relative_to_the_scenario(tmp_path: Path) -> None:
    (tmp_path / "runtimes.csv").write_text("seconds\n60\n120\n")
    doc = base()
    doc["task_behavior"] = {"worker": {"runtime": {"empirical": {"file": "runtimes.csv"}}}}
    sc = load_scenario(write(tmp_path, json.dumps(doc)))
    assert sc.behavior("worker").runtime.mean() == 90.0


# -- overrides --------------------------------------------------------------------------------


def test_overrides_are_applied_before_validation() -> None:
    sc = load_scenario(
        base(),
        overrides=[
            "services[web].desiredCount=9",
            "instances[0].count=5",
            "parameters.image_pull={exponential: {mean: 10s}}",
            "seed=11",
            "faults[0].instance_failure.at=90m",
        ],
    )
    assert sc.services[0]["desiredCount"] == 9
    assert sc.instances[0].count == 5
    assert sc.parameters.image_pull == Exponential(10.0)
    assert sc.seed == 11
    assert sc.faults[0].at_s == 5400.0
    assert sc.document["services"][0]["desiredCount"] == 9
    assert sc.document["parameters"] == {"image_pull": {"exponential": {"mean": "10s"}}}


def test_overrides_as_a_mapping() -> None:
    sc = load_scenario(base(), overrides={"services[web].desiredCount": 7, "duration": "1h"})
    assert (sc.services[0]["desiredCount"], sc.duration_s) == (7, 3600.0)
    assert sc.workloads[0].stop_s == 3600.0  # the default stop follows the overridden duration


def test_a_bad_override_value_is_reported_at_the_overridden_path() -> None:
    assert problems_of(base(), overrides=["services[web].desiredCount=ten"]) == [
        'services[0].desiredCount: expected an integer >= 0, got "ten" '
        "(set by override services[web].desiredCount)"
    ]


def test_bad_override_paths_and_syntax_are_reported_with_the_rest() -> None:
    problems = problems_of(
        edit("seed", -1),
        overrides=["services[wbe].desiredCount=3", "no equals sign", "name={unclosed"],
    )
    assert problems[0] == "services[wbe].desiredCount: no service named 'wbe' (known: web)"
    assert problems[1] == "no equals sign: expected an override PATH=VALUE"
    assert problems[2].startswith("name: invalid override value '{unclosed': ")
    assert problems[3] == "seed: expected an integer >= 0, got -1"
    assert len(problems) == 4


def test_override_typo_becomes_an_unknown_key() -> None:
    assert problems_of(base(), overrides=["services[web].desiredCont=3"]) == [
        "services[0].desiredCont: unknown key; did you mean desiredCount? "
        "(set by override services[web].desiredCont)"
    ]


def test_overrides_on_a_file(tmp_path: Path) -> None:
    path = write(tmp_path, json.dumps(base()))
    sc = load_scenario(path, overrides=["name=tuned"])
    assert sc.name == "tuned" and sc.document["name"] == "tuned"


# -- the generated botocore shapes ------------------------------------------------------------


def test_generated_request_shapes_match_botocore() -> None:
    """The embedded shapes equal a fresh generation from the installed botocore.

    After a botocore upgrade this fails until ``tools/gen_ecs_requests.py`` is run again. When
    the installed botocore is another version than the one recorded, only the essentials are
    compared (every embedded member still exists; required keys are unchanged), so a fresh
    install of a newer botocore does not break ``make test``.
    """
    session = pytest.importorskip("botocore.session")
    botocore_version = importlib.import_module("botocore").__version__
    spec = importlib.util.spec_from_file_location("gen", ROOT / "tools" / "gen_ecs_requests.py")
    assert spec is not None and spec.loader is not None
    generator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generator)
    model = session.get_session().get_service_model("ecs")
    text = generator.render(model, botocore_version)
    current = (ROOT / "ecssim" / "scenario" / "ecs_requests.py").read_text(encoding="utf-8")
    if botocore_version == ecs_requests.BOTOCORE_VERSION:
        assert text == current, "run tools/gen_ecs_requests.py"
    fresh = generator.describe(model)
    for name, shape in ecs_requests.SHAPES.items():
        assert set(shape.members) <= set(fresh[name]["members"]), name
        assert set(shape.required) == set(fresh[name]["required"]), name


def test_embedded_shapes_cover_every_action_call() -> None:
    assert set(ecs_requests.ACTION_CALLS.values()) <= set(ecs_requests.SHAPES)
    assert ecs_requests.SHAPES["CreateServiceRequest"].required == ("serviceName",)
    assert ecs_requests.SHAPES["RunTaskRequest"].members["count"].type == "integer"


# -- robustness -------------------------------------------------------------------------------

_json = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 12) | st.floats(allow_nan=False)
    | st.sampled_from(["", "web", "prod", "6h", "forever", "m5.large", "x:y", "30/h"]),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.sampled_from(["type", "at", "cluster", "file", "rate", "a"]),
                      children, max_size=3),
    max_leaves=8,
)  # fmt: skip
_paths = st.sampled_from(
    [
        "version",
        "duration",
        "clusters",
        "clusters.0",
        "instances.0",
        "instances.0.zones",
        "instances.0.attributes",
        "task_definitions.0",
        "services.0",
        "services.0.placementStrategy",
        "services.0.placementConstraints",
        "services.0.deploymentConfiguration",
        "task_behavior",
        "workloads.0.arrivals",
        "workloads.0",
        "faults.0",
        "faults.0.instance_failure",
        "actions.0",
        "actions.0.update_service",
        "parameters",
    ]
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(edits=st.lists(st.tuples(_paths, _json), min_size=1, max_size=3))
def test_any_document_loads_or_raises_scenario_error(edits: list[tuple[str, Any]]) -> None:
    doc = base()
    for path, value in edits:
        doc = _put(doc, path, value)
    try:
        sc = load_scenario(doc)
    except ScenarioError as err:
        assert err.problems
        for problem in err.problems:
            assert "\n" not in str(problem)
    else:
        assert math.isfinite(sc.duration_s)


def _put(doc: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    node: Any = doc
    *parents, last = path.split(".")
    for key in parents:
        if isinstance(node, list) and not key.isdigit():
            return doc
        child = node[int(key)] if isinstance(node, list) else node.get(key)
        if not isinstance(child, dict | list) or (isinstance(child, list) and not child):
            return doc
        node = child
    if isinstance(node, list) and last.isdigit():
        node[int(last)] = value
    elif isinstance(node, dict):
        node[last] = value
    return doc


# -- the reference page and docstrings --------------------------------------------------------

REFERENCE = ROOT / "docs" / "scenario-reference.md"


def _block_after(marker: str, language: str, start: int = 0) -> tuple[str, int]:
    text = REFERENCE.read_text(encoding="utf-8")
    at = text.index(marker, start) if marker else start
    opening = text.index(f"```{language}\n", at) + len(language) + 4
    closing = text.index("```", opening)
    return text[opening:closing], closing


def test_reference_example_loads(tmp_path: Path) -> None:
    yaml_text, _ = _block_after("<!-- checked: loads -->", "yaml")
    sc = load_scenario(write(tmp_path, yaml_text, "quickstart.yaml"))
    assert sc.name == "quickstart" and len(sc.services) == 1


def test_reference_error_example_gives_the_documented_output(tmp_path: Path) -> None:
    yaml_text, end = _block_after("<!-- checked: errors -->", "yaml")
    expected, _ = _block_after("", "text", end)
    assert problems_of(write(tmp_path, yaml_text)) == expected.strip().splitlines()


def test_reference_python_example_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    text = REFERENCE.read_text(encoding="utf-8")
    code, _ = _block_after("## From Python", "python", text.index("## From Python"))
    monkeypatch.chdir(ROOT)
    namespace: dict[str, Any] = {}
    exec(compile(code, str(REFERENCE), "exec"), namespace)
    assert namespace["sc"].services[0]["desiredCount"] == 9


def test_reference_lists_every_parameter_and_top_level_key() -> None:
    text = REFERENCE.read_text(encoding="utf-8")
    for name in SimParameters.names():
        assert f"| `{name}` |" in text, name
    from ecssim.scenario.loader import TOP_KEYS

    for key in TOP_KEYS:
        assert f"| `{key}` |" in text, key


def test_docstring_examples() -> None:
    import doctest

    from ecssim.scenario import loader, paths

    for module in (paths, loader):
        result = doctest.testmod(module)
        assert result.failed == 0 and result.attempted > 0, module.__name__
