"""The few lifecycle steps ecssim runs compiled, from ``_native.c`` (each has a Python twin)."""

from typing import Any

import numpy as np

from ecssim.model.taskdef import Requirement

#: ``ecssim.state.NO_FIT``, as the module was compiled with it.
NO_FIT: int

def choose(keys: np.ndarray, penalty: np.ndarray | None, rng: np.random.Generator) -> int: ...
def levels(totals: list[int], held: tuple[int, ...]) -> list[tuple[int, ...]] | None: ...
def book(
    row: int,
    requirement: Requirement,
    sign: int,
    ledger: tuple[np.ndarray, ...],
    counts: np.ndarray,
    fits: tuple[tuple[Any, ...], ...],
    spreads: tuple[tuple[np.ndarray, list[int]], ...],
) -> None: ...
def expand(
    records: np.ndarray,
    out: np.ndarray,
    rows: np.ndarray,
    plan: np.ndarray,
    level_info: np.ndarray,
    levels: np.ndarray,
    width: int,
) -> None: ...
def write_rows(buffer: bytearray, formats: bytes, *values: Any) -> None: ...

class Queue:
    scheduled: int
    def push(self, time: float, priority: int, event: Any) -> None: ...
    def pop(self) -> tuple[float, Any]: ...
    def peek(self) -> float: ...
    def __len__(self) -> int: ...
