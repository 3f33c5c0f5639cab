"""Mutable runtime records the control plane and agents share: tasks, instances, services, clusters.

Records are slotted classes, not dataclasses: they are created on the hot path (one per task)
and updated in place. Value objects (task definitions, instance types) live in ``ecssim.model``.
"""

from __future__ import annotations

import math
from collections import deque
from typing import TYPE_CHECKING, Any

from ecssim.model.catalogue import InstanceType
from ecssim.model.enums import DesiredStatus, InstanceStatus, TaskStatus
from ecssim.model.taskdef import Requirement, TaskDefinition
from ecssim.placement.engine import ConstraintSpec, StrategySpec
from ecssim.state import ClusterState

if TYPE_CHECKING:
    import numpy as np

    from ecssim.agent import Agent

NAN = math.nan
#: Enum members read on every task or instance, as module constants: on Python 3.11
#: ``TaskStatus.X`` goes through the enum metaclass's attribute hook, several times the cost of
#: a global.
_PROVISIONING = TaskStatus.PROVISIONING
_RUNNING = TaskStatus.RUNNING
_DESIRED_RUNNING = DesiredStatus.RUNNING
_REGISTERING = InstanceStatus.REGISTERING
ACCOUNT = "123456789012"
REGION = "us-east-1"


def arn(resource: str, name: str) -> str:
    """Return an ECS ARN in the simulated account and region."""
    return f"arn:aws:ecs:{REGION}:{ACCOUNT}:{resource}/{name}"


#: ``arn("task", "")``: a task's ARN is made once a lifecycle, without the call.
_TASK_ARN = arn("task", "")
#: ``arn("container-instance", "")``: an instance's ARN without the call, thousands a launch.
_INSTANCE_ARN = arn("container-instance", "")


class Task:
    """One task, from placement to STOPPED. Times are simulated seconds, NaN until reached."""

    __slots__ = (
        "arn",
        "cluster",
        "container_instance",
        "crash_s",
        "created_at",
        "desired_status",
        "desired_stopped_at",
        "execution_stopped_at",
        "exit_code",
        "group",
        "healthy_at",
        "held",
        "id",
        "last_status",
        "launch_type",
        "pull_started_at",
        "pull_stopped_at",
        "requirement",
        "reserved",
        "runtime_s",
        "service",
        "start_failure",
        "started_at",
        "started_by",
        "stop_code",
        "stopped_at",
        "stopped_reason",
        "stopping_at",
        "task_definition",
        "token",
        "unhealthy_s",
    )

    def __init__(
        self,
        task_id: str,
        cluster: ClusterRecord,
        task_definition: TaskDefinition,
        group: str,
        service: ServiceRecord | None,
        started_by: str | None,
        created_at: float,
        runtime_s: float,
        crash_s: float,
        start_failure: str | None = None,
        unhealthy_s: float = math.inf,
    ) -> None:
        self.id = task_id
        self.arn = f"{_TASK_ARN}{cluster.name}/{task_id}"
        self.cluster = cluster
        self.task_definition = task_definition
        self.requirement: Requirement = task_definition.requirement
        self.group = group
        self.service = service
        self.started_by = started_by
        self.launch_type = "EC2"
        self.container_instance: InstanceRecord | None = None
        self.last_status = _PROVISIONING
        self.desired_status = _DESIRED_RUNNING
        self.created_at = created_at
        self.pull_started_at = NAN
        self.pull_stopped_at = NAN
        self.started_at = NAN
        self.stopping_at = NAN
        self.execution_stopped_at = NAN
        self.stopped_at = NAN
        self.desired_stopped_at = NAN  # when desiredStatus became STOPPED (reservation released)
        self.stop_code: str | None = None
        self.stopped_reason: str | None = None
        self.exit_code = NAN
        self.runtime_s = runtime_s
        self.crash_s = crash_s
        self.reserved = False  # the control plane's reservation in the cluster state
        self.held = False  # the agent's host resources
        self.token = 0  # bumped to cancel the pending lifecycle timer
        #: Why the task fails before RUNNING (the stoppedReason), or None: drawn from the
        #: family's ``pull_failure`` / ``start_failure`` behaviour.
        self.start_failure = start_failure
        #: Seconds after RUNNING at which its health check command starts failing (inf: never).
        self.unhealthy_s = unhealthy_s
        #: When the task counts healthy for its deployment (set at RUNNING; NaN before).
        self.healthy_at = NAN

    def healthy(self, now: float) -> bool:
        """Whether the task counts healthy for its deployment at ``now`` (``healthy_at``)."""
        return self.last_status == _RUNNING and self.healthy_at <= now

    def health_status(self, now: float) -> str:
        """``healthStatus`` at ``now``: UNKNOWN, HEALTHY or UNHEALTHY (ECS-SEMANTICS 3).

        UNKNOWN without a health check on an essential container and before the first check;
        HEALTHY after it; UNHEALTHY once the checks have failed ``retries`` times in a row.
        """
        definition = self.task_definition
        if math.isnan(self.started_at) or not definition.health_checked:
            return "UNKNOWN"
        end = now if math.isnan(self.execution_stopped_at) else self.execution_stopped_at
        elapsed = end - self.started_at
        if elapsed >= definition.unhealthy_after_s(self.unhealthy_s):
            return "UNHEALTHY"
        first_check = definition.healthy_after_s()
        # A first check that already fails leaves the container "starting" (UNKNOWN) until it
        # turns UNHEALTHY, as the scheduler's ``healthy_at`` (never) assumes.
        if elapsed >= first_check and self.unhealthy_s >= first_check:
            return "HEALTHY"
        return "UNKNOWN"

    @property
    def family(self) -> str:
        """The task definition family."""
        return self.task_definition.family

    def __repr__(self) -> str:
        return f"<Task {self.id} {self.family} {self.last_status.name}>"


class StoppedTask:
    """A STOPPED task as DescribeTasks and ListTasks still show it: its recorded row, read back.

    A :class:`Task` is dropped as it stops; what ECS still shows of it for
    ``deregistered_visible`` is its row of the ``tasks`` channel
    (``ControlPlane.stopped_tasks``). Keeping each stopped task an hour as its object cost
    about an eighth of a lifecycle at 1,000 instances (BENCHMARKS.md, "Stopped tasks as their
    rows"). It reads as a task does for the API layer; it is not a live task: the control
    plane's steps never see one.
    """

    __slots__ = (
        "arn",
        "cluster",
        "container_instance",
        "created_at",
        "desired_stopped_at",
        "execution_stopped_at",
        "exit_code",
        "group",
        "health",
        "id",
        "launch_type",
        "pull_started_at",
        "pull_stopped_at",
        "service",
        "started_at",
        "started_by",
        "stop_code",
        "stopped_at",
        "stopped_reason",
        "stopping_at",
        "task_definition",
    )

    last_status = TaskStatus.STOPPED
    desired_status = DesiredStatus.STOPPED

    def __init__(
        self,
        row: dict[str, Any],
        cluster: ClusterRecord,
        task_definition: TaskDefinition,
        container_instance: InstanceRecord | None,
        service: ServiceRecord | None,
        health: str,
    ) -> None:
        """A view of ``row`` (a ``TaskRow``'s fields) with its records resolved."""
        self.arn = row["task_arn"]
        self.id = self.arn.rsplit("/", 1)[-1]
        self.cluster = cluster
        self.task_definition = task_definition
        self.container_instance = container_instance
        self.service = service
        #: healthStatus as it was when the task stopped (it cannot change after).
        self.health = health
        self.group: str = row["group"]
        self.launch_type: str = row["launch_type"]
        self.started_by: str | None = row["started_by"]
        self.stop_code: str | None = row["stop_code"]
        self.stopped_reason: str | None = row["stopped_reason"]
        self.created_at: float = row["created_at"]
        self.pull_started_at: float = row["pull_started_at"]
        self.pull_stopped_at: float = row["pull_stopped_at"]
        self.started_at: float = row["started_at"]
        self.stopping_at: float = row["stopping_at"]
        self.execution_stopped_at: float = row["execution_stopped_at"]
        self.stopped_at: float = row["stopped_at"]
        self.desired_stopped_at: float = row["desired_stopped_at"]
        self.exit_code: float = row["exit_code"]

    @property
    def requirement(self) -> Requirement:
        """What the task reserved: its task definition's requirement, as for a live task."""
        return self.task_definition.requirement

    def health_status(self, now: float) -> str:
        """``healthStatus``: as when it stopped, whatever ``now``."""
        del now
        return self.health

    @property
    def family(self) -> str:
        """The task definition family."""
        return self.task_definition.family

    def __repr__(self) -> str:
        return f"<StoppedTask {self.id} {self.family}>"


class InstanceRecord:
    """One EC2 container instance and its agent."""

    __slots__ = (
        "agent",
        "arn",
        "attributes",
        "cluster",
        "code",
        "down_since",
        "drained",
        "ec2_instance_id",
        "eni_slots",
        "gpus",
        "hourly_price",
        "id",
        "instance_type",
        "launched_at",
        "market",
        "registered_at",
        "registered_cpu",
        "registered_memory",
        "reserved_cpu",
        "reserved_memory",
        "row",
        "status",
        "stopped_at",
        "tasks",
        "zone",
        "zone_code",
    )

    def __init__(
        self,
        instance_id: str,
        ec2_instance_id: str,
        cluster: ClusterRecord,
        instance_type: InstanceType,
        zone: str,
        market: str,
        cpu: int,
        memory_mib: int,
        attributes: dict[str, str],
        launched_at: float,
        awsvpc_trunking: bool = False,
    ) -> None:
        # Positional: the control plane makes thousands in one launch (launch_instances).
        self.id = instance_id
        self.arn = f"{_INSTANCE_ARN}{cluster.name}/{instance_id}"
        self.ec2_instance_id = ec2_instance_id
        self.cluster = cluster
        self.instance_type = instance_type
        self.zone = zone
        self.market = market
        self.registered_cpu = cpu
        self.registered_memory = memory_mib
        self.reserved_cpu = 0  # the control plane's reservation, mirrored from ClusterState
        self.reserved_memory = 0
        self.eni_slots = instance_type.awsvpc_slots
        self.gpus = instance_type.gpus
        self.attributes = attributes
        if awsvpc_trunking:
            # DG container-instance-eni: a trunk ENI raises the awsvpc task limit to the
            # type's trunk_enis, and ECS reports it as the ecs.awsvpc-trunk-id attribute.
            if instance_type.trunk_enis is None:
                raise ValueError(f"{instance_type.name} does not support ENI trunking")
            self.eni_slots = instance_type.trunk_enis
            trunk_id = "eni-trunk-" + ec2_instance_id.removeprefix("i-")
            self.attributes = {**attributes, "ecs.awsvpc-trunk-id": trunk_id}
        self.hourly_price = instance_type.hourly_price
        self.launched_at = launched_at
        self.registered_at = NAN
        self.stopped_at = NAN
        self.down_since = NAN  # when the instance went down (EC2 stop, AZ outage); NaN while up
        self.drained = False  # the drain-complete event was logged for the current drain
        self.status = _REGISTERING
        self.row = -1
        self.tasks: dict[str, Task] = {}  # tasks placed here and not yet STOPPED
        self.agent: Agent | None = None
        #: The instance's code and its zone's in its recorder's channels (``Recorder.code``),
        #: set at launch: the rows of a task's reservation and of its end write them as they are.
        self.code = self.zone_code = -1

    @property
    def connected(self) -> bool:
        """``agentConnected`` as ECS reports it."""
        state = self.cluster.state
        return self.row >= 0 and bool(state.connected[self.row])


class Deployment:
    """One deployment of a service: a task definition being rolled out (or rolled back to)."""

    __slots__ = (
        "breaker_armed",
        "created_at",
        "failed_tasks",
        "id",
        "rollout_state",
        "rollout_state_reason",
        "status",
        "task_definition",
        "updated_at",
    )

    def __init__(self, deployment_id: str, task_definition: TaskDefinition, now: float) -> None:
        self.id = deployment_id
        self.task_definition = task_definition
        self.status = "PRIMARY"  # PRIMARY, ACTIVE (being replaced) or INACTIVE
        self.rollout_state = "IN_PROGRESS"  # IN_PROGRESS, COMPLETED or FAILED
        self.rollout_state_reason = "ECS deployment ecs-svc/{} in progress.".format(
            deployment_id.rsplit("/", 1)[-1]
        )
        self.created_at = now
        self.updated_at = now
        #: Tasks that failed (stage 1: never RUNNING; stage 2: failed health checks).
        self.failed_tasks = 0
        #: The circuit breaker still counts: until a task of this deployment turns healthy.
        self.breaker_armed = True

    def __repr__(self) -> str:
        return f"<Deployment {self.id} {self.status} {self.rollout_state}>"


class ServiceRecord:
    """One service (REPLICA or DAEMON) and what its scheduler tracks."""

    __slots__ = (
        "arn",
        "az_rebalancing",
        "cluster",
        "code",
        "completed",
        "constraints",
        "created_at",
        "daemon",
        "deployment_configuration",
        "deployments",
        "desired_count",
        "draining_tasks",
        "events",
        "grace_s",
        "group",
        "health_wake_at",
        "launch_window",
        "launched_in_window",
        "load_balanced",
        "name",
        "old_tasks",
        "pending",
        "rebalance_task",
        "request",
        "retiring",
        "retry_at",
        "running",
        "running_cpu",
        "running_memory",
        "start_failures",
        "status",
        "steady",
        "strategies",
        "stuck",
        "task_definition",
        "tasks",
        "throttled_until",
        "wake_scheduled",
    )

    def __init__(
        self,
        name: str,
        cluster: ClusterRecord,
        task_definition: TaskDefinition,
        desired_count: int,
        *,
        strategies: tuple[StrategySpec, ...],
        constraints: tuple[ConstraintSpec, ...],
        deployment_configuration: dict[str, Any],
        request: dict[str, Any],
        created_at: float,
    ) -> None:
        self.name = name
        self.arn = arn("service", f"{cluster.name}/{name}")
        self.cluster = cluster
        self.code = -1  # its code in its recorder's channels (Recorder.code), set on creation
        self.task_definition = task_definition
        self.desired_count = desired_count
        self.strategies = strategies
        self.constraints = constraints
        self.deployment_configuration = deployment_configuration
        self.request = request
        self.created_at = created_at
        self.group = f"service:{name}"
        self.status = "ACTIVE"
        self.tasks: dict[str, Task] = {}  # tasks with desiredStatus RUNNING
        self.running = 0  # of those, lastStatus RUNNING
        self.pending = 0  # of those, not yet RUNNING
        self.old_tasks = 0  # of those, on an earlier task definition (a rollout is under way)
        self.running_cpu = 0  # reserved by its RUNNING tasks (kept when usage is modelled)
        self.running_memory = 0
        self.events: deque[dict[str, Any]] = deque(maxlen=100)
        self.steady = False
        self.retry_at = NAN  # when the retry after a failed placement is due
        self.wake_scheduled = False
        self.draining_tasks = 0  # of ``tasks``, those on a DRAINING container instance
        #: ``availabilityZoneRebalancing``: ENABLED by default on create (BC CreateServiceRequest).
        self.az_rebalancing = True
        self.rebalance_task: Task | None = None  # the extra task of an AZ rebalancing round
        self.stuck = False  # the "unable to stop or start tasks" event was logged
        #: ``schedulingStrategy`` DAEMON: one task per eligible instance, no desired count.
        self.daemon = request.get("schedulingStrategy") == "DAEMON"
        #: Behind a load balancer: tasks count healthy when their target is, and leave through
        #: DEACTIVATING (the target group's deregistration delay).
        self.load_balanced = bool(request.get("loadBalancers"))
        #: ``healthCheckGracePeriodSeconds``: health check failures ignored after RUNNING.
        self.grace_s = float(request.get("healthCheckGracePeriodSeconds") or 0)
        #: Deployments, PRIMARY first (ECS's ``deployments`` list).
        self.deployments: list[Deployment] = []
        self.completed: Deployment | None = None  # the last COMPLETED deployment (rollback)
        self.health_wake_at = NAN  # a reconcile is scheduled when a task turns healthy
        self.start_failures = 0  # consecutive tasks that stopped before RUNNING (throttling)
        #: Ids of tasks a deployment or a drain told to stop that have not STOPPED yet: they
        #: still count against maximumPercent.
        self.retiring: set[str] = set()
        self.throttled_until = NAN  # no launch before this (start-failure throttle)
        self.launch_window = NAN  # start of the current launch-rate minute
        self.launched_in_window = 0

    @property
    def primary(self) -> Deployment:
        """The PRIMARY deployment (the one of the current task definition)."""
        return self.deployments[0]

    @property
    def circuit_breaker(self) -> tuple[bool, bool]:
        """``deploymentCircuitBreaker`` as ``(enable, rollback)``."""
        breaker = self.deployment_configuration.get("deploymentCircuitBreaker") or {}
        return bool(breaker.get("enable")), bool(breaker.get("rollback"))

    def counts(self) -> tuple[int, int]:
        """Return ``(running, pending)`` among tasks the scheduler keeps (desired RUNNING)."""
        return self.running, self.pending


class ClusterRecord:
    """One ECS cluster: its columnar instance state, instances, services and tasks."""

    __slots__ = (
        "arn",
        "code",
        "cpu_registered",
        "cpu_reserved",
        "instances",
        "instances_active",
        "memory_registered",
        "memory_reserved",
        "name",
        "placement_rng",
        "services",
        "settings",
        "state",
        "tasks",
        "tasks_pending",
        "tasks_running",
    )

    def __init__(self, name: str, settings: dict[str, Any] | None = None) -> None:
        self.name = name
        # Cluster-level series, as running levels (each change is appended to the series).
        self.cpu_registered = 0
        self.memory_registered = 0
        self.cpu_reserved = 0
        self.memory_reserved = 0
        self.instances_active = 0
        self.tasks_running = 0
        self.tasks_pending = 0
        self.arn = arn("cluster", name)
        self.state = ClusterState(name)
        self.instances: list[InstanceRecord] = []  # by row
        self.services: dict[str, ServiceRecord] = {}
        self.tasks: dict[str, Task] = {}  # live tasks, by id (a STOPPED one is its row)
        self.settings = settings or {}
        #: The cluster's code in its recorder's channels (``Recorder.code``), set on creation.
        self.code = -1
        #: The cluster's placement stream (``placement:<name>``), taken on first use.
        self.placement_rng: np.random.Generator | None = None
