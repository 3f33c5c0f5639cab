"""Shared fixtures and helpers for the core tests."""

from __future__ import annotations

import math
import shutil
import sysconfig
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any

import numpy as np
import pytest

from ecssim.model.taskdef import Requirement
from ecssim.simulation import Simulation
from ecssim.state import ClusterState

try:
    from ecssim import _native
except ImportError:  # installed without a C compiler
    _native = None  # type: ignore[assignment]

ZONES = ("us-east-1a", "us-east-1b", "us-east-1c")


#: The two ways ecssim can be installed: with its compiled parts (``ecssim._native``) and without
#: (no C compiler at install), where their Python twins do the work. For ``native_build``.
NATIVE_BUILDS = [
    "python",
    pytest.param(
        "compiled",
        marks=pytest.mark.skipif(_native is None, reason="ecssim._native not built"),
    ),
]


@contextmanager
def native_build(module: ModuleType, build: str) -> Iterator[None]:
    """Inside the block ``module`` runs as ``build`` (one of ``NATIVE_BUILDS``) installed it:
    for ``"python"`` its ``_native`` is ``None``, so it takes its Python twins."""
    kept = module._native
    if build == "python":
        module._native = None
    try:
        yield
    finally:
        module._native = kept


def has_c_compiler() -> bool:
    """Whether the C compiler Python was built with (``sysconfig``'s ``CC``) is on the PATH."""
    compiler = (sysconfig.get_config_var("CC") or "").split()
    return bool(compiler) and shutil.which(compiler[0]) is not None


def requirement(
    cpu: int = 0,
    memory: int = 0,
    *,
    tcp: Iterable[int] = (),
    udp: Iterable[int] = (),
    gpu: int = 0,
    eni: int = 0,
) -> Requirement:
    """A bare requirement for pure placement/state tests."""
    return Requirement(
        cpu=cpu,
        memory_mib=memory,
        ports_tcp=tuple(sorted(set(tcp))),
        ports_udp=tuple(sorted(set(udp))),
        gpu=gpu,
        eni=eni,
        dynamic_ports=0,
    )


def make_state(
    specs: Iterable[tuple[int, int]],
    *,
    zones: Iterable[str] = ZONES,
    eni: int = 2,
    gpus: int = 0,
    capacity: int = 64,
    attributes: Iterable[dict[str, str]] | None = None,
) -> ClusterState:
    """A cluster state with one ACTIVE instance per ``(cpu, memory)`` spec, zones round-robin."""
    state = ClusterState("c", capacity=capacity)
    zones = list(zones)
    extra = list(attributes) if attributes is not None else None
    for i, (cpu, memory) in enumerate(specs):
        attrs = {"ecs.availability-zone": zones[i % len(zones)]}
        if extra is not None:
            attrs.update(extra[i])
        state.add_instance(
            f"arn:ci/{i}",
            f"i-{i:017x}",
            cpu=cpu,
            memory_mib=memory,
            eni_slots=eni,
            gpus=gpus,
            attributes=attrs,
            registered_at=float(i),
        )
    return state


def container(name: str = "app", memory: int = 512, cpu: int = 256, **extra: Any) -> dict:
    return {
        "name": name,
        "image": f"example/{name}:1",
        "cpu": cpu,
        "memory": memory,
        "essential": True,
        **extra,
    }


def register(sim: Simulation, family: str, memory: int = 512, cpu: int = 256, **extra: Any) -> dict:
    containers = extra.pop("containerDefinitions", None) or [container(memory=memory, cpu=cpu)]
    return sim.ecs.register_task_definition(
        family=family, containerDefinitions=containers, **extra
    )["taskDefinition"]


def task_id(arn: str) -> str:
    return arn.rsplit("/", 1)[-1]


def isnan(x: object) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


@pytest.fixture
def sim() -> Simulation:
    """A simulation with cluster ``prod`` and no instances yet."""
    s = Simulation(seed=7)
    s.ecs.create_cluster(clusterName="prod")
    return s


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(12345)
