"""Wiring: a SimPy environment, named streams, the control plane, workloads, faults and actions.

:class:`Simulation` is the imperative entry point (teaching, notebooks, tests); :func:`run` loads
a scenario into one and runs it to the end. Everything random draws from a named stream of the
run's root seed (``ecssim.rng``), so the same scenario and seed give the same frames.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import math
import time
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import simpy

from ecssim.control.client import ClientError, ECSClient, ParamValidationError
from ecssim.control.plane import ControlPlane, ControlPlaneError, constraints_from, strategies_from
from ecssim.control.records import InstanceRecord
from ecssim.control.selectors import resolve
from ecssim.distributions import Distribution, parse_distribution, parse_mtbf
from ecssim.environment import Environment, TimedCalls
from ecssim.errors import InputError
from ecssim.gcpause import cyclic_gc_paused
from ecssim.metrics import Recorder
from ecssim.model.catalogue import get_instance_type
from ecssim.model.enums import StopCode
from ecssim.parameters import SimParameters
from ecssim.result import Result
from ecssim.rng import Streams
from ecssim.scenario.loader import load_scenario
from ecssim.scenario.schema import (
    AgentDisconnect,
    AzOutage,
    Fault,
    InstanceFailure,
    InstanceGroup,
    InstanceStop,
    Scenario,
    SpotInterruption,
    TaskBehavior,
    Workload,
)
from ecssim.units import parse_duration
from ecssim.usage import RandomWalk, parse_usage

DEFAULT_ZONES = ("us-east-1a", "us-east-1b", "us-east-1c")


def ecssim_version() -> str:
    """Return the installed ecssim version."""
    try:
        return version("ecssim")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "0+unknown"


class Simulation:
    """One simulated ECS account: drive it through ``sim.ecs`` (boto3 names and shapes).

    >>> sim = Simulation(seed=7)
    >>> _ = sim.ecs.create_cluster(clusterName="prod")
    >>> _ = sim.launch_instances("prod", "m5.large", count=2)
    >>> sim.run(until="5m")
    >>> len(sim.ecs.list_container_instances(cluster="prod")["containerInstanceArns"])
    2
    """

    def __init__(
        self,
        seed: int = 0,
        *,
        parameters: SimParameters | None = None,
        explain: bool = False,
        behaviors: Mapping[str, TaskBehavior] | None = None,
    ) -> None:
        self.seed = int(seed)
        # A float clock from the start: the hot path reads ``env._now`` itself (the attribute
        # behind SimPy's ``now`` property, which is a Python call), and SimPy's default start
        # is the int 0.
        self.env = Environment(initial_time=0.0)
        self.streams = Streams(self.seed)
        self.parameters = parameters or SimParameters()
        self.recorder = Recorder(explain=explain)
        self.behaviors: dict[str, TaskBehavior] = dict(behaviors or {})
        self.control = ControlPlane(
            self.env, self.streams, self.parameters, self.recorder, behaviours=self.behaviors
        )
        self.ecs = ECSClient(self.control)
        self.scenario: Scenario | None = None
        self._sampler: simpy.Process | None = None
        self._horizon = math.inf  # end time of the current run()
        self._start_usage_sampler()
        self.error: BaseException | None = None
        self._wall = 0.0
        self._events = 0

    @property
    def now(self) -> float:
        """The simulated time in seconds."""
        return float(self.env.now)

    @property
    def explain(self) -> bool:
        """Whether placement decisions are recorded in the ``placements`` frame."""
        return self.recorder.placements is not None

    @explain.setter
    def explain(self, on: bool) -> None:
        if on and self.recorder.placements is None:
            self.recorder.placements = self.recorder.channel("placements")
        elif not on:
            self.recorder.placements = None

    # -- imperative API ------------------------------------------------------------------------
    def set_behavior(
        self,
        family: str,
        *,
        runtime: object = "forever",
        crash_mtbf: object = None,
        cpu_usage: object = None,
        memory_usage: object = None,
    ) -> None:
        """Say how tasks of ``family`` behave once RUNNING (run time, crashes, usage).

        Values are written as in scenarios: ``"forever"``, ``"20m"``,
        ``{"exponential": {"mean": "1h"}}``, ``{"diurnal": {"mean": 0.4, "amplitude": 0.2}}``...
        """
        run: Distribution = parse_distribution(runtime, allow_forever=True)
        crash = None if crash_mtbf is None else parse_mtbf(crash_mtbf)
        cpu = None if cpu_usage is None else parse_usage(cpu_usage)
        memory = None if memory_usage is None else parse_usage(memory_usage)
        self.behaviors[family] = TaskBehavior(run, crash, cpu, memory)
        self.control.refresh_usage_families()
        self._start_usage_sampler()

    def _start_usage_sampler(self) -> None:
        alive = self._sampler is not None and self._sampler.is_alive
        if not alive and self.control.usage_families:
            self._sampler = self.env.process(self._sample_usage())

    def _sample_usage(self) -> Generator[simpy.Event, Any, None]:
        """Every ``metrics_interval``: modelled usage into ``cpu_used``/``memory_used`` series.

        One process for the whole run, started only when some family models usage. It ends at
        the end time of the current :meth:`run` (or, with no end time, when nothing else is
        scheduled) and is started again by the next :meth:`run`.
        """
        env, control = self.env, self.control
        append = self.recorder.series.append
        walks: dict[tuple[str, str], Any] = {}
        while True:
            t = env.now
            levels: dict[str, tuple[float, float]] = {}
            for family in sorted(control.usage_families):
                behaviour = self.behaviors[family]
                rng = self.streams.get(f"usage:{family}")
                pair = []
                for kind, model in (
                    ("cpu", behaviour.cpu_usage),
                    ("memory", behaviour.memory_usage),
                ):
                    if model is None:
                        pair.append(0.0)
                        continue
                    if isinstance(model, RandomWalk):
                        model = walks.setdefault((family, kind), model.fresh())
                    pair.append(model.level(t, rng))
                levels[family] = (pair[0], pair[1])
            for name in control.clusters:
                cpu = memory = 0.0
                for (cluster, family), (reserved_cpu, reserved_memory) in sorted(
                    control.running_reserved.items()
                ):
                    if cluster == name and family in levels:
                        cpu += levels[family][0] * reserved_cpu
                        memory += levels[family][1] * reserved_memory
                append((t, "cpu_used", name, None, None, cpu))
                append((t, "memory_used", name, None, None, memory))
                for service in control.clusters[name].services.values():
                    family = service.task_definition.family
                    if family not in levels or service.status == "INACTIVE":
                        continue
                    cpu_level, memory_level = levels[family]
                    used_cpu = cpu_level * service.running_cpu
                    used_memory = memory_level * service.running_memory
                    append((t, "cpu_used", name, service.name, None, used_cpu))
                    append((t, "memory_used", name, service.name, None, used_memory))
                    # ECS's service CPUUtilization / MemoryUtilization: used / reserved by the
                    # service's running tasks (no datapoint while none runs).
                    if service.running_cpu:
                        append((t, "cpu_utilization", name, service.name, None, cpu_level))
                    if service.running_memory:
                        append((t, "memory_utilization", name, service.name, None, memory_level))
            interval = self.parameters.metrics_interval
            if t + interval > self._horizon or (self._horizon == math.inf and not env._queue):
                return
            yield env.timeout(interval)

    def launch_instances(
        self,
        cluster: str,
        instance_type: str,
        count: int = 1,
        *,
        zones: Sequence[str] = DEFAULT_ZONES,
        attributes: Mapping[str, str] | None = None,
        cpu: int | None = None,
        memory: int | None = None,
        market: str = "on-demand",
        awsvpc_trunking: bool = False,
    ) -> list[str]:
        """Launch EC2 instances into ``cluster``; they register after booting.

        ``awsvpc_trunking=True`` registers them with ENI trunking: the type's ``trunk_enis``
        awsvpc task slots (c5.large: 10 instead of 2) and the ``ecs.awsvpc-trunk-id``
        attribute.

        Returns:
            Their EC2 instance ids.

        Raises:
            ValueError: ``awsvpc_trunking`` on a type that does not support ENI trunking.
        """
        launched = self.control.launch_instances(
            cluster,
            get_instance_type(instance_type),
            count=count,
            zones=list(zones),
            attributes=attributes,
            cpu=cpu,
            memory_mib=memory,
            market=market,
            awsvpc_trunking=awsvpc_trunking,
        )
        return [i.ec2_instance_id for i in launched]

    def _find_instance(self, ref: str) -> InstanceRecord:
        for instance in self.control.instances:
            if ref in (instance.ec2_instance_id, instance.arn, instance.id):
                return instance
        raise KeyError(f"no instance {ref!r}")

    def fail_instance(self, instance: str, *, replace_after: object = None) -> None:
        """Make an EC2 instance fail now (by EC2 id or container-instance ARN/id).

        ECS notices after ``instance_lost_after``: the instance goes ``agentConnected=false`` and
        INACTIVE, its tasks STOPPED, and services replace them. ``replace_after`` launches a
        replacement of the same type in the same zone after that delay.
        """
        record = self._find_instance(instance)
        self.control.fail_instance(record)
        if replace_after is not None:
            self._replace_later(record, parse_duration(replace_after))

    def _replace_later(
        self,
        record: InstanceRecord,
        delay: float,
        launched: Callable[[list[InstanceRecord]], None] | None = None,
    ) -> None:
        def replace(_event: simpy.Event) -> None:
            new = self.control.launch_instances(
                record.cluster.name,
                record.instance_type,
                count=1,
                zones=[record.zone],
                attributes={k: v for k, v in record.attributes.items() if not k.startswith("ecs.")},
                cpu=record.registered_cpu,
                memory_mib=record.registered_memory,
                market=record.market,
                # Trunked instances hold the type's trunk slots (records.InstanceRecord).
                awsvpc_trunking=record.eni_slots == record.instance_type.trunk_enis,
            )
            if launched is not None:
                launched(new)

        self.env.timeout(delay).callbacks.append(replace)

    def step(self) -> bool:
        """Process one event; return ``False`` when nothing is left to simulate."""
        if self.env.peek() == math.inf:
            return False
        self.env.step()
        self._events += 1
        return True

    def run(self, until: object = None, *, progress: Callable[[float], None] | None = None) -> None:
        """Run to the absolute simulated time ``until`` (seconds or a duration string).

        Exceptions raised inside the simulation propagate after being stored in
        ``self.error``; everything recorded so far stays available through :meth:`result`.
        """
        end = math.inf if until is None else parse_duration(until)
        if end < self.env.now:
            raise ValueError(f"until={until!r} is before the current time {self.env.now:g} s")
        started = time.perf_counter()
        env = self.env
        self._horizon = end
        self._start_usage_sampler()
        if end == env.now:
            while env.peek() == env.now:  # finish what is due now, like a zero-length run
                env.step()
                self._events += 1
            return
        try:
            with cyclic_gc_paused():
                if progress is None:
                    count_before = env.scheduled
                    env.run(until=end) if end != math.inf else env.run()
                    self._events += env.scheduled - count_before
                else:
                    chunk = max((end - env.now) / 200, 1.0) if end != math.inf else 3600.0
                    while env.now < end and env.peek() != math.inf:
                        target = min(env.now + chunk, end)
                        count_before = env.scheduled
                        env.run(until=target)
                        self._events += env.scheduled - count_before
                        progress(env.now)
                    if end != math.inf and env.now < end:
                        env.run(until=end)
        except BaseException as err:
            self.error = err
            raise
        finally:
            self._wall += time.perf_counter() - started

    def result(self) -> Result:
        """Build the result frames of everything recorded so far."""
        with cyclic_gc_paused():
            frames = self.recorder.frames(self.control.snapshot())
        meta: dict[str, Any] = {
            "seed": self.seed,
            "ecssim_version": ecssim_version(),
            "simulated_s": self.now,
            "wall_s": round(self._wall, 6),
            "events": self._events,
            "parameters": _parameters_dict(self.parameters),
            "error": None if self.error is None else f"{type(self.error).__name__}: {self.error}",
            # The run stopped early (an exception or an interrupt): the frames hold what was
            # recorded until then.
            "partial": self.error is not None,
        }
        if self.scenario is not None:
            meta["scenario"] = dict(self.scenario.document)
            meta["name"] = self.scenario.name
            meta["description"] = self.scenario.description
            meta["duration_s"] = self.scenario.duration_s
        return Result(frames, meta)

    # -- scenarios -------------------------------------------------------------------------------
    @classmethod
    def from_scenario(cls, scenario: Scenario, *, seed: int | None = None) -> Simulation:
        """Build a simulation with everything a scenario declares, scheduled at its times."""
        sim = cls(
            scenario.seed if seed is None else seed,
            parameters=scenario.parameters,
            explain=scenario.explain,
            behaviors=scenario.task_behavior,
        )
        sim.scenario = scenario
        ecs = sim.ecs
        for cluster in scenario.clusters:
            ecs.create_cluster(**cluster)
        for definition in scenario.task_definitions:
            sim.control.register_task_definition(definition)
        for group in scenario.instances:
            sim._at(group.at_s, functools.partial(sim._launch_group, group))
        for service in scenario.services:
            ecs.create_service(**service)
        for workload in scenario.workloads:
            sim._workload(workload, scenario.duration_s)
        for fault in scenario.faults:
            sim._fault(fault)
        for action in scenario.actions:
            sim._at(
                action.at_s,
                functools.partial(sim._action, action.index, action.call, action.kwargs),
            )
        return sim

    def _launch_group(self, group: InstanceGroup) -> None:
        if group.spot_mtbf is not None:
            launched = self.control.launch_instances(
                group.cluster,
                get_instance_type(group.instance_type),
                count=group.count,
                zones=list(group.zones),
                attributes=group.attributes,
                cpu=group.cpu,
                memory_mib=group.memory_mib,
                market=group.market,
                awsvpc_trunking=group.awsvpc_trunking,
            )
            self._arm_spot(group, launched)
            return
        self.launch_instances(
            group.cluster,
            group.instance_type,
            group.count,
            zones=group.zones,
            attributes=group.attributes,
            cpu=group.cpu,
            memory=group.memory_mib,
            market=group.market,
            awsvpc_trunking=group.awsvpc_trunking,
        )

    def _at(self, t: float, fn: Callable[[], object]) -> None:
        if t <= self.env.now:
            fn()
        else:
            self.env.timeout(t - self.env.now).callbacks.append(lambda _event: _call(fn))

    def _action(self, index: int, call: str, kwargs: Mapping[str, Any]) -> None:
        """Run a scripted call; selectors are resolved now; a failure never stops the run."""
        try:
            request = resolve(self.control, call, kwargs)
            getattr(self.ecs, call)(**request)
        except (ClientError, ControlPlaneError, ParamValidationError, InputError) as err:
            self.control.event("action_failed", f"actions[{index}].{call}: {err}")
        else:
            self.control.event("action", f"actions[{index}].{call}({_kwargs_text(request)})")

    def _workload(self, workload: Workload, duration_s: float) -> TimedCalls[None]:
        """Feed the workload's arrivals to RunTask from now until it stops (or the run ends)."""
        rng = self.streams.get(f"workload[{workload.index}]:arrivals")
        arrivals = workload.arrivals
        stop = min(workload.stop_s, duration_s)

        def times() -> Iterator[float]:
            if arrivals.kind == "times":
                yield from sorted(t for t in arrivals.times_s if t >= workload.start_s)
                return
            t = workload.start_s
            while True:
                if arrivals.kind == "poisson":
                    assert arrivals.rate_per_s is not None
                    if arrivals.rate_per_s <= 0:
                        return
                    t += float(rng.exponential(1.0 / arrivals.rate_per_s))
                else:
                    assert arrivals.interval_s is not None
                    yield t
                    t += arrivals.interval_s
                    continue
                yield t

        due = ((t, None) for t in itertools.takewhile(lambda t: t < stop, times()))
        return TimedCalls(self.env, due, self._arrival(workload))

    def _arrival(self, workload: Workload) -> Callable[[None], None]:
        """RunTask for one of ``workload``'s arrivals; a failure is recorded, not raised."""
        origin = f"workload[{workload.index}]"
        definition = self.control.task_definition(workload.task_definition)
        strategies = strategies_from(workload.placement_strategy)
        constraints = constraints_from(workload.placement_constraints)
        run_task = self.control.run_task

        def arrive(_: None) -> None:
            with contextlib.suppress(ControlPlaneError):  # recorded as a failure row
                run_task(
                    workload.cluster,
                    definition,
                    count=workload.count,
                    group=workload.group,
                    strategies=strategies,
                    constraints=constraints,
                    started_by=origin,
                    origin=origin,
                )

        return arrive

    def _fault(self, fault: Fault) -> None:
        name = f"fault[{fault.index}]"
        control = self.control
        if isinstance(fault, AzOutage):
            self._az_outage(fault, name)
            return
        if isinstance(fault, InstanceFailure):
            replace_after = fault.replace_after_s

            def fire(instance: InstanceRecord) -> None:
                control.fail_instance(instance, reason=f"failed ({name})")
                if replace_after is not None:
                    self._replace_later(instance, replace_after)

        elif isinstance(fault, InstanceStop):

            def fire(instance: InstanceRecord) -> None:
                control.instance_down(instance, reason=f"stopped ({name})", ec2_stopped=True)

        elif isinstance(fault, SpotInterruption):

            def fire(instance: InstanceRecord) -> None:
                self._spot_notice(instance, fault.replace_after_s)

        else:
            self._agent_disconnects(fault, name)
            return
        spot = isinstance(fault, SpotInterruption)

        def eligible(instance: InstanceRecord) -> bool:
            return (
                instance.cluster.name == fault.cluster
                and math.isnan(instance.stopped_at)
                and math.isnan(instance.down_since)
                and (fault.zone is None or instance.zone == fault.zone)
                and (not spot or instance.market == "spot")
            )

        self._instances_fault(fault, name, eligible, fire)

    def _instances_fault(
        self,
        fault: InstanceFailure | InstanceStop | SpotInterruption | AgentDisconnect,
        name: str,
        eligible: Callable[[InstanceRecord], bool],
        fire: Callable[[InstanceRecord], None],
    ) -> None:
        """Fire ``fire`` on ``count`` eligible instances at ``at``, or per instance by MTBF."""
        if fault.at_s is not None:
            rng = self.streams.get(name)

            def at_time() -> None:
                pool = [i for i in self.control.instances if eligible(i)]
                if not pool:
                    self.control.event("fault_skipped", f"{name}: no running instance to fail")
                    return
                chosen = rng.choice(len(pool), size=min(fault.count, len(pool)), replace=False)
                for index in sorted(int(c) for c in chosen):
                    fire(pool[index])

            self._at(fault.at_s, at_time)
        elif fault.mtbf is not None:
            mtbf = fault.mtbf

            def arm(instance: InstanceRecord) -> None:
                if not eligible(instance):
                    return
                ttf = mtbf.sample(self.streams.get(f"{name}:{instance.ec2_instance_id}"))
                if math.isfinite(ttf):
                    self.env.timeout(ttf).callbacks.append(
                        lambda _e: fire(instance) if eligible(instance) else None
                    )

            self.control.launch_hooks.append(arm)
            for instance in list(self.control.instances):
                arm(instance)

    def _agent_disconnects(self, fault: AgentDisconnect, name: str) -> None:
        """Disconnect agents for ``duration``; with an MTBF, again after each reconnect."""
        control = self.control
        durations = self.streams.get(f"{name}:duration")

        def eligible(instance: InstanceRecord) -> bool:
            return (
                instance.cluster.name == fault.cluster
                and math.isnan(instance.stopped_at)
                and (fault.zone is None or instance.zone == fault.zone)
            )

        def fire(instance: InstanceRecord) -> None:
            if instance.row < 0:
                # Not registered yet: with an MTBF, count again from now.
                if fault.mtbf is not None:
                    rearm(instance)
                return
            if control.disconnect_agent(instance, why=f" ({name})"):
                back = fault.duration.sample(durations)
                self.env.timeout(back).callbacks.append(lambda _e: reconnect(instance))
            elif fault.mtbf is not None:
                rearm(instance)

        def reconnect(instance: InstanceRecord) -> None:
            control.reconnect_agent(instance)
            if fault.mtbf is not None:
                rearm(instance)

        def rearm(instance: InstanceRecord) -> None:
            if not eligible(instance):
                return
            assert fault.mtbf is not None
            ttf = fault.mtbf.sample(self.streams.get(f"{name}:{instance.ec2_instance_id}"))
            if math.isfinite(ttf):
                self.env.timeout(ttf).callbacks.append(
                    lambda _e: fire(instance) if eligible(instance) else None
                )

        self._instances_fault(fault, name, eligible, fire)

    def _az_outage(self, fault: AzOutage, name: str) -> None:
        """Every instance of the zone goes down (containers die), and is back after duration.

        ECS sees them ``agentConnected=false`` after ``instance_lost_after`` and stops their
        tasks; services replace them in the surviving zones. The instances stay ACTIVE and come
        back empty; AZ rebalancing then moves service tasks back.
        """
        control = self.control

        def start() -> None:
            down = [
                i
                for i in control.instances
                if i.zone == fault.zone
                and (fault.cluster is None or i.cluster.name == fault.cluster)
                and math.isnan(i.stopped_at)
            ]
            control.event(
                "az_outage",
                f"{name}: Availability Zone {fault.zone} unreachable "
                f"({len(down)} instances) for {fault.duration_s:g} s.",
                cluster=fault.cluster,
            )
            for instance in down:
                control.instance_down(instance, reason=f"unreachable (AZ outage, {name})")

            def end(_event: object) -> None:
                control.event(
                    "az_recovered",
                    f"{name}: Availability Zone {fault.zone} is back.",
                    cluster=fault.cluster,
                )
                for instance in down:
                    control.instance_up(instance)

            self.env.timeout(fault.duration_s).callbacks.append(end)

        self._at(fault.at_s, start)

    def _spot_notice(
        self,
        instance: InstanceRecord,
        replace_after: float | None,
        group: InstanceGroup | None = None,
    ) -> None:
        """A Spot interruption notice: termination follows after ``spot_notice``."""
        control = self.control
        params = self.parameters
        if not math.isnan(instance.stopped_at):
            return
        control.event(
            "spot_interruption_notice",
            f"EC2 Spot instance {instance.ec2_instance_id}: interruption notice, terminated in "
            f"{params.spot_notice:g} s.",
            cluster=instance.cluster.name,
            instance=instance,
        )
        if params.spot_draining:
            control.drain(instance, why=" (Spot interruption notice)")

        def terminate(_event: object) -> None:
            control.fail_instance(
                instance,
                reason="terminated (Spot interruption)",
                code=StopCode.SPOT_INTERRUPTION,
                lost_after=0.0,
                task_reason=f"Host EC2 (instance {instance.ec2_instance_id}) terminated: "
                "Spot interruption.",
            )
            if replace_after is not None:
                # A replacement from a group with its own interruptions gets them too.
                rearm = functools.partial(self._arm_spot, group) if group is not None else None
                self._replace_later(instance, replace_after, rearm)

        self.env.timeout(params.spot_notice).callbacks.append(terminate)

    def _arm_spot(self, group: InstanceGroup, instances: Sequence[InstanceRecord]) -> None:
        """Per-instance Spot interruptions of a group with ``spot: {mtbf | rate}``."""
        mtbf = group.spot_mtbf
        assert mtbf is not None
        for instance in instances:
            ttf = mtbf.sample(self.streams.get(f"spot:{instance.ec2_instance_id}"))
            if math.isfinite(ttf):
                self.env.timeout(ttf).callbacks.append(
                    functools.partial(
                        lambda i, _e: self._spot_notice(i, group.spot_replace_after_s, group),
                        instance,
                    )
                )


def _call(fn: Callable[[], object]) -> None:
    fn()


def _kwargs_text(kwargs: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in kwargs.items())


def _parameters_dict(parameters: SimParameters) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in SimParameters.names():
        value = getattr(parameters, name)
        out[name] = value if isinstance(value, int | float) else repr(value)
    return out


def run(
    scenario: Scenario | Mapping[str, Any] | str | Path,
    *,
    seed: int | None = None,
    until: object = None,
    overrides: Sequence[str] | Mapping[str, Any] = (),
    progress: Callable[[float], None] | None = None,
) -> Result:
    """Load (if needed) and run a scenario; return its :class:`Result`.

    Args:
        scenario: A loaded :class:`Scenario`, a path to a YAML file, or a dict of the same shape.
        seed: Root seed; defaults to the scenario's ``seed``.
        until: End time; defaults to the scenario's ``duration``.
        overrides: ``PATH=VALUE`` overrides applied before validation (only when loading).
        progress: Called with the simulated time as the run advances.

    A run that raises inside the simulation still returns what was recorded, with the error in
    ``result.meta["error"]``.
    """
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario, overrides=overrides)
    elif overrides:
        raise ValueError("overrides apply when loading; pass a path or dict, not a Scenario")
    sim = Simulation.from_scenario(scenario, seed=seed)
    end = scenario.duration_s if until is None else parse_duration(until)
    with contextlib.suppress(Exception):  # the error is kept in the result's meta
        sim.run(until=end, progress=progress)
    return sim.result()
