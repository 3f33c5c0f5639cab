"""The validated form of a scenario: frozen dataclasses the simulation is built from.

Everything here has been checked by :func:`ecssim.scenario.loader.load_scenario`: durations are
float seconds, distributions are parsed, references (clusters, task definition families,
services) resolve. ECS objects that the control plane consumes as API calls (clusters,
services, scripted actions) stay in their ECS request shapes, as plain dicts that are to be
treated as read-only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

from ecssim.distributions import Distribution, Forever
from ecssim.parameters import SimParameters
from ecssim.usage import UsageModel

if TYPE_CHECKING:
    from ecssim.model.taskdef import TaskDefinition

__all__ = [
    "Action",
    "AgentDisconnect",
    "Arrivals",
    "AzOutage",
    "Fault",
    "InstanceFailure",
    "InstanceGroup",
    "InstanceStop",
    "Scenario",
    "SpotInterruption",
    "TaskBehavior",
    "Workload",
]

DEFAULT_ZONES: tuple[str, ...] = ("us-east-1a", "us-east-1b", "us-east-1c")
"""Zones an instance group is spread over when it names none."""


@dataclass(frozen=True, slots=True)
class Arrivals:
    """When a workload calls RunTask.

    Attributes:
        kind: ``"poisson"`` (exponential gaps at ``rate_per_s``), ``"interval"`` (every
            ``interval_s``, first call at the workload's start) or ``"times"`` (at each of
            ``times_s``, absolute simulated seconds, sorted).
        rate_per_s: Calls per second for ``poisson``, else ``None``.
        interval_s: Seconds between calls for ``interval``, else ``None``.
        times_s: Call times for ``times``, else empty.
    """

    kind: Literal["poisson", "interval", "times"]
    rate_per_s: float | None = None
    interval_s: float | None = None
    times_s: tuple[float, ...] = ()


@dataclass(frozen=True, slots=True)
class InstanceGroup:
    """EC2 instances of one type that boot, run the agent and register with a cluster.

    Attributes:
        cluster: Cluster the instances register with.
        instance_type: Catalogue name, e.g. ``"m5.large"``.
        count: Number of instances.
        zones: Availability zones, assigned round-robin in instance order.
        attributes: Custom attributes (``ecs.*`` are set by the simulator).
        cpu: Registered CPU units overriding the catalogue's, or ``None``.
        memory_mib: Registered memory in MiB overriding the catalogue's, or ``None``.
        market: ``"on-demand"`` or ``"spot"``.
        at_s: Launch time in simulated seconds.
        spot_mtbf: For Spot instances, the time from launch to an interruption notice, per
            instance (``spot: {mtbf | rate}``), or ``None`` for no interruptions.
        spot_replace_after_s: Delay after a Spot termination before a replacement instance of
            the group launches, or ``None``.
        awsvpc_trunking: Whether the instances register with ENI trunking (the
            ``awsvpcTrunking`` account setting): ``awsvpc`` task slots are the type's
            ``trunk_enis`` instead of ``enis - 1``, and the instance carries the
            ``ecs.awsvpc-trunk-id`` attribute. Only types with ``trunk_enis`` support it.
    """

    cluster: str
    instance_type: str
    count: int = 1
    zones: tuple[str, ...] = DEFAULT_ZONES
    attributes: Mapping[str, str] = field(default_factory=dict)
    cpu: int | None = None
    memory_mib: int | None = None
    market: str = "on-demand"
    at_s: float = 0.0
    spot_mtbf: Distribution | None = None
    spot_replace_after_s: float | None = None
    awsvpc_trunking: bool = False


@dataclass(frozen=True, slots=True)
class TaskBehavior:
    """How the tasks of one family behave once RUNNING.

    Attributes:
        runtime: Time from RUNNING until the essential container exits on its own
            (``Forever()`` for a long-running service task).
        crash_mtbf: Time between crashes of a running task (the essential container exits with
            an error), or ``None`` for tasks that never crash.
        cpu_usage: CPU used as a fraction of the reservation over time (``ecssim.usage``), or
            ``None`` when usage is not modelled.
        memory_usage: Memory used as a fraction of the reservation over time, or ``None``.
        pull_failure: Probability that a task's image pull fails (``CannotPullContainerError``,
            stop code ``TaskFailedToStart``).
        start_failure: Probability that a task's container fails to start after its pull
            (``CannotStartContainerError``, ``TaskFailedToStart``).
        unhealthy_after: Time from RUNNING until the container health check command starts
            failing, or ``None`` for tasks that stay healthy. Only tasks whose task definition
            has a health check on an essential container can turn UNHEALTHY.
    """

    runtime: Distribution = field(default_factory=Forever)
    crash_mtbf: Distribution | None = None
    cpu_usage: UsageModel | None = None
    memory_usage: UsageModel | None = None
    pull_failure: float = 0.0
    start_failure: float = 0.0
    unhealthy_after: Distribution | None = None


@dataclass(frozen=True, slots=True)
class Workload:
    """Standalone RunTask calls arriving over time.

    Attributes:
        index: Position in the scenario's ``workloads`` list (names its random stream).
        cluster: Cluster the tasks run in.
        task_definition: ``"family"`` or ``"family:revision"``, as written.
        arrivals: When the calls happen.
        count: Tasks per RunTask call (1-10).
        group: Task group, or ``None`` for ECS's default ``family:<family>``.
        placement_strategy: RunTask ``placementStrategy`` items.
        placement_constraints: RunTask ``placementConstraints`` items.
        start_s: No call before this time.
        stop_s: No call at or after this time.
    """

    index: int
    cluster: str
    task_definition: str
    arrivals: Arrivals
    count: int = 1
    group: str | None = None
    placement_strategy: tuple[Mapping[str, Any], ...] = ()
    placement_constraints: tuple[Mapping[str, Any], ...] = ()
    start_s: float = 0.0
    stop_s: float = float("inf")


@dataclass(frozen=True, slots=True)
class InstanceFailure:
    """EC2 instances of a cluster that fail (the instance stops; its tasks are lost).

    Exactly one of ``at_s`` and ``mtbf`` is set: ``at_s`` fails ``count`` instances at that
    time (chosen by the fault's random stream); ``mtbf`` gives every instance of the cluster
    (or zone) that time between failures.

    Attributes:
        index: Position in the scenario's ``faults`` list (names its random stream).
        cluster: Cluster whose instances fail.
        at_s: Time of a one-off failure, or ``None``.
        mtbf: Time-between-failures distribution per instance, or ``None``.
        zone: Only instances in this availability zone, or ``None`` for any.
        count: Instances failed at ``at_s`` (1 with ``mtbf``).
        replace_after_s: Delay before a replacement instance of the same group launches, or
            ``None`` for no replacement.
    """

    index: int
    cluster: str
    at_s: float | None = None
    mtbf: Distribution | None = None
    zone: str | None = None
    count: int = 1
    replace_after_s: float | None = None


@dataclass(frozen=True, slots=True)
class InstanceStop:
    """EC2 instances that stop (EC2 stop or crash without termination).

    The containers die; after ``instance_lost_after`` ECS shows ``agentConnected=false`` and
    stops the tasks, but the container instance stays ACTIVE (ECS-SEMANTICS section 4).
    Fields as in :class:`InstanceFailure`, without replacement.
    """

    index: int
    cluster: str
    at_s: float | None = None
    mtbf: Distribution | None = None
    zone: str | None = None
    count: int = 1


@dataclass(frozen=True, slots=True)
class AgentDisconnect:
    """ECS agents that lose their connection for a while; tasks keep running meanwhile.

    Attributes:
        index: Position in the scenario's ``faults`` list (names its random streams).
        cluster: Cluster whose agents disconnect.
        duration: How long each disconnection lasts.
        at_s: Time of a one-off disconnection of ``count`` agents, or ``None``.
        mtbf: Time between disconnections per instance (counted from each reconnection),
            or ``None``.
        zone: Only instances in this availability zone, or ``None`` for any.
        count: Agents disconnected at ``at_s``.
    """

    index: int
    cluster: str
    duration: Distribution
    at_s: float | None = None
    mtbf: Distribution | None = None
    zone: str | None = None
    count: int = 1


@dataclass(frozen=True, slots=True)
class AzOutage:
    """Every instance of one availability zone goes down at ``at_s`` and is back after a while.

    Attributes:
        index: Position in the scenario's ``faults`` list.
        zone: The availability zone.
        at_s: Start of the outage.
        duration_s: Length of the outage.
        cluster: Only instances of this cluster, or ``None`` for every cluster.
    """

    index: int
    zone: str
    at_s: float
    duration_s: float
    cluster: str | None = None


@dataclass(frozen=True, slots=True)
class SpotInterruption:
    """Spot instances interrupted: a notice, then termination ``spot_notice`` later.

    Fields as in :class:`InstanceFailure`; only instances with ``market: spot`` are chosen.
    """

    index: int
    cluster: str
    at_s: float | None = None
    mtbf: Distribution | None = None
    zone: str | None = None
    count: int = 1
    replace_after_s: float | None = None


Fault: TypeAlias = InstanceFailure | InstanceStop | AgentDisconnect | AzOutage | SpotInterruption
"""Any fault."""


@dataclass(frozen=True, slots=True)
class Action:
    """A scripted ECS API call.

    Attributes:
        index: Position in the scenario's ``actions`` list.
        at_s: Simulated time of the call.
        call: boto3 method name, e.g. ``"update_service"``.
        kwargs: The request, in botocore's shape (checked against it).
    """

    index: int
    at_s: float
    call: str
    kwargs: Mapping[str, Any]


_DEFAULT_BEHAVIOR = TaskBehavior(Forever(), None)


@dataclass(frozen=True, slots=True)
class Scenario:
    """A validated scenario: everything a simulation run is built from.

    Attributes:
        name: Short name (the file stem unless the file sets one).
        description: One line saying what the scenario shows.
        seed: Root seed of the random streams (a run may override it).
        duration_s: Simulated seconds to run.
        explain: Whether to record the ``placements`` frame.
        clusters: CreateCluster requests, in order.
        instances: Instance groups, in order.
        task_definitions: Parsed task definitions, in order; revisions count from 1 per family
            in order of appearance.
        services: CreateService requests, ``cluster`` filled in (``"default"`` if absent).
        task_behavior: Behaviour by task definition family.
        workloads: Standalone RunTask arrivals.
        faults: Fault processes.
        actions: Scripted ECS API calls, in file order.
        parameters: Timing and behaviour knobs.
        source: Path of the scenario file, or ``None`` for a dict.
        document: The raw document after overrides (JSON-able), recorded in results.
    """

    name: str
    description: str
    seed: int
    duration_s: float
    explain: bool = False
    clusters: tuple[Mapping[str, Any], ...] = ()
    instances: tuple[InstanceGroup, ...] = ()
    task_definitions: tuple[TaskDefinition, ...] = ()
    services: tuple[Mapping[str, Any], ...] = ()
    task_behavior: Mapping[str, TaskBehavior] = field(default_factory=dict)
    workloads: tuple[Workload, ...] = ()
    faults: tuple[Fault, ...] = ()
    actions: tuple[Action, ...] = ()
    parameters: SimParameters = field(default_factory=SimParameters)
    source: str | None = None
    document: Mapping[str, Any] = field(default_factory=dict)

    def behavior(self, family: str) -> TaskBehavior:
        """Return how tasks of ``family`` behave: as declared, else run forever, never crash."""
        return self.task_behavior.get(family, _DEFAULT_BEHAVIOR)
