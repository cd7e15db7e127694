"""Run a neural dLLM over benchmark rows: decode at several tokens-per-step settings, score, time.

`run_model_on_rows` is the empirical side of calibration (``parallelbench calibrate FOLDER --model PATH``): for
each task and each setting it reports accuracy (scored with `pb.score` on the answer cut at the first end-of-text
token), the *realised* tokens per step read from the decoding trajectory (answer slots / NFE), NFE per row, and
decoding speed in answer tokens per second.

Timing is honest for GPUs: the device is synchronised before and after each timed decode, one untimed warm-up
decode runs first (CUDA context, kernels, allocator), and only decoding is timed (not tokenisation, not scoring).
Tokens per second counts answer slots only (never prompt tokens): slots decoded / seconds of decoding.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np

from .. import api
from .engine import DecodeResult, decode
from .masked_lm import MaskedLM, MaskedLMDenoiser, torch

T = TypeVar("T")


def synchronize(device: torch.device) -> None:
    """Wait for the work queued on `device` to finish (a no-op on the CPU)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(fn: Callable[[], T], device: torch.device) -> tuple[T, float]:
    """Run `fn` between two device synchronisations and return (its result, wall seconds).

    Args:
        fn: The work to time.
        device: The device the work runs on.
    """
    synchronize(device)
    started = time.perf_counter()
    result = fn()
    synchronize(device)
    return result, time.perf_counter() - started


@dataclass
class CurvePoint:
    """A model's result on one task at one tokens-per-step setting.

    Attributes:
        task: The task name.
        tokens_per_step: The setting asked for (None = every answer slot in one step).
        rule: The selection rule.
        temperature: 0 = argmax values, > 0 = sampled values.
        rows: Rows decoded.
        accuracy: Share of rows whose answer `pb.score` accepts.
        mean_tokens_per_step: Realised tokens per step: answer slots / NFE, over all rows.
        nfe: Mean denoiser calls (forward passes) per row.
        tokens_per_second: Answer slots decoded per second of (synchronised) decoding.
        order_tau: Mean Kendall tau between fill step and position (1 = left to right; nan if undefined).
        row_ids: The rows' ids, in order.
        predictions: The scored texts, in order.
        correct: Per row, whether it was accepted.
    """

    task: str
    tokens_per_step: int | None
    rule: str
    temperature: float
    rows: int
    accuracy: float
    mean_tokens_per_step: float
    nfe: float
    tokens_per_second: float
    order_tau: float
    row_ids: list[str] = field(default_factory=list)
    predictions: list[str] = field(default_factory=list)
    correct: list[bool] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        """Return the point without its per-row lists (JSON-ready)."""
        return {
            "task": self.task, "tokens_per_step": self.tokens_per_step, "rule": self.rule,
            "temperature": self.temperature, "rows": self.rows, "accuracy": self.accuracy,
            "mean_tokens_per_step": self.mean_tokens_per_step, "nfe": self.nfe,
            "tokens_per_second": self.tokens_per_second,
            "order_tau": None if math.isnan(self.order_tau) else self.order_tau,
        }


def _batches(rows: Sequence[Mapping[str, Any]], model: MaskedLM,
             batch_size: int) -> dict[str, list[tuple[int, list[Mapping[str, Any]]]]]:
    """Group rows by task, then into batches of one answer length: ``task -> [(length, rows), ...]``."""
    grouped: dict[str, dict[int, list[Mapping[str, Any]]]] = {}
    for row in rows:
        grouped.setdefault(row["task"], {}).setdefault(model.answer_length(row), []).append(row)
    return {
        task: [(length, same[start:start + batch_size])
               for length, same in sorted(by_length.items()) for start in range(0, len(same), batch_size)]
        for task, by_length in grouped.items()
    }


def _batch_seed(seed: int, task: str, setting: int | None, number: int) -> int:
    """A seed for one batch that depends only on what the batch is, not on what else is decoded."""
    digest = hashlib.sha256(f"{seed}|{task}|{setting}|{number}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def run_model_on_rows(rows: Sequence[Mapping[str, Any]], model: MaskedLM, *,
                      tokens_per_step: Sequence[int | None] = (1, 2, 4, None), rule: str = "random",
                      temperature: float = 1.0, batch_size: int = 8, seed: int = 0, block_length: int | None = None,
                      threshold: float | None = None, factor: float | None = None, factor_mode: str = "exact",
                      warmup: bool = True, progress: bool = False) -> list[CurvePoint]:
    """Decode `rows` with `model` at each tokens-per-step setting and score the answers.

    Args:
        rows: Generated rows (any tasks; each task gets its own points).
        model: The model and its token conventions (`load_masked_lm`, `tiny.load_tiny`).
        tokens_per_step: The settings; None decodes every slot in one step. For the ``threshold`` and ``factor``
            rules, which size their own steps, give ``(None,)``.
        rule: The engine's selection rule.
        temperature: 0 for argmax values, > 0 to sample (1 = the model's own marginals).
        batch_size: Rows decoded together (rows of one task and one answer length).
        seed: Seeds every decode; a batch's seed depends only on (seed, task, setting, batch number).
        block_length: Semi-autoregressive blocks of this many slots.
        threshold: tau of the ``threshold`` rule.
        factor: f of the ``factor`` rule.
        factor_mode: ``exact`` or ``fastdllm``.
        warmup: Run one untimed decode first, so start-up costs stay out of the timings.
        progress: Show a progress bar.

    Returns:
        One `CurvePoint` per (task, setting), tasks in first-seen order, settings in the given order.
    """
    batches = _batches(rows, model, batch_size)
    prompts = {id(row): model.encode(row) for row in rows}
    options = dict(block_length=block_length, rule=rule, temperature=temperature, threshold=threshold,
                   factor=factor, factor_mode=factor_mode)

    def run(batch: Sequence[Mapping[str, Any]], length: int, setting: int | None, batch_seed: int) -> DecodeResult:
        denoiser = MaskedLMDenoiser(model, [prompts[id(row)] for row in batch], length)
        return decode(denoiser, len(batch), length, tokens_per_step=setting, seed=batch_seed, **options)

    device = model.device
    if warmup and batches:
        length, batch = next(iter(batches.values()))[0]
        run(batch, length, tokens_per_step[0], seed)
        synchronize(device)
    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=len(rows) * len(tokens_per_step), desc=f"decoding with {model.name}", unit="row")
    points = []
    for task, task_batches in batches.items():
        for setting in tokens_per_step:
            ids, predictions, correct, taus = [], [], [], []
            slots = calls = 0
            seconds = 0.0
            for number, (length, batch) in enumerate(task_batches):
                result, spent = timed(lambda: run(batch, length, setting, _batch_seed(seed, task, setting, number)),
                                      device)
                seconds += spent
                slots += result.tokens.size
                calls += int(result.nfe.sum())
                taus.extend(result.order_tau.tolist())
                for row, answer in zip(batch, result.tokens):
                    text = model.answer_text(row, answer)
                    ids.append(row["id"])
                    predictions.append(text)
                    correct.append(api.score(row, text).correct)
                if bar is not None:
                    bar.update(len(batch))
            finite = [tau for tau in taus if not math.isnan(tau)]
            points.append(CurvePoint(
                task=task, tokens_per_step=setting, rule=rule, temperature=temperature, rows=len(ids),
                accuracy=float(np.mean(correct)), mean_tokens_per_step=slots / calls, nfe=calls / len(ids),
                tokens_per_second=slots / seconds if seconds > 0 else math.inf,
                order_tau=float(np.mean(finite)) if finite else math.nan,
                row_ids=ids, predictions=predictions, correct=correct))
    if bar is not None:
        bar.close()
    return points
