"""The ECS control plane: placement, RunTask/StartTask/StopTask and the REPLICA scheduler.

It also keeps the task definition registry and the clusters.

The control plane owns the columnar cluster state and is its only writer: it reserves a task's
resources when it places the task and releases them when the task is told to stop (or is lost).
Agents report every state change back through :meth:`ControlPlane.set_status`,
:meth:`ControlPlane.task_exited` and :meth:`ControlPlane.task_stopped`, and the control plane
records it. Services are reconciled when something they care about changes (a task of theirs
stops, their desired count changes, capacity registers) and, after a failed placement, again
after ``service_retry_interval``; nothing polls.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from ecssim.agent import Agent
from ecssim.control.deployments import (
    STUCK_MESSAGE,
    bounds,
    circuit_breaker_threshold,
    deployment_step,
    throttle_delay,
)
from ecssim.control.records import (
    ClusterRecord,
    Deployment,
    InstanceRecord,
    ServiceRecord,
    StoppedTask,
    Task,
    arn,
)
from ecssim.environment import Environment
from ecssim.errors import EcssimError
from ecssim.gcpause import cyclic_gc_paused
from ecssim.metrics import (
    CHANGE,
    DESIRED_STATUS,
    METRIC,
    Channel,
    EventRow,
    FailureRow,
    InstanceRow,
    PlacementRow,
    Recorder,
)
from ecssim.model.catalogue import InstanceType
from ecssim.model.enums import DesiredStatus, InstanceStatus, StopCode, TaskStatus
from ecssim.model.taskdef import TaskDefinition
from ecssim.parameters import SimParameters
from ecssim.placement.engine import (
    NO_INSTANCES,
    ConstraintSpec,
    Decision,
    PlacementRequest,
    StrategySpec,
    constraint_mask,
    place,
    place_on,
)
from ecssim.placement.query import parse_expression
from ecssim.rng import Streams, stable_hash

#: Stopped tasks between two checks of whether the recorder's channels are due to pack their
#: rows into arrays (``Channel.pack``): a channel may pass its threshold (``COMPACT_ROWS``,
#: ``TASK_COMPACT_ROWS``) by this many lifecycles' rows, and a lifecycle saves two calls.
PACK_CHECK_STOPS = 256
# Codes of the change records the control plane writes on every task (metrics.CHANGE_RECORDS):
# the series channel works out the levels after them when it packs.
_CHANGE_RESERVED = CHANGE["reserved"]
_CHANGE_RESERVED_PENDING = CHANGE["reserved_pending"]
_CHANGE_PENDING = CHANGE["pending"]
_CHANGE_RUNNING = CHANGE["running"]
_CHANGE_STARTED = CHANGE["started"]
# And on every instance registered or gone.
_CPU_REGISTERED = METRIC["cpu_registered"]
_MEMORY_REGISTERED = METRIC["memory_registered"]
_INSTANCES_ACTIVE = METRIC["instances_active"]
# Enum members the lifecycle reads on every task, as module constants: on Python 3.11
# ``TaskStatus.X`` goes through the enum metaclass's attribute hook, several times the cost of
# a global.
_RUNNING = TaskStatus.RUNNING
_STOPPED = TaskStatus.STOPPED
_DESIRED_RUNNING = DesiredStatus.RUNNING
_DESIRED_STOPPED = DesiredStatus.STOPPED
_EXITED = StopCode.ESSENTIAL_CONTAINER_EXITED
_FAILED_TO_START = StopCode.TASK_FAILED_TO_START
_DRAINING = InstanceStatus.DRAINING
_ACTIVE = InstanceStatus.ACTIVE
_AZ = "ecs.availability-zone"

#: Default placement of a service with no strategy: fewest of its tasks in the AZ, then on the
#: instance (ECS-SEMANTICS section 2).
SERVICE_DEFAULT_STRATEGY = (
    StrategySpec("spread", "attribute:ecs.availability-zone"),
    StrategySpec("spread", "instanceId"),
)
#: Standalone RunTask with no strategy: random [inf].
RUNTASK_DEFAULT_STRATEGY = (StrategySpec("random"),)
#: A draw of one task's fate: run time, crash time, start failure, seconds to unhealthy.
Draws = tuple[float, float, str | None, float]
_HEALTHY: Draws = (math.inf, math.inf, None, math.inf)

_CLOSEST = {
    "AGENT": 'encountered error "AGENT"',
    "RESOURCE:CPU": "has insufficient CPU units available",
    "RESOURCE:MEMORY": "has insufficient memory available",
    "RESOURCE:PORTS": "is already using a port required by your task",
    "RESOURCE:ENI": 'encountered error "RESOURCE:ENI"',
    "RESOURCE:GPU": "has insufficient GPU available",
}


class _FamilyGroups(dict[str, str]):
    """``family:<family>``, a task's default group, by family: one shared string per family.

    A new string per task would be hashed again by every look-up and when its column is
    packed. A miss makes the string (``__missing__``), so a hit is one look-up and no call.
    """

    def __missing__(self, family: str) -> str:
        group = self[family] = f"family:{family}"
        return group


class ControlPlaneError(EcssimError):
    """A request the control plane refuses; ``code`` is the ECS exception name."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def strategies_from(items: Iterable[Mapping[str, Any]] | None) -> tuple[StrategySpec, ...]:
    """Convert ``placementStrategy`` items to specs."""
    return tuple(StrategySpec(str(i["type"]), i.get("field")) for i in items or ())


def constraints_from(items: Iterable[Mapping[str, Any]] | None) -> tuple[ConstraintSpec, ...]:
    """Convert ``placementConstraints`` items to specs, parsing memberOf expressions."""
    out = []
    for item in items or ():
        expression = item.get("expression")
        parsed = parse_expression(str(expression)) if item["type"] == "memberOf" else None
        out.append(ConstraintSpec(str(item["type"]), parsed))
    return tuple(out)


class ControlPlane:
    """The simulated ECS control plane of one account and region."""

    def __init__(
        self,
        env: Environment,
        streams: Streams,
        params: SimParameters,
        recorder: Recorder,
        *,
        behaviours: Mapping[str, Any] | None = None,
    ) -> None:
        self.env = env
        self.streams = streams
        self.params = params
        self.recorder = recorder
        self.behaviours = behaviours if behaviours is not None else {}
        self.clusters: dict[str, ClusterRecord] = {}
        self.task_definitions: dict[str, list[TaskDefinition]] = {}
        self.instances: list[InstanceRecord] = []
        #: Called with each instance as it is launched (fault processes hook in here).
        self.launch_hooks: list[Callable[[InstanceRecord], None]] = []
        self._task_seq = 0
        self._instance_seq = 0
        #: healthStatus of the STOPPED tasks with a health check, by ARN, as they stopped, and
        #: (stopped_at, ARN) in that order to forget them once ``deregistered_visible`` has
        #: passed. The rest of a stopped task is its row (:meth:`stopped_tasks`).
        self._stopped_health: dict[str, str] = {}
        self._stopped_health_order: deque[tuple[float, str]] = deque()
        self._unnamed_placement = -1  # row of the placements channel awaiting its task ARN
        self._stops_to_pack_check = PACK_CHECK_STOPS
        #: Families whose usage is modelled; for them the reservations of RUNNING tasks are
        #: kept per (cluster, family) and per service, for the usage sampler.
        self.usage_families: frozenset[str] = frozenset()
        self.running_reserved: dict[tuple[str, str], list[int]] = {}
        # Caches keyed by object identity: task definitions and their parsed constraints live
        # for the whole run (the registry keeps them), so ids are never reused meanwhile.
        self._td_constraints: dict[int, tuple[ConstraintSpec, ...]] = {}
        self._family_groups = _FamilyGroups()
        self._requests: dict[tuple[Any, ...], PlacementRequest] = {}
        self._origin_streams: dict[str, tuple[np.random.Generator, ...]] = {}
        self._health_gates: dict[tuple[int, bool], float] = {}
        self._deployment_seq = 0
        self._definition_copies: list[TaskDefinition] = []
        self.refresh_usage_families()

    # -- helpers ------------------------------------------------------------------------------
    @property
    def now(self) -> float:
        """The simulated time.

        The lifecycle's steps read ``self.env._now`` instead, the attribute behind SimPy's
        ``now`` property: a property is a Python call, and a lifecycle read the clock a dozen
        times. ``Simulation`` starts the clock at 0.0, so ``_now`` is always a float.
        """
        return float(self.env.now)

    def _registered(self, cluster: ClusterRecord, instance: InstanceRecord, sign: int) -> None:
        cluster.cpu_registered += sign * instance.registered_cpu
        cluster.memory_registered += sign * instance.registered_memory
        cluster.instances_active += sign
        # Three series rows as numbers (Channel.rows): registering 10,000 instances made 30,000
        # rows through the named path.
        now, series, at = self.env._now, self.recorder.series, cluster.code
        # fmt: off
        series.rows(3)(
            now, cluster.cpu_registered, _CPU_REGISTERED, at, -1, -1,
            now, cluster.memory_registered, _MEMORY_REGISTERED, at, -1, -1,
            now, cluster.instances_active, _INSTANCES_ACTIVE, at, -1, -1,
        )
        # fmt: on

    def event(
        self,
        kind: str,
        message: str,
        *,
        cluster: str | None = None,
        service: ServiceRecord | None = None,
        task: Task | None = None,
        instance: InstanceRecord | None = None,
    ) -> None:
        """Record an event; service events also go to the service's event list."""
        now = self.env.now
        self.recorder.events.append(
            EventRow(
                now,
                kind,
                cluster or (service.cluster.name if service else None),
                service.name if service else None,
                task.arn if task else None,
                instance.arn if instance else None,
                message,
            )
        )
        if service is not None:
            service.events.appendleft({"createdAt": now, "message": message})

    def refresh_usage_families(self) -> None:
        """Recompute which families model usage (after behaviours change)."""
        usage = [
            family
            for family, behaviour in self.behaviours.items()
            if getattr(behaviour, "cpu_usage", None) or getattr(behaviour, "memory_usage", None)
        ]
        for key in usage:
            if ":" in key:
                raise ValueError(
                    f"behaviour {key!r}: usage is modelled per family; give cpu_usage and "
                    f"memory_usage under {key.partition(':')[0]!r}"
                )
        self.usage_families = frozenset(usage)
        self._revision_behaviours = any(":" in key for key in self.behaviours)

    def _instance_event(self, kind: str, message: str, instance: InstanceRecord) -> None:
        """Record an event about a container instance in its cluster.

        Its row goes straight in as numbers and codes (``EventRow``'s ``t``, then the codes of
        ``kind``, cluster, service and instance, then its texts), as a stopped task's row does:
        registering 10,000 instances made 10,000 named rows through the generic ``append``.
        """
        events = self.recorder.events
        kind_code = events.books["kind"][kind]
        events.row(self.env._now, kind_code, instance.cluster.code, -1, instance.code)
        events.extend_text((None, message))  # task_arn, message

    # -- clusters and task definitions ---------------------------------------------------------
    def create_cluster(self, name: str, settings: dict[str, Any] | None = None) -> ClusterRecord:
        """Create a cluster (idempotent, like ECS)."""
        cluster = self.clusters.get(name)
        if cluster is None:
            cluster = self.clusters[name] = ClusterRecord(name, settings)
            cluster.code = self.recorder.code("cluster", name)
        return cluster

    def cluster(self, name: str | None) -> ClusterRecord:
        """Return a cluster by name or ARN (``default`` when omitted)."""
        if name is not None:
            cluster = self.clusters.get(name)
            if cluster is not None:
                return cluster  # a name: no ARN to split
        key = (name or "default").rsplit("/", 1)[-1]
        try:
            return self.clusters[key]
        except KeyError:
            raise ControlPlaneError("ClusterNotFoundException", "Cluster not found.") from None

    def register_task_definition(self, definition: TaskDefinition) -> TaskDefinition:
        """Register a definition as the next revision of its family; return it with its revision."""
        from dataclasses import replace

        revisions = self.task_definitions.setdefault(definition.family, [])
        registered = replace(definition, revision=len(revisions) + 1)
        revisions.append(registered)
        return registered

    def task_definition(self, reference: str) -> TaskDefinition:
        """Resolve ``family``, ``family:revision`` or a task definition ARN (latest if no rev)."""
        name = reference.rsplit("/", 1)[-1]
        family, _, revision = name.partition(":")
        revisions = self.task_definitions.get(family)
        if not revisions:
            raise ControlPlaneError("ClientException", "Unable to describe task definition.")
        if not revision:
            return revisions[-1]
        if not revision.isdigit() or not 1 <= int(revision) <= len(revisions):
            raise ControlPlaneError("ClientException", "Unable to describe task definition.")
        return revisions[int(revision) - 1]

    # -- container instances -------------------------------------------------------------------
    def launch_instances(
        self,
        cluster_name: str,
        instance_type: InstanceType,
        *,
        count: int,
        zones: Sequence[str],
        attributes: Mapping[str, str] | None = None,
        cpu: int | None = None,
        memory_mib: int | None = None,
        market: str = "on-demand",
        awsvpc_trunking: bool = False,
    ) -> list[InstanceRecord]:
        """Launch EC2 instances; each boots, then its agent registers it with the cluster.

        With ``awsvpc_trunking`` the instances hold the type's ``trunk_enis`` awsvpc tasks and
        register with ``ecs.awsvpc-trunk-id``; a type without trunking is a ``ValueError``.
        """
        cluster = self.cluster(cluster_name)
        if awsvpc_trunking and instance_type.trunk_enis is None:
            raise ValueError(
                f"{instance_type.name} does not support ENI trunking (awsvpc_trunking=True); "
                "only catalogue types with trunk_enis do"
            )
        boot_rng = self.streams.get(f"boot:{cluster.name}")
        launched = []
        now = self.env._now
        # What every instance of the launch shares, read once (10,000 instances in one call).
        cpu = instance_type.registered_cpu if cpu is None else cpu
        memory_mib = instance_type.registered_memory_mib if memory_mib is None else memory_mib
        env, params, streams, hooks = self.env, self.params, self.streams, self.launch_hooks
        instance_codes = self.recorder.shared["container_instance"]
        zone_codes = self.recorder.shared["availability_zone"]
        # Thousands of objects that all stay: the collector would find nothing to free.
        with cyclic_gc_paused():
            for i in range(count):
                self._instance_seq += 1
                seq = self._instance_seq
                digits = hex(seq)[2:]  # f"{seq:032x}" without parsing a format spec
                instance = InstanceRecord(
                    digits.zfill(32),
                    "i-" + digits.zfill(17),
                    cluster,
                    instance_type,
                    zones[i % len(zones)],
                    market,
                    cpu,
                    memory_mib,
                    dict(attributes) if attributes else {},
                    now,
                    awsvpc_trunking,
                )
                instance.code = instance_codes[instance.arn]
                instance.zone_code = zone_codes[instance.zone]
                instance.agent = Agent(
                    env, self, instance, params, streams, "agent:" + str(seq), boot_rng
                )
                self.instances.append(instance)
                launched.append(instance)
                for hook in hooks:
                    hook(instance)
        return launched

    def register_instance(self, instance: InstanceRecord) -> None:
        """Called by the agent after boot: the instance becomes ACTIVE with its attributes."""
        cluster = instance.cluster
        itype = instance.instance_type
        attributes = {
            "ecs.availability-zone": instance.zone,
            "ecs.instance-type": itype.name,
            "ecs.os-type": "linux",
            "ecs.os-family": "LINUX",
            "ecs.cpu-architecture": itype.architecture,
            "ecs.ami-id": "ami-0ecssim000000000",
            **instance.attributes,
        }
        instance.attributes = attributes
        instance.registered_at = now = self.env._now
        instance.status = _ACTIVE
        instance.row = cluster.state.add_instance(
            instance.arn,
            instance.ec2_instance_id,
            instance.registered_cpu,
            instance.registered_memory,
            instance.eni_slots,
            instance.gpus,
            attributes,
            now,
        )
        cluster.instances.append(instance)
        self._registered(cluster, instance, 1)
        self._instance_event(
            "instance_registered",
            f"Container instance {instance.id} registered ({itype.name}, {instance.zone}).",
            instance,
        )
        self._capacity_changed(cluster)

    def fail_instance(
        self,
        instance: InstanceRecord,
        *,
        reason: str = "failure",
        code: StopCode = StopCode.TERMINATION_NOTICE,
        lost_after: float | None = None,
        task_reason: str | None = None,
    ) -> None:
        """The EC2 instance is terminated (or crashes) now; ECS notices after ``lost_after``.

        ECS then marks the instance ``agentConnected=false`` and INACTIVE and stops its tasks
        with ``code`` (default ``instance_lost_after``, ``TerminationNotice``).
        """
        if not math.isnan(instance.stopped_at):
            return
        instance.stopped_at = self.now
        if instance.agent is not None:
            instance.agent.terminate()
        self._instance_event(
            "instance_failed",
            f"EC2 instance {instance.ec2_instance_id} {reason}.",
            instance,
        )
        if instance.row < 0:
            instance.status = InstanceStatus.INACTIVE  # died before registering
            return
        delay = self.params.instance_lost_after if lost_after is None else lost_after
        why = task_reason or f"Host EC2 (instance {instance.ec2_instance_id}) terminated."

        def lost(_event: object = None) -> None:
            self._instance_lost(instance, code, why)

        if delay <= 0:
            lost()
        else:
            self.env.timeout(delay).callbacks.append(lost)

    def _instance_lost(
        self,
        instance: InstanceRecord,
        code: StopCode = StopCode.TERMINATION_NOTICE,
        reason: str | None = None,
    ) -> None:
        if instance.status == InstanceStatus.INACTIVE:
            return  # deregistered meanwhile: its tasks were already forgotten
        cluster = instance.cluster
        state = cluster.state
        was_draining = instance.status == _DRAINING
        state.set_connected(instance.row, False)
        state.set_status(instance.row, InstanceStatus.INACTIVE)
        if was_draining:
            self._undrain_counts(instance)
        instance.status = InstanceStatus.INACTIVE
        name = cluster.name
        self._registered(cluster, instance, -1)
        self.event(
            "instance_lost",
            f"Container instance {instance.id} agentConnected=false; instance INACTIVE.",
            cluster=name,
            instance=instance,
        )
        why = reason or f"Host EC2 (instance {instance.ec2_instance_id}) terminated."
        self._lose_tasks(instance, code, why, instance.stopped_at)

    def _lose_tasks(
        self, instance: InstanceRecord, code: StopCode | None, reason: str, died_at: float
    ) -> None:
        """ECS declares every task of ``instance`` STOPPED (its containers died at ``died_at``).

        With ``code`` None the tasks are orphaned (a forced deregistration): ECS forgets them
        without a stop code, and the time their containers stop is unknown.
        """
        for task in list(instance.tasks.values()):
            task.token += 1
            self._to_desired_stopped(task, code or StopCode.USER_INITIATED, reason)
            if code is None:
                task.stop_code = None
            elif (
                math.isnan(task.execution_stopped_at)
                and task.last_status >= TaskStatus.ACTIVATING
                and not math.isnan(died_at)
            ):
                task.execution_stopped_at = died_at
            task.held = False
            self.task_stopped(task)

    # -- instance states: draining, deregistration, stops, agent disconnects -------------------
    def update_instances_state(
        self, instances: Sequence[InstanceRecord], status: InstanceStatus
    ) -> None:
        """UpdateContainerInstancesState: ACTIVE -> DRAINING or DRAINING -> ACTIVE.

        Checked for every instance before any changes (ECS rejects the call).
        """
        if status not in (_ACTIVE, _DRAINING):
            raise ControlPlaneError(
                "InvalidParameterException",
                "Container instance status can only be set to ACTIVE or DRAINING.",
            )
        for instance in instances:
            if instance.status not in (_ACTIVE, _DRAINING):
                raise ControlPlaneError(
                    "InvalidParameterException",
                    f"Container instance {instance.arn} is {instance.status.name}: only an "
                    "ACTIVE or DRAINING container instance can be updated.",
                )
        for instance in instances:
            if instance.status == status:
                continue
            if status == _DRAINING:
                self.drain(instance)
            else:
                self.activate(instance)

    def drain(self, instance: InstanceRecord, *, why: str = "") -> None:
        """Set an ACTIVE instance DRAINING (ECS-SEMANTICS section 4).

        No new placements; PENDING service tasks stop now; RUNNING service tasks are replaced
        by their services within minimumHealthyPercent / maximumPercent (``_reconcile``);
        standalone tasks are left alone.
        """
        if instance.status != _ACTIVE or instance.row < 0:
            return
        instance.cluster.state.set_status(instance.row, _DRAINING)
        instance.status = _DRAINING
        instance.drained = False
        self._instance_event(
            "instance_draining",
            f"Container instance {instance.id} DRAINING{why}.",
            instance,
        )
        services = []
        for task in instance.tasks.values():
            service = task.service
            if service is not None and task.desired_status == _DESIRED_RUNNING:
                if not service.daemon:
                    service.draining_tasks += 1
                services.append(service)  # a daemon's desiredCount drops now (no target)
        for task in list(instance.tasks.values()):
            service = task.service
            if service is not None and not service.daemon and task.last_status < _RUNNING:
                self.stop_task(
                    task,
                    code=StopCode.SERVICE_SCHEDULER_INITIATED,
                    reason="Container instance is DRAINING: PENDING service task stopped.",
                )
        for service in services:
            self.wake(service)
        self._check_drained(instance)

    def activate(self, instance: InstanceRecord) -> None:
        """Set a DRAINING instance back to ACTIVE: it takes placements again."""
        if instance.status != _DRAINING:
            return
        instance.cluster.state.set_status(instance.row, _ACTIVE)
        instance.status = _ACTIVE
        self._undrain_counts(instance)
        self._instance_event(
            "instance_active",
            f"Container instance {instance.id} ACTIVE.",
            instance,
        )
        self._capacity_changed(instance.cluster)

    def _undrain_counts(self, instance: InstanceRecord) -> None:
        for task in instance.tasks.values():
            service = task.service
            if service is None or task.desired_status != _DESIRED_RUNNING:
                continue
            if not service.daemon:
                service.draining_tasks -= 1
            self.wake(service)

    def _check_drained(self, instance: InstanceRecord) -> None:
        """Log, once per drain, when no service task is left on a DRAINING instance."""
        if instance.drained or instance.status != _DRAINING:
            return
        services = [t for t in instance.tasks.values() if t.service is not None]
        if any(not t.service.daemon for t in services):  # type: ignore[union-attr]
            return
        for task in services:  # only daemon tasks are left: they stop last
            self.stop_task(
                task,
                code=StopCode.SERVICE_SCHEDULER_INITIATED,
                reason="Container instance is DRAINING: daemon task stopped last.",
            )
        # A daemon task that was not running yet stops at once, and its STOPPED report has
        # already logged the drain through this same method.
        if instance.drained or any(t.service is not None for t in instance.tasks.values()):
            return
        instance.drained = True
        left = len(instance.tasks)
        self._instance_event(
            "instance_drained",
            f"Container instance {instance.id} drained: no service tasks left "
            f"({left} standalone task{'s' if left != 1 else ''} still running); "
            "it stays DRAINING until set ACTIVE or deregistered.",
            instance,
        )

    def _capacity_changed(self, cluster: ClusterRecord) -> None:
        """Capacity appeared: services short of tasks try again now; AZ rebalancing looks."""
        for service in cluster.services.values():
            if service.status != "ACTIVE":
                continue
            if service.daemon:
                self._reconcile_daemon(service)  # now: daemon tasks go first
                continue
            if len(service.tasks) < service.desired_count:
                service.retry_at = math.nan
                self.wake(service)
            elif service.az_rebalancing and service.steady:
                self._maybe_rebalance(service)

    def deregister_instance(self, instance: InstanceRecord, *, force: bool = False) -> None:
        """DeregisterContainerInstance: the instance becomes INACTIVE.

        Without ``force`` ECS refuses while tasks run on it. With ``force`` they are orphaned:
        ECS stops tracking them (no stop code) and services start replacements elsewhere
        (BC DeregisterContainerInstanceRequest.force). The EC2 instance itself keeps running.
        """
        if instance.status == InstanceStatus.INACTIVE or instance.row < 0:
            raise ControlPlaneError(
                "InvalidParameterException",
                f"Container instance {instance.arn} is not registered.",
            )
        running = [t for t in instance.tasks.values() if t.desired_status == _DESIRED_RUNNING]
        if running and not force:
            raise ControlPlaneError(
                "InvalidParameterException", "Found running tasks on the instance."
            )
        cluster = instance.cluster
        state = cluster.state
        if instance.status == _DRAINING:
            self._undrain_counts(instance)
        state.set_status(instance.row, InstanceStatus.INACTIVE)
        state.set_connected(instance.row, False)
        instance.status = InstanceStatus.INACTIVE
        self._registered(cluster, instance, -1)
        if instance.agent is not None:
            instance.agent.deregistered()
        self.event(
            "instance_deregistered",
            f"Container instance {instance.id} deregistered; INACTIVE"
            + (f" ({len(instance.tasks)} tasks orphaned)." if instance.tasks else "."),
            cluster=cluster.name,
            instance=instance,
        )
        self._lose_tasks(
            instance,
            None,
            "Container instance deregistered: task orphaned (no longer tracked by ECS).",
            math.nan,
        )

    def put_attribute(self, instance: InstanceRecord, name: str, value: str | None) -> None:
        """PutAttributes / DeleteAttributes on a container instance (``None`` deletes)."""
        if value is None:
            instance.attributes.pop(name, None)
        else:
            instance.attributes[name] = value
        if instance.row >= 0:
            instance.cluster.state.set_attribute(instance.row, name, value)
            self._capacity_changed(instance.cluster)

    def disconnect_agent(self, instance: InstanceRecord, *, why: str = "") -> bool:
        """The agent loses its connection: no placements, running tasks keep running.

        Stop requests wait for the reconnect, and the agent's reports are delivered then.
        Returns whether the agent was connected.
        """
        agent = instance.agent
        if (
            agent is None
            or not agent.alive
            or not agent.connected
            or instance.row < 0
            or instance.status == InstanceStatus.INACTIVE
        ):
            return False
        agent.disconnect()
        instance.cluster.state.set_connected(instance.row, False)
        for service in instance.cluster.services.values():
            if service.daemon and service.status == "ACTIVE":
                self.wake(service)  # its desiredCount counts connected instances only
        self._instance_event(
            "agent_disconnected",
            f"Container instance {instance.id} agentConnected=false{why}.",
            instance,
        )
        return True

    def reconnect_agent(self, instance: InstanceRecord) -> None:
        """The agent reconnects: placements resume; queued reports and stops are delivered."""
        agent = instance.agent
        if agent is None or agent.connected or instance.status == InstanceStatus.INACTIVE:
            return
        instance.cluster.state.set_connected(instance.row, True)
        self._instance_event(
            "agent_reconnected",
            f"Container instance {instance.id} agentConnected=true.",
            instance,
        )
        agent.reconnect()
        self._capacity_changed(instance.cluster)

    def instance_down(
        self, instance: InstanceRecord, *, reason: str, ec2_stopped: bool = False
    ) -> None:
        """The EC2 instance stops (or its zone fails): every container dies now.

        After ``instance_lost_after`` ECS shows ``agentConnected=false`` and stops the tasks
        (``TerminationNotice``); the container instance stays ACTIVE (ECS-SEMANTICS section 4),
        unlike a terminated one. ``ec2_stopped`` marks the EC2 instance stopped (no longer
        billed: ``stopped_at``).
        """
        agent = instance.agent
        if agent is None or not agent.alive or not math.isnan(instance.down_since):
            return
        now = self.now
        instance.down_since = now
        if ec2_stopped:
            instance.stopped_at = now
        agent.terminate()
        self._instance_event(
            "instance_down",
            f"EC2 instance {instance.ec2_instance_id} {reason}.",
            instance,
        )
        if instance.row < 0:
            return
        timer = self.env.timeout(self.params.instance_lost_after)
        timer.callbacks.append(lambda _e: self._instance_unreachable(instance, now))

    def _instance_unreachable(self, instance: InstanceRecord, since: float) -> None:
        if instance.down_since != since or instance.status == InstanceStatus.INACTIVE:
            return  # back up (or deregistered) meanwhile
        cluster = instance.cluster
        cluster.state.set_connected(instance.row, False)
        self.event(
            "instance_unreachable",
            f"Container instance {instance.id} agentConnected=false; status stays "
            f"{instance.status.name}.",
            cluster=cluster.name,
            instance=instance,
        )
        self._lose_tasks(
            instance,
            StopCode.TERMINATION_NOTICE,
            f"Host EC2 (instance {instance.ec2_instance_id}) stopped.",
            since,
        )

    def instance_up(self, instance: InstanceRecord) -> None:
        """An instance that went down is back: its agent starts again and reconnects."""
        since = instance.down_since
        agent = instance.agent
        if math.isnan(since) or agent is None:
            return
        if instance.status != InstanceStatus.INACTIVE and instance.row >= 0:
            # ECS learns now (at the latest) that the tasks died with the instance.
            self._lose_tasks(
                instance,
                StopCode.TERMINATION_NOTICE,
                f"Host EC2 (instance {instance.ec2_instance_id}) stopped.",
                since,
            )
        instance.down_since = math.nan
        agent.restart()
        if instance.row < 0 or instance.status == InstanceStatus.INACTIVE:
            return
        instance.cluster.state.set_connected(instance.row, True)
        self._instance_event(
            "instance_up",
            f"Container instance {instance.id} is back: agentConnected=true.",
            instance,
        )
        self._capacity_changed(instance.cluster)

    # -- task creation and placement ----------------------------------------------------------
    def _definition_constraints(self, definition: TaskDefinition) -> tuple[ConstraintSpec, ...]:
        """The task definition's own constraints, parsed once per definition."""
        parsed = self._td_constraints.get(id(definition))
        if parsed is None:
            parsed = constraints_from(
                {"type": c.type, "expression": c.expression}
                for c in definition.placement_constraints
            )
            self._td_constraints[id(definition)] = parsed
        return parsed

    def _draw(self, origin: str, definition: TaskDefinition) -> Draws:
        """Draw one task's fate from the ``origin``'s streams and its behaviour.

        The behaviour is the one given for ``family:revision``, else for the family. Start
        failures and health failures come from a stream of their own, drawn only when the
        behaviour has them, so adding them never shifts run and crash times.
        """
        behaviours = self.behaviours
        behaviour = None
        if self._revision_behaviours:
            behaviour = behaviours.get(f"{definition.family}:{definition.revision}")
        if behaviour is None:
            behaviour = behaviours.get(definition.family)
            if behaviour is None:
                return _HEALTHY
        streams = self._origin_streams.get(origin)
        if streams is None:
            get = self.streams.get
            streams = self._origin_streams[origin] = (
                get(f"{origin}:runtime"),
                get(f"{origin}:crash"),
                get(f"{origin}:faults"),
            )
        runtime = behaviour.runtime.sample(streams[0])
        crash = math.inf
        if behaviour.crash_mtbf is not None:
            crash = behaviour.crash_mtbf.sample(streams[1])
        failure: str | None = None
        unhealthy = math.inf
        if behaviour.pull_failure or behaviour.start_failure or behaviour.unhealthy_after:
            faults = streams[2]
            if behaviour.pull_failure and faults.random() < behaviour.pull_failure:
                failure = "pull"
            elif behaviour.start_failure and faults.random() < behaviour.start_failure:
                failure = "start"
            if behaviour.unhealthy_after is not None:
                unhealthy = behaviour.unhealthy_after.sample(faults)
        return runtime, crash, failure, unhealthy

    def _new_task(
        self,
        cluster: ClusterRecord,
        definition: TaskDefinition,
        group: str,
        service: ServiceRecord | None,
        started_by: str | None,
        draws: Draws,
    ) -> Task:
        """A new task, PROVISIONING; its callers pass everything by position, once a lifecycle."""
        self._task_seq += 1
        # Positional: keyword arguments cost a lifecycle 2.4 % of its instructions (BENCHMARKS.md).
        task = Task(
            hex(self._task_seq)[2:].zfill(32),  # f"{seq:032x}" without parsing a format spec
            cluster,
            definition,
            group,
            service,
            started_by,
            self.env._now,  # created_at
            draws[0],  # runtime_s
            draws[1],  # crash_s
            draws[2],  # start_failure
            draws[3],  # unhealthy_s
        )
        cluster.tasks[task.id] = task
        return task

    def _assign(self, task: Task, row: int) -> None:
        if self._unnamed_placement >= 0:
            placements = self.recorder.placements
            assert placements is not None
            placements.set(self._unnamed_placement, "task_arn", task.arn)
            self._unnamed_placement = -1
        cluster = task.cluster
        instance = cluster.instances[row]
        need = task.requirement
        cluster.state.book(row, need, task.group, 1)  # reserve
        task.reserved = True
        task.container_instance = instance
        instance.tasks[task.id] = task
        self._reservation_changed(cluster, instance, need.cpu, need.memory_mib, True)  # pending
        service = task.service
        if service is not None:
            service.pending += 1
            self._service_levels(service)
        assert instance.agent is not None
        instance.agent.submit(task)

    def _reservation_changed(
        self,
        cluster: ClusterRecord,
        instance: InstanceRecord,
        cpu: int,
        memory: int,
        pending: bool = False,
    ) -> None:
        """Reserve ``cpu`` and ``memory`` on ``instance`` (negative: release).

        ``pending``: the reservation is a new task's, one more pending task in ``cluster``.
        One change record in the series stands for all of it (``metrics.CHANGE_RECORDS``).
        """
        cluster.cpu_reserved += cpu
        cluster.memory_reserved += memory
        instance.reserved_cpu += cpu
        instance.reserved_memory += memory
        if pending:
            cluster.tasks_pending += 1
        # One change record for the four or five levels this moves: t, the CPU, the record's
        # code, the cluster's, the memory (in the service's field) and the instance's code. The
        # series works out the levels' rows when it packs (metrics.CHANGE_RECORDS).
        self.recorder.series.row(
            self.env._now,
            cpu,
            _CHANGE_RESERVED_PENDING if pending else _CHANGE_RESERVED,
            cluster.code,
            memory,
            instance.code,
        )

    def _release(self, task: Task) -> None:
        if not task.reserved:
            return
        task.reserved = False
        instance = task.container_instance
        assert instance is not None
        need = task.requirement
        task.cluster.state.book(instance.row, need, task.group, -1)  # release
        self._reservation_changed(task.cluster, instance, -need.cpu, -need.memory_mib)

    def _place(self, cluster: ClusterRecord, request: PlacementRequest) -> Decision:
        """One placement decision in ``cluster``; its row in ``placements`` if those are kept.

        The row's task ARN is filled in by ``_assign``: the task is made after its placement.
        """
        rng = cluster.placement_rng
        if rng is None:
            rng = cluster.placement_rng = self.streams.get(f"placement:{cluster.name}")
        placements = self.recorder.placements
        if placements is None:
            return place(cluster.state, request, rng)  # no keyword argument, once a lifecycle
        decision = place(cluster.state, request, rng, explain=True)
        instances = cluster.instances
        counts = decision.counts
        placements.append(
            PlacementRow(
                self.env.now,
                None,  # task_arn
                cluster.name,
                request.group,
                counts[0] if counts else 0,
                counts[1] if counts else 0,
                counts[2] if counts else 0,
                ",".join(str(c) for c in counts[3:]),
                instances[decision.row].arn if decision.row >= 0 else None,
                instances[decision.closest_row].arn if decision.closest_row >= 0 else None,
                decision.reason,
            )
        )
        if decision.row >= 0:
            self._unnamed_placement = len(placements) - 1
        return decision

    def _failure(
        self,
        cluster: ClusterRecord,
        decision: Decision,
        group: str,
        family: str,
        service: ServiceRecord | None,
    ) -> dict[str, str]:
        closest = cluster.instances[decision.closest_row] if decision.closest_row >= 0 else None
        reason = decision.reason or "UNKNOWN"
        detail = closest.arn if closest is not None else None
        self.recorder.failures.append(
            FailureRow(
                self.env.now,
                cluster.name,
                service.name if service else None,
                group,
                family,
                reason,
                detail,
            )
        )
        failure = {"reason": reason}
        if closest is not None:
            failure["arn"] = closest.arn
        return failure

    def run_task(
        self,
        cluster_name: str | None,
        definition: TaskDefinition,
        *,
        count: int = 1,
        group: str | None = None,
        strategies: tuple[StrategySpec, ...] = (),
        constraints: tuple[ConstraintSpec, ...] = (),
        started_by: str | None = None,
        origin: str = "run_task",
    ) -> tuple[list[Task], list[dict[str, str]]]:
        """Place and start up to ``count`` standalone tasks (RunTask).

        Run and crash times are drawn for every requested task, placed or not, from the
        ``origin`` streams, so placement outcomes never shift the workload's numbers.

        Returns:
            The started tasks and ECS-shaped failures (``{"arn", "reason"}``).

        Raises:
            ControlPlaneError: No container instance is registered in the cluster (ECS's
                InvalidParameterException).
        """
        cluster = self.clusters.get(cluster_name or "default") or self.cluster(cluster_name)
        group = group or self._family_groups[definition.family]
        key = (id(definition), group, strategies, constraints)
        request = self._requests.get(key)
        if request is None:
            request = self._requests[key] = PlacementRequest(
                definition.requirement,
                group,
                strategies or RUNTASK_DEFAULT_STRATEGY,
                constraints + self._definition_constraints(definition),
            )
        draws = []
        for _ in range(count):  # not a comprehension, which is a call of its own on 3.11
            draws.append(self._draw(origin, definition))
        tasks: list[Task] = []
        failures: list[dict[str, str]] = []
        for i in range(count):
            decision = self._place(cluster, request)
            if decision.row < 0:
                failures.append(self._failure(cluster, decision, group, definition.family, None))
                if decision.reason == NO_INSTANCES:
                    raise ControlPlaneError("InvalidParameterException", NO_INSTANCES)
                continue
            task = self._new_task(cluster, definition, group, None, started_by, draws[i])
            self._assign(task, decision.row)
            tasks.append(task)
        return tasks, failures

    def start_task(
        self,
        cluster_name: str | None,
        definition: TaskDefinition,
        instances: Sequence[InstanceRecord],
        *,
        group: str | None = None,
        started_by: str | None = None,
        origin: str = "start_task",
    ) -> tuple[list[Task], list[dict[str, str]]]:
        """Start one task on each named instance, without the placement engine (StartTask)."""
        cluster = self.cluster(cluster_name)
        group = group or self._family_groups[definition.family]
        tasks, failures = [], []
        need = definition.requirement
        state = cluster.state
        for instance in instances:
            row = instance.row
            reason = None
            if row < 0 or state.status[row] != _ACTIVE:
                reason = "MISSING"
            elif not state.connected[row]:
                reason = "AGENT"
            elif state.remaining_cpu[row] < need.cpu:
                reason = "RESOURCE:CPU"
            elif state.remaining_memory[row] < need.memory_mib:
                reason = "RESOURCE:MEMORY"
            elif any(not state.port_free("tcp", p)[row] for p in need.ports_tcp):
                reason = "RESOURCE:PORTS"
            elif state.remaining_eni[row] < need.eni:
                reason = "RESOURCE:ENI"
            if reason:
                failures.append({"arn": instance.arn, "reason": reason})
                continue
            draws = self._draw(origin, definition)
            task = self._new_task(cluster, definition, group, None, started_by, draws)
            self._assign(task, row)
            tasks.append(task)
        return tasks, failures

    # -- state changes reported by agents -------------------------------------------------------
    def set_status(self, task: Task, status: TaskStatus) -> None:
        """Record a task's new ``lastStatus``."""
        old = task.last_status
        task.last_status = status
        if old != _RUNNING and status != _RUNNING and (old < _RUNNING) == (status < _RUNNING):
            return  # still starting, or still on its way out: no level changes
        cluster = task.cluster
        now, row, at = self.env._now, self.recorder.series.row, cluster.code
        if self.usage_families and task.task_definition.family in self.usage_families:
            if status == _RUNNING:
                self._running_reserved(task, 1)
            elif old == _RUNNING:
                self._running_reserved(task, -1)
        # Change records (metrics.CHANGE_RECORDS): the series works out the levels when it packs.
        if old < _RUNNING:
            cluster.tasks_pending -= 1
            if status == _RUNNING:  # one record for both levels
                cluster.tasks_running += 1
                row(now, 0, _CHANGE_STARTED, at, -1, -1)
            else:
                row(now, -1, _CHANGE_PENDING, at, -1, -1)
        elif old == _RUNNING:
            cluster.tasks_running -= 1
            row(now, -1, _CHANGE_RUNNING, at, -1, -1)
            if task.service is not None:
                self._service_levels(task.service)
                self.wake(task.service)
        if status == _RUNNING and old >= _RUNNING:  # RUNNING again (no ECS path does this)
            cluster.tasks_running += 1
            row(now, 1, _CHANGE_RUNNING, at, -1, -1)
        if status == _RUNNING:
            service = task.service
            if service is not None and task.desired_status == _DESIRED_RUNNING:
                service.pending -= 1
                service.running += 1
                self._service_running(service, task)
                self._service_levels(service)
                self.wake(service)

    def _service_running(self, service: ServiceRecord, task: Task) -> None:
        """A service task is RUNNING: when will it count healthy, and will it fail its checks?

        Healthy for the deployment (ECS-SEMANTICS 5): ``deployment_healthy_after`` after
        RUNNING with neither a container health check nor a load balancer; else when the task
        is HEALTHY and, behind a load balancer, its target is healthy (``lb_healthy_after``).
        """
        service.start_failures = 0  # a task started: the start-failure throttle is reset
        service.throttled_until = math.nan
        definition = task.task_definition
        key = (id(definition), service.load_balanced)
        gate = self._health_gates.get(key)
        if gate is None:
            gate = definition.healthy_after_s()
            if service.load_balanced:
                gate = max(gate, self.params.lb_healthy_after)
            elif not definition.health_checked:
                gate = self.params.deployment_healthy_after
            self._health_gates[key] = gate
        now = task.started_at
        unhealthy = task.unhealthy_s
        if unhealthy == math.inf or not definition.health_checked:
            task.healthy_at = now + gate
            return
        failed_at = now + definition.unhealthy_after_s(unhealthy)
        # Checks failing from before the first check: the task never turns healthy.
        task.healthy_at = now + gate if unhealthy >= definition.healthy_after_s() else math.inf
        # healthCheckGracePeriodSeconds: the scheduler ignores failures until it has passed.
        act_at = max(failed_at, now + service.grace_s)
        if act_at <= self.env.now:
            # RUNNING was reported late (the agent was disconnected): the checks have already
            # failed by the time the scheduler hears of the task.
            self._health_check_failed(task, now)
            return
        timer = self.env.timeout(act_at - self.env.now)
        timer.callbacks.append(lambda _e: self._health_check_failed(task, now))

    def _health_check_failed(self, task: Task, started_at: float) -> None:
        """A service task is UNHEALTHY: the scheduler stops it and starts a replacement.

        A standalone task keeps running UNHEALTHY (its health shows in describe_tasks).
        """
        service = task.service
        if (
            service is None
            or task.started_at != started_at
            or task.desired_status != _DESIRED_RUNNING
        ):
            return
        self.event(
            "task_unhealthy",
            f"(service {service.name}) (task {task.id}) failed container health checks.",
            service=service,
            task=task,
        )
        self._deployment_failure(service, task)
        self.stop_task(
            task,
            code=StopCode.SERVICE_SCHEDULER_INITIATED,
            reason="Task failed container health checks",
        )

    def _running_reserved(self, task: Task, sign: int) -> None:
        need = task.requirement
        key = (task.cluster.name, task.task_definition.family)
        totals = self.running_reserved.setdefault(key, [0, 0])
        totals[0] += sign * need.cpu
        totals[1] += sign * need.memory_mib
        service = task.service
        if service is not None:
            service.running_cpu += sign * need.cpu
            service.running_memory += sign * need.memory_mib

    def _to_desired_stopped(self, task: Task, code: StopCode, reason: str) -> None:
        if task.desired_status == _DESIRED_STOPPED:
            return
        task.desired_status = _DESIRED_STOPPED
        task.desired_stopped_at = now = self.env._now
        task.stop_code = str(code)  # the plain value; cheaper than the enum's .value
        task.stopped_reason = reason
        self._release(task)
        service = task.service
        if service is not None and service.tasks.pop(task.id, None) is not None:
            if task.task_definition is not service.task_definition:
                service.old_tasks -= 1
            elif task.healthy_at <= now:
                service.primary.breaker_armed = False  # a task ran successfully
                service.primary.failed_tasks = 0
            service.retry_at = math.nan  # its room is free: a failed placement may fit now
            host = task.container_instance
            if (
                service.draining_tasks
                and host is not None
                and host.status == _DRAINING
                and not service.daemon
            ):
                service.draining_tasks -= 1
            if task is service.rebalance_task:
                service.rebalance_task = None
            if task.last_status == _RUNNING:
                service.running -= 1
            else:
                service.pending -= 1
            self._service_levels(service)
            self.wake(service)

    def task_failed_to_start(self, task: Task, reason: str) -> None:
        """The agent could not pull or start the task: it stops before RUNNING.

        For a service this feeds the start-failure throttle and the deployment circuit breaker
        (stage 1); failures after RUNNING feed neither (ECS-SEMANTICS 5).
        """
        self._to_desired_stopped(task, _FAILED_TO_START, reason)
        service = task.service
        if service is None:
            return
        self._deployment_failure(service, task)
        self._throttle(service)

    def _throttle(self, service: ServiceRecord) -> None:
        """Delay the service's next launch after a start failure (DG service-throttle-logic)."""
        service.start_failures += 1
        failures = service.start_failures
        params = self.params
        delay = throttle_delay(
            failures, first_s=params.throttle_first_delay, cap_s=params.throttle_max_delay
        )
        until = self.now + delay
        if not until <= service.throttled_until:  # also when NaN: not throttled yet
            service.throttled_until = until
            self.env.timeout(delay).callbacks.append(lambda _e: self._retry(service))
        if failures == params.throttle_event_after:
            self.event(
                "service_throttled",
                f"(service {service.name}) is unable to consistently start tasks successfully.",
                service=service,
            )

    def _deployment_failure(self, service: ServiceRecord, task: Task) -> None:
        """Count a failed task of the PRIMARY deployment for the circuit breaker.

        Threshold clamp(ceil(desired / 2), 3, 200); at it the deployment is FAILED and, with
        ``rollback``, the last COMPLETED deployment is deployed again (DG
        deployment-circuit-breaker).
        """
        deployment = service.primary
        enable, rollback = service.circuit_breaker
        if (
            not enable
            or task.task_definition is not deployment.task_definition
            or deployment.rollout_state != "IN_PROGRESS"
            or not deployment.breaker_armed
        ):
            return
        now = self.now
        if not self.breaker_armed(service):
            return
        deployment.failed_tasks += 1
        deployment.updated_at = now
        threshold = circuit_breaker_threshold(
            service.desired_count, self.params.circuit_breaker_min_threshold
        )
        if deployment.failed_tasks < threshold:
            return
        deployment.rollout_state = "FAILED"
        deployment.rollout_state_reason = "ECS deployment circuit breaker: tasks failed to start."
        self.event(
            "deployment_failed",
            f"(service {service.name}) (deployment {deployment.id}) deployment failed: "
            "tasks failed to start.",
            service=service,
        )
        target = service.completed
        if rollback and target is not None and target is not deployment:
            self.event(
                "deployment_rollback",
                f"(service {service.name}) (deployment {deployment.id}) rolling back to "
                f"deployment {target.id}.",
                service=service,
            )
            self._new_deployment(
                service,
                target.task_definition,
                reason=f"ECS deployment circuit breaker: rolling back to deploymentId {target.id}.",
            )

    def breaker_armed(self, service: ServiceRecord) -> bool:
        """Whether the circuit breaker still counts failures of the PRIMARY deployment.

        Once a task of the deployment has run successfully (counted healthy), failedTasks
        resets to 0 and stops being evaluated (DG deployment-circuit-breaker).
        """
        deployment = service.primary
        if deployment.breaker_armed:
            now = self.now
            definition = deployment.task_definition
            if any(
                t.task_definition is definition and t.healthy_at <= now
                for t in service.tasks.values()
            ):
                deployment.breaker_armed = False
        if not deployment.breaker_armed:
            deployment.failed_tasks = 0
        return deployment.breaker_armed

    def task_exited(self, task: Task, reason: str) -> None:
        """An essential container exited: the task is stopping on its own."""
        self._to_desired_stopped(task, _EXITED, reason)
        if task.exit_code and task.service is not None:
            self.event(
                "task_failed",
                f"(service {task.service.name}) task {task.id} stopped: {reason}.",
                service=task.service,
                task=task,
            )

    def task_stopped(self, task: Task) -> None:
        """A task reached STOPPED: release what is left, record it, drop it (its row stays)."""
        if task.desired_status != _DESIRED_STOPPED:  # a safety net: callers have set it
            self._to_desired_stopped(task, _FAILED_TO_START, "Task failed to start")
        if task.last_status > _RUNNING:
            task.last_status = _STOPPED  # from on its way out: no level moves (set_status)
        else:
            self.set_status(task, _STOPPED)
        task.stopped_at = now = self.env._now
        service = task.service
        if service is not None and service.retiring and task.id in service.retiring:
            # A deployment or a drain held launches back while the task was stopping
            # (maximumPercent counts it): look again now that it is gone.
            service.retiring.discard(task.id)
            self.wake(service)
        instance = task.container_instance
        if instance is not None:
            instance.tasks.pop(task.id, None)
            if instance.status == _DRAINING and service is not None:
                self._check_drained(instance)
        recorder = self.recorder
        self._record_task(task, recorder.tasks)
        self._stops_to_pack_check -= 1
        if not self._stops_to_pack_check:
            self._stops_to_pack_check = PACK_CHECK_STOPS
            recorder.tasks.pack()  # each a length check until its threshold is reached
            if recorder.series.pack():
                recorder.compact()  # the other channels too, each at its own threshold
        # Forgotten as an object: DescribeTasks reads its row back (stopped_tasks).
        del task.cluster.tasks[task.id]
        if task.task_definition.health_checked:  # the one thing the row does not hold
            self._keep_health(task, now)

    def _keep_health(self, task: Task, now: float) -> None:
        """Keep a stopped task's healthStatus for ``deregistered_visible``."""
        order, health = self._stopped_health_order, self._stopped_health
        health[task.arn] = task.health_status(now)
        order.append((now, task.arn))
        horizon = now - self.params.deregistered_visible
        while order and order[0][0] < horizon:
            del health[order.popleft()[1]]

    def stopped_tasks(
        self, cluster: ClusterRecord, task_ids: Iterable[str]
    ) -> dict[str, StoppedTask]:
        """The STOPPED tasks of ``cluster`` among ``task_ids`` still visible, by id, from rows.

        Visible for ``deregistered_visible`` after it stopped (BC Task: at least an hour); an
        id is left out once that has passed, or if its task never stopped. One pass over the
        rows of that while, however many ids.
        """
        prefix = arn("task", f"{cluster.name}/")
        rows = self.recorder.tasks.latest(
            "task_arn", (prefix + task_id for task_id in task_ids), since=self._visible_since()
        )
        instances = {instance.arn: instance for instance in cluster.instances} if rows else {}
        found = {}
        for task_arn, row in rows.items():
            found[task_arn[len(prefix) :]] = StoppedTask(
                row,
                cluster,
                self.task_definition(f"{row['family']}:{row['revision']}"),
                instances.get(row["container_instance"]),
                cluster.services.get(row["service"]) if row["service"] is not None else None,
                self._stopped_health.get(task_arn, "UNKNOWN"),
            )
        return found

    def stopped_listing(
        self, cluster: ClusterRecord
    ) -> list[tuple[str, str, str | None, str | None, InstanceRecord | None]]:
        """ListTasks' view of the STOPPED tasks of ``cluster`` still visible, in stop order.

        Each as (task ARN, family, service name, startedBy, container instance), read from the
        rows' columns without a :class:`StoppedTask` each (an hour can hold tens of thousands).
        """
        fields = ("task_arn", "cluster", "family", "service", "started_by", "container_instance")
        columns = self.recorder.tasks.recent(fields, since=self._visible_since())
        instances = {instance.arn: instance for instance in cluster.instances}
        name = cluster.name
        return [
            (task_arn, family, service, started_by, instances.get(host))
            for task_arn, in_cluster, family, service, started_by, host in zip(
                *columns.values(), strict=True
            )
            if in_cluster == name
        ]

    def _visible_since(self) -> tuple[str, float]:
        """``Channel.latest``'s ``since``: tasks stopped within ``deregistered_visible``."""
        return ("stopped_at", self.env._now - self.params.deregistered_visible)

    def _record_task(self, task: Task, tasks: Channel) -> None:
        """Write ``task``'s row (``TaskRow``) to the ``tasks`` channel, as it is now.

        The row's numbers and codes go straight in, in the channel's order (``TaskRow``'s
        numbers, then its ids): a stopped task on the hot path costs no named row and no
        generic ``append``. The one writer of a task's row, for stopped and for live tasks.
        """
        books = tasks.books
        instance = task.container_instance
        definition = task.task_definition
        need = task.requirement
        service = task.service
        tasks.row(
            definition.revision or 0,
            need.cpu,
            need.memory_mib,
            task.created_at,
            task.pull_started_at,
            task.pull_stopped_at,
            task.started_at,
            task.stopping_at,
            task.execution_stopped_at,
            task.stopped_at,
            task.exit_code,
            task.desired_stopped_at,
            task.cluster.code,
            service.code if service else -1,
            books["group"][task.group],
            books["family"][definition.family],
            books["launch_type"][task.launch_type],
            -1,  # capacity_provider
            instance.code if instance else -1,  # container_instance
            instance.zone_code if instance else -1,
            task.last_status,  # its code (metrics.TASK_STATUSES)
            DESIRED_STATUS[task.desired_status],
            books["stop_code"][task.stop_code],
        )
        tasks.extend_text((task.arn, task.stopped_reason, task.started_by))

    # -- StopTask --------------------------------------------------------------------------------
    def stop_task(self, task: Task, *, code: StopCode, reason: str) -> None:
        """Set a task's desiredStatus to STOPPED and tell its agent (StopTask)."""
        if task.desired_status == _DESIRED_STOPPED:
            return
        self._to_desired_stopped(task, code, reason)
        instance = task.container_instance
        agent = instance.agent if instance is not None else None
        if agent is None or not agent.alive:
            return
        service = task.service
        if service is not None and service.load_balanced and task.last_status == _RUNNING:
            # The target is deregistered first: DEACTIVATING for the deregistration delay,
            # the task still serving its open connections (BP load-balancer-connection-draining).
            self.set_status(task, TaskStatus.DEACTIVATING)
            timer = self.env.timeout(self.params.lb_deregistration_delay)
            timer.callbacks.append(lambda _e: agent.stop(task))
            return
        agent.stop(task)

    # -- services ----------------------------------------------------------------------------------
    def create_service(
        self,
        cluster_name: str | None,
        name: str,
        definition: TaskDefinition,
        desired_count: int,
        *,
        strategies: tuple[StrategySpec, ...] = (),
        constraints: tuple[ConstraintSpec, ...] = (),
        deployment_configuration: Mapping[str, Any] | None = None,
        request: Mapping[str, Any] | None = None,
    ) -> ServiceRecord:
        """Create a service (REPLICA, or DAEMON per ``request``) and start reconciling it.

        A DAEMON service defaults to maximumPercent 100 and minimumHealthyPercent 0 (BC
        DeploymentConfiguration); its desired count follows the eligible instances.
        """
        cluster = self.cluster(cluster_name)
        existing = cluster.services.get(name)
        if existing is not None and existing.status != "INACTIVE":
            raise ControlPlaneError(
                "InvalidParameterException", "Creation of service was not idempotent."
            )
        td_constraints = self._definition_constraints(definition)
        daemon = (request or {}).get("schedulingStrategy") == "DAEMON"
        service = ServiceRecord(
            name,
            cluster,
            definition,
            desired_count,
            strategies=strategies,
            constraints=constraints + td_constraints,
            deployment_configuration={
                "maximumPercent": 100 if daemon else 200,
                "minimumHealthyPercent": 0 if daemon else 100,
                **(deployment_configuration or {}),
            },
            request=dict(request or {}),
            created_at=self.now,
        )
        service.code = self.recorder.code("service", name)
        cluster.services[name] = service
        self._new_deployment(service, definition)
        self._service_levels(service)
        if daemon:
            self._reconcile_daemon(service)  # daemon tasks go first
        else:
            self.wake(service)
        return service

    def _new_deployment(
        self, service: ServiceRecord, definition: TaskDefinition, *, reason: str | None = None
    ) -> Deployment:
        """Start a deployment of ``definition``: it becomes PRIMARY, the previous one ACTIVE."""
        self._deployment_seq += 1
        digits = stable_hash(f"{service.arn}#{self._deployment_seq}") % 10**19
        deployment = Deployment(f"ecs-svc/{digits:019d}", definition, self.now)
        if reason is not None:
            deployment.rollout_state_reason = reason
        for older in service.deployments:
            older.status = "ACTIVE"
            older.updated_at = self.now
        service.deployments.insert(0, deployment)
        service.task_definition = definition
        service.old_tasks = sum(
            1 for task in service.tasks.values() if task.task_definition is not definition
        )
        # A new task definition resets the start-failure throttle (DG service-throttle-logic).
        service.start_failures = 0
        service.throttled_until = math.nan
        service.retry_at = math.nan
        service.steady = False
        service.stuck = False
        self._prune_deployments(service)
        return deployment

    def _prune_deployments(self, service: ServiceRecord) -> None:
        """Drop ACTIVE deployments with no task left (they become INACTIVE)."""
        if len(service.deployments) < 2:
            return
        live = {id(task.task_definition) for task in service.tasks.values()}
        live.discard(id(service.task_definition))  # those tasks belong to the PRIMARY
        service.deployments[1:] = [
            d for d in service.deployments[1:] if id(d.task_definition) in live
        ]

    def service(self, cluster_name: str | None, name: str) -> ServiceRecord:
        """Return a service by name or ARN."""
        cluster = self.cluster(cluster_name)
        service = cluster.services.get(name.rsplit("/", 1)[-1])
        if service is None:
            raise ControlPlaneError("ServiceNotFoundException", "Service not found.")
        return service

    def update_service(
        self,
        service: ServiceRecord,
        *,
        desired_count: int | None = None,
        definition: TaskDefinition | None = None,
        force_new_deployment: bool = False,
    ) -> None:
        """Change a service's desired count and/or task definition (a replace-all rollout)."""
        if service.status != "ACTIVE":
            raise ControlPlaneError("ServiceNotActiveException", "Service was not ACTIVE.")
        if desired_count is not None:
            if service.daemon:
                raise ControlPlaneError(
                    "InvalidParameterException",
                    "The daemon scheduling strategy does not support a desired count for services.",
                )
            service.desired_count = desired_count
        if definition is not None and definition is not service.task_definition:
            self._new_deployment(service, definition)
        elif force_new_deployment:
            # Same revision, new deployment: every task is replaced. Deployments are told apart
            # by task definition object, so the new one gets its own copy of the revision.
            from dataclasses import replace

            copy = replace(service.task_definition)
            self._definition_copies.append(copy)  # caches key on ids: keep it alive
            self._new_deployment(service, copy)
        service.steady = False
        service.retry_at = math.nan
        self._service_levels(service)
        self.wake(service)

    def delete_service(self, service: ServiceRecord, *, force: bool = False) -> None:
        """Delete a service: it must be scaled to 0 unless ``force``; its tasks are stopped."""
        if service.desired_count > 0 and not force and not service.daemon:
            raise ControlPlaneError(
                "InvalidParameterException",
                "The service cannot be stopped while it is scaled above 0.",
            )
        service.desired_count = 0
        service.status = "DRAINING"
        self._service_levels(service)
        self.wake(service)

    def _service_levels(self, service: ServiceRecord) -> None:
        now = self.env.now
        name, cluster = service.name, service.cluster.name
        append = self.recorder.series.append
        append((now, "desired_count", cluster, name, None, service.desired_count))
        append((now, "running_count", cluster, name, None, service.running))
        append((now, "pending_count", cluster, name, None, service.pending))

    def wake(self, service: ServiceRecord) -> None:
        """Reconcile ``service`` once, at the current time, after the current step."""
        if service.wake_scheduled:
            return
        service.wake_scheduled = True
        self.env.timeout(0).callbacks.append(lambda _e: self._reconcile(service))

    def _reconcile(self, service: ServiceRecord) -> None:
        service.wake_scheduled = False
        if service.status == "INACTIVE":
            return
        if service.daemon:
            self._reconcile_daemon(service)
            return
        desired = service.desired_count
        total = service.running + service.pending
        rebalance = service.rebalance_task
        extra = 0 if rebalance is None else 1  # an AZ rebalancing task runs above desired
        if (
            service.old_tasks == 0
            and service.draining_tasks == 0
            and not service.retiring
            and service.status == "ACTIVE"
            and total <= desired + extra
        ):
            # No rollout, no drain and nothing to scale in: O(1) in the service's size (AZ
            # rebalancing reads per-zone counts from the cluster state).
            if rebalance is not None and rebalance.last_status == _RUNNING:
                service.rebalance_task = None
                if total > desired:
                    self._stop_in_fullest_zone(service)
                    total -= 1
                extra = 0
            if total - extra < desired:
                self._launch(service, desired - total + extra)
            self._check_steady(service)
            return
        self._roll(service)

    def _roll(self, service: ServiceRecord) -> None:
        """One cycle of a rolling replacement: a deployment, a drain, or a scale-in.

        Tasks on an earlier task definition or on a DRAINING instance are *old*. The cycle is
        ``deployments.deployment_step``: stop old tasks while the healthy count stays at or
        above ceil(desired x minimumHealthyPercent), start new ones while RUNNING + PENDING
        stays at or below floor(desired x maximumPercent) (ECS-SEMANTICS 5). A task counts
        healthy from its ``healthy_at``; the service is woken again when the next one turns
        healthy.
        """
        now = self.now
        desired = service.desired_count
        current = service.task_definition
        rebalance = service.rebalance_task
        new: list[Task] = []
        old_healthy: list[Task] = []
        old_other: list[Task] = []
        new_healthy = 0
        next_healthy = math.inf
        for t in service.tasks.values():
            host = t.container_instance
            healthy = t.healthy(now)
            if t.task_definition is not current or (host is not None and host.status == _DRAINING):
                (old_healthy if healthy else old_other).append(t)
                continue
            new.append(t)
            if healthy:
                new_healthy += 1
            elif t.last_status == _RUNNING and t.healthy_at < next_healthy:
                next_healthy = t.healthy_at
        config = service.deployment_configuration
        failed = service.primary.rollout_state == "FAILED"
        step = deployment_step(
            desired,
            config["minimumHealthyPercent"],
            max(config["maximumPercent"], 100),  # as _bounds: never below desiredCount
            old_healthy=len(old_healthy),
            old_other=len(old_other),
            new_healthy=new_healthy,
            new_other=len(new) - new_healthy,
            stopping=len(service.retiring),
        )
        stop_other, stop_healthy, start = step.stop_unhealthy, step.stop_healthy, step.start
        if failed:
            stop_healthy = start = 0  # a FAILED deployment launches nothing; the old tasks stay
        if rebalance is not None and rebalance.last_status != _RUNNING:
            stop_other = stop_healthy = 0  # the rebalancing task is not RUNNING yet
        victims = old_other[:stop_other] + self._scale_in_victims(
            service, old_healthy, stop_healthy
        )
        for task in victims:
            host = task.container_instance
            service.retiring.add(task.id)
            self.stop_task(
                task,
                code=StopCode.SERVICE_SCHEDULER_INITIATED,
                reason="Container instance is DRAINING: task replaced."
                if host is not None and host.status == _DRAINING
                else "Deployment: task replaced by a new task definition revision.",
            )
        if victims:
            service.retry_at = math.nan  # the stops just gave room back
        excess = len(new) - desired
        if rebalance is not None:
            if rebalance.last_status != _RUNNING:
                excess = 0  # start first, stop when it runs
            else:
                service.rebalance_task = None
        if excess > 0:
            for task in self._scale_in_victims(service, new, excess):
                self.stop_task(
                    task,
                    code=StopCode.SERVICE_SCHEDULER_INITIATED,
                    reason="Scaling activity initiated by (deployment ecs-svc).",
                )
        if start > 0:
            self._launch(service, start)
        if service.status == "DRAINING" and not service.tasks:
            self._inactive(service)
            return
        old_left = len(old_healthy) + len(old_other) - len(victims)
        if old_left and next_healthy < math.inf:
            self._wake_at(service, next_healthy)
        stuck = (
            old_left > 0
            and not victims
            and start <= 0
            and not failed
            and len(new) == new_healthy
            and len(new) < desired
        )
        if stuck and not service.stuck:
            self.event(
                "deployment_stuck", STUCK_MESSAGE.format(service=service.name), service=service
            )
        service.stuck = stuck
        self._check_steady(service)

    @staticmethod
    def _bounds(service: ServiceRecord) -> tuple[int, int]:
        """``(minimum healthy, maximum RUNNING + PENDING)``; the maximum is never below desired."""
        config = service.deployment_configuration
        return bounds(
            service.desired_count,
            config["minimumHealthyPercent"],
            max(config["maximumPercent"], 100),
        )

    def _inactive(self, service: ServiceRecord) -> None:
        """A deleted service has no task left: it becomes INACTIVE."""
        service.status = "INACTIVE"
        self.event("service_inactive", f"(service {service.name}) is INACTIVE.", service=service)

    def _service_request(self, service: ServiceRecord) -> PlacementRequest:
        """The placement request of a REPLICA service's current task definition (cached)."""
        definition = service.task_definition
        key = ("service", id(definition), service.group, service.strategies, service.constraints)
        request = self._requests.get(key)
        if request is None:
            request = self._requests[key] = PlacementRequest(
                definition.requirement,
                service.group,
                service.strategies or SERVICE_DEFAULT_STRATEGY,
                service.constraints,
            )
        return request

    def _wake_at(self, service: ServiceRecord, at: float) -> None:
        """Reconcile ``service`` at ``at`` (when a task turns healthy); one timer at a time."""
        if service.health_wake_at <= at:
            return  # an earlier (or the same) wake is already due
        service.health_wake_at = at

        def wake(_event: object) -> None:
            if service.health_wake_at == at:
                service.health_wake_at = math.nan
            self.wake(service)

        self.env.timeout(at - self.now).callbacks.append(wake)

    def _check_steady(self, service: ServiceRecord) -> None:
        """Complete the deployment, and log "has reached a steady state", once there.

        The service is steady when desiredCount tasks of its current task definition run, none
        is pending or being replaced, and (for a deployment in progress) all of them count
        healthy: the deployment is then COMPLETED (ECS-SEMANTICS 5).
        """
        if not (
            service.running == service.desired_count
            and service.pending == 0
            and service.old_tasks == 0
            and service.draining_tasks == 0
        ):
            service.steady = False
            return
        deployment = service.primary
        if deployment.rollout_state == "IN_PROGRESS" and not self._complete(service, deployment):
            service.steady = False
            return
        if not service.steady:
            service.steady = True
            self.event(
                "steady_state",
                f"(service {service.name}) has reached a steady state.",
                service=service,
            )
            if service.az_rebalancing and not service.daemon:
                self._maybe_rebalance(service)

    def _complete(self, service: ServiceRecord, deployment: Deployment) -> bool:
        """Mark ``deployment`` COMPLETED once every task counts healthy; else wake then."""
        now = self.now
        latest = max((t.healthy_at for t in service.tasks.values()), default=now)
        if latest > now:
            if latest < math.inf:
                self._wake_at(service, latest)
            return False
        deployment.rollout_state = "COMPLETED"
        deployment.breaker_armed = False  # every task runs: failedTasks no longer counts
        deployment.failed_tasks = 0
        deployment.rollout_state_reason = f"ECS deployment {deployment.id} completed."
        deployment.updated_at = now
        service.completed = deployment
        self._prune_deployments(service)
        self.event(
            "deployment_completed",
            f"(service {service.name}) (deployment {deployment.id}) deployment completed.",
            service=service,
        )
        return True

    def _reconcile_daemon(self, service: ServiceRecord) -> None:
        """DAEMON: one task per ACTIVE, connected instance that meets the constraints.

        Daemon tasks are placed before replica services look at new capacity (they go first),
        stay on a DRAINING instance until its other service tasks are gone (they stop last,
        ``_check_drained``), and roll to a new task definition instance by instance within
        minimumHealthyPercent (default 0) and maximumPercent (default 100) (ECS-SEMANTICS 5).
        """
        if service.status != "ACTIVE":
            for task in list(service.tasks.values()):
                self.stop_task(
                    task,
                    code=StopCode.SERVICE_SCHEDULER_INITIATED,
                    reason="Service is being deleted.",
                )
            if not service.tasks:
                self._inactive(service)
            return
        cluster = service.cluster
        state = cluster.state
        definition = service.task_definition
        request = PlacementRequest(definition.requirement, service.group, (), service.constraints)
        member = constraint_mask(state, request)
        active = state.status == int(_ACTIVE)
        targets = np.flatnonzero(active & state.connected & member)
        if len(targets) != service.desired_count:
            service.desired_count = len(targets)
            self._service_levels(service)
        by_row: dict[int, list[Task]] = {}
        for task in service.tasks.values():
            assert task.container_instance is not None
            by_row.setdefault(task.container_instance.row, []).append(task)
        for row, tasks in by_row.items():
            if active[row] and not member[row]:
                for task in tasks:
                    self.stop_task(
                        task,
                        code=StopCode.SERVICE_SCHEDULER_INITIATED,
                        reason="Container instance no longer meets the placement constraints "
                        "of the daemon service.",
                    )
        now = self.now
        min_healthy, max_total = self._bounds(service)
        healthy = sum(1 for t in service.tasks.values() if t.healthy(now))
        waiting = now < service.retry_at or now < service.throttled_until
        launch = service.primary.rollout_state != "FAILED" and not waiting
        next_healthy = math.inf
        unplaced: Decision | None = None
        # Tasks left on instances that are no longer targets (DRAINING, disconnected) do not
        # count against maximumPercent: they must not keep a new instance from its daemon task.
        target_rows = set(targets.tolist())
        elsewhere = 0
        for task in service.tasks.values():
            host = task.container_instance
            if host is not None and host.row not in target_rows:
                elsewhere += 1
        for task_id in service.retiring:  # still stopping there, too
            retiring = cluster.tasks.get(task_id)
            host = retiring.container_instance if retiring is not None else None
            if host is not None and host.row not in target_rows:
                elsewhere += 1
        for row in targets.tolist():
            tasks = [t for t in by_row.get(row, ()) if t.desired_status == _DESIRED_RUNNING]
            if any(t.task_definition is definition for t in tasks):
                for t in tasks:
                    if t.last_status == _RUNNING and now < t.healthy_at < next_healthy:
                        next_healthy = t.healthy_at
                continue
            for task in tasks:  # old revision: replace it within minimumHealthyPercent
                is_healthy = task.healthy(now)
                if is_healthy and healthy - 1 < min_healthy:
                    break
                healthy -= is_healthy
                service.retiring.add(task.id)
                self.stop_task(
                    task,
                    code=StopCode.SERVICE_SCHEDULER_INITIATED,
                    reason="Deployment: task replaced by a new task definition revision.",
                )
            if not launch or any(t.desired_status == _DESIRED_RUNNING for t in tasks):
                continue
            if len(service.tasks) + len(service.retiring) - elsewhere >= max_total:
                continue
            decision = place_on(state, request, row)
            if decision.row < 0:
                unplaced = unplaced or decision
                continue
            self._start_service_task(service, row)
        if unplaced is not None:
            self._failure(cluster, unplaced, service.group, definition.family, service)
            self._unable_to_place(service, unplaced)
            if not waiting:
                self._retry_later(service, self.params.service_retry_interval)
        if service.old_tasks and next_healthy < math.inf:
            self._wake_at(service, next_healthy)
        self._check_steady(service)

    def _stop_in_fullest_zone(self, service: ServiceRecord) -> None:
        """Stop one of the service's tasks in its fullest zone, on its fullest instance there.

        Reads the per-zone and per-instance counts the cluster state keeps for the group, so it
        costs O(instances) in numpy, not a scan of the service's tasks.
        """
        state = service.cluster.state
        codes, _names = state.attribute(_AZ)
        totals = state.group_totals_by_value(service.group, _AZ)
        zone = int(np.argmax(totals[1:])) if len(totals) > 1 else -1
        counts = np.where(codes == zone, state.group_counts(service.group), -1)
        row = int(np.argmax(counts)) if len(counts) else -1
        if row < 0 or counts[row] <= 0:
            return
        instance = service.cluster.instances[row]
        for task in instance.tasks.values():
            if task.service is service and task.desired_status == _DESIRED_RUNNING:
                self.stop_task(
                    task,
                    code=StopCode.SERVICE_SCHEDULER_INITIATED,
                    reason="AZ rebalancing: task stopped in the fullest Availability Zone.",
                )
                return

    def _maybe_rebalance(self, service: ServiceRecord) -> None:
        """AZ rebalancing: start one task in the emptiest zone; the fullest loses one later.

        Only for a service whose first strategy is AZ spread (the default counts), at steady
        state, when its task counts per zone (over the zones with ACTIVE, connected instances)
        differ by more than one (DG service-rebalancing). One task per round [inf].
        """
        if service.rebalance_task is not None or service.status != "ACTIVE" or service.daemon:
            return
        first = (service.strategies or SERVICE_DEFAULT_STRATEGY)[0]
        if first.type != "spread" or first.field != "attribute:ecs.availability-zone":
            return
        cluster = service.cluster
        state = cluster.state
        # Zones with an ACTIVE, connected instance, and the service's tasks per zone, both
        # read from the columnar state (kept incrementally): O(instances) in numpy, no task scan.
        codes, _names = state.attribute(_AZ)
        zones = np.unique(codes[state.available()])
        zones = zones[zones >= 0]
        if len(zones) < 2:
            return
        totals = state.group_totals_by_value(service.group, _AZ)
        per_zone = totals[zones + 1]
        fullest, emptiest = int(per_zone.max()), int(per_zone.min())
        if fullest - emptiest < 2:
            return
        _, max_total = self._bounds(service)
        if len(service.tasks) + 1 > max_total:
            return
        request = self._service_request(service)
        decision = self._place(cluster, request)
        if decision.row < 0:
            return
        chosen = int(codes[decision.row])
        if int(totals[chosen + 1]) + 1 >= fullest:
            return  # the emptiest zone with room would not become less full than the fullest
        zone = cluster.instances[decision.row].zone
        self.event(
            "az_rebalancing",
            f"(service {service.name}) is rebalancing tasks across Availability Zones: "
            f"starting a task in {zone}.",
            service=service,
        )
        service.steady = False
        service.rebalance_task = self._start_service_task(service, decision.row)

    def _launch(self, service: ServiceRecord, count: int) -> None:
        now = self.now
        if now < service.retry_at or now < service.throttled_until:
            return  # a failed placement or a throttled start is waiting for its retry
        if service.primary.rollout_state == "FAILED":
            return  # the circuit breaker stopped this deployment
        # Launch rate: at most service_launch_rate tasks a minute per service (BP task).
        if not now < service.launch_window + 60.0:  # also when NaN: no window yet
            service.launch_window = now
            service.launched_in_window = 0
        room = self.params.service_launch_rate - service.launched_in_window
        limited = count > room
        cluster = service.cluster
        definition = service.task_definition
        request = self._service_request(service)
        for _ in range(min(count, room)):
            decision = self._place(cluster, request)
            if decision.row < 0:
                self._failure(cluster, decision, service.group, definition.family, service)
                self._unable_to_place(service, decision)
                self._retry_later(service, self.params.service_retry_interval)
                return
            self._start_service_task(service, decision.row)
            service.launched_in_window += 1
        if limited:
            self._retry_later(service, service.launch_window + 60.0 - now)
        else:
            service.retry_at = math.nan

    def _start_service_task(self, service: ServiceRecord, row: int) -> Task:
        """Create a task of the service's current definition and place it on ``row``."""
        cluster, definition = service.cluster, service.task_definition
        draws = self._draw(f"service:{cluster.name}/{service.name}", definition)
        started_by = f"ecs-svc/{service.name}"
        task = self._new_task(cluster, definition, service.group, service, started_by, draws)
        service.tasks[task.id] = task
        self._assign(task, row)
        return task

    def _retry_later(self, service: ServiceRecord, delay: float) -> None:
        """Reconcile ``service`` again after ``delay`` (a failed placement, the launch rate)."""
        at = self.now + delay
        service.retry_at = at
        self.env.timeout(delay).callbacks.append(lambda _e: self._retry(service, at))

    def _retry(self, service: ServiceRecord, at: float = math.nan) -> None:
        if service.retry_at == at:
            service.retry_at = math.nan  # this timer's retry is due, whatever the rounding
        now = self.now
        if not (now < service.retry_at or now < service.throttled_until):
            service.retry_at = math.nan
            self.wake(service)

    def _unable_to_place(self, service: ServiceRecord, decision: Decision) -> None:
        name = service.name
        if decision.reason == NO_INSTANCES:
            message = f"(service {name}) was unable to place a task. Reason: {NO_INSTANCES}"
        else:
            closest = service.cluster.instances[decision.closest_row]
            what = _CLOSEST.get(
                decision.reason or "",
                f"does not satisfy the task: {(decision.reason or '').rstrip('.')}",
            )
            message = (
                f"(service {name}) was unable to place a task because no container instance "
                f"met all of its requirements. The closest matching (container-instance "
                f"{closest.id}) {what}. For more information, see the Troubleshooting section."
            )
        self.event("unable_to_place", message, service=service)

    def _scale_in_victims(
        self, service: ServiceRecord, tasks: list[Task], count: int
    ) -> list[Task]:
        """Choose ``count`` of ``tasks`` to stop, one at a time, the way ECS scales in.

        Tasks not yet RUNNING go first. Then, with a leading binpack strategy, the task on the
        instance with the most free resource; otherwise (spread or the default) a task in the
        zone with the most of the service's tasks, then on the instance with the most; ties at
        random. Counts are updated after each pick, so several stops keep the zones balanced.
        """
        if count <= 0:
            return []
        if count >= len(tasks):
            return list(tasks)
        rng = self.streams.get(f"scale-in:{service.cluster.name}/{service.name}")
        state = service.cluster.state
        first = (service.strategies or SERVICE_DEFAULT_STRATEGY)[0]
        zone_count: dict[str, int] = {}
        host_count: dict[str, int] = {}
        for task in service.tasks.values():
            instance = task.container_instance
            if instance is not None:
                zone_count[instance.zone] = zone_count.get(instance.zone, 0) + 1
                host_count[instance.id] = host_count.get(instance.id, 0) + 1
        remaining = list(tasks)
        victims: list[Task] = []
        for _ in range(count):
            ties = rng.random(len(remaining))
            best, best_key = 0, None
            for i, task in enumerate(remaining):
                instance = task.container_instance
                assert instance is not None
                not_running = task.last_status != TaskStatus.RUNNING
                if first.type == "binpack":
                    free = (
                        state.remaining_cpu[instance.row]
                        if first.field == "cpu"
                        else state.remaining_memory[instance.row]
                    )
                    key = (not_running, float(free), 0.0, float(ties[i]))
                else:
                    key = (
                        not_running,
                        float(zone_count.get(instance.zone, 0)),
                        float(host_count.get(instance.id, 0)),
                        float(ties[i]),
                    )
                if best_key is None or key > best_key:
                    best, best_key = i, key
            victim = remaining.pop(best)
            victims.append(victim)
            instance = victim.container_instance
            assert instance is not None
            zone_count[instance.zone] -= 1
            host_count[instance.id] -= 1
        return victims

    # -- results ----------------------------------------------------------------------------------
    def snapshot(self) -> dict[str, Channel]:
        """What is still alive now: unfinished tasks and every instance.

        Each as a channel of its own that shares the recorder's codebooks, for
        ``Recorder.frames``' ``extra``; the recorder's channels are left as they are.
        """
        tasks = self.recorder.tasks.sibling()
        for cluster in self.clusters.values():
            for task in cluster.tasks.values():  # live tasks only (task_stopped)
                self._record_task(task, tasks)
        instances = self.recorder.instances.sibling()
        for instance in self.instances:
            instances.append(
                InstanceRow(
                    instance.arn,
                    instance.ec2_instance_id,
                    instance.cluster.name,
                    instance.instance_type.name,
                    instance.zone,
                    instance.market,
                    None,
                    instance.registered_cpu,
                    instance.registered_memory,
                    instance.launched_at,
                    instance.registered_at,
                    instance.stopped_at,
                    instance.status.name,
                    instance.connected,
                    instance.hourly_price,
                )
            )
        return {"tasks": tasks, "instances": instances}
