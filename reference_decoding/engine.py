"""The masked-diffusion decoding engine: start fully masked, unmask slots step by step until none is left.

A *denoiser* looks at a batch of partly masked answers and proposes, for every slot, the value it would take if
chosen now, with that value's confidence, the top-1 minus top-2 margin and the entropy of the slot's marginal (a
`Proposal`). The engine decides *how many* slots to commit at each step (the schedule) and *which* (the rule), and
commits the proposed values of the chosen slots. It never looks inside the denoiser, so the oracle (exact marginals of
a row's answer set), a real dLLM and the tiny CPU model all run through the same code.

Schedules (per sample; the answer has `length` slots):

* ``tokens_per_step=k``: k slots per step, the last step takes the remainder (10 slots, k=4: 4, 4, 2).
* ``steps=T``: T steps with the slots spread as evenly as possible and the remainder to the early steps, as LLaDA
  does (10 slots, T=4: 3, 3, 2, 2).
* neither: every slot in one step.
* ``block_length=B`` (semi-autoregressive): blocks of B slots decoded left to right; only masked slots of the first
  block that still has any are eligible; the schedule applies inside each block (with ``steps``, T is the total and
  is split evenly over the blocks, which must divide it, as LLaDA requires).

Rules (which eligible masked slots a step commits):

* ``random``: a uniformly random subset of the scheduled size.
* ``confidence``: the highest confidences (LLaDA's ``low_confidence``, Dream's ``maskgit_plus``).
* ``margin``: the largest top-1 minus top-2 margins.
* ``entropy``: the lowest entropies.
* ``threshold`` (Fast-dLLM, ``threshold=tau``): the single most confident slot plus every slot with confidence >= tau.
* ``factor`` (Fast-dLLM, ``factor=f``): with c_1 >= c_2 >= ... the sorted confidences, the largest n with
  c_n >= 1 - f / (n + 1), i.e. (n + 1)(1 - c_n) <= f, and at least one. ``factor_mode="fastdllm"`` reproduces the
  official code, which breaks at the first failing slot but accepts *all* masked slots when that first failing slot is
  the last one: with confidences (0.9, 0.5) and f = 1, "exact" commits 1 slot (3 * 0.5 > 1) and "fastdllm" commits 2;
  so with two masked slots left "fastdllm" always commits both.

``threshold`` and ``factor`` choose the step size themselves, so they take no ``tokens_per_step`` or ``steps``.
Ties in every ranking are broken by the seeded RNG, never by tensor order. Denoisers pick values with `pick_values`
(one seeded uniform per slot: inverse CDF when sampling, the floor(u * ties)-th of exactly tied maxima at temperature
0), so one seed means the same draws on every path. NFE is the number of denoiser calls a
sample took part in (a finished sample is not passed to the denoiser again), which equals its number of steps.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from ..errors import UsageError

RULES: tuple[str, ...] = ("random", "confidence", "margin", "entropy", "threshold", "factor")
FACTOR_MODES: tuple[str, ...] = ("exact", "fastdllm")
SOFTMAX_DTYPES: tuple[str, ...] = ("float64", "float32", "bfloat16", "float16")


@dataclass
class Proposal:
    """What a denoiser says, in one call, about every slot of every sequence in a batch.

    Attributes:
        value: (B, L) int64: the value each slot takes if chosen now: a sample from its marginal (temperature > 0) or
            its argmax with a seeded uniform tie-break (temperature 0).
        confidence: (B, L) float64: probability of the proposed value.
        margin: (B, L) float64: top-1 minus top-2 probability.
        entropy: (B, L) float64: entropy of the slot's marginal, in nats.
    """

    value: np.ndarray
    confidence: np.ndarray
    margin: np.ndarray
    entropy: np.ndarray


class Denoiser(Protocol):
    """Anything that proposes values for masked slots: the oracle, a Hugging Face dLLM, the tiny CPU model."""

    def propose(self, tokens: np.ndarray, masked: np.ndarray, temperature: float, rng: np.random.Generator,
                rows: np.ndarray | None = None) -> Proposal:
        """Propose a value for every slot given the revealed ones.

        Args:
            tokens: (B, L) int64 current slot values (ignored where masked).
            masked: (B, L) bool, True where the slot is still masked.
            temperature: 0 for argmax values, > 0 to sample from the temperature-scaled marginals.
            rng: The engine's seeded generator; draw every random number (samples, tie-breaks) from it.
            rows: Which samples of the decoded batch these B rows are (samples that finish early under the
                ``threshold`` and ``factor`` rules leave later calls); a denoiser with one prompt per sample needs it.

        Returns:
            A `Proposal` for all B x L slots (values of revealed slots are ignored).
        """
        ...


@dataclass
class DecodeResult:
    """The outcome of `decode` for a batch of B samples of L slots.

    Attributes:
        tokens: (B, L) int64 decoded values.
        fill_step: (B, L) int64 0-based step at which each slot was committed (the trajectory).
        nfe: (B,) int64 denoiser calls each sample took part in (= its number of steps).
        tokens_per_step: per sample, the number of slots committed at each of its steps.
        order_tau: (B,) float64 Kendall tau-b between fill step and position (1 = one slot per step, left to right;
            -1 = right to left; slots filled in the same step are ties, so filling whole blocks left to right scores
            below 1; nan when every slot was filled in one step).
    """

    tokens: np.ndarray
    fill_step: np.ndarray
    nfe: np.ndarray
    tokens_per_step: list[list[int]] = field(default_factory=list)
    order_tau: np.ndarray = field(default_factory=lambda: np.zeros(0))

    @property
    def mean_tokens_per_step(self) -> float:
        """Slots committed per denoiser call, over the whole batch."""
        return float(self.tokens.size / max(1, int(self.nfe.sum())))


def step_counts(length: int, tokens_per_step: int | None = None, steps: int | None = None) -> list[int]:
    """Return how many slots each step of one block commits under a fixed schedule.

    Args:
        length: Slots in the block.
        tokens_per_step: k slots per step, the last step takes the remainder.
        steps: T steps, slots spread evenly with the remainder to the early steps (LLaDA).

    Returns:
        The per-step counts (they sum to `length`); one step of `length` when neither is given.
    """
    if tokens_per_step is not None and steps is not None:
        raise UsageError("give tokens_per_step or steps, not both")
    if length < 1:
        raise UsageError(f"length must be at least 1; got {length!r}")
    if tokens_per_step is not None:
        if not isinstance(tokens_per_step, (int, np.integer)) or tokens_per_step < 1:
            raise UsageError(f"tokens_per_step must be a positive int; got {tokens_per_step!r}")
        full, rest = divmod(length, int(tokens_per_step))
        return [int(tokens_per_step)] * full + ([rest] if rest else [])
    if steps is not None:
        if not isinstance(steps, (int, np.integer)) or not 1 <= steps <= length:
            raise UsageError(f"steps must be an int from 1 to the (block) length {length}; got {steps!r}")
        base, rest = divmod(length, int(steps))
        return [base + 1] * rest + [base] * (int(steps) - rest)
    return [length]


def round_probabilities(probs: np.ndarray, softmax_dtype: str = "float64") -> np.ndarray:
    """Round probabilities to the precision of `softmax_dtype` and return them as float64.

    Half-precision softmaxes (bf16 in LLaDA and Dream) make near-equal confidences exactly equal; rounding here
    reproduces those ties, which the engine then breaks with its seeded RNG.

    Args:
        probs: Probabilities of any float dtype.
        softmax_dtype: One of `SOFTMAX_DTYPES`.
    """
    if softmax_dtype not in SOFTMAX_DTYPES:
        raise UsageError(f"softmax_dtype must be one of {', '.join(SOFTMAX_DTYPES)}; got {softmax_dtype!r}")
    probs = np.asarray(probs, dtype=np.float64)
    if softmax_dtype == "bfloat16":  # round-to-nearest-even on the top 16 bits of float32
        bits = probs.astype(np.float32).view(np.uint32)
        bits = (bits + np.uint32(0x7FFF) + ((bits >> np.uint32(16)) & np.uint32(1))) & np.uint32(0xFFFF0000)
        return bits.view(np.float32).astype(np.float64)
    return probs.astype(softmax_dtype).astype(np.float64)


def pick_values(weights: np.ndarray, temperature: float, uniforms: np.ndarray) -> np.ndarray:
    """Pick each slot's value from its (unnormalised) weights with one uniform per slot.

    Every denoiser picks values this way, so that a seed means the same draws for the oracle, the numpy path and
    the torch path:

    * temperature > 0: inverse CDF, the first value whose cumulative weight exceeds ``u * total``;
    * temperature 0: the argmax; among exactly equal maxima the ``floor(u * ties)``-th, counted in value order.

    Args:
        weights: (..., V) non-negative weights (probabilities or counts).
        temperature: 0 for the argmax, > 0 to sample.
        uniforms: (...) uniforms in [0, 1), one per slot.

    Returns:
        (...) int64 value indices.
    """
    if temperature > 0:
        cdf = np.cumsum(weights, axis=-1)
        draw = uniforms * cdf[..., -1]
        return np.minimum((cdf <= draw[..., None]).sum(axis=-1), weights.shape[-1] - 1).astype(np.int64)
    tied = weights == weights.max(axis=-1, keepdims=True)
    ties = tied.sum(axis=-1)
    pick = np.minimum((uniforms * ties).astype(np.int64), ties - 1)
    return (tied & (np.cumsum(tied, axis=-1) - 1 == pick[..., None])).argmax(axis=-1).astype(np.int64)


def summarize(probs: np.ndarray, temperature: float, rng: np.random.Generator,
              softmax_dtype: str = "float64") -> Proposal:
    """Turn per-slot probabilities into a `Proposal` (the numpy path; neural denoisers have a torch twin).

    Args:
        probs: (B, L, V) probabilities over V values for every slot.
        temperature: 0 proposes the argmax with a seeded uniform tie-break; > 0 samples from ``p ** (1 / T)``
            renormalised. Confidence, margin and entropy are read from the distribution the value came from.
        rng: The engine's generator; exactly one uniform per slot is drawn from it (see `pick_values`).
        softmax_dtype: Precision the probabilities are rounded to before anything is read from them.

    Returns:
        The proposal for all B x L slots.
    """
    probs = np.asarray(probs, dtype=np.float64)
    if temperature < 0:
        raise UsageError(f"temperature must be >= 0; got {temperature!r}")
    if temperature > 0 and temperature != 1:
        with np.errstate(divide="ignore"):
            logits = np.log(probs) / temperature
        logits -= logits.max(axis=-1, keepdims=True)
        probs = np.exp(logits)
        probs /= probs.sum(axis=-1, keepdims=True)
    probs = round_probabilities(probs, softmax_dtype)
    value = pick_values(probs, temperature, rng.random(probs.shape[:-1]))
    confidence = np.take_along_axis(probs, value[..., None], axis=-1)[..., 0]
    padded = np.concatenate([np.zeros(probs.shape[:-1] + (1,)), probs], axis=-1)  # a zero second-best for V = 1
    top_two = np.sort(padded, axis=-1)[..., -2:]
    with np.errstate(divide="ignore", invalid="ignore"):
        entropy = -np.where(probs > 0, probs * np.log(probs), 0.0).sum(axis=-1)
    return Proposal(value.astype(np.int64), confidence, top_two[..., 1] - top_two[..., 0], entropy)


def _rank(scores: np.ndarray, eligible: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Slot indices of every row sorted by score, highest first, ties in a seeded random order, ineligible last."""
    scores = np.where(eligible, scores, -np.inf)
    return np.lexsort((rng.random(scores.shape), -scores), axis=-1)


def dynamic_counts(rule: str, sorted_conf: np.ndarray, n_eligible: np.ndarray, threshold: float | None,
                    factor: float | None, factor_mode: str) -> np.ndarray:
    """Return the slots to commit per row for the `threshold` and `factor` rules.

    Args:
        rule: ``threshold`` or ``factor``.
        sorted_conf: (B, W) confidences of the eligible slots, highest first (ineligible ones after them).
        n_eligible: (B,) eligible slots per row.
        threshold: tau for ``threshold``.
        factor: f for ``factor``.
        factor_mode: ``exact`` or ``fastdllm``.

    Returns:
        (B,) int64 counts, each at least 1.
    """
    width = sorted_conf.shape[1]
    position = np.arange(width)
    inside = position[None, :] < n_eligible[:, None]
    if rule == "threshold":
        return np.maximum(1, ((sorted_conf >= threshold) & inside).sum(axis=1))
    # factor: slot n (1-based) passes when c_n >= 1 - f / (n + 1); the first slot always passes.
    passes = (sorted_conf >= 1.0 - factor / (position[None, :] + 2.0)) | (position[None, :] == 0)
    failing = ~passes & inside
    first_fail = np.where(failing.any(axis=1), failing.argmax(axis=1), n_eligible)
    if factor_mode == "fastdllm":
        first_fail = np.where(first_fail == n_eligible - 1, n_eligible, first_fail)
    return np.maximum(1, first_fail)


def kendall_tau(fill_step: np.ndarray) -> np.ndarray:
    """Kendall tau-b between each row's fill steps and its positions (nan when all steps are equal).

    Args:
        fill_step: (B, L) the step at which each slot was filled.

    Returns:
        (B,) float64 correlations: 1 = left to right, -1 = right to left.
    """
    fill_step = np.asarray(fill_step)
    length = fill_step.shape[1]
    upper = np.triu(np.ones((length, length), dtype=bool), k=1)
    signs = np.sign(fill_step[:, None, :] - fill_step[:, :, None])  # [b, i, j] = sign(step_j - step_i)
    concordant_minus_discordant = (signs * upper).sum(axis=(1, 2))
    pairs = length * (length - 1) / 2
    untied = (np.abs(signs) * upper).sum(axis=(1, 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(untied > 0, concordant_minus_discordant / np.sqrt(pairs * untied), np.nan)


def block_plan(length: int, block_length: int | None, tokens_per_step: int | None,
          steps: int | None) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """Return the blocks and the fixed schedule of an answer of `length` slots.

    Returns:
        The blocks as (start, end) slot ranges, and the steps as (block index, slots to commit) pairs (the latter is
        ignored by the rules that choose their own step sizes).
    """
    block = length if block_length is None else block_length
    if not isinstance(block, (int, np.integer)) or block < 1:
        raise UsageError(f"block_length must be a positive int; got {block_length!r}")
    blocks = [(start, min(start + block, length)) for start in range(0, length, block)]
    if steps is not None:
        if not isinstance(steps, (int, np.integer)) or steps < 1 or steps % len(blocks):
            raise UsageError(
                f"steps must be a positive multiple of the number of blocks ({len(blocks)}); got {steps!r}")
        steps = steps // len(blocks)
    plan = [(index, count) for index, (start, end) in enumerate(blocks)
            for count in step_counts(end - start, tokens_per_step, steps)]
    return blocks, plan


@dataclass(frozen=True)
class DecodeSettings:
    """The schedule and the selection rule of a decode, checked once for every caller (the engine, the oracle).

    Attributes:
        length: Slots per answer.
        tokens_per_step: Fixed schedule: k slots per step (the last step of each block takes the remainder).
        steps: Fixed schedule: T steps in total, spread as LLaDA does.
        block_length: Semi-autoregressive blocks of this many slots, left to right.
        rule: One of `RULES`.
        threshold: tau for the ``threshold`` rule.
        factor: f for the ``factor`` rule.
        factor_mode: One of `FACTOR_MODES` (see the module docstring).

    Raises:
        UsageError: (a `ValueError`) naming the first setting that is out of range or contradicts another.
    """

    length: int
    tokens_per_step: int | None = None
    steps: int | None = None
    block_length: int | None = None
    rule: str = "random"
    threshold: float | None = None
    factor: float | None = None
    factor_mode: str = "exact"

    def __post_init__(self) -> None:
        try:
            if self.rule not in RULES:
                raise UsageError(f"rule must be one of {', '.join(RULES)}; got {self.rule!r}")
            if self.factor_mode not in FACTOR_MODES:
                raise UsageError(f"factor_mode must be one of {', '.join(FACTOR_MODES)}; got {self.factor_mode!r}")
            if self.dynamic and (self.tokens_per_step is not None or self.steps is not None):
                raise UsageError(f"the {self.rule} rule chooses its own step sizes; do not give tokens_per_step or steps")
            if self.rule == "threshold" and (self.threshold is None or not 0 <= self.threshold <= 1):
                raise UsageError(f"the threshold rule needs threshold in [0, 1]; got {self.threshold!r}")
            if self.rule == "factor" and (self.factor is None or self.factor <= 0):
                raise UsageError(f"the factor rule needs factor > 0; got {self.factor!r}")
            self.plan()  # checks the schedule against the length
        except UsageError:
            raise
        except ValueError as error:
            raise UsageError(str(error)) from None

    @property
    def dynamic(self) -> bool:
        """Whether the rule chooses its own step sizes (``threshold``, ``factor``)."""
        return self.rule in ("threshold", "factor")

    def plan(self) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        """The blocks and the fixed schedule (see `block_plan`)."""
        return block_plan(self.length, self.block_length, self.tokens_per_step, self.steps)


def decode(denoiser: Denoiser, batch_size: int, length: int, *, tokens_per_step: int | None = None,
           steps: int | None = None, block_length: int | None = None, rule: str = "random", temperature: float = 0.0,
           threshold: float | None = None, factor: float | None = None, factor_mode: str = "exact",
           seed: int = 0) -> DecodeResult:
    """Decode `batch_size` answers of `length` slots from all-masked, with the semantics in the module docstring.

    Args:
        denoiser: Proposes values and scores for the masked slots (see `Denoiser`).
        batch_size: Samples decoded together (each with its own random draws from one seeded stream).
        length: Slots per answer.
        tokens_per_step, steps, block_length, rule, threshold, factor, factor_mode: The schedule and the rule, as
            in `DecodeSettings` (which checks them).
        temperature: 0 = argmax values (seeded uniform tie-break); > 0 = sampled values.
        seed: Seeds every random draw of the engine and the denoiser.

    Returns:
        A `DecodeResult`.

    Raises:
        UsageError: (a `ValueError`) for settings out of range or in contradiction (see `DecodeSettings`).
    """
    settings = DecodeSettings(length, tokens_per_step, steps, block_length, rule, threshold, factor, factor_mode)
    dynamic = settings.dynamic
    if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise UsageError(f"batch_size must be a positive int; got {batch_size!r}")
    blocks, plan = settings.plan()
    block_of = np.zeros(length, dtype=np.int64)
    for index, (start, end) in enumerate(blocks):
        block_of[start:end] = index

    rng = np.random.default_rng(seed)
    tokens = np.zeros((batch_size, length), dtype=np.int64)
    masked = np.ones((batch_size, length), dtype=bool)
    fill_step = np.full((batch_size, length), -1, dtype=np.int64)
    nfe = np.zeros(batch_size, dtype=np.int64)
    per_step: list[list[int]] = [[] for _ in range(batch_size)]
    step = 0
    while masked.any():
        active = np.flatnonzero(masked.any(axis=1))
        active_masked = masked[active]
        if dynamic:
            current_block = block_of[active_masked.argmax(axis=1)]  # first masked slot's block
            counts = None
        else:
            current_block = np.full(len(active), plan[step][0])
            counts = np.full(len(active), plan[step][1])
        eligible = active_masked & (block_of[None, :] == current_block[:, None])
        proposal = denoiser.propose(tokens[active], active_masked, temperature, rng, rows=active)
        scores = {
            "random": np.zeros(eligible.shape),
            "confidence": proposal.confidence,
            "margin": proposal.margin,
            "entropy": -np.asarray(proposal.entropy),
        }.get(rule, proposal.confidence)
        order = _rank(np.asarray(scores, dtype=np.float64), eligible, rng)
        n_eligible = eligible.sum(axis=1)
        if dynamic:
            sorted_conf = np.take_along_axis(np.asarray(proposal.confidence, dtype=np.float64), order, axis=1)
            counts = dynamic_counts(rule, sorted_conf, n_eligible, threshold, factor, factor_mode)
        counts = np.minimum(counts, n_eligible)
        rows = np.repeat(np.arange(len(active)), counts)
        rank_in_row = np.arange(len(rows)) - np.repeat(np.cumsum(counts) - counts, counts)
        columns = order[rows, rank_in_row]
        sample_rows, slots = active[rows], columns
        tokens[sample_rows, slots] = np.asarray(proposal.value)[rows, columns]
        masked[sample_rows, slots] = False
        fill_step[sample_rows, slots] = step
        nfe[active] += 1
        for sample, count in zip(active.tolist(), counts.tolist()):
            per_step[sample].append(int(count))
        step += 1
    return DecodeResult(tokens, fill_step, nfe, per_step, kendall_tau(fill_step))
