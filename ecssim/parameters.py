"""Modelling choices ECS does not document, as named parameters with documented defaults.

Each field is a knob a scenario may set under ``parameters:`` (snake_case, durations and
distributions written as everywhere else). The defaults and their sources are listed in
``docs/scenario-reference.md``; ``[inf]`` marks an inference, as in ECS-SEMANTICS.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

from ecssim.distributions import Distribution, Fixed, LogNormal, Uniform


@dataclass(frozen=True, slots=True)
class SimParameters:
    """Timing and behaviour knobs of the simulated ECS.

    Attributes:
        instance_boot: EC2 launch to agent registration. [inf] 60-180 s (ECS-SEMANTICS 6).
        image_pull: Pull time of an image not cached on the instance. [inf] log-normal,
            median 15 s ("10-20 seconds for large images", BP pull-behavior).
        image_pull_cached: Pull time when the image is cached on the instance
            (``ECS_IMAGE_PULL_BEHAVIOR=default`` still checks the registry). [inf] 1 s.
        container_start: Container create and start after the pull. [inf] 2 s.
        container_stop: Time a container takes to exit after SIGTERM; SIGKILL cuts it at
            the container's ``stopTimeout`` (default 30 s). [inf] uniform 1-5 s.
        eni_attach: PROVISIONING time of an awsvpc task (ENI creation and attachment).
            "several seconds" (BP task). [inf] 5 s.
        eni_detach: DEPROVISIONING time of an awsvpc task. [inf] 5 s.
        stop_timeout: ``ECS_CONTAINER_STOP_TIMEOUT``, used when a container sets no
            ``stopTimeout`` (AG config.go). 30 s.
        instance_lost_after: How long after an EC2 instance stops or crashes ECS shows
            ``agentConnected=false`` ("within a few minutes", DG ECS_instances). [inf] 2 min.
        service_retry_interval: Delay before a service scheduler tries again after it could
            not place a task. [obs] about 5 min in reproio/ecs_deploy#53; [inf] default 60 s
            so that short scenarios show recovery; set 5m for the observed value.
        steady_state_check: How long a service must stay at desiredCount with nothing pending
            before ECS logs "has reached a steady state". [inf] 30 s.
        deregistered_visible: How long STOPPED tasks stay describable (BC Task: >= 1 h).
        metrics_interval: How often modelled CPU/memory usage is sampled into the ``cpu_used``
            / ``memory_used`` series; ECS publishes service metrics every 60 s (DG
            cloudwatch-metrics). 60 s.
        spot_notice: Time from a Spot interruption notice to the termination of the instance:
            two minutes (DG container-instance-spot).
        spot_draining: ``ECS_ENABLE_SPOT_INSTANCE_DRAINING``: the agent sets its instance
            DRAINING at the Spot notice (it polls IMDS every second). Off by default
            (DG container-instance-spot; AG app/agent.go).
    """

    instance_boot: Distribution = field(default_factory=lambda: Uniform(60.0, 180.0))
    image_pull: Distribution = field(default_factory=lambda: LogNormal(15.0, 0.4))
    image_pull_cached: Distribution = field(default_factory=lambda: Fixed(1.0))
    container_start: Distribution = field(default_factory=lambda: Fixed(2.0))
    container_stop: Distribution = field(default_factory=lambda: Uniform(1.0, 5.0))
    eni_attach: Distribution = field(default_factory=lambda: Fixed(5.0))
    eni_detach: Distribution = field(default_factory=lambda: Fixed(5.0))
    stop_timeout: float = 30.0
    instance_lost_after: float = 120.0
    service_retry_interval: float = 60.0
    steady_state_check: float = 30.0
    deregistered_visible: float = 3600.0
    metrics_interval: float = 60.0
    spot_notice: float = 120.0
    spot_draining: bool = False

    @classmethod
    def names(cls) -> list[str]:
        """Return the parameter names a scenario may set."""
        return [f.name for f in fields(cls)]

    @classmethod
    def boolean_names(cls) -> set[str]:
        """Return the names of the parameters that take true or false."""
        return {"spot_draining"}

    @classmethod
    def distribution_names(cls) -> set[str]:
        """Return the names of the parameters that take a distribution (the rest are durations)."""
        return {
            "instance_boot",
            "image_pull",
            "image_pull_cached",
            "container_start",
            "container_stop",
            "eni_attach",
            "eni_detach",
        }
