"""The 60 real-world task definitions in ``shared/realworld/taskdefs``, each with its outcome.

Every expectation below was decided by reading the file against ECS's rules (ECS-SEMANTICS
section 1 for the requirement; ecssim.model.taskdef for the rejection texts and their sources),
not by recording what the parser returns. Requirement shorthand: CPU units, MiB, static TCP and
UDP host ports, ENIs, GPUs, dynamic (bridge) host ports.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from ecssim.errors import TaskDefinitionError
from ecssim.model.enums import NetworkMode
from ecssim.model.taskdef import Requirement, load_task_definition_file

TASKDEFS = Path(__file__).resolve().parents[1].parent / "shared" / "realworld" / "taskdefs"

if not TASKDEFS.is_dir():
    pytest.skip(
        f"real-world task definitions not found at {TASKDEFS} (a checkout of shared/ beside the "
        "repository)",
        allow_module_level=True,
    )


def ok(
    cpu: int,
    memory: int,
    *,
    tcp: tuple[int, ...] = (),
    udp: tuple[int, ...] = (),
    eni: int = 0,
    gpu: int = 0,
    dynamic: int = 0,
) -> Requirement:
    return Requirement(cpu, memory, tcp, udp, gpu, eni, dynamic)


def fargate(cpu: int, memory: int) -> Requirement:
    """An awsvpc task sized at task level: no host ports, one ENI."""
    return ok(cpu, memory, eni=1)


IMAGE_EMPTY = "ClientException: Container.image should not be null or empty."
FAMILY_BLANK = "ClientException: Family can not be blank."

EXPECTED: dict[str, Requirement | tuple[str, ...]] = {
    "001.json": fargate(256, 512),  # explicit nulls everywhere; hostPort 3000 is awsvpc
    "002.json": fargate(256, 512),  # containerPort "3000"; "" taskRoleArn/credentialsParameter
    # no networkMode -> bridge; containerPort 80 without hostPort -> one dynamic port
    "003.json": ok(128, 128, dynamic=1),
    # bare describe, bridge: memoryReservation 256 (not memory) + memory 256; two hostPort 0
    "004.json": ok(256, 512, dynamic=2),
    "005.json": fargate(256, 512),
    "006.json": ok(0, 500, dynamic=1),  # bridge by default, hostPort 0
    "007.json": fargate(256, 512),  # ".25 vcpu" / ".5 gb"
    "008.json": fargate(1024, 3072),  # wrapped describe output; 1 vCPU with 3 GB is valid
    # awsvpc on EC2 without task size: sums of the one container; hostPort 80 not on the host
    "009.json": ok(256, 512, eni=1),
    "010.json": fargate(256, 512),
    "011.json": fargate(256, 512),  # image "<IMAGE1_NAME>" is a placeholder, but not empty
    "012.json": fargate(1024, 2048),  # container cpu/memory equal the task's: allowed
    "013.json": fargate(256, 512),  # memory == memoryReservation is allowed
    "014.json": ok(512, 1024, eni=1),  # wrapped without tags or revision; awsvpc, EC2
    "015.json": fargate(1024, 2048),  # "1 vcpu" / "2 gb"
    # host mode, no port mappings: memoryReservation 64 beats memory 256
    "016.json": ok(128, 64),
    "017.json": fargate(512, 1024),
    "018.json": ok(0, 128),  # bridge; HEALTHY dependency on a container with a health check
    "019.json": ok(0, 512),  # bridge; "$$$...$$$" placeholders are only strings
    "020.json": ok(10, 500, tcp=(80,)),  # bridge by default; containerPort 8080 -> hostPort 80
    "021.json": fargate(256, 512),  # duplicate "environment" key: JSON keeps the last
    "022.json": fargate(256, 512),
    "023.json": fargate(256, 512),
    "024.json": fargate(1024, 2048),
    # CLI skeleton: the CLI's own parameter validation stops it before ECS sees "string" cpu:
    # driverOpts and labels are maps, not strings.
    "025.json": (
        "Parameter validation failed: Invalid type for parameter "
        "volumes[1].dockerVolumeConfiguration.driverOpts, value: string, type: <class 'str'>, "
        "valid types: <class 'dict'>",
        "Parameter validation failed: Invalid type for parameter "
        "volumes[1].dockerVolumeConfiguration.labels, value: string, type: <class 'str'>, "
        "valid types: <class 'dict'>",
    ),
    "026.json": ok(0, 128, tcp=(81,)),  # bridge by default; static hostPort 81
    "027.json": fargate(256, 512),
    "028.json": fargate(256, 1024),  # bare describe; requiresAttributes with null members
    "029.json": ok(1024, 3072, dynamic=1),  # bare describe, bridge, task size on EC2
    "030.json": fargate(512, 2048),
    "031.json": fargate(1024, 2048),  # ephemeralStorage 21 GiB
    "032.json": fargate(256, 512),
    # ten containers; the second one has image "" (the first empty one ECS meets)
    "033.json": ("containerDefinitions[1]: " + IMAGE_EMPTY,),
    "034.json": fargate(512, 1024),
    # bridge by default; memoryReservation 512 == memory 512; one dynamic port
    "035.json": ok(0, 512, dynamic=1),
    "036.json": fargate(512, 1024),
    "037.json": ok(0, 512, tcp=(80,)),  # bare describe, bridge, memory null, hostPort 80
    "038.json": fargate(1024, 2048),
    "039.json": fargate(1024, 2048),
    # bare describe with the first container's image removed
    "040.json": ("containerDefinitions[0]: " + IMAGE_EMPTY,),
    "041.json": fargate(512, 2048),  # four containers of 512 MiB fill the task exactly
    "042.json": ok(0, 400, dynamic=1),
    # "fail" for a Fargate validator, but EC2 bridge here: GPU 2, stopTimeout 150, memberOf
    "043.json": ok(100, 80, gpu=2),
    "044.json": fargate(2048, 4096),  # Windows on Fargate at 2 vCPU / 4 GB
    # protocol "http" (meant appProtocol): not tcp or udp
    "045.json": (
        "containerDefinitions[0].portMappings[0]: ClientException: Invalid 'protocol' setting "
        "for container 'AWSSpringBoot-Container'.",
    ),
    "046.json": (FAMILY_BLANK,),  # no family (its image is "" too, but family comes first)
    # trailing commas: not JSON
    "047.json": (
        "Invalid JSON: Expecting property name enclosed in double quotes: line 22 column 9 "
        "(char 461)",
    ),
    "048.json": fargate(256, 512),
    "049.json": ok(0, 512, tcp=(80,)),  # task memory 512 lets the container omit memory
    # bare describe, networkMode null -> bridge: 1300 + 900 reserved, static 8080 and 443
    "050.json": ok(0, 2200, tcp=(443, 8080)),
    "051.json": ok(300, 100, dynamic=1),  # bridge, hostPort omitted
    "052.json": ("containerDefinitions[0]: " + IMAGE_EMPTY,),
    # no family; its dependsOn also names a container that does not exist
    "054.json": (FAMILY_BLANK,),
    "053.json": fargate(256, 512),
    "055.json": fargate(4096, 30720),  # 4 vCPU with 30 GB: the top of that row
    # bare describe, host mode: ports 9200 and 9300; task memory "4" MiB was registered by ECS
    "056.json": ok(2048, 4, tcp=(9200, 9300)),
    "057.json": ok(20, 1000, tcp=(80,)),  # wrapped, old describe shape; two containers
    # bare describe, bridge: the same port on tcp and udp, plus two more tcp
    "058.json": ok(0, 3850, tcp=(28015, 28016, 28017), udp=(28015,)),
    "059.json": ok(512, 900, dynamic=1),  # EC2 bridge with task size; hostPort 0
    "060.json": fargate(256, 512),
}


def _features() -> dict[str, set[str]]:
    with (TASKDEFS / "SOURCES.tsv").open(encoding="utf-8", newline="") as handle:
        return {
            row["file"]: set(row["features"].split(","))
            for row in csv.DictReader(handle, delimiter="\t")
        }


def test_every_file_has_an_expectation() -> None:
    files = {p.name for p in TASKDEFS.glob("*.json")}
    assert len(files) == 60
    assert files == set(EXPECTED)
    assert set(_features()) == files


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_realworld_task_definition(name: str) -> None:
    expected = EXPECTED[name]
    path = TASKDEFS / name
    if isinstance(expected, Requirement):
        td = load_task_definition_file(path)
        assert td.requirement == expected
        features = _features()[name]
        assert (td.network_mode is NetworkMode.AWSVPC) == ("awsvpc" in features)
        if "fargate" in features:
            assert "FARGATE" in td.compatibilities
        if "describe-output-unwrapped" in features:
            assert td.revision is not None
    else:
        with pytest.raises(TaskDefinitionError) as info:
            load_task_definition_file(path)
        assert tuple(p.message for p in info.value.problems) == expected
        assert all(p.path == str(path) for p in info.value.problems)


LOADABLE = sorted(name for name, expected in EXPECTED.items() if isinstance(expected, Requirement))
# Files whose memberOf constraint no simulated instance can meet, as on ECS: 043 asks for t2
# instances (not in the catalogue), 050 for one particular EC2 instance id.
UNPLACEABLE = {
    "043.json": "MemberOf placement constraint unsatisfied.",
    "050.json": "MemberOf placement constraint unsatisfied.",
}


@pytest.mark.parametrize("name", LOADABLE)
def test_realworld_task_definition_runs(name: str) -> None:
    """Each loadable file registers through sim.ecs and its task reaches RUNNING on an instance
    of the cheapest catalogue type it fits."""
    from ecssim.model.catalogue import CATALOGUE
    from ecssim.simulation import Simulation

    td = load_task_definition_file(TASKDEFS / name)
    need = td.requirement
    fitting = [
        t
        for t in CATALOGUE.values()
        if t.registered_cpu >= need.cpu
        and t.registered_memory_mib >= need.memory_mib
        and t.gpus >= need.gpu
        and t.awsvpc_slots >= need.eni
    ]
    itype = min(fitting, key=lambda t: t.hourly_price)
    sim = Simulation(seed=1)
    sim.ecs.create_cluster(clusterName="real")
    sim.launch_instances("real", itype.name, count=1)
    registered = sim.ecs.register_task_definition(**td.request)["taskDefinition"]
    sim.run(until="5m")
    out = sim.ecs.run_task(cluster="real", taskDefinition=registered["taskDefinitionArn"])
    if name in UNPLACEABLE:
        assert [f["reason"] for f in out["failures"]] == [UNPLACEABLE[name]]
        return
    assert out["failures"] == [], out["failures"]
    sim.run(until="10m")
    task = sim.ecs.describe_tasks(cluster="real", tasks=[out["tasks"][0]["taskArn"]])["tasks"][0]
    assert task["lastStatus"] == "RUNNING"
