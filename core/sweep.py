"""Decode a build's test rows with a dLLM over tasks x parallelism settings x rules, into a prediction file.

    parallelbench sweep parallelbench --model runs/tiny --out sweep.jsonl --report sweep-report

Each line of the file is one row decoded at one setting, in the format `parallelbench.report` reads: ``id``,
``prediction``, the group fields ``model``, ``tokens_per_step`` (null = every slot in one step), ``rule``,
``threshold`` (the ``threshold`` and ``factor`` rules, which size their own steps), ``temperature``, and ``log``: the
sample's NFE and realised tokens per step. `parallelbench score FOLDER --predictions FILE --report DIR` (or
``--report`` here) turns it into the speed-quality report, so model -> predictions -> report is one command.

Rows are spread evenly over the row lengths (`reference_decoding.empirical.pick_rows`); tasks the model cannot decode
are skipped with the reason. Batches hold rows of one task and one answer length, each with a seed that depends only
on (seed, task, setting, batch number). Needs the ``decoding`` extra.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import UsageError

#: Rules that choose their own step sizes from a threshold (``threshold``) or a factor (``factor``).
DYNAMIC_RULES: tuple[str, ...] = ("threshold", "factor")


@dataclass(frozen=True)
class Setting:
    """One decoding setting of a sweep: a rule with either k tokens per step or its own threshold/factor."""

    rule: str
    tokens_per_step: int | None = None
    threshold: float | None = None

    def engine_options(self) -> dict[str, Any]:
        """The keyword arguments of `engine.decode` for this setting."""
        if self.rule == "factor":
            return {"rule": "factor", "factor": self.threshold}
        if self.rule == "threshold":
            return {"rule": "threshold", "threshold": self.threshold}
        return {"rule": self.rule, "tokens_per_step": self.tokens_per_step}


def settings_grid(rules: Sequence[str], tokens_per_step: Sequence[int | None],
                  thresholds: Sequence[float]) -> list[Setting]:
    """Every setting of a sweep: each fixed-step rule at each tokens per step, each dynamic rule at each threshold.

    Raises:
        UsageError: When a dynamic rule is asked for without thresholds, or a fixed-step rule without settings.
    """
    grid = []
    for rule in rules:
        if rule in DYNAMIC_RULES:
            if not thresholds:
                raise UsageError(f"the {rule} rule needs --thresholds (its threshold or factor values)")
            grid += [Setting(rule, threshold=float(value)) for value in thresholds]
        else:
            if not tokens_per_step:
                raise UsageError(f"the {rule} rule needs --tokens-per-step values")
            grid += [Setting(rule, tokens_per_step=k) for k in tokens_per_step]
    return grid


def parse_tokens_per_step(values: Sequence[str]) -> list[int | None]:
    """Read ``1 2 4 all`` into ``[1, 2, 4, None]``.

    Raises:
        UsageError: For a value that is neither a positive integer nor ``all``.
    """
    parsed: list[int | None] = []
    for value in values:
        if value == "all":
            parsed.append(None)
        elif value.isdigit() and int(value) > 0:
            parsed.append(int(value))
        else:
            raise UsageError(f"--tokens-per-step takes positive integers or 'all'; got {value!r}")
    return parsed


def _batch_seed(seed: int, task: str, setting: Setting, number: int) -> int:
    digest = hashlib.sha256(f"{seed}|{task}|{setting}|{number}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def _batches(rows: Sequence[Mapping[str, Any]], lengths: Mapping[str, int],
             batch_size: int) -> Iterator[tuple[str, int, list[Mapping[str, Any]]]]:
    """(task, answer length, rows) batches: rows of one task and one length, in row order."""
    groups: dict[tuple[str, int], list[Mapping[str, Any]]] = {}
    for row in rows:
        groups.setdefault((row["task"], lengths[row["id"]]), []).append(row)
    for (task, length), members in groups.items():
        for start in range(0, len(members), batch_size):
            yield task, length, members[start:start + batch_size]


def sweep(folder: str | os.PathLike[str], model: str, out: str | os.PathLike[str], *,
          tasks: Sequence[str] | None = None, rows_per_task: int | None = None,
          rules: Sequence[str] = ("random", "confidence"), tokens_per_step: Sequence[int | None] = (1, 2, 4, None),
          thresholds: Sequence[float] = (), temperature: float = 0.0, block_length: int | None = None,
          batch_size: int = 8, seed: int = 0, progress: bool = False) -> dict[str, Any]:
    """Decode test rows of a build at every setting and write the prediction file.

    Args:
        folder: A folder made by `parallelbench.build`.
        model: Anything `reference_decoding.hf_models.load_masked_lm` loads (a tiny-model folder, LLaDA, Dream, ...).
        out: The prediction file (JSON lines) to write.
        tasks: Only these tasks (default: every task of the build).
        rows_per_task: Test rows per task, spread over the lengths (default: all of them).
        rules: Selection rules; ``threshold`` and ``factor`` take `thresholds`, the others `tokens_per_step`.
        tokens_per_step: k per step for the fixed-step rules (None = every slot in one step).
        thresholds: Values of the dynamic rules' threshold (or factor).
        temperature: 0 = argmax values, > 0 = sampled values.
        block_length: Semi-autoregressive blocks of this many slots.
        batch_size: Rows decoded together.
        seed: Seeds every decode.
        progress: Show a progress bar.

    Returns:
        ``{"predictions": lines written, "rows": rows decoded per setting, "settings": n, "skipped_tasks": {...}}``.

    Raises:
        UsageError: For a bad setting, or when the model can decode none of the tasks.
    """
    from .folder import read_rows
    from .reference_decoding.empirical import decodable, model_slug, pick_rows
    from .reference_decoding.engine import RULES, decode
    from .reference_decoding.hf_models import load_masked_lm
    from .reference_decoding.masked_lm import MaskedLMDenoiser

    unknown = [rule for rule in rules if rule not in RULES]
    if unknown:
        raise UsageError(f"unknown rule {unknown[0]!r}; the rules are {', '.join(RULES)}")
    grid = settings_grid(rules, tokens_per_step, thresholds)
    test_rows = read_rows(folder, "test")
    picked = pick_rows(test_rows, tasks, rows_per_task if rows_per_task is not None else len(test_rows))
    masked_lm = load_masked_lm(model)
    rows, skipped = decodable(picked, masked_lm)
    if not rows:
        raise UsageError(f"the model decodes none of the requested tasks: {'; '.join(skipped.values())}")
    lengths = {row["id"]: masked_lm.answer_length(row) for row in rows}
    prompts = {row["id"]: masked_lm.encode(row) for row in rows}
    name = model_slug(model)
    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=len(rows) * len(grid), desc=f"sweeping {name}", unit="row")
    target = Path(out)
    target.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    with target.open("w", encoding="utf-8") as handle:
        for setting in grid:
            group = {"model": name, "tokens_per_step": setting.tokens_per_step, "rule": setting.rule,
                     "threshold": setting.threshold, "temperature": temperature}
            for number, (task, length, batch) in enumerate(_batches(rows, lengths, batch_size)):
                denoiser = MaskedLMDenoiser(masked_lm, [prompts[row["id"]] for row in batch], length)
                result = decode(denoiser, len(batch), length, temperature=temperature, block_length=block_length,
                                seed=_batch_seed(seed, task, setting, number), **setting.engine_options())
                for row, answer, nfe in zip(batch, result.tokens, result.nfe.tolist()):
                    line = {"id": row["id"], "prediction": masked_lm.answer_text(row, answer), **group,
                            "log": {"nfe": nfe, "tokens_per_step": length / nfe}}
                    handle.write(json.dumps(line, ensure_ascii=False) + "\n")
                    written += 1
                if bar is not None:
                    bar.update(len(batch))
    if bar is not None:
        bar.close()
    return {"predictions": written, "rows": len(rows), "settings": len(grid), "skipped_tasks": skipped}
