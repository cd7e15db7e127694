"""Seeded randomness that means the same thing on every supported Python.

Every generated row owns one `random.Random`, seeded from a sha256 of (task, seed, index), so a row can be
regenerated alone, in any process, in any order. Python only promises `random()` and `getrandbits()` to be stable
across versions (`randint`, `choice`, `sample` and `shuffle` may change), so the few samplers the generators need
are built here on those two.
"""

from __future__ import annotations

import bisect
import hashlib
import itertools
import math
import random
from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")


def instance_rng(task: str, seed: int, index: int, stream: str = "") -> random.Random:
    """Return the RNG of one row.

    Args:
        task: Registered task name, e.g. ``"waiting_line/shuffle"``.
        seed: The split's seed.
        index: The row's index within the split.
        stream: An optional sub-stream name, for independent draws that belong to the same row.

    Returns:
        A `random.Random` seeded from ``sha256(f"{task}|{seed}|{index}")`` (plus ``|stream`` when given).
    """
    key = f"{task}|{seed}|{index}" + (f"|{stream}" if stream else "")
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    return random.Random(int.from_bytes(digest[:16], "big"))


def randbelow(rng: random.Random, n: int) -> int:
    """Return a uniform integer in ``[0, n)`` using only `getrandbits` (rejection sampling)."""
    if n <= 0:
        raise ValueError(f"randbelow needs n >= 1, got {n}")
    bits = n.bit_length()
    while True:
        value = rng.getrandbits(bits)
        if value < n:
            return value


def choice(rng: random.Random, items: Sequence[T]) -> T:
    """Return one item of `items`, uniformly."""
    return items[randbelow(rng, len(items))]


def shuffled(rng: random.Random, items: Sequence[T]) -> list[T]:
    """Return a uniformly random permutation of `items` (Fisher-Yates on `randbelow`)."""
    result = list(items)
    for i in range(len(result) - 1, 0, -1):
        j = randbelow(rng, i + 1)
        result[i], result[j] = result[j], result[i]
    return result


def sample(rng: random.Random, items: Sequence[T], k: int) -> list[T]:
    """Return `k` distinct items of `items` in random order (a partial Fisher-Yates)."""
    if not 0 <= k <= len(items):
        raise ValueError(f"cannot sample {k} items from {len(items)}")
    pool = list(items)
    for i in range(k):
        j = i + randbelow(rng, len(pool) - i)
        pool[i], pool[j] = pool[j], pool[i]
    return pool[:k]


class WeightedSampler:
    """Draws items with probability proportional to their weights (inverse CDF on `rng.random()`)."""

    def __init__(self, items: Sequence[T], weights: Sequence[float]) -> None:
        if len(items) != len(weights) or not items:
            raise ValueError("WeightedSampler needs as many weights as items, and at least one item")
        self.items = list(items)
        self.cumulative = list(itertools.accumulate(weights))
        self.total = self.cumulative[-1]
        # The last bound is infinite so that rounding in `random() * total` can never step past the last item.
        self._bounds = self.cumulative[:-1] + [math.inf]

    def draw(self, rng: random.Random) -> T:
        """Return one item, drawn by weight."""
        return self.items[bisect.bisect_right(self._bounds, rng.random() * self.total)]
