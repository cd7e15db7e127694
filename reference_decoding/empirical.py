"""Empirical speed-quality curves of a neural dLLM on a built folder, beside the oracle's.

`parallelbench calibrate FOLDER --model PATH` decodes a subset of the test rows with a real model (LLaDA, Dream, any
masked LM, or a tiny-model folder) at several tokens-per-step settings, scores the answers, and stores the points
(accuracy, realised tokens per step, NFE, tokens/s) in ``calibration/model-<name>.json``, with a PNG of the model's
and the oracle's curves when matplotlib is installed. Like every change to a build, it works on a copy that replaces
the folder only when complete.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
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


def pick_rows(rows: Sequence[dict[str, Any]], tasks: Sequence[str] | None, rows_per_task: int) -> list[dict[str, Any]]:
    """Return the first `rows_per_task` rows of each task (of `tasks`, when given), in row order."""
    taken: dict[str, int] = {}
    picked = []
    for row in rows:
        if (tasks is None or row["task"] in tasks) and taken.get(row["task"], 0) < rows_per_task:
            taken[row["task"]] = taken.get(row["task"], 0) + 1
            picked.append(row)
    if not picked:
        raise UsageError("no test row matches the requested tasks")
    return picked


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
        What was written to ``calibration/model-<name>.json``: the settings and one point per (task, setting).
    """
    from .hf_models import load_masked_lm
    from .neural import run_model_on_rows

    target = Path(folder)
    manifest = read_manifest(target)
    test_rows = read_rows(target, "test")
    rows = pick_rows(test_rows, tasks, rows_per_task)
    masked_lm = load_masked_lm(model)
    points = run_model_on_rows(rows, masked_lm, tokens_per_step=tokens_per_step, rule=rule, temperature=temperature,
                               batch_size=batch_size, seed=seed, progress=progress)
    slug = model_slug(model)
    result = {"model": str(model), "rule": rule, "temperature": temperature, "rows_per_task": rows_per_task,
              "seed": seed, "points": [point.summary() for point in points]}
    with staged(target, copy=True) as staging:
        out = staging / "calibration" / f"model-{slug}.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        chosen = {row["task"] for row in rows}
        records = [{**point.summary(), "model": slug, "tokens_per_step": point.mean_tokens_per_step}
                   for point in points]
        oracle = report.oracle_records(row for row in test_rows if row["task"] in chosen)
        try:
            report.plot_curves(report.speed_quality(records + oracle), out.with_suffix(".png"))
        except ImportError:
            pass  # the JSON holds every point; the PNG needs the plots extra
        manifest.setdefault("model_curves", {})[slug] = f"calibration/model-{slug}.json"
        seal(staging, manifest)
    return result
