"""Scenario documents for the scale figures (P6-P8), as plain dicts."""

from __future__ import annotations

from typing import Any

ZONES = ["us-east-1a", "us-east-1b", "us-east-1c"]


def churn_scenario(
    instances: int = 1000, tasks_per_instance: int = 30, hours: float = 6.0
) -> dict[str, Any]:
    """P8: ``instances`` m5.large running ``tasks_per_instance`` service tasks each, with churn.

    Ten services share the tasks (64 CPU units, 256 MiB each, so 30 fit on an m5.large by
    memory). Tasks crash with a 24 h MTBF and are replaced; every instance fails with a 30-day
    MTBF and is replaced 5 minutes later; a standalone batch workload adds short tasks.
    """
    services = 10
    per_service = instances * tasks_per_instance // services
    return {
        "version": 1,
        "name": "p8-churn",
        "description": "P8: 1,000 instances x 30 service tasks with crashes and instance failures.",
        "seed": 8,
        "duration": f"{hours}h",
        "clusters": [{"clusterName": "prod"}],
        "instances": [
            {"cluster": "prod", "instance_type": "m5.large", "count": instances, "zones": ZONES}
        ],
        "task_definitions": [
            {
                "family": "svc",
                "containerDefinitions": [
                    {"name": "app", "image": "app:1", "cpu": 64, "memoryReservation": 240}
                ],
            },
            {
                "family": "batch",
                "containerDefinitions": [
                    {"name": "job", "image": "job:1", "cpu": 64, "memory": 240}
                ],
            },
        ],
        "services": [
            {
                "cluster": "prod",
                "serviceName": f"svc-{i}",
                "taskDefinition": "svc",
                "desiredCount": per_service,
            }
            for i in range(services)
        ],
        "task_behavior": {
            "svc": {"runtime": "forever", "crash": {"mtbf": "24h"}},
            "batch": {"runtime": {"exponential": {"mean": "10m"}}},
        },
        "workloads": [
            {"cluster": "prod", "taskDefinition": "batch", "arrivals": {"poisson": {"rate": "1/s"}}}
        ],
        "faults": [{"instance_failure": {"cluster": "prod", "mtbf": "30d", "replace_after": "5m"}}],
    }
