"""The decoding engine: schedules, selection rules, seeded tie-breaks, NFE, trajectories and `summarize`."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from parallelbench.reference_decoding.engine import (
    Proposal, block_plan, decode, dynamic_counts, kendall_tau, pick_values, round_probabilities, step_counts, summarize,
)


class FixedDenoiser:
    """Proposes fixed per-slot values and confidences (margin = confidence, entropy = 1 - confidence)."""

    def __init__(self, confidence: list[float], value: int = 7) -> None:
        self.confidence = np.asarray(confidence, dtype=np.float64)
        self.value = value
        self.calls = 0

    def propose(self, tokens, masked, temperature, rng, rows=None):
        self.calls += 1
        shape = masked.shape
        confidence = np.broadcast_to(self.confidence, shape).copy()
        return Proposal(np.full(shape, self.value, dtype=np.int64), confidence, confidence.copy(), 1 - confidence)


class UniformDenoiser:
    """Every slot uniform over `values` values (all confidences tie), through the numpy `summarize`."""

    def __init__(self, values: int = 3) -> None:
        self.values = values

    def propose(self, tokens, masked, temperature, rng, rows=None):
        return summarize(np.full(masked.shape + (self.values,), 1.0 / self.values), temperature, rng)


def test_fixed_k_puts_the_remainder_last():
    assert step_counts(10, tokens_per_step=4) == [4, 4, 2]
    assert step_counts(8, tokens_per_step=4) == [4, 4]
    assert step_counts(3, tokens_per_step=5) == [3]


def test_steps_spread_the_remainder_over_the_early_steps_as_llada():
    assert step_counts(10, steps=4) == [3, 3, 2, 2]
    assert step_counts(7, steps=7) == [1] * 7
    assert step_counts(5) == [5]


@given(length=st.integers(1, 40), k=st.integers(1, 40))
def test_fixed_schedules_cover_every_slot(length, k):
    assert sum(step_counts(length, tokens_per_step=k)) == length
    steps = min(k, length)
    counts = step_counts(length, steps=steps)
    assert sum(counts) == length and len(counts) == steps and max(counts) - min(counts) <= 1
    assert counts == sorted(counts, reverse=True)


@pytest.mark.parametrize("bad", [dict(tokens_per_step=0), dict(steps=0), dict(steps=11),
                                 dict(tokens_per_step=2, steps=2)])
def test_bad_schedules_are_refused(bad):
    with pytest.raises(ValueError):
        step_counts(10, **bad)


def test_semi_autoregressive_steps_are_split_over_blocks():
    blocks, plan = block_plan(8, 4, None, 4)
    assert blocks == [(0, 4), (4, 8)]
    assert plan == [(0, 2), (0, 2), (1, 2), (1, 2)]
    with pytest.raises(ValueError):
        block_plan(8, 4, None, 3)  # 3 steps cannot be split over 2 blocks


@pytest.mark.parametrize("rule", ["random", "confidence", "margin", "entropy"])
@pytest.mark.parametrize("schedule", [dict(tokens_per_step=3), dict(steps=4), dict(tokens_per_step=2, block_length=4),
                                      dict(steps=6, block_length=5), {}])
def test_nfe_equals_the_number_of_steps(rule, schedule):
    denoiser = UniformDenoiser()
    result = decode(denoiser, 5, 10, rule=rule, temperature=1.0, seed=3, **schedule)
    blocks, plan = block_plan(10, schedule.get("block_length"), schedule.get("tokens_per_step"), schedule.get("steps"))
    assert (result.nfe == len(plan)).all()
    for counts in result.tokens_per_step:
        assert counts == [count for _, count in plan]
    assert (result.fill_step >= 0).all()
    for sample in range(5):  # the trajectory: each step fills exactly its scheduled number of slots
        assert np.bincount(result.fill_step[sample]).tolist() == result.tokens_per_step[sample]


def test_blocks_are_decoded_left_to_right():
    result = decode(UniformDenoiser(), 20, 12, tokens_per_step=2, block_length=4, rule="confidence", seed=1)
    for row in result.fill_step:
        assert row[:4].max() < row[4:8].min() and row[4:8].max() < row[8:].min()


def test_threshold_above_every_confidence_decodes_one_slot_per_step():
    denoiser = FixedDenoiser([0.5, 0.9, 0.3, 0.8, 0.7])
    result = decode(denoiser, 3, 5, rule="threshold", threshold=0.95)
    assert result.tokens_per_step == [[1] * 5] * 3
    assert (result.nfe == 5).all() and denoiser.calls == 5
    # and the single slot is always the most confident one left
    assert result.fill_step[0].tolist() == [3, 0, 4, 1, 2]


def test_threshold_takes_the_top_slot_plus_every_slot_at_or_above_tau():
    result = decode(FixedDenoiser([0.5, 0.9, 0.3, 0.8, 0.7]), 1, 5, rule="threshold", threshold=0.7)
    assert result.tokens_per_step == [[3, 1, 1]]
    assert result.fill_step[0].tolist() == [1, 0, 2, 0, 0]


def test_factor_modes_differ_exactly_when_the_first_failing_slot_is_the_last_one():
    # (0.9, 0.5), f = 1: n = 2 fails (3 * 0.5 > 1) and is the last slot -> exact 1, fastdllm 2.
    exact = decode(FixedDenoiser([0.9, 0.5]), 1, 2, rule="factor", factor=1.0)
    quirk = decode(FixedDenoiser([0.9, 0.5]), 1, 2, rule="factor", factor=1.0, factor_mode="fastdllm")
    assert exact.tokens_per_step == [[1, 1]] and quirk.tokens_per_step == [[2]]
    # (0.95, 0.9, 0.2): n = 2 passes (3 * 0.1 <= 1), n = 3 fails at the last slot -> exact 2, fastdllm 3.
    exact = decode(FixedDenoiser([0.95, 0.9, 0.2]), 1, 3, rule="factor", factor=1.0)
    quirk = decode(FixedDenoiser([0.95, 0.9, 0.2]), 1, 3, rule="factor", factor=1.0, factor_mode="fastdllm")
    assert exact.tokens_per_step[0][0] == 2 and quirk.tokens_per_step == [[3]]
    # (0.9, 0.2, 0.1): the first failure (n = 2) is not the last slot -> both take 1.
    for mode in ("exact", "fastdllm"):
        result = decode(FixedDenoiser([0.9, 0.2, 0.1]), 1, 3, rule="factor", factor=1.0, factor_mode=mode)
        assert result.tokens_per_step[0][0] == 1


@given(conf=st.lists(st.floats(0.0, 1.0), min_size=1, max_size=8), factor=st.floats(0.05, 4.0))
def test_factor_exact_is_the_largest_n_meeting_the_bound(conf, factor):
    ordered = np.sort(np.asarray(conf))[::-1]
    exact = dynamic_counts("factor", ordered[None, :], np.array([len(conf)]), None, factor, "exact")[0]
    passing = [n for n in range(1, len(conf) + 1) if ordered[n - 1] >= 1 - factor / (n + 1)]
    expected = max([1] + [n for n in passing if all(m in passing for m in range(2, n + 1))])
    assert exact == expected
    quirk = dynamic_counts("factor", ordered[None, :], np.array([len(conf)]), None, factor, "fastdllm")[0]
    differs = quirk != exact
    assert differs == (len(conf) >= 2 and exact == len(conf) - 1)
    if differs:
        assert quirk == len(conf)


def test_ties_are_broken_by_the_seed_not_by_position():
    first = [int(np.argmin(decode(FixedDenoiser([0.5] * 6), 1, 6, tokens_per_step=1, rule="confidence",
                                  seed=seed).fill_step[0])) for seed in range(300)]
    counts = np.bincount(first, minlength=6)
    assert counts.min() > 25  # every position is chosen first about 50 times in 300


def test_decoding_is_seeded():
    def run(seed):
        return decode(UniformDenoiser(), 4, 9, tokens_per_step=2, rule="random", temperature=1.0, seed=seed)

    assert np.array_equal(run(5).tokens, run(5).tokens) and np.array_equal(run(5).fill_step, run(5).fill_step)
    assert not np.array_equal(run(5).fill_step, run(6).fill_step)


def test_order_tau_is_one_left_to_right_and_minus_one_right_to_left():
    forward = decode(FixedDenoiser([0.9, 0.8, 0.7, 0.6]), 1, 4, tokens_per_step=1, rule="confidence")
    backward = decode(FixedDenoiser([0.6, 0.7, 0.8, 0.9]), 1, 4, tokens_per_step=1, rule="confidence")
    at_once = decode(FixedDenoiser([0.6, 0.7, 0.8, 0.9]), 1, 4, rule="confidence")
    assert forward.order_tau[0] == pytest.approx(1.0) and backward.order_tau[0] == pytest.approx(-1.0)
    assert math.isnan(at_once.order_tau[0])
    # tau-b: pairs filled in the same step are ties, so block-by-block order scores below 1
    assert kendall_tau(np.array([[0, 0, 1, 1]]))[0] == pytest.approx(4 / math.sqrt(6 * 4))


@pytest.mark.parametrize("bad", [dict(rule="greedy"), dict(rule="threshold"), dict(rule="factor", factor=0),
                                 dict(rule="threshold", threshold=0.9, tokens_per_step=2),
                                 dict(rule="factor", factor=1.0, factor_mode="quirky")])
def test_bad_settings_are_refused(bad):
    with pytest.raises(ValueError):
        decode(UniformDenoiser(), 1, 4, **bad)


def test_summarize_reads_value_confidence_margin_entropy_from_one_distribution():
    probs = np.array([[[0.5, 0.3, 0.2], [0.25, 0.25, 0.5]]])
    proposal = summarize(probs, 0.0, np.random.default_rng(0))
    assert proposal.value.tolist() == [[0, 2]]
    assert proposal.confidence.tolist() == [[0.5, 0.5]]
    assert proposal.margin[0] == pytest.approx([0.2, 0.25])
    assert proposal.entropy[0, 0] == pytest.approx(-(0.5 * math.log(0.5) + 0.3 * math.log(0.3) + 0.2 * math.log(0.2)))


def test_sampled_values_follow_the_temperature_scaled_marginal():
    probs = np.broadcast_to(np.array([0.6, 0.3, 0.1]), (1, 20000, 3))
    values = summarize(probs, 1.0, np.random.default_rng(1)).value[0]
    assert np.bincount(values, minlength=3) / len(values) == pytest.approx([0.6, 0.3, 0.1], abs=0.02)
    sharp = summarize(probs, 0.5, np.random.default_rng(1))  # p ** 2 renormalised: 36/46, 9/46, 1/46
    assert np.bincount(sharp.value[0], minlength=3) / 20000 == pytest.approx([36 / 46, 9 / 46, 1 / 46], abs=0.02)
    assert sharp.confidence[0, sharp.value[0] == 0][0] == pytest.approx(36 / 46)


def test_argmax_ties_pick_the_floor_u_times_ties_th_tied_value():
    weights = np.array([[1.0, 3.0, 3.0, 0.0, 3.0]])
    assert pick_values(weights, 0.0, np.array([0.0])).tolist() == [1]
    assert pick_values(weights, 0.0, np.array([0.5])).tolist() == [2]
    assert pick_values(weights, 0.0, np.array([0.99])).tolist() == [4]
    assert pick_values(weights, 1.0, np.array([0.1])).tolist() == [1]  # cumulative 1, 4: 0.1 * 10 = 1 -> second


def test_bfloat16_rounding_makes_near_ties_exact_ties():
    probs = np.array([0.5, 0.5001, 0.25])
    assert len(set(round_probabilities(probs, "float64").tolist())) == 3
    rounded = round_probabilities(probs, "bfloat16")
    assert rounded[0] == rounded[1] and rounded[2] == 0.25
    with pytest.raises(ValueError):
        round_probabilities(probs, "int8")


@settings(max_examples=30, deadline=None)
@given(length=st.integers(1, 12), k=st.integers(1, 6), block=st.integers(1, 12), seed=st.integers(0, 1000),
       rule=st.sampled_from(["random", "confidence", "margin", "entropy"]))
def test_every_slot_is_filled_once_with_its_proposed_value(length, k, block, seed, rule):
    result = decode(UniformDenoiser(4), 3, length, tokens_per_step=k, block_length=block, rule=rule, seed=seed)
    assert ((result.tokens >= 0) & (result.tokens < 4)).all()
    assert [sum(counts) for counts in result.tokens_per_step] == [length] * 3
    assert result.mean_tokens_per_step == pytest.approx(length / result.nfe.mean())


class PerSampleDenoiser:
    """Sample i is sure of every slot (confidence 1) when i is even, unsure (0.1) when odd; records `rows`."""

    def __init__(self) -> None:
        self.seen_rows: list[list[int]] = []

    def propose(self, tokens, masked, temperature, rng, rows=None):
        self.seen_rows.append(list(rows))
        confidence = np.where((np.asarray(rows) % 2 == 0)[:, None], 1.0, 0.1) * np.ones(masked.shape)
        return Proposal(np.zeros(masked.shape, dtype=np.int64), confidence, confidence.copy(), 1 - confidence)


def test_the_engine_tells_the_denoiser_which_samples_remain():
    # under the threshold rule the sure samples finish in one step and leave the batch; the others go on
    denoiser = PerSampleDenoiser()
    result = decode(denoiser, 4, 3, rule="threshold", threshold=0.9, seed=0)
    assert denoiser.seen_rows[0] == [0, 1, 2, 3]
    assert all(rows == [1, 3] for rows in denoiser.seen_rows[1:]) and len(denoiser.seen_rows) == 3
    assert result.nfe.tolist() == [1, 3, 1, 3]


@pytest.mark.parametrize("settings_kwargs", [
    {"rule": "psychic"}, {"factor_mode": "loose"}, {"rule": "threshold", "threshold": 1.5},
    {"rule": "threshold", "threshold": 0.9, "tokens_per_step": 2}, {"rule": "factor"}, {"steps": 3, "block_length": 4},
    {"tokens_per_step": 0},
])
def test_engine_and_oracle_refuse_the_same_settings_with_the_same_message(settings_kwargs):
    from parallelbench.errors import UsageError
    from parallelbench.reference_decoding.engine import DecodeSettings
    from parallelbench.reference_decoding.oracle import OracleSetup

    messages = []
    for make in (lambda: DecodeSettings(8, **settings_kwargs), lambda: OracleSetup(8, **settings_kwargs),
                 lambda: decode(UniformDenoiser(), 1, 8, **settings_kwargs)):
        with pytest.raises(UsageError) as caught:
            make()
        messages.append(str(caught.value))
    assert len(set(messages)) == 1
