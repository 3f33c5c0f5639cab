"""Selector syntax of scripted actions: the keys and the task shorthand (pure, no SimPy).

Selectors stand for tasks and container instances that only exist at run time; they are
resolved when the action runs by ``ecssim.control.selectors`` (which documents them) and checked
at load time by the scenario loader.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

INSTANCE_SELECTOR_KEYS = ("zone", "instance_type", "market", "attributes", "index")
"""Keys of a container-instance selector."""
TASK_SELECTOR_KEYS = ("service", "family", "group", "zone", "index")
"""Keys of a task selector."""
TASK_SHORTHAND = re.compile(r"^(service|family|group):(.+)#(-?\d+)$")
"""``service:web#0``, ``family:worker#2``, ``group:family:worker#0``."""


def task_selector(value: object) -> Mapping[str, Any] | None:
    """Return ``value`` as a task selector mapping, or ``None`` if it is a plain reference."""
    if isinstance(value, Mapping):
        return value
    if isinstance(value, str):
        match = TASK_SHORTHAND.match(value)
        if match:
            return {match.group(1): match.group(2), "index": int(match.group(3))}
    return None
