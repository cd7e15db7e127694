"""Empirical speed-quality curves of a neural dLLM on a built folder, beside the oracle's.

`parallelbench calibrate FOLDER --model PATH` decodes a subset of the test rows with a real model (LLaDA, Dream, any
masked LM, or a tiny-model folder) at several tokens-per-step settings, scores the answers, and stores the points
(accuracy, realised tokens per step, NFE, tokens/s) in ``calibration/model-<name>.json``, with a PNG of the model's
and the oracle's curves when matplotlib is installed (shown in the dataset card). Like every change to a build, it
works on a copy that replaces the folder only when complete.

The rows are spread evenly over the row lengths (`pick_rows`), and the oracle's curve in the PNG is computed on the
very rows the model decoded, so the two curves compare like with like. A task the model cannot decode (its
``answer_length`` raises `ValueError`, as the tiny model's does for puzzle and text rows) is skipped, with the
reason recorded under ``skipped_tasks``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..errors import UsageError
from ..folder import read_manifest, read_rows, seal
from ..staging import staged
from . import report

#: Test rows per task decoded by default: enough for a curve, few enough for one GPU call.
ROWS_PER_TASK = 20


def model_slug(model: str) -> str:
    """Return a file-name-safe name for a model path or id (``GSAI-ML/LLaDA-8B-Instruct`` -> ``llada-8b-instruct``)."""
    name = Path(str(model).rstrip("/")).name or str(model)
    return re.sub(r"[^a-z0-9._-]+", "-", name.lower()).strip("-") or "model"


def row_length(row: Mapping[str, Any]) -> int | None:
    """A row's length in answer units: its calibrated ``slots``, else its metadata's ``length`` (None if neither)."""
    difficulty = json.loads(row["difficulty"]) if isinstance(row.get("difficulty"), str) else {}
    if difficulty.get("slots") is not None:
        return int(difficulty["slots"])
    metadata = json.loads(row["metadata"]) if isinstance(row.get("metadata"), str) else {}
    return int(metadata["length"]) if isinstance(metadata.get("length"), int) else None


def pick_rows(rows: Sequence[Mapping[str, Any]], tasks: Sequence[str] | None,
              rows_per_task: int) -> list[Mapping[str, Any]]:
    """Return `rows_per_task` rows of each task (of `tasks`, when given), spread evenly over the row lengths.

    Rows come in blocks of one length, so the first rows of a task would all be short; instead the rows of each
    length are taken in turn (shortest first, in row order within a length) until the task has its share, so the
    model's curve covers the same lengths as the oracle's.
    """
    by_task: dict[str, dict[int | None, list[Mapping[str, Any]]]] = {}
    for row in rows:
        if tasks is None or row["task"] in tasks:
            by_task.setdefault(row["task"], {}).setdefault(row_length(row), []).append(row)
    if not by_task:
        raise UsageError("no test row matches the requested tasks")
    picked = []
    for by_length in by_task.values():
        queues = [by_length[length] for length in sorted(by_length, key=lambda length: (length is None, length))]
        taken = 0
        for turn in range(max(len(queue) for queue in queues)):
            for queue in queues:
                if turn < len(queue) and taken < rows_per_task:
                    picked.append(queue[turn])
                    taken += 1
    return picked


def decodable(rows: Sequence[Mapping[str, Any]], masked_lm: Any) -> tuple[list[Mapping[str, Any]], dict[str, str]]:
    """Split rows into those the model can decode and, per task it cannot, the reason (its answer length raises)."""
    kept, skipped = [], {}
    for row in rows:
        if row["task"] in skipped:
            continue
        try:
            masked_lm.answer_length(row)
        except ValueError as error:
            skipped[row["task"]] = str(error)
            continue
        kept.append(row)
    return kept, skipped


def model_curves(folder: str | Path, model: str, *, tasks: Sequence[str] | None = None,
                 rows_per_task: int = ROWS_PER_TASK, tokens_per_step: Sequence[int | None] = (1, 2, 4, None),
                 rule: str = "random", temperature: float = 1.0, batch_size: int = 8, seed: int = 0,
                 progress: bool = False) -> dict[str, Any]:
    """Decode a subset of a build's test rows with a neural model and record its curves in the build.

    Args:
        folder: A folder made by `parallelbench.build`.
        model: A tiny-model folder, a local model folder, a Hub id in the local cache, or a known short name.
        tasks: Only these tasks (default: every task of the folder).
        rows_per_task: Test rows decoded per task.
        tokens_per_step: The settings (None = every answer slot in one step).
        rule: The engine's selection rule.
        temperature: 0 = argmax values, > 0 = sampled values.
        batch_size: Rows decoded together.
        seed: The decoding seed.
        progress: Show a progress bar.

    Returns:
        What was written to ``calibration/model-<name>.json``: the settings, one point per (task, setting), the
        row lengths decoded per task and the skipped tasks with their reasons.

    Raises:
        UsageError: When no requested task has test rows, or the model can decode none of them.
    """
    from .hf_models import load_masked_lm
    from .neural import run_model_on_rows

    target = Path(folder)
    manifest = read_manifest(target)
    test_rows = read_rows(target, "test")
    masked_lm = load_masked_lm(model)
    rows, skipped = decodable(pick_rows(test_rows, tasks, rows_per_task), masked_lm)
    if not rows:
        raise UsageError(f"the model decodes none of the requested tasks: {'; '.join(skipped.values())}")
    points = run_model_on_rows(rows, masked_lm, tokens_per_step=tokens_per_step, rule=rule, temperature=temperature,
                               batch_size=batch_size, seed=seed, progress=progress)
    slug = model_slug(model)
    lengths: dict[str, dict[str, int]] = {}
    for row in rows:
        counts = lengths.setdefault(row["task"], {})
        counts[str(row_length(row))] = counts.get(str(row_length(row)), 0) + 1
    result = {"model": str(model), "rule": rule, "temperature": temperature, "rows_per_task": rows_per_task,
              "seed": seed, "points": [point.summary() for point in points], "row_lengths": lengths,
              "skipped_tasks": skipped}
    with staged(target, copy=True) as staging:
        out = staging / "calibration" / f"model-{slug}.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        records = [{**point.summary(), "model": slug, "tokens_per_step": point.mean_tokens_per_step}
                   for point in points]
        oracle = report.oracle_records(rows)  # the oracle on the very rows the model decoded
        try:
            report.plot_curves(report.speed_quality(records + oracle), out.with_suffix(".png"))
            manifest.setdefault("model_plots", {})[slug] = f"calibration/model-{slug}.png"
        except ImportError:
            pass  # the JSON holds every point; the PNG needs the plots extra
        manifest.setdefault("model_curves", {})[slug] = f"calibration/model-{slug}.json"
        seal(staging, manifest)
    return result
