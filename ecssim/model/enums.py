"""The ECS vocabulary as enums: statuses, stop codes, launch types, network modes.

Values are ECS's own strings, so ``TaskStatus.RUNNING.value == "RUNNING"`` and frames and API
responses can use ``.value`` directly.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum


class TaskStatus(IntEnum):
    """A task's ``lastStatus``, in lifecycle order (an ``IntEnum`` so states compare by order)."""

    PROVISIONING = 0
    PENDING = 1
    ACTIVATING = 2
    RUNNING = 3
    DEACTIVATING = 4
    STOPPING = 5
    DEPROVISIONING = 6
    STOPPED = 7


class DesiredStatus(StrEnum):
    """A task's ``desiredStatus``."""

    PENDING = "PENDING"
    RUNNING = "RUNNING"
    STOPPED = "STOPPED"


class StopCode(StrEnum):
    """Why a task stopped (botocore ``TaskStopCode``)."""

    TASK_FAILED_TO_START = "TaskFailedToStart"
    ESSENTIAL_CONTAINER_EXITED = "EssentialContainerExited"
    USER_INITIATED = "UserInitiated"
    SERVICE_SCHEDULER_INITIATED = "ServiceSchedulerInitiated"
    SPOT_INTERRUPTION = "SpotInterruption"
    TERMINATION_NOTICE = "TerminationNotice"


class InstanceStatus(IntEnum):
    """A container instance's status; the integer is the code stored in the columnar state."""

    REGISTERING = 0
    ACTIVE = 1
    DRAINING = 2
    DEREGISTERING = 3
    INACTIVE = 4
    REGISTRATION_FAILED = 5


class LaunchType(StrEnum):
    """Where a task runs."""

    EC2 = "EC2"
    FARGATE = "FARGATE"
    EXTERNAL = "EXTERNAL"


class NetworkMode(StrEnum):
    """A task definition's ``networkMode`` (default ``bridge`` on Linux EC2)."""

    BRIDGE = "bridge"
    HOST = "host"
    AWSVPC = "awsvpc"
    NONE = "none"


class SchedulingStrategy(StrEnum):
    """A service's ``schedulingStrategy``."""

    REPLICA = "REPLICA"
    DAEMON = "DAEMON"
