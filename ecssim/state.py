"""Columnar state of one cluster's container instances: numpy arrays updated in place.

One row per container instance ever registered in the cluster (rows are never reused, so a row
number identifies an instance for the whole run). The control plane's placement step is the only
writer of reservations; it reserves CPU, memory, ports, ENIs and GPUs together, atomically.
Attributes are stored as integer codes per attribute name so that constraints and spread
strategies compare integers, not strings. Per-group task counts are kept incrementally.

This module is pure: no simpy, no clock. Times are passed in.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np

from ecssim.model.enums import InstanceStatus
from ecssim.model.taskdef import Requirement

try:
    from ecssim import _native
except ImportError:  # pragma: no cover - installed without a C compiler: Python does the work
    _native = None  # type: ignore[assignment]

#: TCP ports the ECS agent reserves on every instance (ECS-SEMANTICS section 1).
RESERVED_PORTS: tuple[int, ...] = (22, 2375, 2376, 51678, 51679)
#: Most static host ports one instance may have reserved, reserved ports included.
MAX_RESERVED_PORTS = 100
#: Dynamic host ports (bridge, hostPort 0) come from the kernel's ephemeral range, 32768-60999
#: on Amazon Linux (AG utils/ephemeral_ports_linux.go); they do not count against the cap above.
DYNAMIC_PORTS = 60999 - 32768 + 1

_ACTIVE = int(InstanceStatus.ACTIVE)

#: Binpack key of an instance a requirement does not fit on (above any resource amount).
NO_FIT = 1 << 29  # 512 TiB of memory; keys + a penalty still fit in int32
#: The ecs-agent version every simulated instance reports (``agentVersion``).
AGENT_VERSION = "1.90.0"
#: The wall-clock instant of simulated time 0, for timestamps and ``registeredAt`` queries.
SIM_EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
SIM_EPOCH_S = SIM_EPOCH.timestamp()

#: For each attribute whose value totals a group keeps: the attribute's codes and the totals.
_Spreads = tuple[tuple[np.ndarray, list[int]], ...]
#: What ClusterState.book takes for a group: its counts and its _Spreads.
_Booking = tuple[np.ndarray, _Spreads]


class AttributeColumn:
    """One attribute over all rows: an int32 code per row (-1: absent) and the distinct values.

    ``holders[code]`` counts the rows holding each value, so placement can skip values that no
    instance has any more.
    """

    __slots__ = ("codes", "holders", "index", "values")

    def __init__(self, capacity: int) -> None:
        self.codes = np.full(capacity, -1, dtype=np.int32)
        self.values: list[str] = []
        self.index: dict[str, int] = {}
        self.holders: list[int] = []

    def code(self, value: str) -> int:
        """Return the code of ``value``, adding it to the known values if new."""
        code = self.index.get(value)
        if code is None:
            code = len(self.values)
            self.values.append(value)
            self.index[value] = code
            self.holders.append(0)
        return code

    def grow(self, capacity: int) -> None:
        """Extend the code array to ``capacity`` rows (new rows absent)."""
        extra = np.full(capacity - len(self.codes), -1, dtype=np.int32)
        self.codes = np.concatenate([self.codes, extra])


class _Fit:
    """One requirement shape's fit mask and binpack keys, with the shape's needs unpacked.

    :meth:`ClusterState._refresh_fit` visits every kept shape twice a task lifecycle; reading
    slots here costs less than unpacking the shape tuple and looking its keys up by it.
    """

    __slots__ = (
        "cpu",
        "cpu_keys",
        "dynamic",
        "eni",
        "extra",
        "gpu",
        "mask",
        "memory",
        "memory_keys",
        "ports",
        "stale",
        "static",
    )

    def __init__(self, shape: tuple[Any, ...], capacity: int) -> None:
        cpu, memory, eni, gpu, tcp, udp, dynamic = shape
        self.cpu: int = cpu
        self.memory: int = memory
        self.eni: int = eni
        self.gpu: int = gpu
        self.dynamic: int = dynamic
        self.static: int = len(tcp) + len(udp)
        self.ports = tuple(("tcp", port) for port in tcp) + tuple(("udp", port) for port in udp)
        # Whether the shape needs more than CPU and memory (ENIs, GPUs, ports).
        self.extra = bool(eni or gpu or dynamic or self.static)
        self.mask = np.zeros(capacity, dtype=bool)
        # The resource left where the shape fits, else NO_FIT (binpack_keys); None until asked.
        self.cpu_keys: np.ndarray | None = None
        self.memory_keys: np.ndarray | None = None
        # Once the shape has keys, they hold the fit too: row updates write the keys only and
        # mark the mask stale, and ClusterState._mask rebuilds it from them when it is read.
        self.stale = False


class ClusterState:
    """Columnar container-instance state of one cluster.

    Arrays are allocated with spare capacity and exposed through views of the first ``n`` rows,
    so registering an instance is amortised O(1) and placement reads contiguous arrays.

    Invariants (checked by the property tests): ``0 <= remaining <= registered`` for every
    resource of every row; ``group_counts[g][row]`` equals the number of reserved tasks of group
    ``g`` on the row; ``running_tasks[row]`` is the number of reserved tasks on the row.
    """

    #: Requirement shapes whose fit masks are kept (the oldest is dropped beyond this).
    FIT_CACHE = 32

    _INT_FIELDS = (
        "registered_cpu",
        "registered_memory",
        "remaining_cpu",
        "remaining_memory",
        "registered_eni",
        "remaining_eni",
        "registered_gpu",
        "remaining_gpu",
        "running_tasks",
        "static_ports",
        "dynamic_ports",
    )

    def __init__(self, name: str, capacity: int = 64) -> None:
        self.name = name
        self.n = 0
        self._capacity = capacity
        self._int: dict[str, np.ndarray] = {
            f: np.zeros(capacity, dtype=np.int32) for f in self._INT_FIELDS
        }
        self._status = np.full(capacity, int(InstanceStatus.INACTIVE), dtype=np.int8)
        self._connected = np.zeros(capacity, dtype=bool)
        self._registered_at = np.zeros(capacity, dtype=np.float64)
        self._ports: dict[tuple[str, int], np.ndarray] = {}
        # The columns of RESERVED_PORTS, which every instance registers with; None when to be
        # gathered again (arrays grown).
        self._reserved_ports: tuple[np.ndarray, ...] | None = None
        self._attributes: dict[str, AttributeColumn] = {}
        self._groups: dict[str, np.ndarray] = {}
        # Per group and attribute: tasks of the group per attribute value (index code + 1;
        # index 0 counts instances without the attribute), kept incrementally once asked for.
        # Python lists: a decision reads them whole and a reservation updates one element, both
        # cheaper on a list than on an array.
        self._value_totals: dict[str, dict[str, list[int]]] = {}
        self._available = np.zeros(capacity, dtype=bool)
        # Per requirement shape: its fit mask and binpack keys, kept up to date row by row.
        self._fits: dict[tuple[Any, ...], _Fit] = {}
        # What _native.book takes (book): the ledger's arrays, and the kept shapes that need
        # only CPU and memory as tuples, with the rest apart; None when to be gathered again
        # (arrays grown, a shape kept or dropped, keys made).
        self._native_ledger: tuple[np.ndarray, ...] | None = None
        self._native_fits: tuple[tuple[Any, ...], ...] | None = None
        self._extra_fits: list[_Fit] = []
        # What book takes per group: its counts and, for each attribute whose value totals are
        # kept, (the attribute's codes, the totals); gathered again when an array grows or a
        # group's totals are first asked for.
        self._bookings: dict[str, _Booking] = {}
        # Value masks (value_penalty) and held values (held_values) for spread placement,
        # valid for one ``version``.
        self._penalties: dict[tuple[str, tuple[int, ...]], np.ndarray] = {}
        self._held: dict[str, tuple[int, ...]] = {}
        self._cached_version = -1
        self.instance_arns: list[str] = []
        self.ec2_instance_ids: list[str] = []
        self.row_of: dict[str, int] = {}
        # Bumped on every change of status, connection or attributes, and when a kept shape is
        # dropped (FIT_CACHE): what is cached for placement by version is then looked up again.
        self.version = 0

    # -- views (the first n rows) -----------------------------------------------------------
    @property
    def registered_cpu(self) -> np.ndarray:
        """Registered CPU units per instance."""
        return self._int["registered_cpu"][: self.n]

    @property
    def registered_memory(self) -> np.ndarray:
        """Registered memory (MiB) per instance."""
        return self._int["registered_memory"][: self.n]

    @property
    def remaining_cpu(self) -> np.ndarray:
        """Unreserved CPU units per instance."""
        return self._int["remaining_cpu"][: self.n]

    @property
    def remaining_memory(self) -> np.ndarray:
        """Unreserved memory (MiB) per instance."""
        return self._int["remaining_memory"][: self.n]

    @property
    def registered_eni(self) -> np.ndarray:
        """Task slots for awsvpc tasks per instance (ENIs - 1)."""
        return self._int["registered_eni"][: self.n]

    @property
    def remaining_eni(self) -> np.ndarray:
        """Free awsvpc task slots per instance."""
        return self._int["remaining_eni"][: self.n]

    @property
    def registered_gpu(self) -> np.ndarray:
        """GPUs per instance."""
        return self._int["registered_gpu"][: self.n]

    @property
    def remaining_gpu(self) -> np.ndarray:
        """Free GPUs per instance."""
        return self._int["remaining_gpu"][: self.n]

    @property
    def running_tasks(self) -> np.ndarray:
        """Tasks holding a reservation on each instance (``runningTasksCount`` + pending)."""
        return self._int["running_tasks"][: self.n]

    @property
    def dynamic_ports(self) -> np.ndarray:
        """Dynamic host ports in use per instance (out of :data:`DYNAMIC_PORTS`)."""
        return self._int["dynamic_ports"][: self.n]

    @property
    def static_ports(self) -> np.ndarray:
        """Reserved static host ports per instance, the agent's reserved ports included."""
        return self._int["static_ports"][: self.n]

    @property
    def status(self) -> np.ndarray:
        """``InstanceStatus`` code per instance."""
        return self._status[: self.n]

    @property
    def connected(self) -> np.ndarray:
        """``agentConnected`` per instance."""
        return self._connected[: self.n]

    @property
    def registered_at(self) -> np.ndarray:
        """Registration time (simulated seconds) per instance."""
        return self._registered_at[: self.n]

    def available(self) -> np.ndarray:
        """Mask of instances that can receive placements: ACTIVE and agent connected.

        Kept up to date on every status or connection change; do not write to it.
        """
        return self._available[: self.n]

    def _refresh_available(self, row: int) -> None:
        self._available[row] = self._status[row] == _ACTIVE and self._connected[row]
        self._refresh_fit(row)

    # -- fit masks, kept per requirement shape ------------------------------------------------
    @staticmethod
    def _shape(requirement: Requirement) -> tuple[Any, ...]:
        return (
            requirement.cpu,
            requirement.memory_mib,
            requirement.eni,
            requirement.gpu,
            requirement.ports_tcp,
            requirement.ports_udp,
            requirement.dynamic_ports,
        )

    def fit_mask(self, requirement: Requirement) -> np.ndarray:
        """Mask of available instances ``requirement`` fits on (CPU, memory, ENIs, GPUs, ports).

        Kept per requirement shape and updated row by row as reservations and statuses change,
        so a placement reads it instead of comparing every instance again. Do not write to it.
        """
        return self._mask(self._fit(requirement))

    def _mask(self, fit: _Fit) -> np.ndarray:
        """``fit``'s mask, first rebuilt from its keys if row updates wrote only those."""
        mask = fit.mask[: self.n]
        if fit.stale:
            keys = fit.memory_keys if fit.memory_keys is not None else fit.cpu_keys
            assert keys is not None
            np.less(keys[: self.n], NO_FIT, out=mask)
            fit.stale = False
        return mask

    def _fit(self, requirement: Requirement) -> _Fit:
        shape = self._shape(requirement)
        fit = self._fits.get(shape)
        if fit is None:
            if len(self._fits) >= self.FIT_CACHE:
                del self._fits[next(iter(self._fits))]  # the oldest
                self.version += 1  # its keys are no longer kept: placement plans are stale
            fit = self._fits[shape] = _Fit(shape, self._capacity)
            self._native_fits = None
            fit.mask[: self.n] = self._fit_all(fit)
        return fit

    def binpack_keys(self, requirement: Requirement, resource: str) -> np.ndarray:
        """``remaining_<resource>`` (cpu or memory) where ``requirement`` fits, else ``NO_FIT``.

        Binpack's key with the fit mask folded in, so a placement finds the best fitting
        instance with one ``argmin`` instead of gathering the candidates first. Kept per
        requirement shape and updated row by row with the fit masks. Do not write to it.
        """
        fit = self._fit(requirement)
        keys = fit.cpu_keys if resource == "cpu" else fit.memory_keys
        if keys is None:
            keys = np.full(self._capacity, NO_FIT, dtype=np.int32)
            left = self._int[f"remaining_{resource}"][: self.n]
            keys[: self.n] = np.where(self._mask(fit), left, NO_FIT)
            if resource == "cpu":
                fit.cpu_keys = keys
            else:
                fit.memory_keys = keys
            self._native_fits = None
        return keys[: self.n]

    def value_penalty(self, name: str, values: tuple[int, ...]) -> np.ndarray:
        """0 on rows whose attribute ``name`` has one of ``values``, else ``NO_FIT``.

        ``values`` are indexes as in :meth:`group_totals_by_value` (code + 1; 0: absent).
        Cached until the next change of status, connection or attributes (``version``).
        """
        if self._cached_version != self.version:
            self._clear_cached()
        penalty = self._penalties.get((name, values))
        if penalty is None:
            codes, _ = self.attribute(name)
            held = np.isin(codes + 1, values)
            penalty = np.where(held, 0, NO_FIT).astype(np.int32)
            self._penalties[(name, values)] = penalty
        return penalty

    def held_values(self, name: str) -> tuple[int, ...]:
        """The values of attribute ``name`` some instance holds, in index order.

        Indexes as in :meth:`group_totals_by_value` (code + 1; 0: rows without the attribute).
        Cached until the next change of status, connection or attributes (``version``).
        """
        if self._cached_version != self.version:
            self._clear_cached()
        held = self._held.get(name)
        if held is None:
            holders = self.attribute_holders(name)
            held = self._held[name] = tuple(i for i, count in enumerate(holders) if count)
        return held

    def _clear_cached(self) -> None:
        self._penalties.clear()
        self._held.clear()
        self._cached_version = self.version

    def _fit_all(self, fit: _Fit) -> np.ndarray:
        """Where ``fit``'s shape fits, over every instance (``_refresh_fit`` does one row)."""
        ok = self.remaining_cpu >= fit.cpu
        ok &= self.remaining_memory >= fit.memory
        ok &= self.available()
        if fit.static:
            ok &= self.static_ports + fit.static <= MAX_RESERVED_PORTS
            for protocol, port in fit.ports:
                ok &= self.port_free(protocol, port)
        if fit.eni:
            ok &= self.remaining_eni >= fit.eni
        if fit.gpu:
            ok &= self.remaining_gpu >= fit.gpu
        if fit.dynamic:
            ok &= self.dynamic_ports + fit.dynamic <= DYNAMIC_PORTS
        return ok

    def _refresh_fit(self, row: int) -> None:
        if self._fits:
            self._refresh_fits(row, self._fits.values())

    def _refresh_fits(self, row: int, fits: Iterable[_Fit]) -> None:
        """Bring ``fits`` up to date on ``row``: their mask, or their keys (the mask stale)."""
        ints = self._int
        available = self._available.item(row)
        cpu_left = ints["remaining_cpu"].item(row)
        memory_left = ints["remaining_memory"].item(row)
        for fit in fits:
            fits_here = (
                available
                and cpu_left >= fit.cpu
                and memory_left >= fit.memory
                and (not fit.extra or self._fits_extra(fit, row))
            )
            keys = fit.memory_keys
            if keys is not None:
                keys[row] = memory_left if fits_here else NO_FIT
                fit.stale = True
            keys = fit.cpu_keys
            if keys is not None:
                keys[row] = cpu_left if fits_here else NO_FIT
                fit.stale = True
            if not fit.stale:
                fit.mask[row] = fits_here

    def _fits_extra(self, fit: _Fit, row: int) -> bool:
        """Whether ``row`` has the ENIs, GPUs and ports ``fit``'s shape needs."""
        ints = self._int
        if fit.eni and ints["remaining_eni"].item(row) < fit.eni:
            return False
        if fit.gpu and ints["remaining_gpu"].item(row) < fit.gpu:
            return False
        if fit.dynamic and ints["dynamic_ports"].item(row) + fit.dynamic > DYNAMIC_PORTS:
            return False
        if fit.static:
            if ints["static_ports"].item(row) + fit.static > MAX_RESERVED_PORTS:
                return False
            ports = self._ports
            return not any(key in ports and ports[key][row] for key in fit.ports)
        return True

    # -- registration ------------------------------------------------------------------------
    def _grow(self) -> None:
        capacity = self._capacity * 2
        for name, array in self._int.items():
            self._int[name] = np.concatenate([array, np.zeros(self._capacity, dtype=np.int32)])
        self._status = np.concatenate(
            [self._status, np.full(self._capacity, int(InstanceStatus.INACTIVE), dtype=np.int8)]
        )
        self._connected = np.concatenate([self._connected, np.zeros(self._capacity, dtype=bool)])
        self._registered_at = np.concatenate([self._registered_at, np.zeros(self._capacity)])
        self._available = np.concatenate([self._available, np.zeros(self._capacity, dtype=bool)])
        no_fit = np.full(self._capacity, NO_FIT, dtype=np.int32)
        for fit in self._fits.values():
            fit.mask = np.concatenate([fit.mask, np.zeros(self._capacity, dtype=bool)])
            if fit.cpu_keys is not None:
                fit.cpu_keys = np.concatenate([fit.cpu_keys, no_fit])
            if fit.memory_keys is not None:
                fit.memory_keys = np.concatenate([fit.memory_keys, no_fit])
        for key, used in self._ports.items():
            self._ports[key] = np.concatenate([used, np.zeros(self._capacity, dtype=bool)])
        for column in self._attributes.values():
            column.grow(capacity)
        for group, counts in self._groups.items():
            self._groups[group] = np.concatenate([counts, np.zeros(self._capacity, dtype=np.int32)])
        self._capacity = capacity
        self._native_ledger = self._native_fits = self._reserved_ports = None
        self._bookings.clear()

    def add_instance(
        self,
        arn: str,
        ec2_instance_id: str,
        cpu: int,
        memory_mib: int,
        eni_slots: int,
        gpus: int,
        attributes: Mapping[str, str],
        registered_at: float,
    ) -> int:
        """Register a container instance as ACTIVE and connected; return its row.

        The control plane passes the arguments by position: it registers thousands at once.
        """
        if cpu >= NO_FIT or memory_mib >= NO_FIT:
            raise ValueError(
                f"an instance with {cpu} CPU units and {memory_mib} MiB is larger than the "
                f"placement engine ranks (below {NO_FIT})"
            )
        if self.n == self._capacity:
            self._grow()
        row = self.n
        self.n += 1
        ints = self._int
        ints["registered_cpu"][row] = ints["remaining_cpu"][row] = cpu
        ints["registered_memory"][row] = ints["remaining_memory"][row] = memory_mib
        ints["registered_eni"][row] = ints["remaining_eni"][row] = eni_slots
        ints["registered_gpu"][row] = ints["remaining_gpu"][row] = gpus
        ints["static_ports"][row] = len(RESERVED_PORTS)
        reserved = self._reserved_ports
        if reserved is None:
            reserved = self._reserved_ports = tuple(
                self._port_column("tcp", port) for port in RESERVED_PORTS
            )
        for used in reserved:
            used[row] = True
        self._status[row] = _ACTIVE
        self._connected[row] = True
        self._available[row] = True
        self._registered_at[row] = registered_at
        self._new_row_attributes(row, attributes)
        self.instance_arns.append(arn)
        self.ec2_instance_ids.append(ec2_instance_id)
        self.row_of[arn] = row
        self._refresh_fit(row)
        self.version += 1
        return row

    def set_status(self, row: int, status: InstanceStatus) -> None:
        """Set an instance's status (ACTIVE, DRAINING, INACTIVE ...)."""
        self._status[row] = int(status)
        self._refresh_available(row)
        self.version += 1

    def set_connected(self, row: int, connected: bool) -> None:
        """Set ``agentConnected`` of an instance."""
        self._connected[row] = connected
        self._refresh_available(row)
        self.version += 1

    def _column(self, name: str) -> AttributeColumn:
        """Attribute ``name``'s column, made (every row absent) when first named."""
        column = self._attributes.get(name)
        if column is None:
            column = self._attributes[name] = AttributeColumn(self._capacity)
        return column

    def _new_row_attributes(self, row: int, attributes: Mapping[str, str | None]) -> None:
        """:meth:`set_attribute` for each of a new row's attributes, where nothing was before.

        A new row holds no attribute and no task, so no group's totals move: only a value seen
        for the first time needs its total. Registering an instance sets about six attributes;
        at 10,000 instances the general path was a tenth of setting a cluster up.
        """
        columns = self._attributes
        for name, value in attributes.items():
            column = columns.get(name) or self._column(name)
            if value is None:
                continue  # absent, as the row already is
            code = column.index.get(value)
            if code is None:
                code = column.code(value)
                for by_attribute in self._value_totals.values():
                    totals = by_attribute.get(name)
                    if totals is not None:
                        self._fit_totals(totals, len(column.values))
            column.codes[row] = code
            column.holders[code] += 1
        self.version += 1

    def set_attribute(self, row: int, name: str, value: str | None) -> None:
        """Set (or with ``None`` remove) an attribute of an instance."""
        column = self._column(name)
        old = int(column.codes[row])
        new = -1 if value is None else column.code(value)
        column.codes[row] = new
        if old >= 0:
            column.holders[old] -= 1
        if new >= 0:
            column.holders[new] += 1
        if old != new:
            for group, by_attribute in self._value_totals.items():
                totals = by_attribute.get(name)
                if totals is None:
                    continue
                self._fit_totals(totals, len(column.values))  # a new value has a total too
                tasks = int(self._groups[group][row]) if group in self._groups else 0
                if tasks:
                    totals[old + 1] -= tasks
                    totals[new + 1] += tasks
        self.version += 1

    # -- reservations -----------------------------------------------------------------------
    def _port_column(self, protocol: str, port: int) -> np.ndarray:
        used = self._ports.get((protocol, port))
        if used is None:
            used = self._ports[(protocol, port)] = np.zeros(self._capacity, dtype=bool)
        return used

    def port_free(self, protocol: str, port: int) -> np.ndarray:
        """Mask of instances on which ``port`` is not reserved."""
        used = self._ports.get((protocol, port))
        if used is None:
            return np.ones(self.n, dtype=bool)
        return ~used[: self.n]

    def reserve(self, row: int, requirement: Requirement, group: str) -> None:
        """Reserve one task's resources on ``row`` (the caller has checked that they fit)."""
        self.book(row, requirement, group, 1)

    def release(self, row: int, requirement: Requirement, group: str) -> None:
        """Release what :meth:`reserve` reserved."""
        self.book(row, requirement, group, -1)

    def book(self, row: int, requirement: Requirement, group: str, sign: int) -> None:
        """Take one task's resources on ``row`` (``sign`` 1) or give them back (-1).

        :meth:`reserve` and :meth:`release` by one name: the control plane calls this on every
        reservation and release, one Python call fewer each.
        """
        booking = self._bookings.get(group)
        if booking is None:
            booking = self._booking(group)
        counts, spreads = booking
        if (
            _native is None
            or requirement.ports_tcp
            or requirement.ports_udp
            or requirement.dynamic_ports
        ):
            self._book_python(row, requirement, counts, spreads, sign)
        else:
            # Compiled: the ledger, the group's count and value totals and the shapes needing
            # only CPU and memory in one call (docs/design.md); the other shapes here.
            ledger, fits = self._native_ledger, self._native_fits
            if ledger is None or fits is None:
                ledger, fits = self._gather_native()
            _native.book(row, requirement, sign, ledger, counts, fits, spreads)
            if self._extra_fits:
                self._refresh_fits(row, self._extra_fits)

    def _booking(self, group: str) -> _Booking:
        """What :meth:`book` takes for ``group`` (``_bookings``), gathered again."""
        counts = self._groups.get(group)
        if counts is None:
            counts = self._groups[group] = np.zeros(self._capacity, dtype=np.int32)
        spreads = tuple(
            (self._attributes[name].codes, totals)
            for name, totals in self._value_totals.get(group, {}).items()
        )
        booking = self._bookings[group] = (counts, spreads)
        return booking

    def _gather_native(self) -> tuple[tuple[np.ndarray, ...], tuple[tuple[Any, ...], ...]]:
        """What :meth:`book` hands ``_native.book``, gathered again after a change."""
        ints = self._int
        ledger = self._native_ledger = (
            ints["remaining_cpu"],
            ints["remaining_memory"],
            ints["remaining_eni"],
            ints["remaining_gpu"],
            ints["running_tasks"],
            self._available,
        )
        fits = self._native_fits = tuple(
            (fit.cpu, fit.memory, fit.mask, fit.cpu_keys, fit.memory_keys, fit)
            for fit in self._fits.values()
            if not fit.extra
        )
        self._extra_fits = [fit for fit in self._fits.values() if fit.extra]
        return ledger, fits

    def _book_python(
        self,
        row: int,
        requirement: Requirement,
        counts: np.ndarray,
        spreads: _Spreads,
        sign: int,
    ) -> None:
        """``_native.book``'s twin, and :meth:`book`'s path for tasks with host ports.

        The row's resources, running tasks, the group's ``counts`` and value totals (``spreads``:
        each attribute's codes and the totals of its values), then every kept shape.
        """
        # Amounts that are zero are skipped: a numpy element update costs more than the test.
        # Each update reads the element as a Python int (``item``) and writes the result back:
        # half the cost of ``array[row] -= n``, which makes and computes with numpy scalars.
        ints = self._int
        column = ints["remaining_cpu"]
        column[row] = column.item(row) - sign * requirement.cpu
        column = ints["remaining_memory"]
        column[row] = column.item(row) - sign * requirement.memory_mib
        if requirement.eni:
            column = ints["remaining_eni"]
            column[row] = column.item(row) - sign * requirement.eni
        if requirement.gpu:
            column = ints["remaining_gpu"]
            column[row] = column.item(row) - sign * requirement.gpu
        column = ints["running_tasks"]
        column[row] = column.item(row) + sign
        if requirement.ports_tcp or requirement.ports_udp:
            held = sign > 0
            for port in requirement.ports_tcp:
                self._port_column("tcp", port)[row] = held
            for port in requirement.ports_udp:
                self._port_column("udp", port)[row] = held
            ports = len(requirement.ports_tcp) + len(requirement.ports_udp)
            ints["static_ports"][row] += sign * ports
        if requirement.dynamic_ports:
            ints["dynamic_ports"][row] += sign * requirement.dynamic_ports
        counts[row] = counts.item(row) + sign
        for codes, totals in spreads:
            totals[codes.item(row) + 1] += sign
        self._refresh_fit(row)

    # -- the InstanceView protocol of the query language --------------------------------------
    def attribute(self, name: str) -> tuple[np.ndarray, Sequence[str]]:
        """Return ``(codes, values)`` of an attribute over all rows (-1: absent)."""
        if name == "ec2InstanceId":
            return np.arange(self.n, dtype=np.int32), self.ec2_instance_ids
        if name == "agentVersion":
            return np.zeros(self.n, dtype=np.int32), (AGENT_VERSION,)
        column = self._attributes.get(name)
        if column is None:
            return np.full(self.n, -1, dtype=np.int32), ()
        return column.codes[: self.n], column.values

    def numeric(self, subject: str) -> np.ndarray:
        """Return a numeric subject of the query language over all rows."""
        if subject == "runningTasksCount":
            return self.running_tasks.astype(np.float64)
        if subject == "registeredAt":
            return SIM_EPOCH_S + self.registered_at  # instants, as the query's dates are
        if subject == "agentConnected":
            return self.connected.astype(np.float64)
        raise KeyError(subject)

    @staticmethod
    def _fit_totals(totals: list[int], values: int) -> None:
        """Grow a (group, attribute) totals list to hold ``values`` values (+ absent)."""
        totals.extend([0] * (values + 1 - len(totals)))

    def attribute_holders(self, name: str) -> list[int]:
        """Rows holding each value of attribute ``name``; index 0 counts rows without it.

        Index ``code + 1`` as in :meth:`group_totals_by_value`.
        """
        column = self._attributes.get(name)
        if column is None:
            return [self.n]
        return [self.n - sum(column.holders), *column.holders]

    def group_totals_by_value(self, group: str, name: str) -> np.ndarray:
        """Tasks of ``group`` per value of attribute ``name`` over the whole cluster.

        Index ``code + 1`` holds the value with that code (see :meth:`attribute`); index 0 the
        instances without the attribute. A copy of :meth:`value_totals`.
        """
        return np.array(self.value_totals(group, name), dtype=np.int64)

    def value_totals(self, group: str, name: str) -> list[int]:
        """:meth:`group_totals_by_value` as the list the state keeps; do not write to it.

        Kept up to date incrementally from the first call on (one total for every value the
        attribute has had), so spread placement reads it instead of recounting every instance.
        """
        by_attribute = self._value_totals.get(group)
        if by_attribute is not None:
            totals = by_attribute.get(name)
            if totals is not None:
                return totals
        column = self._column(name)
        counted = np.bincount(
            column.codes[: self.n] + 1,
            weights=self.group_counts(group),
            minlength=len(column.values) + 1,
        )
        totals = counted.astype(np.int64).tolist()
        self._value_totals.setdefault(group, {})[name] = totals
        self._bookings.pop(group, None)  # book keeps these totals from now on
        return totals

    def group_counts(self, group: str) -> np.ndarray:
        """Return the number of reserved tasks of ``group`` per instance."""
        counts = self._groups.get(group)
        if counts is None:
            return np.zeros(self.n, dtype=np.int32)
        return counts[: self.n]
