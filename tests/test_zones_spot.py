"""Availability Zone outages and rebalancing; EC2 Spot interruptions and Spot draining."""

from __future__ import annotations

import copy

import pytest

import ecssim

WEB = {
    "family": "web",
    "containerDefinitions": [{"name": "web", "image": "nginx", "cpu": 1024, "memory": 1024}],
}
ZONES = ["us-east-1a", "us-east-1b", "us-east-1c"]


def _outage_doc(**service) -> dict:
    return {
        "version": 1,
        "duration": "3h",
        "seed": 11,
        "clusters": [{"clusterName": "prod"}],
        "instances": [{"cluster": "prod", "instance_type": "m5.large", "count": 9, "zones": ZONES}],
        "task_definitions": [WEB],
        "services": [
            {
                "cluster": "prod",
                "serviceName": "web",
                "taskDefinition": "web",
                "desiredCount": 12,
                **service,
            }
        ],
        "faults": [{"az_outage": {"zone": "us-east-1a", "at": "1h", "duration": "1h"}}],
    }


def _per_zone(result: ecssim.Result, t: float) -> dict[str, int]:
    tasks = result.tasks
    alive = tasks[
        (tasks.service == "web") & (tasks.started_at <= t) & ~(tasks.desired_stopped_at <= t)
    ]
    counts = alive.availability_zone.value_counts()
    return {zone: int(counts.get(zone, 0)) for zone in ZONES}


def test_az_outage_recovers_in_surviving_zones_then_rebalances():
    result = ecssim.run(_outage_doc())
    assert result.meta["error"] is None
    assert _per_zone(result, 3599) == {"us-east-1a": 4, "us-east-1b": 4, "us-east-1c": 4}
    tasks = result.tasks
    lost = tasks[(tasks.availability_zone == "us-east-1a") & (tasks.desired_stopped_at > 3600)]
    assert len(lost) == 4
    # The containers died with the zone; ECS noticed after instance_lost_after (2 min).
    assert (lost.execution_stopped_at == 3600).all()
    assert (lost.desired_stopped_at == 3720).all()
    assert set(lost.stop_code) == {"TerminationNotice"}
    # Back to desiredCount in the two surviving zones within placement, pull and start time.
    during = _per_zone(result, 3720 + 60)
    assert during["us-east-1a"] == 0 and sum(during.values()) == 12
    # The zone is back at 2h: rebalanced to 4/4/4 by AZ rebalancing.
    assert _per_zone(result, 3 * 3600 - 1) == {"us-east-1a": 4, "us-east-1b": 4, "us-east-1c": 4}
    events = result.events
    rebalancing = events[(events.kind == "az_rebalancing") & (events.t >= 7200)]
    assert len(rebalancing) == 4
    instances = result.instances
    assert (instances.last_status == "ACTIVE").all() and instances.agent_connected.all()


def test_az_rebalancing_disabled_leaves_the_imbalance():
    result = ecssim.run(_outage_doc(availabilityZoneRebalancing="DISABLED"))
    assert _per_zone(result, 3 * 3600 - 1)["us-east-1a"] == 0
    assert "az_rebalancing" not in set(result.events.kind)


def test_az_rebalancing_needs_az_spread_first():
    strategy = [{"type": "spread", "field": "instanceId"}]
    result = ecssim.run(_outage_doc(placementStrategy=strategy))
    assert "az_rebalancing" not in set(result.events.kind)


def _spot_doc(*, draining: bool, fault: bool = True) -> dict:
    doc = {
        "version": 1,
        "duration": "1h",
        "seed": 2,
        "clusters": [{"clusterName": "prod"}],
        "instances": [
            {"cluster": "prod", "instance_type": "m5.large", "count": 3, "zones": ZONES},
            {
                "cluster": "prod",
                "instance_type": "m5.large",
                "count": 3,
                "zones": ZONES,
                "market": "spot",
            },
        ],
        "task_definitions": [WEB],
        "services": [
            {"cluster": "prod", "serviceName": "web", "taskDefinition": "web", "desiredCount": 6}
        ],
        "parameters": {"spot_draining": draining},
    }
    if fault:
        doc["faults"] = [{"spot_interruption": {"cluster": "prod", "at": "20m", "count": 3}}]
    return doc


def test_spot_interruption_without_draining_stops_tasks_at_termination():
    result = ecssim.run(_spot_doc(draining=False))
    instances = result.instances
    spot = instances[instances.market == "spot"]
    assert (spot.last_status == "INACTIVE").all()
    assert (spot.stopped_at == 1200 + 120).all()  # a 2-minute notice
    assert (instances[instances.market == "on-demand"].last_status == "ACTIVE").all()
    tasks = result.tasks
    interrupted = tasks[tasks.stop_code == "SpotInterruption"]
    assert len(interrupted) > 0
    assert (interrupted.desired_stopped_at == 1320).all()
    assert set(interrupted.container_instance) <= set(spot.container_instance)
    running = tasks[(tasks.service == "web") & tasks.stopped_at.isna()]
    assert len(running) == 6  # replaced on the on-demand instances
    assert "instance_draining" not in set(result.events.kind)


def test_spot_draining_replaces_tasks_during_the_notice():
    result = ecssim.run(_spot_doc(draining=True))
    events = result.events
    assert (events[events.kind == "instance_draining"].t == 1200).all()
    tasks = result.tasks
    assert "SpotInterruption" not in set(tasks.stop_code.dropna())
    moved = tasks[(tasks.service == "web") & (tasks.desired_stopped_at >= 1200)]
    assert len(moved) > 0
    assert (moved.desired_stopped_at < 1320).all()
    assert set(moved.stop_code) == {"ServiceSchedulerInitiated"}
    running = tasks[(tasks.service == "web") & tasks.stopped_at.isna()]
    assert len(running) == 6


def test_group_spot_rate_interrupts_only_spot_instances_and_replacements():
    doc = _spot_doc(draining=False, fault=False)
    doc["duration"] = "12h"
    doc["instances"][1]["spot"] = {"rate": "1/h", "replace_after": "1m"}
    result = ecssim.run(doc)
    events = result.events
    notices = events[events.kind == "spot_interruption_notice"]
    assert len(notices) > 12  # about 3 instances x 12 h x 1/h
    instances = result.instances.set_index("container_instance")
    noticed = set(notices.container_instance.dropna())
    assert set(instances.loc[sorted(noticed), "market"]) == {"spot"}
    # Replacements (launched after a termination) are interrupted too.
    assert any(instances.loc[sorted(noticed), "launched_at"] > 0)
    service = result.tasks[(result.tasks.service == "web") & result.tasks.stopped_at.isna()]
    assert len(service) == 6


def test_spot_keys_are_checked():
    doc = _spot_doc(draining=False, fault=False)
    doc["instances"][0]["spot"] = {"rate": "1/h"}
    with pytest.raises(ecssim.errors.ScenarioError, match="spot interruptions need market: spot"):
        ecssim.load_scenario(copy.deepcopy(doc))


def test_zone_down_while_booting_registers_after_it_returns():
    doc = _outage_doc()
    doc["faults"] = [{"az_outage": {"zone": "us-east-1a", "at": "30s", "duration": "10m"}}]
    doc["duration"] = "30m"
    result = ecssim.run(doc)
    instances = result.instances
    zone_a = instances[instances.availability_zone == "us-east-1a"]
    assert (zone_a.registered_at > 630).all()  # booted again after the zone came back
    assert (zone_a.last_status == "ACTIVE").all() and zone_a.agent_connected.all()
    assert _per_zone(result, 30 * 60 - 1) == {"us-east-1a": 4, "us-east-1b": 4, "us-east-1c": 4}
