"""Placement strategies: score functions over candidate instances, in a name registry.

A strategy is a plain function ``fn(field, view) -> scores``: ``field`` is the strategy's field
(``"memory"``, ``"attribute:ecs.availability-zone"``, or ``None``) and ``view`` a
:class:`CandidateView` of numpy arrays over the candidate instances. It returns one number per
candidate; **higher is preferred**. Chained strategies are lexicographic: the engine keeps the
candidates tied for the best score and hands them to the next strategy; the remaining ties are
broken with the placement random stream. Strategies are pure: they read the view, mutate
nothing, and draw only from ``view.rng``.

Built-ins follow ECS (ECS-SEMANTICS section 2):

- ``binpack`` (field ``cpu`` or ``memory``): least remaining amount preferred.
- ``spread`` (field ``instanceId``/``host`` or ``attribute:<name>``): fewest tasks of the same
  task group (a service's tasks, or a standalone group) on the instance or in the instance's
  attribute value.
- ``random``: uniform.

Register your own::

    @ecssim.register_strategy("fewest-tasks")
    def fewest_tasks(field, view):
        return -view.running_tasks
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from ecssim.placement.engine import CandidateView

Strategy = Callable[[str | None, "CandidateView"], np.ndarray]

_REGISTRY: dict[str, Strategy] = {}
_FIELDS: dict[str, Callable[[str | None], str | None]] = {}
BUILT_IN = ("binpack", "spread", "random")


def _binpack(field: str | None, view: CandidateView) -> np.ndarray:
    remaining = view.remaining_cpu if field == "cpu" else view.remaining_memory
    return -remaining


def _spread(field: str | None, view: CandidateView) -> np.ndarray:
    if field in ("instanceId", "host"):
        return -view.group_tasks
    assert field is not None
    return -view.group_tasks_by_attribute(field.removeprefix("attribute:")).astype(np.float64)


def _random(field: str | None, view: CandidateView) -> np.ndarray:
    return view.rng.random(view.size)


def _check_binpack(field: str | None) -> str | None:
    if field not in ("cpu", "memory"):
        return f"binpack takes field cpu or memory, got {field!r}"
    return None


def _check_spread(field: str | None) -> str | None:
    if field in ("instanceId", "host"):
        return None
    if isinstance(field, str) and field.startswith("attribute:") and len(field) > len("attribute:"):
        return None
    return f"spread takes field instanceId, host or attribute:<name>, got {field!r}"


def _check_random(field: str | None) -> str | None:
    return None if field in (None, "") else f"random takes no field, got {field!r}"


_REGISTRY.update(binpack=_binpack, spread=_spread, random=_random)
_FIELDS.update(binpack=_check_binpack, spread=_check_spread, random=_check_random)


def register_strategy(name: str) -> Callable[[Strategy], Strategy]:
    """Register a placement strategy under ``name`` (a decorator).

    The function takes ``(field, view)`` and returns a score per candidate, higher preferred.
    It is then usable by name in scenarios and in ``placementStrategy`` of the ECS client.

    Raises:
        ValueError: ``name`` is already registered (built-ins included).
    """
    if not isinstance(name, str) or not name:
        raise ValueError("a strategy name is a non-empty string")

    def decorator(function: Strategy) -> Strategy:
        if name in _REGISTRY:
            raise ValueError(f"placement strategy {name!r} is already registered")
        _REGISTRY[name] = function
        return function

    return decorator


def unregister_strategy(name: str) -> None:
    """Remove a user-registered strategy (built-ins cannot be removed)."""
    if name in BUILT_IN:
        raise ValueError(f"{name!r} is a built-in strategy")
    _REGISTRY.pop(name, None)


def known_strategies() -> list[str]:
    """Return the registered strategy names: built-ins first, then user strategies sorted."""
    return list(BUILT_IN) + sorted(set(_REGISTRY) - set(BUILT_IN))


def is_builtin(name: str) -> bool:
    """Whether ``name`` is one of ECS's own strategies (which the engine runs on masks)."""
    return name in BUILT_IN


def get_strategy(name: str) -> Strategy:
    """Return the strategy function registered under ``name``.

    Raises:
        ValueError: Unknown name; the message lists the known ones.
    """
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(known_strategies())
        raise ValueError(f"unknown placement strategy {name!r}; known: {known}") from None


def validate_strategy(type_: str, field: str | None) -> None:
    """Check a ``{type, field}`` strategy item as ECS would (built-ins) or by name (user ones).

    Raises:
        ValueError: The type is unknown or the field does not suit it.
    """
    get_strategy(type_)
    check = _FIELDS.get(type_)
    problem = check(field) if check else None
    if problem:
        raise ValueError(problem)
