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
        deregistered_visible: How long STOPPED tasks stay describable (BC Task: >= 1 h).
        metrics_interval: How often modelled CPU/memory usage is sampled into the ``cpu_used``
            / ``memory_used`` series; ECS publishes service metrics every 60 s (DG
            cloudwatch-metrics). 60 s.
        spot_notice: Time from a Spot interruption notice to the termination of the instance:
            two minutes (DG container-instance-spot).
        spot_draining: ``ECS_ENABLE_SPOT_INSTANCE_DRAINING``: the agent sets its instance
            DRAINING at the Spot notice (it polls IMDS every second). Off by default
            (DG container-instance-spot; AG app/agent.go).
        deployment_healthy_after: How long after RUNNING a task with no container health check
            and no load balancer counts healthy for a deployment (ECS-SEMANTICS 5). 40 s.
        lb_healthy_after: How long after RUNNING the load-balancer target of a task turns
            healthy: ALB health check interval 30 s x healthy threshold 5 (BP
            load-balancer-healthcheck). 150 s.
        lb_deregistration_delay: Time a task of a service behind a load balancer spends in
            DEACTIVATING before it is stopped: the target group's deregistration delay
            (BP load-balancer-connection-draining). 300 s.
        init_container_runtime: Run time of a container that others wait on with a
            ``dependsOn`` condition COMPLETE or SUCCESS (an init container). [inf] 5 s.
        service_launch_rate: Tasks a service may launch per minute on EC2 (BP task). 250.
        throttle_first_delay: The first delay of the start-failure throttle; it doubles with
            each consecutive failure (the curve is unpublished, DG service-throttle-logic).
            [inf] 10 s.
        throttle_max_delay: The cap of the start-failure throttle: 27 min in the current
            documentation (15 min in 2023; DG service-throttle-logic).
        throttle_event_after: Consecutive start failures after which a service logs "is unable
            to consistently start tasks successfully". [inf] 3.
        circuit_breaker_min_threshold: The least number of failed tasks that trips the
            deployment circuit breaker: 3 in the current API reference, 10 in the 2023
            developer guide (ECS-SEMANTICS 5).
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
    deregistered_visible: float = 3600.0
    metrics_interval: float = 60.0
    spot_notice: float = 120.0
    spot_draining: bool = False
    deployment_healthy_after: float = 40.0
    lb_healthy_after: float = 150.0
    lb_deregistration_delay: float = 300.0
    init_container_runtime: Distribution = field(default_factory=lambda: Fixed(5.0))
    service_launch_rate: int = 250
    throttle_first_delay: float = 10.0
    throttle_max_delay: float = 27 * 60.0
    throttle_event_after: int = 3
    circuit_breaker_min_threshold: int = 3

    @classmethod
    def names(cls) -> list[str]:
        """Return the parameter names a scenario may set."""
        return [f.name for f in fields(cls)]

    @classmethod
    def boolean_names(cls) -> set[str]:
        """Return the names of the parameters that take true or false."""
        return {"spot_draining"}

    @classmethod
    def integer_names(cls) -> set[str]:
        """Return the names of the parameters that take a positive integer."""
        return {"service_launch_rate", "throttle_event_after", "circuit_breaker_min_threshold"}

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
            "init_container_runtime",
        }
