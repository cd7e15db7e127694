"""The tiny CPU model's accuracy against tokens per step beside the oracle's (docs/reference_decoding_neural.md).

Decodes the default test split (seed 0) of a few waiting-line and list-operation tasks with a model trained by
``python -m parallelbench.reference_decoding.train_tiny``, at k = 1, 2, 3, 4 and all slots per step, in random order
with sampled values (the setting of the paper's closed forms), and prints a Markdown table of accuracy per task and
k with the oracle's exact accuracy on the same rows. With matplotlib installed it also draws the curves to a PNG.

Usage::

    python -m parallelbench.reference_decoding.train_tiny --out runs/tiny
    python benchmarks/tiny_curve.py --model runs/tiny --png docs/reference_decoding_neural.png
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

import parallelbench as pb
from parallelbench.reference_decoding.accuracy import oracle_accuracy
from parallelbench.reference_decoding.neural import run_model_on_rows
from parallelbench.reference_decoding.tiny import load_tiny

TASKS = ("waiting_line/copy", "waiting_line/shuffle", "waiting_line/replace_random",
         "list_ops/copy", "list_ops/shuffle", "list_ops/replace_random")
SETTINGS = (1, 2, 3, 4, None)


def label(setting: int | None) -> str:
    return "all" if setting is None else str(setting)


def mean_oracle(rows: list[dict], setting: int | None) -> float:
    """The oracle's mean accuracy over the rows whose answer sets can be enumerated (nan when none can)."""
    values = []
    for row in rows:
        try:
            values.append(float(oracle_accuracy(row, setting)))
        except ValueError:  # too many answers to enumerate (a shuffle of more than 8 items)
            continue
    return float(np.mean(values)) if values else float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="runs/tiny", help="folder written by train_tiny")
    parser.add_argument("--rows", type=int, default=100, help="test rows per task (default 100)")
    parser.add_argument("--tasks", nargs="*", default=list(TASKS))
    parser.add_argument("--png", help="write the curves to this PNG (needs matplotlib)")
    args = parser.parse_args()

    model = load_tiny(args.model)
    table: dict[str, dict[str, tuple[float, float]]] = {}
    for task in args.tasks:
        rows = pb.generate(task, n=args.rows, seed=0)
        started = time.perf_counter()
        points = run_model_on_rows(rows, model, tokens_per_step=SETTINGS, rule="random", temperature=1.0,
                                   batch_size=50)
        spent = time.perf_counter() - started
        table[task] = {}
        for point in points:
            table[task][label(point.tokens_per_step)] = (point.accuracy, mean_oracle(rows, point.tokens_per_step))
        speed = ", ".join(f"k={label(p.tokens_per_step)}: {p.tokens_per_second:,.0f}" for p in points)
        print(f"{task}: {len(rows)} rows in {spent:.1f}s; answer tokens/s {speed}", flush=True)

    columns = [label(setting) for setting in SETTINGS]
    print("\n| task | " + " | ".join(f"k={c}" for c in columns) + " |")
    print("|---|" + "---|" * len(columns))
    for task, cells in table.items():
        print(f"| {task} | " + " | ".join(f"{cells[c][0]:.2f} ({cells[c][1]:.2f})" for c in columns) + " |")
    print("\ncells: tiny model accuracy (oracle accuracy on the same rows, where their answers can be enumerated); "
          "random order, sampled values")

    if args.png:
        try:
            import matplotlib
            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
        except ImportError:
            print("matplotlib is not installed: no PNG")
            return 0
        figure, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
        for axis, family in zip(axes, ("waiting_line", "list_ops")):
            for index, (task, cells) in enumerate(t for t in table.items() if t[0].startswith(family + "/")):
                color = f"C{index}"
                axis.plot(columns, [cells[c][0] for c in columns], "o-", color=color, label=f"{task} (tiny)")
                axis.plot(columns, [cells[c][1] for c in columns], "x--", color=color, alpha=0.6,
                          label=f"{task} (oracle)")
            axis.set_title(family)
            axis.set_xlabel("tokens (list items) per step")
            axis.grid(alpha=0.3)
            axis.legend(fontsize=7)
        axes[0].set_ylabel("accuracy")
        figure.suptitle("Tiny masked-diffusion model vs oracle: random order, sampled values")
        figure.tight_layout()
        Path(args.png).parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(args.png, dpi=110)
        print(f"wrote {args.png}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
