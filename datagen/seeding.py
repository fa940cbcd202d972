"""Stable seeds: every job's seed derives from (run seed, job id) by a stable hash.

Python's ``hash()`` is salted per process, so we hash a canonical JSON encoding with
BLAKE2b instead: the same keys give the same seed on every machine, in every order.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np


def stable_seed(*keys) -> int:
    """63-bit non-negative integer from JSON-serializable ``keys`` (order matters)."""
    payload = json.dumps(keys, sort_keys=True, separators=(",", ":"), default=str)
    digest = hashlib.blake2b(payload.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "little") & ((1 << 63) - 1)


def rng_for(*keys) -> np.random.Generator:
    """A fresh ``numpy.random.Generator`` seeded by ``stable_seed(*keys)``."""
    return np.random.Generator(np.random.PCG64(stable_seed(*keys)))
