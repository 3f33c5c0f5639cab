"""Every public ``sim.ecs`` call returns what botocore's ECS output shape allows.

``tests/test_client.py`` holds the validator (``check``); here every public method of
:class:`ECSClient` is driven at least once through a proxy that validates each response, and a
guard fails when a public method has no shape-checked call, so a new call cannot slip through.
"""

from __future__ import annotations

import inspect
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from botocore import xform_name
from conftest import container, register
from test_client import _MODEL, check

from ecssim.control.client import ECSClient
from ecssim.errors import InputError
from ecssim.model.taskdef import load_task_definition_file
from ecssim.simulation import Simulation

TASKDEFS = Path(__file__).resolve().parents[1].parent / "shared" / "realworld" / "taskdefs"

#: boto3 method name -> botocore operation name, for every ECS operation.
OPERATIONS = {xform_name(name): name for name in _MODEL.operation_names}


def public_calls() -> set[str]:
    """The public API methods of :class:`ECSClient` (everything callable without ``_``)."""
    return {name for name, _ in inspect.getmembers(ECSClient, callable) if not name.startswith("_")}


class ShapeChecked:
    """A proxy over ``sim.ecs`` that validates every response and counts the calls checked."""

    def __init__(self, client: ECSClient) -> None:
        self._client = client
        self.checked: Counter[str] = Counter()

    def __getattr__(self, name: str) -> Any:
        member = getattr(self._client, name)
        if name.startswith("_") or not callable(member):
            return member
        operation = OPERATIONS[name]

        def call(*args: Any, **kwargs: Any) -> Any:
            response = check(operation, member(*args, **kwargs))
            self.checked[name] += 1
            return response

        return call


def _web(ecs: ShapeChecked, port: int = 8080) -> dict:
    return ecs.register_task_definition(
        family="web",
        networkMode="bridge",
        containerDefinitions=[
            container(
                "app",
                portMappings=[{"containerPort": 80, "hostPort": port, "protocol": "tcp"}],
            )
        ],
    )["taskDefinition"]


def drive_every_call(sim: Simulation) -> Counter[str]:
    """Call every public ECSClient method at least once; return the calls shape-checked."""
    ecs = ShapeChecked(sim.ecs)
    ecs.create_cluster(clusterName="prod")
    clusters = ecs.describe_clusters(clusters=["prod", "ghost"])
    assert [c["clusterName"] for c in clusters["clusters"]] == ["prod"]
    assert clusters["failures"][0]["reason"] == "MISSING"
    sim.launch_instances("prod", "m5.large", count=3, attributes={"tier": "web"})
    assert _web(ecs)["revision"] == 1
    ecs.register_task_definition(family="job", containerDefinitions=[container(memory=256)])
    ecs.describe_task_definition(taskDefinition="web:1")
    sim.run(until="4m")

    run = ecs.run_task(cluster="prod", taskDefinition="job", count=2)
    assert len(run["tasks"]) == 2
    ecs.register_task_definition(family="big", containerDefinitions=[container(memory=100_000)])
    assert ecs.run_task(cluster="prod", taskDefinition="big")["failures"]
    arns = ecs.list_container_instances(cluster="prod")["containerInstanceArns"]
    assert len(arns) == 3
    ecs.start_task(cluster="prod", taskDefinition="job", containerInstances=arns[:1])
    put = ecs.put_attributes(
        cluster="prod", attributes=[{"name": "stack", "value": "blue", "targetId": arns[0]}]
    )
    assert put["attributes"][0]["targetId"] == arns[0]
    deleted = ecs.delete_attributes(
        cluster="prod", attributes=[{"name": "stack", "targetId": arns[0]}]
    )
    assert deleted["attributes"][0]["name"] == "stack"

    ecs.create_service(cluster="prod", serviceName="web", taskDefinition="web", desiredCount=2)
    sim.run(until="10m")
    ecs.update_service(cluster="prod", service="web", desiredCount=1)
    sim.run(until="12m")
    services = ecs.describe_services(cluster="prod", services=["web", "ghost"])
    assert services["services"][0]["runningCount"] == 1
    assert services["failures"][0]["reason"] == "MISSING"
    assert ecs.list_services(cluster="prod")["serviceArns"]
    ecs.update_service(cluster="prod", service="web", desiredCount=0)
    gone = ecs.delete_service(cluster="prod", service="web")
    assert gone["service"]["status"] != "ACTIVE"

    listed = ecs.list_tasks(cluster="prod")["taskArns"]
    stopped = ecs.stop_task(cluster="prod", task=listed[0], reason="shape test")
    assert stopped["task"]["desiredStatus"] == "STOPPED"
    sim.run(until="15m")
    every = listed + ecs.list_tasks(cluster="prod", desiredStatus="STOPPED")["taskArns"]
    described = ecs.describe_tasks(cluster="prod", tasks=every)
    assert {t["lastStatus"] for t in described["tasks"]} >= {"RUNNING", "STOPPED"}

    drained = ecs.update_container_instances_state(
        cluster="prod", containerInstances=[arns[2], "ghost"], status="DRAINING"
    )
    assert drained["containerInstances"][0]["status"] == "DRAINING"
    assert drained["failures"][0]["reason"] == "MISSING"
    ecs.update_container_instances_state(
        cluster="prod", containerInstances=[arns[2]], status="ACTIVE"
    )
    out = ecs.deregister_container_instance(cluster="prod", containerInstance=arns[2], force=True)
    assert out["containerInstance"]["status"] == "INACTIVE"
    described_ci = ecs.describe_container_instances(
        cluster="prod", containerInstances=[*arns[:2], "ghost"]
    )
    assert len(described_ci["containerInstances"]) == 2 and described_ci["failures"]
    gone_td = ecs.deregister_task_definition(taskDefinition="big:1")
    assert gone_td["taskDefinition"]["status"] == "INACTIVE"
    assert ecs.describe_clusters(clusters=["prod"])["clusters"][0]["activeServicesCount"] == 0
    return ecs.checked


@pytest.fixture(scope="module")
def checked() -> Counter[str]:
    return drive_every_call(Simulation(seed=7))


def test_every_call_matches_botocore_shapes(checked: Counter[str]) -> None:
    assert checked["describe_clusters"] == 2
    assert checked["update_container_instances_state"] == 2
    assert sum(checked.values()) >= len(public_calls())


def test_every_public_call_is_shape_checked(checked: Counter[str]) -> None:
    calls = public_calls()
    not_ecs = sorted(calls - OPERATIONS.keys())
    assert not not_ecs, f"public ECSClient methods that are no ECS operation: {not_ecs}"
    unchecked = sorted(calls - checked.keys())
    assert not unchecked, f"public ECSClient calls with no shape-checked call: {unchecked}"


def test_guard_sees_public_methods(checked: Counter[str], monkeypatch: pytest.MonkeyPatch) -> None:
    # The guard must enumerate the real API, not an empty or private set, and notice a new one.
    calls = public_calls()
    assert {"run_task", "describe_services", "put_attributes", "delete_attributes"} <= calls
    assert not any(name.startswith("_") for name in calls)
    monkeypatch.setattr(ECSClient, "list_clusters", lambda self: {"clusterArns": []}, raising=False)
    assert public_calls() - checked.keys() == {"list_clusters"}


def test_describe_services_mid_rollout(sim: Simulation) -> None:
    ecs = ShapeChecked(sim.ecs)
    sim.launch_instances("prod", "m5.large", count=4)
    first = register(sim, "api", memory=512)
    ecs.create_service(cluster="prod", serviceName="api", taskDefinition="api", desiredCount=3)
    sim.run(until="5m")
    steady = ecs.describe_services(cluster="prod", services=["api"])["services"][0]
    assert steady["runningCount"] == 3
    assert steady["deployments"][0]["rolloutState"] == "COMPLETED"

    second = register(sim, "api", memory=256)
    assert (first["revision"], second["revision"]) == (1, 2)
    updated = ecs.update_service(cluster="prod", service="api", taskDefinition="api:2")
    assert updated["service"]["taskDefinition"].endswith("task-definition/api:2")
    sim.run(until=sim.env.now + 5)
    during = ecs.describe_services(cluster="prod", services=["api"])["services"][0]
    assert during["taskDefinition"].endswith("task-definition/api:2")
    assert during["deployments"][0]["rolloutState"] == "IN_PROGRESS"
    assert during["deployments"][0]["taskDefinition"].endswith("task-definition/api:2")
    families = Counter(
        t["taskDefinitionArn"].rsplit(":", 1)[-1]
        for t in ecs.describe_tasks(
            cluster="prod", tasks=ecs.list_tasks(cluster="prod", serviceName="api")["taskArns"]
        )["tasks"]
    )
    assert families["1"] and families["2"], "the rollout is not under way"
    sim.run(until="20m")
    done = ecs.describe_services(cluster="prod", services=["api"])["services"][0]
    assert done["deployments"][0]["rolloutState"] == "COMPLETED"
    assert ecs.checked["describe_services"] == 3


def test_shape_checked_proxy_rejects_a_bad_response() -> None:
    class Broken:
        def describe_clusters(self, **_: Any) -> dict:
            return {"clusters": [{"clusterName": "x", "notAKey": 1}]}

    proxy = ShapeChecked(Broken())  # type: ignore[arg-type]
    call: Callable[..., Any] = proxy.describe_clusters
    with pytest.raises(AssertionError, match="notAKey"):
        call(clusters=["x"])
    assert not proxy.checked


def test_task_definition_tags_sit_beside_the_definition(sim: Simulation) -> None:
    # BC TaskDefinition has no ``tags``: RegisterTaskDefinition returns them beside it, and
    # DescribeTaskDefinition only with include=["TAGS"].
    ecs = ShapeChecked(sim.ecs)
    tags = [{"key": "team", "value": "web"}]
    out = ecs.register_task_definition(family="t", containerDefinitions=[container()], tags=tags)
    assert out["tags"] == tags and "tags" not in out["taskDefinition"]
    assert ecs.describe_task_definition(taskDefinition="t")["tags"] == []
    assert ecs.describe_task_definition(taskDefinition="t", include=["TAGS"])["tags"] == tags
    assert "tags" not in ecs.deregister_task_definition(taskDefinition="t:1")["taskDefinition"]


@pytest.mark.skipif(not TASKDEFS.is_dir(), reason="shared/realworld/taskdefs not checked out")
def test_realworld_task_definitions_describe_within_shapes() -> None:
    """The real-world files carry most of the task definition shape: each one that loads
    registers, describes, runs (where it fits) and deregisters within botocore's shapes."""
    sim = Simulation(seed=1)
    ecs = ShapeChecked(sim.ecs)
    ecs.create_cluster(clusterName="real")
    sim.launch_instances("real", "m5.24xlarge", count=2)
    sim.launch_instances("real", "g4dn.12xlarge", count=1)
    sim.run(until="5m")
    arns, loaded = [], 0
    for path in sorted(TASKDEFS.glob("*.json")):
        try:
            request = load_task_definition_file(path).request
        except InputError:
            continue
        loaded += 1
        td_arn = ecs.register_task_definition(**request)["taskDefinition"]["taskDefinitionArn"]
        ecs.describe_task_definition(taskDefinition=td_arn, include=["TAGS"])
        arns += [t["taskArn"] for t in ecs.run_task(cluster="real", taskDefinition=td_arn)["tasks"]]
        ecs.deregister_task_definition(taskDefinition=td_arn)
    sim.run(until="10m")
    described = ecs.describe_tasks(cluster="real", tasks=arns)["tasks"]
    assert loaded >= 40 and len(described) == len(arns) >= 30
    assert ecs.checked["register_task_definition"] == ecs.checked["run_task"] == loaded
