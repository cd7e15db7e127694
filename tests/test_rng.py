"""The seeded streams and samplers: defined by SHAKE-128, exact, and pinned to values that must not move."""

from __future__ import annotations

import bisect
import collections
import hashlib
import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from parallelbench import rng as rnd


class FixedWords:
    """A stand-in stream that returns the given words in order (to test how samplers consume words)."""

    def __init__(self, *words: int) -> None:
        self.word = iter(words).__next__


def _shake_word(key: str, block: int, position: int) -> int:
    digest = hashlib.shake_128(f"{key}|{block}".encode()).digest(8 * rnd.BLOCK_WORDS)
    return int.from_bytes(digest[8 * position : 8 * position + 8], "little")


def test_a_row_stream_is_shake128_of_task_seed_index_block():
    words = rnd.instance_rng("waiting_line/shuffle", 7, 3).word
    first_blocks = [words() for _ in range(2 * rnd.BLOCK_WORDS)]
    expected = [_shake_word("waiting_line/shuffle|7|3", block, position)
                for block in (0, 1) for position in range(rnd.BLOCK_WORDS)]
    assert first_blocks == expected


def test_row_streams_are_pinned():
    # Golden value: if it moves, every published row moves too.
    assert rnd.instance_rng("waiting_line/shuffle", 7, 3).word() == 15431663976438823896


def test_example_streams_have_their_own_keys():
    assert rnd.example_rng("t", 1, 2).key == "t|1|example|2"
    assert rnd.example_rng("t", 1, 2).word() != rnd.instance_rng("t", 1, 2).word()


def test_neighbouring_seeds_and_indices_do_not_share_streams():
    firsts = {rnd.instance_rng("t", seed, index).word() for seed, index in [(1, 2), (2, 1), (1, 3), (12, 3), (1, 23)]}
    assert len(firsts) == 5


def test_randbelow_redraws_words_past_the_last_whole_multiple():
    limit = rnd.WORD_SPAN - rnd.WORD_SPAN % 3
    assert rnd.randbelow(FixedWords(limit, limit + 1, 7), 3) == 7 % 3
    assert rnd.randbelow(FixedWords(limit - 1), 3) == (limit - 1) % 3


def test_randbelow_is_uniform_and_in_range():
    generator = rnd.instance_rng("uniform", 0, 0)
    counts = collections.Counter(rnd.randbelow(generator, 6) for _ in range(60_000))
    assert set(counts) == set(range(6))
    assert all(abs(count - 10_000) < 500 for count in counts.values())


def test_randbelow_rejects_empty_range():
    with pytest.raises(ValueError):
        rnd.randbelow(rnd.instance_rng("x", 0, 0), 0)


def test_shuffled_reaches_every_permutation_evenly():
    generator = rnd.instance_rng("perm", 0, 0)
    counts = collections.Counter(tuple(rnd.shuffled(generator, "abc")) for _ in range(60_000))
    assert len(counts) == 6
    assert all(abs(count - 10_000) < 500 for count in counts.values())


def test_sample_gives_distinct_items():
    generator = rnd.instance_rng("sample", 0, 0)
    for _ in range(200):
        picked = rnd.sample(generator, range(10), 4)
        assert len(set(picked)) == 4


def test_weighted_sampler_follows_weights():
    sampler = rnd.WeightedSampler(["a", "b"], [1.0, 3.0])
    generator = rnd.instance_rng("weights", 0, 0)
    counts = collections.Counter(sampler.draw(generator) for _ in range(40_000))
    assert abs(counts["b"] / 40_000 - 0.75) < 0.01


def test_weighted_sampler_bounds_are_the_exact_cumulative_shares():
    sampler = rnd.WeightedSampler("abc", [1.0, 2.0, 1.0])
    assert sampler.bounds == [rnd.WORD_SPAN // 4, 3 * rnd.WORD_SPAN // 4]


@pytest.mark.parametrize("weights", [[1.0, 0.0], [1.0, -2.0], []])
def test_weighted_sampler_rejects_bad_weights(weights):
    with pytest.raises(ValueError):
        rnd.WeightedSampler(["x"] * len(weights) or ["x"], weights)


@settings(max_examples=50, deadline=None)
@given(weights=st.lists(st.floats(min_value=1e-9, max_value=1e6), min_size=1, max_size=300),
       probes=st.lists(st.integers(min_value=0, max_value=rnd.WORD_SPAN - 1), max_size=50))
def test_the_lookup_table_draws_what_the_binary_search_draws(weights, probes):
    sampler = rnd.WeightedSampler(list(range(len(weights))), weights)
    edges = [word + step for bound in sampler.bounds for word, step in itertools.product([bound], (-1, 0, 1))]
    for word in [*probes, *edges, 0, rnd.WORD_SPAN - 1]:
        if 0 <= word < rnd.WORD_SPAN:
            assert sampler.draw(FixedWords(word)) == bisect.bisect_right(sampler.bounds, word)
