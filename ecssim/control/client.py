"""The in-process ECS client: boto3's method names, request and response shapes.

``sim.ecs`` speaks the ECS API so that code written against boto3 reads the same against the
simulator. Requests use the API's camelCase keyword arguments; responses are dicts shaped as
botocore's ECS model says (timestamps are ``datetime`` objects, counted from
:data:`SIM_EPOCH` at simulated time 0). Errors raise exceptions named like boto3's, reachable as
``sim.ecs.exceptions.ClusterNotFoundException`` and so on.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any

from ecssim.control.plane import (
    ControlPlane,
    ControlPlaneError,
    constraints_from,
    strategies_from,
)
from ecssim.control.records import (
    ClusterRecord,
    Deployment,
    InstanceRecord,
    ServiceRecord,
    StoppedTask,
    Task,
    arn,
)
from ecssim.errors import EcssimError, InputError
from ecssim.model.enums import InstanceStatus, StopCode, TaskStatus
from ecssim.model.taskdef import TaskDefinition, parse_task_definition
from ecssim.placement.query import QueryError, parse_expression
from ecssim.placement.strategies import validate_strategy
from ecssim.scenario.ecs_requests import SHAPES
from ecssim.state import AGENT_VERSION, SIM_EPOCH

#: Wall-clock time that simulated time 0 maps to in API responses.


class ClientError(EcssimError):
    """Base of the errors the client raises; ``code`` is the ECS error code."""

    code = "ClientError"

    def __init__(self, message: str) -> None:
        super().__init__(f"An error occurred ({self.code}): {message}")
        self.message = message


class ParamValidationError(EcssimError, ValueError):
    """A request that does not match botocore's input shape (boto3 checks it client-side)."""

    def __init__(self, report: str) -> None:
        super().__init__(f"Parameter validation failed:\n{report}")
        self.report = report


def _error_class(code: str) -> type[ClientError]:
    return type(code, (ClientError,), {"code": code, "__doc__": f"ECS ``{code}``."})


ClientException = _error_class("ClientException")
InvalidParameterException = _error_class("InvalidParameterException")
ClusterNotFoundException = _error_class("ClusterNotFoundException")
ServiceNotFoundException = _error_class("ServiceNotFoundException")
ServiceNotActiveException = _error_class("ServiceNotActiveException")
ServerException = _error_class("ServerException")

_ERRORS = {
    cls.code: cls
    for cls in (
        ClientException,
        InvalidParameterException,
        ClusterNotFoundException,
        ServiceNotFoundException,
        ServiceNotActiveException,
        ServerException,
    )
}


def _ts(t: float) -> datetime | None:
    return None if math.isnan(t) else SIM_EPOCH + timedelta(seconds=t)


def _drop_none(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}


class ECSClient:
    """boto3-compatible ECS client over a :class:`ControlPlane`."""

    def __init__(self, control: ControlPlane) -> None:
        self._control = control
        self.exceptions = SimpleNamespace(**_ERRORS)

    @staticmethod
    def _validate(shape: str, request: dict[str, Any]) -> None:
        """Check a request's keys against botocore's input shape, as boto3 does before sending.

        Unknown and missing keys are reported together, in botocore's words.
        """
        members = SHAPES[shape]
        problems = [
            f'Unknown parameter in input: "{key}", must be one of: ' + ", ".join(members.members)
            for key in request
            if key not in members.members
        ]
        problems += [
            f'Missing required parameter in input: "{key}"'
            for key in members.required
            if request.get(key) is None
        ]
        if problems:
            raise ParamValidationError("\n".join(problems))

    @staticmethod
    def _validate_deployment_configuration(config: Any) -> None:
        """Check the members ecssim acts on, in botocore's words (boto3 checks them too)."""
        if config is None:
            return
        where = "deploymentConfiguration"
        problems = []
        kinds = {"maximumPercent": int, "minimumHealthyPercent": int}
        for key, kind in kinds.items():
            value = config.get(key)
            if value is not None and (not isinstance(value, kind) or isinstance(value, bool)):
                problems.append(
                    f"Invalid type for parameter {where}.{key}, value: {value}, type: "
                    f"{type(value)}, valid types: <class 'int'>"
                )
        breaker = config.get("deploymentCircuitBreaker")
        if breaker is not None:
            for key in ("enable", "rollback"):
                if key not in breaker:
                    problems.append(
                        f'Missing required parameter in {where}.deploymentCircuitBreaker: "{key}"'
                    )
                elif not isinstance(breaker[key], bool):
                    problems.append(
                        f"Invalid type for parameter {where}.deploymentCircuitBreaker.{key}, "
                        f"value: {breaker[key]}, type: {type(breaker[key])}, valid types: "
                        "<class 'bool'>"
                    )
        if problems:
            raise ParamValidationError("\n".join(problems))

    # -- plumbing ----------------------------------------------------------------------------------
    def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except ControlPlaneError as err:
            raise _ERRORS.get(err.code, ClientException)(str(err)) from None

    def _cluster(self, name: str | None) -> ClusterRecord:
        return self._call(self._control.cluster, name)

    def _definition(self, reference: str) -> TaskDefinition:
        return self._call(self._control.task_definition, reference)

    def _tasks(
        self, cluster: ClusterRecord, references: list[str]
    ) -> list[Task | StoppedTask | None]:
        """Each referenced task of ``cluster``: live, else STOPPED and still visible, else None.

        The STOPPED ones are read back from their rows in one pass for all of them.
        """
        ids = [reference.rsplit("/", 1)[-1] for reference in references]
        live = cluster.tasks
        stopped = self._control.stopped_tasks(cluster, [i for i in ids if i not in live])
        return [live.get(task_id) or stopped.get(task_id) for task_id in ids]

    def _instance(self, cluster: ClusterRecord, reference: str) -> InstanceRecord:
        key = reference.rsplit("/", 1)[-1]
        for instance in cluster.instances:
            if key in (instance.id, instance.ec2_instance_id):
                return instance
        raise InvalidParameterException("The referenced container instance was not found.")

    @staticmethod
    def _placement(kwargs: dict[str, Any]) -> tuple[Any, Any]:
        strategy = kwargs.get("placementStrategy") or []
        constraints = kwargs.get("placementConstraints") or []
        if len(strategy) > 5:
            raise InvalidParameterException("The number of placement strategies exceeds 5.")
        if len(constraints) > 10:
            raise InvalidParameterException("The number of placement constraints exceeds 10.")
        for item in strategy:
            try:
                validate_strategy(item.get("type"), item.get("field"))
            except ValueError as err:
                raise InvalidParameterException(str(err)) from None
        try:
            return strategies_from(strategy), constraints_from(constraints)
        except QueryError as err:
            raise InvalidParameterException(f"Invalid constraint expression: {err}") from None

    # -- clusters ----------------------------------------------------------------------------------
    def create_cluster(self, clusterName: str = "default", **_ignored: Any) -> dict[str, Any]:
        """CreateCluster."""
        cluster = self._control.create_cluster(clusterName)
        return {"cluster": self._describe_cluster(cluster)}

    def describe_clusters(self, clusters: list[str] | None = None, **_: Any) -> dict[str, Any]:
        """DescribeClusters."""
        found, failures = [], []
        for name in clusters or ["default"]:
            try:
                found.append(self._describe_cluster(self._control.cluster(name)))
            except ControlPlaneError:
                failures.append({"arn": arn("cluster", name), "reason": "MISSING"})
        return {"clusters": found, "failures": failures}

    def _describe_cluster(self, cluster: ClusterRecord) -> dict[str, Any]:
        state = cluster.state
        # Registered: ACTIVE or DRAINING (INACTIVE ones are deregistered or gone).
        active = (state.status == int(InstanceStatus.ACTIVE)) | (
            state.status == int(InstanceStatus.DRAINING)
        )
        running = sum(1 for t in cluster.tasks.values() if t.last_status == TaskStatus.RUNNING)
        pending = sum(1 for t in cluster.tasks.values() if t.last_status < TaskStatus.RUNNING)
        return {
            "clusterArn": cluster.arn,
            "clusterName": cluster.name,
            "status": "ACTIVE",
            "registeredContainerInstancesCount": int(active.sum()),
            "runningTasksCount": running,
            "pendingTasksCount": pending,
            "activeServicesCount": sum(
                1 for s in cluster.services.values() if s.status == "ACTIVE"
            ),
        }

    # -- task definitions --------------------------------------------------------------------------
    def register_task_definition(self, **request: Any) -> dict[str, Any]:
        """RegisterTaskDefinition (same keyword arguments as boto3)."""
        try:
            definition = parse_task_definition(request)
        except InputError as err:
            raise ClientException(str(err).removeprefix("ClientException: ")) from None
        registered = self._control.register_task_definition(definition)
        return {
            "taskDefinition": self._describe_definition(registered),
            "tags": list(registered.request.get("tags", [])),
        }

    def describe_task_definition(
        self, taskDefinition: str, include: list[str] | None = None, **_: Any
    ) -> dict[str, Any]:
        """DescribeTaskDefinition (the tags only with ``include=["TAGS"]``, as on ECS)."""
        definition = self._definition(taskDefinition)
        tags = list(definition.request.get("tags", [])) if "TAGS" in (include or []) else []
        return {"taskDefinition": self._describe_definition(definition), "tags": tags}

    def deregister_task_definition(self, taskDefinition: str) -> dict[str, Any]:
        """DeregisterTaskDefinition: the revision stays describable with status INACTIVE."""
        definition = self._definition(taskDefinition)
        out = self._describe_definition(definition)
        out["status"] = "INACTIVE"
        return {"taskDefinition": out}

    def _describe_definition(self, definition: TaskDefinition) -> dict[str, Any]:
        # BC TaskDefinition has no tags: ECS returns them beside it, not inside.
        out = {k: v for k, v in definition.request.items() if k != "tags"}
        out.update(
            taskDefinitionArn=arn("task-definition", f"{definition.family}:{definition.revision}"),
            revision=definition.revision,
            status="ACTIVE",
            compatibilities=list(definition.compatibilities),
            requiresAttributes=[],
            registeredAt=SIM_EPOCH,
        )
        return out

    # -- tasks -------------------------------------------------------------------------------------
    def run_task(self, taskDefinition: str, **kwargs: Any) -> dict[str, Any]:
        """RunTask: up to 10 tasks placed by the placement engine."""
        self._validate("RunTaskRequest", {"taskDefinition": taskDefinition, **kwargs})
        count = kwargs.get("count", 1)
        if not isinstance(count, int) or not 1 <= count <= 10:
            raise InvalidParameterException("count must be between 1 and 10.")
        cluster = self._cluster(kwargs.get("cluster"))
        definition = self._definition(taskDefinition)
        strategies, constraints = self._placement(kwargs)
        tasks, failures = self._call(
            self._control.run_task,
            cluster.name,
            definition,
            count=count,
            group=kwargs.get("group"),
            strategies=strategies,
            constraints=constraints,
            started_by=kwargs.get("startedBy"),
        )
        return {"tasks": [self._describe_task(t) for t in tasks], "failures": failures}

    def start_task(
        self, taskDefinition: str, containerInstances: list[str], **kwargs: Any
    ) -> dict[str, Any]:
        """StartTask: one task on each named container instance (at most 10)."""
        self._validate(
            "StartTaskRequest",
            {"taskDefinition": taskDefinition, "containerInstances": containerInstances, **kwargs},
        )
        if not 1 <= len(containerInstances) <= 10:
            raise InvalidParameterException("containerInstances must hold 1 to 10 instances.")
        cluster = self._cluster(kwargs.get("cluster"))
        definition = self._definition(taskDefinition)
        instances = [self._instance(cluster, ref) for ref in containerInstances]
        tasks, failures = self._call(
            self._control.start_task,
            cluster.name,
            definition,
            instances,
            group=kwargs.get("group"),
            started_by=kwargs.get("startedBy"),
        )
        return {"tasks": [self._describe_task(t) for t in tasks], "failures": failures}

    def stop_task(self, task: str, cluster: str | None = None, reason: str = "") -> dict[str, Any]:
        """StopTask."""
        (record,) = self._tasks(self._cluster(cluster), [task])
        if record is None:
            raise InvalidParameterException("The referenced task was not found.")
        if isinstance(record, Task):  # a STOPPED one is described as it is
            self._control.stop_task(
                record, code=StopCode.USER_INITIATED, reason=reason or "Task stopped by user"
            )
        return {"task": self._describe_task(record)}

    def describe_tasks(
        self, tasks: list[str], cluster: str | None = None, **_: Any
    ) -> dict[str, Any]:
        """DescribeTasks (STOPPED tasks stay describable for ``deregistered_visible``)."""
        found, failures = [], []
        for reference, task in zip(tasks, self._tasks(self._cluster(cluster), tasks), strict=True):
            if task is None:
                failures.append({"arn": reference, "reason": "MISSING"})
            else:
                found.append(self._describe_task(task))
        return {"tasks": found, "failures": failures}

    def list_tasks(self, cluster: str | None = None, **kwargs: Any) -> dict[str, Any]:
        """ListTasks, filtered by family, serviceName, containerInstance, desiredStatus."""
        record = self._cluster(cluster)
        desired = kwargs.get("desiredStatus", "RUNNING")
        family = kwargs.get("family")
        service = kwargs.get("serviceName")
        instance = kwargs.get("containerInstance")
        started_by = kwargs.get("startedBy")
        listing = [
            (
                task.arn,
                task.family,
                None if task.service is None else task.service.name,
                task.started_by,
                task.container_instance,
            )
            for task in record.tasks.values()
            if task.desired_status.value == desired
        ]
        if desired == "STOPPED":  # those stopping, then those stopped and still visible
            listing += self._control.stopped_listing(record)
        key = instance.rsplit("/", 1)[-1] if instance else ""
        return {
            "taskArns": [
                task_arn
                for task_arn, task_family, task_service, task_started_by, host in listing
                if (not family or task_family == family)
                and (not service or task_service == service)
                and (not started_by or task_started_by == started_by)
                and (not instance or (host is not None and key in (host.id, host.ec2_instance_id)))
            ]
        }

    def _describe_task(self, task: Task | StoppedTask) -> dict[str, Any]:
        definition = task.task_definition
        instance = task.container_instance
        status = task.last_status.name
        health = task.health_status(self._control.now)
        containers = [
            _drop_none(
                {
                    "containerArn": arn("container", f"{task.cluster.name}/{task.id}/{c.name}"),
                    "taskArn": task.arn,
                    "name": c.name,
                    "image": c.image,
                    "lastStatus": "STOPPED"
                    if status in ("STOPPED", "DEPROVISIONING")
                    else ("RUNNING" if status in ("RUNNING", "STOPPING") else "PENDING"),
                    "exitCode": None
                    if math.isnan(task.exit_code)
                    else int(task.exit_code if c.essential else 0),
                    "cpu": str(c.cpu),
                    "memory": None if c.memory_mib is None else str(c.memory_mib),
                    "memoryReservation": None
                    if c.memory_reservation_mib is None
                    else str(c.memory_reservation_mib),
                    "healthStatus": health if c.health_check is not None else "UNKNOWN",
                }
            )
            for c in definition.containers
        ]
        return _drop_none(
            {
                "taskArn": task.arn,
                "clusterArn": task.cluster.arn,
                "taskDefinitionArn": arn(
                    "task-definition", f"{definition.family}:{definition.revision}"
                ),
                "containerInstanceArn": instance.arn if instance else None,
                "availabilityZone": instance.zone if instance else None,
                "lastStatus": status,
                "desiredStatus": task.desired_status.value,
                "cpu": str(task.requirement.cpu),
                "memory": str(task.requirement.memory_mib),
                "containers": containers,
                "group": task.group,
                "launchType": task.launch_type,
                "startedBy": task.started_by,
                "stopCode": task.stop_code,
                "stoppedReason": task.stopped_reason,
                "createdAt": _ts(task.created_at),
                "pullStartedAt": _ts(task.pull_started_at),
                "pullStoppedAt": _ts(task.pull_stopped_at),
                "startedAt": _ts(task.started_at),
                "stoppingAt": _ts(task.stopping_at),
                "executionStoppedAt": _ts(task.execution_stopped_at),
                "stoppedAt": _ts(task.stopped_at),
                "healthStatus": health,
                "overrides": {"containerOverrides": []},
                "version": int(task.last_status) + 1,
            }
        )

    # -- services ----------------------------------------------------------------------------------
    def create_service(self, serviceName: str, **kwargs: Any) -> dict[str, Any]:
        """CreateService (REPLICA, EC2)."""
        self._validate("CreateServiceRequest", {"serviceName": serviceName, **kwargs})
        self._validate_deployment_configuration(kwargs.get("deploymentConfiguration"))
        cluster = self._cluster(kwargs.get("cluster"))
        if "taskDefinition" not in kwargs:
            raise InvalidParameterException("TaskDefinition must be specified.")
        definition = self._definition(kwargs["taskDefinition"])
        desired = kwargs.get("desiredCount", 0)
        if not isinstance(desired, int) or desired < 0:
            raise InvalidParameterException("desiredCount must be an integer >= 0.")
        controller = (kwargs.get("deploymentController") or {}).get("type", "ECS")
        if controller != "ECS":
            raise InvalidParameterException(
                f"deploymentController {controller} is not simulated (ECS rolling updates only)."
            )
        if kwargs.get("schedulingStrategy") == "DAEMON":
            if "desiredCount" in kwargs:
                raise InvalidParameterException(
                    "The daemon scheduling strategy does not support a desired count for services."
                )
            if kwargs.get("placementStrategy"):
                raise InvalidParameterException(
                    "The daemon scheduling strategy does not support placement strategies."
                )
        self._check_load_balancers(definition, kwargs.get("loadBalancers") or [])
        strategies, constraints = self._placement(kwargs)
        service = self._call(
            self._control.create_service,
            cluster.name,
            serviceName,
            definition,
            desired,
            strategies=strategies,
            constraints=constraints,
            deployment_configuration=kwargs.get("deploymentConfiguration"),
            request={"serviceName": serviceName, **kwargs},
        )
        # BC CreateServiceRequest: ENABLED when not given on create (a DAEMON service has one
        # task per instance: nothing to rebalance).
        default = "DISABLED" if service.daemon else "ENABLED"
        service.az_rebalancing = kwargs.get("availabilityZoneRebalancing", default) == "ENABLED"
        return {"service": self._describe_service(service)}

    @staticmethod
    def _check_load_balancers(definition: TaskDefinition, items: list[dict[str, Any]]) -> None:
        """Each ``loadBalancers`` item must name a container and one of its container ports."""
        containers = {c.name: c for c in definition.containers}
        for item in items:
            name = item.get("containerName")
            container = containers.get(name) if isinstance(name, str) else None
            if container is None:
                raise InvalidParameterException(
                    f"The container {name} does not exist in the task definition."
                )
            port = item.get("containerPort")
            if port not in {m.container_port for m in container.port_mappings}:
                raise InvalidParameterException(
                    f"The container {name} did not have a container port {port} defined."
                )

    def _service(self, cluster: str | None, service: str) -> ServiceRecord:
        return self._call(self._control.service, cluster, service)

    def update_service(
        self, service: str, cluster: str | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        """UpdateService.

        Takes desiredCount, taskDefinition, deploymentConfiguration, forceNewDeployment,
        healthCheckGracePeriodSeconds and availabilityZoneRebalancing.
        """
        self._validate("UpdateServiceRequest", {"service": service, **kwargs})
        self._validate_deployment_configuration(kwargs.get("deploymentConfiguration"))
        record = self._service(cluster, service)
        desired = kwargs.get("desiredCount")
        if desired is not None and (not isinstance(desired, int) or desired < 0):
            raise InvalidParameterException("desiredCount must be an integer >= 0.")
        definition = None
        if kwargs.get("taskDefinition"):
            definition = self._definition(kwargs["taskDefinition"])
            self._check_load_balancers(definition, record.request.get("loadBalancers") or [])
        if kwargs.get("deploymentConfiguration"):
            record.deployment_configuration.update(kwargs["deploymentConfiguration"])
        if kwargs.get("availabilityZoneRebalancing") is not None:
            # BC UpdateServiceRequest: when absent, the service keeps its current value.
            record.az_rebalancing = kwargs["availabilityZoneRebalancing"] == "ENABLED"
        if kwargs.get("healthCheckGracePeriodSeconds") is not None:
            grace = kwargs["healthCheckGracePeriodSeconds"]
            record.request["healthCheckGracePeriodSeconds"] = grace
            record.grace_s = float(grace)
        self._call(
            self._control.update_service,
            record,
            desired_count=desired,
            definition=definition,
            force_new_deployment=bool(kwargs.get("forceNewDeployment")),
        )
        return {"service": self._describe_service(record)}

    def delete_service(
        self, service: str, cluster: str | None = None, force: bool = False
    ) -> dict[str, Any]:
        """DeleteService."""
        record = self._service(cluster, service)
        self._call(self._control.delete_service, record, force=force)
        return {"service": self._describe_service(record)}

    def describe_services(
        self, services: list[str], cluster: str | None = None, **_: Any
    ) -> dict[str, Any]:
        """DescribeServices."""
        record = self._cluster(cluster)
        found, failures = [], []
        for name in services:
            service = record.services.get(name.rsplit("/", 1)[-1])
            if service is None:
                failures.append(
                    {"arn": arn("service", f"{record.name}/{name}"), "reason": "MISSING"}
                )
            else:
                found.append(self._describe_service(service))
        return {"services": found, "failures": failures}

    def list_services(self, cluster: str | None = None, **_: Any) -> dict[str, Any]:
        """ListServices."""
        record = self._cluster(cluster)
        return {"serviceArns": [s.arn for s in record.services.values() if s.status != "INACTIVE"]}

    def _describe_service(self, service: ServiceRecord) -> dict[str, Any]:
        running, pending = service.counts()
        definition = service.task_definition
        td_arn = arn("task-definition", f"{definition.family}:{definition.revision}")
        created = _ts(service.created_at)
        request = service.request
        return {
            "serviceArn": service.arn,
            "serviceName": service.name,
            "clusterArn": service.cluster.arn,
            "status": service.status,
            "desiredCount": service.desired_count,
            "runningCount": running,
            "pendingCount": pending,
            "launchType": "EC2",
            "taskDefinition": td_arn,
            "deploymentConfiguration": dict(service.deployment_configuration),
            "deployments": self._describe_deployments(service),
            "events": [
                {
                    "id": f"{i:08x}",
                    "createdAt": _ts(e["createdAt"]),
                    "message": e["message"],
                }
                for i, e in enumerate(service.events)
            ],
            "createdAt": created,
            "placementConstraints": list(request.get("placementConstraints", [])),
            "placementStrategy": list(request.get("placementStrategy", [])),
            "schedulingStrategy": "DAEMON" if service.daemon else "REPLICA",
            "availabilityZoneRebalancing": "ENABLED" if service.az_rebalancing else "DISABLED",
            **({"loadBalancers": request["loadBalancers"]} if service.load_balanced else {}),
            **(
                {"healthCheckGracePeriodSeconds": request["healthCheckGracePeriodSeconds"]}
                if "healthCheckGracePeriodSeconds" in request
                else {}
            ),
        }

    def _describe_deployments(self, service: ServiceRecord) -> list[dict[str, Any]]:
        if service.deployments:
            self._control.breaker_armed(service)  # failedTasks reads 0 once a task ran
        return [self._describe_deployment(service, d) for d in service.deployments]

    @staticmethod
    def _describe_deployment(service: ServiceRecord, deployment: Deployment) -> dict[str, Any]:
        definition = deployment.task_definition
        primary = deployment is service.deployments[0]
        running = pending = 0
        for task in service.tasks.values():
            if task.task_definition is definition:
                if task.last_status == TaskStatus.RUNNING:
                    running += 1
                else:
                    pending += 1
        return {
            "id": deployment.id,
            "status": deployment.status,
            "taskDefinition": arn("task-definition", f"{definition.family}:{definition.revision}"),
            "desiredCount": service.desired_count if primary else running + pending,
            "pendingCount": pending,
            "runningCount": running,
            "failedTasks": deployment.failed_tasks,
            "createdAt": _ts(deployment.created_at),
            "updatedAt": _ts(deployment.updated_at),
            "launchType": "EC2",
            "rolloutState": deployment.rollout_state,
            "rolloutStateReason": deployment.rollout_state_reason,
        }

    # -- container instances -----------------------------------------------------------------------
    def update_container_instances_state(self, **request: Any) -> dict[str, Any]:
        """UpdateContainerInstancesState: ACTIVE <-> DRAINING (only from ACTIVE to DRAINING)."""
        self._validate("UpdateContainerInstancesStateRequest", request)
        record = self._cluster(request.get("cluster"))
        status = request["status"]
        if status not in ("ACTIVE", "DRAINING"):
            raise InvalidParameterException(
                "Container instance status can only be set to ACTIVE or DRAINING."
            )
        found, failures = [], []
        for reference in request["containerInstances"]:
            try:
                found.append(self._instance(record, reference))
            except InvalidParameterException:
                failures.append({"arn": reference, "reason": "MISSING"})
        self._call(self._control.update_instances_state, found, InstanceStatus[status])
        return {
            "containerInstances": [self._describe_instance(i) for i in found],
            "failures": failures,
        }

    def deregister_container_instance(self, **request: Any) -> dict[str, Any]:
        """DeregisterContainerInstance (``force`` orphans the tasks still running on it)."""
        self._validate("DeregisterContainerInstanceRequest", request)
        record = self._cluster(request.get("cluster"))
        instance = self._instance(record, request["containerInstance"])
        self._call(
            self._control.deregister_instance, instance, force=bool(request.get("force", False))
        )
        return {"containerInstance": self._describe_instance(instance)}

    def _attribute_targets(
        self, record: ClusterRecord, attributes: list[dict[str, Any]]
    ) -> list[tuple[InstanceRecord, dict[str, Any]]]:
        if not attributes:
            raise InvalidParameterException("attributes must not be empty.")
        if len(attributes) > 10:
            raise InvalidParameterException("You can specify up to 10 attributes in a single call.")
        out = []
        for attribute in attributes:
            name = attribute.get("name")
            if not isinstance(name, str) or not name:
                raise InvalidParameterException("Attribute name must be specified.")
            if attribute.get("targetType", "container-instance") != "container-instance":
                raise InvalidParameterException("targetType must be container-instance.")
            target = attribute.get("targetId")
            if not target:
                raise InvalidParameterException(
                    f"Attribute {name} must name its target container instance (targetId)."
                )
            out.append((self._instance(record, str(target)), attribute))
        return out

    def put_attributes(self, **request: Any) -> dict[str, Any]:
        """PutAttributes: custom attributes on container instances (used by ``memberOf``)."""
        self._validate("PutAttributesRequest", request)
        record = self._cluster(request.get("cluster"))
        targets = self._attribute_targets(record, list(request["attributes"]))
        for instance, attribute in targets:
            self._control.put_attribute(instance, attribute["name"], attribute.get("value"))
        return {"attributes": [self._attribute(i, a) for i, a in targets]}

    def delete_attributes(self, **request: Any) -> dict[str, Any]:
        """DeleteAttributes."""
        record = self._cluster(request.get("cluster"))
        targets = self._attribute_targets(record, list(request.get("attributes") or []))
        for instance, attribute in targets:
            self._control.put_attribute(instance, attribute["name"], None)
        return {"attributes": [self._attribute(i, a) for i, a in targets]}

    @staticmethod
    def _attribute(instance: InstanceRecord, attribute: dict[str, Any]) -> dict[str, Any]:
        return _drop_none(
            {
                "name": attribute["name"],
                "value": attribute.get("value"),
                "targetType": "container-instance",
                "targetId": instance.arn,
            }
        )

    def list_container_instances(self, cluster: str | None = None, **kwargs: Any) -> dict[str, Any]:
        """ListContainerInstances (``status`` and cluster query language ``filter``).

        INACTIVE instances are not listed unless ``status`` asks for them.
        """
        record = self._cluster(cluster)
        status = kwargs.get("status")
        matches = None
        if kwargs.get("filter"):
            try:
                expression = parse_expression(kwargs["filter"])
            except QueryError as err:
                raise InvalidParameterException(f"Invalid filter expression: {err}") from None
            matches = expression.evaluate(record.state)
        arns = [
            i.arn
            for i in record.instances
            if (i.status.name == status if status else i.status != InstanceStatus.INACTIVE)
            and (matches is None or bool(matches[i.row]))
        ]
        return {"containerInstanceArns": arns}

    def describe_container_instances(
        self, containerInstances: list[str], cluster: str | None = None, **_: Any
    ) -> dict[str, Any]:
        """DescribeContainerInstances."""
        record = self._cluster(cluster)
        found, failures = [], []
        for reference in containerInstances:
            try:
                found.append(self._describe_instance(self._instance(record, reference)))
            except InvalidParameterException:
                failures.append({"arn": reference, "reason": "MISSING"})
        return {"containerInstances": found, "failures": failures}

    def _describe_instance(self, instance: InstanceRecord) -> dict[str, Any]:
        state = instance.cluster.state
        row = instance.row

        def resources(cpu: int, memory: int, ports: list[str]) -> list[dict[str, Any]]:
            return [
                {"name": "CPU", "type": "INTEGER", "integerValue": int(cpu)},
                {"name": "MEMORY", "type": "INTEGER", "integerValue": int(memory)},
                {"name": "PORTS", "type": "STRINGSET", "stringSetValue": ports},
                {"name": "PORTS_UDP", "type": "STRINGSET", "stringSetValue": []},
            ]

        reserved = ["22", "2375", "2376", "51678", "51679"]
        used = sorted(
            {
                str(p)
                for t in instance.tasks.values()
                if t.reserved
                for p in t.requirement.ports_tcp
            },
            key=int,
        )
        running = sum(1 for t in instance.tasks.values() if t.last_status == TaskStatus.RUNNING)
        return {
            "containerInstanceArn": instance.arn,
            "ec2InstanceId": instance.ec2_instance_id,
            "version": 1,
            "status": instance.status.name,
            "agentConnected": instance.connected,
            "runningTasksCount": running,
            "pendingTasksCount": sum(
                1 for t in instance.tasks.values() if t.last_status < TaskStatus.RUNNING
            ),
            "registeredResources": resources(
                instance.registered_cpu, instance.registered_memory, reserved
            ),
            "remainingResources": resources(
                state.remaining_cpu[row], state.remaining_memory[row], reserved + used
            ),
            "attributes": [{"name": k, "value": v} for k, v in instance.attributes.items()],
            "registeredAt": _ts(instance.registered_at),
            "versionInfo": {
                "agentVersion": AGENT_VERSION,
                "dockerVersion": "DockerVersion: 25.0.8",
            },
        }
