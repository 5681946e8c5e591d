"""Counter-based random numbers of the synthetic stocks: every draw is a hash of
``(seed, building number, stream)``, so building *i* of a seed is the same whatever the chunk."""

from __future__ import annotations

import numpy as np

# stream namespaces of the counter-based generator (any fixed, distinct numbers)
_S_BUILDING, _S_GROUP, _S_ELEMENT, _S_CHOICE, _S_SIZE = 0, 1 << 20, 2 << 20, 3 << 20, 4 << 20
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)


def _mix(x: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser (bijective 64-bit hash)."""
    x = x ^ (x >> np.uint64(30))
    x = x * _MIX1
    x = x ^ (x >> np.uint64(27))
    x = x * _MIX2
    return x ^ (x >> np.uint64(31))


def _uniform(seed: int, building: np.ndarray, stream) -> np.ndarray:
    """U[0, 1) per (seed, building number, stream); counter-based, so order and chunking do not matter."""
    with np.errstate(over="ignore"):
        stream_key = _mix(np.uint64(seed) ^ (np.asarray(stream, dtype=np.uint64) + np.uint64(1)) * _GOLDEN)
        key = _mix(stream_key ^ (np.asarray(building, dtype=np.uint64) * _MIX2 + _GOLDEN))
    return (key >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53))


def _expand(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For items with ``counts`` children: the owner and the position of every child."""
    owner = np.repeat(np.arange(len(counts)), counts)
    first = np.cumsum(counts) - counts
    return owner, np.arange(len(owner)) - first[owner]
