"""Usage models: parsing, levels, and the cpu_used / memory_used / utilization series."""

from __future__ import annotations

import math

import numpy as np
import pytest

import ecssim
from ecssim.simulation import Simulation
from ecssim.usage import Constant, Diurnal, RandomWalk, parse_usage


def test_parse_usage_forms():
    assert parse_usage(0.4) == Constant(0.4)
    assert parse_usage({"constant": 0.25}) == Constant(0.25)
    assert parse_usage({"diurnal": {"mean": 0.4, "amplitude": 0.3}}) == Diurnal(
        0.4, 0.3, 86400.0, 50400.0
    )
    assert parse_usage({"random_walk": {"mean": 0.5, "sigma": 0.1}}) == RandomWalk(0.5, 0.1)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("high", "usage: expected a number, got 'high'"),
        (-0.1, "usage: expected a number >= 0, got -0.1"),
        (
            {"sine": {"mean": 1}},
            "unknown usage model 'sine'; known: constant, diurnal, random_walk",
        ),
        ({"diurnal": {"amplitude": 0.1}}, "diurnal: missing mean"),
        ({"diurnal": {"mean": 0.1, "phase": 2}}, "diurnal: unknown phase"),
        ({"random_walk": {"mean": 2.0}}, "random_walk: expected low <= mean <= high"),
    ],
)
def test_parse_usage_errors(value, message):
    with pytest.raises(ValueError, match="^" + message.replace("(", r"\(").replace(")", r"\)")):
        parse_usage(value)


def test_diurnal_peaks_at_peak_time_and_bottoms_half_a_period_later():
    model = Diurnal(0.4, 0.3, 86400.0, 14 * 3600.0)
    rng = np.random.default_rng(0)
    assert model.level(14 * 3600.0, rng) == pytest.approx(0.7)
    assert model.level(2 * 3600.0, rng) == pytest.approx(0.1)
    assert model.level(14 * 3600.0 + 86400.0, rng) == pytest.approx(0.7)


def test_random_walk_stays_in_bounds():
    walk = RandomWalk(0.5, 0.4, 0.2, 0.9)
    rng = np.random.default_rng(1)
    levels = [walk.level(float(t), rng) for t in range(500)]
    assert min(levels) >= 0.2 and max(levels) <= 0.9
    assert len(set(levels)) > 100  # it moves


def _sim(cpu_usage, memory_usage=None):
    sim = Simulation(seed=3)
    ecs = sim.ecs
    ecs.create_cluster(clusterName="prod")
    sim.launch_instances("prod", "m5.large", count=2)
    ecs.register_task_definition(
        family="web",
        containerDefinitions=[{"name": "web", "image": "nginx", "cpu": 512, "memory": 1024}],
    )
    sim.set_behavior("web", cpu_usage=cpu_usage, memory_usage=memory_usage)
    sim.run(until="5m")
    ecs.create_service(cluster="prod", serviceName="web", taskDefinition="web", desiredCount=3)
    return sim


def test_constant_usage_gives_used_equal_to_level_times_running_reservation():
    sim = _sim(0.5, 0.25)
    sim.run(until="1h")
    series = sim.result().series
    late = series[series["t"] > 1800]
    cluster_cpu = late[(late["metric"] == "cpu_used") & late["service"].isna()]["value"]
    assert (cluster_cpu == 0.5 * 3 * 512).all() and len(cluster_cpu) >= 29
    cluster_memory = late[(late["metric"] == "memory_used") & late["service"].isna()]["value"]
    assert (cluster_memory == 0.25 * 3 * 1024).all()
    utilization = late[(late["metric"] == "cpu_utilization") & (late["service"] == "web")]
    assert (utilization["value"] == 0.5).all()


def test_samples_every_metrics_interval_and_stop_with_the_run():
    sim = _sim({"diurnal": {"mean": 0.4, "amplitude": 0.2}})
    sim.run(until="2h")
    series = sim.result().series
    times = series[(series["metric"] == "cpu_used") & series["service"].isna()]["t"].to_numpy()
    assert np.allclose(np.diff(times), 60.0)
    assert times[-1] <= 7200.0
    sim.run(until="3h")  # the sampler starts again with the next run
    series = sim.result().series
    times = series[(series["metric"] == "cpu_used") & series["service"].isna()]["t"].to_numpy()
    assert times[-1] > 7200.0 and np.allclose(np.diff(times), 60.0)


def test_a_run_without_end_time_still_ends_with_usage_modelled():
    sim = Simulation(seed=1)
    sim.ecs.create_cluster(clusterName="prod")
    sim.launch_instances("prod", "m5.large", count=1)
    sim.ecs.register_task_definition(
        family="job", containerDefinitions=[{"name": "j", "image": "j", "cpu": 256, "memory": 256}]
    )
    sim.set_behavior("job", runtime="10m", cpu_usage=0.3)
    sim.run(until="4m")
    sim.ecs.run_task(cluster="prod", taskDefinition="job")
    sim.run()  # must terminate
    assert math.isfinite(sim.now) and sim.now < 3600


def test_summary_reports_utilization_when_usage_is_modelled(tmp_path):
    scenario = {
        "version": 1,
        "duration": "3h",
        "clusters": [{"clusterName": "prod"}],
        "instances": [{"cluster": "prod", "instance_type": "m5.large", "count": 2}],
        "task_definitions": [
            {
                "family": "web",
                "containerDefinitions": [
                    {"name": "web", "image": "nginx", "cpu": 1024, "memory": 2048}
                ],
            }
        ],
        "services": [
            {"cluster": "prod", "serviceName": "web", "taskDefinition": "web", "desiredCount": 2}
        ],
        "task_behavior": {"web": {"cpu_usage": 0.5}},
    }
    summary = ecssim.run(scenario).summary().set_index(["scope", "figure"])["value"]
    assert summary[("service", "cpu_utilization_mean")] == pytest.approx(0.5)
    # 2 tasks x 1024 of 2 x 2048 registered CPU, at 50 %: 25 % once both run.
    assert summary[("cluster", "cpu_utilization_peak")] == pytest.approx(0.25)
    assert 0.2 < summary[("cluster", "cpu_utilization_mean")] <= 0.25
    no_usage = dict(scenario, task_behavior={})
    figures = ecssim.run(no_usage).summary()["figure"]
    assert "cpu_utilization_mean" not in set(figures)
