"""Seeded randomness that means the same thing on every Python, every platform and every process.

Every generated row owns one `RowRandom`: an endless stream of 64-bit words read from SHAKE-128 (FIPS 202) of the
row's key ``f"{task}|{seed}|{index}"`` (a one-shot example's: ``f"{task}|{seed}|example|{number}"``), so a row can
be regenerated alone, in any process, in any order, and neighbouring seeds or indices never share a stream. The
stream is defined by a published standard, not by an implementation: Python promises only `random.Random.random()`
to be stable across versions (its `randint`, `choice`, `sample` and `shuffle` may change), and seeding a Mersenne
Twister for every row cost about 4.5 us, a sixth of a waiting-line row's time (one SHAKE-128 block: about 1.3 us).
The few samplers the generators need are built here on the words, and each is exact: a uniform integer is exactly
uniform, and a weighted draw follows its weights to within 2**-64.
"""

from __future__ import annotations

import bisect
import hashlib
import itertools
import struct
from collections.abc import Callable, Iterator, Sequence
from fractions import Fraction
from typing import TypeVar

T = TypeVar("T")

#: Words are 64-bit: every draw compares or reduces one word in ``[0, WORD_SPAN)``.
WORD_SPAN = 1 << 64
#: Words per SHAKE-128 call; block ``b`` of a stream is SHAKE-128 of ``f"{key}|{b}"``, read as little-endian words.
BLOCK_WORDS = 32
_unpack_block = struct.Struct(f"<{BLOCK_WORDS}Q").unpack


def _blocks(key: str) -> Iterator[tuple[int, ...]]:
    prefix = f"{key}|".encode()
    for number in itertools.count():
        yield _unpack_block(hashlib.shake_128(prefix + str(number).encode()).digest(8 * BLOCK_WORDS))


class RowRandom:
    """The random stream of one row: 64-bit words from SHAKE-128 of the row's key, one block after another.

    Attributes:
        key: The text the stream is derived from.
        word: Return the next word, an int in ``[0, WORD_SPAN)``.
    """

    __slots__ = ("key", "word")

    def __init__(self, key: str) -> None:
        self.key = key
        self.word: Callable[[], int] = itertools.chain.from_iterable(_blocks(key)).__next__


def instance_rng(task: str, seed: int, index: int) -> RowRandom:
    """Return the random stream of one row.

    Args:
        task: Registered task name, e.g. ``"waiting_line/shuffle"``.
        seed: The split's seed.
        index: The row's index within the split.

    Returns:
        The `RowRandom` keyed by ``f"{task}|{seed}|{index}"``.
    """
    return RowRandom(f"{task}|{seed}|{index}")


def example_rng(task: str, seed: int, number: int) -> RowRandom:
    """Return the random stream of one-shot example `number` of a task's example pool under `seed`.

    Returns:
        The `RowRandom` keyed by ``f"{task}|{seed}|example|{number}"`` (never a row's key: a row's index is a number).
    """
    return RowRandom(f"{task}|{seed}|example|{number}")


def randbelow(rng: RowRandom, n: int) -> int:
    """Return an exactly uniform integer in ``[0, n)``: words past the last whole multiple of `n` are redrawn."""
    if n <= 0:
        raise ValueError(f"randbelow needs n >= 1, got {n}")
    limit = WORD_SPAN - WORD_SPAN % n
    word = rng.word()
    while word >= limit:
        word = rng.word()
    return word % n


def choice(rng: RowRandom, items: Sequence[T]) -> T:
    """Return one item of `items`, uniformly."""
    return items[randbelow(rng, len(items))]


def shuffled(rng: RowRandom, items: Sequence[T] | range | str) -> list[T]:
    """Return a uniformly random permutation of `items` (Fisher-Yates on `randbelow`)."""
    result = list(items)
    for i in range(len(result) - 1, 0, -1):
        j = randbelow(rng, i + 1)
        result[i], result[j] = result[j], result[i]
    return result


def sample(rng: RowRandom, items: Sequence[T] | range, k: int) -> list[T]:
    """Return `k` distinct items of `items` in random order (a partial Fisher-Yates)."""
    if not 0 <= k <= len(items):
        raise ValueError(f"cannot sample {k} items from {len(items)}")
    pool = list(items)
    for i in range(k):
        j = i + randbelow(rng, len(pool) - i)
        pool[i], pool[j] = pool[j], pool[i]
    return pool[:k]


#: A `WeightedSampler` looks up the top this many bits of a word in a table before it searches its bounds.
LOOKUP_BITS = 16
_LOOKUP_SHIFT = 64 - LOOKUP_BITS
#: In a `WeightedSampler`'s table: a span of words that holds a bound, so the item is found by binary search.
_UNSETTLED = object()


class WeightedSampler:
    """Draws items with probability proportional to their weights: the inverse CDF on one 64-bit word.

    The cumulative weights are summed exactly (as fractions) and scaled to integer bounds in ``[0, WORD_SPAN)``,
    so item ``i`` is drawn with probability ``weight_i / total`` to within 2**-64, on every platform.
    A table indexed by a word's top `LOOKUP_BITS` bits holds the item wherever no bound falls inside that span
    of words (most spans, when there are far fewer items than spans); only the other words need the binary
    search. Both give the same item for every word.

    Attributes:
        items: The items, in the order given.
        bounds: ``bounds[i]`` is the first word that draws an item after ``items[i]``.
    """

    def __init__(self, items: Sequence[T], weights: Sequence[float]) -> None:
        if len(items) != len(weights) or not items:
            raise ValueError("WeightedSampler needs as many weights as items, and at least one item")
        if any(not weight > 0 for weight in weights):
            raise ValueError("WeightedSampler needs positive weights")
        cumulative = list(itertools.accumulate(Fraction(weight) for weight in weights))
        total = cumulative[-1]
        self.items = list(items)
        self.bounds = [int(value / total * WORD_SPAN) for value in cumulative[:-1]]
        span = 1 << _LOOKUP_SHIFT
        self._lookup: list[T | object] = [_UNSETTLED] * (1 << LOOKUP_BITS)
        for item, low, high in zip(self.items, [0, *self.bounds], [*self.bounds, WORD_SPAN]):
            first, end = -(-low // span), high // span  # the spans that lie wholly inside [low, high)
            self._lookup[first:end] = [item] * max(0, end - first)

    def draw(self, rng: RowRandom) -> T:
        """Return one item, drawn by weight."""
        word = rng.word()
        item = self._lookup[word >> _LOOKUP_SHIFT]
        return self.items[bisect.bisect_right(self.bounds, word)] if item is _UNSETTLED else item
