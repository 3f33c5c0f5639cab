"""Task placement as the ECS documentation describes it, played through ``sim.ecs``.

Each test names the documented example or rule it reproduces (ECS-SEMANTICS section 2). Sources:
DG task-placement, task-placement-strategies, task-placement-constraints, cluster-query-language,
task-groups, ecs_services, service-event-messages and memory-management (the developer guide);
BC = botocore's ECS model (PlacementStrategy, ContainerInstance, ListContainerInstancesRequest);
pages api_failures_messages ("Amazon ECS API failure reasons"). The docs' t2 and g2 instance
types are not in ecssim's catalogue: the examples use t3 and g4dn instead. m5.large registers
7826 MiB, m4.large 7985 MiB (catalogue).
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from conftest import container, register
from test_client import check

from ecssim.scenario.loader import load_scenario
from ecssim.simulation import Simulation

AZ = "attribute:ecs.availability-zone"
SPREAD_AZ = {"field": AZ, "type": "spread"}
SPREAD_INSTANCE = {"field": "instanceId", "type": "spread"}
BINPACK_MEMORY = {"field": "memory", "type": "binpack"}
UNABLE = (
    "(service {}) was unable to place a task because no container instance met all of its "
    "requirements."
)


# -- helpers ---------------------------------------------------------------------------------


def _instances(sim: Simulation) -> list[dict]:
    """DescribeContainerInstances of every registered instance of cluster ``prod``."""
    arns = sim.ecs.list_container_instances(cluster="prod")["containerInstanceArns"]
    response = sim.ecs.describe_container_instances(cluster="prod", containerInstances=arns)
    return check("DescribeContainerInstances", response)["containerInstances"]


def _attribute(instance: dict, name: str) -> str | None:
    return next((a.get("value") for a in instance["attributes"] if a["name"] == name), None)


def _zone(instance: dict) -> str:
    zone = _attribute(instance, "ecs.availability-zone")
    assert zone is not None
    return zone


def _resource(instance: dict, kind: str, name: str = "MEMORY") -> int:
    return next(r["integerValue"] for r in instance[kind] if r["name"] == name)


def _by_ec2_id(sim: Simulation) -> dict[str, str]:
    """EC2 instance id -> container-instance ARN."""
    return {i["ec2InstanceId"]: i["containerInstanceArn"] for i in _instances(sim)}


def _fill(sim: Simulation, instance_arn: str, memory: int) -> None:
    """Reserve ``memory`` MiB on one instance with a standalone task of its own group."""
    family = f"filler-{memory}"
    register(sim, family, memory=memory, cpu=16)
    out = sim.ecs.start_task(
        cluster="prod", taskDefinition=family, containerInstances=[instance_arn]
    )
    assert out["failures"] == [] and len(out["tasks"]) == 1


def _run(sim: Simulation, family: str, count: int = 1, **kwargs) -> dict:
    return check(
        "RunTask", sim.ecs.run_task(cluster="prod", taskDefinition=family, count=count, **kwargs)
    )


def _hosts(response: dict) -> list[str]:
    return [t["containerInstanceArn"] for t in response["tasks"]]


def _start_web(sim: Simulation, desired: int, *, until: str) -> None:
    """Once the instances have registered (4 min), create service ``web`` and run to ``until``."""
    sim.run(until="4m")
    sim.ecs.create_service(
        cluster="prod", serviceName="web", taskDefinition="web", desiredCount=desired
    )
    sim.run(until=until)


def _service_hosts(sim: Simulation, service: str) -> Counter[str]:
    """Container-instance ARN -> number of the service's tasks (desired RUNNING) on it."""
    arns = sim.ecs.list_tasks(cluster="prod", serviceName=service)["taskArns"]
    if not arns:
        return Counter()
    tasks = sim.ecs.describe_tasks(cluster="prod", tasks=arns)["tasks"]
    return Counter(t["containerInstanceArn"] for t in tasks)


def _per_zone(sim: Simulation, hosts: Counter[str]) -> Counter[str]:
    zone_of = {i["containerInstanceArn"]: _zone(i) for i in _instances(sim)}
    out: Counter[str] = Counter()
    for arn, n in hosts.items():
        out[zone_of[arn]] += n
    return out


def _service(sim: Simulation, name: str) -> dict:
    return sim.ecs.describe_services(cluster="prod", services=[name])["services"][0]


# -- strategies (DG task-placement-strategies, BC PlacementStrategy) -------------------------


def test_binpack_memory_places_on_the_least_remaining_memory_that_still_fits(sim):
    # BC PlacementStrategy.type: "if you binpack on memory, a task is placed on the instance
    # with the least amount of remaining memory but still enough to run the task".
    # DG task-placement-strategies, example "bin packs tasks based on memory".
    sim.launch_instances("prod", "m5.large", count=3)
    sim.run(until="4m")
    a, b, c = (i["containerInstanceArn"] for i in _instances(sim))
    _fill(sim, a, 4000)
    _fill(sim, b, 2000)
    remaining = {
        i["containerInstanceArn"]: _resource(i, "remainingResources") for i in _instances(sim)
    }
    assert [remaining[x] for x in (a, b, c)] == [3826, 5826, 7826]
    register(sim, "job", memory=3000, cpu=128)
    register(sim, "large-job", memory=4000, cpu=128)
    assert _hosts(_run(sim, "job", placementStrategy=[BINPACK_MEMORY])) == [a]
    # a is left with 826 MiB: a 4000 MiB task fits only on b and c, and b has less left.
    assert _hosts(_run(sim, "large-job", placementStrategy=[BINPACK_MEMORY])) == [b]


def test_binpack_minimizes_the_number_of_instances_in_use(sim):
    # DG task-placement-strategies: binpack "minimizes the number of container instances in
    # use": 10 tasks of 1024 MiB fill one m5.large (7 x 1024 <= 7826) before using a second.
    sim.launch_instances("prod", "m5.large", count=3)
    register(sim, "job", memory=1024, cpu=128)
    sim.run(until="4m")
    hosts = Counter(_hosts(_run(sim, "job", count=10, placementStrategy=[BINPACK_MEMORY])))
    assert sorted(hosts.values(), reverse=True) == [7, 3]


def test_spread_instance_id_distributes_tasks_evenly_across_all_instances(sim):
    # DG task-placement-strategies, example "distributes tasks evenly across all instances":
    # [{"field": "instanceId", "type": "spread"}]; `host` "has the same effect". "Standalone
    # tasks are spread based on the tasks from the same task group": the three tasks of another
    # group on the first instance do not count.
    sim.launch_instances("prod", "m5.large", count=3)
    register(sim, "job", memory=64, cpu=16)
    register(sim, "other", memory=64, cpu=16)
    sim.run(until="4m")
    first = _instances(sim)[0]["containerInstanceArn"]
    sim.ecs.start_task(cluster="prod", taskDefinition="other", containerInstances=[first] * 3)
    hosts: Counter[str] = Counter()
    for _ in range(3):
        hosts.update(_hosts(_run(sim, "job", count=3, placementStrategy=[SPREAD_INSTANCE])))
    assert sorted(hosts.values()) == [3, 3, 3]
    hosts.update(
        _hosts(_run(sim, "job", count=3, placementStrategy=[{"field": "host", "type": "spread"}]))
    )
    assert sorted(hosts.values()) == [4, 4, 4]


def test_spread_availability_zone_balances_zones_not_instances(sim):
    # DG task-placement-strategies, example "distributes tasks evenly across Availability
    # Zones": with 1, 2 and 3 instances in zones a, b, c, nine tasks are three per zone.
    sim.launch_instances("prod", "m5.large", count=1, zones=["us-east-1a"])
    sim.launch_instances("prod", "m5.large", count=2, zones=["us-east-1b"])
    sim.launch_instances("prod", "m5.large", count=3, zones=["us-east-1c"])
    register(sim, "job", memory=64, cpu=16)
    sim.run(until="4m")
    hosts: Counter[str] = Counter()
    for _ in range(3):
        hosts.update(_hosts(_run(sim, "job", count=3, placementStrategy=[SPREAD_AZ])))
    assert _per_zone(sim, hosts) == {"us-east-1a": 3, "us-east-1b": 3, "us-east-1c": 3}


def test_spread_availability_zone_then_instance_id(sim):
    # DG task-placement-strategies, example "distributes tasks evenly across Availability Zones
    # and then distributes tasks evenly across the instances within each Availability Zone".
    sim.launch_instances("prod", "m5.large", count=1, zones=["us-east-1a"])
    sim.launch_instances("prod", "m5.large", count=2, zones=["us-east-1b"])
    sim.launch_instances("prod", "m5.large", count=3, zones=["us-east-1c"])
    register(sim, "job", memory=64, cpu=16)
    sim.run(until="4m")
    hosts: Counter[str] = Counter()
    for _ in range(4):
        hosts.update(
            _hosts(_run(sim, "job", count=3, placementStrategy=[SPREAD_AZ, SPREAD_INSTANCE]))
        )
    assert _per_zone(sim, hosts) == {"us-east-1a": 4, "us-east-1b": 4, "us-east-1c": 4}
    by_zone: dict[str, list[int]] = {}
    for instance in _instances(sim):
        by_zone.setdefault(_zone(instance), []).append(hosts[instance["containerInstanceArn"]])
    assert {z: sorted(v) for z, v in by_zone.items()} == {
        "us-east-1a": [4],
        "us-east-1b": [2, 2],
        "us-east-1c": [1, 1, 2],
    }


def test_spread_availability_zone_then_binpack_memory_the_documented_chain(sim):
    # DG task-placement-strategies, example "distributes tasks evenly across Availability Zones
    # and then bin packs tasks based on memory within each Availability Zone":
    # [{"field": "attribute:ecs.availability-zone", "type": "spread"},
    #  {"field": "memory", "type": "binpack"}]
    sim.launch_instances("prod", "m5.large", count=6)  # two per zone, zones round-robin
    register(sim, "job", memory=1500, cpu=16)
    sim.run(until="4m")
    zones: dict[str, list[str]] = {}
    for instance in _instances(sim):
        zones.setdefault(_zone(instance), []).append(instance["containerInstanceArn"])
    (a1, a2), (b1, b2), (c1, c2) = (zones[z] for z in sorted(zones))
    _fill(sim, a1, 4000)
    _fill(sim, b2, 2000)
    _fill(sim, c1, 6000)
    _fill(sim, c2, 1000)
    remaining = {
        i["containerInstanceArn"]: _resource(i, "remainingResources") for i in _instances(sim)
    }
    assert [remaining[x] for x in (a1, a2, b1, b2, c1, c2)] == [3826, 7826, 7826, 5826, 1826, 6826]
    chain = [SPREAD_AZ, BINPACK_MEMORY]
    # One task per zone, each on its zone's instance with the least memory left.
    assert sorted(_hosts(_run(sim, "job", count=3, placementStrategy=chain))) == sorted(
        [a1, b2, c1]
    )
    # c1 (326 MiB left) no longer fits 1500 MiB: zone c's task goes to c2, zones stay even.
    assert sorted(_hosts(_run(sim, "job", count=3, placementStrategy=chain))) == sorted(
        [a1, b2, c2]
    )
    # Binpack alone ignores zones: the tightest fit in the whole cluster (a1, 826 MiB left,
    # is too small) is b2 with 2826 MiB.
    assert _hosts(_run(sim, "job", placementStrategy=[BINPACK_MEMORY])) == [b2]


def test_spread_zones_and_binpack_memory_only_on_one_instance_type(sim):
    # DG task-placement: "distribute tasks across Availability Zones and bin pack tasks based
    # on memory within each Availability Zone, but only for G2 instances" (here m5, with a
    # t3.medium in each zone that binpack alone would prefer: it has the least memory).
    sim.launch_instances("prod", "m5.large", count=3)
    sim.launch_instances("prod", "t3.medium", count=3)
    register(sim, "job", memory=512, cpu=16)
    sim.run(until="4m")
    hosts = Counter(
        _hosts(
            _run(
                sim,
                "job",
                count=6,
                placementStrategy=[SPREAD_AZ, BINPACK_MEMORY],
                placementConstraints=[
                    {"expression": "attribute:ecs.instance-type =~ m5.*", "type": "memberOf"}
                ],
            )
        )
    )
    types = {i["containerInstanceArn"]: _attribute(i, "ecs.instance-type") for i in _instances(sim)}
    assert {types[arn] for arn in hosts} == {"m5.large"}
    assert _per_zone(sim, hosts) == {"us-east-1a": 2, "us-east-1b": 2, "us-east-1c": 2}
    unconstrained = _run(sim, "job", placementStrategy=[BINPACK_MEMORY])
    assert types[_hosts(unconstrained)[0]] == "t3.medium"


def test_random_places_tasks_randomly_among_the_instances_that_fit(sim):
    # DG task-placement-strategies, example "places tasks randomly": [{"type": "random"}];
    # BC PlacementStrategy: "randomly places tasks on available candidates". The fourth
    # instance has no room, so it is never a candidate.
    sim.launch_instances("prod", "m5.large", count=4)
    register(sim, "job", memory=256, cpu=16)
    sim.run(until="4m")
    *open_, full = (i["containerInstanceArn"] for i in _instances(sim))
    _fill(sim, full, 7800)
    hosts: Counter[str] = Counter()
    for _ in range(3):
        hosts.update(_hosts(_run(sim, "job", count=10, placementStrategy=[{"type": "random"}])))
    assert set(hosts) == set(open_)  # every open instance was drawn, never the full one
    assert sum(hosts.values()) == 30
    # Neither spread (10/10/10) nor binpack (all on one) would place them this way.
    assert sorted(hosts.values()) != [10, 10, 10]


def test_strategies_are_best_effort_but_constraints_are_binding(sim):
    # DG task-placement: "Task placement strategies are a best effort. Amazon ECS still attempts
    # to place tasks even when the most optimal placement option is unavailable. However, task
    # placement constraints are binding, and they can prevent task placement."
    sim.launch_instances("prod", "m5.large", count=3)
    register(sim, "job", memory=1024, cpu=16)
    sim.run(until="4m")
    in_c = next(i for i in _instances(sim) if _zone(i) == "us-east-1c")["containerInstanceArn"]
    _fill(sim, in_c, 7000)  # zone c has no room for a 1024 MiB task
    spread = _run(sim, "job", count=6, placementStrategy=[SPREAD_AZ])
    assert len(spread["tasks"]) == 6 and spread["failures"] == []
    assert _per_zone(sim, Counter(_hosts(spread))) == {"us-east-1a": 3, "us-east-1b": 3}
    member = _run(
        sim,
        "job",
        placementConstraints=[
            {"expression": "attribute:ecs.availability-zone == us-east-1c", "type": "memberOf"}
        ],
    )
    assert member["tasks"] == [] and len(member["failures"]) == 1


# -- constraints (DG task-placement-constraints) ---------------------------------------------


def test_distinct_instance_places_each_task_on_a_different_instance(sim):
    # DG task-placement-constraints: "distinctInstance: Place each task on a different container
    # instance"; example [{"type": "distinctInstance"}], for RunTask and CreateService.
    sim.launch_instances("prod", "m5.large", count=3)
    register(sim, "job", memory=64, cpu=16)
    register(sim, "web", memory=64, cpu=16)
    sim.run(until="4m")
    distinct = [{"type": "distinctInstance"}]
    out = _run(sim, "job", count=4, placementConstraints=distinct)
    assert len(set(_hosts(out))) == len(out["tasks"]) == 3
    assert len(out["failures"]) == 1
    sim.ecs.create_service(
        cluster="prod",
        serviceName="web",
        taskDefinition="web",
        desiredCount=4,
        placementConstraints=distinct,
    )
    sim.run(until="10m")
    assert sorted(_service_hosts(sim, "web").values()) == [1, 1, 1]
    messages = [e["message"] for e in _service(sim, "web")["events"]]
    assert any(m.startswith(UNABLE.format("web")) for m in messages)


T3_EXAMPLE = {"expression": "attribute:ecs.instance-type =~ t3.*", "type": "memberOf"}


def test_member_of_t2_instances_from_run_task_service_and_task_definition(sim):
    # DG task-placement-constraints, first example constraint: "uses the memberOf constraint to
    # place tasks on T2 instances" ("attribute:ecs.instance-type =~ t2.*", here t3), "specified
    # with CreateService, UpdateService, RegisterTaskDefinition, and RunTask".
    sim.launch_instances("prod", "m5.large", count=3)
    sim.launch_instances("prod", "t3.small", count=1)
    sim.launch_instances("prod", "t3.medium", count=1)
    register(sim, "job", memory=64, cpu=16)
    register(
        sim,
        "pinned",
        containerDefinitions=[container(memory=64, cpu=16)],
        placementConstraints=[T3_EXAMPLE],
    )
    sim.run(until="4m")
    types = {i["containerInstanceArn"]: _attribute(i, "ecs.instance-type") for i in _instances(sim)}
    t3 = {arn for arn, kind in types.items() if kind.startswith("t3.")}
    run = _run(
        sim, "job", count=10, placementStrategy=[SPREAD_INSTANCE], placementConstraints=[T3_EXAMPLE]
    )
    assert set(_hosts(run)) == t3
    from_definition = _run(sim, "pinned", count=10, placementStrategy=[SPREAD_INSTANCE])
    assert set(_hosts(from_definition)) == t3
    sim.ecs.create_service(
        cluster="prod",
        serviceName="web",
        taskDefinition="job",
        desiredCount=4,
        placementConstraints=[T3_EXAMPLE],
    )
    sim.run(until="10m")
    assert set(_service_hosts(sim, "web")) == t3


def test_member_of_task_group_databases_places_next_to_the_databases(sim):
    # DG task-placement-constraints, second example constraint: "task:group == databases"
    # places tasks "on instances with other tasks in the databases task group"; DG task-groups:
    # a standalone task joins a group named at launch (default family:<family>).
    sim.launch_instances("prod", "m5.large", count=3)
    register(sim, "postgres", memory=512, cpu=128)
    register(sim, "backup", memory=64, cpu=16)
    sim.run(until="4m")
    db_host = _instances(sim)[1]["containerInstanceArn"]
    started = sim.ecs.start_task(
        cluster="prod", taskDefinition="postgres", containerInstances=[db_host], group="databases"
    )
    assert started["tasks"][0]["group"] == "databases"
    out = _run(
        sim,
        "backup",
        count=5,
        placementStrategy=[SPREAD_INSTANCE],  # would use every instance if it could
        placementConstraints=[{"expression": "task:group == databases", "type": "memberOf"}],
    )
    assert _hosts(out) == [db_host] * 5
    assert {t["group"] for t in out["tasks"]} == {"family:backup"}


def test_task_groups_spread_standalone_databases_across_zones(sim):
    # DG task-groups: "To ensure that your databases are balanced across Availability Zones, add
    # them to a task group named databases and then use the spread task placement strategy."
    # Tasks of other groups (six in zone a here) do not count.
    sim.launch_instances("prod", "m5.large", count=3)
    register(sim, "postgres", memory=256, cpu=16)
    register(sim, "web", memory=64, cpu=16)
    sim.run(until="4m")
    in_a = next(i for i in _instances(sim) if _zone(i) == "us-east-1a")["containerInstanceArn"]
    sim.ecs.start_task(cluster="prod", taskDefinition="web", containerInstances=[in_a] * 6)
    hosts: Counter[str] = Counter()
    for _ in range(2):
        out = _run(sim, "postgres", count=3, group="databases", placementStrategy=[SPREAD_AZ])
        hosts.update(_hosts(out))
    assert _per_zone(sim, hosts) == {"us-east-1a": 2, "us-east-1b": 2, "us-east-1c": 2}


# -- cluster query language (DG cluster-query-language) ---------------------------------------

# name: (instance type, zone, custom attributes)
QUERY_CLUSTER = {
    "small-a": ("t3.small", "us-east-1a", {"stack": "prod"}),
    "medium-b": ("t3.medium", "us-east-1b", {"stack": "prod"}),
    "gpu-d": ("g4dn.xlarge", "us-east-1d", {"stack": "dev"}),
    "gpu-a": ("g4dn.xlarge", "us-east-1a", {}),
    "m5-c": ("m5.large", "us-east-1c", {}),
}


@pytest.fixture
def query_cluster(sim) -> tuple[Simulation, dict[str, str]]:
    """The five instances of QUERY_CLUSTER, registered; returns ``(sim, name -> ARN)``."""
    ec2_ids = {}
    for name, (kind, zone, attributes) in QUERY_CLUSTER.items():
        (ec2_ids[name],) = sim.launch_instances(
            "prod", kind, count=1, zones=[zone], attributes=attributes
        )
    register(sim, "job", memory=64, cpu=16)
    sim.run(until="4m")
    arns = _by_ec2_id(sim)
    return sim, {name: arns[ec2] for name, ec2 in ec2_ids.items()}


def _member_of(sim: Simulation, expression: str, count: int = 10, group: str = "probe") -> dict:
    """RunTask ``count`` small tasks under ``memberOf(expression)``, spread over instances.

    Spreading the tasks of a fresh ``group`` visits every eligible instance.
    """
    return _run(
        sim,
        "job",
        count=count,
        group=group,
        placementStrategy=[SPREAD_INSTANCE],
        placementConstraints=[{"expression": expression, "type": "memberOf"}],
    )


@pytest.mark.parametrize(
    ("doc", "expression", "expected"),
    [
        # DG cluster-query-language, "Example expressions":
        ("String Equality", "attribute:ecs.instance-type == t3.small", {"small-a"}),
        (
            "Argument List",
            "attribute:ecs.availability-zone in [us-east-1a, us-east-1b]",
            {"small-a", "medium-b", "gpu-a"},
        ),
        (
            "Compound Expression: G2 instances not in us-east-1d",
            "attribute:ecs.instance-type =~ g4dn.* and "
            "attribute:ecs.availability-zone != us-east-1d",
            {"gpu-a"},
        ),
        # DG task-placement-constraints, "Filtering by attribute" examples, used as memberOf:
        ("Built-in attribute", "attribute:ecs.instance-type == g4dn.xlarge", {"gpu-a", "gpu-d"}),
        ("Custom attribute", "attribute:stack == prod", {"small-a", "medium-b"}),
        # "the instances with the custom attribute stack unless the attribute value is prod"
        ("Exclude an attribute value", "attribute:stack != prod", {"gpu-d"}),
        (
            "Multiple attribute values",
            "attribute:ecs.instance-type in [t3.small, t3.medium]",
            {"small-a", "medium-b"},
        ),
        (
            "Multiple attributes: T2 instances in us-east-1a",
            "attribute:ecs.instance-type =~ t3.* and attribute:ecs.availability-zone == us-east-1a",
            {"small-a"},
        ),
        # The syntax section: "(expression1 or expression2) and expression3".
        (
            "Compound expressions with precedence",
            "(attribute:stack == dev or attribute:stack == prod) and attribute:ecs.instance-type "
            "=~ t3.*",
            {"small-a", "medium-b"},
        ),
    ],
)
def test_cluster_query_language_examples_as_member_of(query_cluster, doc, expression, expected):
    sim, arn = query_cluster
    out = _member_of(sim, expression)
    assert out["failures"] == [], doc
    assert set(_hosts(out)) == {arn[name] for name in expected}, doc


def test_cluster_query_ec2_instance_id_in_a_quoted_list(query_cluster):
    # DG cluster-query-language, "Amazon EC2 instance ID":
    # ec2InstanceId in ['i-abcd1234', 'i-wxyx7890'] (here the ids of two of our instances).
    sim, arn = query_cluster
    ec2 = {v: k for k, v in _by_ec2_id(sim).items()}
    expression = f"ec2InstanceId in ['{ec2[arn['gpu-d']]}', '{ec2[arn['m5-c']]}']"
    assert set(_hosts(_member_of(sim, expression))) == {arn["gpu-d"], arn["m5-c"]}


def test_cluster_query_task_affinity_and_anti_affinity(query_cluster):
    # DG cluster-query-language, "Task Affinity": task:group == service:production selects
    # "instances that are hosting tasks in the service:production group"; "Task Anti-Affinity":
    # not(task:group == database) selects "instances that are not hosting tasks in the database
    # group". DG task-groups: service tasks use the service name as their task group.
    sim, arn = query_cluster
    register(sim, "db", memory=64, cpu=16)
    ec2 = {v: k for k, v in _by_ec2_id(sim).items()}
    pinned = f"{ec2[arn['small-a']]}, {ec2[arn['m5-c']]}"  # where production runs
    sim.ecs.create_service(
        cluster="prod",
        serviceName="production",
        taskDefinition="job",
        desiredCount=2,
        placementConstraints=[{"expression": f"ec2InstanceId in [{pinned}]", "type": "memberOf"}],
    )
    sim.ecs.start_task(
        cluster="prod",
        taskDefinition="db",
        containerInstances=[arn["gpu-a"], arn["m5-c"]],
        group="database",
    )
    sim.run(until="6m")
    production = _service_hosts(sim, "production")
    assert set(production) == {arn["small-a"], arn["m5-c"]}
    tasks = sim.ecs.list_tasks(cluster="prod", serviceName="production")["taskArns"]
    groups = {t["group"] for t in sim.ecs.describe_tasks(cluster="prod", tasks=tasks)["tasks"]}
    assert groups == {"service:production"}
    affinity = _member_of(sim, "task:group == service:production", group="affinity")
    assert set(_hosts(affinity)) == {arn["small-a"], arn["m5-c"]}
    anti = _member_of(sim, "not(task:group == database)", group="anti-affinity")
    assert set(_hosts(anti)) == {arn["small-a"], arn["medium-b"], arn["gpu-d"]}


def test_cluster_query_running_tasks_count(sim):
    # DG cluster-query-language, "Running task count": runningTasksCount == 1 "selects instances
    # that are only running one task"; the subject serves "to find instances that are empty or
    # near empty", e.g. runningTasksCount == 0.
    sim.launch_instances("prod", "m5.large", count=3)
    register(sim, "job", memory=64, cpu=16)
    sim.run(until="4m")
    empty, one, two = (i["containerInstanceArn"] for i in _instances(sim))
    sim.ecs.start_task(cluster="prod", taskDefinition="job", containerInstances=[one, two, two])
    sim.run(until="5m")
    counts = {i["containerInstanceArn"]: i["runningTasksCount"] for i in _instances(sim)}
    assert [counts[x] for x in (empty, one, two)] == [0, 1, 2]
    only_one = _member_of(sim, "runningTasksCount == 1", count=1)
    assert _hosts(only_one) == [one]
    assert _hosts(_member_of(sim, "runningTasksCount == 0", count=1)) == [empty]


def test_agent_connected_only_connected_instances_take_placements():
    # BC ContainerInstance.agentConnected: "Only instances connected to an agent can accept task
    # placement requests"; DG cluster-query-language lists the agentConnected subject.
    scenario = load_scenario(
        {
            "version": 1,
            "duration": "1h",
            "seed": 3,
            "clusters": [{"clusterName": "prod"}],
            "instances": [{"cluster": "prod", "instance_type": "m5.large", "count": 2}],
            "task_definitions": [
                {
                    "family": "job",
                    "containerDefinitions": [
                        {"name": "j", "image": "job", "cpu": 16, "memory": 64}
                    ],
                }
            ],
            "faults": [
                {"agent_disconnect": {"cluster": "prod", "count": 1, "at": "10m", "duration": "5m"}}
            ],
        }
    )
    sim = Simulation.from_scenario(scenario)
    sim.run(until="12m")
    connected = {i["containerInstanceArn"]: i["agentConnected"] for i in _instances(sim)}
    assert sorted(connected.values()) == [False, True]
    (up,) = (arn for arn, ok in connected.items() if ok)
    assert _hosts(_run(sim, "job", count=4, placementStrategy=[SPREAD_INSTANCE])) == [up] * 4
    assert _hosts(_member_of(sim, "agentConnected == true", count=4)) == [up] * 4


def test_cluster_query_registered_at_compares_registration_dates(sim):
    # DG cluster-query-language, "Instance registration time": registeredAt < 2018-02-13
    # "selects instances that were registered before February 13, 2018"; valid date formats
    # include 2018-06-18T22:28:28Z. The dates are the ones DescribeContainerInstances reports.
    sim.launch_instances("prod", "m5.large", count=3)
    register(sim, "job", memory=64, cpu=16)
    sim.run(until="4m")
    instances = sorted(_instances(sim), key=lambda i: i["registeredAt"])
    first, last = instances[0]["registeredAt"], instances[-1]["registeredAt"]
    assert last - first > timedelta(seconds=2)
    middle = (first + (last - first) / 2).strftime("%Y-%m-%dT%H:%M:%SZ")
    later = {
        i["containerInstanceArn"]
        for i in instances
        if i["registeredAt"].strftime("%Y-%m-%dT%H:%M:%SZ") > middle
    }
    assert set(_hosts(_member_of(sim, f"registeredAt > {middle}"))) == later
    before_2018 = _member_of(sim, "registeredAt < 2018-02-13")
    assert before_2018["tasks"] == []
    assert before_2018["failures"][0]["reason"] == "MemberOf placement constraint unsatisfied."


def test_cluster_query_agent_version_compares_the_agent_version(sim):
    # DG cluster-query-language, "Amazon ECS container agent version": agentVersion < 1.14.5
    # "selects instances that are running a container agent version below 1.14.5".
    sim.launch_instances("prod", "m5.large", count=2)
    register(sim, "job", memory=64, cpu=16)
    sim.run(until="4m")
    versions = {i["versionInfo"]["agentVersion"] for i in _instances(sim)}
    assert versions == {"1.90.0"}
    outdated = _member_of(sim, "agentVersion < 1.14.5")
    assert outdated["tasks"] == []
    current = _member_of(sim, "agentVersion >= 1.14.5")
    assert len(set(_hosts(current))) == 2


def test_list_container_instances_filter_examples(query_cluster):
    # DG task-placement-constraints, "Filter container instances by attribute using the AWS CLI"
    # (aws ecs list-container-instances --filter ...); BC ListContainerInstancesRequest.filter:
    # "You can filter the results ... with cluster query language statements". DG
    # cluster-query-language: agentConnected "can search for instances with container agents
    # that are disconnected".
    sim, arn = query_cluster

    def listed(expression: str) -> set[str]:
        response = sim.ecs.list_container_instances(cluster="prod", filter=expression)
        return set(check("ListContainerInstances", response)["containerInstanceArns"])

    assert listed("attribute:ecs.instance-type == g4dn.xlarge") == {arn["gpu-a"], arn["gpu-d"]}
    assert listed("attribute:stack == prod") == {arn["small-a"], arn["medium-b"]}
    assert listed("attribute:stack != prod") == {arn["gpu-d"]}
    assert listed("attribute:ecs.instance-type in [t3.small, t3.medium]") == {
        arn["small-a"],
        arn["medium-b"],
    }
    assert listed("agentConnected == false") == set()


# -- the default service placement (DG ecs_services) ------------------------------------------


def test_replica_service_default_placement_balances_zones_then_instances(sim):
    # DG ecs_services, Replica: with no strategy, "Sort the valid container instances, giving
    # priority to instances that have the fewest number of running tasks for this service in
    # their respective Availability Zone ... Place the new service task on a valid container
    # instance in an optimal Availability Zone, favoring container instances with the fewest
    # number of running tasks for this service." Zone a has one instance, zone b three.
    sim.launch_instances("prod", "m5.large", count=1, zones=["us-east-1a"])
    sim.launch_instances("prod", "m5.large", count=3, zones=["us-east-1b"])
    register(sim, "web", memory=512, cpu=128)
    _start_web(sim, 1, until="6m")
    sim.ecs.update_service(cluster="prod", service="web", desiredCount=4)
    sim.run(until="10m")
    hosts = _service_hosts(sim, "web")
    assert _per_zone(sim, hosts) == {"us-east-1a": 2, "us-east-1b": 2}
    in_b = [i["containerInstanceArn"] for i in _instances(sim) if _zone(i) == "us-east-1b"]
    assert sorted(hosts[x] for x in in_b) == [0, 1, 1]  # fewest on the instance, within b


def test_replica_service_default_placement_doc_example_one_task_in_zone_a(sim):
    # DG ecs_services: "if zone A has one running service task and zones B and C each have zero,
    # valid container instances in either zone B or C are considered optimal for placement."
    sim.launch_instances("prod", "m5.large", count=6)  # two per zone
    register(sim, "web", memory=512, cpu=128)
    _start_web(sim, 1, until="6m")
    (zone_a,) = _per_zone(sim, _service_hosts(sim, "web"))
    sim.ecs.update_service(cluster="prod", service="web", desiredCount=3)
    sim.run(until="8m")
    zones = _per_zone(sim, _service_hosts(sim, "web"))
    assert zones[zone_a] == 1 and sorted(zones.values()) == [1, 1, 1]
    sim.ecs.update_service(cluster="prod", service="web", desiredCount=6)
    sim.run(until="10m")
    assert sorted(_service_hosts(sim, "web").values()) == [1] * 6


def test_replica_service_default_scale_in_keeps_zones_balanced(sim):
    # DG ecs_services: when stopping tasks with no strategy, "giving priority to instances that
    # have the largest number of running tasks for this service in their respective
    # Availability Zone" (zone A one task, zones B and C two each: B or C loses one), then
    # "favoring container instances with the largest number of running tasks for this service".
    sim.launch_instances("prod", "m5.large", count=1, zones=["us-east-1a"])
    sim.launch_instances("prod", "m5.large", count=3, zones=["us-east-1b"])
    register(sim, "web", memory=512, cpu=128)
    _start_web(sim, 5, until="10m")
    assert _per_zone(sim, _service_hosts(sim, "web")) == {"us-east-1a": 2, "us-east-1b": 3}
    sim.ecs.update_service(cluster="prod", service="web", desiredCount=4)
    sim.run(until="12m")
    hosts = _service_hosts(sim, "web")
    assert _per_zone(sim, hosts) == {"us-east-1a": 2, "us-east-1b": 2}  # b had the most
    # Zones tie at 2-2: the task goes from the instance with the most tasks, zone a's single one.
    sim.ecs.update_service(cluster="prod", service="web", desiredCount=3)
    sim.run(until="14m")
    hosts = _service_hosts(sim, "web")
    assert _per_zone(sim, hosts) == {"us-east-1a": 1, "us-east-1b": 2}
    assert sorted(hosts.values()) == [1, 1, 1]


def test_spread_scale_in_keeps_zones_balanced(sim):
    # DG task-placement-strategies, spread: "When this strategy is used and a scale-in action is
    # taken, Amazon ECS will select tasks to terminate that maintains a balance across
    # Availability Zones." Zone c joins late, so its tasks are the newest two of six.
    sim.launch_instances("prod", "m5.large", count=2, zones=["us-east-1a", "us-east-1b"])
    register(sim, "web", memory=512, cpu=128)
    sim.run(until="4m")
    sim.ecs.create_service(
        cluster="prod",
        serviceName="web",
        taskDefinition="web",
        desiredCount=4,
        placementStrategy=[SPREAD_AZ],
        availabilityZoneRebalancing="DISABLED",
    )
    sim.run(until="6m")
    sim.launch_instances("prod", "m5.large", count=1, zones=["us-east-1c"])
    sim.run(until="10m")
    sim.ecs.update_service(cluster="prod", service="web", desiredCount=6)
    sim.run(until="12m")
    zones = _per_zone(sim, _service_hosts(sim, "web"))
    assert zones == {"us-east-1a": 2, "us-east-1b": 2, "us-east-1c": 2}
    sim.ecs.update_service(cluster="prod", service="web", desiredCount=3)
    sim.run(until="14m")
    zones = _per_zone(sim, _service_hosts(sim, "web"))
    assert zones == {"us-east-1a": 1, "us-east-1b": 1, "us-east-1c": 1}


def test_binpack_scale_in_stops_the_task_leaving_the_most_resources_available(sim):
    # DG task-placement-strategies, binpack: "When this strategy is used and a scale-in action
    # is taken ... The container instance that will have the most available resources left
    # after task termination will have that task terminated." The default rule would stop on
    # the instance with the most tasks instead.
    sim.launch_instances("prod", "m5.large", count=2)
    register(sim, "web", memory=1024, cpu=128)
    sim.run(until="4m")
    packed, other = (i["containerInstanceArn"] for i in _instances(sim))
    _fill(sim, packed, 3800)  # 4026 MiB left: room for three web tasks
    sim.ecs.create_service(
        cluster="prod",
        serviceName="web",
        taskDefinition="web",
        desiredCount=5,
        placementStrategy=[BINPACK_MEMORY],
    )
    sim.run(until="10m")
    assert _service_hosts(sim, "web") == {packed: 3, other: 2}
    sim.ecs.update_service(cluster="prod", service="web", desiredCount=4)
    sim.run(until="12m")
    assert _service_hosts(sim, "web") == {packed: 3, other: 1}  # other: 6802 left vs 1978
    sim.ecs.update_service(cluster="prod", service="web", desiredCount=2)
    sim.run(until="14m")
    assert _service_hosts(sim, "web") == {packed: 2}


# -- when nothing fits (pages api_failures_messages, DG service-event-messages) ---------------


def test_run_task_failure_reasons_resource_memory_cpu_and_member_of(sim):
    # pages api_failures_messages ("Amazon ECS API failure reasons"): RESOURCE:CPU and
    # RESOURCE:MEMORY when the CPU or memory the task asks for is not available on the
    # container instance, and "MemberOf placement constraint unsatisfied"; a failure "returns
    # a reason and the Amazon Resource Name (ARN) of the resource associated with the failure".
    sim.launch_instances("prod", "m5.large", count=2)  # 2048 CPU units, 7826 MiB each
    register(sim, "hungry", memory=8000, cpu=128)
    register(sim, "busy", memory=128, cpu=4096)
    register(sim, "job", memory=128, cpu=128)
    sim.run(until="4m")
    instances = {i["containerInstanceArn"] for i in _instances(sim)}
    cases = [
        ("hungry", {}, "RESOURCE:MEMORY"),
        ("busy", {}, "RESOURCE:CPU"),
        (
            "job",
            {
                "placementConstraints": [
                    {"expression": "attribute:ecs.instance-type =~ t3.*", "type": "memberOf"}
                ]
            },
            "MemberOf placement constraint unsatisfied.",
        ),
    ]
    for family, extra, reason in cases:
        out = _run(sim, family, count=2, **extra)
        assert out["tasks"] == []
        assert [f["reason"] for f in out["failures"]] == [reason] * 2
        assert {f["arn"] for f in out["failures"]} <= instances


@pytest.mark.parametrize(
    ("instance", "task", "message"),
    [
        # DG service-event-messages, "Not enough memory": "If your task definition specifies
        # 1000 MiB of memory, and the container instances in your cluster each have 1024 MiB of
        # memory, you can only run one copy of this task per container instance."
        ({"memory": 1024}, {"memory": 1000, "cpu": 128}, "has insufficient memory available"),
        # DG service-event-messages, "Not enough CPU": "A container instance has 1,024 CPU units
        # for every CPU core. If your task definition specifies 1,000 CPU units, and the
        # container instances in your cluster each have 1,024 CPU units, you can only run one
        # copy of this task per container instance."
        ({"cpu": 1024}, {"memory": 128, "cpu": 1000}, "has insufficient CPU units available"),
    ],
    ids=["memory", "cpu"],
)
def test_not_enough_resource_doc_examples_one_copy_per_instance(sim, instance, task, message):
    sim.launch_instances("prod", "m5.large", count=2, **instance)
    register(sim, "web", **task)
    _start_web(sim, 3, until="10m")
    assert sorted(_service_hosts(sim, "web").values()) == [1, 1]
    messages = [e["message"] for e in _service(sim, "web")["events"]]
    closest = [m for m in messages if m.startswith(UNABLE.format("web"))]
    assert closest and all(message in m for m in closest)


def test_static_host_port_allows_one_task_per_instance(sim):
    # DG service-event-messages, "Not enough ports": "If your task uses fixed host port mapping
    # (for example, your task uses port 80 on the host for a web server), you must have at least
    # one container instance per task"; "Port already in-use": "The closest matching
    # container-instance is already using a port required by your task."
    sim.launch_instances("prod", "m5.large", count=3)
    register(
        sim,
        "web",
        containerDefinitions=[
            container(memory=128, cpu=128, portMappings=[{"containerPort": 80, "hostPort": 80}])
        ],
    )
    _start_web(sim, 5, until="10m")
    assert sorted(_service_hosts(sim, "web").values()) == [1, 1, 1]
    service = _service(sim, "web")
    assert service["runningCount"] == 3
    messages = [e["message"] for e in service["events"]]
    closest = [m for m in messages if m.startswith(UNABLE.format("web"))]
    assert closest and all("is already using a port required by your task" in m for m in closest)
    for instance in _instances(sim):
        ports = next(r for r in instance["remainingResources"] if r["name"] == "PORTS")
        assert "80" in ports["stringSetValue"]  # reported as in use on every instance


def test_the_full_nominal_memory_of_an_instance_never_fits(sim):
    # DG memory-management: "an m4.large instance has 8 GiB of installed memory. However, this
    # does not always translate to exactly 8192 MiB ... If you specify 8192 MiB for the task,
    # and none of your container instances have 8192 MiB or greater of memory available ...
    # the task cannot be placed"; the example m4.large registers 7985 MiB, and "you can observe
    # the memory available for that container instance and then assign your tasks that much".
    sim.launch_instances("prod", "m4.large", count=1)
    sim.launch_instances("prod", "m5.large", count=1)
    register(sim, "eight-gib", memory=8192, cpu=128)
    register(sim, "m4-sized", memory=7985, cpu=128)
    sim.run(until="4m")
    registered = {
        _attribute(i, "ecs.instance-type"): _resource(i, "registeredResources")
        for i in _instances(sim)
    }
    assert registered == {"m4.large": 7985, "m5.large": 7826}
    out = _run(sim, "eight-gib")
    assert out["tasks"] == [] and out["failures"][0]["reason"] == "RESOURCE:MEMORY"
    fits = _run(sim, "m4-sized")
    m4 = next(i for i in _instances(sim) if _attribute(i, "ecs.instance-type") == "m4.large")
    assert _hosts(fits) == [m4["containerInstanceArn"]]
