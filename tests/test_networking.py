"""Network modes on EC2: awsvpc ENI slots with and without trunking, host and bridge ports.

ECS-SEMANTICS section 1: an awsvpc task takes one ENI slot (``enis - 1`` per instance, or the
type's trunk slots with ``awsvpcTrunking``; a c5.large holds 2, or 10 with trunking); ``host``
mode maps hostPort = containerPort, so at most one copy per instance; ``bridge`` with hostPort 0
draws dynamic ports, which are not reserved.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml
from conftest import container, register

from ecssim.cli import main
from ecssim.errors import ScenarioError
from ecssim.model.catalogue import get_instance_type
from ecssim.scenario.loader import load_scenario
from ecssim.simulation import Simulation

TRUNK_ID = "ecs.awsvpc-trunk-id"


def _boot(
    sim: Simulation, instance_type: str = "c5.large", count: int = 1, **kwargs: Any
) -> list[str]:
    """Launch instances and run until they have registered; return the container instances."""
    sim.launch_instances("prod", instance_type, count=count, **kwargs)
    sim.run(until=sim.env.now + 240)
    return sim.ecs.list_container_instances(cluster="prod")["containerInstanceArns"]


def _run_one_by_one(sim: Simulation, family: str, calls: int) -> list[list[dict]]:
    """Call RunTask (count 1) ``calls`` times; return each call's failures."""
    return [
        sim.ecs.run_task(cluster="prod", taskDefinition=family)["failures"] for _ in range(calls)
    ]


def _attributes(sim: Simulation, arn: str) -> dict[str, str | None]:
    described = sim.ecs.describe_container_instances(cluster="prod", containerInstances=[arn])
    return {a["name"]: a.get("value") for a in described["containerInstances"][0]["attributes"]}


# -- awsvpc slots ---------------------------------------------------------------------------------


def test_catalogue_c5_large_slots_match_the_ecs_guide():
    itype = get_instance_type("c5.large")
    assert (itype.awsvpc_slots, itype.trunk_enis) == (2, 10)


def test_c5_large_holds_two_awsvpc_tasks_without_trunking(sim):
    _boot(sim)
    register(sim, "vpc", memory=128, cpu=128, networkMode="awsvpc")
    failures = _run_one_by_one(sim, "vpc", 3)
    assert failures[:2] == [[], []]
    assert [f["reason"] for f in failures[2]] == ["RESOURCE:ENI"]


def test_c5_large_holds_ten_awsvpc_tasks_with_trunking(sim):
    (arn,) = _boot(sim, awsvpc_trunking=True)
    register(sim, "vpc", memory=128, cpu=128, networkMode="awsvpc")
    failures = _run_one_by_one(sim, "vpc", 11)
    assert failures[:10] == [[]] * 10
    assert [f["reason"] for f in failures[10]] == ["RESOURCE:ENI"]
    sim.run(until=sim.env.now + 300)
    tasks = sim.ecs.list_tasks(cluster="prod", containerInstance=arn)["taskArns"]
    described = sim.ecs.describe_tasks(cluster="prod", tasks=tasks)["tasks"]
    assert [t["lastStatus"] for t in described] == ["RUNNING"] * 10


def test_stopping_an_awsvpc_task_frees_its_trunk_slot(sim):
    _boot(sim, awsvpc_trunking=True)
    register(sim, "vpc", memory=128, cpu=128, networkMode="awsvpc")
    placed = sim.ecs.run_task(cluster="prod", taskDefinition="vpc", count=10)
    assert len(placed["tasks"]) == 10
    sim.run(until=sim.env.now + 120)
    sim.ecs.stop_task(cluster="prod", task=placed["tasks"][0]["taskArn"])
    sim.run(until=sim.env.now + 120)
    assert _run_one_by_one(sim, "vpc", 2)[0] == []
    assert [f["reason"] for f in _run_one_by_one(sim, "vpc", 1)[0]] == ["RESOURCE:ENI"]


def test_trunked_instance_registers_with_a_trunk_id(sim):
    trunked = sim.launch_instances("prod", "c5.large", count=2, awsvpc_trunking=True)
    plain = sim.launch_instances("prod", "c5.large")
    sim.run(until="4m")
    ids = {}
    for instance in sim.control.instances:
        attributes = _attributes(sim, instance.arn)
        ids[instance.ec2_instance_id] = attributes.get(TRUNK_ID)
    assert ids[plain[0]] is None
    assert all(ids[i] and ids[i].startswith("eni-trunk-") for i in trunked)
    assert len({ids[i] for i in trunked}) == 2, "each instance has its own trunk ENI"
    # Stable: the same seed and launch order give the same ids.
    again = Simulation(seed=99)
    again.ecs.create_cluster(clusterName="prod")
    again.launch_instances("prod", "c5.large", count=2, awsvpc_trunking=True)
    again.run(until="4m")
    assert [i.attributes[TRUNK_ID] for i in again.control.instances] == [ids[i] for i in trunked]


def test_member_of_trunk_id_exists(sim):
    trunked = sim.launch_instances("prod", "c5.large", awsvpc_trunking=True)
    plain = sim.launch_instances("prod", "c5.large", count=2)
    sim.run(until="4m")
    register(sim, "job", memory=128, cpu=128)
    by_arn = {i.arn: i.ec2_instance_id for i in sim.control.instances}

    def hosts(expression: str) -> set[str]:
        out = sim.ecs.run_task(
            cluster="prod",
            taskDefinition="job",
            count=4,
            placementConstraints=[{"type": "memberOf", "expression": expression}],
        )
        assert out["failures"] == []
        return {by_arn[t["containerInstanceArn"]] for t in out["tasks"]}

    assert hosts(f"attribute:{TRUNK_ID} exists") == set(trunked)
    assert hosts(f"attribute:{TRUNK_ID} !exists") <= set(plain)


def test_member_of_trunk_id_unsatisfied_without_trunking(sim):
    _boot(sim, count=2)
    register(sim, "job", memory=128, cpu=128)
    out = sim.ecs.run_task(
        cluster="prod",
        taskDefinition="job",
        placementConstraints=[{"type": "memberOf", "expression": f"attribute:{TRUNK_ID} exists"}],
    )
    assert out["tasks"] == []
    assert [f["reason"] for f in out["failures"]] == ["MemberOf placement constraint unsatisfied."]


def test_replacement_of_a_trunked_instance_is_trunked(sim):
    (ec2_id,) = sim.launch_instances("prod", "c5.large", awsvpc_trunking=True)
    sim.run(until="4m")
    sim.fail_instance(ec2_id, replace_after="1m")
    sim.run(until="20m")
    replacement = sim.control.instances[-1]
    assert replacement.ec2_instance_id != ec2_id
    assert replacement.eni_slots == 10 and TRUNK_ID in replacement.attributes


# -- trunking on a type without it ----------------------------------------------------------------


@pytest.mark.parametrize("instance_type", ["t3.large", "g4dn.xlarge", "m4.large"])
def test_python_api_rejects_trunking_where_unsupported(sim, instance_type):
    assert get_instance_type(instance_type).trunk_enis is None
    with pytest.raises(
        ValueError, match=re.escape(f"{instance_type} does not support ENI trunking")
    ):
        sim.launch_instances("prod", instance_type, count=2, awsvpc_trunking=True)
    assert sim.control.instances == []
    # Nothing was half-launched: the next instance gets the first id.
    assert sim.launch_instances("prod", instance_type) == [f"i-{1:017x}"]


def _scenario(**group: Any) -> dict[str, Any]:
    return {
        "version": 1,
        "duration": "10m",
        "clusters": [{"clusterName": "prod"}],
        "instances": [{"cluster": "prod", "instance_type": "c5.large", **group}],
        "task_definitions": [
            {
                "family": "vpc",
                "networkMode": "awsvpc",
                "containerDefinitions": [container(memory=128, cpu=128)],
            }
        ],
    }


def test_scenario_trunking_gives_trunk_slots():
    scenario = load_scenario(_scenario(awsvpc_trunking=True, count=2))
    assert scenario.instances[0].awsvpc_trunking is True
    assert load_scenario(_scenario()).instances[0].awsvpc_trunking is False
    sim = Simulation.from_scenario(scenario)
    sim.run(until="4m")
    assert [i.eni_slots for i in sim.control.instances] == [10, 10]
    assert all(TRUNK_ID in i.attributes for i in sim.control.instances)
    out = sim.ecs.run_task(cluster="prod", taskDefinition="vpc", count=10)
    assert len(out["tasks"]) == 10 and out["failures"] == []


def test_scenario_spot_group_keeps_trunking():
    doc = _scenario(awsvpc_trunking=True, market="spot", spot={"mtbf": "1h"})
    sim = Simulation.from_scenario(load_scenario(doc))
    sim.run(until="4m")
    assert [i.eni_slots for i in sim.control.instances] == [10]


@pytest.mark.parametrize(
    ("group", "message"),
    [
        (
            {"instance_type": "t3.large", "awsvpc_trunking": True},
            "instances[0].awsvpc_trunking: t3.large does not support ENI trunking; "
            "families that do: c5, c6g, m5, m6g, m6i, r5",
        ),
        (
            {"awsvpc_trunking": "yes"},
            'instances[0].awsvpc_trunking: expected true or false, got "yes"',
        ),
    ],
)
def test_scenario_rejects_bad_trunking(group, message):
    doc = _scenario(**group)
    with pytest.raises(ScenarioError) as info:
        load_scenario(doc)
    assert [str(p) for p in info.value.problems] == [message]


def test_trunking_can_be_set_by_override():
    # --set / run_many(vary=...) paths reach the option like any other instance-group key.
    path = "instances[0].awsvpc_trunking"
    assert load_scenario(_scenario(), overrides=[f"{path}=true"]).instances[0].awsvpc_trunking
    with pytest.raises(ScenarioError, match=r"t3\.large does not support ENI trunking"):
        load_scenario(_scenario(instance_type="t3.large"), overrides={path: True})


def test_scenario_trunking_false_is_fine_on_any_type():
    doc = _scenario(instance_type="t3.large", awsvpc_trunking=False)
    assert load_scenario(doc).instances[0].awsvpc_trunking is False


def test_validate_cli_reports_unsupported_trunking(tmp_path, capsys):
    doc = _scenario(instance_type="g4dn.xlarge", awsvpc_trunking=True)
    path = tmp_path / "trunk.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert "instances[0].awsvpc_trunking: g4dn.xlarge does not support ENI trunking" in err


# -- host and bridge ports ------------------------------------------------------------------------


def test_host_mode_with_a_mapped_port_places_one_copy_per_instance(sim):
    _boot(sim, "m5.large")
    register(
        sim,
        "edge",
        networkMode="host",
        containerDefinitions=[container(portMappings=[{"containerPort": 8080}])],
    )
    failures = _run_one_by_one(sim, "edge", 2)
    assert failures[0] == []
    assert [f["reason"] for f in failures[1]] == ["RESOURCE:PORTS"]


def test_host_mode_places_one_copy_on_each_instance(sim):
    _boot(sim, "m5.large", count=3)
    register(
        sim,
        "edge",
        networkMode="host",
        containerDefinitions=[container(portMappings=[{"containerPort": 8080}])],
    )
    out = sim.ecs.run_task(cluster="prod", taskDefinition="edge", count=4)
    assert len({t["containerInstanceArn"] for t in out["tasks"]}) == len(out["tasks"]) == 3
    assert [f["reason"] for f in out["failures"]] == ["RESOURCE:PORTS"]


def test_bridge_dynamic_host_ports_place_several_copies(sim):
    (arn,) = _boot(sim, "m5.large")
    mapping = {"containerPort": 80, "hostPort": 0, "protocol": "tcp"}
    register(
        sim,
        "web",
        networkMode="bridge",
        containerDefinitions=[container(portMappings=[mapping])],
    )
    out = sim.ecs.run_task(cluster="prod", taskDefinition="web", count=5)
    assert out["failures"] == []
    assert {t["containerInstanceArn"] for t in out["tasks"]} == {arn}
    sim.run(until=sim.env.now + 300)
    arns = [t["taskArn"] for t in out["tasks"]]
    described = sim.ecs.describe_tasks(cluster="prod", tasks=arns)["tasks"]
    assert [t["lastStatus"] for t in described] == ["RUNNING"] * 5
    # Dynamic ports are not reserved: remaining PORTS is the agent's reserved set only.
    instance = sim.ecs.describe_container_instances(cluster="prod", containerInstances=[arn])
    ports = {
        r["name"]: r.get("stringSetValue")
        for r in instance["containerInstances"][0]["remainingResources"]
    }["PORTS"]
    assert ports == ["22", "2375", "2376", "51678", "51679"]


def test_bridge_static_host_port_places_one_copy(sim):
    _boot(sim, "m5.large")
    mapping = {"containerPort": 80, "hostPort": 8080, "protocol": "tcp"}
    register(
        sim, "web", networkMode="bridge", containerDefinitions=[container(portMappings=[mapping])]
    )
    failures = _run_one_by_one(sim, "web", 2)
    assert failures[0] == [] and [f["reason"] for f in failures[1]] == ["RESOURCE:PORTS"]
