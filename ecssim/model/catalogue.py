"""The EC2 instance-type catalogue: what a container instance of each type registers with ECS.

Each :class:`InstanceType` carries the figures placement and cost need: vCPUs (the agent registers
``vcpu * 1024`` CPU units), nominal and registered memory, network interfaces (``enis - 1``
``awsvpc`` task slots, or ``trunk_enis`` with ``awsvpcTrunking``), GPUs, CPU architecture (the
``ecs.cpu-architecture`` attribute) and the us-east-1 Linux on-demand price. Sources are noted per
family below and listed in ``docs/instance-types.md``.

Registered memory. The agent registers ``MemTotal`` of the running kernel, which is below the
nominal size by what firmware and the kernel keep (page structures, crash-kernel area, ...), then
subtracts ``ECS_RESERVED_MEMORY`` (default 0; not applied here). Two types use a published
figure: ``m4.large`` 8192 -> 7985 MiB (ECS developer guide, memory-management, Amazon Linux 1
era) and ``m6i.large`` 8192 -> 7817 MiB (aws/amazon-ecs-ami#597, Amazon Linux 2 ECS AMI
2.0.20251209). Every other type uses the linear overhead fitted to the published figures from
current ECS-optimized AMIs (m6i.large 7821 MiB, aws/amazon-ecs-ami#597; r6idn.xlarge 31603,
r6id.xlarge 31517 and r6id.4xlarge 126722 MiB, ASFHyP3/hyp3#1900; trn1.32xlarge 507821 MiB,
meta-pytorch/torchx#795)::

    registered_memory_mib = memory_mib - (100 + round_half_up(0.0325 * memory_mib))

It reproduces those figures within 90 MiB up to 128 GiB and within 0.3 % of nominal at every
point from 8 GiB to 512 GiB; below 8 GiB (``t3`` up to ``medium``, ``c5.large``,
``c6g.large``) there is no public figure and the formula is an extrapolation. Treat the last
digits as a model, not a measurement: AMI releases move the value by a few MiB (7821 -> 7817 on
m6i.large) and a switch to AL2023 by tens of MiB.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from ecssim.errors import EcssimError

__all__ = [
    "CATALOGUE",
    "InstanceType",
    "UnknownInstanceType",
    "estimate_registered_memory_mib",
    "get_instance_type",
    "instance_types",
]

CPU_UNITS_PER_VCPU = 1024
ARCHITECTURES = ("x86_64", "arm64")

# Fixed and proportional parts of the MemTotal shortfall (see the module docstring).
_OVERHEAD_FIXED_MIB = 100
_OVERHEAD_PER_10000 = 325

_SUGGESTION_MARGIN = 0.05


def estimate_registered_memory_mib(memory_mib: int) -> int:
    """Estimate the memory the ECS agent registers for a nominal memory size.

    Uses the overhead fitted to published registrations on current ECS-optimized AMIs:
    ``memory_mib - (100 + round(0.0325 * memory_mib))``, rounding half up.

    Args:
        memory_mib: Nominal instance memory in MiB, e.g. ``8192`` for 8 GiB.

    Returns:
        The estimated registered ``MEMORY`` in MiB, before ``ECS_RESERVED_MEMORY``.

    Raises:
        ValueError: ``memory_mib`` is too small to leave any memory after the overhead.

    Example:
        >>> estimate_registered_memory_mib(8192)
        7826
    """
    proportional = (memory_mib * _OVERHEAD_PER_10000 + 5000) // 10000
    registered = memory_mib - _OVERHEAD_FIXED_MIB - proportional
    if registered <= 0:
        raise ValueError(f"memory_mib={memory_mib} leaves no memory after the OS overhead")
    return registered


@dataclass(frozen=True, slots=True)
class InstanceType:
    """One EC2 instance type as an ECS container instance sees it.

    Attributes:
        name: The EC2 name, e.g. ``"m5.large"`` (the ``ecs.instance-type`` attribute).
        family: The part before the dot, e.g. ``"m5"``.
        vcpu: Number of vCPUs.
        memory_mib: Nominal memory in MiB (8192 for 8 GiB).
        registered_memory_mib: ``MEMORY`` the agent registers (``MemTotal``), below nominal.
        enis: Maximum network interfaces, the primary one included.
        trunk_enis: ``awsvpc`` task slots with ENI trunking, or ``None`` when ECS does not
            support trunking on this type.
        gpus: GPUs the agent registers.
        architecture: ``"x86_64"`` or ``"arm64"`` (``ecs.cpu-architecture`` values).
        hourly_price: us-east-1 Linux on-demand price in USD per hour.
    """

    name: str
    family: str
    vcpu: int
    memory_mib: int
    registered_memory_mib: int
    enis: int
    trunk_enis: int | None
    gpus: int
    architecture: str
    hourly_price: float

    def __post_init__(self) -> None:
        problems = []
        if self.family != self.name.partition(".")[0]:
            problems.append(f"family {self.family!r} does not match the name")
        if self.vcpu < 1:
            problems.append("vcpu must be >= 1")
        if not 0 < self.registered_memory_mib < self.memory_mib:
            problems.append("registered_memory_mib must be > 0 and below memory_mib")
        if self.enis < 1:
            problems.append("enis must be >= 1 (the primary interface)")
        if self.trunk_enis is not None and self.trunk_enis < 1:
            problems.append("trunk_enis must be >= 1 or None")
        if self.gpus < 0:
            problems.append("gpus must be >= 0")
        if self.architecture not in ARCHITECTURES:
            problems.append(f"architecture must be one of {', '.join(ARCHITECTURES)}")
        if not self.hourly_price > 0:
            problems.append("hourly_price must be > 0")
        if problems:
            raise ValueError(f"instance type {self.name!r}: " + "; ".join(problems))

    @property
    def registered_cpu(self) -> int:
        """CPU units the agent registers: ``vcpu * 1024``."""
        return self.vcpu * CPU_UNITS_PER_VCPU

    @property
    def awsvpc_slots(self) -> int:
        """``awsvpc`` tasks the instance holds without trunking: ``enis - 1`` (primary ENI)."""
        return self.enis - 1


class UnknownInstanceType(EcssimError, KeyError):  # noqa: N818 -- name fixed by the API
    """An instance type not in :data:`CATALOGUE`; the message suggests close matches.

    Attributes:
        name: The name that was looked up.
        suggestions: Close matches from the catalogue, best first (possibly empty).
    """

    def __init__(self, name: str, suggestions: Iterable[str] = ()) -> None:
        self.name = name
        self.suggestions: tuple[str, ...] = tuple(suggestions)
        if self.suggestions:
            hint = f"did you mean {', '.join(self.suggestions)}?"
        else:
            hint = f"known types: {', '.join(instance_types())}"
        self.message = f"unknown instance type {name!r}; {hint}"
        super().__init__(self.message)

    def __str__(self) -> str:
        # KeyError.__str__ would wrap the message in quotes.
        return self.message


# Rows: name, vcpu, memory_mib, enis, trunk_enis, gpus, hourly_price. Family and architecture
# follow from the name; registered memory comes from _MEASURED_MEMORY_MIB or the formula.
# ENIs for types with trunking are the ECS "task limit without trunking" + 1, which the ECS
# guide gives as the EC2 interface limit; trunk_enis is its "task limit with trunking".
_Row = tuple[str, int, int, int, int | None, int, float]

_ROWS: tuple[_Row, ...] = (
    # m4 -- source: vCPU/memory EC2 previous-generation specs; ENIs EC2 using-eni table (as in
    # aws/amazon-vpc-cni-k8s misc/eni-max-pods.txt: 20 pods = 2 ENIs x (10-1) + 2); no trunking
    # (not in the ECS container-instance-eni list); price aws.amazon.com/ec2/pricing/on-demand.
    ("m4.large", 2, 8192, 2, None, 0, 0.10),
    # m5 -- source: vCPU/memory EC2 general-purpose specs; ENIs and trunk slots ECS developer
    # guide container-instance-eni; prices ECS-SEMANTICS s7 (large) and the us-east-1 on-demand
    # list, which is exactly linear in size (0.096 per 2 vCPU).
    ("m5.large", 2, 8192, 3, 10, 0, 0.096),
    ("m5.xlarge", 4, 16384, 4, 20, 0, 0.192),
    ("m5.2xlarge", 8, 32768, 4, 40, 0, 0.384),
    ("m5.4xlarge", 16, 65536, 8, 60, 0, 0.768),
    ("m5.24xlarge", 96, 393216, 15, 120, 0, 4.608),
    # m6i -- source: as m5 (EC2 specs; ECS container-instance-eni); price us-east-1 on-demand
    # list, equal to m5 size for size.
    ("m6i.large", 2, 8192, 3, 10, 0, 0.096),
    ("m6i.xlarge", 4, 16384, 4, 20, 0, 0.192),
    ("m6i.2xlarge", 8, 32768, 4, 40, 0, 0.384),
    ("m6i.4xlarge", 16, 65536, 8, 60, 0, 0.768),
    ("m6i.24xlarge", 96, 393216, 15, 120, 0, 4.608),
    # m6g (Graviton2, arm64) -- source: EC2 specs; ECS container-instance-eni; price us-east-1
    # on-demand list (0.077 per 2 vCPU).
    ("m6g.large", 2, 8192, 3, 10, 0, 0.077),
    ("m6g.xlarge", 4, 16384, 4, 20, 0, 0.154),
    ("m6g.2xlarge", 8, 32768, 4, 40, 0, 0.308),
    ("m6g.4xlarge", 16, 65536, 8, 60, 0, 0.616),
    # c5 -- source: EC2 compute-optimized specs; ECS container-instance-eni; prices
    # ECS-SEMANTICS s7 (large 0.085; 2xlarge/4xlarge/12xlarge from the AWS ASG guide price
    # table) and the us-east-1 on-demand list for xlarge and 24xlarge.
    ("c5.large", 2, 4096, 3, 10, 0, 0.085),
    ("c5.xlarge", 4, 8192, 4, 20, 0, 0.17),
    ("c5.2xlarge", 8, 16384, 4, 40, 0, 0.34),
    ("c5.4xlarge", 16, 32768, 8, 60, 0, 0.68),
    ("c5.12xlarge", 48, 98304, 8, 60, 0, 2.04),
    ("c5.24xlarge", 96, 196608, 15, 120, 0, 4.08),
    # c6g (Graviton2, arm64) -- source: EC2 specs; ECS container-instance-eni; price us-east-1
    # on-demand list (0.068 per 2 vCPU).
    ("c6g.large", 2, 4096, 3, 10, 0, 0.068),
    ("c6g.xlarge", 4, 8192, 4, 20, 0, 0.136),
    ("c6g.2xlarge", 8, 16384, 4, 40, 0, 0.272),
    ("c6g.4xlarge", 16, 32768, 8, 60, 0, 0.544),
    # r5 -- source: EC2 memory-optimized specs; ECS container-instance-eni; prices
    # ECS-SEMANTICS s7 (large 0.126) and the us-east-1 on-demand list (linear in size).
    ("r5.large", 2, 16384, 3, 10, 0, 0.126),
    ("r5.xlarge", 4, 32768, 4, 20, 0, 0.252),
    ("r5.2xlarge", 8, 65536, 4, 40, 0, 0.504),
    ("r5.4xlarge", 16, 131072, 8, 60, 0, 1.008),
    ("r5.24xlarge", 96, 786432, 15, 120, 0, 6.048),
    # t3 (burstable; CPU credits not modelled) -- source: EC2 specs; ENIs EC2 using-eni table
    # (as in aws/amazon-vpc-cni-k8s misc/eni-max-pods.txt); no trunking (t3 is absent from
    # the ECS container-instance-eni list); price us-east-1 on-demand list.
    ("t3.micro", 2, 1024, 2, None, 0, 0.0104),
    ("t3.small", 2, 2048, 3, None, 0, 0.0208),
    ("t3.medium", 2, 4096, 3, None, 0, 0.0416),
    ("t3.large", 2, 8192, 3, None, 0, 0.0832),
    ("t3.xlarge", 4, 16384, 4, None, 0, 0.1664),
    # g4dn (NVIDIA T4) -- source: EC2 accelerated-computing specs; ENIs EC2 using-eni table (as
    # in aws/amazon-vpc-cni-k8s misc/eni-max-pods.txt); trunking unsupported (ECS
    # container-instance-eni); GPUs ECS developer guide ecs-gpu; price us-east-1 on-demand list.
    ("g4dn.xlarge", 4, 16384, 3, None, 1, 0.526),
    ("g4dn.12xlarge", 48, 196608, 8, None, 4, 3.912),
)

_ARM64_FAMILIES = frozenset({"m6g", "c6g"})

# Published registrations that replace the formula (see the module docstring).
_MEASURED_MEMORY_MIB: Mapping[str, int] = {
    "m4.large": 7985,  # ECS developer guide, memory-management (8373026816 bytes)
    "m6i.large": 7817,  # aws/amazon-ecs-ami#597 (AL2 ECS AMI 2.0.20251209; 7821 before)
}


def _build(rows: Iterable[_Row]) -> Mapping[str, InstanceType]:
    catalogue: dict[str, InstanceType] = {}
    for name, vcpu, memory_mib, enis, trunk_enis, gpus, price in rows:
        family = name.partition(".")[0]
        registered = _MEASURED_MEMORY_MIB.get(name) or estimate_registered_memory_mib(memory_mib)
        catalogue[name] = InstanceType(
            name=name,
            family=family,
            vcpu=vcpu,
            memory_mib=memory_mib,
            registered_memory_mib=registered,
            enis=enis,
            trunk_enis=trunk_enis,
            gpus=gpus,
            architecture="arm64" if family in _ARM64_FAMILIES else "x86_64",
            hourly_price=price,
        )
    return MappingProxyType(catalogue)


CATALOGUE: Mapping[str, InstanceType] = _build(_ROWS)
"""Every known instance type by name, in family then size order (read-only)."""


def instance_types() -> list[str]:
    """Return the names of every catalogued instance type, in family then size order."""
    return list(CATALOGUE)


def get_instance_type(name: str) -> InstanceType:
    """Look up an instance type by its EC2 name.

    Args:
        name: The EC2 name, e.g. ``"m5.large"``.

    Returns:
        The catalogued :class:`InstanceType`.

    Raises:
        UnknownInstanceType: The name is not catalogued; the message lists close matches, or
            every known type when none is close.

    Example:
        >>> get_instance_type("m5.large").registered_cpu
        2048
    """
    try:
        return CATALOGUE[name]
    except KeyError:
        raise UnknownInstanceType(name, _close_matches(name)) from None


def _close_matches(name: str) -> list[str]:
    # Sizes of one family are all similar to each other, so keep only the names scoring within
    # _SUGGESTION_MARGIN of the best, not every name above difflib's cutoff.
    query = name.strip().lower()
    scored = [
        (difflib.SequenceMatcher(None, query, known).ratio(), known)
        for known in difflib.get_close_matches(query, CATALOGUE, n=5)
    ]
    if not scored:
        return []
    best = scored[0][0]
    return [known for score, known in scored if score >= best - _SUGGESTION_MARGIN][:3]
