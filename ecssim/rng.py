"""Named random streams: one root seed per run, one independent generator per source.

Streams are derived by name, ``SeedSequence(root, spawn_key=(stable_hash(name),))``, so adding,
removing or changing the use of one stream never shifts the numbers another stream draws
(common random numbers across scenario variants). Python's salted ``hash()`` is never used, so
streams are identical under any ``PYTHONHASHSEED``. This is the only module that creates
generators.
"""

from __future__ import annotations

import hashlib

import numpy as np


def stable_hash(name: str) -> int:
    """Return a 64-bit hash of ``name`` that is the same in every process and on every machine."""
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "little")


class Streams:
    """A family of named generators derived from one root seed.

    >>> s = Streams(7)
    >>> a = s.get("workload:batch").random()
    >>> Streams(7).get("workload:batch").random() == a
    True
    """

    __slots__ = ("_streams", "seed")

    def __init__(self, seed: int) -> None:
        self.seed = int(seed)
        self._streams: dict[str, np.random.Generator] = {}

    def get(self, name: str) -> np.random.Generator:
        """Return the generator for source ``name``, creating it on first use."""
        rng = self._streams.get(name)
        if rng is None:
            sequence = np.random.SeedSequence(self.seed, spawn_key=(stable_hash(name),))
            rng = np.random.Generator(np.random.PCG64(sequence))
            self._streams[name] = rng
        return rng

    def names(self) -> list[str]:
        """Return the names of the streams used so far, sorted."""
        return sorted(self._streams)
