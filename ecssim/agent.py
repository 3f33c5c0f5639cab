"""The ecs-agent of each container instance: callbacks, not a SimPy process.

A boot timer registers the instance with the control plane; after that an idle agent costs no
events and no random stream (its own stream is created at its first draw of a random pull,
start or stop time; fixed times draw nothing). Task work is event-driven: the control plane
hands the agent a placed task, and each lifecycle step schedules one timer whose callback takes
the next step (no helper process per task, no polling). The agent keeps its own host-resource
ledger and admits tasks FIFO: a task waits in PENDING until the head of the queue fits, for
example until a stopping task releases its memory (ECS-SEMANTICS section 3, AG
``waitingTaskQueue``). The control plane's ledger (``ClusterState``) is separate: it releases a
task's reservation as soon as the task is told to stop, as ECS does, so a new task can be placed
on an instance whose old task is still stopping.

Per task the agent schedules at most: ENI attach (awsvpc only), pull + start, run end (unless
it runs forever), stop, ENI detach (awsvpc only). Containers start in ``dependsOn`` order: the
time to RUNNING is the longest chain of waits (the step is still one timer). A task whose pull
or container start fails (the family's ``pull_failure`` / ``start_failure``) stops there with
``TaskFailedToStart``.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
from simpy.core import NORMAL

from ecssim.distributions import Distribution, Fixed
from ecssim.environment import Environment, Timer
from ecssim.model.enums import TaskStatus
from ecssim.parameters import SimParameters

if TYPE_CHECKING:
    from ecssim.control.plane import ControlPlane
    from ecssim.control.records import InstanceRecord, Task
    from ecssim.rng import Streams

#: Stopped reason of a task whose essential container exits.
ESSENTIAL_EXITED = "Essential container in task exited"
#: Stopped reasons of tasks that fail before RUNNING, as the ECS agent words them.
PULL_FAILED = (
    "CannotPullContainerError: pull image manifest has been retried 5 time(s): "
    "failed to resolve ref {image}: failed to do request: i/o timeout"
)
START_FAILED = (
    "CannotStartContainerError: Error response from daemon: failed to create task for "
    "container: OCI runtime create failed: exec: no such file or directory"
)


#: Stopping a task in these states sends SIGTERM and waits; earlier, nothing runs yet.
_GRACEFUL = (TaskStatus.RUNNING, TaskStatus.DEACTIVATING)
#: The statuses of the lifecycle's steps as module constants: on Python 3.11 ``TaskStatus.X``
#: goes through the enum metaclass's attribute hook, several times the cost of a global.
_PENDING = TaskStatus.PENDING
_ACTIVATING = TaskStatus.ACTIVATING
_RUNNING = TaskStatus.RUNNING
_STOPPING = TaskStatus.STOPPING
_DEPROVISIONING = TaskStatus.DEPROVISIONING


class _Timer(Timer):
    """The agent's timers (``environment.Timer``): cheaper than a ``Timeout`` plus a closure.

    Pushed onto the environment's queue at their time with SimPy's ``NORMAL`` priority.
    """

    __slots__ = ("agent",)
    agent: Agent


class _Step(_Timer):
    """A scheduled lifecycle step, made twice a lifecycle.

    Stale when the task's token has moved on (the step was cancelled) or the agent is gone.
    """

    __slots__ = ("step", "task", "token")
    # Made and filled by Agent._after alone, without an ``__init__`` (a call a step).
    step: Callable[[Task], None]
    task: Task
    token: int

    @staticmethod
    def _fire(event: _Step) -> None:
        if event.task.token == event.token and event.agent.alive:
            event.step(event.task)


_FIRE = (_Step._fire,)
_new = object.__new__


class _Boot(_Timer):
    """An instance's boot timer.

    Stale when the instance went down meanwhile (its agent's boots moved on).
    """

    __slots__ = ("boots",)

    def __init__(self, agent: Agent, boots: int) -> None:
        self.agent = agent
        self.boots = boots
        self.callbacks = _BOOTED

    @staticmethod
    def _fire(event: _Boot) -> None:
        event.agent._booted(event.boots)


_BOOTED = (_Boot._fire,)


class _Backlog:
    """Stands in for the control plane while the agent is disconnected: keeps the reports.

    The agent calls ``self.control.<report>(...)``; while disconnected that is this object,
    so the connected hot path pays nothing for the possibility of a disconnect. It exists only
    while the agent is disconnected, and its existence is what ``Agent.connected`` reads: a
    connected agent keeps no lists for it (a cluster of 10,000 instances kept 20,000 empty ones,
    which the collector passed over after every run).

    Attributes:
        calls: The reports, in order: ``(name, args)`` of each control plane call.
        stops: The tasks the control plane asked to stop meanwhile.
    """

    __slots__ = ("calls", "stops")

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...]]] = []
        self.stops: list[Task] = []

    def __getattr__(self, name: str) -> Callable[..., None]:
        def keep(*args: Any) -> None:
            self.calls.append((name, args))

        return keep


class Agent:
    """The ecs-agent of one container instance."""

    __slots__ = (
        "_backlog",
        "_boots",
        "_control",
        "_rng",
        "alive",
        "boot_rng",
        "control",
        "env",
        "free_cpu",
        "free_gpu",
        "free_memory",
        "images",
        "instance",
        "params",
        "queue",
        "stream",
        "streams",
    )

    def __init__(
        self,
        env: Environment,
        control: ControlPlane,
        instance: InstanceRecord,
        params: SimParameters,
        streams: Streams,
        stream: str,
        boot_rng: np.random.Generator,
    ) -> None:
        """Create the agent of ``instance`` and start its boot.

        Args:
            env: The simulation environment.
            control: The control plane the agent reports to.
            instance: The container instance it manages.
            params: Timing knobs (boot, pull, start, stop).
            streams: The run's named streams; the agent's own, ``stream``, is taken from them
                on first use.
            stream: The name of the agent's stream (task pulls, starts and stops).
            boot_rng: The stream boot times are drawn from (shared by the instances the
                control plane launches in one cluster, in launch order).
        """
        self.env = env
        self.control = control
        self.instance = instance
        self.params = params
        self.streams = streams
        self.stream = stream
        self._rng: np.random.Generator | None = None
        self.boot_rng = boot_rng
        self.free_cpu = instance.registered_cpu
        self.free_memory = instance.registered_memory
        self.free_gpu = instance.gpus
        self.queue: deque[Task] = deque()
        #: Image -> when its pull completes(d) on this host. A task needing an image whose pull
        #: is under way waits for it, as the agent pulls each image once at a time.
        self.images: dict[str, float] = {}
        self.alive = True
        #: While disconnected (:attr:`connected` False), ``control`` is this backlog: it keeps
        #: the reports and the stop requests until they are delivered on reconnect.
        self._backlog: _Backlog | None = None
        self._control = control
        self._boots = 0
        self._boot()

    @property
    def rng(self) -> np.random.Generator:
        """The agent's own random stream, created on first use."""
        rng = self._rng
        if rng is None:
            rng = self._rng = self.streams.get(self.stream)
        return rng

    def _sample(self, distribution: Distribution) -> float:
        """One draw from the agent's stream; a fixed time draws nothing and needs no stream."""
        if type(distribution) is Fixed:
            return distribution.value
        return distribution.sample(self.rng)

    # -- boot ------------------------------------------------------------------------------------
    def _boot(self) -> None:
        self._boots += 1
        boot = self.params.instance_boot.sample(self.boot_rng)
        env = self.env
        env._queue.push(env._now + boot, NORMAL, _Boot(self, self._boots))

    def _booted(self, boots: int) -> None:
        if boots != self._boots or not self.alive or self.instance.row >= 0:
            return  # an earlier boot cut short by the instance going down, or gone
        self.control.register_instance(self.instance)

    def terminate(self) -> None:
        """The EC2 instance is gone: every container dies now; nothing else is reported."""
        if not self.alive:
            return
        self.alive = False
        self._reconnected_quietly()
        now = self.env.now
        # Pulls under way die with the instance; completed images stay on its disk.
        self.images = {image: at for image, at in self.images.items() if at <= now}
        for task in list(self.instance.tasks.values()):
            task.token += 1  # cancel whatever step was pending
            if task.pull_stopped_at > now:
                task.pull_stopped_at = now  # the pull in progress dies with the instance
            if task.last_status >= _ACTIVATING and math.isnan(task.execution_stopped_at):
                task.execution_stopped_at = now
            task.held = False
        self.queue.clear()

    def deregistered(self) -> None:
        """The container instance was deregistered: the agent stops managing its tasks.

        Their containers keep running on the host, unobserved (orphaned).
        """
        if not self.alive:
            return
        self.alive = False
        self._reconnected_quietly()
        for task in self.instance.tasks.values():
            task.token += 1
        self.queue.clear()

    def restart(self) -> None:
        """The instance is up again after :meth:`terminate`: an empty host, a fresh agent."""
        if self.alive:
            return
        instance = self.instance
        self.alive = True
        self.free_cpu = instance.registered_cpu
        self.free_memory = instance.registered_memory
        self.free_gpu = instance.gpus
        self.queue.clear()
        if instance.row < 0:
            # It went down while booting: boot again, then register.
            self._boot()

    # -- connection to the control plane -------------------------------------------------------
    @property
    def connected(self) -> bool:
        """``agentConnected``: no backlog is being kept."""
        return self._backlog is None

    def disconnect(self) -> None:
        """Lose the connection: reports are kept in a backlog until :meth:`reconnect`."""
        if self._backlog is not None:
            return
        self._backlog = _Backlog()
        self.control = self._backlog  # type: ignore[assignment]

    def reconnect(self) -> None:
        """Connect again: deliver the backlog of reports in order, then the stop requests."""
        backlog = self._backlog
        if backlog is None:
            return
        self._reconnected_quietly()
        for name, args in backlog.calls:
            getattr(self.control, name)(*args)
        for task in backlog.stops:
            self.stop(task)

    def _reconnected_quietly(self) -> None:
        self.control = self._control
        self._backlog = None

    # -- timers --------------------------------------------------------------------------------
    def _after(self, delay: float, step: Callable[[Task], None], task: Task) -> None:
        """Call ``step(task)`` after ``delay`` unless the task's token changed meanwhile.

        What ``Environment.schedule`` does, without its call: the step pushed onto the
        environment's queue at its time with SimPy's ``NORMAL`` priority (BENCHMARKS.md).
        """
        env = self.env
        event = _new(_Step)  # its slots filled here: no ``__init__`` to call
        event.callbacks = _FIRE
        event.agent = self
        event.step = step
        event.task = task
        event.token = task.token
        env._queue.push(env._now + delay, NORMAL, event)

    # -- task lifecycle ----------------------------------------------------------------------
    def submit(self, task: Task) -> None:
        """Take a task the control plane placed here (lastStatus PROVISIONING)."""
        if not self.alive:
            return  # ECS does not know yet; the task waits until the instance is declared lost
        if task.requirement.eni:
            self._after(self._sample(self.params.eni_attach), self._pending, task)
        else:
            self._pending(task)

    def _pending(self, task: Task) -> None:
        if not self.queue and self._hold(task):
            # Nothing waits ahead of it and it fits: PENDING and ACTIVATING at the same instant,
            # and _activate's status change is the one recorded (neither moves a level).
            self._activate(task)
        else:
            self.control.set_status(task, _PENDING)
            self.queue.append(task)
            self._admit()

    def _admit(self) -> None:
        """Start the waiting tasks in order (FIFO) for as long as the first one fits."""
        queue = self.queue
        while queue and self._hold(queue[0]):
            self._activate(queue.popleft())

    def _hold(self, task: Task) -> bool:
        """Take the task's CPU, memory and GPUs from the host, if they fit."""
        need = task.requirement
        if (
            need.cpu > self.free_cpu
            or need.memory_mib > self.free_memory
            or need.gpu > self.free_gpu
        ):
            return False
        self.free_cpu -= need.cpu
        self.free_memory -= need.memory_mib
        self.free_gpu -= need.gpu
        task.held = True
        return True

    def _activate(self, task: Task) -> None:
        now = self.env._now
        params, sample = self.params, self._sample
        pull = 0.0
        images = self.images
        if task.start_failure == "pull" and all(
            image in images for image in task.task_definition.images()
        ):
            # ECS_IMAGE_PULL_BEHAVIOR=default: when the pull fails the cached image is used
            # (BP pull-behavior), so a host that has the image starts the task anyway.
            task.start_failure = None
        for image in task.task_definition.images():
            ready = images.get(image)
            if ready is None:
                took = sample(params.image_pull)  # once per image and host: a call is fine
                if task.start_failure != "pull":
                    images[image] = now + took  # later tasks share this pull or its copy
            else:
                # Cached, or being pulled for another task: wait for that pull, then the
                # registry check a cached image still costs (ECS_IMAGE_PULL_BEHAVIOR=default).
                cached = params.image_pull_cached  # _sample, written out: most tasks come here
                took = max(ready - now, 0.0) + (
                    cached.value if type(cached) is Fixed else cached.sample(self.rng)
                )
            pull = max(pull, took)
        task.pull_started_at = now
        task.pull_stopped_at = now + pull
        self.control.set_status(task, _ACTIVATING)
        failure = task.start_failure
        if failure == "pull":
            self._after(pull, self._failed_to_start, task)
            return
        definition = task.task_definition
        if definition.has_dependencies:
            start = self._start_in_order(task)
        else:  # _sample, written out: every task starts
            distribution = params.container_start
            start = (
                distribution.value if type(distribution) is Fixed else distribution.sample(self.rng)
            )
        self._after(pull + start, self._failed_to_start if failure else self._running, task)

    def _start_in_order(self, task: Task) -> float:
        """Seconds from the end of the pull until every long-running container has started.

        Each container starts (``container_start``) once its ``dependsOn`` conditions hold:
        START when the dependency has started, HEALTHY one health-check interval after that
        (its first check passes), COMPLETE and SUCCESS when it has run for
        ``init_container_runtime`` and exited (ECS-SEMANTICS 3). A HEALTHY condition on a
        container without a health check is treated as START [inf]. Containers are visited in
        definition order, so the draws are reproducible.
        """
        containers = task.task_definition.containers
        by_name = {c.name: c for c in containers}
        params, sample = self.params, self._sample
        started: dict[str, float] = {}
        exited: dict[str, float] = {}

        def start(name: str) -> float:
            # The task definition parser rejects dependsOn cycles, so this terminates.
            if name not in started:
                at = 0.0
                for dependency in by_name[name].depends_on:
                    other = dependency.container_name
                    condition = dependency.condition
                    if condition in ("COMPLETE", "SUCCESS"):
                        if other not in exited:
                            exited[other] = start(other) + sample(params.init_container_runtime)
                        ready = exited[other]
                    else:
                        ready = start(other)
                        check = by_name[other].health_check
                        if condition == "HEALTHY" and check is not None:
                            ready += check.interval_s
                    at = max(at, ready)
                started[name] = at + sample(params.container_start)
            return started[name]

        for container in containers:
            start(container.name)
        exiting = {
            d.container_name
            for c in containers
            for d in c.depends_on
            if d.condition in ("COMPLETE", "SUCCESS")
        }
        return max(t for name, t in started.items() if name not in exiting)

    def _failed_to_start(self, task: Task) -> None:
        """The image pull or the container start failed: the task stops without running."""
        if task.start_failure == "pull":
            reason = PULL_FAILED.format(image=task.task_definition.images()[0])
        else:
            reason = START_FAILED
        self.control.task_failed_to_start(task, reason)
        self._deprovision(task)

    def _running(self, task: Task) -> None:
        task.started_at = self.env._now
        self.control.set_status(task, _RUNNING)
        end = min(task.runtime_s, task.crash_s)
        if math.isfinite(end):
            self._after(end, self._essential_exited, task)

    def _essential_exited(self, task: Task) -> None:
        crashed = task.crash_s < task.runtime_s
        task.exit_code = 1.0 if crashed else 0.0
        self.control.task_exited(task, ESSENTIAL_EXITED)
        # The essential container is gone; any others get SIGTERM and are killed at stopTimeout.
        others = len(task.task_definition.containers) > 1
        self._stopping(task, others)  # graceful: positional, as on every lifecycle

    def stop(self, task: Task) -> None:
        """Stop a task the control plane set to desiredStatus STOPPED."""
        if not self.alive or task.last_status >= _STOPPING:
            return
        if self._backlog is not None:  # disconnected
            self._backlog.stops.append(task)  # delivered when the agent reconnects
            return
        task.token += 1  # cancel the pending step
        if task.pull_stopped_at > self.env.now:
            task.pull_stopped_at = self.env.now  # the pull in progress is abandoned
        if task.last_status <= _PENDING:
            if task in self.queue:
                self.queue.remove(task)
            self._deprovision(task)
            return
        self._stopping(task, graceful=task.last_status in _GRACEFUL)

    def _stopping(self, task: Task, graceful: bool) -> None:
        task.stopping_at = now = self.env._now
        self.control.set_status(task, _STOPPING)
        if graceful:
            timeout = task.task_definition.stop_timeout_s(self.params.stop_timeout)
            delay = min(self._sample(self.params.container_stop), timeout)
            self._after(delay, self._execution_stopped, task)
        else:  # every container is gone now: _execution_stopped, without its call
            task.execution_stopped_at = now
            self._deprovision(task)

    def _execution_stopped(self, task: Task) -> None:
        task.execution_stopped_at = self.env._now
        self._deprovision(task)

    def _report_stopped(self, task: Task) -> None:
        self.control.task_stopped(task)

    def _deprovision(self, task: Task) -> None:
        if task.held:
            need = task.requirement
            self.free_cpu += need.cpu
            self.free_memory += need.memory_mib
            self.free_gpu += need.gpu
            task.held = False
            if self.queue:
                self._admit()
        if task.requirement.eni and task.last_status >= _PENDING:
            self.control.set_status(task, _DEPROVISIONING)
            self._after(self._sample(self.params.eni_detach), self._report_stopped, task)
        else:
            self.control.task_stopped(task)
