"""The oracle denoiser: the perfect model of a task, built from a row's complete set of correct answers.

The oracle holds the uniform distribution over the correct answers. Its marginal for a slot, given the slots revealed
so far, is the share of still-consistent answers with each value there; when no answer is consistent any more the
decode has failed. Slots are *answer units* (names, list items, grid cells), not model tokens, so every accuracy the
oracle reports is per answer unit.

This module holds the answer set, the oracle as an engine `Denoiser`, the decoding setup (schedule and rule) shared by
the exact and the Monte Carlo computations, and the Monte Carlo estimate itself.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import UsageError
from .engine import DecodeSettings, Proposal, decode, pick_values

#: How the value of a chosen slot is picked: a sample from its marginal, or its argmax (seeded uniform tie-break).
VALUE_MODES: tuple[str, ...] = ("sample", "argmax")
#: What one oracle slot is.
UNIT = "answer unit"


@dataclass(frozen=True)
class AnswerSet:
    """A row's correct answers, each slot's values numbered by first appearance.

    Attributes:
        codes: (N, L) int64: ``codes[a, i]`` is the number of answer a's unit in slot i; the numbering follows the order
            of first appearance in the answer list, so answer sets that differ only in their unit strings (two shuffle
            rows of the same length) get the same codes.
        units: Per slot, the unit strings by number.
    """

    codes: np.ndarray
    units: tuple[tuple[str, ...], ...]

    @classmethod
    def from_answers(cls, answers: Sequence[Sequence[str]]) -> AnswerSet:
        """Encode a list of answers (tuples of answer units, all of one length, no duplicates)."""
        answers = [tuple(answer) for answer in answers]
        if not answers:
            raise ValueError("an answer set needs at least one answer")
        length = len(answers[0])
        if length == 0 or any(len(answer) != length for answer in answers):
            raise ValueError("every answer must have the same, non-zero number of units")
        if len(set(answers)) != len(answers):
            raise ValueError("the answers must be distinct")
        numbering: list[dict[str, int]] = []
        columns = []
        for slot in zip(*answers):
            numbers: dict[str, int] = {}
            columns.append([numbers.setdefault(unit, len(numbers)) for unit in slot])
            numbering.append(numbers)
        return cls(np.array(columns, dtype=np.int64).T.copy(), tuple(tuple(numbers) for numbers in numbering))

    @property
    def length(self) -> int:
        """Slots per answer."""
        return int(self.codes.shape[1])

    def __len__(self) -> int:
        return int(self.codes.shape[0])

    def contains(self, tokens: np.ndarray) -> np.ndarray:
        """Return, for each row of (B, L) `tokens`, whether it is one of the answers."""
        known = {row.tobytes() for row in self.codes}
        return np.array([np.ascontiguousarray(row, dtype=np.int64).tobytes() in known for row in tokens], dtype=bool)


def count_entropy(counts: np.ndarray) -> np.ndarray:
    """Entropy (nats) of the distributions given by value counts along the last axis.

    The counts are sorted and summed left to right, so the same multiset of counts always gives bit-identical
    entropies; the exact and the Monte Carlo computations then see the same ties.
    """
    counts = np.sort(np.asarray(counts, dtype=np.float64), axis=-1)
    share = counts / np.maximum(counts.sum(axis=-1, keepdims=True), 1.0)
    terms = share * np.log(np.where(share > 0, share, 1.0))
    return -np.cumsum(terms, axis=-1)[..., -1]


class OracleDenoiser:
    """The engine `Denoiser` of an answer set: exact conditional marginals, values per `VALUE_MODES`.

    Temperature 0 proposes the argmax with a seeded uniform tie-break; any temperature > 0 samples from the exact
    marginal (the oracle has no logits to scale). A sample with no consistent answer left proposes the value -1
    everywhere, which no answer has, so it ends as a failure.
    """

    def __init__(self, answers: AnswerSet) -> None:
        self.answers = answers
        width = int(answers.codes.max()) + 1
        length = answers.length
        self._width = width
        one_hot = np.zeros((len(answers), length, width))
        one_hot[np.arange(len(answers))[:, None], np.arange(length)[None, :], answers.codes] = 1.0
        self._one_hot = one_hot.reshape(len(answers), length * width)

    def counts(self, tokens: np.ndarray, masked: np.ndarray) -> np.ndarray:
        """Return (B, L, V) counts of consistent answers with each value in each slot.

        An answer is consistent when it matches every revealed slot: one matrix product counts the matches.
        """
        batch, length = tokens.shape
        revealed = ~masked & (tokens >= 0) & (tokens < self._width)
        revealed_one_hot = np.zeros((batch, length, self._width))
        rows, slots = np.nonzero(revealed)
        revealed_one_hot[rows, slots, tokens[rows, slots]] = 1.0
        matches = revealed_one_hot.reshape(batch, length * self._width) @ self._one_hot.T
        consistent = matches == (~masked).sum(axis=1, keepdims=True)
        return (consistent.astype(np.float64) @ self._one_hot).reshape(batch, length, self._width)

    def propose(self, tokens: np.ndarray, masked: np.ndarray, temperature: float, rng: np.random.Generator,
                rows: np.ndarray | None = None) -> Proposal:
        """See `parallelbench.reference_decoding.engine.Denoiser` (every sample shares one answer set: `rows` is unused)."""
        counts = self.counts(np.asarray(tokens), np.asarray(masked, dtype=bool))
        total = counts.sum(axis=-1)
        alive = total > 0
        value = pick_values(counts, temperature, rng.random(total.shape))
        chosen = np.take_along_axis(counts, value[..., None], axis=-1)[..., 0]
        top_two = np.sort(counts, axis=-1)[..., -2:] if self._width > 1 else np.pad(counts, [(0, 0), (0, 0), (1, 0)])
        with np.errstate(divide="ignore", invalid="ignore"):
            confidence = np.where(alive, chosen / total, 0.0)
            margin = np.where(alive, (top_two[..., 1] - top_two[..., 0]) / total, 0.0)
        entropy = np.where(alive, count_entropy(counts), 0.0)
        return Proposal(np.where(alive, value, -1).astype(np.int64), confidence, margin, entropy)


@dataclass(frozen=True)
class OracleSetup:
    """How the oracle is decoded: the schedule, the rule and how values are picked (see the engine's docstring).

    Attributes:
        length: Slots per answer.
        tokens_per_step: k slots per step (None with ``steps`` None: all slots in one step).
        steps: T steps in total instead of k per step.
        block_length: Semi-autoregressive block length.
        rule: One of `parallelbench.reference_decoding.engine.RULES`.
        values: ``sample`` (the closed forms' setting) or ``argmax``.
        threshold: tau of the ``threshold`` rule.
        factor: f of the ``factor`` rule.
        factor_mode: ``exact`` or ``fastdllm``.
    """

    length: int
    tokens_per_step: int | None = None
    steps: int | None = None
    block_length: int | None = None
    rule: str = "random"
    values: str = "sample"
    threshold: float | None = None
    factor: float | None = None
    factor_mode: str = "exact"

    def __post_init__(self) -> None:
        if self.values not in VALUE_MODES:
            raise UsageError(f"values must be one of {', '.join(VALUE_MODES)}; got {self.values!r}")
        self.settings  # the schedule and the rule, checked as the engine checks them

    @property
    def settings(self) -> DecodeSettings:
        """The schedule and the rule as the engine takes them (checked on construction)."""
        return DecodeSettings(self.length, self.tokens_per_step, self.steps, self.block_length, self.rule,
                              self.threshold, self.factor, self.factor_mode)

    @property
    def dynamic(self) -> bool:
        """Whether the rule chooses its own step sizes."""
        return self.rule in ("threshold", "factor")

    @property
    def temperature(self) -> float:
        """The engine temperature that gives these value picks."""
        return 1.0 if self.values == "sample" else 0.0

    def blocks(self) -> tuple[tuple[int, int], ...]:
        """The (start, end) slot range of each block."""
        return tuple(self.settings.plan()[0])

    def block_counts(self) -> dict[int, list[int]]:
        """For fixed schedules, each block's per-step slot counts."""
        plan: dict[int, list[int]] = {}
        for block, count in self.settings.plan()[1]:
            plan.setdefault(block, []).append(count)
        return plan


@dataclass(frozen=True)
class MonteCarloEstimate:
    """A Monte Carlo accuracy: the share of correct decodes and its 95% Wilson interval."""

    value: float
    low: float
    high: float
    samples: int


def wilson_interval(successes: int, samples: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """Return the Wilson score interval of a binomial proportion (95% by default)."""
    if samples <= 0:
        raise ValueError("samples must be positive")
    if not 0 <= successes <= samples:
        raise ValueError("successes must be between 0 and samples")
    share = successes / samples
    denominator = 1 + z * z / samples
    centre = (share + z * z / (2 * samples)) / denominator
    half = z * math.sqrt(share * (1 - share) / samples + z * z / (4 * samples * samples)) / denominator
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == samples else min(1.0, centre + half)
    return low, high


def monte_carlo_accuracy(answers: AnswerSet, setup: OracleSetup, samples: int = 2000, seed: int = 0,
                         batch_size: int = 2000) -> MonteCarloEstimate:
    """Estimate the oracle's accuracy by decoding it `samples` times with the engine.

    Args:
        answers: The answer set.
        setup: Schedule, rule and value picks.
        samples: Decodes to run.
        seed: Seeds the decodes (each batch's engine seed is drawn from ``SeedSequence([seed, batch])``).
        batch_size: Decodes per engine call.

    Returns:
        The share of decodes that end on a correct answer, with its 95% interval.
    """
    if samples < 1:
        raise ValueError(f"samples must be a positive int; got {samples!r}")
    denoiser = OracleDenoiser(answers)
    correct = 0
    for batch, start in enumerate(range(0, samples, batch_size)):
        result = decode(
            denoiser, min(batch_size, samples - start), setup.length, tokens_per_step=setup.tokens_per_step,
            steps=setup.steps, block_length=setup.block_length, rule=setup.rule, temperature=setup.temperature,
            threshold=setup.threshold, factor=setup.factor, factor_mode=setup.factor_mode,
            seed=int(np.random.SeedSequence([seed, batch]).generate_state(1)[0]),
        )
        correct += int(answers.contains(result.tokens).sum())
    low, high = wilson_interval(correct, samples)
    return MonteCarloEstimate(correct / samples, low, high, samples)
