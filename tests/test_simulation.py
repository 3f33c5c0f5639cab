"""The simulated ECS end to end through the imperative API."""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path

import pytest
from conftest import register, task_id

from ecssim.scenario.loader import load_scenario
from ecssim.simulation import Simulation


def _service_tasks(sim, cluster="prod", service="web", desired="RUNNING"):
    arns = sim.ecs.list_tasks(cluster=cluster, serviceName=service, desiredStatus=desired)[
        "taskArns"
    ]
    if not arns:
        return []
    return sim.ecs.describe_tasks(cluster=cluster, tasks=arns)["tasks"]


def _running(sim, **kw):
    return [t for t in _service_tasks(sim, **kw) if t["lastStatus"] == "RUNNING"]


def _service(sim, name="web"):
    return sim.ecs.describe_services(cluster="prod", services=[name])["services"][0]


def test_service_reaches_desired_count_and_steady_state(sim):
    sim.launch_instances("prod", "m5.large", count=3)
    register(sim, "web", memory=512)
    sim.run(until="4m")  # all three registered (boot <= 180 s)
    sim.ecs.create_service(cluster="prod", serviceName="web", taskDefinition="web", desiredCount=4)
    sim.run(until="10m")
    svc = _service(sim)
    assert svc["runningCount"] == 4 and svc["pendingCount"] == 0
    assert len(_running(sim)) == 4
    messages = [e["message"] for e in svc["events"]]
    assert "(service web) has reached a steady state." in messages
    events = sim.result().events
    assert (events["message"] == "(service web) has reached a steady state.").sum() >= 1
    # Default placement spreads over AZs: 3 zones, 4 tasks -> 2/1/1.
    zones = Counter(t["availabilityZone"] for t in _running(sim))
    assert sorted(zones.values()) == [1, 1, 2]


def test_instance_failure_stops_tasks_and_service_recovers(sim):
    ids = sim.launch_instances("prod", "m5.large", count=3)
    register(sim, "web", memory=512)
    sim.ecs.create_service(cluster="prod", serviceName="web", taskDefinition="web", desiredCount=3)
    sim.run(until="10m")
    victim_task = _running(sim)[0]
    victim_ci = victim_task["containerInstanceArn"]
    ci = sim.ecs.describe_container_instances(cluster="prod", containerInstances=[victim_ci])
    ec2 = ci["containerInstances"][0]["ec2InstanceId"]
    assert ec2 in ids
    on_victim = {t["taskArn"] for t in _running(sim) if t["containerInstanceArn"] == victim_ci}
    t_fail = sim.now
    sim.fail_instance(ec2)
    lost_after = sim.parameters.instance_lost_after
    # Just before ECS notices, the tasks still look alive.
    sim.run(until=t_fail + lost_after - 1)
    still = sim.ecs.describe_tasks(cluster="prod", tasks=list(on_victim))["tasks"]
    assert all(t["lastStatus"] != "STOPPED" for t in still)
    sim.run(until=t_fail + lost_after + 1)
    stopped = sim.ecs.describe_tasks(cluster="prod", tasks=list(on_victim))["tasks"]
    for t in stopped:
        assert t["lastStatus"] == "STOPPED"
        assert t["stopCode"] == "TerminationNotice"
        assert t["stoppedReason"] == f"Host EC2 (instance {ec2}) terminated."
    sim.run(until=t_fail + lost_after + 120)
    svc = _service(sim)
    assert svc["runningCount"] == 3
    running = _running(sim)
    assert len(running) == 3 and all(t["containerInstanceArn"] != victim_ci for t in running)
    frame = sim.result().tasks
    lost = frame[frame.task_arn.isin(on_victim)]
    assert len(lost) == len(on_victim)
    assert (lost.stopped_at - t_fail).round(6).eq(lost_after).all()
    assert (lost.stop_code == "TerminationNotice").all()
    replacements = frame[(frame.service == "web") & (frame.created_at > t_fail)]
    assert len(replacements) >= len(on_victim)
    assert (replacements.created_at >= t_fail + lost_after).all()
    assert replacements.started_at.notna().all()
    assert (replacements.started_at > replacements.created_at).all()
    inst = sim.result().instances.set_index("ec2_instance_id")
    assert inst.loc[ec2, "last_status"] == "INACTIVE"


def test_unplaceable_service_logs_ecs_message(sim):
    sim.launch_instances("prod", "m5.large", count=1)
    register(sim, "huge", memory=20_000, cpu=256)
    sim.ecs.create_service(cluster="prod", serviceName="big", taskDefinition="huge", desiredCount=1)
    sim.run(until="5m")
    ci = sim.ecs.list_container_instances(cluster="prod")["containerInstanceArns"][0]
    ci_id = task_id(ci)
    expected = (
        "(service big) was unable to place a task because no container instance met all of "
        "its requirements. The closest matching (container-instance "
        f"{ci_id}) has insufficient memory available."
    )
    messages = [e["message"] for e in _service(sim, "big")["events"]]
    assert any(m.startswith(expected) for m in messages), messages
    failures = sim.result().failures
    assert (failures.reason == "RESOURCE:MEMORY").any()
    assert (failures.service == "big").all()


def test_run_task_count_above_ten_rejected(sim):
    sim.launch_instances("prod", "m5.large", count=1)
    register(sim, "job")
    sim.run(until="5m")
    with pytest.raises(sim.ecs.exceptions.InvalidParameterException):
        sim.ecs.run_task(cluster="prod", taskDefinition="job", count=11)
    assert len(sim.ecs.run_task(cluster="prod", taskDefinition="job", count=10)["tasks"]) >= 1


def test_run_task_failures_list_resource_memory(sim):
    sim.launch_instances("prod", "m5.large", count=1)  # ~7.6 GiB registered
    register(sim, "job", memory=3000)
    sim.run(until="5m")
    out = sim.ecs.run_task(cluster="prod", taskDefinition="job", count=4)
    assert len(out["tasks"]) == 2
    assert len(out["failures"]) == 2
    assert {f["reason"] for f in out["failures"]} == {"RESOURCE:MEMORY"}
    ci = sim.ecs.list_container_instances(cluster="prod")["containerInstanceArns"][0]
    assert all(f["arn"] == ci for f in out["failures"])
    assert len(sim.result().failures) == 2


def test_run_task_with_no_instances_raises(sim):
    register(sim, "job")
    with pytest.raises(sim.ecs.exceptions.InvalidParameterException):
        sim.ecs.run_task(cluster="prod", taskDefinition="job")
    with pytest.raises(sim.ecs.exceptions.ClusterNotFoundException):
        sim.ecs.run_task(cluster="nope", taskDefinition="job")


def test_stop_task_goes_stopping_then_stopped(sim):
    sim.launch_instances("prod", "m5.large", count=1)
    register(sim, "job")
    sim.run(until="5m")
    arn = sim.ecs.run_task(cluster="prod", taskDefinition="job")["tasks"][0]["taskArn"]
    sim.run(until="8m")
    assert (
        sim.ecs.describe_tasks(cluster="prod", tasks=[arn])["tasks"][0]["lastStatus"] == "RUNNING"
    )
    out = sim.ecs.stop_task(cluster="prod", task=arn, reason="bye")
    assert out["task"]["desiredStatus"] == "STOPPED"
    assert out["task"]["lastStatus"] == "STOPPING"
    assert out["task"]["stopCode"] == "UserInitiated"
    sim.run(until="10m")
    t = sim.ecs.describe_tasks(cluster="prod", tasks=[arn])["tasks"][0]
    assert t["lastStatus"] == "STOPPED" and t["stoppedReason"] == "bye"
    assert t["stoppingAt"] <= t["executionStoppedAt"] <= t["stoppedAt"]
    row = sim.result().tasks.set_index("task_arn").loc[arn]
    assert row.stop_code == "UserInitiated"
    assert row.started_at <= row.stopping_at <= row.execution_stopped_at <= row.stopped_at
    assert row.stopping_at == 480.0


def test_agent_fifo_keeps_new_task_pending_until_old_one_stops():
    params_sim = Simulation(seed=3)
    ecs = params_sim.ecs
    ecs.create_cluster(clusterName="prod")
    params_sim.launch_instances("prod", "m5.large", count=1)
    # stopTimeout long and a slow container stop: the old task stays STOPPING for a while.
    register(params_sim, "big", memory=6000)  # only one fits on an m5.large
    params_sim.run(until="5m")
    old = ecs.run_task(cluster="prod", taskDefinition="big")["tasks"][0]["taskArn"]
    params_sim.run(until="8m")
    ecs.stop_task(cluster="prod", task=old)
    # The control plane released the reservation at the stop request: the new task is placed.
    out = ecs.run_task(cluster="prod", taskDefinition="big")
    assert not out["failures"]
    new = out["tasks"][0]["taskArn"]
    t_old = ecs.describe_tasks(cluster="prod", tasks=[old])["tasks"][0]
    assert t_old["lastStatus"] == "STOPPING"
    params_sim.run(until=params_sim.now + 0.5)
    t_new = ecs.describe_tasks(cluster="prod", tasks=[new])["tasks"][0]
    assert t_new["lastStatus"] == "PENDING"
    assert "pullStartedAt" not in t_new
    params_sim.run(until="15m")
    frame = params_sim.result().tasks.set_index("task_arn")
    assert frame.loc[new, "last_status"] == "RUNNING"
    # Admitted only once the old task's containers had exited.
    assert frame.loc[new, "pull_started_at"] >= frame.loc[old, "execution_stopped_at"]
    assert frame.loc[old, "execution_stopped_at"] > frame.loc[old, "stopping_at"]


def test_agent_fifo_a_task_that_fits_waits_behind_one_that_does_not():
    # ECS-SEMANTICS, simulator checklist 13: the agent admits its queue's head only (FIFO).
    sim = Simulation(seed=3)
    ecs = sim.ecs
    ecs.create_cluster(clusterName="prod")
    sim.launch_instances("prod", "m5.large", count=1)  # 7,680 MiB
    register(sim, "big", memory=6000)
    register(sim, "small", memory=1000)
    sim.run(until="5m")
    old = ecs.run_task(cluster="prod", taskDefinition="big")["tasks"][0]["taskArn"]
    sim.run(until="8m")
    ecs.stop_task(cluster="prod", task=old)  # STOPPING: its memory is still held on the host
    head = ecs.run_task(cluster="prod", taskDefinition="big")["tasks"][0]["taskArn"]
    behind = ecs.run_task(cluster="prod", taskDefinition="small")["tasks"][0]["taskArn"]
    sim.run(until=sim.now + 0.5)
    statuses = {
        t["taskArn"]: t["lastStatus"]
        for t in ecs.describe_tasks(cluster="prod", tasks=[head, behind])["tasks"]
    }
    # 1,680 MiB are free on the host: enough for the small task, which still waits.
    assert statuses == {head: "PENDING", behind: "PENDING"}
    sim.run(until="15m")
    frame = sim.result().tasks.set_index("task_arn")
    freed = frame.loc[old, "execution_stopped_at"]
    assert frame.loc[head, "pull_started_at"] >= freed
    assert frame.loc[behind, "pull_started_at"] >= frame.loc[head, "pull_started_at"]
    assert (frame.loc[[head, behind], "last_status"] == "RUNNING").all()


def test_crashing_service_task_is_replaced(sim):
    sim.launch_instances("prod", "m5.large", count=2)
    register(sim, "web")
    sim.set_behavior("web", crash_mtbf="10m")
    sim.ecs.create_service(cluster="prod", serviceName="web", taskDefinition="web", desiredCount=2)
    sim.run(until="2h")
    frame = sim.result().tasks
    crashed = frame[frame.stop_code == "EssentialContainerExited"]
    assert len(crashed) >= 2
    assert (crashed.exit_code == 1).all()
    assert crashed.stopped_reason.str.startswith("Essential container in task exited").all()
    assert (crashed.stopping_at >= crashed.started_at).all()
    # Each crash is followed by a replacement: tasks created > crashes + initial.
    assert len(frame) >= len(crashed) + 2
    alive = frame[frame.stopped_at.isna()]
    assert len(alive) == 2
    events = sim.result().events
    assert events.message.str.contains("task .* stopped: Essential container", regex=True).any()


def test_scale_in_keeps_azs_balanced(sim):
    sim.launch_instances("prod", "m5.large", count=6)  # 2 per zone
    register(sim, "web", memory=256)
    sim.run(until="4m")
    sim.ecs.create_service(cluster="prod", serviceName="web", taskDefinition="web", desiredCount=9)
    sim.run(until="10m")
    assert Counter(t["availabilityZone"] for t in _running(sim)) == Counter(
        {"us-east-1a": 3, "us-east-1b": 3, "us-east-1c": 3}
    )
    sim.ecs.update_service(cluster="prod", service="web", desiredCount=6)
    sim.run(until="12m")
    running = _running(sim)
    assert len(running) == 6
    zones = Counter(t["availabilityZone"] for t in running)
    assert max(zones.values()) - min(zones.values()) <= 1, zones
    frame = sim.result().tasks
    assert (frame.stop_code == "ServiceSchedulerInitiated").sum() == 3


def test_update_service_new_revision_replaces_all_tasks(sim):
    sim.launch_instances("prod", "m5.large", count=3)
    register(sim, "web", memory=512)
    sim.ecs.create_service(cluster="prod", serviceName="web", taskDefinition="web", desiredCount=3)
    sim.run(until="10m")
    v2 = register(sim, "web", memory=600)
    assert v2["revision"] == 2
    sim.ecs.update_service(cluster="prod", service="web", taskDefinition="web:2")
    sim.run(until="30m")
    running = _running(sim)
    assert len(running) == 3
    assert all(t["taskDefinitionArn"].endswith("task-definition/web:2") for t in running)
    frame = sim.result().tasks
    # Revision-1 tasks alive at the update (AZ rebalancing may have moved some before it).
    old = frame[(frame.revision == 1) & (frame.desired_stopped_at >= 600)]
    assert len(old) == 3 and old.stopped_at.notna().all()
    assert (old.stop_code == "ServiceSchedulerInitiated").all()
    assert _service(sim)["taskDefinition"].endswith("web:2")


def test_awsvpc_tasks_use_eni_slots_and_provision(sim):
    sim.launch_instances("prod", "m5.large", count=1)  # 3 ENIs: 2 awsvpc slots
    register(sim, "net", memory=256, networkMode="awsvpc")
    sim.run(until="5m")
    out = sim.ecs.run_task(cluster="prod", taskDefinition="net", count=3)
    assert len(out["tasks"]) == 2
    assert [f["reason"] for f in out["failures"]] == ["RESOURCE:ENI"]
    assert all(t["lastStatus"] == "PROVISIONING" for t in out["tasks"])
    sim.run(until="8m")
    arns = [t["taskArn"] for t in out["tasks"]]
    assert all(
        t["lastStatus"] == "RUNNING"
        for t in sim.ecs.describe_tasks(cluster="prod", tasks=arns)["tasks"]
    )
    sim.ecs.stop_task(cluster="prod", task=arns[0])
    seen = set()
    for _ in range(200):
        sim.run(until=sim.now + 0.25)
        seen.add(sim.ecs.describe_tasks(cluster="prod", tasks=[arns[0]])["tasks"][0]["lastStatus"])
    assert "DEPROVISIONING" in seen and "STOPPED" in seen
    # The slot is free again.
    again = sim.ecs.run_task(cluster="prod", taskDefinition="net")
    assert len(again["tasks"]) == 1 and not again["failures"]


def test_started_tasks_have_consistent_times(sim):
    sim.launch_instances("prod", "m5.large", count=1)
    register(sim, "job")
    sim.set_behavior("job", runtime="90s")
    sim.run(until="5m")
    arn = sim.ecs.run_task(cluster="prod", taskDefinition="job")["tasks"][0]["taskArn"]
    sim.run(until="15m")
    row = sim.result().tasks.set_index("task_arn").loc[arn]
    assert row.stop_code == "EssentialContainerExited" and row.exit_code == 0
    assert math.isclose(row.stopping_at - row.started_at, 90.0)
    assert row.created_at == 300.0


def test_scale_in_of_several_tasks_keeps_azs_balanced_one_instance_per_zone():
    for seed in range(8):
        sim = Simulation(seed=seed)
        sim.ecs.create_cluster(clusterName="prod")
        sim.launch_instances("prod", "m5.large", count=3)
        register(sim, "web", memory=256)
        sim.run(until="4m")
        sim.ecs.create_service(
            cluster="prod", serviceName="web", taskDefinition="web", desiredCount=9
        )
        sim.run(until="10m")
        sim.ecs.update_service(cluster="prod", service="web", desiredCount=6)
        sim.run(until="12m")
        zones = Counter(t["availabilityZone"] for t in _running(sim))
        assert sum(zones.values()) == 6
        assert max(zones.values()) - min(zones.values()) <= 1, (seed, zones)


def test_explained_placements_name_the_task_they_placed():
    sim = Simulation(seed=5, explain=True)
    sim.ecs.create_cluster(clusterName="prod")
    sim.launch_instances("prod", "m5.large", count=2)
    sim.ecs.register_task_definition(
        family="web", containerDefinitions=[{"name": "w", "image": "w", "memory": 512}]
    )
    sim.run(until="5m")
    out = sim.ecs.run_task(cluster="prod", taskDefinition="web", count=3)
    placements = sim.result().placements
    assert placements is not None
    placed = placements[placements["container_instance"].notna()]
    assert sorted(placed["task_arn"]) == sorted(t["taskArn"] for t in out["tasks"])


@pytest.mark.parametrize(
    "name", ["quickstart", "az-outage", "rolling-deployment", "daemon-and-draining", "draining"]
)
def test_a_run_leaves_no_cyclic_garbage_so_pausing_the_collector_is_safe(name: str) -> None:
    # Simulation.run pauses Python's cyclic garbage collector (ecssim.gcpause.cyclic_gc_paused).
    # That only costs no memory while the model frees everything it drops by reference
    # counting: a reference cycle made per task or per event would pile up during a run.
    import gc

    from ecssim.scenario.loader import load_scenario

    scenario = load_scenario(Path(__file__).resolve().parent.parent / "scenarios" / f"{name}.yaml")
    sim = Simulation.from_scenario(scenario)
    gc.collect()
    assert gc.isenabled()
    sim.run(until=scenario.duration_s)
    assert gc.isenabled()  # restored
    assert gc.collect() == 0


def test_launching_instances_pauses_the_collector_and_restores_it() -> None:
    # ControlPlane.launch_instances allocates thousands of objects that all stay (P7).
    import gc

    seen = []
    sim = Simulation(seed=1)
    sim.ecs.create_cluster(clusterName="prod")
    sim.control.launch_hooks.append(lambda instance: seen.append(gc.isenabled()))
    assert gc.isenabled()
    sim.launch_instances("prod", "m5.large", count=3)
    assert seen == [False, False, False]  # paused while each instance was made
    assert gc.isenabled()  # and restored
    gc.disable()
    try:
        sim.launch_instances("prod", "m5.large", count=1)
        assert not gc.isenabled()  # a paused collector stays paused
    finally:
        gc.enable()


def test_many_runs_in_one_process_do_not_pile_up_cyclic_garbage() -> None:
    # A dropped Simulation holds reference cycles (agents, control plane, environment), freed
    # only by the collector's full collections. Pausing the collector during runs must leave
    # them due: handing the run's objects to the oldest generation unscanned (gc.freeze +
    # gc.unfreeze) kept full collections from ever coming, about 750 objects per run here.
    import gc

    scenario = load_scenario(
        Path(__file__).resolve().parent.parent / "scenarios" / "quickstart.yaml"
    )
    gc.collect()
    for _ in range(20):
        sim = Simulation.from_scenario(scenario)
        sim.run(until="2h")
        sim.result()
        del sim
    assert gc.collect() < 5_000


def test_the_clock_the_lifecycle_reads_is_simpys_own_and_a_float_from_the_start(sim):
    # The lifecycle's steps read ``env._now``, the attribute behind SimPy's ``now`` property
    # (ControlPlane.now), so it must be SimPy's clock and a float even at time 0.
    assert type(sim.env._now) is float and sim.env._now == sim.env.now == 0.0
    sim.launch_instances("prod", "m5.large", count=1)
    register(sim, "job")
    sim.set_behavior("job", runtime="90s")
    sim.run(until="5m")
    assert sim.env._now == sim.env.now == 300.0
    arn = sim.ecs.run_task(cluster="prod", taskDefinition="job")["tasks"][0]["taskArn"]
    task = sim.control.clusters["prod"].tasks[task_id(arn)]  # held: dropped as it stops
    sim.run(until="15m")
    times = (task.created_at, task.started_at, task.stopping_at, task.stopped_at)
    assert all(type(t) is float for t in times) and times[0] == 300.0
    assert times[0] < times[1] < times[2] <= times[3] < 900.0
