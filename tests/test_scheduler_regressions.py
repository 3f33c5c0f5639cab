"""Scheduler bugs found in review, each reproduced and pinned (ECS-SEMANTICS sections 3-5)."""

from __future__ import annotations

from conftest import container, register

from ecssim.distributions import Fixed
from ecssim.parameters import SimParameters
from ecssim.scenario.schema import TaskBehavior
from ecssim.simulation import Simulation

CHECK = {"command": ["CMD-SHELL", "true"], "interval": 10}
FIXED = {
    "instance_boot": Fixed(60.0),
    "image_pull": Fixed(20.0),
    "image_pull_cached": Fixed(1.0),
    "container_start": Fixed(2.0),
}


def _sim(behaviors: dict | None = None, **parameters: object) -> Simulation:
    values = {**FIXED, **parameters}
    sim = Simulation(seed=7, parameters=SimParameters(**values), behaviors=behaviors)
    sim.ecs.create_cluster(clusterName="prod")
    return sim


def _service(sim: Simulation) -> dict:
    return sim.ecs.describe_services(cluster="prod", services=["web"])["services"][0]


def test_a_late_running_report_of_an_unhealthy_task_does_not_crash_the_run():
    # The agent was disconnected while the task started: RUNNING reaches ECS after the time
    # the checks would have failed. The task is stopped then, not at a time in the past.
    sim = _sim({"web": TaskBehavior(unhealthy_after=Fixed(5.0))})
    sim.launch_instances("prod", "m5.large", count=1)
    register(sim, "web", containerDefinitions=[container("web", healthCheck=CHECK)])
    sim.run(until=120)
    sim.ecs.create_service(cluster="prod", serviceName="web", taskDefinition="web", desiredCount=1)
    sim.run(until=121)
    instance = sim.control.instances[0]
    assert sim.control.disconnect_agent(instance)
    sim.run(until=300)
    sim.control.reconnect_agent(instance)
    sim.run(until=400)
    stopped = sim.result().tasks.query("stopped_reason == 'Task failed container health checks'")
    assert len(stopped) >= 1
    assert stopped.desired_stopped_at.iloc[0] == 300.0  # when ECS heard of it


def test_a_task_reaching_running_ends_the_throttle_wait(monkeypatch):
    # DG service-throttle-logic: the throttle is reset once a task starts; launches must not
    # keep waiting out the delay of the failures before it.
    from ecssim.control.plane import ControlPlane

    sim = Simulation(seed=3, behaviors={"web": TaskBehavior(pull_failure=0.6)})
    sim.ecs.create_cluster(clusterName="prod")
    sim.launch_instances("prod", "m5.xlarge", count=4)
    register(sim, "web", memory=256, cpu=128)
    sim.run(until=240)
    sim.ecs.create_service(cluster="prod", serviceName="web", taskDefinition="web", desiredCount=12)
    blocked = []
    original = ControlPlane._service_running

    def spy(self, service, task):  # type: ignore[no-untyped-def]
        failures = service.start_failures
        original(self, service, task)
        if failures and service.throttled_until > self.now:
            blocked.append(self.now)

    monkeypatch.setattr(ControlPlane, "_service_running", spy)
    sim.run(until=1800)
    tasks = sim.result().tasks
    # The situation arose: tasks failed to start, and tasks started after failures.
    failed_at = tasks[tasks.stop_code == "TaskFailedToStart"].desired_stopped_at
    assert len(failed_at) > 3
    assert (tasks.started_at > failed_at.min()).any()
    assert blocked == []


def test_the_launch_rate_retry_fires_even_when_times_round():
    # A window opening at an awkward float time must not leave the service below desired.
    sim = _sim()
    sim.launch_instances("prod", "m5.xlarge", count=10)
    register(sim, "web", memory=32, cpu=16)
    sim.run(until=0.3426484407270549 + 60)
    sim.ecs.create_service(cluster="prod", serviceName="web", taskDefinition="web", desiredCount=1)
    sim.run(until=125.321885359845513)
    sim.ecs.update_service(cluster="prod", service="web", desiredCount=400)
    sim.run(until="1h")
    assert _service(sim)["runningCount"] == 400


def test_failed_tasks_reads_zero_once_a_task_of_the_deployment_ran():
    # DG deployment-circuit-breaker: failedTasks resets to 0 once a task runs successfully.
    checked = 0
    for seed in range(6):
        sim = Simulation(
            seed=seed,
            parameters=SimParameters(**FIXED),
            behaviors={"web": TaskBehavior(pull_failure=0.3)},
        )
        sim.ecs.create_cluster(clusterName="prod")
        sim.launch_instances("prod", "m5.xlarge", count=2)
        register(sim, "web", memory=256, cpu=64)
        sim.run(until=120)
        sim.ecs.create_service(
            cluster="prod",
            serviceName="web",
            taskDefinition="web",
            desiredCount=4,
            deploymentConfiguration={
                "deploymentCircuitBreaker": {"enable": True, "rollback": False}
            },
        )
        sim.run(until="30m")
        deployment = _service(sim)["deployments"][0]
        failures = (sim.result().tasks.stop_code == "TaskFailedToStart").sum()
        if deployment["rolloutState"] != "FAILED" and failures:
            assert deployment["failedTasks"] == 0
            checked += 1
    assert checked >= 2  # seeds where tasks failed and the deployment still went through


def test_a_pull_failure_on_a_host_that_has_the_image_uses_the_cached_image():
    # BP pull-behavior (ECS_IMAGE_PULL_BEHAVIOR=default): "If the pull fails, the cached image
    # in the instance is used."
    sim = _sim({"web:2": TaskBehavior(pull_failure=1.0)})
    sim.launch_instances("prod", "m5.large", count=1)
    first = container("web", image="example/web:1")
    register(sim, "web", containerDefinitions=[first])
    register(sim, "web", containerDefinitions=[first])
    sim.run(until=120)
    sim.ecs.run_task(cluster="prod", taskDefinition="web:1")
    sim.run(until=200)
    arn = sim.ecs.run_task(cluster="prod", taskDefinition="web:2")["tasks"][0]["taskArn"]
    sim.run(until=300)
    task = sim.ecs.describe_tasks(cluster="prod", tasks=[arn])["tasks"][0]
    assert task["lastStatus"] == "RUNNING"


def test_an_instance_down_while_booting_registers_after_its_new_boot():
    sim = _sim(instance_boot=Fixed(100.0))
    sim.launch_instances("prod", "m5.large", count=1)
    instance = sim.control.instances[0]
    sim.run(until=30)
    sim.control.instance_down(instance, reason="stopped")
    sim.run(until=90)
    sim.control.instance_up(instance)
    sim.run(until=400)
    assert instance.registered_at == 190.0  # back at 90, then a whole boot


def test_force_new_deployment_replaces_every_task_with_the_same_revision():
    sim = _sim()
    sim.launch_instances("prod", "m5.large", count=2)
    register(sim, "web", memory=256, cpu=64)
    sim.run(until=120)
    sim.ecs.create_service(cluster="prod", serviceName="web", taskDefinition="web", desiredCount=2)
    sim.run(until=600)
    before = set(sim.ecs.list_tasks(cluster="prod")["taskArns"])
    response = sim.ecs.update_service(
        cluster="prod", service="web", forceNewDeployment=True, healthCheckGracePeriodSeconds=120
    )["service"]
    assert response["healthCheckGracePeriodSeconds"] == 120
    assert [d["status"] for d in response["deployments"]] == ["PRIMARY", "ACTIVE"]
    sim.run(until=1200)
    after = set(sim.ecs.list_tasks(cluster="prod")["taskArns"])
    assert len(after) == 2 and not after & before
    deployments = _service(sim)["deployments"]
    assert [(d["status"], d["rolloutState"]) for d in deployments] == [("PRIMARY", "COMPLETED")]
    assert deployments[0]["taskDefinition"].endswith("web:1")


def test_usage_under_a_revision_key_is_refused():
    import pytest

    from ecssim.usage import parse_usage

    with pytest.raises(ValueError, match="usage is modelled per family"):
        Simulation(behaviors={"web:2": TaskBehavior(cpu_usage=parse_usage(0.5))})


def test_a_malformed_circuit_breaker_is_refused_as_boto3_would():
    import pytest

    from ecssim.control.client import ParamValidationError

    sim = _sim()
    register(sim, "web", memory=256, cpu=64)
    bad = {"deploymentCircuitBreaker": {"enable": "yes"}}
    with pytest.raises(ParamValidationError) as err:
        sim.ecs.create_service(
            cluster="prod",
            serviceName="web",
            taskDefinition="web",
            desiredCount=1,
            deploymentConfiguration=bad,
        )
    message = str(err.value)
    assert "deploymentConfiguration.deploymentCircuitBreaker.enable, value: yes" in message
    assert (
        'Missing required parameter in deploymentConfiguration.deploymentCircuitBreaker: "rollback"'
        in message
    )
