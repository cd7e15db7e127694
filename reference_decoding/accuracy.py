"""The oracle's accuracy for a row: exact where the answer set allows, Monte Carlo with a 95% interval otherwise.

This is the task's intrinsic parallel-decoding difficulty: the accuracy of a perfect model of the task under a
schedule and a selection rule. ``parallelbench.oracle_accuracy`` is the public entry point.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from ..answers import enumerate_answers
from .exact import MAX_WORK, TooLarge, exact_accuracy
from .oracle import UNIT, AnswerSet, OracleSetup, monte_carlo_accuracy

#: Decodes per Monte Carlo estimate when the exact computation is too large.
MONTE_CARLO_SAMPLES = 4000


@dataclass(frozen=True)
class OracleResult:
    """The oracle's accuracy under one setup.

    Attributes:
        value: The accuracy: a `Fraction` when exact, else the Monte Carlo share of correct decodes.
        exact: Whether `value` is exact.
        method: ``exact`` or ``monte_carlo``.
        low: Lower end of the 95% interval (equal to `value` when exact).
        high: Upper end of the 95% interval (equal to `value` when exact).
        samples: Decodes behind a Monte Carlo estimate (None when exact).
        unit: What one decoded slot is (answer units: names, list items, grid cells; never model tokens).
    """

    value: Fraction | float
    exact: bool
    method: str
    low: float
    high: float
    samples: int | None = None
    unit: str = UNIT


def oracle_result(answers: AnswerSet | Sequence[Sequence[str]], tokens_per_step: int | None = None,
                  rule: str = "random", values: str = "sample", *, steps: int | None = None,
                  block_length: int | None = None, threshold: float | None = None, factor: float | None = None,
                  factor_mode: str = "exact", max_work: int = MAX_WORK, samples: int = MONTE_CARLO_SAMPLES,
                  seed: int = 0) -> OracleResult:
    """Return the oracle's accuracy on an answer set: exact within `max_work`, else Monte Carlo.

    Args:
        answers: The correct answers (tuples of answer units) or an encoded `AnswerSet`.
        tokens_per_step: k slots per step; None (with `steps` None) decodes every slot in one step.
        rule: ``random``, ``confidence``, ``margin``, ``entropy``, ``threshold`` or ``factor``.
        values: ``sample`` (each chosen slot samples its marginal) or ``argmax`` (seeded uniform tie-break; the exact
            value averages over the tie-breaks).
        steps: T steps in total instead of `tokens_per_step`.
        block_length: Semi-autoregressive blocks.
        threshold: tau of the ``threshold`` rule.
        factor: f of the ``factor`` rule.
        factor_mode: ``exact`` or ``fastdllm`` (see `parallelbench.reference_decoding.engine`).
        max_work: Budget of the exact computation before falling back to Monte Carlo.
        samples: Monte Carlo decodes.
        seed: Monte Carlo seed.

    Returns:
        An `OracleResult`.
    """
    answer_set = answers if isinstance(answers, AnswerSet) else AnswerSet.from_answers(answers)
    setup = OracleSetup(answer_set.length, tokens_per_step, steps, block_length, rule, values, threshold, factor,
                        factor_mode)
    try:
        value = exact_accuracy(answer_set, setup, max_work)
    except TooLarge:
        estimate = monte_carlo_accuracy(answer_set, setup, samples, seed)
        return OracleResult(estimate.value, False, "monte_carlo", estimate.low, estimate.high, estimate.samples)
    return OracleResult(value, True, "exact", float(value), float(value))


def row_answer_set(row: Mapping[str, Any]) -> AnswerSet | None:
    """Return a row's correct answers as an `AnswerSet`, or None when the task cannot enumerate them."""
    answers = enumerate_answers(row)
    return None if answers is None else AnswerSet.from_answers(answers)


def oracle_accuracy(row: Mapping[str, Any], tokens_per_step: int | None = None, rule: str = "random",
                    values: str = "sample", **options: Any) -> Fraction | float:
    """Return the oracle's accuracy on one row: a `Fraction` when exact, else a float Monte Carlo estimate.

    Slots are the row's answer units (names, list items, grid cells), not model tokens.

    Args:
        row: A generated row of a task whose answers can be enumerated.
        tokens_per_step: Answer units decoded per step; None decodes all of them in one step.
        rule: ``random``, ``confidence``, ``margin``, ``entropy``, ``threshold`` or ``factor``.
        values: ``sample`` or ``argmax`` (seeded uniform tie-break, averaged over exactly).
        **options: Further keywords of `oracle_result` (``steps``, ``block_length``, ``threshold``, ``factor``,
            ``factor_mode``, ``max_work``, ``samples``, ``seed``).

    Returns:
        The probability that the oracle decodes a correct answer.

    Raises:
        ValueError: When the row's answers cannot be enumerated, or for a bad setting.
    """
    answers = row_answer_set(row)
    if answers is None:
        raise ValueError(f"task {row.get('task')!r} cannot enumerate this row's answers (none, or too many)")
    return oracle_result(answers, tokens_per_step, rule, values, **options).value
