"""Parsing of the quantities written in scenario files and task definitions.

Durations (``90s``, ``5m``, ``2h``, ``7d``, ``1h30m`` or a number of seconds), rates (``30/h``,
``0.5/s``, ``720/d``), task-level CPU (``"1 vcpu"``, ``"256"``) and memory (``".5 gb"``,
``"2 GB"``, ``"512"``). Every parser raises ``ValueError`` with a message meant to be shown to a
user after the path of the offending field.
"""

from __future__ import annotations

import math
import re

_DURATION_UNITS = {
    "ms": 0.001,
    "s": 1.0,
    "sec": 1.0,
    "m": 60.0,
    "min": 60.0,
    "h": 3600.0,
    "d": 86400.0,
    "w": 604800.0,
}
_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)\s*(ms|sec|min|s|m|h|d|w)")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def parse_duration(value: object) -> float:
    """Return a duration in seconds.

    Args:
        value: A number of seconds, or a string such as ``"90s"``, ``"5m"``, ``"1h30m"``, ``"7d"``.

    Raises:
        ValueError: The value is not a non-negative, finite duration.
    """
    if _is_number(value):
        seconds = float(value)  # type: ignore[arg-type]
    elif isinstance(value, str):
        text = value.strip().lower().replace(" ", "")
        if _NUMBER.match(text):
            seconds = float(text)
        else:
            pos, seconds = 0, 0.0
            for match in _DURATION_PART.finditer(text):
                if match.start() != pos:
                    break
                seconds += float(match.group(1)) * _DURATION_UNITS[match.group(2)]
                pos = match.end()
            if pos != len(text) or not text:
                raise ValueError(
                    f"expected a duration such as 90s, 5m, 2h, 7d or a number of seconds, "
                    f"got {value!r}"
                )
    else:
        raise ValueError(f"expected a duration such as 90s, 5m, 2h or 7d, got {value!r}")
    if not math.isfinite(seconds):
        raise ValueError(f"expected a finite duration, got {value!r}")
    if seconds < 0:
        raise ValueError(f"expected a duration >= 0, got {value!r}")
    return seconds


_RATE = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*/\s*(\d+(?:\.\d*)?)?\s*(s|sec|m|min|h|d)\s*$")


def parse_rate(value: object) -> float:
    """Return a rate in events per second.

    Args:
        value: ``"30/h"``, ``"0.5/s"``, ``"720/d"``, ``"3/10m"`` or a number (per second).

    Raises:
        ValueError: The value is not a rate >= 0.
    """
    if _is_number(value):
        rate = float(value)  # type: ignore[arg-type]
    elif isinstance(value, str) and (match := _RATE.match(value.lower())):
        count, multiple, unit = match.groups()
        rate = float(count) / (float(multiple or 1) * _DURATION_UNITS[unit])
    else:
        raise ValueError(f"expected a rate such as 30/h, 0.5/s or 720/d, got {value!r}")
    if not math.isfinite(rate) or rate < 0:
        raise ValueError(f"expected a finite rate >= 0, got {value!r}")
    return rate


_CPU = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*(vcpu|cpu)?\s*$", re.IGNORECASE)
_MEMORY = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*(gb|gib|mb|mib)?\s*$", re.IGNORECASE)


def parse_cpu_units(value: object) -> int:
    """Return CPU units (1024 per vCPU) from a task-level ``cpu`` value.

    ECS accepts an integer string of CPU units (``"256"``) or vCPUs with a unit (``"1 vcpu"``,
    ``".25 vCPU"``), which it converts to units when the task definition is registered.

    Raises:
        ValueError: The value is neither.
    """
    if _is_number(value):
        number, unit = float(value), None  # type: ignore[arg-type]
    elif isinstance(value, str) and (match := _CPU.match(value)):
        number, unit = float(match.group(1)), match.group(2)
    else:
        raise ValueError(f"invalid CPU value {value!r}: expected CPU units or vCPUs like '1 vcpu'")
    units = number * 1024 if unit else number
    if units != int(units):
        raise ValueError(f"invalid CPU value {value!r}: not a whole number of CPU units")
    return int(units)


def parse_memory_mib(value: object) -> int:
    """Return MiB from a task-level ``memory`` value (``"512"``, ``".5 gb"``, ``"2 GB"``).

    Raises:
        ValueError: The value is not a memory size.
    """
    if _is_number(value):
        number, unit = float(value), None  # type: ignore[arg-type]
    elif isinstance(value, str) and (match := _MEMORY.match(value)):
        number, unit = float(match.group(1)), (match.group(2) or "").lower()
    else:
        raise ValueError(f"invalid memory value {value!r}: expected MiB or a size like '2 GB'")
    mib = number * 1024 if unit in ("gb", "gib") else number
    if mib != int(mib):
        raise ValueError(f"invalid memory value {value!r}: not a whole number of MiB")
    return int(mib)


def format_duration(seconds: float) -> str:
    """Format seconds compactly for tables and messages (``"2h"``, ``"90s"``, ``"1h30m"``)."""
    if not math.isfinite(seconds):
        return "inf"
    if seconds < 60 or seconds != int(seconds):
        return f"{seconds:g}s"
    out, rest = "", int(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if rest >= size:
            out += f"{rest // size}{unit}"
            rest %= size
    return out
