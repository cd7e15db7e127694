"""The oracle: closed forms, greedy facts, the exact computation against a brute force and against Monte Carlo."""

from __future__ import annotations

import itertools
import math
from collections import Counter
from fractions import Fraction
from functools import lru_cache

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import parallelbench as pb
from parallelbench.reference_decoding.accuracy import oracle_result
from parallelbench.reference_decoding.engine import block_plan, dynamic_counts
from parallelbench.reference_decoding.exact import TooLarge, exact_accuracy
from parallelbench.reference_decoding.oracle import (
    AnswerSet, OracleDenoiser, OracleSetup, count_entropy, monte_carlo_accuracy, wilson_interval,
)


def all_permutations(n: int) -> list[tuple[str, ...]]:
    return list(itertools.permutations([f"item{i}" for i in range(n)]))


def permutation_closed_form(n: int, k: int) -> Fraction:
    """Uniform over all n! permutations, random order, k per step: prod over steps of m! / ((m - k)! m^k)."""
    value, masked = Fraction(1), n
    while masked:
        step = min(k, masked)
        value *= Fraction(math.factorial(masked), math.factorial(masked - step) * masked ** step)
        masked -= step
    return value


def rows(task: str, n: int, **params):
    return pb.generate(task, n, seed=11, **params)


# ---------------------------------------------------------------- closed forms


def test_paper_closed_forms_for_permutations():
    assert oracle_result(all_permutations(4), 2).value == Fraction(3, 8)
    assert oracle_result(all_permutations(5), 3).value == Fraction(6, 25)  # 3 then 2
    for n in range(2, 7):
        assert oracle_result(all_permutations(n), n).value == Fraction(math.factorial(n), n ** n)
        assert oracle_result(all_permutations(n), None).value == Fraction(math.factorial(n), n ** n)


@pytest.mark.parametrize("n", [3, 4, 5, 6])
def test_permutation_product_formula_for_every_k(n):
    for k in range(1, n + 1):
        assert oracle_result(all_permutations(n), k).value == permutation_closed_form(n, k)


def derangements(n: int) -> int:
    return round(math.factorial(n) / math.e) if n else 1


@pytest.mark.parametrize("n", [3, 4, 5, 6])
def test_our_shuffle_all_at_once_matches_its_closed_form(n):
    # Our shuffle excludes the identity: slot i takes its own item with ((n-1)! - 1) / (n! - 1), another item with
    # (n-1)! / (n! - 1); a permutation with f fixed points is decoded with the product of those.
    row = rows("waiting_line/shuffle", 1, length=n)[0]
    own, other = math.factorial(n - 1) - 1, math.factorial(n - 1)
    numerator = sum(math.comb(n, f) * derangements(n - f) * own ** f * other ** (n - f) for f in range(n - 1))
    assert pb.oracle_accuracy(row, None) == Fraction(numerator, (math.factorial(n) - 1) ** n)


def test_our_shuffle_exact_values_are_pinned():
    row = rows("waiting_line/shuffle", 1, length=4)[0]
    assert pb.oracle_accuracy(row, 2) == Fraction(211, 529)  # 3/8 for all 24 permutations
    assert pb.oracle_accuracy(row, None) == Fraction(25704, 279841)  # 3/32 for all 24 permutations
    assert pb.oracle_accuracy(row, 2, "confidence", "argmax") == Fraction(7, 18)
    assert pb.oracle_accuracy(row, 1) == 1


@pytest.mark.parametrize("n", range(2, 9))
def test_random_replace_all_at_once(n):
    row = rows("waiting_line/replace_random", 1, length=n)[0]
    value = pb.oracle_accuracy(row, None)
    assert isinstance(value, Fraction) and value == Fraction(n - 1, n) ** (n - 1)


@pytest.mark.parametrize("task", ["waiting_line/copy", "waiting_line/sort", "waiting_line/reverse",
                                  "waiting_line/insert_index", "waiting_line/remove_index",
                                  "waiting_line/replace_index", "list_ops/sort", "puzzle/sudoku_n4_8"])
def test_single_answer_tasks_are_always_right(task):
    row = rows(task, 1)[0]
    for k in (1, 2, 3, None):
        for rule in ("random", "confidence", "margin", "entropy"):
            for values in ("sample", "argmax"):
                assert pb.oracle_accuracy(row, k, rule, values) == 1
    assert pb.oracle_accuracy(row, None, "threshold", threshold=0.9) == 1
    assert pb.oracle_accuracy(row, None, "factor", factor=1.0) == 1


# ---------------------------------------------------------------- greedy facts


@pytest.mark.parametrize("n", [3, 4, 5, 6, 7])
def test_random_replace_under_greedy_depends_on_the_last_step(n):
    row = rows("waiting_line/replace_random", 1, length=n)[0]
    for k in range(1, n + 1):
        last = n - (math.ceil(n / k) - 1) * k
        expected = {1: 1, 2: Fraction(1, 2)}.get(last, 0)
        assert pb.oracle_accuracy(row, k, "confidence", "argmax") == expected, (n, k)


@pytest.mark.parametrize("n,k", [(3, 2), (4, 2), (4, 3), (5, 2), (5, 3), (5, 5)])
def test_permutations_under_greedy_equal_permutations_under_sampling(n, k):
    answers = all_permutations(n)
    assert oracle_result(answers, k, "confidence", "argmax").value == oracle_result(answers, k).value


def test_argmax_averages_over_tie_breaks_exactly():
    answers = [("a", "b"), ("b", "a")]
    assert oracle_result(answers, None, "random", "argmax").value == Fraction(1, 2)
    assert oracle_result(answers, 1, "confidence", "argmax").value == 1


# ---------------------------------------------------------------- the exact computation against a brute force


def brute_force(answers, k, rule, values, block_length=None, threshold=None, factor=None, factor_mode="exact"):
    """Enumerate every random outcome the engine can meet: each eligible slot's value and every tie-break order."""
    length = len(answers[0])
    blocks, plan = block_plan(length, block_length, k, None)

    @lru_cache(maxsize=None)
    def accuracy(revealed: frozenset, step: int) -> Fraction:
        known = dict(revealed)
        consistent = [a for a in answers if all(a[i] == v for i, v in known.items())]
        if not consistent:
            return Fraction(0)
        masked = [i for i in range(length) if i not in known]
        if not masked:
            return Fraction(1)
        n = len(consistent)
        if rule in ("threshold", "factor"):
            start, end = next(b for b in blocks if any(b[0] <= i < b[1] for i in masked))
        else:
            start, end = blocks[plan[step][0]]
        eligible = [i for i in masked if start <= i < end]
        counts = {i: Counter(a[i] for a in consistent) for i in eligible}

        def options(i):
            if values == "sample":
                return [(v, Fraction(c, n)) for v, c in counts[i].items()]
            top = max(counts[i].values())
            tied = [v for v, c in counts[i].items() if c == top]
            return [(v, Fraction(1, len(tied))) for v in tied]

        total = Fraction(0)
        for combo in itertools.product(*(options(i) for i in eligible)):
            chosen_values = {i: v for i, (v, _) in zip(eligible, combo)}
            weight = math.prod((p for _, p in combo), start=Fraction(1))
            confidence = {i: counts[i][chosen_values[i]] / n for i in eligible}
            ordered = {i: sorted(counts[i].values(), reverse=True) + [0] for i in eligible}
            score = {
                "random": {i: 0.0 for i in eligible},
                "margin": {i: (ordered[i][0] - ordered[i][1]) / n for i in eligible},
                "entropy": {i: -float(count_entropy(np.array(list(counts[i].values())))) for i in eligible},
            }.get(rule, confidence)
            orders = list(itertools.permutations(eligible))
            for order in orders:
                ranking = sorted(eligible, key=lambda i: (-score[i], order.index(i)))
                if rule in ("threshold", "factor"):
                    size = int(dynamic_counts(rule, np.array([[confidence[i] for i in ranking]]),
                                              np.array([len(eligible)]), threshold, factor, factor_mode)[0])
                else:
                    size = min(plan[step][1], len(eligible))
                update = {i: chosen_values[i] for i in ranking[:size]}
                total += weight / len(orders) * accuracy(frozenset({**known, **update}.items()), step + 1)
        return total

    return accuracy(frozenset(), 0)


answer_sets = st.integers(2, 4).flatmap(lambda length: st.integers(2, 3).flatmap(lambda alphabet: st.lists(
    st.tuples(*[st.sampled_from("abc"[:alphabet])] * length), min_size=1, max_size=6, unique=True)))
settings_cases = st.sampled_from([
    dict(rule="random", values="sample"), dict(rule="random", values="argmax"),
    dict(rule="confidence", values="sample"), dict(rule="confidence", values="argmax"),
    dict(rule="margin", values="sample"), dict(rule="margin", values="argmax"),
    dict(rule="entropy", values="sample"), dict(rule="entropy", values="argmax"),
    dict(rule="threshold", values="sample", threshold=0.6), dict(rule="threshold", values="argmax", threshold=0.3),
    dict(rule="factor", values="sample", factor=1.0), dict(rule="factor", values="argmax", factor=0.5),
    dict(rule="factor", values="sample", factor=1.0, factor_mode="fastdllm"),
    dict(rule="factor", values="argmax", factor=2.0, factor_mode="fastdllm"),
])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(answers=answer_sets, case=settings_cases, k=st.sampled_from([1, 2, None]),
       block_length=st.sampled_from([None, 2]))
def test_exact_equals_a_brute_force_over_every_random_outcome(answers, case, k, block_length):
    if case["rule"] in ("threshold", "factor"):
        k = None
    setup = OracleSetup(len(answers[0]), k, None, block_length, **case)
    expected = brute_force(answers, k, block_length=block_length, **case)
    assert exact_accuracy(AnswerSet.from_answers(answers), setup, max_work=10 ** 6) == expected


@settings(max_examples=40, deadline=None)
@given(answers=answer_sets, case=settings_cases, seed=st.integers(0, 10 ** 6))
def test_exact_ignores_unit_names_answer_order_and_slot_order(answers, case, seed):
    k = None if case["rule"] in ("threshold", "factor") else 2
    rng = np.random.default_rng(seed)
    renamed = {v: f"unit-{i}" for i, v in enumerate(rng.permutation(list("abc")))}
    columns = rng.permutation(len(answers[0]))
    order = rng.permutation(len(answers))
    shuffled = [tuple(renamed[answers[a][c]] for c in columns) for a in order]
    setup = OracleSetup(len(answers[0]), k, **case)
    original = exact_accuracy(AnswerSet.from_answers(answers), setup)
    assert original == exact_accuracy(AnswerSet.from_answers(shuffled), setup)


# ---------------------------------------------------------------- the engine's Monte Carlo agrees with the exact value


@pytest.mark.parametrize("case", [
    dict(rule="random", values="sample"), dict(rule="confidence", values="argmax"),
    dict(rule="confidence", values="sample"), dict(rule="entropy", values="argmax"),
    dict(rule="threshold", values="sample", threshold=0.5), dict(rule="factor", values="argmax", factor=1.0),
])
def test_monte_carlo_through_the_engine_agrees_with_the_exact_value(case):
    answers = AnswerSet.from_answers([answer for answer in all_permutations(4) if answer[0] != "item1"])
    k = None if case["rule"] in ("threshold", "factor") else 2
    setup = OracleSetup(4, k, **case)
    exact = float(exact_accuracy(answers, setup))
    estimate = monte_carlo_accuracy(answers, setup, samples=6000, seed=2)
    assert estimate.low <= exact <= estimate.high


def test_too_large_falls_back_to_monte_carlo_with_an_interval():
    row = rows("waiting_line/shuffle", 1, length=5)[0]
    answers = pb.enumerate_answers(row)
    with pytest.raises(TooLarge):
        exact_accuracy(AnswerSet.from_answers(answers), OracleSetup(5, 2), max_work=1)
    result = oracle_result(answers, 2, max_work=1, samples=3000)
    assert not result.exact and result.method == "monte_carlo" and result.samples == 3000
    assert result.low <= result.value <= result.high
    exact = pb.oracle_accuracy(row, 2)
    assert abs(result.value - exact) < result.high - result.low  # within two half-widths of the 95% interval
    assert isinstance(pb.oracle_accuracy(row, 2, max_work=1, samples=500), float)


def test_oracle_marginals_are_shares_of_consistent_answers():
    answers = AnswerSet.from_answers([("a", "x"), ("a", "y"), ("b", "y")])
    denoiser = OracleDenoiser(answers)
    tokens = np.array([[0, 0], [1, 0]])
    masked = np.array([[True, True], [False, True]])
    counts = denoiser.counts(tokens, masked)
    assert counts[0].tolist() == [[2, 1], [1, 2]]
    assert counts[1].tolist() == [[0, 1], [0, 1]]  # after revealing "b": only ("b", "y") is left
    proposal = denoiser.propose(tokens, masked, 0.0, np.random.default_rng(0))
    assert proposal.value[0].tolist() == [0, 1] and proposal.confidence[0] == pytest.approx([2 / 3, 2 / 3])
    dead = denoiser.propose(np.array([[1, 0]]), np.array([[False, False]]), 1.0, np.random.default_rng(0))
    assert dead.value.tolist() == [[-1, -1]] and dead.confidence.tolist() == [[0.0, 0.0]]


def test_rows_without_enumerable_answers_are_refused():
    row = rows("waiting_line_n15/shuffle", 1)[0]
    with pytest.raises(ValueError, match="cannot enumerate"):
        pb.oracle_accuracy(row, 2)


def test_answer_sets_are_checked():
    for bad in ([], [("a",), ("a", "b")], [("a", "b"), ("a", "b")]):
        with pytest.raises(ValueError):
            AnswerSet.from_answers(bad)


def test_wilson_interval_is_clamped_at_the_ends():
    assert wilson_interval(0, 100)[0] == 0.0 and wilson_interval(100, 100)[1] == 1.0
    low, high = wilson_interval(50, 100)
    assert low < 0.5 < high and high - low == pytest.approx(0.19, abs=0.01)
