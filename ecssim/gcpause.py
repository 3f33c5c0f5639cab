"""Python's cyclic garbage collector paused while ecssim allocates what it keeps.

A run, a bulk launch of instances and the building of result frames allocate many objects that
stay alive; the collector would only rescan them, again and again as they grow
(BENCHMARKS.md, "The cyclic garbage collector is paused during runs").
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Generator


@contextlib.contextmanager
def cyclic_gc_paused() -> Generator[None, None, None]:
    """Pause Python's cyclic garbage collector while a run, a launch or frames allocate.

    The model frees what it drops by reference counting: it creates no reference cycles per
    event (``tests/test_simulation.py`` checks that a run leaves no cyclic garbage), so the
    collector would only rescan the growing, live result lists again and again. Pausing it makes
    runs about a fifth faster (BENCHMARKS.md). It is re-enabled, if it was, when the block
    returns or raises. Its first pass afterwards scans what the block allocated (0.3 s after
    60,000 lifecycles on 10,000 instances); that pass is what promotes a finished simulation,
    whose objects do form cycles, towards the full collections that free it once it is dropped.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
