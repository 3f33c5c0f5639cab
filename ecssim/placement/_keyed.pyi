"""The keyed placement decision's scan, compiled from ``_keyed.c``."""

import numpy as np

#: ``ecssim.state.NO_FIT``, as the module was compiled with it.
NO_FIT: int

def choose(keys: np.ndarray, penalty: np.ndarray | None, rng: np.random.Generator) -> int: ...
def levels(totals: list[int], held: tuple[int, ...]) -> list[tuple[int, ...]] | None: ...
