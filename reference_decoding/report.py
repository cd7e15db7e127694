"""Speed-quality reports: accuracy against mean tokens per step, per task and model, with an area under the curve.

A *record* is one measured point: ``{"task", "model", "tokens_per_step" (the mean realised tokens per step),
"accuracy"}`` plus anything else (``nfe``, ``tokens_per_second``, ...), which is kept. `speed_quality` groups records
into one `Curve` per (task, model); `oracle_records` turns calibrated rows into the oracle's points, so a model's
curve and the task's intrinsic difficulty can share a plot; `plot_curves` draws them (needs the ``plots`` extra).

The area under the curve is taken over a stated parallelism range [low, high] of tokens per step, on a log2 axis
(1 -> 2 -> 4 -> 8 are equal steps), with accuracy interpolated linearly between measured points and held at the end
values outside them, then divided by the range's width: 1.0 means perfect accuracy at every parallelism in the range.
A curve whose points do not cover the whole range says so (``extrapolated``).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import UsageError

#: The default parallelism range of the area under the curve, in tokens per step.
PARALLELISM_RANGE: tuple[float, float] = (1.0, 8.0)


@dataclass(frozen=True)
class Curve:
    """One model's speed-quality curve on one task.

    Attributes:
        task: The task name.
        model: The model (or ``oracle/<setting>``).
        points: (mean tokens per step, accuracy) pairs, by tokens per step.
        auc: Normalised area under accuracy vs log2(tokens per step) over `parallelism`.
        parallelism: The (low, high) tokens-per-step range of `auc`.
        extrapolated: Whether the range reaches beyond the measured tokens per step.
        unit: What one token is (``answer unit`` for the oracle, ``token`` for a model), when the records say.
        records: The records behind the points.
    """

    task: str
    model: str
    points: tuple[tuple[float, float], ...]
    auc: float
    parallelism: tuple[float, float]
    extrapolated: bool
    unit: str | None = None
    records: tuple[Mapping[str, Any], ...] = field(default=(), repr=False)


def area_under_curve(points: Sequence[tuple[float, float]],
                     parallelism: tuple[float, float] = PARALLELISM_RANGE) -> tuple[float, bool]:
    """Return the normalised area under accuracy vs log2(tokens per step) over `parallelism`, and whether it
    extrapolates (see the module docstring).

    Args:
        points: (tokens per step, accuracy) pairs, any order; tokens per step must be positive.
        parallelism: (low, high) tokens per step, 0 < low < high.
    """
    low, high = parallelism
    if not 0 < low < high:
        raise UsageError(f"parallelism must be (low, high) with 0 < low < high; got {parallelism!r}")
    if not points:
        raise UsageError("a curve needs at least one point")
    ordered = sorted((math.log2(x), y) for x, y in points if x > 0)
    if len(ordered) != len(points):
        raise UsageError("tokens per step must be positive")
    xs = [x for x, _ in ordered]
    ys = [y for _, y in ordered]

    def accuracy_at(x: float) -> float:
        if x <= xs[0]:
            return ys[0]
        if x >= xs[-1]:
            return ys[-1]
        for (x0, y0), (x1, y1) in zip(ordered, ordered[1:]):
            if x0 <= x <= x1:
                return y0 if x1 == x0 else y0 + (y1 - y0) * (x - x0) / (x1 - x0)
        raise AssertionError("unreachable")

    a, b = math.log2(low), math.log2(high)
    knots = [a] + [x for x in xs if a < x < b] + [b]
    area = sum((x1 - x0) * (accuracy_at(x0) + accuracy_at(x1)) / 2 for x0, x1 in zip(knots, knots[1:]))
    return area / (b - a), xs[0] > a or xs[-1] < b


def speed_quality(records: Iterable[Mapping[str, Any]],
                  parallelism: tuple[float, float] = PARALLELISM_RANGE) -> list[Curve]:
    """Group measured points into one `Curve` per (task, model).

    Points with the same task, model and tokens per step are averaged.

    Args:
        records: Dicts with ``task``, ``model``, ``tokens_per_step`` and ``accuracy`` (see the module docstring).
        parallelism: The range of the area under the curve.

    Returns:
        The curves, sorted by task then model.
    """
    groups: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for record in records:
        missing = [key for key in ("task", "model", "tokens_per_step", "accuracy") if key not in record]
        if missing:
            raise UsageError(f"a speed-quality record needs {', '.join(missing)}: {dict(record)!r}")
        groups.setdefault((str(record["task"]), str(record["model"])), []).append(record)
    curves = []
    for (task, model), members in sorted(groups.items()):
        by_x: dict[float, list[float]] = {}
        for record in members:
            by_x.setdefault(float(record["tokens_per_step"]), []).append(float(record["accuracy"]))
        points = tuple(sorted((x, sum(ys) / len(ys)) for x, ys in by_x.items()))
        auc, extrapolated = area_under_curve(points, parallelism)
        units = {record.get("unit") for record in members}
        curves.append(Curve(task, model, points, auc, parallelism, extrapolated,
                            units.pop() if len(units) == 1 else None, tuple(members)))
    return curves


def oracle_records(rows: Iterable[Mapping[str, Any]], setting: str = "random/sample") -> list[dict[str, Any]]:
    """Turn calibrated rows into the oracle's speed-quality records, one per task and tokens-per-step setting.

    A row of L answer units at k per step takes ceil(L / k) steps, so its realised tokens per step is L / ceil(L / k)
    ("all" is L); each record averages the row accuracies and the realised tokens per step of a task's rows.

    Args:
        rows: Rows with the ``difficulty`` column filled by calibration; rows without curves are skipped.
        setting: A calibrated setting (``random/sample`` or ``confidence/argmax``).

    Returns:
        Records with model ``oracle/<setting>`` and unit ``answer unit``.
    """
    sums: dict[tuple[str, str], list[float]] = {}
    for row in rows:
        difficulty = json.loads(row["difficulty"]) if isinstance(row["difficulty"], str) else row["difficulty"]
        curve = difficulty.get("accuracy", {}).get(setting)
        if curve is None:
            continue
        length = difficulty["slots"]
        for label, accuracy in curve.items():
            k = length if label == "all" else int(label)
            total = sums.setdefault((row["task"], label), [0.0, 0.0, 0])
            total[0] += accuracy
            total[1] += length / math.ceil(length / k)
            total[2] += 1
    return [
        {"task": task, "model": f"oracle/{setting}", "tokens_per_step": tps / count, "accuracy": accuracy / count,
         "setting": label, "unit": "answer unit", "rows": count}
        for (task, label), (accuracy, tps, count) in sorted(sums.items())
    ]


def summary_table(curves: Sequence[Curve]) -> str:
    """A Markdown table: task, model, accuracy at each measured tokens per step, and the area under the curve."""
    if not curves:
        return "(no curves)"
    low, high = curves[0].parallelism
    lines = [f"| task | model | accuracy @ mean tokens per step | AUC over {low:g}-{high:g} tokens/step (log2) |",
             "|---|---|---|---|"]
    for curve in curves:
        points = ", ".join(f"{accuracy:.3f} @ {x:.2f}" for x, accuracy in curve.points)
        mark = " (extrapolated)" if curve.extrapolated else ""
        lines.append(f"| {curve.task} | {curve.model} | {points} | {curve.auc:.3f}{mark} |")
    return "\n".join(lines)


def plot_curves(curves: Sequence[Curve], path: str | os.PathLike[str], *, columns: int = 3,
                title: str | None = None) -> Path:
    """Draw accuracy vs mean tokens per step (log2 axis), one panel per task and one line per model, into a PNG.

    Args:
        curves: From `speed_quality`.
        path: The PNG to write.
        columns: Panels per row.
        title: A title over all panels (default: the range of the area under the curves).

    Returns:
        The path written.

    Raises:
        ImportError: When matplotlib is missing (``pip install "parallelbench[plots]"``).
    """
    try:
        import matplotlib
    except ImportError:
        raise ImportError('plotting needs matplotlib: pip install "parallelbench[plots]"') from None
    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    if not curves:
        raise UsageError("no curves to plot")
    tasks = sorted({curve.task for curve in curves})
    columns = max(1, min(columns, len(tasks)))
    rows = math.ceil(len(tasks) / columns)
    figure, axes = plt.subplots(rows, columns, figsize=(4.2 * columns, 3.4 * rows), squeeze=False)
    for panel, task in zip(axes.flat, tasks):
        for curve in (c for c in curves if c.task == task):
            xs, ys = zip(*curve.points)
            panel.plot(xs, ys, marker="o", label=f"{curve.model} (AUC {curve.auc:.2f})")
        panel.set_xscale("log", base=2)
        panel.set_ylim(-0.03, 1.03)
        panel.set_title(task, fontsize=9)
        panel.set_xlabel("mean tokens per step")
        panel.set_ylabel("accuracy")
        panel.grid(alpha=0.3)
        panel.legend(fontsize=7)
    for panel in list(axes.flat)[len(tasks):]:
        panel.set_visible(False)
    low, high = curves[0].parallelism
    figure.suptitle(title or f"AUC: mean accuracy over {low:g}-{high:g} tokens per step (log2 axis)", fontsize=10)
    figure.tight_layout()
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(target, dpi=110)
    plt.close(figure)
    return target
